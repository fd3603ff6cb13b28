/* A MySQL/MariaDB connection owned by one worker, with its prepared statements.
 * Not thread-safe: each worker thread owns one. The store does not log; it reports through
 * ps_status_t (MySQL errors mapped as DESIGN.md says). */
#ifndef PS_STORE_DB_H
#define PS_STORE_DB_H

#include <stdint.h>

#include "core/status.h"

/* Several database servers (the nodes of a Galera cluster): names or IPv4 addresses with ports. */
#define PS_DB_MAX_HOSTS 16
typedef struct ps_db_hosts {
  unsigned n;                   /* entries used */
  struct {
    char name[256];             /* host name or address ("localhost" would mean the unix socket) */
    unsigned port;              /* TCP port */
  } h[PS_DB_MAX_HOSTS];
} ps_db_hosts_t;

/* Parses "host:port,host:port,..." (spaces around entries ignored; an entry without ":port" takes
 * default_port) into *ret. 0, or -1 (ret untouched) when the list is empty, an entry is empty or too
 * long, a port is not 1..65535, or there are more than PS_DB_MAX_HOSTS. Pure; thread-safe. */
int ps_db_hosts_parse(const char *list, unsigned default_port, ps_db_hosts_t *ret);

/* Where and how to connect. Strings are borrowed for the lifetime of the ps_db_t. */
typedef struct ps_db_config {
  const char *host;        /* "127.0.0.1"; ignored when socket or hosts is set */
  unsigned port;           /* TCP port */
  const char *socket;      /* unix socket path, or NULL/"" for TCP */
  const char *user;
  const char *password;    /* never logged */
  const char *database;
  unsigned timeout_s;      /* connect/read/write timeout in seconds */
  int tls;                 /* 1: TLS required, the server's certificate and host name verified */
  const char *tls_ca;      /* CA bundle of the server's certificate (tls) */
  const char *tls_cert;    /* client certificate and key, or NULL/"" */
  const char *tls_key;
  const ps_db_hosts_t *hosts; /* NULL or empty: host/port alone. Else each connection starts at its
                                 own entry (round robin over the handles made), and a failed connect
                                 or a lost connection moves it on to the next entry */
  int galera_sync_wait;    /* on a Galera node (wsrep_on, checked at connect): 1 = ps_db_tx waits
                              until the node has applied every write committed anywhere before it
                              starts (wsrep_sync_wait); 2 = that, and every SELECT outside ps_db_tx
                              waits too (session wsrep_sync_wait = 1); 0 = never; ignored on other
                              servers */
} ps_db_config_t;

typedef struct ps_db ps_db_t;

/* Creates a handle and tries to connect. A handle is returned even when the database is down
 * (it reconnects on the next use); NULL only when out of memory. */
ps_db_t *ps_db_new(const ps_db_config_t *cfg);

/* Closes the connection and frees the handle and its statements. Accepts NULL. */
void ps_db_free(ps_db_t *db);

/* Checks the connection (reconnecting when lost). 0 when the database answers, else -1 with st
 * set to UNAVAILABLE. */
int ps_db_ping(ps_db_t *db, ps_status_t *st);

/* The MySQL error number and text of the last failure on this connection ("" when none), for the
 * operator's log (e.g. why start-up could not connect). Never send it to a caller: it may hold
 * server detail. Valid until the next call on db. */
const char *ps_db_last_error(const ps_db_t *db);

/* The schema version this build needs (the newest migration's version). */
extern const char ps_db_required_schema[];

/* Checks that migration ps_db_required_schema has been applied. 0 when it has; -1 with st
 * FAILED_PRECONDITION (message names the version needed and the newest applied) when the schema is
 * behind, or UNAVAILABLE when the database cannot be reached. */
int ps_db_check_schema(ps_db_t *db, ps_status_t *st);

