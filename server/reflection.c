/* gRPC server reflection (grpc.reflection.v1 and v1alpha: the same wire format), answered from
 * the descriptor set embedded at build time (protoc --include_imports), so grpcurl and buf curl
 * can list, describe and call every method without proto files. */
#include "reflection.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"

extern const unsigned char ps_protoset[];
extern const unsigned long ps_protoset_len;

/* One file of the set: its name, its bytes inside ps_protoset and its imports. */
typedef struct file {
  char *name;
  const uint8_t *bytes;
  size_t len;
  size_t n_deps;
  int *deps; /* indexes into files */
} file_t;

/* A fully qualified symbol and the file that defines it. */
typedef struct symbol {
  char *name;
  int file;
} symbol_t;

static struct {
  file_t *files;
  size_t n_files;
  symbol_t *symbols;
  size_t n_symbols, cap_symbols;
  char **services;
  size_t n_services;
  int ready;
} R;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

/* ------------------------------------------------------------------ index */

static int add_symbol(const char *prefix, const char *name, int file) {
  if (R.n_symbols == R.cap_symbols) {
    size_t cap = R.cap_symbols ? R.cap_symbols * 2 : 256;
    symbol_t *s = realloc(R.symbols, cap * sizeof *s);
    if (!s) return -1;
    R.symbols = s;
    R.cap_symbols = cap;
  }
  size_t lp = strlen(prefix), ln = strlen(name);
  char *full = malloc(lp + ln + 2);
  if (!full) return -1;
  if (lp) {
    memcpy(full, prefix, lp);
    full[lp] = '.';
    memcpy(full + lp + 1, name, ln + 1);
  } else {
    memcpy(full, name, ln + 1);
  }
  R.symbols[R.n_symbols++] = (symbol_t){full, file};
  return 0;
}

/* An enum and its values: values are scoped as siblings of their enum (prospects.v1.COMPANY). */
static int add_enum(const char *prefix, const Google__Protobuf__EnumDescriptorProto *e, int file) {
  if (add_symbol(prefix, e->name, file)) return -1;
  for (size_t i = 0; i < e->n_value; i++)
    if (add_symbol(prefix, e->value[i]->name, file)) return -1;
  return 0;
}

static int add_message(const char *prefix, const Google__Protobuf__DescriptorProto *m, int file) {
  if (add_symbol(prefix, m->name, file)) return -1;
  const char *full = R.symbols[R.n_symbols - 1].name;
  for (size_t i = 0; i < m->n_nested_type; i++)
    if (add_message(full, m->nested_type[i], file)) return -1;
  for (size_t i = 0; i < m->n_enum_type; i++)
    if (add_enum(full, m->enum_type[i], file)) return -1;
  for (size_t i = 0; i < m->n_extension; i++)
    if (add_symbol(full, m->extension[i]->name, file)) return -1;
  for (size_t i = 0; i < m->n_field; i++) /* fields resolve too (grpcurl describe pkg.Msg.field) */
    if (add_symbol(full, m->field[i]->name, file)) return -1;
  return 0;
}

static int index_file(int fi, const Google__Protobuf__FileDescriptorProto *fd) {
  const char *pkg = fd->package ? fd->package : "";
  for (size_t i = 0; i < fd->n_message_type; i++)
    if (add_message(pkg, fd->message_type[i], fi)) return -1;
  for (size_t i = 0; i < fd->n_enum_type; i++)
    if (add_enum(pkg, fd->enum_type[i], fi)) return -1;
  for (size_t i = 0; i < fd->n_extension; i++)
    if (add_symbol(pkg, fd->extension[i]->name, fi)) return -1;
  for (size_t i = 0; i < fd->n_service; i++) {
    if (add_symbol(pkg, fd->service[i]->name, fi)) return -1;
    char *svc = R.symbols[R.n_symbols - 1].name;
    char **s = realloc(R.services, (R.n_services + 1) * sizeof *s);
    if (!s) return -1;
    R.services = s;
    R.services[R.n_services] = strdup(svc);
    if (!R.services[R.n_services]) return -1;
    R.n_services++;
    for (size_t m = 0; m < fd->service[i]->n_method; m++)
      if (add_symbol(svc, fd->service[i]->method[m]->name, fi)) return -1;
  }
  return 0;
}

