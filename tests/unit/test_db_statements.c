/* store/db.c against a real MariaDB: one connection prepares and runs more distinct statements
 * than its first table holds (PS_DB_STMTS_INITIAL), each of them again from its cache, and a
 * statement forgotten by the server (a reconnect) is prepared again. Needs the test run's MariaDB
 * (PS_TEST_MYSQL_*, exported by scripts/test); skipped without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"

#define N_STMTS (2 * PS_DB_STMTS_INITIAL + 44)

static ps_db_t *connect_or_skip(void) {
  const char *port = getenv("PS_TEST_MYSQL_PORT");
  if (!port || !*port) {
    fprintf(stderr, "no test MariaDB (PS_TEST_MYSQL_PORT): run through scripts/test\n");
    skip();
  }
  const char *host = getenv("PS_TEST_MYSQL_HOST"), *user = getenv("PS_TEST_MYSQL_USER");
  const char *password = getenv("PS_TEST_MYSQL_PASSWORD");
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_more_statements_than_the_first_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
