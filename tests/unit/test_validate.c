/* core/validate.c: strict UTF-8, field checks and their messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/validate.h"

static void assert_contains(const char *haystack, const char *needle) {
  if (!strstr(haystack, needle)) fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static int utf8(const char *s) { return ps_utf8_valid(s, strlen(s)); }

static void test_utf8_valid(void **state) {
  (void)state;
  assert_true(utf8(""));
  assert_true(utf8("plain ascii"));
  assert_true(utf8("caf\xc3\xa9"));            /* U+00E9 */
  assert_true(utf8("\xc2\x80"));               /* U+0080, smallest 2-byte */
  assert_true(utf8("\xdf\xbf"));               /* U+07FF */
  assert_true(utf8("\xe0\xa0\x80"));           /* U+0800, smallest 3-byte */
  assert_true(utf8("\xed\x9f\xbf"));           /* U+D7FF, just below the surrogates */
  assert_true(utf8("\xee\x80\x80"));           /* U+E000, just above */
  assert_true(utf8("\xef\xbf\xbf"));           /* U+FFFF */
  assert_true(utf8("\xf0\x90\x80\x80"));       /* U+10000 */
  assert_true(utf8("\xf4\x8f\xbf\xbf"));       /* U+10FFFF */
  assert_true(utf8("\xf0\x9f\x98\x80 smile")); /* emoji */
  assert_true(ps_utf8_valid("a\0b", 3));       /* NUL is a valid code point when counted in n */
}

