/* Per-method call metrics with the names and labels of the go-grpc-prometheus conventions
 * (grpc_server_started_total, grpc_server_handled_total, grpc_server_handling_seconds), and the
 * Prometheus text exposition of everything the service counts (obs/http.c serves it).
 *
 * Methods are registered once, before the first call, and get a small integer id; counting a call
 * is a few relaxed atomic adds. Labels come from the method table only (never from a request), so
 * the number of series is fixed: unknown methods all count as grpc_service="unknown". Counting is
 * off until ps_metrics_enable (no endpoint, no cost). */
#ifndef PS_OBS_METRICS_H
#define PS_OBS_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define PS_METRICS_MAX_METHODS 64

typedef enum { PS_RPC_UNARY, PS_RPC_SERVER_STREAM, PS_RPC_BIDI_STREAM } ps_rpc_type_t;

/* Registers "/package.Service/Method" (NULL: the id of unknown methods) and returns its id; the
 * same path gets the same id. -1 when the table is full. Not thread-safe: call before serving. */
int ps_metrics_register(const char *path, ps_rpc_type_t type);

/* Turns counting on. */
void ps_metrics_enable(void);
int ps_metrics_enabled(void);

/* A call of method id has started / ended with code (0..16) after elapsed_ns. Thread-safe. */
void ps_metrics_started(int id);
void ps_metrics_handled(int id, int code, int64_t elapsed_ns);

/* Writes the grpc_server_* families and the event counters (core/counters.h) in the Prometheus text
 * format, version 0.0.4. */
void ps_metrics_write_grpc(FILE *out);

/* Writes one sample line: name{labels} value. labels may be NULL or "". */
void ps_metrics_sample(FILE *out, const char *name, const char *labels, double value);
/* Writes the # HELP and # TYPE lines of a family. */
void ps_metrics_family(FILE *out, const char *name, const char *type, const char *help);

#endif
