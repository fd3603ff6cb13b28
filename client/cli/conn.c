/* prospectctl's transport rule (see conn.h). */
#include "conn.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1 when the host (len bytes, no brackets, no port) is a loopback name or address. */
static int host_is_local(const char *host, size_t len) {
  char h[64];
  if (len == 0 || len >= sizeof h) return 0;
  memcpy(h, host, len);
  h[len] = '\0';
  if (strcasecmp(h, "localhost") == 0) return 1;
  struct in_addr a4;
  if (inet_pton(AF_INET, h, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  struct in6_addr a6;
  if (inet_pton(AF_INET6, h, &a6) == 1) return memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
  return 0;
}

/* 1 when one address "host", "host:port", "[v6]:port" or a bare IPv6 address (len bytes) is local. */
static int address_is_local(const char *s, size_t len) {
  if (len > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', len);
    return close && host_is_local(s + 1, (size_t)(close - s - 1));
  }
  const char *colon = memchr(s, ':', len);
  if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) return host_is_local(s, len); /* bare IPv6 */
  return host_is_local(s, colon ? (size_t)(colon - s) : len);
}

int ctl_target_is_local(const char *target) {
  if (!target) return 0;
  if (strncmp(target, "unix:", 5) == 0 || strncmp(target, "unix-abstract:", 14) == 0) return 1;
  const char *t = target;
  if (strncmp(t, "ipv4:", 5) == 0 || strncmp(t, "ipv6:", 5) == 0) {
    /* a comma-separated list: local only when every address is */
    t += 5;
    while (*t == '/') t++; /* ipv4:///127.0.0.1:1, an empty authority */
    if (!*t) return 0;
    for (;;) {
      const char *comma = strchr(t, ',');
      size_t len = comma ? (size_t)(comma - t) : strlen(t);
      if (!address_is_local(t, len)) return 0;
      if (!comma) return 1;
      t = comma + 1;
    }
  }
  if (strncmp(t, "dns:", 4) == 0) {
    t += 4;
    if (strncmp(t, "//", 2) == 0) { /* dns://[authority]/host:port */
      t = strchr(t + 2, '/');
      if (!t) return 0;
      t++;
    }
  }
  return address_is_local(t, strlen(t));
}

int ctl_mode_from_env(const char *v) {
  if (!v || !*v) return CTL_MODE_AUTO;
  if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0) return CTL_MODE_PLAINTEXT;
  if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0) return CTL_MODE_TLS;
  return -1;
}

int ctl_conn_options(const ctl_conn_input_t *in, psc_options_t *opts, char *err, size_t errlen) {
  const char *given = in->ca ? "a CA (--ca)" : in->cert ? "a certificate (--cert)" : in->key ? "a key (--key)"
                      : in->server_name ? "a server name (--server-name)" : NULL;
  int plaintext;
  if (in->mode == CTL_MODE_PLAINTEXT) plaintext = 1;
  else if (in->mode == CTL_MODE_TLS || given) plaintext = 0;
  else plaintext = ctl_target_is_local(in->target);

  if (plaintext && given) {
    snprintf(err, errlen, "plaintext was asked for (--plaintext or PROSPECTCTL_PLAINTEXT), and %s too "
                          "(flag or PROSPECTCTL_* variable): choose one", given);
    return -1;
  }
  if (!in->cert != !in->key) {
    snprintf(err, errlen, "%s: a client certificate and its key go together",
             in->cert ? "--cert (PROSPECTCTL_CERT) without --key (PROSPECTCTL_KEY)"
                      : "--key (PROSPECTCTL_KEY) without --cert (PROSPECTCTL_CERT)");
    return -1;
  }
  opts->transport = plaintext ? PSC_TRANSPORT_PLAINTEXT : PSC_TRANSPORT_TLS;
  opts->tls_ca_file = in->ca;
  opts->tls_cert_file = in->cert;
  opts->tls_key_file = in->key;
  opts->tls_target_name_override = in->server_name;
  return 0;
}
