/* prospectctl: call ProspectService from the command line through the client library.
 *
 *   prospectctl [OPTIONS] COMMAND [REQUEST]      REQUEST: JSON text, "-" (stdin) or @FILE; default {}
 *   prospectctl COMMAND --help                   the request's fields, the response type, retries
 *
 * Transport (conn.c): --plaintext or --tls when given (or PROSPECTCTL_PLAINTEXT=1 / 0); else TLS
 * as soon as --ca, --cert, --key or --server-name is given (or their PROSPECTCTL_* variables); else
 * plaintext for a target on this host (scripts/run's localhost:50051) and TLS for any other.
 *
 * The response is printed as JSON on stdout. On an error the status is printed as JSON on stderr
 * and the exit status is the gRPC code (1-16); 64 = usage error, 65 = bad request JSON,
 * 70 = out of memory or another local failure. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "export.h"
#include "import.h"
#include "json.h"
#include "pbjson.h"
#include "prospects/client.h"

#define EXIT_USAGE 64
#define EXIT_DATAERR 65
#define EXIT_SOFTWARE 70
#define DEFAULT_TARGET "localhost:50051"

/* Command-line options (one table: name, argument, meaning) - printed by --help. */
typedef struct cli {
  ctl_conn_input_t conn;   /* --target, --ca, --cert, --key, --server-name, --plaintext, --tls */
  long long deadline_ms;   /* --deadline */
  const char *caller;      /* --caller */
  const char *acting_user; /* --acting-user */
  int no_retry;            /* --no-retry */
  int attempts;            /* --attempts */
  int compact;             /* --compact */
  const char *lb_policy;   /* --lb-policy */
  const char *traceparent; /* --traceparent */
} cli_t;

static const struct {
  const char *name, *arg, *help;
} option_help[] = {
    {"--target", "ADDR", "server address (default $PROSPECTCTL_TARGET, else " DEFAULT_TARGET ")"},
    {"--ca", "FILE", "CA bundle (PEM) that verifies the server: TLS ($PROSPECTCTL_CA)"},
    {"--cert", "FILE", "client certificate chain (PEM): mutual TLS ($PROSPECTCTL_CERT)"},
    {"--key", "FILE", "the certificate's private key (PEM) ($PROSPECTCTL_KEY)"},
    {"--server-name", "NAME", "name the server's certificate carries, e.g. for an IP target ($PROSPECTCTL_SERVER_NAME)"},
    {"--lb-policy", "NAME", "round_robin: spread calls over every address of the target, e.g. dns:///… of a headless Service ($PROSPECTCTL_LB_POLICY)"},
    {"--plaintext", NULL, "no TLS, whatever the target ($PROSPECTCTL_PLAINTEXT=1)"},
    {"--tls", NULL, "TLS even to this host, with the system's roots unless --ca ($PROSPECTCTL_PLAINTEXT=0)"},
    {"--deadline", "MS", "deadline of the call in milliseconds, retries included (default 10000)"},
    {"--caller", "NAME", "x-caller metadata: the calling service (default prospectctl)"},
    {"--acting-user", "NAME", "x-acting-user metadata: the user on whose behalf the call is made"},
    {"--traceparent", "TP", "W3C trace context of the call ($TRACEPARENT; default: a new trace, whose id an error shows)"},
    {"--attempts", "N", "attempts in all for calls that are safe to retry (default 5)"},
    {"--no-retry", NULL, "one attempt only"},
    {"--compact", NULL, "print the response on one line"},
    {"--version", NULL, "print the library version"},
    {"--help", NULL, "this text; after a command: that command's request and response"},
};

/* "CreateProspect" -> "create-prospect" */
static void kebab(const char *name, char *out, size_t n) {
  size_t o = 0;
  for (const char *p = name; *p && o + 2 < n; p++) {
    if (isupper((unsigned char)*p)) {
      if (p != name) out[o++] = '-';
      out[o++] = (char)tolower((unsigned char)*p);
    } else {
      out[o++] = *p;
    }
  }
  out[o] = '\0';
}

static const psc_method_t *find_command(const char *cmd) {
  const psc_method_t *m = psc_method_find(cmd);
  if (m) return m;
  char k[64];
  for (size_t i = 0; i < psc_method_count(); i++) {
    kebab(psc_method_at(i)->name, k, sizeof k);
    if (strcmp(k, cmd) == 0) return psc_method_at(i);
  }
  return NULL;
}

