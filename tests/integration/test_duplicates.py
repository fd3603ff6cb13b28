"""FindDuplicateProspects against the real server and MariaDB: matches by normalized e-mail (case,
spaces), VAT number (spaces, dots, case, country prefix), phone (digits, country code) and very
similar name (equal name key: case, accents, punctuation, legal forms), every reason per result;
from candidate data or an existing record (itself excluded); merged-away and other tenants' records
never appear; validation, page size, isolation and the app gate."""

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
        self.assertEqual(self.dups(candidate=lib.company(company_name="Acme Widgets")), {})

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


if __name__ == "__main__":
    harness.main()
