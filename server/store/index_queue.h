/* The word index behind a bulk import (issue 16): table prospect_index_queue holds the ids of
 * records whose prospect_terms rows are still to be written (migration 20261202000031). An import
 * adds its records' ids in its own transaction (ps_store_index_queue_add); the background indexer
 * (server/indexer.c) drains the queue a batch at a time (ps_store_index_queue_step).
 *
 * A batch is one transaction of one tenant: up to `limit` queued ids taken FOR UPDATE SKIP LOCKED
 * (another server's batch skips them and takes the next ones); their records locked FOR UPDATE and
 * read; the ids' term rows deleted (a record updated meanwhile has some; one gone has none left)
 * and those of the records' current columns written by the import's writer (ps_store_import_terms,
 * the terms of ps_search_record_terms as every writer computes them); the queue rows deleted. A few
 * statements cover IN lists of ids, so that a batch costs about what the import saved. Every
 * writer of a record's terms locks the record row first, so a concurrent UpdateProspect, merge,
 * conversion or erasure either commits before the rebuild (which then reads its result) or waits
 * for the batch and writes its own terms after it; the rebuild is idempotent, so a batch rolled
 * back and run again, or an id queued twice, comes to the same rows.
 *
 * Every statement names the tenant but the two noted in test_sql_tenancy.py (the read that finds a
 * tenant with queued ids, and the depth count). Not thread-safe (one ps_db_t). Does not log. */
#ifndef PS_STORE_INDEX_QUEUE_H
#define PS_STORE_INDEX_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/names.h"
#include "core/status.h"
#include "store/db.h"
#include "store/prospects.h"

/* Queues the n new records of tenant (their ids) in the caller's transaction, enqueued at now_us.
 * Multi-row statements of fixed sizes (32 or 1). 0, or -1 with st set. */
int ps_store_index_queue_add(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *rows,
                             size_t n, int64_t now_us, ps_status_t *st);

/* Deletes the queue row of record id (an erasure: nothing of the record is left to index). 0, or
 * -1 with st set. */
int ps_store_index_queue_delete(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st);

/* What one batch did. */
typedef struct ps_index_queue_batch {
  int rows;                             /* queued ids taken (and deleted) */
  int indexed;                          /* of those, records that exist and got their terms */
  char tenant[PS_TENANT_MAX + 1];       /* their tenant ("" when rows is 0) */
} ps_index_queue_batch_t;

/* One batch in its own transaction (see the top; a rerun after a deadlock is ps_db_tx's): the
 * queued ids of the first tenant after after_tenant that has unlocked ones (or of the first such
 * tenant, round robin), up to limit. rows 0 when no id is free to take. Strings go to a (the
 * caller resets it). 0, or -1 with st set (rolled back). */
int ps_store_index_queue_step(ps_db_t *db, ps_arena_t *a, const char *after_tenant, int limit,
                              ps_index_queue_batch_t *ret, ps_status_t *st);

/* The queued ids of all tenants: counted up to cap, InnoDB's estimate of the table's rows beyond.
 * 0, or -1 with st set. */
int ps_store_index_queue_depth(ps_db_t *db, uint64_t cap, uint64_t *ret, ps_status_t *st);

#endif
