/* Logging for main and the transport (libraries do not log): one line per event on stderr,
 * "2026-11-27T18:00:00.123Z level message". Thread-safe. */
#ifndef PS_LOG_H
#define PS_LOG_H

typedef enum ps_log_level { PS_LOG_DEBUG = 0, PS_LOG_INFO, PS_LOG_WARN, PS_LOG_ERROR } ps_log_level_t;

/* Sets the lowest level written. */
void ps_log_set_level(ps_log_level_t level);
/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int ps_log_parse_level(const char *s);
/* 1 when a message at level would be written. */
int ps_log_enabled(ps_log_level_t level);

void ps_log(ps_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ps_debug(...) do { if (ps_log_enabled(PS_LOG_DEBUG)) ps_log(PS_LOG_DEBUG, __VA_ARGS__); } while (0)
#define ps_info(...) ps_log(PS_LOG_INFO, __VA_ARGS__)
#define ps_warn(...) ps_log(PS_LOG_WARN, __VA_ARGS__)
#define ps_error(...) ps_log(PS_LOG_ERROR, __VA_ARGS__)

#endif
