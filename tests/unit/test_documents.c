/* service/documents.c pure parts: document validation (required fields, lengths, the one type a
 * call allows, dates, snapshot), type names and checks, the snapshot of a record and new rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "service/documents.h"

/* The ErrorInfo field metadata of st ("" when none). */
static const char *field_of(const ps_status_t *st) {
  for (int i = 0; i < st->n_meta; i++)
    if (strcmp(st->meta[i].key, "field") == 0) return st->meta[i].value;
  return "";
}

static char *repeat(char c, size_t n) {
  static char buf[512];
  assert_true(n < sizeof buf);
  memset(buf, c, n);
  buf[n] = '\0';
  return buf;
}

/* Validates d and expects a failure naming field. */
static void expect_bad(const Prospects__V1__Document *d, const char *prefix, int only_type,
                       const char *field) {
  ps_status_t st;
  ps_status_clear(&st);
  int type = 12345;
  assert_int_equal(ps_document_validate(d, prefix, only_type, &type, &st), -1);
  assert_int_equal(st.code, PS_INVALID_ARGUMENT);
  assert_string_equal(field_of(&st), field);
  assert_int_equal(strncmp(st.message, field, strlen(field)), 0);
  assert_int_equal(type, 12345); /* untouched on failure */
}

static void test_validate_required_and_lengths(void **state) {
  (void)state;
  ps_status_t st;
  int type = 0;
  Prospects__V1__Document d = PROSPECTS__V1__DOCUMENT__INIT;
  expect_bad(NULL, "document", 0, "document");
  expect_bad(&d, "document", 0, "document.type");
  d.type = 99;
  expect_bad(&d, "document", 0, "document.type");
  d.type = PROSPECTS__V1__DOCUMENT_TYPE__QUOTE;
  expect_bad(&d, "document", 0, "document.document_id");
  d.document_id = "  ";
  expect_bad(&d, "document", 0, "document.document_id");
  d.document_id = repeat('x', 129);
  expect_bad(&d, "document", 0, "document.document_id");
  d.document_id = repeat('x', 128);
  ps_status_clear(&st);
  assert_int_equal(ps_document_validate(&d, "document", 0, &type, &st), 0);
  assert_int_equal(type, PROSPECTS__V1__DOCUMENT_TYPE__QUOTE);
  d.document_id = "q-1";
  d.number = repeat('n', 65);
  expect_bad(&d, "document", 0, "document.number");
  d.number = "Q-1";
  d.title = repeat('t', 201);
  expect_bad(&d, "document", 0, "document.title");
  d.title = "bad\x01title";
  expect_bad(&d, "document", 0, "document.title");
  d.title = "Chairs";
  ps_status_clear(&st);
  assert_int_equal(ps_document_validate(&d, "document", 0, &type, &st), 0);
}

static void test_validate_time_and_snapshot(void **state) {
  (void)state;
  ps_status_t st;
  int type = 0;
  Prospects__V1__Document d = PROSPECTS__V1__DOCUMENT__INIT;
  d.type = PROSPECTS__V1__DOCUMENT_TYPE__INVOICE;
  d.document_id = "i-1";
  Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  d.document_time = &t;
  t.seconds = 253402300800LL; /* 10000-01-01 */
  expect_bad(&d, "invoice", 0, "invoice.document_time");
  t.seconds = -30610224001LL; /* just before the year 1000 */
  expect_bad(&d, "invoice", 0, "invoice.document_time");
  t.seconds = 1700000000;
  t.nanos = 1000000000;
  expect_bad(&d, "invoice", 0, "invoice.document_time");
  t.nanos = -1;
  expect_bad(&d, "invoice", 0, "invoice.document_time");
  t.nanos = 999999999;
  ps_status_clear(&st);
  assert_int_equal(ps_document_validate(&d, "invoice", 0, &type, &st), 0);

  Prospects__V1__PartySnapshot s = PROSPECTS__V1__PARTY_SNAPSHOT__INIT;
  Prospects__V1__Address ad = PROSPECTS__V1__ADDRESS__INIT;
  d.party_snapshot = &s;
  s.email = repeat('e', 255);
  expect_bad(&d, "invoice", 0, "invoice.party_snapshot.email");
  s.email = "not an e-mail shape, as printed";
  ps_status_clear(&st);
  assert_int_equal(ps_document_validate(&d, "invoice", 0, &type, &st), 0);
  s.display_name = repeat('d', 256);
  expect_bad(&d, "invoice", 0, "invoice.party_snapshot.display_name");
  s.display_name = "Acme";
  s.address = &ad;
  ad.country_code = "XX";
  expect_bad(&d, "invoice", 0, "invoice.party_snapshot.address.country_code");
  ad.country_code = "NL";
  ad.city = repeat('c', 101);
  expect_bad(&d, "invoice", 0, "invoice.party_snapshot.address.city");
}

