/* Version 1 of the name key and search words (PS_NORM_VERSION 1, core/normalize.h), kept only while
 * rows written by it may remain: until the background reindex (server/reindex.c) has rebuilt every
 * row with the current version, the overview query and the duplicate check also look a query's
 * words and a subject's name key up in this form, so that a row not rebuilt yet is still matched as
 * it was before ("until a row is rebuilt it is matched the old way"). Delete this file together
 * with those lookups once no database of any deployment can hold rows of version 1.
 *
 * Thread-safe. */
#ifndef PS_CORE_NORMALIZE_V1_H
#define PS_CORE_NORMALIZE_V1_H

#include <stddef.h>

/* ps_norm_name as version 1 wrote it, byte for byte (the code of that version, unchanged): ASCII
 * letters lower case; Latin-1 and Latin Extended-A letters (U+00C0..U+017F) folded by a table to
 * ASCII ("Jérôme" -> "jerome", "Łukasz" -> "lukasz", "ß" -> "ss"); every other code point kept as
 * written, upper case and combining marks included ("Ștefan" with U+0218 -> "Ștefan", "Мир" ->
 * "Мир"); '.', apostrophes and the acute accent dropped inside a word; other punctuation, symbols
 * and U+2000..U+206F separating words; the same legal forms left out as version 2. Writes at most
 * outsz - 1 bytes and a NUL, cut on a character boundary; invalid UTF-8 bytes are dropped. Returns
 * the length. */
size_t ps_norm_name_v1(const char *name, char *out, size_t outsz);

/* Whether rows of an older version than PS_NORM_VERSION may still exist: then lookups must also
 * try the version-1 forms, and the listing must not rely on the pair terms of version 3. Starts at
 * 1 (not known yet: assume so); the reindex thread sets it from its job row (0 once the job that
 * builds PS_NORM_VERSION has finished) and keeps it current. One relaxed atomic load:
 * nothing else is done on the request path once it is 0. */
int ps_norm_v1_in_use(void);
void ps_norm_v1_set_in_use(int in_use);

#endif
