"""MergeProspects against the real server and MariaDB: each seed rule of merging as its own test
(S10 sources deleted and their documents on the target, S11 records picked with the overview's
search, S12 irreversible but recorded, S13 party snapshots untouched, S14 nothing swapped or filled
in on the target, compared field by field), contact persons (kept in the record by default, moved
into a COMPANY when asked), every refusal with its code and reason and nothing written, the dry run
(what would move, every violation, the database unchanged), request ids, GetMerge/ListMerges, and
merges racing each other and links."""

import threading

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
R = resources_pb2
UNKNOWN_ID = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"


def together(fns):
    """Runs the callables at once; returns [(result or None, RpcError or None)]."""
    out = [None] * len(fns)
    go = threading.Barrier(len(fns))

    def run(i):
        go.wait()
        try:
            out[i] = (fns[i](), None)
        except grpc.RpcError as e:
            out[i] = (None, e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


class MergeCase(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.n = 0

    def rid(self):
        self.n += 1
        return "merge-%d" % self.n

    def docs(self, parent, prefix, n, type=R.QUOTE, **kw):
        return [lib.link_document(self.channel, parent, lib.document(type, "%s-%d" % (prefix, i), **kw))
                for i in range(n)]

    def merge(self, target, sources, **kw):
        kw.setdefault("request_id", self.rid())
        return lib.merge(self.channel, target, sources, **kw)

    def dump(self):
        return lib.dump_tenant(self.db, self.database, self.t)

    def assertRefused(self, fn, code, reason, **kw):
        """fn() fails with code/reason and the tenant's rows are exactly as before."""
        before = self.dump()
        err = self.assertRpcError(fn, code, reason=reason, **kw)
        self.assertEqual(self.dump(), before, "a refused merge wrote something")
        return err


class SeedRules(MergeCase):
    def test_s10_sources_deleted_and_their_documents_attached_to_the_target(self):
        target = lib.create(self.channel, self.t, lib.person(first_name="Jan", last_name="Jansen"))
        s1 = lib.create(self.channel, self.t, lib.person(first_name="Jan", last_name="Janssen"))
        s2 = lib.create(self.channel, self.t, lib.person(first_name="J.", last_name="Jansen"))
        own = self.docs(target.name, "own", 2)
        d1 = self.docs(s1.name, "s1", 3) + self.docs(s1.name, "s1-inv", 1, type=R.INVOICE)
        d2 = self.docs(s2.name, "s2", 2, type=R.ORDER)
        r = self.merge(target.name, [s1.name, s2.name])
        for s in (s1, s2):
            e = self.assertRpcError(lambda: lib.get(self.channel, s.name), Code.NOT_FOUND,
                                    reason="PROSPECT_MERGED")
            info = harness.error_info(e)
            self.assertEqual(info.metadata["surviving_prospect"], target.name)
            self.assertEqual(info.metadata["merged_into"], target.name)
        self.assertEqual(lib.prospect_ids_in_db(self.db, self.database, self.t),
                         {lib.prospect_id(target.name)})
        on_target = lib.list_all_documents(self.channel, target.name)
        self.assertEqual(sorted(d.document_id for d in on_target),
                         sorted(d.document_id for d in own + d1 + d2))
        self.assertTrue(all(d.prospect == target.name for d in on_target))
        # each moved link is the same link (same id) under its new record
        moved = {d.name.rsplit("/", 1)[1] for d in d1 + d2}
        self.assertEqual({d.name.rsplit("/", 1)[1] for d in on_target if d.document_id[:2] == "s1"
                          or d.document_id[:2] == "s2"}, moved)
        self.assertEqual(sorted(r.merge.moved_documents), sorted(d.name for d in d1 + d2))
        for d in d1 + d2:
            got = lib.lookup_document(self.channel, self.t, d.type, d.document_id)
            self.assertEqual(got.prospect, target.name)
        # tombstones, and the merged records left the overview and its word index
        rows = self.db.sql("SELECT LOWER(HEX(id)), LOWER(HEX(merged_into)) FROM prospect_tombstones"
                           " WHERE tenant_id = '%s'" % self.t, self.database)
        self.assertEqual(sorted(rows), sorted([[lib.hex_id(s.name), lib.hex_id(target.name)]
                                               for s in (s1, s2)]))
        self.assertEqual([p.name for p in lib.list_all(self.channel, self.t)], [target.name])
        self.assertEqual([p.name for p in lib.list_all(self.channel, self.t, query="janssen")], [])
        self.assertEqual(self.db.sql("SELECT COUNT(*) FROM prospect_terms WHERE tenant_id = '%s' AND id"
                                     " IN (UNHEX('%s'), UNHEX('%s'))" % (self.t, lib.hex_id(s1.name),
                                                                        lib.hex_id(s2.name)),
                                     self.database), [["0"]])

    def test_s11_records_picked_with_the_overview_search_are_merged(self):
        target = lib.create(self.channel, self.t, lib.company(company_name="Bakkerij de Vries B.V."))
        dup = lib.create(self.channel, self.t, lib.company(company_name="Bakkerij De Vries"))
        other = lib.create(self.channel, self.t, lib.company(company_name="Slagerij Smit"))
        found = lib.list_all(self.channel, self.t, query="bakkerij vries")  # the magnifying glass
        self.assertEqual({p.name for p in found}, {target.name, dup.name})
        self.merge(target.name, [p.name for p in found if p.name != target.name])
        self.assertEqual([p.name for p in lib.list_all(self.channel, self.t, query="bakkerij vries")],
                         [target.name])
        self.assertEqual({p.name for p in lib.list_all(self.channel, self.t)}, {target.name, other.name})

    def test_s12_irreversible_but_nothing_lost_for_good(self):
        target = lib.create(self.channel, self.t, lib.company(company_name="Keep N.V."))
        src = lib.create(self.channel, self.t, lib.company(company_name="Gone N.V.", email="info@gone.nl",
                                                           notes="met at the fair"))
        cp = lib.create_contact(self.channel, src.name, R.ContactPerson(first_name="Eva", role="CFO"))
        docs = self.docs(src.name, "g", 2)
        r = self.merge(target.name, [src.name], acting_user="user-17",
                       metadata=[("x-caller", "web-backend")])
        m = r.merge
        self.assertRegex(m.name, r"^tenants/%s/merges/%s$" % (self.t, lib.UUID_RE))
        self.assertRecent(m.create_time)
        # the caller is the verified certificate's identity, never the x-caller claim: a plaintext
        # server has none (test_security.py checks it with certificates)
        self.assertEqual((m.caller, m.acting_user, m.target, list(m.sources)),
                         ("", "user-17", target.name, [src.name]))
        self.assertEqual(len(m.source_snapshots), 1)
        self.assertEqual(m.source_snapshots[0].prospect, src)          # the record as it was
        self.assertEqual(list(m.source_snapshots[0].contact_persons), [cp])
        self.assertEqual(sorted(m.moved_documents), sorted(d.name for d in docs))
        self.assertEqual(list(m.moved_contact_persons), [])
        # permanent: readable later, the same record
        self.assertEqual(lib.get_merge(self.channel, m.name), m)
        # no un-merge: the service has no such method, and the source stays merged
        methods = {x.name for x in service_pb2.DESCRIPTOR.services_by_name["ProspectService"].methods}
        self.assertFalse([x for x in methods if "unmerge" in x.lower() or "undo" in x.lower()])
        self.assertRpcError(lambda: self.merge(src.name, [target.name]), Code.NOT_FOUND,
                            reason="PROSPECT_MERGED")
        self.assertRpcError(lambda: lib.delete(self.channel, src.name), Code.NOT_FOUND,
                            reason="PROSPECT_MERGED")
        # the id is never reused: its tombstone stays
        self.assertEqual(lib.count_rows(self.db, self.database, "prospect_tombstones", self.t), 1)
        # x-acting-user metadata stands in when the request names no acting user
        t2 = lib.create(self.channel, self.t, lib.person())
        s2 = lib.create(self.channel, self.t, lib.person())
        r2 = self.merge(t2.name, [s2.name], metadata=[("x-acting-user", "user-99")])
        self.assertEqual((r2.merge.caller, r2.merge.acting_user), ("", "user-99"))

    def test_s13_party_snapshots_untouched(self):
        target = lib.create(self.channel, self.t, lib.company(company_name="New Name B.V.",
                                                              address=R.Address(city="Utrecht")))
        src = lib.create(self.channel, self.t, lib.company(company_name="Old Name B.V.", vat_number="NL123",
                                                           address=R.Address(street="Oude 1", city="Delft")))
        sent = R.PartySnapshot(display_name="As Printed", company_name="As Printed", email="a@b.nl",
                               address=R.Address(city="Gouda"))
        before = [lib.link_document(self.channel, src.name, lib.document(R.QUOTE, "q-sent",
                                                                         party_snapshot=sent, number="Q-1",
                                                                         title="Chairs")),
                  lib.link_document(self.channel, src.name, lib.document(R.INVOICE, "i-frozen",
                                                                         number="I-9"))]
        self.assertEqual(before[1].party_snapshot.company_name, "Old Name B.V.")
        self.merge(target.name, [src.name])
        after = {d.document_id: d for d in lib.list_all_documents(self.channel, target.name)}
        for d in before:
            got = after[d.document_id]
            self.assertEqual(got.party_snapshot, d.party_snapshot)  # as printed, not the target's
            for f in ("type", "document_id", "number", "title", "document_time", "link_time"):
                self.assertEqual(getattr(got, f), getattr(d, f), f)
            self.assertEqual(got.prospect, target.name)
            self.assertEqual(got.name.rsplit("/", 1)[1], d.name.rsplit("/", 1)[1])
        self.assertEqual(after["i-frozen"].party_snapshot.address.city, "Delft")

    def test_s14_target_fields_exactly_as_before(self):
        # the target lacks phone, e-mail, VAT, website, address, language and notes; the source
        # has them all: none is filled in, and nothing of the target is swapped
        target = lib.create(self.channel, self.t, lib.person(first_name="Piet", last_name="Bakker"))
        src = lib.create(self.channel, self.t, lib.person(
            first_name="Pieter", last_name="Bakker-Smit", email="piet@example.nl", phone="+31 6 1234 5678",
            vat_number="NL001", website="https://piet.example", language="nl", notes="source notes",
            address=R.Address(street="Kerkstraat 1", postal_code="1234 AB", city="Ede", country_code="NL")))
        self.docs(src.name, "s14", 2)
        before = lib.get(self.channel, target.name)
        self.merge(target.name, [src.name])
        after = lib.get(self.channel, target.name)
        for field in R.Prospect.DESCRIPTOR.fields:  # every field, output-only ones included
            with self.subTest(field=field.name):
                self.assertEqual(getattr(after, field.name), getattr(before, field.name))
                self.assertEqual(after.HasField(field.name) if field.message_type else None,
                                 before.HasField(field.name) if field.message_type else None)
        self.assertEqual(after, before)
        self.assertEqual((after.phone, after.email, after.notes, after.HasField("address")), ("", "", "", False))
        # the etag did not move: an update with the etag read before the merge still applies
        before.notes = "after the merge"
        self.assertEqual(lib.update(self.channel, before, ["notes"]).notes, "after the merge")


class ContactPersons(MergeCase):
    def setUp(self):
        super().setUp()
        self.target = lib.create(self.channel, self.t, lib.company(company_name="Target B.V."))
        lib.create_contact(self.channel, self.target.name, R.ContactPerson(first_name="Own"))
        self.src = lib.create(self.channel, self.t, lib.company(company_name="Source B.V."))
        self.cps = [lib.create_contact(self.channel, self.src.name, R.ContactPerson(first_name="C%d" % i,
                                                                                    email="c%d@x.nl" % i))
                    for i in range(3)]

    def test_not_moved_by_default_and_kept_in_the_merge_record(self):
        r = self.merge(self.target.name, [self.src.name])
        self.assertEqual([c.first_name for c in lib.list_contacts(self.channel, self.target.name).contact_persons],
                         ["Own"])
        self.assertEqual(list(r.merge.source_snapshots[0].contact_persons), self.cps)
        self.assertEqual(list(r.merge.moved_contact_persons), [])
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", self.t), 1)
        self.assertEqual(list(lib.get_merge(self.channel, r.merge.name).source_snapshots[0].contact_persons),
                         self.cps)

    def test_moved_into_a_company_when_asked(self):
        r = self.merge(self.target.name, [self.src.name], move_contact_persons=True)
        self.assertEqual(list(r.merge.moved_contact_persons), [c.name for c in self.cps])
        got = lib.list_contacts(self.channel, self.target.name).contact_persons
        self.assertEqual(sorted(c.first_name for c in got), ["C0", "C1", "C2", "Own"])
        for c in self.cps:
            moved = lib.get_contact(self.channel, c.name.replace(lib.prospect_id(self.src.name),
                                                                 lib.prospect_id(self.target.name)))
            for f in ("first_name", "last_name", "email", "phone", "role", "create_time", "update_time", "etag"):
                self.assertEqual(getattr(moved, f), getattr(c, f), f)

    def test_into_a_person_is_refused(self):
        person = lib.create(self.channel, self.t, lib.person())
        self.assertRefused(lambda: self.merge(person.name, [self.src.name], move_contact_persons=True),
                           Code.FAILED_PRECONDITION, "NOT_A_COMPANY")
        # without the option the company's contact persons go with it (into the record)
        r = self.merge(person.name, [self.src.name])
        self.assertEqual(len(r.merge.source_snapshots[0].contact_persons), 3)


class Refusals(MergeCase):
    def setUp(self):
        super().setUp()
        self.target = lib.create(self.channel, self.t, lib.person(first_name="Target"))
        self.src = lib.create(self.channel, self.t, lib.person(first_name="Source"))
        self.docs(self.src.name, "r", 2)

    def test_merge_into_itself(self):
        e = self.assertRefused(lambda: self.merge(self.target.name, [self.src.name, self.target.name]),
                               Code.INVALID_ARGUMENT, "MERGE_INTO_ITSELF", field="sources[1].name")
        self.assertIn("itself", e.details())

    def test_duplicate_source(self):
        upper = self.src.name.upper().replace("TENANTS/%s/PROSPECTS" % self.t.upper(), "tenants/%s/prospects" % self.t)
        for dup in (self.src.name, upper):
            self.assertRefused(lambda: self.merge(self.target.name, [self.src.name, dup]),
                               Code.INVALID_ARGUMENT, "DUPLICATE_SOURCE", field="sources[1].name")

    def test_missing_source_or_target(self):
        gone = "tenants/%s/prospects/%s" % (self.t, UNKNOWN_ID)
        e = self.assertRefused(lambda: self.merge(self.target.name, [self.src.name, gone]),
                               Code.NOT_FOUND, "PROSPECT_NOT_FOUND")
        self.assertEqual(harness.error_info(e).metadata["prospect"], gone)
        self.assertRefused(lambda: self.merge(gone, [self.src.name]), Code.NOT_FOUND, "PROSPECT_NOT_FOUND")
        deleted = lib.create(self.channel, self.t, lib.person())
        lib.delete(self.channel, deleted.name)
        self.assertRefused(lambda: self.merge(self.target.name, [deleted.name]), Code.NOT_FOUND,
                           "PROSPECT_NOT_FOUND")

    def test_already_merged_source_or_target(self):
        other = lib.create(self.channel, self.t, lib.person(first_name="Other"))
        self.merge(self.target.name, [other.name])
        e = self.assertRefused(lambda: self.merge(self.target.name, [self.src.name, other.name]),
                               Code.NOT_FOUND, "PROSPECT_MERGED")
        info = harness.error_info(e)
        self.assertEqual(info.metadata["surviving_prospect"], self.target.name)
        self.assertEqual(info.metadata["prospect"], other.name)
        e = self.assertRefused(lambda: self.merge(other.name, [self.src.name]), Code.NOT_FOUND,
                               "PROSPECT_MERGED")
        self.assertEqual(harness.error_info(e).metadata["surviving_prospect"], self.target.name)

    def test_another_tenants_record_does_not_exist(self):
        t2 = lib.new_enabled_tenant(self.channel)
        theirs = lib.create(self.channel, t2, lib.person(first_name="Theirs"))
        lib.link_document(self.channel, theirs.name, lib.document(R.QUOTE, "theirs"))
        their_dump = lib.dump_tenant(self.db, self.database, t2)
        e = self.assertRefused(lambda: self.merge(self.target.name, [theirs.name]), Code.NOT_FOUND,
                               "PROSPECT_NOT_FOUND")
        self.assertNotIn("Theirs", e.details())
        # the same id under our tenant does not exist either
        ours = theirs.name.replace(t2, self.t)
        self.assertRefused(lambda: self.merge(self.target.name, [ours]), Code.NOT_FOUND, "PROSPECT_NOT_FOUND")
        # their target with our source: the merge is theirs (by the target), our record is not there
        self.assertRpcError(lambda: self.merge(theirs.name, [self.src.name]), Code.NOT_FOUND,
                            reason="PROSPECT_NOT_FOUND")
        self.assertEqual(lib.dump_tenant(self.db, self.database, t2), their_dump)
        self.assertEqual(lib.get(self.channel, theirs.name), theirs)

    def test_customer_into_prospect(self):
        cust = lib.create(self.channel, self.t, lib.person(first_name="Cust"))
        lib.convert(self.channel, cust.name, R.Document(document_id="inv-c"))
        self.assertRefused(lambda: self.merge(self.target.name, [self.src.name, cust.name]),
                           Code.FAILED_PRECONDITION, "CUSTOMER_INTO_PROSPECT")
        # the other way round is fine: a prospect into a customer, and a customer into a customer
        cust2 = lib.create(self.channel, self.t, lib.person(first_name="Cust2"))
        lib.convert(self.channel, cust2.name, R.Document(document_id="inv-c2"))
        self.merge(cust.name, [self.src.name, cust2.name])
        self.assertEqual(lib.get(self.channel, cust.name).state, R.CUSTOMER)

    def test_stale_etags(self):
        stale_target = self.target.etag
        stale_src = self.src.etag
        upd = lib.update(self.channel, R.Prospect(name=self.target.name, notes="changed"), ["notes"])
        self.assertRefused(lambda: self.merge(self.target.name, [self.src.name], target_etag=stale_target),
                           Code.ABORTED, "ETAG_MISMATCH")
        self.assertRefused(lambda: self.merge(self.target.name, [self.src.name], target_etag="garbage"),
                           Code.ABORTED, "ETAG_MISMATCH")
        lib.update(self.channel, R.Prospect(name=self.src.name, notes="changed"), ["notes"])
        e = self.assertRefused(lambda: self.merge(self.target.name, [(self.src.name, stale_src)],
                                                  target_etag=upd.etag),
                               Code.ABORTED, "ETAG_MISMATCH")
        self.assertEqual(harness.error_info(e).metadata["prospect"], self.src.name)
        cur = lib.get(self.channel, self.src.name)
        self.merge(self.target.name, [(self.src.name, cur.etag)], target_etag=upd.etag)

    def test_number_of_sources(self):
        self.assertRefused(lambda: self.merge(self.target.name, []), Code.INVALID_ARGUMENT,
                           "INVALID_FIELD", field="sources")
        many = ["tenants/%s/prospects/0190a3b4-5c6d-7e8f-9a0b-0000000000%02d" % (self.t, i) for i in range(11)]
        self.assertRefused(lambda: self.merge(self.target.name, many), Code.INVALID_ARGUMENT,
                           "TOO_MANY_SOURCES", field="sources")
        ten = [lib.create(self.channel, self.t, lib.person(first_name="S%d" % i)).name for i in range(10)]
        r = self.merge(self.target.name, ten)
        self.assertEqual(len(r.merge.sources), 10)

    def test_request_validation(self):
        cases = [(dict(target="", sources=[self.src.name]), "target"),
                 (dict(target="tenants/%s/prospects/nope" % self.t, sources=[self.src.name]), "target"),
                 (dict(target=self.target.name, sources=["tenants/%s" % self.t]), "sources[0].name"),
                 (dict(target=self.target.name, sources=[self.src.name], request_id=""), "request_id"),
                 (dict(target=self.target.name, sources=[self.src.name], request_id="no spaces"), "request_id"),
                 (dict(target=self.target.name, sources=[self.src.name], acting_user="x" * 256), "acting_user")]
        for kw, field in cases:
            with self.subTest(field=field):
                kw.setdefault("request_id", "valid-id")
                self.assertRefused(lambda: lib.merge(self.channel, **kw), Code.INVALID_ARGUMENT,
                                   "INVALID_FIELD", field=field)

    def test_prospects_app_off(self):
        lib.update_apps(self.channel, self.t, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, self.t, False)
        for validate_only in (False, True):
            self.assertRefused(lambda: self.merge(self.target.name, [self.src.name], validate_only=validate_only),
                               Code.FAILED_PRECONDITION, "PROSPECTS_APP_DISABLED")
        m = "tenants/%s/merges/%s" % (self.t, UNKNOWN_ID)
        self.assertRpcError(lambda: lib.get_merge(self.channel, m), Code.FAILED_PRECONDITION,
                            reason="PROSPECTS_APP_DISABLED")
        self.assertRpcError(lambda: lib.list_merges(self.channel, self.t), Code.FAILED_PRECONDITION,
                            reason="PROSPECTS_APP_DISABLED")
        self.assertRpcError(lambda: lib.resolve(self.channel, self.src.name), Code.FAILED_PRECONDITION,
                            reason="PROSPECTS_APP_DISABLED")
        lib.enable_prospects(self.channel, self.t)
        self.merge(self.target.name, [self.src.name])


class DryRun(MergeCase):
    def test_reports_what_would_move_and_writes_nothing(self):
        target = lib.create(self.channel, self.t, lib.company(company_name="Dry Target"))
        src = lib.create(self.channel, self.t, lib.company(company_name="Dry Source"))
        cps = [lib.create_contact(self.channel, src.name, R.ContactPerson(first_name="D%d" % i)) for i in range(2)]
        docs = self.docs(src.name, "dry", 4)
        before = self.dump()
        r = lib.merge(self.channel, target.name, [src.name], validate_only=True, move_contact_persons=True,
                      acting_user="u-1", metadata=[("x-caller", "web")])
        self.assertEqual(self.dump(), before)
        self.assertEqual(list(r.violations), [])
        m = r.merge
        self.assertEqual((m.name, m.HasField("create_time")), ("", False))
        self.assertEqual((m.caller, m.acting_user, m.target, list(m.sources)), ("", "u-1", target.name, [src.name]))
        self.assertEqual(sorted(m.moved_documents), sorted(d.name for d in docs))
        self.assertEqual(list(m.moved_contact_persons), [c.name for c in cps])
        self.assertEqual(m.source_snapshots[0].prospect, src)
        self.assertEqual(list(m.source_snapshots[0].contact_persons), cps)
        # the merge itself then moves exactly that
        done = self.merge(target.name, [src.name], move_contact_persons=True, acting_user="u-1",
                          metadata=[("x-caller", "web")])
        self.assertEqual(list(done.merge.moved_documents), list(m.moved_documents))
        self.assertEqual(list(done.merge.moved_contact_persons), list(m.moved_contact_persons))
        self.assertEqual(list(done.merge.source_snapshots), list(m.source_snapshots))

    def test_reports_every_violation(self):
        target = lib.create(self.channel, self.t, lib.person(first_name="Target"))  # a PERSON, a PROSPECT
        ok = lib.create(self.channel, self.t, lib.person(first_name="Fine"))
        stale = lib.create(self.channel, self.t, lib.person(first_name="Stale"))
        lib.update(self.channel, R.Prospect(name=stale.name, notes="x"), ["notes"])
        cust = lib.create(self.channel, self.t, lib.person(first_name="Customer"))
        lib.convert(self.channel, cust.name, R.Document(document_id="inv-dry"))
        merged = lib.create(self.channel, self.t, lib.person(first_name="Merged"))
        self.merge(ok.name, [merged.name])
        gone = "tenants/%s/prospects/%s" % (self.t, UNKNOWN_ID)
        other_tenant = "tenants/other-%s/prospects/%s" % (self.t, UNKNOWN_ID)
        before = self.dump()
        r = lib.merge(self.channel, target.name,
                      [ok.name, target.name, ok.name, gone, merged.name, (stale.name, stale.etag), cust.name,
                       other_tenant],
                      validate_only=True, move_contact_persons=True, target_etag="v999")
        self.assertEqual(self.dump(), before)
        got = sorted((v.reason, v.subject) for v in r.violations)
        want = sorted([("MERGE_INTO_ITSELF", target.name), ("DUPLICATE_SOURCE", ok.name),
                       ("PROSPECT_NOT_FOUND", gone), ("PROSPECT_MERGED", merged.name),
                       ("ETAG_MISMATCH", stale.name), ("CUSTOMER_INTO_PROSPECT", cust.name),
                       ("PROSPECT_NOT_FOUND", other_tenant), ("ETAG_MISMATCH", target.name),
                       ("NOT_A_COMPANY", target.name)])
        self.assertEqual(got, want)
        self.assertTrue(all(v.description for v in r.violations))
        merged_v = [v for v in r.violations if v.reason == "PROSPECT_MERGED"][0]
        self.assertIn(ok.name, merged_v.description)
        # the live sources are still described
        self.assertEqual(sorted(s.prospect.name for s in r.merge.source_snapshots),
                         sorted([ok.name, stale.name, cust.name]))

    def test_needs_no_request_id_and_checks_the_rest(self):
        target = lib.create(self.channel, self.t, lib.person())
        self.assertRpcError(lambda: lib.merge(self.channel, target.name, [], validate_only=True),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="sources")
        r = lib.merge(self.channel, target.name, ["tenants/%s/prospects/%s" % (self.t, UNKNOWN_ID)],
                      validate_only=True)
        self.assertEqual([v.reason for v in r.violations], ["PROSPECT_NOT_FOUND"])


class RequestIds(MergeCase):
    def test_same_request_id_returns_the_first_merge(self):
        target = lib.create(self.channel, self.t, lib.person(first_name="T"))
        src = lib.create(self.channel, self.t, lib.person(first_name="S"))
        self.docs(src.name, "idem", 3)
        first = lib.merge(self.channel, target.name, [src.name], request_id="same-id")
        again = lib.merge(self.channel, target.name, [src.name], request_id="same-id")
        self.assertEqual(again, first)
        self.assertEqual(lib.count_rows(self.db, self.database, "merges", self.t), 1)
        e = self.assertRefused(lambda: lib.merge(self.channel, target.name, [src.name], request_id="same-id",
                                                 acting_user="someone else"),
                               Code.ALREADY_EXISTS, "REQUEST_ID_REUSED")
        self.assertTrue(e.details())
        # a refused merge does not use up its request id
        other = lib.create(self.channel, self.t, lib.person(first_name="O"))
        self.assertRpcError(lambda: lib.merge(self.channel, target.name, [other.name], request_id="r2",
                                              target_etag="v99"), Code.ABORTED, reason="ETAG_MISMATCH")
        lib.merge(self.channel, target.name, [other.name], request_id="r2")

    def test_concurrent_retries_make_one_merge(self):
        target = lib.create(self.channel, self.t, lib.person(first_name="T"))
        srcs = [lib.create(self.channel, self.t, lib.person(first_name="S%d" % i)).name for i in range(3)]
        out = together([lambda: lib.merge(self.channel, target.name, srcs, request_id="racing-id")] * 4)
        self.assertEqual([e for _, e in out], [None] * 4)
        self.assertEqual(len({r.merge.name for r, _ in out}), 1)
        self.assertEqual(lib.count_rows(self.db, self.database, "merges", self.t), 1)


class Records(MergeCase):
    def test_get_and_list_merges(self):
        t1 = lib.create(self.channel, self.t, lib.person(first_name="T1"))
        t2 = lib.create(self.channel, self.t, lib.person(first_name="T2"))
        names = []
        for i in range(5):
            s = lib.create(self.channel, self.t, lib.person(first_name="S%d" % i))
            names.append(self.merge((t1 if i % 2 == 0 else t2).name, [s.name]).merge.name)
        everything = lib.list_merges(self.channel, self.t)
        self.assertEqual([m.name for m in everything.merges], names[::-1])  # newest first
        self.assertEqual(everything.next_page_token, "")
        paged, token = [], ""
        while True:
            page = lib.list_merges(self.channel, self.t, page_size=2, page_token=token)
            self.assertLessEqual(len(page.merges), 2)
            paged += [m.name for m in page.merges]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(paged, names[::-1])
        into_t1 = lib.list_merges(self.channel, self.t, target=t1.name)
        self.assertEqual([m.name for m in into_t1.merges], [names[4], names[2], names[0]])
        self.assertTrue(all(m.target == t1.name for m in into_t1.merges))
        page = lib.list_merges(self.channel, self.t, page_size=1)
        self.assertRpcError(lambda: lib.list_merges(self.channel, self.t, target=t1.name,
                                                    page_token=page.next_page_token),
                            Code.INVALID_ARGUMENT, field="page_token")
        for m in everything.merges:
            self.assertEqual(lib.get_merge(self.channel, m.name), m)

    def test_not_found_and_validation(self):
        t2 = lib.new_enabled_tenant(self.channel)
        a = lib.create(self.channel, t2, lib.person())
        b = lib.create(self.channel, t2, lib.person())
        theirs = lib.merge(self.channel, a.name, [b.name], request_id="x").merge.name
        self.assertRpcError(lambda: lib.get_merge(self.channel, theirs.replace(t2, self.t)), Code.NOT_FOUND,
                            reason="MERGE_NOT_FOUND")
        self.assertEqual(list(lib.list_merges(self.channel, self.t).merges), [])
        self.assertRpcError(lambda: lib.get_merge(self.channel, "tenants/%s/merges/nope" % self.t),
                            Code.INVALID_ARGUMENT, field="name")
        self.assertRpcError(lambda: lib.list_merges(self.channel, self.t, target=a.name),
                            Code.INVALID_ARGUMENT, field="target")
        self.assertRpcError(lambda: lib.list_merges(self.channel, self.t, page_size=-1),
                            Code.INVALID_ARGUMENT, field="page_size")
        self.assertRpcError(lambda: harness.call(self.channel, lib.method("ListMerges"),
                                                 service_pb2.ListMergesRequest(parent="tenants/X"),
                                                 service_pb2.ListMergesResponse),
                            Code.INVALID_ARGUMENT, field="parent")


class Races(MergeCase):
    def test_crossed_merges_one_wins(self):
        for round_ in range(5):
            a = lib.create(self.channel, self.t, lib.person(first_name="A%d" % round_))
            b = lib.create(self.channel, self.t, lib.person(first_name="B%d" % round_))
            self.docs(a.name, "a%d" % round_, 2)
            self.docs(b.name, "b%d" % round_, 2)
            out = together([lambda: self.merge(a.name, [b.name], request_id="ab%d" % round_),
                            lambda: self.merge(b.name, [a.name], request_id="ba%d" % round_)])
            ok = [r for r, e in out if e is None]
            errs = [e for r, e in out if e is not None]
            self.assertEqual(len(ok), 1, [e.details() for e in errs])
            self.assertEqual(errs[0].code(), Code.NOT_FOUND)
            self.assertEqual(harness.error_info(errs[0]).reason, "PROSPECT_MERGED")
            survivor = ok[0].merge.target
            self.assertEqual(len(lib.list_all_documents(self.channel, survivor)), 4)

    def test_links_racing_a_merge_all_land_on_the_survivor(self):
        for round_ in range(3):
            target = lib.create(self.channel, self.t, lib.person(first_name="T%d" % round_))
            src = lib.create(self.channel, self.t, lib.person(first_name="S%d" % round_))
            self.docs(src.name, "pre%d" % round_, 20)

            def link(i):
                name = src.name
                for _ in range(5):
                    try:
                        return lib.link_document(self.channel, name, lib.document(R.QUOTE, "race%d-%d" % (round_, i)))
                    except grpc.RpcError as e:
                        if harness.error_info(e) and harness.error_info(e).reason == "PROSPECT_MERGED":
                            name = lib.resolve(self.channel, name).name
                        elif e.code() != Code.ABORTED:
                            raise
                raise AssertionError("link never succeeded")

            fns = [lambda: self.merge(target.name, [src.name], request_id="race-%d" % round_)]
            fns += [(lambda i: lambda: link(i))(i) for i in range(6)]
            out = together(fns)
            self.assertEqual([e for _, e in out], [None] * len(fns), [e.details() for _, e in out if e])
            docs = lib.list_all_documents(self.channel, target.name)
            self.assertEqual(len(docs), 26)
            moved = set(out[0][0].merge.moved_documents)
            for r, _ in out[1:]:  # a link that landed before the merge was moved and is listed
                if r.prospect == src.name:
                    self.assertIn(r.name, moved)


if __name__ == "__main__":
    harness.main()
