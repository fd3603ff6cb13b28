/* core/wire.c: string fields with NUL bytes or bad UTF-8 are found by path before protobuf-c
 * decodes (and silently truncates) them; under rules (ps_wire_check with ps_wire_rules_t), repeated
 * fields and unknown fields are counted against their caps, per message, before anything is
 * allocated, and a singular message given twice is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/wire.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "prospects/v1/service.pb-c.h"

/* Appends a length-delimited field. */
static size_t ld(uint8_t *out, size_t at, unsigned field, const void *v, size_t n) {
  out[at++] = (uint8_t)(field << 3 | 2);
  out[at++] = (uint8_t)n; /* the tests keep n < 128 */
  memcpy(out + at, v, n);
  return at + n;
}

static ps_wire_problem_t check(const uint8_t *b, size_t n, char *path) {
  return ps_wire_check_strings(&prospects__v1__create_prospect_request__descriptor, b, n, path, 64);
}

static void test_clean_request_passes(void **state) {
  (void)state;
  uint8_t addr[32], pros[64], req[128];
  char path[64];
  size_t na = ld(addr, 0, 3, "Zürich", strlen("Zürich"));
  size_t np = ld(pros, 0, 4, "Ada", 3);
  np = ld(pros, np, 11, addr, na);
  size_t nr = ld(req, 0, 1, "tenants/acme", 12);
  nr = ld(req, nr, 2, pros, np);
  nr = ld(req, nr, 3, "r-1", 3);
  assert_int_equal(check(req, nr, path), PS_WIRE_OK);
  assert_string_equal(path, "");
}

static void test_nul_in_top_level_string(void **state) {
  (void)state;
  uint8_t req[64];
  char path[64];
  size_t nr = ld(req, 0, 1, "tenants/a\0b", 11);
  assert_int_equal(check(req, nr, path), PS_WIRE_NUL);
  assert_string_equal(path, "parent");
}

static void test_nul_in_nested_string_names_the_path(void **state) {
  (void)state;
  uint8_t addr[32], pros[64], req[128];
  char path[64];
  size_t na = ld(addr, 0, 3, "Ams\0terdam", 10);
  size_t np = ld(pros, 0, 4, "Ada", 3);
  np = ld(pros, np, 11, addr, na);
  size_t nr = ld(req, 0, 1, "tenants/acme", 12);
  nr = ld(req, nr, 2, pros, np);
  assert_int_equal(check(req, nr, path), PS_WIRE_NUL);
  assert_string_equal(path, "prospect.address.city");
}

static void test_bad_utf8(void **state) {
  (void)state;
  uint8_t pros[32], req[64];
  char path[64];
  const char bad[] = {'A', (char)0xc3, 'x'}; /* a lead byte without its continuation */
  size_t np = ld(pros, 0, 8, bad, sizeof bad);
  size_t nr = ld(req, 0, 2, pros, np);
  assert_int_equal(check(req, nr, path), PS_WIRE_BAD_UTF8);
  assert_string_equal(path, "prospect.email");
}

static void test_bytes_after_a_nested_message_keep_the_right_path(void **state) {
  (void)state;
  uint8_t pros[32], req[64];
  char path[64];
  size_t np = ld(pros, 0, 4, "Ada", 3);
  size_t nr = ld(req, 0, 2, pros, np);
  nr = ld(req, nr, 3, "r\0", 2); /* request_id after the prospect */
  assert_int_equal(check(req, nr, path), PS_WIRE_NUL);
  assert_string_equal(path, "request_id");
}

static void test_malformed_and_unknown_fields(void **state) {
  (void)state;
  char path[64];
  const uint8_t truncated[] = {0x0a, 0x05, 'a'};
  assert_int_equal(check(truncated, sizeof truncated, path), PS_WIRE_MALFORMED);
  const uint8_t group[] = {0x0b};
  assert_int_equal(check(group, sizeof group, path), PS_WIRE_MALFORMED);
  /* unknown field 99 holding a NUL is not ours to judge */
  const uint8_t unknown[] = {0x9a, 0x06, 0x02, 'a', 0x00, 0x08, 0x01};
  assert_int_equal(check(unknown, sizeof unknown, path), PS_WIRE_OK);
}

