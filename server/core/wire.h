/* Checks on a request's wire bytes that protobuf-c cannot make after decoding: it hands strings
 * over NUL-terminated and drops their length, so a string with a NUL byte inside would silently be
 * cut short. Walking the wire format once, guided by the message descriptor, finds every string
 * field (nested messages included) that holds a NUL byte or is not valid UTF-8. */
#ifndef PS_CORE_WIRE_H
#define PS_CORE_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ps_wire_problem {
  PS_WIRE_OK = 0,
  PS_WIRE_NUL = 1,       /* a string field holds a NUL byte */
  PS_WIRE_BAD_UTF8 = 2,  /* a string field is not valid UTF-8 */
  PS_WIRE_MALFORMED = 3, /* the bytes are not a valid encoding (protobuf-c would refuse them too) */
} ps_wire_problem_t;

/* Reads one base-128 varint at *p (before end) and advances *p. 0, or -1 when it is truncated or
 * longer than 10 bytes. */
int ps_wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret);

/* Walks buf as a message of type d. Returns PS_WIRE_OK, or the first problem found with the
 * field's path ("prospect.address.city") in ret_path (truncated to pathsz). Unknown fields are
 * skipped. Nesting deeper than 32 levels is PS_WIRE_MALFORMED. */
ps_wire_problem_t ps_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                        size_t len, char *ret_path, size_t pathsz);

#endif
