"""The benchmarks' load generator (bench/closedloop.c, built as client/closedloop) against the real
server: its figures are only worth something if it counts what the server answered. A record that
exists is ok on every call; a name that does not exist fails every call, with the server's own
status (NOT_FOUND, 5) reported; a mix is counted call by call; a call takes one write; MAX_CALLS
ends a run after that many calls; paced, it keeps to its rate and reports its own start lag; a
server that goes away counts the calls it dropped as failed instead of hanging. With --health its
calls are health checks that the server answers SERVING (counted ok), and the server's access lines
show them as such; a server that is not serving fails them.

And the floor of a call's path (bench/relay.c, built as client/relay): every message it sends comes
back and is counted once, at its rate; the CPU it is asked to burn per message is burnt in the
process it names and shows in the latency; bad arguments are refused."""

import os
import re
import signal
import subprocess
import tempfile
import unittest

import harness
import ps_testlib as lib

CLOSEDLOOP = os.path.join(harness.BUILD_DIR, "client", "closedloop")
RELAY = os.path.join(harness.BUILD_DIR, "client", "relay")


def figures(out):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", out)}


@unittest.skipUnless(os.path.exists(CLOSEDLOOP), "closedloop not built (libnghttp2-dev missing)")
class LoadGenerator(lib.RpcAssertions, harness.unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server()
        try:
            ch = cls.server.channel
            t = lib.new_enabled_tenant(ch, "lg")
            cls.names = [lib.create(ch, t, lib.company(company_name="Load %d" % i)).name
                         for i in range(3)]
            cls.missing = cls.names[0][:-12] + "000000000000"
        except BaseException:
            cls.server.close()
            raise
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.tmp.cleanup()

    def run_gen(self, names, *args, server=None, timeout=60, flags=()):
        path = os.path.join(self.tmp.name, "names.txt")
        with open(path, "w") as f:
            f.write("\n".join(names) + "\n")
        server = server or self.server
        p = subprocess.run([CLOSEDLOOP] + list(flags) + ["127.0.0.1:%d" % server.port, path] +
                           [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
        self.assertEqual(p.returncode, 0, p.stderr)
        return figures(p.stdout), p.stderr

    def test_existing_records_are_ok(self):
        f, err = self.run_gen(self.names, 8, 2, 1)
        self.assertGreater(f["calls"], 50)
        self.assertEqual(f["ok"], f["calls"], err)
        self.assertEqual(f["failed"], 0, err)
        self.assertGreater(f["cpu_us_per_call"], 0)
        self.assertLessEqual(f["p50_us"], f["p99_us"])

    def test_a_missing_record_fails_every_call_with_the_servers_status(self):
        f, err = self.run_gen([self.missing], 4, 1, 0.5)
        self.assertGreater(f["calls"], 10)
        self.assertEqual(f["ok"], 0)
        self.assertEqual(f["failed"], f["calls"])
        self.assertIn("grpc-status 5", err)
        self.assertIn("does not exist", err)

    def test_a_mix_is_counted_call_by_call(self):
        f, err = self.run_gen([self.names[0], self.missing], 4, 2, 30, 0, 400)
        self.assertEqual(f["calls"], 400)
        self.assertEqual(f["ok"] + f["failed"], 400)
        # each call draws one of the two names: both outcomes, roughly half each
        self.assertGreater(f["ok"], 100, err)
        self.assertGreater(f["failed"], 100, err)

    def test_a_call_costs_at_most_one_write(self):
        # a call's HEADERS and DATA frames go out in one write (a write per frame cost two); the
        # rest is a few control frames (SETTINGS acknowledged, WINDOW_UPDATE now and then)
        f, err = self.run_gen(self.names, 1, 1, 1)
        self.assertGreater(f["calls"], 50)
        self.assertEqual(f["failed"], 0, err)
        self.assertGreater(f["writes"], 0)
        self.assertLessEqual(f["writes"], f["calls"] * 1.1 + 5)

    def test_max_calls_ends_the_run(self):
        f, err = self.run_gen(self.names, 8, 2, 30, 0, 1000)
        self.assertEqual(f["calls"], 1000)
        self.assertEqual(f["ok"], 1000, err)
        self.assertLess(f["seconds"], 30)

    def test_paced_keeps_its_rate_and_reports_its_start_lag(self):
        f, err = self.run_gen(self.names, 4, 2, 2, 200)
        self.assertEqual(f["failed"], 0, err)
        # 200 calls/s for 2 s: the slots' first calls are spread over one period
        self.assertGreaterEqual(f["calls"], 360)
        self.assertLessEqual(f["calls"], 420)
        self.assertIn("start_lag_p50_us", f)
        self.assertIn("start_lag_p99_us", f)
        self.assertIn("slot_waits", f)

    def test_health_calls_are_health_checks_answered_serving(self):
        before = self.server.log().count("method=/grpc.health.v1.Health/Check ")
        gets = self.server.log().count("method=/prospects.v1.ProspectService/GetProspect ")
        f, err = self.run_gen([self.missing], 4, 2, 30, 0, 300, flags=["--health"])
        self.assertEqual(f["calls"], 300)
        # a missing name would fail a GetProspect: every call ok means none was one
        self.assertEqual(f["ok"], 300, err)
        self.assertEqual(f["failed"], 0, err)
        lib.wait_for(lambda: self.server.log().count("method=/grpc.health.v1.Health/Check ")
                     >= before + 300, 10, what="the health checks' access lines")
        self.assertEqual(self.server.log().count("method=/prospects.v1.ProspectService/GetProspect "),
                         gets)

    def test_health_calls_fail_when_the_server_is_not_serving(self):
        # draining after SIGTERM, a server still answers but says NOT_SERVING
        server = harness.Server(database=self.server.database, env={"PS_DRAIN_DELAY_MS": 4000})
        try:
            server.proc.send_signal(signal.SIGTERM)
            lib.wait_for(lambda: lib.health_or_none(server.channel) == lib.NOT_SERVING, 5, 0.02,
                         "health to say NOT_SERVING")
            f, err = self.run_gen([self.missing], 2, 1, 10, 0, 20, server=server, flags=["--health"])
        finally:
            server.close()
        self.assertEqual(f["calls"], 20)
        self.assertEqual(f["ok"], 0, err)
        self.assertEqual(f["failed"], 20, err)
        self.assertIn("grpc-status 0", err)  # answered, but not SERVING

    def test_a_server_that_goes_away_fails_the_calls_in_flight(self):
        server = harness.Server(database=self.server.database)
        try:
            path = os.path.join(self.tmp.name, "names2.txt")
            with open(path, "w") as f:
                f.write(self.names[0] + "\n")
            p = subprocess.Popen([CLOSEDLOOP, "127.0.0.1:%d" % server.port, path, "8", "2", "20"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lib.wait_for(lambda: "GetProspect" in server.log(), 10, what="calls reaching the server")
            server.stop(signal.SIGKILL)
            out, err = p.communicate(timeout=30)
        finally:
            server.close()
        self.assertEqual(p.returncode, 0, err)
        f = figures(out)
        self.assertGreater(f["ok"], 0, err)
        self.assertGreater(f["failed"], 0, err)
        self.assertLess(f["seconds"], 15)
        self.assertIn("connection lost", err)


class Relay(harness.unittest.TestCase):

    def run_relay(self, *args):
        p = subprocess.run([RELAY] + [str(a) for a in args], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return figures(p.stdout)

    def test_every_message_comes_back_once_at_its_rate(self):
        f = self.run_relay(2000, 1)
        self.assertEqual(f["calls"], 2000)
        self.assertEqual(f["answered"], 2000)
        self.assertGreaterEqual(f["seconds"], 0.99)
        self.assertLess(f["seconds"], 3)
        self.assertLessEqual(f["p50_us"], f["p99_us"])
        self.assertLessEqual(f["p99_us"], f["max_us"])
        self.assertLessEqual(f["sent_p50_us"], f["p50_us"])
        for k in ("relay_cpu_us", "echo_cpu_us", "client_cpu_us"):
            self.assertGreater(f[k], 0, k)

    def test_the_burnt_cpu_is_spent_where_asked_and_shows_in_the_latency(self):
        bare = self.run_relay(200, 1)
        f = self.run_relay(200, 1, 2000, 1000)  # 2 ms in the relay, 1 ms in the echo per message
        self.assertEqual(f["answered"], 200)
        self.assertGreaterEqual(f["sent_p50_us"], 3000)  # both burns lie on each message's path
        self.assertGreater(f["relay_cpu_us"], bare["relay_cpu_us"] + 1000)
        self.assertGreater(f["echo_cpu_us"], bare["echo_cpu_us"] + 500)
        self.assertGreater(f["relay_cpu_us"], f["echo_cpu_us"])

    def test_bad_arguments_are_refused(self):
        for args in ([], ["1000"], ["0", "1"], ["1000", "0"], ["1000000", "3600"],
                     ["1000", "1", "-1"]):
            p = subprocess.run([RELAY] + args, capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("usage: relay", p.stderr)


if __name__ == "__main__":
    harness.main()
