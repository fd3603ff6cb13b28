#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csv_write.h"
#include "json.h"
#include "pbjson.h"

#define EXIT_USAGE 64
#define EXPORT_DEFAULT_DEADLINE_MS (6LL * 3600 * 1000) /* an export of a large tenant takes minutes */

const char *const ctl_export_csv_columns[] = {
    "name", "kind", "first_name", "last_name", "company_name", "vat_number", "email", "phone",
    "website", "street", "postal_code", "city", "country_code", "language", "notes", "state",
    "create_time", "update_time", "contact_first_name", "contact_last_name", "contact_email",
    "contact_phone", "contact_role"};
const size_t ctl_export_n_csv_columns = sizeof ctl_export_csv_columns / sizeof ctl_export_csv_columns[0];
#define N_RECORD_COLUMNS 18 /* the columns before contact_first_name */

int ctl_export_arg(ctl_export_t *ex, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (strcmp(a, "--format") == 0 || strcmp(a, "--output") == 0 || strcmp(a, "--state") == 0) {
    if (*i + 1 >= argc || !*argv[*i + 1]) {
      fprintf(stderr, "prospectctl export: %s needs a value\n", a);
      return -1;
    }
    const char *v = argv[++*i];
    if (a[2] == 'f') {
      if (strcmp(v, "csv") != 0 && strcmp(v, "jsonl") != 0) {
        fprintf(stderr, "prospectctl export: --format is csv or jsonl\n");
        return -1;
      }
      ex->format = v;
    } else if (a[2] == 'o') {
      ex->output = v;
    } else {
      ex->state = v;
    }
    return 1;
  }
  if (a[0] == '-' && a[1] == '-') return 0; /* the common options */
  if (ex->parent) {
    fprintf(stderr, "prospectctl export: one tenant only (tenants/T)\n");
    return -1;
  }
  ex->parent = a;
  return 1;
}

void ctl_export_help(FILE *f) {
  fprintf(f,
          "usage: prospectctl [OPTIONS] export [--format csv|jsonl] [--output FILE] [--state STATE] tenants/T\n\n"
          "Writes every record of the tenant with its contact persons, read from one snapshot\n"
          "(ExportProspects), to FILE or stdout.\n"
          "  --format csv    (default) UTF-8 with BOM, ';' between fields, CRLF, RFC 4180 quoting; the\n"
          "                  columns below. A record with several contact persons takes one line per\n"
          "                  contact person: the first on the record's line, the others on lines whose\n"
          "                  record columns are empty. Times RFC 3339 UTC; kind and state by name.\n"
          "  --format jsonl  one ProspectBundle per line as JSON: {\"prospect\": {...}, \"contactPersons\": [...]}\n"
          "  --output FILE   written under FILE.part and renamed when the export is complete\n"
          "  --state STATE   PROSPECTS_ONLY, CUSTOMERS_ONLY or ALL_STATES (default: every record)\n"
          "Progress goes to stderr when it is a terminal. --deadline covers the whole export\n"
          "(default 6 hours). Exit status: 0, the gRPC code of a failed export (error JSON on stderr),\n"
          "64 usage, %d the output cannot be written.\n\nCSV columns:\n ",
          CTL_EXPORT_EXIT_OUTPUT);
  for (size_t i = 0; i < ctl_export_n_csv_columns; i++)
    fprintf(f, "%s%s", i ? ";" : " ", ctl_export_csv_columns[i]);
  fprintf(f, "\n");
}

/* "2026-12-01T20:38:28.669123Z" (fraction only when there is one, in microseconds); "" for none. */
static void rfc3339(const Google__Protobuf__Timestamp *ts, char out[40]) {
  out[0] = '\0';
  if (!ts) return;
  time_t t = (time_t)ts->seconds;
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return;
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  if (ts->nanos > 0)
    snprintf(out + n, 40 - n, ".%06dZ", ts->nanos / 1000);
  else
    snprintf(out + n, 40 - n, "Z");
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v) {
  const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
  return ev ? ev->name : "";
}

typedef struct writer {
  const ctl_export_t *ex;
  FILE *f;
  csv_writer_t csv;
  int jsonl;
  int progress;     /* stderr is a terminal */
  long long records;
  int failed;       /* out of memory or a write failed */
} writer_t;

static void csv_contact(csv_writer_t *w, const Prospects__V1__ContactPerson *c) {
  csv_write_field(w, c ? c->first_name : NULL);
  csv_write_field(w, c ? c->last_name : NULL);
  csv_write_field(w, c ? c->email : NULL);
  csv_write_field(w, c ? c->phone : NULL);
  csv_write_field(w, c ? c->role : NULL);
}

static void csv_bundle(csv_writer_t *w, const Prospects__V1__ProspectBundle *b) {
  const Prospects__V1__Prospect *p = b->prospect;
  if (!p) return;
  const Prospects__V1__Address *a = p->address;
  char created[40], updated[40];
  rfc3339(p->create_time, created);
  rfc3339(p->update_time, updated);
  const char *record[N_RECORD_COLUMNS] = {
      p->name, enum_name(&prospects__v1__party_kind__descriptor, (int)p->kind), p->first_name,
      p->last_name, p->company_name, p->vat_number, p->email, p->phone, p->website,
      a ? a->street : NULL, a ? a->postal_code : NULL, a ? a->city : NULL,
      a ? a->country_code : NULL, p->language, p->notes,
      enum_name(&prospects__v1__prospect_state__descriptor, (int)p->state), created, updated};
  for (int i = 0; i < N_RECORD_COLUMNS; i++) csv_write_field(w, record[i]);
  csv_contact(w, b->n_contact_persons ? b->contact_persons[0] : NULL);
  csv_end_record(w);
  for (size_t k = 1; k < b->n_contact_persons; k++) { /* continuation lines */
    for (int i = 0; i < N_RECORD_COLUMNS; i++) csv_write_field(w, NULL);
    csv_contact(w, b->contact_persons[k]);
    csv_end_record(w);
  }
}

