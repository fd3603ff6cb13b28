"""Node loss under load on a 3-node MariaDB Galera cluster (scripts/galera), the real server given
every node in PS_MYSQL_HOSTS.

Several threads run a mixed load (creates, document links, quote request intakes, conversions,
merges, all with request ids, plus reads); mid-run one node is killed with SIGKILL and later
started again. Callers retry the way the C client library does (client/include/prospects/client.h:
UNAVAILABLE again with the same request id, jittered backoff) and, like the callers of the merge
stress test, ABORTED too; those calls are made from Python (the harness) with the same rules,
because the mix of calls and the bookkeeping of the invariants are far simpler there. Alongside,
the C client library itself runs the same mix of writes (tests/client/mixed_writer: creates,
links, intakes, conversions and merges, each with a request id, retried by the library on
UNAVAILABLE and on ABORTED from a lost race). Each thread works on records of its own, so no call is refused by
a race between threads: every call must end OK, at once or after retries of UNAVAILABLE/ABORTED.

Afterwards: every acknowledged write is present exactly once (records, links and request ids
counted in the database, on every node); the merge invariants hold (every document linked once to a
live record, every merged-away id resolves); the killed node has rejoined (cluster size 3, all
Synced). The test prints the time from the kill until calls succeed again, the calls by final
status, and the cost of the Galera causality wait (PS_MYSQL_GALERA_SYNC_WAIT=1 against 0); it asserts
on timing only with generous bounds. Needs galera-4 and rsync (scripts/test installs them)."""

import collections
import os
import random
import statistics
import threading
import time
import unittest

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

Code = grpc.StatusCode
R = resources_pb2

PROVIDER = "/usr/lib/galera/libgalera_smm.so"
THREADS = 6
WARMUP_S = 4          # load before the kill
DOWN_S = 8            # load while the node is down
AFTER_S = 4           # load after it is back
KILLED_NODE = 2
RETRY_FOR_S = 30      # a call is retried this long at most
RETRYABLE = (Code.UNAVAILABLE, Code.ABORTED)


def reason(e):
    info = harness.error_info(e)
    return info.reason if info else ""


class Load:
    """The calls of all threads, with the outcome of every attempt."""

    def __init__(self, channel, tenant):
        self.channel, self.t = channel, tenant
        self.lock = threading.Lock()
        self.final = collections.Counter()      # final status of each call (with retries)
        self.attempts = collections.Counter()   # status of each attempt
        self.failures = []                      # calls that did not end OK
        self.ok_times = []                      # (start, end) of each successful call
        self.made = []                          # names of records created (CreateProspect, intake)
        self.rids = set()                       # request ids of acknowledged writes
        self.docs = {}                          # (type, document_id) -> name it was linked to
        self.invoices = []                      # converting invoices
        self.merges = []                        # Merge of each acknowledged merge
        self.stop = threading.Event()

    def call(self, what, fn, stale_ok=False):
        """fn() until it succeeds, retrying UNAVAILABLE/ABORTED (same arguments: same request id)
        with jittered backoff for up to RETRY_FOR_S. stale_ok: a read of a record this thread
        made, where NOT_FOUND means the node has not applied the create yet (counted as a stale
        read, then retried). Returns the result, or None (recorded in failures) when the call did
        not end OK."""
        start = time.monotonic()
        backoff, retried = 0.05, []
        while True:
            t0 = time.monotonic()
            try:
                r = fn()
            except grpc.RpcError as e:
                with self.lock:
                    self.attempts[e.code().name] += 1
                stale = stale_ok and e.code() == Code.NOT_FOUND
                retryable = stale or (e.code() in RETRYABLE and reason(e) != "ETAG_MISMATCH")
                if retryable and time.monotonic() - start < RETRY_FOR_S:
                    retried.append("stale read" if stale else e.code().name)
                    time.sleep(backoff * (0.5 + random.random()))
                    backoff = min(backoff * 2, 1.0)
                    continue
                with self.lock:
                    self.final["%s %s" % (e.code().name, reason(e))] += 1
                    self.failures.append((what, e.code().name, reason(e), e.details(), retried))
                return None
            with self.lock:
                self.attempts["OK"] += 1
                self.final["OK after %s" % "+".join(sorted(set(retried))) if retried else "OK"] += 1
                self.ok_times.append((what, t0, time.monotonic()))
            return r


