"""Issue 10: callers are authenticated by TLS client certificates (made here with openssl) and
authorized per method by the policy the chart ships (helm/prospect-service/files/authz-policy.json).

- no certificate: UNAUTHENTICATED for every method the policy does not open to everyone (health is);
- a certificate of another service: PERMISSION_DENIED for each method the policy denies it, OK for
  each it allows (every method called with a valid request);
- a rotated server certificate is served without a restart; a changed policy file applies without a
  restart (and a broken one leaves the previous policy in force);
- the merge record names the certificate's identity, whatever x-caller says;
- a certificate from another CA does not get a connection at all.
"""

import json
import os
import re
import shutil
import socket
import ssl
import time
import unittest
import uuid

import grpc

import harness
import pki as pkilib
import ps_testlib as lib
from google.protobuf import empty_pb2, field_mask_pb2
from prospects.v1 import resources_pb2 as R, service_pb2 as S

Code = grpc.StatusCode
POLICY_TEMPLATE = os.path.join(harness.SOURCE_DIR, "helm", "prospect-service", "files",
                               "authz-policy.json")
TRUST = "spiffe://prospects.test/ns/prod/sa/"
CALLERS = {  # the chart's values.authz.callers, as a deployment would set them
    "quoting": [TRUST + "quoting"],
    "invoicing": [TRUST + "invoicing"],
    "account": [TRUST + "account"],
    "web": ["web-backend.prod.svc"],          # a DNS SAN identity
    "operators": [TRUST + "operator"],
}
ALL_METHODS = [m.name for m in S.DESCRIPTOR.services_by_name["ProspectService"].methods]
READS = ["GetProspect", "ListProspects", "FindDuplicateProspects", "ResolveProspect",
         "GetContactPerson", "ListContactPersons", "ListDocuments", "LookupDocument", "GetMerge",
         "ListMerges"]
# Server-streaming methods: invoked with unary_stream.
STREAMING = {"ExportProspects"}
# What the issue asks of the default policy.
EXPECTED = {
    "quoting": set(READS) | {"CreateProspect", "CreateContactPerson", "IntakeQuoteRequest",
                             "LinkDocument"},
    "invoicing": set(READS) | {"LinkDocument", "ConvertProspect"},
    "account": {"GetTenantApps", "UpdateTenantApps"},
    "web": set(ALL_METHODS) - {"GetTenantApps", "UpdateTenantApps", "ListAuditEvents"},
    "operators": {"ListAuditEvents", "ExportProspects", "ExportPersonData",
                  "ErasePersonData"} & set(ALL_METHODS),
}


def render_policy(callers=CALLERS, template=POLICY_TEMPLATE):
    """The chart's policy file with its {{ .Values.authz.callers.X | toJson }} placeholders filled
    in, as helm would."""
    with open(template) as f:
        text = f.read()
    out = re.sub(r"\{\{\s*\.Values\.authz\.callers\.(\w+)\s*\|\s*toJson\s*\}\}",
                 lambda m: json.dumps(callers[m.group(1)]), text)
    json.loads(out)  # valid JSON once rendered
    return out


