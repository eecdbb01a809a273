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
/* worker: what CAP LS offers (the settings' set, sts when it has a value) */
uint32_t cmd_conn_caps_offered(const struct worker *w);
/* worker: its capabilities changed from was (CAP REQ, a reload): the
 * input takes tags, the master learns the new set */
void cmd_conn_caps_changed(struct worker *w, uint32_t was);
/* worker: new settings came; what was offered before: CAP NEW and CAP
 * DEL (cap-notify), and what is gone is off */
void cmd_conn_caps_reloaded(struct worker *w, uint32_t was_offered);
/* master: slot leaves (QUIT, or a KILL): its peers see QUIT :reason, it
 * leaves its channels and its nick is free at once */
void cmd_conn_quit(struct dirsvc *ds, uint32_t slot, const char *reason);

#endif
