/* Server configuration from one table (config.c): every setting has a flag, an env var, a default
 * and bounds; flags override env vars override defaults. `--help` prints the table. */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include <stdio.h>

typedef struct ps_config {
  char listen[256];           /* host:port to serve gRPC on */
  char health_listen[256];    /* host:port of a plaintext server for grpc.health.v1 only ("": none) */
  char metrics_listen[256];   /* host:port of the Prometheus /metrics endpoint ("": none) */
  char mysql_host[256];       /* MySQL host (TCP); "localhost" would mean the default socket */
  int mysql_port;             /* MySQL TCP port */
  char mysql_socket[256];     /* MySQL unix socket; when set, host/port/hosts are not used */
  char mysql_hosts[1024];     /* "host:port,host:port" (e.g. Galera nodes); when set, host/port are not used */
  int mysql_galera_sync_wait; /* on Galera: 1 = write transactions wait for causality (wsrep_sync_wait), 2 = reads too */
  char mysql_user[128];
  char mysql_password[256];   /* secret: never printed or logged */
  char mysql_database[128];
  int mysql_timeout_s;        /* connect/read/write timeout of MySQL */
  char mysql_tls[16];         /* "off" or "verify" (TLS, server certificate checked) */
  char mysql_tls_ca[256];     /* CA bundle that signed the database's certificate */
  char mysql_tls_cert[256];   /* client certificate (optional) */
  char mysql_tls_key[256];    /* its private key */
  char redis_host[256];
  int redis_port;             /* 0 disables Redis */
  int redis_timeout_ms;       /* connect/command timeout of Redis */
  char redis_user[128];       /* ACL user ("" with a password: the default user) */
  char redis_password[256];   /* secret: AUTH password ("": no AUTH) */
  char cache_mac_key[257];    /* secret: HMAC key of cached values; "" = derived from the page-token key */
  int workers;                /* handler threads, each with its own MySQL + Redis connection */
  int read_workers;           /* of which at most this many run coalescable reads at once */
  int queue;                  /* calls waiting for a worker before new ones are shed */
  int cq_threads;             /* transport threads (one completion queue each) */
  int grace_ms;               /* how long SIGTERM waits for in-flight calls before cancelling */
  int drain_delay_ms;         /* after SIGTERM, how long calls are still taken while NOT_SERVING */
  int max_recv_bytes;         /* largest request message accepted (gRPC's limit, all methods) */
  int call_memory_mb;         /* memory budget of one call's arena */
  int max_reply_bytes;        /* pages of List methods stop before their reply passes this */
  int max_pending_replies_mb; /* replies not yet read by their clients before new calls are shed */
  int max_streams;            /* HTTP/2 concurrent streams per connection */
  int max_watchers;           /* open health Watch streams, all connections together */
  int export_streams;         /* server-streaming calls (exports) at once */
  int keepalive_s;            /* server pings an idle connection after this long */
  int keepalive_timeout_s;    /* and closes it when the ping is not answered within this */
  int min_ping_interval_s;    /* client pings more often than this are a strike (2: goaway) */
  int max_idle_s;             /* a connection without calls for this long is closed (0: never) */
  int max_age_s;              /* a connection older than this is asked to go away (0: never) */
  int max_age_grace_s;        /* calls of such a connection get this long to finish */
  int grpc_memory_mb;         /* memory gRPC may use for buffers, all connections together */
  char tls_cert[256];         /* server certificate chain (PEM file) */
  char tls_key[256];          /* its private key (PEM file) */
  char tls_client_ca[256];    /* CA bundle that client certificates are verified against */
  int tls_reload_s;           /* how often the certificate files are checked for changes */
  int plaintext;              /* 1: serve without TLS (development, or a trusted local proxy) */
  char authz_policy[256];     /* authorization policy file (gRPC authorization policy JSON) */
  int authz_reload_s;         /* how often the policy file is checked for changes */
  int development;            /* 1: built-in keys are allowed (never in production) */
  int health_interval_ms;     /* how often the database is probed for health */
  int idem_purge_interval_s;  /* how often expired request ids are deleted (0: never) */
  int startup_wait_s;         /* how long start-up waits for the database */
  int reindex;                /* 1: work on the background reindex when no other server does */
  int reindex_batch;          /* rows per reindex batch (one transaction) */
  int reindex_pause_ms;       /* pause after each reindex batch */
  int reindex_check_s;        /* how often the reindex's progress is read and a busy job tried */
  int index_queue;            /* threads draining the queue of imported records' word index (indexer.h) */
  char log_level[16];         /* debug, info, warn, error */
  char log_level_file[256];   /* a file holding the level, reread on SIGHUP and when it changes */
  char log_format[16];        /* text or json */
  char page_token_key[257];   /* secret: HMAC key of page tokens, the same on every replica; "" = development key */
} ps_config_t;

/* Fills cfg from defaults, then the environment, then argv. Every secret can also come from a file:
 * PS_X_FILE (or --x-file) names a file whose content (one trailing newline removed) is the value.
 * Returns 0 to go on, 1 when --help was printed to out, -1 on a bad setting (a one-line message is
 * written to err). */
int ps_config_load(ps_config_t *cfg, int argc, char **argv, FILE *out, FILE *err);

/* Writes the settings in effect, one line each, secrets masked. */
void ps_config_describe(const ps_config_t *cfg, char *buf, size_t bufsz);

#endif
