#!/usr/bin/python3
"""Benchmark of ExportProspects (issue 16: "export rows per second").

Not a test: it prints figures and asserts nothing. It starts its own MariaDB (large buffer pool),
Redis and server, loads ROWS records of one tenant with bulk SQL (a third of them companies with
two contact persons each), then exports the tenant twice through the real server:
  - a Python grpcio client reading the stream (messages decoded, nothing kept);
  - `prospectctl export --format csv` with its output going to /dev/null;
and prints rows/s of each, and the server's RSS before and after.

    PYTHONPATH=build/py:tests/lib /usr/bin/python3 bench/export.py [--rows 1000000]
        [--prospectctl build/client/prospectctl] [--data DIR (keep the loaded database there, reuse it)]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import benchlib  # noqa: E402
import harness  # noqa: E402
import ps_testlib as lib  # noqa: E402
from prospects.v1 import service_pb2  # noqa: E402

TENANT = "bench-export"


def load(db, database, rows):
    t0 = time.monotonic()
    sql = lambda s: db.sql(s, database, timeout=7200)  # noqa: E731
    # ids sort by seq; every third record a company
    sql("INSERT INTO prospects (tenant_id, id, kind, state, display_name, first_name, last_name,"
        " company_name, vat_number, email, phone, street, postal_code, city, country_code, language,"
        " notes, create_time, update_time)"
        " SELECT '%s', UNHEX(CONCAT('0190ee00', LPAD(HEX(seq), 24, '0'))), IF(seq %% 3 = 0, 2, 1), 1,"
        " IF(seq %% 3 = 0, CONCAT('Bedrijf ', seq, ' BV'), CONCAT('Jan ', seq)),"
        " IF(seq %% 3 = 0, '', 'Jan'), IF(seq %% 3 = 0, '', CONCAT('Peeters ', seq)),"
        " IF(seq %% 3 = 0, CONCAT('Bedrijf ', seq, ' BV'), ''), IF(seq %% 3 = 0, CONCAT('BE0', 100000000 + seq), ''),"
        " CONCAT('info', seq, '@example.be'), CONCAT('+32 9 ', 1000000 + seq), CONCAT('Kerkstraat ', seq %% 200),"
        " '9000', 'Gent', 'BE', 'nl-BE', CONCAT('Klant sinds ', 2000 + seq %% 25, '; belt liever na 10 uur.'),"
        " UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_%d" % (TENANT, rows))
    for k, prefix in ((1, "0190ef01"), (2, "0190ef02")):
        sql("INSERT INTO contact_persons (tenant_id, id, prospect_id, first_name, last_name, email, phone,"
            " role, create_time, update_time)"
            " SELECT '%s', UNHEX(CONCAT('%s', LPAD(HEX(seq), 24, '0'))),"
            " UNHEX(CONCAT('0190ee00', LPAD(HEX(seq), 24, '0'))), 'Eva', CONCAT('Contact ', seq, '-%d'),"
            " CONCAT('eva', seq, '-%d@example.be'), '', 'Boekhouding', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)"
            " FROM seq_1_to_%d WHERE seq %% 3 = 0" % (TENANT, prefix, k, k, rows))
    n = int(db.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s'" % TENANT, database)[0][0])
    c = int(db.sql("SELECT COUNT(*) FROM contact_persons WHERE tenant_id = '%s'" % TENANT, database)[0][0])
    print("loaded %d records and %d contact persons in %.1f s" % (n, c, time.monotonic() - t0), flush=True)


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--prospectctl", default=os.path.join(harness.BUILD_DIR, "client", "prospectctl"))
    ap.add_argument("--data", default="", help="keep the loaded MariaDB in this folder and reuse it")
    args = ap.parse_args()

    db = benchlib.tuned_mariadb("4G", directory=benchlib.data_dir(args.data) or None)
    db.start(timeout=120)
    database = "ps_bench_export"  # the database users' grants cover ps_% (scripts/db-users.sql)
    benchlib.loaded_database(db, database, args.data, lambda d, n: load(d, n, args.rows))
    benchlib.settled(db)
    redis = harness.private_redis()
    server = harness.Server(database=database, mariadb=db, redis=redis, log_level="warn")
    try:
        ch = server.channel
        lib.enable_prospects(ch, TENANT)
        pid = server.proc.pid
        print("server RSS before: %.1f MiB" % rss_mib(pid), flush=True)

        fn = ch.unary_stream(lib.method("ExportProspects"), request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=service_pb2.ExportProspectsResponse.FromString)
        for run in (1, 2):
            t0 = time.monotonic()
            n = msgs = nbytes = total = 0
            for m in fn(service_pb2.ExportProspectsRequest(parent="tenants/%s" % TENANT), timeout=7200):
                msgs += 1
                n += len(m.prospects)
                nbytes += m.ByteSize()
                total = m.total_count or total
            dt = time.monotonic() - t0
            print("python grpcio client, run %d: %d records (total_count %d) in %d messages, %.1f MB, %.1f s:"
                  " %.0f records/s; server RSS %.1f MiB"
                  % (run, n, total, msgs, nbytes / 1e6, dt, n / dt, rss_mib(pid)), flush=True)

        if os.path.exists(args.prospectctl):
            t0 = time.monotonic()
            with open(os.devnull, "wb") as out:
                r = subprocess.run([args.prospectctl, "--plaintext", "--target", server.address, "export",
                                    "--format", "csv", "tenants/%s" % TENANT], stdout=out,
                                   stderr=subprocess.PIPE, timeout=7200)
            dt = time.monotonic() - t0
            print("prospectctl export --format csv > /dev/null: exit %d, %.1f s: %.0f records/s;"
                  " server RSS %.1f MiB" % (r.returncode, dt, args.rows / dt, rss_mib(pid)), flush=True)
            if r.returncode:
                print(r.stderr.decode(errors="replace"))
        else:
            print("(no prospectctl at %s: its run was skipped)" % args.prospectctl)
        print("server RSS after: %.1f MiB" % rss_mib(pid))
    finally:
        server.close()
        redis.close()
        db.close()


if __name__ == "__main__":
    main()
