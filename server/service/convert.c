/* Conversion to customer on invoicing (S3).
 *
 * Transaction and locks of ConvertProspect (one transaction, READ COMMITTED, rerun by ps_db_tx
 * after a deadlock or lock wait):
 *   1. the idempotency key, when request_id is given (a concurrent call with the same id waits on
 *      it, then returns the first response);
 *   2. the record read FOR UPDATE: concurrent conversions of one record queue here, so the second
 *      sees CUSTOMER and records nothing (already_converted); links, intakes and merges of the
 *      record wait for us, or we for them;
 *   3. the invoice linked (rules of LinkDocument: looked up by (tenant, type, document_id), inserted
 *      under the unique key);
 *   4. a PROSPECT: state CUSTOMER, convert_time, converting_invoice, version and update_time
 *      written (guarded by the version read in 2), and the word index rows follow the state;
 *   5. the response stored under the key; commit. Any failure rolls everything back. */
#include <string.h>

#include "core/counters.h"
#include "core/names.h"
#include "core/validate.h"
#include "service/documents.h"
#include "service/records.h"
#include "service/service.h"
#include "store/idempotency.h"

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

typedef struct convert_tx {
  ps_arena_t *arena;
  const char *tenant;
  ps_id_t id;                    /* the record to convert */
  ps_document_cols_t doc;        /* the invoice's link */
  int has_snapshot;              /* the request sent a party snapshot */
  int with_key;                  /* a request_id was given */
  ps_idem_key_t key;
  int missing;                   /* out: the record is not live */
  int replay;                    /* out: the key had a stored response */
  ps_blob_t stored;              /* out: that response */
  Prospects__V1__ConvertProspectResponse *out; /* out: the response */
} convert_tx_t;

static int convert_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  convert_tx_t *t = arg;
  ps_arena_t *a = t->arena;
  t->missing = t->replay = 0;
  if (t->with_key) {
    int rc = ps_idem_claim(db, a, &t->key, t->doc.link_us, &t->stored, st);
    if (rc < 0) return -1;
    if (rc == 1) {
      t->replay = 1;
      return 0;
    }
  }
  ps_prospect_cols_t rec;
  int rc = ps_store_prospect_get(db, a, t->tenant, &t->id, PS_LOCK_UPDATE, &rec, st);
  if (rc < 0) return -1;
  if (rc == 0) {
    t->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND", "The prospect does not exist.");
  }
  ps_document_cols_t link;
  int existed;
  if (ps_document_link_locked(db, a, t->tenant, &rec, &t->doc, t->has_snapshot, &link, &existed,
                              st) != 0)
    return -1;

  Prospects__V1__ConvertProspectResponse *r = ps_arena_alloc(a, sizeof *r);
  if (!r) return out_of_memory(st);
  prospects__v1__convert_prospect_response__init(r);
  if (rec.state == PROSPECTS__V1__PROSPECT_STATE__CUSTOMER) {
    r->already_converted = 1; /* one-way, and the first invoice stays the converting one */
  } else {
    uint64_t old_version = rec.version;
    int64_t now = ps_db_now_us();
    rec.state = PROSPECTS__V1__PROSPECT_STATE__CUSTOMER;
    rec.convert_us = now;
    rec.converting_invoice = t->doc.document_id;
    rec.version = old_version + 1;
    rec.update_us = now > rec.update_us ? now : rec.update_us + 1;
    if (ps_store_prospect_convert(db, t->tenant, &rec, old_version, st) != 0) return -1;
  }
  if (!(r->prospect = ps_store_prospect_msg(a, t->tenant, &rec)) ||
      !(r->invoice = ps_store_document_msg(a, t->tenant, &link)))
    return out_of_memory(st);
  if (t->with_key && ps_idem_store_msg(db, a, &t->key, &r->base, st) != 0) return -1;
  t->out = r;
  return 0;
}

/* ConvertProspect (S3): called by invoicing when it makes out an invoice to a record. In one
 * transaction the record becomes a CUSTOMER, convert_time and converting_invoice (the invoice's
 * document id) are recorded, and the invoice is linked to it (type INVOICE, set when unspecified;
 * rules of LinkDocument: on another record it is FAILED_PRECONDITION DOCUMENT_LINKED_ELSEWHERE and
 * nothing changes). The record keeps its id. A CUSTOMER already: success with already_converted,
 * convert_time and converting_invoice unchanged (one-way; the first invoice stays the converting
 * one), and the invoice is still linked (idempotently), so that every invoice ends up on the
 * record. Of two concurrent conversions exactly one converts; the other reports already_converted.
 * A merged-away record is NOT_FOUND PROSPECT_MERGED with the surviving record, so the caller can
 * resolve and retry. A request_id returns the first response on a retry. Never blocked by the app
 * switches (S3, S4): an invoice already made out must convert its record. */
int ps_convert_prospect(ps_ctx_t *ctx, const Prospects__V1__ConvertProspectRequest *req,
                        Prospects__V1__ConvertProspectResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  convert_tx_t t;
  memset(&t, 0, sizeof t);
  if (ps_name_parse_prospect(req->name, "name", tenant, &t.id, st) != 0) return -1;
  const char *request_id = req->request_id ? req->request_id : "";
  if (ps_check_request_id(request_id, "request_id", 0, st) != 0) return -1;
  int type;
  if (ps_document_validate(req->invoice, "invoice", PROSPECTS__V1__DOCUMENT_TYPE__INVOICE, &type,
                           st) != 0)
    return -1;
  /* no ps_apps_require: conversion on invoicing is never blocked by an app switch (S3) */

  t.arena = a;
  t.tenant = tenant;
  if (ps_document_new_row(a, req->invoice, type, ps_db_now_us(), &t.doc, &t.has_snapshot, st) != 0)
    return -1;
  if (request_id[0]) {
    t.with_key = 1;
    if (ps_idem_key_init(&t.key, tenant, request_id, "ConvertProspect", &req->base) != 0)
      return out_of_memory(st);
  }
  if (ps_db_tx(ctx->db, convert_tx, &t, st) != 0) {
    if (t.missing) return ps_prospect_missing(ctx, tenant, &t.id);
    return -1;
  }
  if (t.replay) {
    t.out = prospects__v1__convert_prospect_response__unpack(&a->allocator, t.stored.len,
                                                             t.stored.data);
    if (!t.out)
      return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
  }
  ctx->outcome = t.out->already_converted ? PS_C_CONVERT_ALREADY_CUSTOMER : PS_C_CONVERT_CONVERTED;
  *ret = t.out;
  return 0;
}
