#include "core/status.h"

#include <stdio.h>
#include <string.h>

void ps_status_clear(ps_status_t *st) {
  st->code = PS_OK;
  st->message[0] = '\0';
  st->reason[0] = '\0';
  st->n_meta = 0;
}

int ps_vfail(ps_status_t *st, ps_code_t code, const char *reason, const char *fmt, va_list ap) {
  st->code = code;
  vsnprintf(st->message, sizeof st->message, fmt, ap);
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
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  ps_fail(st, PS_INVALID_ARGUMENT, "INVALID_FIELD", "%s: %s", field, detail);
  return ps_status_meta(st, "field", field);
}

int ps_status_meta(ps_status_t *st, const char *key, const char *value) {
  if (st->n_meta < PS_STATUS_MAX_META) {
    ps_meta_t *m = &st->meta[st->n_meta++];
    snprintf(m->key, sizeof m->key, "%s", key);
    snprintf(m->value, sizeof m->value, "%s", value ? value : "");
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
