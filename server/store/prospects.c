/* Prospect records and merge tombstones. */
#include "store/prospects.h"

#include <string.h>

#include "core/names.h"
#include "core/normalize.h"
#include "core/normalize_v1.h"
#include "store/search.h"

static ps_sql_t Q_INSERT = PS_SQL(
    "INSERT INTO prospects (" PS_PROSPECT_INSERT_COLUMNS ") VALUES " PS_PROSPECT_INSERT_ROW);
static ps_sql_t Q_GET = PS_SQL(
    "SELECT " PS_PROSPECT_COLUMNS " FROM prospects WHERE tenant_id = ? AND id = ?");
/* ps_store_prospect_get_many: one statement per size class (2, 4, 8, 16 keys), a smaller batch
 * repeating its last key, so that a connection prepares four statements and no more. FORCE INDEX:
 * without it MariaDB weighs a range over every index that starts with tenant_id for every key, on
 * every execution: 3.6 ms of planning for 16 keys of different tenants, against 0.2 ms (ANALYZE,
 * 100 tenants x 1000 records). */
#define KEYS1 "(?,?)"
#define KEYS2 KEYS1 "," KEYS1
#define KEYS4 KEYS2 "," KEYS2
#define KEYS8 KEYS4 "," KEYS4
#define KEYS16 KEYS8 "," KEYS8
#define GET_MANY(keys) \
  PS_SQL("SELECT tenant_id, " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (PRIMARY)" \
         " WHERE (tenant_id, id) IN (" keys ")")
static ps_sql_t Q_GET_MANY[] = {GET_MANY(KEYS2), GET_MANY(KEYS4), GET_MANY(KEYS8), GET_MANY(KEYS16)};
static ps_sql_t Q_GET_SHARE = PS_SQL(
    "SELECT " PS_PROSPECT_COLUMNS " FROM prospects WHERE tenant_id = ? AND id = ?"
    " LOCK IN SHARE MODE");
static ps_sql_t Q_GET_UPDATE = PS_SQL(
    "SELECT " PS_PROSPECT_COLUMNS " FROM prospects WHERE tenant_id = ? AND id = ? FOR UPDATE");
static ps_sql_t Q_EXISTS = PS_SQL(
    "SELECT COUNT(*) FROM prospects WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_UPDATE = PS_SQL(
    "UPDATE prospects SET display_name = ?, first_name = ?, last_name = ?, company_name = ?,"
    " vat_number = ?, email = ?, phone = ?, website = ?, street = ?, postal_code = ?, city = ?,"
    " country_code = ?, language = ?, notes = ?, email_norm = ?, vat_norm = ?, phone_norm = ?,"
    " name_key = ?, norm_version = ?, version = ?, update_time = ?"
    " WHERE tenant_id = ? AND id = ? AND version = ?");
static ps_sql_t Q_CONVERT = PS_SQL(
    "UPDATE prospects SET state = ?, convert_time = ?, converting_invoice = ?, email_norm = ?,"
    " vat_norm = ?, phone_norm = ?, name_key = ?, norm_version = ?, version = ?, update_time = ?"
    " WHERE tenant_id = ? AND id = ? AND version = ?");
static ps_sql_t Q_SET_NORMS = PS_SQL(
    "UPDATE prospects SET email_norm = ?, vat_norm = ?, phone_norm = ?, name_key = ?,"
    " norm_version = ? WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_DOCUMENT_COUNT = PS_SQL(
    "SELECT COUNT(*) FROM document_links WHERE tenant_id = ? AND prospect_id = ?");
static ps_sql_t Q_DELETE_CONTACTS = PS_SQL(
    "DELETE FROM contact_persons WHERE tenant_id = ? AND prospect_id = ?");
static ps_sql_t Q_DELETE = PS_SQL("DELETE FROM prospects WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_TOMBSTONE = PS_SQL(
    "SELECT merged_into FROM prospect_tombstones WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_TOMBSTONE_INSERT = PS_SQL(
    "INSERT INTO prospect_tombstones (tenant_id, id, merged_into, merge_id, merge_time)"
    " VALUES (?, ?, ?, ?, ?)");

void ps_store_prospect_bind(ps_row_t *r, ps_prospect_cols_t *c) {
  ps_col_id(r, &c->id);
  ps_col_int(r, &c->kind);
  ps_col_int(r, &c->state);
  ps_col_str(r, &c->display_name);
  ps_col_str(r, &c->first_name);
  ps_col_str(r, &c->last_name);
  ps_col_str(r, &c->company_name);
  ps_col_str(r, &c->vat_number);
  ps_col_str(r, &c->email);
  ps_col_str(r, &c->phone);
  ps_col_str(r, &c->website);
  ps_col_str(r, &c->street);
  ps_col_str(r, &c->postal_code);
  ps_col_str(r, &c->city);
  ps_col_str(r, &c->country_code);
  ps_col_str(r, &c->language);
  ps_col_str(r, &c->notes);
  ps_col_u64(r, &c->version);
  ps_col_time(r, &c->create_us);
  ps_col_time(r, &c->update_us);
  ps_col_time(r, &c->convert_us);
  ps_col_str(r, &c->converting_invoice);
}

Prospects__V1__Prospect *ps_store_prospect_msg(ps_arena_t *a, const char *tenant,
                                               const ps_prospect_cols_t *c) {
  Prospects__V1__Prospect *m = ps_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  prospects__v1__prospect__init(m);
  if (!(m->name = ps_name_prospect(a, tenant, &c->id))) return NULL;
  m->kind = (Prospects__V1__PartyKind)c->kind;
  m->display_name = c->display_name;
  m->first_name = c->first_name;
  m->last_name = c->last_name;
  m->company_name = c->company_name;
  m->vat_number = c->vat_number;
  m->email = c->email;
  m->phone = c->phone;
  m->website = c->website;
  if (c->street[0] || c->postal_code[0] || c->city[0] || c->country_code[0]) {
    Prospects__V1__Address *ad = ps_arena_alloc(a, sizeof *ad);
    if (!ad) return NULL;
    prospects__v1__address__init(ad);
    ad->street = c->street;
    ad->postal_code = c->postal_code;
    ad->city = c->city;
    ad->country_code = c->country_code;
    m->address = ad;
  }
  m->language = c->language;
  m->notes = c->notes;
  m->state = (Prospects__V1__ProspectState)c->state;
  if (!(m->create_time = ps_db_timestamp(a, c->create_us))) return NULL;
  if (!(m->update_time = ps_db_timestamp(a, c->update_us))) return NULL;
  if (c->state == PROSPECTS__V1__PROSPECT_STATE__CUSTOMER && c->convert_us) {
    if (!(m->convert_time = ps_db_timestamp(a, c->convert_us))) return NULL;
  }
  m->converting_invoice = c->converting_invoice;
  if (!(m->etag = ps_db_etag(a, c->version))) return NULL;
  return m;
}

/* Cuts s (valid UTF-8) after max_chars code points, so that a normal form always fits its column
 * (VARCHAR counts characters) and is never cut inside a character. */
static void fit_chars(char *s, size_t max_chars) {
  size_t chars = 0;
  for (char *p = s; *p; p++) {
    if (((unsigned char)*p & 0xC0) != 0x80) {
      if (chars == max_chars) {
        *p = '\0';
        return;
      }
      chars++;
    }
  }
}

void ps_store_prospect_norms(const ps_prospect_cols_t *c, ps_prospect_norms_t *ret) {
  /* sizes follow the columns of the migration */
  ps_norm_email(c->email, ret->email, sizeof ret->email);
  ps_norm_vat(c->vat_number, c->country_code, ret->vat, sizeof ret->vat);
  ps_norm_phone(c->phone, c->country_code, ret->phone, sizeof ret->phone);
  ps_norm_name(c->display_name, ret->name_key, sizeof ret->name_key);
  fit_chars(ret->email, 254);
  fit_chars(ret->vat, 40);
  fit_chars(ret->phone, 32);
  fit_chars(ret->name_key, 255);
}

void ps_store_prospect_name_key_v1(const char *display_name, char out[1024]) {
  ps_norm_name_v1(display_name, out, 1024);
  fit_chars(out, 255);
}

/* Binds the normal forms of c (computed into nf) and the version that computed them: email_norm,
 * vat_norm, phone_norm, name_key, norm_version (every statement that writes them names them in
 * this order). */
static void bind_norms_in(ps_params_t *p, const ps_prospect_cols_t *c, ps_prospect_norms_t *nf) {
  ps_store_prospect_norms(c, nf);
  ps_param_str(p, nf->email);
  ps_param_str(p, nf->vat);
  ps_param_str(p, nf->phone);
  ps_param_str(p, nf->name_key);
  ps_param_i64(p, PS_NORM_VERSION);
}

static void bind_norms(ps_params_t *p, const ps_prospect_cols_t *c) {
  static __thread ps_prospect_norms_t nf; /* 2.5 KiB: kept off the worker's stack */
  bind_norms_in(p, c, &nf);
}

/* Binds the writable data columns, display_name .. notes, then their normal forms (into nf) and
 * norm_version, in the order both Q_INSERT and Q_UPDATE name them. */
static void bind_data_columns(ps_params_t *p, const ps_prospect_cols_t *c, ps_prospect_norms_t *nf) {
  const char *const cols[] = {c->display_name, c->first_name,  c->last_name,   c->company_name,
                              c->vat_number,   c->email,       c->phone,       c->website,
                              c->street,       c->postal_code, c->city,        c->country_code,
                              c->language,     c->notes};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) ps_param_str(p, cols[i]);
  bind_norms_in(p, c, nf);
}

