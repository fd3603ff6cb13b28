/* GetTenantApps / UpdateTenantApps and the app gate (S4, S8). */
#include "service/apps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/flags.h"
#include "cache/redis.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/mac.h"
#include "core/names.h"
#include "core/validate.h"
#include "service/audit.h"
#include "service/service.h"
#include "store/apps.h"
#include "store/db.h"

/* ---- the flags cache (S4, S8 on the hot path): process memory (<= 0.5 s), then Redis, then MySQL,
 * the source of truth. Redis failing never fails a call: it is skipped and MySQL answers.
 *
 * Redis is never believed on its word: a cached value is "<version>|<p><q>|<tag>", the tag an HMAC
 * (core/mac.h) of the tenant and "<version>|<p><q>" under a key shared by the replicas. A value
 * whose tag does not verify (planted, altered, or of an older format) is garbage: a miss, answered
 * from MySQL, and repaired in Redis (compare-and-set, so a change made since is never overwritten).
 * A change of a tenant's apps always replaces the cached value, whatever version the value claims.
 * A tenant that never changed its apps gets no Redis key (probing unknown tenants fills nothing). */

#define REDIS_TTL_MS 30000        /* Redis entries live 30 s ... */
#define REDIS_TTL_JITTER_MS 6000  /* ... plus up to 6 s, so tenants do not expire together */
#define LOAD_WAIT_MS 2000         /* how long a call waits for another thread's load */

#define VALUE_MAX 96 /* "<20 digits>|<2 digits>|<32 hex digits>" and room to spare */

/* The tenant's key in out; -1 when it does not fit (tenant ids are at most 63 characters). */
static int redis_key(const char *tenant, char *out, size_t outsz) {
  int n = snprintf(out, outsz, "prospects:apps:v2:%s", tenant);
  return n > 0 && (size_t)n < outsz ? 0 : -1;
}

/* What a value's tag covers: the tenant and the value's "<version>|<p><q>" part, in buf. Its
 * length, or 0 when it does not fit. */
static size_t tag_input(const char *tenant, const char *body, size_t body_len,
                        char buf[PS_TENANT_MAX + 1 + VALUE_MAX]) {
  size_t tn = strlen(tenant);
  if (tn > PS_TENANT_MAX || body_len > VALUE_MAX) return 0;
  memcpy(buf, tenant, tn);
  buf[tn] = '\n';
  memcpy(buf + tn + 1, body, body_len);
  return tn + 1 + body_len;
}

/* The cached form of f: "<version>|<prospects><quote_requests>|<tag>", e.g. "7|10|3f…". */
static int encode_cached(const char *tenant, const ps_flags_t *f, char out[VALUE_MAX]) {
  int n = snprintf(out, VALUE_MAX, "%llu|%c%c", (unsigned long long)f->version,
                   f->prospects ? '1' : '0', f->quote_requests ? '1' : '0');
  char tag[PS_MAC_HEX_LEN + 1], in[PS_TENANT_MAX + 1 + VALUE_MAX];
  size_t len = n > 0 ? tag_input(tenant, out, (size_t)n, in) : 0;
  if (len == 0 || ps_mac_hex(in, len, tag) != 0) return -1;
  snprintf(out + n, VALUE_MAX - (size_t)n, "|%s", tag);
  return 0;
}

/* Reads a cached value; -1 when it is not of the form above or its tag does not verify. */
static int parse_cached(const char *tenant, const char *v, ps_flags_t *ret) {
  if (v[0] < '0' || v[0] > '9') return -1; /* strtoull would take a sign or blanks */
  char *end;
  errno = 0;
  unsigned long long version = strtoull(v, &end, 10);
  if (errno || end == v || *end != '|') return -1;
  const char *p = end + 1;
  if ((p[0] != '0' && p[0] != '1') || (p[1] != '0' && p[1] != '1') || p[2] != '|') return -1;
  char in[PS_TENANT_MAX + 1 + VALUE_MAX];
  size_t len = tag_input(tenant, v, (size_t)(p + 2 - v), in);
  if (len == 0 || !ps_mac_verify(in, len, p + 3)) return -1;
  ret->version = version;
  ret->prospects = p[0] == '1';
  ret->quote_requests = p[1] == '1';
  return 0;
}

typedef enum { PUT_IF_NEWER, PUT_ALWAYS } put_mode_t;

