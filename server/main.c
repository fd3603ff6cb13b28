/* prospect-server: configuration, start-up checks, signals and shutdown.
 *
 * Start-up: read the configuration, block SIGINT/SIGTERM (before gRPC starts its threads, so they
 * inherit the mask), wait for the database, refuse to serve when its schema is behind, start the
 * transport, report SERVING, start the background reindex (reindex.h) and the indexer of imported
 * records (indexer.h). SIGTERM/SIGINT: report
 * NOT_SERVING, stop the reindex, drain in-flight calls for the grace period, cancel the rest, exit 0. SIGUSR1: log the counters. SIGHUP: reread the authorization
 * policy and the log level file. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "abseil.h"
#include "apps_sync.h"
#include "auth/authz.h"
#include "cache/flags.h"
#include "cache/redis.h"
#include "core/clock.h"
#include "config.h"
#include "core/mac.h"
#include "core/pagetoken.h"
#include "health.h"
#include "log.h"
#include "obs/http.h"
#include "ps_version.h"
#include "indexer.h"
#include "reindex.h"
#include "store/db.h"
#include "store/idempotency.h"
#include "transport.h"

/* The health probe: its own MySQL connection, pinged every interval. */
static struct {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int stop;
  int interval_ms;
  int purge_interval_s;     /* idempotency key purge interval (0: off) */
  long next_purge_s;        /* CLOCK_MONOTONIC second of the next purge (0: at the first probe) */
  ps_db_t *db;
} probe = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* PS_LOG_LEVEL_FILE: the level is read from it at start, on SIGHUP, and by the probe thread when
 * the file changes (a ConfigMap mounted as a volume is replaced in place); guarded by probe.mu. */
static struct {
  const char *path;      /* "" : no file */
  struct stat seen;      /* the file as last read */
  int have_seen;
  int warned;            /* it was missing or unreadable, and that was said once */
} level_file;

static void reread_log_level(int force) {
  if (!level_file.path || !level_file.path[0]) return;
  struct stat sb;
  if (stat(level_file.path, &sb) != 0) {
    if (!level_file.warned) ps_warn("log level file %s cannot be read; keeping the level %s",
                                    level_file.path, ps_log_level_name(ps_log_get_level()));
    level_file.warned = 1;
    return;
  }
  if (!force && level_file.have_seen && sb.st_ino == level_file.seen.st_ino &&
      sb.st_size == level_file.seen.st_size && sb.st_mtim.tv_sec == level_file.seen.st_mtim.tv_sec &&
      sb.st_mtim.tv_nsec == level_file.seen.st_mtim.tv_nsec)
    return;
  level_file.seen = sb;
  level_file.have_seen = 1;
  char buf[32] = "";
  FILE *f = fopen(level_file.path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  char *p = buf;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  char *e = p + strlen(p);
  while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) *--e = '\0';
  int level = ps_log_parse_level(p);
  if (level < 0) {
    ps_warn("log level file %s does not hold one of debug, info, warn, error; keeping the level %s",
            level_file.path, ps_log_level_name(ps_log_get_level()));
    return;
  }
  level_file.warned = 0;
  ps_log_level_t old = ps_log_get_level();
  if ((ps_log_level_t)level == old) return;
  /* said at info while info is still (or already) written */
  if (old <= PS_LOG_INFO) ps_info("log level %s -> %s", ps_log_level_name(old), p);
  ps_log_set_level((ps_log_level_t)level);
  if (old > PS_LOG_INFO) ps_info("log level %s -> %s", ps_log_level_name(old), p);
}

/* Deletes request ids past their lifetime, a few batches every idem_purge_interval_s (called by
 * the probe thread, with probe.mu held: shutdown waits for it). */
static void purge_expired_request_ids(void) {
  enum { BATCH = 1000, MAX_BATCHES = 20 };
  if (probe.purge_interval_s <= 0) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (probe.next_purge_s && now.tv_sec < probe.next_purge_s) return;
  probe.next_purge_s = now.tv_sec + probe.purge_interval_s;
  uint64_t total = 0;
  for (int i = 0; i < MAX_BATCHES; i++) {
    ps_status_t st;
    ps_status_clear(&st);
    uint64_t n = 0;
    if (ps_idem_purge(probe.db, ps_db_now_us(), BATCH, &n, &st) != 0) {
      ps_warn("purging expired request ids: %s", st.message);
      break;
    }
    total += n;
    if (n < BATCH) break;
  }
  if (total) ps_info("purged %llu expired request ids", (unsigned long long)total);
}

