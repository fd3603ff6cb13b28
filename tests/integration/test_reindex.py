"""The background reindex (issue 14) against the real server and MariaDB.

Rows "written before the change" are made the way version 1 of the normal forms left them: created
through a server, then given in SQL the name key and word index rows that version 1 built for them
and norm_version 1. Version 1 kept "Ș" (U+0218) as written, upper case, so "Ștefan Popescu" had the
key "Ștefan popescu" and the words "Ștefan" and "popescu" (tests/unit/test_normalize_v1.c).

- With PS_REINDEX=0 nothing is rebuilt, and such rows are still found the old way: the query
  "Ștefan" (whose version-1 word is "Ștefan") and the duplicate check of "Ștefan Popescu" find them,
  pages of a listing that merges both ways see every record once, in both orders.
- A server with the reindex rebuilds them in batches while calls go on (they are found throughout),
  then they have the current keys and words ("stefan" finds them) and the current version; the
  metrics show the progress; a server with PS_REINDEX=0 learns that the job is done.
- Killed mid-way (SIGKILL), the job resumes from its cursor, over three tenants: the rows before
  it are not written again (a trigger counts the writes of every row), and rows_done ends at the
  number of rows.
- UpdateProspect calls during the reindex are never undone by it: neither many of them while it
  runs, nor one on a row further on in a batch that waits for a lock (the batch has locked its rows
  before it reads them, so it finds that row rebuilt already and leaves it).
- Of two servers one works on the job; when it dies the other takes it over.
- The database gone during the reindex: log lines and retries, no crash; it finishes afterwards.
"""

import re
import threading
import time
import urllib.request

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

JOB = "prospect_norms"
VERSION = harness.norm_version()  # the version the server builds (server/core/normalize.h)
FIRST = "Ștefan"            # S with comma below, U+0218: version 1 kept it as written
V1_FIRST = "Ștefan"         # its version-1 word
V2_FIRST = "stefan"         # its word now


def hexs(s):
    return s.encode("utf-8").hex()


def lit(s):
    """A SQL string literal for any text (as UTF-8 bytes)."""
    return "CONVERT(UNHEX('%s') USING utf8mb4)" % hexs(s) if s else "''"


def v1_terms(words):
    """The word index terms of version-1 words: each whole and its first 1..3 characters."""
    out = set()
    for w in words:
        for k in (1, 2, 3):
            out.add(w[:k])
        out.add(w)
    return out


def current_terms(words):
    """The word index terms the current version writes for words (ASCII or Latin letters here):
    version 1's, and the pair terms of their first 3 characters without digits (store/search.h,
    "Pairs")."""
    out = v1_terms(words)
    p3 = sorted({w[:3] for w in words if len(w) >= 3 and not any(c.isdigit() for c in w[:3])})
    if len(p3) > 16:
        out.add("~ ~")
        return out
    for i, a in enumerate(p3):
        for b in p3[i + 1:]:
            out.add("%s %s" % (a, b))
    return out


def uid(name):
    return lib.prospect_id(name).replace("-", "")


def make_old(db, database, tenant, prospect, last_name, v1_words=None):
    """Gives the record the name key and word index rows version 1 built for its name, "Ștefan
    <last_name>" (the rest ASCII) or the version-1 words given, and norm_version 1."""
    i = uid(prospect.name)
    words = v1_words or [V1_FIRST, last_name.lower()]
    key = " ".join(words)
    terms = v1_terms(words)
    db.sql("UPDATE prospects SET name_key = %s, norm_version = 1 WHERE tenant_id = '%s' AND id = UNHEX('%s')"
           % (lit(key), tenant, i), database)
    db.sql("DELETE FROM prospect_terms WHERE tenant_id = '%s' AND id = UNHEX('%s')" % (tenant, i), database)
    db.sql("INSERT INTO prospect_terms (tenant_id, term, state, id, display_name) SELECT tenant_id, t.term,"
           " state, id, display_name FROM prospects, (%s) t WHERE tenant_id = '%s' AND id = UNHEX('%s')"
           % (" UNION ALL ".join("SELECT %s AS term" % lit(t) for t in sorted(terms)), tenant, i), database)


