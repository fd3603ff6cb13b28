/* A CSV writer after RFC 4180, as spreadsheets in this region read it: fields separated by sep
 * (';' for Excel with a comma as decimal mark), records ended by CRLF, a field quoted when it holds
 * the separator, a double quote, CR or LF (quotes inside doubled), UTF-8 text as it is, and an
 * optional byte order mark so that Excel takes the file as UTF-8. Writes to a stdio stream;
 * failures are sticky (check csv_failed at the end). */
#ifndef PSC_CLI_CSV_WRITE_H
#define PSC_CLI_CSV_WRITE_H

#include <stdio.h>

typedef struct csv_writer {
  FILE *f;
  char sep;     /* field separator */
  int in_row;   /* a field of the current record was written */
  int failed;   /* a write failed */
} csv_writer_t;

void csv_writer_init(csv_writer_t *w, FILE *f, char sep);

/* Writes the UTF-8 byte order mark (EF BB BF): call first, once. */
void csv_write_bom(csv_writer_t *w);

/* Appends one field to the current record (s NULL: an empty field). A text that starts with one
 * of = + - @ tab CR, which a spreadsheet would take as a formula ("+32 2 123 45 67" included), is
 * written with an apostrophe in front: a spreadsheet shows it as text and runs nothing. */
void csv_write_field(csv_writer_t *w, const char *s);

/* 1 when csv_write_field puts an apostrophe before s: s starts with one of = + - @ tab CR, or
 * with apostrophes followed by one ("'=x" is written "''=x", so that the import, which takes one
 * apostrophe off such a text, reads back what was written). */
int csv_guarded(const char *s);

/* Ends the current record (CRLF). */
void csv_end_record(csv_writer_t *w);

/* 1 when a write failed. */
int csv_failed(const csv_writer_t *w);

#endif /* PSC_CLI_CSV_WRITE_H */
