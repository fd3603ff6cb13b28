/* A person's data (issue 16, GDPR): ExportPersonData (access) and ErasePersonData (erasure).
 *
 * The subject is a prospect (live, merged away, or erased before) or a contact person. Its lineage
 * is the record and every record merged into it, directly or through earlier merges (tombstones
 * whose merged_into leads to it): their data became the record's data when they were merged. The
 * merges of the lineage are the merges that deleted one of its records; their source snapshots
 * hold the lineage's data. docs/personal-data.md lists every place personal data lives and what
 * erasure does with it.
 *
 * Transaction and locks of ErasePersonData (one transaction, READ COMMITTED, rerun by ps_db_tx
 * after a deadlock or lock wait timeout):
 *   1. the idempotency key, when request_id is given;
 *   2. the record read FOR UPDATE, as a merge locks its target and sources: a merge, link, intake,
 *      conversion or new contact person of the record either committed before us (and is erased
 *      with it) or waits and then finds the record gone; a contact person is then read FOR UPDATE;
 *   3. the lineage read (tombstones are never changed once written);
 *   4. the record (or contact person) deleted with its contact persons and word index rows, and
 *      marked in erased_records; the lineage's rows in the indexer's queue (ids only) deleted;
 *   5. the party snapshots of the links on the record and of the links the lineage's merges moved
 *      away from it, each read FOR UPDATE, redacted (INVOICE and CREDIT_NOTE links kept unless
 *      erase_invoice_snapshots);
 *   6. each merge record of the lineage read FOR UPDATE, its snapshots of the subject redacted;
 *   7. audit rows about the record, its contact persons and those merges that name the person
 *      (acting user, details) blanked and marked redacted;
 *   8. the tenant's stored idempotency responses that mention the subject (its names or values)
 *      deleted, in request id order;
 *   9. when anything changed, an audit row (names only); the response stored under the key;
 *      commit.
 * ExportPersonData reads the same places in one snapshot (ps_db_begin_snapshot). Neither method is
 * gated by the apps: an operator must be able to answer a request of a person whatever the tenant
 * switched off. */
#include <stdio.h>
#include <string.h>

#include "core/names.h"
#include "core/pagetoken.h"
#include "core/validate.h"
#include "service/audit.h"
#include "service/documents.h"
#include "service/merges.h"
#include "service/person_data.h"
#include "service/service.h"
#include "store/contact_persons.h"
#include "store/documents.h"
#include "store/idempotency.h"
#include "store/index_queue.h"
#include "store/person_data.h"

#define LINEAGE_MAX 4096          /* records of one lineage (a merge takes 10 sources at most) */
#define AUDIT_PER_RESOURCE 1000   /* audit rows read per resource */
#define DOCS_DEFAULT 1000         /* document links per ExportPersonData response */
#define DOCS_MAX 5000
#define IDEM_BATCH 500            /* idempotency keys read at a time */
#define SCRATCH_LIMIT (64u << 20) /* the memory of one batch of stored responses or snapshots */
#define ACTING_USER_MAX 255

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

/* ------------------------------------------------------------------------------ pure parts */

void ps_person_value_add(ps_person_values_t *v, const char *s) {
  if (!s || strlen(s) < PS_PERSON_VALUE_MIN || v->n >= PS_PERSON_VALUES_MAX) return;
  for (int i = 0; i < v->n; i++)
    if (strcmp(v->v[i], s) == 0) return;
  v->v[v->n++] = s;
}

int ps_person_contains(const unsigned char *hay, size_t n, const char *needle) {
  size_t m = strlen(needle);
  if (m == 0 || m > n) return 0;
  for (size_t i = 0; i + m <= n; i++) {
    size_t k = 0;
    while (k < m) {
      unsigned char x = hay[i + k], y = (unsigned char)needle[k];
      if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
      if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
      if (x != y) break;
      k++;
    }
    if (k == m) return 1;
  }
  return 0;
}

int ps_person_names(const ps_person_values_t *v, const char *text) {
  if (!text || !text[0]) return 0;
  for (int i = 0; i < v->n; i++)
    if (ps_person_contains((const unsigned char *)text, strlen(text), v->v[i])) return 1;
  return 0;
}

Prospects__V1__Prospect *ps_person_blank_prospect(ps_arena_t *a, const Prospects__V1__Prospect *p) {
  Prospects__V1__Prospect *b = ps_arena_alloc(a, sizeof *b);
  if (!b) return NULL;
  prospects__v1__prospect__init(b);
  b->name = p->name;
  b->kind = p->kind;
  b->state = p->state;
  b->create_time = p->create_time;
  b->update_time = p->update_time;
  b->convert_time = p->convert_time;
  b->converting_invoice = p->converting_invoice;
  b->etag = p->etag;
  return b;
}

Prospects__V1__ContactPerson *ps_person_blank_contact(ps_arena_t *a,
                                                      const Prospects__V1__ContactPerson *c) {
  Prospects__V1__ContactPerson *b = ps_arena_alloc(a, sizeof *b);
  if (!b) return NULL;
  prospects__v1__contact_person__init(b);
  b->name = c->name;
  b->create_time = c->create_time;
  b->update_time = c->update_time;
  b->etag = c->etag;
  return b;
}

int ps_person_prospect_has_data(const Prospects__V1__Prospect *p) {
  return p && (ps_has_text(p->display_name) || ps_has_text(p->first_name) ||
               ps_has_text(p->last_name) || ps_has_text(p->company_name) ||
               ps_has_text(p->vat_number) || ps_has_text(p->email) || ps_has_text(p->phone) ||
               ps_has_text(p->website) || ps_has_text(p->language) || ps_has_text(p->notes) ||
               p->address);
}

int ps_person_contact_has_data(const Prospects__V1__ContactPerson *c) {
  return c && (ps_has_text(c->first_name) || ps_has_text(c->last_name) || ps_has_text(c->email) ||
               ps_has_text(c->phone) || ps_has_text(c->role));
}

