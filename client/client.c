/* client: event loop, reconnects, and the interactive/script/listen modes */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "clock.h"
#include "cmd.h"
#include "complete.h"
#include "conn.h"
#include "event.h"
#include "irc.h"
#include "jsonout.h"
#include "render.h"
#include "session.h"
#include "split.h"
#include "tls.h"
#include "ui.h"

enum phase {
	PH_CONNECTING,		/* TCP connect in progress */
	PH_REGISTERING,		/* connected, waiting for 001 */
	PH_READY,		/* registered */
	PH_WAITING,		/* disconnected, waiting to try again */
	PH_QUITTING,		/* QUIT sent, waiting for the server to close */
};

struct client {
	struct opts *o;
	enum opts_mode mode;
	struct conn conn;
	struct tls_ctx *tls;	/* NULL: plain TCP */
	struct session sess;
	struct ui *ui;
	int sigfd;
	struct render_opts ro;
	char current[256];	/* the current target: channel or nick, "" none */
	char switch_to[256];	/* a /join'ed channel becomes current on JOIN */
	bool history_asked;	/* a /history is on its way: say when there is none */
	enum phase phase;
	bool ever_registered;
	int backoff_ms;
	uint64_t deadline;	/* end of the current phase (clock_ms()), 0 for none */
	uint64_t last_rx;
	uint64_t ping_sent;	/* keepalive PING outstanding since, 0 none */
	/* script mode */
	const char *target;
	struct buf in;
	bool in_eof;
	bool sending;		/* channels joined: input lines go out */
	bool ack_sent;
	int failures;
	char first_failure[512];
	/* the end */
	bool done;
	int status;
	char final[600];	/* said on stderr once the terminal is restored */
	struct buf out;		/* listen mode output */
	struct irc_msg msg;	/* the line being handled (9 KiB: not on the stack) */
};

/* ------------------------------------------------------------ output */

