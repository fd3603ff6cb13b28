"""A person's data (issue 16, GDPR): ExportPersonData returns everything the service holds about a
prospect or contact person; ErasePersonData removes it and redacts every copy (link snapshots,
merge-record snapshots, audit rows, stored idempotency responses, word index, duplicate keys), keeps
the invoice snapshots unless told otherwise, is idempotent and audited. The erasure test dumps every
table of the schema and searches the dump for the person's values (docs/personal-data.md lists the
places)."""

import concurrent.futures
import unittest
import uuid

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2 as R, service_pb2 as S

Code = grpc.StatusCode

NAME = "Zebedeus Quortlandt"
EMAIL = "Zebedeus.Quortlandt@Example-Mail.be"
PHONE = "+32 470 98 76 54"
CP_EMAIL = "zq.private@Quortlandt-Home.be"
CP_PHONE = "+32 471 55 44 33"
# what the dump is searched for: the values, and their folded forms as the indexes store them
NEEDLES = [b"zebedeus", b"quortlandt", EMAIL.lower().encode(), b"470987654", b"470 98 76 54",
           CP_EMAIL.lower().encode(), b"471554433", b"471 55 44 33"]


def export(channel, name, page_size=0, page_token="", metadata=None):
    return harness.call(channel, lib.method("ExportPersonData"),
                        S.ExportPersonDataRequest(name=name, documents_page_size=page_size,
                                                  documents_page_token=page_token),
                        S.PersonData, metadata=metadata)


def erase(channel, name, invoices=False, request_id="", metadata=None):
    return harness.call(channel, lib.method("ErasePersonData"),
                        S.ErasePersonDataRequest(name=name, erase_invoice_snapshots=invoices,
                                                 request_id=request_id),
                        S.ErasePersonDataResponse, metadata=metadata)


def audit_events(channel, tenant):
    return harness.call(channel, lib.method("ListAuditEvents"),
                        S.ListAuditEventsRequest(parent="tenants/" + tenant, page_size=1000),
                        S.ListAuditEventsResponse).audit_events


def has_needle(data):
    low = data.lower()
    return [n for n in NEEDLES if n in low]


class PersonDataCase(lib.ServerTestCase):
    def dump_schema(self, tenant):
        """[(table, {column: bytes})]: every row of the tenant in every table of the schema that has
        a tenant_id, and every row of the tables that have none; blobs as their bytes."""
        tables = [r[0] for r in self.db.sql(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s'"
            " AND TABLE_TYPE = 'BASE TABLE'" % self.database)]
        self.assertIn("document_links", tables)
        out = []
        for table in tables:
            cols = [r[0] for r in self.db.sql(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s' AND"
                " TABLE_NAME = '%s' ORDER BY ORDINAL_POSITION" % (self.database, table))]
            where = " WHERE tenant_id = '%s'" % tenant if "tenant_id" in cols else ""
            rows = self.db.sql("SELECT %s FROM `%s`%s" % (
                ", ".join("IFNULL(HEX(CAST(`%s` AS BINARY)), '')" % c for c in cols), table, where), self.database)
            for r in rows:
                out.append((table, {c: bytes.fromhex(v) for c, v in zip(cols, r)}))
        return out

    def places_of_needles(self, tenant):
        """[(table, column, row)] where a needle occurs."""
        found = []
        for table, row in self.dump_schema(tenant):
            for col, data in row.items():
                if has_needle(data):
                    found.append((table, col, row))
        return found