class GaleraNodeLoss(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PROVIDER):
            raise unittest.SkipTest("galera-4 is not installed (scripts/test installs it)")
        t0 = time.monotonic()
        cls.cluster = harness.GaleraCluster().start()
        print("cluster of 3 started in %.1f s: %s" % (time.monotonic() - t0, cls.cluster.hosts()),
              flush=True)
        cls.metrics = "127.0.0.1:%d" % harness.free_port()
        cls.server = harness.Server(mariadb=cls.cluster, database=cls.cluster.database,
                                    env={"PS_WORKERS": "8", "PS_MYSQL_TIMEOUT_S": "2",
                                         "PS_METRICS_LISTEN": cls.metrics})

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        report = cls.server.sanitizer_report()
        cls.cluster.close()
        if report:
            raise AssertionError("sanitizer report in the server log:\n" + report)

    def db_metrics(self):
        """The server's prospect_db_* counters (Prometheus text), name -> value."""
        import urllib.request
        with urllib.request.urlopen("http://%s/metrics" % self.metrics, timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("prospect_db_"):
                key, value = line.rsplit(" ", 1)
                out[key.replace("prospect_db_", "").replace("_total", "")] = int(float(value))
        return out

    # ------------------------------------------------------------------ the load of one thread

    def worker(self, load, w, errors):
        rng = random.Random(w)
        ch, t = load.channel, load.t
        mine = []       # live records of this thread
        customer = set()
        k = 0

        def rid(kind):
            return "%s-%d-%d" % (kind, w, k)

        def create():
            p = lib.person(first_name="W%d" % w, last_name="N%d" % k) if rng.random() < 0.5 else \
                lib.company(company_name="Firm %d-%d B.V." % (w, k))
            r_id = rid("c")
            r = load.call("create", lambda: lib.create(ch, t, p, request_id=r_id))
            if r:
                mine.append(r.name)
                with load.lock:
                    load.made.append(r.name)
                    load.rids.add(r_id)

        try:
            while not load.stop.is_set():
                k += 1
                x = rng.random()
                if len(mine) < 3 or x < 0.2:
                    create()
                elif x < 0.4:
                    name, r_id = rng.choice(mine), rid("l")
                    doc = lib.document(rng.choice([R.QUOTE, R.ORDER, R.ATTACHMENT]), "doc-%d-%d" % (w, k))
                    if load.call("link", lambda: lib.link_document(ch, name, doc, request_id=r_id)):
                        with load.lock:
                            load.docs[(doc.type, doc.document_id)] = name
                            load.rids.add(r_id)
                elif x < 0.55:
                    r_id, q = rid("i"), R.Document(document_id="qr-%d-%d" % (w, k))
                    existing = rng.choice(mine) if rng.random() < 0.5 else None
                    new = None if existing else lib.person(first_name="Q%d" % w, last_name="R%d" % k)
                    r = load.call("intake", lambda: lib.intake(ch, t, r_id, q, new_prospect=new,
                                                               existing=existing))
                    if r:
                        with load.lock:
                            load.docs[(R.QUOTE_REQUEST, q.document_id)] = r.prospect.name
                            load.rids.add(r_id)
                            if new is not None:
                                load.made.append(r.prospect.name)
                        if new is not None:
                            mine.append(r.prospect.name)
                elif x < 0.7:
                    name, r_id = rng.choice(mine), rid("v")
                    inv = R.Document(type=R.INVOICE, document_id="inv-%d-%d" % (w, k))
                    r = load.call("convert", lambda: lib.convert(ch, name, inv, request_id=r_id))
                    if r:
                        self.assertEqual(r.prospect.state, R.CUSTOMER)
                        customer.add(name)
                        with load.lock:
                            load.docs[(R.INVOICE, inv.document_id)] = name
                            load.invoices.append(inv.document_id)
                            load.rids.add(r_id)
                elif x < 0.85 and len(mine) >= 3:
                    target, source = rng.sample(mine, 2)
                    # a customer is never merged into a prospect (CUSTOMER_INTO_PROSPECT)
                    if source in customer and target not in customer:
                        target, source = source, target
                    r_id = rid("m")
                    r = load.call("merge", lambda: lib.merge(ch, target, [source], request_id=r_id))
                    if r:
                        mine.remove(source)
                        with load.lock:
                            load.merges.append(r.merge)
                            load.rids.add(r_id)
                            for key, on in list(load.docs.items()):
                                if on == source:
                                    load.docs[key] = target
                else:
                    name = rng.choice(mine)
                    # with the default PS_MYSQL_GALERA_SYNC_WAIT=1 reads do not wait: one on
                    # another node may not see this thread's create yet (test_read_your_writes)
                    load.call("get", lambda: lib.get(ch, name), stale_ok=True)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append((w, repr(e)))

    def c_writer(self, tenant, out, errors, stop):
        """Rounds of mixed writes through the C client library (mixed_writer) until stop is set:
        out gets (kind, request id, name, attempts) per acknowledged call."""
        binary = os.path.join(harness.BUILD_DIR, "client", "mixed_writer")
        first = 0
        while not stop.is_set():
            r = harness.subprocess.run([binary, self.server.address, tenant, "10", str(first)],
                                       capture_output=True, text=True, timeout=300)
            for line in r.stdout.splitlines():
                if line.startswith("FAILED"):
                    errors.append(("c client", line))
                else:
                    kind, rid, name, attempts = line.split(" ")
                    out.append((kind, rid, name, int(attempts)))
            if r.returncode != 0:
                errors.append(("c client", r.returncode, r.stderr[-2000:]))
                return
            first += 10

    # ------------------------------------------------------------------ the test

    def test_node_loss_under_load(self):
        ch = self.server.channel
        t = harness.new_tenant("galera")
        lib.enable_quote_requests(ch, t)
        c_tenant = lib.new_enabled_tenant(ch, "galera-c")
        lib.enable_quote_requests(ch, c_tenant)
        load = Load(ch, t)
        errors, c_calls = [], []
        threads = [threading.Thread(target=self.worker, args=(load, w, errors)) for w in range(THREADS)]
        threads.append(threading.Thread(target=self.c_writer, args=(c_tenant, c_calls, errors, load.stop)))
        run_start = time.monotonic()
        for th in threads:
            th.start()
        time.sleep(WARMUP_S)

        kill_at = time.monotonic()
        self.cluster.kill(KILLED_NODE)
        time.sleep(DOWN_S)
        restart_at = time.monotonic()
        self.cluster.restart(KILLED_NODE)  # returns once the node is Synced again
        rejoined_s = time.monotonic() - restart_at
        time.sleep(AFTER_S)
        load.stop.set()
        for th in threads:
            th.join(RETRY_FOR_S + 30)
        run_s = time.monotonic() - run_start
        self.assertEqual(errors, [])

        # ---- figures
        # The cluster stalls writes while it notices the lost node (evs.suspect_timeout): the
        # longest stretch without a completed write within 30 s of the kill; calls succeed again
        # at its end. The same around the restart (the node's incremental state transfer).
        writes = sorted(end for what, _, end in load.ok_times if what != "get")

        def stall(since):
            best, prev = (0.0, since), since
            for end in writes:
                if since <= end <= since + 30:
                    if end - prev > best[0]:
                        best = (end - prev, prev)
                    prev = end
            return best[0], best[1] - since

        stall_s, stall_from = stall(kill_at)
        recovery = stall_from + stall_s
        rejoin_stall_s, _ = stall(restart_at)
        print("\nrun %.1f s, %d threads; node %d killed at +%.1f s, restarted at +%.1f s, Synced "
              "%.1f s later" % (run_s, THREADS, KILLED_NODE, kill_at - run_start,
                                restart_at - run_start, rejoined_s))
        print("time from the kill until calls succeed again: %.2f s (writes stalled %.2f s, from "
              "+%.2f s); longest stall of writes while the node rejoined: %.2f s"
              % (recovery, stall_s, stall_from, rejoin_stall_s))
        print("calls by final status: %s" % dict(sorted(load.final.items())))
        print("C client: %d calls acknowledged (%s), %d of them after retries inside the library "
              "(attempts: %s)" % (len(c_calls), dict(sorted(collections.Counter(c[0] for c in c_calls).items())),
                                  sum(1 for c in c_calls if c[3] > 1),
                                  dict(sorted(collections.Counter(c[3] for c in c_calls).items()))))
        print("attempts by status: %s" % dict(sorted(load.attempts.items())))
        print("server: %s" % self.db_metrics(), flush=True)

        # ---- every call ended OK (after retries of UNAVAILABLE/ABORTED only)
        self.assertEqual(load.failures, [])
        self.assertLess(recovery, 30, "writes did not resume within 30 s of the kill")

        # ---- the node rejoined
        for n in (1, 2, 3):
            harness._wait(lambda: self.cluster.status(n, "wsrep_cluster_size") == "3" and
                          self.cluster.status(n, "wsrep_local_state_comment") == "Synced",
                          60, 0.2, "node %d Synced in a cluster of 3" % n)

        self.check_writes(load)
        self.check_c_writes(c_tenant, c_calls)

    def check_c_writes(self, tenant, calls):
        """The C client's writes: each acknowledged one exactly once, nothing else, on every node."""
        kinds = collections.Counter(c[0] for c in calls)
        self.assertGreater(kinds["create"], 0)
        self.assertGreater(kinds["merge"], 0)
        self.assertEqual(len({c[1] for c in calls}), len(calls), "a request id acknowledged twice")
        q = lib._q(tenant)
        creates = {lib.hex_id(c[2]) for c in calls if c[0] == "create"}
        askers = {lib.hex_id(c[2]) for c in calls if c[0] == "intake"}
        merged_away = set()
        for n, node in enumerate(self.cluster.nodes, 1):
            def sql(statement):
                return node.sql("SET SESSION wsrep_sync_wait = 1; " + statement, self.cluster.database)
            keys = {r[0] for r in sql("SELECT request_id FROM idempotency_keys WHERE tenant_id = %s" % q)}
            self.assertEqual(keys, {c[1] for c in calls}, "node %d: request ids != acknowledged calls" % n)
            live = {r[0] for r in sql("SELECT LOWER(HEX(id)) FROM prospects WHERE tenant_id = %s" % q)}
            merged_away = {r[0] for r in sql("SELECT LOWER(HEX(id)) FROM prospect_tombstones WHERE tenant_id = %s"
                                             % q)}
            self.assertEqual(live | merged_away, creates | askers, "node %d: records != acknowledged" % n)
            self.assertEqual(live & merged_away, set())
            self.assertEqual(len(merged_away), kinds["merge"], "node %d: one source per merge" % n)
            docs = sql("SELECT document_id, COUNT(*) FROM document_links WHERE tenant_id = %s GROUP BY document_id"
                       % q)
            self.assertEqual([d for d in docs if d[1] != "1"], [], "node %d: a document linked twice" % n)
            self.assertEqual(len(docs), kinds["link"] + kinds["intake"] + kinds["convert"])
            orphans = sql("SELECT COUNT(*) FROM document_links d LEFT JOIN prospects p ON p.tenant_id = d.tenant_id"
                          " AND p.id = d.prospect_id WHERE d.tenant_id = %s AND p.id IS NULL" % q)
            self.assertEqual(orphans, [["0"]], "node %d: a link on a record that is gone" % n)
            converted = sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = %s AND state = 2" % q)
            self.assertEqual(converted, [[str(kinds["convert"])]])

    def check_writes(self, load):
        """Every acknowledged write is there exactly once, on every node; the merge invariants hold."""
        db, database, t = self.cluster, self.cluster.database, load.t
        q = lib._q(t)
        for n, node in enumerate(self.cluster.nodes, 1):
            # wsrep_sync_wait: the node has applied everything committed before this read
            def sql(statement):
                return node.sql("SET SESSION wsrep_sync_wait = 1; " + statement, database)

            keys = sql("SELECT request_id, COUNT(*) FROM idempotency_keys WHERE tenant_id = %s"
                       " GROUP BY request_id" % q)
            self.assertEqual([r for r in keys if r[1] != "1"], [], "node %d: a request id twice" % n)
            got = {r[0] for r in keys}
            self.assertEqual(sorted(load.rids - got), [], "node %d: acknowledged writes missing" % n)
            self.assertEqual(sorted(got - load.rids), [], "node %d: writes nobody saw acknowledged" % n)
            live = {r[0] for r in sql("SELECT LOWER(HEX(id)) FROM prospects WHERE tenant_id = %s" % q)}
            tomb = {r[0]: r[1] for r in sql("SELECT LOWER(HEX(id)), LOWER(HEX(merged_into)) FROM"
                                            " prospect_tombstones WHERE tenant_id = %s" % q)}
            made = [lib.hex_id(name) for name in load.made]
            self.assertEqual(len(made), len(set(made)))
            self.assertEqual(live | set(tomb), set(made), "node %d: records made once each" % n)
            self.assertEqual(live & set(tomb), set())
            links = sql("SELECT type, document_id, LOWER(HEX(prospect_id)) FROM document_links"
                        " WHERE tenant_id = %s" % q)
            per_doc = collections.Counter((int(ty), d) for ty, d, _ in links)
            self.assertEqual([k for k, c in per_doc.items() if c > 1], [], "node %d: a document twice" % n)
            on = {(int(ty), d): h for ty, d, h in links}
            self.assertEqual(sorted(set(load.docs) - set(on)), [], "node %d: links lost" % n)
            self.assertEqual([k for k, h in on.items() if h not in live], [],
                             "node %d: links on records that are not live" % n)
            want = {k: lib.hex_id(name) for k, name in load.docs.items()}
            self.assertEqual({k: on[k] for k in want}, want, "node %d: a link on the wrong record" % n)
            merges = sql("SELECT LOWER(HEX(id)) FROM merges WHERE tenant_id = %s" % q)
            self.assertEqual({r[0] for r in merges}, {lib.hex_id(m.name) for m in load.merges})
        # through the API: every merged-away id resolves to a live record; invoices on customers
        for name in load.made:
            r = lib.resolve(self.server.channel, name)
            self.assertIn(lib.hex_id(r.name), live, name)
        state = dict(db.sql("SELECT LOWER(HEX(id)), state FROM prospects WHERE tenant_id = %s" % q,
                            database))
        for inv in load.invoices:
            self.assertEqual(state[on[(R.INVOICE, inv)]], str(R.CUSTOMER), inv)
        print("writes acknowledged: %d request ids, %d records, %d links, %d merges; found the same "
              "on each of the 3 nodes" % (len(load.rids), len(load.made), len(load.docs),
                                          len(load.merges)), flush=True)

    def test_read_your_writes(self):
        """A read right after an acknowledged write, through another replica of the server whose
        connection is on another node (two servers, one worker each, their host lists rotated),
        for each PS_MYSQL_GALERA_SYNC_WAIT: with 2 the read always sees the write; with 1 (the
        default: only write transactions wait) and 0 it may not. Prints the median cost per call
        of each, the three settings interleaved in rounds so that noise hits them alike."""
        nodes = ["127.0.0.1:%d" % node.port for node in self.cluster.nodes]
        rounds, per_round = 8, 20
        pairs = {}
        try:
            for wait in ("0", "1", "2"):
                env = {"PS_MYSQL_GALERA_SYNC_WAIT": wait, "PS_WORKERS": "1"}
                # handle 0 is the health probe's, so the worker connects to the list's second entry
                writer = harness.Server(mariadb=self.cluster, database=self.cluster.database,
                                        env=dict(env, PS_MYSQL_HOSTS=",".join(nodes)))
                reader = harness.Server(mariadb=self.cluster, database=self.cluster.database,
                                        env=dict(env, PS_MYSQL_HOSTS=",".join(nodes[1:] + nodes[:1])))
                pairs[wait] = (writer, reader, lib.new_enabled_tenant(writer.channel, "sw"))
            for wait, (writer, reader, t) in pairs.items():
                lib.wait_gate(reader.channel, t, True)
            samples = {wait: ([], [], [0]) for wait in pairs}
            for r in range(rounds):
                for wait, (writer, reader, t) in pairs.items():
                    creates, gets, stale = samples[wait]
                    for i in range(per_round):
                        t0 = time.monotonic()
                        name = lib.create(writer.channel, t, lib.person(last_name="S%d" % i),
                                          request_id="s%d-%d" % (r, i)).name
                        t1 = time.monotonic()
                        try:
                            lib.get(reader.channel, name)
                        except grpc.RpcError as e:
                            self.assertEqual(e.code(), Code.NOT_FOUND, e.details())
                            stale[0] += 1
                        gets.append(time.monotonic() - t1)
                        creates.append(t1 - t0)
        finally:
            for writer, reader, _ in pairs.values():
                writer.close()
                reader.close()
        print()
        n = rounds * per_round
        for wait, (creates, gets, stale) in sorted(samples.items()):
            print("PS_MYSQL_GALERA_SYNC_WAIT=%s: CreateProspect %.2f ms, GetProspect on another node "
                  "%.2f ms (medians), reads that missed the create just acknowledged: %d of %d"
                  % (wait, statistics.median(creates) * 1e3, statistics.median(gets) * 1e3,
                     stale[0], n))
        self.assertEqual(samples["2"][2][0], 0, "a read missed an acknowledged write with sync wait 2")


if __name__ == "__main__":
    harness.main()
