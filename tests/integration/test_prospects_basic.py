"""CreateProspect and GetProspect end to end against the real server, MariaDB and Redis:
round trip of every field, tenant isolation, the PROSPECTS app gate, request-id retries."""

import re
import threading
import time

import grpc

import harness
import ps_testlib as lib
from google.protobuf import timestamp_pb2
from prospects.v1 import resources_pb2

Code = grpc.StatusCode


def full_person():
    return resources_pb2.Prospect(
        kind=resources_pb2.PERSON, first_name="Zoë", last_name="van der Berg",
        company_name="Berg Bouw", vat_number="NL123456789B01", email="zoe@example.com",
        phone="+31 20 123 4567", website="https://example.com/zoe",
        address=resources_pb2.Address(street="Keizersgracht 1", postal_code="1015 CJ",
                                      city="Amsterdam", country_code="NL"),
        language="nl", notes="Met at the fair.\nWants a quote in März — 日本語 too.")


class CreateAndGet(lib.ServerTestCase):
    def test_person_round_trip_with_every_field(self):
        tenant = lib.new_enabled_tenant(self.channel)
        sent = full_person()
        before = time.time()
        created = lib.create(self.channel, tenant, sent, request_id="rt-1")
        self.assertRegex(created.name, r"^tenants/%s/prospects/%s$" % (re.escape(tenant), lib.UUID_RE))
        for f in ("first_name", "last_name", "company_name", "vat_number", "email", "phone",
                  "website", "language", "notes"):
            self.assertEqual(getattr(created, f), getattr(sent, f), f)
        self.assertEqual(created.address, sent.address)
        self.assertEqual(created.kind, resources_pb2.PERSON)
        self.assertEqual(created.display_name, "Zoë van der Berg")
        self.assertEqual(created.state, resources_pb2.PROSPECT)
        self.assertRecent(created.create_time)
        self.assertRecent(created.update_time)
        self.assertGreaterEqual(created.create_time.ToNanoseconds() / 1e9, before - 5)
        self.assertEqual(created.create_time, created.update_time)
        self.assertFalse(created.HasField("convert_time"))
        self.assertEqual(created.converting_invoice, "")
        self.assertNotEqual(created.etag, "")

        got = lib.get(self.channel, created.name)
        self.assertEqual(got, created, "GetProspect returns what CreateProspect returned")
        self.assertEqual(lib.prospect_ids_in_db(self.db, self.database, tenant),
                         {lib.prospect_id(created.name)})

    def test_company_display_name_and_minimal_fields(self):
        tenant = lib.new_enabled_tenant(self.channel)
        created = lib.create(self.channel, tenant, lib.company(company_name="Acme Widgets B.V."),
                             request_id="co-1")
        self.assertEqual(created.display_name, "Acme Widgets B.V.")
        self.assertEqual(created.kind, resources_pb2.COMPANY)
        self.assertEqual(created.first_name, "")
        self.assertFalse(created.HasField("address") and created.address.ByteSize() > 0)
        only_last = lib.create(self.channel, tenant,
                               resources_pb2.Prospect(kind=resources_pb2.PERSON, last_name="Curie"),
                               request_id="co-2")
        self.assertEqual(only_last.display_name.strip(), "Curie")
        self.assertNotEqual(only_last.name, created.name)
        self.assertEqual(lib.get(self.channel, created.name), created)

    def test_output_only_fields_are_ignored_on_input(self):
        tenant = lib.new_enabled_tenant(self.channel)
        other = harness.new_tenant()
        forged = lib.person(
            name="tenants/%s/prospects/0190a3b4-0000-7000-8000-000000000001" % other,
            display_name="Forged Name", state=resources_pb2.CUSTOMER,
            create_time=timestamp_pb2.Timestamp(seconds=946684800),
            update_time=timestamp_pb2.Timestamp(seconds=946684800),
            convert_time=timestamp_pb2.Timestamp(seconds=946684800),
            converting_invoice="inv-42", etag="forged-etag")
        created = lib.create(self.channel, tenant, forged, request_id="forged-1")
        self.assertTrue(created.name.startswith("tenants/%s/prospects/" % tenant), created.name)
        self.assertNotIn("0190a3b4-0000-7000-8000-000000000001", created.name)
        self.assertEqual(created.display_name, "Ada Lovelace")
        self.assertEqual(created.state, resources_pb2.PROSPECT)
        self.assertRecent(created.create_time)
        self.assertRecent(created.update_time)
        self.assertFalse(created.HasField("convert_time"))
        self.assertEqual(created.converting_invoice, "")
        self.assertNotIn(created.etag, ("", "forged-etag"))
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", other), 0)
        self.assertEqual(lib.get(self.channel, created.name), created)

    def test_ids_are_distinct_and_time_ordered(self):
        tenant = lib.new_enabled_tenant(self.channel)
        ids = [lib.prospect_id(lib.create(self.channel, tenant, lib.person(), request_id="ord-%d" % i).name)
               for i in range(5)]
        self.assertEqual(len(set(ids)), 5)
        self.assertEqual(ids, sorted(ids), "UUIDv7 ids sort in creation order")
        for i in ids:
            self.assertEqual(i[14], "7", "UUID version 7: %s" % i)

    def test_get_unknown_id_is_not_found(self):
        tenant = lib.new_enabled_tenant(self.channel)
        self.assertRpcError(
            lambda: lib.get(self.channel, "tenants/%s/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b" % tenant),
            Code.NOT_FOUND)


