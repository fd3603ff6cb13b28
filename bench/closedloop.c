/* Load generator of the benchmarks: GetProspect through the C client library, a random record per
 * call from a list of names, from THREADS threads over CONNECTIONS client handles (one HTTP/2
 * connection each). Closed loop (each thread sends its next call when the last one is answered),
 * or paced at RATE calls/s in all (each thread at RATE/THREADS, its calls at fixed times, so a slow
 * answer shows as latency rather than as fewer calls). Prints one line of figures:
 *
 *   calls=N ok=N failed=N seconds=S rate=R p50_us=X p90_us=X p99_us=X max_us=X
 *
 *   closedloop TARGET NAMES_FILE THREADS CONNECTIONS SECONDS [RATE [MAX_CALLS]]
 *
 * RATE 0 is the closed loop; MAX_CALLS > 0 ends the run after that many calls (or SECONDS).
 *
 * Asserts nothing; a failed call is counted and its first status printed on stderr. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prospects/client.h"

typedef struct worker {
  pthread_t thread;
  psc_client_t *client;
  unsigned seed;
  double rate;          /* this thread's calls per second; 0: closed loop */
  uint32_t *lat_us;     /* latencies of this thread's calls */
  size_t n, cap;
  uint64_t ok, failed;
} worker_t;

static char **names;
static size_t n_names;
static int64_t end_ns;
static int limited;              /* MAX_CALLS was given */
static atomic_llong calls_left; /* calls still to start when limited */
static atomic_int reported;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t) {
  struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void *run(void *arg) {
  worker_t *w = arg;
  int64_t next = now_ns();
  int64_t period = w->rate > 0 ? (int64_t)(1e9 / w->rate) : 0;
  if (period) next += (int64_t)(rand_r(&w->seed) % (unsigned)(period / 1000 + 1)) * 1000;
  for (;;) {
    if (period) {
      sleep_until(next);
    }
    int64_t t0 = period ? next : now_ns();
    if (t0 >= end_ns) break;
    if (limited && atomic_fetch_sub(&calls_left, 1) <= 0) break;
    Prospects__V1__GetProspectRequest req = PROSPECTS__V1__GET_PROSPECT_REQUEST__INIT;
    req.name = names[(size_t)rand_r(&w->seed) % n_names];
    Prospects__V1__Prospect *resp = NULL;
    psc_status_t st;
    psc_call_options_t opts = {0};
    opts.deadline_ms = 10000;
    psc_get_prospect(w->client, &req, &opts, &resp, &st);
    int64_t t1 = now_ns();
    if (st.code == PSC_OK) {
      w->ok++;
      prospects__v1__prospect__free_unpacked(resp, NULL);
    } else {
      w->failed++;
      if (atomic_fetch_add(&reported, 1) == 0)
        fprintf(stderr, "closedloop: %s: code %d %s %s\n", req.name, st.code, st.reason, st.message);
    }
    if (w->n == w->cap) {
      size_t cap = w->cap ? w->cap * 2 : 65536;
      uint32_t *l = realloc(w->lat_us, cap * sizeof *l);
      if (!l) {
        fprintf(stderr, "closedloop: out of memory\n");
        break;
      }
      w->lat_us = l;
      w->cap = cap;
    }
    int64_t us = (t1 - t0) / 1000;
    w->lat_us[w->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    if (period) next += period;
  }
  return NULL;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int read_names(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t cap = 0;
  char *line = NULL;
  size_t len = 0;
  ssize_t got;
  while ((got = getline(&line, &len, f)) > 0) {
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
    if (got == 0) continue;
    if (n_names == cap) {
      cap = cap ? cap * 2 : 1024;
      char **n = realloc(names, cap * sizeof *n);
      if (!n) break;
      names = n;
    }
    names[n_names] = strdup(line);
    if (!names[n_names]) break;
    n_names++;
  }
  free(line);
  fclose(f);
  if (n_names == 0) {
    fprintf(stderr, "closedloop: no names in %s\n", path);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr,
            "usage: closedloop TARGET NAMES_FILE THREADS CONNECTIONS SECONDS [RATE [MAX_CALLS]]\n");
    return 2;
  }
  int threads = atoi(argv[3]), conns = atoi(argv[4]);
  double seconds = atof(argv[5]), rate = argc > 6 ? atof(argv[6]) : 0;
  long long max_calls = argc > 7 ? atoll(argv[7]) : 0;
  if (max_calls > 0) {
    limited = 1;
    atomic_store(&calls_left, max_calls);
  }
  if (threads < 1 || conns < 1 || conns > threads || seconds <= 0 || rate < 0) {
    fprintf(stderr, "closedloop: bad arguments\n");
    return 2;
  }
  if (read_names(argv[2]) != 0) return 1;
  psc_client_t **clients = calloc((size_t)conns, sizeof *clients);
  worker_t *ws = calloc((size_t)threads, sizeof *ws);
  if (!clients || !ws) return 1;
  for (int i = 0; i < conns; i++) {
    psc_options_t o = {0};
    o.target = argv[1];
    o.transport = PSC_TRANSPORT_PLAINTEXT;
    o.retry.max_attempts = 1;
    if (psc_client_new(&o, &clients[i]) != 0) {
      fprintf(stderr, "closedloop: cannot make a client for %s\n", argv[1]);
      return 1;
    }
  }
  int64_t start = now_ns();
  end_ns = start + (int64_t)(seconds * 1e9);
  for (int i = 0; i < threads; i++) {
    ws[i].client = clients[i % conns];
    ws[i].seed = (unsigned)(start ^ (i * 2654435761u));
    ws[i].rate = rate / threads;
    if (pthread_create(&ws[i].thread, NULL, run, &ws[i]) != 0) return 1;
  }
  size_t total = 0;
  uint64_t ok = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(ws[i].thread, NULL);
    total += ws[i].n;
    ok += ws[i].ok;
    failed += ws[i].failed;
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  uint32_t *all = malloc((total ? total : 1) * sizeof *all);
  if (!all) return 1;
  size_t k = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(all + k, ws[i].lat_us, ws[i].n * sizeof *all);
    k += ws[i].n;
    free(ws[i].lat_us);
  }
  qsort(all, total, sizeof *all, cmp_u32);
#define PCT(p) (total ? all[(size_t)((double)(total - 1) * (p))] : 0)
  printf("calls=%zu ok=%llu failed=%llu seconds=%.2f rate=%.0f p50_us=%u p90_us=%u p99_us=%u "
         "max_us=%u\n",
         total, (unsigned long long)ok, (unsigned long long)failed, elapsed, (double)total / elapsed,
         PCT(0.50), PCT(0.90), PCT(0.99), total ? all[total - 1] : 0);
  free(all);
  for (int i = 0; i < conns; i++) psc_client_free(clients[i]);
  for (size_t i = 0; i < n_names; i++) free(names[i]);
  free(names);
  free(clients);
  free(ws);
  return 0;
}
