/* How close two names are, for the fuzzy duplicate check (SPEC: duplicate check). Pure functions
 * over name keys (ps_norm_name: folded, punctuation dropped, legal forms left out, words separated
 * by one space). Lengths are counted in characters (code points), not bytes. */
#ifndef PS_CORE_SIMILARITY_H
#define PS_CORE_SIMILARITY_H

#include <stddef.h>

/* Characters of a key that the comparisons look at; longer keys are compared on their start. */
#define PS_SIM_CHARS_MAX 64

/* Why two names are close, from the closest kind down. */
typedef enum ps_sim_kind {
  PS_SIM_NONE = 0,      /* not close */
  PS_SIM_EQUAL = 1,     /* the same key                                   score 1 */
  PS_SIM_SWAPPED = 2,   /* the same words in another order ("jansen jan") score 0.95 */
  PS_SIM_NEAR = 3,      /* a few edits apart ("jansen" / "janssen")       score 1 - edits/length */
  PS_SIM_CONTAINED = 4, /* one's words are a run of the other's ("de klok" in "brouwerij de klok")
                         * score 0.7 + 0.2 * shorter/longer */
} ps_sim_kind_t;

/* Score in [0, 1] of the closeness of name keys a and b, and its kind (the kind with the highest
 * score; PS_SIM_NONE and 0 when neither is close or either is shorter than 3 characters).
 * Near: the edit distance (insert, delete, substitute, swap two neighbours) of the keys, or of
 * their words sorted (then times 0.95), at most a fifth of the longer key (and at least 1). */
double ps_sim_names(const char *a, const char *b, ps_sim_kind_t *ret_kind);

/* Optimal string alignment distance (Damerau-Levenshtein without re-edits) of a and b in
 * characters, comparing at most PS_SIM_CHARS_MAX of each. */
int ps_sim_edit_distance(const char *a, const char *b);

/* Calls fn(arg, key, len) for each name key that could be close to key by ps_sim_names and is
 * found by equality: every string one edit away (delete, swap of neighbours, substitute or insert a
 * letter of a-z or of key itself), the words in another order (up to 4 words), and each run of
 * consecutive words (at least 4 characters). Nothing for keys under 3 or over PS_SIM_CHARS_MAX
 * characters. Duplicates are possible; key itself is not given. Stops early and returns -1 when
 * fn returns non-zero, else returns the number of calls. */
int ps_sim_variants(const char *key, int (*fn)(void *arg, const char *s, size_t n), void *arg);

#endif
