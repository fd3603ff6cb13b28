/* auth/policy.c: gRPC's authorization policy format (gRFC A43) read and applied the way gRPC core
 * reads and applies it, and the places where this engine is deliberately stricter (policy.h).
 *
 * Most cases are ports of gRPC's own tests of the format, named in a comment above each case:
 *   [T] test/core/security/rbac_translator_test.cc           GenerateRbacPoliciesTest.*
 *   [M] test/core/security/authorization_matchers_test.cc    AuthorizationMatchersTest.*
 *   [E] test/core/security/grpc_authorization_engine_test.cc GrpcAuthorizationEngineTest.*
 *   [S] test/core/security/matchers_test.cc                  StringMatcherTest.*
 *   [X] test/cpp/end2end/grpc_authz_end2end_test.cc          GrpcAuthzEnd2EndTest.*
 * gRPC's translator tests check the RBAC tree it builds; here the same policies are checked by the
 * decisions they lead to. Cases about features this engine does not have (CIDR ranges, ports,
 * regexes, NOT rules, audit loggers) are not ported.
 *
 * Policies are written with ' for " to keep them readable; policy() swaps them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"

/* ------------------------------------------------------------------ helpers */

/* The policy text with every ' turned into ". Static storage: one at a time. */
static const char *policy(const char *squoted) {
  static char buf[16384];
  size_t n = strlen(squoted);
  assert_true(n < sizeof buf);
  for (size_t i = 0; i <= n; i++) buf[i] = squoted[i] == '\'' ? '"' : squoted[i];
  return buf;
}

static ps_policy_t *parse_ok_at(const char *squoted, const char *file, int line) {
  const char *text = policy(squoted);
  ps_policy_t *p = NULL;
  char err[256] = "";
  if (ps_policy_parse(text, strlen(text), &p, err, sizeof err) != 0 || !p) {
    print_error("policy refused: %s\n  policy: %s\n", err, text);
    _fail(file, line);
  }
  return p;
}
#define PARSE_OK(s) parse_ok_at((s), __FILE__, __LINE__)

/* Refused, with exactly this message, and *ret untouched. */
static void parse_err_at(const char *squoted, const char *want, int prefix_only, const char *file,
                         int line) {
  const char *text = policy(squoted);
  ps_policy_t *sentinel = (ps_policy_t *)&sentinel, *p = sentinel;
  char err[256] = "";
  int rc = ps_policy_parse(text, strlen(text), &p, err, sizeof err);
  if (rc != -1 || p != sentinel) {
    print_error("policy accepted (rc %d), expected the error \"%s\"\n  policy: %s\n", rc, want,
                text);
    if (p != sentinel) ps_policy_free(p);
    _fail(file, line);
  }
  int same = prefix_only ? strncmp(err, want, strlen(want)) == 0 : strcmp(err, want) == 0;
  if (!same) {
    print_error("error\n  got:  %s\n  want: %s%s\n  policy: %s\n", err, want,
                prefix_only ? "..." : "", text);
    _fail(file, line);
  }
}
#define PARSE_ERR(s, want) parse_err_at((s), (want), 0, __FILE__, __LINE__)
#define PARSE_ERR_PREFIX(s, want) parse_err_at((s), (want), 1, __FILE__, __LINE__)

#define HDR(k, v)                                                                                  \
  { k, sizeof(k) - 1, v, sizeof(v) - 1 }
#define NHDR(a) (sizeof(a) / sizeof((a)[0]))

static const char *dname(ps_policy_decision_t d) {
  return d == PS_POLICY_ALLOW ? "ALLOW" : d == PS_POLICY_DENY ? "DENY" : "?";
}

/* ps_policy_check gives want, decided by the rule want_rule (NULL: no rule, the default deny). */
static void decide_at(const ps_policy_t *p, const char *path, const ps_peer_t *peer,
                      const ps_policy_header_t *h, size_t nh, ps_policy_decision_t want,
                      const char *want_rule, const char *file, int line) {
  ps_policy_request_t req = {path, strlen(path), peer, h, nh};
  const char *rule = "(not set)";
  ps_policy_decision_t got = ps_policy_check(p, &req, &rule);
  int same_rule = (!rule && !want_rule) || (rule && want_rule && strcmp(rule, want_rule) == 0);
  if (got != want || !same_rule) {
    print_error("%s: got %s by rule %s, want %s by rule %s\n", path, dname(got),
                rule ? rule : "(none)", dname(want), want_rule ? want_rule : "(none)");
    _fail(file, line);
  }
  /* the decision does not depend on asking for the rule */
  if (ps_policy_check(p, &req, NULL) != want) {
    print_error("%s: the decision changes when ret_rule is NULL\n", path);
    _fail(file, line);
  }
}
#define ALLOWS(p, path, peer, h, nh, rule)                                                         \
  decide_at((p), (path), (peer), (h), (nh), PS_POLICY_ALLOW, (rule), __FILE__, __LINE__)
#define DENIES(p, path, peer, h, nh, rule)                                                         \
  decide_at((p), (path), (peer), (h), (nh), PS_POLICY_DENY, (rule), __FILE__, __LINE__)

#define ECHO "/grpc.testing.EchoTestService/Echo"
#define CSECHO "/grpc.testing.EchoTestService/ClientStreamingEcho"
#define GET "/prospects.v1.ProspectService/GetProspect"

/* Callers. */
static const ps_peer_t ANON = {0, NULL, 0, NULL, 0, ""};
/* TLS without a verified client certificate: gRPC would see a secure connection, this engine an
 * unauthenticated caller. The SAN fields are there to prove they are not looked at. */
static const char *const anon_uris[] = {"spiffe://foo.abc"};
static const ps_peer_t UNVERIFIED = {0, anon_uris, 1, NULL, 0, "CN=abc,OU=Google"};
static const ps_peer_t NO_IDENTITY = {1, NULL, 0, NULL, 0, ""};

