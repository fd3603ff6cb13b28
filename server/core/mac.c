#include "core/mac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static unsigned char g_key[32];
static size_t g_key_len;

void ps_mac_set_key(const char *secret, const char *fallback, const char *purpose) {
  unsigned int len = 0;
  if (secret && *secret) {
    /* any length: HMAC hashes a long key itself; keep at most 32 bytes of its digest */
    EVP_Digest(secret, strlen(secret), g_key, &len, EVP_sha256(), NULL);
  } else {
    const char *f = fallback ? fallback : "";
    HMAC(EVP_sha256(), f, (int)strlen(f), (const unsigned char *)purpose, strlen(purpose), g_key,
         &len);
  }
  g_key_len = len;
}

static int tag(const void *data, size_t n, unsigned char out[32]) {
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), g_key, (int)g_key_len, data, n, out, &len) || len != 32) return -1;
  return 0;
}

int ps_mac_hex(const void *data, size_t n, char out[PS_MAC_HEX_LEN + 1]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char t[32];
  if (tag(data, n, t) != 0) return -1;
  for (int i = 0; i < PS_MAC_HEX_LEN / 2; i++) {
    out[2 * i] = hex[t[i] >> 4];
    out[2 * i + 1] = hex[t[i] & 15];
  }
  out[PS_MAC_HEX_LEN] = '\0';
  return 0;
}

int ps_mac_verify(const void *data, size_t n, const char *tag_hex) {
  char want[PS_MAC_HEX_LEN + 1];
  if (!tag_hex || strlen(tag_hex) != PS_MAC_HEX_LEN || ps_mac_hex(data, n, want) != 0) return 0;
  return CRYPTO_memcmp(want, tag_hex, PS_MAC_HEX_LEN) == 0;
}
