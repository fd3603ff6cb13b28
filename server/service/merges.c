/* Merging (S10-S14): MergeProspects (and its dry run), GetMerge, ListMerges, ResolveProspect.
 *
 * Transaction and locks of MergeProspects (one transaction, READ COMMITTED, rerun by ps_db_tx up to
 * PS_DB_TX_ATTEMPTS times after an InnoDB deadlock or lock wait timeout; past that the caller gets
 * ABORTED and may retry with the same request_id):
 *   1. the idempotency key (request_id is required): a concurrent call with the same id waits on
 *      its row, then returns the first merge's result;
 *   2. the target and every source read FOR UPDATE, one after the other in ascending id order (the
 *      global lock order: two merges over overlapping records queue instead of deadlocking). Every
 *      other writer of links or contact persons locks the record first (links, intakes and new
 *      contact persons in share mode, conversions and deletes FOR UPDATE) and only then rows of
 *      document_links / contact_persons, so each either committed before us (and its link is
 *      moved here) or waits and then finds the source gone (NOT_FOUND PROSPECT_MERGED);
 *   3. the refusals checked on the locked rows (missing or merged records, etags, a CUSTOMER source
 *      into a PROSPECT target, contact persons into a PERSON);
 *   4. per source: its contact persons read FOR UPDATE (the exact list for the merge record: a
 *      contact-person update of those rows waits for us, or we for it);
 *   5. per source: its links recorded in merge_moved_documents by one INSERT ... SELECT (no list
 *      in memory: a merge moves any number of links), then moved to the target by one UPDATE
 *      (prospect_id only; snapshots untouched, S13) that must move exactly as many; contact persons
 *      moved when asked, the source deleted with its remaining contact persons and its word index
 *      rows (S10), a tombstone (source -> target, merge id) inserted;
 *   6. the merge record inserted (without the moved links: they are rows), the key's response
 *      stored; commit. The response carries the first page of moved links, read back in step 6.
 * The target row is not written at all (S14): its fields, etag and update_time stay as they were,
 * since moving links is not a change of the record.
 *
 * The dry run (validate_only) does the same reads without locks and outside a transaction (the
 * links counted, and their first page listed), and writes nothing. GetMerge, ListMerges and
 * ResolveProspect are plain reads; GetMerge pages the moved links. */
#include "service/merges.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/pagetoken.h"
#include "core/validate.h"
#include "service/apps.h"
#include "service/audit.h"
#include "service/documents.h"
#include "service/prefetch.h"
#include "service/records.h"
#include "service/service.h"
#include "store/idempotency.h"
#include "store/merges.h"
#include "store/person_data.h"

#define LIST_DEFAULT 20
#define LIST_MAX 100
#define CALLER_MAX 255            /* merges.caller */
#define ACTING_USER_MAX 255       /* merges.acting_user */

static int out_of_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory building the response.");
}

static char *sv(const char *s) { return (char *)(s ? s : ""); }

/* ------------------------------------------------------------------------------ pure parts */

void ps_merge_violation_add(ps_merge_violations_t *list, const ps_merge_violation_t *v) {
  if (list->n < PS_MERGE_VIOLATIONS_MAX) list->v[list->n++] = *v;
}

int ps_merge_violation_fail(const ps_merge_violation_t *v, ps_status_t *st) {
  ps_fail(st, v->code, v->reason, "%s", v->message);
  if (v->field) ps_status_meta(st, "field", v->field);
  else if (v->subject) ps_status_meta(st, "prospect", v->subject);
  if (v->merged_into) ps_status_meta(st, "merged_into", v->merged_into);
  if (v->surviving) ps_status_meta(st, "surviving_prospect", v->surviving);
  return -1;
}

void ps_merge_lock_order(const ps_id_t *ids, int n, int *ret_order) {
  for (int i = 0; i < n; i++) ret_order[i] = i;
  for (int i = 1; i < n; i++) { /* insertion sort: n <= 11 */
    int k = ret_order[i], j = i - 1;
    while (j >= 0 && memcmp(ids[ret_order[j]].b, ids[k].b, 16) > 0) {
      ret_order[j + 1] = ret_order[j];
      j--;
    }
    ret_order[j + 1] = k;
  }
}

char *ps_merge_clean_text(ps_arena_t *a, const char *s, size_t max_chars) {
  if (!s) s = "";
  size_t len = strlen(s);
  int utf8 = ps_utf8_valid(s, len);
  char *out = ps_arena_alloc(a, len + 1);
  if (!out) return NULL;
  size_t o = 0, chars = 0;
  for (size_t i = 0; i < len && chars < max_chars;) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80 || !utf8) {
      out[o++] = (c < 0x20 || c == 0x7f || c >= 0x80) ? '?' : (char)c;
      i++;
    } else {
      size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2; /* valid UTF-8: the lead byte says */
      memcpy(out + o, s + i, n);
      o += n;
      i += n;
    }
    chars++;
  }
  out[o] = '\0';
  return out;
}

