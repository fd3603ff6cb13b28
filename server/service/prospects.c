/* Prospect records (S1, S5, S6; merged-away ids: S10-S12): create, get, update, delete, the
 * overview (list with query, filter, order and page tokens) and the duplicate check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/names.h"
#include "core/normalize.h"
#include "core/normalize_v1.h"
#include "core/pagetoken.h"
#include "core/similarity.h"
#include "core/validate.h"
#include "google/protobuf/empty.pb-c.h"
#include "service/apps.h"
#include "service/prefetch.h"
#include "service/records.h"
#include "service/service.h"
#include "store/db.h"
#include "store/idempotency.h"
#include "store/person_data.h"
#include "store/prospects.h"
#include "store/search.h"

static int out_of_memory(ps_ctx_t *ctx) {
  return ps_fail(&ctx->status, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* Field path "<prefix>.<field>" in buf. */
static const char *fpath(char *buf, size_t n, const char *prefix, const char *field) {
  snprintf(buf, n, "%s.%s", prefix, field);
  return buf;
}

/* Validates the fields of p named by bits (PS_PF_*) with the limits of resources.proto; field
 * paths start with prefix ("prospect", "candidate"). 0, or -1 with st INVALID_ARGUMENT naming the
 * field. */
static int validate_fields(const Prospects__V1__Prospect *p, unsigned bits, const char *prefix,
                           ps_status_t *st) {
  char f[64];
  const Prospects__V1__Address *ad = p->address;
#define WANT(b) (bits & (b))
  if ((WANT(PS_PF_FIRST_NAME) && ps_check_text(p->first_name, fpath(f, sizeof f, prefix, "first_name"), 100, 0, 0, st)) ||
      (WANT(PS_PF_LAST_NAME) && ps_check_text(p->last_name, fpath(f, sizeof f, prefix, "last_name"), 100, 0, 0, st)) ||
      (WANT(PS_PF_COMPANY_NAME) && ps_check_text(p->company_name, fpath(f, sizeof f, prefix, "company_name"), 200, 0, 0, st)) ||
      (WANT(PS_PF_VAT_NUMBER) && ps_check_text(p->vat_number, fpath(f, sizeof f, prefix, "vat_number"), 32, 0, 0, st)) ||
      (WANT(PS_PF_EMAIL) && ps_check_email(p->email, fpath(f, sizeof f, prefix, "email"), st)) ||
      (WANT(PS_PF_PHONE) && ps_check_phone(p->phone, fpath(f, sizeof f, prefix, "phone"), st)) ||
      (WANT(PS_PF_WEBSITE) && ps_check_website(p->website, fpath(f, sizeof f, prefix, "website"), st)) ||
      (WANT(PS_PF_LANGUAGE) && ps_check_language(p->language, fpath(f, sizeof f, prefix, "language"), st)) ||
      (WANT(PS_PF_NOTES) && ps_check_text(p->notes, fpath(f, sizeof f, prefix, "notes"), 10000, 0, 1, st)))
    return -1;
  if (ad && ((WANT(PS_PF_STREET) && ps_check_text(ad->street, fpath(f, sizeof f, prefix, "address.street"), 200, 0, 0, st)) ||
             (WANT(PS_PF_POSTAL_CODE) && ps_check_text(ad->postal_code, fpath(f, sizeof f, prefix, "address.postal_code"), 20, 0, 0, st)) ||
             (WANT(PS_PF_CITY) && ps_check_text(ad->city, fpath(f, sizeof f, prefix, "address.city"), 100, 0, 0, st)) ||
             (WANT(PS_PF_COUNTRY_CODE) && ps_check_country(ad->country_code, fpath(f, sizeof f, prefix, "address.country_code"), st))))
    return -1;
#undef WANT
  return 0;
}

/* Checks the kind and the name a kind needs (a PERSON a first or last name, a COMPANY a company
 * name); field paths start with prefix. 0, or -1 with st INVALID_ARGUMENT naming the field. */
static int validate_kind_names(int kind, const char *first, const char *last, const char *company,
                               const char *prefix, ps_status_t *st) {
  char f[64];
  if (kind == PROSPECTS__V1__PARTY_KIND__PERSON && !ps_has_text(first) && !ps_has_text(last))
    return ps_fail_field(st, fpath(f, sizeof f, prefix, "last_name"),
                         "a PERSON needs a first or last name");
  if (kind == PROSPECTS__V1__PARTY_KIND__COMPANY && !ps_has_text(company))
    return ps_fail_field(st, fpath(f, sizeof f, prefix, "company_name"), "is required for a COMPANY");
  return 0;
}

int ps_prospect_validate_new(const Prospects__V1__Prospect *p, const char *prefix, ps_status_t *st) {
  char f[64];
  if (!p) return ps_fail_field(st, prefix, "is required");
  if (p->kind == PROSPECTS__V1__PARTY_KIND__PARTY_KIND_UNSPECIFIED)
    return ps_fail_field(st, fpath(f, sizeof f, prefix, "kind"), "is required (PERSON or COMPANY)");
  if (p->kind != PROSPECTS__V1__PARTY_KIND__PERSON && p->kind != PROSPECTS__V1__PARTY_KIND__COMPANY)
    return ps_fail_field(st, fpath(f, sizeof f, prefix, "kind"), "must be PERSON or COMPANY");
  if (validate_fields(p, PS_PF_ALL, prefix, st) != 0) return -1;
  return validate_kind_names(p->kind, p->first_name, p->last_name, p->company_name, prefix, st);
}

/* "first last" without stray spaces when one is missing. */
static char *person_display_name(ps_arena_t *a, const char *first, const char *last) {
  if (!ps_has_text(first)) return ps_arena_strdup(a, last);
  if (!ps_has_text(last)) return ps_arena_strdup(a, first);
  return ps_arena_printf(a, "%s %s", first, last);
}

