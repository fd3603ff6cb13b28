/* What a handler gets: the call's status, memory, this worker's connections and the caller's
 * identity. Handlers are plain functions `int h(ps_ctx_t *, const Req *, Resp **ret)`: they return 0
 * with *ret set (built in ctx->arena), or -1 with ctx->status set. No gRPC in here. */
#ifndef PS_SERVICE_CTX_H
#define PS_SERVICE_CTX_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/status.h"

struct ps_db;    /* store/db.h: this worker's MySQL connection */
struct ps_cache; /* cache/redis.h: this worker's Redis connection */
struct ps_prefetch; /* service/prefetch.h: records read for a batch of calls */

typedef struct ps_ctx {
  ps_status_t status;      /* set by the handler on failure */
  ps_arena_t *arena;       /* per-call memory, reset after the reply is sent */
  struct ps_db *db;        /* this worker's MySQL connection (never shared) */
  struct ps_cache *cache;  /* this worker's Redis connection (never shared); may be down */
  int64_t deadline_ms;     /* the caller's deadline, CLOCK_REALTIME ms; INT64_MAX if none */
  const char *caller;      /* the calling service: the identity of its verified client certificate
                              (SPIFFE ID, else DNS name); "" on a plaintext server */
  const char *actor;       /* the acting user the caller claims (x-acting-user), "" when not given */
  size_t max_reply_bytes;  /* pages of List methods end before their reply passes this (0: no cap) */
  int outcome;             /* set by a handler that succeeded: what it did, a ps_counter_t
                              (core/counters.h) that the transport counts; -1: nothing to count */
  const struct ps_prefetch *prefetch; /* the batch read this call is part of; NULL: none */
} ps_ctx_t;

/* The byte cap of one page: items are added while the reply stays under max (the first item is
 * always added, so a page never comes back empty while items remain). */
typedef struct ps_reply_budget {
  size_t max;   /* bytes the items of the page may take */
  size_t used;  /* bytes taken so far */
} ps_reply_budget_t;

static inline void ps_reply_budget_init(ps_reply_budget_t *b, size_t max) {
  b->max = max > 1024 ? max - 1024 : (max ? max : SIZE_MAX); /* room for the page token */
  b->used = 0;
}

/* Takes item number index of the page: 1 when it fits, 0 when the page must end before it. */
static inline int ps_reply_budget_take(ps_reply_budget_t *b, const ProtobufCMessage *item,
                                       int index) {
  size_t n = protobuf_c_message_get_packed_size(item) + 6; /* + field tag and length */
  if (index > 0 && n > b->max - (b->used < b->max ? b->used : b->max)) return 0;
  b->used += n;
  return 1;
}

/* The generic handler shape the method table stores. */
typedef int (*ps_handler_fn)(ps_ctx_t *ctx, const ProtobufCMessage *req, ProtobufCMessage **ret_resp);

/* Where a server-streaming handler puts its messages: `int h(ps_ctx_t *, const Req *, ps_stream_t *)`
 * returns 0 when the stream is complete, or -1 with ctx->status set (also after messages were sent:
 * the stream then ends with that status). The transport provides it; no gRPC in here either. */
typedef struct ps_stream {
  /* Memory for the next message: emptied by every send, so that a long stream holds one message
   * at a time (the call's memory limit applies to each). What must outlive a message goes in
   * ctx->arena. */
  ps_arena_t *arena;
  /* Hands msg to the client and returns when it was taken (one message in flight at a time, which
   * is also the back-pressure against a slow reader); then empties arena. 0, or -1 with
   * ctx->status CANCELLED or DEADLINE_EXCEEDED when the client went away or the deadline passed. */
  int (*send)(struct ps_stream *s, const ProtobufCMessage *msg);
  uint64_t messages; /* sent so far */
  uint64_t bytes;
} ps_stream_t;

static inline int ps_stream_send(ps_stream_t *s, const ProtobufCMessage *msg) {
  return s->send(s, msg);
}

/* The shape of a server-streaming handler in the method table. */
typedef int (*ps_stream_handler_fn)(ps_ctx_t *ctx, const ProtobufCMessage *req, ps_stream_t *out);

#endif