static int find_file(const char *name) {
  for (size_t i = 0; i < R.n_files; i++)
    if (strcmp(R.files[i].name, name) == 0) return (int)i;
  return -1;
}

static int find_symbol(const char *name) {
  for (size_t i = 0; i < R.n_symbols; i++)
    if (strcmp(R.symbols[i].name, name) == 0) return R.symbols[i].file;
  return -1;
}

static void reset(void) {
  for (size_t i = 0; i < R.n_files; i++) {
    free(R.files[i].name);
    free(R.files[i].deps);
  }
  for (size_t i = 0; i < R.n_symbols; i++) free(R.symbols[i].name);
  for (size_t i = 0; i < R.n_services; i++) free(R.services[i]);
  free(R.files);
  free(R.symbols);
  free(R.services);
  memset(&R, 0, sizeof R);
}

static void build(void) {
  /* FileDescriptorSet { repeated FileDescriptorProto file = 1; }: walk it to keep each file's
   * original bytes, which is what reflection sends */
  const uint8_t *p = ps_protoset, *end = ps_protoset + ps_protoset_len;
  Google__Protobuf__FileDescriptorProto **fds = NULL;
  size_t n = 0;
  while (p < end) {
    uint64_t key, len;
    if (ps_wire_varint(&p, end, &key) || key != ((1 << 3) | 2) || ps_wire_varint(&p, end, &len) ||
        len > (uint64_t)(end - p))
      goto fail;
    file_t *files = realloc(R.files, (n + 1) * sizeof *files);
    Google__Protobuf__FileDescriptorProto **f2 = realloc(fds, (n + 1) * sizeof *f2);
    if (files) R.files = files;
    if (f2) fds = f2;
    if (!files || !f2) goto fail;
    fds[n] = google__protobuf__file_descriptor_proto__unpack(NULL, (size_t)len, p);
    if (!fds[n]) goto fail;
    R.files[n] = (file_t){strdup(fds[n]->name), p, (size_t)len, 0, NULL};
    n++;
    R.n_files = n;
    if (!R.files[n - 1].name) goto fail;
    p += len;
  }
  for (size_t i = 0; i < n; i++) {
    R.files[i].deps = calloc(fds[i]->n_dependency + 1, sizeof(int));
    if (!R.files[i].deps) goto fail;
    for (size_t d = 0; d < fds[i]->n_dependency; d++) {
      int di = find_file(fds[i]->dependency[d]);
      if (di >= 0) R.files[i].deps[R.files[i].n_deps++] = di;
    }
    if (index_file((int)i, fds[i])) goto fail;
  }
  for (size_t i = 0; i < n; i++) google__protobuf__file_descriptor_proto__free_unpacked(fds[i], NULL);
  free(fds);
  init_rc = 0;
  return;
fail:
  for (size_t i = 0; i < n; i++)
    if (fds[i]) google__protobuf__file_descriptor_proto__free_unpacked(fds[i], NULL);
  free(fds);
  reset();
  init_rc = -1;
}

int ps_reflection_init(void) {
  pthread_once(&once, build);
  return init_rc;
}

/* ------------------------------------------------------------------ answers */

/* Appends file fi and (depth first) everything it imports, each once. */
static void collect(int fi, int *seen, ProtobufCBinaryData *out, size_t *n) {
  if (seen[fi]) return;
  seen[fi] = 1;
  out[(*n)++] = (ProtobufCBinaryData){R.files[fi].len, (uint8_t *)R.files[fi].bytes};
  for (size_t d = 0; d < R.files[fi].n_deps; d++) collect(R.files[fi].deps[d], seen, out, n);
}

