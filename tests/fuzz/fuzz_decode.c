/* fuzz_decode: the request path of every method of prospects.v1.ProspectService, as the transport
 * runs it, with the database absent.
 *
 * Feeds: byte 0 picks the method (ps_dispatch_methods, modulo their number); byte 1 the call's
 * memory budget (bit 7 clear: 32 MiB, the server's default; set: 16 KiB + (bits 0-6) KiB, so that
 * allocations fail part-way); the rest is the request's wire bytes. They go to ps_dispatch_decode
 * (size cap, wire checks, unpack into a per-worker arena with that budget); a request that decodes
 * runs the method's handler with a ps_db_t pointing at a closed TCP port of 127.0.0.1 and a cache
 * handle with Redis disabled (port 0). The in-process apps cache holds tenant "acme" with both apps
 * on and "globex" with both off (as just read), so that handlers get past the app gate for those
 * tenants and run until their first statement.
 *
 * Asserts: decoding gives 0 with a message of the method's request type (protobuf_c_message_check
 * passes, every string holds valid UTF-8 in NFC, no repeated field holds more values than
 * dispatch.c caps it at), or -1 with INVALID_ARGUMENT or RESOURCE_EXHAUSTED; a handler gives 0 with a response of
 * the method's type that packs and unpacks again, or -1 with a failure status that is not INTERNAL
 * or UNKNOWN (a dead database is UNAVAILABLE, not a bug) unless the budget ran out; every status
 * text is valid UTF-8; no crash, leak or undefined behaviour (ASan, UBSan, LeakSanitizer). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache/flags.h"
#include "cache/redis.h"
#include "core/arena.h"
#include "core/pagetoken.h"
#include "core/unicode.h"
#include "dispatch.h"
#include "fuzz.h"
#include "google/protobuf/field_mask.pb-c.h"
#include "prospects/v1/service.pb-c.h"
#include "service/merges.h"
#include "store/db.h"

#define DEFAULT_BUDGET ((size_t)32 << 20) /* PS_CALL_MEMORY_MB's default */
#define REPLY_CAP ((size_t)1 << 20)       /* PS_MAX_REPLY_BYTES's default */

static struct {
  int port_fd;      /* a bound TCP socket that never listens: connecting to it is refused */
  ps_db_t *db;
  ps_cache_t *cache;
  ps_arena_t arena;
  ps_arena_t scratch; /* for checking that strings are NFC (no budget) */
} G;

static void teardown(void) {
  ps_db_free(G.db);
  ps_cache_free(G.cache);
  ps_arena_destroy(&G.arena);
  ps_arena_destroy(&G.scratch);
  ps_flags_clear();
  if (G.port_fd >= 0) close(G.port_fd);
}

/* A port of 127.0.0.1 where nothing listens, held so that nothing else takes it. */
static unsigned closed_port(void) {
  G.port_fd = socket(AF_INET, SOCK_STREAM, 0);
  FUZZ_CHECK(G.port_fd >= 0, "socket");
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  FUZZ_CHECK(bind(G.port_fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind");
  FUZZ_CHECK(getsockname(G.port_fd, (struct sockaddr *)&sa, &len) == 0, "getsockname");
  return ntohs(sa.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  G.port_fd = -1;
  ps_db_config_t dbc = {.host = "127.0.0.1", .port = closed_port(), .user = "fuzz", .password = "",
                        .database = "prospects", .timeout_s = 1};
  G.db = ps_db_new(&dbc);
  ps_cache_config_t cc = {.host = "127.0.0.1", .port = 0, .timeout_ms = 20};
  G.cache = ps_cache_new(&cc);
  FUZZ_CHECK(G.db && G.cache, "out of memory");
  FUZZ_CHECK(ps_arena_init(&G.arena, 0) == 0, "out of memory");
  FUZZ_CHECK(ps_arena_init(&G.scratch, 0) == 0, "out of memory");
  ps_pagetoken_set_key(FUZZ_PAGE_TOKEN_KEY);
  atexit(teardown);
  return 0;
}

/* The cap dispatch.c puts on field f of message d (its repeated_caps, else the default). */
static size_t repeated_cap(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f) {
  if (d == &prospects__v1__merge_prospects_request__descriptor && f->id == 3)
    return PS_MERGE_SOURCES_MAX;
  if (d == &google__protobuf__field_mask__descriptor && f->id == 1) return 32;
  return PS_DISPATCH_MAX_REPEATED;
}

static void check_decoded(const ProtobufCMessage *m);

static void check_value(const ProtobufCFieldDescriptor *f, const void *p) {
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    const char *s = *(char *const *)p;
    FUZZ_CHECK(s != NULL, "string %s is NULL", f->name);
    FUZZ_CHECK(ps_utf8_valid(s, strlen(s)), "string %s is not UTF-8", f->name);
    const char *nfc = NULL; /* already NFC: ps_nfc leaves it where it is */
    FUZZ_CHECK(ps_nfc(&G.scratch, s, &nfc) == 0 && nfc == s, "string %s is not NFC", f->name);
    ps_arena_reset(&G.scratch);
  } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
    if (sub) check_decoded(sub);
  }
}

static size_t value_size(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
  case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
  default: return 0; /* other types hold nothing to check */
  }
}

