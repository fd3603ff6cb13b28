"""The app flags cache (S4, S8): process memory (<= 0.5 s), then Redis, then MySQL.

Gate codes through the cache; freshness across two real server processes on one database and one
Redis; Redis stopped, hung and returning garbage while calls stream (zero failed calls, the cache used
again afterwards without a restart); no stampede on a cold tenant (one MySQL read of its flags);
invalidation after UpdateTenantApps; Redis round trips per call at steady state. Counters are read
from the `stats:` line the server logs on SIGUSR1."""

import subprocess
import threading
import time
import unittest

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode

LOCAL_TTL_S = 0.5      # PS_FLAGS_LOCAL_TTL_MS: how long a process keeps a tenant's flags
REDIS_TTL_S = (30, 36)  # a Redis entry lives 30 s plus up to 6 s of jitter
BREAKER_S = 1.0         # after a Redis failure, Redis is skipped this long, then probed
# SPEC: a change is visible on every replica within one second. The measurement runs from just
# before the UpdateTenantApps call is sent to the return of the first probe that sees the change, so
# it also holds the update's own round trip and commit, the probe's round trip and the poll interval:
# each a few ms, but up to ~100 ms on a loaded 2-core machine running two servers and MariaDB.
FRESHNESS_BOUND_S = 1.0
FRESHNESS_TOLERANCE_S = 0.2
HUNG_CALL_BOUND_S = 1.0  # one call while Redis hangs (server side: a 20 ms timeout, then MySQL)

UNKNOWN_ID = "00000000-0000-7000-8000-000000000000"


def gate_open(channel, name, timeout=5):
    """GetProspect(name) through the gate: True when it answers (the prospect, or NOT_FOUND for an
    unknown id), False for FAILED_PRECONDITION / PROSPECTS_APP_DISABLED; anything else raises."""
    try:
        lib.get(channel, name, timeout=timeout)
        return True
    except grpc.RpcError as e:
        if e.code() == Code.NOT_FOUND:
            return True
        info = harness.error_info(e)
        if e.code() == Code.FAILED_PRECONDITION and info is not None and \
                info.reason == "PROSPECTS_APP_DISABLED":
            return False
        raise


def set_prospects(channel, tenant, on):
    return lib.update_apps(channel, tenant, ["prospects_enabled"], prospects=on)


def mysql_flags(server, tenant):
    """(version, "<p><q>") of the tenant's row in MySQL, or None without a row."""
    rows = server.mariadb.sql("SELECT version, prospects_enabled, quote_requests_enabled FROM tenant_apps "
                              "WHERE tenant_id = '%s'" % tenant, server.database)
    return (int(rows[0][0]), rows[0][1] + rows[0][2]) if rows else None


def redis_set_bytes(redis, key, value):
    """SET key to value (bytes, NUL bytes included) in the protocol itself."""
    import socket
    parts = [b"SET", key.encode(), value]
    msg = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection((redis.host, redis.port), timeout=5) as s:
        s.sendall(msg)
        assert s.recv(64).startswith(b"+OK")


def expected_cached(server, tenant):
    """What the server should hold in Redis for tenant: "<version>|<p><q>" of MySQL (its tag
    checked by cached()), or "" for a tenant without a row (no key)."""
    row = mysql_flags(server, tenant)
    return "" if row is None else "%d|%s" % row


class Stream:
    """GetProspect calls of one prospect from a few threads (one channel each) until stop(),
    recording every outcome and latency."""

    def __init__(self, server, name, threads=4, timeout=5):
        self.name, self.timeout = name, timeout
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []       # (monotonic time, code, details)
        self.samples = []        # (monotonic start, latency)
        self.stopping = threading.Event()
        self.channels = [harness.channel(server.address) for _ in range(threads)]
        for ch in self.channels:
            harness.health(ch, timeout=10, wait_for_ready=True)
        self.threads = [threading.Thread(target=self._run, args=(ch,), daemon=True) for ch in self.channels]
        for t in self.threads:
            t.start()

    def _run(self, ch):
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                lib.get(ch, self.name, timeout=self.timeout)
                err = None
            except grpc.RpcError as e:
                err = (start, e.code(), e.details())
            end = time.monotonic()
            with self.lock:
                self.samples.append((start, end - start))
                if err:
                    self.failures.append(err)
                else:
                    self.ok += 1

    def count(self):
        with self.lock:
            return self.ok + len(self.failures)

    def run_for(self, seconds, at_least=1):
        """Keep streaming for `seconds` and until at_least more calls were made."""
        start, n0 = time.monotonic(), self.count()
        lib.wait_for(lambda: time.monotonic() - start >= seconds and self.count() - n0 >= at_least,
                     seconds + 20, 0.02, "%d calls in %.1f s" % (at_least, seconds))

    def between(self, t0, t1):
        """Latencies of the calls started in [t0, t1)."""
        with self.lock:
            return [lat for start, lat in self.samples if t0 <= start < t1]

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(self.timeout + 5)
        for ch in self.channels:
            ch.close()


