#include "auth/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h" /* client/cli/json.h: the project's one JSON reader */

typedef enum { M_EXACT, M_PREFIX, M_SUFFIX } mtype_t;

/* One string matcher: "x" exact, "x*" prefix, "*x" suffix, "*" prefix "" (anything). */
typedef struct matcher {
  mtype_t type;
  char *s;
  size_t n;
} matcher_t;

typedef struct header_rule {
  char *key;
  matcher_t *values; /* any of them */
  size_t n_values;
} header_rule_t;

typedef struct rule {
  char *name;
  matcher_t *principals; /* any of them; none: any caller, authenticated or not */
  size_t n_principals;
  matcher_t *paths;      /* any of them; none: any path */
  size_t n_paths;
  header_rule_t *headers; /* all of them */
  size_t n_headers;
} rule_t;

typedef struct rules {
  rule_t *v;
  size_t n;
} rules_t;

struct ps_policy {
  char *name;
  rules_t deny, allow;
};

/* ------------------------------------------------------------------ matching */

static int match(const matcher_t *m, const char *s, size_t n) {
  switch (m->type) {
  case M_EXACT: return n == m->n && memcmp(s, m->s, n) == 0;
  case M_PREFIX: return n >= m->n && memcmp(s, m->s, m->n) == 0;
  case M_SUFFIX: return n >= m->n && memcmp(s + n - m->n, m->s, m->n) == 0;
  }
  return 0;
}

static int match_any(const matcher_t *ms, size_t n_ms, const char *s, size_t n) {
  for (size_t i = 0; i < n_ms; i++)
    if (match(&ms[i], s, n)) return 1;
  return 0;
}

static int principal_matches(const rule_t *r, const ps_peer_t *peer) {
  if (r->n_principals == 0) return 1;
  if (!peer || !peer->authenticated) return 0;
  for (size_t i = 0; i < peer->n_uri_sans; i++)
    if (match_any(r->principals, r->n_principals, peer->uri_sans[i], strlen(peer->uri_sans[i])))
      return 1;
  for (size_t i = 0; i < peer->n_dns_sans; i++)
    if (match_any(r->principals, r->n_principals, peer->dns_sans[i], strlen(peer->dns_sans[i])))
      return 1;
  const char *subject = peer->subject ? peer->subject : "";
  return match_any(r->principals, r->n_principals, subject, strlen(subject));
}

/* The header's values joined with "," (as gRPC does), as much of it as fits into buf; the whole
 * length (more than bufsz when it did not fit), or (size_t)-1 when the request has no such
 * header. */
static size_t header_value(const ps_policy_request_t *req, const char *key, char *buf, size_t bufsz) {
  size_t len = 0;
  int found = 0;
  for (size_t i = 0; i < req->n_headers; i++) {
    const ps_policy_header_t *h = &req->headers[i];
    if (h->key_len != strlen(key) || strncasecmp(h->key, key, h->key_len) != 0) continue;
    if (found) {
      if (len < bufsz) buf[len] = ',';
      len++;
    }
    if (len < bufsz)
      memcpy(buf + len, h->value, h->value_len < bufsz - len ? h->value_len : bufsz - len);
    len += h->value_len;
    found = 1;
  }
  return found ? len : (size_t)-1;
}

static int request_matches(const rule_t *r, const ps_policy_request_t *req) {
  if (r->n_paths && !match_any(r->paths, r->n_paths, req->path, req->path_len)) return 0;
  for (size_t i = 0; i < r->n_headers; i++) {
    char stack[8192], *buf = stack;
    size_t n = header_value(req, r->headers[i].key, stack, sizeof stack);
    if (n == (size_t)-1) return 0;
    if (n > sizeof stack) {
      /* matched whole all the same ("*suffix" must see the real end); out of memory, the rule does
       * not match (a deny rule on a header is no stronger anyway: the client may leave it out) */
      if (!(buf = malloc(n))) return 0;
      header_value(req, r->headers[i].key, buf, n);
    }
    int ok = match_any(r->headers[i].values, r->headers[i].n_values, buf, n);
    if (buf != stack) free(buf);
    if (!ok) return 0;
  }
  return 1;
}

static const rule_t *first_match(const rules_t *rs, const ps_policy_request_t *req) {
  for (size_t i = 0; i < rs->n; i++)
    if (principal_matches(&rs->v[i], req->peer) && request_matches(&rs->v[i], req)) return &rs->v[i];
  return NULL;
}

ps_policy_decision_t ps_policy_check(const ps_policy_t *p, const ps_policy_request_t *req,
                                     const char **ret_rule) {
  const rule_t *r = first_match(&p->deny, req);
  if (r) {
    if (ret_rule) *ret_rule = r->name;
    return PS_POLICY_DENY;
  }
  r = first_match(&p->allow, req);
  if (ret_rule) *ret_rule = r ? r->name : NULL;
  return r ? PS_POLICY_ALLOW : PS_POLICY_DENY;
}

