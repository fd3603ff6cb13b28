/* 64-bit FNV-1a (Fowler/Noll/Vo). Not cryptographic: a fingerprint that changes when its input
 * changes, cheap enough to run on every request. */
#include "core/hash.h"

#define FNV64_PRIME UINT64_C(0x100000001b3)

uint64_t ps_hash64(const void *data, size_t n, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t h = seed;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= FNV64_PRIME;
  }
  return h;
}
