/* The authorization policy: which caller may call which method. The file format is gRPC's own
 * authorization policy (gRFC A43, the JSON that grpc_authorization_policy_provider_*_create reads):
 *
 *   {"name": "prospects",
 *    "deny_rules":  [{"name": "...", "source": {...}, "request": {...}}],   (optional)
 *    "allow_rules": [{"name": "quoting",
 *                     "source":  {"principals": ["spiffe://example.org/ns/prod/sa/quoting"]},
 *                     "request": {"paths": ["/prospects.v1.ProspectService/Get*"],
 *                                 "headers": [{"key": "x-env", "values": ["prod"]}]}}]}
 *
 * A call is denied when a deny rule matches it, else allowed when an allow rule matches it, else
 * denied. A rule matches when its source and its request match; a missing or empty list matches
 * everything. Principals, paths and header values are exact strings, or "prefix*", "*suffix" or
 * "*" (anything). Principals match the caller's URI SANs, then DNS SANs, then the certificate's
 * subject; all values of a header are joined with "," before they are matched; headers starting
 * with ":" or "grpc-", and "host", cannot be used.
 *
 * Where this engine is stricter than gRPC's: a principal only ever matches a caller that presented a
 * verified client certificate (gRPC lets "*" match any TLS connection), and a policy with an
 * unknown field or two rules of one name is refused instead of read with the field ignored or the
 * earlier rule dropped.
 *
 * Why not gRPC's own engine: Debian 12's libgrpc 1.51 declares
 * grpc_authorization_policy_provider_static_data_create/_file_watcher_create in <grpc/grpc_security.h>
 * but does not ship them (upstream builds them into a separate library, grpc_authorization_provider;
 * libgrpc.so.29 exports only the channel-arg vtable). This module reads the same files with the
 * same meaning, so a policy moves between the two unchanged.
 *
 * Pure: no I/O, no locks. A parsed policy is immutable and may be read by many threads. */
#ifndef PS_AUTH_POLICY_H
#define PS_AUTH_POLICY_H

#include <stddef.h>

typedef struct ps_policy ps_policy_t;

/* What is known of the caller of one call. Strings are borrowed. */
typedef struct ps_peer {
  int authenticated;            /* it presented a client certificate that the server verified */
  const char *const *uri_sans;  /* its URI SANs */
  size_t n_uri_sans;
  const char *const *dns_sans;  /* its DNS SANs */
  size_t n_dns_sans;
  const char *subject;          /* its subject ("CN=web,O=..."), "" when unknown */
} ps_peer_t;

/* One request header (gRPC metadata); value is not NUL-terminated. */
typedef struct ps_policy_header {
  const char *key;
  size_t key_len;
  const char *value;
  size_t value_len;
} ps_policy_header_t;

/* The call to decide on. */
typedef struct ps_policy_request {
  const char *path;             /* "/prospects.v1.ProspectService/GetProspect" */
  size_t path_len;
  const ps_peer_t *peer;
  const ps_policy_header_t *headers;
  size_t n_headers;
} ps_policy_request_t;

typedef enum ps_policy_decision { PS_POLICY_DENY = 0, PS_POLICY_ALLOW = 1 } ps_policy_decision_t;

/* Parses a policy from text[0..len). 0 with *ret (free with ps_policy_free), or -1 with a one-line
 * reason in err ("allow_rules 2: \"source\" is not an object.") and *ret untouched. */
int ps_policy_parse(const char *text, size_t len, ps_policy_t **ret, char *err, size_t errsz);

/* Frees a policy. Accepts NULL. */
void ps_policy_free(ps_policy_t *p);

/* The policy's "name". */
const char *ps_policy_name(const ps_policy_t *p);

/* Decides on req. *ret_rule (when not NULL) gets the name of the rule that decided, or NULL when no
 * rule matched (denied by default). */
ps_policy_decision_t ps_policy_check(const ps_policy_t *p, const ps_policy_request_t *req,
                                     const char **ret_rule);

/* The identity this service records for a caller: its first SPIFFE URI SAN ("spiffe://…"), else its
 * first DNS SAN, else its subject; "" for a caller without a verified certificate. Borrowed from
 * peer. */
const char *ps_peer_identity(const ps_peer_t *peer);

#endif
