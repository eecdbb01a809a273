/*
 * cmd_hist: chat history's IRC side (IRCv3 draft/chathistory). Fan-out
 * hands it every PRIVMSG and NOTICE it delivered; CHATHISTORY reads them
 * back for members of a channel and for the two parties of a private
 * conversation; a JOIN replays the last lines to clients without
 * draft/chathistory when join_replay_lines says so. The store is
 * history.c's. Master only.
 */
#ifndef SHMCHAT_CMD_HIST_H
#define SHMCHAT_CMD_HIST_H

#include <stdint.h>

#include "cmd_row.h"

struct dir_chan;
struct dirsvc;
struct reply;
struct ring_rec;

extern const struct cmd_family cmd_hist;

/* the history as the configuration says (at start, and after a reload):
 * 0, or -ENOMEM with none kept (logged) */
int cmd_hist_setup(struct dirsvc *ds);
/* fan-out delivered rec to channel c, or (c NULL) to the client in slot to */
void cmd_hist_record(struct dirsvc *ds, const struct ring_rec *rec, const struct dir_chan *c,
    uint32_t to);
/* slot joined c: the last lines, for a client without draft/chathistory */
void cmd_hist_join_replay(struct dirsvc *ds, struct reply *r, const struct dir_chan *c,
    uint32_t slot);

#endif
