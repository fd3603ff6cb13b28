/* service/merges.c pure parts: the request checks of MergeProspects (names, 1-10 sources, request
 * id, acting user), the refusals found without the database (another tenant, the target itself, a
 * source named twice), their conversion to a status, the global lock order and the cleaning of
 * metadata text for the merge record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "service/merges.h"

#define T "tenants/acme/prospects/"
#define ID_A "0190a3b4-5c6d-7e8f-9a0b-000000000001"
#define ID_B "0190a3b4-5c6d-7e8f-9a0b-000000000002"
#define ID_C "0190a3b4-5c6d-7e8f-9a0b-000000000003"

static ps_arena_t arena;

static int setup(void **state) {
  (void)state;
  return ps_arena_init(&arena, 0);
}

static int teardown(void **state) {
  (void)state;
  ps_arena_destroy(&arena);
  return 0;
}

static const char *meta_of(const ps_status_t *st, const char *key) {
  for (int i = 0; i < st->n_meta; i++)
    if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
  return "";
}

/* A request with target and n source names (copied into static storage). */
typedef struct req_buf {
  Prospects__V1__MergeProspectsRequest req;
  Prospects__V1__MergeSource src[12];
  Prospects__V1__MergeSource *ptr[12];
} req_buf_t;

static Prospects__V1__MergeProspectsRequest *make(req_buf_t *b, const char *target, int n,
                                                  const char *const *sources) {
  Prospects__V1__MergeProspectsRequest init = PROSPECTS__V1__MERGE_PROSPECTS_REQUEST__INIT;
  b->req = init;
  b->req.target = (char *)target;
  b->req.request_id = "merge-1";
  for (int i = 0; i < n; i++) {
    Prospects__V1__MergeSource s = PROSPECTS__V1__MERGE_SOURCE__INIT;
    b->src[i] = s;
    b->src[i].name = (char *)sources[i];
    b->ptr[i] = &b->src[i];
  }
  b->req.n_sources = (size_t)n;
  b->req.sources = b->ptr;
  return &b->req;
}

static void expect_bad(const Prospects__V1__MergeProspectsRequest *req, const char *reason,
                       const char *field) {
  ps_merge_plan_t plan;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_merge_plan(&arena, req, &plan, &st), -1);
  assert_int_equal(st.code, PS_INVALID_ARGUMENT);
  assert_string_equal(st.reason, reason);
  assert_string_equal(meta_of(&st, "field"), field);
  assert_int_equal(strncmp(st.message, field, strlen(field)), 0);
}

static void test_plan_request_errors(void **state) {
  (void)state;
  req_buf_t b;
  const char *one[] = {T ID_B};
  expect_bad(make(&b, "", 1, one), "INVALID_FIELD", "target");
  expect_bad(make(&b, "tenants/acme/prospects/x", 1, one), "INVALID_FIELD", "target");
  expect_bad(make(&b, T ID_A, 0, one), "INVALID_FIELD", "sources");
  const char *eleven[11];
  char names[11][80];
  for (int i = 0; i < 11; i++) {
    snprintf(names[i], sizeof names[i], T "0190a3b4-5c6d-7e8f-9a0b-0000000001%02d", i);
    eleven[i] = names[i];
  }
  expect_bad(make(&b, T ID_A, 11, eleven), "TOO_MANY_SOURCES", "sources");
  ps_merge_plan_t plan;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_merge_plan(&arena, make(&b, T ID_A, 10, eleven), &plan, &st), 0);
  assert_int_equal(plan.n_sources, 10);
  assert_int_equal(plan.violations.n, 0);

  const char *bad[] = {T ID_B, "tenants/acme/prospects/"};
  expect_bad(make(&b, T ID_A, 2, bad), "INVALID_FIELD", "sources[1].name");
  const char *bad_tenant[] = {"tenants/ACME/prospects/" ID_B};
  expect_bad(make(&b, T ID_A, 1, bad_tenant), "INVALID_FIELD", "sources[0].name");

  make(&b, T ID_A, 1, one);
  b.req.request_id = "";
  expect_bad(&b.req, "INVALID_FIELD", "request_id"); /* required for a merge */
  b.req.validate_only = 1;
  ps_status_clear(&st);
  assert_int_equal(ps_merge_plan(&arena, &b.req, &plan, &st), 0); /* not for a dry run */
  b.req.request_id = "has space";
  expect_bad(&b.req, "INVALID_FIELD", "request_id");
  b.req.request_id = "ok";
  char user[300];
  memset(user, 'u', 256);
  user[256] = '\0';
  b.req.acting_user = user;
  expect_bad(&b.req, "INVALID_FIELD", "acting_user");
  user[255] = '\0';
  ps_status_clear(&st);
  assert_int_equal(ps_merge_plan(&arena, &b.req, &plan, &st), 0);
}

