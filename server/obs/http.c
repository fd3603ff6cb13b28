#include "obs/http.h"

#include <dirent.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache/flags.h"
#include "cache/redis.h"
#include "health.h"
#include "obs/metrics.h"
#include "ps_version.h"
#include "indexer.h"
#include "reindex.h"
#include "transport.h"

#define MAX_CONNECTIONS 16 /* scrapers are few; more are refused rather than queued */
#define CONNECTION_TIMEOUT_S 10

static struct MHD_Daemon *daemon_;
static int port_;

/* ------------------------------------------------------------------ what is exposed */

static void gauge(FILE *out, const char *name, const char *help, double v) {
  ps_metrics_family(out, name, "gauge", help);
  ps_metrics_sample(out, name, NULL, v);
}

static void counter(FILE *out, const char *name, const char *help, double v) {
  ps_metrics_family(out, name, "counter", help);
  ps_metrics_sample(out, name, NULL, v);
}

static void write_transport(FILE *out) {
  ps_transport_stats_t t;
  ps_transport_get_stats(&t);
  gauge(out, "prospect_calls_in_flight", "Calls accepted for a handler and not yet finished.",
        (double)t.inflight);
  gauge(out, "prospect_queue_depth", "Calls waiting for a worker.", (double)t.queue_depth);
  gauge(out, "prospect_queue_capacity",
        "Calls that may wait for a worker before new calls are shed (PS_QUEUE).",
        (double)t.queue_capacity);
  gauge(out, "prospect_workers", "Handler threads (PS_WORKERS).", (double)t.workers);
  counter(out, "prospect_calls_shed_total",
          "Calls refused with RESOURCE_EXHAUSTED because the queue was full or too many replies "
          "waited for their readers.",
          (double)t.shed);
  counter(out, "prospect_calls_expired_total",
          "Calls whose deadline passed, or whose client went, before a worker took them.",
          (double)t.expired);
  counter(out, "prospect_calls_unauthenticated_total",
          "Calls refused because the caller presented no verified client certificate.",
          (double)t.unauthenticated);
  counter(out, "prospect_calls_denied_total", "Calls refused by the authorization policy.",
          (double)t.denied);
  counter(out, "prospect_coalesced_batches_total",
          "Batches of by-key reads (GetProspect, ResolveProspect) that waited at the same moment "
          "and were read with one statement.",
          (double)t.batches);
  counter(out, "prospect_coalesced_calls_total", "Calls answered from such batches.",
          (double)t.batched_calls);
  gauge(out, "prospect_health_watchers", "Open grpc.health.v1 Watch streams.", (double)t.watchers);
  counter(out, "prospect_health_watchers_refused_total",
          "Watch streams refused because PS_MAX_WATCHERS were open.", (double)t.watchers_refused);
  gauge(out, "prospect_pending_reply_bytes", "Bytes of replies that their clients have not read yet.",
        (double)t.pending_reply_bytes);
  gauge(out, "prospect_call_memory_peak_bytes", "The most arena memory one call has held so far.",
        (double)t.call_memory_peak);
  gauge(out, "prospect_serving",
        "1 while the health service says SERVING (the database answers and the server is not "
        "draining), else 0.",
        ps_health_get() == PS_HEALTH_SERVING ? 1 : 0);
}

static void write_cache(FILE *out) {
  ps_flags_stats_t f;
  ps_cache_stats_t r;
  ps_flags_get_stats(&f);
  ps_cache_get_stats(&r);
  const char *name = "prospect_apps_cache_lookups_total";
  ps_metrics_family(out, name, "counter",
                    "Lookups of a tenant's apps by where the answer came from: local (process "
                    "memory), wait (joined another thread's load), redis_hit, redis_miss, fallback "
                    "(Redis unavailable).");
  ps_metrics_sample(out, name, "source=\"local\"", (double)f.local_hits);
  ps_metrics_sample(out, name, "source=\"wait\"", (double)f.waits);
  ps_metrics_sample(out, name, "source=\"redis_hit\"", (double)f.redis_hits);
  ps_metrics_sample(out, name, "source=\"redis_miss\"", (double)f.redis_misses);
  ps_metrics_sample(out, name, "source=\"fallback\"", (double)f.fallbacks);
  counter(out, "prospect_apps_cache_redis_garbage_total",
          "Cached values in Redis that this service did not write (bad tag or shape), repaired.",
          (double)f.redis_garbage);
  counter(out, "prospect_apps_cache_mysql_reads_total", "Loads of a tenant's apps that read MySQL.",
          (double)f.mysql_reads);
  counter(out, "prospect_apps_cache_mysql_batch_reads_total",
          "Statements that read the apps of several tenants at once for a batch of coalesced reads.",
          (double)f.mysql_batches);
  counter(out, "prospect_apps_cache_invalidations_total",
          "Changes of a tenant's apps that replaced the cached value.", (double)f.invalidations);
  counter(out, "prospect_apps_cache_refreshes_total",
          "Tenants' apps renewed in process memory from Redis ahead of their expiry, off the calls' "
          "path.",
          (double)f.refreshes);
  counter(out, "prospect_redis_commands_total", "Redis commands sent.", (double)r.commands);
  counter(out, "prospect_redis_failures_total", "Redis commands that failed (each trips the breaker).",
          (double)r.failures);
  counter(out, "prospect_redis_skipped_total",
          "Redis commands not sent because the breaker was open.", (double)r.skipped);
  gauge(out, "prospect_redis_breaker_open",
        "1 while the Redis breaker is open (Redis is skipped; the apps come from MySQL), else 0.",
        ps_cache_breaker_open() ? 1 : 0);
}

