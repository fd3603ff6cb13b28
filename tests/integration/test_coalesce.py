"""Coalesced reads against the real server and MariaDB: GetProspect and ResolveProspect calls that
wait for a worker at the same moment are read with one statement, and each still gets the answer it
would get alone (a record, NOT_FOUND, PROSPECT_MERGED with its chain, another tenant's id, an app
that is off, a malformed name, the same record twice). A batch whose database connection dies gives
UNAVAILABLE to its own calls only; the server then serves again. Without Redis, the app gates of a
batch's tenants are read from MySQL with one statement too (AppsFallback).

To make calls wait together, the server runs one worker, and the test holds that worker on a read
that MariaDB keeps waiting (LOCK TABLES prospects WRITE in a session of its own) while it queues the
calls; the /metrics queue depth says when they are all queued, and the coalescing counters say that
they were read as one batch."""

import re
import subprocess
import time
import urllib.request

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2 as R, service_pb2 as S

GET = (lib.method("GetProspect"), S.GetProspectRequest, R.Prospect)
RESOLVE = (lib.method("ResolveProspect"), S.ResolveProspectRequest, S.ResolveProspectResponse)
APPS = (lib.method("GetTenantApps"), S.GetTenantAppsRequest, R.TenantApps)


def metrics_port(server, timeout=10):
    pat = re.compile(r"serving Prometheus metrics on http://\S+/metrics \(port (\d+)\)")
    lib.wait_for(lambda: pat.search(server.log()), timeout, what="the metrics serving line")
    return int(pat.search(server.log()).group(1))


class TableLock:
    """LOCK TABLES table WRITE in a mariadb client session of its own, until release()."""

    def __init__(self, mariadb, database, table="prospects"):
        self.mariadb, self.database = mariadb, database
        self.proc = subprocess.Popen(
            ["mariadb", "--no-defaults", "-h", mariadb.host, "-P", str(mariadb.port), "-u",
             mariadb.migrate_user, "-p" + mariadb.migrate_password, "-N", "-B", "-n", database],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.proc.stdin.write("LOCK TABLES %s WRITE;\n" % table)
        self.proc.stdin.flush()
        lib.wait_for(lambda: mariadb.sql("SHOW OPEN TABLES FROM `%s` WHERE `Table` = '%s' "
                                         "AND In_use > 0" % (database, table)) != [], 10, 0.01,
                     "the lock on " + table)

    def release(self):
        if self.proc.returncode is None:
            _, self.err = self.proc.communicate(input="UNLOCK TABLES;\n", timeout=30)
        return self.proc.returncode, self.err


class Base(lib.RpcAssertions, harness.unittest.TestCase):
    ENV = {}

    @classmethod
    def setUpClass(cls):
        env = {"PS_WORKERS": "1", "PS_METRICS_LISTEN": "127.0.0.1:0", "PS_MYSQL_TIMEOUT_S": "60"}
        env.update(cls.ENV)
        cls.server = harness.Server(env=env)
        try:
            cls._data()
        except BaseException:
            cls.server.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    # ---------------------------------------------------------------- helpers

    def stub(self, method):
        path, _, resp = method
        return self.server.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                               response_deserializer=resp.FromString)

    def request(self, method, name):
        return method[1](name=name)

    def outcome(self, fn):
        """The response, or (code, details, ErrorInfo reason and metadata) of a failed call."""
        try:
            return fn()
        except grpc.RpcError as e:
            info = harness.error_info(e)
            return (e.code(), e.details(), info.reason if info else None,
                    tuple(sorted(info.metadata.items())) if info else ())

    def metric(self, name):
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(self.url, timeout=10) as r:
            text = r.read().decode()
        m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
        self.assertIsNotNone(m, name)
        return float(m.group(1))

    def wait_queued(self, n):
        lib.wait_for(lambda: self.metric("prospect_queue_depth") == n, 20, 0.02,
                     "%d calls queued" % n)

    def waiting_connections(self):
        """Ids of the server's connections that wait for the table lock."""
        rows = self.server.mariadb.sql(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '%s' AND USER = '%s' AND "
            "STATE LIKE 'Waiting for table metadata lock%%'" % (self.server.database,
                                                               self.server.mariadb.user))
        return [r[0] for r in rows]

    def answers_alone(self):
        return [self.outcome(lambda m=m, n=n: self.stub(m)(self.request(m, n), timeout=10))
                for m, n in self.requests]

    def answers_together(self, alone, before_release=lambda: None):
        """Queues self.requests behind a held worker, runs before_release() once they are all
        queued, lets them go as one batch and checks each answer against the call alone."""
        lines_before = self.access_lines()
        lock, blocker = self.hold_worker()
        try:
            futures = []
            for m, n in self.requests:
                futures.append(self.stub(m).future(self.request(m, n), timeout=60))
                time.sleep(0.005)  # queued in this order
            self.wait_queued(len(self.requests))
            before_release()
        finally:
            rc, err = lock.release()
        self.assertEqual(rc, 0, err)
        self.assertEqual(blocker.result(), self.p1)
        together = [self.outcome(f.result) for f in futures]
        for (m, n), want, got in zip(self.requests, alone, together):
            self.assertEqual(got, want, "%s %s" % (m[0], n))
        # one access line per call, the blocker's included (a batch writes its lines together)
        lib.wait_for(lambda: self.access_lines() - lines_before >= len(self.requests) + 1, 10,
                     0.02, "the batch's access lines")
        self.assertEqual(self.access_lines() - lines_before, len(self.requests) + 1)

    def access_lines(self):
        return len(re.findall(r" info call method=/prospects\.v1\.ProspectService/(?:GetProspect|"
                              r"ResolveProspect) ", self.server.log()))

    def hold_worker(self):
        """Locks prospects and sends one GetProspect, which the only worker takes and waits in."""
        lock = TableLock(self.server.mariadb, self.server.database)
        blocker = self.stub(GET).future(self.request(GET, self.p1.name), timeout=60)
        lib.wait_for(lambda: len(self.waiting_connections()) == 1, 20, 0.02, "the worker waiting")
        self.wait_queued(0)
        return lock, blocker


