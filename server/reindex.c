/* The background reindex thread (see reindex.h). Owns its MySQL connection, its arena and the job
 * locks it holds; the per-job figures are atomics that the metrics endpoint reads. */
#include "reindex.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/normalize_v1.h"
#include "log.h"
#include "store/reindex.h"

#define PROGRESS_BATCHES 100 /* a progress line every this many batches */
#define BACKOFF_MAX_S 60     /* the longest pause after failures in a row */

/* A job and what this process knows of it. */
typedef struct job {
  const ps_reindex_job_t *def;
  void (*on_done)(int done); /* told after every read of the job's row whether it is finished */
  atomic_ullong rows;        /* rows this process's batches covered */
  atomic_ullong remaining;   /* rows after the cursor, as last read */
  atomic_int done;           /* finished for def->version (or a newer version's run finished) */
  atomic_int active;         /* this process holds the job's lock */
  int said_busy;             /* "another server works on it" was said (thread only) */
  int seen_unfinished;       /* this process has seen the job unfinished (thread only) */
} job_t;

/* The request path looks rows up in their version-1 forms too until the norms job is done. */
static void norms_done(int done) { ps_norm_v1_set_in_use(!done); }

/* The jobs, run in this order. A new one (a migration that adds data to backfill) goes here, with
 * its ps_reindex_job_t in the store. */
static job_t g_jobs[] = {
    {.def = &ps_store_reindex_norms, .on_done = norms_done},
};
#define N_JOBS (sizeof g_jobs / sizeof g_jobs[0])