static unsigned redis_ttl_ms(const char *tenant) {
  return REDIS_TTL_MS + (unsigned)(ps_hash64(tenant, strlen(tenant), (uint64_t)ps_db_now_us()) %
                                   REDIS_TTL_JITTER_MS);
}

/* Writes the flags to Redis: PUT_IF_NEWER (a reader's fill: never over a newer version) or
 * PUT_ALWAYS (a writer's change). 0, or -1 when Redis is unavailable. */
static int put_redis(ps_cache_t *cache, const char *tenant, const ps_flags_t *f, put_mode_t mode) {
  char key[128], value[VALUE_MAX];
  if (redis_key(tenant, key, sizeof key) != 0 || encode_cached(tenant, f, value) != 0) return -1;
  if (mode == PUT_ALWAYS) return ps_cache_set(cache, key, value, redis_ttl_ms(tenant));
  return ps_cache_put_versioned(cache, key, (unsigned long long)f->version, value,
                                redis_ttl_ms(tenant));
}

/* Makes the Redis writes that Redis missed (pending), RETRY_BATCH at a time, up to `batches`
 * batches; stops at the first write that fails (it and the rest of its batch stay pending). As
 * versioned puts: another replica may have written a newer version meanwhile. 0 when none
 * failed. */
enum { RETRY_BATCH = 8 };
static int retry_pending(ps_cache_t *cache, int batches) {
  for (int b = 0; b < batches && ps_flags_pending_count() > 0; b++) {
    char tenants[RETRY_BATCH][64];
    ps_flags_t flags[RETRY_BATCH];
    int n = ps_flags_pending_take(RETRY_BATCH, tenants, flags);
    for (int i = 0; i < n; i++) {
      if (put_redis(cache, tenants[i], &flags[i], PUT_IF_NEWER) != 0) {
        for (int j = i; j < n; j++) ps_flags_pending_add(tenants[j], &flags[j]);
        return -1;
      }
    }
  }
  return 0;
}

int ps_apps_retry_pending(ps_cache_t *cache) {
  return retry_pending(cache, PS_FLAGS_PENDING_MAX / RETRY_BATCH + 1);
}

/* A load of one tenant's flags after a miss in process memory: Redis first (load_redis), then, when
 * Redis has no usable value, the MySQL row (read by the caller, alone or with other tenants') is
 * taken in (load_finish). */
typedef struct load {
  char key[128];
  char value[PS_CACHE_HEAD + 1]; /* what Redis held (garbage is repaired) */
  size_t value_len;
  int got;                       /* ps_cache_get's answer; < 0: Redis unavailable */
} load_t;

/* Reads the tenant's cached flags from Redis into l (what Redis held, for a repair): 1 with *ret
 * when they are valid, else 0. */
static int redis_read(ps_cache_t *cache, const char *tenant, load_t *l, ps_flags_t *ret) {
  l->value_len = 0;
  /* a change of this tenant has not reached Redis yet: Redis may hold the old flags */
  l->got = ps_flags_pending_has(tenant) || redis_key(tenant, l->key, sizeof l->key) != 0
               ? 0
               : ps_cache_get(cache, l->key, l->value, &l->value_len);
  return l->got == PS_CACHE_STRING && strlen(l->value) == l->value_len &&
         parse_cached(tenant, l->value, ret) == 0;
}

/* 1 when Redis answered with valid flags (*ret set and filled in process memory); 0 when MySQL
 * must answer. */
static int load_redis(ps_ctx_t *ctx, const char *tenant, load_t *l, ps_flags_t *ret) {
  int valid = redis_read(ctx->cache, tenant, l, ret);
  /* Redis answers again: a batch of the writes it missed (so no call pays for many) */
  if (l->got >= 0 && ps_flags_pending_count() > 0) (void)retry_pending(ctx->cache, 1);
  if (valid) {
    ps_flags_count(PS_FLAGS_STAT_REDIS_HIT);
    ps_flags_fill(tenant, ret);
    return 1;
  }
  ps_flags_count(l->got < 0 ? PS_FLAGS_STAT_FALLBACK : PS_FLAGS_STAT_REDIS_MISS);
  if (l->got > 0) ps_flags_count(PS_FLAGS_STAT_REDIS_GARBAGE);
  ps_flags_count(PS_FLAGS_STAT_MYSQL_READ);
  return 0;
}

