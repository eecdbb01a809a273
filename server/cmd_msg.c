/* cmd_msg: PRIVMSG and NOTICE, published by the worker, judged at fan-out */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cap.h"
#include "clock.h"
#include "cmd_msg.h"
#include "dirsvc.h"
#include "irc.h"
#include "irctags.h"
#include "worker_io.h"

#define MSG_TARGETS_MAX	8

/*
 * The server's stamp, the client-only tags of the client's line (only from
 * a client that negotiated message-tags) and the line itself, formatted
 * once for every recipient: each worker keeps of the tags what its own
 * client asked for (worker_io.c). Returns the length, 0 when it does not
 * fit out.
 */
static size_t
msg_format(struct worker *w, const struct irc_msg *m, char *out, size_t cap,
    const char *target, const char *text)
{
	char id[IRCTAGS_MSGID_LEN + 1];
	int64_t ms = clock_realtime_ms();
	size_t n = IRCTAGS_STAMP_LEN;
	int ct;

	irctags_msgid_next(&w->msgid, ms, id);
	irctags_stamp(out, ms, id);
	if (m->tags != NULL && (w->caps & CAP_MESSAGE_TAGS) && cap > n + 1 &&
	    (ct = irctags_client_only(out + n + 1, cap - n - 1, m->tags, strlen(m->tags))) > 0) {
		out[n] = ';';
		n += 1 + ct;
	}
	if (cap < n + 2 + IRC_MAXLINE)
		return 0;
	out[n++] = ' ';
	if (text != NULL)
		n += irc_fmt(out + n, cap - n, ":%s!%s@%s %s %s :%s", w->nick, w->user, w->host,
		    m->command, target, text);
	else
		n += irc_fmt(out + n, cap - n, ":%s!%s@%s %s %s", w->nick, w->user, w->host,
		    m->command, target);
	/* the first of the labelled line's messages (one per target) */
	if (w->label_wanted && w->label_msgid[0] == '\0')
		memcpy(w->label_msgid, id, sizeof id);
	return n;
}

/*
 * The worker publishes: whether the sender may speak in a channel, and
 * whether a nick exists, is decided at fan-out against the directory, in
 * the ring's order (cmd_msg_report answers the sender when not). TAGMSG
 * reaches only clients that negotiated message-tags.
 */
static enum cmd_result
w_message(struct worker *w, const struct irc_msg *m)
{
	bool notice = strcmp(m->command, "NOTICE") == 0;
	bool tagmsg = strcmp(m->command, "TAGMSG") == 0;
	char targets[IRC_MAXLINE], *tv[MSG_TARGETS_MAX], *save = NULL;
	char small[IRCTAGS_STAMP_LEN + 2 + IRC_MAXLINE], *line = small;
	size_t cap = sizeof small;
	enum cmd_result rc = CMD_DONE;
	int nt = 0;

	if (m->nparams < 1 || m->params[0][0] == '\0' ||
	    (!tagmsg && (m->nparams < 2 || m->params[1][0] == '\0'))) {
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
	if (m->tags != NULL && (w->caps & CAP_MESSAGE_TAGS) && strchr(m->tags, '+') != NULL) {
		/* client-only tags: up to IRCTAGS_CLIENT_MAX bytes, on the heap
		 * for the few lines that carry them */
		cap = IRCTAGS_STAMP_LEN + IRCTAGS_CLIENT_MAX + 3 + IRC_MAXLINE;
		if ((line = malloc(cap)) == NULL) {
			line = small;
			cap = sizeof small;
		}
	}
	if (!tagmsg)
		worker_mark_active(w);
	for (int i = 0; i < nt; i++) {
		struct ring_target t = {
			.kind = tv[i][0] == '#' ? RING_MSG_CHAN : RING_TO_NICK,
			.flags = (notice ? 0 : RING_F_REPLY_ERRORS) | RING_F_TAGGED,
			.extra = tv[i], .extra_len = strlen(tv[i]),
			.cap_need = tagmsg ? CAP_MESSAGE_TAGS : 0,
		};
		if (t.kind == RING_MSG_CHAN && !(w->caps & CAP_ECHO_MESSAGE))
			t.flags |= RING_F_EXCLUDE_ORIGIN;
		else if (t.kind == RING_TO_NICK && (w->caps & CAP_ECHO_MESSAGE))
			t.flags |= RING_F_ECHO;
		size_t len = msg_format(w, m, line, cap, tv[i], tagmsg ? NULL : m->params[1]);
		if (len > 0 && worker_publish(w, &t, line, len) == -EAGAIN) {
			rc = CMD_RETRY;
			break;
		}
	}
	if (line != small)
		free(line);
	return rc;
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
	{ .name = "TAGMSG", .flags = CMD_REGISTERED | CMD_PUBLISHES, .max_params = 1,
	  .worker = w_message },
};

CMD_FAMILY(cmd_msg, "messages", msg_rows);
