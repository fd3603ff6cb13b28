/* core/unicode.c: NFC of request text. Composed and decomposed spellings become the same bytes;
 * text that is already NFC (all ASCII text, most composed text) is kept where it is and costs the
 * arena nothing; invalid UTF-8 is left for the validators; long text takes its buffer from the
 * arena, and an arena out of budget is an error, not a silently unnormalized string. Whole
 * messages: nested messages, repeated strings, and a oneof's member only when it is the one set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/unicode.h"
#include "core/validate.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "prospects/v1/service.pb-c.h"

/* "Jérôme" composed (U+00E9, U+00F4) and decomposed (e + U+0301, o + U+0302) */
#define JEROME_NFC "J\xc3\xa9r\xc3\xb4me"
#define JEROME_NFD "Je\xcc\x81ro\xcc\x82me"
/* "Hélène" */
#define HELENE_NFC "H\xc3\xa9l\xc3\xa8ne"
#define HELENE_NFD "He\xcc\x81le\xcc\x80ne"

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

static const char *nfc(const char *s) {
  const char *out = "(untouched)";
  assert_int_equal(ps_nfc(&arena, s, &out), 0);
  assert_true(ps_utf8_valid(out, strlen(out)));
  return out;
}

static void test_composed_and_decomposed_are_one_string(void **state) {
  (void)state;
  assert_string_equal(nfc(JEROME_NFD), JEROME_NFC);
  assert_string_equal(nfc(JEROME_NFC), JEROME_NFC);
  assert_string_equal(nfc(HELENE_NFD " Lef\xc3\xa8vre"), HELENE_NFC " Lef\xc3\xa8vre");
  /* S-comma below (U+0218) from S + U+0326; e with circumflex and dot below (U+1EC7, as in
   * "Nguyễn"'s neighbours) from either order of its two marks */
  assert_string_equal(nfc("S\xcc\xa6tefan"), "\xc8\x98tefan");
  assert_string_equal(nfc("e\xcc\xa3\xcc\x82"), "\xe1\xbb\x87");
  assert_string_equal(nfc("e\xcc\x82\xcc\xa3"), "\xe1\xbb\x87");
  assert_string_equal(nfc("Nguye\xcc\x82\xcc\x83n"), "Nguy\xe1\xbb\x85n");
  /* Greek and Cyrillic: alpha with tonos, short i (U+0439) */
  assert_string_equal(nfc("\xce\xb1\xcc\x81"), "\xce\xac");
  assert_string_equal(nfc("\xd0\xb8\xcc\x86"), "\xd0\xb9");
  /* Hangul jamo compose into a syllable (U+1112 U+1161 U+11AB -> U+D55C) */
  assert_string_equal(nfc("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"), "\xed\x95\x9c");
  /* canonical singletons: ANGSTROM SIGN -> A with ring, OHM SIGN -> omega */
  assert_string_equal(nfc("\xe2\x84\xab"), "\xc3\x85");
  assert_string_equal(nfc("\xe2\x84\xa6"), "\xce\xa9");
  /* NFC is not NFKC: ligatures, full-width letters and superscripts stay */
  assert_string_equal(nfc("\xef\xac\x81"), "\xef\xac\x81");
  assert_string_equal(nfc("\xef\xbc\xaa"), "\xef\xbc\xaa");
  assert_string_equal(nfc("m\xc2\xb2"), "m\xc2\xb2");
}

static void test_text_already_nfc_is_kept_in_place(void **state) {
  (void)state;
  static const char *const kept[] = {"", "Jan Jansen B.V.", JEROME_NFC,
                                     "\xce\xa3\xcf\x89\xce\xba\xcf\x81\xce\xac\xcf\x84\xce\xb7\xcf\x82",
                                     "\xd0\x94\xd0\xbc\xd0\xb8\xd1\x82\xd1\x80\xd0\xb8\xd0\xb9",
                                     "\xe6\x9d\xb1\xe4\xba\xac", "\xf0\x9f\x98\x80"};
  size_t held = arena.held;
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
    const char *out = NULL;
    assert_int_equal(ps_nfc(&arena, kept[i], &out), 0);
    assert_ptr_equal(out, kept[i]);
  }
  const char *out = "x";
  assert_int_equal(ps_nfc(&arena, NULL, &out), 0);
  assert_null(out);
  assert_int_equal(arena.held, held);
}

static void test_invalid_utf8_is_left_for_the_validators(void **state) {
  (void)state;
  static const char *const bad[] = {"Je\xcc", ("\xff" "e\xcc\x81"), "\xc0\xaf", "\xed\xa0\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *out = NULL;
    assert_int_equal(ps_nfc(&arena, bad[i], &out), 0);
    assert_ptr_equal(out, bad[i]);
  }
}

/* n times the decomposed e-acute (3 bytes) */
static char *decomposed_e_acute(size_t n) {
  char *s = malloc(3 * n + 1);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) memcpy(s + 3 * i, "e\xcc\x81", 3);
  s[3 * n] = '\0';
  return s;
}

static void test_long_text_uses_the_arena_and_its_budget(void **state) {
  (void)state;
  /* 5,000 letters with their marks: 10,000 code points, past the per-thread scratch buffer */
  char *s = decomposed_e_acute(5000);
  const char *out = NULL;
  assert_int_equal(ps_nfc(&arena, s, &out), 0);
  assert_int_equal(strlen(out), 2 * 5000);
  assert_int_equal(ps_utf8_chars(out), 5000);
  for (size_t i = 0; i < 5000; i++) assert_memory_equal(out + 2 * i, "\xc3\xa9", 2);

  /* the same with a budget that cannot hold the buffer: an error, *ret untouched */
  ps_arena_t small;
  assert_int_equal(ps_arena_init(&small, 1024), 0);
  ps_arena_set_limit(&small, 8192);
  const char *sentinel = "sentinel";
  out = sentinel;
  assert_int_equal(ps_nfc(&small, s, &out), -1);
  assert_ptr_equal(out, sentinel);
  assert_int_equal(small.exhausted, 1);
  /* short text only needs room for its copy */
  ps_arena_reset(&small);
  assert_int_equal(ps_nfc(&small, JEROME_NFD, &out), 0);
  assert_string_equal(out, JEROME_NFC);
  ps_arena_destroy(&small);
  free(s);
}

