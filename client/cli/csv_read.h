/* A CSV reader for files as spreadsheets write them (RFC 4180 and what Excel does in Belgium and
 * the Netherlands): UTF-8 with or without a byte order mark, `;` or `,` between fields (told apart
 * on the header line), fields in double quotes with "" for a quote and line breaks inside, CRLF or
 * LF line ends. Reads from a buffer the caller keeps; no I/O. */
#ifndef CTL_CSV_READ_H
#define CTL_CSV_READ_H

#include <stddef.h>

typedef struct csv_reader {
  const char *p, *end;  /* what is left of the input */
  char sep;             /* ';' or ',' (set by csv_reader_init from the header line) */
  long line;            /* the line the next record starts on, from 1 */
  char *buf;            /* the current record's field texts, NUL-terminated one after the other */
  size_t buf_cap;
  char **fields;        /* the current record's fields, pointing into buf */
  size_t n_fields, fields_cap;
} csv_reader_t;

/* Prepares r to read data[0..len): skips a UTF-8 BOM and picks the separator: the one of `;` and
 * `,` that occurs more often outside quotes on the first line (`,` when neither does). */
void csv_reader_init(csv_reader_t *r, const char *data, size_t len);

/* Reads the next record into r->fields / r->n_fields (unquoted, "" unescaped, CRLF inside quotes
 * kept as written); *ret_line is the line it starts on. A line end of CRLF or LF ends a record;
 * an empty line is a record of one empty field. 1: a record; 0: end of input; -1: out of memory;
 * -2: a quoted field never ends (the rest of the input is that field). */
int csv_next(csv_reader_t *r, long *ret_line);

/* Frees the reader's buffers (not the input). */
void csv_reader_free(csv_reader_t *r);

/* 1 when s[0..n) is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). */
int csv_utf8_valid(const char *s, size_t n);

#endif