static void
say(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* something for the person: above the prompt, or on stderr */
static void
say(struct client *c, const char *fmt, ...)
{
	char text[1024], line[2048];
	struct event ev;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (c->ui == NULL) {
		fprintf(stderr, "shmchat: %s\n", text);
		return;
	}
	event_local(&ev, EV_NOTE, NULL, NULL, text);
	render_event(line, sizeof line, &ev, &c->ro);
	ui_print(c->ui, line);
}

static void
last_words(struct client *c, const char *fmt, va_list ap)
{
	vsnprintf(c->final, sizeof c->final, fmt, ap);
}

static void
finish(struct client *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
fail_quit(struct client *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void quit(struct client *c, const char *reason, int status);

/* stop now with this status; the message waits until the terminal is back */
static void
finish(struct client *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	last_words(c, fmt, ap);
	va_end(ap);
	c->status = status;
	c->done = true;
}

/* the same, but leave with a QUIT first */
static void
fail_quit(struct client *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	last_words(c, fmt, ap);
	va_end(ap);
	quit(c, "shmchat done", status);
}

static void
trace_out(void *arg, const char *line)
{
	struct client *c = arg;
	char clean[3 * IRC_MAXLINE];

	render_clean(clean, sizeof clean, line, strlen(line));
	if (c->ui != NULL) {
		char l[sizeof clean + 8];

		snprintf(l, sizeof l, ">> %s", clean);
		ui_print(c->ui, l);
	} else
		fprintf(stderr, ">> %s\n", clean);
}

static void
trace_in(struct client *c, const char *line, size_t len)
{
	char clean[3 * IRC_MAXLINE];

	render_clean(clean, sizeof clean, line, len);
	if (c->ui != NULL) {
		char l[sizeof clean + 8];

		snprintf(l, sizeof l, "<< %s", clean);
		ui_print(c->ui, l);
	} else
		fprintf(stderr, "<< %s\n", clean);
}

/* listen mode: one line on stdout; a reader that went away ends us */
static void
emit(struct client *c, const char *line, size_t len);

static void
show_event(struct client *c, const struct event *ev)
{
	char line[8192];
	size_t n;

	switch (c->mode) {
	case OPTS_INTERACTIVE:
		if (render_event(line, sizeof line, ev, &c->ro) > 0)
			ui_print(c->ui, line);
		break;
	case OPTS_LISTEN:
		if (!event_public(ev))
			break;
		if (c->o->json) {
			buf_consume(&c->out, buf_used(&c->out));
			if (jsonout_event(&c->out, ev) == 0)
				emit(c, buf_head(&c->out), buf_used(&c->out));
		} else if ((n = render_event(line, sizeof line - 1, ev, &c->ro)) > 0) {
			line[n++] = '\n';
			emit(c, line, n);
		}
		break;
	default:
		/* script mode: only the server's complaints matter */
		if (ev->type != EV_ERROR)
			break;
		render_clean(line, sizeof line, ev->text ? ev->text : "", ev->text ? strlen(ev->text) : 0);
		fprintf(stderr, "shmchat: server: %s\n", line);
		if (c->sending && c->failures++ == 0)
			snprintf(c->first_failure, sizeof c->first_failure, "%.*s",
			    (int)sizeof c->first_failure - 1, line);
		break;
	}
}

/* ------------------------------------------------------- connection */

static void update_prompt(struct client *c);

/* try again after the backoff, which doubles up to its maximum */
static void
retry_later(struct client *c)
{
	c->phase = PH_WAITING;
	c->deadline = clock_ms() + c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > CLIENT_BACKOFF_MAX_MS ?
	    CLIENT_BACKOFF_MAX_MS : c->backoff_ms * 2;
	update_prompt(c);
}

static void lost(struct client *c, const char *why);

/*
 * Connecting failed (r: CONN_STEP_*). A refused certificate ends the
 * client whenever it happens: trying again would meet the same one.
 */
static void
connect_failed(struct client *c, int r, const char *err)
{
	if (r == CONN_STEP_REFUSED)
		finish(c, CLIENT_EX_TLS_REFUSED, "TLS certificate verification failed for %s: %s%s",
		    c->o->host, err, c->o->tls_pin ? "" :
		    " (use --tls-fingerprint SHA256 to pin a self-signed server, or --tls-no-verify)");
	else if (!c->ever_registered)
		finish(c, EX_UNAVAILABLE, "cannot connect to %s:%s: %s", c->o->host, c->o->port, err);
	else
		lost(c, err);
}

static void
start_connect(struct client *c)
{
	char err[512];

	c->phase = PH_CONNECTING;
	c->deadline = 0;
	if (conn_open(&c->conn, c->o->host, c->o->port, clock_ms(), err, sizeof err) < 0) {
		if (!c->ever_registered) {
			finish(c, EX_UNAVAILABLE, "cannot connect to %s:%s: %s", c->o->host,
			    c->o->port, err);
			return;
		}
		say(c, "cannot connect to %s:%s: %s; trying again in %d s", c->o->host,
		    c->o->port, err, c->backoff_ms / 1000);
		retry_later(c);
	}
}

/* the connection is gone (why says how); retry or end */
static void
lost(struct client *c, const char *why)
{
	bool was_ready = c->phase == PH_READY;

	conn_close(&c->conn);
	session_reset(&c->sess);
	c->ping_sent = 0;
	if (c->done)
		return;
	if (c->phase == PH_QUITTING) {
		c->done = true;
		return;
	}
	if (c->mode == OPTS_SCRIPT) {
		finish(c, EX_TEMPFAIL, "%s:%s: %s before %s", c->o->host, c->o->port, why,
		    !c->ever_registered ? "registration completed" :
		    !c->sending ? "the channels were joined" : "delivery was confirmed");
		return;
	}
	if (!c->ever_registered) {
		finish(c, EX_TEMPFAIL, "%s:%s: %s before registration completed", c->o->host,
		    c->o->port, why);
		return;
	}
	say(c, "%s%s; reconnecting in %d s", was_ready ? "disconnected: " : "", why,
	    c->backoff_ms / 1000);
	retry_later(c);
}

static void
connected(struct client *c)
{
	char how[128] = "";

	c->phase = PH_REGISTERING;
	c->deadline = clock_ms() + (uint64_t)c->o->timeout * 1000;
	c->last_rx = clock_ms();
	if (c->conn.tls != NULL) {
		char desc[100];

		tls_describe(c->conn.tls, desc, sizeof desc);
		snprintf(how, sizeof how, " (%s)", desc);
	}
	if (c->mode == OPTS_INTERACTIVE)
		say(c, "connected to %s%s, registering as %s", c->conn.addr, how, c->sess.nick);
	else if (c->o->verbose)
		say(c, "connected to %s%s", c->conn.addr, how);
	if (session_register(&c->sess) < 0)
		finish(c, EX_OSERR, "out of memory");
}

static void
quit(struct client *c, const char *reason, int status)
{
	c->status = status;
	if (c->conn.state != CONN_UP || c->phase == PH_QUITTING) {
		c->done = true;
		return;
	}
	session_send(&c->sess, "QUIT :%s", reason);
	c->phase = PH_QUITTING;
	c->deadline = clock_ms() + CLIENT_QUIT_WAIT_MS;
}

static void
emit(struct client *c, const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EPIPE)
				quit(c, "Leaving", EX_OK);	/* the reader is done */
			else
				fail_quit(c, EX_IOERR, "cannot write to standard output: %s",
				    strerror(errno));
			return;
		}
		line += n;
		len -= (size_t)n;
	}
}