int ps_person_snapshot_has_data(const Prospects__V1__PartySnapshot *p) {
  return p && (ps_has_text(p->display_name) || ps_has_text(p->first_name) ||
               ps_has_text(p->last_name) || ps_has_text(p->company_name) ||
               ps_has_text(p->vat_number) || ps_has_text(p->email) || ps_has_text(p->phone) ||
               p->address);
}

/* ------------------------------------------------------------------------------ the subject */

typedef struct subject {
  char tenant[PS_TENANT_MAX + 1];
  const char *name;               /* the canonical name asked for */
  ps_id_t id;                     /* the prospect, or the contact person's prospect */
  int is_contact;
  ps_id_t contact_id;
  int live;                       /* the prospect is a live record (row) */
  ps_prospect_cols_t row;
  int contact_live;               /* the contact person is live (contact) */
  ps_contact_cols_t contact;
  int erased;                     /* the subject was erased before */
  int merged_away;                /* the prospect has a tombstone (into, tomb_merge) */
  ps_id_t tomb_merge;
  ps_id_t *lineage;               /* [0] is id, then every record merged into one of them */
  ps_id_t *lineage_merge;         /* the merge that deleted lineage[i] */
  int *lineage_has_merge;         /* lineage[i] was merged away */
  int n_lineage;
  ps_id_t *merges;                /* distinct merges of the lineage */
  int n_merges;
  ps_person_values_t values;      /* the person's values, to find copies in free text and blobs */
  char idtext[LINEAGE_MAX + 2][PS_ID_TEXT_LEN + 1]; /* lineage ids, then the contact's */
  int n_idtext;
} subject_t;

static void add_value(subject_t *s, const char *v) { ps_person_value_add(&s->values, v); }

static int add_name_value(ps_arena_t *a, subject_t *s, const char *first, const char *last) {
  if (first && first[0] && last && last[0]) {
    char *both = ps_arena_printf(a, "%s %s", first, last);
    if (!both) return -1;
    add_value(s, both);
  }
  return 0;
}

static int add_prospect_values(ps_arena_t *a, subject_t *s, const Prospects__V1__Prospect *p) {
  if (!p) return 0;
  add_value(s, p->display_name);
  add_value(s, p->company_name);
  add_value(s, p->email);
  add_value(s, p->phone);
  add_value(s, p->vat_number);
  return add_name_value(a, s, p->first_name, p->last_name);
}

static int add_contact_values(ps_arena_t *a, subject_t *s, const Prospects__V1__ContactPerson *c) {
  if (!c) return 0;
  add_value(s, c->email);
  add_value(s, c->phone);
  return add_name_value(a, s, c->first_name, c->last_name);
}

/* 1 when text names the person: holds one of its values. */
static int names_person(const subject_t *s, const char *text) {
  return ps_person_names(&s->values, text);
}

/* 1 when a stored blob mentions the subject: one of its ids or values. */
static int blob_mentions(const subject_t *s, const ps_blob_t *b) {
  if (!b->data || b->len == 0) return 0;
  for (int i = 0; i < s->n_idtext; i++)
    if (ps_person_contains(b->data, b->len, s->idtext[i])) return 1;
  for (int i = 0; i < s->values.n; i++)
    if (ps_person_contains(b->data, b->len, s->values.v[i])) return 1;
  return 0;
}

static int in_lineage(const subject_t *s, const ps_id_t *id) {
  for (int i = 0; i < s->n_lineage; i++)
    if (memcmp(s->lineage[i].b, id->b, 16) == 0) return 1;
  return 0;
}

/* Parses name: a prospect or a contact person. 0, or -1 with st set. */
static int subject_parse(ps_arena_t *a, const char *name, subject_t *s, ps_status_t *st) {
  memset(s, 0, sizeof *s);
  if (name && strstr(name, "/contactPersons/")) {
    if (ps_name_parse_contact_person(name, "name", s->tenant, &s->id, &s->contact_id, st) != 0)
      return -1;
    s->is_contact = 1;
    s->name = ps_name_contact_person(a, s->tenant, &s->id, &s->contact_id);
  } else {
    if (ps_name_parse_prospect(name, "name", s->tenant, &s->id, st) != 0) return -1;
    s->name = ps_name_prospect(a, s->tenant, &s->id);
  }
  s->lineage = ps_arena_alloc(a, sizeof *s->lineage * LINEAGE_MAX);
  s->lineage_merge = ps_arena_alloc(a, sizeof *s->lineage_merge * LINEAGE_MAX);
  s->lineage_has_merge = ps_arena_alloc(a, sizeof *s->lineage_has_merge * LINEAGE_MAX);
  s->merges = ps_arena_alloc(a, sizeof *s->merges * LINEAGE_MAX);
  if (!s->name || !s->lineage || !s->lineage_merge || !s->lineage_has_merge || !s->merges)
    return out_of_memory(st);
  return 0;
}

/* Steps 2 and 3 (lock PS_LOCK_UPDATE in the erasure, PS_LOCK_NONE in the export): the record, the
 * contact person, the erased mark, the tombstone and the lineage with its merges. 0, or -1. */