int ps_prospect_new_row(ps_arena_t *a, const Prospects__V1__Prospect *in, ps_prospect_cols_t *ret,
                        ps_status_t *st) {
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
  if (!c.display_name)
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
  c.version = 1;
  c.create_us = c.update_us = ps_db_now_us();
  *ret = c;
  return 0;
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
  if (ps_prospect_validate_new(in, "prospect", st) != 0) return -1;

  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  ps_arena_t *a = ctx->arena;
  ps_prospect_cols_t c;
  if (ps_prospect_new_row(a, in, &c, st) != 0) return -1;

  Prospects__V1__Prospect *out = ps_store_prospect_msg(a, tenant, &c);
  if (!out) return out_of_memory(ctx);

  create_tx_t t;
  memset(&t, 0, sizeof t);
  t.arena = a;
  t.tenant = tenant;
  t.c = &c;
  if (request_id[0]) {
    t.with_key = 1;
    if (ps_idem_key_init(&t.key, tenant, request_id, "CreateProspect", &req->base) != 0)
      return out_of_memory(ctx);
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
  int rc = ps_prefetch_prospect(ctx, tenant, &id, &c); /* read with the calls of its batch */
  if (rc == -2) rc = ps_store_prospect_get(ctx->db, a, tenant, &id, PS_LOCK_NONE, &c, st);
  if (rc < 0) return -1;
  if (rc == 1) {
    Prospects__V1__Prospect *m = ps_store_prospect_msg(a, tenant, &c);
    if (!m) return out_of_memory(ctx);
    *ret = m;
    return 0;
  }

  return ps_prospect_missing(ctx, tenant, &id);
}

int ps_prospect_missing(ps_ctx_t *ctx, const char *tenant, const ps_id_t *id) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  ps_merge_chain_t *ch = ps_arena_alloc(a, sizeof *ch);
  if (!ch) return out_of_memory(ctx);
  if (ps_store_prospect_chain(ctx->db, tenant, id, ch, st) != 0) return -1;
  char *name = ps_name_prospect(a, tenant, id);
  if (!name) return out_of_memory(ctx);
  if (ch->n_via == 0) {
    int kind = 0, erased = ps_store_erased_get(ctx->db, tenant, id, &kind, st);
    if (erased < 0) return -1;
    if (erased && kind == PS_ERASED_PROSPECT)
      return ps_fail(st, PS_NOT_FOUND, "PROSPECT_ERASED",
                     "Prospect %s was erased (ErasePersonData); its data is gone.", name);
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "Prospect %s does not exist.", name);
  }

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

/* ------------------------------------------------------------------------------ update */

static const struct {
  const char *path;
  unsigned bits;
} k_prospect_paths[] = {
    {"first_name", PS_PF_FIRST_NAME},     {"last_name", PS_PF_LAST_NAME},
    {"company_name", PS_PF_COMPANY_NAME}, {"vat_number", PS_PF_VAT_NUMBER},
    {"email", PS_PF_EMAIL},               {"phone", PS_PF_PHONE},
    {"website", PS_PF_WEBSITE},           {"address", PS_PF_ADDRESS},
    {"address.street", PS_PF_STREET},     {"address.postal_code", PS_PF_POSTAL_CODE},
    {"address.city", PS_PF_CITY},         {"address.country_code", PS_PF_COUNTRY_CODE},
    {"language", PS_PF_LANGUAGE},         {"notes", PS_PF_NOTES},
    {"*", PS_PF_ALL | PS_PF_STAR},
};
static const char *const k_prospect_output_only[] = {
    "name", "display_name", "state", "create_time", "update_time", "convert_time",
    "converting_invoice", "etag"};

int ps_prospect_parse_mask(const Google__Protobuf__FieldMask *mask, unsigned *ret_bits,
                           ps_status_t *st) {
  if (!mask || mask->n_paths == 0)
    return ps_fail_field(st, "update_mask", "is required: name the fields to change, or \"*\"");
  unsigned bits = 0;
  for (size_t i = 0; i < mask->n_paths; i++) {
    const char *path = mask->paths[i] ? mask->paths[i] : "";
    char q[PS_QUOTE_SIZE];
    size_t k, n = sizeof k_prospect_paths / sizeof k_prospect_paths[0];
    for (k = 0; k < n; k++)
      if (strcmp(path, k_prospect_paths[k].path) == 0) break;
    if (k < n) {
      bits |= k_prospect_paths[k].bits;
      continue;
    }
    if (strcmp(path, "kind") == 0)
      return ps_fail_field(st, "update_mask.paths", "\"kind\" cannot be changed after create");
    for (k = 0; k < sizeof k_prospect_output_only / sizeof k_prospect_output_only[0]; k++)
      if (strcmp(path, k_prospect_output_only[k]) == 0)
        return ps_fail_field(st, "update_mask.paths", "\"%s\" is set by the server and cannot be written",
                             path);
    return ps_fail_field(st, "update_mask.paths", "\"%s\" is not a field of Prospect",
                         ps_quote(path, q));
  }
  *ret_bits = bits;
  return 0;
}

static char *sv(const char *s) { return (char *)(s ? s : ""); }

/* Applies the masked fields of in to c (strings shared with in). */
static void apply_prospect_mask(ps_prospect_cols_t *c, const Prospects__V1__Prospect *in,
                                unsigned bits) {
  const Prospects__V1__Address *ad = in->address;
  if (bits & PS_PF_FIRST_NAME) c->first_name = sv(in->first_name);
  if (bits & PS_PF_LAST_NAME) c->last_name = sv(in->last_name);
  if (bits & PS_PF_COMPANY_NAME) c->company_name = sv(in->company_name);
  if (bits & PS_PF_VAT_NUMBER) c->vat_number = sv(in->vat_number);
  if (bits & PS_PF_EMAIL) c->email = sv(in->email);
  if (bits & PS_PF_PHONE) c->phone = sv(in->phone);
  if (bits & PS_PF_WEBSITE) c->website = sv(in->website);
  if (bits & PS_PF_STREET) c->street = sv(ad ? ad->street : NULL);
  if (bits & PS_PF_POSTAL_CODE) c->postal_code = sv(ad ? ad->postal_code : NULL);
  if (bits & PS_PF_CITY) c->city = sv(ad ? ad->city : NULL);
  if (bits & PS_PF_COUNTRY_CODE) c->country_code = sv(ad ? ad->country_code : NULL);
  if (bits & PS_PF_LANGUAGE) c->language = sv(in->language);
  if (bits & PS_PF_NOTES) c->notes = sv(in->notes);
}

