"""Unicode text against the real server and MariaDB: every text a caller sends is stored in NFC, so
a name sent composed ("Jérôme", U+00E9) and sent decomposed ("e" + U+0301, as macOS and some browsers
send it) are the same data: stored and returned in NFC, found by the overview query and by
FindDuplicateProspects in either form, the same document id, the same request for idempotency, and
an update that only changes the form changes nothing (same etag). Search words and name keys fold
case in every script, strip accents (Ș, ễ) and spell out the letters that do not decompose (ß, ø,
Ł, æ), so lower-case prefixes find Latin, Greek and Cyrillic names. Each example runs both ways:
the record created from composed and from decomposed input, each found by composed and decomposed
queries. Length limits count the characters of the NFC text."""

import unicodedata

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
R = resources_pb2
S = service_pb2


def nfc(s):
    return unicodedata.normalize("NFC", s)


def nfd(s):
    return unicodedata.normalize("NFD", s)


FORMS = (("composed", nfc), ("decomposed", nfd))


def hex_utf8(s):
    return s.encode("utf-8").hex().upper()


# (first name, last name, queries that must find it besides the name's own words in both forms)
PEOPLE = [
    ("Jérôme", "Dubois", ["jerome", "JÉRÔME", "jer", "dub"]),
    ("Hélène", "Lefèvre", ["helene", "hel", "lefevre", "LEFÈVRE"]),
    ("Ștefan", "Popescu", ["stefan", "ȘTEFAN", "ste", "Stefan"]),  # S with comma below, U+0218
    ("Nguyễn", "Văn An", ["nguyen", "nguy", "NGUYỄN", "van"]),      # e with circumflex and tilde
    ("Søren", "Kierkegaard", ["soren", "SØREN", "sor"]),
    ("Łukasz", "Kowalski", ["lukasz", "łukasz", "ŁUKASZ", "luk"]),
    ("Σωκράτης", "Παπαδόπουλος", ["σωκ", "ΣΩΚ", "σωκρατης", "ΣΩΚΡΑΤΗΣ", "παπαδ"]),
    ("Дмитрий", "Иванов", ["дми", "ДМИ", "дмитрий", "ДМИТРИЙ", "иван"]),
]

# (company name, queries)
COMPANIES = [
    ("Großmann Bäckerei", ["grossmann", "GROSSMANN", "großmann", "gro", "backerei", "bäck"]),
    ("Ærø Bryggeri ApS", ["aero", "ærø", "ÆRØ", "bryggeri"]),
]


