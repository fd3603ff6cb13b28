"""Request ids live 24 hours (SPEC: Idempotency); the server deletes the expired ones in small
batches (PS_IDEM_PURGE_INTERVAL_S), of every tenant, and never a key that is still valid."""

import time
import unittest

import harness


class Purge(unittest.TestCase):
    def test_expired_keys_go_and_valid_keys_stay(self):
        db = harness.shared_mariadb()
        database = harness.fresh_database(db)
        t1, t2 = harness.new_tenant(), harness.new_tenant()
        rows = []
        for tenant in (t1, t2):
            for i in range(3):   # expired an hour ago
                rows.append("('%s', 'old-%d', 'CreateProspect', 1, NULL, UTC_TIMESTAMP(6) - INTERVAL 25 HOUR,"
                            " UTC_TIMESTAMP(6) - INTERVAL 1 HOUR)" % (tenant, i))
            for i in range(2):   # valid for another hour
                rows.append("('%s', 'new-%d', 'CreateProspect', 1, NULL, UTC_TIMESTAMP(6) - INTERVAL 23 HOUR,"
                            " UTC_TIMESTAMP(6) + INTERVAL 1 HOUR)" % (tenant, i))
        db.sql("INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, response,"
               " create_time, expire_time) VALUES " + ", ".join(rows), database)

        def left():
            return sorted(tuple(r) for r in db.sql(
                "SELECT tenant_id, request_id FROM idempotency_keys ORDER BY 1, 2", database))

        with harness.Server(database=database, env={"PS_IDEM_PURGE_INTERVAL_S": "1"}) as srv:
            deadline = time.time() + 10
            while time.time() < deadline and len(left()) > 4:
                time.sleep(0.1)
            self.assertEqual(left(), sorted([(t, "new-%d" % i) for t in (t1, t2) for i in range(2)]))
            time.sleep(1.5)  # a later round deletes nothing more
            self.assertEqual(len(left()), 4)
            self.assertIn("purged 6 expired request ids", srv.log())


if __name__ == "__main__":
    harness.main()
