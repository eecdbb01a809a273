/* worker_cmd: table-driven IRC command handling inside a worker */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "irc.h"
#include "numeric.h"
#include "worker.h"
#include "worker_cmd.h"

#define MAX_TARGETS	8

struct worker_cmd {
	const char *name;
	int (*fn)(struct worker *, const struct irc_msg *);
	int min_params;
	int needs_reg;
};

static void
need_more(struct worker *w, const struct irc_msg *m)
{
	worker_num(w, ERR_NEEDMOREPARAMS, "%s :Not enough parameters", m->command);
}

/* split a comma list in place into at most max parts */
static int
split_commas(char *s, char **out, int max)
{
	int n = 0;

	for (char *tok = strtok(s, ","); tok != NULL && n < max; tok = strtok(NULL, ","))
		if (*tok != '\0')
			out[n++] = tok;
	return n;
}

/* --------------------------------------------------------- registration */

/*
 * Before registration a NICK is only remembered (nick_want): the USER that
 * nearly always follows in the same packet then reserves the nick and
 * registers in one request, a round trip to the master less per
 * connection. A NICK on its own is sent for reservation as soon as the
 * client pauses (worker_nick_reserve), so a taken nick still gets its 433
 * at once.
 */
void
worker_try_register(struct worker *w)
{
	const char *nick = w->nick_want[0] != '\0' ? w->nick_want : w->nick;

	if (w->registered || w->registering || nick[0] == '\0' || !w->got_user ||
	    w->cap_negotiating)
		return;
	if (w->set.password[0] != '\0' &&
	    (!w->got_pass || strcmp(w->pass, w->set.password) != 0)) {
		worker_num(w, ERR_PASSWDMISMATCH, ":Password incorrect");
		worker_close(w, "Bad Password", false);
		return;
	}
	const char *args[3] = { nick, w->user, w->realname };
	w->registering = true;
	worker_request(w, REQ_REGISTER, args, 3);
	w->nick_want[0] = '\0';
}

void
worker_nick_reserve(struct worker *w)
{
	if (w->nick_want[0] == '\0' || w->registered || w->registering)
		return;
	const char *args[1] = { w->nick_want };
	worker_request(w, REQ_NICK, args, 1);
	w->nick_want[0] = '\0';
}

static int
cmd_pass(struct worker *w, const struct irc_msg *m)
{
	if (w->registered || w->registering) {
		worker_num(w, ERR_ALREADYREGISTERED, ":You may not reregister");
		return 0;
	}
	snprintf(w->pass, sizeof w->pass, "%s", m->params[0]);
	w->got_pass = true;
	return 0;
}

static int
cmd_nick(struct worker *w, const struct irc_msg *m)
{
	const char *nick = m->nparams > 0 ? m->params[0] : "";

	if (nick[0] == '\0') {
		worker_num(w, ERR_NONICKNAMEGIVEN, ":No nickname given");
		return 0;
	}
	if (!irc_nick_valid(nick, w->set.nick_len)) {
		worker_num(w, ERR_ERRONEUSNICKNAME, "%s :Erroneous nickname", nick);
		return 0;
	}
	if (w->registering)
		return 0;
	if (!w->registered) {
		if (strcmp(nick, w->nick) == 0)
			w->nick_want[0] = '\0';	/* already ours */
		else
			snprintf(w->nick_want, sizeof w->nick_want, "%s", nick);
		worker_try_register(w);
		return 0;
	}
	if (strcmp(nick, w->nick) == 0)
		return 0;
	const char *args[1] = { nick };
	worker_request(w, REQ_NICK, args, 1);
	return 0;
}

static int
cmd_user(struct worker *w, const struct irc_msg *m)
{
	if (w->registered || w->got_user) {
		worker_num(w, ERR_ALREADYREGISTERED, ":You may not reregister");
		return 0;
	}
	if (m->params[0][0] == '\0') {
		need_more(w, m);
		return 0;
	}
	/* user names end up in nick!user@host: keep them to safe bytes */
	size_t n = 0;
	for (const char *p = m->params[0]; *p && n < DIR_USER_MAX - 1; p++)
		if ((unsigned char)*p > ' ' && *p != '@' && *p != '!' && *p != ':')
			w->user[n++] = *p;
	w->user[n] = '\0';
	if (n == 0)
		snprintf(w->user, sizeof w->user, "user");
	snprintf(w->realname, sizeof w->realname, "%s", m->params[3]);
	w->realname[irc_utf8_cut(w->realname, strlen(w->realname))] = '\0';
	w->got_user = true;
	worker_try_register(w);
	return 0;
}

