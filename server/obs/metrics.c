#include "obs/metrics.h"

#include <stdatomic.h>
#include <string.h>

#include "core/counters.h"
#include "core/status.h"

#define N_CODES 17
/* the bucket bounds of grpc_server_handling_seconds, 0.25 ms ... 5 s */
static const double bucket_s[] = {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,    0.1,    0.25,  0.5,    1,     2.5,   5};
#define N_BUCKETS (sizeof bucket_s / sizeof bucket_s[0])

typedef struct series {
  char service[128];
  char method[64];
  ps_rpc_type_t type;
  atomic_ullong started;
  atomic_ullong handled[N_CODES];
  atomic_ullong buckets[N_BUCKETS + 1]; /* not cumulative; the last is above 5 s */
  atomic_ullong sum_ns;
} series_t;

static series_t table[PS_METRICS_MAX_METHODS];
static int n_table;
static int64_t bucket_ns[N_BUCKETS];
static atomic_int enabled;

int ps_metrics_register(const char *path, ps_rpc_type_t type) {
  char service[128] = "unknown", method[64] = "unknown";
  if (path) {
    const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
    if (!slash || (size_t)(slash - path - 1) >= sizeof service || strlen(slash + 1) >= sizeof method)
      return -1;
    memcpy(service, path + 1, (size_t)(slash - path - 1));
    service[slash - path - 1] = '\0';
    strcpy(method, slash + 1);
  }
  for (int i = 0; i < n_table; i++)
    if (strcmp(table[i].service, service) == 0 && strcmp(table[i].method, method) == 0) return i;
  if (n_table >= PS_METRICS_MAX_METHODS) return -1;
  if (bucket_ns[0] == 0)
    for (size_t b = 0; b < N_BUCKETS; b++) bucket_ns[b] = (int64_t)(bucket_s[b] * 1e9 + 0.5);
  series_t *s = &table[n_table];
  strcpy(s->service, service);
  strcpy(s->method, method);
  s->type = type;
  return n_table++;
}

void ps_metrics_enable(void) { atomic_store(&enabled, 1); }

int ps_metrics_enabled(void) { return atomic_load_explicit(&enabled, memory_order_relaxed); }

void ps_metrics_started(int id) {
  if (!ps_metrics_enabled() || id < 0 || id >= n_table) return;
  atomic_fetch_add_explicit(&table[id].started, 1, memory_order_relaxed);
}

void ps_metrics_handled(int id, int code, int64_t elapsed_ns) {
  if (!ps_metrics_enabled() || id < 0 || id >= n_table) return;
  series_t *s = &table[id];
  if (code < 0 || code >= N_CODES) code = PS_UNKNOWN;
  if (elapsed_ns < 0) elapsed_ns = 0;
  atomic_fetch_add_explicit(&s->handled[code], 1, memory_order_relaxed);
  size_t b = 0;
  while (b < N_BUCKETS && elapsed_ns > bucket_ns[b]) b++;
  atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->sum_ns, (unsigned long long)elapsed_ns, memory_order_relaxed);
}

