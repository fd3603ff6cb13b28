"""Stress: hundreds of randomized concurrent merges, links, unlinks and conversions over a small set
of records, then the invariants of merging (S10-S14, SPEC: Merging):

  * every document that was linked (and not unlinked) is linked exactly once, to a live record;
    no link points at a merged-away record, and no link exists that nobody made;
  * no two records claim one document;
  * every merged-away id resolves to a live record, and every record made is live or merged away;
  * no lost merge record: one row per successful merge, each readable, its sources tombstoned by
    it into its target, and the tombstones of the tenant exactly the sources of its merges;
  * a converted record is never demoted: the record holding each converting invoice is a CUSTOMER;
  * merged-away records are gone from the word index.

Callers behave like the real ones: a call that fails with PROSPECT_MERGED resolves the name and
retries, ABORTED is retried (a merge with the same request id). PS_STRESS_SEED and PS_STRESS_ROUNDS
change the run; it prints the seed and the run count."""

import collections
import os
import random
import threading
import time

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

Code = grpc.StatusCode
R = resources_pb2

ROUNDS = int(os.environ.get("PS_STRESS_ROUNDS", "10"))
RECORDS_PER_ROUND = 8     # the small set of records each round fights over
OPS_PER_ROUND = 300       # operations per round, spread over THREADS
THREADS = 12
RETRIES = 8


def reason(e):
    info = harness.error_info(e)
    return info.reason if info else ""


