/* fuzz_names: the resource-name parsers of server/core/names.h.
 *
 * Feeds: byte 0 picks the parser (tenant, apps, prospect, contact person, document, merge); the
 * rest, up to its first NUL, is the name.
 *
 * Asserts: a parser gives 0 or -1. On -1: INVALID_ARGUMENT, reason INVALID_FIELD, metadata field
 * naming the field, a message that starts with the field and is valid UTF-8, and the outputs
 * untouched. On 0: the status untouched, a valid tenant id, and the name printed back from the
 * outputs (ps_name_*) equals the input except for the case of the UUIDs' hex digits, and parses
 * again to the same values. No crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/names.h"
#include "fuzz.h"

#define FIELD "parent.name"

enum { P_TENANT, P_APPS, P_PROSPECT, P_CONTACT_PERSON, P_DOCUMENT, P_MERGE, N_PARSERS };

static ps_arena_t arena;

static void teardown(void) { ps_arena_destroy(&arena); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  FUZZ_CHECK(ps_arena_init(&arena, 0) == 0, "out of memory");
  atexit(teardown);
  return 0;
}

/* What a parser gives. */
typedef struct parsed {
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t id1, id2;
} parsed_t;

static int parse(int which, const char *name, parsed_t *out, ps_status_t *st) {
  switch (which) {
  case P_TENANT: return ps_name_parse_tenant(name, FIELD, out->tenant, st);
  case P_APPS: return ps_name_parse_apps(name, FIELD, out->tenant, st);
  case P_PROSPECT: return ps_name_parse_prospect(name, FIELD, out->tenant, &out->id1, st);
  case P_CONTACT_PERSON:
    return ps_name_parse_contact_person(name, FIELD, out->tenant, &out->id1, &out->id2, st);
  case P_DOCUMENT:
    return ps_name_parse_document(name, FIELD, out->tenant, &out->id1, &out->id2, st);
  default: return ps_name_parse_merge(name, FIELD, out->tenant, &out->id1, st);
  }
}

/* The name of what was parsed, in the arena. */
static char *format(int which, const parsed_t *p) {
  switch (which) {
  case P_TENANT: return ps_arena_printf(&arena, "tenants/%s", p->tenant);
  case P_APPS: return ps_name_apps(&arena, p->tenant);
  case P_PROSPECT: return ps_name_prospect(&arena, p->tenant, &p->id1);
  case P_CONTACT_PERSON: return ps_name_contact_person(&arena, p->tenant, &p->id1, &p->id2);
  case P_DOCUMENT: return ps_name_document(&arena, p->tenant, &p->id1, &p->id2);
  default: return ps_name_merge(&arena, p->tenant, &p->id1);
  }
}

/* 1 when printed equals name, where name may spell a hex digit of an id in upper case. */
static int same_name(const char *printed, const char *name) {
  size_t i = 0;
  for (; printed[i] && name[i]; i++)
    if (printed[i] != name[i] &&
        !(printed[i] >= 'a' && printed[i] <= 'f' && name[i] == printed[i] - 'a' + 'A'))
      return 0;
  return printed[i] == name[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int which = data[0] % N_PARSERS;
  char *name = malloc(size);
  FUZZ_CHECK(name != NULL, "out of memory");
  memcpy(name, data + 1, size - 1);
  name[size - 1] = '\0';

  parsed_t out, before;
  memset(&out, 0xa5, sizeof out);
  before = out;
  ps_status_t st;
  ps_status_clear(&st);
  int rc = parse(which, name, &out, &st);
  if (rc != 0) {
    FUZZ_CHECK(rc == -1, "returned %d", rc);
    fuzz_check_failure(&st);
    FUZZ_CHECK(st.code == PS_INVALID_ARGUMENT && strcmp(st.reason, "INVALID_FIELD") == 0,
               "%s %s", ps_code_name(st.code), st.reason);
    FUZZ_CHECK(st.n_meta >= 1 && strcmp(st.meta[0].key, "field") == 0 &&
                   strcmp(st.meta[0].value, FIELD) == 0,
               "the metadata does not name the field");
    FUZZ_CHECK(strncmp(st.message, FIELD ": ", strlen(FIELD) + 2) == 0, "message: %s", st.message);
    FUZZ_CHECK(memcmp(&out, &before, sizeof out) == 0, "outputs changed on failure");
  } else {
    FUZZ_CHECK(st.code == PS_OK && st.message[0] == '\0', "status set on success");
    FUZZ_CHECK(ps_tenant_valid(out.tenant), "accepted an invalid tenant");
    char *back = format(which, &out);
    FUZZ_CHECK(back != NULL, "out of memory");
    FUZZ_CHECK(same_name(back, name), "parsed \"%s\", prints as \"%s\"", name, back);
    parsed_t again;
    memset(&again, 0xa5, sizeof again);
    FUZZ_CHECK(parse(which, back, &again, &st) == 0, "its own name does not parse: %s", back);
    FUZZ_CHECK(memcmp(&again, &out, sizeof out) == 0, "parsing it again gives other values");
  }
  free(name);
  ps_arena_reset(&arena);
  return 0;
}
