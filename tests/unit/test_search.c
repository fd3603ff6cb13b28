/* store/search.c pure parts (the words of a record and of a query) and the update-mask parsers of
 * service/records.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "service/records.h"
#include "store/search.h"

static ps_search_terms_t terms;

static int has(const char *t) {
  for (int i = 0; i < terms.n; i++)
    if (strcmp(terms.term[i], t) == 0) return 1;
  return 0;
}

static void test_record_terms(void **state) {
  (void)state;
  ps_prospect_cols_t c;
  memset(&c, 0, sizeof c);
  c.display_name = "Bakkerij Jänsen B.V.";
  c.company_name = "Bakkerij Jänsen B.V.";
  c.city = "Den Haag";
  c.email = "Jan.Jansen@Example.com";
  c.vat_number = "0123.456.789";
  c.country_code = "BE";
  ps_search_record_terms(&c, &terms);
  const char *want[] = {"b", "ba", "bak", "bakkerij", "j", "ja", "jan", "jansen", "den", "haag",
                        "janjansen", "examplecom", "example", "com", "0123456789", "be0123456789",
                        "be", "bv" /* never: legal form */};
  for (size_t i = 0; i < sizeof want / sizeof want[0] - 1; i++)
    if (!has(want[i])) fail_msg("term %s missing", want[i]);
  assert_false(has("bv"));
  for (int i = 0; i < terms.n; i++)
    for (int j = i + 1; j < terms.n; j++) assert_string_not_equal(terms.term[i], terms.term[j]);

  /* a long word is cut to PS_SEARCH_WORD_MAX characters; a record keeps at most PS_SEARCH_TERMS_MAX */
  char longname[300];
  memset(longname, 'x', 200);
  longname[200] = '\0';
  c.display_name = longname;
  c.company_name = c.city = c.email = c.vat_number = "";
  ps_search_record_terms(&c, &terms);
  assert_int_equal(terms.n, 4);
  assert_int_equal(strlen(terms.term[3]), PS_SEARCH_WORD_MAX);
  char many[2000] = "";
  for (int i = 0; i < 300; i++) {
    char w[8];
    snprintf(w, sizeof w, "w%d ", i);
    strcat(many, w);
  }
  c.display_name = many;
  ps_search_record_terms(&c, &terms);
  /* the words' terms only: their first 3 characters hold digits, so they make no pairs */
  assert_int_equal(terms.n, PS_SEARCH_TERMS_MAX);
  for (int i = 0; i < 300; i++) {
    char w[8];
    snprintf(w, sizeof w, "%c%c%c ", 'a' + i % 26, 'a' + i / 26 % 26, 'a' + i / 676 % 26);
    memcpy(many + 4 * i, w, 4);
  }
  many[4 * 300] = '\0';
  ps_search_record_terms(&c, &terms);
  /* the words' terms, and no pairs: far more than PS_SEARCH_PAIR_PREFIXES_MAX words */
  assert_int_equal(terms.n, PS_SEARCH_TERMS_MAX + 1);
  assert_string_equal(terms.term[PS_SEARCH_TERMS_MAX], PS_SEARCH_PAIRS_NONE);
}

static int count_chars(const char *s) {
  int n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) n++;
  return n;
}

