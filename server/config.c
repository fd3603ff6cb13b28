#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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
    S("mysql-host", "PS_MYSQL_HOST", T_STR, mysql_host, "127.0.0.1", 0, 0, "MySQL/MariaDB host (TCP)"),
    S("mysql-port", "PS_MYSQL_PORT", T_INT, mysql_port, "3306", 1, 65535, "MySQL/MariaDB TCP port"),
    S("mysql-socket", "PS_MYSQL_SOCKET", T_STR, mysql_socket, "", 0, 0, "MySQL/MariaDB unix socket (overrides host/port)"),
    S("mysql-user", "PS_MYSQL_USER", T_STR, mysql_user, "prospects", 0, 0, "MySQL/MariaDB user"),
    S("mysql-password", "PS_MYSQL_PASSWORD", T_SECRET, mysql_password, "", 0, 0, "MySQL/MariaDB password (prefer the env var)"),
    S("mysql-database", "PS_MYSQL_DATABASE", T_STR, mysql_database, "prospects", 0, 0, "database name"),
    S("mysql-timeout", "PS_MYSQL_TIMEOUT_S", T_INT, mysql_timeout_s, "5", 1, 300, "MySQL connect/read/write timeout, seconds"),
    S("redis-host", "PS_REDIS_HOST", T_STR, redis_host, "127.0.0.1", 0, 0, "Redis host"),
    S("redis-port", "PS_REDIS_PORT", T_INT, redis_port, "6379", 0, 65535, "Redis port (0 disables the cache)"),
    S("redis-timeout", "PS_REDIS_TIMEOUT_MS", T_INT, redis_timeout_ms, "20", 1, 10000, "Redis connect/command timeout, milliseconds"),
    S("workers", "PS_WORKERS", T_INT, workers, "16", 1, 1024, "handler threads (one MySQL + one Redis connection each)"),
    S("queue", "PS_QUEUE", T_INT, queue, "1024", 1, 1000000, "calls waiting for a worker before new calls get RESOURCE_EXHAUSTED"),
    S("cq-threads", "PS_CQ_THREADS", T_INT, cq_threads, "2", 1, 64, "transport threads (one completion queue each)"),
    S("grace", "PS_GRACE_MS", T_INT, grace_ms, "10000", 0, 600000, "on SIGTERM, how long in-flight calls may finish, milliseconds"),
    S("max-recv-bytes", "PS_MAX_RECV_BYTES", T_INT, max_recv_bytes, "4194304", 1024, 268435456, "largest request message accepted, bytes"),
    S("health-interval", "PS_HEALTH_INTERVAL_MS", T_INT, health_interval_ms, "1000", 50, 60000, "database health probe interval, milliseconds"),
    S("idem-purge-interval", "PS_IDEM_PURGE_INTERVAL_S", T_INT, idem_purge_interval_s, "60", 0, 86400, "how often request ids past their 24 h are deleted, seconds (0: never)"),
    S("startup-wait", "PS_STARTUP_WAIT_S", T_INT, startup_wait_s, "30", 0, 3600, "how long start-up waits for the database, seconds"),
    S("log-level", "PS_LOG_LEVEL", T_STR, log_level, "info", 0, 0, "debug, info, warn or error"),
    S("page-token-key", "PS_PAGE_TOKEN_KEY", T_SECRET, page_token_key, "", 0, 0, "HMAC key sealing page tokens; the same on every replica (empty: a development key)"),
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

static void print_help(FILE *out) {
  fprintf(out,
          "Usage: prospect-server [--SETTING=VALUE ...]\n"
          "Serves prospects.v1.ProspectService over gRPC. Flags override env vars override defaults.\n\n"
          "%-18s %-22s %-17s %s\n",
          "flag", "env var", "default", "meaning (bounds)");
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const setting_t *s = &settings[i];
    char flag[64], bounds[64] = "";
    snprintf(flag, sizeof flag, "--%s", s->flag);
    if (s->type == T_INT) snprintf(bounds, sizeof bounds, " (%ld..%ld)", s->min, s->max);
    fprintf(out, "%-18s %-22s %-17s %s%s\n", flag, s->env, *s->def ? s->def : "\"\"", s->help, bounds);
  }
}

static const setting_t *find_flag(const char *name, size_t n) {
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strlen(settings[i].flag) == n && strncmp(settings[i].flag, name, n) == 0) return &settings[i];
  return NULL;
}

int ps_config_load(ps_config_t *cfg, int argc, char **argv, FILE *out, FILE *err) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (set_value(cfg, &settings[i], settings[i].def, "default", err)) return -1;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const char *v = getenv(settings[i].env);
    if (v && set_value(cfg, &settings[i], v, settings[i].env, err)) return -1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_help(out);
      return 1;
    }
    if (strncmp(a, "--", 2) != 0) {
      fprintf(err, "prospect-server: unexpected argument \"%s\" (see --help)\n", a);
      return -1;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const setting_t *s = find_flag(name, n);
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
    snprintf(from, sizeof from, "--%s", s->flag);
    if (set_value(cfg, s, v, from, err)) return -1;
  }
  if (ps_log_parse_level(cfg->log_level) < 0) {
    fprintf(err, "prospect-server: log level \"%s\" is not one of debug, info, warn, error\n",
            cfg->log_level);
    return -1;
  }
  if (!strchr(cfg->listen, ':')) {
    fprintf(err, "prospect-server: listen address \"%s\" has no port\n", cfg->listen);
    return -1;
  }
  return 0;
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
