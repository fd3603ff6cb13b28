/* Non-cryptographic hashing, for hash tables and jitter (and the legacy request fingerprint of
 * idempotency keys written before migration 20261201000002; their own is SHA-256). */
#ifndef PS_CORE_HASH_H
#define PS_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a of n bytes, continuing from seed (use PS_HASH_SEED to start). */
#define PS_HASH_SEED UINT64_C(0xcbf29ce484222325)
uint64_t ps_hash64(const void *data, size_t n, uint64_t seed);

#endif
