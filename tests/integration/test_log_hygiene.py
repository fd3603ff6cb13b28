"""No secret and no personal data in the server's log, at any level (issue 10). A server at debug
level takes calls full of personal data (names, e-mails, phones, notes, search text, snapshots),
valid and refused ones, with every secret set to a marker; then neither a marker nor a piece of the
personal data may appear in its log."""

import re

import grpc

import harness
import ps_testlib as lib
from google.protobuf import field_mask_pb2
from prospects.v1 import resources_pb2 as R, service_pb2 as S

Code = grpc.StatusCode
SECRETS = {"PS_PAGE_TOKEN_KEY": "pagetokensecret7734", "PS_CACHE_MAC_KEY": "cachemacsecret9921",
           "PS_REDIS_PASSWORD": "redissecret5512"}
PII = ["Zyxwanda", "Qorvath", "zyxwanda.qorvath@example.be", "470998877", "notesmarker31337",
       "Zyxstreet", "Vexcity", "Quorbank"]


class LogHygiene(lib.RpcAssertions, harness.unittest.TestCase):
    def test_nothing_personal_or_secret_is_logged(self):
        with harness.Server(env=SECRETS, log_level="debug") as server:
            ch = server.channel
            t = lib.new_enabled_tenant(ch)
            lib.enable_quote_requests(ch, t)
            person = lib.person(first_name="Zyxwanda", last_name="Qorvath",
                                email="zyxwanda.qorvath@example.be", phone="+32 470 99 88 77",
                                notes="notesmarker31337",
                                address=R.Address(street="Zyxstreet 1", city="Vexcity"))
            p = lib.create(ch, t, person, request_id="h-1")
            lib.create(ch, t, person, request_id="h-1")  # a retry
            company = lib.create(ch, t, lib.company(company_name="Quorbank N.V.",
                                                    email="zyxwanda.qorvath@example.be"))
            lib.create_contact(ch, company.name, R.ContactPerson(first_name="Zyxwanda",
                                                                 last_name="Qorvath",
                                                                 phone="+32 470 99 88 77"))
            lib.list_page(ch, t, query="Zyxwanda Qorvath")
            lib.find_duplicates(ch, t, candidate=person)
            lib.link_document(ch, p.name, lib.document(
                document_id="d-1", party_snapshot=R.PartySnapshot(display_name="Zyxwanda Qorvath",
                                                                  email="zyxwanda.qorvath@example.be")))
            lib.intake(ch, t, "i-1", lib.document(type=R.QUOTE_REQUEST, document_id="qr-1"),
                       new_prospect=person)
            lib.merge(ch, company.name, [p.name], request_id="m-1", validate_only=True)
            # refused calls that carry the same data
            refused = [
                lambda: lib.create(ch, t, lib.person(first_name="Zyxwanda", email="Zyxwanda Qorvath@@")),
                lambda: lib.create(ch, t, lib.person(first_name="Zyxwanda" * 20)),
                lambda: lib.create(ch, t, lib.person(first_name="Zyxwanda", phone="Qorvath 470998877")),
                lambda: lib.create(ch, t, person, request_id="h-1x") and
                lib.create(ch, t, lib.person(first_name="Qorvath"), request_id="h-1x"),
                lambda: lib.update(ch, R.Prospect(name=p.name, notes="notesmarker31337", etag="bad"),
                                   ["notes"]),
                lambda: lib.list_page(ch, t, query="Zyxwanda", page_token="Qorvath"),
                lambda: lib.create(ch, "Zyxwanda", person),
                lambda: lib.get(ch, "tenants/%s/prospects/Zyxwanda" % t),
                lambda: lib.update(ch, R.Prospect(name=p.name, first_name="Qorvath"),
                                   ["first_name", "Zyxwanda"]),
            ]
            for fn in refused:
                with self.assertRaises(grpc.RpcError):
                    fn()
            # the database down: errors are logged, without the data of the calls that failed
            lib.server_stats(server)
        log = server.log()
        self.assertIn("mysql-password=***", log)
        self.assertIn("page-token-key=***", log)
        self.assertRegex(log, r"\bdebug\b")  # debug lines were written
        for marker in list(SECRETS.values()) + PII:
            with self.subTest(marker=marker):
                found = [line for line in log.splitlines() if marker.lower() in line.lower()]
                self.assertEqual(found, [], "%r in the log" % marker)


if __name__ == "__main__":
    harness.main()
