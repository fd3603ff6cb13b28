/* Background jobs over a whole table (the reindex, server/reindex.c): each walks its table in
 * primary-key order (tenant_id, id) in batches and brings every row's derived data to the version
 * the current code builds. A batch holds rows of one tenant: its statements and its transaction
 * stay within one tenant (the shard key, DESIGN.md), but for the job row and the one read that
 * finds the next tenant. Table reindex_progress holds one row per job (migration 20261201000005):
 * the version it builds, the cursor (where the next batch starts: after the last row a committed
 * batch covered, or at the first row of the next tenant), the counts and the times.
 *
 * A batch is one transaction (ps_store_reindex_step): the job row is read FOR UPDATE, the job's
 * batch function reads the next rows after the cursor, locks those of an older version FOR UPDATE
 * and rewrites them, and the job row gets the new cursor, in the same transaction. So a batch is
 * done once or not at all, a restart resumes after the last committed batch, and two processes
 * that both ran the job would take turns on the job row instead of doing a batch twice (one works
 * at a time anyway: ps_store_reindex_lock). A writer that changes a record locks its row first
 * (SELECT ... FOR UPDATE) and writes the current version itself: it either waits for the batch and
 * then writes, or the batch waits for it and finds the row current, so the reindex never writes
 * over a newer change with forms of older data.
 *
 * Jobs: ps_store_reindex_norms (below). A new one (e.g. the backfill of an index table that a
 * migration adds) is a ps_reindex_job_t with its own name, version, count and batch functions,
 * listed in server/reindex.c.
 *
 * Not thread-safe (one ps_db_t). Does not log. */
#ifndef PS_STORE_REINDEX_H
#define PS_STORE_REINDEX_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/names.h"
#include "core/status.h"
#include "store/db.h"

/* A job's row. */
typedef struct ps_reindex_state {
  int exists;                               /* the job has a row (else the rest is zero) */
  uint32_t version;                         /* the version the row's job builds */
  char cursor_tenant[PS_TENANT_MAX + 1];     /* the next batch covers this tenant's rows after */
  ps_id_t cursor_id;                        /* this id ("": the walk has not started) */
  uint64_t rows_total;                      /* rows of the table when the job started (estimated
                                               for big tables) */
  uint64_t rows_done;                       /* rows up to the cursor */
  uint64_t rows_rebuilt;                    /* of which were rewritten */
  uint64_t batches;                         /* batches committed */
  int finished;                             /* the job reached the end of the table */
  int64_t start_us, update_us, finish_us;   /* finish_us 0 while unfinished */
} ps_reindex_state_t;

/* What one batch did. */
typedef struct ps_reindex_batch {
  int rows;                                 /* rows after the cursor the batch covered */
  int rebuilt;                              /* of those, the ones rewritten */
  int finished;                             /* no rows are left after the new cursor */
  char last_tenant[PS_TENANT_MAX + 1];       /* the new cursor */
  ps_id_t last_id;
} ps_reindex_batch_t;

/* A job. count: the rows of its table (for progress, an estimate for big tables; called once when
 * the job starts). batch: in the caller's open transaction, covers up to limit rows of tenant
 * after_tenant after after_id ("": the walk has not started) in primary-key order, rewrites those
 * older than version, and fills *ret: the rows covered and the new cursor, which is the first row
 * of the next tenant when this one has no more (or finished, when no tenant follows). Both 0, or -1
 * with st set; batch must be safe to run again after a rollback. */
typedef struct ps_reindex_job {
  const char *name;  /* its row in reindex_progress, its lock, its log lines and metric labels */
  const char *what;  /* what it builds, for the log: "normal forms version 2 of prospects" */
  uint32_t version;  /* the version it builds */
  int (*count)(ps_db_t *db, uint64_t *ret, ps_status_t *st);
  int (*batch)(ps_db_t *db, ps_arena_t *a, uint32_t version, const char *after_tenant,
               const ps_id_t *after_id, int limit, ps_reindex_batch_t *ret, ps_status_t *st);
} ps_reindex_job_t;

/* "prospect_norms": every record's email_norm, vat_norm, phone_norm, name_key and word index rows
 * (prospect_terms) as PS_NORM_VERSION computes them, for the records whose norm_version is older.
 * Records that fold alike in both versions only get their norm_version raised: the word index is
 * rewritten only where it differs. The record itself (data, version, update_time) is not written. */
extern const ps_reindex_job_t ps_store_reindex_norms;

/* Reads job's row into *ret (ret->exists 0 when there is none). 0, or -1 with st set. */
int ps_store_reindex_read(ps_db_t *db, const char *job, ps_reindex_state_t *ret, ps_status_t *st);

/* Starts job over when its row is missing or builds an older version: counts the rows (job->count)
 * and writes a row at the start of the table. A row of job->version or newer is left as it is.
 * worker names this process (host and pid). 0 with *ret the row afterwards, or -1 with st set. */
int ps_store_reindex_begin(ps_db_t *db, const ps_reindex_job_t *job, const char *worker,
                           ps_reindex_state_t *ret, ps_status_t *st);

/* One batch of up to limit rows, in one transaction with the job row's new cursor (see the top of
 * this file); a (re)run after a deadlock or lock wait timeout is ps_db_tx's. Nothing is done when
 * the row is missing, builds another version or is finished (then *ret_batch->rows is 0 and
 * *ret_state says why). Strings go to a (the caller resets it). 0 with *ret_state the job row
 * afterwards, or -1 with st set (rolled back). */
int ps_store_reindex_step(ps_db_t *db, ps_arena_t *a, const ps_reindex_job_t *job, int limit,
                          const char *worker, ps_reindex_state_t *ret_state,
                          ps_reindex_batch_t *ret_batch, ps_status_t *st);

/* The job's lock (GET_LOCK, per database and job), so that of several servers one works on a job
 * at a time: *ret_got 1 when this connection holds it now, 0 when another does (no wait). The lock
 * ends with the connection, so a server that dies frees it at once. ps_store_reindex_unlock gives
 * it back (best effort). 0, or -1 with st set. */
int ps_store_reindex_lock(ps_db_t *db, const char *job, int *ret_got, ps_status_t *st);
void ps_store_reindex_unlock(ps_db_t *db, const char *job);

#endif
