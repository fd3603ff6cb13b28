/* Message authentication for values this service stores outside its database (the apps cache in
 * Redis): HMAC-SHA256 under a process-wide key, truncated to 128 bits and written as 32 hex digits.
 * A value whose tag does not verify was not written by a replica holding the key, and is treated as
 * garbage. Set the key once at start-up (before serving); the rest is thread-safe. Pure otherwise. */
#ifndef PS_CORE_MAC_H
#define PS_CORE_MAC_H

#include <stddef.h>

#define PS_MAC_HEX_LEN 32

/* Sets the key: secret itself, or when it is "" or NULL, a key derived from fallback (another
 * secret shared by the replicas) with HMAC-SHA256(fallback, purpose), so that one secret never
 * serves two purposes with the same bytes. */
void ps_mac_set_key(const char *secret, const char *fallback, const char *purpose);

/* The tag of the n bytes of data, NUL-terminated in out. 0, or -1 on a library failure. */
int ps_mac_hex(const void *data, size_t n, char out[PS_MAC_HEX_LEN + 1]);

/* 1 when tag (any string) is the tag of data, compared in constant time; else 0. */
int ps_mac_verify(const void *data, size_t n, const char *tag);

#endif