class CacheTestCase(unittest.TestCase, lib.RpcAssertions):
    def stats(self, server=None):
        return lib.server_stats(server or self.server)

    def delta(self, before, server=None):
        return lib.stats_delta(before, self.stats(server))

    def cached(self, tenant):
        """"<version>|<p><q>" of the tenant's key when its tag verifies, "" when there is no key,
        else "UNVERIFIED " + the raw value."""
        raw = self.redis.cli("GET", lib.apps_redis_key(tenant))
        if raw == "":
            return ""
        return lib.apps_cached_body(tenant, raw) or "UNVERIFIED " + raw

    def plant(self, tenant, body):
        """Put a value with a valid tag in Redis, as a replica would have written it."""
        self.redis.cli("SET", lib.apps_redis_key(tenant), lib.apps_cached_value(tenant, body),
                       "PX", REDIS_TTL_S[0] * 1000)

    def wait_cached(self, tenant, want, timeout=5, what=None):
        return lib.wait_for(lambda: self.cached(tenant) == want, timeout, 0.02,
                            what or "Redis to hold %r for %s" % (want, tenant))

    def assertKeyTtl(self, tenant):
        pttl = int(self.redis.cli("PTTL", lib.apps_redis_key(tenant)))
        self.assertGreater(pttl, 0, "the cached flags must expire (PTTL %d)" % pttl)
        self.assertLessEqual(pttl, REDIS_TTL_S[1] * 1000)

    def enabled_tenant_with_prospect(self, server):
        tenant = lib.new_enabled_tenant(server.channel)
        p = lib.create(server.channel, tenant, lib.person(), request_id="cache-%s" % tenant)
        return tenant, p


# ---------------------------------------------------------------- two replicas, the run's Redis

