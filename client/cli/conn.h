/* How prospectctl connects: TLS, mutual TLS or plaintext, from its flags and environment variables.
 * Pure functions (no I/O): main() gathers the inputs, these decide, the library checks the files. */
#ifndef PSC_CLI_CONN_H
#define PSC_CLI_CONN_H

#include <stddef.h>

#include "prospects/client.h"

/* An explicit choice of transport: --plaintext / --tls, else PROSPECTCTL_PLAINTEXT=1 / 0. */
typedef enum ctl_mode {
  CTL_MODE_AUTO = 0,      /* neither: decided by the rule of ctl_conn_options() */
  CTL_MODE_PLAINTEXT = 1, /* --plaintext, PROSPECTCTL_PLAINTEXT=1 */
  CTL_MODE_TLS = 2        /* --tls, PROSPECTCTL_PLAINTEXT=0 */
} ctl_mode_t;

/* What the user gave; each value is the flag's, else the environment variable's, else NULL. */
typedef struct ctl_conn_input {
  const char *target;      /* --target / PROSPECTCTL_TARGET (never NULL: it has a default) */
  const char *ca;          /* --ca / PROSPECTCTL_CA: CA bundle file that verifies the server */
  const char *cert;        /* --cert / PROSPECTCTL_CERT: client certificate chain file */
  const char *key;         /* --key / PROSPECTCTL_KEY: its private key file */
  const char *server_name; /* --server-name / PROSPECTCTL_SERVER_NAME: name checked in the server's certificate */
  ctl_mode_t mode;         /* the explicit choice, or CTL_MODE_AUTO */
} ctl_conn_input_t;

/* The transport rule, applied to in; fills the transport and tls_* fields of *opts (the others are
 * left alone). Returns 0, or -1 with err (size errlen) saying why the combination is refused:
 *   1. An explicit choice wins: plaintext, or TLS.
 *   2. Otherwise TLS as soon as a CA, certificate, key or server name is given.
 *   3. Otherwise plaintext when the target is on this host (ctl_target_is_local: scripts/run's
 *      localhost:50051), and TLS with gRPC's default roots for any other target.
 * Plaintext together with a CA, certificate, key or server name is refused rather than ignored. */
int ctl_conn_options(const ctl_conn_input_t *in, psc_options_t *opts, char *err, size_t errlen);

/* 1 when the gRPC target names this host: localhost, 127.0.0.0/8, ::1 (optionally with a port,
 * brackets, or the dns:, ipv4:, ipv6: schemes) or a unix: socket; 0 for any other. */
int ctl_target_is_local(const char *target);

/* PROSPECTCTL_PLAINTEXT's value: "1", "true", "yes" -> CTL_MODE_PLAINTEXT; "0", "false", "no" ->
 * CTL_MODE_TLS; NULL or "" -> CTL_MODE_AUTO; anything else -> -1. */
int ctl_mode_from_env(const char *value);

#endif /* PSC_CLI_CONN_H */
