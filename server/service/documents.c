/* Documents on the record (S2, S5, S7, S13): link, unlink, list and look up the links between a
 * prospect's record and the documents other services own, and the link rules shared with
 * IntakeQuoteRequest (intake.c) and ConvertProspect (convert.c); see service/documents.h.
 *
 * Transactions and locks (READ COMMITTED; ps_db_tx reruns a transaction that lost a deadlock or
 * lock wait, up to PS_DB_TX_ATTEMPTS times):
 *   LinkDocument    one transaction: idempotency key (when request_id is given; a concurrent call
 *                   with the same key waits on its row), the record LOCK IN SHARE MODE, the link
 *                   looked up by (tenant, type, document_id), the link row inserted (unique key:
 *                   a concurrent link of the same document waits for the first and then sees it),
 *                   the response stored under the key. Shared, so links to one record run side
 *                   by side; a merge, delete or conversion (FOR UPDATE) waits for them, and they
 *                   for it.
 *   UnlinkDocument  one statement in its own transaction: DELETE by the unique key (locks that
 *                   link row only; it never waits while holding another lock).
 *   ListDocuments   no transaction, no locks: the record's existence, then one keyset page.
 *   LookupDocument  no transaction, no locks: one read by the unique key. */
#include "service/documents.h"

#include <stdio.h>
#include <string.h>

#include "core/counters.h"
#include "core/ids.h"
#include "core/names.h"
#include "core/pagetoken.h"
#include "core/validate.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "service/apps.h"
#include "service/records.h"
#include "service/service.h"
#include "store/idempotency.h"
#include "store/person_data.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000

/* DATETIME(6) range: 1000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, in seconds since the epoch. */
#define DOCUMENT_TIME_MIN_S (-30610224000LL)
#define DOCUMENT_TIME_MAX_S 253402300799LL

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

static char *sv(const char *s) { return (char *)(s ? s : ""); }

/* Field path "<prefix>.<field>" in buf (cut when it does not fit: paths here are short). */
static const char *fpath(char *buf, size_t n, const char *prefix, const char *field) {
  if (snprintf(buf, n, "%s.%s", prefix, field) >= (int)n) buf[n - 1] = '\0';
  return buf;
}

const char *ps_document_type_name(int type) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&prospects__v1__document_type__descriptor, type);
  return v ? v->name : "DOCUMENT_TYPE_UNSPECIFIED";
}

int ps_document_check_type(int type, const char *field, int allow_unspecified, ps_status_t *st) {
  if (type == PROSPECTS__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_UNSPECIFIED) {
    if (allow_unspecified) return 0;
    return ps_fail_field(st, field, "is required (QUOTE, QUOTE_REQUEST, ORDER, DELIVERY_NOTE, "
                                    "INVOICE, CREDIT_NOTE, ATTACHMENT or OTHER)");
  }
  if (type < PROSPECTS__V1__DOCUMENT_TYPE__QUOTE || type > PS_DOCUMENT_TYPES)
    return ps_fail_field(st, field, "is not a known document type (%d)", type);
  return 0;
}

/* Snapshot fields: lengths of the Prospect fields they copy; text as printed. */
static int validate_snapshot(const Prospects__V1__PartySnapshot *s, const char *prefix,
                             ps_status_t *st) {
  char f[128];
  if ((ps_check_text(s->display_name, fpath(f, sizeof f, prefix, "display_name"), 255, 0, 0, st)) ||
      (ps_check_text(s->first_name, fpath(f, sizeof f, prefix, "first_name"), 100, 0, 0, st)) ||
      (ps_check_text(s->last_name, fpath(f, sizeof f, prefix, "last_name"), 100, 0, 0, st)) ||
      (ps_check_text(s->company_name, fpath(f, sizeof f, prefix, "company_name"), 200, 0, 0, st)) ||
      (ps_check_text(s->vat_number, fpath(f, sizeof f, prefix, "vat_number"), 32, 0, 0, st)) ||
      (ps_check_text(s->email, fpath(f, sizeof f, prefix, "email"), 254, 0, 0, st)) ||
      (ps_check_text(s->phone, fpath(f, sizeof f, prefix, "phone"), 32, 0, 0, st)))
    return -1;
  const Prospects__V1__Address *ad = s->address;
  if (ad && ((ps_check_text(ad->street, fpath(f, sizeof f, prefix, "address.street"), 200, 0, 0, st)) ||
             (ps_check_text(ad->postal_code, fpath(f, sizeof f, prefix, "address.postal_code"), 20, 0, 0, st)) ||
             (ps_check_text(ad->city, fpath(f, sizeof f, prefix, "address.city"), 100, 0, 0, st)) ||
             (ps_check_country(ad->country_code, fpath(f, sizeof f, prefix, "address.country_code"), st))))
    return -1;
  return 0;
}

