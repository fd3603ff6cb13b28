/* prospectctl import: a CSV file into BatchCreateProspects calls (see import.c). */
#ifndef CTL_IMPORT_H
#define CTL_IMPORT_H

#include "prospects/client.h"

/* Runs `prospectctl import [--skip-duplicates] [--min-score X] [--report FILE] [--batch N]
 * tenants/T FILE.csv` with argv the words after "import". opts: the client's options (target,
 * transport, caller); deadline_ms: per call (0: 60 s); acting_user may be NULL. Returns the exit
 * status: 0 every row went in or was skipped, 65 some were refused, 64 usage, 66 the file cannot
 * be read, 70 a local failure, else the gRPC code of a call that failed. */
int ctl_import(const psc_options_t *opts, long long deadline_ms, const char *acting_user, int argc,
               char **argv);

#endif
