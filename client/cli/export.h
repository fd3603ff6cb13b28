/* prospectctl export: a tenant's records and contact persons from ExportProspects (one snapshot),
 * written as CSV (the columns below; UTF-8 with BOM, ';', CRLF) or JSON Lines (one ProspectBundle
 * per line, contact persons nested).
 *
 *   prospectctl [OPTIONS] export [--format csv|jsonl] [--output FILE] [--state STATE] tenants/T
 */
#ifndef PSC_CLI_EXPORT_H
#define PSC_CLI_EXPORT_H

#include <stdio.h>

#include "prospects/client.h"

/* Exit status when the output file cannot be written (sysexits' EX_CANTCREAT / EX_IOERR). */
#define CTL_EXPORT_EXIT_OUTPUT 74

/* The columns of the CSV export, in order; the import reads the same names. */
extern const char *const ctl_export_csv_columns[];
extern const size_t ctl_export_n_csv_columns;

typedef struct ctl_export {
  const char *format; /* "csv" (default) or "jsonl" */
  const char *output; /* file, or NULL / "-" for stdout */
  const char *state;  /* state_filter by name or short name; NULL: every state */
  const char *parent; /* tenants/{tenant} */
} ctl_export_t;

/* Takes argv[*i] (and its value, moving *i on) when it is an option or the parent of the export:
 * 1 when taken, 0 when not the export's, -1 on a usage error (said on stderr). */
int ctl_export_arg(ctl_export_t *ex, int argc, char **argv, int *i);

/* The subcommand's help. */
void ctl_export_help(FILE *f);

/* Runs the export of req (with the parent and state_filter of ex, when given) and writes it. Returns
 * 0, the gRPC code of a failed call (st says why; the caller prints it), 64 for a usage error or
 * CTL_EXPORT_EXIT_OUTPUT when the output cannot be written (both said on stderr). A --output file
 * is written under a temporary name and renamed only when the export is complete. */
int ctl_export_run(psc_client_t *client, const ctl_export_t *ex,
                   const Prospects__V1__ExportProspectsRequest *req, const psc_call_options_t *opts,
                   psc_status_t *st);

#endif /* PSC_CLI_EXPORT_H */
