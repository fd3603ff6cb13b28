#include "abseil.h"

#include <dlfcn.h>
#include <stddef.h>

/* absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle), whose enum is
 * { kIgnore, kReport, kAbort } over int. The C++ name carries Abseil's inline namespace: Debian's
 * ("debian3"), the upstream LTS release that Debian 12 packages, or none. */
static const char *const SET_MODE[] = {
    "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
    "_ZN4absl12lts_2022062329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
    "_ZN4absl29SetMutexDeadlockDetectionModeENS_15OnDeadlockCycleE",
};
enum { ON_DEADLOCK_CYCLE_IGNORE = 0 };

int ps_abseil_release_mode(void) {
  for (size_t i = 0; i < sizeof SET_MODE / sizeof SET_MODE[0]; i++) {
    void (*set_mode)(int);
    void *sym = dlsym(RTLD_DEFAULT, SET_MODE[i]);
    if (!sym) continue;
    *(void **)&set_mode = sym; /* POSIX: a data pointer from dlsym holds a function's address */
    set_mode(ON_DEADLOCK_CYCLE_IGNORE);
    return 1;
  }
  return 0;
}