class TenantIsolation(lib.ServerTestCase):
    def test_other_tenants_record_is_not_found_and_leaks_nothing(self):
        owner = lib.new_enabled_tenant(self.channel)
        intruder = lib.new_enabled_tenant(self.channel)
        secret = lib.person(first_name="Secretia", last_name="Hiddenberg", email="secret@owner.example")
        created = lib.create(self.channel, owner, secret, request_id="iso-1")
        pid = lib.prospect_id(created.name)
        stolen_name = "tenants/%s/prospects/%s" % (intruder, pid)
        unknown = "tenants/%s/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b" % intruder
        e1 = self.assertRpcError(lambda: lib.get(self.channel, stolen_name), Code.NOT_FOUND)
        e2 = self.assertRpcError(lambda: lib.get(self.channel, unknown), Code.NOT_FOUND)
        for e in (e1, e2):
            text = (e.details() or "") + repr(e.trailing_metadata())
            for leak in (owner, "Secretia", "Hiddenberg", "secret@owner.example"):
                self.assertNotIn(leak, text, "NOT_FOUND must not hint at the other tenant's record")
        info1, info2 = harness.error_info(e1), harness.error_info(e2)
        self.assertEqual(info1.reason if info1 else None, info2.reason if info2 else None,
                         "another tenant's id and a non-existent id must look the same")
        # the owner still sees it, unchanged
        self.assertEqual(lib.get(self.channel, created.name), created)
        # and a tenant without the app gets the app error, not the record
        stranger = harness.new_tenant()
        self.assertRpcError(lambda: lib.get(self.channel, "tenants/%s/prospects/%s" % (stranger, pid)),
                            Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")

    def test_same_request_id_in_two_tenants_makes_two_records(self):
        a = lib.new_enabled_tenant(self.channel)
        b = lib.new_enabled_tenant(self.channel)
        pa = lib.create(self.channel, a, lib.person(), request_id="shared-id")
        pb = lib.create(self.channel, b, lib.person(), request_id="shared-id")
        self.assertTrue(pa.name.startswith("tenants/%s/" % a))
        self.assertTrue(pb.name.startswith("tenants/%s/" % b))
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", a), 1)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", b), 1)


