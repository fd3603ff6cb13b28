/* The RPCs of prospects.v1.ProspectService: the method table and one typed function per RPC. */
#include <string.h>

#include "internal.h"

#define SERVICE "/prospects.v1.ProspectService/"
#define M(name, req, resp, retry, summary) \
  {#name, SERVICE #name, &req##__descriptor, &resp##__descriptor, retry, summary}

const psc_method_t psc__methods[] = {
    M(CreateProspect, prospects__v1__create_prospect_request, prospects__v1__prospect,
      PSC_RETRY_REQUEST_ID, "Create a prospect (a PERSON or a COMPANY) under tenants/{tenant}."),
    M(GetProspect, prospects__v1__get_prospect_request, prospects__v1__prospect, PSC_RETRY_READ,
      "Get a live prospect by name."),
    M(UpdateProspect, prospects__v1__update_prospect_request, prospects__v1__prospect,
      PSC_RETRY_NEVER, "Update the fields of a prospect named in update_mask (etag optional)."),
    M(DeleteProspect, prospects__v1__delete_prospect_request, google__protobuf__empty,
      PSC_RETRY_NEVER, "Delete a prospect (etag optional)."),
    M(ListProspects, prospects__v1__list_prospects_request, prospects__v1__list_prospects_response,
      PSC_RETRY_READ, "List or search a tenant's prospects, page by page."),
    M(FindDuplicateProspects, prospects__v1__find_duplicate_prospects_request,
      prospects__v1__find_duplicate_prospects_response, PSC_RETRY_READ,
      "Find likely duplicates of candidate data or of an existing prospect."),
    M(ResolveProspect, prospects__v1__resolve_prospect_request, prospects__v1__resolve_prospect_response,
      PSC_RETRY_READ, "Follow merges: the live record a (possibly merged-away) name stands for."),
    M(CreateContactPerson, prospects__v1__create_contact_person_request, prospects__v1__contact_person,
      PSC_RETRY_REQUEST_ID, "Add a contact person to a COMPANY prospect."),
    M(GetContactPerson, prospects__v1__get_contact_person_request, prospects__v1__contact_person,
      PSC_RETRY_READ, "Get a contact person by name."),
    M(ListContactPersons, prospects__v1__list_contact_persons_request,
      prospects__v1__list_contact_persons_response, PSC_RETRY_READ,
      "List the contact persons of a prospect."),
    M(UpdateContactPerson, prospects__v1__update_contact_person_request, prospects__v1__contact_person,
      PSC_RETRY_NEVER, "Update a contact person (update_mask, etag optional)."),
    M(DeleteContactPerson, prospects__v1__delete_contact_person_request, google__protobuf__empty,
      PSC_RETRY_NEVER, "Delete a contact person (etag optional)."),
    M(LinkDocument, prospects__v1__link_document_request, prospects__v1__document,
      PSC_RETRY_REQUEST_ID, "Link a document owned by another service to a prospect."),
    M(UnlinkDocument, prospects__v1__unlink_document_request, google__protobuf__empty,
      PSC_RETRY_NEVER, "Remove the link of a document (by type and owning service's id)."),
    M(ListDocuments, prospects__v1__list_documents_request, prospects__v1__list_documents_response,
      PSC_RETRY_READ, "List the documents linked to a prospect, newest first."),
    M(LookupDocument, prospects__v1__lookup_document_request, prospects__v1__document, PSC_RETRY_READ,
      "Which record a document is on, by type and the owning service's id."),
    M(IntakeQuoteRequest, prospects__v1__intake_quote_request_request,
      prospects__v1__intake_quote_request_response, PSC_RETRY_REQUEST_ID,
      "Take in a quote request: link it to a new or an existing prospect."),
    M(ConvertProspect, prospects__v1__convert_prospect_request, prospects__v1__convert_prospect_response,
      PSC_RETRY_REQUEST_ID, "Turn a prospect into a customer on its first invoice."),
    M(MergeProspects, prospects__v1__merge_prospects_request, prospects__v1__merge_prospects_response,
      PSC_RETRY_REQUEST_ID, "Merge 1-10 source records into a target (validate_only: dry run)."),
    M(GetMerge, prospects__v1__get_merge_request, prospects__v1__merge, PSC_RETRY_READ,
      "Get a merge record by name."),
    M(ListMerges, prospects__v1__list_merges_request, prospects__v1__list_merges_response,
      PSC_RETRY_READ, "List a tenant's merge records, newest first."),
    M(GetTenantApps, prospects__v1__get_tenant_apps_request, prospects__v1__tenant_apps,
      PSC_RETRY_READ, "Get a tenant's apps (Prospects, Quote requests)."),
    M(UpdateTenantApps, prospects__v1__update_tenant_apps_request, prospects__v1__tenant_apps,
      PSC_RETRY_NEVER, "Switch a tenant's apps on or off (update_mask, etag optional)."),
    M(ListAuditEvents, prospects__v1__list_audit_events_request, prospects__v1__list_audit_events_response,
      PSC_RETRY_READ, "List a tenant's audit trail (app changes, merges), newest first; for operators."),
    M(BatchCreateProspects, prospects__v1__batch_create_prospects_request,
      prospects__v1__batch_create_prospects_response, PSC_RETRY_REQUEST_ID,
      "Create up to 500 prospects with their contact persons; a result per row."),
    M(ExportProspects, prospects__v1__export_prospects_request,
      prospects__v1__export_prospects_response, PSC_RETRY_NEVER,
      "Stream every record of a tenant with its contact persons from one snapshot."),
    M(ExportPersonData, prospects__v1__export_person_data_request, prospects__v1__person_data,
      PSC_RETRY_READ, "Everything held about one prospect or contact person (GDPR access)."),
    M(ErasePersonData, prospects__v1__erase_person_data_request,
      prospects__v1__erase_person_data_response, PSC_RETRY_REQUEST_ID,
      "Erase a prospect or contact person and redact their copies (GDPR erasure)."),
};
const size_t psc__n_methods = sizeof psc__methods / sizeof psc__methods[0];

PSC_EXPORT size_t psc_method_count(void) { return psc__n_methods; }

PSC_EXPORT const psc_method_t *psc_method_at(size_t i) {
  return i < psc__n_methods ? &psc__methods[i] : NULL;
}

PSC_EXPORT const psc_method_t *psc_method_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < psc__n_methods; i++)
    if (strcmp(psc__methods[i].name, name) == 0) return &psc__methods[i];
  return NULL;
}