int ps_merge_plan(ps_arena_t *a, const Prospects__V1__MergeProspectsRequest *req,
                  ps_merge_plan_t *ret, ps_status_t *st) {
  ps_merge_plan_t *p = ret;
  memset(p, 0, sizeof *p);
  if (ps_name_parse_prospect(req->target, "target", p->tenant, &p->target, st) != 0) return -1;
  if (req->n_sources == 0)
    return ps_fail_field(st, "sources", "needs at least one record to merge into the target");
  if (req->n_sources > PS_MERGE_SOURCES_MAX) {
    ps_fail(st, PS_INVALID_ARGUMENT, "TOO_MANY_SOURCES",
            "sources: at most %d records can be merged in one merge (got %zu).",
            PS_MERGE_SOURCES_MAX, req->n_sources);
    return ps_status_meta(st, "field", "sources");
  }
  char field[48];
  char tenant[PS_TENANT_MAX + 1];
  int other_tenant[PS_MERGE_SOURCES_MAX];
  for (size_t i = 0; i < req->n_sources; i++) {
    snprintf(field, sizeof field, "sources[%zu].name", i);
    const Prospects__V1__MergeSource *s = req->sources[i];
    if (ps_name_parse_prospect(s ? s->name : NULL, field, tenant, &p->source[i], st) != 0)
      return -1;
    if (!(p->source_name[i] = ps_name_prospect(a, tenant, &p->source[i]))) return out_of_memory(st);
    other_tenant[i] = strcmp(tenant, p->tenant) != 0;
  }
  if (ps_check_request_id(sv(req->request_id), "request_id", !req->validate_only, st) != 0 ||
      ps_check_text(sv(req->acting_user), "acting_user", ACTING_USER_MAX, 0, 0, st) != 0)
    return -1;
  if (!(p->target_name = ps_name_prospect(a, p->tenant, &p->target))) return out_of_memory(st);

  p->n_sources = (int)req->n_sources;
  for (int i = 0; i < p->n_sources; i++) {
    ps_merge_violation_t v = {0};
    v.subject = p->source_name[i];
    snprintf(field, sizeof field, "sources[%d].name", i);
    int dup_of = -1; /* an earlier usable source (same tenant) with the same id */
    for (int j = 0; j < i && dup_of < 0; j++)
      if (p->source_usable[j] && memcmp(p->source[j].b, p->source[i].b, 16) == 0) dup_of = j;
    if (other_tenant[i]) {
      /* another tenant's record does not exist for this caller: no lookup, no hint */
      v.code = PS_NOT_FOUND;
      v.reason = "PROSPECT_NOT_FOUND";
      v.message = ps_arena_printf(a, "Prospect %s does not exist.", v.subject);
    } else if (memcmp(p->source[i].b, p->target.b, 16) == 0) {
      v.code = PS_INVALID_ARGUMENT;
      v.reason = "MERGE_INTO_ITSELF";
      v.field = ps_arena_strdup(a, field);
      v.message = ps_arena_printf(a, "%s: is the target itself; a record cannot be merged into "
                                     "itself.", field);
    } else if (dup_of >= 0) {
      v.code = PS_INVALID_ARGUMENT;
      v.reason = "DUPLICATE_SOURCE";
      v.field = ps_arena_strdup(a, field);
      v.message = ps_arena_printf(a, "%s: names the same record as sources[%d].name.", field,
                                  dup_of);
    } else {
      p->source_usable[i] = 1;
      continue;
    }
    if (!v.message || (v.field == NULL && v.code == PS_INVALID_ARGUMENT)) return out_of_memory(st);
    ps_merge_violation_add(&p->violations, &v);
  }
  return 0;
}

/* ------------------------------------------------------------------------------ MergeProspects */

/* A record the merge reads: the target (recs[0]) or a usable source. */
typedef struct merge_rec {
  ps_id_t id;
  const char *name;               /* canonical name */
  const char *etag;               /* as sent, "" when none */
  int request_index;              /* -1 for the target, else the index in req->sources */
  int live;                       /* out: a live record (row valid) */
  ps_prospect_cols_t row;         /* out: the row as read */
  ps_contact_cols_t *contacts;    /* out (sources): its contact persons, id ascending */
  int n_contacts;
  int64_t n_links;                /* out (sources): its links (moved, or in a dry run counted) */
} merge_rec_t;

typedef struct merge_job {
  ps_arena_t *arena;
  const char *tenant;
  const Prospects__V1__MergeProspectsRequest *req;
  const ps_merge_plan_t *plan;
  const char *caller;             /* for the record, cleaned */
  const char *acting_user;        /* for the record: the request's, else x-acting-user */
  int n_recs;                     /* recs used: the target and the usable sources */
  merge_rec_t recs[1 + PS_MERGE_SOURCES_MAX];
  int stop_at_first;              /* a merge: fail with the first violation (st set) */
  ps_merge_violations_t *found;   /* a dry run: every violation */
  ps_idem_key_t key;
  int replay;                     /* out: the key had a stored response */
  ps_blob_t stored;               /* out: that response */
  Prospects__V1__Merge *merge;    /* out: the record (or, in a dry run, what it would be) */
} merge_job_t;

/* Reports a violation: a merge fails with it (-1, st set), a dry run lists it (0). */
static int violation(merge_job_t *j, const ps_merge_violation_t *v, ps_status_t *st) {
  if (!v->message) return out_of_memory(st);
  if (j->stop_at_first) return ps_merge_violation_fail(v, st);
  ps_merge_violation_add(j->found, v);
  return 0;
}

/* The violation for a record that is not live: PROSPECT_MERGED (with where it went) or
 * PROSPECT_NOT_FOUND, as GetProspect says it. */
static int missing(ps_db_t *db, merge_job_t *j, const merge_rec_t *r, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  ps_merge_chain_t *ch = ps_arena_alloc(a, sizeof *ch);
  if (!ch) return out_of_memory(st);
  if (ps_store_prospect_chain(db, j->tenant, &r->id, ch, st) != 0) return -1;
  const char *role = r->request_index < 0 ? "The target" : "Source";
  ps_merge_violation_t v = {0};
  v.code = PS_NOT_FOUND;
  v.subject = r->name;
  if (ch->n_via == 0) {
    int kind = 0, erased = ps_store_erased_get(db, j->tenant, &r->id, &kind, st);
    if (erased < 0) return -1;
    if (erased && kind == PS_ERASED_PROSPECT) {
      v.reason = "PROSPECT_ERASED";
      v.message = ps_arena_printf(a, "%s %s was erased (ErasePersonData).", role, r->name);
      return violation(j, &v, st);
    }
    v.reason = "PROSPECT_NOT_FOUND";
    v.message = ps_arena_printf(a, "%s %s does not exist.", role, r->name);
    return violation(j, &v, st);
  }
  v.reason = "PROSPECT_MERGED";
  v.merged_into = ps_name_prospect(a, j->tenant, ch->n_via > 1 ? &ch->via[1] : &ch->end);
  if (ch->end_live) {
    v.surviving = ps_name_prospect(a, j->tenant, &ch->end);
    v.message = ps_arena_printf(a, "%s %s was merged into %s already.", role, r->name,
                                sv(v.surviving));
  } else {
    v.message = ps_arena_printf(a, "%s %s was merged into %s, which no longer exists.", role,
                                r->name, sv(v.merged_into));
  }
  if (!v.merged_into || (ch->end_live && !v.surviving)) return out_of_memory(st);
  return violation(j, &v, st);
}

