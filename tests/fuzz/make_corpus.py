#!/usr/bin/python3
"""Writes the seed corpus of the fuzz harnesses, tests/fuzz/corpus/<harness>/, from the Python
protobuf modules that a build generates from proto/ (build/py after scripts/test or scripts/run):

    PYTHONPATH=build/py /usr/bin/python3 tests/fuzz/make_corpus.py [CORPUS_DIR]

Every seed is made the way its harness reads its input (see the header comment of each
tests/fuzz/fuzz_*.c): valid requests of every method, resource names, page tokens sealed with the
harnesses' key, reflection requests, the JSON of README.md and client/README.md, and authorization
policies. The output is the same on every run; files of a harness that are no longer made are
removed."""

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import sys

from google.protobuf import field_mask_pb2, timestamp_pb2
from grpc_protos.reflection.v1 import reflection_pb2
from prospects.v1 import resources_pb2 as res
from prospects.v1 import service_pb2 as svc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PAGE_TOKEN_KEY = b"fuzz-page-token-key"  # FUZZ_PAGE_TOKEN_KEY of fuzz.h

TENANT = "acme"
PARENT = "tenants/" + TENANT
P1 = PARENT + "/prospects/0190c8e4-7d1a-7b3c-9a2e-4f5b6c7d8e9f"
P2 = PARENT + "/prospects/0190c8e4-7d1b-7000-8000-00000000beef"
P3 = PARENT + "/prospects/0190c8e4-7d1c-7abc-bdef-0123456789ab"
CP1 = P1 + "/contactPersons/0190c8e5-0000-7000-8000-000000000001"
DOC1 = P1 + "/documents/0190c8e6-0000-7000-8000-000000000002"
MERGE1 = PARENT + "/merges/0190c8e7-0000-7000-8000-000000000003"
ID1 = bytes.fromhex("0190c8e47d1a7b3c9a2e4f5b6c7d8e9f")

METHODS = [m.name for m in svc.DESCRIPTOR.services_by_name["ProspectService"].methods]
SERVICE = svc.DESCRIPTOR.services_by_name["ProspectService"]


# ---------------------------------------------------------------- page tokens (core/pagetoken.c)