static struct {
  pthread_t thread;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  atomic_int stop;
  ps_reindex_config_t cfg;
  ps_db_t *db;
  ps_arena_t arena;  /* one batch's strings; reset before each */
  char worker[320];  /* host and pid, written into the job rows */
  int backoff_s;     /* the pause after the last failure (0: none) */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int stopping(void) { return atomic_load(&g.stop); }

/* Waits ms milliseconds or until stop; 1 when stopping. */
static int pause_ms(long ms) {
  if (ms <= 0) return stopping();
  struct timespec until = ps_time_in_ms(CLOCK_REALTIME, ms);
  pthread_mutex_lock(&g.mu);
  while (!stopping() && pthread_cond_timedwait(&g.cond, &g.mu, &until) == 0) {
  }
  pthread_mutex_unlock(&g.mu);
  return stopping();
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Publishes what the job row says: metrics and the job's flag. */
static void publish(job_t *j, const ps_reindex_state_t *x) {
  int done = x->exists && x->finished && x->version >= j->def->version;
  uint64_t remaining = 0;
  if (x->exists && x->version == j->def->version && !x->finished && x->rows_total > x->rows_done)
    remaining = x->rows_total - x->rows_done;
  atomic_store(&j->remaining, remaining);
  int was_done = atomic_exchange(&j->done, done);
  if (j->on_done) j->on_done(done);
  if (!done) j->seen_unfinished = 1;
  else if (!was_done && j->seen_unfinished && !atomic_load(&j->active)) /* another server's work */
    ps_info("reindex %s: done (%llu rows, %llu of them rebuilt)", j->def->name,
            (unsigned long long)x->rows_done, (unsigned long long)x->rows_rebuilt);
}

static void drop_lock(job_t *j) {
  if (!atomic_load(&j->active)) return;
  ps_store_reindex_unlock(g.db, j->def->name);
  atomic_store(&j->active, 0);
}

/* Logs a failure, gives the lock back (another server may go on meanwhile) and sets the pause
 * before the next try. -1. */
static int fail(job_t *j, const char *what, const ps_status_t *st) {
  g.backoff_s = g.backoff_s ? 2 * g.backoff_s : 1;
  if (g.backoff_s > BACKOFF_MAX_S) g.backoff_s = BACKOFF_MAX_S;
  ps_warn("reindex %s: %s failed: %s (%s); retrying in %d s", j->def->name, what, st->message,
          ps_db_last_error(g.db), g.backoff_s);
  drop_lock(j);
  return -1;
}

/* One round of a job: read its row; when it is not done and this server may, take its lock and
 * run batches until it is done, stops, or fails. 0, or -1 after a failure (logged). */
static int run_job(job_t *j) {
  const ps_reindex_job_t *def = j->def;
  ps_status_t st;
  ps_status_clear(&st);
  ps_reindex_state_t x;
  if (ps_store_reindex_read(g.db, def->name, &x, &st) != 0) return fail(j, "reading the progress", &st);
  publish(j, &x);
  if (atomic_load(&j->done) || !g.cfg.enabled || (x.exists && x.version > def->version)) {
    drop_lock(j);
    return 0;
  }
  if (!atomic_load(&j->active)) {
    int got = 0;
    if (ps_store_reindex_lock(g.db, def->name, &got, &st) != 0) return fail(j, "taking the lock", &st);
    if (!got) {
      if (!j->said_busy) ps_info("reindex %s: another server works on it; following its progress", def->name);
      j->said_busy = 1;
      return 0;
    }
    atomic_store(&j->active, 1);
    j->said_busy = 0;
    if (ps_store_reindex_begin(g.db, def, g.worker, &x, &st) != 0) return fail(j, "starting", &st);
    publish(j, &x);
    if (x.version != def->version || x.finished) {
      drop_lock(j);
      return 0;
    }
    if (x.batches == 0)
      ps_info("reindex %s: started: building %s (version %u) for %llu rows, %d per batch, %d ms "
              "apart", def->name, def->what, def->version, (unsigned long long)x.rows_total,
              g.cfg.batch_rows, g.cfg.pause_ms);
    else
      ps_info("reindex %s: resuming after %llu of %llu rows (%llu batches committed)", def->name,
              (unsigned long long)x.rows_done, (unsigned long long)x.rows_total,
              (unsigned long long)x.batches);
  }
  double t0 = now_s(), t_log = t0;
  uint64_t rows_run = 0, rows_log = 0;
  for (;;) {
    if (stopping()) return 0;
    ps_arena_reset(&g.arena);
    ps_reindex_batch_t b;
    if (ps_store_reindex_step(g.db, &g.arena, def, g.cfg.batch_rows, g.worker, &x, &b, &st) != 0)
      return fail(j, "a batch", &st);
    g.backoff_s = 0;
    atomic_fetch_add(&j->rows, (unsigned long long)b.rows);
    rows_run += (uint64_t)b.rows;
    publish(j, &x);
    if (!x.exists || x.version != def->version) { /* deleted or taken over by a newer version */
      drop_lock(j);
      return 0;
    }
    if (x.finished) {
      double s = now_s() - t0;
      ps_info("reindex %s: done: %llu rows, %llu of them rebuilt, %.1f s after the job started; "
              "this server %llu rows in %.1f s (%.0f rows/s)", def->name,
              (unsigned long long)x.rows_done, (unsigned long long)x.rows_rebuilt,
              (double)(x.finish_us - x.start_us) / 1e6, (unsigned long long)rows_run, s,
              s > 0 ? (double)rows_run / s : 0.0);
      drop_lock(j);
      return 0;
    }
    if (x.batches % PROGRESS_BATCHES == 0) {
      double t = now_s();
      ps_info("reindex %s: %llu of %llu rows (%.0f %%), %llu rebuilt, %.0f rows/s", def->name,
              (unsigned long long)x.rows_done, (unsigned long long)x.rows_total,
              x.rows_total ? 100.0 * (double)x.rows_done / (double)x.rows_total : 100.0,
              (unsigned long long)x.rows_rebuilt,
              t > t_log ? (double)(rows_run - rows_log) / (t - t_log) : 0.0);
      t_log = t;
      rows_log = rows_run;
    }
    /* calls get the database for a while, in proportion to the batch (the last of a tenant's
     * may be small) */
    if (pause_ms((long)g.cfg.pause_ms * b.rows / g.cfg.batch_rows)) return 0;
  }
}

static void *reindex_main(void *arg) {
  (void)arg;
  while (!stopping()) {
    int failed = 0;
    for (size_t i = 0; i < N_JOBS && !stopping(); i++)
      if (run_job(&g_jobs[i]) != 0) failed = 1;
    if (!failed) g.backoff_s = 0;
    if (pause_ms(failed ? g.backoff_s * 1000L : g.cfg.check_s * 1000L)) break;
  }
  for (size_t i = 0; i < N_JOBS; i++) drop_lock(&g_jobs[i]);
  return NULL;
}

int ps_reindex_start(const ps_reindex_config_t *cfg, ps_status_t *st) {
  g.cfg = *cfg;
  if (g.cfg.batch_rows < 1) g.cfg.batch_rows = 1;
  if (g.cfg.check_s < 1) g.cfg.check_s = 1;
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
  snprintf(g.worker, sizeof g.worker, "%s:%ld", host, (long)getpid());
  if (ps_arena_init(&g.arena, 64 * 1024) != 0) {
    ps_arena_destroy(&g.arena);
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory starting the reindex.");
  }
  g.db = ps_db_new(&g.cfg.db);
  if (!g.db) {
    ps_arena_destroy(&g.arena);
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory starting the reindex.");
  }
  atomic_store(&g.stop, 0);
  if (pthread_create(&g.thread, NULL, reindex_main, NULL) != 0) {
    ps_db_free(g.db);
    g.db = NULL;
    ps_arena_destroy(&g.arena);
    return ps_fail(st, PS_INTERNAL, "", "Cannot start the reindex thread.");
  }
  g.started = 1;
  return 0;
}

void ps_reindex_stop(void) {
  if (!g.started) return;
  pthread_mutex_lock(&g.mu);
  atomic_store(&g.stop, 1);
  pthread_cond_broadcast(&g.cond);
  pthread_mutex_unlock(&g.mu);
  pthread_join(g.thread, NULL);
  ps_db_free(g.db);
  g.db = NULL;
  ps_arena_destroy(&g.arena);
  g.started = 0;
}

size_t ps_reindex_get_stats(ps_reindex_stats_t *out, size_t max) {
  for (size_t i = 0; i < N_JOBS && i < max; i++) {
    job_t *j = &g_jobs[i];
    out[i].job = j->def->name;
    out[i].rows = atomic_load(&j->rows);
    out[i].remaining = atomic_load(&j->remaining);
    out[i].done = atomic_load(&j->done);
    out[i].active = atomic_load(&j->active);
  }
  return N_JOBS;
}
