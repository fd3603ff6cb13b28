"""BatchCreateProspects (issue 16, bulk import) against the real server and MariaDB: per-row
results for mixed good, bad and duplicate rows with exactly the good rows in the database;
skip_duplicates against existing records and earlier rows of the request; contact persons (and
refused on a PERSON); a retried request id creates nothing twice; the apps gate; the limits
(rows, contact persons, bytes); 10,000-character notes; nothing written when the database fails
in the middle of the call."""

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
R = resources_pb2
S = service_pb2
O = S.ProspectImportResult
CP = R.ContactPerson


def batch(channel, tenant, rows, request_id="", skip_duplicates=False, min_score=0.0, timeout=30):
    req = S.BatchCreateProspectsRequest(parent="tenants/%s" % tenant, request_id=request_id,
                                        skip_duplicates=skip_duplicates,
                                        duplicate_min_score=min_score)
    for r in rows:
        if isinstance(r, tuple):
            req.prospects.add(prospect=r[0], contact_persons=r[1])
        else:
            req.prospects.add(prospect=r)
    return harness.call(channel, lib.method("BatchCreateProspects"), req,
                        S.BatchCreateProspectsResponse, timeout=timeout)


class Import(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)

    def names_in_db(self):
        rows = self.db.sql("SELECT display_name FROM prospects WHERE tenant_id = '%s'" % self.t,
                           self.database)
        return sorted(r[0] for r in rows)

    def test_mixed_rows_get_their_own_results(self):
        rows = [lib.person(first_name="Jan", last_name="Peeters", email="jan@peeters.be"),
                lib.person(first_name="Bad", email="not-an-address"),
                lib.company(company_name="Bakkerij Smits", vat_number="BE0123456789"),
                R.Prospect(first_name="No kind"),
                lib.company(company_name=""),
                lib.person(first_name="Éloïse", last_name="Dubœuf", address=R.Address(city="Liège"))]
        r = batch(self.channel, self.t, rows)
        self.assertEqual([x.index for x in r.results], list(range(6)))
        self.assertEqual([x.outcome for x in r.results],
                         [O.CREATED, O.REFUSED, O.CREATED, O.REFUSED, O.REFUSED, O.CREATED])
        self.assertEqual((r.created_count, r.skipped_count, r.refused_count), (3, 0, 3))
        bad = r.results[1]
        self.assertEqual((bad.error_reason, bad.error_field, bad.error_code),
                         ("INVALID_FIELD", "prospect.email", Code.INVALID_ARGUMENT.value[0]))
        self.assertIn("e-mail", bad.error_message)
        self.assertEqual(r.results[3].error_field, "prospect.kind")
        self.assertEqual(r.results[4].error_field, "prospect.company_name")
        # the same rule as CreateProspect
        self.assertRpcError(lambda: lib.create(self.channel, self.t, rows[1]), Code.INVALID_ARGUMENT,
                            field="prospect.email")
        self.assertEqual(self.names_in_db(), sorted(["Jan Peeters", "Bakkerij Smits", "Éloïse Dubœuf"]))
        for x in r.results:
            if x.outcome == O.CREATED:
                got = lib.get(self.channel, x.prospect)
                self.assertEqual(got.name, x.prospect)
        # written like CreateProspect: the duplicate keys find them at once, the overview's word
        # index once the indexer has reached them (test_import_index.py)
        dup = lib.find_duplicates(self.channel, self.t, candidate=lib.person(email="JAN@peeters.be"))
        self.assertEqual([d.prospect.name for d in dup.duplicates], [r.results[0].prospect])
        lib.wait_for(lambda: [p.display_name for p in lib.list_page(self.channel, self.t,
                                                                    query="liège").prospects]
                     == ["Éloïse Dubœuf"], 10, 0.05, "the word index")
        self.assertEqual(lib.count_rows(self.db, self.database, "idempotency_keys", self.t), 0)

    def test_skip_duplicates_existing_and_within_the_request(self):
        old = lib.create(self.channel, self.t, lib.person(first_name="Piet", last_name="Jansen",
                                                          email="piet@jansen.nl"))
        rows = [lib.person(first_name="P.", last_name="Other", email="PIET@jansen.nl"),  # same e-mail
                lib.company(company_name="De Klok B.V.", phone="+32 2 123 45 67"),
                lib.company(company_name="De Klok NV"),                                 # same name key
                lib.person(first_name="Anna", last_name="Vos"),
                lib.person(first_name="Piet", last_name="Jansen")]                      # name of old
        r = batch(self.channel, self.t, rows, skip_duplicates=True)
        out = [x.outcome for x in r.results]
        self.assertEqual(out, [O.SKIPPED_DUPLICATE, O.CREATED, O.SKIPPED_DUPLICATE, O.CREATED,
                               O.SKIPPED_DUPLICATE])
        self.assertEqual(r.results[0].duplicate_of, old.name)
        self.assertEqual(r.results[0].duplicate_score, 1.0)
        self.assertEqual(r.results[2].duplicate_of, r.results[1].prospect)
        self.assertEqual(r.results[4].duplicate_of, old.name)
        self.assertEqual((r.created_count, r.skipped_count, r.refused_count), (2, 3, 0))
        self.assertEqual(self.names_in_db(), ["Anna Vos", "De Klok B.V.", "Piet Jansen"])
        # a lower threshold also skips near names; without skip_duplicates all go in
        r = batch(self.channel, self.t, [lib.person(first_name="Piet", last_name="Janssen")],
                  skip_duplicates=True, min_score=0.8)
        self.assertEqual(r.results[0].outcome, O.SKIPPED_DUPLICATE)
        self.assertGreaterEqual(r.results[0].duplicate_score, 0.8)
        self.assertLess(r.results[0].duplicate_score, 1.0)
        r = batch(self.channel, self.t, [lib.person(first_name="Piet", last_name="Janssen")],
                  skip_duplicates=True)
        self.assertEqual(r.results[0].outcome, O.CREATED)
        r = batch(self.channel, self.t, [lib.person(first_name="Piet", last_name="Jansen")])
        self.assertEqual(r.results[0].outcome, O.CREATED)
        self.assertEqual(len(self.names_in_db()), 5)

    def test_contact_persons(self):
        rows = [(lib.company(company_name="Brouwerij Het Anker"),
                 [CP(first_name="Kees", last_name="Boer", role="Inkoper"), CP(last_name="Ünal", email="u@anker.be")]),
                (lib.person(first_name="Solo"), [CP(first_name="X")]),
                (lib.company(company_name="Ok"), [CP(first_name="A"), CP(email="nobody@x.nl")]),
                (lib.company(company_name="Many"), [CP(first_name="C%d" % i) for i in range(50)])]
        r = batch(self.channel, self.t, rows)
        self.assertEqual([x.outcome for x in r.results], [O.CREATED, O.REFUSED, O.REFUSED, O.CREATED])
        self.assertEqual(len(r.results[0].contact_persons), 2)
        self.assertEqual((r.results[1].error_reason, r.results[1].error_code, r.results[1].error_field),
                         ("NOT_A_COMPANY", Code.FAILED_PRECONDITION.value[0], "contact_persons"))
        self.assertEqual(r.results[2].error_field, "contact_persons[1].last_name")
        cps = lib.list_contacts(self.channel, r.results[0].prospect).contact_persons
        self.assertEqual([(c.name, c.first_name, c.last_name, c.role) for c in cps],
                         [(r.results[0].contact_persons[0], "Kees", "Boer", "Inkoper"),
                          (r.results[0].contact_persons[1], "", "Ünal", "")])
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", self.t), 52)
        self.assertEqual(self.names_in_db(), ["Brouwerij Het Anker", "Many"])

    def test_retry_with_the_same_request_id(self):
        rows = [lib.person(first_name="Once", last_name="", email="once@x.nl"),
                lib.person(first_name="Bad", phone="abc"),
                (lib.company(company_name="Twice BV"), [CP(first_name="Eén")])]
        a = batch(self.channel, self.t, rows, request_id="imp-1:0")
        b = batch(self.channel, self.t, rows, request_id="imp-1:0")
        self.assertEqual(a, b)
        self.assertEqual(a.created_count, 2)
        self.assertEqual(self.names_in_db(), ["Once", "Twice BV"])
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", self.t), 1)
        self.assertRpcError(lambda: batch(self.channel, self.t, rows[:2], request_id="imp-1:0"),
                            Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
        self.assertEqual(len(self.names_in_db()), 2)
        # another id: created again
        c = batch(self.channel, self.t, rows, request_id="imp-1:1")
        self.assertEqual(c.created_count, 2)
        self.assertEqual(len(self.names_in_db()), 4)

    def test_apps_gate(self):
        off = harness.new_tenant("off")
        e = self.assertRpcError(lambda: batch(self.channel, off, [lib.person()]),
                                Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
        e2 = self.assertRpcError(lambda: lib.create(self.channel, off, lib.person()),
                                 Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
        self.assertEqual(e.details(), e2.details())
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", off), 0)

    def test_call_level_checks(self):
        self.assertRpcError(lambda: batch(self.channel, self.t, []), Code.INVALID_ARGUMENT, field="prospects")
        self.assertRpcError(lambda: batch(self.channel, "Bad Tenant!", [lib.person()]),
                            Code.INVALID_ARGUMENT, field="parent")
        for bad in (0.3, 1.5, float("nan"), -1):
            self.assertRpcError(lambda: batch(self.channel, self.t, [lib.person()], min_score=bad),
                                Code.INVALID_ARGUMENT, field="duplicate_min_score")
        self.assertRpcError(lambda: batch(self.channel, self.t, [lib.person()], request_id="bad id"),
                            Code.INVALID_ARGUMENT, field="request_id")
        self.assertEqual(self.names_in_db(), [])

    def test_limits(self):
        rows = [lib.person(first_name="P%d" % i) for i in range(501)]
        self.assertRpcError(lambda: batch(self.channel, self.t, rows), Code.INVALID_ARGUMENT,
                            reason="TOO_MANY_ROWS")
        r = batch(self.channel, self.t, rows[:500])
        self.assertEqual(r.created_count, 500)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", self.t), 500)
        many = [(lib.company(company_name="Big"), [CP(first_name="C%d" % i) for i in range(51)])]
        self.assertRpcError(lambda: batch(self.channel, self.t, many), Code.INVALID_ARGUMENT,
                            reason="TOO_MANY_CONTACT_PERSONS")
        big = [lib.person(first_name="N%d" % i, notes="n" * 9000) for i in range(8)]
        with self.assertRaises(grpc.RpcError) as cm:  # the gRPC receive limit (64 KiB) refuses it
            batch(self.channel, self.t, big)
        self.assertEqual(cm.exception.code(), Code.RESOURCE_EXHAUSTED)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", self.t), 500)
        self.assertEqual(lib.count_rows(self.db, self.database, "contact_persons", self.t), 0)

    def test_long_notes(self):
        notes = ("Ça va? Øresund, Straße. " * 500)[:10000]
        r = batch(self.channel, self.t, [lib.person(first_name="Long", notes=notes),
                                         lib.person(first_name="Longer", notes=notes + "x")])
        self.assertEqual([x.outcome for x in r.results], [O.CREATED, O.REFUSED])
        self.assertEqual(r.results[1].error_field, "prospect.notes")
        self.assertEqual(lib.get(self.channel, r.results[0].prospect).notes, notes)

    def test_database_failure_mid_call_writes_nothing(self):
        # the contact persons go in after the records: a failing contact insert (a full disk, as
        # the trigger says) must take the records written before it back out
        trig = "fail_import_%s" % self.t.replace("-", "_")
        # (the tests of this file run one at a time: no other tenant writes meanwhile)
        self.db.sql("CREATE TRIGGER %s BEFORE INSERT ON contact_persons FOR EACH ROW"
                    " SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1114, MESSAGE_TEXT = 'full'" % trig,
                    self.database)
        try:
            rows = [lib.person(first_name="P%d" % i) for i in range(20)]
            rows.append((lib.company(company_name="With contact"), [CP(first_name="K")]))
            self.assertRpcError(lambda: batch(self.channel, self.t, rows, request_id="fail-1"),
                                Code.RESOURCE_EXHAUSTED)
        finally:
            self.db.sql("DROP TRIGGER %s" % trig, self.database)
        self.assertEqual(lib.count_all(self.db, self.database, self.t),
                         {k: 0 for k in lib.count_all(self.db, self.database, self.t)})
        self.assertEqual(lib.count_rows(self.db, self.database, "prospect_terms", self.t), 0)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospect_index_queue", self.t), 0)
        # the same request id works once the database is back
        r = batch(self.channel, self.t, rows, request_id="fail-1")
        self.assertEqual(r.created_count, 21)


if __name__ == "__main__":
    harness.main()
