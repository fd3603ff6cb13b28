#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ps_version.h"
#include "store/db.h"

typedef enum { T_STR, T_SECRET, T_INT } ctype_t;

/* One setting: its flag (without "--"), env var, type, default, bounds (ints) and help. */
typedef struct setting {
  const char *flag;
  const char *env;
  ctype_t type;
  size_t offset;
  size_t size; /* buffer size of strings */
  const char *def;
  long min, max;
  const char *help;
} setting_t;

#define S(f, e, t, field, def, lo, hi, help) \
  {f, e, t, offsetof(ps_config_t, field), sizeof(((ps_config_t *)0)->field), def, lo, hi, help}

static const setting_t settings[] = {
    S("listen", "PS_LISTEN", T_STR, listen, "localhost:50051", 0, 0, "address to serve gRPC on (host:port)"),
    S("health-listen", "PS_HEALTH_LISTEN", T_STR, health_listen, "", 0, 0, "also serve grpc.health.v1 alone, in plaintext, on this host:port (for kubelet's gRPC probes; empty: no)"),
    S("metrics-listen", "PS_METRICS_LISTEN", T_STR, metrics_listen, "", 0, 0, "serve Prometheus metrics at http://host:port/metrics (plain HTTP; empty: no metrics)"),
    S("tls-cert", "PS_TLS_CERT_FILE", T_STR, tls_cert, "", 0, 0, "server certificate chain, PEM file (reloaded when it changes)"),
    S("tls-key", "PS_TLS_KEY_FILE", T_STR, tls_key, "", 0, 0, "the certificate's private key, PEM file"),
    S("tls-client-ca", "PS_TLS_CLIENT_CA_FILE", T_STR, tls_client_ca, "", 0, 0, "CA bundle that verifies client certificates (mTLS; empty: no caller is authenticated)"),
    S("tls-reload", "PS_TLS_RELOAD_S", T_INT, tls_reload_s, "60", 1, 86400, "how often the certificate files are checked for changes, seconds"),
    S("plaintext", "PS_PLAINTEXT", T_INT, plaintext, "0", 0, 1, "1: serve without TLS (development, or behind a trusted local proxy)"),
    S("authz-policy", "PS_AUTHZ_POLICY_FILE", T_STR, authz_policy, "", 0, 0, "authorization policy (gRPC authorization policy JSON; required with TLS)"),
    S("authz-reload", "PS_AUTHZ_RELOAD_S", T_INT, authz_reload_s, "10", 1, 86400, "how often the policy file is checked for changes, seconds"),
    S("mysql-host", "PS_MYSQL_HOST", T_STR, mysql_host, "127.0.0.1", 0, 0, "MySQL/MariaDB host (TCP)"),
    S("mysql-port", "PS_MYSQL_PORT", T_INT, mysql_port, "3306", 1, 65535, "MySQL/MariaDB TCP port"),
    S("mysql-socket", "PS_MYSQL_SOCKET", T_STR, mysql_socket, "", 0, 0, "MySQL/MariaDB unix socket (overrides host/port and hosts)"),
    S("mysql-hosts", "PS_MYSQL_HOSTS", T_STR, mysql_hosts, "", 0, 0, "several servers, host:port,host:port (the nodes of a Galera cluster; at most 16): connections spread over them and move to the next when one fails (overrides host/port; empty: host/port)"),
    S("mysql-galera-sync-wait", "PS_MYSQL_GALERA_SYNC_WAIT", T_INT, mysql_galera_sync_wait, "1", 0, 2, "on a Galera node: 1 = each write transaction first waits until the node has applied every write committed before it (wsrep_sync_wait), so request-id replays and merge checks see them; 2 = reads wait too (a read sees every write acknowledged before it, on any node); 0 = never; ignored on other servers"),
    S("mysql-user", "PS_MYSQL_USER", T_STR, mysql_user, "prospects", 0, 0, "MySQL/MariaDB user"),
    S("mysql-password", "PS_MYSQL_PASSWORD", T_SECRET, mysql_password, "", 0, 0, "MySQL/MariaDB password"),
    S("mysql-database", "PS_MYSQL_DATABASE", T_STR, mysql_database, "prospects", 0, 0, "database name"),
    S("mysql-timeout", "PS_MYSQL_TIMEOUT_S", T_INT, mysql_timeout_s, "5", 1, 300, "MySQL connect/read/write timeout, seconds"),
    S("mysql-tls", "PS_MYSQL_TLS", T_STR, mysql_tls, "off", 0, 0, "off, or verify: TLS with the server's certificate and host name checked"),
    S("mysql-tls-ca", "PS_MYSQL_TLS_CA_FILE", T_STR, mysql_tls_ca, "", 0, 0, "CA bundle of the database's certificate (needed by verify)"),
    S("mysql-tls-cert", "PS_MYSQL_TLS_CERT_FILE", T_STR, mysql_tls_cert, "", 0, 0, "client certificate for the database (optional)"),
    S("mysql-tls-key", "PS_MYSQL_TLS_KEY_FILE", T_STR, mysql_tls_key, "", 0, 0, "its private key"),
    S("redis-host", "PS_REDIS_HOST", T_STR, redis_host, "127.0.0.1", 0, 0, "Redis host"),
    S("redis-port", "PS_REDIS_PORT", T_INT, redis_port, "6379", 0, 65535, "Redis port (0 disables the cache)"),
    S("redis-timeout", "PS_REDIS_TIMEOUT_MS", T_INT, redis_timeout_ms, "20", 1, 10000, "Redis connect/command timeout, milliseconds"),
    S("redis-user", "PS_REDIS_USER", T_STR, redis_user, "", 0, 0, "Redis ACL user (empty: the default user)"),
    S("redis-password", "PS_REDIS_PASSWORD", T_SECRET, redis_password, "", 0, 0, "Redis AUTH password (empty: no AUTH)"),
    S("cache-mac-key", "PS_CACHE_MAC_KEY", T_SECRET, cache_mac_key, "", 0, 0, "HMAC key of values cached in Redis, the same on every replica (empty: derived from the page-token key)"),
    S("workers", "PS_WORKERS", T_INT, workers, "16", 1, 1024, "handler threads (one MySQL + one Redis connection each)"),
    S("read-workers", "PS_READ_WORKERS", T_INT, read_workers, "4", 1, 1024, "most workers that read GetProspect/ResolveProspect calls at once: while one reads, the calls that arrive wait and go with its next statement, and another worker starts only when they fill two batches (32)"),
    S("queue", "PS_QUEUE", T_INT, queue, "1024", 1, 1000000, "calls waiting for a worker before new calls get RESOURCE_EXHAUSTED"),
    S("cq-threads", "PS_CQ_THREADS", T_INT, cq_threads, "0", 0, 64, "transport threads (one completion queue each); 0: one per 4 usable processors (CPU affinity and cgroup CPU quota), at least one"),
    S("drain-delay", "PS_DRAIN_DELAY_MS", T_INT, drain_delay_ms, "0", 0, 600000, "after SIGTERM, keep taking calls this long while health says NOT_SERVING (endpoint removal reaches the clients), then drain, milliseconds"),
    S("grace", "PS_GRACE_MS", T_INT, grace_ms, "10000", 0, 600000, "on SIGTERM, how long in-flight calls may finish, milliseconds"),
    S("max-recv-bytes", "PS_MAX_RECV_BYTES", T_INT, max_recv_bytes, "65536", 1024, 268435456, "largest request message of any method, bytes (each method has a smaller cap of its own)"),
    S("call-memory", "PS_CALL_MEMORY_MB", T_INT, call_memory_mb, "32", 1, 4096, "memory one call may use for its request and reply, MiB"),
    S("max-reply-bytes", "PS_MAX_REPLY_BYTES", T_INT, max_reply_bytes, "1048576", 65536, 4194304, "a page of a List method ends before its reply passes this, bytes"),
    S("max-pending-replies", "PS_MAX_PENDING_REPLIES_MB", T_INT, max_pending_replies_mb, "256", 1, 65536, "replies that clients have not read yet, MiB; past it new calls get RESOURCE_EXHAUSTED"),
    S("max-streams", "PS_MAX_STREAMS", T_INT, max_streams, "100", 1, 10000, "concurrent calls (HTTP/2 streams) per connection"),
    S("export-streams", "PS_EXPORT_STREAMS", T_INT, export_streams, "2", 1, 64, "ExportProspects streams at once, each holding a worker and its MySQL connection while it runs; more get RESOURCE_EXHAUSTED"),
    S("max-watchers", "PS_MAX_WATCHERS", T_INT, max_watchers, "1000", 0, 1000000, "open health Watch streams, all connections together"),
    S("keepalive", "PS_KEEPALIVE_S", T_INT, keepalive_s, "60", 1, 86400, "ping a connection after this long without traffic, seconds"),
    S("keepalive-timeout", "PS_KEEPALIVE_TIMEOUT_S", T_INT, keepalive_timeout_s, "20", 1, 3600, "close it when the ping is not answered within this, seconds"),
    S("min-ping-interval", "PS_MIN_PING_INTERVAL_S", T_INT, min_ping_interval_s, "10", 1, 86400, "client pings more often than this are refused (the connection is closed after 2), seconds"),
    S("max-idle", "PS_MAX_IDLE_S", T_INT, max_idle_s, "300", 0, 86400, "close a connection without calls after this long, seconds (0: never)"),
    S("max-age", "PS_MAX_AGE_S", T_INT, max_age_s, "1800", 0, 864000, "ask a connection older than this to go away, so clients spread over replicas, seconds (0: never)"),
    S("max-age-grace", "PS_MAX_AGE_GRACE_S", T_INT, max_age_grace_s, "30", 0, 3600, "calls of such a connection get this long to finish, seconds"),
    S("grpc-memory", "PS_GRPC_MEMORY_MB", T_INT, grpc_memory_mb, "256", 16, 65536, "memory gRPC may use for connection buffers, all connections together, MiB"),
    S("health-interval", "PS_HEALTH_INTERVAL_MS", T_INT, health_interval_ms, "1000", 50, 60000, "database health probe interval, milliseconds"),
    S("idem-purge-interval", "PS_IDEM_PURGE_INTERVAL_S", T_INT, idem_purge_interval_s, "60", 0, 86400, "how often request ids past their 24 h are deleted, seconds (0: never)"),
    S("reindex", "PS_REINDEX", T_INT, reindex, "1", 0, 1, "1: rebuild, in the background, the keys and word index of records written by an older version (one server at a time: the others wait); 0: never on this server, which only follows the progress"),
    S("reindex-batch", "PS_REINDEX_BATCH", T_INT, reindex_batch, "500", 1, 10000, "records (of one tenant) the reindex rebuilds per transaction"),
    S("reindex-pause", "PS_REINDEX_PAUSE_MS", T_INT, reindex_pause_ms, "50", 0, 600000, "pause after each full batch of the reindex (a smaller one, the end of a tenant, pauses in proportion), so that calls come first, milliseconds"),
    S("reindex-check", "PS_REINDEX_CHECK_S", T_INT, reindex_check_s, "10", 1, 3600, "how often an unfinished reindex's progress is read again and a job another server holds is tried, seconds"),
    S("index-queue", "PS_INDEX_QUEUE", T_INT, index_queue, "2", 0, 8, "threads (each with its own database connection) that write, in the background, the word index of the records a bulk import queued; any number of servers share the queue, in batches of reindex-batch records with reindex-pause after each full one; 0: never on this server (another must)"),
    S("startup-wait", "PS_STARTUP_WAIT_S", T_INT, startup_wait_s, "30", 0, 3600, "how long start-up waits for the database, seconds"),
    S("log-level", "PS_LOG_LEVEL", T_STR, log_level, "info", 0, 0, "debug, info (one access line per call), warn or error"),
    S("log-level-file", "PS_LOG_LEVEL_FILE", T_STR, log_level_file, "", 0, 0, "a file holding the log level; when set it overrides log-level and is reread on SIGHUP and whenever it changes"),
    S("log-format", "PS_LOG_FORMAT", T_STR, log_format, "text", 0, 0, "text, or json: one JSON object per line"),
    S("page-token-key", "PS_PAGE_TOKEN_KEY", T_SECRET, page_token_key, "", 0, 0, "HMAC key sealing page tokens; the same on every replica (required unless development)"),
    S("development", "PS_DEVELOPMENT", T_INT, development, "0", 0, 1, "1: allow built-in keys for page tokens and cached values (never in production)"),
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

static int set_value(ps_config_t *cfg, const setting_t *s, const char *v, const char *from, FILE *err) {
  char *field = (char *)cfg + s->offset;
  if (s->type == T_INT) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < s->min || n > s->max) {
      fprintf(err, "prospect-server: %s: \"%s\" is not a whole number from %ld to %ld\n", from,
              v, s->min, s->max);
      return -1;
    }
    *(int *)field = (int)n;
    return 0;
  }
  if (strlen(v) >= s->size) {
    fprintf(err, "prospect-server: %s: value longer than %zu bytes\n", from, s->size - 1);
    return -1;
  }
  memcpy(field, v, strlen(v) + 1);
  return 0;
}

