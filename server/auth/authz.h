/* The authorization policy in force (policy.h) and its file: read at start-up, then checked every
 * reload_s seconds by a thread of its own; a changed file that parses replaces the policy for the
 * calls that start afterwards, one that does not parse is logged and the previous policy stays.
 * Without a file every call is allowed (plaintext development only; main refuses TLS without one).
 * The transport asks it once per call, before anything of the call is decoded. Thread-safe. */
#ifndef PS_AUTH_AUTHZ_H
#define PS_AUTH_AUTHZ_H

#include <stddef.h>

#include "auth/policy.h"
#include "core/status.h"

/* Loads path ("" or NULL: no policy, everything allowed) and starts watching it. 0, or -1 with st
 * set when the file cannot be read or parsed (the server must not start then). */
int ps_authz_start(const char *path, int reload_s, ps_status_t *st);

/* Stops watching and frees the policy. Calls must have ended. */
void ps_authz_stop(void);

/* Reads the file again now (tests and SIGHUP use it; the watcher does the same on its own). 1 when
 * the policy changed, 0 when the file is unchanged, -1 when it could not be read or parsed (the
 * previous policy stays; logged). */
int ps_authz_reload(void);

/* Decides on one call: 0 when it may go on; otherwise -1 with st set to UNAUTHENTICATED (reason
 * CLIENT_CERTIFICATE_REQUIRED: the policy does not allow it and the caller presented no verified
 * certificate) or PERMISSION_DENIED (reason METHOD_NOT_ALLOWED, naming the caller's identity and the
 * method). */
int ps_authz_check(const ps_policy_request_t *req, ps_status_t *st);

#endif
