/* Load generator of the benchmarks: GetProspect, a random record per call from a list of names,
 * with SLOTS calls in flight over CONNECTIONS HTTP/2 connections. Closed loop (each slot sends its
 * next call when the last one is answered), or paced at RATE calls/s in all (each slot at
 * RATE/SLOTS, its calls at fixed times, so a slow answer shows as latency rather than as fewer
 * calls). Prints one line of figures:
 *
 *   calls=N ok=N failed=N seconds=S rate=R p50_us=X p90_us=X p99_us=X max_us=X cpu_us_per_call=X
 *   writes=N
 *
 *   closedloop [--health] TARGET NAMES_FILE SLOTS CONNECTIONS SECONDS [RATE [MAX_CALLS]]
 *
 * With --health every call is a grpc.health.v1.Health/Check of the whole server (an empty request)
 * instead of a GetProspect, ok when the answer is SERVING: a call that the server answers at once
 * on its transport thread, with no worker and no database. Paced at GetProspect's rate, it gives
 * the floor of a gRPC call's path through the same server and generator on the same machine.
 *
 * TARGET is host:port (plaintext HTTP/2). RATE 0 is the closed loop; MAX_CALLS > 0 ends the run
 * after that many calls (or SECONDS). Paced, it also prints start_lag_p50_us and start_lag_p99_us:
 * how late it started calls itself, a delay that the latencies include (whether its slot was still
 * waiting for the last answer, or it woke late itself), slot_waits: how many calls were late
 * because their slot still waited (so the next call of a slot pays for a slow answer too, as it
 * would with a client that has SLOTS calls in flight at most), and sent_p50_us and sent_p99_us: the
 * latencies counted from each call's start instead of its due time, without that delay.
 *
 * A load generator that shares the machine with the server and the database must cost little per
 * call, or the figures measure the generator: what it burns, the server and MariaDB lose. So it
 * speaks gRPC over HTTP/2 with libnghttp2 (the library h2load is built on) from one thread and one
 * epoll set, as h2load does, instead of gRPC core's client (which took 36-45 µs of CPU per call,
 * more than the server). Each call is a real gRPC call: its own stream, a 10 s grpc-timeout, a
 * framed GetProspectRequest; it counts as ok only with HTTP status 200, grpc-status 0 in the
 * trailers and a reply that decodes as a Prospect. Requests that become due together go out in
 * one write per connection, their HEADERS and DATA frames gathered first (writes= counts the
 * writes): a write per frame, as libnghttp2's send callback does, cost two system calls per call
 * and woke the server twice. Paced calls are started at their times by the timeout of the wait for
 * the sockets (epoll_pwait2, in ns, with 1 ns of timer slack): a timerfd cost two more system calls
 * per paced call (setting and reading it). Its own CPU per call is printed, to show what it took
 * from the machine.
 *
 * Asserts nothing; a failed call is counted and its first status printed on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "grpc/health/v1/health.pb-c.h"
#include "prospects/v1/service.pb-c.h"
#include "samples.h"

#define PATH "/prospects.v1.ProspectService/GetProspect"
#define HEALTH_PATH "/grpc.health.v1.Health/Check"
#define MAX_REQUEST 512  /* a framed GetProspectRequest */
#define MAX_REPLY 65536  /* a framed Prospect; more is a failed call */
#define READ_BUF 65536
#define OUT_BUF 65536    /* frames gathered for one write per connection */

typedef struct conn conn_t;

typedef struct slot {
  conn_t *conn;
  int32_t stream_id;            /* 0: free */
  int64_t t0;                   /* when the call was due (paced) or started */
  int64_t started;              /* when it was started (paced: t0 plus the generator's lateness) */
  int64_t next;                 /* paced: when the next call is due */
  uint8_t req[5 + MAX_REQUEST]; /* the framed request */
  size_t req_len, req_off;
  uint8_t *reply;               /* the framed reply as received */
  size_t reply_len, reply_cap;
  int reply_lost;               /* larger than MAX_REPLY, or no memory: the call fails */
  int http_status, grpc_status; /* -1: not seen */
  char message[128];            /* grpc-message */
} slot_t;

struct conn {
  int fd;
  nghttp2_session *session;
  slot_t *slots;
  int n_slots;
  int want_out;                 /* EPOLLOUT is armed */
  int dead;                     /* failed: its calls counted, out of the epoll set */
  uint8_t out[OUT_BUF];         /* frames to write: out[out_off, out_len) */
  size_t out_off, out_len;
  const uint8_t *more;          /* a frame nghttp2 gave that did not fit in out yet */
  size_t more_len;
};