void ps_store_prospect_bind_insert(ps_params_t *p, const char *tenant, const ps_prospect_cols_t *c,
                                   ps_prospect_norms_t *nf) {
  ps_param_str(p, tenant);
  ps_param_id(p, &c->id);
  ps_param_i64(p, c->kind);
  ps_param_i64(p, c->state);
  bind_data_columns(p, c, nf);
  ps_param_u64(p, c->version);
  ps_param_time(p, c->create_us);
  ps_param_time(p, c->update_us);
  if (c->convert_us) ps_param_time(p, c->convert_us);
  else ps_param_null(p);
  ps_param_str_or_null(p, c->converting_invoice);
}

int ps_store_prospect_insert(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                             ps_status_t *st) {
  static __thread ps_prospect_norms_t nf; /* 2.5 KiB: kept off the worker's stack */
  ps_params_t p;
  ps_params_init(&p);
  ps_store_prospect_bind_insert(&p, tenant, c, &nf);
  if (!ps_db_exec(db, &Q_INSERT, &p, st)) return -1;
  return ps_store_search_index(db, tenant, c, 0, st);
}

int ps_store_prospect_update(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                             uint64_t old_version, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  static __thread ps_prospect_norms_t nf; /* 2.5 KiB: kept off the worker's stack */
  bind_data_columns(&p, c, &nf);
  ps_param_u64(&p, c->version);
  ps_param_time(&p, c->update_us);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &c->id);
  ps_param_u64(&p, old_version);
  MYSQL_STMT *s = ps_db_exec(db, &Q_UPDATE, &p, st);
  if (!s) return -1;
  if (ps_db_affected(s) != 1)
    return ps_fail(st, PS_ABORTED, "ETAG_MISMATCH",
                   "The prospect was changed meanwhile; read it again and retry.");
  return ps_store_search_index(db, tenant, c, 1, st);
}

