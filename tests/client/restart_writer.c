/* A stream of CreateProspect calls for the restart test (tests/client/run_live.py restart) and the
 * Galera node-loss test (tests/integration/test_galera.py): call i carries request_id
 * "restart-<tenant>-<i>", so the retries the library makes while the server (or a database node)
 * is down and back must not create anything twice. Prints "i name attempts" per call as it goes.
 *
 *   restart_writer TARGET TENANT COUNT [FIRST]   calls FIRST..FIRST+COUNT-1 (FIRST default 0);
 *                                                exit 0 when every call succeeded */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prospects/client.h"

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s TARGET TENANT COUNT [FIRST]\n", argv[0]);
    return 2;
  }
  int count = atoi(argv[3]), first_call = argc == 5 ? atoi(argv[4]) : 0;
  psc_options_t o = {0};
  o.target = argv[1];
  o.transport = PSC_TRANSPORT_PLAINTEXT; /* the test's server serves h2c */
  o.caller = "restart-test";
  o.default_deadline_ms = 30000;
  o.retry.max_attempts = 100; /* ride out a restart of several seconds */
  o.retry.initial_backoff_ms = 50;
  o.retry.max_backoff_ms = 500;
  psc_client_t *c = NULL;
  if (psc_client_new(&o, &c) != PSC_OK) return 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  char parent[128], rid[160], first[32];
  snprintf(parent, sizeof parent, "tenants/%s", argv[2]);
  int rc = 0;
  for (int i = first_call; i < first_call + count; i++) {
    Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
    p.kind = PROSPECTS__V1__PARTY_KIND__PERSON;
    snprintf(first, sizeof first, "Writer %d", i);
    p.first_name = first;
    Prospects__V1__CreateProspectRequest req = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
    req.parent = parent;
    req.prospect = &p;
    snprintf(rid, sizeof rid, "restart-%s-%d", argv[2], i);
    req.request_id = rid;
    Prospects__V1__Prospect *out = NULL;
    psc_status_t st;
    if (psc_create_prospect(c, &req, NULL, &out, &st) != PSC_OK) {
      printf("%d FAILED %s %s: %s (attempts %d)\n", i, psc_code_name(st.code), st.reason, st.message, st.attempts);
      rc = 1;
      break;
    }
    printf("%d %s %d\n", i, out->name, st.attempts);
    prospects__v1__prospect__free_unpacked(out, NULL);
  }
  psc_client_free(c);
  return rc;
}