class StoredAndFound(lib.ServerTestCase):
    """Every example created composed and decomposed (one tenant each way), then looked up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ch = cls.channel
        cls.tenants = {}
        cls.people = {}     # (form, first) -> Prospect as created
        cls.companies = {}  # (form, company) -> Prospect
        for form, f in FORMS:
            t = cls.tenants[form] = lib.new_enabled_tenant(ch)
            for first, last, _ in PEOPLE:
                cls.people[form, first] = lib.create(ch, t, lib.person(first_name=f(first), last_name=f(last)))
            for name, _ in COMPANIES:
                cls.companies[form, name] = lib.create(ch, t, lib.company(company_name=f(name)))

    def names_found(self, tenant, query):
        return {p.name for p in lib.list_all(self.channel, tenant, query=query)}

    def dups(self, tenant, candidate):
        resp = lib.find_duplicates(self.channel, tenant, candidate=candidate)
        return {d.prospect.name: set(d.reasons) for d in resp.duplicates}

    def row_hex(self, name, column):
        pid = lib.prospect_id(name).replace("-", "")
        r = self.db.sql("SELECT HEX(%s) FROM prospects WHERE id = UNHEX('%s')" % (column, pid),
                        self.database)
        return r[0][0]

    def test_stored_and_returned_in_nfc(self):
        for (form, first), rec in self.people.items():
            last = next(p[1] for p in PEOPLE if p[0] == first)
            with self.subTest(form=form, name=first):
                self.assertEqual(rec.first_name, nfc(first))
                self.assertEqual(rec.last_name, nfc(last))
                self.assertEqual(rec.display_name, nfc(first + " " + last))
                self.assertEqual(lib.get(self.channel, rec.name), rec)
                for column, want in (("first_name", first), ("last_name", last),
                                     ("display_name", first + " " + last)):
                    self.assertEqual(self.row_hex(rec.name, column), hex_utf8(nfc(want)), column)
        for (form, name), rec in self.companies.items():
            with self.subTest(form=form, name=name):
                self.assertEqual(rec.company_name, nfc(name))
                self.assertEqual(self.row_hex(rec.name, "company_name"), hex_utf8(nfc(name)))

    def test_decomposed_helene_is_stored_composed(self):
        """The issue's example: "He\u0301le\u0300ne Lefèvre" sent decomposed comes back in NFC."""
        rec = self.people["decomposed", "Hélène"]
        self.assertEqual(rec.display_name, "H\u00e9l\u00e8ne Lef\u00e8vre")
        self.assertEqual(rec.display_name, nfc("He\u0301le\u0300ne Lefe\u0300vre"))

    def test_people_found_by_every_spelling_of_the_query(self):
        for form, _ in FORMS:
            t = self.tenants[form]
            for first, last, queries in PEOPLE:
                want = self.people[form, first].name
                for q in queries + [nfc(first), nfd(first), nfc(last), nfd(last),
                                    nfd(first + " " + last), nfc(first + " " + last)]:
                    with self.subTest(record=form, name=first, query=q, query_nfd=q == nfd(q) != nfc(q)):
                        self.assertEqual(self.names_found(t, q), {want})

    def test_companies_found_by_every_spelling_of_the_query(self):
        for form, _ in FORMS:
            t = self.tenants[form]
            for name, queries in COMPANIES:
                want = self.companies[form, name].name
                for q in queries + [nfc(name), nfd(name)]:
                    with self.subTest(record=form, name=name, query=q):
                        self.assertEqual(self.names_found(t, q), {want})

    def test_jerome_overview_query_decomposed(self):
        """The issue's example: composed "Jérôme Dubois" found by the query "Je\u0301ro\u0302me"."""
        t = self.tenants["composed"]
        self.assertEqual(self.names_found(t, "Je\u0301ro\u0302me"), {self.people["composed", "Jérôme"].name})
        t = self.tenants["decomposed"]
        self.assertEqual(self.names_found(t, "J\u00e9r\u00f4me"), {self.people["decomposed", "Jérôme"].name})

    def test_duplicates_in_every_form(self):
        for form, _ in FORMS:
            t = self.tenants[form]
            for first, last, _ in PEOPLE:
                want = {self.people[form, first].name: {S.SIMILAR_NAME}}
                for cform, f in FORMS:
                    with self.subTest(record=form, candidate=cform, name=first):
                        self.assertEqual(self.dups(t, lib.person(first_name=f(first), last_name=f(last))), want)
                with self.subTest(record=form, candidate="upper case", name=first):
                    self.assertEqual(self.dups(t, lib.person(first_name=first.upper(), last_name=last.upper())),
                                     want)
            for name, _ in COMPANIES:
                want = {self.companies[form, name].name: {S.SIMILAR_NAME}}
                for cform, f in FORMS:
                    with self.subTest(record=form, candidate=cform, name=name):
                        self.assertEqual(self.dups(t, lib.company(company_name=f(name))), want)

    def test_folded_spellings_are_duplicates(self):
        """Accents, ß and the letters without a decomposition fold to the same name key."""
        t = self.tenants["composed"]
        cases = [(lib.person(first_name="Jerome", last_name="DUBOIS"), ("composed", "Jérôme")),
                 (lib.person(first_name="Stefan", last_name="Popescu"), ("composed", "Ștefan")),
                 (lib.person(first_name="Nguyen", last_name="Van An"), ("composed", "Nguyễn")),
                 (lib.person(first_name="Soren", last_name="Kierkegaard"), ("composed", "Søren")),
                 (lib.person(first_name="Lukasz", last_name="Kowalski"), ("composed", "Łukasz"))]
        for cand, key in cases:
            with self.subTest(candidate=cand.first_name):
                self.assertEqual(self.dups(t, cand), {self.people[key].name: {S.SIMILAR_NAME}})
        self.assertEqual(self.dups(t, lib.company(company_name="GROSSMANN BACKEREI")),
                         {self.companies["composed", "Großmann Bäckerei"].name: {S.SIMILAR_NAME}})
        self.assertEqual(self.dups(t, lib.company(company_name="AERO BRYGGERI APS")),
                         {self.companies["composed", "Ærø Bryggeri ApS"].name: {S.SIMILAR_NAME}})

    def test_existing_record_finds_its_twin_in_the_other_form(self):
        t = lib.new_enabled_tenant(self.channel)
        a = lib.create(self.channel, t, lib.person(first_name=nfc("Jérôme"), last_name="Dubois"))
        b = lib.create(self.channel, t, lib.person(first_name=nfd("Jérôme"), last_name="Dubois"))
        self.assertEqual(lib.find_duplicates(self.channel, t, prospect=a.name).duplicates[0].prospect.name, b.name)
        self.assertEqual(lib.find_duplicates(self.channel, t, prospect=b.name).duplicates[0].prospect.name, a.name)
        self.assertEqual(a.display_name, b.display_name)


