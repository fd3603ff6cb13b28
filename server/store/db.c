/* MySQL/MariaDB connection of one worker: connect with timeouts, a per-connection cache of prepared
 * statements, bind helpers, transactions, and the mapping of MySQL errors to status codes.
 *
 * Reconnecting: MYSQL_OPT_RECONNECT is off (a silent reconnect would lose session settings,
 * prepared statements and, worst, an open transaction). When an error says the connection is gone,
 * the call that saw it fails with UNAVAILABLE and the handle is marked broken; the next use outside
 * a transaction closes it, connects again (at once; after a failed attempt, not before
 * PS_DB_RECONNECT_US have passed) and re-prepares statements lazily.
 *
 * Several hosts (cfg.hosts, e.g. the nodes of a Galera cluster): each handle starts at its own entry
 * (round robin over the handles made, so a pool of workers spreads over the hosts). A connection
 * that is lost, or a connect that fails, moves the handle on to the next entry; one connect tries
 * each entry at most once, each bounded by cfg.timeout_s, and stops trying new entries once that
 * much time has gone. A handle stays where it connected: when a node comes back, the connections
 * that moved away return to it only as they are lost again.
 *
 * Galera: at connect the handle asks `SHOW VARIABLES LIKE 'wsrep_on'`. On a Galera node it also
 * requires wsrep_ready = ON (a joining node, or one cut off from the primary component, is skipped
 * like a host that is down), and 1047 "WSREP has not yet prepared node" later drops the connection
 * and is retried by ps_db_tx (as are certification conflicts, which Galera reports as deadlocks,
 * 1213), and with several hosts so is a connection lost before its commit. With cfg.galera_sync_wait, ps_db_tx first runs `SET STATEMENT wsrep_sync_wait = 1 FOR
 * SELECT 1`, one round trip that waits until the node has applied every write committed before it,
 * so the transaction reads what any earlier call committed on any node (idempotency keys,
 * merge/convert/link preconditions). Plain reads outside ps_db_tx wait only with
 * cfg.galera_sync_wait 2 (session wsrep_sync_wait = 1): then a read on any connection sees every
 * write acknowledged before it, at the price of a causality round per read. */
#include "store/db.h"

#include "core/counters.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "google/protobuf/timestamp.pb-c.h"

/* The newest file under migrations/ (tests/unit/test_db.c checks that they agree). */
const char ps_db_required_schema[] = "20261202000031";

/* Minimum time between two connection attempts while the database is down. */
#define PS_DB_RECONNECT_US 250000

enum col_kind { COL_INT64, COL_UINT64, COL_INT, COL_STR, COL_BLOB, COL_ID, COL_TIME };

struct ps_db {
  MYSQL *mysql;                         /* NULL while disconnected */
  ps_db_config_t cfg;                   /* borrowed strings (see ps_db_config_t) */
  int broken;                           /* the connection must be replaced before its next use */
  int in_tx;                            /* a transaction is open */
  int ending;                           /* a snapshot's COMMIT was sent, its answer not read yet
                                           (ps_db_end_snapshot; db_settle reads it) */
  unsigned last_errno;                  /* MySQL error number of the last failure, 0 if none */
  int connected_before;                 /* a connection was made once (later ones are reconnects) */
  char last_error[256];                 /* its text, for the operator's log only */
  int64_t next_connect_us;              /* earliest time of the next connection attempt */
  unsigned host_ix;                     /* entry of cfg.hosts of the current or next connection */
  int galera;                           /* the connected server is a Galera node (wsrep_on) */
  MYSQL_STMT *open;                     /* statement whose result set may still be unread */
  MYSQL_STMT **stmts;                   /* prepared statements by ps_sql_t slot - 1, n_stmts of */
  int n_stmts;                          /* them: grown as statements are first used */
};

static int g_next_slot;                 /* last slot handed out (atomic) */
static atomic_uint g_next_host;         /* first host of the next handle made (round robin) */
static pthread_once_t g_lib_once = PTHREAD_ONCE_INIT;
static int g_lib_rc;

static void lib_init(void) { g_lib_rc = mysql_library_init(0, NULL, NULL); }

/* ---------------------------------------------------------------- error mapping
 * The classes of MySQL errors (ps_db_code_for_errno, ps_db_errno_*, ps_db_tx_retryable) are pure
 * functions in db_errors.c; the PS_MYSQL_HOSTS parser is in db_hosts.c. */

/* Counts a failed statement by the class of its error (metrics). */
static void count_error(unsigned err) {
  switch (err) {
  case ER_LOCK_DEADLOCK: ps_count(PS_C_DB_ERR_DEADLOCK); return;
  case ER_LOCK_WAIT_TIMEOUT: ps_count(PS_C_DB_ERR_LOCK_WAIT); return;
  case ER_DUP_ENTRY: case ER_DUP_ENTRY_WITH_KEY_NAME: case ER_DUP_KEY:
    ps_count(PS_C_DB_ERR_DUPLICATE);
    return;
  case ER_STATEMENT_TIMEOUT: ps_count(PS_C_DB_ERR_TIMEOUT); return;
  default:
    ps_count(ps_db_errno_drops_connection(err) ? PS_C_DB_ERR_CONNECTION : PS_C_DB_ERR_OTHER);
  }
}

/* Sets st from err, remembers it, and marks the connection for replacement when it is gone.
 * Never shows SQL or server text to the caller. Returns -1. */