static void test_length_past_the_end_is_malformed(void **state) {
  (void)state;
  const uint8_t past_end[] = {0x12, 0x7f, 0x22, 0x01};
  char path[64];
  assert_int_equal(check(past_end, sizeof past_end, path), PS_WIRE_MALFORMED);
}

/* ------------------------------------------------------------------ under rules */

/* Appends a varint. */
static size_t put_varint(uint8_t *out, size_t at, uint64_t v) {
  do {
    out[at++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return at;
}

/* Appends a length-delimited field of any length. */
static size_t ldv(uint8_t *out, size_t at, unsigned field, const void *v, size_t n) {
  at = put_varint(out, at, (uint64_t)field << 3 | 2);
  at = put_varint(out, at, n);
  memcpy(out + at, v, n);
  return at + n;
}

/* Appends a varint field. */
static size_t vfield(uint8_t *out, size_t at, unsigned field, uint64_t v) {
  return put_varint(out, put_varint(out, at, (uint64_t)field << 3), v);
}

/* A MergeProspectsRequest with n sources (each a MergeSource with a name). */
static size_t merge_request(uint8_t *out, size_t n_sources) {
  uint8_t src[64];
  size_t ns = ld(src, 0, 1, "tenants/acme/prospects/x", 24);
  size_t at = ld(out, 0, 1, "tenants/acme/prospects/t", 24);
  for (size_t i = 0; i < n_sources; i++) at = ld(out, at, 3, src, ns);
  return ld(out, at, 6, "req-1", 5);
}

#define MERGE (&prospects__v1__merge_prospects_request__descriptor)
#define MASK (&google__protobuf__field_mask__descriptor)
#define CANDIDATE (&prospects__v1__duplicate_candidate__descriptor)

/* Asserts the cap that was hit, printing both sides. */
static void assert_hit(const ps_wire_limit_t *got, const ProtobufCMessageDescriptor *message,
                       unsigned field, size_t max, const char *reason) {
  assert_ptr_equal(got->message, message);
  assert_int_equal(got->field, field);
  assert_int_equal(got->max, max);
  if (reason)
    assert_string_equal(got->reason ? got->reason : "(NULL)", reason);
  else
    assert_null(got->reason);
}

static void test_cap_of_a_particular_field_and_its_reason(void **state) {
  (void)state;
  static const ps_wire_limit_t limits[] = {
      {&google__protobuf__field_mask__descriptor, 1, 1, NULL}, /* another message's field */
      {&prospects__v1__merge_prospects_request__descriptor, 3, 10, "TOO_MANY_SOURCES"},
  };
  const ps_wire_rules_t rules = {limits, 2, 0, 0, 0};
  uint8_t req[1024];
  char path[64];
  ps_wire_limit_t hit = {NULL, 0, 0, NULL};
  size_t n = merge_request(req, 10);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  assert_string_equal(path, "");
  n = merge_request(req, 11);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, &hit), PS_WIRE_TOO_MANY);
  assert_string_equal(path, "sources"); /* not "sources.sources": each source was walked into */
  assert_hit(&hit, MERGE, 3, 10, "TOO_MANY_SOURCES");
  /* the same bytes without rules: only strings are checked */
  assert_int_equal(ps_wire_check_strings(MERGE, req, n, path, sizeof path), PS_WIRE_OK);
  assert_int_equal(ps_wire_check(MERGE, req, n, NULL, path, sizeof path, &hit), PS_WIRE_OK);
}

static void test_default_cap_for_every_other_repeated_field(void **state) {
  (void)state;
  static const ps_wire_limit_t mask_only[] = {
      {&google__protobuf__field_mask__descriptor, 1, 32, "X"}};
  ps_wire_rules_t rules = {mask_only, 1, 4, 0, 0};
  uint8_t req[8192];
  char path[64];
  ps_wire_limit_t hit = {NULL, 0, 0, NULL};
  size_t n = merge_request(req, 4);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  n = merge_request(req, 5);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, &hit), PS_WIRE_TOO_MANY);
  assert_string_equal(path, "sources");
  assert_hit(&hit, MERGE, 3, 4, NULL); /* the default cap has no reason of its own */
  /* a particular cap wins over the default, also when it is larger */
  static const ps_wire_limit_t sources10[] = {
      {&prospects__v1__merge_prospects_request__descriptor, 3, 10, "S"}};
  const ps_wire_rules_t larger = {sources10, 1, 4, 0, 0};
  n = merge_request(req, 10);
  assert_int_equal(ps_wire_check(MERGE, req, n, &larger, path, sizeof path, &hit), PS_WIRE_OK);
  /* default 0: no cap at all */
  rules.default_max_repeated = 0;
  n = merge_request(req, 200);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
}