static int subject_read(ps_db_t *db, ps_arena_t *a, subject_t *s, ps_lock_t lock,
                        ps_status_t *st) {
  s->live = s->contact_live = s->erased = s->merged_away = 0;
  s->n_lineage = s->n_merges = s->values.n = s->n_idtext = 0;
  int rc = ps_store_prospect_get(db, a, s->tenant, &s->id, lock, &s->row, st);
  if (rc < 0) return -1;
  s->live = rc == 1;
  int kind = 0;
  if (s->is_contact) {
    if ((rc = ps_store_contact_get(db, a, s->tenant, &s->id, &s->contact_id, lock, &s->contact,
                                   st)) < 0)
      return -1;
    s->contact_live = rc == 1;
    if ((rc = ps_store_erased_get(db, s->tenant, &s->contact_id, &kind, st)) < 0) return -1;
    s->erased = rc == 1 && kind == PS_ERASED_CONTACT_PERSON;
  } else {
    if ((rc = ps_store_erased_get(db, s->tenant, &s->id, &kind, st)) < 0) return -1;
    s->erased = rc == 1 && kind == PS_ERASED_PROSPECT;
  }
  ps_id_t into;
  if ((rc = ps_store_tombstone_of(db, s->tenant, &s->id, &into, &s->tomb_merge, st)) < 0) return -1;
  s->merged_away = rc == 1;

  s->lineage[0] = s->id;
  s->lineage_has_merge[0] = s->merged_away;
  s->lineage_merge[0] = s->tomb_merge;
  s->n_lineage = 1;
  ps_merged_in_t *rows = ps_arena_alloc(a, sizeof *rows * LINEAGE_MAX);
  if (!rows) return out_of_memory(st);
  for (int i = 0; i < s->n_lineage; i++) {
    int n = 0;
    if (ps_store_tombstones_into(db, s->tenant, &s->lineage[i], LINEAGE_MAX + 1 - s->n_lineage,
                                 rows, &n, st) != 0)
      return -1;
    if (s->n_lineage + n > LINEAGE_MAX)
      return ps_fail(st, PS_FAILED_PRECONDITION, "LINEAGE_TOO_LARGE",
                     "More than %d records were merged into %s; its data cannot be gathered in "
                     "one call.", LINEAGE_MAX, s->name);
    for (int k = 0; k < n; k++) {
      s->lineage[s->n_lineage] = rows[k].id;
      s->lineage_merge[s->n_lineage] = rows[k].merge_id;
      s->lineage_has_merge[s->n_lineage] = 1;
      s->n_lineage++;
    }
  }
  for (int i = 0; i < s->n_lineage; i++) {
    if (!s->lineage_has_merge[i]) continue;
    int seen = 0;
    for (int k = 0; k < s->n_merges && !seen; k++)
      seen = memcmp(s->merges[k].b, s->lineage_merge[i].b, 16) == 0;
    if (!seen) s->merges[s->n_merges++] = s->lineage_merge[i];
  }
  if (!s->is_contact)
    for (int i = 0; i < s->n_lineage; i++) ps_id_format(&s->lineage[i], s->idtext[s->n_idtext++]);
  else
    ps_id_format(&s->contact_id, s->idtext[s->n_idtext++]);

  if (s->is_contact && s->contact_live) {
    Prospects__V1__ContactPerson *c = ps_store_contact_msg(a, s->tenant, &s->contact);
    if (!c || add_contact_values(a, s, c) != 0) return out_of_memory(st);
  } else if (!s->is_contact && s->live) {
    Prospects__V1__Prospect *p = ps_store_prospect_msg(a, s->tenant, &s->row);
    if (!p || add_prospect_values(a, s, p) != 0) return out_of_memory(st);
  }
  return 0;
}

/* 1 when the snapshot's contact person is the subject's. */
static int is_subject_contact(const subject_t *s, const Prospects__V1__ContactPerson *c) {
  char t[PS_TENANT_MAX + 1];
  ps_id_t p, id;
  ps_status_t ignore;
  memset(&ignore, 0, sizeof ignore);
  if (!c || ps_name_parse_contact_person(c->name, "name", t, &p, &id, &ignore) != 0) {
    ps_status_clear(&ignore);
    return 0;
  }
  return memcmp(id.b, s->contact_id.b, 16) == 0;
}

/* 1 when the merge source snapshot is of a record of the subject's lineage (a prospect subject). */
static int is_lineage_source(const subject_t *s, const Prospects__V1__MergedSource *ms) {
  char t[PS_TENANT_MAX + 1];
  ps_id_t id;
  ps_status_t ignore;
  memset(&ignore, 0, sizeof ignore);
  if (!ms || !ms->prospect || ps_name_parse_prospect(ms->prospect->name, "name", t, &id, &ignore) != 0) {
    ps_status_clear(&ignore);
    return 0;
  }
  return in_lineage(s, &id);
}

/* The subject's merge records: unpacked, read with lock. Contact persons: only those whose
 * snapshots hold the contact person. ret_rows[i] is the row of ret_msgs[i]. */
static int read_merges(ps_db_t *db, ps_arena_t *a, subject_t *s, ps_lock_t lock,
                       Prospects__V1__Merge ***ret_msgs, ps_merge_row_t **ret_rows, int *ret_n,
                       ps_status_t *st) {
  Prospects__V1__Merge **msgs = ps_arena_alloc(a, sizeof *msgs * (size_t)(s->n_merges + 1));
  ps_merge_row_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)(s->n_merges + 1));
  if (!msgs || !rows) return out_of_memory(st);
  int n = 0;
  for (int i = 0; i < s->n_merges; i++) {
    ps_merge_row_t row;
    int rc = ps_store_merge_get_locked(db, a, s->tenant, &s->merges[i], lock, &row, st);
    if (rc < 0) return -1;
    if (rc == 0) continue;
    Prospects__V1__Merge *m =
        prospects__v1__merge__unpack(&a->allocator, row.record.len, row.record.data);
    if (!m) return ps_fail(st, PS_INTERNAL, "", "A stored merge record is unreadable.");
    int holds = !s->is_contact;
    for (size_t k = 0; k < m->n_source_snapshots; k++) {
      Prospects__V1__MergedSource *ms = m->source_snapshots[k];
      if (!s->is_contact) {
        if (is_lineage_source(s, ms) && add_prospect_values(a, s, ms->prospect) != 0)
          return out_of_memory(st);
        if (is_lineage_source(s, ms))
          for (size_t c = 0; c < ms->n_contact_persons; c++)
            if (add_contact_values(a, s, ms->contact_persons[c]) != 0) return out_of_memory(st);
        continue;
      }
      for (size_t c = 0; c < ms->n_contact_persons; c++) {
        if (!is_subject_contact(s, ms->contact_persons[c])) continue;
        holds = 1;
        if (add_contact_values(a, s, ms->contact_persons[c]) != 0) return out_of_memory(st);
      }
    }
    if (!holds) continue;
    /* moved documents are paged by GetMerge; the person's data is in the snapshots */
    if (m->n_moved_documents > 0 && m->moved_document_count == 0)
      m->moved_document_count = (int64_t)m->n_moved_documents;
    m->n_moved_documents = 0;
    m->moved_documents = NULL;
    msgs[n] = m;
    rows[n] = row;
    n++;
  }
  *ret_msgs = msgs;
  *ret_rows = rows;
  *ret_n = n;
  return 0;
}