class Coalesce(Base):

    @classmethod
    def _data(cls):
        ch = cls.server.channel
        cls.url = "http://127.0.0.1:%d/metrics" % metrics_port(cls.server)
        a = cls.a = lib.new_enabled_tenant(ch, "coa")
        b = lib.new_enabled_tenant(ch, "cob")
        c = lib.new_enabled_tenant(ch, "coc")
        cls.p1 = lib.create(ch, a, lib.person(first_name="Ann", last_name="Peeters"))
        p2 = lib.create(ch, a, lib.company(company_name="Brouwerij De Klok"))
        p3 = lib.create(ch, a, lib.company(company_name="De Klok BV"))
        p4 = lib.create(ch, a, lib.company(company_name="Klok"))
        lib.merge(ch, p2.name, [p3.name], request_id="coa-m1")  # p3 -> p2
        lib.merge(ch, p4.name, [p2.name], request_id="coa-m2")  # p2 -> p4: p3 via [p3, p2]
        cls.p2, cls.p3, cls.p4 = p2, p3, lib.get(ch, p4.name)
        q1 = lib.create(ch, b, lib.person(first_name="Bo", last_name="Claes"))
        r1 = lib.create(ch, c, lib.person(first_name="Cas", last_name="Wouters"))
        lib.update_apps(ch, c, ["prospects_enabled"], prospects=False)
        lib.wait_gate(ch, c, False)
        missing = "tenants/%s/prospects/0190a0a0-0000-7000-8000-000000000001" % a
        other = "tenants/%s/prospects/%s" % (a, lib.prospect_id(q1.name))  # B's id under A
        cls.requests = [
            (GET, cls.p1.name), (GET, cls.p4.name), (GET, cls.p1.name), (GET, missing),
            (GET, p3.name), (GET, other), (GET, q1.name), (GET, r1.name),
            (GET, "tenants/%s/prospects/not-an-id" % a),
            (RESOLVE, p3.name), (RESOLVE, cls.p1.name), (RESOLVE, missing), (RESOLVE, q1.name),
        ]


    def test_each_call_of_a_batch_gets_its_own_answer(self):
        alone = self.answers_alone()
        # the answers alone are the ones the API promises
        self.assertEqual(alone[0], self.p1)
        self.assertEqual(alone[3][0], grpc.StatusCode.NOT_FOUND)
        self.assertEqual(alone[3][2], "PROSPECT_NOT_FOUND")
        self.assertEqual(alone[4][2], "PROSPECT_MERGED")
        self.assertEqual(alone[5][2], "PROSPECT_NOT_FOUND")
        self.assertEqual(alone[7][2], "PROSPECTS_APP_DISABLED")
        self.assertEqual(alone[8][0], grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(alone[9].name, self.p4.name)
        self.assertEqual(list(alone[9].merged_via), [self.p3.name, self.p2.name])
        self.assertEqual(alone[10].name, self.p1.name)

        batches = self.metric("prospect_coalesced_batches_total")
        calls = self.metric("prospect_coalesced_calls_total")
        self.answers_together(alone)
        self.assertEqual(self.metric("prospect_coalesced_batches_total") - batches, 1)
        self.assertEqual(self.metric("prospect_coalesced_calls_total") - calls, len(self.requests))
        # the worker hands the replies to the transport thread, which starts their final batches;
        # their completions release every call, with no other call to come
        lib.wait_for(lambda: self.metric("prospect_calls_in_flight") == 0, 5, 0.01,
                     "the batch's calls to be released")

    def test_a_batch_whose_connection_dies_fails_alone(self):
        """The worker is held on a document lookup (document_links locked) while the batch and a
        GetTenantApps call queue behind it; then document_links is released and the batch's read
        waits on prospects (locked too) until its connection is killed."""
        names = [self.p1.name, self.p4.name, self.p3.name, self.p1.name]
        batches = self.metric("prospect_coalesced_batches_total")
        calls = self.metric("prospect_coalesced_calls_total")
        prospects = TableLock(self.server.mariadb, self.server.database, "prospects")
        documents = TableLock(self.server.mariadb, self.server.database, "document_links")
        try:
            lookup = self.stub((lib.method("LookupDocument"), None, R.Document)).future(
                S.LookupDocumentRequest(parent="tenants/" + self.a, type=R.QUOTE,
                                        document_id="none"), timeout=60)
            lib.wait_for(lambda: len(self.waiting_connections()) == 1, 20, 0.02, "the worker waiting")
            self.wait_queued(0)
            futures = [self.stub(GET).future(self.request(GET, n), timeout=60) for n in names]
            self.wait_queued(len(names))
            apps = self.stub(APPS).future(S.GetTenantAppsRequest(name=lib.apps_name(self.a)),
                                          timeout=60)
            self.wait_queued(len(names) + 1)
            rc, err = documents.release()
            self.assertEqual(rc, 0, err)
            self.assertEqual(self.outcome(lookup.result)[0], grpc.StatusCode.NOT_FOUND)
            # the batch (not the GetTenantApps call behind it) now waits on prospects
            self.wait_queued(1)
            lib.wait_for(lambda: len(self.waiting_connections()) == 1, 20, 0.02,
                         "the batch's read waiting")
            self.assertFalse(any(f.done() for f in futures))
            self.server.mariadb.sql("KILL CONNECTION %s" % self.waiting_connections()[0])
            for f in futures:
                got = self.outcome(f.result)
                self.assertIsInstance(got, tuple)
                self.assertEqual(got[0], grpc.StatusCode.UNAVAILABLE, got)
            # the call outside the batch is answered
            self.assertIsInstance(apps.result(), R.TenantApps)
        finally:
            documents.release()
            rc, err = prospects.release()
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.metric("prospect_coalesced_batches_total") - batches, 1)
        self.assertEqual(self.metric("prospect_coalesced_calls_total") - calls, len(names))
        # and the server serves again
        lib.wait_for(lambda: self.outcome(lambda: lib.get(self.server.channel, self.p1.name)) == self.p1,
                     10, 0.1, "GetProspect to succeed again")
        self.assertEqual(lib.health(self.server.channel), lib.SERVING)


