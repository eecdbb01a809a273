/*
 * check_ircv3: IRCv3 against a real shmchatd, with raw clients: capability
 * negotiation (CAP LS/LIST/REQ/END, cap-notify on reload), message tags as
 * each client asked for them (server-time, message-tags, client-only tags,
 * TAGMSG, the 4094-byte bound), echo-message, labeled-response, the channel
 * capabilities (extended-join, away-notify, multi-prefix, userhost-in-names,
 * invite-notify, setname, chghost), CHATHISTORY and the replay on JOIN.
 *
 * Lines are checked whole, as the client reads them off the wire. Each test
 * of an error path ends by showing that others are still served
 * (h_fx_alive()). No sleeps: replies, PING round trips (cli_sync) and
 * cli_none() synchronise.
 */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "harness.h"
#include "irctags.h"

#define SRV	"irc.test"	/* the harness's server_name */

/* "secret" as sha512-crypt (as tests/check_oper.c) */
#define HASH_SECRET	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5" \
	"knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
#define OPERS_CONF \
	"opers = ( { name = \"boss\"; password = \"" HASH_SECRET "\";\n" \
	"    hosts = [ \"*@127.0.0.1\" ]; } );\n"

#define ALL_CAPS "away-notify batch cap-notify chghost draft/chathistory echo-message " \
	"extended-join invite-notify labeled-response message-tags multi-prefix server-time " \
	"setname userhost-in-names"
#define NOHIST_CAPS "away-notify batch cap-notify chghost echo-message " \
	"extended-join invite-notify labeled-response message-tags multi-prefix server-time " \
	"setname userhost-in-names"

/* ---------------------------------------------------------------- helpers */

/* a copy of the next raw line (rotating buffers: a few stay valid) */
static char *raw(struct cli *c)
{
	static char buf[8][9000];
	static unsigned k;
	char *line, *out = buf[k++ % 8];
	size_t len;

	if (!cli_line(c, T_SHORT, &line, &len))
		H_FAIL("%s: no line within %d ms (%s)", c->nick, T_SHORT,
		       c->eof ? "EOF" : "timeout");
	H_ASSERT(len < sizeof buf[0], "%s: a line of %zu bytes", c->nick, len);
	memcpy(out, line, len + 1);
	return out;
}

/* the line past its tags */
static const char *body(const char *line)
{
	if (line[0] != '@')
		return line;
	const char *sp = strchr(line, ' ');
	return sp != NULL ? sp + 1 : line + strlen(line);
}

/* the command of a raw line ("" when unparsable) into out */
static const char *raw_command(const char *line, char *out, size_t cap)
{
	static struct irc_msg m;

	out[0] = '\0';
	if (irc_parse(&m, line, strlen(line)) == IRC_PARSE_OK)
		snprintf(out, cap, "%s", m.command);
	return out;
}

/* the next raw line whose command is cmd; others are skipped */
static char *raw_cmd(struct cli *c, const char *cmd)
{
	char got[32];

	for (;;) {
		char *l = raw(c);
		if (!strcmp(raw_command(l, got, sizeof got), cmd))
			return l;
	}
}

/* the value of tag key in a raw line into out; false when it has none */
static bool tag(const char *line, const char *key, char *out, size_t cap)
{
	struct irctag t;
	const char *sp;

	out[0] = '\0';
	if (line[0] != '@' || (sp = strchr(line, ' ')) == NULL ||
	    !irctags_get(line + 1, (size_t)(sp - line - 1), key, &t))
		return false;
	snprintf(out, cap, "%.*s", (int)t.val_len, t.val);
	return true;
}

/* the tag section of a raw line, without '@' ("" when none) */
static const char *tags_of(const char *line)
{
	static char out[8][8192];
	static unsigned k;
	char *o = out[k++ % 8];
	const char *sp = strchr(line, ' ');

	o[0] = '\0';
	if (line[0] == '@' && sp != NULL)
		snprintf(o, sizeof out[0], "%.*s", (int)(sp - line - 1), line + 1);
	return o;
}

/* does s start with the literal lit? */
#define STARTS(s, lit) (!strncmp((s), (lit), sizeof(lit) - 1))

#define EXPECT_LINE(c, want) do { \
	const char *got_ = raw(c); \
	H_ASSERT(!strcmp(got_, (want)), "%s: got '%s', expected '%s'", (c)->nick, got_, (want)); \
} while (0)

/* nick!user@127.0.0.1 of a harness client */
static const char *pfx(const struct cli *c)
{
	static char out[8][128];
	static unsigned k;
	char *o = out[k++ % 8];

	snprintf(o, sizeof out[0], "%s!%s@127.0.0.1", c->nick, c->user);
	return o;
}

/*
 * Connect, CAP LS 302, REQ caps (when not NULL), NICK/USER, CAP END; the
 * ACK and the end of registration are awaited.
 */
static struct cli *cli_caps(struct srv *s, const char *nick, const char *caps)
{
	struct cli *c = cli_connect(s);
	struct irc_msg m;

	cli_send(c, "CAP LS 302");
	cli_register_send(c, nick);
	if (caps != NULL)
		cli_send(c, "CAP REQ :%s", caps);
	cli_send(c, "CAP END");
	if (caps != NULL)
		for (;;) {
			EXPECT(c, "CAP", &m);
			if (!strcmp(msg_param(&m, 1), "LS"))
				continue;
			H_ASSERT(!strcmp(msg_param(&m, 1), "ACK") && !strcmp(msg_last(&m), caps),
				 "%s: CAP REQ :%s answered %s :%s", nick, caps, msg_param(&m, 1),
				 msg_last(&m));
			break;
		}
	cli_register_wait(c);
	return c;
}

/* PING round trip; no line of cmd (any line: NULL) came before the PONG */
static void none_before_sync(struct cli *c, const char *cmd)
{
	int n = cli_sync(c, cmd);

	H_ASSERT(n == 0, "%s: %d unexpected %s line(s)", c->nick, n, cmd ? cmd : "");
}

/* a raw line is time-stamped now (within a minute) */
static void check_time(const char *line, const char *who)
{
	char val[64];
	int64_t ms;

	H_ASSERT(tag(line, "time", val, sizeof val), "%s: no time tag: %s", who, line);
	H_ASSERT(strlen(val) == IRCTAGS_TIME_LEN && irctags_time_parse(val, strlen(val), &ms),
		 "%s: bad time '%s'", who, val);
	H_ASSERT(llabs((long long)(ms - (int64_t)time(NULL) * 1000)) < 60000,
		 "%s: time %s is not now", who, val);
}

/* register nick; every ISUPPORT token of its 005 lines, space-separated */
static struct cli *cli_new_isupport(struct srv *s, const char *nick, char *out, size_t cap)
{
	struct cli *c = cli_connect(s);
	struct irc_msg m;

	out[0] = '\0';
	cli_register_send(c, nick);
	for (;;) {
		H_ASSERT(cli_next(c, T_LONG, &m), "%s: registration did not end", nick);
		if (!strcmp(m.command, "376") || !strcmp(m.command, "422"))
			break;
		if (strcmp(m.command, "005"))
			continue;
		for (int i = 1; i < m.nparams - 1; i++)
			snprintf(out + strlen(out), cap - strlen(out), " %s", m.params[i]);
	}
	snprintf(out + strlen(out), cap - strlen(out), " ");
	return c;
}

/* ----------------------------------------------------------- negotiation */

