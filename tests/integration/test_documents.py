"""Documents on the record (S2, S5, S7, S13) against the real server and MariaDB: link, lookup, list
and unlink; a link is idempotent on (tenant, type, document id) and on one record at a time
(another record: FAILED_PRECONDITION DOCUMENT_LINKED_ELSEWHERE naming it); a merged-away record is
NOT_FOUND PROSPECT_MERGED with the survivor; another tenant's record is NOT_FOUND; the party snapshot
is frozen; list newest first with a type filter and page tokens; validation naming the field with
nothing written; request ids; the app gate; racing links."""

import threading

import grpc

import harness
import ps_testlib as lib
from google.protobuf import timestamp_pb2
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
R = resources_pb2


def ts(seconds):
    return timestamp_pb2.Timestamp(seconds=seconds)


class Link(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.p = lib.create(self.channel, self.t, lib.company(company_name="Acme", email="info@acme.nl",
                                                              address=R.Address(city="Utrecht",
                                                                                country_code="NL")))

    def links(self):
        return lib.count_rows(self.db, self.database, "document_links", self.t)

    def test_round_trip(self):
        snap = R.PartySnapshot(display_name="Acme BV", company_name="Acme BV", email="buy@acme.nl",
                               vat_number="NL001", address=R.Address(street="Main 1", city="Utrecht"))
        d = lib.link_document(self.channel, self.p.name,
                              lib.document(R.QUOTE, "q-1", number="Q-2024-1", title="Chairs",
                                           document_time=ts(1700000000), party_snapshot=snap))
        self.assertRegex(d.name, r"^%s/documents/%s$" % (self.p.name, lib.UUID_RE))
        self.assertEqual(d.prospect, self.p.name)
        self.assertEqual((d.type, d.document_id, d.number, d.title), (R.QUOTE, "q-1", "Q-2024-1", "Chairs"))
        self.assertEqual(d.document_time, ts(1700000000))
        self.assertEqual(d.party_snapshot, snap)
        self.assertRecent(d.link_time)
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "q-1"), d)
        self.assertEqual(list(lib.list_documents(self.channel, self.p.name).documents), [d])

    def test_every_type_and_the_defaults(self):
        for i, typ in enumerate([R.QUOTE, R.QUOTE_REQUEST, R.ORDER, R.DELIVERY_NOTE, R.INVOICE,
                                 R.CREDIT_NOTE, R.ATTACHMENT, R.OTHER]):
            d = lib.link_document(self.channel, self.p.name, lib.document(typ, "d-%d" % i))
            self.assertEqual(d.type, typ)
            # no date: the link time; no snapshot: the record's details as they are now
            self.assertEqual(d.document_time, d.link_time)
            self.assertEqual(d.party_snapshot, R.PartySnapshot(
                display_name="Acme", company_name="Acme", email="info@acme.nl",
                address=R.Address(city="Utrecht", country_code="NL")))
        self.assertEqual(self.links(), 8)

    def test_the_same_document_twice_is_one_link(self):
        first = lib.link_document(self.channel, self.p.name,
                                  lib.document(R.QUOTE, "q-1", number="1",
                                               party_snapshot=R.PartySnapshot(display_name="Old")))
        again = lib.link_document(self.channel, self.p.name,
                                  lib.document(R.QUOTE, "q-1", number="2", title="changed",
                                               party_snapshot=R.PartySnapshot(display_name="New")))
        self.assertEqual(again, first)  # the existing link, snapshot and all, unchanged
        self.assertEqual(self.links(), 1)
        # the same id under another type is another document
        other = lib.link_document(self.channel, self.p.name, lib.document(R.INVOICE, "q-1"))
        self.assertNotEqual(other.name, first.name)
        self.assertEqual(self.links(), 2)

    def test_another_record_is_refused_naming_the_record(self):
        d = lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-1"))
        other = lib.create(self.channel, self.t, lib.person())
        e = self.assertRpcError(lambda: lib.link_document(self.channel, other.name, lib.document(R.QUOTE, "q-1")),
                                Code.FAILED_PRECONDITION, reason="DOCUMENT_LINKED_ELSEWHERE")
        info = harness.error_info(e)
        self.assertEqual(info.metadata["prospect"], self.p.name)
        self.assertEqual(info.metadata["document"], d.name)
        self.assertIn(self.p.name, e.details())
        self.assertEqual(self.links(), 1)
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "q-1").prospect, self.p.name)
        # once unlinked, it may go elsewhere
        lib.unlink_document(self.channel, self.t, R.QUOTE, "q-1")
        self.assertEqual(lib.link_document(self.channel, other.name, lib.document(R.QUOTE, "q-1")).prospect,
                         other.name)

    def test_merged_away_record_names_the_survivor(self):
        source = lib.create(self.channel, self.t, lib.person(first_name="Source"))
        lib.link_document(self.channel, source.name, lib.document(R.QUOTE, "q-src"))
        lib.merge_away_by_sql(self.db, self.database, self.t, source.name, self.p.name)
        e = self.assertRpcError(lambda: lib.link_document(self.channel, source.name, lib.document(R.QUOTE, "q-2")),
                                Code.NOT_FOUND, reason="PROSPECT_MERGED")
        self.assertEqual(harness.error_info(e).metadata["surviving_prospect"], self.p.name)
        e = self.assertRpcError(lambda: lib.list_documents(self.channel, source.name),
                                Code.NOT_FOUND, reason="PROSPECT_MERGED")
        self.assertEqual(harness.error_info(e).metadata["surviving_prospect"], self.p.name)
        self.assertEqual([d.document_id for d in lib.list_all_documents(self.channel, self.p.name)], ["q-src"])
        self.assertEqual(self.links(), 1)

    def test_another_tenants_record_is_not_found(self):
        other_tenant = lib.new_enabled_tenant(self.channel)
        theirs = lib.create(self.channel, other_tenant, lib.person())
        stolen = "tenants/%s/prospects/%s" % (self.t, lib.prospect_id(theirs.name))
        self.assertRpcError(lambda: lib.link_document(self.channel, stolen, lib.document(R.QUOTE, "q-1")),
                            Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        self.assertRpcError(lambda: lib.list_documents(self.channel, stolen), Code.NOT_FOUND,
                            reason="PROSPECT_NOT_FOUND")
        unknown = "tenants/%s/prospects/01900000-0000-7000-8000-000000000001" % self.t
        self.assertRpcError(lambda: lib.link_document(self.channel, unknown, lib.document(R.QUOTE, "q-1")),
                            Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        self.assertEqual(self.links(), 0)
        self.assertEqual(lib.count_rows(self.db, self.database, "document_links", other_tenant), 0)
        # the same document id in two tenants: two documents, neither sees the other's
        mine = lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "shared-id"))
        lib.link_document(self.channel, theirs.name, lib.document(R.QUOTE, "shared-id"))
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "shared-id"), mine)
        lib.unlink_document(self.channel, other_tenant, R.QUOTE, "shared-id")
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "shared-id"), mine)
        self.assertRpcError(lambda: lib.unlink_document(self.channel, other_tenant, R.QUOTE, "shared-id"),
                            Code.NOT_FOUND, reason="DOCUMENT_NOT_FOUND")

    def test_snapshot_is_frozen_when_the_record_changes(self):
        taken = lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-own"))
        sent = lib.link_document(self.channel, self.p.name, lib.document(
            R.INVOICE, "i-1", party_snapshot=R.PartySnapshot(display_name="As printed", email="x@y.nl")))
        cur = lib.get(self.channel, self.p.name)
        cur.company_name = "Acme Renamed"
        cur.email = "new@acme.nl"
        cur.address.city = "Amsterdam"
        lib.update(self.channel, cur, ["company_name", "email", "address.city"])
        self.assertEqual(lib.get(self.channel, self.p.name).display_name, "Acme Renamed")
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "q-own"), taken)
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.INVOICE, "i-1"), sent)
        self.assertEqual(taken.party_snapshot.email, "info@acme.nl")
        self.assertEqual(taken.party_snapshot.address.city, "Utrecht")
        # linking again (even with other details) does not touch it either
        again = lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-own"))
        self.assertEqual(again, taken)

    def test_quotes_link_to_prospects_and_customers_alike(self):
        lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-prospect"))
        customer = lib.create(self.channel, self.t, lib.person(first_name="Customer"))
        lib.convert(self.channel, customer.name, lib.document(R.INVOICE, "inv-1"))
        d = lib.link_document(self.channel, customer.name, lib.document(R.QUOTE, "q-customer"))
        self.assertEqual(d.prospect, customer.name)
        # prospects and customers stay apart in the overview
        prospects = [p.name for p in lib.list_all(self.channel, self.t)]
        customers = [p.name for p in lib.list_all(self.channel, self.t, state_filter=service_pb2.CUSTOMERS_ONLY)]
        self.assertEqual(prospects, [self.p.name])
        self.assertEqual(customers, [customer.name])

    def test_request_id(self):
        a = lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-1"), request_id="l-1")
        b = lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-1"), request_id="l-1")
        self.assertEqual(a, b)
        self.assertRpcError(lambda: lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-2"),
                                                      request_id="l-1"),
                            Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
        self.assertEqual(self.links(), 1)

    def test_validation_names_the_field_and_writes_nothing(self):
        before = lib.count_all(self.db, self.database, self.t)
        bad = [
            (None, "document"),
            (lib.document(R.DOCUMENT_TYPE_UNSPECIFIED, "x"), "document.type"),
            (lib.document(99, "x"), "document.type"),
            (lib.document(R.QUOTE, ""), "document.document_id"),
            (lib.document(R.QUOTE, "   "), "document.document_id"),
            (lib.document(R.QUOTE, "x" * 129), "document.document_id"),
            (lib.document(R.QUOTE, "bad\x01id"), "document.document_id"),
            (lib.document(R.QUOTE, "x", number="n" * 65), "document.number"),
            (lib.document(R.QUOTE, "x", title="t" * 201), "document.title"),
            (lib.document(R.QUOTE, "x", document_time=ts(300000000000)), "document.document_time"),
            (lib.document(R.QUOTE, "x", party_snapshot=R.PartySnapshot(email="e" * 255)),
             "document.party_snapshot.email"),
            (lib.document(R.QUOTE, "x", party_snapshot=R.PartySnapshot(address=R.Address(country_code="XX"))),
             "document.party_snapshot.address.country_code"),
        ]
        for doc, field in bad:
            with self.subTest(field=field, doc=doc):
                req = service_pb2.LinkDocumentRequest(parent=self.p.name)
                if doc is not None:
                    req.document.CopyFrom(doc)
                self.assertRpcError(lambda: harness.call(self.channel, lib.method("LinkDocument"), req,
                                                         R.Document),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field=field)
        self.assertRpcError(lambda: lib.link_document(self.channel, "tenants/%s" % self.t, lib.document()),
                            Code.INVALID_ARGUMENT, field="parent")
        self.assertRpcError(lambda: lib.link_document(self.channel, self.p.name, lib.document(), request_id="no spaces"),
                            Code.INVALID_ARGUMENT, field="request_id")
        # the longest values are fine
        lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "é" * 128, number="n" * 64,
                                                                  title="t" * 200))
        after = lib.count_all(self.db, self.database, self.t)
        self.assertEqual(after["document_links"], before["document_links"] + 1)
        self.assertEqual(after["prospects"], before["prospects"])

    def test_app_gate(self):
        d = lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-1"))
        lib.update_apps(self.channel, self.t, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, self.t, False)
        for fn in (lambda: lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-2")),
                   lambda: lib.list_documents(self.channel, self.p.name),
                   lambda: lib.lookup_document(self.channel, self.t, R.QUOTE, "q-1"),
                   lambda: lib.unlink_document(self.channel, self.t, R.QUOTE, "q-1")):
            self.assertRpcError(fn, Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
        lib.enable_prospects(self.channel, self.t)
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "q-1"), d)