/* 1 when etag is set and is not the etag of version. */
static int etag_stale(const char *etag, uint64_t version) {
  uint64_t v;
  if (!etag || !etag[0]) return 0;
  return ps_db_etag_parse(etag, &v) != 0 || v != version;
}

/* Steps 2 and 3: reads the records (in the global lock order, with lock) and checks them. */
static int read_records(ps_db_t *db, merge_job_t *j, ps_lock_t lock, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  ps_id_t ids[1 + PS_MERGE_SOURCES_MAX];
  int order[1 + PS_MERGE_SOURCES_MAX];
  for (int i = 0; i < j->n_recs; i++) ids[i] = j->recs[i].id;
  ps_merge_lock_order(ids, j->n_recs, order);
  for (int k = 0; k < j->n_recs; k++) {
    merge_rec_t *r = &j->recs[order[k]];
    int rc = ps_store_prospect_get(db, a, j->tenant, &r->id, lock, &r->row, st);
    if (rc < 0) return -1;
    r->live = rc == 1;
  }

  const merge_rec_t *target = &j->recs[0];
  for (int i = 0; i < j->n_recs; i++) {
    const merge_rec_t *r = &j->recs[i];
    ps_merge_violation_t v = {0};
    v.subject = r->name;
    if (!r->live) {
      if (missing(db, j, r, st) != 0) return -1;
      continue;
    }
    if (etag_stale(r->etag, r->row.version)) {
      v.code = PS_ABORTED;
      v.reason = "ETAG_MISMATCH";
      v.message = ps_arena_printf(a, "%s %s was changed since its etag was read; read it again "
                                     "and retry.", i == 0 ? "The target" : "Source", r->name);
      if (violation(j, &v, st) != 0) return -1;
    }
    if (i == 0 && j->req->move_contact_persons && r->row.kind != PROSPECTS__V1__PARTY_KIND__COMPANY) {
      v.code = PS_FAILED_PRECONDITION;
      v.reason = "NOT_A_COMPANY";
      v.message = ps_arena_printf(a, "Contact persons can only be moved into a COMPANY; the target "
                                     "%s is a PERSON (merge without move_contact_persons).",
                                  r->name);
      if (violation(j, &v, st) != 0) return -1;
    }
    if (i > 0 && target->live && target->row.state == PROSPECTS__V1__PROSPECT_STATE__PROSPECT &&
        r->row.state == PROSPECTS__V1__PROSPECT_STATE__CUSTOMER) {
      v.code = PS_FAILED_PRECONDITION;
      v.reason = "CUSTOMER_INTO_PROSPECT";
      v.message = ps_arena_printf(a, "Source %s is a CUSTOMER and the target %s is a PROSPECT: the "
                                     "merge would demote a customer; merge the prospect into the "
                                     "customer instead.", r->name, target->name);
      if (violation(j, &v, st) != 0) return -1;
    }
  }
  return 0;
}

/* Step 4: what would move from the live sources: contact persons (within the limit) and, in a dry
 * run, how many links (a merge counts them as it records them, in merge_source). */
static int read_moves(ps_db_t *db, merge_job_t *j, ps_lock_t lock, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  int contacts = 0, too_many_contacts = 0;
  for (int i = 1; i < j->n_recs; i++) {
    merge_rec_t *r = &j->recs[i];
    if (!r->live) continue;
    if (!too_many_contacts) {
      if (ps_store_merge_contacts(db, a, j->tenant, &r->id, lock, PS_MERGE_CONTACTS_MAX - contacts + 1,
                                  &r->contacts, &r->n_contacts, st) != 0)
        return -1;
      contacts += r->n_contacts;
      too_many_contacts = contacts > PS_MERGE_CONTACTS_MAX;
    }
    if (lock == PS_LOCK_NONE &&
        ps_store_prospect_document_count(db, j->tenant, &r->id, &r->n_links, st) != 0)
      return -1;
  }
  if (too_many_contacts) {
    ps_merge_violation_t v = {0};
    v.code = PS_FAILED_PRECONDITION;
    v.reason = "MERGE_TOO_LARGE";
    v.subject = j->recs[0].name;
    v.message = ps_arena_printf(a, "The sources have more than %d contact persons together; one "
                                   "merge keeps at most %d (merge fewer sources at a time).",
                                PS_MERGE_CONTACTS_MAX, PS_MERGE_CONTACTS_MAX);
    if (violation(j, &v, st) != 0) return -1;
  }
  return 0;
}