class Tls(unittest.TestCase, lib.RpcAssertions):
    @classmethod
    def setUpClass(cls):
        cls.pki = pkilib.Pki()
        cls.dir = cls.pki.dir
        cls.server_cert = cls.pki.issue("server", dns=["localhost"], ip=["127.0.0.1"])
        # stable file names that rotation overwrites
        cls.cert_file = os.path.join(cls.dir, "tls.crt")
        cls.key_file = os.path.join(cls.dir, "tls.key")
        shutil.copy(cls.server_cert.cert, cls.cert_file)
        shutil.copy(cls.server_cert.key, cls.key_file)
        cls.policy_file = os.path.join(cls.dir, "policy.json")
        with open(cls.policy_file, "w") as f:
            f.write(render_policy())
        cls.certs = {
            "quoting": cls.pki.issue("quoting", uri=CALLERS["quoting"]),
            "invoicing": cls.pki.issue("invoicing", uri=CALLERS["invoicing"]),
            "account": cls.pki.issue("account", uri=CALLERS["account"], dns=["account.prod.svc"]),
            "web": cls.pki.issue("web", dns=CALLERS["web"]),
            "operators": cls.pki.issue("operator", uri=CALLERS["operators"]),
        }
        env = cls.pki.server_env(pkilib.Cert(cls.cert_file, cls.key_file), cls.policy_file)
        cls.server = harness.Server(env=env, make_channel=lambda a: cls.pki.channel(a, None))
        cls.channels = {who: cls.pki.channel(cls.server.address, c) for who, c in cls.certs.items()}
        cls.anon = cls.server.channel
        cls.db, cls.database = cls.server.mariadb, cls.server.database

    @classmethod
    def tearDownClass(cls):
        for ch in cls.channels.values():
            ch.close()
        cls.server.close()

    def tearDown(self):
        if hasattr(self, "_outcome") and any(e for _, e in getattr(self._outcome, "errors", []) if e):
            print("---- server log ----\n" + self.server.log()[-4000:])

    def write_policy(self, text):
        tmp = self.policy_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.policy_file)

    # ------------------------------------------------------------ a valid request for every method

    def scenario(self, caller):
        """A tenant with both apps on and a record of each kind; returns (tenant, requests) where
        requests maps every method to a request that succeeds for a caller allowed to call it."""
        web, account = self.channels["web"], self.channels["account"]
        t = harness.new_tenant("sec")
        lib.update_apps(account, t, ["quote_requests_enabled"], quote_requests=True)
        lib.wait_gate(web, t, True)
        parent = "tenants/%s" % t
        company = lib.create(web, t, lib.company(company_name="Sec %s B.V." % caller))
        person = lib.create(web, t, lib.person(first_name="Ana", last_name=caller))
        other = lib.create(web, t, lib.person(first_name="Bo", last_name=caller))
        gone = lib.create(web, t, lib.person(first_name="Cy", last_name=caller))
        cp = lib.create_contact(web, company.name, R.ContactPerson(first_name="Eva"))
        cp2 = lib.create_contact(web, company.name, R.ContactPerson(first_name="Fay"))
        lib.link_document(web, company.name, lib.document(document_id="q-linked"))
        lib.link_document(web, company.name, lib.document(document_id="q-unlink"))
        merged = lib.merge(web, company.name, [gone.name], request_id="m-" + caller).merge
        rid = lambda: str(uuid.uuid4())
        mask = lambda *p: field_mask_pb2.FieldMask(paths=list(p))
        reqs = {
            "CreateProspect": S.CreateProspectRequest(parent=parent, prospect=lib.person(first_name="New")),
            "GetProspect": S.GetProspectRequest(name=company.name),
            "UpdateProspect": S.UpdateProspectRequest(prospect=R.Prospect(name=person.name, notes="x"),
                                                      update_mask=mask("notes")),
            "DeleteProspect": S.DeleteProspectRequest(name=other.name),
            "ListProspects": S.ListProspectsRequest(parent=parent),
            "FindDuplicateProspects": S.FindDuplicateProspectsRequest(parent=parent, prospect=company.name),
            "ResolveProspect": S.ResolveProspectRequest(name=gone.name),
            "CreateContactPerson": S.CreateContactPersonRequest(parent=company.name,
                                                                contact_person=R.ContactPerson(first_name="Gus")),
            "GetContactPerson": S.GetContactPersonRequest(name=cp.name),
            "ListContactPersons": S.ListContactPersonsRequest(parent=company.name),
            "UpdateContactPerson": S.UpdateContactPersonRequest(contact_person=R.ContactPerson(name=cp.name, role="CEO"),
                                                                update_mask=mask("role")),
            "DeleteContactPerson": S.DeleteContactPersonRequest(name=cp2.name),
            "LinkDocument": S.LinkDocumentRequest(parent=company.name,
                                                  document=lib.document(document_id="q-" + rid())),
            "UnlinkDocument": S.UnlinkDocumentRequest(parent=parent, type=R.QUOTE, document_id="q-unlink"),
            "ListDocuments": S.ListDocumentsRequest(parent=company.name),
            "LookupDocument": S.LookupDocumentRequest(parent=parent, type=R.QUOTE, document_id="q-linked"),
            "IntakeQuoteRequest": S.IntakeQuoteRequestRequest(
                parent=parent, request_id=rid(), existing=company.name,
                quote_request=lib.document(type=R.QUOTE_REQUEST, document_id="qr-" + rid())),
            "ConvertProspect": S.ConvertProspectRequest(
                name=person.name, invoice=lib.document(type=R.INVOICE, document_id="inv-" + rid())),
            "MergeProspects": S.MergeProspectsRequest(target=company.name, request_id=rid(),
                                                      sources=[S.MergeSource(name=other.name)],
                                                      validate_only=True),
            "GetMerge": S.GetMergeRequest(name=merged.name),
            "ListMerges": S.ListMergesRequest(parent=parent),
            "GetTenantApps": S.GetTenantAppsRequest(name=lib.apps_name(t)),
            "UpdateTenantApps": S.UpdateTenantAppsRequest(
                apps=R.TenantApps(name=lib.apps_name(t), prospects_enabled=True,
                                  quote_requests_enabled=True), update_mask=mask("*")),
        }
        reqs["BatchCreateProspects"] = S.BatchCreateProspectsRequest(
            parent=parent, request_id=rid(),
            prospects=[S.ProspectBundle(prospect=lib.person(first_name="Batch"))])
        erasable = lib.create(web, t, lib.person(first_name="Di", last_name=caller))
        reqs["ExportPersonData"] = S.ExportPersonDataRequest(name=company.name)
        reqs["ErasePersonData"] = S.ErasePersonDataRequest(name=erasable.name)
        if "ListAuditEvents" in ALL_METHODS:
            reqs["ListAuditEvents"] = S.ListAuditEventsRequest(parent=parent)
        reqs["ExportProspects"] = S.ExportProspectsRequest(parent=parent)
        return t, reqs

    def invoke(self, channel, name, req):
        m = S.DESCRIPTOR.services_by_name["ProspectService"].methods_by_name[name]
        from google.protobuf import symbol_database
        resp = symbol_database.Default().GetSymbol(m.output_type.full_name)
        if name in STREAMING:  # every message of the stream (its end carries the status)
            fn = channel.unary_stream(lib.method(name), request_serializer=lambda r: r.SerializeToString(),
                                      response_deserializer=resp.FromString)
            return list(fn(req, timeout=10))
        return harness.call(channel, lib.method(name), req, resp)

    # ------------------------------------------------------------ tests

    def test_policy_covers_every_method(self):
        """The expectations above name only methods that exist, and every method is someone's."""
        covered = set().union(*EXPECTED.values())
        self.assertEqual(covered - set(ALL_METHODS), set())
        self.assertEqual(set(ALL_METHODS) - covered, set())

    def test_no_certificate_is_unauthenticated(self):
        self.assertEqual(lib.health(self.anon), lib.SERVING)  # health is open
        for name in ALL_METHODS:
            self.assertRpcError(lambda: harness.call(self.anon, lib.method(name), empty_pb2.Empty(),
                                                     empty_pb2.Empty),
                                Code.UNAUTHENTICATED, reason="CLIENT_CERTIFICATE_REQUIRED", msg=name)
        # unknown methods too, and reflection
        self.assertRpcError(lambda: harness.call(self.anon, "/x.Y/Z", empty_pb2.Empty(), empty_pb2.Empty),
                            Code.UNAUTHENTICATED)

    def test_each_caller_gets_exactly_its_methods(self):
        for who in ("quoting", "invoicing", "account", "web", "operators"):
            t, reqs = self.scenario(who)
            ch = self.channels[who]
            for name in ALL_METHODS:
                with self.subTest(caller=who, method=name):
                    if name in EXPECTED[who]:
                        self.invoke(ch, name, reqs[name])  # OK
                    else:
                        e = self.assertRpcError(lambda: self.invoke(ch, name, reqs[name]),
                                                Code.PERMISSION_DENIED, reason="METHOD_NOT_ALLOWED")
                        self.assertEqual(harness.error_info(e).metadata["caller"], CALLERS[who][0])

    def test_reflection_for_operators_only(self):
        from grpc_protos.reflection.v1 import reflection_pb2 as refl
        def ask(ch):
            stub = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                                    request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=refl.ServerReflectionResponse.FromString)
            return list(stub(iter([refl.ServerReflectionRequest(list_services="")]), timeout=5))
        self.assertTrue(ask(self.channels["operators"])[0].list_services_response.service)
        self.assertRpcError(lambda: ask(self.channels["web"]), Code.PERMISSION_DENIED)
        self.assertRpcError(lambda: ask(self.anon), Code.UNAUTHENTICATED)

    def test_merge_record_names_the_certificate_not_x_caller(self):
        web = self.channels["web"]
        t, _ = self.scenario("merge-id")
        a = lib.create(web, t, lib.person(first_name="A"))
        b = lib.create(web, t, lib.person(first_name="B"))
        m = lib.merge(web, a.name, [b.name], request_id="r-1", acting_user="user-7",
                      metadata=[("x-caller", "invoicing-service"), ("x-acting-user", "ignored")]).merge
        self.assertEqual((m.caller, m.acting_user), (CALLERS["web"][0], "user-7"))
        self.assertEqual(lib.get_merge(web, m.name).caller, CALLERS["web"][0])
        rows = self.db.sql("SELECT caller FROM merges WHERE tenant_id = '%s'" % t, self.database)
        self.assertIn([CALLERS["web"][0]], rows)

    def test_audit_rows_name_the_certificate_not_x_caller(self):
        web, account, ops = self.channels["web"], self.channels["account"], self.channels["operators"]
        t = harness.new_tenant("audit")
        fake = [("x-caller", "web-backend"), ("x-acting-user", "admin-3")]
        harness.call(account, lib.method("UpdateTenantApps"), S.UpdateTenantAppsRequest(
            apps=R.TenantApps(name=lib.apps_name(t), prospects_enabled=True),
            update_mask=field_mask_pb2.FieldMask(paths=["prospects_enabled"])), R.TenantApps,
            metadata=fake)
        lib.wait_gate(web, t, True)
        a = lib.create(web, t, lib.person(first_name="A"))
        b = lib.create(web, t, lib.person(first_name="B"))
        m = lib.merge(web, a.name, [b.name], request_id="r-a", acting_user="user-8",
                      metadata=[("x-caller", "account-service")]).merge
        events = harness.call(ops, lib.method("ListAuditEvents"),
                              S.ListAuditEventsRequest(parent="tenants/" + t),
                              S.ListAuditEventsResponse).audit_events
        self.assertEqual([(e.action, e.caller, e.acting_user, e.resource) for e in events], [
            ("MergeProspects", CALLERS["web"][0], "user-8", m.name),
            ("UpdateTenantApps", CALLERS["account"][0], "admin-3", lib.apps_name(t))])
        rows = self.db.sql("SELECT action, caller FROM audit_events WHERE tenant_id = '%s' ORDER BY id"
                           % t, self.database)
        self.assertEqual(rows, [["UpdateTenantApps", CALLERS["account"][0]],
                                ["MergeProspects", CALLERS["web"][0]]])

    def test_certificate_of_another_ca_gets_no_connection(self):
        stranger = pkilib.Pki(name="other-ca").issue("web", dns=CALLERS["web"])
        creds = grpc.ssl_channel_credentials(self.pki.ca_pem, stranger.key_pem, stranger.cert_pem)
        ch = grpc.secure_channel(self.server.address, creds,
                                 options=[("grpc.ssl_target_name_override", "localhost")])
        try:
            self.assertRpcError(lambda: lib.health(ch), Code.UNAVAILABLE)
        finally:
            ch.close()

    def test_plaintext_client_gets_no_answer(self):
        ch = harness.channel(self.server.address)
        try:
            self.assertRpcError(lambda: lib.health(ch), Code.UNAVAILABLE)
        finally:
            ch.close()

    def served_serial(self):
        ctx = ssl.create_default_context(cafile=self.pki.ca_cert)
        ctx.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                der = tls.getpeercert(binary_form=True)
        return ssl.DER_cert_to_PEM_cert(der)

    def test_rotated_server_certificate_is_served_without_restart(self):
        before = self.served_serial()
        fresh = self.pki.issue("server", dns=["localhost"], ip=["127.0.0.1"])
        self.assertNotEqual(fresh.cert_pem.decode(), before)
        # key first, then the certificate, each replaced atomically (as a secret volume does)
        for src, dst in ((fresh.key, self.key_file), (fresh.cert, self.cert_file)):
            shutil.copy(src, dst + ".new")
            os.replace(dst + ".new", dst)
        pid = self.server.proc.pid
        lib.wait_for(lambda: self.served_serial().strip() == fresh.cert_pem.decode().strip(), 10,
                     0.2, "the rotated certificate")
        self.assertEqual(self.server.proc.pid, pid)
        self.assertTrue(self.server.running())
        # calls still work, on a new connection and on the old one
        ch = self.pki.channel(self.server.address, self.certs["web"])
        try:
            self.assertEqual(lib.health(ch), lib.SERVING)
        finally:
            ch.close()
        self.assertEqual(lib.health(self.channels["web"]), lib.SERVING)

    def test_changed_policy_applies_without_restart(self):
        quoting = self.channels["quoting"]
        t, reqs = self.scenario("policy")
        self.invoke(quoting, "GetProspect", reqs["GetProspect"])
        original = render_policy()
        try:
            # quoting loses GetProspect
            policy = json.loads(original)
            for rule in policy["allow_rules"]:
                if rule["name"] == "quoting-service":
                    rule["request"]["paths"].remove(lib.method("GetProspect"))
            self.write_policy(json.dumps(policy))

            def denied():
                try:
                    self.invoke(quoting, "GetProspect", reqs["GetProspect"])
                    return False
                except grpc.RpcError as e:
                    return e.code() == Code.PERMISSION_DENIED
            lib.wait_for(denied, 10, 0.2, "the new policy")
            self.invoke(quoting, "ListProspects", reqs["ListProspects"])  # the rest is unchanged
            # a broken file is refused and the policy in force stays
            self.write_policy('{"name": "broken", "allow_rules": [{"name": 1}]}')
            lib.wait_for(lambda: "policy not reloaded" in self.server.log(), 10, 0.2, "the refusal")
            self.assertTrue(denied())
            self.invoke(quoting, "ListProspects", reqs["ListProspects"])
        finally:
            self.write_policy(original)
            lib.wait_for(lambda: self._ok(quoting, reqs["GetProspect"]), 10, 0.2, "the policy back")

    def _ok(self, ch, req):
        try:
            self.invoke(ch, "GetProspect", req)
            return True
        except grpc.RpcError:
            return False


