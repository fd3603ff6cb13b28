/* Tests of prospectctl's transport rule (client/cli/conn.c), offline: which targets count as this
 * host, PROSPECTCTL_PLAINTEXT's values, and what each combination of flags gives. */
#include <stdio.h>
#include <string.h>

#include "conn.h"

static int failures;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)
#define CHECK_INT(a, b)                                                                             \
  do {                                                                                              \
    long long va_ = (long long)(a), vb_ = (long long)(b);                                           \
    if (va_ != vb_) {                                                                               \
      fprintf(stderr, "FAIL %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, va_, vb_); \
      failures++;                                                                                   \
    }                                                                                               \
  } while (0)

static void test_local_targets(void) {
  static const char *const local[] = {"localhost:50051", "LOCALHOST:1", "localhost", "127.0.0.1:50051",
                                      "127.1.2.3:9", "[::1]:50051", "::1", "dns:///localhost:50051",
                                      "dns://8.8.8.8/localhost:1", "dns:localhost:1", "ipv4:127.0.0.1:1",
                                      "ipv4:///127.0.0.1:1", "ipv4:127.0.0.1:1,127.0.0.2:2", "ipv6:[::1]:1",
                                      "unix:/run/prospects.sock", "unix-abstract:prospects"};
  static const char *const remote[] = {"prospects:50051", "prospects.prod.svc:443", "10.0.0.1:50051",
                                       "128.0.0.1:1", "[::2]:1", "dns:///prospects:50051",
                                       "localhost.example.com:1", "mylocalhost:1", "ipv4:127.0.0.1:1,10.0.0.1:1",
                                       "ipv4:", "dns://8.8.8.8", "", "[::1", "[fe80::1]:1"};
  for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
    if (!ctl_target_is_local(local[i])) fprintf(stderr, "FAIL: %s should be local\n", local[i]), failures++;
  for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
    if (ctl_target_is_local(remote[i])) fprintf(stderr, "FAIL: %s should not be local\n", remote[i]), failures++;
  CHECK_INT(ctl_target_is_local(NULL), 0);
}

static void test_env_values(void) {
  CHECK_INT(ctl_mode_from_env(NULL), CTL_MODE_AUTO);
  CHECK_INT(ctl_mode_from_env(""), CTL_MODE_AUTO);
  CHECK_INT(ctl_mode_from_env("1"), CTL_MODE_PLAINTEXT);
  CHECK_INT(ctl_mode_from_env("TRUE"), CTL_MODE_PLAINTEXT);
  CHECK_INT(ctl_mode_from_env("yes"), CTL_MODE_PLAINTEXT);
  CHECK_INT(ctl_mode_from_env("0"), CTL_MODE_TLS);
  CHECK_INT(ctl_mode_from_env("false"), CTL_MODE_TLS);
  CHECK_INT(ctl_mode_from_env("no"), CTL_MODE_TLS);
  CHECK_INT(ctl_mode_from_env("2"), -1);
  CHECK_INT(ctl_mode_from_env("plaintext"), -1);
}

/* The transport of in, or -1 when refused (err then non-empty). */
static int transport_of(ctl_conn_input_t in, psc_options_t *o) {
  char err[300] = "";
  psc_options_t zero = {0};
  *o = zero;
  int rc = ctl_conn_options(&in, o, err, sizeof err);
  if (rc < 0) {
    CHECK_INT(err[0] != '\0', 1);
    return -1;
  }
  return (int)o->transport;
}

static void test_rule(void) {
  psc_options_t o;
  /* 3: nothing given: plaintext on this host (scripts/run), TLS elsewhere */
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "localhost:50051"}, &o), PSC_TRANSPORT_PLAINTEXT);
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "prospects:50051"}, &o), PSC_TRANSPORT_TLS);
  CHECK(o.tls_ca_file == NULL); /* gRPC's default roots */
  /* 2: any TLS material means TLS, also to this host */
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "127.0.0.1:1", .ca = "ca.pem"}, &o), PSC_TRANSPORT_TLS);
  CHECK(o.tls_ca_file && strcmp(o.tls_ca_file, "ca.pem") == 0);
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "127.0.0.1:1", .server_name = "prospects"}, &o),
            PSC_TRANSPORT_TLS);
  CHECK(o.tls_target_name_override && strcmp(o.tls_target_name_override, "prospects") == 0);
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "localhost:1", .cert = "c.pem", .key = "k.pem"}, &o),
            PSC_TRANSPORT_TLS);
  CHECK(o.tls_cert_file && o.tls_key_file && strcmp(o.tls_key_file, "k.pem") == 0);
  /* 1: an explicit choice wins */
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "prospects:1", .mode = CTL_MODE_PLAINTEXT}, &o),
            PSC_TRANSPORT_PLAINTEXT);
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "localhost:1", .mode = CTL_MODE_TLS}, &o), PSC_TRANSPORT_TLS);
  /* refused: plaintext with TLS material, half a key pair */
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "localhost:1", .mode = CTL_MODE_PLAINTEXT, .ca = "ca"}, &o), -1);
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "x:1", .mode = CTL_MODE_PLAINTEXT, .server_name = "x"}, &o), -1);
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "x:1", .cert = "c.pem"}, &o), -1);
  CHECK_INT(transport_of((ctl_conn_input_t){.target = "x:1", .key = "k.pem"}, &o), -1);
  /* the fields it does not own stay as they were */
  ctl_conn_input_t in = {.target = "localhost:1"};
  psc_options_t keep = {0};
  keep.caller = "me";
  keep.retry.max_attempts = 3;
  char err[100];
  CHECK_INT(ctl_conn_options(&in, &keep, err, sizeof err), 0);
  CHECK(keep.caller && strcmp(keep.caller, "me") == 0 && keep.retry.max_attempts == 3);
}

int main(void) {
  test_local_targets();
  test_env_values();
  test_rule();
  printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
