/* store/db.c against a real MariaDB: one connection prepares and runs more distinct statements
 * than its first table holds (PS_DB_STMTS_INITIAL), each of them again from its cache, and a
 * statement forgotten by the server (a reconnect) is prepared again; a snapshot transaction reads
 * one moment, and the transaction after it reads committed rows again (its isolation level does
 * not leak); a snapshot ended without waiting for its COMMIT is settled by the next command. Needs the test run's MariaDB (PS_TEST_MYSQL_*, exported by scripts/test); skipped
 * without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/db.h"

#define N_STMTS (2 * PS_DB_STMTS_INITIAL + 44)

/* A connection as the app user, or (migrate) as the migration user, who may create databases. */
static ps_db_t *connect_as_or_skip(int migrate) {
  const char *port = getenv("PS_TEST_MYSQL_PORT");
  if (!port || !*port) {
    fprintf(stderr, "no test MariaDB (PS_TEST_MYSQL_PORT): run through scripts/test\n");
    skip();
  }
  const char *host = getenv("PS_TEST_MYSQL_HOST");
  const char *user = getenv(migrate ? "PS_TEST_MYSQL_MIGRATE_USER" : "PS_TEST_MYSQL_USER");
  const char *password = getenv(migrate ? "PS_TEST_MYSQL_MIGRATE_PASSWORD" : "PS_TEST_MYSQL_PASSWORD");
  ps_db_config_t cfg = {.host = host && *host ? host : "127.0.0.1",
                        .port = (unsigned)atoi(port),
                        .socket = getenv("PS_TEST_MYSQL_SOCKET"),
                        .user = user && *user ? user : "prospects",
                        .password = password ? password : "prospects",
                        .database = NULL,
                        .timeout_s = 5};
  ps_db_t *db = ps_db_new(&cfg);
  assert_non_null(db);
  ps_status_t st;
  assert_int_equal(ps_db_ping(db, &st), 0);
  return db;
}

static ps_db_t *connect_or_skip(void) { return connect_as_or_skip(0); }

/* Runs statement k (SELECT ? + k) with n and checks the sum. */
static void run(ps_db_t *db, ps_sql_t *q, int k, int64_t n) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_i64(&p, n);
  int64_t got = -1;
  ps_status_t st;
  if (ps_db_query_i64(db, q, &p, &got, &st) != 0)
    fail_msg("statement %d of %d failed: %s (%s)", k + 1, N_STMTS, st.message,
             ps_db_last_error(db));
  assert_int_equal(got, n + k);
}

static void test_more_statements_than_the_first_table(void **state) {
  (void)state;
  ps_db_t *db = connect_or_skip();
  static ps_sql_t q[N_STMTS];
  static char text[N_STMTS][48];
  for (int k = 0; k < N_STMTS; k++) {
    snprintf(text[k], sizeof text[k], "SELECT ? + %d", k);
    q[k].text = text[k];
    q[k].slot = 0;
  }
  for (int round = 0; round < 2; round++) /* prepared, then from the cache */
    for (int k = 0; k < N_STMTS; k++) run(db, &q[k], k, 1000 * round + 7);
  /* the server forgets a connection's statements with it: prepared again after a reconnect */
  ps_params_t p;
  ps_params_init(&p);
  ps_status_t st;
  static ps_sql_t kill_me = PS_SQL("KILL CONNECTION CONNECTION_ID()");
  (void)ps_db_exec(db, &kill_me, &p, &st); /* fails: the connection is gone */
  assert_int_equal(ps_db_ping(db, &st), 0);
  for (int k = 0; k < N_STMTS; k += 37) run(db, &q[k], k, 5);
  ps_db_free(db);
}

/* Runs a statement without parameters; fails the test on an error. */
static void sql(ps_db_t *db, ps_sql_t *q) {
  ps_params_t p;
  ps_params_init(&p);
  ps_status_t st;
  if (!ps_db_exec(db, q, &p, &st)) fail_msg("%s: %s (%s)", q->text, st.message, ps_db_last_error(db));
}

static int64_t rows_of(ps_db_t *db, ps_sql_t *count) {
  ps_params_t p;
  ps_params_init(&p);
  int64_t n = -1;
  ps_status_t st;
  if (ps_db_query_i64(db, count, &p, &n, &st) != 0) fail_msg("count: %s (%s)", st.message, ps_db_last_error(db));
  return n;
}