int ps_store_prospect_convert(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                              uint64_t old_version, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_i64(&p, c->state);
  ps_param_time(&p, c->convert_us);
  ps_param_str(&p, c->converting_invoice);
  bind_norms(&p, c); /* the word index is rewritten too: both at the current version */
  ps_param_u64(&p, c->version);
  ps_param_time(&p, c->update_us);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &c->id);
  ps_param_u64(&p, old_version);
  MYSQL_STMT *s = ps_db_exec(db, &Q_CONVERT, &p, st);
  if (!s) return -1;
  if (ps_db_affected(s) != 1)
    return ps_fail(st, PS_ABORTED, "", "The prospect was changed meanwhile; retry.");
  return ps_store_search_index(db, tenant, c, 1, st); /* the word index carries the state */
}

int ps_store_prospect_set_norms(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c,
                                ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  bind_norms(&p, c);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &c->id);
  return ps_db_exec(db, &Q_SET_NORMS, &p, st) ? 0 : -1;
}

int ps_store_prospect_document_count(ps_db_t *db, const char *tenant, const ps_id_t *id,
                                     int64_t *ret_n, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  return ps_db_query_i64(db, &Q_DOCUMENT_COUNT, &p, ret_n, st);
}

int ps_store_prospect_delete(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  if (!ps_db_exec(db, &Q_DELETE_CONTACTS, &p, st)) return -1;
  if (ps_store_search_unindex(db, tenant, id, st) != 0) return -1;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_DELETE, &p, st);
  if (!s) return -1;
  if (ps_db_affected(s) != 1)
    return ps_fail(st, PS_ABORTED, "", "The prospect was deleted meanwhile; retry.");
  return 0;
}

