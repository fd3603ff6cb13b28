/* The machine's floor for a call's latency, measured beside a benchmark: the path of a GetProspect
 * call with nothing done on it. A paced client sends small messages over loopback TCP to a relay
 * process (in the service's place), which passes them to an echo process (in the database's
 * place) and the echo back: three processes, four hand-offs through the kernel and as many
 * wake-ups, as a call that the server answers from one statement. What it takes at a given rate is
 * what the machine (its scheduler, loopback TCP, waking idle or busy virtual CPUs) adds to any
 * call on that path, whatever the service does.
 *
 *   relay RATE SECONDS [RELAY_US [ECHO_US]]
 *
 * RATE messages per second in all, each due at its fixed time and sent then whether or not the
 * earlier ones were answered (an open loop), for SECONDS. RELAY_US and ECHO_US (default 0) are CPU
 * time burnt per message in the relay (both ways together) and in the echo, to stand in for the
 * work of the server and the database. Prints one line:
 *
 *   calls=N answered=N seconds=S rate=R p50_us=X p90_us=X p99_us=X p999_us=X max_us=X
 *   sent_p50_us=X sent_p99_us=X cpu_us_per_call=X relay_cpu_us=X echo_cpu_us=X client_cpu_us=X
 *
 * Latencies from each message's due time (sent_*: from when it was sent), as closedloop counts a
 * paced call's; cpu_us_per_call is the three processes' CPU time per message, then each one's. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "samples.h"

#define MSG 16      /* a message: its number and its due time */
#define BUF 65536

typedef struct msg {
  uint64_t n;
  int64_t due_ns;
} msg_t;

/* Burns about us microseconds of CPU (the stand-in for a process's work on a message). */
static void burn(long us) {
  if (us <= 0) return;
  int64_t end = now_ns() + (int64_t)us * 1000;
  while (now_ns() < end) {
  }
}

static int write_all(int fd, const void *p, size_t len) {
  const char *b = p;
  while (len) {
    ssize_t w = write(fd, b, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    len -= (size_t)w;
  }
  return 0;
}

static int tcp_listen(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int one = 1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Accepts the one connection a listener is for, and closes the listener. */
static int tcp_accept(int lfd) {
  int fd = accept(lfd, NULL, NULL);
  int one = 1;
  if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    close(fd);
    return -1;
  }
  close(lfd);
  return fd;
}

/* The messages that r more bytes complete, *carry holding the bytes of one begun earlier. */
static long completed(size_t *carry, ssize_t r) {
  size_t bytes = *carry + (size_t)r;
  *carry = bytes % MSG;
  return (long)(bytes / MSG);
}

/* The echo process: writes back what it reads, burning us per whole message. */
static int run_echo(int lfd, long us) {
  int fd = tcp_accept(lfd);
  if (fd < 0) return 1;
  char buf[BUF];
  size_t carry = 0; /* bytes of a message begun in an earlier read */
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    burn(us * completed(&carry, r));
    if (write_all(fd, buf, (size_t)r) != 0) return 0;
  }
}

/* The relay process: passes what the client sends to the echo and what the echo sends back to the
 * client, from one thread and one epoll set, as the server's transport thread does. It burns us per
 * message in all, half on the way in and half on the way out. */