class TwoReplicas(CacheTestCase):
    """Servers A and B on the same database and the same Redis."""

    @classmethod
    def setUpClass(cls):
        cls.redis = harness.shared_redis()
        cls.database = harness.fresh_database()
        env = {"PS_WORKERS": 16}
        cls.a = harness.Server(database=cls.database, env=env)
        try:
            cls.b = harness.Server(database=cls.database, env=env)
        except BaseException:
            cls.a.close()
            raise
        cls.server = cls.a

    @classmethod
    def tearDownClass(cls):
        cls.b.close()
        cls.a.close()

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            for label, s in (("A", self.a), ("B", self.b)):
                print("---- server %s log (last 2000 chars) ----\n%s" % (label, s.log()[-2000:]))
        return out

    def test_gate_codes_and_reasons_through_the_cache(self):
        a = self.a.channel
        tenant = harness.new_tenant()
        unknown = "tenants/%s/prospects/%s" % (tenant, UNKNOWN_ID)
        for attempt in range(2):  # the second answer comes from the cache
            err = self.assertRpcError(lambda: lib.get(a, unknown), Code.FAILED_PRECONDITION,
                                      reason="PROSPECTS_APP_DISABLED", msg="get, attempt %d" % attempt)
            self.assertEqual(harness.error_info(err).metadata.get("app"), "PROSPECTS")
            self.assertRpcError(lambda: lib.create(a, tenant, lib.person()), Code.FAILED_PRECONDITION,
                                reason="PROSPECTS_APP_DISABLED", msg="create, attempt %d" % attempt)
        # a tenant without a row is cached in process memory only: probing costs no Redis key
        self.assertEqual(self.redis.cli("EXISTS", lib.apps_redis_key(tenant)), "0")

        set_prospects(a, tenant, True)
        self.assertTrue(gate_open(a, unknown), "the writing replica sees its change at once")
        created = [lib.create(a, tenant, lib.person(first_name="P%d" % i), request_id="gate-%d" % i)
                   for i in range(3)]
        self.assertEqual(self.cached(tenant), expected_cached(self.a, tenant))

        set_prospects(a, tenant, False)
        for p in created:
            self.assertRpcError(lambda: lib.get(a, p.name), Code.FAILED_PRECONDITION,
                                reason="PROSPECTS_APP_DISABLED")
        self.assertRpcError(lambda: lib.create(a, tenant, lib.person()), Code.FAILED_PRECONDITION,
                            reason="PROSPECTS_APP_DISABLED")
        lib.wait_gate(self.b.channel, tenant, False)
        self.assertEqual(lib.count_rows(self.a.mariadb, self.database, "prospects", tenant), 3,
                         "turning the app off deletes nothing")

        set_prospects(a, tenant, True)
        for p in created:
            self.assertEqual(lib.get(a, p.name), p, "on again: the data is all there")
        lib.wait_gate(self.b.channel, tenant, True)
        for p in created:
            self.assertEqual(lib.get(self.b.channel, p.name), p)

    def test_freshness_across_replicas(self):
        a, b = self.a.channel, self.b.channel
        tenant, p = self.enabled_tenant_with_prospect(self.a)
        lib.wait_gate(b, tenant, True)
        # Each round starts right after B reloaded the flags (it just saw the previous change), so
        # B's process cache is fresh when A changes them: the measurement lands near the worst case.
        state, measured = True, []
        for round_ in range(6):
            new = not state
            # B answers with the old value right before the change: its process cache holds it
            for _ in range(3):
                self.assertEqual(gate_open(b, p.name), state, "round %d: B before the change" % round_)
            t0 = time.monotonic()
            set_prospects(a, tenant, new)
            t1 = time.monotonic()
            seen = None
            while time.monotonic() - t0 < 5:
                if gate_open(b, p.name) == new:
                    seen = time.monotonic()
                    break
                time.sleep(0.005)
            self.assertIsNotNone(seen, "round %d: B never saw the change" % round_)
            measured.append((seen - t0, t1 - t0))
            # and B does not go back to the old value
            for _ in range(3):
                self.assertEqual(gate_open(b, p.name), new, "round %d: B after the change" % round_)
            state = new
        print("\nfreshness A -> B: %s s (update round trip %s s)"
              % (" ".join("%.3f" % m[0] for m in measured), " ".join("%.3f" % m[1] for m in measured)))
        worst = max(m[0] for m in measured)
        self.assertLess(worst, FRESHNESS_BOUND_S + FRESHNESS_TOLERANCE_S,
                        "a change through A took %.3f s to reach B: %r" % (worst, measured))

    def test_invalidation_puts_the_new_version_at_once(self):
        a = self.a.channel
        tenant = harness.new_tenant()
        self.assertFalse(gate_open(a, "tenants/%s/prospects/%s" % (tenant, UNKNOWN_ID)))
        self.assertEqual(self.cached(tenant), "")
        for paths, p, q, want in ((["prospects_enabled"], True, False, "10"),
                                  (["quote_requests_enabled"], True, True, "11"),
                                  (["quote_requests_enabled"], True, False, "10"),
                                  (["prospects_enabled"], False, False, "00")):
            before = self.stats()
            apps = lib.update_apps(a, tenant, paths, prospects=p, quote_requests=q)
            # read right after the call returned: no wait, the write itself replaced the value
            value = self.cached(tenant)
            d = self.delta(before)
            row = mysql_flags(self.a, tenant)
            self.assertEqual(row[1], want)
            self.assertEqual(value, "%d|%s" % row, "Redis after %r" % paths)
            self.assertEqual((apps.prospects_enabled, apps.quote_requests_enabled),
                             (want[0] == "1", want[1] == "1"))
            self.assertKeyTtl(tenant)
            self.assertEqual(d["flags"]["invalidations"], 1, "one invalidation per update: %r" % d)

    def reset_cached(self, tenant, p, good):
        """Put the right value back in Redis and wait until A answers from it (a case before may
        have left a wrong answer in A's process cache)."""
        key = lib.apps_redis_key(tenant)
        self.redis.cli("DEL", key)
        self.plant(tenant, good)
        lib.wait_for(lambda: gate_open(self.a.channel, p.name), 10 * LOCAL_TTL_S, 0.02,
                     "A to answer from the repaired key again")

    def test_garbage_in_redis_is_a_miss_and_is_repaired(self):
        a = self.a.channel
        tenant, p = self.enabled_tenant_with_prospect(self.a)
        key = lib.apps_redis_key(tenant)
        good = expected_cached(self.a, tenant)
        self.assertEqual(self.cached(tenant), good)
        # each would close the gate if read leniently (MySQL says PROSPECTS is on)
        cases = [("garbage", ["SET", key, "xyz"]),
                 ("unversioned", ["SET", key, "00"]),
                 ("empty version", ["SET", key, "|00"]),
                 ("trailing junk", ["SET", key, "0|000"]),
                 ("empty", ["SET", key, ""]),
                 ("a list", ["RPUSH", key, "1|00"]),
                 ("a hash", ["HSET", key, "1", "00"]),
                 # values of the right shape that this service did not write
                 ("the review's planted value", ["SET", key, "9999999999999999999|00"]),
                 ("a forged tag", ["SET", key, "9999999999999999999|00|" + "0" * 32]),
                 ("another tenant's value", ["SET", key, lib.apps_cached_value("other", good)]),
                 ("another key's tag", ["SET", key, lib.apps_cached_value(tenant, good, "k2")]),
                 ("a huge value", ["SETRANGE", key, 10 * 1024 * 1024, "x"]),
                 ("a NUL byte", ["RAW", key, lib.apps_cached_value(tenant, good).encode() + b"\0"])]
        for what, command in cases:
            with self.subTest(what=what):
                self.reset_cached(tenant, p, good)
                self.redis.cli("DEL", key)
                if command[0] == "RAW":  # redis-cli cannot pass a NUL byte
                    redis_set_bytes(self.redis, command[1], command[2])
                else:
                    self.redis.cli(*command)
                before = self.stats()
                # each call answers from MySQL; the first load after the local entry expired repairs
                # the key with the versioned put
                deadline = time.monotonic() + 10 * LOCAL_TTL_S
                while not (self.redis.cli("TYPE", key) == "string" and self.cached(tenant) == good):
                    self.assertTrue(gate_open(a, p.name), "%s in Redis closed the gate" % what)
                    self.assertEqual(lib.get(a, p.name), p)
                    self.assertLess(time.monotonic(), deadline, "%s in Redis was never repaired" % what)
                    time.sleep(0.02)
                d = self.delta(before)
                self.assertEqual(self.redis.cli("TYPE", key), "string")
                self.assertKeyTtl(tenant)
                self.assertGreaterEqual(d["flags"]["redis_misses"], 1, "%s counts as a miss: %r" % (what, d))
                self.assertGreaterEqual(d["flags"]["mysql_reads"], 1)
                self.assertEqual(d["redis"]["failures"], 0, "garbage is not a Redis failure: %r" % d)
                self.assertEqual(lib.get(a, p.name), p)

    def check_malformed(self, values):
        """Each value in the tenant's key: A keeps answering from MySQL (the gate stays open) and
        the next load puts the right value back within a few local expiries."""
        a = self.a.channel
        tenant, p = self.enabled_tenant_with_prospect(self.a)
        good = expected_cached(self.a, tenant)
        version = good.split("|")[0]
        for value in values:
            value = value.replace("V", version)
            with self.subTest(value=value):
                self.reset_cached(tenant, p, good)
                self.redis.cli("SET", lib.apps_redis_key(tenant), value)
                deadline = time.monotonic() + 6 * LOCAL_TTL_S
                while self.cached(tenant) != good:
                    self.assertTrue(gate_open(a, p.name), "%r in Redis closed the gate" % value)
                    self.assertLess(time.monotonic(), deadline,
                                    "%r in Redis was never repaired (still %r)" % (value, self.cached(tenant)))
                    time.sleep(0.02)

    def test_signed_or_blank_versions_are_misses(self):
        """The server never writes a sign or blanks, but strtoull() accepts them: such a value must
        not be taken for flags."""
        self.check_malformed(["-1|00", "+V|00", " V|00"])

    def test_junk_behind_a_current_version_is_repaired(self):
        """A value with the row's version (or a larger one) but a malformed rest is a miss; the
        versioned put must replace it, not keep it because its leading number is not older."""
        self.check_malformed(["V|000", "V|1", "99999999999999999999999|00"])

    def burst(self, server, name, calls=64, channels=8):
        """`calls` concurrent GetProspect calls over `channels` connections; their outcomes."""
        chans = [harness.channel(server.address) for _ in range(channels)]
        try:
            for ch in chans:
                harness.health(ch, timeout=10, wait_for_ready=True)
            fns = [ch.unary_unary(lib.method("GetProspect"),
                                  request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=resources_pb2.Prospect.FromString) for ch in chans]
            req = service_pb2.GetProspectRequest(name=name)
            futures = [fns[i % channels].future(req, timeout=20) for i in range(calls)]
            out = []
            for f in futures:
                try:
                    out.append(f.result())
                except grpc.RpcError as e:
                    out.append(e)
            return out
        finally:
            for ch in chans:
                ch.close()

    def cold_tenant_on_b(self):
        """A tenant enabled (and its prospect created) through A: B never read its flags. Its Redis
        key is deleted, so B's first call has to go to MySQL."""
        tenant, p = self.enabled_tenant_with_prospect(self.a)
        self.redis.cli("DEL", lib.apps_redis_key(tenant))
        self.assertEqual(self.redis.cli("EXISTS", lib.apps_redis_key(tenant)), "0")
        return tenant, p

    def test_no_stampede_on_a_cold_tenant(self):
        # A Redis command that fails (PS_REDIS_TIMEOUT_MS is 20 ms; this kind of virtual machine
        # can stall for 40 ms) sends the load down the no-Redis path, which other tests cover: the
        # burst is then repeated on another cold tenant, up to three times.
        for attempt in range(3):
            tenant, p = self.cold_tenant_on_b()
            before = self.stats(self.b)
            results = self.burst(self.b, p.name)
            d = self.delta(before, self.b)
            if d["redis"]["failures"] == 0:
                break
            print("\nattempt %d: a Redis command failed (%r); again on another tenant" % (attempt + 1, d["redis"]))
        bad = [r for r in results if not isinstance(r, resources_pb2.Prospect) or r != p]
        self.assertEqual(bad, [], "every call of the burst answers the prospect")
        print("\ncold burst of %d calls: flags mysql_reads=%d waits=%d local_hits=%d redis_misses=%d"
              % (len(results), d["flags"]["mysql_reads"], d["flags"]["waits"], d["flags"]["local_hits"],
                 d["flags"]["redis_misses"]))
        self.assertEqual(d["flags"]["mysql_reads"], 1, "one MySQL read of the flags for the burst: %r" % d)
        self.assertEqual(d["flags"]["redis_misses"], 1, d)
        self.assertEqual(self.cached(tenant), expected_cached(self.a, tenant), "the load filled Redis")

    def test_no_stampede_while_the_flags_read_is_slow(self):
        """The same burst while MySQL holds the flags read back (LOCK TABLES tenant_apps WRITE for
        0.8 s), so every call of the burst arrives while the one load is still running."""
        tenant, p = self.cold_tenant_on_b()
        mdb = self.a.mariadb
        locker = subprocess.Popen(
            ["mariadb", "--no-defaults", "-h", mdb.host, "-P", str(mdb.port), "-u", mdb.migrate_user,
             "-p" + mdb.migrate_password, "-N", "-B", self.database, "-e",
             "LOCK TABLES tenant_apps WRITE; SELECT SLEEP(0.8); UNLOCK TABLES;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            lib.wait_for(lambda: mdb.sql("SHOW OPEN TABLES FROM `%s` WHERE `Table` = 'tenant_apps' "
                                         "AND In_use > 0" % self.database) != [], 10, 0.01,
                         "the lock on tenant_apps")
            before = self.stats(self.b)
            results = self.burst(self.b, p.name)
            d = self.delta(before, self.b)
        finally:
            _, err = locker.communicate(timeout=30)
        self.assertEqual(locker.returncode, 0, err)
        bad = [r for r in results if not isinstance(r, resources_pb2.Prospect) or r != p]
        self.assertEqual(bad, [], "every call of the burst answers the prospect")
        print("\nburst of %d calls during a slow load: flags mysql_reads=%d waits=%d local_hits=%d"
              % (len(results), d["flags"]["mysql_reads"], d["flags"]["waits"], d["flags"]["local_hits"]))
        self.assertEqual(d["flags"]["mysql_reads"], 1, "one MySQL read of the flags for the burst: %r" % d)
        self.assertGreater(d["flags"]["waits"], 0, "calls waited for the one load: %r" % d)

    def test_steady_state_redis_round_trips_per_call(self):
        tenant, p = self.enabled_tenant_with_prospect(self.b)
        calls, threads, min_s = 1000, 4, 4 * LOCAL_TTL_S  # several local expiries
        for _ in range(20):  # warm-up
            self.assertEqual(lib.get(self.b.channel, p.name), p)
        chans = [harness.channel(self.b.address) for _ in range(threads)]
        failures, done = [], []

        def worker(ch, start):
            n = 0
            while n < calls // threads or time.monotonic() - start < min_s:
                try:
                    lib.get(ch, p.name)
                except grpc.RpcError as e:
                    failures.append(e)
                n += 1
            done.append(n)
        try:
            for ch in chans:
                harness.health(ch, timeout=10, wait_for_ready=True)
            before = self.stats(self.b)
            start = time.monotonic()
            ts = [threading.Thread(target=worker, args=(ch, start)) for ch in chans]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            elapsed = time.monotonic() - start
            d = self.delta(before, self.b)
        finally:
            for ch in chans:
                ch.close()
        self.assertEqual(failures, [])
        calls = sum(done)
        rt = d["redis"]["commands"]
        print("\nsteady state: %d GetProspect in %.2f s: %d Redis commands = %.4f round trips per call; "
              "flags local_hits=%d redis_hits=%d refreshes=%d mysql_reads=%d"
              % (calls, elapsed, rt, rt / calls, d["flags"]["local_hits"], d["flags"]["redis_hits"],
                 d["flags"]["refreshes"], d["flags"]["mysql_reads"]))
        # one Redis GET per tenant per renewal (every 0.25-0.35 s), whatever the call rate
        self.assertLessEqual(rt, calls / 50, d)
        self.assertLessEqual(rt, 2 * (elapsed / LOCAL_TTL_S + 1), d)
        self.assertEqual(d["flags"]["mysql_reads"], 0, d)
        # and made by the server's own thread ahead of the expiry, not by the calls: under steady
        # calls the flags never expire (a renewal late by a stalled machine may leave one load)
        self.assertGreaterEqual(d["flags"]["refreshes"], int(elapsed / LOCAL_TTL_S), d)
        self.assertLessEqual(d["flags"]["redis_hits"], 2, d)


