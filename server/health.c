#include "health.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static atomic_int status = PS_HEALTH_NOT_SERVING;
static pthread_mutex_t listener_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*listener)(void *);
static void *listener_ud;

ps_health_t ps_health_get(void) { return (ps_health_t)atomic_load(&status); }

void ps_health_set(ps_health_t s) {
  if (atomic_exchange(&status, (int)s) == (int)s) return;
  pthread_mutex_lock(&listener_mu);
  if (listener) listener(listener_ud);
  pthread_mutex_unlock(&listener_mu);
}

void ps_health_set_listener(void (*fn)(void *), void *ud) {
  pthread_mutex_lock(&listener_mu);
  listener = fn;
  listener_ud = ud;
  pthread_mutex_unlock(&listener_mu);
}

ps_health_t ps_health_of(const char *service) {
  if (!service || !*service || strcmp(service, "prospects.v1.ProspectService") == 0)
    return ps_health_get();
  /* the process answers: what a liveness probe needs (a database outage or a drain is not a
   * reason to restart it) */
  if (strcmp(service, PS_HEALTH_LIVENESS) == 0) return PS_HEALTH_SERVING;
  return PS_HEALTH_SERVICE_UNKNOWN;
}
