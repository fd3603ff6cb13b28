/* The serving status reported by grpc.health.v1.Health: SERVING only while the database answers
 * and the server is not shutting down. Values match grpc.health.v1.HealthCheckResponse.ServingStatus. */
#ifndef PS_HEALTH_H
#define PS_HEALTH_H

typedef enum ps_health {
  PS_HEALTH_UNKNOWN = 0,
  PS_HEALTH_SERVING = 1,
  PS_HEALTH_NOT_SERVING = 2,
  PS_HEALTH_SERVICE_UNKNOWN = 3,
} ps_health_t;

/* The current status. Thread-safe (atomic). */
ps_health_t ps_health_get(void);

/* Sets the status; when it changes, calls the listener (on the caller's thread). Thread-safe. */
void ps_health_set(ps_health_t status);

/* Registers the one listener called after every change (NULL to remove). */
void ps_health_set_listener(void (*fn)(void *ud), void *ud);

/* The service name of liveness probes: SERVING while the process answers at all, whatever the
 * database and even while it drains (readiness uses "" instead). */
#define PS_HEALTH_LIVENESS "liveness"

/* The status of a named service: "" and "prospects.v1.ProspectService" follow the server's status,
 * PS_HEALTH_LIVENESS is always SERVING; any other name is PS_HEALTH_SERVICE_UNKNOWN. */
ps_health_t ps_health_of(const char *service);

#endif
