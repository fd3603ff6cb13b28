#!/usr/bin/python3
"""Bulk import benchmark (issue 16): BatchCreateProspects against one LOAD DATA of MariaDB.

Not a test: it prints figures and asserts nothing. It starts its own MariaDB (the same tuned
settings serve both sides), Redis and server, generates N rows (Dutch and Belgian names, e-mails,
phones and cities; one in ten a company), then
  1. imports them through BatchCreateProspects (batches of --batch rows, --threads concurrent
     clients so that the server's workers are used; no duplicate check), timed from the first call
     to the last answer;
  2. writes the same rows to a tab-separated file and loads it into a fresh tenant's `prospects`
     rows with one LOAD DATA LOCAL INFILE (the data columns only: no normal forms, no word index),
     timed around that statement;
and prints both rates in rows per second and the ratio RPC / LOAD DATA (goal >= 0.3). The RPC
rate counts the rows acknowledged (committed with their duplicate keys); their word index is
written by the server's background indexer (server/indexer.c) while and after they come in, so the
script also waits until prospect_index_queue is empty and prints that time from the first call and
the rate and ratio counting it (the index caught up). For the
same work on both sides it also copies what the import wrote (the records with their normal forms,
and their word index rows, about 20 a record) out of the database and loads both with LOAD DATA
into a third tenant, and prints that ratio too.

    PYTHONPATH=build/py:tests/lib /usr/bin/python3 bench/import.py [--rows 1000000] [--batch 500]
        [--threads 4] [--workers 16]
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import benchlib  # noqa: E402
import harness  # noqa: E402
import ps_testlib as lib  # noqa: E402
from prospects.v1 import resources_pb2, service_pb2  # noqa: E402

R = resources_pb2
S = service_pb2

FIRST = ["Jan", "Piet", "Kees", "Emma", "Sophie", "Lucas", "Daan", "Julia", "Sem", "Tess", "Noah",
         "Mila", "Liam", "Anna", "Finn", "Sara", "Levi", "Eva", "Bram", "Lotte", "Wout", "Lien",
         "Arne", "Fien", "Jef", "Marie", "Ruben", "Elise", "Thijs", "Noor", "Joris", "Hanne"]
LAST = ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
        "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
        "Peeters", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
        "Dubois", "Lambert", "Van Damme", "Desmet", "Vermeulen", "Van de Velde", "Dekker", "Brouwer"]
COMPANY = ["Bakkerij", "Bouwbedrijf", "Installatietechniek", "Schilderwerken", "Transport",
           "Brouwerij", "Adviesbureau", "Drukkerij", "Tuinaanleg", "Loodgieterij", "Garage", "Atelier"]
FORMS = ["B.V.", "BV", "NV", "BVBA", "VOF", "CommV", ""]
CITIES = [("Amsterdam", "NL", "10"), ("Rotterdam", "NL", "30"), ("Utrecht", "NL", "35"),
          ("Eindhoven", "NL", "56"), ("Groningen", "NL", "97"), ("Den Haag", "NL", "25"),
          ("Antwerpen", "BE", "20"), ("Gent", "BE", "90"), ("Brugge", "BE", "80"),
          ("Leuven", "BE", "30"), ("Liège", "BE", "40"), ("Hasselt", "BE", "35"), ("Mechelen", "BE", "28")]
STREETS = ["Kerkstraat", "Dorpsstraat", "Stationsstraat", "Molenweg", "Schoolstraat", "Nieuwstraat",
           "Kapelstraat", "Marktplein", "Beekstraat", "Lindelaan"]
DOMAINS = ["gmail.com", "telenet.be", "proximus.be", "ziggo.nl", "kpnmail.nl", "outlook.com",
           "hotmail.com", "skynet.be"]


def slug(s):
    return "".join(c for c in s.lower().replace("è", "e").replace("é", "e") if c.isalnum())


def make_rows(n, seed=16):
    """n rows: (kind, first, last, company, email, phone, street, postal, city, country)."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        city, cc, pc = rnd.choice(CITIES)
        street = "%s %d" % (rnd.choice(STREETS), rnd.randint(1, 250))
        postal = ("%s%02d %s%s" % (pc, rnd.randint(0, 99), rnd.choice("ABCDEFGHJKLMNPRSTVWXZ"),
                                   rnd.choice("ABCDEFGHJKLMNPRSTVWXZ"))) if cc == "NL" else \
            "%s%02d" % (pc, rnd.randint(0, 99))
        phone = ("+31 6 %08d" % rnd.randint(0, 99999999)) if cc == "NL" else \
            ("+32 4%02d %02d %02d %02d" % (rnd.randint(70, 99), rnd.randint(0, 99), rnd.randint(0, 99),
                                            rnd.randint(0, 99)))
        if i % 10 == 0:
            last = rnd.choice(LAST)
            company = ("%s %s %s" % (rnd.choice(COMPANY), last, rnd.choice(FORMS))).strip()
            email = "info%d@%s.%s" % (i, slug(last), cc.lower())
            rows.append((2, "", "", company, email, phone, street, postal, city, cc))
        else:
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            email = "%s.%s%d@%s" % (slug(first), slug(last), i, rnd.choice(DOMAINS))
            rows.append((1, first, last, "", email, phone, street, postal, city, cc))
    return rows