class Stress(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.seed = int(os.environ.get("PS_STRESS_SEED", str(int(time.time() * 1000) % 1000000)))
        self.lock = threading.Lock()
        self.made = []                 # every record created (name)
        self.kind = {}                 # name -> PartyKind
        self.expected = {}             # (type, document_id) -> True while it must be linked
        self.invoices = []             # converting invoices (document_id) that succeeded
        self.merges = {}               # merge name -> Merge (from the response)
        self.counts = collections.Counter()

    # ------------------------------------------------------------------ operations

    def count(self, what):
        with self.lock:
            self.counts[what] += 1

    def with_resolve(self, name, fn, what):
        """fn(name), resolving name on PROSPECT_MERGED and retrying ABORTED. Returns the result."""
        for _ in range(RETRIES):
            try:
                return fn(name)
            except grpc.RpcError as e:
                if e.code() == Code.NOT_FOUND and reason(e) == "PROSPECT_MERGED":
                    self.count(what + " resolved")
                    name = lib.resolve(self.channel, name).name
                elif e.code() == Code.ABORTED:
                    self.count(what + " retried")
                    time.sleep(0.005)
                else:
                    raise
        raise AssertionError("%s never succeeded on %s" % (what, name))

    def op_link(self, rng, names, tag):
        doc = lib.document(rng.choice([R.QUOTE, R.ORDER, R.ATTACHMENT]), "doc-%s" % tag)
        got = self.with_resolve(rng.choice(names), lambda n: lib.link_document(self.channel, n, doc), "link")
        with self.lock:
            self.expected[(doc.type, doc.document_id)] = True
        self.count("link ok")
        if rng.random() < 0.15:  # unlink some again: they must then be gone
            lib.unlink_document(self.channel, self.t, got.type, got.document_id)
            with self.lock:
                self.expected[(doc.type, doc.document_id)] = False
            self.count("unlink ok")

    def op_convert(self, rng, names, tag):
        inv = R.Document(type=R.INVOICE, document_id="inv-%s" % tag)
        rid = "conv-%s" % tag
        r = self.with_resolve(rng.choice(names), lambda n: lib.convert(self.channel, n, inv, request_id=rid),
                              "convert")
        self.assertEqual(r.prospect.state, R.CUSTOMER)
        with self.lock:
            self.expected[(R.INVOICE, inv.document_id)] = True
            self.invoices.append(inv.document_id)
        self.count("convert ok")

    def op_merge(self, rng, names, tag):
        with self.lock:
            picked = rng.sample(names, rng.randint(2, min(4, len(names))))
        if rng.random() < 0.6:  # a fresh screen: the names as they resolve now (else stale ones)
            live = []
            for n in picked:
                r = lib.resolve(self.channel, n).name
                if r not in live:
                    live.append(r)
            if len(live) < 2:
                self.count("merge skipped")
                return
            picked = live
        target, sources = picked[0], picked[1:]
        move = self.kind[target] == R.COMPANY and rng.random() < 0.5
        rid = "merge-%s" % tag
        for attempt in range(RETRIES):
            try:
                r = lib.merge(self.channel, target, sources, request_id=rid, move_contact_persons=move)
                break
            except grpc.RpcError as e:
                if e.code() == Code.ABORTED and reason(e) != "ETAG_MISMATCH":
                    self.count("merge retried")
                    time.sleep(0.005)
                    continue
                if (e.code(), reason(e)) in ((Code.NOT_FOUND, "PROSPECT_MERGED"),
                                             (Code.FAILED_PRECONDITION, "CUSTOMER_INTO_PROSPECT")):
                    self.count("merge refused " + reason(e))
                    return
                raise
        else:
            raise AssertionError("merge %s kept failing with ABORTED" % rid)
        self.assertEqual(r.merge.target, target)
        self.assertEqual(list(r.merge.sources), sources)
        if rng.random() < 0.2:  # the reply was lost: the retry returns the same merge
            again = lib.merge(self.channel, target, sources, request_id=rid, move_contact_persons=move)
            self.assertEqual(again.merge.name, r.merge.name)
            self.count("merge replayed")
        with self.lock:
            self.assertNotIn(r.merge.name, self.merges)
            self.merges[r.merge.name] = r.merge
        self.count("merge ok")

    # ------------------------------------------------------------------ a round

    def new_record(self, rng, tag):
        company = rng.random() < 0.5
        p = lib.company(company_name="Stress %s B.V." % tag) if company else \
            lib.person(first_name="Stress", last_name="P%s" % tag)
        name = lib.create(self.channel, self.t, p).name
        with self.lock:
            self.kind[name] = p.kind
            self.made.append(name)
        if company and rng.random() < 0.5:
            lib.create_contact(self.channel, name, R.ContactPerson(first_name="Cp %s" % tag))
        for d in range(rng.randint(0, 3)):
            doc = lib.document(R.QUOTE, "pre-%s-%d" % (tag, d))
            lib.link_document(self.channel, name, doc)
            with self.lock:
                self.expected[(doc.type, doc.document_id)] = True
        if rng.random() < 0.25:
            self.op_convert(rng, [name], "pre-%s" % tag)
        self.count("create ok")
        return name

    def new_records(self, rng, round_):
        return [self.new_record(rng, "%d-%d" % (round_, i)) for i in range(RECORDS_PER_ROUND)]

    def run_round(self, round_, names):
        errors = []

        def worker(w):
            rng = random.Random(self.seed * 1000 + round_ * THREADS + w)
            try:
                for k in range(OPS_PER_ROUND // THREADS):
                    tag = "%d-%d-%d" % (round_, w, k)
                    x = rng.random()
                    if x < 0.4:
                        self.op_merge(rng, names, tag)
                    elif x < 0.7:
                        self.op_link(rng, names, tag)
                    elif x < 0.85:
                        self.op_convert(rng, names, tag)
                    else:  # the set is topped up while merges shrink it
                        name = self.new_record(rng, tag)
                        with self.lock:
                            names.append(name)
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append((w, repr(e), getattr(e, "details", lambda: "")()))

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])

    # ------------------------------------------------------------------ invariants

    def check_invariants(self):
        db, database, t = self.db, self.database, self.t
        live = lib.prospect_ids_in_db(db, database, t)
        rows = db.sql("SELECT type, document_id, LOWER(HEX(prospect_id)) FROM document_links"
                      " WHERE tenant_id = '%s'" % t, database)
        links = collections.Counter((int(ty), doc) for ty, doc, _ in rows)
        self.assertEqual([k for k, n in links.items() if n > 1], [], "a document claimed twice")
        on = {(int(ty), doc): h for ty, doc, h in rows}
        live_hex = {x.replace("-", "") for x in live}
        orphans = [k for k, h in on.items() if h not in live_hex]
        self.assertEqual(orphans, [], "links on records that are not live")
        want = {k for k, v in self.expected.items() if v}
        self.assertEqual(sorted(want - set(on)), [], "documents lost")
        self.assertEqual(sorted(set(on) - want), [], "links nobody made (or unlinked ones back)")
        # the API agrees with the table, record by record
        by_api = set()
        for name in live:
            for d in lib.list_all_documents(self.channel, "tenants/%s/prospects/%s" % (t, name), page_size=200):
                by_api.add((d.type, d.document_id))
        self.assertEqual(by_api, set(on))

        # every record made is live or merged away, and every merged-away id resolves to a live one
        made = {lib.prospect_id(n) for n in self.made}
        tomb = {r[0]: r for r in db.sql(
            "SELECT LOWER(HEX(id)), LOWER(HEX(merged_into)), LOWER(HEX(merge_id)) FROM prospect_tombstones"
            " WHERE tenant_id = '%s'" % t, database)}
        made_hex = {m.replace("-", "") for m in made}
        self.assertEqual(made_hex, live_hex | set(tomb), "records neither live nor merged away")
        self.assertEqual(live_hex & set(tomb), set(), "a live record with a tombstone")
        for name in self.made:
            if lib.hex_id(name) in tomb:
                r = lib.resolve(self.channel, name)
                self.assertIn(lib.prospect_id(r.name), live)
                self.assertGreater(len(r.merged_via), 0)
            else:
                self.assertEqual(lib.resolve(self.channel, name).name, name)

        # no lost merge record: one per successful merge, each the one that tombstoned its sources
        stored = {r[0] for r in db.sql("SELECT LOWER(HEX(id)) FROM merges WHERE tenant_id = '%s'" % t, database)}
        self.assertEqual(stored, {lib.hex_id(n) for n in self.merges})
        sources_of = {}
        for name, m in self.merges.items():
            self.assertEqual(lib.get_merge(self.channel, name), m)
            for s in m.sources:
                self.assertNotIn(lib.hex_id(s), sources_of, "a record merged away twice")
                sources_of[lib.hex_id(s)] = (lib.hex_id(m.target), lib.hex_id(name))
        self.assertEqual({k: (v[1], v[2]) for k, v in tomb.items()}, sources_of)
        # every link a merge moved was on one of its sources when it moved
        for m in self.merges.values():
            srcs = {lib.prospect_id(x) for x in m.sources}
            self.assertTrue(all(d.split("/")[3] in srcs for d in m.moved_documents), m.name)

        # customers stay customers: each converting invoice sits on a CUSTOMER
        state = dict((r[0], r[1]) for r in db.sql(
            "SELECT LOWER(HEX(id)), state FROM prospects WHERE tenant_id = '%s'" % t, database))
        for inv in self.invoices:
            self.assertEqual(state[on[(R.INVOICE, inv)]], str(R.CUSTOMER), inv)

        # merged-away records left the word index
        terms = {r[0] for r in db.sql("SELECT DISTINCT LOWER(HEX(id)) FROM prospect_terms WHERE tenant_id = '%s'"
                                      % t, database)}
        self.assertEqual(terms & set(tomb), set())
        self.assertEqual(terms, live_hex)

    def test_concurrent_merges_links_and_conversions(self):
        start = time.monotonic()
        for round_ in range(ROUNDS):
            rng = random.Random(self.seed * 7919 + round_)
            names = self.new_records(rng, round_)
            self.run_round(round_, names)
        self.check_invariants()
        ops = sum(v for k, v in self.counts.items() if k.endswith(" ok") or " refused " in k
                  or k.endswith(" skipped"))
        print("\nstress: seed %d, %d rounds, %d operations (%s), %d merges recorded, %d records, %d links,"
              " %.1f s" % (self.seed, ROUNDS, ops, ", ".join("%s %d" % kv for kv in sorted(self.counts.items())),
                           len(self.merges), len(self.made), sum(self.expected.values()),
                           time.monotonic() - start))
        self.assertGreater(self.counts["merge ok"], 0)


if __name__ == "__main__":
    harness.main()