int ps_store_prospect_get(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                          ps_lock_t lock, ps_prospect_cols_t *ret, ps_status_t *st) {
  ps_sql_t *q = lock == PS_LOCK_UPDATE ? &Q_GET_UPDATE : lock == PS_LOCK_SHARE ? &Q_GET_SHARE : &Q_GET;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  MYSQL_STMT *s = ps_db_exec(db, q, &p, st);
  if (!s) return -1;
  ps_prospect_cols_t c;
  ps_row_t r;
  ps_row_init(&r);
  ps_store_prospect_bind(&r, &c);
  int rc = ps_db_fetch(db, s, &r, a, st);
  if (rc == 1) *ret = c;
  return rc;
}

int ps_store_prospect_get_many(ps_db_t *db, ps_arena_t *a, const ps_prospect_key_t *keys, size_t n,
                               ps_prospect_cols_t *ret, int *ret_found, ps_status_t *st) {
  if (n == 0) return 0;
  if (n > PS_STORE_GET_MANY_MAX)
    return ps_fail(st, PS_INTERNAL, "", "Too many keys for one read (%zu).", n);
  size_t size;
  int cls = ps_db_size_class(n, &size);
  ps_params_t p;
  ps_params_init(&p);
  for (size_t i = 0; i < size; i++) {
    const ps_prospect_key_t *k = &keys[i < n ? i : n - 1];
    ps_param_str(&p, k->tenant);
    ps_param_id(&p, &k->id);
  }
  for (size_t i = 0; i < n; i++) ret_found[i] = 0;
  MYSQL_STMT *s = ps_db_exec(db, &Q_GET_MANY[cls], &p, st);
  if (!s) return -1;
  char *tenant;
  ps_prospect_cols_t c;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_str(&r, &tenant);
  ps_store_prospect_bind(&r, &c);
  for (;;) {
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    for (size_t i = 0; i < n; i++) {
      if (!ret_found[i] && memcmp(&keys[i].id, &c.id, sizeof c.id) == 0 &&
          strcmp(keys[i].tenant, tenant) == 0) {
        ret[i] = c;
        ret_found[i] = 1;
      }
    }
  }
}

int ps_store_prospect_exists(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  int64_t n = 0;
  if (ps_db_query_i64(db, &Q_EXISTS, &p, &n, st) != 0) return -1;
  return n > 0;
}

/* The id a tombstone points to: 1 with *ret_into, 0 when id has no tombstone, -1 on error. */
static int tombstone_of(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_id_t *ret_into,
                        ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_TOMBSTONE, &p, st);
  if (!s) return -1;
  ps_id_t into;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_id(&r, &into);
  int rc = ps_db_fetch(db, s, &r, NULL, st);
  if (rc == 1) *ret_into = into;
  return rc;
}

int ps_store_prospect_chain(ps_db_t *db, const char *tenant, const ps_id_t *id,
                            ps_merge_chain_t *ret, ps_status_t *st) {
  ps_merge_chain_t ch;
  ch.n_via = 0;
  ch.end_live = 0;
  ps_id_t cur = *id, next;
  for (;;) {
    int rc = tombstone_of(db, tenant, &cur, &next, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (ch.n_via == PS_MERGE_CHAIN_MAX)
      return ps_fail(st, PS_INTERNAL, "", "A merge chain is longer than %d records.",
                     PS_MERGE_CHAIN_MAX);
    ch.via[ch.n_via++] = cur;
    cur = next;
  }
  if (ch.n_via > 0) {
    ch.end = cur;
    int live = ps_store_prospect_exists(db, tenant, &cur, st);
    if (live < 0) return -1;
    ch.end_live = live;
  }
  memcpy(ret, &ch, sizeof ch);
  return 0;
}

int ps_store_prospect_tombstone(ps_db_t *db, const char *tenant, const ps_id_t *id,
                                const ps_id_t *into, const ps_id_t *merge_id, int64_t time_us,
                                ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  ps_param_id(&p, into);
  ps_param_id(&p, merge_id);
  ps_param_time(&p, time_us);
  return ps_db_exec(db, &Q_TOMBSTONE_INSERT, &p, st) ? 0 : -1;
}
