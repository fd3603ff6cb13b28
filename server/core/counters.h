/* Process-wide event counters that any layer may bump (one relaxed atomic add), read by the
 * metrics endpoint (obs/metrics.c) and the SIGUSR1 line. Names and labels are fixed here, so the
 * number of series stays bounded: nothing about a tenant or a record is ever a label. Thread-safe. */
#ifndef PS_CORE_COUNTERS_H
#define PS_CORE_COUNTERS_H

#include <stdint.h>

typedef enum ps_counter {
  /* database (store/db.c): statement errors by class of MySQL error */
  PS_C_DB_ERR_DEADLOCK,          /* ER_LOCK_DEADLOCK */
  PS_C_DB_ERR_LOCK_WAIT,         /* ER_LOCK_WAIT_TIMEOUT */
  PS_C_DB_ERR_DUPLICATE,         /* a unique key (an expected race, mostly) */
  PS_C_DB_ERR_CONNECTION,        /* the connection failed or went away */
  PS_C_DB_ERR_TIMEOUT,           /* a statement timed out */
  PS_C_DB_ERR_OTHER,
  PS_C_DB_RECONNECTS,            /* connections made after the first of a worker */
  PS_C_DB_TX_RETRIES,            /* transactions run again (ps_db_tx_retryable) */
  PS_C_DB_SYNC_WAITS,            /* Galera causality waits before a transaction (wsrep_sync_wait) */
  /* merges (service/merges.c) */
  PS_C_MERGE_MERGED,
  PS_C_MERGE_DRY_RUN,
  PS_C_MERGE_REPLAYED,           /* the same request_id again: the first merge's answer */
  PS_C_MERGE_FAILED,             /* refused or failed */
  /* conversions (service/convert.c) */
  PS_C_CONVERT_CONVERTED,
  PS_C_CONVERT_ALREADY_CUSTOMER,
  PS_C_CONVERT_FAILED,
  /* quote request intakes (service/intake.c) */
  PS_C_INTAKE_CREATED,           /* a new prospect */
  PS_C_INTAKE_LINKED,            /* linked to an existing record */
  PS_C_INTAKE_FAILED,
  /* document links (service/documents.c, LinkDocument) */
  PS_C_LINK_LINKED,
  PS_C_LINK_ALREADY_LINKED,      /* the same link again */
  PS_C_LINK_FAILED,
  PS_C_COUNT
} ps_counter_t;

void ps_count(ps_counter_t c);
uint64_t ps_counter_get(ps_counter_t c);

#endif