static char **names;
static size_t n_names;
static unsigned seed;
static int64_t end_ns, period_ns;
static long long calls_left = -1; /* MAX_CALLS still to start; -1: no limit */
static int epfd;
static char authority[300];
static uint64_t n_ok, n_failed;
static uint64_t n_writes; /* send() calls that wrote something */
static uint64_t n_slot_waits; /* paced: calls started late as their slot still waited for an answer */
static int health; /* --health: Health/Check instead of GetProspect */
static const char *path = PATH; /* the method every call asks for */
static int busy, stopping, reported, ended, n_conns, n_dead; /* ended: the sessions are being deleted */
static uint32_t *lat_us, *lag_us, *sent_us; /* sent_us: paced, from each call's start */
static size_t n_lat, cap_lat, n_lag, cap_lag, n_sent, cap_sent;

static void fail_once(const char *what, int http, int grpc, const char *msg) {
  if (reported++) return;
  fprintf(stderr, "closedloop: a call failed: %s (HTTP %d, grpc-status %d) %s\n", what, http, grpc,
          msg);
}

/* ---- nghttp2 callbacks */

static ssize_t read_req(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                        uint32_t *data_flags, nghttp2_data_source *source, void *user_data) {
  (void)session, (void)stream_id, (void)user_data;
  slot_t *s = source->ptr;
  size_t n = s->req_len - s->req_off;
  if (n > length) n = length;
  memcpy(buf, s->req + s->req_off, n);
  s->req_off += n;
  if (s->req_off == s->req_len) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data) {
  (void)flags, (void)user_data;
  slot_t *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (!s) return 0;
  if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
    s->http_status = (int)strtol((const char *)value, NULL, 10);
  } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
    char v[16];
    size_t n = valuelen < sizeof v - 1 ? valuelen : sizeof v - 1;
    memcpy(v, value, n);
    v[n] = '\0';
    s->grpc_status = (int)strtol(v, NULL, 10);
  } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
    size_t n = valuelen < sizeof s->message - 1 ? valuelen : sizeof s->message - 1;
    memcpy(s->message, value, n);
    s->message[n] = '\0';
  }
  return 0;
}

static int on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                   size_t len, void *user_data) {
  (void)flags, (void)user_data;
  slot_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
  if (!s || s->reply_lost) return 0;
  size_t need = s->reply_len + len;
  if (need > s->reply_cap) { /* a reply too large fails its call, not the connection */
    size_t cap = s->reply_cap ? s->reply_cap : 1024;
    while (cap < need) cap *= 2;
    uint8_t *r = need <= MAX_REPLY ? realloc(s->reply, cap) : NULL;
    if (!r) {
      s->reply_lost = 1;
      return 0;
    }
    s->reply = r;
    s->reply_cap = cap;
  }
  memcpy(s->reply + s->reply_len, data, len);
  s->reply_len += len;
  return 0;
}

/* A good reply: one uncompressed gRPC message that decodes as a Prospect (--health: as a
 * HealthCheckResponse that says SERVING). */
static int reply_ok(const slot_t *s) {
  if (s->reply_lost || s->reply_len < 5 || s->reply[0] != 0) return 0;
  uint32_t n = (uint32_t)s->reply[1] << 24 | (uint32_t)s->reply[2] << 16 |
               (uint32_t)s->reply[3] << 8 | s->reply[4];
  if ((size_t)n != s->reply_len - 5) return 0;
  if (health) {
    Grpc__Health__V1__HealthCheckResponse *h =
        grpc__health__v1__health_check_response__unpack(NULL, n, s->reply + 5);
    if (!h) return 0;
    int serving = h->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    grpc__health__v1__health_check_response__free_unpacked(h, NULL);
    return serving;
  }
  Prospects__V1__Prospect *p = prospects__v1__prospect__unpack(NULL, n, s->reply + 5);
  if (!p) return 0;
  prospects__v1__prospect__free_unpacked(p, NULL);
  return 1;
}

static int start(slot_t *s, int64_t t0);

