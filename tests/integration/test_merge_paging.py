"""Merges of any size against the real server and MariaDB: no cap on the document links one merge
moves, the moved links kept as rows (merge_moved_documents) and paged through GetMerge, in the same
order from every call that returns a merge (MergeProspects, its replay, GetMerge, ListMerges), page
tokens bound to their merge, the dry run's count and first page, and records written before the
rows existed (their list inside the packed record) paged the same way."""

import uuid

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

Code = grpc.StatusCode
R = resources_pb2


def uuid_text(hex32):
    return str(uuid.UUID(hex=hex32))


class MergePagingCase(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)

    def company(self, name):
        return lib.create(self.channel, self.t, lib.company(company_name=name)).name

    def bulk_links(self, prospect, n, tag):
        """n document links on prospect, inserted in SQL (a merge must not care how they came):
        returns their names, as GetMerge lists them (source id, then link id)."""
        pid = lib.hex_id(prospect)
        # link ids: 0190 + an 8-digit tag + the row number, so that every call's ids differ
        self.db.sql(
            "INSERT INTO document_links (tenant_id, id, prospect_id, type, document_id, number, title,"
            " document_time, party_snapshot, link_time)"
            " SELECT %s, UNHEX(CONCAT('0190', LPAD(HEX(%d), 8, '0'), LPAD(HEX(seq), 20, '0'))),"
            " UNHEX(%s), 1, CONCAT(%s, seq), '', '', UTC_TIMESTAMP(6), '', UTC_TIMESTAMP(6)"
            " FROM seq_1_to_%d" % (lib._q(self.t), tag, lib._q(pid), lib._q("bulk-%d-" % tag), n),
            self.database)
        rows = self.db.sql("SELECT LOWER(HEX(id)) FROM document_links WHERE tenant_id = %s AND"
                           " prospect_id = UNHEX(%s) ORDER BY id" % (lib._q(self.t), lib._q(pid)),
                           self.database)
        return ["%s/documents/%s" % (prospect, uuid_text(h)) for (h,) in rows]

    def expected_order(self, links_by_source):
        """Every name, in GetMerge's order: by source id bytes, then link id bytes."""
        out = []
        for src in sorted(links_by_source, key=lib.hex_id):
            out.extend(links_by_source[src])
        return out

    def test_a_merge_past_the_old_cap_moves_every_link_and_pages_them(self):
        target = self.company("Paging Target")
        sources = [self.company("Paging Source %d" % i) for i in range(3)]
        links = {sources[0]: self.bulk_links(sources[0], 12000, 1),
                 sources[1]: self.bulk_links(sources[1], 9000, 2),
                 sources[2]: [lib.link_document(self.channel, sources[2],
                                                lib.document(R.INVOICE, "inv-%d" % i)).name
                              for i in range(3)]}
        links[sources[2]].sort(key=lambda n: n.rsplit("/", 1)[1].replace("-", ""))
        want = self.expected_order(links)
        total = len(want)
        self.assertEqual(total, 21003)  # above the 20,000 a merge could move before

        dry = lib.merge(self.channel, target, sources, validate_only=True, timeout=60)
        self.assertEqual(list(dry.violations), [])
        self.assertEqual(dry.merge.moved_document_count, total)
        self.assertEqual(list(dry.merge.moved_documents), want[:1000])
        self.assertEqual(dry.merge.moved_documents_next_page_token, "")
        self.assertEqual(lib.dump_tenant(self.db, self.database, self.t)["merge_moved_documents"], [])

        resp = lib.merge(self.channel, target, sources, request_id="big-merge", timeout=60)
        m = resp.merge
        self.assertEqual(m.moved_document_count, total)
        self.assertEqual(list(m.moved_documents), want[:1000])
        self.assertNotEqual(m.moved_documents_next_page_token, "")

        # every link is on the target now, none left behind, the rows say what moved
        on = self.db.sql("SELECT prospect_id = UNHEX(%s), COUNT(*) FROM document_links WHERE tenant_id = %s"
                         " GROUP BY 1" % (lib._q(lib.hex_id(target)), lib._q(self.t)), self.database)
        self.assertEqual([tuple(r) for r in on], [("1", str(total))])
        rows = int(self.db.sql("SELECT COUNT(*) FROM merge_moved_documents WHERE tenant_id = %s AND"
                               " merge_id = UNHEX(%s)" % (lib._q(self.t), lib._q(lib.hex_id(m.name))),
                               self.database)[0][0])
        self.assertEqual(rows, total)

        # the response's token continues in GetMerge; default pages of 1000, then one of 5000
        names, calls = lib.all_moved_documents(self.channel, m)
        self.assertEqual(names, want)
        self.assertEqual(calls, 21)
        first = lib.get_merge(self.channel, m.name)
        self.assertEqual(first, m)  # the same record and first page as the merge returned
        names, calls = lib.all_moved_documents(self.channel, lib.get_merge(self.channel, m.name, page_size=5000),
                                               page_size=5000)
        self.assertEqual(names, want)
        self.assertEqual(calls, 4)
        big = lib.get_merge(self.channel, m.name, page_size=100000)  # capped at 5000
        self.assertEqual(len(big.moved_documents), 5000)
        small = lib.get_merge(self.channel, m.name, page_size=7, page_token=m.moved_documents_next_page_token)
        self.assertEqual(list(small.moved_documents), want[1000:1007])

        # a replay returns the first merge, first page and token included
        again = lib.merge(self.channel, target, sources, request_id="big-merge", timeout=60)
        self.assertEqual(again.merge, m)

        # ListMerges: the first 100, and a token that GetMerge continues from the 101st
        listed = lib.list_merges(self.channel, self.t).merges
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0].moved_document_count, total)
        self.assertEqual(list(listed[0].moved_documents), want[:100])
        nxt = lib.get_merge(self.channel, m.name, page_token=listed[0].moved_documents_next_page_token)
        self.assertEqual(list(nxt.moved_documents), want[100:1100])

        # the audit row counts them (no names)
        details = self.db.sql("SELECT details FROM audit_events WHERE tenant_id = %s AND action = 'MergeProspects'"
                              % lib._q(self.t), self.database)[0][0]
        self.assertIn("%d document link(s)" % total, details)

    def test_page_tokens_are_bound_to_their_merge(self):
        target = self.company("Token Target")
        src = self.company("Token Source")
        self.bulk_links(src, 30, 3)
        m = lib.merge(self.channel, target, [src], request_id="tok-1").merge
        other_target = self.company("Other Target")
        other_src = self.company("Other Source")
        self.bulk_links(other_src, 30, 4)
        other = lib.merge(self.channel, other_target, [other_src], request_id="tok-2").merge
        page = lib.get_merge(self.channel, m.name, page_size=10)
        self.assertEqual(len(page.moved_documents), 10)
        self.assertNotEqual(page.moved_documents_next_page_token, "")
        # another merge's token, an altered token, a negative page size
        self.assertRpcError(lambda: lib.get_merge(self.channel, other.name,
                                                  page_token=page.moved_documents_next_page_token),
                            Code.INVALID_ARGUMENT, field="moved_documents_page_token")
        tok = page.moved_documents_next_page_token
        bad = tok[:-2] + ("A" if tok[-2] != "A" else "B") + tok[-1]
        self.assertRpcError(lambda: lib.get_merge(self.channel, m.name, page_token=bad),
                            Code.INVALID_ARGUMENT, field="moved_documents_page_token")
        self.assertRpcError(lambda: lib.get_merge(self.channel, m.name, page_size=-1),
                            Code.INVALID_ARGUMENT, field="moved_documents_page_size")
        # the last page has no token; a merge that moved nothing has neither list nor token
        last = lib.get_merge(self.channel, m.name, page_size=10,
                             page_token=lib.get_merge(self.channel, m.name, page_size=10,
                                                      page_token=tok).moved_documents_next_page_token)
        self.assertEqual(len(last.moved_documents), 10)
        self.assertEqual(last.moved_documents_next_page_token, "")
        empty = lib.merge(self.channel, self.company("E1"), [self.company("E2")], request_id="tok-3").merge
        self.assertEqual((empty.moved_document_count, list(empty.moved_documents),
                          empty.moved_documents_next_page_token), (0, [], ""))

    def test_records_written_before_the_rows_page_from_their_own_list(self):
        """A merge record of before merge_moved_documents holds its whole list in the packed record
        (and no count): it is paged the same way, its count filled in."""
        target = self.company("Legacy Target")
        src_id = str(uuid.uuid4())
        merge_id = "0190a3b4-5c6d-7e8f-9a0b-%012x" % 7
        names = ["tenants/%s/prospects/%s/documents/%s" % (self.t, src_id, str(uuid.uuid4()))
                 for _ in range(25)]
        rec = R.Merge(name="tenants/%s/merges/%s" % (self.t, merge_id), target=target,
                      sources=["tenants/%s/prospects/%s" % (self.t, src_id)], moved_documents=names,
                      caller="spiffe://example/legacy")
        rec.create_time.GetCurrentTime()
        self.db.sql("INSERT INTO merges (tenant_id, id, target_id, create_time, caller, acting_user, record)"
                    " VALUES (%s, UNHEX(%s), UNHEX(%s), UTC_TIMESTAMP(6), 'legacy', '', UNHEX(%s))"
                    % (lib._q(self.t), lib._q(merge_id.replace("-", "")), lib._q(lib.hex_id(target)),
                       lib._q(rec.SerializeToString().hex())), self.database)
        first = lib.get_merge(self.channel, rec.name, page_size=10)
        self.assertEqual(first.moved_document_count, 25)
        self.assertEqual(list(first.moved_documents), names[:10])
        got, calls = lib.all_moved_documents(self.channel, first, page_size=10)
        self.assertEqual(got, names)
        self.assertEqual(calls, 2)
        whole = lib.get_merge(self.channel, rec.name)
        self.assertEqual((list(whole.moved_documents), whole.moved_documents_next_page_token), (names, ""))
        listed = lib.list_merges(self.channel, self.t).merges
        self.assertEqual(list(listed[0].moved_documents), names)
        self.assertEqual(listed[0].moved_document_count, 25)
        # a token of a row-backed merge does not fit a legacy record, nor the reverse
        self.assertRpcError(lambda: lib.get_merge(self.channel, rec.name, page_token="AAAA"),
                            Code.INVALID_ARGUMENT, field="moved_documents_page_token")


if __name__ == "__main__":
    harness.main()