/* ==================================================================================================
 * For the store (server/store/ *.c) only: statements, parameters, rows, transactions.
 *
 * Session settings of every connection: utf8mb4, time_zone '+00:00' (DATETIME columns hold UTC),
 * READ COMMITTED (row locks are taken explicitly with FOR UPDATE / LOCK IN SHARE MODE where a
 * rule needs them), strict sql_mode, innodb_lock_wait_timeout PS_DB_LOCK_WAIT_S seconds.
 *
 * Typical use:
 *   static ps_sql_t Q_GET = PS_SQL("SELECT a, b FROM t WHERE tenant_id = ? AND id = ?");
 *   ps_params_t p; ps_params_init(&p); ps_param_str(&p, tenant); ps_param_id(&p, id);
 *   MYSQL_STMT *s = ps_db_exec(db, &Q_GET, &p, st);          // NULL: st set
 *   ps_row_t r; ps_row_init(&r); ps_col_str(&r, &a); ps_col_u64(&r, &b);
 *   int rc = ps_db_fetch(db, s, &r, arena, st);               // 1 row, 0 no (more) rows, -1 error
 * ================================================================================================== */

#include <mysql.h>

#include "core/arena.h"
#include "core/ids.h"

/* Seconds a statement waits for a row lock before failing with ABORTED (1205). */
#define PS_DB_LOCK_WAIT_S 3
/* Times ps_db_tx runs a transaction that hit a deadlock or lock wait timeout. */
#define PS_DB_TX_ATTEMPTS 3
/* A connection's table of prepared statements starts with room for this many (ps_sql_t objects,
 * numbered process-wide as they are first used) and grows as more are used. Parameters and
 * columns per statement: */
#define PS_DB_STMTS_INITIAL 128
#define PS_DB_MAX_PARAMS 224 /* the multi-row inserts of an import: 8 records of 28 columns */
#define PS_DB_MAX_COLS 40

/* One SQL statement with ? placeholders, prepared once per connection on first use and reused.
 * Declare each as a file-level `static ps_sql_t Q = PS_SQL("...");` (the text is a constant, never
 * built from input). `slot` is assigned process-wide on first use (thread-safe). */
typedef struct ps_sql {
  const char *text; /* SQL text */
  int slot;         /* 1-based index into each connection's statement cache; 0 until first use */
} ps_sql_t;
#define PS_SQL(text) {(text), 0}

/* Input parameters of one execution, bound in order. Values are referenced, not copied, except
 * numbers and times (kept in val). Strings must stay valid until ps_db_exec returns. */
typedef struct ps_params {
  unsigned n;                            /* parameters added */
  int overflow;                          /* more than PS_DB_MAX_PARAMS were added (a bug) */
  MYSQL_BIND bind[PS_DB_MAX_PARAMS];     /* the bindings */
  union {
    int64_t i;
    uint64_t u;
    MYSQL_TIME t;
  } val[PS_DB_MAX_PARAMS];               /* storage for numbers and times */
} ps_params_t;

void ps_params_init(ps_params_t *p);
void ps_param_str(ps_params_t *p, const char *s);                /* text; NULL binds SQL NULL */
void ps_param_strn(ps_params_t *p, const char *s, size_t n);     /* n bytes of text */
void ps_param_str_or_null(ps_params_t *p, const char *s);        /* "" or NULL binds SQL NULL */
void ps_param_blob(ps_params_t *p, const void *data, size_t n);  /* bytes (binary, not text) */
void ps_param_id(ps_params_t *p, const ps_id_t *id);             /* BINARY(16) */
void ps_param_i64(ps_params_t *p, int64_t v);
void ps_param_u64(ps_params_t *p, uint64_t v);
void ps_param_time(ps_params_t *p, int64_t us);                  /* µs since the epoch -> DATETIME(6) UTC */
void ps_param_null(ps_params_t *p);

/* Bytes of a BLOB column, in the arena. */
typedef struct ps_blob {
  unsigned char *data; /* NULL when len is 0 */
  size_t len;
} ps_blob_t;

/* Output columns of a result row, declared in SELECT order with where each value goes. */
typedef struct ps_row {
  unsigned n;                                /* columns declared */
  int overflow;                              /* more than PS_DB_MAX_COLS were declared (a bug) */
  int bound;                                 /* bound to the statement (by the first fetch) */
  MYSQL_BIND bind[PS_DB_MAX_COLS];           /* the bindings */
  unsigned long len[PS_DB_MAX_COLS];         /* value lengths of the row just fetched */
  my_bool is_null[PS_DB_MAX_COLS];           /* NULL flags of the row just fetched */
  my_bool error[PS_DB_MAX_COLS];             /* truncation flags */
  unsigned char kind[PS_DB_MAX_COLS];        /* what to do with the column after a fetch */
  void *dst[PS_DB_MAX_COLS];                 /* where the value goes */
  union {
    int64_t i;
    MYSQL_TIME t;
  } val[PS_DB_MAX_COLS];                     /* landing place for numbers and times */
  char dummy;                                /* zero-length buffer for text/blob columns */
} ps_row_t;

