#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

static atomic_int min_level = PS_LOG_INFO;
static atomic_int format = PS_LOG_TEXT;
static _Thread_local char thread_trace[33];
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ps_log_set_level(ps_log_level_t level) { atomic_store(&min_level, (int)level); }

ps_log_level_t ps_log_get_level(void) { return (ps_log_level_t)atomic_load(&min_level); }

int ps_log_enabled(ps_log_level_t level) {
  return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

int ps_log_parse_level(const char *s) {
  for (int i = 0; i < 4; i++)
    if (strcmp(s, level_names[i]) == 0) return i;
  return -1;
}

const char *ps_log_level_name(ps_log_level_t level) {
  return (unsigned)level < 4 ? level_names[level] : "info";
}

void ps_log_set_format(ps_log_format_t f) { atomic_store(&format, (int)f); }

int ps_log_parse_format(const char *s) {
  if (strcmp(s, "text") == 0) return PS_LOG_TEXT;
  if (strcmp(s, "json") == 0) return PS_LOG_JSON;
  return -1;
}

void ps_log_set_trace(const char *trace_id) {
  size_t n = trace_id ? strnlen(trace_id, sizeof thread_trace - 1) : 0;
  memcpy(thread_trace, trace_id ? trace_id : "", n);
  thread_trace[n] = '\0';
}

/* ------------------------------------------------------------------ a line being built */

typedef struct line {
  char buf[LINE_MAX_BYTES];
  size_t len;
  size_t limit;  /* what put() may fill: the end keeps room for the trace id, "}" and "\n" */
  int cut;       /* put() had to cut: the field being written is dropped whole */
  int json;
  int has_trace; /* a field named trace_id was written */
} line_t;

#define END_ROOM 64 /* ,"trace_id":"<32 hex>"}\n fits */

static void put(line_t *l, const char *s, size_t n) {
  size_t room = l->limit - l->len;
  if (n > room) {
    n = room;
    l->cut = 1;
  }
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void puts_(line_t *l, const char *s) { put(l, s, strlen(s)); }

/* A value: JSON string escapes in json, else as it is (quoted when it has a space, a quote or is
 * empty). Anything outside printable ASCII becomes '?': a log line is never a way to smuggle
 * control characters (or a forged line) into the log. */
static void put_value(line_t *l, const char *s, int quote) {
  size_t n = strlen(s);
  int q = quote || (!l->json && (n == 0 || strpbrk(s, " \"=") != NULL));
  if (q) put(l, "\"", 1);
  /* a long value is shortened, never cut in the middle of an escape or before its quote */
  for (size_t i = 0; i < n && l->len + 3 <= l->limit; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      if (l->json || q) put(l, "\\", 1);
      put(l, (const char *)&s[i], 1);
    } else if (c < 0x20 || c > 0x7e) {
      put(l, "?", 1);
    } else {
      put(l, (const char *)&s[i], 1);
    }
  }
  if (q) put(l, "\"", 1);
}

/* The time of a line, "2026-12-01T12:03:26.403Z". The date and time to the second are made once per
 * second and thread (gmtime_r takes glibc's time zone lock, and there is a line per call). */
static void format_time(char t[80]) {
  static _Thread_local time_t cached_sec = (time_t)-1;
  static _Thread_local char cached[64]; /* "2026-12-01T12:03:26." */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != cached_sec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_sec = ts.tv_sec;
  }
  size_t n = strlen(cached);
  memcpy(t, cached, n);
  int ms = (int)(ts.tv_nsec / 1000000);
  t[n++] = (char)('0' + ms / 100);
  t[n++] = (char)('0' + ms / 10 % 10);
  t[n++] = (char)('0' + ms % 10);
  t[n++] = 'Z';
  t[n] = '\0';
}

/* The decimal digits of v into out (at least 21 bytes). */
static void format_num(long long v, char *out) {
  char tmp[24];
  size_t n = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t o = 0;
  if (v < 0) out[o++] = '-';
  while (n) out[o++] = tmp[--n];
  out[o] = '\0';
}

/* ------------------------------------------------------------------ output
 * Lines go to stderr whole (never interleaved) and in order, without a write(2) per line when
 * threads log at once: a thread appends its line to the pending buffer; when no thread is writing,
 * it becomes the writer and writes what is pending (its own line and whatever others append
 * meanwhile) until nothing is left. A line therefore reaches stderr at once when it is alone, or
 * as soon as the write in progress ends; nothing waits for a timer. A thread that is about to log
 * a burst of lines (a worker answering the calls of a coalesced read, one access line each) holds
 * its writes (ps_log_hold): its lines are appended, and written together at ps_log_release, or
 * earlier by any other thread's write, or when they fill the buffer. */
