#!/usr/bin/python3
"""Scale benchmark of the overview and the duplicate check (issue: prospect records, Deliver 7).

Not a test: it prints figures. It starts its own MariaDB (large buffer pool), Redis and server,
loads 1,000 tenants (one with BIG prospects, the others with SMALL each) with bulk SQL, then times
ListProspects (first page and a deep page, with and without a query, both orders) and
FindDuplicateProspects through the real server with one gRPC client, sequentially, and prints
p50/p99 in ms, as the client sees them and as the server measured them (its access log's duration,
from the call's arrival to its answer: the figures without the Python client's own cost). On a
virtual machine it also prints the host's steal during each case (the CPU time the hypervisor gave
to other guests: benchlib.steal_share), where a share of the tails comes from. It also EXPLAINs
every statement the server ran and reports any full scan.

    PYTHONPATH=build/py:tests/lib /usr/bin/python3 bench/overview.py [--big 1000000] [--small 100]
        [--tenants 1000] [--runs 1000] [--data DIR (keep the loaded database there, reuse it)]

The word index rows of the bulk data are produced in SQL for the generator's own simple vocabulary;
the script checks a sample against the server's tokenizer (by rewriting records through
UpdateProspect and comparing their rows) and says so if they differ."""

import argparse
import gc
import hashlib
import hmac
import os
import re
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import benchlib  # noqa: E402
import harness  # noqa: E402
import ps_testlib as lib  # noqa: E402
from prospects.v1 import resources_pb2, service_pb2  # noqa: E402

KEY = "bench-page-token-key"
NORM_VERSION = harness.norm_version()  # the version the server builds (server/core/normalize.h)
BIG = "bench-big"

FIRST = ["jan", "piet", "kees", "emma", "sophie", "lucas", "daan", "julia", "sem", "tess", "noah",
         "mila", "liam", "anna", "finn", "sara", "levi", "eva", "bram", "lotte"]
SYL = ["van", "der", "berg", "bak", "ker", "jan", "sen", "de", "vries", "mul", "der", "smit", "visser",
       "boer", "dijk", "meer", "bos", "vos", "peters", "hen", "drik", "kok", "brouw", "wer", "graaf",
       "hout", "man", "kamp", "veld", "holt", "stra", "ma", "ens", "hof", "laan", "beek", "rijn",
       "maas", "zand", "wit"]
CITIES = ["amsterdam", "rotterdam", "utrecht", "eindhoven", "groningen", "tilburg", "almere", "breda",
          "nijmegen", "apeldoorn", "haarlem", "arnhem", "enschede", "amersfoort", "zaanstad",
          "zwolle", "leiden", "maastricht", "dordrecht", "ede", "delft", "venlo", "deventer",
          "alkmaar", "helmond", "hengelo", "emmen", "gouda", "hilversum", "lelystad"]
DOMAINS = ["example", "mail", "posteo", "acme", "bedrijf", "kpn", "ziggo", "gmail"]


def elt(idx_expr, words):
    return "ELT(1 + (%s), %s)" % (idx_expr, ", ".join("'%s'" % w for w in words))


