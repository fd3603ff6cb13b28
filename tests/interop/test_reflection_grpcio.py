"""Interop: the reflection protocol itself, spoken with Debian's python3-grpcio over a raw
ServerReflectionInfo bidi stream (channel.stream_stream) with the generated
grpc_protos.reflection.v1 / v1alpha messages: list_services, file_by_filename with its imports,
file_containing_symbol for a service, a method, a message, a nested type, an enum and a field, the
error_response (NOT_FOUND) for unknown files and symbols on a stream that stays usable, several
requests answered in order on one stream, and v1alpha giving byte-for-byte the same answers.
The descriptors served are compared with the generated Python modules of the same protos."""

import unittest

import grpc

import harness
import ps_testlib as T
from google.protobuf import descriptor_pb2
from google.rpc import error_details_pb2
from grpc_protos.health.v1 import health_pb2
from grpc_protos.reflection.v1 import reflection_pb2 as v1
from grpc_protos.reflection.v1alpha import reflection_pb2 as v1alpha
from prospects.v1 import resources_pb2, service_pb2

VERSIONS = {"v1": v1, "v1alpha": v1alpha}
SERVICES = {"prospects.v1.ProspectService", "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
SERVICE_FILE = "prospects/v1/service.proto"
RESOURCES_FILE = "prospects/v1/resources.proto"
NOT_FOUND = grpc.StatusCode.NOT_FOUND.value[0]


def without_json_names(fdp):
    """protoc's descriptor sets carry json_name on every field, the generated Python modules do not."""
    def strip(messages):
        for m in messages:
            for f in m.field:
                f.ClearField("json_name")
            strip(m.nested_type)
    out = descriptor_pb2.FileDescriptorProto()
    out.CopyFrom(fdp)
    strip(out.message_type)
    return out


def generated(module):
    fdp = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(fdp)
    return fdp


class ReflectionOverGrpcio(T.ServerTestCase):
    def stream(self, version, requests, timeout=10):
        """Send the requests on one ServerReflectionInfo stream; the responses, in order."""
        pb = VERSIONS[version]
        fn = self.channel.stream_stream(
            "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
            request_serializer=pb.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb.ServerReflectionResponse.FromString)
        return list(fn(iter(requests), timeout=timeout))

    def ask(self, version, **request):
        """One request -> its response; checks that the request is echoed back."""
        req = VERSIONS[version].ServerReflectionRequest(**request)
        responses = self.stream(version, [req])
        self.assertEqual(len(responses), 1)
        self.assertEqual(responses[0].original_request, req)
        return responses[0]

    def files(self, response):
        """[FileDescriptorProto] of a file_descriptor_response (fails on an error_response)."""
        self.assertEqual(response.WhichOneof("message_response"), "file_descriptor_response",
                         str(response))
        return [descriptor_pb2.FileDescriptorProto.FromString(b)
                for b in response.file_descriptor_response.file_descriptor_proto]

    def assertClosedUnderImports(self, fdps, first):
        names = [f.name for f in fdps]
        self.assertEqual(names[0], first)
        self.assertEqual(len(names), len(set(names)), "a file sent twice: %s" % names)
        for f in fdps:
            for dep in f.dependency:
                self.assertIn(dep, names, "%s imports %s, which was not sent" % (f.name, dep))

    def test_list_services(self):
        for version in VERSIONS:
            with self.subTest(reflection=version):
                r = self.ask(version, list_services="")
                names = [s.name for s in r.list_services_response.service]
                self.assertEqual(set(names), SERVICES)
                self.assertEqual(len(names), len(SERVICES))

    def test_file_by_filename_with_its_imports(self):
        for version in VERSIONS:
            with self.subTest(reflection=version):
                fdps = self.files(self.ask(version, file_by_filename=SERVICE_FILE))
                self.assertClosedUnderImports(fdps, SERVICE_FILE)
                self.assertEqual({f.name for f in fdps},
                                 {SERVICE_FILE, RESOURCES_FILE, "google/protobuf/empty.proto",
                                  "google/protobuf/field_mask.proto", "google/protobuf/timestamp.proto",
                                  "google/api/field_behavior.proto", "google/api/resource.proto",
                                  "google/protobuf/descriptor.proto"})
                by_name = {f.name: f for f in fdps}
                # the very descriptors protoc made of our protos (with json_name for JSON clients)
                self.assertEqual(without_json_names(by_name[SERVICE_FILE]), generated(service_pb2))
                self.assertEqual(without_json_names(by_name[RESOURCES_FILE]), generated(resources_pb2))
                company = [f for f in next(m for m in by_name[RESOURCES_FILE].message_type
                                           if m.name == "Prospect").field if f.name == "company_name"]
                self.assertEqual(company[0].json_name, "companyName")
                self.assertAnnotated(by_name)

    def assertAnnotated(self, by_name):
        """The contract a reader or a tool sees through reflection: google.api.field_behavior and
        google.api.resource / resource_reference on the reflected descriptors (AIP-203, AIP-123)."""
        from google.api import field_behavior_pb2 as fb, resource_pb2 as res
        # parsed again with the annotations' extensions known to this process
        resources = descriptor_pb2.FileDescriptorProto.FromString(
            by_name[RESOURCES_FILE].SerializeToString())
        service = descriptor_pb2.FileDescriptorProto.FromString(by_name[SERVICE_FILE].SerializeToString())
        msgs = {m.name: m for m in resources.message_type}
        prospect = msgs["Prospect"]
        self.assertEqual((prospect.options.Extensions[res.resource].type,
                          list(prospect.options.Extensions[res.resource].pattern)),
                         ("prospects.v1/Prospect", ["tenants/{tenant}/prospects/{prospect}"]))
        behavior = {f.name: set(f.options.Extensions[fb.field_behavior]) for f in prospect.field}
        self.assertEqual(behavior["kind"], {fb.REQUIRED, fb.IMMUTABLE})
        self.assertEqual(behavior["state"], {fb.OUTPUT_ONLY})
        self.assertEqual(behavior["create_time"], {fb.OUTPUT_ONLY})
        self.assertEqual(behavior["email"], {fb.OPTIONAL})
        # every field of every message carries a field_behavior, except in responses
        for f_ in (resources, service):
            for m in f_.message_type:
                if m.name.endswith("Response") or m.name in ("DuplicateCandidate", "MergeViolation"):
                    continue
                for field in m.field:
                    self.assertTrue(field.options.Extensions[fb.field_behavior],
                                    "%s.%s has no google.api.field_behavior" % (m.name, field.name))
        get = next(m for m in service.message_type if m.name == "GetProspectRequest").field[0]
        self.assertEqual(set(get.options.Extensions[fb.field_behavior]), {fb.REQUIRED})
        self.assertEqual(get.options.Extensions[res.resource_reference].type, "prospects.v1/Prospect")
        tenants = [d.pattern[0] for d in resources.options.Extensions[res.resource_definition]]
        self.assertEqual(tenants, ["tenants/{tenant}"])

    def test_file_containing_symbol(self):
        cases = {
            "prospects.v1.ProspectService": SERVICE_FILE,                      # service
            "prospects.v1.ProspectService.GetProspect": SERVICE_FILE,          # method
            "prospects.v1.CreateProspectRequest": SERVICE_FILE,                # message
            "prospects.v1.Prospect": RESOURCES_FILE,                           # message, other file
            "prospects.v1.PartyKind": RESOURCES_FILE,                          # enum
            "prospects.v1.COMPANY": RESOURCES_FILE,                            # enum value
            "grpc.health.v1.HealthCheckResponse.SERVING": "grpc/health/v1/health.proto",  # nested value
            "prospects.v1.StateFilter": SERVICE_FILE,                          # enum
            "prospects.v1.Prospect.company_name": RESOURCES_FILE,              # field
            "prospects.v1.FindDuplicateProspectsRequest.prospect": SERVICE_FILE,  # field in a oneof
            "grpc.health.v1.Health": "grpc/health/v1/health.proto",
            "grpc.health.v1.HealthCheckResponse.ServingStatus": "grpc/health/v1/health.proto",  # nested
            "google.rpc.ErrorInfo": "google/rpc/error_details.proto",
            "grpc.reflection.v1alpha.ServerReflection": "grpc/reflection/v1alpha/reflection.proto",
        }
        for version in VERSIONS:
            for symbol, file in cases.items():
                with self.subTest(reflection=version, symbol=symbol):
                    fdps = self.files(self.ask(version, file_containing_symbol=symbol))
                    self.assertClosedUnderImports(fdps, file)
        # the types a client needs to decode error details are all served
        fdps = self.files(self.ask("v1", file_containing_symbol="google.rpc.ErrorInfo"))
        got = next(f for f in fdps if f.name == "google/rpc/error_details.proto")
        self.assertIn("ErrorInfo", [m.name for m in got.message_type])
        self.assertEqual(without_json_names(got), generated(error_details_pb2))
        fdps = self.files(self.ask("v1", file_containing_symbol="grpc.health.v1.Health"))
        want = generated(health_pb2)  # generated here under another path (grpc_protos/...)
        want.name = "grpc/health/v1/health.proto"
        self.assertEqual(without_json_names(fdps[0]), want)

    def test_unknown_names_give_not_found(self):
        for version in VERSIONS:
            for request in ({"file_by_filename": "prospects/v1/nope.proto"},
                            {"file_by_filename": ""},
                            {"file_containing_symbol": "prospects.v1.NoSuchThing"},
                            {"file_containing_symbol": "prospects.v1.Prospect.no_such_field"},
                            {"file_containing_symbol": ".prospects.v1.Prospect"},  # no leading dot
                            {"all_extension_numbers_of_type": "prospects.v1.NoSuchThing"}):
                with self.subTest(reflection=version, request=request):
                    r = self.ask(version, **request)
                    self.assertEqual(r.WhichOneof("message_response"), "error_response", str(r))
                    self.assertEqual(r.error_response.error_code, NOT_FOUND)
                    self.assertTrue(r.error_response.error_message)

    def test_one_stream_many_requests_in_order(self):
        """An error answers that request only: the stream goes on (grpcurl sends several per stream)."""
        for version, pb in VERSIONS.items():
            with self.subTest(reflection=version):
                reqs = [pb.ServerReflectionRequest(file_containing_symbol="prospects.v1.Nope"),
                        pb.ServerReflectionRequest(list_services="*"),
                        pb.ServerReflectionRequest(file_by_filename=RESOURCES_FILE),
                        pb.ServerReflectionRequest(file_by_filename="nope.proto"),
                        pb.ServerReflectionRequest(file_containing_symbol="prospects.v1.Merge")]
                out = self.stream(version, reqs)
                self.assertEqual([r.original_request for r in out], reqs)
                self.assertEqual([r.WhichOneof("message_response") for r in out],
                                 ["error_response", "list_services_response", "file_descriptor_response",
                                  "error_response", "file_descriptor_response"])

    def test_v1alpha_answers_like_v1(self):
        requests = [{"list_services": ""}, {"file_by_filename": SERVICE_FILE},
                    {"file_by_filename": "google/rpc/status.proto"},
                    {"file_containing_symbol": "prospects.v1.ProspectService.MergeProspects"},
                    {"file_containing_symbol": "prospects.v1.Prospect.etag"},
                    {"file_containing_symbol": "no.such.Symbol"},
                    {"all_extension_numbers_of_type": "prospects.v1.Prospect"}]
        for request in requests:
            with self.subTest(request=request):
                a = self.ask("v1", **request)
                b = self.ask("v1alpha", **request)
                # the two protocols share one wire format: the same bytes answer the same question
                self.assertEqual(a.SerializeToString(deterministic=True),
                                 v1.ServerReflectionResponse.FromString(
                                     b.SerializeToString()).SerializeToString(deterministic=True))


if __name__ == "__main__":
    harness.main()