class AppGate(lib.ServerTestCase):
    def test_prospects_app_off_refuses_create_and_get_and_writes_nothing(self):
        tenant = harness.new_tenant()  # both apps off: a new tenant
        for call in (lambda: lib.create(self.channel, tenant, lib.person(), request_id="gate-1"),
                     lambda: lib.get(self.channel, "tenants/%s/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b" % tenant)):
            e = self.assertRpcError(call, Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
            self.assertIn("rospects", e.details(), "the message names the app")
        self.assertEqual(lib.count_all(self.db, self.database, tenant),
                         dict.fromkeys(lib.count_all(self.db, self.database, tenant), 0))

    def test_gate_follows_the_switch(self):
        tenant = lib.new_enabled_tenant(self.channel)
        p = lib.create(self.channel, tenant, lib.person(), request_id="sw-1")
        lib.update_apps(self.channel, tenant, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, tenant, False)
        self.assertRpcError(lambda: lib.get(self.channel, p.name), Code.FAILED_PRECONDITION,
                            reason="PROSPECTS_APP_DISABLED")
        self.assertRpcError(lambda: lib.create(self.channel, tenant, lib.person(), request_id="sw-2"),
                            Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", tenant), 1)


class RequestIds(lib.ServerTestCase):
    def test_same_request_id_same_request_returns_the_first_record(self):
        tenant = lib.new_enabled_tenant(self.channel)
        first = lib.create(self.channel, tenant, full_person(), request_id="retry-1")
        again = lib.create(self.channel, tenant, full_person(), request_id="retry-1")
        self.assertEqual(again, first)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", tenant), 1)
        self.assertEqual(lib.get(self.channel, first.name), first)

    def test_same_request_id_different_request_is_refused(self):
        tenant = lib.new_enabled_tenant(self.channel)
        first = lib.create(self.channel, tenant, lib.person(first_name="Ada"), request_id="reuse-1")
        e = self.assertRpcError(
            lambda: lib.create(self.channel, tenant, lib.person(first_name="Grace"), request_id="reuse-1"),
            Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
        self.assertIn("reuse-1", e.details() + repr(dict(harness.error_info(e).metadata)))
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", tenant), 1)
        self.assertEqual(lib.get(self.channel, first.name).first_name, "Ada")

    def test_distinct_request_ids_make_distinct_records(self):
        tenant = lib.new_enabled_tenant(self.channel)
        a = lib.create(self.channel, tenant, lib.person(), request_id="d-1")
        b = lib.create(self.channel, tenant, lib.person(), request_id="d-2")
        self.assertNotEqual(a.name, b.name)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", tenant), 2)

    def test_concurrent_creates_with_one_request_id_make_one_record(self):
        tenant = lib.new_enabled_tenant(self.channel)
        n = 8
        barrier = threading.Barrier(n)
        results, errors = [], []
        lock = threading.Lock()
        # one channel per thread so the calls really race (separate HTTP/2 connections)
        channels = [harness.channel(self.server.address, options=[("grpc.use_local_subchannel_pool", 1)])
                    for _ in range(n)]
        for ch in channels:  # connect first, so that the race is between calls, not connects
            grpc.channel_ready_future(ch).result(timeout=10)

        def worker(ch):
            barrier.wait()
            try:
                r = lib.create(ch, tenant, full_person(), request_id="race-1")
                with lock:
                    results.append(r)
            except grpc.RpcError as e:
                with lock:
                    errors.append(e)

        threads = [threading.Thread(target=worker, args=(ch,)) for ch in channels]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for ch in channels:
            ch.close()
        # a loser of the race may be told to retry (ABORTED), nothing else
        for e in errors:
            self.assertEqual(e.code(), Code.ABORTED, "%s %s" % (e.code(), e.details()))
        self.assertTrue(results, "no call succeeded")
        self.assertEqual({r.name for r in results}, {results[0].name})
        for r in results:
            self.assertEqual(r, results[0])
        for _ in errors:  # retries of the losers return the same record
            self.assertEqual(lib.create(self.channel, tenant, full_person(), request_id="race-1"), results[0])
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", tenant), 1)
        self.assertEqual(lib.count_rows(self.db, self.database, "idempotency_keys", tenant), 1)


if __name__ == "__main__":
    harness.main()