int ps_document_validate(const Prospects__V1__Document *d, const char *prefix, int only_type,
                         int *ret_type, ps_status_t *st) {
  char f[96];
  if (!d) return ps_fail_field(st, prefix, "is required");
  int type = d->type;
  if (only_type) {
    if (type == PROSPECTS__V1__DOCUMENT_TYPE__DOCUMENT_TYPE_UNSPECIFIED) type = only_type;
    if (type != only_type)
      return ps_fail_field(st, fpath(f, sizeof f, prefix, "type"), "must be %s (or left unset)",
                           ps_document_type_name(only_type));
  } else if (ps_document_check_type(type, fpath(f, sizeof f, prefix, "type"), 0, st) != 0) {
    return -1;
  }
  if (ps_check_text(d->document_id, fpath(f, sizeof f, prefix, "document_id"), PS_DOCUMENT_ID_MAX,
                    1, 0, st) != 0)
    return -1;
  if (!ps_has_text(d->document_id))
    return ps_fail_field(st, fpath(f, sizeof f, prefix, "document_id"), "is required");
  if (ps_check_text(d->number, fpath(f, sizeof f, prefix, "number"), PS_DOCUMENT_NUMBER_MAX, 0, 0,
                    st) != 0 ||
      ps_check_text(d->title, fpath(f, sizeof f, prefix, "title"), PS_DOCUMENT_TITLE_MAX, 0, 0,
                    st) != 0)
    return -1;
  const Google__Protobuf__Timestamp *t = d->document_time;
  if (t && (t->seconds < DOCUMENT_TIME_MIN_S || t->seconds > DOCUMENT_TIME_MAX_S || t->nanos < 0 ||
            t->nanos > 999999999))
    return ps_fail_field(st, fpath(f, sizeof f, prefix, "document_time"),
                         "must be a valid time between the years 1000 and 9999");
  if (d->party_snapshot &&
      validate_snapshot(d->party_snapshot, fpath(f, sizeof f, prefix, "party_snapshot"), st) != 0)
    return -1;
  *ret_type = type;
  return 0;
}

int ps_pack_in_arena(ps_arena_t *a, const ProtobufCMessage *m, ps_blob_t *ret) {
  size_t n = protobuf_c_message_get_packed_size(m);
  unsigned char *buf = ps_arena_alloc(a, n ? n : 1);
  if (!buf) return -1;
  ret->len = protobuf_c_message_pack(m, buf);
  ret->data = buf;
  return 0;
}

int ps_document_snapshot_of(ps_arena_t *a, const ps_prospect_cols_t *rec, ps_blob_t *ret,
                            ps_status_t *st) {
  Prospects__V1__PartySnapshot s = PROSPECTS__V1__PARTY_SNAPSHOT__INIT;
  Prospects__V1__Address ad = PROSPECTS__V1__ADDRESS__INIT;
  s.display_name = rec->display_name;
  s.first_name = rec->first_name;
  s.last_name = rec->last_name;
  s.company_name = rec->company_name;
  s.vat_number = rec->vat_number;
  s.email = rec->email;
  s.phone = rec->phone;
  if (rec->street[0] || rec->postal_code[0] || rec->city[0] || rec->country_code[0]) {
    ad.street = rec->street;
    ad.postal_code = rec->postal_code;
    ad.city = rec->city;
    ad.country_code = rec->country_code;
    s.address = &ad;
  }
  if (ps_pack_in_arena(a, &s.base, ret) != 0) return out_of_memory(st);
  return 0;
}

