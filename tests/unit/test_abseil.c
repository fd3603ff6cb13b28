/* abseil.c: the deadlock-detection setting of the Abseil that gRPC loads is found and turned off.
 * On Debian 12 it must be found: when a new Abseil renames it, this test says so (the server would
 * then quietly go on paying for the debug bookkeeping). gRPC is started first, so that its Abseil
 * is loaded as in the server, and it still works afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grpc/grpc.h>

#include "abseil.h"

static void test_the_setting_is_found_and_grpc_still_runs(void **state) {
  (void)state;
  grpc_init();
  assert_int_equal(ps_abseil_release_mode(), 1);
  /* mutexes, a completion queue and a server made and torn down with the detection off */
  grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
  grpc_server *server = grpc_server_create(NULL, NULL);
  grpc_server_register_completion_queue(server, cq, NULL);
  grpc_server_start(server);
  grpc_server_shutdown_and_notify(server, cq, NULL);
  grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  assert_int_equal(ev.type, GRPC_OP_COMPLETE);
  grpc_server_destroy(server);
  grpc_completion_queue_shutdown(cq);
  ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  assert_int_equal(ev.type, GRPC_QUEUE_SHUTDOWN);
  grpc_completion_queue_destroy(cq);
  grpc_shutdown();
  /* a second call finds it again (idempotent) */
  assert_int_equal(ps_abseil_release_mode(), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_the_setting_is_found_and_grpc_still_runs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
