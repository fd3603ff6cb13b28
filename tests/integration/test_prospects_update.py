"""UpdateProspect against the real server and MariaDB: update mask ("*", nested address paths,
unknown and server-set paths), kind immutable, optimistic concurrency with etags (a stale etag is
ABORTED and changes nothing; two racing updates with one etag: exactly one wins), validation naming
the field with nothing written, the derived data following (display name, duplicate-check normal
forms, the overview's word index), tenant isolation and the app gate."""

import threading

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

Code = grpc.StatusCode
P = resources_pb2.Prospect


def row(db, database, tenant, name):
    """The stored columns we check, straight from MariaDB."""
    pid = lib.prospect_id(name).replace("-", "")
    r = db.sql("SELECT display_name, email, email_norm, vat_norm, phone_norm, name_key, version, city"
               " FROM prospects WHERE tenant_id = '%s' AND id = UNHEX('%s')" % (tenant, pid), database)
    return r[0] if r else None


class UpdateMask(lib.ServerTestCase):
    def setUp(self):
        self.tenant = lib.new_enabled_tenant(self.channel)
        self.rec = lib.create(self.channel, self.tenant, lib.person(
            first_name="Jan", last_name="Jansen", email="jan@example.com", phone="+31 20 1234567",
            notes="first", address=resources_pb2.Address(street="Dam 1", city="Amsterdam",
                                                         country_code="NL")))

    def test_only_masked_fields_change(self):
        sent = P(name=self.rec.name, email="Jan.Nieuw@Example.COM", notes="ignored", phone="")
        out = lib.update(self.channel, sent, ["email"])
        self.assertEqual(out.email, "Jan.Nieuw@Example.COM")
        self.assertEqual(out.notes, "first")
        self.assertEqual(out.phone, "+31 20 1234567")
        self.assertNotEqual(out.etag, self.rec.etag)
        self.assertGreater(out.update_time.ToNanoseconds(), self.rec.update_time.ToNanoseconds())
        self.assertEqual(out.create_time, self.rec.create_time)
        self.assertEqual(lib.get(self.channel, self.rec.name), out)
        r = row(self.db, self.database, self.tenant, self.rec.name)
        self.assertEqual(r[2], "jan.nieuw@example.com", "email_norm follows the update")

    def test_nested_address_path_and_whole_address(self):
        out = lib.update(self.channel, P(name=self.rec.name, address=resources_pb2.Address(
            city="Utrecht", street="x")), ["address.city"])
        self.assertEqual(out.address.city, "Utrecht")
        self.assertEqual(out.address.street, "Dam 1")
        out = lib.update(self.channel, P(name=self.rec.name), ["address"])
        self.assertFalse(out.HasField("address"), "the whole address cleared")

    def test_star_writes_every_writable_field(self):
        sent = lib.person(name=self.rec.name, first_name="Piet", last_name="", email="", notes="")
        out = lib.update(self.channel, sent, ["*"])
        self.assertEqual(out.display_name, "Piet")
        self.assertEqual(out.email, "")
        self.assertEqual(out.phone, "")
        self.assertFalse(out.HasField("address"))
        self.assertEqual(out.kind, resources_pb2.PERSON)

    def test_display_name_and_index_follow(self):
        lib.update(self.channel, P(name=self.rec.name, last_name="Vermeulen"), ["last_name"])
        names = [p.name for p in lib.list_all(self.channel, self.tenant, query="vermeulen")]
        self.assertEqual(names, [self.rec.name])
        self.assertEqual(lib.list_all(self.channel, self.tenant, query="jansen"), [])
        r = row(self.db, self.database, self.tenant, self.rec.name)
        self.assertEqual((r[0], r[5]), ("Jan Vermeulen", "jan vermeulen"))
        dups = lib.find_duplicates(self.channel, self.tenant,
                                   candidate=lib.person(first_name="jan", last_name="VERMEULEN"))
        self.assertEqual([d.prospect.name for d in dups.duplicates], [self.rec.name])

    def test_unknown_path(self):
        self.assertRpcError(lambda: lib.update(self.channel, P(name=self.rec.name), ["colour"]),
                            Code.INVALID_ARGUMENT, field="update_mask.paths")

    def test_missing_mask(self):
        self.assertRpcError(lambda: lib.update(self.channel, P(name=self.rec.name, email="a@b.cd"), []),
                            Code.INVALID_ARGUMENT, field="update_mask")

    def test_server_set_fields_cannot_be_written(self):
        for path in ("name", "display_name", "state", "create_time", "update_time", "convert_time",
                     "converting_invoice", "etag"):
            self.assertRpcError(lambda: lib.update(self.channel, P(name=self.rec.name), [path]),
                                Code.INVALID_ARGUMENT, field="update_mask.paths", msg=path)
        self.assertEqual(lib.get(self.channel, self.rec.name), self.rec)

    def test_kind_is_immutable(self):
        self.assertRpcError(lambda: lib.update(self.channel, P(name=self.rec.name, kind=resources_pb2.COMPANY,
                                                               company_name="X"), ["kind"]),
                            Code.INVALID_ARGUMENT, field="update_mask.paths")
        self.assertRpcError(lambda: lib.update(self.channel, lib.company(name=self.rec.name), ["*"]),
                            Code.INVALID_ARGUMENT, field="prospect.kind")
        self.assertEqual(lib.get(self.channel, self.rec.name), self.rec)

    def test_validation_names_the_field_and_writes_nothing(self):
        cases = [(P(email="not-an-email"), ["email"], "prospect.email"),
                 (P(address=resources_pb2.Address(country_code="XX")), ["address.country_code"],
                  "prospect.address.country_code"),
                 (P(first_name="x" * 101), ["first_name"], "prospect.first_name"),
                 (P(notes="y" * 10001), ["notes"], "prospect.notes"),
                 (P(language="not a tag"), ["language"], "prospect.language"),
                 (P(phone="call me"), ["phone"], "prospect.phone"),
                 (P(first_name="", last_name=""), ["first_name", "last_name"], "prospect.last_name")]
        for sent, paths, field in cases:
            sent.name = self.rec.name
            self.assertRpcError(lambda: lib.update(self.channel, sent, paths), Code.INVALID_ARGUMENT,
                                field=field, msg=field)
        self.assertEqual(lib.get(self.channel, self.rec.name), self.rec)
        self.assertRpcError(lambda: lib.update(self.channel, P(name="tenants/x/prospects/nope"), ["email"]),
                            Code.INVALID_ARGUMENT, field="prospect.name")

    def test_company_keeps_a_company_name(self):
        co = lib.create(self.channel, self.tenant, lib.company(company_name="Acme"))
        self.assertRpcError(lambda: lib.update(self.channel, P(name=co.name, company_name="  "),
                                               ["company_name"]),
                            Code.INVALID_ARGUMENT, field="prospect.company_name")
        out = lib.update(self.channel, P(name=co.name, company_name="Acme Holding"), ["company_name"])
        self.assertEqual(out.display_name, "Acme Holding")


