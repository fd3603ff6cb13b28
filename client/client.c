/* The client handle and the unary call: the only file of the library that uses the gRPC C core
 * (its API shifts between versions; keep it behind this one module).
 *
 * A call: serialise the request once, then per attempt a pluck completion queue of its own, one
 * batch (send metadata + message + close, receive metadata + message + status), pluck, decode.
 * The handle holds only immutable settings and the channel (thread-safe in gRPC), so any number of
 * threads may call at once; all per-call state lives on the caller's stack. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "internal.h"

#define DEFAULT_DEADLINE_MS 10000
#define DEFAULT_MAX_ATTEMPTS 5
#define DEFAULT_INITIAL_BACKOFF_MS 200
#define DEFAULT_MAX_BACKOFF_MS 2000
#define DEFAULT_TLS_RELOAD_S 60
#define STATUS_DETAILS_KEY "grpc-status-details-bin"

struct psc_client {
  grpc_channel *channel;      /* thread-safe; owned */
  char *target;               /* copy of the options' target */
  char *caller;               /* x-caller value, or NULL */
  int64_t default_deadline_ms;/* deadline of calls without their own */
  psc_retry_policy_t retry;   /* with defaults filled in */
  void *registered[32];       /* grpc_channel_register_call handle per psc__methods entry */
};

/* --------------------------------------------------------------- handle */

static char *dup_or_null(const char *s, int *oom) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *oom = 1;
  return d;
}

/* The layout of psc_options_t in 0.1, to prove that 0.2 only renamed use_tls and carved its new
 * fields out of reserved[]: binaries built against 0.1 pass a struct of the same size and offsets. */
struct psc_options_v0_1 {
  const char *target;
  int64_t default_deadline_ms;
  psc_retry_policy_t retry;
  const char *caller;
  int enable_http_proxy;
  int use_tls;
  const char *tls_root_certs_pem;
  const char *tls_cert_chain_pem;
  const char *tls_private_key_pem;
  const char *tls_target_name_override;
  void *reserved[8];
};
_Static_assert(sizeof(psc_options_t) == sizeof(struct psc_options_v0_1), "psc_options_t changed size");
_Static_assert(offsetof(psc_options_t, transport) == offsetof(struct psc_options_v0_1, use_tls) &&
                   sizeof(psc_transport_t) == sizeof(int),
               "transport must sit where use_tls was");
_Static_assert(offsetof(psc_options_t, tls_ca_file) == offsetof(struct psc_options_v0_1, reserved),
               "the 0.2 options must start where reserved[] did");
_Static_assert(offsetof(psc_options_t, lb_policy) + sizeof(void *) ==
                   offsetof(psc_options_t, reserved),
               "lb_policy (0.4) takes the place of the first of the 0.3 reserved[]");

/* psc_call_options_t of 0.4: traceparent (0.5) took the place of reserved[0]. */
struct psc_call_options_v0_4 {
  int64_t deadline_ms;
  const char *acting_user;
  int no_retry;
  void *reserved[4];
};
_Static_assert(sizeof(psc_call_options_t) == sizeof(struct psc_call_options_v0_4) &&
                   offsetof(psc_call_options_t, traceparent) ==
                       offsetof(struct psc_call_options_v0_4, reserved),
               "traceparent (0.5) takes the place of the first of the 0.4 reserved[]");

/* The TLS channel credentials of o (checked by psc__options_check): gRPC's TLS credentials with a
 * certificate provider that watches the files (or holds the PEM strings), the server's certificate
 * verified and its host name checked. NULL with st set when gRPC refuses. */