/* The processors this process may use: those it may run on (its CPU affinity: a cpuset), and no
 * more than its CPU quota (cgroup v2 cpu.max, "QUOTA PERIOD" or "max PERIOD"), rounded up. A
 * container limited to 2 CPUs on a 64-processor node counts 2. */
static long usable_cpus(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) cpus = CPU_COUNT(&set);
  FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
  if (f) {
    char quota[32];
    long period = 0;
    if (fscanf(f, "%31s %ld", quota, &period) == 2 && period > 0 && strcmp(quota, "max") != 0) {
      long q = atol(quota);
      long limit = q > 0 ? (q + period - 1) / period : 0;
      if (limit > 0 && limit < cpus) cpus = limit;
    }
    fclose(f);
  }
  return cpus > 0 ? cpus : 1;
}

/* The transport threads to start: as configured, or (0) one per 4 usable processors, at least
 * one. One thread polling one completion queue hands each call to a worker and sends its reply
 * with the fewest thread wake-ups; bench/getprospect.sh on 2 processors measured 1 thread at half
 * the context switches and 20 % less server CPU per GetProspect than 2. More only pay off when one
 * thread cannot keep up with the connections of many processors. */
static int cq_threads(int configured) {
  if (configured > 0) return configured;
  long n = usable_cpus() / 4;
  return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Gives memory that bursts left free back to the system (glibc keeps freed heap pages otherwise,
 * in every thread's arena), at most every 2 s (called by the probe thread). */
static void return_memory(void) {
  static long last_s;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (now.tv_sec - last_s < 2) return;
  last_s = now.tv_sec;
  malloc_trim(0);
}

static void *probe_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&probe.mu);
  while (!probe.stop) {
    pthread_mutex_unlock(&probe.mu);
    ps_status_t st;
    ps_status_clear(&st);
    int up = ps_db_ping(probe.db, &st) == 0;
    ps_health_t before = ps_health_get();
    pthread_mutex_lock(&probe.mu);
    if (probe.stop) break; /* shutdown owns the status now */
    ps_health_set(up ? PS_HEALTH_SERVING : PS_HEALTH_NOT_SERVING);
    if (up) purge_expired_request_ids();
    return_memory();
    reread_log_level(0);
    if (up && before != PS_HEALTH_SERVING) ps_info("database answers again: SERVING");
    if (!up && before == PS_HEALTH_SERVING) ps_warn("database unreachable (%s): NOT_SERVING", st.message);
    struct timespec until = ps_time_in_ms(CLOCK_REALTIME, probe.interval_ms);
    while (!probe.stop && pthread_cond_timedwait(&probe.cond, &probe.mu, &until) == 0) {
    }
  }
  pthread_mutex_unlock(&probe.mu);
  return NULL;
}

/* Stops the probe thread; health says NOT_SERVING from then on (shutdown owns it). */
static void stop_probe(void) {
  pthread_mutex_lock(&probe.mu);
  probe.stop = 1;
  pthread_cond_signal(&probe.cond);
  pthread_mutex_unlock(&probe.mu);
  pthread_join(probe.thread, NULL);
  ps_health_set(PS_HEALTH_NOT_SERVING);
}

/* A part started after SERVING failed to start: stops everything started by then (each stop is a
 * no-op for a part never started) and says why. main's exit status. */
static int cannot_serve(const ps_status_t *st) {
  ps_error("cannot serve: %s", st->message);
  ps_apps_sync_stop();
  ps_indexer_stop();
  ps_reindex_stop();
  ps_metrics_http_stop();
  stop_probe();
  ps_transport_shutdown(0);
  ps_authz_stop();
  ps_db_free(probe.db);
  return 1;
}