class DatabaseUsers(unittest.TestCase):
    """The scripts' database users (scripts/db-users.sql): the server's may only read and write
    rows, the migrations' may change the schema of its databases; neither may grant."""

    def test_privileges(self):
        db = harness.shared_mariadb()
        name = harness.fresh_database(db)
        app = (db.user, db.password)
        migrate = (db.migrate_user, db.migrate_password)
        with harness.Server(database=name) as server:  # the server runs as the app user
            self.assertEqual(server.env["PS_MYSQL_USER"], db.user)
            t = lib.new_enabled_tenant(server.channel)
            lib.create(server.channel, t, lib.person())
        self.assertEqual(db.sql("SELECT COUNT(*) FROM prospects", name, as_user=app), [["1"]])
        for statement in ("CREATE TABLE x (id INT PRIMARY KEY)", "DROP TABLE prospects",
                          "ALTER TABLE prospects ADD COLUMN x INT", "TRUNCATE TABLE merges",
                          "GRANT SELECT ON %s.* TO '%s'@'localhost'" % (name, db.user),
                          "SELECT COUNT(*) FROM mysql.user",
                          "SELECT * FROM prospects INTO OUTFILE '/tmp/ps-x'"):
            with self.subTest(user="app", statement=statement):
                self.assertRaises(RuntimeError, db.sql, statement, name, as_user=app)
        db.sql("CREATE TABLE x (id INT PRIMARY KEY)", name, as_user=migrate)
        db.sql("DROP TABLE x", name, as_user=migrate)
        for statement in ("GRANT SELECT ON %s.* TO '%s'@'localhost'" % (name, db.user),
                          "SELECT COUNT(*) FROM mysql.user", "CREATE DATABASE elsewhere"):
            with self.subTest(user="migrate", statement=statement):
                self.assertRaises(RuntimeError, db.sql, statement, name, as_user=migrate)