static int
cmd_cap(struct worker *w, const struct irc_msg *m)
{
	const char *sub = m->params[0];
	const char *who = w->nick[0] ? w->nick : "*";
	char line[IRC_MAXLINE + 1];
	size_t n;

	if (strcasecmp(sub, "LS") == 0) {
		if (!w->registered)
			w->cap_negotiating = true;
		n = irc_fmt(line, sizeof line, ":%s CAP %s LS :", w->set.server_name, who);
	} else if (strcasecmp(sub, "LIST") == 0) {
		n = irc_fmt(line, sizeof line, ":%s CAP %s LIST :", w->set.server_name, who);
	} else if (strcasecmp(sub, "REQ") == 0) {
		if (!w->registered)
			w->cap_negotiating = true;
		/* no capabilities yet: refuse whatever was asked for */
		n = irc_fmt(line, sizeof line, ":%s CAP %s NAK :%s", w->set.server_name,
		    who, m->nparams > 1 ? m->params[1] : "");
	} else if (strcasecmp(sub, "END") == 0) {
		w->cap_negotiating = false;
		worker_try_register(w);
		return 0;
	} else {
		worker_num(w, "410", "%s :Invalid CAP command", sub);
		return 0;
	}
	worker_send(w, line, n);
	return 0;
}

static int
cmd_ping(struct worker *w, const struct irc_msg *m)
{
	char line[IRC_MAXLINE + 1];
	size_t n;

	if (m->nparams < 1 || m->params[0][0] == '\0') {
		worker_num(w, "409", ":No origin specified");
		return 0;
	}
	n = irc_fmt(line, sizeof line, ":%s PONG %s :%s", w->set.server_name,
	    w->set.server_name, m->params[0]);
	worker_send(w, line, n);
	return 0;
}

static int
cmd_pong(struct worker *w, const struct irc_msg *m)
{
	(void)w;
	(void)m;
	return 0;	/* any line resets the idle timer already */
}

static int
cmd_quit(struct worker *w, const struct irc_msg *m)
{
	char reason[IRC_MAXLINE];

	if (m->nparams > 0 && m->params[0][0] != '\0')
		snprintf(reason, sizeof reason, "Quit: %s", m->params[0]);
	else
		snprintf(reason, sizeof reason, "Quit: %s", w->nick[0] ? w->nick : "leaving");
	reason[irc_utf8_cut(reason, strlen(reason))] = '\0';
	worker_close(w, reason, true);
	return 0;
}

/* ------------------------------------------------------------- messages */

static int
cmd_message(struct worker *w, const struct irc_msg *m)
{
	bool notice = strcmp(m->command, "NOTICE") == 0;
	char targets[IRC_MAXLINE], *tv[MAX_TARGETS], line[IRC_MAXLINE + 1];
	int nt;

	if (m->nparams < 1 || m->params[0][0] == '\0') {
		if (!notice)
			worker_num(w, ERR_NORECIPIENT, ":No recipient given (%s)", m->command);
		return 0;
	}
	if (m->nparams < 2 || m->params[1][0] == '\0') {
		if (!notice)
			worker_num(w, ERR_NOTEXTTOSEND, ":No text to send");
		return 0;
	}
	snprintf(targets, sizeof targets, "%s", m->params[0]);
	nt = split_commas(targets, tv, MAX_TARGETS);
	worker_mark_active(w);
	for (int i = 0; i < nt; i++) {
		struct ring_target t = { 0 };
		size_t len;

		if (tv[i][0] == '#') {
			struct worker_chan *c = worker_chan_find(w, tv[i]);
			if (c == NULL) {
				if (!notice) {
					const char *args[1] = { tv[i] };
					worker_request(w, REQ_CANNOTSEND, args, 1);
				}
				continue;
			}
			t.kind = RING_TO_CHAN;
			t.id = c->id;
			t.gen = c->gen;
			t.flags = RING_F_EXCLUDE_ORIGIN;
			len = irc_fmt(line, sizeof line, ":%s!%s@%s %s %s :%s", w->nick,
			    w->user, w->host, m->command, c->name, m->params[1]);
		} else {
			if (!irc_nick_valid(tv[i], DIR_NICK_MAX)) {
				if (!notice)
					worker_num(w, ERR_NOSUCHNICK, "%s :No such nick/channel", tv[i]);
				continue;
			}
			t.kind = RING_TO_NICK;
			t.extra = tv[i];
			t.extra_len = strlen(tv[i]);
			t.flags = notice ? 0 : RING_F_REPLY_ERRORS;
			len = irc_fmt(line, sizeof line, ":%s!%s@%s %s %s :%s", w->nick,
			    w->user, w->host, m->command, tv[i], m->params[1]);
		}
		if (worker_publish(w, &t, line, len) == -EAGAIN)
			return -EAGAIN;
	}
	return 0;
}