static void test_record_pairs(void **state) {
  (void)state;
  ps_prospect_cols_t c;
  memset(&c, 0, sizeof c);
  c.display_name = "Jan Jansen";
  c.city = "Den Haag";
  c.email = "jan@example.com";
  c.vat_number = "NL000099998B01";
  ps_search_record_terms(&c, &terms);
  /* first 3 characters: jan (jan, jansen), den, haa, exa (examplecom, example), com; "de" and
   * "ha" are too short to pair, and the VAT number's "nl0" and "000" hold digits */
  assert_true(has("nl0"));
  assert_true(has("000"));
  assert_false(ps_search_pairable("nl0"));
  assert_false(ps_search_pairable("ja"));
  assert_true(ps_search_pairable("\xc3\xa9t\xc3\xa9"));
  const char *pairs[] = {"den jan", "haa jan", "exa jan", "com jan", "den haa", "den exa", "com den",
                         "exa haa", "com haa", "com exa"};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
    if (!has(pairs[i])) fail_msg("pair %s missing", pairs[i]);
  int n_pairs = 0;
  for (int i = 0; i < terms.n; i++)
    if (strchr(terms.term[i], ' ')) n_pairs++;
  assert_int_equal(n_pairs, 10);
  assert_false(has("jan jan"));
  assert_false(has(PS_SEARCH_PAIRS_NONE));
  char out[PS_SEARCH_PAIR_BYTES];
  ps_search_pair_term("jan", "den", out);
  assert_string_equal(out, "den jan");
  ps_search_pair_term("den", "jan", out);
  assert_string_equal(out, "den jan");
  ps_search_pair_term("\xc3\xa9t\xc3\xa9", "zoo", out); /* UTF-8: 3 characters, 5 bytes */
  assert_string_equal(out, "zoo \xc3\xa9t\xc3\xa9"); /* byte order: 'z' < 0xc3 */

  /* exactly PS_SEARCH_PAIR_PREFIXES_MAX different first 3 characters: every pair; one more: none */
  char words[400] = "";
  for (int i = 0; i < PS_SEARCH_PAIR_PREFIXES_MAX + 1; i++) {
    char w[8];
    snprintf(w, sizeof w, "%c%cq ", 'a' + i, 'a' + i);
    strcat(words, w);
  }
  char *last = words + 4 * PS_SEARCH_PAIR_PREFIXES_MAX;
  *last = '\0';
  memset(&c, 0, sizeof c);
  c.display_name = words;
  ps_search_record_terms(&c, &terms);
  n_pairs = 0;
  for (int i = 0; i < terms.n; i++)
    if (strchr(terms.term[i], ' ')) {
      n_pairs++;
      assert_int_equal(count_chars(terms.term[i]), 7);
    }
  assert_int_equal(n_pairs, PS_SEARCH_PAIRS_MAX);
  assert_true(has("aaq bbq"));
  assert_false(has(PS_SEARCH_PAIRS_NONE));
  *last = 'q'; /* the word after them back: "qqq" */
  ps_search_record_terms(&c, &terms);
  n_pairs = 0;
  for (int i = 0; i < terms.n; i++)
    if (strchr(terms.term[i], ' ')) n_pairs++;
  assert_int_equal(n_pairs, 1);
  assert_true(has(PS_SEARCH_PAIRS_NONE));
}

