"""Interop: the error details of AIP-193 as an independent client sees them. Debian's
python3-grpcio calls the real server binary and decodes the google.rpc.Status of the
grpc-status-details-bin trailer by hand: ErrorInfo (reason, domain), BadRequest (the field
violation of an INVALID_ARGUMENT) and RetryInfo (the delay) where a retry of the same call is right:
UNAVAILABLE (the database is down), RESOURCE_EXHAUSTED from load (a full queue; too many health
watchers). Calls that the same retry cannot fix carry no RetryInfo: an etag mismatch, a request
that is too large, invalid input.

Only the servers' and the databases' start-up come from the harness: every call is plain grpcio."""

import time
import unittest

import grpc

import harness
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_protos.health.v1 import health_pb2
from prospects.v1 import resources_pb2 as R, service_pb2 as S

SERVICE = "/prospects.v1.ProspectService/"
Code = grpc.StatusCode


def unary(channel, method, request, response_class, timeout=10):
    return channel.unary_unary(SERVICE + method, request_serializer=request.__class__.SerializeToString,
                               response_deserializer=response_class.FromString)(request, timeout=timeout)


def decode(rpc_error):
    """{"status": Status, "info": [ErrorInfo], "bad": [BadRequest], "retry": [RetryInfo]} from the
    trailer; status None when there is none. Decoded by type URL, as any client would."""
    raw = dict(rpc_error.trailing_metadata() or ()).get("grpc-status-details-bin")
    out = {"status": None, "info": [], "bad": [], "retry": [], "other": []}
    if raw is None:
        return out
    out["status"] = status_pb2.Status.FromString(raw)
    kinds = {"type.googleapis.com/google.rpc.ErrorInfo": ("info", error_details_pb2.ErrorInfo),
             "type.googleapis.com/google.rpc.BadRequest": ("bad", error_details_pb2.BadRequest),
             "type.googleapis.com/google.rpc.RetryInfo": ("retry", error_details_pb2.RetryInfo)}
    for any_ in out["status"].details:
        kind = kinds.get(any_.type_url)
        if kind is None:
            out["other"].append(any_.type_url)
        else:
            out[kind[0]].append(kind[1].FromString(any_.value))
    return out