/* The merge record (in a dry run: what it would be; merge_id NULL leaves name and time unset). */
static int build_merge(merge_job_t *j, const ps_id_t *merge_id, int64_t now_us, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  const ps_merge_plan_t *p = j->plan;
  Prospects__V1__Merge *m = ps_arena_alloc(a, sizeof *m);
  if (!m) return out_of_memory(st);
  prospects__v1__merge__init(m);
  if (merge_id) {
    if (!(m->name = ps_name_merge(a, j->tenant, merge_id)) ||
        !(m->create_time = ps_db_timestamp(a, now_us)))
      return out_of_memory(st);
  }
  m->caller = (char *)j->caller;
  m->acting_user = (char *)j->acting_user;
  m->target = (char *)p->target_name;
  m->n_sources = (size_t)p->n_sources;
  m->sources = ps_arena_alloc(a, sizeof *m->sources * (size_t)p->n_sources);
  if (!m->sources) return out_of_memory(st);
  for (int i = 0; i < p->n_sources; i++) m->sources[i] = (char *)p->source_name[i];

  size_t n_snap = 0, n_cps = 0;
  int64_t n_docs = 0;
  for (int i = 1; i < j->n_recs; i++) {
    if (!j->recs[i].live) continue;
    n_snap++;
    n_docs += j->recs[i].n_links;
    n_cps += (size_t)j->recs[i].n_contacts;
  }
  int move_cps = j->req->move_contact_persons;
  m->moved_document_count = n_docs; /* the links themselves are rows, paged (fill_moved_page) */
  m->source_snapshots = ps_arena_alloc(a, sizeof *m->source_snapshots * (n_snap ? n_snap : 1));
  m->moved_contact_persons = ps_arena_alloc(a, sizeof(char *) * (n_cps ? n_cps : 1));
  if (!m->source_snapshots || !m->moved_contact_persons) return out_of_memory(st);
  for (int i = 1; i < j->n_recs; i++) {
    const merge_rec_t *r = &j->recs[i];
    if (!r->live) continue;
    Prospects__V1__MergedSource *ms = ps_arena_alloc(a, sizeof *ms);
    if (!ms) return out_of_memory(st);
    prospects__v1__merged_source__init(ms);
    if (!(ms->prospect = ps_store_prospect_msg(a, j->tenant, &r->row))) return out_of_memory(st);
    ms->contact_persons = ps_arena_alloc(a, sizeof *ms->contact_persons *
                                                (size_t)(r->n_contacts ? r->n_contacts : 1));
    if (!ms->contact_persons) return out_of_memory(st);
    for (int c = 0; c < r->n_contacts; c++) {
      if (!(ms->contact_persons[c] = ps_store_contact_msg(a, j->tenant, &r->contacts[c])))
        return out_of_memory(st);
      if (move_cps)
        m->moved_contact_persons[m->n_moved_contact_persons++] = ms->contact_persons[c]->name;
    }
    ms->n_contact_persons = (size_t)r->n_contacts;
    m->source_snapshots[m->n_source_snapshots++] = ms;
  }
  j->merge = m;
  return 0;
}

/* Step 5 for one source. */
static int merge_source(ps_db_t *db, merge_job_t *j, merge_rec_t *r, const ps_id_t *merge_id,
                        int64_t now_us, ps_status_t *st) {
  const ps_id_t *target = &j->recs[0].id;
  uint64_t moved = 0;
  if (j->req->move_contact_persons) {
    if (ps_store_merge_move_contacts(db, j->tenant, &r->id, target, &moved, st) != 0) return -1;
    if (moved != (uint64_t)r->n_contacts) /* cannot happen while the rows are locked */
      return ps_fail(st, PS_ABORTED, "", "The contact persons of %s changed during the merge; retry.",
                     r->name);
  }
  uint64_t recorded = 0;
  if (ps_store_merge_record_moved(db, j->tenant, merge_id, &r->id, &recorded, st) != 0 ||
      ps_store_merge_move_links(db, j->tenant, &r->id, target, &moved, st) != 0)
    return -1;
  r->n_links = (int64_t)recorded;
  if (moved != recorded) /* cannot happen while the source is locked */
    return ps_fail(st, PS_ABORTED, "", "The documents of %s changed during the merge; retry.",
                   r->name);
  if (ps_store_prospect_delete(db, j->tenant, &r->id, st) != 0) return -1;
  return ps_store_prospect_tombstone(db, j->tenant, &r->id, target, merge_id, now_us, st);
}

/* ------------------------------------------------------------------------------ moved documents */

/* Where a page of moved documents starts: the first page, an offset into a record's own list (a
 * record written before merge_moved_documents: "legacy"), or after the last link of the previous
 * page. A token's position is 4 bytes (offset, big-endian) or 32 (source id, link id). */
typedef struct moved_pos {
  int has;                /* 0: the first page */
  uint32_t offset;        /* legacy records */
  ps_moved_link_t after;  /* the others */
} moved_pos_t;

static void moved_token_ctx(ps_pagetoken_ctx_t *tc, const char *tenant, const ps_id_t *merge_id) {
  char idtext[PS_ID_TEXT_LEN + 1];
  ps_id_format(merge_id, idtext);
  ps_pagetoken_ctx_init(tc, "GetMerge");
  ps_pagetoken_ctx_str(tc, tenant);
  ps_pagetoken_ctx_str(tc, idtext);
}

/* Opens a moved_documents_page_token of merge merge_id ("" or NULL: the first page). 0, or -1
 * with st set (INVALID_ARGUMENT on moved_documents_page_token). */
static int moved_token_open(const char *token, const char *tenant, const ps_id_t *merge_id,
                            int legacy, moved_pos_t *ret, ps_status_t *st) {
  memset(ret, 0, sizeof *ret);
  if (!token || !token[0]) return 0;
  ps_pagetoken_ctx_t tc;
  moved_token_ctx(&tc, tenant, merge_id);
  unsigned char pos[PS_PAGETOKEN_MAX_POS];
  size_t n = 0;
  if (ps_pagetoken_open(token, &tc, pos, &n) != 0 || n != (legacy ? 4u : 32u))
    return ps_fail_field(st, "moved_documents_page_token",
                         "is not a token of this merge's moved documents (it belongs to another "
                         "merge, or was altered); start again without a token");
  ret->has = 1;
  if (legacy) {
    ret->offset = (uint32_t)pos[0] << 24 | (uint32_t)pos[1] << 16 | (uint32_t)pos[2] << 8 | pos[3];
  } else {
    memcpy(ret->after.source_id.b, pos, 16);
    memcpy(ret->after.link_id.b, pos + 16, 16);
  }
  return 0;
}

