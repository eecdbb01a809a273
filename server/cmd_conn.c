/* cmd_conn: registration, PING/PONG, NICK and QUIT, both halves */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cap.h"
#include "chanmode.h"
#include "cmd_conn.h"
#include "cmd_query.h"
#include "conf.h"
#include "dirsvc.h"
#include "irc.h"
#include "log.h"
#include "worker_io.h"

/* --------------------------------------------------------- registration */

/*
 * Before registration a NICK is only remembered (nick_want): the USER that
 * nearly always follows in the same packet then reserves the nick and
 * registers in one request, a round trip to the master less per
 * connection. A NICK on its own is sent for reservation as soon as the
 * client pauses (cmd_conn_nick_flush), so a taken nick still gets its 433
 * at once.
 */
static void
conn_try_register(struct worker *w)
{
	const char *nick = w->nick_want[0] != '\0' ? w->nick_want : w->nick;

	if (w->registered || w->registering || nick[0] == '\0' || !w->got_user ||
	    w->cap_negotiating)
		return;
	if (w->set.password[0] != '\0' &&
	    (!w->got_pass || strcmp(w->pass, w->set.password) != 0)) {
		RPL(&w->rpl, ERR_PASSWDMISMATCH);
		worker_close(w, "Bad Password", false);
		return;
	}
	const char *args[3] = { nick, w->user, w->realname };
	w->registering = true;
	worker_request(w, "REGISTER", args, 3);
	w->nick_want[0] = '\0';
}

bool
cmd_conn_nick_flush(struct worker *w)
{
	if (w->nick_want[0] == '\0' || w->registered || w->registering)
		return false;
	const char *args[1] = { w->nick_want };
	worker_request(w, "NICK", args, 1);
	w->nick_want[0] = '\0';
	return true;
}

static enum cmd_result
w_pass(struct worker *w, const struct irc_msg *m)
{
	if (w->registered || w->registering) {
		RPL(&w->rpl, ERR_ALREADYREGISTERED);
		return CMD_DONE;
	}
	snprintf(w->pass, sizeof w->pass, "%s", m->params[0]);
	w->got_pass = true;
	return CMD_DONE;
}

static enum cmd_result
w_nick(struct worker *w, const struct irc_msg *m)
{
	const char *nick = m->nparams > 0 ? m->params[0] : "";

	if (nick[0] == '\0') {
		RPL(&w->rpl, ERR_NONICKNAMEGIVEN);
		return CMD_DONE;
	}
	if (!irc_nick_valid(nick, w->set.nick_len)) {
		RPL(&w->rpl, ERR_ERRONEUSNICKNAME, nick);
		return CMD_DONE;
	}
	if (w->registering)
		return CMD_DONE;
	if (!w->registered) {
		if (strcmp(nick, w->nick) == 0)
			w->nick_want[0] = '\0';	/* already ours */
		else
			snprintf(w->nick_want, sizeof w->nick_want, "%s", nick);
		conn_try_register(w);
		return CMD_DONE;
	}
	if (strcmp(nick, w->nick) == 0)
		return CMD_DONE;
	const char *args[1] = { nick };
	worker_request(w, "NICK", args, 1);
	return CMD_DONE;
}

static void
w_nick_answered(struct worker *w, int status)
{
	(void)status;
	if (!w->registered)
		conn_try_register(w);	/* the nick is ours now, or USER came meanwhile */
}

static enum cmd_result
w_user(struct worker *w, const struct irc_msg *m)
{
	if (w->registered || w->got_user) {
		RPL(&w->rpl, ERR_ALREADYREGISTERED);
		return CMD_DONE;
	}
	/* an empty user name or real name is a missing one (USER a 0 * :) */
	if (m->params[0][0] == '\0' || m->params[3][0] == '\0') {
		RPL(&w->rpl, ERR_NEEDMOREPARAMS, m->command);
		return CMD_DONE;
	}
	/* user names end up in nick!user@host: keep them to safe bytes */
	size_t n = 0;
	for (const char *p = m->params[0]; *p && n < IRC_USER_MAX - 1; p++)
		if ((unsigned char)*p > ' ' && *p != '@' && *p != '!' && *p != ':')
			w->user[n++] = *p;
	w->user[n] = '\0';
	if (n == 0)
		snprintf(w->user, sizeof w->user, "user");
	snprintf(w->realname, sizeof w->realname, "%s", m->params[3]);
	w->realname[irc_utf8_cut(w->realname, strlen(w->realname))] = '\0';
	w->got_user = true;
	conn_try_register(w);
	return CMD_DONE;
}