int ps_document_new_row(ps_arena_t *a, const Prospects__V1__Document *d, int type, int64_t link_us,
                        ps_document_cols_t *ret, int *ret_has_snapshot, ps_status_t *st) {
  ps_document_cols_t c;
  memset(&c, 0, sizeof c);
  if (ps_id_new(&c.id) != 0) return ps_fail(st, PS_INTERNAL, "", "Could not make a new link id.");
  c.type = type;
  c.document_id = sv(d->document_id);
  c.number = sv(d->number);
  c.title = sv(d->title);
  c.link_us = link_us;
  c.document_us = d->document_time
                      ? (int64_t)d->document_time->seconds * 1000000 + d->document_time->nanos / 1000
                      : link_us;
  if (d->party_snapshot && ps_pack_in_arena(a, &d->party_snapshot->base, &c.snapshot) != 0)
    return out_of_memory(st);
  *ret = c;
  *ret_has_snapshot = d->party_snapshot != NULL;
  return 0;
}

/* FAILED_PRECONDITION for a document that is on another record than the one asked for. */
static int linked_elsewhere(ps_arena_t *a, const char *tenant, const ps_document_cols_t *on,
                            ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  char *prospect = ps_name_prospect(a, tenant, &on->prospect_id);
  char *link = ps_name_document(a, tenant, &on->prospect_id, &on->id);
  if (!prospect || !link) return out_of_memory(st);
  ps_fail(st, PS_FAILED_PRECONDITION, "DOCUMENT_LINKED_ELSEWHERE",
          "Document %s \"%s\" is linked to %s; a document is on one record at a time and only a "
          "merge moves it.", ps_document_type_name(on->type), ps_quote(on->document_id, q), prospect);
  ps_status_meta(st, "prospect", prospect);
  return ps_status_meta(st, "document", link);
}

int ps_document_link_locked(ps_db_t *db, ps_arena_t *a, const char *tenant,
                            const ps_prospect_cols_t *rec, ps_document_cols_t *c, int has_snapshot,
                            ps_document_cols_t *ret, int *ret_existed, ps_status_t *st) {
  c->prospect_id = rec->id;
  for (int attempt = 0; attempt < 2; attempt++) {
    ps_document_cols_t on;
    int rc = ps_store_document_find(db, a, tenant, c->type, c->document_id, &on, st);
    if (rc < 0) return -1;
    if (rc == 1) {
      if (memcmp(on.prospect_id.b, rec->id.b, 16) != 0) return linked_elsewhere(a, tenant, &on, st);
      *ret = on; /* the same document on the same record: the link as it is (S13) */
      *ret_existed = 1;
      return 0;
    }
    if (!has_snapshot && ps_document_snapshot_of(a, rec, &c->snapshot, st) != 0) return -1;
    if (ps_store_document_insert(db, tenant, c, st) == 0) {
      *ret = *c;
      *ret_existed = 0;
      return 0;
    }
    if (ps_db_last_errno(db) != 1062 /* ER_DUP_ENTRY */) return -1;
    /* linked by a concurrent call that committed while we waited on its key: look again */
    ps_status_clear(st);
  }
  return ps_fail(st, PS_ABORTED, "", "The document was linked and unlinked concurrently; retry.");
}

/* ------------------------------------------------------------------------------ LinkDocument */

typedef struct link_tx {
  ps_arena_t *arena;
  const char *tenant;
  ps_id_t prospect_id;     /* the record to link to */
  ps_document_cols_t c;    /* the link to make */
  int has_snapshot;        /* the request sent a snapshot */
  int with_key;            /* a request_id was given */
  ps_idem_key_t key;
  int missing;             /* out: the record is not live */
  int replay;              /* out: the key had a stored response */
  int existed;             /* out: the document was linked to the record already */
  ps_blob_t stored;        /* out: that response */
  Prospects__V1__Document *out; /* out: the link */
} link_tx_t;

