#!/usr/bin/python3
"""Benchmark of large merges (issue 13, "Merges of any size"): one MergeProspects that moves
200,000 document links from 10 sources into one target, and the reading of its record.

Not a test: it prints figures. It starts its own MariaDB (1 GB buffer pool, 512 MB redo log, as a
production server would have), Redis and server (harness.Server), then
per run makes a target and 10 sources through the server, puts the links on the sources (in SQL,
one statement per source: 200,000 LinkDocument calls would time the loading, not the merge; with
--rpc-links the first 100 links of each source go through LinkDocument, as callers make them), and
times, through the real server with one gRPC client: the dry run (validate_only), the merge itself,
GetMerge of its first page, and reading every moved link through GetMerge pages of 5,000. It checks
that every link ended on the target and that the pages list each link once. Prints each run and
the medians.

    PYTHONPATH=build/py:tests/lib /usr/bin/python3 bench/merge.py [--sources 10]
        [--per-source 20000] [--runs 3] [--rpc-links]"""

import argparse
import concurrent.futures
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import harness  # noqa: E402
import ps_testlib as lib  # noqa: E402
from prospects.v1 import resources_pb2  # noqa: E402

R = resources_pb2
PRODUCTION_OPTS = ["--innodb-buffer-pool-size=1G", "--innodb-log-file-size=512M"]

def load(server, channel, tenant, run, n_sources, per_source, rpc_links):
    target = lib.create(channel, tenant, lib.company(company_name="Bench Target %d B.V." % run)).name
    sources = [lib.create(channel, tenant, lib.company(company_name="Bench Source %d-%d" % (run, s))).name
               for s in range(n_sources)]
    by_rpc = min(per_source, 100) if rpc_links else 0

    def link(job):
        s, i = job
        lib.link_document(channel, sources[s], lib.document(R.QUOTE, "bench-%d-%d-%d" % (run, s, i),
                                                            number="Q-%d" % i, title="Quote %d" % i))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(link, [(s, i) for s in range(n_sources) for i in range(by_rpc)]))
    snapshot = R.PartySnapshot(company_name="Bench Source").SerializeToString().hex()
    for s, src in enumerate(sources):
        tag = run * 100 + s
        server.mariadb.sql(
            "INSERT INTO document_links (tenant_id, id, prospect_id, type, document_id, number, title,"
            " document_time, party_snapshot, link_time)"
            " SELECT '%s', UNHEX(CONCAT('0190', LPAD(HEX(%d), 8, '0'), LPAD(HEX(seq), 20, '0'))),"
            " UNHEX('%s'), 5, CONCAT('bench-sql-%d-', seq), CONCAT('INV-', seq), 'Invoice',"
            " UTC_TIMESTAMP(6), UNHEX('%s'), UTC_TIMESTAMP(6) FROM seq_1_to_%d"
            % (tenant, tag, lib.hex_id(src), tag, snapshot, per_source - by_rpc), server.database)
    return target, sources


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=10)
    ap.add_argument("--per-source", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rpc-links", action="store_true", help="the first 100 links per source by LinkDocument")
    args = ap.parse_args()
    n_docs = args.sources * args.per_source
    # a MariaDB sized like a production one (the tests' private ones have a 64 MB buffer pool and a
    # 16 MB redo log, which a 200,000-row transaction outgrows many times over)
    db = harness.PrivateMariaDB(extra_opts=PRODUCTION_OPTS).start(timeout=120)
    database = "ps_bench_merge"  # the test users' grants cover ps_%
    db.create_database(database)
    harness.dbmate(db, database, "up")
    with harness.Server(database=database, mariadb=db, redis=harness.private_redis()) as server:
        channel = server.channel
        tenant = harness.new_tenant("bench")
        lib.enable_prospects(channel, tenant)
        dry, wet, first, pages = [], [], [], []
        for run in range(args.runs):
            t0 = time.monotonic()
            target, sources = load(server, channel, tenant, run, args.sources, args.per_source, args.rpc_links)
            load_s = time.monotonic() - t0

            t0 = time.monotonic()
            d = lib.merge(channel, target, sources, validate_only=True, timeout=120)
            dry.append(time.monotonic() - t0)
            assert not d.violations and d.merge.moved_document_count == n_docs, d.violations

            t0 = time.monotonic()
            m = lib.merge(channel, target, sources, request_id="bench-merge-%d" % run, timeout=120).merge
            wet.append(time.monotonic() - t0)
            assert m.moved_document_count == n_docs

            t0 = time.monotonic()
            got = lib.get_merge(channel, m.name, timeout=60)
            first.append(time.monotonic() - t0)
            assert got == m

            t0 = time.monotonic()
            names, calls = lib.all_moved_documents(channel, lib.get_merge(channel, m.name, page_size=5000),
                                                   page_size=5000, timeout=60)
            pages.append(time.monotonic() - t0)
            assert len(names) == n_docs and len(set(names)) == n_docs, len(names)

            on_target = int(server.mariadb.sql(
                "SELECT COUNT(*) FROM document_links WHERE tenant_id = '%s' AND prospect_id = UNHEX('%s')"
                % (tenant, lib.hex_id(target)), server.database)[0][0])
            assert on_target == n_docs, on_target
            size = int(server.mariadb.sql("SELECT LENGTH(record) FROM merges WHERE tenant_id = '%s' AND id ="
                                          " UNHEX('%s')" % (tenant, lib.hex_id(m.name)), server.database)[0][0])
            print("run %d: loaded %d links in %.1f s; dry run %.0f ms, merge %.0f ms (%d links from %d sources,"
                  " record %d bytes), GetMerge first page %.0f ms, all %d pages of 5,000 %.0f ms"
                  % (run + 1, n_docs, load_s, dry[-1] * 1000, wet[-1] * 1000, n_docs, args.sources,
                     size, first[-1] * 1000, calls + 1, pages[-1] * 1000), flush=True)
        print("median of %d runs: merge of %d links from %d sources %.0f ms (%.0f links/s); dry run %.0f ms;"
              " GetMerge first page %.0f ms; every page %.0f ms"
              % (args.runs, n_docs, args.sources, statistics.median(wet) * 1000, n_docs / statistics.median(wet),
                 statistics.median(dry) * 1000, statistics.median(first) * 1000, statistics.median(pages) * 1000))
        peak = lib.server_stats(server)["calls"]["call_memory_peak"]
        print("largest call's memory: %.1f MiB (the default PS_CALL_MEMORY_MB allows 32)" % (peak / 2**20))
    db.close()


if __name__ == "__main__":
    main()
