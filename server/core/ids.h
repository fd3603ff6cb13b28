/* Record ids: UUIDv7 (time-ordered, random), stored as BINARY(16), printed as lowercase
 * 8-4-4-4-12 text in resource names. Sorting ids sorts by creation time (ms). */
#ifndef PS_CORE_IDS_H
#define PS_CORE_IDS_H

#include <stddef.h>

#define PS_ID_TEXT_LEN 36

typedef struct ps_id {
  unsigned char b[16]; /* big-endian UUID bytes, as stored in MySQL */
} ps_id_t;

/* A new UUIDv7 from the current time and getrandom(). Thread-safe; ids made by one process within
 * one millisecond still sort in creation order. 0, or -1 if no randomness could be had. */
int ps_id_new(ps_id_t *ret_id);

/* Writes the 36-character lowercase text form and a NUL into out. */
void ps_id_format(const ps_id_t *id, char out[PS_ID_TEXT_LEN + 1]);

/* Parses exactly n characters of 8-4-4-4-12 hex (either case). 0, or -1 (ret_id untouched). */
int ps_id_parse(const char *s, size_t n, ps_id_t *ret_id);

#endif