/* --------------------------------------------------- directory requests */

static int
cmd_join(struct worker *w, const struct irc_msg *m)
{
	char list[IRC_MAXLINE], *cv[WORKER_REQQ];
	int n;

	if (strcmp(m->params[0], "0") == 0) {
		worker_request(w, REQ_PART_ALL, NULL, 0);
		return 0;
	}
	snprintf(list, sizeof list, "%s", m->params[0]);
	n = split_commas(list, cv, WORKER_REQQ - 1);
	for (int i = 0; i < n; i++) {
		if (!irc_chan_valid(cv[i], w->set.channel_len)) {
			worker_num(w, ERR_NOSUCHCHANNEL, "%s :No such channel", cv[i]);
			continue;
		}
		if (worker_chan_find(w, cv[i]) != NULL)
			continue;
		const char *args[1] = { cv[i] };
		worker_request(w, REQ_JOIN, args, 1);
	}
	return 0;
}

static int
cmd_part(struct worker *w, const struct irc_msg *m)
{
	char list[IRC_MAXLINE], *cv[WORKER_REQQ];
	int n;

	snprintf(list, sizeof list, "%s", m->params[0]);
	n = split_commas(list, cv, WORKER_REQQ - 1);
	for (int i = 0; i < n; i++) {
		const char *args[2] = { cv[i], m->nparams > 1 ? m->params[1] : "" };
		worker_request(w, REQ_PART, args, 2);
	}
	return 0;
}

static int
cmd_topic(struct worker *w, const struct irc_msg *m)
{
	const char *args[2] = { m->params[0], m->nparams > 1 ? m->params[1] : NULL };

	worker_request(w, REQ_TOPIC, args, m->nparams > 1 ? 2 : 1);
	return 0;
}

static int
cmd_names(struct worker *w, const struct irc_msg *m)
{
	char list[IRC_MAXLINE], *cv[1];

	if (m->nparams > 0) {
		snprintf(list, sizeof list, "%s", m->params[0]);
		if (split_commas(list, cv, 1) == 1) {
			const char *args[1] = { cv[0] };
			worker_request(w, REQ_NAMES, args, 1);
			return 0;
		}
	}
	worker_request(w, REQ_NAMES, NULL, 0);
	return 0;
}

static int
cmd_who(struct worker *w, const struct irc_msg *m)
{
	const char *args[1] = { m->nparams > 0 ? m->params[0] : "*" };

	worker_request(w, REQ_WHO, args, 1);
	return 0;
}

static int
cmd_whois(struct worker *w, const struct irc_msg *m)
{
	/* WHOIS [server] nick: the last parameter is the nick */
	char list[IRC_MAXLINE], *cv[1];

	snprintf(list, sizeof list, "%s", m->params[m->nparams - 1]);
	if (split_commas(list, cv, 1) != 1) {
		worker_num(w, ERR_NONICKNAMEGIVEN, ":No nickname given");
		return 0;
	}
	const char *args[1] = { cv[0] };
	worker_request(w, REQ_WHOIS, args, 1);
	return 0;
}

static int
cmd_list(struct worker *w, const struct irc_msg *m)
{
	char list[IRC_MAXLINE], *cv[MAX_TARGETS];
	int n = 0;

	if (m->nparams > 0) {
		snprintf(list, sizeof list, "%s", m->params[0]);
		n = split_commas(list, cv, MAX_TARGETS);
	}
	worker_request(w, REQ_LIST, (const char *const *)cv, n);
	return 0;
}

static int
cmd_lusers(struct worker *w, const struct irc_msg *m)
{
	(void)m;
	worker_request(w, REQ_LUSERS, NULL, 0);
	return 0;
}

static int
cmd_motd(struct worker *w, const struct irc_msg *m)
{
	(void)m;
	worker_request(w, REQ_MOTD, NULL, 0);
	return 0;
}

static int
cmd_away(struct worker *w, const struct irc_msg *m)
{
	const char *args[1] = { m->nparams > 0 ? m->params[0] : "" };

	worker_request(w, REQ_AWAY, args, 1);
	return 0;
}

/* ISON and USERHOST: nicks spread over parameters and spaces */
static int
nick_list_request(struct worker *w, const struct irc_msg *m, uint16_t cmd, int max)
{
	char all[IRC_MAXLINE], *nv[16];
	size_t len = 0;
	int n = 0;

	all[0] = '\0';
	for (int i = 0; i < m->nparams; i++)
		len += snprintf(all + len, len < sizeof all ? sizeof all - len : 0, "%s ",
		    m->params[i]);
	for (char *tok = strtok(all, " "); tok && n < max && n < 16; tok = strtok(NULL, " "))
		nv[n++] = tok;
	worker_request(w, cmd, (const char *const *)nv, n);
	return 0;
}

