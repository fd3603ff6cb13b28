#include "dispatch.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/counters.h"
#include "core/names.h"
#include "core/unicode.h"
#include "core/wire.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "prospects/v1/service.pb-c.h"
#include "service/import.h"
#include "service/merges.h"
#include "service/prefetch.h"
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
ADAPT(ps_list_audit_events, Prospects__V1__ListAuditEventsRequest,
      Prospects__V1__ListAuditEventsResponse)
ADAPT(ps_batch_create_prospects, Prospects__V1__BatchCreateProspectsRequest,
      Prospects__V1__BatchCreateProspectsResponse)
ADAPT(ps_export_person_data, Prospects__V1__ExportPersonDataRequest, Prospects__V1__PersonData)
ADAPT(ps_erase_person_data, Prospects__V1__ErasePersonDataRequest,
      Prospects__V1__ErasePersonDataResponse)

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
    {"ListAuditEvents", adapt_ps_list_audit_events},
    {"BatchCreateProspects", adapt_ps_batch_create_prospects},
    {"ExportPersonData", adapt_ps_export_person_data},
    {"ErasePersonData", adapt_ps_erase_person_data},
};

/* Server-streaming methods: the typed handler behind the generic stream shape. */
#define ADAPT_STREAM(fn, Req)                                                                  \
  static int adapt_##fn(ps_ctx_t *ctx, const ProtobufCMessage *req, ps_stream_t *out) {       \
    return fn(ctx, (const Req *)req, out);                                                     \
  }

ADAPT_STREAM(ps_export_prospects, Prospects__V1__ExportProspectsRequest)

static const struct {
  const char *name;
  ps_stream_handler_fn fn;
} stream_handlers[] = {
    {"ExportProspects", adapt_ps_export_prospects},
};

/* Methods whose requests carry a record (notes up to 10,000 characters), a contact person or a
 * document with its party snapshot; every other method gets PS_DISPATCH_SMALL_REQUEST_BYTES. */
static const struct {
  const char *name;
  size_t max_bytes;
} request_caps[] = {
    {"CreateProspect", PS_DISPATCH_MAX_REQUEST_BYTES},
    {"UpdateProspect", PS_DISPATCH_MAX_REQUEST_BYTES},
    {"FindDuplicateProspects", PS_DISPATCH_MAX_REQUEST_BYTES},
    {"IntakeQuoteRequest", PS_DISPATCH_MAX_REQUEST_BYTES},
    {"CreateContactPerson", 16384},
    {"UpdateContactPerson", 16384},
    {"LinkDocument", 16384},
    {"ConvertProspect", 16384},
    {"MergeProspects", 8192},
    {"BatchCreateProspects", PS_DISPATCH_MAX_REQUEST_BYTES},
};

/* Caps of particular repeated fields (others: PS_DISPATCH_MAX_REPEATED). The merge's cap is the
 * rule of S10, so it is refused with the same reason as the handler would give. */
static const ps_wire_limit_t repeated_caps[] = {
    {&prospects__v1__merge_prospects_request__descriptor, 3, PS_MERGE_SOURCES_MAX, "TOO_MANY_SOURCES"},
    {&google__protobuf__field_mask__descriptor, 1, 32, NULL},
    {&prospects__v1__batch_create_prospects_request__descriptor, 2, PS_IMPORT_ROWS_MAX, "TOO_MANY_ROWS"},
    {&prospects__v1__prospect_bundle__descriptor, 2, PS_IMPORT_CONTACTS_MAX, "TOO_MANY_CONTACT_PERSONS"},
};

static const ps_wire_rules_t wire_rules = {
    repeated_caps, sizeof repeated_caps / sizeof repeated_caps[0], PS_DISPATCH_MAX_REPEATED,
    PS_DISPATCH_MAX_UNKNOWN_FIELDS, 0};

/* The operations whose outcomes are counted (core/counters.h): a failure of any kind counts here;
 * a success counts what the handler says it did (ctx->outcome). */
