/* prospect-client: the C client library of prospects.v1.ProspectService.
 *
 * One handle (psc_client_t) per target, shared by any number of threads. One function per RPC: it
 * takes the protobuf-c request message (generated from proto/prospects/v1/service.proto; the
 * headers are installed with this one) and hands back a protobuf-c response.
 *
 * Conventions of every psc_<rpc>() function below (each comment only adds what differs):
 *   client      the handle from psc_client_new(); not NULL.
 *   req         the request; the library only reads it and never keeps a pointer into it (the
 *               caller owns and frees it, and may reuse it as soon as the function returns). A
 *               request_id the caller leaves empty is filled in (a random UUIDv4) on a copy; the
 *               one used is reported in ret_status->request_id.
 *   opts        per-call options (deadline, acting user, retries) or NULL for the client defaults.
 *   ret_resp    on PSC_OK: *ret_resp is a new message from the heap that the CALLER frees with the
 *               generated <message>__free_unpacked(*ret_resp, NULL) named on each function. On any
 *               other code *ret_resp is left untouched. ret_resp may be NULL to discard the reply.
 *   ret_status  filled in on every return (code, message, ErrorInfo reason/metadata, attempts,
 *               request_id); it belongs to the caller (a plain struct, nothing to free). May be NULL.
 *   returns     the gRPC status code (PSC_OK = 0), the same as ret_status->code.
 *   threads     safe to call from any number of threads at once on one client handle.
 *
 * Retries: a call that gets UNAVAILABLE, or ABORTED without an ErrorInfo reason (a lost race: a
 * deadlock, a Galera certification conflict, a concurrent change), is retried with jittered
 * exponential backoff (options' retry policy) only when repeating it is harmless: reads (Get, List,
 * Find, Resolve, Lookup) and writes that carry a request_id (Create*, LinkDocument,
 * IntakeQuoteRequest, ConvertProspect, MergeProspects). Update*, Delete* and UnlinkDocument are
 * never retried, and neither is ABORTED with a reason (ETAG_MISMATCH: the caller's to resolve).
 * The deadline covers all attempts together.
 *
 * Transport security: a client speaks TLS unless its options ask for PSC_TRANSPORT_PLAINTEXT, and
 * never falls back to plaintext. The server's certificate is always verified (CA bundle, host
 * name). With a client certificate the connection is mutual TLS, and the server authorizes every
 * call by that certificate's identity (its SPIFFE URI SAN, else its DNS SAN); x-caller is only a
 * label. Certificate files (tls_*_file) are watched: a rotated certificate, key or CA bundle is
 * used by the next connection the channel makes, without a new handle or a restart.
 *
 * Versioning: MINOR grows when something is added (a function, an option carved out of
 * psc_options_t.reserved, an enum value); the layout of the public structs and the signatures stay,
 * so binaries built against an older header keep linking and running. MAJOR, and with it the
 * SOVERSION, grows when a layout or a signature changes. While MAJOR is 0 a MINOR step may also
 * change a default, and this header says which (see psc_options_t.transport for 0.2).
 */
#ifndef PROSPECTS_CLIENT_H
#define PROSPECTS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "prospects/v1/service.pb-c.h" /* all request/response messages; installed alongside */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define PSC_VERSION_MAJOR 0
#define PSC_VERSION_MINOR 5
#define PSC_VERSION_PATCH 0
/* One number that compares: 0x00MMmmpp. */
#define PSC_VERSION_NUMBER ((PSC_VERSION_MAJOR << 16) | (PSC_VERSION_MINOR << 8) | PSC_VERSION_PATCH)

#if defined(PSC_BUILDING_LIBRARY) && defined(__GNUC__)
#define PSC_EXPORT __attribute__((visibility("default")))
#else
#define PSC_EXPORT
#endif

/* The library's version string, e.g. "0.1.0" (of the library actually loaded, which may differ
 * from the macros above when the header is older or newer). Static storage: do not free. */
PSC_EXPORT const char *psc_version(void);

/* ---------------------------------------------------------------- status codes */