static void test_utf8_invalid(void **state) {
  (void)state;
  static const char *const bad[] = {
      "\x80",                 /* lone continuation */
      "\xbf",                 /* lone continuation */
      "\xc0\xaf",             /* overlong '/' */
      "\xc1\xbf",             /* overlong */
      "\xe0\x80\xaf",         /* overlong 3-byte '/' */
      "\xe0\x9f\xbf",         /* overlong U+07FF */
      "\xf0\x80\x80\xaf",     /* overlong 4-byte */
      "\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
      "\xed\xa0\x80",         /* U+D800 high surrogate */
      "\xed\xbf\xbf",         /* U+DFFF low surrogate */
      "\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 surrogate pair */
      "\xf4\x90\x80\x80",     /* U+110000 */
      "\xf5\x80\x80\x80",     /* F5 lead */
      "\xff",                 "\xfe",
      "\xc3",                 /* truncated 2-byte */
      "\xe2\x82",             /* truncated 3-byte */
      "\xf0\x9f\x98",         /* truncated 4-byte */
      "ab\xc3",               /* truncated at the end */
      "\xc3(",                /* bad continuation */
      "\xe2\x28\xa1",         /* bad second byte */
      "\xe2\x82\x28",         /* bad third byte */
      "\xf0\x9f\x98\x28",     /* bad fourth byte */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (utf8(bad[i])) fail_msg("accepted bad sequence #%zu", i);
  /* n limits the check: a valid sequence cut by n is invalid */
  assert_false(ps_utf8_valid("caf\xc3\xa9", 4));
  assert_true(ps_utf8_valid("caf\xc3\xa9", 3));
}

static void test_utf8_chars_and_decode(void **state) {
  (void)state;
  assert_int_equal(ps_utf8_chars(""), 0);
  assert_int_equal(ps_utf8_chars("abc"), 3);
  assert_int_equal(ps_utf8_chars("caf\xc3\xa9"), 4);
  assert_int_equal(ps_utf8_chars("\xe2\x82\xac\xf0\x9f\x98\x80"), 2);
  uint32_t cp = 7;
  assert_int_equal(ps_utf8_decode("\xe2\x82\xac", 3, &cp), 3);
  assert_int_equal(cp, 0x20ac);
  assert_int_equal(ps_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
  assert_int_equal(cp, 0x10ffff);
  cp = 7;
  assert_int_equal(ps_utf8_decode("\xe2\x82\xac", 2, &cp), 0);
  assert_int_equal(ps_utf8_decode("", 0, &cp), 0);
  assert_int_equal(cp, 7);
}

static void test_quote(void **state) {
  (void)state;
  char q[PS_QUOTE_SIZE];
  assert_string_equal(ps_quote(NULL, q), "");
  assert_string_equal(ps_quote("plain", q), "plain");
  assert_string_equal(ps_quote("a\"b\\c\td\x7f", q), "a\\\"b\\\\c\\x09d\\x7f");
  assert_string_equal(ps_quote("\xc3\xa9\xff\xc2\x85", q), "\xc3\xa9\\xff\\xc2\\x85");
  char big[200];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ps_quote(big, q);
  assert_int_equal(strlen(q), 64 + 3);
  assert_string_equal(q + 64, "...");
  /* exactly 64 bytes: not cut */
  big[64] = '\0';
  assert_string_equal(ps_quote(big, q), big);
  /* a character straddling byte 64 is not split */
  memset(big, 'x', 63);
  memcpy(big + 63, "\xc3\xa9zz", 5);
  ps_quote(big, q);
  assert_int_equal(strlen(q), 63 + 3);
  /* all bytes escaped: stays within the buffer */
  memset(big, 1, sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ps_quote(big, q);
  assert_true(strlen(q) < PS_QUOTE_SIZE);
  assert_string_equal(q + strlen(q) - 3, "...");
}

static void test_check_text(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_check_text("", "prospect.name", 10, 0, 0, &st), 0);
  assert_int_equal(ps_check_text(NULL, "prospect.name", 10, 0, 0, &st), 0);
  assert_int_equal(ps_check_text("", "prospect.name", 10, 1, 0, &st), -1);
  assert_string_equal(st.message, "prospect.name: is required");
  assert_int_equal(st.code, PS_INVALID_ARGUMENT);
  assert_string_equal(st.meta[0].key, "field");
  assert_string_equal(st.meta[0].value, "prospect.name");

  /* code points, not bytes */
  assert_int_equal(ps_check_text("\xc3\xa9\xc3\xa9\xc3\xa9", "f", 3, 1, 0, &st), 0);
  assert_int_equal(ps_check_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", "prospect.address.city", 3, 1, 0, &st), -1);
  assert_string_equal(st.message, "prospect.address.city: must be at most 3 characters, got 4");

  assert_int_equal(ps_check_text("ab\xed\xa0\x80", "prospect.notes", 100, 0, 1, &st), -1);
  assert_contains(st.message, "prospect.notes: is not valid UTF-8");

  assert_int_equal(ps_check_text("a\nb", "prospect.name", 100, 0, 0, &st), -1);
  assert_contains(st.message, "prospect.name: must not contain control characters");
  assert_int_equal(ps_check_text("a\tb", "prospect.name", 100, 0, 0, &st), -1);
  assert_int_equal(ps_check_text("a\nb\tc\r\nd", "prospect.notes", 100, 0, 1, &st), 0);
  assert_int_equal(ps_check_text("a\rb", "prospect.notes", 100, 0, 1, &st), -1);
  assert_int_equal(ps_check_text("a\x1b[0m", "prospect.notes", 100, 0, 1, &st), -1);
  assert_int_equal(ps_check_text("a\x7f", "prospect.notes", 100, 0, 1, &st), -1);
  assert_int_equal(ps_check_text("a\xc2\x85", "prospect.notes", 100, 0, 1, &st), -1); /* C1 NEL */
  assert_int_equal(ps_check_text("\xc2\xa0nbsp ok", "prospect.notes", 100, 0, 1, &st), 0);
}

static void test_check_email(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  static const char *const good[] = {"", "jan@example.com", "j.an+tag@mail.example.co.uk",
                                     "jos\xc3\xa9@exampl\xc3\xa9.fr"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (ps_check_email(good[i], "prospect.email", &st) != 0) fail_msg("refused \"%s\": %s", good[i], st.message);
  static const char *const bad[] = {"jan", "jan@", "@example.com", "jan@example", "jan@@example.com",
                                    "jan@ex@ample.com", "jan @example.com", "jan@example.com ",
                                    "jan@.example.com", "jan@example.com.", "jan@example..com",
                                    "jan\t@example.com", "jan@exam\xffple.com"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ps_status_clear(&st);
    if (ps_check_email(bad[i], "prospect.email", &st) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(st.code, PS_INVALID_ARGUMENT);
    assert_contains(st.message, "prospect.email: ");
  }
  ps_check_email("jan@example", "prospect.email", &st);
  assert_string_equal(st.message, "prospect.email: must be an e-mail address such as name@example.com, got "
                                  "\"jan@example\"");
  char longest[300];
  memset(longest, 'a', sizeof longest);
  memcpy(longest + 240, "@example.com", 13); /* 252 chars */
  assert_int_equal(ps_check_email(longest, "e", &st), 0);
  memset(longest, 'a', sizeof longest);
  memcpy(longest + 243, "@example.com", 13); /* 255 chars */
  assert_int_equal(ps_check_email(longest, "e", &st), -1);
  assert_contains(st.message, "at most 254");
}

static void test_check_country(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_check_country("", "prospect.address.country_code", &st), 0);
  assert_int_equal(ps_check_country("NL", "prospect.address.country_code", &st), 0);
  assert_int_equal(ps_check_country("AD", "c", &st), 0); /* first in the table */
  assert_int_equal(ps_check_country("ZW", "c", &st), 0); /* last */
  static const char *const bad[] = {"nl", "Nl", "UK", "EU", "XK", "ZZ", "AA", "N", "NLD", "N1", "\xc3\x89S"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ps_status_clear(&st);
    if (ps_check_country(bad[i], "prospect.address.country_code", &st) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_contains(st.message, "prospect.address.country_code: must be an assigned ISO 3166-1");
  }
  /* exactly the 249 assigned codes, e.g. the EU/EEA ones and a few easily missed */
  int accepted = 0;
  char code[3] = "AA";
  for (char a = 'A'; a <= 'Z'; a++)
    for (char b = 'A'; b <= 'Z'; b++) {
      code[0] = a;
      code[1] = b;
      accepted += ps_check_country(code, "c", &st) == 0;
    }
  assert_int_equal(accepted, 249);
  static const char *const some[] = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE",
                                     "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "PL", "PT", "RO",
                                     "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH", "GB", "US", "CA",
                                     "AU", "SS", "BQ", "CW", "SX", "AX", "GG", "JE", "IM", "TL", "EH"};
  for (size_t i = 0; i < sizeof some / sizeof some[0]; i++)
    if (ps_check_country(some[i], "c", &st) != 0) fail_msg("refused %s", some[i]);
}

static void test_check_language(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  static const char *const good[] = {"", "nl", "NL", "en-GB", "nld", "zh-Hant-TW", "sr-Latn-RS",
                                     "de-CH-1996", "en-a-bbbbbbbb", "es-419"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (ps_check_language(good[i], "prospect.language", &st) != 0) fail_msg("refused \"%s\"", good[i]);
  static const char *const bad[] = {"n", "dutch", "nl-", "nl--BE", "nl_BE", "-nl", "en-abcdefghi",
                                    "e1", "nl-B@", "nl BE", "nl-\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ps_status_clear(&st);
    if (ps_check_language(bad[i], "prospect.language", &st) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_contains(st.message, "prospect.language: must be a BCP 47 language tag");
  }
  /* 35 characters is the limit */
  assert_int_equal(ps_check_language("en-aaaaaaaa-bbbbbbbb-cccccccc-dddd", "l", &st), 0); /* 34 */
  assert_int_equal(ps_check_language("en-aaaaaaaa-bbbbbbbb-cccccccc-ddddd", "l", &st), 0); /* 35 */
  assert_int_equal(ps_check_language("en-aaaaaaaa-bbbbbbbb-cccccccc-dddddd", "l", &st), -1); /* 36 */
}

static void test_check_phone(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  static const char *const good[] = {"", "112", "+31 6 1234 5678", "(020) 123-4567", "0031.6.12345678",
                                     "06/12345678", "+1 (212) 555-1234", "12345678901234567890123456789012"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (ps_check_phone(good[i], "prospect.phone", &st) != 0) fail_msg("refused \"%s\"", good[i]);
  static const char *const bad[] = {"12", "+12", "1-2", "++31 6", "31+6123", "06 1234 abc",
                                    "123456789012345678901234567890123", "tel:0612345678", "06\t1234",
                                    "+-()./ 1 2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ps_status_clear(&st);
    if (ps_check_phone(bad[i], "prospect.phone", &st) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_contains(st.message, "prospect.phone: must be a phone number");
  }
}

static void test_check_website(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_check_website("", "prospect.website", &st), 0);
  assert_int_equal(ps_check_website("https://example.com/a?b=c#d", "prospect.website", &st), 0);
  assert_int_equal(ps_check_website("example.com", "prospect.website", &st), 0);
  assert_int_equal(ps_check_website("https://exa mple.com", "prospect.website", &st), -1);
  assert_contains(st.message, "prospect.website: must be printable ASCII");
  assert_int_equal(ps_check_website("https://b\xc3\xbc" "cher.de", "prospect.website", &st), -1);
  assert_int_equal(ps_check_website("https://x.com/\x01", "prospect.website", &st), -1);
  char url[300];
  memset(url, 'a', sizeof url);
  url[255] = '\0';
  assert_int_equal(ps_check_website(url, "w", &st), 0);
  url[255] = 'a';
  url[256] = '\0';
  assert_int_equal(ps_check_website(url, "w", &st), -1);
  assert_contains(st.message, "at most 255");
}

static void test_check_request_id(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_check_request_id("", "request_id", 0, &st), 0);
  assert_int_equal(ps_check_request_id("", "request_id", 1, &st), -1);
  assert_string_equal(st.message, "request_id: is required");
  assert_int_equal(ps_check_request_id("abc-DEF_1.2:3", "request_id", 1, &st), 0);
  char id[70];
  memset(id, 'r', sizeof id);
  id[64] = '\0';
  assert_int_equal(ps_check_request_id(id, "request_id", 1, &st), 0);
  id[64] = 'r';
  id[65] = '\0';
  assert_int_equal(ps_check_request_id(id, "request_id", 1, &st), -1);
  static const char *const bad[] = {"a b", "a/b", "a\xc3\xa9", "a\n", "{uuid}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ps_status_clear(&st);
    if (ps_check_request_id(bad[i], "request_id", 0, &st) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_contains(st.message, "request_id: must be 1-64 characters");
  }
}

static void test_check_page_size(void **state) {
  (void)state;
  ps_status_t st;
  int32_t got = 12345;
  ps_status_clear(&st);
  assert_int_equal(ps_check_page_size(-1, "page_size", 50, 1000, &got, &st), -1);
  assert_int_equal(got, 12345);
  assert_string_equal(st.message, "page_size: must not be negative, got -1");
  assert_int_equal(ps_check_page_size(INT32_MIN, "page_size", 50, 1000, &got, &st), -1);
  assert_int_equal(ps_check_page_size(0, "page_size", 50, 1000, &got, &st), 0);
  assert_int_equal(got, 50);
  assert_int_equal(ps_check_page_size(1, "page_size", 50, 1000, &got, &st), 0);
  assert_int_equal(got, 1);
  assert_int_equal(ps_check_page_size(1000, "page_size", 50, 1000, &got, &st), 0);
  assert_int_equal(got, 1000);
  assert_int_equal(ps_check_page_size(1001, "page_size", 50, 1000, &got, &st), 0);
  assert_int_equal(got, 1000);
  assert_int_equal(ps_check_page_size(INT32_MAX, "page_size", 50, 1000, &got, &st), 0);
  assert_int_equal(got, 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_valid),        cmocka_unit_test(test_utf8_invalid),
      cmocka_unit_test(test_utf8_chars_and_decode), cmocka_unit_test(test_quote),
      cmocka_unit_test(test_check_text),        cmocka_unit_test(test_check_email),
      cmocka_unit_test(test_check_country),     cmocka_unit_test(test_check_language),
      cmocka_unit_test(test_check_phone),       cmocka_unit_test(test_check_website),
      cmocka_unit_test(test_check_request_id),  cmocka_unit_test(test_check_page_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