static int
cmd_ison(struct worker *w, const struct irc_msg *m)
{
	return nick_list_request(w, m, REQ_ISON, 16);
}

static int
cmd_userhost(struct worker *w, const struct irc_msg *m)
{
	return nick_list_request(w, m, REQ_USERHOST, 5);
}

/* ------------------------------------------------------------ local info */

static int
cmd_version(struct worker *w, const struct irc_msg *m)
{
	(void)m;
	worker_num(w, RPL_VERSION, "shmchat-" PACKAGE_VERSION ". %s :%s",
	    w->set.server_name, w->set.description);
	return 0;
}

static int
cmd_time(struct worker *w, const struct irc_msg *m)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;

	(void)m;
	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%A %B %d %Y -- %H:%M:%S %z", &tm);
	worker_num(w, RPL_TIME, "%s :%s", w->set.server_name, when);
	return 0;
}

static int
cmd_mode(struct worker *w, const struct irc_msg *m)
{
	/* channel and user modes come with a later release: answer queries */
	if (m->params[0][0] == '#') {
		struct worker_chan *c = worker_chan_find(w, m->params[0]);
		if (m->nparams == 1)
			worker_num(w, "324", "%s +", c ? c->name : m->params[0]);
		else
			worker_num(w, "472", "%c :is unknown mode char to me",
			    m->params[1][0] == '+' || m->params[1][0] == '-' ?
			    m->params[1][1] : m->params[1][0]);
	} else if (irc_casecmp(m->params[0], w->nick) != 0) {
		worker_num(w, "502", ":Can't change mode for other users");
	} else if (m->nparams == 1) {
		worker_num(w, "221", "+");
	} else {
		worker_num(w, "501", ":Unknown MODE flag");
	}
	return 0;
}

static const struct worker_cmd worker_cmds[] = {
	{ "AWAY",	cmd_away,	0, 1 },
	{ "CAP",	cmd_cap,	1, 0 },
	{ "ISON",	cmd_ison,	1, 1 },
	{ "JOIN",	cmd_join,	1, 1 },
	{ "LIST",	cmd_list,	0, 1 },
	{ "LUSERS",	cmd_lusers,	0, 1 },
	{ "MODE",	cmd_mode,	1, 1 },
	{ "MOTD",	cmd_motd,	0, 1 },
	{ "NAMES",	cmd_names,	0, 1 },
	{ "NICK",	cmd_nick,	0, 0 },
	{ "NOTICE",	cmd_message,	0, 1 },
	{ "PART",	cmd_part,	1, 1 },
	{ "PASS",	cmd_pass,	1, 0 },
	{ "PING",	cmd_ping,	0, 0 },
	{ "PONG",	cmd_pong,	0, 0 },
	{ "PRIVMSG",	cmd_message,	0, 1 },
	{ "QUIT",	cmd_quit,	0, 0 },
	{ "TIME",	cmd_time,	0, 1 },
	{ "TOPIC",	cmd_topic,	1, 1 },
	{ "USER",	cmd_user,	4, 0 },
	{ "USERHOST",	cmd_userhost,	1, 1 },
	{ "VERSION",	cmd_version,	0, 1 },
	{ "WHO",	cmd_who,	0, 1 },
	{ "WHOIS",	cmd_whois,	1, 1 },
};

int
worker_cmd_line(struct worker *w, const char *line, size_t len)
{
	struct irc_msg *msg = worker_cmd_msg();	/* large: not on the stack */
	const struct worker_cmd *cmd = NULL;
	int rc = irc_parse(msg, line, len);

	if (rc == IRC_PARSE_EMPTY)
		return 0;
	if (rc != IRC_PARSE_OK) {
		/* nothing sensible to name: answer like an unknown command */
		worker_num(w, ERR_UNKNOWNCOMMAND, "* :Unknown command");
		return 0;
	}
	for (size_t i = 0; i < sizeof worker_cmds / sizeof *worker_cmds; i++)
		if (strcmp(worker_cmds[i].name, msg->command) == 0) {
			cmd = &worker_cmds[i];
			break;
		}
	if (cmd == NULL) {
		if (!w->registered)
			worker_num(w, ERR_NOTREGISTERED, ":You have not registered");
		else
			worker_num(w, ERR_UNKNOWNCOMMAND, "%s :Unknown command", msg->command);
		return 0;
	}
	if (cmd->needs_reg && !w->registered) {
		worker_num(w, ERR_NOTREGISTERED, ":You have not registered");
		return 0;
	}
	if (msg->nparams < cmd->min_params) {
		need_more(w, msg);
		return 0;
	}
	return cmd->fn(w, msg);
}
