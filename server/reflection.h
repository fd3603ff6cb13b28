/* Server reflection from the embedded descriptor set. No gRPC in here: the transport passes the
 * bytes of each ServerReflectionRequest and sends back the bytes of the response. */
#ifndef PS_REFLECTION_H
#define PS_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

/* Indexes the embedded descriptor set (once; thread-safe). 0, or -1 when it cannot be read. */
int ps_reflection_init(void);

/* Answers one grpc.reflection.v1(alpha).ServerReflectionRequest (the two versions share one wire
 * format). On success returns 0 and a malloc'd response in *ret_buf (the caller frees it); -1 when
 * the request cannot be decoded or memory runs out. Thread-safe after ps_reflection_init. */
int ps_reflection_answer(const uint8_t *req, size_t len, uint8_t **ret_buf, size_t *ret_len);

/* Frees the index (at exit). */
void ps_reflection_free(void);

#endif
