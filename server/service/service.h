/* The handlers of prospects.v1.ProspectService. Each enforces the rules of SPEC.md for one method,
 * returns 0 with *ret set (built in ctx->arena) or -1 with ctx->status set, and writes nothing on
 * failure. The method table (dispatch.c) maps gRPC paths to these. */
#ifndef PS_SERVICE_SERVICE_H
#define PS_SERVICE_SERVICE_H

#include "prospects/v1/service.pb-c.h"
#include "service/ctx.h"

/* prospects.c */
int ps_create_prospect(ps_ctx_t *ctx, const Prospects__V1__CreateProspectRequest *req,
                       Prospects__V1__Prospect **ret);
int ps_get_prospect(ps_ctx_t *ctx, const Prospects__V1__GetProspectRequest *req,
                    Prospects__V1__Prospect **ret);

/* apps.c */
int ps_get_tenant_apps(ps_ctx_t *ctx, const Prospects__V1__GetTenantAppsRequest *req,
                       Prospects__V1__TenantApps **ret);
int ps_update_tenant_apps(ps_ctx_t *ctx, const Prospects__V1__UpdateTenantAppsRequest *req,
                          Prospects__V1__TenantApps **ret);

#endif