static int on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                    void *user_data) {
  (void)user_data;
  slot_t *s = nghttp2_session_get_stream_user_data(session, stream_id);
  if (ended || !s || s->stream_id != stream_id) return 0;
  int64_t t1 = now_ns();
  int good = error_code == NGHTTP2_NO_ERROR && s->http_status == 200 && s->grpc_status == 0 &&
             reply_ok(s);
  if (good) {
    n_ok++;
  } else {
    n_failed++;
    fail_once(error_code ? nghttp2_http2_strerror(error_code) : "bad answer", s->http_status,
              s->grpc_status, s->message);
  }
  sample(&lat_us, &n_lat, &cap_lat, (t1 - s->t0) / 1000);
  if (period_ns) sample(&sent_us, &n_sent, &cap_sent, (t1 - s->started) / 1000);
  s->stream_id = 0;
  busy--;
  if (period_ns == 0) { /* closed loop: the slot's next call, at once */
    if (!stopping && (t1 >= end_ns || start(s, t1) != 0)) stopping = 1;
  } else if (!stopping && s->next <= t1 && t1 < end_ns) { /* paced and already due */
    if (start(s, s->next) == 0) {
      sample(&lag_us, &n_lag, &cap_lag, (t1 - s->next) / 1000);
      n_slot_waits++;
    }
    s->next += period_ns;
  }
  return 0;
}

/* ---- calls */

/* Submits slot s's next call (sent by the next flush). 0, or -1: the run is over, or the call
 * could not be submitted. */
static int start(slot_t *s, int64_t t0) {
  conn_t *c = s->conn;
  if (c->dead) return -1;
  if (calls_left == 0) return -1;
  size_t len = 0; /* a health check's request is empty */
  if (!health) {
    Prospects__V1__GetProspectRequest req = PROSPECTS__V1__GET_PROSPECT_REQUEST__INIT;
    req.name = names[(size_t)rand_r(&seed) % n_names];
    len = prospects__v1__get_prospect_request__get_packed_size(&req);
    if (len > MAX_REQUEST) return -1;
    prospects__v1__get_prospect_request__pack(&req, s->req + 5);
  }
  s->req[0] = 0;
  s->req[1] = (uint8_t)(len >> 24), s->req[2] = (uint8_t)(len >> 16);
  s->req[3] = (uint8_t)(len >> 8), s->req[4] = (uint8_t)len;
  s->req_len = len + 5;
  s->req_off = 0;
  s->reply_len = 0;
  s->reply_lost = 0;
  s->http_status = s->grpc_status = -1;
  s->message[0] = '\0';
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
  nghttp2_nv hdrs[] = {NV(":method", "POST"),          NV(":scheme", "http"),
                       NV(":path", path),              NV(":authority", authority),
                       NV("content-type", "application/grpc"), NV("te", "trailers"),
                       NV("grpc-timeout", "10S")};
#undef NV
  nghttp2_data_provider body = {.source.ptr = s, .read_callback = read_req};
  int32_t id = nghttp2_submit_request(c->session, NULL, hdrs, sizeof hdrs / sizeof hdrs[0], &body, s);
  if (id < 0) {
    fprintf(stderr, "closedloop: cannot start a call: %s\n", nghttp2_strerror(id));
    return -1;
  }
  if (calls_left > 0) calls_left--;
  s->stream_id = id;
  s->t0 = t0;
  s->started = period_ns ? now_ns() : t0;
  busy++;
  return 0;
}

static void kill_conn(conn_t *c);

/* Writes what the session has to send: its frames are gathered (nghttp2_session_mem_send) and go
 * out in one write, as h2load does, so that the requests of a connection that became due together,
 * HEADERS and DATA alike, take one system call and wake the server once. Arms EPOLLOUT while the
 * socket is full. A connection that fails is killed. */
static void flush(conn_t *c) {
  if (c->dead) return;
  int drained = 0; /* the session has nothing more to send now */
  for (;;) {
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    while (!drained && c->out_len < OUT_BUF) { /* gather */
      if (c->more_len == 0) {
        ssize_t n = nghttp2_session_mem_send(c->session, &c->more);
        if (n < 0) {
          fprintf(stderr, "closedloop: send: %s\n", nghttp2_strerror((int)n));
          kill_conn(c);
          return;
        }
        drained = n == 0;
        c->more_len = (size_t)n;
        continue;
      }
      size_t k = OUT_BUF - c->out_len < c->more_len ? OUT_BUF - c->out_len : c->more_len;
      memcpy(c->out + c->out_len, c->more, k);
      c->out_len += k;
      c->more += k;
      c->more_len -= k;
    }
    if (c->out_off == c->out_len) break; /* nothing to write */
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      kill_conn(c);
      return;
    }
    if (w < 0) break; /* full: EPOLLOUT below */
    c->out_off += (size_t)w;
    n_writes++;
    if (c->out_off < c->out_len || drained) break; /* the socket is full, or all is written */
  }
  int want = c->out_off < c->out_len || c->more_len > 0;
  if (want != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0) c->want_out = want;
  }
}

