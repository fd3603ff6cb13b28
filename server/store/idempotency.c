/* Idempotency keys: the first write of a request id wins; retries get its stored response. */
#include "store/idempotency.h"

#include <mysqld_error.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

static ps_sql_t Q_INSERT = PS_SQL(
    "INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, request_sha256,"
    " response, create_time, expire_time) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)");
/* An expired key is taken over in place; the row lock makes concurrent takers queue. */
static ps_sql_t Q_TAKE_EXPIRED = PS_SQL(
    "UPDATE idempotency_keys SET method = ?, fingerprint = ?, request_sha256 = ?, response = NULL,"
    " create_time = ?, expire_time = ? WHERE tenant_id = ? AND request_id = ? AND expire_time <= ?");
static ps_sql_t Q_GET = PS_SQL(
    "SELECT method, fingerprint, request_sha256, response FROM idempotency_keys"
    " WHERE tenant_id = ? AND request_id = ? LOCK IN SHARE MODE");
/* The one statement that spans tenants: maintenance by the expiry index, in small batches. */
static ps_sql_t Q_PURGE = PS_SQL(
    "DELETE FROM idempotency_keys WHERE expire_time < ? ORDER BY expire_time LIMIT ?");
static ps_sql_t Q_STORE = PS_SQL(
    "UPDATE idempotency_keys SET response = ? WHERE tenant_id = ? AND request_id = ?");

/* A ProtobufCBuffer that hashes what is appended instead of keeping it. */
typedef struct hash_buffer {
  ProtobufCBuffer base; /* must be first */
  EVP_MD_CTX *sha;      /* SHA-256 so far */
  int failed;           /* a digest update failed */
  uint64_t h;           /* FNV-1a so far */
} hash_buffer_t;

static void hash_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
  hash_buffer_t *hb = (hash_buffer_t *)b;
  hb->h = ps_hash64(data, len, hb->h);
  if (EVP_DigestUpdate(hb->sha, data, len) != 1) hb->failed = 1;
}

int ps_idem_fingerprint(const ProtobufCMessage *req, unsigned char ret_sha256[32],
                        uint64_t *ret_fnv) {
  const ProtobufCMessageDescriptor *d = req->descriptor;
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, "request_id");
  hash_buffer_t hb = {{hash_append}, EVP_MD_CTX_new(), 0, PS_HASH_SEED};
  if (!hb.sha || EVP_DigestInit_ex(hb.sha, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(hb.sha);
    return -1;
  }
  if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED) {
    protobuf_c_message_pack_to_buffer(req, &hb.base);
  } else {
    /* a shallow copy with request_id = "" (an empty proto3 string is not packed) */
    ProtobufCMessage *copy = malloc(d->sizeof_message);
    if (!copy) {
      EVP_MD_CTX_free(hb.sha);
      return -1;
    }
    memcpy(copy, req, d->sizeof_message);
    *(const char **)((char *)copy + f->offset) = "";
    protobuf_c_message_pack_to_buffer(copy, &hb.base);
    free(copy);
  }
  unsigned int len = 0;
  int ok = !hb.failed && EVP_DigestFinal_ex(hb.sha, ret_sha256, &len) == 1 && len == 32;
  EVP_MD_CTX_free(hb.sha);
  if (!ok) return -1;
  *ret_fnv = hb.h;
  return 0;
}

