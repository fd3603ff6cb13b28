/* Request text in Unicode Normalization Form C (NFC, UAX #15), so that the same words are the same
 * bytes however a caller's keyboard or operating system composed them: "Jérôme" typed on one
 * machine (U+00E9, U+00F4) and pasted from another (e + U+0301, o + U+0302) are stored, compared,
 * searched, fingerprinted and shown as one string.
 *
 * Where it happens: ps_dispatch_decode runs ps_nfc_message on every request right after unpacking
 * it, before the handler sees it. So every string field of every request (records, contact persons,
 * document links and their party snapshots, intake, update masks, queries, names) is NFC by the
 * time it is validated, and the validators' length limits count the code points of the NFC text,
 * which is also what is stored. Built on utf8proc (Debian's libutf8proc, Unicode 15 in 2.8).
 * Thread-safe: each thread has its own scratch buffer; memory comes from the caller's arena. */
#ifndef PS_CORE_UNICODE_H
#define PS_CORE_UNICODE_H

#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"

/* The NFC form of s (NUL-terminated) in *ret: s itself when it is already NFC (every ASCII string
 * is) or NULL or not valid UTF-8 (left for the validators to refuse), else a copy in arena a. NFC
 * may change the length in bytes and in code points (usually shorter: a letter and its combining
 * mark become one code point). 0, or -1 when the arena is out of memory (*ret untouched). */
int ps_nfc(ps_arena_t *a, const char *s, const char **ret);

/* Replaces every string field of msg, nested messages and repeated fields included (oneof members
 * only when set), by its NFC form (ps_nfc). The new strings live in a, as protobuf-c's unpacked
 * strings do when msg was unpacked into a; a string that is already NFC is left where it is.
 * 0, or -1 when the arena is out of memory (then msg may be partly normalized). */
int ps_nfc_message(ps_arena_t *a, ProtobufCMessage *msg);

#endif