static void usage(FILE *f) {
  fprintf(f, "usage: prospectctl [OPTIONS] COMMAND [REQUEST]\n"
             "       prospectctl COMMAND --help\n"
             "       prospectctl [OPTIONS] import [IMPORT OPTIONS] tenants/T FILE.csv  (import --help)\n\n"
             "Calls prospects.v1.ProspectService. REQUEST is the request message as JSON (proto3 JSON\n"
             "mapping: lowerCamelCase or proto field names, enums by name), \"-\" to read it from stdin,\n"
             "or @FILE; without it the request is {}. The response is printed as JSON on stdout.\n"
             "Exit status: 0 OK, 1-16 the gRPC status code (the error as JSON on stderr), 64 usage,\n"
             "65 bad request JSON, 70 local failure.\n\n"
             "Transport: --plaintext or --tls when given (or PROSPECTCTL_PLAINTEXT=1 or 0); otherwise TLS\n"
             "when --ca, --cert, --key or --server-name is given (or PROSPECTCTL_CA, _CERT, _KEY,\n"
             "_SERVER_NAME is set); otherwise plaintext for a target on this host (localhost, 127.0.0.0/8,\n"
             "::1, unix:) and TLS for any other. A flag wins over its variable.\n\nOptions:\n");
  for (size_t i = 0; i < sizeof option_help / sizeof option_help[0]; i++) {
    char left[48];
    snprintf(left, sizeof left, "%s%s%s", option_help[i].name, option_help[i].arg ? " " : "",
             option_help[i].arg ? option_help[i].arg : "");
    fprintf(f, "  %-24s %s\n", left, option_help[i].help);
  }
  fprintf(f, "\nCommands (also accepted by RPC name, e.g. GetProspect):\n");
  fprintf(f, "  %-26s %s\n", "export", "Write a tenant's records as CSV or JSON Lines (export --help).");
  for (size_t i = 0; i < psc_method_count(); i++) {
    char k[64];
    kebab(psc_method_at(i)->name, k, sizeof k);
    fprintf(f, "  %-26s %s\n", k, psc_method_at(i)->summary);
  }
}

static const char *type_name(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32: return "int32";
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: return "uint32";
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
      return "int64 (string)";
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: return "uint64 (string)";
    case PROTOBUF_C_TYPE_FLOAT: return "float";
    case PROTOBUF_C_TYPE_DOUBLE: return "double";
    case PROTOBUF_C_TYPE_BOOL: return "bool";
    case PROTOBUF_C_TYPE_ENUM: return ((const ProtobufCEnumDescriptor *)f->descriptor)->name;
    case PROTOBUF_C_TYPE_STRING: return "string";
    case PROTOBUF_C_TYPE_BYTES: return "bytes (base64)";
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessageDescriptor *d = f->descriptor;
      if (strcmp(d->name, "google.protobuf.Timestamp") == 0) return "timestamp (RFC 3339 string)";
      if (strcmp(d->name, "google.protobuf.FieldMask") == 0) return "field mask (\"a,b.c\")";
      return d->name;
    }
  }
  return "?";
}

/* Prints the fields of d, and of the messages under it (to a few levels), for --help. */
static void print_fields(const ProtobufCMessageDescriptor *d, int level) {
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    char camel[128];
    pbjson_camel(f->name, camel, sizeof camel);
    printf("%*s%-22s %s%s%s\n", 2 + level * 4, "", camel, f->label == PROTOBUF_C_LABEL_REPEATED ? "array of " : "",
           type_name(f), f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF ? " (one of a group)" : "");
    if (f->type == PROTOBUF_C_TYPE_ENUM) {
      const ProtobufCEnumDescriptor *ed = f->descriptor;
      printf("%*s", 2 + level * 4 + 4, "");
      for (unsigned k = 0; k < ed->n_values; k++) printf("%s%s", k ? " | " : "", ed->values[k].name);
      printf("\n");
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && level < 2) {
      const ProtobufCMessageDescriptor *sub = f->descriptor;
      if (strncmp(sub->name, "google.protobuf.", 16) != 0) print_fields(sub, level + 1);
    }
  }
}

static void command_help(const psc_method_t *m) {
  char k[64];
  kebab(m->name, k, sizeof k);
  static const char *const retry[] = {"never retried (not safe to repeat)", "retried on UNAVAILABLE (a read)",
                                      "retried on UNAVAILABLE (requestId makes it safe; filled in when empty)"};
  printf("usage: prospectctl [OPTIONS] %s [REQUEST]\n\n%s\nRPC %s: %s -> %s; %s.\n\nRequest fields (%s):\n", k,
         m->summary, m->path + 1, m->request->name, m->response->name, retry[m->retry], m->request->name);
  print_fields(m->request, 0);
}

