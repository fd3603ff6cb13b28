"""The server under failure: MariaDB stopped and killed while it serves, SIGTERM during load (nothing
acknowledged is lost), a full queue, a schema that is behind, and a port that is taken."""

import glob
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode


class HealthWatcher:
    """Collects the statuses a grpc.health.v1 Watch stream delivers, in a thread."""

    def __init__(self, channel):
        self.statuses = []
        self.ended = None
        self.stream = lib.watch(channel)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for msg in self.stream:
                self.statuses.append(msg.status)
            self.ended = "end"
        except grpc.RpcError as e:
            self.ended = e.code()

    def wait_for(self, status, timeout):
        lib.wait_for(lambda: status in self.statuses, timeout, what="Watch to deliver %d" % status)

    def close(self):
        self.stream.cancel()
        self.thread.join(5)


def migration_versions():
    return {os.path.basename(f).split("_")[0] for f in glob.glob(os.path.join(harness.MIGRATIONS_DIR, "*.sql"))}


class DatabaseOutage(unittest.TestCase, lib.RpcAssertions):
    WORKERS = 4

    def expect_unavailable(self, server, tenant, p, tag):
        """A round of calls while the database is down: each UNAVAILABLE, quickly."""
        for i in range(3 * self.WORKERS):
            calls = [lambda: lib.get(server.channel, p.name, timeout=15),
                     lambda: lib.create(server.channel, tenant, lib.person(), request_id="%s-%d" % (tag, i),
                                        timeout=15)]
            start = time.monotonic()
            self.assertRpcError(calls[i % 2], Code.UNAVAILABLE, msg="%s call %d" % (tag, i))
            self.assertLess(time.monotonic() - start, 6, "a call hung while the database was down")
        self.assertTrue(server.running(), "the server must survive a database outage")

    def expect_recovery(self, server, tenant, p, tag):
        """Once the database is back: at most one UNAVAILABLE per worker (its stale connection), then
        every call succeeds, without restarting the server. Which worker takes a call is the
        server's choice, so a worker the round missed may spend its one failure on the final reads:
        they count against the same allowance."""
        lib.wait_for(lambda: lib.health_or_none(server.channel) == lib.SERVING, 20,
                     what="health SERVING again")
        failures = []

        def counted(fn):
            """fn's result; an UNAVAILABLE is counted and the call made again (at most WORKERS + 1)."""
            for _ in range(self.WORKERS + 1):
                try:
                    return fn()
                except grpc.RpcError as e:
                    failures.append(e)
                    if e.code() != Code.UNAVAILABLE:
                        raise
            self.fail("a call failed %d times after the database was back" % (self.WORKERS + 1))

        last = None
        for i in range(3 * self.WORKERS):
            try:
                if i % 2:
                    last = lib.create(server.channel, tenant, lib.person(), request_id="%s-ok-%d" % (tag, i))
                else:
                    self.assertEqual(lib.get(server.channel, p.name), p)
            except grpc.RpcError as e:
                failures.append(e)
        self.assertEqual(counted(lambda: lib.get(server.channel, p.name)), p)
        self.assertIsNotNone(last)
        self.assertEqual(counted(lambda: lib.get(server.channel, last.name)), last)
        for e in failures:
            self.assertEqual(e.code(), Code.UNAVAILABLE, e.details())
        self.assertLessEqual(len(failures), self.WORKERS,
                             "calls still fail after the database is back: %r"
                             % [(e.code(), e.details()) for e in failures])

    def test_mariadb_stopped_then_killed_while_serving(self):
        with harness.private_mariadb() as mdb:
            database = harness.fresh_database(mdb)
            with harness.Server(database=database, mariadb=mdb,
                                env={"PS_WORKERS": self.WORKERS, "PS_MYSQL_TIMEOUT_S": 2}) as server:
                tenant = lib.new_enabled_tenant(server.channel)
                p = lib.create(server.channel, tenant, lib.person(), request_id="before")
                watcher = HealthWatcher(server.channel)
                try:
                    watcher.wait_for(lib.SERVING, 5)

                    self.assertEqual(mdb.stop(), 0)  # clean shutdown of MariaDB
                    self.expect_unavailable(server, tenant, p, "stopped")
                    lib.wait_for(lambda: lib.health_or_none(server.channel) == lib.NOT_SERVING, 5,
                                 what="health NOT_SERVING while MariaDB is down")
                    watcher.wait_for(lib.NOT_SERVING, 5)
                    mdb.start()
                    self.expect_recovery(server, tenant, p, "stopped")
                    lib.wait_for(lambda: watcher.statuses[-1:] == [lib.SERVING], 5,
                                 what="Watch to deliver SERVING again")
                    self.assertEqual(watcher.statuses[:3], [lib.SERVING, lib.NOT_SERVING, lib.SERVING],
                                     "Watch sends each change once")

                    mdb.kill()  # a crash, as the server sees it
                    self.expect_unavailable(server, tenant, p, "killed")
                    lib.wait_for(lambda: lib.health_or_none(server.channel) == lib.NOT_SERVING, 5,
                                 what="health NOT_SERVING after MariaDB was killed")
                    mdb.start()
                    self.expect_recovery(server, tenant, p, "killed")
                finally:
                    watcher.close()
                self.assertTrue(server.running())
                self.assertEqual(server.stop(), 0, server.log())
                # the creates refused during the outages wrote nothing; every stored row has its key
                keys = {r[0] for r in mdb.sql("SELECT request_id FROM idempotency_keys WHERE tenant_id = '%s'"
                                              % tenant, database)}
                refused = {"%s-%d" % (tag, i) for tag in ("stopped", "killed")
                           for i in range(3 * self.WORKERS) if i % 2}
                self.assertEqual(keys & refused, set())
                self.assertIn("before", keys)
                self.assertEqual(lib.count_rows(mdb, database, "prospects", tenant), len(keys))