static void test_a_snapshot_reads_one_moment_and_its_level_does_not_leak(void **state) {
  (void)state;
  ps_db_t *admin = connect_as_or_skip(1), *a = connect_or_skip(), *b = connect_or_skip();
  static char create_db[96], create_t[128], drop[96], ins[160], count_text[96];
  char name[48];
  snprintf(name, sizeof name, "ps_unit_snapshot_%d", (int)getpid());
  snprintf(create_db, sizeof create_db, "CREATE DATABASE IF NOT EXISTS %s", name);
  snprintf(create_t, sizeof create_t, "CREATE TABLE %s.t (a INT PRIMARY KEY) ENGINE=InnoDB", name);
  snprintf(drop, sizeof drop, "DROP DATABASE IF EXISTS %s", name);
  snprintf(ins, sizeof ins, "INSERT INTO %s.t SELECT COALESCE(MAX(a), 0) + 1 FROM %s.t", name, name);
  snprintf(count_text, sizeof count_text, "SELECT COUNT(*) FROM %s.t", name);
  /* one statement each, prepared once per connection (a slot is the statement's for good) */
  static ps_sql_t q_drop = {.text = drop}, q_create_db = {.text = create_db},
                  q_create_t = {.text = create_t}, q_ins = {.text = ins}, count = {.text = count_text};
  sql(admin, &q_drop);
  sql(admin, &q_create_db);
  sql(admin, &q_create_t);
  sql(b, &q_ins);
  ps_status_t st;
  for (int round = 0; round < 2; round++) { /* the second on a connection that has had one */
    int64_t n0 = rows_of(a, &count);
    assert_int_equal(ps_db_begin_snapshot(a, &st), 0);
    assert_int_equal(rows_of(a, &count), n0);
    sql(b, &q_ins); /* committed by another connection after the snapshot began */
    assert_int_equal(rows_of(a, &count), n0); /* not seen inside it */
    /* ended without waiting (round 0) or committed: either way the next statement is outside it */
    if (round == 0) ps_db_end_snapshot(a);
    else assert_int_equal(ps_db_commit(a, &st), 0);
    assert_int_equal(rows_of(a, &count), n0 + 1);
    /* an ordinary transaction after it reads each statement's committed rows (READ COMMITTED) */
    assert_int_equal(ps_db_begin(a, &st), 0);
    assert_int_equal(rows_of(a, &count), n0 + 1);
    sql(b, &q_ins);
    assert_int_equal(rows_of(a, &count), n0 + 2);
    assert_int_equal(ps_db_commit(a, &st), 0);
  }
  sql(admin, &q_drop);
  ps_db_free(a);
  ps_db_free(b);
  ps_db_free(admin);
}

/* ps_db_end_snapshot sends the COMMIT and returns; whatever the connection takes next (a
 * statement, another snapshot, a ping, a transaction) reads its answer first. A snapshot whose
 * connection died meanwhile ends too, and the next statement runs on a new connection. */
static void test_an_ended_snapshot_is_settled_by_the_next_command(void **state) {
  (void)state;
  ps_db_t *other = connect_or_skip(), *a = connect_or_skip(); /* a user may end its own */
  static ps_sql_t one = PS_SQL("SELECT 1"), conn_id = PS_SQL("SELECT CONNECTION_ID()");
  ps_status_t st;
  for (int next = 0; next < 4; next++) {
    assert_int_equal(ps_db_begin_snapshot(a, &st), 0);
    assert_int_equal(rows_of(a, &one), 1);
    ps_db_end_snapshot(a);
    ps_db_end_snapshot(a); /* a second end is nothing */
    switch (next) {
    case 0: assert_int_equal(rows_of(a, &one), 1); break;
    case 1:
      assert_int_equal(ps_db_begin_snapshot(a, &st), 0);
      ps_db_end_snapshot(a);
      break;
    case 2: assert_int_equal(ps_db_ping(a, &st), 0); break;
    default:
      assert_int_equal(ps_db_begin(a, &st), 0);
      assert_int_equal(rows_of(a, &one), 1);
      assert_int_equal(ps_db_commit(a, &st), 0);
    }
  }
  /* killed inside the snapshot: the COMMIT cannot be answered, and the next statement reconnects */
  int64_t id = rows_of(a, &conn_id);
  assert_int_equal(ps_db_begin_snapshot(a, &st), 0);
  assert_int_equal(rows_of(a, &one), 1);
  static char kill_text[64];
  snprintf(kill_text, sizeof kill_text, "KILL CONNECTION %lld", (long long)id);
  static ps_sql_t kill = {.text = kill_text};
  sql(other, &kill);
  ps_db_end_snapshot(a);
  assert_int_equal(rows_of(a, &one), 1);
  assert_true(rows_of(a, &conn_id) != id);
  ps_db_free(a);
  ps_db_free(other);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_more_statements_than_the_first_table),
      cmocka_unit_test(test_a_snapshot_reads_one_moment_and_its_level_does_not_leak),
      cmocka_unit_test(test_an_ended_snapshot_is_settled_by_the_next_command),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
