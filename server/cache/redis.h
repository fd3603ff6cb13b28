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
  const char *user;     /* ACL user for AUTH, or NULL/"" (the default user) */
  const char *password; /* AUTH password, or NULL/"" (no AUTH); borrowed, never logged */
} ps_cache_config_t;

typedef struct ps_cache ps_cache_t;

/* Creates a handle and tries to connect; returned even when Redis is down (it retries later).
 * NULL only when out of memory. */
ps_cache_t *ps_cache_new(const ps_cache_config_t *cfg);

/* Closes and frees. Accepts NULL. */
void ps_cache_free(ps_cache_t *c);

/* 0 when Redis answers PING now, -1 otherwise (never blocks longer than timeout_ms). */
int ps_cache_ping(ps_cache_t *c);

/* The first PS_CACHE_HEAD bytes of a key's value are all a get reads: a huge value planted in
 * Redis costs nothing (the values this service writes are far shorter). */
#define PS_CACHE_HEAD 128

typedef enum ps_cache_found {
  PS_CACHE_MISSING = 0,    /* no key, or an empty string */
  PS_CACHE_STRING = 1,     /* a string: its first bytes are in the buffer */
  PS_CACHE_OTHER_TYPE = 2, /* a key of another type (a list, a hash, ...) */
} ps_cache_found_t;

/* Reads the head of key's value into out (NUL-terminated; out must hold PS_CACHE_HEAD + 1 bytes;
 * *ret_len: bytes read, which may include NUL bytes). Returns a ps_cache_found_t, or -1 when Redis is
 * unavailable or the circuit breaker is open. */
int ps_cache_get(ps_cache_t *c, const char *key, char out[PS_CACHE_HEAD + 1], size_t *ret_len);

/* Values handled by the put functions have the form "<version>|<anything>" (version: 1-19
 * decimal digits). */

/* Stores value under key for ttl_ms unless the key already holds a value of that form whose version
 * is equal or higher (one atomic script), so a reader holding an old value never overwrites a newer
 * one; any other content of the key (garbage, another type) is replaced. 0 when Redis answered
 * (stored or not), -1 when unavailable. */
int ps_cache_put_versioned(ps_cache_t *c, const char *key, unsigned long long version,
                           const char *value, unsigned ttl_ms);

/* Stores value under key for ttl_ms, whatever the key holds (a writer's own change). 0 when Redis
 * answered, -1 when unavailable. */
int ps_cache_set(ps_cache_t *c, const char *key, const char *value, unsigned ttl_ms);

/* Replaces the key's content with value (ttl_ms) only while it still is what ps_cache_get found
 * (found, and for a string the same head[0..head_len)), in one atomic script: the repair of a value
 * found to be garbage, which never overwrites a change made since. 0 when Redis answered (replaced
 * or not), -1 when unavailable. */
int ps_cache_replace(ps_cache_t *c, const char *key, ps_cache_found_t found, const char *head,
                     size_t head_len, const char *value, unsigned ttl_ms);

/* Counters of this process (all connections): commands sent, failed (timeout, connection lost or
 * refused) and skipped because the breaker was open. */
typedef struct ps_cache_stats {
  unsigned long long commands;
  unsigned long long failures;
  unsigned long long skipped;
} ps_cache_stats_t;
void ps_cache_get_stats(ps_cache_stats_t *ret);
/* 1 while the breaker is not closed: Redis failed and has not answered since (it is skipped, or
 * one call is probing it). */
int ps_cache_breaker_open(void);

#endif
