/* Load generator of the benchmarks: GetProspect, a random record per call from a list of names,
 * with SLOTS calls in flight over CONNECTIONS HTTP/2 connections. Closed loop (each slot sends its
 * next call when the last one is answered), or paced at RATE calls/s in all (each slot at
 * RATE/SLOTS, its calls at fixed times, so a slow answer shows as latency rather than as fewer
 * calls). Prints one line of figures:
 *
 *   calls=N ok=N failed=N seconds=S rate=R p50_us=X p90_us=X p99_us=X max_us=X cpu_us_per_call=X
 *
 *   closedloop TARGET NAMES_FILE SLOTS CONNECTIONS SECONDS [RATE [MAX_CALLS]]
 *
 * RATE 0 is the closed loop; MAX_CALLS > 0 ends the run after that many calls (or SECONDS).
 *
 * It speaks gRPC C core directly and asynchronously: one thread and one completion queue per
 * connection drive that connection's slots (paced, a second thread per connection starts the calls
 * at their times). Paced, it also prints start_lag_p50_us and start_lag_p99_us: how late it
 * started calls itself, a delay that the latencies include.
 *
 * A load generator that shares the machine with the server and the database must cost little per
 * call: a thread blocked in each call (as a synchronous client does) costs it two context switches
 * per call, which the server would then pay for in lost CPU. Its own CPU per call is printed, to
 * show what it took from the machine.
 *
 * Asserts nothing; a failed call is counted and its first status printed on stderr. */
#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prospects/v1/service.pb-c.h"

#define METHOD "/prospects.v1.ProspectService/GetProspect"

typedef struct slot {
  grpc_call *call;
  int64_t t0;                   /* when the call was due (paced) or started */
  int64_t next;                 /* paced: when the next call is due */
  int busy;
  grpc_metadata_array md_in, trailers;
  grpc_byte_buffer *reply;
  grpc_status_code status;
  grpc_slice details;
} slot_t;

typedef struct conn {
  pthread_t thread;
  grpc_channel *channel;
  grpc_completion_queue *cq;
  slot_t *slots;
  int n_slots;
  unsigned seed;
  int64_t period;               /* paced: ns between a slot's calls; 0: closed loop */
  uint32_t *lat_us;             /* latencies of this connection's calls */
  size_t n, cap;
  uint64_t ok, failed;
  /* paced: the pacer thread starts calls at their times; this thread takes their completions */
  pthread_t pacer;
  pthread_mutex_t mu;           /* slots, samples and counts below, when paced */
  pthread_cond_t freed;         /* a slot was freed (the pacer's wake-up may change) */
  int busy, pacing_done;
  uint32_t *lag_us;             /* paced: how late each call started (the generator's own delay) */
  size_t n_lag, cap_lag;
} conn_t;

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

static gpr_timespec at_ns(int64_t t) { /* CLOCK_MONOTONIC ns -> a gRPC deadline */
  int64_t d = t - now_ns();
  if (d < 0) d = 0;
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(d, GPR_TIMESPAN));
}

/* A packed GetProspectRequest for a random name. */
static grpc_byte_buffer *request(conn_t *c) {
  Prospects__V1__GetProspectRequest req = PROSPECTS__V1__GET_PROSPECT_REQUEST__INIT;
  req.name = names[(size_t)rand_r(&c->seed) % n_names];
  uint8_t buf[512];
  size_t len = prospects__v1__get_prospect_request__get_packed_size(&req);
  if (len > sizeof buf) return NULL;
  prospects__v1__get_prospect_request__pack(&req, buf);
  grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, len);
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  return bb;
}

