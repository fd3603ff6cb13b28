/* Document links for the handlers that make them: LinkDocument (documents.c), IntakeQuoteRequest
 * (intake.c) and ConvertProspect (convert.c) validate a Document and link it with the same rules
 * (S5, S13):
 *   - a document (tenant, type, document_id) is on one record at a time; linking it again to the
 *     record it is on returns the existing link unchanged (no second row, snapshot as it was);
 *     linking it to another record is FAILED_PRECONDITION DOCUMENT_LINKED_ELSEWHERE with metadata
 *     prospect=<the record it is on>; only a merge moves a link;
 *   - the party snapshot is frozen when the link is made: the one sent, or, when none is sent, the
 *     record's own details at that moment; it is never written again;
 *   - the record is locked (LOCK IN SHARE MODE or FOR UPDATE) in the same transaction before the
 *     link row is written, so that a merge, delete or conversion that locks it FOR UPDATE either
 *     sees the link or makes this call fail cleanly (NOT_FOUND / PROSPECT_MERGED).
 * Pure validation is unit-tested (tests/unit/test_documents.c). */
#ifndef PS_SERVICE_DOCUMENTS_H
#define PS_SERVICE_DOCUMENTS_H

#include "core/arena.h"
#include "core/status.h"
#include "prospects/v1/resources.pb-c.h"
#include "store/db.h"
#include "store/documents.h"
#include "store/prospects.h"

/* Longest document id, number and title (characters), as resources.proto says. */
#define PS_DOCUMENT_ID_MAX 128
#define PS_DOCUMENT_NUMBER_MAX 64
#define PS_DOCUMENT_TITLE_MAX 200

/* The name of a DocumentType value ("QUOTE"), or "DOCUMENT_TYPE_UNSPECIFIED" when out of range. */
const char *ps_document_type_name(int type);

/* Validates a Document sent to be linked; field paths start with prefix ("document",
 * "quote_request", "invoice"). only_type 0: type is required and must be a known type; else the
 * one type allowed (DOCUMENT_TYPE_UNSPECIFIED stands for it, any other type is refused).
 * document_id is required (1-128 characters), number at most 64, title at most 200, document_time
 * within 1000-01-01..9999-12-31, snapshot fields within their Prospect limits (as printed: lengths
 * and text only, no e-mail or phone shape). Output-only fields are ignored.
 * 0 with *ret_type, or -1 with st INVALID_ARGUMENT naming the field. Pure. */
int ps_document_validate(const Prospects__V1__Document *d, const char *prefix, int only_type,
                         int *ret_type, ps_status_t *st);

/* A type filter or lookup key: a known type (required) or, with allow_unspecified, 0 for "all".
 * 0, or -1 with st naming field. Pure. */
int ps_document_check_type(int type, const char *field, int allow_unspecified, ps_status_t *st);

/* The packed snapshot of a record's details (display name, names, company, VAT number, e-mail,
 * phone, address), in a. 0 with *ret, or -1 with st set (out of memory). */
int ps_document_snapshot_of(ps_arena_t *a, const ps_prospect_cols_t *rec, ps_blob_t *ret,
                            ps_status_t *st);

/* A new link row from validated input d of type `type`: a fresh link id, the strings of d,
 * document time (link_us when d has none), link time link_us, and the packed snapshot of d
 * (snapshot {NULL, 0} and *ret_has_snapshot 0 when d sends none: ps_document_link_locked takes the
 * record's). prospect_id is left zero. 0, or -1 with st set. */
int ps_document_new_row(ps_arena_t *a, const Prospects__V1__Document *d, int type, int64_t link_us,
                        ps_document_cols_t *ret, int *ret_has_snapshot, ps_status_t *st);

/* Links document c to record rec, inside the caller's transaction, after the caller has locked rec
 * (LOCK IN SHARE MODE or FOR UPDATE). c->prospect_id is set to rec's id; when !has_snapshot the
 * snapshot is taken from rec. When the document is linked to rec already, *ret is that link and
 * *ret_existed 1 (nothing written); when it is on another record, FAILED_PRECONDITION
 * DOCUMENT_LINKED_ELSEWHERE; otherwise it is inserted, *ret is the new row and *ret_existed 0.
 * Safe to rerun (ps_db_tx). 0, or -1 with st set. */
int ps_document_link_locked(ps_db_t *db, ps_arena_t *a, const char *tenant,
                            const ps_prospect_cols_t *rec, ps_document_cols_t *c, int has_snapshot,
                            ps_document_cols_t *ret, int *ret_existed, ps_status_t *st);

/* A message packed into a (for an idempotency key's stored response). 0, or -1 (out of memory). */
int ps_pack_in_arena(ps_arena_t *a, const ProtobufCMessage *m, ps_blob_t *ret);

#endif
