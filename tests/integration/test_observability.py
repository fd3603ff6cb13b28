"""Observability against the real server, MariaDB and Redis: the Prometheus endpoint
(PS_METRICS_LISTEN) counts a known mix of calls by method and code, with a consistent latency
histogram, outcome counters, process and build series, and never a tenant or a record in a label;
the access log (PS_LOG_FORMAT=json) has exactly one well-formed line per call and no personal data;
a valid W3C traceparent's trace id is on its call's line and an invalid one is ignored; the log
level follows PS_LOG_LEVEL_FILE (file replaced, SIGHUP); text format access lines; no metrics
endpoint unless asked for."""

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2 as R, service_pb2 as S

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover
    text_string_to_metric_families = None

Code = grpc.StatusCode
SERVICE = lib.SERVICE
UNKNOWN_METHOD = "/x.Y/Z"

# Personal data the calls carry; none of it may reach a log line or the metrics.
FIRST, LAST = "Qwyxelmar", "Brontisova"
EMAIL = "qwyxelmar.brontisova@example.org"
PHONE = "+32 470 55 66 77"
NOTES = "obsnotesmarker8841"
COMPANY = "Vrezzlebank"
STREET, CITY = "Zyphorlaan", "Ostrovalia"
PII = [FIRST, LAST, EMAIL, "470556677", "470 55 66 77", NOTES, COMPANY, STREET, CITY]

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def person_with_pii(**kw):
    fields = dict(first_name=FIRST, last_name=LAST, email=EMAIL, phone=PHONE, notes=NOTES,
                  address=R.Address(street=STREET + " 7", city=CITY))
    fields.update(kw)
    return lib.person(**fields)


def metrics_port(server, timeout=10):
    """The port of the "serving Prometheus metrics ... (port N)" line (logged after SERVING)."""
    pat = re.compile(r"serving Prometheus metrics on http://\S+/metrics \(port (\d+)\)")
    deadline = time.monotonic() + timeout
    while True:
        m = pat.search(server.log())
        if m:
            return int(m.group(1))
        if time.monotonic() > deadline or not server.running():
            raise AssertionError("no metrics serving line in the log:\n" + server.log())
        time.sleep(0.05)