/* 1 when a and b hold the same text in every writable column (the derived display name
 * included). Requests are NFC (core/unicode.h), so text that differs only in how it was composed
 * is the same here. */
static int same_prospect_data(const ps_prospect_cols_t *a, const ps_prospect_cols_t *b) {
  const char *const x[] = {a->display_name, a->first_name, a->last_name,   a->company_name,
                           a->vat_number,   a->email,      a->phone,       a->website,
                           a->street,       a->postal_code, a->city,       a->country_code,
                           a->language,     a->notes};
  const char *const y[] = {b->display_name, b->first_name, b->last_name,   b->company_name,
                           b->vat_number,   b->email,      b->phone,       b->website,
                           b->street,       b->postal_code, b->city,       b->country_code,
                           b->language,     b->notes};
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
    if (strcmp(x[i], y[i]) != 0) return 0;
  return 1;
}

/* A given etag must be the record's: ABORTED ETAG_MISMATCH otherwise. */
static int check_etag(const char *etag, uint64_t version, const char *what, ps_status_t *st) {
  if (!etag || !etag[0]) return 0;
  uint64_t v;
  if (ps_db_etag_parse(etag, &v) != 0 || v != version)
    return ps_fail(st, PS_ABORTED, "ETAG_MISMATCH",
                   "The %s was changed since this etag was read; read it again and retry.", what);
  return 0;
}

typedef struct update_tx {
  ps_arena_t *arena;
  const char *tenant;
  ps_id_t id;
  const Prospects__V1__Prospect *in;
  unsigned bits;
  int missing;              /* out: no live record with this id */
  ps_prospect_cols_t out;   /* out: the record as written */
} update_tx_t;

static int update_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  update_tx_t *t = arg;
  t->missing = 0;
  ps_prospect_cols_t c;
  int rc = ps_store_prospect_get(db, t->arena, t->tenant, &t->id, PS_LOCK_UPDATE, &c, st);
  if (rc < 0) return -1;
  if (rc == 0) {
    t->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "The prospect does not exist.");
  }
  if (check_etag(t->in->etag, c.version, "prospect", st) != 0) return -1;
  if ((t->bits & PS_PF_STAR) && t->in->kind != PROSPECTS__V1__PARTY_KIND__PARTY_KIND_UNSPECIFIED &&
      (int)t->in->kind != c.kind)
    return ps_fail_field(st, "prospect.kind", "cannot be changed after create");
  uint64_t old_version = c.version;
  const ps_prospect_cols_t before = c;
  apply_prospect_mask(&c, t->in, t->bits);
  if (validate_kind_names(c.kind, c.first_name, c.last_name, c.company_name, "prospect", st) != 0)
    return -1;
  c.display_name = c.kind == PROSPECTS__V1__PARTY_KIND__COMPANY
                       ? c.company_name
                       : person_display_name(t->arena, c.first_name, c.last_name);
  if (!c.display_name) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  if (same_prospect_data(&before, &c)) { /* nothing to change: no new version */
    t->out = before;
    return 0;
  }
  c.version = old_version + 1;
  c.update_us = ps_db_now_us();
  if (c.update_us <= c.create_us) c.update_us = c.create_us + 1;
  if (ps_store_prospect_update(db, t->tenant, &c, old_version, st) != 0) return -1;
  t->out = c;
  return 0;
}

/* UpdateProspect (S1, S5): writes only the fields named in update_mask ("*": every writable field;
 * "address" or "address.city" and so on); kind and the server-set fields cannot be written
 * (INVALID_ARGUMENT naming update_mask.paths). The record after the change must still satisfy the
 * create rules (a PERSON keeps a first or last name, a COMPANY a company name). A given etag must
 * match (ABORTED ETAG_MISMATCH, nothing written): the row is read FOR UPDATE, so of two updates
 * racing with one etag exactly one wins. An update that leaves every field as it was writes
 * nothing: etag and update_time stay (so resending the same data, composed or decomposed, makes no
 * new version). Display name, duplicate-check normal forms and the word index follow in the same
 * transaction. Needs the PROSPECTS app (S4); another tenant's record is
 * NOT_FOUND. */
int ps_update_prospect(ps_ctx_t *ctx, const Prospects__V1__UpdateProspectRequest *req,
                       Prospects__V1__Prospect **ret) {
  ps_status_t *st = &ctx->status;
  if (!req->prospect) return ps_fail_field(st, "prospect", "is required");
  char tenant[PS_TENANT_MAX + 1];
  update_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_name_parse_prospect(req->prospect->name, "prospect.name", tenant, &t.id, st) != 0) return -1;
  if (ps_prospect_parse_mask(req->update_mask, &t.bits, st) != 0) return -1;
  if (validate_fields(req->prospect, t.bits, "prospect", st) != 0) return -1;
  if (req->prospect->kind != PROSPECTS__V1__PARTY_KIND__PARTY_KIND_UNSPECIFIED &&
      req->prospect->kind != PROSPECTS__V1__PARTY_KIND__PERSON &&
      req->prospect->kind != PROSPECTS__V1__PARTY_KIND__COMPANY)
    return ps_fail_field(st, "prospect.kind", "must be PERSON or COMPANY");
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  t.arena = ctx->arena;
  t.tenant = tenant;
  t.in = req->prospect;
  if (ps_db_tx(ctx->db, update_tx, &t, st) != 0) {
    if (t.missing) return ps_prospect_missing(ctx, tenant, &t.id);
    return -1;
  }
  Prospects__V1__Prospect *m = ps_store_prospect_msg(ctx->arena, tenant, &t.out);
  if (!m) return out_of_memory(ctx);
  *ret = m;
  return 0;
}

/* ------------------------------------------------------------------------------ delete */

typedef struct delete_tx {
  ps_arena_t *arena;
  const char *tenant;
  ps_id_t id;
  const char *etag;
  int missing; /* out: no live record with this id */
} delete_tx_t;

