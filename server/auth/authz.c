/* Threads: the transport threads call ps_authz_check for every call (read lock); the watcher thread
 * swaps the policy (write lock) when its file changed. The lock is held only while one decision is
 * made, so a reload waits for at most the calls being decided at that moment. */
#include "auth/authz.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define MAX_POLICY_BYTES (1024 * 1024)

static struct {
  pthread_rwlock_t lock;    /* guards policy */
  ps_policy_t *policy;      /* NULL: no policy file, everything allowed */
  char *path;               /* the file; NULL without one */
  char *text;               /* the file's content when it was last read (compared on reload) */
  size_t text_len;
  pthread_mutex_t mu;       /* guards stop, text; serializes reloads */
  pthread_cond_t cond;
  int stop;
  int reload_s;
  int running;              /* the watcher thread exists */
  pthread_t thread;
} A = {.lock = PTHREAD_RWLOCK_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER,
       .cond = PTHREAD_COND_INITIALIZER};

/* The whole file in a new buffer (NUL-terminated). 0, or -1 with err set. */
static int read_file(const char *path, char **ret, size_t *ret_len, char *err, size_t errsz) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  char *buf = malloc(MAX_POLICY_BYTES + 1);
  if (!buf) {
    fclose(f);
    snprintf(err, errsz, "out of memory");
    return -1;
  }
  size_t n = fread(buf, 1, MAX_POLICY_BYTES + 1, f);
  int bad = ferror(f);
  fclose(f);
  if (bad || n > MAX_POLICY_BYTES) {
    free(buf);
    snprintf(err, errsz, "%s: %s", path, bad ? "read error" : "larger than 1 MiB");
    return -1;
  }
  buf[n] = '\0';
  *ret = buf;
  *ret_len = n;
  return 0;
}

/* Reads and, when changed, parses and installs the file. Caller holds A.mu. */
static int reload_locked(char *err, size_t errsz) {
  char *text;
  size_t len;
  if (read_file(A.path, &text, &len, err, errsz) != 0) return -1;
  if (A.text && len == A.text_len && memcmp(text, A.text, len) == 0) {
    free(text);
    return 0;
  }
  ps_policy_t *p;
  char perr[256];
  if (ps_policy_parse(text, len, &p, perr, sizeof perr) != 0) {
    snprintf(err, errsz, "%s: %s", A.path, perr);
    /* remember the bad content: it is reported once, not every interval */
    free(A.text);
    A.text = text;
    A.text_len = len;
    return -1;
  }
  pthread_rwlock_wrlock(&A.lock);
  ps_policy_t *old = A.policy;
  A.policy = p;
  pthread_rwlock_unlock(&A.lock);
  ps_policy_free(old);
  free(A.text);
  A.text = text;
  A.text_len = len;
  return 1;
}

int ps_authz_reload(void) {
  if (!A.path) return 0;
  char err[384];
  pthread_mutex_lock(&A.mu);
  int rc = reload_locked(err, sizeof err);
  pthread_mutex_unlock(&A.mu);
  if (rc < 0) ps_error("authorization policy not reloaded, the previous one stays: %s", err);
  if (rc > 0) ps_info("authorization policy reloaded from %s", A.path);
  return rc;
}

static void *watcher(void *arg) {
  (void)arg;
  pthread_mutex_lock(&A.mu);
  while (!A.stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += A.reload_s;
    while (!A.stop && pthread_cond_timedwait(&A.cond, &A.mu, &until) == 0) {
    }
    if (A.stop) break;
    pthread_mutex_unlock(&A.mu);
    ps_authz_reload();
    pthread_mutex_lock(&A.mu);
  }
  pthread_mutex_unlock(&A.mu);
  return NULL;
}

int ps_authz_start(const char *path, int reload_s, ps_status_t *st) {
  if (!path || !*path) return 0;
  A.path = strdup(path);
  if (!A.path) return ps_fail(st, PS_INTERNAL, NULL, "out of memory");
  A.reload_s = reload_s > 0 ? reload_s : 10;
  A.stop = 0;
  char err[384];
  if (reload_locked(err, sizeof err) < 0) {
    ps_fail(st, PS_FAILED_PRECONDITION, NULL, "authorization policy: %s", err);
    ps_authz_stop();
    return -1;
  }
  if (pthread_create(&A.thread, NULL, watcher, NULL) != 0) {
    ps_authz_stop();
    return ps_fail(st, PS_INTERNAL, NULL, "cannot start the policy watcher");
  }
  A.running = 1;
  return 0;
}

void ps_authz_stop(void) {
  if (A.running) {
    pthread_mutex_lock(&A.mu);
    A.stop = 1;
    pthread_cond_signal(&A.cond);
    pthread_mutex_unlock(&A.mu);
    pthread_join(A.thread, NULL);
    A.running = 0;
  }
  pthread_rwlock_wrlock(&A.lock);
  ps_policy_free(A.policy);
  A.policy = NULL;
  pthread_rwlock_unlock(&A.lock);
  free(A.path);
  free(A.text);
  A.path = A.text = NULL;
  A.text_len = 0;
}

int ps_authz_check(const ps_policy_request_t *req, ps_status_t *st) {
  if (!A.path) return 0;
  pthread_rwlock_rdlock(&A.lock);
  ps_policy_decision_t d = A.policy ? ps_policy_check(A.policy, req, NULL) : PS_POLICY_DENY;
  pthread_rwlock_unlock(&A.lock);
  if (d == PS_POLICY_ALLOW) return 0;
  const char *who = ps_peer_identity(req->peer);
  int n = req->path_len > 200 ? 200 : (int)req->path_len;
  if (!*who) {
    ps_fail(st, PS_UNAUTHENTICATED, "CLIENT_CERTIFICATE_REQUIRED",
            "%.*s needs a caller that presents a client certificate this server trusts", n,
            req->path);
    return -1;
  }
  ps_fail(st, PS_PERMISSION_DENIED, "METHOD_NOT_ALLOWED", "%s may not call %.*s", who, n, req->path);
  ps_status_meta(st, "caller", who);
  return -1;
}