static void test_query_words(void **state) {
  (void)state;
  char w[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES];
  int n = -1;
  assert_int_equal(ps_search_query_words("", w, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(ps_search_query_words("  B.V. ", w, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(ps_search_query_words("Jan JANSEN jan", w, &n), 0);
  assert_int_equal(n, 1); /* "jan" starts "jansen": redundant */
  assert_string_equal(w[0], "jansen");
  assert_int_equal(ps_search_query_words("de Amsterdam Ö", w, &n), 0);
  assert_int_equal(n, 3);
  assert_string_equal(w[0], "amsterdam"); /* longest first */
  assert_string_equal(w[2], "o");
  assert_int_equal(ps_search_query_words("jan.jansen@example.com", w, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(w[0], "examplecom");
  assert_string_equal(w[1], "janjansen");
  assert_int_equal(ps_search_query_words("a1 b2 c3 d4 e5", w, &n), 0);
  assert_int_equal(ps_search_query_words("a1 b2 c3 d4 e5 f6", w, &n), -1);
}

/* The words rows of version 1 are indexed under: the same rules, version 1's folding. */
static void test_query_words_v1(void **state) {
  (void)state;
  char w[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES], v1[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES];
  int n = 0, n1 = 0;
  /* "Ștefan Popescu": "stefan" now, "Ștefan" (kept as written) then; longest first in both */
  assert_int_equal(ps_search_query_words("\xc8\x98tefan Popescu", w, &n), 0);
  assert_int_equal(ps_search_query_words_v1("\xc8\x98tefan Popescu", v1, &n1), 0);
  assert_int_equal(n, 2);
  assert_int_equal(n1, 2);
  assert_string_equal(w[0], "popescu");
  assert_string_equal(w[1], "stefan");
  assert_string_equal(v1[0], "popescu");
  assert_string_equal(v1[1], "\xc8\x98tefan");
  /* ASCII and Latin-1 fold alike */
  assert_int_equal(ps_search_query_words_v1("J\xc3\xa9r\xc3\xb4me Dubois B.V.", v1, &n1), 0);
  assert_int_equal(n1, 2);
  assert_string_equal(v1[0], "jerome");
  assert_string_equal(v1[1], "dubois");
  /* too many words either way */
  assert_int_equal(ps_search_query_words_v1("a1 b2 c3 d4 e5 f6", v1, &n1), -1);
}

/* How much of two merged listings a page may show. */
static void test_union_keep(void **state) {
  (void)state;
  int complete[2] = {0, 0}, none[2] = {-1, -1};
  /* both listings ended before the page did: all of it, up to the page */
  assert_int_equal(ps_search_union_keep(7, complete, none, 11), 7);
  assert_int_equal(ps_search_union_keep(15, complete, none, 11), 11);
  /* the first filled the page: up to its last record; what the second has after that waits */
  int first[2] = {1, 0}, at[2] = {10, 12};
  assert_int_equal(ps_search_union_keep(14, first, at, 11), 11);
  at[0] = 12;
  assert_int_equal(ps_search_union_keep(14, first, at, 11), 11);
  /* stopped at the byte cap after 3 records, the second after 5: only the first 3 are known */
  int both[2] = {1, 1}, cut[2] = {2, 4};
  assert_int_equal(ps_search_union_keep(8, both, cut, 11), 3);
  cut[0] = 6;
  assert_int_equal(ps_search_union_keep(8, both, cut, 11), 5);
  /* an incomplete listing none of whose records is left: nothing is known */
  int gone[2] = {-1, 3};
  assert_int_equal(ps_search_union_keep(4, first, gone, 11), 0);
}

static void test_prospect_mask(void **state) {
  (void)state;
  ps_status_t st;
  unsigned bits = 0;
  char *p1[] = {"email", "address.city"};
  Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  m.n_paths = 2;
  m.paths = p1;
  assert_int_equal(ps_prospect_parse_mask(&m, &bits, &st), 0);
  assert_int_equal(bits, PS_PF_EMAIL | PS_PF_CITY);
  char *p2[] = {"address"};
  m.n_paths = 1;
  m.paths = p2;
  assert_int_equal(ps_prospect_parse_mask(&m, &bits, &st), 0);
  assert_int_equal(bits, PS_PF_ADDRESS);
  char *p3[] = {"*"};
  m.paths = p3;
  assert_int_equal(ps_prospect_parse_mask(&m, &bits, &st), 0);
  assert_int_equal(bits, PS_PF_ALL | PS_PF_STAR);
  const char *bad[] = {"kind", "state", "etag", "create_time", "name", "colour", "address.planet", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *p[] = {(char *)bad[i]};
    m.paths = p;
    ps_status_clear(&st);
    assert_int_equal(ps_prospect_parse_mask(&m, &bits, &st), -1);
    assert_int_equal(st.code, PS_INVALID_ARGUMENT);
    assert_string_equal(st.meta[0].value, "update_mask.paths");
  }
  m.n_paths = 0;
  assert_int_equal(ps_prospect_parse_mask(&m, &bits, &st), -1);
  assert_int_equal(ps_prospect_parse_mask(NULL, &bits, &st), -1);
  assert_string_equal(st.meta[0].value, "update_mask");
}

static void test_contact_mask(void **state) {
  (void)state;
  ps_status_t st;
  unsigned bits = 0;
  char *p[] = {"role", "email"};
  Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  m.n_paths = 2;
  m.paths = p;
  assert_int_equal(ps_contact_parse_mask(&m, &bits, &st), 0);
  assert_int_equal(bits, PS_CF_ROLE | PS_CF_EMAIL);
  char *q[] = {"etag"};
  m.n_paths = 1;
  m.paths = q;
  assert_int_equal(ps_contact_parse_mask(&m, &bits, &st), -1);
  assert_string_equal(st.meta[0].value, "update_mask.paths");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record_terms),
      cmocka_unit_test(test_record_pairs),
      cmocka_unit_test(test_query_words),
      cmocka_unit_test(test_query_words_v1),
      cmocka_unit_test(test_union_keep),
      cmocka_unit_test(test_prospect_mask),
      cmocka_unit_test(test_contact_mask),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