static int delete_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  delete_tx_t *t = arg;
  t->missing = 0;
  ps_prospect_cols_t c;
  int rc = ps_store_prospect_get(db, t->arena, t->tenant, &t->id, PS_LOCK_UPDATE, &c, st);
  if (rc < 0) return -1;
  if (rc == 0) {
    t->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "The prospect does not exist.");
  }
  if (check_etag(t->etag, c.version, "prospect", st) != 0) return -1;
  int64_t docs = 0;
  if (ps_store_prospect_document_count(db, t->tenant, &t->id, &docs, st) != 0) return -1;
  if (docs > 0) {
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)docs);
    ps_fail(st, PS_FAILED_PRECONDITION, "PROSPECT_HAS_DOCUMENTS",
            "The prospect has %lld linked document%s; merge it into another record instead of "
            "deleting it, so that no document is lost.", (long long)docs, docs == 1 ? "" : "s");
    return ps_status_meta(st, "documents", n);
  }
  return ps_store_prospect_delete(db, t->tenant, &t->id, st);
}

/* DeleteProspect (S1, S5): deletes a record and its contact persons in one transaction. Refused
 * with FAILED_PRECONDITION (PROSPECT_HAS_DOCUMENTS) while documents are linked to it: those must be
 * merged, not lost. The record is locked FOR UPDATE first, so a link that locks the record (as
 * linking must) cannot slip in between the check and the delete. A given etag must match (ABORTED
 * ETAG_MISMATCH). NOT_FOUND for a missing record or another tenant's. Needs the PROSPECTS app. */
int ps_delete_prospect(ps_ctx_t *ctx, const Prospects__V1__DeleteProspectRequest *req,
                       Google__Protobuf__Empty **ret) {
  ps_status_t *st = &ctx->status;
  char tenant[PS_TENANT_MAX + 1];
  delete_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_name_parse_prospect(req->name, "name", tenant, &t.id, st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  t.arena = ctx->arena;
  t.tenant = tenant;
  t.etag = req->etag;
  if (ps_db_tx(ctx->db, delete_tx, &t, st) != 0) {
    if (t.missing) return ps_prospect_missing(ctx, tenant, &t.id);
    return -1;
  }
  Google__Protobuf__Empty *e = ps_arena_alloc(ctx->arena, sizeof *e);
  if (!e) return out_of_memory(ctx);
  google__protobuf__empty__init(e);
  *ret = e;
  return 0;
}

/* ------------------------------------------------------------------------------ list */

#define LIST_DEFAULT 50
#define LIST_MAX 1000
#define QUERY_MAX_CHARS 200

/* The position a ListProspects token carries: order, last id, last display name (BY_NAME). */
static size_t pack_position(unsigned char *out, int order, const ps_prospect_cols_t *last) {
  size_t n = 0;
  out[n++] = (unsigned char)order;
  memcpy(out + n, last->id.b, 16);
  n += 16;
  if (order == PS_LIST_BY_NAME) {
    size_t l = strlen(last->display_name);
    if (l > PS_PAGETOKEN_MAX_POS - n) l = PS_PAGETOKEN_MAX_POS - n; /* cannot happen: 255 chars */
    memcpy(out + n, last->display_name, l);
    n += l;
  }
  return n;
}

/* 1 when the two lists of query words hold the same words. */
static int same_words(char (*x)[PS_SEARCH_TERM_BYTES], int nx, char (*y)[PS_SEARCH_TERM_BYTES], int ny) {
  if (nx != ny) return 0;
  for (int i = 0; i < nx; i++) {
    int found = 0;
    for (int j = 0; j < ny && !found; j++) found = strcmp(x[i], y[j]) == 0;
    if (!found) return 0;
  }
  return 1;
}

/* ListProspects (S1, S11): the overview. State filter (default PROSPECTS_ONLY), order NEWEST_FIRST
 * (default; ids are time-ordered) or BY_NAME (display name, then id), a text query over name,
 * company name, e-mail, VAT number and city (store/search.h: every query word must start a word of
 * the record), page_size 0 -> 50, above 1000 -> 1000, negative INVALID_ARGUMENT. Keyset pagination:
 * the token carries the last (display name,) id, sealed with HMAC and bound to tenant, query,
 * filter and order, so a token used with another of those, or altered, is INVALID_ARGUMENT; no
 * record that existed when the first page was read is skipped or repeated while rows are added.
 * Until the reindex has rebuilt every row, a record not rebuilt yet is also found by the words of
 * the query as version 1 folded them, as it was before. Needs the PROSPECTS app (S4). */
int ps_list_prospects(ps_ctx_t *ctx, const Prospects__V1__ListProspectsRequest *req,
                      Prospects__V1__ListProspectsResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  int32_t page_size;
  if (ps_check_page_size(req->page_size, "page_size", LIST_DEFAULT, LIST_MAX, &page_size, st) != 0)
    return -1;
  const char *query = str_or_empty(req->query);
  if (ps_check_text(query, "query", QUERY_MAX_CHARS, 0, 0, st) != 0) return -1;
  int filter = req->state_filter == PROSPECTS__V1__STATE_FILTER__STATE_FILTER_UNSPECIFIED
                   ? PROSPECTS__V1__STATE_FILTER__PROSPECTS_ONLY
                   : (int)req->state_filter;
  if (filter < PROSPECTS__V1__STATE_FILTER__PROSPECTS_ONLY ||
      filter > PROSPECTS__V1__STATE_FILTER__ALL_STATES)
    return ps_fail_field(st, "state_filter", "must be PROSPECTS_ONLY, CUSTOMERS_ONLY or ALL_STATES");
  int order_in = req->order_by == PROSPECTS__V1__PROSPECT_ORDER__PROSPECT_ORDER_UNSPECIFIED
                     ? PROSPECTS__V1__PROSPECT_ORDER__NEWEST_FIRST
                     : (int)req->order_by;
  if (order_in != PROSPECTS__V1__PROSPECT_ORDER__NEWEST_FIRST &&
      order_in != PROSPECTS__V1__PROSPECT_ORDER__BY_NAME)
    return ps_fail_field(st, "order_by", "must be NEWEST_FIRST or BY_NAME");

  ps_list_query_t q;
  memset(&q, 0, sizeof q);
  q.order = order_in == PROSPECTS__V1__PROSPECT_ORDER__BY_NAME ? PS_LIST_BY_NAME : PS_LIST_NEWEST;
  switch (filter) {
  case PROSPECTS__V1__STATE_FILTER__PROSPECTS_ONLY:
    q.states[0] = PROSPECTS__V1__PROSPECT_STATE__PROSPECT;
    break;
  case PROSPECTS__V1__STATE_FILTER__CUSTOMERS_ONLY:
    q.states[0] = PROSPECTS__V1__PROSPECT_STATE__CUSTOMER;
    break;
  default:
    q.states[0] = PROSPECTS__V1__PROSPECT_STATE__PROSPECT;
    q.states[1] = PROSPECTS__V1__PROSPECT_STATE__CUSTOMER;
  }
  char(*words)[PS_SEARCH_TERM_BYTES] = ps_arena_alloc(a, PS_SEARCH_QUERY_WORDS * PS_SEARCH_TERM_BYTES);
  if (!words) return out_of_memory(ctx);
  if (ps_search_query_words(query, words, &q.n_words) != 0)
    return ps_fail_field(st, "query", "has more than %d different words", PS_SEARCH_QUERY_WORDS);
  for (int i = 0; i < q.n_words; i++) q.words[i] = words[i];
  /* every row is of PS_NORM_VERSION (the reindex is done): each record has its pair terms */
  q.pairs = !ps_norm_v1_in_use();
  if (q.n_words > 0 && ps_norm_v1_in_use()) {
    /* Rows the reindex has not rebuilt yet are indexed under their version-1 words: look those
     * up too when they differ (server/reindex.h; store/search.h: the listing is the union). */
    char(*old)[PS_SEARCH_TERM_BYTES] = ps_arena_alloc(a, PS_SEARCH_QUERY_WORDS * PS_SEARCH_TERM_BYTES);
    int n_old = 0;
    if (!old) return out_of_memory(ctx);
    if (ps_search_query_words_v1(query, old, &n_old) == 0 && !same_words(words, q.n_words, old, n_old)) {
      q.n_old_words = n_old;
      for (int i = 0; i < n_old; i++) q.old_words[i] = old[i];
    }
  }

  ps_pagetoken_ctx_t tc;
  ps_pagetoken_ctx_init(&tc, "ListProspects");
  ps_pagetoken_ctx_str(&tc, tenant);
  ps_pagetoken_ctx_str(&tc, query);
  ps_pagetoken_ctx_int(&tc, filter);
  ps_pagetoken_ctx_int(&tc, q.order);
  if (req->page_token && req->page_token[0]) {
    unsigned char *pos = ps_arena_alloc(a, PS_PAGETOKEN_MAX_POS + 1);
    size_t n = 0;
    if (!pos) return out_of_memory(ctx);
    if (ps_pagetoken_open(req->page_token, &tc, pos, &n) != 0 || n < 17 || pos[0] != q.order ||
        (q.order == PS_LIST_NEWEST && n != 17))
      return ps_fail_field(st, "page_token",
                           "is not a token of this listing (it belongs to another tenant, query, "
                           "filter or order, or was altered); start again without a token");
    q.has_cursor = 1;
    memcpy(q.after_id.b, pos + 1, 16);
    pos[n] = '\0';
    q.after_name = (const char *)pos + 17;
  }

  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  q.limit = page_size + 1;
  q.max_bytes = ctx->max_reply_bytes;
  ps_prospect_cols_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)q.limit);
  if (!rows) return out_of_memory(ctx);
  int n = 0, cut = 0;
  if (ps_store_prospect_list(ctx->db, a, tenant, &q, rows, &n, &cut, st) != 0) return -1;

  Prospects__V1__ListProspectsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return out_of_memory(ctx);
  prospects__v1__list_prospects_response__init(resp);
  int shown = n > page_size ? page_size : n;
  resp->prospects = ps_arena_alloc(a, sizeof *resp->prospects * (size_t)(shown ? shown : 1));
  if (!resp->prospects) return out_of_memory(ctx);
  ps_reply_budget_t budget;
  ps_reply_budget_init(&budget, ctx->max_reply_bytes);
  for (int i = 0; i < shown; i++) {
    if (!(resp->prospects[i] = ps_store_prospect_msg(a, tenant, &rows[i]))) return out_of_memory(ctx);
    if (!ps_reply_budget_take(&budget, &resp->prospects[i]->base, i)) {
      shown = i; /* the page ends here; the token continues after the last record shown */
      cut = 1;
    }
  }
  resp->n_prospects = (size_t)shown;
  if ((n > page_size || cut) && shown > 0) {
    unsigned char pos[PS_PAGETOKEN_MAX_POS];
    size_t pn = pack_position(pos, q.order, &rows[shown - 1]);
    if (!(resp->next_page_token = ps_pagetoken_make(a, &tc, pos, pn))) return out_of_memory(ctx);
  }
  *ret = resp;
  return 0;
}