class MysqlTls(unittest.TestCase):
    """PS_MYSQL_TLS=verify: the connection is TLS (the user requires it) and the database's
    certificate and host name are checked."""

    def test_verified_tls_to_the_database(self):
        pki = pkilib.Pki(name="db-ca")
        good = pki.issue("db", ip=["127.0.0.1"], dns=["localhost"])
        with harness.private_mariadb(["--ssl-ca=" + pki.ca_cert, "--ssl-cert=" + good.cert,
                                      "--ssl-key=" + good.key]) as db:
            name = harness.fresh_database(db)
            db.sql("ALTER USER '%s'@'127.0.0.1' REQUIRE SSL" % db.user)
            tls = {"PS_MYSQL_TLS": "verify", "PS_MYSQL_TLS_CA_FILE": pki.ca_cert}
            with harness.Server(database=name, mariadb=db, env=tls) as server:
                t = lib.new_enabled_tenant(server.channel)
                self.assertTrue(lib.create(server.channel, t, lib.person()).name)
            refused = StartUp.start
            # in clear text the user is refused; against another CA the handshake is
            for what, env in (("clear text", {"PS_MYSQL_TLS": "off"}),
                              ("another CA", dict(tls, PS_MYSQL_TLS_CA_FILE=pkilib.Pki().ca_cert))):
                with self.subTest(what):
                    log = refused(self, dict(env, PS_STARTUP_WAIT_S="1"), database=name, mariadb=db)
                    self.assertIn("database not reachable", log)
        # a certificate that does not name the host the server connects to
        wrong = pki.issue("db", dns=["db.example"])
        with harness.private_mariadb(["--ssl-ca=" + pki.ca_cert, "--ssl-cert=" + wrong.cert,
                                      "--ssl-key=" + wrong.key]) as db:
            name = harness.fresh_database(db)
            log = refused(self, dict(tls, PS_STARTUP_WAIT_S="1"), database=name, mariadb=db)
            self.assertIn("database not reachable", log)


