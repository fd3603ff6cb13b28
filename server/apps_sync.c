#include "apps_sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "cache/flags.h"
#include "core/clock.h"
#include "service/apps.h"

static struct {
  pthread_t thread;
  int started;
  atomic_int stop;
  ps_cache_t *cache;
} g;

/* Renewals are gathered for REFRESH_GATHER_MS after the first is queued, so that the thread wakes
 * once for many (a tenant is queued PS_FLAGS_REFRESH_AHEAD_MS before its expiry: time enough). */
enum { REFRESH_BATCH = 64, REFRESH_GATHER_MS = 20 };

static void *sync_main(void *arg) {
  (void)arg;
  char tenants[REFRESH_BATCH][64];
  int64_t next_retry = 0;
  while (!atomic_load(&g.stop)) {
    /* the queued renewals as they come; the pending writes every PS_APPS_SYNC_MS */
    int n = ps_flags_refresh_take(REFRESH_BATCH, tenants, PS_APPS_SYNC_MS);
    if (n > 0 && n < REFRESH_BATCH) {
      struct timespec gather = {0, REFRESH_GATHER_MS * 1000000L};
      nanosleep(&gather, NULL);
      n += ps_flags_refresh_take(REFRESH_BATCH - n, tenants + n, 0);
    }
    for (int i = 0; i < n; i++) (void)ps_apps_refresh(g.cache, tenants[i]);
    int64_t now = ps_mono_ms();
    if (now >= next_retry) {
      if (ps_flags_pending_count() > 0) (void)ps_apps_retry_pending(g.cache);
      next_retry = now + PS_APPS_SYNC_MS;
    }
  }
  return NULL;
}

int ps_apps_sync_start(const ps_cache_config_t *cfg, ps_status_t *st) {
  if (cfg->port == 0) return 0;
  g.cache = ps_cache_new(cfg);
  if (!g.cache)
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, NULL, "out of memory starting the apps sync thread");
  atomic_store(&g.stop, 0);
  if (pthread_create(&g.thread, NULL, sync_main, NULL) != 0) {
    ps_cache_free(g.cache);
    g.cache = NULL;
    return ps_fail(st, PS_INTERNAL, NULL, "cannot start the apps sync thread");
  }
  g.started = 1;
  ps_flags_refresh_enable(1);
  return 0;
}

void ps_apps_sync_stop(void) {
  if (!g.started) return;
  ps_flags_refresh_enable(0); /* no more queued: the calls load their tenants again */
  atomic_store(&g.stop, 1);
  ps_flags_refresh_wake();
  pthread_join(g.thread, NULL);
  ps_cache_free(g.cache);
  g.cache = NULL;
  g.started = 0;
}
