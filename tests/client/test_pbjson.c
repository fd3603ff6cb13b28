/* Tests of prospectctl's JSON reader and JSON <-> protobuf-c converter (client/cli/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/field_mask.pb-c.h"
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

/* 1 when s (n bytes) is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF). */
static int utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t len;
    unsigned cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    i += len;
  }
  return 1;
}

/* m as compact JSON; checks that it is valid UTF-8 and that the JSON reader takes it back. */
static char *to_json_checked(const ProtobufCMessage *m) {
  sbuf_t out = {0};
  pbjson_from_message(m, &out, 0);
  CHECK(!out.failed);
  if (!out.buf) return NULL;
  if (!utf8_valid(out.buf, out.len)) {
    fprintf(stderr, "FAIL: invalid UTF-8 in the output: %s\n", out.buf);
    failures++;
  }
  json_t *v = NULL;
  char err[200];
  if (json_parse(out.buf, out.len, &v, err, sizeof err) < 0) {
    fprintf(stderr, "FAIL: the output does not read back (%s): %s\n", err, out.buf);
    failures++;
  }
  json_free(v);
  return out.buf;
}

/* Issue 10: FieldMask paths were cut at 255 bytes, sometimes inside a character, and the JSON was
 * then invalid UTF-8. Paths of any length come out whole, wherever their multi-byte characters sit. */
static void test_long_field_mask_paths(void) {
  const ProtobufCMessageDescriptor *upd = &prospects__v1__update_prospect_request__descriptor;
  /* "é" (2 bytes), "€" (3), "😀" (4) shifted across byte 255 one byte at a time */
  for (int shift = 0; shift < 8; shift++) {
    char path[1200];
    size_t n = 0;
    for (int i = 0; i < 250 + shift; i++) path[n++] = 'a';
    const char *tail = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "fieldTail";
    memcpy(path + n, tail, strlen(tail));
    n += strlen(tail);
    path[n] = '\0';
    char in[2600], want[2600];
    snprintf(in, sizeof in, "{\"updateMask\":\"%s,%s.postalCode\"}", path, path);
    snprintf(want, sizeof want, "{\"updateMask\":\"%s,%s.postalCode\"}", path, path);
    expect(upd, in, want);
  }
  /* a mask as the server could send it: long snake_case paths, many of them */
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  char *paths[40];
  char *expected = malloc(40 * 1100);
  CHECK(expected != NULL);
  if (!expected) return;
  size_t e = 0;
  expected[e++] = '"';
  for (int i = 0; i < 40; i++) {
    paths[i] = malloc(1100);
    CHECK(paths[i] != NULL);
    if (!paths[i]) {
      for (int k = 0; k < i; k++) free(paths[k]);
      free(expected);
      return;
    }
    size_t n = 0;
    for (int k = 0; k < 100; k++) n += (size_t)sprintf(paths[i] + n, "part_\xc3\xa9%d_", k % 10);
    paths[i][n - 1] = '\0'; /* the last "_" */
    if (i) expected[e++] = ',';
    for (size_t k = 0; k + 1 < n; k++) { /* camelCase of it, by hand: "_x" -> "X" */
      char c = paths[i][k];
      if (c == '_' && paths[i][k + 1] >= 'a' && paths[i][k + 1] <= 'z') {
        expected[e++] = (char)(paths[i][++k] - 'a' + 'A');
      } else if (c != '_') {
        expected[e++] = c;
      }
    }
  }
  expected[e++] = '"';
  expected[e] = '\0';
  mask.n_paths = 40;
  mask.paths = paths;
  char *got = to_json_checked(&mask.base);
  CHECK_STR(got, expected);
  CHECK(got && strlen(got) > 40 * 255);
  free(got);
  for (int i = 0; i < 40; i++) free(paths[i]);
  free(expected);
}

/* Strings that are not UTF-8 (protobuf-c does not check what it decodes) still give valid JSON:
 * each bad sequence becomes U+FFFD. */
static void test_invalid_utf8_output(void) {
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"ok \xc3\xa9", "{\"firstName\":\"ok \xc3\xa9\"}"},
      {"\xff", "{\"firstName\":\"\xef\xbf\xbd\"}"},
      {"cut \xc3", "{\"firstName\":\"cut \xef\xbf\xbd\"}"},
      {"\xe2\x82", "{\"firstName\":\"\xef\xbf\xbd\xef\xbf\xbd\"}"},
      {"\xed\xa0\x80x", "{\"firstName\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"}"}, /* a surrogate */
      {"\xc0\xaf", "{\"firstName\":\"\xef\xbf\xbd\xef\xbf\xbd\"}"},                       /* overlong "/" */
      {"\xf4\x90\x80\x80", "{\"firstName\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}"}, /* > U+10FFFF */
      {"tab\t\x7f", "{\"firstName\":\"tab\\t\\u007f\"}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
    p.first_name = (char *)cases[i].in;
    char *got = to_json_checked(&p.base);
    CHECK_STR(got, cases[i].want);
    free(got);
  }
  /* and in a FieldMask path */
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  char *paths[] = {"a_\xff_b"};
  mask.n_paths = 1;
  mask.paths = paths;
  char *got = to_json_checked(&mask.base);
  CHECK_STR(got, "\"a\xef\xbf\xbd" "B\""); /* the bad byte replaced, "_b" camel-cased as ever */
  free(got);
}

/* Error messages name the user's keys; a long one is cut to fit, never inside a character. */
static void test_long_key_errors(void) {
  const ProtobufCMessageDescriptor *create = &prospects__v1__create_prospect_request__descriptor;
  for (int shift = 0; shift < 3; shift++) {
    char text[1400];
    size_t n = 0;
    n += (size_t)sprintf(text + n, "{\"prospect\":{\"%.*s", shift, "xyz");
    for (int i = 0; i < 300; i++) n += (size_t)sprintf(text + n, "\xe2\x82\xac"); /* "€" */
    sprintf(text + n, "\":1}}");
    json_t *v = NULL;
    char err[300];
    CHECK(json_parse(text, strlen(text), &v, err, sizeof err) == 0);
    ProtobufCMessage *m = NULL;
    if (v) CHECK(pbjson_to_message(create, v, &m, err, sizeof err) < 0);
    json_free(v);
    const char *want = "prospect: prospects.v1.Prospect has no field \"";
    if (strncmp(err, want, strlen(want)) != 0) fprintf(stderr, "FAIL: error \"%s\"\n", err), failures++;
    if (!utf8_valid(err, strlen(err))) fprintf(stderr, "FAIL: error not UTF-8: %s\n", err), failures++;
  }
}

int main(void) {
  test_long_field_mask_paths();
  test_long_key_errors();
  test_invalid_utf8_output();

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
  expect(&prospects__v1__list_audit_events_response__descriptor,
         "{\"audit_events\":[{\"name\":\"tenants/t/auditEvents/e\",\"createTime\":\"2024-05-01T10:00:00Z\","
         "\"action\":\"UpdateTenantApps\",\"acting_user\":\"u\",\"resource\":\"tenants/t/apps\"}],"
         "\"nextPageToken\":\"tok\"}",
         "{\"auditEvents\":[{\"name\":\"tenants/t/auditEvents/e\",\"createTime\":\"2024-05-01T10:00:00Z\","
         "\"action\":\"UpdateTenantApps\",\"actingUser\":\"u\",\"resource\":\"tenants/t/apps\"}],"
         "\"nextPageToken\":\"tok\"}");
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
