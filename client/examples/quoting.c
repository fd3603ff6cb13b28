/* The quoting service's flow, through the client library:
 *   1. find the customer's record by e-mail, or create a prospect for them;
 *   2. link the quote to that record;
 *   3. take in the customer's quote request on the same record.
 * Every write carries a request_id derived from the quote, so running the flow again (after a
 * crash, a timeout) does each step once.
 *
 *   example-quoting TARGET TENANT QUOTE_ID
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

/* Reports a failed step; returns the exit status for it. */
static int report(const char *step, const psc_status_t *st) {
  if (st->code == PSC_UNIMPLEMENTED) {
    printf("%s: not implemented by this server yet (%s); stopping here\n", step, st->reason);
    return EXIT_NOT_YET;
  }
  printf("%s failed: %s %s: %s\n", step, psc_code_name(st->code), st->reason, st->message);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s TARGET TENANT QUOTE_ID\n", argv[0]);
    return 2;
  }
  const char *target = argv[1], *tenant = argv[2], *quote_id = argv[3];
  const char *email = "purchasing@acme.example";

  /* Mutual TLS with the files the deployment mounts (replaced in place when they are rotated: the
   * library's file watcher picks the new ones up); plaintext only when asked for. */
  psc_options_t opts = {0};
  opts.target = target;
  opts.caller = "quoting-service";
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
  char parent[128], rid[160];
  char *prospect_name = NULL;
  snprintf(parent, sizeof parent, "tenants/%s", tenant);

  /* 1. search by e-mail (customers too), else create */
  Prospects__V1__ListProspectsRequest list = PROSPECTS__V1__LIST_PROSPECTS_REQUEST__INIT;
  list.parent = parent;
  list.query = (char *)email;
  list.state_filter = PROSPECTS__V1__STATE_FILTER__ALL_STATES;
  list.page_size = 10;
  Prospects__V1__ListProspectsResponse *found = NULL;
  if (psc_list_prospects(client, &list, NULL, &found, &st) != PSC_OK) {
    rc = report("search (ListProspects)", &st);
    goto out;
  }
  for (size_t i = 0; i < found->n_prospects && !prospect_name; i++)
    if (strcmp(found->prospects[i]->email, email) == 0) prospect_name = strdup(found->prospects[i]->name);
  prospects__v1__list_prospects_response__free_unpacked(found, NULL);
  if (prospect_name) {
    printf("found %s for %s\n", prospect_name, email);
  } else {
    Prospects__V1__Address addr = PROSPECTS__V1__ADDRESS__INIT;
    addr.city = "Utrecht";
    addr.country_code = "NL";
    Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
    p.kind = PROSPECTS__V1__PARTY_KIND__COMPANY;
    p.company_name = "Acme BV";
    p.email = (char *)email;
    p.address = &addr;
    Prospects__V1__CreateProspectRequest create = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
    create.parent = parent;
    create.prospect = &p;
    snprintf(rid, sizeof rid, "quote-%s-prospect", quote_id);
    create.request_id = rid;
    Prospects__V1__Prospect *made = NULL;
    if (psc_create_prospect(client, &create, NULL, &made, &st) != PSC_OK) {
      rc = report("create (CreateProspect)", &st);
      goto out;
    }
    prospect_name = strdup(made->name);
    prospects__v1__prospect__free_unpacked(made, NULL);
    printf("created %s for %s\n", prospect_name, email);
  }
  if (!prospect_name) {
    fprintf(stderr, "out of memory\n");
    goto out;
  }

  /* 2. link the quote, with the customer details as printed on it */
  Prospects__V1__PartySnapshot snap = PROSPECTS__V1__PARTY_SNAPSHOT__INIT;
  snap.display_name = "Acme BV";
  snap.company_name = "Acme BV";
  snap.email = (char *)email;
  Prospects__V1__Document quote = PROSPECTS__V1__DOCUMENT__INIT;
  quote.type = PROSPECTS__V1__DOCUMENT_TYPE__QUOTE;
  quote.document_id = (char *)quote_id;
  quote.number = "Q-2024-0042";
  quote.title = "Office chairs";
  quote.party_snapshot = &snap;
  Prospects__V1__LinkDocumentRequest link = PROSPECTS__V1__LINK_DOCUMENT_REQUEST__INIT;
  link.parent = prospect_name;
  link.document = &quote;
  snprintf(rid, sizeof rid, "quote-%s-link", quote_id);
  link.request_id = rid;
  Prospects__V1__Document *linked = NULL;
  if (psc_link_document(client, &link, NULL, &linked, &st) != PSC_OK) {
    rc = report("link the quote (LinkDocument)", &st);
    goto out;
  }
  printf("linked quote %s as %s\n", quote_id, linked->name);
  prospects__v1__document__free_unpacked(linked, NULL);

  /* 3. the quote request that came in for it */
  char qr_id[128];
  snprintf(qr_id, sizeof qr_id, "%s-request", quote_id);
  Prospects__V1__Document qr = PROSPECTS__V1__DOCUMENT__INIT;
  qr.type = PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST;
  qr.document_id = qr_id;
  qr.title = "Please quote 12 office chairs";
  Prospects__V1__IntakeQuoteRequestRequest intake = PROSPECTS__V1__INTAKE_QUOTE_REQUEST_REQUEST__INIT;
  intake.parent = parent;
  snprintf(rid, sizeof rid, "quote-%s-intake", quote_id);
  intake.request_id = rid;
  intake.quote_request = &qr;
  intake.party_case = PROSPECTS__V1__INTAKE_QUOTE_REQUEST_REQUEST__PARTY_EXISTING;
  intake.existing = prospect_name;
  Prospects__V1__IntakeQuoteRequestResponse *taken = NULL;
  if (psc_intake_quote_request(client, &intake, NULL, &taken, &st) != PSC_OK) {
    rc = report("take in the quote request (IntakeQuoteRequest)", &st);
    goto out;
  }
  printf("quote request %s is on %s (new prospect: %s)\n", qr_id,
         taken->prospect ? taken->prospect->name : "?", taken->created ? "yes" : "no");
  prospects__v1__intake_quote_request_response__free_unpacked(taken, NULL);
  rc = 0;

out:
  free(prospect_name);
  psc_client_free(client);
  return rc;
}