void ps_row_init(ps_row_t *r);
void ps_col_str(ps_row_t *r, char **dst);      /* NUL-terminated copy in the arena; "" for NULL */
void ps_col_blob(ps_row_t *r, ps_blob_t *dst); /* bytes in the arena; {NULL, 0} for NULL */
void ps_col_id(ps_row_t *r, ps_id_t *dst);     /* BINARY(16); all zero for NULL */
void ps_col_i64(ps_row_t *r, int64_t *dst);    /* 0 for NULL */
void ps_col_u64(ps_row_t *r, uint64_t *dst);   /* 0 for NULL */
void ps_col_int(ps_row_t *r, int *dst);        /* small integers, booleans; 0 for NULL */
void ps_col_time(ps_row_t *r, int64_t *dst);   /* DATETIME(6) UTC -> µs since the epoch; 0 for NULL */

/* Prepares q on this connection when needed (reconnecting first when the connection was lost and
 * no transaction is open), binds p (NULL: no parameters) and executes. Returns the statement, whose
 * result set (if any) is read with ps_db_fetch until the next ps_db_exec/begin/commit on this
 * connection discards it; NULL with st set (see ps_db_code_for_errno) on failure. The statement
 * belongs to the connection: never close it. */
MYSQL_STMT *ps_db_exec(ps_db_t *db, ps_sql_t *q, ps_params_t *p, ps_status_t *st);

/* Fetches the next row of s into r's destinations (strings and blobs copied into a; a may be NULL
 * when r has no text or blob columns). 1 when a row was fetched, 0 when there are no more rows, -1
 * with st set on error. */
int ps_db_fetch(ps_db_t *db, MYSQL_STMT *s, ps_row_t *r, ps_arena_t *a, ps_status_t *st);

/* Runs q (one integer column, such as a COUNT) and reads its first row into *ret (0 when there is
 * none or it is NULL). 0, or -1 with st set. */
int ps_db_query_i64(ps_db_t *db, ps_sql_t *q, ps_params_t *p, int64_t *ret, ps_status_t *st);

/* Reads of many keys prepare one statement per size class (2, 4, 8, 16, ... keys), a smaller batch
 * repeating its last key, so that a connection prepares a few statements and no more. The class
 * index of n keys (n >= 1), and its size in *ret_size. */
int ps_db_size_class(size_t n, size_t *ret_size);

/* Reads the whole result of s, just executed with LIMIT ... ROWS EXAMINED, into the client before
 * its rows are fetched (ps_db_fetch). *ret_stopped is 1 when the statement stopped at that limit
 * (MariaDB says so with a warning, or with error ER_FILSORT_ABORT when it stopped in a sort): its
 * rows are then not to be used. Read row by row, the client library would not report the warning
 * of a prepared statement. For small results. 0, or -1 with st set. */
int ps_db_store_examined(ps_db_t *db, MYSQL_STMT *s, int *ret_stopped, ps_status_t *st);

/* Rows changed by the last execution of s (INSERT/UPDATE/DELETE). With the default client flags
 * an UPDATE counts rows actually changed, not rows matched. */
uint64_t ps_db_affected(MYSQL_STMT *s);

/* Transactions. begin/commit fail with st set; rollback is best effort (a failed rollback drops the
 * connection so the server rolls back). While a transaction is open a lost connection is never
 * silently replaced: the calls fail with UNAVAILABLE until rollback. */
int ps_db_begin(ps_db_t *db, ps_status_t *st);
int ps_db_commit(ps_db_t *db, ps_status_t *st);
void ps_db_rollback(ps_db_t *db);

/* A read-only transaction whose statements all read one snapshot (REPEATABLE READ, WITH
 * CONSISTENT SNAPSHOT; the session's READ COMMITTED gives each statement its own), for a read
 * made of several statements that must agree with each other. */
