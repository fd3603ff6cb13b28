#!/usr/bin/python3
"""Benchmark of a person's data (issue 16): ExportPersonData and ErasePersonData of a customer with
many document links, in a tenant with many stored idempotency responses.

Not a test: it prints figures. It starts its own MariaDB (1 GB buffer pool, 512 MB redo log), Redis
and server (harness.Server), makes the record through the server, puts --links document links on
it in SQL (one statement; every tenth an invoice, whose snapshot is kept) and --keys idempotency
keys of the tenant (one in a hundred holding the record's response), then times, through the real
server: ExportPersonData's first page and every page of 5,000 links, the erasure, and a second
erasure (already_erased). It checks the counts the erasure reports.

    PYTHONPATH=build/py:tests/lib /usr/bin/python3 bench/person_data.py [--links 100000] [--keys 100000]"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import harness  # noqa: E402
import ps_testlib as lib  # noqa: E402
from prospects.v1 import resources_pb2 as R, service_pb2 as S  # noqa: E402

PRODUCTION_OPTS = ["--innodb-buffer-pool-size=1G", "--innodb-log-file-size=512M"]


def call(channel, name, req, resp):
    return harness.call(channel, lib.method(name), req, resp, timeout=300)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--links", type=int, default=100000)
    ap.add_argument("--keys", type=int, default=100000)
    args = ap.parse_args()
    db = harness.PrivateMariaDB(extra_opts=PRODUCTION_OPTS).start(timeout=120)
    database = "ps_bench_person_data"
    db.create_database(database)
    harness.dbmate(db, database, "up")
    with harness.Server(database=database, mariadb=db, redis=harness.private_redis()) as server:
        ch = server.channel
        t = harness.new_tenant("bench")
        lib.enable_prospects(ch, t)
        rec = lib.create(ch, t, lib.company(company_name="Bench Person BV", email="bench@person.example",
                                            phone="+32 470 00 00 00"))
        t0 = time.monotonic()
        snap = R.PartySnapshot(company_name="Bench Person BV", email="bench@person.example").SerializeToString().hex()
        server.mariadb.sql(
            "INSERT INTO document_links (tenant_id, id, prospect_id, type, document_id, number, title,"
            " document_time, party_snapshot, link_time)"
            " SELECT '%s', UNHEX(CONCAT('0190', LPAD(HEX(seq), 28, '0'))), UNHEX('%s'), IF(seq %% 10 = 0, 5, 1),"
            " CONCAT('bench-', seq), CONCAT('N-', seq), 'Bench', UTC_TIMESTAMP(6) - INTERVAL seq SECOND,"
            " UNHEX('%s'), UTC_TIMESTAMP(6) FROM seq_1_to_%d"
            % (t, lib.hex_id(rec.name), snap, args.links), database)
        rec_blob = rec.SerializeToString().hex()
        other_blob = R.Prospect(name="tenants/%s/prospects/0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b" % t,
                                display_name="Someone Else").SerializeToString().hex()
        server.mariadb.sql(
            "INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, request_sha256,"
            " response, create_time, expire_time)"
            " SELECT '%s', CONCAT('bench-key-', seq), 'CreateProspect', seq, NULL,"
            " IF(seq %% 100 = 0, UNHEX('%s'), UNHEX('%s')), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL 1 DAY"
            " FROM seq_1_to_%d" % (t, rec_blob, other_blob, args.keys), database)
        print("loaded %d links and %d keys in %.1f s" % (args.links, args.keys, time.monotonic() - t0), flush=True)

        t0 = time.monotonic()
        first = call(ch, "ExportPersonData", S.ExportPersonDataRequest(name=rec.name), S.PersonData)
        first_ms = (time.monotonic() - t0) * 1000
        assert len(first.documents) == 1000
        t0 = time.monotonic()
        seen, token = 0, ""
        while True:
            page = call(ch, "ExportPersonData", S.ExportPersonDataRequest(
                name=rec.name, documents_page_size=5000, documents_page_token=token), S.PersonData)
            seen += len(page.documents)
            token = page.documents_next_page_token
            if not token:
                break
        all_s = time.monotonic() - t0
        assert seen == args.links, seen

        t0 = time.monotonic()
        r = call(ch, "ErasePersonData", S.ErasePersonDataRequest(name=rec.name), S.ErasePersonDataResponse)
        erase_ms = (time.monotonic() - t0) * 1000
        invoices = args.links // 10
        assert r.redacted_document_snapshots == args.links - invoices, r
        assert [(k.kind, k.count) for k in r.kept] == [("INVOICE_SNAPSHOTS", invoices)], r
        left = int(server.mariadb.sql("SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = '%s'" % t,
                                      database)[0][0])
        assert left == args.keys - args.keys // 100, left
        t0 = time.monotonic()
        again = call(ch, "ErasePersonData", S.ErasePersonDataRequest(name=rec.name), S.ErasePersonDataResponse)
        again_ms = (time.monotonic() - t0) * 1000
        assert again.already_erased
        print("ExportPersonData: first page of 1,000 links %.0f ms; all %d links in pages of 5,000 %.2f s"
              " (%.0f links/s)" % (first_ms, args.links, all_s, args.links / all_s))
        print("ErasePersonData: %.0f ms for %d links (%d redacted, %d invoice snapshots kept) and %d"
              " stored responses scanned (%d deleted); again (already_erased) %.0f ms"
              % (erase_ms, args.links, r.redacted_document_snapshots, invoices, args.keys, args.keys // 100,
                 again_ms))
        peak = lib.server_stats(server)["calls"]["call_memory_peak"]
        print("largest call's memory: %.1f MiB (the default PS_CALL_MEMORY_MB allows 32)" % (peak / 2**20))
    db.close()


if __name__ == "__main__":
    main()
