/* prospectctl import: reads a CSV file (csv_read.h) whose columns are named on its header line,
 * turns each row into a ProspectBundle and sends them in BatchCreateProspects calls of at most
 * --batch rows (default 500) and 60 KiB. Each call's request_id is derived from the file's bytes
 * and the batch number, so running the same import again creates nothing twice. Writes a report
 * line per record (CSV) and prints a summary. */
#include "import.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "csv_read.h"
#include "csv_write.h"

#define EXIT_USAGE 64
#define EXIT_DATAERR 65
#define EXIT_NOINPUT 66
#define EXIT_SOFTWARE 70
#define BATCH_MAX 500
#define BATCH_BYTES (60 * 1024)

/* The columns, shared with the export's CSV. */
enum col {
  C_NAME, C_KIND, C_FIRST_NAME, C_LAST_NAME, C_COMPANY_NAME, C_VAT_NUMBER, C_EMAIL, C_PHONE,
  C_WEBSITE, C_STREET, C_POSTAL_CODE, C_CITY, C_COUNTRY_CODE, C_LANGUAGE, C_NOTES, C_STATE,
  C_CREATE_TIME, C_UPDATE_TIME, C_CONTACT_FIRST_NAME, C_CONTACT_LAST_NAME, C_CONTACT_EMAIL,
  C_CONTACT_PHONE, C_CONTACT_ROLE, C_COUNT
};
static const char *const k_cols[C_COUNT] = {
    "name", "kind", "first_name", "last_name", "company_name", "vat_number", "email", "phone",
    "website", "street", "postal_code", "city", "country_code", "language", "notes", "state",
    "create_time", "update_time", "contact_first_name", "contact_last_name", "contact_email",
    "contact_phone", "contact_role"};
/* the record's own columns (output-only name, state and times are not: they are ignored) */
#define IS_RECORD_COL(c) ((c) >= C_KIND && (c) <= C_NOTES)
#define IS_CONTACT_COL(c) ((c) >= C_CONTACT_FIRST_NAME)

/* One record of the file: its bundle, and what became of it. */
typedef struct row {
  long line;                           /* where it starts in the file */
  Prospects__V1__ProspectBundle *b;    /* NULL when refused here */
  long *cp_lines;                      /* the line of each contact person */
  int outcome;                         /* ProspectImportResult.Outcome; 0 until answered */
  char *name;                          /* CREATED: the record; SKIPPED: duplicate_of */
  char *reason, *field, *message;      /* REFUSED */
} row_t;

typedef struct import {
  row_t *rows;
  size_t n, cap;
  int failed; /* out of memory */
} import_t;

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

static int set_str(char **dst, const char *s) {
  if (!*s) return 0;
  char *c = strdup(s);
  if (!c) return -1;
  *dst = c;
  return 0;
}

static row_t *new_row(import_t *im, long line) {
  if (im->n == im->cap) {
    size_t cap = im->cap ? 2 * im->cap : 1024;
    row_t *r = realloc(im->rows, cap * sizeof *r);
    if (!r) return NULL;
    im->rows = r;
    im->cap = cap;
  }
  row_t *r = &im->rows[im->n++];
  memset(r, 0, sizeof *r);
  r->line = line;
  return r;
}

static int refuse_local(row_t *r, const char *reason, const char *field, const char *fmt, const char *arg) {
  char msg[512];
  snprintf(msg, sizeof msg, fmt, arg);
  r->outcome = PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__REFUSED;
  r->reason = strdup(reason);
  r->field = strdup(field);
  r->message = strdup(msg);
  if (r->b) {
    protobuf_c_message_free_unpacked(&r->b->base, NULL);
    r->b = NULL;
  }
  return r->reason && r->field && r->message ? 0 : -1;
}

/* The value of column c in the current record ("" when the file has no such column), without the
 * apostrophe that an export puts before a text a spreadsheet would take as a formula
 * (csv_write.h). */
static const char *val(const csv_reader_t *rd, const int *colpos, int c) {
  int i = colpos[c];
  const char *v = i >= 0 && (size_t)i < rd->n_fields ? rd->fields[i] : "";
  return v[0] == '\'' && csv_guarded(v + 1) ? v + 1 : v;
}

