/* core/normalize.c: the normal forms behind the duplicate check and the search words. Names: the
 * same key for composed and decomposed text, full case folding in every script, marks stripped,
 * the letters that do not decompose spelled out, punctuation as it always was, output cut on a
 * character boundary, invalid bytes dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/normalize.h"
#include "core/validate.h"

static char out[256];

static const char *email(const char *s) {
  size_t n = ps_norm_email(s, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}
static const char *vat(const char *s, const char *cc) {
  size_t n = ps_norm_vat(s, cc, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}
static const char *phone(const char *s, const char *cc) {
  size_t n = ps_norm_phone(s, cc, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}
static const char *name(const char *s) {
  size_t n = ps_norm_name(s, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}

static void test_email(void **state) {
  (void)state;
  assert_string_equal(email("  Jan@Example.COM "), "jan@example.com");
  assert_string_equal(email("\tJAN@EXAMPLE.COM\r\n"), "jan@example.com");
  assert_string_equal(email("   "), "");
  assert_string_equal(email(""), "");
  assert_string_equal(email(NULL), "");
  /* non-ASCII is kept as is (only ASCII is lower-cased) */
  assert_string_equal(email("Jos\xc3\x89@Ex.fr"), "jos\xc3\x89@ex.fr");
}

static void test_vat(void **state) {
  (void)state;
  assert_string_equal(vat("123.456.789", "BE"), "BE123456789");
  assert_string_equal(vat("nl 0012 b01", NULL), "NL0012B01");
  assert_string_equal(vat("NL0012B01", "BE"), "NL0012B01"); /* own prefix wins */
  assert_string_equal(vat("BE 0123-456-789", NULL), "BE0123456789");
  assert_string_equal(vat("0123/456/789", "be"), "BE0123456789");
  assert_string_equal(vat("U12345678", "AT"), "ATU12345678"); /* one letter is not a prefix */
  assert_string_equal(vat("B12345678", "ES"), "ESB12345678");
  assert_string_equal(vat("123456789", NULL), "123456789");
  assert_string_equal(vat("123456789", ""), "123456789");
  assert_string_equal(vat("123456789", "NLD"), "123456789");
  assert_string_equal(vat("GR 094014201", NULL), "EL094014201"); /* Greece: EL, not GR */
  assert_string_equal(vat("094014201", "GR"), "EL094014201");
  assert_string_equal(vat(" .-. ", "BE"), "");
  assert_string_equal(vat("", "BE"), "");
}

static void test_phone(void **state) {
  (void)state;
  assert_string_equal(phone("+31 6 1234 5678", NULL), "31612345678");
  assert_string_equal(phone("0031 6 12345678", NULL), "31612345678");
  assert_string_equal(phone("06 12345678", "NL"), "31612345678");
  assert_string_equal(phone("06-12345678", "nl"), "31612345678");
  assert_string_equal(phone("+31 (0)6 1234 5678", NULL), "31612345678");
  assert_string_equal(phone("+31 06 12345678", "BE"), "31612345678"); /* stray trunk 0 */
  assert_string_equal(phone("+44 20 7946 0958", NULL), "442079460958");
  assert_string_equal(phone("020 7946 0958", "GB"), "442079460958");
  assert_string_equal(phone("+44 (0) 20 7946 0958", NULL), "442079460958");
  assert_string_equal(phone("089 123456", "DE"), "4989123456");
  assert_string_equal(phone("02 123 45 67", "BE"), "3221234567");
  assert_string_equal(phone("01 23 45 67 89", "FR"), "33123456789");
  assert_string_equal(phone("044 668 18 00", "CH"), "41446681800");
  assert_string_equal(phone("(02) 9876 5432", "AU"), "61298765432");
  /* Italy keeps its leading 0, also in international form */
  assert_string_equal(phone("06 1234 5678", "IT"), "390612345678");
  assert_string_equal(phone("+39 06 1234 5678", NULL), "390612345678");
  /* no trunk prefix */
  assert_string_equal(phone("912 345 678", "ES"), "34912345678");
  assert_string_equal(phone("21 12 34 56", "NO"), "4721123456");
  /* North America: trunk 1, exit code 011 */
  assert_string_equal(phone("(212) 555-1234", "US"), "12125551234");
  assert_string_equal(phone("1 212 555 1234", "US"), "12125551234");
  assert_string_equal(phone("+1 212 555 1234", "NL"), "12125551234");
  assert_string_equal(phone("416 555 0199", "CA"), "14165550199");
  assert_string_equal(phone("011 31 6 12345678", "US"), "31612345678");
  /* Hungary: trunk 06 */
  assert_string_equal(phone("06 1 234 5678", "HU"), "3612345678");
  /* unknown or missing country: digits as written */
  assert_string_equal(phone("06 12345678", NULL), "0612345678");
  assert_string_equal(phone("06 12345678", "ZZ"), "0612345678");
  assert_string_equal(phone("+", "NL"), "");
  assert_string_equal(phone("", "NL"), "");
  assert_string_equal(phone("0", "NL"), "");
  /* same number, different spellings: one key */
  char a[32], b[32], c[32];
  ps_norm_phone("+31 (0)20 123 4567", NULL, a, sizeof a);
  ps_norm_phone("020-1234567", "NL", b, sizeof b);
  ps_norm_phone("0031201234567", "DE", c, sizeof c);
  assert_string_equal(a, b);
  assert_string_equal(b, c);
}

