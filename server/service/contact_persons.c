/* Contact persons of a COMPANY prospect (S6): create, get, list, update, delete. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "core/names.h"
#include "core/pagetoken.h"
#include "core/validate.h"
#include "service/apps.h"
#include "service/records.h"
#include "service/service.h"
#include "store/contact_persons.h"
#include "store/db.h"
#include "store/idempotency.h"
#include "store/prospects.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000

static int out_of_memory(ps_ctx_t *ctx) {
  return ps_fail(&ctx->status, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

static char *sv(const char *s) { return (char *)(s ? s : ""); }

/* Validates the fields named by bits (PS_CF_*); field paths start with prefix. 0, or -1 with st
 * naming the field. */
static int validate_contact_fields(const Prospects__V1__ContactPerson *c, unsigned bits,
                                   const char *prefix, ps_status_t *st) {
  char f[80];
#define CF(name) (snprintf(f, sizeof f, "%s." name, prefix), f)
  if (((bits & PS_CF_FIRST_NAME) && ps_check_text(c->first_name, CF("first_name"), 100, 0, 0, st)) ||
      ((bits & PS_CF_LAST_NAME) && ps_check_text(c->last_name, CF("last_name"), 100, 0, 0, st)) ||
      ((bits & PS_CF_EMAIL) && ps_check_email(c->email, CF("email"), st)) ||
      ((bits & PS_CF_PHONE) && ps_check_phone(c->phone, CF("phone"), st)) ||
      ((bits & PS_CF_ROLE) && ps_check_text(c->role, CF("role"), 100, 0, 0, st)))
    return -1;
#undef CF
  return 0;
}

static int require_a_name(const char *first, const char *last, const char *prefix, ps_status_t *st) {
  char f[80];
  snprintf(f, sizeof f, "%s.last_name", prefix);
  if (!ps_has_text(first) && !ps_has_text(last))
    return ps_fail_field(st, f, "a contact person needs a first or last name");
  return 0;
}

int ps_contact_validate_new_at(const Prospects__V1__ContactPerson *c, const char *prefix,
                               ps_status_t *st) {
  if (validate_contact_fields(c, PS_CF_ALL, prefix, st) != 0) return -1;
  return require_a_name(c->first_name, c->last_name, prefix, st);
}

int ps_contact_validate_new(const Prospects__V1__ContactPerson *c, ps_status_t *st) {
  return ps_contact_validate_new_at(c, "contact_person", st);
}

static int contact_missing(ps_ctx_t *ctx, const char *tenant, const ps_id_t *prospect,
                           const ps_id_t *id) {
  char *name = ps_name_contact_person(ctx->arena, tenant, prospect, id);
  if (!name) return out_of_memory(ctx);
  return ps_fail(&ctx->status, PS_NOT_FOUND, "CONTACT_PERSON_NOT_FOUND",
                 "Contact person %s does not exist.", name);
}

static int check_etag(const char *etag, uint64_t version, ps_status_t *st) {
  if (!etag || !etag[0]) return 0;
  uint64_t v;
  if (ps_db_etag_parse(etag, &v) != 0 || v != version)
    return ps_fail(st, PS_ABORTED, "ETAG_MISMATCH",
                   "The contact person was changed since this etag was read; read it again and retry.");
  return 0;
}

static const struct {
  const char *path;
  unsigned bits;
} k_contact_paths[] = {
    {"first_name", PS_CF_FIRST_NAME}, {"last_name", PS_CF_LAST_NAME}, {"email", PS_CF_EMAIL},
    {"phone", PS_CF_PHONE},           {"role", PS_CF_ROLE},           {"*", PS_CF_ALL},
};

int ps_contact_parse_mask(const Google__Protobuf__FieldMask *mask, unsigned *ret_bits,
                          ps_status_t *st) {
  if (!mask || mask->n_paths == 0)
    return ps_fail_field(st, "update_mask", "is required: name the fields to change, or \"*\"");
  unsigned bits = 0;
  for (size_t i = 0; i < mask->n_paths; i++) {
    const char *path = mask->paths[i] ? mask->paths[i] : "";
    size_t k, n = sizeof k_contact_paths / sizeof k_contact_paths[0];
    for (k = 0; k < n; k++)
      if (strcmp(path, k_contact_paths[k].path) == 0) break;
    if (k < n) {
      bits |= k_contact_paths[k].bits;
      continue;
    }
    if (!strcmp(path, "name") || !strcmp(path, "create_time") || !strcmp(path, "update_time") ||
        !strcmp(path, "etag"))
      return ps_fail_field(st, "update_mask.paths", "\"%s\" is set by the server and cannot be written",
                           path);
    char q[PS_QUOTE_SIZE];
    return ps_fail_field(st, "update_mask.paths", "\"%s\" is not a field of ContactPerson",
                         ps_quote(path, q));
  }
  *ret_bits = bits;
  return 0;
}

