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
} ps_pool_ops_t;

typedef struct ps_pool ps_pool_t;

/* Starts `workers` threads with a queue of `capacity` items. Returns NULL (and starts nothing)
 * when memory, a thread or a worker's state cannot be had. */
ps_pool_t *ps_pool_new(int workers, int capacity, const ps_pool_ops_t *ops);

/* Queues item for a worker. 0, or -1 when the queue is full or the pool is stopping. Thread-safe. */
int ps_pool_submit(ps_pool_t *p, void *item);

/* Items queued and not yet taken by a worker. */
int ps_pool_depth(ps_pool_t *p);

/* Lets the workers finish every queued item, then joins them and frees the pool. Accepts NULL. */
void ps_pool_free(ps_pool_t *p);

#endif
