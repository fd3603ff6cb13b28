/* The background reindex: rebuilds, in batches, the rows that an older version of the code wrote
 * (the jobs of store/reindex.h), while the server serves.
 *
 * Threading: one thread of its own with its own MySQL connection, started by main after the server
 * reports SERVING and stopped before the transport shuts down. It never touches the transport, the
 * worker pool or the health probe; calls and the reindex meet only in the database (row locks, one
 * batch transaction at a time) and in the flag ps_norm_v1_in_use (core/normalize_v1.h), which it
 * keeps current for the request path.
 *
 * What it does, per job, every PS_REINDEX_CHECK_S seconds while the job is not finished: read the
 * job's row (progress, metrics, the flag), and when this server may work on jobs (PS_REINDEX=1)
 * take the job's lock (one server at a time; the others only follow the row), start or resume the
 * job at its cursor, and run batches of up to PS_REINDEX_BATCH rows (of one tenant) with a pause
 * of PS_REINDEX_PAUSE_MS after each full one (less after a smaller one, in proportion), so that
 * calls come first. It logs when it starts or resumes a job, every
 * PROGRESS_BATCHES batches (rows, rate), when the job is done, and each failure (the database gone:
 * a line, then a retry after a growing pause of up to a minute). */
#ifndef PS_REINDEX_H
#define PS_REINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "store/db.h"

typedef struct ps_reindex_config {
  int enabled;     /* 1: this server works on jobs when no other server does; 0: it only follows them */
  int batch_rows;  /* rows per batch (one transaction) */
  int pause_ms;    /* pause after a full batch (in proportion after a smaller one) */
  int check_s;     /* how often an unfinished job's row is read again and a held lock tried */
  ps_db_config_t db; /* the connection of the reindex thread (strings borrowed until stop) */
} ps_reindex_config_t;

/* Starts the thread. 0, or -1 with st set (out of memory, no thread). Not thread-safe: called once
 * by main. */
int ps_reindex_start(const ps_reindex_config_t *cfg, ps_status_t *st);

/* Stops the thread: a batch under way is finished (or rolled back by the database), the job's lock
 * is given back with the connection. Waits for it. Safe when never started. */
void ps_reindex_stop(void);

/* One job as this process sees it, for the metrics. */
typedef struct ps_reindex_stats {
  const char *job;      /* its name (static) */
  uint64_t rows;        /* rows this process's batches covered (a counter) */
  uint64_t remaining;   /* rows after the cursor, by the count taken when the job started, as last read */
  int done;             /* the job has finished for the version this build needs */
  int active;           /* this process holds the job's lock (works on it) */
} ps_reindex_stats_t;

/* Fills up to max entries, one per job, and returns how many jobs there are. Thread-safe. */
size_t ps_reindex_get_stats(ps_reindex_stats_t *out, size_t max);

#endif
