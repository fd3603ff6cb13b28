/* Normal forms used to find duplicates (SPEC: duplicate check) and the words of the overview's
 * search. Each writes a NUL-terminated string of at most outsz-1 bytes into out and returns its
 * length; an input with nothing to keep gives "". The output is valid UTF-8: it is cut on a
 * character boundary when it does not fit, and input bytes that are not valid UTF-8 are dropped.
 * Inputs are normally NFC already (requests are put in NFC when decoded: core/unicode.h), but
 * composed and decomposed input give the same name key. Thread-safe. */
#ifndef PS_CORE_NORMALIZE_H
#define PS_CORE_NORMALIZE_H

#include <stddef.h>

/* The version of these normal forms and of the word index built from them (store/search.h). A
 * change to what any of them produces for some input (a new folding rule, another legal form, a
 * newer Unicode in utf8proc that folds a new letter), or to the terms the index holds for a record,
 * must increase it, so that rows whose keys and word index were written by an older version can be
 * found and rebuilt instead of silently missed.
 *   1: names folded by hand for Latin-1 and Latin Extended-A only; other scripts kept as written,
 *      combining marks included; no NFC of request text.
 *   2: requests in NFC; names folded with utf8proc (Unicode 15.0 in Debian 12's utf8proc 2.8):
 *      compatibility decomposition, full case folding, marks stripped, the letters of the table in
 *      normalize.c spelled out; letters and digits of every script kept, everything else but
 *      apostrophes and full stops separating words.
 *   3: the forms of 2; the word index also holds pair terms (store/search.h, "Pairs"). */
#define PS_NORM_VERSION 3

/* E-mail: trimmed, ASCII lower case ("  Jan@Example.COM " -> "jan@example.com"). */
size_t ps_norm_email(const char *email, char *out, size_t outsz);

/* VAT number: spaces, dots and dashes removed, upper case; a missing country prefix is taken from
 * country_code when given ("123.456.789" with "BE" -> "BE123456789"; "nl 0012 b01" -> "NL0012B01"). */
size_t ps_norm_vat(const char *vat, const char *country_code, char *out, size_t outsz);

/* Phone: digits only with the country code: "+31 6 1234 5678" and "0031 6 12345678" ->
 * "31612345678"; a national number ("06 12345678") gets the calling code of country_code when
 * known (leading 0 trunk prefix dropped). */
size_t ps_norm_phone(const char *phone, const char *country_code, char *out, size_t outsz);

/* Name key for "very similar name", and the words of the overview's search (store/search.c):
 * words of letters and digits of any script, separated by one space, folded so that the ways people
 * write one name agree:
 * - full Unicode case folding: "JANSEN" -> "jansen", "Σωκράτης" -> "σωκρατησ", "Дмитрий" -> "дмитрии";
 * - accents and other marks stripped, composed or not: "Ștefan" -> "stefan", "Nguyễn" -> "nguyen",
 *   "Hélène" composed or decomposed (e + U+0301) -> "helene";
 * - compatibility forms as plain letters and digits: "ﬁ" -> "fi", "Ĳ" -> "ij", "Ｊａｎ" -> "jan";
 * - letters without a decomposition as their usual Latin spelling: ß -> ss, æ -> ae, œ -> oe,
 *   ø -> o, ł -> l, đ -> d, ð -> d, þ -> th, ı -> i, ħ -> h, ŧ -> t, ŋ -> n, ĸ -> k (upper case
 *   alike);
 * - full stops and apostrophes (' ’ ‘ ‛ ´ ` ʼ) dropped inside a word ("B.V." -> "bv", "O'Neil" ->
 *   "oneil"); every other character (spaces, hyphens, other punctuation, symbols) separates words
 *   ("Jean-Luc" -> "jean luc");
 * - common company forms removed as whole words (bv, b.v., nv, vof, bvba, gmbh, ltd, llc, inc, sa,
 *   sarl, srl): "Jansen B.V." -> "jansen".
 * Folding works character by character, so the start of a word folds to the start of the word's
 * folded form: lower-case prefixes find names in every script ("σωκ" finds "Σωκράτης", "дми" finds
 * "Дмитрий"). */
size_t ps_norm_name(const char *name, char *out, size_t outsz);

#endif