/* ------------------------------------------------------------------ parse errors */

/* [T] InvalidPolicy */
static void test_invalid_json(void **state) {
  (void)state;
  PARSE_ERR_PREFIX("{ 'name': 'authz-policy',, }", "not valid JSON: ");
  PARSE_ERR_PREFIX("", "not valid JSON: ");
}

/* [T] MissingAuthorizationPolicyName, IncorrectAuthorizationPolicyNameType; and a policy that is
 * not an object at all */
static void test_policy_name_missing_or_not_a_string(void **state) {
  (void)state;
  PARSE_ERR("{}", "\"name\" field is not present.");
  PARSE_ERR("{'name': ['authz_policy']}", "\"name\" is not a string.");
  PARSE_ERR("{'name': 7, 'allow_rules': []}", "\"name\" is not a string.");
  PARSE_ERR("['authz']", "the policy is not an object.");
  PARSE_ERR("'authz'", "the policy is not an object.");
}

/* [T] MissingAllowRules, IncorrectAllowRulesType, IncorrectDenyRulesType */
static void test_rule_lists_missing_or_not_arrays(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz_policy'}", "\"allow_rules\" is not present.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': {}}", "\"allow_rules\" is not an array.");
  PARSE_ERR("{'name': 'authz', 'deny_rules': 123}", "\"deny_rules\" is not an array.");
  /* deny_rules present and fine does not make up for a missing allow_rules */
  PARSE_ERR("{'name': 'authz', 'deny_rules': [{'name': 'd'}]}", "\"allow_rules\" is not present.");
}

/* [T] IncorrectRuleType, MissingRuleNameField, IncorrectRuleNameType; the index names the rule */
static void test_rule_shape_errors_name_the_rule(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz', 'allow_rules': ['rule-a']}", "allow_rules 0: is not an object.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{}]}", "allow_rules 0: \"name\" is not present.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 123}]}",
            "allow_rules 0: \"name\" is not a string.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'a'}, {'name': 'b'}, {'nam': 'c'}]}",
            "allow_rules 2: unknown field \"nam\".");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'a'}], 'deny_rules': [{'name': 'x'}, 5]}",
            "deny_rules 1: is not an object.");
}

/* [T] IncorrectSourceType, IncorrectPrincipalsType; principals that are not an array */
static void test_source_errors(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy', 'source': 111}]}",
            "allow_rules 0: \"source\" is not an object.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy',"
            "  'source': {'principals': ['*', 123]}}]}",
            "allow_rules 0: \"principals\" 1: is not a string.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy',"
            "  'source': {'principals': 'spiffe://foo.abc'}}]}",
            "allow_rules 0: \"principals\" is not an array.");
}

/* [T] IncorrectRequestType, IncorrectPathType; paths that are not an array */
static void test_request_errors(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz', 'deny_rules': [{'name': 'deny_policy', 'request': 111}],"
            " 'allow_rules': []}",
            "deny_rules 0: \"request\" is not an object.");
  PARSE_ERR("{'name': 'authz', 'deny_rules': [{'name': 'allow_policy',"
            "  'request': {'paths': ['path-a', 123]}}], 'allow_rules': []}",
            "deny_rules 0: \"paths\" 1: is not a string.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'p', 'request': {'paths': '/a'}}]}",
            "allow_rules 0: \"paths\" is not an array.");
}

/* [T] IncorrectHeaderType, MissingHeaderKey, MissingHeaderValues, IncorrectHeaderKeyType,
 * IncorrectHeaderValuesType, EmptyHeaderValuesList; a value that is not a string; headers that are
 * not an array. Every message names the rule and the header. */
static void test_header_errors_name_the_header(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz', 'deny_rules': [{'name': 'allow_policy',"
            "  'request': {'headers': ['header-a']}}], 'allow_rules': []}",
            "deny_rules 0: \"headers\" 0: is not an object.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy', 'request': {'headers': [{}]}}]}",
            "allow_rules 0: \"headers\" 0: \"key\" is not present.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': 'key-abc'}]}}]}",
            "allow_rules 0: \"headers\" 0: \"values\" is not present.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': 123, 'values': ['value-a']}]}}]}",
            "allow_rules 0: \"headers\" 0: \"key\" is not a string.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': 'key-abc', 'values': {}}]}}]}",
            "allow_rules 0: \"headers\" 0: \"values\" is not an array.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy_1',"
            "  'request': {'headers': [{'key': 'key-a', 'values': []}]}}]}",
            "allow_rules 0: \"headers\" 0: \"values\" list is empty.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'p',"
            "  'request': {'headers': [{'key': 'k', 'values': ['v', 2]}]}}]}",
            "allow_rules 0: \"headers\" 0: \"values\" 1: is not a string.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'p', 'request': {'headers': {}}}]}",
            "allow_rules 0: \"headers\" is not an array.");
  /* the indices of a later rule and a later header */
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'a'}, {'name': 'b', 'request': {'headers':"
            "  [{'key': 'k1', 'values': ['v']}, {'key': 'k2', 'values': ['v', null]}]}}]}",
            "allow_rules 1: \"headers\" 1: \"values\" 1: is not a string.");
}

/* [T] UnsupportedGrpcHeaders, UnsupportedPseudoHeaders, UnsupportedhostHeader,
 * UnsupportedHostHeader; plus ":path" and "grpc-timeout", which would let a policy look at what the
 * engine decides on by other means */
