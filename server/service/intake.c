/* Quote-request intake (S2, S8, S9): one call takes in a quote request and, in one transaction,
 * creates a new prospect from its contact data or attaches it to an existing record, and links the
 * quote-request document.
 *
 * Transaction and locks of IntakeQuoteRequest (one transaction, READ COMMITTED, rerun by ps_db_tx
 * after a deadlock or lock wait):
 *   1. the idempotency key (request_id is required): INSERT on idempotency_keys; a concurrent call
 *      with the same id waits on that row and then returns the first call's stored response;
 *   2a. new prospect: the duplicate hint (plain reads of the duplicate-check indexes, before the
 *      insert), INSERT of the record, its word index and its contact person (new rows, locked by
 *      their inserts);
 *   2b. existing record: the record read LOCK IN SHARE MODE (a concurrent merge, delete or
 *      conversion holding it FOR UPDATE waits for us, or we for it and then see its result);
 *   3. the link: looked up by (tenant, type, document_id), inserted under the unique key;
 *   4. the response stored under the key; commit. Any failure rolls everything back. */
#include <stdio.h>
#include <string.h>

#include "core/counters.h"
#include "core/names.h"
#include "core/validate.h"
#include "service/apps.h"
#include "service/documents.h"
#include "service/records.h"
#include "service/service.h"
#include "store/contact_persons.h"
#include "store/idempotency.h"

/* At most this many possible duplicates are returned (the FindDuplicateProspects default). */
#define INTAKE_DUPLICATES_MAX 20

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

static char *sv(const char *s) { return (char *)(s ? s : ""); }

typedef struct intake_tx {
  ps_arena_t *arena;
  const char *tenant;
  int create;                    /* a new prospect (else an existing record) */
  ps_prospect_cols_t rec;        /* new: the row to insert */
  ps_id_t existing;              /* existing: the record named */
  int with_contact;              /* new COMPANY with a contact person */
  ps_contact_cols_t contact;     /* ... the row to insert */
  ps_document_cols_t doc;        /* the quote request's link */
  int has_snapshot;              /* the request sent a party snapshot */
  ps_idem_key_t key;
  int missing;                   /* out: the existing record is not live */
  int replay;                    /* out: the key had a stored response */
  ps_blob_t stored;              /* out: that response */
  Prospects__V1__IntakeQuoteRequestResponse *out; /* out: the response */
} intake_tx_t;

static int intake_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  intake_tx_t *t = arg;
  ps_arena_t *a = t->arena;
  t->missing = t->replay = 0;
  int rc = ps_idem_claim(db, a, &t->key, t->doc.link_us, &t->stored, st);
  if (rc < 0) return -1;
  if (rc == 1) {
    t->replay = 1;
    return 0;
  }

  Prospects__V1__IntakeQuoteRequestResponse *r = ps_arena_alloc(a, sizeof *r);
  if (!r) return out_of_memory(st);
  prospects__v1__intake_quote_request_response__init(r);
  ps_prospect_cols_t rec;
  if (t->create) {
    /* the hint first, so the new record is not its own duplicate; it never blocks (S9). The same
     * check as FindDuplicateProspects': exact keys and close names, at the default threshold */
    if (ps_prospect_find_duplicates(db, a, t->tenant, &t->rec, NULL, NULL, PS_DUP_MIN_SCORE_DEFAULT,
                                    INTAKE_DUPLICATES_MAX, &r->possible_duplicates,
                                    &r->n_possible_duplicates, st) != 0)
      return -1;
    if (ps_store_prospect_insert(db, t->tenant, &t->rec, st) != 0) return -1;
    if (t->with_contact && ps_store_contact_insert(db, t->tenant, &t->contact, st) != 0) return -1;
    rec = t->rec;
    r->created = 1;
  } else {
    rc = ps_store_prospect_get(db, a, t->tenant, &t->existing, PS_LOCK_SHARE, &rec, st);
    if (rc < 0) return -1;
    if (rc == 0) {
      t->missing = 1;
      return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "The prospect does not exist.");
    }
  }
  ps_document_cols_t link;
  int existed;
  if (ps_document_link_locked(db, a, t->tenant, &rec, &t->doc, t->has_snapshot, &link, &existed,
                              st) != 0)
    return -1;
  if (!(r->prospect = ps_store_prospect_msg(a, t->tenant, &rec)) ||
      !(r->document = ps_store_document_msg(a, t->tenant, &link)))
    return out_of_memory(st);
  if (ps_idem_store_msg(db, a, &t->key, &r->base, st) != 0) return -1;
  t->out = r;
  return 0;
}