/* ------------------------------------------------------------------------------ duplicates */

#define DUP_DEFAULT 20
#define DUP_MAX 100
#define DUP_WORDS 3              /* words of a name whose postings are read */
#define DUP_WORD_ROWS 100        /* records read from each (ids and names from the index) */
#define DUP_PENDING_MAX 64       /* of those, close enough to read their rows */
#define DUP_VARIANT_CHARS_MAX 32 /* keys looked up one edit away: names up to this many characters */

/* Reason bits: 1u << Prospects__V1__DuplicateReason. */
#define R_BIT(r) (1u << PROSPECTS__V1__DUPLICATE_REASON__##r)
#define R_CONTACT (R_BIT(SAME_EMAIL) | R_BIT(SAME_VAT_NUMBER) | R_BIT(SAME_PHONE))

typedef struct dup_acc {
  int has_self;            /* exclude self */
  ps_id_t self;
  int n, cap;              /* candidates collected */
  ps_prospect_cols_t *rows;
  unsigned *reasons;       /* R_BIT()s per candidate */
  double *scores;
  int *slot;               /* hash of ids -> candidate + 1 (0: empty); 2 * cap entries, a power of 2 */
  unsigned mask;
  const char *keys[2];     /* the subject's name keys (NULL: none) */
  double min_score;
  ps_id_t pending[DUP_PENDING_MAX]; /* close names seen in word postings, rows still to read */
  int n_pending;
} dup_acc_t;

