"""Quote-request intake (S2, S8, S9) against the real server and MariaDB: a new prospect (person, or
company with a contact person) or an existing record, and the quote-request link, in one
transaction; likely duplicates of a new prospect as a hint that never blocks; request_id required
and a retry (also concurrent) never makes a second prospect; merged-away and other tenants'
records; validation naming "new_prospect.*" with nothing written; both apps needed."""

import threading

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
R = resources_pb2


def qr(document_id="qr-1", **kw):
    """A quote request document; the type is left for the server to set."""
    return R.Document(document_id=document_id, **kw)


class Intake(lib.ServerTestCase):
    def setUp(self):
        self.t = harness.new_tenant()
        lib.enable_quote_requests(self.channel, self.t)

    def counts(self):
        return lib.count_all(self.db, self.database, self.t)

    def test_new_person(self):
        r = lib.intake(self.channel, self.t, "in-1", qr(title="12 chairs"),
                       new_prospect=lib.person(first_name="Jan", last_name="Jansen", email="jan@example.nl"))
        self.assertTrue(r.created)
        self.assertRegex(r.prospect.name, r"^tenants/%s/prospects/%s$" % (self.t, lib.UUID_RE))
        self.assertEqual((r.prospect.display_name, r.prospect.state), ("Jan Jansen", R.PROSPECT))
        self.assertEqual(lib.get(self.channel, r.prospect.name), r.prospect)
        self.assertEqual((r.document.type, r.document.document_id, r.document.title, r.document.prospect),
                         (R.QUOTE_REQUEST, "qr-1", "12 chairs", r.prospect.name))
        self.assertEqual(r.document.party_snapshot,
                         R.PartySnapshot(display_name="Jan Jansen", first_name="Jan", last_name="Jansen",
                                         email="jan@example.nl"))
        self.assertEqual(list(r.possible_duplicates), [])
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE_REQUEST, "qr-1"), r.document)
        c = self.counts()
        self.assertEqual((c["prospects"], c["document_links"], c["idempotency_keys"]), (1, 1, 1))

    def test_new_company_with_contact_person(self):
        r = lib.intake(self.channel, self.t, "in-1", qr(type=R.QUOTE_REQUEST),
                       new_prospect=lib.company(company_name="Acme"),
                       contact_person=R.ContactPerson(first_name="Kees", role="Inkoper"))
        self.assertTrue(r.created)
        cps = lib.list_contacts(self.channel, r.prospect.name).contact_persons
        self.assertEqual([(c.first_name, c.role) for c in cps], [("Kees", "Inkoper")])
        # a new company without one is fine too
        r2 = lib.intake(self.channel, self.t, "in-2", qr("qr-2"), new_prospect=lib.company(company_name="Beta"))
        self.assertEqual(list(lib.list_contacts(self.channel, r2.prospect.name).contact_persons), [])

    def test_existing_record(self):
        p = lib.create(self.channel, self.t, lib.person())
        r = lib.intake(self.channel, self.t, "in-1", qr(), existing=p.name)
        self.assertFalse(r.created)
        self.assertEqual(r.prospect, p)
        self.assertEqual(r.document.prospect, p.name)
        # a customer too (S9: "an existing customer or prospect")
        lib.convert(self.channel, p.name, lib.document(R.INVOICE, "inv-1"))
        r2 = lib.intake(self.channel, self.t, "in-2", qr("qr-2"), existing=p.name)
        self.assertEqual((r2.created, r2.prospect.state), (False, R.CUSTOMER))
        # the same quote request again on the same record: the existing link
        r3 = lib.intake(self.channel, self.t, "in-3", qr(), existing=p.name)
        self.assertEqual(r3.document, r.document)
        self.assertEqual(self.counts()["prospects"], 1)
        self.assertEqual(self.counts()["document_links"], 3)  # two requests and the invoice

    def test_existing_merged_away_unknown_and_other_tenants(self):
        target = lib.create(self.channel, self.t, lib.person(first_name="Target"))
        source = lib.create(self.channel, self.t, lib.person(first_name="Source"))
        lib.merge_away_by_sql(self.db, self.database, self.t, source.name, target.name)
        e = self.assertRpcError(lambda: lib.intake(self.channel, self.t, "in-1", qr(), existing=source.name),
                                Code.NOT_FOUND, reason="PROSPECT_MERGED")
        self.assertEqual(harness.error_info(e).metadata["surviving_prospect"], target.name)
        unknown = "tenants/%s/prospects/01900000-0000-7000-8000-000000000001" % self.t
        self.assertRpcError(lambda: lib.intake(self.channel, self.t, "in-1", qr(), existing=unknown),
                            Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        other = harness.new_tenant()
        lib.enable_quote_requests(self.channel, other)
        theirs = lib.create(self.channel, other, lib.person())
        for name in (theirs.name, "tenants/%s/prospects/%s" % (self.t, lib.prospect_id(theirs.name))):
            with self.subTest(name=name):
                e = self.assertRpcError(lambda: lib.intake(self.channel, self.t, "in-1", qr(), existing=name),
                                        Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
                self.assertNotIn(other, e.details())
        c = self.counts()
        self.assertEqual((c["document_links"], c["idempotency_keys"]), (0, 0))
        self.assertEqual(lib.count_rows(self.db, self.database, "document_links", other), 0)

    def test_retried_three_times_is_one_prospect(self):
        req = dict(quote_request=qr(), new_prospect=lib.person(email="once@example.nl"))
        first = lib.intake(self.channel, self.t, "in-retry", **req)
        for _ in range(2):
            self.assertEqual(lib.intake(self.channel, self.t, "in-retry", **req), first)
        c = self.counts()
        self.assertEqual((c["prospects"], c["document_links"]), (1, 1))
        self.assertRpcError(lambda: lib.intake(self.channel, self.t, "in-retry", qr("qr-other"),
                                               new_prospect=lib.person(email="once@example.nl")),
                            Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")

    def test_concurrent_retries_are_one_prospect(self):
        for round_ in range(3):
            rid = "in-race-%d" % round_
            req = dict(quote_request=qr("qr-race-%d" % round_), new_prospect=lib.person(first_name="R%d" % round_))
            out = [None] * 3
            go = threading.Barrier(3)

            def run(i):
                go.wait()
                out[i] = lib.intake(self.channel, self.t, rid, **req)

            threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            self.assertTrue(all(o is not None for o in out))
            self.assertEqual(out[0], out[1])
            self.assertEqual(out[0], out[2])
        c = self.counts()
        self.assertEqual((c["prospects"], c["document_links"]), (3, 3))

    def test_possible_duplicates_are_a_hint(self):
        by_email = lib.create(self.channel, self.t, lib.person(first_name="A", email="Sales@Acme.nl"))
        by_vat = lib.create(self.channel, self.t, lib.company(company_name="Acme One", vat_number="NL 8123.45.678.B01"))
        by_phone = lib.create(self.channel, self.t, lib.person(first_name="C", phone="020 123 4567",
                                                               address=R.Address(country_code="NL")))
        same_name = lib.create(self.channel, self.t, lib.company(company_name="Acme B.V."))
        lib.create(self.channel, self.t, lib.company(company_name="Other Trading"))  # not close: no hint
        r = lib.intake(self.channel, self.t, "in-1", qr(),
                       new_prospect=lib.company(company_name="Acme", email=" sales@acme.NL ".strip(),
                                                vat_number="NL8123.45.678B01", phone="+31 20 123 4567",
                                                address=R.Address(country_code="NL")))
        self.assertTrue(r.created)
        got = {d.prospect.name: sorted(d.reasons) for d in r.possible_duplicates}
        # the same check as FindDuplicateProspects: exact keys, and close names ("Acme" within "Acme One")
        self.assertEqual(got, {by_email.name: [service_pb2.SAME_EMAIL],
                               by_vat.name: [service_pb2.SAME_VAT_NUMBER, service_pb2.CONTAINED_NAME],
                               by_phone.name: [service_pb2.SAME_PHONE],
                               same_name.name: [service_pb2.SIMILAR_NAME]})
        self.assertNotIn(r.prospect.name, got)
        self.assertEqual({d.score for d in r.possible_duplicates}, {1.0})  # each has an exact key or name
        self.assertEqual(self.counts()["prospects"], 6)
        # the hint is part of the first response: a retry returns it as it was
        self.assertEqual(lib.intake(self.channel, self.t, "in-1", qr(),
                                    new_prospect=lib.company(company_name="Acme", email="sales@acme.NL",
                                                             vat_number="NL8123.45.678B01",
                                                             phone="+31 20 123 4567",
                                                             address=R.Address(country_code="NL"))), r)

    def test_a_request_linked_elsewhere_makes_no_prospect(self):
        p = lib.create(self.channel, self.t, lib.person())
        lib.intake(self.channel, self.t, "in-1", qr(), existing=p.name)
        before = self.counts()
        e = self.assertRpcError(lambda: lib.intake(self.channel, self.t, "in-2", qr(), new_prospect=lib.person()),
                                Code.FAILED_PRECONDITION, reason="DOCUMENT_LINKED_ELSEWHERE")
        self.assertEqual(harness.error_info(e).metadata["prospect"], p.name)
        self.assertEqual(self.counts(), before)

    def test_validation_names_the_field_and_writes_nothing(self):
        company = lib.company()
        cases = [
            (dict(request_id="", quote_request=qr(), new_prospect=lib.person()), "request_id"),
            (dict(request_id="bad id", quote_request=qr(), new_prospect=lib.person()), "request_id"),
            (dict(request_id="r", new_prospect=lib.person()), "quote_request"),
            (dict(request_id="r", quote_request=qr(type=R.QUOTE), new_prospect=lib.person()), "quote_request.type"),
            (dict(request_id="r", quote_request=qr(""), new_prospect=lib.person()), "quote_request.document_id"),
            (dict(request_id="r", quote_request=qr(title="t" * 201), new_prospect=lib.person()), "quote_request.title"),
            (dict(request_id="r", quote_request=qr()), "new_prospect"),
            (dict(request_id="r", quote_request=qr(), new_prospect=R.Prospect(first_name="x")), "new_prospect.kind"),
            (dict(request_id="r", quote_request=qr(), new_prospect=lib.person(email="nope")), "new_prospect.email"),
            (dict(request_id="r", quote_request=qr(), new_prospect=lib.person(first_name="", last_name="")),
             "new_prospect.last_name"),
            (dict(request_id="r", quote_request=qr(), new_prospect=lib.company(company_name="")),
             "new_prospect.company_name"),
            (dict(request_id="r", quote_request=qr(),
                  new_prospect=lib.person(address=R.Address(country_code="ZZ"))), "new_prospect.address.country_code"),
            (dict(request_id="r", quote_request=qr(), new_prospect=lib.person(),
                  contact_person=R.ContactPerson(first_name="x")), "contact_person"),
            (dict(request_id="r", quote_request=qr(), new_prospect=company,
                  contact_person=R.ContactPerson(role="no name")), "contact_person.last_name"),
            (dict(request_id="r", quote_request=qr(), new_prospect=company,
                  contact_person=R.ContactPerson(first_name="x", email="bad")), "contact_person.email"),
            (dict(request_id="r", quote_request=qr(), existing="tenants/%s" % self.t), "existing"),
            (dict(request_id="r", quote_request=qr(), existing="tenants/%s/prospects/01900000-0000-7000-8000-000000000001" % self.t,
                  contact_person=R.ContactPerson(first_name="x")), "contact_person"),
        ]
        for kw, field in cases:
            with self.subTest(field=field, kw=kw):
                req = service_pb2.IntakeQuoteRequestRequest(parent="tenants/%s" % self.t, **kw)
                self.assertRpcError(lambda: harness.call(self.channel, lib.method("IntakeQuoteRequest"), req,
                                                         service_pb2.IntakeQuoteRequestResponse),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field=field)
        self.assertEqual(set(self.counts().values()), {0})

    def test_needs_both_apps(self):
        t = lib.new_enabled_tenant(self.channel)  # PROSPECTS only
        self.assertRpcError(lambda: lib.intake(self.channel, t, "in-1", qr(), new_prospect=lib.person()),
                            Code.FAILED_PRECONDITION, reason="QUOTE_REQUESTS_APP_DISABLED")
        off = harness.new_tenant()
        self.assertRpcError(lambda: lib.intake(self.channel, off, "in-1", qr(), new_prospect=lib.person()),
                            Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
        self.assertEqual(set(lib.count_all(self.db, self.database, t).values()), {0})


if __name__ == "__main__":
    harness.main()