class StartUp(unittest.TestCase):
    def start(self, env, **kw):
        """Run the server with env until it exits (it must refuse to start); its log."""
        s = harness.Server(env=env, wait=False, **kw)
        try:
            lib.wait_for(lambda: not s.running(), 20, 0.1, "the server to refuse")
            self.assertNotEqual(s.proc.returncode, 0)
            return s.log()
        finally:
            s.close()

    def test_refuses_tls_without_policy_and_no_key_without_development(self):
        pki = pkilib.Pki()
        cert = pki.issue("server", dns=["localhost"])
        env = pki.server_env(cert)
        self.assertIn("PS_AUTHZ_POLICY_FILE is required", self.start(env))
        self.assertIn("TLS needs PS_TLS_CERT_FILE", self.start({"PS_PLAINTEXT": "0"}))
        self.assertIn("PS_PAGE_TOKEN_KEY", self.start({"PS_PAGE_TOKEN_KEY": None}))
        bad = os.path.join(pki.dir, "bad.json")
        with open(bad, "w") as f:
            f.write('{"name": "x", "allow_rules": [{"name": "a", "source": {"principal": ["x"]}}]}')
        env["PS_AUTHZ_POLICY_FILE"] = bad
        self.assertIn('unknown field \\"principal\\"'.replace("\\", ""), self.start(env))


if __name__ == "__main__":
    harness.main()
