/* A small JSON reader (RFC 8259, into a tree) and a growable output buffer, for prospectctl.
 * Internal to the CLI (no JSON library is a dependency of the project). */
#ifndef PSC_CLI_JSON_H
#define PSC_CLI_JSON_H

#include <stddef.h>

typedef enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type_t;

/* A parsed value. Freed as a whole with json_free() on the root. */
typedef struct json {
  json_type_t type;    /* which of the fields below is used */
  int boolean;         /* JSON_BOOL: 0 or 1 */
  char *str;           /* JSON_STRING: decoded UTF-8 (never contains NUL); JSON_NUMBER: its literal text */
  size_t n;            /* JSON_ARRAY / JSON_OBJECT: number of items */
  struct json **items; /* JSON_ARRAY / JSON_OBJECT: the values, in order */
  char **keys;         /* JSON_OBJECT: the keys (decoded UTF-8), in order */
  size_t line, col;    /* where the value starts in the text (1-based), for error messages */
} json_t;

/* Parses the NUL-terminated text (one value, surrounded by optional white space). On success
 * *ret is a new tree the caller frees with json_free() and 0 is returned; on failure -1 and err
 * (size errlen) says what and where; *ret untouched. Nesting is limited to 100 levels. */
int json_parse(const char *text, size_t len, json_t **ret, char *err, size_t errlen);

/* Frees a tree from json_parse(). NULL is fine. */
void json_free(json_t *v);

/* The value of key in object o, or NULL. */
const json_t *json_get(const json_t *o, const char *key);

/* A growable string. Zero-initialise; free buf with free(). After an allocation failure `failed`
 * is set and later appends do nothing. */
typedef struct sbuf {
  char *buf;   /* NUL-terminated contents (NULL while empty) */
  size_t len;  /* bytes used, without the NUL */
  size_t cap;  /* bytes allocated */
  int failed;  /* an allocation failed */
} sbuf_t;

void sb_append(sbuf_t *sb, const char *s, size_t n);
void sb_puts(sbuf_t *sb, const char *s);
void sb_printf(sbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (n bytes) as a quoted JSON string, escaping what JSON requires. The result is always
 * valid UTF-8: each byte of s that is not part of a valid UTF-8 sequence becomes U+FFFD. */
void sb_json_string(sbuf_t *sb, const char *s, size_t n);

#endif /* PSC_CLI_JSON_H */