#define OUT_BUF_BYTES (256 * 1024)

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t out_taken = PTHREAD_COND_INITIALIZER; /* the writer took the pending buffer */
static char out_bufs[2][OUT_BUF_BYTES];
static int out_fill;    /* the buffer lines are appended to */
static size_t out_len;  /* bytes pending in it */
static int out_writing; /* a thread is writing the other buffer */

static void write_all(const char *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(STDERR_FILENO, p + off, n - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
}

/* With out_mu held and no writer: becomes the writer and writes what is pending (and what others
 * append meanwhile) until nothing is left. */
static void write_pending_locked(void) {
  out_writing = 1;
  while (out_len > 0) {
    const char *p = out_bufs[out_fill];
    size_t len = out_len;
    out_fill ^= 1;
    out_len = 0;
    pthread_cond_broadcast(&out_taken);
    pthread_mutex_unlock(&out_mu);
    write_all(p, len);
    pthread_mutex_lock(&out_mu);
  }
  out_writing = 0;
}

static _Thread_local int held; /* ps_log_hold depth of this thread */

static void emit(const char *line, size_t n) {
  pthread_mutex_lock(&out_mu);
  /* the writer is behind by a whole buffer (stderr is slow to take lines): wait for it to take
   * the buffer, so that lines keep their order and none is dropped */
  while (out_len + n > OUT_BUF_BYTES && out_writing) pthread_cond_wait(&out_taken, &out_mu);
  if (out_len + n > OUT_BUF_BYTES) write_pending_locked(); /* held lines filled it: write them */
  memcpy(out_bufs[out_fill] + out_len, line, n);
  out_len += n;
  /* a writer takes it when its write ends; a holding thread writes it at ps_log_release */
  if (!out_writing && !held) write_pending_locked();
  pthread_mutex_unlock(&out_mu);
}

void ps_log_hold(void) { held++; }

void ps_log_release(void) {
  if (held == 0 || --held > 0) return;
  pthread_mutex_lock(&out_mu);
  if (!out_writing && out_len > 0) write_pending_locked();
  pthread_mutex_unlock(&out_mu);
}

static void begin(line_t *l, ps_log_level_t level) {
  char t[80];
  format_time(t);
  l->len = 0;
  l->limit = sizeof l->buf - END_ROOM;
  l->cut = 0;
  l->has_trace = 0;
  l->json = atomic_load_explicit(&format, memory_order_relaxed) == PS_LOG_JSON;
  if (l->json) {
    puts_(l, "{\"time\":\"");
    puts_(l, t);
    puts_(l, "\",\"level\":\"");
    puts_(l, level_names[level]);
    puts_(l, "\",\"msg\":");
  } else {
    puts_(l, t);
    put(l, " ", 1);
    puts_(l, level_names[level]);
    put(l, " ", 1);
  }
}

/* Writes one field, or nothing when it does not fit (the line stays well-formed). */
static void field(line_t *l, const ps_log_field_t *f) {
  if (!f->is_num && !f->str) return;
  size_t mark = l->len;
  l->cut = 0;
  if (l->json) {
    puts_(l, ",\"");
    puts_(l, f->key);
    puts_(l, "\":");
  } else {
    put(l, " ", 1);
    puts_(l, f->key);
    put(l, "=", 1);
  }
  if (f->is_num) {
    char num[24];
    format_num(f->num, num);
    puts_(l, num);
  } else {
    put_value(l, f->str, l->json);
  }
  if (l->cut) {
    l->len = mark;
    l->cut = 0;
  } else if (strcmp(f->key, "trace_id") == 0) {
    l->has_trace = 1;
  }
}

static void end(line_t *l) {
  l->limit = sizeof l->buf - 2; /* the room kept for the end */
  if (thread_trace[0] && !l->has_trace) {
    ps_log_field_t f = PS_LOG_STR("trace_id", thread_trace);
    field(l, &f);
  }
  if (l->json) l->buf[l->len++] = '}';
  l->buf[l->len++] = '\n';
  emit(l->buf, l->len);
}

void ps_log(ps_log_level_t level, const char *fmt, ...) {
  if (!ps_log_enabled(level)) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  line_t l;
  begin(&l, level);
  if (l.json) {
    put_value(&l, msg, 1);
  } else { /* the message as it is, but printable */
    for (const char *p = msg; *p && l.len < l.limit; p++)
      l.buf[l.len++] = (*p < 0x20 || *p > 0x7e) && *p != '\t' ? '?' : *p;
  }
  end(&l);
}

void ps_log_fields(ps_log_level_t level, const char *msg, const ps_log_field_t *fields, size_t n) {
  if (!ps_log_enabled(level)) return;
  line_t l;
  begin(&l, level);
  if (l.json)
    put_value(&l, msg, 1);
  else
    puts_(&l, msg);
  for (size_t i = 0; i < n; i++) field(&l, &fields[i]);
  end(&l);
}
