"""Client programs against the real server (started with tests/lib/harness.py on a fresh database).

    run_live.py library TEST_CLIENT           the C library tests, with PS_TEST_TARGET set
    run_live.py cli PROSPECTCTL               prospectctl: JSON in/out, exit codes, --help
    run_live.py quoting EXAMPLE PROSPECTCTL   the quoting example (exit 77 = skipped: an RPC is missing)
    run_live.py invoicing EXAMPLE PROSPECTCTL the invoicing example, on a merged-away record
    run_live.py restart WRITER                restart the server in the middle of a stream of creates
                                              and check that nothing was created twice

Registered from client/CMakeLists.txt (tests client_*). Exit status 0 = passed, 77 = skipped.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

import harness

SKIP = 77


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def ctl(prospectctl, server, *args, stdin=None):
    """prospectctl against server -> (exit code, parsed stdout or None, stderr)."""
    out = run([prospectctl, "--target", server.address] + list(args), input=stdin)
    try:
        body = json.loads(out.stdout) if out.stdout.strip() else None
    except ValueError:
        body = None
    return out.returncode, body, out.stderr


def enable_apps(prospectctl, server, tenant, quote_requests=False):
    mask = "prospectsEnabled,quoteRequestsEnabled" if quote_requests else "prospectsEnabled"
    req = {"apps": {"name": "tenants/%s/apps" % tenant, "prospectsEnabled": True,
                    "quoteRequestsEnabled": quote_requests}, "updateMask": mask}
    rc, body, err = ctl(prospectctl, server, "update-tenant-apps", json.dumps(req))
    if rc != 0:
        raise RuntimeError("could not switch the apps on: %s" % err)


def create_person(prospectctl, server, tenant, first):
    req = {"parent": "tenants/%s" % tenant, "prospect": {"kind": "PERSON", "firstName": first}}
    rc, body, err = ctl(prospectctl, server, "create-prospect", json.dumps(req))
    if rc != 0:
        raise RuntimeError("CreateProspect failed: %s" % err)
    return body["name"]


# ---------------------------------------------------------------- library

def library(test_client):
    with harness.Server() as server:
        out = run([test_client], env=dict(os.environ, PS_TEST_TARGET=server.address), timeout=240)
        sys.stdout.write(out.stdout)
        sys.stderr.write(out.stderr)
        return 0 if out.returncode == 0 else 1


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
        self.assertEqual(len(commands), 23, out.stdout)
        for command in commands:
            out = run([self.prospectctl, command, "--help"])
            self.assertEqual(out.returncode, 0, command)
            self.assertIn("Request fields", out.stdout)
            self.assertIn("usage: prospectctl [OPTIONS] %s" % command, out.stdout)

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


def cli(prospectctl):
    Cli.prospectctl = prospectctl
    with harness.Server() as server:
        Cli.server = server
        result = unittest.main(argv=[sys.argv[0]], exit=False, verbosity=2).result
        return 0 if result.wasSuccessful() else 1


# ---------------------------------------------------------------- examples

def example(kind, binary, prospectctl):
    with harness.Server() as server:
        tenant = harness.new_tenant("ex")
        enable_apps(prospectctl, server, tenant, quote_requests=True)
        if kind == "quoting":
            quote = "q-" + tenant
            out = run([binary, server.address, tenant, quote])
            sys.stdout.write(out.stdout + out.stderr)
            if out.returncode == 0:
                # the flow again: every step is idempotent, nothing new is made
                again = run([binary, server.address, tenant, quote])
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
            out = run([binary, server.address, target, "inv-" + tenant])
            sys.stdout.write(out.stdout + out.stderr)
            return out.returncode if out.returncode != 0 else SKIP
        if rc != 0:
            print("MergeProspects failed: " + err)
            return 1
        out = run([binary, server.address, source, "inv-" + tenant])
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
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
