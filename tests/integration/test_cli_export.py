"""prospectctl export against a live server: CSV (UTF-8 with BOM, ';', CRLF, RFC 4180 quoting of ';',
'"' and newlines, accents, continuation lines for further contact persons, the columns the import
reads) and JSON Lines (one record per line, contact persons nested), the state filter, the exit
status of a failed export (the gRPC code, and no output file left behind) and usage errors."""

import csv
import io
import json
import os
import subprocess
import tempfile
import unittest

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

R = resources_pb2
PROSPECTCTL = os.path.join(harness.BUILD_DIR, "client", "prospectctl")
COLUMNS = ["name", "kind", "first_name", "last_name", "company_name", "vat_number", "email", "phone",
           "website", "street", "postal_code", "city", "country_code", "language", "notes", "state",
           "create_time", "update_time", "contact_first_name", "contact_last_name", "contact_email",
           "contact_phone", "contact_role"]
NOTES = 'semi;colon, "quoted"\nsecond line; Zoë'


@unittest.skipUnless(os.path.exists(PROSPECTCTL), "prospectctl is not built")
class CliExport(lib.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ch = cls.channel
        cls.t = lib.new_enabled_tenant(ch)
        cls.person = lib.create(ch, cls.t, lib.person(first_name="Zoë", last_name="Çelik-Öztürk",
                                                      email="zoe@example.be", notes=NOTES))
        cls.company = lib.create(ch, cls.t, lib.company(company_name="Brasserie \"Ŝ\"; Fils",
                                                        address=R.Address(street="Rue de l'Église 3",
                                                                          postal_code="1000", city="Bruxelles",
                                                                          country_code="BE")))
        cls.contacts = [lib.create_contact(ch, cls.company.name, R.ContactPerson(**kw)).name for kw in (
            dict(first_name="Anaïs", last_name="Dubois", email="anais@example.be", role="CEO; founder"),
            dict(first_name="Bram", phone="+32 2 123 45 67"),
            dict(last_name="Claes", role='the "boss"'))]
        cls.lonely = lib.create(ch, cls.t, lib.company(company_name="Zonder Contact NV"))
        cls.dir = tempfile.mkdtemp(prefix="ps-cli-export-")

    def run_ctl(self, *args):
        return subprocess.run([PROSPECTCTL, "--plaintext", "--target", self.server.address] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)

    def test_csv(self):
        path = os.path.join(self.dir, "out.csv")
        r = self.run_ctl("export", "--output", path, "tenants/%s" % self.t)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(path + ".part"))
        raw = open(path, "rb").read()
        self.assertTrue(raw.startswith(b"\xef\xbb\xbf"), raw[:10])
        self.assertTrue(raw.endswith(b"\r\n"))
        text = raw[3:].decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"', strict=True))
        self.assertEqual(rows[0], COLUMNS)
        # every record break is CRLF; the only bare LF is the one inside the quoted notes
        self.assertEqual(text.count("\r\n"), len(rows))
        self.assertEqual(text.replace("\r\n", "").count("\n"), 1)
        body = [dict(zip(COLUMNS, row)) for row in rows[1:]]
        self.assertTrue(all(len(row) == len(COLUMNS) for row in rows))
        by_name = {row["name"]: row for row in body if row["name"]}
        self.assertEqual(set(by_name), {self.person.name, self.company.name, self.lonely.name})
        p = by_name[self.person.name]
        self.assertEqual((p["kind"], p["first_name"], p["last_name"], p["notes"], p["state"]),
                         ("PERSON", "Zoë", "Çelik-Öztürk", NOTES, "PROSPECT"))
        self.assertRegex(p["create_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
        self.assertRegex(p["update_time"], r"Z$")
        self.assertEqual(p["contact_first_name"] + p["contact_last_name"], "")
        c = by_name[self.company.name]
        self.assertEqual((c["kind"], c["company_name"], c["street"], c["postal_code"], c["city"],
                          c["country_code"]),
                         ("COMPANY", "Brasserie \"Ŝ\"; Fils", "Rue de l'Église 3", "1000", "Bruxelles", "BE"))
        # the company's line holds its first contact person, the next lines the others
        i = body.index(c)
        got = [(r["contact_first_name"], r["contact_last_name"], r["contact_email"], r["contact_phone"],
                r["contact_role"]) for r in body[i:i + 3]]
        self.assertEqual(got, [("Anaïs", "Dubois", "anais@example.be", "", "CEO; founder"),
                               ("Bram", "", "", "'+32 2 123 45 67", ""),  # text, not a formula
                               ("", "Claes", "", "", 'the "boss"')])
        for cont in body[i + 1:i + 3]:
            self.assertEqual([cont[k] for k in COLUMNS[:18]], [""] * 18)
        self.assertEqual(len(body), 5)
        # quoting as RFC 4180 writes it
        self.assertIn('"CEO; founder"', text)
        self.assertIn('"the ""boss"""', text)

    def test_jsonl(self):
        r = self.run_ctl("export", "--format", "jsonl", "tenants/%s" % self.t)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode("utf-8").split("\n")
        self.assertEqual(lines[-1], "")
        recs = [json.loads(line) for line in lines[:-1]]
        self.assertEqual(len(recs), 3)
        by_name = {rec["prospect"]["name"]: rec for rec in recs}
        self.assertEqual(by_name[self.person.name]["prospect"]["notes"], NOTES)
        self.assertEqual(by_name[self.person.name]["prospect"]["firstName"], "Zoë")
        self.assertNotIn("contactPersons", by_name[self.person.name])
        self.assertEqual([cp["name"] for cp in by_name[self.company.name]["contactPersons"]], self.contacts)

    def test_state_filter(self):
        r = self.run_ctl("export", "--state", "CUSTOMERS_ONLY", "tenants/%s" % self.t)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"\xef\xbb\xbf" + ";".join(COLUMNS).encode() + b"\r\n")

    def test_failure_exit_status_and_no_file(self):
        path = os.path.join(self.dir, "off.csv")
        r = self.run_ctl("export", "--output", path, "tenants/%s" % harness.new_tenant("off"))
        self.assertEqual(r.returncode, 9, r.stderr)  # FAILED_PRECONDITION
        self.assertIn(b"PROSPECTS_APP_DISABLED", r.stderr)
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(path + ".part"))

    def test_usage(self):
        self.assertEqual(self.run_ctl("export", "--format", "xml", "tenants/%s" % self.t).returncode, 64)
        self.assertEqual(self.run_ctl("export").returncode, 64)
        self.assertEqual(self.run_ctl("export", "--state", "SOME", "tenants/%s" % self.t).returncode, 64)
        h = self.run_ctl("export", "--help")
        self.assertEqual(h.returncode, 0)
        self.assertIn(b";".join(c.encode() for c in COLUMNS), h.stdout)


if __name__ == "__main__":
    unittest.main()
