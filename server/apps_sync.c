#include "apps_sync.h"

#include <pthread.h>
#include <time.h>

#include "cache/flags.h"
#include "core/clock.h"
#include "service/apps.h"

static struct {
  pthread_t thread;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* signalled by stop */
  int stop;            /* under mu */
  ps_cache_t *cache;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Waits PS_APPS_SYNC_MS or until stop; 1 when stopping. */
static int wait_or_stop(void) {
  struct timespec until = ps_time_in_ms(CLOCK_MONOTONIC, PS_APPS_SYNC_MS);
  pthread_mutex_lock(&g.mu);
  while (!g.stop && pthread_cond_timedwait(&g.cond, &g.mu, &until) == 0) {
  }
  int stop = g.stop;
  pthread_mutex_unlock(&g.mu);
  return stop;
}

static void *sync_main(void *arg) {
  (void)arg;
  while (!wait_or_stop())
    if (ps_flags_pending_count() > 0) (void)ps_apps_retry_pending(g.cache);
  return NULL;
}

int ps_apps_sync_start(const ps_cache_config_t *cfg, ps_status_t *st) {
  if (cfg->port == 0) return 0;
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0)
    return ps_fail(st, PS_INTERNAL, NULL, "cannot start the apps sync thread");
  int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
           pthread_cond_init(&g.cond, &ca) != 0;
  pthread_condattr_destroy(&ca);
  if (rc) return ps_fail(st, PS_INTERNAL, NULL, "cannot start the apps sync thread");
  g.cache = ps_cache_new(cfg);
  if (!g.cache) {
    pthread_cond_destroy(&g.cond);
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, NULL, "out of memory starting the apps sync thread");
  }
  g.stop = 0;
  if (pthread_create(&g.thread, NULL, sync_main, NULL) != 0) {
    ps_cache_free(g.cache);
    g.cache = NULL;
    pthread_cond_destroy(&g.cond);
    return ps_fail(st, PS_INTERNAL, NULL, "cannot start the apps sync thread");
  }
  g.started = 1;
  return 0;
}

void ps_apps_sync_stop(void) {
  if (!g.started) return;
  pthread_mutex_lock(&g.mu);
  g.stop = 1;
  pthread_cond_signal(&g.cond);
  pthread_mutex_unlock(&g.mu);
  pthread_join(g.thread, NULL);
  ps_cache_free(g.cache);
  g.cache = NULL;
  pthread_cond_destroy(&g.cond);
  g.started = 0;
}