class ErrorDetails(unittest.TestCase):
    def failed(self, fn, code):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        e = cm.exception
        self.assertEqual(e.code(), code, e.details())
        d = decode(e)
        if d["status"] is not None:
            self.assertEqual(d["status"].code, code.value[0])
            self.assertEqual(d["status"].message, e.details())
            self.assertEqual(d["other"], [], "only ErrorInfo, BadRequest and RetryInfo are sent")
        return e, d

    def retry_ms(self, d):
        self.assertEqual(len(d["retry"]), 1, "one RetryInfo")
        delay = d["retry"][0].retry_delay
        return delay.seconds * 1000 + delay.nanos // 1000000

    def test_invalid_argument_has_a_field_violation_and_no_retry(self):
        with harness.Server() as server:
            ch = server.channel
            tenant = harness.new_tenant("ed")
            e, d = self.failed(lambda: unary(ch, "CreateProspect", S.CreateProspectRequest(
                parent="tenants/%s" % tenant, prospect=R.Prospect(
                    kind=R.PERSON, first_name="Ann", email="not an e-mail")),
                R.Prospect), Code.INVALID_ARGUMENT)
            self.assertEqual(len(d["bad"]), 1, "one BadRequest")
            violations = d["bad"][0].field_violations
            self.assertEqual(len(violations), 1)
            self.assertEqual(violations[0].field, "prospect.email")
            self.assertEqual(violations[0].description, e.details())
            self.assertEqual([(i.reason, i.domain, dict(i.metadata).get("field")) for i in d["info"]],
                             [("INVALID_FIELD", "prospects.v1", "prospect.email")])
            self.assertEqual(d["retry"], [], "invalid input is not retried")

            # a malformed name: the field is "name"
            _, d = self.failed(lambda: unary(ch, "GetProspect", S.GetProspectRequest(name="tenants/x/y"),
                                             R.Prospect), Code.INVALID_ARGUMENT)
            self.assertEqual([v.field for v in d["bad"][0].field_violations], ["name"])

            # a request too large: RESOURCE_EXHAUSTED, but the same call would fail again
            _, d = self.failed(lambda: unary(ch, "GetProspect", S.GetProspectRequest(name="x" * 9000),
                                             R.Prospect), Code.RESOURCE_EXHAUSTED)
            self.assertEqual([i.reason for i in d["info"]], ["REQUEST_TOO_LARGE"])
            self.assertEqual(d["retry"], [])
            self.assertEqual(d["bad"], [])

            # an etag mismatch: ABORTED, to be read again first, not retried as it is
            apps = unary(ch, "UpdateTenantApps", S.UpdateTenantAppsRequest(
                apps=R.TenantApps(name="tenants/%s/apps" % tenant, prospects_enabled=True),
                update_mask=field_mask_pb2.FieldMask(paths=["prospects_enabled"])), R.TenantApps)
            _, d = self.failed(lambda: unary(ch, "UpdateTenantApps", S.UpdateTenantAppsRequest(
                apps=R.TenantApps(name=apps.name, quote_requests_enabled=True, etag=apps.etag + "x"),
                update_mask=field_mask_pb2.FieldMask(paths=["quote_requests_enabled"])),
                R.TenantApps), Code.ABORTED)
            self.assertEqual([i.reason for i in d["info"]], ["ETAG_MISMATCH"])
            self.assertEqual(d["retry"], [])

    def test_too_many_watchers_says_when_to_retry(self):
        with harness.Server(env={"PS_MAX_WATCHERS": 0}) as server:
            watch = server.channel.unary_stream(
                "/grpc.health.v1.Health/Watch",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString)
            _, d = self.failed(lambda: list(watch(health_pb2.HealthCheckRequest(), timeout=5)),
                               Code.RESOURCE_EXHAUSTED)
            self.assertEqual([i.reason for i in d["info"]], ["TOO_MANY_WATCHERS"])
            self.assertEqual(self.retry_ms(d), 5000)

    def test_database_down_and_full_queue_say_when_to_retry(self):
        with harness.private_mariadb() as mdb:
            database = harness.fresh_database(mdb)
            # the read timeout outlasts the test: the held call stays held however slow the machine
            env = {"PS_WORKERS": 1, "PS_QUEUE": 1, "PS_MYSQL_TIMEOUT_S": 60}
            with harness.Server(database=database, mariadb=mdb, env=env) as server:
                ch = server.channel
                tenant = harness.new_tenant("ed")
                unary(ch, "UpdateTenantApps", S.UpdateTenantAppsRequest(
                    apps=R.TenantApps(name="tenants/%s/apps" % tenant, prospects_enabled=True),
                    update_mask=field_mask_pb2.FieldMask(paths=["prospects_enabled"])), R.TenantApps)
                p = unary(ch, "CreateProspect", S.CreateProspectRequest(
                    parent="tenants/%s" % tenant, prospect=R.Prospect(kind=R.PERSON, first_name="Ann")),
                    R.Prospect)
                get = ch.unary_unary(SERVICE + "GetProspect",
                                     request_serializer=S.GetProspectRequest.SerializeToString,
                                     response_deserializer=R.Prospect.FromString)

                # a database that hangs holds the one worker; one call waits in the queue; the
                # next is shed at once
                mdb.pause()
                futures = []
                try:
                    # the first call holds the worker, the next waits in the queue; a later one is
                    # shed at once (more are sent while the first two are still on their way)
                    shed = None
                    for _ in range(6):
                        f = get.future(S.GetProspectRequest(name=p.name), timeout=30)
                        futures.append(f)
                        time.sleep(0.3)
                        if f.done() and f.exception() is not None:
                            shed = f.exception()
                            break
                    self.assertIsNotNone(shed, "no call was shed while the worker and queue were full")
                    self.assertEqual(shed.code(), Code.RESOURCE_EXHAUSTED, shed.details())
                    d = decode(shed)
                    self.assertEqual([i.reason for i in d["info"]], ["SERVER_OVERLOADED"])
                    self.assertEqual(self.retry_ms(d), 500)
                    self.assertGreaterEqual(len(futures), 3)
                finally:
                    mdb.resume()
                for f in futures[:-1]:  # the held and the queued calls answer once MariaDB does
                    self.assertEqual(f.result().name, p.name)

                # the database is down: UNAVAILABLE, retry in a second
                self.assertEqual(mdb.stop(), 0)
                deadline = time.monotonic() + 10
                while True:
                    try:
                        get(S.GetProspectRequest(name=p.name), timeout=10)
                    except grpc.RpcError as e:
                        self.assertEqual(e.code(), Code.UNAVAILABLE, e.details())
                        d = decode(e)
                        break
                    self.assertLess(time.monotonic(), deadline, "never UNAVAILABLE")
                self.assertIsNotNone(d["status"], "UNAVAILABLE carries details")
                self.assertEqual(self.retry_ms(d), 1000)
                self.assertEqual(d["bad"], [])
                mdb.start()


if __name__ == "__main__":
    harness.main()
