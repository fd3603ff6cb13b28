/* Merges (S10-S14): the rows a merge reads and moves (document links and contact persons of its
 * sources) and its permanent record (table merges). Tombstones and the deletion of the sources are
 * in store/prospects.h. Every function filters by tenant.
 *
 * Locking: the functions with a `lock` argument read FOR UPDATE when it is PS_LOCK_UPDATE, inside
 * the merge's transaction and only after the merge holds every record it touches FOR UPDATE
 * (service/merges.c). READ COMMITTED takes no gap locks, so these lock exactly the rows they return.
 *
 * Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_MERGES_H
#define PS_STORE_MERGES_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/contact_persons.h"
#include "store/db.h"
#include "store/prospects.h"

/* The ids of the document links on record prospect_id, ascending, at most limit (the caller asks
 * one more than it accepts to see that there are too many). lock: PS_LOCK_NONE or PS_LOCK_UPDATE
 * (then the returned link rows are locked: an unlink waits for the merge, or the merge for it).
 * 0 with *ret_ids (array in a; NULL when none) and *ret_n, or -1 with st set. */
int ps_store_merge_link_ids(ps_db_t *db, ps_arena_t *a, const char *tenant,
                            const ps_id_t *prospect_id, ps_lock_t lock, int limit,
                            ps_id_t **ret_ids, int *ret_n, ps_status_t *st);

/* Moves every document link of record `from` to record `to` (prospect_id only: the party snapshot
 * and every other column stay as they are, S13). 0 with *ret_moved (rows moved), or -1 with st. */
int ps_store_merge_move_links(ps_db_t *db, const char *tenant, const ps_id_t *from,
                              const ps_id_t *to, uint64_t *ret_moved, ps_status_t *st);

/* The contact persons of record prospect_id in creation order (id ascending), at most limit.
 * lock as above. 0 with *ret_rows (array in a; NULL when none) and *ret_n, or -1 with st. */
int ps_store_merge_contacts(ps_db_t *db, ps_arena_t *a, const char *tenant,
                            const ps_id_t *prospect_id, ps_lock_t lock, int limit,
                            ps_contact_cols_t **ret_rows, int *ret_n, ps_status_t *st);

/* Moves every contact person of record `from` to record `to` (prospect_id only; their ids, data,
 * versions and times stay). 0 with *ret_moved, or -1 with st set. */
int ps_store_merge_move_contacts(ps_db_t *db, const char *tenant, const ps_id_t *from,
                                 const ps_id_t *to, uint64_t *ret_moved, ps_status_t *st);

/* Records in merge_moved_documents every document link now on record source_id as moved by merge
 * merge_id (call it before the links move, in the merge's transaction, with the source held FOR
 * UPDATE). 0 with *ret_n (rows recorded), or -1 with st set. */
int ps_store_merge_record_moved(ps_db_t *db, const char *tenant, const ps_id_t *merge_id,
                                const ps_id_t *source_id, uint64_t *ret_n, ps_status_t *st);

/* One link a merge moved: the record it was on and its id. */
typedef struct ps_moved_link {
  ps_id_t source_id;
  ps_id_t link_id;
} ps_moved_link_t;

/* Up to limit links merge merge_id moved, in (source_id, link_id) order, after `after` (NULL: from
 * the first). 0 with ret_rows[0..*ret_n), or -1 with st set. */
int ps_store_merge_moved_page(ps_db_t *db, const char *tenant, const ps_id_t *merge_id,
                              const ps_moved_link_t *after, int limit, ps_moved_link_t *ret_rows,
                              int *ret_n, ps_status_t *st);

/* A row of table merges. */
typedef struct ps_merge_row {
  ps_id_t id;          /* the merge id ({merge} in names) */
  ps_id_t target_id;   /* the surviving record */
  int64_t create_us;   /* when it was made, µs since the epoch */
  char *caller;        /* the calling service, "" when not known */
  char *acting_user;   /* the user who asked, "" when not given */
  ps_blob_t record;    /* packed prospects.v1.Merge: the record without its moved documents
                          (merge_moved_documents), which records of before that table still hold */
} ps_merge_row_t;

/* Inserts a merge record (never updated or deleted afterwards). 0, or -1 with st set. */
int ps_store_merge_insert(ps_db_t *db, const char *tenant, const ps_merge_row_t *m,
                          ps_status_t *st);

/* Reads merge id. 1 with *ret (strings and record in a), 0 when there is no such merge in the
 * tenant, -1 with st set. */
int ps_store_merge_get(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                       ps_merge_row_t *ret, ps_status_t *st);

/* The same, read FOR UPDATE when lock is PS_LOCK_UPDATE (the redaction of an erased person, the
 * only change a merge record ever gets: store/person_data.h). */
int ps_store_merge_get_locked(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                              ps_lock_t lock, ps_merge_row_t *ret, ps_status_t *st);

/* One page of a tenant's merges, newest first (id descending; ids are UUIDv7). */
typedef struct ps_merge_query {
  int has_target;      /* only merges into target_id */
  ps_id_t target_id;
  int has_cursor;      /* continue after (below) after_id */
  ps_id_t after_id;    /* last id of the previous page */
  int limit;           /* rows wanted (callers ask one more than a page) */
} ps_merge_query_t;

/* Reads up to q->limit merges in order into ret_rows (records in a). Reading stops early, after
 * at least one row, once the records read add up to max_bytes, so that a page of large records
 * stays bounded: then *ret_cut is 1 (rows may follow). 0 with *ret_n and *ret_cut, or -1 with st
 * set. */
int ps_store_merge_list(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_merge_query_t *q,
                        size_t max_bytes, ps_merge_row_t *ret_rows, int *ret_n, int *ret_cut,
                        ps_status_t *st);

#endif
