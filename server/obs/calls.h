/* What the transport reports when a call ends, at one fixed point: the per-method metrics
 * (obs/metrics.h) and, at info, one access line. The record holds ids, codes and the caller's
 * identity only, never what the request carried about a person. */
#ifndef PS_OBS_CALLS_H
#define PS_OBS_CALLS_H

#include <stdint.h>

typedef struct ps_call_record {
  int metrics_id;          /* ps_metrics_register's id of the method */
  const char *method;      /* "/package.Service/Method" as asked (printable) */
  int code;                /* the gRPC status code sent */
  const char *reason;      /* the ErrorInfo reason ("" : none) */
  int64_t duration_ns;     /* from the call's arrival to its status */
  const char *tenant;      /* the tenant named by the request ("" : none or not known) */
  const char *request_id;  /* the request's request_id ("" : none) */
  const char *peer;        /* the verified caller identity ("" : none), else its address */
  const char *user_agent;  /* the client's user-agent ("" : none) */
  const char *trace_id;    /* from traceparent ("" : none) */
  int64_t messages;        /* server streams: messages sent; -1 for other calls (not logged) */
  int64_t bytes;           /* server streams: their bytes */
  int log;                 /* write the access line (the caller checked the level once, and
                              gathered the strings only then) */
} ps_call_record_t;

void ps_call_ended(const ps_call_record_t *r);

#endif