class ShutdownUnderLoad(unittest.TestCase, lib.RpcAssertions):
    GRACE_MS = 3000
    THREADS = 6

    def test_sigterm_during_load_loses_nothing_acknowledged(self):
        server = harness.Server(env={"PS_GRACE_MS": self.GRACE_MS})
        try:
            tenant = lib.new_enabled_tenant(server.channel)
            ok, errors, attempted = {}, [], []
            lock = threading.Lock()
            stop = threading.Event()

            def client(k):
                ch = harness.channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)])
                i = 0
                try:
                    while not stop.is_set():
                        rid = "load-%d-%d" % (k, i)
                        i += 1
                        with lock:
                            attempted.append(rid)
                        try:
                            p = lib.create(ch, tenant, lib.person(first_name="L%d" % k, notes=rid),
                                           request_id=rid, timeout=10)
                            with lock:
                                ok[rid] = p
                        except grpc.RpcError as e:
                            with lock:
                                errors.append((rid, e.code(), e.details()))
                            time.sleep(0.02)
                finally:
                    ch.close()

            threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(self.THREADS)]
            for t in threads:
                t.start()
            lib.wait_for(lambda: len(ok) >= 100, 30, what="100 acknowledged creates")
            t0 = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            try:
                rc = server.proc.wait(self.GRACE_MS / 1000 + 10)
            except Exception:
                rc = None
            took = time.monotonic() - t0
            time.sleep(0.3)  # calls after the exit fail too
            stop.set()
            for t in threads:
                t.join(15)
            self.assertEqual(rc, 0, "exit code after SIGTERM; log:\n" + server.log()[-3000:])
            self.assertLess(took, self.GRACE_MS / 1000 + 2, "shutdown took longer than the grace period")
            bad = [e for e in errors if e[1] not in (Code.UNAVAILABLE, Code.CANCELLED)]
            self.assertEqual(bad, [], "calls failed with codes other than UNAVAILABLE/CANCELLED")
            self.assertTrue(errors, "no call was refused: SIGTERM did not land mid-stream")

            stored = lib.prospect_ids_in_db(server.mariadb, server.database, tenant)
            acked = {lib.prospect_id(p.name) for p in ok.values()}
            self.assertEqual(acked - stored, set(), "acknowledged creates missing from the database")
            self.assertEqual(len(stored), len(ok) + len(stored - acked))

            # every refused call can be retried with its request id; acknowledged ones return the same record
            server2 = harness.Server(database=server.database, mariadb=server.mariadb)
            try:
                for rid, _, _ in errors:
                    lib.create(server2.channel, tenant, lib.person(first_name="L%s" % rid.split("-")[1], notes=rid),
                               request_id=rid)
                for rid, p in list(ok.items())[::10]:
                    again = lib.create(server2.channel, tenant, lib.person(first_name="L%s" % rid.split("-")[1],
                                                                            notes=rid), request_id=rid)
                    self.assertEqual(again.name, p.name)
            finally:
                server2.close()
            self.assertEqual(lib.count_rows(server.mariadb, server.database, "prospects", tenant),
                             len(set(attempted)), "each request id made exactly one record")
        finally:
            server.close()

    def test_sigterm_turns_health_not_serving(self):
        server = harness.Server(env={"PS_GRACE_MS": 1500})
        try:
            watcher = HealthWatcher(server.channel)
            watcher.wait_for(lib.SERVING, 5)
            t0 = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            watcher.wait_for(lib.NOT_SERVING, 5)
            self.assertEqual(server.proc.wait(10), 0, server.log())
            self.assertLess(time.monotonic() - t0, 1.5 + 2)
            watcher.thread.join(5)
            self.assertIsNotNone(watcher.ended, "the Watch stream ends when the server stops")
        finally:
            server.close()


