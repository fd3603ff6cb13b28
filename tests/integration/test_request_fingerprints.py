"""Request fingerprints of idempotency keys are SHA-256 (issue 10): 64-bit FNV-1a was not
collision-resistant. Keys written by the previous release (no SHA-256) are still honoured by their
FNV-1a until they expire."""

import hashlib

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2 as R, service_pb2 as S

Code = grpc.StatusCode


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def without_id(req):
    copy = type(req)()
    copy.CopyFrom(req)
    copy.request_id = ""
    return copy.SerializeToString()


class Fingerprints(lib.ServerTestCase):
    def create(self, req):
        return harness.call(self.channel, lib.method("CreateProspect"), req, R.Prospect)

    def key_row(self, tenant, request_id):
        return self.db.sql("SELECT fingerprint, HEX(request_sha256) FROM idempotency_keys "
                           "WHERE tenant_id = '%s' AND request_id = '%s'" % (tenant, request_id),
                           self.database)[0]

    def test_keys_hold_the_sha256_of_the_request(self):
        t = lib.new_enabled_tenant(self.channel)
        req = S.CreateProspectRequest(parent="tenants/" + t, request_id="fp-1",
                                      prospect=lib.person(first_name="Fien"))
        first = self.create(req)
        fnv, sha = self.key_row(t, "fp-1")
        self.assertEqual(sha.lower(), hashlib.sha256(without_id(req)).hexdigest())
        self.assertEqual(int(fnv), fnv1a64(without_id(req)))  # still written, for a rollback
        self.assertEqual(self.create(req), first)  # a retry

    def test_a_fnv_collision_is_no_longer_a_retry(self):
        """The previous release compared 64-bit FNV-1a only: a request with the same FNV as the
        first (made here by writing it into the key) passed for its retry."""
        t = lib.new_enabled_tenant(self.channel)
        one = S.CreateProspectRequest(parent="tenants/" + t, request_id="fp-2",
                                      prospect=lib.person(first_name="One"))
        two = S.CreateProspectRequest(parent="tenants/" + t, request_id="fp-2",
                                      prospect=lib.person(first_name="Two"))
        self.create(one)
        self.db.sql("UPDATE idempotency_keys SET fingerprint = %d WHERE tenant_id = '%s' AND "
                    "request_id = 'fp-2'" % (fnv1a64(without_id(two)), t), self.database)
        self.assertRpcError(lambda: self.create(two), Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")

    def test_keys_of_the_previous_release_still_work(self):
        t = lib.new_enabled_tenant(self.channel)
        req = S.CreateProspectRequest(parent="tenants/" + t, request_id="fp-3",
                                      prospect=lib.person(first_name="Old"))
        first = self.create(req)
        self.db.sql("UPDATE idempotency_keys SET request_sha256 = NULL WHERE tenant_id = '%s' AND "
                    "request_id = 'fp-3'" % t, self.database)  # as the previous release wrote it
        self.assertEqual(self.create(req), first)
        other = S.CreateProspectRequest(parent="tenants/" + t, request_id="fp-3",
                                        prospect=lib.person(first_name="New"))
        self.assertRpcError(lambda: self.create(other), Code.ALREADY_EXISTS, reason="REQUEST_ID_REUSED")
        self.assertEqual(len(lib.list_all(self.channel, t)), 1)


if __name__ == "__main__":
    harness.main()
