/* The metrics endpoint: GET /metrics over plain HTTP/1.1 on a port of its own (PS_METRICS_LISTEN),
 * in the Prometheus text format; and gRPC core's channelz under /channelz/ (servers, their
 * sockets) as the JSON of the grpc.channelz.v1 messages. libmicrohttpd runs it on a thread of its own; a scrape reads
 * counters and gauges (atomics and a few /proc files) and never waits for a call. */
#ifndef PS_OBS_HTTP_H
#define PS_OBS_HTTP_H

#include "core/status.h"

/* Serves /metrics on listen ("host:port", "[v6]:port"; port 0 picks a free one). Turns counting
 * on. 0, or -1 with st set (bad address, port in use). */
int ps_metrics_http_start(const char *listen, ps_status_t *st);
/* The port it listens on (0 when not started). */
int ps_metrics_http_port(void);
/* Stops it (no-op when not started). */
void ps_metrics_http_stop(void);

#endif