def job_row(db, database):
    """The job's row as a dict (None when there is none)."""
    r = db.sql("SELECT version, cursor_tenant, HEX(cursor_id), rows_total, rows_done, rows_rebuilt, batches,"
               " finish_time IS NOT NULL FROM reindex_progress WHERE job = '%s'" % JOB, database)
    if not r:
        return None
    v = r[0]
    return {"version": int(v[0]), "cursor": (v[1], v[2].lower()), "rows_total": int(v[3]),
            "rows_done": int(v[4]), "rows_rebuilt": int(v[5]), "batches": int(v[6]), "finished": v[7] == "1"}


def versions(db, database, tenant):
    """{id hex: norm_version} of the tenant's rows."""
    return {h.lower(): int(v) for h, v in db.sql(
        "SELECT HEX(id), norm_version FROM prospects WHERE tenant_id = '%s'" % tenant, database)}


def name_key(db, database, prospect):
    return bytes.fromhex(db.sql("SELECT HEX(name_key) FROM prospects WHERE id = UNHEX('%s')"
                                % uid(prospect.name), database)[0][0]).decode("utf-8")


def terms_of(db, database, prospect):
    return {bytes.fromhex(h).decode("utf-8") for (h,) in db.sql(
        "SELECT HEX(term) FROM prospect_terms WHERE id = UNHEX('%s')" % uid(prospect.name), database)}


def metrics_port(server, timeout=10):
    pat = re.compile(r"serving Prometheus metrics on http://\S+/metrics \(port (\d+)\)")
    lib.wait_for(lambda: pat.search(server.log()), timeout, what="the metrics line")
    return int(pat.search(server.log()).group(1))