/* ------------------------------------------------------------ sending */

/* split text to the line limit and send it as PRIVMSG/NOTICE/ACTION */
static void
send_text(struct client *c, const char *cmd, const char *target, const char *text,
    size_t len, bool action)
{
	char user[64] = "", *host = NULL;
	const char *uh = c->sess.userhost;
	size_t room, adv, n;

	if (uh[0] != '\0') {
		size_t ul = strcspn(uh, "@");

		snprintf(user, sizeof user, "%.*s", (int)ul, uh);
		host = uh[ul] == '@' ? (char *)uh + ul + 1 : NULL;
	}
	room = split_room(c->sess.nick, user[0] ? user : NULL, host, cmd, target,
	    action ? 9 : 0);
	while (len > 0) {
		n = split_next(text, len, room, &adv);
		if (action)
			session_send(&c->sess, "%s %s :\001ACTION %.*s\001", cmd, target, (int)n, text);
		else
			session_send(&c->sess, "%s %s :%.*s", cmd, target, (int)n, text);
		text += adv;
		len -= adv;
	}
}

/* interactive: send and show what we said */
static void
say_to(struct client *c, const char *cmd, const char *target, const char *text, bool action)
{
	struct event ev;

	if (c->phase != PH_READY) {
		say(c, "not connected: message not sent");
		return;
	}
	send_text(c, cmd, target, text, strlen(text), action);
	/* echo-message: the server's copy is shown when it comes back */
	if (!session_echo_local(&c->sess))
		return;
	event_local(&ev, action ? EV_ACTION : cmd[0] == 'N' ? EV_NOTICE : EV_MESSAGE,
	    c->sess.nick, target, text);
	show_event(c, &ev);
}

/* ------------------------------------------------------------- script */

/* every wanted channel joined: input can flow */
static void
script_check_ready(struct client *c)
{
	if (c->sending || c->phase != PH_READY)
		return;
	for (size_t i = 0; i < c->sess.chans.n; i++)
		if (!c->sess.chans.v[i].joined)
			return;
	c->sending = true;
	c->deadline = 0;
}

/* send the complete lines in c->in (all of it at EOF) */
static void
script_lines(struct client *c)
{
	const char *cmd = c->o->notice ? "NOTICE" : "PRIVMSG";

	for (;;) {
		char *p = buf_head(&c->in);
		size_t used = buf_used(&c->in), len, adv;
		char *nl = memchr(p, '\n', used);

		if (nl != NULL) {
			len = (size_t)(nl - p);
			adv = len + 1;
		} else if (used >= CLIENT_STDIN_MAXLINE) {
			len = irc_utf8_cut(p, CLIENT_STDIN_MAXLINE);
			adv = len;
		} else if (c->in_eof && used > 0) {
			len = adv = used;
		} else
			break;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* a NUL cannot travel in IRC; a space is the kindest stand-in */
		for (size_t i = 0; i < len; i++)
			if (p[i] == '\0')
				p[i] = ' ';
		/* empty lines cannot be sent as messages: skipped */
		if (len > 0)
			send_text(c, cmd, c->target, p, len, false);
		buf_consume(&c->in, adv);
	}
}

static void
script_read(struct client *c)
{
	char *p = buf_reserve(&c->in, 65536);
	ssize_t n;

	if (p == NULL) {
		finish(c, EX_OSERR, "out of memory");
		return;
	}
	n = read(STDIN_FILENO, p, 65536);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		finish(c, EX_IOERR, "cannot read standard input: %s", strerror(errno));
		return;
	}
	if (n == 0)
		c->in_eof = true;
	buf_commit(&c->in, (size_t)n);
	script_lines(c);
	if (c->in_eof && !c->ack_sent) {
		/* the server answers in order: its PONG comes after every
		 * reply to what we sent, errors included */
		c->ack_sent = true;
		c->deadline = clock_ms() + (uint64_t)c->o->timeout * 1000;
		session_ack(&c->sess);
	}
}

/*
 * The PONG came: the server has read everything. Replies to it can still
 * be on their way (a server may answer PING at once but route messages
 * through other processes first), so errors are counted until it closes
 * the connection after our QUIT; script_verdict() then decides.
 */
static void
script_acked(struct client *c)
{
	quit(c, "shmchat done", EX_OK);
}

static void
script_verdict(struct client *c)
{
	if (c->mode == OPTS_SCRIPT && c->status == EX_OK && c->failures > 0) {
		c->status = EX_PROTOCOL;
		snprintf(c->final, sizeof c->final, "the server refused %d message%s: %.400s",
		    c->failures, c->failures == 1 ? "" : "s", c->first_failure);
	}
}

