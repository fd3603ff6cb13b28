/* Bulk import (BatchCreateProspects, issue 16): up to PS_IMPORT_ROWS_MAX records with their
 * contact persons in one call, each row validated by the rules of CreateProspect and
 * CreateContactPerson and answered on its own (created, skipped as a duplicate, refused). */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "core/names.h"
#include "core/validate.h"
#include "indexer.h"
#include "service/apps.h"
#include "service/import.h"
#include "service/records.h"
#include "service/service.h"
#include "store/db.h"
#include "store/idempotency.h"
#include "store/import.h"

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

static char *sv(const char *s) { return (char *)(s ? s : ""); }

/* One row of the request as prepared before the transaction. */
typedef struct import_row {
  int valid;                 /* passed validation: c and contacts are filled */
  ps_prospect_cols_t c;      /* the new record */
  ps_contact_cols_t *cps;    /* its contact persons */
  size_t n_cps;
  ps_status_t why;           /* !valid: why the row was refused */
} import_row_t;

/* The refusal of a row, from what validation said. */
static void refuse(Prospects__V1__ProspectImportResult *r, const ps_status_t *why) {
  r->outcome = PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__REFUSED;
  r->error_reason = (char *)why->reason;
  r->error_message = (char *)why->message;
  r->error_code = (int32_t)why->code;
  r->error_field = "";
  for (int m = 0; m < why->n_meta; m++)
    if (strcmp(why->meta[m].key, "field") == 0) r->error_field = (char *)why->meta[m].value;
}

/* Validates and prepares row i: the record like CreateProspect, its contact persons like
 * CreateContactPerson (a COMPANY only; at most PS_IMPORT_CONTACTS_MAX). A refusal lands in
 * row->why; -1 only when the call itself must fail (out of memory, no id). */
static int prepare_row(ps_arena_t *a, const Prospects__V1__ProspectBundle *b, import_row_t *row,
                       ps_status_t *st) {
  memset(row, 0, sizeof *row);
  ps_status_t *why = &row->why;
  if (!b || ps_prospect_validate_new(b->prospect, "prospect", why) != 0) return 0;
  if (b->n_contact_persons > 0 && b->prospect->kind != PROSPECTS__V1__PARTY_KIND__COMPANY) {
    ps_fail(why, PS_FAILED_PRECONDITION, "NOT_A_COMPANY",
            "Only a COMPANY prospect has contact persons; this one is a PERSON.");
    ps_status_meta(why, "field", "contact_persons");
    return 0;
  }
  if (b->n_contact_persons > PS_IMPORT_CONTACTS_MAX) {
    ps_fail(why, PS_INVALID_ARGUMENT, "TOO_MANY_CONTACT_PERSONS",
            "contact_persons: at most %d values are accepted", PS_IMPORT_CONTACTS_MAX);
    ps_status_meta(why, "field", "contact_persons");
    return 0;
  }
  for (size_t k = 0; k < b->n_contact_persons; k++) {
    char prefix[40];
    snprintf(prefix, sizeof prefix, "contact_persons[%zu]", k);
    if (!b->contact_persons[k]) {
      ps_fail_field(why, prefix, "is required");
      return 0;
    }
    if (ps_contact_validate_new_at(b->contact_persons[k], prefix, why) != 0) return 0;
  }
  if (ps_prospect_new_row(a, b->prospect, &row->c, st) != 0) return -1;
  if (b->n_contact_persons) {
    row->cps = ps_arena_alloc(a, sizeof *row->cps * b->n_contact_persons);
    if (!row->cps) return out_of_memory(st);
  }
  for (size_t k = 0; k < b->n_contact_persons; k++) {
    const Prospects__V1__ContactPerson *in = b->contact_persons[k];
    ps_contact_cols_t *cp = &row->cps[k];
    if (ps_id_new(&cp->id) != 0) return ps_fail(st, PS_INTERNAL, "", "Could not make a new record id.");
    cp->prospect_id = row->c.id;
    cp->first_name = sv(in->first_name);
    cp->last_name = sv(in->last_name);
    cp->email = sv(in->email);
    cp->phone = sv(in->phone);
    cp->role = sv(in->role);
    cp->version = 1;
    cp->create_us = cp->update_us = row->c.create_us;
  }
  row->n_cps = b->n_contact_persons;
  row->valid = 1;
  return 0;
}