static unsigned id_hash(const ps_id_t *id) {
  uint64_t h;
  memcpy(&h, id->b + 8, sizeof h); /* the random half of a UUIDv7 */
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return (unsigned)(h ^ (h >> 32));
}

/* The candidate with id (its index), or -1; *ret_slot: where it is or would go in the hash. */
static int dup_find(const dup_acc_t *d, const ps_id_t *id, unsigned *ret_slot) {
  unsigned h = id_hash(id) & d->mask;
  for (; d->slot[h]; h = (h + 1) & d->mask) {
    int i = d->slot[h] - 1;
    if (memcmp(d->rows[i].id.b, id->b, 16) == 0) {
      *ret_slot = h;
      return i;
    }
  }
  *ret_slot = h;
  return -1;
}

static int dup_collect(void *arg, const ps_prospect_cols_t *row, ps_dup_key_t key) {
  dup_acc_t *d = arg;
  if (d->has_self && memcmp(row->id.b, d->self.b, 16) == 0) return 0;
  unsigned bit = key == PS_DUP_EMAIL ? R_BIT(SAME_EMAIL)
                 : key == PS_DUP_VAT ? R_BIT(SAME_VAT_NUMBER)
                 : key == PS_DUP_PHONE ? R_BIT(SAME_PHONE)
                                       : 0; /* names are scored once all candidates are in */
  unsigned h;
  int i = dup_find(d, &row->id, &h);
  if (i >= 0) {
    d->reasons[i] |= bit;
    return 0;
  }
  if (d->n == d->cap) return 1;
  d->rows[d->n] = *row;
  d->reasons[d->n] = bit;
  d->scores[d->n] = bit ? 1.0 : 0.0;
  d->slot[h] = ++d->n;
  return 0;
}

/* The best closeness of a display name to the subject's keys: its score (kind in *ret_kind). */
static double dup_name_score(const dup_acc_t *d, const char *display_name, ps_sim_kind_t *ret_kind) {
  static __thread char key[1024];
  ps_norm_name(display_name, key, sizeof key);
  double best = 0;
  *ret_kind = PS_SIM_NONE;
  for (int k = 0; k < 2; k++) {
    if (!d->keys[k] || !*d->keys[k]) continue;
    ps_sim_kind_t kk;
    double s = ps_sim_names(d->keys[k], key, &kk);
    if (kk != PS_SIM_NONE && s > best) {
      best = s;
      *ret_kind = kk;
    }
  }
  return best;
}

/* A record of a word's posting (id and name from the index): kept for reading when its name is
 * close enough and it is not a candidate yet. */
static int dup_word_candidate(void *arg, const ps_id_t *id, const char *display_name) {
  dup_acc_t *d = arg;
  if (d->has_self && memcmp(id->b, d->self.b, 16) == 0) return 0;
  unsigned h;
  if (dup_find(d, id, &h) >= 0) return 0;
  for (int i = 0; i < d->n_pending; i++)
    if (memcmp(d->pending[i].b, id->b, 16) == 0) return 0;
  ps_sim_kind_t kind;
  if (dup_name_score(d, display_name, &kind) < d->min_score || kind == PS_SIM_NONE) return 0;
  if (d->n_pending == DUP_PENDING_MAX) return 1;
  d->pending[d->n_pending++] = *id;
  return 0;
}

/* Reads the rows of the pending records into the candidates. */
static int dup_read_pending(ps_db_t *db, ps_arena_t *a, const char *tenant, dup_acc_t *d,
                            ps_status_t *st) {
  /* one statement for all of them (DUP_PENDING_MAX); a record gone meanwhile is left out */
  int n = d->n_pending;
  d->n_pending = 0;
  return ps_store_prospect_dups_ids(db, a, tenant, d->pending, n, dup_collect, d, st);
}

static int popcount(unsigned v) {
  int n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}

static int dup_out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

/* A JSON array of strings under construction, in the arena. */
typedef struct json_keys {
  ps_arena_t *arena;
  char *buf;
  size_t len, cap;
  int n;
  int oom;
} json_keys_t;

static int json_add(void *arg, const char *s, size_t n) {
  json_keys_t *j = arg;
  size_t need = j->len + 2 * n + 8; /* worst case: every byte escaped, plus ",\"\"]" and NUL */
  if (need > j->cap) {
    size_t cap = j->cap ? 2 * j->cap : 4096;
    while (cap < need) cap *= 2;
    char *b = ps_arena_alloc(j->arena, cap);
    if (!b) {
      j->oom = 1;
      return 1;
    }
    if (j->len) memcpy(b, j->buf, j->len);
    j->buf = b;
    j->cap = cap;
  }
  j->buf[j->len++] = j->n++ ? ',' : '[';
  j->buf[j->len++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20) continue; /* name keys hold none; never let one break the array */
    if (c == '"' || c == '\\') j->buf[j->len++] = '\\';
    j->buf[j->len++] = (char)c;
  }
  j->buf[j->len++] = '"';
  return 0;
}

/* The candidates of one name key: equal keys, keys one edit away, the words in another order and
 * runs of them (one statement), and records with one of its words (the first DUP_WORDS of at least
 * PS_SEARCH_PREFIX_MAX + 1 characters, DUP_WORD_ROWS records each): containment either way, and
 * names further apart that share a word. */