/* A hand-made message of packed repeated fixed-width and zigzag scalars (none in our protos). */
static const ProtobufCFieldDescriptor scalar_fields[] = {
    {.name = "f32",
     .id = 1,
     .label = PROTOBUF_C_LABEL_REPEATED,
     .type = PROTOBUF_C_TYPE_FIXED32,
     .flags = PROTOBUF_C_FIELD_FLAG_PACKED},
    {.name = "f64",
     .id = 2,
     .label = PROTOBUF_C_LABEL_REPEATED,
     .type = PROTOBUF_C_TYPE_FIXED64,
     .flags = PROTOBUF_C_FIELD_FLAG_PACKED},
    {.name = "flt",
     .id = 3,
     .label = PROTOBUF_C_LABEL_REPEATED,
     .type = PROTOBUF_C_TYPE_FLOAT,
     .flags = PROTOBUF_C_FIELD_FLAG_PACKED},
    {.name = "dbl",
     .id = 4,
     .label = PROTOBUF_C_LABEL_REPEATED,
     .type = PROTOBUF_C_TYPE_DOUBLE,
     .flags = PROTOBUF_C_FIELD_FLAG_PACKED},
    {.name = "s64",
     .id = 5,
     .label = PROTOBUF_C_LABEL_REPEATED,
     .type = PROTOBUF_C_TYPE_SINT64,
     .flags = PROTOBUF_C_FIELD_FLAG_PACKED},
};
static const ProtobufCMessageDescriptor scalars = {.magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                                   .name = "test.Scalars",
                                                   .short_name = "Scalars",
                                                   .c_name = "Test__Scalars",
                                                   .package_name = "test",
                                                   .n_fields = 5,
                                                   .fields = scalar_fields};

