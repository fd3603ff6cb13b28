/* Tenant-apps changes that Redis missed reach it without waiting for a call, and the tenants'
 * flags in process memory are renewed from Redis before they expire.
 *
 * UpdateTenantApps writes the new flags to Redis, where the other replicas read them; when Redis is
 * down or slow at that moment, the write is kept pending (cache/flags.h) and was made again only by
 * this process's next load of some tenant's flags. A replica that then got no calls left every
 * other replica on the old value until Redis' TTL (30-36 s), past the one-second bound of the SPEC.
 * This thread retries the pending writes every PS_APPS_SYNC_MS, on a Redis connection of its own.
 *
 * Refresh ahead: a call that finds its tenant's flags near their expiry queues the tenant
 * (cache/flags.h), and this thread reads them from Redis and renews them, so that the calls do not
 * stop for that read themselves. Under GetProspect at 17,000 calls/s over 100 tenants, each tenant's
 * reload every 0.5 s was a Redis round trip inside a batch of coalesced reads, which the calls
 * queued behind that batch waited for.
 *
 * Threading: one thread, started by main after SERVING (not at all when Redis is off) and stopped
 * before the transport shuts down. It meets the workers only in the pending list and the refresh
 * queue (cache/flags.c, under their locks). Does not log: Redis trouble shows in the cache's
 * counters. */
#ifndef PS_APPS_SYNC_H
#define PS_APPS_SYNC_H

#include "cache/redis.h"
#include "core/status.h"

#define PS_APPS_SYNC_MS 200 /* how often pending writes are retried (while there are any) */

/* Starts the thread with a connection made from cfg (strings borrowed until stop); nothing when
 * cfg->port is 0 (Redis off: nothing is ever pending). 0, or -1 with st set. Called once. */
int ps_apps_sync_start(const ps_cache_config_t *cfg, ps_status_t *st);

/* Stops the thread and waits for it. Safe when never started. */
void ps_apps_sync_stop(void);

#endif
