/* cmd_msg: the messaging family: PRIVMSG and NOTICE, and what the
 * master says to a sender whose message fan-out could not deliver */
#ifndef SHMCHAT_CMD_MSG_H
#define SHMCHAT_CMD_MSG_H

#include <stdint.h>

#include "cmd_row.h"

struct dirsvc;
struct ring_rec;

extern const struct cmd_family cmd_msg;

enum cmd_msg_outcome {
	CMD_MSG_NO_NICK,	/* 401: nobody has that nick */
	CMD_MSG_NO_CHANNEL,	/* 403: no such channel */
	CMD_MSG_CANNOT_SEND,	/* 404: the sender may not speak there */
	CMD_MSG_AWAY,		/* 301: delivered, and the recipient is away */
};

/* fan-out met this outcome for rec (a client's message with
 * RING_F_REPLY_ERRORS); to is the recipient's slot for CMD_MSG_AWAY */
void cmd_msg_report(struct dirsvc *ds, const struct ring_rec *rec,
    enum cmd_msg_outcome what, uint32_t to);

#endif
