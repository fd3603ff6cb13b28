/* W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent header of a call,
 * "00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>". Pure functions. */
#ifndef PS_OBS_TRACE_H
#define PS_OBS_TRACE_H

#include <stddef.h>

#define PS_TRACE_ID_LEN 32
#define PS_SPAN_ID_LEN 16

/* Reads a traceparent value of n bytes. On success writes the trace id and the parent id as
 * lowercase hex (NUL-terminated) and returns 0; -1 when the value is not a valid traceparent
 * (wrong shape, uppercase, version ff, an all-zero id, or version 00 with anything after the flags),
 * and then the caller starts no trace from it. Versions above 00 are read as the spec says: their
 * first four fields, if what follows is "-" or nothing. */
int ps_trace_parse(const char *v, size_t n, char trace_id[PS_TRACE_ID_LEN + 1],
                   char parent_id[PS_SPAN_ID_LEN + 1]);

#endif
