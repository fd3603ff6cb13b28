/* Idempotency keys (SPEC: Idempotency): (tenant, request_id) -> method, request fingerprint and the
 * packed response of the first call, kept PS_IDEM_TTL_US.
 *
 * Use, inside the transaction of the write it guards (e.g. from a ps_db_tx function):
 *   ps_idem_key_t k; ps_idem_key_init(&k, tenant, request_id, "CreateProspect", req);
 *   rc = ps_idem_claim(db, arena, &k, now, &stored, st);
 *   rc < 0: fail (REQUEST_ID_REUSED, or a database error);  rc == 1: return `stored` unpacked, write
 *   nothing;  rc == 0: do the write, then ps_idem_store(db, &k, packed_response, len, st); commit.
 * A concurrent call with the same key blocks on the first one's uncommitted key (InnoDB unique key)
 * and then sees its result; if the first rolls back, the second proceeds as the first.
 * Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_IDEMPOTENCY_H
#define PS_STORE_IDEMPOTENCY_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/status.h"
#include "store/db.h"

/* How long a request id keeps its first result: 24 hours. After that it may be used again. */
#define PS_IDEM_TTL_US (24LL * 3600 * 1000000)

typedef struct ps_idem_key {
  const char *tenant;      /* the tenant */
  const char *request_id;  /* the caller's request id (already validated) */
  const char *method;      /* the method name, e.g. "CreateProspect": one id, one method */
  unsigned char sha256[32];/* SHA-256 of the request without its request_id (ps_idem_fingerprint) */
  uint64_t fingerprint;    /* the same request's 64-bit FNV-1a: what keys written before migration
                              20261201000002 hold (compared for those only; written for rollback) */
} ps_idem_key_t;

/* The fingerprints of a request: SHA-256 and (legacy) FNV-1a of its packed form with its
 * `request_id` field (if it has one) cleared, so that a retry matches whatever id it carries.
 * Packs through a hashing buffer: nothing is allocated except a copy of the top-level struct.
 * 0, or -1 when out of memory or the digest fails. */
int ps_idem_fingerprint(const ProtobufCMessage *req, unsigned char ret_sha256[32],
                        uint64_t *ret_fnv);

/* Claims k in the open transaction (see above). 0: claimed, go on with the write; 1: the same
 * request succeeded before, *ret_response holds its packed response (in a); -1 with st set:
 * ALREADY_EXISTS with reason REQUEST_ID_REUSED when the id was used for a different request or
 * method, or a database failure (ABORTED ones are worth retrying: ps_db_tx does). */
int ps_idem_claim(ps_db_t *db, ps_arena_t *a, const ps_idem_key_t *k, int64_t now_us,
                  ps_blob_t *ret_response, ps_status_t *st);

/* Fills k for a call of method with request req: tenant, request_id (already validated), method
 * and the fingerprint of req. Strings are borrowed. 0, or -1 when out of memory. */
int ps_idem_key_init(ps_idem_key_t *k, const char *tenant, const char *request_id,
                     const char *method, const ProtobufCMessage *req);

/* Packs response into a and stores it under the claimed key k, in the same transaction. 0, or -1
 * with st set (RESOURCE_EXHAUSTED when out of memory, or a database failure). */
int ps_idem_store_msg(ps_db_t *db, ps_arena_t *a, const ps_idem_key_t *k,
                      const ProtobufCMessage *response, ps_status_t *st);

/* Deletes up to limit keys that expired before now_us, of every tenant (maintenance: the only
 * statement that is not limited to one tenant; it reads the expiry index). 0 with *ret_deleted,
 * or -1 with st set. */
int ps_idem_purge(ps_db_t *db, int64_t now_us, unsigned limit, uint64_t *ret_deleted,
                  ps_status_t *st);

/* Stores the packed response of a claimed key, in the same transaction. 0 or -1 with st set. */
int ps_idem_store(ps_db_t *db, const ps_idem_key_t *k, const void *response, size_t len,
                  ps_status_t *st);

#endif
