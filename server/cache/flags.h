/* The in-process tier of the tenant apps cache (S4, S8): a table shared by all workers that holds
 * each tenant's flags for at most PS_FLAGS_LOCAL_TTL_MS, and makes concurrent misses of one tenant
 * wait for a single loader (single-flight) instead of each reading Redis/MySQL. The loading itself
 * (Redis, then MySQL) is the service layer's (service/apps.c). Thread-safe. Does not log. */
#ifndef PS_CACHE_FLAGS_H
#define PS_CACHE_FLAGS_H

#include <stdint.h>

/* How long an entry is trusted. Another replica's change reaches this process within this time
 * after the writer has updated Redis. An entry lives between TTL - JITTER and TTL from its fill: the
 * tenants loaded together (a restart, a burst of calls) would otherwise expire together, and the
 * calls that come next would all reload them at once, every TTL. With 100 tenants under GetProspect
 * at 17,000 calls/s, that was a stall of the reading workers every 512 ms (Redis round trips, one
 * per tenant, in the batches that met the expiry), in which every call took 2-10 ms. */
#define PS_FLAGS_LOCAL_TTL_MS 500
#define PS_FLAGS_LOCAL_TTL_JITTER_MS 100

typedef struct ps_flags {
  int prospects;       /* the "Prospects" app is on */
  int quote_requests;  /* the "Quote requests" app is on */
  uint64_t version;    /* the tenant_apps row version (0: no row) */
} ps_flags_t;

typedef enum ps_flags_lookup {
  PS_FLAGS_HIT = 0,    /* *ret holds fresh flags */
  PS_FLAGS_LOAD = 1,   /* the caller is now the loader: it must call ps_flags_fill or
                          ps_flags_abandon for this tenant */
  PS_FLAGS_BUSY = 2,   /* (ps_flags_try only) another thread is loading it */
} ps_flags_lookup_t;

/* Looks tenant up. When another thread is loading it, waits (until deadline_ms, CLOCK_MONOTONIC ms)
 * for that load and returns its result; when that load fails or the wait ends, the caller becomes
 * the loader. */
ps_flags_lookup_t ps_flags_lookup(const char *tenant, int64_t deadline_ms, ps_flags_t *ret);

/* Like ps_flags_lookup, but never waits: HIT, LOAD (the caller is now the loader), or BUSY when
 * another thread is loading the tenant. For loading many tenants at once (service/apps.c). */
ps_flags_lookup_t ps_flags_try(const char *tenant, ps_flags_t *ret);

/* Ends a load with the flags read (or sets them after a write: the writer's own process sees its
 * change at once). Wakes the waiters. */
void ps_flags_fill(const char *tenant, const ps_flags_t *flags);

/* Ends a load that failed; one waiter takes over. */
void ps_flags_abandon(const char *tenant);

/* Refresh ahead. While a refresher runs (apps_sync.c, when Redis is configured), a lookup that finds
 * an entry within PS_FLAGS_REFRESH_AHEAD_MS of its expiry is still a hit, and it queues the tenant
 * for the refresher, which reads Redis and renews the entry before it expires: under steady calls a
 * tenant's flags are then never loaded on a call's path. A refresh that finds nothing usable leaves
 * the entry to expire, and the next call loads it as before; so do tenants without a row (version
 * 0), for which Redis holds no key. */
#define PS_FLAGS_REFRESH_AHEAD_MS 150
#define PS_FLAGS_REFRESH_MAX 1024 /* tenants queued at most; more wait for their next lookup */

/* Turns the queueing of refreshes on (a refresher runs) or off (it stopped; the queue is emptied). */
void ps_flags_refresh_enable(int on);

/* Waits until a tenant is queued, ps_flags_refresh_wake is called or timeout_ms has passed, then
 * takes up to max queued tenants into tenants (copied); returns how many. */
int ps_flags_refresh_take(int max, char tenants[][64], int timeout_ms);

/* Wakes a ps_flags_refresh_take that waits (to stop its thread). */
void ps_flags_refresh_wake(void);

/* Renews a queued tenant with flags read ahead of its expiry, unless the entry holds a newer
 * version or is being loaded (that load fills it). */
void ps_flags_refresh_fill(const char *tenant, const ps_flags_t *flags);

/* Ends a queued refresh that found nothing usable: the entry expires as usual. */
void ps_flags_refresh_skip(const char *tenant);

/* Writes to Redis that failed (Redis down or hung when the flags changed). Until such a write has
 * been made, Redis may hold an older value for the tenant, so loads of it skip Redis, and the
 * write is retried as soon as Redis answers again. At most PS_FLAGS_PENDING_MAX are kept (the
 * oldest is dropped: its Redis entry then ages out within its TTL). */
#define PS_FLAGS_PENDING_MAX 4096

/* Remembers that flags (a newer version replaces an older one) still have to reach Redis. */
void ps_flags_pending_add(const char *tenant, const ps_flags_t *flags);
/* 1 when the tenant has a write waiting (Redis must not be trusted for it), else 0. */
int ps_flags_pending_has(const char *tenant);
/* Takes up to max pending writes out of the list into out (tenant names copied into tenants[i]);
 * returns how many. The caller puts them back with ps_flags_pending_add when its write fails. */
int ps_flags_pending_take(int max, char tenants[][64], ps_flags_t *out);
/* Number of pending writes (cheap: one atomic read). */
int ps_flags_pending_count(void);

/* Counters of the flags cache (this process). The service layer adds to them. */
typedef struct ps_flags_stats {
  unsigned long long local_hits;     /* served from process memory */
  unsigned long long waits;          /* joined another thread's load */
  unsigned long long redis_hits;     /* loaded from Redis */
  unsigned long long redis_misses;   /* Redis answered without a usable value */
  unsigned long long redis_garbage;  /* of which a value this service did not write (repaired) */
  unsigned long long fallbacks;      /* Redis unavailable: went to MySQL */
  unsigned long long mysql_reads;    /* loads that read MySQL */
  unsigned long long mysql_batches;  /* statements that read the apps of several tenants at once */
  unsigned long long invalidations;  /* writes that replaced the cached flags */
  unsigned long long refreshes;      /* entries renewed from Redis ahead of their expiry */
} ps_flags_stats_t;

typedef enum {
  PS_FLAGS_STAT_REDIS_HIT,
  PS_FLAGS_STAT_REDIS_MISS,
  PS_FLAGS_STAT_REDIS_GARBAGE,
  PS_FLAGS_STAT_FALLBACK,
  PS_FLAGS_STAT_MYSQL_READ,
  PS_FLAGS_STAT_INVALIDATION,
  PS_FLAGS_STAT_MYSQL_BATCH,
} ps_flags_stat_t;

void ps_flags_count(ps_flags_stat_t which);
void ps_flags_get_stats(ps_flags_stats_t *ret);

/* Frees every entry (at exit, when no thread uses the table any more). */
void ps_flags_clear(void);

#endif