static grpc_channel_credentials *tls_credentials(const psc_options_t *o, psc_status_t *st) {
  grpc_tls_certificate_provider *provider = NULL;
  int with_roots = 0, with_identity = 0;
  if (o->tls_ca_file || o->tls_cert_file) {
    unsigned reload = (unsigned)(o->tls_reload_s > 0 ? o->tls_reload_s : DEFAULT_TLS_RELOAD_S);
    provider = grpc_tls_certificate_provider_file_watcher_create(o->tls_key_file, o->tls_cert_file,
                                                                 o->tls_ca_file, reload);
    with_roots = o->tls_ca_file != NULL;
    with_identity = o->tls_cert_file != NULL;
  } else if (o->tls_root_certs_pem || o->tls_cert_chain_pem) {
    grpc_tls_identity_pairs *pairs = NULL;
    if (o->tls_cert_chain_pem) {
      pairs = grpc_tls_identity_pairs_create();
      if (!pairs) {
        psc__status_set(st, PSC_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
      }
      grpc_tls_identity_pairs_add_pair(pairs, o->tls_private_key_pem, o->tls_cert_chain_pem); /* copies */
    }
    provider = grpc_tls_certificate_provider_static_data_create(o->tls_root_certs_pem, pairs); /* owns pairs */
    with_roots = o->tls_root_certs_pem != NULL;
    with_identity = pairs != NULL;
  }
  if ((o->tls_ca_file || o->tls_cert_file || o->tls_root_certs_pem || o->tls_cert_chain_pem) && !provider) {
    psc__status_set(st, PSC_INTERNAL, "gRPC could not make a certificate provider");
    return NULL;
  }

  /* (gRPC aborts rather than return NULL when out of memory; checked all the same) */
  grpc_tls_certificate_verifier *verifier = grpc_tls_certificate_verifier_host_name_create();
  grpc_tls_credentials_options *topts = verifier ? grpc_tls_credentials_options_create() : NULL;
  if (!topts) { /* nothing else owns topts until grpc_tls_credentials_create: only NULL gets here */
    if (verifier) grpc_tls_certificate_verifier_release(verifier);
    if (provider) grpc_tls_certificate_provider_release(provider);
    psc__status_set(st, PSC_RESOURCE_EXHAUSTED, "out of memory");
    return NULL;
  }
  if (provider) {
    grpc_tls_credentials_options_set_certificate_provider(topts, provider); /* takes its own ref */
    if (with_roots) grpc_tls_credentials_options_watch_root_certs(topts);  /* else gRPC's roots */
    if (with_identity) grpc_tls_credentials_options_watch_identity_key_cert_pairs(topts);
  }
  grpc_tls_credentials_options_set_verify_server_cert(topts, 1);
  grpc_tls_credentials_options_set_certificate_verifier(topts, verifier); /* takes its own ref */
  grpc_channel_credentials *creds = grpc_tls_credentials_create(topts); /* owns topts */
  grpc_tls_certificate_verifier_release(verifier);
  if (provider) grpc_tls_certificate_provider_release(provider);
  if (!creds) psc__status_set(st, PSC_INTERNAL, "gRPC refused the TLS options");
  return creds;
}

static void client_free_fields(psc_client_t *c) {
  free(c->target);
  free(c->caller);
  free(c);
}

PSC_EXPORT int psc_client_new_ex(const psc_options_t *opts, psc_client_t **ret_client,
                                 psc_status_t *ret_status) {
  psc_status_t local;
  psc_status_t *st = ret_status ? ret_status : &local;
  psc__status_clear(st);
  if (!opts) return psc__status_set(st, PSC_INVALID_ARGUMENT, "no options");
  if (!ret_client) return psc__status_set(st, PSC_INVALID_ARGUMENT, "ret_client is NULL");
  if (psc__options_check(opts, st) != 0) return st->code;
  if (psc__n_methods > sizeof ((psc_client_t *)0)->registered / sizeof(void *))
    return psc__status_set(st, PSC_INTERNAL, "method table larger than the client's");

  psc_client_t *c = calloc(1, sizeof *c);
  if (!c) return psc__status_set(st, PSC_RESOURCE_EXHAUSTED, "out of memory");
  int oom = 0;
  c->target = dup_or_null(opts->target, &oom);
  c->caller = dup_or_null(opts->caller, &oom);
  if (oom) {
    client_free_fields(c);
    return psc__status_set(st, PSC_RESOURCE_EXHAUSTED, "out of memory");
  }
  c->default_deadline_ms = opts->default_deadline_ms ? opts->default_deadline_ms : DEFAULT_DEADLINE_MS;
  c->retry.max_attempts = opts->retry.max_attempts ? opts->retry.max_attempts : DEFAULT_MAX_ATTEMPTS;
  c->retry.initial_backoff_ms =
      opts->retry.initial_backoff_ms ? opts->retry.initial_backoff_ms : DEFAULT_INITIAL_BACKOFF_MS;
  c->retry.max_backoff_ms = opts->retry.max_backoff_ms ? opts->retry.max_backoff_ms : DEFAULT_MAX_BACKOFF_MS;
  if (c->retry.max_backoff_ms < c->retry.initial_backoff_ms)
    c->retry.max_backoff_ms = c->retry.initial_backoff_ms;

  grpc_init();
  int tls = opts->transport != PSC_TRANSPORT_PLAINTEXT;
  grpc_channel_credentials *creds = tls ? tls_credentials(opts, st) : grpc_insecure_credentials_create();
  if (!creds) {
    grpc_shutdown();
    client_free_fields(c);
    return st->code != PSC_OK ? st->code : psc__status_set(st, PSC_INTERNAL, "no channel credentials");
  }

  char user_agent[48];
  snprintf(user_agent, sizeof user_agent, "prospect-client/%s", psc_version());
  grpc_arg args[6];
  size_t n = 0;
  args[n].type = GRPC_ARG_INTEGER;
  args[n].key = GRPC_ARG_ENABLE_HTTP_PROXY;
  args[n++].value.integer = opts->enable_http_proxy ? 1 : 0;
  /* reconnect as quickly as the retries come, instead of gRPC's default (1 s growing to 120 s).
   * Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC also takes it as the minimum connect timeout, and a
   * small one makes slow handshakes fail with UNAVAILABLE. */
  args[n].type = GRPC_ARG_INTEGER;
  args[n].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
  args[n++].value.integer = c->retry.initial_backoff_ms;
  args[n].type = GRPC_ARG_INTEGER;
  args[n].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
  args[n++].value.integer = c->retry.max_backoff_ms;
  args[n].type = GRPC_ARG_STRING;
  args[n].key = GRPC_ARG_PRIMARY_USER_AGENT_STRING;
  args[n++].value.string = user_agent;
  if (tls && opts->tls_target_name_override) {
    /* the name the host-name check and SNI use instead of the target's host */
    args[n].type = GRPC_ARG_STRING;
    args[n].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
    args[n++].value.string = (char *)opts->tls_target_name_override;
  }
  if (opts->lb_policy) {
    args[n].type = GRPC_ARG_STRING;
    args[n].key = GRPC_ARG_LB_POLICY_NAME;
    args[n++].value.string = (char *)opts->lb_policy;
  }
  grpc_channel_args chargs = {n, args};
  c->channel = grpc_channel_create(c->target, creds, &chargs); /* copies the args */
  grpc_channel_credentials_release(creds);
  if (!c->channel) { /* grpc returns a lame channel rather than NULL; be safe anyway */
    grpc_shutdown();
    client_free_fields(c);
    return psc__status_set(st, PSC_INTERNAL, "gRPC could not make a channel");
  }
  for (size_t i = 0; i < psc__n_methods; i++)
    c->registered[i] = grpc_channel_register_call(c->channel, psc__methods[i].path, NULL, NULL);
  *ret_client = c;
  return PSC_OK;
}

PSC_EXPORT int psc_client_new(const psc_options_t *opts, psc_client_t **ret_client) {
  return psc_client_new_ex(opts, ret_client, NULL);
}

PSC_EXPORT void psc_client_free(psc_client_t *client) {
  if (!client) return;
  grpc_channel_destroy(client->channel);
  free(client->target);
  free(client->caller);
  free(client);
  grpc_shutdown();
}

PSC_EXPORT const char *psc_client_target(const psc_client_t *client) {
  return client ? client->target : NULL;
}

/* --------------------------------------------------------------- one attempt */

static gpr_timespec deadline_at(int64_t ms_from_epoch_mono) {
  gpr_timespec t = gpr_time_from_millis(ms_from_epoch_mono, GPR_CLOCK_MONOTONIC);
  return t;
}

static int64_t now_ms(void) {
  gpr_timespec t = gpr_now(GPR_CLOCK_MONOTONIC);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* What one call sends and receives besides its messages: its metadata (traceparent, x-caller,
 * x-acting-user), the server's metadata and the status. call_io_init fills the metadata;
 * call_io_destroy releases it all. */
typedef struct call_io {
  grpc_metadata md[3];
  size_t n_md;
  grpc_metadata_array initial, trailing;
  grpc_status_code code;
  grpc_slice details;
  const char *error_string;
} call_io_t;

static void call_io_init(call_io_t *io, const psc_client_t *c, const char *acting_user,
                         const char *traceparent) {
  memset(io, 0, sizeof *io);
  grpc_metadata *md = io->md;
  size_t n_md = 0;
  md[n_md].key = grpc_slice_from_static_string("traceparent");
  md[n_md++].value = grpc_slice_from_copied_string(traceparent);
  if (c->caller) {
    md[n_md].key = grpc_slice_from_static_string("x-caller");
    md[n_md++].value = grpc_slice_from_copied_string(c->caller);
  }
  if (acting_user && *acting_user) {
    md[n_md].key = grpc_slice_from_static_string("x-acting-user");
    md[n_md++].value = grpc_slice_from_copied_string(acting_user);
  }
  io->n_md = n_md;
  grpc_metadata_array_init(&io->initial);
  grpc_metadata_array_init(&io->trailing);
  io->code = GRPC_STATUS_UNKNOWN;
  io->details = grpc_empty_slice();
}

static void call_io_destroy(call_io_t *io) {
  grpc_slice_unref(io->details);
  if (io->error_string) gpr_free((void *)io->error_string);
  grpc_metadata_array_destroy(&io->initial);
  grpc_metadata_array_destroy(&io->trailing);
  for (size_t i = 0; i < io->n_md; i++) {
    grpc_slice_unref(io->md[i].key);
    grpc_slice_unref(io->md[i].value);
  }
}

/* The ops that send io's metadata and receive the server's, and the one that receives the status. */
static void call_io_ops(call_io_t *io, grpc_op *send_md, grpc_op *recv_md, grpc_op *recv_status) {
  send_md->op = GRPC_OP_SEND_INITIAL_METADATA;
  send_md->data.send_initial_metadata.count = io->n_md;
  send_md->data.send_initial_metadata.metadata = io->n_md ? io->md : NULL;
  recv_md->op = GRPC_OP_RECV_INITIAL_METADATA;
  recv_md->data.recv_initial_metadata.recv_initial_metadata = &io->initial;
  recv_status->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  recv_status->data.recv_status_on_client.trailing_metadata = &io->trailing;
  recv_status->data.recv_status_on_client.status = &io->code;
  recv_status->data.recv_status_on_client.status_details = &io->details;
  recv_status->data.recv_status_on_client.error_string = &io->error_string;
}

/* The outcome a call's RECV_STATUS_ON_CLIENT reported, into st (code, message, ErrorInfo). */
static void status_from_call(psc_status_t *st, const call_io_t *io) {
  const grpc_metadata_array *trailing = &io->trailing;
  st->code = (int)io->code;
  psc__copy_cut(st->message, sizeof st->message, (const char *)GRPC_SLICE_START_PTR(io->details),
                GRPC_SLICE_LENGTH(io->details));
  for (size_t i = 0; i < trailing->count; i++) {
    if (grpc_slice_str_cmp(trailing->metadata[i].key, STATUS_DETAILS_KEY) == 0) {
      /* -bin metadata arrives decoded: raw bytes, length from the slice */
      psc__status_decode_details(st, GRPC_SLICE_START_PTR(trailing->metadata[i].value),
                                 GRPC_SLICE_LENGTH(trailing->metadata[i].value));
      break;
    }
  }
}

/* Sends the request once. On OK, *ret_payload gets the reply bytes (the caller destroys them).
 * Fills st (code, message, ErrorInfo). Returns st->code. */
static int attempt(psc_client_t *c, size_t idx, grpc_slice request, int64_t deadline_ms,
                   const char *acting_user, const char *traceparent, grpc_byte_buffer **ret_payload,
                   psc_status_t *st) {
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  if (!cq) return psc__status_set(st, PSC_RESOURCE_EXHAUSTED, "could not create a completion queue");
  grpc_call *call = grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                                        c->registered[idx], deadline_at(deadline_ms), NULL);
  if (!call) {
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    return psc__status_set(st, PSC_INTERNAL, "could not create the call");
  }

  call_io_t io;
  call_io_init(&io, c, acting_user, traceparent);
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&request, 1);
  grpc_byte_buffer *recv = NULL;

  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  call_io_ops(&io, &ops[0], &ops[3], &ops[5]);
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &recv;

  int tag;
  grpc_call_error err = grpc_call_start_batch(call, ops, 6, &tag, NULL);
  if (err != GRPC_CALL_OK) {
    psc__status_set(st, PSC_INTERNAL, "could not start the call (grpc_call_error %d)", (int)err);
  } else {
    grpc_event ev = grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE) {
      psc__status_set(st, PSC_INTERNAL, "the call did not complete (event %d)", (int)ev.type);
    } else {
      /* success or not, RECV_STATUS_ON_CLIENT always reports the outcome */
      status_from_call(st, &io);
      if (st->code == PSC_OK) {
        if (recv) {
          *ret_payload = recv;
          recv = NULL;
        } else {
          psc__status_set(st, PSC_INTERNAL, "the server answered OK without a message");
        }
      }
    }
  }

  if (recv) grpc_byte_buffer_destroy(recv);
  grpc_byte_buffer_destroy(send);
  call_io_destroy(&io);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  grpc_completion_queue_destroy(cq);
  return st->code;
}

