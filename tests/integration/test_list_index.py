"""Scale rule of the overview, the duplicate check, the document lists and merges. Every statement
the server runs for ListProspects (each order, filter, short/long/multi-word query, first and later
pages), for FindDuplicateProspects and for ListDocuments is index-backed. The test loads a few
thousand records into one tenant (next to other tenants), records the statements the server really
executed (MariaDB's general log, on a private MariaDB so no other test is disturbed) and EXPLAINs
each: no full table or full index scan of prospects, prospect_terms or document_links: every table
step uses an index (ref, range, eq_ref, const). A merge, in a tenant whose links sit mostly on a few
records, reads its sources' links and not the tenant's (rows counted by MariaDB's handler status)."""

import unittest

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

A = resources_pb2.Address
FIRST = ["Jan", "Piet", "Emma", "Sophie", "Daan", "Julia"]
LAST = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos", "Vos"]
CITIES = ["Amsterdam", "Utrecht", "Gouda", "Delft"]
COPIES = 60


class IndexBacked(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mariadb = harness.private_mariadb()
        cls.database = harness.fresh_database(cls.mariadb)
        cls.server = harness.Server(database=cls.database, mariadb=cls.mariadb)
        ch = cls.channel = cls.server.channel
        cls.t = lib.new_enabled_tenant(ch)
        noise = lib.new_enabled_tenant(ch)
        n = 0
        for f in FIRST:
            for l in LAST:
                n += 1
                for tenant in (cls.t, noise):
                    p = lib.create(ch, tenant, lib.person(
                        first_name=f, last_name=l, email="%s.%s%d@example.com" % (f.lower(), l.replace(" ", ""), n),
                        vat_number="NL%09dB01" % n, phone="06 %08d" % n,
                        address=A(city=CITIES[n % 4], country_code="NL")))
                    if tenant == cls.t:
                        cls.sample = p
        # clone the tenant's records (with the word index rows the server wrote) to thousands of rows
        sql = lambda s: cls.mariadb.sql(s, cls.database)  # noqa: E731
        newid = "CONCAT(LEFT(id, 12), UNHEX(LPAD(HEX(k.seq), 8, '0')))"
        sql("INSERT INTO prospects SELECT tenant_id, %s, kind, IF(k.seq %% 5 = 0, 2, state), display_name,"
            " first_name, last_name, company_name, vat_number, email, phone, website, street, postal_code, city,"
            " country_code, language, notes, email_norm, vat_norm, phone_norm, name_key, version, create_time,"
            " update_time, convert_time, converting_invoice, norm_version FROM prospects, seq_1_to_%d k"
            " WHERE tenant_id = '%s'" % (newid, COPIES, cls.t))
        sql("INSERT INTO prospect_terms SELECT tenant_id, term, IF(k.seq %% 5 = 0, 2, state), %s, display_name"
            " FROM prospect_terms, seq_1_to_%d k WHERE tenant_id = '%s'" % (newid, COPIES, cls.t))
        sql("ANALYZE TABLE prospects, prospect_terms")
        cls.rows = lib.count_rows(cls.mariadb, cls.database, "prospects", cls.t)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.mariadb.close()

    def executed(self, fn):
        """The SELECT statements (with their parameters) the server executed for this tenant in fn()."""
        db = self.mariadb
        db.sql("SET GLOBAL log_output = 'TABLE'")
        db.sql("TRUNCATE mysql.general_log")
        db.sql("SET GLOBAL general_log = 1")
        try:
            fn()
        finally:
            db.sql("SET GLOBAL general_log = 0")
        return lib.logged_selects(db, self.t)

    def assertIndexBacked(self, fn, what):
        stmts = [s for s in self.executed(fn) if "prospects" in s or "prospect_terms" in s]
        self.assertTrue(stmts, "%s: no statement seen" % what)
        for s in stmts:
            for r in lib.explain(self.mariadb, self.database, s):
                ctx = "%s\n  %s\n  %r" % (what, s[:400], r)
                if r["table"].startswith("<"):
                    continue  # a derived table or union result: its own steps are rows of their own
                if r["Extra"] == "Zero limit":
                    continue  # a branch given LIMIT 0 (the overview's second state when there is one)
                if "Table function: json_table" in r["Extra"]:
                    continue  # the keys the server looks up (a JSON array parameter), not a table
                if r["table"] == "NULL" and "const table" in r["Extra"]:
                    continue  # decided on primary-key lookups alone (e.g. an id the log garbled:
                    # "Impossible WHERE noticed after reading const tables", "no matching row in
                    # const table")
                self.assertNotIn(r["type"], ("ALL", "index"), "full scan: " + ctx)
                self.assertIsNotNone(r["key"], ctx)
                self.assertNotEqual(r["key"], "NULL", ctx)
                # (EXPLAIN's rows of an ordered range read with LIMIT is the range's size, not what
                # is read, so only the access type and key are checked; the benchmark times it)

    def test_document_lists_read_the_records_type_index(self):
        # up to 200 links a list of all types sorts the record's range; beyond, it merges each type's
        # newest keys: a page's worth of index entries per type
        for n in (30, 210):
            p = lib.create(self.channel, self.t, lib.person(first_name="Documents%d" % n))
            for i in range(n):
                lib.link_document(self.channel, p.name, lib.document(
                    resources_pb2.QUOTE if i % 3 else resources_pb2.INVOICE, "plan-%d-%d" % (n, i)))

            def lists():
                for typ in (0, resources_pb2.INVOICE):
                    first = lib.list_documents(self.channel, p.name, page_size=4, type=typ)
                    lib.list_documents(self.channel, p.name, page_size=4, type=typ,
                                       page_token=first.next_page_token)
            stmts = [s for s in self.executed(lists) if "document_links" in s and "COUNT(*)" not in s]
            self.assertEqual(len(stmts), 4, stmts)  # all types and one type, first and later page
            self.assertEqual(len([s for s in stmts if "UNION ALL" in s]), 0 if n <= 200 else 2, stmts)
            for s in stmts:
                for r in lib.explain(self.mariadb, self.database, s):
                    ctx = "%s\n  %r" % (s[:300], r)
                    if r["table"].startswith("<"):
                        continue  # the union of each type's newest keys: a page's worth per type
                    self.assertIn(r["key"], ("document_links_by_prospect_type", "PRIMARY"), ctx)
                    self.assertNotIn(r["type"], ("ALL", "index"), ctx)
                    if "type = " in s:
                        self.assertNotIn("filesort", r["Extra"], ctx)  # each type's range in order

    def test_tenant_is_big_enough(self):
        self.assertGreater(self.rows, 3000)

    def test_overview_statements_are_index_backed(self):
        ch, t = self.channel, self.t
        for order in (1, 2):
            for sf in (1, 2, 3):
                for q in ("", "ja", "jansen", "jansen amsterdam", "emma gou", "example.com", "nl00000001"):
                    def run():
                        r = lib.list_page(ch, t, order_by=order, state_filter=sf, query=q, page_size=20)
                        if r.next_page_token:
                            lib.list_page(ch, t, order_by=order, state_filter=sf, query=q, page_size=20,
                                          page_token=r.next_page_token)
                    self.assertIndexBacked(run, "order %d filter %d query %r" % (order, sf, q))

    def test_one_state_pages_are_read_in_index_order(self):
        # The default filter (prospects only) reads its page straight from the driving index and
        # joins each row: no union of state branches and no sort. Both states still need the union
        # (each state's rows are in order, not the two together).
        ch, t = self.channel, self.t
        for order in (1, 2):
            for q in ("", "ja", "example"):  # no word, a short word, a dense long word (its 'exa')
                for sf, union in ((1, False), (2, False), (3, True)):
                    what = "order %d filter %d query %r" % (order, sf, q)
                    pages = []
                    stmts = [s for s in self.executed(lambda: pages.append(lib.list_page(
                        ch, t, order_by=order, state_filter=sf, query=q, page_size=20)))
                        if "FROM prospect" in s and "ROWS EXAMINED" not in s]
                    self.assertEqual(len(stmts), 1, "%s: %s" % (what, stmts))
                    self.assertEqual("UNION ALL" in stmts[0], union, "%s: %s" % (what, stmts[0][:300]))
                    if union:
                        continue
                    for r in lib.explain(self.mariadb, self.database, stmts[0]):
                        self.assertNotIn("filesort", r["Extra"], "%s: %r" % (what, r))
                        self.assertNotIn("temporary", r["Extra"], "%s: %r" % (what, r))
                    if sf == 1:
                        self.assertEqual(len(pages[0].prospects), 20, what)

    def test_a_pair_reads_its_first_page_with_the_records(self):
        # Two words that make a pair term read the pair's first chunk (a page's worth) joined to
        # the records: when that fills the page there is no fetch of ids after it. "piet gouda"
        # (first name and city, 3 of 40 records each way): the pair 'gou pie' holds only matches.
        ch, t = self.channel, self.t
        for order in (1, 2):
            for sf in (1, 3):
                what = "order %d filter %d" % (order, sf)
                pages = []
                stmts = self.executed(lambda: pages.append(lib.list_page(
                    ch, t, order_by=order, state_filter=sf, query="piet gouda", page_size=20)))
                self.assertEqual(len(pages[0].prospects), 20, what)
                self.assertTrue(all(p.first_name == "Piet" and p.address.city == "Gouda"
                                    for p in pages[0].prospects), what)
                pair = [s for s in stmts if "term = 'gou pie'" in s]
                self.assertEqual(len(pair), 1, "%s: %s" % (what, stmts))
                self.assertIn("STRAIGHT_JOIN prospects p", pair[0], what)
                fetches = [s for s in stmts if "FROM prospects FORCE INDEX (PRIMARY)" in s and " id IN (" in s]
                self.assertEqual(fetches, [], what)

    def test_one_long_word_sorts_its_range_or_reads_its_first_characters(self):
        # A long word's records are sorted in one statement, which stops once it has examined 5000
        # rows (search.c, RANGE_EXAMINED_MAX); then its first 3 characters' term is read in index
        # order instead. "example" is every record's e-mail domain (two words each: "example",
        # "examplecom"); "jansen" is a last name of one record in ten.
        ch, t = self.channel, self.t
        jansen = int(self.mariadb.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s' AND state = 1"
                                      " AND last_name = 'Jansen'" % t, self.database)[0][0])
        self.assertGreater(jansen, 50)
        for order in (1, 2):
            pages = []
            stmts = self.executed(lambda: pages.append(lib.list_page(ch, t, order_by=order, query="example",
                                                                     page_size=20)))
            self.assertEqual(len(pages[0].prospects), 20)
            self.assertTrue(all(p.email.endswith("@example.com") for p in pages[0].prospects))
            self.assertEqual([s for s in stmts if "ROWS EXAMINED 5000" in s and "'example%'" in s],
                             [s for s in stmts if "ROWS EXAMINED" in s], "order %d" % order)
            self.assertEqual(len([s for s in stmts if "ROWS EXAMINED" in s]), 1, "order %d" % order)
            exa = [s for s in stmts if "term = 'exa'" in s]
            self.assertEqual(len(exa), 1, "order %d" % order)
            # the whole word is checked on each candidate (one state: one subquery)
            self.assertEqual(exa[0].count("f.term LIKE 'example%'"), 1, exa[0])
            pages = []
            stmts = self.executed(lambda: pages.append(lib.list_page(ch, t, order_by=order, query="jansen",
                                                                     page_size=50)))
            self.assertEqual(len(pages[0].prospects), 50)
            self.assertTrue(all(p.last_name == "Jansen" for p in pages[0].prospects))
            self.assertEqual(len(stmts), 1, stmts)
            self.assertIn("ROWS EXAMINED 5000", stmts[0])
            # one word: no check of further words (a switched-off check still costs a condition
            # per row examined)
            self.assertNotIn("prospect_terms f", stmts[0])

    def test_duplicate_check_is_index_backed(self):
        s = self.sample
        cand = lib.person(first_name=s.first_name, last_name=s.last_name, email=s.email.upper(),
                          vat_number=s.vat_number, phone=s.phone, address=A(country_code="NL"))
        self.assertIndexBacked(lambda: lib.find_duplicates(self.channel, self.t, candidate=cand), "duplicates")

    def test_duplicate_check_reads_the_exact_keys_in_one_statement(self):
        # the e-mail, VAT number and phone are one statement (one round trip), each key a branch on
        # its own index; a key left empty is not compared
        s = self.sample
        for cand, keys in ((lib.person(first_name=s.first_name, last_name=s.last_name, email=s.email,
                                       vat_number=s.vat_number, phone=s.phone, address=A(country_code="NL")),
                            ("SAME_EMAIL", "SAME_VAT_NUMBER", "SAME_PHONE")),
                           (lib.person(first_name="Nobody", last_name="Known", phone=s.phone,
                                       address=A(country_code="NL")), ("SAME_PHONE",))):
            found = []
            stmts = self.executed(lambda: found.append(lib.find_duplicates(self.channel, self.t, candidate=cand)))
            exact = [x for x in stmts if "email_norm = " in x or "vat_norm = " in x or "phone_norm = " in x]
            self.assertEqual(len(exact), 1, exact)
            for index in ("prospects_dup_email", "prospects_dup_vat", "prospects_dup_phone"):
                self.assertIn(index, exact[0])
            # the sample's copies (same keys) are found, each by exactly the keys given
            self.assertTrue(found[0].duplicates, keys)
            for d in found[0].duplicates:
                reasons = {service_pb2.DuplicateReason.Name(r) for r in d.reasons}
                self.assertEqual(reasons & {"SAME_EMAIL", "SAME_VAT_NUMBER", "SAME_PHONE"}, set(keys))
        self.assertIndexBacked(lambda: lib.find_duplicates(self.channel, self.t, prospect=s.name),
                               "duplicates of a record")

    def rows_read(self):
        """Rows InnoDB has handed MariaDB so far (index and table reads; global status of this
        test's private MariaDB, where nothing else runs)."""
        rows = self.mariadb.sql("SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE"
                                " VARIABLE_NAME IN ('HANDLER_READ_NEXT', 'HANDLER_READ_PREV',"
                                " 'HANDLER_READ_RND_NEXT')")
        return int(rows[0][0])

    def test_merge_reads_the_sources_links_not_the_tenants(self):
        # A tenant whose links sit mostly on a few records: one with BIG, two sources with PER
        # each. Left to itself MariaDB moves a source's links by reading all of the tenant's (the
        # primary key's tenant_id prefix); the merge must read the sources' rows only.
        BIG, PER = 6000, 1000
        ch = self.channel
        tenant = lib.new_enabled_tenant(ch)
        big, target, *sources = [lib.create(ch, tenant, lib.company(company_name="Links %d B.V." % i)).name
                                 for i in range(4)]
        for k, (rec, n) in enumerate([(big, BIG)] + [(src, PER) for src in sources]):
            self.mariadb.sql(
                "INSERT INTO document_links (tenant_id, id, prospect_id, type, document_id, number, title,"
                " document_time, party_snapshot, link_time)"
                " SELECT '%s', UNHEX(CONCAT('0190', LPAD(HEX(%d), 8, '0'), LPAD(HEX(seq), 20, '0'))),"
                " UNHEX('%s'), 5, CONCAT('plan-%d-', seq), CONCAT('INV-', seq), 'Invoice', UTC_TIMESTAMP(6),"
                " '', UTC_TIMESTAMP(6) FROM seq_1_to_%d" % (tenant, k, lib.hex_id(rec), k, n), self.database)
        self.mariadb.sql("ANALYZE TABLE document_links", self.database)
        before = self.rows_read()
        lib.merge(ch, target, sources, validate_only=True)
        dry = self.rows_read() - before
        before = self.rows_read()
        lib.merge(ch, target, sources, request_id="merge-rows-read")
        merged = self.rows_read() - before
        moved = len(sources) * PER
        on_target = self.mariadb.sql("SELECT COUNT(*) FROM document_links WHERE tenant_id = '%s' AND"
                                     " prospect_id = UNHEX('%s')" % (tenant, lib.hex_id(target)), self.database)
        self.assertEqual(int(on_target[0][0]), moved)
        print("\nrows read: dry run %d, merge %d (%d links moved; the tenant holds %d)"
              % (dry, merged, moved, moved + BIG))
        # each source's rows are read a few times (list, record, move); the tenant's never
        self.assertLess(dry, moved + BIG // 2)
        self.assertLess(merged, 4 * moved + BIG // 2)


if __name__ == "__main__":
    harness.main()
