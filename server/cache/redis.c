/* One worker's Redis connection (hiredis 0.14: redisConnectWithTimeout + redisSetTimeout).
 * Fails soft: while Redis is down, calls return -1 at once and a new connection is tried at most
 * once per PS_CACHE_RETRY_US, so a dead Redis costs at most one timeout per second per worker. */
#include "cache/redis.h"

#include <hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#define PS_CACHE_RETRY_US 1000000

struct ps_cache {
  redisContext *rc;      /* NULL while disconnected */
  ps_cache_config_t cfg; /* host is borrowed */
  int64_t next_try_us;   /* earliest time of the next connection attempt */
};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timeval tv_of_us(int64_t us) {
  if (us < 1000) us = 1000; /* at least 1 ms: a zero timeval would mean "block forever" */
  struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
  return tv;
}

static int64_t timeout_us(const ps_cache_t *c) {
  return (int64_t)(c->cfg.timeout_ms ? c->cfg.timeout_ms : 50) * 1000;
}

static void cache_drop(ps_cache_t *c) {
  if (c->rc) {
    redisFree(c->rc);
    c->rc = NULL;
  }
  c->next_try_us = now_us() + PS_CACHE_RETRY_US;
}

/* Connects when disconnected and due. 0 when connected; *ret_fresh tells whether it connected now. */
static int cache_ensure(ps_cache_t *c, int *ret_fresh) {
  *ret_fresh = 0;
  if (c->rc) return 0;
  if (c->cfg.port == 0 || now_us() < c->next_try_us) return -1;
  const char *host = c->cfg.host && c->cfg.host[0] ? c->cfg.host : "127.0.0.1";
  redisContext *rc = redisConnectWithTimeout(host, (int)c->cfg.port, tv_of_us(timeout_us(c)));
  if (!rc || rc->err || redisSetTimeout(rc, tv_of_us(timeout_us(c))) != REDIS_OK) {
    if (rc) redisFree(rc);
    c->next_try_us = now_us() + PS_CACHE_RETRY_US;
    return -1;
  }
  c->rc = rc;
  *ret_fresh = 1;
  return 0;
}

ps_cache_t *ps_cache_new(const ps_cache_config_t *cfg) {
  ps_cache_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->cfg = *cfg;
  int fresh;
  (void)cache_ensure(c, &fresh); /* down is fine: retried later */
  return c;
}

void ps_cache_free(ps_cache_t *c) {
  if (!c) return;
  if (c->rc) redisFree(c->rc);
  free(c);
}

int ps_cache_ping(ps_cache_t *c) {
  int64_t start = now_us();
  int fresh;
  if (cache_ensure(c, &fresh) != 0) return -1;
  if (fresh) {
    /* connecting used part of the budget: the command gets what is left */
    int64_t left = timeout_us(c) - (now_us() - start);
    if (redisSetTimeout(c->rc, tv_of_us(left)) != REDIS_OK) {
      cache_drop(c);
      return -1;
    }
  }
  redisReply *r = redisCommand(c->rc, "PING");
  int ok = r && r->type == REDIS_REPLY_STATUS && r->str && strcasecmp(r->str, "PONG") == 0;
  if (r) freeReplyObject(r);
  if (!r || c->rc->err) {
    cache_drop(c); /* timed out or lost: a half-read reply would poison the next command */
    return -1;
  }
  if (fresh && redisSetTimeout(c->rc, tv_of_us(timeout_us(c))) != REDIS_OK) {
    cache_drop(c);
    return -1;
  }
  return ok ? 0 : -1;
}