class Overload(unittest.TestCase, lib.RpcAssertions):
    def test_full_queue_sheds_at_once(self):
        with harness.Server(env={"PS_WORKERS": 1, "PS_QUEUE": 1}) as server:
            tenant = lib.new_enabled_tenant(server.channel)
            p = lib.create(server.channel, tenant, lib.person(), request_id="ov-1")
            fn = server.channel.unary_unary(lib.method("GetProspect"),
                                            request_serializer=lambda m: m.SerializeToString(),
                                            response_deserializer=resources_pb2.Prospect.FromString)
            req = service_pb2.GetProspectRequest(name=p.name)
            shed, ok, other, slow_shed = [], 0, [], []
            for _ in range(10):
                start = time.monotonic()
                futures = [fn.future(req, timeout=15) for _ in range(200)]
                for f in futures:
                    try:
                        self.assertEqual(f.result(), p)
                        ok += 1
                    except grpc.RpcError as e:
                        if e.code() == Code.RESOURCE_EXHAUSTED:
                            shed.append(e)
                        else:
                            other.append((e.code(), e.details()))
                if time.monotonic() - start > 10:
                    slow_shed.append(time.monotonic() - start)
                if shed:
                    break
            self.assertEqual(other, [], "only RESOURCE_EXHAUSTED may fail a burst")
            self.assertTrue(shed, "no call was shed with 1 worker and a queue of 1 (%d OK)" % ok)
            self.assertGreater(ok, 0)
            self.assertEqual(slow_shed, [])
            info = harness.error_info(shed[0])
            self.assertIsNotNone(info)
            self.assertEqual(info.domain, lib.DOMAIN)
            self.assertTrue(info.reason)
            # the server recovers at once
            self.assertEqual(lib.health(server.channel), lib.SERVING)
            self.assertEqual(lib.get(server.channel, p.name), p)


class StartUp(unittest.TestCase):
    def wait_exit(self, server, timeout=20):
        try:
            return server.proc.wait(timeout)
        except Exception:
            self.fail("the server did not exit; log:\n" + server.log())

    def test_schema_never_migrated_is_refused(self):
        database = harness.fresh_database(migrate=False)
        server = harness.Server(database=database, wait=False)
        try:
            rc = self.wait_exit(server)
            log = server.log()
            self.assertNotEqual(rc, 0, log)
            self.assertTrue(any(v in log for v in migration_versions()),
                            "the message names the schema version it needs:\n" + log)
        finally:
            server.close()

    def test_schema_behind_is_refused_and_serves_once_migrated(self):
        mdb = harness.shared_mariadb()
        database = harness.fresh_database(migrate=False)
        old = tempfile.mkdtemp(prefix="ps-old-migrations-")
        try:
            with open(os.path.join(old, "20000101000000_old.sql"), "w") as f:
                f.write("-- migrate:up\nCREATE TABLE old_table (id INT PRIMARY KEY);\n"
                        "-- migrate:down\nDROP TABLE old_table;\n")
            harness.dbmate(mdb, database, "up", migrations_dir=old)
        finally:
            shutil.rmtree(old, ignore_errors=True)
        self.assertEqual(mdb.sql("SELECT version FROM schema_migrations", database), [["20000101000000"]])
        server = harness.Server(database=database, wait=False)
        try:
            rc = self.wait_exit(server)
            log = server.log()
            self.assertNotEqual(rc, 0, log)
            self.assertTrue(any(v in log for v in migration_versions()),
                            "the message names the schema version it needs:\n" + log)
        finally:
            server.close()
        harness.dbmate(mdb, database, "up")
        with harness.Server(database=database) as server:
            self.assertEqual(lib.health(server.channel), lib.SERVING)

    def test_second_server_on_the_same_port_fails(self):
        with harness.Server() as first:
            second = harness.Server(database=first.database, port=first.port, wait=False)
            try:
                rc = self.wait_exit(second)
                log = second.log()
                self.assertNotEqual(rc, 0, log)
                self.assertIn(str(first.port), log, "the message names the address it could not bind")
            finally:
                second.close()
            # the first one keeps every connection
            for _ in range(5):
                ch = harness.channel(first.address, options=[("grpc.use_local_subchannel_pool", 1)])
                try:
                    self.assertEqual(lib.health(ch), lib.SERVING)
                finally:
                    ch.close()
            self.assertTrue(first.running())


if __name__ == "__main__":
    harness.main()