static void test_unsupported_header_keys(void **state) {
  (void)state;
  PARSE_ERR(
      "{'name': 'authz', 'deny_rules': [{'name': 'policy',"
      "  'request': {'headers': [{'key': 'grpc-xxx', 'values': ['*']}]}}], 'allow_rules': []}",
      "deny_rules 0: \"headers\" 0: Unsupported \"key\" grpc-xxx.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': ':method', 'values': ['*']}]}}]}",
            "allow_rules 0: \"headers\" 0: Unsupported \"key\" :method.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': ':path', 'values': ['/x']}]}}]}",
            "allow_rules 0: \"headers\" 0: Unsupported \"key\" :path.");
  PARSE_ERR("{'name': 'authz', 'deny_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': 'host', 'values': ['*']}]}}], 'allow_rules': []}",
            "deny_rules 0: \"headers\" 0: Unsupported \"key\" host.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': 'Host', 'values': ['*']}]}}]}",
            "allow_rules 0: \"headers\" 0: Unsupported \"key\" Host.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
            "  'request': {'headers': [{'key': 'x-ok', 'values': ['*']},"
            "                          {'key': 'grpc-timeout', 'values': ['*']}]}}]}",
            "allow_rules 0: \"headers\" 1: Unsupported \"key\" grpc-timeout.");
  /* a key that merely contains those words is fine */
  ps_policy_t *p =
      PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'policy',"
               "  'request': {'headers': [{'key': 'x-grpc-host', 'values': ['*']}]}}]}");
  ps_policy_free(p);
}

/* Stricter than gRPC 1.51, which ignored unknown fields (later gRPC refuses them too, see [T]
 * UnknownFieldInTopLayer, UnknownFieldInRule, UnknownFieldInSource, UnknownFieldInRequest,
 * UnknownFieldInHeaders). A misspelt "principal" would otherwise silently open a rule to anyone. */
static void test_unknown_fields_refused(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy'}], 'foo': '123'}",
            "unknown field \"foo\".");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy', 'foo': {}}]}",
            "allow_rules 0: unknown field \"foo\".");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy',"
            "  'source': {'principals': ['spiffe://foo.abc'], 'foo': {}}}]}",
            "allow_rules 0: unknown field \"foo\".");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy', 'request': {'foo': {}}}]}",
            "allow_rules 0: unknown field \"foo\".");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy',"
            "  'request': {'headers': [{'foo': {}}]}}]}",
            "allow_rules 0: unknown field \"foo\".");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'quoting',"
            "  'source': {'principal': ['spiffe://example.org/quoting']}}]}",
            "allow_rules 0: unknown field \"principal\".");
  /* [T] EmptyAuditLoggingOptions: a field gRPC knows is not unknown */
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy'}],"
                            " 'audit_logging_options': {}}");
  ps_policy_free(p);
}

/* Stricter than gRPC, which keeps the later of two rules of one name (its rules are a map by name):
 * refused, naming both. The same name in the deny and the allow list is two lists, as in gRPC. */
static void test_duplicate_rule_names_refused(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'web'}, {'name': 'ops'},"
            "  {'name': 'web', 'request': {'paths': ['/x']}}]}",
            "allow_rules 2: a rule named \"web\" comes earlier in the list.");
  PARSE_ERR("{'name': 'authz', 'deny_rules': [{'name': 'd'}, {'name': 'd'}], 'allow_rules': []}",
            "deny_rules 1: a rule named \"d\" comes earlier in the list.");
  ps_policy_t *p =
      PARSE_OK("{'name': 'authz', 'deny_rules': [{'name': 'same',"
               "  'request': {'paths': ['/deny']}}], 'allow_rules': [{'name': 'same'}]}");
  DENIES(p, "/deny", &ANON, NULL, 0, "same");
  ALLOWS(p, "/other", &ANON, NULL, 0, "same");
  ps_policy_free(p);
}

/* A policy that failed halfway through frees what it had built (run under ASan to see it). */
static void test_errors_late_in_the_policy_leak_nothing(void **state) {
  (void)state;
  PARSE_ERR("{'name': 'authz',"
            " 'deny_rules': [{'name': 'd1', 'source': {'principals': ['a', 'b*']},"
            "   'request': {'paths': ['/p*'], 'headers': [{'key': 'k', 'values': ['x', '*y']}]}}],"
            " 'allow_rules': [{'name': 'a1', 'source': {'principals': ['*']},"
            "   'request': {'paths': ['/q'], 'headers': [{'key': 'k', 'values': ['v']},"
            "                                            {'key': 'host', 'values': ['h']}]}}]}",
            "allow_rules 0: \"headers\" 1: Unsupported \"key\" host.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'a', 'source': {'principals': ['p']},"
            "  'request': {'paths': ['/a', '/b', 3]}}]}",
            "allow_rules 0: \"paths\" 2: is not a string.");
  PARSE_ERR("{'name': 'authz', 'allow_rules': [{'name': 'a',"
            "  'request': {'headers': [{'key': 'k', 'values': ['a', 'b', 'c', {}]}]}}]}",
            "allow_rules 0: \"headers\" 0: \"values\" 3: is not a string.");
  ps_policy_free(NULL); /* accepted */
}

/* ------------------------------------------------------------------ what a policy allows */

/* [T] MissingDenyRules, MissingSourceAndRequest, EmptySourceAndRequest: a rule without source or
 * request, or with empty ones, matches every call, authenticated or not */
static void test_rule_without_source_or_request_matches_everything(void **state) {
  (void)state;
  const char *const uris[] = {"spiffe://foo.abc"};
  const ps_peer_t peer = {1, uris, 1, NULL, 0, "CN=foo"};
  const ps_policy_header_t h[] = {HDR("key-foo", "foo")};
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy'}]}");
  assert_string_equal(ps_policy_name(p), "authz");
  ALLOWS(p, ECHO, &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "", &peer, h, NHDR(h), "allow_policy");
  ps_policy_free(p);
  p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy', 'source': {},"
               " 'request': {}}]}");
  ALLOWS(p, ECHO, &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, GET, &peer, h, NHDR(h), "allow_policy");
  ps_policy_free(p);
}