static void
w_register_answered(struct worker *w, int status)
{
	w->registering = false;
	if (status == CMD_OK)
		w->registered = true;	/* the nick came as an event before this */
}

/* the sts value: on a plain connection the TLS port to upgrade to, on a
 * TLS one the persistence policy; NULL when none is advertised */
static const char *
conn_sts(const struct worker *w, char *buf, size_t size)
{
	if (w->set.sts_duration <= 0)
		return NULL;
	if (w->tls)
		snprintf(buf, size, "duration=%d", (int)w->set.sts_duration);
	else
		snprintf(buf, size, "port=%d,duration=%d", (int)w->set.sts_port,
		    (int)w->set.sts_duration);
	return buf;
}

uint32_t
cmd_conn_caps_offered(const struct worker *w)
{
	return (w->set.caps_offered & ~CAP_STS) | (w->set.sts_duration > 0 ? CAP_STS : 0);
}

/* the master formats and delivers by the client's capabilities too */
static void
conn_caps_tell_master(struct worker *w)
{
	char hex[16];
	const char *args[1] = { hex };

	snprintf(hex, sizeof hex, "%x", w->caps);
	worker_request(w, "CAPS", args, 1);
}

void
cmd_conn_caps_changed(struct worker *w, uint32_t was)
{
	if ((w->caps & CAP_MESSAGE_TAGS) && !(was & CAP_MESSAGE_TAGS))
		worker_input_tags(w);
	/* cap-notify is the worker's alone */
	if ((w->caps ^ was) & ~CAP_CAP_NOTIFY)
		conn_caps_tell_master(w);
}

static enum cmd_result
w_cap(struct worker *w, const struct irc_msg *m)
{
	const char *sub = m->params[0];
	const char *who = w->nick[0] ? w->nick : "*";
	const char *server = w->set.server_name;
	char sts[64], names[512];

	if (strcasecmp(sub, "LS") == 0) {
		int version = m->nparams > 1 ? atoi(m->params[1]) : 0;
		if (!w->registered)
			w->cap_negotiating = true;
		if (version >= 302 && !w->cap_302) {
			/* 302 turns cap-notify on, for good */
			w->cap_302 = true;
			w->caps |= CAP_CAP_NOTIFY;
		}
		cap_ls(&w->rpl, server, who, "LS", cmd_conn_caps_offered(w), version,
		    conn_sts(w, sts, sizeof sts));
	} else if (strcasecmp(sub, "LIST") == 0) {
		cap_names(names, sizeof names, w->caps);
		reply_line(&w->rpl, ":%s CAP %s LIST :%s", server, who, names);
	} else if (strcasecmp(sub, "REQ") == 0) {
		const char *list = m->nparams > 1 ? m->params[1] : "";
		uint32_t caps, was = w->caps;
		if (!w->registered)
			w->cap_negotiating = true;
		if (!cap_req(list, cmd_conn_caps_offered(w), w->caps, &caps)) {
			reply_line(&w->rpl, ":%s CAP %s NAK :%s", server, who, list);
			return CMD_DONE;
		}
		/* cap-notify stays on once 302 turned it on: no ACK for what
		 * is not done */
		if (w->cap_302 && !(caps & CAP_CAP_NOTIFY)) {
			reply_line(&w->rpl, ":%s CAP %s NAK :%s", server, who, list);
			return CMD_DONE;
		}
		reply_line(&w->rpl, ":%s CAP %s ACK :%s", server, who, list);
		w->caps = caps;
		if (caps != was)
			cmd_conn_caps_changed(w, was);
	} else if (strcasecmp(sub, "END") == 0) {
		w->cap_negotiating = false;
		conn_try_register(w);
	} else
		RPL(&w->rpl, ERR_INVALIDCAPCMD, sub);
	return CMD_DONE;
}

void
cmd_conn_caps_reloaded(struct worker *w, uint32_t was_offered)
{
	uint32_t now = cmd_conn_caps_offered(w), gone = was_offered & ~now,
	    added = now & ~was_offered, was = w->caps;
	const char *who = w->nick[0] ? w->nick : "*";
	char sts[64];

	if (w->caps & CAP_CAP_NOTIFY) {
		if (added)
			cap_ls(&w->rpl, w->set.server_name, who, "NEW", added, 302,
			    conn_sts(w, sts, sizeof sts));
		if (gone)
			cap_ls(&w->rpl, w->set.server_name, who, "DEL", gone, 0, NULL);
	}
	w->caps &= ~gone;
	if (w->caps != was)
		cmd_conn_caps_changed(w, was);
}

