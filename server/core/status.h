/* The status every layer returns: a gRPC code, one sentence for a human and, where a caller must
 * branch on the cause, a stable reason with metadata (sent as google.rpc.ErrorInfo).
 * Internally functions return 0 or -1; the detail lives in a ps_status_t that the transport turns
 * into a gRPC status once, at the edge. */
#ifndef PS_CORE_STATUS_H
#define PS_CORE_STATUS_H

#include <stdarg.h>
#include <stddef.h>

/* gRPC status codes, same numbers as grpc_status_code (grpc/status.h). */
typedef enum ps_code {
  PS_OK = 0,
  PS_CANCELLED = 1,
  PS_UNKNOWN = 2,
  PS_INVALID_ARGUMENT = 3,
  PS_DEADLINE_EXCEEDED = 4,
  PS_NOT_FOUND = 5,
  PS_ALREADY_EXISTS = 6,
  PS_PERMISSION_DENIED = 7,
  PS_RESOURCE_EXHAUSTED = 8,
  PS_FAILED_PRECONDITION = 9,
  PS_ABORTED = 10,
  PS_OUT_OF_RANGE = 11,
  PS_UNIMPLEMENTED = 12,
  PS_INTERNAL = 13,
  PS_UNAVAILABLE = 14,
  PS_DATA_LOSS = 15,
  PS_UNAUTHENTICATED = 16,
} ps_code_t;

/* The ErrorInfo domain of every reason this service sends. */
#define PS_ERROR_DOMAIN "prospects.v1"

#define PS_STATUS_MAX_META 4

/* One ErrorInfo metadata entry. */
typedef struct ps_meta {
  char key[32];    /* lower_snake key, e.g. "field", "surviving_prospect" */
  char value[192]; /* its value, truncated to fit */
} ps_meta_t;

typedef struct ps_status {
  ps_code_t code;                       /* PS_OK or the failure */
  char message[512];                    /* one sentence for a human; "" when OK */
  char reason[64];                      /* stable UPPER_SNAKE reason; "" = no ErrorInfo */
  int n_meta;                           /* entries used in meta */
  ps_meta_t meta[PS_STATUS_MAX_META];   /* ErrorInfo metadata */
} ps_status_t;

/* Resets st to OK. */
void ps_status_clear(ps_status_t *st);

/* Sets st to code with a reason (NULL or "" for none) and a printf-style message. Returns -1 so that
 * callers can write `return ps_fail(...)`. */
int ps_fail(ps_status_t *st, ps_code_t code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ps_vfail(ps_status_t *st, ps_code_t code, const char *reason, const char *fmt, va_list ap);

/* INVALID_ARGUMENT with reason "INVALID_ARGUMENT"-style detail naming the field: the message starts
 * with the field path and the ErrorInfo carries metadata field=<field>. Returns -1. */
int ps_fail_field(ps_status_t *st, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds one ErrorInfo metadata entry (ignored when full). Returns -1 for chaining after ps_fail. */
int ps_status_meta(ps_status_t *st, const char *key, const char *value);

/* "INVALID_ARGUMENT" etc. for a code; "UNKNOWN" for values out of range. */
const char *ps_code_name(ps_code_t code);

#endif
