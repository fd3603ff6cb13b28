"""Helpers shared by the integration and interop tests of ProspectService, on top of harness.py.

    SERVICE / method(name)       full method paths of prospects.v1.ProspectService
    health(channel) / watch      grpc.health.v1 Check and Watch with the generated grpc_protos modules
    raw_call(channel, path, b)   a unary call with hand-made request bytes (garbage, invalid UTF-8)
    wire                         a tiny protobuf wire encoder, for messages Python protobuf refuses
    RpcAssertions                a unittest mixin: assertRpcError(...) checks code, reason, field
    Apps helpers                 set_apps(channel, tenant, ...) and wait_gate(channel, tenant, ...)
    SQL helpers                  row counts and ids of a tenant's rows; dump_tenant() for before/after
    Merging helpers              merge(), get_merge(), list_merges(), resolve()
"""

import atexit
import datetime
import re
import time
import unittest

import grpc

import harness
from grpc_protos.health.v1 import health_pb2
from google.protobuf import field_mask_pb2
from prospects.v1 import resources_pb2, service_pb2

SERVICE = "prospects.v1.ProspectService"
DOMAIN = "prospects.v1"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def method(name):
    """"/prospects.v1.ProspectService/<name>"."""
    return "/%s/%s" % (SERVICE, name)


# ---------------------------------------------------------------- health

def health(channel, service="", timeout=2):
    """grpc.health.v1 Check -> the ServingStatus number (raises grpc.RpcError)."""
    return harness.call(channel, HEALTH_CHECK, health_pb2.HealthCheckRequest(service=service),
                        health_pb2.HealthCheckResponse, timeout=timeout).status


def health_or_none(channel, timeout=2):
    """health(), or None when the call itself fails."""
    try:
        return health(channel, timeout=timeout)
    except grpc.RpcError:
        return None


def watch(channel, service="", timeout=None):
    """grpc.health.v1 Watch: an iterator of HealthCheckResponse (cancel() it when done)."""
    fn = channel.unary_stream(HEALTH_WATCH, request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return fn(health_pb2.HealthCheckRequest(service=service), timeout=timeout)


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Poll predicate until it is true; returns the seconds waited, raises AssertionError."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start >= timeout:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)




# ---------------------------------------------------------------- raw calls and wire bytes

def raw_call(channel, path, request_bytes, timeout=10):
    """A unary call whose request is the given bytes as they are; returns the raw response bytes."""
    fn = channel.unary_unary(path)  # no serializers: bytes in, bytes out
    return fn(request_bytes, timeout=timeout)


class wire:
    """Protobuf wire format by hand (the Python runtime refuses invalid UTF-8 in string fields)."""

    @staticmethod
    def varint(n):
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            if n:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    @staticmethod
    def int_field(number, value):
        return wire.varint(number << 3) + wire.varint(value)

    @staticmethod
    def bytes_field(number, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        return wire.varint((number << 3) | 2) + wire.varint(len(data)) + data


# ---------------------------------------------------------------- assertions

class RpcAssertions:
    """Mixin for unittest.TestCase."""

    def assertRpcError(self, fn, code, reason=None, field=None, msg=None):
        """fn() must raise grpc.RpcError with `code`; when given, the ErrorInfo must carry `reason`
        (domain prospects.v1) and metadata field=`field` (or one of a tuple of paths), and the message
        must start with that field path. Returns the RpcError."""
        try:
            result = fn()
        except grpc.RpcError as e:
            err = e
        else:
            self.fail("expected %s%s, got OK: %r" % (code.name, " (%s)" % msg if msg else "", result))
        ctx = "%s%s: %s %r" % (msg + ": " if msg else "", code.name, err.code(), err.details())
        self.assertEqual(err.code(), code, ctx)
        if reason is not None or field is not None:
            info = harness.error_info(err)
            self.assertIsNotNone(info, "no google.rpc.ErrorInfo in grpc-status-details-bin; " + ctx)
            self.assertEqual(info.domain, DOMAIN, ctx)
            if reason is not None:
                self.assertEqual(info.reason, reason, ctx)
            if field is not None:
                fields = field if isinstance(field, tuple) else (field,)
                got = info.metadata.get("field")
                self.assertIn(got, fields, ctx + " metadata=%r" % dict(info.metadata))
                self.assertTrue((err.details() or "").startswith(got),
                                "message does not start with the field path %r: %r" % (got, err.details()))
            status = harness.status_details(err)
            self.assertEqual(status.code, code.value[0], ctx)
            self.assertEqual(status.message, err.details(), ctx)
        return err

    def assertRecent(self, ts, slack_s=120, msg=None):
        """A google.protobuf.Timestamp set and within slack_s seconds of now."""
        self.assertTrue(ts.seconds > 0, msg or "timestamp not set")
        now = time.time()
        self.assertLess(abs(ts.ToNanoseconds() / 1e9 - now), slack_s,
                        "%s is not close to now (%s)" % (ts.ToJsonString(),
                                                         datetime.datetime.utcfromtimestamp(now)))


# ---------------------------------------------------------------- apps

def apps_name(tenant):
    return "tenants/%s/apps" % tenant


def get_apps(channel, tenant, timeout=10):
    return harness.call(channel, method("GetTenantApps"),
                        service_pb2.GetTenantAppsRequest(name=apps_name(tenant)),
                        resources_pb2.TenantApps, timeout=timeout)


def update_apps(channel, tenant, paths, prospects=False, quote_requests=False, etag="", timeout=10):
    req = service_pb2.UpdateTenantAppsRequest(
        apps=resources_pb2.TenantApps(name=apps_name(tenant), prospects_enabled=prospects,
                                      quote_requests_enabled=quote_requests, etag=etag),
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)))
    return harness.call(channel, method("UpdateTenantApps"), req, resources_pb2.TenantApps,
                        timeout=timeout)