/* The background reindex (reindex.h), one series per job (the job names are the server's own). */
static void write_reindex(FILE *out) {
  ps_reindex_stats_t s[8];
  size_t n = ps_reindex_get_stats(s, sizeof s / sizeof s[0]);
  if (n > sizeof s / sizeof s[0]) n = sizeof s / sizeof s[0];
  static const struct {
    const char *name, *type, *help;
  } fam[] = {
      {"prospect_reindex_rows_total", "counter",
       "Rows the background reindex covered in this process (each brought to the job's version)."},
      {"prospect_reindex_rows_remaining", "gauge",
       "Rows after the job's cursor, by the count taken when the job started (any server's work)."},
      {"prospect_reindex_done", "gauge",
       "1 when the job has finished for the version this build needs."},
      {"prospect_reindex_active", "gauge", "1 while this process works on the job (holds its lock)."},
  };
  char labels[96];
  for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
    ps_metrics_family(out, fam[f].name, fam[f].type, fam[f].help);
    for (size_t i = 0; i < n; i++) {
      snprintf(labels, sizeof labels, "job=\"%s\"", s[i].job);
      double v = f == 0 ? (double)s[i].rows : f == 1 ? (double)s[i].remaining
                 : f == 2 ? (double)s[i].done : (double)s[i].active;
      ps_metrics_sample(out, fam[f].name, labels, v);
    }
  }
}

/* The indexer of imported records (indexer.h). */
static void write_indexer(FILE *out) {
  ps_indexer_stats_t s;
  ps_indexer_get_stats(&s);
  gauge(out, "prospect_index_queue_depth",
        "Imported records (every server's) whose word index is still to be written, as this "
        "server's indexer last counted them (0 while its indexer is off).",
        (double)s.depth);
  counter(out, "prospect_index_queue_indexed_total",
          "Queued records whose word index this process wrote (or that were gone by then).",
          (double)s.indexed);
}

/* process_* as the Prometheus client libraries write them, from /proc. */
static void write_process(FILE *out) {
  long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
  unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
  long long rss = 0;
  int have_stat = 0;
  FILE *f = fopen("/proc/self/stat", "r");
  if (f) {
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     * cutime cstime priority nice threads itrealvalue starttime vsize rss */
    if (p && sscanf(p + 1,
                    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                    "%llu %llu %lld",
                    &utime, &stime, &start, &vsize, &rss) == 5)
      have_stat = 1;
  }
  unsigned long long btime = 0;
  if ((f = fopen("/proc/stat", "r"))) {
    char line[256];
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "btime %llu", &btime) == 1) break;
    fclose(f);
  }
  if (have_stat && ticks > 0) {
    counter(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
            (double)(utime + stime) / (double)ticks);
    if (btime)
      gauge(out, "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            (double)btime + (double)start / (double)ticks);
    gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", (double)vsize);
    gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
          (double)rss * (double)page);
  }
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') n++;
    closedir(d);
    gauge(out, "process_open_fds", "Number of open file descriptors.", (double)(n - 1)); /* not d's */
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    gauge(out, "process_max_fds", "Maximum number of open file descriptors.", (double)rl.rlim_cur);
}

static void write_build(FILE *out) {
  ps_metrics_family(out, "prospect_build_info", "gauge",
                    "Always 1; the labels say which build is running.");
  char labels[160];
  snprintf(labels, sizeof labels, "version=\"%s\",revision=\"%s\"", PS_VERSION, PS_GIT_REVISION);
  ps_metrics_sample(out, "prospect_build_info", labels, 1);
}

