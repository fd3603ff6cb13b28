/* Resource names (AIP-122): tenants/{tenant}, tenants/{tenant}/apps,
 * tenants/{tenant}/prospects/{prospect}, .../contactPersons/{contact_person},
 * .../documents/{document}, tenants/{tenant}/merges/{merge}, tenants/{tenant}/auditEvents/{event}.
 * A tenant id is 1-63 characters of [a-z0-9-], starting and ending with a letter or digit; the other
 * ids are UUIDs (core/ids.h). Parsers set INVALID_ARGUMENT naming `field` (ps_fail_field) on a
 * missing or malformed name, and leave their outputs untouched on failure. */
#ifndef PS_CORE_NAMES_H
#define PS_CORE_NAMES_H

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"

#define PS_TENANT_MAX 63

/* 1 when t is a valid tenant id, else 0. */
int ps_tenant_valid(const char *t);

/* "tenants/{tenant}" */
int ps_name_parse_tenant(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                         ps_status_t *st);
/* "tenants/{tenant}/apps" */
int ps_name_parse_apps(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                       ps_status_t *st);
/* "tenants/{tenant}/prospects/{prospect}" */
int ps_name_parse_prospect(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                           ps_id_t *ret_prospect, ps_status_t *st);
/* "tenants/{tenant}/prospects/{prospect}/contactPersons/{contact_person}" */
int ps_name_parse_contact_person(const char *name, const char *field,
                                 char ret_tenant[PS_TENANT_MAX + 1], ps_id_t *ret_prospect,
                                 ps_id_t *ret_contact_person, ps_status_t *st);
/* "tenants/{tenant}/prospects/{prospect}/documents/{document}" */
int ps_name_parse_document(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                           ps_id_t *ret_prospect, ps_id_t *ret_document, ps_status_t *st);
/* "tenants/{tenant}/merges/{merge}" */
int ps_name_parse_merge(const char *name, const char *field, char ret_tenant[PS_TENANT_MAX + 1],
                        ps_id_t *ret_merge, ps_status_t *st);

/* Formatters: the name as a string in the arena; NULL when out of memory. */
char *ps_name_apps(ps_arena_t *a, const char *tenant);
char *ps_name_prospect(ps_arena_t *a, const char *tenant, const ps_id_t *prospect);
char *ps_name_contact_person(ps_arena_t *a, const char *tenant, const ps_id_t *prospect,
                             const ps_id_t *contact_person);
char *ps_name_document(ps_arena_t *a, const char *tenant, const ps_id_t *prospect,
                       const ps_id_t *document);
char *ps_name_merge(ps_arena_t *a, const char *tenant, const ps_id_t *merge);
char *ps_name_audit_event(ps_arena_t *a, const char *tenant, const ps_id_t *event);

#endif
