/* core/names.c: resource name parsing (shape, tenant rule, ids, messages) and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/names.h"

#define P1 "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"
#define P2 "01890a5d-ac96-774b-bcce-b302099a8057"

static void assert_contains(const char *haystack, const char *needle) {
  if (!strstr(haystack, needle)) fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* The failure must be INVALID_ARGUMENT naming the field, in the message and in ErrorInfo. */
static void assert_field_error(const ps_status_t *st, const char *field) {
  assert_int_equal(st->code, PS_INVALID_ARGUMENT);
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s: ", field);
  if (strncmp(st->message, prefix, strlen(prefix)) != 0)
    fail_msg("message \"%s\" does not start with \"%s\"", st->message, prefix);
  assert_int_equal(st->n_meta, 1);
  assert_string_equal(st->meta[0].key, "field");
  assert_string_equal(st->meta[0].value, field);
}

static void test_tenant_valid(void **state) {
  (void)state;
  char t63[64], t64[65];
  memset(t63, 'a', 63);
  t63[63] = '\0';
  memset(t64, 'a', 64);
  t64[64] = '\0';
  assert_true(ps_tenant_valid("a"));
  assert_true(ps_tenant_valid("0"));
  assert_true(ps_tenant_valid("acme-42"));
  assert_true(ps_tenant_valid("a--b"));
  assert_true(ps_tenant_valid(t63));
  assert_false(ps_tenant_valid(t64));
  assert_false(ps_tenant_valid(""));
  assert_false(ps_tenant_valid(NULL));
  assert_false(ps_tenant_valid("Acme"));
  assert_false(ps_tenant_valid("-acme"));
  assert_false(ps_tenant_valid("acme-"));
  assert_false(ps_tenant_valid("-"));
  assert_false(ps_tenant_valid("ac_me"));
  assert_false(ps_tenant_valid("ac.me"));
  assert_false(ps_tenant_valid("ac me"));
  assert_false(ps_tenant_valid("acm\xc3\xa9"));
}

static void test_parse_tenant(void **state) {
  (void)state;
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1];
  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_tenant("tenants/acme", "parent", tenant, &st), 0);
  assert_string_equal(tenant, "acme");
  assert_int_equal(st.code, PS_OK);

  char name[128];
  char t63[64];
  memset(t63, 'b', 63);
  t63[63] = '\0';
  snprintf(name, sizeof name, "tenants/%s", t63);
  assert_int_equal(ps_name_parse_tenant(name, "parent", tenant, &st), 0);
  assert_string_equal(tenant, t63);
  snprintf(name, sizeof name, "tenants/%sb", t63); /* 64 characters */
  strcpy(tenant, "unchanged");
  assert_int_equal(ps_name_parse_tenant(name, "parent", tenant, &st), -1);
  assert_field_error(&st, "parent");
  assert_contains(st.message, "{tenant}");
  assert_string_equal(tenant, "unchanged");
}

static void test_parse_tenant_rejects(void **state) {
  (void)state;
  static const char *const bad[] = {
      "tenants/ACME",  "tenants/acme/", "tenants/",       "tenants",  "tenant/acme",
      "Tenants/acme",  "/tenants/acme", "tenants//acme",  "tenants/acme/prospects",
      "tenants/-acme", "tenants/acme-", "tenants/ac_me",  "acme",     "tenants/acme ",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ps_status_t st;
    char tenant[PS_TENANT_MAX + 1] = "unchanged";
    ps_status_clear(&st);
    if (ps_name_parse_tenant(bad[i], "parent", tenant, &st) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_field_error(&st, "parent");
    assert_contains(st.message, "tenants/{tenant}");
    assert_string_equal(tenant, "unchanged");
  }
}

static void test_required(void **state) {
  (void)state;
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t id;
  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("", "name", tenant, &id, &st), -1);
  assert_field_error(&st, "name");
  assert_string_equal(st.message, "name: is required");
  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_merge(NULL, "merge.name", tenant, &id, &st), -1);
  assert_string_equal(st.message, "merge.name: is required");
}

