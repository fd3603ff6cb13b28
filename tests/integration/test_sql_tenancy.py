"""Sharding readiness (Vitess, vitess/vschema.json): every SQL statement the server can prepare
restricts each table it reads or writes to one tenant, and no statement joins across tenants.

The statements are read from the server's own sources as the compiler sees them: each source file
is run through the C preprocessor with its compile command (compile_commands.json of the build),
so statements assembled from macros are checked in their final text. Rules, per statement:
- every table named after FROM, JOIN, UPDATE or DELETE FROM comes with its own tenant condition:
  `tenant_id = ?` (optionally qualified) or an equality with another table's tenant_id;
- an INSERT names tenant_id among its columns (Vitess routes the row by it); an INSERT ... SELECT's
  SELECT follows the rule above;
- a JOIN's ON clause equates the tenant (`x.tenant_id = ?` or `x.tenant_id = y.tenant_id`), and
  there are no comma joins;
except the statements of ALLOWED, each with the reason it is safe across shards.
No server, database or network is needed."""

import json
import os
import re
import shlex
import subprocess
import tempfile
import unittest

BUILD = os.environ.get("PS_BUILD_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
SOURCE = os.environ.get("PS_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")

# (file, statement variable) -> why it may read or write more than one tenant's rows
ALLOWED = {
    ("store/db.c", "q_newest"): "the schema check reads schema_migrations, which holds no tenant "
                                "data: every shard has the same migrations, and any shard answers",
    ("store/db.c", "q_has"): "the schema check, as q_newest",
    ("store/reindex.c", "Q_JOB_READ"): "the background reindex's job row: reindex_progress holds no "
                                       "tenant data (one row per job), like schema_migrations",
    ("store/reindex.c", "Q_JOB_LOCK"): "the reindex's job row, as Q_JOB_READ",
    ("store/reindex.c", "Q_JOB_INSERT"): "the reindex's job row, as Q_JOB_READ",
    ("store/reindex.c", "Q_JOB_RESTART"): "the reindex's job row, as Q_JOB_READ",
    ("store/reindex.c", "Q_JOB_ADVANCE"): "the reindex's job row, as Q_JOB_READ",
    ("store/reindex.c", "Q_NORMS_NEXT_TENANT"): "the reindex walks tenant by tenant and reads the next "
                                                "tenant's id: one key, read-only; a scatter on Vitess, "
                                                "where each shard's job walks its own tenants",
    ("store/reindex.c", "Q_NORMS_COUNT"): "the reindex's progress figure, counted once when its job "
                                          "starts: read-only",
    ("store/reindex.c", "Q_NORMS_ESTIMATE"): "InnoDB's row figure from information_schema for the "
                                             "reindex's progress: no tenant data",
    ("store/index_queue.c", "Q_NEXT_TENANT"): "the indexer of imported records finds the next tenant "
                                              "with queued ids: one key, as Q_NORMS_NEXT_TENANT; "
                                              "each shard's indexer drains its own queue",
    ("store/index_queue.c", "Q_DEPTH"): "the indexer's queue depth metric: a count of ids, read-only",
    ("store/index_queue.c", "Q_DEPTH_ESTIMATE"): "InnoDB's row figure from information_schema for the "
                                                 "queue depth: no tenant data",
    ("store/idempotency.c", "Q_PURGE"): "the request-id purge deletes expired keys of every tenant by "
                                        "time: each shard purges its own rows, and Vitess sends the "
                                        "statement to all shards (a scatter) where it is correct as is",
}



def migration_tables():
    """{table: its column names} of every table the migrations create (and do not drop)."""
    tables = {}
    mdir = os.path.join(SOURCE, "migrations")
    for name in sorted(os.listdir(mdir)):
        if not name.endswith(".sql"):
            continue
        with open(os.path.join(mdir, name), encoding="utf-8") as f:
            up = f.read().split("-- migrate:down")[0]
        up = re.sub(r"--[^\n]*", "", up)
        for t, body in re.findall(r"(?is)CREATE TABLE\s+(?:IF NOT EXISTS\s+)?`?(\w+)`?\s*\((.*?)\)\s*ENGINE", up):
            tables[t] = set(re.findall(r"(?m)^\s*`?(\w+)`?\s+[A-Z]", body))
        for t in re.findall(r"(?i)DROP TABLE\s+(?:IF EXISTS\s+)?`?(\w+)`?", up):
            tables.pop(t, None)
    return tables


TABLES = migration_tables()
TENANT_TABLES = {t for t, cols in TABLES.items() if "tenant_id" in cols}

C_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
DECL = re.compile(r'\bps_sql_t\s+(\w+)\s*=\s*\{\s*\((.*?)\)\s*,\s*0\s*\}\s*;', re.S)


def c_literal(body):
    return bytes(body, "utf-8").decode("unicode_escape")


def compile_commands():
    with open(os.path.join(BUILD, "compile_commands.json")) as f:
        return json.load(f)


def preprocess(entry, path):
    """{variable: SQL text} of the ps_sql_t definitions in the C file path, preprocessed with the
    compile command of entry (a compile_commands.json entry of a server source)."""
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    cmd, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a in ("-c", entry["file"]) or a.startswith("-Werror") or a.startswith("-fsanitize"):
            continue
        cmd.append(a)
    pre = subprocess.run(cmd + ["-E", "-P", path], cwd=entry["directory"], capture_output=True,
                         text=True, check=True).stdout
    return {name: "".join(c_literal(s) for s in C_STRING.findall(body)) for name, body in DECL.findall(pre)}


def statements():
    """{(file relative to server/, variable): SQL text} of every ps_sql_t the server defines."""
    out = {}
    server = os.path.realpath(os.path.join(SOURCE, "server")) + os.sep
    for entry in compile_commands():
        path = os.path.realpath(entry["file"])
        if not path.startswith(server):
            continue
        with open(path, encoding="utf-8") as f:
            if "PS_SQL(" not in f.read():
                continue
        for name, sql in preprocess(entry, path).items():
            out[(path[len(server):], name)] = sql
    return out


def strip_strings(sql):
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", sql)


TENANT_EQ = r"(?:\w+\.)?tenant_id\s*=\s*(?:\?|(?:\w+\.)?tenant_id\b)"


def problems(sql):
    """What breaks the rules in one statement (empty when none)."""
    s = " ".join(strip_strings(sql).split())
    found = []
    if re.match(r"(?i)\s*INSERT\b", s):
        m = re.match(r"(?i)\s*INSERT\s+(?:IGNORE\s+)?INTO\s+(\w+)\s*\(([^)]*)\)", s)
        if not m or "tenant_id" not in [c.strip() for c in m.group(2).split(",")]:
            found.append("an INSERT without tenant_id among its columns")
        s = s[m.end():] if m else s
        s = re.sub(r"(?i)\bON DUPLICATE KEY UPDATE\b.*$", "", s)  # the row's own columns
    s = re.sub(r"(?i)\bFOR UPDATE( SKIP LOCKED| NOWAIT)?\s*$", "", s)  # a lock clause, no table
    refs = re.findall(r"(?i)\b(?:FROM|JOIN|UPDATE|DELETE\s+FROM)\s+(\w+)", s)
    refs = [r for r in refs if r.lower() not in ("json_table", "select", "dual")]
    for r in refs:
        if r not in TENANT_TABLES:
            found.append("table %s is not a tenant table" % r)
    conds = len(re.findall(TENANT_EQ, s, re.I))
    if conds < len(refs):
        found.append("%d table references but %d tenant conditions" % (len(refs), conds))
    for on in re.findall(r"(?i)\bJOIN\s+(?:\w+)(?:\s+(?:AS\s+)?\w+)?(?:\s+FORCE\s+INDEX\s*\(\w+\))?\s+ON\s+(.*?)"
                         r"(?=\bJOIN\b|\bWHERE\b|\bORDER\b|\bGROUP\b|\bLIMIT\b|\)|$)", s):
        if not re.search(TENANT_EQ, on, re.I):
            found.append("a JOIN whose ON does not hold the tenant: %s" % on.strip())
    if re.search(r"(?i)\bFROM\s+\w+(?:\s+(?:AS\s+)?\w+)?\s*,\s*\w", s):
        found.append("a comma join")
    return found


class SqlTenancy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stmts = statements()

    def test_every_statement_is_found(self):
        # as many as the sources define: a change in how statements are declared must not hide them
        n_src = 0
        for root, _, files in os.walk(os.path.join(SOURCE, "server")):
            for f in files:
                if f.endswith(".c"):
                    with open(os.path.join(root, f), encoding="utf-8") as fh:
                        n_src += len(re.findall(r"^\s*static ps_sql_t \w+ = PS_SQL\(", fh.read(), re.M))
        self.assertGreater(len(self.stmts), 60)
        self.assertEqual(len(self.stmts), n_src)

    def test_each_statement_restricts_to_one_tenant(self):
        bad = {}
        for key, sql in sorted(self.stmts.items()):
            if key in ALLOWED:
                continue
            p = problems(sql)
            if p:
                bad["%s %s" % key] = (p, sql)
        self.assertEqual(bad, {}, "\n\n".join("%s: %s\n  %s" % (k, "; ".join(v[0]), v[1]) for k, v in bad.items()))

    def test_allow_list_is_current(self):
        for key in ALLOWED:
            self.assertTrue(key in self.stmts, "allow-list entry for a statement that no longer exists: %s %s" % key)
            self.assertTrue(problems(self.stmts[key]), "allow-listed but follows the rules: %s %s" % key)

    def test_a_statement_without_tenant_id_fails_the_check(self):
        # a store file with one statement more, that forgets the tenant, read the same way as the
        # server's own: the check names it
        entry = next(e for e in compile_commands() if e["file"].endswith(os.path.join("store", "prospects.c")))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "added.c")
            with open(path, "w") as f:
                f.write('#include "store/db.h"\n'
                        '#define COLS "id, display_name"\n'
                        'static ps_sql_t Q_GOOD = PS_SQL("SELECT " COLS " FROM prospects WHERE tenant_id = ? AND id = ?");\n'
                        'static ps_sql_t Q_ADDED = PS_SQL("SELECT " COLS " FROM prospects WHERE id = ?");\n')
            found = preprocess(entry, path)
        self.assertEqual(set(found), {"Q_GOOD", "Q_ADDED"})
        self.assertEqual(problems(found["Q_GOOD"]), [])
        self.assertEqual(problems(found["Q_ADDED"]), ["1 table references but 0 tenant conditions"])

    def test_the_rules_catch_what_they_should(self):
        # the checker itself, on statements that break each rule
        for sql in ("SELECT id FROM prospects WHERE id = ?",
                    "SELECT id FROM prospects WHERE tenant_id = ? AND id IN (SELECT id FROM merges WHERE id = ?)",
                    "SELECT p.id FROM prospects p JOIN merges m ON m.id = p.id WHERE p.tenant_id = ?",
                    "SELECT p.id FROM prospects p, merges m WHERE p.tenant_id = ? AND m.tenant_id = ?",
                    "INSERT INTO prospects (id, kind) VALUES (?, ?)",
                    "UPDATE prospects SET state = 1 WHERE id = ?",
                    "DELETE FROM prospect_terms WHERE id = ?",
                    "SELECT id FROM mysql.user WHERE tenant_id = ?"):
            with self.subTest(sql=sql):
                self.assertTrue(problems(sql))
        for sql in ("SELECT id FROM prospects WHERE tenant_id = ? AND id = ?",
                    "SELECT d.id FROM document_links d JOIN prospects p ON p.tenant_id = d.tenant_id AND p.id = d.prospect_id"
                    " WHERE d.tenant_id = ?",
                    "INSERT INTO merges (tenant_id, id) VALUES (?, ?)",
                    "INSERT INTO merge_moved_documents (tenant_id, merge_id) SELECT tenant_id, ? FROM document_links"
                    " WHERE tenant_id = ? AND prospect_id = ?"):
            with self.subTest(sql=sql):
                self.assertEqual(problems(sql), [])