/* Starts slot s's next call. 0, or -1 (nothing started: the run is over or a call failed to start). */
static int start(conn_t *c, slot_t *s, int64_t t0) {
  if (limited && atomic_fetch_sub(&calls_left, 1) <= 0) return -1;
  grpc_byte_buffer *req = request(c);
  if (!req) return -1;
  grpc_slice method = grpc_slice_from_static_string(METHOD);
  s->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, method, NULL,
                                     at_ns(now_ns() + 10 * 1000000000LL), NULL);
  if (!s->call) {
    grpc_byte_buffer_destroy(req);
    return -1;
  }
  grpc_metadata_array_init(&s->md_in);
  grpc_metadata_array_init(&s->trailers);
  s->reply = NULL;
  s->details = grpc_empty_slice();
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = req;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->md_in;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &s->reply;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &s->trailers;
  ops[5].data.recv_status_on_client.status = &s->status;
  ops[5].data.recv_status_on_client.status_details = &s->details;
  s->t0 = t0;
  grpc_call_error e = grpc_call_start_batch(s->call, ops, 6, s, NULL);
  grpc_byte_buffer_destroy(req); /* the batch holds its own reference */
  if (e != GRPC_CALL_OK) {
    grpc_call_unref(s->call);
    grpc_metadata_array_destroy(&s->md_in);
    grpc_metadata_array_destroy(&s->trailers);
    return -1;
  }
  s->busy = 1;
  return 0;
}

static void sample(uint32_t **a, size_t *n, size_t *cap, int64_t us);