def bundle(r):
    kind, first, last, company, email, phone, street, postal, city, cc = r
    return S.ProspectBundle(prospect=R.Prospect(
        kind=kind, first_name=first, last_name=last, company_name=company, email=email, phone=phone,
        address=R.Address(street=street, postal_code=postal, city=city, country_code=cc)))


def rpc_import(server, tenant, rows, batch, threads):
    reqs = []
    for b in range(0, len(rows), batch):
        req = S.BatchCreateProspectsRequest(parent="tenants/%s" % tenant, request_id="bench-%d" % b)
        req.prospects.extend(bundle(r) for r in rows[b:b + batch])
        reqs.append(req)
    lock = threading.Lock()
    nxt = [0]
    created = [0]
    errors = []

    def worker():
        ch = harness.channel(server.address)
        while True:
            with lock:
                if nxt[0] >= len(reqs) or errors:
                    break
                req = reqs[nxt[0]]
                nxt[0] += 1
            try:
                resp = harness.call(ch, lib.method("BatchCreateProspects"), req,
                                    S.BatchCreateProspectsResponse, timeout=120)
            except Exception as e:  # noqa: BLE001 (a figure, not a test: report and stop)
                errors.append(e)
                break
            with lock:
                created[0] += resp.created_count
        ch.close()

    t0 = time.monotonic()
    rpc_import.t0 = t0
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        print("RPC import stopped: %s" % errors[0])
    return created[0], dt