int ps_idem_claim(ps_db_t *db, ps_arena_t *a, const ps_idem_key_t *k, int64_t now_us,
                  ps_blob_t *ret_response, ps_status_t *st) {
  int64_t expire_us = now_us + PS_IDEM_TTL_US;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, k->tenant);
  ps_param_str(&p, k->request_id);
  ps_param_str(&p, k->method);
  ps_param_u64(&p, k->fingerprint);
  ps_param_blob(&p, k->sha256, sizeof k->sha256);
  ps_param_time(&p, now_us);
  ps_param_time(&p, expire_us);
  if (ps_db_exec(db, &Q_INSERT, &p, st)) return 0; /* new id */
  if (ps_db_last_errno(db) != ER_DUP_ENTRY) return -1;
  ps_status_clear(st); /* the id exists: find out whose it is */

  ps_params_init(&p);
  ps_param_str(&p, k->method);
  ps_param_u64(&p, k->fingerprint);
  ps_param_blob(&p, k->sha256, sizeof k->sha256);
  ps_param_time(&p, now_us);
  ps_param_time(&p, expire_us);
  ps_param_str(&p, k->tenant);
  ps_param_str(&p, k->request_id);
  ps_param_time(&p, now_us);
  MYSQL_STMT *s = ps_db_exec(db, &Q_TAKE_EXPIRED, &p, st);
  if (!s) return -1;
  if (ps_db_affected(s) == 1) return 0; /* expired: the id starts afresh */

  ps_params_init(&p);
  ps_param_str(&p, k->tenant);
  ps_param_str(&p, k->request_id);
  if (!(s = ps_db_exec(db, &Q_GET, &p, st))) return -1;
  char *method = NULL;
  uint64_t fingerprint = 0;
  ps_blob_t sha = {NULL, 0}, response = {NULL, 0};
  int is_null_response;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_str(&r, &method);
  ps_col_u64(&r, &fingerprint);
  ps_col_blob(&r, &sha);
  ps_col_blob(&r, &response);
  int rc = ps_db_fetch(db, s, &r, a, st);
  if (rc < 0) return -1;
  is_null_response = rc == 1 && r.is_null[3];
  if (rc == 0 || is_null_response)
    /* purged between our statements, or written by a path that did not store its response */
    return ps_fail(st, PS_ABORTED, "", "The request id is being used concurrently; retry.");
  /* a key of the previous release has no SHA-256: its FNV-1a is all there is, for its last 24 h */
  int same = r.is_null[2] ? fingerprint == k->fingerprint
                          : sha.len == sizeof k->sha256 &&
                                CRYPTO_memcmp(sha.data, k->sha256, sizeof k->sha256) == 0;
  if (strcmp(method, k->method) != 0 || !same) {
    ps_fail(st, PS_ALREADY_EXISTS, "REQUEST_ID_REUSED",
            "The request_id was already used for a different request; use a new request_id.");
    return ps_status_meta(st, "request_id", k->request_id);
  }
  *ret_response = response;
  return 1;
}

int ps_idem_store(ps_db_t *db, const ps_idem_key_t *k, const void *response, size_t len,
                  ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_blob(&p, response, len);
  ps_param_str(&p, k->tenant);
  ps_param_str(&p, k->request_id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_STORE, &p, st);
  if (!s) return -1;
  if (ps_db_affected(s) != 1)
    return ps_fail(st, PS_INTERNAL, "", "Internal error storing the result of a request id.");
  return 0;
}

int ps_idem_key_init(ps_idem_key_t *k, const char *tenant, const char *request_id,
                     const char *method, const ProtobufCMessage *req) {
  k->tenant = tenant;
  k->request_id = request_id;
  k->method = method;
  return ps_idem_fingerprint(req, k->sha256, &k->fingerprint);
}

int ps_idem_store_msg(ps_db_t *db, ps_arena_t *a, const ps_idem_key_t *k,
                      const ProtobufCMessage *response, ps_status_t *st) {
  size_t n = protobuf_c_message_get_packed_size(response);
  unsigned char *buf = ps_arena_alloc(a, n ? n : 1);
  if (!buf)
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory storing the result of request_id.");
  n = protobuf_c_message_pack(response, buf);
  return ps_idem_store(db, k, buf, n, st);
}

int ps_idem_purge(ps_db_t *db, int64_t now_us, unsigned limit, uint64_t *ret_deleted,
                  ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_time(&p, now_us);
  ps_param_u64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_PURGE, &p, st);
  if (!s) return -1;
  *ret_deleted = ps_db_affected(s);
  return 0;
}