int ps_db_begin_snapshot(ps_db_t *db, ps_status_t *st);
/* Ends it (read only: success or failure alike) without waiting for the database's answer: the
 * COMMIT is sent, and its answer is read before the next command on this connection, so that the
 * caller's answer does not wait for a round trip (a lost connection is then replaced as usual). */
void ps_db_end_snapshot(ps_db_t *db);

/* Runs fn(db, arg, st) inside a transaction and commits. When the transaction fails in a way that
 * ps_db_tx_retryable allows (a deadlock, a lock wait timeout, a Galera certification conflict, a
 * Galera node not ready, or with several hosts a connection lost before the commit was sent), it
 * rolls back and runs fn again, on a new connection where the old one was dropped (the next host
 * of cfg.hosts), up to
 * PS_DB_TX_ATTEMPTS times in all, so fn must be safe to rerun (touch only the database, and memory
 * it re-initialises). On a Galera node with cfg.galera_sync_wait the transaction first waits until
 * the node has applied every write committed before it (read-your-writes across nodes).
 * 0 when committed; -1 with st set (rolled back) otherwise. */
typedef int (*ps_db_tx_fn)(ps_db_t *db, void *arg, ps_status_t *st);
int ps_db_tx(ps_db_t *db, ps_db_tx_fn fn, void *arg, ps_status_t *st);

/* The MySQL error number of the last failure on this connection (0: none, or not from MySQL), so
 * that a store function can give a duplicate key (1062) its own message. */
unsigned ps_db_last_errno(const ps_db_t *db);

/* The gRPC code for a MySQL client or server error number (pure):
 * 1062/1586/1022 duplicate key -> ALREADY_EXISTS; 1213 deadlock, 1205 lock wait timeout,
 * 1020 record changed -> ABORTED; connection errors (2001-2006, 2013, 2026, 2055, 1040, 1053,
 * 1927, 1290 and 1836 read-only, 1047 Galera node not ready) -> UNAVAILABLE; 1969 statement
 * timeout -> DEADLINE_EXCEEDED; 1114 table full, 1021 disk full -> RESOURCE_EXHAUSTED (reason
 * DATABASE_FULL); anything else -> INTERNAL. */
ps_code_t ps_db_code_for_errno(unsigned err);
/* 1 when err means the connection is gone or unusable (the next use reconnects). */
int ps_db_errno_drops_connection(unsigned err);
/* 1 when err means the transaction lost a race, or hit a Galera node that cannot serve yet, and
 * may simply be run again: 1213 deadlock (also Galera's certification conflict), 1205 lock wait
 * timeout, 1047 "WSREP has not yet prepared node for application use" (a joining node, or one cut
 * off from the cluster's primary component; it also drops the connection, so the rerun goes to
 * another node). */
int ps_db_errno_retryable(unsigned err);
/* 1 when ps_db_tx may run a transaction again after err (pure): ps_db_errno_retryable, or, when
 * failover (there are other hosts to connect to), a lost connection (UNAVAILABLE and dropped)
 * before the commit was sent, which the server rolled back. A connection lost during the commit is
 * not retried: the commit may have happened. Without failover a lost connection is not retried
 * either: the one server is gone or hung, and waiting for it again would only hold the call. */
int ps_db_tx_retryable(unsigned err, int at_commit, int failover);

/* ---- small shared helpers for the store and the handlers ---- */

/* CLOCK_REALTIME in µs, the precision of DATETIME(6). */
int64_t ps_db_now_us(void);

/* A google.protobuf.Timestamp for us (µs since the epoch) in the arena; NULL when out of memory. */
struct Google__Protobuf__Timestamp;
struct Google__Protobuf__Timestamp *ps_db_timestamp(ps_arena_t *a, int64_t us);

/* Etags are opaque strings derived from a row's version: "v<version>". ps_db_etag returns it in
 * the arena (NULL when out of memory); ps_db_etag_parse gives 0 and the version, or -1 when s is not
 * an etag this service made (then it cannot match). */
char *ps_db_etag(ps_arena_t *a, uint64_t version);
int ps_db_etag_parse(const char *s, uint64_t *ret_version);

#endif