/* Adds the contact person of the current record's contact_* columns to r. */
static int add_contact(row_t *r, const csv_reader_t *rd, const int *colpos, long line) {
  Prospects__V1__ProspectBundle *b = r->b;
  Prospects__V1__ContactPerson *cp = malloc(sizeof *cp);
  if (!cp) return -1;
  prospects__v1__contact_person__init(cp);
  size_t n = b->n_contact_persons;
  Prospects__V1__ContactPerson **a = realloc(b->contact_persons, (n + 1) * sizeof *a);
  long *l = realloc(r->cp_lines, (n + 1) * sizeof *l);
  if (a) b->contact_persons = a;
  if (l) r->cp_lines = l;
  if (!a || !l) {
    free(cp);
    return -1;
  }
  a[n] = cp;
  l[n] = line;
  b->n_contact_persons = n + 1;
  if (set_str(&cp->first_name, val(rd, colpos, C_CONTACT_FIRST_NAME)) ||
      set_str(&cp->last_name, val(rd, colpos, C_CONTACT_LAST_NAME)) ||
      set_str(&cp->email, val(rd, colpos, C_CONTACT_EMAIL)) ||
      set_str(&cp->phone, val(rd, colpos, C_CONTACT_PHONE)) ||
      set_str(&cp->role, val(rd, colpos, C_CONTACT_ROLE)))
    return -1;
  return 0;
}

/* A new record from the current CSV record. */
static int add_record(import_t *im, const csv_reader_t *rd, const int *colpos, long line,
                      int has_contact) {
  row_t *r = new_row(im, line);
  if (!r) return -1;
  Prospects__V1__ProspectBundle *b = malloc(sizeof *b);
  Prospects__V1__Prospect *p = malloc(sizeof *p);
  if (!b || !p) {
    free(b);
    free(p);
    return -1;
  }
  prospects__v1__prospect_bundle__init(b);
  prospects__v1__prospect__init(p);
  b->prospect = p;
  r->b = b;
  const char *kind = val(rd, colpos, C_KIND);
  if (!*kind)
    p->kind = *val(rd, colpos, C_COMPANY_NAME) ? PROSPECTS__V1__PARTY_KIND__COMPANY
                                                : PROSPECTS__V1__PARTY_KIND__PERSON;
  else if (strcasecmp(kind, "PERSON") == 0)
    p->kind = PROSPECTS__V1__PARTY_KIND__PERSON;
  else if (strcasecmp(kind, "COMPANY") == 0)
    p->kind = PROSPECTS__V1__PARTY_KIND__COMPANY;
  else
    return refuse_local(r, "INVALID_FIELD", "prospect.kind",
                        "prospect.kind: must be PERSON or COMPANY, got \"%.100s\"", kind);
  if (set_str(&p->first_name, val(rd, colpos, C_FIRST_NAME)) ||
      set_str(&p->last_name, val(rd, colpos, C_LAST_NAME)) ||
      set_str(&p->company_name, val(rd, colpos, C_COMPANY_NAME)) ||
      set_str(&p->vat_number, val(rd, colpos, C_VAT_NUMBER)) ||
      set_str(&p->email, val(rd, colpos, C_EMAIL)) ||
      set_str(&p->phone, val(rd, colpos, C_PHONE)) ||
      set_str(&p->website, val(rd, colpos, C_WEBSITE)) ||
      set_str(&p->language, val(rd, colpos, C_LANGUAGE)) ||
      set_str(&p->notes, val(rd, colpos, C_NOTES)))
    return -1;
  const char *street = val(rd, colpos, C_STREET), *pc = val(rd, colpos, C_POSTAL_CODE),
             *city = val(rd, colpos, C_CITY), *cc = val(rd, colpos, C_COUNTRY_CODE);
  if (*street || *pc || *city || *cc) {
    Prospects__V1__Address *ad = malloc(sizeof *ad);
    if (!ad) return -1;
    prospects__v1__address__init(ad);
    p->address = ad;
    if (set_str(&ad->street, street) || set_str(&ad->postal_code, pc) ||
        set_str(&ad->city, city) || set_str(&ad->country_code, cc))
      return -1;
  }
  return has_contact ? add_contact(r, rd, colpos, line) : 0;
}

