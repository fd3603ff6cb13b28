/* A Redis connection owned by one worker. Redis is a cache only: every function here fails soft
 * (a dead or slow Redis costs latency, never a failed call). Not thread-safe. Does not log. */
#ifndef PS_CACHE_REDIS_H
#define PS_CACHE_REDIS_H

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

#endif
