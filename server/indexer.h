/* The background indexer: writes the word index of the records a bulk import queued
 * (store/index_queue.h), so that BatchCreateProspects acknowledges its records once they and their
 * duplicate keys are committed.
 *
 * Threading: PS_INDEX_QUEUE threads of its own, each with its own MySQL connection, started by main
 * after the server reports SERVING and stopped before the transport shuts down, like the reindex
 * (reindex.h). The threads share the queue as servers do (SKIP LOCKED); calls and the indexer meet
 * only in the database (row locks) and in ps_indexer_wake.
 *
 * What each thread does: batches of up to PS_REINDEX_BATCH queued records (one tenant, one
 * transaction, ids taken FOR UPDATE SKIP LOCKED so that several servers share the queue; tenants in
 * turn). After a full batch it pauses PS_REINDEX_PAUSE_MS, so that calls come first; after a
 * smaller one (the queue is short) it goes on at once; with nothing to take it waits for
 * ps_indexer_wake (an import of this process committed) or POLL_MS (other servers' imports). It
 * logs when it has drained a large backlog and each failure (then a retry after a growing pause of
 * up to a minute). */
#ifndef PS_INDEXER_H
#define PS_INDEXER_H

#include <stdint.h>

#include "core/status.h"
#include "store/db.h"

#define PS_INDEXER_THREADS_MAX 8

typedef struct ps_indexer_config {
  int threads;       /* threads (each with its connection); 0: this server never drains the queue */
  int batch_rows;    /* queued records per batch (one transaction) */
  int pause_ms;      /* pause after a full batch */
  ps_db_config_t db; /* the connection of the indexer thread (strings borrowed until stop) */
} ps_indexer_config_t;

/* Starts the threads (none when cfg->threads is 0). 0, or -1 with st set. Called once by main. */
int ps_indexer_start(const ps_indexer_config_t *cfg, ps_status_t *st);

/* Stops the threads: a batch under way is finished (or rolled back). Waits for them. Safe when
 * never started. */
void ps_indexer_stop(void);

/* Records were queued and committed: the indexer looks at once. Thread-safe, cheap, never blocks on
 * the database. */
void ps_indexer_wake(void);

/* For the metrics. Thread-safe. */
typedef struct ps_indexer_stats {
  int enabled;         /* the threads run */
  uint64_t depth;      /* queued records of every tenant and server, as last counted (about once a
                          second while the queue is not empty) */
  uint64_t indexed;    /* records this process took from the queue (a counter) */
} ps_indexer_stats_t;
void ps_indexer_get_stats(ps_indexer_stats_t *ret);

#endif