const char *ps_peer_identity(const ps_peer_t *peer) {
  if (!peer || !peer->authenticated) return "";
  for (size_t i = 0; i < peer->n_uri_sans; i++)
    if (strncmp(peer->uri_sans[i], "spiffe://", 9) == 0) return peer->uri_sans[i];
  if (peer->n_dns_sans) return peer->dns_sans[0];
  return peer->subject ? peer->subject : "";
}

const char *ps_policy_name(const ps_policy_t *p) { return p->name; }

/* ------------------------------------------------------------------ parsing */

static void free_matchers(matcher_t *ms, size_t n) {
  for (size_t i = 0; i < n; i++) free(ms[i].s);
  free(ms);
}

static void free_rules(rules_t *rs) {
  for (size_t i = 0; i < rs->n; i++) {
    rule_t *r = &rs->v[i];
    free(r->name);
    free_matchers(r->principals, r->n_principals);
    free_matchers(r->paths, r->n_paths);
    for (size_t h = 0; h < r->n_headers; h++) {
      free(r->headers[h].key);
      free_matchers(r->headers[h].values, r->headers[h].n_values);
    }
    free(r->headers);
  }
  free(rs->v);
}

void ps_policy_free(ps_policy_t *p) {
  if (!p) return;
  free(p->name);
  free_rules(&p->deny);
  free_rules(&p->allow);
  free(p);
}

/* Parsing state: where the error message goes and the context prefix ("allow_rules 2: "). */
typedef struct parser {
  char *err;
  size_t errsz;
  char where[96];
} parser_t;

static int fail(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser_t *ps, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(ps->err, ps->errsz, "%s%s", ps->where, msg);
  return -1;
}

/* Refuses keys of o other than those listed (NULL-terminated). */
static int only_keys(parser_t *ps, const json_t *o, const char *const *allowed) {
  for (size_t i = 0; i < o->n; i++) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++) ok |= strcmp(o->keys[i], *a) == 0;
    if (!ok) return fail(ps, "unknown field \"%s\".", o->keys[i]);
  }
  return 0;
}

static int parse_matcher(parser_t *ps, const char *v, matcher_t *ret) {
  size_t n = strlen(v);
  if (strcmp(v, "*") == 0) {
    ret->type = M_PREFIX;
    ret->s = strdup("");
    ret->n = 0;
  } else if (n > 0 && v[0] == '*') {
    ret->type = M_SUFFIX;
    ret->s = strdup(v + 1);
    ret->n = n - 1;
  } else if (n > 0 && v[n - 1] == '*') {
    ret->type = M_PREFIX;
    ret->s = strndup(v, n - 1);
    ret->n = n - 1;
  } else {
    ret->type = M_EXACT;
    ret->s = strdup(v);
    ret->n = n;
  }
  return ret->s ? 0 : fail(ps, "out of memory.");
}

/* An array of strings into matchers; what names the list in messages ("paths"). */
static int parse_matchers(parser_t *ps, const json_t *a, const char *what, matcher_t **ret,
                          size_t *ret_n) {
  if (a->type != JSON_ARRAY) return fail(ps, "\"%s\" is not an array.", what);
  matcher_t *ms = calloc(a->n ? a->n : 1, sizeof *ms);
  if (!ms) return fail(ps, "out of memory.");
  for (size_t i = 0; i < a->n; i++) {
    if (a->items[i]->type != JSON_STRING || parse_matcher(ps, a->items[i]->str, &ms[i]) != 0) {
      free_matchers(ms, i);
      if (a->items[i]->type != JSON_STRING) return fail(ps, "\"%s\" %zu: is not a string.", what, i);
      return -1;
    }
  }
  *ret = ms;
  *ret_n = a->n;
  return 0;
}

static int parse_header(parser_t *ps, const json_t *h, size_t i, header_rule_t *ret) {
  if (h->type != JSON_OBJECT) return fail(ps, "\"headers\" %zu: is not an object.", i);
  static const char *const keys[] = {"key", "values", NULL};
  if (only_keys(ps, h, keys) != 0) return -1;
  const json_t *k = json_get(h, "key"), *v = json_get(h, "values");
  if (!k) return fail(ps, "\"headers\" %zu: \"key\" is not present.", i);
  if (k->type != JSON_STRING) return fail(ps, "\"headers\" %zu: \"key\" is not a string.", i);
  if (k->str[0] == ':' || strncasecmp(k->str, "grpc-", 5) == 0 || strcasecmp(k->str, "host") == 0)
    return fail(ps, "\"headers\" %zu: Unsupported \"key\" %s.", i, k->str);
  if (!v) return fail(ps, "\"headers\" %zu: \"values\" is not present.", i);
  if (v->type == JSON_ARRAY && v->n == 0)
    return fail(ps, "\"headers\" %zu: \"values\" list is empty.", i);
  size_t where_len = strlen(ps->where); /* its messages name the header too */
  snprintf(ps->where + where_len, sizeof ps->where - where_len, "\"headers\" %zu: ", i);
  int rc = parse_matchers(ps, v, "values", &ret->values, &ret->n_values);
  ps->where[where_len] = '\0';
  if (rc != 0) return -1;
  ret->key = strdup(k->str);
  return ret->key ? 0 : fail(ps, "out of memory.");
}

