"""What running on Kubernetes needs of the server (issue 11):

- after SIGTERM, calls are still taken for PS_DRAIN_DELAY_MS while health already says NOT_SERVING
  (endpoint removal takes a while to reach the clients), then it drains as before; no call that
  was accepted is lost;
- kubelet's gRPC probes speak plaintext without a certificate: PS_HEALTH_LISTEN serves
  grpc.health.v1 alone, in plaintext, beside the TLS port;
- PS_MAX_AGE_S asks old connections to go away (GOAWAY), so HTTP/2 channels spread over new
  replicas after a scale-out."""

import signal
import threading
import time
import unittest

import grpc

import harness
import h2raw
import pki as pkilib
import ps_testlib as lib

Code = grpc.StatusCode


class DrainDelay(unittest.TestCase, lib.RpcAssertions):
    def test_calls_succeed_during_the_delay_and_none_is_lost(self):
        env = {"PS_DRAIN_DELAY_MS": "2000", "PS_GRACE_MS": "5000"}
        with harness.Server(env=env) as server:
            ch = server.channel
            tenant = lib.new_enabled_tenant(ch)
            acked, results, stop = [], [], threading.Event()

            def writer(w):
                wch = harness.channel(server.address)
                try:
                    for i in range(100000):
                        if stop.is_set():
                            return
                        rid = "dd-%d-%d" % (w, i)
                        t0 = time.monotonic()
                        try:
                            p = lib.create(wch, tenant, lib.person(first_name="W%d" % w),
                                           request_id=rid, timeout=5)
                            acked.append((rid, p.name))
                            results.append((t0, "OK"))
                        except grpc.RpcError as e:
                            results.append((t0, e.code().name))
                            if e.code() == Code.UNAVAILABLE:
                                return
                finally:
                    wch.close()
            threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            t_term = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            # during the delay: NOT_SERVING, yet calls succeed
            lib.wait_for(lambda: lib.health_or_none(ch) == lib.NOT_SERVING, 1.0, 0.02,
                         "health to say NOT_SERVING")
            time.sleep(0.5)
            self.assertEqual(lib.health(ch), lib.NOT_SERVING)
            got = lib.get(ch, acked[0][1])
            self.assertEqual(got.name, acked[0][1])
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join(30)
            rc = server.stop(timeout=30)
            self.assertEqual(rc, 0, server.log()[-2000:])
            during = [r for t0, r in results if t_term + 0.2 < t0 < t_term + 1.8]
            self.assertGreater(len(during), 10, "calls made during the delay: %d" % len(during))
            self.assertEqual(set(during), {"OK"}, "every call during the delay succeeds")
            # every acknowledged create is in the database, exactly once
            rows = server.mariadb.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s'" % tenant,
                                      server.database)
            self.assertEqual(int(rows[0][0]), len(acked))
            self.assertEqual(len({name for _, name in acked}), len(acked))
            log = server.log()
            self.assertIn("still taking calls for 2000 ms", log)
            self.assertLess(log.index("still taking calls"), log.index("draining (grace"))


class HealthPort(unittest.TestCase, lib.RpcAssertions):
    def test_plaintext_health_beside_tls(self):
        pki = pkilib.Pki()
        cert = pki.issue("server", dns=["localhost"], ip=["127.0.0.1"])
        policy = pki.dir + "/policy.json"
        with open(policy, "w") as f:  # nobody may call anything: health must not depend on it
            f.write('{"name": "none", "allow_rules": []}')
        health_port = harness.free_port()
        env = dict(pki.server_env(cert, policy), PS_HEALTH_LISTEN="127.0.0.1:%d" % health_port,
                   PS_DRAIN_DELAY_MS="1500")
        with harness.Server(env=env, make_channel=lambda a: pki.channel(a), wait=False) as server:
            plain = harness.channel("127.0.0.1:%d" % health_port)
            try:
                lib.wait_for(lambda: lib.health_or_none(plain) == lib.SERVING, 15, 0.05,
                             "the health port to say SERVING")
                watch = lib.watch(plain)
                self.assertEqual(next(watch).status, lib.SERVING)
                # the TLS port is as strict as the policy says
                self.assertRpcError(lambda: lib.health(server.channel), Code.UNAUTHENTICATED)
                # the health port serves health and nothing else
                self.assertRpcError(lambda: lib.get(plain, "tenants/t/prospects/x"), Code.UNIMPLEMENTED)
                self.assertRpcError(lambda: lib.raw_call(plain, "/grpc.reflection.v1.ServerReflection/"
                                                        "ServerReflectionInfo", b""), Code.UNIMPLEMENTED)
                server.proc.send_signal(signal.SIGTERM)
                self.assertEqual(next(watch).status, lib.NOT_SERVING)
                self.assertEqual(lib.health(plain), lib.NOT_SERVING)
                # liveness stays SERVING while it drains: kubelet must not kill it for draining
                self.assertEqual(lib.health(plain, service="liveness"), lib.SERVING)
                watch.cancel()
            finally:
                plain.close()
            self.assertEqual(server.stop(), 0)
            self.assertIn("serving grpc.health.v1 alone, in plaintext, on 127.0.0.1:%d" % health_port,
                          server.log())


class ConnectionAge(unittest.TestCase):
    def test_old_connections_are_asked_to_go_away(self):
        with harness.Server(env={"PS_MAX_AGE_S": "1", "PS_MAX_AGE_GRACE_S": "1"}) as server:
            raw = h2raw.RawH2(server.address)
            raw.pump_in_background()
            try:
                lib.wait_for(lambda: raw.events, 10, 0.05, "a GOAWAY after the connection's age")
            finally:
                raw.close()
            # a channel reconnects by itself: calls keep working across the GOAWAYs
            for _ in range(3):
                self.assertEqual(lib.health(server.channel, timeout=5), lib.SERVING)
                time.sleep(1.2)


if __name__ == "__main__":
    harness.main()