/* ------------------------------------------------------------------------------ ErasePersonData */

typedef struct erase_job {
  ps_arena_t *arena;
  subject_t *s;
  const Prospects__V1__ErasePersonDataRequest *req;
  const char *caller;
  const char *actor;
  int with_key;
  ps_idem_key_t key;
  int replay;
  ps_blob_t stored;
  int missing;                              /* out: the service holds nothing of the subject */
  Prospects__V1__ErasePersonDataResponse *out;
} erase_job_t;

/* Adds v to the subject's values, copied into a when it is new. 0, or -1 when out of memory. */
static int keep_value(ps_arena_t *a, subject_t *s, const char *v) {
  if (!v || strlen(v) < PS_PERSON_VALUE_MIN || s->values.n >= PS_PERSON_VALUES_MAX) return 0;
  for (int i = 0; i < s->values.n; i++)
    if (strcmp(s->values.v[i], v) == 0) return 0;
  char *copy = ps_arena_strdup(a, v);
  if (!copy) return -1;
  ps_person_value_add(&s->values, copy);
  return 0;
}

/* The values of a stored party snapshot (unpacked in scratch), kept in a. */
static int snapshot_values(ps_arena_t *a, ps_arena_t *scratch, subject_t *s, const ps_blob_t *b,
                           ps_status_t *st) {
  Prospects__V1__PartySnapshot *p =
      prospects__v1__party_snapshot__unpack(&scratch->allocator, b->len, b->data);
  if (!p) return ps_fail(st, PS_INTERNAL, "", "A stored party snapshot is unreadable.");
  if (!ps_person_snapshot_has_data(p)) return 0;
  const char *both = NULL;
  if (p->first_name && p->first_name[0] && p->last_name && p->last_name[0] &&
      !(both = ps_arena_printf(scratch, "%s %s", p->first_name, p->last_name)))
    return out_of_memory(st);
  const char *vals[] = {p->display_name, p->company_name, p->email, p->phone, p->vat_number, both};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    if (keep_value(a, s, vals[i]) != 0) return out_of_memory(st);
  return 0;
}

#define SNAPSHOT_PAGE 500

/* The person's values as the snapshots of its links hold them (older values of the record may be
 * there): the links on the record and those moved away from the lineage's records, read in pages
 * into scratch, reset after each page, so that any number of links fits in bounded memory. */
static int link_values(ps_db_t *db, erase_job_t *j, ps_arena_t *scratch, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  subject_t *s = j->s;
  ps_document_query_t q;
  memset(&q, 0, sizeof q);
  q.prospect_id = s->id;
  q.limit = SNAPSHOT_PAGE;
  for (;;) {
    ps_arena_reset(scratch);
    ps_document_cols_t *rows = ps_arena_alloc(scratch, sizeof *rows * SNAPSHOT_PAGE);
    if (!rows) return out_of_memory(st);
    int n = 0, cut = 0;
    if (ps_store_document_list(db, scratch, s->tenant, &q, rows, &n, &cut, st) != 0) return -1;
    for (int i = 0; i < n; i++)
      if (snapshot_values(a, scratch, s, &rows[i].snapshot, st) != 0) return -1;
    if (n < SNAPSHOT_PAGE || s->values.n >= PS_PERSON_VALUES_MAX) break;
    q.has_cursor = 1;
    q.after_us = rows[n - 1].document_us;
    q.after_id = rows[n - 1].id;
  }
  for (int i = 0; i < s->n_lineage && s->values.n < PS_PERSON_VALUES_MAX; i++) {
    if (!s->lineage_has_merge[i]) continue;
    ps_moved_from_t from = {s->lineage_merge[i], s->lineage[i]};
    ps_id_t after;
    int has_after = 0;
    for (;;) {
      ps_arena_reset(scratch);
      ps_id_t *ids = ps_arena_alloc(scratch, sizeof *ids * SNAPSHOT_PAGE);
      ps_blob_t *snaps = ps_arena_alloc(scratch, sizeof *snaps * SNAPSHOT_PAGE);
      if (!ids || !snaps) return out_of_memory(st);
      int n = 0;
      if (ps_store_moved_snapshots(db, scratch, s->tenant, &from, has_after ? &after : NULL,
                                   SNAPSHOT_PAGE, ids, snaps, &n, st) != 0)
        return -1;
      for (int k = 0; k < n; k++)
        if (snapshot_values(a, scratch, s, &snaps[k], st) != 0) return -1;
      if (n < SNAPSHOT_PAGE || s->values.n >= PS_PERSON_VALUES_MAX) break;
      after = ids[n - 1];
      has_after = 1;
    }
  }
  return 0;
}

/* Step 5: the party snapshots of the links on the record and of the links the lineage's merges
 * moved away from its records: one UPDATE each, whatever their number. */
