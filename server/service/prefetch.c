#include "service/prefetch.h"

#include <string.h>

#include "service/apps.h"

void ps_prefetch_prospects(ps_ctx_t *ctx, const char *const *names, size_t n, ps_prefetch_t *ret) {
  ret->n = 0;
  ret->failed = 0;
  ps_status_clear(&ret->status);
  for (size_t i = 0; i < n && ret->n < PS_STORE_GET_MANY_MAX; i++) {
    ps_status_t ignored;
    ps_status_clear(&ignored);
    size_t k = ret->n;
    if (ps_name_parse_prospect(names[i], "name", ret->tenants[k], &ret->keys[k].id, &ignored) != 0)
      continue;
    ret->keys[k].tenant = ret->tenants[k];
    ret->n++;
  }
  if (ret->n == 0) return;
  /* the tenants' app gates, when their flags must be read (the fallback to MySQL: one statement) */
  const char *tenants[PS_STORE_GET_MANY_MAX];
  for (size_t i = 0; i < ret->n; i++) tenants[i] = ret->tenants[i];
  ps_apps_prefetch(ctx, tenants, ret->n);
  if (ps_store_prospect_get_many(ctx->db, ctx->arena, ret->keys, ret->n, ret->cols, ret->found,
                                 &ret->status) != 0)
    ret->failed = 1;
}

int ps_prefetch_prospect(ps_ctx_t *ctx, const char *tenant, const ps_id_t *id,
                         ps_prospect_cols_t *ret) {
  const ps_prefetch_t *p = ctx->prefetch;
  if (!p) return -2;
  for (size_t i = 0; i < p->n; i++) {
    if (memcmp(&p->keys[i].id, id, sizeof *id) != 0 || strcmp(p->keys[i].tenant, tenant) != 0)
      continue;
    if (p->failed) {
      ctx->status = p->status;
      return -1;
    }
    if (!p->found[i]) return 0;
    *ret = p->cols[i];
    return 1;
  }
  return -2;
}
