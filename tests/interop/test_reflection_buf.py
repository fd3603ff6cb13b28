"""Interop: `buf curl` (npm package @bufbuild/buf, a Go gRPC client that, like grpcurl, learns the
schema from server reflection) against the real server, with no proto files at hand: it lists the
services and methods, describes the service and a message (buf has no `describe`, so it calls the
reflection service itself, whose schema it also got by reflection), enables the PROSPECTS app with
UpdateTenantApps, creates and reads a prospect with JSON, and shows an error's gRPC code (its exit
status is the code << 3) and the ErrorInfo in the details. Each with --reflect-protocol grpc-v1 and
grpc-v1alpha (buf's verbose log shows which reflection service it asked)."""

import base64
import json
import os
import subprocess
import tempfile
import uuid

import grpc

import harness
import ps_testlib as T
from google.protobuf import descriptor_pb2
from google.rpc import error_details_pb2
from prospects.v1 import resources_pb2, service_pb2

SERVICE = "prospects.v1.ProspectService"
SERVICES = {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection"}
SERVICE_DESC = service_pb2.DESCRIPTOR.services_by_name["ProspectService"]
PROTOCOLS = ("grpc-v1", "grpc-v1alpha")
UNKNOWN_ID = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"


class BufCurl(T.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.buf = os.path.join(harness.node_modules(".bin/buf"), ".bin", "buf")
        cls.base = "http://" + cls.server.address
        cls.cache = tempfile.TemporaryDirectory(prefix="ps-buf-")
        # no proxy for the loopback server; buf's cache in a throw-away folder
        cls.env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        cls.env.update(BUF_CACHE_DIR=cls.cache.name, BUF_LOG_FORMAT="text")

    @classmethod
    def tearDownClass(cls):
        cls.cache.cleanup()

    def curl(self, *args, data=None, protocol=None, check=True):
        """buf curl --protocol grpc --http2-prior-knowledge [--reflect-protocol P] -v [-d DATA] ARGS.
        Returns (exit status, stdout, stderr without buf's verbose lines, verbose lines)."""
        cmd = [self.buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-v",
               "--timeout", "30s"]
        if protocol:
            cmd += ["--reflect-protocol", protocol]
        if data is not None:
            cmd += ["-d", data if isinstance(data, str) else json.dumps(data)]
        out = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60,
                             env=self.env)
        lines = out.stderr.splitlines(keepends=True)
        verbose = "".join(l for l in lines if l.startswith("buf: "))
        stderr = "".join(l for l in lines if not l.startswith("buf: "))
        if check and out.returncode != 0:
            self.fail("%s exited with %d:\n%s%s" % (" ".join(cmd[1:] + list(args)), out.returncode,
                                                    out.stdout, out.stderr))
        if protocol:
            asked = "POST /grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % protocol[5:]
            self.assertIn(asked, verbose, "buf did not use %s reflection" % protocol)
        return out.returncode, out.stdout, stderr, verbose

    def call(self, method, request, protocol=None):
        """A unary call with a JSON request that must succeed; the JSON response."""
        _, stdout, _, _ = self.curl("%s/%s/%s" % (self.base, SERVICE, method), data=request,
                                    protocol=protocol)
        return json.loads(stdout)

    def call_error(self, method, request, code, protocol=None):
        """A call that must fail with code: (the error JSON buf printed, [ErrorInfo])."""
        rc, stdout, stderr, _ = self.curl("%s/%s/%s" % (self.base, SERVICE, method), data=request,
                                          protocol=protocol, check=False)
        self.assertEqual(rc, code.value[0] << 3, "exit status is the gRPC code << 3: " + stderr)
        self.assertEqual(stdout, "")
        err = json.loads(stderr)
        self.assertEqual(err["code"], code.name.lower(), err)
        infos = []
        for d in err.get("details", []):
            if d["type"] == "google.rpc.ErrorInfo":
                infos.append(error_details_pb2.ErrorInfo.FromString(
                    base64.b64decode(d["value"] + "=" * (-len(d["value"]) % 4))))
        return err, infos

    def enabled_tenant(self, protocol=None):
        """A new tenant whose PROSPECTS app was turned on with buf curl."""
        tenant = harness.new_tenant("buf")
        apps = self.call("UpdateTenantApps", {
            "apps": {"name": "tenants/%s/apps" % tenant, "prospectsEnabled": True},
            "updateMask": "prospectsEnabled"}, protocol)
        self.assertEqual(apps["name"], "tenants/%s/apps" % tenant)
        self.assertIs(apps["prospectsEnabled"], True)
        T.wait_gate(self.channel, tenant, True)  # SPEC: visible within a second
        return tenant

    # ------------------------------------------------------------ list

    def test_list_services(self):
        for protocol in (None,) + PROTOCOLS:
            with self.subTest(reflect_protocol=protocol):
                _, out, _, _ = self.curl("--list-services", self.base, protocol=protocol)
                self.assertEqual(sorted(out.split()), sorted(SERVICES))

    def test_list_methods(self):
        want = {"%s/%s" % (SERVICE, m.name) for m in SERVICE_DESC.methods}
        self.assertGreaterEqual(len(want), 20)
        want |= {"grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch",
                 "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                 "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}
        for protocol in (None,) + PROTOCOLS:
            with self.subTest(reflect_protocol=protocol):
                _, out, _, _ = self.curl("--list-methods", self.base, protocol=protocol)
                self.assertEqual(sorted(out.split()), sorted(want))

    # ------------------------------------------------------------ describe

    def describe(self, symbol, protocol):
        """The FileDescriptorProtos buf fetched from ServerReflectionInfo for symbol, {name: fdp}."""
        version = protocol[5:]
        _, out, _, _ = self.curl(
            "%s/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % (self.base, version),
            data={"fileContainingSymbol": symbol}, protocol=protocol)
        resp = json.loads(out)
        self.assertEqual(resp["originalRequest"], {"fileContainingSymbol": symbol})
        files = [descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(b))
                 for b in resp["fileDescriptorResponse"]["fileDescriptorProto"]]
        return files[0], {f.name: f for f in files}

    def test_describe_the_service(self):
        want = [(m.name, "." + m.input_type.full_name, "." + m.output_type.full_name,
                 m.client_streaming, m.server_streaming) for m in SERVICE_DESC.methods]
        for protocol in PROTOCOLS:
            with self.subTest(reflect_protocol=protocol):
                first, files = self.describe(SERVICE, protocol)
                self.assertEqual(first.name, "prospects/v1/service.proto")
                svc = next(s for s in first.service if s.name == "ProspectService")
                self.assertEqual([(m.name, m.input_type, m.output_type, m.client_streaming,
                                   m.server_streaming) for m in svc.method], want)
                for dep in first.dependency:
                    self.assertIn(dep, files, "import %s came along" % dep)

    def test_describe_a_message(self):
        want = [(f.name, f.number, f.json_name) for f in resources_pb2.Prospect.DESCRIPTOR.fields]
        for protocol in PROTOCOLS:
            with self.subTest(reflect_protocol=protocol):
                first, files = self.describe("prospects.v1.Prospect", protocol)
                self.assertEqual(first.name, "prospects/v1/resources.proto")
                msg = next(m for m in first.message_type if m.name == "Prospect")
                self.assertEqual([(f.name, f.number, f.json_name) for f in msg.field], want)
                kind = next(f for f in msg.field if f.name == "kind")
                self.assertEqual(kind.type_name, ".prospects.v1.PartyKind")
                self.assertIn("google/protobuf/timestamp.proto", files)

    # ------------------------------------------------------------ invoke

    def test_create_and_get_with_json(self):
        for protocol in PROTOCOLS:
            with self.subTest(reflect_protocol=protocol):
                tenant = self.enabled_tenant(protocol)
                request_id = str(uuid.uuid4())
                created = self.call("CreateProspect", {
                    "parent": "tenants/%s" % tenant, "requestId": request_id,
                    "prospect": {"kind": "PERSON", "firstName": "Ada", "lastName": "Buf",
                                 "email": "ada@example.com",
                                 "address": {"countryCode": "NL", "city": "Utrecht"}}}, protocol)
                self.assertRegex(created["name"], r"^tenants/%s/prospects/%s$" % (tenant, T.UUID_RE))
                self.assertEqual((created["kind"], created["state"], created["displayName"]),
                                 ("PERSON", "PROSPECT", "Ada Buf"))
                self.assertEqual(created["address"]["city"], "Utrecht")
                self.assertRegex(created["createTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
                got = self.call("GetProspect", {"name": created["name"]}, protocol)
                self.assertEqual(got, created)
                # the same request id again: the same record, not a second one
                again = self.call("CreateProspect", {
                    "parent": "tenants/%s" % tenant, "requestId": request_id,
                    "prospect": {"kind": "PERSON", "firstName": "Ada", "lastName": "Buf",
                                 "email": "ada@example.com",
                                 "address": {"countryCode": "NL", "city": "Utrecht"}}}, protocol)
                self.assertEqual(again["name"], created["name"])
                # what buf wrote is what grpcio reads with the generated modules
                back = T.get(self.channel, created["name"])
                self.assertEqual((back.first_name, back.last_name, back.email, back.address.city),
                                 ("Ada", "Buf", "ada@example.com", "Utrecht"))
                self.assertEqual(len(T.list_all(self.channel, tenant)), 1)

    # ------------------------------------------------------------ errors

    def test_errors_show_code_and_reason(self):
        tenant = self.enabled_tenant()
        off = harness.new_tenant("buf-off")
        for protocol in PROTOCOLS:
            with self.subTest(reflect_protocol=protocol):
                err, infos = self.call_error(
                    "GetProspect", {"name": "tenants/%s/prospects/%s" % (tenant, UNKNOWN_ID)},
                    grpc.StatusCode.NOT_FOUND, protocol)
                self.assertIn(UNKNOWN_ID, err["message"])
                self.assertEqual([(i.reason, i.domain) for i in infos],
                                 [("PROSPECT_NOT_FOUND", "prospects.v1")])

                _, infos = self.call_error(
                    "GetProspect", {"name": "tenants/%s/prospects/%s" % (off, UNKNOWN_ID)},
                    grpc.StatusCode.FAILED_PRECONDITION, protocol)
                self.assertEqual([i.reason for i in infos], ["PROSPECTS_APP_DISABLED"])

                err, infos = self.call_error(
                    "CreateProspect", {"parent": "tenants/%s" % tenant, "prospect": {"kind": "COMPANY"}},
                    grpc.StatusCode.INVALID_ARGUMENT, protocol)
                self.assertTrue(err["message"].startswith("prospect.company_name"), err)
                self.assertEqual([(i.reason, dict(i.metadata)) for i in infos],
                                 [("INVALID_FIELD", {"field": "prospect.company_name"})])

    def test_unknown_names_are_refused_by_buf(self):
        """What reflection does not describe, buf refuses before calling (exit status 1)."""
        cases = [("%s/%s/NoSuchMethod" % (self.base, SERVICE), None, "no such method"),
                 ("%s/prospects.v1.NoSuchService/Get" % self.base, None, "prospects.v1.NoSuchService"),
                 ("%s/%s/GetProspect" % (self.base, SERVICE), {"nosuch": 1}, 'unknown field "nosuch"')]
        for url, data, words in cases:
            with self.subTest(url=url, data=data):
                rc, out, stderr, _ = self.curl(url, data=data, check=False)
                self.assertEqual(rc, 1, stderr)
                self.assertIn(words, stderr)


if __name__ == "__main__":
    harness.main()
