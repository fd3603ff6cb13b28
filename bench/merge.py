#!/usr/bin/python3
"""Benchmark of the largest merge (issue: merging, Done when): one MergeProspects that moves 10,000
document links from 10 sources into one target.

Not a test: it prints figures. It starts its own MariaDB, Redis and server (harness.Server), then
per run makes a target and 10 sources, links 1,000 documents to each source through LinkDocument
(8 callers in parallel), and times, through the real server with one gRPC client: the dry run
(validate_only), the merge itself, and GetMerge of the record it wrote. It checks that every link
ended on the target. Prints each run and the median.

    PYTHONPATH=build/py:tests/lib /usr/bin/python3 bench/merge.py [--sources 10] [--per-source 1000]
        [--runs 3]"""

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


def load(channel, tenant, run, n_sources, per_source):
    target = lib.create(channel, tenant, lib.company(company_name="Bench Target %d B.V." % run)).name
    sources = [lib.create(channel, tenant, lib.company(company_name="Bench Source %d-%d" % (run, s))).name
               for s in range(n_sources)]

    def link(job):
        s, i = job
        lib.link_document(channel, sources[s], lib.document(R.QUOTE, "bench-%d-%d-%d" % (run, s, i),
                                                            number="Q-%d" % i, title="Quote %d" % i))

    jobs = [(s, i) for s in range(n_sources) for i in range(per_source)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(link, jobs))
    return target, sources


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=10)
    ap.add_argument("--per-source", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    n_docs = args.sources * args.per_source
    opts = [("grpc.max_receive_message_length", 64 << 20)]
    with harness.Server() as server:
        channel = harness.channel(server.address, options=opts)
        tenant = harness.new_tenant("bench")
        lib.enable_prospects(channel, tenant)
        dry, wet, read = [], [], []
        for run in range(args.runs):
            t0 = time.monotonic()
            target, sources = load(channel, tenant, run, args.sources, args.per_source)
            load_s = time.monotonic() - t0

            t0 = time.monotonic()
            d = lib.merge(channel, target, sources, validate_only=True, timeout=120)
            dry.append(time.monotonic() - t0)
            assert not d.violations and len(d.merge.moved_documents) == n_docs, d.violations

            t0 = time.monotonic()
            m = lib.merge(channel, target, sources, request_id="bench-merge-%d" % run, timeout=120).merge
            wet.append(time.monotonic() - t0)
            assert len(m.moved_documents) == n_docs

            t0 = time.monotonic()
            got = lib.get_merge(channel, m.name, timeout=60)
            read.append(time.monotonic() - t0)
            assert len(got.moved_documents) == n_docs

            on_target = int(server.mariadb.sql(
                "SELECT COUNT(*) FROM document_links WHERE tenant_id = '%s' AND prospect_id = UNHEX('%s')"
                % (tenant, lib.hex_id(target)), server.database)[0][0])
            assert on_target == n_docs, on_target
            size = int(server.mariadb.sql("SELECT LENGTH(record) FROM merges WHERE tenant_id = '%s' AND id ="
                                          " UNHEX('%s')" % (tenant, lib.hex_id(m.name)), server.database)[0][0])
            print("run %d: loaded %d links in %.1f s; dry run %.0f ms, merge %.0f ms (%d links from %d sources,"
                  " record %.1f MB), GetMerge %.0f ms"
                  % (run + 1, n_docs, load_s, dry[-1] * 1000, wet[-1] * 1000, n_docs, args.sources,
                     size / 1e6, read[-1] * 1000), flush=True)
        print("median of %d runs: merge of %d links from %d sources %.0f ms; dry run %.0f ms; GetMerge %.0f ms"
              % (args.runs, n_docs, args.sources, statistics.median(wet) * 1000, statistics.median(dry) * 1000,
                 statistics.median(read) * 1000))
        peak = lib.server_stats(server)["calls"]["call_memory_peak"]
        print("largest call's memory: %.1f MiB (the default PS_CALL_MEMORY_MB allows 32)" % (peak / 2**20))


if __name__ == "__main__":
    main()
