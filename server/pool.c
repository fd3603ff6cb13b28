#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

/* Idle workers wait on their own condition variable and are woken last-in first-out: under a
 * moderate load a few hot workers take every call (their stacks and connections stay in cache and
 * a worker that finds more work does not sleep at all), while the others stay parked for bursts
 * and slow queries. At most one worker is on its way at a time: a submit wakes one only when no
 * woken worker has yet to take its work, and a worker that takes work and leaves more queued wakes
 * the next. A burst therefore wakes workers one after the other, as fast as they start, and the
 * calls that arrive meanwhile wait in the queue, where they can join a batch, instead of each
 * paying for a thread of its own to be woken.
 *
 * With ops.max_keyed_running, an item that has a batch key goes out at once when no worker runs
 * keyed items; while one does, the keyed items that arrive wait for it to finish and then go as one
 * batch, unless they are enough to fill two batches (PS_POOL_READER_FILL: then another worker
 * takes a batch of them, up to max_keyed_running at once). Against a fast database one worker
 * reads, in batches as large as the load makes them; against a slow one, more read in parallel as
 * the queue fills. A worker looks past waiting keyed items for one without a key (within
 * PS_POOL_BATCH_SCAN). */
typedef struct idle_slot {
  pthread_cond_t wake;      /* signalled to hand this worker work (or to stop) */
  int woken;                /* set with the signal, under the pool mutex */
} idle_slot_t;

struct ps_pool {
  pthread_mutex_t mu;
  idle_slot_t *slots;       /* one per worker */
  int *idle;                /* stack of idle worker indexes; top = most recently idle */
  int n_idle;
  int n_waking;             /* workers signalled that have not yet taken their work */
  pthread_cond_t started;   /* signalled when a worker has made its state */
  void **ring;              /* capacity slots */
  int capacity, head, count;
  int stopping;             /* no more submits; workers exit when the queue is empty */
  int n_threads;            /* threads started */
  int n_slots;              /* slots (and idle stack) allocated */
  int n_ready, n_failed;    /* workers whose state was made / could not be made */
  pthread_t *threads;
  ps_pool_ops_t ops;
  unsigned long long batches, batched_items; /* under mu */
  int keyed_running;        /* workers running items with a batch key */
};

typedef struct worker_arg {
  ps_pool_t *pool;
  int index;
} worker_arg_t;

/* Wakes the most recently idle worker (mutex held). */
static void wake_one(ps_pool_t *p) {
  if (p->n_idle == 0) return;
  idle_slot_t *s = &p->slots[p->idle[--p->n_idle]];
  s->woken = 1;
  p->n_waking++;
  pthread_cond_signal(&s->wake);
}

/* The position (from the head) of the item a worker may take now, or -1 when there is none
 * (mutex held). The head, except when it has a batch key, a worker already runs keyed items and
 * either max_keyed_running of them do or the keyed items waiting would not fill two batches
 * (PS_POOL_READER_FILL, counted within PS_POOL_BATCH_SCAN): then they wait for a running one to
 * finish and take them all, and the answer is the first item without a key within
 * PS_POOL_BATCH_SCAN. */
static int eligible(ps_pool_t *p) {
  if (p->count == 0) return -1;
  if (!p->ops.batch_key || p->ops.max_keyed_running <= 0 || p->stopping || p->keyed_running == 0)
    return 0;
  if (p->ops.batch_key(p->ops.ud, p->ring[p->head]) == 0) return 0;
  int scan = p->count < PS_POOL_BATCH_SCAN ? p->count : PS_POOL_BATCH_SCAN;
  int keyed = 1, first_unkeyed = -1;
  for (int i = 1; i < scan; i++) {
    if (p->ops.batch_key(p->ops.ud, p->ring[(p->head + i) % p->capacity]) != 0) keyed++;
    else if (first_unkeyed < 0) first_unkeyed = i;
  }
  if (p->keyed_running < p->ops.max_keyed_running && keyed >= PS_POOL_READER_FILL) return 0;
  return first_unkeyed;
}

/* Takes the item at position at (from the head; see eligible) and, when it has a batch key, the
 * queued items of the same key behind it, keeping the order of the rest (mutex held). Returns how
 * many are in batch[]; *ret_key is the batch key (0: none). */
static int take(ps_pool_t *p, int at, void **batch, int *ret_key) {
  void *first = p->ring[(p->head + at) % p->capacity];
  int key = p->ops.batch_key ? p->ops.batch_key(p->ops.ud, first) : 0;
  *ret_key = key;
  batch[0] = first;
  if (at == 0 && (key == 0 || p->count == 1)) { /* the common cases: pop the head */
    p->head = (p->head + 1) % p->capacity;
    p->count--;
    return 1;
  }
  /* move the taken items to batch[], and close the gaps they leave, keeping the order */
  int n = 1;
  int scan = p->count < PS_POOL_BATCH_SCAN ? p->count : PS_POOL_BATCH_SCAN;
  if (scan < at + 1) scan = at + 1;
  int kept = 0;
  for (int i = 0; i < scan; i++) {
    void *item = p->ring[(p->head + i) % p->capacity];
    if (i == at) continue;
    if (key != 0 && i > at && n < PS_POOL_BATCH_MAX && p->ops.batch_key(p->ops.ud, item) == key)
      batch[n++] = item;
    else
      p->ring[(p->head + kept++) % p->capacity] = item;
  }
  /* the unscanned tail moves up behind the kept items */
  for (int i = scan; i < p->count; i++)
    p->ring[(p->head + kept++) % p->capacity] = p->ring[(p->head + i) % p->capacity];
  p->count -= n;
  if (n > 1) {
    p->batches++;
    p->batched_items += (unsigned long long)n;
  }
  return n;
}

