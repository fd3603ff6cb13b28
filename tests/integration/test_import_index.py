"""The word index behind the bulk import (issue 16): BatchCreateProspects commits its records with
their duplicate keys and queues them (prospect_index_queue); the background indexer of the servers
(server/indexer.c) writes their prospect_terms rows shortly after.

A server with PS_INDEX_QUEUE=0 never drains the queue: the tests import through one, change the
records while they wait, and then start servers that drain it. Checked against the database:
exact keys at once, words, prefixes and the fuzzy duplicate check once indexed; a record updated,
merged away or erased before the indexer reaches it; a server killed with a backlog and another
started; two servers draining one queue. Every indexed record's term rows are compared with those
CreateProspect writes for the same data in another tenant."""

import re
import time
import urllib.request

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

R = resources_pb2
S = service_pb2
O = S.ProspectImportResult


def batch(channel, tenant, rows, timeout=60):
    req = S.BatchCreateProspectsRequest(parent="tenants/%s" % tenant)
    for r in rows:
        req.prospects.add(prospect=r)
    resp = harness.call(channel, lib.method("BatchCreateProspects"), req,
                        S.BatchCreateProspectsResponse, timeout=timeout)
    assert [x.outcome for x in resp.results] == [O.CREATED] * len(rows), resp
    return [x.prospect for x in resp.results]


def erase(channel, name):
    return harness.call(channel, lib.method("ErasePersonData"), S.ErasePersonDataRequest(name=name),
                        S.ErasePersonDataResponse)


def queued(db, database, tenant=None):
    where = " WHERE tenant_id = '%s'" % tenant if tenant else ""
    return int(db.sql("SELECT COUNT(*) FROM prospect_index_queue" + where, database)[0][0])


def queued_id(db, database, tenant, name):
    return int(db.sql("SELECT COUNT(*) FROM prospect_index_queue WHERE tenant_id = '%s'"
                      " AND id = UNHEX('%s')" % (tenant, lib.hex_id(name)), database)[0][0])


def terms(db, database, tenant, name):
    """The term rows of one record: {(term, state, display name)}."""
    rows = db.sql("SELECT HEX(term), state, HEX(display_name) FROM prospect_terms WHERE tenant_id ="
                  " '%s' AND id = UNHEX('%s')" % (tenant, lib.hex_id(name)), database)
    return {(bytes.fromhex(t).decode(), int(s), bytes.fromhex(d).decode()) for t, s, d in rows}


def all_terms(db, database, tenant):
    """{display name: its term rows} of every record of the tenant (names are distinct here)."""
    rows = db.sql("SELECT HEX(id), HEX(term), state, HEX(display_name) FROM prospect_terms"
                  " WHERE tenant_id = '%s'" % tenant, database)
    out = {}
    for i, t, s, d in rows:
        name = bytes.fromhex(d).decode()
        out.setdefault(name, set()).add((bytes.fromhex(t).decode(), int(s), name))
    return out


def term_rows(db, database, tenant):
    return int(db.sql("SELECT COUNT(*) FROM prospect_terms WHERE tenant_id = '%s'" % tenant,
                      database)[0][0])


def found(channel, tenant, query):
    return sorted(p.display_name for p in lib.list_all(channel, tenant, query=query))


def metrics(server):
    """{name: value} of the prospect_index_queue_* series."""
    pat = re.compile(r"serving Prometheus metrics on http://\S+/metrics \(port (\d+)\)")
    lib.wait_for(lambda: pat.search(server.log()), 10, what="the metrics line")
    port = int(pat.search(server.log()).group(1))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    text = opener.open("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(prospect_index_queue_\w+) (\S+)$", text, re.M)}


def people(prefix, n):
    return [lib.person(first_name="Ada%s" % prefix, last_name="Lovelace%04d" % i,
                       email="ada%s.%d@example.com" % (prefix.lower(), i),
                       address=R.Address(city="Liège")) for i in range(n)]


