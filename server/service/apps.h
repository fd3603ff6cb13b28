/* Tenant apps for the other handlers: the app gate every prospect operation passes (S4, S8), and
 * the pure update-mask rules of UpdateTenantApps (unit-tested). */
#ifndef PS_SERVICE_APPS_H
#define PS_SERVICE_APPS_H

#include "cache/flags.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "service/ctx.h"

/* The tenant's flags through the cache: process memory, then Redis, then MySQL; concurrent misses
 * of one tenant wait for one load. 0 with *ret, or -1 with ctx->status set when MySQL fails.
 * Redis trouble never fails it. */
int ps_apps_flags(ps_ctx_t *ctx, const char *tenant, ps_flags_t *ret);

/* Coalesced reads (service/prefetch.h): loads the flags of the distinct tenants of a batch that are
 * neither in process memory nor being loaded by another thread, Redis first and then the rest from
 * MySQL with one statement, so that the calls' gates then answer from memory. Best effort: a
 * tenant it could not load is left to its calls' own ps_apps_flags (which report their own
 * failure). At most PS_STORE_APPS_GET_MANY_MAX tenants are taken. */
void ps_apps_prefetch(ps_ctx_t *ctx, const char *const *tenants, size_t n);

/* Writes to Redis the flags changes that it missed (ps_flags_pending_*: UpdateTenantApps while
 * Redis was down or slow), on this Redis connection, until none is left or a write fails. 0, or
 * -1 when Redis did not take one (it stays pending). For the sync thread (apps_sync.h). */
int ps_apps_retry_pending(struct ps_cache *cache);

/* Renews a tenant's flags in process memory from Redis ahead of their expiry (cache/flags.h,
 * refresh ahead), on this Redis connection: 1 when renewed; 0 when Redis had no usable value or a
 * change of the tenant has not reached Redis yet (the entry then expires and the next call loads
 * it as usual). For the sync thread (apps_sync.h). */
int ps_apps_refresh(struct ps_cache *cache, const char *tenant);

/* The gate: 0 when the tenant's PROSPECTS app is on (and QUOTE_REQUESTS too when
 * need_quote_requests); else -1 with ctx->status FAILED_PRECONDITION, reason PROSPECTS_APP_DISABLED
 * or QUOTE_REQUESTS_APP_DISABLED; or a database failure. The flags are
 * served from memory/Redis by ps_apps_flags. Conversion on invoicing (S3) must not call it. */
int ps_apps_require(ps_ctx_t *ctx, const char *tenant, int need_quote_requests);

/* Update-mask bits of TenantApps. */
#define PS_APPS_SET_PROSPECTS 1u        /* prospects_enabled is written */
#define PS_APPS_SET_QUOTE_REQUESTS 2u   /* quote_requests_enabled is written */
#define PS_APPS_NAMED_PROSPECTS 4u      /* "prospects_enabled" was named explicitly (not via "*") */

/* Parses an update mask: NULL or no paths means "*" (both fields, as sent); paths
 * "prospects_enabled", "quote_requests_enabled", "*". 0 with *ret_bits, or -1 with st
 * INVALID_ARGUMENT naming update_mask.paths. */
int ps_apps_parse_mask(const Google__Protobuf__FieldMask *mask, unsigned *ret_bits,
                       ps_status_t *st);

/* Two flags. */
typedef struct ps_apps_flags {
  int prospects;      /* the "Prospects" app */
  int quote_requests; /* the "Quote requests" app */
} ps_apps_flags_t;

/* Applies the masked fields of `sent` to `cur` under S4/S8: turning QUOTE_REQUESTS on turns PROSPECTS
 * on in the same write (unless the same request explicitly turns PROSPECTS off, which is refused);
 * PROSPECTS off while QUOTE_REQUESTS stays on is refused with FAILED_PRECONDITION reason
 * APP_DEPENDENCY. 0 with *ret, or -1 with st set. */
int ps_apps_apply(ps_apps_flags_t cur, unsigned bits, ps_apps_flags_t sent, ps_apps_flags_t *ret,
                  ps_status_t *st);

#endif
