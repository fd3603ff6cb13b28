/* Contact persons of a COMPANY prospect (table contact_persons, S6). Every function filters by
 * tenant and by the prospect the contact person belongs to: one named under another prospect or
 * another tenant is simply not there. Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_CONTACT_PERSONS_H
#define PS_STORE_CONTACT_PERSONS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "prospects/v1/resources.pb-c.h"
#include "store/db.h"
#include "store/prospects.h"

/* The columns of a contact person row, in PS_CONTACT_COLUMNS order. Strings are never NULL. */
typedef struct ps_contact_cols {
  ps_id_t id;
  ps_id_t prospect_id;   /* the company it belongs to */
  char *first_name;
  char *last_name;
  char *email;
  char *phone;
  char *role;            /* role or function */
  uint64_t version;      /* 1 on insert, +1 per write; the etag derives from it */
  int64_t create_us;     /* µs since the epoch */
  int64_t update_us;
} ps_contact_cols_t;

#define PS_CONTACT_COLUMNS                                                                        \
  "id, prospect_id, first_name, last_name, email, phone, role, version, create_time, update_time"

/* Declares the columns of PS_CONTACT_COLUMNS in r, landing in c. */
void ps_store_contact_bind(ps_row_t *r, ps_contact_cols_t *c);

/* The API message for a row (name, etag, times); strings shared with c. NULL when out of memory. */
Prospects__V1__ContactPerson *ps_store_contact_msg(ps_arena_t *a, const char *tenant,
                                                   const ps_contact_cols_t *c);

/* The columns ps_store_contact_insert writes and one row's placeholders, for multi-row inserts of
 * other store files; ps_store_contact_bind_insert binds one row's values. */
#define PS_CONTACT_INSERT_COLUMNS                                                                 \
  "tenant_id, id, prospect_id, first_name, last_name, email, phone, role, version, create_time," \
  " update_time"
#define PS_CONTACT_INSERT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
void ps_store_contact_bind_insert(ps_params_t *p, const char *tenant, const ps_contact_cols_t *c);

/* Inserts a new contact person. 0, or -1 with st set. */
int ps_store_contact_insert(ps_db_t *db, const char *tenant, const ps_contact_cols_t *c,
                            ps_status_t *st);

/* Reads contact person id of prospect prospect_id. 1 with *ret (strings in a), 0 when there is no
 * such contact person under that prospect in this tenant, -1 with st set. */
int ps_store_contact_get(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *prospect_id,
                         const ps_id_t *id, ps_lock_t lock, ps_contact_cols_t *ret, ps_status_t *st);

/* Up to limit contact persons of prospect_id in creation order (id ascending), after `after` when
 * not NULL. 0 with *ret_n, or -1 with st set. */
int ps_store_contact_list(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *prospect_id,
                          const ps_id_t *after, int limit, ps_contact_cols_t *ret_rows, int *ret_n,
                          ps_status_t *st);

/* Rewrites the writable columns, version (c->version) and update_time of a contact person while its
 * stored version is old_version. 0, or -1 with st set (ABORTED ETAG_MISMATCH when it moved on). */
int ps_store_contact_update(ps_db_t *db, const char *tenant, const ps_contact_cols_t *c,
                            uint64_t old_version, ps_status_t *st);

/* Deletes one contact person. 0, or -1 with st set. */
int ps_store_contact_delete(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st);

#endif