/* -------------------------------------------------------- interactive */

static void
update_prompt(struct client *c)
{
	char p[300], clean[260];

	if (c->ui == NULL)
		return;
	if (c->phase != PH_READY && c->phase != PH_QUITTING)
		snprintf(p, sizeof p, "[not connected] ");
	else if (c->current[0] != '\0') {
		struct chan *ch = chans_find(&c->sess.chans, c->current);
		const char *pfx = ch != NULL ? chans_prefix_of(ch, c->sess.nick) : NULL;

		/* our own highest prefix there: "[@#ops] " (a checked ASCII mark) */
		render_clean(clean, sizeof clean, c->current, strlen(c->current));
		snprintf(p, sizeof p, "[%.1s%s] ", pfx != NULL ? pfx : "", clean);
	} else
		snprintf(p, sizeof p, "> ");
	ui_set_prompt(c->ui, p);
}

static void
set_current(struct client *c, const char *target)
{
	snprintf(c->current, sizeof c->current, "%s", target);
	/* a listening script always gets the channel on each line */
	if (c->mode == OPTS_INTERACTIVE)
		c->ro.current = c->current[0] ? c->current : NULL;
	update_prompt(c);
}

/* after leaving the current channel: another joined one, or none */
static void
current_fallback(struct client *c)
{
	for (size_t i = 0; i < c->sess.chans.n; i++)
		if (c->sess.chans.v[i].joined) {
			set_current(c, c->sess.chans.v[i].name);
			return;
		}
	set_current(c, "");
}

static void
help(struct client *c, const char *which)
{
	size_t n;
	const struct cmd_info *t = cmd_table(&n);

	if (which != NULL) {
		const struct cmd_info *ci = cmd_find(which);

		if (ci == NULL)
			say(c, "no command %s; /help lists them", which);
		else
			say(c, "%s: %s", ci->usage, ci->help);
		return;
	}
	say(c, "Commands (text without / goes to the current target; Tab completes nicks):");
	for (size_t i = 0; i < n; i++)
		say(c, "  %-28s %s", t[i].usage, t[i].help);
}

static void
do_join(struct client *c, const struct cmd *cmd)
{
	char list[512], *save = NULL, *t;

	snprintf(list, sizeof list, "%s", cmd->arg);
	for (t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (session_join(&c->sess, t, cmd->text) < 0) {
			say(c, "out of memory");
			return;
		}
		snprintf(c->switch_to, sizeof c->switch_to, "%s", t);
	}
	if (c->phase != PH_READY)
		say(c, "not connected: will join %s once connected", cmd->arg);
}

/* /history [N]: earlier lines of the current channel */
static void
do_history(struct client *c, const struct cmd *cmd)
{
	long n = 0;
	char *end;
	int rc;

	if (cmd->arg != NULL) {
		n = strtol(cmd->arg, &end, 10);
		if (*end != '\0' || n < 1 || n > OPTS_MAX_HISTORY) {
			say(c, "usage: %s (N: 1..%d)", cmd->usage, OPTS_MAX_HISTORY);
			return;
		}
	}
	if (!event_is_channel(c->current)) {
		say(c, "no current channel: %s", cmd->usage);
		return;
	}
	if (c->phase != PH_READY) {
		say(c, "not connected: /history not sent");
		return;
	}
	rc = session_history(&c->sess, c->current, (int)n);
	if (rc == 0)
		c->history_asked = true;
	else if (rc == -ENOTSUP)
		say(c, "the server keeps no chat history (no draft/chathistory)");
	else if (rc == -ENOENT)
		say(c, "you are not on %s", c->current);
	else if (rc < 0)
		say(c, "out of memory");
}

/* send what cmd_irc() made: one line, or several separated by '\n' */
static void
send_lines(struct client *c, const char *lines)
{
	while (*lines != '\0') {
		size_t n = strcspn(lines, "\n");

		session_send(&c->sess, "%.*s", (int)n, lines);
		lines += n;
		if (*lines == '\n')
			lines++;
	}
}

