/* The reads of ExportProspects (service/export.c): a tenant's records in id order, page by page,
 * and the contact persons of a page, all inside one snapshot (ps_db_begin_snapshot) that the caller
 * opens and ends. Every statement is tenant-scoped and walks an index in its order. Not
 * thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_EXPORT_H
#define PS_STORE_EXPORT_H

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/contact_persons.h"
#include "store/db.h"
#include "store/prospects.h"

/* Reads up to limit live records of the tenant with ids above *after (NULL: from the first), in
 * id order; state 0 means every state, else only that state. Rows and strings in a. 0 with
 * *ret_n, or -1 with st set. */
int ps_store_export_page(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *after,
                         int state, int limit, ps_prospect_cols_t *ret_rows, int *ret_n,
                         ps_status_t *st);

/* Reads, with one statement, the contact persons of the tenant whose record's id is in
 * (*after, *last] (after NULL: from the first), ordered by record then id. The array is grown in a.
 * 0 with *ret_rows / *ret_n, or -1 with st set. */
int ps_store_export_contacts(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *after,
                             const ps_id_t *last, ps_contact_cols_t **ret_rows, size_t *ret_n,
                             ps_status_t *st);

#endif