/* ------------------------------------------------------------------------------ create */

typedef struct create_tx {
  ps_arena_t *arena;
  const char *tenant;
  ps_contact_cols_t *c;    /* the row to insert */
  int with_key;            /* a request_id was given */
  ps_idem_key_t key;
  const uint8_t *packed;   /* the response to store under the key */
  size_t packed_len;
  int replay;              /* out: the key had a stored response */
  ps_blob_t stored;        /* out: that response */
  int missing;             /* out: the parent is not a live record */
} create_tx_t;

static int create_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  create_tx_t *t = arg;
  t->replay = 0;
  t->missing = 0;
  if (t->with_key) {
    int rc = ps_idem_claim(db, t->arena, &t->key, t->c->create_us, &t->stored, st);
    if (rc < 0) return -1;
    if (rc == 1) {
      t->replay = 1;
      return 0;
    }
  }
  /* the company is read LOCK IN SHARE MODE: it cannot be deleted or merged away until we commit */
  ps_prospect_cols_t p;
  int rc = ps_store_prospect_get(db, t->arena, t->tenant, &t->c->prospect_id, PS_LOCK_SHARE, &p, st);
  if (rc < 0) return -1;
  if (rc == 0) {
    t->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "The prospect does not exist.");
  }
  if (p.kind != PROSPECTS__V1__PARTY_KIND__COMPANY)
    return ps_fail(st, PS_FAILED_PRECONDITION, "NOT_A_COMPANY",
                   "Only a COMPANY prospect has contact persons; this one is a PERSON.");
  if (ps_store_contact_insert(db, t->tenant, t->c, st) != 0) return -1;
  if (t->with_key && ps_idem_store(db, &t->key, t->packed, t->packed_len, st) != 0) return -1;
  return 0;
}

/* CreateContactPerson (S6): adds a contact person (first or last name required; e-mail and phone
 * shape, lengths) to an existing COMPANY prospect; under a PERSON it is FAILED_PRECONDITION
 * (NOT_A_COMPANY). The company is share-locked in the transaction, so a concurrent delete or merge
 * cannot orphan it. A request_id makes retries safe (same id + same request = the first result).
 * Needs the PROSPECTS app (S4). */
