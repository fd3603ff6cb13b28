/* core/mac.c: the tag of values kept outside the database is HMAC-SHA256 under the server key,
 * truncated to 128 bits in lower-case hex; the key is SHA-256 of an explicit secret, or
 * HMAC-SHA256(fallback, purpose) without one. The expected values were computed outside this code,
 * twice, and agree:
 *   python3 -c 'import hmac,hashlib; k=hashlib.sha256(b"s3cret").digest();
 *               print(hmac.new(k, b"acme|1|0|1733000000", hashlib.sha256).hexdigest()[:32])'
 *   K=$(printf s3cret | openssl dgst -sha256 | awk '{print $2}')
 *   printf 'acme|1|0|1733000000' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K
 * and for the derived key K=$(printf 'apps-cache' | openssl dgst -sha256 -hmac 'fallback-secret').
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/mac.h"

#define DATA "acme|1|0|1733000000"

/* The tag of data[0..n) under the key set now equals want (both printed when not). */
static void assert_tag(const void *data, size_t n, const char *want) {
  char out[PS_MAC_HEX_LEN + 1];
  memset(out, 'X', sizeof out);
  assert_int_equal(ps_mac_hex(data, n, out), 0);
  assert_string_equal(out, want);
  assert_int_equal(ps_mac_verify(data, n, want), 1);
}

/* An explicit secret: the key is SHA-256 of it; fallback and purpose play no part. */
static void test_known_answer_with_an_explicit_secret(void **state) {
  (void)state;
  ps_mac_set_key("s3cret", "fallback-secret", "apps-cache");
  assert_tag(DATA, strlen(DATA), "54bc54e24f9dd4145e150cfccf9f7b4f");
  assert_tag("", 0, "1244c59dcd347b282c2273b33c763fe2");
  assert_tag("a\0b", 3, "edc2612966d90d218315fc1170903a43"); /* bytes, not a C string */
  ps_mac_set_key("s3cret", "another fallback", "another purpose");
  assert_tag(DATA, strlen(DATA), "54bc54e24f9dd4145e150cfccf9f7b4f");
  /* longer than a SHA-256 block: still hashed, not used raw or cut */
  char longer[101];
  memset(longer, 'x', 100);
  longer[100] = '\0';
  ps_mac_set_key(longer, NULL, "apps-cache");
  assert_tag(DATA, strlen(DATA), "6c59056cc94c9af210ecb07918fe41cb");
}

/* No secret (NULL or ""): the key is HMAC-SHA256(fallback, purpose). */
static void test_known_answer_with_a_derived_key(void **state) {
  (void)state;
  ps_mac_set_key(NULL, "fallback-secret", "apps-cache");
  assert_tag(DATA, strlen(DATA), "ede9e60031e4f18c7f00bc3b3ba1391a");
  ps_mac_set_key("", "fallback-secret", "apps-cache");
  assert_tag(DATA, strlen(DATA), "ede9e60031e4f18c7f00bc3b3ba1391a");
  /* what main.c passes: the page-token key as fallback, its own purpose */
  ps_mac_set_key("", "page-token-secret", "prospects apps cache v2");
  assert_tag("v1|acme|1|0", 11, "f6314af55502641788b4085e6f021ad7");
  /* no fallback either: the empty key, still derived */
  ps_mac_set_key(NULL, NULL, "apps-cache");
  assert_tag(DATA, strlen(DATA), "99b6697b97f066e5510970bfcbbea900");
  /* the purpose separates keys made from one secret */
  char a[PS_MAC_HEX_LEN + 1], b[PS_MAC_HEX_LEN + 1];
  ps_mac_set_key(NULL, "fallback-secret", "apps-cache");
  assert_int_equal(ps_mac_hex(DATA, strlen(DATA), a), 0);
  ps_mac_set_key(NULL, "fallback-secret", "page-tokens");
  assert_int_equal(ps_mac_hex(DATA, strlen(DATA), b), 0);
  assert_string_not_equal(a, b);
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), a), 0);
  /* and the explicit secret is not used as the fallback would be */
  ps_mac_set_key("fallback-secret", NULL, "apps-cache");
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), "ede9e60031e4f18c7f00bc3b3ba1391a"), 0);
}

static void test_tag_format(void **state) {
  (void)state;
  ps_mac_set_key("s3cret", NULL, "apps-cache");
  char out[PS_MAC_HEX_LEN + 8];
  memset(out, 'X', sizeof out);
  assert_int_equal(ps_mac_hex("x", 1, out), 0);
  assert_int_equal(strlen(out), PS_MAC_HEX_LEN);
  for (int i = 0; i < PS_MAC_HEX_LEN; i++)
    assert_true((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'));
  assert_int_equal(out[PS_MAC_HEX_LEN + 1], 'X'); /* nothing written past the NUL */
}

/* verify takes the right tag only: any changed digit, any changed byte of data, another length, no
 * tag at all, or another key refuse it. */
static void test_verify_refuses_anything_else(void **state) {
  (void)state;
  ps_mac_set_key("s3cret", NULL, "apps-cache");
  const char *good = "54bc54e24f9dd4145e150cfccf9f7b4f";
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), good), 1);
  char t[PS_MAC_HEX_LEN + 2];
  for (int i = 0; i < PS_MAC_HEX_LEN; i++) {
    strcpy(t, good);
    t[i] = t[i] == '0' ? '1' : '0';
    if (ps_mac_verify(DATA, strlen(DATA), t))
      fail_msg("tag with digit %d changed accepted: %s", i, t);
  }
  char d[] = DATA;
  for (size_t i = 0; i < strlen(DATA); i++) {
    d[i] ^= 1;
    if (ps_mac_verify(d, strlen(DATA), good)) fail_msg("data with byte %zu changed accepted", i);
    d[i] ^= 1;
  }
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA) - 1, good), 0);
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), NULL), 0);
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), ""), 0);
  memcpy(t, good, PS_MAC_HEX_LEN - 1); /* 31 digits */
  t[PS_MAC_HEX_LEN - 1] = '\0';
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), t), 0);
  strcpy(t, good); /* 33 */
  strcat(t, "0");
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), t), 0);
  /* the full 64-digit HMAC is not the tag either */
  assert_int_equal(
      ps_mac_verify(DATA, strlen(DATA),
                    "54bc54e24f9dd4145e150cfccf9f7b4f0d2465616f8019bdadc74340bdccf02d"),
      0);
  ps_mac_set_key("another secret", NULL, "apps-cache");
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), good), 0);
  ps_mac_set_key("s3cret", NULL, "apps-cache");
  assert_int_equal(ps_mac_verify(DATA, strlen(DATA), good), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_answer_with_an_explicit_secret),
      cmocka_unit_test(test_known_answer_with_a_derived_key),
      cmocka_unit_test(test_tag_format),
      cmocka_unit_test(test_verify_refuses_anything_else),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
