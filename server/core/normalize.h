/* Normal forms used to find duplicates (SPEC: duplicate check). Each writes a NUL-terminated
 * string of at most outsz-1 bytes into out (truncated to fit) and returns its length; an input with
 * nothing to keep gives "". Inputs are valid UTF-8. */
#ifndef PS_CORE_NORMALIZE_H
#define PS_CORE_NORMALIZE_H

#include <stddef.h>

/* E-mail: trimmed, ASCII lower case ("  Jan@Example.COM " -> "jan@example.com"). */
size_t ps_norm_email(const char *email, char *out, size_t outsz);

/* VAT number: spaces, dots and dashes removed, upper case; a missing country prefix is taken from
 * country_code when given ("123.456.789" with "BE" -> "BE123456789"; "nl 0012 b01" -> "NL0012B01"). */
size_t ps_norm_vat(const char *vat, const char *country_code, char *out, size_t outsz);

/* Phone: digits only with the country code: "+31 6 1234 5678" and "0031 6 12345678" ->
 * "31612345678"; a national number ("06 12345678") gets the calling code of country_code when
 * known (leading 0 trunk prefix dropped). */
size_t ps_norm_phone(const char *phone, const char *country_code, char *out, size_t outsz);

/* Name key for "very similar name": lower case, accents folded for Latin-1/Latin Extended-A
 * letters, punctuation dropped, whitespace collapsed, common company forms removed (bv, b.v.,
 * nv, vof, bvba, gmbh, ltd, llc, inc, sa, sarl, srl) ("Jansen B.V." -> "jansen"). */
size_t ps_norm_name(const char *name, char *out, size_t outsz);

#endif