/* Puts one page of merge merge_id's moved documents (at most page_size, from pos) into
 * m->moved_documents, and m->moved_documents_next_page_token when more follow. legacy: m holds
 * the whole list already (a record of before merge_moved_documents); else the page is read from
 * merge_moved_documents. 0, or -1 with st set. */
static int fill_moved_page(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *merge_id,
                           Prospects__V1__Merge *m, int legacy, int page_size,
                           const moved_pos_t *pos, ps_status_t *st) {
  unsigned char next[32];
  size_t next_n = 0;
  if (legacy) {
    size_t total = m->n_moved_documents;
    size_t off = pos->has && pos->offset < total ? pos->offset : pos->has ? total : 0;
    size_t n = total - off < (size_t)page_size ? total - off : (size_t)page_size;
    m->moved_documents += off;
    m->n_moved_documents = n;
    if (off + n < total) {
      uint32_t o = (uint32_t)(off + n);
      next[0] = (unsigned char)(o >> 24);
      next[1] = (unsigned char)(o >> 16);
      next[2] = (unsigned char)(o >> 8);
      next[3] = (unsigned char)o;
      next_n = 4;
    }
  } else {
    ps_moved_link_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)(page_size + 1));
    char **names = ps_arena_alloc(a, sizeof *names * (size_t)page_size);
    if (!rows || !names) return out_of_memory(st);
    int n = 0;
    if (ps_store_merge_moved_page(db, tenant, merge_id, pos->has ? &pos->after : NULL,
                                  page_size + 1, rows, &n, st) != 0)
      return -1;
    int shown = n > page_size ? page_size : n;
    for (int i = 0; i < shown; i++)
      if (!(names[i] = ps_name_document(a, tenant, &rows[i].source_id, &rows[i].link_id)))
        return out_of_memory(st);
    m->moved_documents = names;
    m->n_moved_documents = (size_t)shown;
    if (n > page_size) {
      memcpy(next, rows[shown - 1].source_id.b, 16);
      memcpy(next + 16, rows[shown - 1].link_id.b, 16);
      next_n = 32;
    }
  }
  if (next_n) {
    ps_pagetoken_ctx_t tc;
    moved_token_ctx(&tc, tenant, merge_id);
    if (!(m->moved_documents_next_page_token = ps_pagetoken_make(a, &tc, next, next_n)))
      return out_of_memory(st);
  }
  return 0;
}

/* A dry run's first page of moved documents: the live sources' links in the order GetMerge would
 * list them (source id, then link id), at most PS_MERGE_PAGE_DEFAULT. No token: a dry run has no
 * record to page. */
static int dry_run_page(ps_db_t *db, merge_job_t *j, ps_status_t *st) {
  ps_arena_t *a = j->arena;
  Prospects__V1__Merge *m = j->merge;
  ps_id_t ids[PS_MERGE_SOURCES_MAX];
  memset(ids, 0, sizeof ids);
  int which[PS_MERGE_SOURCES_MAX], order[PS_MERGE_SOURCES_MAX], n_live = 0;
  for (int i = 1; i < j->n_recs; i++) {
    if (!j->recs[i].live) continue;
    ids[n_live] = j->recs[i].id;
    which[n_live++] = i;
  }
  ps_merge_lock_order(ids, n_live, order);
  char **names = ps_arena_alloc(a, sizeof *names * PS_MERGE_PAGE_DEFAULT);
  if (!names) return out_of_memory(st);
  int n = 0;
  for (int k = 0; k < n_live && n < PS_MERGE_PAGE_DEFAULT; k++) {
    const merge_rec_t *r = &j->recs[which[order[k]]];
    ps_id_t *links = NULL;
    int n_links = 0;
    if (ps_store_merge_link_ids(db, a, j->tenant, &r->id, PS_LOCK_NONE, PS_MERGE_PAGE_DEFAULT - n,
                                &links, &n_links, st) != 0)
      return -1;
    for (int d = 0; d < n_links; d++)
      if (!(names[n++] = ps_name_document(a, j->tenant, &r->id, &links[d])))
        return out_of_memory(st);
  }
  m->moved_documents = names;
  m->n_moved_documents = (size_t)n;
  return 0;
}

static int merge_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  merge_job_t *j = arg;
  ps_arena_t *a = j->arena;
  j->replay = 0;
  j->merge = NULL;
  for (int i = 0; i < j->n_recs; i++) {
    j->recs[i].live = 0;
    j->recs[i].n_links = j->recs[i].n_contacts = 0;
  }
  int64_t now = ps_db_now_us();
  int rc = ps_idem_claim(db, a, &j->key, now, &j->stored, st);
  if (rc < 0) return -1;
  if (rc == 1) {
    j->replay = 1;
    return 0;
  }
  if (read_records(db, j, PS_LOCK_UPDATE, st) != 0) return -1;
  if (read_moves(db, j, PS_LOCK_UPDATE, st) != 0) return -1;

  ps_id_t merge_id;
  if (ps_id_new(&merge_id) != 0) return ps_fail(st, PS_INTERNAL, "", "Could not make a merge id.");
  for (int i = 1; i < j->n_recs; i++)
    if (merge_source(db, j, &j->recs[i], &merge_id, now, st) != 0) return -1;

  if (build_merge(j, &merge_id, now, st) != 0) return -1;
  ps_merge_row_t row;
  memset(&row, 0, sizeof row);
  row.id = merge_id;
  row.target_id = j->recs[0].id;
  row.create_us = now;
  row.caller = (char *)j->caller;
  row.acting_user = (char *)j->acting_user;
  if (ps_pack_in_arena(a, &j->merge->base, &row.record) != 0) return out_of_memory(st);
  if (ps_store_merge_insert(db, j->tenant, &row, st) != 0) return -1;
  moved_pos_t first = {0};
  if (fill_moved_page(db, a, j->tenant, &merge_id, j->merge, 0, PS_MERGE_PAGE_DEFAULT, &first,
                      st) != 0)
    return -1;
  char details[160];
  snprintf(details, sizeof details, "%d record(s) merged into %s; %lld document link(s) and %zu "
           "contact person(s) moved", j->n_recs - 1, j->recs[0].name,
           (long long)j->merge->moved_document_count, j->merge->n_moved_contact_persons);
  if (ps_audit_record(db, j->caller, j->acting_user, j->tenant, "MergeProspects", j->merge->name,
                      details, now, st) != 0)
    return -1;

  /* the key keeps only the merge's name; a replay reads the record itself (it can be large) */
  Prospects__V1__Merge stub = PROSPECTS__V1__MERGE__INIT;
  stub.name = j->merge->name;
  Prospects__V1__MergeProspectsResponse resp = PROSPECTS__V1__MERGE_PROSPECTS_RESPONSE__INIT;
  resp.merge = &stub;
  return ps_idem_store_msg(db, a, &j->key, &resp.base, st);
}