def http(url, method="GET", data=None):
    """(status, headers, body text) of one HTTP request (no proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def samples(text):
    """[(sample name, labels dict, value)] of a Prometheus text exposition."""
    if text_string_to_metric_families is None:
        raise AssertionError("prometheus_client is not installed (Debian: python3-prometheus-client)")
    return [(s.name, dict(s.labels), s.value)
            for fam in text_string_to_metric_families(text) for s in fam.samples]


def by_series(smp, name, key_labels):
    """{tuple of key_labels values: value} of the samples named name."""
    return {tuple(labels.get(k) for k in key_labels): v for n, labels, v in smp if n == name}


def delta(before, after):
    """after - before per key, only the keys that moved."""
    out = {}
    for k, v in after.items():
        d = v - before.get(k, 0)
        if d:
            out[k] = d
    return out


def log_bytes(server):
    with open(server.log_path, "rb") as f:
        return f.read()


def json_lines(data):
    """The JSON objects of the complete lines of data (a line being written is left for later)."""
    data = data[:data.rfind(b"\n") + 1]
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


class Expect:
    """The calls of a test, as the server should count and log them."""

    def __init__(self):
        self.calls = []  # (method path, code name, tenant or None, request_id or None, reason or None)

    def add(self, path, code, tenant=None, request_id=None, reason=None):
        self.calls.append((path, code, tenant, request_id, reason))

    def ok(self, fn, path, tenant=None, request_id=None):
        out = fn()
        self.add(path, "OK", tenant, request_id)
        return out

    def fail(self, fn, path, code, tenant=None, request_id=None):
        try:
            fn()
        except grpc.RpcError as e:
            if e.code() != code:
                raise AssertionError("%s: expected %s, got %s %s" % (path, code, e.code(), e.details()))
            info = harness.error_info(e)
            self.add(path, code.name, tenant, request_id, info.reason if info and info.reason else None)
            return e
        raise AssertionError("%s: expected %s, got OK" % (path, code))

    def handled(self):
        """{(service, method, code): count}"""
        out = {}
        for path, code, *_ in self.calls:
            service, method = path[1:].split("/", 1)
            if path == UNKNOWN_METHOD:
                service, method = "unknown", "unknown"
            out[(service, method, code)] = out.get((service, method, code), 0) + 1
        return out


class MetricsAndJsonLog(lib.RpcAssertions, harness.unittest.TestCase):
    """One server with metrics and JSON logs; a known mix of calls, measured before and after."""

    @classmethod
    def setUpClass(cls):
        if text_string_to_metric_families is None:
            raise AssertionError("prometheus_client is not installed (Debian: python3-prometheus-client)")
        cls.server = harness.Server(env={"PS_METRICS_LISTEN": "127.0.0.1:0", "PS_LOG_FORMAT": "json"})
        try:
            cls._run_mix()
        except BaseException:
            cls.server.__exit__(*sys.exc_info())
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    @classmethod
    def _run_mix(cls):
        server = cls.server
        ch = server.channel
        cls.url = "http://127.0.0.1:%d" % metrics_port(server)
        # set-up calls (their number depends on timing: outside the measured mix)
        t = cls.tenant = lib.new_enabled_tenant(ch, "obs")
        lib.enable_quote_requests(ch, t)
        cls.other_tenant = lib.new_enabled_tenant(ch, "obso")  # named by no call of the mix

        cls.before_text = http(cls.url + "/metrics")[2]
        cls.log_start = len(log_bytes(server))
        cls.time_mix = time.time()
        x = cls.expect = Expect()
        m = lib.method
        ids = cls.record_ids = set()

        p1 = x.ok(lambda: lib.create(ch, t, person_with_pii(), request_id="obs-c1"),
                  m("CreateProspect"), t, "obs-c1")
        p2 = x.ok(lambda: lib.create(ch, t, lib.company(company_name=COMPANY + " N.V.", email=EMAIL,
                                                        phone=PHONE, notes=NOTES),
                                     request_id="obs-c2"),
                  m("CreateProspect"), t, "obs-c2")
        p3 = x.ok(lambda: lib.create(ch, t, person_with_pii(first_name=FIRST + "x")),
                  m("CreateProspect"), t)
        ids.update(lib.prospect_id(p.name) for p in (p1, p2, p3))
        x.ok(lambda: lib.get(ch, p1.name), m("GetProspect"), t)
        unknown_id = "0190a000-0000-7000-8000-00000000abcd"
        ids.add(unknown_id)
        x.fail(lambda: lib.get(ch, "tenants/%s/prospects/%s" % (t, unknown_id)), m("GetProspect"),
               Code.NOT_FOUND, t)
        x.fail(lambda: lib.get(ch, "tenants/%s/prospects/not-an-id" % t), m("GetProspect"),
               Code.INVALID_ARGUMENT, t)
        x.ok(lambda: lib.list_page(ch, t, query=LAST), m("ListProspects"), t)
        x.ok(lambda: lib.merge(ch, p1.name, [p3.name], validate_only=True), m("MergeProspects"), t)
        merged = x.ok(lambda: lib.merge(ch, p1.name, [p3.name], request_id="obs-m1"),
                      m("MergeProspects"), t, "obs-m1")
        ids.add(merged.merge.name.rsplit("/", 1)[1])
        created = x.ok(lambda: lib.intake(ch, t, "obs-i1", lib.document(R.QUOTE_REQUEST, "obs-qr-1"),
                                          new_prospect=person_with_pii(first_name=FIRST + "y")),
                       m("IntakeQuoteRequest"), t, "obs-i1")
        ids.add(lib.prospect_id(created.prospect.name))
        x.ok(lambda: lib.intake(ch, t, "obs-i2", lib.document(R.QUOTE_REQUEST, "obs-qr-2"),
                                existing=p2.name),
             m("IntakeQuoteRequest"), t, "obs-i2")
        snapshot = R.PartySnapshot(display_name="%s %s" % (FIRST, LAST), email=EMAIL)
        x.ok(lambda: lib.link_document(ch, p1.name, lib.document(document_id="obs-d1",
                                                                 party_snapshot=snapshot),
                                       request_id="obs-l1"),
             m("LinkDocument"), t, "obs-l1")
        x.ok(lambda: lib.link_document(ch, p1.name, lib.document(document_id="obs-d1",
                                                                 party_snapshot=snapshot),
                                       request_id="obs-l2"),
             m("LinkDocument"), t, "obs-l2")
        x.ok(lambda: lib.convert(ch, p2.name, R.Document(document_id="obs-inv-1"), request_id="obs-v1"),
             m("ConvertProspect"), t, "obs-v1")
        x.ok(lambda: lib.health(ch), lib.HEALTH_CHECK)
        x.fail(lambda: ch.unary_unary(UNKNOWN_METHOD)(b"", timeout=10), UNKNOWN_METHOD,
               Code.UNIMPLEMENTED)
        # refused calls: personal data in a bad field, a request_id that is not valid (not logged),
        # a tenant that is not valid (not logged)
        x.fail(lambda: lib.create(ch, t, person_with_pii(email="%s %s@@" % (FIRST, LAST))),
               m("CreateProspect"), Code.INVALID_ARGUMENT, t)
        x.fail(lambda: lib.create(ch, t, person_with_pii(), request_id="obs bad/id"),
               m("CreateProspect"), Code.INVALID_ARGUMENT, t)
        x.fail(lambda: lib.list_page(ch, "Obs_Not_Valid"), m("ListProspects"), Code.INVALID_ARGUMENT)

        cls.log_end = len(log_bytes(server))
        # a call ends for the server when its reply has been sent, a moment after the client has
        # it: scrape once none is in flight any more
        def settled():
            cls.after_status, cls.after_headers, cls.after_text = http(cls.url + "/metrics")
            return re.search(r"^prospect_calls_in_flight 0(\.0)?$", cls.after_text, re.M)
        lib.wait_for(settled, 10, 0.05, "no call in flight")
        cls.before = samples(cls.before_text)
        cls.after = samples(cls.after_text)

    # ------------------------------------------------------------ metrics

    def test_metrics_http(self):
        self.assertEqual(self.after_status, 200)
        self.assertTrue(self.after_headers["Content-Type"].startswith("text/plain"),
                        self.after_headers["Content-Type"])
        self.assertEqual(http(self.url + "/metrics", method="HEAD")[0], 200)
        self.assertEqual(http(self.url + "/other")[0], 404)
        self.assertEqual(http(self.url + "/metrics/")[0], 404)
        self.assertEqual(http(self.url + "/metrics", method="POST", data=b"x=1")[0], 405)
        self.assertEqual(http(self.url + "/metrics", method="DELETE")[0], 405)

    def test_channelz(self):
        """gRPC core's channelz as JSON: the server, its listening socket, the connections with
        their call counts, and 404 for what is not there."""
        status, headers, body = http(self.url + "/channelz/servers")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Type"], "application/json")
        servers = json.loads(body)
        self.assertTrue(servers.get("end"), servers)
        self.assertEqual(len(servers["server"]), 1, servers)
        server = servers["server"][0]
        sid = server["ref"]["serverId"]
        self.assertGreaterEqual(int(server["data"]["callsStarted"]), len(self.expect.calls))
        self.assertTrue(server["listenSocket"], server)

        one = json.loads(http(self.url + "/channelz/servers/%s" % sid)[2])
        self.assertEqual(one["server"]["ref"]["serverId"], sid)
        sockets = json.loads(http(self.url + "/channelz/servers/%s/sockets" % sid)[2])
        self.assertTrue(sockets["socketRef"], sockets)
        started = 0
        for ref in sockets["socketRef"]:
            status, _, body = http(self.url + "/channelz/sockets/%s" % ref["socketId"])
            self.assertEqual(status, 200, body)
            sock = json.loads(body)["socket"]
            self.assertEqual(sock["ref"]["socketId"], ref["socketId"])
            # gRPC 1.51 writes the address with the proto field names (tcpip_address), which
            # proto3 JSON parsers accept as well
            remote = sock["remote"].get("tcpipAddress") or sock["remote"].get("tcpip_address")
            self.assertTrue(remote and remote.get("port"), sock["remote"])
            started += int(sock["data"].get("streamsStarted", 0))
        self.assertGreaterEqual(started, 1)
        later = json.loads(http(self.url + "/channelz/servers/%s/sockets?start=%d" % (
            sid, max(int(r["socketId"]) for r in sockets["socketRef"]) + 1))[2])
        self.assertEqual(later.get("socketRef", []), [])

        for path in ("/channelz/servers/999999999", "/channelz/sockets/999999999",
                     "/channelz/servers/x", "/channelz/sockets/", "/channelz/channels",
                     "/channelz/servers/%s/other" % sid):
            self.assertEqual(http(self.url + path)[0], 404, path)
        self.assertEqual(http(self.url + "/channelz/servers?start=-1")[0], 400)
        self.assertEqual(http(self.url + "/channelz/servers", method="POST", data=b"")[0], 405)

    def test_handled_counts_are_exactly_the_calls_made(self):
        key = ("grpc_service", "grpc_method", "grpc_code")
        got = delta(by_series(self.before, "grpc_server_handled_total", key),
                    by_series(self.after, "grpc_server_handled_total", key))
        self.assertEqual(got, self.expect.handled())
        # a unary method is labelled so, and every handled series names a known code
        for n, labels, _ in self.after:
            if n == "grpc_server_handled_total":
                self.assertIn(labels["grpc_code"], [c.name for c in Code])
                if labels["grpc_service"] == SERVICE:
                    self.assertEqual(labels["grpc_type"], "unary", labels)
        # the unknown method: one series for every unknown path, with the code sent
        unknown = {k: v for k, v in got.items() if k[0] == "unknown"}
        self.assertEqual(unknown, {("unknown", "unknown", "UNIMPLEMENTED"): 1})

    def test_started_matches_handled(self):
        key = ("grpc_service", "grpc_method")
        started_before = by_series(self.before, "grpc_server_started_total", key)
        started = by_series(self.after, "grpc_server_started_total", key)
        handled = {}
        for (s, m, _), v in by_series(self.after, "grpc_server_handled_total",
                                      ("grpc_service", "grpc_method", "grpc_code")).items():
            handled[(s, m)] = handled.get((s, m), 0) + v
        for k, v in handled.items():
            self.assertGreaterEqual(started.get(k, 0), v, k)
        # every call of the mix has ended: started moved as much as handled did
        want = {}
        for (s, m, _), v in self.expect.handled().items():
            want[(s, m)] = want.get((s, m), 0) + v
        self.assertEqual(delta(started_before, started), want)

    def test_latency_histogram_is_consistent(self):
        key = ("grpc_type", "grpc_service", "grpc_method")
        handled = {}
        for n, labels, v in self.after:
            if n == "grpc_server_handled_total":
                k = tuple(labels[x] for x in key)
                handled[k] = handled.get(k, 0) + v
        buckets, sums, counts = {}, {}, {}
        for n, labels, v in self.after:
            k = tuple(labels.get(x) for x in key)
            if n == "grpc_server_handling_seconds_bucket":
                buckets.setdefault(k, []).append((float(labels["le"]), labels["le"], v))
            elif n == "grpc_server_handling_seconds_sum":
                sums[k] = v
            elif n == "grpc_server_handling_seconds_count":
                counts[k] = v
        self.assertIn(("unary", SERVICE, "CreateProspect"), buckets)
        self.assertEqual(set(buckets), set(counts))
        self.assertEqual(set(buckets), set(sums))
        bounds = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                  float("inf")]
        for k, bs in buckets.items():
            with self.subTest(series=k):
                self.assertEqual([b[0] for b in bs], bounds)  # in order, +Inf last
                self.assertEqual(bs[-1][1], "+Inf")
                values = [b[2] for b in bs]
                self.assertEqual(values, sorted(values), "buckets not cumulative")
                self.assertEqual(values[-1], counts[k])
                self.assertEqual(counts[k], handled.get(k, 0))
                if counts[k] > 0:
                    self.assertGreater(sums[k], 0)
                else:
                    self.assertEqual(sums[k], 0)
        # the mix moved each of its methods' counts by its number of calls
        before_counts = {tuple(labels.get(x) for x in key): v for n, labels, v in self.before
                         if n == "grpc_server_handling_seconds_count"}
        want = {}
        for (s, m, _), v in self.expect.handled().items():
            want[s, m] = want.get((s, m), 0) + v
        got = {(k[1], k[2]): v for k, v in delta(before_counts, counts).items()}
        self.assertEqual(got, want)

    def test_outcome_counters(self):
        def moved(name, label):
            return delta(by_series(self.before, name, (label,)), by_series(self.after, name, (label,)))

        self.assertEqual(moved("prospect_merges_total", "outcome"),
                         {("merged",): 1, ("dry_run",): 1})
        self.assertEqual(moved("prospect_intakes_total", "outcome"),
                         {("created",): 1, ("linked",): 1})
        self.assertEqual(moved("prospect_document_links_total", "outcome"),
                         {("linked",): 1, ("already_linked",): 1})
        self.assertEqual(moved("prospect_conversions_total", "outcome"), {("converted",): 1})
        # every outcome of each family is exposed, also the ones at 0
        for name, outcomes in (("prospect_merges_total", {"merged", "dry_run", "replayed", "failed"}),
                               ("prospect_intakes_total", {"created", "linked", "failed"}),
                               ("prospect_document_links_total", {"linked", "already_linked", "failed"}),
                               ("prospect_conversions_total", {"converted", "already_customer", "failed"})):
            self.assertEqual({k[0] for k in by_series(self.after, name, ("outcome",))}, outcomes, name)
        self.assertEqual({k[0] for k in by_series(self.after, "prospect_db_errors_total", ("class",))},
                         {"deadlock", "lock_wait", "duplicate", "connection", "timeout", "other"})

    def test_no_tenant_record_or_personal_data_in_the_metrics(self):
        forbidden = [self.tenant, self.other_tenant] + sorted(self.record_ids)
        for n, labels, _ in self.after:
            for k, v in labels.items():
                for f in forbidden:
                    self.assertNotIn(f, v, "%s{%s=%r}" % (n, k, v))
        for f in forbidden + PII:
            self.assertNotIn(f.lower(), self.after_text.lower())
        # every series label set comes from a fixed vocabulary (job: the reindex's own job names)
        for n, labels, _ in self.after:
            self.assertLessEqual(set(labels), {"grpc_type", "grpc_service", "grpc_method", "grpc_code",
                                               "le", "class", "outcome", "source", "version",
                                               "revision", "job"}, n)
            if "job" in labels:
                self.assertEqual(labels["job"], "prospect_norms", n)

    def test_process_transport_and_build_series(self):
        one = {n: v for n, labels, v in self.after if not labels}
        self.assertGreater(one["process_resident_memory_bytes"], 0)
        self.assertGreater(one["process_virtual_memory_bytes"], 0)
        self.assertGreater(one["process_open_fds"], 0)
        self.assertGreaterEqual(one["process_cpu_seconds_total"], 0)
        start = one["process_start_time_seconds"]
        self.assertLess(abs(start - self.time_mix), 120, "process_start_time_seconds %r" % start)
        self.assertLessEqual(start, time.time() + 2)
        for name in ("prospect_calls_in_flight", "prospect_queue_depth", "prospect_queue_capacity",
                     "prospect_calls_shed_total", "prospect_calls_expired_total",
                     "prospect_redis_breaker_open"):
            self.assertIn(name, one)
            self.assertGreaterEqual(one[name], 0, name)
        self.assertGreater(one["prospect_queue_capacity"], 0)
        self.assertEqual(one["prospect_redis_breaker_open"], 0)
        self.assertEqual(one["prospect_calls_in_flight"], 0)
        self.assertEqual(one["prospect_serving"], 1)
        build = [labels for n, labels, v in self.after if n == "prospect_build_info" and v == 1]
        self.assertEqual(len(build), 1)
        self.assertTrue(build[0].get("version"), build)
        self.assertIn("revision", build[0])
        sources = {labels["source"] for n, labels, _ in self.after
                   if n == "prospect_apps_cache_lookups_total"}
        self.assertEqual(sources, {"local", "wait", "redis_hit", "redis_miss", "fallback"})

    # ------------------------------------------------------------ the JSON access log

    def test_every_line_is_json(self):
        for i, line in enumerate(log_bytes(self.server).decode("utf-8").splitlines()):
            with self.subTest(line=i):
                obj = json.loads(line)
                self.assertIsInstance(obj, dict)
                self.assertRegex(obj.get("time", ""), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                self.assertIn(obj.get("level"), ("debug", "info", "warn", "error"))
                self.assertIsInstance(obj.get("msg"), str)

    def test_one_access_line_per_call(self):
        lines = [o for o in json_lines(log_bytes(self.server)[self.log_start:self.log_end])
                 if o.get("msg") == "call"]
        self.assertEqual([(o["method"], o["code"]) for o in lines],
                         [(c[0], c[1]) for c in self.expect.calls])
        for o, (path, code, tenant, request_id, reason) in zip(lines, self.expect.calls):
            with self.subTest(method=path, code=code):
                self.assertEqual(o["level"], "info")
                self.assertIs(type(o["duration_us"]), int)
                self.assertGreaterEqual(o["duration_us"], 0)
                self.assertLess(o["duration_us"], 30_000_000)
                if tenant is None:
                    self.assertNotIn("tenant", o)
                else:
                    self.assertEqual(o.get("tenant"), tenant)
                if request_id is None:
                    self.assertNotIn("request_id", o)
                else:
                    self.assertEqual(o.get("request_id"), request_id)
                if reason is None:
                    self.assertNotIn("reason", o)
                else:
                    self.assertEqual(o.get("reason"), reason)
                self.assertRegex(o.get("peer", ""), r"^ipv4:127\.0\.0\.1:\d+$")
                self.assertIn("grpc-python", o.get("user_agent", ""))
                self.assertNotIn("trace_id", o)
                self.assertLessEqual(set(o), {"time", "level", "msg", "method", "code", "reason",
                                              "duration_us", "tenant", "request_id", "peer",
                                              "user_agent", "trace_id"})
        # the unknown method says so
        unknown = [o for o in lines if o["method"] == UNKNOWN_METHOD]
        self.assertEqual(len(unknown), 1)
        self.assertEqual(unknown[0].get("reason"), "UNKNOWN_METHOD")
        self.assertEqual(unknown[0]["code"], "UNIMPLEMENTED")
        # the harness's health checks while the server came up have lines too
        start = [o for o in json_lines(log_bytes(self.server)[:self.log_start]) if o.get("msg") == "call"]
        self.assertIn(lib.HEALTH_CHECK, [o["method"] for o in start])

    def test_no_personal_data_in_the_log(self):
        log = log_bytes(self.server).decode("utf-8").lower()
        for marker in PII:
            with self.subTest(marker=marker):
                self.assertNotIn(marker.lower(), log)

    def test_what_the_client_sends_is_escaped(self):
        """A user-agent and an unknown method path with quotes, backslashes and non-ASCII: the line
        stays one JSON object, printable, with the values as sent (non-ASCII bytes as '?')."""
        ua = 'obs "agent" c:\\x=1'
        ch = harness.channel(self.server.address, options=[("grpc.primary_user_agent", ua)])
        try:
            start = len(log_bytes(self.server))
            paths = ['/x.Y/Z"q\\w', "/weird path/\u00e9", "/" + "m" * 300]
            for path in paths:
                with self.assertRaises(grpc.RpcError) as cm:
                    ch.unary_unary(path)(b"", timeout=10)
                self.assertEqual(cm.exception.code(), Code.UNIMPLEMENTED)
        finally:
            ch.close()
        data = log_bytes(self.server)[start:]
        self.assertTrue(all(32 <= b < 127 for b in data.replace(b"\n", b"")), data)
        lines = [o for o in json_lines(data) if o.get("msg") == "call"]
        self.assertEqual([o["method"] for o in lines],
                         ['/x.Y/Z"q\\w', "/weird path/??", ("/" + "m" * 300)[:159]])
        for o in lines:
            self.assertTrue(o["user_agent"].startswith(ua), o["user_agent"])
            self.assertEqual(o["code"], "UNIMPLEMENTED")

    def test_health_watch_is_counted_when_its_client_goes(self):
        key = ("grpc_type", "grpc_service", "grpc_method", "grpc_code")
        before = samples(http(self.url + "/metrics")[2])
        start = len(log_bytes(self.server))
        w = lib.watch(self.server.channel)
        self.assertEqual(next(w).status, lib.SERVING)
        w.cancel()

        def watch_lines():
            return [o for o in json_lines(log_bytes(self.server)[start:])
                    if o.get("msg") == "call" and o.get("method") == lib.HEALTH_WATCH]

        lib.wait_for(lambda: watch_lines(), 10, 0.05, "the access line of the Watch")
        lines = watch_lines()
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0]["code"], "CANCELLED")
        after = samples(http(self.url + "/metrics")[2])
        self.assertEqual(delta(by_series(before, "grpc_server_handled_total", key),
                               by_series(after, "grpc_server_handled_total", key)),
                         {("server_stream", "grpc.health.v1.Health", "Watch", "CANCELLED"): 1})
        k2 = ("grpc_type", "grpc_service", "grpc_method")
        self.assertEqual(delta(by_series(before, "grpc_server_started_total", k2),
                               by_series(after, "grpc_server_started_total", k2)),
                         {("server_stream", "grpc.health.v1.Health", "Watch"): 1})

    # ------------------------------------------------------------ traceparent

    def traced_call(self, traceparent):
        """A GetProspect with the traceparent (None: none); its access line."""
        start = len(log_bytes(self.server))
        md = [("traceparent", traceparent)] if traceparent is not None else None
        # an unknown record: NOT_FOUND (never a failure because of the traceparent)
        with self.assertRaises(grpc.RpcError) as cm:
            harness.call(self.server.channel, lib.method("GetProspect"),
                         S.GetProspectRequest(
                             name="tenants/%s/prospects/0190a000-0000-7000-8000-0000000000ef" % self.tenant),
                         R.Prospect, metadata=md)
        self.assertEqual(cm.exception.code(), Code.NOT_FOUND, traceparent)
        lines = [o for o in json_lines(log_bytes(self.server)[start:]) if o.get("msg") == "call"]
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0]["method"], lib.method("GetProspect"))
        self.assertEqual(lines[0]["code"], "NOT_FOUND")
        return lines[0]

    def test_valid_traceparent_is_on_the_access_line(self):
        line = self.traced_call("00-%s-%s-01" % (TRACE_ID, PARENT_ID))
        self.assertEqual(line.get("trace_id"), TRACE_ID)
        line = self.traced_call("00-%s-%s-00" % ("0" * 31 + "1", "1" + "0" * 15))
        self.assertEqual(line.get("trace_id"), "0" * 31 + "1")
        # a later version: its first four fields, when what follows is "-"
        line = self.traced_call("01-%s-%s-01-future-stuff" % (TRACE_ID, PARENT_ID))
        self.assertEqual(line.get("trace_id"), TRACE_ID)
        # and the next call without one has none (nothing left over from the last)
        self.assertNotIn("trace_id", self.traced_call(None))

    def test_invalid_traceparent_is_ignored(self):
        bad = {
            "uppercase trace id": "00-%s-%s-01" % (TRACE_ID.upper(), PARENT_ID),
            "uppercase parent id": "00-%s-%s-01" % (TRACE_ID, PARENT_ID.upper()),
            "all-zero trace id": "00-%s-%s-01" % ("0" * 32, PARENT_ID),
            "all-zero parent id": "00-%s-%s-01" % (TRACE_ID, "0" * 16),
            "version ff": "ff-%s-%s-01" % (TRACE_ID, PARENT_ID),
            "too short": "00-%s-%s-01" % (TRACE_ID[:-1], PARENT_ID),
            "too long": "00-%s-%s-01" % (TRACE_ID + "a", PARENT_ID),
            "v00 with more": "00-%s-%s-01-extra" % (TRACE_ID, PARENT_ID),
            "v01 without a dash after": "01-%s-%s-01x" % (TRACE_ID, PARENT_ID),
            "non-hex": "00-%s-%s-01" % (TRACE_ID[:-1] + "g", PARENT_ID),
            "bad flags": "00-%s-%s-0g" % (TRACE_ID, PARENT_ID),
            "empty": "",
            "garbage": "not a traceparent",
        }
        for what, value in bad.items():
            with self.subTest(what):
                self.assertNotIn("trace_id", self.traced_call(value), value)


class LevelFileAndTextFormat(harness.unittest.TestCase):
    """A server without PS_METRICS_LISTEN, text format, its level in PS_LOG_LEVEL_FILE, one worker
    (so that a call follows another on the same thread)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ps-obs-")
        cls.level_file = os.path.join(cls.dir, "level")
        cls.write_level("info")
        cls.server = harness.Server(env={"PS_LOG_LEVEL_FILE": cls.level_file,
                                         "PS_HEALTH_INTERVAL_MS": "200", "PS_WORKERS": "1",
                                         "PS_METRICS_LISTEN": None, "PS_LOG_FORMAT": None})
        try:
            ch = cls.server.channel
            cls.tenant = lib.new_enabled_tenant(ch, "obsl")
            cls.p = lib.create(ch, cls.tenant, person_with_pii())
        except BaseException:
            cls.server.__exit__(*sys.exc_info())
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def write_level(cls, level):
        """Replaces the file, as the kubelet updates a mounted ConfigMap (a new file renamed over)."""
        tmp = cls.level_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(level + "\n")
        os.replace(tmp, cls.level_file)

    def log_count(self, needle):
        return self.server.log().count(needle)

    def wait_more(self, needle, before, timeout=10):
        """Wait until needle is in the log more often than before times."""
        lib.wait_for(lambda: self.log_count(needle) > before or not self.server.running(), timeout,
                     0.05, repr(needle))
        self.assertTrue(self.server.running(), self.server.log())

    def set_level(self, old, new):
        needle = "log level %s -> %s" % (old, new)
        n = self.log_count(needle)
        self.write_level(new)
        self.wait_more(needle, n)

    def lines_after(self, start):
        return log_bytes(self.server)[start:].decode("utf-8").splitlines()

    def access_lines_after(self, start):
        return [line for line in self.lines_after(start) if " call method=" in line]

    def get(self, **kw):
        return harness.call(self.server.channel, lib.method("GetProspect"),
                            S.GetProspectRequest(name=self.p.name), R.Prospect, **kw)

    def test_level_follows_the_file_and_sighup(self):
        try:
            self.check_level_follows_the_file_and_sighup()
        finally:  # info again for the other tests, whatever happened
            self.write_level("info")
            self.server.proc.send_signal(signal.SIGHUP)

    def check_level_follows_the_file_and_sighup(self):
        start = len(log_bytes(self.server))
        self.get()
        lines = self.access_lines_after(start)
        self.assertEqual(len(lines), 1, lines)
        # the file replaced: the server notices by itself
        self.set_level("info", "warn")
        start = len(log_bytes(self.server))
        self.get()
        lib.health(self.server.channel)
        with self.assertRaises(grpc.RpcError):
            self.server.channel.unary_unary(UNKNOWN_METHOD)(b"", timeout=10)
        self.assertEqual(self.access_lines_after(start), [])
        # changed in place to a value of the same size, its times put back: only SIGHUP rereads it
        needle = "log level warn -> info"
        n = self.log_count(needle)
        st = os.stat(self.level_file)
        with open(self.level_file, "r+") as f:
            f.write("info\n")
        os.utime(self.level_file, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.server.proc.send_signal(signal.SIGHUP)
        self.wait_more(needle, n)
        start = len(log_bytes(self.server))
        self.get()
        lines = self.access_lines_after(start)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(" info call method=/prospects.v1.ProspectService/GetProspect code=OK", lines[0])
        # a value that is no level: said, and the level kept
        needle = "does not hold one of debug, info, warn, error"
        n = self.log_count(needle)
        self.write_level("loud")
        self.wait_more(needle, n)
        start = len(log_bytes(self.server))
        self.get()
        self.assertEqual(len(self.access_lines_after(start)), 1)

    def test_text_access_line(self):
        start = len(log_bytes(self.server))
        self.get()
        lib.health(self.server.channel)
        lines = self.access_lines_after(start)
        self.assertEqual(len(lines), 2, lines)
        get_line, health_line = lines
        self.assertIn(" info call method=/prospects.v1.ProspectService/GetProspect code=OK", get_line)
        self.assertRegex(get_line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info call "
                                   r"method=/prospects\.v1\.ProspectService/GetProspect code=OK "
                                   r"duration_us=\d+ tenant=%s peer=ipv4:127\.0\.0\.1:\d+ "
                                   r"user_agent=\"grpc-python[^\"]*\"$" % re.escape(self.tenant))
        self.assertRegex(health_line, r" info call method=/grpc\.health\.v1\.Health/Check code=OK "
                                      r"duration_us=\d+ peer=ipv4:127\.0\.0\.1:\d+ user_agent=")
        self.assertNotIn("tenant=", health_line)
        log = self.server.log().lower()
        for marker in PII:
            self.assertNotIn(marker.lower(), log)

    def test_worker_lines_carry_the_trace_id(self):
        """At debug the worker logs each call's status; that line carries the call's trace id, and
        the next call on the same (only) worker without a traceparent has none."""
        self.set_level("info", "debug")
        try:
            start = len(log_bytes(self.server))
            missing = "tenants/%s/prospects/0190a000-0000-7000-8000-0000000000ee" % self.tenant
            for md in ([("traceparent", "00-%s-%s-01" % (TRACE_ID, PARENT_ID))], None):
                with self.assertRaises(grpc.RpcError) as cm:
                    harness.call(self.server.channel, lib.method("GetProspect"),
                                     S.GetProspectRequest(name=missing), R.Prospect, metadata=md)
                self.assertEqual(cm.exception.code(), Code.NOT_FOUND)
            lines = [line for line in self.lines_after(start) if "GetProspect" in line]
        finally:
            self.set_level("debug", "info")
        worker = [line for line in lines if " debug " in line and "NOT_FOUND" in line]
        access = [line for line in lines if " info call " in line]
        self.assertEqual(len(worker), 2, lines)
        self.assertEqual(len(access), 2, lines)
        self.assertTrue(worker[0].endswith(" trace_id=" + TRACE_ID), worker[0])
        self.assertTrue(access[0].endswith(" trace_id=" + TRACE_ID), access[0])
        self.assertEqual(access[0].count("trace_id="), 1, access[0])
        self.assertNotIn("trace_id", worker[1])
        self.assertNotIn("trace_id", access[1])

    def test_no_metrics_endpoint_unless_asked(self):
        self.assertEqual(lib.health(self.server.channel), lib.SERVING)
        self.assertEqual(self.get().name, self.p.name)
        log = self.server.log()
        self.assertNotIn("Prometheus", log)
        self.assertEqual([line for line in log.splitlines() if re.search(r"serving.*metrics", line)], [])


if __name__ == "__main__":
    harness.main()