/* Closes a connection that failed: its calls in flight count as failed. */
static void kill_conn(conn_t *c) {
  if (c->dead) return;
  c->dead = 1;
  for (int i = 0; i < c->n_slots; i++) {
    if (!c->slots[i].stream_id) continue;
    c->slots[i].stream_id = 0;
    busy--;
    n_failed++;
    fail_once("connection lost", -1, -1, "");
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  if (++n_dead == n_conns) stopping = 1; /* nothing left to call on */
}

static int connect_to(const char *target) {
  char host[256];
  const char *colon = strrchr(target, ':');
  if (!colon || (size_t)(colon - target) >= sizeof host) return -1;
  memcpy(host, target, (size_t)(colon - target));
  host[colon - target] = '\0';
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) return -1;
  int fd = -1;
  for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(ai);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int read_names(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t cap = 0;
  char *line = NULL;
  size_t len = 0;
  ssize_t got;
  while ((got = getline(&line, &len, f)) > 0) {
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
    if (got == 0) continue;
    if (n_names == cap) {
      cap = cap ? cap * 2 : 1024;
      char **n = realloc(names, cap * sizeof *n);
      if (!n) break;
      names = n;
    }
    names[n_names] = strdup(line);
    if (!names[n_names]) break;
    n_names++;
  }
  free(line);
  fclose(f);
  if (n_names == 0) {
    fprintf(stderr, "closedloop: no names in %s\n", path);
    return -1;
  }
  return 0;
}

/* Paced: starts every free slot whose call is due; returns when the next one is (end_ns: none). */
static int64_t start_due(conn_t *cs, int conns, int64_t now) {
  int64_t wake = end_ns;
  for (int i = 0; i < conns; i++) {
    conn_t *c = &cs[i];
    for (int j = 0; j < c->n_slots; j++) {
      slot_t *s = &c->slots[j];
      if (s->stream_id) continue;
      if (s->next <= now && !stopping) {
        if (start(s, s->next) != 0) {
          stopping = 1;
          break;
        }
        sample(&lag_us, &n_lag, &cap_lag, (now_ns() - s->next) / 1000);
        s->next += period_ns;
        continue;
      }
      if (s->next < wake) wake = s->next;
    }
  }
  return wake;
}

/* The time from now to t (CLOCK_MONOTONIC ns; none when t has passed). */
static struct timespec until(int64_t t, int64_t now) {
  int64_t d = t > now ? t - now : 0;
  return (struct timespec){(time_t)(d / 1000000000), (long)(d % 1000000000)};
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--health") == 0) {
    health = 1;
    path = HEALTH_PATH;
    argv++, argc--;
  }
  if (argc < 6) {
    fprintf(stderr, "usage: closedloop [--health] TARGET NAMES_FILE SLOTS CONNECTIONS SECONDS "
                    "[RATE [MAX_CALLS]]\n");
    return 2;
  }
  int slots = atoi(argv[3]), conns = atoi(argv[4]);
  double seconds = atof(argv[5]), rate = argc > 6 ? atof(argv[6]) : 0;
  long long max_calls = argc > 7 ? atoll(argv[7]) : 0;
  if (max_calls > 0) calls_left = max_calls;
  if (slots < 1 || conns < 1 || conns > slots || seconds <= 0 || rate < 0) {
    fprintf(stderr, "closedloop: bad arguments\n");
    return 2;
  }
  if (read_names(argv[2]) != 0) return 1;
  n_conns = conns;
  snprintf(authority, sizeof authority, "%s", argv[1]);
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); /* wake at the time, not up to 50 µs after */

  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0) return 1;
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  conn_t *cs = calloc((size_t)conns, sizeof *cs);
  uint8_t *buf = malloc(READ_BUF);
  if (epfd < 0 || !cs || !buf) return 1;

  struct timespec cpu0, cpu1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  int64_t begin = now_ns();
  seed = (unsigned)(begin ^ (begin >> 32));
  end_ns = begin + (int64_t)(seconds * 1e9);
  period_ns = rate > 0 ? (int64_t)(1e9 * slots / rate) : 0;
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  for (int i = 0; i < conns; i++) {
    conn_t *c = &cs[i];
    c->n_slots = slots / conns + (i < slots % conns);
    c->slots = calloc((size_t)c->n_slots, sizeof *c->slots);
    c->fd = connect_to(argv[1]);
    if (!c->slots || c->fd < 0) {
      fprintf(stderr, "closedloop: cannot connect to %s\n", argv[1]);
      return 1;
    }
    if (nghttp2_session_client_new(&c->session, cb, c) != 0 ||
        nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 2) != 0)
      return 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) return 1;
    for (int j = 0; j < c->n_slots; j++) {
      slot_t *s = &c->slots[j];
      s->conn = c;
      if (period_ns) /* spread the slots over one period */
        s->next = begin + (int64_t)(rand_r(&seed) % (unsigned)(period_ns / 1000 + 1)) * 1000;
      else if (!stopping && start(s, now_ns()) != 0)
        stopping = 1;
    }
    flush(c);
  }
  int64_t due = end_ns; /* paced: when the next call is due */
  if (period_ns) due = start_due(cs, conns, now_ns());
  for (int i = 0; i < conns && period_ns; i++) flush(&cs[i]);

  struct epoll_event evs[64];
  for (;;) {
    int64_t now = now_ns();
    if (now >= end_ns) stopping = 1;
    if (stopping && busy == 0) break;
    /* past the end, wait for the calls in flight for up to 10 s (their deadline) */
    if (now >= end_ns + 11 * 1000000000LL) break;
    int64_t wake = end_ns;
    if (now >= end_ns)
      wake = now + 100000000;
    else if (period_ns && !stopping && due < end_ns)
      wake = due;
    struct timespec timeout = until(wake, now);
    int n = epoll_pwait2(epfd, evs, 64, &timeout, NULL);
    if (n < 0 && errno != EINTR) break;
    for (int k = 0; k < n; k++) {
      conn_t *c = evs[k].data.ptr;
      if (c->dead || !(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      for (;;) {
        ssize_t r = recv(c->fd, buf, READ_BUF, 0);
        if (r > 0) {
          ssize_t used = nghttp2_session_mem_recv(c->session, buf, (size_t)r);
          if (used < 0) {
            fprintf(stderr, "closedloop: receive: %s\n", nghttp2_strerror((int)used));
            kill_conn(c);
            break;
          }
          if (r < READ_BUF) break;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          kill_conn(c); /* the server closed it, or it failed */
          break;
        } else if (errno != EINTR) {
          break;
        }
      }
    }
    if (period_ns && !stopping) due = start_due(cs, conns, now_ns());
    for (int i = 0; i < conns; i++) flush(&cs[i]);
  }
  double elapsed = (double)(now_ns() - begin) / 1e9;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  double cpu_us = (double)(cpu1.tv_sec - cpu0.tv_sec) * 1e6 + (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e3;
  if (busy > 0) { /* never answered */
    n_failed += (uint64_t)busy;
    fail_once("no answer in time", -1, -1, "");
  }
  qsort(lat_us, n_lat, sizeof *lat_us, cmp_u32);
  size_t total = n_lat;
  printf("calls=%zu ok=%llu failed=%llu seconds=%.2f rate=%.0f p50_us=%u p90_us=%u p99_us=%u "
         "max_us=%u cpu_us_per_call=%.1f",
         total, (unsigned long long)n_ok, (unsigned long long)n_failed, elapsed,
         (double)total / elapsed, PCT(lat_us, total, 0.50), PCT(lat_us, total, 0.90),
         PCT(lat_us, total, 0.99), total ? lat_us[total - 1] : 0,
         total ? cpu_us / (double)total : 0.0);
  printf(" writes=%llu", (unsigned long long)n_writes);
  if (period_ns) { /* how late the generator itself started calls: part of every latency above */
    qsort(lag_us, n_lag, sizeof *lag_us, cmp_u32);
    printf(" start_lag_p50_us=%u start_lag_p99_us=%u slot_waits=%llu", PCT(lag_us, n_lag, 0.50),
           PCT(lag_us, n_lag, 0.99), (unsigned long long)n_slot_waits);
    qsort(sent_us, n_sent, sizeof *sent_us, cmp_u32);
    printf(" sent_p50_us=%u sent_p99_us=%u", PCT(sent_us, n_sent, 0.50), PCT(sent_us, n_sent, 0.99));
  }
  printf("\n");
  ended = 1;
  for (int i = 0; i < conns; i++) {
    nghttp2_session_del(cs[i].session);
    if (cs[i].fd >= 0) close(cs[i].fd);
    for (int j = 0; j < cs[i].n_slots; j++) free(cs[i].slots[j].reply);
    free(cs[i].slots);
  }
  nghttp2_session_callbacks_del(cb);
  for (size_t i = 0; i < n_names; i++) free(names[i]);
  free(names);
  free(cs);
  free(buf);
  free(lat_us);
  free(lag_us);
  free(sent_us);
  close(epfd);
  return 0;
}
