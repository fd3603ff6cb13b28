#include "auth/tls.h"

#include <stdio.h>
#include <string.h>

/* 0 when path can be opened and holds a PEM block of kind ("CERTIFICATE", "PRIVATE KEY"). */
static int pem_file_ok(const char *path, const char *kind, const char *what, ps_status_t *st) {
  FILE *f = fopen(path, "rb");
  if (!f) return ps_fail(st, PS_FAILED_PRECONDITION, NULL, "%s %s cannot be read", what, path);
  char line[256];
  int found = 0;
  while (!found && fgets(line, sizeof line, f))
    found = strncmp(line, "-----BEGIN ", 11) == 0 && strstr(line, kind) != NULL;
  fclose(f);
  if (!found)
    return ps_fail(st, PS_FAILED_PRECONDITION, NULL, "%s %s holds no PEM %s", what, path, kind);
  return 0;
}

grpc_server_credentials *ps_tls_server_credentials(const ps_tls_config_t *cfg, ps_status_t *st) {
  int with_ca = cfg->client_ca_file && cfg->client_ca_file[0];
  if (pem_file_ok(cfg->cert_file, "CERTIFICATE", "the server certificate", st) != 0 ||
      pem_file_ok(cfg->key_file, "PRIVATE KEY", "the server key", st) != 0 ||
      (with_ca && pem_file_ok(cfg->client_ca_file, "CERTIFICATE", "the client CA", st) != 0))
    return NULL;
  grpc_tls_certificate_provider *provider = grpc_tls_certificate_provider_file_watcher_create(
      cfg->key_file, cfg->cert_file, with_ca ? cfg->client_ca_file : NULL,
      (unsigned)(cfg->reload_s > 0 ? cfg->reload_s : 60));
  if (!provider) {
    ps_fail(st, PS_INTERNAL, NULL, "cannot watch the certificate files");
    return NULL;
  }
  grpc_tls_credentials_options *opts = grpc_tls_credentials_options_create();
  grpc_tls_credentials_options_set_certificate_provider(opts, provider); /* takes its own ref */
  grpc_tls_credentials_options_watch_identity_key_cert_pairs(opts);
  if (with_ca) {
    grpc_tls_credentials_options_watch_root_certs(opts);
    grpc_tls_credentials_options_set_cert_request_type(
        opts, GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    grpc_tls_credentials_options_set_cert_request_type(opts,
                                                       GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  grpc_server_credentials *creds = grpc_tls_server_credentials_create(opts); /* owns opts */
  grpc_tls_certificate_provider_release(provider);
  if (!creds) ps_fail(st, PS_INTERNAL, NULL, "cannot create the TLS credentials");
  return creds;
}

/* Copies value[0..n) into the buffer's store; NULL when it does not fit. */
static const char *keep(ps_peer_buf_t *b, const char *value, size_t n) {
  if (n >= sizeof b->store - b->used) return NULL;
  char *p = b->store + b->used;
  memcpy(p, value, n);
  p[n] = '\0';
  b->used += n + 1;
  return p;
}

void ps_tls_call_peer(grpc_call *call, ps_peer_buf_t *ret) {
  memset(&ret->peer, 0, sizeof ret->peer);
  ret->used = 0;
  ret->peer.uri_sans = ret->uri;
  ret->peer.dns_sans = ret->dns;
  ret->peer.subject = "";
  grpc_auth_context *ctx = grpc_call_auth_context(call);
  if (!ctx) return;
  int secure = 0, has_cert = 0;
  grpc_auth_property_iterator it = grpc_auth_context_property_iterator(ctx);
  const grpc_auth_property *p;
  while ((p = grpc_auth_property_iterator_next(&it))) {
    if (strcmp(p->name, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME) == 0) {
      secure = (p->value_length == 3 && memcmp(p->value, "tls", 3) == 0) ||
               (p->value_length == 3 && memcmp(p->value, "ssl", 3) == 0);
    } else if (strcmp(p->name, GRPC_X509_SUBJECT_PROPERTY_NAME) == 0) {
      /* set only when the peer sent a certificate, which the handshake then verified */
      const char *s = keep(ret, p->value, p->value_length);
      if (s) ret->peer.subject = s;
      has_cert = 1;
    } else if (strcmp(p->name, GRPC_PEER_URI_PROPERTY_NAME) == 0) {
      const char *s = ret->peer.n_uri_sans < PS_PEER_MAX_SANS ? keep(ret, p->value, p->value_length)
                                                              : NULL;
      if (s) ret->uri[ret->peer.n_uri_sans++] = s;
    } else if (strcmp(p->name, GRPC_PEER_DNS_PROPERTY_NAME) == 0) {
      const char *s = ret->peer.n_dns_sans < PS_PEER_MAX_SANS ? keep(ret, p->value, p->value_length)
                                                              : NULL;
      if (s) ret->dns[ret->peer.n_dns_sans++] = s;
    }
  }
  grpc_auth_context_release(ctx);
  ret->peer.authenticated = secure && has_cert;
  if (!ret->peer.authenticated) ret->peer.n_uri_sans = ret->peer.n_dns_sans = 0;
}
