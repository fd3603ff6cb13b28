/* Logging for main, the transport and obs/ (libraries do not log): one line per event on stderr.
 * Two formats: text, "2026-11-27T18:00:00.123Z level message key=value ...", and json (PS_LOG_FORMAT),
 * one object per line: {"time":"...","level":"...","msg":"...","key":"value",...}. A line written
 * while a thread works for a call carries that call's trace id. No line ever holds what a request
 * carried about a person: callers log ids, codes and reasons only. Thread-safe. */
#ifndef PS_LOG_H
#define PS_LOG_H

#include <stddef.h>

typedef enum ps_log_level { PS_LOG_DEBUG = 0, PS_LOG_INFO, PS_LOG_WARN, PS_LOG_ERROR } ps_log_level_t;
typedef enum ps_log_format { PS_LOG_TEXT = 0, PS_LOG_JSON } ps_log_format_t;

/* Sets the lowest level written (may change at any time, e.g. on SIGHUP). */
void ps_log_set_level(ps_log_level_t level);
ps_log_level_t ps_log_get_level(void);
/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int ps_log_parse_level(const char *s);
const char *ps_log_level_name(ps_log_level_t level);
/* 1 when a message at level would be written. */
int ps_log_enabled(ps_log_level_t level);

/* Sets the format of every line (at start-up). Parses "text", "json"; -1 when unknown. */
void ps_log_set_format(ps_log_format_t format);
int ps_log_parse_format(const char *s);

/* The trace id (32 lowercase hex digits, or NULL/"" for none) that this thread's lines carry until
 * it is changed: the transport sets it while a worker runs a call. */
void ps_log_set_trace(const char *trace_id);

/* Until the matching ps_log_release, this thread's lines are appended to the output but not
 * written by this thread: they go out with the next write, at the latest at the release (one
 * write(2) for a burst of lines instead of one each). Nests. Lines keep their order. */
void ps_log_hold(void);
void ps_log_release(void);

void ps_log(ps_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One key and its value: a string (str, NULL: left out) or, when is_num, a number. */
typedef struct ps_log_field {
  const char *key;
  const char *str;
  long long num;
  int is_num;
} ps_log_field_t;

#define PS_LOG_STR(k, v) ((ps_log_field_t){(k), (v), 0, 0})
#define PS_LOG_NUM(k, v) ((ps_log_field_t){(k), NULL, (long long)(v), 1})

/* A line with a fixed message and fields (text: key=value, quoted when needed; json: members).
 * Values are escaped; bytes outside printable ASCII are written as '?'. */
void ps_log_fields(ps_log_level_t level, const char *msg, const ps_log_field_t *fields, size_t n);

#define ps_debug(...) do { if (ps_log_enabled(PS_LOG_DEBUG)) ps_log(PS_LOG_DEBUG, __VA_ARGS__); } while (0)
#define ps_info(...) ps_log(PS_LOG_INFO, __VA_ARGS__)
#define ps_warn(...) ps_log(PS_LOG_WARN, __VA_ARGS__)
#define ps_error(...) ps_log(PS_LOG_ERROR, __VA_ARGS__)

#endif