class Base(lib.RpcAssertions, harness.unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.off = self.server(PS_INDEX_QUEUE=0)
        self.db, self.database = self.off.mariadb, self.off.database
        self.t = lib.new_enabled_tenant(self.off.channel, "ix")
        self.ref = lib.new_enabled_tenant(self.off.channel, "ixref")

    def tearDown(self):
        for s in self.servers:
            s.close()
            report = s.sanitizer_report()
            if report:
                self.fail("sanitizer report in a server log:\n" + report)

    def server(self, database=None, wait=True, **env):
        e = {"PS_METRICS_LISTEN": "127.0.0.1:0"}
        e.update({k: str(v) for k, v in env.items()})
        s = harness.Server(database=database or getattr(self, "database", None), env=e, wait=wait)
        self.servers.append(s)
        return s

    def wait_drained(self, timeout=60):
        lib.wait_for(lambda: queued(self.db, self.database) == 0, timeout, 0.05, "the queue to drain")

    def assertIndexedLikeCreate(self, rows):
        """rows, made by CreateProspect in the reference tenant, get the same term rows there as the
        imported records of the same names have in self.t."""
        for r in rows:
            lib.create(self.off.channel, self.ref, r)
        want, got = all_terms(self.db, self.database, self.ref), all_terms(self.db, self.database, self.t)
        self.assertEqual(len(got), len(rows))
        self.assertEqual(got, want)
        self.assertEqual(term_rows(self.db, self.database, self.t),
                         term_rows(self.db, self.database, self.ref))


class Queued(Base):
    def test_exact_keys_at_once_words_once_indexed(self):
        rows = [lib.person(first_name="Éloïse", last_name="Dubœuf", email="eloise@duboeuf.be",
                           address=R.Address(city="Liège")),
                lib.company(company_name="Bakkerij Smits Antwerpen", vat_number="BE0123456789"),
                lib.person(first_name="Piet", last_name="Jansen", phone="+32 2 123 45 67")]
        names = batch(self.off.channel, self.t, rows)
        ch = self.off.channel
        # the record and its duplicate keys are there at once, the words are not
        self.assertEqual(queued(self.db, self.database, self.t), 3)
        self.assertEqual(term_rows(self.db, self.database, self.t), 0)
        self.assertEqual(lib.get(ch, names[0]).display_name, "Éloïse Dubœuf")
        dup = lib.find_duplicates(ch, self.t, candidate=lib.person(email="ELOISE@duboeuf.be"))
        self.assertEqual([d.prospect.name for d in dup.duplicates], [names[0]])
        dup = lib.find_duplicates(ch, self.t, candidate=lib.company(company_name="X", vat_number="BE 0123.456.789"))
        self.assertEqual([d.prospect.name for d in dup.duplicates], [names[1]])
        dup = lib.find_duplicates(ch, self.t, candidate=lib.person(first_name="Piet", last_name="Jansen"))
        self.assertEqual([d.prospect.name for d in dup.duplicates], [names[2]])
        self.assertEqual(found(ch, self.t, "liège"), [])
        near = lib.company(company_name="Bakkerij Smits")
        self.assertEqual(list(lib.find_duplicates(ch, self.t, candidate=near, min_score=0.5).duplicates), [])

        on = self.server()
        t0 = time.monotonic()
        lib.wait_for(lambda: found(on.channel, self.t, "liège") == ["Éloïse Dubœuf"], 10, 0.05,
                     "the words to be found")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(found(on.channel, self.t, "du"), ["Éloïse Dubœuf"])       # a prefix
        self.assertEqual(found(on.channel, self.t, "bakk antw"), ["Bakkerij Smits Antwerpen"])
        self.assertEqual(found(on.channel, self.t, "0123456789"), ["Bakkerij Smits Antwerpen"])
        dup = lib.find_duplicates(on.channel, self.t, candidate=near, min_score=0.5)
        self.assertEqual([d.prospect.name for d in dup.duplicates], [names[1]])
        dup = lib.find_duplicates(on.channel, self.t,
                                  candidate=lib.person(first_name="Piet", last_name="Janssen"), min_score=0.8)
        self.assertEqual([d.prospect.name for d in dup.duplicates], [names[2]])
        self.wait_drained()
        self.assertIndexedLikeCreate(rows)
        m = metrics(on)
        self.assertEqual(m["prospect_index_queue_indexed_total"], 3)
        lib.wait_for(lambda: metrics(on)["prospect_index_queue_depth"] == 0, 10, 0.1, "depth 0")

    def test_changed_before_the_indexer_reaches_them(self):
        rows = [lib.person(first_name="Anna", last_name="Oldname"),
                lib.person(first_name="Bert", last_name="Mergedaway"),
                lib.person(first_name="Cleo", last_name="Erasedperson", email="cleo@erased.be"),
                lib.person(first_name="Dirk", last_name="Target")]
        a, b, c, d = batch(self.off.channel, self.t, rows)
        ch = self.off.channel
        lib.update(ch, R.Prospect(name=a, last_name="Newname"), ["last_name"])
        lib.merge(ch, d, [b], request_id="merge-1")
        erase(ch, c)
        self.assertEqual(queued_id(self.db, self.database, self.t, c), 0)  # the erasure took it
        self.assertEqual(queued_id(self.db, self.database, self.t, b), 1)

        self.server()
        self.wait_drained()
        self.assertEqual(queued(self.db, self.database, self.t), 0)
        self.assertEqual(terms(self.db, self.database, self.t, b), set())
        self.assertEqual(terms(self.db, self.database, self.t, c), set())
        got = terms(self.db, self.database, self.t, a)
        self.assertFalse([t for t in got if t[0].startswith("old")], got)
        self.assertEqual(found(ch, self.t, "oldname"), [])
        self.assertEqual(found(ch, self.t, "newn"), ["Anna Newname"])
        self.assertEqual(found(ch, self.t, "erasedperson"), [])
        lib.create(ch, self.ref, lib.person(first_name="Anna", last_name="Newname"))
        self.assertEqual(got, all_terms(self.db, self.database, self.ref)["Anna Newname"])
        self.assertEqual(found(ch, self.t, "mergedaway"), [])
        self.assertEqual(found(ch, self.t, "targ"), ["Dirk Target"])


class Backlog(Base):
    def test_killed_with_a_backlog_then_drained_after_restart(self):
        rows = people("K", 300)
        on = self.server(PS_REINDEX_BATCH=10, PS_REINDEX_PAUSE_MS=200)
        batch(on.channel, self.t, rows)
        lib.wait_for(lambda: metrics(on)["prospect_index_queue_depth"] > 0, 5, 0.1, "the depth counted")
        lib.wait_for(lambda: queued(self.db, self.database) < 300, 20, 0.02, "a batch or two")
        on.stop(harness.signal.SIGKILL)
        left = queued(self.db, self.database)
        self.assertGreater(left, 0)
        self.assertLess(left, 300)
        again = self.server()
        self.wait_drained()
        self.assertEqual(metrics(again)["prospect_index_queue_indexed_total"], left)
        self.assertEqual(found(again.channel, self.t, "lovelace0299"), ["AdaK Lovelace0299"])
        self.assertIndexedLikeCreate(rows)

    def test_two_servers_share_one_queue(self):
        tenants = [self.t] + [lib.new_enabled_tenant(self.off.channel, "ix") for _ in range(2)]
        for i, t in enumerate(tenants):
            batch(self.off.channel, t, people("T%d" % i, 200))
        self.assertEqual(queued(self.db, self.database), 600)
        env = {"PS_REINDEX_BATCH": 20, "PS_REINDEX_PAUSE_MS": 50}
        a, b = self.server(wait=False, **env), self.server(wait=False, **env)
        a.wait_serving()
        b.wait_serving()
        self.wait_drained()
        ma, mb = metrics(a), metrics(b)
        self.assertGreater(ma["prospect_index_queue_indexed_total"], 0)
        self.assertGreater(mb["prospect_index_queue_indexed_total"], 0)
        self.assertEqual(ma["prospect_index_queue_indexed_total"] + mb["prospect_index_queue_indexed_total"], 600)
        self.assertNotRegex(a.log() + b.log(), r" (warn|error) indexer")
        for t in tenants:
            self.assertEqual(len(all_terms(self.db, self.database, t)), 200)
        self.assertIndexedLikeCreate(people("T0", 200))


if __name__ == "__main__":
    harness.main()