# ---------------------------------------------------------------- a Redis of its own

    # ---- issue 10: a value planted in Redis by anyone who can reach it never overrules MySQL

    def test_planted_value_is_overruled_within_the_freshness_bound(self):
        """The review's value switched a tenant's apps off on every replica until the next write."""
        tenant, p = self.enabled_tenant_with_prospect(self.a)
        key = lib.apps_redis_key(tenant)
        good = expected_cached(self.a, tenant)
        lib.wait_for(lambda: self.cached(tenant) == good, 5, 0.05, "the value cached")
        self.redis.cli("SET", key, "9999999999999999999|00")  # no TTL: it would stay for good
        t0 = time.monotonic()
        for server in (self.a, self.b):  # neither replica ever closes the gate
            for _ in range(int(2 * LOCAL_TTL_S / 0.02)):
                self.assertTrue(gate_open(server.channel, p.name))
                time.sleep(0.02)
        waited = lib.wait_for(lambda: self.cached(tenant) == good, FRESHNESS_BOUND_S, 0.01,
                              "the planted value repaired")
        print("planted value repaired %.2f s after it was planted (bound %.1f s)"
              % (time.monotonic() - t0, FRESHNESS_BOUND_S + 4 * LOCAL_TTL_S))
        self.assertLess(waited, FRESHNESS_BOUND_S)
        self.assertGreater(int(self.redis.cli("PTTL", key)), 0)

    def test_a_write_replaces_the_cached_value_whatever_it_claims(self):
        """Even a correctly tagged value claiming a newer version (a bug, a restored backup) is
        replaced by a change of the apps, also one that changes nothing."""
        a = self.a.channel
        tenant, p = self.enabled_tenant_with_prospect(self.a)
        version = int(expected_cached(self.a, tenant).split("|")[0])
        self.plant(tenant, "%d|00" % (version + 1000))
        lib.update_apps(a, tenant, ["prospects_enabled"], prospects=True)  # no change in MySQL
        self.assertEqual(self.cached(tenant), expected_cached(self.a, tenant))
        set_prospects(a, tenant, False)
        self.assertEqual(self.cached(tenant), expected_cached(self.a, tenant))
        self.assertTrue(self.cached(tenant).endswith("|00"))


