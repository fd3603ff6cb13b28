"""A tenant's apps (S4, S8): defaults, QUOTE_REQUESTS on turns PROSPECTS on in the same write,
PROSPECTS off refused while QUOTE_REQUESTS is on, update masks, etags, and data kept while off."""

import grpc

import harness
import ps_testlib as lib
from google.protobuf import field_mask_pb2
from prospects.v1 import resources_pb2, service_pb2

Code = grpc.StatusCode


class Apps(lib.ServerTestCase):
    def stored(self, tenant):
        """(prospects_enabled, quote_requests_enabled) as stored in MySQL; None without a row."""
        rows = self.db.sql("SELECT prospects_enabled, quote_requests_enabled FROM tenant_apps "
                           "WHERE tenant_id = '%s'" % tenant, self.database)
        return (rows[0][0] == "1", rows[0][1] == "1") if rows else None

    def flags(self, apps):
        return (apps.prospects_enabled, apps.quote_requests_enabled)

    def test_new_tenant_has_both_apps_off(self):
        tenant = harness.new_tenant()
        apps = lib.get_apps(self.channel, tenant)
        self.assertEqual(apps.name, "tenants/%s/apps" % tenant)
        self.assertEqual(self.flags(apps), (False, False))
        self.assertFalse(apps.HasField("update_time"), "never written: no update time")
        self.assertIn(self.stored(tenant), (None, (False, False)))
        self.assertEqual(lib.get_apps(self.channel, tenant), apps, "reading is stable")

    def test_quote_requests_on_turns_prospects_on_in_the_same_write(self):
        tenant = harness.new_tenant()
        apps = lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=True)
        self.assertEqual(self.flags(apps), (True, True))
        self.assertRecent(apps.update_time)
        self.assertNotEqual(apps.etag, "")
        self.assertEqual(self.stored(tenant), (True, True))
        self.assertEqual(lib.get_apps(self.channel, tenant), apps)
        lib.wait_gate(self.channel, tenant, True)

    def test_both_in_one_write_never_leave_quote_requests_without_prospects(self):
        tenant = harness.new_tenant()
        try:
            apps = lib.update_apps(self.channel, tenant, ["*"], prospects=False, quote_requests=True)
        except grpc.RpcError as e:  # refusing the contradiction is also acceptable
            self.assertIn(e.code(), (Code.FAILED_PRECONDITION, Code.INVALID_ARGUMENT), e.details())
            self.assertIn(self.stored(tenant), (None, (False, False)))
            return
        self.assertEqual(self.flags(apps), (True, True))
        self.assertEqual(self.stored(tenant), (True, True))

    def test_prospects_off_while_quote_requests_on_is_refused_and_changes_nothing(self):
        tenant = harness.new_tenant()
        before = lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=True)
        for paths, p, q in ((["prospects_enabled"], False, False), (["prospects_enabled"], False, True),
                            (["prospects_enabled", "quote_requests_enabled"], False, True)):
            with self.subTest(paths=paths, prospects=p, quote_requests=q):
                e = self.assertRpcError(
                    lambda: lib.update_apps(self.channel, tenant, paths, prospects=p, quote_requests=q),
                    Code.FAILED_PRECONDITION, reason="APP_DEPENDENCY")
                self.assertRegex(e.details().lower(), r"quote.?requests", "the message names the dependency")
        self.assertEqual(lib.get_apps(self.channel, tenant), before, "nothing changed, not even the etag")
        self.assertEqual(self.stored(tenant), (True, True))
        # both off in one write is allowed (nothing is left depending on PROSPECTS)
        both_off = lib.update_apps(self.channel, tenant, ["*"], prospects=False, quote_requests=False)
        self.assertEqual(self.flags(both_off), (False, False))
        self.assertEqual(self.stored(tenant), (False, False))

    def test_masks(self):
        tenant = harness.new_tenant()
        a = lib.update_apps(self.channel, tenant, ["prospects_enabled"], prospects=True, quote_requests=True)
        self.assertEqual(self.flags(a), (True, False), "only the masked field changes")
        b = lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], prospects=False, quote_requests=True)
        self.assertEqual(self.flags(b), (True, True), "prospects untouched by a quote_requests mask")
        c = lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=False)
        self.assertEqual(self.flags(c), (True, False), "quote requests off leaves prospects on")
        d = lib.update_apps(self.channel, tenant, ["*"], prospects=False, quote_requests=False)
        self.assertEqual(self.flags(d), (False, False))
        e = lib.update_apps(self.channel, tenant, ["*"], prospects=True, quote_requests=False)
        self.assertEqual(self.flags(e), (True, False))
        self.assertEqual(self.stored(tenant), (True, False))
        for paths in (["prospects"], ["name"], ["etag"], ["update_time"], ["prospects_enabled", "bogus"],
                      ["Prospects_Enabled"], ["**"]):
            with self.subTest(paths=paths):
                self.assertRpcError(
                    lambda: lib.update_apps(self.channel, tenant, paths, prospects=False),
                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field=("update_mask", "update_mask.paths"))
        self.assertEqual(self.stored(tenant), (True, False), "refused masks change nothing")

    def test_malformed_apps_names(self):
        t = harness.new_tenant()
        for name in ("", "tenants/%s" % t, "tenants/%s/app" % t, "tenants/%s/apps/" % t,
                     "tenants/Upper/apps", "tenants/%s/apps" % ("a" * 64)):
            with self.subTest(name=name):
                self.assertRpcError(
                    lambda: harness.call(self.channel, lib.method("GetTenantApps"),
                                         service_pb2.GetTenantAppsRequest(name=name), resources_pb2.TenantApps),
                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="name")
                req = service_pb2.UpdateTenantAppsRequest(
                    apps=resources_pb2.TenantApps(name=name, prospects_enabled=True),
                    update_mask=field_mask_pb2.FieldMask(paths=["prospects_enabled"]))
                self.assertRpcError(
                    lambda: harness.call(self.channel, lib.method("UpdateTenantApps"), req,
                                         resources_pb2.TenantApps),
                    Code.INVALID_ARGUMENT, reason="INVALID_FIELD", field="apps.name")
        self.assertIsNone(self.stored(t))

    def test_stale_etag_is_aborted_and_changes_nothing(self):
        tenant = harness.new_tenant()
        first = lib.update_apps(self.channel, tenant, ["prospects_enabled"], prospects=True)
        second = lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=True,
                                 etag=first.etag)
        self.assertEqual(self.flags(second), (True, True))
        self.assertNotEqual(second.etag, first.etag, "every write changes the etag")
        self.assertRpcError(
            lambda: lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=False,
                                    etag=first.etag),
            Code.ABORTED)
        self.assertEqual(lib.get_apps(self.channel, tenant), second)
        self.assertEqual(self.stored(tenant), (True, True))
        third = lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=False,
                                etag=second.etag)
        self.assertEqual(self.flags(third), (True, False))

    def test_etag_of_a_never_written_tenant_guards_the_first_write(self):
        tenant = harness.new_tenant()
        fresh = lib.get_apps(self.channel, tenant)
        lib.update_apps(self.channel, tenant, ["prospects_enabled"], prospects=True)
        if fresh.etag:
            self.assertRpcError(
                lambda: lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=True,
                                        etag=fresh.etag),
                Code.ABORTED)
            self.assertEqual(self.stored(tenant), (True, False))

    def test_apps_off_keeps_data_and_on_again_shows_it(self):
        tenant = lib.new_enabled_tenant(self.channel)
        created = [lib.create(self.channel, tenant, lib.person(first_name="P%d" % i), request_id="keep-%d" % i)
                   for i in range(3)]
        lib.update_apps(self.channel, tenant, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, tenant, False)
        for p in created:
            self.assertRpcError(lambda: lib.get(self.channel, p.name), Code.FAILED_PRECONDITION,
                                reason="PROSPECTS_APP_DISABLED")
        self.assertEqual(lib.count_rows(self.db, self.database, "prospects", tenant), 3, "nothing deleted")
        # on again through QUOTE_REQUESTS (which turns PROSPECTS on too)
        lib.update_apps(self.channel, tenant, ["quote_requests_enabled"], quote_requests=True)
        lib.wait_gate(self.channel, tenant, True)
        for p in created:
            self.assertEqual(lib.get(self.channel, p.name), p)


if __name__ == "__main__":
    harness.main()