def load(db, database, tenants, big, small):
    t0 = time.monotonic()
    sql = lambda s: db.sql(s, database, timeout=7200)  # noqa: E731
    sql("INSERT INTO tenant_apps (tenant_id, prospects_enabled, version, update_time) "
        "SELECT IF(seq = 1, '%s', CONCAT('bench-', seq)), 1, 1, NOW(6) FROM seq_1_to_%d" % (BIG, tenants))
    # the secondary indexes are built after the bulk load (same definitions as the migration)
    sql("ALTER TABLE prospects DROP KEY prospects_overview_newest, DROP KEY prospects_overview_name,"
        " DROP KEY prospects_dup_email, DROP KEY prospects_dup_vat, DROP KEY prospects_dup_phone,"
        " DROP KEY prospects_dup_name")
    sql("ALTER TABLE prospect_terms DROP KEY prospect_terms_by_name, DROP KEY prospect_terms_by_prospect")
    # The first name follows s (mod 20) like the city (mod 30), so a city and a first name either
    # meet on thousands of records or never. One record in 1000 takes the next first name, so that
    # two common words whose combination is rare (a few records) occur, as they do in real data.
    first = elt("(s + IF(CRC32(s) % 1000 = 0, 1, 0)) % 20", FIRST)
    last = "CONCAT(%s, %s)" % (elt("(s * 7) % 40", SYL), elt("(s DIV 40 * 13) % 40", SYL))
    city = elt("(s * 11) % 30", CITIES)
    dom = elt("(s * 3) % 8", DOMAINS)
    base_ms = int(time.time() * 1000) - 400 * 24 * 3600 * 1000

    def insert(tenant_expr, n_expr_from, ts_expr):
        return (
            "INSERT INTO prospects (tenant_id, id, kind, state, display_name, first_name, last_name,"
            " vat_number, email, phone, city, country_code, notes, email_norm, vat_norm, phone_norm,"
            " name_key, norm_version, version, create_time, update_time)"
            " SELECT tenant_id, id, 1, IF(s %% 10 = 0, 2, 1), CONCAT(f, ' ', l), f, l, vat, email, phone, c,"
            " 'NL', '', LOWER(email), vat, CONCAT('316', LPAD(s, 8, '0')), CONCAT(f, ' ', l), %d, 1, ts, ts"
            " FROM (SELECT %s AS tenant_id, s, %s AS f, %s AS l, %s AS c,"
            "  CONCAT(%s, '.', %s, s, '@', %s, '.nl') AS email,"
            "  CONCAT('NL', LPAD(s, 9, '0'), 'B01') AS vat, CONCAT('06 ', LPAD(s, 8, '0')) AS phone,"
            "  %s AS ts,"
            "  UNHEX(CONCAT(LPAD(HEX(%d + s * 37), 12, '0'), '7', LPAD(HEX(s %% 4096), 3, '0'), '8',"
            "   LPAD(HEX(FLOOR(RAND() * 1152921504606846976)), 15, '0'))) AS id"
            "  FROM %s) g" % (NORM_VERSION, tenant_expr, first, last, city, first, last, dom, ts_expr, base_ms,
                              n_expr_from))

    sql(insert("'%s'" % BIG, "(SELECT seq AS s FROM seq_1_to_%d) q" % big,
               "FROM_UNIXTIME((%d + s * 37) / 1000)" % base_ms))
    print("loaded %d prospects of %s in %.0f s" % (big, BIG, time.monotonic() - t0), flush=True)
    sql(insert("CONCAT('bench-', t)", "(SELECT a.seq AS t, b.seq + 2000000 * a.seq AS s FROM seq_2_to_%d a,"
               " seq_1_to_%d b) q" % (tenants, small), "FROM_UNIXTIME((%d + s * 37) / 1000)" % base_ms))
    print("loaded %d other tenants x %d in %.0f s" % (tenants - 1, small, time.monotonic() - t0), flush=True)
    # the word index: each word whole and as its first 1..3 characters (store/search.h)
    words = ["first_name", "last_name", "city",
             "REPLACE(REPLACE(REPLACE(email, '.', ''), '@', ' '), ' ', '')",  # placeholder, replaced below
             ]
    word_sql = " UNION ALL ".join([
        "SELECT tenant_id, id, state, display_name, first_name AS w FROM prospects",
        "SELECT tenant_id, id, state, display_name, last_name FROM prospects",
        "SELECT tenant_id, id, state, display_name, city FROM prospects",
        # e-mail without dots: firstlast123, domainnl
        "SELECT tenant_id, id, state, display_name, REPLACE(SUBSTRING_INDEX(email, '@', 1), '.', '') FROM prospects",
        "SELECT tenant_id, id, state, display_name, REPLACE(SUBSTRING_INDEX(email, '@', -1), '.', '') FROM prospects",
        # e-mail with dots as spaces: first, last123, domain, nl
        "SELECT tenant_id, id, state, display_name, SUBSTRING_INDEX(SUBSTRING_INDEX(email, '@', 1), '.', -1) FROM prospects",
        "SELECT tenant_id, id, state, display_name, SUBSTRING_INDEX(SUBSTRING_INDEX(email, '@', -1), '.', 1) FROM prospects",
        "SELECT tenant_id, id, state, display_name, 'nl' FROM prospects",
        # VAT number: as written / normal form, and without the country prefix
        "SELECT tenant_id, id, state, display_name, LOWER(vat_number) FROM prospects",
        "SELECT tenant_id, id, state, display_name, LOWER(SUBSTRING(vat_number, 3)) FROM prospects",
    ])
    del words
    sql("INSERT IGNORE INTO prospect_terms (tenant_id, term, state, id, display_name)"
        " SELECT w.tenant_id, IF(k.seq = 4, w.w, LEFT(w.w, k.seq)), w.state, w.id, w.display_name"
        " FROM (%s) w JOIN seq_1_to_4 k ON k.seq = 4 OR k.seq < CHAR_LENGTH(w.w)" % word_sql)
    # the pair terms: every two of a record's terms of 3 characters without digits, in byte order
    # (store/search.h, "Pairs"; no record here has more than PS_SEARCH_PAIR_PREFIXES_MAX of them)
    sql("CREATE TABLE bench_p3 (tenant_id VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
        " id BINARY(16) NOT NULL, p VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,"
        " state TINYINT UNSIGNED NOT NULL, display_name VARCHAR(255) NOT NULL, PRIMARY KEY (tenant_id, id, p))"
        " SELECT tenant_id, id, term AS p, state, display_name FROM prospect_terms WHERE CHAR_LENGTH(term) = 3"
        " AND term NOT REGEXP '[0-9]'")
    sql("INSERT IGNORE INTO prospect_terms (tenant_id, term, state, id, display_name)"
        " SELECT a.tenant_id, CONCAT(a.p, ' ', b.p), a.state, a.id, a.display_name FROM bench_p3 a"
        " JOIN bench_p3 b ON b.tenant_id = a.tenant_id AND b.id = a.id AND b.p > a.p")
    sql("DROP TABLE bench_p3")
    # The rows are what the current normal forms write, as checked below: nothing for the
    # background reindex to do, so that it does not run while the figures are taken.
    sql("INSERT INTO reindex_progress (job, version, rows_total, rows_done, start_time, update_time,"
        " finish_time) SELECT 'prospect_norms', %d, COUNT(*), COUNT(*), NOW(6), NOW(6), NOW(6)"
        " FROM prospects" % NORM_VERSION)
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


