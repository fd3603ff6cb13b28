#include "cache/flags.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hash.h"

#define N_STRIPES 64          /* mutex stripes; each guards a share of the buckets */
#define N_BUCKETS 4096        /* a power of two */

/* One tenant's cached flags. */
typedef struct entry {
  struct entry *next;      /* chain of its bucket */
  char tenant[64];
  ps_flags_t flags;
  int64_t expires_ms;      /* CLOCK_MONOTONIC; 0 while never filled */
  int64_t refresh_ms;      /* from then on a hit queues a refresh (refresh ahead) */
  int refresh_queued;      /* in the refresh queue, or being refreshed */
  int loading;             /* a thread is loading it */
} entry_t;

static struct {
  pthread_mutex_t mu[N_STRIPES];
  pthread_cond_t filled[N_STRIPES]; /* broadcast when an entry of the stripe is filled/abandoned */
  entry_t *buckets[N_BUCKETS];
} F;

/* The refresh queue (refresh ahead): tenants whose entries a refresher renews. Its lock is taken
 * inside a stripe's, never the other way round. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t queued; /* signalled when the queue becomes non-empty, or by ps_flags_refresh_wake */
  char tenants[PS_FLAGS_REFRESH_MAX][64];
  int head, n;
  int woken;
  atomic_int enabled;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_ullong s_local_hits, s_waits, s_redis_hits, s_redis_misses, s_redis_garbage, s_fallbacks,
    s_mysql_reads, s_mysql_batches, s_invalidations, s_refreshes;

static void init(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  for (int i = 0; i < N_STRIPES; i++) {
    pthread_mutex_init(&F.mu[i], NULL);
    pthread_cond_init(&F.filled[i], &attr);
  }
  pthread_cond_init(&R.queued, &attr);
  pthread_condattr_destroy(&attr);
}

/* Locks the stripe of tenant's bucket: the bucket, and the stripe in *ret_stripe (to unlock). */
static size_t lock_tenant(const char *tenant, int *ret_stripe) {
  pthread_once(&once, init);
  size_t b = (size_t)(ps_hash64(tenant, strlen(tenant), PS_HASH_SEED) & (N_BUCKETS - 1));
  *ret_stripe = (int)(b % N_STRIPES);
  pthread_mutex_lock(&F.mu[*ret_stripe]);
  return b;
}

/* Finds the tenant's entry in bucket b (stripe lock held); creates one when create is set, dropping
 * expired idle entries of the chain on the way so the table does not keep tenants gone quiet. */
static entry_t *find(size_t b, const char *tenant, int create, int64_t now) {
  entry_t **pp = &F.buckets[b];
  while (*pp) {
    entry_t *e = *pp;
    if (strcmp(e->tenant, tenant) == 0) return e;
    if (create && !e->loading && e->expires_ms + 60000 < now) { /* quiet for a minute */
      *pp = e->next;
      free(e);
      continue;
    }
    pp = &e->next;
  }
  if (!create || strlen(tenant) >= sizeof((entry_t *)0)->tenant) return NULL;
  entry_t *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  strcpy(e->tenant, tenant);
  e->next = F.buckets[b];
  F.buckets[b] = e;
  return e;
}

/* A hit on e (its stripe locked): queues its refresh once it is within PS_FLAGS_REFRESH_AHEAD_MS of
 * its expiry, while a refresher runs. A full queue leaves it for a later hit. Not a tenant without
 * a row (version 0): Redis holds no key for those, so a call loads them as before. */
static void maybe_refresh(entry_t *e, int64_t now) {
  if (now < e->refresh_ms || e->refresh_queued || e->loading || e->flags.version == 0 ||
      !atomic_load(&R.enabled))
    return;
  pthread_mutex_lock(&R.mu);
  if (R.n < PS_FLAGS_REFRESH_MAX) {
    strcpy(R.tenants[(R.head + R.n) % PS_FLAGS_REFRESH_MAX], e->tenant);
    if (R.n++ == 0) pthread_cond_signal(&R.queued);
    e->refresh_queued = 1;
  }
  pthread_mutex_unlock(&R.mu);
}

ps_flags_lookup_t ps_flags_lookup(const char *tenant, int64_t deadline_ms, ps_flags_t *ret) {
  int s;
  size_t b = lock_tenant(tenant, &s);
  int64_t now = ps_mono_ms();
  entry_t *e = find(b, tenant, 1, now);
  if (!e) { /* out of memory: load without the table */
    pthread_mutex_unlock(&F.mu[s]);
    return PS_FLAGS_LOAD;
  }
  int waited = 0;
  for (;;) {
    if (e->expires_ms > now) {
      *ret = e->flags;
      maybe_refresh(e, now);
      pthread_mutex_unlock(&F.mu[s]);
      atomic_fetch_add(waited ? &s_waits : &s_local_hits, 1);
      return PS_FLAGS_HIT;
    }
    if (!e->loading || now >= deadline_ms) break;
    struct timespec until = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&F.filled[s], &F.mu[s], &until);
    waited = 1;
    now = ps_mono_ms();
    e = find(b, tenant, 1, now);
    if (!e) {
      pthread_mutex_unlock(&F.mu[s]);
      return PS_FLAGS_LOAD;
    }
  }
  e->loading = 1;
  pthread_mutex_unlock(&F.mu[s]);
  return PS_FLAGS_LOAD;
}