/* A stored merge record (packed) as a message in a. *ret_legacy: 1 when it holds its own list of
 * moved documents (written before merge_moved_documents; its count is filled in). 0, or -1 with
 * st set. */
static int unpack_merge(ps_arena_t *a, const ps_blob_t *record, Prospects__V1__Merge **ret,
                        int *ret_legacy, ps_status_t *st) {
  Prospects__V1__Merge *m = prospects__v1__merge__unpack(&a->allocator, record->len, record->data);
  if (!m) return ps_fail(st, PS_INTERNAL, "", "A stored merge record is unreadable.");
  *ret_legacy = m->n_moved_documents > 0;
  if (*ret_legacy && m->moved_document_count == 0)
    m->moved_document_count = (int64_t)m->n_moved_documents;
  *ret = m;
  return 0;
}

/* Merge id of the tenant as a message in the call's arena, with one page of its moved documents
 * (page_size, from the token; NULL: the first page). 1, 0 when there is no such merge, -1 with
 * st set. */
static int load_merge(ps_ctx_t *ctx, const char *tenant, const ps_id_t *id, int page_size,
                      const char *token, Prospects__V1__Merge **ret) {
  ps_merge_row_t row;
  int rc = ps_store_merge_get(ctx->db, ctx->arena, tenant, id, &row, &ctx->status);
  if (rc <= 0) return rc;
  Prospects__V1__Merge *m = NULL;
  int legacy = 0;
  moved_pos_t pos;
  if (unpack_merge(ctx->arena, &row.record, &m, &legacy, &ctx->status) != 0 ||
      moved_token_open(token, tenant, id, legacy, &pos, &ctx->status) != 0 ||
      fill_moved_page(ctx->db, ctx->arena, tenant, id, m, legacy, page_size, &pos,
                      &ctx->status) != 0)
    return -1;
  *ret = m;
  return 1;
}

/* MergeProspects (S10-S14): merges 1 to 10 sources into a target of the same tenant, in one
 * transaction: every document link of every source moves to the target with its party snapshot
 * untouched (S13); the sources are deleted and leave tombstones, so their ids are never reused and
 * keep resolving (S10, S12); the target is not written at all (S14: nothing swapped or filled in;
 * its etag and update_time stay); contact persons move only with move_contact_persons and only into
 * a COMPANY, else they are deleted with their source and kept in the merge record's snapshot; the
 * permanent merge record keeps caller, acting user, time, target, sources, their snapshots and the
 * names of what moved. Refusals (reason): malformed names, no sources (INVALID_FIELD), more than 10
 * (TOO_MANY_SOURCES), the target itself (MERGE_INTO_ITSELF), a record named twice
 * (DUPLICATE_SOURCE), request_id missing: INVALID_ARGUMENT; a missing record, another tenant's
 * (PROSPECT_NOT_FOUND) or a merged-away one (PROSPECT_MERGED with merged_into and
 * surviving_prospect): NOT_FOUND; a stale etag (ETAG_MISMATCH): ABORTED; a CUSTOMER source into a
 * PROSPECT target (CUSTOMER_INTO_PROSPECT), contact persons into a PERSON (NOT_A_COMPANY), more
 * than PS_MERGE_CONTACTS_MAX contact persons (MERGE_TOO_LARGE), the app off
 * (PROSPECTS_APP_DISABLED): FAILED_PRECONDITION. Any number of document links moves; the response
 * lists the first PS_MERGE_PAGE_DEFAULT, with a token for GetMerge's next page. validate_only: a
 * dry run that returns what would be recorded and moved (the count, and the first page) plus every
 * violation (status OK), and writes nothing. The same request_id returns the first merge;
 * with another request it is ALREADY_EXISTS REQUEST_ID_REUSED. */