START_TEST(test_cap_negotiation)
{
	struct h_fx f;
	struct irc_msg m;
	struct cli *c, *d, *e;

	h_fx_start(&f, NULL, H_NO_TESTER);
	/* 302: every capability, history's included, nothing split */
	c = cli_connect(f.s);
	cli_send(c, "CAP LS 302");
	EXPECT_LINE(c, ":" SRV " CAP * LS :" ALL_CAPS);
	cli_send(c, "CAP LIST");
	EXPECT_LINE(c, ":" SRV " CAP * LIST :cap-notify");
	/* all or nothing */
	cli_send(c, "CAP REQ :server-time nosuch-cap");
	EXPECT_LINE(c, ":" SRV " CAP * NAK :server-time nosuch-cap");
	cli_send(c, "CAP REQ :server-time sts");
	EXPECT_LINE(c, ":" SRV " CAP * NAK :server-time sts");
	cli_send(c, "CAP LIST");
	EXPECT_LINE(c, ":" SRV " CAP * LIST :cap-notify");
	cli_send(c, "CAP REQ :server-time message-tags echo-message");
	EXPECT_LINE(c, ":" SRV " CAP * ACK :server-time message-tags echo-message");
	cli_send(c, "CAP REQ :-echo-message");
	EXPECT_LINE(c, ":" SRV " CAP * ACK :-echo-message");
	cli_send(c, "CAP LIST");
	EXPECT_LINE(c, ":" SRV " CAP * LIST :cap-notify message-tags server-time");
	cli_send(c, "CAP FROB");
	EXPECT(c, "410", &m);
	/* no registration while negotiating */
	cli_register_send(c, "capper");
	H_ASSERT(cli_none(c, "001", 300), "capper registered before CAP END");
	cli_send(c, "CAP END");
	cli_register_wait(c);
	cli_send(c, "CAP LIST");
	EXPECT_LINE(c, ":" SRV " CAP capper LIST :cap-notify message-tags server-time");

	/* no version: names only (there are no values here), one line */
	d = cli_connect(f.s);
	cli_send(d, "CAP LS");
	EXPECT_LINE(d, ":" SRV " CAP * LS :" ALL_CAPS);
	cli_send(d, "CAP LIST");
	EXPECT_LINE(d, ":" SRV " CAP * LIST :");
	cli_send(d, "CAP END");
	cli_register(d, "oldcap");

	/* registration without CAP; CAP REQ after it works */
	e = cli_new(f.s, "latecomer");
	cli_join(e, "#live");
	cli_send(e, "CAP REQ :echo-message server-time");
	EXPECT_LINE(e, ":" SRV " CAP latecomer ACK :echo-message server-time");
	cli_send(e, "PRIVMSG #live :late");
	{
		const char *l = raw_cmd(e, "PRIVMSG");
		check_time(l, "latecomer");
		H_ASSERT(!strcmp(body(l), ":latecomer!latecomer@127.0.0.1 PRIVMSG #live :late"),
			 "latecomer's echo: %s", l);
	}
	cli_expect_text(f.listener, "PRIVMSG", e, "#live", "late");
	cli_expect_text(f.speaker, "PRIVMSG", e, "#live", "late");
	h_fx_stop(&f);
}
END_TEST

/* cap-notify, which 302 turned on: CAP REQ :-cap-notify is refused (NAK),
 * or it is done; an ACK for a change that is not made is neither */
START_TEST(test_cap_notify_sticky)
{
	struct h_fx f;
	struct cli *c;

	h_fx_start(&f, NULL, H_NO_TESTER);
	c = cli_connect(f.s);
	cli_send(c, "CAP LS 302");
	EXPECT_LINE(c, ":" SRV " CAP * LS :" ALL_CAPS);
	cli_send(c, "CAP REQ :server-time message-tags");
	EXPECT_LINE(c, ":" SRV " CAP * ACK :server-time message-tags");
	/* cap-notify, on with 302: a removal is refused, or done */
	cli_send(c, "CAP REQ :-cap-notify");
	{
		const char *r = raw(c);
		cli_send(c, "CAP LIST");
		const char *list = raw(c);
		H_ASSERT((!strcmp(r, ":" SRV " CAP * NAK :-cap-notify") &&
			  !strcmp(list, ":" SRV " CAP * LIST :cap-notify message-tags server-time")) ||
			 (!strcmp(r, ":" SRV " CAP * ACK :-cap-notify") &&
			  !strcmp(list, ":" SRV " CAP * LIST :message-tags server-time")),
			 "CAP REQ :-cap-notify answered '%s', then '%s'", r, list);
	}
	cli_send(c, "CAP END");
	cli_register(c, "sticky");
	h_fx_stop(&f);
}
END_TEST

/*
 * history_lines = 0: no draft/chathistory, CHATHISTORY fails; a reload
 * turning history on says CAP NEW to cap-notify clients, one turning it
 * off CAP DEL (and the capability goes from their set).
 */
