/* Contact persons of a COMPANY prospect (S6). */
#include "store/contact_persons.h"

#include <string.h>

#include "core/names.h"

static ps_sql_t Q_INSERT = PS_SQL(
    "INSERT INTO contact_persons (" PS_CONTACT_INSERT_COLUMNS ") VALUES " PS_CONTACT_INSERT_ROW);
static ps_sql_t Q_GET = PS_SQL(
    "SELECT " PS_CONTACT_COLUMNS " FROM contact_persons"
    " WHERE tenant_id = ? AND id = ? AND prospect_id = ?");
static ps_sql_t Q_GET_UPDATE = PS_SQL(
    "SELECT " PS_CONTACT_COLUMNS " FROM contact_persons"
    " WHERE tenant_id = ? AND id = ? AND prospect_id = ? FOR UPDATE");
static ps_sql_t Q_LIST = PS_SQL(
    "SELECT " PS_CONTACT_COLUMNS " FROM contact_persons"
    " WHERE tenant_id = ? AND prospect_id = ? AND id > ? ORDER BY id LIMIT ?");
static ps_sql_t Q_UPDATE = PS_SQL(
    "UPDATE contact_persons SET first_name = ?, last_name = ?, email = ?, phone = ?, role = ?,"
    " version = ?, update_time = ? WHERE tenant_id = ? AND id = ? AND version = ?");
static ps_sql_t Q_DELETE = PS_SQL("DELETE FROM contact_persons WHERE tenant_id = ? AND id = ?");

void ps_store_contact_bind(ps_row_t *r, ps_contact_cols_t *c) {
  ps_col_id(r, &c->id);
  ps_col_id(r, &c->prospect_id);
  ps_col_str(r, &c->first_name);
  ps_col_str(r, &c->last_name);
  ps_col_str(r, &c->email);
  ps_col_str(r, &c->phone);
  ps_col_str(r, &c->role);
  ps_col_u64(r, &c->version);
  ps_col_time(r, &c->create_us);
  ps_col_time(r, &c->update_us);
}

Prospects__V1__ContactPerson *ps_store_contact_msg(ps_arena_t *a, const char *tenant,
                                                   const ps_contact_cols_t *c) {
  Prospects__V1__ContactPerson *m = ps_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  prospects__v1__contact_person__init(m);
  if (!(m->name = ps_name_contact_person(a, tenant, &c->prospect_id, &c->id))) return NULL;
  m->first_name = c->first_name;
  m->last_name = c->last_name;
  m->email = c->email;
  m->phone = c->phone;
  m->role = c->role;
  if (!(m->create_time = ps_db_timestamp(a, c->create_us))) return NULL;
  if (!(m->update_time = ps_db_timestamp(a, c->update_us))) return NULL;
  if (!(m->etag = ps_db_etag(a, c->version))) return NULL;
  return m;
}

void ps_store_contact_bind_insert(ps_params_t *p, const char *tenant, const ps_contact_cols_t *c) {
  ps_param_str(p, tenant);
  ps_param_id(p, &c->id);
  ps_param_id(p, &c->prospect_id);
  ps_param_str(p, c->first_name);
  ps_param_str(p, c->last_name);
  ps_param_str(p, c->email);
  ps_param_str(p, c->phone);
  ps_param_str(p, c->role);
  ps_param_u64(p, c->version);
  ps_param_time(p, c->create_us);
  ps_param_time(p, c->update_us);
}

int ps_store_contact_insert(ps_db_t *db, const char *tenant, const ps_contact_cols_t *c,
                            ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_store_contact_bind_insert(&p, tenant, c);
  return ps_db_exec(db, &Q_INSERT, &p, st) ? 0 : -1;
}

int ps_store_contact_get(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *prospect_id,
                         const ps_id_t *id, ps_lock_t lock, ps_contact_cols_t *ret, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  ps_param_id(&p, prospect_id);
  MYSQL_STMT *s = ps_db_exec(db, lock == PS_LOCK_UPDATE ? &Q_GET_UPDATE : &Q_GET, &p, st);
  if (!s) return -1;
  ps_contact_cols_t c;
  ps_row_t r;
  ps_row_init(&r);
  ps_store_contact_bind(&r, &c);
  int rc = ps_db_fetch(db, s, &r, a, st);
  if (rc == 1) *ret = c;
  return rc;
}

int ps_store_contact_list(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *prospect_id,
                          const ps_id_t *after, int limit, ps_contact_cols_t *ret_rows, int *ret_n,
                          ps_status_t *st) {
  static const ps_id_t min_id = {{0}};
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, prospect_id);
  ps_param_id(&p, after ? after : &min_id);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_LIST, &p, st);
  if (!s) return -1;
  int n = 0;
  for (;;) {
    ps_contact_cols_t c;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_contact_bind(&r, &c);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < limit) ret_rows[n++] = c;
  }
  *ret_n = n;
  return 0;
}

int ps_store_contact_update(ps_db_t *db, const char *tenant, const ps_contact_cols_t *c,
                            uint64_t old_version, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, c->first_name);
  ps_param_str(&p, c->last_name);
  ps_param_str(&p, c->email);
  ps_param_str(&p, c->phone);
  ps_param_str(&p, c->role);
  ps_param_u64(&p, c->version);
  ps_param_time(&p, c->update_us);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &c->id);
  ps_param_u64(&p, old_version);
  MYSQL_STMT *s = ps_db_exec(db, &Q_UPDATE, &p, st);
  if (!s) return -1;
  if (ps_db_affected(s) != 1)
    return ps_fail(st, PS_ABORTED, "ETAG_MISMATCH",
                   "The contact person was changed meanwhile; read it again and retry.");
  return 0;
}

int ps_store_contact_delete(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  return ps_db_exec(db, &Q_DELETE, &p, st) ? 0 : -1;
}