static int dup_names(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *key, int limit,
                     dup_acc_t *d, ps_status_t *st) {
  if (!*key) return 0;
  if (ps_store_prospect_dups_name(db, a, tenant, key, limit, dup_collect, d, st) != 0)
    return -1;
  size_t chars = 0;
  for (const char *p = key; *p; p++) chars += ((unsigned char)*p & 0xC0) != 0x80;
  if (chars <= DUP_VARIANT_CHARS_MAX) {
    json_keys_t j = {a, NULL, 0, 0, 0, 0};
    if (ps_sim_variants(key, json_add, &j) < 0 && j.oom) return dup_out_of_memory(st);
    if (j.n) {
      j.buf[j.len++] = ']';
      j.buf[j.len] = '\0';
      if (ps_store_prospect_dups_names(db, a, tenant, j.buf, 2 * limit, dup_collect, d, st) != 0)
        return -1;
    }
  }
  char done[DUP_WORDS][PS_SEARCH_TERM_BYTES];
  int n_done = 0;
  for (const char *w = key; *w && n_done < DUP_WORDS;) {
    size_t n = strcspn(w, " "), wchars = 0;
    for (size_t i = 0; i < n; i++) wchars += ((unsigned char)w[i] & 0xC0) != 0x80;
    int dup = 0;
    for (int i = 0; i < n_done && !dup; i++) dup = strncmp(done[i], w, n) == 0 && !done[i][n];
    /* longer words are indexed cut: their term is not the word */
    if (!dup && wchars > PS_SEARCH_PREFIX_MAX && wchars <= PS_SEARCH_WORD_MAX && n < PS_SEARCH_TERM_BYTES) {
      memcpy(done[n_done], w, n);
      done[n_done][n] = '\0';
      if (ps_store_prospect_dups_word(db, a, tenant, done[n_done], DUP_WORD_ROWS, dup_word_candidate, d,
                                      st))
        return -1;
      n_done++;
    }
    w += n;
    while (*w == ' ') w++;
  }
  return 0;
}

/* The best name reason of candidate i against the subject's keys (at or above min_score). */
static void dup_score_name(dup_acc_t *d, int i) {
  ps_sim_kind_t kind;
  double best = dup_name_score(d, d->rows[i].display_name, &kind);
  if (kind == PS_SIM_NONE || best < d->min_score) return;
  static const unsigned k_bit[] = {0, R_BIT(SIMILAR_NAME), R_BIT(SWAPPED_NAME), R_BIT(NEAR_NAME),
                                   R_BIT(CONTAINED_NAME)};
  d->reasons[i] |= k_bit[kind];
  if (best > d->scores[i]) d->scores[i] = best;
}

/* Closer first: score, then more reasons, then newer. */
static int dup_before(const dup_acc_t *d, int x, int y) {
  if (d->scores[x] != d->scores[y]) return d->scores[x] > d->scores[y];
  int px = popcount(d->reasons[x]), py = popcount(d->reasons[y]);
  if (px != py) return px > py;
  return memcmp(d->rows[x].id.b, d->rows[y].id.b, 16) > 0;
}

int ps_prospect_find_duplicates(ps_db_t *db, ps_arena_t *a, const char *tenant,
                                const ps_prospect_cols_t *subject, const char *second_name,
                                const ps_id_t *self, double min_score, int max,
                                Prospects__V1__DuplicateCandidate ***ret, size_t *ret_n,
                                ps_status_t *st) {
  dup_acc_t d;
  memset(&d, 0, sizeof d);
  if (self) {
    d.has_self = 1;
    d.self = *self;
  }
  static __thread ps_prospect_norms_t nf;
  ps_store_prospect_norms(subject, &nf);
  int limit = max + 1; /* one more: the record itself may be among them */
  int v1 = ps_norm_v1_in_use(); /* rows not rebuilt yet: their version-1 keys too */
  d.cap = 3 * limit + (v1 ? 4 : 2) * 3 * limit + DUP_PENDING_MAX;
  d.min_score = min_score;
  unsigned slots = 1;
  while (slots < 2u * (unsigned)d.cap) slots <<= 1;
  d.mask = slots - 1;
  d.rows = ps_arena_alloc(a, sizeof *d.rows * (size_t)d.cap);
  d.reasons = ps_arena_alloc(a, sizeof *d.reasons * (size_t)d.cap);
  d.scores = ps_arena_alloc(a, sizeof *d.scores * (size_t)d.cap);
  d.slot = ps_arena_alloc(a, sizeof *d.slot * slots);
  if (!d.rows || !d.reasons || !d.scores || !d.slot) return dup_out_of_memory(st);
  memset(d.slot, 0, sizeof *d.slot * slots);
  if (ps_store_prospect_dups_exact(db, a, tenant, nf.email, nf.vat, nf.phone, limit, dup_collect, &d,
                                   st) != 0)
    return -1;
  if (!(d.keys[0] = ps_arena_strdup(a, nf.name_key))) return dup_out_of_memory(st);
  if (second_name && ps_has_text(second_name)) {
    ps_prospect_cols_t other = *subject;
    other.display_name = (char *)second_name;
    ps_store_prospect_norms(&other, &nf);
    if (!(d.keys[1] = ps_arena_strdup(a, nf.name_key))) return dup_out_of_memory(st);
  }
  if (v1) { /* The same lookups with the keys version 1 stored, where they differ; found that way,
               a record is still scored on its name as folded now. Before the current keys: the
               reindex only takes rows from old keys to current ones, so a row rebuilt between the
               lookups is found by one of them. */
    static __thread char old[1024];
    const char *src[2] = {subject->display_name, d.keys[1] ? second_name : NULL};
    for (int k = 0; k < 2; k++) {
      if (!src[k]) continue;
      ps_store_prospect_name_key_v1(src[k], old);
      if (*old && strcmp(old, d.keys[k]) != 0 && dup_names(db, a, tenant, old, limit, &d, st) != 0)
        return -1;
    }
  }
  for (int k = 0; k < 2; k++)
    if (d.keys[k] && dup_names(db, a, tenant, d.keys[k], limit, &d, st) != 0) return -1;
  if (dup_read_pending(db, a, tenant, &d, st) != 0) return -1;
  for (int i = 0; i < d.n; i++) dup_score_name(&d, i);

  /* keep those with a reason, closest first */
  int *order = ps_arena_alloc(a, sizeof *order * (size_t)(d.n ? d.n : 1));
  if (!order) return dup_out_of_memory(st);
  int kept = 0;
  for (int i = 0; i < d.n; i++) {
    if (!d.reasons[i]) continue;
    int j = kept++;
    while (j > 0 && dup_before(&d, i, order[j - 1])) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }

  int shown = kept > max ? max : kept;
  Prospects__V1__DuplicateCandidate **out = ps_arena_alloc(a, sizeof *out * (size_t)(shown ? shown : 1));
  if (!out) return dup_out_of_memory(st);
  for (int o = 0; o < shown; o++) {
    int i = order[o];
    Prospects__V1__DuplicateCandidate *dc = ps_arena_alloc(a, sizeof *dc);
    if (!dc) return dup_out_of_memory(st);
    prospects__v1__duplicate_candidate__init(dc);
    if (!(dc->prospect = ps_store_prospect_msg(a, tenant, &d.rows[i]))) return dup_out_of_memory(st);
    dc->reasons = ps_arena_alloc(a, sizeof *dc->reasons * 8);
    if (!dc->reasons) return dup_out_of_memory(st);
    for (int k = 1; k < 8; k++)
      if (d.reasons[i] & (1u << k)) dc->reasons[dc->n_reasons++] = (Prospects__V1__DuplicateReason)k;
    dc->score = d.scores[i];
    out[o] = dc;
  }
  *ret = out;
  *ret_n = (size_t)shown;
  return 0;
}