/* Empty lists match everything: gRPC's translator adds no condition for an empty principals,
 * paths or headers list ([T] ParsePeer/ParseRequest behaviour behind EmptySourceAndRequest). */
static void test_empty_lists_match_everything(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'open',"
                            "  'source': {'principals': []},"
                            "  'request': {'paths': [], 'headers': []}}]}");
  ALLOWS(p, ECHO, &ANON, NULL, 0, "open");
  ALLOWS(p, GET, &UNVERIFIED, NULL, 0, "open");
  ps_policy_free(p);
}

/* An empty allow_rules list is read as gRPC 1.51 reads it: no allow rule, so every call is denied
 * by default (later gRPC refuses the policy instead, [T] EmptyRuleArray). */
static void test_empty_allow_rules_deny_everything(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': []}");
  DENIES(p, ECHO, &ANON, NULL, 0, NULL);
  DENIES(p, GET, &NO_IDENTITY, NULL, 0, NULL);
  ps_policy_free(p);
}

/* [T] ParseRequestPathsSuccess + [S] ExactMatchCaseSensitive, PrefixMatchCaseSensitive,
 * SuffixMatchCaseSensitive: "x" exact, "x*" prefix, "*x" suffix, "*" anything; case-sensitive */
static void test_path_matchers(void **state) {
  (void)state;
  ps_policy_t *p =
      PARSE_OK("{'name': 'authz',"
               " 'allow_rules': [{'name': 'allow_policy', 'request': {'paths': ['*']}}],"
               " 'deny_rules': [{'name': 'deny_policy',"
               "   'request': {'paths': ['path-foo', 'path-bar*', '*baz']}}]}");
  DENIES(p, "path-foo", &ANON, NULL, 0, "deny_policy");
  DENIES(p, "path-bar", &ANON, NULL, 0, "deny_policy");
  DENIES(p, "path-bar-anything", &ANON, NULL, 0, "deny_policy");
  DENIES(p, "baz", &ANON, NULL, 0, "deny_policy");
  DENIES(p, "/x/y/baz", &ANON, NULL, 0, "deny_policy");
  /* exact is exact; prefix and suffix are anchored; case counts */
  ALLOWS(p, "path-foo2", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "xpath-foo", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "Path-foo", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "xx-path-bar", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "Path-bar", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "path-ba", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "baz-x", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "/x/BAZ", &ANON, NULL, 0, "allow_policy");
  ALLOWS(p, "az", &ANON, NULL, 0, "allow_policy");
  /* "*" matches any path, the empty one included */
  ALLOWS(p, "", &ANON, NULL, 0, "allow_policy");
  ps_policy_free(p);
}

/* [T] ParseSourceSuccess: a "*" inside a value is a literal character, not a wildcard */
static void test_star_inside_a_value_is_literal(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy',"
                            "  'request': {'paths': ['/a*b']}, "
                            "  'source': {'principals': ['spiffe://abc.*.com']}}]}");
  const char *const lit[] = {"spiffe://abc.*.com"}, *const other[] = {"spiffe://abc.x.com"};
  const ps_peer_t lit_peer = {1, lit, 1, NULL, 0, ""}, other_peer = {1, other, 1, NULL, 0, ""};
  DENIES(p, "/a*b", &other_peer, NULL, 0, NULL);
  ALLOWS(p, "/a*b", &lit_peer, NULL, 0, "allow_policy");
  DENIES(p, "/axb", &lit_peer, NULL, 0, NULL);
  DENIES(p, "/a*bc", &lit_peer, NULL, 0, NULL);
  ps_policy_free(p);
}

/* [X] StaticInitDeniesRpcRequestMatchInDenyMatchInAllow, ...MatchInDenyNoMatchInAllow,
 * ...NoMatchInAllowAndDeny, ...AllowsRpcRequestNoMatchInDenyMatchInAllow; [E]
 * AllowEngineWithNoMatchingPolicy, DenyEngineWithMatchingPolicy: deny rules come first, then
 * allow rules, then the default deny (no rule named) */
static void test_deny_rules_before_allow_rules_then_default_deny(void **state) {
  (void)state;
  ps_policy_t *p =
      PARSE_OK("{'name': 'authz',"
               " 'allow_rules': [{'name': 'allow_all'}],"
               " 'deny_rules': [{'name': 'deny_echo', 'request': {'paths': ['*/Echo']}}]}");
  DENIES(p, ECHO, &ANON, NULL, 0, "deny_echo");
  ALLOWS(p, CSECHO, &ANON, NULL, 0, "allow_all");
  ps_policy_free(p);

  p = PARSE_OK("{'name': 'authz',"
               " 'allow_rules': [{'name': 'allow_clientstreamingecho',"
               "   'request': {'paths': ['*/ClientStreamingEcho']}}],"
               " 'deny_rules': [{'name': 'deny_echo', 'request': {'paths': ['*/Echo']}}]}");
  DENIES(p, ECHO, &ANON, NULL, 0, "deny_echo");
  ALLOWS(p, CSECHO, &ANON, NULL, 0, "allow_clientstreamingecho");
  DENIES(p, "/grpc.testing.EchoTestService/BidiStream", &ANON, NULL, 0, NULL);
  ps_policy_free(p);

  const char *const bar[] = {"bar"};
  const ps_peer_t bar_peer = {1, bar, 1, NULL, 0, ""};
  p = PARSE_OK("{'name': 'authz',"
               " 'allow_rules': [{'name': 'allow_foo', 'request': {'paths': ['*/foo']}}],"
               " 'deny_rules': [{'name': 'deny_bar', 'source': {'principals': ['bar']}}]}");
  DENIES(p, ECHO, &ANON, NULL, 0, NULL);
  ALLOWS(p, "/svc/foo", &ANON, NULL, 0, "allow_foo");
  DENIES(p, "/svc/foo", &bar_peer, NULL, 0, "deny_bar");
  ps_policy_free(p);
}

