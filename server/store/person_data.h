/* A person's data (ExportPersonData, ErasePersonData): the rows that hold copies of a prospect or
 * contact person beyond its own row, and the marks of what was erased (table erased_records).
 * Every function filters by tenant. The functions with a `lock` argument read FOR UPDATE when it is
 * PS_LOCK_UPDATE (in the erasure's transaction, after it holds the record FOR UPDATE, as a merge
 * locks them). Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_PERSON_DATA_H
#define PS_STORE_PERSON_DATA_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/audit.h"
#include "store/db.h"
#include "store/merges.h"
#include "store/prospects.h"

#define PS_ERASED_PROSPECT 1
#define PS_ERASED_CONTACT_PERSON 2

/* 1 with *ret_kind (PS_ERASED_*) when id was erased in the tenant, 0 when not, -1 with st set. */
int ps_store_erased_get(ps_db_t *db, const char *tenant, const ps_id_t *id, int *ret_kind,
                        ps_status_t *st);

/* Records that id (of kind PS_ERASED_*) was erased at now_us. 0 with *ret_new (1: a new mark, 0:
 * it was marked already), or -1 with st set. */
int ps_store_erased_mark(ps_db_t *db, const char *tenant, const ps_id_t *id, int kind,
                         int64_t now_us, int *ret_new, ps_status_t *st);

/* The tombstone of id: 1 with *ret_into and *ret_merge, 0 when id was never merged away, -1. */
int ps_store_tombstone_of(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_id_t *ret_into,
                          ps_id_t *ret_merge, ps_status_t *st);

/* A record merged into another: its id and the merge that did it. */
typedef struct ps_merged_in {
  ps_id_t id;
  ps_id_t merge_id;
} ps_merged_in_t;

/* The records merged directly into `into` (index tombstones_by_target), at most limit. 0 with
 * ret_rows[0..*ret_n), or -1 with st set. */
int ps_store_tombstones_into(ps_db_t *db, const char *tenant, const ps_id_t *into, int limit,
                             ps_merged_in_t *ret_rows, int *ret_n, ps_status_t *st);

/* The links a merge moved away from one of its sources (merge_moved_documents), wherever they are
 * now. */
typedef struct ps_moved_from {
  ps_id_t merge_id;
  ps_id_t source_id;
} ps_moved_from_t;

/* Sets the party snapshot of links to blank (the packed redacted snapshot): the links on record
 * prospect_id (moved NULL), or the links `moved` names. INVOICE and CREDIT_NOTE links are left
 * out unless invoices_too. 0 with *ret_changed (links whose snapshot changed; those already blank
 * do not count), or -1 with st set. One statement: any number of links. */
int ps_store_links_redact(ps_db_t *db, const char *tenant, const ps_id_t *prospect_id,
                          const ps_moved_from_t *moved, const ps_blob_t *blank, int invoices_too,
                          uint64_t *ret_changed, ps_status_t *st);

/* How many INVOICE and CREDIT_NOTE links keep a snapshot other than blank: on record prospect_id
 * (moved NULL), or among the links `moved` names that are not on prospect_id now (so that a link
 * counts once). 0 with *ret_n, or -1 with st set. */
int ps_store_links_kept(ps_db_t *db, const char *tenant, const ps_id_t *prospect_id,
                        const ps_moved_from_t *moved, const ps_blob_t *blank, int64_t *ret_n,
                        ps_status_t *st);

/* One page of the links `moved` names that still exist, with their snapshots, link id ascending
 * after `after` (NULL: from the first), at most limit. 0 with ret_ids/ret_snapshots[0..*ret_n)
 * (bytes in a), or -1 with st set. */
int ps_store_moved_snapshots(ps_db_t *db, ps_arena_t *a, const char *tenant,
                             const ps_moved_from_t *moved, const ps_id_t *after, int limit,
                             ps_id_t *ret_ids, ps_blob_t *ret_snapshots, int *ret_n,
                             ps_status_t *st);

/* Rewrites the packed record and acting_user of merge id (the redaction of an erased person: the
 * only change a merge record ever gets). 0, or -1 with st set. */
int ps_store_merge_redact(ps_db_t *db, const char *tenant, const ps_id_t *id,
                          const ps_blob_t *record, const char *acting_user, ps_status_t *st);

/* A stored idempotency key: its request id, method and packed response (empty while none). */
typedef struct ps_idem_row {
  char *request_id;
  char *method;
  ps_blob_t response;
} ps_idem_row_t;

/* Up to limit keys of the tenant after request id `after` ("" : from the first), in request id
 * order, read FOR UPDATE. 0 with ret_rows[0..*ret_n) (in a), or -1 with st set. */
int ps_store_idem_scan(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *after, int limit,
                       ps_idem_row_t *ret_rows, int *ret_n, ps_status_t *st);

/* Deletes the key request_id of the tenant. 0, or -1 with st set. */
int ps_store_idem_delete(ps_db_t *db, const char *tenant, const char *request_id, ps_status_t *st);

#endif
