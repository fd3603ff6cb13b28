"""ListProspects with several query words (S1, S11): the words' postings are intersected
(server/store/search.c, "several words"). Two common words whose combination is rare, on a tenant
big enough for every way the intersection reads: more than ISECT_SET_ROWS (2048) index rows per
common word, so that a long word is read through its first characters and checked whole; a rare
long word behind a common 3-character prefix ("sophienburg" behind "sop"), which drives by its own
records; a rare word next to a common one, which is looked up per candidate instead of read; short
words (exact terms); chunks over several rounds, both states, names shared by many records. Every
page is compared with what the rule says (every query word starts a word of the record), computed
here from the records themselves, in both orders, every state filter and several page sizes with
page tokens. Also: records that stop or start matching after an update or a state change, and
index rows that no longer agree with their record (a stale row hides a record, never shows a
wrong one)."""

import unittest

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

A = resources_pb2.Address
PROSPECTS_ONLY, CUSTOMERS_ONLY, ALL_STATES = 1, 2, 3
NEWEST, BY_NAME = 1, 2
STATES = {PROSPECTS_ONLY: {1}, CUSTOMERS_ONLY: {2}, ALL_STATES: {1, 2}}
LAST = ["Bakker", "Visser", "Smit", "Mulder", "Bos"]
COPIES = 110  # clones of each common record: > 2048 index rows for "amsterdam" and "sophie"


def uuid(hex_id):
    h = hex_id.lower()
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def make_customer(db, database, tenant, name, tables=("prospects", "prospect_terms")):
    """Conversion is another issue's call: flip the state in SQL (both tables: the index agrees)."""
    for table in tables:
        db.sql("UPDATE %s SET state = 2 WHERE tenant_id = '%s' AND id = UNHEX('%s')"
               % (table, tenant, lib.hex_id(name)), database)


