#include "core/counters.h"

#include <stdatomic.h>

static atomic_ullong counters[PS_C_COUNT];

void ps_count(ps_counter_t c) {
  if ((unsigned)c < PS_C_COUNT) atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

uint64_t ps_counter_get(ps_counter_t c) {
  return (unsigned)c < PS_C_COUNT ? atomic_load_explicit(&counters[c], memory_order_relaxed) : 0;
}