static void
on_line(void *arg, const char *text)
{
	struct client *c = arg;
	char *line, out[8 * IRC_MAXLINE];	/* /op of many nicks: several lines */
	struct cmd cmd;
	int n;

	if (text == NULL) {
		quit(c, "Leaving", EX_OK);
		return;
	}
	if ((line = strdup(text)) == NULL) {
		say(c, "out of memory");
		return;
	}
	cmd_parse(line, &cmd);
	switch (cmd.kind) {
	case CMD_NONE:
		break;
	case CMD_TEXT:
		if (c->current[0] == '\0')
			say(c, "no current target: /join a channel or /query a nick first");
		else
			say_to(c, "PRIVMSG", c->current, cmd.text, false);
		break;
	case CMD_MSG:
	case CMD_NOTICE:
		say_to(c, cmd.kind == CMD_MSG ? "PRIVMSG" : "NOTICE", cmd.arg, cmd.text, false);
		break;
	case CMD_ME:
		if (c->current[0] == '\0')
			say(c, "no current target: /join a channel or /query a nick first");
		else
			say_to(c, "PRIVMSG", c->current, cmd.text, true);
		break;
	case CMD_QUERY:
		if (cmd.arg != NULL)
			set_current(c, cmd.arg);
		else
			current_fallback(c);
		break;
	case CMD_HELP:
		help(c, cmd.arg);
		break;
	case CMD_QUIT:
		quit(c, cmd.text ? cmd.text : "Leaving", EX_OK);
		break;
	case CMD_UNKNOWN:
		say(c, "unknown command /%s (/help lists them)", cmd.name);
		break;
	case CMD_USAGE:
		say(c, "usage: %s", cmd.usage);
		break;
	case CMD_JOIN:
		do_join(c, &cmd);
		break;
	case CMD_HISTORY:
		do_history(c, &cmd);
		break;
	default:
		n = cmd_irc(&cmd, event_is_channel(c->current) ? c->current : NULL,
		    session_modes_per_line(&c->sess), out, sizeof out);
		if (n < 0)
			say(c, "%s", out);
		else if (n > 0 && c->phase != PH_READY)
			say(c, "not connected: /%s not sent", cmd.name);
		else if (n > 0)
			send_lines(c, out);
		break;
	}
	free(line);
}

static size_t
on_complete(void *arg, const char *line, size_t cursor, struct complete *cp)
{
	struct client *c = arg;
	struct chan *ch = c->current[0] ? chans_find(&c->sess.chans, c->current) : NULL;
	size_t n;

	/* the command word */
	if (line[0] == '/' && memchr(line, ' ', cursor) == NULL)
		return complete_command(cp, line, cursor);
	if (ch == NULL)
		return 0;
	n = complete_nick(cp, line, cursor, ch->nicks, ch->nnicks);
	if (n > 1 && n <= 50) {
		char list[1024] = "";
		size_t used = 0;
		size_t wl = cursor - cp->word_start;

		for (size_t i = 0; i < ch->nnicks && used < sizeof list - 1; i++) {
			const char *nick = ch->nicks[i];
			bool match = true;

			for (size_t k = 0; k < wl && match; k++)
				match = nick[k] != '\0' &&
				    irc_tolower(nick[k]) == irc_tolower(line[cp->word_start + k]);
			if (match)
				used += (size_t)snprintf(list + used, sizeof list - used, "%s ", nick);
		}
		say(c, "%s", list);
	}
	return n;
}

/* -------------------------------------------------------- server input */