/* The gRPC status codes (same numbers as grpc_status_code), so callers need no gRPC header. */
enum {
  PSC_OK = 0,
  PSC_CANCELLED = 1,
  PSC_UNKNOWN = 2,
  PSC_INVALID_ARGUMENT = 3,
  PSC_DEADLINE_EXCEEDED = 4,
  PSC_NOT_FOUND = 5,
  PSC_ALREADY_EXISTS = 6,
  PSC_PERMISSION_DENIED = 7,
  PSC_RESOURCE_EXHAUSTED = 8,
  PSC_FAILED_PRECONDITION = 9,
  PSC_ABORTED = 10,
  PSC_OUT_OF_RANGE = 11,
  PSC_UNIMPLEMENTED = 12,
  PSC_INTERNAL = 13,
  PSC_UNAVAILABLE = 14,
  PSC_DATA_LOSS = 15,
  PSC_UNAUTHENTICATED = 16
};

/* "OK", "NOT_FOUND", ... for a code; "UNKNOWN_CODE" outside 0..16. Static storage: do not free.
 * Thread-safe. */
PSC_EXPORT const char *psc_code_name(int code);

#define PSC_STATUS_MAX_META 8

/* One ErrorInfo metadata entry; both strings are cut to fit (always NUL-terminated). */
typedef struct psc_status_meta {
  char key[64];    /* e.g. "field", "surviving_prospect", "app" */
  char value[256]; /* its value */
} psc_status_meta_t;

/* The outcome of one call. A plain value the caller owns (stack or heap), written by the call that
 * receives it and by nothing else: never shared through the client handle. */
typedef struct psc_status {
  int code;                           /* PSC_OK or the gRPC status code */
  char message[512];                  /* the server's message, or the library's when it failed locally */
  char reason[128];                   /* ErrorInfo.reason (e.g. "PROSPECT_MERGED"); "" without ErrorInfo */
  char domain[64];                    /* ErrorInfo.domain ("prospects.v1"); "" without ErrorInfo */
  char surviving_prospect[256];       /* PROSPECT_MERGED: the live record's name; else "" */
  char request_id[65];                /* the request_id the call carried ("" when it has none) */
  int attempts;                       /* how many times the RPC was sent (0: failed before sending) */
  size_t n_meta;                      /* entries used in meta[] */
  psc_status_meta_t meta[PSC_STATUS_MAX_META]; /* ErrorInfo metadata, in the server's order */
} psc_status_t;

/* The ErrorInfo metadata value of key in st, or NULL. Points into st: valid while st is. */
PSC_EXPORT const char *psc_status_meta(const psc_status_t *st, const char *key);

/* ---------------------------------------------------------------- options and handle */

/* Retries of UNAVAILABLE (and of ABORTED without a reason) for calls that are safe to repeat. Zero
 * fields take the default. */
typedef struct psc_retry_policy {
  int max_attempts;       /* attempts in all, including the first; default 5; 1 = never retry */
  int initial_backoff_ms; /* wait before the first retry (then doubled each time); default 200 */
  int max_backoff_ms;     /* cap of one wait; default 2000. Each wait is drawn uniformly in [w/2, w].
                             Also the channel's reconnect backoff, so reconnects keep pace */
} psc_retry_policy_t;

/* Transport security of a client (psc_options_t.transport). */
typedef enum psc_transport {
  PSC_TRANSPORT_DEFAULT = 0,  /* the same as PSC_TRANSPORT_TLS */
  PSC_TRANSPORT_TLS = 1,      /* TLS; the server's certificate is verified against the CA bundle
                                 (tls_ca_file / tls_root_certs_pem, else gRPC's default roots) and
                                 its name against the target's host or tls_target_name_override.
                                 Mutual TLS when a client certificate is given */
  PSC_TRANSPORT_PLAINTEXT = 2 /* no TLS (h2c): nothing is encrypted, the server is not verified and
                                 the caller has no identity. Only for a local development server
                                 (scripts/run) or a trusted proxy on the same host; must be asked
                                 for, and no tls_* option may be set with it */
} psc_transport_t;

/* How to make a client. Zero-initialise ({0}) and set what you need: every zero field takes its
 * default. The library copies what it needs in psc_client_new(): the caller may free the strings
 * afterwards (files are read again by path when they change).
 *
 * TLS material comes either from files (tls_ca_file, tls_cert_file + tls_key_file: watched, so
 * rotation needs no restart) or from memory (tls_root_certs_pem, tls_cert_chain_pem +
 * tls_private_key_pem: fixed for the life of the handle), not a mix of both. psc_client_new_ex()
 * says in its status which option is wrong. */
