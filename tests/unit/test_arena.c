/* core/arena.c: the per-call bump allocator and its budget. Past the budget an allocation is NULL
 * and the arena remembers it ran out (the transport then answers RESOURCE_EXHAUSTED); a reset
 * starts the next call with a clean slate; without a limit nothing is refused; protobuf-c decoding
 * through the arena's allocator fails cleanly when the budget is too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/arena.h"
#include "prospects/v1/service.pb-c.h"

#define BLOCK 1024

/* The state of the arena, printed with both sides when it differs. */
static void assert_state_at(const ps_arena_t *a, size_t held, int exhausted, const char *file,
                            int line) {
  if (a->held != held || a->exhausted != exhausted) {
    print_error("arena: held %zu exhausted %d, want held %zu exhausted %d\n", a->held, a->exhausted,
                held, exhausted);
    _fail(file, line);
  }
}
#define ASSERT_STATE(a, held, exhausted)                                                           \
  assert_state_at((a), (held), (exhausted), __FILE__, __LINE__)

static void test_allocations_are_zeroed_aligned_and_kept(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  ASSERT_STATE(&a, BLOCK, 0);
  assert_int_equal(a.peak, BLOCK);
  unsigned char *p[40];
  for (int i = 0; i < 40; i++) { /* 40 x 100 bytes: spills into new blocks */
    p[i] = ps_arena_alloc(&a, 100);
    assert_non_null(p[i]);
    assert_int_equal((uintptr_t)p[i] % 16, 0);
    for (int j = 0; j < 100; j++) assert_int_equal(p[i][j], 0);
    memset(p[i], i + 1, 100);
  }
  for (int i = 0; i < 40; i++)
    for (int j = 0; j < 100; j++) assert_int_equal(p[i][j], i + 1);
  assert_true(a.held > BLOCK);
  assert_int_equal(a.exhausted, 0);
  char *s = ps_arena_strdup(&a, "Zürich");
  assert_string_equal(s, "Zürich");
  s = ps_arena_strndup(&a, "abcdef", 3);
  assert_string_equal(s, "abc");
  s = ps_arena_printf(&a, "%s-%d", "call", 42);
  assert_string_equal(s, "call-42");
  ps_arena_destroy(&a);
  assert_null(a.head);
  assert_int_equal(a.held, 0);
}

/* No limit: nothing is refused but what malloc refuses. */
static void test_no_limit_is_unlimited(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  assert_int_equal(a.limit, 0);
  for (int i = 0; i < 64; i++) assert_non_null(ps_arena_alloc(&a, 16 * 1024));
  unsigned char *big = ps_arena_alloc(&a, 8 * 1024 * 1024);
  assert_non_null(big);
  big[8 * 1024 * 1024 - 1] = 1;
  assert_int_equal(a.exhausted, 0);
  assert_true(a.held >= BLOCK + 64 * 16 * 1024 + 8 * 1024 * 1024);
  /* a limit set and taken away again */
  ps_arena_set_limit(&a, BLOCK);
  assert_null(ps_arena_alloc(&a, 2 * BLOCK));
  assert_int_equal(a.exhausted, 1);
  ps_arena_set_limit(&a, 0);
  assert_non_null(ps_arena_alloc(&a, 2 * BLOCK));
  ps_arena_destroy(&a);
}

/* The budget counts the blocks of the call: up to it exactly, then NULL and `exhausted`. */
static void test_allocations_past_the_budget_fail(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  ps_arena_set_limit(&a, 4 * BLOCK);
  unsigned char *p[4];
  for (int i = 0; i < 4; i++) { /* each fills one block: 4 blocks = the budget exactly */
    p[i] = ps_arena_alloc(&a, BLOCK - 16);
    assert_non_null(p[i]);
    memset(p[i], 0xa0 + i, BLOCK - 16);
    ASSERT_STATE(&a, (size_t)(i + 1) * BLOCK, 0);
  }
  assert_non_null(ps_arena_alloc(&a, 16)); /* what is left in the head block is still handed out */
  assert_null(ps_arena_alloc(&a, 16));     /* a fifth block would pass the budget */
  ASSERT_STATE(&a, 4 * BLOCK, 1);
  assert_null(ps_arena_strdup(&a, "x"));
  assert_null(ps_arena_printf(&a, "%d", 1));
  /* earlier allocations are untouched */
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < BLOCK - 16; j++) assert_int_equal(p[i][j], 0xa0 + i);
  assert_int_equal(a.peak, 4 * BLOCK);
  ps_arena_destroy(&a);
}

/* An array grown in the arena keeps its elements, doubles from its first size, and fails cleanly
 * past the budget. */