/* Reads all of f into a new NUL-terminated buffer. */
static char *read_all(FILE *f, size_t *ret_len) {
  sbuf_t sb = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sb_append(&sb, buf, n);
  if (ferror(f) || sb.failed) {
    free(sb.buf);
    return NULL;
  }
  if (!sb.buf) sb_append(&sb, "", 0);
  *ret_len = sb.len;
  return sb.buf;
}

static void print_error(const psc_status_t *st, const char *traceparent, int compact) {
  sbuf_t sb = {0};
  const char *nl = compact ? "" : "\n    ";
  sb_printf(&sb, "{%s\"error\": {%s\"code\": %d,%s\"status\": \"%s\",%s\"message\": ", compact ? "" : "\n  ", nl, st->code, nl,
            psc_code_name(st->code), nl);
  sb_json_string(&sb, st->message, strlen(st->message));
  if (st->reason[0]) {
    sb_printf(&sb, ",%s\"reason\": ", nl);
    sb_json_string(&sb, st->reason, strlen(st->reason));
    sb_printf(&sb, ",%s\"domain\": ", nl);
    sb_json_string(&sb, st->domain, strlen(st->domain));
    sb_printf(&sb, ",%s\"metadata\": {", nl);
    for (size_t i = 0; i < st->n_meta; i++) {
      if (i) sb_puts(&sb, ", ");
      sb_json_string(&sb, st->meta[i].key, strlen(st->meta[i].key));
      sb_puts(&sb, ": ");
      sb_json_string(&sb, st->meta[i].value, strlen(st->meta[i].value));
    }
    sb_puts(&sb, "}");
  }
  if (st->request_id[0]) {
    sb_printf(&sb, ",%s\"requestId\": ", nl);
    sb_json_string(&sb, st->request_id, strlen(st->request_id));
  }
  /* the trace id to look for in the server's logs: "00-<trace id>-<parent id>-<flags>" */
  sb_printf(&sb, ",%s\"traceId\": \"%.32s\"", nl, traceparent + 3);
  sb_printf(&sb, ",%s\"attempts\": %d%s}\n", nl, st->attempts, compact ? "}" : "\n  }\n");
  if (sb.failed)
    fprintf(stderr, "prospectctl: %s: %s\n", psc_code_name(st->code), st->message);
  else
    fputs(sb.buf, stderr);
  free(sb.buf);
}

static int parse_number_arg(const char *opt, const char *s, long long lo, long long hi, long long *ret) {
  char *end;
  errno = 0;
  long long v = strtoll(s ? s : "", &end, 10);
  if (!s || !*s || *end || errno || v < lo || v > hi) {
    fprintf(stderr, "prospectctl: %s needs a number from %lld to %lld\n", opt, lo, hi);
    return -1;
  }
  *ret = v;
  return 0;
}

/* The value of environment variable name, or NULL when it is unset or empty. */
static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* The client library's options from the command line (target, caller, attempts, TLS): 0, or -1
 * after printing why not. The strings stay cli's. */
