/* UUIDv7 (RFC 9562, section 5.7) with a per-process ordering guarantee.
 *
 * Layout: 48-bit Unix time in ms | ver 7 (4 bits) | rand_a (12 bits) | variant 10 (2 bits) |
 * rand_b (62 bits). rand_a is used as a counter (RFC 9562 6.2, method 1): the first id of a new
 * millisecond seeds it with 11 random bits (so at least 2048 ids fit before it wraps), later ids of
 * the same millisecond increment it. When it wraps, the carry moves into the timestamp, which then
 * runs slightly ahead of the clock; a clock that steps back is ignored the same way. The
 * (timestamp, counter) pair is one 60-bit value advanced with compare-and-swap, so ids made by
 * concurrent threads are still strictly increasing in the order they took their value. */
#include "core/ids.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

/* (ms << 12) | counter of the last id handed out by this process. */
static _Atomic uint64_t g_last;

static int fill_random(unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 0;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0) return 0;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ps_id_new(ps_id_t *ret_id) {
  unsigned char r[10];
  if (fill_random(r, sizeof r) < 0) return -1;

  uint64_t want = ((now_ms() & UINT64_C(0xffffffffffff)) << 12) | (((uint64_t)r[0] << 8 | r[1]) & 0x7ff);
  uint64_t last = atomic_load(&g_last);
  uint64_t next;
  do {
    next = want > last ? want : last + 1;
  } while (!atomic_compare_exchange_weak(&g_last, &last, next));

  uint64_t ms = next >> 12;
  unsigned counter = (unsigned)(next & 0xfff);
  ps_id_t id;
  for (int i = 0; i < 6; i++) id.b[i] = (unsigned char)(ms >> (40 - 8 * i));
  id.b[6] = (unsigned char)(0x70 | (counter >> 8));
  id.b[7] = (unsigned char)(counter & 0xff);
  id.b[8] = (unsigned char)(0x80 | (r[2] & 0x3f));
  for (int i = 9; i < 16; i++) id.b[i] = r[i - 6];
  *ret_id = id;
  return 0;
}

void ps_id_format(const ps_id_t *id, char out[PS_ID_TEXT_LEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[id->b[i] >> 4];
    out[o++] = hex[id->b[i] & 0xf];
  }
  out[o] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int ps_id_parse(const char *s, size_t n, ps_id_t *ret_id) {
  if (!s || n != PS_ID_TEXT_LEN) return -1;
  ps_id_t id;
  size_t o = 0;
  for (size_t i = 0; i < PS_ID_TEXT_LEN;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return -1;
      i++;
      continue;
    }
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    id.b[o++] = (unsigned char)(hi << 4 | lo);
    i += 2;
  }
  *ret_id = id;
  return 0;
}
