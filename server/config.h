/* Server configuration from one table (config.c): every setting has a flag, an env var, a default
 * and bounds; flags override env vars override defaults. `--help` prints the table. */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include <stdio.h>

typedef struct ps_config {
  char listen[256];           /* host:port to serve gRPC on */
  char mysql_host[256];       /* MySQL host (TCP); "localhost" would mean the default socket */
  int mysql_port;             /* MySQL TCP port */
  char mysql_socket[256];     /* MySQL unix socket; when set, host/port are not used */
  char mysql_user[128];
  char mysql_password[256];   /* secret: never printed or logged */
  char mysql_database[128];
  int mysql_timeout_s;        /* connect/read/write timeout of MySQL */
  char redis_host[256];
  int redis_port;             /* 0 disables Redis */
  int redis_timeout_ms;       /* connect/command timeout of Redis */
  int workers;                /* handler threads, each with its own MySQL + Redis connection */
  int queue;                  /* calls waiting for a worker before new ones are shed */
  int cq_threads;             /* transport threads (one completion queue each) */
  int grace_ms;               /* how long SIGTERM waits for in-flight calls before cancelling */
  int max_recv_bytes;         /* largest request message accepted */
  int health_interval_ms;     /* how often the database is probed for health */
  int idem_purge_interval_s;  /* how often expired request ids are deleted (0: never) */
  int startup_wait_s;         /* how long start-up waits for the database */
  char log_level[16];         /* debug, info, warn, error */
  char page_token_key[257];   /* secret: HMAC key of page tokens, the same on every replica; "" = development key */
} ps_config_t;

/* Fills cfg from defaults, then the environment, then argv. Returns 0 to go on, 1 when --help was
 * printed to out, -1 on a bad setting (a one-line message is written to err). */
int ps_config_load(ps_config_t *cfg, int argc, char **argv, FILE *out, FILE *err);

/* Writes the settings in effect, one line each, secrets masked. */
void ps_config_describe(const ps_config_t *cfg, char *buf, size_t bufsz);

#endif