/* --------------------------------------------------------------- the call with retries */

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* The request_id field of a request message, or NULL when it has none. */
static const ProtobufCFieldDescriptor *request_id_field(const ProtobufCMessageDescriptor *d) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, "request_id");
  return f && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED ? f : NULL;
}

/* Packs req into a new slice, filling in an empty request_id. Returns 0, or a code set in st. */
static int pack_request(const psc_method_t *m, const ProtobufCMessage *req, grpc_slice *ret_slice,
                        psc_status_t *st) {
  const ProtobufCMessage *msg = req;
  void *copy = NULL;
  const ProtobufCFieldDescriptor *f = request_id_field(m->request);
  if (f) {
    const char *id = *(char *const *)((const char *)req + f->offset);
    if (id && *id) {
      psc__copy_cut(st->request_id, sizeof st->request_id, id, strlen(id));
    } else {
      if (psc__uuid4(st->request_id) < 0)
        return psc__status_set(st, PSC_INTERNAL, "no randomness for a request_id");
      /* a shallow copy whose request_id points at ours: the caller's message stays untouched */
      copy = malloc(m->request->sizeof_message);
      if (!copy) return psc__status_set(st, PSC_RESOURCE_EXHAUSTED, "out of memory");
      memcpy(copy, req, m->request->sizeof_message);
      *(char **)((char *)copy + f->offset) = st->request_id;
      msg = copy;
    }
  }
  size_t len = protobuf_c_message_get_packed_size(msg);
  grpc_slice s = grpc_slice_malloc(len);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  free(copy);
  *ret_slice = s;
  return 0;
}

