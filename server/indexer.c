/* The background indexer threads (see indexer.h). Each owns its MySQL connection and its arena;
 * the figures are atomics that the metrics endpoint reads. */
#include "indexer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/names.h"
#include "log.h"
#include "store/index_queue.h"

#define POLL_MS 1000           /* the queue is looked at this often when idle (other servers' imports) */
#define DEPTH_EVERY_MS 1000    /* the depth is counted at most this often */
#define DEPTH_COUNT_MAX 100000 /* counted exactly up to this; InnoDB's estimate beyond */
#define LARGE_BACKLOG 10000    /* a drain of at least this many records is logged */
#define BACKOFF_MAX_S 60

/* One indexer thread: its connection, arena and the tenant it worked on last. */
typedef struct worker {
  pthread_t thread;
  ps_db_t *db;
  ps_arena_t arena;              /* one batch's strings; reset before each */
  char tenant[PS_TENANT_MAX + 1]; /* the last batch's tenant: the next starts after it */
  int first;                     /* counts the depth and logs drained backlogs */
} worker_t;

static struct {
  worker_t w[PS_INDEXER_THREADS_MAX];
  int n;                         /* threads running */
  atomic_int started;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int woken;                     /* under mu: ps_indexer_wake since a thread last waited */
  atomic_int stop;
  atomic_ullong depth, indexed;
  ps_indexer_config_t cfg;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int stopping(void) { return atomic_load(&g.stop); }

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits ms milliseconds, until stop, or (wakeable) until ps_indexer_wake; 1 when stopping. */
static int wait_ms(long ms, int wakeable) {
  struct timespec until = ps_time_in_ms(CLOCK_REALTIME, ms);
  pthread_mutex_lock(&g.mu);
  while (!stopping() && !(wakeable && g.woken) &&
         pthread_cond_timedwait(&g.cond, &g.mu, &until) == 0) {
  }
  if (wakeable) g.woken = 0;
  pthread_mutex_unlock(&g.mu);
  return stopping();
}

static void count_depth(worker_t *w) {
  ps_status_t st;
  ps_status_clear(&st);
  uint64_t n = 0;
  if (ps_store_index_queue_depth(w->db, DEPTH_COUNT_MAX, &n, &st) == 0) atomic_store(&g.depth, n);
}

static void *indexer_main(void *arg) {
  worker_t *w = arg;
  int backoff_s = 0;
  uint64_t run_from = 0;       /* first thread: records indexed when the current drain started */
  double run_t0 = 0, depth_t = 0;
  int running = 0;
  while (!stopping()) {
    double t = now_s();
    if (w->first && t - depth_t >= DEPTH_EVERY_MS / 1000.0) {
      count_depth(w);
      depth_t = t;
    }
    ps_arena_reset(&w->arena);
    ps_status_t st;
    ps_status_clear(&st);
    ps_index_queue_batch_t b;
    if (ps_store_index_queue_step(w->db, &w->arena, w->tenant, g.cfg.batch_rows, &b, &st) != 0) {
      backoff_s = backoff_s ? 2 * backoff_s : 1;
      if (backoff_s > BACKOFF_MAX_S) backoff_s = BACKOFF_MAX_S;
      ps_warn("indexer: a batch failed: %s (%s); retrying in %d s", st.message,
              ps_db_last_error(w->db), backoff_s);
      if (wait_ms(backoff_s * 1000L, 0)) break;
      continue;
    }
    backoff_s = 0;
    if (b.rows > 0) {
      if (!running) {
        running = 1;
        run_t0 = t;
        run_from = atomic_load(&g.indexed);
      }
      atomic_fetch_add(&g.indexed, (unsigned long long)b.rows);
      snprintf(w->tenant, sizeof w->tenant, "%s", b.tenant);
      /* calls get the database for a while after a full batch; a smaller one means the queue is
       * short: the next look comes at once */
      if (b.rows == g.cfg.batch_rows && g.cfg.pause_ms > 0 && wait_ms(g.cfg.pause_ms, 0)) break;
      continue;
    }
    /* nothing to take */
    if (running) {
      running = 0;
      uint64_t run = atomic_load(&g.indexed) - run_from;
      double secs = now_s() - run_t0;
      if (w->first && run >= LARGE_BACKLOG)
        ps_info("indexer: drained a backlog of %llu records in %.1f s (%.0f records/s, %d threads)",
                (unsigned long long)run, secs, secs > 0 ? (double)run / secs : 0.0, g.cfg.threads);
      if (w->first) {
        count_depth(w);
        depth_t = now_s();
      }
    }
    if (wait_ms(POLL_MS, 1)) break;
  }
  return NULL;
}

static void free_worker(worker_t *w) {
  ps_db_free(w->db);
  w->db = NULL;
  ps_arena_destroy(&w->arena);
}

/* Stops and frees the g.n threads started. */
static void stop_all(void) {
  pthread_mutex_lock(&g.mu);
  atomic_store(&g.stop, 1);
  pthread_cond_broadcast(&g.cond);
  pthread_mutex_unlock(&g.mu);
  for (int i = 0; i < g.n; i++) {
    pthread_join(g.w[i].thread, NULL);
    free_worker(&g.w[i]);
  }
  g.n = 0;
}

int ps_indexer_start(const ps_indexer_config_t *cfg, ps_status_t *st) {
  if (cfg->threads < 1) return 0;
  g.cfg = *cfg;
  if (g.cfg.batch_rows < 1) g.cfg.batch_rows = 1;
  if (g.cfg.threads > PS_INDEXER_THREADS_MAX) g.cfg.threads = PS_INDEXER_THREADS_MAX;
  atomic_store(&g.stop, 0);
  g.n = 0;
  while (g.n < g.cfg.threads) {
    worker_t *w = &g.w[g.n];
    memset(w, 0, sizeof *w);
    w->first = g.n == 0;
    if (ps_arena_init(&w->arena, 64 * 1024) != 0 || !(w->db = ps_db_new(&g.cfg.db))) {
      free_worker(w);
      stop_all();
      return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory starting the indexer.");
    }
    if (pthread_create(&w->thread, NULL, indexer_main, w) != 0) {
      free_worker(w);
      stop_all();
      return ps_fail(st, PS_INTERNAL, "", "Cannot start the indexer threads.");
    }
    g.n++;
  }
  atomic_store(&g.started, 1);
  return 0;
}

void ps_indexer_stop(void) {
  if (!atomic_load(&g.started)) return;
  stop_all();
  atomic_store(&g.started, 0);
}

void ps_indexer_wake(void) {
  pthread_mutex_lock(&g.mu);
  g.woken = 1;
  pthread_cond_broadcast(&g.cond);
  pthread_mutex_unlock(&g.mu);
}

void ps_indexer_get_stats(ps_indexer_stats_t *ret) {
  ret->enabled = atomic_load(&g.started);
  ret->depth = atomic_load(&g.depth);
  ret->indexed = atomic_load(&g.indexed);
}