static void test_grow(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  int *v = NULL;
  size_t cap = 0, n = 0;
  for (int i = 0; i < 100; i++) {
    int room = n < cap;
    int *g = ps_arena_grow(&a, v, n, &cap, sizeof *v, 4);
    assert_non_null(g);
    if (room) assert_ptr_equal(g, v); /* room left: the same array */
    v = g;
    v[n++] = i;
  }
  assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
  for (int i = 0; i < 100; i++) assert_int_equal(v[i], i);
  size_t huge = SIZE_MAX / 2 + 1;
  assert_null(ps_arena_grow(&a, v, huge, &huge, 8, 4)); /* a size that would overflow */
  ps_arena_destroy(&a);
  /* past the budget: a block's worth of elements in an arena of one block */
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  ps_arena_set_limit(&a, BLOCK);
  char (*big)[BLOCK / 2] = NULL;
  cap = 0;
  big = ps_arena_grow(&a, big, 0, &cap, sizeof *big, 1);
  assert_non_null(big);
  assert_int_equal(cap, 1);
  assert_null(ps_arena_grow(&a, big, 1, &cap, sizeof *big, 1));
  assert_int_equal(cap, 1); /* unchanged on failure */
  ps_arena_destroy(&a);
}

/* One allocation larger than a block gets a block of its own, inside the budget or not at all. */
static void test_oversized_single_allocations(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  ps_arena_set_limit(&a, 4 * BLOCK);
  unsigned char *head = ps_arena_alloc(&a, 16);
  assert_non_null(head);
  assert_null(ps_arena_alloc(&a, 4 * BLOCK)); /* alone it is the budget; with the head, past it */
  ASSERT_STATE(&a, BLOCK, 1);
  assert_null(ps_arena_alloc(&a, 5 * BLOCK));
  ps_arena_reset(&a);
  unsigned char *big = ps_arena_alloc(&a, 3 * BLOCK); /* 1 + 3 blocks: the budget exactly */
  assert_non_null(big);
  ASSERT_STATE(&a, 4 * BLOCK, 0);
  memset(big, 0x55, 3 * BLOCK);
  /* the head block keeps filling: no new block for the next small allocation */
  unsigned char *small = ps_arena_alloc(&a, 16);
  assert_non_null(small);
  ASSERT_STATE(&a, 4 * BLOCK, 0);
  assert_true(small < big || small >= big + 3 * BLOCK);
  /* sizes that cannot be had at all, whatever the budget: refused and remembered */
  const size_t huge[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - 20, SIZE_MAX - 40, SIZE_MAX / 2};
  for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
    ps_arena_reset(&a);
    ASSERT_STATE(&a, BLOCK, 0);
    if (ps_arena_alloc(&a, huge[i]) != NULL) fail_msg("alloc(%zu) was not refused", huge[i]);
    if (!a.exhausted) fail_msg("alloc(%zu) refused, but exhausted is not set", huge[i]);
    if (huge[i] < SIZE_MAX - 64) continue; /* without a limit that one would go to malloc */
    ps_arena_set_limit(&a, 0);
    ps_arena_reset(&a);
    if (ps_arena_alloc(&a, huge[i]) != NULL) fail_msg("alloc(%zu) without limit", huge[i]);
    if (!a.exhausted) fail_msg("alloc(%zu) without limit: exhausted is not set", huge[i]);
    ps_arena_set_limit(&a, 4 * BLOCK);
  }
  ps_arena_reset(&a);
  assert_null(ps_arena_strndup(&a, "x", SIZE_MAX));
  ps_arena_destroy(&a);
}

/* A reset gives the next call the whole budget again: exhausted cleared, one block held; peak is
 * the most ever held. */
