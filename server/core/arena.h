/* A per-call bump allocator. Requests are unpacked into it and responses are built in it; the
 * transport resets it after the reply is packed, so the hot path does no per-field malloc/free.
 * It can hold a budget: once the blocks of one call would pass it, allocations fail (NULL) and the
 * arena remembers that it ran out, so the transport answers RESOURCE_EXHAUSTED instead of letting
 * one call take the process's memory. Not thread-safe: one arena per worker. */
#ifndef PS_CORE_ARENA_H
#define PS_CORE_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct ps_arena_block ps_arena_block_t;

typedef struct ps_arena {
  ps_arena_block_t *head;       /* block being filled; older blocks follow via ->next */
  size_t block_size;            /* size of a regular block */
  size_t limit;                 /* most bytes of blocks one call may hold (0: no limit) */
  size_t held;                  /* bytes of blocks held now */
  size_t peak;                  /* most bytes held since init (for tuning the budget) */
  int exhausted;                /* an allocation failed since the last reset */
  ProtobufCAllocator allocator; /* protobuf-c view of this arena (free is a no-op) */
} ps_arena_t;

/* Prepares an arena whose blocks are block_size bytes (0: 16 KiB). Returns 0, or -1 when out of
 * memory (the arena is then empty but valid for ps_arena_destroy). */
int ps_arena_init(ps_arena_t *a, size_t block_size);

/* Sets the budget of one call (0: none). Takes effect for the next allocations. */
void ps_arena_set_limit(ps_arena_t *a, size_t limit);

/* Frees all blocks. Accepts an arena that was never initialised if it was zeroed. */
void ps_arena_destroy(ps_arena_t *a);

/* Releases everything allocated since init/reset; keeps one block for reuse; clears exhausted. */
void ps_arena_reset(ps_arena_t *a);

/* n bytes, 16-aligned, zeroed; NULL when out of memory. Freed by ps_arena_reset/destroy only. */
void *ps_arena_alloc(ps_arena_t *a, size_t n);

/* Room for one more element in an array grown in the arena: when *cap elements are used (n_used
 * == *cap), a new array of twice as many (first_cap the first time) with the n_used elements of
 * old copied in; else old. The old array is left to the arena's reset. NULL when out of memory. */
void *ps_arena_grow(ps_arena_t *a, void *old, size_t n_used, size_t *cap, size_t elem,
                    size_t first_cap);

/* A NUL-terminated copy of s (n bytes of it for _strndup); NULL when out of memory. */
char *ps_arena_strdup(ps_arena_t *a, const char *s);
char *ps_arena_strndup(ps_arena_t *a, const char *s, size_t n);

/* printf into the arena; NULL when out of memory. */
char *ps_arena_printf(ps_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
