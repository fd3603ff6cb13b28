/* Bulk writes of an import (BatchCreateProspects): many new records, their index rows and their
 * contact persons with few statements. Every statement names the tenant. Not thread-safe (one
 * ps_db_t per worker). Does not log. */
#ifndef PS_STORE_IMPORT_H
#define PS_STORE_IMPORT_H

#include <stddef.h>

#include "core/arena.h"
#include "core/status.h"
#include "store/contact_persons.h"
#include "store/db.h"
#include "store/prospects.h"

/* Inserts n new records as ps_store_prospect_insert inserts one (normal forms of PS_NORM_VERSION:
 * the duplicate keys), then the n_contacts contact persons (their prospect_id among the new
 * records, or any live COMPANY of the tenant). The terms of the word index: written here when
 * index_now, else the records are queued for the background indexer (store/index_queue.h), which
 * writes the same rows shortly after. Multi-row statements of fixed sizes (records 8 or 1 at a
 * time, index terms 32, queue rows 32 or 1, contact persons 16 or 1), so that a connection
 * prepares a few statements and no more. Run it in a transaction. Strings must live until it
 * returns; term copies go into a. 0, or -1 with st set (ALREADY_EXISTS if an id is taken). */
int ps_store_import_insert(ps_db_t *db, ps_arena_t *a, const char *tenant,
                           const ps_prospect_cols_t *rows, size_t n,
                           const ps_contact_cols_t *contacts, size_t n_contacts, int index_now,
                           ps_status_t *st);

/* Writes the word index rows (ps_search_record_terms, each record's state and display name) of n
 * records that have none, by multi-row INSERTs of 32 rows in the order of the index: the import's
 * and the indexer's (store/index_queue.h) writer. In the caller's transaction; term copies go into
 * a. 0, or -1 with st set. */
int ps_store_import_terms(ps_db_t *db, ps_arena_t *a, const char *tenant,
                          const ps_prospect_cols_t *rows, size_t n, ps_status_t *st);

#endif