static void test_reset_clears_exhausted_and_held_peak_stays(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  ps_arena_set_limit(&a, 3 * BLOCK);
  int n = 0;
  while (ps_arena_alloc(&a, 200))
    if (++n > 100) fail_msg("100 allocations of 200 bytes fit a budget of %d", 3 * BLOCK);
  ASSERT_STATE(&a, 3 * BLOCK, 1);
  assert_int_equal(a.peak, 3 * BLOCK);
  ps_arena_reset(&a);
  ASSERT_STATE(&a, BLOCK, 0);
  assert_int_equal(a.limit, 3 * BLOCK); /* the budget stays */
  assert_int_equal(a.peak, 3 * BLOCK);
  /* the kept block is handed out from its start again, zeroed */
  unsigned char *p = ps_arena_alloc(&a, BLOCK);
  assert_non_null(p);
  for (int i = 0; i < BLOCK; i++) assert_int_equal(p[i], 0);
  ASSERT_STATE(&a, BLOCK, 0);
  /* a second call may use the whole budget again */
  assert_non_null(ps_arena_alloc(&a, 2 * BLOCK));
  ASSERT_STATE(&a, 3 * BLOCK, 0);
  assert_null(ps_arena_alloc(&a, 32));
  ASSERT_STATE(&a, 3 * BLOCK, 1);
  /* peak grows only past its old value */
  ps_arena_reset(&a);
  ps_arena_set_limit(&a, 0);
  assert_non_null(ps_arena_alloc(&a, 5 * BLOCK));
  ASSERT_STATE(&a, 6 * BLOCK, 0);
  assert_int_equal(a.peak, 6 * BLOCK);
  ps_arena_reset(&a);
  assert_int_equal(a.peak, 6 * BLOCK);
  ASSERT_STATE(&a, BLOCK, 0);
  ps_arena_destroy(&a);
  /* a zeroed arena that was never initialised can be destroyed and reset */
  ps_arena_t z;
  memset(&z, 0, sizeof z);
  ps_arena_reset(&z);
  ps_arena_destroy(&z);
}

/* A CreateProspectRequest with notes of n bytes, packed into *ret (free it). */
static size_t packed_create(size_t notes_len, uint8_t **ret) {
  static char notes[20000];
  assert_true(notes_len < sizeof notes);
  memset(notes, 'n', notes_len);
  notes[notes_len] = '\0';
  Prospects__V1__Prospect p = PROSPECTS__V1__PROSPECT__INIT;
  p.kind = PROSPECTS__V1__PARTY_KIND__COMPANY;
  p.company_name = "Acme B.V.";
  p.notes = notes;
  Prospects__V1__CreateProspectRequest req = PROSPECTS__V1__CREATE_PROSPECT_REQUEST__INIT;
  req.parent = "tenants/acme";
  req.prospect = &p;
  size_t n = prospects__v1__create_prospect_request__get_packed_size(&req);
  *ret = test_malloc(n);
  assert_int_equal(prospects__v1__create_prospect_request__pack(&req, *ret), n);
  return n;
}

/* protobuf-c decodes through the arena's allocator; a budget too small makes the decode fail (NULL,
 * no crash, nothing leaked: the arena owns every partial allocation) and marks the arena; a reset
 * and a budget that fits decode the same bytes. */
static void test_unpack_through_the_arena_fails_cleanly_past_the_budget(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, BLOCK), 0);
  uint8_t *buf;
  size_t n = packed_create(10000, &buf);
  ps_arena_set_limit(&a, 4 * BLOCK); /* the notes alone need 10 KiB */
  ProtobufCMessage *m = protobuf_c_message_unpack(
      &prospects__v1__create_prospect_request__descriptor, &a.allocator, n, buf);
  assert_null(m);
  assert_int_equal(a.exhausted, 1);
  assert_true(a.held <= 4 * BLOCK);
  ps_arena_reset(&a);
  ps_arena_set_limit(&a, 16 * BLOCK);
  m = protobuf_c_message_unpack(&prospects__v1__create_prospect_request__descriptor, &a.allocator,
                                n, buf);
  assert_non_null(m);
  assert_int_equal(a.exhausted, 0);
  const Prospects__V1__CreateProspectRequest *r = (const Prospects__V1__CreateProspectRequest *)m;
  assert_string_equal(r->parent, "tenants/acme");
  assert_string_equal(r->prospect->company_name, "Acme B.V.");
  assert_int_equal(strlen(r->prospect->notes), 10000);
  protobuf_c_message_free_unpacked(m, &a.allocator); /* a no-op on the arena, and allowed */
  assert_true(a.held <= 16 * BLOCK);
  /* a small request fits a small budget */
  ps_arena_reset(&a);
  test_free(buf);
  n = packed_create(10, &buf);
  ps_arena_set_limit(&a, BLOCK);
  m = protobuf_c_message_unpack(&prospects__v1__create_prospect_request__descriptor, &a.allocator,
                                n, buf);
  assert_non_null(m);
  ASSERT_STATE(&a, BLOCK, 0);
  test_free(buf);
  ps_arena_destroy(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_allocations_are_zeroed_aligned_and_kept),
      cmocka_unit_test(test_no_limit_is_unlimited),
      cmocka_unit_test(test_allocations_past_the_budget_fail),
      cmocka_unit_test(test_oversized_single_allocations),
      cmocka_unit_test(test_grow),
      cmocka_unit_test(test_reset_clears_exhausted_and_held_peak_stays),
      cmocka_unit_test(test_unpack_through_the_arena_fails_cleanly_past_the_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