void ps_metrics_family(FILE *out, const char *name, const char *type, const char *help) {
  fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void ps_metrics_sample(FILE *out, const char *name, const char *labels, double value) {
  if (labels && labels[0])
    fprintf(out, "%s{%s} %.17g\n", name, labels, value);
  else
    fprintf(out, "%s %.17g\n", name, value);
}

static const char *type_name(ps_rpc_type_t t) {
  switch (t) {
  case PS_RPC_SERVER_STREAM: return "server_stream";
  case PS_RPC_BIDI_STREAM: return "bidi_stream";
  default: return "unary";
  }
}

/* name{grpc_type="...",grpc_service="...",grpc_method="..."<extra>} value (the names never need
 * escaping: they are the service's own method names or "unknown") */
static void series_sample(FILE *out, const char *name, const series_t *s, const char *extra,
                          double value) {
  fprintf(out, "%s{grpc_type=\"%s\",grpc_service=\"%s\",grpc_method=\"%s\"%s} %.17g\n", name,
          type_name(s->type), s->service, s->method, extra, value);
}

typedef struct row {
  const char *value; /* the label's value (NULL: the family has no label) */
  ps_counter_t c;
} row_t;

static void write_counter_family(FILE *out, const char *name, const char *help, const char *label,
                                 const row_t *rows, size_t n) {
  ps_metrics_family(out, name, "counter", help);
  char labels[96];
  for (size_t i = 0; i < n; i++) {
    const char *l = NULL;
    if (label && rows[i].value) {
      snprintf(labels, sizeof labels, "%s=\"%s\"", label, rows[i].value);
      l = labels;
    }
    ps_metrics_sample(out, name, l, (double)ps_counter_get(rows[i].c));
  }
}

void ps_metrics_write_grpc(FILE *out) {
  char extra[64];
  ps_metrics_family(out, "grpc_server_started_total", "counter",
                    "Total number of RPCs started on the server.");
  for (int i = 0; i < n_table; i++)
    series_sample(out, "grpc_server_started_total", &table[i], "",
                  (double)atomic_load_explicit(&table[i].started, memory_order_relaxed));
  ps_metrics_family(out, "grpc_server_handled_total", "counter",
                    "Total number of RPCs completed on the server, regardless of success or failure.");
  for (int i = 0; i < n_table; i++) {
    for (int code = 0; code < N_CODES; code++) {
      unsigned long long v = atomic_load_explicit(&table[i].handled[code], memory_order_relaxed);
      if (!v) continue; /* codes never seen are left out: 17 series per method would be noise */
      snprintf(extra, sizeof extra, ",grpc_code=\"%s\"", ps_code_name((ps_code_t)code));
      series_sample(out, "grpc_server_handled_total", &table[i], extra, (double)v);
    }
  }
  ps_metrics_family(out, "grpc_server_handling_seconds", "histogram",
                    "Histogram of response latency (seconds) of gRPC that had been application-level "
                    "handled by the server.");
  for (int i = 0; i < n_table; i++) {
    const series_t *s = &table[i];
    unsigned long long cum = 0;
    for (size_t b = 0; b <= N_BUCKETS; b++) {
      cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
      if (b < N_BUCKETS)
        snprintf(extra, sizeof extra, ",le=\"%g\"", bucket_s[b]);
      else
        snprintf(extra, sizeof extra, ",le=\"+Inf\"");
      series_sample(out, "grpc_server_handling_seconds_bucket", s, extra, (double)cum);
    }
    series_sample(out, "grpc_server_handling_seconds_sum", s, "",
                  (double)atomic_load_explicit(&s->sum_ns, memory_order_relaxed) / 1e9);
    series_sample(out, "grpc_server_handling_seconds_count", s, "", (double)cum);
  }

  static const row_t db_errors[] = {
      {"deadlock", PS_C_DB_ERR_DEADLOCK},   {"lock_wait", PS_C_DB_ERR_LOCK_WAIT},
      {"duplicate", PS_C_DB_ERR_DUPLICATE}, {"connection", PS_C_DB_ERR_CONNECTION},
      {"timeout", PS_C_DB_ERR_TIMEOUT},     {"other", PS_C_DB_ERR_OTHER}};
  write_counter_family(out, "prospect_db_errors_total",
                       "Failed MySQL statements and connections, by class of MySQL error.", "class",
                       db_errors, sizeof db_errors / sizeof db_errors[0]);
  static const row_t reconnects[] = {{NULL, PS_C_DB_RECONNECTS}};
  write_counter_family(out, "prospect_db_reconnects_total",
                       "MySQL connections made again after a worker's connection was lost.", NULL,
                       reconnects, 1);
  static const row_t retries[] = {{NULL, PS_C_DB_TX_RETRIES}};
  write_counter_family(out, "prospect_db_transaction_retries_total",
                       "Transactions run again after a deadlock (or Galera certification conflict), "
                       "a lock wait timeout, a Galera node not ready, or a connection lost before "
                       "the commit.", NULL, retries, 1);
  static const row_t sync_waits[] = {{NULL, PS_C_DB_SYNC_WAITS}};
  write_counter_family(out, "prospect_db_sync_waits_total",
                       "Galera causality waits (wsrep_sync_wait) before a write transaction.", NULL,
                       sync_waits, 1);
  static const row_t merges[] = {{"merged", PS_C_MERGE_MERGED},
                                 {"dry_run", PS_C_MERGE_DRY_RUN},
                                 {"replayed", PS_C_MERGE_REPLAYED},
                                 {"failed", PS_C_MERGE_FAILED}};
  write_counter_family(out, "prospect_merges_total",
                       "MergeProspects calls by outcome (replayed: the same request_id again).",
                       "outcome", merges, sizeof merges / sizeof merges[0]);
  static const row_t conversions[] = {{"converted", PS_C_CONVERT_CONVERTED},
                                      {"already_customer", PS_C_CONVERT_ALREADY_CUSTOMER},
                                      {"failed", PS_C_CONVERT_FAILED}};
  write_counter_family(out, "prospect_conversions_total", "ConvertProspect calls by outcome.",
                       "outcome", conversions,
                       sizeof conversions / sizeof conversions[0]);
  static const row_t intakes[] = {{"created", PS_C_INTAKE_CREATED},
                                  {"linked", PS_C_INTAKE_LINKED},
                                  {"failed", PS_C_INTAKE_FAILED}};
  write_counter_family(out, "prospect_intakes_total",
                       "IntakeQuoteRequest calls by outcome (created: a new prospect; linked: an "
                       "existing record).",
                       "outcome", intakes, sizeof intakes / sizeof intakes[0]);
  static const row_t links[] = {{"linked", PS_C_LINK_LINKED},
                                {"already_linked", PS_C_LINK_ALREADY_LINKED},
                                {"failed", PS_C_LINK_FAILED}};
  write_counter_family(out, "prospect_document_links_total", "LinkDocument calls by outcome.",
                       "outcome", links, sizeof links / sizeof links[0]);
}
