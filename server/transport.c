/* The gRPC C core server (the only file that includes <grpc/grpc.h>; its API shifts between
 * versions). See transport.h for the threading model.
 *
 * Life of a unary call: a call_t is armed with grpc_server_request_registered_call on one completion
 * queue (its tag t_req). When it fires, the transport thread re-arms a fresh call_t for the same
 * method, starts RECV_CLOSE_ON_SERVER (t_close: tells us when the client gives up; a coalesced
 * by-key read, a health check and an unknown method put it in their final batch instead, see
 * close_late) and hands the call to the pool — or sheds it with RESOURCE_EXHAUSTED when the queue
 * is full. A worker checks the deadline, decodes the request into its arena, runs the handler,
 * packs the reply and starts the final batch (t_done) itself, except in a coalesced batch of
 * by-key reads: there it hands the replies back to the transport thread, which starts their final
 * batches (t_answer, see answers_send). The call is released when its batches have completed, on
 * the transport thread.
 *
 * A server-streaming service method (ps_method_t.stream_handler) runs the same way on a worker,
 * once it has one of the PS_EXPORT_STREAMS stream slots: its handler hands each message to
 * ps_stream_send, which starts a SEND_MESSAGE batch (t_send; with the initial metadata the first
 * time) and waits on a condition variable until the transport thread signals its completion, so
 * one message is in flight at a time; the status goes after the handler returns (t_done). */
#include "transport.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/authz.h"
#include "auth/tls.h"
#include "core/arena.h"
#include "core/clock.h"
#include "dispatch.h"
#include "grpc/health/v1/health.pb-c.h"
#include "core/counters.h"
#include "health.h"
#include "log.h"
#include "obs/calls.h"
#include "obs/metrics.h"
#include "obs/trace.h"
#include "pool.h"
#include "reflection.h"
#include "status_details.h"

#define MAX_CQS 64
#define ARMED_PER_METHOD 8 /* calls armed per method and completion queue */
#define ARMED_GENERIC 4    /* armed catch-all calls per completion queue (unknown methods) */
#define MAX_POLICY_HEADERS 64   /* request metadata entries the policy can see */
#define HEALTH_CHECK_PATH "/grpc.health.v1.Health/Check"
#define HEALTH_WATCH_PATH "/grpc.health.v1.Health/Watch"
#define PS_IDENTITY_MAX 255     /* longest caller identity (merges.caller, audit_events.caller) */
#define MAX_STREAM_REQUEST 4096 /* largest message on a health or reflection stream */
#define USER_AGENT_MAX 160      /* of a client's user-agent, what the access line keeps */

typedef enum { K_UNARY, K_GENERIC, K_HEALTH_CHECK, K_HEALTH_WATCH, K_REFLECTION } kind_t;
typedef enum { TAG_REQUEST, TAG_CLOSE, TAG_DONE, TAG_RECV, TAG_SEND, TAG_ANSWER } tag_type_t;

struct call;
struct sstream;

/* What a completion-queue event is about. Embedded in call_t, one per kind of batch. */
typedef struct tag {
  tag_type_t type;
  struct call *call;
} tag_t;

/* A registered method of one of the servers (the service table, health, reflection), or the
 * catch-all of unknown methods (K_GENERIC, no path). */
typedef struct method {
  kind_t kind;
  const ps_method_t *m; /* service methods only */
  void *handle;         /* grpc_server_register_method */
  const char *path;     /* NULL for K_GENERIC */
  grpc_server *server;  /* the server it belongs to: the main one or the health-only one */
  int metrics_id;       /* its series in obs/metrics */
} method_t;

/* Per-call state; also the owner of everything the call's batches point at. */
typedef struct call {
  tag_t t_req, t_close, t_done, t_recv, t_send; /* t_recv/t_send: bidi streams only */
  tag_t t_answer;                /* a coalesced batch's replies are ready (answers_send) */
  int cq;                        /* index of the completion queue it is bound to */
  const method_t *method;        /* what it was armed for (K_GENERIC: an unknown method) */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;        /* request metadata */
  grpc_call_details details;     /* catch-all only: the method asked for */
  grpc_byte_buffer *payload;     /* the request message (registered unary methods) */
  char *identity;                /* the caller's verified identity ("" : none); malloc'd */
  int close_cancelled;           /* written by RECV_CLOSE_ON_SERVER */
  int close_in_final;            /* RECV_CLOSE_ON_SERVER goes with the final batch (close_late) */
  atomic_int cancelled;          /* 1 once the client has gone (deadline, cancel, reset) */
  atomic_int refs;               /* outstanding batches + 1 while not yet handed out */
  int counted;                   /* counted in inflight */
  int md_sent;                   /* initial metadata already sent (streams) */
  struct sstream *ss;            /* a server-streaming service call on its worker; else NULL */
  atomic_int stream_slot;        /* holds one of cfg.max_server_streams */
  /* what the end of the call reports (obs/calls.h) */
  int64_t start_ns;              /* arrival, CLOCK_MONOTONIC */
  atomic_int ended;              /* reported once */
  char tenant[64];               /* from the decoded request (unary calls) */
  char request_id[65];
  char trace_id[PS_TRACE_ID_LEN + 1]; /* from a valid traceparent, else "" */
  /* the reply */
  ps_code_t final_code;          /* the status of the final batch (final_prepare) */
  struct call *next_answer;      /* the next reply of its coalesced batch (answers_t) */
  grpc_byte_buffer *reply;
  size_t reply_bytes;            /* counted in T.pending_reply_bytes until the call is freed */
  grpc_slice status_details;
  int have_details;
  grpc_metadata trailer;         /* grpc-status-details-bin */
  int n_trailer;
  /* health Watch only, guarded by watch_mu */
  struct call *w_next, *w_prev;
  char w_service[128];
  int w_last_sent;               /* last status sent, -1 before the first */
  int w_sending;                 /* a send batch is in flight */
  int w_closed;                  /* the client has gone */
  int w_listed;                  /* in T.watchers (counted in n_watchers) */
  int w_started;                 /* initial metadata sent */
} call_t;

/* A worker's own resources. */
typedef struct worker {
  ps_db_t *db;
  ps_cache_t *cache;
  ps_arena_t arena;
  ps_arena_t msg_arena; /* a server stream's current message (ps_stream_t.arena) */
} worker_t;

/* A server stream's side of ps_stream_t: the worker waits on cond until on_send says done. */
typedef struct sstream {
  ps_stream_t pub;
  struct call *c;
  ps_ctx_t *ctx;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int done;  /* the send batch completed (guarded by mu) */
  int ok;    /* and how */
} sstream_t;

static struct {
  ps_transport_config_t cfg;
  grpc_server *server;
  grpc_server *health_server; /* plaintext, grpc.health.v1 only (cfg.health_listen); NULL: none */
  int health_port;
  grpc_completion_queue *cqs[MAX_CQS];
  pthread_t threads[MAX_CQS];
  int n_cqs, n_threads;
  method_t *methods;
  size_t n_methods;
  ps_pool_t *pool;
  int port;
  atomic_int shutting_down;
  atomic_long inflight; /* unary calls accepted and not yet released */
  atomic_int streams;   /* server-streaming service calls holding a slot */
  atomic_size_t pending_reply_bytes; /* replies not yet taken by their (maybe slow) readers */
  atomic_size_t call_memory_peak;    /* most arena memory one call has held (PS_CALL_MEMORY_MB) */
  atomic_ullong accepted, shed, expired, unimplemented, ok, failed;
  atomic_ullong unauthenticated, denied, watchers_refused;
  atomic_ullong batches, batched_calls; /* coalesced reads (worker_run_batch) */
  pthread_mutex_t watch_mu;
  call_t *watchers;     /* open health Watch streams */
  int n_watchers;       /* how many (guarded by watch_mu) */
} T = {.watch_mu = PTHREAD_MUTEX_INITIALIZER};