/* Ends a load with the MySQL row: fills process memory and repairs or fills Redis. */
static void load_finish(ps_ctx_t *ctx, const char *tenant, const load_t *l, const ps_apps_row_t *row,
                        ps_flags_t *ret) {
  ps_flags_t f = {row->prospects, row->quote_requests, row->version};
  ps_flags_fill(tenant, &f);
  if (l->got > 0) { /* something this service did not write */
    char fresh[VALUE_MAX];
    if (encode_cached(tenant, &f, fresh) == 0)
      (void)ps_cache_replace(ctx->cache, l->key, (ps_cache_found_t)l->got, l->value, l->value_len,
                             fresh, redis_ttl_ms(tenant));
  } else if (l->got >= 0 && f.version > 0) { /* no key for a tenant without a row */
    if (put_redis(ctx->cache, tenant, &f, PUT_IF_NEWER) != 0 && ps_flags_pending_has(tenant))
      ps_flags_pending_add(tenant, &f); /* still not in Redis: keep it pending */
  }
  /* (a tenant without a row is cached in process memory only: negative caching) */
  *ret = f;
}

int ps_apps_refresh(ps_cache_t *cache, const char *tenant) {
  load_t l;
  ps_flags_t f;
  if (!redis_read(cache, tenant, &l, &f)) { /* the entry expires; a call loads it as usual */
    ps_flags_refresh_skip(tenant);
    return 0;
  }
  ps_flags_refresh_fill(tenant, &f);
  return 1;
}

int ps_apps_flags(ps_ctx_t *ctx, const char *tenant, ps_flags_t *ret) {
  if (ps_flags_lookup(tenant, ps_mono_ms() + LOAD_WAIT_MS, ret) == PS_FLAGS_HIT) return 0;
  /* this thread loads the tenant for everyone waiting on it */
  load_t l;
  if (load_redis(ctx, tenant, &l, ret)) return 0;
  ps_apps_row_t row;
  if (ps_store_apps_get(ctx->db, tenant, &row, &ctx->status) != 0) {
    ps_flags_abandon(tenant);
    return -1;
  }
  load_finish(ctx, tenant, &l, &row, ret);
  return 0;
}

void ps_apps_prefetch(ps_ctx_t *ctx, const char *const *tenants, size_t n) {
  const char *mine[PS_STORE_APPS_GET_MANY_MAX]; /* tenants this call loads from MySQL */
  load_t *loads = ps_arena_alloc(ctx->arena, sizeof *loads * PS_STORE_APPS_GET_MANY_MAX);
  if (!loads) return; /* each call loads its own tenant */
  size_t k = 0;
  for (size_t i = 0; i < n && k < PS_STORE_APPS_GET_MANY_MAX; i++) {
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++) seen = strcmp(tenants[j], tenants[i]) == 0;
    ps_flags_t f;
    /* in process memory, or another thread's load (the call will wait for that one) */
    if (seen || ps_flags_try(tenants[i], &f) != PS_FLAGS_LOAD) continue;
    if (load_redis(ctx, tenants[i], &loads[k], &f)) continue;
    mine[k++] = tenants[i];
  }
  if (k == 0) return;
  ps_apps_row_t rows[PS_STORE_APPS_GET_MANY_MAX];
  ps_status_t st;
  ps_status_clear(&st);
  int rc = k == 1 ? ps_store_apps_get(ctx->db, mine[0], &rows[0], &st)
                  : ps_store_apps_get_many(ctx->db, ctx->arena, mine, k, rows, &st);
  for (size_t i = 0; i < k; i++) {
    ps_flags_t f;
    if (rc != 0)
      ps_flags_abandon(mine[i]); /* each call then tries on its own and reports its own failure */
    else
      load_finish(ctx, mine[i], &loads[i], &rows[i], &f);
  }
  if (rc == 0 && k > 1) ps_flags_count(PS_FLAGS_STAT_MYSQL_BATCH);
}