static int client_options(const cli_t *cli, psc_options_t *opts) {
  char err[400];
  *opts = (psc_options_t){0};
  opts->target = cli->conn.target;
  opts->caller = cli->caller;
  opts->retry.max_attempts = cli->attempts;
  opts->lb_policy = cli->lb_policy;
  if (ctl_conn_options(&cli->conn, opts, err, sizeof err) < 0) {
    fprintf(stderr, "prospectctl: %s\n", err);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  /* gRPC logs a failed TLS handshake on stderr, where the error JSON goes; the JSON carries the
   * reason already. GRPC_VERBOSITY set by the user (e.g. ERROR, DEBUG) still wins. */
  if (setenv("GRPC_VERBOSITY", "NONE", 0) != 0) {
    fprintf(stderr, "prospectctl: setenv: %s\n", strerror(errno));
    return EXIT_SOFTWARE;
  }
  cli_t cli = {.caller = "prospectctl"};
  cli.conn.target = env("PROSPECTCTL_TARGET");
  if (!cli.conn.target) cli.conn.target = DEFAULT_TARGET;
  cli.conn.ca = env("PROSPECTCTL_CA");
  cli.conn.cert = env("PROSPECTCTL_CERT");
  cli.conn.key = env("PROSPECTCTL_KEY");
  cli.conn.server_name = env("PROSPECTCTL_SERVER_NAME");
  cli.lb_policy = env("PROSPECTCTL_LB_POLICY");
  cli.traceparent = env("TRACEPARENT"); /* the W3C convention for a trace passed to a command */
  int env_mode = ctl_mode_from_env(getenv("PROSPECTCTL_PLAINTEXT")); /* -1: not a value it takes */
  const char *command = NULL, *request_arg = NULL;
  ctl_mode_t mode_flag = CTL_MODE_AUTO; /* --plaintext / --tls: wins over PROSPECTCTL_PLAINTEXT */
  int help = 0, import_at = 0; /* import: its own arguments follow (import.c) */
  ctl_export_t ex = {0};       /* prospectctl export: its own options and parent */
  for (int i = 1; i < argc && !import_at; i++) {
    const char *a = argv[i];
    long long v;
    int taken = command && strcmp(command, "export") == 0 ? ctl_export_arg(&ex, argc, argv, &i) : 0;
    if (taken < 0) return EXIT_USAGE;
    if (taken) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      help = 1;
    } else if (strcmp(a, "--version") == 0) {
      printf("prospectctl %s (header %d.%d.%d)\n", psc_version(), PSC_VERSION_MAJOR, PSC_VERSION_MINOR,
             PSC_VERSION_PATCH);
      return 0;
    } else if (strcmp(a, "--target") == 0 || strcmp(a, "--caller") == 0 || strcmp(a, "--acting-user") == 0 ||
               strcmp(a, "--ca") == 0 || strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0 ||
               strcmp(a, "--server-name") == 0 || strcmp(a, "--lb-policy") == 0 ||
               strcmp(a, "--traceparent") == 0) {
      if (i + 1 >= argc || !*argv[i + 1]) {
        fprintf(stderr, "prospectctl: %s needs a value\n", a);
        return EXIT_USAGE;
      }
      const char *val = argv[++i];
      if (strcmp(a, "--target") == 0) cli.conn.target = val;
      else if (strcmp(a, "--caller") == 0) cli.caller = val;
      else if (strcmp(a, "--acting-user") == 0) cli.acting_user = val;
      else if (strcmp(a, "--ca") == 0) cli.conn.ca = val;
      else if (strcmp(a, "--cert") == 0) cli.conn.cert = val;
      else if (strcmp(a, "--key") == 0) cli.conn.key = val;
      else if (strcmp(a, "--lb-policy") == 0) cli.lb_policy = val;
      else if (strcmp(a, "--traceparent") == 0) cli.traceparent = val;
      else cli.conn.server_name = val;
    } else if (strcmp(a, "--plaintext") == 0 || strcmp(a, "--tls") == 0) {
      ctl_mode_t want = a[2] == 'p' ? CTL_MODE_PLAINTEXT : CTL_MODE_TLS;
      if (mode_flag && mode_flag != want) {
        fprintf(stderr, "prospectctl: --plaintext and --tls exclude each other\n");
        return EXIT_USAGE;
      }
      mode_flag = want;
    } else if (strcmp(a, "--deadline") == 0) {
      if (parse_number_arg(a, i + 1 < argc ? argv[++i] : NULL, 1, 24LL * 3600 * 1000, &v) < 0) return EXIT_USAGE;
      cli.deadline_ms = v;
    } else if (strcmp(a, "--attempts") == 0) {
      if (parse_number_arg(a, i + 1 < argc ? argv[++i] : NULL, 1, 100, &v) < 0) return EXIT_USAGE;
      cli.attempts = (int)v;
    } else if (strcmp(a, "--no-retry") == 0) {
      cli.no_retry = 1;
    } else if (strcmp(a, "--compact") == 0) {
      cli.compact = 1;
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "prospectctl: unknown option %s (see --help)\n", a);
      return EXIT_USAGE;
    } else if (!command && strcmp(a, "import") == 0) {
      command = a;
      import_at = i + 1;
    } else if (!command) {
      command = a;
    } else if (!request_arg) {
      request_arg = a;
    } else {
      fprintf(stderr, "prospectctl: one request only (see --help)\n");
      return EXIT_USAGE;
    }
  }
  if (mode_flag) {
    cli.conn.mode = mode_flag;
  } else if (env_mode < 0 && !help) {
    fprintf(stderr, "prospectctl: PROSPECTCTL_PLAINTEXT must be 1 (plaintext) or 0 (TLS)\n");
    return EXIT_USAGE;
  } else if (env_mode > 0) {
    cli.conn.mode = (ctl_mode_t)env_mode;
  }
  if (!command) {
    usage(help ? stdout : stderr);
    return help ? 0 : EXIT_USAGE;
  }
  if (import_at) {
    psc_options_t opts;
    if (client_options(&cli, &opts) < 0) return EXIT_USAGE;
    return ctl_import(&opts, cli.deadline_ms, cli.acting_user, argc - import_at, argv + import_at);
  }
  int export = strcmp(command, "export") == 0;
  const psc_method_t *m = find_command(export ? "ExportProspects" : command);
  if (!m) {
    fprintf(stderr, "prospectctl: unknown command %s (see --help)\n", command);
    return EXIT_USAGE;
  }
  if (help) {
    if (export) ctl_export_help(stdout);
    else command_help(m);
    return 0;
  }
  export = export || m == psc_method_find("ExportProspects"); /* a stream: written by export.c */

  /* the request */
  char *text = NULL;
  size_t len = 0;
  if (!request_arg) {
    text = strdup("{}");
    len = 2;
  } else if (strcmp(request_arg, "-") == 0) {
    text = read_all(stdin, &len);
  } else if (request_arg[0] == '@') {
    FILE *f = fopen(request_arg + 1, "rb");
    if (!f) {
      fprintf(stderr, "prospectctl: %s: %s\n", request_arg + 1, strerror(errno));
      return EXIT_USAGE;
    }
    text = read_all(f, &len);
    fclose(f);
  } else {
    text = strdup(request_arg);
    len = strlen(request_arg);
  }
  if (!text) {
    fprintf(stderr, "prospectctl: could not read the request\n");
    return EXIT_SOFTWARE;
  }
  char err[400];
  json_t *doc = NULL;
  int rc = json_parse(text, len, &doc, err, sizeof err);
  free(text);
  if (rc < 0) {
    fprintf(stderr, "prospectctl: request: %s\n", err);
    return EXIT_DATAERR;
  }
  ProtobufCMessage *req = NULL;
  rc = pbjson_to_message(m->request, doc, &req, err, sizeof err);
  json_free(doc);
  if (rc < 0) {
    fprintf(stderr, "prospectctl: request: %s\n", err);
    return EXIT_DATAERR;
  }

  /* the call */
  psc_options_t opts;
  if (client_options(&cli, &opts) < 0) {
    protobuf_c_message_free_unpacked(req, NULL);
    return EXIT_USAGE;
  }
  psc_client_t *client = NULL;
  psc_status_t st;
  rc = psc_client_new_ex(&opts, &client, &st);
  if (rc != PSC_OK) {
    fprintf(stderr, "prospectctl: cannot make a client for %s: %s: %s\n", cli.conn.target, psc_code_name(rc),
            st.message);
    protobuf_c_message_free_unpacked(req, NULL);
    return rc == PSC_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_SOFTWARE;
  }
  /* the trace is started here rather than by the library, so that an error can show its id */
  char traceparent[PSC_TRACEPARENT_LEN + 1];
  if (cli.traceparent) {
    if (!psc_traceparent_valid(cli.traceparent)) {
      fprintf(stderr, "prospectctl: --traceparent (or TRACEPARENT) must be 00-<32 hex>-<16 hex>-<2 hex>, "
                      "lowercase, ids not all zero\n");
      psc_client_free(client);
      protobuf_c_message_free_unpacked(req, NULL);
      return EXIT_USAGE;
    }
    snprintf(traceparent, sizeof traceparent, "%s", cli.traceparent);
  } else if (psc_traceparent_new(traceparent) != 0) {
    fprintf(stderr, "prospectctl: no randomness for a trace id\n");
    psc_client_free(client);
    protobuf_c_message_free_unpacked(req, NULL);
    return EXIT_SOFTWARE;
  }
  psc_call_options_t copts = {0};
  copts.deadline_ms = cli.deadline_ms;
  copts.acting_user = cli.acting_user;
  copts.no_retry = cli.no_retry;
  copts.traceparent = traceparent;
  if (export) {
    int code = ctl_export_run(client, &ex, (const Prospects__V1__ExportProspectsRequest *)req, &copts, &st);
    protobuf_c_message_free_unpacked(req, NULL);
    psc_client_free(client);
    if (code > 0 && code <= 16) print_error(&st, traceparent, cli.compact);
    return code;
  }
  ProtobufCMessage *resp = NULL;
  int code = psc_invoke(client, m, req, &copts, &resp, &st);
  protobuf_c_message_free_unpacked(req, NULL);
  psc_client_free(client);

  if (code != PSC_OK) {
    print_error(&st, traceparent, cli.compact);
    return code;
  }
  sbuf_t out = {0};
  pbjson_from_message(resp, &out, cli.compact ? 0 : 2);
  sb_append(&out, "\n", 1);
  protobuf_c_message_free_unpacked(resp, NULL);
  if (out.failed) {
    free(out.buf);
    fprintf(stderr, "prospectctl: out of memory printing the response\n");
    return EXIT_SOFTWARE;
  }
  fputs(out.buf, stdout);
  free(out.buf);
  return fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
}