/* Reads a secret from path into the setting: the whole file, one trailing newline removed. */
static int set_from_file(ps_config_t *cfg, const setting_t *s, const char *path, const char *from,
                         FILE *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(err, "prospect-server: %s: cannot read \"%s\": %s\n", from, path, strerror(errno));
    return -1;
  }
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf, f);
  int bad = ferror(f) || !feof(f) || n == sizeof buf;
  fclose(f);
  if (bad) {
    fprintf(err, "prospect-server: %s: \"%s\" cannot be read whole or is longer than %zu bytes\n",
            from, path, s->size - 1);
    return -1;
  }
  if (n > 0 && buf[n - 1] == '\n') n--;
  if (n > 0 && buf[n - 1] == '\r') n--;
  if (memchr(buf, '\0', n) || n >= s->size) {
    fprintf(err, "prospect-server: %s: \"%s\" holds a NUL byte or more than %zu bytes\n", from,
            path, s->size - 1);
    return -1;
  }
  char *field = (char *)cfg + s->offset;
  memcpy(field, buf, n);
  field[n] = '\0';
  memset(buf, 0, sizeof buf);
  return 0;
}

static void print_help(FILE *out) {
  fprintf(out,
          "Usage: prospect-server [--SETTING=VALUE ...] | --help | --version\n"
          "Serves prospects.v1.ProspectService over gRPC. Flags override env vars override defaults.\n\n"
          "%-22s %-24s %-17s %s\n",
          "flag", "env var", "default", "meaning (bounds)");
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const setting_t *s = &settings[i];
    char flag[64], bounds[64] = "";
    snprintf(flag, sizeof flag, "--%s", s->flag);
    if (s->type == T_INT) snprintf(bounds, sizeof bounds, " (%ld..%ld)", s->min, s->max);
    fprintf(out, "%-22s %-24s %-17s %s%s\n", flag, s->env, *s->def ? s->def : "\"\"", s->help, bounds);
  }
  fprintf(out, "\nEvery secret (password or key) can also be read from a file: PS_X_FILE=path or "
               "--x-file=path\n(e.g. PS_MYSQL_PASSWORD_FILE); the file's content, without a trailing "
               "newline, is the value.\n");
}

