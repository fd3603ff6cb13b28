/* Resource names (AIP-122). A name is checked against its pattern in two steps: first its shape
 * (literal collection segments and the number of segments), then the ids in it, so that the message
 * says what is wrong with the most basic problem first. Messages echo at most a bounded, escaped
 * prefix of the name, or of the offending segment (ps_quote). */
#include "core/names.h"

#include <string.h>

#include "core/validate.h"

#define MAX_IDS 2

int ps_tenant_valid(const char *t) {
  if (!t) return 0;
  size_t n = 0;
  for (; t[n]; n++) {
    char c = t[n];
    if (n >= PS_TENANT_MAX) return 0;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
  }
  return n >= 1 && t[0] != '-' && t[n - 1] != '-';
}

/* The segment of s starting at *pos: sets *ret_len, advances *pos past it and its '/'. Returns 0
 * when s is exhausted. *ret_more tells whether a '/' followed. */
static int next_segment(const char *s, size_t *pos, const char **ret_seg, size_t *ret_len,
                        int *ret_more) {
  if (*pos == (size_t)-1) return 0;
  const char *start = s + *pos;
  const char *slash = strchr(start, '/');
  size_t len = slash ? (size_t)(slash - start) : strlen(start);
  *ret_seg = start;
  *ret_len = len;
  *ret_more = slash != NULL;
  *pos = slash ? *pos + len + 1 : (size_t)-1;
  return 1;
}

/* ps_quote of the segment s[0..n), which is not NUL-terminated. */
static const char *quote_segment(const char *s, size_t n, char out[PS_QUOTE_SIZE]) {
  char copy[72]; /* more than ps_quote shows, so that it still marks a cut */
  if (n >= sizeof copy) n = sizeof copy - 1;
  memcpy(copy, s, n);
  copy[n] = '\0';
  return ps_quote(copy, out);
}

/* Parses name against pattern, whose segments are literals or {placeholders}; {tenant} is a tenant
 * id, any other placeholder a UUID. Ids are stored in ret_ids in pattern order. */
static int parse_name(const char *name, const char *field, const char *pattern,
                      char ret_tenant[PS_TENANT_MAX + 1], ps_id_t *const ret_ids[], int n_ids,
                      ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  if (!name || !*name) return ps_fail_field(st, field, "is required");

  /* pass 1: shape */
  size_t np = 0, pp = 0;
  const char *seg, *pseg;
  size_t len, plen;
  int more, pmore;
  while (next_segment(pattern, &pp, &pseg, &plen, &pmore)) {
    if (!next_segment(name, &np, &seg, &len, &more)) goto shape;
    if (pseg[0] == '{') {
      if (len == 0) goto shape;
    } else if (len != plen || memcmp(seg, pseg, len) != 0) {
      goto shape;
    }
  }
  if (np != (size_t)-1) goto shape; /* extra segments, or a trailing slash */

  /* pass 2: ids */
  char tenant[PS_TENANT_MAX + 1] = "";
  ps_id_t ids[MAX_IDS];
  int n = 0;
  np = pp = 0;
  while (next_segment(pattern, &pp, &pseg, &plen, &pmore)) {
    next_segment(name, &np, &seg, &len, &more);
    if (pseg[0] != '{') continue;
    if (plen == 8 && memcmp(pseg, "{tenant}", 8) == 0) {
      if (len > PS_TENANT_MAX) goto bad_tenant;
      memcpy(tenant, seg, len);
      tenant[len] = '\0';
      if (!ps_tenant_valid(tenant)) goto bad_tenant;
    } else {
      if (n >= n_ids || n >= MAX_IDS || ps_id_parse(seg, len, &ids[n]) < 0)
        return ps_fail_field(st, field, "%.*s in \"%s\" must be a UUID, got \"%s\"", (int)plen, pseg,
                             pattern, quote_segment(seg, len, q));
      n++;
    }
  }
  if (ret_tenant) memcpy(ret_tenant, tenant, sizeof tenant);
  for (int i = 0; i < n; i++)
    if (ret_ids[i]) *ret_ids[i] = ids[i];
  return 0;

shape:
  return ps_fail_field(st, field, "expected \"%s\", got \"%s\"", pattern, ps_quote(name, q));
bad_tenant:
  return ps_fail_field(st, field,
                       "{tenant} in \"%s\" must be 1-%d characters of a-z, 0-9 and '-', starting "
                       "and ending with a letter or digit, got \"%s\"",
                       pattern, PS_TENANT_MAX, quote_segment(seg, len, q));
}