ps_flags_lookup_t ps_flags_try(const char *tenant, ps_flags_t *ret) {
  int s;
  size_t b = lock_tenant(tenant, &s);
  int64_t now = ps_mono_ms();
  entry_t *e = find(b, tenant, 1, now);
  ps_flags_lookup_t rc = PS_FLAGS_LOAD;
  if (!e) {
    rc = PS_FLAGS_BUSY; /* out of memory: leave the tenant to its calls' own loads */
  } else if (e->expires_ms > now) {
    *ret = e->flags;
    maybe_refresh(e, now);
    rc = PS_FLAGS_HIT;
  } else if (e->loading) {
    rc = PS_FLAGS_BUSY;
  } else {
    e->loading = 1;
  }
  pthread_mutex_unlock(&F.mu[s]);
  return rc; /* not counted: the calls' own lookups are */
}

/* How much sooner than PS_FLAGS_LOCAL_TTL_MS this fill of tenant expires: spread over the jitter by
 * the tenant and the time, so that entries filled together expire apart. */
static int64_t ttl_jitter_ms(const char *tenant, int64_t now) {
  return (int64_t)(ps_hash64(tenant, strlen(tenant), (uint64_t)now) % PS_FLAGS_LOCAL_TTL_JITTER_MS);
}

/* Fills e (its stripe locked) with flags read at about now. */
static void set_flags(entry_t *e, const ps_flags_t *flags, int64_t now) {
  e->flags = *flags;
  e->expires_ms = now + PS_FLAGS_LOCAL_TTL_MS - ttl_jitter_ms(e->tenant, now);
  e->refresh_ms = e->expires_ms - PS_FLAGS_REFRESH_AHEAD_MS;
  e->loading = 0;
}

void ps_flags_fill(const char *tenant, const ps_flags_t *flags) {
  int s;
  size_t b = lock_tenant(tenant, &s);
  int64_t now = ps_mono_ms();
  entry_t *e = find(b, tenant, 1, now);
  if (e) set_flags(e, flags, now);
  pthread_cond_broadcast(&F.filled[s]);
  pthread_mutex_unlock(&F.mu[s]);
}

void ps_flags_abandon(const char *tenant) {
  int s;
  size_t b = lock_tenant(tenant, &s);
  entry_t *e = find(b, tenant, 0, 0);
  if (e) e->loading = 0;
  pthread_cond_broadcast(&F.filled[s]);
  pthread_mutex_unlock(&F.mu[s]);
}

/* ---- refresh ahead */

/* Takes the oldest queued tenant into out (R.mu held): 1, or 0 when none is queued. */
static int refresh_pop_locked(char out[64]) {
  if (R.n == 0) return 0;
  strcpy(out, R.tenants[R.head]);
  R.head = (R.head + 1) % PS_FLAGS_REFRESH_MAX;
  R.n--;
  return 1;
}

void ps_flags_refresh_enable(int on) {
  pthread_once(&once, init);
  atomic_store(&R.enabled, on);
  if (on) return;
  /* the queued tenants are refreshed no more: their entries expire as usual */
  char tenant[64];
  for (;;) {
    pthread_mutex_lock(&R.mu);
    int more = refresh_pop_locked(tenant);
    pthread_mutex_unlock(&R.mu);
    if (!more) break;
    ps_flags_refresh_skip(tenant);
  }
}

int ps_flags_refresh_take(int max, char tenants[][64], int timeout_ms) {
  pthread_once(&once, init);
  struct timespec until = ps_time_in_ms(CLOCK_MONOTONIC, timeout_ms); /* R.queued's clock */
  pthread_mutex_lock(&R.mu);
  while (R.n == 0 && !R.woken && pthread_cond_timedwait(&R.queued, &R.mu, &until) == 0) {
  }
  R.woken = 0;
  int n = 0;
  while (n < max && refresh_pop_locked(tenants[n])) n++;
  pthread_mutex_unlock(&R.mu);
  return n;
}

void ps_flags_refresh_wake(void) {
  pthread_once(&once, init);
  pthread_mutex_lock(&R.mu);
  R.woken = 1;
  pthread_cond_signal(&R.queued);
  pthread_mutex_unlock(&R.mu);
}

void ps_flags_refresh_fill(const char *tenant, const ps_flags_t *flags) {
  int s;
  size_t b = lock_tenant(tenant, &s);
  int64_t now = ps_mono_ms();
  entry_t *e = find(b, tenant, 0, now);
  if (e) {
    /* not over a change made meanwhile (a newer version), nor over an expired entry whose load
     * has begun (the loader fills it) */
    if (e->refresh_queued && !e->loading && flags->version >= e->flags.version) {
      set_flags(e, flags, now);
      atomic_fetch_add(&s_refreshes, 1);
    }
    e->refresh_queued = 0;
  }
  pthread_mutex_unlock(&F.mu[s]);
}

