/* PS_MYSQL_HOSTS: "host:port,host:port,..." into a ps_db_hosts_t (pure; see store/db.h). */
#include "store/db.h"

#include <ctype.h>
#include <string.h>

int ps_db_hosts_parse(const char *list, unsigned default_port, ps_db_hosts_t *ret) {
  ps_db_hosts_t tmp; /* filled, then copied: ret stays untouched on failure */
  ps_db_hosts_t *h = &tmp;
  h->n = 0;
  if (!list) return -1;
  const char *p = list;
  for (;;) {
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    while (p < end && isspace((unsigned char)*p)) p++;
    const char *e = end;
    while (e > p && isspace((unsigned char)e[-1])) e--;
    if (e == p || h->n >= PS_DB_MAX_HOSTS) return -1;
    const char *colon = memchr(p, ':', (size_t)(e - p));
    const char *name_end = colon ? colon : e;
    unsigned long port = default_port;
    if (colon) {
      if (colon + 1 == e || e - colon > 6) return -1;
      port = 0;
      for (const char *c = colon + 1; c < e; c++) {
        if (*c < '0' || *c > '9') return -1;
        port = port * 10 + (unsigned long)(*c - '0');
      }
    }
    size_t len = (size_t)(name_end - p);
    if (len == 0 || len >= sizeof h->h[0].name || port < 1 || port > 65535) return -1;
    if (memchr(p, ' ', len) || memchr(p, '\t', len)) return -1;
    memcpy(h->h[h->n].name, p, len);
    h->h[h->n].name[len] = '\0';
    h->h[h->n].port = (unsigned)port;
    h->n++;
    if (*end == '\0') break;
    p = end + 1;
  }
  *ret = *h;
  return 0;
}