static int erase_link_snapshots(ps_db_t *db, erase_job_t *j, int64_t *ret_redacted,
                                int64_t *ret_kept, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  subject_t *s = j->s;
  ps_arena_t scratch;
  if (ps_arena_init(&scratch, 0) != 0) return out_of_memory(st);
  ps_arena_set_limit(&scratch, SCRATCH_LIMIT);
  int rc = link_values(db, j, &scratch, st);
  ps_arena_destroy(&scratch);
  if (rc != 0) return -1;

  Prospects__V1__PartySnapshot blank = PROSPECTS__V1__PARTY_SNAPSHOT__INIT;
  blank.redacted = 1;
  ps_blob_t packed;
  if (ps_pack_in_arena(a, &blank.base, &packed) != 0) return out_of_memory(st);
  int all = j->req->erase_invoice_snapshots;
  uint64_t changed = 0;
  int64_t kept = 0;
  if (ps_store_links_redact(db, s->tenant, &s->id, NULL, &packed, all, &changed, st) != 0 ||
      (!all && ps_store_links_kept(db, s->tenant, &s->id, NULL, &packed, &kept, st) != 0))
    return -1;
  *ret_redacted += (int64_t)changed;
  *ret_kept += kept;
  for (int i = 0; i < s->n_lineage; i++) {
    if (!s->lineage_has_merge[i]) continue;
    ps_moved_from_t from = {s->lineage_merge[i], s->lineage[i]};
    if (ps_store_links_redact(db, s->tenant, &s->id, &from, &packed, all, &changed, st) != 0 ||
        (!all && ps_store_links_kept(db, s->tenant, &s->id, &from, &packed, &kept, st) != 0))
      return -1;
    *ret_redacted += (int64_t)changed;
    *ret_kept += kept;
  }
  return 0;
}

/* Step 6: the merge records' snapshots of the subject. */
static int erase_merge_snapshots(ps_db_t *db, erase_job_t *j, Prospects__V1__Merge **msgs,
                                 ps_merge_row_t *rows, int n, int64_t *ret_redacted,
                                 ps_status_t *st) {
  ps_arena_t *a = j->arena;
  subject_t *s = j->s;
  for (int i = 0; i < n; i++) {
    Prospects__V1__Merge *m = msgs[i];
    int changed = 0;
    for (size_t k = 0; k < m->n_source_snapshots; k++) {
      Prospects__V1__MergedSource *ms = m->source_snapshots[k];
      int touched = 0;
      if (!s->is_contact && is_lineage_source(s, ms)) {
        if (ms->prospect && ps_person_prospect_has_data(ms->prospect)) {
          if (!(ms->prospect = ps_person_blank_prospect(a, ms->prospect))) return out_of_memory(st);
          touched = 1;
        }
        for (size_t c = 0; c < ms->n_contact_persons; c++) {
          if (!ps_person_contact_has_data(ms->contact_persons[c])) continue;
          if (!(ms->contact_persons[c] = ps_person_blank_contact(a, ms->contact_persons[c])))
            return out_of_memory(st);
          touched = 1;
        }
      } else if (s->is_contact) {
        for (size_t c = 0; c < ms->n_contact_persons; c++) {
          if (!is_subject_contact(s, ms->contact_persons[c]) ||
              !ps_person_contact_has_data(ms->contact_persons[c]))
            continue;
          if (!(ms->contact_persons[c] = ps_person_blank_contact(a, ms->contact_persons[c])))
            return out_of_memory(st);
          touched = 1;
        }
      }
      if (touched) {
        ms->redacted = 1;
        changed = 1;
        (*ret_redacted)++;
      }
    }
    const char *acting = rows[i].acting_user;
    if (names_person(s, m->acting_user) || names_person(s, acting)) {
      m->acting_user = (char *)"";
      acting = "";
      changed = 1;
    }
    if (!changed) continue;
    /* the stored record keeps its own list of moved documents only when it was written with one */
    Prospects__V1__Merge *stored = prospects__v1__merge__unpack(&a->allocator, rows[i].record.len,
                                                                rows[i].record.data);
    if (!stored) return ps_fail(st, PS_INTERNAL, "", "A stored merge record is unreadable.");
    stored->source_snapshots = m->source_snapshots;
    stored->acting_user = m->acting_user;
    ps_blob_t packed;
    if (ps_pack_in_arena(a, &stored->base, &packed) != 0) return out_of_memory(st);
    if (ps_store_merge_redact(db, s->tenant, &rows[i].id, &packed, acting, st) != 0) return -1;
  }
  return 0;
}

/* Step 7: audit rows about resource that name the person. */
static int erase_audit_rows(ps_db_t *db, erase_job_t *j, const char *resource,
                            int64_t *ret_redacted, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  ps_audit_row_t *rows = ps_arena_alloc(a, sizeof *rows * AUDIT_PER_RESOURCE);
  if (!rows) return out_of_memory(st);
  int n = 0;
  if (ps_store_audit_by_resource(db, a, j->s->tenant, resource, PS_LOCK_UPDATE, AUDIT_PER_RESOURCE,
                                 rows, &n, st) != 0)
    return -1;
  for (int i = 0; i < n; i++) {
    if (rows[i].redacted) continue;
    if (!names_person(j->s, rows[i].acting_user) && !names_person(j->s, rows[i].details)) continue;
    if (ps_store_audit_redact(db, j->s->tenant, &rows[i].id, st) != 0) return -1;
    (*ret_redacted)++;
  }
  return 0;
}

/* Step 8: stored responses of the tenant that mention the subject, read in batches into a scratch
 * arena reset after each, so that any number of keys fits in bounded memory. */
static int idempotency_pass(ps_db_t *db, erase_job_t *j, ps_arena_t *scratch, int64_t *ret_deleted,
                            ps_status_t *st) {
  char after[128] = ""; /* request ids are at most 64 ASCII characters */
  for (;;) {
    ps_arena_reset(scratch);
    ps_idem_row_t *rows = ps_arena_alloc(scratch, sizeof *rows * IDEM_BATCH);
    if (!rows) return out_of_memory(st);
    int n = 0;
    if (ps_store_idem_scan(db, scratch, j->s->tenant, after, IDEM_BATCH, rows, &n, st) != 0)
      return -1;
    for (int i = 0; i < n; i++) {
      if (strcmp(rows[i].method, "ErasePersonData") == 0) continue; /* names only */
      if (!blob_mentions(j->s, &rows[i].response)) continue;
      if (ps_store_idem_delete(db, j->s->tenant, rows[i].request_id, st) != 0) return -1;
      (*ret_deleted)++;
    }
    if (n < IDEM_BATCH) return 0;
    snprintf(after, sizeof after, "%s", rows[n - 1].request_id);
  }
}

