/* CreateProspect and GetProspect (S1, S5, S6; merged-away ids: S10-S12). */
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/names.h"
#include "core/validate.h"
#include "service/apps.h"
#include "service/service.h"
#include "store/db.h"
#include "store/idempotency.h"
#include "store/prospects.h"

static int out_of_memory(ps_ctx_t *ctx) {
  return ps_fail(&ctx->status, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* 1 when s has a character other than space or tab. */
static int has_text(const char *s) {
  for (; s && *s; s++)
    if (*s != ' ' && *s != '\t') return 1;
  return 0;
}

/* Validates the input fields of a Prospect for create (limits from resources.proto). Output-only
 * fields are ignored. 0, or -1 with st INVALID_ARGUMENT naming the field. */
static int validate_prospect_input(const Prospects__V1__Prospect *p, ps_status_t *st) {
  if (!p) return ps_fail_field(st, "prospect", "is required");
  if (p->kind == PROSPECTS__V1__PARTY_KIND__PARTY_KIND_UNSPECIFIED)
    return ps_fail_field(st, "prospect.kind", "is required (PERSON or COMPANY)");
  if (p->kind != PROSPECTS__V1__PARTY_KIND__PERSON && p->kind != PROSPECTS__V1__PARTY_KIND__COMPANY)
    return ps_fail_field(st, "prospect.kind", "must be PERSON or COMPANY");
  if (ps_check_text(p->first_name, "prospect.first_name", 100, 0, 0, st) ||
      ps_check_text(p->last_name, "prospect.last_name", 100, 0, 0, st) ||
      ps_check_text(p->company_name, "prospect.company_name", 200, 0, 0, st) ||
      ps_check_text(p->vat_number, "prospect.vat_number", 32, 0, 0, st) ||
      ps_check_email(p->email, "prospect.email", st) ||
      ps_check_phone(p->phone, "prospect.phone", st) ||
      ps_check_website(p->website, "prospect.website", st) ||
      ps_check_language(p->language, "prospect.language", st) ||
      ps_check_text(p->notes, "prospect.notes", 10000, 0, 1, st))
    return -1;
  const Prospects__V1__Address *ad = p->address;
  if (ad && (ps_check_text(ad->street, "prospect.address.street", 200, 0, 0, st) ||
             ps_check_text(ad->postal_code, "prospect.address.postal_code", 20, 0, 0, st) ||
             ps_check_text(ad->city, "prospect.address.city", 100, 0, 0, st) ||
             ps_check_country(ad->country_code, "prospect.address.country_code", st)))
    return -1;
  if (p->kind == PROSPECTS__V1__PARTY_KIND__PERSON && !has_text(p->first_name) &&
      !has_text(p->last_name))
    return ps_fail_field(st, "prospect.last_name", "a PERSON needs a first or last name");
  if (p->kind == PROSPECTS__V1__PARTY_KIND__COMPANY && !has_text(p->company_name))
    return ps_fail_field(st, "prospect.company_name", "is required for a COMPANY");
  return 0;
}

/* "first last" without stray spaces when one is missing. */
static char *person_display_name(ps_arena_t *a, const char *first, const char *last) {
  if (!has_text(first)) return ps_arena_strdup(a, last);
  if (!has_text(last)) return ps_arena_strdup(a, first);
  return ps_arena_printf(a, "%s %s", first, last);
}

typedef struct create_tx {
  ps_arena_t *arena;           /* for a stored response */
  const char *tenant;          /* the tenant */
  const ps_prospect_cols_t *c; /* the row to insert */
  int with_key;                /* a request_id was given */
  ps_idem_key_t key;           /* ... and its key */
  const uint8_t *packed;       /* the response to store under the key */
  size_t packed_len;
  int replay;                  /* out: the key had a stored response */
  ps_blob_t stored;            /* out: that response */
} create_tx_t;

static int create_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  create_tx_t *t = arg;
  t->replay = 0;
  if (t->with_key) {
    int rc = ps_idem_claim(db, t->arena, &t->key, t->c->create_us, &t->stored, st);
    if (rc < 0) return -1;
    if (rc == 1) {
      t->replay = 1;
      return 0;
    }
  }
  if (ps_store_prospect_insert(db, t->tenant, t->c, st) != 0) return -1;
  if (t->with_key && ps_idem_store(db, &t->key, t->packed, t->packed_len, st) != 0) return -1;
  return 0;
}

/* CreateProspect (S1, S5, S6): validates everything first (parent, request_id, every field with the
 * limits of resources.proto; kind required; a PERSON needs a first or last name, a COMPANY a company
 * name) and writes nothing on failure. Needs the PROSPECTS app (S4). A request_id makes retries safe:
 * the same id with the same request returns the first result, with another request
 * ALREADY_EXISTS (REQUEST_ID_REUSED); the key is written in the prospect's own transaction. */
int ps_create_prospect(ps_ctx_t *ctx, const Prospects__V1__CreateProspectRequest *req,
                       Prospects__V1__Prospect **ret) {
  ps_status_t *st = &ctx->status;
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  const char *request_id = str_or_empty(req->request_id);
  if (ps_check_request_id(request_id, "request_id", 0, st) != 0) return -1;
  const Prospects__V1__Prospect *in = req->prospect;
  if (validate_prospect_input(in, st) != 0) return -1;

  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  ps_arena_t *a = ctx->arena;
  ps_prospect_cols_t c;
  memset(&c, 0, sizeof c);
  if (ps_id_new(&c.id) != 0)
    return ps_fail(st, PS_INTERNAL, "", "Could not make a new record id.");
  const Prospects__V1__Address *ad = in->address;
  c.kind = in->kind;
  c.state = PROSPECTS__V1__PROSPECT_STATE__PROSPECT;
  c.first_name = (char *)str_or_empty(in->first_name);
  c.last_name = (char *)str_or_empty(in->last_name);
  c.company_name = (char *)str_or_empty(in->company_name);
  c.vat_number = (char *)str_or_empty(in->vat_number);
  c.email = (char *)str_or_empty(in->email);
  c.phone = (char *)str_or_empty(in->phone);
  c.website = (char *)str_or_empty(in->website);
  c.street = (char *)str_or_empty(ad ? ad->street : NULL);
  c.postal_code = (char *)str_or_empty(ad ? ad->postal_code : NULL);
  c.city = (char *)str_or_empty(ad ? ad->city : NULL);
  c.country_code = (char *)str_or_empty(ad ? ad->country_code : NULL);
  c.language = (char *)str_or_empty(in->language);
  c.notes = (char *)str_or_empty(in->notes);
  c.converting_invoice = "";
  c.display_name = c.kind == PROSPECTS__V1__PARTY_KIND__COMPANY
                       ? c.company_name
                       : person_display_name(a, c.first_name, c.last_name);
  if (!c.display_name) return out_of_memory(ctx);
  c.version = 1;
  c.create_us = c.update_us = ps_db_now_us();

  Prospects__V1__Prospect *out = ps_store_prospect_msg(a, tenant, &c);
  if (!out) return out_of_memory(ctx);

  create_tx_t t;
  memset(&t, 0, sizeof t);
  t.arena = a;
  t.tenant = tenant;
  t.c = &c;
  if (request_id[0]) {
    t.with_key = 1;
    t.key.tenant = tenant;
    t.key.request_id = request_id;
    t.key.method = "CreateProspect";
    if (ps_idem_fingerprint(&req->base, &t.key.fingerprint) != 0) return out_of_memory(ctx);
    size_t n = protobuf_c_message_get_packed_size(&out->base);
    uint8_t *buf = ps_arena_alloc(a, n ? n : 1);
    if (!buf) return out_of_memory(ctx);
    t.packed_len = protobuf_c_message_pack(&out->base, buf);
    t.packed = buf;
  }
  if (ps_db_tx(ctx->db, create_tx, &t, st) != 0) return -1;
  if (t.replay) {
    out = prospects__v1__prospect__unpack(&a->allocator, t.stored.len, t.stored.data);
    if (!out) return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
  }
  *ret = out;
  return 0;
}

/* GetProspect (S1, S5): a live record of the caller's tenant. Needs the PROSPECTS app (S4). Another
 * tenant's id, or an unknown one, is NOT_FOUND (PROSPECT_NOT_FOUND) without a hint. A merged-away id
 * (S10-S12) is NOT_FOUND with reason PROSPECT_MERGED, metadata merged_into (the record it was merged
 * into) and surviving_prospect (the live end of the merge chain, when it still exists). */
int ps_get_prospect(ps_ctx_t *ctx, const Prospects__V1__GetProspectRequest *req,
                    Prospects__V1__Prospect **ret) {
  ps_status_t *st = &ctx->status;
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t id;
  if (ps_name_parse_prospect(req->name, "name", tenant, &id, st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  ps_arena_t *a = ctx->arena;
  ps_prospect_cols_t c;
  int rc = ps_store_prospect_get(ctx->db, a, tenant, &id, PS_LOCK_NONE, &c, st);
  if (rc < 0) return -1;
  if (rc == 1) {
    Prospects__V1__Prospect *m = ps_store_prospect_msg(a, tenant, &c);
    if (!m) return out_of_memory(ctx);
    *ret = m;
    return 0;
  }

  ps_merge_chain_t *ch = ps_arena_alloc(a, sizeof *ch);
  if (!ch) return out_of_memory(ctx);
  if (ps_store_prospect_chain(ctx->db, tenant, &id, ch, st) != 0) return -1;
  char *name = ps_name_prospect(a, tenant, &id);
  if (!name) return out_of_memory(ctx);
  if (ch->n_via == 0)
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "Prospect %s does not exist.", name);

  char *into = ps_name_prospect(a, tenant, ch->n_via > 1 ? &ch->via[1] : &ch->end);
  char *end = ps_name_prospect(a, tenant, &ch->end);
  if (!into || !end) return out_of_memory(ctx);
  if (ch->end_live) {
    ps_fail(st, PS_NOT_FOUND, "PROSPECT_MERGED", "Prospect %s was merged into %s.", name, end);
    ps_status_meta(st, "merged_into", into);
    return ps_status_meta(st, "surviving_prospect", end);
  }
  ps_fail(st, PS_NOT_FOUND, "PROSPECT_MERGED",
          "Prospect %s was merged into %s, which no longer exists.", name, into);
  return ps_status_meta(st, "merged_into", into);
}
