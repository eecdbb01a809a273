/* cmd_conn: the connection family: registration (PASS, NICK, USER, CAP,
 * AUTHENTICATE), PING, PONG, QUIT, and the internal REGISTER and SYNC requests */
#ifndef SHMCHAT_CMD_CONN_H
#define SHMCHAT_CMD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd_row.h"

struct dirsvc;
struct worker;

extern const struct cmd_family cmd_conn;

/* worker: a NICK before registration that waits for its USER is reserved
 * now (the client paused, or sent another command): true if it was */
bool cmd_conn_nick_flush(struct worker *w);
/* master: slot leaves (QUIT, or a KILL): its peers see QUIT :reason, it
 * leaves its channels and its nick is free at once */
void cmd_conn_quit(struct dirsvc *ds, uint32_t slot, const char *reason);

#endif
