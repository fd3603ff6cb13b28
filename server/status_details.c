#include "status_details.h"

#include <stdlib.h>
#include <string.h>

#include "google/protobuf/duration.pb-c.h"
#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

int ps_status_retry_delay_ms(const ps_status_t *st) {
  switch (st->code) {
  case PS_UNAVAILABLE:
    return 1000;
  case PS_RESOURCE_EXHAUSTED:
    if (strcmp(st->reason, "TOO_MANY_WATCHERS") == 0) return 5000;
    if (strcmp(st->reason, "TOO_MANY_STREAMS") == 0) return 5000;
    if (strcmp(st->reason, "REQUEST_TOO_LARGE") == 0 ||
        strcmp(st->reason, "CALL_MEMORY_EXCEEDED") == 0)
      return -1;
    return 500;
  case PS_ABORTED:
    return st->reason[0] ? -1 : 100;
  default:
    return -1;
  }
}

static const char *meta_value(const ps_status_t *st, const char *key) {
  for (int i = 0; i < st->n_meta; i++)
    if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
  return NULL;
}

/* Packs msg into a fresh buffer held by any; -1 when out of memory. */
static int pack_any(Google__Protobuf__Any *any, const char *type_url, const ProtobufCMessage *msg) {
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return -1;
  protobuf_c_message_pack(msg, buf);
  any->type_url = (char *)type_url;
  any->value.data = buf;
  any->value.len = n;
  return 0;
}

int ps_status_details_pack(const ps_status_t *st, uint8_t **ret, size_t *ret_len) {
  *ret = NULL;
  *ret_len = 0;
  if (st->code == PS_OK) return 0;
  Google__Protobuf__Any anys[3];
  Google__Protobuf__Any *any_ptrs[3];
  size_t n_any = 0;
  int rc = -1;

  /* ErrorInfo */
  Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
  Google__Rpc__ErrorInfo__MetadataEntry entries[PS_STATUS_MAX_META];
  Google__Rpc__ErrorInfo__MetadataEntry *entry_ptrs[PS_STATUS_MAX_META];
  if (st->reason[0]) {
    info.reason = (char *)st->reason;
    info.domain = (char *)PS_ERROR_DOMAIN;
    for (int i = 0; i < st->n_meta; i++) {
      google__rpc__error_info__metadata_entry__init(&entries[i]);
      entries[i].key = (char *)st->meta[i].key;
      entries[i].value = (char *)st->meta[i].value;
      entry_ptrs[i] = &entries[i];
    }
    info.n_metadata = (size_t)st->n_meta;
    info.metadata = entry_ptrs;
    google__protobuf__any__init(&anys[n_any]);
    if (pack_any(&anys[n_any], "type.googleapis.com/google.rpc.ErrorInfo", &info.base) != 0)
      goto done;
    n_any++;
  }

  /* BadRequest */
  const char *field = st->code == PS_INVALID_ARGUMENT ? meta_value(st, "field") : NULL;
  if (field && field[0]) {
    Google__Rpc__BadRequest__FieldViolation v = GOOGLE__RPC__BAD_REQUEST__FIELD_VIOLATION__INIT;
    Google__Rpc__BadRequest__FieldViolation *vp = &v;
    Google__Rpc__BadRequest bad = GOOGLE__RPC__BAD_REQUEST__INIT;
    v.field = (char *)field;
    v.description = (char *)st->message;
    bad.n_field_violations = 1;
    bad.field_violations = &vp;
    google__protobuf__any__init(&anys[n_any]);
    if (pack_any(&anys[n_any], "type.googleapis.com/google.rpc.BadRequest", &bad.base) != 0)
      goto done;
    n_any++;
  }

  /* RetryInfo */
  int delay_ms = ps_status_retry_delay_ms(st);
  if (delay_ms >= 0) {
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    d.seconds = delay_ms / 1000;
    d.nanos = (delay_ms % 1000) * 1000000;
    Google__Rpc__RetryInfo retry = GOOGLE__RPC__RETRY_INFO__INIT;
    retry.retry_delay = &d;
    google__protobuf__any__init(&anys[n_any]);
    if (pack_any(&anys[n_any], "type.googleapis.com/google.rpc.RetryInfo", &retry.base) != 0)
      goto done;
    n_any++;
  }

  if (n_any == 0) {
    rc = 0;
    goto done;
  }
  Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
  status.code = (int32_t)st->code;
  status.message = (char *)st->message;
  for (size_t i = 0; i < n_any; i++) any_ptrs[i] = &anys[i];
  status.n_details = n_any;
  status.details = any_ptrs;
  size_t n = protobuf_c_message_get_packed_size(&status.base);
  uint8_t *out = malloc(n ? n : 1);
  if (!out) goto done;
  protobuf_c_message_pack(&status.base, out);
  *ret = out;
  *ret_len = n;
  rc = 0;
done:
  for (size_t i = 0; i < n_any; i++) free(anys[i].value.data);
  return rc;
}