class UpdatesAndEtags(lib.ServerTestCase):
    def test_update_that_only_changes_the_form_changes_nothing(self):
        t = lib.new_enabled_tenant(self.channel)
        A = R.Address
        for form, f in FORMS:
            other = nfd if f is nfc else nfc
            rec = lib.create(self.channel, t, lib.person(first_name=f("Jérôme"), last_name=f("Dubois"),
                                                         notes=f("Hélène a appelé"),
                                                         address=A(city=f("Liège"), country_code="BE")))
            for g in (f, other):
                with self.subTest(created=form, sent="same" if g is f else "other form"):
                    sent = lib.person(name=rec.name, etag=rec.etag, first_name=g("Jérôme"), last_name="Dubois",
                                      notes=g("Hélène a appelé"), address=A(city=g("Liège"), country_code="BE"))
                    out = lib.update(self.channel, sent, ["*"])
                    self.assertEqual(out.etag, rec.etag)
                    self.assertEqual(out.update_time, rec.update_time)
                    self.assertEqual(out, rec)
                    self.assertEqual(lib.get(self.channel, rec.name), rec)
            # a real change still makes a new version, and its etag is then current
            out = lib.update(self.channel, R.Prospect(name=rec.name, etag=rec.etag, notes=f("Hélène a rappelé")),
                             ["notes"])
            self.assertNotEqual(out.etag, rec.etag)
            self.assertEqual(out.notes, nfc("Hélène a rappelé"))
            again = lib.update(self.channel, R.Prospect(name=rec.name, etag=out.etag, notes=other("Hélène a rappelé")),
                               ["notes"])
            self.assertEqual(again.etag, out.etag)
            # a stale etag is still refused, even when nothing would change
            self.assertRpcError(lambda: lib.update(self.channel, R.Prospect(name=rec.name, etag=rec.etag,
                                                                            notes=other("Hélène a rappelé")),
                                                   ["notes"]), Code.ABORTED, "ETAG_MISMATCH")

    def test_two_records_written_in_either_form_get_the_same_etag_and_data(self):
        t = lib.new_enabled_tenant(self.channel)
        a = lib.create(self.channel, t, lib.person(first_name=nfc("Hélène"), last_name="Lefèvre"))
        b = lib.create(self.channel, t, lib.person(first_name=nfd("Hélène"), last_name=nfd("Lefèvre")))
        ua = lib.update(self.channel, R.Prospect(name=a.name, last_name=nfd("Lefèvre-Dubois")), ["last_name"])
        ub = lib.update(self.channel, R.Prospect(name=b.name, last_name=nfc("Lefèvre-Dubois")), ["last_name"])
        self.assertEqual(ua.etag, ub.etag)
        self.assertEqual((ua.first_name, ua.last_name, ua.display_name),
                         (ub.first_name, ub.last_name, ub.display_name))
        self.assertEqual(ua.last_name, nfc("Lefèvre-Dubois"))

    def test_contact_person_update_in_the_other_form_changes_nothing(self):
        t = lib.new_enabled_tenant(self.channel)
        co = lib.create(self.channel, t, lib.company(company_name="Brasserie de Liège"))
        for form, f in FORMS:
            other = nfd if f is nfc else nfc
            cp = lib.create_contact(self.channel, co.name, R.ContactPerson(first_name=f("Zoë"), last_name=f("Müller"),
                                                                          role=f("Gérante")))
            self.assertEqual((cp.first_name, cp.last_name, cp.role), (nfc("Zoë"), nfc("Müller"), nfc("Gérante")))
            with self.subTest(created=form):
                out = lib.update_contact(self.channel, R.ContactPerson(
                    name=cp.name, etag=cp.etag, first_name=other("Zoë"), last_name=other("Müller"),
                    role=other("Gérante")), ["*"])
                self.assertEqual(out.etag, cp.etag)
                self.assertEqual(out, cp)
                out = lib.update_contact(self.channel, R.ContactPerson(name=cp.name, role=other("Gérant")),
                                         ["role"])
                self.assertNotEqual(out.etag, cp.etag)
                self.assertEqual(out.role, nfc("Gérant"))