class RedisAuth(CacheTestCase):
    """Redis with AUTH: a password (default user) or an ACL user, from a file; a wrong password
    costs nothing but the cache."""

    def test_password_and_acl_user(self):
        import os
        import tempfile
        with harness.private_redis() as redis:
            redis.cli("ACL", "SETUSER", "prospects", "on", ">s3cret-user", "~prospects:*",
                      "+get", "+getrange", "+set", "+eval", "+type", "+del", "+ping", "+strlen")
            redis.cli("CONFIG", "SET", "requirepass", "s3cret-default")
            cli = lambda *a: subprocess.run(["redis-cli", "-h", redis.host, "-p", str(redis.port),
                                             "--no-auth-warning", "-a", "s3cret-default"] +
                                            [str(x) for x in a],
                                            capture_output=True, text=True).stdout.strip()
            self.redis = type("R", (), {"cli": staticmethod(cli)})()
            pw = tempfile.NamedTemporaryFile("w", delete=False)
            pw.write("s3cret-user\n")
            pw.close()
            cases = [("ACL user, password from a file",
                      {"PS_REDIS_USER": "prospects", "PS_REDIS_PASSWORD_FILE": pw.name}, True),
                     ("default user", {"PS_REDIS_PASSWORD": "s3cret-default"}, True),
                     ("wrong password", {"PS_REDIS_PASSWORD": "wrong"}, False),
                     ("no password", {}, False)]
            try:
                for what, env, works in cases:
                    with self.subTest(what), harness.Server(redis=redis, env=env) as server:
                        self.server = server
                        tenant, p = self.enabled_tenant_with_prospect(server)
                        before = self.stats()
                        for _ in range(5):
                            self.assertEqual(lib.get(server.channel, p.name), p)
                            time.sleep(LOCAL_TTL_S)
                        d = self.delta(before)
                        if works:
                            self.assertGreater(d["flags"]["redis_hits"], 0, d)
                            self.assertEqual(d["redis"]["failures"], 0, d)
                        else:  # Redis counts as down: every call answered from MySQL
                            self.assertEqual(d["flags"]["redis_hits"], 0, d)
                            self.assertEqual(d["flags"]["redis_garbage"], 0, d)
                            self.assertGreater(d["redis"]["failures"] + d["redis"]["skipped"], 0, d)
                        self.assertNotIn("s3cret", server.log())  # never logged
            finally:
                os.unlink(pw.name)