/* Records slot s's finished call and releases it. */
static void finished(conn_t *c, slot_t *s, int ok) {
  int64_t t1 = now_ns();
  int good = ok && s->status == GRPC_STATUS_OK && s->reply != NULL;
  if (good) {
    grpc_byte_buffer_reader r;
    good = 0;
    if (grpc_byte_buffer_reader_init(&r, s->reply)) {
      grpc_slice all = grpc_byte_buffer_reader_readall(&r);
      Prospects__V1__Prospect *p = prospects__v1__prospect__unpack(
          NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
      good = p != NULL;
      if (p) prospects__v1__prospect__free_unpacked(p, NULL);
      grpc_slice_unref(all);
      grpc_byte_buffer_reader_destroy(&r);
    }
  }
  if (good) {
    c->ok++;
  } else {
    c->failed++;
    if (atomic_fetch_add(&reported, 1) == 0) {
      char *d = grpc_slice_to_c_string(s->details);
      fprintf(stderr, "closedloop: a call failed: status %d %s\n", (int)s->status, d ? d : "");
      gpr_free(d);
    }
  }
  if (s->reply) grpc_byte_buffer_destroy(s->reply);
  grpc_slice_unref(s->details);
  grpc_metadata_array_destroy(&s->md_in);
  grpc_metadata_array_destroy(&s->trailers);
  grpc_call_unref(s->call);
  s->call = NULL;
  s->busy = 0;
  sample(&c->lat_us, &c->n, &c->cap, (t1 - s->t0) / 1000);
}

/* Appends v to a growing sample array; the sample is lost (the count kept) without memory. */
static void sample(uint32_t **a, size_t *n, size_t *cap, int64_t us) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 65536;
    uint32_t *l = realloc(*a, nc * sizeof *l);
    if (!l) return;
    *a = l;
    *cap = nc;
  }
  (*a)[(*n)++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Closed loop: each slot sends its next call as soon as the last one is answered. */
static void *run_closed(void *arg) {
  conn_t *c = arg;
  int busy = 0, stopping = 0;
  for (;;) {
    for (int i = 0; i < c->n_slots && !stopping; i++) {
      slot_t *s = &c->slots[i];
      if (s->busy) continue;
      if (now_ns() >= end_ns || start(c, s, now_ns()) != 0) stopping = 1;
      else busy++;
    }
    if (stopping && busy == 0) break;
    grpc_event ev = grpc_completion_queue_next(c->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type == GRPC_OP_COMPLETE) {
      finished(c, ev.tag, ev.success);
      busy--;
    } else if (ev.type == GRPC_QUEUE_SHUTDOWN) {
      break;
    }
  }
  return NULL;
}

/* Paced, with c->mu held: starts slot s's call that was due at s->next. -1 when none can start. */
static int start_due(conn_t *c, slot_t *s) {
  int64_t due = s->next;
  if (start(c, s, due) != 0) return -1;
  sample(&c->lag_us, &c->n_lag, &c->cap_lag, (now_ns() - due) / 1000);
  c->busy++;
  s->next += c->period;
  return 0;
}

/* Paced: the pacer thread. It sleeps until the next call is due (a condition variable's timed
 * wait, no timer slack; a completion queue's deadline is rounded to milliseconds, and that
 * showed up as a millisecond of latency per call), starts it, and
 * leaves the completions to the connection's thread. A slot still busy at its time is started by
 * that thread when its call ends, its latency counted from the time it was due. */
static void *pace(void *arg) {
  conn_t *c = arg;
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); /* wake at the time, not up to 50 µs after */
  pthread_mutex_lock(&c->mu);
  for (;;) {
    int64_t now = now_ns(), wake = end_ns;
    if (now >= end_ns) break;
    int failed = 0;
    for (int i = 0; i < c->n_slots && !failed; i++) {
      slot_t *s = &c->slots[i];
      if (s->busy) continue;
      if (s->next <= now) failed = start_due(c, s) != 0;
      if (!s->busy && s->next < wake) wake = s->next;
    }
    if (failed) break;
    struct timespec ts = {(time_t)(wake / 1000000000), (long)(wake % 1000000000)};
    pthread_cond_timedwait(&c->freed, &c->mu, &ts);
  }
  c->pacing_done = 1;
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* Paced: the connection's thread takes the completions. */
static void *run_paced(void *arg) {
  conn_t *c = arg;
  int64_t t = now_ns();
  for (int i = 0; i < c->n_slots; i++) /* spread the slots over one period */
    c->slots[i].next = t + (int64_t)(rand_r(&c->seed) % (unsigned)(c->period / 1000 + 1)) * 1000;
  if (pthread_create(&c->pacer, NULL, pace, c) != 0) return NULL;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(c->cq, at_ns(now_ns() + 50 * 1000000LL), NULL);
    pthread_mutex_lock(&c->mu);
    if (ev.type == GRPC_OP_COMPLETE) {
      slot_t *s = ev.tag;
      finished(c, s, ev.success);
      c->busy--;
      if (!c->pacing_done && s->next <= now_ns() && now_ns() < end_ns) (void)start_due(c, s);
      pthread_cond_signal(&c->freed);
    }
    int done = c->pacing_done && c->busy == 0;
    pthread_mutex_unlock(&c->mu);
    if (done || ev.type == GRPC_QUEUE_SHUTDOWN) break;
  }
  pthread_join(c->pacer, NULL);
  return NULL;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Every connection's samples of one kind (latencies, or paced start lags) in one sorted array;
 * each connection's own array is freed. *ret_n: how many. NULL when out of memory. */
static uint32_t *merged_samples(conn_t *cs, int conns, int lags, size_t *ret_n) {
  size_t n = 0;
  for (int i = 0; i < conns; i++) n += lags ? cs[i].n_lag : cs[i].n;
  uint32_t *all = malloc((n ? n : 1) * sizeof *all);
  if (!all) return NULL;
  size_t k = 0;
  for (int i = 0; i < conns; i++) {
    uint32_t **own = lags ? &cs[i].lag_us : &cs[i].lat_us;
    size_t m = lags ? cs[i].n_lag : cs[i].n;
    if (m) memcpy(all + k, *own, m * sizeof *all);
    k += m;
    free(*own);
    *own = NULL;
  }
  qsort(all, n, sizeof *all, cmp_u32);
  *ret_n = n;
  return all;
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
            "usage: closedloop TARGET NAMES_FILE SLOTS CONNECTIONS SECONDS [RATE [MAX_CALLS]]\n");
    return 2;
  }
  int slots = atoi(argv[3]), conns = atoi(argv[4]);
  double seconds = atof(argv[5]), rate = argc > 6 ? atof(argv[6]) : 0;
  long long max_calls = argc > 7 ? atoll(argv[7]) : 0;
  if (max_calls > 0) {
    limited = 1;
    atomic_store(&calls_left, max_calls);
  }
  if (slots < 1 || conns < 1 || conns > slots || seconds <= 0 || rate < 0) {
    fprintf(stderr, "closedloop: bad arguments\n");
    return 2;
  }
  if (read_names(argv[2]) != 0) return 1;
  grpc_init();
  conn_t *cs = calloc((size_t)conns, sizeof *cs);
  if (!cs) return 1;
  struct timespec cpu0, cpu1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  int64_t begin = now_ns();
  end_ns = begin + (int64_t)(seconds * 1e9);
  for (int i = 0; i < conns; i++) {
    conn_t *c = &cs[i];
    /* a channel argument of its own per connection, so that they do not share one subchannel */
    grpc_arg arg = {GRPC_ARG_INTEGER, "closedloop.connection", {.integer = i}};
    grpc_channel_args args = {1, &arg};
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    c->channel = grpc_channel_create(argv[1], creds, &args);
    grpc_channel_credentials_release(creds);
    c->cq = grpc_completion_queue_create_for_next(NULL);
    c->n_slots = slots / conns + (i < slots % conns);
    c->slots = calloc((size_t)c->n_slots, sizeof *c->slots);
    c->seed = (unsigned)(begin ^ (i * 2654435761u));
    c->period = rate > 0 ? (int64_t)(1e9 * slots / rate) : 0;
    if (!c->channel || !c->cq || !c->slots) return 1;
    pthread_condattr_t ca;
    if (pthread_mutex_init(&c->mu, NULL) != 0 || pthread_condattr_init(&ca) != 0 ||
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&c->freed, &ca) != 0)
      return 1;
    pthread_condattr_destroy(&ca);
    if (pthread_create(&c->thread, NULL, c->period ? run_paced : run_closed, c) != 0) return 1;
  }
  uint64_t ok = 0, failed = 0;
  for (int i = 0; i < conns; i++) {
    pthread_join(cs[i].thread, NULL);
    ok += cs[i].ok;
    failed += cs[i].failed;
  }
  double elapsed = (double)(now_ns() - begin) / 1e9;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  double cpu_us = (double)(cpu1.tv_sec - cpu0.tv_sec) * 1e6 + (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e3;
  size_t total;
  uint32_t *all = merged_samples(cs, conns, 0, &total);
  if (!all) return 1;
#define PCT(a, n, p) ((n) ? (a)[(size_t)((double)((n) - 1) * (p))] : 0)
  printf("calls=%zu ok=%llu failed=%llu seconds=%.2f rate=%.0f p50_us=%u p90_us=%u p99_us=%u "
         "max_us=%u cpu_us_per_call=%.1f",
         total, (unsigned long long)ok, (unsigned long long)failed, elapsed, (double)total / elapsed,
         PCT(all, total, 0.50), PCT(all, total, 0.90), PCT(all, total, 0.99),
         total ? all[total - 1] : 0, total ? cpu_us / (double)total : 0.0);
  free(all);
  if (rate > 0) { /* how late the generator itself started calls: part of every latency above */
    size_t n_lag;
    uint32_t *lag = merged_samples(cs, conns, 1, &n_lag);
    if (!lag) return 1;
    printf(" start_lag_p50_us=%u start_lag_p99_us=%u", PCT(lag, n_lag, 0.50),
           PCT(lag, n_lag, 0.99));
    free(lag);
  }
  printf("\n");
  for (int i = 0; i < conns; i++) {
    grpc_completion_queue_shutdown(cs[i].cq);
    while (grpc_completion_queue_next(cs[i].cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cs[i].cq);
    grpc_channel_destroy(cs[i].channel);
    free(cs[i].slots);
    free(cs[i].lag_us); /* closed loop: none were merged */
    pthread_mutex_destroy(&cs[i].mu);
    pthread_cond_destroy(&cs[i].freed);
  }
  for (size_t i = 0; i < n_names; i++) free(names[i]);
  free(names);
  free(cs);
  grpc_shutdown();
  return 0;
}