int ps_merge_prospects(ps_ctx_t *ctx, const Prospects__V1__MergeProspectsRequest *req,
                       Prospects__V1__MergeProspectsResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  ps_merge_plan_t *plan = ps_arena_alloc(a, sizeof *plan);
  merge_job_t *j = ps_arena_alloc(a, sizeof *j);
  if (!plan || !j) return out_of_memory(st);
  if (ps_merge_plan(a, req, plan, st) != 0) return -1;
  if (ps_apps_require(ctx, plan->tenant, 0) != 0) return -1;

  j->arena = a;
  j->tenant = plan->tenant;
  j->req = req;
  j->plan = plan;
  j->caller = ps_merge_clean_text(a, ctx->caller, CALLER_MAX);
  j->acting_user = req->acting_user && req->acting_user[0]
                       ? req->acting_user
                       : ps_merge_clean_text(a, ctx->actor, ACTING_USER_MAX);
  if (!j->caller || !j->acting_user) return out_of_memory(st);
  j->recs[0].id = plan->target;
  j->recs[0].name = plan->target_name;
  j->recs[0].etag = sv(req->target_etag);
  j->recs[0].request_index = -1;
  j->n_recs = 1;
  for (int i = 0; i < plan->n_sources; i++) {
    if (!plan->source_usable[i]) continue;
    merge_rec_t *r = &j->recs[j->n_recs++];
    r->id = plan->source[i];
    r->name = plan->source_name[i];
    r->etag = sv(req->sources[i]->etag);
    r->request_index = i;
  }

  Prospects__V1__MergeProspectsResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return out_of_memory(st);
  prospects__v1__merge_prospects_response__init(resp);

  if (req->validate_only) {
    /* the dry run: plain reads, no transaction, nothing written */
    ps_merge_violations_t *found = ps_arena_alloc(a, sizeof *found);
    if (!found) return out_of_memory(st);
    *found = plan->violations;
    j->found = found;
    if (read_records(ctx->db, j, PS_LOCK_NONE, st) != 0 ||
        read_moves(ctx->db, j, PS_LOCK_NONE, st) != 0 || build_merge(j, NULL, 0, st) != 0 ||
        dry_run_page(ctx->db, j, st) != 0)
      return -1;
    resp->merge = j->merge;
    resp->violations = ps_arena_alloc(a, sizeof *resp->violations * (size_t)(found->n ? found->n : 1));
    if (!resp->violations) return out_of_memory(st);
    for (int i = 0; i < found->n; i++) {
      Prospects__V1__MergeViolation *v = ps_arena_alloc(a, sizeof *v);
      if (!v) return out_of_memory(st);
      prospects__v1__merge_violation__init(v);
      v->reason = (char *)found->v[i].reason;
      v->subject = (char *)sv(found->v[i].subject);
      v->description = (char *)found->v[i].message;
      resp->violations[resp->n_violations++] = v;
    }
    *ret = resp;
    ctx->outcome = PS_C_MERGE_DRY_RUN;
    return 0;
  }

  if (plan->violations.n > 0) return ps_merge_violation_fail(&plan->violations.v[0], st);
  j->stop_at_first = 1;
  if (ps_idem_key_init(&j->key, plan->tenant, req->request_id, "MergeProspects", &req->base) != 0)
    return out_of_memory(st);
  if (ps_db_tx(ctx->db, merge_tx, j, st) != 0) return -1;
  if (j->replay) {
    Prospects__V1__MergeProspectsResponse *first = prospects__v1__merge_prospects_response__unpack(
        &a->allocator, j->stored.len, j->stored.data);
    char tenant[PS_TENANT_MAX + 1];
    ps_id_t id;
    if (!first || !first->merge ||
        ps_name_parse_merge(first->merge->name, "merge", tenant, &id, st) != 0 ||
        load_merge(ctx, plan->tenant, &id, PS_MERGE_PAGE_DEFAULT, NULL, &resp->merge) != 1) {
      if (st->code == PS_OK || st->code == PS_INVALID_ARGUMENT) {
        ps_status_clear(st);
        return ps_fail(st, PS_INTERNAL, "", "The stored result of this request_id is unreadable.");
      }
      return -1;
    }
    ctx->outcome = PS_C_MERGE_REPLAYED;
  } else {
    resp->merge = j->merge;
    ctx->outcome = PS_C_MERGE_MERGED;
  }
  *ret = resp;
  return 0;
}

/* ------------------------------------------------------------------------------ GetMerge */

/* GetMerge (S12): the permanent record of one merge of the tenant, with one page of the document
 * links it moved (moved_documents_page_size: 0 -> PS_MERGE_PAGE_DEFAULT, above PS_MERGE_PAGE_MAX ->
 * that, negative INVALID_ARGUMENT; moved_documents_page_token continues, bound to the merge).
 * NOT_FOUND MERGE_NOT_FOUND when there is none (or it is another tenant's). Needs the PROSPECTS
 * app. */
int ps_get_merge(ps_ctx_t *ctx, const Prospects__V1__GetMergeRequest *req,
                 Prospects__V1__Merge **ret) {
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t id;
  int32_t page_size;
  if (ps_name_parse_merge(req->name, "name", tenant, &id, &ctx->status) != 0 ||
      ps_check_page_size(req->moved_documents_page_size, "moved_documents_page_size",
                         PS_MERGE_PAGE_DEFAULT, PS_MERGE_PAGE_MAX, &page_size, &ctx->status) != 0)
    return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  int rc = load_merge(ctx, tenant, &id, page_size, req->moved_documents_page_token, ret);
  if (rc < 0) return -1;
  if (rc == 0)
    return ps_fail(&ctx->status, PS_NOT_FOUND, "MERGE_NOT_FOUND", "Merge %s does not exist.",
                   req->name);
  return 0;
}

/* ------------------------------------------------------------------------------ ListMerges */

/* ListMerges (S12): the tenant's merge records, newest first, optionally only those into one
 * target (a live or merged-away record of the tenant). page_size 0 -> 20, above 100 -> 100,
 * negative INVALID_ARGUMENT; each merge with the first PS_MERGE_LIST_PAGE documents it moved (and a
 * token for GetMerge's next page). A page also ends after the reply byte cap of stored records
 * (records written before merge_moved_documents list every moved document), so it may hold fewer
 * than page_size with a next_page_token. Keyset page tokens, sealed and bound to tenant and target
 * filter. Needs the PROSPECTS app. */