def reindex_metrics(server):
    """{metric name: value} of the job's prospect_reindex_* series."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = "http://127.0.0.1:%d/metrics" % server.metrics_port
    text = opener.open(url, timeout=10).read().decode()
    out = {}
    for m in re.finditer(r'^(prospect_reindex_\w+)\{job="%s"\} (\S+)$' % JOB, text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def start_server(database, mariadb=None, **env):
    """A server on database with the reindex settings given (PS_REINDEX_CHECK_S 1 unless given) and
    its metrics endpoint."""
    e = {"PS_REINDEX_CHECK_S": "1", "PS_METRICS_LISTEN": "127.0.0.1:0"}
    e.update({k: str(v) for k, v in env.items()})
    s = harness.Server(database=database, mariadb=mariadb, env=e)
    try:
        s.metrics_port = metrics_port(s)
    except BaseException:
        s.close()
        raise
    return s


def found(channel, tenant, query, order=service_pb2.NEWEST_FIRST, page_size=50):
    """The names the overview lists for query, page after page."""
    return [p.name for p in lib.list_all(channel, tenant, query=query, page_size=page_size,
                                         state_filter=service_pb2.ALL_STATES, order_by=order)]


def dup_names(channel, tenant, first, last):
    resp = lib.find_duplicates(channel, tenant, candidate=lib.person(first_name=first, last_name=last))
    return {d.prospect.name for d in resp.duplicates}


class Base(lib.RpcAssertions, harness.unittest.TestCase):
    """A fresh database with old rows, made through a server that does not reindex."""

    N_OLD = 12
    N_NEW = 4

    def setUp(self):
        self.servers = []
        self.off = self.server(PS_REINDEX=0)
        self.db, self.database = self.off.mariadb, self.off.database
        ch = self.off.channel
        self.tenant = lib.new_enabled_tenant(ch, "rx")
        self.old = [lib.create(ch, self.tenant, lib.person(first_name=FIRST, last_name="Popescu%d" % i))
                    for i in range(self.N_OLD)]
        for i, p in enumerate(self.old):
            make_old(self.db, self.database, self.tenant, p, "Popescu%d" % i)
        self.new = [lib.create(ch, self.tenant, lib.person(first_name=FIRST, last_name="Ionescu%d" % i))
                    for i in range(self.N_NEW)]

    def tearDown(self):
        for s in self.servers:
            s.close()
            report = s.sanitizer_report()
            if report:
                self.fail("sanitizer report in a server log:\n" + report)

    def server(self, mariadb=None, database=None, **env):
        s = start_server(database or getattr(self, "database", None), mariadb=mariadb, **env)
        self.servers.append(s)
        return s

    def wait_done(self, timeout=60):
        lib.wait_for(lambda: (job_row(self.db, self.database) or {}).get("finished"), timeout, 0.05,
                     "the reindex to finish")
        return job_row(self.db, self.database)

    def names(self, ps):
        return {p.name for p in ps}


class OldRowsTheOldWay(Base):
    """PS_REINDEX=0: the rows stay as they are and are found as version 1 found them."""

    def test_nothing_is_rebuilt(self):
        before = lib.dump_tenant(self.db, self.database, self.tenant, ("prospects", "prospect_terms"))
        time.sleep(2.5)  # more than two rounds of PS_REINDEX_CHECK_S
        self.assertIsNone(job_row(self.db, self.database))
        self.assertEqual(lib.dump_tenant(self.db, self.database, self.tenant, ("prospects", "prospect_terms")),
                         before)
        self.assertEqual(set(versions(self.db, self.database, self.tenant).values()), {1, VERSION})
        m = reindex_metrics(self.off)
        self.assertEqual((m["prospect_reindex_done"], m["prospect_reindex_active"],
                          m["prospect_reindex_rows_total"]), (0, 0, 0))
        self.assertNotIn("reindex %s: started" % JOB, self.off.log())

    def test_found_by_their_old_words(self):
        ch = self.off.channel
        everyone = self.names(self.old) | self.names(self.new)
        for order in (service_pb2.NEWEST_FIRST, service_pb2.BY_NAME):
            with self.subTest(order=order):
                # "Ștefan" is "stefan" now and "Ștefan" in version 1: both are looked up
                self.assertEqual(set(found(ch, self.tenant, FIRST, order)), everyone)
                self.assertEqual(set(found(ch, self.tenant, FIRST + " popescu3", order)), {self.old[3].name})
                # "stefan" was never a word of the old rows: they wait for the reindex
                self.assertEqual(set(found(ch, self.tenant, V2_FIRST, order)), self.names(self.new))
                # pages of the merged listing: every record once, in the listing's order
                for size in (1, 2, 5):
                    got = found(ch, self.tenant, FIRST, order, page_size=size)
                    self.assertEqual(len(got), len(everyone), "page_size %d" % size)
                    self.assertEqual(set(got), everyone)
                    self.assertEqual(got, found(ch, self.tenant, FIRST, order, page_size=100))

    def test_duplicate_check_finds_them(self):
        ch = self.off.channel
        # "Ștefan Țăranu": Ț (U+021A) kept, ă folded: version 1's key "Ștefan Țaranu" shares no word
        # with "stefan taranu", so only the lookup of the version-1 key finds it
        p = lib.create(ch, self.tenant, lib.person(first_name=FIRST, last_name="Țăranu"))
        make_old(self.db, self.database, self.tenant, p, None, [V1_FIRST, "Țaranu"])
        for first, last in ((FIRST, "Țăranu"), (FIRST.upper(), "ȚĂRANU")):
            with self.subTest(candidate=first + " " + last):
                resp = lib.find_duplicates(ch, self.tenant, candidate=lib.person(first_name=first, last_name=last))
                got = {d.prospect.name: (set(d.reasons), d.score) for d in resp.duplicates}
                self.assertEqual(got.get(p.name), ({service_pb2.SIMILAR_NAME}, 1.0))
        resp = lib.find_duplicates(ch, self.tenant, prospect=self.old[5].name)
        self.assertNotIn(self.old[5].name, {d.prospect.name for d in resp.duplicates})
        self.assertIn(self.old[6].name, {d.prospect.name for d in resp.duplicates})


class RebuiltWhileServing(Base):
    N_OLD = 40

    def test_rebuilt_in_batches_while_found(self):
        ch = self.off.channel
        everyone = self.names(self.old) | self.names(self.new)
        on = self.server(PS_REINDEX_BATCH=4, PS_REINDEX_PAUSE_MS=60)
        seen_progress = []
        rounds = 0
        while True:
            row = job_row(self.db, self.database)
            m = reindex_metrics(on)
            if row and not row["finished"] and 0 < m["prospect_reindex_rows_remaining"]:
                seen_progress.append((m["prospect_reindex_rows_total"], m["prospect_reindex_rows_remaining"]))
            # found throughout, through either server
            for s in (self.off, on):
                self.assertEqual(set(found(s.channel, self.tenant, FIRST)), everyone)
                self.assertIn(self.old[rounds % self.N_OLD].name,
                              dup_names(s.channel, self.tenant, FIRST, "Popescu%d" % (rounds % self.N_OLD)))
            rounds += 1
            if row and row["finished"]:
                break
            self.assertLess(rounds, 2000, "the reindex does not finish")
        self.assertGreater(len(seen_progress), 2, "progress was never seen in the metrics")
        for (done_a, left_a), (done_b, left_b) in zip(seen_progress, seen_progress[1:]):
            self.assertLessEqual(done_a, done_b)
            self.assertGreaterEqual(left_a, left_b)

        row = job_row(self.db, self.database)
        total = self.N_OLD + self.N_NEW
        self.assertEqual((row["version"], row["rows_total"], row["rows_done"], row["rows_rebuilt"]),
                         (VERSION, total, total, self.N_OLD))
        # one batch that finds the first tenant, its full batches, one that finds no more
        self.assertEqual(row["batches"], 1 + total // 4 + 1)
        self.assertEqual(set(versions(self.db, self.database, self.tenant).values()), {VERSION})
        for i, p in enumerate(self.old):
            self.assertEqual(name_key(self.db, self.database, p), "stefan popescu%d" % i)
            self.assertEqual(terms_of(self.db, self.database, p), current_terms([V2_FIRST, "popescu%d" % i]))
            self.assertEqual(lib.get(ch, p.name), p)  # the record itself is unchanged: same etag
        self.assertEqual(set(found(ch, self.tenant, V2_FIRST)), everyone)
        self.assertEqual(set(found(on.channel, self.tenant, FIRST)), everyone)
        m = reindex_metrics(on)
        self.assertEqual((m["prospect_reindex_rows_total"], m["prospect_reindex_rows_remaining"],
                          m["prospect_reindex_done"], m["prospect_reindex_active"]), (total, 0, 1, 0))
        self.assertRegex(on.log(), r"reindex %s: started: .* for %d rows" % (JOB, total))
        self.assertRegex(on.log(), r"reindex %s: done: %d rows, %d of them rebuilt" % (JOB, total, self.N_OLD))
        # the server that does not reindex learns it within PS_REINDEX_CHECK_S
        lib.wait_for(lambda: reindex_metrics(self.off)["prospect_reindex_done"] == 1, 5, 0.1,
                     "the other server to see the job done")
        self.assertEqual(reindex_metrics(self.off)["prospect_reindex_rows_total"], 0)
        self.assertIn("reindex %s: done (%d rows, %d of them rebuilt)" % (JOB, total, self.N_OLD),
                      self.off.log())


class WordIndexBackfilled(Base):
    """Records written before the word index existed (no prospect_terms rows at all, version 1):
    the reindex gives them their rows, and the overview finds them afterwards."""

    def test_records_without_index_rows_get_them(self):
        bare = [lib.create(self.off.channel, self.tenant, lib.company(company_name="Kaasmakerij Zuid %d" % i))
                for i in range(5)]
        for p in bare:
            self.db.sql("DELETE FROM prospect_terms WHERE tenant_id = '%s' AND id = UNHEX('%s')"
                        % (self.tenant, uid(p.name)), self.database)
            self.db.sql("UPDATE prospects SET norm_version = 1 WHERE tenant_id = '%s' AND id = UNHEX('%s')"
                        % (self.tenant, uid(p.name)), self.database)
        self.assertEqual(found(self.off.channel, self.tenant, "kaasmakerij"), [])  # not in the index
        on = self.server()
        row = self.wait_done()
        self.assertEqual(row["rows_rebuilt"], self.N_OLD + len(bare))
        for s in (on, self.off):
            self.assertEqual(set(found(s.channel, self.tenant, "kaasmakerij")), self.names(bare))
            self.assertEqual(set(found(s.channel, self.tenant, "kaas zuid")), self.names(bare))
        for p in bare:
            self.assertIn("kaasmakerij", terms_of(self.db, self.database, p))


class ResumesAfterKill(Base):
    """Old records in three tenants (30, 8 and 58: one of exactly a batch), batches of 8."""
    N_OLD = 30
    N_NEW = 0
    MORE = (8, 58)

    def setUp(self):
        super().setUp()
        ch = self.off.channel
        for n in self.MORE:
            t = lib.new_enabled_tenant(ch, "rx")
            for i in range(n):
                p = lib.create(ch, t, lib.person(first_name=FIRST, last_name="Popescu%d" % i))
                make_old(self.db, self.database, t, p, "Popescu%d" % i)
        self.total = self.N_OLD + sum(self.MORE)

    def keys(self):
        """{(tenant, id hex): norm_version} of every record, and the keys in primary-key order."""
        v = {(t, h.lower()): int(n) for t, h, n in self.db.sql(
            "SELECT tenant_id, HEX(id), norm_version FROM prospects", self.database)}
        return v, sorted(v)

    def test_resumes_from_its_cursor(self):
        # every write of a row, counted by a trigger: a batch redone would write its rows again
        self.db.sql("CREATE TABLE reindex_writes (tenant_id VARCHAR(63), id BINARY(16), norm_version INT)",
                    self.database)
        self.db.sql("CREATE TRIGGER reindex_writes AFTER UPDATE ON prospects FOR EACH ROW"
                    " INSERT INTO reindex_writes VALUES (NEW.tenant_id, NEW.id, NEW.norm_version)",
                    self.database)
        first = self.server(PS_REINDEX_BATCH=8, PS_REINDEX_PAUSE_MS=200)
        lib.wait_for(lambda: (job_row(self.db, self.database) or {}).get("rows_done", 0) >= 40, 30, 0.02,
                     "40 records")
        first.stop(harness.signal.SIGKILL)
        row = job_row(self.db, self.database)
        self.assertFalse(row["finished"])
        self.assertLess(row["rows_done"], self.total)
        # the records up to the cursor are rebuilt (a cursor at a tenant's start: none of its own)
        vers, keys = self.keys()
        done = [k for k in keys if k <= row["cursor"]]
        self.assertEqual(len(done), row["rows_done"])
        self.assertEqual({vers[k] for k in done}, {VERSION})                # the batches committed
        self.assertEqual({vers[k] for k in keys if k not in done}, {1})  # the rest untouched
        self.assertEqual(sorted(self.writes()), done)

        second = self.server(PS_REINDEX_BATCH=8, PS_REINDEX_PAUSE_MS=0)
        end = self.wait_done()
        self.assertIn("reindex %s: resuming after %d of %d rows (%d batches committed)"
                      % (JOB, row["rows_done"], self.total, row["batches"]), second.log())
        self.assertEqual(end["rows_done"], self.total)  # not one record twice
        # one batch finds the first tenant; each tenant's full batches, and one that finds the next
        self.assertEqual(end["batches"], 1 + sum(n // 8 + 1 for n in (self.N_OLD,) + self.MORE))
        writes = self.writes()
        self.assertEqual(sorted(writes), keys)  # every record written once, over both runs
        self.assertEqual(set(writes.values()), {1})
        self.assertEqual(set(self.keys()[0].values()), {VERSION})

    def writes(self):
        rows = self.db.sql("SELECT tenant_id, LOWER(HEX(id)), COUNT(*) FROM reindex_writes GROUP BY tenant_id, id",
                           self.database)
        return {(t, h): int(n) for t, h, n in rows}


class UpdatesDuringTheReindex(Base):
    N_OLD = 60
    N_NEW = 0

    def test_concurrent_updates_are_kept(self):
        on = self.server(PS_REINDEX_BATCH=5, PS_REINDEX_PAUSE_MS=30)
        final = {}    # name -> (last name, updates)
        lock = threading.Lock()
        errors = []
        stop = threading.Event()

        def writer(k):  # each writer its own third of the records: their order is known
            ch = harness.channel(on.address)
            mine = self.old[k::3]
            n = 0
            try:
                while not stop.is_set():
                    p = mine[(n * 7) % len(mine)]
                    last = "Nou%d%d" % (k, n)
                    lib.update(ch, resources_pb2.Prospect(name=p.name, last_name=last), ["last_name"])
                    with lock:
                        prev = final.get(p.name, (None, 0))
                        final[p.name] = (last, prev[1] + 1)
                    n += 1
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)
            finally:
                ch.close()

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        try:
            self.wait_done()
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.assertGreater(len(final), 10)
        for i, p in enumerate(self.old):
            last, updates = final.get(p.name, ("Popescu%d" % i, 0))
            with self.subTest(record=i, last=last):
                got = lib.get(on.channel, p.name)
                self.assertEqual(got.last_name, last)
                self.assertEqual(got.display_name, "%s %s" % (FIRST, last))
                self.assertEqual(got.etag, "v%d" % (1 + updates))  # the reindex makes no version
                self.assertEqual(name_key(self.db, self.database, p), "stefan " + last.lower())
                self.assertEqual(terms_of(self.db, self.database, p), current_terms([V2_FIRST, last.lower()]))
        self.assertEqual(set(versions(self.db, self.database, self.tenant).values()), {VERSION})


class UpdateInsideABatch(Base):
    N_OLD = 12
    N_NEW = 0

    def test_update_of_a_row_ahead_in_the_batch_is_kept(self):
        """A batch that stops on a locked row (held here for 1.5 s) while a caller updates a later
        row of the same batch: that row is not rewritten from what it was before the update."""
        ids = sorted(versions(self.db, self.database, self.tenant))
        by_id = {uid(p.name): p for p in self.old}
        held, later = by_id[ids[4]], by_id[ids[5]]
        cmd = ["mariadb", "--no-defaults", "-uroot", "--socket=" + self.db.socket, self.database, "-e",
               "BEGIN; SELECT id FROM prospects WHERE tenant_id = '%s' AND id = UNHEX('%s') FOR UPDATE;"
               " SELECT SLEEP(1.5); COMMIT;" % (self.tenant, ids[4])]
        holder = harness.subprocess.Popen(cmd, stdout=harness.subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            self.server(PS_REINDEX_BATCH=self.N_OLD, PS_REINDEX_PAUSE_MS=0)
            lib.wait_for(lambda: job_row(self.db, self.database) is not None, 10, 0.02, "the job to start")
            time.sleep(0.2)  # the batch waits for the held row now
            self.assertFalse(job_row(self.db, self.database)["finished"])
            t0 = time.monotonic()
            updated = lib.update(self.off.channel, resources_pb2.Prospect(name=later.name, last_name="Later"),
                                 ["last_name"])
            self.assertLess(time.monotonic() - t0, 1.0, "the update waited for the batch")
            self.assertIsNone(holder.poll(), "the row was not held while the update ran")
        finally:
            holder.wait(30)
        self.wait_done()
        self.assertEqual(lib.get(self.off.channel, later.name), updated)
        self.assertEqual(name_key(self.db, self.database, later), "stefan later")
        self.assertEqual(terms_of(self.db, self.database, later), current_terms([V2_FIRST, "later"]))
        self.assertEqual(name_key(self.db, self.database, held), "stefan popescu%d" % self.old.index(held))
        self.assertEqual(set(versions(self.db, self.database, self.tenant).values()), {VERSION})


class TwoServers(Base):
    N_OLD = 150
    N_NEW = 0

    def test_one_works_and_the_other_takes_over(self):
        a = self.server(PS_REINDEX_BATCH=3, PS_REINDEX_PAUSE_MS=100)
        lib.wait_for(lambda: (job_row(self.db, self.database) or {}).get("batches", 0) >= 2, 30, 0.02,
                     "two batches")
        b = self.server(PS_REINDEX_BATCH=3, PS_REINDEX_PAUSE_MS=100)
        lib.wait_for(lambda: "another server works on it" in b.log(), 10, 0.05, "the second server to wait")
        time.sleep(1.5)
        ma, mb = reindex_metrics(a), reindex_metrics(b)
        self.assertEqual((ma["prospect_reindex_active"], mb["prospect_reindex_active"]), (1, 0))
        self.assertEqual(mb["prospect_reindex_rows_total"], 0)
        self.assertNotRegex(b.log(), r" (warn|error) .*reindex")
        a_rows = ma["prospect_reindex_rows_total"]
        a.stop(harness.signal.SIGKILL)  # its connection closes: the lock is free at once
        done = self.wait_done(timeout=30)
        m = re.search(r"reindex %s: resuming after (\d+) of %d rows" % (JOB, self.N_OLD), b.log())
        self.assertIsNotNone(m, b.log())
        self.assertGreaterEqual(int(m.group(1)), a_rows)
        self.assertEqual(done["rows_done"], self.N_OLD)
        mb = reindex_metrics(b)
        self.assertEqual(mb["prospect_reindex_rows_total"], self.N_OLD - int(m.group(1)))
        self.assertEqual((mb["prospect_reindex_done"], mb["prospect_reindex_active"]), (1, 0))


class DatabaseGone(Base):
    N_OLD = 40
    N_NEW = 0

    def setUp(self):
        self.private = harness.private_mariadb()
        self.database = harness.fresh_database(self.private)
        self.servers = []
        self.off = self.server(mariadb=self.private, PS_REINDEX=0)
        self.db = self.private
        ch = self.off.channel
        self.tenant = lib.new_enabled_tenant(ch, "rx")
        self.old = [lib.create(ch, self.tenant, lib.person(first_name=FIRST, last_name="Popescu%d" % i))
                    for i in range(self.N_OLD)]
        for i, p in enumerate(self.old):
            make_old(self.db, self.database, self.tenant, p, "Popescu%d" % i)
        self.new = []

    def tearDown(self):
        super().tearDown()
        self.private.close()

    def test_retries_and_finishes(self):
        on = self.server(mariadb=self.private, PS_REINDEX_BATCH=4, PS_REINDEX_PAUSE_MS=100)
        lib.wait_for(lambda: (job_row(self.db, self.database) or {}).get("batches", 0) >= 2, 30, 0.02,
                     "two batches")
        self.private.kill()
        lib.wait_for(lambda: re.search(r"warn reindex %s: .* failed: .*; retrying in 2 s" % JOB, on.log()),
                     20, 0.1, "the reindex to say it failed twice")
        self.assertTrue(on.running())
        self.private.start()
        done = self.wait_done(timeout=90)
        self.assertTrue(on.running())
        self.assertEqual(done["rows_done"], self.N_OLD)
        self.assertEqual(set(versions(self.db, self.database, self.tenant).values()), {VERSION})
        self.assertIn("reindex %s: resuming after" % JOB, on.log())


if __name__ == "__main__":
    harness.main()
