/* Page tokens sealed with HMAC-SHA256 (OpenSSL's libcrypto). */
#include "core/pagetoken.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define TOKEN_VERSION 1
#define MAC_LEN 16          /* bytes of the HMAC kept in a token (128 bits) */
#define KEY_MAX 256

static unsigned char g_key[KEY_MAX];
static size_t g_key_len;
static int g_key_set;

int ps_pagetoken_set_key(const char *key) {
  int dev = !key || !*key;
  const char *k = dev ? PS_PAGETOKEN_DEV_KEY : key;
  size_t n = strlen(k);
  if (n > KEY_MAX) {
    /* a long key is hashed down, as HMAC itself would do */
    unsigned int len = 0;
    EVP_Digest(k, n, g_key, &len, EVP_sha256(), NULL);
    g_key_len = len;
  } else {
    memcpy(g_key, k, n);
    g_key_len = n;
  }
  g_key_set = 1;
  return dev;
}

void ps_pagetoken_ctx_init(ps_pagetoken_ctx_t *c, const char *method) {
  c->len = 0;
  c->overflow = 0;
  ps_pagetoken_ctx_str(c, method);
}

static void ctx_put(ps_pagetoken_ctx_t *c, const void *p, size_t n) {
  if (c->overflow || n > sizeof c->buf - c->len) {
    c->overflow = 1;
    return;
  }
  memcpy(c->buf + c->len, p, n);
  c->len += n;
}

void ps_pagetoken_ctx_str(ps_pagetoken_ctx_t *c, const char *s) {
  if (!s) s = "";
  size_t n = strlen(s);
  unsigned char l[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                        (unsigned char)n};
  ctx_put(c, l, 4);
  ctx_put(c, s, n);
}

void ps_pagetoken_ctx_int(ps_pagetoken_ctx_t *c, int64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
  ctx_put(c, b, 8);
}

/* HMAC over version | len(context) | context | pos. */
static int seal(const ps_pagetoken_ctx_t *c, const unsigned char *pos, size_t n,
                unsigned char out[32]) {
  if (!g_key_set) ps_pagetoken_set_key(NULL);
  unsigned char head[5] = {TOKEN_VERSION, (unsigned char)(c->len >> 24), (unsigned char)(c->len >> 16),
                           (unsigned char)(c->len >> 8), (unsigned char)c->len};
  unsigned char buf[5 + sizeof c->buf + PS_PAGETOKEN_MAX_POS];
  memcpy(buf, head, 5);
  memcpy(buf + 5, c->buf, c->len);
  memcpy(buf + 5 + c->len, pos, n);
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), g_key, (int)g_key_len, buf, 5 + c->len + n, out, &len) || len != 32)
    return -1;
  return 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64val(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '-') return 62;
  if (ch == '_') return 63;
  return -1;
}

char *ps_pagetoken_make(ps_arena_t *a, const ps_pagetoken_ctx_t *c, const void *pos, size_t n) {
  if (c->overflow || n > PS_PAGETOKEN_MAX_POS) return NULL;
  unsigned char raw[1 + PS_PAGETOKEN_MAX_POS + MAC_LEN], mac[32];
  if (seal(c, pos, n, mac) != 0) return NULL;
  size_t rn = 0;
  raw[rn++] = TOKEN_VERSION;
  if (n) memcpy(raw + rn, pos, n);
  rn += n;
  memcpy(raw + rn, mac, MAC_LEN);
  rn += MAC_LEN;
  char *out = ps_arena_alloc(a, (rn + 2) / 3 * 4 + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < rn; i += 3) {
    unsigned v = (unsigned)raw[i] << 16;
    if (i + 1 < rn) v |= (unsigned)raw[i + 1] << 8;
    if (i + 2 < rn) v |= raw[i + 2];
    out[o++] = B64[(v >> 18) & 63];
    out[o++] = B64[(v >> 12) & 63];
    if (i + 1 < rn) out[o++] = B64[(v >> 6) & 63];
    if (i + 2 < rn) out[o++] = B64[v & 63];
  }
  out[o] = '\0';
  return out;
}

int ps_pagetoken_open(const char *token, const ps_pagetoken_ctx_t *c,
                      unsigned char ret_pos[PS_PAGETOKEN_MAX_POS], size_t *ret_n) {
  if (!token || c->overflow) return -1;
  size_t tn = strlen(token);
  if (tn % 4 == 1 || tn > ((1 + PS_PAGETOKEN_MAX_POS + MAC_LEN) + 2) / 3 * 4) return -1;
  unsigned char raw[1 + PS_PAGETOKEN_MAX_POS + MAC_LEN + 3];
  size_t rn = 0;
  unsigned v = 0;
  int bits = 0;
  for (size_t i = 0; i < tn; i++) {
    int d = b64val((unsigned char)token[i]);
    if (d < 0) return -1;
    v = (v << 6) | (unsigned)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      raw[rn++] = (unsigned char)(v >> bits);
      v &= (1u << bits) - 1;
    }
  }
  if (v != 0) return -1; /* non-canonical trailing bits */
  if (rn < 1 + MAC_LEN || raw[0] != TOKEN_VERSION) return -1;
  size_t n = rn - 1 - MAC_LEN;
  if (n > PS_PAGETOKEN_MAX_POS) return -1;
  unsigned char mac[32];
  if (seal(c, raw + 1, n, mac) != 0) return -1;
  if (CRYPTO_memcmp(mac, raw + 1 + n, MAC_LEN) != 0) return -1;
  if (n) memcpy(ret_pos, raw + 1, n);
  *ret_n = n;
  return 0;
}
