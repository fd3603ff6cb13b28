/* service/person_data.c pure parts: the person's values, finding them in free text and in stored
 * bytes (case-insensitive, as packed protobuf holds strings), and the blank copies of merge
 * snapshots (what stays: names, kind, state, times, etag). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "service/person_data.h"

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

static void test_values_skip_short_empty_and_repeated(void **state) {
  (void)state;
  ps_person_values_t v = {0};
  ps_person_value_add(&v, NULL);
  ps_person_value_add(&v, "");
  ps_person_value_add(&v, "Jan");  /* too short: would match far too much */
  ps_person_value_add(&v, "jan@example.be");
  ps_person_value_add(&v, "jan@example.be");
  ps_person_value_add(&v, "+32 470 12 34 56");
  assert_int_equal(v.n, 2);
  assert_string_equal(v.v[0], "jan@example.be");
  for (int i = 0; i < 100; i++) {
    char *s = ps_arena_printf(&arena, "value-%d", i);
    assert_non_null(s);
    ps_person_value_add(&v, s);
  }
  assert_int_equal(v.n, PS_PERSON_VALUES_MAX); /* full: the rest is left out, nothing overflows */
}

static void test_contains_ignores_ascii_case_and_reads_bytes(void **state) {
  (void)state;
  const unsigned char packed[] = {0x0a, 0x05, 'H', 'e', 'L', 'L', 'o', 0x12, 0x00, 'x'};
  assert_true(ps_person_contains(packed, sizeof packed, "hello"));
  assert_true(ps_person_contains(packed, sizeof packed, "HELLO"));
  assert_true(ps_person_contains(packed, sizeof packed, "x"));
  assert_false(ps_person_contains(packed, sizeof packed, "hellox"));
  assert_false(ps_person_contains(packed, sizeof packed, ""));
  assert_false(ps_person_contains(packed, 3, "hello"));    /* longer than the bytes */
  assert_false(ps_person_contains(NULL, 0, "a"));
  const char *utf8 = "Jos\xc3\xa9 Peeters";
  assert_true(ps_person_contains((const unsigned char *)utf8, strlen(utf8), "JOS\xc3\xa9"));
}

static void test_names_finds_any_value_in_text(void **state) {
  (void)state;
  ps_person_values_t v = {0};
  ps_person_value_add(&v, "Zebedeus Quortlandt");
  ps_person_value_add(&v, "zq@example.be");
  assert_true(ps_person_names(&v, "asked by ZQ@Example.be"));
  assert_true(ps_person_names(&v, "merged zebedeus quortlandt twice"));
  assert_false(ps_person_names(&v, "1 record(s) merged into tenants/t/prospects/x"));
  assert_false(ps_person_names(&v, ""));
  assert_false(ps_person_names(&v, NULL));
  ps_person_values_t none = {0};
  assert_false(ps_person_names(&none, "anything"));
}

static void test_blank_copies_keep_structure_only(void **state) {
  (void)state;
  Prospects__V1__Address ad = PROSPECTS__V1__ADDRESS__INIT;
  ad.city = "Gent";
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1700000000;
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.name = "tenants/t/prospects/0190a3b4-5c6d-7e8f-9a0b-000000000001";
  p.kind = PROSPECTS__V1__PARTY_KIND__COMPANY;
  p.state = PROSPECTS__V1__PROSPECT_STATE__CUSTOMER;
  p.display_name = "Quortlandt BV";
  p.company_name = "Quortlandt BV";
  p.email = "zq@example.be";
  p.notes = "private";
  p.address = &ad;
  p.create_time = &ts;
  p.converting_invoice = "inv-1";
  p.etag = "v3";
  assert_true(ps_person_prospect_has_data(&p));
  Prospects__V1__Prospect *b = ps_person_blank_prospect(&arena, &p);
  assert_non_null(b);
  assert_false(ps_person_prospect_has_data(b));
  assert_string_equal(b->name, p.name);
  assert_int_equal(b->kind, p.kind);
  assert_int_equal(b->state, p.state);
  assert_ptr_equal(b->create_time, &ts);
  assert_string_equal(b->converting_invoice, "inv-1");
  assert_string_equal(b->etag, "v3");
  assert_null(b->address);
  assert_string_equal(b->email, "");

  Prospects__V1__ContactPerson c = PROSPECTS__V1__CONTACT_PERSON__INIT;
  c.name = "tenants/t/prospects/x/contactPersons/y";
  c.role = "CEO";
  assert_true(ps_person_contact_has_data(&c));
  Prospects__V1__ContactPerson *bc = ps_person_blank_contact(&arena, &c);
  assert_non_null(bc);
  assert_false(ps_person_contact_has_data(bc));
  assert_string_equal(bc->name, c.name);

  Prospects__V1__PartySnapshot snap = PROSPECTS__V1__PARTY_SNAPSHOT__INIT;
  assert_false(ps_person_snapshot_has_data(&snap));
  snap.redacted = 1;
  assert_false(ps_person_snapshot_has_data(&snap));
  snap.phone = "+32 470 12 34 56";
  assert_true(ps_person_snapshot_has_data(&snap));
  snap.phone = "";
  snap.address = &ad;
  assert_true(ps_person_snapshot_has_data(&snap));
  assert_false(ps_person_snapshot_has_data(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values_skip_short_empty_and_repeated),
      cmocka_unit_test(test_contains_ignores_ascii_case_and_reads_bytes),
      cmocka_unit_test(test_names_finds_any_value_in_text),
      cmocka_unit_test(test_blank_copies_keep_structure_only),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