/* ------------------------------------------------------------------ call bookkeeping */

static void arm(int cq, const method_t *m);
static const char *call_path(const call_t *c, char *buf, size_t bufsz);

static call_t *call_new(int cq, const method_t *m) {
  call_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->t_req = (tag_t){TAG_REQUEST, c};
  c->t_close = (tag_t){TAG_CLOSE, c};
  c->t_done = (tag_t){TAG_DONE, c};
  c->t_recv = (tag_t){TAG_RECV, c};
  c->t_send = (tag_t){TAG_SEND, c};
  c->t_answer = (tag_t){TAG_ANSWER, c};
  c->cq = cq;
  c->method = m;
  c->w_last_sent = -1;
  grpc_metadata_array_init(&c->md);
  if (m->kind == K_GENERIC) grpc_call_details_init(&c->details);
  return c;
}

/* Gives back the stream slot a server-streaming call holds (at most once). */
static void stream_slot_release(call_t *c) {
  if (atomic_exchange(&c->stream_slot, 0)) atomic_fetch_sub(&T.streams, 1);
}

static void call_free(call_t *c) {
  if (c->call) grpc_call_unref(c->call);
  grpc_metadata_array_destroy(&c->md);
  if (c->method->kind == K_GENERIC) grpc_call_details_destroy(&c->details);
  if (c->payload) grpc_byte_buffer_destroy(c->payload);
  if (c->reply) grpc_byte_buffer_destroy(c->reply);
  if (c->have_details) grpc_slice_unref(c->status_details);
  if (c->n_trailer) grpc_slice_unref(c->trailer.value);
  if (c->counted) atomic_fetch_sub(&T.inflight, 1);
  if (c->reply_bytes) atomic_fetch_sub(&T.pending_reply_bytes, c->reply_bytes);
  stream_slot_release(c);
  free(c->identity);
  free(c);
}

static void call_release(call_t *c) {
  if (atomic_fetch_sub(&c->refs, 1) == 1) call_free(c);
}

/* Around a batch of c's that completes on its tag: the reference it holds. */
static void batch_starting(call_t *c) { atomic_fetch_add(&c->refs, 1); }

static void batch_not_started(call_t *c) { call_release(c); }

/* The metadata value of key, or NULL; *ret_len gets its length. Owned by the call. */
static const char *md_get(const call_t *c, const char *key, size_t *ret_len) {
  for (size_t i = 0; i < c->md.count; i++) {
    if (grpc_slice_str_cmp(c->md.metadata[i].key, key) == 0) {
      *ret_len = GRPC_SLICE_LENGTH(c->md.metadata[i].value);
      return (const char *)GRPC_SLICE_START_PTR(c->md.metadata[i].value);
    }
  }
  return NULL;
}

/* Packs a protobuf-c message into a byte buffer without an intermediate copy. */
static grpc_byte_buffer *pack(const ProtobufCMessage *msg) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  grpc_slice s = grpc_slice_malloc(n);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  return bb;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The fixed point where a call's end is reported (metrics, access line): once per call, when its
 * status is sent or, for a stream, when its client goes without one. */
static void call_ended(call_t *c, ps_code_t code, const char *reason) {
  if (atomic_exchange(&c->ended, 1)) return;
  ps_call_record_t r = {.metrics_id = c->method->metrics_id, .code = (int)code, .reason = reason,
                        .duration_ns = now_ns() - c->start_ns, .tenant = c->tenant,
                        .request_id = c->request_id, .trace_id = c->trace_id,
                        .messages = c->ss ? (int64_t)c->ss->pub.messages : -1,
                        .bytes = c->ss ? (int64_t)c->ss->pub.bytes : 0};
  r.log = ps_log_enabled(PS_LOG_INFO); /* once: the level may change meanwhile (SIGHUP) */
  if (!r.log) { /* metrics only: no strings to gather */
    r.method = r.peer = r.user_agent = "";
    ps_call_ended(&r);
    return;
  }
  char method[160], ua[USER_AGENT_MAX + 1];
  r.method = call_path(c, method, sizeof method);
  size_t n = 0;
  const char *v = md_get(c, "user-agent", &n);
  if (n > USER_AGENT_MAX) n = USER_AGENT_MAX;
  memcpy(ua, v ? v : "", v ? n : 0);
  ua[v ? n : 0] = '\0';
  r.user_agent = ua;
  char *address = NULL;
  if (c->identity && c->identity[0]) {
    r.peer = c->identity;
  } else {
    address = grpc_call_get_peer(c->call); /* "ipv4:10.0.0.7:41234" */
    r.peer = address ? address : "";
  }
  ps_call_ended(&r);
  gpr_free(address);
}

/* Keeps what the final batch sends in c: the reply (when OK; takes ownership of reply), the status
 * and its details, and reports the call's end (its access line's duration ends here: in a
 * coalesced batch, when the reply is ready, before the transport thread sends it). */
static void final_prepare(call_t *c, const ps_status_t *st, grpc_byte_buffer *reply) {
  call_ended(c, st->code, st->reason);
  c->final_code = st->code;
  if (st->code == PS_OK && reply) {
    c->reply = reply;
    c->reply_bytes = grpc_byte_buffer_length(reply);
    atomic_fetch_add(&T.pending_reply_bytes, c->reply_bytes);
  } else if (reply) {
    grpc_byte_buffer_destroy(reply);
  }
  if (st->code != PS_OK) {
    c->status_details = grpc_slice_from_copied_string(st->message);
    c->have_details = 1;
    /* ErrorInfo, BadRequest, RetryInfo (status_details.h); without them when out of memory */
    uint8_t *details;
    size_t details_len;
    if (ps_status_details_pack(st, &details, &details_len) == 0 && details) {
      c->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
      c->trailer.value = grpc_slice_new(details, details_len, free);
      c->n_trailer = 1;
    }
  }
}

/* Starts the final batch that final_prepare left in c: initial metadata, the reply and the
 * status. Thread-safe: workers and transport threads both call it. */
static void final_start(call_t *c) {
  grpc_op ops[4];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  if (!c->md_sent) {
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].data.send_initial_metadata.count = 0;
    n++;
  }
  if (c->final_code == PS_OK && c->reply) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->reply;
    n++;
  }
  if (c->close_in_final) {
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n].data.recv_close_on_server.cancelled = &c->close_cancelled;
    n++;
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)c->final_code;
  if (c->have_details) ops[n].data.send_status_from_server.status_details = &c->status_details;
  if (c->n_trailer) {
    ops[n].data.send_status_from_server.trailing_metadata_count = 1;
    ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
  }
  n++;
  batch_starting(c);
  if (grpc_call_start_batch(c->call, ops, n, &c->t_done, NULL) != GRPC_CALL_OK) {
    ps_error("transport: cannot start the reply batch");
    batch_not_started(c);
  }
}

/* The replies of a coalesced batch of by-key reads, gathered in order on its worker (finish) and
 * started on a transport thread (answers_send). While a worker runs such a batch, t_answers points
 * at its list; else NULL. */
typedef struct answers {
  call_t *head;
  call_t **tail;
} answers_t;
static _Thread_local answers_t *t_answers;

/* Ends a call: its final batch goes out now, or with the rest of its coalesced batch. */
static void finish(call_t *c, const ps_status_t *st, grpc_byte_buffer *reply) {
  final_prepare(c, st, reply);
  if (!t_answers) {
    final_start(c);
    return;
  }
  atomic_fetch_add(&c->refs, 1); /* held by the list until its final batch has started */
  c->next_answer = NULL;
  *t_answers->tail = c;
  t_answers->tail = &c->next_answer;
}