static void test_name(void **state) {
  (void)state;
  assert_string_equal(name("Jansen B.V."), "jansen");
  assert_string_equal(name("  JANSEN   bv  "), "jansen");
  assert_string_equal(name("BV Jansen"), "jansen");
  assert_string_equal(name("Jansen & Zn. N.V."), "jansen zn");
  assert_string_equal(name("M\xc3\xbcller GmbH"), "muller");
  assert_string_equal(name("Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale SA"), "societe generale");
  assert_string_equal(name("Stra\xc3\x9f" "e & S\xc3\xb8n Ltd."), "strasse son");
  assert_string_equal(name("\xc5\x81\xc3\xb3\x64\xc5\xba Sp\xc3\xb3\xc5\x82ka"), "lodz spolka");
  assert_string_equal(name("\xc5\x92uvre \xc3\x86sir \xc4\xb2sselmeer"), "oeuvre aesir ijsselmeer");
  assert_string_equal(name("O'Brien Ltd"), "obrien");
  assert_string_equal(name("O\xe2\x80\x99" "Brien"), "obrien");
  assert_string_equal(name("Smit-Jansen, Van der"), "smit jansen van der");
  assert_string_equal(name("A.B.C. Holding S.A.R.L."), "abc holding");
  assert_string_equal(name("Acme Inc"), "acme");
  assert_string_equal(name("Acme, LLC"), "acme");
  assert_string_equal(name("Bouw VOF"), "bouw");
  assert_string_equal(name("Bakker BVBA"), "bakker");
  assert_string_equal(name("Rossi S.r.l."), "rossi");
  /* a form word inside a word is not a form */
  assert_string_equal(name("Sanders Savings"), "sanders savings");
  assert_string_equal(name("B.V."), "");
  assert_string_equal(name(" .,- "), "");
  assert_string_equal(name(""), "");
  /* other scripts are folded too (this used to keep "Мир" as written) */
  assert_string_equal(name("\xd0\x9c\xd0\xb8\xd1\x80 Ltd"), "\xd0\xbc\xd0\xb8\xd1\x80");
  /* 2 * 3 */
  assert_string_equal(name("2\xc3\x97" "3"), "2 3");
}

/* The same name key however the name was written, as two strings that must agree and the key. */
static void same_key_at(const char *a, const char *b, const char *want, const char *file, int line) {
  char ka[256], kb[256];
  ps_norm_name(a, ka, sizeof ka);
  ps_norm_name(b, kb, sizeof kb);
  if (strcmp(ka, want) != 0 || strcmp(kb, want) != 0) {
    print_error("\"%s\" -> \"%s\", \"%s\" -> \"%s\"; want \"%s\" for both\n", a, ka, b, kb, want);
    _fail(file, line);
  }
}
#define SAME_KEY(a, b, want) same_key_at((a), (b), (want), __FILE__, __LINE__)

