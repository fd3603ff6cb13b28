"""Conversion to customer on invoicing (S3) against the real server and MariaDB: state, conversion
time and converting invoice recorded and the invoice linked in one transaction, same id; a customer
again is a success that says so and keeps its first conversion; two concurrent conversions make one;
request ids; merged-away and other tenants' records; never blocked by the app switch; an invoice on
another record changes nothing; validation; links racing a conversion are all kept."""

import threading

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
R = resources_pb2


def invoice(document_id="inv-1", **kw):
    """An invoice document; the type is left for the server to set."""
    return R.Document(document_id=document_id, **kw)


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


class Convert(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.p = lib.create(self.channel, self.t,
                            lib.company(company_name="Zeta Trading", address=R.Address(city="Delft")))

    def test_converts_and_links_the_invoice(self):
        r = lib.convert(self.channel, self.p.name, invoice(number="INV-7", title="Chairs"))
        self.assertFalse(r.already_converted)
        self.assertEqual(r.prospect.name, self.p.name)  # same id (quotes and invoices reference it)
        self.assertEqual(r.prospect.state, R.CUSTOMER)
        self.assertRecent(r.prospect.convert_time)
        self.assertEqual(r.prospect.converting_invoice, "inv-1")
        self.assertNotEqual(r.prospect.etag, self.p.etag)
        self.assertEqual(lib.get(self.channel, self.p.name), r.prospect)
        self.assertEqual((r.invoice.type, r.invoice.document_id, r.invoice.number, r.invoice.prospect),
                         (R.INVOICE, "inv-1", "INV-7", self.p.name))
        self.assertEqual(r.invoice.party_snapshot.display_name, "Zeta Trading")
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.INVOICE, "inv-1"), r.invoice)
        # the customer leaves the prospect overview, also when searched for, and is a customer there
        self.assertEqual(list(lib.list_all(self.channel, self.t)), [])
        self.assertEqual(list(lib.list_all(self.channel, self.t, query="zeta")), [])
        self.assertEqual([p.name for p in lib.list_all(self.channel, self.t, query="zeta",
                                                       state_filter=service_pb2.CUSTOMERS_ONLY)], [self.p.name])
        self.assertEqual([p.name for p in lib.list_all(self.channel, self.t, query="delft",
                                                       state_filter=service_pb2.ALL_STATES)], [self.p.name])

    def test_a_customer_again_says_so_and_keeps_its_conversion(self):
        first = lib.convert(self.channel, self.p.name, invoice("inv-1"))
        again = lib.convert(self.channel, self.p.name, invoice("inv-1"))
        self.assertTrue(again.already_converted)
        self.assertEqual(again.prospect, first.prospect)
        self.assertEqual(again.invoice, first.invoice)
        # a second, different invoice: linked, but the conversion stays the first one's
        second = lib.convert(self.channel, self.p.name, invoice("inv-2"))
        self.assertTrue(second.already_converted)
        self.assertEqual(second.prospect, first.prospect)
        self.assertEqual(second.invoice.document_id, "inv-2")
        self.assertEqual(second.invoice.prospect, self.p.name)
        self.assertEqual(lib.count_rows(self.db, self.database, "document_links", self.t), 2)

    def test_request_id_returns_the_first_result(self):
        a = lib.convert(self.channel, self.p.name, invoice(), request_id="conv-1")
        b = lib.convert(self.channel, self.p.name, invoice(), request_id="conv-1")
        self.assertEqual(a, b)
        self.assertFalse(b.already_converted)
        self.assertRpcError(lambda: lib.convert(self.channel, self.p.name, invoice("inv-9"), request_id="conv-1"),
                            Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")

    def test_two_concurrent_conversions_make_one(self):
        for round_ in range(5):
            p = lib.create(self.channel, self.t, lib.person(first_name="P%d" % round_))
            res = together([lambda: lib.convert(self.channel, p.name, invoice("a-%d" % round_)),
                            lambda: lib.convert(self.channel, p.name, invoice("b-%d" % round_))])
            self.assertTrue(all(e is None for _, e in res), [e for _, e in res])
            fresh = [r for r, _ in res if not r.already_converted]
            self.assertEqual(len(fresh), 1)
            got = lib.get(self.channel, p.name)
            self.assertEqual(got.converting_invoice, fresh[0].invoice.document_id)
            self.assertEqual(got.convert_time, fresh[0].prospect.convert_time)
            self.assertEqual(got.etag, fresh[0].prospect.etag)  # written once
            self.assertEqual([r.prospect for r, _ in res if r.already_converted], [got])
            self.assertEqual(len(lib.list_all_documents(self.channel, p.name)), 2)

    def test_links_racing_a_conversion_are_all_kept(self):
        fns = [lambda: lib.convert(self.channel, self.p.name, invoice("inv-race"))]
        fns += [(lambda i: lambda: lib.link_document(self.channel, self.p.name,
                                                     lib.document(R.QUOTE, "q-race-%d" % i)))(i) for i in range(6)]
        res = together(fns)
        self.assertTrue(all(e is None for _, e in res), [e for _, e in res])
        self.assertEqual(len(lib.list_all_documents(self.channel, self.p.name)), 7)
        self.assertEqual(lib.get(self.channel, self.p.name).state, R.CUSTOMER)

    def test_merged_away_names_the_survivor(self):
        target = lib.create(self.channel, self.t, lib.person(first_name="Target"))
        lib.merge_away_by_sql(self.db, self.database, self.t, self.p.name, target.name)
        e = self.assertRpcError(lambda: lib.convert(self.channel, self.p.name, invoice()),
                                Code.NOT_FOUND, reason="PROSPECT_MERGED")
        self.assertEqual(harness.error_info(e).metadata["surviving_prospect"], target.name)
        self.assertEqual(lib.count_rows(self.db, self.database, "document_links", self.t), 0)
        r = lib.convert(self.channel, target.name, invoice())
        self.assertEqual(r.prospect.state, R.CUSTOMER)

    def test_other_tenant_and_unknown_are_not_found(self):
        other = lib.new_enabled_tenant(self.channel)
        stolen = "tenants/%s/prospects/%s" % (other, lib.prospect_id(self.p.name))
        self.assertRpcError(lambda: lib.convert(self.channel, stolen, invoice()), Code.NOT_FOUND,
                            reason="PROSPECT_NOT_FOUND")
        unknown = "tenants/%s/prospects/01900000-0000-7000-8000-000000000001" % self.t
        self.assertRpcError(lambda: lib.convert(self.channel, unknown, invoice()), Code.NOT_FOUND,
                            reason="PROSPECT_NOT_FOUND")
        self.assertEqual(lib.get(self.channel, self.p.name).state, R.PROSPECT)

    def test_never_blocked_by_the_app_switch(self):
        lib.update_apps(self.channel, self.t, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, self.t, False)
        r = lib.convert(self.channel, self.p.name, invoice())
        self.assertEqual(r.prospect.state, R.CUSTOMER)
        lib.enable_prospects(self.channel, self.t)
        self.assertEqual(lib.get(self.channel, self.p.name).state, R.CUSTOMER)

    def test_an_invoice_on_another_record_changes_nothing(self):
        other = lib.create(self.channel, self.t, lib.person())
        lib.link_document(self.channel, other.name, lib.document(R.INVOICE, "inv-1"))
        e = self.assertRpcError(lambda: lib.convert(self.channel, self.p.name, invoice("inv-1")),
                                Code.FAILED_PRECONDITION, reason="DOCUMENT_LINKED_ELSEWHERE")
        self.assertEqual(harness.error_info(e).metadata["prospect"], other.name)
        self.assertEqual(lib.get(self.channel, self.p.name), self.p)
        # an invoice linked beforehand to the record itself is simply kept
        linked = lib.link_document(self.channel, self.p.name, lib.document(R.INVOICE, "inv-2"))
        r = lib.convert(self.channel, self.p.name, invoice("inv-2"))
        self.assertEqual(r.invoice, linked)
        self.assertEqual(r.prospect.converting_invoice, "inv-2")

    def test_validation(self):
        for req, field in (
                (service_pb2.ConvertProspectRequest(name=self.p.name), "invoice"),
                (service_pb2.ConvertProspectRequest(name=self.p.name, invoice=invoice(type=R.QUOTE)), "invoice.type"),
                (service_pb2.ConvertProspectRequest(name=self.p.name, invoice=invoice("")), "invoice.document_id"),
                (service_pb2.ConvertProspectRequest(name=self.p.name, invoice=invoice("x" * 129)), "invoice.document_id"),
                (service_pb2.ConvertProspectRequest(name=self.p.name, invoice=invoice(number="n" * 65)), "invoice.number"),
                (service_pb2.ConvertProspectRequest(name="tenants/%s" % self.t, invoice=invoice()), "name"),
                (service_pb2.ConvertProspectRequest(name=self.p.name, invoice=invoice(), request_id="a b"), "request_id")):
            with self.subTest(field=field):
                self.assertRpcError(lambda: harness.call(self.channel, lib.method("ConvertProspect"), req,
                                                         service_pb2.ConvertProspectResponse),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field=field)
        self.assertEqual(lib.get(self.channel, self.p.name), self.p)
        self.assertEqual(lib.count_rows(self.db, self.database, "document_links", self.t), 0)

    def test_one_way(self):
        lib.convert(self.channel, self.p.name, invoice())
        cur = lib.get(self.channel, self.p.name)
        cur.state = R.PROSPECT
        self.assertRpcError(lambda: lib.update(self.channel, cur, ["state"]), Code.INVALID_ARGUMENT,
                            field="update_mask.paths")
        lib.update(self.channel, cur, ["*"])
        self.assertEqual(lib.get(self.channel, self.p.name).state, R.CUSTOMER)


if __name__ == "__main__":
    harness.main()