/* Starts the final batches of the replies listed from c on (a transport thread, on t_answer). */
static void on_answer(call_t *c) {
  while (c) {
    call_t *next = c->next_answer;
    final_start(c);
    call_release(c);
    c = next;
  }
}

/* Hands a coalesced batch's replies to the transport thread of the first: an empty batch on its
 * call completes at once on that thread's queue (t_answer), which then starts the final batches.
 * Every send then happens on the thread that also reads the connections: the worker's sends and
 * that thread's reads no longer meet in a connection's lock (gRPC hands such contended work to an
 * extra thread of its own), and the worker goes back to the database sooner. Server CPU per
 * GetProspect fell by a quarter (alternated runs, closed loop and h2load: 42 -> 30, 37 -> 29 us). */
static void answers_send(answers_t *a) {
  if (!a->head) return;
  if (grpc_call_start_batch(a->head->call, NULL, 0, &a->head->t_answer, NULL) != GRPC_CALL_OK)
    on_answer(a->head); /* cannot happen with no ops; never leave a call unanswered */
}

static void finish_error(call_t *c, ps_code_t code, const char *reason, const char *msg) {
  ps_status_t st;
  ps_fail(&st, code, reason, "%s", msg);
  finish(c, &st, NULL);
}

/* Logs how a call ended. A refusal's message echoes what the caller sent (a name, an e-mail) and
 * goes to the caller only: the log gets its code, reason and field. Internal errors are logged with
 * their message, which the server writes itself and which never holds request data. */
static void log_status(const char *path, const ps_status_t *st) {
  if (st->code == PS_INTERNAL || st->code == PS_UNKNOWN) {
    ps_error("%s: %s %s", path, ps_code_name(st->code), st->message);
    return;
  }
  if (!ps_log_enabled(PS_LOG_DEBUG)) return;
  const char *field = "";
  for (int i = 0; i < st->n_meta; i++)
    if (strcmp(st->meta[i].key, "field") == 0) field = st->meta[i].value;
  ps_debug("%s: %s%s%s%s%s", path, ps_code_name(st->code), st->reason[0] ? " reason=" : "",
           st->reason, field[0] ? " field=" : "", field);
}

/* ------------------------------------------------------------------ workers */

static void *worker_init(void *ud, int index) {
  (void)ud;
  (void)index;
  worker_t *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  if (ps_arena_init(&w->arena, 0) != 0) goto fail;
  ps_arena_set_limit(&w->arena, T.cfg.call_memory_bytes);
  if (ps_arena_init(&w->msg_arena, 0) != 0) goto fail;
  ps_arena_set_limit(&w->msg_arena, T.cfg.call_memory_bytes);
  w->db = ps_db_new(&T.cfg.db);
  if (!w->db) goto fail;
  w->cache = ps_cache_new(&T.cfg.cache);
  if (!w->cache) goto fail;
  return w;
fail:
  ps_db_free(w->db);
  ps_arena_destroy(&w->msg_arena);
  ps_arena_destroy(&w->arena);
  free(w);
  return NULL;
}

static void worker_fini(void *ud, void *state) {
  (void)ud;
  worker_t *w = state;
  ps_cache_free(w->cache);
  ps_db_free(w->db);
  ps_arena_destroy(&w->msg_arena);
  ps_arena_destroy(&w->arena);
  free(w);
}

static int64_t deadline_ms(gpr_timespec d) {
  if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) == 0) return INT64_MAX;
  gpr_timespec r = gpr_convert_clock_type(d, GPR_CLOCK_REALTIME);
  return (int64_t)r.tv_sec * 1000 + r.tv_nsec / 1000000;
}

/* Answers a call whose caller has given up (deadline passed, cancelled) without doing any work
 * for it, and releases it: 1. 0 when the call is still wanted. */
static int call_gone(call_t *c) {
  if (!atomic_load(&c->cancelled) &&
      gpr_time_cmp(c->deadline, gpr_now(c->deadline.clock_type)) > 0)
    return 0;
  atomic_fetch_add(&T.expired, 1);
  finish_error(c, PS_DEADLINE_EXCEEDED, NULL, "the deadline passed before the call was handled");
  call_release(c);
  return 1;
}

/* Sets up a call's context and decodes its request into the worker's arena: *ret_req, or NULL with
 * ctx->status set. */
static void call_begin(worker_t *w, call_t *c, ps_ctx_t *ctx, ProtobufCMessage **ret_req) {
  const ps_method_t *m = c->method->m;
  *ctx = (ps_ctx_t){.arena = &w->arena, .db = w->db, .cache = w->cache, .outcome = -1};
  ps_status_clear(&ctx->status);
  ctx->deadline_ms = deadline_ms(c->deadline);
  ctx->max_reply_bytes = T.cfg.max_reply_bytes;
  size_t len;
  ctx->caller = c->identity ? c->identity : ""; /* the certificate's, never the client's word */
  const char *v = md_get(c, "x-acting-user", &len); /* a claim of the authenticated caller */
  ctx->actor = v ? ps_arena_strndup(&w->arena, v, len) : "";
  *ret_req = NULL;
  if (!ctx->caller || !ctx->actor) {
    ps_fail(&ctx->status, PS_RESOURCE_EXHAUSTED, NULL, "out of memory");
  } else if (!m->handler && !m->stream_handler) {
    ps_fail(&ctx->status, PS_UNIMPLEMENTED, "NOT_IMPLEMENTED",
            "%s is part of the API but not implemented yet", m->path + 1);
  } else {
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, c->payload)) {
      ps_fail(&ctx->status, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST",
              "the request message could not be read");
    } else {
      grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
      grpc_byte_buffer_reader_destroy(&reader);
      (void)ps_dispatch_decode(m, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), &w->arena,
                               ret_req, &ctx->status);
      grpc_slice_unref(s);
    }
    if (*ret_req) ps_dispatch_describe(*ret_req, c->tenant, c->request_id);
  }
}

/* Runs the handler of a call whose request was decoded (req NULL: ctx->status says why not),
 * answers and releases it. */
static void call_run(worker_t *w, call_t *c, ps_ctx_t *ctx, ProtobufCMessage *req) {
  const ps_method_t *m = c->method->m;
  grpc_byte_buffer *reply = NULL;
  if (req) {
    ProtobufCMessage *resp = NULL;
    int rc = m->handler(ctx, req, &resp);
    if (rc == 0 && resp) {
      reply = pack(resp);
    } else if (rc == 0) {
      ps_fail(&ctx->status, PS_INTERNAL, NULL, "internal error");
      ps_error("transport: %s returned success without a response", m->path);
    } else if (w->arena.exhausted) {
      ps_dispatch_fail_memory(&ctx->status); /* whatever the handler made of a NULL allocation */
    } else if (ctx->status.code == PS_OK) {
      ps_fail(&ctx->status, PS_INTERNAL, NULL, "internal error");
      ps_error("transport: %s failed without a status", m->path);
    }
  }
  log_status(m->path, &ctx->status);
  atomic_fetch_add(ctx->status.code == PS_OK ? &T.ok : &T.failed, 1);
  if (ctx->status.code == PS_OK && ctx->outcome >= 0)
    ps_count((ps_counter_t)ctx->outcome);
  else if (ctx->status.code != PS_OK && m->failed_counter >= 0)
    ps_count((ps_counter_t)m->failed_counter);
  finish(c, &ctx->status, reply);
  call_release(c);
}

