/* store/db.c pure parts: MySQL error mapping, which failed transactions ps_db_tx runs again, the
 * PS_MYSQL_HOSTS list, etags, timestamps, and that ps_db_required_schema is the newest migration
 * under migrations/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errmsg.h>
#include <libgen.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "store/db.h"

static void test_error_mapping(void **state) {
  (void)state;
  static const struct {
    unsigned err;
    ps_code_t code;
    int drops, retry;
  } cases[] = {
      {ER_DUP_ENTRY, PS_ALREADY_EXISTS, 0, 0},
      {ER_DUP_ENTRY_WITH_KEY_NAME, PS_ALREADY_EXISTS, 0, 0},
      {ER_LOCK_DEADLOCK, PS_ABORTED, 0, 1},
      {ER_LOCK_WAIT_TIMEOUT, PS_ABORTED, 0, 1},
      {CR_SERVER_GONE_ERROR, PS_UNAVAILABLE, 1, 0},
      {CR_SERVER_LOST, PS_UNAVAILABLE, 1, 0},
      {CR_CONN_HOST_ERROR, PS_UNAVAILABLE, 1, 0},
      {CR_CONNECTION_ERROR, PS_UNAVAILABLE, 1, 0},
      {CR_SERVER_LOST_EXTENDED, PS_UNAVAILABLE, 1, 0},
      {ER_SERVER_SHUTDOWN, PS_UNAVAILABLE, 1, 0},
      {ER_CONNECTION_KILLED, PS_UNAVAILABLE, 1, 0},
      {ER_CON_COUNT_ERROR, PS_UNAVAILABLE, 1, 0},
      {ER_OPTION_PREVENTS_STATEMENT, PS_UNAVAILABLE, 0, 0},
      {ER_READ_ONLY_MODE, PS_UNAVAILABLE, 0, 0},
      {ER_STATEMENT_TIMEOUT, PS_DEADLINE_EXCEEDED, 0, 0},
      {ER_RECORD_FILE_FULL, PS_RESOURCE_EXHAUSTED, 0, 0},
      {ER_DISK_FULL, PS_RESOURCE_EXHAUSTED, 0, 0},
      {CR_COMMANDS_OUT_OF_SYNC, PS_INTERNAL, 1, 0},
      /* Galera: "WSREP has not yet prepared node for application use" (a joining node, or one
       * without quorum; checked on MariaDB 10.11 + galera-4): another node may serve the rerun */
      {ER_UNKNOWN_COM_ERROR, PS_UNAVAILABLE, 1, 1},
      {ER_PARSE_ERROR, PS_INTERNAL, 0, 0},
      {ER_NO_SUCH_TABLE, PS_INTERNAL, 0, 0},
      {ER_DATA_TOO_LONG, PS_INTERNAL, 0, 0},
      {0, PS_INTERNAL, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (ps_db_code_for_errno(cases[i].err) != cases[i].code ||
        ps_db_errno_drops_connection(cases[i].err) != cases[i].drops ||
        ps_db_errno_retryable(cases[i].err) != cases[i].retry)
      fail_msg("errno %u: code %s (want %s), drops %d (want %d), retry %d (want %d)",
               cases[i].err, ps_code_name(ps_db_code_for_errno(cases[i].err)),
               ps_code_name(cases[i].code), ps_db_errno_drops_connection(cases[i].err),
               cases[i].drops, ps_db_errno_retryable(cases[i].err), cases[i].retry);
  }
}

static void test_tx_retryable(void **state) {
  (void)state;
  static const struct {
    unsigned err;
    int at_commit, retry, retry_failover; /* without / with other hosts to go to */
  } cases[] = {
      {ER_LOCK_DEADLOCK, 0, 1, 1},        /* also Galera's certification conflict */
      {ER_LOCK_DEADLOCK, 1, 1, 1},        /* ... which Galera reports on COMMIT */
      {ER_LOCK_WAIT_TIMEOUT, 0, 1, 1},
      {ER_UNKNOWN_COM_ERROR, 0, 1, 1},    /* Galera node not ready */
      {ER_UNKNOWN_COM_ERROR, 1, 1, 1},    /* refused, so not committed */
      {CR_SERVER_LOST, 0, 0, 1},          /* lost before COMMIT: rolled back with the connection */
      {CR_SERVER_GONE_ERROR, 0, 0, 1},
      {CR_CONN_HOST_ERROR, 0, 0, 1},      /* the connect of the begin failed */
      {ER_CONNECTION_KILLED, 0, 0, 1},
      {CR_SERVER_LOST, 1, 0, 0},          /* lost during COMMIT: it may have committed */
      {CR_SERVER_GONE_ERROR, 1, 0, 0},
      {CR_COMMANDS_OUT_OF_SYNC, 0, 0, 0}, /* our bug: never hidden by a rerun */
      {ER_UNKNOWN_STMT_HANDLER, 0, 0, 0},
      {ER_DUP_ENTRY, 0, 0, 0},
      {ER_READ_ONLY_MODE, 0, 0, 0},
      {0, 0, 0, 0},                       /* not a MySQL failure (a rule of the handler) */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int failover = 0; failover <= 1; failover++) {
      int want = failover ? cases[i].retry_failover : cases[i].retry;
      int got = ps_db_tx_retryable(cases[i].err, cases[i].at_commit, failover);
      if (got != want)
        fail_msg("errno %u at_commit %d failover %d: retry %d (want %d)", cases[i].err,
                 cases[i].at_commit, failover, got, want);
    }
  }
}

