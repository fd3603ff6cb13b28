"""harness.Server against the real binary: starts on a free port, serves, stops cleanly."""

import signal
import socket
import unittest

import grpc

import harness


class ServerLifecycle(unittest.TestCase):
    def test_version_and_help(self):
        import re
        import subprocess
        out = subprocess.run([harness.SERVER_BIN, "--version"], capture_output=True, text=True,
                             timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^prospect-server \d+\.\d+\.\d+ \(git ([0-9a-f]{7,}(-dirty)?|unknown)\)\n$")
        out = subprocess.run([harness.SERVER_BIN, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        for setting in ("PS_TLS_CERT_FILE", "PS_AUTHZ_POLICY_FILE", "PS_MAX_STREAMS", "_FILE=path"):
            self.assertIn(setting, out.stdout)
        self.assertTrue(re.search(r"--version", out.stdout))

    def test_serves_and_stops_on_sigterm(self):
        with harness.Server() as server:
            self.assertEqual(harness.health(server.channel), 1)  # SERVING
            self.assertEqual(server.stop(signal.SIGTERM), 0, server.log())
            self.assertFalse(server.running())
            with self.assertRaises(grpc.RpcError):
                harness.health(server.channel, timeout=1)

    def test_two_servers_side_by_side(self):
        db = harness.fresh_database()
        with harness.Server(database=db) as a, harness.Server(database=db) as b:
            self.assertNotEqual(a.port, b.port)
            self.assertEqual(harness.health(a.channel), 1)
            self.assertEqual(harness.health(b.channel), 1)

    def test_a_part_that_cannot_start_after_serving_stops_the_server(self):
        # The metrics endpoint starts after SERVING, before the background threads. With its port
        # taken the server says why and exits 1, having stopped what it had started.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            server = harness.Server(env={"PS_METRICS_LISTEN": "127.0.0.1:%d" % busy.getsockname()[1]},
                                    wait=False)
            try:
                rc = server.proc.wait(timeout=30)
                log = server.log()
            finally:
                server.close()
        self.assertEqual(rc, 1, log)
        self.assertIn("cannot serve", log)


if __name__ == "__main__":
    harness.main()