static int pack_response(Grpc__Reflection__V1__ServerReflectionResponse *resp, uint8_t **ret_buf,
                         size_t *ret_len) {
  size_t len = protobuf_c_message_get_packed_size(&resp->base);
  uint8_t *buf = malloc(len ? len : 1);
  if (!buf) return -1;
  protobuf_c_message_pack(&resp->base, buf);
  *ret_buf = buf;
  *ret_len = len;
  return 0;
}

int ps_reflection_answer(const uint8_t *req_bytes, size_t req_len, uint8_t **ret_buf,
                         size_t *ret_len) {
  if (ps_reflection_init() != 0) return -1;
  /* as for every method, a string with a NUL byte or invalid UTF-8, or a field number out of range,
   * is refused before decoding: the request is echoed in the answer (original_request), which
   * clients in other languages could not decode */
  char path[64];
  if (ps_wire_check_strings(&grpc__reflection__v1__server_reflection_request__descriptor, req_bytes,
                            req_len, path, sizeof path) != PS_WIRE_OK)
    return -1;
  Grpc__Reflection__V1__ServerReflectionRequest *req =
      grpc__reflection__v1__server_reflection_request__unpack(NULL, req_len, req_bytes);
  if (!req) return -1;

  Grpc__Reflection__V1__ServerReflectionResponse resp =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
  Grpc__Reflection__V1__FileDescriptorResponse fdr =
      GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
  Grpc__Reflection__V1__ListServiceResponse lsr = GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
  Grpc__Reflection__V1__ExtensionNumberResponse enr =
      GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
  Grpc__Reflection__V1__ErrorResponse err = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
  resp.valid_host = req->host;
  resp.original_request = req;

  int *seen = calloc(R.n_files + 1, sizeof *seen);
  ProtobufCBinaryData *blobs = calloc(R.n_files + 1, sizeof *blobs);
  Grpc__Reflection__V1__ServiceResponse *svcs = calloc(R.n_services + 1, sizeof *svcs);
  Grpc__Reflection__V1__ServiceResponse **svc_ptrs = calloc(R.n_services + 1, sizeof *svc_ptrs);
  int rc = -1;
  if (!seen || !blobs || !svcs || !svc_ptrs) goto out;

  int fi = -1;
  const char *missing = NULL;
  switch (req->message_request_case) {
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
    fi = find_file(req->file_by_filename);
    if (fi < 0) missing = "file not found";
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
    fi = find_symbol(req->file_containing_symbol);
    if (fi < 0) missing = "symbol not found";
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
    missing = "extension not found";
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
    if (find_symbol(req->all_extension_numbers_of_type) < 0) {
      missing = "type not found";
    } else { /* no extensions are defined */
      enr.base_type_name = req->all_extension_numbers_of_type;
      resp.message_response_case =
          GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
      resp.all_extension_numbers_response = &enr;
    }
    break;
  case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
    for (size_t i = 0; i < R.n_services; i++) {
      grpc__reflection__v1__service_response__init(&svcs[i]);
      svcs[i].name = R.services[i];
      svc_ptrs[i] = &svcs[i];
    }
    lsr.n_service = R.n_services;
    lsr.service = svc_ptrs;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
    resp.list_services_response = &lsr;
    break;
  default:
    err.error_code = 3; /* INVALID_ARGUMENT */
    err.error_message = (char *)"the request names no known reflection query";
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp.error_response = &err;
    break;
  }
  if (fi >= 0) {
    size_t n = 0;
    collect(fi, seen, blobs, &n);
    fdr.n_file_descriptor_proto = n;
    fdr.file_descriptor_proto = blobs;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
    resp.file_descriptor_response = &fdr;
  } else if (missing) {
    err.error_code = 5; /* NOT_FOUND */
    err.error_message = (char *)missing;
    resp.message_response_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
    resp.error_response = &err;
  }
  rc = pack_response(&resp, ret_buf, ret_len);
out:
  free(seen);
  free(blobs);
  free(svcs);
  free(svc_ptrs);
  grpc__reflection__v1__server_reflection_request__free_unpacked(req, NULL);
  return rc;
}

void ps_reflection_free(void) {
  if (init_rc == 0) reset();
}