static int decode_reply(const psc_method_t *m, grpc_byte_buffer *payload, ProtobufCMessage **ret_resp,
                        psc_status_t *st) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, payload))
    return psc__status_set(st, PSC_INTERNAL, "the reply could not be read");
  grpc_slice s = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  ProtobufCMessage *resp = protobuf_c_message_unpack(m->response, NULL, GRPC_SLICE_LENGTH(s),
                                                     GRPC_SLICE_START_PTR(s));
  grpc_slice_unref(s);
  if (!resp) return psc__status_set(st, PSC_INTERNAL, "the reply is not a valid %s", m->response->name);
  if (ret_resp)
    *ret_resp = resp;
  else
    protobuf_c_message_free_unpacked(resp, NULL);
  return PSC_OK;
}

int psc__retryable(int code, const char *reason) {
  return code == PSC_UNAVAILABLE || (code == PSC_ABORTED && (!reason || !reason[0]));
}

/* The checks every call makes before anything is sent, and its traceparent (the caller's or a new
 * one). 0, or a code set in st. */
static int call_check(const psc_client_t *client, const psc_method_t *method,
                      const ProtobufCMessage *req, const psc_call_options_t *opts,
                      char traceparent[PSC_TRACEPARENT_LEN + 1], psc_status_t *st) {
  if (!client) return psc__status_set(st, PSC_INVALID_ARGUMENT, "no client");
  if (!method || method < psc__methods || method >= psc__methods + psc__n_methods)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "not a method of this library");
  if (!req || req->descriptor != method->request)
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "%s takes a %s", method->name, method->request->name);
  if (opts && opts->deadline_ms < 0) return psc__status_set(st, PSC_INVALID_ARGUMENT, "negative deadline");
  const char *acting_user = opts ? opts->acting_user : NULL;
  if (acting_user && !psc__printable_ascii(acting_user))
    return psc__status_set(st, PSC_INVALID_ARGUMENT, "acting_user must be printable ASCII");
  if (opts && opts->traceparent) {
    if (!psc_traceparent_valid(opts->traceparent))
      return psc__status_set(st, PSC_INVALID_ARGUMENT,
                             "traceparent is not a W3C traceparent of version 00 "
                             "(00-<32 hex>-<16 hex>-<2 hex>, lowercase, ids not all zero)");
    memcpy(traceparent, opts->traceparent, PSC_TRACEPARENT_LEN + 1);
  } else if (psc_traceparent_new(traceparent) != 0) {
    return psc__status_set(st, PSC_INTERNAL, "no randomness for a trace id");
  }
  return 0;
}