static void test_parse_prospect(void **state) {
  (void)state;
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t id;
  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/acme/prospects/" P1, "name", tenant, &id, &st), 0);
  assert_string_equal(tenant, "acme");
  char text[PS_ID_TEXT_LEN + 1];
  ps_id_format(&id, text);
  assert_string_equal(text, P1);
  /* upper-case hex is read (ids parse either case) */
  assert_int_equal(
      ps_name_parse_prospect("tenants/acme/prospects/017F22E2-79B0-7CC3-98C4-DC0C0C07398F", "name",
                             tenant, &id, &st),
      0);
}

static void test_parse_prospect_messages(void **state) {
  (void)state;
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1] = "unchanged";
  ps_id_t id;
  memset(&id, 0x55, sizeof id);

  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/acme/customers/" P1, "name", tenant, &id, &st), -1);
  assert_string_equal(st.message, "name: expected \"tenants/{tenant}/prospects/{prospect}\", got "
                                  "\"tenants/acme/customers/" P1 "\"");

  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/acme/prospects/" P1 "/", "name", tenant, &id, &st), -1);
  assert_field_error(&st, "name");

  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/acme/prospects/" P1 "/documents/" P2, "name", tenant,
                                          &id, &st),
                   -1);
  assert_field_error(&st, "name");

  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/acme/prospects/not-a-uuid", "prospect.name", tenant, &id,
                                          &st),
                   -1);
  assert_field_error(&st, "prospect.name");
  assert_string_equal(st.message, "prospect.name: {prospect} in \"tenants/{tenant}/prospects/{prospect}\" "
                                  "must be a UUID, got \"not-a-uuid\"");

  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/acme/prospects/017f22e2-79b0-7cc3-98c4-dc0c0c07398g",
                                          "name", tenant, &id, &st),
                   -1);
  assert_contains(st.message, "must be a UUID, got \"017f22e2-79b0-7cc3-98c4-dc0c0c07398g\"");

  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/Acme/prospects/" P1, "name", tenant, &id, &st), -1);
  assert_contains(st.message, "{tenant} in \"tenants/{tenant}/prospects/{prospect}\" must be 1-63 characters");
  assert_contains(st.message, "got \"Acme\"");

  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_prospect("tenants/acme/prospects/", "name", tenant, &id, &st), -1);
  assert_contains(st.message, "expected \"tenants/{tenant}/prospects/{prospect}\"");

  /* outputs untouched by all of the above */
  assert_string_equal(tenant, "unchanged");
  for (int i = 0; i < 16; i++) assert_int_equal(id.b[i], 0x55);
}

static void test_message_does_not_echo_huge_input(void **state) {
  (void)state;
  static char huge[100000];
  memcpy(huge, "tenants/", 8);
  memset(huge + 8, 'a', sizeof huge - 9);
  huge[sizeof huge - 1] = '\0';
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1];
  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_tenant(huge, "parent", tenant, &st), -1);
  assert_field_error(&st, "parent");
  assert_true(strlen(st.message) < 400);
  assert_contains(st.message, "...\"");
  assert_contains(st.message, "got \"aaaaaaaa");
}

static void test_message_escapes_control_and_invalid_bytes(void **state) {
  (void)state;
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1];
  ps_status_clear(&st);
  assert_int_equal(ps_name_parse_tenant("tenants/a\n\"b\xff", "parent", tenant, &st), -1);
  assert_contains(st.message, "got \"a\\x0a\\\"b\\xff\"");
}