typedef struct psc_options {
  const char *target;          /* gRPC target, e.g. "localhost:50051", "dns:///prospects:50051";
                                  required */
  int64_t default_deadline_ms; /* deadline of a call whose options give none; default 10000 */
  psc_retry_policy_t retry;    /* retry policy of UNAVAILABLE */
  const char *caller;          /* sent as x-caller metadata (a label for logs; the server identifies
                                  the caller by its certificate); NULL: none */
  int enable_http_proxy;       /* 1: honour http_proxy/https_proxy; default 0 (direct) */
  psc_transport_t transport;   /* TLS (0 = PSC_TRANSPORT_DEFAULT, or PSC_TRANSPORT_TLS) or
                                  PSC_TRANSPORT_PLAINTEXT. Changed in 0.2: this was `int use_tls`,
                                  where 0 meant plaintext; 1 still means TLS, 0 now means TLS too */
  const char *tls_root_certs_pem;  /* CA bundle in memory (PEM); NULL: tls_ca_file, else gRPC's
                                      default roots */
  const char *tls_cert_chain_pem;  /* client certificate chain in memory (PEM), for mutual TLS;
                                      NULL: none */
  const char *tls_private_key_pem; /* its private key (PEM); required with tls_cert_chain_pem */
  const char *tls_target_name_override; /* the name checked against the server's certificate (and
                                           sent as SNI) instead of the target's host, e.g. when the
                                           target is an IP address; NULL: the target's host */
  const char *tls_ca_file;     /* since 0.2: CA bundle file (PEM) that verifies the server; NULL:
                                  tls_root_certs_pem, else gRPC's default roots */
  const char *tls_cert_file;   /* since 0.2: client certificate chain file (PEM), for mutual TLS;
                                  NULL: none */
  const char *tls_key_file;    /* since 0.2: its private key file (PEM); required with
                                  tls_cert_file, and only with it */
  int tls_reload_s;            /* since 0.2: how often the tls_*_file files are checked for
                                  changes, seconds; default 60 */
  const char *lb_policy;       /* since 0.4: how calls spread over the addresses the target resolves
                                  to: "round_robin" (every address in turn: use it with a
                                  "dns:///…" target that names a headless Kubernetes Service, so
                                  calls reach every replica) or "pick_first"; NULL: gRPC's default
                                  (pick_first: one connection) */
  void *reserved[3];           /* for future options: keep NULL (psc_client_new refuses a set one).
                                  0.1 had reserved[8]; the fields above took their place, so the
                                  size and the offsets of the older fields are unchanged */
} psc_options_t;

/* Options of one call; zero-initialise. NULL options = all defaults. */
typedef struct psc_call_options {
  int64_t deadline_ms;         /* the whole call, retries included; 0: the client's default */
  const char *acting_user;     /* sent as x-acting-user metadata; NULL: none */
  int no_retry;                /* 1: a single attempt even when the call is safe to retry */
  const char *traceparent;     /* since 0.5: the caller's W3C trace context
                                  ("00-<trace-id>-<parent-id>-<flags>"), sent as traceparent
                                  metadata on every attempt, so that the server's access lines and
                                  error logs carry its trace id. NULL: the library starts a trace of
                                  its own for the call (psc_traceparent_new), the same for all of its
                                  attempts. A value that is not a valid traceparent is refused
                                  (PSC_INVALID_ARGUMENT) */
  void *reserved[3];           /* keep NULL. 0.4 had reserved[4]: traceparent took the first */
} psc_call_options_t;

/* Length of a traceparent of version 00: "00-" 32 hex "-" 16 hex "-" 2 hex. */
#define PSC_TRACEPARENT_LEN 55

/* Since 0.5. Starts a W3C trace: writes "00-<random trace-id>-<random parent-id>-00" (not
 * sampled: the library records nothing) and a NUL into out. Give it to several calls as
 * psc_call_options_t.traceparent to tie them together in the server's logs. Returns 0, or -1 when
 * the system has no randomness to give. Thread-safe. */
PSC_EXPORT int psc_traceparent_new(char out[PSC_TRACEPARENT_LEN + 1]);

/* Since 0.5. 1 when s is a traceparent the library sends (version 00, lowercase hex, ids not all
 * zero), else 0. */
PSC_EXPORT int psc_traceparent_valid(const char *s);

