"""Client programs against the real server (started with tests/lib/harness.py on a fresh database).

    run_live.py library TEST_CLIENT           the C library tests, with PS_TEST_TARGET set
    run_live.py cli PROSPECTCTL               prospectctl: JSON in/out, exit codes, --help
    run_live.py quoting EXAMPLE PROSPECTCTL   the quoting example (exit 77 = skipped: an RPC is missing)
    run_live.py invoicing EXAMPLE PROSPECTCTL the invoicing example, on a merged-away record
    run_live.py restart WRITER                restart the server in the middle of a stream of creates
                                              and check that nothing was created twice
    run_live.py tls PROBE PROSPECTCTL QUOTING the library, prospectctl and the quoting example over TLS
                                              and mTLS, with certificates made here (tests/lib/pki.py)

Registered from client/CMakeLists.txt (tests client_*). Exit status 0 = passed, 77 = skipped.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

import harness
import ps_testlib as lib

SKIP = 77
# prospectctl's and the examples' own settings are never inherited from whoever runs the tests
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PROSPECTCTL_", "PROSPECTS_"))}


def run(cmd, timeout=120, env=None, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(CLEAN_ENV, **(env or {})), **kw)


def ctl(prospectctl, server, *args, stdin=None, env=None):
    """prospectctl against server -> (exit code, parsed stdout or None, stderr). The server's
    address is 127.0.0.1: prospectctl's rule makes that plaintext unless TLS options are given."""
    out = run([prospectctl, "--target", server.address] + list(args), input=stdin, env=env)
    try:
        body = json.loads(out.stdout) if out.stdout.strip() else None
    except ValueError:
        body = None
    return out.returncode, body, out.stderr


def enable_apps(prospectctl, server, tenant, quote_requests=False, tls_args=()):
    mask = "prospectsEnabled,quoteRequestsEnabled" if quote_requests else "prospectsEnabled"
    req = {"apps": {"name": "tenants/%s/apps" % tenant, "prospectsEnabled": True,
                    "quoteRequestsEnabled": quote_requests}, "updateMask": mask}
    rc, body, err = ctl(prospectctl, server, *tls_args, "update-tenant-apps", json.dumps(req))
    if rc != 0:
        raise RuntimeError("could not switch the apps on: %s" % err)


def create_person(prospectctl, server, tenant, first):
    req = {"parent": "tenants/%s" % tenant, "prospect": {"kind": "PERSON", "firstName": first}}
    rc, body, err = ctl(prospectctl, server, "create-prospect", json.dumps(req))
    if rc != 0:
        raise RuntimeError("CreateProspect failed: %s" % err)
    return body["name"]


# ---------------------------------------------------------------- library

LIVE_TRACE_ID = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"  # test_client.c's LIVE_TRACEPARENT