/* Notes the most memory one call (or one message of a stream) has held. */
static void note_peak(size_t held) {
  size_t peak = atomic_load(&T.call_memory_peak);
  while (held > peak && !atomic_compare_exchange_weak(&T.call_memory_peak, &peak, held)) {
  }
}

/* After a worker's call (or batch): its memory peak is noted and its arena emptied. */
static void worker_done(worker_t *w) {
  note_peak(w->arena.peak);
  ps_arena_reset(&w->arena);
}

/* ------------------------------------------------------------------ server streams */

/* ps_stream_t.send: one message to the client, waiting until gRPC has taken it. */
static int stream_send(ps_stream_t *s, const ProtobufCMessage *msg) {
  sstream_t *ss = (sstream_t *)s;
  call_t *c = ss->c;
  ps_status_t *st = &ss->ctx->status;
  int gone = atomic_load(&c->cancelled);
  if (gone || gpr_time_cmp(c->deadline, gpr_now(c->deadline.clock_type)) <= 0) {
    ps_arena_reset(s->arena);
    return gone ? ps_fail(st, PS_CANCELLED, NULL, "the client cancelled the call")
                : ps_fail(st, PS_DEADLINE_EXCEEDED, NULL, "the deadline passed during the stream");
  }
  grpc_byte_buffer *bb = pack(msg);
  size_t len = grpc_byte_buffer_length(bb);
  note_peak(s->arena->peak);
  ps_arena_reset(s->arena); /* the message is packed: its memory serves the next one */
  grpc_op ops[2];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  if (!c->md_sent) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA; /* with the first message */
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n].data.send_message.send_message = bb;
  n++;
  pthread_mutex_lock(&ss->mu);
  ss->done = 0;
  pthread_mutex_unlock(&ss->mu);
  atomic_fetch_add(&c->refs, 1);
  if (grpc_call_start_batch(c->call, ops, n, &c->t_send, NULL) != GRPC_CALL_OK) {
    atomic_fetch_sub(&c->refs, 1); /* not the last: the worker holds the call */
    grpc_byte_buffer_destroy(bb);
    ps_error("transport: cannot start a stream's send batch");
    return ps_fail(st, PS_INTERNAL, NULL, "internal error");
  }
  c->md_sent = 1;
  pthread_mutex_lock(&ss->mu);
  while (!ss->done) pthread_cond_wait(&ss->cond, &ss->mu);
  int ok = ss->ok;
  pthread_mutex_unlock(&ss->mu);
  grpc_byte_buffer_destroy(bb);
  if (!ok) { /* gRPC fails a send only when the call is over: cancelled or past its deadline */
    if (gpr_time_cmp(c->deadline, gpr_now(c->deadline.clock_type)) <= 0)
      return ps_fail(st, PS_DEADLINE_EXCEEDED, NULL, "the deadline passed during the stream");
    return ps_fail(st, PS_CANCELLED, NULL, "the client cancelled the call");
  }
  s->messages++;
  s->bytes += len;
  return 0;
}

/* The transport thread's part of a stream's send: wake the worker, nothing more. */
static void stream_sent(call_t *c, int ok) {
  sstream_t *ss = c->ss;
  pthread_mutex_lock(&ss->mu);
  ss->ok = ok;
  ss->done = 1;
  pthread_cond_signal(&ss->cond);
  pthread_mutex_unlock(&ss->mu);
  call_release(c);
}

/* Runs a server-streaming call on a worker: decode, the handler's messages, the status. */
static void stream_run(worker_t *w, call_t *c) {
  const ps_method_t *m = c->method->m;
  ps_ctx_t ctx;
  ProtobufCMessage *req;
  call_begin(w, c, &ctx, &req);
  sstream_t ss = {.pub = {.arena = &w->msg_arena, .send = stream_send}, .c = c, .ctx = &ctx};
  pthread_mutex_init(&ss.mu, NULL);
  pthread_cond_init(&ss.cond, NULL);
  c->ss = &ss;
  if (req) {
    int rc = m->stream_handler(&ctx, req, &ss.pub);
    if (rc != 0 && (w->arena.exhausted || w->msg_arena.exhausted) &&
        ctx.status.code != PS_CANCELLED && ctx.status.code != PS_DEADLINE_EXCEEDED) {
      ps_dispatch_fail_memory(&ctx.status);
    } else if (rc != 0 && ctx.status.code == PS_OK) {
      ps_fail(&ctx.status, PS_INTERNAL, NULL, "internal error");
      ps_error("transport: %s failed without a status", m->path);
    } else if (rc == 0) {
      ps_status_clear(&ctx.status);
    }
  }
  /* the slot is free as soon as the worker is: a client may start its next export at once */
  stream_slot_release(c);
  log_status(m->path, &ctx.status);
  atomic_fetch_add(ctx.status.code == PS_OK ? &T.ok : &T.failed, 1);
  if (ctx.status.code == PS_OK && ctx.outcome >= 0) ps_count((ps_counter_t)ctx.outcome);
  else if (ctx.status.code != PS_OK && m->failed_counter >= 0) ps_count((ps_counter_t)m->failed_counter);
  finish(c, &ctx.status, NULL); /* reports the call with its message count (c->ss) */
  c->ss = NULL; /* no send is in flight any more */
  pthread_cond_destroy(&ss.cond);
  pthread_mutex_destroy(&ss.mu);
  note_peak(w->msg_arena.peak);
  ps_arena_reset(&w->msg_arena);
  call_release(c);
}

/* Runs one unary call on a worker. */
static void worker_run(void *ud, void *state, void *item) {
  (void)ud;
  worker_t *w = state;
  call_t *c = item;
  if (call_gone(c)) return;
  ps_log_set_trace(c->trace_id); /* lines logged while the call runs carry its trace id */
  if (c->method->m->stream_handler) {
    stream_run(w, c);
  } else {
    ps_ctx_t ctx;
    ProtobufCMessage *req;
    call_begin(w, c, &ctx, &req);
    call_run(w, c, &ctx, req);
  }
  ps_log_set_trace(NULL);
  worker_done(w);
}

/* The pool's batch key of a queued call: its method's (dispatch.h), 0 for what is never batched. */
static int call_batch_key(void *ud, void *item) {
  (void)ud;
  const call_t *c = item;
  return c->method->kind == K_UNARY && c->method->m ? c->method->m->batch_key : 0;
}

/* Runs calls that waited at the same moment for methods of one batch key (pool.h): their records
 * are read with one statement (ps_dispatch_prefetch), then each call runs its own handler, which
 * answers from that read, and is answered at once. The arena is emptied after the last. */
static void worker_run_batch(void *ud, void *state, void **items, int n) {
  (void)ud;
  worker_t *w = state;
  atomic_fetch_add(&T.batches, 1);
  atomic_fetch_add(&T.batched_calls, (unsigned long long)n);
  ps_ctx_t *ctxs = ps_arena_alloc(&w->arena, sizeof *ctxs * (size_t)n);
  if (!ctxs) { /* no memory for the batch: each call on its own */
    ps_arena_reset(&w->arena);
    for (int i = 0; i < n; i++) worker_run(ud, state, items[i]);
    return;
  }
  call_t *calls[PS_POOL_BATCH_MAX];
  ProtobufCMessage *reqs[PS_POOL_BATCH_MAX];
  const ProtobufCMessage *decoded[PS_POOL_BATCH_MAX]; /* the requests that decoded */
  int k = 0, n_decoded = 0;
  for (int i = 0; i < n; i++) {
    call_t *c = items[i];
    if (call_gone(c)) continue;
    ps_log_set_trace(c->trace_id);
    call_begin(w, c, &ctxs[k], &reqs[k]);
    if (reqs[k]) decoded[n_decoded++] = reqs[k];
    calls[k++] = c;
  }
  ps_log_set_trace(NULL);
  if (n_decoded > 1) { /* read together */
    ps_ctx_t bctx = {.arena = &w->arena, .db = w->db, .cache = w->cache, .outcome = -1};
    ps_status_clear(&bctx.status);
    const struct ps_prefetch *pf = ps_dispatch_prefetch(&bctx, decoded, (size_t)n_decoded);
    for (int i = 0; i < k; i++) ctxs[i].prefetch = pf;
  }
  ps_log_hold(); /* the batch's access lines go out in one write, after its last call */
  answers_t answers = {NULL, &answers.head};
  t_answers = &answers; /* the replies go out together, from the transport thread */
  for (int i = 0; i < k; i++) {
    ps_log_set_trace(calls[i]->trace_id);
    call_run(w, calls[i], &ctxs[i], reqs[i]);
  }
  t_answers = NULL;
  answers_send(&answers);
  ps_log_release();
  ps_log_set_trace(NULL);
  worker_done(w);
}

