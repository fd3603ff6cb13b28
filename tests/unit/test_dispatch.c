/* dispatch.c: the method table and ps_dispatch_decode, which refuses what must not be decoded
 * before protobuf-c allocates anything: requests over the method's byte cap, strings with NUL or
 * bad UTF-8, too many merge sources or update_mask paths, too many unknown fields, bytes that are
 * not the message, and requests that do not fit the call's memory budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "prospects/v1/service.pb-c.h"

#define SERVICE "/prospects.v1.ProspectService/"

static ps_arena_t arena;

static int setup(void **state) {
  (void)state;
  return ps_arena_init(&arena, 0);
}

static int teardown(void **state) {
  (void)state;
  ps_arena_destroy(&arena);
  return 0;
}

static const ps_method_t *method(const char *name) {
  char path[128];
  snprintf(path, sizeof path, SERVICE "%s", name);
  const ps_method_t *m = ps_dispatch_find(path, strlen(path));
  if (!m) fail_msg("no method %s", path);
  return m;
}

static const char *meta_of(const ps_status_t *st, const char *key) {
  for (int i = 0; i < st->n_meta; i++)
    if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
  return "(absent)";
}

/* Decodes buf as m's request into the arena, expecting a refusal with code and reason (both sides
 * printed when not), and *ret untouched. */
static void refused_at(const ps_method_t *m, const uint8_t *buf, size_t len, ps_code_t code,
                       const char *reason, ps_status_t *st, const char *file, int line) {
  ProtobufCMessage *sentinel = (ProtobufCMessage *)&sentinel, *msg = sentinel;
  ps_status_clear(st);
  int rc = ps_dispatch_decode(m, buf, len, &arena, &msg, st);
  if (rc != -1 || msg != sentinel || st->code != code || strcmp(st->reason, reason) != 0) {
    print_error("%s (%zu bytes): rc %d, %s %s \"%s\"%s; want -1, %s %s\n", m->name, len, rc,
                ps_code_name(st->code), st->reason, st->message,
                msg != sentinel ? ", *ret written" : "", ps_code_name(code), reason);
    _fail(file, line);
  }
}
#define REFUSED(m, buf, len, code, reason, st)                                                     \
  refused_at((m), (buf), (len), (code), (reason), (st), __FILE__, __LINE__)

/* Decodes buf as m's request; it must succeed. */
static ProtobufCMessage *decoded_at(const ps_method_t *m, const uint8_t *buf, size_t len,
                                    const char *file, int line) {
  ps_status_t st;
  ps_status_clear(&st);
  ProtobufCMessage *msg = NULL;
  if (ps_dispatch_decode(m, buf, len, &arena, &msg, &st) != 0 || !msg) {
    print_error("%s (%zu bytes): refused with %s %s \"%s\"\n", m->name, len, ps_code_name(st.code),
                st.reason, st.message);
    _fail(file, line);
  }
  assert_ptr_equal(msg->descriptor, m->request);
  return msg;
}
#define DECODED(m, buf, len) decoded_at((m), (buf), (len), __FILE__, __LINE__)

