"""Merged ids keep meaning something (S10-S12): ResolveProspect follows merge chains (A merged into B,
B into C gives C, via A and B), GetProspect and the other calls on a merged id say PROSPECT_MERGED
with the next hop and the final survivor, and a caller that resolves and retries (the invoicing
flow) ends on the live record. Unknown, deleted and other tenants' ids resolve to nothing."""

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

Code = grpc.StatusCode
R = resources_pb2
UNKNOWN_ID = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"


class Resolve(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.n = 0

    def merge(self, target, sources):
        self.n += 1
        return lib.merge(self.channel, target, sources, request_id="resolve-%d" % self.n)

    def person(self, name):
        return lib.create(self.channel, self.t, lib.person(first_name=name)).name

    def test_live_record_resolves_to_itself(self):
        a = self.person("A")
        r = lib.resolve(self.channel, a)
        self.assertEqual((r.name, list(r.merged_via)), (a, []))
        # the canonical name, whatever the case of the id sent
        upper = "tenants/%s/prospects/%s" % (self.t, lib.prospect_id(a).upper())
        self.assertEqual(lib.resolve(self.channel, upper).name, a)

    def test_chain_a_b_c(self):
        a, b, c = self.person("A"), self.person("B"), self.person("C")
        lib.link_document(self.channel, a, lib.document(R.QUOTE, "from-a"))
        self.merge(b, [a])
        r = lib.resolve(self.channel, a)
        self.assertEqual((r.name, list(r.merged_via)), (b, [a]))
        self.merge(c, [b])
        r = lib.resolve(self.channel, a)
        self.assertEqual((r.name, list(r.merged_via)), (c, [a, b]))
        r = lib.resolve(self.channel, b)
        self.assertEqual((r.name, list(r.merged_via)), (c, [b]))
        self.assertEqual(lib.resolve(self.channel, c).name, c)
        # GetProspect on the first id: merged into B (the next hop), and C survives
        e = self.assertRpcError(lambda: lib.get(self.channel, a), Code.NOT_FOUND, reason="PROSPECT_MERGED")
        info = harness.error_info(e)
        self.assertEqual((info.metadata["merged_into"], info.metadata["surviving_prospect"]), (b, c))
        self.assertIn(c, e.details())
        # the document went along both merges
        self.assertEqual(lib.lookup_document(self.channel, self.t, R.QUOTE, "from-a").prospect, c)
        self.assertRpcError(lambda: lib.list_documents(self.channel, a), Code.NOT_FOUND, reason="PROSPECT_MERGED")

    def test_a_long_chain_still_resolves(self):
        # the survivor of each merge is merged away by the next one: 40 hops
        names = [self.person("L%d" % i) for i in range(41)]
        for i in range(40):
            self.merge(names[i + 1], [names[i]])
        r = lib.resolve(self.channel, names[0])
        self.assertEqual((r.name, list(r.merged_via)), (names[40], names[:40]))
        e = self.assertRpcError(lambda: lib.get(self.channel, names[0]), Code.NOT_FOUND,
                                reason="PROSPECT_MERGED")
        info = harness.error_info(e)
        self.assertEqual((info.metadata["merged_into"], info.metadata["surviving_prospect"]),
                         (names[1], names[40]))

    def test_chain_of_several_sources_and_hops(self):
        names = [self.person("P%d" % i) for i in range(6)]
        self.merge(names[1], [names[0], names[2]])   # 0, 2 -> 1
        self.merge(names[3], [names[1]])             # 1 -> 3
        self.merge(names[5], [names[3], names[4]])   # 3, 4 -> 5
        want = {0: [0, 1, 3], 2: [2, 1, 3], 1: [1, 3], 3: [3], 4: [4]}
        for i, via in want.items():
            r = lib.resolve(self.channel, names[i])
            self.assertEqual((r.name, list(r.merged_via)), (names[5], [names[k] for k in via]))

    def test_resolve_then_retry_like_the_invoicing_service(self):
        a, b = self.person("Old"), self.person("New")
        self.merge(b, [a])
        inv = R.Document(document_id="inv-resolve")
        e = self.assertRpcError(lambda: lib.convert(self.channel, a, inv, request_id="inv-1"), Code.NOT_FOUND,
                                reason="PROSPECT_MERGED")
        self.assertEqual(harness.error_info(e).metadata["surviving_prospect"], b)
        live = lib.resolve(self.channel, a).name
        r = lib.convert(self.channel, live, inv, request_id="inv-2")
        self.assertEqual((r.prospect.name, r.prospect.state), (b, R.CUSTOMER))

    def test_unknown_deleted_and_other_tenants_ids(self):
        self.assertRpcError(lambda: lib.resolve(self.channel, "tenants/%s/prospects/%s" % (self.t, UNKNOWN_ID)),
                            Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        d = self.person("Deleted")
        lib.delete(self.channel, d)
        self.assertRpcError(lambda: lib.resolve(self.channel, d), Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        t2 = lib.new_enabled_tenant(self.channel)
        x = lib.create(self.channel, t2, lib.person()).name
        y = lib.create(self.channel, t2, lib.person()).name
        lib.merge(self.channel, y, [x], request_id="other")
        self.assertEqual(lib.resolve(self.channel, x).name, y)  # in its own tenant
        self.assertRpcError(lambda: lib.resolve(self.channel, x.replace(t2, self.t)), Code.NOT_FOUND,
                            reason="PROSPECT_NOT_FOUND")

    def test_chain_ending_at_a_deleted_survivor(self):
        a, b = self.person("A"), self.person("B")
        self.merge(b, [a])
        lib.delete(self.channel, b)  # no documents: the survivor may be deleted
        e = self.assertRpcError(lambda: lib.resolve(self.channel, a), Code.NOT_FOUND, reason="PROSPECT_MERGED")
        info = harness.error_info(e)
        self.assertEqual(info.metadata["merged_into"], b)
        self.assertNotIn("surviving_prospect", info.metadata)

    def test_validation(self):
        for name in ("", "tenants/%s/prospects/x" % self.t, "tenants/%s" % self.t):
            with self.subTest(name=name):
                self.assertRpcError(lambda: lib.resolve(self.channel, name), Code.INVALID_ARGUMENT,
                                    reason="INVALID_FIELD", field="name")


if __name__ == "__main__":
    harness.main()
