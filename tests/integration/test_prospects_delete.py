"""DeleteProspect against the real server and MariaDB: deletes the record and its contact persons in
one transaction, is refused (FAILED_PRECONDITION, PROSPECT_HAS_DOCUMENTS) while documents are linked
and then changes nothing, honours a given etag, and is NOT_FOUND for a missing record, another
tenant's, or a merged-away one."""

import grpc

import harness
import ps_testlib as lib
from prospects.v1 import resources_pb2

Code = grpc.StatusCode


def hexid(name):
    return lib.prospect_id(name).replace("-", "")


def link_document(db, database, tenant, name, doc_id="inv-1"):
    """Document links are another issue's call: write one row the way it will."""
    db.sql("INSERT INTO document_links (tenant_id, id, prospect_id, type, document_id, document_time,"
           " party_snapshot, link_time) VALUES ('%s', UNHEX(REPLACE(UUID(), '-', '')), UNHEX('%s'), 5,"
           " '%s', NOW(6), '', NOW(6))" % (tenant, hexid(name), doc_id), database)


class Delete(lib.ServerTestCase):
    def test_delete_removes_record_contacts_and_index(self):
        t = lib.new_enabled_tenant(self.channel)
        co = lib.create(self.channel, t, lib.company(company_name="Gone Soon"))
        keep = lib.create(self.channel, t, lib.company(company_name="Stays"))
        lib.create_contact(self.channel, co.name, resources_pb2.ContactPerson(first_name="A"))
        lib.create_contact(self.channel, co.name, resources_pb2.ContactPerson(first_name="B"))
        kept_cp = lib.create_contact(self.channel, keep.name, resources_pb2.ContactPerson(first_name="C"))
        lib.delete(self.channel, co.name, etag=co.etag)
        self.assertRpcError(lambda: lib.get(self.channel, co.name), Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        counts = lib.count_all(self.db, self.database, t, tables=("prospects", "contact_persons", "prospect_terms"))
        self.assertEqual(counts["prospects"], 1)
        self.assertEqual(counts["contact_persons"], 1)
        self.assertEqual(int(self.db.sql("SELECT COUNT(*) FROM prospect_terms WHERE tenant_id = '%s'"
                                         " AND id = UNHEX('%s')" % (t, hexid(co.name)), self.database)[0][0]), 0)
        self.assertEqual(lib.get_contact(self.channel, kept_cp.name), kept_cp)
        self.assertEqual([p.name for p in lib.list_all(self.channel, t, query="gone")], [])
        self.assertRpcError(lambda: lib.delete(self.channel, co.name), Code.NOT_FOUND)

    def test_refused_while_documents_are_linked(self):
        t = lib.new_enabled_tenant(self.channel)
        co = lib.create(self.channel, t, lib.company(company_name="Has Invoices"))
        cp = lib.create_contact(self.channel, co.name, resources_pb2.ContactPerson(first_name="A"))
        link_document(self.db, self.database, t, co.name)
        before = lib.count_all(self.db, self.database, t)
        e = self.assertRpcError(lambda: lib.delete(self.channel, co.name), Code.FAILED_PRECONDITION,
                                reason="PROSPECT_HAS_DOCUMENTS")
        self.assertIn("merge", e.details())
        self.assertEqual(lib.count_all(self.db, self.database, t), before, "nothing written")
        self.assertEqual(lib.get(self.channel, co.name), co)
        self.assertEqual(lib.get_contact(self.channel, cp.name), cp)

    def test_stale_etag(self):
        t = lib.new_enabled_tenant(self.channel)
        p = lib.create(self.channel, t, lib.person())
        lib.update(self.channel, resources_pb2.Prospect(name=p.name, notes="x"), ["notes"])
        self.assertRpcError(lambda: lib.delete(self.channel, p.name, etag=p.etag), Code.ABORTED,
                            reason="ETAG_MISMATCH")
        self.assertEqual(lib.get(self.channel, p.name).notes, "x")

    def test_other_tenant_and_unknown_and_bad_names(self):
        owner = lib.new_enabled_tenant(self.channel)
        intruder = lib.new_enabled_tenant(self.channel)
        p = lib.create(self.channel, owner, lib.person())
        stolen = "tenants/%s/prospects/%s" % (intruder, lib.prospect_id(p.name))
        self.assertRpcError(lambda: lib.delete(self.channel, stolen), Code.NOT_FOUND, reason="PROSPECT_NOT_FOUND")
        self.assertEqual(lib.get(self.channel, p.name), p)
        self.assertRpcError(lambda: lib.delete(self.channel, "tenants/%s/prospects/x" % owner),
                            Code.INVALID_ARGUMENT, field="name")

    def test_merged_away_id_is_not_found_with_reason(self):
        t = lib.new_enabled_tenant(self.channel)
        target = lib.create(self.channel, t, lib.person(first_name="Target"))
        gone = "tenants/%s/prospects/01900000-0000-7000-8000-00000000abcd" % t
        self.db.sql("INSERT INTO prospect_tombstones VALUES ('%s', UNHEX('%s'), UNHEX('%s'), UNHEX('%s'), NOW(6))"
                    % (t, hexid(gone), hexid(target.name), hexid(target.name)), self.database)
        e = self.assertRpcError(lambda: lib.delete(self.channel, gone), Code.NOT_FOUND, reason="PROSPECT_MERGED")
        self.assertEqual(harness.error_info(e).metadata["surviving_prospect"], target.name)

    def test_app_off(self):
        t = lib.new_enabled_tenant(self.channel)
        p = lib.create(self.channel, t, lib.person())
        lib.update_apps(self.channel, t, ["prospects_enabled"], prospects=False)
        lib.wait_gate(self.channel, t, False)
        self.assertRpcError(lambda: lib.delete(self.channel, p.name), Code.FAILED_PRECONDITION,
                            reason="PROSPECTS_APP_DISABLED")


if __name__ == "__main__":
    harness.main()