/* Server-streaming methods: read with psc__invoke_stream, never with one unary batch. */
static int is_streaming(const psc_method_t *m) {
  return m->response == &prospects__v1__export_prospects_response__descriptor;
}

PSC_EXPORT int psc_invoke(psc_client_t *client, const psc_method_t *method, const ProtobufCMessage *req,
                          const psc_call_options_t *opts, ProtobufCMessage **ret_resp,
                          psc_status_t *ret_status) {
  psc_status_t local;
  psc_status_t *st = ret_status ? ret_status : &local;
  psc__status_clear(st);
  char traceparent[PSC_TRACEPARENT_LEN + 1];
  if (call_check(client, method, req, opts, traceparent, st) != 0) return st->code;
  if (is_streaming(method))
    return psc__status_set(st, PSC_INVALID_ARGUMENT,
                           "%s streams its answer: call psc_export_prospects", method->name);
  const char *acting_user = opts ? opts->acting_user : NULL;

  size_t idx = (size_t)(method - psc__methods);
  int64_t budget = opts && opts->deadline_ms ? opts->deadline_ms : client->default_deadline_ms;
  int64_t deadline = now_ms() + budget;
  int max_attempts = method->retry == PSC_RETRY_NEVER || (opts && opts->no_retry) ? 1
                                                                                  : client->retry.max_attempts;

  grpc_slice request;
  if (pack_request(method, req, &request, st) != 0) return st->code;

  int64_t backoff = client->retry.initial_backoff_ms;
  for (;;) {
    grpc_byte_buffer *payload = NULL;
    st->attempts++;
    st->reason[0] = st->domain[0] = st->surviving_prospect[0] = '\0';
    st->n_meta = 0;
    int code = attempt(client, idx, request, deadline, acting_user, traceparent, &payload, st);
    if (code == PSC_OK) {
      code = decode_reply(method, payload, ret_resp, st);
      grpc_byte_buffer_destroy(payload);
      break;
    }
    if (!psc__retryable(code, st->reason) || st->attempts >= max_attempts) break;
    /* jittered exponential backoff: uniform in [w/2, w], never past the deadline */
    int64_t wait = backoff / 2 + (int64_t)psc__random_below((unsigned long)(backoff - backoff / 2 + 1));
    if (now_ms() + wait >= deadline) break;
    sleep_ms(wait);
    backoff = backoff * 2 > client->retry.max_backoff_ms ? client->retry.max_backoff_ms : backoff * 2;
  }
  grpc_slice_unref(request);
  return st->code;
}