/* ------------------------------------------------------------------ HTTP */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                             const char *type) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result rc = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result text_reply(struct MHD_Connection *conn, unsigned status, const char *text) {
  char *body = strdup(text);
  if (!body) return MHD_NO;
  return reply(conn, status, body, strlen(body), "text/plain; charset=utf-8");
}

/* A non-negative id: the whole of [s, end) in decimal, or -1. */
static long long parse_id(const char *s, const char *end) {
  if (!s || s == end || end - s > 18) return -1;
  long long v = 0;
  for (const char *p = s; p < end; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
  }
  return v;
}

/* /channelz/servers[?start=ID], /channelz/servers/ID, /channelz/servers/ID/sockets[?start=ID],
 * /channelz/sockets/ID: gRPC core's channelz as JSON (grpc.channelz.v1 in proto3 JSON). */
static enum MHD_Result channelz(struct MHD_Connection *conn, const char *path) {
  const char *start_arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "start");
  long long start = start_arg ? parse_id(start_arg, start_arg + strlen(start_arg)) : 0;
  if (start < 0) return text_reply(conn, MHD_HTTP_BAD_REQUEST, "start must be a channelz id\n");
  char *json = NULL;
  if (strcmp(path, "servers") == 0) {
    json = ps_transport_channelz(PS_CHANNELZ_SERVERS, (intptr_t)start, 0);
  } else if (strncmp(path, "servers/", 8) == 0) {
    const char *rest = path + 8, *slash = strchr(rest, '/');
    long long id = parse_id(rest, slash ? slash : rest + strlen(rest));
    if (id < 0 || (slash && strcmp(slash, "/sockets") != 0))
      return text_reply(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    json = slash ? ps_transport_channelz(PS_CHANNELZ_SERVER_SOCKETS, (intptr_t)id, (intptr_t)start)
                 : ps_transport_channelz(PS_CHANNELZ_SERVER, (intptr_t)id, 0);
  } else if (strncmp(path, "sockets/", 8) == 0) {
    long long id = parse_id(path + 8, path + strlen(path));
    if (id < 0) return text_reply(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    json = ps_transport_channelz(PS_CHANNELZ_SOCKET, (intptr_t)id, 0);
  } else {
    return text_reply(conn, MHD_HTTP_NOT_FOUND,
                      "channelz: /channelz/servers, /channelz/servers/ID, "
                      "/channelz/servers/ID/sockets, /channelz/sockets/ID\n");
  }
  if (!json) return text_reply(conn, MHD_HTTP_NOT_FOUND, "no such channelz entity\n");
  return reply(conn, MHD_HTTP_OK, json, strlen(json), "application/json");
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
  (void)cls;
  (void)version;
  (void)upload_data;
  (void)con_cls;
  if (*upload_data_size) { /* a body nobody asked for: ignore it, answer at the end */
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return text_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
  if (strncmp(url, "/channelz/", 10) == 0) return channelz(conn, url + 10);
  if (strcmp(url, "/metrics") != 0)
    return text_reply(conn, MHD_HTTP_NOT_FOUND, "not found; the metrics are at /metrics\n");
  char *body = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&body, &len);
  if (!out) return MHD_NO;
  ps_metrics_write_grpc(out);
  write_transport(out);
  write_cache(out);
  write_reindex(out);
  write_indexer(out);
  write_process(out);
  write_build(out);
  if (fclose(out) != 0 || !body) {
    free(body);
    return text_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  }
  return reply(conn, MHD_HTTP_OK, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

int ps_metrics_http_start(const char *listen, ps_status_t *st) {
  /* host:port, [v6]:port */
  char host[256];
  const char *colon = strrchr(listen, ':');
  if (!colon || (size_t)(colon - listen) >= sizeof host)
    return ps_fail(st, PS_INVALID_ARGUMENT, NULL, "metrics listen address \"%s\" has no port", listen);
  memcpy(host, listen, (size_t)(colon - listen));
  host[colon - listen] = '\0';
  char *h = host;
  size_t hl = strlen(h);
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h[hl - 1] = '\0';
    h++;
  }
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &ai);
  if (gai != 0 || !ai)
    return ps_fail(st, PS_INVALID_ARGUMENT, NULL, "metrics listen address \"%s\": %s", listen,
                   gai_strerror(gai));
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                             MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!daemon_)
    return ps_fail(st, PS_UNAVAILABLE, NULL,
                   "cannot serve metrics on %s (address in use, or not an address of this machine)",
                   listen);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : 0;
  ps_metrics_enable();
  return 0;
}

int ps_metrics_http_port(void) { return port_; }

void ps_metrics_http_stop(void) {
  if (!daemon_) return;
  MHD_stop_daemon(daemon_);
  daemon_ = NULL;
  port_ = 0;
}
