/* Checks on a request's wire bytes that protobuf-c cannot make after decoding, made before it
 * decodes anything:
 * - it hands strings over NUL-terminated and drops their length, so a string with a NUL byte
 *   inside would silently be cut short; every string field (nested messages included) must hold
 *   neither a NUL byte nor invalid UTF-8;
 * - it allocates every element of a repeated field and every unknown field before a handler can
 *   count them, so a small request could cost much memory: their counts are capped here. */
#ifndef PS_CORE_WIRE_H
#define PS_CORE_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ps_wire_problem {
  PS_WIRE_OK = 0,
  PS_WIRE_NUL = 1,         /* a string field holds a NUL byte */
  PS_WIRE_BAD_UTF8 = 2,    /* a string field is not valid UTF-8 */
  PS_WIRE_MALFORMED = 3,   /* the bytes are not a valid encoding (protobuf-c would refuse them too) */
  PS_WIRE_TOO_MANY = 4,    /* a repeated field holds more values than its limit */
  PS_WIRE_TOO_MANY_UNKNOWN = 5, /* more unknown fields than the rules allow */
} ps_wire_problem_t;

/* The cap on one repeated field: at most max values in one message of type message. */
typedef struct ps_wire_limit {
  const ProtobufCMessageDescriptor *message;
  unsigned field;      /* the field's number */
  size_t max;
  const char *reason;  /* the ErrorInfo reason to refuse with (NULL: the caller's default) */
} ps_wire_limit_t;

/* What the walk enforces beyond strings. */
typedef struct ps_wire_rules {
  const ps_wire_limit_t *limits;  /* caps of particular fields */
  size_t n_limits;
  size_t default_max_repeated;    /* cap of every other repeated field (0: none) */
  size_t max_unknown;             /* unknown fields allowed in the whole request (0: none) */
  int unknown_unlimited;          /* 1: unknown fields are not counted at all */
} ps_wire_rules_t;

/* Reads one base-128 varint at *p (before end) and advances *p. 0, or -1 when it is truncated or
 * longer than 10 bytes. */
int ps_wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret);

/* Walks buf as a message of type d under rules (NULL: strings only). Returns PS_WIRE_OK, or the
 * first problem found with the field's path ("prospect.address.city") in ret_path (truncated to
 * pathsz); for PS_WIRE_TOO_MANY, *ret_hit (when not NULL) gets the cap that was passed (reason NULL
 * for the default cap). PS_WIRE_MALFORMED also stands for nesting deeper than 32 levels, a field
 * number outside 1..2^29-1 (which protobuf-c would keep as an unknown field), and, under rules, a
 * singular message field given more than once in one message (protobuf-c would merge the copies,
 * adding up their repeated fields past the caps). Pure; reads buf only. */
ps_wire_problem_t ps_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                                const ps_wire_rules_t *rules, char *ret_path, size_t pathsz,
                                ps_wire_limit_t *ret_hit);

/* ps_wire_check with no rules: strings only, unknown fields skipped. */
ps_wire_problem_t ps_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                        size_t len, char *ret_path, size_t pathsz);

#endif