int ps_apps_require(ps_ctx_t *ctx, const char *tenant, int need_quote_requests) {
  ps_flags_t row;
  if (ps_apps_flags(ctx, tenant, &row) != 0) return -1;
  if (!row.prospects) {
    ps_fail(&ctx->status, PS_FAILED_PRECONDITION, "PROSPECTS_APP_DISABLED",
            "The Prospects app is off for this account; turn it on to use prospects.");
    return ps_status_meta(&ctx->status, "app", "PROSPECTS");
  }
  if (need_quote_requests && !row.quote_requests) {
    ps_fail(&ctx->status, PS_FAILED_PRECONDITION, "QUOTE_REQUESTS_APP_DISABLED",
            "The Quote requests app is off for this account; turn it on to take in quote requests.");
    return ps_status_meta(&ctx->status, "app", "QUOTE_REQUESTS");
  }
  return 0;
}

int ps_apps_parse_mask(const Google__Protobuf__FieldMask *mask, unsigned *ret_bits,
                       ps_status_t *st) {
  unsigned bits = 0;
  if (!mask || mask->n_paths == 0) {
    *ret_bits = PS_APPS_SET_PROSPECTS | PS_APPS_SET_QUOTE_REQUESTS;
    return 0;
  }
  for (size_t i = 0; i < mask->n_paths; i++) {
    const char *path = mask->paths[i] ? mask->paths[i] : "";
    if (strcmp(path, "*") == 0) {
      bits |= PS_APPS_SET_PROSPECTS | PS_APPS_SET_QUOTE_REQUESTS;
    } else if (strcmp(path, "prospects_enabled") == 0) {
      bits |= PS_APPS_SET_PROSPECTS | PS_APPS_NAMED_PROSPECTS;
    } else if (strcmp(path, "quote_requests_enabled") == 0) {
      bits |= PS_APPS_SET_QUOTE_REQUESTS;
    } else {
      char q[PS_QUOTE_SIZE];
      return ps_fail_field(st, "update_mask.paths",
                           "\"%s\" is not an updatable field; use prospects_enabled, "
                           "quote_requests_enabled or *",
                           ps_quote(path, q));
    }
  }
  *ret_bits = bits;
  return 0;
}

int ps_apps_apply(ps_apps_flags_t cur, unsigned bits, ps_apps_flags_t sent, ps_apps_flags_t *ret,
                  ps_status_t *st) {
  ps_apps_flags_t next = cur;
  if (bits & PS_APPS_SET_PROSPECTS) next.prospects = sent.prospects != 0;
  if (bits & PS_APPS_SET_QUOTE_REQUESTS) next.quote_requests = sent.quote_requests != 0;
  if (next.quote_requests && !next.prospects) {
    int turning_qr_on = !cur.quote_requests;
    if (turning_qr_on && !(bits & PS_APPS_NAMED_PROSPECTS)) {
      next.prospects = 1; /* S8: quote requests need prospects; both on in one write */
    } else {
      ps_fail(st, PS_FAILED_PRECONDITION, "APP_DEPENDENCY",
              "The Prospects app cannot be off while the Quote requests app is on, because Quote "
              "requests depends on it; turn Quote requests off first.");
      ps_status_meta(st, "app", "PROSPECTS");
      return ps_status_meta(st, "required_by", "QUOTE_REQUESTS");
    }
  }
  *ret = next;
  return 0;
}

static Prospects__V1__TenantApps *apps_msg(ps_ctx_t *ctx, const char *tenant,
                                           const ps_apps_row_t *row) {
  ps_arena_t *a = ctx->arena;
  Prospects__V1__TenantApps *m = ps_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  prospects__v1__tenant_apps__init(m);
  if (!(m->name = ps_name_apps(a, tenant))) return NULL;
  m->prospects_enabled = row->prospects;
  m->quote_requests_enabled = row->quote_requests;
  if (row->version > 0 && !(m->update_time = ps_db_timestamp(a, row->update_us))) return NULL;
  if (!(m->etag = ps_db_etag(a, row->version))) return NULL;
  return m;
}