static void test_whole_message(void **state) {
  (void)state;
  /* UpdateProspectRequest: nested prospect and address, the mask's repeated paths */
  Prospects__V1__Address ad = PROSPECTS__V1__ADDRESS__INIT;
  ad.city = (char *)"Lie\xcc\x80ge";
  ad.street = (char *)"Rue de l'E\xcc\x81glise 1";
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.first_name = (char *)JEROME_NFD;
  p.last_name = (char *)"Dubois";
  p.notes = (char *)HELENE_NFD;
  p.address = &ad;
  char *paths[] = {(char *)"first_name", (char *)"address.city", (char *)"e\xcc\x81"};
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  mask.n_paths = 3;
  mask.paths = paths;
  Prospects__V1__UpdateProspectRequest up = PROSPECTS__V1__UPDATE_PROSPECT_REQUEST__INIT;
  up.prospect = &p;
  up.update_mask = &mask;
  const char *last = p.last_name, *path0 = paths[0];
  assert_int_equal(ps_nfc_message(&arena, &up.base), 0);
  assert_string_equal(p.first_name, JEROME_NFC);
  assert_ptr_equal(p.last_name, last);
  assert_string_equal(p.notes, HELENE_NFC);
  assert_string_equal(ad.city, "Li\xc3\xa8ge");
  assert_string_equal(ad.street, "Rue de l'\xc3\x89glise 1");
  /* repeated strings: the mask's paths */
  assert_ptr_equal(mask.paths, paths);
  assert_ptr_equal(paths[0], path0);
  assert_string_equal(paths[1], "address.city");
  assert_string_equal(paths[2], "\xc3\xa9");

  /* repeated messages: the merge's sources */
  Prospects__V1__MergeSource s1 = PROSPECTS__V1__MERGE_SOURCE__INIT, s2 = PROSPECTS__V1__MERGE_SOURCE__INIT;
  s1.name = (char *)"tenants/t/prospects/x";
  s2.name = (char *)"tenants/t/prospects/e\xcc\x81";
  Prospects__V1__MergeSource *sources[] = {&s1, &s2};
  Prospects__V1__MergeProspectsRequest mr = PROSPECTS__V1__MERGE_PROSPECTS_REQUEST__INIT;
  mr.n_sources = 2;
  mr.sources = sources;
  mr.acting_user = (char *)HELENE_NFD;
  assert_int_equal(ps_nfc_message(&arena, &mr.base), 0);
  assert_string_equal(s1.name, "tenants/t/prospects/x");
  assert_string_equal(s2.name, "tenants/t/prospects/\xc3\xa9");
  assert_string_equal(mr.acting_user, HELENE_NFC);

  /* a oneof: the candidate (a message) when it is set, the prospect name (a string) when that is */
  Prospects__V1__Prospect cand = PROSPECTS__V1__PROSPECT__INIT;
  cand.company_name = (char *)"Brasserie He\xcc\x81le\xcc\x80ne";
  Prospects__V1__FindDuplicateProspectsRequest fd = PROSPECTS__V1__FIND_DUPLICATE_PROSPECTS_REQUEST__INIT;
  fd.parent = (char *)"tenants/t";
  fd.subject_case = PROSPECTS__V1__FIND_DUPLICATE_PROSPECTS_REQUEST__SUBJECT_CANDIDATE;
  fd.candidate = &cand;
  assert_int_equal(ps_nfc_message(&arena, &fd.base), 0);
  assert_ptr_equal(fd.candidate, &cand);
  assert_string_equal(cand.company_name, "Brasserie " HELENE_NFC);
  fd.subject_case = PROSPECTS__V1__FIND_DUPLICATE_PROSPECTS_REQUEST__SUBJECT_PROSPECT;
  fd.prospect = (char *)"tenants/t/prospects/He\xcc\x81";
  assert_int_equal(ps_nfc_message(&arena, &fd.base), 0);
  assert_string_equal(fd.prospect, "tenants/t/prospects/H\xc3\xa9");
  fd.subject_case = PROSPECTS__V1__FIND_DUPLICATE_PROSPECTS_REQUEST__SUBJECT__NOT_SET;
  assert_int_equal(ps_nfc_message(&arena, &fd.base), 0);
  assert_int_equal(ps_nfc_message(&arena, NULL), 0);
}

static void test_whole_message_out_of_budget(void **state) {
  (void)state;
  ps_arena_t small;
  assert_int_equal(ps_arena_init(&small, 1024), 0);
  ps_arena_set_limit(&small, 1024); /* the first block is all it may hold */
  char *s = decomposed_e_acute(2000);
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.notes = s;
  assert_int_equal(ps_nfc_message(&small, &p.base), -1);
  assert_int_equal(small.exhausted, 1);
  ps_arena_destroy(&small);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_composed_and_decomposed_are_one_string, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_already_nfc_is_kept_in_place, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_utf8_is_left_for_the_validators, setup, teardown),
      cmocka_unit_test_setup_teardown(test_long_text_uses_the_arena_and_its_budget, setup, teardown),
      cmocka_unit_test_setup_teardown(test_whole_message, setup, teardown),
      cmocka_unit_test(test_whole_message_out_of_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
