/* cmd_conn: the connection family: registration (PASS, NICK, USER, CAP,
 * AUTHENTICATE), PING, PONG, QUIT, and the internal REGISTER and SYNC requests */
#ifndef SHMCHAT_CMD_CONN_H
#define SHMCHAT_CMD_CONN_H

#include <stdbool.h>

#include "cmd_row.h"

struct worker;

extern const struct cmd_family cmd_conn;

/* worker: a NICK before registration that waits for its USER is reserved
 * now (the client paused, or sent another command): true if it was */
bool cmd_conn_nick_flush(struct worker *w);

#endif