static int out_of_memory(ps_ctx_t *ctx) {
  return ps_fail(&ctx->status, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

/* GetTenantApps (S4, S8): the two apps of a tenant; a tenant that never changed them has both off
 * (version 0, no update_time). Not gated: the account service reads them to turn them on. */
int ps_get_tenant_apps(ps_ctx_t *ctx, const Prospects__V1__GetTenantAppsRequest *req,
                       Prospects__V1__TenantApps **ret) {
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_apps(req->name, "name", tenant, &ctx->status) != 0) return -1;
  ps_apps_row_t row;
  if (ps_store_apps_get(ctx->db, tenant, &row, &ctx->status) != 0) return -1;
  Prospects__V1__TenantApps *m = apps_msg(ctx, tenant, &row);
  if (!m) return out_of_memory(ctx);
  *ret = m;
  return 0;
}

typedef struct update_apps_tx {
  const char *tenant;        /* the tenant */
  unsigned bits;             /* parsed update mask */
  ps_apps_flags_t sent;      /* the values the caller sent */
  const char *etag;          /* "" or the etag that must match */
  const ps_ctx_t *ctx;       /* the caller, for the audit trail */
  ps_apps_row_t out;         /* the row after the call */
} update_apps_tx_t;

static int update_apps_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  update_apps_tx_t *t = arg;
  ps_apps_row_t cur;
  if (ps_store_apps_lock(db, t->tenant, &cur, st) != 0) return -1;
  if (t->etag[0]) {
    uint64_t v;
    if (ps_db_etag_parse(t->etag, &v) != 0 || v != cur.version)
      return ps_fail(st, PS_ABORTED, "ETAG_MISMATCH",
                     "The apps were changed since this etag was read; read them again and retry.");
  }
  ps_apps_flags_t was = {cur.prospects, cur.quote_requests}, next = was;
  if (ps_apps_apply(was, t->bits, t->sent, &next, st) != 0) return -1;
  if (next.prospects == cur.prospects && next.quote_requests == cur.quote_requests) {
    t->out = cur; /* nothing changes: no new version */
    return 0;
  }
  int64_t now = ps_db_now_us();
  if (ps_store_apps_write(db, t->tenant, next.prospects, next.quote_requests, cur.version, now,
                          &t->out, st) != 0)
    return -1;
  char resource[PS_TENANT_MAX + 16], details[160];
  snprintf(resource, sizeof resource, "tenants/%s/apps", t->tenant);
  snprintf(details, sizeof details,
           "prospects_enabled %s -> %s, quote_requests_enabled %s -> %s (version %llu)",
           cur.prospects ? "true" : "false", next.prospects ? "true" : "false",
           cur.quote_requests ? "true" : "false", next.quote_requests ? "true" : "false",
           (unsigned long long)t->out.version);
  return ps_audit_record(db, t->ctx->caller, t->ctx->actor, t->tenant, "UpdateTenantApps", resource,
                         details, now, st);
}

/* UpdateTenantApps (S4, S8): writes the fields named by update_mask (empty mask or "*": both, as
 * sent). Turning QUOTE_REQUESTS on turns PROSPECTS on in the same write; PROSPECTS off while
 * QUOTE_REQUESTS stays on is FAILED_PRECONDITION (APP_DEPENDENCY). A given etag must match
 * (ABORTED, ETAG_MISMATCH). Turning an app off deletes nothing. */
int ps_update_tenant_apps(ps_ctx_t *ctx, const Prospects__V1__UpdateTenantAppsRequest *req,
                          Prospects__V1__TenantApps **ret) {
  if (!req->apps) return ps_fail_field(&ctx->status, "apps", "is required");
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_apps(req->apps->name, "apps.name", tenant, &ctx->status) != 0) return -1;
  update_apps_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_apps_parse_mask(req->update_mask, &t.bits, &ctx->status) != 0) return -1;
  t.tenant = tenant;
  t.ctx = ctx;
  t.sent.prospects = req->apps->prospects_enabled;
  t.sent.quote_requests = req->apps->quote_requests_enabled;
  t.etag = req->apps->etag ? req->apps->etag : "";
  if (ps_db_tx(ctx->db, update_apps_tx, &t, &ctx->status) != 0) return -1;
  /* committed: replace the cached flags here and in Redis, where other replicas read them */
  ps_flags_t f = {t.out.prospects, t.out.quote_requests, t.out.version};
  ps_flags_fill(tenant, &f);
  /* retried by the next load of this process, and within PS_APPS_SYNC_MS by apps_sync.c */
  if (put_redis(ctx->cache, tenant, &f, PUT_ALWAYS) != 0) ps_flags_pending_add(tenant, &f);
  ps_flags_count(PS_FLAGS_STAT_INVALIDATION);
  Prospects__V1__TenantApps *m = apps_msg(ctx, tenant, &t.out);
  if (!m) return out_of_memory(ctx);
  *ret = m;
  return 0;
}