static void test_only_type(void **state) {
  (void)state;
  ps_status_t st;
  int type = 0;
  Prospects__V1__Document d = PROSPECTS__V1__DOCUMENT__INIT;
  d.document_id = "qr-1";
  /* unspecified stands for the one type allowed */
  ps_status_clear(&st);
  assert_int_equal(ps_document_validate(&d, "quote_request", PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST,
                                        &type, &st), 0);
  assert_int_equal(type, PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST);
  d.type = PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST;
  assert_int_equal(ps_document_validate(&d, "quote_request", PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST,
                                        &type, &st), 0);
  d.type = PROSPECTS__V1__DOCUMENT_TYPE__QUOTE;
  expect_bad(&d, "quote_request", PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST, "quote_request.type");
  d.type = PROSPECTS__V1__DOCUMENT_TYPE__QUOTE_REQUEST;
  expect_bad(&d, "invoice", PROSPECTS__V1__DOCUMENT_TYPE__INVOICE, "invoice.type");
}

static void test_types(void **state) {
  (void)state;
  ps_status_t st;
  assert_string_equal(ps_document_type_name(PROSPECTS__V1__DOCUMENT_TYPE__QUOTE), "QUOTE");
  assert_string_equal(ps_document_type_name(PROSPECTS__V1__DOCUMENT_TYPE__CREDIT_NOTE), "CREDIT_NOTE");
  assert_string_equal(ps_document_type_name(42), "DOCUMENT_TYPE_UNSPECIFIED");
  for (int t = 1; t <= 8; t++) {
    ps_status_clear(&st);
    assert_int_equal(ps_document_check_type(t, "type", 0, &st), 0);
  }
  assert_int_equal(ps_document_check_type(0, "type", 1, &st), 0); /* a filter: all types */
  assert_int_equal(ps_document_check_type(0, "type", 0, &st), -1);
  assert_string_equal(field_of(&st), "type");
  ps_status_clear(&st);
  assert_int_equal(ps_document_check_type(9, "type", 1, &st), -1);
  assert_int_equal(ps_document_check_type(-1, "type", 1, &st), -1);
  /* The list of all types names each type (store/documents.c): a new DocumentType value must
   * raise PS_DOCUMENT_TYPES and that list. */
  const ProtobufCEnumDescriptor *e = &prospects__v1__document_type__descriptor;
  assert_int_equal(e->n_values, PS_DOCUMENT_TYPES + 1);
  for (unsigned i = 0; i < e->n_values; i++) assert_in_range(e->values[i].value, 0, PS_DOCUMENT_TYPES);
}

static void test_rows_and_snapshots(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  ps_status_t st;
  ps_status_clear(&st);

  Prospects__V1__Document d = PROSPECTS__V1__DOCUMENT__INIT;
  d.document_id = "q-1";
  ps_document_cols_t c;
  int has = -1;
  assert_int_equal(ps_document_new_row(&a, &d, PROSPECTS__V1__DOCUMENT_TYPE__QUOTE, 1234567, &c, &has, &st), 0);
  assert_int_equal(has, 0);
  assert_int_equal(c.document_us, 1234567); /* no date: the link time */
  assert_int_equal(c.link_us, 1234567);
  assert_string_equal(c.number, "");
  assert_null(c.snapshot.data);

  Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  t.seconds = 1700000000;
  t.nanos = 123456789;
  d.document_time = &t;
  Prospects__V1__PartySnapshot s = PROSPECTS__V1__PARTY_SNAPSHOT__INIT;
  s.display_name = "As printed";
  d.party_snapshot = &s;
  ps_document_cols_t c2;
  assert_int_equal(ps_document_new_row(&a, &d, PROSPECTS__V1__DOCUMENT_TYPE__QUOTE, 1, &c2, &has, &st), 0);
  assert_int_equal(has, 1);
  assert_int_equal(c2.document_us, 1700000000123456LL);
  assert_memory_not_equal(c.id.b, c2.id.b, 16);
  Prospects__V1__PartySnapshot *back =
      prospects__v1__party_snapshot__unpack(NULL, c2.snapshot.len, c2.snapshot.data);
  assert_non_null(back);
  assert_string_equal(back->display_name, "As printed");
  prospects__v1__party_snapshot__free_unpacked(back, NULL);

  /* the record's own details */
  ps_prospect_cols_t rec;
  memset(&rec, 0, sizeof rec);
  rec.display_name = "Jan Jansen";
  rec.first_name = "Jan";
  rec.last_name = "Jansen";
  rec.company_name = rec.vat_number = rec.phone = rec.street = rec.postal_code = rec.country_code = "";
  rec.email = "jan@example.nl";
  rec.city = "Utrecht";
  ps_blob_t b;
  assert_int_equal(ps_document_snapshot_of(&a, &rec, &b, &st), 0);
  back = prospects__v1__party_snapshot__unpack(NULL, b.len, b.data);
  assert_non_null(back);
  assert_string_equal(back->display_name, "Jan Jansen");
  assert_string_equal(back->email, "jan@example.nl");
  assert_non_null(back->address);
  assert_string_equal(back->address->city, "Utrecht");
  prospects__v1__party_snapshot__free_unpacked(back, NULL);
  rec.city = "";
  assert_int_equal(ps_document_snapshot_of(&a, &rec, &b, &st), 0);
  back = prospects__v1__party_snapshot__unpack(NULL, b.len, b.data);
  assert_non_null(back);
  assert_null(back->address); /* no address fields: no address */
  prospects__v1__party_snapshot__free_unpacked(back, NULL);
  ps_arena_destroy(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate_required_and_lengths),
      cmocka_unit_test(test_validate_time_and_snapshot),
      cmocka_unit_test(test_only_type),
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_rows_and_snapshots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