/* Reads the file's records into im. 0, or the exit status. */
static int read_rows(import_t *im, const char *data, size_t len, const char *path) {
  csv_reader_t rd;
  csv_reader_init(&rd, data, len);
  long line;
  int rc = csv_next(&rd, &line);
  if (rc <= 0) {
    csv_reader_free(&rd);
    if (rc == -1) return EXIT_SOFTWARE;
    fprintf(stderr, "prospectctl import: %s: no header line\n", path);
    return EXIT_DATAERR;
  }
  int colpos[C_COUNT];
  for (int c = 0; c < C_COUNT; c++) colpos[c] = -1;
  int known = 0;
  for (size_t i = 0; i < rd.n_fields; i++) {
    const char *h = rd.fields[i];
    while (*h == ' ') h++;
    size_t hl = strlen(h);
    while (hl && h[hl - 1] == ' ') hl--;
    int c;
    for (c = 0; c < C_COUNT; c++)
      if (strlen(k_cols[c]) == hl && strncasecmp(h, k_cols[c], hl) == 0) break;
    if (c == C_COUNT) {
      fprintf(stderr, "prospectctl import: warning: column \"%.*s\" is not known; ignored\n", (int)hl, h);
    } else if (colpos[c] < 0) {
      colpos[c] = (int)i;
      known++;
    }
  }
  if (!known) {
    csv_reader_free(&rd);
    fprintf(stderr, "prospectctl import: %s: the header line names none of the columns (name, kind, "
                    "first_name, last_name, company_name, email, ...)\n", path);
    return EXIT_DATAERR;
  }
  while ((rc = csv_next(&rd, &line)) != 0) {
    if (rc == -1) break;
    int any_record = 0, any_contact = 0, bad_col = -1;
    for (int c = 0; c < C_COUNT; c++) {
      const char *v = val(&rd, colpos, c);
      if (!*v) continue;
      if (bad_col < 0 && !csv_utf8_valid(v, strlen(v))) bad_col = c;
      if (IS_RECORD_COL(c)) any_record = 1;
      if (IS_CONTACT_COL(c)) any_contact = 1;
    }
    if (rc == -2) {
      row_t *r = new_row(im, line);
      if (!r || refuse_local(r, "UNTERMINATED_QUOTE", "", "a quoted field that starts on this line never ends%s", ""))
        goto oom;
      break;
    }
    if (!any_record && !any_contact) continue; /* an empty line */
    if (!any_record) { /* a continuation row: one more contact person of the record above */
      row_t *above = im->n ? &im->rows[im->n - 1] : NULL;
      if (!above || (!above->b && !above->outcome)) {
        row_t *r = new_row(im, line);
        if (!r || refuse_local(r, "NO_RECORD", "contact_persons",
                               "a row of contact columns only needs a record on a row above it%s", ""))
          goto oom;
        continue;
      }
      if (!above->b) continue; /* the record above was refused already */
      if (bad_col >= 0) {
        char field[64];
        snprintf(field, sizeof field, "contact_persons[%zu]", above->b->n_contact_persons);
        if (refuse_local(above, "INVALID_UTF8", field, "line has bytes that are not UTF-8 in column %s",
                         k_cols[bad_col]))
          goto oom;
        continue;
      }
      if (add_contact(above, &rd, colpos, line) != 0) goto oom;
      continue;
    }
    if (bad_col >= 0) {
      row_t *r = new_row(im, line);
      if (!r || refuse_local(r, "INVALID_UTF8", k_cols[bad_col],
                             "column %s is not valid UTF-8 (save the file as CSV UTF-8)", k_cols[bad_col]))
        goto oom;
      continue;
    }
    if (add_record(im, &rd, colpos, line, any_contact) != 0) goto oom;
  }
  csv_reader_free(&rd);
  if (rc == -1) goto oom_freed;
  return 0;
oom:
  csv_reader_free(&rd);
oom_freed:
  fprintf(stderr, "prospectctl import: out of memory reading %s\n", path);
  return EXIT_SOFTWARE;
}

