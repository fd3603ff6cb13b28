/* The invoicing service's flow, through the client library: when an invoice is made out to a
 * prospect, convert the prospect into a customer. The record may have been merged into another one
 * since the invoice was drafted: then the call fails with PROSPECT_MERGED, and the service resolves
 * the name to the live record and converts that one. The request_id comes from the invoice, so a
 * retry never converts twice.
 *
 *   example-invoicing TARGET PROSPECT_NAME INVOICE_ID
 * Environment: PROSPECTS_CA_FILE (the CA bundle that verifies the server), PROSPECTS_CERT_FILE and
 * PROSPECTS_KEY_FILE (this service's certificate and key: mutual TLS), PROSPECTS_SERVER_NAME (the
 * name in the server's certificate, when TARGET does not carry it); PROSPECTS_PLAINTEXT=1 for a
 * local development server without TLS.
 * Exit status: 0 done; 77 a step's RPC is not implemented by this server yet; 1 another failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prospects/client.h"

#define EXIT_NOT_YET 77

static int report(const char *step, const psc_status_t *st) {
  if (st->code == PSC_UNIMPLEMENTED) {
    printf("%s: not implemented by this server yet (%s); stopping here\n", step, st->reason);
    return EXIT_NOT_YET;
  }
  printf("%s failed: %s %s: %s\n", step, psc_code_name(st->code), st->reason, st->message);
  return 1;
}

/* ConvertProspect of name for the invoice. *ret_resp as psc_convert_prospect(). */
static int convert(psc_client_t *client, const char *name, const char *invoice_id,
                   Prospects__V1__ConvertProspectResponse **ret_resp, psc_status_t *st) {
  Prospects__V1__Document invoice = PROSPECTS__V1__DOCUMENT__INIT;
  invoice.type = PROSPECTS__V1__DOCUMENT_TYPE__INVOICE;
  invoice.document_id = (char *)invoice_id;
  invoice.number = "INV-2024-0107";
  invoice.title = "Office chairs";
  Prospects__V1__ConvertProspectRequest req = PROSPECTS__V1__CONVERT_PROSPECT_REQUEST__INIT;
  req.name = (char *)name;
  req.invoice = &invoice;
  char rid[160];
  snprintf(rid, sizeof rid, "invoice-%s-convert", invoice_id);
  req.request_id = rid;
  return psc_convert_prospect(client, &req, NULL, ret_resp, st);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s TARGET PROSPECT_NAME INVOICE_ID\n", argv[0]);
    return 2;
  }
  const char *target = argv[1], *name = argv[2], *invoice_id = argv[3];
  /* Mutual TLS with the files the deployment mounts (replaced in place when they are rotated: the
   * library's file watcher picks the new ones up); plaintext only when asked for. */
  psc_options_t opts = {0};
  opts.target = target;
  opts.caller = "invoicing-service";
  opts.tls_ca_file = getenv("PROSPECTS_CA_FILE");
  opts.tls_cert_file = getenv("PROSPECTS_CERT_FILE");
  opts.tls_key_file = getenv("PROSPECTS_KEY_FILE");
  opts.tls_target_name_override = getenv("PROSPECTS_SERVER_NAME");
  const char *plaintext = getenv("PROSPECTS_PLAINTEXT");
  if (plaintext && strcmp(plaintext, "1") == 0) opts.transport = PSC_TRANSPORT_PLAINTEXT;
  psc_client_t *client = NULL;
  psc_status_t st;
  if (psc_client_new_ex(&opts, &client, &st) != PSC_OK) {
    fprintf(stderr, "cannot make a client for %s: %s\n", target, st.message);
    return 1;
  }
  int rc = 1;
  Prospects__V1__ConvertProspectResponse *done = NULL;
  if (convert(client, name, invoice_id, &done, &st) != PSC_OK) {
    if (strcmp(st.reason, "PROSPECT_MERGED") != 0) {
      rc = report("convert (ConvertProspect)", &st);
      goto out;
    }
    /* merged away: follow the merges to the live record, then convert that one */
    printf("%s was merged (survivor named in the error: %s); resolving\n", name, st.surviving_prospect);
    Prospects__V1__ResolveProspectRequest rr = PROSPECTS__V1__RESOLVE_PROSPECT_REQUEST__INIT;
    rr.name = (char *)name;
    Prospects__V1__ResolveProspectResponse *live = NULL;
    if (psc_resolve_prospect(client, &rr, NULL, &live, &st) != PSC_OK) {
      rc = report("resolve (ResolveProspect)", &st);
      goto out;
    }
    printf("%s resolves to %s (via %zu merge(s))\n", name, live->name, live->n_merged_via);
    int code = convert(client, live->name, invoice_id, &done, &st);
    prospects__v1__resolve_prospect_response__free_unpacked(live, NULL);
    if (code != PSC_OK) {
      rc = report("convert the live record (ConvertProspect)", &st);
      goto out;
    }
  }
  printf("%s is a customer%s (invoice %s)\n", done->prospect ? done->prospect->name : "?",
         done->already_converted ? " already" : " now", invoice_id);
  prospects__v1__convert_prospect_response__free_unpacked(done, NULL);
  rc = 0;
out:
  psc_client_free(client);
  return rc;
}
