"""Interop: Debian's python3-grpcio, a gRPC implementation that is not ours, as the client of the
real server binary. It creates and reads a prospect and sees NOT_FOUND, INVALID_ARGUMENT, the
cross-tenant NOT_FOUND and the ErrorInfo reason PROSPECTS_APP_DISABLED, decoded here from the
grpc-status-details-bin trailer by hand; and it uses grpc.health.v1 Check and Watch.

Only the server's start-up comes from the harness: every call below is plain grpcio."""

import signal
import threading
import time
import unittest

import grpc

import harness
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_protos.health.v1 import health_pb2
from prospects.v1 import resources_pb2, service_pb2

SERVICE = "/prospects.v1.ProspectService/"


class Client:
    """A hand-written stub over grpcio's generic unary API (Debian ships no generated *_grpc stubs)."""

    def __init__(self, address):
        self.channel = grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)])
        grpc.channel_ready_future(self.channel).result(timeout=10)

    def _unary(self, method, request, response_class, timeout=10):
        return self.channel.unary_unary(SERVICE + method,
                                        request_serializer=request.__class__.SerializeToString,
                                        response_deserializer=response_class.FromString)(request, timeout=timeout)

    def create_prospect(self, parent, prospect, request_id):
        return self._unary("CreateProspect", service_pb2.CreateProspectRequest(
            parent=parent, prospect=prospect, request_id=request_id), resources_pb2.Prospect)

    def get_prospect(self, name):
        return self._unary("GetProspect", service_pb2.GetProspectRequest(name=name), resources_pb2.Prospect)

    def update_tenant_apps(self, apps, paths):
        return self._unary("UpdateTenantApps", service_pb2.UpdateTenantAppsRequest(
            apps=apps, update_mask=field_mask_pb2.FieldMask(paths=paths)), resources_pb2.TenantApps)

    def health_check(self, service=""):
        return self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)(
                health_pb2.HealthCheckRequest(service=service), timeout=5)

    def health_watch(self, service=""):
        return self.channel.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)(
                health_pb2.HealthCheckRequest(service=service))

    def close(self):
        self.channel.close()


def rich_status(rpc_error):
    """(google.rpc.Status, [ErrorInfo]) from the grpc-status-details-bin trailer."""
    raw = dict(rpc_error.trailing_metadata() or ()).get("grpc-status-details-bin")
    if raw is None:
        return None, []
    status = status_pb2.Status.FromString(raw)
    infos = []
    for any_ in status.details:
        if any_.type_url.endswith("/google.rpc.ErrorInfo"):
            infos.append(error_details_pb2.ErrorInfo.FromString(any_.value))
    return status, infos


class PythonGrpcioClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(env={"PS_GRACE_MS": 2000})
        cls.client = Client(cls.server.address)
        cls.tenant = harness.new_tenant("interop")
        cls.client.update_tenant_apps(resources_pb2.TenantApps(
            name="tenants/%s/apps" % cls.tenant, prospects_enabled=True), ["prospects_enabled"])
        cls.wait_gate_open(cls.tenant)

    @classmethod
    def wait_gate_open(cls, tenant):
        """SPEC.md: a change of the apps is visible within one second."""
        deadline = time.monotonic() + 1.5
        while True:
            try:
                cls.client.get_prospect("tenants/%s/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b" % tenant)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                    return
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.close()

    def expect(self, fn, code, reason=None):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        e = cm.exception
        self.assertEqual(e.code(), code, e.details())
        self.assertTrue(e.details(), "a message for a human")
        status, infos = rich_status(e)
        self.assertIsNotNone(status, "grpc-status-details-bin is present")
        self.assertEqual(status.code, code.value[0])
        self.assertEqual(status.message, e.details())
        if reason:
            self.assertEqual([(i.reason, i.domain) for i in infos], [(reason, "prospects.v1")])
        return e, infos

    def test_create_and_read_a_prospect(self):
        sent = resources_pb2.Prospect(kind=resources_pb2.COMPANY, company_name="Interop Ltd",
                                      email="hello@interop.example",
                                      address=resources_pb2.Address(city="Gent", country_code="BE"))
        created = self.client.create_prospect("tenants/%s" % self.tenant, sent, "interop-create-1")
        self.assertTrue(created.name.startswith("tenants/%s/prospects/" % self.tenant))
        self.assertEqual(created.display_name, "Interop Ltd")
        self.assertEqual(created.state, resources_pb2.PROSPECT)
        self.assertTrue(created.etag)
        self.assertEqual(self.client.get_prospect(created.name), created)

    def test_not_found(self):
        self.expect(lambda: self.client.get_prospect(
            "tenants/%s/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b" % self.tenant), grpc.StatusCode.NOT_FOUND)

    def test_invalid_argument_names_the_field(self):
        e, infos = self.expect(lambda: self.client.get_prospect("tenants/%s/prospects/nope" % self.tenant),
                               grpc.StatusCode.INVALID_ARGUMENT, reason="INVALID_FIELD")
        self.assertEqual(infos[0].metadata["field"], "name")
        self.assertTrue(e.details().startswith("name"))
        e, infos = self.expect(lambda: self.client.create_prospect(
            "tenants/%s" % self.tenant, resources_pb2.Prospect(kind=resources_pb2.PERSON, first_name="x" * 101),
            "interop-bad-1"), grpc.StatusCode.INVALID_ARGUMENT, reason="INVALID_FIELD")
        self.assertEqual(infos[0].metadata["field"], "prospect.first_name")

    def test_cross_tenant_not_found(self):
        mine = self.client.create_prospect("tenants/%s" % self.tenant,
                                           resources_pb2.Prospect(kind=resources_pb2.PERSON, last_name="Mine"),
                                           "interop-mine-1")
        other = harness.new_tenant("interop")
        self.client.update_tenant_apps(resources_pb2.TenantApps(
            name="tenants/%s/apps" % other, prospects_enabled=True), ["prospects_enabled"])
        self.wait_gate_open(other)
        e, _ = self.expect(lambda: self.client.get_prospect(mine.name.replace(self.tenant, other, 1)),
                           grpc.StatusCode.NOT_FOUND)
        self.assertNotIn("Mine", e.details())
        self.assertNotIn(self.tenant, e.details())

    def test_app_disabled_reason(self):
        off = harness.new_tenant("interop")
        _, infos = self.expect(lambda: self.client.create_prospect(
            "tenants/%s" % off, resources_pb2.Prospect(kind=resources_pb2.PERSON, last_name="X"), "interop-off-1"),
            grpc.StatusCode.FAILED_PRECONDITION, reason="PROSPECTS_APP_DISABLED")
        self.assertEqual(infos[0].domain, "prospects.v1")

    def test_health_check(self):
        self.assertEqual(self.client.health_check().status, health_pb2.HealthCheckResponse.SERVING)
        self.expect(lambda: self.client.health_check("no.such.Service"), grpc.StatusCode.NOT_FOUND)

    def test_zz_health_watch_streams_the_change_on_sigterm(self):
        # runs last (alphabetical order): it stops the server
        stream = self.client.health_watch()
        got = []
        first = threading.Event()

        def read():
            try:
                for msg in stream:
                    got.append(msg.status)
                    first.set()
            except grpc.RpcError:
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        self.assertTrue(first.wait(5), "Watch sends the current status at once")
        self.assertEqual(got, [health_pb2.HealthCheckResponse.SERVING])
        self.server.proc.send_signal(signal.SIGTERM)
        reader.join(10)
        self.assertFalse(reader.is_alive(), "the stream ends when the server stops")
        self.assertEqual(got, [health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING])
        self.assertEqual(self.server.proc.wait(10), 0, self.server.log())


if __name__ == "__main__":
    harness.main()