/* The client handle: a gRPC channel plus its settings. Opaque; immutable after creation. */
typedef struct psc_client psc_client_t;

/* Creates a client for opts->target. Connecting is lazy: this succeeds while the server is down
 * (a TLS handshake that fails, e.g. on an unknown CA or a wrong host name, shows up as PSC_UNAVAILABLE
 * on the calls). The certificate files are read once here to check them, and again by gRPC.
 * opts: read only, not kept. *ret_client: on success a new handle the caller frees with
 * psc_client_free(); untouched on failure.
 * Returns PSC_OK, PSC_INVALID_ARGUMENT (NULL arguments, no target, a bad option: e.g. a certificate
 * without its key, TLS options with PSC_TRANSPORT_PLAINTEXT, a file that cannot be read or holds
 * no PEM block), PSC_RESOURCE_EXHAUSTED (out of memory) or PSC_INTERNAL (gRPC refused the
 * credentials). Thread-safe (initialises gRPC once per process). */
PSC_EXPORT int psc_client_new(const psc_options_t *opts, psc_client_t **ret_client);

/* Since 0.2. psc_client_new(), and on every return *ret_status says what happened: code (the same
 * as the return value) and, on failure, a message naming the option at fault ("tls_cert_file is
 * set without tls_key_file"). ret_status belongs to the caller (nothing to free); may be NULL. */
PSC_EXPORT int psc_client_new_ex(const psc_options_t *opts, psc_client_t **ret_client,
                                 psc_status_t *ret_status);

/* Frees the handle and its channel. NULL is fine. No call may be running on it (the caller
 * joins its threads first). Responses already returned stay valid (they are the caller's). */
PSC_EXPORT void psc_client_free(psc_client_t *client);

/* The target the client was made for. Points into the client: valid until psc_client_free(). */
PSC_EXPORT const char *psc_client_target(const psc_client_t *client);

/* ---------------------------------------------------------------- generic calls */

/* Whether an RPC may be retried on UNAVAILABLE. */
typedef enum psc_retry_class {
  PSC_RETRY_NEVER = 0,      /* a write without request_id: never repeated */
  PSC_RETRY_READ = 1,       /* a read: always safe */
  PSC_RETRY_REQUEST_ID = 2  /* a write made idempotent by its request_id (filled in when empty) */
} psc_retry_class_t;

/* Describes one RPC of the service. Static storage: never freed, never changes. */
typedef struct psc_method {
  const char *name;                            /* "CreateProspect" */
  const char *path;                            /* "/prospects.v1.ProspectService/CreateProspect" */
  const ProtobufCMessageDescriptor *request;   /* descriptor of the request message */
  const ProtobufCMessageDescriptor *response;  /* descriptor of the response message */
  psc_retry_class_t retry;                     /* when UNAVAILABLE may be retried */
  const char *summary;                         /* one line for humans */
} psc_method_t;

/* Number of RPCs, and the i-th (NULL when i is out of range), in the order of service.proto.
 * Static storage; thread-safe. */
PSC_EXPORT size_t psc_method_count(void);
PSC_EXPORT const psc_method_t *psc_method_at(size_t i);

/* The RPC named name ("GetProspect"), or NULL. Static storage; thread-safe. */
PSC_EXPORT const psc_method_t *psc_method_find(const char *name);

/* Calls any RPC: what the psc_<rpc>() functions below do. method: from psc_method_at()/_find();
 * req: a message of method->request (else PSC_INVALID_ARGUMENT). *ret_resp on PSC_OK: a message of
 * method->response that the CALLER frees with protobuf_c_message_free_unpacked(*ret_resp, NULL).
 * Otherwise as the conventions at the top of this file. */
PSC_EXPORT int psc_invoke(psc_client_t *client, const psc_method_t *method,
                          const ProtobufCMessage *req, const psc_call_options_t *opts,
                          ProtobufCMessage **ret_resp, psc_status_t *ret_status);

/* ---------------------------------------------------------------- prospects */

/* CreateProspect (retried: request_id). Free *ret_resp with prospects__v1__prospect__free_unpacked. */
PSC_EXPORT int psc_create_prospect(psc_client_t *client, const Prospects__V1__CreateProspectRequest *req,
                                   const psc_call_options_t *opts, Prospects__V1__Prospect **ret_resp,
                                   psc_status_t *ret_status);