static void test_hosts_parse(void **state) {
  (void)state;
  ps_db_hosts_t h;
  assert_int_equal(ps_db_hosts_parse("127.0.0.1:3306,127.0.0.1:3307, db-2 ,db3:1", 3399, &h), 0);
  assert_int_equal(h.n, 4);
  assert_string_equal(h.h[0].name, "127.0.0.1");
  assert_int_equal(h.h[0].port, 3306);
  assert_int_equal(h.h[1].port, 3307);
  assert_string_equal(h.h[2].name, "db-2");
  assert_int_equal(h.h[2].port, 3399); /* no port: the default */
  assert_string_equal(h.h[3].name, "db3");
  assert_int_equal(h.h[3].port, 1);
  assert_int_equal(ps_db_hosts_parse("one", 3306, &h), 0);
  assert_int_equal(h.n, 1);
  char many[400] = "";
  for (int i = 0; i <= PS_DB_MAX_HOSTS; i++) strcat(many, i ? ",h:1" : "h:1");
  const char *bad[] = {"", " ", ",", "a,", ",a", "a:", ":1", "a:0", "a:65536", "a:123456",
                       "a:1x", "a b:1", "a:-1", many, NULL};
  for (const char *const *b = bad; *b; b++) {
    h.n = 99;
    if (ps_db_hosts_parse(*b, 3306, &h) != -1) fail_msg("\"%s\" parsed", *b);
    assert_int_equal(h.n, 99); /* untouched */
  }
  assert_int_equal(ps_db_hosts_parse(NULL, 3306, &h), -1);
  many[strlen(many) - 4] = '\0'; /* exactly PS_DB_MAX_HOSTS */
  assert_int_equal(ps_db_hosts_parse(many, 3306, &h), 0);
  assert_int_equal(h.n, PS_DB_MAX_HOSTS);
}

static void test_etag_round_trip(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  uint64_t v = 0;
  const uint64_t versions[] = {0, 1, 42, UINT64_MAX};
  for (size_t i = 0; i < 4; i++) {
    char *e = ps_db_etag(&a, versions[i]);
    assert_non_null(e);
    assert_int_equal(ps_db_etag_parse(e, &v), 0);
    assert_int_equal(v, versions[i]);
  }
  assert_string_equal(ps_db_etag(&a, 7), "v7");
  const char *bad[] = {"", "v", "7", "v-1", "v01", "v1x", "W/\"v1\"", "v18446744073709551616", NULL};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = 99;
    if (ps_db_etag_parse(bad[i], &v) != -1) fail_msg("etag \"%s\" parsed", bad[i] ? bad[i] : "(null)");
    assert_int_equal(v, 99);
  }
  ps_arena_destroy(&a);
}

static void test_timestamp(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  Google__Protobuf__Timestamp *t = ps_db_timestamp(&a, INT64_C(1700000000123456));
  assert_non_null(t);
  assert_int_equal(t->seconds, 1700000000);
  assert_int_equal(t->nanos, 123456000);
  t = ps_db_timestamp(&a, -1); /* just before the epoch: nanos stay non-negative */
  assert_int_equal(t->seconds, -1);
  assert_int_equal(t->nanos, 999999000);
  int64_t now = ps_db_now_us();
  assert_true(now > INT64_C(1600000000000000));
  ps_arena_destroy(&a);
}

/* The newest "<version>_*.sql" under migrations/ must be the version the server asks for. */
static void test_required_schema_is_newest_migration(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s", __FILE__); /* <src>/tests/unit/test_db.c */
  char *dir = dirname(dirname(dirname(path)));
  char mig[4200];
  snprintf(mig, sizeof mig, "%s/migrations", dir);
  DIR *d = opendir(mig);
  if (!d) skip(); /* sources not next to the test binary */
  char newest[128] = "";
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0) continue;
    char v[128];
    size_t k = strcspn(e->d_name, "_");
    if (k == 0 || k >= sizeof v) continue;
    memcpy(v, e->d_name, k);
    v[k] = '\0';
    if (strcmp(v, newest) > 0) snprintf(newest, sizeof newest, "%s", v);
  }
  closedir(d);
  assert_string_equal(ps_db_required_schema, newest);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_mapping),
      cmocka_unit_test(test_tx_retryable),
      cmocka_unit_test(test_hosts_parse),
      cmocka_unit_test(test_etag_round_trip),
      cmocka_unit_test(test_timestamp),
      cmocka_unit_test(test_required_schema_is_newest_migration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
