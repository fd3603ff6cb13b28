"""prospectctl import against a real server and MariaDB: CSV files as spreadsheets write them in
Belgium and the Netherlands (BOM, `;` and `,`, quoted line breaks, doubled quotes, accents, CRLF),
continuation rows of contact persons, refused rows (exit 65, the report names their line),
invalid UTF-8 refused locally, running the same file again creating nothing, and a tenant exported
with prospectctl export (CSV or JSON Lines is not read back; CSV is) imported into another tenant
giving the same records."""

import csv
import io
import os
import subprocess
import tempfile

import ps_testlib as lib

BUILD = os.environ.get("PS_BUILD_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
PROSPECTCTL = os.path.join(BUILD, "client", "prospectctl")
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PROSPECTCTL_", "PROSPECTS_"))}


class ImportCli(lib.ServerTestCase):
    def setUp(self):
        self.t = lib.new_enabled_tenant(self.channel)
        self.dir = tempfile.mkdtemp(prefix="import-cli-")

    def run_import(self, content, *args, name="prospects.csv"):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(content)
        out = subprocess.run([PROSPECTCTL, "--target", self.server.address, "import"] + list(args) +
                             ["tenants/%s" % self.t, path], capture_output=True, timeout=120, env=CLEAN_ENV)
        report = path[:-4] + ".report.csv"
        rows = []
        if os.path.exists(report):
            with open(report, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        return out.returncode, out.stdout.decode(), out.stderr.decode(), rows

    def records(self):
        # line breaks shown as <CR> and <LF>: the SQL helper reads rows line by line
        rows = self.db.sql("SELECT kind, display_name, email, city,"
                           " REPLACE(REPLACE(notes, CHAR(13), '<CR>'), CHAR(10), '<LF>') FROM prospects"
                           " WHERE tenant_id = '%s' ORDER BY display_name" % self.t, self.database)
        return [tuple(r) for r in rows]

    def contacts(self):
        rows = self.db.sql("SELECT p.display_name, c.first_name, c.last_name, c.role FROM contact_persons c"
                           " JOIN prospects p ON p.tenant_id = c.tenant_id AND p.id = c.prospect_id"
                           " WHERE c.tenant_id = '%s' ORDER BY c.id" % self.t, self.database)
        return [tuple(r) for r in rows]

    def test_excel_semicolon_bom_crlf_quotes_and_contacts(self):
        text = ("Naam;Kind;First_Name;last_name;company_name;email;city;notes;contact_first_name;"
                "contact_last_name;contact_role;colour\r\n"
                ";PERSON;Éloïse;Dubœuf;;eloise@example.be;Liège;\"Zegt \"\"bonjour\"\"\r\nbel terug\";;;;rood\r\n"
                ";;;;Brouwerij Øster;info@oster.dk;Århus;;Kees;de Vries;Inkoper;\r\n"
                ";;;;;;;;Ștefan;Popescu;Directeur;\r\n"
                ";;;;;;;;;Großmann;;\r\n"
                ";person;Jürgen;Weiß;;jw@example.de;Köln;;;;;\r\n")
        rc, out, err, report = self.run_import(b"\xef\xbb\xbf" + text.encode("utf-8"))
        self.assertEqual(rc, 0, out + err)
        self.assertIn('column "colour" is not known', err)
        self.assertIn("3 records: 3 created, 0 skipped as duplicates, 0 refused", out)
        self.assertEqual(self.records(), [
            ("2", "Brouwerij Øster", "info@oster.dk", "Århus", ""),
            ("1", "Éloïse Dubœuf", "eloise@example.be", "Liège", 'Zegt "bonjour"<CR><LF>bel terug'),
            ("1", "Jürgen Weiß", "jw@example.de", "Köln", "")])
        self.assertEqual(self.contacts(), [("Brouwerij Øster", "Kees", "de Vries", "Inkoper"),
                                           ("Brouwerij Øster", "Ștefan", "Popescu", "Directeur"),
                                           ("Brouwerij Øster", "", "Großmann", "")])
        self.assertEqual([(r["line"], r["outcome"]) for r in report],
                         [("2", "CREATED"), ("4", "CREATED"), ("7", "CREATED")])
        self.assertTrue(all(r["prospect"].startswith("tenants/%s/prospects/" % self.t) for r in report))

        # the same file again: the same request ids, nothing created twice
        rc, out, err, report2 = self.run_import(b"\xef\xbb\xbf" + text.encode("utf-8"))
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(self.records()), 3)
        self.assertEqual(len(self.contacts()), 3)
        self.assertEqual(report2, report)

    def test_comma_lf_refused_rows_and_exit_65(self):
        text = ("first_name,last_name,email,phone,company_name,contact_first_name,contact_email\n"
                "Jan,Janssens,jan@example.be,,,,\n"
                "Bad,Mail,not-an-address,,,,\n"
                "\n"
                ",,,,\"Acme, \"\"the\"\" best\",Piet,piet@acme.be\n"
                ",,,,,Klaas,no-at-sign\n"
                "Solo,,,,,Ann,\n")
        rc, out, err, report = self.run_import(text.encode("utf-8"), "--batch", "2")
        self.assertEqual(rc, 65, out + err)
        self.assertIn("4 records: 1 created, 0 skipped as duplicates, 3 refused", out)
        self.assertEqual([(r["line"], r["outcome"], r["field"]) for r in report],
                         [("2", "CREATED", ""), ("3", "REFUSED", "prospect.email"),
                          ("6", "REFUSED", "contact_persons[1].email"),
                          ("7", "REFUSED", "contact_persons")])
        self.assertEqual(report[3]["reason"], "NOT_A_COMPANY")
        self.assertIn("e-mail", report[1]["message"])
        self.assertEqual([r[1] for r in self.records()], ["Jan Janssens"])
        self.assertEqual(self.contacts(), [])

    def test_invalid_utf8_and_skip_duplicates(self):
        lib.create(self.channel, self.t, lib.person(first_name="Piet", last_name="Jansen", email="piet@jansen.nl"))
        content = ("first_name;last_name;email\n"
                   "Piet;Other;PIET@jansen.nl\n").encode() + b"Caf\xe9;Latin;cafe@example.nl\n" + \
            "Anna;Vos;anna@vos.nl\nAnna;Vos;\n".encode()
        rc, out, err, report = self.run_import(content, "--skip-duplicates")
        self.assertEqual(rc, 65, out + err)
        self.assertEqual([(r["line"], r["outcome"], r["reason"]) for r in report],
                         [("2", "SKIPPED_DUPLICATE", ""), ("3", "REFUSED", "INVALID_UTF8"),
                          ("4", "CREATED", ""), ("5", "SKIPPED_DUPLICATE", "")])
        self.assertEqual(report[1]["field"], "first_name")
        self.assertEqual(report[3]["prospect"], report[2]["prospect"])
        self.assertEqual(sorted(r[1] for r in self.records()), ["Anna Vos", "Piet Jansen"])

    def test_usage(self):
        out = subprocess.run([PROSPECTCTL, "import", "--batch", "0", "tenants/x", "f.csv"],
                             capture_output=True, env=CLEAN_ENV)
        self.assertEqual(out.returncode, 64)
        out = subprocess.run([PROSPECTCTL, "--target", self.server.address, "import",
                              "tenants/%s" % self.t, os.path.join(self.dir, "missing.csv")],
                             capture_output=True, env=CLEAN_ENV)
        self.assertEqual(out.returncode, 66)

    def test_export_then_import_gives_the_same_records(self):
        """What prospectctl export writes, prospectctl import reads back: every field, contact
        persons on continuation lines, line breaks, quotes, separators, and texts a spreadsheet
        would take as formulas (which the export marks with an apostrophe)."""
        from prospects.v1 import resources_pb2 as R
        ch = self.channel
        addr = R.Address(street="Kerkstraat 1; bus 2", postal_code="9000", city="Gent",
                         country_code="BE")
        company = lib.create(ch, self.t, lib.company(
            company_name="Brouwerij \"De Klok\"", vat_number="BE0123456789", email="info@klok.be",
            phone="+32 9 123 45 67", website="https://klok.be", address=addr, language="nl-BE",
            notes="=HYPERLINK(\"x\")\r\nline two; ''quoted''\n-dash"))
        for first, last, role in (("Kees", "de Vries", "Inkoper"), ("Ștefan", "Popescu", "@ceo"),
                                  ("", "Großmann", "")):
            lib.create_contact(ch, company.name, R.ContactPerson(first_name=first, last_name=last,
                                                                 role=role, phone="+31 6 1"))
        lib.create(ch, self.t, lib.person(first_name="Éloïse", last_name="'=Dubœuf", email="e@x.be"))
        path = os.path.join(self.dir, "export.csv")
        out = subprocess.run([PROSPECTCTL, "--target", self.server.address, "export", "--output", path,
                              "tenants/%s" % self.t], capture_output=True, timeout=120, env=CLEAN_ENV)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        with open(path, "rb") as f:
            content = f.read()
        self.assertIn(b";'+32 9 123 45 67;", content)  # marked: a spreadsheet shows it as text
        source, self.t = self.t, lib.new_enabled_tenant(ch)
        rc, out, err, report = self.run_import(content, name="roundtrip.csv")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual([r["outcome"] for r in report], ["CREATED", "CREATED"])

        def records(tenant):
            rows = self.db.sql(
                "SELECT kind, display_name, first_name, last_name, company_name, vat_number, email,"
                " phone, website, street, postal_code, city, country_code, language,"
                " REPLACE(REPLACE(notes, CHAR(13), '<CR>'), CHAR(10), '<LF>') FROM prospects"
                " WHERE tenant_id = '%s' ORDER BY display_name" % tenant, self.database)
            contacts = self.db.sql(
                "SELECT p.display_name, c.first_name, c.last_name, c.email, c.phone, c.role"
                " FROM contact_persons c JOIN prospects p ON p.tenant_id = c.tenant_id"
                " AND p.id = c.prospect_id WHERE c.tenant_id = '%s' ORDER BY c.id" % tenant,
                self.database)
            return [tuple(r) for r in rows], [tuple(r) for r in contacts]

        self.assertEqual(records(self.t), records(source))
        self.assertEqual(len(records(source)[1]), 3)
        self.assertIn("'=Dubœuf", [r[3] for r in records(self.t)[0]])


if __name__ == "__main__":
    import harness
    harness.main()
