/* status_details.c: what a failed status sends in grpc-status-details-bin, unpacked again with
 * protobuf-c: ErrorInfo, BadRequest and RetryInfo, and when each is (not) there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/status.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "status_details.h"

typedef struct decoded {
  Google__Rpc__Status *status;
  Google__Rpc__ErrorInfo *info;
  Google__Rpc__BadRequest *bad;
  Google__Rpc__RetryInfo *retry;
} decoded_t;

/* Packs st and unpacks what came out; status NULL when nothing is sent. */
static decoded_t roundtrip(const ps_status_t *st) {
  decoded_t d = {0};
  uint8_t *buf = (uint8_t *)"x";
  size_t len = 99;
  assert_int_equal(ps_status_details_pack(st, &buf, &len), 0);
  if (!buf) {
    assert_int_equal(len, 0);
    return d;
  }
  d.status = google__rpc__status__unpack(NULL, len, buf);
  free(buf);
  assert_non_null(d.status);
  assert_int_equal(d.status->code, (int)st->code);
  assert_string_equal(d.status->message, st->message);
  for (size_t i = 0; i < d.status->n_details; i++) {
    Google__Protobuf__Any *a = d.status->details[i];
    if (strcmp(a->type_url, "type.googleapis.com/google.rpc.ErrorInfo") == 0) {
      assert_null(d.info);
      d.info = google__rpc__error_info__unpack(NULL, a->value.len, a->value.data);
      assert_non_null(d.info);
    } else if (strcmp(a->type_url, "type.googleapis.com/google.rpc.BadRequest") == 0) {
      assert_null(d.bad);
      d.bad = google__rpc__bad_request__unpack(NULL, a->value.len, a->value.data);
      assert_non_null(d.bad);
    } else if (strcmp(a->type_url, "type.googleapis.com/google.rpc.RetryInfo") == 0) {
      assert_null(d.retry);
      d.retry = google__rpc__retry_info__unpack(NULL, a->value.len, a->value.data);
      assert_non_null(d.retry);
    } else {
      fail_msg("unexpected detail %s", a->type_url);
    }
  }
  return d;
}

static void release(decoded_t *d) {
  if (d->status) google__rpc__status__free_unpacked(d->status, NULL);
  if (d->info) google__rpc__error_info__free_unpacked(d->info, NULL);
  if (d->bad) google__rpc__bad_request__free_unpacked(d->bad, NULL);
  if (d->retry) google__rpc__retry_info__free_unpacked(d->retry, NULL);
}

static long long delay_ms(const decoded_t *d) {
  assert_non_null(d->retry);
  assert_non_null(d->retry->retry_delay);
  return (long long)d->retry->retry_delay->seconds * 1000 + d->retry->retry_delay->nanos / 1000000;
}

static void test_ok_sends_nothing(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  decoded_t d = roundtrip(&st);
  assert_null(d.status);
}

static void test_field_violation(void **state) {
  (void)state;
  ps_status_t st;
  ps_fail_field(&st, "prospect.email", "is not an e-mail address");
  decoded_t d = roundtrip(&st);
  assert_non_null(d.info);
  assert_string_equal(d.info->reason, "INVALID_FIELD");
  assert_string_equal(d.info->domain, "prospects.v1");
  assert_int_equal(d.info->n_metadata, 1);
  assert_string_equal(d.info->metadata[0]->key, "field");
  assert_string_equal(d.info->metadata[0]->value, "prospect.email");
  assert_non_null(d.bad);
  assert_int_equal(d.bad->n_field_violations, 1);
  assert_string_equal(d.bad->field_violations[0]->field, "prospect.email");
  assert_string_equal(d.bad->field_violations[0]->description, st.message);
  assert_null(d.retry);
  release(&d);
}

static void test_invalid_argument_without_field(void **state) {
  (void)state;
  ps_status_t st;
  ps_fail(&st, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", "the request is not a valid message");
  decoded_t d = roundtrip(&st);
  assert_non_null(d.info);
  assert_null(d.bad); /* no field to name */
  assert_null(d.retry);
  release(&d);
}

static void test_retry_info(void **state) {
  (void)state;
  static const struct {
    ps_code_t code;
    const char *reason;
    int delay_ms; /* -1: no RetryInfo */
    int info;     /* an ErrorInfo is sent */
  } cases[] = {
      {PS_UNAVAILABLE, "", 1000, 0},
      {PS_RESOURCE_EXHAUSTED, "SERVER_OVERLOADED", 500, 1},
      {PS_RESOURCE_EXHAUSTED, "", 500, 0}, /* out of memory */
      {PS_RESOURCE_EXHAUSTED, "TOO_MANY_WATCHERS", 5000, 1},
      {PS_RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE", -1, 1},
      {PS_RESOURCE_EXHAUSTED, "CALL_MEMORY_EXCEEDED", -1, 1},
      {PS_ABORTED, "", 100, 0}, /* a deadlock, a concurrent change */
      {PS_ABORTED, "ETAG_MISMATCH", -1, 1},
      {PS_NOT_FOUND, "PROSPECT_NOT_FOUND", -1, 1},
      {PS_FAILED_PRECONDITION, "PROSPECTS_APP_DISABLED", -1, 1},
      {PS_PERMISSION_DENIED, "", -1, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ps_status_t st;
    ps_fail(&st, cases[i].code, cases[i].reason, "case %zu", i);
    assert_int_equal(ps_status_retry_delay_ms(&st), cases[i].delay_ms);
    decoded_t d = roundtrip(&st);
    if (cases[i].delay_ms < 0 && !cases[i].info) {
      assert_null(d.status); /* nothing to send */
      continue;
    }
    assert_non_null(d.status);
    if (cases[i].delay_ms >= 0)
      assert_int_equal(delay_ms(&d), cases[i].delay_ms);
    else
      assert_null(d.retry);
    if (cases[i].info) {
      assert_non_null(d.info);
      assert_string_equal(d.info->reason, cases[i].reason);
    } else {
      assert_null(d.info);
    }
    assert_null(d.bad);
    release(&d);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok_sends_nothing),
      cmocka_unit_test(test_field_violation),
      cmocka_unit_test(test_invalid_argument_without_field),
      cmocka_unit_test(test_retry_info),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