static int erase_idempotency(ps_db_t *db, erase_job_t *j, int64_t *ret_deleted, ps_status_t *st) {
  ps_arena_t scratch;
  if (ps_arena_init(&scratch, 0) != 0) return out_of_memory(st);
  ps_arena_set_limit(&scratch, SCRATCH_LIMIT);
  int rc = idempotency_pass(db, j, &scratch, ret_deleted, st);
  ps_arena_destroy(&scratch);
  return rc;
}

static int erase_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  erase_job_t *j = arg;
  ps_arena_t *a = j->arena;
  subject_t *s = j->s;
  j->replay = j->missing = 0;
  j->out = NULL;
  int64_t now = ps_db_now_us();
  if (j->with_key) {
    int rc = ps_idem_claim(db, a, &j->key, now, &j->stored, st);
    if (rc < 0) return -1;
    if (rc == 1) {
      j->replay = 1;
      return 0;
    }
  }
  if (subject_read(db, a, s, PS_LOCK_UPDATE, st) != 0) return -1;

  Prospects__V1__ErasePersonDataResponse *r = ps_arena_alloc(a, sizeof *r);
  if (!r) return out_of_memory(st);
  prospects__v1__erase_person_data_response__init(r);
  r->name = (char *)s->name;
  int64_t changes = 0, kept = 0, idem_deleted = 0;

  /* step 4 */
  ps_contact_cols_t *contacts = NULL;
  int n_contacts = 0;
  if (!s->is_contact && s->live) {
    if (ps_store_merge_contacts(db, a, s->tenant, &s->id, PS_LOCK_UPDATE, 1 << 30, &contacts,
                                &n_contacts, st) != 0)
      return -1;
    for (int i = 0; i < n_contacts; i++) {
      Prospects__V1__ContactPerson *c = ps_store_contact_msg(a, s->tenant, &contacts[i]);
      if (!c || add_contact_values(a, s, c) != 0) return out_of_memory(st);
    }
    if (ps_store_prospect_delete(db, s->tenant, &s->id, st) != 0) return -1;
    r->erased_contact_persons = n_contacts;
    changes++;
  } else if (s->is_contact && s->contact_live) {
    if (ps_store_contact_delete(db, s->tenant, &s->contact_id, st) != 0) return -1;
    r->erased_contact_persons = 1;
    changes++;
  }

  Prospects__V1__Merge **msgs = NULL;
  ps_merge_row_t *mrows = NULL;
  int n_msgs = 0;
  if (read_merges(db, a, s, PS_LOCK_UPDATE, &msgs, &mrows, &n_msgs, st) != 0) return -1;
  if (!s->is_contact && !s->live && !s->erased && !s->merged_away && s->n_lineage == 1) {
    j->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND",
                   "%s does not exist: the service holds no data of it.", s->name);
  }
  if (s->is_contact && !s->contact_live && !s->erased && n_msgs == 0) {
    j->missing = 1;
    return ps_fail(st, PS_NOT_FOUND, "CONTACT_PERSON_NOT_FOUND",
                   "%s does not exist: the service holds no data of it.", s->name);
  }
  int marked = 0;
  if (ps_store_erased_mark(db, s->tenant, s->is_contact ? &s->contact_id : &s->id,
                           s->is_contact ? PS_ERASED_CONTACT_PERSON : PS_ERASED_PROSPECT, now,
                           &marked, st) != 0)
    return -1;
  changes += marked;
  /* an import's records not indexed yet: nothing of them is left to index */
  if (!s->is_contact)
    for (int i = 0; i < s->n_lineage; i++)
      if (ps_store_index_queue_delete(db, s->tenant, &s->lineage[i], st) != 0) return -1;

  /* steps 5-8 */
  if (!s->is_contact &&
      erase_link_snapshots(db, j, &r->redacted_document_snapshots, &kept, st) != 0)
    return -1;
  if (erase_merge_snapshots(db, j, msgs, mrows, n_msgs, &r->redacted_merge_snapshots, st) != 0)
    return -1;
  if (erase_audit_rows(db, j, s->name, &r->redacted_audit_events, st) != 0) return -1;
  for (int i = 0; i < n_contacts; i++) {
    char *cn = ps_name_contact_person(a, s->tenant, &s->id, &contacts[i].id);
    if (!cn) return out_of_memory(st);
    if (erase_audit_rows(db, j, cn, &r->redacted_audit_events, st) != 0) return -1;
  }
  for (int i = 0; i < n_msgs; i++)
    if (erase_audit_rows(db, j, msgs[i]->name, &r->redacted_audit_events, st) != 0) return -1;
  if (!s->is_contact)
    for (int i = 0; i < n_contacts && s->n_idtext < LINEAGE_MAX + 2; i++)
      ps_id_format(&contacts[i].id, s->idtext[s->n_idtext++]);
  if (erase_idempotency(db, j, &idem_deleted, st) != 0) return -1;
  changes += r->redacted_document_snapshots + r->redacted_merge_snapshots +
             r->redacted_audit_events + idem_deleted;

  if (kept > 0) {
    Prospects__V1__KeptPersonData *k = ps_arena_alloc(a, sizeof *k);
    r->kept = ps_arena_alloc(a, sizeof *r->kept);
    if (!k || !r->kept) return out_of_memory(st);
    prospects__v1__kept_person_data__init(k);
    k->kind = (char *)"INVOICE_SNAPSHOTS";
    k->count = kept;
    k->reason = (char *)"LEGAL_RETENTION";
    k->description = (char *)"The party snapshots on invoice and credit note links were kept: the "
                             "law requires invoices and what they say about the party to be "
                             "kept. Erase again with erase_invoice_snapshots to redact them too.";
    r->kept[0] = k;
    r->n_kept = 1;
  }
  r->already_erased = changes == 0;

  if (!r->already_erased) {
    char details[256];
    snprintf(details, sizeof details,
             "personal data erased: %lld document snapshot(s), %lld merge snapshot(s) and %lld "
             "audit row(s) redacted, %lld contact person(s) removed, %lld stored response(s) "
             "deleted, %lld invoice snapshot(s) kept",
             (long long)r->redacted_document_snapshots, (long long)r->redacted_merge_snapshots,
             (long long)r->redacted_audit_events, (long long)r->erased_contact_persons,
             (long long)idem_deleted, (long long)kept);
    const char *actor = names_person(s, j->actor) ? "" : j->actor;
    if (ps_audit_record(db, j->caller, actor, s->tenant, "ErasePersonData", s->name, details, now,
                        st) != 0)
      return -1;
  }
  if (j->with_key && ps_idem_store_msg(db, a, &j->key, &r->base, st) != 0) return -1;
  j->out = r;
  return 0;
}