START_TEST(test_cap_notify_reload)
{
	struct h_fx f;
	struct cli *c, *old;
	const char *l;

	h_fx_start(&f, "history_lines = 0;", H_NO_TESTER);
	c = cli_connect(f.s);
	cli_send(c, "CAP LS 302");
	EXPECT_LINE(c, ":" SRV " CAP * LS :" NOHIST_CAPS);
	cli_send(c, "CAP REQ :draft/chathistory");
	EXPECT_LINE(c, ":" SRV " CAP * NAK :draft/chathistory");
	cli_send(c, "CAP REQ :batch");
	EXPECT_LINE(c, ":" SRV " CAP * ACK :batch");
	cli_send(c, "CAP END");
	cli_register(c, "notified");
	cli_join(c, "#live");
	cli_send(c, "CHATHISTORY LATEST #live * 10");
	l = raw_cmd(c, "FAIL");
	H_ASSERT(STARTS(l, ":" SRV " FAIL CHATHISTORY MESSAGE_ERROR LATEST"),
		 "CHATHISTORY without history: %s", l);
	/* a client without cap-notify hears nothing of the change; no
	 * CHATHISTORY in its ISUPPORT */
	{
		char isup[2048];
		old = cli_new_isupport(f.s, "unnotified", isup, sizeof isup);
		H_ASSERT(strstr(isup, " NICKLEN=") && !strstr(isup, "CHATHISTORY") &&
			 !strstr(isup, "MSGREFTYPES"), "ISUPPORT without history:%s", isup);
	}

	srv_write_conf(f.s, "history_lines = 100;");
	H_ASSERT(kill(f.s->pid, SIGHUP) == 0, "SIGHUP");
	l = raw_cmd(c, "CAP");
	H_ASSERT(!strcmp(l, ":" SRV " CAP notified NEW :draft/chathistory"), "after reload: %s", l);
	none_before_sync(old, "CAP");
	cli_send(c, "CAP REQ :draft/chathistory");
	EXPECT_LINE(c, ":" SRV " CAP notified ACK :draft/chathistory");
	cli_send(c, "CAP LIST");
	EXPECT_LINE(c, ":" SRV " CAP notified LIST :batch cap-notify draft/chathistory");
	/* history works now */
	cli_send(f.speaker, "PRIVMSG #live :kept");
	cli_expect_text(c, "PRIVMSG", f.speaker, "#live", "kept");
	cli_expect_text(f.listener, "PRIVMSG", f.speaker, "#live", "kept");
	cli_send(c, "CHATHISTORY LATEST #live * 10");
	l = raw_cmd(c, "BATCH");
	H_ASSERT(STARTS(l, ":" SRV " BATCH +") && strstr(l, " chathistory #live"),
		 "batch start: %s", l);
	l = raw(c);
	H_ASSERT(!strcmp(body(l), ":speaker!speaker@127.0.0.1 PRIVMSG #live :kept"),
		 "history line: %s", l);
	l = raw(c);
	H_ASSERT(STARTS(l, ":" SRV " BATCH -"), "batch end: %s", l);

	srv_write_conf(f.s, "history_lines = 0;");
	H_ASSERT(kill(f.s->pid, SIGHUP) == 0, "SIGHUP");
	l = raw_cmd(c, "CAP");
	H_ASSERT(!strcmp(l, ":" SRV " CAP notified DEL :draft/chathistory"), "after reload: %s", l);
	cli_send(c, "CAP LIST");
	EXPECT_LINE(c, ":" SRV " CAP notified LIST :batch cap-notify");
	none_before_sync(old, "CAP");
	cli_send(c, "CHATHISTORY LATEST #live * 10");
	l = raw_cmd(c, "FAIL");
	H_ASSERT(strstr(l, " FAIL CHATHISTORY MESSAGE_ERROR ") != NULL, "history off again: %s", l);
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------------ tags */

/*
 * One PRIVMSG, four clients: none, server-time, message-tags, both. Each
 * gets its own form of the same line, with the same msgid.
 */
START_TEST(test_tag_formats)
{
	struct h_fx f;
	struct cli *snd, *none, *st, *mt, *both;
	char id1[64], id2[64], want[1024];
	const char *l;

	h_fx_start(&f, NULL, H_NO_TESTER);
	snd = cli_caps(f.s, "snd", "message-tags");
	none = cli_new(f.s, "none");
	st = cli_caps(f.s, "st", "server-time");
	mt = cli_caps(f.s, "mt", "message-tags");
	both = cli_caps(f.s, "both", "server-time message-tags");
	struct cli *all[] = { snd, none, st, mt, both };
	for (int i = 0; i < 5; i++)
		cli_join(all[i], "#t");
	for (int i = 0; i < 4; i++)
		EXPECT_FROM(all[i], "JOIN", "both", NULL);

	/* client-only tags (escaped) go to message-tags clients; label and
	 * other server tags from a client are not relayed */
	cli_send(snd, "@+example.com/x=a\\sb\\:c\\\\d;label=zz;+typing=active;time=1999 "
		 "PRIVMSG #t :hello");
	snprintf(want, sizeof want, ":%s PRIVMSG #t :hello", pfx(snd));
	l = raw_cmd(none, "PRIVMSG");
	H_ASSERT(!strcmp(l, want), "no caps: %s", l);
	l = raw_cmd(st, "PRIVMSG");
	check_time(l, "st");
	H_ASSERT(!strcmp(body(l), want) && strlen(tags_of(l)) == 5 + IRCTAGS_TIME_LEN,
		 "server-time only: %s", l);
	l = raw_cmd(mt, "PRIVMSG");
	H_ASSERT(tag(l, "msgid", id1, sizeof id1) && strlen(id1) == IRCTAGS_MSGID_LEN,
		 "message-tags: no msgid: %s", l);
	{
		char t[256];
		snprintf(t, sizeof t, "msgid=%s;+example.com/x=a\\sb\\:c\\\\d;+typing=active", id1);
		H_ASSERT(!strcmp(tags_of(l), t) && !strcmp(body(l), want), "message-tags only: %s",
			 l);
	}
	l = raw_cmd(both, "PRIVMSG");
	check_time(l, "both");
	H_ASSERT(tag(l, "msgid", id2, sizeof id2) && !strcmp(id1, id2),
		 "both: msgid %s, message-tags client saw %s", id2, id1);
	H_ASSERT(STARTS(l, "@time=") && l[IRCTAGS_STAMP_TIME_END] == ';', "both: %s", l);
	{
		char t[256];
		snprintf(t, sizeof t, ";msgid=%s;+example.com/x=a\\sb\\:c\\\\d;+typing=active", id1);
		H_ASSERT(!strcmp(tags_of(l) + IRCTAGS_STAMP_TIME_END - 1, t) &&
			 !strcmp(body(l), want), "both: %s", l);
	}
	/* the sender (no echo-message) does not get it back */
	none_before_sync(snd, "PRIVMSG");

	/* a client without message-tags cannot send client-only tags */
	cli_send(none, "@+typing=done PRIVMSG #t :from none");
	l = raw_cmd(mt, "PRIVMSG");
	H_ASSERT(tag(l, "msgid", id1, sizeof id1) && !strchr(tags_of(l), '+') &&
		 strstr(l, " PRIVMSG #t :from none"),
		 "client tags of a client without message-tags relayed: %s", l);
	raw_cmd(both, "PRIVMSG");
	raw_cmd(st, "PRIVMSG");
	raw_cmd(snd, "PRIVMSG");

	/* TAGMSG: message-tags clients only */
	cli_send(snd, "@+typing=active TAGMSG #t");
	l = raw_cmd(mt, "TAGMSG");
	snprintf(want, sizeof want, ":%s TAGMSG #t", pfx(snd));
	H_ASSERT(tag(l, "msgid", id1, sizeof id1) && !strcmp(body(l), want) &&
		 strstr(tags_of(l), ";+typing=active"), "TAGMSG to message-tags: %s", l);
	l = raw_cmd(both, "TAGMSG");
	check_time(l, "both");
	H_ASSERT(tag(l, "msgid", id2, sizeof id2) && !strcmp(id1, id2), "TAGMSG to both: %s", l);
	cli_send(snd, "PRIVMSG #t :after tagmsg");
	for (int i = 1; i < 3; i++) {
		l = raw(all[i]);
		H_ASSERT(strstr(l, " PRIVMSG #t :after tagmsg") != NULL,
			 "%s (no message-tags) got before the marker: %s", all[i]->nick, l);
	}
	raw_cmd(mt, "PRIVMSG");
	raw_cmd(both, "PRIVMSG");

	/* tags over 4094 bytes: 417, nothing relayed, the client still served */
	{
		static char big[8192];
		size_t n = 0;

		n += (size_t)snprintf(big, sizeof big, "@+a=");
		memset(big + n, 'x', 4095 - 3);	/* "+a=" and the x's: 4095 bytes */
		n += 4095 - 3;
		n += (size_t)snprintf(big + n, sizeof big - n, " PRIVMSG #t :too many tags\r\n");
		H_ASSERT(cli_send_raw(snd, big, n), "send");
		l = raw(snd);
		H_ASSERT(!strcmp(l, ":" SRV " 417 snd :Input line was too long"),
			 "4095 bytes of tags: %s", l);
		/* 4094 bytes of tags and a line of 510: accepted */
		n = (size_t)snprintf(big, sizeof big, "@+a=");
		memset(big + n, 'y', 4094 - 3);
		n += 4094 - 3;
		big[n++] = ' ';
		size_t start = n;
		n += (size_t)snprintf(big + n, sizeof big - n, "PRIVMSG #t :");
		memset(big + n, 'z', 510 - (n - start));
		n = start + 510;
		memcpy(big + n, "\r\n", 2);
		n += 2;
		H_ASSERT(cli_send_raw(snd, big, n), "send");
		l = raw_cmd(mt, "PRIVMSG");
		H_ASSERT(strstr(tags_of(l), ";+a=yyyy") && strlen(tags_of(l)) > 4000 &&
			 strstr(body(l), " PRIVMSG #t :zzzz") && strlen(body(l)) <= 510,
			 "4094 bytes of tags and 510 of line: %.200s (tags %zu, line %zu)", l,
			 strlen(tags_of(l)), strlen(body(l)));
		l = raw_cmd(none, "PRIVMSG");
		H_ASSERT(l[0] == ':' && strstr(l, " PRIVMSG #t :zzzz") && strlen(l) <= 510,
			 "no caps: %.200s", l);
		none_before_sync(snd, "417");
	}
	cli_send(snd, "PRIVMSG #t :still here");
	cli_expect_text(none, "PRIVMSG", snd, "#t", "still here");
	h_fx_stop(&f);
}
END_TEST

/* ----------------------------------------------------------- echo-message */

START_TEST(test_echo_message)
{
	struct h_fx f;
	struct cli *echo, *peer, *quiet;
	char id1[64], id2[64], want[256];
	const char *l;

	h_fx_start(&f, NULL, H_NO_TESTER);
	echo = cli_caps(f.s, "echoer", "echo-message message-tags");
	peer = cli_caps(f.s, "peer", "message-tags");
	quiet = cli_caps(f.s, "quiet", "message-tags");
	cli_join(echo, "#e");
	cli_join(peer, "#e");
	cli_join(quiet, "#e");
	EXPECT_FROM(echo, "JOIN", "quiet", NULL);
	EXPECT_FROM(peer, "JOIN", "quiet", NULL);

	/* a channel message comes back, with the msgid the others see */
	cli_send(echo, "PRIVMSG #e :to the channel");
	snprintf(want, sizeof want, ":%s PRIVMSG #e :to the channel", pfx(echo));
	l = raw_cmd(echo, "PRIVMSG");
	H_ASSERT(tag(l, "msgid", id1, sizeof id1) && !strcmp(body(l), want), "echo: %s", l);
	l = raw_cmd(peer, "PRIVMSG");
	H_ASSERT(tag(l, "msgid", id2, sizeof id2) && !strcmp(body(l), want), "peer: %s", l);
	H_ASSERT(!strcmp(id1, id2), "msgid %s echoed, %s delivered", id1, id2);
	raw_cmd(quiet, "PRIVMSG");

	/* a private message too */
	cli_send(echo, "PRIVMSG peer :just you");
	snprintf(want, sizeof want, ":%s PRIVMSG peer :just you", pfx(echo));
	l = raw_cmd(echo, "PRIVMSG");
	H_ASSERT(tag(l, "msgid", id1, sizeof id1) && !strcmp(body(l), want), "echo: %s", l);
	l = raw_cmd(peer, "PRIVMSG");
	H_ASSERT(tag(l, "msgid", id2, sizeof id2) && !strcmp(body(l), want), "peer: %s", l);
	H_ASSERT(!strcmp(id1, id2), "msgid %s echoed, %s delivered", id1, id2);
	/* TAGMSG too */
	cli_send(echo, "@+typing=active TAGMSG peer");
	l = raw_cmd(echo, "TAGMSG");
	H_ASSERT(tag(l, "msgid", id1, sizeof id1), "TAGMSG echo: %s", l);
	l = raw_cmd(peer, "TAGMSG");
	H_ASSERT(tag(l, "msgid", id2, sizeof id2) && !strcmp(id1, id2), "TAGMSG: %s", l);

	/* without echo-message: neither comes back */
	cli_send(quiet, "PRIVMSG #e :no echo");
	cli_send(quiet, "PRIVMSG peer :no echo either");
	cli_expect_text(peer, "PRIVMSG", quiet, "#e", "no echo");
	cli_expect_text(peer, "PRIVMSG", quiet, "peer", "no echo either");
	cli_expect_text(echo, "PRIVMSG", quiet, "#e", "no echo");
	none_before_sync(quiet, "PRIVMSG");
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------- labeled-response */

/* the next line carries exactly label=label (and maybe other tags) and is
 * cmd; its body is returned */
static const char *labelled_one(struct cli *c, const char *label, const char *cmd)
{
	char val[64], got[32];
	const char *l = raw(c);

	H_ASSERT(tag(l, "label", val, sizeof val) && !strcmp(val, label) &&
		 !strcmp(raw_command(l, got, sizeof got), cmd) && !strstr(tags_of(l), "batch="),
		 "%s: expected one %s labelled %s, got %s", c->nick, cmd, label, l);
	return body(l);
}

/*
 * A labelled batch: "@label=L :srv BATCH +id labeled-response", lines
 * each in it (or in a batch nested in it), ":srv BATCH -id". The commands
 * of the lines directly in it, space-separated, into cmds.
 */
static void labelled_batch(struct cli *c, const char *label, char *cmds, size_t cap)
{
	char val[64], id[64], want[128], got[32], nested[64] = "";
	const char *l = raw(c);

	H_ASSERT(tag(l, "label", val, sizeof val) && !strcmp(val, label) &&
		 STARTS(body(l), ":" SRV " BATCH +") &&
		 strstr(body(l), " labeled-response") != NULL,
		 "%s: expected a labeled-response batch for %s, got %s", c->nick, label, l);
	snprintf(id, sizeof id, "%.*s", (int)strcspn(body(l) + 17, " "), body(l) + 17);
	cmds[0] = '\0';
	snprintf(want, sizeof want, ":" SRV " BATCH -%s", id);
	for (;;) {
		l = raw(c);
		if (!strcmp(l, want))
			break;
		H_ASSERT(tag(l, "batch", val, sizeof val), "%s: a line outside batch %s: %s",
			 c->nick, id, l);
		H_ASSERT(!strstr(tags_of(l), "label="), "%s: label inside the batch: %s", c->nick, l);
		if (!strcmp(val, id)) {
			raw_command(l, got, sizeof got);
			const char *bl = body(l);
			if (STARTS(bl, ":" SRV " BATCH +"))
				snprintf(nested, sizeof nested, "%.*s", (int)strcspn(bl + 17, " "),
					 bl + 17);
			snprintf(cmds + strlen(cmds), cap - strlen(cmds), "%s%s", cmds[0] ? " " : "",
				 got);
		} else
			H_ASSERT(nested[0] && !strcmp(val, nested),
				 "%s: a line of batch %s inside %s: %s", c->nick, val, id, l);
	}
}

START_TEST(test_labeled_response)
{
	struct h_fx f;
	struct cli *lab, *peer;
	char cmds[512], want[256];
	const char *b;

	h_fx_start(&f, NULL, H_NO_TESTER);
	lab = cli_caps(f.s, "lab", "batch labeled-response message-tags setname draft/chathistory");
	peer = cli_new(f.s, "peer");
	cli_join(lab, "#lab");
	cli_join(peer, "#lab");
	EXPECT_FROM(lab, "JOIN", "peer", NULL);

	/* conn: PING, one line */
	cli_send(lab, "@label=p1 PING :x");
	b = labelled_one(lab, "p1", "PONG");
	H_ASSERT(!strcmp(b, ":" SRV " PONG " SRV " :x"), "PONG: %s", b);
	/* msg: a channel message without echo: ACK */
	cli_send(lab, "@label=m1 PRIVMSG #lab :hi");
	EXPECT_LINE(lab, "@label=m1 :" SRV " ACK");
	cli_expect_text(peer, "PRIVMSG", lab, "#lab", "hi");
	/* with echo-message: the echo carries the label */
	cli_send(lab, "CAP REQ :echo-message");
	EXPECT_LINE(lab, ":" SRV " CAP lab ACK :echo-message");
	cli_send(lab, "@label=m2 PRIVMSG #lab :hi again");
	b = labelled_one(lab, "m2", "PRIVMSG");
	snprintf(want, sizeof want, ":%s PRIVMSG #lab :hi again", pfx(lab));
	H_ASSERT(!strcmp(b, want), "labelled echo: %s", b);
	cli_expect_text(peer, "PRIVMSG", lab, "#lab", "hi again");
	cli_send(lab, "@label=m4 PRIVMSG peer :direct");
	b = labelled_one(lab, "m4", "PRIVMSG");
	snprintf(want, sizeof want, ":%s PRIVMSG peer :direct", pfx(lab));
	H_ASSERT(!strcmp(b, want), "labelled private echo: %s", b);
	cli_expect_text(peer, "PRIVMSG", lab, "peer", "direct");
	/* conn: CAP */
	cli_send(lab, "@label=c1 CAP LIST");
	b = labelled_one(lab, "c1", "CAP");
	H_ASSERT(!strcmp(b, ":" SRV " CAP lab LIST :batch cap-notify draft/chathistory "
			 "echo-message labeled-response message-tags setname"), "CAP LIST: %s", b);
	/* a missing nick: 401 with the label */
	cli_send(lab, "@label=m3 PRIVMSG nobody :hello?");
	b = labelled_one(lab, "m3", "401");
	H_ASSERT(!strcmp(b, ":" SRV " 401 lab nobody :No such nick/channel"), "401: %s", b);
	/* query: WHOIS, a batch */
	cli_send(lab, "@label=w1 WHOIS peer");
	labelled_batch(lab, "w1", cmds, sizeof cmds);
	H_ASSERT(STARTS(cmds, "311 ") && strstr(cmds, " 318") == cmds + strlen(cmds) - 4,
		 "WHOIS batch: %s", cmds);
	/* user: SETNAME (echoed to a setname client) */
	cli_send(lab, "@label=s1 SETNAME :Someone Else");
	b = labelled_one(lab, "s1", "SETNAME");
	snprintf(want, sizeof want, ":%s SETNAME :Someone Else", pfx(lab));
	H_ASSERT(!strcmp(b, want), "SETNAME: %s", b);
	/* an unknown command: 421 with the label */
	cli_send(lab, "@label=u1 FROBNICATE now");
	b = labelled_one(lab, "u1", "421");
	H_ASSERT(!strcmp(b, ":" SRV " 421 lab FROBNICATE :Unknown command"), "421: %s", b);
	/* history: the chathistory batch nested in the labelled one */
	cli_send(lab, "@label=h1 CHATHISTORY LATEST #lab * 10");
	labelled_batch(lab, "h1", cmds, sizeof cmds);
	H_ASSERT(!strcmp(cmds, "BATCH BATCH"), "CHATHISTORY batch: %s", cmds);
	/* pipelined after a message whose error comes from fan-out: the
	 * error first, unlabelled, then the labelled answer */
	{
		static const char two[] = "PRIVMSG nobody :x\r\n@label=v1 PING :z\r\n";
		H_ASSERT(cli_send_raw(lab, two, sizeof two - 1), "send");
		EXPECT_LINE(lab, ":" SRV " 401 lab nobody :No such nick/channel");
		b = labelled_one(lab, "v1", "PONG");
		H_ASSERT(!strcmp(b, ":" SRV " PONG " SRV " :z"), "PONG: %s", b);
	}
	/* an empty label is no label; without the capability none either */
	cli_send(peer, "@label=x1 PING :y");
	EXPECT_LINE(peer, ":" SRV " PONG " SRV " :y");
	h_fx_stop(&f);
}
END_TEST

/*
 * The lines a command makes the master send to the channel (its MODE,
 * JOIN, NICK) are the client's answer too: labelled like the rest.
 */
static struct cli *lab_start(struct h_fx *f, struct cli **peer)
{
	struct cli *lab;

	h_fx_start(f, NULL, H_NO_TESTER);
	lab = cli_caps(f->s, "lab", "batch labeled-response message-tags");
	*peer = cli_new(f->s, "peer");
	cli_join(lab, "#lab");
	cli_join(*peer, "#lab");
	EXPECT_FROM(lab, "JOIN", "peer", NULL);
	return lab;
}

START_TEST(test_labeled_multi_target)
{
	struct h_fx f;
	struct cli *lab, *peer;
	char cmds[512];

	lab = lab_start(&f, &peer);
	cli_send(lab, "CAP REQ :echo-message");
	EXPECT_LINE(lab, ":" SRV " CAP lab ACK :echo-message");
	/* two targets with echo-message: both echoes, in one labelled batch */
	cli_send(lab, "@label=m5 PRIVMSG #lab,peer :twice");
	labelled_batch(lab, "m5", cmds, sizeof cmds);
	H_ASSERT(!strcmp(cmds, "PRIVMSG PRIVMSG"), "two echoes: %s", cmds);
	cli_expect_text(peer, "PRIVMSG", lab, "#lab", "twice");
	cli_expect_text(peer, "PRIVMSG", lab, "peer", "twice");
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_labeled_mode)
{
	struct h_fx f;
	struct cli *lab, *peer;
	char want[256];
	const char *b;

	lab = lab_start(&f, &peer);
	/* chan: MODE (one line) */
	cli_send(lab, "@label=o1 MODE #lab +m");
	b = labelled_one(lab, "o1", "MODE");
	snprintf(want, sizeof want, ":%s MODE #lab +m", pfx(lab));
	H_ASSERT(!strcmp(b, want), "MODE: %s", b);
	EXPECT_FROM(peer, "MODE", "lab", NULL);
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_labeled_nick)
{
	struct h_fx f;
	struct cli *lab, *peer;
	char cmds[512], want[256];
	const char *b;

	lab = lab_start(&f, &peer);
	/* conn: NICK, one line (last: it renames the client) */
	cli_send(lab, "@label=k1 NICK lab2");
	b = labelled_one(lab, "k1", "NICK");
	snprintf(want, sizeof want, ":%s NICK :lab2", pfx(lab));
	H_ASSERT(!strcmp(b, want), "NICK: %s", b);
	snprintf(lab->nick, sizeof lab->nick, "lab2");
	EXPECT_FROM(peer, "NICK", "lab", NULL);
	(void)cmds;
	h_fx_stop(&f);
}
END_TEST

START_TEST(test_labeled_join)
{
	struct h_fx f;
	struct cli *lab, *peer;
	char cmds[512];

	lab = lab_start(&f, &peer);
	(void)peer;
	/* chan: JOIN, a batch with the JOIN echo in it */
	cli_send(lab, "@label=j1 JOIN #lab2");
	labelled_batch(lab, "j1", cmds, sizeof cmds);
	H_ASSERT(!strcmp(cmds, "JOIN 353 366"), "JOIN batch: %s", cmds);
	h_fx_stop(&f);
}
END_TEST

/* --------------------------------------------------- channel capabilities */

/* JOIN chan: c's own JOIN echo, then up to 366 (NAMES in any form) */
static void join_any(struct cli *c, const char *chan)
{
	struct irc_msg m;

	cli_send(c, "JOIN %s", chan);
	EXPECT_FROM(c, "JOIN", c->nick, &m);
	H_ASSERT(!irc_casecmp(msg_param(&m, 0), chan), "%s: JOIN %s", c->nick, msg_param(&m, 0));
	EXPECT(c, "366", &m);
}

/* the 353 of NAMES chan for c, its last parameter */
static const char *names_of(struct cli *c, const char *chan)
{
	static char out[512];
	struct irc_msg m;

	cli_send(c, "NAMES %s", chan);
	EXPECT(c, "353", &m);
	snprintf(out, sizeof out, "%s", msg_last(&m));
	EXPECT(c, "366", &m);
	return out;
}

/* the flags of nick in WHO chan for c */
static const char *who_flags(struct cli *c, const char *chan, const char *nick)
{
	static char out[32];
	struct irc_msg m;

	out[0] = '\0';
	cli_send(c, "WHO %s", chan);
	for (;;) {
		H_ASSERT(cli_next(c, T_SHORT, &m), "%s: WHO %s did not end", c->nick, chan);
		if (!strcmp(m.command, "315"))
			break;
		if (!strcmp(m.command, "352") && !irc_casecmp(msg_param(&m, 5), nick))
			snprintf(out, sizeof out, "%s", msg_param(&m, 6));
	}
	return out;
}

START_TEST(test_channel_caps)
{
	struct h_fx f;
	struct cli *x, *w, *y, *v, *boss;
	char want[512];
	const char *l;
	struct irc_msg m;

	h_fx_start(&f, OPERS_CONF, H_NO_TESTER);
	/* x: everything; w: extended-join and invite-notify; y: nothing */
	x = cli_caps(f.s, "xcap", "extended-join away-notify multi-prefix userhost-in-names "
		     "invite-notify setname chghost");
	w = cli_caps(f.s, "wcap", "extended-join invite-notify");
	y = cli_new(f.s, "ycap");
	cli_send(x, "JOIN #x");
	snprintf(want, sizeof want, ":%s JOIN #x * :Real xcap", pfx(x));
	EXPECT_LINE(x, want);
	l = raw_cmd(x, "353");
	snprintf(want, sizeof want, ":" SRV " 353 xcap = #x :@%s", pfx(x));
	H_ASSERT(!strcmp(l, want), "userhost-in-names on JOIN: %s", l);
	EXPECT(x, "366", &m);
	cli_join(y, "#x");
	/* extended-join: "JOIN #c account :realname" (no accounts: "*") */
	snprintf(want, sizeof want, ":%s JOIN #x * :Real ycap", pfx(y));
	EXPECT_LINE(x, want);
	cli_join(w, "#x");
	snprintf(want, sizeof want, ":%s JOIN #x * :Real wcap", pfx(w));
	EXPECT_LINE(x, want);
	snprintf(want, sizeof want, ":%s JOIN #x", pfx(w));
	EXPECT_LINE(y, want);

	/* away-notify: x sees it, w does not */
	cli_send(y, "AWAY :gone fishing");
	EXPECT(y, "306", &m);
	snprintf(want, sizeof want, ":%s AWAY :gone fishing", pfx(y));
	EXPECT_LINE(x, want);
	cli_send(y, "AWAY");
	EXPECT(y, "305", &m);
	snprintf(want, sizeof want, ":%s AWAY", pfx(y));
	EXPECT_LINE(x, want);
	none_before_sync(w, "AWAY");
	/* an away client joining: JOIN, then its AWAY, to away-notify members */
	join_any(x, "#x2");
	cli_send(y, "AWAY :brb");
	EXPECT(y, "306", &m);
	EXPECT_FROM(x, "AWAY", "ycap", &m);
	cli_join(y, "#x2");
	snprintf(want, sizeof want, ":%s JOIN #x2 * :Real ycap", pfx(y));
	EXPECT_LINE(x, want);
	snprintf(want, sizeof want, ":%s AWAY :brb", pfx(y));
	EXPECT_LINE(x, want);
	none_before_sync(y, "AWAY");
	cli_send(y, "AWAY");
	EXPECT(y, "305", &m);
	EXPECT_FROM(x, "AWAY", "ycap", &m);

	/* multi-prefix and userhost-in-names: NAMES and WHO */
	cli_send(x, "MODE #x +v xcap");
	EXPECT_FROM(x, "MODE", "xcap", &m);
	EXPECT_FROM(y, "MODE", "xcap", &m);
	EXPECT_FROM(w, "MODE", "xcap", &m);
	l = names_of(x, "#x");
	snprintf(want, sizeof want, "@+%s", pfx(x));
	H_ASSERT(!strncmp(l, want, strlen(want)) && strstr(l, pfx(y)) && strstr(l, pfx(w)),
		 "multi-prefix userhost-in-names NAMES: %s", l);
	l = names_of(y, "#x");
	H_ASSERT(STARTS(l, "@xcap ") && !strchr(l, '!'), "plain NAMES: %s", l);
	l = who_flags(x, "#x", "xcap");
	H_ASSERT(!strcmp(l, "H@+"), "multi-prefix WHO flags: %s", l);
	l = who_flags(y, "#x", "xcap");
	H_ASSERT(!strcmp(l, "H@"), "plain WHO flags: %s", l);
	cli_send(x, "WHOIS xcap");
	EXPECT(x, "319", &m);
	H_ASSERT(strstr(msg_last(&m), "@+#x") != NULL, "multi-prefix WHOIS: %s", msg_last(&m));

	/* invite-notify: the other members with it see the INVITE */
	v = cli_new(f.s, "vcap");
	cli_send(x, "INVITE vcap #x");
	EXPECT(x, "341", &m);
	snprintf(want, sizeof want, ":%s INVITE vcap #x", pfx(x));
	EXPECT_LINE(v, want);
	EXPECT_LINE(w, want);
	none_before_sync(y, "INVITE");
	none_before_sync(x, "INVITE");

	/* setname: those who asked for it, the sender too when it did */
	cli_send(y, "SETNAME :New Name");
	snprintf(want, sizeof want, ":%s SETNAME :New Name", pfx(y));
	EXPECT_LINE(x, want);
	none_before_sync(y, "SETNAME");
	none_before_sync(w, "SETNAME");
	cli_send(x, "WHOIS ycap");
	EXPECT(x, "311", &m);
	H_ASSERT(!strcmp(msg_last(&m), "New Name"), "realname after SETNAME: %s", msg_last(&m));
	EXPECT(x, "318", &m);
	cli_send(x, "SETNAME :X Two");
	snprintf(want, sizeof want, ":%s SETNAME :X Two", pfx(x));
	EXPECT_LINE(x, want);
	{
		char longname[300];
		memset(longname, 'n', 200);
		longname[200] = '\0';
		cli_send(x, "SETNAME :%s", longname);
		l = raw_cmd(x, "FAIL");
		H_ASSERT(STARTS(l, ":" SRV " FAIL SETNAME INVALID_REALNAME :"),
			 "overlong SETNAME: %s", l);
		none_before_sync(y, "SETNAME");
	}

	/* chghost, by an operator */
	boss = cli_new(f.s, "boss");
	cli_send(boss, "OPER boss :secret");
	EXPECT(boss, "381", &m);
	cli_send(y, "CHGHOST ycap evil.example");
	EXPECT(y, "481", &m);
	cli_send(boss, "CHGHOST ycap cloak.example");
	snprintf(want, sizeof want, ":%s CHGHOST %s cloak.example", pfx(y), y->user);
	EXPECT_LINE(x, want);
	snprintf(want, sizeof want, ":" SRV " NOTICE ycap :*** Your host is now cloak.example");
	l = raw_cmd(y, "NOTICE");
	H_ASSERT(!strcmp(l, want), "to the client: %s", l);
	none_before_sync(w, "CHGHOST");
	cli_send(y, "PRIVMSG #x :new me");
	snprintf(want, sizeof want, ":ycap!%s@cloak.example PRIVMSG #x :new me", y->user);
	EXPECT_LINE(w, want);
	EXPECT_LINE(x, want);
	cli_send(boss, "CHGHOST ycap bad_host!");
	l = raw_cmd(boss, "FAIL");
	H_ASSERT(STARTS(l, ":" SRV " FAIL CHGHOST INVALID_HOST"), "bad host: %s", l);
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------ CHATHISTORY */

#define HCAPS "batch server-time message-tags draft/chathistory"

/*
 * CHATHISTORY query (printf-style) for c: a chathistory batch for target
 * whose lines are each stamped and in it; their texts, space-separated.
 */
static const char *hist(struct cli *c, const char *target, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *hist(struct cli *c, const char *target, const char *fmt, ...)
{
	static char texts[1 << 20];
	char q[512], id[64], want[128], val[64];
	struct irc_msg *m = malloc(sizeof *m);
	va_list ap;
	const char *l;

	H_ASSERT(m != NULL, "out of memory");
	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	cli_send(c, "CHATHISTORY %s", q);
	l = raw(c);
	H_ASSERT(STARTS(l, ":" SRV " BATCH +"), "%s: CHATHISTORY %s: %s", c->nick, q, l);
	snprintf(id, sizeof id, "%.*s", (int)strcspn(l + 17, " "), l + 17);
	snprintf(want, sizeof want, ":" SRV " BATCH +%s chathistory %s", id, target);
	H_ASSERT(!strcmp(l, want), "%s: CHATHISTORY %s: %s, expected %s", c->nick, q, l, want);
	snprintf(want, sizeof want, ":" SRV " BATCH -%s", id);
	texts[0] = '\0';
	for (;;) {
		l = raw(c);
		if (!strcmp(l, want))
			break;
		H_ASSERT(tag(l, "batch", val, sizeof val) && !strcmp(val, id),
			 "%s: CHATHISTORY %s: a line outside the batch: %s", c->nick, q, l);
		check_time(l, c->nick);
		H_ASSERT(tag(l, "msgid", val, sizeof val) && strlen(val) == IRCTAGS_MSGID_LEN,
			 "%s: CHATHISTORY %s: no msgid: %s", c->nick, q, l);
		H_ASSERT(irc_parse(m, body(l), strlen(body(l))) == IRC_PARSE_OK &&
			 (!strcmp(m->command, "PRIVMSG") || !strcmp(m->command, "NOTICE")),
			 "%s: %s", c->nick, l);
		snprintf(texts + strlen(texts), sizeof texts - strlen(texts), "%s%s",
			 texts[0] ? " " : "", msg_last(m));
	}
	free(m);
	return texts;
}

/* CHATHISTORY query for c fails: the FAIL line */
static const char *hist_fail(struct cli *c, const char *q)
{
	cli_send(c, "CHATHISTORY %s", q);
	return raw_cmd(c, "FAIL");
}

#define HIST_EQ(got, want) do { \
	const char *g_ = (got); \
	H_ASSERT(!strcmp(g_, (want)), "got '%s', expected '%s'", g_, (want)); \
} while (0)
#define HIST_FAIL(c, q, want) do { \
	const char *g_ = hist_fail((c), (q)); \
	H_ASSERT(!strcmp(g_, (want)), "CHATHISTORY %s: got '%s', expected '%s'", (q), g_, \
		 (want)); \
} while (0)

/* "timestamp=..." of ms */
static const char *ts(int64_t ms)
{
	static char out[4][64];
	static unsigned k;
	char t[IRCTAGS_TIME_LEN + 1], *o = out[k++ % 4];

	irctags_time_fmt(t, ms);
	snprintf(o, sizeof out[0], "timestamp=%s", t);
	return o;
}

START_TEST(test_chathistory)
{
	struct h_fx f;
	struct cli *op, *a, *b, *c, *newa;
	char id[10][64], q[256];
	int64_t t[10];
	const char *l;
	struct irc_msg m;

	h_fx_start(&f, "chathistory_max = 5;", H_NO_TESTER);
	{
		char isup[2048];
		op = cli_new_isupport(f.s, "hop", isup, sizeof isup);
		H_ASSERT(strstr(isup, " CHATHISTORY=5 ") && strstr(isup, " MSGREFTYPES=msgid,timestamp "),
			 "ISUPPORT:%s", isup);
	}
	a = cli_caps(f.s, "ha", HCAPS);
	b = cli_caps(f.s, "hb", HCAPS);
	c = cli_caps(f.s, "hc", HCAPS);
	cli_join(op, "#h");
	cli_join(a, "#h");
	cli_join(b, "#h");
	EXPECT_FROM(a, "JOIN", "hb", NULL);
	for (int i = 0; i < 10; i++)
		cli_send(a, "PRIVMSG #h :m%d", i);
	for (int i = 0; i < 10; i++) {
		char val[64];
		l = raw_cmd(b, "PRIVMSG");
		H_ASSERT(tag(l, "msgid", id[i], sizeof id[i]) && tag(l, "time", val, sizeof val) &&
			 irctags_time_parse(val, strlen(val), &t[i]), "m%d: %s", i, l);
	}

	/* LATEST, with and without a bound; limits clamp to chathistory_max */
	HIST_EQ(hist(b, "#h", "LATEST #h * 3"), "m7 m8 m9");
	HIST_EQ(hist(b, "#h", "LATEST #h * 100"), "m5 m6 m7 m8 m9");
	HIST_EQ(hist(b, "#h", "LATEST #h msgid=%s 10", id[6]), "m7 m8 m9");
	HIST_EQ(hist(b, "#H", "LATEST #H * 1"), "m9");
	HIST_EQ(hist(b, "#h", "LATEST #h %s 3", ts(t[0] - 1)), "m7 m8 m9");
	HIST_EQ(hist(b, "#h", "LATEST #h %s 3", ts(t[9] + 1)), "");
	/* BEFORE, AFTER, AROUND */
	HIST_EQ(hist(b, "#h", "BEFORE #h msgid=%s 2", id[5]), "m3 m4");
	HIST_EQ(hist(b, "#h", "AFTER #h msgid=%s 2", id[5]), "m6 m7");
	HIST_EQ(hist(b, "#h", "AROUND #h msgid=%s 4", id[5]), "m3 m4 m5 m6");
	HIST_EQ(hist(b, "#h", "BEFORE #h %s 2", ts(t[9] + 1)), "m8 m9");
	HIST_EQ(hist(b, "#h", "AFTER #h %s 3", ts(t[0] - 1)), "m0 m1 m2");
	/* BETWEEN, both orders */
	HIST_EQ(hist(b, "#h", "BETWEEN #h msgid=%s msgid=%s 5", id[2], id[6]), "m3 m4 m5");
	HIST_EQ(hist(b, "#h", "BETWEEN #h msgid=%s msgid=%s 5", id[6], id[2]), "m3 m4 m5");
	HIST_EQ(hist(b, "#h", "BETWEEN #h msgid=%s msgid=%s 2", id[2], id[6]), "m3 m4");
	HIST_EQ(hist(b, "#h", "BETWEEN #h msgid=%s msgid=%s 2", id[6], id[2]), "m4 m5");
	HIST_EQ(hist(b, "#h", "BETWEEN #h %s %s 5", ts(t[0] - 1), ts(t[9] + 1)),
		"m0 m1 m2 m3 m4");
	HIST_EQ(hist(b, "#h", "BETWEEN #h %s %s 5", ts(t[9] + 1), ts(t[0] - 1)),
		"m5 m6 m7 m8 m9");
	/* nothing matches: an empty batch */
	HIST_EQ(hist(b, "#h", "AFTER #h msgid=%s 5", id[9]), "");
	HIST_EQ(hist(b, "#h", "BEFORE #h msgid=%s 5", id[0]), "");
	HIST_EQ(hist(b, "#h", "AFTER #h %s 5", ts(t[9] + 60000)), "");
	HIST_EQ(hist(b, "#h", "BEFORE #h msgid=0000000000000000000000000a 5"), "");

	/* NOTICE is kept, TAGMSG is not; a channel made again has no past */
	cli_join(a, "#n");
	cli_join(b, "#n");
	EXPECT_FROM(a, "JOIN", "hb", &m);
	cli_send(a, "NOTICE #n :noted");
	cli_send(a, "@+typing=active TAGMSG #n");
	cli_send(a, "PRIVMSG #n :said");
	raw_cmd(b, "NOTICE");
	raw_cmd(b, "TAGMSG");
	raw_cmd(b, "PRIVMSG");
	HIST_EQ(hist(b, "#n", "LATEST #n * 5"), "noted said");
	cli_send(a, "PART #n");
	cli_send(b, "PART #n");
	EXPECT_FROM(a, "PART", "ha", &m);
	EXPECT_FROM(b, "PART", "hb", &m);
	cli_join(c, "#n");
	HIST_EQ(hist(c, "#n", "LATEST #n * 5"), "");
	cli_send(c, "PART #n");
	EXPECT_FROM(c, "PART", "hc", &m);

	/* private history: the two parties only */
	cli_send(a, "PRIVMSG hb :p1");
	cli_expect_text(b, "PRIVMSG", a, "hb", "p1");
	cli_send(b, "PRIVMSG ha :p2");
	cli_expect_text(a, "PRIVMSG", b, "ha", "p2");
	HIST_EQ(hist(b, "ha", "LATEST ha * 10"), "p1 p2");
	HIST_EQ(hist(a, "hb", "LATEST hb * 10"), "p1 p2");
	HIST_EQ(hist(c, "ha", "LATEST ha * 10"), "");
	HIST_EQ(hist(c, "hb", "LATEST hb * 10"), "");

	/* TARGETS: the channel and the conversation, oldest latest line first */
	cli_send(b, "CHATHISTORY TARGETS %s %s 10", ts(t[0] - 1000),
		 ts((int64_t)time(NULL) * 1000 + 60000));
	l = raw(b);
	H_ASSERT(STARTS(l, ":" SRV " BATCH +") && strstr(l, " draft/chathistory-targets"),
		 "TARGETS: %s", l);
	l = raw(b);
	snprintf(q, sizeof q, ":" SRV " CHATHISTORY TARGETS #h %s", ts(t[9]));
	H_ASSERT(!strcmp(body(l), q) && strstr(tags_of(l), "batch="), "TARGETS #h: %s", l);
	l = raw(b);
	H_ASSERT(STARTS(body(l), ":" SRV " CHATHISTORY TARGETS ha timestamp="),
		 "TARGETS ha: %s", l);
	l = raw(b);
	H_ASSERT(STARTS(l, ":" SRV " BATCH -"), "TARGETS end: %s", l);

	/* errors */
	HIST_FAIL(b, "", ":" SRV " FAIL CHATHISTORY NEED_MORE_PARAMS :Missing parameters");
	HIST_FAIL(b, "LATEST #h", ":" SRV " FAIL CHATHISTORY NEED_MORE_PARAMS LATEST "
		  ":Missing parameters");
	HIST_FAIL(b, "FETCH #h * 5", ":" SRV " FAIL CHATHISTORY UNKNOWN_COMMAND FETCH "
		  ":Unknown command");
	static const char *const bad[] = {
		"LATEST #h bogus 5", "LATEST #h * 0", "LATEST #h * -1", "LATEST #h * x",
		"LATEST #h * 5x", "BEFORE #h * 5", "BEFORE #h timestamp=yesterday 5",
		"AROUND #h msgid= 5", "BETWEEN #h * * 5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		l = hist_fail(b, bad[i]);
		H_ASSERT(STARTS(l, ":" SRV " FAIL CHATHISTORY INVALID_PARAMS ") &&
			 strstr(l, " #h :") != NULL, "CHATHISTORY %s: %s", bad[i], l);
	}
	/* a non-member, a secret channel and a missing one look alike */
	cli_join(op, "#sec");
	cli_send(op, "MODE #sec +s");
	EXPECT_FROM(op, "MODE", "hop", &m);
	cli_send(op, "PRIVMSG #sec :secret words");
	cli_sync(op, NULL);
	HIST_FAIL(c, "LATEST #h * 5", ":" SRV " FAIL CHATHISTORY INVALID_TARGET LATEST #h "
		  ":Messages could not be retrieved");
	HIST_FAIL(c, "LATEST #sec * 5", ":" SRV " FAIL CHATHISTORY INVALID_TARGET LATEST #sec "
		  ":Messages could not be retrieved");
	HIST_FAIL(c, "LATEST #nosuch * 5", ":" SRV " FAIL CHATHISTORY INVALID_TARGET LATEST "
		  "#nosuch :Messages could not be retrieved");

	/* the writer left: its lines stay; its conversation stays for the
	 * other party, not for whoever takes the nick */
	cli_send(a, "QUIT :bye");
	EXPECT_FROM(b, "QUIT", "ha", &m);
	HIST_EQ(hist(b, "#h", "LATEST #h * 2"), "m8 m9");
	l = NULL;
	newa = cli_caps(f.s, "ha", HCAPS);
	HIST_EQ(hist(newa, "hb", "LATEST hb * 10"), "");
	cli_join(newa, "#h");
	HIST_EQ(hist(newa, "#h", "LATEST #h * 1"), "m9");

	/* a banned member reads nothing */
	cli_send(op, "MODE #h +b hb!*@*");
	EXPECT_FROM(b, "MODE", "hop", &m);
	HIST_FAIL(b, "LATEST #h * 5", ":" SRV " FAIL CHATHISTORY INVALID_TARGET LATEST #h "
		  ":Messages could not be retrieved");
	/* after every refusal, the others are still served */
	cli_send(op, "PRIVMSG #h :still served");
	cli_expect_text(newa, "PRIVMSG", op, "#h", "still served");
	h_fx_stop(&f);
}
END_TEST

/* a flood into a small history: what LATEST gives fits the bound, newest last */
START_TEST(test_history_memory)
{
	enum { N = 400, TEXT = 400 };
	struct h_fx f;
	struct cli *a, *b;
	static char buf[N * (TEXT + 40)];
	char text[TEXT + 1];
	size_t n = 0;

	h_fx_start(&f, "history_memory = 65536; chathistory_max = 1000; flood_rate = 0;",
		   H_NO_TESTER);
	a = cli_new(f.s, "flooder");
	b = cli_caps(f.s, "reader", HCAPS);
	cli_join(a, "#f");
	memset(text, 'x', TEXT);
	text[TEXT] = '\0';
	for (int i = 0; i < N; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "PRIVMSG #f :f%03d %s\r\n", i,
				      text + 5);
	H_ASSERT(cli_send_raw(a, buf, n), "flood");
	cli_sync(a, NULL);
	cli_join(b, "#f");
	const char *got = hist(b, "#f", "LATEST #f * 1000");
	/* each kept line is more than TEXT bytes: at most 65536 / TEXT of them */
	size_t lines = 0;
	for (const char *p = got; (p = strstr(p, "f")) != NULL; p += TEXT)
		lines++;
	H_ASSERT(lines >= 10 && lines <= 65536 / TEXT, "%zu lines kept of %d", lines, N);
	/* the newest, none missing */
	for (size_t i = 0; i < lines; i++) {
		char want[8];
		snprintf(want, sizeof want, "f%03zu ", N - lines + i);
		H_ASSERT(!strncmp(got + i * (TEXT + 1), want, 5), "line %zu of %zu: %.8s", i,
			 lines, got + i * (TEXT + 1));
	}
	/* the flood and the full history cost nobody the next message */
	cli_send(b, "PRIVMSG #f :after the flood");
	cli_expect_text(a, "PRIVMSG", b, "#f", "after the flood");
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------ join replay */

START_TEST(test_join_replay)
{
	struct h_fx f;
	struct cli *a, *plain, *st, *stb, *hc;
	char want[256];
	const char *l;

	h_fx_start(&f, "join_replay_lines = 3;", H_NO_TESTER);
	a = cli_new(f.s, "ra");
	cli_join(a, "#r");
	for (int i = 0; i < 5; i++)
		cli_send(a, "PRIVMSG #r :r%d", i);
	cli_sync(a, NULL);

	/* server-time: @time tags, the text as it was */
	st = cli_caps(f.s, "rst", "server-time");
	cli_join(st, "#r");
	for (int i = 2; i < 5; i++) {
		l = raw(st);
		check_time(l, "rst");
		snprintf(want, sizeof want, ":%s PRIVMSG #r :r%d", pfx(a), i);
		H_ASSERT(!strcmp(body(l), want) && strlen(tags_of(l)) == 5 + IRCTAGS_TIME_LEN,
			 "replay with server-time: %s", l);
	}
	none_before_sync(st, "PRIVMSG");
	/* server-time and batch: in a chathistory batch */
	stb = cli_caps(f.s, "rstb", "server-time batch");
	cli_join(stb, "#r");
	l = raw(stb);
	H_ASSERT(STARTS(l, ":" SRV " BATCH +") && strstr(l, " chathistory #r"), "batch: %s", l);
	for (int i = 2; i < 5; i++) {
		char val[32];
		l = raw(stb);
		check_time(l, "rstb");
		snprintf(want, sizeof want, ":%s PRIVMSG #r :r%d", pfx(a), i);
		H_ASSERT(!strcmp(body(l), want) && tag(l, "batch", val, sizeof val),
			 "replay in a batch: %s", l);
	}
	l = raw(stb);
	H_ASSERT(STARTS(l, ":" SRV " BATCH -"), "batch end: %s", l);
	/* a chathistory client asks for itself: no replay */
	hc = cli_caps(f.s, "rhc", HCAPS);
	cli_join(hc, "#r");
	none_before_sync(hc, "PRIVMSG");
	none_before_sync(hc, "BATCH");
	/* no capabilities: the time in front of the text */
	plain = cli_new(f.s, "rplain");
	cli_join(plain, "#r");
	for (int i = 2; i < 5; i++) {
		l = raw(plain);
		snprintf(want, sizeof want, ":%s PRIVMSG #r :[", pfx(a));
		H_ASSERT(STARTS(l, ":ra!ra@127.0.0.1 PRIVMSG #r :[") && strlen(l) == strlen(want) +
			 strlen("2026-12-06 10:00:00 UTC] r2") && strstr(l, " UTC] r") &&
			 l[strlen(l) - 1] == '0' + i, "replay %d without server-time: %s", i, l);
	}
	none_before_sync(plain, "PRIVMSG");
	/* batch without server-time: marked, in a batch */
	{
		struct cli *pb = cli_caps(f.s, "rpb", "batch");
		cli_join(pb, "#r");
		l = raw(pb);
		H_ASSERT(STARTS(l, ":" SRV " BATCH +") && strstr(l, " chathistory #r"), "batch: %s", l);
		for (int i = 2; i < 5; i++) {
			l = raw(pb);
			H_ASSERT(STARTS(l, "@batch=") && STARTS(body(l), ":ra!ra@127.0.0.1 PRIVMSG #r :[") &&
				 strstr(l, " UTC] r") && l[strlen(l) - 1] == '0' + i,
				 "replay %d in a batch without server-time: %s", i, l);
		}
		l = raw(pb);
		H_ASSERT(STARTS(l, ":" SRV " BATCH -"), "batch end: %s", l);
	}
	h_fx_stop(&f);
}
END_TEST

/* ------------------------------------------------------------------ main */

int main(void)
{
	Suite *su = suite_create("ircv3");
	TCase *tc;

	harness_init();
	tc = h_tcase(su, "cap", 30, NULL, NULL);
	tcase_add_test(tc, test_cap_negotiation);
	tcase_add_test(tc, test_cap_notify_reload);
	tcase_add_test(tc, test_cap_notify_sticky);
	tc = h_tcase(su, "tags", 30, NULL, NULL);
	tcase_add_test(tc, test_tag_formats);
	tcase_add_test(tc, test_echo_message);
	tcase_add_test(tc, test_labeled_response);
	tcase_add_test(tc, test_labeled_multi_target);
	tcase_add_test(tc, test_labeled_mode);
	tcase_add_test(tc, test_labeled_nick);
	tcase_add_test(tc, test_labeled_join);
	tc = h_tcase(su, "channel", 30, NULL, NULL);
	tcase_add_test(tc, test_channel_caps);
	tc = h_tcase(su, "history", 30, NULL, NULL);
	tcase_add_test(tc, test_chathistory);
	tcase_add_test(tc, test_history_memory);
	tcase_add_test(tc, test_join_replay);
	return h_suite_run(su);
}
