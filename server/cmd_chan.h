/* cmd_chan: the channel family: JOIN, PART, TOPIC, NAMES, LIST, MODE */
#ifndef SHMCHAT_CMD_CHAN_H
#define SHMCHAT_CMD_CHAN_H

#include "cmd_row.h"

extern const struct cmd_family cmd_chan;

#endif
