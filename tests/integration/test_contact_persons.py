"""Contact persons (S6) against the real server and MariaDB: create (COMPANY only; under a PERSON
FAILED_PRECONDITION NOT_A_COMPANY), request-id retries give one record, get, list with pages, update
with mask and etag, delete, validation naming the field with nothing written, tenant isolation on
every call, and the app gate."""

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

Code = grpc.StatusCode
CP = resources_pb2.ContactPerson


class ContactPersons(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.co = lib.create(self.channel, self.t, lib.company(company_name="Acme"))

    def test_round_trip(self):
        cp = lib.create_contact(self.channel, self.co.name, CP(first_name="Kees", last_name="Boer",
                                                                 email="kees@acme.nl", phone="+31 6 1234 5678",
                                                                 role="Inkoper"))
        self.assertRegex(cp.name, r"^%s/contactPersons/%s$" % (self.co.name, lib.UUID_RE))
        self.assertEqual((cp.first_name, cp.last_name, cp.email, cp.phone, cp.role),
                         ("Kees", "Boer", "kees@acme.nl", "+31 6 1234 5678", "Inkoper"))
        self.assertRecent(cp.create_time)
        self.assertNotEqual(cp.etag, "")
        self.assertEqual(lib.get_contact(self.channel, cp.name), cp)

    def test_only_under_a_company(self):
        person = lib.create(self.channel, self.t, lib.person())
        self.assertRpcError(lambda: lib.create_contact(self.channel, person.name, CP(first_name="X")),
                            Code.FAILED_PRECONDITION, reason="NOT_A_COMPANY")
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", self.t), 0)
        gone = "tenants/%s/prospects/01900000-0000-7000-8000-000000000001" % self.t
        self.assertRpcError(lambda: lib.create_contact(self.channel, gone, CP(first_name="X")), Code.NOT_FOUND)

    def test_request_id_retry_gives_one_record(self):
        a = lib.create_contact(self.channel, self.co.name, CP(first_name="Once"), request_id="cp-1")
        b = lib.create_contact(self.channel, self.co.name, CP(first_name="Once"), request_id="cp-1")
        self.assertEqual(a, b)
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", self.t), 1)
        self.assertRpcError(lambda: lib.create_contact(self.channel, self.co.name, CP(first_name="Other"),
                                                       request_id="cp-1"),
                            Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")

    def test_list_pages_in_creation_order(self):
        made = [lib.create_contact(self.channel, self.co.name, CP(first_name="P%d" % i)).name for i in range(5)]
        seen, tok = [], ""
        while True:
            r = lib.list_contacts(self.channel, self.co.name, page_size=2, page_token=tok)
            seen += [c.name for c in r.contact_persons]
            tok = r.next_page_token
            if not tok:
                break
        self.assertEqual(seen, made)
        other = lib.create(self.channel, self.t, lib.company(company_name="Other"))
        tok = lib.list_contacts(self.channel, self.co.name, page_size=2).next_page_token
        self.assertRpcError(lambda: lib.list_contacts(self.channel, other.name, page_token=tok),
                            Code.INVALID_ARGUMENT, field="page_token")
        self.assertRpcError(lambda: lib.list_contacts(self.channel, self.co.name, page_size=-3),
                            Code.INVALID_ARGUMENT, field="page_size")

    def test_update_mask_and_etag(self):
        cp = lib.create_contact(self.channel, self.co.name, CP(first_name="Kees", role="Inkoop"))
        out = lib.update_contact(self.channel, CP(name=cp.name, etag=cp.etag, role="Directeur", email="x@y.nl"),
                                 ["role"])
        self.assertEqual((out.role, out.email, out.first_name), ("Directeur", "", "Kees"))
        self.assertRpcError(lambda: lib.update_contact(self.channel, CP(name=cp.name, etag=cp.etag, role="Z"),
                                                       ["role"]), Code.ABORTED, reason="ETAG_MISMATCH")
        for paths, field in ((["colour"], "update_mask.paths"), (["create_time"], "update_mask.paths"),
                             ([], "update_mask")):
            self.assertRpcError(lambda: lib.update_contact(self.channel, CP(name=cp.name), paths),
                                Code.INVALID_ARGUMENT, field=field)
        self.assertRpcError(lambda: lib.update_contact(self.channel, CP(name=cp.name, first_name=""), ["first_name"]),
                            Code.INVALID_ARGUMENT, field="contact_person.last_name")
        self.assertRpcError(lambda: lib.update_contact(self.channel, CP(name=cp.name, email="bad"), ["email"]),
                            Code.INVALID_ARGUMENT, field="contact_person.email")
        self.assertEqual(lib.get_contact(self.channel, cp.name), out)

    def test_delete(self):
        cp = lib.create_contact(self.channel, self.co.name, CP(first_name="Bye"))
        self.assertRpcError(lambda: lib.delete_contact(self.channel, cp.name, etag="v9"), Code.ABORTED,
                            reason="ETAG_MISMATCH")
        lib.delete_contact(self.channel, cp.name, etag=cp.etag)
        self.assertRpcError(lambda: lib.get_contact(self.channel, cp.name), Code.NOT_FOUND,
                            reason="CONTACT_PERSON_NOT_FOUND")
        self.assertRpcError(lambda: lib.delete_contact(self.channel, cp.name), Code.NOT_FOUND)

    def test_validation_writes_nothing(self):
        for cp, field in ((CP(), "contact_person.last_name"), (CP(first_name="x" * 101), "contact_person.first_name"),
                          (CP(first_name="A", email="no"), "contact_person.email"),
                          (CP(first_name="A", phone="call me"), "contact_person.phone"),
                          (CP(first_name="A", role="r" * 101), "contact_person.role")):
            self.assertRpcError(lambda: lib.create_contact(self.channel, self.co.name, cp), Code.INVALID_ARGUMENT,
                                field=field)
        self.assertRpcError(lambda: lib.create_contact(self.channel, "tenants/%s" % self.t, CP(first_name="A")),
                            Code.INVALID_ARGUMENT, field="parent")
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", self.t), 0)

    def test_cross_tenant_on_every_call_is_not_found(self):
        cp = lib.create_contact(self.channel, self.co.name, CP(first_name="Private"))
        other = lib.new_enabled_tenant(self.channel)
        pid = lib.prospect_id(self.co.name)
        stolen_parent = "tenants/%s/prospects/%s" % (other, pid)
        stolen = cp.name.replace("tenants/%s/" % self.t, "tenants/%s/" % other)
        calls = [lambda: lib.create_contact(self.channel, stolen_parent, CP(first_name="X")),
                 lambda: lib.get_contact(self.channel, stolen),
                 lambda: lib.list_contacts(self.channel, stolen_parent),
                 lambda: lib.update_contact(self.channel, CP(name=stolen, role="x"), ["role"]),
                 lambda: lib.delete_contact(self.channel, stolen)]
        for i, c in enumerate(calls):
            e = self.assertRpcError(c, Code.NOT_FOUND, msg="call %d" % i)
            self.assertNotIn("Private", e.details())
        # the contact person named under another company of the same tenant is not there either
        co2 = lib.create(self.channel, self.t, lib.company(company_name="Two"))
        wrong = cp.name.replace(pid, lib.prospect_id(co2.name))
        self.assertRpcError(lambda: lib.get_contact(self.channel, wrong), Code.NOT_FOUND)
        self.assertEqual(lib.get_contact(self.channel, cp.name), cp)
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", other), 0)

    def test_app_off(self):
        cp = lib.create_contact(self.channel, self.co.name, CP(first_name="A"))
        lib.update_apps(self.channel, self.t, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, self.t, False)
        for c in (lambda: lib.get_contact(self.channel, cp.name), lambda: lib.list_contacts(self.channel, self.co.name),
                  lambda: lib.create_contact(self.channel, self.co.name, CP(first_name="B"))):
            self.assertRpcError(c, Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")


if __name__ == "__main__":
    harness.main()
