/* Field validation. Every check names the field (a path such as "prospect.address.city") in an
 * INVALID_ARGUMENT status (ps_fail_field) and returns -1; 0 when the value is acceptable.
 * Lengths count Unicode code points, not bytes. Requests reach the checks in NFC (ps_dispatch_decode,
 * core/unicode.h), so a limit counts the code points of the text as it is stored: "é" is one
 * character whether the caller sent U+00E9 or "e" + U+0301. Empty strings pass the optional checks. */
#ifndef PS_CORE_VALIDATE_H
#define PS_CORE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF), else 0. */
int ps_utf8_valid(const char *s, size_t n);

/* Code points in a valid UTF-8 string. */
size_t ps_utf8_chars(const char *s);

/* Decodes one well-formed UTF-8 sequence from s[0..n) into *ret_cp and returns its length (1-4);
 * 0 (ret_cp untouched) when n is 0 or s does not start with a well-formed sequence. Added for the
 * normalizers and message helpers, which walk strings code point by code point. */
size_t ps_utf8_decode(const char *s, size_t n, uint32_t *ret_cp);

/* Size of the buffer ps_quote writes. */
#define PS_QUOTE_SIZE 128

/* A bounded, printable rendering of s for echoing user input inside a message (without the
 * surrounding quotes): at most the first 64 bytes of s, cut on a character boundary; control
 * characters, invalid UTF-8 bytes, '"' and '\\' escaped C-style; "..." appended when cut. NULL
 * renders as "". Returns out, so it can be a printf argument. Thread-safe (no shared state). Added
 * so that names and validation never echo huge or binary input. */
const char *ps_quote(const char *s, char out[PS_QUOTE_SIZE]);

/* 1 when s (NULL allowed) has a character other than space or tab, else 0. */
int ps_has_text(const char *s);

/* Valid UTF-8, at most max_chars code points, no control characters (tab and newline allowed only
 * when multiline). required: empty is refused ("is required"). */
int ps_check_text(const char *v, const char *field, size_t max_chars, int required, int multiline,
                  ps_status_t *st);

/* Optional e-mail: local@domain, one @, no spaces, a dot in the domain, at most 254 chars. */
int ps_check_email(const char *v, const char *field, ps_status_t *st);

/* Optional ISO 3166-1 alpha-2 country code (assigned codes, upper case). */
int ps_check_country(const char *v, const char *field, ps_status_t *st);

/* Optional BCP 47 language tag, shape only: 2-3 letter language, then -subtags of 1-8 alphanumerics,
 * at most 35 chars. */
int ps_check_language(const char *v, const char *field, ps_status_t *st);

/* Optional phone: digits, spaces, and + ( ) - . / only, a leading + at most, 3-32 chars, at least
 * 3 digits. */
int ps_check_phone(const char *v, const char *field, ps_status_t *st);

/* Optional website: printable ASCII without spaces, at most 255 chars. */
int ps_check_website(const char *v, const char *field, ps_status_t *st);

/* Request id: 1-64 characters of [A-Za-z0-9_.:-]. required: empty is refused. */
int ps_check_request_id(const char *v, const char *field, int required, ps_status_t *st);

/* page_size: negative refused; 0 gives def; above max gives max. *ret set on success. */
int ps_check_page_size(int32_t v, const char *field, int32_t def, int32_t max, int32_t *ret,
                       ps_status_t *st);

#endif