/* ErasePersonData: see the top of this file and service.proto. Refusals: a malformed name or
 * request_id: INVALID_ARGUMENT; nothing held of the subject (never existed, deleted, another
 * tenant's): NOT_FOUND PROSPECT_NOT_FOUND / CONTACT_PERSON_NOT_FOUND; the same request_id with
 * another request: ALREADY_EXISTS REQUEST_ID_REUSED. Not gated by the apps. */
int ps_erase_person_data(ps_ctx_t *ctx, const Prospects__V1__ErasePersonDataRequest *req,
                         Prospects__V1__ErasePersonDataResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  subject_t *s = ps_arena_alloc(a, sizeof *s);
  erase_job_t *j = ps_arena_alloc(a, sizeof *j);
  if (!s || !j) return out_of_memory(st);
  memset(j, 0, sizeof *j);
  if (subject_parse(a, req->name, s, st) != 0) return -1;
  const char *request_id = req->request_id ? req->request_id : "";
  if (ps_check_request_id(request_id, "request_id", 0, st) != 0) return -1;
  j->arena = a;
  j->s = s;
  j->req = req;
  j->caller = ps_merge_clean_text(a, ctx->caller, ACTING_USER_MAX);
  j->actor = ps_merge_clean_text(a, ctx->actor, ACTING_USER_MAX);
  if (!j->caller || !j->actor) return out_of_memory(st);
  if (request_id[0]) {
    j->with_key = 1;
    if (ps_idem_key_init(&j->key, s->tenant, request_id, "ErasePersonData", &req->base) != 0)
      return out_of_memory(st);
  }
  if (ps_db_tx(ctx->db, erase_tx, j, st) != 0) return -1;
  if (j->replay) {
    j->out = prospects__v1__erase_person_data_response__unpack(&a->allocator, j->stored.len,
                                                               j->stored.data);
    if (!j->out)
      return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
  }
  *ret = j->out;
  return 0;
}

/* ------------------------------------------------------------------------------ ExportPersonData */

static void docs_token_ctx(ps_pagetoken_ctx_t *tc, const subject_t *s) {
  char idtext[PS_ID_TEXT_LEN + 1];
  ps_id_format(&s->id, idtext);
  ps_pagetoken_ctx_init(tc, "ExportPersonData");
  ps_pagetoken_ctx_str(tc, s->tenant);
  ps_pagetoken_ctx_str(tc, idtext);
}

/* One page of the record's document links into d. */
static int export_documents(ps_ctx_t *ctx, const subject_t *s, int page_size, const char *token,
                            Prospects__V1__PersonData *d) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  ps_document_query_t q;
  memset(&q, 0, sizeof q);
  q.prospect_id = s->id;
  ps_pagetoken_ctx_t tc;
  docs_token_ctx(&tc, s);
  if (token && token[0]) {
    unsigned char pos[PS_PAGETOKEN_MAX_POS];
    size_t n = 0;
    if (ps_pagetoken_open(token, &tc, pos, &n) != 0 || n != 24)
      return ps_fail_field(st, "documents_page_token",
                           "is not a token of this record's documents (it belongs to another "
                           "name, or was altered); start again without a token");
    uint64_t us = 0;
    for (int i = 0; i < 8; i++) us = us << 8 | pos[i];
    q.has_cursor = 1;
    q.after_us = (int64_t)us;
    memcpy(q.after_id.b, pos + 8, 16);
  }
  q.limit = page_size + 1;
  q.max_bytes = ctx->max_reply_bytes ? ctx->max_reply_bytes / 2 : 0;
  ps_document_cols_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)q.limit);
  if (!rows) return out_of_memory(st);
  int n = 0, cut = 0;
  if (ps_store_document_list(ctx->db, a, s->tenant, &q, rows, &n, &cut, st) != 0) return -1;
  int shown = n > page_size ? page_size : n;
  d->documents = ps_arena_alloc(a, sizeof *d->documents * (size_t)(shown ? shown : 1));
  if (!d->documents) return out_of_memory(st);
  for (int i = 0; i < shown; i++)
    if (!(d->documents[i] = ps_store_document_msg(a, s->tenant, &rows[i])))
      return out_of_memory(st);
  d->n_documents = (size_t)shown;
  if ((n > page_size || cut) && shown > 0) {
    unsigned char pos[24];
    uint64_t us = (uint64_t)rows[shown - 1].document_us;
    for (int i = 7; i >= 0; i--) {
      pos[i] = (unsigned char)us;
      us >>= 8;
    }
    memcpy(pos + 8, rows[shown - 1].id.b, 16);
    if (!(d->documents_next_page_token = ps_pagetoken_make(a, &tc, pos, sizeof pos)))
      return out_of_memory(st);
  }
  return 0;
}

