/* cmd_conn: the connection family: registration (PASS, NICK, USER, CAP),
 * PING, PONG, QUIT, and the internal REGISTER and SYNC requests */
#ifndef SHMCHAT_CMD_CONN_H
#define SHMCHAT_CMD_CONN_H

#include "cmd_row.h"

struct worker;

extern const struct cmd_family cmd_conn;

/* worker: every line the client sent so far is handled: a lone NICK
 * before registration is reserved now (a taken nick gets its 433 at once) */
void cmd_conn_nick_flush(struct worker *w);

#endif
