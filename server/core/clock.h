/* Deadlines for timed waits. Pure apart from reading the clock; thread-safe. */
#ifndef PS_CORE_CLOCK_H
#define PS_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t ps_mono_ms(void);

/* The time ms milliseconds (>= 0) after t, nanoseconds carried into seconds. */
struct timespec ps_time_add_ms(struct timespec t, long ms);

/* The time ms milliseconds from now on clock (for pthread_cond_timedwait and the like: the clock
 * must be the condition variable's). */
struct timespec ps_time_in_ms(clockid_t clock, long ms);

#endif