class AppsFallback(Base):
    """Redis off: every gate reads MySQL (the fallback). A batch's distinct tenants whose flags are
    not in process memory are read with one statement, and each call still gets its own gate."""
    ENV = {"PS_REDIS_PORT": "0"}

    @classmethod
    def _data(cls):
        ch = cls.server.channel
        cls.url = "http://127.0.0.1:%d/metrics" % metrics_port(cls.server)
        a = lib.new_enabled_tenant(ch, "cfa")
        b = lib.new_enabled_tenant(ch, "cfb")
        c = lib.new_enabled_tenant(ch, "cfc")
        d = harness.new_tenant("cfd")  # never switched on: no apps row at all
        cls.p1 = lib.create(ch, a, lib.person(first_name="Ada", last_name="Maes"))
        q1 = lib.create(ch, b, lib.person(first_name="Bas", last_name="Smet"))
        r1 = lib.create(ch, c, lib.person(first_name="Cor", last_name="Pauwels"))
        lib.update_apps(ch, c, ["prospects_enabled"], prospects=False)
        lib.wait_gate(ch, c, False)
        cls.requests = [(GET, cls.p1.name), (GET, q1.name), (GET, r1.name),
                        (GET, "tenants/%s/prospects/0190a0a0-0000-7000-8000-000000000002" % d),
                        (GET, cls.p1.name)]
        cls.tenants = 4

    def test_the_gates_of_a_batch_are_read_together(self):
        alone = self.answers_alone()
        self.assertEqual(alone[0], self.p1)
        self.assertIsInstance(alone[1], R.Prospect)
        self.assertEqual(alone[2][2], "PROSPECTS_APP_DISABLED")
        self.assertEqual(alone[3][2], "PROSPECTS_APP_DISABLED")
        before = {}

        def expire_and_count():
            time.sleep(0.6)  # the flags held in process memory (0.5 s) have expired
            for name in ("prospect_apps_cache_mysql_batch_reads_total",
                         "prospect_apps_cache_mysql_reads_total", "prospect_coalesced_batches_total"):
                before[name] = self.metric(name)

        self.answers_together(alone, expire_and_count)
        batch_reads = before["prospect_apps_cache_mysql_batch_reads_total"]
        mysql_reads = before["prospect_apps_cache_mysql_reads_total"]
        batches = before["prospect_coalesced_batches_total"]
        self.assertEqual(self.metric("prospect_coalesced_batches_total") - batches, 1)
        # one statement read the four tenants' apps (each load counted once); the calls' own gates
        # then answered from process memory
        self.assertEqual(self.metric("prospect_apps_cache_mysql_batch_reads_total") - batch_reads, 1)
        self.assertGreaterEqual(self.metric("prospect_apps_cache_mysql_reads_total") - mysql_reads,
                                self.tenants)


if __name__ == "__main__":
    harness.main()