class OtherFields(lib.ServerTestCase):
    def test_document_link_and_snapshot(self):
        """document_id, number, title and the party snapshot: NFC, and one link for both forms."""
        t = lib.new_enabled_tenant(self.channel)
        rec = lib.create(self.channel, t, lib.person(first_name="Jérôme", last_name="Dubois"))
        snap = R.PartySnapshot(display_name=nfd("Jérôme Dubois"), first_name=nfd("Jérôme"), last_name="Dubois",
                               address=R.Address(city=nfd("Liège")))
        doc = lib.link_document(self.channel, rec.name, lib.document(
            document_id=nfd("devis-é-1"), number=nfd("Q-é-1"), title=nfd("Chaises pour Hélène"),
            party_snapshot=snap))
        self.assertEqual((doc.document_id, doc.number, doc.title),
                         (nfc("devis-é-1"), nfc("Q-é-1"), nfc("Chaises pour Hélène")))
        self.assertEqual((doc.party_snapshot.display_name, doc.party_snapshot.first_name,
                          doc.party_snapshot.address.city), (nfc("Jérôme Dubois"), nfc("Jérôme"), nfc("Liège")))
        # the composed id is the same document: looked up, and linked again idempotently
        self.assertEqual(lib.lookup_document(self.channel, t, R.QUOTE, nfc("devis-é-1")), doc)
        self.assertEqual(lib.lookup_document(self.channel, t, R.QUOTE, nfd("devis-é-1")), doc)
        again = lib.link_document(self.channel, rec.name, lib.document(document_id=nfc("devis-é-1")))
        self.assertEqual(again, doc)
        self.assertEqual(lib.count_rows(self.db, self.database, "document_links", t), 1)

    def test_intake_stores_nfc_and_hints_the_duplicate(self):
        t = lib.new_enabled_tenant(self.channel)
        lib.enable_quote_requests(self.channel, t)
        # the intake's hint matches e-mail, VAT number and phone (not names): an e-mail with accents
        first = lib.create(self.channel, t, lib.person(first_name="H", email=nfc("Hélène@exemple.be")))
        r = lib.intake(self.channel, t, "in-nfc-1", R.Document(document_id="qr-1", title=nfd("Hélène")),
                       new_prospect=lib.person(first_name=nfd("Hélène"), last_name=nfd("Lefèvre"),
                                               email=nfd("hélène@Exemple.be")))
        self.assertTrue(r.created)
        self.assertEqual(r.prospect.display_name, nfc("Hélène Lefèvre"))
        self.assertEqual(r.document.title, nfc("Hélène"))
        self.assertEqual(r.document.party_snapshot.display_name, nfc("Hélène Lefèvre"))
        self.assertEqual({d.prospect.name: list(d.reasons) for d in r.possible_duplicates},
                         {first.name: [S.SAME_EMAIL]})
        self.assertEqual(r.prospect.email, nfc("hélène@Exemple.be"))

    def test_retry_in_the_other_form_is_the_same_request(self):
        t = lib.new_enabled_tenant(self.channel)
        a = lib.create(self.channel, t, lib.person(first_name=nfc("Jérôme"), last_name="Dubois"), request_id="nfc-1")
        b = lib.create(self.channel, t, lib.person(first_name=nfd("Jérôme"), last_name="Dubois"), request_id="nfc-1")
        self.assertEqual(a, b)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", t), 1)

    def test_length_limits_count_nfc_characters(self):
        """first_name takes at most 100 characters: 100 decomposed letters (200 code points as sent)
        are 100 characters once in NFC, and 101 are refused naming the field."""
        t = lib.new_enabled_tenant(self.channel)
        rec = lib.create(self.channel, t, lib.person(first_name=nfd("é" * 100)))
        self.assertEqual(rec.first_name, "\u00e9" * 100)
        self.assertRpcError(lambda: lib.create(self.channel, t, lib.person(first_name=nfd("é" * 101))),
                            Code.INVALID_ARGUMENT, "INVALID_FIELD", "prospect.first_name")

    def test_query_in_nfc_names_the_same_page_token(self):
        """A page token is bound to its query: the composed and decomposed query are one query."""
        t = lib.new_enabled_tenant(self.channel)
        for i in range(3):
            lib.create(self.channel, t, lib.person(first_name="Jérôme", last_name="Dubois %d" % i))
        page = lib.list_page(self.channel, t, query=nfc("Jérôme"), page_size=2)
        self.assertEqual(len(page.prospects), 2)
        rest = lib.list_page(self.channel, t, query=nfd("Jérôme"), page_size=2, page_token=page.next_page_token)
        self.assertEqual(len(rest.prospects), 1)
        self.assertEqual(rest.next_page_token, "")


if __name__ == "__main__":
    harness.main()