/* --------------------------------------------------------------- server streaming */

/* Waits for the batch of tag on cq; 0 when it completed, else a code set in st. */
static int pluck(grpc_completion_queue *cq, void *tag, psc_status_t *st) {
  grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  if (ev.type != GRPC_OP_COMPLETE)
    return psc__status_set(st, PSC_INTERNAL, "the call did not complete (event %d)", (int)ev.type);
  return ev.success ? 0 : -1;
}

/* One server-streaming call: the request, then each message to on_message as it arrives (the
 * message is freed when it returns), then the status. Never retried: messages already handed out
 * cannot be taken back. Returns st->code. */
static int invoke_stream(psc_client_t *client, const psc_method_t *method, const ProtobufCMessage *req,
                         const psc_call_options_t *opts,
                         int (*on_message)(void *ud, const ProtobufCMessage *msg), void *ud,
                         psc_status_t *st) {
  char traceparent[PSC_TRACEPARENT_LEN + 1];
  if (call_check(client, method, req, opts, traceparent, st) != 0) return st->code;
  if (!on_message) return psc__status_set(st, PSC_INVALID_ARGUMENT, "no callback for the messages");
  size_t idx = (size_t)(method - psc__methods);
  int64_t budget = opts && opts->deadline_ms ? opts->deadline_ms : client->default_deadline_ms;
  grpc_slice request;
  if (pack_request(method, req, &request, st) != 0) return st->code;

  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  if (!cq) {
    grpc_slice_unref(request);
    return psc__status_set(st, PSC_RESOURCE_EXHAUSTED, "could not create a completion queue");
  }
  grpc_call *call = grpc_channel_create_registered_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                        cq, client->registered[idx],
                                                        deadline_at(now_ms() + budget), NULL);
  if (!call) {
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    grpc_slice_unref(request);
    return psc__status_set(st, PSC_INTERNAL, "could not create the call");
  }
  st->attempts = 1;
  call_io_t io;
  call_io_init(&io, client, opts ? opts->acting_user : NULL, traceparent);
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&request, 1);
  int tag_start, tag_status, tag_msg;
  int local = 0; /* st was set here (a failure of ours, or the callback's stop) */

  grpc_op ops[4], status_op;
  memset(ops, 0, sizeof ops);
  memset(&status_op, 0, sizeof status_op);
  call_io_ops(&io, &ops[0], &ops[3], &status_op);
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  int started = grpc_call_start_batch(call, ops, 4, &tag_start, NULL) == GRPC_CALL_OK;
  int status_started =
      started && grpc_call_start_batch(call, &status_op, 1, &tag_status, NULL) == GRPC_CALL_OK;
  if (!status_started) {
    psc__status_set(st, PSC_INTERNAL, "could not start the call");
    local = 1;
    grpc_call_cancel(call, NULL);
  }
  if (started) { /* its completion is taken in every case: the queue is empty when destroyed */
    psc_status_t ignored;
    if (pluck(cq, &tag_start, local ? &ignored : st) > 0) local = 1;
  }
  /* the messages, one RECV_MESSAGE at a time, until the stream ends (NULL) or fails */
  while (status_started && !local) {
    grpc_byte_buffer *recv = NULL;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &recv;
    if (grpc_call_start_batch(call, &op, 1, &tag_msg, NULL) != GRPC_CALL_OK) {
      psc__status_set(st, PSC_INTERNAL, "could not read the stream");
      local = 1;
      grpc_call_cancel(call, NULL);
      break;
    }
    int rc = pluck(cq, &tag_msg, st);
    if (rc > 0) {
      local = 1;
      if (recv) grpc_byte_buffer_destroy(recv);
      break;
    }
    if (rc < 0 || !recv) break; /* the end: the status says how */
    ProtobufCMessage *msg = NULL;
    int dc = decode_reply(method, recv, &msg, st);
    grpc_byte_buffer_destroy(recv);
    if (dc != PSC_OK) {
      local = 1;
      grpc_call_cancel(call, NULL);
      break;
    }
    int stop = on_message(ud, msg);
    protobuf_c_message_free_unpacked(msg, NULL);
    if (stop) {
      psc__status_set(st, PSC_CANCELLED, "the caller stopped the stream");
      local = 1;
      grpc_call_cancel(call, NULL);
      break;
    }
  }
  if (status_started) {
    psc_status_t ignored;
    int rc = pluck(cq, &tag_status, local ? &ignored : st);
    if (rc <= 0 && !local) status_from_call(st, &io);
  }

  grpc_byte_buffer_destroy(send);
  call_io_destroy(&io);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  grpc_completion_queue_destroy(cq);
  grpc_slice_unref(request);
  return st->code;
}

/* Adapts the typed callback of psc_export_prospects. */
struct export_cb {
  psc_export_fn fn;
  void *ud;
};

static int export_message(void *ud, const ProtobufCMessage *msg) {
  struct export_cb *cb = ud;
  return cb->fn(cb->ud, (const Prospects__V1__ExportProspectsResponse *)msg);
}

PSC_EXPORT int psc_export_prospects(psc_client_t *client, const Prospects__V1__ExportProspectsRequest *req,
                                    const psc_call_options_t *opts, psc_export_fn on_message, void *ud,
                                    psc_status_t *ret_status) {
  psc_status_t local;
  psc_status_t *st = ret_status ? ret_status : &local;
  psc__status_clear(st);
  struct export_cb cb = {on_message, ud};
  if (!on_message) return psc__status_set(st, PSC_INVALID_ARGUMENT, "no callback for the messages");
  return invoke_stream(client, psc_method_find("ExportProspects"), (const ProtobufCMessage *)req, opts,
                       export_message, &cb, st);
}
