#include "core/status.h"

#include <stdio.h>
#include <string.h>

/* After snprintf cut s to fit size bytes: drops a multi-byte UTF-8 character left incomplete at
 * the end, so that the message (a proto3 string on the wire) stays valid UTF-8. */
static void trim_cut_utf8(char *s, size_t size, int written) {
  if (written < 0 || (size_t)written < size) return; /* not cut */
  size_t n = strlen(s), i = n;
  while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) i--;
  if (i == 0) return;
  unsigned char lead = (unsigned char)s[i - 1];
  size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (want > n - (i - 1)) s[i - 1] = '\0';
}

void ps_status_clear(ps_status_t *st) {
  st->code = PS_OK;
  st->message[0] = '\0';
  st->reason[0] = '\0';
  st->n_meta = 0;
}

int ps_vfail(ps_status_t *st, ps_code_t code, const char *reason, const char *fmt, va_list ap) {
  st->code = code;
  trim_cut_utf8(st->message, sizeof st->message, vsnprintf(st->message, sizeof st->message, fmt, ap));
  snprintf(st->reason, sizeof st->reason, "%s", reason ? reason : "");
  st->n_meta = 0;
  return -1;
}

int ps_fail(ps_status_t *st, ps_code_t code, const char *reason, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ps_vfail(st, code, reason, fmt, ap);
  va_end(ap);
  return -1;
}

int ps_fail_field(ps_status_t *st, const char *field, const char *fmt, ...) {
  char detail[400];
  va_list ap;
  va_start(ap, fmt);
  trim_cut_utf8(detail, sizeof detail, vsnprintf(detail, sizeof detail, fmt, ap));
  va_end(ap);
  ps_fail(st, PS_INVALID_ARGUMENT, "INVALID_FIELD", "%s: %s", field, detail);
  return ps_status_meta(st, "field", field);
}

int ps_status_meta(ps_status_t *st, const char *key, const char *value) {
  if (st->n_meta < PS_STATUS_MAX_META) {
    ps_meta_t *m = &st->meta[st->n_meta++];
    snprintf(m->key, sizeof m->key, "%s", key);
    trim_cut_utf8(m->value, sizeof m->value,
                  snprintf(m->value, sizeof m->value, "%s", value ? value : ""));
  }
  return -1;
}

const char *ps_code_name(ps_code_t code) {
  static const char *const names[] = {
      "OK",        "CANCELLED",         "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  if ((int)code < 0 || (size_t)code >= sizeof names / sizeof names[0]) return "UNKNOWN";
  return names[code];
}
