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
  char special[5] = {w->sep, '"', '\r', '\n', '\0'};
  if (!strpbrk(s, special)) {
    put(w, s, strlen(s));
    return;
  }
  put(w, "\"", 1);
  for (const char *p = s; *p;) {
    const char *q = strchr(p, '"');
    size_t n = q ? (size_t)(q - p) + 1 : strlen(p); /* through the quote, which is then doubled */
    put(w, p, n);
    if (q) put(w, "\"", 1);
    p += n;
  }
  put(w, "\"", 1);
}

void csv_end_record(csv_writer_t *w) {
  put(w, "\r\n", 2);
  w->in_row = 0;
}

int csv_failed(const csv_writer_t *w) { return w->failed || ferror(w->f); }