/* GetProspect (retried: read). Free *ret_resp with prospects__v1__prospect__free_unpacked. A
 * merged-away name gives PSC_NOT_FOUND with reason PROSPECT_MERGED and ret_status->surviving_prospect. */
PSC_EXPORT int psc_get_prospect(psc_client_t *client, const Prospects__V1__GetProspectRequest *req,
                                const psc_call_options_t *opts, Prospects__V1__Prospect **ret_resp,
                                psc_status_t *ret_status);

/* UpdateProspect (never retried). Free *ret_resp with prospects__v1__prospect__free_unpacked. */
PSC_EXPORT int psc_update_prospect(psc_client_t *client, const Prospects__V1__UpdateProspectRequest *req,
                                   const psc_call_options_t *opts, Prospects__V1__Prospect **ret_resp,
                                   psc_status_t *ret_status);

/* DeleteProspect (never retried). Free *ret_resp with google__protobuf__empty__free_unpacked. */
PSC_EXPORT int psc_delete_prospect(psc_client_t *client, const Prospects__V1__DeleteProspectRequest *req,
                                   const psc_call_options_t *opts, Google__Protobuf__Empty **ret_resp,
                                   psc_status_t *ret_status);

/* ListProspects (retried: read). Free *ret_resp with
 * prospects__v1__list_prospects_response__free_unpacked. */
PSC_EXPORT int psc_list_prospects(psc_client_t *client, const Prospects__V1__ListProspectsRequest *req,
                                  const psc_call_options_t *opts,
                                  Prospects__V1__ListProspectsResponse **ret_resp, psc_status_t *ret_status);

/* FindDuplicateProspects (retried: read). Free *ret_resp with
 * prospects__v1__find_duplicate_prospects_response__free_unpacked. */
PSC_EXPORT int psc_find_duplicate_prospects(psc_client_t *client,
                                            const Prospects__V1__FindDuplicateProspectsRequest *req,
                                            const psc_call_options_t *opts,
                                            Prospects__V1__FindDuplicateProspectsResponse **ret_resp,
                                            psc_status_t *ret_status);

/* ResolveProspect (retried: read). Free *ret_resp with
 * prospects__v1__resolve_prospect_response__free_unpacked. */
PSC_EXPORT int psc_resolve_prospect(psc_client_t *client, const Prospects__V1__ResolveProspectRequest *req,
                                    const psc_call_options_t *opts,
                                    Prospects__V1__ResolveProspectResponse **ret_resp,
                                    psc_status_t *ret_status);

/* ---------------------------------------------------------------- contact persons */

/* CreateContactPerson (retried: request_id). Free *ret_resp with
 * prospects__v1__contact_person__free_unpacked. */
PSC_EXPORT int psc_create_contact_person(psc_client_t *client,
                                         const Prospects__V1__CreateContactPersonRequest *req,
                                         const psc_call_options_t *opts,
                                         Prospects__V1__ContactPerson **ret_resp, psc_status_t *ret_status);

/* GetContactPerson (retried: read). Free *ret_resp with prospects__v1__contact_person__free_unpacked. */
PSC_EXPORT int psc_get_contact_person(psc_client_t *client, const Prospects__V1__GetContactPersonRequest *req,
                                      const psc_call_options_t *opts,
                                      Prospects__V1__ContactPerson **ret_resp, psc_status_t *ret_status);

/* ListContactPersons (retried: read). Free *ret_resp with
 * prospects__v1__list_contact_persons_response__free_unpacked. */
PSC_EXPORT int psc_list_contact_persons(psc_client_t *client,
                                        const Prospects__V1__ListContactPersonsRequest *req,
                                        const psc_call_options_t *opts,
                                        Prospects__V1__ListContactPersonsResponse **ret_resp,
                                        psc_status_t *ret_status);

/* UpdateContactPerson (never retried). Free *ret_resp with
 * prospects__v1__contact_person__free_unpacked. */
PSC_EXPORT int psc_update_contact_person(psc_client_t *client,
                                         const Prospects__V1__UpdateContactPersonRequest *req,
                                         const psc_call_options_t *opts,
                                         Prospects__V1__ContactPerson **ret_resp, psc_status_t *ret_status);

