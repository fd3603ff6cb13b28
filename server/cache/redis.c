/* One worker's Redis connection (hiredis 0.14: redisConnectWithTimeout + redisSetTimeout).
 * Fails soft: while Redis is down, calls return -1 at once and a new connection is tried at most
 * once per PS_CACHE_RETRY_US, so a dead Redis costs at most one timeout per second per worker. */
#include "cache/redis.h"

#include <errno.h>
#include <hiredis.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#define PS_CACHE_RETRY_US 1000000
#define STR_(x) #x
#define STR(x) STR_(x)
#define PS_CACHE_HEAD_STR STR(PS_CACHE_HEAD)

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

/* The breaker, shared by every connection: Redis is not used before breaker_until (monotonic µs);
 * after that one caller wins the right to probe it by moving the mark forward. */
static _Atomic int64_t breaker_until;
static atomic_ullong n_commands, n_failures, n_skipped;

static void breaker_trip(void) {
  atomic_store(&breaker_until, now_us() + PS_CACHE_RETRY_US);
  atomic_fetch_add(&n_failures, 1);
}

/* 1 when this caller may use Redis now (closed, or the probe after an open period). */
static int breaker_allows(void) {
  int64_t until = atomic_load(&breaker_until);
  if (until == 0) return 1;
  int64_t now = now_us();
  if (now < until) {
    atomic_fetch_add(&n_skipped, 1);
    return 0;
  }
  /* half-open: the first caller probes, the others wait for its verdict */
  if (atomic_compare_exchange_strong(&breaker_until, &until, now + PS_CACHE_RETRY_US)) return 1;
  atomic_fetch_add(&n_skipped, 1);
  return 0;
}

static void breaker_ok(void) {
  if (atomic_load(&breaker_until) != 0) atomic_store(&breaker_until, 0);
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
  if (c->cfg.password && c->cfg.password[0]) {
    /* AUTH [user] password before anything else; a refused AUTH is a failed connection */
    int with_user = c->cfg.user && c->cfg.user[0];
    const char *argv[3] = {"AUTH", with_user ? c->cfg.user : c->cfg.password, c->cfg.password};
    size_t lens[3] = {4, strlen(argv[1]), strlen(c->cfg.password)};
    redisReply *r = redisCommandArgv(rc, with_user ? 3 : 2, argv, lens);
    int ok = r && r->type == REDIS_REPLY_STATUS && rc->err == 0;
    if (r) freeReplyObject(r);
    if (!ok) {
      redisFree(rc);
      c->next_try_us = now_us() + PS_CACHE_RETRY_US;
      return -1;
    }
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

/* Runs one command (argv form) under the breaker; the reply or NULL (breaker tripped). */
/* 1 when the connection failed because the peer closed or reset it (a restarted Redis), as
 * opposed to a timeout (a hung or slow Redis): only then is an immediate reconnect worth it. */
static int peer_gone(const redisContext *rc, int saved_errno) {
  if (rc->err == REDIS_ERR_EOF) return 1;
  return rc->err == REDIS_ERR_IO && saved_errno != EAGAIN && saved_errno != EWOULDBLOCK &&
         saved_errno != EINPROGRESS && saved_errno != 0;
}

static redisReply *command(ps_cache_t *c, int argc, const char **argv, const size_t *lens) {
  if (c->cfg.port == 0 || !breaker_allows()) return NULL;
  for (int attempt = 0;; attempt++) {
    int64_t start = now_us();
    int fresh;
    if (cache_ensure(c, &fresh) != 0) {
      breaker_trip();
      return NULL;
    }
    if (fresh) {
      int64_t left = timeout_us(c) - (now_us() - start);
      if (redisSetTimeout(c->rc, tv_of_us(left)) != REDIS_OK) {
        cache_drop(c);
        breaker_trip();
        return NULL;
      }
    }
    atomic_fetch_add(&n_commands, 1);
    errno = 0;
    redisReply *r = redisCommandArgv(c->rc, argc, argv, lens);
    int saved_errno = errno;
    if (!r || c->rc->err) {
      if (r) freeReplyObject(r);
      /* an idle connection to a Redis that has since restarted: reconnect once, right away */
      int retry = !fresh && attempt == 0 && peer_gone(c->rc, saved_errno);
      cache_drop(c); /* timed out or lost: a half-read reply would poison the next command */
      if (retry) {
        c->next_try_us = 0;
        continue;
      }
      breaker_trip();
      return NULL;
    }
    if (fresh && redisSetTimeout(c->rc, tv_of_us(timeout_us(c))) != REDIS_OK) {
      freeReplyObject(r);
      cache_drop(c);
      breaker_trip();
      return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR && r->str &&
        (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "WRONGPASS", 9) == 0 ||
         strncmp(r->str, "NOPERM", 6) == 0)) {
      /* Redis answers but will not serve us (AUTH missing or refused, ACL): unavailable */
      freeReplyObject(r);
      cache_drop(c);
      breaker_trip();
      return NULL;
    }
    breaker_ok();
    return r;
  }
}

int ps_cache_get(ps_cache_t *c, const char *key, char out[PS_CACHE_HEAD + 1], size_t *ret_len) {
  char end[16];
  snprintf(end, sizeof end, "%d", PS_CACHE_HEAD - 1);
  const char *argv[4] = {"GETRANGE", key, "0", end};
  size_t lens[4] = {8, strlen(key), 1, strlen(end)};
  redisReply *r = command(c, 4, argv, lens);
  if (!r) return -1;
  int rc = PS_CACHE_MISSING;
  *ret_len = 0;
  out[0] = '\0';
  if (r->type == REDIS_REPLY_STRING && r->len > 0 && (size_t)r->len <= PS_CACHE_HEAD) {
    memcpy(out, r->str, (size_t)r->len);
    out[r->len] = '\0';
    *ret_len = (size_t)r->len;
    rc = PS_CACHE_STRING;
  } else if (r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "WRONGTYPE", 9) == 0) {
    rc = PS_CACHE_OTHER_TYPE;
  }
  freeReplyObject(r);
  return rc;
}