static int run_relay(int lfd, int echo_port, long us) {
  int client = tcp_accept(lfd);
  int echo = tcp_connect(echo_port);
  int ep = epoll_create1(0);
  if (client < 0 || echo < 0 || ep < 0) return 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = client};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, client, &ev) != 0) return 1;
  ev.data.fd = echo;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, echo, &ev) != 0) return 1;
  char buf[BUF];
  size_t carry[2] = {0, 0};
  for (;;) {
    struct epoll_event evs[2];
    int n = epoll_wait(ep, evs, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    for (int i = 0; i < n; i++) {
      int from = evs[i].data.fd, to = from == client ? echo : client, side = from == echo;
      ssize_t r = read(from, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return 0;
      burn((side ? us - us / 2 : us / 2) * completed(&carry[side], r));
      if (write_all(to, buf, (size_t)r) != 0) return 0;
    }
  }
}

static double cpu_us(const struct rusage *ru) {
  return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1e6 +
         (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec);
}

int main(int argc, char **argv) {
  double rate = argc > 2 ? atof(argv[1]) : 0, seconds = argc > 2 ? atof(argv[2]) : 0;
  long relay_us = argc > 3 ? atol(argv[3]) : 0, echo_us = argc > 4 ? atol(argv[4]) : 0;
  if (argc < 3 || argc > 5 || rate < 1 || rate > 1e6 || seconds <= 0 || seconds > 3600 ||
      rate * seconds > 5e7 || relay_us < 0 || relay_us > 100000 || echo_us < 0 ||
      echo_us > 100000) {
    fprintf(stderr, "usage: relay RATE (1..1000000) SECONDS (..3600, RATE x SECONDS <= 5e7) "
                    "[RELAY_US [ECHO_US]]\n");
    return 2;
  }
  int echo_port, relay_port;
  int echo_l = tcp_listen(&echo_port), relay_l = tcp_listen(&relay_port);
  if (echo_l < 0 || relay_l < 0) {
    perror("relay: listen");
    return 1;
  }
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork();
    if (kids[k] < 0) {
      perror("relay: fork");
      return 1;
    }
    if (kids[k] == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (k == 0) {
        close(relay_l);
        _exit(run_echo(echo_l, echo_us));
      }
      close(echo_l);
      _exit(run_relay(relay_l, echo_port, relay_us));
    }
  }
  close(echo_l);
  close(relay_l);
  int64_t *sent = NULL;
  uint32_t *lat = NULL, *slat = NULL;
  size_t n_lat = 0, cap_lat = 0, n_slat = 0, cap_slat = 0;
  int rc = 1;
  int fd = tcp_connect(relay_port);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  if (fd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
    perror("relay: connect");
    goto done;
  }

  uint64_t total = (uint64_t)(rate * seconds);
  int64_t period = (int64_t)(1e9 / rate), t0 = now_ns() + 10000000; /* 10 ms to settle */
  sent = calloc(total ? total : 1, sizeof *sent);
  if (!sent) {
    fprintf(stderr, "relay: out of memory\n");
    goto done;
  }
  uint64_t next = 0, answered = 0;
  unsigned char in[BUF + MSG];
  size_t in_len = 0;
  int64_t give_up = 0; /* once all are sent: the end of the wait for the last answers */
  while (answered < total) {
    int64_t now = now_ns();
    if (next < total) {
      msg_t out[256];
      int k = 0;
      while (next < total && k < 256 && t0 + (int64_t)next * period <= now) {
        out[k].n = next;
        out[k].due_ns = t0 + (int64_t)next * period;
        sent[next] = now;
        next++;
        k++;
      }
      if (k && write_all(fd, out, (size_t)k * sizeof *out) != 0) {
        perror("relay: write");
        goto done;
      }
      if (next == total) give_up = now + 1000000000;
    } else if (now > give_up) {
      break;
    }
    int64_t wait = next < total ? t0 + (int64_t)next * period - now_ns() : give_up - now_ns();
    if (wait < 0) wait = 0;
    struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
    int n = epoll_pwait2(ep, &ev, 1, &ts, NULL);
    if (n < 0 && errno != EINTR) {
      perror("relay: epoll_pwait2");
      goto done;
    }
    if (n <= 0) continue;
    ssize_t r = read(fd, in + in_len, BUF);
    if (r <= 0) {
      fprintf(stderr, "relay: the relay went away\n");
      goto done;
    }
    in_len += (size_t)r;
    int64_t got = now_ns();
    size_t off = 0;
    for (; in_len - off >= MSG; off += MSG) {
      msg_t m;
      memcpy(&m, in + off, sizeof m);
      if (m.n >= total) continue;
      sample(&lat, &n_lat, &cap_lat, (got - m.due_ns) / 1000);
      sample(&slat, &n_slat, &cap_slat, (got - sent[m.n]) / 1000);
      answered++;
    }
    memmove(in, in + off, in_len - off);
    in_len -= off;
  }
  double elapsed = (double)(now_ns() - t0) / 1e9;
  close(fd); /* the relay and then the echo see the end and exit */
  fd = -1;
  struct rusage ru[3]; /* the echo's, the relay's, the client's */
  memset(ru, 0, sizeof ru);
  for (int k = 0; k < 2; k++)
    while (wait4(kids[k], NULL, 0, &ru[k]) < 0 && errno == EINTR) {
    }
  getrusage(RUSAGE_SELF, &ru[2]);
  double per = answered ? 1.0 / (double)answered : 0;
  qsort(lat, n_lat, sizeof *lat, cmp_u32);
  qsort(slat, n_slat, sizeof *slat, cmp_u32);
  printf("calls=%llu answered=%llu seconds=%.2f rate=%.0f p50_us=%u p90_us=%u p99_us=%u "
         "p999_us=%u max_us=%u sent_p50_us=%u sent_p99_us=%u cpu_us_per_call=%.1f "
         "relay_cpu_us=%.1f echo_cpu_us=%.1f client_cpu_us=%.1f\n",
         (unsigned long long)next, (unsigned long long)answered, elapsed,
         elapsed > 0 ? (double)answered / elapsed : 0, PCT(lat, n_lat, 0.5), PCT(lat, n_lat, 0.9),
         PCT(lat, n_lat, 0.99), PCT(lat, n_lat, 0.999), n_lat ? lat[n_lat - 1] : 0,
         PCT(slat, n_slat, 0.5), PCT(slat, n_slat, 0.99),
         (cpu_us(&ru[0]) + cpu_us(&ru[1]) + cpu_us(&ru[2])) * per, cpu_us(&ru[1]) * per,
         cpu_us(&ru[0]) * per, cpu_us(&ru[2]) * per);
  rc = answered == total ? 0 : 1;
done:
  if (fd >= 0) close(fd);
  if (ep >= 0) close(ep);
  free(sent);
  free(lat);
  free(slat);
  return rc;
}
