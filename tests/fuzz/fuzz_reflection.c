/* fuzz_reflection: server reflection (server/reflection.h) with arbitrary bytes.
 *
 * Feeds: the input, as the bytes of one grpc.reflection.v1 ServerReflectionRequest, to
 * ps_reflection_answer.
 *
 * Asserts: it gives 0 with a response that unpacks as a ServerReflectionResponse, every string of
 * it valid UTF-8 (as decoders in other languages insist on), holding exactly one answer: the file
 * descriptors asked for (each unpacks as a FileDescriptorProto), the list of services, the
 * extension numbers of a type, or an error with a gRPC code and a message; or it gives -1 for bytes
 * that are not a request: protobuf-c cannot decode them, or ps_wire_check_strings refuses them (a
 * NUL byte or invalid UTF-8 in a string, a field number outside 1..2^29-1), as for every other
 * method. No crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/wire.h"
#include "fuzz.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "reflection.h"

#define RESPONSE_(kind) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##kind

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  FUZZ_CHECK(ps_reflection_init() == 0, "the embedded descriptor set cannot be read");
  atexit(ps_reflection_free);
  return 0;
}

static void check_answer(const Grpc__Reflection__V1__ServerReflectionResponse *r) {
  switch (r->message_response_case) {
  case RESPONSE_(FILE_DESCRIPTOR_RESPONSE): {
    const Grpc__Reflection__V1__FileDescriptorResponse *f = r->file_descriptor_response;
    FUZZ_CHECK(f && f->n_file_descriptor_proto > 0, "no file descriptor in the answer");
    for (size_t i = 0; i < f->n_file_descriptor_proto; i++) {
      Google__Protobuf__FileDescriptorProto *fd = google__protobuf__file_descriptor_proto__unpack(
          NULL, f->file_descriptor_proto[i].len, f->file_descriptor_proto[i].data);
      FUZZ_CHECK(fd != NULL && fd->name, "file %zu is not a FileDescriptorProto", i);
      google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
    }
    break;
  }
  case RESPONSE_(LIST_SERVICES_RESPONSE):
    FUZZ_CHECK(r->list_services_response && r->list_services_response->n_service > 0,
               "no services listed");
    break;
  case RESPONSE_(ALL_EXTENSION_NUMBERS_RESPONSE):
    FUZZ_CHECK(r->all_extension_numbers_response &&
                   r->all_extension_numbers_response->base_type_name,
               "no type named");
    break;
  case RESPONSE_(ERROR_RESPONSE):
    FUZZ_CHECK(r->error_response && r->error_response->error_code > 0 &&
                   r->error_response->error_code <= PS_UNAUTHENTICATED &&
                   r->error_response->error_message && r->error_response->error_message[0],
               "an error without a code or message");
    break;
  default:
    FUZZ_CHECK(0, "an answer of kind %d", (int)r->message_response_case);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *out = NULL;
  size_t out_len = 0;
  int rc = ps_reflection_answer(data, size, &out, &out_len);
  if (rc != 0) {
    FUZZ_CHECK(rc == -1 && out == NULL, "returned %d", rc);
    char path[64];
    if (ps_wire_check_strings(&grpc__reflection__v1__server_reflection_request__descriptor, data,
                              size, path, sizeof path) != PS_WIRE_OK)
      return 0;
    Grpc__Reflection__V1__ServerReflectionRequest *req =
        grpc__reflection__v1__server_reflection_request__unpack(NULL, size, data);
    FUZZ_CHECK(req == NULL, "a request that decodes was not answered");
    return 0;
  }
  FUZZ_CHECK(out != NULL, "no response");
  Grpc__Reflection__V1__ServerReflectionResponse *resp =
      grpc__reflection__v1__server_reflection_response__unpack(NULL, out_len, out);
  FUZZ_CHECK(resp != NULL, "the response does not unpack");
  FUZZ_CHECK(fuzz_strings_valid(&resp->base), "the response holds a string that is not UTF-8");
  check_answer(resp);
  grpc__reflection__v1__server_reflection_response__free_unpacked(resp, NULL);
  free(out);
  return 0;
}