typedef struct import_tx {
  ps_arena_t *arena;
  const char *tenant;
  import_row_t *rows;
  size_t n;
  int skip_duplicates;
  double min_score;
  int with_key;
  ps_idem_key_t key;
  Prospects__V1__BatchCreateProspectsResponse *resp; /* out */
  int replay;                                       /* out: the key had a stored response */
  ps_blob_t stored;                                 /* out: that response */
} import_tx_t;

/* The result of a created row: its name and its contact persons' names. */
static int created(ps_arena_t *a, const char *tenant, const import_row_t *row,
                   Prospects__V1__ProspectImportResult *r, ps_status_t *st) {
  r->outcome = PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__CREATED;
  if (!(r->prospect = ps_name_prospect(a, tenant, &row->c.id))) return out_of_memory(st);
  if (row->n_cps) {
    r->contact_persons = ps_arena_alloc(a, sizeof *r->contact_persons * row->n_cps);
    if (!r->contact_persons) return out_of_memory(st);
    for (size_t k = 0; k < row->n_cps; k++)
      if (!(r->contact_persons[k] =
                ps_name_contact_person(a, tenant, &row->c.id, &row->cps[k].id)))
        return out_of_memory(st);
    r->n_contact_persons = row->n_cps;
  }
  return 0;
}

/* Writes every valid row in one go (no duplicate check). */
static int insert_all(ps_db_t *db, import_tx_t *t, ps_status_t *st) {
  ps_arena_t *a = t->arena;
  size_t n_rows = 0, n_cps = 0;
  for (size_t i = 0; i < t->n; i++)
    if (t->rows[i].valid) {
      n_rows++;
      n_cps += t->rows[i].n_cps;
    }
  if (n_rows == 0) return 0;
  ps_prospect_cols_t *rows = ps_arena_alloc(a, sizeof *rows * n_rows);
  ps_contact_cols_t *cps = ps_arena_alloc(a, sizeof *cps * (n_cps ? n_cps : 1));
  if (!rows || !cps) return out_of_memory(st);
  size_t r = 0, c = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (!t->rows[i].valid) continue;
    rows[r++] = t->rows[i].c;
    if (t->rows[i].n_cps) memcpy(&cps[c], t->rows[i].cps, sizeof *cps * t->rows[i].n_cps);
    c += t->rows[i].n_cps;
  }
  return ps_store_import_insert(db, a, t->tenant, rows, n_rows, cps, n_cps, 0, st);
}

static int import_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  import_tx_t *t = arg;
  ps_arena_t *a = t->arena;
  t->replay = 0;
  if (t->with_key) {
    int rc = ps_idem_claim(db, a, &t->key, ps_db_now_us(), &t->stored, st);
    if (rc < 0) return -1;
    if (rc == 1) {
      t->replay = 1;
      return 0;
    }
  }
  Prospects__V1__BatchCreateProspectsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  Prospects__V1__ProspectImportResult **res = ps_arena_alloc(a, sizeof *res * t->n);
  Prospects__V1__ProspectImportResult *rs = ps_arena_alloc(a, sizeof *rs * t->n);
  if (!resp || !res || !rs) return out_of_memory(st);
  prospects__v1__batch_create_prospects_response__init(resp);
  resp->results = res;
  resp->n_results = t->n;
  if (!t->skip_duplicates && insert_all(db, t, st) != 0) return -1;
  for (size_t i = 0; i < t->n; i++) {
    import_row_t *row = &t->rows[i];
    Prospects__V1__ProspectImportResult *r = &rs[i];
    prospects__v1__prospect_import_result__init(r);
    res[i] = r;
    r->index = (int32_t)i;
    if (!row->valid) {
      refuse(r, &row->why);
      resp->refused_count++;
      continue;
    }
    if (t->skip_duplicates) {
      /* the duplicate check sees the rows this transaction wrote: earlier rows match too */
      Prospects__V1__DuplicateCandidate **dc = NULL;
      size_t n_dc = 0;
      if (ps_prospect_find_duplicates(db, a, t->tenant, &row->c, NULL, NULL, t->min_score, 1, &dc,
                                      &n_dc, st) != 0)
        return -1;
      if (n_dc > 0) {
        r->outcome = PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__SKIPPED_DUPLICATE;
        r->duplicate_of = dc[0]->prospect->name;
        r->duplicate_score = dc[0]->score;
        resp->skipped_count++;
        continue;
      }
      /* below 1 the check compares words too: the later rows must find this one's terms now */
      if (ps_store_import_insert(db, a, t->tenant, &row->c, 1, row->cps, row->n_cps,
                                 t->min_score < 1, st) != 0)
        return -1;
    }
    if (created(a, t->tenant, row, r, st) != 0) return -1;
    resp->created_count++;
  }
  /* the stored response fits idempotency_keys.response (MEDIUMBLOB, 16 MiB): the 64 KiB request
   * cap bounds the rows and contact persons, and so the names it holds */
  if (t->with_key && ps_idem_store_msg(db, a, &t->key, &resp->base, st) != 0) return -1;
  t->resp = resp;
  return 0;
}

