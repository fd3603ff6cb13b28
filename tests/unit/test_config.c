/* server/config.c: secrets from files (PS_X_FILE, --x-file), the checks between settings, and that
 * the description of the settings never shows a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const char *const VARS[] = {"PS_MYSQL_HOSTS", "PS_PLAINTEXT", "PS_PAGE_TOKEN_KEY", "PS_PAGE_TOKEN_KEY_FILE",
                                   "PS_DEVELOPMENT", "PS_TLS_CERT_FILE", "PS_TLS_KEY_FILE",
                                   "PS_AUTHZ_POLICY_FILE", "PS_MYSQL_PASSWORD",
                                   "PS_MYSQL_PASSWORD_FILE", "PS_MYSQL_TLS", "PS_MYSQL_TLS_CA_FILE",
                                   "PS_REDIS_USER", "PS_REDIS_PASSWORD", NULL};

static int reset(void **state) {
  (void)state;
  for (const char *const *v = VARS; *v; v++) unsetenv(*v);
  setenv("PS_PLAINTEXT", "1", 1);
  setenv("PS_PAGE_TOKEN_KEY", "k", 1);
  return 0;
}

/* Loads with argv (NULL-terminated after argv[0]); the return code, the error text in err. */
static int load(ps_config_t *cfg, char **argv, char *err, size_t errsz) {
  int argc = 0;
  while (argv[argc]) argc++;
  FILE *out = fopen("/dev/null", "w"), *e = fmemopen(err, errsz, "w");
  assert_non_null(out);
  assert_non_null(e);
  memset(err, 0, errsz);
  int rc = ps_config_load(cfg, argc, argv, out, e);
  fclose(out);
  fclose(e);
  return rc;
}

static char *temp_file(const char *content) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/ps-config-test-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
  return path;
}

static void test_secret_from_env_file_and_flag_file(void **state) {
  (void)state;
  ps_config_t cfg;
  char err[512];
  char *argv0[] = {"prospect-server", NULL};
  char *path = temp_file("s3cret-from-file\n");
  setenv("PS_MYSQL_PASSWORD_FILE", path, 1);
  assert_int_equal(load(&cfg, argv0, err, sizeof err), 0);
  assert_string_equal(cfg.mysql_password, "s3cret-from-file"); /* trailing newline dropped */
  unsetenv("PS_MYSQL_PASSWORD_FILE");
  char flag[128];
  snprintf(flag, sizeof flag, "--page-token-key-file=%s", path);
  char *argv1[] = {"prospect-server", flag, NULL};
  assert_int_equal(load(&cfg, argv1, err, sizeof err), 0);
  assert_string_equal(cfg.page_token_key, "s3cret-from-file");
  /* both the variable and its file: refused */
  setenv("PS_MYSQL_PASSWORD", "x", 1);
  setenv("PS_MYSQL_PASSWORD_FILE", path, 1);
  assert_int_equal(load(&cfg, argv0, err, sizeof err), -1);
  assert_non_null(strstr(err, "both PS_MYSQL_PASSWORD and PS_MYSQL_PASSWORD_FILE"));
  unlink(path);
  /* a missing file names itself; a -file form exists for secrets only */
  unsetenv("PS_MYSQL_PASSWORD");
  assert_int_equal(load(&cfg, argv0, err, sizeof err), -1);
  assert_non_null(strstr(err, "cannot read"));
  unsetenv("PS_MYSQL_PASSWORD_FILE");
  char *argv2[] = {"prospect-server", "--listen-file=/tmp/x", NULL};
  assert_int_equal(load(&cfg, argv2, err, sizeof err), -1);
  assert_non_null(strstr(err, "unknown flag"));
}

static void test_describe_masks_secrets(void **state) {
  (void)state;
  ps_config_t cfg;
  char err[512], text[4096];
  setenv("PS_MYSQL_PASSWORD", "hunter2hunter2", 1);
  setenv("PS_REDIS_PASSWORD", "redisredis", 1);
  char *argv0[] = {"prospect-server", NULL};
  assert_int_equal(load(&cfg, argv0, err, sizeof err), 0);
  ps_config_describe(&cfg, text, sizeof text);
  assert_null(strstr(text, "hunter2"));
  assert_null(strstr(text, "redisredis"));
  assert_non_null(strstr(text, "mysql-password=***"));
  assert_non_null(strstr(text, "page-token-key=***"));
}

static void test_mysql_hosts(void **state) {
  (void)state;
  ps_config_t cfg;
  char err[512];
  char *argv0[] = {"prospect-server", NULL};
  setenv("PS_MYSQL_HOSTS", "10.0.0.1:3306, db2:3307,db3", 1);
  assert_int_equal(load(&cfg, argv0, err, sizeof err), 0);
  assert_string_equal(cfg.mysql_hosts, "10.0.0.1:3306, db2:3307,db3");
  assert_int_equal(cfg.mysql_galera_sync_wait, 1);
  const char *bad[] = {",", "a:0", "a:65536", "a:,b", "a b:1", "a:1,,b:2", NULL};
  for (const char *const *b = bad; *b; b++) {
    setenv("PS_MYSQL_HOSTS", *b, 1);
    if (load(&cfg, argv0, err, sizeof err) != -1) fail_msg("PS_MYSQL_HOSTS \"%s\" accepted", *b);
    assert_non_null(strstr(err, "PS_MYSQL_HOSTS"));
  }
  unsetenv("PS_MYSQL_HOSTS");
}

static void test_checks_between_settings(void **state) {
  (void)state;
  ps_config_t cfg;
  char err[512];
  char *argv0[] = {"prospect-server", NULL};
  struct {
    const char *set[3][2];
    const char *says;
  } cases[] = {
      {{{"PS_PLAINTEXT", "0"}}, "TLS needs PS_TLS_CERT_FILE"},
      {{{"PS_PLAINTEXT", "0"}, {"PS_TLS_CERT_FILE", "c"}, {"PS_TLS_KEY_FILE", "k"}},
       "PS_AUTHZ_POLICY_FILE is required"},
      {{{"PS_PAGE_TOKEN_KEY", ""}}, "PS_DEVELOPMENT=1 allows"},
      {{{"PS_MYSQL_TLS", "on"}}, "not one of off, verify"},
      {{{"PS_MYSQL_TLS", "verify"}}, "needs PS_MYSQL_TLS_CA_FILE"},
      {{{"PS_REDIS_USER", "u"}}, "PS_REDIS_USER needs PS_REDIS_PASSWORD"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    reset(NULL);
    for (int j = 0; j < 3 && cases[i].set[j][0]; j++) setenv(cases[i].set[j][0], cases[i].set[j][1], 1);
    assert_int_equal(load(&cfg, argv0, err, sizeof err), -1);
    if (!strstr(err, cases[i].says)) fail_msg("case %zu: %s", i, err);
  }
  /* development without a key, and plaintext: accepted */
  reset(NULL);
  setenv("PS_PAGE_TOKEN_KEY", "", 1);
  setenv("PS_DEVELOPMENT", "1", 1);
  assert_int_equal(load(&cfg, argv0, err, sizeof err), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_secret_from_env_file_and_flag_file, reset),
      cmocka_unit_test_setup(test_describe_masks_secrets, reset),
      cmocka_unit_test_setup(test_checks_between_settings, reset),
      cmocka_unit_test_setup(test_mysql_hosts, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
