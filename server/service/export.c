/* ExportProspects: every record of a tenant (or of one state) with its contact persons, streamed
 * page by page in id order from one snapshot of the database, so that a merge, update or creation
 * that commits while a long export runs is either wholly in it or not at all. */
#include <string.h>

#include "core/ids.h"
#include "core/names.h"
#include "service/apps.h"
#include "service/service.h"
#include "store/db.h"
#include "store/export.h"

#define EXPORT_PAGE 500                  /* records read per statement */
#define EXPORT_MESSAGE_BYTES (1u << 20)  /* a message ends before it passes this */

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "CALL_MEMORY_EXCEEDED",
                 "the call needs more memory than one call may use");
}

/* One message of the stream: the records rows[0..n) with their contact persons (contacts[0..nc),
 * ordered by record then id; those of records not in rows are skipped), cut short where it would
 * pass max_bytes (at least one record). *ret_shown: how many records it holds. NULL when out of
 * memory. */
static Prospects__V1__ExportProspectsResponse *page_message(
    ps_arena_t *a, const char *tenant, const ps_prospect_cols_t *rows, int n,
    const ps_contact_cols_t *contacts, size_t nc, size_t max_bytes, int *ret_shown) {
  Prospects__V1__ExportProspectsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return NULL;
  prospects__v1__export_prospects_response__init(resp);
  resp->prospects = ps_arena_alloc(a, sizeof *resp->prospects * (size_t)(n ? n : 1));
  if (!resp->prospects) return NULL;
  ps_reply_budget_t budget;
  ps_reply_budget_init(&budget, max_bytes);
  size_t j = 0;
  int shown = 0;
  for (int i = 0; i < n; i++) {
    Prospects__V1__ProspectBundle *b = ps_arena_alloc(a, sizeof *b);
    if (!b) return NULL;
    prospects__v1__prospect_bundle__init(b);
    if (!(b->prospect = ps_store_prospect_msg(a, tenant, &rows[i]))) return NULL;
    while (j < nc && memcmp(contacts[j].prospect_id.b, rows[i].id.b, sizeof rows[i].id.b) < 0) j++;
    size_t first = j;
    while (j < nc && memcmp(contacts[j].prospect_id.b, rows[i].id.b, sizeof rows[i].id.b) == 0) j++;
    if (j > first) {
      b->contact_persons = ps_arena_alloc(a, sizeof *b->contact_persons * (j - first));
      if (!b->contact_persons) return NULL;
      for (size_t k = first; k < j; k++)
        if (!(b->contact_persons[b->n_contact_persons++] = ps_store_contact_msg(a, tenant, &contacts[k])))
          return NULL;
    }
    if (!ps_reply_budget_take(&budget, &b->base, i)) break;
    resp->prospects[shown++] = b;
  }
  resp->n_prospects = (size_t)shown;
  *ret_shown = shown;
  return resp;
}

/* The pages of the snapshot opened by the caller; the caller ends the transaction. */
static int export_pages(ps_ctx_t *ctx, ps_stream_t *out, const char *tenant, int state,
                        int64_t read_us) {
  ps_status_t *st = &ctx->status;
  size_t max_bytes = EXPORT_MESSAGE_BYTES;
  if (ctx->max_reply_bytes && ctx->max_reply_bytes < max_bytes) max_bytes = ctx->max_reply_bytes;
  ps_id_t cursor;
  int has_cursor = 0;
  int64_t total = 0;
  for (;;) {
    ps_arena_t *a = out->arena; /* emptied by each send */
    ps_prospect_cols_t *rows = ps_arena_alloc(a, sizeof *rows * (EXPORT_PAGE + 1));
    if (!rows) return out_of_memory(st);
    int n = 0;
    if (ps_store_export_page(ctx->db, a, tenant, has_cursor ? &cursor : NULL, state,
                             EXPORT_PAGE + 1, rows, &n, st) != 0)
      return -1;
    int more = n > EXPORT_PAGE;
    if (more) n = EXPORT_PAGE;
    ps_contact_cols_t *contacts = NULL;
    size_t nc = 0;
    if (n > 0 && ps_store_export_contacts(ctx->db, a, tenant, has_cursor ? &cursor : NULL,
                                          &rows[n - 1].id, &contacts, &nc, st) != 0)
      return -1;
    int shown = 0;
    Prospects__V1__ExportProspectsResponse *resp =
        page_message(a, tenant, rows, n, contacts, nc, max_bytes, &shown);
    if (!resp || !(resp->read_time = ps_db_timestamp(a, read_us))) return out_of_memory(st);
    if (shown < n) more = 1; /* the rest of the page goes in the next message */
    total += shown;
    if (!more) resp->total_count = total;
    if (shown > 0) {
      cursor = rows[shown - 1].id;
      has_cursor = 1;
    }
    if (ps_stream_send(out, &resp->base) != 0) return -1;
    if (!more) return 0;
  }
}

int ps_export_prospects(ps_ctx_t *ctx, const Prospects__V1__ExportProspectsRequest *req,
                        ps_stream_t *out) {
  ps_status_t *st = &ctx->status;
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  int state;
  switch (req->state_filter) {
  case PROSPECTS__V1__STATE_FILTER__STATE_FILTER_UNSPECIFIED: /* an export is complete by default */
  case PROSPECTS__V1__STATE_FILTER__ALL_STATES:
    state = 0;
    break;
  case PROSPECTS__V1__STATE_FILTER__PROSPECTS_ONLY:
    state = PROSPECTS__V1__PROSPECT_STATE__PROSPECT;
    break;
  case PROSPECTS__V1__STATE_FILTER__CUSTOMERS_ONLY:
    state = PROSPECTS__V1__PROSPECT_STATE__CUSTOMER;
    break;
  default:
    return ps_fail_field(st, "state_filter", "must be PROSPECTS_ONLY, CUSTOMERS_ONLY or ALL_STATES");
  }
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  /* The read time is taken before the snapshot: whatever committed before it is in the snapshot,
   * so a record merged away before read_time is never exported. */
  int64_t read_us = ps_db_now_us();
  if (ps_db_begin_snapshot(ctx->db, st) != 0) return -1;
  int rc = export_pages(ctx, out, tenant, state, read_us);
  ps_db_end_snapshot(ctx->db);
  return rc;
}