/* What the wire checks promise about a decoded request. */
static void check_decoded(const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *member = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
      FUZZ_CHECK(n <= repeated_cap(d, f), "%s.%s holds %zu values", d->name, f->name, n);
      size_t size = value_size(f);
      if (size == 0) continue;
      const char *arr = *(char *const *)member;
      for (size_t k = 0; k < n; k++) check_value(f, arr + k * size);
    } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      if (*(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id)
        check_value(f, member);
    } else if (value_size(f)) {
      check_value(f, member);
    }
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check_response(const ps_method_t *m, const ProtobufCMessage *resp) {
  FUZZ_CHECK(resp != NULL, "%s returned OK without a response", m->name);
  FUZZ_CHECK(resp->descriptor == m->response, "%s answered a %s", m->name, resp->descriptor->name);
  FUZZ_CHECK(protobuf_c_message_check(resp), "%s: the response is incomplete", m->name);
  size_t n = protobuf_c_message_get_packed_size(resp);
  uint8_t *buf = malloc(n ? n : 1);
  FUZZ_CHECK(buf != NULL, "out of memory");
  FUZZ_CHECK(protobuf_c_message_pack(resp, buf) == n, "%s: packed size differs", m->name);
  ProtobufCMessage *back = protobuf_c_message_unpack(m->response, NULL, n, buf);
  FUZZ_CHECK(back != NULL, "%s: the packed response does not unpack", m->name);
  protobuf_c_message_free_unpacked(back, NULL);
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t n_methods;
  const ps_method_t *methods = ps_dispatch_methods(&n_methods);
  FUZZ_CHECK(n_methods > 0, "no methods");
  const ps_method_t *m = &methods[data[0] % n_methods];
  size_t budget = data[1] & 0x80 ? ((size_t)16 << 10) + ((size_t)(data[1] & 0x7f) << 10)
                                 : DEFAULT_BUDGET;
  ps_arena_set_limit(&G.arena, budget);
  static const ps_flags_t apps_on = {1, 1, 1}, apps_off = {0, 0, 1};
  ps_flags_fill("acme", &apps_on); /* fresh for PS_FLAGS_LOCAL_TTL_MS */
  ps_flags_fill("globex", &apps_off);

  ps_ctx_t ctx;
  memset(&ctx, 0, sizeof ctx);
  ps_status_clear(&ctx.status);
  ctx.arena = &G.arena;
  ctx.db = G.db;
  ctx.cache = G.cache;
  ctx.deadline_ms = now_ms() + 10000;
  ctx.caller = "spiffe://example.org/ns/test/sa/fuzz";
  ctx.actor = "";
  ctx.max_reply_bytes = REPLY_CAP;

  ProtobufCMessage *req = NULL;
  int rc = ps_dispatch_decode(m, data + 2, size - 2, &G.arena, &req, &ctx.status);
  if (rc != 0) {
    FUZZ_CHECK(rc == -1, "decode returned %d", rc);
    fuzz_check_failure(&ctx.status);
    FUZZ_CHECK(ctx.status.code == PS_INVALID_ARGUMENT || ctx.status.code == PS_RESOURCE_EXHAUSTED,
               "%s: decode failed with %s", m->name, ps_code_name(ctx.status.code));
  } else {
    FUZZ_CHECK(req != NULL && req->descriptor == m->request, "%s: decoded no %s", m->name,
               m->request->name);
    FUZZ_CHECK(protobuf_c_message_check(req), "%s: the request is incomplete", m->name);
    check_decoded(req);
    if (m->handler) {
      ProtobufCMessage *resp = NULL;
      rc = m->handler(&ctx, req, &resp);
      FUZZ_CHECK(rc == 0 || rc == -1, "%s returned %d", m->name, rc);
      if (rc == 0) {
        check_response(m, resp);
      } else if (!G.arena.exhausted) { /* else the transport answers CALL_MEMORY_EXCEEDED */
        fuzz_check_failure(&ctx.status);
        FUZZ_CHECK(ctx.status.code != PS_INTERNAL && ctx.status.code != PS_UNKNOWN,
                   "%s failed with %s: %s", m->name, ps_code_name(ctx.status.code),
                   ctx.status.message);
      }
    }
  }
  ps_arena_reset(&G.arena);
  return 0;
}
