/* Tests of prospectctl's JSON reader and JSON <-> protobuf-c converter (client/cli/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "json.h"
#include "pbjson.h"
#include "prospects/client.h"

static int failures;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
      failures++;                                                        \
    }                                                                    \
  } while (0)
#define CHECK_STR(a, b)                                                                             \
  do {                                                                                              \
    const char *sa_ = (a), *sb_ = (b);                                                              \
    if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                                    \
      fprintf(stderr, "FAIL %s:%d: %s == %s:\n  \"%s\"\n  \"%s\"\n", __FILE__, __LINE__, #a, #b,   \
              sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                          \
      failures++;                                                                                   \
    }                                                                                               \
  } while (0)

/* JSON text -> message of d -> compact JSON; NULL (and the error in err) when it fails. */
static char *round_trip(const ProtobufCMessageDescriptor *d, const char *text, char *err, size_t errlen) {
  json_t *v = NULL;
  err[0] = '\0';
  if (json_parse(text, strlen(text), &v, err, errlen) < 0) return NULL;
  ProtobufCMessage *m = NULL;
  int rc = pbjson_to_message(d, v, &m, err, errlen);
  json_free(v);
  if (rc < 0) return NULL;
  /* through the wire format too: what the library sends is what was read */
  size_t len = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(len + 1);
  protobuf_c_message_pack(m, buf);
  protobuf_c_message_free_unpacked(m, NULL);
  ProtobufCMessage *back = protobuf_c_message_unpack(d, NULL, len, buf);
  free(buf);
  if (!back) return NULL;
  sbuf_t out = {0};
  pbjson_from_message(back, &out, 0);
  protobuf_c_message_free_unpacked(back, NULL);
  return out.buf;
}

static void expect(const ProtobufCMessageDescriptor *d, const char *in, const char *want) {
  char err[300];
  char *got = round_trip(d, in, err, sizeof err);
  if (!got) fprintf(stderr, "  (error: %s)\n", err);
  CHECK_STR(got, want);
  free(got);
}

static void expect_error(const ProtobufCMessageDescriptor *d, const char *in, const char *part) {
  char err[300];
  char *got = round_trip(d, in, err, sizeof err);
  CHECK(got == NULL);
  if (!strstr(err, part)) fprintf(stderr, "FAIL: error \"%s\" does not contain \"%s\" (input %s)\n", err, part, in), failures++;
  free(got);
}