static int parse_rule(parser_t *ps, const json_t *o, const rules_t *seen, rule_t *r) {
  if (o->type != JSON_OBJECT) return fail(ps, "is not an object.");
  static const char *const keys[] = {"name", "source", "request", NULL};
  if (only_keys(ps, o, keys) != 0) return -1;
  const json_t *name = json_get(o, "name");
  if (!name) return fail(ps, "\"name\" is not present.");
  if (name->type != JSON_STRING) return fail(ps, "\"name\" is not a string.");
  for (size_t i = 0; i < seen->n; i++)
    if (strcmp(seen->v[i].name, name->str) == 0)
      return fail(ps, "a rule named \"%s\" comes earlier in the list.", name->str);
  if (!(r->name = strdup(name->str))) return fail(ps, "out of memory.");
  const json_t *src = json_get(o, "source");
  if (src) {
    if (src->type != JSON_OBJECT) return fail(ps, "\"source\" is not an object.");
    static const char *const skeys[] = {"principals", NULL};
    if (only_keys(ps, src, skeys) != 0) return -1;
    const json_t *pr = json_get(src, "principals");
    if (pr && parse_matchers(ps, pr, "principals", &r->principals, &r->n_principals) != 0) return -1;
  }
  const json_t *rq = json_get(o, "request");
  if (rq) {
    if (rq->type != JSON_OBJECT) return fail(ps, "\"request\" is not an object.");
    static const char *const rkeys[] = {"paths", "headers", NULL};
    if (only_keys(ps, rq, rkeys) != 0) return -1;
    const json_t *paths = json_get(rq, "paths");
    if (paths && parse_matchers(ps, paths, "paths", &r->paths, &r->n_paths) != 0) return -1;
    const json_t *hs = json_get(rq, "headers");
    if (hs) {
      if (hs->type != JSON_ARRAY) return fail(ps, "\"headers\" is not an array.");
      r->headers = calloc(hs->n ? hs->n : 1, sizeof *r->headers);
      if (!r->headers) return fail(ps, "out of memory.");
      for (size_t i = 0; i < hs->n; i++) {
        if (parse_header(ps, hs->items[i], i, &r->headers[i]) != 0) {
          r->n_headers = i + 1; /* the failed one may hold allocations too */
          return -1;
        }
      }
      r->n_headers = hs->n;
    }
  }
  return 0;
}

static int parse_rules(parser_t *ps, const json_t *a, const char *what, rules_t *ret) {
  if (a->type != JSON_ARRAY) return fail(ps, "\"%s\" is not an array.", what);
  ret->v = calloc(a->n ? a->n : 1, sizeof *ret->v);
  if (!ret->v) return fail(ps, "out of memory.");
  for (size_t i = 0; i < a->n; i++) {
    snprintf(ps->where, sizeof ps->where, "%s %zu: ", what, i);
    ret->n = i + 1; /* a half-parsed rule is freed with the others */
    rules_t seen = {ret->v, i};
    if (parse_rule(ps, a->items[i], &seen, &ret->v[i]) != 0) return -1;
  }
  ps->where[0] = '\0';
  return 0;
}

int ps_policy_parse(const char *text, size_t len, ps_policy_t **ret, char *err, size_t errsz) {
  parser_t ps = {err, errsz, ""};
  json_t *root = NULL;
  char jerr[160];
  if (json_parse(text, len, &root, jerr, sizeof jerr) != 0)
    return fail(&ps, "not valid JSON: %s", jerr);
  ps_policy_t *p = calloc(1, sizeof *p);
  int rc = -1;
  if (!p) {
    fail(&ps, "out of memory.");
    goto out;
  }
  if (root->type != JSON_OBJECT) {
    fail(&ps, "the policy is not an object.");
    goto out;
  }
  static const char *const keys[] = {"name", "deny_rules", "allow_rules", "audit_logging_options",
                                     NULL};
  if (only_keys(&ps, root, keys) != 0) goto out;
  const json_t *name = json_get(root, "name");
  if (!name) {
    fail(&ps, "\"name\" field is not present.");
    goto out;
  }
  if (name->type != JSON_STRING) {
    fail(&ps, "\"name\" is not a string.");
    goto out;
  }
  if (!(p->name = strdup(name->str))) {
    fail(&ps, "out of memory.");
    goto out;
  }
  const json_t *deny = json_get(root, "deny_rules");
  if (deny && parse_rules(&ps, deny, "deny_rules", &p->deny) != 0) goto out;
  const json_t *allow = json_get(root, "allow_rules");
  if (!allow) {
    fail(&ps, "\"allow_rules\" is not present.");
    goto out;
  }
  if (parse_rules(&ps, allow, "allow_rules", &p->allow) != 0) goto out;
  *ret = p;
  p = NULL;
  rc = 0;
out:
  ps_policy_free(p);
  json_free(root);
  return rc;
}
