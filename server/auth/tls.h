/* TLS of the gRPC port and the caller's identity: the only file besides transport.c that includes
 * gRPC headers (TLS credentials and a call's auth context are gRPC objects).
 *
 * The server's certificate, key and client CA are read from files by gRPC's file-watcher
 * certificate provider, which checks them every reload_s seconds: a rotated certificate is served
 * to new connections without a restart. Client certificates are requested and, when one is sent,
 * verified against the CA; a caller without one can still connect (health checks, and a clear
 * UNAUTHENTICATED instead of a failed handshake for everything else). */
#ifndef PS_AUTH_TLS_H
#define PS_AUTH_TLS_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "auth/policy.h"
#include "core/status.h"

typedef struct ps_tls_config {
  const char *cert_file;       /* server certificate chain (PEM) */
  const char *key_file;        /* its private key (PEM) */
  const char *client_ca_file;  /* CA bundle for client certificates; "" or NULL: none requested */
  int reload_s;                /* how often the files are checked for changes */
} ps_tls_config_t;

/* Server credentials for cfg. The files must be readable PEM now (checked, so that a typo fails
 * start-up instead of every handshake). NULL with st set on failure. Release with
 * grpc_server_credentials_release. */
grpc_server_credentials *ps_tls_server_credentials(const ps_tls_config_t *cfg, ps_status_t *st);

/* What the handshake proved about a call's peer, copied out of its auth context. */
#define PS_PEER_MAX_SANS 8
typedef struct ps_peer_buf {
  ps_peer_t peer;                       /* points into the fields below */
  const char *uri[PS_PEER_MAX_SANS];
  const char *dns[PS_PEER_MAX_SANS];
  char store[2048];                     /* the strings */
  size_t used;
} ps_peer_buf_t;

/* Fills ret from call's auth context (a plaintext call, or one without a verified client
 * certificate: authenticated = 0). ret->peer stays valid while ret lives. */
void ps_tls_call_peer(grpc_call *call, ps_peer_buf_t *ret);

#endif