static const struct {
  const char *name;
  ps_counter_t failed;
} failed_counters[] = {
    {"MergeProspects", PS_C_MERGE_FAILED},
    {"ConvertProspect", PS_C_CONVERT_FAILED},
    {"IntakeQuoteRequest", PS_C_INTAKE_FAILED},
    {"LinkDocument", PS_C_LINK_FAILED},
};

/* By-key reads that callers make hot (the quoting and invoicing services look prospects up on every
 * document): calls of these, waiting at the same moment, are read with one statement. */
#define BATCH_PROSPECT_READS 1
static const struct {
  const char *name;
  int key;
} batch_keys[] = {
    {"GetProspect", BATCH_PROSPECT_READS},
    {"ResolveProspect", BATCH_PROSPECT_READS},
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
    m->stream_handler = NULL;
    for (size_t h = 0; h < sizeof stream_handlers / sizeof stream_handlers[0]; h++)
      if (strcmp(stream_handlers[h].name, md->name) == 0) m->stream_handler = stream_handlers[h].fn;
    m->failed_counter = -1;
    for (size_t c = 0; c < sizeof failed_counters / sizeof failed_counters[0]; c++)
      if (strcmp(failed_counters[c].name, md->name) == 0) m->failed_counter = (int)failed_counters[c].failed;
    m->batch_key = 0;
    for (size_t c = 0; c < sizeof batch_keys / sizeof batch_keys[0]; c++)
      if (strcmp(batch_keys[c].name, md->name) == 0 && m->handler) m->batch_key = batch_keys[c].key;
    m->max_request_bytes = PS_DISPATCH_SMALL_REQUEST_BYTES;
    for (size_t c = 0; c < sizeof request_caps / sizeof request_caps[0]; c++)
      if (strcmp(request_caps[c].name, md->name) == 0) m->max_request_bytes = request_caps[c].max_bytes;
  }
}

const struct ps_prefetch *ps_dispatch_prefetch(ps_ctx_t *ctx, const ProtobufCMessage *const *reqs,
                                               size_t n) {
  ps_prefetch_t *ret = ps_arena_alloc(ctx->arena, sizeof *ret);
  if (!ret) return NULL;
  /* the requests of the BATCH_PROSPECT_READS methods name their prospect in `name` */
  const char *names[PS_STORE_GET_MANY_MAX];
  size_t k = 0;
  for (size_t i = 0; i < n && k < PS_STORE_GET_MANY_MAX; i++) {
    const ProtobufCMessage *r = reqs[i];
    if (r->descriptor == &prospects__v1__get_prospect_request__descriptor)
      names[k++] = ((const Prospects__V1__GetProspectRequest *)r)->name;
    else if (r->descriptor == &prospects__v1__resolve_prospect_request__descriptor)
      names[k++] = ((const Prospects__V1__ResolveProspectRequest *)r)->name;
  }
  ps_prefetch_prospects(ctx, names, k, ret);
  return ret;
}

const ps_method_t *ps_dispatch_methods(size_t *ret_n) {
  pthread_once(&once, build);
  *ret_n = n_table;
  return table;
}

const ps_method_t *ps_dispatch_find(const char *path, size_t n) {
  pthread_once(&once, build);
  for (size_t i = 0; i < n_table; i++)
    if (strlen(table[i].path) == n && memcmp(table[i].path, path, n) == 0) return &table[i];
  return NULL;
}

int ps_dispatch_fail_memory(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "CALL_MEMORY_EXCEEDED",
                 "the call needs more memory than one call may use");
}

