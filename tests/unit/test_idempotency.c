/* store/idempotency.c pure part: the request fingerprints (SHA-256, and the legacy FNV-1a) ignore
 * request_id and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "core/hash.h"
#include "prospects/v1/service.pb-c.h"
#include "store/idempotency.h"

static unsigned char last_sha[32];

/* The legacy FNV fingerprint; the SHA-256 one is left in last_sha. */
static uint64_t fp(const Prospects__V1__CreateProspectRequest *r) {
  uint64_t h = 0;
  assert_int_equal(ps_idem_fingerprint(&r->base, last_sha, &h), 0);
  return h;
}

static void test_fingerprint(void **state) {
  (void)state;
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.kind = PROSPECTS__V1__PARTY_KIND__COMPANY;
  p.company_name = "Acme BV";
  Prospects__V1__CreateProspectRequest r = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
  r.parent = "tenants/t1";
  r.prospect = &p;
  r.request_id = "one";
  uint64_t a = fp(&r);
  unsigned char sha_a[32];
  memcpy(sha_a, last_sha, 32);
  assert_string_equal(r.request_id, "one"); /* the request itself is not changed */
  r.request_id = "two";
  assert_int_equal(fp(&r), a); /* the id does not count */
  assert_memory_equal(last_sha, sha_a, 32);
  r.request_id = "";
  assert_int_equal(fp(&r), a);
  assert_memory_equal(last_sha, sha_a, 32);
  p.company_name = "Acme B.V.";
  assert_int_not_equal(fp(&r), a); /* the content does */
  assert_memory_not_equal(last_sha, sha_a, 32);
  p.company_name = "Acme BV";
  r.parent = "tenants/t2";
  assert_int_not_equal(fp(&r), a);
  assert_memory_not_equal(last_sha, sha_a, 32);

  /* equals the hash of the packed request without its id */
  r.parent = "tenants/t1";
  r.request_id = "";
  size_t n = protobuf_c_message_get_packed_size(&r.base);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  protobuf_c_message_pack(&r.base, buf);
  assert_int_equal(fp(&r), ps_hash64(buf, n, PS_HASH_SEED));
  unsigned char want[32];
  SHA256(buf, n, want);
  assert_memory_equal(last_sha, want, 32);
  free(buf);

  /* a message without request_id hashes as it is */
  Prospects__V1__GetProspectRequest g = PROSPECTS__V1__GET_PROSPECT_REQUEST__INIT;
  g.name = "tenants/t1/prospects/x";
  uint64_t h = 0;
  unsigned char sha[32];
  assert_int_equal(ps_idem_fingerprint(&g.base, sha, &h), 0);
  assert_int_not_equal(h, PS_HASH_SEED);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fingerprint)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
