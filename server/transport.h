/* The gRPC server: the only code that includes <grpc/grpc.h>. Transport threads (one completion
 * queue each) accept calls and read requests; a bounded pool of workers (each with its own MySQL
 * and Redis connection) runs the handlers and starts the reply itself (a coalesced batch's replies
 * go back to the transport thread, which starts them). Also serves
 * grpc.health.v1.Health (Check and Watch) and answers unknown methods with UNIMPLEMENTED. */
#ifndef PS_TRANSPORT_H
#define PS_TRANSPORT_H

#include <stdint.h>

#include <stddef.h>

#include "cache/redis.h"
#include "core/status.h"
#include "store/db.h"

typedef struct ps_transport_config {
  const char *listen;       /* host:port */
  const char *health_listen;/* host:port of a plaintext server for grpc.health.v1 only ("" : none) */
  int cq_threads;           /* completion queues / transport threads */
  int workers;              /* handler threads */
  int read_workers;         /* of which at most this many run coalescable reads at once */
  int queue;                /* pool queue bound */
  int max_recv_bytes;       /* receive-size limit */
  size_t call_memory_bytes; /* memory budget of one call's arena (0: none) */
  size_t max_reply_bytes;   /* byte cap of a page of a List method */
  size_t max_pending_reply_bytes; /* replies waiting for their readers before new calls are shed */
  int plaintext;            /* 1: no TLS */
  const char *tls_cert;     /* server certificate chain, key and client CA files (TLS) */
  const char *tls_key;
  const char *tls_client_ca;
  int tls_reload_s;         /* how often they are checked for changes */
  int max_streams;          /* HTTP/2 concurrent streams per connection */
  int max_watchers;         /* open health Watch streams in all */
  int max_server_streams;   /* server-streaming service calls (exports) at once */
  int keepalive_ms;         /* ping a quiet connection after this long */
  int keepalive_timeout_ms; /* close it when the ping is not answered within this */
  int min_ping_interval_ms; /* client pings closer together than this are strikes */
  int max_idle_ms;          /* close connections without calls after this long (0: never) */
  int max_age_ms;           /* ask connections older than this to go away (0: never) */
  int max_age_grace_ms;     /* time their calls get to finish */
  size_t grpc_memory_bytes; /* gRPC's buffers, all connections together */
  ps_db_config_t db;        /* each worker's MySQL connection */
  ps_cache_config_t cache;  /* each worker's Redis connection */
} ps_transport_config_t;

/* Counters readable while serving (e.g. by tests through logs, later by metrics). */
typedef struct ps_transport_stats {
  uint64_t accepted;        /* calls accepted for a handler */
  uint64_t shed;            /* calls refused because the queue was full */
  uint64_t expired;         /* calls whose deadline passed (or that were cancelled) before a worker took them */
  uint64_t unimplemented;   /* unknown methods */
  uint64_t ok;              /* handled calls answered OK */
  uint64_t failed;          /* handled calls answered with another status */
  uint64_t unauthenticated; /* calls refused: no verified client certificate */
  uint64_t denied;          /* calls refused by the authorization policy */
  uint64_t watchers_refused;/* health Watch streams refused (too many open) */
  uint64_t pending_reply_bytes; /* bytes of replies not yet taken by their readers (a gauge) */
  uint64_t watchers;        /* open health Watch streams (a gauge) */
  uint64_t call_memory_peak;/* most arena memory one call has held so far, bytes */
  uint64_t inflight;        /* unary calls accepted and not yet released (a gauge) */
  uint64_t queue_depth;     /* calls waiting for a worker (a gauge) */
  uint64_t queue_capacity;  /* how many may wait (PS_QUEUE) */
  uint64_t workers;         /* handler threads (PS_WORKERS) */
  uint64_t batches;         /* batches of calls whose records were read together */
  uint64_t batched_calls;   /* the calls those batches held */
} ps_transport_stats_t;

/* Initialises gRPC, binds cfg->listen and starts serving. Strings in cfg must outlive the
 * transport. 0, or -1 with st set (UNAVAILABLE: cannot listen; INTERNAL: out of resources); on
 * failure nothing is left running. Signals must be blocked by the caller beforehand. */
int ps_transport_start(const ps_transport_config_t *cfg, ps_status_t *st);

/* The port actually bound (useful with port 0). */
int ps_transport_port(void);

/* The port of the health-only server (0 when there is none). */
int ps_transport_health_port(void);

/* Stops accepting calls, lets in-flight calls finish for up to grace_ms, cancels the rest, stops
 * all threads and shuts gRPC down. Call once, from the thread that started it. */
void ps_transport_shutdown(int grace_ms);

void ps_transport_get_stats(ps_transport_stats_t *ret);

/* Channelz (gRPC core's own view of its servers and their connections), as the JSON of the
 * grpc.channelz.v1 response messages (proto3 JSON mapping), for obs/http.c. */
typedef enum ps_channelz_query {
  PS_CHANNELZ_SERVERS,        /* GetServersResponse from server id `id` on */
  PS_CHANNELZ_SERVER,         /* GetServerResponse of server `id` */
  PS_CHANNELZ_SERVER_SOCKETS, /* GetServerSocketsResponse of server `id` from socket `start` on */
  PS_CHANNELZ_SOCKET,         /* GetSocketResponse of socket `id` */
} ps_channelz_query_t;

/* A malloc'd JSON string the caller frees, or NULL (out of memory, or not serving). Thread-safe
 * while the transport runs. */
char *ps_transport_channelz(ps_channelz_query_t q, intptr_t id, intptr_t start);

#endif
