/* service/apps.c pure parts: update-mask parsing and the S4/S8 rules between the two apps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "service/apps.h"

static int parse(const char **paths, size_t n, unsigned *bits, ps_status_t *st) {
  Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  m.paths = (char **)paths;
  m.n_paths = n;
  ps_status_clear(st);
  return ps_apps_parse_mask(&m, bits, st);
}

static void test_mask(void **state) {
  (void)state;
  ps_status_t st;
  unsigned bits = 0;
  const unsigned both = PS_APPS_SET_PROSPECTS | PS_APPS_SET_QUOTE_REQUESTS;
  assert_int_equal(ps_apps_parse_mask(NULL, &bits, &st), 0);
  assert_int_equal(bits, both);
  assert_int_equal(parse(NULL, 0, &bits, &st), 0); /* empty mask: "*" */
  assert_int_equal(bits, both);
  const char *star[] = {"*"};
  assert_int_equal(parse(star, 1, &bits, &st), 0);
  assert_int_equal(bits, both);
  const char *p[] = {"prospects_enabled"};
  assert_int_equal(parse(p, 1, &bits, &st), 0);
  assert_int_equal(bits, PS_APPS_SET_PROSPECTS | PS_APPS_NAMED_PROSPECTS);
  const char *q[] = {"quote_requests_enabled"};
  assert_int_equal(parse(q, 1, &bits, &st), 0);
  assert_int_equal(bits, PS_APPS_SET_QUOTE_REQUESTS);
  const char *pq[] = {"quote_requests_enabled", "prospects_enabled"};
  assert_int_equal(parse(pq, 2, &bits, &st), 0);
  assert_int_equal(bits, both | PS_APPS_NAMED_PROSPECTS);

  const char *bad[][2] = {{"name", NULL}, {"etag", NULL}, {"", NULL}, {"prospects", NULL},
                          {"prospects_enabled", "update_time"}, {"Prospects_Enabled", NULL}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    bits = 12345;
    size_t n = bad[i][1] ? 2 : 1;
    assert_int_equal(parse(bad[i], n, &bits, &st), -1);
    assert_int_equal(st.code, PS_INVALID_ARGUMENT);
    assert_int_equal(bits, 12345); /* untouched on failure */
    assert_non_null(strstr(st.message, "update_mask"));
  }
}

typedef struct rule_case {
  int cur_p, cur_q;   /* before */
  unsigned bits;      /* mask */
  int sent_p, sent_q; /* sent values */
  int ok;             /* 1: accepted */
  int new_p, new_q;   /* after, when accepted */
} rule_case_t;

static void test_rules(void **state) {
  (void)state;
  const unsigned ALL = PS_APPS_SET_PROSPECTS | PS_APPS_SET_QUOTE_REQUESTS;
  const unsigned P = PS_APPS_SET_PROSPECTS | PS_APPS_NAMED_PROSPECTS;
  const unsigned Q = PS_APPS_SET_QUOTE_REQUESTS;
  const rule_case_t cases[] = {
      {0, 0, ALL, 1, 0, 1, 1, 0},    /* prospects on */
      {0, 0, Q, 0, 1, 1, 1, 1},      /* S8: quote requests on turns prospects on */
      {0, 0, ALL, 0, 1, 1, 1, 1},    /* same with "*" and prospects_enabled left false */
      {0, 0, P | Q, 0, 1, 0, 0, 0},  /* explicitly prospects off + quote requests on: refused */
      {1, 1, P, 0, 1, 0, 0, 0},      /* S4: prospects off while quote requests on: refused */
      {1, 1, ALL, 0, 1, 0, 0, 0},    /* same through "*" */
      {1, 1, ALL, 0, 0, 1, 0, 0},    /* both off in one write */
      {1, 1, Q, 0, 0, 1, 1, 0},      /* quote requests off keeps prospects */
      {1, 0, P, 0, 0, 1, 0, 0},      /* prospects off alone */
      {1, 1, Q, 0, 1, 1, 1, 1},      /* no change */
      {0, 0, P, 0, 0, 1, 0, 0},      /* no change */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const rule_case_t *c = &cases[i];
    ps_status_t st;
    ps_status_clear(&st);
    ps_apps_flags_t cur = {c->cur_p, c->cur_q}, sent = {c->sent_p, c->sent_q}, out = {7, 7};
    int rc = ps_apps_apply(cur, c->bits, sent, &out, &st);
    if (c->ok) {
      if (rc != 0 || out.prospects != c->new_p || out.quote_requests != c->new_q)
        fail_msg("case %zu: rc %d, got (%d,%d), want (%d,%d)", i, rc, out.prospects,
                 out.quote_requests, c->new_p, c->new_q);
    } else {
      if (rc != -1 || st.code != PS_FAILED_PRECONDITION || strcmp(st.reason, "APP_DEPENDENCY") != 0)
        fail_msg("case %zu: rc %d code %s reason %s, want APP_DEPENDENCY", i, rc,
                 ps_code_name(st.code), st.reason);
      assert_int_equal(out.prospects, 7); /* untouched */
      assert_non_null(strstr(st.message, "Quote requests"));
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mask),
      cmocka_unit_test(test_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