/* [E] AllowEngineWithMatchingPolicy: the first rule does not match, a later one does and is named;
 * [T] ParseRulesArraySuccess: each rule keeps its own source and request */
static void test_rules_are_tried_in_turn(void **state) {
  (void)state;
  const char *const foo[] = {"spiffe://foo.abc"};
  const ps_peer_t foo_peer = {1, foo, 1, NULL, 0, ""};
  ps_policy_t *p =
      PARSE_OK("{'name': 'authz', 'allow_rules': ["
               "  {'name': 'allow_policy_1', 'source': {'principals': ['spiffe://foo.abc']},"
               "   'request': {'paths': ['foo']}},"
               "  {'name': 'allow_policy_2', 'request': {'paths': ['bar']}}]}");
  ALLOWS(p, "foo", &foo_peer, NULL, 0, "allow_policy_1");
  DENIES(p, "foo", &ANON, NULL, 0, NULL); /* rule 1 wants the principal, rule 2 another path */
  ALLOWS(p, "bar", &ANON, NULL, 0, "allow_policy_2");
  ALLOWS(p, "bar", &foo_peer, NULL, 0, "allow_policy_2");
  DENIES(p, "baz", &foo_peer, NULL, 0, NULL);
  ps_policy_free(p);
  /* when several match, the first in the file decides (and names itself) */
  p = PARSE_OK("{'name': 'authz', 'deny_rules': [{'name': 'd1', 'request': {'paths': ['/x*']}},"
               "  {'name': 'd2', 'request': {'paths': ['*']}}],"
               " 'allow_rules': [{'name': 'a1'}]}");
  DENIES(p, "/xy", &ANON, NULL, 0, "d1");
  DENIES(p, "/y", &ANON, NULL, 0, "d2");
  ps_policy_free(p);
}

/* [X] StaticInitAllowsRpcRequestEmptyDenyMatchInAllow,
 * StaticInitDeniesRpcRequestEmptyDenyNoMatchInAllow; [M] AndAuthorizationMatcherFailedMatch,
 * HybridAuthorizationMatcherFailedMatch: every header of a rule must match (any of its values),
 * other request headers do not matter; [T] ParseRequestHeadersSuccess: "*", exact, "prefix*" and
 * "*suffix" values */
static void test_all_headers_of_a_rule_must_match(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'allow_echo',"
                            "  'request': {'paths': ['*'], 'headers': ["
                            "    {'key': 'key-foo', 'values': ['foo1', 'foo2']},"
                            "    {'key': 'key-bar', 'values': ['bar1']}]}}]}");
  const ps_policy_header_t all[] = {HDR("key-foo", "foo2"), HDR("key-bar", "bar1"),
                                    HDR("key-baz", "baz1")};
  ALLOWS(p, ECHO, &ANON, all, NHDR(all), "allow_echo");
  const ps_policy_header_t no_bar[] = {HDR("key-foo", "foo1")};
  DENIES(p, ECHO, &ANON, no_bar, NHDR(no_bar), NULL);
  const ps_policy_header_t only_bar[] = {HDR("key-bar", "bar1")};
  DENIES(p, ECHO, &ANON, only_bar, NHDR(only_bar), NULL);
  const ps_policy_header_t wrong_foo[] = {HDR("key-foo", "foo3"), HDR("key-bar", "bar1")};
  DENIES(p, ECHO, &ANON, wrong_foo, NHDR(wrong_foo), NULL);
  DENIES(p, ECHO, &ANON, NULL, 0, NULL);
  ps_policy_free(p);

  p = PARSE_OK(
      "{'name': 'authz', 'allow_rules': [{'name': 'allow_policy',"
      "  'request': {'headers': [{'key': 'key-1', 'values': ['*']},"
      "                          {'key': 'key-2', 'values': ['foo', 'bar*', '*baz']}]}}]}");
  const ps_policy_header_t exact[] = {HDR("key-1", "anything"), HDR("key-2", "foo")};
  ALLOWS(p, ECHO, &ANON, exact, NHDR(exact), "allow_policy");
  const ps_policy_header_t prefix[] = {HDR("key-2", "bar-x"), HDR("key-1", "")};
  ALLOWS(p, ECHO, &ANON, prefix, NHDR(prefix), "allow_policy");
  const ps_policy_header_t suffix[] = {HDR("key-1", "1"), HDR("key-2", "x-baz")};
  ALLOWS(p, ECHO, &ANON, suffix, NHDR(suffix), "allow_policy");
  const ps_policy_header_t miss[] = {HDR("key-1", "1"), HDR("key-2", "foox")};
  DENIES(p, ECHO, &ANON, miss, NHDR(miss), NULL);
  const ps_policy_header_t no_key1[] = {HDR("key-2", "foo")};
  DENIES(p, ECHO, &ANON, no_key1, NHDR(no_key1), NULL);
  ps_policy_free(p);
}

/* [M] HeaderAuthorizationMatcherSuccessfulMatch, HeaderAuthorizationMatcherFailedMatch,
 * HeaderAuthorizationMatcherFailedMatchMissingHeader,
 * HeaderAuthorizationMatcherFailedMatchMultivaluedHeader: a missing header matches nothing, not
 * even "*"; repeated values are joined with "," first */
