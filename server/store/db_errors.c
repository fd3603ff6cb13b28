/* The classes of MySQL client and server errors (pure; see store/db.h): which status a caller gets,
 * which ones mean the connection is gone, and which failed transactions ps_db_tx runs again. */
#include "store/db.h"

#include <errmsg.h>
#include <mysqld_error.h>

int ps_db_errno_drops_connection(unsigned err) {
  switch (err) {
  case CR_SOCKET_CREATE_ERROR: case CR_CONNECTION_ERROR: case CR_CONN_HOST_ERROR:
  case CR_IPSOCK_ERROR: case CR_UNKNOWN_HOST: case CR_SERVER_GONE_ERROR: case CR_SERVER_LOST:
  case CR_COMMANDS_OUT_OF_SYNC: case CR_SSL_CONNECTION_ERROR: case CR_SERVER_LOST_EXTENDED:
  case ER_CON_COUNT_ERROR: case ER_SERVER_SHUTDOWN: case ER_CONNECTION_KILLED:
  case ER_UNKNOWN_STMT_HANDLER:
  case ER_UNKNOWN_COM_ERROR: /* Galera: node not ready (joining, or without quorum) */
    return 1;
  default:
    return 0;
  }
}

int ps_db_errno_retryable(unsigned err) {
  return err == ER_LOCK_DEADLOCK || err == ER_LOCK_WAIT_TIMEOUT || err == ER_UNKNOWN_COM_ERROR;
}

int ps_db_tx_retryable(unsigned err, int at_commit, int failover) {
  if (ps_db_errno_retryable(err)) return 1;
  /* lost before COMMIT was sent: the server rolls the transaction back with the connection */
  return failover && !at_commit && ps_db_errno_drops_connection(err) &&
         ps_db_code_for_errno(err) == PS_UNAVAILABLE;
}

ps_code_t ps_db_code_for_errno(unsigned err) {
  switch (err) {
  case ER_DUP_ENTRY: case ER_DUP_ENTRY_WITH_KEY_NAME: case ER_DUP_KEY:
    return PS_ALREADY_EXISTS;
  case ER_LOCK_DEADLOCK: case ER_LOCK_WAIT_TIMEOUT: case ER_CHECKREAD:
    return PS_ABORTED;
  case ER_STATEMENT_TIMEOUT:
    return PS_DEADLINE_EXCEEDED;
  case ER_OPTION_PREVENTS_STATEMENT: /* --read-only: a primary being failed over */
  case ER_READ_ONLY_MODE:
  case ER_UNKNOWN_COM_ERROR: /* Galera: "WSREP has not yet prepared node for application use" */
    return PS_UNAVAILABLE;
  case ER_RECORD_FILE_FULL: case ER_DISK_FULL: /* out of space: writes fail, reads go on */
    return PS_RESOURCE_EXHAUSTED;
  case CR_COMMANDS_OUT_OF_SYNC: case ER_UNKNOWN_STMT_HANDLER:
    return PS_INTERNAL; /* our bug; the connection is replaced all the same */
  default:
    return ps_db_errno_drops_connection(err) ? PS_UNAVAILABLE : PS_INTERNAL;
  }
}