def load_data(db, database, tenant, rows, directory):
    path = os.path.join(directory, "rows.tsv")
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            kind, first, last, company, email, phone, street, postal, city, cc = r
            display = company if kind == 2 else ("%s %s" % (first, last))
            f.write("\t".join([uuid.uuid4().hex, str(kind), display, first, last, company, email, phone,
                               street, postal, city, cc]) + "\n")
    stmt = ("LOAD DATA LOCAL INFILE '%s' INTO TABLE prospects CHARACTER SET utf8mb4"
            " FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'"
            " (@id, kind, display_name, first_name, last_name, company_name, email, phone, street,"
            " postal_code, city, country_code)"
            " SET tenant_id = '%s', id = UNHEX(@id), notes = '', create_time = '%s', update_time = '%s'"
            % (path, tenant, now, now))
    cmd = ["mariadb", "--no-defaults", "-uroot", "--socket=" + db.socket, "--local-infile=1", "-e", stmt,
           database]
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=7200)
    dt = time.monotonic() - t0
    n = int(db.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s'" % tenant, database)[0][0])
    return n, dt


def mysql_cmd(db, database, *extra):
    return ["mariadb", "--no-defaults", "-uroot", "--socket=" + db.socket, "--local-infile=1"] + \
        list(extra) + [database]


def load_with_index(db, database, src, dst, directory):
    """Copies tenant src's prospects and prospect_terms rows to files, then loads them into tenant
    dst with two LOAD DATA statements: (rows, seconds of the two loads)."""
    cols = ("kind, state, display_name, first_name, last_name, company_name, vat_number, email, phone,"
            " website, street, postal_code, city, country_code, language, notes, email_norm, vat_norm,"
            " phone_norm, name_key, norm_version, version, create_time, update_time")
    p_path, t_path = os.path.join(directory, "p.tsv"), os.path.join(directory, "t.tsv")
    for path, q in ((p_path, "SELECT HEX(id), %s FROM prospects WHERE tenant_id = '%s'" % (cols, src)),
                    (t_path, "SELECT term, state, HEX(id), display_name FROM prospect_terms"
                             " WHERE tenant_id = '%s'" % src)):
        with open(path, "w") as f:
            subprocess.run(mysql_cmd(db, database, "-N", "-B", "-e", q), check=True, stdout=f, timeout=7200)
    t0 = time.monotonic()
    subprocess.run(mysql_cmd(db, database, "-e",
                             "LOAD DATA LOCAL INFILE '%s' INTO TABLE prospects CHARACTER SET utf8mb4"
                             " (@id, %s) SET tenant_id = '%s', id = UNHEX(@id)" % (p_path, cols, dst)),
                   check=True, capture_output=True, timeout=7200)
    subprocess.run(mysql_cmd(db, database, "-e",
                             "LOAD DATA LOCAL INFILE '%s' INTO TABLE prospect_terms CHARACTER SET utf8mb4"
                             " (term, state, @id, display_name) SET tenant_id = '%s', id = UNHEX(@id)"
                             % (t_path, dst)),
                   check=True, capture_output=True, timeout=7200)
    dt = time.monotonic() - t0
    n = int(db.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s'" % dst, database)[0][0])
    return n, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--threads", type=int, default=4, help="concurrent client threads")
    ap.add_argument("--workers", type=int, default=16, help="the server's PS_WORKERS")
    args = ap.parse_args()

    t_all = time.monotonic()
    db = benchlib.tuned_mariadb("4G", extra=["--local-infile=1"])
    db.start(timeout=120)
    database = "ps_bench_import"  # the database users' grants cover ps_% (scripts/db-users.sql)
    db.drop_database(database)
    db.create_database(database)
    harness.dbmate(db, database, "up")
    db.sql("INSERT INTO tenant_apps (tenant_id, prospects_enabled, version, update_time)"
           " VALUES ('bench-rpc', 1, 1, NOW(6)), ('bench-load', 1, 1, NOW(6))", database)
    redis = harness.private_redis()
    server = harness.Server(database=database, mariadb=db, redis=redis,
                            env={"PS_WORKERS": args.workers}, log_level="warn")
    t0 = time.monotonic()
    rows = make_rows(args.rows)
    print("generated %d rows in %.1f s" % (len(rows), time.monotonic() - t0), flush=True)

    created, dt_rpc = rpc_import(server, "bench-rpc", rows, args.batch, args.threads)
    rate_rpc = created / dt_rpc if dt_rpc else 0
    left = int(db.sql("SELECT COUNT(*) FROM prospect_index_queue", database)[0][0])
    print("BatchCreateProspects: %d rows created (acknowledged) in %.1f s: %.0f rows/s (batch %d, %d"
          " client threads, %d server workers); %d of them still queued for the word index"
          % (created, dt_rpc, rate_rpc, args.batch, args.threads, args.workers, left), flush=True)
    while left:
        time.sleep(1)
        left = int(db.sql("SELECT COUNT(*) FROM prospect_index_queue", database)[0][0])
    dt_ix_done = time.monotonic() - rpc_import.t0
    rate_indexed = created / dt_ix_done if dt_ix_done else 0
    terms = int(db.sql("SELECT COUNT(*) FROM prospect_terms WHERE tenant_id = 'bench-rpc'", database)[0][0])
    print("word index caught up (queue empty) %.1f s after the first call (%.1f s after the last"
          " answer; within 1 s): %.0f rows/s counting that time; %d word index rows"
          % (dt_ix_done, dt_ix_done - dt_rpc, rate_indexed, terms), flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-import-") as d:
        loaded, dt_load = load_data(db, database, "bench-load", rows, d)
    rate_load = loaded / dt_load if dt_load else 0
    print("LOAD DATA LOCAL INFILE: %d rows in %.1f s: %.0f rows/s (data columns only)"
          % (loaded, dt_load, rate_load), flush=True)
    ratio = rate_rpc / rate_load if rate_load else 0
    print("ratio RPC / LOAD DATA: %.2f (goal >= 0.3): %s" % (ratio, "met" if ratio >= 0.3 else "NOT met"),
          flush=True)
    print("ratio with the word index caught up / LOAD DATA: %.2f"
          % (rate_indexed / rate_load if rate_load else 0), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as d:
        loaded_ix, dt_ix = load_with_index(db, database, "bench-rpc", "bench-load-ix", d)
    rate_ix = loaded_ix / dt_ix if dt_ix else 0
    print("LOAD DATA of the same records with their normal forms and word index rows (two statements):"
          " %d records in %.1f s: %.0f records/s; ratio RPC / that: %.2f"
          % (loaded_ix, dt_ix, rate_ix, rate_rpc / rate_ix if rate_ix else 0))
    print("whole run: %.0f s" % (time.monotonic() - t_all))
    server.close()
    redis.close()
    db.close()


if __name__ == "__main__":
    main()