/* IntakeQuoteRequest (S2, S8, S9): takes in a quote request in one transaction. Either
 * new_prospect (validated like CreateProspect, field paths "new_prospect.*"; for a COMPANY an
 * optional contact_person, created in the same transaction) becomes a new PROSPECT record, or
 * `existing` names a live record of the tenant (PROSPECT or CUSTOMER; merged away: NOT_FOUND
 * PROSPECT_MERGED with the surviving record). The quote request is linked to it as a QUOTE_REQUEST
 * document (type set when unspecified, other types refused) under the rules of LinkDocument. The
 * response has the record, whether it was created, the link, and for a new prospect the tenant's
 * records with the same normalized e-mail, VAT number or phone as a hint that never blocks.
 * request_id is required: a retry with it returns the first response and never makes a second
 * prospect; with a different request it is ALREADY_EXISTS REQUEST_ID_REUSED. Needs the PROSPECTS
 * and QUOTE_REQUESTS apps (S4, S8). */
int ps_intake_quote_request(ps_ctx_t *ctx, const Prospects__V1__IntakeQuoteRequestRequest *req,
                            Prospects__V1__IntakeQuoteRequestResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  intake_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  const char *request_id = sv(req->request_id);
  if (ps_check_request_id(request_id, "request_id", 1, st) != 0) return -1;
  int type;
  if (ps_document_validate(req->quote_request, "quote_request",
                           PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST, &type, st) != 0)
    return -1;
  char other[PS_TENANT_MAX + 1] = "";
  switch (req->party_case) {
  case PROSPECTS__V1__INTAKE_QUOTE_REQUEST_REQUEST__PARTY_NEW_PROSPECT:
    if (ps_prospect_validate_new(req->new_prospect, "new_prospect", st) != 0) return -1;
    if (req->contact_person) {
      if (req->new_prospect->kind != PROSPECTS__V1__PARTY_KIND__COMPANY)
        return ps_fail_field(st, "contact_person", "is only for a new COMPANY prospect");
      if (ps_contact_validate_new(req->contact_person, st) != 0) return -1;
    }
    t.create = 1;
    break;
  case PROSPECTS__V1__INTAKE_QUOTE_REQUEST_REQUEST__PARTY_EXISTING:
    if (ps_name_parse_prospect(req->existing, "existing", other, &t.existing, st) != 0) return -1;
    if (req->contact_person)
      return ps_fail_field(st, "contact_person",
                           "is only for a new COMPANY prospect; add one to an existing record with "
                           "CreateContactPerson");
    break;
  default:
    return ps_fail_field(st, "new_prospect",
                         "is required: give the contact data of a new prospect, or an existing "
                         "record");
  }
  if (ps_apps_require(ctx, tenant, 1) != 0) return -1;
  if (!t.create && strcmp(other, tenant) != 0) {
    char *name = ps_name_prospect(a, tenant, &t.existing);
    if (!name) return out_of_memory(st);
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "Prospect %s does not exist.", name);
  }

  t.arena = a;
  t.tenant = tenant;
  if (t.create) {
    if (ps_prospect_new_row(a, req->new_prospect, &t.rec, st) != 0) return -1;
    if (req->contact_person) {
      const Prospects__V1__ContactPerson *in = req->contact_person;
      if (ps_id_new(&t.contact.id) != 0)
        return ps_fail(st, PS_INTERNAL, "", "Could not make a new record id.");
      t.with_contact = 1;
      t.contact.prospect_id = t.rec.id;
      t.contact.first_name = sv(in->first_name);
      t.contact.last_name = sv(in->last_name);
      t.contact.email = sv(in->email);
      t.contact.phone = sv(in->phone);
      t.contact.role = sv(in->role);
      t.contact.version = 1;
      t.contact.create_us = t.contact.update_us = t.rec.create_us;
    }
  }
  if (ps_document_new_row(a, req->quote_request, type, ps_db_now_us(), &t.doc, &t.has_snapshot,
                          st) != 0)
    return -1;
  if (ps_idem_key_init(&t.key, tenant, request_id, "IntakeQuoteRequest", &req->base) != 0)
    return out_of_memory(st);

  if (ps_db_tx(ctx->db, intake_tx, &t, st) != 0) {
    if (t.missing) return ps_prospect_missing(ctx, tenant, &t.existing);
    return -1;
  }
  if (t.replay) {
    t.out = prospects__v1__intake_quote_request_response__unpack(&a->allocator, t.stored.len,
                                                                 t.stored.data);
    if (!t.out)
      return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
  }
  ctx->outcome = t.out->created ? PS_C_INTAKE_CREATED : PS_C_INTAKE_LINKED;
  *ret = t.out;
  return 0;
}
