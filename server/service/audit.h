/* Writing the audit trail from the handlers of the changes it records. */
#ifndef PS_SERVICE_AUDIT_H
#define PS_SERVICE_AUDIT_H

#include <stdint.h>

#include "core/status.h"
#include "store/db.h"

/* Inserts an audit row for a change of tenant's resource, inside the change's transaction on db.
 * caller is the verified identity (ctx->caller), acting_user the claim the caller made. details
 * must hold no personal data. 0, or -1 with st set (the transaction then fails: no change goes
 * unrecorded). */
int ps_audit_record(ps_db_t *db, const char *caller, const char *acting_user, const char *tenant,
                    const char *action, const char *resource, const char *details, int64_t now_us,
                    ps_status_t *st);

#endif