class UnlinkAndLookup(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.p = lib.create(self.channel, self.t, lib.person())

    def test_unlink(self):
        lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "q-1"))
        lib.link_document(self.channel, self.p.name, lib.document(R.ORDER, "q-1"))
        self.assertRpcError(lambda: lib.delete(self.channel, self.p.name), Code.FAILED_PRECONDITION,
                            reason="PROSPECT_HAS_DOCUMENTS")
        lib.unlink_document(self.channel, self.t, R.QUOTE, "q-1")
        self.assertRpcError(lambda: lib.lookup_document(self.channel, self.t, R.QUOTE, "q-1"),
                            Code.NOT_FOUND, reason="DOCUMENT_NOT_FOUND")
        self.assertRpcError(lambda: lib.unlink_document(self.channel, self.t, R.QUOTE, "q-1"),
                            Code.NOT_FOUND, reason="DOCUMENT_NOT_FOUND")
        self.assertEqual([d.type for d in lib.list_all_documents(self.channel, self.p.name)], [R.ORDER])
        lib.unlink_document(self.channel, self.t, R.ORDER, "q-1")
        lib.delete(self.channel, self.p.name)

    def test_key_validation(self):
        for fn, field in ((lambda: lib.unlink_document(self.channel, self.t, 0, "x"), "type"),
                          (lambda: lib.unlink_document(self.channel, self.t, 42, "x"), "type"),
                          (lambda: lib.unlink_document(self.channel, self.t, R.QUOTE, ""), "document_id"),
                          (lambda: lib.lookup_document(self.channel, self.t, 0, "x"), "type"),
                          (lambda: lib.lookup_document(self.channel, self.t, R.QUOTE, "x" * 129), "document_id"),
                          (lambda: lib.lookup_document(self.channel, "Bad_Tenant", R.QUOTE, "x"), "parent")):
            self.assertRpcError(fn, Code.INVALID_ARGUMENT, field=field)


