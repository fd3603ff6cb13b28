/* JSON <-> protobuf-c messages, driven by ProtobufCMessageDescriptor, after the proto3 JSON
 * mapping: lowerCamelCase names on output (both names accepted on input), enums by name (numbers
 * accepted), 64-bit integers as strings (numbers accepted), bytes as base64, Timestamp as RFC 3339,
 * Duration as "1.5s", FieldMask as "a,b.c", default values left out on output. */
#ifndef PSC_CLI_PBJSON_H
#define PSC_CLI_PBJSON_H

#include <protobuf-c/protobuf-c.h>

#include "json.h"

/* Builds a message of type d from the JSON value v (an object). On success *ret is a new message
 * the caller frees with protobuf_c_message_free_unpacked(*ret, NULL) and 0 is returned; on failure
 * -1, err says which field and why, *ret untouched. */
int pbjson_to_message(const ProtobufCMessageDescriptor *d, const json_t *v, ProtobufCMessage **ret,
                      char *err, size_t errlen);

/* Appends m as JSON to out; indent > 0 pretty-prints with that many spaces per level, 0 gives one
 * line. Check out->failed afterwards. */
void pbjson_from_message(const ProtobufCMessage *m, sbuf_t *out, int indent);

/* The JSON name of a proto field name ("postal_code" -> "postalCode") into out (size n). */
void pbjson_camel(const char *name, char *out, size_t n);

#endif /* PSC_CLI_PBJSON_H */