/* One line of counters (at exit and on SIGUSR1): calls, the flags cache, Redis. */
static void log_stats(const char *what) {
  ps_transport_stats_t t;
  ps_flags_stats_t f;
  ps_cache_stats_t r;
  ps_transport_get_stats(&t);
  ps_flags_get_stats(&f);
  ps_cache_get_stats(&r);
  ps_info("%s: calls accepted=%llu ok=%llu failed=%llu shed=%llu expired=%llu unknown_method=%llu "
          "unauthenticated=%llu denied=%llu watchers_refused=%llu inflight=%llu watchers=%llu "
          "pending_reply_bytes=%llu call_memory_peak=%llu coalesced_batches=%llu "
          "coalesced_calls=%llu; "
          "flags local_hits=%llu waits=%llu redis_hits=%llu redis_misses=%llu redis_garbage=%llu "
          "fallbacks=%llu "
          "mysql_reads=%llu invalidations=%llu refreshes=%llu; redis commands=%llu failures=%llu "
          "skipped=%llu",
          what, (unsigned long long)t.accepted, (unsigned long long)t.ok,
          (unsigned long long)t.failed, (unsigned long long)t.shed, (unsigned long long)t.expired,
          (unsigned long long)t.unimplemented, (unsigned long long)t.unauthenticated,
          (unsigned long long)t.denied, (unsigned long long)t.watchers_refused,
          (unsigned long long)t.inflight, (unsigned long long)t.watchers,
          (unsigned long long)t.pending_reply_bytes, (unsigned long long)t.call_memory_peak,
          (unsigned long long)t.batches, (unsigned long long)t.batched_calls, f.local_hits, f.waits, f.redis_hits, f.redis_misses, f.redis_garbage,
          f.fallbacks, f.mysql_reads, f.invalidations, f.refreshes, r.commands, r.failures,
          r.skipped);
}

/* 1 when SIGINT/SIGTERM is pending (start-up checks this while it waits). */
static int signal_pending(const sigset_t *set) {
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(set, NULL, &zero);
  return sig == SIGINT || sig == SIGTERM;
}

