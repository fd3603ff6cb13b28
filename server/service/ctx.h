/* What a handler gets: the call's status, memory, this worker's connections and the caller's
 * identity. Handlers are plain functions `int h(ps_ctx_t *, const Req *, Resp **ret)`: they return 0
 * with *ret set (built in ctx->arena), or -1 with ctx->status set. No gRPC in here. */
#ifndef PS_SERVICE_CTX_H
#define PS_SERVICE_CTX_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/status.h"

struct ps_db;    /* store/db.h: this worker's MySQL connection */
struct ps_cache; /* cache/redis.h: this worker's Redis connection */

typedef struct ps_ctx {
  ps_status_t status;      /* set by the handler on failure */
  ps_arena_t *arena;       /* per-call memory, reset after the reply is sent */
  struct ps_db *db;        /* this worker's MySQL connection (never shared) */
  struct ps_cache *cache;  /* this worker's Redis connection (never shared); may be down */
  int64_t deadline_ms;     /* the caller's deadline, CLOCK_REALTIME ms; INT64_MAX if none */
  const char *caller;      /* the calling service (x-caller metadata), "" when not given */
  const char *actor;       /* the acting user (x-acting-user metadata), "" when not given */
} ps_ctx_t;

/* The generic handler shape the method table stores. */
typedef int (*ps_handler_fn)(ps_ctx_t *ctx, const ProtobufCMessage *req, ProtobufCMessage **ret_resp);

#endif