/* The setting of flag name[0..n); *ret_file is set when it is a secret's "-file" form. */
static const setting_t *find_flag(const char *name, size_t n, int *ret_file) {
  *ret_file = 0;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    size_t fl = strlen(settings[i].flag);
    if (fl == n && strncmp(settings[i].flag, name, n) == 0) return &settings[i];
    if (settings[i].type == T_SECRET && n == fl + 5 && strncmp(settings[i].flag, name, fl) == 0 &&
        strncmp(name + fl, "-file", 5) == 0) {
      *ret_file = 1;
      return &settings[i];
    }
  }
  return NULL;
}

/* Checks that hold between settings. */
static int check_combinations(const ps_config_t *cfg, FILE *err) {
  if (!cfg->plaintext && (!cfg->tls_cert[0] || !cfg->tls_key[0])) {
    fprintf(err, "prospect-server: TLS needs PS_TLS_CERT_FILE and PS_TLS_KEY_FILE; set PS_PLAINTEXT=1 "
                 "to serve without TLS\n");
    return -1;
  }
  if (!cfg->plaintext && !cfg->authz_policy[0]) {
    fprintf(err, "prospect-server: PS_AUTHZ_POLICY_FILE is required when serving TLS (it says which "
                 "caller may call which method)\n");
    return -1;
  }
  if (!cfg->page_token_key[0] && !cfg->development) {
    fprintf(err, "prospect-server: PS_PAGE_TOKEN_KEY (or PS_PAGE_TOKEN_KEY_FILE) is not set; it must be "
                 "one shared secret on every replica (PS_DEVELOPMENT=1 allows a built-in key)\n");
    return -1;
  }
  if (strcmp(cfg->mysql_tls, "off") != 0 && strcmp(cfg->mysql_tls, "verify") != 0) {
    fprintf(err, "prospect-server: PS_MYSQL_TLS \"%s\" is not one of off, verify\n", cfg->mysql_tls);
    return -1;
  }
  if (strcmp(cfg->mysql_tls, "verify") == 0 && !cfg->mysql_tls_ca[0]) {
    fprintf(err, "prospect-server: PS_MYSQL_TLS=verify needs PS_MYSQL_TLS_CA_FILE\n");
    return -1;
  }
  if (!cfg->mysql_tls_cert[0] != !cfg->mysql_tls_key[0]) {
    fprintf(err, "prospect-server: PS_MYSQL_TLS_CERT_FILE and PS_MYSQL_TLS_KEY_FILE go together\n");
    return -1;
  }
  ps_db_hosts_t hosts;
  if (cfg->mysql_hosts[0] &&
      ps_db_hosts_parse(cfg->mysql_hosts, (unsigned)cfg->mysql_port, &hosts) != 0) {
    fprintf(err, "prospect-server: PS_MYSQL_HOSTS \"%s\" is not a list of host:port (port 1..65535, "
                 "at most %d, separated by commas)\n", cfg->mysql_hosts, PS_DB_MAX_HOSTS);
    return -1;
  }
  if (cfg->redis_user[0] && !cfg->redis_password[0]) {
    fprintf(err, "prospect-server: PS_REDIS_USER needs PS_REDIS_PASSWORD\n");
    return -1;
  }
  return 0;
}