static void
server_line(struct client *c, const char *line, size_t len)
{
	struct irc_msg *m = &c->msg;
	struct event ev;
	unsigned f;

	if (c->o->verbose)
		trace_in(c, line, len);
	if (irc_parse(m, line, len) != IRC_PARSE_OK) {
		/* an unparsable line: shown raw to a person, ignored otherwise */
		if (len > 0 && c->mode == OPTS_INTERACTIVE) {
			char raw[IRC_MAXLINE + 1];

			snprintf(raw, sizeof raw, "%.*s", (int)(len < IRC_MAXLINE ? len : IRC_MAXLINE),
			    line);
			event_local(&ev, EV_RAW, NULL, NULL, raw);
			show_event(c, &ev);
		}
		return;
	}
	f = session_handle(&c->sess, m);
	if (f & SESS_REFUSED) {
		event_from_msg(&ev, m, c->sess.nick, line, len);
		if (c->mode == OPTS_INTERACTIVE)
			show_event(c, &ev);
		if (!c->ever_registered) {
			finish(c, c->sess.refused == SESS_REFUSED_PASSWORD ? EX_NOPERM : EX_PROTOCOL,
			    "%s:%s: %s", c->o->host, c->o->port, c->sess.note);
			return;
		}
		lost(c, c->sess.note);
		return;
	}
	/* a refused join: at a terminal the error reply itself says it, in words */
	if ((f & SESS_NOTE) && !((f & SESS_JOIN_FAILED) && c->mode == OPTS_INTERACTIVE))
		say(c, "%s", c->sess.note);
	if (f & SESS_REGISTERED) {
		c->phase = PH_READY;
		c->ever_registered = true;
		c->backoff_ms = CLIENT_BACKOFF_MIN_MS;
		c->deadline = 0;
		if (c->mode == OPTS_SCRIPT) {
			/* joining is bounded in time too */
			c->deadline = clock_ms() + (uint64_t)c->o->timeout * 1000;
		}
		update_prompt(c);
	}
	/* the server's goodbye to our QUIT is no news */
	if (c->phase == PH_QUITTING && !strcmp(m->command, "ERROR"))
		f |= SESS_HANDLED;
	if (!(f & SESS_HANDLED)) {
		event_from_msg(&ev, m, c->sess.nick, line, len);
		ev.history = (f & SESS_HISTORY) != 0;
		show_event(c, &ev);
	}
	if ((f & SESS_HISTORY_END) && c->mode == OPTS_INTERACTIVE) {
		char chan[260];

		/* where the old lines stop and the live ones begin */
		render_clean(chan, sizeof chan, c->sess.chan, strlen(c->sess.chan));
		/* an empty answer to the fetch on joining is no news */
		if (c->sess.history_count == 0 && c->history_asked)
			say(c, "[history] no earlier messages in %s", chan);
		else if (c->sess.history_count > 0)
			say(c, "[history] end of %d earlier line%s of %s (/history for more)",
			    c->sess.history_count, c->sess.history_count == 1 ? "" : "s", chan);
		c->history_asked = false;
	}
	if (f & SESS_JOINED) {
		if (c->current[0] == '\0' || !irc_casecmp(c->switch_to, c->sess.chan)) {
			c->switch_to[0] = '\0';
			set_current(c, c->sess.chan);
		}
	}
	if ((f & SESS_JOIN_FAILED) && c->mode == OPTS_SCRIPT &&
	    !irc_casecmp(c->sess.chan, c->target)) {
		fail_quit(c, EX_PROTOCOL, "%s:%s: %s", c->o->host, c->o->port, c->sess.note);
		return;
	}
	if ((f & SESS_LEFT) && !irc_casecmp(c->current, c->sess.chan))
		current_fallback(c);
	if (c->mode == OPTS_SCRIPT && (f & (SESS_REGISTERED | SESS_JOINED | SESS_JOIN_FAILED)))
		script_check_ready(c);
	if ((f & SESS_ACK) && c->mode == OPTS_SCRIPT)
		script_acked(c);
}

static void
server_readable(struct client *c)
{
	ssize_t n = conn_read(&c->conn);
	const char *line;
	size_t len;
	enum linebuf_result r;

	if (n == -EAGAIN)
		return;
	if (n < 0) {
		char why[300];

		snprintf(why, sizeof why, "connection error: %s", conn_strerror(&c->conn, (int)-n));
		lost(c, why);
		return;
	}
	c->last_rx = clock_ms();
	c->ping_sent = 0;
	while (!c->done && c->conn.state == CONN_UP &&
	    (r = linebuf_next(&c->conn.in, &line, &len)) != LINEBUF_NEED_MORE) {
		if (r == LINEBUF_TOOLONG) {
			if (c->o->verbose)
				say(c, "an overlong line from the server was dropped");
			continue;
		}
		server_line(c, line, len);
	}
	if (n == 0 && !c->done && c->conn.state == CONN_UP)
		lost(c, "the server closed the connection");
	/* NAMES or MODE may have changed our prefix in the current channel */
	else if (!c->done)
		update_prompt(c);
}

/* ------------------------------------------------------------ timers */

static void
timers(struct client *c)
{
	uint64_t now = clock_ms();
	char why[128];

	if (c->phase == PH_READY && c->conn.state == CONN_UP) {
		if (c->ping_sent == 0 && now - c->last_rx >= CLIENT_KEEPALIVE_MS) {
			session_send(&c->sess, "PING :keepalive");
			c->ping_sent = now;
		} else if (c->ping_sent != 0 &&
		    now - c->ping_sent >= (uint64_t)c->o->timeout * 1000) {
			snprintf(why, sizeof why, "no answer from the server for %d s",
			    (int)((now - c->last_rx) / 1000));
			lost(c, why);
			return;
		}
	}
	if (c->deadline == 0 || now < c->deadline)
		return;
	c->deadline = 0;
	switch (c->phase) {
	case PH_WAITING:
		start_connect(c);
		break;
	case PH_REGISTERING:
	case PH_READY:
		/* registering; in script mode also joining, or the PING's PONG */
		snprintf(why, sizeof why, "no answer from the server for %d s", c->o->timeout);
		lost(c, why);
		break;
	case PH_QUITTING:
		c->done = true;
		break;
	case PH_CONNECTING:
		break;
	}
}

