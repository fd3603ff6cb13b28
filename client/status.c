/* The per-call status: codes, messages, and the google.rpc.Status / ErrorInfo the server sends in
 * grpc-status-details-bin. No gRPC here: only protobuf-c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "internal.h"

#define ERROR_INFO_TYPE "type.googleapis.com/google.rpc.ErrorInfo"

static const char *const code_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};

PSC_EXPORT const char *psc_code_name(int code) {
  if (code < 0 || (size_t)code >= sizeof code_names / sizeof code_names[0]) return "UNKNOWN_CODE";
  return code_names[code];
}

PSC_EXPORT const char *psc_version(void) {
#define PSC__STR2(x) #x
#define PSC__STR(x) PSC__STR2(x)
  return PSC__STR(PSC_VERSION_MAJOR) "." PSC__STR(PSC_VERSION_MINOR) "." PSC__STR(PSC_VERSION_PATCH);
}

PSC_EXPORT const char *psc_status_meta(const psc_status_t *st, const char *key) {
  if (!st || !key) return NULL;
  for (size_t i = 0; i < st->n_meta && i < PSC_STATUS_MAX_META; i++)
    if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
  return NULL;
}

void psc__copy_cut(char *dst, size_t n, const char *src, size_t src_len) {
  if (n == 0) return;
  if (!src) src_len = 0;
  size_t len = src_len < n - 1 ? src_len : n - 1;
  if (len < src_len) {
    /* cut inside a multi-byte character: step back to its lead byte and drop it */
    while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80) len--;
  }
  if (len) memcpy(dst, src, len);
  dst[len] = '\0';
}

void psc__status_clear(psc_status_t *st) {
  st->code = PSC_OK;
  st->message[0] = st->reason[0] = st->domain[0] = '\0';
  st->surviving_prospect[0] = st->request_id[0] = '\0';
  st->attempts = 0;
  st->n_meta = 0;
}

int psc__status_set(psc_status_t *st, int code, const char *fmt, ...) {
  char buf[sizeof st->message + 1];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  st->code = code;
  psc__copy_cut(st->message, sizeof st->message, buf, n < 0 ? 0 : strnlen(buf, sizeof buf));
  return code;
}

int psc__status_decode_details(psc_status_t *st, const unsigned char *data, size_t len) {
  Google__Rpc__Status *s = google__rpc__status__unpack(NULL, len, data);
  if (!s) return -1;
  for (size_t i = 0; i < s->n_details; i++) {
    const Google__Protobuf__Any *any = s->details[i];
    if (!any || !any->type_url || strcmp(any->type_url, ERROR_INFO_TYPE) != 0) continue;
    Google__Rpc__ErrorInfo *info = google__rpc__error_info__unpack(NULL, any->value.len, any->value.data);
    if (!info) continue; /* a malformed detail: keep looking */
    psc__copy_cut(st->reason, sizeof st->reason, info->reason, info->reason ? strlen(info->reason) : 0);
    psc__copy_cut(st->domain, sizeof st->domain, info->domain, info->domain ? strlen(info->domain) : 0);
    st->n_meta = 0;
    for (size_t j = 0; j < info->n_metadata && st->n_meta < PSC_STATUS_MAX_META; j++) {
      const Google__Rpc__ErrorInfo__MetadataEntry *e = info->metadata[j];
      if (!e || !e->key) continue;
      psc_status_meta_t *m = &st->meta[st->n_meta++];
      psc__copy_cut(m->key, sizeof m->key, e->key, strlen(e->key));
      psc__copy_cut(m->value, sizeof m->value, e->value, e->value ? strlen(e->value) : 0);
      if (strcmp(e->key, "surviving_prospect") == 0 && e->value)
        psc__copy_cut(st->surviving_prospect, sizeof st->surviving_prospect, e->value, strlen(e->value));
    }
    google__rpc__error_info__free_unpacked(info, NULL);
    break;
  }
  google__rpc__status__free_unpacked(s, NULL);
  return 0;
}

static int random_bytes(unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r < 0) return -1; /* EINTR included: rare, the caller has a fallback */
    got += (size_t)r;
  }
  return 0;
}

int psc__uuid4(char out[37]) {
  unsigned char b[16];
  if (random_bytes(b, sizeof b) < 0) return -1;
  b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 0x0F];
  }
  out[o] = '\0';
  return 0;
}

unsigned long psc__random_below(unsigned long n) {
  unsigned long r;
  if (random_bytes((unsigned char *)&r, sizeof r) < 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = (unsigned long)ts.tv_nsec * 2654435761UL; /* jitter only: weak is fine */
  }
  return n ? r % n : 0;
}

PSC_EXPORT int psc_traceparent_new(char out[PSC_TRACEPARENT_LEN + 1]) {
  unsigned char b[24]; /* 16 bytes of trace id, 8 of parent id */
  int tries = 0;
  do { /* an all-zero id is invalid: draw again (once in 2^64 draws) */
    if (random_bytes(b, sizeof b) < 0) return -1;
    int zero_trace = 1, zero_parent = 1;
    for (size_t i = 0; i < 16; i++) zero_trace &= b[i] == 0;
    for (size_t i = 16; i < 24; i++) zero_parent &= b[i] == 0;
    if (!zero_trace && !zero_parent) break;
  } while (++tries < 4);
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  out[o++] = '0';
  out[o++] = '0';
  for (size_t i = 0; i < 24; i++) {
    if (i == 0 || i == 16) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 0x0F];
  }
  memcpy(out + o, "-00", 4);
  return 0;
}

/* n lowercase hex digits at s, not all zero (nonzero: 1 when that is required). */
static int hex_field(const char *s, size_t n, int nonzero) {
  int any = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    any |= c != '0';
  }
  return !nonzero || any;
}

PSC_EXPORT int psc_traceparent_valid(const char *s) {
  return s && strlen(s) == PSC_TRACEPARENT_LEN && s[0] == '0' && s[1] == '0' && s[2] == '-' &&
         hex_field(s + 3, 32, 1) && s[35] == '-' && hex_field(s + 36, 16, 1) && s[52] == '-' &&
         hex_field(s + 53, 2, 0);
}