static void test_packed_scalars_are_counted_by_element(void **state) {
  (void)state;
  static const ps_wire_limit_t limits[] = {
      {&prospects__v1__duplicate_candidate__descriptor, 2, 5, "R"}};
  const ps_wire_rules_t rules = {limits, 1, 3, 0, 0};
  uint8_t msg[256];
  char path[64];
  ps_wire_limit_t hit;
  /* DuplicateCandidate.reasons is a packed enum: 5 values in 8 bytes (128 and 65535 take more) */
  const uint8_t five[] = {1, 0x80, 0x01, 2, 0xff, 0xff, 0x03, 4};
  size_t n = ldv(msg, 0, 2, five, sizeof five);
  assert_int_equal(ps_wire_check(CANDIDATE, msg, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  const uint8_t six[] = {1, 0x80, 0x01, 2, 0xff, 0xff, 0x03, 4, 0};
  n = ldv(msg, 0, 2, six, sizeof six);
  assert_int_equal(ps_wire_check(CANDIDATE, msg, n, &rules, path, sizeof path, &hit),
                   PS_WIRE_TOO_MANY);
  assert_string_equal(path, "reasons");
  assert_hit(&hit, CANDIDATE, 2, 5, "R");
  /* packed runs and single values add up */
  const uint8_t three[] = {1, 2, 3};
  n = ldv(msg, 0, 2, three, sizeof three);
  n = vfield(msg, n, 2, 4);
  n = vfield(msg, n, 2, 300);
  assert_int_equal(ps_wire_check(CANDIDATE, msg, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  n = vfield(msg, n, 2, 1);
  assert_int_equal(ps_wire_check(CANDIDATE, msg, n, &rules, path, sizeof path, &hit),
                   PS_WIRE_TOO_MANY);
  n = ldv(msg, 0, 2, three, sizeof three);
  n = ldv(msg, n, 2, three, sizeof three);
  assert_int_equal(ps_wire_check(CANDIDATE, msg, n, &rules, path, sizeof path, &hit),
                   PS_WIRE_TOO_MANY);

  /* fixed-width values: 4 or 8 bytes each (default cap 3) */
  uint8_t zeros[64] = {0};
  const struct {
    unsigned field;
    size_t width;
    const char *name;
  } widths[] = {{1, 4, "f32"}, {2, 8, "f64"}, {3, 4, "flt"}, {4, 8, "dbl"}};
  for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
    n = ldv(msg, 0, widths[i].field, zeros, 3 * widths[i].width);
    assert_int_equal(ps_wire_check(&scalars, msg, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
    n = ldv(msg, 0, widths[i].field, zeros, 4 * widths[i].width);
    assert_int_equal(ps_wire_check(&scalars, msg, n, &rules, path, sizeof path, &hit),
                     PS_WIRE_TOO_MANY);
    assert_string_equal(path, widths[i].name);
    assert_hit(&hit, &scalars, widths[i].field, 3, NULL);
  }
  /* zigzag varints: by element, not by byte */
  const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x81, 0x01, 0x02};
  n = ldv(msg, 0, 5, big, sizeof big);
  assert_int_equal(ps_wire_check(&scalars, msg, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  n = ldv(msg, 0, 5, three, sizeof three);
  n = vfield(msg, n, 5, 7);
  assert_int_equal(ps_wire_check(&scalars, msg, n, &rules, path, sizeof path, &hit),
                   PS_WIRE_TOO_MANY);
  assert_string_equal(path, "s64");
}

static void test_unknown_fields_are_capped_in_the_whole_request(void **state) {
  (void)state;
  ps_wire_rules_t rules = {NULL, 0, 0, 3, 0};
  uint8_t req[8192], pros[64];
  char path[64];
  size_t n = 0;
  for (int i = 0; i < 3; i++) n = vfield(req, n, 99 + i, 1);
  assert_int_equal(ps_wire_check(&prospects__v1__create_prospect_request__descriptor, req, n,
                                 &rules, path, sizeof path, NULL),
                   PS_WIRE_OK);
  n = ldv(req, n, 98, "x", 1);
  assert_int_equal(ps_wire_check(&prospects__v1__create_prospect_request__descriptor, req, n,
                                 &rules, path, sizeof path, NULL),
                   PS_WIRE_TOO_MANY_UNKNOWN);
  /* two at the root and two inside the prospect are four in the request */
  size_t np = vfield(pros, 0, 90, 1);
  np = ld(pros, np, 4, "Ada", 3);
  np = vfield(pros, np, 91, 1);
  n = vfield(req, 0, 99, 1);
  n = ld(req, n, 2, pros, np);
  n = vfield(req, n, 100, 1);
  assert_int_equal(ps_wire_check(&prospects__v1__create_prospect_request__descriptor, req, n,
                                 &rules, path, sizeof path, NULL),
                   PS_WIRE_TOO_MANY_UNKNOWN);
  rules.max_unknown = 4;
  assert_int_equal(ps_wire_check(&prospects__v1__create_prospect_request__descriptor, req, n,
                                 &rules, path, sizeof path, NULL),
                   PS_WIRE_OK);
  /* 0: none at all */
  rules.max_unknown = 0;
  n = vfield(req, 0, 99, 1);
  assert_int_equal(ps_wire_check(&prospects__v1__create_prospect_request__descriptor, req, n,
                                 &rules, path, sizeof path, NULL),
                   PS_WIRE_TOO_MANY_UNKNOWN);
  /* unknown_unlimited: not counted at all */
  rules.unknown_unlimited = 1;
  n = 0;
  for (int i = 0; i < 1000; i++) n = vfield(req, n, 99, (uint64_t)i);
  assert_int_equal(ps_wire_check(&prospects__v1__create_prospect_request__descriptor, req, n,
                                 &rules, path, sizeof path, NULL),
                   PS_WIRE_OK);
  /* still strings are checked under rules */
  n = ld(req, n, 1, "a\0b", 3);
  assert_int_equal(ps_wire_check(&prospects__v1__create_prospect_request__descriptor, req, n,
                                 &rules, path, sizeof path, NULL),
                   PS_WIRE_NUL);
  assert_string_equal(path, "parent");
}

/* The count of a repeated field is per message: two candidates of 3 reasons each pass a cap of 3.
 */
static void test_caps_count_per_message_instance(void **state) {
  (void)state;
  static const ps_wire_limit_t limits[] = {
      {&prospects__v1__duplicate_candidate__descriptor, 2, 3, NULL}};
  const ps_wire_rules_t rules = {limits, 1, 0, 0, 0};
  const ProtobufCMessageDescriptor *d =
      &prospects__v1__find_duplicate_prospects_response__descriptor;
  uint8_t c3[32], c4[32], msg[128];
  char path[64];
  ps_wire_limit_t hit;
  const uint8_t three[] = {1, 2, 3}, four[] = {1, 2, 3, 4};
  size_t n3 = ldv(c3, 0, 2, three, sizeof three), n4 = ldv(c4, 0, 2, four, sizeof four);
  size_t n = ldv(msg, 0, 1, c3, n3);
  n = ldv(msg, n, 1, c3, n3);
  n = ldv(msg, n, 1, c3, n3);
  assert_int_equal(ps_wire_check(d, msg, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  n = ldv(msg, n, 1, c4, n4);
  assert_int_equal(ps_wire_check(d, msg, n, &rules, path, sizeof path, &hit), PS_WIRE_TOO_MANY);
  assert_string_equal(path, "duplicates.reasons");
  assert_hit(&hit, CANDIDATE, 2, 3, NULL);
}

/* The path names the capped field under its parents, and is cut to pathsz. */
static void test_path_of_a_nested_cap(void **state) {
  (void)state;
  static const ps_wire_limit_t limits[] = {{&google__protobuf__field_mask__descriptor, 1, 2, NULL}};
  const ps_wire_rules_t rules = {limits, 1, 0, 0, 0};
  const ProtobufCMessageDescriptor *d = &prospects__v1__update_prospect_request__descriptor;
  uint8_t pros[64], mask[64], req[256];
  char path[64];
  ps_wire_limit_t hit;
  size_t np = ld(pros, 0, 1, "tenants/acme/prospects/x", 24);
  np = ld(pros, np, 8, "a@b.nl", 6);
  size_t nm = ld(mask, 0, 1, "email", 5);
  nm = ld(mask, nm, 1, "phone", 5);
  size_t n = ld(req, 0, 1, pros, np); /* a sub-message walked before the mask */
  size_t n_ok = ld(req, n, 2, mask, nm);
  assert_int_equal(ps_wire_check(d, req, n_ok, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  nm = ld(mask, nm, 1, "notes", 5);
  n = ld(req, n, 2, mask, nm);
  assert_int_equal(ps_wire_check(d, req, n, &rules, path, sizeof path, &hit), PS_WIRE_TOO_MANY);
  assert_string_equal(path, "update_mask.paths");
  assert_hit(&hit, MASK, 1, 2, NULL);
  /* ret_hit may be NULL; a short path buffer holds the start of the path */
  char small[8];
  assert_int_equal(ps_wire_check(d, req, n, &rules, small, sizeof small, NULL), PS_WIRE_TOO_MANY);
  assert_string_equal(small, "update_");
}

/* ret_hit is written for PS_WIRE_TOO_MANY only. */
static void test_ret_hit_only_for_too_many(void **state) {
  (void)state;
  static const ps_wire_limit_t limits[] = {
      {&prospects__v1__merge_prospects_request__descriptor, 3, 1, "S"}};
  const ps_wire_rules_t rules = {limits, 1, 0, 0, 0};
  uint8_t req[256];
  char path[64];
  ps_wire_limit_t hit = {&scalars, 77, 77, "untouched"};
  size_t n = merge_request(req, 1);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, &hit), PS_WIRE_OK);
  assert_hit(&hit, &scalars, 77, 77, "untouched");
  n = ld(req, n, 7, "a\0", 2);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, &hit), PS_WIRE_NUL);
  assert_string_equal(path, "acting_user");
  assert_hit(&hit, &scalars, 77, 77, "untouched");
}

/* protobuf-c merges the copies of a singular message field, adding up their repeated fields: under
 * rules a second copy is malformed; without rules (strings only) it is not this walk's business. */
static void test_singular_message_twice(void **state) {
  (void)state;
  const ps_wire_rules_t rules = {NULL, 0, 0, 0, 0};
  const ProtobufCMessageDescriptor *create = &prospects__v1__create_prospect_request__descriptor;
  uint8_t pros[64], req[512];
  char path[64];
  size_t np = ld(pros, 0, 4, "Ada", 3);
  size_t n = ld(req, 0, 1, "tenants/acme", 12);
  n = ld(req, n, 2, pros, np);
  assert_int_equal(ps_wire_check(create, req, n, &rules, path, sizeof path, NULL), PS_WIRE_OK);
  n = ld(req, n, 2, pros, np);
  assert_int_equal(ps_wire_check(create, req, n, &rules, path, sizeof path, NULL),
                   PS_WIRE_MALFORMED);
  assert_int_equal(ps_wire_check_strings(create, req, n, path, sizeof path), PS_WIRE_OK);
  assert_int_equal(ps_wire_check(create, req, n, NULL, path, sizeof path, NULL), PS_WIRE_OK);
  /* deeper down too: prospect.address twice */
  uint8_t addr[32];
  size_t na = ld(addr, 0, 3, "Delft", 5);
  np = ld(pros, 0, 11, addr, na);
  size_t np2 = ld(pros, np, 11, addr, na);
  n = ld(req, 0, 2, pros, np);
  assert_int_equal(ps_wire_check(create, req, n, &rules, path, sizeof path, NULL), PS_WIRE_OK);
  n = ld(req, 0, 2, pros, np2);
  assert_int_equal(ps_wire_check(create, req, n, &rules, path, sizeof path, NULL),
                   PS_WIRE_MALFORMED);
  assert_int_equal(ps_wire_check_strings(create, req, n, path, sizeof path), PS_WIRE_OK);
  /* the attack it stops: two update masks of 20 paths each pass a cap of 32 one by one */
  static const ps_wire_limit_t limits[] = {
      {&google__protobuf__field_mask__descriptor, 1, 32, NULL}};
  const ps_wire_rules_t mask_rules = {limits, 1, 0, 0, 0};
  uint8_t mask[256];
  size_t nm = 0;
  for (int i = 0; i < 20; i++) nm = ld(mask, nm, 1, "email", 5);
  n = ldv(req, 0, 2, mask, nm);
  const ProtobufCMessageDescriptor *update = &prospects__v1__update_prospect_request__descriptor;
  assert_int_equal(ps_wire_check(update, req, n, &mask_rules, path, sizeof path, NULL), PS_WIRE_OK);
  n = ldv(req, n, 2, mask, nm);
  assert_int_equal(ps_wire_check(update, req, n, &mask_rules, path, sizeof path, NULL),
                   PS_WIRE_MALFORMED);
  /* two different singular messages once each, and a repeated message many times, are fine */
  n = ld(req, 0, 1, pros, np);
  n = ldv(req, n, 2, mask, nm);
  assert_int_equal(ps_wire_check(update, req, n, &mask_rules, path, sizeof path, NULL), PS_WIRE_OK);
  n = merge_request(req, 5);
  assert_int_equal(ps_wire_check(MERGE, req, n, &rules, path, sizeof path, NULL), PS_WIRE_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_request_passes),
      cmocka_unit_test(test_nul_in_top_level_string),
      cmocka_unit_test(test_nul_in_nested_string_names_the_path),
      cmocka_unit_test(test_bad_utf8),
      cmocka_unit_test(test_bytes_after_a_nested_message_keep_the_right_path),
      cmocka_unit_test(test_malformed_and_unknown_fields),
      cmocka_unit_test(test_length_past_the_end_is_malformed),
      cmocka_unit_test(test_cap_of_a_particular_field_and_its_reason),
      cmocka_unit_test(test_default_cap_for_every_other_repeated_field),
      cmocka_unit_test(test_packed_scalars_are_counted_by_element),
      cmocka_unit_test(test_unknown_fields_are_capped_in_the_whole_request),
      cmocka_unit_test(test_caps_count_per_message_instance),
      cmocka_unit_test(test_path_of_a_nested_cap),
      cmocka_unit_test(test_ret_hit_only_for_too_many),
      cmocka_unit_test(test_singular_message_twice),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