# SPEC.md: a change of the apps is visible within one second (an in-process cache may live that long).
GATE_DELAY_S = 1.5


def wait_gate(channel, tenant, open_, timeout=GATE_DELAY_S):
    """Wait until the PROSPECTS gate of tenant is open (GetProspect of an unknown id -> NOT_FOUND) or
    closed (-> FAILED_PRECONDITION)."""
    probe = service_pb2.GetProspectRequest(
        name="tenants/%s/prospects/00000000-0000-7000-8000-000000000000" % tenant)
    want = grpc.StatusCode.NOT_FOUND if open_ else grpc.StatusCode.FAILED_PRECONDITION

    def ok():
        try:
            harness.call(channel, method("GetProspect"), probe, resources_pb2.Prospect)
        except grpc.RpcError as e:
            return e.code() == want
        return False

    wait_for(ok, timeout, 0.05, "the PROSPECTS gate of %s to %s" % (tenant, "open" if open_ else "close"))


def enable_prospects(channel, tenant):
    """Turn the PROSPECTS app on for tenant and wait until the gate is open."""
    update_apps(channel, tenant, ["prospects_enabled"], prospects=True)
    wait_gate(channel, tenant, True)


def new_enabled_tenant(channel, prefix="t"):
    tenant = harness.new_tenant(prefix)
    enable_prospects(channel, tenant)
    return tenant


# ---------------------------------------------------------------- prospects

def person(**kw):
    fields = dict(kind=resources_pb2.PERSON, first_name="Ada", last_name="Lovelace")
    fields.update(kw)
    return resources_pb2.Prospect(**fields)


def company(**kw):
    fields = dict(kind=resources_pb2.COMPANY, company_name="Acme B.V.")
    fields.update(kw)
    return resources_pb2.Prospect(**fields)


def create(channel, tenant, prospect, request_id="", timeout=10, parent=None):
    req = service_pb2.CreateProspectRequest(parent="tenants/%s" % tenant if parent is None else parent,
                                            prospect=prospect, request_id=request_id)
    return harness.call(channel, method("CreateProspect"), req, resources_pb2.Prospect,
                        timeout=timeout)


def get(channel, name, timeout=10):
    return harness.call(channel, method("GetProspect"), service_pb2.GetProspectRequest(name=name),
                        resources_pb2.Prospect, timeout=timeout)


def prospect_id(name):
    """The {prospect} UUID of a prospect name."""
    m = re.fullmatch(r"tenants/[a-z0-9-]+/prospects/(%s)" % UUID_RE, name)
    if not m:
        raise AssertionError("not a prospect name: %r" % name)
    return m.group(1)


# ---------------------------------------------------------------- SQL

def _q(s):
    """A SQL string literal for the test's own ASCII values."""
    if not re.fullmatch(r"[A-Za-z0-9_.:-]*", s):
        raise ValueError("refusing to quote %r" % s)
    return "'%s'" % s


