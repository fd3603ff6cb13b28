#!/usr/bin/python3
"""Rate of the background reindex (issue 14; server/reindex.h). Not a test: it prints figures.

It starts its own MariaDB and Redis, loads ROWS prospects over TENANTS tenants with bulk SQL as
version 1 of the normal forms left them (norm_version 1, name keys and word index rows as version 1
built them), starts a server with the reindex settings given (the defaults: those of production)
and waits until the job is done. It prints the job's rows per second, from its row in
reindex_progress (start to finish), and how many rows it rebuilt.

One name in ten starts with Ș or Ț, which version 1 kept as written: their keys and words change
("Ștefan" -> "stefan"). The others fold alike in all versions, but version 3 adds pair terms to the
word index (store/search.h, "Pairs"), so every row's word index is rewritten. The script checks that
the reindex rebuilt every row and that none is left of an older version.

    PYTHONPATH=build/py:tests/lib /usr/bin/python3 bench/reindex.py [--rows 200000] [--tenants 100]
        [--batch 500] [--pause-ms 20]

--batch and --pause-ms default to the server's defaults (PS_REINDEX_BATCH, PS_REINDEX_PAUSE_MS)."""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import benchlib  # noqa: E402
import harness  # noqa: E402

FIRST = ["Jan", "Piet", "Kees", "Emma", "Sophie", "Lucas", "Daan", "Julia", "Sem", "Tess", "Noah",
         "Mila", "Liam", "Anna", "Finn", "Sara", "Levi", "Eva",
         "Ștefan", "Țepeș"]  # the last two: kept as written by version 1 (U+0218, U+021A, U+0219)
SPECIAL = 2
VERSION = harness.norm_version()  # the version the server builds (server/core/normalize.h)
LAST = ["Jansen", "Bakker", "Visser", "Smit", "Meijer", "DeVries", "VanDijk", "Mulder", "Bos", "Vos",
        "Peters", "Hendriks", "Dekker", "Brouwer", "DeGraaf", "Kok", "Jacobs", "VanLeeuwen"]
CITIES = ["amsterdam", "rotterdam", "utrecht", "eindhoven", "groningen", "tilburg", "almere", "breda",
          "nijmegen", "haarlem", "arnhem", "zwolle", "leiden", "maastricht", "delft", "gouda"]
DOMAINS = ["example", "mail", "posteo", "acme", "bedrijf", "kpn", "ziggo", "gmail"]


def elt(idx_expr, words):
    def lit(w):
        return "CONVERT(UNHEX('%s') USING utf8mb4)" % w.encode().hex()
    return "ELT(1 + (%s), %s)" % (idx_expr, ", ".join(lit(w) for w in words))


def load(db, database, rows, tenants):
    t0 = time.monotonic()
    sql = lambda s: db.sql(s, database, timeout=7200)  # noqa: E731
    sql("INSERT INTO tenant_apps (tenant_id, prospects_enabled, version, update_time) "
        "SELECT CONCAT('rx-', seq), 1, 1, NOW(6) FROM seq_0_to_%d" % (tenants - 1))
    # the secondary indexes are built after the bulk load (same definitions as the migrations)
    sql("ALTER TABLE prospects DROP KEY prospects_overview_newest, DROP KEY prospects_overview_name,"
        " DROP KEY prospects_dup_email, DROP KEY prospects_dup_vat, DROP KEY prospects_dup_phone,"
        " DROP KEY prospects_dup_name")
    sql("ALTER TABLE prospect_terms DROP KEY prospect_terms_by_name, DROP KEY prospect_terms_by_prospect")
    n_first = len(FIRST)
    first = elt("seq %% %d" % n_first, FIRST)
    last = elt("(seq DIV %d) %% %d" % (n_first, len(LAST)), LAST)
    city = elt("(seq * 7) %% %d" % len(CITIES), CITIES)
    dom = elt("(seq * 3) %% %d" % len(DOMAINS), DOMAINS)
    base_ms = int(time.time() * 1000) - 400 * 24 * 3600 * 1000
    # version 1's key: ASCII lower case; the two special names kept as written
    sql("INSERT INTO prospects (tenant_id, id, kind, state, display_name, first_name, last_name, email,"
        " city, country_code, notes, email_norm, name_key, norm_version, version, create_time, update_time)"
        " SELECT tenant_id, id, 1, 1, CONCAT(f, ' ', l), f, l, email, c, 'NL', '', email,"
        " CONCAT(IF(s %% %d >= %d, f, LOWER(f)), ' ', LOWER(l)), 1, 1, ts, ts"
        " FROM (SELECT CONCAT('rx-', seq %% %d) AS tenant_id, seq AS s, %s AS f, %s AS l, %s AS c,"
        "  CONCAT('p', seq, '@', %s, '.nl') AS email, FROM_UNIXTIME((%d + seq * 37) / 1000) AS ts,"
        "  UNHEX(CONCAT(LPAD(HEX(%d + seq * 37), 12, '0'), '7', LPAD(HEX(seq %% 4096), 3, '0'), '8',"
        "   LPAD(HEX(FLOOR(RAND() * 1152921504606846976)), 15, '0'))) AS id"
        "  FROM seq_1_to_%d) g"
        % (n_first, n_first - SPECIAL, tenants, first, last, city, dom, base_ms, base_ms, rows))
    print("loaded %d prospects in %.0f s" % (rows, time.monotonic() - t0), flush=True)
    # The word index as version 1 wrote it (store/search.c: each word whole and as its first 1..3
    # characters): the words of the display name, the city, the e-mail as written without its dots
    # ("p12", "bedrijfnl") and with its dots as spaces ("p12", "bedrijf", "nl").
    words = " UNION ALL ".join([
        "SELECT tenant_id, id, state, display_name, name_key AS w FROM prospects",  # first word below
        "SELECT tenant_id, id, state, display_name, LOWER(last_name) FROM prospects",
        "SELECT tenant_id, id, state, display_name, city FROM prospects",
        "SELECT tenant_id, id, state, display_name, SUBSTRING_INDEX(email, '@', 1) FROM prospects",
        "SELECT tenant_id, id, state, display_name, REPLACE(SUBSTRING_INDEX(email, '@', -1), '.', '') FROM prospects",
        "SELECT tenant_id, id, state, display_name, SUBSTRING_INDEX(SUBSTRING_INDEX(email, '@', -1), '.', 1) FROM prospects",
        "SELECT tenant_id, id, state, display_name, 'nl' FROM prospects",
    ]).replace("name_key AS w", "SUBSTRING_INDEX(name_key, ' ', 1) AS w")
    sql("INSERT IGNORE INTO prospect_terms (tenant_id, term, state, id, display_name)"
        " SELECT w.tenant_id, IF(k.seq = 4, w.w, LEFT(w.w, k.seq)), w.state, w.id, w.display_name"
        " FROM (%s) w JOIN seq_1_to_4 k ON k.seq = 4 OR k.seq < CHAR_LENGTH(w.w)" % words)
    print("word index rows: %s in %.0f s" % (sql("SELECT COUNT(*) FROM prospect_terms")[0][0],
                                             time.monotonic() - t0), flush=True)
    sql("ALTER TABLE prospects ADD KEY prospects_overview_newest (tenant_id, state, id),"
        " ADD KEY prospects_overview_name (tenant_id, state, display_name, id),"
        " ADD KEY prospects_dup_email (tenant_id, email_norm), ADD KEY prospects_dup_vat (tenant_id, vat_norm),"
        " ADD KEY prospects_dup_phone (tenant_id, phone_norm), ADD KEY prospects_dup_name (tenant_id, name_key)")
    sql("ALTER TABLE prospect_terms ADD KEY prospect_terms_by_name (tenant_id, term, state, display_name, id),"
        " ADD KEY prospect_terms_by_prospect (tenant_id, id, term)")
    sql("ANALYZE TABLE prospects, prospect_terms")
    print("indexes built in %.0f s total" % (time.monotonic() - t0), flush=True)