static int on_message(void *ud, const Prospects__V1__ExportProspectsResponse *msg) {
  writer_t *w = ud;
  for (size_t i = 0; i < msg->n_prospects && !w->failed; i++) {
    if (w->jsonl) {
      sbuf_t sb = {0};
      pbjson_from_message(&msg->prospects[i]->base, &sb, 0);
      sb_append(&sb, "\n", 1);
      if (sb.failed || fwrite(sb.buf, 1, sb.len, w->f) != sb.len) w->failed = 1;
      free(sb.buf);
    } else {
      csv_bundle(&w->csv, msg->prospects[i]);
      if (csv_failed(&w->csv)) w->failed = 1;
    }
  }
  w->records += (long long)msg->n_prospects;
  if (w->progress) fprintf(stderr, "\rprospectctl export: %lld records", w->records);
  return w->failed; /* stop the stream when the output cannot take it */
}

static int parse_state(const char *s, Prospects__V1__StateFilter *ret) {
  static const struct {
    const char *name, *short_name;
    Prospects__V1__StateFilter v;
  } states[] = {
      {"PROSPECTS_ONLY", "prospects", PROSPECTS__V1__STATE_FILTER__PROSPECTS_ONLY},
      {"CUSTOMERS_ONLY", "customers", PROSPECTS__V1__STATE_FILTER__CUSTOMERS_ONLY},
      {"ALL_STATES", "all", PROSPECTS__V1__STATE_FILTER__ALL_STATES},
  };
  for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
    if (strcmp(s, states[i].name) == 0 || strcmp(s, states[i].short_name) == 0) {
      *ret = states[i].v;
      return 0;
    }
  return -1;
}

int ctl_export_run(psc_client_t *client, const ctl_export_t *ex,
                   const Prospects__V1__ExportProspectsRequest *req, const psc_call_options_t *opts,
                   psc_status_t *st) {
  Prospects__V1__ExportProspectsRequest r = *req; /* req stays the caller's, as it was */
  if (ex->parent) r.parent = (char *)ex->parent;
  if (!r.parent || !*r.parent) {
    fprintf(stderr, "prospectctl export: which tenant? (tenants/T; see export --help)\n");
    return EXIT_USAGE;
  }
  if (ex->state && parse_state(ex->state, &r.state_filter) != 0) {
    fprintf(stderr, "prospectctl export: --state is PROSPECTS_ONLY, CUSTOMERS_ONLY or ALL_STATES\n");
    return EXIT_USAGE;
  }
  writer_t w = {.ex = ex, .jsonl = ex->format && strcmp(ex->format, "jsonl") == 0,
                .progress = isatty(STDERR_FILENO)};
  int to_file = ex->output && strcmp(ex->output, "-") != 0;
  char *part = NULL;
  if (to_file) {
    size_t n = strlen(ex->output) + sizeof ".part";
    if (!(part = malloc(n))) {
      fprintf(stderr, "prospectctl export: out of memory\n");
      return CTL_EXPORT_EXIT_OUTPUT;
    }
    snprintf(part, n, "%s.part", ex->output);
    if (!(w.f = fopen(part, "wb"))) {
      fprintf(stderr, "prospectctl export: %s: %s\n", part, strerror(errno));
      free(part);
      return CTL_EXPORT_EXIT_OUTPUT;
    }
  } else {
    w.f = stdout;
  }
  csv_writer_init(&w.csv, w.f, ';');
  if (!w.jsonl) {
    csv_write_bom(&w.csv);
    for (size_t i = 0; i < ctl_export_n_csv_columns; i++) csv_write_field(&w.csv, ctl_export_csv_columns[i]);
    csv_end_record(&w.csv);
  }
  psc_call_options_t copts = opts ? *opts : (psc_call_options_t){0};
  if (!copts.deadline_ms) copts.deadline_ms = EXPORT_DEFAULT_DEADLINE_MS;
  int code = psc_export_prospects(client, &r, &copts, on_message, &w, st);
  if (w.progress) fprintf(stderr, "\n");
  int out_failed = w.failed || fflush(w.f) != 0 || ferror(w.f);
  if (to_file && fclose(w.f) != 0) out_failed = 1;
  int rc = code;
  if (out_failed) {
    fprintf(stderr, "prospectctl export: %s: cannot write the output\n", to_file ? part : "stdout");
    rc = CTL_EXPORT_EXIT_OUTPUT;
  } else if (code == PSC_OK && w.progress) {
    fprintf(stderr, "prospectctl export: %lld records%s%s\n", w.records, to_file ? " in " : "",
            to_file ? ex->output : "");
  }
  if (to_file) {
    if (rc == 0 && rename(part, ex->output) != 0) {
      fprintf(stderr, "prospectctl export: %s: %s\n", ex->output, strerror(errno));
      rc = CTL_EXPORT_EXIT_OUTPUT;
    }
    if (rc != 0) remove(part); /* an incomplete export is no export */
    free(part);
  }
  return rc;
}
