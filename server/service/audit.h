/* Writing the audit trail from the handlers of the changes it records. */
#ifndef PS_SERVICE_AUDIT_H
#define PS_SERVICE_AUDIT_H

#include <stdint.h>

#include "core/arena.h"
#include "core/status.h"
#include "prospects/v1/resources.pb-c.h"
#include "store/audit.h"
#include "store/db.h"

/* Inserts an audit row for a change of tenant's resource, inside the change's transaction on db.
 * caller is the verified identity (ctx->caller), acting_user the claim the caller made. details
 * must hold no personal data. 0, or -1 with st set (the transaction then fails: no change goes
 * unrecorded). */
int ps_audit_record(ps_db_t *db, const char *caller, const char *acting_user, const char *tenant,
                    const char *action, const char *resource, const char *details, int64_t now_us,
                    ps_status_t *st);

/* The API message of a stored row (strings shared with row), in a; NULL when out of memory. */
Prospects__V1__AuditEvent *ps_audit_event_msg(ps_arena_t *a, const char *tenant,
                                              const ps_audit_row_t *row);

#endif