void ps_flags_refresh_skip(const char *tenant) {
  int s;
  size_t b = lock_tenant(tenant, &s);
  entry_t *e = find(b, tenant, 0, 0);
  if (e) e->refresh_queued = 0;
  pthread_mutex_unlock(&F.mu[s]);
}

/* ---- pending Redis writes: a small FIFO of (tenant, flags), one entry per tenant */

typedef struct pending {
  char tenant[64];
  ps_flags_t flags;
} pending_t;

static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static pending_t pending[PS_FLAGS_PENDING_MAX];
static int pending_head, pending_n; /* ring buffer */
static atomic_int pending_count;

static int pending_find(const char *tenant) {
  for (int i = 0; i < pending_n; i++) {
    int k = (pending_head + i) % PS_FLAGS_PENDING_MAX;
    if (strcmp(pending[k].tenant, tenant) == 0) return k;
  }
  return -1;
}

void ps_flags_pending_add(const char *tenant, const ps_flags_t *flags) {
  if (strlen(tenant) >= sizeof pending[0].tenant) return;
  pthread_mutex_lock(&pending_mu);
  int k = pending_find(tenant);
  if (k >= 0) {
    if (flags->version >= pending[k].flags.version) pending[k].flags = *flags;
  } else {
    if (pending_n == PS_FLAGS_PENDING_MAX) { /* full: drop the oldest */
      pending_head = (pending_head + 1) % PS_FLAGS_PENDING_MAX;
      pending_n--;
    }
    k = (pending_head + pending_n) % PS_FLAGS_PENDING_MAX;
    strcpy(pending[k].tenant, tenant);
    pending[k].flags = *flags;
    pending_n++;
  }
  atomic_store(&pending_count, pending_n);
  pthread_mutex_unlock(&pending_mu);
}

int ps_flags_pending_has(const char *tenant) {
  if (atomic_load(&pending_count) == 0) return 0;
  pthread_mutex_lock(&pending_mu);
  int has = pending_find(tenant) >= 0;
  pthread_mutex_unlock(&pending_mu);
  return has;
}

int ps_flags_pending_take(int max, char tenants[][64], ps_flags_t *out) {
  pthread_mutex_lock(&pending_mu);
  int n = 0;
  while (n < max && pending_n > 0) {
    strcpy(tenants[n], pending[pending_head].tenant);
    out[n] = pending[pending_head].flags;
    pending_head = (pending_head + 1) % PS_FLAGS_PENDING_MAX;
    pending_n--;
    n++;
  }
  atomic_store(&pending_count, pending_n);
  pthread_mutex_unlock(&pending_mu);
  return n;
}

int ps_flags_pending_count(void) { return atomic_load(&pending_count); }

void ps_flags_count(ps_flags_stat_t which) {
  switch (which) {
  case PS_FLAGS_STAT_REDIS_HIT: atomic_fetch_add(&s_redis_hits, 1); break;
  case PS_FLAGS_STAT_REDIS_MISS: atomic_fetch_add(&s_redis_misses, 1); break;
  case PS_FLAGS_STAT_REDIS_GARBAGE: atomic_fetch_add(&s_redis_garbage, 1); break;
  case PS_FLAGS_STAT_FALLBACK: atomic_fetch_add(&s_fallbacks, 1); break;
  case PS_FLAGS_STAT_MYSQL_READ: atomic_fetch_add(&s_mysql_reads, 1); break;
  case PS_FLAGS_STAT_INVALIDATION: atomic_fetch_add(&s_invalidations, 1); break;
  case PS_FLAGS_STAT_MYSQL_BATCH: atomic_fetch_add(&s_mysql_batches, 1); break;
  }
}

void ps_flags_get_stats(ps_flags_stats_t *ret) {
  ret->local_hits = atomic_load(&s_local_hits);
  ret->waits = atomic_load(&s_waits);
  ret->redis_hits = atomic_load(&s_redis_hits);
  ret->redis_misses = atomic_load(&s_redis_misses);
  ret->redis_garbage = atomic_load(&s_redis_garbage);
  ret->fallbacks = atomic_load(&s_fallbacks);
  ret->mysql_reads = atomic_load(&s_mysql_reads);
  ret->mysql_batches = atomic_load(&s_mysql_batches);
  ret->invalidations = atomic_load(&s_invalidations);
  ret->refreshes = atomic_load(&s_refreshes);
}

void ps_flags_clear(void) {
  pthread_once(&once, init);
  for (size_t b = 0; b < N_BUCKETS; b++) {
    int s = (int)(b % N_STRIPES);
    pthread_mutex_lock(&F.mu[s]);
    entry_t *e = F.buckets[b];
    F.buckets[b] = NULL;
    pthread_mutex_unlock(&F.mu[s]);
    while (e) {
      entry_t *next = e->next;
      free(e);
      e = next;
    }
  }
}
