"""The test harness itself: private/shared MariaDB and Redis, fresh databases, call(), error_info()."""

import glob
import os
import unittest
from concurrent import futures

import grpc

import harness
from google.protobuf import any_pb2, empty_pb2
from google.rpc import error_details_pb2, status_pb2


class PrivateServers(unittest.TestCase):
    def test_mariadb_keeps_port_and_data_across_stop_kill_and_restart(self):
        with harness.private_mariadb() as db:
            port = db.port
            db.create_database("keep")
            db.sql("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB", "keep")
            db.sql("INSERT INTO t VALUES (1)", "keep")
            self.assertEqual(db.stop(), 0)
            self.assertFalse(db.ping())
            db.start()
            self.assertEqual(db.port, port)
            self.assertEqual(db.sql("SELECT id FROM t", "keep"), [["1"]])
            db.kill()
            self.assertFalse(db.ping())
            db.start()
            self.assertEqual(db.sql("SELECT @@character_set_server")[0][0], "utf8mb4")
            self.assertEqual(db.sql("SELECT id FROM t", "keep"), [["1"]])

    def test_redis_restart_keeps_port(self):
        with harness.private_redis() as r:
            port = r.port
            self.assertEqual(r.cli("SET", "k", "v"), "OK")
            r.restart()
            self.assertEqual(r.port, port)
            self.assertTrue(r.ping())
            r.kill()
            self.assertFalse(r.ping())
            r.start()
            self.assertTrue(r.ping())


class SharedServers(unittest.TestCase):
    def test_fresh_database_has_every_migration(self):
        db = harness.shared_mariadb()
        a = harness.fresh_database()
        b = harness.fresh_database()
        self.assertNotEqual(a, b)
        files = glob.glob(os.path.join(harness.MIGRATIONS_DIR, "*.sql"))
        versions = db.sql("SELECT version FROM schema_migrations ORDER BY version", a)
        self.assertEqual(len(versions), len(files))
        self.assertEqual(sorted(os.path.basename(f).split("_")[0] for f in files),
                         [v[0] for v in versions])

    def test_shared_redis_answers(self):
        self.assertTrue(harness.shared_redis().ping())

    def test_tenants_are_unique_and_valid(self):
        tenants = {harness.new_tenant() for _ in range(100)}
        self.assertEqual(len(tenants), 100)
        for t in tenants:
            self.assertRegex(t, r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")


def _status_with_error_info():
    info = error_details_pb2.ErrorInfo(reason="PROSPECTS_APP_DISABLED", domain="prospects.example",
                                       metadata={"tenant": "t-1"})
    detail = any_pb2.Any()
    detail.Pack(info)
    return status_pb2.Status(code=grpc.StatusCode.FAILED_PRECONDITION.value[0],
                             message="The Prospects app is off.", details=[detail])


class _Handler(grpc.GenericRpcHandler):
    def service(self, handler_call_details):
        method = handler_call_details.method
        if method == "/test.Echo/Ok":
            fn = lambda req, ctx: req  # noqa: E731
        elif method == "/test.Echo/Fail":
            def fn(req, ctx):
                st = _status_with_error_info()
                ctx.set_trailing_metadata((("grpc-status-details-bin", st.SerializeToString()),))
                ctx.abort(grpc.StatusCode.FAILED_PRECONDITION, st.message)
        elif method == harness.HEALTH_CHECK:
            h = harness.health_module()
            return grpc.unary_unary_rpc_method_handler(
                lambda req, ctx: h.HealthCheckResponse(status=h.HealthCheckResponse.SERVING),
                request_deserializer=h.HealthCheckRequest.FromString,
                response_serializer=lambda m: m.SerializeToString())
        elif method == "/test.Echo/Plain":
            def fn(req, ctx):
                ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
        else:
            return None
        return grpc.unary_unary_rpc_method_handler(
            fn, request_deserializer=empty_pb2.Empty.FromString,
            response_serializer=lambda m: m.SerializeToString())


class Calls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        cls.server.add_generic_rpc_handlers((_Handler(),))
        port = cls.server.add_insecure_port("127.0.0.1:0")
        cls.server.start()
        cls.channel = harness.channel("127.0.0.1:%d" % port)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop(None)

    def test_call_ok(self):
        resp = harness.call(self.channel, "/test.Echo/Ok", empty_pb2.Empty(), empty_pb2.Empty)
        self.assertIsInstance(resp, empty_pb2.Empty)

    def test_error_info_decoded(self):
        with self.assertRaises(grpc.RpcError) as cm:
            harness.call(self.channel, "/test.Echo/Fail", empty_pb2.Empty(), empty_pb2.Empty)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        info = harness.error_info(cm.exception)
        self.assertEqual(info.reason, "PROSPECTS_APP_DISABLED")
        self.assertEqual(dict(info.metadata), {"tenant": "t-1"})
        self.assertEqual(harness.status_details(cm.exception).message, "The Prospects app is off.")

    def test_error_without_details(self):
        with self.assertRaises(grpc.RpcError) as cm:
            harness.call(self.channel, "/test.Echo/Plain", empty_pb2.Empty(), empty_pb2.Empty)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIsNone(harness.error_info(cm.exception))

    def test_health(self):
        self.assertEqual(harness.health(self.channel), 1)

    def test_unknown_method(self):
        with self.assertRaises(grpc.RpcError) as cm:
            harness.call(self.channel, "/test.Echo/Nope", empty_pb2.Empty(), empty_pb2.Empty)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED)


if __name__ == "__main__":
    harness.main()