/* ------------------------------------------------------------------ health */

static grpc_byte_buffer *health_response(ps_health_t status) {
  Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  r.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
  return pack(&r.base);
}

/* Reads the service name of a HealthCheckRequest into out; 0, or -1 when undecodable. */
static int health_request(call_t *c, char *out, size_t outsz) {
  out[0] = '\0';
  if (!c->payload || grpc_byte_buffer_length(c->payload) > MAX_STREAM_REQUEST) return -1;
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, c->payload)) return -1;
  grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  Grpc__Health__V1__HealthCheckRequest *req = grpc__health__v1__health_check_request__unpack(
      NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
  grpc_slice_unref(s);
  if (!req) return -1;
  size_t n = strlen(req->service);
  int rc = n < outsz ? 0 : -1;
  if (rc == 0) memcpy(out, req->service, n + 1);
  grpc__health__v1__health_check_request__free_unpacked(req, NULL);
  return rc;
}

static void health_check(call_t *c) {
  char service[128];
  ps_status_t st;
  ps_status_clear(&st);
  if (health_request(c, service, sizeof service) != 0) {
    finish_error(c, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                 "the request is not a valid grpc.health.v1.HealthCheckRequest message");
    return;
  }
  ps_health_t h = ps_health_of(service);
  if (h == PS_HEALTH_SERVICE_UNKNOWN) {
    finish_error(c, PS_NOT_FOUND, "UNKNOWN_SERVICE", "unknown service");
    return;
  }
  finish(c, &st, health_response(h));
}

/* Sends the current status to one watcher if it changed and no send is in flight.
 * Caller holds watch_mu. */
static void watch_send_locked(call_t *c) {
  if (c->w_sending || c->w_closed) return;
  int h = (int)ps_health_of(c->w_service);
  if (h == c->w_last_sent) return;
  grpc_op ops[2];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  if (!c->w_started) {
    ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
    n++;
  }
  if (c->reply) grpc_byte_buffer_destroy(c->reply);
  c->reply = health_response((ps_health_t)h);
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n].data.send_message.send_message = c->reply;
  n++;
  atomic_fetch_add(&c->refs, 1);
  if (grpc_call_start_batch(c->call, ops, n, &c->t_done, NULL) != GRPC_CALL_OK) {
    atomic_fetch_sub(&c->refs, 1); /* cannot be the last ref: t_close is outstanding */
    return;
  }
  c->w_started = 1;
  c->w_sending = 1;
  c->w_last_sent = h;
}

static void watch_notify_all(void *ud) {
  (void)ud;
  pthread_mutex_lock(&T.watch_mu);
  for (call_t *c = T.watchers; c; c = c->w_next) watch_send_locked(c);
  pthread_mutex_unlock(&T.watch_mu);
}

static void health_watch(call_t *c) {
  if (health_request(c, c->w_service, sizeof c->w_service) != 0) {
    finish_error(c, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                 "the request is not a valid grpc.health.v1.HealthCheckRequest message");
    return;
  }
  pthread_mutex_lock(&T.watch_mu);
  if (T.n_watchers >= T.cfg.max_watchers) {
    pthread_mutex_unlock(&T.watch_mu);
    atomic_fetch_add(&T.watchers_refused, 1);
    finish_error(c, PS_RESOURCE_EXHAUSTED, "TOO_MANY_WATCHERS",
                 "too many health Watch streams are open; use Check, or retry later");
    return;
  }
  T.n_watchers++;
  c->w_listed = 1;
  c->w_next = T.watchers;
  if (T.watchers) T.watchers->w_prev = c;
  T.watchers = c;
  watch_send_locked(c);
  pthread_mutex_unlock(&T.watch_mu);
}

static void watch_closed(call_t *c) {
  pthread_mutex_lock(&T.watch_mu);
  c->w_closed = 1;
  if (c->w_listed) { /* a refused or malformed Watch was never listed */
    c->w_listed = 0;
    T.n_watchers--;
    if (c->w_prev) c->w_prev->w_next = c->w_next; else T.watchers = c->w_next;
    if (c->w_next) c->w_next->w_prev = c->w_prev;
    c->w_next = c->w_prev = NULL;
  }
  pthread_mutex_unlock(&T.watch_mu);
}

static void watch_sent(call_t *c, int ok) {
  pthread_mutex_lock(&T.watch_mu);
  c->w_sending = 0;
  if (ok) watch_send_locked(c); /* the status may have changed meanwhile */
  pthread_mutex_unlock(&T.watch_mu);
}

/* ------------------------------------------------------------------ reflection (bidi stream) */

/* Starts the next RECV_MESSAGE (with the initial metadata the first time). */
static void stream_recv(call_t *c) {
  grpc_op ops[2];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  if (!c->md_sent) {
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->md_sent = 1;
  }
  ops[n].op = GRPC_OP_RECV_MESSAGE;
  ops[n].data.recv_message.recv_message = &c->payload;
  n++;
  atomic_fetch_add(&c->refs, 1);
  if (grpc_call_start_batch(c->call, ops, n, &c->t_recv, NULL) != GRPC_CALL_OK) call_release(c);
}

/* One request of the stream has arrived (or the client half-closed: payload NULL). Reflection
 * answers are cheap lookups, so they are made here on the transport thread. */
static void on_recv(call_t *c, int ok) {
  if (!ok) { /* the call is gone */
    call_release(c);
    return;
  }
  if (!c->payload) { /* half-close: end the stream */
    ps_status_t st;
    ps_status_clear(&st);
    finish(c, &st, NULL);
    call_release(c);
    return;
  }
  grpc_byte_buffer_reader reader;
  uint8_t *out = NULL;
  size_t out_len = 0;
  int rc = -1;
  if (grpc_byte_buffer_length(c->payload) <= MAX_STREAM_REQUEST &&
      grpc_byte_buffer_reader_init(&reader, c->payload)) {
    grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    rc = ps_reflection_answer(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), &out, &out_len);
    grpc_slice_unref(s);
  }
  grpc_byte_buffer_destroy(c->payload);
  c->payload = NULL;
  if (rc != 0) {
    finish_error(c, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                 "the request is not a valid ServerReflectionRequest message");
    call_release(c);
    return;
  }
  grpc_slice slice = grpc_slice_new(out, out_len, free);
  c->reply = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_SEND_MESSAGE;
  op.data.send_message.send_message = c->reply;
  /* the ref of the finished receive passes to the send */
  if (grpc_call_start_batch(c->call, &op, 1, &c->t_send, NULL) != GRPC_CALL_OK) call_release(c);
}

