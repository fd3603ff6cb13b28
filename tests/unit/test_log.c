/* log.c: what reaches stderr. Each test sends fd 2 into a temporary file around the calls and reads
 * the lines back. JSON lines are flat objects (string and integer members) with quotes and
 * backslashes escaped and every byte outside printable ASCII written as '?'; ps_log_fields leaves
 * NULL strings out and writes numbers unquoted; a thread's trace id is a "trace_id" member, once;
 * text lines quote values that need it; the level filters; the level and format names parse; a
 * thread's held lines are written at its release, or with another thread's write, in order. */
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

#define TRACE "0af7651916cd43dd8448eb211c80319c"
#define TIME_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

/* ------------------------------------------------------------------ capturing fd 2 */

static FILE *cap_file;
static int cap_saved = -1;

static void capture_start(void) {
  fflush(stderr);
  cap_file = tmpfile();
  assert_non_null(cap_file);
  cap_saved = dup(STDERR_FILENO);
  assert_true(cap_saved >= 0);
  assert_true(dup2(fileno(cap_file), STDERR_FILENO) >= 0);
}

/* Restores fd 2 and returns what was written (malloc'd, NUL-terminated). */
static char *capture_end(void) {
  fflush(stderr);
  assert_true(dup2(cap_saved, STDERR_FILENO) >= 0);
  close(cap_saved);
  cap_saved = -1;
  int fd = fileno(cap_file);
  off_t n = lseek(fd, 0, SEEK_END);
  assert_true(n >= 0);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
  buf[n] = '\0';
  fclose(cap_file);
  cap_file = NULL;
  return buf;
}

/* ------------------------------------------------------------------ checking lines */

static int matches(const char *s, const char *re) {
  regex_t r;
  if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0) fail_msg("bad regex %s", re);
  int rc = regexec(&r, s, 0, NULL, 0);
  regfree(&r);
  return rc == 0;
}