class RedisFailures(CacheTestCase):
    """One server on a private Redis that the tests stop, start, pause and resume."""

    WORKERS = 4

    @classmethod
    def setUpClass(cls):
        cls.redis = harness.private_redis()
        try:
            cls.server = harness.Server(redis=cls.redis, env={"PS_WORKERS": cls.WORKERS})
        except BaseException:
            cls.redis.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.redis.close()

    def setUp(self):
        self.redis.start()
        self.paused = False

    def tearDown(self):
        if self.paused:
            self.redis.resume()

    def pause(self):
        self.redis.pause()
        self.paused = True

    def resume(self):
        self.redis.resume()
        self.paused = False

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            print("---- server log (last 3000 chars) ----\n%s" % self.server.log()[-3000:])
        return out

    def warm(self, tenant, p, timeout=10):
        """Call until the server has the tenant's flags in Redis (a test before may have left the
        breaker open or the key missing); returns the cached value."""
        want = expected_cached(self.server, tenant)

        def cached():
            self.assertEqual(lib.get(self.server.channel, p.name), p)
            return self.cached(tenant) == want
        lib.wait_for(cached, timeout, 0.05, "the server to cache %r in Redis" % want)
        return want

    def wait_redis_used(self, tenant, since, timeout=10):
        """Wait until the server reads the tenant's flags from Redis again (a call's load or a
        renewal ahead of expiry: redis_hits or refreshes rise past `since`, a server_stats())."""
        def used():
            gate_open(self.server.channel, "tenants/%s/prospects/%s" % (tenant, UNKNOWN_ID))
            d = self.delta(since)["flags"]
            return d["redis_hits"] + d["refreshes"] > 0
        return lib.wait_for(used, timeout, 0.1, "the server to read flags from Redis again")

    def test_redis_stopped_mid_run_fails_no_call(self):
        tenant, p = self.enabled_tenant_with_prospect(self.server)
        self.warm(tenant, p)
        stream = Stream(self.server, p.name)
        try:
            stream.run_for(0.5, at_least=20)
            before = self.stats()
            self.assertEqual(self.redis.stop(), 0)
            t_down = time.monotonic()
            stream.run_for(1.0, at_least=20)
            # a change while Redis is down commits too
            apps = lib.update_apps(self.server.channel, tenant, ["quote_requests_enabled"],
                                   quote_requests=True)
            self.assertTrue(apps.quote_requests_enabled)
            stream.run_for(1.5, at_least=20)
            during = self.delta(before)
            self.redis.start()
            t_up = time.monotonic()
            # the next load after the breaker's probe writes the key again: the cache is used again
            self.wait_cached(tenant, expected_cached(self.server, tenant), timeout=5,
                             what="the flags back in the restarted Redis")
            back = self.stats()
            self.wait_redis_used(tenant, back)
            stream.run_for(0.5, at_least=20)
        finally:
            stream.stop()
        self.assertEqual(stream.failures, [], "calls failed because Redis was stopped")
        n_down = len(stream.between(t_down, t_up))
        print("\nRedis stopped %.1f s: %d calls during the outage, %d in all, 0 failed; fallbacks=%d "
              "redis failures=%d skipped=%d"
              % (t_up - t_down, n_down, stream.count(), during["flags"]["fallbacks"],
                 during["redis"]["failures"], during["redis"]["skipped"]))
        self.assertGreater(n_down, 20)
        self.assertGreater(during["flags"]["fallbacks"], 0, during)
        self.assertGreater(during["redis"]["failures"], 0, during)
        # and a change now goes to Redis at once again
        lib.update_apps(self.server.channel, tenant, ["quote_requests_enabled"], quote_requests=False)
        self.assertEqual(self.cached(tenant), expected_cached(self.server, tenant),
                         "a change made once Redis was back and in use again did not reach Redis")
        self.assertTrue(self.cached(tenant).endswith("|10"))

    def test_redis_hung_calls_stay_fast(self):
        tenant, p = self.enabled_tenant_with_prospect(self.server)
        self.warm(tenant, p)
        stream = Stream(self.server, p.name)
        try:
            stream.run_for(0.5, at_least=20)
            before = self.stats()
            self.pause()
            t_hung = time.monotonic()
            stream.run_for(2.5, at_least=20)
            # calls of tenants never seen before (a load each) while Redis hangs
            for i in range(5):
                start = time.monotonic()
                self.assertFalse(gate_open(self.server.channel, "tenants/%s/prospects/%s"
                                           % (harness.new_tenant(), UNKNOWN_ID)))
                self.assertLess(time.monotonic() - start, HUNG_CALL_BOUND_S)
            during = self.delta(before)
            self.resume()
            t_back = time.monotonic()
            back = self.stats()
            self.wait_redis_used(tenant, back)
            stream.run_for(0.5, at_least=20)
        finally:
            stream.stop()
        self.assertEqual(stream.failures, [], "calls failed because Redis hung")
        lat = stream.between(t_hung, t_back)
        print("\nRedis hung %.1f s: %d calls, slowest %.3f s, 0 failed; fallbacks=%d redis failures=%d "
              "skipped=%d" % (t_back - t_hung, len(lat), max(lat), during["flags"]["fallbacks"],
                              during["redis"]["failures"], during["redis"]["skipped"]))
        self.assertGreater(len(lat), 20)
        self.assertLess(max(lat), HUNG_CALL_BOUND_S, "a call took too long while Redis hung")
        self.assertGreater(during["redis"]["failures"], 0, during)
        self.assertGreater(during["flags"]["fallbacks"], 0, during)

    def test_change_after_a_redis_restart_reaches_redis(self):
        """Redis restarts while the server is idle (every worker's connection is now dead); another
        replica fills the key again; then a change through this server must not leave the old value
        in Redis (it would be served by every replica for up to 36 s)."""
        ch = self.server.channel
        tenant, p = self.enabled_tenant_with_prospect(self.server)
        old = self.warm(tenant, p)
        self.redis.restart()  # same port, empty
        # the other replica's load after the restart (B's versioned put, as B would write it)
        self.plant(tenant, old)
        set_prospects(ch, tenant, False)
        t_change = time.monotonic()
        new = expected_cached(self.server, tenant)
        right_after = self.cached(tenant)
        reopened = None
        while reopened is None and time.monotonic() - t_change < 2 * BREAKER_S + 2 * LOCAL_TTL_S:
            if gate_open(ch, p.name):
                reopened = time.monotonic() - t_change
            time.sleep(0.02)
        self.assertIn(right_after, (new, ""),
                      "right after UpdateTenantApps Redis held the old value (MySQL: %r)%s"
                      % (new, "" if reopened is None else
                         "; the gate opened again %.2f s after PROSPECTS was turned off" % reopened))
        if reopened is not None:
            self.fail("the gate opened again %.2f s after PROSPECTS was turned off" % reopened)

    def test_change_while_redis_hung_is_not_undone_by_redis(self):
        """UpdateTenantApps while Redis hangs cannot write the new value to Redis; once Redis answers
        again, the old value it still holds must not be served (SPEC: a change is visible within one
        second, on every replica, the writing one included)."""
        ch = self.server.channel
        tenant, p = self.enabled_tenant_with_prospect(self.server)
        self.warm(tenant, p)
        self.pause()
        before = self.stats()
        # a load that needs Redis (a tenant never seen) fails on the hung Redis: the breaker opens
        self.assertFalse(gate_open(ch, "tenants/%s/prospects/%s" % (harness.new_tenant(), UNKNOWN_ID)))
        self.assertGreater(self.delta(before)["redis"]["failures"], 0)
        set_prospects(ch, tenant, False)
        t_change = time.monotonic()
        self.assertFalse(gate_open(ch, p.name))
        self.resume()
        # watch for a few breaker periods and local expiries: the gate must stay closed
        while time.monotonic() - t_change < 3 * BREAKER_S + 2 * LOCAL_TTL_S:
            if gate_open(ch, p.name):
                self.fail("%.2f s after PROSPECTS was turned off the gate opened again: Redis still "
                          "held %r (MySQL: %r)" % (time.monotonic() - t_change, self.cached(tenant),
                                                   expected_cached(self.server, tenant)))
            time.sleep(0.02)
        self.assertEqual(self.cached(tenant), expected_cached(self.server, tenant))

    def test_change_while_redis_hung_reaches_redis_without_a_call(self):
        """As above, but the writing replica gets no call once Redis answers again. The other
        replicas read the flags from Redis, so the change must still get there within the
        freshness bound (apps_sync.c), not only when this replica next loads some tenant's flags.
        Nothing calls the server after the change: the test reads Redis and MySQL directly."""
        ch = self.server.channel
        tenant, p = self.enabled_tenant_with_prospect(self.server)
        old = self.warm(tenant, p)
        self.pause()
        before = self.stats()
        self.assertFalse(gate_open(ch, "tenants/%s/prospects/%s" % (harness.new_tenant(), UNKNOWN_ID)))
        self.assertGreater(self.delta(before)["redis"]["failures"], 0)
        set_prospects(ch, tenant, False)
        new = expected_cached(self.server, tenant)
        self.assertNotEqual(new, old)
        self.resume()
        t_back = time.monotonic()
        first = self.cached(tenant)
        # the breaker lets a probe through BREAKER_S after the last failure; the retry then runs
        # within the sync period (0.2 s)
        self.wait_cached(tenant, new, BREAKER_S + FRESHNESS_BOUND_S + FRESHNESS_TOLERANCE_S,
                         "the change to reach Redis with no call on the server (Redis held %r right "
                         "after it answered again)" % first)
        print("\nchange reached Redis %.2f s after Redis answered again (right after: %s)"
              % (time.monotonic() - t_back, "old value" if first == old else repr(first)))


if __name__ == "__main__":
    harness.main()
