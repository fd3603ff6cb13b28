/* Links between a prospect's record and documents other services own (table document_links; S2,
 * S5, S7, S13). A document (tenant, type, document_id) is on one record at a time: the unique key
 * document_links_document enforces it. Every function filters by tenant.
 *
 * Locking (the rules live in service/documents.c): whoever inserts a link, or moves links, locks
 * the record the link goes to first (ps_store_prospect_get with PS_LOCK_SHARE or PS_LOCK_UPDATE in
 * the same transaction), so that a merge or delete that locks the record FOR UPDATE either sees the
 * new link or makes the link fail cleanly.
 *
 * Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_DOCUMENTS_H
#define PS_STORE_DOCUMENTS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "prospects/v1/resources.pb-c.h"
#include "store/db.h"
#include "store/prospects.h"

/* The document types a link may have: 1..PS_DOCUMENT_TYPES (QUOTE..OTHER of DocumentType). */
#define PS_DOCUMENT_TYPES PROSPECTS__V1__DOCUMENT_TYPE__OTHER

/* The columns of a document link, in PS_DOCUMENT_COLUMNS order. Strings are never NULL. */
typedef struct ps_document_cols {
  ps_id_t id;            /* the link id ({document} in names) */
  ps_id_t prospect_id;   /* the record it is on */
  int type;              /* PROSPECTS__V1__DOCUMENT_TYPE__* (1..8) */
  char *document_id;     /* the owning service's id, up to 128 characters */
  char *number;          /* printed number, up to 64 characters */
  char *title;           /* up to 200 characters */
  int64_t document_us;   /* the document's date, µs since the epoch (link time when not given) */
  ps_blob_t snapshot;    /* packed prospects.v1.PartySnapshot, frozen at link time (S13) */
  int64_t link_us;       /* when it was linked */
} ps_document_cols_t;

#define PS_DOCUMENT_COLUMNS                                                                        \
  "id, prospect_id, type, document_id, number, title, document_time, party_snapshot, link_time"

/* The table read by record (tenant_id, prospect_id), its index forced, for the statements that
 * update or lock a record's links: MariaDB otherwise may read all of the tenant's links (an UPDATE
 * of prospect_id avoids the index that holds it; ORDER BY id prefers the primary key). */
#define PS_LINKS_BY_RECORD "document_links FORCE INDEX (document_links_by_prospect_type)"

/* Declares the columns of PS_DOCUMENT_COLUMNS in r, landing in c. */
void ps_store_document_bind(ps_row_t *r, ps_document_cols_t *c);

/* The API message for a row: name, prospect, times, the unpacked snapshot (in a). Strings are
 * shared with c. NULL when out of memory or the stored snapshot is unreadable. */
Prospects__V1__Document *ps_store_document_msg(ps_arena_t *a, const char *tenant,
                                               const ps_document_cols_t *c);

/* Inserts a link. 0, or -1 with st set: ALREADY_EXISTS (ps_db_last_errno 1062) when the document
 * (tenant, type, document_id) is linked already, committed or not yet (then after waiting for it). */
int ps_store_document_insert(ps_db_t *db, const char *tenant, const ps_document_cols_t *c,
                             ps_status_t *st);

/* The link of document (type, document_id). 1 with *ret (strings in a), 0 when the document is not
 * linked in this tenant, -1 with st set. A plain read (READ COMMITTED: the newest committed row). */
int ps_store_document_find(ps_db_t *db, ps_arena_t *a, const char *tenant, int type,
                           const char *document_id, ps_document_cols_t *ret, ps_status_t *st);

/* Deletes the link of document (type, document_id). 1 when a link was deleted, 0 when there was
 * none, -1 with st set. */
int ps_store_document_delete(ps_db_t *db, const char *tenant, int type, const char *document_id,
                             ps_status_t *st);

/* One page of a record's links, newest first: document_time descending, then link id descending. */
typedef struct ps_document_query {
  ps_id_t prospect_id;   /* the record */
  int type;              /* only this type; 0: every type */
  int has_cursor;        /* continue after (after_us, after_id) */
  int64_t after_us;      /* document time of the last row of the previous page */
  ps_id_t after_id;      /* its link id */
  int limit;             /* rows wanted (callers ask one more than a page) */
  size_t max_bytes;      /* stop after the rows read take this much of a (0: no cap) */
} ps_document_query_t;

/* Reads up to q->limit links in order into ret_rows (strings in a). Reading stops early, after at
 * least one row, once the rows take q->max_bytes of the arena: then *ret_cut is 1 (rows may
 * follow). 0 with *ret_n and *ret_cut, or -1 with st. */
int ps_store_document_list(ps_db_t *db, ps_arena_t *a, const char *tenant,
                           const ps_document_query_t *q, ps_document_cols_t *ret_rows, int *ret_n,
                           int *ret_cut, ps_status_t *st);

#endif