int ps_list_merges(ps_ctx_t *ctx, const Prospects__V1__ListMergesRequest *req,
                   Prospects__V1__ListMergesResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  ps_merge_query_t q;
  memset(&q, 0, sizeof q);
  if (ps_name_parse_tenant(req->parent, "parent", tenant, st) != 0) return -1;
  if (req->target && req->target[0]) {
    char ttenant[PS_TENANT_MAX + 1];
    if (ps_name_parse_prospect(req->target, "target", ttenant, &q.target_id, st) != 0) return -1;
    if (strcmp(ttenant, tenant) != 0)
      return ps_fail_field(st, "target", "must be a prospect of %s", req->parent);
    q.has_target = 1;
  }
  int32_t page_size;
  if (ps_check_page_size(req->page_size, "page_size", LIST_DEFAULT, LIST_MAX, &page_size, st) != 0)
    return -1;

  char idtext[PS_ID_TEXT_LEN + 1] = "";
  if (q.has_target) ps_id_format(&q.target_id, idtext);
  ps_pagetoken_ctx_t tc;
  ps_pagetoken_ctx_init(&tc, "ListMerges");
  ps_pagetoken_ctx_str(&tc, tenant);
  ps_pagetoken_ctx_str(&tc, idtext);
  if (req->page_token && req->page_token[0]) {
    unsigned char *pos = ps_arena_alloc(a, PS_PAGETOKEN_MAX_POS);
    size_t n = 0;
    if (!pos) return out_of_memory(st);
    if (ps_pagetoken_open(req->page_token, &tc, pos, &n) != 0 || n != 16)
      return ps_fail_field(st, "page_token",
                           "is not a token of this listing (it belongs to another tenant or target "
                           "filter, or was altered); start again without a token");
    q.has_cursor = 1;
    memcpy(q.after_id.b, pos, 16);
  }
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;

  q.limit = page_size + 1;
  ps_merge_row_t *rows = ps_arena_alloc(a, sizeof *rows * (size_t)q.limit);
  if (!rows) return out_of_memory(st);
  int n = 0, cut = 0;
  if (ps_store_merge_list(ctx->db, a, tenant, &q, ctx->max_reply_bytes ? ctx->max_reply_bytes : SIZE_MAX,
                          rows, &n, &cut, st) != 0)
    return -1;

  Prospects__V1__ListMergesResponse *resp = ps_arena_alloc(a, sizeof *resp);
  if (!resp) return out_of_memory(st);
  prospects__v1__list_merges_response__init(resp);
  int shown = n > page_size ? page_size : n;
  resp->merges = ps_arena_alloc(a, sizeof *resp->merges * (size_t)(shown ? shown : 1));
  if (!resp->merges) return out_of_memory(st);
  for (int i = 0; i < shown; i++) {
    int legacy = 0;
    moved_pos_t first = {0};
    if (unpack_merge(a, &rows[i].record, &resp->merges[i], &legacy, st) != 0 ||
        fill_moved_page(ctx->db, a, tenant, &rows[i].id, resp->merges[i], legacy,
                        PS_MERGE_LIST_PAGE, &first, st) != 0)
      return -1;
  }
  resp->n_merges = (size_t)shown;
  if ((n > page_size || cut) && shown > 0) {
    if (!(resp->next_page_token = ps_pagetoken_make(a, &tc, rows[shown - 1].id.b, 16)))
      return out_of_memory(st);
  }
  *ret = resp;
  return 0;
}

/* ------------------------------------------------------------------------------ ResolveProspect */

/* ResolveProspect (S10-S12): the live record a name stands for now. A live record resolves to
 * itself (merged_via empty); a merged-away one follows its merge chain (A merged into B, B into C:
 * C, via [A, B]). NOT_FOUND PROSPECT_NOT_FOUND for an id that never was a record of the tenant (or
 * was deleted), PROSPECT_MERGED (merged_into) when the chain ends at a record deleted since. Needs
 * the PROSPECTS app. */
int ps_resolve_prospect(ps_ctx_t *ctx, const Prospects__V1__ResolveProspectRequest *req,
                        Prospects__V1__ResolveProspectResponse **ret) {
  ps_status_t *st = &ctx->status;
  ps_arena_t *a = ctx->arena;
  char tenant[PS_TENANT_MAX + 1];
  ps_id_t id;
  if (ps_name_parse_prospect(req->name, "name", tenant, &id, st) != 0) return -1;
  if (ps_apps_require(ctx, tenant, 0) != 0) return -1;
  Prospects__V1__ResolveProspectResponse *resp = ps_arena_alloc(a, sizeof *resp);
  ps_merge_chain_t *ch = ps_arena_alloc(a, sizeof *ch);
  if (!resp || !ch) return out_of_memory(st);
  prospects__v1__resolve_prospect_response__init(resp);

  ps_prospect_cols_t unused;
  int live = ps_prefetch_prospect(ctx, tenant, &id, &unused); /* read with its batch */
  if (live == -2) live = ps_store_prospect_exists(ctx->db, tenant, &id, st);
  if (live < 0) return -1;
  if (live) {
    if (!(resp->name = ps_name_prospect(a, tenant, &id))) return out_of_memory(st);
    *ret = resp;
    return 0;
  }
  /* the end of a chain may be merged away itself between our reads: follow again */
  for (int attempt = 0; attempt < 3; attempt++) {
    if (ps_store_prospect_chain(ctx->db, tenant, &id, ch, st) != 0) return -1;
    if (ch->n_via == 0 || ch->end_live) break;
  }
  if (ch->n_via == 0 || !ch->end_live) return ps_prospect_missing(ctx, tenant, &id);
  if (!(resp->name = ps_name_prospect(a, tenant, &ch->end))) return out_of_memory(st);
  resp->merged_via = ps_arena_alloc(a, sizeof *resp->merged_via * (size_t)ch->n_via);
  if (!resp->merged_via) return out_of_memory(st);
  for (int i = 0; i < ch->n_via; i++)
    if (!(resp->merged_via[i] = ps_name_prospect(a, tenant, &ch->via[i]))) return out_of_memory(st);
  resp->n_merged_via = (size_t)ch->n_via;
  *ret = resp;
  return 0;
}
