#include "obs/trace.h"

#include <string.h>

static int lower_hex(const char *s, size_t n) {
  int nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return -1;
    if (c != '0') nonzero = 1;
  }
  return nonzero;
}

int ps_trace_parse(const char *v, size_t n, char trace_id[PS_TRACE_ID_LEN + 1],
                   char parent_id[PS_SPAN_ID_LEN + 1]) {
  /* vv-tttttttttttttttttttttttttttttttt-pppppppppppppppp-ff */
  const size_t len = 2 + 1 + PS_TRACE_ID_LEN + 1 + PS_SPAN_ID_LEN + 1 + 2;
  if (!v || n < len) return -1;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return -1;
  if (lower_hex(v, 2) < 0 || memcmp(v, "ff", 2) == 0) return -1;
  if (memcmp(v, "00", 2) == 0 ? n != len : (n > len && v[len] != '-')) return -1;
  if (lower_hex(v + 3, PS_TRACE_ID_LEN) != 1) return -1;  /* all zeros is invalid */
  if (lower_hex(v + 36, PS_SPAN_ID_LEN) != 1) return -1;
  if (lower_hex(v + 53, 2) < 0) return -1;
  memcpy(trace_id, v + 3, PS_TRACE_ID_LEN);
  trace_id[PS_TRACE_ID_LEN] = '\0';
  memcpy(parent_id, v + 36, PS_SPAN_ID_LEN);
  parent_id[PS_SPAN_ID_LEN] = '\0';
  return 0;
}