int main(int argc, char **argv) {
  /* Buffers of 256 KiB and more (large replies and the memory gRPC holds for them) get pages of
   * their own, given back to the system when freed. glibc would otherwise raise this threshold
   * after the first such free and serve later ones from its heaps, where a burst of large replies
   * leaves memory that trimming cannot return while small blocks sit between them. */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  ps_config_t cfg;
  int rc = ps_config_load(&cfg, argc, argv, stdout, stderr);
  if (rc != 0) return rc > 0 ? 0 : 2;
  ps_log_set_level((ps_log_level_t)ps_log_parse_level(cfg.log_level));
  ps_log_set_format((ps_log_format_t)ps_log_parse_format(cfg.log_format));
  level_file.path = cfg.log_level_file;
  reread_log_level(1);
  /* before gRPC starts (abseil.h: the debug-build bookkeeping in every mutex gRPC takes) */
  if (ps_abseil_release_mode()) ps_debug("Abseil's mutex deadlock detection is off");
  else ps_debug("Abseil's mutex deadlock detection setting not found: left as built");

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1); /* logs the counters */
  sigaddset(&set, SIGHUP);  /* rereads the authorization policy and the log level file now */
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  char described[4096];
  ps_config_describe(&cfg, described, sizeof described);
  ps_info("starting prospect-server %s (git %s): %s", PS_VERSION, PS_GIT_REVISION, described);
  if (ps_pagetoken_set_key(cfg.page_token_key))
    ps_warn("DEVELOPMENT: PS_PAGE_TOKEN_KEY is not set, page tokens are sealed with the built-in "
            "development key that anyone who reads the source can use");
  /* cached values in Redis carry a tag under this key (service/apps.c) */
  ps_mac_set_key(cfg.cache_mac_key,
                 cfg.page_token_key[0] ? cfg.page_token_key : PS_PAGETOKEN_DEV_KEY,
                 "prospects apps cache v2");
  if (cfg.plaintext)
    ps_warn("PLAINTEXT: serving %s without TLS; callers are not authenticated, and the merge and "
            "audit records cannot name them. Use this only for development or behind a trusted "
            "local proxy.", cfg.listen);
  if (!cfg.authz_policy[0])
    ps_warn("no PS_AUTHZ_POLICY_FILE: every caller may call every method");

  ps_db_config_t dbc = {cfg.mysql_host, (unsigned)cfg.mysql_port, cfg.mysql_socket, cfg.mysql_user,
                        cfg.mysql_password, cfg.mysql_database, (unsigned)cfg.mysql_timeout_s,
                        strcmp(cfg.mysql_tls, "verify") == 0, cfg.mysql_tls_ca, cfg.mysql_tls_cert,
                        cfg.mysql_tls_key, NULL, cfg.mysql_galera_sync_wait};
  /* several servers (checked by ps_config_load); the workers' handles borrow it until exit */
  static ps_db_hosts_t db_hosts;
  if (cfg.mysql_hosts[0] && ps_db_hosts_parse(cfg.mysql_hosts, (unsigned)cfg.mysql_port, &db_hosts) == 0)
    dbc.hosts = &db_hosts;
  probe.db = ps_db_new(&dbc);
  if (!probe.db) {
    ps_error("out of memory");
    return 1;
  }
  /* wait for the database, then check its schema */
  ps_status_t st;
  ps_status_clear(&st);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int attempt = 0;; attempt++) {
    if (ps_db_ping(probe.db, &st) == 0) break;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (t.tv_sec - t0.tv_sec >= cfg.startup_wait_s) {
      ps_error("database not reachable after %d s: %s", cfg.startup_wait_s, st.message);
      ps_db_free(probe.db);
      return 1;
    }
    if (attempt == 0) ps_info("waiting for the database: %s", st.message);
    if (signal_pending(&set)) {
      ps_info("stopped before serving");
      ps_db_free(probe.db);
      return 0;
    }
    struct timespec pause = {0, 200 * 1000000L};
    nanosleep(&pause, NULL);
  }
  if (ps_db_check_schema(probe.db, &st) != 0) {
    ps_error("refusing to serve: %s", st.message);
    ps_db_free(probe.db);
    return 1;
  }

  if (ps_authz_start(cfg.authz_policy, cfg.authz_reload_s, &st) != 0) {
    ps_error("refusing to serve: %s", st.message);
    ps_db_free(probe.db);
    return 1;
  }
  ps_transport_config_t tc = {
      .listen = cfg.listen,
      .health_listen = cfg.health_listen,
      .cq_threads = cq_threads(cfg.cq_threads),
      .workers = cfg.workers,
      .read_workers = cfg.read_workers,
      .queue = cfg.queue,
      .max_recv_bytes = cfg.max_recv_bytes,
      .call_memory_bytes = (size_t)cfg.call_memory_mb << 20,
      .max_reply_bytes = (size_t)cfg.max_reply_bytes,
      .max_pending_reply_bytes = (size_t)cfg.max_pending_replies_mb << 20,
      .plaintext = cfg.plaintext,
      .tls_cert = cfg.tls_cert,
      .tls_key = cfg.tls_key,
      .tls_client_ca = cfg.tls_client_ca,
      .tls_reload_s = cfg.tls_reload_s,
      .max_streams = cfg.max_streams,
      .max_watchers = cfg.max_watchers,
      .max_server_streams = cfg.export_streams,
      .keepalive_ms = cfg.keepalive_s * 1000,
      .keepalive_timeout_ms = cfg.keepalive_timeout_s * 1000,
      .min_ping_interval_ms = cfg.min_ping_interval_s * 1000,
      .max_idle_ms = cfg.max_idle_s * 1000,
      .max_age_ms = cfg.max_age_s * 1000,
      .max_age_grace_ms = cfg.max_age_grace_s * 1000,
      .grpc_memory_bytes = (size_t)cfg.grpc_memory_mb << 20,
      .db = dbc,
      .cache = {cfg.redis_host, (unsigned)cfg.redis_port, (unsigned)cfg.redis_timeout_ms,
                cfg.redis_user, cfg.redis_password},
  };
  if (ps_transport_start(&tc, &st) != 0) {
    ps_error("cannot serve: %s", st.message);
    ps_authz_stop();
    ps_db_free(probe.db);
    return 1;
  }
  ps_health_set(PS_HEALTH_SERVING);
  probe.interval_ms = cfg.health_interval_ms;
  probe.purge_interval_s = cfg.idem_purge_interval_s;
  if (pthread_create(&probe.thread, NULL, probe_main, NULL) != 0) {
    ps_error("cannot start the health probe");
    ps_health_set(PS_HEALTH_NOT_SERVING);
    ps_transport_shutdown(0);
    ps_authz_stop();
    ps_db_free(probe.db);
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t);
  ps_info("serving prospects.v1.ProspectService on %s (port %d) after %ld ms", cfg.listen,
          ps_transport_port(),
          (long)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000));
  if (ps_transport_health_port())
    ps_info("serving grpc.health.v1 alone, in plaintext, on %s (port %d)", cfg.health_listen,
            ps_transport_health_port());
  if (cfg.metrics_listen[0]) {
    if (ps_metrics_http_start(cfg.metrics_listen, &st) != 0) return cannot_serve(&st);
    ps_info("serving Prometheus metrics on http://%s/metrics (port %d)", cfg.metrics_listen,
            ps_metrics_http_port());
  }

  /* After SERVING: the reindex runs beside the calls and never delays start-up. */
  ps_reindex_config_t rc_cfg = {.enabled = cfg.reindex, .batch_rows = cfg.reindex_batch,
                                .pause_ms = cfg.reindex_pause_ms, .check_s = cfg.reindex_check_s,
                                .db = dbc};
  if (ps_reindex_start(&rc_cfg, &st) != 0) return cannot_serve(&st);

  ps_indexer_config_t ix_cfg = {.threads = cfg.index_queue, .batch_rows = cfg.reindex_batch,
                                .pause_ms = cfg.reindex_pause_ms, .db = dbc};
  if (ps_indexer_start(&ix_cfg, &st) != 0) return cannot_serve(&st);

  /* Tenant-apps changes that Redis missed reach it without waiting for a call (apps_sync.h) */
  if (ps_apps_sync_start(&tc.cache, &st) != 0) return cannot_serve(&st);

  int sig = 0;
  for (;;) {
    sigwait(&set, &sig);
    if (sig == SIGHUP) {
      if (ps_authz_reload() == 0) ps_info("SIGHUP: the authorization policy is unchanged");
      pthread_mutex_lock(&probe.mu);
      reread_log_level(1);
      pthread_mutex_unlock(&probe.mu);
      continue;
    }
    if (sig != SIGUSR1) break;
    log_stats("stats");
  }
  stop_probe();
  ps_reindex_stop(); /* a batch under way ends first; the job resumes on the next start */
  ps_indexer_stop(); /* likewise; the queue stays for the next start or another server */
  if (cfg.drain_delay_ms > 0) {
    /* Health says NOT_SERVING, but calls are still taken: Kubernetes removes the pod from its
     * Service's endpoints and the clients learn of it only after a while; calls sent meanwhile
     * must not fail. A second SIGTERM/SIGINT ends the wait. */
    ps_info("%s: NOT_SERVING; still taking calls for %d ms, then draining (grace %d ms)",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg.drain_delay_ms, cfg.grace_ms);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    struct timespec until = ps_time_in_ms(CLOCK_MONOTONIC, cfg.drain_delay_ms);
    for (;;) {
      clock_gettime(CLOCK_MONOTONIC, &t);
      long left_ms = (long)((until.tv_sec - t.tv_sec) * 1000 + (until.tv_nsec - t.tv_nsec) / 1000000);
      if (left_ms <= 0) break;
      struct timespec wait = {left_ms / 1000, (left_ms % 1000) * 1000000L};
      int got = sigtimedwait(&stop, NULL, &wait);
      if (got == SIGINT || got == SIGTERM) {
        ps_info("a second signal: draining now");
        break;
      }
    }
  }
  ps_info("%s: draining (grace %d ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg.grace_ms);

  ps_metrics_http_stop(); /* it reads the transport's state, which shutdown frees */
  ps_transport_shutdown(cfg.grace_ms);
  ps_apps_sync_stop(); /* after the last call, which may have left a write pending */
  ps_authz_stop();
  log_stats("stopped");
  ps_flags_clear();
  ps_db_free(probe.db);
  return 0;
}