int ps_dispatch_decode(const ps_method_t *m, const uint8_t *buf, size_t len, ps_arena_t *arena,
                       ProtobufCMessage **ret, ps_status_t *st) {
  if (len > m->max_request_bytes) {
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", m->max_request_bytes);
    ps_fail(st, PS_RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE",
            "the request has %zu bytes; %s accepts at most %zu", len, m->name, m->max_request_bytes);
    return ps_status_meta(st, "limit_bytes", limit);
  }
  char path[160];
  ps_wire_limit_t hit;
  switch (ps_wire_check(m->request, buf, len, &wire_rules, path, sizeof path, &hit)) {
  case PS_WIRE_OK:
    break;
  case PS_WIRE_NUL: /* protobuf-c would cut the string at the NUL */
    return ps_fail_field(st, path, "must not contain a NUL character");
  case PS_WIRE_BAD_UTF8:
    return ps_fail_field(st, path, "is not valid UTF-8");
  case PS_WIRE_TOO_MANY:
    if (hit.reason) {
      ps_fail(st, PS_INVALID_ARGUMENT, hit.reason, "%s: at most %zu values are accepted", path,
              hit.max);
      return ps_status_meta(st, "field", path);
    }
    return ps_fail_field(st, path, "holds more than %zu values", hit.max);
  case PS_WIRE_TOO_MANY_UNKNOWN:
    return ps_fail(st, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                   "the request holds more than %d fields that %s does not have",
                   PS_DISPATCH_MAX_UNKNOWN_FIELDS, m->request->name);
  case PS_WIRE_MALFORMED:
    return ps_fail(st, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                   "the request is not a valid %s message", m->request->name);
  }
  ProtobufCMessage *req = protobuf_c_message_unpack(m->request, &arena->allocator, len, buf);
  if (!req) {
    if (arena->exhausted) return ps_dispatch_fail_memory(st);
    return ps_fail(st, PS_INVALID_ARGUMENT, "MALFORMED_REQUEST",
                   "the request is not a valid %s message", m->request->name);
  }
  /* one form of every text from here on: what handlers validate, store, compare and search */
  if (ps_nfc_message(arena, req) != 0) return ps_dispatch_fail_memory(st);
  *ret = req;
  return 0;
}

/* The tenant of "tenants/{tenant}[/...]" into tenant, if valid. 1 when found. */
static int tenant_of(const char *name, char tenant[64]) {
  if (!name || strncmp(name, "tenants/", 8) != 0) return 0;
  const char *t = name + 8, *end = strchr(t, '/');
  size_t n = end ? (size_t)(end - t) : strlen(t);
  if (n == 0 || n > PS_TENANT_MAX) return 0;
  char buf[PS_TENANT_MAX + 1];
  memcpy(buf, t, n);
  buf[n] = '\0';
  if (!ps_tenant_valid(buf)) return 0;
  memcpy(tenant, buf, n + 1);
  return 1;
}

static const char *string_field(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f) {
  if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED) return NULL;
  return *(const char *const *)((const char *)msg + f->offset);
}

void ps_dispatch_describe(const ProtobufCMessage *req, char tenant[64], char request_id[65]) {
  tenant[0] = request_id[0] = '\0';
  if (!req) return;
  const ProtobufCMessageDescriptor *d = req->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *v = string_field(req, f);
    if (v && !tenant[0] &&
        (strcmp(f->name, "parent") == 0 || strcmp(f->name, "name") == 0 ||
         strcmp(f->name, "target") == 0)) {
      tenant_of(v, tenant);
    } else if (v && strcmp(f->name, "request_id") == 0) {
      size_t n = strlen(v), ok = n >= 1 && n <= 64;
      for (size_t k = 0; ok && k < n; k++)
        ok = isalnum((unsigned char)v[k]) || strchr("_.:-", v[k]);
      if (ok) memcpy(request_id, v, n + 1);
    } else if (!tenant[0] && f->type == PROTOBUF_C_TYPE_MESSAGE &&
               f->label != PROTOBUF_C_LABEL_REPEATED) {
      const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)((const char *)req + f->offset);
      if (!sub) continue;
      const ProtobufCFieldDescriptor *nf = protobuf_c_message_descriptor_get_field_by_name(
          sub->descriptor, "name");
      if (nf) tenant_of(string_field(sub, nf), tenant);
    }
  }
}
