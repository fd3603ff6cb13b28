#include "obs/calls.h"

#include "core/status.h"
#include "log.h"
#include "obs/metrics.h"

void ps_call_ended(const ps_call_record_t *r) {
  ps_metrics_handled(r->metrics_id, r->code, r->duration_ns);
  if (!r->log) return;
  ps_log_field_t f[] = {
      PS_LOG_STR("method", r->method),
      PS_LOG_STR("code", ps_code_name((ps_code_t)r->code)),
      PS_LOG_STR("reason", r->reason[0] ? r->reason : NULL),
      PS_LOG_NUM("duration_us", r->duration_ns / 1000),
      PS_LOG_STR("tenant", r->tenant[0] ? r->tenant : NULL),
      PS_LOG_STR("request_id", r->request_id[0] ? r->request_id : NULL),
      PS_LOG_STR("peer", r->peer),
      PS_LOG_STR("user_agent", r->user_agent[0] ? r->user_agent : NULL),
      PS_LOG_STR("trace_id", r->trace_id[0] ? r->trace_id : NULL),
      r->messages >= 0 ? PS_LOG_NUM("messages", r->messages) : PS_LOG_STR("messages", NULL),
      r->messages >= 0 ? PS_LOG_NUM("bytes", r->bytes) : PS_LOG_STR("bytes", NULL),
  };
  ps_log_fields(PS_LOG_INFO, "call", f, sizeof f / sizeof f[0]);
}