class Intersection(lib.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ch = cls.channel
        t = cls.tenant = lib.new_enabled_tenant(ch)
        n = [0]

        def add(first, last, city):
            n[0] += 1
            return lib.create(ch, t, lib.person(first_name=first, last_name=last, email="p%d@example.com" % n[0],
                                                address=A(city=city, country_code="NL")))

        common, rare = [], []
        # a rare long word behind a common 3-character prefix ("sop"): the oldest records, and last
        # by name, so that the first rounds, read through "sop", do not reach them
        rare += [add("Wim", "Sophienburg", "Amsterdam"), add("Yara", "Sophienburg", "Utrecht")]
        # the matches of "amsterdam sophie", created between the others so that they spread over
        # the id order; two of them customers
        for i in range(20):
            common.append(add(["Jan", "Piet", "Daan", "Emma"][i % 4], LAST[i % 5], "Amsterdam"))
            common.append(add("Sophie", LAST[(i + 2) % 5], ["Gouda", "Delft", "Breda", "Leiden"][i % 4]))
            if i % 3 == 0:
                rare.append(add("Sophie", LAST[i % 5], "Amsterdam"))
            if i % 2 == 0:  # short words: "ede eva"
                common.append(add(["Jan", "Piet", "Emma"][i % 3], LAST[i % 5], "Ede"))
                common.append(add("Eva", LAST[(i + 1) % 5], ["Gouda", "Delft"][i % 2]))
            if i % 4 == 1:
                rare.append(add("Eva", LAST[i % 5], "Ede"))
        # words that share the first 3 characters of a query word but do not start with it: read
        # with "ams" and "sop", dropped by the check of the whole word
        for i in range(4):
            common.append(add("Sophie", LAST[i], "Amstelveen"))
            common.append(add("Sophia", LAST[i], "Amsterdam"))
        # a rare long word behind a rare prefix
        rare += [add("Sophie", "Zwanenburg", "Amsterdam"), add("Piet", "Zwanenburg", "Amsterdam"),
                 add("Daan", "Zwanenburg", "Gouda")]
        make_customer(cls.db, cls.database, t, rare[2].name)
        make_customer(cls.db, cls.database, t, rare[-2].name)
        make_customer(cls.db, cls.database, t, common[3].name)
        make_customer(cls.db, cls.database, t, common[10].name)
        # clone the common records (with the word index rows the server wrote) to thousands
        keep = ",".join("UNHEX('%s')" % lib.hex_id(p.name) for p in common)
        newid = "CONCAT(LEFT(id, 12), UNHEX(LPAD(HEX(k.seq), 8, '0')))"
        sql = lambda s: cls.db.sql(s, cls.database)  # noqa: E731
        sql("INSERT INTO prospects SELECT tenant_id, %s, kind, state, display_name, first_name, last_name,"
            " company_name, vat_number, email, phone, website, street, postal_code, city, country_code, language,"
            " notes, email_norm, vat_norm, phone_norm, name_key, version, create_time, update_time, convert_time,"
            " converting_invoice, norm_version FROM prospects, seq_1_to_%d k WHERE tenant_id = '%s' AND id IN (%s)"
            % (newid, COPIES, t, keep))
        sql("INSERT INTO prospect_terms SELECT tenant_id, term, state, %s, display_name"
            " FROM prospect_terms, seq_1_to_%d k WHERE tenant_id = '%s' AND id IN (%s)"
            % (newid, COPIES, t, keep))
        sql("ANALYZE TABLE prospects, prospect_terms")
        cls.rare = rare

    def expected(self, query, order, state_filter, tenant=None):
        """The names the rule gives, in the order asked, from the records themselves."""
        tenant = tenant or self.tenant
        rows = self.db.sql("SELECT HEX(id), state, first_name, last_name, city FROM prospects"
                           " WHERE tenant_id = '%s' ORDER BY display_name, id" % tenant, self.database)
        words = query.lower().split()
        out = []
        for h, state, first, last, city in rows:
            mine = " ".join((first, last, city)).lower().split()
            if int(state) in STATES[state_filter] and all(any(m.startswith(w) for m in mine) for w in words):
                out.append(h)
        if order == NEWEST:
            out.sort(reverse=True)
        return ["tenants/%s/prospects/%s" % (tenant, uuid(h)) for h in out]

    def listed(self, query, order, state_filter, page_size, tenant=None):
        got = lib.list_all(self.channel, tenant or self.tenant, page_size=page_size, query=query,
                           order_by=order, state_filter=state_filter)
        return [p.name for p in got]

    def assertListing(self, query, orders=(NEWEST, BY_NAME), filters=(PROSPECTS_ONLY, CUSTOMERS_ONLY, ALL_STATES),
                      page_sizes=(1, 3, 50), tenant=None):
        for order in orders:
            for sf in filters:
                want = self.expected(query, order, sf, tenant)
                for ps in page_sizes:
                    self.assertEqual(self.listed(query, order, sf, ps, tenant), want,
                                     "query %r order %d filter %d page size %d" % (query, order, sf, ps))

    def test_data_is_big_enough(self):
        for word in ("amsterdam", "sophie"):
            n = self.db.sql("SELECT COUNT(*) FROM prospect_terms WHERE tenant_id = '%s' AND term LIKE '%s%%'"
                            % (self.tenant, word), self.database)[0][0]
            self.assertGreater(int(n), 2048, word)  # read through "ams", "sop" (ISECT_SET_ROWS)
        self.assertEqual(len(self.expected("amsterdam sophie", NEWEST, ALL_STATES)), 9)

    def test_one_long_word_either_way(self):
        # One long word: its whole words' range sorted, unless that statement stops at 5000 rows
        # examined (its index rows, then the distinct records): then its first characters' term in
        # index order, the word checked on each record (search.c, list_one). "amsterdam" has about
        # 2,700 records, nearly all prospects: listing the prospects stops and goes the other way,
        # listing the customers does not. Rare words: "sophienburg", "zwanenburg".
        self.assertListing("amsterdam", page_sizes=(50,))
        self.assertListing("sophienburg")
        self.assertListing("zwanenburg")

    def test_two_common_long_words_rare_together(self):
        self.assertListing("amsterdam sophie")
        self.assertListing("sophie amsterdam", filters=(ALL_STATES,))

    def test_first_characters_are_not_the_word(self):
        self.assertEqual(len(self.expected("ams sop", NEWEST, ALL_STATES)),
                         len(self.expected("amsterdam sophie", NEWEST, ALL_STATES)) + 8 * (COPIES + 1))
        self.assertListing("amsterdam sophie", filters=(ALL_STATES,), page_sizes=(2,))
        self.assertListing("amstel sophie", filters=(ALL_STATES,), page_sizes=(50,))
        self.assertListing("amsterdam sophia", orders=(BY_NAME,), filters=(ALL_STATES,), page_sizes=(50,))

    def test_words_given_as_prefixes(self):
        self.assertListing("amst soph", filters=(PROSPECTS_ONLY, ALL_STATES), page_sizes=(50,))
        self.assertListing("amsterd sophi", filters=(ALL_STATES,), page_sizes=(7, 50))
        self.assertListing("ams sop", filters=(PROSPECTS_ONLY,), page_sizes=(50,))  # exact terms

    def test_two_common_short_words_rare_together(self):
        self.assertListing("ede eva")

    def test_common_combination_pages_completely(self):
        # ~550 records: the first chunk fills the page; every page after it continues right
        self.assertGreater(len(self.expected("amsterdam jan", NEWEST, PROSPECTS_ONLY)), 500)
        self.assertListing("amsterdam jan", filters=(PROSPECTS_ONLY, ALL_STATES), page_sizes=(50, 1000))
        self.assertListing("jan ams", filters=(ALL_STATES,), page_sizes=(7,))

    def test_rare_long_word_behind_a_common_prefix(self):
        self.assertListing("amsterdam sophienburg")
        self.assertListing("sophienburg ams")  # a short word (an exact term) next to it
        self.assertListing("sophienburg", filters=(ALL_STATES,))

    def test_rare_word_next_to_a_common_one(self):
        self.assertListing("amsterdam zwanenburg")
        self.assertListing("zwanenburg ams")  # only the lookup of "ams" drops the one in Gouda
        self.assertListing("zwanenburg sophie amsterdam", filters=(ALL_STATES,))

    def test_no_match(self):
        for q in ("amsterdam zzz", "amsterdam sophie qqqqq", "ede sophie"):
            for order in (NEWEST, BY_NAME):
                self.assertEqual(self.listed(q, order, ALL_STATES, 50), [], q)

    def test_record_that_stops_or_starts_matching(self):
        """Updates rewrite the record's index rows: the listing follows at once."""
        t = self.tenant
        match = lib.create(self.channel, t, lib.person(first_name="Sophie", last_name="Kramer",
                                                       address=A(city="Amsterdam", country_code="NL")))
        other = lib.create(self.channel, t, lib.person(first_name="Emma", last_name="Kramer",
                                                       address=A(city="Amsterdam", country_code="NL")))
        self.assertIn(match.name, self.listed("amsterdam sophie", NEWEST, PROSPECTS_ONLY, 50))
        self.assertNotIn(other.name, self.listed("amsterdam sophie", NEWEST, PROSPECTS_ONLY, 50))
        lib.update(self.channel, resources_pb2.Prospect(name=match.name, address=A(city="Rotterdam",
                                                                                    country_code="NL")),
                   ["address.city"])
        lib.update(self.channel, resources_pb2.Prospect(name=other.name, first_name="Sophie"), ["first_name"])
        for order in (NEWEST, BY_NAME):
            got = self.listed("amsterdam sophie", order, PROSPECTS_ONLY, 2)
            self.assertNotIn(match.name, got)
            self.assertIn(other.name, got)
            self.assertEqual(got, self.expected("amsterdam sophie", order, PROSPECTS_ONLY))
        lib.delete(self.channel, other.name)
        self.assertNotIn(other.name, self.listed("amsterdam sophie", NEWEST, ALL_STATES, 50))
        self.assertListing("amsterdam sophie", page_sizes=(2,))

    def test_state_change_moves_a_record_between_filters(self):
        p = lib.create(self.channel, self.tenant, lib.person(first_name="Sophie", last_name="Dekker",
                                                             address=A(city="Amsterdam", country_code="NL")))
        self.assertIn(p.name, self.listed("amsterdam sophie", BY_NAME, PROSPECTS_ONLY, 50))
        make_customer(self.db, self.database, self.tenant, p.name)
        self.assertNotIn(p.name, self.listed("amsterdam sophie", BY_NAME, PROSPECTS_ONLY, 50))
        self.assertIn(p.name, self.listed("amsterdam sophie", BY_NAME, CUSTOMERS_ONLY, 50))
        self.assertListing("amsterdam sophie", page_sizes=(3,))


class Pairs(lib.ServerTestCase):
    """Two words of 3 characters or more drive by their pair term (store/search.h, "Pairs"): a record
    with too many words has PS_SEARCH_PAIRS_NONE instead and is found all the same."""

    def terms(self, name):
        return {bytes.fromhex(h).decode() for (h,) in self.db.sql(
            "SELECT HEX(term) FROM prospect_terms WHERE tenant_id = '%s' AND id = UNHEX('%s')"
            % (self.t, lib.hex_id(name)), self.database)}

    def listed(self, query, order=NEWEST, page_size=50):
        return [p.name for p in lib.list_all(self.channel, self.t, page_size=page_size, query=query,
                                             order_by=order, state_filter=ALL_STATES)]

    def test_pair_terms_drive_two_words(self):
        ch = self.channel
        t = self.t = lib.new_enabled_tenant(ch)
        mk = lambda first, last, city: lib.create(ch, t, lib.person(  # noqa: E731
            first_name=first, last_name=last, address=A(city=city, country_code="NL")))
        plain = [mk("Sophie", "Dekker", "Amsterdam") for _ in range(3)]
        # 17 different first 3 characters (sop, ams and 15 more): no pairs, the marker instead
        many = mk("Sophie", " ".join("K%sq" % chr(ord("a") + i) for i in range(15)), "Amsterdam")
        # read through the marker too, but without "amsterdam": its words are looked up, and it is not
        # listed
        many_elsewhere = mk("Sophie", " ".join("K%sq" % chr(ord("a") + i) for i in range(15)), "Gouda")
        for _ in range(4):
            mk("Sophie", "Dekker", "Gouda")
        # "amsterdam" common enough not to drive by its own records (ISECT_RARE_ROWS)
        for _ in range(70):
            mk("Jan", "Dekker", "Amsterdam")
        self.assertIn("ams sop", self.terms(plain[0].name))
        self.assertIn("dek sop", self.terms(plain[0].name))
        self.assertNotIn("~ ~", self.terms(plain[0].name))
        self.assertIn("~ ~", self.terms(many.name))
        self.assertEqual([x for x in self.terms(many.name) if " " in x], ["~ ~"])
        self.assertIn("~ ~", self.terms(many_elsewhere.name))
        want = [p.name for p in reversed(plain + [many])]
        for q in ("amsterdam sophie", "sophie amsterdam", "ams sop", "amst sophi"):
            self.assertEqual(self.listed(q), want, q)
            self.assertEqual(self.listed(q, page_size=1), want, q)
            self.assertEqual(sorted(self.listed(q, BY_NAME)), sorted(want), q)
        self.assertEqual(self.listed("amsterdam sophie kaq"), [many.name])
        self.assertEqual(self.listed("sophie kaq"), [many_elsewhere.name, many.name])
        self.assertEqual(self.listed("gouda kbq"), [many_elsewhere.name])
        # the pair drives: without its pair row a record drops out of the two-word listing (a
        # stale row hides a record), while each word alone still finds it
        self.db.sql("DELETE FROM prospect_terms WHERE tenant_id = '%s' AND id = UNHEX('%s') AND term = 'ams sop'"
                    % (t, lib.hex_id(plain[1].name)), self.database)
        for order in (NEWEST, BY_NAME):
            self.assertNotIn(plain[1].name, self.listed("amsterdam sophie", order))
            self.assertIn(plain[1].name, self.listed("amsterdam", order))
            self.assertIn(plain[1].name, self.listed("sophie", order))
            # another pair of the same record ("dek sop") drives this query: found
            self.assertIn(plain[1].name, self.listed("sophie dekker", order))
        # words whose first 3 characters hold a digit make no pairs (a VAT number): such a query
        # is not driven by a pair, and finds the record
        vat = lib.create(ch, t, lib.person(first_name="Sophie", last_name="Btw", vat_number="NL000099998B01",
                                           address=A(city="Amsterdam", country_code="NL")))
        self.assertFalse([x for x in self.terms(vat.name) if " " in x and ("nl0" in x or "000" in x)])
        for q in ("sophie nl000099998", "000099998 amsterdam", "nl000099998b01 ams"):
            self.assertEqual(self.listed(q), [vat.name], q)
        # an update rewrites the record's rows, pair included
        lib.update(ch, resources_pb2.Prospect(name=plain[1].name, notes="again"), ["notes"])
        self.assertEqual(self.listed("amsterdam sophie"), [vat.name] + want)


class StaleIndexRows(lib.ServerTestCase):
    """Index rows that disagree with their record (code that changed a record without
    ps_store_search_reindex, or a crash of such code): the record is hidden, never shown wrong."""

    def test_stale_rows_hide_never_show(self):
        ch = self.channel
        t = lib.new_enabled_tenant(ch)
        mk = lambda first, city: lib.create(ch, t, lib.person(  # noqa: E731
            first_name=first, last_name="Stale", address=A(city=city, country_code="NL")))
        kept, flipped, gone = mk("Sophie", "Amsterdam"), mk("Sophie", "Amsterdam"), mk("Sophie", "Amsterdam")
        for _ in range(5):
            mk("Sophie", "Gouda")
            mk("Jan", "Amsterdam")
        # the record became a customer, its index rows still say prospect
        make_customer(self.db, self.database, t, flipped.name, tables=("prospects",))
        # the record is gone, its index rows are not
        self.db.sql("DELETE FROM prospects WHERE tenant_id = '%s' AND id = UNHEX('%s')"
                    % (t, lib.hex_id(gone.name)), self.database)
        # same display name: by name in id order, i.e. creation order, newest first the reverse
        both = {NEWEST: [flipped.name, kept.name], BY_NAME: [kept.name, flipped.name]}
        for order in (NEWEST, BY_NAME):
            for ps in (1, 50):
                def got(sf):
                    return [p.name for p in lib.list_all(ch, t, page_size=ps, query="amsterdam sophie",
                                                         order_by=order, state_filter=sf)]
                self.assertEqual(got(PROSPECTS_ONLY), [kept.name])  # the record says customer: hidden
                self.assertEqual(got(CUSTOMERS_ONLY), [])  # the index says prospect: hidden
                self.assertEqual(got(ALL_STATES), both[order])  # shown, as the customer it is


if __name__ == "__main__":
    harness.main()
