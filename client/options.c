/* Checking a psc_options_t before anything is made from it (no gRPC here, so it is testable without
 * a server). psc_client_new_ex() calls psc__options_check() first and builds the channel only from
 * options that passed; every refusal names the option at fault in the status message.
 *
 * The certificate files are opened here once, to turn a wrong path or a file without PEM into an
 * error at creation instead of a handshake failure (UNAVAILABLE) on the first call. gRPC's file
 * watcher reads them again, and again whenever they change: nothing read here is kept. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* 1 when s is usable as an ASCII metadata value (printable, no control characters). */
int psc__printable_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E) return 0;
  return 1;
}

/* 1 when text holds a PEM block whose label contains kind ("-----BEGIN EC PRIVATE KEY-----"). */
static int pem_text_has(const char *text, const char *kind) {
  for (const char *p = strstr(text, "-----BEGIN "); p; p = strstr(p + 1, "-----BEGIN ")) {
    const char *end = strchr(p + 11, '\n');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *k = strstr(p + 11, kind);
    if (k && (size_t)(k - p) < n) return 1;
  }
  return 0;
}

/* 0 when the file at path can be read and has a PEM block of kind; else sets st. The file is
 * scanned line by line (a CA bundle can be large; nothing is kept). */
static int pem_file_check(const char *option, const char *path, const char *kind, psc_status_t *st) {
  if (!*path) return psc__status_set(st, PSC_INVALID_ARGUMENT, "%s is an empty string", option);
  FILE *f = fopen(path, "r");
  if (!f) return psc__status_set(st, PSC_INVALID_ARGUMENT, "%s %s: %s", option, path, strerror(errno));
  char line[512];
  int found = 0, at_line_start = 1;
  while (!found && fgets(line, sizeof line, f)) {
    if (at_line_start && strncmp(line, "-----BEGIN ", 11) == 0 && strstr(line + 11, kind)) found = 1;
    at_line_start = strchr(line, '\n') != NULL; /* a longer line continues in the next chunk */
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) return psc__status_set(st, PSC_INVALID_ARGUMENT, "%s %s: read error", option, path);
  if (!found)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "%s %s holds no PEM %s", option, path, kind);
  return 0;
}

static int pem_text_check(const char *option, const char *text, const char *kind, psc_status_t *st) {
  if (!pem_text_has(text, kind))
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "%s holds no PEM %s", option, kind);
  return 0;
}

int psc__options_check(const psc_options_t *o, psc_status_t *st) {
  if (!o->target || !*o->target) return psc__status_set(st, PSC_INVALID_ARGUMENT, "target is required");
  if (o->default_deadline_ms < 0)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "default_deadline_ms is negative");
  if (o->retry.max_attempts < 0 || o->retry.initial_backoff_ms < 0 || o->retry.max_backoff_ms < 0)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "a retry setting is negative");
  if (o->caller && !psc__printable_ascii(o->caller))
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "caller must be printable ASCII");
  if (o->lb_policy && strcmp(o->lb_policy, "round_robin") != 0 &&
      strcmp(o->lb_policy, "pick_first") != 0)
    return psc__status_set(st, PSC_INVALID_ARGUMENT,
                           "lb_policy \"%.32s\" is not one of round_robin, pick_first", o->lb_policy);
  for (size_t i = 0; i < sizeof o->reserved / sizeof o->reserved[0]; i++)
    if (o->reserved[i])
      return psc__status_set(st, PSC_INVALID_ARGUMENT,
                             "reserved[%zu] is set: an option this library (%s) does not know", i,
                             psc_version());

  /* what the TLS settings name, in the order messages mention them */
  const struct {
    const char *name;
    const void *set;
  } tls[] = {{"tls_ca_file", o->tls_ca_file},
             {"tls_cert_file", o->tls_cert_file},
             {"tls_key_file", o->tls_key_file},
             {"tls_root_certs_pem", o->tls_root_certs_pem},
             {"tls_cert_chain_pem", o->tls_cert_chain_pem},
             {"tls_private_key_pem", o->tls_private_key_pem},
             {"tls_target_name_override", o->tls_target_name_override}};
  switch (o->transport) {
    case PSC_TRANSPORT_DEFAULT:
    case PSC_TRANSPORT_TLS:
      break;
    case PSC_TRANSPORT_PLAINTEXT:
      for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++)
        if (tls[i].set)
          return psc__status_set(st, PSC_INVALID_ARGUMENT,
                                 "%s is set with PSC_TRANSPORT_PLAINTEXT: ask for TLS or for plaintext, "
                                 "not both",
                                 tls[i].name);
      if (o->tls_reload_s)
        return psc__status_set(st, PSC_INVALID_ARGUMENT, "tls_reload_s is set with PSC_TRANSPORT_PLAINTEXT");
      return 0;
    default:
      return psc__status_set(st, PSC_INVALID_ARGUMENT,
                             "transport %d is none of PSC_TRANSPORT_TLS (1, or 0) and "
                             "PSC_TRANSPORT_PLAINTEXT (2)",
                             (int)o->transport);
  }

  if (o->tls_reload_s < 0) return psc__status_set(st, PSC_INVALID_ARGUMENT, "tls_reload_s is negative");
  if (o->tls_cert_file && !o->tls_key_file)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "tls_cert_file is set without tls_key_file");
  if (o->tls_key_file && !o->tls_cert_file)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "tls_key_file is set without tls_cert_file");
  if (o->tls_cert_chain_pem && !o->tls_private_key_pem)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "tls_cert_chain_pem is set without tls_private_key_pem");
  if (o->tls_private_key_pem && !o->tls_cert_chain_pem)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "tls_private_key_pem is set without tls_cert_chain_pem");
  int files = o->tls_ca_file || o->tls_cert_file;
  int pems = o->tls_root_certs_pem || o->tls_cert_chain_pem;
  if (files && pems)
    return psc__status_set(st, PSC_INVALID_ARGUMENT,
                           "%s and %s are both set: TLS material comes either from files (tls_*_file) "
                           "or from memory (tls_*_pem), not both",
                           o->tls_ca_file ? "tls_ca_file" : "tls_cert_file",
                           o->tls_root_certs_pem ? "tls_root_certs_pem" : "tls_cert_chain_pem");
  if (o->tls_target_name_override &&
      (!*o->tls_target_name_override || !psc__printable_ascii(o->tls_target_name_override) ||
       strchr(o->tls_target_name_override, ' ')))
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "tls_target_name_override must be a host name");

  if ((o->tls_ca_file && pem_file_check("tls_ca_file", o->tls_ca_file, "CERTIFICATE", st) != 0) ||
      (o->tls_cert_file && pem_file_check("tls_cert_file", o->tls_cert_file, "CERTIFICATE", st) != 0) ||
      (o->tls_key_file && pem_file_check("tls_key_file", o->tls_key_file, "PRIVATE KEY", st) != 0) ||
      (o->tls_root_certs_pem && pem_text_check("tls_root_certs_pem", o->tls_root_certs_pem, "CERTIFICATE", st) != 0) ||
      (o->tls_cert_chain_pem && pem_text_check("tls_cert_chain_pem", o->tls_cert_chain_pem, "CERTIFICATE", st) != 0) ||
      (o->tls_private_key_pem && pem_text_check("tls_private_key_pem", o->tls_private_key_pem, "PRIVATE KEY", st) != 0))
    return st->code;
  return 0;
}