static int db_fail(ps_db_t *db, unsigned err, ps_status_t *st) {
  count_error(err);
  db->last_errno = err;
  snprintf(db->last_error, sizeof db->last_error, "MySQL error %u", err);
  if (ps_db_errno_drops_connection(err)) db->broken = 1;
  switch (ps_db_code_for_errno(err)) {
  case PS_ALREADY_EXISTS:
    return ps_fail(st, PS_ALREADY_EXISTS, "", "The record already exists.");
  case PS_ABORTED:
    return ps_fail(st, PS_ABORTED, "", "The change conflicted with a concurrent one; retry it.");
  case PS_DEADLINE_EXCEEDED:
    return ps_fail(st, PS_DEADLINE_EXCEEDED, "", "The database did not answer in time.");
  case PS_RESOURCE_EXHAUSTED:
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, "DATABASE_FULL",
                   "The database is out of space; the change was not made. Retry once space is freed.");
  case PS_UNAVAILABLE:
    return ps_fail(st, PS_UNAVAILABLE, "", "The database is unavailable; retry later.");
  default:
    return ps_fail(st, PS_INTERNAL, "", "Internal database error.");
  }
}

static int db_fail_unavailable(ps_db_t *db, ps_status_t *st) {
  return ps_fail(st, PS_UNAVAILABLE, "", "The database is unavailable; retry later.");
}

static int db_fail_bug(ps_db_t *db, ps_status_t *st) {
  db->last_errno = 0;
  return ps_fail(st, PS_INTERNAL, "", "Internal database error.");
}

unsigned ps_db_last_errno(const ps_db_t *db) { return db->last_errno; }

const char *ps_db_last_error(const ps_db_t *db) { return db->last_error; }

/* Keeps the server's or client library's text of the last error, for ps_db_last_error. */
static void keep_error_text(ps_db_t *db, unsigned err, const char *text) {
  snprintf(db->last_error, sizeof db->last_error, "MySQL error %u: %s", err, text ? text : "");
}

/* ---------------------------------------------------------------- time, etags */

int64_t ps_db_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void us_to_mysql_time(int64_t us, MYSQL_TIME *t) {
  int64_t sec = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    sec -= 1;
  }
  time_t tt = (time_t)sec;
  struct tm tm;
  memset(t, 0, sizeof *t);
  if (!gmtime_r(&tt, &tm)) return;
  t->year = (unsigned)(tm.tm_year + 1900);
  t->month = (unsigned)(tm.tm_mon + 1);
  t->day = (unsigned)tm.tm_mday;
  t->hour = (unsigned)tm.tm_hour;
  t->minute = (unsigned)tm.tm_min;
  t->second = (unsigned)tm.tm_sec;
  t->second_part = (unsigned long)frac;
  t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

static int64_t mysql_time_to_us(const MYSQL_TIME *t) {
  struct tm tm = {0};
  tm.tm_year = (int)t->year - 1900;
  tm.tm_mon = (int)t->month - 1;
  tm.tm_mday = (int)t->day;
  tm.tm_hour = (int)t->hour;
  tm.tm_min = (int)t->minute;
  tm.tm_sec = (int)t->second;
  return (int64_t)timegm(&tm) * 1000000 + (int64_t)t->second_part;
}

Google__Protobuf__Timestamp *ps_db_timestamp(ps_arena_t *a, int64_t us) {
  Google__Protobuf__Timestamp *ts = ps_arena_alloc(a, sizeof *ts);
  if (!ts) return NULL;
  google__protobuf__timestamp__init(ts);
  int64_t sec = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    sec -= 1;
  }
  ts->seconds = sec;
  ts->nanos = (int32_t)(frac * 1000);
  return ts;
}

char *ps_db_etag(ps_arena_t *a, uint64_t version) {
  return ps_arena_printf(a, "v%llu", (unsigned long long)version);
}