/* BatchCreateProspects: parent a valid tenant with the PROSPECTS app on (S4, as CreateProspect);
 * 1 to PS_IMPORT_ROWS_MAX rows, else INVALID_ARGUMENT; duplicate_min_score 0 (= 1, exact matches
 * only) or from 0.5 to 1. Each row is validated like CreateProspect, its contact persons like
 * CreateContactPerson (a COMPANY only), and refused on its own with the reason, field, message
 * and code that call would give. With skip_duplicates a row that the duplicate check
 * (ps_prospect_find_duplicates) matches to a live record or an earlier row of the request is
 * skipped. Every other row is written in one transaction with its normal forms (the duplicate
 * keys) and contact persons, and queued for the background indexer (indexer.h), which writes its
 * word index rows shortly after (at once, in the transaction, with skip_duplicates below 1: the
 * check of later rows compares words); a database failure fails the call and writes nothing. A request_id makes a retry return
 * the first results and write nothing again (REQUEST_ID_REUSED for other rows). */
int ps_batch_create_prospects(ps_ctx_t *ctx, const Prospects__V1__BatchCreateProspectsRequest *req,
                              Prospects__V1__BatchCreateProspectsResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  const char *request_id = sv(req->request_id);
  if (ps_check_request_id(request_id, "request_id", 0, st) != 0) return -1;
  if (req->n_prospects == 0)
    return ps_fail_field(st, "prospects", "is required: give 1 to %d rows", PS_IMPORT_ROWS_MAX);
  if (req->n_prospects > PS_IMPORT_ROWS_MAX) {
    ps_fail(st, PS_INVALID_ARGUMENT, "TOO_MANY_ROWS", "prospects: at most %d values are accepted",
            PS_IMPORT_ROWS_MAX);
    return ps_status_meta(st, "field", "prospects");
  }
  double min_score = req->duplicate_min_score;
  if (min_score == 0)
    min_score = 1;
  else if (!(min_score >= PS_DUP_MIN_SCORE_LOW && min_score <= 1)) /* NaN too */
    return ps_fail_field(st, "duplicate_min_score", "must be 0 (the default, 1) or from %.1f to 1",
                         PS_DUP_MIN_SCORE_LOW);
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  import_tx_t t;
  memset(&t, 0, sizeof t);
  t.arena = a;
  t.tenant = tenant;
  t.n = req->n_prospects;
  t.skip_duplicates = req->skip_duplicates != 0;
  t.min_score = min_score;
  t.rows = ps_arena_alloc(a, sizeof *t.rows * t.n);
  if (!t.rows) return out_of_memory(st);
  for (size_t i = 0; i < t.n; i++)
    if (prepare_row(a, req->prospects[i], &t.rows[i], st) != 0) return -1;
  if (request_id[0]) {
    t.with_key = 1;
    if (ps_idem_key_init(&t.key, tenant, request_id, "BatchCreateProspects", &req->base) != 0)
      return out_of_memory(st);
  }
  if (ps_db_tx(ctx->db, import_tx, &t, st) != 0) return -1;
  if (!t.replay && t.resp->created_count > 0) ps_indexer_wake(); /* their words, soon */
  if (t.replay) {
    t.resp = prospects__v1__batch_create_prospects_response__unpack(&a->allocator, t.stored.len,
                                                                     t.stored.data);
    if (!t.resp)
      return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
  }
  *ret = t.resp;
  return 0;
}