int ps_name_parse_tenant(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                         ps_status_t *st) {
  return parse_name(name, field, "tenants/{tenant}", ret_tenant, NULL, 0, st);
}

int ps_name_parse_apps(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                       ps_status_t *st) {
  return parse_name(name, field, "tenants/{tenant}/apps", ret_tenant, NULL, 0, st);
}

int ps_name_parse_prospect(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                           ps_id_t *ret_prospect, ps_status_t *st) {
  ps_id_t *const ids[] = {ret_prospect};
  return parse_name(name, field, "tenants/{tenant}/prospects/{prospect}", ret_tenant, ids, 1, st);
}

int ps_name_parse_contact_person(const char *name, const char *field,
                                 char ret_tenant[PS_TENANT_MAX + 1], ps_id_t *ret_prospect,
                                 ps_id_t *ret_contact_person, ps_status_t *st) {
  ps_id_t *const ids[] = {ret_prospect, ret_contact_person};
  return parse_name(name, field,
                    "tenants/{tenant}/prospects/{prospect}/contactPersons/{contact_person}",
                    ret_tenant, ids, 2, st);
}

int ps_name_parse_document(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                           ps_id_t *ret_prospect, ps_id_t *ret_document, ps_status_t *st) {
  ps_id_t *const ids[] = {ret_prospect, ret_document};
  return parse_name(name, field, "tenants/{tenant}/prospects/{prospect}/documents/{document}",
                    ret_tenant, ids, 2, st);
}

int ps_name_parse_merge(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                        ps_id_t *ret_merge, ps_status_t *st) {
  ps_id_t *const ids[] = {ret_merge};
  return parse_name(name, field, "tenants/{tenant}/merges/{merge}", ret_tenant, ids, 1, st);
}

char *ps_name_apps(ps_arena_t *a, const char *tenant) {
  return ps_arena_printf(a, "tenants/%s/apps", tenant);
}

char *ps_name_prospect(ps_arena_t *a, const char *tenant, const ps_id_t *prospect) {
  char p[PS_ID_TEXT_LEN + 1];
  ps_id_format(prospect, p);
  return ps_arena_printf(a, "tenants/%s/prospects/%s", tenant, p);
}

char *ps_name_contact_person(ps_arena_t *a, const char *tenant, const ps_id_t *prospect,
                             const ps_id_t *contact_person) {
  char p[PS_ID_TEXT_LEN + 1], c[PS_ID_TEXT_LEN + 1];
  ps_id_format(prospect, p);
  ps_id_format(contact_person, c);
  return ps_arena_printf(a, "tenants/%s/prospects/%s/contactPersons/%s", tenant, p, c);
}

char *ps_name_document(ps_arena_t *a, const char *tenant, const ps_id_t *prospect,
                       const ps_id_t *document) {
  char p[PS_ID_TEXT_LEN + 1], d[PS_ID_TEXT_LEN + 1];
  ps_id_format(prospect, p);
  ps_id_format(document, d);
  return ps_arena_printf(a, "tenants/%s/prospects/%s/documents/%s", tenant, p, d);
}

char *ps_name_merge(ps_arena_t *a, const char *tenant, const ps_id_t *merge) {
  char m[PS_ID_TEXT_LEN + 1];
  ps_id_format(merge, m);
  return ps_arena_printf(a, "tenants/%s/merges/%s", tenant, m);
}

char *ps_name_audit_event(ps_arena_t *a, const char *tenant, const ps_id_t *event) {
  char e[PS_ID_TEXT_LEN + 1];
  ps_id_format(event, e);
  return ps_arena_printf(a, "tenants/%s/auditEvents/%s", tenant, e);
}
