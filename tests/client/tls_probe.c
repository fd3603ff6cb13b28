/* One client handle of the library, driven line by line from stdin, for the TLS tests
 * (tests/client/run_live.py tls): the handle lives as long as the process, so a test can rotate the
 * certificate files under it and see the next connection use the new ones.
 *
 *   tls_probe [--ca F] [--cert F] [--key F] [--server-name N] [--plaintext] [--pem] [--reload S]
 *             [--attempts N] [--deadline MS] [--lb-policy NAME] TARGET
 *     --pem   read the three files here and pass them as tls_*_pem instead of tls_*_file
 *
 * Commands, one per line; each prints one line "CODE VALUE MESSAGE" (VALUE "-" when none):
 *   enable TENANT          UpdateTenantApps: the Prospects app on       VALUE: prospectsEnabled 0/1
 *   apps TENANT            GetTenantApps                                VALUE: prospectsEnabled 0/1
 *   create TENANT FIRST    CreateProspect (a PERSON)                    VALUE: the new record's name
 *   get NAME               GetProspect                                  VALUE: its first name
 * When psc_client_new_ex() refuses the options: one line "NEW CODE MESSAGE", exit status 3.
 * Exit status 0 at the end of input, 2 on a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prospects/client.h"

/* The whole file as a new string, or NULL. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      size_t ncap = (len + n + 1) * 2;
      char *b = realloc(buf, ncap);
      if (!b) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = b;
      cap = ncap;
    }
    memcpy(buf + len, chunk, n);
    len += n;
  }
  fclose(f);
  if (!buf) buf = calloc(1, 1);
  else buf[len] = '\0';
  return buf;
}

static void print_status(const psc_status_t *st, const char *value) {
  printf("%s %s %s\n", psc_code_name(st->code), value && *value ? value : "-", st->message);
  fflush(stdout);
}

static void cmd_apps(psc_client_t *c, const char *tenant, int enable) {
  char name[256];
  snprintf(name, sizeof name, "tenants/%s/apps", tenant);
  Prospects__V1__TenantApps *out = NULL;
  psc_status_t st;
  if (enable) {
    Prospects__V1__TenantApps apps = PROSPECTS__V1__TENANT_APPS__INIT;
    apps.name = name;
    apps.prospects_enabled = 1;
    char *paths[] = {"prospects_enabled"};
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.n_paths = 1;
    mask.paths = paths;
    Prospects__V1__UpdateTenantAppsRequest req = PROSPECTS__V1__UPDATE_TENANT_APPS_REQUEST__INIT;
    req.apps = &apps;
    req.update_mask = &mask;
    psc_update_tenant_apps(c, &req, NULL, &out, &st);
  } else {
    Prospects__V1__GetTenantAppsRequest req = PROSPECTS__V1__GET_TENANT_APPS_REQUEST__INIT;
    req.name = name;
    psc_get_tenant_apps(c, &req, NULL, &out, &st);
  }
  print_status(&st, out ? (out->prospects_enabled ? "1" : "0") : NULL);
  if (out) prospects__v1__tenant_apps__free_unpacked(out, NULL);
}

static void cmd_create(psc_client_t *c, const char *tenant, const char *first) {
  char parent[256];
  snprintf(parent, sizeof parent, "tenants/%s", tenant);
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.kind = PROSPECTS__V1__PARTY_KIND__PERSON;
  p.first_name = (char *)first;
  Prospects__V1__CreateProspectRequest req = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
  req.parent = parent;
  req.prospect = &p;
  Prospects__V1__Prospect *out = NULL;
  psc_status_t st;
  psc_create_prospect(c, &req, NULL, &out, &st);
  print_status(&st, out ? out->name : NULL);
  if (out) prospects__v1__prospect__free_unpacked(out, NULL);
}

static void cmd_get(psc_client_t *c, const char *name) {
  Prospects__V1__GetProspectRequest req = PROSPECTS__V1__GET_PROSPECT_REQUEST__INIT;
  req.name = (char *)name;
  Prospects__V1__Prospect *out = NULL;
  psc_status_t st;
  psc_get_prospect(c, &req, NULL, &out, &st);
  print_status(&st, out ? out->first_name : NULL);
  if (out) prospects__v1__prospect__free_unpacked(out, NULL);
}

int main(int argc, char **argv) {
  psc_options_t o = {0};
  const char *ca = NULL, *cert = NULL, *key = NULL;
  int pem = 0;
  o.caller = "tls-probe";
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--plaintext") == 0) {
      o.transport = PSC_TRANSPORT_PLAINTEXT;
    } else if (strcmp(a, "--pem") == 0) {
      pem = 1;
    } else if (i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(a, "--ca") == 0) ca = v;
      else if (strcmp(a, "--cert") == 0) cert = v;
      else if (strcmp(a, "--key") == 0) key = v;
      else if (strcmp(a, "--server-name") == 0) o.tls_target_name_override = v;
      else if (strcmp(a, "--reload") == 0) o.tls_reload_s = atoi(v);
      else if (strcmp(a, "--attempts") == 0) o.retry.max_attempts = atoi(v);
      else if (strcmp(a, "--deadline") == 0) o.default_deadline_ms = atoi(v);
      else if (strcmp(a, "--lb-policy") == 0) o.lb_policy = v;
      else {
        fprintf(stderr, "tls_probe: unknown option %s\n", a);
        return 2;
      }
    } else {
      fprintf(stderr, "tls_probe: %s needs a value\n", a);
      return 2;
    }
  }
  if (i + 1 != argc) {
    fprintf(stderr, "usage: tls_probe [OPTIONS] TARGET (commands on stdin)\n");
    return 2;
  }
  o.target = argv[i];
  char *ca_pem = NULL, *cert_pem = NULL, *key_pem = NULL;
  if (pem) {
    if ((ca && !(ca_pem = slurp(ca))) || (cert && !(cert_pem = slurp(cert))) || (key && !(key_pem = slurp(key)))) {
      fprintf(stderr, "tls_probe: cannot read a PEM file\n");
      free(ca_pem);
      free(cert_pem);
      free(key_pem);
      return 2;
    }
    o.tls_root_certs_pem = ca_pem;
    o.tls_cert_chain_pem = cert_pem;
    o.tls_private_key_pem = key_pem;
  } else {
    o.tls_ca_file = ca;
    o.tls_cert_file = cert;
    o.tls_key_file = key;
  }

  psc_client_t *c = NULL;
  psc_status_t st;
  int rc = psc_client_new_ex(&o, &c, &st);
  /* the library copied what it needs: the strings may go now */
  free(ca_pem);
  free(cert_pem);
  free(key_pem);
  if (rc != PSC_OK) {
    printf("NEW %s %s\n", psc_code_name(st.code), st.message);
    return 3;
  }

  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r\n", &save);
    char *a1 = cmd ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    if (!cmd) continue;
    if (strcmp(cmd, "enable") == 0 && a1) cmd_apps(c, a1, 1);
    else if (strcmp(cmd, "apps") == 0 && a1) cmd_apps(c, a1, 0);
    else if (strcmp(cmd, "create") == 0 && a1 && a2) cmd_create(c, a1, a2);
    else if (strcmp(cmd, "get") == 0 && a1) cmd_get(c, a1);
    else {
      printf("USAGE - unknown command\n");
      fflush(stdout);
    }
  }
  psc_client_free(c);
  return 0;
}