static void test_plan_static_violations(void **state) {
  (void)state;
  req_buf_t b;
  const char *srcs[] = {T ID_B, "tenants/other/prospects/" ID_C, T ID_A, T ID_B,
                        T "0190A3B4-5C6D-7E8F-9A0B-000000000002", T ID_C};
  ps_merge_plan_t plan;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_merge_plan(&arena, make(&b, T ID_A, 6, srcs), &plan, &st), 0);
  assert_string_equal(plan.tenant, "acme");
  assert_string_equal(plan.target_name, T ID_A);
  assert_int_equal(plan.n_sources, 6);
  assert_int_equal(plan.source_usable[0], 1);
  assert_int_equal(plan.source_usable[1], 0); /* another tenant's */
  assert_int_equal(plan.source_usable[2], 0); /* the target */
  assert_int_equal(plan.source_usable[3], 0); /* = sources[0] */
  assert_int_equal(plan.source_usable[4], 0); /* = sources[0], spelled in upper case */
  assert_int_equal(plan.source_usable[5], 1); /* same id as sources[1], but this tenant's */
  assert_string_equal(plan.source_name[4], T ID_B); /* canonical names */
  assert_int_equal(plan.violations.n, 4);
  const ps_merge_violation_t *v = plan.violations.v;
  assert_int_equal(v[0].code, PS_NOT_FOUND);
  assert_string_equal(v[0].reason, "PROSPECT_NOT_FOUND");
  assert_string_equal(v[0].subject, "tenants/other/prospects/" ID_C);
  assert_null(v[0].field);
  assert_int_equal(v[1].code, PS_INVALID_ARGUMENT);
  assert_string_equal(v[1].reason, "MERGE_INTO_ITSELF");
  assert_string_equal(v[1].field, "sources[2].name");
  assert_string_equal(v[2].reason, "DUPLICATE_SOURCE");
  assert_string_equal(v[2].field, "sources[3].name");
  assert_non_null(strstr(v[2].message, "sources[0].name"));
  assert_string_equal(v[3].reason, "DUPLICATE_SOURCE");
  assert_string_equal(v[3].field, "sources[4].name");

  /* a merge fails with the status of a violation */
  ps_status_clear(&st);
  assert_int_equal(ps_merge_violation_fail(&v[1], &st), -1);
  assert_int_equal(st.code, PS_INVALID_ARGUMENT);
  assert_string_equal(st.reason, "MERGE_INTO_ITSELF");
  assert_string_equal(meta_of(&st, "field"), "sources[2].name");
  assert_int_equal(strncmp(st.message, "sources[2].name: ", 17), 0);
  ps_status_clear(&st);
  ps_merge_violation_t merged = {PS_NOT_FOUND, "PROSPECT_MERGED", T ID_B, NULL,
                                 "Source was merged.", T ID_C, T ID_A};
  ps_merge_violation_fail(&merged, &st);
  assert_int_equal(st.code, PS_NOT_FOUND);
  assert_string_equal(meta_of(&st, "prospect"), T ID_B);
  assert_string_equal(meta_of(&st, "merged_into"), T ID_C);
  assert_string_equal(meta_of(&st, "surviving_prospect"), T ID_A);
}

static void test_violation_list_is_bounded(void **state) {
  (void)state;
  ps_merge_violations_t list;
  list.n = 0;
  ps_merge_violation_t v = {PS_ABORTED, "ETAG_MISMATCH", "s", NULL, "m", NULL, NULL};
  for (int i = 0; i < PS_MERGE_VIOLATIONS_MAX + 5; i++) ps_merge_violation_add(&list, &v);
  assert_int_equal(list.n, PS_MERGE_VIOLATIONS_MAX);
}

static void test_lock_order(void **state) {
  (void)state;
  ps_id_t ids[5];
  const char *text[5] = {ID_C, ID_A, "0190a3b4-5c6d-7e8f-9a0b-0000000000ff", ID_B,
                         "0000a3b4-5c6d-7e8f-9a0b-000000000001"};
  for (int i = 0; i < 5; i++) assert_int_equal(ps_id_parse(text[i], 36, &ids[i]), 0);
  int order[5];
  ps_merge_lock_order(ids, 5, order);
  int want[5] = {4, 1, 3, 0, 2};
  for (int i = 0; i < 5; i++) assert_int_equal(order[i], want[i]);
  /* any permutation of the same ids locks them in the same order */
  ps_id_t rev[5];
  for (int i = 0; i < 5; i++) rev[i] = ids[4 - i];
  ps_merge_lock_order(rev, 5, order);
  for (int i = 0; i < 5; i++) assert_memory_equal(rev[order[i]].b, ids[want[i]].b, 16);
  ps_merge_lock_order(ids, 1, order);
  assert_int_equal(order[0], 0);
}

static void test_clean_text(void **state) {
  (void)state;
  assert_string_equal(ps_merge_clean_text(&arena, NULL, 10), "");
  assert_string_equal(ps_merge_clean_text(&arena, "web-backend", 128), "web-backend");
  assert_string_equal(ps_merge_clean_text(&arena, "a\tb\nc\x7f", 128), "a?b?c?");
  assert_string_equal(ps_merge_clean_text(&arena, "jos\xc3\xa9 \xe2\x82\xac", 128),
                      "jos\xc3\xa9 \xe2\x82\xac");                         /* UTF-8 kept */
  assert_string_equal(ps_merge_clean_text(&arena, "jos\xc3\xa9", 4), "jos\xc3\xa9"); /* 4 chars */
  assert_string_equal(ps_merge_clean_text(&arena, "jos\xc3\xa9x", 4), "jos\xc3\xa9");
  assert_string_equal(ps_merge_clean_text(&arena, "ab\xff\xc3\xa9", 128), "ab???"); /* not UTF-8 */
  assert_string_equal(ps_merge_clean_text(&arena, "abcdef", 3), "abc");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_request_errors),
      cmocka_unit_test(test_plan_static_violations),
      cmocka_unit_test(test_violation_list_is_bounded),
      cmocka_unit_test(test_lock_order),
      cmocka_unit_test(test_clean_text),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
