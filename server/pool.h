/* A bounded hand-off queue and a fixed set of worker threads. Each worker owns a state object
 * (its MySQL and Redis connections, its arena) made by worker_init on its own thread. Submitting to
 * a full queue fails at once, so the caller can shed load instead of piling it up. */
#ifndef PS_POOL_H
#define PS_POOL_H

typedef struct ps_pool_ops {
  void *ud;                                              /* passed to every callback */
  void *(*worker_init)(void *ud, int index);             /* worker state; NULL = failed */
  void (*worker_run)(void *ud, void *state, void *item); /* handles one item */
  void (*worker_fini)(void *ud, void *state);            /* frees the state */
  /* Optional coalescing (both NULL: none). batch_key says which items can be handled together
   * (0: none; called under the pool's lock, so it must be quick and must not block). A worker that
   * takes an item with a key also takes the items of the same key that are queued at that moment
   * (at most PS_POOL_BATCH_MAX, in queue order) and hands them to worker_run_batch at once. Nothing
   * waits for a batch to fill: a lone item goes to worker_run as always. */
  int (*batch_key)(void *ud, void *item);
  void (*worker_run_batch)(void *ud, void *state, void **items, int n);
  /* 0: items with a key are taken like any other. Else: an item with a key goes out at once when
   * no worker runs keyed items; while one does, the keyed items that arrive wait in the queue,
   * where they join the next batch (the worker that finishes takes them all), unless they are
   * enough to fill two batches (PS_POOL_READER_FILL): then another worker takes a batch of them,
   * up to this many at once. The database answers fewer, larger statements, and no worker is
   * woken for a single read meanwhile. Items without a key are never held back. Nothing waits on
   * a timer. Ignored while the pool stops. */
  int max_keyed_running;
} ps_pool_ops_t;

/* The most items one batch holds. */
#define PS_POOL_BATCH_MAX 16
/* Keyed items waiting that start another worker on keyed items while one runs: two batches.
 * With one batch (the rule before) and 32 GetProspect calls in flight against MariaDB on the same
 * 2 CPUs, a second reader ran most of the time, each with smaller batches: two servers alternated
 * in 2 s phases served 24 % more calls per second with this rule (closed loop and h2load alike)
 * and MariaDB spent a third less CPU per call. A queue that keeps growing past two batches means
 * the running reader cannot keep up (a remote database): then more read in parallel. */
#define PS_POOL_READER_FILL (2 * PS_POOL_BATCH_MAX)
/* How far down the queue a worker looks for items that join a batch. */
#define PS_POOL_BATCH_SCAN 64

typedef struct ps_pool ps_pool_t;

/* Starts `workers` threads with a queue of `capacity` items. Returns NULL (and starts nothing)
 * when memory, a thread or a worker's state cannot be had. */
ps_pool_t *ps_pool_new(int workers, int capacity, const ps_pool_ops_t *ops);

/* Queues item for a worker. 0, or -1 when the queue is full or the pool is stopping. Thread-safe. */
int ps_pool_submit(ps_pool_t *p, void *item);

/* Items queued and not yet taken by a worker. */
int ps_pool_depth(ps_pool_t *p);

/* Batches handed to worker_run_batch, and the items they held (for the metrics). */
void ps_pool_batch_stats(ps_pool_t *p, unsigned long long *ret_batches,
                         unsigned long long *ret_items);

/* Lets the workers finish every queued item, then joins them and frees the pool. Accepts NULL. */
void ps_pool_free(ps_pool_t *p);

#endif