def ctx_str(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def ctx_int(v):
    return struct.pack(">q", v)


def page_token(ctx, pos, key=PAGE_TOKEN_KEY):
    """base64url(1 | pos | first 16 bytes of HMAC-SHA256(key, 1 | len(ctx) | ctx | pos))"""
    mac = hmac.new(key, b"\x01" + struct.pack(">I", len(ctx)) + ctx + pos, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(b"\x01" + pos + mac[:16]).rstrip(b"=").decode()


def list_prospects_ctx(query="", state_filter=1, order=0):
    return ctx_str("ListProspects") + ctx_str(TENANT) + ctx_str(query) + ctx_int(state_filter) + \
        ctx_int(order)


LIST_MERGES_CTX = ctx_str("ListMerges") + ctx_str(TENANT) + ctx_str("")
LIST_CONTACTS_PARENT = PARENT + "/prospects/0190c8e4-0000-7000-8000-000000000001"
LIST_CONTACTS_CTX = ctx_str("ListContactPersons") + ctx_str(TENANT) + ctx_str(LIST_CONTACTS_PARENT)


# ---------------------------------------------------------------- messages

def ts(seconds, nanos=0):
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def company():
    return res.Prospect(
        kind=res.COMPANY, company_name="Acme B.V.", vat_number="NL123456789B01",
        email="info@acme.example", phone="+31 20 123 4567", website="https://acme.example",
        address=res.Address(street="Keizersgracht 1", postal_code="1015 CJ", city="Amsterdam",
                            country_code="NL"),
        language="nl", notes="Met at the fair.\nCall back in May.")


def person():
    return res.Prospect(kind=res.PERSON, first_name="Ann", last_name="Müller",
                        email="ann@example.org", language="de-CH")


def contact():
    return res.ContactPerson(first_name="Jan", last_name="de Vries", email="jan@acme.example",
                             phone="020-1234567", role="Purchasing")


def document(doc_type=res.QUOTE_REQUEST, doc_id="QR-2024-0001"):
    return res.Document(
        type=doc_type, document_id=doc_id, number="2024-0001", title="Quote request: 40 chairs",
        document_time=ts(1714564800),
        party_snapshot=res.PartySnapshot(display_name="Acme B.V.", company_name="Acme B.V.",
                                         email="info@acme.example",
                                         address=res.Address(city="Amsterdam", country_code="NL")))


def requests():
    """(method, seed name, request) for every method, the way its callers send them."""
    newest = page_token(list_prospects_ctx("acme"), b"\x00" + ID1)
    by_name = page_token(list_prospects_ctx("", 3, 1), b"\x01" + ID1 + "Acme B.V.".encode())
    mask = field_mask_pb2.FieldMask
    out = [
        ("CreateProspect", "company", svc.CreateProspectRequest(
            parent=PARENT, prospect=company(), request_id="req-0001")),
        ("CreateProspect", "person", svc.CreateProspectRequest(parent=PARENT, prospect=person())),
        ("GetProspect", "", svc.GetProspectRequest(name=P1)),
        ("UpdateProspect", "email", svc.UpdateProspectRequest(
            prospect=res.Prospect(name=P1, email="sales@acme.example", etag="v3"),
            update_mask=mask(paths=["email"]))),
        ("UpdateProspect", "address", svc.UpdateProspectRequest(
            prospect=res.Prospect(name=P1, address=res.Address(city="Utrecht", country_code="NL")),
            update_mask=mask(paths=["address.city", "address.country_code", "notes"]))),
        ("UpdateProspect", "star", svc.UpdateProspectRequest(
            prospect=company(), update_mask=mask(paths=["*"]))),
        ("DeleteProspect", "", svc.DeleteProspectRequest(name=P1, etag="v2")),
        ("ListProspects", "first_page", svc.ListProspectsRequest(parent=PARENT, page_size=20)),
        ("ListProspects", "query_token", svc.ListProspectsRequest(
            parent=PARENT, page_size=10, query="acme", page_token=newest)),
        ("ListProspects", "by_name_token", svc.ListProspectsRequest(
            parent=PARENT, state_filter=svc.ALL_STATES, order_by=svc.BY_NAME, page_token=by_name)),
        ("FindDuplicateProspects", "candidate", svc.FindDuplicateProspectsRequest(
            parent=PARENT, candidate=company(), page_size=5)),
        ("FindDuplicateProspects", "existing", svc.FindDuplicateProspectsRequest(
            parent=PARENT, prospect=P1)),
        ("ResolveProspect", "", svc.ResolveProspectRequest(name=P2)),
        ("CreateContactPerson", "", svc.CreateContactPersonRequest(
            parent=P1, contact_person=contact(), request_id="req-0002")),
        ("GetContactPerson", "", svc.GetContactPersonRequest(name=CP1)),
        ("ListContactPersons", "", svc.ListContactPersonsRequest(
            parent=LIST_CONTACTS_PARENT, page_size=2,
            page_token=page_token(LIST_CONTACTS_CTX, ID1))),
        ("UpdateContactPerson", "", svc.UpdateContactPersonRequest(
            contact_person=res.ContactPerson(name=CP1, role="Director", etag="v1"),
            update_mask=mask(paths=["role"]))),
        ("DeleteContactPerson", "", svc.DeleteContactPersonRequest(name=CP1)),
        ("LinkDocument", "", svc.LinkDocumentRequest(
            parent=P1, document=document(res.QUOTE, "Q-77"), request_id="req-0003")),
        ("UnlinkDocument", "", svc.UnlinkDocumentRequest(
            parent=PARENT, type=res.QUOTE, document_id="Q-77")),
        ("ListDocuments", "", svc.ListDocumentsRequest(parent=P1, page_size=10, type=res.INVOICE)),
        ("LookupDocument", "", svc.LookupDocumentRequest(
            parent=PARENT, type=res.INVOICE, document_id="INV-9")),
        ("IntakeQuoteRequest", "new_company", svc.IntakeQuoteRequestRequest(
            parent=PARENT, request_id="intake-0001", quote_request=document(),
            new_prospect=company(), contact_person=contact())),
        ("IntakeQuoteRequest", "existing", svc.IntakeQuoteRequestRequest(
            parent=PARENT, request_id="intake-0002", quote_request=document(), existing=P1)),
        ("ConvertProspect", "", svc.ConvertProspectRequest(
            name=P1, invoice=document(res.INVOICE, "INV-2024-17"), request_id="convert-0001")),
        ("MergeProspects", "two_sources", svc.MergeProspectsRequest(
            target=P1, target_etag="v4",
            sources=[svc.MergeSource(name=P2, etag="v1"), svc.MergeSource(name=P3)],
            move_contact_persons=True, request_id="merge-0001", acting_user="user-42")),
        ("MergeProspects", "validate_only", svc.MergeProspectsRequest(
            target=P1, sources=[svc.MergeSource(name=P2)], validate_only=True)),
        ("GetMerge", "", svc.GetMergeRequest(name=MERGE1)),
        ("ListMerges", "", svc.ListMergesRequest(
            parent=PARENT, page_size=5, page_token=page_token(LIST_MERGES_CTX, ID1))),
        ("ListMerges", "target", svc.ListMergesRequest(parent=PARENT, target=P1)),
        ("GetTenantApps", "", svc.GetTenantAppsRequest(name=PARENT + "/apps")),
        ("UpdateTenantApps", "", svc.UpdateTenantAppsRequest(
            apps=res.TenantApps(name=PARENT + "/apps", prospects_enabled=True,
                                quote_requests_enabled=True, etag="v7"),
            update_mask=mask(paths=["prospects_enabled", "quote_requests_enabled"]))),
    ]
    if "ListAuditEvents" in METHODS:
        out.append(("ListAuditEvents", "", svc.ListAuditEventsRequest(parent=PARENT, page_size=3)))
    return out


# ---------------------------------------------------------------- the seeds of each harness

def decode_seeds():
    """byte 0: method index, byte 1: memory budget (0: default), then the request"""
    seeds = {}
    for method, name, req in requests():
        seeds[(method + ("_" + name if name else "")).lower()] = \
            bytes([METHODS.index(method), 0]) + req.SerializeToString()
    big = svc.CreateProspectRequest(parent=PARENT, prospect=company())
    big.prospect.notes = "Notes that fill the arena. " * 300
    seeds["createprospect_small_budget"] = bytes([METHODS.index("CreateProspect"), 0x80]) + \
        big.SerializeToString()
    # decomposed text (e + U+0301, S + U+0326, Hangul jamo) that decoding puts in NFC, long notes
    # past the per-thread scratch buffer, and a budget too small for them
    nfd = svc.CreateProspectRequest(parent=PARENT, prospect=res.Prospect(
        kind=res.PERSON, first_name="Je\u0301ro\u0302me", last_name="S\u0326tefan \u1112\u1161\u11ab",
        notes="He\u0301le\u0300ne " * 600, address=res.Address(city="Lie\u0300ge")))
    seeds["createprospect_decomposed"] = bytes([METHODS.index("CreateProspect"), 0]) + \
        nfd.SerializeToString()
    seeds["createprospect_decomposed_small_budget"] = \
        bytes([METHODS.index("CreateProspect"), 0x80]) + nfd.SerializeToString()
    # refused before decoding: a NUL, invalid UTF-8, too many values, a singular message twice
    # (protobuf-c would merge the copies: 2 x 30 paths past the cap of 32)
    get = METHODS.index("GetProspect")
    seeds["refused_nul"] = bytes([get, 0]) + b"\x0a\x05ab\x00cd"
    seeds["refused_utf8"] = bytes([get, 0]) + b"\x0a\x03a\xc3("
    seeds["refused_sources"] = bytes([METHODS.index("MergeProspects"), 0]) + \
        svc.MergeProspectsRequest(target=P1, sources=[svc.MergeSource(name=P2)] * 11,
                                  request_id="merge-0002").SerializeToString()
    mask = svc.UpdateProspectRequest(update_mask=field_mask_pb2.FieldMask(paths=["email"] * 30))
    seeds["refused_mask_twice"] = bytes([METHODS.index("UpdateProspect"), 0]) + \
        svc.UpdateProspectRequest(prospect=res.Prospect(name=P1)).SerializeToString() + \
        2 * mask.SerializeToString()
    return seeds


NAME_PARSERS = ["tenant", "apps", "prospect", "contact_person", "document", "merge"]


def names_seeds():
    """byte 0: parser (names.h order), then the name"""
    valid = [PARENT, PARENT + "/apps", P1, CP1, DOC1, MERGE1]
    seeds = {}
    for i, (parser, name) in enumerate(zip(NAME_PARSERS, valid)):
        seeds[parser] = bytes([i]) + name.encode()
    seeds["prospect_upper_hex"] = bytes([2]) + (PARENT + "/prospects/" +
                                                P3.rsplit("/", 1)[1].upper()).encode()
    seeds["tenant_longest"] = bytes([0]) + ("tenants/" + "a" + "-b" * 31).encode()
    seeds["prospect_trailing_slash"] = bytes([2]) + (P1 + "/").encode()
    seeds["contact_person_bad_uuid"] = bytes([3]) + CP1[:-1].encode() + b"g"
    seeds["merge_utf8"] = bytes([5]) + "tenants/acmé/merges/x".encode()
    return seeds


def pagetoken_seeds():
    """the token as text (fuzz_pagetoken.c's contexts), or any bytes as a position"""
    return {
        "list_prospects": page_token(list_prospects_ctx(), b"\x00" + ID1).encode(),
        "list_merges": page_token(LIST_MERGES_CTX, ID1).encode(),
        "list_contact_persons": page_token(LIST_CONTACTS_CTX, ID1).encode(),
        "other_key": page_token(LIST_MERGES_CTX, ID1, b"another key").encode(),
        "empty_position": page_token(LIST_MERGES_CTX, b"").encode(),
        "position_bytes": b"\x01" + ID1 + "Café Zürich".encode(),
    }


def reflection_seeds():
    r = reflection_pb2.ServerReflectionRequest
    reqs = {
        "list_services": r(host="localhost", list_services="*"),
        "symbol_service": r(file_containing_symbol="prospects.v1.ProspectService"),
        "symbol_method": r(file_containing_symbol="prospects.v1.ProspectService.GetProspect"),
        "symbol_enum_value": r(file_containing_symbol="prospects.v1.COMPANY"),
        "symbol_error_info": r(file_containing_symbol="google.rpc.ErrorInfo"),
        "symbol_unknown": r(file_containing_symbol="prospects.v1.Nothing"),
        "filename": r(file_by_filename="prospects/v1/service.proto"),
        "filename_timestamp": r(file_by_filename="google/protobuf/timestamp.proto"),
        "extension": r(file_containing_extension=reflection_pb2.ExtensionRequest(
            containing_type="prospects.v1.Prospect", extension_number=100)),
        "extension_numbers": r(all_extension_numbers_of_type="prospects.v1.Prospect"),
        "empty": r(),
    }
    seeds = {k: v.SerializeToString() for k, v in reqs.items()}
    # field numbers protobuf-c keeps as unknown fields: 0 in two bytes (also inside a nested
    # message), 2^29 (past the largest), then a list request
    seeds["field_zero"] = b"\x80\x00\x00" + r(list_services="").SerializeToString()
    seeds["field_zero_nested"] = b"\x2a\x03\x80\x00\x00"
    seeds["field_number_too_large"] = b"\x80\x80\x80\x80\x10\x00" + \
        r(list_services="").SerializeToString()
    seeds["symbol_not_utf8"] = b"\x22\x02\xc3("  # file_containing_symbol, invalid UTF-8
    return seeds


def message_index(method, response):
    """fuzz_cli_json.c's byte 0: the requests and responses of the service in turn"""
    return 2 * METHODS.index(method) + (1 if response else 0)


def cli_json_seeds():
    """byte 0: message type, byte 1: flags (bit 0 pretty, bit 1 wire bytes), then JSON or bytes"""
    json_seeds = [
        # README.md and client/README.md
        ("UpdateTenantApps", False, "readme_update_tenant_apps",
         '{"apps": {"name": "tenants/acme/apps", "prospectsEnabled": true}, '
         '"updateMask": "prospectsEnabled"}'),
        ("CreateProspect", False, "readme_create_prospect",
         '{"parent": "tenants/acme", "prospect": {"kind": "COMPANY", "companyName": "Acme B.V."}}'),
        ("CreateProspect", False, "client_readme_create_person",
         '{"parent": "tenants/acme", "prospect": {"kind": "PERSON", "firstName": "Ann"}}'),
        ("GetProspect", False, "readme_get_prospect", json.dumps({"name": P1})),
        ("GetTenantApps", False, "client_readme_get_tenant_apps", '{"name": "tenants/acme/apps"}'),
        # both field spellings, enums by number, 64-bit integers, null, escapes
        ("ListProspects", False, "list_prospects",
         '{"parent": "tenants/acme", "page_size": 20, "query": "M\\u00fcller \\ud83d\\ude00", '
         '"stateFilter": 3, "orderBy": "BY_NAME", "pageToken": null}'),
        ("UpdateProspect", False, "update_mask_paths",
         json.dumps({"prospect": {"name": P1, "address": {"city": "Utrecht",
                                                          "countryCode": "NL"}},
                     "updateMask": "address.city, address.countryCode,notes"})),
        ("MergeProspects", False, "merge",
         json.dumps({"target": P1, "sources": [{"name": P2, "etag": "v1"}, {"name": P3}],
                     "moveContactPersons": True, "validateOnly": False,
                     "requestId": "merge-0001"})),
        ("IntakeQuoteRequest", False, "intake",
         json.dumps({"parent": PARENT, "requestId": "intake-1",
                     "quoteRequest": {"type": "QUOTE_REQUEST", "documentId": "QR-1",
                                      "documentTime": "2024-05-01T12:00:00.5+02:00"},
                     "newProspect": {"kind": "PERSON", "lastName": "Jansen"}})),
        # responses, as the CLI prints them
        ("GetProspect", True, "prospect_response",
         json.dumps({"name": P1, "kind": "COMPANY", "displayName": "Acme B.V.", "state": "CUSTOMER",
                     "createTime": "2024-05-01T12:00:00Z",
                     "updateTime": "2024-05-02T08:30:00.123456Z",
                     "convertTime": "1970-01-01T00:00:00.000000001Z", "etag": "v9"})),
        ("FindDuplicateProspects", True, "duplicates_response",
         json.dumps({"duplicates": [{"prospect": {"name": P2},
                                     "reasons": ["SAME_EMAIL", "SIMILAR_NAME", 9]}]})),
        ("MergeProspects", True, "merge_response",
         json.dumps({"merge": {"target": P1, "sources": [P2], "sourceSnapshots": [
             {"prospect": {"name": P2}, "contactPersons": [{"firstName": "Jan"}]}]},
             "violations": [{"reason": "NOT_A_COMPANY", "subject": P1,
                             "description": "The target is a person."}]}, indent=2)),
    ]
    seeds = {}
    for method, response, name, text in json_seeds:
        seeds[name] = bytes([message_index(method, response), 1 if "\n" in text else 0]) + \
            text.encode()
    wire = [
        ("GetProspect", "prospect_wire", res.Prospect(
            name=P1, kind=res.PERSON, display_name="Ann Müller", state=res.PROSPECT,
            create_time=ts(1714564800, 500000000), update_time=ts(-62135596800), etag="v1")),
        ("ListMerges", "list_merges_wire", svc.ListMergesResponse(
            merges=[res.Merge(name=MERGE1, target=P1, sources=[P2], caller="spiffe://x/quoting",
                              create_time=ts(253402300799, 999999999))],
            next_page_token=page_token(LIST_MERGES_CTX, ID1))),
        ("UpdateTenantApps", "tenant_apps_wire", res.TenantApps(
            name=PARENT + "/apps", prospects_enabled=True, update_time=ts(1714564800), etag="v2")),
    ]
    for method, name, msg in wire:
        seeds[name] = bytes([message_index(method, True), 2]) + msg.SerializeToString()
    seeds["update_prospect_wire"] = bytes([message_index("UpdateProspect", False), 3]) + \
        svc.UpdateProspectRequest(prospect=res.Prospect(name=P1, email="a@b.example"),
                                  update_mask=field_mask_pb2.FieldMask(paths=["email"])
                                  ).SerializeToString()
    return seeds


CALLERS = {
    "quoting": ["spiffe://example.org/ns/prod/sa/quoting"],
    "invoicing": ["spiffe://example.org/ns/prod/sa/invoicing"],
    "account": ["spiffe://example.org/ns/prod/sa/account", "account.prospects.svc"],
    "web": ["web.prospects.svc"],
    "operators": ["CN=operators,O=Example"],
}


def policy_seeds():
    """the policy text, then (after a NUL) path, URI SAN, DNS SAN, subject, header key, value..."""
    with open(os.path.join(ROOT, "helm", "prospect-service", "files", "authz-policy.json")) as f:
        chart = re.sub(r"\{\{\s*\.Values\.authz\.callers\.(\w+)\s*\|\s*toJson\s*\}\}",
                       lambda m: json.dumps(CALLERS[m.group(1)]), f.read())
    json.loads(chart)
    header_example = {
        "name": "prospects",
        "deny_rules": [{"name": "no-canary-merges",
                        "request": {"paths": ["*/MergeProspects"],
                                    "headers": [{"key": "x-env", "values": ["canary*"]}]}}],
        "allow_rules": [{"name": "quoting",
                         "source": {"principals": ["spiffe://example.org/ns/prod/sa/quoting"]},
                         "request": {"paths": ["/prospects.v1.ProspectService/Get*"],
                                     "headers": [{"key": "x-env", "values": ["prod"]}]}},
                        {"name": "health", "request": {"paths": ["/grpc.health.v1.Health/*"]}},
                        {"name": "anyone-authenticated", "source": {"principals": ["*"]},
                         "request": {"paths": ["*/ResolveProspect"]}}],
        "audit_logging_options": {},
    }
    call = "\0".join(["/prospects.v1.ProspectService/GetProspect",
                      "spiffe://example.org/ns/prod/sa/quoting", "", "CN=quoting",
                      "x-env", "prod", "X-Env", "canary"])
    return {
        "chart": chart.encode(),
        "chart_call": chart.encode() + b"\0" + call.encode(),
        "headers_call": json.dumps(header_example).encode() + b"\0" + call.encode(),
        "minimal": b'{"name": "x", "allow_rules": []}',
        "broken_rule_name": b'{"name": "broken", "allow_rules": [{"name": 1}]}',
        "unknown_field":
            b'{"name": "x", "allow_rules": [{"name": "a", "source": {"principal": ["x"]}}]}',
    }


HARNESSES = {
    "fuzz_decode": decode_seeds,
    "fuzz_names": names_seeds,
    "fuzz_pagetoken": pagetoken_seeds,
    "fuzz_reflection": reflection_seeds,
    "fuzz_cli_json": cli_json_seeds,
    "fuzz_policy": policy_seeds,
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    total = 0
    for harness, make in HARNESSES.items():
        seeds = make()
        d = os.path.join(out, harness)
        os.makedirs(d, exist_ok=True)
        for stale in set(os.listdir(d)) - set(seeds):
            os.remove(os.path.join(d, stale))
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            total += len(data)
        print("%-16s %3d seeds" % (harness, len(seeds)))
    print("%d bytes in all" % total)


if __name__ == "__main__":
    main()