class Export(PersonDataCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel, "pde")
        ch, t = self.channel, self.t
        self.p = lib.create(ch, t, lib.company(company_name="Brouwerij Export", email="b@export.be"))
        self.cp1 = lib.create_contact(ch, self.p.name, R.ContactPerson(first_name="Ilse", last_name="Eerst"))
        self.cp2 = lib.create_contact(ch, self.p.name, R.ContactPerson(first_name="Jef", last_name="Twee"))
        self.docs = []
        for i, ty in enumerate([R.QUOTE, R.ORDER, R.INVOICE, R.ATTACHMENT]):
            self.docs.append(lib.link_document(ch, self.p.name, lib.document(type=ty, document_id="d-%d" % i)))
        self.d = lib.create(ch, t, lib.company(company_name="Brouwerij Export NV", phone="+32 2 123 45 67"))
        self.dcp = lib.create_contact(ch, self.d.name, R.ContactPerson(first_name="Karel", last_name="Bron"))
        self.docs.append(lib.link_document(ch, self.d.name, lib.document(document_id="d-src")))
        self.m1 = lib.merge(ch, self.p.name, [self.d.name], request_id="m-exp",
                            metadata=[("x-acting-user", "clerk-1")]).merge
        self.other = lib.create(ch, t, lib.person(first_name="Other", last_name="One"))

    def test_a_prospect_with_everything(self):
        got = export(self.channel, self.p.name)
        self.assertEqual(got.name, self.p.name)
        self.assertEqual(got.prospect.name, self.p.name)
        self.assertEqual(got.prospect.company_name, "Brouwerij Export")
        self.assertEqual(sorted(c.name for c in got.contact_persons), sorted([self.cp1.name, self.cp2.name]))
        self.assertEqual(len(got.documents), 5)  # its own four and the one moved from the source
        self.assertEqual({d.document_id for d in got.documents}, {"d-0", "d-1", "d-2", "d-3", "d-src"})
        for d in got.documents:
            self.assertTrue(d.party_snapshot.company_name.startswith("Brouwerij Export"), d)
        self.assertEqual(got.documents_next_page_token, "")
        self.assertEqual([m.name for m in got.merges], [self.m1.name])
        snap = got.merges[0].source_snapshots[0]
        self.assertEqual(snap.prospect.company_name, "Brouwerij Export NV")
        self.assertEqual([c.first_name for c in snap.contact_persons], ["Karel"])
        self.assertFalse(snap.redacted)
        self.assertEqual([(e.action, e.resource, e.acting_user) for e in got.audit_events],
                         [("MergeProspects", self.m1.name, "clerk-1")])
        self.assertNotIn("Other", str(got))

    def test_documents_are_paged(self):
        seen, token, pages = [], "", 0
        while True:
            got = export(self.channel, self.p.name, page_size=2, page_token=token)
            pages += 1
            seen.extend(d.name for d in got.documents)
            self.assertLessEqual(len(got.documents), 2)
            token = got.documents_next_page_token
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 5)
        self.assertEqual(len(set(seen)), 5)
        first = export(self.channel, self.p.name, page_size=2)
        self.assertRpcError(lambda: export(self.channel, self.other.name, page_token=first.documents_next_page_token),
                            Code.INVALID_ARGUMENT, field="documents_page_token")
        self.assertRpcError(lambda: export(self.channel, self.p.name, page_size=-1),
                            Code.INVALID_ARGUMENT, field="documents_page_size")

    def test_merged_away_name_and_contact_persons(self):
        got = export(self.channel, self.d.name)
        self.assertFalse(got.HasField("prospect"))
        self.assertEqual([m.name for m in got.merges], [self.m1.name])
        self.assertEqual(got.merges[0].source_snapshots[0].prospect.name, self.d.name)
        self.assertEqual(len(got.audit_events), 1)
        # a live contact person: itself and its company
        got = export(self.channel, self.cp1.name)
        self.assertEqual([c.name for c in got.contact_persons], [self.cp1.name])
        self.assertEqual(got.prospect.name, self.p.name)
        self.assertEqual(list(got.documents), [])
        # a contact person deleted with its merged-away company: as the merge record keeps it
        got = export(self.channel, self.dcp.name)
        self.assertEqual([(c.name, c.first_name) for c in got.contact_persons], [(self.dcp.name, "Karel")])
        self.assertEqual([m.name for m in got.merges], [self.m1.name])

    def test_not_found_other_tenant_and_bad_names(self):
        t = self.t
        self.assertRpcError(lambda: export(self.channel, "tenants/%s/prospects/%s" % (t, uuid.uuid4())),
                            Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        self.assertRpcError(lambda: export(self.channel, "%s/contactPersons/%s" % (self.p.name, uuid.uuid4())),
                            Code.NOT_FOUND, reason="CONTACT_PERSON_NOT_FOUND")
        other = harness.new_tenant("pde")
        for name in (self.p.name, self.d.name, self.cp1.name):
            foreign = name.replace("tenants/%s/" % t, "tenants/%s/" % other)
            self.assertRpcError(lambda: export(self.channel, foreign), Code.NOT_FOUND)
            self.assertRpcError(lambda: erase(self.channel, foreign), Code.NOT_FOUND)
        for bad in ("", "tenants/%s" % t, "tenants/%s/prospects/nope" % t, "prospects/%s" % uuid.uuid4(),
                    "%s/documents/%s" % (self.p.name, uuid.uuid4()), self.m1.name):
            self.assertRpcError(lambda: export(self.channel, bad), Code.INVALID_ARGUMENT, field="name")
            self.assertRpcError(lambda: erase(self.channel, bad), Code.INVALID_ARGUMENT, field="name")
        self.assertRpcError(lambda: erase(self.channel, self.p.name, request_id="bad id!"),
                            Code.INVALID_ARGUMENT, field="request_id")
        self.assertEqual(export(self.channel, self.p.name).prospect.name, self.p.name)  # nothing erased

    def test_not_gated_by_the_apps(self):
        lib.update_apps(self.channel, self.t, ["prospects_enabled", "quote_requests_enabled"])
        lib.wait_gate(self.channel, self.t, False)
        self.assertEqual(export(self.channel, self.p.name).prospect.name, self.p.name)
        self.assertEqual(erase(self.channel, self.other.name).name, self.other.name)


class Erase(PersonDataCase):
    def make_person(self):
        """The person everywhere: a record T (made by a quote request, with a contact person, links of
        every type, an invoice), a duplicate D merged into it (its snapshot in the merge record,
        its link moved), an audit row naming the person, and stored idempotency responses."""
        ch = self.channel
        t = harness.new_tenant("pdx")
        lib.enable_quote_requests(ch, t)
        self.t = t
        resp = lib.intake(ch, t, "in-1", lib.document(type=R.QUOTE_REQUEST, document_id="qr-1"),
                          new_prospect=lib.company(company_name=NAME, email=EMAIL, phone=PHONE,
                                                   notes="met " + NAME),
                          contact_person=R.ContactPerson(first_name="Zebedeus", last_name="Quortlandt",
                                                         email=CP_EMAIL, phone=CP_PHONE))
        self.T = resp.prospect
        self.cp = lib.list_contacts(ch, self.T.name).contact_persons[0]
        self.D = lib.create(ch, t, lib.company(company_name=NAME + " BV", email=EMAIL, phone=PHONE),
                            request_id="c-dup")
        lib.create_contact(ch, self.D.name, R.ContactPerson(first_name="Zeb", last_name="Quortlandt",
                                                            email=CP_EMAIL), request_id="cp-dup")
        lib.link_document(ch, self.D.name, lib.document(type=R.QUOTE, document_id="q-dup"), request_id="l-dup")
        self.M = lib.merge(ch, self.T.name, [self.D.name], request_id="m-1",
                           metadata=[("x-acting-user", EMAIL)]).merge
        for ty, did in ((R.QUOTE, "q-1"), (R.ORDER, "o-1"), (R.DELIVERY_NOTE, "dn-1"),
                        (R.CREDIT_NOTE, "cn-1"), (R.ATTACHMENT, "a-1"), (R.OTHER, "x-1")):
            lib.link_document(ch, self.T.name, lib.document(type=ty, document_id=did), request_id="l-" + did)
        lib.convert(ch, self.T.name, lib.document(type=R.INVOICE, document_id="inv-1"), request_id="conv-1")
        self.other = lib.create(ch, t, lib.person(first_name="Mila", last_name="Anders", email="mila@anders.be"),
                                request_id="c-other")
        lib.link_document(ch, self.other.name, lib.document(document_id="q-other"))
        # the setup holds the values where the test will look for them
        places = {(tb, col) for tb, col, _ in self.places_of_needles(t)}
        for where in [("prospects", "company_name"), ("prospects", "email_norm"), ("prospects", "phone_norm"),
                      ("prospects", "name_key"), ("prospect_terms", "term"), ("contact_persons", "email"),
                      ("document_links", "party_snapshot"), ("merges", "record"), ("merges", "acting_user"),
                      ("idempotency_keys", "response"), ("audit_events", "acting_user")]:
            self.assertIn(where, places)

    def assert_only_invoices_hold_the_person(self):
        for table, col, row in self.places_of_needles(self.t):
            self.assertEqual(table, "document_links", (table, col, row))
            self.assertIn(row["type"], (b"5", b"6"), (col, row))  # INVOICE, CREDIT_NOTE

    def test_erasure_everywhere(self):
        self.make_person()
        ch, t = self.channel, self.t
        r = erase(ch, self.T.name, request_id="er-1", metadata=[("x-acting-user", "dpo-1")])
        self.assertEqual(r.name, self.T.name)
        self.assertFalse(r.already_erased)
        self.assertEqual(r.erased_contact_persons, 1)
        self.assertEqual(r.redacted_document_snapshots, 7)  # qr, q, o, dn, a, x, q-dup
        self.assertEqual(r.redacted_merge_snapshots, 1)
        self.assertEqual(r.redacted_audit_events, 1)
        self.assertEqual([(k.kind, k.count, k.reason) for k in r.kept],
                         [("INVOICE_SNAPSHOTS", 2, "LEGAL_RETENTION")])
        self.assertTrue(r.kept[0].description)
        self.assert_only_invoices_hold_the_person()

        # the same request id answers the first response; another call changes nothing
        self.assertEqual(erase(ch, self.T.name, request_id="er-1"), r)
        before = lib.dump_tenant(self.db, self.database, t)
        again = erase(ch, self.T.name)
        self.assertTrue(again.already_erased)
        self.assertEqual((again.redacted_document_snapshots, again.redacted_merge_snapshots,
                          again.redacted_audit_events, again.erased_contact_persons), (0, 0, 0, 0))
        self.assertEqual([(k.kind, k.count) for k in again.kept], [("INVOICE_SNAPSHOTS", 2)])
        self.assertEqual(lib.dump_tenant(self.db, self.database, t), before)

        self.check_reads_after_erasure()

        # the invoices too, when the caller says so
        r2 = erase(ch, self.T.name, invoices=True)
        self.assertFalse(r2.already_erased)
        self.assertEqual(r2.redacted_document_snapshots, 2)
        self.assertEqual(list(r2.kept), [])
        self.assertEqual(self.places_of_needles(t), [])
        self.assertTrue(erase(ch, self.T.name, invoices=True).already_erased)

    def check_reads_after_erasure(self):
        ch, t = self.channel, self.t
        self.assertRpcError(lambda: lib.get(ch, self.T.name), Code.NOT_FOUND, reason="PROSPECT_ERASED")
        self.assertRpcError(lambda: lib.resolve(ch, self.T.name), Code.NOT_FOUND, reason="PROSPECT_ERASED")
        self.assertRpcError(lambda: lib.get_contact(ch, self.cp.name), Code.NOT_FOUND)
        self.assertRpcError(lambda: lib.merge(ch, self.other.name, [self.T.name], request_id="m-x"),
                            Code.NOT_FOUND, reason="PROSPECT_ERASED")
        self.assertRpcError(lambda: lib.merge(ch, self.T.name, [self.other.name], request_id="m-y"),
                            Code.NOT_FOUND, reason="PROSPECT_ERASED")
        self.assertRpcError(lambda: lib.link_document(ch, self.T.name, lib.document(document_id="late")),
                            Code.NOT_FOUND)
        for q in ("Quortlandt", "zebedeus", EMAIL, "quortlandt-home"):
            self.assertEqual([p.name for p in lib.list_all(ch, t, query=q, state_filter=S.ALL_STATES)], [], q)
        self.assertEqual([p.name for p in lib.list_all(ch, t, state_filter=S.ALL_STATES)], [self.other.name])
        for cand in (lib.company(company_name=NAME), lib.person(first_name="Zebedeus", last_name="Quortlandt"),
                     lib.person(first_name="X", email=EMAIL), lib.person(first_name="X", phone=PHONE)):
            got = lib.find_duplicates(ch, t, candidate=cand, min_score=0.5).duplicates
            self.assertEqual(list(got), [], cand)
        # merge records stay, redacted
        m = lib.get_merge(ch, self.M.name)
        self.assertEqual(list(m.sources), [self.D.name])
        self.assertTrue(m.source_snapshots[0].redacted)
        self.assertEqual(m.source_snapshots[0].prospect.name, self.D.name)
        self.assertEqual(m.source_snapshots[0].prospect.kind, R.COMPANY)
        self.assertEqual(m.acting_user, "")
        self.assertEqual(len(m.source_snapshots[0].contact_persons), 1)
        self.assertEqual(has_needle(m.SerializeToString()), [])
        self.assertEqual(has_needle(lib.list_merges(ch, t).SerializeToString()), [])
        # links stay on the record, redacted except the invoices
        docs = lib.list_all_documents(ch, self.T.name)
        self.assertEqual(len(docs), 9)
        for d in docs:
            if d.type in (R.INVOICE, R.CREDIT_NOTE):
                self.assertEqual(d.party_snapshot.company_name, NAME)
                self.assertFalse(d.party_snapshot.redacted)
            else:
                self.assertTrue(d.party_snapshot.redacted, d)
                self.assertEqual(has_needle(d.SerializeToString()), [])
        looked = lib.lookup_document(ch, t, R.QUOTE, "q-dup")
        self.assertEqual(looked.name.split("/documents/")[0], self.T.name)
        self.assertTrue(looked.party_snapshot.redacted)
        self.assertEqual(looked.party_snapshot.company_name, "")
        # the export shows what is left: the kept invoices and the redacted structure
        got = export(ch, self.T.name)
        self.assertFalse(got.HasField("prospect"))
        self.assertEqual(list(got.contact_persons), [])
        self.assertEqual(len(got.documents), 9)
        for d in got.documents:
            if d.type not in (R.INVOICE, R.CREDIT_NOTE):
                self.assertEqual(has_needle(d.SerializeToString()), [])
        self.assertEqual(has_needle(b"".join(x.SerializeToString() for x in list(got.merges) + list(got.audit_events))), [])
        self.assertEqual(has_needle(export(ch, self.D.name).SerializeToString()), [])
        # the audit trail: the merge's row redacted, the erasure's row without values
        events = [e for e in audit_events(ch, t) if e.action != "UpdateTenantApps"]
        self.assertEqual([(e.action, e.resource, e.redacted, e.acting_user) for e in events], [
            ("ErasePersonData", self.T.name, False, "dpo-1"),
            ("MergeProspects", self.M.name, True, "")])
        self.assertEqual(events[1].details, "")
        self.assertEqual(has_needle(events[0].SerializeToString()), [])
        # stored responses that held the person are gone; the others stay
        keys = {r[0] for r in self.db.sql("SELECT request_id FROM idempotency_keys WHERE tenant_id = '%s'" % t,
                                          self.database)}
        self.assertEqual(keys & {"in-1", "c-dup", "cp-dup", "l-dup", "conv-1", "l-q-1", "l-a-1"}, set())
        self.assertIn("c-other", keys)
        self.assertIn("er-1", keys)
        # the tenant's export (ExportProspects) holds the other record only, and nothing of the person
        stream = ch.unary_stream(lib.method("ExportProspects"),
                                 request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=S.ExportProspectsResponse.FromString)
        pages = list(stream(S.ExportProspectsRequest(parent="tenants/" + t), timeout=30))
        self.assertEqual([b.prospect.name for p in pages for b in p.prospects], [self.other.name])
        self.assertEqual(has_needle(b"".join(p.SerializeToString() for p in pages)), [])
        # the other record of the tenant is untouched
        self.assertEqual(lib.get(ch, self.other.name).email, "mila@anders.be")
        self.assertEqual(lib.list_all(ch, t, query="Anders")[0].name, self.other.name)

    def test_erasing_a_merged_away_name(self):
        self.make_person()
        r = erase(self.channel, self.D.name)
        self.assertFalse(r.already_erased)
        self.assertEqual(r.erased_contact_persons, 0)
        self.assertEqual(r.redacted_merge_snapshots, 1)
        self.assertEqual(r.redacted_document_snapshots, 1)  # the link moved away from it
        self.assertTrue(lib.get_merge(self.channel, self.M.name).source_snapshots[0].redacted)
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "q-dup").party_snapshot.redacted, True)
        # the live record is another record: it stays
        self.assertEqual(lib.get(self.channel, self.T.name).company_name, NAME)
        self.assertRpcError(lambda: lib.get(self.channel, self.D.name), Code.NOT_FOUND, reason="PROSPECT_MERGED")
        self.assertTrue(erase(self.channel, self.D.name).already_erased)

    def test_a_contact_person_alone(self):
        ch = self.channel
        t = lib.new_enabled_tenant(ch, "pdc")
        c = lib.create(ch, t, lib.company(company_name="Huis Contact"))
        keep = lib.create_contact(ch, c.name, R.ContactPerson(first_name="Blijft", last_name="Hier"))
        gone = lib.create_contact(ch, c.name, R.ContactPerson(first_name="Zebedeus", last_name="Quortlandt",
                                                              email=CP_EMAIL, phone=CP_PHONE), request_id="cp-1")
        e = lib.create(ch, t, lib.company(company_name="Huis Bron"))
        snap = lib.create_contact(ch, e.name, R.ContactPerson(first_name="Zeb", last_name="Quortlandt",
                                                              email=CP_EMAIL))
        other_snap = lib.create_contact(ch, e.name, R.ContactPerson(first_name="Anna", last_name="Blijft"))
        m = lib.merge(ch, c.name, [e.name], request_id="m-c").merge
        r = erase(ch, gone.name)
        self.assertEqual((r.erased_contact_persons, r.redacted_merge_snapshots, r.redacted_document_snapshots),
                         (1, 0, 0))
        self.assertRpcError(lambda: lib.get_contact(ch, gone.name), Code.NOT_FOUND)
        self.assertEqual([x.name for x in lib.list_contacts(ch, c.name).contact_persons], [keep.name])
        self.assertEqual(lib.get(ch, c.name).company_name, "Huis Contact")
        r = erase(ch, snap.name)  # known only from the merge record's snapshot
        self.assertEqual((r.erased_contact_persons, r.redacted_merge_snapshots), (0, 1))
        got = lib.get_merge(ch, m.name).source_snapshots[0]
        self.assertTrue(got.redacted)
        self.assertEqual(got.prospect.company_name, "Huis Bron")  # the company's own data stays
        cps = {x.name: x for x in got.contact_persons}
        self.assertEqual((cps[snap.name].first_name, cps[snap.name].email), ("", ""))
        self.assertEqual(cps[other_snap.name].first_name, "Anna")
        self.assertEqual(self.places_of_needles(t), [])
        self.assertTrue(erase(ch, gone.name).already_erased)
        self.assertTrue(erase(ch, snap.name).already_erased)

    def test_merges_racing_the_erasure_cannot_bring_it_back(self):
        ch = self.channel
        t = lib.new_enabled_tenant(ch, "pdr")
        T = lib.create(ch, t, lib.company(company_name=NAME, email=EMAIL, phone=PHONE))
        lib.link_document(ch, T.name, lib.document(document_id="q-race"))
        dups = [lib.create(ch, t, lib.company(company_name="Racer %d" % i)) for i in range(6)]
        for i, d in enumerate(dups):
            lib.link_document(ch, d.name, lib.document(document_id="q-racer-%d" % i))

        def merge(i):
            try:
                return lib.merge(ch, T.name, [dups[i].name], request_id="race-%d" % i).merge
            except grpc.RpcError as e:
                self.assertEqual(e.code(), Code.NOT_FOUND, e.details())
                return None

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futs = [pool.submit(merge, i) for i in range(3)]
            erased = pool.submit(erase, ch, T.name)
            futs += [pool.submit(merge, i) for i in range(3, 6)]
            merges = [f.result() for f in futs]
            r = erased.result()
        self.assertFalse(r.already_erased)
        for d, m in zip(dups, merges):
            if m is None:  # refused after the erasure: the duplicate is still its own record
                self.assertEqual(lib.get(ch, d.name).company_name, d.company_name)
                continue
            got = lib.get_merge(ch, m.name)  # merged before the erasure: redacted with it
            self.assertTrue(got.source_snapshots[0].redacted, got)
            self.assertNotIn("Racer", str(got))
            doc = lib.lookup_document(ch, t, R.QUOTE, "q-racer-%d" % dups.index(d))
            self.assertTrue(doc.party_snapshot.redacted)
        self.assertEqual(self.places_of_needles(t), [])
        self.assertRpcError(lambda: lib.get(ch, T.name), Code.NOT_FOUND, reason="PROSPECT_ERASED")


if __name__ == "__main__":
    harness.main()