int ps_create_contact_person(ps_ctx_t *ctx, const Prospects__V1__CreateContactPersonRequest *req,
                             Prospects__V1__ContactPerson **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  ps_contact_cols_t c;
  memset(&c, 0, sizeof c);
  if (ps_name_parse_prospect(req->parent, "parent", tenant, &c.prospect_id, st) != 0) return -1;
  const char *request_id = sv(req->request_id);
  if (ps_check_request_id(request_id, "request_id", 0, st) != 0) return -1;
  const Prospects__V1__ContactPerson *in = req->contact_person;
  if (!in) return ps_fail_field(st, "contact_person", "is required");
  if (ps_contact_validate_new(in, st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  if (ps_id_new(&c.id) != 0) return ps_fail(st, PS_INTERNAL, "", "Could not make a new record id.");
  c.first_name = sv(in->first_name);
  c.last_name = sv(in->last_name);
  c.email = sv(in->email);
  c.phone = sv(in->phone);
  c.role = sv(in->role);
  c.version = 1;
  c.create_us = c.update_us = ps_db_now_us();
  Prospects__V1__ContactPerson *out = ps_store_contact_msg(a, tenant, &c);
  if (!out) return out_of_memory(ctx);

  create_tx_t t;
  memset(&t, 0, sizeof t);
  t.arena = a;
  t.tenant = tenant;
  t.c = &c;
  if (request_id[0]) {
    t.with_key = 1;
    if (ps_idem_key_init(&t.key, tenant, request_id, "CreateContactPerson", &req->base) != 0)
      return out_of_memory(ctx);
    size_t n = protobuf_c_message_get_packed_size(&out->base);
    uint8_t *buf = ps_arena_alloc(a, n ? n : 1);
    if (!buf) return out_of_memory(ctx);
    t.packed_len = protobuf_c_message_pack(&out->base, buf);
    t.packed = buf;
  }
  if (ps_db_tx(ctx->db, create_tx, &t, st) != 0) {
    if (t.missing) return ps_prospect_missing(ctx, tenant, &c.prospect_id);
    return -1;
  }
  if (t.replay) {
    out = prospects__v1__contact_person__unpack(&a->allocator, t.stored.len, t.stored.data);
    if (!out) return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
  }
  *ret = out;
  return 0;
}

/* ------------------------------------------------------------------------------ get */

/* GetContactPerson (S6): one contact person, by its full name (which names its company too).
 * NOT_FOUND (CONTACT_PERSON_NOT_FOUND) when it does not exist under that company in this tenant.
 * Needs the PROSPECTS app (S4). */
int ps_get_contact_person(ps_ctx_t *ctx, const Prospects__V1__GetContactPersonRequest *req,
                          Prospects__V1__ContactPerson **ret) {
  ps_status_t *st = &ctx->status;
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t pid, id;
  if (ps_name_parse_contact_person(req->name, "name", tenant, &pid, &id, st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  ps_contact_cols_t c;
  int rc = ps_store_contact_get(ctx->db, ctx->arena, tenant, &pid, &id, PS_LOCK_NONE, &c, st);
  if (rc < 0) return -1;
  if (rc == 0) return contact_missing(ctx, tenant, &pid, &id);
  Prospects__V1__ContactPerson *m = ps_store_contact_msg(ctx->arena, tenant, &c);
  if (!m) return out_of_memory(ctx);
  *ret = m;
  return 0;
}

/* ------------------------------------------------------------------------------ list */

/* ListContactPersons (S6): the contact persons of a prospect in the order they were added, keyset
 * pages (page_size 0 -> 50, above 1000 -> 1000, negative INVALID_ARGUMENT) with sealed tokens bound
 * to the tenant and parent. NOT_FOUND when the prospect is not a live record of the tenant (a
 * PERSON simply has none). Needs the PROSPECTS app (S4). */
int ps_list_contact_persons(ps_ctx_t *ctx, const Prospects__V1__ListContactPersonsRequest *req,
                            Prospects__V1__ListContactPersonsResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t pid;
  if (ps_name_parse_prospect(req->parent, "parent", tenant, &pid, st) != 0) return -1;
  int32_t page_size;
  if (ps_check_page_size(req->page_size, "page_size", LIST_DEFAULT, LIST_MAX, &page_size, st) != 0)
    return -1;
  ps_pagetoken_ctx_t tc;
  ps_pagetoken_ctx_init(&tc, "ListContactPersons");
  ps_pagetoken_ctx_str(&tc, tenant);
  ps_pagetoken_ctx_str(&tc, req->parent);
  ps_id_t after;
  int has_after = 0;
  if (req->page_token && req->page_token[0]) {
    unsigned char pos[PS_PAGETOKEN_MAX_POS];
    size_t n = 0;
    if (ps_pagetoken_open(req->page_token, &tc, pos, &n) != 0 || n != 16)
      return ps_fail_field(st, "page_token",
                           "is not a token of this listing (it belongs to another parent or tenant, "
                           "or was altered); start again without a token");
    memcpy(after.b, pos, 16);
    has_after = 1;
  }
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  int live = ps_store_prospect_exists(ctx->db, tenant, &pid, st);
  if (live < 0) return -1;
  if (!live) return ps_prospect_missing(ctx, tenant, &pid);

  int limit = page_size + 1;
  ps_contact_cols_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)limit);
  if (!rows) return out_of_memory(ctx);
  int n = 0;
  if (ps_store_contact_list(ctx->db, a, tenant, &pid, has_after ? &after : NULL, limit, rows, &n,
                            st) != 0)
    return -1;
  Prospects__V1__ListContactPersonsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return out_of_memory(ctx);
  prospects__v1__list_contact_persons_response__init(resp);
  int shown = n > page_size ? page_size : n;
  resp->contact_persons = ps_arena_alloc(a, sizeof *resp->contact_persons * (size_t)(shown ? shown : 1));
  if (!resp->contact_persons) return out_of_memory(ctx);
  ps_reply_budget_t budget;
  ps_reply_budget_init(&budget, ctx->max_reply_bytes);
  int cut = 0;
  for (int i = 0; i < shown; i++) {
    if (!(resp->contact_persons[i] = ps_store_contact_msg(a, tenant, &rows[i])))
      return out_of_memory(ctx);
    if (!ps_reply_budget_take(&budget, &resp->contact_persons[i]->base, i)) {
      shown = i;
      cut = 1;
    }
  }
  resp->n_contact_persons = (size_t)shown;
  if ((n > page_size || cut) && shown > 0 &&
      !(resp->next_page_token = ps_pagetoken_make(a, &tc, rows[shown - 1].id.b, 16)))
    return out_of_memory(ctx);
  *ret = resp;
  return 0;
}

/* ------------------------------------------------------------------------------ update, delete */

typedef struct write_tx {
  ps_arena_t *arena;
  const char *tenant;
  ps_id_t pid, id;
  const Prospects__V1__ContactPerson *in; /* update: the sent fields; delete: NULL */
  unsigned bits;
  const char *etag;
  int missing;            /* out: no such contact person */
  ps_contact_cols_t out;  /* out: the row as written (update) */
} write_tx_t;

static int write_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  write_tx_t *t = arg;
  t->missing = 0;
  ps_contact_cols_t c;
  int rc = ps_store_contact_get(db, t->arena, t->tenant, &t->pid, &t->id, PS_LOCK_UPDATE, &c, st);
  if (rc < 0) return -1;
  if (rc == 0) {
    t->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "CONTACT_PERSON_NOT_FOUND", "The contact person does not exist.");
  }
  if (check_etag(t->etag, c.version, st) != 0) return -1;
  if (!t->in) return ps_store_contact_delete(db, t->tenant, &t->id, st);
  uint64_t old = c.version;
  const ps_contact_cols_t before = c;
  if (t->bits & PS_CF_FIRST_NAME) c.first_name = sv(t->in->first_name);
  if (t->bits & PS_CF_LAST_NAME) c.last_name = sv(t->in->last_name);
  if (t->bits & PS_CF_EMAIL) c.email = sv(t->in->email);
  if (t->bits & PS_CF_PHONE) c.phone = sv(t->in->phone);
  if (t->bits & PS_CF_ROLE) c.role = sv(t->in->role);
  if (require_a_name(c.first_name, c.last_name, "contact_person", st) != 0) return -1;
  if (!strcmp(c.first_name, before.first_name) && !strcmp(c.last_name, before.last_name) &&
      !strcmp(c.email, before.email) && !strcmp(c.phone, before.phone) &&
      !strcmp(c.role, before.role)) { /* nothing to change: no new version */
    t->out = before;
    return 0;
  }
  c.version = old + 1;
  c.update_us = ps_db_now_us();
  if (c.update_us <= c.create_us) c.update_us = c.create_us + 1;
  if (ps_store_contact_update(db, t->tenant, &c, old, st) != 0) return -1;
  t->out = c;
  return 0;
}