int main(void) {
  const ProtobufCMessageDescriptor *create = &prospects__v1__create_prospect_request__descriptor;
  /* names: both accepted, lowerCamelCase out; defaults left out; enums by name or number */
  expect(create, "{\"parent\":\"tenants/t\",\"prospect\":{\"kind\":\"COMPANY\",\"company_name\":\"Acme\","
                 "\"address\":{\"postalCode\":\"1234 AB\"}},\"request_id\":\"\"}",
         "{\"parent\":\"tenants/t\",\"prospect\":{\"kind\":\"COMPANY\",\"companyName\":\"Acme\","
         "\"address\":{\"postalCode\":\"1234 AB\"}}}");
  expect(create, "{\"prospect\":{\"kind\":2,\"state\":0}}", "{\"prospect\":{\"kind\":\"COMPANY\"}}");
  expect(create, "{\"prospect\":null,\"parent\":null}", "{}");
  /* strings: escapes, \u with surrogate pairs, UTF-8 kept */
  expect(create, "{\"parent\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00 caf\xc3\xa9\"}",
         "{\"parent\":\"a\\\"b\\\\c\\n\xc3\xa9\xf0\x9f\x98\x80 caf\xc3\xa9\"}");
  /* timestamps: offsets normalised to Z, fractions in 3/6/9 digits */
  expect(create, "{\"prospect\":{\"createTime\":\"2024-05-01T12:00:00+02:00\"}}",
         "{\"prospect\":{\"createTime\":\"2024-05-01T10:00:00Z\"}}");
  expect(create, "{\"prospect\":{\"createTime\":\"2024-05-01T12:00:00.5Z\",\"updateTime\":\"1970-01-01T00:00:00.000001Z\"}}",
         "{\"prospect\":{\"createTime\":\"2024-05-01T12:00:00.500Z\",\"updateTime\":\"1970-01-01T00:00:00.000001Z\"}}");
  /* field masks: camel in and out, snake on the wire */
  const ProtobufCMessageDescriptor *upd = &prospects__v1__update_prospect_request__descriptor;
  expect(upd, "{\"updateMask\":\"displayName,address.postalCode\"}",
         "{\"updateMask\":\"displayName,address.postalCode\"}");
  {
    json_t *v;
    char err[200];
    ProtobufCMessage *m;
    const char *t = "{\"updateMask\":\"address.postalCode,email\"}";
    CHECK(json_parse(t, strlen(t), &v, err, sizeof err) == 0);
    CHECK(pbjson_to_message(upd, v, &m, err, sizeof err) == 0);
    Prospects__V1__UpdateProspectRequest *r = (Prospects__V1__UpdateProspectRequest *)m;
    CHECK(r->update_mask && r->update_mask->n_paths == 2);
    if (r->update_mask && r->update_mask->n_paths == 2) CHECK_STR(r->update_mask->paths[0], "address.postal_code");
    protobuf_c_message_free_unpacked(m, NULL);
    json_free(v);
  }
  /* repeated messages and strings */
  const ProtobufCMessageDescriptor *merge = &prospects__v1__merge_prospects_request__descriptor;
  expect(merge, "{\"sources\":[{\"name\":\"a\"},{\"name\":\"b\",\"etag\":\"e\"}],\"validateOnly\":true}",
         "{\"sources\":[{\"name\":\"a\"},{\"name\":\"b\",\"etag\":\"e\"}],\"validateOnly\":true}");
  expect(&prospects__v1__resolve_prospect_response__descriptor, "{\"mergedVia\":[\"x\",\"y\"]}",
         "{\"mergedVia\":[\"x\",\"y\"]}");
  /* oneof: the member is shown even when empty; two members are refused */
  const ProtobufCMessageDescriptor *intake = &prospects__v1__intake_quote_request_request__descriptor;
  expect(intake, "{\"existing\":\"\"}", "{\"existing\":\"\"}");
  expect_error(intake, "{\"existing\":\"x\",\"newProspect\":{}}", "only one of");
  /* integers: numbers or strings, range checked */
  const ProtobufCMessageDescriptor *list = &prospects__v1__list_prospects_request__descriptor;
  expect(list, "{\"pageSize\":\"50\"}", "{\"pageSize\":50}");
  expect(list, "{\"pageSize\":1e2}", "{\"pageSize\":100}");
  expect_error(list, "{\"pageSize\":2147483648}", "out of range");
  expect_error(list, "{\"pageSize\":1.5}", "expected an integer");
  /* bytes as base64 (standard and URL-safe, padding optional) */
  const ProtobufCMessageDescriptor *any = &google__protobuf__any__descriptor;
  expect(any, "{\"value\":\"AP8_-g\"}", "{\"value\":\"AP8/+g==\"}");
  expect_error(any, "{\"value\":\"A\"}", "base64");
  /* errors name the field */
  expect_error(create, "{\"prospect\":{\"adress\":{}}}", "prospect: prospects.v1.Prospect has no field \"adress\"");
  expect_error(create, "{\"prospect\":{\"kind\":\"ROBOT\"}}", "prospect.kind: unknown prospects.v1.PartyKind");
  expect_error(create, "{\"prospect\":{\"createTime\":\"2023-02-30T00:00:00Z\"}}", "RFC 3339");
  expect_error(create, "{\"prospect\":{\"email\":1}}", "prospect.email: expected a string");
  expect_error(create, "{\"parent\":\"a\",\"parent\":\"b\"}", "duplicate key");
  expect_error(create, "{\"request_id\":\"a\",\"requestId\":\"b\"}", "given twice");
  expect_error(merge, "{\"sources\":[{\"name\":\"a\"},{\"nam\":\"b\"}]}", "sources[1]");
  expect_error(create, "[]", "must be a JSON object");
  /* the reader itself */
  expect_error(create, "{\"parent\":\"\xff\"}", "invalid UTF-8");
  expect_error(create, "{\"parent\":\"\\ud800\"}", "surrogate");
  expect_error(create, "{\"parent\":\"\\u0000\"}", "\\u0000");
  expect_error(create, "{\"parent\":\"a\nb\"}", "control character");
  expect_error(create, "{} x", "trailing");
  expect_error(create, "{\"a\":01}", "expected ','");
  expect_error(create, "{\"a\":-}", "bad number");
  {
    char deep[512];
    size_t n = 0;
    for (int i = 0; i < 150; i++) deep[n++] = '[';
    deep[n] = '\0';
    json_t *v;
    char err[200];
    CHECK(json_parse(deep, n, &v, err, sizeof err) < 0 && strstr(err, "nested"));
  }
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