class ListDocuments(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.p = lib.create(self.channel, self.t, lib.person())

    def test_newest_first_type_filter_and_pages(self):
        made = []
        for i in range(7):
            typ = R.QUOTE if i % 2 == 0 else R.INVOICE
            # dates out of link order, two with the same date (then the newer link first)
            when = [1600000000, 1700000000, 1650000000, 1700000000, 1500000000, 1750000000, 1600000000][i]
            made.append(lib.link_document(self.channel, self.p.name,
                                          lib.document(typ, "d-%d" % i, document_time=ts(when))))
        want = sorted(made, key=lambda d: (d.document_time.seconds, d.name), reverse=True)
        for size in (1, 2, 3, 7, 50):
            with self.subTest(page_size=size):
                self.assertEqual([d.name for d in lib.list_all_documents(self.channel, self.p.name, page_size=size)],
                                 [d.name for d in want])
        quotes = [d.name for d in want if d.type == R.QUOTE]
        self.assertEqual([d.name for d in lib.list_all_documents(self.channel, self.p.name, page_size=2,
                                                                 type=R.QUOTE)], quotes)
        self.assertEqual(list(lib.list_documents(self.channel, self.p.name, type=R.CREDIT_NOTE).documents), [])
        # the other record's links are not listed
        other = lib.create(self.channel, self.t, lib.person(first_name="Other"))
        lib.link_document(self.channel, other.name, lib.document(R.QUOTE, "elsewhere"))
        self.assertEqual(len(lib.list_all_documents(self.channel, self.p.name)), 7)
        self.assertEqual(len(lib.list_all_documents(self.channel, other.name)), 1)

    def test_all_types_interleaved_in_pages(self):
        # every type, one of them with more links than a page, dates interleaved across types and
        # tied; a small record (its range sorted) and one with more than 200 links (each type's
        # newest keys merged)
        for n, sizes in ((40, (1, 3, 5, 8, 17, 40, 100)), (230, (7, 50, 100))):
            p = lib.create(self.channel, self.t, lib.person(first_name="Many%d" % n))
            made = []
            for i in range(n):
                typ = R.INVOICE if i % 2 else 1 + (i // 2) % 8
                when = 1600000000 + (i * 7919) % 23 * 3600
                made.append(lib.link_document(self.channel, p.name,
                                              lib.document(typ, "a-%d-%d" % (n, i), document_time=ts(when))))
            self.assertEqual({d.type for d in made}, set(range(1, 9)))
            want = sorted(made, key=lambda d: (d.document_time.seconds, d.name), reverse=True)
            for size in sizes:
                with self.subTest(links=n, page_size=size):
                    self.assertEqual([d.name for d in lib.list_all_documents(self.channel, p.name, page_size=size)],
                                     [d.name for d in want])
            for typ in range(1, 9):
                with self.subTest(links=n, type=typ):
                    self.assertEqual([d.name for d in lib.list_all_documents(self.channel, p.name, page_size=3,
                                                                              type=typ)],
                                     [d.name for d in want if d.type == typ])

    def test_pages_stay_right_while_links_are_added(self):
        for i in range(4):
            lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "old-%d" % i,
                                                                      document_time=ts(1600000000 + i)))
        first = lib.list_documents(self.channel, self.p.name, page_size=2)
        lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "new"))  # newest of all
        rest = []
        tok = first.next_page_token
        while tok:
            r = lib.list_documents(self.channel, self.p.name, page_size=2, page_token=tok)
            rest += [d.document_id for d in r.documents]
            tok = r.next_page_token
        self.assertEqual([d.document_id for d in first.documents] + rest, ["old-3", "old-2", "old-1", "old-0"])

    def test_tokens_belong_to_their_listing(self):
        for i in range(3):
            lib.link_document(self.channel, self.p.name, lib.document(R.QUOTE, "d-%d" % i))
        tok = lib.list_documents(self.channel, self.p.name, page_size=1).next_page_token
        self.assertTrue(tok)
        other = lib.create(self.channel, self.t, lib.person(first_name="Other"))
        for fn in (lambda: lib.list_documents(self.channel, self.p.name, page_size=1, page_token=tok, type=R.QUOTE),
                   lambda: lib.list_documents(self.channel, other.name, page_size=1, page_token=tok),
                   lambda: lib.list_documents(self.channel, self.p.name, page_size=1, page_token=tok[:-2] + "AA"),
                   lambda: lib.list_documents(self.channel, self.p.name, page_token="garbage")):
            self.assertRpcError(fn, Code.INVALID_ARGUMENT, field="page_token")
        self.assertRpcError(lambda: lib.list_documents(self.channel, self.p.name, page_size=-1),
                            Code.INVALID_ARGUMENT, field="page_size")
        self.assertRpcError(lambda: lib.list_documents(self.channel, self.p.name, type=77),
                            Code.INVALID_ARGUMENT, field="type")
        self.assertRpcError(lambda: lib.list_documents(self.channel, "tenants/%s" % self.t),
                            Code.INVALID_ARGUMENT, field="parent")


