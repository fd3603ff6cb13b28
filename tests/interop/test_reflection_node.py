"""Interop: server reflection through a client that is not ours, grpc-js-reflection-client on
@grpc/grpc-js (npm, run by node), with no proto files: tests/interop/reflection/reflect.js lists the
services and the methods, fetches the file containing prospects.v1.ProspectService and the file
prospects/v1/service.proto with their imports, resolves every type, calls CreateProspect and
GetProspect through a stub built from those descriptors alone, decodes an error's ErrorInfo with
google.rpc types that also came from reflection, and asks for an unknown symbol and file. Once with
grpc.reflection.v1, once with v1alpha; the answers are checked here against the generated Python
modules of the same protos."""

import json
import os
import shutil
import subprocess
import unittest

import grpc

import harness
import ps_testlib as T
from google.protobuf import descriptor as pb_descriptor
from prospects.v1 import resources_pb2, service_pb2

SCRIPT = os.path.join(harness.SOURCE_DIR, "tests", "interop", "reflection", "reflect.js")
SERVICES = {"prospects.v1.ProspectService", "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
SERVICE_DESC = service_pb2.DESCRIPTOR.services_by_name["ProspectService"]
# protobufjs names the scalar types by their .proto keyword.
SCALAR = {pb_descriptor.FieldDescriptor.TYPE_STRING: "string", pb_descriptor.FieldDescriptor.TYPE_INT32: "int32",
          pb_descriptor.FieldDescriptor.TYPE_INT64: "int64", pb_descriptor.FieldDescriptor.TYPE_BOOL: "bool",
          pb_descriptor.FieldDescriptor.TYPE_BYTES: "bytes", pb_descriptor.FieldDescriptor.TYPE_UINT32: "uint32",
          pb_descriptor.FieldDescriptor.TYPE_DOUBLE: "double"}


def expected_field(f):
    if f.message_type is not None:
        kind = "." + f.message_type.full_name
    elif f.enum_type is not None:
        kind = "." + f.enum_type.full_name
    else:
        kind = SCALAR[f.type]
    # grpc-js-reflection-client 1.3 builds its root with protobufjs 7, which keeps the proto's own
    # field names (1.4's protobufjs 8 turned them into JSON names)
    return [f.name, f.number, kind, f.label == f.LABEL_REPEATED]


class NodeReflectionClient(T.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node = shutil.which("node")
        if cls.node is None:
            raise RuntimeError("node is not on PATH (scripts/lib.sh installs Debian's nodejs)")
        cls.modules = harness.node_modules("@grpc/grpc-js/package.json",
                                           "grpc-js-reflection-client/package.json")
        cls.tenant = T.new_enabled_tenant(cls.channel, "node-refl")
        cls.reports = {v: cls.run_client(v) for v in ("v1", "v1alpha")}

    @classmethod
    def run_client(cls, version):
        env = dict(os.environ, NODE_PATH=cls.modules)
        out = subprocess.run([cls.node, SCRIPT, cls.server.address, version, cls.tenant],
                             capture_output=True, text=True, timeout=120, env=env)
        if out.returncode != 0:
            raise AssertionError("reflect.js %s exited with %d:\n%s%s"
                                 % (version, out.returncode, out.stdout, out.stderr))
        return json.loads(out.stdout)

    def each(self):
        for version, report in self.reports.items():
            with self.subTest(reflection=version):
                yield version, report

    def test_lists_services_and_methods(self):
        for _, r in self.each():
            self.assertEqual(set(r["services"]), SERVICES)
            self.assertEqual(len(r["services"]), len(SERVICES), r["services"])
            self.assertEqual(r["rawList"], [r["services"]])
            self.assertEqual(r["methods"], [m.name for m in SERVICE_DESC.methods])

    def test_method_signatures_resolve(self):
        want = {m.name: [m.input_type.full_name, m.output_type.full_name, m.client_streaming,
                         m.server_streaming] for m in SERVICE_DESC.methods}
        for _, r in self.each():
            self.assertEqual(r["signatures"], want)

    def test_message_and_enum_types_resolve(self):
        fields = [expected_field(f) for f in resources_pb2.Prospect.DESCRIPTOR.fields]
        kinds = {v.name: v.number for v in resources_pb2.PartyKind.DESCRIPTOR.values}
        for _, r in self.each():
            self.assertEqual(r["prospectFields"], fields)
            self.assertEqual(r["partyKindValues"], kinds)
            self.assertTrue(r["byNameResolves"])

    def test_files_come_with_their_imports(self):
        for _, r in self.each():
            for key in ("symbolFiles", "nameFiles"):
                files = dict(r[key])
                self.assertEqual(r[key][0][0], "prospects/v1/service.proto", key)
                self.assertEqual(files["prospects/v1/service.proto"],
                                 [d.name for d in service_pb2.DESCRIPTOR.dependencies], key)
                # every import of every file sent is in the answer too (transitively closed)
                for name, deps in files.items():
                    for d in deps:
                        self.assertIn(d, files, "%s: %s imports %s" % (key, name, d))
                self.assertEqual(len(files), len(r[key]), "%s: a file sent twice" % key)

    def test_calls_through_the_reflected_descriptors(self):
        for version, r in self.each():
            created, got = r["created"], r["got"]
            self.assertRegex(created["name"], r"^tenants/%s/prospects/%s$" % (self.tenant, T.UUID_RE))
            self.assertEqual(created["company_name"], "Reflected %s GmbH" % version)
            self.assertEqual(created["kind"], "COMPANY")
            self.assertEqual(created["state"], "PROSPECT")
            self.assertEqual(got, created)
            # and it is really there, read back with grpcio and the generated modules
            back = T.get(self.channel, created["name"])
            self.assertEqual(back.company_name, created["company_name"])
            self.assertEqual(back.kind, resources_pb2.COMPANY)

    def test_error_details_decode_with_reflected_types(self):
        for _, r in self.each():
            self.assertEqual(r["missing"], {
                "code": grpc.StatusCode.NOT_FOUND.value[0], "statusCode": 5,
                "details": [{"type": "google.rpc.ErrorInfo", "reason": "PROSPECT_NOT_FOUND",
                             "domain": "prospects.v1"}]})

    def test_unknown_symbol_and_file(self):
        for _, r in self.each():
            # the package turns the error_response into a rejected promise
            self.assertTrue(r["unknownSymbolRejected"])
            self.assertTrue(r["unknownFileRejected"])
            # on the wire: an error_response with NOT_FOUND, not a failed stream
            self.assertEqual(r["unknownSymbol"]["code"], grpc.StatusCode.NOT_FOUND.value[0], r["unknownSymbol"])
            self.assertEqual(r["unknownFile"]["code"], grpc.StatusCode.NOT_FOUND.value[0], r["unknownFile"])
            self.assertTrue(r["unknownSymbol"]["message"])

    def test_v1_and_v1alpha_agree(self):
        drop = ("version", "created", "got")
        a, b = ({k: v for k, v in r.items() if k not in drop} for r in self.reports.values())
        self.assertEqual(a, b)


if __name__ == "__main__":
    harness.main()