static int link_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  link_tx_t *t = arg;
  t->missing = t->replay = 0;
  if (t->with_key) {
    int rc = ps_idem_claim(db, t->arena, &t->key, t->c.link_us, &t->stored, st);
    if (rc < 0) return -1;
    if (rc == 1) {
      t->replay = 1;
      return 0;
    }
  }
  ps_prospect_cols_t rec;
  int rc = ps_store_prospect_get(db, t->arena, t->tenant, &t->prospect_id, PS_LOCK_SHARE, &rec, st);
  if (rc < 0) return -1;
  if (rc == 0) {
    t->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "The prospect does not exist.");
  }
  ps_document_cols_t link;
  if (ps_document_link_locked(db, t->arena, t->tenant, &rec, &t->c, t->has_snapshot, &link,
                              &t->existed, st) != 0)
    return -1;
  if (!(t->out = ps_store_document_msg(t->arena, t->tenant, &link))) return out_of_memory(st);
  if (t->with_key && ps_idem_store_msg(db, t->arena, &t->key, &t->out->base, st) != 0) return -1;
  return 0;
}

/* LinkDocument (S5, S7, S13): links a document another service owns (type, its id, number, title,
 * date, party snapshot) to a live record of the tenant, PROSPECT or CUSTOMER alike (a quote may be
 * made out to a prospect, S7). Idempotent on (tenant, type, document_id): the same document linked
 * again to the same record returns the existing link unchanged; linked to another record it is
 * FAILED_PRECONDITION DOCUMENT_LINKED_ELSEWHERE naming that record (metadata prospect). A
 * merged-away record is NOT_FOUND PROSPECT_MERGED with the surviving record; another tenant's or an
 * unknown one NOT_FOUND. The snapshot sent (or, when none is sent, the record's details now) is
 * frozen. A request_id returns the first result on a retry. Needs the PROSPECTS app (S4). */
int ps_link_document(ps_ctx_t *ctx, const Prospects__V1__LinkDocumentRequest *req,
                     Prospects__V1__Document **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  link_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_name_parse_prospect(req->parent, "parent", tenant, &t.prospect_id, st) != 0) return -1;
  const char *request_id = sv(req->request_id);
  if (ps_check_request_id(request_id, "request_id", 0, st) != 0) return -1;
  int type;
  if (ps_document_validate(req->document, "document", 0, &type, st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  t.arena = a;
  t.tenant = tenant;
  if (ps_document_new_row(a, req->document, type, ps_db_now_us(), &t.c, &t.has_snapshot, st) != 0)
    return -1;
  if (request_id[0]) {
    t.with_key = 1;
    if (ps_idem_key_init(&t.key, tenant, request_id, "LinkDocument", &req->base) != 0)
      return out_of_memory(st);
  }
  if (ps_db_tx(ctx->db, link_tx, &t, st) != 0) {
    if (t.missing) return ps_prospect_missing(ctx, tenant, &t.prospect_id);
    return -1;
  }
  if (t.replay) {
    t.out = prospects__v1__document__unpack(&a->allocator, t.stored.len, t.stored.data);
    if (!t.out)
      return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
  }
  ctx->outcome = t.replay || t.existed ? PS_C_LINK_ALREADY_LINKED : PS_C_LINK_LINKED;
  *ret = t.out;
  return 0;
}

/* ------------------------------------------------------------------------------ Unlink, Lookup */

static int document_missing(ps_ctx_t *ctx, int type, const char *document_id) {
  char q[PS_QUOTE_SIZE];
  return ps_fail(&ctx->status, PS_NOT_FOUND, "DOCUMENT_NOT_FOUND",
                 "Document %s \"%s\" is not linked to any record.", ps_document_type_name(type),
                 ps_quote(document_id, q));
}

/* The (tenant, type, document_id) key of Unlink and Lookup. */
static int parse_document_key(ps_ctx_t *ctx, const char *parent, int type, const char *document_id,
                              char tenant[PS_TENANT_MAX + 1]) {
  ps_status_t *st = &ctx->status;
  if (ps_name_parse_tenant(parent, "parent", tenant, st) != 0) return -1;
  if (ps_document_check_type(type, "type", 0, st) != 0) return -1;
  if (ps_check_text(document_id, "document_id", PS_DOCUMENT_ID_MAX, 1, 0, st) != 0) return -1;
  return ps_apps_require(ctx, tenant, 0);
}

typedef struct unlink_tx {
  const char *tenant;
  int type;
  const char *document_id;
  int deleted; /* out: a link was deleted */
} unlink_tx_t;

static int unlink_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  unlink_tx_t *t = arg;
  int rc = ps_store_document_delete(db, t->tenant, t->type, t->document_id, st);
  if (rc < 0) return -1;
  t->deleted = rc;
  return 0;
}

