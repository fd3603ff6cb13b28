/* A Redis connection owned by one worker. Redis is a cache only: every function here fails soft
 * (a dead or slow Redis costs latency, never a failed call). A circuit breaker shared by all
 * connections of the process stops using Redis for a second after a failure, then lets one
 * command probe it. A handle is not thread-safe (one per worker). Does not log. */
#ifndef PS_CACHE_REDIS_H
#define PS_CACHE_REDIS_H

#include <stddef.h>

typedef struct ps_cache_config {
  const char *host;     /* "127.0.0.1"; borrowed */
  unsigned port;        /* 0: Redis disabled */
  unsigned timeout_ms;  /* connect and command timeout */
} ps_cache_config_t;

typedef struct ps_cache ps_cache_t;

/* Creates a handle and tries to connect; returned even when Redis is down (it retries later).
 * NULL only when out of memory. */
ps_cache_t *ps_cache_new(const ps_cache_config_t *cfg);

/* Closes and frees. Accepts NULL. */
void ps_cache_free(ps_cache_t *c);

/* 0 when Redis answers PING now, -1 otherwise (never blocks longer than timeout_ms). */
int ps_cache_ping(ps_cache_t *c);

/* GET key. 1 with the value in out (NUL-terminated), 0 when the key is missing or holds something
 * that is not a string of fewer than outsz bytes (garbage is a miss), -1 when Redis is unavailable
 * or the circuit breaker is open. */
int ps_cache_get(ps_cache_t *c, const char *key, char *out, size_t outsz);

/* Stores "<version>|<payload>" (payload: two flag digits, "0" or "1" each) under key for ttl_ms
 * unless the key already holds a value of exactly that form with an equal or higher version (one
 * atomic script), so a reader holding an old value never overwrites a newer one; any other content
 * of the key (garbage, another type) is replaced. 0 when Redis answered (stored or not), -1 when
 * unavailable. */
int ps_cache_put_versioned(ps_cache_t *c, const char *key, unsigned long long version,
                           const char *payload, unsigned ttl_ms);

/* Counters of this process (all connections): commands sent, failed (timeout, connection lost or
 * refused) and skipped because the breaker was open. */
typedef struct ps_cache_stats {
  unsigned long long commands;
  unsigned long long failures;
  unsigned long long skipped;
} ps_cache_stats_t;
void ps_cache_get_stats(ps_cache_stats_t *ret);

#endif
