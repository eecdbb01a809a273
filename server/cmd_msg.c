/* cmd_msg: PRIVMSG and NOTICE, published by the worker, judged at fan-out */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd_msg.h"
#include "dirsvc.h"
#include "irc.h"
#include "worker_io.h"

#define MSG_TARGETS_MAX	8

/*
 * The worker publishes: whether the sender may speak in a channel, and
 * whether a nick exists, is decided at fan-out against the directory, in
 * the ring's order (cmd_msg_report answers the sender when not).
 */
static enum cmd_result
w_message(struct worker *w, const struct irc_msg *m)
{
	bool notice = strcmp(m->command, "NOTICE") == 0;
	char targets[IRC_MAXLINE], *tv[MSG_TARGETS_MAX], line[IRC_MAXLINE + 1], *save = NULL;
	int nt = 0;

	if (m->nparams < 1 || m->params[0][0] == '\0' || m->nparams < 2 ||
	    m->params[1][0] == '\0') {
		if (notice)
			return CMD_DONE;	/* NOTICE is never answered */
		if (w->unconfirmed)
			return CMD_SYNC;	/* our own reply may not come first */
		if (m->nparams < 1 || m->params[0][0] == '\0')
			RPL(&w->rpl, ERR_NORECIPIENT, m->command);
		else
			RPL(&w->rpl, ERR_NOTEXTTOSEND);
		return CMD_DONE;
	}
	snprintf(targets, sizeof targets, "%s", m->params[0]);
	for (char *tok = strtok_r(targets, ",", &save); tok != NULL && nt < MSG_TARGETS_MAX;
	    tok = strtok_r(NULL, ",", &save))
		tv[nt++] = tok;
	worker_mark_active(w);
	for (int i = 0; i < nt; i++) {
		struct ring_target t = {
			.kind = tv[i][0] == '#' ? RING_MSG_CHAN : RING_TO_NICK,
			.flags = notice ? 0 : RING_F_REPLY_ERRORS,
			.extra = tv[i], .extra_len = strlen(tv[i]),
		};
		if (t.kind == RING_MSG_CHAN)
			t.flags |= RING_F_EXCLUDE_ORIGIN;
		size_t len = irc_fmt(line, sizeof line, ":%s!%s@%s %s %s :%s", w->nick,
		    w->user, w->host, m->command, tv[i], m->params[1]);
		if (worker_publish(w, &t, line, len) == -EAGAIN)
			return CMD_RETRY;
	}
	return CMD_DONE;
}

void
cmd_msg_report(struct dirsvc *ds, const struct ring_rec *rec,
    enum cmd_msg_outcome what, uint32_t to)
{
	struct dir_user *from;
	struct dirsvc_reply dr;
	char target[IRC_MAXLINE];
	size_t len = ring_rec_target_len(rec);

	if (rec->owner >= ds->dir.nslots)
		return;
	from = &ds->dir.users[rec->owner];
	if (from->gen != rec->owner_gen || from->state != DIR_REGISTERED)
		return;		/* the sender is gone: nobody to tell */
	if (len >= sizeof target)
		len = sizeof target - 1;
	memcpy(target, ring_rec_extra(rec), len);
	target[len] = '\0';
	dirsvc_reply_init(ds, &dr, rec->owner);
	switch (what) {
	case CMD_MSG_NO_NICK:
		RPL(&dr.r, ERR_NOSUCHNICK, target);
		break;
	case CMD_MSG_NO_CHANNEL:
		RPL(&dr.r, ERR_NOSUCHCHANNEL, target);
		break;
	case CMD_MSG_CANNOT_SEND:
		RPL(&dr.r, ERR_CANNOTSENDTOCHAN, target);
		break;
	case CMD_MSG_AWAY:
		if (to < ds->dir.nslots && ds->dir.users[to].away != NULL)
			RPL(&dr.r, RPL_AWAY, ds->dir.users[to].nick, ds->dir.users[to].away);
		break;
	}
	dirsvc_reply_send(ds, &dr, rec->owner, rec->owner_gen, NULL);
}

static const struct cmd_row msg_rows[] = {
	{ .name = "PRIVMSG", .flags = CMD_REGISTERED | CMD_PUBLISHES, .max_params = 2,
	  .worker = w_message },
	{ .name = "NOTICE", .flags = CMD_REGISTERED | CMD_PUBLISHES, .max_params = 2,
	  .worker = w_message },
};

CMD_FAMILY(cmd_msg, "messages", msg_rows);