class Races(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)

    def run_together(self, fns):
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

    def test_one_document_linked_at_once_to_one_record_is_one_link(self):
        p = lib.create(self.channel, self.t, lib.person())
        for round_ in range(3):
            doc = lib.document(R.QUOTE, "same-%d" % round_)
            res = self.run_together([lambda: lib.link_document(self.channel, p.name, doc)] * 6)
            self.assertTrue(all(e is None for _, e in res), [e for _, e in res])
            self.assertEqual(len({r.name for r, _ in res}), 1)
        self.assertEqual(lib.count_rows(self.db, self.database, "document_links", self.t), 3)

    def test_one_document_linked_at_once_to_two_records_lands_on_one(self):
        a = lib.create(self.channel, self.t, lib.person(first_name="A"))
        b = lib.create(self.channel, self.t, lib.person(first_name="B"))
        for round_ in range(5):
            doc = lib.document(R.QUOTE, "contested-%d" % round_)
            res = self.run_together([lambda: lib.link_document(self.channel, a.name, doc),
                                     lambda: lib.link_document(self.channel, b.name, doc)])
            ok = [r for r, e in res if e is None]
            errs = [e for r, e in res if e is not None]
            self.assertEqual(len(ok), 1, errs)
            self.assertEqual(errs[0].code(), Code.FAILED_PRECONDITION)
            self.assertEqual(harness.error_info(errs[0]).metadata["prospect"], ok[0].prospect)
            self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, doc.document_id), ok[0])

    def test_link_racing_a_delete_never_leaves_a_link_without_its_record(self):
        for round_ in range(6):
            p = lib.create(self.channel, self.t, lib.person(first_name="R%d" % round_))
            res = self.run_together([lambda: lib.link_document(self.channel, p.name,
                                                                lib.document(R.QUOTE, "race-%d" % round_)),
                                     lambda: lib.delete(self.channel, p.name)])
            (linked, link_err), (_, delete_err) = res
            if link_err is None:
                self.assertEqual(delete_err.code(), Code.FAILED_PRECONDITION)
                self.assertEqual(lib.get(self.channel, p.name).name, p.name)
            else:
                self.assertIsNone(delete_err)
                self.assertEqual(link_err.code(), Code.NOT_FOUND)
        orphans = self.db.sql("SELECT COUNT(*) FROM document_links d WHERE d.tenant_id = '%s' AND NOT EXISTS"
                              " (SELECT 1 FROM prospects p WHERE p.tenant_id = d.tenant_id AND p.id = d.prospect_id)"
                              % self.t, self.database)
        self.assertEqual(orphans, [["0"]])


if __name__ == "__main__":
    harness.main()