/* DeleteContactPerson (never retried). Free *ret_resp with google__protobuf__empty__free_unpacked. */
PSC_EXPORT int psc_delete_contact_person(psc_client_t *client,
                                         const Prospects__V1__DeleteContactPersonRequest *req,
                                         const psc_call_options_t *opts, Google__Protobuf__Empty **ret_resp,
                                         psc_status_t *ret_status);

/* ---------------------------------------------------------------- documents */

/* LinkDocument (retried: request_id). Free *ret_resp with prospects__v1__document__free_unpacked. */
PSC_EXPORT int psc_link_document(psc_client_t *client, const Prospects__V1__LinkDocumentRequest *req,
                                 const psc_call_options_t *opts, Prospects__V1__Document **ret_resp,
                                 psc_status_t *ret_status);

/* UnlinkDocument (never retried). Free *ret_resp with google__protobuf__empty__free_unpacked. */
PSC_EXPORT int psc_unlink_document(psc_client_t *client, const Prospects__V1__UnlinkDocumentRequest *req,
                                   const psc_call_options_t *opts, Google__Protobuf__Empty **ret_resp,
                                   psc_status_t *ret_status);

/* ListDocuments (retried: read). Free *ret_resp with
 * prospects__v1__list_documents_response__free_unpacked. */
PSC_EXPORT int psc_list_documents(psc_client_t *client, const Prospects__V1__ListDocumentsRequest *req,
                                  const psc_call_options_t *opts,
                                  Prospects__V1__ListDocumentsResponse **ret_resp, psc_status_t *ret_status);

/* LookupDocument (retried: read). Free *ret_resp with prospects__v1__document__free_unpacked. */
PSC_EXPORT int psc_lookup_document(psc_client_t *client, const Prospects__V1__LookupDocumentRequest *req,
                                   const psc_call_options_t *opts, Prospects__V1__Document **ret_resp,
                                   psc_status_t *ret_status);

/* ---------------------------------------------------------------- quote requests, conversion */

/* IntakeQuoteRequest (retried: request_id). Free *ret_resp with
 * prospects__v1__intake_quote_request_response__free_unpacked. */
PSC_EXPORT int psc_intake_quote_request(psc_client_t *client,
                                        const Prospects__V1__IntakeQuoteRequestRequest *req,
                                        const psc_call_options_t *opts,
                                        Prospects__V1__IntakeQuoteRequestResponse **ret_resp,
                                        psc_status_t *ret_status);

/* ConvertProspect (retried: request_id). Free *ret_resp with
 * prospects__v1__convert_prospect_response__free_unpacked. On a merged-away name: PSC_NOT_FOUND,
 * reason PROSPECT_MERGED, ret_status->surviving_prospect = the record to convert instead. */
PSC_EXPORT int psc_convert_prospect(psc_client_t *client, const Prospects__V1__ConvertProspectRequest *req,
                                    const psc_call_options_t *opts,
                                    Prospects__V1__ConvertProspectResponse **ret_resp,
                                    psc_status_t *ret_status);

/* ---------------------------------------------------------------- merging */

/* MergeProspects (retried: request_id; a dry run is a read). Free *ret_resp with
 * prospects__v1__merge_prospects_response__free_unpacked. */
PSC_EXPORT int psc_merge_prospects(psc_client_t *client, const Prospects__V1__MergeProspectsRequest *req,
                                   const psc_call_options_t *opts,
                                   Prospects__V1__MergeProspectsResponse **ret_resp, psc_status_t *ret_status);

/* GetMerge (retried: read). Free *ret_resp with prospects__v1__merge__free_unpacked. */
PSC_EXPORT int psc_get_merge(psc_client_t *client, const Prospects__V1__GetMergeRequest *req,
                             const psc_call_options_t *opts, Prospects__V1__Merge **ret_resp,
                             psc_status_t *ret_status);

/* ListMerges (retried: read). Free *ret_resp with prospects__v1__list_merges_response__free_unpacked. */
PSC_EXPORT int psc_list_merges(psc_client_t *client, const Prospects__V1__ListMergesRequest *req,
                               const psc_call_options_t *opts, Prospects__V1__ListMergesResponse **ret_resp,
                               psc_status_t *ret_status);

/* ---------------------------------------------------------------- apps */

