/* cmd_query: the query family: WHO, WHOIS, LUSERS, MOTD, AWAY, ISON,
 * USERHOST, VERSION, TIME, WHOWAS, ADMIN, INFO */
#ifndef SHMCHAT_CMD_QUERY_H
#define SHMCHAT_CMD_QUERY_H

#include "cmd_row.h"

struct dirsvc;
struct reply;

extern const struct cmd_family cmd_query;

/* the LUSERS, MOTD and ISUPPORT (005, also after VERSION) replies, also
 * part of the welcome */
void cmd_query_lusers(struct dirsvc *ds, struct reply *r);
void cmd_query_motd(struct dirsvc *ds, struct reply *r);
void cmd_query_isupport(struct dirsvc *ds, struct reply *r);

#endif