class Concurrency(lib.ServerTestCase):
    def test_stale_etag_is_aborted_and_changes_nothing(self):
        tenant = lib.new_enabled_tenant(self.channel)
        rec = lib.create(self.channel, tenant, lib.person())
        fresh = lib.update(self.channel, P(name=rec.name, etag=rec.etag, notes="one"), ["notes"])
        self.assertRpcError(lambda: lib.update(self.channel, P(name=rec.name, etag=rec.etag, notes="two"),
                                               ["notes"]), Code.ABORTED, reason="ETAG_MISMATCH")
        self.assertRpcError(lambda: lib.update(self.channel, P(name=rec.name, etag="garbage", notes="two"),
                                               ["notes"]), Code.ABORTED, reason="ETAG_MISMATCH")
        self.assertEqual(lib.get(self.channel, rec.name), fresh)

    def test_two_racing_updates_with_one_etag_exactly_one_wins(self):
        tenant = lib.new_enabled_tenant(self.channel)
        for round_ in range(5):
            rec = lib.create(self.channel, tenant, lib.person())
            barrier = threading.Barrier(2)
            results = [None, None]
            channels = [harness.channel(self.server.address) for _ in range(2)]
            for c in channels:
                lib.get(c, rec.name)  # connected before the barrier

            def racer(i):
                barrier.wait()
                try:
                    results[i] = lib.update(channels[i], P(name=rec.name, etag=rec.etag,
                                                           notes="writer %d" % i), ["notes"])
                except grpc.RpcError as e:
                    results[i] = e

            threads = [threading.Thread(target=racer, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for c in channels:
                c.close()
            wins = [r for r in results if isinstance(r, resources_pb2.Prospect)]
            losses = [r for r in results if isinstance(r, grpc.RpcError)]
            self.assertEqual(len(wins), 1, "round %d: %r" % (round_, results))
            self.assertEqual(losses[0].code(), Code.ABORTED)
            self.assertEqual(harness.error_info(losses[0]).reason, "ETAG_MISMATCH")
            now = lib.get(self.channel, rec.name)
            self.assertEqual(now.notes, wins[0].notes)
            self.assertEqual(now.etag, wins[0].etag)


class IsolationAndGate(lib.ServerTestCase):
    def test_other_tenants_record_is_not_found(self):
        owner = lib.new_enabled_tenant(self.channel)
        intruder = lib.new_enabled_tenant(self.channel)
        rec = lib.create(self.channel, owner, lib.person(notes="secret"))
        stolen = "tenants/%s/prospects/%s" % (intruder, lib.prospect_id(rec.name))
        e = self.assertRpcError(lambda: lib.update(self.channel, P(name=stolen, notes="pwned"), ["notes"]),
                                Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        self.assertNotIn("secret", e.details())
        self.assertEqual(lib.get(self.channel, rec.name), rec)

    def test_app_off_is_failed_precondition(self):
        tenant = lib.new_enabled_tenant(self.channel)
        rec = lib.create(self.channel, tenant, lib.person())
        lib.update_apps(self.channel, tenant, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, tenant, False)
        self.assertRpcError(lambda: lib.update(self.channel, P(name=rec.name, notes="x"), ["notes"]),
                            Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")


if __name__ == "__main__":
    harness.main()