/* ------------------------------------------------------------ signals */

static int
signals_setup(struct client *c)
{
	sigset_t set;
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	/* a closed socket or stdout is an error return, not a death */
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (c->mode == OPTS_INTERACTIVE) {
		sigaddset(&set, SIGWINCH);
		sigaddset(&set, SIGTSTP);
		sigaddset(&set, SIGCONT);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return c->sigfd < 0 ? -errno : 0;
}

static void
signals_read(struct client *c)
{
	struct signalfd_siginfo si;

	while (read(c->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			if (c->ui != NULL)
				ui_resize(c->ui);
			break;
		case SIGTSTP:
			/* stop as asked, with the terminal as we found it */
			if (c->ui != NULL)
				ui_suspend(c->ui);
			if (kill(getpid(), SIGSTOP) < 0)
				say(c, "cannot stop: %s", strerror(errno));
			if (c->ui != NULL)
				ui_resume(c->ui);
			break;
		case SIGCONT:
			break;
		default:
			/* SIGINT, SIGTERM, SIGHUP: leave cleanly */
			if (c->phase == PH_QUITTING) {
				c->done = true;	/* a second one: do not wait */
				break;
			}
			if (c->mode == OPTS_SCRIPT)
				fail_quit(c, EX_TEMPFAIL, "interrupted before %s",
				    c->ack_sent ? "delivery was confirmed" : "all input was sent");
			else
				quit(c, "Leaving", EX_OK);
			break;
		}
	}
}

/* --------------------------------------------------------------- loop */

static int
poll_timeout(const struct client *c)
{
	uint64_t now = clock_ms(), next = c->deadline;	/* 0: none */

	if (conn_pending(&c->conn))
		return 0;	/* TLS holds decrypted bytes poll() cannot see */
	if (c->phase == PH_READY) {
		uint64_t k = c->ping_sent ? c->ping_sent + (uint64_t)c->o->timeout * 1000 :
		    c->last_rx + CLIENT_KEEPALIVE_MS;

		if (next == 0 || k < next)
			next = k;
	}
	if (c->conn.state == CONN_CONNECTING && (next == 0 || c->conn.deadline < next))
		next = c->conn.deadline;
	if (next == 0)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void
loop(struct client *c)
{
	while (!c->done) {
		struct pollfd p[3];
		int np = 0, isig = -1, iconn = -1, iin = -1;
		char err[512];

		p[np] = (struct pollfd){ c->sigfd, POLLIN, 0 };
		isig = np++;
		if (c->conn.state != CONN_IDLE) {
			p[np] = (struct pollfd){ c->conn.fd, conn_events(&c->conn), 0 };
			iconn = np++;
		}
		if (c->ui != NULL ||
		    (c->mode == OPTS_SCRIPT && c->sending && !c->in_eof &&
		    buf_used(&c->conn.out) < CLIENT_SENDQ_MAX)) {
			p[np] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
			iin = np++;
		}
		if (poll(p, (nfds_t)np, poll_timeout(c)) < 0) {
			if (errno == EINTR)
				continue;
			finish(c, EX_OSERR, "poll: %s", strerror(errno));
			break;
		}
		if (p[isig].revents & POLLIN)
			signals_read(c);
		if (c->done)
			break;
		if (iconn >= 0 && (p[iconn].revents != 0 || conn_pending(&c->conn))) {
			if (c->conn.state == CONN_CONNECTING) {
				int r = conn_connect_step(&c->conn, clock_ms(), err, sizeof err);

				if (r == CONN_STEP_UP)
					connected(c);
				else if (r < 0)
					connect_failed(c, r, err);
			} else if (conn_readable(&c->conn, p[iconn].revents))
				server_readable(c);
		} else if (c->conn.state == CONN_CONNECTING && clock_ms() >= c->conn.deadline) {
			int r = conn_connect_step(&c->conn, clock_ms(), err, sizeof err);

			if (r == CONN_STEP_UP)
				connected(c);
			else if (r < 0)
				connect_failed(c, r, err);
		}
		if (c->done)
			break;
		if (iin >= 0 && p[iin].revents != 0) {
			if (c->ui != NULL) {
				if (p[iin].revents & (POLLHUP | POLLERR | POLLNVAL))
					quit(c, "Leaving", EX_OK);	/* the terminal is gone */
				else if (ui_readable(c->ui) < 0)
					quit(c, "Leaving", EX_OK);
			} else
				script_read(c);
		}
		if (c->done)
			break;
		timers(c);
		if (c->conn.state == CONN_UP && buf_used(&c->conn.out) > 0) {
			ssize_t w = conn_flush(&c->conn);

			if (w < 0) {
				char why[300];

				snprintf(why, sizeof why, "connection error: %s",
				    conn_strerror(&c->conn, (int)-w));
				lost(c, why);
			}
		}
	}
}

/* leave with whatever is queued (the QUIT) written, if the socket takes it */
static void
last_flush(struct client *c)
{
	if (c->conn.state == CONN_UP && buf_used(&c->conn.out) > 0)
		conn_flush(&c->conn);
}

int
client_run(struct opts *o)
{
	struct client *c = calloc(1, sizeof *c);
	char err[512];
	int status, rc;
	const char *nc = getenv("NO_COLOR");

	if (c == NULL) {
		fprintf(stderr, "shmchat: out of memory\n");
		return EX_OSERR;
	}
	c->o = o;
	c->mode = o->mode;
	c->sigfd = -1;
	c->backoff_ms = CLIENT_BACKOFF_MIN_MS;
	buf_init(&c->in);
	buf_init(&c->out);
	if (conn_init(&c->conn) < 0) {
		free(c);
		fprintf(stderr, "shmchat: out of memory\n");
		return EX_OSERR;
	}
	session_init(&c->sess, &c->conn.out, o->nick, o->user, o->realname, o->password);
	if (o->verbose) {
		c->sess.trace = trace_out;
		c->sess.trace_arg = c;
	}
	/* history on join: at a terminal by default; a script only when asked */
	if (c->mode == OPTS_INTERACTIVE)
		c->sess.history = o->history >= 0 ? o->history : OPTS_DEFAULT_HISTORY;
	else if (c->mode == OPTS_LISTEN)
		c->sess.history = o->history > 0 ? o->history : 0;
	c->ro.time = true;
	c->ro.color = !o->no_color && (nc == NULL || nc[0] == '\0') &&
	    isatty(STDOUT_FILENO) && (c->mode == OPTS_INTERACTIVE || !o->json);

	for (size_t i = 0; i < o->nchannels; i++)
		if (session_join(&c->sess, o->channels[i], NULL) < 0)
			finish(c, EX_OSERR, "out of memory");
	if (c->mode == OPTS_SCRIPT) {
		c->target = o->target != NULL ? o->target :
		    o->nchannels > 0 ? o->channels[0] : NULL;
		if (c->target == NULL)
			finish(c, EX_USAGE, "nothing to send to: give --channel or --to");
		else if (event_is_channel(c->target) &&
		    session_join(&c->sess, c->target, NULL) < 0)
			finish(c, EX_OSERR, "out of memory");
	}
	if (!c->done && o->tls) {
		enum tls_verify how = o->tls_no_verify ? TLS_VERIFY_NONE :
		    o->tls_pin ? TLS_VERIFY_FINGERPRINT : TLS_VERIFY_CA;

		rc = tls_ctx_new(&c->tls, how, o->tls_fp, o->tls_ca, err, sizeof err);
		if (rc < 0)
			finish(c, rc == TLS_FAIL_CA ? EX_NOINPUT : EX_SOFTWARE, "%s", err);
		else {
			/* the handshake is waiting for the server: --timeout bounds
			 * it, as long as a connect to one address at most */
			conn_set_tls(&c->conn, c->tls, o->timeout * 1000 < CONN_ATTEMPT_MS ?
			    o->timeout * 1000 : CONN_ATTEMPT_MS);
		}
	}
	if (!c->done && (rc = signals_setup(c)) < 0)
		finish(c, EX_OSERR, "cannot set up signal handling: %s", strerror(-rc));
	if (!c->done && c->mode == OPTS_INTERACTIVE) {
		c->ui = ui_new("shmchat", on_line, on_complete, c, err, sizeof err);
		if (c->ui == NULL)
			finish(c, EX_OSERR, "%s", err);
		else {
			say(c, "shmchat %s: connecting to %s:%s%s (/help lists commands)",
			    PACKAGE_VERSION, o->host, o->port, o->tls ? " with TLS" : "");
			update_prompt(c);
		}
	}
	/* once, not at every reconnect */
	if (!c->done && o->tls && o->tls_no_verify)
		say(c, "warning: --tls-no-verify: the server's certificate is not checked; "
		    "whoever is in the way can read and change everything");
	if (!c->done)
		start_connect(c);
	if (!c->done)
		loop(c);
	last_flush(c);
	script_verdict(c);

	status = c->status;
	ui_free(c->ui);
	if (c->final[0] != '\0')
		fprintf(stderr, "shmchat: %s\n", c->final);
	if (c->sigfd >= 0)
		close(c->sigfd);
	session_free(&c->sess);
	conn_free(&c->conn);
	tls_ctx_free(c->tls);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
	return status;
}