/* FindDuplicateProspects (SPEC: duplicate check): the tenant's live records that are likely the
 * same party as the candidate data or an existing record (itself excluded): the same normalized
 * e-mail (case, spaces), VAT number (spaces, dots, case, country prefix from the address) or phone
 * (digits with the country calling code), score 1; or a close name (ps_prospect_find_duplicates,
 * on name keys that fold case and accents, core/normalize.h: the same key, swapped words, a few
 * edits, containment) scoring at least min_score (0: 0.7; else 0.5 to 1). Each result carries
 * every reason it matched and its score, closest first.
 * Every lookup is index-driven (tenant_id, <normal form>). Merged-away records are no longer in
 * the table, other tenants' are never read. page_size 0 -> 20, at most 100. */
int ps_find_duplicate_prospects(ps_ctx_t *ctx, const Prospects__V1__FindDuplicateProspectsRequest *req,
                                Prospects__V1__FindDuplicateProspectsResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  int32_t page_size;
  if (ps_check_page_size(req->page_size, "page_size", DUP_DEFAULT, DUP_MAX, &page_size, st) != 0)
    return -1;
  double min_score = req->min_score;
  if (min_score == 0)
    min_score = PS_DUP_MIN_SCORE_DEFAULT;
  else if (!(min_score >= PS_DUP_MIN_SCORE_LOW && min_score <= 1)) /* NaN too */
    return ps_fail_field(st, "min_score", "must be 0 (the default, %.1f) or from %.1f to 1",
                         PS_DUP_MIN_SCORE_DEFAULT, PS_DUP_MIN_SCORE_LOW);

  ps_id_t self;
  int has_self = 0;
  ps_prospect_cols_t subject;
  memset(&subject, 0, sizeof subject);
  const char *second_name = NULL; /* a candidate may carry a company and a person name */
  if (req->subject_case == PROSPECTS__V1__FIND_DUPLICATE_PROSPECTS_REQUEST__SUBJECT_PROSPECT) {
    char other[PS_TENANT_MAX + 1];
    if (ps_name_parse_prospect(req->prospect, "prospect", other, &self, st) != 0) return -1;
    if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
    if (strcmp(other, tenant) != 0) {
      char *name = ps_name_prospect(a, tenant, &self);
      if (!name) return out_of_memory(ctx);
      return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "Prospect %s does not exist.", name);
    }
    int rc = ps_store_prospect_get(ctx->db, a, tenant, &self, PS_LOCK_NONE, &subject, st);
    if (rc < 0) return -1;
    if (rc == 0) return ps_prospect_missing(ctx, tenant, &self);
    has_self = 1;
  } else if (req->subject_case == PROSPECTS__V1__FIND_DUPLICATE_PROSPECTS_REQUEST__SUBJECT_CANDIDATE &&
             req->candidate) {
    const Prospects__V1__Prospect *in = req->candidate;
    if (validate_fields(in, PS_PF_ALL, "candidate", st) != 0) return -1;
    if (in->kind != PROSPECTS__V1__PARTY_KIND__PARTY_KIND_UNSPECIFIED &&
        in->kind != PROSPECTS__V1__PARTY_KIND__PERSON && in->kind != PROSPECTS__V1__PARTY_KIND__COMPANY)
      return ps_fail_field(st, "candidate.kind", "must be PERSON or COMPANY");
    if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
    const Prospects__V1__Address *ad = in->address;
    subject.email = sv(in->email);
    subject.vat_number = sv(in->vat_number);
    subject.phone = sv(in->phone);
    subject.country_code = sv(ad ? ad->country_code : NULL);
    char *person = NULL;
    if (ps_has_text(in->first_name) || ps_has_text(in->last_name)) {
      person = person_display_name(a, sv(in->first_name), sv(in->last_name));
      if (!person) return out_of_memory(ctx);
    }
    int company_first = in->kind == PROSPECTS__V1__PARTY_KIND__COMPANY ||
                        (in->kind != PROSPECTS__V1__PARTY_KIND__PERSON && ps_has_text(in->company_name));
    if (company_first) {
      subject.display_name = sv(in->company_name);
      second_name = in->kind == PROSPECTS__V1__PARTY_KIND__COMPANY ? NULL : person;
    } else {
      subject.display_name = person ? person : "";
      second_name = in->kind == PROSPECTS__V1__PARTY_KIND__PERSON ? NULL : sv(in->company_name);
    }
  } else {
    return ps_fail_field(st, "candidate", "is required: give candidate data or an existing prospect");
  }

  Prospects__V1__FindDuplicateProspectsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return out_of_memory(ctx);
  prospects__v1__find_duplicate_prospects_response__init(resp);
  if (ps_prospect_find_duplicates(ctx->db, a, tenant, &subject, second_name,
                                  has_self ? &self : NULL, min_score, page_size,
                                  &resp->duplicates, &resp->n_duplicates, st) != 0)
    return -1;
  /* the closest candidates come first: the reply keeps as many as its byte cap holds */
  ps_reply_budget_t budget;
  ps_reply_budget_init(&budget, ctx->max_reply_bytes);
  for (size_t i = 0; i < resp->n_duplicates; i++) {
    if (!ps_reply_budget_take(&budget, &resp->duplicates[i]->base, (int)i)) {
      resp->n_duplicates = i;
      break;
    }
  }
  *ret = resp;
  return 0;
}
