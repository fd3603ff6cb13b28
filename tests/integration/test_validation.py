"""Bad input as a new user would try it: garbage bytes, unknown methods and services, missing or
malformed parents and names, overlong, non-UTF-8 and ill-formed field values. Each gets the right
code, a message that starts with the field path, ErrorInfo field=<path>, and nothing is written."""

import grpc

import harness
import ps_testlib as lib
from ps_testlib import wire
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode
UUID = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"
IMPLEMENTED = {"CreateProspect", "GetProspect", "GetTenantApps", "UpdateTenantApps",
               "UpdateProspect", "DeleteProspect", "ListProspects", "FindDuplicateProspects",
               "CreateContactPerson", "GetContactPerson", "ListContactPersons",
               "UpdateContactPerson", "DeleteContactPerson",
               "LinkDocument", "UnlinkDocument", "ListDocuments", "LookupDocument",
               "IntakeQuoteRequest", "ConvertProspect",
               "MergeProspects", "GetMerge", "ListMerges", "ResolveProspect", "ListAuditEvents",
               "BatchCreateProspects", "ExportPersonData", "ErasePersonData", "ExportProspects"}
# Server-streaming methods: called with a unary_stream call (the stream's end carries the status).
STREAMING = {"ExportProspects"}


class Transport(lib.ServerTestCase):
    GARBAGE = [b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a varint that never ends
               b"\x0a\xff\x01abc",                               # a length beyond the message
               b"\x0f\x00",                                      # wire type 7 does not exist
               bytes(range(256))]

    def test_garbage_bytes_are_malformed_requests(self):
        for path in ("CreateProspect", "GetProspect", "GetTenantApps", "UpdateTenantApps"):
            for body in self.GARBAGE:
                with self.subTest(path=path, body=body[:12]):
                    self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method(path), body),
                                        Code.INVALID_ARGUMENT, reason="MALFORMED_REQUEST")
        self.assertEqual(lib.health(self.channel), lib.SERVING)

    def test_unknown_method_and_unknown_service(self):
        for path in (lib.method("CreateProspects"), lib.method("createProspect"),
                     "/prospects.v1.NoSuchService/GetProspect", "/prospects.v2.ProspectService/GetProspect",
                     "/NoSuch/Thing", "/grpc.health.v1.Health/Nope"):
            with self.subTest(path=path):
                e = self.assertRpcError(lambda: lib.raw_call(self.channel, path, b"", timeout=5),
                                        Code.UNIMPLEMENTED, reason="UNKNOWN_METHOD")
                self.assertIn(path.rsplit("/", 1)[1], e.details())

    def test_every_method_is_implemented(self):
        # IMPLEMENTED is the whole service now: a method added to the proto without a handler, or a
        # handler missing from the method table, answers UNIMPLEMENTED NOT_IMPLEMENTED and fails here
        svc = service_pb2.DESCRIPTOR.services_by_name["ProspectService"]
        self.assertEqual({m.name for m in svc.methods}, IMPLEMENTED)
        for name in sorted(IMPLEMENTED):
            with self.subTest(method=name):
                try:
                    if name in STREAMING:
                        list(self.channel.unary_stream(lib.method(name))(b"", timeout=5))
                    else:
                        lib.raw_call(self.channel, lib.method(name), b"", timeout=5)
                except grpc.RpcError as e:
                    self.assertNotEqual(e.code(), Code.UNIMPLEMENTED, "%s: %s" % (name, e.details()))
                    info = harness.error_info(e)
                    self.assertIsNotNone(info, name)
                    self.assertEqual(info.domain, lib.DOMAIN)

    def test_empty_request_names_the_first_missing_field(self):
        self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("CreateProspect"), b""),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="parent")
        self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("GetProspect"), b""),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="name")
        self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("GetTenantApps"), b""),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="name")

    def test_oversized_message_is_refused_and_the_server_keeps_serving(self):
        tenant = lib.new_enabled_tenant(self.channel)
        huge = lib.person(notes="x" * (5 * 1024 * 1024))
        self.assertRpcError(lambda: lib.create(self.channel, tenant, huge, request_id="huge-1"),
                            Code.RESOURCE_EXHAUSTED)
        self.assertEqual(lib.health(self.channel), lib.SERVING)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", tenant), 0)


