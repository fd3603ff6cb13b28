/* The handlers of prospects.v1.ProspectService. Each enforces the rules of SPEC.md for one method,
 * returns 0 with *ret set (built in ctx->arena) or -1 with ctx->status set, and writes nothing on
 * failure. The method table (dispatch.c) maps gRPC paths to these. */
#ifndef PS_SERVICE_SERVICE_H
#define PS_SERVICE_SERVICE_H

#include "google/protobuf/empty.pb-c.h"
#include "prospects/v1/service.pb-c.h"
#include "service/ctx.h"

/* prospects.c */
int ps_create_prospect(ps_ctx_t *ctx, const Prospects__V1__CreateProspectRequest *req,
                       Prospects__V1__Prospect **ret);
int ps_get_prospect(ps_ctx_t *ctx, const Prospects__V1__GetProspectRequest *req,
                    Prospects__V1__Prospect **ret);
int ps_update_prospect(ps_ctx_t *ctx, const Prospects__V1__UpdateProspectRequest *req,
                       Prospects__V1__Prospect **ret);
int ps_delete_prospect(ps_ctx_t *ctx, const Prospects__V1__DeleteProspectRequest *req,
                       Google__Protobuf__Empty **ret);
int ps_list_prospects(ps_ctx_t *ctx, const Prospects__V1__ListProspectsRequest *req,
                      Prospects__V1__ListProspectsResponse **ret);
int ps_find_duplicate_prospects(ps_ctx_t *ctx, const Prospects__V1__FindDuplicateProspectsRequest *req,
                                Prospects__V1__FindDuplicateProspectsResponse **ret);

/* contact_persons.c */
int ps_create_contact_person(ps_ctx_t *ctx, const Prospects__V1__CreateContactPersonRequest *req,
                             Prospects__V1__ContactPerson **ret);
int ps_get_contact_person(ps_ctx_t *ctx, const Prospects__V1__GetContactPersonRequest *req,
                          Prospects__V1__ContactPerson **ret);
int ps_list_contact_persons(ps_ctx_t *ctx, const Prospects__V1__ListContactPersonsRequest *req,
                            Prospects__V1__ListContactPersonsResponse **ret);
int ps_update_contact_person(ps_ctx_t *ctx, const Prospects__V1__UpdateContactPersonRequest *req,
                             Prospects__V1__ContactPerson **ret);
int ps_delete_contact_person(ps_ctx_t *ctx, const Prospects__V1__DeleteContactPersonRequest *req,
                             Google__Protobuf__Empty **ret);

/* documents.c */
int ps_link_document(ps_ctx_t *ctx, const Prospects__V1__LinkDocumentRequest *req,
                     Prospects__V1__Document **ret);
int ps_unlink_document(ps_ctx_t *ctx, const Prospects__V1__UnlinkDocumentRequest *req,
                       Google__Protobuf__Empty **ret);
int ps_list_documents(ps_ctx_t *ctx, const Prospects__V1__ListDocumentsRequest *req,
                      Prospects__V1__ListDocumentsResponse **ret);
int ps_lookup_document(ps_ctx_t *ctx, const Prospects__V1__LookupDocumentRequest *req,
                       Prospects__V1__Document **ret);

/* intake.c */
int ps_intake_quote_request(ps_ctx_t *ctx, const Prospects__V1__IntakeQuoteRequestRequest *req,
                            Prospects__V1__IntakeQuoteRequestResponse **ret);

/* convert.c */
int ps_convert_prospect(ps_ctx_t *ctx, const Prospects__V1__ConvertProspectRequest *req,
                        Prospects__V1__ConvertProspectResponse **ret);

/* merges.c */
int ps_merge_prospects(ps_ctx_t *ctx, const Prospects__V1__MergeProspectsRequest *req,
                       Prospects__V1__MergeProspectsResponse **ret);
int ps_get_merge(ps_ctx_t *ctx, const Prospects__V1__GetMergeRequest *req,
                 Prospects__V1__Merge **ret);
int ps_list_merges(ps_ctx_t *ctx, const Prospects__V1__ListMergesRequest *req,
                   Prospects__V1__ListMergesResponse **ret);
int ps_resolve_prospect(ps_ctx_t *ctx, const Prospects__V1__ResolveProspectRequest *req,
                        Prospects__V1__ResolveProspectResponse **ret);

/* apps.c */
int ps_get_tenant_apps(ps_ctx_t *ctx, const Prospects__V1__GetTenantAppsRequest *req,
                       Prospects__V1__TenantApps **ret);
int ps_update_tenant_apps(ps_ctx_t *ctx, const Prospects__V1__UpdateTenantAppsRequest *req,
                          Prospects__V1__TenantApps **ret);

/* audit.c */
int ps_list_audit_events(ps_ctx_t *ctx, const Prospects__V1__ListAuditEventsRequest *req,
                         Prospects__V1__ListAuditEventsResponse **ret);

/* import.c */
int ps_batch_create_prospects(ps_ctx_t *ctx, const Prospects__V1__BatchCreateProspectsRequest *req,
                              Prospects__V1__BatchCreateProspectsResponse **ret);

/* person_data.c */
int ps_export_person_data(ps_ctx_t *ctx, const Prospects__V1__ExportPersonDataRequest *req,
                          Prospects__V1__PersonData **ret);
int ps_erase_person_data(ps_ctx_t *ctx, const Prospects__V1__ErasePersonDataRequest *req,
                         Prospects__V1__ErasePersonDataResponse **ret);

/* export.c (server streaming: one ExportProspectsResponse per page, ps_stream_send) */
int ps_export_prospects(ps_ctx_t *ctx, const Prospects__V1__ExportProspectsRequest *req,
                        ps_stream_t *out);

#endif