/* GetTenantApps (retried: read). Free *ret_resp with prospects__v1__tenant_apps__free_unpacked. */
PSC_EXPORT int psc_get_tenant_apps(psc_client_t *client, const Prospects__V1__GetTenantAppsRequest *req,
                                   const psc_call_options_t *opts, Prospects__V1__TenantApps **ret_resp,
                                   psc_status_t *ret_status);

/* UpdateTenantApps (never retried). Free *ret_resp with prospects__v1__tenant_apps__free_unpacked. */
PSC_EXPORT int psc_update_tenant_apps(psc_client_t *client,
                                      const Prospects__V1__UpdateTenantAppsRequest *req,
                                      const psc_call_options_t *opts, Prospects__V1__TenantApps **ret_resp,
                                      psc_status_t *ret_status);

/* ---------------------------------------------------------------- audit trail */

/* Since 0.3. ListAuditEvents (retried: read): a tenant's audit trail (changes of its apps, merges),
 * newest first, page by page; not gated by the apps. req->parent is "tenants/{tenant}"; pass
 * (*ret_resp)->next_page_token as the next request's page_token until it comes back empty. Free
 * *ret_resp with prospects__v1__list_audit_events_response__free_unpacked. The method is meant for
 * operators: a server whose policy does not allow it to the caller's certificate (the chart's
 * default allows only the operators') answers PSC_PERMISSION_DENIED, which is not retried. */
PSC_EXPORT int psc_list_audit_events(psc_client_t *client, const Prospects__V1__ListAuditEventsRequest *req,
                                     const psc_call_options_t *opts,
                                     Prospects__V1__ListAuditEventsResponse **ret_resp,
                                     psc_status_t *ret_status);

/* ---------------------------------------------------------------- export (server streaming) */

/* Called with each message of an export as it arrives. msg is the library's and is freed when the
 * callback returns (copy what you keep). Return 0 to go on, anything else to stop: the stream is
 * cancelled and the call returns PSC_CANCELLED. */
typedef int (*psc_export_fn)(void *ud, const Prospects__V1__ExportProspectsResponse *msg);

/* ExportProspects (never retried): every record of req->parent ("tenants/{tenant}") with its contact
 * persons, in id order, from one snapshot of the database; a stream of messages, each handed to
 * on_message(ud, msg) in order on the calling thread. Every message carries the snapshot's
 * read_time; the last one total_count. Returns PSC_OK once the whole export arrived. Otherwise the
 * status says why, also after some messages were delivered (e.g. PSC_UNAVAILABLE when the database
 * went away mid-way, PSC_RESOURCE_EXHAUSTED reason TOO_MANY_STREAMS when the server already runs
 * as many exports as it allows): what arrived is then only a part. opts->deadline_ms covers the
 * whole stream; the client's default deadline (10 s) is short for a large tenant. psc_invoke
 * refuses this method (a stream is not one reply). */
PSC_EXPORT int psc_export_prospects(psc_client_t *client, const Prospects__V1__ExportProspectsRequest *req,
                                    const psc_call_options_t *opts, psc_export_fn on_message, void *ud,
                                    psc_status_t *ret_status);

/* Creates up to 500 prospects with their contact persons: one result per row (created, skipped as
 * a duplicate, refused with its reason). Retried only with a request_id. */
PSC_EXPORT int psc_batch_create_prospects(psc_client_t *client,
                                          const Prospects__V1__BatchCreateProspectsRequest *req,
                                          const psc_call_options_t *opts,
                                          Prospects__V1__BatchCreateProspectsResponse **ret_resp,
                                          psc_status_t *ret_status);

/* Everything the service holds about one prospect or contact person (GDPR access request). */
PSC_EXPORT int psc_export_person_data(psc_client_t *client,
                                      const Prospects__V1__ExportPersonDataRequest *req,
                                      const psc_call_options_t *opts,
                                      Prospects__V1__PersonData **ret_resp, psc_status_t *ret_status);

/* Erases a prospect or contact person and redacts their copies (GDPR erasure); idempotent.
 * Retried only with a request_id. */
PSC_EXPORT int psc_erase_person_data(psc_client_t *client,
                                     const Prospects__V1__ErasePersonDataRequest *req,
                                     const psc_call_options_t *opts,
                                     Prospects__V1__ErasePersonDataResponse **ret_resp,
                                     psc_status_t *ret_status);

#ifdef __cplusplus
}
#endif

#endif /* PROSPECTS_CLIENT_H */
