/* The pure parts of merging (S10-S14), shared by service/merges.c and its unit tests: the request
 * checks that need no database, the global lock order, and the refusals as values (a dry run
 * reports every one, a merge fails with the first). */
#ifndef PS_SERVICE_MERGES_H
#define PS_SERVICE_MERGES_H

#include <stddef.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/names.h"
#include "core/status.h"
#include "prospects/v1/service.pb-c.h"

#define PS_MERGE_SOURCES_MAX 10       /* sources of one merge (SPEC: a sane upper bound) */
#define PS_MERGE_PAGE_DEFAULT 1000    /* moved documents per GetMerge / MergeProspects response */
#define PS_MERGE_PAGE_MAX 5000        /* the most GetMerge returns at once (well under 1 MiB) */
#define PS_MERGE_LIST_PAGE 100        /* moved documents per merge in a ListMerges response */
#define PS_MERGE_CONTACTS_MAX 2000    /* contact persons of all sources (snapshot or moved) */
#define PS_MERGE_VIOLATIONS_MAX 64    /* more than the checks can produce */

/* One reason a merge is refused. Strings live in the arena (or are constants). */
typedef struct ps_merge_violation {
  ps_code_t code;          /* the gRPC code the merge fails with */
  const char *reason;      /* the ErrorInfo reason, e.g. "PROSPECT_MERGED" */
  const char *subject;     /* the resource name concerned */
  const char *field;       /* INVALID_ARGUMENT: the request field (ErrorInfo field), else NULL */
  const char *message;     /* one sentence for a human (starts with field when there is one) */
  const char *merged_into; /* PROSPECT_MERGED: the record it was merged into, else NULL */
  const char *surviving;   /* PROSPECT_MERGED: the live record at the end of the chain, or NULL */
} ps_merge_violation_t;

/* A list of violations, in the order they were found. */
typedef struct ps_merge_violations {
  int n;
  ps_merge_violation_t v[PS_MERGE_VIOLATIONS_MAX];
} ps_merge_violations_t;

/* Appends v (ignored when full). */
void ps_merge_violation_add(ps_merge_violations_t *list, const ps_merge_violation_t *v);

/* Sets st from v: code, reason, message, and ErrorInfo metadata field, prospect (the subject),
 * merged_into and surviving_prospect where set. Returns -1. */
int ps_merge_violation_fail(const ps_merge_violation_t *v, ps_status_t *st);

/* What a MergeProspectsRequest names, checked without the database. */
typedef struct ps_merge_plan {
  char tenant[PS_TENANT_MAX + 1];                 /* the target's tenant: the merge's tenant */
  ps_id_t target;                                 /* the surviving record */
  const char *target_name;                        /* its canonical name (in the arena) */
  int n_sources;                                  /* sources named (1..PS_MERGE_SOURCES_MAX) */
  ps_id_t source[PS_MERGE_SOURCES_MAX];           /* their ids */
  const char *source_name[PS_MERGE_SOURCES_MAX];  /* their canonical names (in the arena) */
  int source_usable[PS_MERGE_SOURCES_MAX];        /* 0: a violation below already refuses it, so
                                                     the database is not asked about it */
  ps_merge_violations_t violations;               /* per source: another tenant's record
                                                     (PROSPECT_NOT_FOUND), the target itself
                                                     (MERGE_INTO_ITSELF), named twice
                                                     (DUPLICATE_SOURCE) */
} ps_merge_plan_t;

/* Checks req: target and every sources[i].name well-formed names, 1 to PS_MERGE_SOURCES_MAX sources
 * (none: INVALID_FIELD on "sources"; more: reason TOO_MANY_SOURCES), request_id well-formed and
 * required unless validate_only, acting_user at most 255 characters of text. These are
 * INVALID_ARGUMENT even in a dry run (there is nothing to evaluate): -1 with st set. Otherwise 0
 * with *ret filled, its violations listing what can be refused without the database. Pure. */
int ps_merge_plan(ps_arena_t *a, const Prospects__V1__MergeProspectsRequest *req,
                  ps_merge_plan_t *ret, ps_status_t *st);

/* The global lock order of a merge: ret_order[0..n) becomes the indices of ids sorted by their
 * bytes (ascending), so that every merge locks any two records in the same order. Pure. */
void ps_merge_lock_order(const ps_id_t *ids, int n, int *ret_order);

/* A copy of metadata text s (x-caller, x-acting-user) fit for the merge record: control characters
 * (and every byte of a string that is not UTF-8) replaced by '?', cut after max_chars characters.
 * NULL when out of memory; "" for NULL. Pure. */
char *ps_merge_clean_text(ps_arena_t *a, const char *s, size_t max_chars);

#endif