def library(test_client):
    with harness.Server(env={"PS_LOG_FORMAT": "json"}) as server:
        out = run([test_client], env={"PS_TEST_TARGET": server.address}, timeout=240)
        sys.stdout.write(out.stdout)
        sys.stderr.write(out.stderr)
        if out.returncode != 0:
            return 1
        # Trace context: every call of the library carries a traceparent, the caller's when it
        # gives one, else one the library starts; the server's access lines show its trace id.
        calls = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        calls = [c for c in calls if c.get("msg") == "call"
                 and c["method"].startswith("/prospects.v1.ProspectService/")]
        traced = [c for c in calls if c.get("trace_id") == LIVE_TRACE_ID]
        untraced = [c for c in calls if not re.fullmatch(r"[0-9a-f]{32}", c.get("trace_id", ""))]
        started = {c["trace_id"] for c in calls} - {LIVE_TRACE_ID}
        print("access lines of the library's calls: %d; with the caller's trace id: %d; trace ids the"
              " library started: %d; without a trace id: %d"
              % (len(calls), len(traced), len(started), len(untraced)))
        ok = (len(calls) > 20 and len(traced) == 1 and traced[0]["method"].endswith("/GetTenantApps")
              and not untraced and len(started) >= len(calls) // 2)
        return 0 if ok else 1


# ---------------------------------------------------------------- CLI

class Cli(unittest.TestCase):
    prospectctl = None
    server = None

    def ctl(self, *args, stdin=None):
        return ctl(self.prospectctl, self.server, *args, stdin=stdin)

    def test_help_for_every_command(self):
        out = run([self.prospectctl, "--help"])
        self.assertEqual(out.returncode, 0)
        commands = [line.split()[0] for line in out.stdout.split("Commands")[1].splitlines()[1:] if line.strip()]
        # one command per RPC of the service, plus the commands of their own (export, ...)
        from prospects.v1 import service_pb2
        rpcs = [re.sub(r"(?<!^)([A-Z])", r"-\1", m.name).lower()
                for m in service_pb2.DESCRIPTOR.services_by_name["ProspectService"].methods]
        self.assertEqual(set(rpcs) - set(commands), set(), out.stdout)
        self.assertIn("list-audit-events", commands)
        self.assertIn("export", commands)
        for command in commands:
            out = run([self.prospectctl, command, "--help"])
            self.assertEqual(out.returncode, 0, command)
            if command in rpcs:
                self.assertIn("Request fields", out.stdout)
            self.assertIn("usage: prospectctl [OPTIONS] %s" % command, out.stdout)

    def test_list_audit_events(self):
        out = run([self.prospectctl, "list-audit-events", "--help"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("RPC prospects.v1.ProspectService/ListAuditEvents: prospects.v1.ListAuditEventsRequest"
                      " -> prospects.v1.ListAuditEventsResponse; retried on UNAVAILABLE (a read)", out.stdout)
        for field in ("parent", "pageSize", "pageToken"):
            self.assertRegex(out.stdout, r"\n  %s +" % field)

        tenant = harness.new_tenant("cliaudit")
        apps = "tenants/%s/apps" % tenant
        rc, body, err = self.ctl("list-audit-events", json.dumps({"parent": "tenants/" + tenant}))
        self.assertEqual(rc, 0, err)
        self.assertEqual(body, {})  # no change yet: an empty list is left out, as proto3 JSON does
        enable_apps(self.prospectctl, self.server, tenant)
        rc, _, err = self.ctl("--acting-user", "ops-7", "update-tenant-apps", json.dumps(
            {"apps": {"name": apps, "quoteRequestsEnabled": True}, "updateMask": "quoteRequestsEnabled"}))
        self.assertEqual(rc, 0, err)
        # by command name and by RPC name, the request from stdin
        rc, body, err = self.ctl("list-audit-events", json.dumps({"parent": "tenants/" + tenant, "pageSize": 1}))
        self.assertEqual(rc, 0, err)
        rc, again, err = self.ctl("ListAuditEvents", "-", stdin=json.dumps({"parent": "tenants/" + tenant,
                                                                             "page_size": 1}))
        self.assertEqual(rc, 0, err)
        self.assertEqual(again, body)
        (newest,) = body["auditEvents"]
        self.assertEqual(newest["action"], "UpdateTenantApps")
        self.assertEqual(newest["resource"], apps)
        self.assertEqual(newest["actingUser"], "ops-7")
        self.assertNotIn("caller", newest)  # a plaintext server knows no caller
        self.assertRegex(newest["name"], r"^tenants/%s/auditEvents/[0-9a-f-]{36}$" % tenant)
        self.assertRegex(newest["createTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertIn("quote_requests_enabled false -> true", newest["details"])
        # the next page: the first change (the Prospects app on), and the end of the trail
        rc, older, err = self.ctl("--compact", "list-audit-events", json.dumps(
            {"parent": "tenants/" + tenant, "pageSize": 1, "pageToken": body["nextPageToken"]}))
        self.assertEqual(rc, 0, err)
        self.assertEqual([(e["action"], e["resource"]) for e in older["auditEvents"]],
                         [("UpdateTenantApps", apps)])
        self.assertIn("prospects_enabled false -> true", older["auditEvents"][0]["details"])
        self.assertLess(older["auditEvents"][0]["name"], newest["name"])
        if "nextPageToken" in older:  # a full page may still say "more"; the next one is empty
            rc, rest, err = self.ctl("list-audit-events", json.dumps(
                {"parent": "tenants/" + tenant, "pageSize": 1, "pageToken": older["nextPageToken"]}))
            self.assertEqual(rc, 0, err)
            self.assertEqual(rest, {})
        # errors: the service's own, as JSON on stderr with the gRPC code as exit status
        rc, _, err = self.ctl("list-audit-events", json.dumps({"parent": "not-a-tenant"}))
        self.assertEqual(rc, 3, err)  # INVALID_ARGUMENT
        error = json.loads(err)["error"]
        self.assertEqual((error["reason"], error["metadata"]), ("INVALID_FIELD", {"field": "parent"}))
        self.assertNotIn("requestId", error)  # a read carries no request_id

    def test_usage_errors(self):
        self.assertEqual(run([self.prospectctl]).returncode, 64)
        self.assertEqual(run([self.prospectctl, "no-such-command"]).returncode, 64)
        self.assertEqual(run([self.prospectctl, "--deadline", "x", "get-prospect"]).returncode, 64)
        rc, _, err = self.ctl("get-prospect", '{"name": ')
        self.assertEqual(rc, 65)
        self.assertIn("line 1", err)
        rc, _, err = self.ctl("get-prospect", '{"nmae": "x"}')
        self.assertEqual(rc, 65)
        self.assertIn('no field "nmae"', err)
        rc, _, err = self.ctl("create-prospect", '{"prospect": {"kind": "ROBOT"}}')
        self.assertEqual(rc, 65)
        self.assertIn("PERSON", err)

    def test_round_trip(self):
        tenant = harness.new_tenant("cli")
        rc, body, err = self.ctl("get-tenant-apps", json.dumps({"name": "tenants/%s/apps" % tenant}))
        self.assertEqual(rc, 0, err)
        self.assertEqual(body["name"], "tenants/%s/apps" % tenant)
        self.assertNotIn("prospectsEnabled", body)  # false: left out, as proto3 JSON does

        # the error comes out as JSON on stderr, the exit status is the gRPC code
        req = {"parent": "tenants/%s" % tenant, "prospect": {"kind": "PERSON", "first_name": "Ann"}}
        rc, body, err = self.ctl("create-prospect", json.dumps(req))
        self.assertEqual(rc, 9)  # FAILED_PRECONDITION
        error = json.loads(err)["error"]
        self.assertEqual(error["status"], "FAILED_PRECONDITION")
        self.assertEqual(error["reason"], "PROSPECTS_APP_DISABLED")
        self.assertEqual(error["domain"], "prospects.v1")
        self.assertEqual(len(error["requestId"]), 36)

        enable_apps(self.prospectctl, self.server, tenant)
        req["requestId"] = "cli-1"
        req["prospect"]["address"] = {"city": "Gent", "countryCode": "BE"}
        rc, made, err = self.ctl("create-prospect", json.dumps(req))
        self.assertEqual(rc, 0, err)
        self.assertEqual(made["kind"], "PERSON")
        self.assertEqual(made["firstName"], "Ann")
        self.assertEqual(made["address"], {"city": "Gent", "countryCode": "BE"})
        self.assertRegex(made["createTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        # the same request_id again: the same record; request from stdin
        rc, again, err = self.ctl("CreateProspect", "-", stdin=json.dumps(req))
        self.assertEqual(rc, 0, err)
        self.assertEqual(again["name"], made["name"])

        rc, got, err = self.ctl("--compact", "get-prospect", json.dumps({"name": made["name"]}))
        self.assertEqual(rc, 0, err)
        self.assertEqual(got, made)

        rc, _, err = self.ctl("get-prospect", json.dumps({"name": "tenants/%s/prospects/x" % tenant}))
        self.assertEqual(rc, 3)  # INVALID_ARGUMENT
        self.assertEqual(json.loads(err)["error"]["metadata"], {"field": "name"})

    def test_unimplemented_exit_code(self):
        # an RPC still missing answers UNIMPLEMENTED (12); once built, its own validation error
        rc, _, err = self.ctl("list-merges", "{}")
        error = json.loads(err)["error"]
        if rc == 12:
            self.assertEqual(error["reason"], "NOT_IMPLEMENTED")
        else:
            self.assertEqual(error["domain"], "prospects.v1")

    def access_lines(self, method):
        """The server's access lines (text format) of method, as dicts of their key=value pairs."""
        out = []
        for line in self.server.log().splitlines():
            if " info call method=/prospects.v1.ProspectService/%s " % method in line:
                out.append(dict(re.findall(r'(\w+)=("[^"]*"|\S*)', line)))
        return out

    def test_trace_context(self):
        name = '{"name": "tenants/t-trace/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"}'
        given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        # the caller's traceparent (--traceparent, else $TRACEPARENT) reaches the server's access line
        for args, env in (((("--traceparent", given)), None), ((), {"TRACEPARENT": given})):
            before = len(self.access_lines("GetProspect"))
            rc, _, err = ctl(self.prospectctl, self.server, *args, "get-prospect", name, env=env)
            self.assertNotEqual(rc, 0)  # the apps of t-trace are off
            self.assertEqual(json.loads(err)["error"]["traceId"], given[3:35])
            lines = self.access_lines("GetProspect")[before:]
            self.assertEqual([l.get("trace_id") for l in lines], [given[3:35]])
        # without one, prospectctl starts a trace (the library's psc_traceparent_new) and shows its id
        before = len(self.access_lines("GetProspect"))
        rc, _, err = self.ctl("get-prospect", name)
        trace_id = json.loads(err)["error"]["traceId"]
        self.assertRegex(trace_id, r"^[0-9a-f]{32}$")
        self.assertNotEqual(trace_id, given[3:35])
        self.assertEqual([l.get("trace_id") for l in self.access_lines("GetProspect")[before:]], [trace_id])
        # a malformed one is a usage error, and nothing is sent
        before = len(self.access_lines("GetProspect"))
        rc, _, err = self.ctl("--traceparent", given.upper(), "get-prospect", name)
        self.assertEqual(rc, 64, err)
        self.assertIn("traceparent", err)
        self.assertEqual(len(self.access_lines("GetProspect")), before)

    def test_deadline(self):
        # a listener that never speaks HTTP/2: DEADLINE_EXCEEDED (4) after --deadline
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(4)
            t0 = time.monotonic()
            out = run([self.prospectctl, "--target", "127.0.0.1:%d" % s.getsockname()[1], "--deadline", "300",
                       "get-prospect", '{"name": "tenants/t/prospects/x"}'])
            self.assertEqual(out.returncode, 4, out.stderr)
            self.assertLess(time.monotonic() - t0, 5)


def run_case(case):
    """Runs the tests of one TestCase class (this module holds several) -> exit status."""
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    return 0 if unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful() else 1


def cli(prospectctl):
    Cli.prospectctl = prospectctl
    with harness.Server() as server:
        Cli.server = server
        return run_case(Cli)


# ---------------------------------------------------------------- examples

# The examples take their transport from PROSPECTS_* (see their top comment); this server is h2c.
EXAMPLE_PLAINTEXT = {"PROSPECTS_PLAINTEXT": "1"}


def example(kind, binary, prospectctl):
    with harness.Server() as server:
        tenant = harness.new_tenant("ex")
        enable_apps(prospectctl, server, tenant, quote_requests=True)
        if kind == "quoting":
            quote = "q-" + tenant
            out = run([binary, server.address, tenant, quote], env=EXAMPLE_PLAINTEXT)
            sys.stdout.write(out.stdout + out.stderr)
            if out.returncode == 0:
                # the flow again: every step is idempotent, nothing new is made
                again = run([binary, server.address, tenant, quote], env=EXAMPLE_PLAINTEXT)
                sys.stdout.write(again.stdout + again.stderr)
                if again.returncode != 0 or "found " not in again.stdout:
                    print("second run did not find the record of the first")
                    return 1
            return out.returncode
        # invoicing: convert a record that was merged into another one
        source = create_person(prospectctl, server, tenant, "Source")
        target = create_person(prospectctl, server, tenant, "Target")
        rc, _, err = ctl(prospectctl, server, "merge-prospects",
                         json.dumps({"target": target, "sources": [{"name": source}]}))
        if rc == 12:
            print("MergeProspects is not implemented by this server yet: the merged case cannot be set up")
            out = run([binary, server.address, target, "inv-" + tenant], env=EXAMPLE_PLAINTEXT)
            sys.stdout.write(out.stdout + out.stderr)
            return out.returncode if out.returncode != 0 else SKIP
        if rc != 0:
            print("MergeProspects failed: " + err)
            return 1
        out = run([binary, server.address, source, "inv-" + tenant], env=EXAMPLE_PLAINTEXT)
        sys.stdout.write(out.stdout + out.stderr)
        if out.returncode == 0:
            rc, got, err = ctl(prospectctl, server, "get-prospect", json.dumps({"name": target}))
            if rc != 0 or got.get("state") != "CUSTOMER":
                print("the surviving record was not converted: %s %s" % (got, err))
                return 1
        return out.returncode


# ---------------------------------------------------------------- restart

def restart(writer, count=60):
    """Kill the server (SIGKILL: replies may be lost after the commit) twice during a stream of
    creates with request ids; the library retries UNAVAILABLE; every call must end OK, and the
    tenant must hold exactly `count` prospects."""
    mariadb = harness.shared_mariadb()
    database = harness.fresh_database(mariadb)
    port = harness.free_port()
    tenant = harness.new_tenant("restart")
    server = harness.Server(database=database, port=port)
    try:
        prospectctl = os.environ["PSC_PROSPECTCTL"]
        enable_apps(prospectctl, server, tenant)
        proc = subprocess.Popen([writer, server.address, tenant, str(count)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines = []
        restarts = 0
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if restarts < 2 and len(lines) in (count // 3, 2 * count // 3):
                server.stop(signal.SIGKILL)
                time.sleep(0.5)  # calls now fail with UNAVAILABLE and are retried
                server.close()
                server = harness.Server(database=database, port=port)
                restarts += 1
        rc = proc.wait(timeout=120)
        print("\n".join(lines))
        if rc != 0:
            print("writer failed (exit %d)" % rc)
            return 1
        names = [l.split()[1] for l in lines]
        retried = sum(1 for l in lines if int(l.split()[2]) > 1)
        rows = int(mariadb.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s'" % tenant,
                               database=database)[0][0])
        print("calls %d, distinct names %d, calls retried %d, rows %d, restarts %d"
              % (len(names), len(set(names)), retried, rows, restarts))
        ok = len(names) == count and len(set(names)) == count and rows == count and restarts == 2
        if retried == 0:
            print("no call needed a retry: the restarts did not hit the stream")
            ok = False
        return 0 if ok else 1
    finally:
        server.close()


# ---------------------------------------------------------------- TLS and mTLS

SERVER_NAME = "prospects.test"  # the only name in the server's certificate (no IP address)
WEB = "spiffe://prospects.test/ns/prod/sa/web"
QUOTING = "spiffe://prospects.test/ns/prod/sa/quoting"
POLICY = {"name": "client-tls", "allow_rules": [
    {"name": "health", "request": {"paths": ["/grpc.health.v1.Health/*"]}},
    {"name": "web", "source": {"principals": [WEB]},
     "request": {"paths": ["/prospects.v1.ProspectService/*"]}}]}


class Probe:
    """tests/client/tls_probe: one library handle for the life of the process, fed commands."""

    def __init__(self, binary, target, *args):
        self.proc = subprocess.Popen([binary] + list(args) + [target], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=CLEAN_ENV)

    def ask(self, command):
        """-> (code name, value or None, message)"""
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().rstrip("\n")
        if not line:
            raise RuntimeError("tls_probe ended: exit status %s, %s" % self.close())
        code, value, message = (line.split(" ", 2) + ["", ""])[:3]
        return code, None if value == "-" else value, message

    def close(self):
        """Ends the probe -> (exit status, its stderr); a sanitizer build's leak report makes the
        status non-zero."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        err = self.proc.stderr.read()
        rc = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, err


class LoadBalancing(unittest.TestCase):
    """lb_policy round_robin spreads one handle's calls over every address of its target (a
    dns:/// name of a headless Service in Kubernetes; here a static list of two replicas on one
    database); pick_first keeps them on one."""

    def test_round_robin_and_pick_first(self):
        database = harness.fresh_database()
        with harness.Server(database=database) as a, harness.Server(database=database) as b:
            target = "ipv4:%s,%s" % (a.address, b.address)
            for policy, both in (("round_robin", True), ("pick_first", False)):
                before = [lib.server_stats(s)["calls"]["accepted"] for s in (a, b)]
                probe = Probe(Tls.probe, target, "--plaintext", "--lb-policy", policy)
                sent = 0
                try:
                    # round_robin only uses a replica once its connection is ready, which a slow
                    # (sanitizer) build may reach after the first calls: go on, bounded, until both
                    # replicas have had their share.
                    while sent < (400 if both else 20):
                        for i in range(20):
                            self.assertEqual(probe.ask("apps lb-tenant")[0], "OK")
                        sent += 20
                        got = [lib.server_stats(s)["calls"]["accepted"] - n
                               for s, n in zip((a, b), before)]
                        if both and all(g >= 5 for g in got):
                            break
                finally:
                    self.assertEqual(probe.close()[0], 0)
                got = [lib.server_stats(s)["calls"]["accepted"] - n for s, n in zip((a, b), before)]
                self.assertEqual(sum(got), sent, got)
                if both:
                    self.assertTrue(all(g >= 5 for g in got), "%s: %r" % (policy, got))
                else:
                    self.assertIn(0, got, "%s: %r" % (policy, got))
            # dns:/// resolves the name (the form a headless Service takes)
            probe = Probe(Tls.probe, "dns:///localhost:%d" % a.port, "--plaintext", "--lb-policy",
                          "round_robin")
            try:
                self.assertEqual(probe.ask("apps lb-tenant")[0], "OK")
            finally:
                rc, err = probe.close()
                self.assertEqual(rc, 0, err)


class Tls(unittest.TestCase):
    """The server with TLS, client certificates checked against its CA, and a policy that lets
    only WEB call ProspectService; certificates made for this run."""
    probe = prospectctl = quoting = None

    @classmethod
    def setUpClass(cls):
        import pki as pkilib
        cls.pki = pkilib.Pki()
        cls.server_cert = cls.pki.issue("server", dns=[SERVER_NAME])
        cls.web = cls.pki.issue("web", uri=[WEB])
        cls.quoting_cert = cls.pki.issue("quoting", uri=[QUOTING])  # valid, but not in the policy
        cls.foreign_pki = pkilib.Pki("foreign-ca")
        cls.foreign_web = cls.foreign_pki.issue("web", uri=[WEB])   # WEB's name, another CA
        cls.policy = os.path.join(cls.pki.dir, "policy.json")
        with open(cls.policy, "w") as f:
            json.dump(POLICY, f)
        cls.env = cls.pki.server_env(cls.server_cert, cls.policy)
        cls.server = harness.Server(env=cls.env, make_channel=lambda a: cls.pki.channel(
            a, None, server_name=SERVER_NAME))

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def tls_args(self, cert=None, ca=None, server_name=SERVER_NAME):
        """The probe's (and prospectctl's) flags for mTLS with cert (default WEB's)."""
        cert = cert or self.web
        args = ["--ca", ca or self.pki.ca_cert, "--cert", cert.cert, "--key", cert.key]
        return args + (["--server-name", server_name] if server_name else [])

    def probe_once(self, args, *commands, server=None):
        probe = Probe(self.probe, (server or self.server).address, "--deadline", "5000", *args)
        try:
            answers = [probe.ask(c) for c in commands]
        finally:
            rc, err = probe.close()
        self.assertEqual(rc, 0, err)
        return answers

    # ------------------------------------------------------------ the library

    def test_library_mtls_allowed(self):
        tenant = harness.new_tenant("tls")
        enable, create = self.probe_once(self.tls_args(), "enable " + tenant, "create %s Ann" % tenant)
        self.assertEqual(enable[:2], ("OK", "1"), enable)
        self.assertEqual(create[0], "OK", create)
        (get,) = self.probe_once(self.tls_args(), "get " + create[1])
        self.assertEqual(get[:2], ("OK", "Ann"), get)
        # the same material given in memory (tls_*_pem) instead of files
        (apps,) = self.probe_once(self.tls_args() + ["--pem"], "apps " + tenant)
        self.assertEqual(apps[:2], ("OK", "1"), apps)

    def test_library_denied_by_policy(self):
        tenant = harness.new_tenant("tls")
        apps, create = self.probe_once(self.tls_args(self.quoting_cert), "apps " + tenant,
                                       "create %s Bo" % tenant)
        self.assertEqual(apps[0], "PERMISSION_DENIED", apps)
        self.assertIn(QUOTING, apps[2])
        self.assertEqual(create[0], "PERMISSION_DENIED", create)

    def test_library_without_client_certificate(self):
        (apps,) = self.probe_once(["--ca", self.pki.ca_cert, "--server-name", SERVER_NAME],
                                  "apps " + harness.new_tenant("tls"))
        self.assertEqual(apps[0], "UNAUTHENTICATED", apps)

    def test_library_wrong_ca_fails_the_connection(self):
        cases = {
            "the server's certificate from a CA the client does not trust":
                self.tls_args(ca=self.foreign_pki.ca_cert),
            "a client certificate from a CA the server does not trust": self.tls_args(self.foreign_web),
            "gRPC's default roots (no CA given)": ["--cert", self.web.cert, "--key", self.web.key,
                                                   "--server-name", SERVER_NAME],
        }
        for what, args in cases.items():
            (apps,) = self.probe_once(args + ["--attempts", "1"], "apps t")
            self.assertEqual(apps[0], "UNAVAILABLE", "%s: %s" % (what, apps))

    def test_library_checks_the_host_name(self):
        # the target is 127.0.0.1, the certificate names only prospects.test
        for name in (None, "other.test"):
            (apps,) = self.probe_once(self.tls_args(server_name=name) + ["--attempts", "1"], "apps t")
            self.assertEqual(apps[0], "UNAVAILABLE", apps)
            self.assertIn("Hostname", apps[2])

    def test_library_plaintext_only_when_asked(self):
        with harness.Server(database=self.server.database) as plain:  # h2c, the harness default
            tenant = harness.new_tenant("plain")
            (apps,) = self.probe_once(["--attempts", "1"], "apps " + tenant, server=plain)
            self.assertEqual(apps[0], "UNAVAILABLE", apps)  # zero options: TLS, never plaintext
            (apps,) = self.probe_once(["--plaintext"], "apps " + tenant, server=plain)
            self.assertEqual(apps[:2], ("OK", "0"), apps)
        # ... and to the TLS server, plaintext does not get through
        (apps,) = self.probe_once(["--plaintext", "--attempts", "1"], "apps t")
        self.assertEqual(apps[0], "UNAVAILABLE", apps)
        # plaintext with TLS material is refused when the handle is made
        probe = subprocess.run([self.probe, "--plaintext", "--ca", self.pki.ca_cert, self.server.address],
                               input="", capture_output=True, text=True, timeout=30, env=CLEAN_ENV)
        self.assertEqual(probe.returncode, 3, probe.stdout + probe.stderr)
        self.assertIn("NEW INVALID_ARGUMENT tls_ca_file is set with PSC_TRANSPORT_PLAINTEXT", probe.stdout)

    def test_library_rotated_client_certificate(self):
        """The certificate files are replaced under a running handle: its next connection presents
        the new certificate. A second server on the same database asks connections to go away
        after a second (PS_MAX_AGE_S), so the channel reconnects by itself."""
        cert = os.path.join(self.pki.dir, "rotating.crt")
        key = os.path.join(self.pki.dir, "rotating.key")
        install(self.quoting_cert, cert, key)
        env = dict(self.env, PS_MAX_AGE_S="1", PS_MAX_AGE_GRACE_S="1")
        with harness.Server(database=self.server.database, env=env, make_channel=lambda a: self.pki.channel(
                a, None, server_name=SERVER_NAME)) as server:
            tenant = harness.new_tenant("rot")
            probe = Probe(self.probe, server.address, "--ca", self.pki.ca_cert, "--cert", cert, "--key", key,
                          "--server-name", SERVER_NAME, "--reload", "1", "--deadline", "5000")
            try:
                first = probe.ask("apps " + tenant)
                self.assertEqual(first[0], "PERMISSION_DENIED", first)
                install(self.web, cert, key)
                deadline = time.monotonic() + 20
                seen = []
                while time.monotonic() < deadline:
                    got = probe.ask("apps " + tenant)
                    seen.append(got[0])
                    if got[0] == "OK":
                        break
                    time.sleep(0.2)
                self.assertEqual(seen[-1], "OK", seen)
                self.assertTrue(set(seen) <= {"PERMISSION_DENIED", "UNAVAILABLE", "OK"}, seen)
            finally:
                rc, err = probe.close()
            self.assertEqual(rc, 0, err)

    # ------------------------------------------------------------ prospectctl

    def ctl(self, *args, env=None, stdin=None):
        return ctl(self.prospectctl, self.server, *args, env=env, stdin=stdin)

    def test_cli_mtls(self):
        tenant = harness.new_tenant("ctl")
        enable_apps(self.prospectctl, self.server, tenant, tls_args=self.tls_args())
        req = {"parent": "tenants/%s" % tenant, "prospect": {"kind": "PERSON", "firstName": "Cy"}}
        rc, made, err = self.ctl(*self.tls_args(), "create-prospect", json.dumps(req))
        self.assertEqual(rc, 0, err)
        # the same through the environment variables
        env = {"PROSPECTCTL_CA": self.pki.ca_cert, "PROSPECTCTL_CERT": self.web.cert,
               "PROSPECTCTL_KEY": self.web.key, "PROSPECTCTL_SERVER_NAME": SERVER_NAME}
        rc, got, err = self.ctl("get-prospect", json.dumps({"name": made["name"]}), env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(got, made)
        # a flag wins over its variable
        rc, _, err = self.ctl("--cert", self.quoting_cert.cert, "--key", self.quoting_cert.key,
                              "get-prospect", json.dumps({"name": made["name"]}), env=env)
        self.assertEqual(rc, 7, err)

    def test_cli_errors(self):
        get = json.dumps({"name": "tenants/t/apps"})
        cases = [  # (flags, exit status = the gRPC code, status name)
            (self.tls_args(self.quoting_cert), 7, "PERMISSION_DENIED"),
            (["--ca", self.pki.ca_cert, "--server-name", SERVER_NAME], 16, "UNAUTHENTICATED"),
            (self.tls_args(ca=self.foreign_pki.ca_cert), 14, "UNAVAILABLE"),
            (self.tls_args(server_name=None), 14, "UNAVAILABLE"),  # 127.0.0.1 is not in the cert
            ([], 14, "UNAVAILABLE"),  # no TLS option, a target on this host: plaintext
        ]
        for flags, code, status in cases:
            rc, _, err = self.ctl(*flags, "--attempts", "1", "get-tenant-apps", get)
            self.assertEqual(rc, code, "%s: %s" % (flags, err))
            self.assertEqual(json.loads(err)["error"]["status"], status, err)

    def test_cli_usage_errors(self):
        get = json.dumps({"name": "tenants/t/apps"})
        cases = [  # (flags, env, part of the message)
            (["--plaintext", "--ca", self.pki.ca_cert], {}, "choose one"),
            (["--plaintext"], {"PROSPECTCTL_CERT": self.web.cert, "PROSPECTCTL_KEY": self.web.key},
             "choose one"),
            (["--plaintext", "--tls"], {}, "exclude each other"),
            (["--cert", self.web.cert], {}, "--cert (PROSPECTCTL_CERT) without --key"),
            (["--ca", "/nonexistent/ca.pem"], {}, "tls_ca_file /nonexistent/ca.pem: No such file"),
            (["--ca", self.web.key], {}, "holds no PEM CERTIFICATE"),
            ([], {"PROSPECTCTL_PLAINTEXT": "maybe"}, "PROSPECTCTL_PLAINTEXT must be"),
        ]
        for flags, env, part in cases:
            rc, _, err = self.ctl(*flags, "get-tenant-apps", get, env=env)
            self.assertEqual(rc, 64, "%s %s: %s" % (flags, env, err))
            self.assertIn(part, err)
        # PROSPECTCTL_PLAINTEXT=0 / --tls: TLS to this host too (gRPC's roots do not know the CA)
        for flags, env in ((["--tls"], {}), ([], {"PROSPECTCTL_PLAINTEXT": "0"})):
            rc, _, err = self.ctl(*flags, "--attempts", "1", "get-tenant-apps", get, env=env)
            self.assertEqual(rc, 14, err)
            self.assertIn("certificate verify failed", err)

    # ------------------------------------------------------------ the quoting example

    def test_quoting_example_over_mtls(self):
        tenant = harness.new_tenant("exq")
        enable_apps(self.prospectctl, self.server, tenant, quote_requests=True, tls_args=self.tls_args())
        env = {"PROSPECTS_CA_FILE": self.pki.ca_cert, "PROSPECTS_CERT_FILE": self.web.cert,
               "PROSPECTS_KEY_FILE": self.web.key, "PROSPECTS_SERVER_NAME": SERVER_NAME}
        out = run([self.quoting, self.server.address, tenant, "q-" + tenant], env=env)
        if out.returncode == SKIP:
            self.skipTest("an RPC of the flow is not implemented yet")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


def install(cert, cert_path, key_path):
    """Put cert's key and certificate at the given paths, each by an atomic rename (as a
    certificate manager rotating them in place would)."""
    for src, dst in ((cert.key, key_path), (cert.cert, cert_path)):
        shutil.copyfile(src, dst + ".tmp")
        os.replace(dst + ".tmp", dst)


def tls(probe, prospectctl, quoting):
    Tls.probe, Tls.prospectctl, Tls.quoting = probe, prospectctl, quoting
    return run_case(Tls) or run_case(LoadBalancing)


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    mode = sys.argv[1]
    if mode == "library":
        return library(sys.argv[2])
    if mode == "cli":
        return cli(sys.argv[2])
    if mode in ("quoting", "invoicing"):
        return example(mode, sys.argv[2], sys.argv[3])
    if mode == "restart":
        return restart(sys.argv[2])
    if mode == "tls":
        return tls(sys.argv[2], sys.argv[3], sys.argv[4])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