/* UpdateContactPerson (S6): only the fields named in update_mask ("*": all writable); name and
 * times cannot be written; a first or last name must remain. A given etag must match (ABORTED
 * ETAG_MISMATCH, nothing written). An update that leaves every field as it was writes nothing
 * (etag and update_time stay; requests are NFC, so a resend composed differently is the same).
 * Needs the PROSPECTS app (S4). */
int ps_update_contact_person(ps_ctx_t *ctx, const Prospects__V1__UpdateContactPersonRequest *req,
                             Prospects__V1__ContactPerson **ret) {
  ps_status_t *st = &ctx->status;
  if (!req->contact_person) return ps_fail_field(st, "contact_person", "is required");
  char tenant[PS_TENANT_MAX + 1];
  write_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_name_parse_contact_person(req->contact_person->name, "contact_person.name", tenant, &t.pid,
                                   &t.id, st) != 0)
    return -1;
  if (ps_contact_parse_mask(req->update_mask, &t.bits, st) != 0) return -1;
  if (validate_contact_fields(req->contact_person, t.bits, "contact_person", st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  t.arena = ctx->arena;
  t.tenant = tenant;
  t.in = req->contact_person;
  t.etag = req->contact_person->etag;
  if (ps_db_tx(ctx->db, write_tx, &t, st) != 0) {
    if (t.missing) return contact_missing(ctx, tenant, &t.pid, &t.id);
    return -1;
  }
  Prospects__V1__ContactPerson *m = ps_store_contact_msg(ctx->arena, tenant, &t.out);
  if (!m) return out_of_memory(ctx);
  *ret = m;
  return 0;
}

/* DeleteContactPerson (S6): removes one contact person; a given etag must match. NOT_FOUND when it
 * does not exist under that company in this tenant. Needs the PROSPECTS app (S4). */
int ps_delete_contact_person(ps_ctx_t *ctx, const Prospects__V1__DeleteContactPersonRequest *req,
                             Google__Protobuf__Empty **ret) {
  ps_status_t *st = &ctx->status;
  char tenant[PS_TENANT_MAX + 1];
  write_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_name_parse_contact_person(req->name, "name", tenant, &t.pid, &t.id, st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  t.arena = ctx->arena;
  t.tenant = tenant;
  t.etag = req->etag;
  if (ps_db_tx(ctx->db, write_tx, &t, st) != 0) {
    if (t.missing) return contact_missing(ctx, tenant, &t.pid, &t.id);
    return -1;
  }
  Google__Protobuf__Empty *e = ps_arena_alloc(ctx->arena, sizeof *e);
  if (!e) return out_of_memory(ctx);
  google__protobuf__empty__init(e);
  *ret = e;
  return 0;
}