/* Appends a varint. */
static size_t put_varint(uint8_t *out, size_t at, uint64_t v) {
  do {
    out[at++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return at;
}

/* Appends a length-delimited field. */
static size_t ld(uint8_t *out, size_t at, unsigned field, const void *v, size_t n) {
  at = put_varint(out, at, (uint64_t)field << 3 | 2);
  at = put_varint(out, at, n);
  memcpy(out + at, v, n);
  return at + n;
}

/* ------------------------------------------------------------------ the table */

static void test_every_method_has_a_handler_and_a_cap(void **state) {
  (void)state;
  const ProtobufCServiceDescriptor *sd = &prospects__v1__prospect_service__descriptor;
  size_t n = 0;
  const ps_method_t *t = ps_dispatch_methods(&n);
  assert_int_equal(n, sd->n_methods);
  for (size_t i = 0; i < n; i++) {
    const ps_method_t *m = &t[i];
    char want[128];
    snprintf(want, sizeof want, SERVICE "%s", sd->methods[i].name);
    assert_string_equal(m->path, want);
    assert_string_equal(m->name, sd->methods[i].name);
    assert_ptr_equal(m->request, sd->methods[i].input);
    assert_ptr_equal(m->response, sd->methods[i].output);
    if (!m->handler && !m->stream_handler) fail_msg("%s has no handler", m->name);
    if (m->handler && m->stream_handler) fail_msg("%s has two handlers", m->name);
    if (strcmp(m->name, "ExportProspects") == 0 && !m->stream_handler)
      fail_msg("ExportProspects is server-streaming");
    if (m->max_request_bytes < PS_DISPATCH_SMALL_REQUEST_BYTES ||
        m->max_request_bytes > PS_DISPATCH_MAX_REQUEST_BYTES)
      fail_msg("%s: cap %zu outside [%d, %d]", m->name, m->max_request_bytes,
               PS_DISPATCH_SMALL_REQUEST_BYTES, PS_DISPATCH_MAX_REQUEST_BYTES);
    assert_ptr_equal(ps_dispatch_find(m->path, strlen(m->path)), m);
  }
  /* the table is built once */
  size_t n2 = 0;
  assert_ptr_equal(ps_dispatch_methods(&n2), t);
  assert_int_equal(n2, n);
  /* the caps that matter */
  assert_int_equal(method("GetProspect")->max_request_bytes, 4096);
  assert_int_equal(method("DeleteProspect")->max_request_bytes, 4096);
  assert_int_equal(method("ListProspects")->max_request_bytes, 4096);
  assert_int_equal(method("CreateProspect")->max_request_bytes, 65536);
  assert_int_equal(method("UpdateProspect")->max_request_bytes, 65536);
  assert_int_equal(method("IntakeQuoteRequest")->max_request_bytes, 65536);
  assert_int_equal(method("CreateContactPerson")->max_request_bytes, 16384);
  assert_int_equal(method("LinkDocument")->max_request_bytes, 16384);
  assert_int_equal(method("MergeProspects")->max_request_bytes, 8192);
}

static void test_find_matches_the_whole_path_only(void **state) {
  (void)state;
  const char *get = SERVICE "GetProspect";
  const ps_method_t *m = ps_dispatch_find(get, strlen(get));
  assert_non_null(m);
  assert_string_equal(m->name, "GetProspect");
  assert_null(ps_dispatch_find(get, strlen(get) - 1)); /* a prefix */
  assert_null(ps_dispatch_find(SERVICE "GetProspectX", strlen(get) + 1));
  assert_null(ps_dispatch_find(SERVICE "getprospect", strlen(get)));
  assert_null(ps_dispatch_find("/prospects.v1.Other/GetProspect", 32));
  assert_null(ps_dispatch_find("", 0));
  /* the path need not be NUL-terminated */
  char buf[64];
  memcpy(buf, get, strlen(get));
  memset(buf + strlen(get), 'x', sizeof buf - strlen(get));
  assert_ptr_equal(ps_dispatch_find(buf, strlen(get)), m);
}

/* ------------------------------------------------------------------ size caps */

/* A GetProspect request of exactly len bytes (a name of len - 3 bytes), packed with protobuf-c. */
static uint8_t *get_request(size_t len) {
  char *name = malloc(len - 3 + 1);
  assert_non_null(name);
  memset(name, 'n', len - 3);
  name[len - 3] = '\0';
  Prospects__V1__GetProspectRequest req = PROSPECTS__V1__GET_PROSPECT_REQUEST__INIT;
  req.name = name;
  assert_int_equal(prospects__v1__get_prospect_request__get_packed_size(&req), len);
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  prospects__v1__get_prospect_request__pack(&req, buf);
  free(name);
  return buf;
}

static void test_get_prospect_over_4096_bytes_is_refused_before_decoding(void **state) {
  (void)state;
  const ps_method_t *m = method("GetProspect");
  ps_status_t st;
  uint8_t *buf = get_request(4096);
  const Prospects__V1__GetProspectRequest *r = (const void *)DECODED(m, buf, 4096);
  assert_int_equal(strlen(r->name), 4093);
  free(buf);
  buf = get_request(4097);
  REFUSED(m, buf, 4097, PS_RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE", &st);
  assert_string_equal(meta_of(&st, "limit_bytes"), "4096");
  assert_non_null(strstr(st.message, "4097"));
  assert_non_null(strstr(st.message, "GetProspect"));
  free(buf);
  /* the size is checked first: bytes that are not a request at all get the same answer */
  uint8_t junk[5000];
  memset(junk, 0xff, sizeof junk);
  REFUSED(m, junk, sizeof junk, PS_RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE", &st);
}

/* A CreateProspectRequest of exactly len bytes (the notes fill it up), packed with protobuf-c. */
static uint8_t *create_request(size_t len, size_t *ret_notes) {
  static char notes[70000];
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.kind = PROSPECTS__V1__PARTY_KIND__COMPANY;
  p.company_name = "Acme B.V.";
  p.notes = notes;
  Prospects__V1__CreateProspectRequest req = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
  req.parent = "tenants/acme";
  req.prospect = &p;
  size_t n_notes = len - 100, size = 0;
  for (int tries = 0; tries < 10; tries++) {
    memset(notes, 'n', n_notes);
    notes[n_notes] = '\0';
    size = prospects__v1__create_prospect_request__get_packed_size(&req);
    if (size == len) break;
    n_notes = n_notes + len - size;
  }
  assert_int_equal(size, len);
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  prospects__v1__create_prospect_request__pack(&req, buf);
  *ret_notes = n_notes;
  return buf;
}

static void test_create_prospect_takes_up_to_65536_bytes(void **state) {
  (void)state;
  const ps_method_t *m = method("CreateProspect");
  ps_status_t st;
  size_t n_notes;
  uint8_t *buf = create_request(65536, &n_notes);
  const Prospects__V1__CreateProspectRequest *r = (const void *)DECODED(m, buf, 65536);
  assert_string_equal(r->parent, "tenants/acme");
  assert_int_equal(strlen(r->prospect->notes), n_notes);
  free(buf);
  buf = create_request(65537, &n_notes);
  REFUSED(m, buf, 65537, PS_RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE", &st);
  assert_string_equal(meta_of(&st, "limit_bytes"), "65536");
  free(buf);
  /* the same 5000 bytes are fine for CreateProspect and too many for GetProspect */
  buf = create_request(5000, &n_notes);
  DECODED(m, buf, 5000);
  REFUSED(method("GetProspect"), buf, 5000, PS_RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE", &st);
  free(buf);
}

/* ------------------------------------------------------------------ strings */

static void test_nul_and_bad_utf8_name_the_field(void **state) {
  (void)state;
  ps_status_t st;
  uint8_t req[128], pros[64], addr[32];
  size_t n = ld(req, 0, 1, "tenants/acme/prospects/a\0b", 26);
  REFUSED(method("GetProspect"), req, n, PS_INVALID_ARGUMENT, "INVALID_FIELD", &st);
  assert_string_equal(meta_of(&st, "field"), "name");
  assert_string_equal(st.message, "name: must not contain a NUL character");

  Prospects__V1__Address a = PROSPECTS__V1__ADDRESS__INIT;
  a.city = "Z\xc3\x28rich"; /* a lead byte followed by no continuation byte */
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.company_name = "Acme";
  p.address = &a;
  Prospects__V1__CreateProspectRequest c = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
  c.parent = "tenants/acme";
  c.prospect = &p;
  uint8_t packed[256];
  assert_true(prospects__v1__create_prospect_request__get_packed_size(&c) <= sizeof packed);
  n = prospects__v1__create_prospect_request__pack(&c, packed);
  REFUSED(method("CreateProspect"), packed, n, PS_INVALID_ARGUMENT, "INVALID_FIELD", &st);
  assert_string_equal(meta_of(&st, "field"), "prospect.address.city");
  assert_string_equal(st.message, "prospect.address.city: is not valid UTF-8");

  size_t na = ld(addr, 0, 1, "Main St\0 1", 10);
  size_t np = ld(pros, 0, 11, addr, na);
  n = ld(req, 0, 1, "tenants/acme", 12);
  n = ld(req, n, 2, pros, np);
  REFUSED(method("CreateProspect"), req, n, PS_INVALID_ARGUMENT, "INVALID_FIELD", &st);
  assert_string_equal(meta_of(&st, "field"), "prospect.address.street");
}

/* ------------------------------------------------------------------ repeated and unknown fields */

/* A MergeProspectsRequest with n sources, packed with protobuf-c into buf. */
static size_t merge_request(size_t n_sources, uint8_t *buf, size_t bufsz) {
  Prospects__V1__MergeSource src[64], *srcs[64];
  assert_true(n_sources <= 64);
  for (size_t i = 0; i < n_sources; i++) {
    prospects__v1__merge_source__init(&src[i]);
    src[i].name = "tenants/acme/prospects/0190a3b4-5c6d-7e8f-9a0b-000000000002";
    srcs[i] = &src[i];
  }
  Prospects__V1__MergeProspectsRequest req = PROSPECTS__V1__MERGE_PROSPECTS_REQUEST__INIT;
  req.target = "tenants/acme/prospects/0190a3b4-5c6d-7e8f-9a0b-000000000001";
  req.n_sources = n_sources;
  req.sources = srcs;
  req.request_id = "merge-1";
  size_t n = prospects__v1__merge_prospects_request__get_packed_size(&req);
  assert_true(n <= bufsz);
  return prospects__v1__merge_prospects_request__pack(&req, buf);
}

static void test_eleven_merge_sources_are_too_many(void **state) {
  (void)state;
  const ps_method_t *m = method("MergeProspects");
  ps_status_t st;
  uint8_t buf[8192];
  size_t n = merge_request(10, buf, sizeof buf);
  const Prospects__V1__MergeProspectsRequest *r = (const void *)DECODED(m, buf, n);
  assert_int_equal(r->n_sources, 10);
  n = merge_request(11, buf, sizeof buf);
  assert_true(n <= m->max_request_bytes); /* refused for the count, not the size */
  REFUSED(m, buf, n, PS_INVALID_ARGUMENT, "TOO_MANY_SOURCES", &st);
  assert_string_equal(meta_of(&st, "field"), "sources");
  assert_non_null(strstr(st.message, "10"));
}

/* An UpdateProspectRequest with an update_mask of n paths, packed with protobuf-c into buf. */
static size_t update_request(size_t n_paths, uint8_t *buf, size_t bufsz) {
  char *paths[64];
  assert_true(n_paths <= 64);
  for (size_t i = 0; i < n_paths; i++) paths[i] = "email";
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  mask.n_paths = n_paths;
  mask.paths = paths;
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.name = "tenants/acme/prospects/0190a3b4-5c6d-7e8f-9a0b-000000000001";
  p.email = "a@b.nl";
  Prospects__V1__UpdateProspectRequest req = PROSPECTS__V1__UPDATE_PROSPECT_REQUEST__INIT;
  req.prospect = &p;
  req.update_mask = &mask;
  assert_true(prospects__v1__update_prospect_request__get_packed_size(&req) <= bufsz);
  return prospects__v1__update_prospect_request__pack(&req, buf);
}

static void test_thirty_three_update_mask_paths_are_too_many(void **state) {
  (void)state;
  const ps_method_t *m = method("UpdateProspect");
  ps_status_t st;
  uint8_t buf[2048];
  size_t n = update_request(32, buf, sizeof buf);
  const Prospects__V1__UpdateProspectRequest *r = (const void *)DECODED(m, buf, n);
  assert_int_equal(r->update_mask->n_paths, 32);
  n = update_request(33, buf, sizeof buf);
  REFUSED(m, buf, n, PS_INVALID_ARGUMENT, "INVALID_FIELD", &st);
  assert_string_equal(meta_of(&st, "field"), "update_mask.paths");
  assert_non_null(strstr(st.message, "32"));
  /* two masks of 20 paths each would be merged into one of 40 by protobuf-c: malformed */
  char *paths[20];
  for (int i = 0; i < 20; i++) paths[i] = "phone";
  Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  mask.n_paths = 20;
  mask.paths = paths;
  uint8_t packed[256], twice[512];
  size_t nm = google__protobuf__field_mask__pack(&mask, packed);
  n = ld(twice, 0, 2, packed, nm);
  DECODED(m, twice, n);
  n = ld(twice, n, 2, packed, nm);
  REFUSED(m, twice, n, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", &st);
}

static void test_sixty_five_unknown_fields_are_too_many(void **state) {
  (void)state;
  const ps_method_t *m = method("GetProspect");
  ps_status_t st;
  uint8_t buf[1024];
  size_t n = ld(buf, 0, 1, "tenants/acme/prospects/x", 24);
  for (int i = 0; i < 64; i++) {
    n = put_varint(buf, n, (uint64_t)(100 + i) << 3); /* unknown varint fields 100.. */
    n = put_varint(buf, n, 1);
  }
  const Prospects__V1__GetProspectRequest *r = (const void *)DECODED(m, buf, n);
  assert_string_equal(r->name, "tenants/acme/prospects/x");
  n = put_varint(buf, n, 200 << 3);
  n = put_varint(buf, n, 1);
  REFUSED(m, buf, n, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", &st);
  assert_non_null(strstr(st.message, "64"));
}

/* ------------------------------------------------------------------ bytes that are not the message
 */

static void test_garbage_is_malformed(void **state) {
  (void)state;
  const ps_method_t *m = method("GetProspect");
  ps_status_t st;
  const uint8_t ff[] = {0xff, 0xff, 0xff};
  REFUSED(m, ff, sizeof ff, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", &st);
  const uint8_t truncated[] = {0x0a, 0x10, 't', 'e'};
  REFUSED(m, truncated, sizeof truncated, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", &st);
  const uint8_t group[] = {0x0b, 0x0c};
  REFUSED(m, group, sizeof group, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", &st);
  /* the walk passes it (a string field sent as a varint), protobuf-c refuses it: the same answer,
   * not a memory error */
  const uint8_t wrong_type[] = {0x08, 0x01};
  REFUSED(m, wrong_type, sizeof wrong_type, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST", &st);
  assert_int_equal(arena.exhausted, 0);
  assert_non_null(strstr(st.message, "prospects.v1.GetProspectRequest"));
  /* an empty request is a valid (empty) message */
  DECODED(m, (const uint8_t *)"", 0);
}

/* Handlers see NFC text only: a decomposed name and city are decoded composed, the same bytes as
 * the composed spelling would give (core/unicode.h). */
static void test_decoded_text_is_nfc(void **state) {
  (void)state;
  Prospects__V1__Address a = PROSPECTS__V1__ADDRESS__INIT;
  a.city = "Lie\xcc\x80ge";
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.first_name = "Je\xcc\x81ro\xcc\x82me";
  p.last_name = "Dubois";
  p.address = &a;
  Prospects__V1__CreateProspectRequest c = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
  c.parent = "tenants/acme";
  c.prospect = &p;
  uint8_t packed[256];
  assert_true(prospects__v1__create_prospect_request__get_packed_size(&c) <= sizeof packed);
  size_t n = prospects__v1__create_prospect_request__pack(&c, packed);
  ps_status_t st;
  ps_status_clear(&st);
  ProtobufCMessage *msg = NULL;
  assert_int_equal(ps_dispatch_decode(method("CreateProspect"), packed, n, &arena, &msg, &st), 0);
  const Prospects__V1__CreateProspectRequest *got = (const Prospects__V1__CreateProspectRequest *)msg;
  assert_string_equal(got->prospect->first_name, "J\xc3\xa9r\xc3\xb4me");
  assert_string_equal(got->prospect->last_name, "Dubois");
  assert_string_equal(got->prospect->address->city, "Li\xc3\xa8ge");
  assert_string_equal(got->parent, "tenants/acme");
}

/* ------------------------------------------------------------------ the call's memory budget */

static void test_a_budget_too_small_to_decode_is_resource_exhausted(void **state) {
  (void)state;
  const ps_method_t *m = method("CreateProspect");
  ps_status_t st;
  size_t n_notes;
  uint8_t *buf = create_request(12000, &n_notes);
  ps_arena_t small;
  assert_int_equal(ps_arena_init(&small, 1024), 0);
  ps_arena_set_limit(&small, 4096);
  ProtobufCMessage *msg = NULL;
  ps_status_clear(&st);
  assert_int_equal(ps_dispatch_decode(m, buf, 12000, &small, &msg, &st), -1);
  assert_null(msg);
  assert_int_equal(st.code, PS_RESOURCE_EXHAUSTED);
  assert_string_equal(st.reason, "CALL_MEMORY_EXCEEDED");
  assert_int_equal(small.exhausted, 1);
  /* the next call on the same arena, with a budget that fits, decodes the same bytes */
  ps_arena_reset(&small);
  ps_arena_set_limit(&small, 64 * 1024);
  ps_status_clear(&st);
  assert_int_equal(ps_dispatch_decode(m, buf, 12000, &small, &msg, &st), 0);
  assert_non_null(msg);
  assert_int_equal(strlen(((const Prospects__V1__CreateProspectRequest *)msg)->prospect->notes),
                   n_notes);
  ps_arena_destroy(&small);
  free(buf);
  ps_status_clear(&st);
  assert_int_equal(ps_dispatch_fail_memory(&st), -1);
  assert_int_equal(st.code, PS_RESOURCE_EXHAUSTED);
  assert_string_equal(st.reason, "CALL_MEMORY_EXCEEDED");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_method_has_a_handler_and_a_cap),
      cmocka_unit_test(test_find_matches_the_whole_path_only),
      cmocka_unit_test_setup_teardown(test_get_prospect_over_4096_bytes_is_refused_before_decoding,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_prospect_takes_up_to_65536_bytes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_nul_and_bad_utf8_name_the_field, setup, teardown),
      cmocka_unit_test_setup_teardown(test_eleven_merge_sources_are_too_many, setup, teardown),
      cmocka_unit_test_setup_teardown(test_thirty_three_update_mask_paths_are_too_many, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sixty_five_unknown_fields_are_too_many, setup, teardown),
      cmocka_unit_test_setup_teardown(test_garbage_is_malformed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_decoded_text_is_nfc, setup, teardown),
      cmocka_unit_test(test_a_budget_too_small_to_decode_is_resource_exhausted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