def mint(tenant, query, filter_, order, pos):
    """A page token as the server makes it (core/pagetoken.h), for a position deep in the list."""
    def s(x):
        b = x.encode()
        return struct.pack(">I", len(b)) + b
    ctx = s("ListProspects") + s(tenant) + s(query) + struct.pack(">q", filter_) + struct.pack(">q", order)
    mac = hmac.new(KEY.encode(), b"\x01" + struct.pack(">I", len(ctx)) + ctx + pos, hashlib.sha256).digest()
    import base64
    return base64.urlsafe_b64encode(b"\x01" + pos + mac[:16]).decode().rstrip("=")


def deep_position(db, database, query_ids_sql, order, offset):
    if order == 2:
        r = db.sql("SELECT HEX(id), display_name FROM prospects WHERE tenant_id = '%s' AND state = 1 %s"
                   " ORDER BY display_name, id LIMIT 1 OFFSET %d" % (BIG, query_ids_sql, offset), database)
        return bytes([1]) + bytes.fromhex(r[0][0]) + r[0][1].encode()
    r = db.sql("SELECT HEX(id) FROM prospects WHERE tenant_id = '%s' AND state = 1 %s"
               " ORDER BY id DESC LIMIT 1 OFFSET %d" % (BIG, query_ids_sql, offset), database)
    return bytes([0]) + bytes.fromhex(r[0][0])


