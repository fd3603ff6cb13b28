/* What the benchmarks' C tools share: a monotonic clock, a growing array of microsecond samples,
 * and its percentiles once sorted. Header-only: each tool is one file. */
#ifndef PS_BENCH_SAMPLES_H
#define PS_BENCH_SAMPLES_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Appends us to a growing sample array; the sample is lost (the count kept) without memory. */
static inline void sample(uint32_t **a, size_t *n, size_t *cap, int64_t us) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 65536;
    uint32_t *l = realloc(*a, nc * sizeof *l);
    if (!l) return;
    *a = l;
    *cap = nc;
  }
  (*a)[(*n)++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static inline int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The p-th quantile (0..1) of n sorted samples; 0 when there are none. */
#define PCT(a, n, p) ((n) ? (a)[(size_t)((double)((n) - 1) * (p))] : 0)

#endif