static void test_name_composed_and_decomposed(void **state) {
  (void)state;
  /* "Jérôme Dubois": U+00E9 U+00F4 against e + U+0301, o + U+0302 */
  SAME_KEY("J\xc3\xa9r\xc3\xb4me Dubois", "Je\xcc\x81ro\xcc\x82me Dubois", "jerome dubois");
  /* "Hélène Lefèvre" */
  SAME_KEY("H\xc3\xa9l\xc3\xa8ne Lef\xc3\xa8vre", "He\xcc\x81le\xcc\x80ne Lefe\xcc\x80vre",
           "helene lefevre");
  /* "Ștefan" with S-comma below (U+0218) against S + U+0326 */
  SAME_KEY("\xc8\x98tefan", "S\xcc\xa6tefan", "stefan");
  /* "Nguyễn": U+1EC5 against e + U+0302 + U+0303 */
  SAME_KEY("Nguy\xe1\xbb\x85n", "Nguye\xcc\x82\xcc\x83n", "nguyen");
  /* Hangul: a syllable (U+D55C) against its jamo: both the syllable */
  SAME_KEY("\xed\x95\x9c", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c");
  /* a mark with no letter before it adds nothing */
  SAME_KEY("\xcc\x81Jan", "Jan \xcc\x81", "jan");
}

static void test_name_letters_without_decomposition(void **state) {
  (void)state;
  SAME_KEY("Stra\xc3\x9f" "e", "STRA\xe1\xba\x9e" "E", "strasse");        /* ß, capital ẞ */
  SAME_KEY("S\xc3\xb8ren", "S\xc3\x98REN", "soren");                        /* ø, Ø */
  SAME_KEY("\xc5\x81ukasz", "\xc5\x82ukasz", "lukasz");                      /* Ł, ł */
  SAME_KEY("\xc3\x86lfred", "\xc3\xa6lfred", "aelfred");                     /* Æ, æ */
  SAME_KEY("\xc5\x92uvre", "\xc5\x93uvre", "oeuvre");                        /* Œ, œ */
  SAME_KEY("\xc4\x90or\xc4\x91" "e", "\xc4\x91or\xc4\x91" "e", "dorde");         /* Đ, đ */
  SAME_KEY("\xc3\x90\xc3\xb3ra", "\xc3\xb0\xc3\xb3ra", "dora");            /* Ð, ð */
  SAME_KEY("\xc3\x9e\xc3\xb3r", "\xc3\xbe\xc3\xb3r", "thor");              /* Þ, þ */
  SAME_KEY("Y\xc4\xb1ld\xc4\xb1z", "YILDIZ", "yildiz");                      /* ı */
  SAME_KEY("\xc4\xb0stanbul", "istanbul", "istanbul");                        /* İ */
  SAME_KEY("\xc4\xa6" "amrun", "\xc4\xa7" "amrun", "hamrun");                      /* Ħ, ħ */
  SAME_KEY("\xc5\xa6", "\xc5\xa7", "t");                                     /* Ŧ, ŧ */
  SAME_KEY("\xc5\x8a", "\xc5\x8b", "n");                                     /* Ŋ, ŋ */
  SAME_KEY("\xc4\xb8", "k", "k");                                             /* ĸ */
}

static void test_name_other_scripts_lower_case(void **state) {
  (void)state;
  /* Greek: "Σωκράτης", upper case with and without the accent; final sigma folds to sigma */
  SAME_KEY("\xce\xa3\xcf\x89\xce\xba\xcf\x81\xce\xac\xcf\x84\xce\xb7\xcf\x82",
           "\xce\xa3\xce\xa9\xce\x9a\xce\xa1\xce\x86\xce\xa4\xce\x97\xce\xa3",
           "\xcf\x83\xcf\x89\xce\xba\xcf\x81\xce\xb1\xcf\x84\xce\xb7\xcf\x83");
  /* a prefix as typed in lower case folds to the start of the name's key: "σωκ" */
  assert_string_equal(name("\xcf\x83\xcf\x89\xce\xba"), "\xcf\x83\xcf\x89\xce\xba");
  /* Cyrillic: "Дмитрий", "ДМИТРИЙ": й (U+0439) loses its breve */
  SAME_KEY("\xd0\x94\xd0\xbc\xd0\xb8\xd1\x82\xd1\x80\xd0\xb8\xd0\xb9",
           "\xd0\x94\xd0\x9c\xd0\x98\xd0\xa2\xd0\xa0\xd0\x98\xd0\x99",
           "\xd0\xb4\xd0\xbc\xd0\xb8\xd1\x82\xd1\x80\xd0\xb8\xd0\xb8");
  assert_string_equal(name("\xd0\xb4\xd0\xbc\xd0\xb8"), "\xd0\xb4\xd0\xbc\xd0\xb8"); /* "дми" */
  /* "Фёдор" and "Федор" */
  SAME_KEY("\xd0\xa4\xd1\x91\xd0\xb4\xd0\xbe\xd1\x80", "\xd0\xa4\xd0\xb5\xd0\xb4\xd0\xbe\xd1\x80",
           "\xd1\x84\xd0\xb5\xd0\xb4\xd0\xbe\xd1\x80");
  /* scripts without case are kept: "東京" */
  assert_string_equal(name("\xe6\x9d\xb1\xe4\xba\xac"), "\xe6\x9d\xb1\xe4\xba\xac");
}

static void test_name_compatibility_forms(void **state) {
  (void)state;
  SAME_KEY("\xef\xbc\xaa\xef\xbd\x81\xef\xbd\x8e", "JAN", "jan"); /* full-width "Ｊａｎ" */
  SAME_KEY("\xef\xac\x81lm", "film", "film");                     /* the "ﬁ" ligature */
  SAME_KEY("\xc4\xb2ssel", "ijssel", "ijssel");                     /* Ĳ */
  SAME_KEY("Para\xc5\x80lel", "parallel", "parallel");              /* ŀ: its middle dot is dropped */
  SAME_KEY("N\xc2\xba 1", "no 1", "no 1");                          /* º */
  /* a character that is not a letter or digit still separates, even if it decomposes */
  SAME_KEY("A\xe2\x80\xa6" "B", "a b", "a b");                     /* … */
}

static void test_name_punctuation_as_before(void **state) {
  (void)state;
  SAME_KEY("O'Neil", "O\xc2\xb4Neil", "oneil");       /* ´ used as an apostrophe */
  SAME_KEY("O\xca\xbcNeil", "O\xe2\x80\x98Neil", "oneil"); /* ʼ and ‘ */
  SAME_KEY("Jean-Luc", "Jean\xe2\x80\x90Luc", "jean luc");  /* hyphen-minus, hyphen */
  SAME_KEY("Jean\xe2\x80\x93Luc", "Jean\xc2\xa0Luc", "jean luc"); /* en dash, no-break space */
  SAME_KEY("\xc2\xab" "De Klok\xc2\xbb", "\xe2\x80\x9c" "De Klok" "\xe2\x80\x9d", "de klok");
  SAME_KEY("Caf\xc3\xa9 \xe2\x82\xac 5", "cafe 5", "cafe 5"); /* a symbol separates */
  SAME_KEY("Jansen\xe2\x80\x8b" "Bakker", "jansen bakker", "jansen bakker"); /* zero-width space */
}

static void test_truncation_is_utf8_safe(void **state) {
  (void)state;
  char small[6];
  /* "jo" + e-acute (2 bytes): the 2-byte character is never split */
  assert_int_equal(ps_norm_email("jo\xc3\xa9x@e.com", small, 4), 2);
  assert_string_equal(small, "jo");
  assert_int_equal(ps_norm_email("jo\xc3\xa9x@e.com", small, 5), 4);
  assert_string_equal(small, "jo\xc3\xa9");
  assert_int_equal(ps_norm_email("abc", small, 0), 0); /* nothing written */
  assert_int_equal(ps_norm_email("abc", small, 1), 0);
  assert_string_equal(small, "");
  assert_int_equal(ps_norm_phone("+31 6 1234 5678", NULL, small, sizeof small), 5);
  assert_string_equal(small, "31612");
  assert_int_equal(ps_norm_vat("123", "BE", small, 3), 2);
  assert_string_equal(small, "BE");
  assert_int_equal(ps_norm_name("Jansen Bakker", small, sizeof small), 5);
  assert_string_equal(small, "janse");
  /* no dangling separator when the next word does not fit */
  char seven[8];
  assert_int_equal(ps_norm_name("Jansen Bakker", seven, sizeof seven), 6);
  assert_string_equal(seven, "jansen");
  char nine[9];
  assert_int_equal(ps_norm_name("Jansen \xc3\xa9t", nine, sizeof nine), 8);
  assert_string_equal(nine, "jansen e");
  char name_out[4];
  assert_int_equal(ps_norm_name("\xd0\x9c\xd0\xb8\xd1\x80", name_out, sizeof name_out), 2);
  assert_string_equal(name_out, "\xd0\xbc");
  /* 3-byte characters: "東京" in 5 bytes keeps one */
  char six[6];
  assert_int_equal(ps_norm_name("\xe6\x9d\xb1\xe4\xba\xac", six, sizeof six), 3);
  assert_string_equal(six, "\xe6\x9d\xb1");
  /* a letter spelled with two ("ß" -> "ss") is cut between them, never inside a character */
  char three[3];
  assert_int_equal(ps_norm_name("a\xc3\x9f", three, sizeof three), 2);
  assert_string_equal(three, "as");
  /* decomposed input does not cost output room: the mark is gone before anything is written */
  char two[3];
  assert_int_equal(ps_norm_name("e\xcc\x81" "e\xcc\x81" "e\xcc\x81", two, sizeof two), 2);
  assert_string_equal(two, "ee");
  /* a long word (more code points than the word buffer) is written whole when there is room */
  enum { LONG = 5000 };
  char *in = malloc(2 * LONG + 1), *big = malloc(LONG + 1);
  assert_non_null(in);
  assert_non_null(big);
  for (int i = 0; i < LONG; i++) memcpy(in + 2 * i, "\xc3\xa9", 2);
  in[2 * LONG] = '\0';
  assert_int_equal(ps_norm_name(in, big, LONG + 1), LONG);
  for (int i = 0; i < LONG; i++) assert_int_equal(big[i], 'e');
  free(in);
  free(big);
}

static void test_invalid_bytes_dropped(void **state) {
  (void)state;
  /* inputs should be valid UTF-8; if not, the output still is */
  ps_norm_email("ja\xffn@x.nl", out, sizeof out);
  assert_string_equal(out, "jan@x.nl");
  ps_norm_name("Ja\xc3n", out, sizeof out);
  assert_string_equal(out, "jan");
  /* a truncated mark, a lone continuation byte, an encoded surrogate, an overlong slash */
  ps_norm_name("Je\xcc", out, sizeof out);
  assert_string_equal(out, "je");
  ps_norm_name("\xce\xa3\x80\xcf\x89", out, sizeof out);
  assert_string_equal(out, "\xcf\x83\xcf\x89");
  ps_norm_name("a\xed\xa0\x80" "b \xc0\xaf" "c", out, sizeof out);
  assert_string_equal(out, "ab c");
  assert_true(ps_utf8_valid(out, strlen(out)));
}

static void test_version(void **state) {
  (void)state;
  /* 2: NFC requests and utf8proc folding; 3: the word index's pair terms. Rows of an older
   * version need a reindex (normalize.h) */
  assert_int_equal(PS_NORM_VERSION, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_email),
      cmocka_unit_test(test_vat),
      cmocka_unit_test(test_phone),
      cmocka_unit_test(test_name),
      cmocka_unit_test(test_name_composed_and_decomposed),
      cmocka_unit_test(test_name_letters_without_decomposition),
      cmocka_unit_test(test_name_other_scripts_lower_case),
      cmocka_unit_test(test_name_compatibility_forms),
      cmocka_unit_test(test_name_punctuation_as_before),
      cmocka_unit_test(test_truncation_is_utf8_safe),
      cmocka_unit_test(test_invalid_bytes_dropped),
      cmocka_unit_test(test_version),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