/* One typed function per RPC: index into the table, same conventions as psc_invoke. */
#define RPC(fn, idx, Req, Resp)                                                                \
  PSC_EXPORT int fn(psc_client_t *client, const Req *req, const psc_call_options_t *opts,      \
                    Resp **ret_resp, psc_status_t *ret_status) {                               \
    return psc_invoke(client, &psc__methods[idx], (const ProtobufCMessage *)req, opts,         \
                      (ProtobufCMessage **)ret_resp, ret_status);                              \
  }

RPC(psc_create_prospect, 0, Prospects__V1__CreateProspectRequest, Prospects__V1__Prospect)
RPC(psc_get_prospect, 1, Prospects__V1__GetProspectRequest, Prospects__V1__Prospect)
RPC(psc_update_prospect, 2, Prospects__V1__UpdateProspectRequest, Prospects__V1__Prospect)
RPC(psc_delete_prospect, 3, Prospects__V1__DeleteProspectRequest, Google__Protobuf__Empty)
RPC(psc_list_prospects, 4, Prospects__V1__ListProspectsRequest, Prospects__V1__ListProspectsResponse)
RPC(psc_find_duplicate_prospects, 5, Prospects__V1__FindDuplicateProspectsRequest,
    Prospects__V1__FindDuplicateProspectsResponse)
RPC(psc_resolve_prospect, 6, Prospects__V1__ResolveProspectRequest, Prospects__V1__ResolveProspectResponse)
RPC(psc_create_contact_person, 7, Prospects__V1__CreateContactPersonRequest, Prospects__V1__ContactPerson)
RPC(psc_get_contact_person, 8, Prospects__V1__GetContactPersonRequest, Prospects__V1__ContactPerson)
RPC(psc_list_contact_persons, 9, Prospects__V1__ListContactPersonsRequest,
    Prospects__V1__ListContactPersonsResponse)
RPC(psc_update_contact_person, 10, Prospects__V1__UpdateContactPersonRequest, Prospects__V1__ContactPerson)
RPC(psc_delete_contact_person, 11, Prospects__V1__DeleteContactPersonRequest, Google__Protobuf__Empty)
RPC(psc_link_document, 12, Prospects__V1__LinkDocumentRequest, Prospects__V1__Document)
RPC(psc_unlink_document, 13, Prospects__V1__UnlinkDocumentRequest, Google__Protobuf__Empty)
RPC(psc_list_documents, 14, Prospects__V1__ListDocumentsRequest, Prospects__V1__ListDocumentsResponse)
RPC(psc_lookup_document, 15, Prospects__V1__LookupDocumentRequest, Prospects__V1__Document)
RPC(psc_intake_quote_request, 16, Prospects__V1__IntakeQuoteRequestRequest,
    Prospects__V1__IntakeQuoteRequestResponse)
RPC(psc_convert_prospect, 17, Prospects__V1__ConvertProspectRequest, Prospects__V1__ConvertProspectResponse)
RPC(psc_merge_prospects, 18, Prospects__V1__MergeProspectsRequest, Prospects__V1__MergeProspectsResponse)
RPC(psc_get_merge, 19, Prospects__V1__GetMergeRequest, Prospects__V1__Merge)
RPC(psc_list_merges, 20, Prospects__V1__ListMergesRequest, Prospects__V1__ListMergesResponse)
RPC(psc_get_tenant_apps, 21, Prospects__V1__GetTenantAppsRequest, Prospects__V1__TenantApps)
RPC(psc_update_tenant_apps, 22, Prospects__V1__UpdateTenantAppsRequest, Prospects__V1__TenantApps)
RPC(psc_list_audit_events, 23, Prospects__V1__ListAuditEventsRequest,
    Prospects__V1__ListAuditEventsResponse)
RPC(psc_batch_create_prospects, 24, Prospects__V1__BatchCreateProspectsRequest,
    Prospects__V1__BatchCreateProspectsResponse)
RPC(psc_export_person_data, 26, Prospects__V1__ExportPersonDataRequest, Prospects__V1__PersonData)
RPC(psc_erase_person_data, 27, Prospects__V1__ErasePersonDataRequest,
    Prospects__V1__ErasePersonDataResponse)

/* A wrong index above would pair a request with another RPC's descriptors: psc_invoke refuses that
 * (PSC_INVALID_ARGUMENT), and the tests call every typed function. */
_Static_assert(sizeof psc__methods / sizeof psc__methods[0] == 28, "one entry per RPC of service.proto");
