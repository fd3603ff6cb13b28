/* prospectctl's CSV writer (client/cli/csv_write.c): RFC 4180 quoting with ';', CRLF, the BOM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_write.h"

static int failures;

/* What the writer made of fields[0..n) as one record (after a BOM when bom). */
static void check(const char *const *fields, int n, int bom, const char *want, size_t want_len) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    failures++;
    return;
  }
  csv_writer_t w;
  csv_writer_init(&w, f, ';');
  if (bom) csv_write_bom(&w);
  for (int i = 0; i < n; i++) csv_write_field(&w, fields[i]);
  csv_end_record(&w);
  int failed = csv_failed(&w);
  fclose(f);
  if (failed || len != want_len || memcmp(buf, want, len) != 0) {
    fprintf(stderr, "FAIL: got [%.*s], want [%.*s]\n", (int)len, buf, (int)want_len, want);
    failures++;
  }
  free(buf);
}

#define CHECK(fields, bom, want) \
  check(fields, (int)(sizeof fields / sizeof fields[0]), bom, want, sizeof want - 1)

int main(void) {
  const char *plain[] = {"a", "", NULL, "Zoë Çelik"};
  CHECK(plain, 0, "a;;;Zoë Çelik\r\n");
  const char *quoted[] = {"semi;colon", "say \"hi\"", "two\nlines", "cr\rhere", "\"", "x"};
  CHECK(quoted, 0, "\"semi;colon\";\"say \"\"hi\"\"\";\"two\nlines\";\"cr\rhere\";\"\"\"\";x\r\n");
  const char *comma[] = {"a,b", " lead"}; /* ',' is data when ';' separates */
  CHECK(comma, 1, "\xEF\xBB\xBF" "a,b; lead\r\n");
  const char *empty[] = {NULL};
  CHECK(empty, 0, "\r\n");
  /* what a spreadsheet would run as a formula is marked as text; the marked text keeps its quotes */
  const char *formula[] = {"=1+1", "+32 2 123 45 67", "-x", "@SUM(A1)", "\tx", "a=b", "'=x"};
  CHECK(formula, 0, "'=1+1;'+32 2 123 45 67;'-x;'@SUM(A1);'\tx;a=b;''=x\r\n");
  const char *apostrophe[] = {"'plain", "''", "'"};
  CHECK(apostrophe, 0, "'plain;'';'\r\n");
  const char *formula_quoted[] = {"=HYPERLINK(\"x\";\"y\")"};
  CHECK(formula_quoted, 0, "\"'=HYPERLINK(\"\"x\"\";\"\"y\"\")\"\r\n");
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
