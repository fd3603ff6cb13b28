/* core/similarity.c: how close two name keys are, and the keys looked up to find close ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/similarity.h"

static double sim(const char *a, const char *b, ps_sim_kind_t want) {
  ps_sim_kind_t k, k2;
  double s = ps_sim_names(a, b, &k);
  double s2 = ps_sim_names(b, a, &k2); /* symmetric */
  assert_true(s == s2);
  assert_int_equal(k, k2);
  assert_int_equal(k, want);
  assert_true(s >= 0 && s <= 1);
  return s;
}

#define assert_near(x, y) assert_true((x) > (y) - 1e-9 && (x) < (y) + 1e-9)

static void test_kinds_and_scores(void **state) {
  (void)state;
  assert_near(sim("jan jansen", "jan jansen", PS_SIM_EQUAL), 1.0);
  assert_near(sim("jansen jan", "jan jansen", PS_SIM_SWAPPED), 0.95);
  assert_near(sim("janssen", "jansen", PS_SIM_NEAR), 1.0 - 1.0 / 7);
  assert_near(sim("jan janssen", "jan jansen", PS_SIM_NEAR), 1.0 - 1.0 / 11);
  assert_near(sim("pieters", "peeters", PS_SIM_NEAR), 1.0 - 1.0 / 7);
  assert_near(sim("jnasen", "jansen", PS_SIM_NEAR), 1.0 - 1.0 / 6); /* two neighbours swapped */
  /* swapped and misspelt: the sorted words are one edit apart */
  assert_near(sim("janssen jan", "jan jansen", PS_SIM_NEAR), 0.95 * (1.0 - 1.0 / 11));
  /* a run of the other's words: 0.7 + 0.2 * letters of the shorter / letters of the longer */
  assert_near(sim("brouwerij de klok", "de klok", PS_SIM_CONTAINED), 0.7 + 0.2 * 6 / 15);
  assert_near(sim("de klok", "de klok brouwerij", PS_SIM_CONTAINED), 0.7 + 0.2 * 6 / 15);
  /* the closer kind wins: one edit in 12 (0.92) beats containment */
  assert_near(sim("bakkerij smit", "bakkerij smits", PS_SIM_NEAR), 1.0 - 1.0 / 14);
  /* not close */
  sim("pieters", "jansen", PS_SIM_NONE);
  sim("de", "de klok", PS_SIM_NONE);        /* too short to say anything */
  sim("de klo", "de klok bv", PS_SIM_NONE); /* not whole words */
  sim("meijer", "meyer", PS_SIM_NONE);      /* two edits in six: more than a fifth */
  sim("klok de", "de klok brouwerij", PS_SIM_NONE);
  ps_sim_kind_t k;
  assert_near(ps_sim_names("", "x", &k), 0);
  assert_int_equal(k, PS_SIM_NONE);
  assert_near(ps_sim_names(NULL, "x", &k), 0);
  /* other scripts count characters, not bytes */
  assert_near(sim("σωκρατης", "σωκρατις", PS_SIM_NEAR), 1.0 - 1.0 / 8);
  assert_near(sim("дмитрий иванов", "иванов дмитрий", PS_SIM_SWAPPED), 0.95);
}

static void test_edit_distance(void **state) {
  (void)state;
  assert_int_equal(ps_sim_edit_distance("kitten", "sitting"), 3);
  assert_int_equal(ps_sim_edit_distance("abcd", "acbd"), 1);
  assert_int_equal(ps_sim_edit_distance("", "abc"), 3);
  assert_int_equal(ps_sim_edit_distance("abc", ""), 3);
  assert_int_equal(ps_sim_edit_distance("same", "same"), 0);
  assert_int_equal(ps_sim_edit_distance("ca", "abc"), 3); /* OSA: no edit of a swapped pair */
  assert_int_equal(ps_sim_edit_distance("łódź", "lodz"), 3);
}

typedef struct seen {
  int n;
  char all[4096][72];
  int stop_after;
} seen_t;

static int collect(void *arg, const char *s, size_t n) {
  seen_t *v = arg;
  assert_int_equal(strlen(s), n);
  if (v->stop_after && v->n == v->stop_after) return 1;
  assert_true(n < sizeof v->all[0]);
  if (v->n < 4096) memcpy(v->all[v->n++], s, n + 1);
  return 0;
}

static int has(const seen_t *v, const char *s) {
  for (int i = 0; i < v->n; i++)
    if (strcmp(v->all[i], s) == 0) return 1;
  return 0;
}

static seen_t v;

static void test_variants(void **state) {
  (void)state;
  memset(&v, 0, sizeof v);
  /* 3 deletions, 2 swaps, 3 * 25 substitutions, 4 * 26 insertions */
  assert_int_equal(ps_sim_variants("abc", collect, &v), 3 + 2 + 75 + 104);
  assert_false(has(&v, "abc"));
  memset(&v, 0, sizeof v);
  assert_true(ps_sim_variants("jansen", collect, &v) > 0);
  assert_true(has(&v, "janssen") && has(&v, "jansn") && has(&v, "jnasen") && has(&v, "jonsen"));
  memset(&v, 0, sizeof v);
  assert_true(ps_sim_variants("brouwerij de klok", collect, &v) > 0);
  assert_true(has(&v, "de klok") && has(&v, "brouwerij") && has(&v, "brouwerij de"));
  assert_true(has(&v, "klok de brouwerij") && has(&v, "de brouwerij klok"));
  assert_false(has(&v, "de")); /* runs of fewer than 4 letters are not looked up */
  assert_true(has(&v, "klok")); /* 4 letters: yes */
  /* every variant of a key is close to it by ps_sim_names, or is a run / an order of its words */
  memset(&v, 0, sizeof v);
  ps_sim_variants("jan jansen", collect, &v);
  for (int i = 0; i < v.n; i++) {
    ps_sim_kind_t k;
    double s = ps_sim_names("jan jansen", v.all[i], &k);
    assert_true(k != PS_SIM_NONE && s > 0.5);
  }
  /* other scripts: substitutions also try the key's own letters */
  memset(&v, 0, sizeof v);
  ps_sim_variants("σωκρατης", collect, &v);
  assert_true(has(&v, "σωκρατησ") && has(&v, "σωκρτης"));
  /* nothing for keys too short or too long; the callback can stop it */
  memset(&v, 0, sizeof v);
  assert_int_equal(ps_sim_variants("ab", collect, &v), 0);
  char long_key[PS_SIM_CHARS_MAX + 2];
  memset(long_key, 'a', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = '\0';
  assert_int_equal(ps_sim_variants(long_key, collect, &v), 0);
  memset(&v, 0, sizeof v);
  v.stop_after = 5;
  assert_int_equal(ps_sim_variants("jansen", collect, &v), -1);
  assert_int_equal(v.n, 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kinds_and_scores),
      cmocka_unit_test(test_edit_distance),
      cmocka_unit_test(test_variants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