/* FNV-1a, 64 bits: the file's fingerprint in the request ids. */
static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/* Writes s as one CSV field (quoted when it must be). */
static void csv_field(FILE *f, const char *s, int last) {
  s = s ? s : "";
  if (strpbrk(s, ",\"\r\n;")) {
    fputc('"', f);
    for (; *s; s++) {
      if (*s == '"') fputc('"', f);
      fputc(*s, f);
    }
    fputc('"', f);
  } else {
    fputs(s, f);
  }
  fputs(last ? "\r\n" : ",", f);
}

static const char *outcome_name(int o) {
  switch (o) {
    case PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__CREATED: return "CREATED";
    case PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__SKIPPED_DUPLICATE: return "SKIPPED_DUPLICATE";
    case PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__REFUSED: return "REFUSED";
  }
  return "NOT_SENT";
}

/* The file line a server refusal points at: a contact person's own line when the field names one. */
static long refusal_line(const row_t *r) {
  unsigned k;
  if (r->field && r->b && sscanf(r->field, "contact_persons[%u]", &k) == 1 && k < r->b->n_contact_persons)
    return r->cp_lines[k];
  return r->line;
}

static int write_report(const char *path, const import_t *im) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "prospectctl import: %s: %s\n", path, strerror(errno));
    return -1;
  }
  fputs("line,outcome,prospect,reason,field,message\r\n", f);
  for (size_t i = 0; i < im->n; i++) {
    const row_t *r = &im->rows[i];
    fprintf(f, "%ld,", r->outcome == PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__REFUSED
                           ? refusal_line(r) : r->line);
    csv_field(f, outcome_name(r->outcome), 0);
    csv_field(f, r->name, 0);
    csv_field(f, r->reason, 0);
    csv_field(f, r->field, 0);
    csv_field(f, r->message, 1);
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "prospectctl import: %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: prospectctl [OPTIONS] import [--skip-duplicates] [--min-score X] [--report FILE]\n"
             "                  [--batch N] tenants/T FILE.csv\n\n"
             "Creates the records of a CSV file (UTF-8 with or without BOM; ';' or ','; a header line\n"
             "naming the columns: kind, first_name, last_name, company_name, vat_number, email, phone,\n"
             "website, street, postal_code, city, country_code, language, notes, contact_first_name,\n"
             "contact_last_name, contact_email, contact_phone, contact_role; name, state, create_time\n"
             "and update_time are ignored). A row with only contact_* columns adds a contact person to\n"
             "the record above. Running the same file again creates nothing twice.\n\n"
             "  --skip-duplicates  skip rows the duplicate check matches to a record (or an earlier row)\n"
             "  --min-score X      duplicate score that counts: 0.5 to 1 (default 1: exact matches only)\n"
             "  --report FILE      per-record report (default FILE.report.csv)\n"
             "  --batch N          rows per call, 1 to 500 (default 500; a call also stays under 60 KiB)\n\n"
             "Exit status: 0 no row refused, 65 some refused (see the report), 1-16 the gRPC code of a\n"
             "call that failed, 64 usage, 66 unreadable file.\n");
}

typedef struct counts {
  int created, skipped, refused;
  size_t done;
} counts_t;

