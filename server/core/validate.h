/* Field validation. Every check names the field (a path such as "prospect.address.city") in an
 * INVALID_ARGUMENT status (ps_fail_field) and returns -1; 0 when the value is acceptable.
 * Lengths count Unicode code points, not bytes. Empty strings pass the optional checks. */
#ifndef PS_CORE_VALIDATE_H
#define PS_CORE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF), else 0. */
int ps_utf8_valid(const char *s, size_t n);

/* Code points in a valid UTF-8 string. */
size_t ps_utf8_chars(const char *s);

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
