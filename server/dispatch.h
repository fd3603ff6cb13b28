/* The method table of prospects.v1.ProspectService: the gRPC path, message descriptors and handler
 * of every RPC in the proto. Built from the generated service descriptor, so a method added to the
 * proto is served (as UNIMPLEMENTED until it has a handler) without touching the transport. */
#ifndef PS_DISPATCH_H
#define PS_DISPATCH_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "service/ctx.h"

typedef struct ps_method {
  char path[128];                             /* "/prospects.v1.ProspectService/GetProspect" */
  const char *name;                           /* "GetProspect" */
  const ProtobufCMessageDescriptor *request;  /* request message type */
  const ProtobufCMessageDescriptor *response; /* response message type */
  ps_handler_fn handler;                      /* NULL: answered with UNIMPLEMENTED */
} ps_method_t;

/* The table (built once, thread-safe) and its length. */
const ps_method_t *ps_dispatch_methods(size_t *ret_n);

#endif