def p50_p99(out):
    out = sorted(out)
    return statistics.median(out), out[min(len(out) - 1, int(len(out) * 0.99))]


def case_line(row, extra=""):
    """A case's figures: (label, rows, client p50, p99, server p50, p99, steal, reads, hiccups)."""
    label, n, c50, c99, s50, s99, steal, reads, hiccups = row
    notes = ["steal %.0f%%" % steal, "disk reads %d" % reads]
    if hiccups.result:
        notes.append(hiccups.summary())
    if extra:
        notes.append(extra)
    return "%-58s %4d rows  p50 %6.2f ms  p99 %6.2f ms  (server: %.2f, %.2f; %s)" % (
        label, n, c50, c99, s50, s99, "; ".join(notes))


def timeit(fn, runs, server, method, db):
    """p50 and p99 of runs calls as the client saw them, then as the server measured them (ms),
    the host's steal during the calls (benchlib.steal_share), how many pages MariaDB read from
    disk meanwhile (benchlib.disk_reads: misses, read-ahead and the buffer pool's load), and the
    machine's own stalls meanwhile (benchlib.Hiccups)."""
    fn()  # warm
    mark = os.path.getsize(server.log_path)
    out = []
    reads = benchlib.disk_reads(db)
    ticks = benchlib.steal_ticks()
    # the client's garbage collector pauses are the client's, not the service's: none while timed
    gc.collect()
    gc.disable()
    try:
        with benchlib.Hiccups() as hiccups:
            for _ in range(runs):
                t = time.perf_counter()
                fn()
                out.append((time.perf_counter() - t) * 1000)
    finally:
        gc.enable()
    steal = benchlib.steal_share(ticks, benchlib.steal_ticks())
    reads = benchlib.disk_reads(db) - reads
    # the access lines of these calls (the server writes a call's line as it answers it)
    served = []
    for _ in range(50):
        with open(server.log_path, "rb") as f:
            f.seek(mark)
            served = [int(d) / 1000 for line in f.read().decode("utf-8", "replace").splitlines()
                      if "/" + method in line
                      for d in re.findall(r'duration_us\W+(\d+)', line)]
        if len(served) >= runs:
            break
        time.sleep(0.05)
    if len(served) != runs:
        sys.exit("found %d access lines of %s for %d calls" % (len(served), method, runs))
    return p50_p99(out) + p50_p99(served) + (steal, reads, hiccups)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=1000)
    ap.add_argument("--big", type=int, default=1000000)
    ap.add_argument("--small", type=int, default=100)
    # calls per case: with 300, the p99 was the 3rd slowest call, and the machine's own stalls
    # (2 a second with no call, up to 8 ms; each holds up the one call running) alone put 1-3
    # calls of a half-second case past it; with 1000, the 10th slowest
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--data", default="", help="keep the loaded MariaDB in this folder and reuse it")
    args = ap.parse_args()

    db = benchlib.tuned_mariadb("6G", directory=benchlib.data_dir(args.data) or None)
    db.start(timeout=120)
    database = "ps_bench"  # the database users' grants cover ps_% (scripts/db-users.sql)
    benchlib.loaded_database(db, database, args.data,
                             lambda d, n: load(d, n, args.tenants, args.big, args.small))
    server = harness.Server(database=database, mariadb=db, redis=harness.private_redis(),
                            env={"PS_PAGE_TOKEN_KEY": KEY, "PS_REINDEX_CHECK_S": 1}, log_level="info")
    ch = server.channel
    # the listing drives two words by their pair term once every row is of the current version:
    # wait for that (a data folder loaded by an older version is rebuilt by the server first), and
    # for the server to have read it (PS_REINDEX_CHECK_S 1)
    t0 = time.monotonic()
    while not db.sql("SELECT 1 FROM reindex_progress WHERE job = 'prospect_norms' AND version = %d"
                     " AND finish_time IS NOT NULL" % NORM_VERSION, database):
        if time.monotonic() - t0 > 7200:
            sys.exit("the server's reindex did not finish within 2 hours")
        time.sleep(1)
    time.sleep(2)
    if time.monotonic() - t0 > 3:
        print("waited %.0f s for the server's reindex of older rows" % (time.monotonic() - t0), flush=True)

    # the SQL-made word index must equal what the server writes: rewrite a sample through the server
    mismatches = 0
    sample = db.sql("SELECT HEX(id) FROM prospects WHERE tenant_id = '%s' ORDER BY RAND() LIMIT 20" % BIG, database)
    for (h,) in sample:
        terms = lambda: sorted(r[0] for r in db.sql(  # noqa: E731
            "SELECT term FROM prospect_terms WHERE tenant_id = '%s' AND id = UNHEX('%s')" % (BIG, h), database))
        before = terms()
        uid = "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
        lib.update(ch, resources_pb2.Prospect(name="tenants/%s/prospects/%s" % (BIG, uid.lower()),
                                              notes="bench"), ["notes"])
        if terms() != before:
            mismatches += 1
    print("word index check: %d of %d sampled records differ from the server's tokenizer"
          % (mismatches, len(sample)))

    benchlib.settled(db)
    # the baseline of the machine's own stalls: 5 s with nothing timed, to compare each case's with
    idle_s = 5
    with benchlib.Hiccups() as idle:
        time.sleep(idle_s)
    if idle.result:
        print("the machine with no call (%d s): %s, %.1f a second" % (
            idle_s, idle.summary(), idle.result["stalls_2ms"] / idle_s), flush=True)

    # every statement the server runs is EXPLAINed at the end: each case's first call is made with
    # the general log on, its timed calls with it off (the log writes a row per statement)
    db.sql("SET GLOBAL log_output = 'TABLE'")
    db.sql("TRUNCATE mysql.general_log")

    def logged(fn):
        db.sql("SET GLOBAL general_log = 1")
        try:
            return fn()
        finally:
            db.sql("SET GLOBAL general_log = 0")

    rows = []
    n_state1 = int(db.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s' AND state = 1" % BIG, database)[0][0])

    def case(label, query="", order=1, deep=None, ids_sql=""):
        token = ""
        if deep is not None:
            token = mint(BIG, query, 1, 0 if order == 1 else 1, deep_position(db, database, ids_sql, order, deep))
        req = service_pb2.ListProspectsRequest(parent="tenants/%s" % BIG, query=query, order_by=order,
                                               page_size=50, page_token=token)
        resp = logged(lambda: harness.call(ch, lib.method("ListProspects"), req,
                                           service_pb2.ListProspectsResponse))
        t = timeit(lambda: harness.call(ch, lib.method("ListProspects"), req, service_pb2.ListProspectsResponse),
                   args.runs, server, "ListProspects", db)
        rows.append((label, len(resp.prospects)) + t)
        print(case_line(rows[-1]), flush=True)

    deep = int(n_state1 * 0.9)
    case("overview newest, first page")
    case("overview newest, deep page (90%%: row %d)" % deep, deep=deep)
    case("overview by name, first page", order=2)
    case("overview by name, deep page (90%)", order=2, deep=deep)
    # a last name (one of ~1600; ~0.06% of the records each)
    lname = db.sql("SELECT last_name FROM prospects WHERE tenant_id = '%s' LIMIT 1 OFFSET %d"
                   % (BIG, args.big // 81), database)[0][0]
    q_ids = "AND last_name = '%s'" % lname
    n_q = int(db.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s' AND state = 1 %s" % (BIG, q_ids), database)[0][0])
    case("query %r (%d matches), newest, first page" % (lname, n_q), query=lname)
    case("query %r, newest, deep page (90%%)" % lname, query=lname, deep=int(n_q * 0.9), ids_sql=q_ids)
    case("query %r, by name, first page" % lname, query=lname, order=2)
    case("query %r, by name, deep page (90%%)" % lname, query=lname, order=2, deep=int(n_q * 0.9), ids_sql=q_ids)
    # short words: one exact term, read in index order
    q_ids = "AND last_name LIKE 'ja%'"
    n_q = int(db.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s' AND state = 1 %s" % (BIG, q_ids), database)[0][0])
    case("query 'ja' (%d+ matches), newest, first page" % n_q, query="ja")
    case("query 'ja', newest, deep page", query="ja", deep=int(n_q * 0.9), ids_sql=q_ids)
    case("query 'ja', by name, first page", query="ja", order=2)
    # two words: a common city and a first name (the rarer word drives the lookup)
    two = " ".join(db.sql("SELECT city, first_name FROM prospects WHERE tenant_id = '%s' AND state = 1"
                          " LIMIT 1 OFFSET %d" % (BIG, args.big // 3), database)[0])
    case("query %r, newest, first page" % two, query=two)
    case("query %r, by name, first page" % two, query=two, order=2)
    case("query 'amsterdam zzz' (no match), newest", query="amsterdam zzz")
    # two common words whose combination is rare: a city and a first name that meet on few records
    # (< 50) while each has >= 20,000; one pair with a long first name (both words are ranges of
    # whole words), one with a first name of 3 characters (an exact term)
    def word_records(w):
        op = "= '%s'" % w if len(w) <= 3 else "LIKE '%s%%'" % w
        return int(db.sql("SELECT COUNT(DISTINCT id) FROM prospect_terms WHERE tenant_id = '%s'"
                          " AND term %s AND state = 1" % (BIG, op), database)[0][0])

    for short in (False, True):
        pair = db.sql("SELECT city, first_name, COUNT(*) AS n FROM prospects WHERE tenant_id = '%s'"
                      " AND state = 1 AND CHAR_LENGTH(first_name) %s 3 GROUP BY city, first_name"
                      " HAVING n BETWEEN 1 AND 49 ORDER BY n DESC, city, first_name LIMIT 1"
                      % (BIG, "<=" if short else ">"), database)
        if not pair:
            print("no rare pair of a city and a first name in the data: case skipped")
            continue
        city, fname, _ = pair[0]
        q_ids = "AND city = '%s' AND first_name = '%s'" % (city, fname)
        n_q = int(db.sql("SELECT COUNT(*) FROM prospects WHERE tenant_id = '%s' AND state = 1 %s"
                         % (BIG, q_ids), database)[0][0])
        two = "%s %s" % (city, fname)
        n_city, n_fname = word_records(city), word_records(fname)
        print("rare pair %r: %d and %d records, %d together%s" % (
            two, n_city, n_fname, n_q, "" if min(n_city, n_fname) >= 20000 else " (a word has < 20,000)"),
            flush=True)
        case("query %r (%d matches), newest, first page" % (two, n_q), query=two)
        case("query %r, by name, first page" % two, query=two, order=2)
        if not short:
            case("query %r, newest, deep page (90%%)" % two, query=two, deep=int(n_q * 0.9), ids_sql=q_ids)
            case("query %r, by name, deep page (90%%)" % two, query=two, order=2, deep=int(n_q * 0.9),
                 ids_sql=q_ids)
            pre = "%s %s" % (city[:4], fname[:4])
            case("query %r (prefixes), newest, first page" % pre, query=pre)
    # an e-mail address (the magnifying glass of S11)
    em = db.sql("SELECT email FROM prospects WHERE tenant_id = '%s' LIMIT 1 OFFSET %d"
                % (BIG, args.big * 7 // 9), database)[0][0]
    case("query e-mail %r, newest" % em, query=em)

    one = db.sql("SELECT email, vat_number, phone, first_name, last_name FROM prospects WHERE tenant_id = '%s'"
                 " LIMIT 1 OFFSET %d" % (BIG, args.big * 3 // 7), database)[0]
    cand = resources_pb2.Prospect(kind=resources_pb2.PERSON, email=one[0].upper(), vat_number=one[1],
                                  phone=one[2], first_name=one[3].title(), last_name=one[4],
                                  address=resources_pb2.Address(country_code="NL"))
    # the duplicate check: exact keys and the name, then close names only (no contact keys): one
    # letter doubled, first and last name swapped, the name within a longer company name
    first, last = one[3].title(), one[4]
    dup_cases = [
        ("duplicate check (e-mail, VAT, phone, name)", cand),
        ("duplicate check, near name (%s %s)" % (first, last[:2] + last[1:]),
         resources_pb2.Prospect(kind=resources_pb2.PERSON, first_name=first, last_name=last[:2] + last[1:])),
        ("duplicate check, swapped name", resources_pb2.Prospect(kind=resources_pb2.PERSON, first_name=last,
                                                                 last_name=first)),
        ("duplicate check, contained (%s %s Holding)" % (first, last),
         resources_pb2.Prospect(kind=resources_pb2.COMPANY, company_name="%s %s Holding" % (first, last))),
    ]
    dup_rows = []
    for label, c in dup_cases:
        dreq = service_pb2.FindDuplicateProspectsRequest(parent="tenants/%s" % BIG, candidate=c)
        dresp = logged(lambda: harness.call(ch, lib.method("FindDuplicateProspects"), dreq,
                                            service_pb2.FindDuplicateProspectsResponse))
        t = timeit(lambda: harness.call(ch, lib.method("FindDuplicateProspects"), dreq,
                                        service_pb2.FindDuplicateProspectsResponse),
                   args.runs, server, "FindDuplicateProspects", db)
        kinds = sorted({service_pb2.DuplicateReason.Name(r) for d in dresp.duplicates for r in d.reasons})
        dup_rows.append((label, len(dresp.duplicates)) + t)
        print(case_line(dup_rows[-1], "%s; top score %.2f" % (
            ", ".join(kinds) or "none", max([d.score for d in dresp.duplicates] or [0]))), flush=True)

    stmts = lib.logged_selects(db, BIG)
    scans = 0
    for s in stmts:
        for r in lib.explain(db, database, s):
            if r["type"] in ("ALL", "index") and r["table"] in ("prospects", "prospect_terms", "p", "t", "f") \
                    and "json_table" not in r["Extra"]:
                scans += 1
                print("FULL SCAN: %s\n  in %s" % (r, s[:300]))
    print("EXPLAIN: %d distinct statements checked, %d full scans" % (len(stmts), scans))
    for what, rs, target in (("the overview", rows, 5), ("the duplicate check", dup_rows, 20)):
        worst = max(rs, key=lambda r: r[3])
        print("worst p99 of %s %.2f ms (target %d ms): %s; at the server %.2f ms (worst: %s)" % (
            what, worst[3], target, "met" if worst[3] <= target else "NOT met", max(r[5] for r in rs),
            max(rs, key=lambda r: r[5])[0]))
        print("  the host's steal during the cases: %.0f-%.0f%% of the CPUs' time (%.0f%% in the worst case)"
              % (min(r[6] for r in rs), max(r[6] for r in rs), worst[6]))
        if worst[8].result:
            print("  the machine's own stalls during the worst case: %s" % worst[8].summary())
    server.close()
    db.close()


if __name__ == "__main__":
    main()
