/* Prospect records (table prospects) and the tombstones merges leave (prospect_tombstones).
 * Every function filters by tenant: a record of another tenant is simply not there.
 * Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_PROSPECTS_H
#define PS_STORE_PROSPECTS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "prospects/v1/resources.pb-c.h"
#include "store/db.h"

/* The columns of a prospect row, in PS_PROSPECT_COLUMNS order. Strings are never NULL ("" when
 * empty) and live in the arena (when read) or wherever the caller put them (when written). */
typedef struct ps_prospect_cols {
  ps_id_t id;
  int kind;                 /* PROSPECTS__V1__PARTY_KIND__PERSON / __COMPANY */
  int state;                /* PROSPECTS__V1__PROSPECT_STATE__PROSPECT / __CUSTOMER */
  char *display_name;       /* company name, or "first last" */
  char *first_name;
  char *last_name;
  char *company_name;
  char *vat_number;
  char *email;
  char *phone;
  char *website;
  char *street;
  char *postal_code;
  char *city;
  char *country_code;
  char *language;
  char *notes;
  uint64_t version;         /* 1 on insert, +1 per write; the etag derives from it */
  int64_t create_us;        /* µs since the epoch */
  int64_t update_us;
  int64_t convert_us;       /* 0 while a PROSPECT */
  char *converting_invoice; /* "" while a PROSPECT */
} ps_prospect_cols_t;

/* The select list matching ps_prospect_cols_t, for queries of other store files:
 *   static ps_sql_t Q = PS_SQL("SELECT " PS_PROSPECT_COLUMNS " FROM prospects WHERE ...");
 * then ps_store_prospect_bind(&row, &cols) and ps_db_fetch. */
#define PS_PROSPECT_COLUMNS PS_PROSPECT_COLUMNS_OF("")
/* The same columns, each qualified by a table alias t ("p."), for joins. */
#define PS_PROSPECT_COLUMNS_OF(t)                                                                  \
  t "id, " t "kind, " t "state, " t "display_name, " t "first_name, " t "last_name, "              \
  t "company_name, " t "vat_number, " t "email, " t "phone, " t "website, " t "street, "           \
  t "postal_code, " t "city, " t "country_code, " t "language, " t "notes, " t "version, "         \
  t "create_time, " t "update_time, " t "convert_time, " t "converting_invoice"

/* Declares the columns of PS_PROSPECT_COLUMNS in r, landing in c. */
void ps_store_prospect_bind(ps_row_t *r, ps_prospect_cols_t *c);

/* The API message for a row: every field including name and etag; address only when one of its
 * fields is set; convert_time only for a CUSTOMER. Strings are shared with c, the rest is allocated
 * in a. NULL when out of memory. */
Prospects__V1__Prospect *ps_store_prospect_msg(ps_arena_t *a, const char *tenant,
                                               const ps_prospect_cols_t *c);

/* The normal forms of the duplicate check (core/normalize.h), cut to fit their columns. */
typedef struct ps_prospect_norms {
  char email[1024];    /* email_norm */
  char vat[256];       /* vat_norm */
  char phone[256];     /* phone_norm */
  char name_key[1024]; /* name_key: "very similar name" means an equal name key */
} ps_prospect_norms_t;

/* Computes the normal forms of c (email, vat_number, phone, country_code, display_name). Pure. */
void ps_store_prospect_norms(const ps_prospect_cols_t *c, ps_prospect_norms_t *ret);

/* The name key that version 1 of the normal forms stored for display_name (ps_norm_name_v1, cut to
 * the column as ps_store_prospect_norms cuts the current one), for the lookups of rows the reindex
 * has not rebuilt yet (core/normalize_v1.h). Pure. */
void ps_store_prospect_name_key_v1(const char *display_name, char out[1024]);

/* The columns ps_store_prospect_insert writes, and one row's placeholders, for the multi-row inserts
 * of other store files ("INSERT INTO prospects (" PS_PROSPECT_INSERT_COLUMNS ") VALUES " and a
 * PS_PROSPECT_INSERT_ROW per row); ps_store_prospect_bind_insert binds one row's values. */
#define PS_PROSPECT_INSERT_COLUMNS                                                                  \
  "tenant_id, id, kind, state, display_name, first_name, last_name, company_name, vat_number,"     \
  " email, phone, website, street, postal_code, city, country_code, language, notes, email_norm," \
  " vat_norm, phone_norm, name_key, norm_version, version, create_time, update_time,"            \
  " convert_time, converting_invoice"
#define PS_PROSPECT_INSERT_ROW \
  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* Binds the values of PS_PROSPECT_INSERT_COLUMNS for c; its normal forms are computed into nf,
 * which must live until the statement ran. */
void ps_store_prospect_bind_insert(ps_params_t *p, const char *tenant, const ps_prospect_cols_t *c,
                                   ps_prospect_norms_t *nf);

/* Inserts a new record (c->version, times and state as given), with its normal forms and its terms
 * of the overview's word index (store/search.h), marked as built by PS_NORM_VERSION. 0, or -1 with st set (ALREADY_EXISTS if the id is
 * taken). Run it in a transaction: it writes two tables. */