/*
 * SASL is not offered (CAP LS lists no sasl, CAP REQ sasl is refused), yet
 * clients set up for it may send AUTHENTICATE anyway: 904 tells them it
 * failed, as IRCv3 does, and they go on (CAP END) to register without it.
 */
static enum cmd_result
w_authenticate(struct worker *w, const struct irc_msg *m)
{
	(void)m;
	RPL(&w->rpl, ERR_SASLFAIL);
	return CMD_DONE;
}

static enum cmd_result
w_ping(struct worker *w, const struct irc_msg *m)
{
	if (m->nparams < 1 || m->params[0][0] == '\0') {
		RPL(&w->rpl, ERR_NOORIGIN);
		return CMD_DONE;
	}
	reply_line(&w->rpl, ":%s PONG %s :%s", w->set.server_name, w->set.server_name,
	    m->params[0]);
	return CMD_DONE;
}

static enum cmd_result
w_pong(struct worker *w, const struct irc_msg *m)
{
	(void)w;
	(void)m;
	return CMD_DONE;	/* any line resets the idle timer already */
}

static enum cmd_result
w_quit(struct worker *w, const struct irc_msg *m)
{
	char reason[IRC_MAXLINE];

	if (m->nparams > 0 && m->params[0][0] != '\0')
		snprintf(reason, sizeof reason, "Quit: %s", m->params[0]);
	else
		snprintf(reason, sizeof reason, "Quit: %s", w->nick[0] ? w->nick : "leaving");
	reason[irc_utf8_cut(reason, strlen(reason))] = '\0';
	worker_close(w, reason, true);
	return CMD_DONE;
}

/* ----------------------------------------------------------- master side */

static int
m_register(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const struct conf *cfg = ds->cfg;
	struct dir_user *u = &ds->dir.users[q->slot];

	if (u->state != DIR_CONNECTED)
		return CMD_BAD_REQUEST;
	if (dir_nick_set(&ds->dir, q->slot, q->args[0]) < 0) {
		RPL(r, ERR_NICKNAMEINUSE, q->args[0]);
		return CMD_FAILED;
	}
	snprintf(u->user, sizeof u->user, "%s", q->args[1]);
	snprintf(u->realname, sizeof u->realname, "%s", q->args[2]);
	dir_set_state(&ds->dir, q->slot, DIR_REGISTERED);
	/* its worker learns the nick with the welcome */
	dirsvc_reply_nick_event(ds, (struct dirsvc_reply *)r, q->slot);
	r->nick = u->nick;

	RPL(r, RPL_WELCOME, cfg->network, u->nick, u->user, u->host);
	RPL(r, RPL_YOURHOST, cfg->server_name, "shmchat-" PACKAGE_VERSION);
	RPL(r, RPL_CREATED, ds->created);
	RPL(r, RPL_MYINFO, cfg->server_name, "shmchat-" PACKAGE_VERSION, SHMCHAT_USERMODES,
	    CHANMODE_LETTERS, CHANMODE_WITH_PARAM);
	cmd_query_isupport(ds, r);
	cmd_query_lusers(ds, r);
	cmd_query_motd(ds, r);
	log_info("%s!%s@%s registered (slot %u)", u->nick, u->user, u->host, q->slot);
	return CMD_OK;
}

/* a banned member without voice or op keeps its nick, as the big servers
 * do: otherwise a nick change would dodge a ban on the nick */
static bool
conn_nick_change_allowed(struct dirsvc *ds, struct reply *r, uint32_t slot, const char *old,
    const char *nick)
{
	const struct dir_user *u = &ds->dir.users[slot];
	char nuh[IRC_MASK_MAX + 1];

	snprintf(nuh, sizeof nuh, "%s!%s@%s", nick, u->user, u->host);
	for (uint32_t i = 0; i < u->nchans; i++) {
		const struct dir_chan *c = dir_chan_get(&ds->dir, u->chans[i]);
		const struct dir_member *m;
		if (c == NULL || c->lists[DIR_LIST_BAN].n == 0 ||
		    (m = dir_member_get(c, slot)) == NULL ||
		    (m->flags & (DIR_MEMBER_OP | DIR_MEMBER_VOICE)))
			continue;
		if (chanmode_banned(c, old) || chanmode_banned(c, nuh)) {
			RPL(r, ERR_BANNICKCHANGE, nick, c->name);
			return false;
		}
	}
	return true;
}