static void on_send(call_t *c, int ok) {
  if (c->method->kind == K_UNARY) { /* a server-streaming service call */
    stream_sent(c, ok);
    return;
  }
  grpc_byte_buffer_destroy(c->reply);
  c->reply = NULL;
  if (ok) stream_recv(c);
  call_release(c);
}

/* ------------------------------------------------------------------ authorization */

/* The method a call asked for, printable, into buf (registered methods: their path). */
static const char *call_path(const call_t *c, char *buf, size_t bufsz) {
  if (c->method->kind != K_GENERIC) return c->method->path;
  size_t n = GRPC_SLICE_LENGTH(c->details.method);
  if (n > bufsz - 1) n = bufsz - 1;
  memcpy(buf, GRPC_SLICE_START_PTR(c->details.method), n);
  buf[n] = '\0';
  for (size_t i = 0; i < n; i++) /* keep messages and logs printable */
    if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e) buf[i] = '?';
  return buf;
}

/* The fixed point where every call (known method or not) is authorized, before anything of it is
 * decoded: the caller's verified identity is kept for the handler, or the call is answered with
 * UNAUTHENTICATED / PERMISSION_DENIED. 0 when it may go on. */
static int authorize(call_t *c, const char *path) {
  ps_peer_buf_t peer;
  ps_tls_call_peer(c->call, &peer);
  ps_policy_header_t headers[MAX_POLICY_HEADERS];
  size_t n = 0;
  for (size_t i = 0; i < c->md.count && n < MAX_POLICY_HEADERS; i++, n++) {
    headers[n].key = (const char *)GRPC_SLICE_START_PTR(c->md.metadata[i].key);
    headers[n].key_len = GRPC_SLICE_LENGTH(c->md.metadata[i].key);
    headers[n].value = (const char *)GRPC_SLICE_START_PTR(c->md.metadata[i].value);
    headers[n].value_len = GRPC_SLICE_LENGTH(c->md.metadata[i].value);
  }
  ps_policy_request_t req = {path, strlen(path), &peer.peer, headers, n};
  ps_status_t st;
  ps_status_clear(&st);
  if (ps_authz_check(&req, &st) != 0) {
    atomic_fetch_add(st.code == PS_UNAUTHENTICATED ? &T.unauthenticated : &T.denied, 1);
    log_status(path, &st);
    finish(c, &st, NULL);
    return -1;
  }
  const char *id = ps_peer_identity(&peer.peer);
  if (strlen(id) > PS_IDENTITY_MAX) {
    atomic_fetch_add(&T.unauthenticated, 1);
    finish_error(c, PS_UNAUTHENTICATED, "CLIENT_CERTIFICATE_REQUIRED",
                 "the client certificate's identity is longer than 255 bytes");
    return -1;
  }
  if (*id && !(c->identity = strdup(id))) {
    finish_error(c, PS_RESOURCE_EXHAUSTED, NULL, "out of memory");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ transport threads */

/* Whether a call of m learns that its client has gone only with its final batch. Watching for that
 * from the start costs a batch and a completion of its own. It pays off for calls that run long or
 * hold a worker: streams, which stop when their client goes, and unary calls that queued work
 * skips once cancelled (call_gone). Unknown methods and health checks are answered at once. A
 * by-key read that is coalesced (dispatch.h: batch_key) costs less to run than to watch while it
 * runs soon. Behind a backlog (more than CLOSE_WATCH_BACKLOG queued calls, four full batches:
 * overload, or a storm of streams reset right after they were opened) it waits, and watching
 * lets it be skipped once its client has gone. At peak, 32 calls in flight stay under it.
 * Deadlines are checked before every call runs. */
#define CLOSE_WATCH_BACKLOG (4 * PS_POOL_BATCH_MAX)
static int close_late(const method_t *m) {
  switch (m->kind) {
  case K_GENERIC:
  case K_HEALTH_CHECK: return 1;
  case K_UNARY:
    return m->m && !m->m->stream_handler && m->m->batch_key > 0 &&
           ps_pool_depth(T.pool) <= CLOSE_WATCH_BACKLOG;
  default: return 0;
  }
}

static void on_request(call_t *c, int ok) {
  if (!ok) { /* the server is shutting down: this armed slot is void */
    call_free(c);
    return;
  }
  c->start_ns = now_ns();
  if (!atomic_load(&T.shutting_down)) arm(c->cq, c->method);
  c->refs = 1; /* held by whoever finishes the call */
  ps_metrics_started(c->method->metrics_id);
  size_t tp_len;
  const char *tp = md_get(c, "traceparent", &tp_len);
  char parent_id[PS_SPAN_ID_LEN + 1];
  if (tp && ps_trace_parse(tp, tp_len, c->trace_id, parent_id) != 0) c->trace_id[0] = '\0';
  c->close_in_final = close_late(c->method);
  if (!c->close_in_final) {
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    batch_starting(c);
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_close, NULL) != GRPC_CALL_OK)
      batch_not_started(c);
  }

  char method[160];
  const char *path = call_path(c, method, sizeof method);
  /* the health-only server answers health checks and nothing else: no caller to authorize */
  if (c->method->server == T.server && authorize(c, path) != 0) {
    call_release(c);
    return;
  }
  kind_t kind = c->method->kind;
  switch (kind) {
  case K_GENERIC: {
    atomic_fetch_add(&T.unimplemented, 1);
    ps_status_t st;
    ps_fail(&st, PS_UNIMPLEMENTED, "UNKNOWN_METHOD", "unknown method %s", path);
    finish(c, &st, NULL);
    call_release(c);
    return;
  }
  case K_HEALTH_CHECK:
    health_check(c);
    call_release(c);
    return;
  case K_HEALTH_WATCH:
    health_watch(c);
    call_release(c);
    return;
  case K_REFLECTION:
    stream_recv(c);
    call_release(c);
    return;
  case K_UNARY:
    break;
  }
  c->counted = 1;
  atomic_fetch_add(&T.inflight, 1);
  if (!c->payload) {
    finish_error(c, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", "the request message is missing");
    call_release(c);
    return;
  }
  if (c->method->m->stream_handler) { /* each holds a worker and its connection for long */
    if (atomic_fetch_add(&T.streams, 1) >= T.cfg.max_server_streams) {
      atomic_fetch_sub(&T.streams, 1);
      atomic_fetch_add(&T.shed, 1);
      ps_status_t st;
      ps_fail(&st, PS_RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS",
              "%d streaming calls (exports) are running, the most this server runs at once; "
              "retry later", T.cfg.max_server_streams);
      finish(c, &st, NULL);
      call_release(c);
      return;
    }
    atomic_store(&c->stream_slot, 1);
  }
  /* Shed at once when the queue is full, or when replies that clients do not read already hold
   * this much memory: no more work until they read or go (deadlines, keepalive and connection
   * age end them). */
  if (atomic_load(&T.pending_reply_bytes) > T.cfg.max_pending_reply_bytes ||
      ps_pool_submit(T.pool, c) != 0) {
    atomic_fetch_add(&T.shed, 1);
    finish_error(c, PS_RESOURCE_EXHAUSTED, "SERVER_OVERLOADED",
                 "the server is overloaded; retry with backoff");
    call_release(c);
    return;
  }
  atomic_fetch_add(&T.accepted, 1);
}

static void on_close(call_t *c, int ok) {
  (void)ok;
  if (c->close_cancelled) atomic_store(&c->cancelled, 1);
  if (c->method->kind == K_HEALTH_WATCH) watch_closed(c);
  /* a stream that its client ended without a status from us */
  if (c->method->kind == K_HEALTH_WATCH || c->method->kind == K_REFLECTION)
    call_ended(c, PS_CANCELLED, "");
  call_release(c);
}

static void on_done(call_t *c, int ok) {
  if (c->method->kind == K_HEALTH_WATCH) watch_sent(c, ok);
  call_release(c);
}

static void on_event(const grpc_event *ev) {
  tag_t *t = ev->tag;
  switch (t->type) {
  case TAG_REQUEST: on_request(t->call, ev->success); break;
  case TAG_CLOSE: on_close(t->call, ev->success); break;
  case TAG_DONE: on_done(t->call, ev->success); break;
  case TAG_RECV: on_recv(t->call, ev->success); break;
  case TAG_SEND: on_send(t->call, ev->success); break;
  case TAG_ANSWER: on_answer(t->call); break;
  }
}

/* Waits for the next event of completion queue i and handles it, until the queue shuts down. */
static void *cq_thread(void *arg) {
  grpc_completion_queue *cq = T.cqs[(intptr_t)arg];
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_OP_COMPLETE) on_event(&ev);
  }
  return NULL;
}

