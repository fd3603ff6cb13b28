#include "dispatch.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "prospects/v1/service.pb-c.h"
#include "service/service.h"

/* Adapts a typed handler to the generic shape the table stores. */
#define ADAPT(fn, Req, Resp)                                                                 \
  static int adapt_##fn(ps_ctx_t *ctx, const ProtobufCMessage *req, ProtobufCMessage **ret) { \
    Resp *out = NULL;                                                                        \
    int rc = fn(ctx, (const Req *)req, &out);                                                \
    *ret = (ProtobufCMessage *)out;                                                          \
    return rc;                                                                               \
  }

ADAPT(ps_create_prospect, Prospects__V1__CreateProspectRequest, Prospects__V1__Prospect)
ADAPT(ps_get_prospect, Prospects__V1__GetProspectRequest, Prospects__V1__Prospect)
ADAPT(ps_update_prospect, Prospects__V1__UpdateProspectRequest, Prospects__V1__Prospect)
ADAPT(ps_delete_prospect, Prospects__V1__DeleteProspectRequest, Google__Protobuf__Empty)
ADAPT(ps_list_prospects, Prospects__V1__ListProspectsRequest, Prospects__V1__ListProspectsResponse)
ADAPT(ps_find_duplicate_prospects, Prospects__V1__FindDuplicateProspectsRequest,
      Prospects__V1__FindDuplicateProspectsResponse)
ADAPT(ps_create_contact_person, Prospects__V1__CreateContactPersonRequest, Prospects__V1__ContactPerson)
ADAPT(ps_get_contact_person, Prospects__V1__GetContactPersonRequest, Prospects__V1__ContactPerson)
ADAPT(ps_list_contact_persons, Prospects__V1__ListContactPersonsRequest,
      Prospects__V1__ListContactPersonsResponse)
ADAPT(ps_update_contact_person, Prospects__V1__UpdateContactPersonRequest, Prospects__V1__ContactPerson)
ADAPT(ps_delete_contact_person, Prospects__V1__DeleteContactPersonRequest, Google__Protobuf__Empty)
ADAPT(ps_link_document, Prospects__V1__LinkDocumentRequest, Prospects__V1__Document)
ADAPT(ps_unlink_document, Prospects__V1__UnlinkDocumentRequest, Google__Protobuf__Empty)
ADAPT(ps_list_documents, Prospects__V1__ListDocumentsRequest, Prospects__V1__ListDocumentsResponse)
ADAPT(ps_lookup_document, Prospects__V1__LookupDocumentRequest, Prospects__V1__Document)
ADAPT(ps_intake_quote_request, Prospects__V1__IntakeQuoteRequestRequest,
      Prospects__V1__IntakeQuoteRequestResponse)
ADAPT(ps_convert_prospect, Prospects__V1__ConvertProspectRequest,
      Prospects__V1__ConvertProspectResponse)
ADAPT(ps_merge_prospects, Prospects__V1__MergeProspectsRequest, Prospects__V1__MergeProspectsResponse)
ADAPT(ps_get_merge, Prospects__V1__GetMergeRequest, Prospects__V1__Merge)
ADAPT(ps_list_merges, Prospects__V1__ListMergesRequest, Prospects__V1__ListMergesResponse)
ADAPT(ps_resolve_prospect, Prospects__V1__ResolveProspectRequest,
      Prospects__V1__ResolveProspectResponse)
ADAPT(ps_get_tenant_apps, Prospects__V1__GetTenantAppsRequest, Prospects__V1__TenantApps)
ADAPT(ps_update_tenant_apps, Prospects__V1__UpdateTenantAppsRequest, Prospects__V1__TenantApps)

static const struct {
  const char *name;
  ps_handler_fn fn;
} handlers[] = {
    {"CreateProspect", adapt_ps_create_prospect},
    {"GetProspect", adapt_ps_get_prospect},
    {"UpdateProspect", adapt_ps_update_prospect},
    {"DeleteProspect", adapt_ps_delete_prospect},
    {"ListProspects", adapt_ps_list_prospects},
    {"FindDuplicateProspects", adapt_ps_find_duplicate_prospects},
    {"CreateContactPerson", adapt_ps_create_contact_person},
    {"GetContactPerson", adapt_ps_get_contact_person},
    {"ListContactPersons", adapt_ps_list_contact_persons},
    {"UpdateContactPerson", adapt_ps_update_contact_person},
    {"DeleteContactPerson", adapt_ps_delete_contact_person},
    {"LinkDocument", adapt_ps_link_document},
    {"UnlinkDocument", adapt_ps_unlink_document},
    {"ListDocuments", adapt_ps_list_documents},
    {"LookupDocument", adapt_ps_lookup_document},
    {"IntakeQuoteRequest", adapt_ps_intake_quote_request},
    {"ConvertProspect", adapt_ps_convert_prospect},
    {"MergeProspects", adapt_ps_merge_prospects},
    {"GetMerge", adapt_ps_get_merge},
    {"ListMerges", adapt_ps_list_merges},
    {"ResolveProspect", adapt_ps_resolve_prospect},
    {"GetTenantApps", adapt_ps_get_tenant_apps},
    {"UpdateTenantApps", adapt_ps_update_tenant_apps},
};

#define MAX_METHODS 64
static ps_method_t table[MAX_METHODS];
static size_t n_table;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void) {
  const ProtobufCServiceDescriptor *sd = &prospects__v1__prospect_service__descriptor;
  for (unsigned i = 0; i < sd->n_methods && n_table < MAX_METHODS; i++) {
    const ProtobufCMethodDescriptor *md = &sd->methods[i];
    ps_method_t *m = &table[n_table++];
    snprintf(m->path, sizeof m->path, "/%s/%s", sd->name, md->name);
    m->name = md->name;
    m->request = md->input;
    m->response = md->output;
    m->handler = NULL;
    for (size_t h = 0; h < sizeof handlers / sizeof handlers[0]; h++)
      if (strcmp(handlers[h].name, md->name) == 0) m->handler = handlers[h].fn;
  }
}

const ps_method_t *ps_dispatch_methods(size_t *ret_n) {
  pthread_once(&once, build);
  *ret_n = n_table;
  return table;
}
