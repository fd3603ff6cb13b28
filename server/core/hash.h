/* Non-cryptographic hashing, for request fingerprints (idempotency) and cache keys. */
#ifndef PS_CORE_HASH_H
#define PS_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a of n bytes, continuing from seed (use PS_HASH_SEED to start). */
#define PS_HASH_SEED UINT64_C(0xcbf29ce484222325)
uint64_t ps_hash64(const void *data, size_t n, uint64_t seed);

#endif
