/* The method table of prospects.v1.ProspectService: the gRPC path, message descriptors and handler
 * of every RPC in the proto. Built from the generated service descriptor, so a method added to the
 * proto is served (as UNIMPLEMENTED until it has a handler) without touching the transport. */
#ifndef PS_DISPATCH_H
#define PS_DISPATCH_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "service/ctx.h"

typedef struct ps_method {
  char path[128];                             /* "/prospects.v1.ProspectService/GetProspect" */
  const char *name;                           /* "GetProspect" */
  const ProtobufCMessageDescriptor *request;  /* request message type */
  const ProtobufCMessageDescriptor *response; /* response message type */
  ps_handler_fn handler;                      /* NULL: answered with UNIMPLEMENTED */
  ps_stream_handler_fn stream_handler;        /* server-streaming methods (handler NULL) */
  size_t max_request_bytes;                   /* largest request accepted (checked before decoding) */
  int failed_counter;                         /* a ps_counter_t to count when a call fails (-1) */
  int batch_key;                              /* > 0: its calls waiting at the same moment may be
                                                 read together with those of the methods of the
                                                 same key (ps_dispatch_prefetch); 0: never */
} ps_method_t;

/* Requests of most methods are a few names and ids; the methods that carry a record with its notes
 * need more. Every method's cap is at most PS_DISPATCH_MAX_REQUEST_BYTES. */
#define PS_DISPATCH_SMALL_REQUEST_BYTES 4096
#define PS_DISPATCH_MAX_REQUEST_BYTES 65536

/* Repeated fields of a request hold at most this many values unless the method's rules say
 * otherwise, and a request holds at most this many fields unknown to this server. */
#define PS_DISPATCH_MAX_REPEATED 64
#define PS_DISPATCH_MAX_UNKNOWN_FIELDS 64

/* The table (built once, thread-safe) and its length. */
const ps_method_t *ps_dispatch_methods(size_t *ret_n);

/* The method whose path ("/prospects.v1.ProspectService/GetProspect") is path[0..n), or NULL. */
const ps_method_t *ps_dispatch_find(const char *path, size_t n);

/* Turns a request's wire bytes into m's request message, refusing before anything is decoded what
 * must not be: a request larger than the method's cap (RESOURCE_EXHAUSTED, REQUEST_TOO_LARGE), a
 * string with a NUL byte or invalid UTF-8 (INVALID_ARGUMENT naming the field), a repeated field with
 * too many values (INVALID_ARGUMENT, the field's reason), too many unknown fields or bytes that are
 * not the message (INVALID_ARGUMENT, MALFORMED_REQUEST). The message is unpacked into arena and
 * every string in it put in NFC (core/unicode.h), so handlers only ever see NFC text; when the
 * arena's budget runs out it is RESOURCE_EXHAUSTED (CALL_MEMORY_EXCEEDED). 0 with *ret set, or -1
 * with st set. Thread-safe (the arena is the caller's). */
int ps_dispatch_decode(const ps_method_t *m, const uint8_t *buf, size_t len, ps_arena_t *arena,
                       ProtobufCMessage **ret, ps_status_t *st);

/* What a decoded request says about itself, for the access log: the tenant of its resource name
 * (the first of parent, name, target, or the name of its first message field) and its request_id,
 * each "" when absent or not well-formed (they are logged, so only valid ids are copied). */
void ps_dispatch_describe(const ProtobufCMessage *req, char tenant[64], char request_id[65]);

/* Reads ahead, with one statement, the records that a batch of decoded requests of methods with
 * the same batch_key will ask for (service/prefetch.h); their handlers, with ctx->prefetch set to
 * the result (in ctx's arena), answer from it. NULL when there was no memory for it (then each
 * handler reads on its own). */
const struct ps_prefetch *ps_dispatch_prefetch(ps_ctx_t *ctx, const ProtobufCMessage *const *reqs,
                                               size_t n);

/* Sets st for a call that ran out of its memory budget (RESOURCE_EXHAUSTED, CALL_MEMORY_EXCEEDED).
 * Returns -1. */
int ps_dispatch_fail_memory(ps_status_t *st);

#endif
