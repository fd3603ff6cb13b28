/* Pieces shared by the prospect and contact-person handlers (prospects.c, contact_persons.c), and
 * the pure update-mask parsers (unit-tested). */
#ifndef PS_SERVICE_RECORDS_H
#define PS_SERVICE_RECORDS_H

#include "core/ids.h"
#include "core/names.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "prospects/v1/service.pb-c.h"
#include "service/ctx.h"
#include "store/db.h"
#include "store/prospects.h"

/* Sets ctx->status for a prospect id that is not a live record of the tenant: NOT_FOUND
 * PROSPECT_NOT_FOUND, PROSPECT_MERGED with merged_into / surviving_prospect when it was merged
 * away (S10-S12), or PROSPECT_ERASED when ErasePersonData erased it. Always returns -1. */
int ps_prospect_missing(ps_ctx_t *ctx, const char *tenant, const ps_id_t *id);

/* The create rules of a Prospect (CreateProspect, and the new prospect of IntakeQuoteRequest): kind
 * PERSON or COMPANY, every field within the limits of resources.proto, a PERSON a first or last
 * name, a COMPANY a company name; output-only fields are ignored. Field paths start with prefix
 * ("prospect", "new_prospect"). 0, or -1 with st INVALID_ARGUMENT naming the field. */
int ps_prospect_validate_new(const Prospects__V1__Prospect *p, const char *prefix, ps_status_t *st);

/* The row of a new record made from validated input p: a fresh id, state PROSPECT, version 1,
 * create/update time now, display name by kind. Strings are shared with p (or in a). 0 with *ret,
 * or -1 with st set (no id could be made, out of memory). */
int ps_prospect_new_row(ps_arena_t *a, const Prospects__V1__Prospect *p, ps_prospect_cols_t *ret,
                        ps_status_t *st);

/* The duplicate check (FindDuplicateProspects; the hint of IntakeQuoteRequest): live records of the
 * tenant, self excluded when not NULL, that are likely the same party as subject (its email,
 * vat_number, phone, country_code, display_name, and second_name when not NULL):
 * - an equal normal form of e-mail, VAT number or phone (score 1);
 * - a close name (core/similarity.h) scoring at least min_score: the
 *   same name key, the same words in another order, a few edits apart, or one name's words a run
 *   of the other's. Index-driven: the equal key, every key one edit away and the other orders and
 *   runs of words in one statement, and the first records with each of a few of the name's words.
 *   Until the reindex has rebuilt every row (ps_norm_v1_in_use), the same lookups run with the
 *   name's version-1 key as well where it differs, so that rows of version 1 are found as before.
 * Each with every reason it matched and its score (the highest of its reasons); highest score
 * first, then most reasons, then newest; at most max. Plain reads on db (inside or outside a
 * transaction). 0 with *ret / *ret_n (array in a), or -1 with st set. */
int ps_prospect_find_duplicates(ps_db_t *db, ps_arena_t *a, const char *tenant,
                                const ps_prospect_cols_t *subject, const char *second_name,
                                const ps_id_t *self, double min_score, int max,
                                Prospects__V1__DuplicateCandidate ***ret, size_t *ret_n,
                                ps_status_t *st);

/* FindDuplicateProspects' min_score: 0 gives this; else it must be within the bounds. */
#define PS_DUP_MIN_SCORE_DEFAULT 0.7
#define PS_DUP_MIN_SCORE_LOW 0.5

/* Update-mask bits of Prospect: the writable fields. */
#define PS_PF_FIRST_NAME (1u << 0)
#define PS_PF_LAST_NAME (1u << 1)
#define PS_PF_COMPANY_NAME (1u << 2)
#define PS_PF_VAT_NUMBER (1u << 3)
#define PS_PF_EMAIL (1u << 4)
#define PS_PF_PHONE (1u << 5)
#define PS_PF_WEBSITE (1u << 6)
#define PS_PF_STREET (1u << 7)
#define PS_PF_POSTAL_CODE (1u << 8)
#define PS_PF_CITY (1u << 9)
#define PS_PF_COUNTRY_CODE (1u << 10)
#define PS_PF_LANGUAGE (1u << 11)
#define PS_PF_NOTES (1u << 12)
#define PS_PF_ADDRESS (PS_PF_STREET | PS_PF_POSTAL_CODE | PS_PF_CITY | PS_PF_COUNTRY_CODE)
#define PS_PF_ALL ((1u << 13) - 1)
#define PS_PF_STAR (1u << 16) /* "*" was given: kind, when sent, must equal the stored kind */

/* Parses the update mask of UpdateProspect: a path per writable field ("email", "address",
 * "address.city", ...) or "*" (every writable field). A missing or empty mask, an unknown path, an
 * output-only path (name, display_name, state, create_time, update_time, convert_time,
 * converting_invoice, etag) and "kind" (immutable) are INVALID_ARGUMENT naming update_mask(.paths).
 * 0 with *ret_bits, or -1 with st set. */
int ps_prospect_parse_mask(const Google__Protobuf__FieldMask *mask, unsigned *ret_bits,
                           ps_status_t *st);

/* The rules of a new contact person (S6): every field within its limits and a first or last
 * name; field paths start with "contact_person". 0, or -1 with st INVALID_ARGUMENT naming the
 * field. Used by CreateContactPerson and IntakeQuoteRequest. */
int ps_contact_validate_new(const Prospects__V1__ContactPerson *c, ps_status_t *st);

/* The same rules with field paths starting with prefix ("contact_persons[2]" of an import row). */
int ps_contact_validate_new_at(const Prospects__V1__ContactPerson *c, const char *prefix,
                               ps_status_t *st);

/* Update-mask bits of ContactPerson. */
#define PS_CF_FIRST_NAME (1u << 0)
#define PS_CF_LAST_NAME (1u << 1)
#define PS_CF_EMAIL (1u << 2)
#define PS_CF_PHONE (1u << 3)
#define PS_CF_ROLE (1u << 4)
#define PS_CF_ALL ((1u << 5) - 1)

/* The same for UpdateContactPerson: first_name, last_name, email, phone, role or "*"; name,
 * create_time, update_time and etag are output only. */
int ps_contact_parse_mask(const Google__Protobuf__FieldMask *mask, unsigned *ret_bits,
                          ps_status_t *st);

#endif