/* UnlinkDocument (S5): removes the link of document (type, document_id) from whatever record of the
 * tenant it is on. NOT_FOUND DOCUMENT_NOT_FOUND when it is not linked (so a second unlink says so).
 * The document itself belongs to its owning service and is not touched. Needs the PROSPECTS app. */
int ps_unlink_document(ps_ctx_t *ctx, const Prospects__V1__UnlinkDocumentRequest *req,
                       Google__Protobuf__Empty **ret) {
  char tenant[PS_TENANT_MAX + 1];
  if (parse_document_key(ctx, req->parent, req->type, req->document_id, tenant) != 0) return -1;
  unlink_tx_t t = {tenant, req->type, req->document_id, 0};
  if (ps_db_tx(ctx->db, unlink_tx, &t, &ctx->status) != 0) return -1;
  if (!t.deleted) return document_missing(ctx, req->type, req->document_id);
  Google__Protobuf__Empty *e = ps_arena_alloc(ctx->arena, sizeof *e);
  if (!e) return out_of_memory(&ctx->status);
  google__protobuf__empty__init(e);
  *ret = e;
  return 0;
}

/* LookupDocument (S5): which record document (type, document_id) is on, as its link. NOT_FOUND
 * DOCUMENT_NOT_FOUND when it is not linked in the tenant. Needs the PROSPECTS app. */
int ps_lookup_document(ps_ctx_t *ctx, const Prospects__V1__LookupDocumentRequest *req,
                       Prospects__V1__Document **ret) {
  char tenant[PS_TENANT_MAX + 1];
  if (parse_document_key(ctx, req->parent, req->type, req->document_id, tenant) != 0) return -1;
  ps_document_cols_t c;
  int rc = ps_store_document_find(ctx->db, ctx->arena, tenant, req->type, req->document_id, &c,
                                  &ctx->status);
  if (rc < 0) return -1;
  if (rc == 0) return document_missing(ctx, req->type, req->document_id);
  Prospects__V1__Document *m = ps_store_document_msg(ctx->arena, tenant, &c);
  if (!m) return out_of_memory(&ctx->status);
  *ret = m;
  return 0;
}

/* ------------------------------------------------------------------------------ ListDocuments */

#define POSITION_LEN 24 /* document time (8 bytes, big-endian) + link id (16) */

static void pack_position(unsigned char out[POSITION_LEN], const ps_document_cols_t *last) {
  uint64_t u = (uint64_t)last->document_us;
  for (int i = 0; i < 8; i++) out[i] = (unsigned char)(u >> (56 - 8 * i));
  memcpy(out + 8, last->id.b, 16);
}

static void unpack_position(const unsigned char in[POSITION_LEN], int64_t *ret_us, ps_id_t *ret_id) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | in[i];
  *ret_us = (int64_t)u;
  memcpy(ret_id->b, in + 8, 16);
}

