/* The machine's own stalls, measured beside a benchmark: how late a thread that asks to wake every
 * INTERVAL_US microseconds gets to run. A late wake-up is time in which a runnable thread found no
 * CPU: the benchmark's own load, other processes, a kernel thread that does not yield, or a virtual
 * CPU the host did not run (which a hypervisor may not report as steal). A call of the service that
 * needed a CPU then waited as long. Costs about one wake-up per interval.
 *
 *   hiccup [SECONDS [INTERVAL_US]]     (default: until SIGTERM or SIGINT; 1000 µs)
 *
 * At the end it prints one line:
 *   samples=N p50_us=X p99_us=X p999_us=X max_us=X stalls_1ms=N stalls_2ms=N stalls_5ms=N
 *   stalled_ms=X
 * The lateness of each wake-up beyond its deadline; stalls_Nms counts wake-ups at least that late,
 * and stalled_ms is their lateness summed (those of 1 ms or more). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "samples.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 0;
  long interval_us = argc > 2 ? atol(argv[2]) : 1000;
  if (seconds < 0 || interval_us < 10 || interval_us > 1000000) {
    fprintf(stderr, "usage: hiccup [SECONDS [INTERVAL_US (10..1000000)]]\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: the sleep returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  /* the kernel's default 50 µs timer slack would be counted as lateness */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  uint32_t *late = NULL; /* each wake-up's lateness (samples.h) */
  size_t n = 0, cap = 0;
  uint64_t stalls1 = 0, stalls2 = 0, stalls5 = 0, stalled_us = 0;
  int64_t step = (int64_t)interval_us * 1000, start = now_ns();
  int64_t end = seconds > 0 ? start + (int64_t)(seconds * 1e9) : INT64_MAX;
  int64_t due = start + step;
  while (!stopping && due <= end) {
    struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    if (rc == EINTR) continue; /* the loop's test sees stopping */
    if (rc != 0) {
      fprintf(stderr, "hiccup: clock_nanosleep: %s\n", strerror(rc));
      free(late);
      return 1;
    }
    int64_t t = now_ns(), us = (t - due) / 1000;
    sample(&late, &n, &cap, us);
    if (us >= 1000) {
      stalls1++;
      stalled_us += us;
    }
    if (us >= 2000) stalls2++;
    if (us >= 5000) stalls5++;
    /* the next deadline after now: a long stall counts once, not as a burst of late wake-ups */
    due += step;
    if (due <= t) due += ((t - due) / step + 1) * step;
  }
  if (n) qsort(late, n, sizeof *late, cmp_u32);
  printf("samples=%zu p50_us=%u p99_us=%u p999_us=%u max_us=%u stalls_1ms=%llu stalls_2ms=%llu "
         "stalls_5ms=%llu stalled_ms=%.1f\n",
         n, PCT(late, n, 0.50), PCT(late, n, 0.99), PCT(late, n, 0.999), PCT(late, n, 1.0),
         (unsigned long long)stalls1, (unsigned long long)stalls2, (unsigned long long)stalls5,
         (double)stalled_us / 1000);
  free(late);
  return 0;
}