static void test_header_values_are_joined_with_commas(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK(
      "{'name': 'authz', 'allow_rules': ["
      "  {'name': 'foo', 'request': {'headers': [{'key': 'key123', 'values': ['foo']}]}},"
      "  {'name': 'joined', 'request': {'headers': [{'key': 'key123', 'values': ['foo,bar']}]}},"
      "  {'name': 'pre', 'request': {'headers': [{'key': 'key456', 'values': ['foo*']}]}},"
      "  {'name': 'suf', 'request': {'headers': [{'key': 'key789', 'values': ['*bar']}]}},"
      "  {'name': 'any', 'request': {'headers': [{'key': 'key0', 'values': ['*']}]}}]}");
  const ps_policy_header_t one[] = {HDR("key123", "foo")};
  ALLOWS(p, ECHO, &ANON, one, NHDR(one), "foo");
  const ps_policy_header_t not_bar[] = {HDR("key123", "bar")};
  DENIES(p, ECHO, &ANON, not_bar, NHDR(not_bar), NULL);
  const ps_policy_header_t two[] = {HDR("key123", "foo"), HDR("other", "x"), HDR("key123", "bar")};
  ALLOWS(p, ECHO, &ANON, two, NHDR(two), "joined");
  const ps_policy_header_t two_rev[] = {HDR("key123", "bar"), HDR("key123", "foo")};
  DENIES(p, ECHO, &ANON, two_rev, NHDR(two_rev), NULL); /* "bar,foo" */
  const ps_policy_header_t pre[] = {HDR("key456", "foo_xxx")};
  ALLOWS(p, ECHO, &ANON, pre, NHDR(pre), "pre");
  const ps_policy_header_t pre2[] = {HDR("key456", "fo"), HDR("key456", "o")};
  DENIES(p, ECHO, &ANON, pre2, NHDR(pre2), NULL); /* "fo,o" */
  const ps_policy_header_t suf[] = {HDR("key789", "x"), HDR("key789", "bar")};
  ALLOWS(p, ECHO, &ANON, suf, NHDR(suf), "suf"); /* "x,bar" */
  const ps_policy_header_t suf2[] = {HDR("key789", "bar"), HDR("key789", "")};
  DENIES(p, ECHO, &ANON, suf2, NHDR(suf2), NULL); /* "bar," */
  const ps_policy_header_t empty[] = {HDR("key0", "")};
  ALLOWS(p, ECHO, &ANON, empty, NHDR(empty), "any"); /* present, though empty */
  const ps_policy_header_t none[] = {HDR("key-other", "foo")};
  DENIES(p, ECHO, &ANON, none, NHDR(none), NULL);
  ps_policy_free(p);
}

/* A header value longer than any buffer is matched whole: "*suffix" looks at its real end, and an
 * exact value does not match a longer one that merely starts with it (gRPC matches the whole joined
 * value; the server accepts 16 KiB of metadata). */
static void test_long_header_values_are_matched_whole(void **state) {
  (void)state;
  enum { LEN = 20000 };
  char *v = malloc(LEN);
  assert_non_null(v);
  memset(v, 'a', LEN);
  ps_policy_t *p = PARSE_OK(
      "{'name': 'authz', 'allow_rules': ["
      "  {'name': 'suf', 'request': {'headers': [{'key': 'x-env', 'values': ['*prod']}]}}]}");
  /* ends with "prod" far past 8 KiB */
  memcpy(v + LEN - 4, "prod", 4);
  ps_policy_header_t h[2] = {{"x-env", 5, v, LEN}};
  ALLOWS(p, ECHO, &ANON, h, 1, "suf");
  /* "prod" at 8 KiB but not at the end */
  memcpy(v + LEN - 4, "aaaa", 4);
  memcpy(v + 8188, "prod", 4);
  DENIES(p, ECHO, &ANON, h, 1, NULL);
  memcpy(v + 8188, "aaaa", 4);
  /* two long values joined: the end is the second one's end */
  memcpy(v + 9996, "prod", 4);
  h[0].value_len = 10000;
  h[1] = (ps_policy_header_t){"x-env", 5, v, 10000};
  ALLOWS(p, ECHO, &ANON, h, 2, "suf");
  memcpy(v + 9996, "aaaa", 4);
  DENIES(p, ECHO, &ANON, h, 2, NULL);
  ps_policy_free(p);

  /* an exact value of 8192 bytes does not match a longer header that starts with it */
  char text[8192 + 200];
  int n = snprintf(text, sizeof text,
                   "{'name': 'authz', 'allow_rules': [{'name': 'exact',"
                   " 'request': {'headers': [{'key': 'x-env', 'values': ['");
  memset(text + n, 'a', 8192);
  snprintf(text + n + 8192, sizeof text - (size_t)n - 8192, "']}]}}]}");
  p = PARSE_OK(text);
  h[0].value_len = 8192;
  ALLOWS(p, ECHO, &ANON, h, 1, "exact");
  h[0].value_len = 8193;
  DENIES(p, ECHO, &ANON, h, 1, NULL);
  ps_policy_free(p);
  free(v);
}

/* [M] AuthenticatedMatcherSuccessfulUriSanMatches, ...FailedUriSanMatches,
 * ...SuccessfulDnsSanMatches, ...FailedDnsSanMatches, ...SuccessfulSubjectMatches,
 * ...FailedSubjectMatches, ...FailedNothingMatches: principals are matched against every URI SAN,
 * then every DNS SAN, then the subject */
