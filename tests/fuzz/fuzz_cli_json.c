/* fuzz_cli_json: prospectctl's JSON reader (client/cli/json.c) and its JSON <-> protobuf
 * conversion (client/cli/pbjson.c), for every request and response type of the service.
 *
 * Feeds: byte 0 picks the message type (the requests and responses of ProspectService in turn);
 * byte 1 holds flags: bit 0 pretty-prints, bit 1 reads the rest as wire bytes instead of JSON.
 * JSON: the rest is the text for json_parse, then pbjson_to_message, then pbjson_from_message and
 * the same again on that output. Wire bytes (what the CLI prints are the server's replies): the
 * rest is unpacked by protobuf-c and printed with pbjson_from_message.
 *
 * Asserts: json_parse and pbjson_to_message give 0 with a value, or -1 with a message and the
 * output untouched; a message built from JSON packs and unpacks again; what pbjson_from_message
 * prints is valid UTF-8 and valid JSON (for wire bytes whose strings are valid UTF-8); printed JSON
 * reads back into the type, and from the first read-back on printing and reading are stable (the
 * same text again). No crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"
#include "pbjson.h"
#include "prospects/v1/service.pb-c.h"

/* The requests and responses of the service, in turn. */
static const ProtobufCMessageDescriptor *message_type(uint8_t b) {
  const ProtobufCServiceDescriptor *sd = &prospects__v1__prospect_service__descriptor;
  unsigned i = b % (2 * sd->n_methods);
  return i % 2 ? sd->methods[i / 2].output : sd->methods[i / 2].input;
}

/* Prints m; checks that the text is valid UTF-8 and JSON. The caller frees the text. */
static char *print_json(const ProtobufCMessage *m, int indent) {
  sbuf_t out = {0};
  pbjson_from_message(m, &out, indent);
  FUZZ_CHECK(!out.failed && out.buf != NULL, "printing failed");
  FUZZ_CHECK(ps_utf8_valid(out.buf, out.len), "printed JSON is not UTF-8: %s", out.buf);
  return out.buf;
}

/* Reads text as JSON into a message of type d; NULL (with the error checked) when it is refused. */
static ProtobufCMessage *read_json(const ProtobufCMessageDescriptor *d, const char *text,
                                   size_t len) {
  json_t *root = (json_t *)(uintptr_t)1;
  char err[256] = "";
  if (json_parse(text, len, &root, err, sizeof err) != 0) {
    FUZZ_CHECK(root == (json_t *)(uintptr_t)1, "json_parse set its output on failure");
    FUZZ_CHECK(err[0] != '\0', "json_parse failed without a message");
    return NULL;
  }
  ProtobufCMessage *m = (ProtobufCMessage *)(uintptr_t)1;
  int rc = pbjson_to_message(d, root, &m, err, sizeof err);
  json_free(root);
  if (rc != 0) {
    FUZZ_CHECK(rc == -1 && m == (ProtobufCMessage *)(uintptr_t)1, "failure set the output");
    FUZZ_CHECK(err[0] != '\0', "pbjson_to_message failed without a message");
    return NULL;
  }
  FUZZ_CHECK(m != NULL && m->descriptor == d, "not a %s", d->name);
  return m;
}

static void check_packs(const ProtobufCMessage *m) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  FUZZ_CHECK(buf != NULL, "out of memory");
  FUZZ_CHECK(protobuf_c_message_pack(m, buf) == n, "packed size differs");
  ProtobufCMessage *back = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
  FUZZ_CHECK(back != NULL, "a message built from JSON does not unpack");
  protobuf_c_message_free_unpacked(back, NULL);
  free(buf);
}

static void from_json(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size,
                      int indent) {
  char *in = malloc(size + 1); /* json_parse reads NUL-terminated text */
  FUZZ_CHECK(in != NULL, "out of memory");
  if (size) memcpy(in, data, size);
  in[size] = '\0';
  ProtobufCMessage *m = read_json(d, in, size);
  free(in);
  if (!m) return;
  check_packs(m);
  /* m prints as text, which reads back as m2; m2 may differ from m where the input was not in the
   * canonical form (a FieldMask path " a" or "a__b" prints as "a" or "aB"), but m2 is canonical:
   * it prints as text2, which reads back as m3, which prints as text2 again */
  char *text = print_json(m, indent);
  ProtobufCMessage *m2 = read_json(d, text, strlen(text));
  FUZZ_CHECK(m2 != NULL, "printed JSON does not read back: %s", text);
  char *text2 = print_json(m2, indent);
  ProtobufCMessage *m3 = read_json(d, text2, strlen(text2));
  FUZZ_CHECK(m3 != NULL, "printed JSON does not read back: %s", text2);
  char *text3 = print_json(m3, indent);
  FUZZ_CHECK(strcmp(text2, text3) == 0, "printed differently after reading back:\n%s\n%s", text2,
             text3);
  free(text3);
  protobuf_c_message_free_unpacked(m3, NULL);
  free(text2);
  protobuf_c_message_free_unpacked(m2, NULL);
  free(text);
  protobuf_c_message_free_unpacked(m, NULL);
}

static void from_wire(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size,
                      int indent) {
  ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size, data);
  if (!m) return;
  sbuf_t out = {0};
  pbjson_from_message(m, &out, indent);
  FUZZ_CHECK(!out.failed && out.buf != NULL, "printing failed");
  if (fuzz_strings_valid(m)) {
    FUZZ_CHECK(ps_utf8_valid(out.buf, out.len), "printed JSON is not UTF-8: %s", out.buf);
    json_t *root = NULL;
    char err[256];
    FUZZ_CHECK(json_parse(out.buf, out.len, &root, err, sizeof err) == 0,
               "printed text is not JSON (%s): %s", err, out.buf);
    json_free(root);
  }
  free(out.buf);
  protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const ProtobufCMessageDescriptor *d = message_type(data[0]);
  int indent = data[1] & 1 ? 2 : 0;
  if (data[1] & 2) from_wire(d, data + 2, size - 2, indent);
  else from_json(d, data + 2, size - 2, indent);
  return 0;
}