#define assert_matches(s, re)                                                              \
  do {                                                                                     \
    if (!matches((s), (re))) fail_msg("\"%s\" does not match /%s/", (s), (re));            \
  } while (0)

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* A JSON string at *p (a strict subset: printable ASCII, escapes \" and \\ only). 0 or -1. */
static int json_string(const char **p) {
  const char *s = *p;
  if (*s++ != '"') return -1;
  for (;;) {
    unsigned char c = (unsigned char)*s;
    if (c == '"') break;
    if (c < 0x20 || c > 0x7e) return -1;
    if (c == '\\') {
      if (s[1] != '"' && s[1] != '\\') return -1;
      s += 2;
    } else {
      s++;
    }
  }
  *p = s + 1;
  return 0;
}

/* The line at line, "{...}\n" (what follows its newline is not looked at), is a flat JSON object
 * of string and integer members whose first three are time, level and msg: returns the number of
 * members, or -1. */
static int json_line(const char *line) {
  const char *p = line;
  if (*p++ != '{') return -1;
  int n = 0;
  static const char *const first[] = {"\"time\":", "\"level\":", "\"msg\":"};
  while (*p != '}') {
    if (n > 0 && *p++ != ',') return -1;
    if (n < 3 && strncmp(p, first[n], strlen(first[n])) != 0) return -1;
    if (json_string(&p) != 0 || *p++ != ':') return -1;
    if (*p == '"') {
      if (json_string(&p) != 0) return -1;
    } else {
      if (*p == '-') p++;
      if (*p < '0' || *p > '9') return -1;
      while (*p >= '0' && *p <= '9') p++;
    }
    n++;
  }
  if (p[0] != '}' || p[1] != '\n') return -1;
  return n;
}

/* The one line of out (it must hold exactly one, ending in a newline). */
static void assert_one_line(const char *out) {
  size_t n = strlen(out);
  assert_true(n > 0);
  assert_int_equal(out[n - 1], '\n');
  assert_int_equal(count(out, "\n"), 1);
}

/* out is one JSON line; returns a pointer after its "time" member (at ,"level":...). */
static const char *json_after_time(const char *out) {
  assert_one_line(out);
  if (json_line(out) < 0) fail_msg("not a flat JSON object: %s", out);
  assert_matches(out, "^\\{\"time\":\"" TIME_RE "\",\"level\":\"");
  return strchr(out + 9, '"') + 1;
}

static int setup(void **state) {
  (void)state;
  ps_log_set_level(PS_LOG_DEBUG);
  ps_log_set_format(PS_LOG_TEXT);
  ps_log_set_trace(NULL);
  return 0;
}

/* ------------------------------------------------------------------ JSON */

static void test_json_message_is_escaped(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  capture_start();
  ps_log(PS_LOG_INFO, "say \"%s\" c:\\dir\nnext\tline\x01 %s \x7f", "hi", "caf\xc3\xa9");
  char *out = capture_end();
  assert_string_equal(json_after_time(out),
                      ",\"level\":\"info\",\"msg\":\"say \\\"hi\\\" c:\\\\dir?next?line? caf?? ?\"}\n");
  free(out);
}

static void test_json_fields(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  ps_log_field_t f[] = {
      PS_LOG_STR("method", "/a.B/C"),
      PS_LOG_STR("reason", NULL), /* left out */
      PS_LOG_NUM("duration_us", 1234),
      PS_LOG_NUM("neg", -42),
      PS_LOG_NUM("big", 1LL << 40),
      PS_LOG_STR("empty", ""),
      PS_LOG_STR("quoted", "a \"b\" \\c"),
      PS_LOG_STR("ctl", "x\ny\rz\t\x1b[31m\xff"),
  };
  capture_start();
  ps_log_fields(PS_LOG_WARN, "call", f, sizeof f / sizeof f[0]);
  char *out = capture_end();
  assert_int_equal(json_line(out), 3 + 7);
  assert_string_equal(json_after_time(out),
                      ",\"level\":\"warn\",\"msg\":\"call\",\"method\":\"/a.B/C\",\"duration_us\":1234,"
                      "\"neg\":-42,\"big\":1099511627776,\"empty\":\"\",\"quoted\":\"a \\\"b\\\" \\\\c\","
                      "\"ctl\":\"x?y?z??[31m?\"}\n");
  assert_null(strstr(out, "reason"));
  free(out);
}

static void test_json_message_of_fields_is_escaped(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  capture_start();
  ps_log_fields(PS_LOG_ERROR, "a \"msg\"\n", NULL, 0);
  char *out = capture_end();
  assert_string_equal(json_after_time(out), ",\"level\":\"error\",\"msg\":\"a \\\"msg\\\"?\"}\n");
  free(out);
}

static void test_json_trace_id_of_the_thread(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  ps_log_set_trace(TRACE);
  ps_log_field_t f[] = {PS_LOG_STR("k", "v")};
  capture_start();
  ps_log(PS_LOG_INFO, "plain");
  ps_log_fields(PS_LOG_INFO, "fields", f, 1);
  char *out = capture_end();
  char *second = strchr(out, '\n') + 1;
  assert_true(json_line(out) == 4);
  assert_true(json_line(second) == 5);
  assert_non_null(strstr(out, "\"msg\":\"plain\",\"trace_id\":\"" TRACE "\"}\n"));
  assert_non_null(strstr(second, "\"msg\":\"fields\",\"k\":\"v\",\"trace_id\":\"" TRACE "\"}\n"));
  free(out);

  /* a field named trace_id is the line's trace id: not written twice */
  ps_log_field_t g[] = {PS_LOG_STR("trace_id", "11111111111111111111111111111111"),
                        PS_LOG_STR("k", "v")};
  capture_start();
  ps_log_fields(PS_LOG_INFO, "call", g, 2);
  out = capture_end();
  assert_int_equal(json_line(out), 5);
  assert_int_equal(count(out, "trace_id"), 1);
  assert_non_null(strstr(out, "\"trace_id\":\"11111111111111111111111111111111\",\"k\":\"v\"}"));
  assert_null(strstr(out, TRACE));
  free(out);

  /* a NULL trace_id field is left out, and then the thread's is written */
  ps_log_field_t h[] = {PS_LOG_STR("trace_id", NULL)};
  capture_start();
  ps_log_fields(PS_LOG_INFO, "call", h, 1);
  out = capture_end();
  assert_int_equal(count(out, "trace_id"), 1);
  assert_non_null(strstr(out, "\"trace_id\":\"" TRACE "\"}"));
  free(out);

  /* cleared: no trace id any more */
  ps_log_set_trace(NULL);
  capture_start();
  ps_log(PS_LOG_INFO, "after");
  ps_log_set_trace(TRACE);
  ps_log_set_trace("");
  ps_log(PS_LOG_INFO, "after empty");
  char *out2 = capture_end();
  assert_null(strstr(out2, "trace_id"));
  free(out2);
}

static void *other_thread(void *arg) {
  (void)arg;
  ps_log(PS_LOG_INFO, "from another thread");
  return NULL;
}

static void test_trace_id_is_per_thread(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  ps_log_set_trace(TRACE);
  capture_start();
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
  pthread_join(t, NULL);
  char *out = capture_end();
  ps_log_set_trace(NULL);
  assert_int_equal(json_line(out), 3);
  assert_null(strstr(out, "trace_id"));
  free(out);
}

static void test_trace_id_is_at_most_32_characters(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  ps_log_set_trace(TRACE "ffff");
  capture_start();
  ps_log(PS_LOG_INFO, "x");
  char *out = capture_end();
  ps_log_set_trace(NULL);
  assert_non_null(strstr(out, "\"trace_id\":\"" TRACE "\"}\n"));
  free(out);
}

static void test_json_long_values_stay_one_object(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  char big[6000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  /* a message longer than a line */
  capture_start();
  ps_log(PS_LOG_INFO, "%s", big);
  char *out = capture_end();
  assert_one_line(out);
  assert_true(json_line(out) == 3);
  assert_true(strlen(out) <= 4096);
  free(out);
  /* one value longer than a line */
  ps_log_field_t f[] = {PS_LOG_STR("v", big)};
  capture_start();
  ps_log_fields(PS_LOG_INFO, "m", f, 1);
  out = capture_end();
  assert_one_line(out);
  assert_true(json_line(out) == 4);
  assert_true(strlen(out) <= 4096);
  free(out);
  /* a value of escapes only: the escapes are never cut in two */
  memset(big, '"', 5000);
  big[5000] = '\0';
  capture_start();
  ps_log_fields(PS_LOG_INFO, "m", f, 1);
  out = capture_end();
  assert_one_line(out);
  assert_true(json_line(out) == 4);
  free(out);
}

/* A line at the size limit still ends as an object, with the thread's whole trace id; a field that
 * does not fit is left out whole, never cut in its key. */
static void test_json_full_line_keeps_its_end(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  ps_log_set_trace("0af7651916cd43dd8448eb211c80319c");
  static char quotes[2048];
  for (size_t n = 1990; n < 2048; n += 7) { /* 2 bytes each once escaped: the line is full */
    memset(quotes, '"', n);
    quotes[n] = '\0';
    capture_start();
    ps_log(PS_LOG_INFO, "%s", quotes);
    char *out = capture_end();
    assert_one_line(out);
    assert_true(json_line(out) == 4);
    assert_non_null(strstr(out, ",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"}\n"));
    assert_true(strlen(out) <= 4096);
    free(out);
  }
  static char big[5001];
  memset(big, 'b', 5000);
  ps_log_field_t f[] = {PS_LOG_STR("v", big), PS_LOG_STR("tenant", "acme")};
  capture_start();
  ps_log_fields(PS_LOG_INFO, "m", f, 2);
  char *out = capture_end();
  assert_one_line(out);
  assert_true(json_line(out) == 5); /* time, level, msg, v (shortened), trace_id */
  assert_null(strstr(out, "\"ten"));
  assert_non_null(strstr(out, "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"}\n"));
  free(out);
  ps_log_set_trace(NULL);
}

/* ------------------------------------------------------------------ text */

static void test_text_line(void **state) {
  (void)state;
  capture_start();
  ps_log(PS_LOG_WARN, "disk %d%% full\nforged line\twith tab \xc3\xa9", 93);
  char *out = capture_end();
  assert_one_line(out);
  assert_matches(out, "^" TIME_RE " warn disk 93% full\\?forged line\twith tab \\?\\?\n$");
  free(out);
}

static void test_text_fields_quoting(void **state) {
  (void)state;
  ps_log_field_t f[] = {
      PS_LOG_STR("method", "/a.B/C"),
      PS_LOG_STR("reason", NULL),
      PS_LOG_NUM("duration_us", 17),
      PS_LOG_STR("ua", "grpc-python/1.51 (linux; chttp2)"),
      PS_LOG_STR("empty", ""),
      PS_LOG_STR("q", "say \"hi\""),
      PS_LOG_STR("eq", "a=b"),
      PS_LOG_STR("bs", "c:\\dir"),
      PS_LOG_STR("bsq", "c:\\my dir"),
      PS_LOG_STR("ctl", "x\ny\xc3\xa9"),
      PS_LOG_NUM("neg", -5),
  };
  capture_start();
  ps_log_fields(PS_LOG_INFO, "call", f, sizeof f / sizeof f[0]);
  char *out = capture_end();
  assert_one_line(out);
  assert_matches(out, "^" TIME_RE " info call ");
  assert_string_equal(strstr(out, " info "),
                      " info call method=/a.B/C duration_us=17 ua=\"grpc-python/1.51 (linux; chttp2)\""
                      " empty=\"\" q=\"say \\\"hi\\\"\" eq=\"a=b\" bs=c:\\dir bsq=\"c:\\\\my dir\""
                      " ctl=x?y?? neg=-5\n");
  free(out);
}

static void test_text_trace_id(void **state) {
  (void)state;
  ps_log_set_trace(TRACE);
  ps_log_field_t f[] = {PS_LOG_STR("trace_id", "22222222222222222222222222222222")};
  capture_start();
  ps_log(PS_LOG_INFO, "hello");
  ps_log_fields(PS_LOG_INFO, "call", f, 1);
  char *out = capture_end();
  ps_log_set_trace(NULL);
  assert_matches(out, "^" TIME_RE " info hello trace_id=" TRACE "\n" TIME_RE
                      " info call trace_id=22222222222222222222222222222222\n$");
  free(out);
}

/* ------------------------------------------------------------------ levels and names */

static void test_level_filtering(void **state) {
  (void)state;
  ps_log_set_level(PS_LOG_WARN);
  assert_int_equal(ps_log_get_level(), PS_LOG_WARN);
  assert_false(ps_log_enabled(PS_LOG_DEBUG));
  assert_false(ps_log_enabled(PS_LOG_INFO));
  assert_true(ps_log_enabled(PS_LOG_WARN));
  assert_true(ps_log_enabled(PS_LOG_ERROR));
  ps_log_field_t f[] = {PS_LOG_STR("k", "v")};
  capture_start();
  ps_log(PS_LOG_DEBUG, "no-debug");
  ps_debug("no-debug-macro %d", 1);
  ps_info("no-info");
  ps_log_fields(PS_LOG_INFO, "no-info-fields", f, 1);
  ps_warn("yes-warn");
  ps_log_fields(PS_LOG_ERROR, "yes-error-fields", f, 1);
  ps_error("yes-error");
  char *out = capture_end();
  assert_null(strstr(out, "no-"));
  assert_int_equal(count(out, "\n"), 3);
  assert_matches(out, "^" TIME_RE " warn yes-warn\n" TIME_RE " error yes-error-fields k=v\n" TIME_RE
                      " error yes-error\n$");
  free(out);

  ps_log_set_level(PS_LOG_ERROR);
  capture_start();
  ps_warn("no");
  char *none = capture_end();
  assert_string_equal(none, "");
  free(none);

  ps_log_set_level(PS_LOG_DEBUG);
  assert_true(ps_log_enabled(PS_LOG_DEBUG));
  capture_start();
  ps_debug("yes %s", "debug");
  out = capture_end();
  assert_matches(out, "^" TIME_RE " debug yes debug\n$");
  free(out);
}

/* Bytes written to the capture file so far. */
static long captured_bytes(void) {
  fflush(stderr);
  return (long)lseek(fileno(cap_file), 0, SEEK_END);
}

static void test_held_lines_are_written_at_the_release(void **state) {
  (void)state;
  capture_start();
  ps_log_hold();
  ps_info("one");
  ps_log_hold(); /* nested: only the outer release writes */
  ps_info("two");
  ps_log_release();
  ps_info("three");
  long while_held = captured_bytes();
  ps_log_release();
  long after = captured_bytes();
  ps_log_release(); /* one release too many: nothing happens */
  ps_info("four");
  char *out = capture_end();
  assert_int_equal(while_held, 0);
  assert_true(after > 0);
  assert_matches(out, "^" TIME_RE " info one\n" TIME_RE " info two\n" TIME_RE " info three\n" TIME_RE
                      " info four\n$");
  free(out);
}

static void *log_one(void *arg) {
  ps_info("%s", (const char *)arg);
  return NULL;
}

static void test_held_lines_go_out_with_another_threads_write(void **state) {
  (void)state;
  capture_start();
  ps_log_hold();
  ps_info("held");
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, log_one, "other"), 0);
  pthread_join(th, NULL);
  long before_release = captured_bytes();
  ps_log_release();
  char *out = capture_end();
  assert_true(before_release > 0); /* the other thread wrote both lines, in order */
  assert_matches(out, "^" TIME_RE " info held\n" TIME_RE " info other\n$");
  free(out);
}

static void test_held_lines_past_the_buffer_are_all_written_in_order(void **state) {
  (void)state;
  enum { LINES = 300 }; /* of about 3,000 bytes: three times the output buffer (256 KiB) */
  static char v[3001];
  memset(v, 'x', sizeof v - 1);
  capture_start();
  ps_log_hold();
  for (int i = 0; i < LINES; i++) {
    ps_log_field_t f[] = {PS_LOG_NUM("seq", i), PS_LOG_STR("v", v)};
    ps_log_fields(PS_LOG_INFO, "big", f, 2);
  }
  long while_held = captured_bytes();
  ps_log_release();
  char *out = capture_end();
  assert_true(while_held > 0); /* full buffers were written without waiting for the release */
  int n = 0;
  for (char *line = out, *nl; *line; line = nl + 1, n++) {
    nl = strchr(line, '\n');
    assert_non_null(nl);
    *nl = '\0';
    char want[32];
    snprintf(want, sizeof want, " info big seq=%d v=x", n);
    assert_non_null(strstr(line, want));
    assert_int_equal(nl - strstr(line, " v=") - 3, 3000);
  }
  assert_int_equal(n, LINES);
  free(out);
}

static void test_parse_level_and_names(void **state) {
  (void)state;
  assert_int_equal(ps_log_parse_level("debug"), PS_LOG_DEBUG);
  assert_int_equal(ps_log_parse_level("info"), PS_LOG_INFO);
  assert_int_equal(ps_log_parse_level("warn"), PS_LOG_WARN);
  assert_int_equal(ps_log_parse_level("error"), PS_LOG_ERROR);
  assert_int_equal(ps_log_parse_level("INFO"), -1);
  assert_int_equal(ps_log_parse_level("warning"), -1);
  assert_int_equal(ps_log_parse_level(""), -1);
  assert_int_equal(ps_log_parse_level("info "), -1);
  assert_int_equal(ps_log_parse_level("inf"), -1);
  assert_string_equal(ps_log_level_name(PS_LOG_DEBUG), "debug");
  assert_string_equal(ps_log_level_name(PS_LOG_INFO), "info");
  assert_string_equal(ps_log_level_name(PS_LOG_WARN), "warn");
  assert_string_equal(ps_log_level_name(PS_LOG_ERROR), "error");
  assert_string_equal(ps_log_level_name((ps_log_level_t)7), "info");
  for (int l = PS_LOG_DEBUG; l <= PS_LOG_ERROR; l++)
    assert_int_equal(ps_log_parse_level(ps_log_level_name((ps_log_level_t)l)), l);
}

static void test_parse_format(void **state) {
  (void)state;
  assert_int_equal(ps_log_parse_format("text"), PS_LOG_TEXT);
  assert_int_equal(ps_log_parse_format("json"), PS_LOG_JSON);
  assert_int_equal(ps_log_parse_format("JSON"), -1);
  assert_int_equal(ps_log_parse_format(""), -1);
  assert_int_equal(ps_log_parse_format("logfmt"), -1);
  assert_int_equal(ps_log_parse_format("json "), -1);
}

/* Many threads logging at once: every line reaches fd 2 whole, none is lost, and each thread's
 * lines keep their order (lines are appended to a buffer that one writing thread at a time
 * empties). */
#define N_THREADS 8
#define N_LINES 5000

static void *log_many(void *arg) {
  long long t = (long long)(intptr_t)arg;
  for (long long i = 0; i < N_LINES; i++) {
    ps_log_field_t f[] = {PS_LOG_NUM("thread", t), PS_LOG_NUM("seq", i),
                          PS_LOG_STR("pad", "some text to make the lines of different lengths")};
    ps_log_fields(PS_LOG_INFO, "burst", f, (size_t)(1 + i % 3));
  }
  return NULL;
}

static void test_concurrent_lines_are_whole_complete_and_in_order(void **state) {
  (void)state;
  ps_log_set_format(PS_LOG_JSON);
  capture_start();
  pthread_t th[N_THREADS];
  for (intptr_t t = 0; t < N_THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, log_many, (void *)t), 0);
  for (int t = 0; t < N_THREADS; t++) pthread_join(th[t], NULL);
  char *out = capture_end();
  long long next[N_THREADS] = {0};
  int lines = 0;
  for (char *line = out, *nl; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_int_equal(line[0], '{');
    assert_int_equal(nl[-1], '}');
    const char *tp = strstr(line, "\"thread\":");
    assert_non_null(tp);
    int t = atoi(tp + 9);
    assert_true(t >= 0 && t < N_THREADS);
    const char *sp = strstr(line, "\"seq\":");
    long long seq = sp ? atoll(sp + 6) : -1;
    if (sp) { /* lines of one field carry no seq: count them in order all the same */
      assert_int_equal(seq, next[t]);
    }
    next[t]++;
    lines++;
  }
  assert_int_equal(lines, N_THREADS * N_LINES);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_json_message_is_escaped, setup),
      cmocka_unit_test_setup(test_json_fields, setup),
      cmocka_unit_test_setup(test_json_message_of_fields_is_escaped, setup),
      cmocka_unit_test_setup(test_json_trace_id_of_the_thread, setup),
      cmocka_unit_test_setup(test_trace_id_is_per_thread, setup),
      cmocka_unit_test_setup(test_trace_id_is_at_most_32_characters, setup),
      cmocka_unit_test_setup(test_json_long_values_stay_one_object, setup),
      cmocka_unit_test_setup(test_json_full_line_keeps_its_end, setup),
      cmocka_unit_test_setup(test_text_line, setup),
      cmocka_unit_test_setup(test_text_fields_quoting, setup),
      cmocka_unit_test_setup(test_text_trace_id, setup),
      cmocka_unit_test_setup(test_level_filtering, setup),
      cmocka_unit_test_setup(test_parse_level_and_names, setup),
      cmocka_unit_test_setup(test_parse_format, setup),
      cmocka_unit_test_setup(test_concurrent_lines_are_whole_complete_and_in_order, setup),
      cmocka_unit_test_setup(test_held_lines_are_written_at_the_release, setup),
      cmocka_unit_test_setup(test_held_lines_go_out_with_another_threads_write, setup),
      cmocka_unit_test_setup(test_held_lines_past_the_buffer_are_all_written_in_order, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