class VSchema(unittest.TestCase):
    """docs/vitess/vschema.json shards every tenant table by tenant_id (xxhash: the tenant id is an
    exact-bytes ASCII string, docs/vitess.md says why) and names every table the migrations make."""

    def setUp(self):
        with open(os.path.join(SOURCE, "docs", "vitess", "vschema.json")) as f:
            self.vs = json.load(f)

    def test_every_table_is_placed(self):
        self.assertTrue(self.vs["sharded"])
        self.assertGreaterEqual(len(TENANT_TABLES), 10)
        self.assertEqual(set(self.vs["tables"]), set(TABLES) | {"schema_migrations"})
        for t in TENANT_TABLES:
            with self.subTest(table=t):
                (cv,) = self.vs["tables"][t]["column_vindexes"]
                self.assertEqual(cv["column"], "tenant_id")
                self.assertEqual(self.vs["vindexes"][cv["name"]]["type"], "xxhash")
        for t in set(self.vs["tables"]) - TENANT_TABLES:
            with self.subTest(table=t):  # no tenant data: the same rows on every shard
                self.assertEqual(self.vs["tables"][t], {"type": "reference"})

    def test_ids_need_no_sequence(self):
        # ids are made by the server (UUIDv7): no AUTO_INCREMENT, so no Vitess sequence tables
        for name in os.listdir(os.path.join(SOURCE, "migrations")):
            with open(os.path.join(SOURCE, "migrations", name), encoding="utf-8") as f:
                self.assertNotIn("AUTO_INCREMENT", f.read().upper(), name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
