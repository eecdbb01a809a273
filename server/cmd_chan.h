/* cmd_chan: the channel family: JOIN, PART, TOPIC, NAMES, LIST, MODE, KICK, INVITE */
#ifndef SHMCHAT_CMD_CHAN_H
#define SHMCHAT_CMD_CHAN_H

#include "cmd_row.h"

extern const struct cmd_family cmd_chan;

struct chanmode_applied;
struct dir_chan;
struct dirsvc;

/* tell c's members what changed, as applied by slot (the server when
 * slot is past the slots: shmchatctl) */
void cmd_chan_mode_echo(struct dirsvc *ds, const struct dir_chan *c, uint32_t slot,
    const struct chanmode_applied *applied, int n);

#endif