/* Arms one call slot for method m (K_GENERIC: the catch-all) on completion queue cq. */
static void arm(int cq, const method_t *m) {
  call_t *c = call_new(cq, m);
  if (!c) {
    ps_error("transport: out of memory arming a call");
    return;
  }
  grpc_call_error e;
  grpc_completion_queue *q = T.cqs[cq];
  if (m->kind != K_GENERIC) {
    e = grpc_server_request_registered_call(m->server, m->handle, &c->call, &c->deadline, &c->md,
                                            m->kind == K_REFLECTION ? NULL : &c->payload,
                                            q, q, &c->t_req);
  } else {
    e = grpc_server_request_call(m->server, &c->call, &c->details, &c->md, q, q, &c->t_req);
  }
  if (e != GRPC_CALL_OK) {
    if (!atomic_load(&T.shutting_down)) ps_error("transport: cannot arm a call (error %d)", (int)e);
    call_free(c);
  }
}

/* ------------------------------------------------------------------ start / stop */

static void destroy_cqs(void) {
  for (int i = 0; i < T.n_cqs; i++) grpc_completion_queue_shutdown(T.cqs[i]);
  for (int i = 0; i < T.n_threads; i++) pthread_join(T.threads[i], NULL);
  for (int i = 0; i < T.n_cqs; i++) {
    if (i >= T.n_threads) { /* never had a thread: drain here */
      while (grpc_completion_queue_next(T.cqs[i], gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
             GRPC_QUEUE_SHUTDOWN) {
      }
    }
    grpc_completion_queue_destroy(T.cqs[i]);
  }
  T.n_cqs = T.n_threads = 0;
}

/* Undoes a start that failed after the servers were created. Returns -1. */
static int start_failed(void) {
  grpc_server_destroy(T.server);
  T.server = NULL;
  if (T.health_server) grpc_server_destroy(T.health_server);
  T.health_server = NULL;
  destroy_cqs();
  free(T.methods);
  T.methods = NULL;
  ps_reflection_free();
  grpc_shutdown();
  return -1;
}

int ps_transport_start(const ps_transport_config_t *cfg, ps_status_t *st) {
  T.cfg = *cfg;
  grpc_init();

  size_t n_service;
  const ps_method_t *service = ps_dispatch_methods(&n_service);
  /* the service's methods, health, reflection and a catch-all on the main server; health and a
   * catch-all on the health-only server */
  int health_only = cfg->health_listen && cfg->health_listen[0];
  T.n_methods = n_service + 5 + (health_only ? 3 : 0);
  T.methods = calloc(T.n_methods, sizeof *T.methods);
  if (!T.methods) {
    grpc_shutdown();
    return ps_fail(st, PS_INTERNAL, NULL, "out of memory");
  }
  for (size_t i = 0; i < n_service; i++)
    T.methods[i] = (method_t){K_UNARY, &service[i], NULL, service[i].path, NULL, -1};
  size_t k = n_service;
  T.methods[k++] = (method_t){K_HEALTH_CHECK, NULL, NULL, HEALTH_CHECK_PATH, NULL, -1};
  T.methods[k++] = (method_t){K_HEALTH_WATCH, NULL, NULL, HEALTH_WATCH_PATH, NULL, -1};
  T.methods[k++] = (method_t){K_REFLECTION, NULL, NULL,
                              "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", NULL, -1};
  T.methods[k++] = (method_t){K_REFLECTION, NULL, NULL,
                              "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", NULL, -1};
  T.methods[k++] = (method_t){K_GENERIC, NULL, NULL, NULL, NULL, -1};
  size_t n_main = k;
  if (ps_reflection_init() != 0) {
    free(T.methods);
    grpc_shutdown();
    return ps_fail(st, PS_INTERNAL, NULL, "the embedded descriptor set cannot be read");
  }

  grpc_resource_quota *quota = grpc_resource_quota_create("prospect-server");
  grpc_resource_quota_resize(quota, cfg->grpc_memory_bytes);
  int max_recv = cfg->max_recv_bytes < PS_DISPATCH_MAX_REQUEST_BYTES ? cfg->max_recv_bytes
                                                                      : PS_DISPATCH_MAX_REQUEST_BYTES;
  grpc_arg args[16];
  size_t na = 0;
#define INT_ARG(k, v) args[na++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = (char *)(k), .value.integer = (v)}
  INT_ARG(GRPC_ARG_ALLOW_REUSEPORT, 0); /* a second server must not share the port */
  INT_ARG(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, max_recv);
  INT_ARG(GRPC_ARG_MAX_CONCURRENT_STREAMS, cfg->max_streams);
  INT_ARG(GRPC_ARG_MAX_METADATA_SIZE, 16384);
  INT_ARG(GRPC_ARG_KEEPALIVE_TIME_MS, cfg->keepalive_ms);
  INT_ARG(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, cfg->keepalive_timeout_ms);
  INT_ARG(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1); /* clients may keep idle channels alive */
  INT_ARG(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, cfg->min_ping_interval_ms);
  INT_ARG(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  if (cfg->max_idle_ms > 0) INT_ARG(GRPC_ARG_MAX_CONNECTION_IDLE_MS, cfg->max_idle_ms);
  if (cfg->max_age_ms > 0) {
    INT_ARG(GRPC_ARG_MAX_CONNECTION_AGE_MS, cfg->max_age_ms);
    INT_ARG(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, cfg->max_age_grace_ms);
  }
#undef INT_ARG
  args[na++] = (grpc_arg){.type = GRPC_ARG_POINTER,
                          .key = (char *)GRPC_ARG_RESOURCE_QUOTA,
                          .value.pointer = {quota, grpc_resource_quota_arg_vtable()}};
  grpc_channel_args channel_args = {na, args};
  T.server = grpc_server_create(&channel_args, NULL);
  if (health_only) {
    /* kubelet's gRPC probes speak plaintext and present no certificate: a server of its own that
     * answers grpc.health.v1 and nothing else, with the same limits */
    T.health_server = grpc_server_create(&channel_args, NULL);
    T.methods[k++] =
        (method_t){K_HEALTH_CHECK, NULL, NULL, HEALTH_CHECK_PATH, T.health_server, -1};
    T.methods[k++] =
        (method_t){K_HEALTH_WATCH, NULL, NULL, HEALTH_WATCH_PATH, T.health_server, -1};
    T.methods[k++] = (method_t){K_GENERIC, NULL, NULL, NULL, T.health_server, -1};
  }
  for (size_t i = 0; i < n_main; i++) T.methods[i].server = T.server;
  for (size_t i = 0; i < k; i++) {
    method_t *m = &T.methods[i];
    int sstream = m->kind == K_HEALTH_WATCH || (m->kind == K_UNARY && m->m->stream_handler);
    m->metrics_id = ps_metrics_register(m->path, sstream ? PS_RPC_SERVER_STREAM
                                                 : m->kind == K_REFLECTION  ? PS_RPC_BIDI_STREAM
                                                                            : PS_RPC_UNARY);
  }
  grpc_resource_quota_unref(quota); /* the servers hold their own references */

  T.n_cqs = cfg->cq_threads < MAX_CQS ? cfg->cq_threads : MAX_CQS;
  for (int i = 0; i < T.n_cqs; i++) {
    T.cqs[i] = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(T.server, T.cqs[i], NULL);
    if (T.health_server) grpc_server_register_completion_queue(T.health_server, T.cqs[i], NULL);
  }
  for (size_t i = 0; i < T.n_methods; i++) {
    if (T.methods[i].kind == K_GENERIC) continue;
    T.methods[i].handle = grpc_server_register_method(
        T.methods[i].server, T.methods[i].path, NULL,
        T.methods[i].kind == K_REFLECTION ? GRPC_SRM_PAYLOAD_NONE
                                          : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
        0);
  }

  grpc_server_credentials *creds;
  if (cfg->plaintext) {
    creds = grpc_insecure_server_credentials_create();
  } else {
    ps_tls_config_t tls = {cfg->tls_cert, cfg->tls_key, cfg->tls_client_ca, cfg->tls_reload_s};
    creds = ps_tls_server_credentials(&tls, st);
    if (!creds) return start_failed();
  }
  T.port = grpc_server_add_http2_port(T.server, cfg->listen, creds);
  grpc_server_credentials_release(creds);
  if (T.port == 0) {
    start_failed();
    return ps_fail(st, PS_UNAVAILABLE, NULL,
                   "cannot listen on %s (address in use, or not an address of this machine)",
                   cfg->listen);
  }
  if (T.health_server) {
    grpc_server_credentials *plain = grpc_insecure_server_credentials_create();
    T.health_port = grpc_server_add_http2_port(T.health_server, cfg->health_listen, plain);
    grpc_server_credentials_release(plain);
    if (T.health_port == 0) {
      start_failed();
      return ps_fail(st, PS_UNAVAILABLE, NULL,
                     "cannot listen for health checks on %s (address in use, or not an address of "
                     "this machine)", cfg->health_listen);
    }
  }

  ps_pool_ops_t ops = {NULL, worker_init, worker_run, worker_fini, call_batch_key, worker_run_batch,
                       cfg->read_workers};
  T.pool = ps_pool_new(cfg->workers, cfg->queue, &ops);
  if (!T.pool) {
    start_failed();
    return ps_fail(st, PS_INTERNAL, NULL, "cannot start %d worker threads", cfg->workers);
  }

  grpc_server_start(T.server);
  if (T.health_server) grpc_server_start(T.health_server);
  ps_health_set_listener(watch_notify_all, NULL);
  for (int q = 0; q < T.n_cqs; q++)
    for (size_t i = 0; i < T.n_methods; i++)
      for (int j = 0; j < (T.methods[i].kind == K_GENERIC ? ARMED_GENERIC : ARMED_PER_METHOD); j++)
        arm(q, &T.methods[i]);
  for (int i = 0; i < T.n_cqs; i++) {
    if (pthread_create(&T.threads[i], NULL, cq_thread, (void *)(intptr_t)i) != 0) {
      ps_error("transport: cannot start transport thread %d", i);
      break;
    }
    T.n_threads++;
  }
  if (T.n_threads == 0) {
    ps_transport_shutdown(0);
    return ps_fail(st, PS_INTERNAL, NULL, "cannot start transport threads");
  }
  return 0;
}

int ps_transport_port(void) { return T.port; }

int ps_transport_health_port(void) { return T.health_port; }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

void ps_transport_shutdown(int grace_ms) {
  if (!T.server) return;
  atomic_store(&T.shutting_down, 1);
  grpc_completion_queue *sq = grpc_completion_queue_create_for_pluck(NULL);
  static int shutdown_tag, health_shutdown_tag;
  grpc_server_shutdown_and_notify(T.server, sq, &shutdown_tag);
  if (T.health_server) grpc_server_shutdown_and_notify(T.health_server, sq, &health_shutdown_tag);

  /* drain: calls already accepted run to completion while the grace lasts */
  int64_t until = ps_mono_ms() + grace_ms;
  while (atomic_load(&T.inflight) > 0 && ps_mono_ms() < until) sleep_ms(5);
  long left = atomic_load(&T.inflight);
  if (left > 0) ps_warn("transport: grace period over, cancelling %ld calls", left);
  grpc_server_cancel_all_calls(T.server); /* the rest, and open Watch streams */
  if (T.health_server) grpc_server_cancel_all_calls(T.health_server);
  grpc_completion_queue_pluck(sq, &shutdown_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  if (T.health_server)
    grpc_completion_queue_pluck(sq, &health_shutdown_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_shutdown(sq);
  grpc_completion_queue_destroy(sq);

  ps_pool_free(T.pool); /* runs what is still queued (as cancelled calls), joins the workers */
  T.pool = NULL;
  grpc_server_destroy(T.server);
  T.server = NULL;
  if (T.health_server) grpc_server_destroy(T.health_server);
  T.health_server = NULL;
  destroy_cqs();
  ps_health_set_listener(NULL, NULL);
  free(T.methods);
  T.methods = NULL;
  ps_reflection_free();
  grpc_shutdown();
}

void ps_transport_get_stats(ps_transport_stats_t *ret) {
  ret->accepted = atomic_load(&T.accepted);
  ret->shed = atomic_load(&T.shed);
  ret->expired = atomic_load(&T.expired);
  ret->unimplemented = atomic_load(&T.unimplemented);
  ret->ok = atomic_load(&T.ok);
  ret->failed = atomic_load(&T.failed);
  ret->unauthenticated = atomic_load(&T.unauthenticated);
  ret->denied = atomic_load(&T.denied);
  ret->watchers_refused = atomic_load(&T.watchers_refused);
  ret->pending_reply_bytes = atomic_load(&T.pending_reply_bytes);
  ret->call_memory_peak = atomic_load(&T.call_memory_peak);
  pthread_mutex_lock(&T.watch_mu);
  ret->watchers = (uint64_t)T.n_watchers;
  pthread_mutex_unlock(&T.watch_mu);
  long inflight = atomic_load(&T.inflight);
  ret->inflight = inflight > 0 ? (uint64_t)inflight : 0;
  ret->queue_depth = T.pool ? (uint64_t)ps_pool_depth(T.pool) : 0;
  ret->batches = atomic_load(&T.batches);
  ret->batched_calls = atomic_load(&T.batched_calls);
  ret->queue_capacity = (uint64_t)T.cfg.queue;
  ret->workers = (uint64_t)T.cfg.workers;
}

char *ps_transport_channelz(ps_channelz_query_t q, intptr_t id, intptr_t start) {
  if (!T.server) return NULL;
  char *json = NULL;
  switch (q) {
  case PS_CHANNELZ_SERVERS: json = grpc_channelz_get_servers(id); break;
  case PS_CHANNELZ_SERVER: json = grpc_channelz_get_server(id); break;
  case PS_CHANNELZ_SERVER_SOCKETS: json = grpc_channelz_get_server_sockets(id, start, 100); break;
  case PS_CHANNELZ_SOCKET: json = grpc_channelz_get_socket(id); break;
  }
  if (!json) return NULL;
  char *copy = strdup(json); /* gRPC's allocator owns json */
  gpr_free(json);
  return copy;
}
