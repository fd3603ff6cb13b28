#include "core/clock.h"

struct timespec ps_time_add_ms(struct timespec t, long ms) {
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

struct timespec ps_time_in_ms(clockid_t clock, long ms) {
  struct timespec t;
  clock_gettime(clock, &t);
  return ps_time_add_ms(t, ms);
}

int64_t ps_mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