int ps_config_load(ps_config_t *cfg, int argc, char **argv, FILE *out, FILE *err) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (set_value(cfg, &settings[i], settings[i].def, "default", err)) return -1;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const setting_t *st = &settings[i];
    const char *v = getenv(st->env);
    if (v && set_value(cfg, st, v, st->env, err)) return -1;
    if (st->type != T_SECRET) continue;
    char fenv[64];
    snprintf(fenv, sizeof fenv, "%s_FILE", st->env);
    const char *path = getenv(fenv);
    if (path && v) {
      fprintf(err, "prospect-server: both %s and %s are set; set one\n", st->env, fenv);
      return -1;
    }
    if (path && set_from_file(cfg, st, path, fenv, err)) return -1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_help(out);
      return 1;
    }
    if (strcmp(a, "--version") == 0) {
      fprintf(out, "prospect-server %s (git %s)\n", PS_VERSION, PS_GIT_REVISION);
      return 1;
    }
    if (strncmp(a, "--", 2) != 0) {
      fprintf(err, "prospect-server: unexpected argument \"%s\" (see --help)\n", a);
      return -1;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    int from_file;
    const setting_t *s = find_flag(name, n, &from_file);
    if (!s) {
      fprintf(err, "prospect-server: unknown flag \"--%.*s\" (see --help)\n", (int)n, name);
      return -1;
    }
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v) {
      fprintf(err, "prospect-server: --%s needs a value\n", s->flag);
      return -1;
    }
    char from[80];
    snprintf(from, sizeof from, "--%s%s", s->flag, from_file ? "-file" : "");
    if (from_file ? set_from_file(cfg, s, v, from, err) : set_value(cfg, s, v, from, err)) return -1;
  }
  if (ps_log_parse_level(cfg->log_level) < 0) {
    fprintf(err, "prospect-server: log level \"%s\" is not one of debug, info, warn, error\n",
            cfg->log_level);
    return -1;
  }
  if (ps_log_parse_format(cfg->log_format) < 0) {
    fprintf(err, "prospect-server: log format \"%s\" is not one of text, json\n", cfg->log_format);
    return -1;
  }
  if (cfg->metrics_listen[0] && !strchr(cfg->metrics_listen, ':')) {
    fprintf(err, "prospect-server: metrics listen address \"%s\" has no port\n", cfg->metrics_listen);
    return -1;
  }
  if (!strchr(cfg->listen, ':')) {
    fprintf(err, "prospect-server: listen address \"%s\" has no port\n", cfg->listen);
    return -1;
  }
  if (cfg->health_listen[0] && !strchr(cfg->health_listen, ':')) {
    fprintf(err, "prospect-server: health listen address \"%s\" has no port\n", cfg->health_listen);
    return -1;
  }
  return check_combinations(cfg, err);
}

void ps_config_describe(const ps_config_t *cfg, char *buf, size_t bufsz) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < N_SETTINGS && used < bufsz; i++) {
    const setting_t *s = &settings[i];
    const char *field = (const char *)cfg + s->offset;
    int n;
    if (s->type == T_INT)
      n = snprintf(buf + used, bufsz - used, "%s%s=%d", i ? " " : "", s->flag, *(const int *)field);
    else if (s->type == T_SECRET)
      n = snprintf(buf + used, bufsz - used, "%s%s=%s", i ? " " : "", s->flag, *field ? "***" : "");
    else
      n = snprintf(buf + used, bufsz - used, "%s%s=%s", i ? " " : "", s->flag, field);
    if (n < 0) break;
    used += (size_t)n;
  }
}