int ps_db_etag_parse(const char *s, uint64_t *ret_version) {
  if (!s || s[0] != 'v' || s[1] < '0' || s[1] > '9') return -1;
  if (s[1] == '0' && s[2] != '\0') return -1; /* one spelling per version */
  uint64_t v = 0;
  for (const char *c = s + 1; *c; c++) {
    if (*c < '0' || *c > '9') return -1;
    unsigned d = (unsigned)(*c - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *ret_version = v;
  return 0;
}

/* ---------------------------------------------------------------- connection */

static void db_disconnect(ps_db_t *db) {
  if (db->mysql) {
    /* mysql_close detaches the statements first, so closing them afterwards sends nothing to a
     * server that may be gone. */
    mysql_close(db->mysql);
    db->mysql = NULL;
  }
  for (int i = 0; i < db->n_stmts; i++) {
    if (db->stmts[i]) {
      mysql_stmt_close(db->stmts[i]);
      db->stmts[i] = NULL;
    }
  }
  db->open = NULL;
  db->in_tx = 0;
  db->ending = 0;
}

/* Sets the options of a new handle m (timeouts, session settings, TLS). 0, or -1 when one is refused. */
static int set_options(const ps_db_t *db, MYSQL *m) {
  unsigned timeout = db->cfg.timeout_s ? db->cfg.timeout_s : 5;
  /* a statement waiting for a lock must hear "lock wait timeout" before the read times out */
  unsigned rw_timeout = timeout < PS_DB_LOCK_WAIT_S + 2 ? PS_DB_LOCK_WAIT_S + 2 : timeout;
  my_bool off = 0;
  int rc = 0;
  rc |= mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  rc |= mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
  rc |= mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
  rc |= mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
  rc |= mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  rc |= mysql_optionsv(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
  rc |= mysql_optionsv(m, MYSQL_INIT_COMMAND, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  rc |= mysql_optionsv(m, MYSQL_INIT_COMMAND,
                       "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
                       "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
  rc |= mysql_optionsv(m, MYSQL_INIT_COMMAND, "SET SESSION innodb_lock_wait_timeout = 3");
  _Static_assert(PS_DB_LOCK_WAIT_S == 3, "keep the init command in step with PS_DB_LOCK_WAIT_S");
  if (db->cfg.tls) {
    /* never in clear text: TLS is required and the server must prove its name with a
     * certificate from the CA (a connection that cannot do both fails) */
    my_bool on = 1;
    rc |= mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    rc |= mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    rc |= mysql_optionsv(m, MYSQL_OPT_SSL_CA, db->cfg.tls_ca);
    if (db->cfg.tls_cert && db->cfg.tls_cert[0]) {
      rc |= mysql_optionsv(m, MYSQL_OPT_SSL_CERT, db->cfg.tls_cert);
      rc |= mysql_optionsv(m, MYSQL_OPT_SSL_KEY, db->cfg.tls_key);
    }
  }
  return rc ? -1 : 0;
}

/* The value column of the first row of a fixed SHOW ... LIKE statement, into buf ("" when there is
 * no row). 0, or the MySQL error number. */
static unsigned show_value(MYSQL *m, const char *q, char *buf, size_t n) {
  buf[0] = '\0';
  if (mysql_real_query(m, q, strlen(q)) != 0) return mysql_errno(m);
  MYSQL_RES *res = mysql_store_result(m);
  if (!res) return mysql_errno(m) ? mysql_errno(m) : CR_UNKNOWN_ERROR;
  MYSQL_ROW row = mysql_fetch_row(res);
  if (row && mysql_num_fields(res) >= 2 && row[1]) snprintf(buf, n, "%s", row[1]);
  mysql_free_result(res);
  return 0;
}

/* One connection attempt to host:port (or sock). 0 with *ret_m and *ret_galera set, or the MySQL
 * error number (its text kept for the operator). A Galera node that is not ready counts as 1047. */
static unsigned connect_one(ps_db_t *db, const char *host, unsigned port, const char *sock,
                            MYSQL **ret_m, int *ret_galera) {
  MYSQL *m = mysql_init(NULL);
  if (!m) {
    keep_error_text(db, CR_OUT_OF_MEMORY, "out of memory");
    return CR_OUT_OF_MEMORY;
  }
  if (set_options(db, m) != 0) {
    mysql_close(m);
    keep_error_text(db, CR_UNKNOWN_ERROR, "a client option was refused");
    return CR_UNKNOWN_ERROR;
  }
  /* multi-statements: ps_db_begin_snapshot sends its two statements in one round trip. Every
   * text query the client sends is a constant of this file; input only ever goes through
   * prepared statements, which take one statement whatever this flag says. */
  if (!mysql_real_connect(m, host, db->cfg.user, db->cfg.password, db->cfg.database,
                          sock ? 0 : port, sock, CLIENT_MULTI_STATEMENTS)) {
    unsigned err = mysql_errno(m);
    keep_error_text(db, err, mysql_error(m));
    mysql_close(m);
    return err;
  }
  char v[32];
  unsigned err = show_value(m, "SHOW VARIABLES LIKE 'wsrep_on'", v, sizeof v);
  int galera = err == 0 && strcmp(v, "ON") == 0;
  if (err == 0 && galera) {
    err = show_value(m, "SHOW STATUS LIKE 'wsrep_ready'", v, sizeof v);
    if (err == 0 && strcmp(v, "ON") != 0) {
      keep_error_text(db, ER_UNKNOWN_COM_ERROR, "Galera node not ready (wsrep_ready OFF)");
      mysql_close(m);
      return ER_UNKNOWN_COM_ERROR;
    }
  }
  if (err == 0 && galera && db->cfg.galera_sync_wait >= 2) {
    /* every read waits for causality: read-your-writes across connections and nodes */
    static const char q[] = "SET SESSION wsrep_sync_wait = 1";
    if (mysql_real_query(m, q, sizeof q - 1) != 0) err = mysql_errno(m);
  }
  if (err != 0) {
    keep_error_text(db, err, mysql_error(m));
    mysql_close(m);
    return err;
  }
  *ret_m = m;
  *ret_galera = galera;
  return 0;
}

static int db_connect(ps_db_t *db, ps_status_t *st) {
  const char *sock = db->cfg.socket && db->cfg.socket[0] ? db->cfg.socket : NULL;
  const ps_db_hosts_t *hosts = !sock && db->cfg.hosts && db->cfg.hosts->n ? db->cfg.hosts : NULL;
  unsigned n = hosts ? hosts->n : 1;
  /* a lost connection moves on: its host may be the one that went away */
  if (db->mysql && n > 1) db->host_ix = (db->host_ix + 1) % n;
  db_disconnect(db);
  db->broken = 1;
  db->galera = 0;
  int64_t start = ps_db_now_us();
  db->next_connect_us = start + PS_DB_RECONNECT_US;
  if (g_lib_rc != 0) return db_fail_unavailable(db, st);
  int64_t budget_us = (int64_t)(db->cfg.timeout_s ? db->cfg.timeout_s : 5) * 1000000;
  unsigned err = 0;
  for (unsigned i = 0; i < n; i++) {
    if (i > 0) {
      if (ps_db_now_us() - start >= budget_us) break; /* bounded: each try waits up to the timeout */
      db->host_ix = (db->host_ix + 1) % n;
    }
    const char *host = sock ? "localhost"
                       : hosts ? hosts->h[db->host_ix % n].name
                       : (db->cfg.host && db->cfg.host[0] ? db->cfg.host : "127.0.0.1");
    unsigned port = hosts ? hosts->h[db->host_ix % n].port : db->cfg.port;
    MYSQL *m = NULL;
    int galera = 0;
    err = connect_one(db, host, port, sock, &m, &galera);
    if (err == 0) {
      db->mysql = m;
      db->galera = galera;
      db->broken = 0;
      db->next_connect_us = 0; /* the wait is for failed attempts: a lost good connection is replaced at once */
      if (db->connected_before) ps_count(PS_C_DB_RECONNECTS);
      db->connected_before = 1;
      return 0;
    }
    ps_count(PS_C_DB_ERR_CONNECTION);
  }
  db->last_errno = err;
  /* whatever went wrong (down, refused, bad credentials, unknown database, a Galera node not ready)
   * the database cannot serve this call; the detail is for the operator, who sees it in
   * ps_db_check_schema at start */
  return ps_fail(st, PS_UNAVAILABLE, "", "The database is unavailable; retry later.");
}

/* Reads the answer to the COMMIT that ended a snapshot (ps_db_end_snapshot), if it has not been
 * read: the connection takes no other command before. When that COMMIT failed, the connection is
 * replaced (its transaction only read, so nothing is lost). */
static void db_settle(ps_db_t *db) {
  if (!db->ending) return;
  db->ending = 0;
  if (!db->mysql || db->broken) return;
  if (mysql_read_query_result(db->mysql) != 0) {
    keep_error_text(db, mysql_errno(db->mysql), mysql_error(db->mysql));
    db->broken = 1;
  }
}

/* Makes sure there is a usable connection. Inside a transaction a lost connection stays lost. */
static int db_ensure(ps_db_t *db, ps_status_t *st) {
  db_settle(db);
  if (db->mysql && !db->broken) return 0;
  if (db->in_tx) return db_fail_unavailable(db, st);
  if (ps_db_now_us() < db->next_connect_us) return db_fail_unavailable(db, st);
  return db_connect(db, st);
}

ps_db_t *ps_db_new(const ps_db_config_t *cfg) {
  pthread_once(&g_lib_once, lib_init);
  ps_db_t *db = calloc(1, sizeof *db);
  if (!db) return NULL;
  db->cfg = *cfg;
  db->broken = 1;
  if (cfg->hosts && cfg->hosts->n > 1)
    db->host_ix = atomic_fetch_add(&g_next_host, 1) % cfg->hosts->n;
  ps_status_t st;
  (void)db_connect(db, &st); /* down is fine: the next use retries */
  return db;
}

void ps_db_free(ps_db_t *db) {
  if (!db) return;
  db_disconnect(db);
  free(db->stmts);
  free(db);
}

/* Discards a result set that was not read to the end, so the connection can take a new command. */
static void db_discard_open(ps_db_t *db) {
  if (db->open) {
    mysql_stmt_free_result(db->open);
    db->open = NULL;
  }
}

/* 0 when the connection answers (and, on Galera, the node is ready); else the error number, its
 * text kept. */
static unsigned ping_error(ps_db_t *db) {
  if (mysql_ping(db->mysql) != 0) {
    unsigned err = mysql_errno(db->mysql);
    keep_error_text(db, err, mysql_error(db->mysql));
    return err ? err : CR_SERVER_GONE_ERROR;
  }
  if (!db->galera) return 0;
  /* a Galera node answers pings while it is cut off from the primary component */
  char v[32];
  unsigned err = show_value(db->mysql, "SHOW STATUS LIKE 'wsrep_ready'", v, sizeof v);
  if (err) {
    keep_error_text(db, err, mysql_error(db->mysql));
    return err;
  }
  if (strcmp(v, "ON") != 0) {
    keep_error_text(db, ER_UNKNOWN_COM_ERROR, "Galera node not ready (wsrep_ready OFF)");
    return ER_UNKNOWN_COM_ERROR;
  }
  return 0;
}

int ps_db_ping(ps_db_t *db, ps_status_t *st) {
  if (db_ensure(db, st) != 0) return -1;
  db_discard_open(db);
  unsigned err = ping_error(db);
  if (err == 0) return 0;
  db->broken = 1; /* whatever failed, replace the connection */
  db->last_errno = err;
  /* with several hosts another one may answer: try them now, not at the next ping */
  if (!db->in_tx && db->cfg.hosts && db->cfg.hosts->n > 1 && !(db->cfg.socket && db->cfg.socket[0]))
    return db_connect(db, st);
  return db_fail_unavailable(db, st);
}

/* ---------------------------------------------------------------- parameters */

void ps_params_init(ps_params_t *p) {
  p->n = 0;
  p->overflow = 0;
}

static MYSQL_BIND *param_next(ps_params_t *p) {
  if (p->n >= PS_DB_MAX_PARAMS) {
    p->overflow = 1;
    return NULL;
  }
  MYSQL_BIND *b = &p->bind[p->n++];
  memset(b, 0, sizeof *b);
  return b;
}

void ps_param_null(ps_params_t *p) {
  MYSQL_BIND *b = param_next(p);
  if (b) b->buffer_type = MYSQL_TYPE_NULL;
}

void ps_param_strn(ps_params_t *p, const char *s, size_t n) {
  if (!s) {
    ps_param_null(p);
    return;
  }
  MYSQL_BIND *b = param_next(p);
  if (!b) return;
  b->buffer_type = MYSQL_TYPE_STRING;
  b->buffer = (void *)s;
  b->buffer_length = (unsigned long)n;
}

void ps_param_str(ps_params_t *p, const char *s) { ps_param_strn(p, s, s ? strlen(s) : 0); }

void ps_param_str_or_null(ps_params_t *p, const char *s) {
  if (!s || !s[0]) ps_param_null(p);
  else ps_param_str(p, s);
}

void ps_param_blob(ps_params_t *p, const void *data, size_t n) {
  static const char empty[1];
  MYSQL_BIND *b = param_next(p);
  if (!b) return;
  b->buffer_type = MYSQL_TYPE_BLOB; /* sent as binary, never converted as text */
  b->buffer = (void *)(data ? data : empty);
  b->buffer_length = (unsigned long)(data ? n : 0);
}

void ps_param_id(ps_params_t *p, const ps_id_t *id) { ps_param_blob(p, id->b, sizeof id->b); }

void ps_param_i64(ps_params_t *p, int64_t v) {
  unsigned i = p->n;
  MYSQL_BIND *b = param_next(p);
  if (!b) return;
  p->val[i].i = v;
  b->buffer_type = MYSQL_TYPE_LONGLONG;
  b->buffer = &p->val[i].i;
}

void ps_param_u64(ps_params_t *p, uint64_t v) {
  unsigned i = p->n;
  MYSQL_BIND *b = param_next(p);
  if (!b) return;
  p->val[i].u = v;
  b->buffer_type = MYSQL_TYPE_LONGLONG;
  b->is_unsigned = 1;
  b->buffer = &p->val[i].u;
}

void ps_param_time(ps_params_t *p, int64_t us) {
  unsigned i = p->n;
  MYSQL_BIND *b = param_next(p);
  if (!b) return;
  us_to_mysql_time(us, &p->val[i].t);
  b->buffer_type = MYSQL_TYPE_DATETIME;
  b->buffer = &p->val[i].t;
}

/* ---------------------------------------------------------------- result columns */

void ps_row_init(ps_row_t *r) {
  r->n = 0;
  r->overflow = 0;
  r->bound = 0;
}

static MYSQL_BIND *col_next(ps_row_t *r, enum col_kind kind, void *dst) {
  if (r->n >= PS_DB_MAX_COLS) {
    r->overflow = 1;
    return NULL;
  }
  unsigned i = r->n++;
  MYSQL_BIND *b = &r->bind[i];
  memset(b, 0, sizeof *b);
  b->length = &r->len[i];
  b->is_null = &r->is_null[i];
  b->error = &r->error[i];
  r->kind[i] = (unsigned char)kind;
  r->dst[i] = dst;
  return b;
}

static void col_number(ps_row_t *r, enum col_kind kind, void *dst) {
  unsigned i = r->n;
  MYSQL_BIND *b = col_next(r, kind, dst);
  if (!b) return;
  b->buffer_type = MYSQL_TYPE_LONGLONG;
  b->is_unsigned = kind == COL_UINT64;
  b->buffer = &r->val[i].i;
}

void ps_col_i64(ps_row_t *r, int64_t *dst) { col_number(r, COL_INT64, dst); }
void ps_col_u64(ps_row_t *r, uint64_t *dst) { col_number(r, COL_UINT64, dst); }
void ps_col_int(ps_row_t *r, int *dst) { col_number(r, COL_INT, dst); }

static void col_bytes(ps_row_t *r, enum col_kind kind, void *dst) {
  MYSQL_BIND *b = col_next(r, kind, dst);
  if (!b) return;
  /* length only; the value is fetched into the arena with mysql_stmt_fetch_column */
  b->buffer_type = kind == COL_STR ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
  b->buffer = &r->dummy;
  b->buffer_length = 0;
}

void ps_col_str(ps_row_t *r, char **dst) { col_bytes(r, COL_STR, dst); }
void ps_col_blob(ps_row_t *r, ps_blob_t *dst) { col_bytes(r, COL_BLOB, dst); }

void ps_col_id(ps_row_t *r, ps_id_t *dst) {
  MYSQL_BIND *b = col_next(r, COL_ID, dst);
  if (!b) return;
  b->buffer_type = MYSQL_TYPE_BLOB;
  b->buffer = dst->b;
  b->buffer_length = sizeof dst->b;
}

void ps_col_time(ps_row_t *r, int64_t *dst) {
  unsigned i = r->n;
  MYSQL_BIND *b = col_next(r, COL_TIME, dst);
  if (!b) return;
  b->buffer_type = MYSQL_TYPE_DATETIME;
  b->buffer = &r->val[i].t;
  b->buffer_length = sizeof r->val[i].t;
}

/* ---------------------------------------------------------------- statements */

static int sql_slot(ps_sql_t *q) {
  int s = __atomic_load_n(&q->slot, __ATOMIC_ACQUIRE);
  if (s) return s;
  int mine = __atomic_add_fetch(&g_next_slot, 1, __ATOMIC_ACQ_REL);
  int expected = 0;
  if (__atomic_compare_exchange_n(&q->slot, &expected, mine, 0, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE))
    return mine;
  return expected; /* another thread won; its number is the one */
}

/* Slots are handed out in the order statements are first used, process-wide, so the table of a
 * connection grows to the highest slot it meets (before, a fixed table of 128 made every statement
 * past the 128th one a process used fail, and the server holds more than that). */
static int stmt_room(ps_db_t *db, int slot) {
  if (slot <= db->n_stmts) return 0;
  int n = db->n_stmts ? db->n_stmts : PS_DB_STMTS_INITIAL;
  while (n < slot) n *= 2;
  MYSQL_STMT **grown = realloc(db->stmts, sizeof *grown * (size_t)n);
  if (!grown) return -1;
  memset(grown + db->n_stmts, 0, sizeof *grown * (size_t)(n - db->n_stmts));
  db->stmts = grown;
  db->n_stmts = n;
  return 0;
}

static MYSQL_STMT *stmt_get(ps_db_t *db, ps_sql_t *q, ps_status_t *st) {
  int slot = sql_slot(q);
  if (slot < 1) {
    db_fail_bug(db, st);
    return NULL;
  }
  if (stmt_room(db, slot) != 0) {
    ps_fail(st, PS_INTERNAL, "", "Out of memory preparing a database statement.");
    return NULL;
  }
  MYSQL_STMT *s = db->stmts[slot - 1];
  if (s) return s;
  s = mysql_stmt_init(db->mysql);
  if (!s) {
    ps_fail(st, PS_INTERNAL, "", "Out of memory preparing a database statement.");
    return NULL;
  }
  if (mysql_stmt_prepare(s, q->text, (unsigned long)strlen(q->text)) != 0) {
    unsigned err = mysql_stmt_errno(s);
    char text[200];
    snprintf(text, sizeof text, "%s", mysql_stmt_error(s));
    mysql_stmt_close(s);
    db_fail(db, err, st);
    keep_error_text(db, err, text);
    return NULL;
  }
  db->stmts[slot - 1] = s;
  return s;
}

static void stmt_forget(ps_db_t *db, ps_sql_t *q) {
  int slot = q->slot;
  if (slot >= 1 && slot <= db->n_stmts && db->stmts[slot - 1]) {
    if (db->open == db->stmts[slot - 1]) db->open = NULL;
    mysql_stmt_close(db->stmts[slot - 1]);
    db->stmts[slot - 1] = NULL;
  }
}

MYSQL_STMT *ps_db_exec(ps_db_t *db, ps_sql_t *q, ps_params_t *p, ps_status_t *st) {
  db->last_errno = 0;
  if (p && p->overflow) {
    db_fail_bug(db, st);
    return NULL;
  }
  if (db_ensure(db, st) != 0) return NULL;
  db_discard_open(db);
  for (int attempt = 0;; attempt++) {
    MYSQL_STMT *s = stmt_get(db, q, st);
    if (!s) return NULL;
    unsigned n = p ? p->n : 0;
    if (mysql_stmt_param_count(s) != n) {
      db_fail_bug(db, st);
      return NULL;
    }
    if (n && mysql_stmt_bind_param(s, p->bind)) {
      db_fail(db, mysql_stmt_errno(s), st);
      return NULL;
    }
    if (mysql_stmt_execute(s) != 0) {
      unsigned err = mysql_stmt_errno(s);
      if (err == ER_NEED_REPREPARE && attempt == 0) {
        stmt_forget(db, q); /* a table changed under the statement: prepare it again */
        continue;
      }
      db_fail(db, err, st);
      keep_error_text(db, err, mysql_stmt_error(s));
      return NULL;
    }
    if (mysql_stmt_field_count(s) > 0) db->open = s;
    return s;
  }
}

int ps_db_size_class(size_t n, size_t *ret_size) {
  int cls = 0;
  size_t size = 2;
  while (size < n) {
    size *= 2;
    cls++;
  }
  *ret_size = size;
  return cls;
}

int ps_db_query_i64(ps_db_t *db, ps_sql_t *q, ps_params_t *p, int64_t *ret, ps_status_t *st) {
  MYSQL_STMT *s = ps_db_exec(db, q, p, st);
  if (!s) return -1;
  int64_t n = 0;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_i64(&r, &n);
  if (ps_db_fetch(db, s, &r, NULL, st) < 0) return -1;
  *ret = n;
  return 0;
}

int ps_db_fetch(ps_db_t *db, MYSQL_STMT *s, ps_row_t *r, ps_arena_t *a, ps_status_t *st) {
  if (r->overflow || mysql_stmt_field_count(s) != r->n) return db_fail_bug(db, st);
  if (!r->bound) {
    if (mysql_stmt_bind_result(s, r->bind)) return db_fail(db, mysql_stmt_errno(s), st);
    r->bound = 1;
  }
  int rc = mysql_stmt_fetch(s);
  if (rc == MYSQL_NO_DATA) {
    if (db->open == s) db->open = NULL;
    return 0;
  }
  if (rc == 1) {
    /* an error that arrives with the rows (a lock wait or deadlock of a locking read is reported
     * while its rows stream in) is set on the connection, not on the statement */
    unsigned err = mysql_stmt_errno(s);
    const char *text = mysql_stmt_error(s);
    if (err == 0) {
      err = mysql_errno(db->mysql);
      text = mysql_error(db->mysql);
    }
    db_fail(db, err, st);
    keep_error_text(db, err, text);
    return -1;
  }
  /* 0 or MYSQL_DATA_TRUNCATED: text and blobs are deliberately "truncated" to length only */
  for (unsigned i = 0; i < r->n; i++) {
    int null = r->is_null[i];
    switch ((enum col_kind)r->kind[i]) {
    case COL_INT64:
      *(int64_t *)r->dst[i] = null ? 0 : r->val[i].i;
      break;
    case COL_UINT64:
      *(uint64_t *)r->dst[i] = null ? 0 : (uint64_t)r->val[i].i;
      break;
    case COL_INT:
      *(int *)r->dst[i] = null ? 0 : (int)r->val[i].i;
      break;
    case COL_TIME:
      *(int64_t *)r->dst[i] = null ? 0 : mysql_time_to_us(&r->val[i].t);
      break;
    case COL_ID:
      if (null) memset(r->dst[i], 0, sizeof(ps_id_t));
      else if (r->len[i] != sizeof(ps_id_t)) return db_fail_bug(db, st);
      break;
    case COL_STR:
    case COL_BLOB: {
      unsigned long len = null ? 0 : r->len[i];
      unsigned char *buf = NULL;
      if (r->kind[i] == COL_STR || len > 0) {
        buf = ps_arena_alloc(a, (size_t)len + 1); /* zeroed: text ends with NUL */
        if (!buf) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory reading a row.");
      }
      if (len > 0) {
        MYSQL_BIND b;
        unsigned long got = 0;
        my_bool isnull = 0;
        memset(&b, 0, sizeof b);
        b.buffer_type = r->kind[i] == COL_STR ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b.buffer = buf;
        b.buffer_length = len;
        b.length = &got;
        b.is_null = &isnull;
        if (mysql_stmt_fetch_column(s, &b, i, 0)) return db_fail(db, mysql_stmt_errno(s), st);
        buf[len] = '\0';
      }
      if (r->kind[i] == COL_STR) {
        *(char **)r->dst[i] = (char *)buf;
      } else {
        ps_blob_t *out = r->dst[i];
        out->data = len ? buf : NULL;
        out->len = len;
      }
      break;
    }
    }
  }
  return 1;
}

int ps_db_store_examined(ps_db_t *db, MYSQL_STMT *s, int *ret_stopped, ps_status_t *st) {
  *ret_stopped = 0;
  if (mysql_stmt_store_result(s) == 0) {
    *ret_stopped = mysql_stmt_warning_count(s) > 0;
    return 0;
  }
  unsigned err = mysql_stmt_errno(s);
  char text[200];
  snprintf(text, sizeof text, "%s", mysql_stmt_error(s));
  /* after an error in the result, the next execution of s waits forever unless s is reset */
  mysql_stmt_reset(s);
  if (db->open == s) db->open = NULL;
  if (err == ER_FILSORT_ABORT) {
    *ret_stopped = 1;
    return 0;
  }
  db_fail(db, err, st);
  keep_error_text(db, err, text);
  return -1;
}

uint64_t ps_db_affected(MYSQL_STMT *s) {
  my_ulonglong n = mysql_stmt_affected_rows(s);
  return n == (my_ulonglong)-1 ? 0 : (uint64_t)n;
}

/* ---------------------------------------------------------------- transactions */

/* Starts a transaction; with causal on a Galera node (cfg.galera_sync_wait), first waits until the
 * node has applied every write committed in the cluster before now. */
static int db_begin(ps_db_t *db, int causal, ps_status_t *st) {
  db->last_errno = 0;
  if (db->in_tx) return db_fail_bug(db, st);
  if (db_ensure(db, st) != 0) return -1;
  db_discard_open(db);
  if (causal && db->galera && db->cfg.galera_sync_wait) {
    static const char wait[] = "SET STATEMENT wsrep_sync_wait = 1 FOR SELECT 1";
    if (mysql_real_query(db->mysql, wait, sizeof wait - 1) != 0)
      return db_fail(db, mysql_errno(db->mysql), st);
    MYSQL_RES *res = mysql_store_result(db->mysql);
    if (!res) return db_fail(db, mysql_errno(db->mysql) ? mysql_errno(db->mysql) : CR_UNKNOWN_ERROR, st);
    mysql_free_result(res);
    ps_count(PS_C_DB_SYNC_WAITS);
  }
  static const char q[] = "START TRANSACTION";
  if (mysql_real_query(db->mysql, q, sizeof q - 1) != 0) return db_fail(db, mysql_errno(db->mysql), st);
  db->in_tx = 1;
  return 0;
}

int ps_db_begin(ps_db_t *db, ps_status_t *st) { return db_begin(db, 0, st); }

int ps_db_begin_snapshot(ps_db_t *db, ps_status_t *st) {
  db->last_errno = 0;
  if (db->in_tx) return db_fail_bug(db, st);
  if (db_ensure(db, st) != 0) return -1;
  db_discard_open(db);
  /* the isolation level of the next transaction only (the session keeps READ COMMITTED), and the
   * transaction, in one round trip: the server runs the second only when the first succeeded */
  static const char q[] = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; "
                          "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
  if (mysql_real_query(db->mysql, q, sizeof q - 1) != 0)
    return db_fail(db, mysql_errno(db->mysql), st);
  int started = 0, r;
  while ((r = mysql_next_result(db->mysql)) == 0) started = 1; /* neither returns rows */
  if (r > 0 || !started) {
    db_fail(db, r > 0 ? mysql_errno(db->mysql) : CR_UNKNOWN_ERROR, st);
    db->broken = 1; /* the level set for the next transaction must not reach another one */
    return -1;
  }
  db->in_tx = 1;
  return 0;
}

int ps_db_commit(ps_db_t *db, ps_status_t *st) {
  db->last_errno = 0;
  if (!db->in_tx) return db_fail_bug(db, st);
  if (db->broken || !db->mysql) {
    db->in_tx = 0;
    return db_fail_unavailable(db, st);
  }
  db_discard_open(db);
  if (mysql_commit(db->mysql) != 0) {
    unsigned err = mysql_errno(db->mysql);
    db_fail(db, err, st);
    ps_db_rollback(db);
    db->last_errno = err;
    return -1;
  }
  db->in_tx = 0;
  return 0;
}

void ps_db_end_snapshot(ps_db_t *db) {
  if (!db->in_tx) return;
  db->in_tx = 0;
  if (db->broken || !db->mysql) return; /* the server ends it when the connection goes */
  db_discard_open(db);
  /* sent, not waited for: the next command of this connection reads the answer first (db_settle) */
  static const char q[] = "COMMIT";
  if (mysql_send_query(db->mysql, q, sizeof q - 1) != 0) db->broken = 1;
  else db->ending = 1;
}

void ps_db_rollback(ps_db_t *db) {
  if (!db->in_tx) return;
  db->in_tx = 0;
  if (db->broken || !db->mysql) return; /* the server rolls back when the connection goes */
  db_discard_open(db);
  if (mysql_rollback(db->mysql) != 0) db->broken = 1;
}

int ps_db_tx(ps_db_t *db, ps_db_tx_fn fn, void *arg, ps_status_t *st) {
  for (int attempt = 1;; attempt++) {
    int at_commit = 0;
    int rc = db_begin(db, 1, st);
    if (rc == 0) {
      rc = fn(db, arg, st);
      if (rc == 0) {
        at_commit = 1;
        rc = ps_db_commit(db, st);
      }
      if (rc == 0) return 0;
    }
    unsigned err = db->last_errno;
    ps_db_rollback(db);
    int failover = db->cfg.hosts && db->cfg.hosts->n > 1 && !(db->cfg.socket && db->cfg.socket[0]);
    if (!ps_db_tx_retryable(err, at_commit, failover) || attempt >= PS_DB_TX_ATTEMPTS) return -1;
    ps_count(PS_C_DB_TX_RETRIES);
    /* a short, growing, jittered pause lets the winner of the race finish */
    struct timespec ts = {0, (long)(attempt * 2000000L + (ps_db_now_us() % 1000) * 1000L)};
    nanosleep(&ts, NULL);
    ps_status_clear(st);
  }
}

/* ---------------------------------------------------------------- schema */

int ps_db_check_schema(ps_db_t *db, ps_status_t *st) {
  static ps_sql_t q_newest = PS_SQL("SELECT MAX(version) FROM schema_migrations");
  static ps_sql_t q_has = PS_SQL("SELECT COUNT(*) FROM schema_migrations WHERE version = ?");
  ps_arena_t a;
  if (ps_arena_init(&a, 1024) != 0) {
    ps_arena_destroy(&a);
    return ps_fail(st, PS_INTERNAL, "", "Out of memory.");
  }
  int rc = -1;
  char *newest = NULL;
  int64_t has = 0;
  ps_row_t r;
  MYSQL_STMT *s = ps_db_exec(db, &q_newest, NULL, st);
  if (!s) {
    if (db->last_errno == ER_NO_SUCH_TABLE)
      ps_fail(st, PS_FAILED_PRECONDITION, "SCHEMA_BEHIND",
              "The database has no migrations applied; this server needs schema version %s "
              "(apply migrations/ with dbmate).", ps_db_required_schema);
    goto out;
  }
  ps_row_init(&r);
  ps_col_str(&r, &newest);
  if (ps_db_fetch(db, s, &r, &a, st) < 0) goto out;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, ps_db_required_schema);
  if (!(s = ps_db_exec(db, &q_has, &p, st))) goto out;
  ps_row_init(&r);
  ps_col_i64(&r, &has);
  if (ps_db_fetch(db, s, &r, &a, st) < 0) goto out;
  if (has > 0) {
    rc = 0;
  } else {
    ps_fail(st, PS_FAILED_PRECONDITION, "SCHEMA_BEHIND",
            "The database schema is behind: this server needs migration %s, the newest applied is "
            "%s (apply migrations/ with dbmate).",
            ps_db_required_schema, newest && newest[0] ? newest : "none");
  }
out:
  ps_arena_destroy(&a);
  return rc;
}