class Names(lib.ServerTestCase):
    def setUp(self):
        self.tenant = lib.new_enabled_tenant(self.channel)

    def bad_tenants(self):
        return ["Acme", "ACME", "acme_corp", "acme corp", "acme.corp", "-acme", "acme-", "a" * 64,
                "acmé", "acme%2F"]

    def test_malformed_parent_of_create(self):
        t = self.tenant
        parents = ["", "tenants", "tenants/", "tenant/%s" % t, "Tenants/%s" % t, "/tenants/%s" % t,
                   "tenants//%s" % t, "tenants/%s/" % t, "tenants/%s/prospects" % t,
                   "tenants/%s/prospects/%s" % (t, UUID), "accounts/%s" % t, " tenants/%s" % t,
                   "tenants/%s " % t] + ["tenants/%s" % bad for bad in self.bad_tenants()]
        for parent in parents:
            with self.subTest(parent=parent):
                self.assertRpcError(lambda: lib.create(self.channel, t, lib.person(), request_id="p-1",
                                                       parent=parent),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="parent")
        self.assertEqual(set(lib.count_all(self.db, self.database, t).values()), {0})

    def test_malformed_name_of_get(self):
        t = self.tenant
        names = ["", "tenants/%s" % t, "tenants/%s/prospects" % t, "tenants/%s/prospects/" % t,
                 "tenants/%s/customers/%s" % (t, UUID), "tenants/%s/Prospects/%s" % (t, UUID),
                 "tenants/%s/prospects/not-a-uuid" % t, "tenants/%s/prospects/%s" % (t, UUID.replace("-", "")),
                 "tenants/%s/prospects/%sx" % (t, UUID), "tenants/%s/prospects/%s" % (t, UUID[:-1] + "g"),
                 "tenants/%s/prospects/%s/extra" % (t, UUID), "tenants/%s/prospects/%s/" % (t, UUID),
                 "tenants/%s/prospects/%s/contactPersons/%s" % (t, UUID, UUID),
                 "prospects/%s" % UUID, "tenants/prospects/%s" % UUID, "/tenants/%s/prospects/%s" % (t, UUID)]
        names += ["tenants/%s/prospects/%s" % (bad, UUID) for bad in self.bad_tenants()]
        for name in names:
            with self.subTest(name=name):
                e = self.assertRpcError(lambda: lib.get(self.channel, name),
                                        Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="name")
                self.assertLess(len(e.details()), 400, "the message stays one readable sentence")

    def test_longest_tenant_is_accepted(self):
        t63 = "a" * 62 + "9"
        # a valid name of a tenant without the app: past validation, stopped by the gate
        self.assertRpcError(lambda: lib.get(self.channel, "tenants/%s/prospects/%s" % (t63, UUID)),
                            Code.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
        self.assertRpcError(lambda: lib.get(self.channel, "tenants/%s/prospects/%s" % (self.tenant, UUID.upper())),
                            Code.NOT_FOUND)

    def test_huge_name_is_refused_with_a_short_message(self):
        name = "tenants/%s/prospects/%s" % ("a" * 3500, UUID)
        e = self.assertRpcError(lambda: lib.get(self.channel, name), Code.INVALID_ARGUMENT,
                                reason="INVALID_FIELD", field="name")
        self.assertLess(len(e.details()), 400)
        # past GetProspect's 4 KiB cap: refused before decoding; past every cap: by gRPC itself
        name = "tenants/%s/prospects/%s" % ("a" * 5000, UUID)
        e = self.assertRpcError(lambda: lib.get(self.channel, name), Code.RESOURCE_EXHAUSTED,
                                reason="REQUEST_TOO_LARGE")
        self.assertLess(len(e.details()), 400)
        name = "tenants/%s/prospects/%s" % ("a" * 100000, UUID)
        self.assertRpcError(lambda: lib.get(self.channel, name), Code.RESOURCE_EXHAUSTED)


def long_text(n, ch="x"):
    return ch * n


# (description, Prospect kwargs, field)
FIELD_CASES = [
    ("kind missing", dict(kind=resources_pb2.PARTY_KIND_UNSPECIFIED, first_name="Ada"), "prospect.kind"),
    ("kind unknown value", dict(kind=7, first_name="Ada"), "prospect.kind"),
    ("company without company_name", dict(kind=resources_pb2.COMPANY, first_name="Ada"), "prospect.company_name"),
    ("first_name 101 chars", dict(first_name=long_text(101)), "prospect.first_name"),
    ("first_name 101 two-byte chars", dict(first_name=long_text(101, "é")), "prospect.first_name"),
    ("last_name 101 chars", dict(last_name=long_text(101)), "prospect.last_name"),
    ("company_name 201 chars", dict(company_name=long_text(201)), "prospect.company_name"),
    ("vat_number 33 chars", dict(vat_number=long_text(33, "1")), "prospect.vat_number"),
    ("notes 10001 chars", dict(notes=long_text(10001)), "prospect.notes"),
    ("website 256 chars", dict(website="https://" + long_text(248)), "prospect.website"),
    ("website with a space", dict(website="https://example.com/a b"), "prospect.website"),
    ("street 201 chars", dict(address=resources_pb2.Address(street=long_text(201))), "prospect.address.street"),
    ("postal_code 21 chars", dict(address=resources_pb2.Address(postal_code=long_text(21, "1"))),
     "prospect.address.postal_code"),
    ("city 101 chars", dict(address=resources_pb2.Address(city=long_text(101))), "prospect.address.city"),
    ("e-mail without @", dict(email="not-an-email"), "prospect.email"),
    ("e-mail without a dot in the domain", dict(email="ada@localhost"), "prospect.email"),
    ("e-mail with a space", dict(email="ada lovelace@example.com"), "prospect.email"),
    ("e-mail with two @", dict(email="ada@@example.com"), "prospect.email"),
    ("e-mail without local part", dict(email="@example.com"), "prospect.email"),
    ("e-mail 255 chars", dict(email="a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com"),
     "prospect.email"),
    ("country lower case", dict(address=resources_pb2.Address(country_code="nl")), "prospect.address.country_code"),
    ("country alpha-3", dict(address=resources_pb2.Address(country_code="NLD")), "prospect.address.country_code"),
    ("country unassigned", dict(address=resources_pb2.Address(country_code="XX")), "prospect.address.country_code"),
    ("country with digit", dict(address=resources_pb2.Address(country_code="N1")), "prospect.address.country_code"),
    ("language not a tag", dict(language="dutch language"), "prospect.language"),
    ("phone with letters", dict(phone="call me maybe"), "prospect.phone"),
    ("phone 33 chars", dict(phone="+" + long_text(32, "1")), "prospect.phone"),
    ("control character in first_name", dict(first_name="Ada\x07"), "prospect.first_name"),
    ("newline in last_name", dict(last_name="Love\nlace"), "prospect.last_name"),
    ("escape in notes", dict(notes="see \x1b[31m red"), "prospect.notes"),
]


class Fields(lib.ServerTestCase):
    def setUp(self):
        self.tenant = lib.new_enabled_tenant(self.channel)

    def assertNothingWritten(self):
        self.assertEqual(set(lib.count_all(self.db, self.database, self.tenant).values()), {0},
                         "a refused request wrote something")

    def test_each_bad_field_is_named(self):
        for i, (what, kw, field) in enumerate(FIELD_CASES):
            with self.subTest(what):
                fields = dict(kind=resources_pb2.PERSON, first_name="Ada", last_name="Lovelace")
                fields.update(kw)
                p = resources_pb2.Prospect(**fields)
                self.assertRpcError(lambda: lib.create(self.channel, self.tenant, p, request_id="f-%d" % i),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field=field, msg=what)
        self.assertNothingWritten()

    def test_person_without_any_name(self):
        for p in (resources_pb2.Prospect(kind=resources_pb2.PERSON),
                  resources_pb2.Prospect(kind=resources_pb2.PERSON, company_name="Only A Company")):
            e = self.assertRpcError(lambda: lib.create(self.channel, self.tenant, p, request_id="noname"),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD")
            field = harness.error_info(e).metadata.get("field")
            self.assertIn(field, ("prospect.first_name", "prospect.last_name"))
            self.assertTrue(e.details().startswith(field), e.details())
        self.assertNothingWritten()

    def test_missing_prospect(self):
        req = service_pb2.CreateProspectRequest(parent="tenants/%s" % self.tenant, request_id="missing")
        e = self.assertRpcError(lambda: harness.call(self.channel, lib.method("CreateProspect"), req,
                                                     resources_pb2.Prospect),
                                Code.INVALID_ARGUMENT, reason="INVALID_FIELD")
        field = harness.error_info(e).metadata.get("field")
        self.assertIn(field, ("prospect", "prospect.kind"))
        self.assertTrue(e.details().startswith(field), e.details())
        self.assertNothingWritten()

    def test_bad_request_ids(self):
        for rid in ("has space", "x" * 65, "ünïcode", "semi;colon", "slash/id", "tab\tid"):
            with self.subTest(request_id=rid):
                self.assertRpcError(lambda: lib.create(self.channel, self.tenant, lib.person(), request_id=rid),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="request_id")
        self.assertNothingWritten()

    def test_embedded_nul_is_refused_not_truncated(self):
        # "\0" is valid UTF-8 and valid protobuf, but a control character: storing "Ada" instead
        # of what was sent would silently change the data.
        for field, p in (("prospect.first_name", lib.person(first_name="Ada\x00Evil")),
                         ("prospect.notes", lib.person(notes="visible\x00hidden"))):
            with self.subTest(field=field):
                self.assertRpcError(lambda: lib.create(self.channel, self.tenant, p, request_id="nul-" + field),
                                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field=field)
        with self.subTest(field="parent"):
            self.assertRpcError(lambda: lib.create(self.channel, self.tenant, lib.person(), request_id="nul-2",
                                                   parent="tenants/%s\x00/junk" % self.tenant),
                                Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="parent")
        with self.subTest(field="name"):
            self.assertRpcError(lambda: lib.get(self.channel, "tenants/%s/prospects/%s\x00x" % (self.tenant, UUID)),
                                Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="name")
        self.assertNothingWritten()

    def test_limits_are_inclusive(self):
        p = resources_pb2.Prospect(
            kind=resources_pb2.COMPANY, first_name="é" * 100, last_name="x" * 100,
            company_name="日" * 200, vat_number="1" * 32, email="a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com",
            phone="+" + "1" * 31, website="https://" + "w" * 247, language="en-GB",
            notes=("line\twith tab\n" * 1000)[:10000],
            address=resources_pb2.Address(street="s" * 200, postal_code="9" * 20, city="c" * 100,
                                          country_code="BE"))
        self.assertEqual(len(p.email), 254)
        created = lib.create(self.channel, self.tenant, p, request_id="limits")
        got = lib.get(self.channel, created.name)
        for f in ("first_name", "last_name", "company_name", "vat_number", "email", "phone",
                  "website", "language", "notes", "address"):
            self.assertEqual(getattr(got, f), getattr(p, f), f)
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", self.tenant), 1)


def create_bytes(parent=b"", prospect=b"", request_id=b"r-1"):
    out = b""
    if parent:
        out += wire.bytes_field(1, parent)
    if prospect:
        out += wire.bytes_field(2, prospect)
    if request_id:
        out += wire.bytes_field(3, request_id)
    return out


def person_bytes(fields, extra=b""):
    """A Prospect on the wire: kind PERSON, string fields {number: raw bytes}, then extra bytes."""
    out = wire.int_field(2, resources_pb2.PERSON)
    for number, value in sorted(fields.items()):
        out += wire.bytes_field(number, value)
    return out + extra


class NonUtf8(lib.ServerTestCase):
    def setUp(self):
        self.tenant = lib.new_enabled_tenant(self.channel)
        self.parent = ("tenants/%s" % self.tenant).encode()

    def test_invalid_utf8_in_each_kind_of_string(self):
        bad = {"lone continuation byte": b"Ada\x80",
               "0xff": b"\xffAda",
               "truncated sequence": b"Ad\xc3",
               "overlong slash": b"\xc0\xaf",
               "surrogate": b"\xed\xa0\x80",
               "above U+10FFFF": b"\xf4\x90\x80\x80"}
        for i, (what, raw) in enumerate(bad.items()):
            cases = [
                ("prospect.first_name", person_bytes({4: raw})),
                ("prospect.last_name", person_bytes({4: b"Ada", 5: raw})),
                ("prospect.notes", person_bytes({4: b"Ada", 13: raw})),
                ("prospect.address.city", person_bytes({4: b"Ada"}, wire.bytes_field(
                    11, wire.bytes_field(3, raw)))),
            ]
            for field, prospect in cases:
                with self.subTest(what=what, field=field):
                    body = create_bytes(self.parent, prospect, b"u8-%d" % i)
                    self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("CreateProspect"), body),
                                        Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field=field)
        self.assertEqual(set(lib.count_all(self.db, self.database, self.tenant).values()), {0})

    def test_invalid_utf8_in_names(self):
        body = create_bytes(self.parent + b"\xff", person_bytes({4: b"Ada"}))
        self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("CreateProspect"), body),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="parent")
        body = wire.bytes_field(1, self.parent + b"/prospects/\xc3\x28" + UUID.encode())
        self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("GetProspect"), body),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="name")
        body = wire.bytes_field(1, b"tenants/\xe2\x28\xa1/apps")
        self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("GetTenantApps"), body),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="name")
        body = create_bytes(self.parent, person_bytes({4: b"Ada"}), b"r-\xff")
        self.assertRpcError(lambda: lib.raw_call(self.channel, lib.method("CreateProspect"), body),
                            Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="request_id")
        self.assertEqual(set(lib.count_all(self.db, self.database, self.tenant).values()), {0})

    def test_hand_made_valid_bytes_are_accepted(self):
        # control: the same encoder with valid UTF-8 creates the record
        body = create_bytes(self.parent, person_bytes({4: "Zoë".encode(), 5: "日本".encode()}), b"ok-1")
        raw = lib.raw_call(self.channel, lib.method("CreateProspect"), body)
        p = resources_pb2.Prospect.FromString(raw)
        self.assertEqual((p.first_name, p.last_name), ("Zoë", "日本"))


if __name__ == "__main__":
    harness.main()
