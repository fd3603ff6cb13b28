/* fuzz_policy: the authorization policy parser and checker (server/auth/policy.h).
 *
 * Feeds: the input up to its first NUL byte is the policy text for ps_policy_parse (JSON cannot
 * hold a NUL byte, so nothing of a policy is lost). After it, NUL-separated parts make one more
 * call: its path, the URI SAN, DNS SAN and subject of its caller, then header keys and values in
 * turn. A parsed policy decides on that call and on fixed ones: a few method paths, each from an
 * anonymous caller, callers identified by URI SAN, DNS SAN or subject, and a caller with SANs that
 * did not present a verified certificate.
 *
 * Asserts: parsing gives 0 with a policy that has a name, or -1 with a message and the output
 * untouched; every decision is ALLOW or DENY, an ALLOW names its rule, the same call gets the same
 * decision twice; a caller without a verified certificate gets the decision an anonymous caller
 * gets (principals never match it) and has no identity. No crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "fuzz.h"

#define MAX_PARTS 20
#define MAX_HEADERS 8

static const char *const paths[] = {
    "/prospects.v1.ProspectService/GetProspect",
    "/prospects.v1.ProspectService/UpdateTenantApps",
    "/prospects.v1.ProspectService/MergeProspects",
    "/grpc.health.v1.Health/Check",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "",
};

static const char *const quoting_uri[] = {"spiffe://example.org/ns/prod/sa/quoting"};
static const char *const web_dns[] = {"web.prospects.svc"};
static const char *const both_uri[] = {"spiffe://example.org/ns/prod/sa/account", "urn:other"};
static const char *const both_dns[] = {"account.prospects.svc"};

static const ps_peer_t anonymous = {0, NULL, 0, NULL, 0, ""};
static const ps_peer_t peers[] = {
    {1, quoting_uri, 1, NULL, 0, ""},
    {1, NULL, 0, web_dns, 1, "CN=web,O=Example"},
    {1, NULL, 0, NULL, 0, "CN=operators,O=Example"},
    {1, both_uri, 2, both_dns, 1, "CN=account"},
};

static const ps_policy_header_t fixed_headers[] = {
    {"x-env", 5, "prod", 4},
    {"x-env", 5, "canary", 6},
    {"x-acting-user", 13, "u-1", 3},
};

static ps_policy_decision_t decide(const ps_policy_t *p, const ps_policy_request_t *req) {
  const char *rule = (const char *)(uintptr_t)1;
  ps_policy_decision_t d = ps_policy_check(p, req, &rule);
  FUZZ_CHECK(d == PS_POLICY_ALLOW || d == PS_POLICY_DENY, "decision %d", (int)d);
  FUZZ_CHECK(rule != (const char *)(uintptr_t)1, "no rule reported");
  FUZZ_CHECK(d == PS_POLICY_DENY || rule != NULL, "allowed by no rule");
  const char *again = NULL;
  FUZZ_CHECK(ps_policy_check(p, req, &again) == d && again == rule, "a second check differs");
  return d;
}

/* Decides on req from peer, and checks that the same peer without a verified certificate is
 * treated as anonymous. */
static void check_call(const ps_policy_t *p, ps_policy_request_t req, const ps_peer_t *peer) {
  req.peer = peer;
  decide(p, &req);
  ps_peer_t unverified = *peer;
  unverified.authenticated = 0;
  FUZZ_CHECK(ps_peer_identity(&unverified)[0] == '\0', "an unverified caller has an identity");
  req.peer = &unverified;
  ps_policy_decision_t d = decide(p, &req);
  req.peer = &anonymous;
  FUZZ_CHECK(decide(p, &req) == d, "an unverified caller is not treated as anonymous");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t text_len = nul ? (size_t)(nul - data) : size;
  char *text = malloc(text_len ? text_len : 1); /* exactly text_len bytes: no terminator */
  FUZZ_CHECK(text != NULL, "out of memory");
  if (text_len) memcpy(text, data, text_len);

  ps_policy_t *p = (ps_policy_t *)(uintptr_t)1;
  char err[256] = "";
  int rc = ps_policy_parse(text, text_len, &p, err, sizeof err);
  free(text);
  if (rc != 0) {
    FUZZ_CHECK(rc == -1 && p == (ps_policy_t *)(uintptr_t)1, "failure set the output");
    FUZZ_CHECK(err[0] != '\0' && memchr(err, 0, sizeof err), "failed without a message");
    return 0;
  }
  FUZZ_CHECK(p != NULL && ps_policy_name(p) != NULL, "a policy without a name");

  /* the fixed calls */
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    for (size_t h = 0; h <= sizeof fixed_headers / sizeof fixed_headers[0]; h++) {
      ps_policy_request_t req = {paths[i], strlen(paths[i]), NULL, fixed_headers, h};
      req.peer = &anonymous;
      decide(p, &req);
      for (size_t k = 0; k < sizeof peers / sizeof peers[0]; k++) check_call(p, req, &peers[k]);
    }
  }

  /* the call of the input: path, URI SAN, DNS SAN, subject, then header key and value pairs */
  if (nul) {
    const char *rest = (const char *)nul + 1, *end = (const char *)data + size;
    char *copy = malloc((size_t)(end - rest) + 1);
    FUZZ_CHECK(copy != NULL, "out of memory");
    memcpy(copy, rest, (size_t)(end - rest));
    copy[end - rest] = '\0';
    const char *parts[MAX_PARTS];
    size_t n_parts = 0;
    for (char *s = copy; n_parts < MAX_PARTS;) {
      parts[n_parts++] = s;
      char *z = memchr(s, 0, (size_t)(copy + (end - rest) - s));
      if (!z) break;
      s = z + 1;
    }
    for (size_t i = n_parts; i < MAX_PARTS; i++) parts[i] = "";
    ps_policy_header_t headers[MAX_HEADERS];
    size_t n_headers = 0;
    for (size_t i = 4; i + 1 < n_parts && n_headers < MAX_HEADERS; i += 2)
      headers[n_headers++] = (ps_policy_header_t){parts[i], strlen(parts[i]), parts[i + 1],
                                                  strlen(parts[i + 1])};
    const char *uri[] = {parts[1]}, *dns[] = {parts[2]};
    ps_peer_t peer = {1, uri, parts[1][0] ? 1 : 0, dns, parts[2][0] ? 1 : 0, parts[3]};
    ps_policy_request_t req = {parts[0], strlen(parts[0]), &anonymous, headers, n_headers};
    decide(p, &req);
    check_call(p, req, &peer);
    free(copy);
  }
  ps_policy_free(p);
  return 0;
}
