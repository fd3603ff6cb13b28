/* A mixed stream of writes through the C client library, for the Galera node-loss test
 * (tests/integration/test_galera.py): round i creates a company, links a quote to it, takes in a
 * quote request for a new person, converts that person on an invoice and, every second round,
 * merges the previous round's company into this round's. Every call carries a request id
 * "mx-<tenant>-<kind>-<i>", so the retries the library makes while a database node is lost (on
 * UNAVAILABLE, and on ABORTED from a lost race) must not do anything twice.
 *
 *   mixed_writer TARGET TENANT ROUNDS [FIRST]   rounds FIRST..FIRST+ROUNDS-1 (FIRST default 0);
 *                                               exit 0 when every call succeeded
 *
 * Prints one line per acknowledged call: "<kind> <request_id> <resource name> <attempts>", with
 * kind create, link, intake, convert or merge (the name: the record, link, new record, invoice
 * link or merge record); a failed call prints "FAILED <kind> <request_id> <code> <reason>: <msg>"
 * and ends the run. The tenant needs both apps on (quote requests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prospects/client.h"

typedef struct run {
  psc_client_t *c;
  const char *tenant;
  char parent[128];
} run_t;

static int report(const char *kind, const char *rid, int code, const char *name, const psc_status_t *st) {
  if (code != PSC_OK) {
    printf("FAILED %s %s %s %s: %s (attempts %d)\n", kind, rid, psc_code_name(st->code), st->reason,
           st->message, st->attempts);
    return -1;
  }
  printf("%s %s %s %d\n", kind, rid, name, st->attempts);
  return 0;
}

static void rid_of(char *out, size_t n, const run_t *r, const char *kind, int i) {
  snprintf(out, n, "mx-%s-%s-%d", r->tenant, kind, i);
}

/* One round; *company is this round's company name (kept by the caller for the next merge). */
static int round_of(run_t *r, int i, char *company, size_t company_len, const char *previous) {
  char rid[160], text[64], doc_id[64];
  psc_status_t st;
  int code;

  Prospects__V1__Prospect co = PROSPECTS__V1__PROSPECT__INIT;
  co.kind = PROSPECTS__V1__PARTY_KIND__COMPANY;
  snprintf(text, sizeof text, "Mixed %d B.V.", i);
  co.company_name = text;
  Prospects__V1__CreateProspectRequest cr = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
  cr.parent = r->parent;
  cr.prospect = &co;
  rid_of(rid, sizeof rid, r, "create", i);
  cr.request_id = rid;
  Prospects__V1__Prospect *made = NULL;
  code = psc_create_prospect(r->c, &cr, NULL, &made, &st);
  if (report("create", rid, code, code == PSC_OK ? made->name : "", &st) != 0) return -1;
  snprintf(company, company_len, "%s", made->name);
  prospects__v1__prospect__free_unpacked(made, NULL);

  Prospects__V1__Document quote = PROSPECTS__V1__DOCUMENT__INIT;
  quote.type = PROSPECTS__V1__DOCUMENT_TYPE__QUOTE;
  snprintf(doc_id, sizeof doc_id, "mx-quote-%d", i);
  quote.document_id = doc_id;
  Prospects__V1__LinkDocumentRequest lr = PROSPECTS__V1__LINK_DOCUMENT_REQUEST__INIT;
  lr.parent = company;
  lr.document = &quote;
  rid_of(rid, sizeof rid, r, "link", i);
  lr.request_id = rid;
  Prospects__V1__Document *link = NULL;
  code = psc_link_document(r->c, &lr, NULL, &link, &st);
  if (report("link", rid, code, code == PSC_OK ? link->name : "", &st) != 0) return -1;
  prospects__v1__document__free_unpacked(link, NULL);

  Prospects__V1__Prospect person = PROSPECTS__V1__PROSPECT__INIT;
  person.kind = PROSPECTS__V1__PARTY_KIND__PERSON;
  char first[32];
  snprintf(first, sizeof first, "Asker %d", i);
  person.first_name = first;
  Prospects__V1__Document qr = PROSPECTS__V1__DOCUMENT__INIT;
  char qr_id[64];
  snprintf(qr_id, sizeof qr_id, "mx-qr-%d", i);
  qr.document_id = qr_id;
  Prospects__V1__IntakeQuoteRequestRequest ir = PROSPECTS__V1__INTAKE_QUOTE_REQUEST_REQUEST__INIT;
  ir.parent = r->parent;
  ir.quote_request = &qr;
  ir.party_case = PROSPECTS__V1__INTAKE_QUOTE_REQUEST_REQUEST__PARTY_NEW_PROSPECT;
  ir.new_prospect = &person;
  rid_of(rid, sizeof rid, r, "intake", i);
  ir.request_id = rid;
  Prospects__V1__IntakeQuoteRequestResponse *in = NULL;
  code = psc_intake_quote_request(r->c, &ir, NULL, &in, &st);
  if (report("intake", rid, code, code == PSC_OK ? in->prospect->name : "", &st) != 0) return -1;
  char asker[256];
  snprintf(asker, sizeof asker, "%s", in->prospect->name);
  prospects__v1__intake_quote_request_response__free_unpacked(in, NULL);

  Prospects__V1__Document invoice = PROSPECTS__V1__DOCUMENT__INIT;
  char inv_id[64];
  snprintf(inv_id, sizeof inv_id, "mx-invoice-%d", i);
  invoice.document_id = inv_id;
  Prospects__V1__ConvertProspectRequest cv = PROSPECTS__V1__CONVERT_PROSPECT_REQUEST__INIT;
  cv.name = asker;
  cv.invoice = &invoice;
  rid_of(rid, sizeof rid, r, "convert", i);
  cv.request_id = rid;
  Prospects__V1__ConvertProspectResponse *conv = NULL;
  code = psc_convert_prospect(r->c, &cv, NULL, &conv, &st);
  if (report("convert", rid, code, code == PSC_OK && conv->invoice ? conv->invoice->name : "", &st) != 0)
    return -1;
  prospects__v1__convert_prospect_response__free_unpacked(conv, NULL);

  if (previous && i % 2 == 1) {
    Prospects__V1__MergeSource src = PROSPECTS__V1__MERGE_SOURCE__INIT;
    src.name = (char *)previous;
    Prospects__V1__MergeSource *srcs[1] = {&src};
    Prospects__V1__MergeProspectsRequest mr = PROSPECTS__V1__MERGE_PROSPECTS_REQUEST__INIT;
    mr.target = company;
    mr.n_sources = 1;
    mr.sources = srcs;
    rid_of(rid, sizeof rid, r, "merge", i);
    mr.request_id = rid;
    Prospects__V1__MergeProspectsResponse *m = NULL;
    code = psc_merge_prospects(r->c, &mr, NULL, &m, &st);
    if (report("merge", rid, code, code == PSC_OK && m->merge ? m->merge->name : "", &st) != 0) return -1;
    prospects__v1__merge_prospects_response__free_unpacked(m, NULL);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s TARGET TENANT ROUNDS [FIRST]\n", argv[0]);
    return 2;
  }
  int rounds = atoi(argv[3]), first_round = argc == 5 ? atoi(argv[4]) : 0;
  psc_options_t o = {0};
  o.target = argv[1];
  o.transport = PSC_TRANSPORT_PLAINTEXT; /* the test's server serves h2c */
  o.caller = "mixed-writer";
  o.default_deadline_ms = 60000;
  o.retry.max_attempts = 100; /* ride out a lost node of several seconds */
  o.retry.initial_backoff_ms = 50;
  o.retry.max_backoff_ms = 500;
  run_t r = {0};
  if (psc_client_new(&o, &r.c) != PSC_OK) return 1;
  r.tenant = argv[2];
  snprintf(r.parent, sizeof r.parent, "tenants/%s", r.tenant);
  setvbuf(stdout, NULL, _IOLBF, 0);
  char company[256] = "", previous[256] = "";
  int rc = 0;
  for (int i = first_round; i < first_round + rounds; i++) {
    if (round_of(&r, i, company, sizeof company, previous[0] ? previous : NULL) != 0) {
      rc = 1;
      break;
    }
    /* a merged-away company cannot be merged again: the next round merges into its own */
    if (i % 2 == 1)
      previous[0] = '\0';
    else
      snprintf(previous, sizeof previous, "%s", company);
  }
  psc_client_free(r.c);
  return rc;
}