static void *worker_main(void *arg) {
  worker_arg_t wa = *(worker_arg_t *)arg;
  free(arg);
  ps_pool_t *p = wa.pool;
  void *state = p->ops.worker_init(p->ops.ud, wa.index);
  pthread_mutex_lock(&p->mu);
  if (state) p->n_ready++; else p->n_failed++;
  pthread_cond_broadcast(&p->started);
  if (!state) {
    pthread_mutex_unlock(&p->mu);
    return NULL;
  }
  for (;;) {
    int at = eligible(p);
    if (at < 0 && !p->stopping) {
      idle_slot_t *me = &p->slots[wa.index];
      me->woken = 0;
      p->idle[p->n_idle++] = wa.index;
      while (!me->woken) pthread_cond_wait(&me->wake, &p->mu);
      p->n_waking--;
      continue;
    }
    if (at < 0) break; /* stopping and drained (a stopping pool holds nothing back) */
    void *batch[PS_POOL_BATCH_MAX];
    int key;
    int n = take(p, at, batch, &key);
    if (key) p->keyed_running++;
    if (p->n_waking == 0 && eligible(p) >= 0) wake_one(p); /* more to take: the next worker */
    pthread_mutex_unlock(&p->mu);
    if (n == 1) p->ops.worker_run(p->ops.ud, state, batch[0]);
    else p->ops.worker_run_batch(p->ops.ud, state, batch, n);
    pthread_mutex_lock(&p->mu);
    if (key) p->keyed_running--;
  }
  pthread_mutex_unlock(&p->mu);
  p->ops.worker_fini(p->ops.ud, state);
  return NULL;
}


static void stop_and_join(ps_pool_t *p) {
  pthread_mutex_lock(&p->mu);
  p->stopping = 1; /* from now on nothing is held back (eligible) */
  while (p->n_idle > 0) wake_one(p);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
}

static void destroy(ps_pool_t *p) {
  pthread_mutex_destroy(&p->mu);
  for (int i = 0; i < p->n_slots; i++) pthread_cond_destroy(&p->slots[i].wake);
  pthread_cond_destroy(&p->started);
  free(p->slots);
  free(p->idle);
  free(p->threads);
  free(p->ring);
  free(p);
}

ps_pool_t *ps_pool_new(int workers, int capacity, const ps_pool_ops_t *ops) {
  if (workers < 1 || capacity < 1) return NULL;
  if (!ops->batch_key != !ops->worker_run_batch) return NULL;
  ps_pool_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->ring = calloc((size_t)capacity, sizeof *p->ring);
  p->threads = calloc((size_t)workers, sizeof *p->threads);
  p->slots = calloc((size_t)workers, sizeof *p->slots);
  p->idle = calloc((size_t)workers, sizeof *p->idle);
  if (!p->ring || !p->threads || !p->slots || !p->idle) {
    free(p->ring);
    free(p->threads);
    free(p->slots);
    free(p->idle);
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->mu, NULL);
  for (int i = 0; i < workers; i++) pthread_cond_init(&p->slots[i].wake, NULL);
  p->n_slots = workers;
  pthread_cond_init(&p->started, NULL);
  p->capacity = capacity;
  p->ops = *ops;
  for (int i = 0; i < workers; i++) {
    worker_arg_t *wa = malloc(sizeof *wa);
    if (!wa) break;
    wa->pool = p;
    wa->index = i;
    if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
      free(wa);
      break;
    }
    p->n_threads++;
  }
  pthread_mutex_lock(&p->mu);
  while (p->n_ready + p->n_failed < p->n_threads) pthread_cond_wait(&p->started, &p->mu);
  int ok = p->n_threads == workers && p->n_failed == 0;
  pthread_mutex_unlock(&p->mu);
  if (!ok) {
    stop_and_join(p);
    destroy(p);
    return NULL;
  }
  return p;
}

int ps_pool_submit(ps_pool_t *p, void *item) {
  pthread_mutex_lock(&p->mu);
  if (p->stopping || p->count == p->capacity) {
    pthread_mutex_unlock(&p->mu);
    return -1;
  }
  p->ring[(p->head + p->count) % p->capacity] = item;
  p->count++;
  /* else the worker on its way takes it, or wakes the next; an item held back is taken by a
     worker that finishes a keyed batch */
  if (p->n_waking == 0 && eligible(p) >= 0) wake_one(p);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

int ps_pool_depth(ps_pool_t *p) {
  pthread_mutex_lock(&p->mu);
  int n = p->count;
  pthread_mutex_unlock(&p->mu);
  return n;
}

void ps_pool_batch_stats(ps_pool_t *p, unsigned long long *ret_batches,
                         unsigned long long *ret_items) {
  pthread_mutex_lock(&p->mu);
  *ret_batches = p->batches;
  *ret_items = p->batched_items;
  pthread_mutex_unlock(&p->mu);
}

void ps_pool_free(ps_pool_t *p) {
  if (!p) return;
  stop_and_join(p);
  destroy(p);
}
