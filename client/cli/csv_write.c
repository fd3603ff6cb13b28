#include "csv_write.h"

#include <string.h>

void csv_writer_init(csv_writer_t *w, FILE *f, char sep) {
  w->f = f;
  w->sep = sep;
  w->in_row = 0;
  w->failed = 0;
}

static void put(csv_writer_t *w, const char *s, size_t n) {
  if (n && fwrite(s, 1, n, w->f) != n) w->failed = 1;
}

void csv_write_bom(csv_writer_t *w) { put(w, "\xEF\xBB\xBF", 3); }

void csv_write_field(csv_writer_t *w, const char *s) {
  if (w->in_row) put(w, &w->sep, 1);
  w->in_row = 1;
  if (!s || !*s) return;
  /* a text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is marked as text by
   * an apostrophe (CSV injection); the import takes it off again */
  int guard = csv_guarded(s);
  char special[5] = {w->sep, '"', '\r', '\n', '\0'};
  if (!strpbrk(s, special)) {
    if (guard) put(w, "'", 1);
    put(w, s, strlen(s));
    return;
  }
  put(w, guard ? "\"'" : "\"", guard ? 2 : 1);
  for (const char *p = s; *p;) {
    const char *q = strchr(p, '"');
    size_t n = q ? (size_t)(q - p) + 1 : strlen(p); /* through the quote, which is then doubled */
    put(w, p, n);
    if (q) put(w, "\"", 1);
    p += n;
  }
  put(w, "\"", 1);
}

int csv_guarded(const char *s) {
  if (!s || !s[0]) return 0;
  if (s[0] == '\'') return csv_guarded(s + 1); /* so that the import's unmarking is exact */
  return strchr("=+-@\t\r", s[0]) != NULL;
}

void csv_end_record(csv_writer_t *w) {
  put(w, "\r\n", 2);
  w->in_row = 0;
}

int csv_failed(const csv_writer_t *w) { return w->failed || ferror(w->f); }
