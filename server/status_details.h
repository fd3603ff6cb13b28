/* The error details of a failed call (AIP-193), sent as a google.rpc.Status in the
 * grpc-status-details-bin trailer, for any client to decode:
 *   - google.rpc.ErrorInfo: the stable reason, domain "prospects.v1" and metadata (when st has a
 *     reason);
 *   - google.rpc.BadRequest: one field violation (field path, description) for INVALID_ARGUMENT that
 *     names a field;
 *   - google.rpc.RetryInfo: how long to wait before a retry, where a retry of the same call is
 *     right (see ps_status_retry_delay_ms).
 * Pure functions. */
#ifndef PS_STATUS_DETAILS_H
#define PS_STATUS_DETAILS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* The delay before a retry of the same call makes sense, milliseconds, or -1 when retrying it as
 * it is cannot help:
 *   UNAVAILABLE (the database or the server): 1000;
 *   RESOURCE_EXHAUSTED from load (SERVER_OVERLOADED, out of memory): 500; TOO_MANY_WATCHERS: 5000;
 *     not REQUEST_TOO_LARGE or CALL_MEMORY_EXCEEDED, which the same call hits again;
 *   ABORTED from a concurrent change (deadlock, lock wait, a race; no reason): 100; not
 *     ETAG_MISMATCH, which needs a fresh read first. */
int ps_status_retry_delay_ms(const ps_status_t *st);

/* Packs the google.rpc.Status of a failed st into *ret (malloc'd; the caller frees) and its length
 * into *ret_len. 0 on success; *ret is NULL when there is no detail to send (OK, or a status with
 * neither reason, field nor retry). -1 when out of memory. */
int ps_status_details_pack(const ps_status_t *st, uint8_t **ret, size_t *ret_len);

#endif
