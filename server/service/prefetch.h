/* Coalesced reads: when several by-key reads (GetProspect, ResolveProspect) wait for a worker at the
 * same moment, the worker that takes them reads all their records with one statement before it
 * runs their handlers one by one (transport.c decides what is taken together; pool.c how). Each
 * handler then answers from what was read instead of asking the database itself, and so every call
 * still gets its own answer: the record, or NOT_FOUND / PROSPECT_MERGED from its own merge-chain
 * lookup, after its own tenant's app gate. A read that fails gives its status to the calls of that
 * batch alone. A call that is not in a batch reads as before: nothing waits for a batch to fill. */
#ifndef PS_SERVICE_PREFETCH_H
#define PS_SERVICE_PREFETCH_H

#include "core/names.h"
#include "service/ctx.h"
#include "store/prospects.h"

typedef struct ps_prefetch {
  size_t n;                                           /* keys read */
  char tenants[PS_STORE_GET_MANY_MAX][PS_TENANT_MAX + 1];
  ps_prospect_key_t keys[PS_STORE_GET_MANY_MAX];
  ps_prospect_cols_t cols[PS_STORE_GET_MANY_MAX];     /* the record of keys[i] when found[i] */
  int found[PS_STORE_GET_MANY_MAX];
  int failed;                                         /* the read failed: status says how */
  ps_status_t status;
} ps_prefetch_t;

/* Reads, with one statement, the records that the prospect names of a batch's requests stand for.
 * Names that do not parse are left out (their handlers refuse them as usual). Reads with ctx's
 * connection into ctx's arena; fills *ret (failed set when the read failed). */
void ps_prefetch_prospects(ps_ctx_t *ctx, const char *const *names, size_t n, ps_prefetch_t *ret);

/* What the batch read of ctx (ctx->prefetch) knows of a key: 1 with *ret filled (a live record), 0
 * (no live record), -1 (the read failed: ctx->status is its status), or -2 (not read: ask the
 * database). */
int ps_prefetch_prospect(ps_ctx_t *ctx, const char *tenant, const ps_id_t *id,
                         ps_prospect_cols_t *ret);

#endif
