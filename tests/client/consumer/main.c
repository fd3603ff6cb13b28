/* A tiny service that uses the installed prospect-client library: built out of the source tree
 * against the installed headers and library only (see ../consumer_test.sh).
 *
 *   consumer [TARGET]    default 127.0.0.1:1 (nothing listens: expects UNAVAILABLE after 2 attempts) */
#include <stdio.h>
#include <string.h>

#include <prospects/client.h>

int main(int argc, char **argv) {
  char header_version[32];
  snprintf(header_version, sizeof header_version, "%d.%d.%d", PSC_VERSION_MAJOR, PSC_VERSION_MINOR,
           PSC_VERSION_PATCH);
  printf("prospect-client %s (header %s)\n", psc_version(), header_version);
  if (strcmp(psc_version(), header_version) != 0) return 1;

  psc_options_t opts = {0};
  opts.target = argc > 1 ? argv[1] : "127.0.0.1:1";
  opts.transport = PSC_TRANSPORT_PLAINTEXT; /* since 0.2: plaintext only when asked for */
  opts.caller = "consumer";
  opts.retry.max_attempts = 2;
  opts.retry.initial_backoff_ms = 10;
  psc_client_t *client = NULL;
  psc_status_t st;
  /* since 0.2: a refused option comes with a message */
  opts.tls_cert_file = "/nonexistent/cert.pem";
  if (psc_client_new_ex(&opts, &client, &st) != PSC_INVALID_ARGUMENT || !strstr(st.message, "tls_cert_file"))
    return 1;
  opts.tls_cert_file = NULL;
  if (psc_client_new_ex(&opts, &client, &st) != PSC_OK) return 1;

  /* generated message types and the well-known types come with the installed headers */
  Prospects__V1__TenantApps apps = PROSPECTS__V1__TENANT_APPS__INIT;
  apps.name = "tenants/consumer/apps";
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  (void)mask;

  Prospects__V1__GetTenantAppsRequest req = PROSPECTS__V1__GET_TENANT_APPS_REQUEST__INIT;
  req.name = apps.name;
  psc_call_options_t call = {0};
  call.deadline_ms = 5000;
  Prospects__V1__TenantApps *got = NULL;
  int code = psc_get_tenant_apps(client, &req, &call, &got, &st);
  printf("GetTenantApps: %s (%s) after %d attempt(s)\n", psc_code_name(code), st.message, st.attempts);
  if (got) prospects__v1__tenant_apps__free_unpacked(got, NULL);

  /* since 0.3: ListAuditEvents, a read (retried like GetTenantApps) */
  Prospects__V1__ListAuditEventsRequest audit = PROSPECTS__V1__LIST_AUDIT_EVENTS_REQUEST__INIT;
  audit.parent = "tenants/consumer";
  Prospects__V1__ListAuditEventsResponse *events = NULL;
  psc_status_t audit_st;
  int audit_code = psc_list_audit_events(client, &audit, &call, &events, &audit_st);
  printf("ListAuditEvents: %s (%s) after %d attempt(s)\n", psc_code_name(audit_code), audit_st.message,
         audit_st.attempts);
  if (events) prospects__v1__list_audit_events_response__free_unpacked(events, NULL);
  psc_client_free(client);
  if (argc > 1) return code == PSC_OK && audit_code == PSC_OK ? 0 : 1;
  return code == PSC_UNAVAILABLE && st.attempts == 2 && audit_code == PSC_UNAVAILABLE && audit_st.attempts == 2
             ? 0
             : 1;
}