/* ListDocuments (S5): the documents of a live record, newest first (document date descending, then
 * link id descending), optionally of one type. page_size 0 -> 50, above 1000 -> 1000, negative
 * INVALID_ARGUMENT. Keyset page tokens (sealed, bound to tenant, record and type filter): no link
 * that existed when the first page was read is skipped or repeated while links are added. A
 * merged-away record is NOT_FOUND PROSPECT_MERGED with the surviving record (its links are there
 * now). Needs the PROSPECTS app. */
int ps_list_documents(ps_ctx_t *ctx, const Prospects__V1__ListDocumentsRequest *req,
                      Prospects__V1__ListDocumentsResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  ps_document_query_t q;
  memset(&q, 0, sizeof q);
  if (ps_name_parse_prospect(req->parent, "parent", tenant, &q.prospect_id, st) != 0) return -1;
  int32_t page_size;
  if (ps_check_page_size(req->page_size, "page_size", LIST_DEFAULT, LIST_MAX, &page_size, st) != 0)
    return -1;
  if (ps_document_check_type(req->type, "type", 1, st) != 0) return -1;
  q.type = req->type;

  char idtext[PS_ID_TEXT_LEN + 1];
  ps_id_format(&q.prospect_id, idtext);
  ps_pagetoken_ctx_t tc;
  ps_pagetoken_ctx_init(&tc, "ListDocuments");
  ps_pagetoken_ctx_str(&tc, tenant);
  ps_pagetoken_ctx_str(&tc, idtext);
  ps_pagetoken_ctx_int(&tc, q.type);
  if (req->page_token && req->page_token[0]) {
    unsigned char *pos = ps_arena_alloc(a, PS_PAGETOKEN_MAX_POS);
    size_t n = 0;
    if (!pos) return out_of_memory(st);
    if (ps_pagetoken_open(req->page_token, &tc, pos, &n) != 0 || n != POSITION_LEN)
      return ps_fail_field(st, "page_token",
                           "is not a token of this listing (it belongs to another record or type "
                           "filter, or was altered); start again without a token");
    q.has_cursor = 1;
    unpack_position(pos, &q.after_us, &q.after_id);
  }

  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  int live = ps_store_prospect_exists(ctx->db, tenant, &q.prospect_id, st);
  if (live < 0) return -1;
  if (!live) { /* an erased record's links stay listable, with redacted snapshots */
    int kind = 0, erased = ps_store_erased_get(ctx->db, tenant, &q.prospect_id, &kind, st);
    if (erased < 0) return -1;
    if (!erased || kind != PS_ERASED_PROSPECT) return ps_prospect_missing(ctx, tenant, &q.prospect_id);
  }

  q.limit = page_size + 1;
  q.max_bytes = ctx->max_reply_bytes;
  ps_document_cols_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)q.limit);
  if (!rows) return out_of_memory(st);
  int n = 0, cut = 0;
  if (ps_store_document_list(ctx->db, a, tenant, &q, rows, &n, &cut, st) != 0) return -1;

  Prospects__V1__ListDocumentsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return out_of_memory(st);
  prospects__v1__list_documents_response__init(resp);
  int shown = n > page_size ? page_size : n;
  resp->documents = ps_arena_alloc(a, sizeof *resp->documents * (size_t)(shown ? shown : 1));
  if (!resp->documents) return out_of_memory(st);
  ps_reply_budget_t budget;
  ps_reply_budget_init(&budget, ctx->max_reply_bytes);
  for (int i = 0; i < shown; i++) {
    if (!(resp->documents[i] = ps_store_document_msg(a, tenant, &rows[i]))) return out_of_memory(st);
    if (!ps_reply_budget_take(&budget, &resp->documents[i]->base, i)) {
      shown = i;
      cut = 1;
    }
  }
  resp->n_documents = (size_t)shown;
  if ((n > page_size || cut) && shown > 0) {
    unsigned char pos[POSITION_LEN];
    pack_position(pos, &rows[shown - 1]);
    if (!(resp->next_page_token = ps_pagetoken_make(a, &tc, pos, sizeof pos))) return out_of_memory(st);
  }
  *ret = resp;
  return 0;
}