/* Sends rows[from..to) (those not refused here) as batch number `batch`. 0, or the gRPC code. */
static int send_batch(psc_client_t *client, const psc_call_options_t *copts, const char *parent,
                      uint64_t hash, int batch, int skip, double min_score, import_t *im,
                      size_t from, size_t to, counts_t *cn) {
  size_t n = 0;
  for (size_t i = from; i < to; i++) n += im->rows[i].b != NULL;
  if (n == 0) return 0;
  Prospects__V1__ProspectBundle **bs = malloc(n * sizeof *bs);
  size_t *idx = malloc(n * sizeof *idx);
  if (!bs || !idx) {
    free(bs);
    free(idx);
    fprintf(stderr, "prospectctl import: out of memory\n");
    return EXIT_SOFTWARE;
  }
  n = 0;
  for (size_t i = from; i < to; i++)
    if (im->rows[i].b) {
      idx[n] = i;
      bs[n++] = im->rows[i].b;
    }
  char rid[65];
  snprintf(rid, sizeof rid, "import-%016llx-%d", (unsigned long long)hash, batch);
  Prospects__V1__BatchCreateProspectsRequest req;
  prospects__v1__batch_create_prospects_request__init(&req);
  req.parent = (char *)parent;
  req.prospects = bs;
  req.n_prospects = n;
  req.skip_duplicates = skip;
  req.duplicate_min_score = min_score;
  req.request_id = rid;
  Prospects__V1__BatchCreateProspectsResponse *resp = NULL;
  psc_status_t st;
  int code = psc_batch_create_prospects(client, &req, copts, &resp, &st);
  free(bs);
  if (code != PSC_OK) {
    free(idx);
    fprintf(stderr, "%sprospectctl import: the call with lines %ld-%ld failed: %s: %s%s%s\n",
            isatty(2) ? "\n" : "", im->rows[from].line, im->rows[to - 1].line, psc_code_name(code),
            st.message, st.reason[0] ? " " : "", st.reason);
    return code;
  }
  for (size_t k = 0; k < resp->n_results; k++) {
    const Prospects__V1__ProspectImportResult *res = resp->results[k];
    if (res->index < 0 || (size_t)res->index >= n) continue;
    row_t *r = &im->rows[idx[res->index]];
    r->outcome = (int)res->outcome;
    switch (res->outcome) {
      case PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__CREATED:
        r->name = dup_or_null(res->prospect);
        cn->created++;
        break;
      case PROSPECTS__V1__PROSPECT_IMPORT_RESULT__OUTCOME__SKIPPED_DUPLICATE:
        r->name = dup_or_null(res->duplicate_of);
        cn->skipped++;
        break;
      default:
        r->reason = dup_or_null(res->error_reason);
        r->field = dup_or_null(res->error_field);
        r->message = dup_or_null(res->error_message);
        cn->refused++;
    }
  }
  cn->done += n;
  free(idx);
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int ctl_import(const psc_options_t *opts, long long deadline_ms, const char *acting_user, int argc,
               char **argv) {
  int skip = 0, batch_rows = BATCH_MAX;
  double min_score = 0;
  const char *report = NULL, *parent = NULL, *path = NULL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--skip-duplicates") == 0) {
      skip = 1;
    } else if (strcmp(a, "--min-score") == 0 || strcmp(a, "--report") == 0 || strcmp(a, "--batch") == 0) {
      if (i + 1 >= argc || !*argv[i + 1]) {
        fprintf(stderr, "prospectctl import: %s needs a value\n", a);
        return EXIT_USAGE;
      }
      const char *v = argv[++i];
      char *end;
      if (a[2] == 'r') {
        report = v;
      } else if (a[2] == 'm') {
        errno = 0;
        min_score = strtod(v, &end);
        if (*end || errno || !(min_score == 0 || (min_score >= 0.5 && min_score <= 1))) {
          fprintf(stderr, "prospectctl import: --min-score must be 0 or from 0.5 to 1\n");
          return EXIT_USAGE;
        }
      } else {
        errno = 0;
        long n = strtol(v, &end, 10);
        if (*end || errno || n < 1 || n > BATCH_MAX) {
          fprintf(stderr, "prospectctl import: --batch must be from 1 to %d\n", BATCH_MAX);
          return EXIT_USAGE;
        }
        batch_rows = (int)n;
      }
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "prospectctl import: unknown option %s (see import --help)\n", a);
      return EXIT_USAGE;
    } else if (!parent) {
      parent = a;
    } else if (!path) {
      path = a;
    } else {
      fprintf(stderr, "prospectctl import: one tenant and one file (see import --help)\n");
      return EXIT_USAGE;
    }
  }
  if (!parent || !path || strncmp(parent, "tenants/", 8) != 0) {
    usage(stderr);
    return EXIT_USAGE;
  }

  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "prospectctl import: %s: %s\n", path, strerror(errno));
    return EXIT_NOINPUT;
  }
  char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 1 << 16;
      char *d = realloc(data, cap);
      if (!d) {
        free(data);
        fclose(f);
        fprintf(stderr, "prospectctl import: out of memory reading %s\n", path);
        return EXIT_SOFTWARE;
      }
      data = d;
    }
    size_t got = fread(data + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  int read_err = ferror(f);
  fclose(f);
  if (read_err) {
    free(data);
    fprintf(stderr, "prospectctl import: %s: read error\n", path);
    return EXIT_NOINPUT;
  }
  char *report_path = NULL;
  if (!report) {
    size_t n = strlen(path) + sizeof ".report.csv";
    report_path = malloc(n);
    if (!report_path) {
      free(data);
      return EXIT_SOFTWARE;
    }
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    size_t stem = dot && (!slash || dot > slash) && strcasecmp(dot, ".csv") == 0 ? (size_t)(dot - path) : strlen(path);
    snprintf(report_path, n, "%.*s.report.csv", (int)stem, path);
    report = report_path;
  }

  import_t im = {0};
  uint64_t hash = fnv1a(data, len);
  int status = read_rows(&im, data, len, path);
  free(data);
  counts_t cn = {0, 0, 0, 0};
  size_t local_refused = 0;
  for (size_t i = 0; i < im.n; i++) local_refused += im.rows[i].b == NULL;
  size_t total = im.n - local_refused;
  int tty = isatty(2);

  psc_client_t *client = NULL;
  if (status == 0) {
    psc_status_t st;
    int rc = psc_client_new_ex(opts, &client, &st);
    if (rc != PSC_OK) {
      fprintf(stderr, "prospectctl import: cannot make a client for %s: %s: %s\n", opts->target,
              psc_code_name(rc), st.message);
      status = EXIT_SOFTWARE;
    }
  }
  psc_call_options_t copts = {0};
  copts.deadline_ms = deadline_ms ? deadline_ms : 60000;
  copts.acting_user = acting_user;
  int batch = 0;
  size_t from = 0;
  while (status == 0 && from < im.n) {
    /* rows up to batch_rows and BATCH_BYTES (parent, request id and framing included) */
    size_t to = from, rows = 0, bytes = 200 + strlen(parent);
    while (to < im.n && rows < (size_t)batch_rows) {
      if (im.rows[to].b) {
        size_t sz = protobuf_c_message_get_packed_size(&im.rows[to].b->base) + 4;
        if (rows > 0 && bytes + sz > BATCH_BYTES) break;
        bytes += sz;
        rows++;
      }
      to++;
    }
    status = send_batch(client, &copts, parent, hash, batch++, skip, min_score, &im, from, to, &cn);
    from = to;
    if (tty)
      fprintf(stderr, "\r%zu/%zu rows: %d created, %d skipped, %d refused", cn.done, total, cn.created,
              cn.skipped, cn.refused + (int)local_refused);
  }
  if (tty && total) fputc('\n', stderr);
  psc_client_free(client);

  int call_failed = status >= 1 && status <= 16; /* a gRPC code */
  if (status == 0 || call_failed) {
    if (write_report(report, &im) != 0 && status == 0) status = EXIT_SOFTWARE;
    printf("%s: %zu records: %d created, %d skipped as duplicates, %zu refused%s; report: %s\n", path,
           im.n, cn.created, cn.skipped, (size_t)cn.refused + local_refused,
           call_failed ? " (stopped by a failed call)" : "", report);
  }
  if (status == 0 && (cn.refused || local_refused)) status = EXIT_DATAERR;
  for (size_t i = 0; i < im.n; i++) {
    row_t *r = &im.rows[i];
    if (r->b) protobuf_c_message_free_unpacked(&r->b->base, NULL);
    free(r->cp_lines);
    free(r->name);
    free(r->reason);
    free(r->field);
    free(r->message);
  }
  free(im.rows);
  free(report_path);
  return status;
}