/* KEYS[1] key, ARGV[1] value, ARGV[2] ttl ms, ARGV[3] version. Only a value of the form this
 * service writes ("<1-19 digit version>|...") can block the write; anything else in the key is
 * garbage and is replaced. (A well-formed value planted with a high version blocks it too: readers
 * find its tag wrong and repair it with ps_cache_replace.) */
static const char put_script[] =
    "local t = redis.call('TYPE', KEYS[1])['ok'] "
    "if t == 'string' then "
    "  local d = string.match(redis.call('GETRANGE', KEYS[1], 0, 31), '^(%d+)|') "
    "  if d and #d <= 19 and tonumber(d) >= tonumber(ARGV[3]) then return 0 end "
    "elseif t ~= 'none' then "
    "  redis.call('DEL', KEYS[1]) " /* a wrong type would otherwise stay for good */
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "return 1";

/* KEYS[1] key, ARGV[1] value, ARGV[2] ttl ms, ARGV[3] what was found ("string" or "other"),
 * ARGV[4] the head of the string found: compare and set. */
static const char replace_script[] =
    "local t = redis.call('TYPE', KEYS[1])['ok'] "
    "if t == 'string' then "
    "  if ARGV[3] ~= 'string' or redis.call('GETRANGE', KEYS[1], 0, " PS_CACHE_HEAD_STR " - 1) ~= ARGV[4] then return 0 end "
    "elseif t ~= 'none' then "
    "  if ARGV[3] ~= 'other' then return 0 end "
    "  redis.call('DEL', KEYS[1]) "
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "return 1";

/* Runs script with KEYS[1] = key and ARGV = value, ttl and extra[0..n_extra) (binary-safe with
 * extra_lens); 0 when Redis answered, -1 when unavailable. */
static int eval_script(ps_cache_t *c, const char *script, size_t script_len, const char *key,
                       const char *value, unsigned ttl_ms, int n_extra, const char **extra,
                       const size_t *extra_lens) {
  char ttl[16];
  snprintf(ttl, sizeof ttl, "%u", ttl_ms ? ttl_ms : 1);
  const char *argv[8] = {"EVAL", script, "1", key, value, ttl};
  size_t lens[8] = {4, script_len, 1, strlen(key), strlen(value), strlen(ttl)};
  for (int i = 0; i < n_extra && i < 2; i++) {
    argv[6 + i] = extra[i];
    lens[6 + i] = extra_lens[i];
  }
  redisReply *r = command(c, 6 + (n_extra < 2 ? n_extra : 2), argv, lens);
  if (!r) return -1;
  freeReplyObject(r); /* an error reply here (e.g. WRONGTYPE) is Redis answering: not a failure */
  return 0;
}

int ps_cache_put_versioned(ps_cache_t *c, const char *key, unsigned long long version,
                           const char *value, unsigned ttl_ms) {
  char v[24];
  snprintf(v, sizeof v, "%llu", version);
  const char *extra[1] = {v};
  size_t extra_lens[1] = {strlen(v)};
  return eval_script(c, put_script, sizeof put_script - 1, key, value, ttl_ms, 1, extra, extra_lens);
}

int ps_cache_replace(ps_cache_t *c, const char *key, ps_cache_found_t found, const char *head,
                     size_t head_len, const char *value, unsigned ttl_ms) {
  const char *what = found == PS_CACHE_OTHER_TYPE ? "other" : "string";
  const char *extra[2] = {what, head ? head : ""};
  size_t extra_lens[2] = {strlen(what), head ? head_len : 0};
  return eval_script(c, replace_script, sizeof replace_script - 1, key, value, ttl_ms, 2, extra,
                     extra_lens);
}

int ps_cache_set(ps_cache_t *c, const char *key, const char *value, unsigned ttl_ms) {
  char ttl[16];
  snprintf(ttl, sizeof ttl, "%u", ttl_ms ? ttl_ms : 1);
  const char *argv[5] = {"SET", key, value, "PX", ttl};
  size_t lens[5] = {3, strlen(key), strlen(value), 2, strlen(ttl)};
  redisReply *r = command(c, 5, argv, lens);
  if (!r) return -1;
  freeReplyObject(r);
  return 0;
}

void ps_cache_get_stats(ps_cache_stats_t *ret) {
  ret->commands = atomic_load(&n_commands);
  ret->failures = atomic_load(&n_failures);
  ret->skipped = atomic_load(&n_skipped);
}

int ps_cache_breaker_open(void) { return atomic_load(&breaker_until) != 0; }
