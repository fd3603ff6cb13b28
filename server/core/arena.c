#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ps_arena_block {
  ps_arena_block_t *next; /* older block */
  size_t size;            /* usable bytes in data */
  size_t used;            /* bytes handed out */
  _Alignas(16) unsigned char data[];
};

static void *pb_alloc(void *ud, size_t n) { return ps_arena_alloc(ud, n); }
static void pb_free(void *ud, void *p) { (void)ud; (void)p; }

static ps_arena_block_t *block_new(ps_arena_t *a, size_t size) {
  if (size > SIZE_MAX - sizeof(ps_arena_block_t)) { /* header + size would wrap */
    a->exhausted = 1;
    return NULL;
  }
  if (a->limit && (size > a->limit || a->held > a->limit - size)) {
    a->exhausted = 1;
    return NULL;
  }
  ps_arena_block_t *b = malloc(sizeof *b + size);
  if (!b) {
    a->exhausted = 1;
    return NULL;
  }
  b->next = NULL;
  b->size = size;
  b->used = 0;
  a->held += size;
  if (a->held > a->peak) a->peak = a->held;
  return b;
}

void ps_arena_set_limit(ps_arena_t *a, size_t limit) { a->limit = limit; }

int ps_arena_init(ps_arena_t *a, size_t block_size) {
  a->block_size = block_size ? block_size : 16384;
  a->limit = a->held = a->peak = 0;
  a->exhausted = 0;
  a->allocator.alloc = pb_alloc;
  a->allocator.free = pb_free;
  a->allocator.allocator_data = a;
  a->head = block_new(a, a->block_size);
  return a->head ? 0 : -1;
}

void ps_arena_destroy(ps_arena_t *a) {
  ps_arena_block_t *b = a->head;
  while (b) {
    ps_arena_block_t *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->held = 0;
}

void ps_arena_reset(ps_arena_t *a) {
  if (!a->head) return;
  /* keep the oldest block of regular size: it is the one every call uses */
  ps_arena_block_t *b = a->head, *keep = NULL;
  while (b) {
    ps_arena_block_t *next = b->next;
    if (!keep && b->size == a->block_size && !next) {
      keep = b;
    } else {
      free(b);
    }
    b = next;
  }
  a->held = keep ? keep->size : 0;
  a->exhausted = 0;
  if (!keep) keep = block_new(a, a->block_size);
  if (keep) {
    keep->used = 0;
    keep->next = NULL;
  }
  a->head = keep;
}

void *ps_arena_alloc(ps_arena_t *a, size_t n) {
  size_t need = (n + 15) & ~(size_t)15;
  if (need < n) {
    a->exhausted = 1;
    return NULL;
  }
  ps_arena_block_t *b = a->head;
  if (!b || b->size - b->used < need) {
    size_t size = need > a->block_size ? need : a->block_size;
    ps_arena_block_t *nb = block_new(a, size);
    if (!nb) return NULL;
    if (size > a->block_size && b) {
      /* an oversized block goes behind the head so the head keeps filling */
      nb->next = b->next;
      b->next = nb;
      nb->used = need;
      memset(nb->data, 0, n);
      return nb->data;
    }
    nb->next = b;
    a->head = b = nb;
  }
  void *p = b->data + b->used;
  b->used += need;
  memset(p, 0, n);
  return p;
}

char *ps_arena_strndup(ps_arena_t *a, const char *s, size_t n) {
  if (n == SIZE_MAX) return NULL;
  char *p = ps_arena_alloc(a, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void *ps_arena_grow(ps_arena_t *a, void *old, size_t n_used, size_t *cap, size_t elem,
                    size_t first_cap) {
  if (n_used < *cap) return old;
  size_t ncap = *cap ? *cap * 2 : first_cap;
  if (ncap < *cap || ncap > SIZE_MAX / elem) return NULL;
  void *grown = ps_arena_alloc(a, elem * ncap);
  if (!grown) return NULL;
  if (n_used) memcpy(grown, old, elem * n_used);
  *cap = ncap;
  return grown;
}

char *ps_arena_strdup(ps_arena_t *a, const char *s) { return ps_arena_strndup(a, s, strlen(s)); }

char *ps_arena_printf(ps_arena_t *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *p = ps_arena_alloc(a, (size_t)n + 1);
  if (!p) return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}