/* The audit rows about resource appended to d (cap: the array holds max). */
static int export_audit(ps_ctx_t *ctx, const subject_t *s, const char *resource,
                        Prospects__V1__PersonData *d, size_t max) {
  ps_arena_t *a = ctx->arena;
  ps_audit_row_t *rows = ps_arena_alloc(a, sizeof *rows * AUDIT_PER_RESOURCE);
  if (!rows) return out_of_memory(&ctx->status);
  int n = 0;
  if (ps_store_audit_by_resource(ctx->db, a, s->tenant, resource, PS_LOCK_NONE, AUDIT_PER_RESOURCE,
                                 rows, &n, &ctx->status) != 0)
    return -1;
  for (int i = 0; i < n && d->n_audit_events < max; i++) {
    Prospects__V1__AuditEvent *e = ps_audit_event_msg(a, s->tenant, &rows[i]);
    if (!e) return out_of_memory(&ctx->status);
    d->audit_events[d->n_audit_events++] = e;
  }
  return 0;
}

static int export_read(ps_ctx_t *ctx, subject_t *s, int32_t page_size, const char *token,
                       Prospects__V1__PersonData *d) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  if (subject_read(ctx->db, a, s, PS_LOCK_NONE, st) != 0) return -1;
  Prospects__V1__Merge **msgs = NULL;
  ps_merge_row_t *mrows = NULL;
  int n_msgs = 0;
  if (read_merges(ctx->db, a, s, PS_LOCK_NONE, &msgs, &mrows, &n_msgs, st) != 0) return -1;
  if (!s->is_contact && !s->live && !s->erased && !s->merged_away && s->n_lineage == 1)
    return ps_fail(st, PS_NOT_FOUND, "PROSPECT_NOT_FOUND",
                   "%s does not exist: the service holds no data of it.", s->name);
  if (s->is_contact && !s->contact_live && !s->erased && n_msgs == 0)
    return ps_fail(st, PS_NOT_FOUND, "CONTACT_PERSON_NOT_FOUND",
                   "%s does not exist: the service holds no data of it.", s->name);

  if (s->live && !(d->prospect = ps_store_prospect_msg(a, s->tenant, &s->row)))
    return out_of_memory(st);
  /* contact persons: the prospect's, or the one asked for (live, else as merge snapshots hold it) */
  if (!s->is_contact && s->live) {
    ps_contact_cols_t *cs = NULL;
    int n = 0;
    if (ps_store_merge_contacts(ctx->db, a, s->tenant, &s->id, PS_LOCK_NONE, PS_MERGE_CONTACTS_MAX,
                                &cs, &n, st) != 0)
      return -1;
    d->contact_persons = ps_arena_alloc(a, sizeof *d->contact_persons * (size_t)(n ? n : 1));
    if (!d->contact_persons) return out_of_memory(st);
    for (int i = 0; i < n; i++)
      if (!(d->contact_persons[d->n_contact_persons++] = ps_store_contact_msg(a, s->tenant, &cs[i])))
        return out_of_memory(st);
  } else if (s->is_contact) {
    d->contact_persons = ps_arena_alloc(a, sizeof *d->contact_persons);
    if (!d->contact_persons) return out_of_memory(st);
    if (s->contact_live) {
      if (!(d->contact_persons[0] = ps_store_contact_msg(a, s->tenant, &s->contact)))
        return out_of_memory(st);
      d->n_contact_persons = 1;
    }
    for (int i = 0; i < n_msgs && d->n_contact_persons == 0; i++)
      for (size_t k = 0; k < msgs[i]->n_source_snapshots && d->n_contact_persons == 0; k++) {
        Prospects__V1__MergedSource *ms = msgs[i]->source_snapshots[k];
        for (size_t c = 0; c < ms->n_contact_persons && d->n_contact_persons == 0; c++)
          if (is_subject_contact(s, ms->contact_persons[c]))
            d->contact_persons[d->n_contact_persons++] = ms->contact_persons[c];
      }
  }
  if (!s->is_contact && export_documents(ctx, s, page_size, token, d) != 0) return -1;
  d->merges = msgs;
  d->n_merges = (size_t)n_msgs;

  size_t max_audit = AUDIT_PER_RESOURCE * (size_t)(n_msgs + 1);
  d->audit_events = ps_arena_alloc(a, sizeof *d->audit_events * max_audit);
  if (!d->audit_events) return out_of_memory(st);
  if (export_audit(ctx, s, s->name, d, max_audit) != 0) return -1;
  for (int i = 0; i < n_msgs; i++)
    if (export_audit(ctx, s, msgs[i]->name, d, max_audit) != 0) return -1;
  return 0;
}

/* ExportPersonData: see service.proto. documents_page_size 0 -> 1000, above 5000 -> 5000,
 * negative INVALID_ARGUMENT; documents_page_token continues the record's links, bound to the name.
 * Everything is read from one snapshot. Not gated by the apps. */
int ps_export_person_data(ps_ctx_t *ctx, const Prospects__V1__ExportPersonDataRequest *req,
                          Prospects__V1__PersonData **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  subject_t *s = ps_arena_alloc(a, sizeof *s);
  Prospects__V1__PersonData *d = ps_arena_alloc(a, sizeof *d);
  if (!s || !d) return out_of_memory(st);
  prospects__v1__person_data__init(d);
  if (subject_parse(a, req->name, s, st) != 0) return -1;
  int32_t page_size;
  if (ps_check_page_size(req->documents_page_size, "documents_page_size", DOCS_DEFAULT, DOCS_MAX,
                         &page_size, st) != 0)
    return -1;
  d->name = (char *)s->name;
  if (ps_db_begin_snapshot(ctx->db, st) != 0) return -1;
  int rc = export_read(ctx, s, page_size, req->documents_page_token, d);
  ps_db_end_snapshot(ctx->db);
  if (rc != 0) return -1;
  *ret = d;
  return 0;
}
