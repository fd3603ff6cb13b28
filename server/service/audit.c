/* The audit trail (issue 10): rows written by the changes they record (apps.c, merges.c) through
 * ps_audit_record, and read by operators with ListAuditEvents. */
#include "service/audit.h"

#include <string.h>

#include "core/names.h"
#include "core/pagetoken.h"
#include "core/validate.h"
#include "service/service.h"
#include "store/audit.h"
#include "store/db.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000

int ps_audit_record(ps_db_t *db, const char *caller, const char *acting_user, const char *tenant,
                    const char *action, const char *resource, const char *details, int64_t now_us,
                    ps_status_t *st) {
  ps_audit_row_t row;
  memset(&row, 0, sizeof row);
  row.action = (char *)action;
  row.caller = (char *)(caller ? caller : "");
  row.acting_user = (char *)(acting_user ? acting_user : "");
  row.resource = (char *)resource;
  row.details = (char *)details;
  return ps_store_audit_insert(db, tenant, now_us, &row, st);
}

Prospects__V1__AuditEvent *ps_audit_event_msg(ps_arena_t *a, const char *tenant,
                                              const ps_audit_row_t *row) {
  Prospects__V1__AuditEvent *e = ps_arena_alloc(a, sizeof *e);
  if (!e) return NULL;
  prospects__v1__audit_event__init(e);
  e->name = ps_name_audit_event(a, tenant, &row->id);
  e->create_time = ps_db_timestamp(a, row->create_us);
  if (!e->name || !e->create_time) return NULL;
  e->action = row->action;
  e->caller = row->caller;
  e->acting_user = row->acting_user;
  e->resource = row->resource;
  e->details = row->details;
  e->redacted = row->redacted != 0;
  return e;
}

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

/* ListAuditEvents: a tenant's audit trail, newest first, in keyset pages. Not gated by the apps:
 * the trail of a tenant whose apps are off stays readable. */
int ps_list_audit_events(ps_ctx_t *ctx, const Prospects__V1__ListAuditEventsRequest *req,
                         Prospects__V1__ListAuditEventsResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  int32_t page_size;
  if (ps_check_page_size(req->page_size, "page_size", LIST_DEFAULT, LIST_MAX, &page_size, st) != 0)
    return -1;
  ps_pagetoken_ctx_t tc;
  ps_pagetoken_ctx_init(&tc, "ListAuditEvents");
  ps_pagetoken_ctx_str(&tc, tenant);
  int has_cursor = 0;
  ps_id_t after;
  if (req->page_token && req->page_token[0]) {
    unsigned char pos[PS_PAGETOKEN_MAX_POS];
    size_t n = 0;
    if (ps_pagetoken_open(req->page_token, &tc, pos, &n) != 0 || n != 16)
      return ps_fail_field(st, "page_token",
                           "is not a token of this listing (it belongs to another tenant, or was "
                           "altered); start again without a token");
    memcpy(after.b, pos, 16);
    has_cursor = 1;
  }
  int limit = page_size + 1;
  ps_audit_row_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)limit);
  if (!rows) return out_of_memory(st);
  int n = 0;
  if (ps_store_audit_list(ctx->db, a, tenant, has_cursor, &after, limit, rows, &n, st) != 0)
    return -1;
  Prospects__V1__ListAuditEventsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return out_of_memory(st);
  prospects__v1__list_audit_events_response__init(resp);
  int shown = n > page_size ? page_size : n;
  resp->audit_events = ps_arena_alloc(a, sizeof *resp->audit_events * (size_t)(shown ? shown : 1));
  if (!resp->audit_events) return out_of_memory(st);
  ps_reply_budget_t budget;
  ps_reply_budget_init(&budget, ctx->max_reply_bytes);
  int cut = 0;
  for (int i = 0; i < shown; i++) {
    Prospects__V1__AuditEvent *e = ps_audit_event_msg(a, tenant, &rows[i]);
    if (!e) return out_of_memory(st);
    if (!ps_reply_budget_take(&budget, &e->base, i)) {
      shown = i;
      cut = 1;
      break;
    }
    resp->audit_events[i] = e;
  }
  resp->n_audit_events = (size_t)shown;
  if ((n > shown || cut) && shown > 0 &&
      !(resp->next_page_token = ps_pagetoken_make(a, &tc, rows[shown - 1].id.b, 16)))
    return out_of_memory(st);
  *ret = resp;
  return 0;
}