def job(db, database):
    r = db.sql("SELECT rows_total, rows_done, rows_rebuilt, batches, finish_time IS NOT NULL,"
               " TIMESTAMPDIFF(MICROSECOND, start_time, COALESCE(finish_time, update_time))"
               " FROM reindex_progress WHERE job = 'prospect_norms'", database)
    if not r:
        return None
    v = r[0]
    return {"total": int(v[0]), "done": int(v[1]), "rebuilt": int(v[2]), "batches": int(v[3]),
            "finished": v[4] == "1", "seconds": int(v[5]) / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--batch", type=int, default=None, help="PS_REINDEX_BATCH (default: the server's)")
    ap.add_argument("--pause-ms", type=int, default=None, help="PS_REINDEX_PAUSE_MS (default: the server's)")
    args = ap.parse_args()

    db = benchlib.tuned_mariadb("1G", "256M")
    db.start(timeout=120)
    redis = harness.private_redis()
    database = "ps_bench_reindex"  # the database users' grants cover ps_% (scripts/db-users.sql)
    db.create_database(database)
    harness.dbmate(db, database, "up")
    load(db, database, args.rows, args.tenants)
    special = int(db.sql("SELECT COUNT(*) FROM prospects WHERE name_key <> LOWER(display_name)"
                         " COLLATE utf8mb4_bin", database)[0][0])

    env = {"PS_REINDEX": "1"}
    if args.batch is not None:
        env["PS_REINDEX_BATCH"] = str(args.batch)
    if args.pause_ms is not None:
        env["PS_REINDEX_PAUSE_MS"] = str(args.pause_ms)
    server = harness.Server(database=database, mariadb=db, redis=redis, env=env, log_level="info")
    try:
        last = 0
        while True:
            j = job(db, database)
            if j and j["finished"]:
                break
            if j and j["done"] - last >= args.rows // 10:
                print("  %d of %d rows after %.1f s" % (j["done"], j["total"], j["seconds"]), flush=True)
                last = j["done"]
            if not server.running():
                raise RuntimeError("the server exited:\n" + server.log()[-3000:])
            time.sleep(0.2)
        settings = re.search(r"reindex=\S+ reindex-batch=(\d+) reindex-pause=(\d+)", server.log())
        print("reindex of %d rows (batch %s, pause %s ms): %.1f s, %.0f rows/s; %d batches; %d rows "
              "rebuilt, %d of them with new name keys (the names version 1 kept as written)"
              % (j["done"], settings.group(1), settings.group(2), j["seconds"],
                 j["done"] / j["seconds"] if j["seconds"] else 0, j["batches"], j["rebuilt"], special))
        for line in server.log().splitlines():
            if "reindex prospect_norms: done" in line:
                print("server: " + line.split(" info ", 1)[-1])
        if j["rebuilt"] != j["done"]:
            print("WARNING: %d rows rebuilt, %d expected (every row: version 3 adds the pair terms)"
                  % (j["rebuilt"], j["done"]))
        left = int(db.sql("SELECT COUNT(*) FROM prospects WHERE norm_version < %d" % VERSION, database)[0][0])
        if left:
            print("WARNING: %d rows still of an older version" % left)
    finally:
        server.close()
        redis.close()
        db.close()


if __name__ == "__main__":
    main()