static int
m_nick(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	char old[256], line[IRC_MAXLINE + 1];

	if (strcmp(u->nick, q->args[0]) == 0)
		return CMD_OK;
	dirsvc_prefix(u, old, sizeof old);
	if (u->state == DIR_REGISTERED && !conn_nick_change_allowed(ds, r, q->slot, old,
	    q->args[0]))
		return CMD_FAILED;
	if (dir_nick_set(&ds->dir, q->slot, q->args[0]) < 0) {
		RPL(r, ERR_NICKNAMEINUSE, q->args[0]);
		return CMD_FAILED;
	}
	if (u->state != DIR_REGISTERED) {
		/* before registration a nick is only reserved: nobody else to tell */
		dirsvc_reply_nick_event(ds, (struct dirsvc_reply *)r, q->slot);
		return CMD_OK;
	}
	struct {
		struct ring_event ev;
		char nick[IRC_NICK_MAX];
	} e = { .ev = { .type = RING_EV_NICK, .slot = q->slot, .gen = u->gen,
	    .len = strlen(u->nick) } };
	memcpy(e.nick, u->nick, e.ev.len);
	size_t len = irc_fmt(line, sizeof line, ":%s NICK :%s", old, u->nick);
	dirsvc_emit_peers(ds, q->slot, true, 0, &e.ev, line, len);
	r->nick = u->nick;
	return CMD_OK;
}

void
cmd_conn_quit(struct dirsvc *ds, uint32_t slot, const char *reason)
{
	struct dir_user *u = &ds->dir.users[slot];
	char pfx[256], line[IRC_MAXLINE + 1];
	size_t len;

	if (u->state != DIR_REGISTERED)
		return;
	dirsvc_prefix(u, pfx, sizeof pfx);
	len = irc_fmt(line, sizeof line, ":%s QUIT :%s", pfx, reason);
	dirsvc_emit_peers(ds, slot, false, 0, NULL, line, len);
	while (u->nchans > 0)
		if (dir_part(&ds->dir, slot, u->chans[u->nchans - 1]) < 0)
			u->nchans--;	/* inconsistent entry: drop it, never loop */
	dir_nick_clear(&ds->dir, slot);	/* free for the next client at once */
	dir_set_state(&ds->dir, slot, DIR_QUITTING);
	log_info("%s quit (%s)", pfx, reason);
}

/* a client leaves: by its QUIT, or the master's (its worker died, a kick) */
static int
m_quit(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	(void)r;
	cmd_conn_quit(ds, q->slot, q->nargs > 0 ? q->args[0] : "Client Quit");
	return CMD_OK;
}

/* the client's capabilities, which its worker negotiated (hex) */
static int
m_caps(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	char *end;
	unsigned long caps = strtoul(q->args[0], &end, 16);

	(void)r;
	if (*end != '\0' || caps > UINT32_MAX)
		return CMD_BAD_REQUEST;
	ds->dir.users[q->slot].caps = (uint32_t)caps & (CAP_ALWAYS | CAP_CHATHISTORY);
	return CMD_OK;
}

/* nothing to do: the answer itself is the point (cmd.c, cmd_sync) */
static int
m_sync(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	(void)ds;
	(void)r;
	(void)q;
	return CMD_OK;
}

static const struct cmd_row conn_rows[] = {
	{ .name = "PASS", .flags = CMD_REGISTRATION, .min_params = 1, .max_params = 1,
	  .worker = w_pass },
	{ .name = "NICK", .flags = CMD_REGISTRATION | CMD_REPLICATE, .max_params = 1, .worker = w_nick,
	  .master = m_nick, .min_args = 1, .max_args = 1, .answered = w_nick_answered },
	{ .name = "USER", .flags = CMD_REGISTRATION, .min_params = 4, .max_params = 4,
	  .worker = w_user },
	{ .name = "CAP", .flags = CMD_REGISTRATION, .min_params = 1, .max_params = 2,
	  .worker = w_cap },
	{ .name = "AUTHENTICATE", .flags = CMD_REGISTRATION, .min_params = 1, .max_params = 1,
	  .worker = w_authenticate },
	{ .name = "PING", .max_params = 2, .worker = w_ping },
	{ .name = "PONG", .max_params = 2, .worker = w_pong },
	{ .name = "QUIT", .flags = CMD_NO_ANSWER | CMD_REPLICATE, .max_params = 1, .worker = w_quit,
	  .master = m_quit, .min_args = 0, .max_args = 1 },
	{ .name = "REGISTER", .flags = CMD_INTERNAL | CMD_REPLICATE,
	  .master = m_register, .min_args = 3, .max_args = 3,
	  .answered = w_register_answered },
	{ .name = "SYNC", .flags = CMD_INTERNAL, .master = m_sync },
	{ .name = "CAPS", .flags = CMD_INTERNAL, .master = m_caps, .min_args = 1, .max_args = 1 },
};

CMD_FAMILY(cmd_conn, "connection", conn_rows);
