/* cmd_user: user modes and server operators (MODE nick, OPER, KILL, WALLOPS, REHASH) */
#ifndef SHMCHAT_CMD_USER_H
#define SHMCHAT_CMD_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd_row.h"

struct dirsvc;
struct reply;

extern const struct cmd_family cmd_user;

/* is slot a registered server operator (+o)? */
bool cmd_user_is_oper(const struct dirsvc *ds, uint32_t slot);
/* may slot act as a channel operator in any channel (an operator, and
 * oper_override is on)? */
bool cmd_user_oper_override(const struct dirsvc *ds, uint32_t slot);

/* "+iw": the user modes of slot, for 221 and shmchatctl */
void cmd_user_modestr(const struct dirsvc *ds, uint32_t slot, char *out, size_t cap);
/* the master half of MODE when its target is a nick (cmd_chan.c routes it) */
int cmd_user_mode(struct dirsvc *ds, struct reply *r, const struct cmd_req *q);

#endif
