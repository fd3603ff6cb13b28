"""The audit trail (issue 10): one row per change of a tenant's apps and per merge, written in the
change's transaction; none for calls that change nothing, dry runs or refusals; read newest first
in pages by ListAuditEvents; no personal data in it. (test_security.py checks that it names the
caller's certificate identity.)"""

import unittest

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import service_pb2 as S

Code = grpc.StatusCode


def events(channel, tenant, page_size=0, page_token=""):
    return harness.call(channel, lib.method("ListAuditEvents"),
                        S.ListAuditEventsRequest(parent="tenants/" + tenant, page_size=page_size,
                                                 page_token=page_token),
                        S.ListAuditEventsResponse)


class Audit(lib.ServerTestCase):
    def test_app_changes_and_merges_are_recorded_once(self):
        t = harness.new_tenant("aud")
        ch = self.channel
        lib.update_apps(ch, t, ["prospects_enabled"], prospects=True)
        lib.update_apps(ch, t, ["prospects_enabled"], prospects=True)    # no change: no row
        self.assertRpcError(lambda: lib.update_apps(ch, t, ["prospects_enabled"], etag="stale"),
                            Code.ABORTED)                                  # refused: no row
        lib.wait_gate(ch, t, True)
        a = lib.create(ch, t, lib.person(first_name="Jan", last_name="Peeters",
                                         email="jan@example.be", notes="secret notes"))
        b = lib.create(ch, t, lib.person(first_name="Jan", last_name="Peters"))
        lib.merge(ch, a.name, [b.name], validate_only=True)                # dry run: no row
        m = lib.merge(ch, a.name, [b.name], request_id="m1",
                      metadata=[("x-acting-user", "u-42")]).merge
        lib.merge(ch, a.name, [b.name], request_id="m1")                   # replay: no new row
        got = events(ch, t).audit_events
        self.assertEqual([(e.action, e.resource, e.acting_user) for e in got],
                         [("MergeProspects", m.name, "u-42"),
                          ("UpdateTenantApps", lib.apps_name(t), "")])
        self.assertRegex(got[0].name, r"^tenants/%s/auditEvents/%s$" % (t, lib.UUID_RE))
        self.assertIn("1 record(s) merged into " + a.name, got[0].details)
        self.assertIn("prospects_enabled false -> true", got[1].details)
        self.assertEqual(got[0].caller, "")  # a plaintext server knows no caller
        self.assertRecent(got[0].create_time)
        for e in got:  # no personal data
            for pii in ("Jan", "Peeters", "jan@example.be", "secret"):
                self.assertNotIn(pii, str(e))

    def test_pages_newest_first(self):
        t = harness.new_tenant("aud")
        for i in range(7):
            lib.update_apps(self.channel, t, ["prospects_enabled"], prospects=i % 2 == 0)
        seen, token = [], ""
        while True:
            resp = events(self.channel, t, page_size=3, page_token=token)
            seen.extend(resp.audit_events)
            token = resp.next_page_token
            if not token:
                break
        self.assertEqual(len(seen), 7)
        self.assertEqual([e.name for e in seen], sorted((e.name for e in seen), reverse=True))
        self.assertEqual(len({e.name for e in seen}), 7)
        other = harness.new_tenant("aud")
        self.assertRpcError(lambda: events(self.channel, other, page_size=3,
                                           page_token=events(self.channel, t, page_size=3).next_page_token),
                            Code.INVALID_ARGUMENT, field="page_token")
        self.assertEqual(list(events(self.channel, other).audit_events), [])


if __name__ == "__main__":
    harness.main()