int ps_store_prospect_insert(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                             ps_status_t *st);

typedef enum ps_lock {
  PS_LOCK_NONE = 0,   /* plain read */
  PS_LOCK_SHARE = 1,  /* LOCK IN SHARE MODE (in a transaction) */
  PS_LOCK_UPDATE = 2, /* FOR UPDATE (in a transaction) */
} ps_lock_t;

/* One record to read with ps_store_prospect_get_many. */
typedef struct ps_prospect_key {
  const char *tenant;
  ps_id_t id;
} ps_prospect_key_t;

/* Keys one ps_store_prospect_get_many reads at most. */
#define PS_STORE_GET_MANY_MAX 16

/* Reads the live records of up to PS_STORE_GET_MANY_MAX keys (of any tenants; the same key may come
 * twice) with one statement, as ps_store_prospect_get reads one: ret_found[i] is 1 with ret[i]
 * filled (strings in a) or 0 when keys[i] is no live record. 0, or -1 with st set (then nothing is
 * known of any key). */
int ps_store_prospect_get_many(ps_db_t *db, ps_arena_t *a, const ps_prospect_key_t *keys, size_t n,
                               ps_prospect_cols_t *ret, int *ret_found, ps_status_t *st);

/* Reads a live record. 1 with *ret filled (strings in a), 0 when there is no such live record in
 * this tenant (st untouched), -1 with st set. */
int ps_store_prospect_get(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                          ps_lock_t lock, ps_prospect_cols_t *ret, ps_status_t *st);

/* 1 when a live record with this id exists in the tenant, 0 when not, -1 with st set. */
int ps_store_prospect_exists(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st);

/* Rewrites a live record (in a transaction, after reading it FOR UPDATE): every writable column
 * and display_name from c, normal forms and word index recomputed (norm_version PS_NORM_VERSION),
 * version set to c->version and update_time to c->update_us, only while the stored version is still
 * old_version. 0, or -1 with st set (ABORTED, reason ETAG_MISMATCH, when the version moved on). */
int ps_store_prospect_update(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                             uint64_t old_version, ps_status_t *st);

/* Records a conversion (S3) of a live record read FOR UPDATE in the caller's transaction: state,
 * convert_time (c->convert_us), converting_invoice, version (c->version) and update_time from c,
 * only while the stored version is still old_version; the word index follows the new state, and the
 * normal forms are recomputed with it (both then of PS_NORM_VERSION). The other columns are not
 * written. 0, or -1 with st set (ABORTED when the version moved on). */
int ps_store_prospect_convert(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                              uint64_t old_version, ps_status_t *st);

/* Rewrites the normal forms of a live record read FOR UPDATE in the caller's transaction (the
 * reindex, store/reindex.h), computed from c as ps_store_prospect_norms does, and marks them as
 * PS_NORM_VERSION's. The data columns, version (etag) and update_time are not written: the record
 * does not change, only what the service derives from it. 0, or -1 with st set. */
int ps_store_prospect_set_norms(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                                ps_status_t *st);

/* Links of documents to the record (table document_links). 0 with *ret_n, or -1 with st set. */
int ps_store_prospect_document_count(ps_db_t *db, const char *tenant, const ps_id_t *id,
                                     int64_t *ret_n, ps_status_t *st);

/* Deletes a record, its contact persons and its word index rows (in the caller's transaction; the
 * caller has checked that no documents are linked). Leaves no tombstone: a deleted id simply no
 * longer exists. 0, or -1 with st set. */
int ps_store_prospect_delete(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st);

/* Merge chains. A chain grows by one each time the survivor of earlier merges is itself merged
 * away, so its length is the number of merges one lineage of records went through: 1024 is far
 * beyond what people do by hand. A longer one is reported as INTERNAL. */
#define PS_MERGE_CHAIN_MAX 1024

typedef struct ps_merge_chain {
  int n_via;                          /* merged-away ids followed; 0 when the id was never merged */
  ps_id_t via[PS_MERGE_CHAIN_MAX];    /* via[0] is the id asked about, then each later hop */
  ps_id_t end;                        /* where the chain ends (valid when n_via > 0) */
  int end_live;                       /* end is a live record now (it may have been deleted since) */
} ps_merge_chain_t;

/* Follows the tombstones from id: A merged into B merged into C gives via {A, B}, end C.
 * 0 with *ret set (n_via 0 when id has no tombstone: unknown, deleted, or live), -1 with st set. */
int ps_store_prospect_chain(ps_db_t *db, const char *tenant, const ps_id_t *id,
                            ps_merge_chain_t *ret, ps_status_t *st);

/* Records that id was merged into `into` by merge `merge_id` at time_us (in the merge's
 * transaction). 0, or -1 with st set (ALREADY_EXISTS when id already has a tombstone). */
int ps_store_prospect_tombstone(ps_db_t *db, const char *tenant, const ps_id_t *id,
                                const ps_id_t *into, const ps_id_t *merge_id, int64_t time_us,
                                ps_status_t *st);

#endif
