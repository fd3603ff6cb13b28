"""FindDuplicateProspects against the real server and MariaDB: matches by normalized e-mail (case,
spaces), VAT number (spaces, dots, case, country prefix), phone (digits, country code) and close
names (equal name key: case, accents, punctuation, legal forms; words swapped; a few edits apart;
one name's words within the other's), every reason per result with a score, closest first, above
the caller's threshold; from candidate data or an existing record (itself excluded); merged-away
and other tenants' records never appear; validation, page size, isolation and the app gate."""

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
A = resources_pb2.Address
R = service_pb2


def found(resp):
    return {d.prospect.name: set(d.reasons) for d in resp.duplicates}


class Duplicates(lib.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ch = cls.channel
        cls.t = lib.new_enabled_tenant(ch)
        cls.jan = lib.create(ch, cls.t, lib.person(first_name="Jan", last_name="de Vries",
                                                   email="Jan.deVries@Example.com", phone="06 1234 5678",
                                                   address=A(country_code="NL")))
        cls.acme = lib.create(ch, cls.t, lib.company(company_name="Acme B.V.", vat_number="nl 0012.34.567 b01"))
        cls.belg = lib.create(ch, cls.t, lib.company(company_name="Brussels Trading", vat_number="0123.456.789",
                                                     address=A(country_code="BE")))
        cls.other = lib.new_enabled_tenant(ch)
        cls.foreign = lib.create(ch, cls.other, lib.person(first_name="Jan", last_name="de Vries",
                                                           email="jan.devries@example.com"))

    def dups(self, tenant=None, **kw):
        return found(lib.find_duplicates(self.channel, tenant or self.t, **kw))

    def test_email_normalized(self):
        got = self.dups(candidate=resources_pb2.Prospect(email="JAN.DEVRIES@example.COM"))
        self.assertEqual(got, {self.jan.name: {R.SAME_EMAIL}})

    def test_vat_normalized_with_country_prefix(self):
        self.assertEqual(self.dups(candidate=resources_pb2.Prospect(vat_number="NL001234567B01")),
                         {self.acme.name: {R.SAME_VAT_NUMBER}})
        self.assertEqual(self.dups(candidate=resources_pb2.Prospect(vat_number="BE 0123 456 789")),
                         {self.belg.name: {R.SAME_VAT_NUMBER}})
        self.assertEqual(self.dups(candidate=resources_pb2.Prospect(vat_number="0123456789",
                                                                    address=A(country_code="BE"))),
                         {self.belg.name: {R.SAME_VAT_NUMBER}})

    def test_phone_normalized(self):
        self.assertEqual(self.dups(candidate=resources_pb2.Prospect(phone="+31 6 12345678")),
                         {self.jan.name: {R.SAME_PHONE}})
        self.assertEqual(self.dups(candidate=resources_pb2.Prospect(phone="0031612345678")),
                         {self.jan.name: {R.SAME_PHONE}})

    def test_similar_name(self):
        self.assertEqual(self.dups(candidate=lib.company(company_name="ACME")), {self.acme.name: {R.SIMILAR_NAME}})
        self.assertEqual(self.dups(candidate=lib.company(company_name="Acme, b.v.")),
                         {self.acme.name: {R.SIMILAR_NAME}})
        self.assertEqual(self.dups(candidate=lib.person(first_name="jan", last_name="DE VRIES")),
                         {self.jan.name: {R.SIMILAR_NAME}})
        self.assertEqual(self.dups(candidate=lib.company(company_name="Widgets Inc")), {})
        # a name whose words hold the record's name: contained (score 0.7 + 0.2 * 4 / 11)
        self.assertEqual(self.dups(candidate=lib.company(company_name="Acme Widgets")),
                         {self.acme.name: {R.CONTAINED_NAME}})

    def test_every_reason_and_order(self):
        got = lib.find_duplicates(self.channel, self.t, candidate=lib.person(
            first_name="Jan", last_name="de Vries", email="jan.devries@example.com", vat_number="NL001234567B01"))
        self.assertEqual(found(got), {self.jan.name: {R.SAME_EMAIL, R.SIMILAR_NAME},
                                      self.acme.name: {R.SAME_VAT_NUMBER}})
        self.assertEqual(got.duplicates[0].prospect.name, self.jan.name, "most reasons first")

    def test_existing_record_excludes_itself(self):
        twin = lib.create(self.channel, self.t, lib.person(first_name="Jan", last_name="de Vries"))
        self.assertEqual(self.dups(prospect=twin.name), {self.jan.name: {R.SIMILAR_NAME}})
        self.assertEqual(self.dups(prospect=self.jan.name), {twin.name: {R.SIMILAR_NAME}})
        lib.delete(self.channel, twin.name)

    def test_merged_away_never_appears(self):
        t = lib.new_enabled_tenant(self.channel)
        a = lib.create(self.channel, t, lib.person(email="same@example.com"))
        b = lib.create(self.channel, t, lib.person(email="same@example.com"))
        # a merge deletes the source row and leaves a tombstone (merges are another issue's call)
        hb, ha = (lib.prospect_id(x.name).replace("-", "") for x in (b, a))
        self.db.sql("DELETE FROM prospects WHERE tenant_id = '%s' AND id = UNHEX('%s')" % (t, hb), self.database)
        self.db.sql("INSERT INTO prospect_tombstones VALUES ('%s', UNHEX('%s'), UNHEX('%s'), UNHEX('%s'), NOW(6))"
                    % (t, hb, ha, ha), self.database)
        self.assertEqual(self.dups(tenant=t, candidate=resources_pb2.Prospect(email="same@example.com")),
                         {a.name: {R.SAME_EMAIL}})
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, t, prospect=b.name), Code.NOT_FOUND,
                            reason="PROSPECT_MERGED")

    def test_other_tenants_never_appear_and_cross_tenant_name_is_not_found(self):
        got = self.dups(candidate=resources_pb2.Prospect(email="jan.devries@example.com"))
        self.assertNotIn(self.foreign.name, got)
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t, prospect=self.foreign.name),
                            Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        stolen = "tenants/%s/prospects/%s" % (self.t, lib.prospect_id(self.foreign.name))
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t, prospect=stolen),
                            Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")

    def test_validation_and_page_size(self):
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t), Code.INVALID_ARGUMENT,
                            field="candidate")
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t,
                                                        candidate=resources_pb2.Prospect(email="nope")),
                            Code.INVALID_ARGUMENT, field="candidate.email")
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t, candidate=resources_pb2.Prospect(
            address=A(country_code="ZZ"))), Code.INVALID_ARGUMENT, field="candidate.address.country_code")
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t, prospect="bogus"),
                            Code.INVALID_ARGUMENT, field="prospect")
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t, page_size=-1,
                                                        candidate=resources_pb2.Prospect(email="a@b.cd")),
                            Code.INVALID_ARGUMENT, field="page_size")
        t = lib.new_enabled_tenant(self.channel)
        for i in range(4):
            lib.create(self.channel, t, lib.person(email="many@example.com"))
        self.assertEqual(len(lib.find_duplicates(self.channel, t, page_size=2, candidate=resources_pb2.Prospect(
            email="many@example.com")).duplicates), 2)

    def test_app_off(self):
        t = lib.new_enabled_tenant(self.channel)
        lib.update_apps(self.channel, t, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, t, False)
        self.assertRpcError(lambda: lib.find_duplicates(self.channel, t, candidate=resources_pb2.Prospect(
            email="a@b.cd")), Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")


class Fuzzy(lib.ServerTestCase):
    """Close names with their scores, in order: the issue's examples, both ways."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ch = cls.channel
        cls.t = lib.new_enabled_tenant(ch)
        mk = lambda p: lib.create(ch, cls.t, p)  # noqa: E731
        cls.jansen = mk(lib.person(first_name="Jan", last_name="Jansen", email="jan@jansen.nl"))
        cls.janssen = mk(lib.person(first_name="Jan", last_name="Janssen"))
        cls.swapped = mk(lib.person(first_name="Jansen", last_name="Jan"))
        cls.klok = mk(lib.company(company_name="De Klok BV"))
        cls.brouwerij = mk(lib.company(company_name="Brouwerij De Klok"))
        cls.piet = mk(lib.person(first_name="Piet", last_name="Pieters"))
        # noise: records sharing words or prefixes with the subjects, not close to any of them
        for name in ("Jan de Boer", "Jannie Smit", "Klokkenmakerij Bos", "De Vries"):
            mk(lib.company(company_name=name))

    def ranked(self, min_score=0.0, **kw):
        resp = lib.find_duplicates(self.channel, self.t, min_score=min_score, **kw)
        return [(d.prospect.name, sorted(d.reasons), round(d.score, 4)) for d in resp.duplicates]

    def test_person_names_by_score(self):
        s_near = round(1 - 1 / 11, 4)
        self.assertEqual(self.ranked(candidate=lib.person(first_name="Jan", last_name="Jansen")), [
            (self.jansen.name, [R.SIMILAR_NAME], 1.0),
            (self.swapped.name, [R.SWAPPED_NAME], 0.95),
            (self.janssen.name, [R.NEAR_NAME], s_near)])
        # (the swapped "Jansen Jan" is two edits from "Jan Janssen" and shares no word of 4 letters:
        # no lookup reaches it)
        self.assertEqual(self.ranked(candidate=lib.person(first_name="Jan", last_name="Janssen")), [
            (self.janssen.name, [R.SIMILAR_NAME], 1.0),
            (self.jansen.name, [R.NEAR_NAME], s_near)])
        # from an existing record: the same, itself left out
        self.assertEqual(self.ranked(prospect=self.janssen.name), [(self.jansen.name, [R.NEAR_NAME], s_near)])
        self.assertEqual(self.ranked(prospect=self.swapped.name), [(self.jansen.name, [R.SWAPPED_NAME], 0.95)])

    def test_company_containment_both_ways(self):
        contained = round(0.7 + 0.2 * 6 / 15, 4)
        self.assertEqual(self.ranked(candidate=lib.company(company_name="De Klok B.V.")), [
            (self.klok.name, [R.SIMILAR_NAME], 1.0),
            (self.brouwerij.name, [R.CONTAINED_NAME], contained)])
        self.assertEqual(self.ranked(candidate=lib.company(company_name="Brouwerij De Klok")), [
            (self.brouwerij.name, [R.SIMILAR_NAME], 1.0),
            (self.klok.name, [R.CONTAINED_NAME], contained)])
        self.assertEqual(self.ranked(prospect=self.klok.name), [(self.brouwerij.name, [R.CONTAINED_NAME], contained)])

    def test_exact_key_and_close_name_rank_first(self):
        got = self.ranked(candidate=lib.person(first_name="Jan", last_name="Janssen", email="JAN@jansen.nl"))
        self.assertEqual(got[0], (self.jansen.name, sorted([R.SAME_EMAIL, R.NEAR_NAME]), 1.0))
        self.assertEqual(got[1], (self.janssen.name, [R.SIMILAR_NAME], 1.0))

    def test_threshold(self):
        cand = lib.person(first_name="Jan", last_name="Jansen")
        names = lambda ms: [n for n, _, _ in self.ranked(min_score=ms, candidate=cand)]  # noqa: E731
        self.assertEqual(names(0.9), [self.jansen.name, self.swapped.name, self.janssen.name])
        self.assertEqual(names(0.95), [self.jansen.name, self.swapped.name])
        self.assertEqual(names(1), [self.jansen.name])
        self.assertEqual(names(0.5), names(0))
        self.assertEqual([n for n, _, _ in self.ranked(min_score=0.8, candidate=lib.company(company_name="De Klok"))],
                         [self.klok.name])  # containment (0.78) is below 0.8
        for bad in (0.4, 1.01, -1, float("nan"), float("inf")):
            with self.subTest(min_score=bad):
                self.assertRpcError(lambda: lib.find_duplicates(self.channel, self.t, min_score=bad, candidate=cand),
                                    Code.INVALID_ARGUMENT, field="min_score")

    def test_unrelated_and_short_names_are_not_close(self):
        self.assertEqual(self.ranked(candidate=lib.person(first_name="Kees", last_name="Bakker")), [])
        self.assertEqual(self.ranked(candidate=lib.company(company_name="De")), [])
        # two edits in 14 letters, found through the shared word "piet"
        self.assertEqual(self.ranked(candidate=lib.person(first_name="Piet", last_name="Pietersen")), [
            (self.piet.name, [R.NEAR_NAME], round(1 - 2 / 14, 4))])


class ManyClose(lib.ServerTestCase):
    """More close names than one read of rows takes at a time: the records found through a word's
    postings (not by a key) are read whole in one statement of up to 64 ids, and every one of them
    comes back with its reason and score."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.t = lib.new_enabled_tenant(cls.channel)
        cls.names = {}
        for i in range(1, 41):
            p = lib.create(cls.channel, cls.t, lib.company(company_name="Klokkenhuis Vermeulen %d" % i))
            cls.names[p.name] = i

    def test_every_close_name_of_a_word_is_read(self):
        resp = lib.find_duplicates(self.channel, self.t, page_size=100,
                                   candidate=lib.company(company_name="Klokkenhuis Vermeulen"))
        got = {d.prospect.name: (list(d.reasons), d.score) for d in resp.duplicates}
        self.assertEqual(set(got), set(self.names))
        for name, (reasons, score) in got.items():  # " 1" is two edits, " 12" three: contained
            self.assertIn(reasons, ([R.NEAR_NAME], [R.CONTAINED_NAME]), name)
            self.assertGreaterEqual(score, 0.7, name)


if __name__ == "__main__":
    harness.main()