static void test_parse_other_names(void **state) {
  (void)state;
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t a, b;
  char text[PS_ID_TEXT_LEN + 1];
  ps_status_clear(&st);

  assert_int_equal(ps_name_parse_apps("tenants/t-1/apps", "name", tenant, &st), 0);
  assert_string_equal(tenant, "t-1");
  assert_int_equal(ps_name_parse_apps("tenants/t-1", "name", tenant, &st), -1);
  assert_contains(st.message, "tenants/{tenant}/apps");
  assert_int_equal(ps_name_parse_apps("tenants/t-1/apps/x", "name", tenant, &st), -1);

  assert_int_equal(ps_name_parse_contact_person("tenants/x/prospects/" P1 "/contactPersons/" P2, "name",
                                                tenant, &a, &b, &st),
                   0);
  ps_id_format(&a, text);
  assert_string_equal(text, P1);
  ps_id_format(&b, text);
  assert_string_equal(text, P2);
  assert_int_equal(ps_name_parse_contact_person("tenants/x/prospects/" P1 "/contactpersons/" P2, "name",
                                                tenant, &a, &b, &st),
                   -1);
  assert_int_equal(ps_name_parse_contact_person("tenants/x/prospects/" P1 "/documents/" P2, "name",
                                                tenant, &a, &b, &st),
                   -1);
  assert_int_equal(ps_name_parse_contact_person("tenants/x/prospects/" P1 "/contactPersons/zz", "cp",
                                                tenant, &a, &b, &st),
                   -1);
  assert_field_error(&st, "cp");
  assert_contains(st.message, "{contact_person} in \"tenants/{tenant}/prospects/{prospect}/contactPersons/{contact_person}\" must be a UUID, got \"zz\"");

  assert_int_equal(ps_name_parse_document("tenants/x/prospects/" P2 "/documents/" P1, "document.name",
                                          tenant, &a, &b, &st),
                   0);
  ps_id_format(&a, text);
  assert_string_equal(text, P2);
  ps_id_format(&b, text);
  assert_string_equal(text, P1);
  assert_int_equal(ps_name_parse_document("tenants/x/prospects/" P2 "/documents", "document.name", tenant,
                                          &a, &b, &st),
                   -1);
  assert_field_error(&st, "document.name");

  assert_int_equal(ps_name_parse_merge("tenants/x/merges/" P1, "name", tenant, &a, &st), 0);
  assert_int_equal(ps_name_parse_merge("tenants/x/prospects/" P1, "name", tenant, &a, &st), -1);
  assert_contains(st.message, "tenants/{tenant}/merges/{merge}");
}

static void test_format_round_trip(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  ps_id_t p, c, m;
  ps_status_t st;
  char tenant[PS_TENANT_MAX + 1];
  ps_status_clear(&st);
  assert_int_equal(ps_id_parse(P1, PS_ID_TEXT_LEN, &p), 0);
  assert_int_equal(ps_id_parse(P2, PS_ID_TEXT_LEN, &c), 0);
  assert_int_equal(ps_id_new(&m), 0);

  assert_string_equal(ps_name_apps(&a, "acme"), "tenants/acme/apps");
  assert_string_equal(ps_name_prospect(&a, "acme", &p), "tenants/acme/prospects/" P1);
  assert_string_equal(ps_name_contact_person(&a, "acme", &p, &c),
                      "tenants/acme/prospects/" P1 "/contactPersons/" P2);
  assert_string_equal(ps_name_document(&a, "acme", &p, &c), "tenants/acme/prospects/" P1 "/documents/" P2);

  char *name = ps_name_merge(&a, "acme", &m);
  assert_non_null(name);
  ps_id_t back;
  assert_int_equal(ps_name_parse_merge(name, "name", tenant, &back, &st), 0);
  assert_memory_equal(back.b, m.b, 16);
  assert_string_equal(tenant, "acme");
  ps_arena_destroy(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tenant_valid),
      cmocka_unit_test(test_parse_tenant),
      cmocka_unit_test(test_parse_tenant_rejects),
      cmocka_unit_test(test_required),
      cmocka_unit_test(test_parse_prospect),
      cmocka_unit_test(test_parse_prospect_messages),
      cmocka_unit_test(test_message_does_not_echo_huge_input),
      cmocka_unit_test(test_message_escapes_control_and_invalid_bytes),
      cmocka_unit_test(test_parse_other_names),
      cmocka_unit_test(test_format_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