static void test_principals_match_uri_then_dns_sans_then_subject(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': ["
                            "  {'name': 'uri', 'source': {'principals': ['spiffe://foo.abc']}},"
                            "  {'name': 'dns', 'source': {'principals': ['bar.test.domain.com']}},"
                            "  {'name': 'subject', 'source': {'principals': ['CN=abc,OU=Google']}},"
                            "  {'name': 'foo', 'source': {'principals': ['foo']}}]}");
  const char *const uris[] = {"https://foo.domain.com", "spiffe://foo.abc"};
  const ps_peer_t uri = {1, uris, 2, NULL, 0, ""};
  ALLOWS(p, ECHO, &uri, NULL, 0, "uri");
  const char *const bar_uri[] = {"spiffe://bar.abc"};
  const ps_peer_t wrong_uri = {1, bar_uri, 1, NULL, 0, ""};
  DENIES(p, ECHO, &wrong_uri, NULL, 0, NULL);
  const char *const dns[] = {"foo.test.domain.com", "bar.test.domain.com"};
  const ps_peer_t dns_peer = {1, bar_uri, 1, dns, 2, ""};
  ALLOWS(p, ECHO, &dns_peer, NULL, 0, "dns");
  const ps_peer_t wrong_dns = {1, NULL, 0, dns, 1, ""};
  DENIES(p, ECHO, &wrong_dns, NULL, 0, NULL);
  const ps_peer_t subject = {1, NULL, 0, NULL, 0, "CN=abc,OU=Google"};
  ALLOWS(p, ECHO, &subject, NULL, 0, "subject");
  const ps_peer_t wrong_subject = {1, NULL, 0, NULL, 0, "CN=def,OU=Google"};
  DENIES(p, ECHO, &wrong_subject, NULL, 0, NULL);
  const ps_peer_t null_subject = {1, NULL, 0, NULL, 0, NULL};
  DENIES(p, ECHO, &null_subject, NULL, 0, NULL);
  DENIES(p, ECHO, &NO_IDENTITY, NULL, 0, NULL);
  /* the identity can be any of them: a URI SAN that matches another rule's DNS name counts */
  const char *const dns_as_uri[] = {"bar.test.domain.com"};
  const ps_peer_t odd = {1, dns_as_uri, 1, NULL, 0, ""};
  ALLOWS(p, ECHO, &odd, NULL, 0, "dns");
  ps_policy_free(p);

  /* [T] ParseSourceSuccess: exact, prefix, suffix principals */
  p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'allow_policy', 'source': {'principals':"
               "  ['spiffe://foo.abc', 'spiffe://bar*', '*baz']}}]}");
  const char *const pre[] = {"spiffe://bar.example/sa/x"}, *const suf[] = {"spiffe://x/baz"},
                    *const none[] = {"spiffe://foo.abcd"};
  const ps_peer_t pre_peer = {1, pre, 1, NULL, 0, ""}, suf_peer = {1, suf, 1, NULL, 0, ""},
                  none_peer = {1, none, 1, NULL, 0, "CN=bazx"};
  ALLOWS(p, ECHO, &pre_peer, NULL, 0, "allow_policy");
  ALLOWS(p, ECHO, &suf_peer, NULL, 0, "allow_policy");
  DENIES(p, ECHO, &none_peer, NULL, 0, NULL);
  ps_policy_free(p);
}

/* [M] AuthenticatedMatcherUnAuthenticatedConnection; [X]
 * StaticInitDeniesRpcRequestWithPrincipalsFieldOnUnauthenticatedConnection,
 * StaticInitAllowsRpcRequestWithPrincipalsFieldOnAuthenticatedConnection. Stricter than gRPC
 * ([M] AuthenticatedMatcherAuthenticatedConnectionMatcherUnset,
 * AuthenticatedMatcherWithoutClientCertMatchesSuccessfullyOnEmptyPrincipal let "*" and "" match a
 * TLS connection without a client certificate): a principal, even "*", only matches a caller whose
 * certificate was verified, whatever SANs the caller is said to have. */
static void test_principals_only_match_authenticated_callers(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK("{'name': 'authz', 'allow_rules': [{'name': 'allow_mtls',"
                            "  'source': {'principals': ['*']}}]}");
  DENIES(p, ECHO, &ANON, NULL, 0, NULL);
  DENIES(p, ECHO, &UNVERIFIED, NULL, 0, NULL);
  DENIES(p, ECHO, NULL, NULL, 0, NULL);
  ALLOWS(p, ECHO, &NO_IDENTITY, NULL, 0, "allow_mtls");
  const char *const uris[] = {"spiffe://foo.abc"};
  const ps_peer_t verified = {1, uris, 1, NULL, 0, "CN=abc,OU=Google"};
  ALLOWS(p, ECHO, &verified, NULL, 0, "allow_mtls");
  ps_policy_free(p);

  p = PARSE_OK(
      "{'name': 'authz', 'allow_rules': [{'name': 'empty', 'source': {'principals': ['']}},"
      "  {'name': 'foo', 'source': {'principals': ['spiffe://foo.abc', 'CN=abc*']}}]}");
  DENIES(p, ECHO, &ANON, NULL, 0, NULL);
  DENIES(p, ECHO, &UNVERIFIED, NULL, 0, NULL);
  ALLOWS(p, ECHO, &verified, NULL, 0, "foo");
  ALLOWS(p, ECHO, &NO_IDENTITY, NULL, 0, "empty"); /* its subject is "" */
  ps_policy_free(p);

  /* deny rules with principals do not catch unauthenticated callers either: the allow rules decide
   */
  p = PARSE_OK(
      "{'name': 'authz', 'deny_rules': [{'name': 'no_one', 'source': {'principals': ['*']}}],"
      " 'allow_rules': [{'name': 'all'}]}");
  ALLOWS(p, ECHO, &ANON, NULL, 0, "all");
  DENIES(p, ECHO, &verified, NULL, 0, "no_one");
  ps_policy_free(p);
}