def count_rows(mariadb, database, table, tenant):
    return int(mariadb.sql("SELECT COUNT(*) FROM `%s` WHERE tenant_id = %s" % (table, _q(tenant)),
                           database)[0][0])


def count_all(mariadb, database, tenant,
              tables=("prospects", "idempotency_keys", "contact_persons", "document_links",
                      "merges", "prospect_tombstones")):
    """{table: rows of tenant} over the tables a prospect write could touch."""
    return {t: count_rows(mariadb, database, t, tenant) for t in tables}


def prospect_ids_in_db(mariadb, database, tenant):
    """The ids (lower-case UUID text) of the tenant's rows in prospects."""
    rows = mariadb.sql("SELECT LOWER(HEX(id)) FROM prospects WHERE tenant_id = %s" % _q(tenant),
                       database)
    out = set()
    for (h,) in rows:
        out.add("%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]))
    return out


_servers = {}


def shared_server(env=None):
    """One server (on a fresh database) per environment for the whole test process; stopped at exit."""
    key = tuple(sorted((env or {}).items()))
    s = _servers.get(key)
    if s is None or not s.running():
        s = _servers[key] = harness.Server(env=env)
        atexit.register(s.close)
    return s


class ServerTestCase(unittest.TestCase, RpcAssertions):
    """A server shared by the test classes of a file (tests use their own tenants)."""

    server_env = {}

    @classmethod
    def setUpClass(cls):
        cls.server = shared_server(cls.server_env)
        cls.channel = cls.server.channel
        cls.db = cls.server.mariadb
        cls.database = cls.server.database

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            try:
                log = self.server.log()
            except OSError:
                log = ""
            print("---- server log (last 3000 chars) ----\n%s" % log[-3000:])
        return out


# ---------------------------------------------------------------- server counters

_STATS_LINE = re.compile(r"\bstats: calls (?P<calls>[^;]*); flags (?P<flags>[^;]*); redis (?P<redis>[^;\n]*)")


def _parse_counters(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


def server_stats(server, timeout=5):
    """The server's counters: sends SIGUSR1 and parses the `stats:` line it logs into
    {"calls": {...}, "flags": {...}, "redis": {...}} (names as logged, values ints)."""
    import signal
    seen = len(_STATS_LINE.findall(server.log()))
    server.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while True:
        found = list(_STATS_LINE.finditer(server.log()))
        if len(found) > seen:
            m = found[-1]
            return {part: _parse_counters(m.group(part)) for part in ("calls", "flags", "redis")}
        if time.monotonic() >= deadline or not server.running():
            raise AssertionError("no stats line in the server log %.0f s after SIGUSR1" % timeout)
        time.sleep(0.01)


def stats_delta(before, after):
    """after - before, counter by counter, in the shape of server_stats()."""
    return {part: {k: v - before[part].get(k, 0) for k, v in after[part].items()} for part in after}


def apps_redis_key(tenant):
    """The Redis key of a tenant's cached app flags ("<version>|<prospects><quote_requests>|<tag>")."""
    return "prospects:apps:v2:%s" % tenant


def _apps_cache_key(page_token_key=None):
    """The key of the tags of cached values when PS_CACHE_MAC_KEY is not set: derived from the
    page-token key (server/core/mac.c)."""
    import hashlib
    import hmac
    k = (page_token_key or harness.PAGE_TOKEN_KEY).encode()
    return hmac.new(k, b"prospects apps cache v2", hashlib.sha256).digest()


def apps_cached_value(tenant, body, page_token_key=None):
    """The value a server writes to Redis for body "<version>|<p><q>": body plus its tag."""
    import hashlib
    import hmac
    tag = hmac.new(_apps_cache_key(page_token_key), ("%s\n%s" % (tenant, body)).encode(),
                   hashlib.sha256).hexdigest()[:32]
    return "%s|%s" % (body, tag)


def apps_cached_body(tenant, raw, page_token_key=None):
    """"<version>|<p><q>" of a value in Redis whose tag verifies, else None."""
    body = raw.rsplit("|", 1)[0] if raw.count("|") == 2 else None
    if body is None or apps_cached_value(tenant, body, page_token_key) != raw:
        return None
    return body


# ---------------------------------------------------------------- records: update, delete, list, duplicates, contact persons

def update(channel, prospect, paths, timeout=10):
    req = service_pb2.UpdateProspectRequest(prospect=prospect,
                                            update_mask=field_mask_pb2.FieldMask(paths=list(paths)))
    return harness.call(channel, method("UpdateProspect"), req, resources_pb2.Prospect, timeout=timeout)


def delete(channel, name, etag="", timeout=10):
    from google.protobuf import empty_pb2
    return harness.call(channel, method("DeleteProspect"),
                        service_pb2.DeleteProspectRequest(name=name, etag=etag), empty_pb2.Empty,
                        timeout=timeout)


def list_page(channel, tenant, timeout=10, **kw):
    req = service_pb2.ListProspectsRequest(parent="tenants/%s" % tenant, **kw)
    return harness.call(channel, method("ListProspects"), req, service_pb2.ListProspectsResponse,
                        timeout=timeout)


def list_all(channel, tenant, page_size=50, max_pages=10000, **kw):
    """Every record of the listing, following next_page_token; returns [Prospect]."""
    out, token = [], ""
    for _ in range(max_pages):
        resp = list_page(channel, tenant, page_size=page_size, page_token=token, **kw)
        out.extend(resp.prospects)
        token = resp.next_page_token
        if not token:
            return out
    raise AssertionError("more than %d pages" % max_pages)


def find_duplicates(channel, tenant, candidate=None, prospect=None, page_size=0, min_score=0.0, timeout=10):
    kw = {"parent": "tenants/%s" % tenant, "page_size": page_size, "min_score": min_score}
    if candidate is not None:
        kw["candidate"] = candidate
    if prospect is not None:
        kw["prospect"] = prospect
    return harness.call(channel, method("FindDuplicateProspects"),
                        service_pb2.FindDuplicateProspectsRequest(**kw),
                        service_pb2.FindDuplicateProspectsResponse, timeout=timeout)


def create_contact(channel, parent, contact, request_id="", timeout=10):
    req = service_pb2.CreateContactPersonRequest(parent=parent, contact_person=contact,
                                                 request_id=request_id)
    return harness.call(channel, method("CreateContactPerson"), req, resources_pb2.ContactPerson,
                        timeout=timeout)


def get_contact(channel, name, timeout=10):
    return harness.call(channel, method("GetContactPerson"),
                        service_pb2.GetContactPersonRequest(name=name), resources_pb2.ContactPerson,
                        timeout=timeout)


def list_contacts(channel, parent, page_size=0, page_token="", timeout=10):
    req = service_pb2.ListContactPersonsRequest(parent=parent, page_size=page_size,
                                                page_token=page_token)
    return harness.call(channel, method("ListContactPersons"), req,
                        service_pb2.ListContactPersonsResponse, timeout=timeout)


def update_contact(channel, contact, paths, timeout=10):
    req = service_pb2.UpdateContactPersonRequest(
        contact_person=contact, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))
    return harness.call(channel, method("UpdateContactPerson"), req, resources_pb2.ContactPerson,
                        timeout=timeout)


def delete_contact(channel, name, etag="", timeout=10):
    from google.protobuf import empty_pb2
    return harness.call(channel, method("DeleteContactPerson"),
                        service_pb2.DeleteContactPersonRequest(name=name, etag=etag), empty_pb2.Empty,
                        timeout=timeout)


def explain(mariadb, database, statement):
    """EXPLAIN rows of a statement as dicts (id, select_type, table, type, possible_keys, key,
    key_len, ref, rows, Extra)."""
    cols = ["id", "select_type", "table", "type", "possible_keys", "key", "key_len", "ref", "rows",
            "Extra"]
    return [dict(zip(cols, r)) for r in mariadb.sql("EXPLAIN " + statement, database)]


def logged_selects(mariadb, needle):
    """The SELECT statements in mysql.general_log (log_output=TABLE) that contain needle, as SQL
    that can be run again: binary string parameters (ids) come back as X'..' literals. A union of
    parenthesized SELECTs counts too."""
    rows = mariadb.sql("SELECT DISTINCT HEX(argument) FROM mysql.general_log WHERE command_type = 'Execute'"
                       " AND (argument LIKE 'SELECT%%' OR argument LIKE '(SELECT%%')"
                       " AND argument LIKE '%%%s%%'" % needle)
    unesc = {b"0": b"\0", b"n": b"\n", b"r": b"\r", b"Z": b"\x1a", b"t": b"\t", b"b": b"\b"}

    def literal(m):
        body, raw, i = m.group(1), bytearray(), 0
        while i < len(body):
            if body[i:i + 2] == b"\\x" and re.fullmatch(rb"[0-9A-Fa-f]{2}", body[i + 2:i + 4]):
                raw += bytes.fromhex(body[i + 2:i + 4].decode())  # the log's form of a non-text byte
                i += 4
            elif body[i:i + 1] == b"\\" and i + 1 < len(body):
                raw += unesc.get(body[i + 1:i + 2], body[i + 1:i + 2])
                i += 2
            elif body[i:i + 2] == b"''":
                raw += b"'"
                i += 2
            else:
                raw += body[i:i + 1]
                i += 1
        try:
            text = bytes(raw).decode("utf-8")
            if text.isprintable():
                return ("'" + text.replace("\\", "\\\\").replace("'", "''") + "'").encode()
        except UnicodeDecodeError:
            pass
        return b"X'" + bytes(raw).hex().encode() + b"'"

    out = []
    for (h,) in rows:
        stmt = re.sub(rb"'((?:[^'\\]|\\.|'')*)'", literal, bytes.fromhex(h), flags=re.S)
        out.append(stmt.decode("utf-8").replace("\n", " "))
    return out


# ---------------------------------------------------------------- documents, quote requests, conversion

def document(type=resources_pb2.QUOTE, document_id="doc-1", **kw):
    """A Document to link (type QUOTE by default)."""
    return resources_pb2.Document(type=type, document_id=document_id, **kw)


def link_document(channel, parent, doc, request_id="", timeout=10):
    req = service_pb2.LinkDocumentRequest(parent=parent, document=doc, request_id=request_id)
    return harness.call(channel, method("LinkDocument"), req, resources_pb2.Document, timeout=timeout)


def unlink_document(channel, tenant, type, document_id, timeout=10):
    from google.protobuf import empty_pb2
    req = service_pb2.UnlinkDocumentRequest(parent="tenants/%s" % tenant, type=type,
                                            document_id=document_id)
    return harness.call(channel, method("UnlinkDocument"), req, empty_pb2.Empty, timeout=timeout)


def lookup_document(channel, tenant, type, document_id, timeout=10):
    req = service_pb2.LookupDocumentRequest(parent="tenants/%s" % tenant, type=type,
                                            document_id=document_id)
    return harness.call(channel, method("LookupDocument"), req, resources_pb2.Document, timeout=timeout)


def list_documents(channel, parent, page_size=0, page_token="", type=0, timeout=10):
    req = service_pb2.ListDocumentsRequest(parent=parent, page_size=page_size, page_token=page_token,
                                           type=type)
    return harness.call(channel, method("ListDocuments"), req, service_pb2.ListDocumentsResponse,
                        timeout=timeout)


def list_all_documents(channel, parent, page_size=50, type=0, max_pages=1000):
    """Every link of the record, following next_page_token; returns [Document]."""
    out, token = [], ""
    for _ in range(max_pages):
        resp = list_documents(channel, parent, page_size=page_size, page_token=token, type=type)
        out.extend(resp.documents)
        token = resp.next_page_token
        if not token:
            return out
    raise AssertionError("more than %d pages" % max_pages)


def intake(channel, tenant, request_id, quote_request, new_prospect=None, existing=None,
           contact_person=None, timeout=10):
    kw = {"parent": "tenants/%s" % tenant, "request_id": request_id, "quote_request": quote_request}
    if new_prospect is not None:
        kw["new_prospect"] = new_prospect
    if existing is not None:
        kw["existing"] = existing
    if contact_person is not None:
        kw["contact_person"] = contact_person
    return harness.call(channel, method("IntakeQuoteRequest"), service_pb2.IntakeQuoteRequestRequest(**kw),
                        service_pb2.IntakeQuoteRequestResponse, timeout=timeout)


def convert(channel, name, invoice, request_id="", timeout=10):
    req = service_pb2.ConvertProspectRequest(name=name, invoice=invoice, request_id=request_id)
    return harness.call(channel, method("ConvertProspect"), req, service_pb2.ConvertProspectResponse,
                        timeout=timeout)


def enable_quote_requests(channel, tenant):
    """Turn QUOTE_REQUESTS (and with it PROSPECTS) on and wait until the PROSPECTS gate is open."""
    update_apps(channel, tenant, ["quote_requests_enabled"], quote_requests=True)
    wait_gate(channel, tenant, True)


def hex_id(name):
    """The 32 hex digits of the last UUID of a resource name (for SQL)."""
    return name.rsplit("/", 1)[1].replace("-", "")


def merge_away_by_sql(mariadb, database, tenant, source_name, target_name):
    """What a merge leaves behind for a source record, done in SQL: its document links moved to the
    target, the row and its word index gone, a tombstone (no merge record). A shortcut for tests of
    other calls on a merged-away id; merge() below runs the real MergeProspects."""
    src, dst = _q(hex_id(source_name)), _q(hex_id(target_name))
    t = _q(tenant)
    mariadb.sql("START TRANSACTION;"
                "UPDATE document_links SET prospect_id = UNHEX(%s) WHERE tenant_id = %s AND prospect_id = UNHEX(%s);"
                "DELETE FROM prospect_terms WHERE tenant_id = %s AND id = UNHEX(%s);"
                "DELETE FROM contact_persons WHERE tenant_id = %s AND prospect_id = UNHEX(%s);"
                "DELETE FROM prospects WHERE tenant_id = %s AND id = UNHEX(%s);"
                "INSERT INTO prospect_tombstones VALUES (%s, UNHEX(%s), UNHEX(%s), UNHEX(%s), NOW(6));"
                "COMMIT" % (dst, t, src, t, src, t, src, t, src, t, src, dst, dst), database)


# ---------------------------------------------------------------- merging, resolving

def merge(channel, target, sources, request_id="", target_etag="", move_contact_persons=False,
          validate_only=False, acting_user="", metadata=None, timeout=30):
    """MergeProspects. sources: names, or (name, etag) pairs. Returns MergeProspectsResponse."""
    srcs = [service_pb2.MergeSource(name=s) if isinstance(s, str) else
            service_pb2.MergeSource(name=s[0], etag=s[1]) for s in sources]
    req = service_pb2.MergeProspectsRequest(target=target, target_etag=target_etag, sources=srcs,
                                            move_contact_persons=move_contact_persons,
                                            validate_only=validate_only, request_id=request_id,
                                            acting_user=acting_user)
    return harness.call(channel, method("MergeProspects"), req, service_pb2.MergeProspectsResponse,
                        metadata=metadata, timeout=timeout)


def get_merge(channel, name, page_size=0, page_token="", timeout=10):
    """GetMerge; page_size/page_token page the moved documents."""
    req = service_pb2.GetMergeRequest(name=name, moved_documents_page_size=page_size,
                                      moved_documents_page_token=page_token)
    return harness.call(channel, method("GetMerge"), req, resources_pb2.Merge, timeout=timeout)


def all_moved_documents(channel, merge, page_size=0, timeout=30):
    """Every moved document of a Merge (as returned by any call), following its page tokens with
    GetMerge. Returns (names in order, number of GetMerge calls)."""
    names, token, calls = list(merge.moved_documents), merge.moved_documents_next_page_token, 0
    while token:
        page = get_merge(channel, merge.name, page_size=page_size, page_token=token, timeout=timeout)
        calls += 1
        names.extend(page.moved_documents)
        token = page.moved_documents_next_page_token
    return names, calls


def list_merges(channel, tenant, target="", page_size=0, page_token="", timeout=10):
    req = service_pb2.ListMergesRequest(parent="tenants/%s" % tenant, target=target,
                                        page_size=page_size, page_token=page_token)
    return harness.call(channel, method("ListMerges"), req, service_pb2.ListMergesResponse,
                        timeout=timeout)


def resolve(channel, name, timeout=10):
    """ResolveProspect -> ResolveProspectResponse (name, merged_via)."""
    return harness.call(channel, method("ResolveProspect"), service_pb2.ResolveProspectRequest(name=name),
                        service_pb2.ResolveProspectResponse, timeout=timeout)


TENANT_TABLES = ("tenant_apps", "prospects", "prospect_terms", "prospect_tombstones", "contact_persons",
                 "document_links", "merges", "merge_moved_documents", "idempotency_keys",
                 "audit_events", "erased_records")


def dump_tenant(mariadb, database, tenant, tables=TENANT_TABLES):
    """{table: sorted rows} of every column of the tenant's rows (hex), to compare the database
    before and after a call that must write nothing."""
    out = {}
    for table in tables:
        cols = [r[0] for r in mariadb.sql(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND"
            " TABLE_NAME = %s ORDER BY ORDINAL_POSITION" % (_q(database), _q(table)))]
        rows = mariadb.sql("SELECT %s FROM `%s` WHERE tenant_id = %s" % (
            ", ".join("HEX(`%s`)" % c for c in cols), table, _q(tenant)), database)
        out[table] = sorted(tuple(r) for r in rows)
    return out