/* A policy in the shape the chart ships: services by SPIFFE id, methods by prefix. */
static void test_a_per_method_policy(void **state) {
  (void)state;
  ps_policy_t *p = PARSE_OK(
      "{'name': 'prospects',"
      " 'deny_rules': [{'name': 'no_apps_from_web',"
      "   'source': {'principals': ['spiffe://example.org/ns/prod/sa/web']},"
      "   'request': {'paths': ['*TenantApps']}}],"
      " 'allow_rules': ["
      "  {'name': 'health', 'request': {'paths': ['/grpc.health.v1.Health/*']}},"
      "  {'name': 'quoting', 'source': {'principals': ['spiffe://example.org/ns/prod/sa/quoting']},"
      "   'request': {'paths': ['/prospects.v1.ProspectService/Get*',"
      "                         '/prospects.v1.ProspectService/CreateProspect']}},"
      "  {'name': 'web', 'source': {'principals': ['spiffe://example.org/ns/prod/sa/web']},"
      "   'request': {'paths': ['/prospects.v1.ProspectService/*']}}]}");
  assert_string_equal(ps_policy_name(p), "prospects");
  const char *const q[] = {"spiffe://example.org/ns/prod/sa/quoting"},
                    *const w[] = {"spiffe://example.org/ns/prod/sa/web"};
  const ps_peer_t quoting = {1, q, 1, NULL, 0, "CN=quoting"}, web = {1, w, 1, NULL, 0, "CN=web"};
  ALLOWS(p, "/grpc.health.v1.Health/Check", &ANON, NULL, 0, "health");
  DENIES(p, GET, &ANON, NULL, 0, NULL);
  ALLOWS(p, GET, &quoting, NULL, 0, "quoting");
  ALLOWS(p, "/prospects.v1.ProspectService/GetTenantApps", &quoting, NULL, 0, "quoting");
  DENIES(p, "/prospects.v1.ProspectService/DeleteProspect", &quoting, NULL, 0, NULL);
  ALLOWS(p, "/prospects.v1.ProspectService/DeleteProspect", &web, NULL, 0, "web");
  DENIES(p, "/prospects.v1.ProspectService/UpdateTenantApps", &web, NULL, 0, "no_apps_from_web");
  DENIES(p, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", &web, NULL, 0, NULL);
  ps_policy_free(p);
}

/* ------------------------------------------------------------------ identity */

/* The identity recorded for a caller: SPIFFE URI SAN, else first DNS SAN, else subject; "" when the
 * caller has no verified certificate. */
static void test_peer_identity(void **state) {
  (void)state;
  assert_string_equal(ps_peer_identity(NULL), "");
  assert_string_equal(ps_peer_identity(&ANON), "");
  assert_string_equal(ps_peer_identity(&UNVERIFIED), ""); /* SANs of an unverified caller: none */
  const char *const uris[] = {"https://foo.domain.com", "spiffe://example.org/sa/web",
                              "spiffe://example.org/sa/second"};
  const char *const dns[] = {"web.example.org", "web2.example.org"};
  const ps_peer_t all = {1, uris, 3, dns, 2, "CN=web"};
  assert_string_equal(ps_peer_identity(&all), "spiffe://example.org/sa/web");
  const ps_peer_t no_spiffe = {1, uris, 1, dns, 2, "CN=web"};
  assert_string_equal(ps_peer_identity(&no_spiffe), "web.example.org");
  const ps_peer_t dns_only = {1, NULL, 0, dns + 1, 1, "CN=web"};
  assert_string_equal(ps_peer_identity(&dns_only), "web2.example.org");
  const ps_peer_t subject = {1, uris, 1, NULL, 0, "CN=web,O=Example"};
  assert_string_equal(ps_peer_identity(&subject), "CN=web,O=Example");
  const ps_peer_t nothing = {1, NULL, 0, NULL, 0, NULL};
  assert_string_equal(ps_peer_identity(&nothing), "");
  /* borrowed from the peer, not copied */
  assert_ptr_equal(ps_peer_identity(&all), uris[1]);
  /* "spiffe:" must be the scheme, not a prefix of something else */
  const char *const fake[] = {"spiffe:/example.org/sa/web", "SPIFFE://upper"};
  const ps_peer_t fake_peer = {1, fake, 2, NULL, 0, "CN=fake"};
  assert_string_equal(ps_peer_identity(&fake_peer), "CN=fake");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_invalid_json),
      cmocka_unit_test(test_policy_name_missing_or_not_a_string),
      cmocka_unit_test(test_rule_lists_missing_or_not_arrays),
      cmocka_unit_test(test_rule_shape_errors_name_the_rule),
      cmocka_unit_test(test_source_errors),
      cmocka_unit_test(test_request_errors),
      cmocka_unit_test(test_header_errors_name_the_header),
      cmocka_unit_test(test_unsupported_header_keys),
      cmocka_unit_test(test_unknown_fields_refused),
      cmocka_unit_test(test_duplicate_rule_names_refused),
      cmocka_unit_test(test_errors_late_in_the_policy_leak_nothing),
      cmocka_unit_test(test_rule_without_source_or_request_matches_everything),
      cmocka_unit_test(test_empty_lists_match_everything),
      cmocka_unit_test(test_empty_allow_rules_deny_everything),
      cmocka_unit_test(test_path_matchers),
      cmocka_unit_test(test_star_inside_a_value_is_literal),
      cmocka_unit_test(test_deny_rules_before_allow_rules_then_default_deny),
      cmocka_unit_test(test_rules_are_tried_in_turn),
      cmocka_unit_test(test_all_headers_of_a_rule_must_match),
      cmocka_unit_test(test_header_values_are_joined_with_commas),
      cmocka_unit_test(test_long_header_values_are_matched_whole),
      cmocka_unit_test(test_principals_match_uri_then_dns_sans_then_subject),
      cmocka_unit_test(test_principals_only_match_authenticated_callers),
      cmocka_unit_test(test_a_per_method_policy),
      cmocka_unit_test(test_peer_identity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
