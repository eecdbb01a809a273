/*
 * check_client: unit tests for the client's pure modules (libclient.a):
 * command parsing, message splitting, event classification, output
 * formatting, JSON encoding, channel state and completion, the session's
 * registration logic, option/config parsing and TLS fingerprints.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "chans.h"
#include "cmd.h"
#include "complete.h"
#include "event.h"
#include "irc.h"
#include "jsonout.h"
#include "opts.h"
#include "render.h"
#include "session.h"
#include "split.h"
#include "tls.h"
#include "unit.h"

/* ------------------------------------------------------------------ cmd */

static struct cmd cmd;
static char cmdline[8192];

static enum cmd_kind
parse(const char *s)
{
	snprintf(cmdline, sizeof cmdline, "%s", s);
	cmd_parse(cmdline, &cmd);
	return cmd.kind;
}

START_TEST(cmd_text)
{
	ck_assert_int_eq(parse("hello world"), CMD_TEXT);
	ck_assert_str_eq(cmd.text, "hello world");
	ck_assert_int_eq(parse(""), CMD_NONE);
	ck_assert_int_eq(parse("   "), CMD_NONE);
	/* "//" escapes a leading slash */
	ck_assert_int_eq(parse("//join is a command"), CMD_TEXT);
	ck_assert_str_eq(cmd.text, "/join is a command");
	/* a pasted newline is not part of it */
	ck_assert_int_eq(parse("hi\r\n"), CMD_TEXT);
	ck_assert_str_eq(cmd.text, "hi");
}
END_TEST

START_TEST(cmd_join_part)
{
	ck_assert_int_eq(parse("/join #ops"), CMD_JOIN);
	ck_assert_str_eq(cmd.arg, "#ops");
	ck_assert_ptr_null(cmd.text);
	ck_assert_int_eq(parse("/JOIN   #ops   secret  "), CMD_JOIN);
	ck_assert_str_eq(cmd.arg, "#ops");
	ck_assert_str_eq(cmd.text, "secret");
	ck_assert_int_eq(parse("/join ops"), CMD_JOIN);
	ck_assert_str_eq(cmd.arg, "#ops");
	ck_assert_int_eq(parse("/j #a,#b"), CMD_JOIN);
	ck_assert_str_eq(cmd.arg, "#a,#b");
	ck_assert_int_eq(parse("/join"), CMD_USAGE);
	ck_assert_str_eq(cmd.usage, "/join #channel [key]");

	ck_assert_int_eq(parse("/part"), CMD_PART);
	ck_assert_ptr_null(cmd.arg);
	ck_assert_ptr_null(cmd.text);
	ck_assert_int_eq(parse("/part #ops see you"), CMD_PART);
	ck_assert_str_eq(cmd.arg, "#ops");
	ck_assert_str_eq(cmd.text, "see you");
	/* not a channel: the reason for leaving the current one */
	ck_assert_int_eq(parse("/leave gone fishing"), CMD_PART);
	ck_assert_ptr_null(cmd.arg);
	ck_assert_str_eq(cmd.text, "gone fishing");
}
END_TEST

START_TEST(cmd_messages)
{
	ck_assert_int_eq(parse("/msg bob hi there  "), CMD_MSG);
	ck_assert_str_eq(cmd.arg, "bob");
	ck_assert_str_eq(cmd.text, "hi there");
	ck_assert_int_eq(parse("/msg bob"), CMD_USAGE);
	ck_assert_int_eq(parse("/msg"), CMD_USAGE);
	ck_assert_int_eq(parse("/notice #c note"), CMD_NOTICE);
	ck_assert_int_eq(parse("/me waves  at you"), CMD_ME);
	ck_assert_str_eq(cmd.text, "waves  at you");
	ck_assert_int_eq(parse("/me"), CMD_USAGE);
	ck_assert_int_eq(parse("/query bob"), CMD_QUERY);
	ck_assert_str_eq(cmd.arg, "bob");
	ck_assert_int_eq(parse("/query"), CMD_QUERY);
	ck_assert_ptr_null(cmd.arg);
}
END_TEST

START_TEST(cmd_others)
{
	ck_assert_int_eq(parse("/quit"), CMD_QUIT);
	ck_assert_ptr_null(cmd.text);
	ck_assert_int_eq(parse("/quit  see you later"), CMD_QUIT);
	ck_assert_str_eq(cmd.text, "see you later");
	ck_assert_int_eq(parse("/nick newbie"), CMD_NICK);
	ck_assert_int_eq(parse("/nick"), CMD_USAGE);
	ck_assert_int_eq(parse("/topic"), CMD_TOPIC);
	ck_assert_int_eq(parse("/topic a new topic"), CMD_TOPIC);
	ck_assert_ptr_null(cmd.arg);
	ck_assert_str_eq(cmd.text, "a new topic");
	ck_assert_int_eq(parse("/topic #c a new topic"), CMD_TOPIC);
	ck_assert_str_eq(cmd.arg, "#c");
	ck_assert_int_eq(parse("/names"), CMD_NAMES);
	ck_assert_int_eq(parse("/who #c"), CMD_WHO);
	ck_assert_int_eq(parse("/whois bob"), CMD_WHOIS);
	ck_assert_int_eq(parse("/whois"), CMD_USAGE);
	ck_assert_int_eq(parse("/list"), CMD_LIST);
	ck_assert_int_eq(parse("/away back soon"), CMD_AWAY);
	ck_assert_int_eq(parse("/raw PRIVMSG #c :x y"), CMD_RAW);
	ck_assert_str_eq(cmd.text, "PRIVMSG #c :x y");
	ck_assert_int_eq(parse("/raw"), CMD_USAGE);
	ck_assert_int_eq(parse("/help join"), CMD_HELP);
	ck_assert_str_eq(cmd.arg, "join");
	ck_assert_int_eq(parse("/frobnicate x"), CMD_UNKNOWN);
	ck_assert_str_eq(cmd.name, "frobnicate");
	ck_assert_int_eq(parse("/"), CMD_UNKNOWN);
	ck_assert_ptr_nonnull(cmd_find("QUOTE"));
	ck_assert_ptr_null(cmd_find("nope"));
}
END_TEST

static const char *
irc_of(const char *line, const char *chan)
{
	static char out[1024];

	parse(line);
	if (cmd_irc(&cmd, chan, 3, out, sizeof out) <= 0 && out[0] == '\0')
		return "";
	return out;
}

START_TEST(cmd_to_irc)
{
	ck_assert_str_eq(irc_of("/join #a key", NULL), "JOIN #a key");
	ck_assert_str_eq(irc_of("/join #a", NULL), "JOIN #a");
	ck_assert_str_eq(irc_of("/part", "#cur"), "PART #cur");
	ck_assert_str_eq(irc_of("/part bye now", "#cur"), "PART #cur :bye now");
	ck_assert_str_eq(irc_of("/part #x", "#cur"), "PART #x");
	ck_assert_str_eq(irc_of("/topic", "#cur"), "TOPIC #cur");
	ck_assert_str_eq(irc_of("/topic new one", "#cur"), "TOPIC #cur :new one");
	ck_assert_str_eq(irc_of("/names", "#cur"), "NAMES #cur");
	ck_assert_str_eq(irc_of("/who", "#cur"), "WHO #cur");
	ck_assert_str_eq(irc_of("/whois bob", NULL), "WHOIS bob");
	ck_assert_str_eq(irc_of("/nick bob2", NULL), "NICK bob2");
	ck_assert_str_eq(irc_of("/list", NULL), "LIST");
	ck_assert_str_eq(irc_of("/away lunch", NULL), "AWAY :lunch");
	ck_assert_str_eq(irc_of("/away", NULL), "AWAY");
	ck_assert_str_eq(irc_of("/quit", NULL), "QUIT :Leaving");
	ck_assert_str_eq(irc_of("/quit bye", NULL), "QUIT :bye");
	ck_assert_str_eq(irc_of("/raw MODE #c +t", NULL), "MODE #c +t");
	/* no current channel: an explanation, not a line */
	ck_assert_str_eq(irc_of("/part", NULL), "no current channel: /part [#channel] [reason]");
	parse("/part");
	{
		char out[128];

		ck_assert_int_eq(cmd_irc(&cmd, NULL, 3, out, sizeof out), -1);
		parse("/me x");
		ck_assert_int_eq(cmd_irc(&cmd, "#c", 3, out, sizeof out), 0);
	}
}
END_TEST

/* all of cmd_irc()'s output for line, with modes per MODE line */
static const char *
irc_modes(const char *line, const char *chan, int modes)
{
	static char out[8192];

	parse(line);
	ck_assert_int_gt(cmd_irc(&cmd, chan, modes, out, sizeof out), 0);
	return out;
}

START_TEST(cmd_moderation)
{
	char out[256];

	/* /op and friends: one MODE per `modes` nicks, blanks between them skipped */
	ck_assert_str_eq(irc_modes("/op a  b c d", "#c", 3), "MODE #c +ooo a b c\nMODE #c +o d");
	ck_assert_str_eq(irc_modes("/op a b c d", "#c", 4), "MODE #c +oooo a b c d");
	ck_assert_str_eq(irc_modes("/op a b c d", "#c", 1),
	    "MODE #c +o a\nMODE #c +o b\nMODE #c +o c\nMODE #c +o d");
	ck_assert_str_eq(irc_modes("/deop a b", "#c", 3), "MODE #c -oo a b");
	ck_assert_str_eq(irc_modes("/voice a b c", "#c", 2), "MODE #c +vv a b\nMODE #c +v c");
	ck_assert_str_eq(irc_modes("/devoice a", "#c", 3), "MODE #c -v a");
	/* a nonsensical count still makes lines */
	ck_assert_str_eq(irc_modes("/op a b", "#c", 0), "MODE #c +o a\nMODE #c +o b");
	ck_assert_int_eq(parse("/op"), CMD_USAGE);
	ck_assert_str_eq(cmd.usage, "/op NICK...");
	ck_assert_str_eq(irc_of("/op a", NULL), "no current channel: /op NICK...");
	ck_assert_str_eq(irc_of("/voice a", NULL), "no current channel: /voice NICK...");

	ck_assert_str_eq(irc_of("/kick bob", "#c"), "KICK #c bob");
	ck_assert_str_eq(irc_of("/kick bob  you know why ", "#c"), "KICK #c bob :you know why");
	ck_assert_int_eq(parse("/kick"), CMD_USAGE);
	ck_assert_str_eq(irc_of("/kick bob", NULL), "no current channel: /kick NICK [reason]");

	/* /ban of a bare nick bans nick!*@*; masks go as typed (completed) */
	ck_assert_str_eq(irc_of("/ban bob", "#c"), "MODE #c +b bob!*@*");
	ck_assert_str_eq(irc_of("/ban *!*@bad.example", "#c"), "MODE #c +b *!*@bad.example");
	ck_assert_str_eq(irc_of("/ban ev@il", "#c"), "MODE #c +b *!ev@il");
	ck_assert_str_eq(irc_of("/unban bob", "#c"), "MODE #c -b bob!*@*");
	ck_assert_str_eq(irc_of("/unban b*!*@*", "#c"), "MODE #c -b b*!*@*");
	ck_assert_str_eq(irc_of("/ban b\001", "#c"), "not a valid mask: b\001");
	ck_assert_int_eq(parse("/ban"), CMD_USAGE);
	ck_assert_int_eq(parse("/unban"), CMD_USAGE);

	/* /mode: the target is the current channel unless one comes first */
	ck_assert_str_eq(irc_of("/mode", "#c"), "MODE #c");
	ck_assert_str_eq(irc_of("/mode +m", "#c"), "MODE #c +m");
	ck_assert_str_eq(irc_of("/mode -t+l 5", "#c"), "MODE #c -t+l 5");
	ck_assert_str_eq(irc_of("/mode #d +k key", "#c"), "MODE #d +k key");
	ck_assert_str_eq(irc_of("/mode me +i", NULL), "MODE me +i");
	ck_assert_str_eq(irc_of("/mode #d", NULL), "MODE #d");
	ck_assert_str_eq(irc_of("/mode +m", NULL),
	    "no current channel: /mode [TARGET] [MODES...]");

	ck_assert_str_eq(irc_of("/invite bob", "#c"), "INVITE bob #c");
	ck_assert_str_eq(irc_of("/invite bob #d", "#c"), "INVITE bob #d");
	ck_assert_str_eq(irc_of("/invite bob #d x", "#c"), "usage: /invite NICK [#channel]");
	ck_assert_str_eq(irc_of("/invite bob", NULL), "no current channel: /invite NICK [#channel]");
	ck_assert_int_eq(parse("/invite"), CMD_USAGE);

	ck_assert_str_eq(irc_of("/oper root s3cret", NULL), "OPER root s3cret");
	ck_assert_str_eq(irc_of("/oper root open sesame", NULL), "OPER root :open sesame");
	ck_assert_int_eq(parse("/oper root"), CMD_USAGE);
	ck_assert_str_eq(cmd.usage, "/oper NAME PASSWORD");
	ck_assert_str_eq(irc_of("/kill bob flooding again", NULL), "KILL bob :flooding again");
	ck_assert_int_eq(parse("/kill bob"), CMD_USAGE);
	ck_assert_str_eq(cmd.usage, "/kill NICK REASON");

	/* errors are -1, never a line to send */
	parse("/invite bob #d x");
	ck_assert_int_eq(cmd_irc(&cmd, "#c", 3, out, sizeof out), -1);
	parse("/ban b\001");
	ck_assert_int_eq(cmd_irc(&cmd, "#c", 3, out, sizeof out), -1);
	for (const char *const *n = (const char *const[]){ "op", "deop", "voice", "devoice",
	    "kick", "ban", "unban", "mode", "invite", "oper", "kill", NULL }; *n; n++)
		ck_assert_msg(cmd_find(*n) != NULL, "/%s is not in the table", *n);
}
END_TEST

START_TEST(cmd_op_long_lines)
{
	char line[4096] = "/op", nick[40];
	const char *out, *p;
	int nicks = 0;

	/* 100 nicks of 30 characters with no MODES limit: lines stay in 510 bytes */
	for (int i = 0; i < 100; i++) {
		snprintf(nick, sizeof nick, " n%029d", i);
		strcat(line, nick);
	}
	out = irc_modes(line, "#c", 64);
	for (p = out; *p != '\0';) {
		size_t n = strcspn(p, "\n");

		ck_assert_uint_le(n, IRC_MAXLINE - 2);
		ck_assert(!strncmp(p, "MODE #c +o", 10));
		for (size_t i = 0; i < n; i++)
			nicks += p[i] == ' ' && p[i + 1] == 'n';
		p += n + (p[n] == '\n');
	}
	ck_assert_int_eq(nicks, 100);
	ck_assert_ptr_nonnull(strchr(out, '\n'));
	/* more than the buffer holds: a message, not a cut */
	{
		char small[64];

		parse(line);
		ck_assert_int_eq(cmd_irc(&cmd, "#c", 3, small, sizeof small), -1);
	}
}
END_TEST

/* ---------------------------------------------------------------- split */

/* split text with room, check every piece, return the pieces joined by '|' */
static char *
split_all(const char *text, size_t room)
{
	static char out[65536];
	size_t len = strlen(text), used = 0, adv, n;

	out[0] = '\0';
	while (len > 0) {
		n = split_next(text, len, room, &adv);
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_ge(adv, n);
		ck_assert_uint_le(adv, len);
		ck_assert_msg(n <= room || room < 4, "piece of %zu bytes for room %zu", n, room);
		used += (size_t)snprintf(out + used, sizeof out - used, "%s%.*s",
		    used ? "|" : "", (int)n, text);
		text += adv;
		len -= adv;
	}
	return out;
}

START_TEST(split_short_and_words)
{
	ck_assert_str_eq(split_all("hello", 10), "hello");
	ck_assert_str_eq(split_all("hello world", 5), "hello|world");
	ck_assert_str_eq(split_all("hello world again", 12), "hello world|again");
	/* no space: a hard cut */
	ck_assert_str_eq(split_all("abcdefghij", 4), "abcd|efgh|ij");
	/* exactly at the limit */
	ck_assert_str_eq(split_all("abcd efgh", 4), "abcd|efgh");
}
END_TEST

START_TEST(split_utf8)
{
	/* é is 2 bytes, € 3, 😀 4: no piece may end inside one */
	static const char *const texts[] = {
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
		"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
		"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
		"a\xf0\x9f\x98\x80" "bc\xe2\x82\xac" "d\xc3\xa9\xf0\x9f\x98\x80xyz",
	};

	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
		for (size_t room = 4; room < 12; room++) {
			const char *text = texts[t];
			size_t len = strlen(text), adv, n, total = 0;

			while (len > 0) {
				n = split_next(text, len, room, &adv);
				ck_assert_msg(irc_utf8_valid(text, n),
				    "text %zu room %zu: piece ends inside a character", t, room);
				ck_assert_uint_le(n, room);
				total += adv;
				text += adv;
				len -= adv;
			}
			ck_assert_uint_eq(total, strlen(texts[t]));
		}
	/* room below one character: the character goes whole */
	ck_assert_str_eq(split_all("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 2),
	    "\xf0\x9f\x98\x80|\xf0\x9f\x98\x80");
}
END_TEST

START_TEST(split_fits_relayed_line)
{
	char text[3000], line[1024];
	const char *nick = "deploybot", *target = "#operations";
	size_t room, len, adv, n, pieces = 0, total = 0;
	const char *p = text;

	/* words of varied length with multibyte characters between */
	text[0] = '\0';
	for (int i = 0; strlen(text) < 2900; i++)
		strcat(text, i % 3 ? "word\xc3\xa9 " : "longerwordwithoutspaces\xe2\x82\xac");
	room = split_room(nick, "deploybot", "build-17.example.org", "PRIVMSG", target, 0);
	ck_assert_uint_eq(room, 512 - strlen(":deploybot!deploybot@build-17.example.org PRIVMSG #operations :\r\n"));
	len = strlen(text);
	while (len > 0) {
		int k;

		n = split_next(p, len, room, &adv);
		k = snprintf(line, sizeof line, ":%s!%s@%s PRIVMSG %s :%.*s\r\n", nick,
		    "deploybot", "build-17.example.org", target, (int)n, p);
		ck_assert_int_le(k, IRC_MAXLINE);
		ck_assert(irc_utf8_valid(p, n));
		pieces++;
		total += adv;
		p += adv;
		len -= adv;
	}
	ck_assert_uint_eq(total, strlen(text));
	ck_assert_uint_ge(pieces, 6);
	/* unknown user/host: the guesses are on the safe side */
	ck_assert_uint_lt(split_room("n", NULL, NULL, "PRIVMSG", "#c", 0),
	    split_room("n", "u", "h", "PRIVMSG", "#c", 0));
	/* an absurdly long target still leaves room for something */
	{
		char big[600];

		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		ck_assert_uint_eq(split_room("n", "u", "h", "PRIVMSG", big, 0), 1);
	}
}
END_TEST

/* ---------------------------------------------------------------- event */

static struct irc_msg msg;
static struct event ev;

static void
utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

static const struct event *
classify(const char *line, const char *me)
{
	ck_assert_int_eq(irc_parse(&msg, line, strlen(line)), IRC_PARSE_OK);
	event_from_msg(&ev, &msg, me, line, strlen(line));
	return &ev;
}

START_TEST(event_messages)
{
	classify(":alice!a@h PRIVMSG #ops :hello there", "me");
	ck_assert_int_eq(ev.type, EV_MESSAGE);
	ck_assert_str_eq(ev.from, "alice");
	ck_assert_str_eq(ev.userhost, "a@h");
	ck_assert_str_eq(ev.target, "#ops");
	ck_assert_str_eq(ev.text, "hello there");
	ck_assert(!ev.priv);
	ck_assert(!ev.self);

	classify(":alice!a@h PRIVMSG me :psst", "ME");
	ck_assert(ev.priv);

	classify(":alice!a@h PRIVMSG #ops :\001ACTION waves\001", "me");
	ck_assert_int_eq(ev.type, EV_ACTION);
	ck_assert_str_eq(ev.text, "waves");
	classify(":alice!a@h PRIVMSG #ops :\001ACTION\001", "me");
	ck_assert_int_eq(ev.type, EV_ACTION);
	ck_assert_str_eq(ev.text, "");
	classify(":alice!a@h PRIVMSG me :\001VERSION\001", "me");
	ck_assert_int_eq(ev.type, EV_CTCP);
	ck_assert_str_eq(ev.text, "VERSION");

	classify(":alice!a@h NOTICE #ops :note", "me");
	ck_assert_int_eq(ev.type, EV_NOTICE);
	classify(":irc.test NOTICE * :*** Looking up your hostname", "me");
	ck_assert_int_eq(ev.type, EV_SERVER);
	classify("NOTICE AUTH :hi", "me");
	ck_assert_int_eq(ev.type, EV_SERVER);
}
END_TEST

START_TEST(event_channel_changes)
{
	classify(":bob!b@h JOIN #ops", "me");
	ck_assert_int_eq(ev.type, EV_JOIN);
	ck_assert_str_eq(ev.target, "#ops");
	classify(":bob!b@h PART #ops :bye", "me");
	ck_assert_int_eq(ev.type, EV_PART);
	ck_assert_str_eq(ev.text, "bye");
	classify(":bob!b@h PART #ops", "me");
	ck_assert_ptr_null(ev.text);
	classify(":bob!b@h QUIT :Quit: gone", "me");
	ck_assert_int_eq(ev.type, EV_QUIT);
	ck_assert_ptr_null(ev.target);
	classify(":bob!b@h NICK :robert", "me");
	ck_assert_int_eq(ev.type, EV_NICK);
	ck_assert_str_eq(ev.from, "bob");
	ck_assert_str_eq(ev.text, "robert");
	classify(":me!m@h NICK :me2", "me");
	ck_assert(ev.self);
	classify(":op!o@h KICK #ops bob :behave", "me");
	ck_assert_int_eq(ev.type, EV_KICK);
	ck_assert_str_eq(ev.victim, "bob");
	ck_assert_str_eq(ev.text, "behave");
	classify(":op!o@h TOPIC #ops :new topic", "me");
	ck_assert_int_eq(ev.type, EV_TOPIC);
	ck_assert_str_eq(ev.text, "new topic");
	classify(":irc.test 332 me #ops :the topic", "me");
	ck_assert_int_eq(ev.type, EV_TOPIC_IS);
	ck_assert_str_eq(ev.target, "#ops");
	ck_assert_str_eq(ev.text, "the topic");
	ck_assert_ptr_null(ev.from);
}
END_TEST

START_TEST(event_numerics)
{
	classify(":irc.test 404 me #ops :Cannot send to channel", "me");
	ck_assert_int_eq(ev.type, EV_ERROR);
	ck_assert_str_eq(ev.text, "#ops: Cannot send to channel");
	ck_assert_str_eq(ev.numeric, "404");
	classify(":irc.test 421 me FOO :Unknown command", "me");
	ck_assert_int_eq(ev.type, EV_ERROR);
	ck_assert_str_eq(ev.text, "FOO: Unknown command");
	classify(":irc.test 451 * :You have not registered", "me");
	ck_assert_str_eq(ev.text, "You have not registered");
	classify(":irc.test 311 me bob bobu 127.0.0.1 * :Bob B", "me");
	ck_assert_int_eq(ev.type, EV_SERVER);
	ck_assert_str_eq(ev.text, "bob is bobu@127.0.0.1 (Bob B)");
	classify(":irc.test 353 me = #ops :@alice bob", "me");
	ck_assert_str_eq(ev.text, "Users on #ops: @alice bob");
	classify(":irc.test 366 me #ops :End of /NAMES list.", "me");
	ck_assert_int_eq(ev.type, EV_NONE);
	/* unknown numerics and commands are shown raw */
	classify(":irc.test 999 me foo :bar baz", "me");
	ck_assert_int_eq(ev.type, EV_RAW);
	ck_assert_str_eq(ev.text, ":irc.test 999 me foo :bar baz");
	classify(":irc.test FROB x", "me");
	ck_assert_int_eq(ev.type, EV_RAW);
	classify("PING :x", "me");
	ck_assert_int_eq(ev.type, EV_NONE);
	classify("ERROR :Closing Link: h (bye)", "me");
	ck_assert_int_eq(ev.type, EV_ERROR);
	ck_assert_str_eq(ev.text, "Closing Link: h (bye)");
	/* a short PRIVMSG is not a message */
	classify(":a!b@c PRIVMSG #x", "me");
	ck_assert_int_eq(ev.type, EV_RAW);
	ck_assert(event_public(classify(":a!b@c PRIVMSG #x :y", "me")));
	ck_assert(!event_public(classify(":irc.test 001 me :Welcome", "me")));
	ck_assert_str_eq(event_type_name(EV_TOPIC_IS), "topic");
}
END_TEST

START_TEST(event_moderation)
{
	classify(":op!o@h KICK #ops me :out", "ME");
	ck_assert_int_eq(ev.type, EV_KICK);
	ck_assert(ev.victim_self);
	classify(":op!o@h KICK #ops bob", "me");
	ck_assert(!ev.victim_self);
	ck_assert_ptr_null(ev.text);
	classify(":op!o@h MODE #ops +ov bob carol", "me");
	ck_assert_int_eq(ev.type, EV_MODE);
	ck_assert_str_eq(ev.target, "#ops");
	ck_assert_str_eq(ev.text, "+ov bob carol");
	ck_assert_ptr_null(ev.victim);
	classify(":me MODE me :+i", "me");
	ck_assert_int_eq(ev.type, EV_MODE);
	ck_assert(ev.victim_self);
	ck_assert(ev.self);
	classify(":op!o@h INVITE me :#secret", "me");
	ck_assert_int_eq(ev.type, EV_INVITE);
	ck_assert_str_eq(ev.target, "#secret");
	ck_assert_str_eq(ev.victim, "me");
	ck_assert(ev.victim_self);
	classify(":op!o@h WALLOPS :restart at noon", "me");
	ck_assert_int_eq(ev.type, EV_WALLOPS);
	ck_assert_str_eq(ev.from, "op");
	ck_assert_str_eq(ev.text, "restart at noon");
	classify(":op!o@h KILL me :spam", "me");
	ck_assert_int_eq(ev.type, EV_KILL);
	ck_assert(ev.victim_self);
	ck_assert_str_eq(ev.text, "spam");
	/* what a listening script gets */
	ck_assert(event_public(classify(":op!o@h MODE #ops +o bob", "me")));
	ck_assert(event_public(classify(":op!o@h WALLOPS :x", "me")));
	ck_assert(event_public(classify(":op!o@h INVITE me #x", "me")));
	ck_assert(event_public(classify(":irc.test 482 me #ops :You're not channel operator", "me")));
	ck_assert(!event_public(classify(":irc.test 381 me :You are now an IRC operator", "me")));
	ck_assert_str_eq(event_type_name(EV_WALLOPS), "wallops");
	ck_assert_str_eq(event_type_name(EV_KILL), "kill");
	/* too few parameters: shown raw, nothing half-filled */
	ck_assert_int_eq(classify(":op!o@h KICK #ops", "me")->type, EV_RAW);
	ck_assert_int_eq(classify(":op!o@h MODE #ops", "me")->type, EV_RAW);
	ck_assert_int_eq(classify(":op!o@h INVITE me", "me")->type, EV_RAW);
	ck_assert_int_eq(classify(":op!o@h WALLOPS", "me")->type, EV_RAW);
	ck_assert_int_eq(classify(":op!o@h KILL", "me")->type, EV_RAW);
}
END_TEST

START_TEST(event_moderation_numerics)
{
	static const struct {
		const char *line, *text;
		enum event_type type;
	} t[] = {
		{ ":s 381 me :You are now an IRC operator", "You are now an IRC operator", EV_SERVER },
		{ ":s 221 me +iw", "Your user mode is +iw", EV_SERVER },
		{ ":s 324 me #ops +klnt key 10", "Modes of #ops: +klnt key 10", EV_SERVER },
		{ ":s 324 me #ops +", "Modes of #ops: +", EV_SERVER },
		{ ":s 329 me #ops 1700000000", "#ops was created on 2023-11-14 22:13", EV_SERVER },
		{ ":s 329 me #ops soon", "#ops was created on soon", EV_SERVER },
		{ ":s 329 me #ops 99999999999999999999", "#ops was created on 99999999999999999999",
		  EV_SERVER },
		{ ":s 367 me #ops *!*@bad op 1700000000",
		  "Ban on #ops: *!*@bad (set by op on 2023-11-14 22:13)", EV_SERVER },
		{ ":s 367 me #ops *!*@bad", "Ban on #ops: *!*@bad", EV_SERVER },
		{ ":s 367 me #ops", "Ban on #ops: ", EV_SERVER },
		{ ":s 368 me #ops :End of Channel Ban List", "End of the ban list of #ops", EV_SERVER },
		{ ":s 346 me #ops bob!*@* op 0", "Invite exception on #ops: bob!*@* (set by op on "
		  "1970-01-01 00:00)", EV_SERVER },
		{ ":s 471 me #ops :Cannot join channel (+l)",
		  "Cannot join #ops: the channel is full (+l)", EV_ERROR },
		{ ":s 473 me #ops :Cannot join channel (+i)",
		  "Cannot join #ops: invite only (+i), an operator must /invite you", EV_ERROR },
		{ ":s 474 me #ops :Cannot join channel (+b)",
		  "Cannot join #ops: you are banned (+b)", EV_ERROR },
		{ ":s 475 me #ops :Cannot join channel (+k)",
		  "Cannot join #ops: wrong or missing key (+k), /join #ops KEY", EV_ERROR },
		{ ":s 482 me #ops :You're not channel operator",
		  "#ops: you are not a channel operator", EV_ERROR },
		{ ":s 441 me bob #ops :They aren't on that channel", "bob is not on #ops", EV_ERROR },
		{ ":s 443 me bob #ops :is already on channel", "bob is already on #ops", EV_ERROR },
		{ ":s 442 me #ops :You're not on that channel", "You are not on #ops", EV_ERROR },
		{ ":s 464 me :Password incorrect", "Password incorrect", EV_ERROR },
		{ ":s 491 me :No O-lines for your host",
		  "You cannot become an IRC operator from this host", EV_ERROR },
		{ ":s 481 me :Permission Denied- You're not an IRC operator",
		  "Permission denied: you are not an IRC operator", EV_ERROR },
		/* a hostile server leaving parameters out gets blanks, not a crash */
		{ ":s 441", " is not on ", EV_ERROR },
	};

	utc();
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		classify(t[i].line, "me");
		ck_assert_msg(ev.type == t[i].type, "%s: type %d", t[i].line, ev.type);
		ck_assert_msg(!strcmp(ev.text, t[i].text), "%s: \"%s\", expected \"%s\"",
		    t[i].line, ev.text, t[i].text);
	}
}
END_TEST

/* --------------------------------------------------------------- render */

static char rendered[4096];

static const char *
show(const char *line, const char *current, bool color)
{
	struct render_opts ro = { .color = color, .time = true, .current = current };

	classify(line, "me");
	ev.time.tv_sec = 3600 * 13 + 60 * 7;	/* 13:07 UTC */
	ev.time.tv_nsec = 0;
	render_event(rendered, sizeof rendered, &ev, &ro);
	return rendered;
}

START_TEST(render_lines)
{
	utc();
	ck_assert_str_eq(show(":alice!a@h PRIVMSG #ops :hi", "#ops", false), "13:07 <alice> hi");
	ck_assert_str_eq(show(":alice!a@h PRIVMSG #ops :hi", "#dev", false), "13:07 #ops <alice> hi");
	ck_assert_str_eq(show(":alice!a@h PRIVMSG #OPS :hi", "#ops", false), "13:07 <alice> hi");
	ck_assert_str_eq(show(":alice!a@h PRIVMSG me :psst", "#ops", false), "13:07 *alice* psst");
	ck_assert_str_eq(show(":alice!a@h PRIVMSG #ops :\001ACTION waves\001", "#ops", false),
	    "13:07 * alice waves");
	ck_assert_str_eq(show(":alice!a@h NOTICE #ops :n", NULL, false), "13:07 -alice:#ops- n");
	ck_assert_str_eq(show(":alice!a@h NOTICE me :n", NULL, false), "13:07 -alice- n");
	ck_assert_str_eq(show(":bob!b@h JOIN #ops", NULL, false),
	    "13:07 -!- bob (b@h) has joined #ops");
	ck_assert_str_eq(show(":bob!b@h PART #ops :later", NULL, false),
	    "13:07 -!- bob has left #ops (later)");
	ck_assert_str_eq(show(":bob!b@h QUIT :gone", NULL, false), "13:07 -!- bob has quit (gone)");
	ck_assert_str_eq(show(":bob!b@h NICK robert", NULL, false),
	    "13:07 -!- bob is now known as robert");
	ck_assert_str_eq(show(":me!m@h NICK me2", NULL, false),
	    "13:07 -!- You are now known as me2");
	ck_assert_str_eq(show(":op!o@h KICK #ops bob :behave", NULL, false),
	    "13:07 -!- op kicked bob from #ops (behave)");
	ck_assert_str_eq(show(":op!o@h TOPIC #ops :deploys at 5", NULL, false),
	    "13:07 -!- op changed the topic of #ops to: deploys at 5");
	ck_assert_str_eq(show(":irc.test 332 me #ops :deploys at 5", NULL, false),
	    "13:07 -!- Topic for #ops: deploys at 5");
	ck_assert_str_eq(show(":irc.test 404 me #ops :Cannot send to channel", NULL, false),
	    "13:07 -!- Error: #ops: Cannot send to channel");
	ck_assert_str_eq(show(":irc.test 999 me x :y", NULL, false),
	    "13:07 -!- [raw] :irc.test 999 me x :y");
	ck_assert_str_eq(show("PING :x", NULL, false), "");
}
END_TEST

START_TEST(render_moderation)
{
	utc();
	ck_assert_str_eq(show(":op!o@h KICK #ops bob :behave", "#ops", false),
	    "13:07 -!- op kicked bob from #ops (behave)");
	ck_assert_str_eq(show(":op!o@h KICK #ops bob", "#ops", false),
	    "13:07 -!- op kicked bob from #ops");
	ck_assert_str_eq(show(":op!o@h KICK #ops ME :enough", "#ops", false),
	    "13:07 -!- You were kicked from #ops by op (enough)");
	ck_assert_str_eq(show(":op!o@h MODE #ops +o bob", NULL, false),
	    "13:07 -!- op sets mode +o bob on #ops");
	ck_assert_str_eq(show(":irc.test MODE #ops +nt", "#ops", false),
	    "13:07 -!- irc.test sets mode +nt on #ops");
	ck_assert_str_eq(show(":me MODE me :+i", NULL, false),
	    "13:07 -!- You set mode +i on yourself");
	ck_assert_str_eq(show(":irc.test MODE me :+o", NULL, false),
	    "13:07 -!- irc.test sets mode +o on you");
	ck_assert_str_eq(show("MODE me :+w", NULL, false),
	    "13:07 -!- the server sets mode +w on you");
	ck_assert_str_eq(show(":op!o@h INVITE me :#secret", NULL, false),
	    "13:07 -!- op invites you to #secret");
	ck_assert_str_eq(show(":op!o@h INVITE bob #secret", NULL, false),
	    "13:07 -!- op invites bob to #secret");
	ck_assert_str_eq(show(":op!o@h WALLOPS :restart at noon", NULL, false),
	    "13:07 -op/wallops- restart at noon");
	ck_assert_str_eq(show(":op!o@h KILL me :spam", NULL, false),
	    "13:07 -!- You were killed by op (spam)");
	ck_assert_str_eq(show(":op!o@h KILL bob :spam", NULL, false),
	    "13:07 -!- op killed bob (spam)");
	ck_assert_str_eq(show(":s 482 me #ops :You're not channel operator", NULL, false),
	    "13:07 -!- Error: #ops: you are not a channel operator");
	ck_assert_str_eq(show(":s 367 me #ops *!*@bad op 1700000000", NULL, false),
	    "13:07 -!- Ban on #ops: *!*@bad (set by op on 2023-11-14 22:13)");
	/* being kicked or killed is marked like an error */
	show(":op!o@h KICK #ops me :x", "#ops", true);
	ck_assert_ptr_nonnull(strstr(rendered, "\033[1;31m-!-"));
	show(":op!o@h KICK #ops bob :x", "#ops", true);
	ck_assert_ptr_null(strstr(rendered, "\033[1;31m-!-"));
	/* hostile text in every new field stays clean */
	ck_assert_str_eq(show(":o\033p!o@h KICK #o\033ps m\033e :r\033", NULL, false),
	    "13:07 -!- o\xef\xbf\xbdp kicked m\xef\xbf\xbd" "e from #o\xef\xbf\xbdps "
	    "(r\xef\xbf\xbd)");
	ck_assert_str_eq(show(":op!o@h WALLOPS :\033[2J", NULL, false),
	    "13:07 -op/wallops- \xef\xbf\xbd[2J");
}
END_TEST

START_TEST(render_own)
{
	struct render_opts ro = { .color = false, .time = false, .current = "#ops" };

	event_local(&ev, EV_MESSAGE, "me", "#ops", "hello");
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "<me> hello");
	event_local(&ev, EV_MESSAGE, "me", "bob", "psst");
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "-> *bob* psst");
	event_local(&ev, EV_ACTION, "me", "#ops", "waves");
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "* me waves");
	event_local(&ev, EV_NOTE, NULL, NULL, "connecting");
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "-!- connecting");
}
END_TEST

START_TEST(render_hostile_text)
{
	char out[256];

	utc();
	/* invalid UTF-8: one U+FFFD per bad byte, valid text kept */
	render_clean(out, sizeof out, "a\xff" "b\xc3", 4);
	ck_assert_str_eq(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	render_clean(out, sizeof out, "\xc3\xa9t\xc3\xa9", 5);
	ck_assert_str_eq(out, "\xc3\xa9t\xc3\xa9");
	/* terminal escapes and other controls never pass */
	render_clean(out, sizeof out, "x\033[2Jy\x07z\x7f", 9);
	ck_assert_str_eq(out, "x\xef\xbf\xbd[2Jy\xef\xbf\xbdz\xef\xbf\xbd");
	/* C1 CSI (U+009B) as well */
	render_clean(out, sizeof out, "a\xc2\x9b" "2J", 5);
	ck_assert_str_eq(out, "a\xef\xbf\xbd" "2J");
	/* IRC formatting is dropped */
	render_clean(out, sizeof out, "\x02" "bold\x02 \x03" "4,12red\x03 \x1dit\x0f", 21);
	ck_assert_str_eq(out, "bold red it");
	render_clean(out, sizeof out, "\x04" "ff0000,00ff00hex", 17);
	ck_assert_str_eq(out, "hex");
	render_clean(out, sizeof out, "tab\there", 8);
	ck_assert_str_eq(out, "tab here");
	/* a small buffer is cut on a character boundary */
	render_clean(out, 5, "\xe2\x82\xac\xe2\x82\xac", 6);
	ck_assert_str_eq(out, "\xe2\x82\xac");
	/* the same in a whole line, nick included */
	ck_assert_str_eq(show(":ev\033il!a@h PRIVMSG #ops :\033]0;pwned\007", "#ops", false),
	    "13:07 <ev\xef\xbf\xbdil> \xef\xbf\xbd]0;pwned\xef\xbf\xbd");
}
END_TEST

START_TEST(render_colors)
{
	utc();
	show(":alice!a@h PRIVMSG #ops :hi", "#ops", true);
	ck_assert_ptr_nonnull(strstr(rendered, "\033["));
	ck_assert_ptr_nonnull(strstr(rendered, "alice\033[0m"));
	show(":alice!a@h PRIVMSG #ops :hi", "#ops", false);
	ck_assert_ptr_null(strchr(rendered, '\033'));
	show(":bob!b@h JOIN #ops", NULL, true);
	ck_assert_ptr_nonnull(strstr(rendered, "\033[36m-!-\033[0m"));
	ck_assert_int_eq(render_nick_color("Alice"), render_nick_color("alice"));
	ck_assert_int_ge(render_nick_color("x"), 31);
	ck_assert_int_le(render_nick_color("x"), 96);
}
END_TEST

/* ---------------------------------------------------------------- json */

static char *
json_of(const struct event *e)
{
	static char out[4096];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(jsonout_event(&b, e), 0);
	snprintf(out, sizeof out, "%.*s", (int)buf_used(&b), buf_head(&b));
	buf_free(&b);
	return out;
}

START_TEST(json_events)
{
	classify(":alice!a@h PRIVMSG #ops :hi \"there\"", "me");
	ev.time.tv_sec = 1700000000;
	ev.time.tv_nsec = 123456789;
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"message\",\"time\":\"2023-11-14T22:13:20.123Z\",\"from\":\"alice\","
	    "\"target\":\"#ops\",\"text\":\"hi \\\"there\\\"\"}\n");
	classify(":bob!b@h JOIN #ops", "me");
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"join\",\"time\":\"1970-01-01T00:00:00.000Z\",\"from\":\"bob\","
	    "\"target\":\"#ops\",\"text\":null}\n");
	classify(":op!o@h KICK #ops bob :x", "me");
	ev.time.tv_sec = 0;
	ck_assert_ptr_nonnull(strstr(json_of(&ev), ",\"text\":\"x\",\"nick\":\"bob\"}\n"));
	classify(":bob!b@h QUIT", "me");
	ev.time.tv_sec = 0;
	ck_assert_ptr_nonnull(strstr(json_of(&ev), "\"type\":\"quit\""));
	ck_assert_ptr_nonnull(strstr(json_of(&ev), "\"target\":null,\"text\":null}"));
}
END_TEST

START_TEST(json_moderation)
{
	classify(":op!o@h KICK #ops me :enough", "me");
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"kick\",\"time\":\"1970-01-01T00:00:00.000Z\",\"from\":\"op\","
	    "\"target\":\"#ops\",\"text\":\"enough\",\"nick\":\"me\"}\n");
	classify(":op!o@h MODE #ops +o-v bob bob", "me");
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"mode\",\"time\":\"1970-01-01T00:00:00.000Z\",\"from\":\"op\","
	    "\"target\":\"#ops\",\"text\":\"+o-v bob bob\"}\n");
	classify(":op!o@h INVITE me :#secret", "me");
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"invite\",\"time\":\"1970-01-01T00:00:00.000Z\",\"from\":\"op\","
	    "\"target\":\"#secret\",\"text\":null,\"nick\":\"me\"}\n");
	classify(":op!o@h WALLOPS :restart \"soon\"", "me");
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"wallops\",\"time\":\"1970-01-01T00:00:00.000Z\",\"from\":\"op\","
	    "\"target\":null,\"text\":\"restart \\\"soon\\\"\"}\n");
	classify(":op!o@h KILL bob :spam", "me");
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	ck_assert_ptr_nonnull(strstr(json_of(&ev),
	    "\"type\":\"kill\",\"time\":\"1970-01-01T00:00:00.000Z\",\"from\":\"op\","
	    "\"target\":null,\"text\":\"spam\",\"nick\":\"bob\"}\n"));
	classify(":s 474 me #ops :Cannot join channel (+b)", "me");
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	ck_assert_ptr_nonnull(strstr(json_of(&ev),
	    "\"type\":\"error\",\"time\":\"1970-01-01T00:00:00.000Z\",\"from\":\"s\","
	    "\"target\":null,\"text\":\"Cannot join #ops: you are banned (+b)\"}\n"));
}
END_TEST

/*
 * Random lines from a hostile server: whatever parses must classify,
 * render to clean UTF-8 without control characters, and encode to JSON
 * without raw control characters or invalid UTF-8 (ASan/valgrind watch).
 */
START_TEST(hostile_random)
{
	static const char *const pieces[] = {
		":", "!", "@", " ", "PRIVMSG", "NOTICE", "JOIN", "KICK", "332", "404",
		"MODE", "INVITE", "WALLOPS", "KILL", "367", "329", "324", "+o", "-v",
		"999", "001", "#c", "me", "\001ACTION", "\001", "\033[2J", "\xff",
		"\xc3", "\xed\xa0\x80", "\xe2\x82\xac", "\x03" "12,4", "\x02", "x",
	};
	struct render_opts ro = { .color = false, .time = true, .current = "#c" };
	unsigned seed = 12345;
	struct buf b;

	buf_init(&b);
	for (int iter = 0; iter < 20000; iter++) {
		char line[600];
		size_t n = 0;
		int k = (int)(rand_r(&seed) % 12);

		for (int i = 0; i < k; i++) {
			const char *p = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];

			if (n + strlen(p) < sizeof line - 1) {
				memcpy(line + n, p, strlen(p));
				n += strlen(p);
			}
		}
		line[n] = '\0';
		if (irc_parse(&msg, line, n) != IRC_PARSE_OK)
			continue;
		event_from_msg(&ev, &msg, "me", line, n);
		render_event(rendered, sizeof rendered, &ev, &ro);
		ck_assert(irc_utf8_valid(rendered, strlen(rendered)));
		for (const char *p = rendered; *p; p++)
			ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
			    "control character in \"%s\" from \"%s\"", rendered, line);
		buf_consume(&b, buf_used(&b));
		ck_assert_int_eq(jsonout_event(&b, &ev), 0);
		ck_assert(irc_utf8_valid(buf_head(&b), buf_used(&b)));
		for (size_t i = 0; i + 1 < buf_used(&b); i++)
			ck_assert((unsigned char)buf_head(&b)[i] >= 0x20);
		ck_assert_int_eq(buf_head(&b)[buf_used(&b) - 1], '\n');
	}
	buf_free(&b);
}
END_TEST

/* -------------------------------------------------- chans and complete */

START_TEST(chans_members)
{
	struct chans cs;
	struct chan *c;

	chans_init(&cs);
	ck_assert_ptr_nonnull(chans_add(&cs, "#Ops", NULL));
	ck_assert_ptr_nonnull(chans_add(&cs, "#dev", "key"));
	ck_assert_ptr_eq(chans_find(&cs, "#ops"), &cs.v[0]);
	ck_assert_ptr_eq(chans_add(&cs, "#OPS", NULL), &cs.v[0]);
	ck_assert_uint_eq(cs.n, 2);
	c = chans_find(&cs, "#ops");
	c->names_fresh = true;
	ck_assert_int_eq(chans_names(&cs, c, "@alice +bob  carol dave!d@h"), 0);
	ck_assert_uint_eq(c->nnicks, 4);
	ck_assert_str_eq(c->nicks[0], "alice");
	ck_assert_str_eq(c->nicks[3], "dave");
	ck_assert_int_eq(chans_member_add(chans_find(&cs, "#dev"), "Bob"), 0);
	ck_assert_int_eq(chans_rename(&cs, "BOB", "robert"), 0);
	ck_assert_str_eq(c->nicks[1], "robert");
	ck_assert_str_eq(cs.v[1].nicks[0], "robert");
	chans_quit(&cs, "robert");
	ck_assert_uint_eq(c->nnicks, 3);
	ck_assert_uint_eq(cs.v[1].nnicks, 0);
	chans_member_del(c, "ALICE");
	ck_assert_uint_eq(c->nnicks, 2);
	/* a fresh NAMES reply replaces the list */
	c->names_fresh = true;
	chans_names(&cs, c, "zed");
	ck_assert_uint_eq(c->nnicks, 1);
	chans_remove(&cs, "#OPS");
	ck_assert_uint_eq(cs.n, 1);
	ck_assert_str_eq(cs.v[0].name, "#dev");
	ck_assert_str_eq(cs.v[0].key, "key");
	chans_free(&cs);
}
END_TEST

/* nick's prefixes in c, "-" when not a member */
static const char *
pfx(const struct chan *c, const char *nick)
{
	const char *p = chans_prefix_of(c, nick);

	return p != NULL ? p : "-";
}

static void
mode(struct chans *cs, struct chan *c, const char *modes, const char *const *params)
{
	int n = 0;

	while (params[n] != NULL)
		n++;
	chans_mode(cs, c, modes, params, n);
}

START_TEST(chans_prefixes)
{
	struct chans cs;
	struct chan *c;

	chans_init(&cs);
	/* a server that says nothing has (ov)@+ */
	ck_assert_str_eq(cs.modes.prefix_modes, "ov");
	ck_assert_str_eq(cs.modes.prefix_chars, "@+");
	c = chans_add(&cs, "#ops", NULL);
	c->names_fresh = true;
	/* multi-prefix "@+"; "~" is not this server's, so only stripped */
	ck_assert_int_eq(chans_names(&cs, c, "@alice +bob @+carol dave ~eve +@fred!f@h"), 0);
	ck_assert_uint_eq(c->nnicks, 6);
	ck_assert_str_eq(pfx(c, "alice"), "@");
	ck_assert_str_eq(pfx(c, "BOB"), "+");
	ck_assert_str_eq(pfx(c, "carol"), "@+");
	ck_assert_str_eq(pfx(c, "dave"), "");
	ck_assert_str_eq(pfx(c, "eve"), "");
	ck_assert_str_eq(pfx(c, "fred"), "@+");	/* kept in PREFIX order */
	ck_assert_str_eq(pfx(c, "nobody"), "-");

	/* MODE: prefix modes take their nick, others their parameter (or not) */
	mode(&cs, c, "+o", (const char *const[]){ "bob", NULL });
	ck_assert_str_eq(pfx(c, "bob"), "@+");
	mode(&cs, c, "-v+v", (const char *const[]){ "bob", "dave", NULL });
	ck_assert_str_eq(pfx(c, "bob"), "@");
	ck_assert_str_eq(pfx(c, "dave"), "+");
	mode(&cs, c, "+lo", (const char *const[]){ "10", "dave", NULL });
	ck_assert_str_eq(pfx(c, "dave"), "@+");
	mode(&cs, c, "-l+o", (const char *const[]){ "eve", NULL });
	ck_assert_str_eq(pfx(c, "eve"), "@");
	mode(&cs, c, "+b-o+k", (const char *const[]){ "x!*@*", "alice", "key", NULL });
	ck_assert_str_eq(pfx(c, "alice"), "");
	mode(&cs, c, "-oo", (const char *const[]){ "carol", "FRED", NULL });
	ck_assert_str_eq(pfx(c, "carol"), "+");
	ck_assert_str_eq(pfx(c, "fred"), "+");
	/* hostile: missing parameters, strangers, junk characters */
	mode(&cs, c, "+oooov", (const char *const[]){ "ghost", NULL });
	mode(&cs, c, "+\xff" "1 -", (const char *const[]){ NULL });
	ck_assert_str_eq(pfx(c, "ghost"), "-");
	ck_assert_uint_eq(c->nnicks, 6);

	/* prefixes move with the member: renames, and removals that reorder */
	ck_assert_int_eq(chans_rename(&cs, "bob", "robert"), 0);
	ck_assert_str_eq(pfx(c, "robert"), "@");
	chans_member_del(c, "alice");
	ck_assert_str_eq(pfx(c, "robert"), "@");
	ck_assert_str_eq(pfx(c, "dave"), "@+");
	ck_assert_str_eq(pfx(c, "carol"), "+");
	ck_assert_str_eq(pfx(c, "eve"), "@");
	ck_assert_str_eq(pfx(c, "fred"), "+");
	ck_assert_int_eq(chans_member_add(c, "newbie"), 0);
	ck_assert_str_eq(pfx(c, "newbie"), "");

	/* another server's PREFIX and CHANMODES */
	ck_assert_int_eq(chans_set_prefix(&cs, "(qaohv)~&@%+"), 0);
	ck_assert_int_eq(chans_set_chanmodes(&cs, "beI,kf,lj,psmntirRcOAQKVCuzNSMTGZ"), 0);
	c->names_fresh = true;
	ck_assert_int_eq(chans_names(&cs, c, "~&al %bo +cy"), 0);
	ck_assert_uint_eq(c->nnicks, 3);
	ck_assert_str_eq(pfx(c, "al"), "~&");
	ck_assert_str_eq(pfx(c, "bo"), "%");
	mode(&cs, c, "+jh-q", (const char *const[]){ "3:5", "cy", "al", NULL });
	ck_assert_str_eq(pfx(c, "cy"), "%+");
	ck_assert_str_eq(pfx(c, "al"), "&");
	/* bad values change nothing */
	ck_assert_int_eq(chans_set_prefix(&cs, "(ov)@"), -EINVAL);
	ck_assert_int_eq(chans_set_prefix(&cs, "ov@+"), -EINVAL);
	ck_assert_int_eq(chans_set_prefix(&cs, "(o1)@+"), -EINVAL);
	ck_assert_int_eq(chans_set_prefix(&cs, "(oo)@+"), -EINVAL);
	ck_assert_int_eq(chans_set_prefix(&cs, "(ov)@a"), -EINVAL);
	ck_assert_int_eq(chans_set_prefix(&cs, "(abcdefghi)!\"#$%&'*+"), -EINVAL);
	ck_assert_int_eq(chans_set_chanmodes(&cs, "b,k,l,i m"), -EINVAL);
	ck_assert_str_eq(cs.modes.prefix_chars, "~&@%+");
	ck_assert_str_eq(cs.modes.param_always, "beIkf");
	ck_assert_str_eq(cs.modes.param_set, "lj");
	/* "PREFIX=()" or "PREFIX=": no prefixes at all */
	ck_assert_int_eq(chans_set_prefix(&cs, "()"), 0);
	ck_assert_str_eq(cs.modes.prefix_chars, "");
	c->names_fresh = true;
	ck_assert_int_eq(chans_names(&cs, c, "@al"), 0);
	ck_assert_str_eq(pfx(c, "al"), "");
	/* a lost connection forgets the server's ways */
	chans_reset(&cs);
	ck_assert_str_eq(cs.modes.prefix_chars, "@+");
	ck_assert_str_eq(cs.modes.param_set, "l");
	chans_free(&cs);
}
END_TEST

START_TEST(complete_nicks)
{
	char *nicks[] = { "Alice", "alex", "bob", "[x]" };
	struct complete c;

	ck_assert_uint_eq(complete_nick(&c, "bo", 2, nicks, 4), 1);
	ck_assert_uint_eq(c.word_start, 0);
	ck_assert_str_eq(c.text, "bob: ");
	ck_assert_uint_eq(complete_nick(&c, "hi ali", 6, nicks, 4), 1);
	ck_assert_uint_eq(c.word_start, 3);
	ck_assert_str_eq(c.text, "Alice ");
	ck_assert_uint_eq(complete_nick(&c, "al", 2, nicks, 4), 2);
	ck_assert_str_eq(c.text, "Al");
	ck_assert_uint_eq(complete_nick(&c, "zz", 2, nicks, 4), 0);
	/* rfc1459: { is [ */
	ck_assert_uint_eq(complete_nick(&c, "{", 1, nicks, 4), 1);
	ck_assert_str_eq(c.text, "[x]: ");
	/* only the text before the cursor counts */
	ck_assert_uint_eq(complete_nick(&c, "bo and more", 2, nicks, 4), 1);
}
END_TEST

START_TEST(complete_commands)
{
	struct complete c;

	ck_assert_uint_eq(complete_command(&c, "/kic", 4), 1);
	ck_assert_str_eq(c.text, "/kick ");
	ck_assert_uint_eq(complete_command(&c, "/ki", 3), 2);
	ck_assert_str_eq(c.text, "/ki");
	ck_assert_uint_eq(complete_command(&c, "/DEV", 4), 1);
	ck_assert_str_eq(c.text, "/devoice ");
	ck_assert_uint_eq(complete_command(&c, "/unb", 4), 1);
	ck_assert_str_eq(c.text, "/unban ");
	ck_assert_uint_eq(complete_command(&c, "/inv", 4), 1);
	ck_assert_str_eq(c.text, "/invite ");
	/* /op and /oper: as far as they agree */
	ck_assert_uint_eq(complete_command(&c, "/o", 2), 2);
	ck_assert_str_eq(c.text, "/op");
	ck_assert_uint_eq(complete_command(&c, "/zz", 3), 0);
}
END_TEST

/* -------------------------------------------------------------- session */

static struct buf sbuf;
static struct session sess;

static unsigned
feed(const char *line)
{
	ck_assert_int_eq(irc_parse(&msg, line, strlen(line)), IRC_PARSE_OK);
	return session_handle(&sess, &msg);
}

/* what was queued since last time, CR LF shown as '|' */
static const char *
sent(void)
{
	static char out[4096];
	size_t n = buf_used(&sbuf), k = 0;

	for (size_t i = 0; i < n && k + 1 < sizeof out; i++) {
		char ch = buf_head(&sbuf)[i];

		if (ch == '\r')
			continue;
		out[k++] = ch == '\n' ? '|' : ch;
	}
	out[k] = '\0';
	buf_consume(&sbuf, n);
	return out;
}

static void
sess_setup(void)
{
	buf_init(&sbuf);
	session_init(&sess, &sbuf, "alice", "al", "Alice A", NULL);
}

static void
sess_teardown(void)
{
	session_free(&sess);
	buf_free(&sbuf);
}

START_TEST(session_register_join)
{
	static char pw[] = "sesame";
	unsigned f;

	ck_assert_int_eq(session_join(&sess, "#ops", NULL), 0);
	ck_assert_str_eq(sent(), "");	/* not registered: remembered only */
	sess.password = pw;
	ck_assert_int_eq(session_register(&sess), 0);
	ck_assert_str_eq(sent(), "CAP LS 302|PASS :sesame|NICK alice|USER al 0 * :Alice A|");
	ck_assert_uint_eq(feed("PING :abc"), 0);
	ck_assert_str_eq(sent(), "PONG :abc|");
	f = feed(":irc.test 001 alice :Welcome to the Net alice!al@127.0.0.1");
	ck_assert(f & SESS_REGISTERED);
	ck_assert(!(f & SESS_NOTE));
	ck_assert_str_eq(sess.userhost, "al@127.0.0.1");
	ck_assert_str_eq(sess.server, "irc.test");
	ck_assert_str_eq(sent(), "JOIN #ops|");
	f = feed(":alice!al@127.0.0.1 JOIN #ops");
	ck_assert(f & SESS_JOINED);
	ck_assert_str_eq(sess.chan, "#ops");
	ck_assert(chans_find(&sess.chans, "#ops")->joined);
	feed(":irc.test 353 alice = #ops :alice @bob");
	ck_assert_uint_eq(chans_find(&sess.chans, "#ops")->nnicks, 2);
	ck_assert_int_eq(session_join(&sess, "#dev", "k"), 0);
	ck_assert_str_eq(sent(), "JOIN #dev k|");
	f = feed(":irc.test 475 alice #dev :Cannot join channel (+k)");
	ck_assert(f & SESS_JOIN_FAILED);
	ck_assert_ptr_null(chans_find(&sess.chans, "#dev"));
	f = feed(":alice!al@h PART #ops");
	ck_assert(f & SESS_LEFT);
	ck_assert_ptr_null(chans_find(&sess.chans, "#ops"));
	ck_assert_int_eq(session_ack(&sess), 0);
	ck_assert_str_eq(sent(), "PING :shmchat-ack-1|");
	ck_assert_uint_eq(feed(":irc.test PONG irc.test :other"), 0);
	ck_assert(feed(":irc.test PONG irc.test :shmchat-ack-1") & SESS_ACK);
}
END_TEST

START_TEST(session_nick_collision)
{
	unsigned f;

	session_join(&sess, "#ops", NULL);
	session_register(&sess);
	sent();
	f = feed(":irc.test 433 * alice :Nickname is already in use");
	ck_assert(f & SESS_NOTE);
	ck_assert(f & SESS_HANDLED);
	ck_assert_str_eq(sess.nick, "alice_");
	ck_assert_str_eq(sent(), "NICK alice_|");
	feed(":irc.test 433 * alice_ :Nickname is already in use");
	ck_assert_str_eq(sent(), "NICK alice2|");
	f = feed(":irc.test 001 alice2 :Welcome");
	ck_assert(f & SESS_REGISTERED);
	ck_assert(f & SESS_NOTE);
	ck_assert_ptr_nonnull(strstr(sess.note, "alice was taken"));
	ck_assert_str_eq(sent(), "JOIN #ops|");
	/* after a reconnect we ask for the nick we wanted, and rejoin */
	session_reset(&sess);
	ck_assert_str_eq(sess.nick, "alice");
	ck_assert(!chans_find(&sess.chans, "#ops")->joined);
	/* a 433 after registration (a /nick) is not ours to handle */
	feed(":irc.test 001 alice :Welcome");
	sent();
	ck_assert_uint_eq(feed(":irc.test 433 alice bob :Nickname is already in use"), 0);
	ck_assert_str_eq(sent(), "");
}
END_TEST

START_TEST(session_nick_too_long)
{
	char alt[64];

	session_alt_nick(alt, sizeof alt, "alice", 1, 30);
	ck_assert_str_eq(alt, "alice_");
	session_alt_nick(alt, sizeof alt, "alice", 12, 30);
	ck_assert_str_eq(alt, "alice12");
	session_alt_nick(alt, sizeof alt, "abcdefghi", 1, 9);
	ck_assert_str_eq(alt, "abcdefgh_");
	session_alt_nick(alt, sizeof alt, "abcdefghi", 3, 9);
	ck_assert_str_eq(alt, "abcdefgh3");

	/* a 9-character nick in use on a server with NICKLEN 9 */
	session_free(&sess);
	session_init(&sess, &sbuf, "deploybot", "d", "D", NULL);
	session_register(&sess);
	sent();
	feed(":irc.test 433 * deploybot :Nickname is already in use");
	ck_assert_str_eq(sent(), "NICK deploybot_|");
	/* too long: the same try, shorter */
	feed(":irc.test 432 * deploybot_ :Nickname too long, max. 9 characters");
	ck_assert_str_eq(sent(), "NICK deploybo_|");
	/* the wanted nick itself refused: give up */
	session_reset(&sess);
	ck_assert(feed(":irc.test 432 * deploybot :Erroneous Nickname") & SESS_REFUSED);
	ck_assert_int_eq(sess.refused, SESS_REFUSED_OTHER);
}
END_TEST

START_TEST(session_refusals)
{
	session_register(&sess);
	ck_assert(feed(":irc.test 464 * :Password incorrect") & SESS_REFUSED);
	ck_assert_int_eq(sess.refused, SESS_REFUSED_PASSWORD);
	session_reset(&sess);
	ck_assert(feed("ERROR :Closing Link: (Server is full)") & SESS_REFUSED);
	ck_assert_int_eq(sess.refused, SESS_REFUSED_OTHER);
	ck_assert_ptr_nonnull(strstr(sess.note, "Server is full"));
}
END_TEST

START_TEST(session_tracks_others)
{
	session_join(&sess, "#ops", NULL);
	feed(":irc.test 001 alice :Welcome");
	feed(":alice!a@h JOIN #ops");
	feed(":irc.test 353 alice = #ops :alice bob");
	feed(":irc.test 366 alice #ops :End");
	feed(":carol!c@h JOIN #ops");
	ck_assert_uint_eq(chans_find(&sess.chans, "#ops")->nnicks, 3);
	feed(":bob!b@h NICK robert");
	ck_assert_str_eq(chans_find(&sess.chans, "#ops")->nicks[1], "robert");
	feed(":robert!b@h QUIT :bye");
	feed(":op!o@h KICK #ops carol :x");
	ck_assert_uint_eq(chans_find(&sess.chans, "#ops")->nnicks, 1);
	ck_assert(feed(":alice!a@h NICK alicia") & SESS_NICK);
	ck_assert_str_eq(sess.nick, "alicia");
	ck_assert_str_eq(sess.want_nick, "alicia");
	ck_assert(feed(":op!o@h KICK #ops alicia :out") & SESS_LEFT);
	ck_assert_ptr_null(chans_find(&sess.chans, "#ops"));
}
END_TEST

START_TEST(session_isupport_and_prefixes)
{
	struct chan *c;

	ck_assert_int_eq(session_modes_per_line(&sess), 3);
	session_join(&sess, "#ops", NULL);
	feed(":irc.test 001 alice :Welcome");
	feed(":irc.test 005 alice NICKLEN=30 PREFIX=(qov)~@+ MODES=4 CHANMODES=b,k,l,nt "
	    ":are supported by this server");
	ck_assert_int_eq(session_modes_per_line(&sess), 4);
	ck_assert_str_eq(sess.chans.modes.prefix_chars, "~@+");
	feed(":alice!a@h JOIN #ops");
	c = chans_find(&sess.chans, "#ops");
	ck_assert_str_eq(chans_prefix_of(c, "alice"), "");
	feed(":irc.test 353 alice = #ops :~@alice +bob carol");
	feed(":irc.test 366 alice #ops :End of /NAMES list.");
	ck_assert_str_eq(chans_prefix_of(c, "alice"), "~@");
	ck_assert_str_eq(chans_prefix_of(c, "bob"), "+");
	ck_assert_uint_eq(feed(":alice!a@h MODE #ops +lo 5 carol"), 0);
	ck_assert_str_eq(chans_prefix_of(c, "carol"), "@");
	feed(":bob!b@h MODE #ops -q+v alice alice");
	ck_assert_str_eq(chans_prefix_of(c, "alice"), "@+");
	/* user modes and strangers' channels touch nothing */
	feed(":alice MODE alice :+i");
	feed(":x!x@h MODE #elsewhere +o alice");
	feed(":x!x@h MODE #ops");
	ck_assert_str_eq(chans_prefix_of(c, "alice"), "@+");
	/* a second NAMES reply replaces the list, prefixes included */
	feed(":irc.test 353 alice = #ops :alice @carol");
	ck_assert_str_eq(chans_prefix_of(c, "alice"), "");
	ck_assert_ptr_null(chans_prefix_of(c, "bob"));
	/* "MODES" without a value: the line length is the limit */
	feed(":irc.test 005 alice MODES :are supported by this server");
	ck_assert_int_gt(session_modes_per_line(&sess), 10);
	feed(":irc.test 005 alice MODES=-2 :are supported by this server");
	ck_assert_int_gt(session_modes_per_line(&sess), 10);
	feed(":irc.test 005 alice MODES=99999999999999999999999 :are supported by this server");
	ck_assert_int_eq(session_modes_per_line(&sess), SESSION_MODES_NOLIMIT);
	feed(":irc.test 005 alice MODES=5x :are supported by this server");
	ck_assert_int_eq(session_modes_per_line(&sess), SESSION_MODES_NOLIMIT);
	feed(":irc.test 005 alice MODES=6 :are supported by this server");
	ck_assert_int_eq(session_modes_per_line(&sess), 6);
	/* the next server starts from the defaults again */
	session_reset(&sess);
	ck_assert_int_eq(session_modes_per_line(&sess), 3);
	ck_assert_str_eq(sess.chans.modes.prefix_chars, "@+");
}
END_TEST

START_TEST(session_kicked_stays_out)
{
	unsigned f;

	session_join(&sess, "#ops", NULL);
	session_join(&sess, "#dev", NULL);
	feed(":irc.test 001 alice :Welcome");
	ck_assert_str_eq(sent(), "JOIN #ops|JOIN #dev|");
	feed(":alice!a@h JOIN #ops");
	feed(":alice!a@h JOIN #dev");
	f = feed(":op!o@h KICK #ops Alice :behave");
	ck_assert(f & SESS_LEFT);
	ck_assert_str_eq(sess.chan, "#ops");
	ck_assert_ptr_null(chans_find(&sess.chans, "#ops"));
	/* after a reconnect only the other channel is joined again */
	session_reset(&sess);
	feed(":irc.test 001 alice :Welcome");
	ck_assert_str_eq(sent(), "JOIN #dev|");
	/* a kick without a reason, and one with too few parameters */
	feed(":alice!a@h JOIN #dev");
	ck_assert_uint_eq(feed(":op!o@h KICK #dev"), 0);
	ck_assert_ptr_nonnull(chans_find(&sess.chans, "#dev"));
	ck_assert(feed(":op!o@h KICK #dev alice") & SESS_LEFT);
	session_reset(&sess);
	feed(":irc.test 001 alice :Welcome");
	ck_assert_str_eq(sent(), "");
}
END_TEST

/* ----------------------------------------------------------------- opts */

static int
opts_of(struct opts *o, char *err, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"shmchat";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	opts_init(o);
	return opts_parse(o, argc, argv, err, 256);
}

START_TEST(opts_server)
{
	char *h = NULL, *p = NULL;

	ck_assert_int_eq(opts_parse_server("irc.example.org", &h, &p), 0);
	ck_assert_str_eq(h, "irc.example.org");
	ck_assert_str_eq(p, "6667");
	ck_assert_int_eq(opts_parse_server("127.0.0.1:6697", &h, &p), 0);
	ck_assert_str_eq(h, "127.0.0.1");
	ck_assert_str_eq(p, "6697");
	ck_assert_int_eq(opts_parse_server("[::1]:7000", &h, &p), 0);
	ck_assert_str_eq(h, "::1");
	ck_assert_str_eq(p, "7000");
	ck_assert_int_eq(opts_parse_server("[::1]", &h, &p), 0);
	ck_assert_str_eq(p, "6667");
	ck_assert_int_eq(opts_parse_server("fe80::1", &h, &p), 0);
	ck_assert_str_eq(h, "fe80::1");
	ck_assert_int_eq(opts_parse_server("host:0", &h, &p), -1);
	ck_assert_int_eq(opts_parse_server("host:70000", &h, &p), -1);
	ck_assert_int_eq(opts_parse_server("host:", &h, &p), -1);
	ck_assert_int_eq(opts_parse_server(":6667", &h, &p), -1);
	ck_assert_int_eq(opts_parse_server("[::1]x", &h, &p), -1);
	ck_assert_int_eq(opts_parse_server("host:12ab", &h, &p), -1);
	free(h);
	free(p);
}
END_TEST

START_TEST(opts_command_line)
{
	struct opts o;
	char err[256];

	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-n", "bot", "-c", "#a,b",
	    "--channel", "#c", "--server", "h:1", "-l", "--json", "--timeout", "5",
	    "--password", "pw", "--to", "bob", "--no-color", NULL }), OPTS_OK);
	ck_assert_str_eq(o.nick, "bot");
	ck_assert_uint_eq(o.nchannels, 3);
	ck_assert_str_eq(o.channels[1], "#b");
	ck_assert_str_eq(o.host, "h");
	ck_assert_str_eq(o.port, "1");
	ck_assert_int_eq(o.mode, OPTS_LISTEN);
	ck_assert(o.json);
	ck_assert(o.no_color);
	ck_assert_int_eq(o.timeout, 5);
	ck_assert_str_eq(o.password, "pw");
	ck_assert_str_eq(o.target, "bob");
	opts_free(&o);

	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--help", NULL }), OPTS_HELP);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-V", NULL }), OPTS_VERSION);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-n", "9bad", NULL }), OPTS_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "invalid nick"));
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--json", NULL }), OPTS_ERR_USAGE);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--bogus", NULL }), OPTS_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "--bogus"));
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-n", NULL }), OPTS_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "needs an argument"));
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "stray", NULL }), OPTS_ERR_USAGE);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-T", "0", NULL }), OPTS_ERR_USAGE);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-c", "#a b", NULL }), OPTS_OK);
	ck_assert_uint_eq(o.nchannels, 2);
	opts_free(&o);
}
END_TEST

static char *
write_conf(const char *text)
{
	static char path[4096];
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof path, "%s/check_client_conf_XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

START_TEST(opts_config_file)
{
	struct opts o;
	char err[256], *path;

	path = write_conf("server = \"irc.example.org:7000\";\nnick = \"filenick\";\n"
	    "channel = [\"#one\", \"two\"];\ncolor = false;\ntimeout = 9;\nrealname = \"R\";\n");
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-C", path, "-n", "clinick", NULL }),
	    OPTS_OK);
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	/* the command line wins */
	ck_assert_str_eq(o.nick, "clinick");
	ck_assert_str_eq(o.host, "irc.example.org");
	ck_assert_str_eq(o.port, "7000");
	ck_assert_uint_eq(o.nchannels, 2);
	ck_assert_str_eq(o.channels[1], "#two");
	ck_assert(o.no_color);
	ck_assert_int_eq(o.timeout, 9);
	ck_assert_int_eq(opts_finish(&o, err, sizeof err), OPTS_OK);
	ck_assert_str_eq(o.realname, "R");
	ck_assert_str_eq(o.user, o.user);
	opts_free(&o);
	unlink(path);

	/* channels on the command line replace the file's */
	path = write_conf("channel = \"#file\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, "-c", "#cli", NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	ck_assert_uint_eq(o.nchannels, 1);
	ck_assert_str_eq(o.channels[0], "#cli");
	opts_free(&o);
	unlink(path);

	path = write_conf("nick = \"ok\";\nnikc = \"typo\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, ":2: unknown setting 'nikc'"));
	opts_free(&o);
	unlink(path);

	path = write_conf("nick = \"ok\";\nserver = ;\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, ":2: "));
	opts_free(&o);
	unlink(path);

	path = write_conf("timeout = \"long\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "timeout"));
	opts_free(&o);
	unlink(path);

	/* an explicit file must exist */
	opts_of(&o, err, (const char *[]){ "-C", "/nonexistent/shmchat.conf", NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	opts_free(&o);
}
END_TEST

START_TEST(opts_xdg_and_defaults)
{
	char path[512], nick[16];
	struct opts o;
	char err[256];

	setenv("XDG_CONFIG_HOME", "/x/y", 1);
	ck_assert_int_eq(opts_xdg_path(path, sizeof path), 0);
	ck_assert_str_eq(path, "/x/y/shmchat/shmchat.conf");
	setenv("XDG_CONFIG_HOME", "relative", 1);
	setenv("HOME", "/home/u", 1);
	ck_assert_int_eq(opts_xdg_path(path, sizeof path), 0);
	ck_assert_str_eq(path, "/home/u/.config/shmchat/shmchat.conf");

	opts_sanitize_nick(nick, sizeof nick, "john.smith");
	ck_assert_str_eq(nick, "johnsmith");
	opts_sanitize_nick(nick, sizeof nick, "1root");
	ck_assert_str_eq(nick, "root");
	opts_sanitize_nick(nick, sizeof nick, "verylongloginname");
	ck_assert_str_eq(nick, "verylongl");
	opts_sanitize_nick(nick, sizeof nick, "...");
	ck_assert_str_eq(nick, "shmchat");

	setenv("USER", "tester", 1);
	opts_init(&o);
	ck_assert_int_eq(opts_finish(&o, err, sizeof err), OPTS_OK);
	ck_assert_str_eq(o.host, "localhost");
	ck_assert_str_eq(o.port, "6667");
	ck_assert_str_eq(o.nick, "tester");
	ck_assert_str_eq(o.user, "tester");
	opts_free(&o);
}
END_TEST

/* ------------------------------------------------------------------ tls */

#define FP_UPPER "C9:07:F6:F1:F3:83:9A:11:55:9D:5B:D4:D2:D9:69:55:" \
	"D7:2C:A4:AE:2C:7A:6C:18:22:A5:ED:63:F1:9F:47:DB"

START_TEST(tls_fingerprints)
{
	unsigned char a[TLS_FP_LEN], b[TLS_FP_LEN];
	char text[TLS_FP_TEXT], bad[128];

	ck_assert_int_eq(tls_fp_parse(FP_UPPER, a), 0);
	ck_assert_uint_eq(a[0], 0xc9);
	ck_assert_uint_eq(a[31], 0xdb);
	tls_fp_format(text, a);
	ck_assert_str_eq(text, FP_UPPER);
	/* lower case, no colons: the same */
	ck_assert_int_eq(tls_fp_parse("c907f6f1f3839a11559d5bd4d2d96955"
	    "d72ca4ae2c7a6c1822a5ed63f19f47db", b), 0);
	ck_assert_mem_eq(a, b, TLS_FP_LEN);
	ck_assert_int_eq(tls_fp_parse("c9:07:F6:f1:F3:83:9a:11:55:9D:5B:D4:D2:D9:69:55:"
	    "D7:2C:A4:AE:2C:7A:6C:18:22:A5:ED:63:F1:9F:47:db", b), 0);
	ck_assert_mem_eq(a, b, TLS_FP_LEN);

	/* malformed: each refused */
	ck_assert_int_eq(tls_fp_parse("", a), -1);
	ck_assert_int_eq(tls_fp_parse("C9:07", a), -1);
	/* SHA-1 length (20 bytes) */
	ck_assert_int_eq(tls_fp_parse("C9:07:F6:F1:F3:83:9A:11:55:9D:5B:D4:D2:D9:69:55:"
	    "D7:2C:A4:AE", a), -1);
	/* one digit too many, one too few */
	ck_assert_int_eq(tls_fp_parse("c907f6f1f3839a11559d5bd4d2d96955"
	    "d72ca4ae2c7a6c1822a5ed63f19f47db0", a), -1);
	ck_assert_int_eq(tls_fp_parse("c907f6f1f3839a11559d5bd4d2d96955"
	    "d72ca4ae2c7a6c1822a5ed63f19f47d", a), -1);
	/* a non-hex digit */
	snprintf(bad, sizeof bad, "%s", FP_UPPER);
	bad[4] = 'G';
	ck_assert_int_eq(tls_fp_parse(bad, a), -1);
	/* colons in some places only, or another separator */
	snprintf(bad, sizeof bad, "%s", FP_UPPER);
	bad[2] = '-';
	ck_assert_int_eq(tls_fp_parse(bad, a), -1);
	ck_assert_int_eq(tls_fp_parse("C9:07F6:F1:F3:83:9A:11:55:9D:5B:D4:D2:D9:69:55:"
	    "D7:2C:A4:AE:2C:7A:6C:18:22:A5:ED:63:F1:9F:47:DB:", a), -1);
	snprintf(bad, sizeof bad, " %s", FP_UPPER);
	ck_assert_int_eq(tls_fp_parse(bad, a), -1);
	snprintf(bad, sizeof bad, "SHA256:%s", FP_UPPER);
	ck_assert_int_eq(tls_fp_parse(bad, a), -1);

	/* formatting all values */
	for (int i = 0; i < TLS_FP_LEN; i++)
		a[i] = (unsigned char)(i * 8 + 7);
	tls_fp_format(text, a);
	ck_assert_uint_eq(strlen(text), TLS_FP_TEXT - 1);
	ck_assert_int_eq(tls_fp_parse(text, b), 0);
	ck_assert_mem_eq(a, b, TLS_FP_LEN);
}
END_TEST

START_TEST(opts_tls)
{
	struct opts o;
	char err[256], *path;

	/* --tls: port 6697 unless one is given */
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls", "-s", "irc.example.org",
	    NULL }), OPTS_OK);
	ck_assert(o.tls && !o.tls_no_verify && !o.tls_pin && o.tls_ca == NULL);
	ck_assert_int_eq(opts_finish(&o, err, sizeof err), OPTS_OK);
	ck_assert_str_eq(o.port, "6697");
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-s", "[::1]:7000", "--tls", NULL }),
	    OPTS_OK);
	ck_assert_int_eq(opts_finish(&o, err, sizeof err), OPTS_OK);
	ck_assert_str_eq(o.port, "7000");
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-s", "irc.example.org", NULL }),
	    OPTS_OK);
	ck_assert_int_eq(opts_finish(&o, err, sizeof err), OPTS_OK);
	ck_assert(!o.tls);
	ck_assert_str_eq(o.port, "6667");
	opts_free(&o);

	/* each way of verifying implies --tls */
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-fingerprint",
	    "c907f6f1f3839a11559d5bd4d2d96955d72ca4ae2c7a6c1822a5ed63f19f47db", NULL }), OPTS_OK);
	ck_assert(o.tls && o.tls_pin);
	ck_assert_uint_eq(o.tls_fp[0], 0xc9);
	ck_assert_uint_eq(o.tls_fp[31], 0xdb);
	ck_assert_int_eq(opts_finish(&o, err, sizeof err), OPTS_OK);
	ck_assert_str_eq(o.port, "6697");
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-no-verify", NULL }), OPTS_OK);
	ck_assert(o.tls && o.tls_no_verify);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-ca", "/x/ca.pem", NULL }),
	    OPTS_OK);
	ck_assert(o.tls);
	ck_assert_str_eq(o.tls_ca, "/x/ca.pem");
	opts_free(&o);

	/* bad values, contradictions */
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-fingerprint", "abc", NULL }),
	    OPTS_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "invalid --tls-fingerprint 'abc'"));
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-fingerprint", NULL }),
	    OPTS_ERR_USAGE);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-ca", "", NULL }),
	    OPTS_ERR_USAGE);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-no-verify", "--tls-fingerprint",
	    FP_UPPER, NULL }), OPTS_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "--tls-no-verify and --tls-fingerprint exclude"));
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-ca", "f", "--tls-no-verify",
	    NULL }), OPTS_ERR_USAGE);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--tls-ca", "f", "--tls-fingerprint",
	    FP_UPPER, NULL }), OPTS_ERR_USAGE);
	opts_free(&o);

	/* the config file: the same settings */
	path = write_conf("server = \"irc.example.org\";\ntls = true;\n"
	    "tls-fingerprint = \"" FP_UPPER "\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	ck_assert(o.tls && o.tls_pin && !o.tls_no_verify);
	ck_assert_uint_eq(o.tls_fp[1], 0x07);
	ck_assert_int_eq(opts_finish(&o, err, sizeof err), OPTS_OK);
	ck_assert_str_eq(o.port, "6697");
	opts_free(&o);
	/* the command line's way of verifying replaces the file's */
	opts_of(&o, err, (const char *[]){ "-C", path, "--tls-no-verify", NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	ck_assert(o.tls && o.tls_no_verify && !o.tls_pin);
	opts_free(&o);
	unlink(path);

	path = write_conf("tls-ca = \"/etc/ca.pem\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	ck_assert(o.tls);
	ck_assert_str_eq(o.tls_ca, "/etc/ca.pem");
	opts_free(&o);
	unlink(path);

	path = write_conf("tls = false;\n");
	opts_of(&o, err, (const char *[]){ "-C", path, "--tls", NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	ck_assert(o.tls);	/* the command line wins */
	opts_free(&o);
	unlink(path);

	path = write_conf("nick = \"x\";\ntls-fingerprint = \"C9:07\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, ":2: invalid tls-fingerprint"));
	opts_free(&o);
	unlink(path);

	path = write_conf("tls = \"yes\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, ":1: tls must be true or false"));
	opts_free(&o);
	unlink(path);

	path = write_conf("tls-no-verify = true;\ntls-ca = \"/etc/ca.pem\";\n");
	opts_of(&o, err, (const char *[]){ "-C", path, NULL });
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "tls-no-verify and tls-ca exclude each other"));
	opts_free(&o);
	unlink(path);
}
END_TEST

/* ---------------------------------------------------------------- IRCv3 */

#define ALL_CAPS "server-time echo-message message-tags batch multi-prefix away-notify " \
	"draft/chathistory labeled-response"

START_TEST(cap_negotiation)
{
	unsigned all = SESSION_CAP_SERVER_TIME | SESSION_CAP_ECHO_MESSAGE |
	    SESSION_CAP_MESSAGE_TAGS | SESSION_CAP_BATCH | SESSION_CAP_MULTI_PREFIX |
	    SESSION_CAP_AWAY_NOTIFY | SESSION_CAP_CHATHISTORY | SESSION_CAP_LABELED_RESPONSE;

	session_join(&sess, "#ops", NULL);
	ck_assert(session_echo_local(&sess));
	ck_assert_int_eq(session_register(&sess), 0);
	/* NICK and USER at once: a server without CAP registers us anyway */
	ck_assert_str_eq(sent(), "CAP LS 302|NICK alice|USER al 0 * :Alice A|");
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_LS);
	ck_assert(feed(":srv CAP * LS :away-notify batch cap-notify chghost draft/chathistory "
	    "echo-message extended-join invite-notify labeled-response message-tags multi-prefix "
	    "server-time setname userhost-in-names") & SESS_HANDLED);
	ck_assert_str_eq(sent(), "CAP REQ :" ALL_CAPS "|");
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_REQ);
	ck_assert(!session_has_cap(&sess, SESSION_CAP_SERVER_TIME));
	feed(":srv CAP * ACK :" ALL_CAPS " ");
	ck_assert_str_eq(sent(), "CAP END|");
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_DONE);
	ck_assert_uint_eq(sess.caps, all);
	ck_assert(session_has_cap(&sess, SESSION_CAP_ECHO_MESSAGE));
	/* echo-message: what we send is shown when the server sends it back */
	ck_assert(!session_echo_local(&sess));
	ck_assert_str_eq(session_cap_name(SESSION_CAP_CHATHISTORY), "draft/chathistory");
	ck_assert_ptr_null(session_cap_name(1u << 30));
	feed(":srv 001 alice :Welcome");
	ck_assert_str_eq(sent(), "JOIN #ops|");
	/* the next connection negotiates afresh */
	session_reset(&sess);
	ck_assert_uint_eq(sess.caps, 0);
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_IDLE);
}
END_TEST

START_TEST(cap_nak_and_values)
{
	session_register(&sess);
	sent();
	/* values and capabilities we do not use are left alone */
	feed(":srv CAP * LS :sts=port=6697,duration=300 server-time=x chghost");
	ck_assert_str_eq(sent(), "CAP REQ :server-time|");
	/* all or nothing: refused, so registration goes on without */
	feed(":srv CAP * NAK :server-time");
	ck_assert_str_eq(sent(), "CAP END|");
	ck_assert_uint_eq(sess.caps, 0);
	ck_assert(feed(":srv 001 alice :Welcome") & SESS_REGISTERED);

	/* a server that offers nothing (or only what we do not want) */
	session_reset(&sess);
	session_register(&sess);
	sent();
	feed(":srv CAP * LS :");
	ck_assert_str_eq(sent(), "CAP END|");
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_DONE);
	/* an ACK that also turns one off */
	session_reset(&sess);
	session_register(&sess);
	sent();
	feed(":srv CAP * LS :batch server-time");
	ck_assert_str_eq(sent(), "CAP REQ :server-time batch|");
	feed(":srv CAP * ACK :server-time -batch");
	ck_assert_uint_eq(sess.caps, SESSION_CAP_SERVER_TIME);
	ck_assert_str_eq(sent(), "CAP END|");
}
END_TEST

START_TEST(cap_ls_multiline)
{
	session_register(&sess);
	sent();
	/* CAP 302: "*" before the list says more lines follow */
	feed(":srv CAP * LS * :server-time batch");
	ck_assert_str_eq(sent(), "");
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_LS);
	feed(":srv CAP * LS * :multi-prefix");
	ck_assert_str_eq(sent(), "");
	feed(":srv CAP * LS :echo-message");
	ck_assert_str_eq(sent(), "CAP REQ :server-time echo-message batch multi-prefix|");
	feed(":srv CAP * ACK :server-time echo-message batch multi-prefix");
	ck_assert_str_eq(sent(), "CAP END|");
	/* a too short CAP line is ignored */
	ck_assert(feed(":srv CAP *") & SESS_HANDLED);
}
END_TEST

START_TEST(cap_no_cap_server)
{
	session_join(&sess, "#ops", NULL);
	session_register(&sess);
	sent();
	/* "unknown command": no CAP END, nothing shown, registration goes on */
	ck_assert(feed(":old 421 * CAP :Unknown command") & SESS_HANDLED);
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_DONE);
	ck_assert_str_eq(sent(), "");
	ck_assert(feed(":old 001 alice :Welcome") & SESS_REGISTERED);
	ck_assert_str_eq(sent(), "JOIN #ops|");
	/* a later 421 for something else is not ours */
	ck_assert_uint_eq(feed(":old 421 alice FOO :Unknown command"), 0);

	/* one that ignores CAP and welcomes us: negotiation is over, no CAP END */
	session_reset(&sess);
	session_register(&sess);
	sent();
	ck_assert(feed(":old 001 alice :Welcome") & SESS_REGISTERED);
	ck_assert_int_eq(sess.cap_state, SESSION_CAP_DONE);
	ck_assert_str_eq(sent(), "JOIN #ops|");
	feed(":old 451 * :You have not registered");
	ck_assert_str_eq(sent(), "");
}
END_TEST

START_TEST(cap_new_del)
{
	session_register(&sess);
	feed(":srv CAP * LS :server-time");
	feed(":srv CAP * ACK :server-time");
	feed(":srv 001 alice :Welcome");
	sent();
	/* cap-notify: asked for when offered later, no CAP END after registration */
	feed(":srv CAP alice NEW :away-notify chghost");
	ck_assert_str_eq(sent(), "CAP REQ :away-notify|");
	feed(":srv CAP alice ACK :away-notify");
	ck_assert_str_eq(sent(), "");
	ck_assert(session_has_cap(&sess, SESSION_CAP_AWAY_NOTIFY));
	/* one we have already: not asked again */
	feed(":srv CAP alice NEW :server-time");
	ck_assert_str_eq(sent(), "");
	ck_assert(session_echo_local(&sess));
	feed(":srv CAP alice NEW :echo-message");
	ck_assert_str_eq(sent(), "CAP REQ :echo-message|");
	feed(":srv CAP alice ACK :echo-message");
	ck_assert(!session_echo_local(&sess));
	/* withdrawn: our own lines are shown locally again */
	feed(":srv CAP alice DEL :echo-message");
	ck_assert(session_echo_local(&sess));
	feed(":srv CAP alice DEL :away-notify server-time");
	ck_assert_uint_eq(sess.caps, 0);
	ck_assert_uint_eq(sess.caps_offered, 0);
	ck_assert_str_eq(sent(), "");
	/* offered again later: asked for again */
	feed(":srv CAP alice NEW :server-time");
	ck_assert_str_eq(sent(), "CAP REQ :server-time|");
	feed(":srv CAP alice NAK :server-time");
	ck_assert_uint_eq(sess.caps, 0);
	ck_assert_str_eq(sent(), "");
}
END_TEST

/* register with every capability, in #ops, with n lines of history on join */
static void
v3_setup(int n, const char *isupport)
{
	char line[512];

	session_join(&sess, "#ops", NULL);
	sess.history = n;
	session_register(&sess);
	feed(":srv CAP * LS :" ALL_CAPS);
	feed(":srv CAP * ACK :" ALL_CAPS);
	feed(":srv 001 alice :Welcome");
	if (isupport != NULL) {
		snprintf(line, sizeof line, ":srv 005 alice %s :are supported", isupport);
		feed(line);
	}
	sent();
}

START_TEST(history_on_join)
{
	unsigned f;
	struct chan *c;

	v3_setup(100, "CHATHISTORY=50 MSGREFTYPES=timestamp,msgid");
	ck_assert_int_eq(sess.chathistory_max, 50);
	f = feed("@time=2026-12-06T10:00:00.000Z;msgid=j1 :alice!al@h JOIN #ops");
	ck_assert(f & SESS_JOINED);
	/* bounded by the server's limit */
	ck_assert_str_eq(sent(), "CHATHISTORY LATEST #ops * 50|");
	ck_assert_uint_eq(feed(":srv BATCH +h1 chathistory #ops"), SESS_HANDLED);
	f = feed("@batch=h1;time=2026-12-05T09:30:00.000Z;msgid=m1 :bob!b@h PRIVMSG #ops :old");
	ck_assert_uint_eq(f, SESS_HISTORY);
	/* history is shown, never acted on: an old JOIN of ours changes nothing */
	f = feed("@batch=h1;time=2026-12-05T09:31:00.000Z;msgid=m2 :alice!al@h JOIN #ops");
	ck_assert_uint_eq(f, SESS_HISTORY);
	ck_assert_uint_eq(feed("@batch=h1 :carol!c@h QUIT :bye"), SESS_HISTORY);
	ck_assert_str_eq(sent(), "");
	f = feed(":srv BATCH -h1");
	ck_assert(f & SESS_HISTORY_END);
	ck_assert_str_eq(sess.chan, "#ops");
	ck_assert_int_eq(sess.history_count, 3);
	ck_assert_int_eq(sess.nbatches, 0);
	/* the batch is closed: a stray line naming it is live */
	ck_assert_uint_eq(feed("@batch=h1 :bob!b@h PRIVMSG #ops :late"), 0);

	c = chans_find(&sess.chans, "#ops");
	ck_assert_str_eq(c->oldest_time, "2026-12-05T09:30:00.000Z");
	ck_assert_str_eq(c->oldest_msgid, "m1");
	/* /history goes on before the oldest line seen */
	ck_assert_int_eq(session_history(&sess, "#ops", 0), 0);
	ck_assert_str_eq(sent(), "CHATHISTORY BEFORE #ops msgid=m1 20|");
	ck_assert_int_eq(session_history(&sess, "#OPS", 500), 0);
	ck_assert_str_eq(sent(), "CHATHISTORY BEFORE #ops msgid=m1 50|");
	ck_assert_int_eq(session_history(&sess, "#dev", 5), -ENOENT);
	/* a server that takes timestamps only */
	feed(":srv 005 alice MSGREFTYPES=timestamp :are supported");
	ck_assert_int_eq(session_history(&sess, "#ops", 5), 0);
	ck_assert_str_eq(sent(), "CHATHISTORY BEFORE #ops timestamp=2026-12-05T09:30:00.000Z 5|");
	/* newer live lines do not move the mark back */
	feed("@time=2026-12-06T11:00:00.000Z;msgid=m9 :bob!b@h PRIVMSG #ops :new");
	ck_assert_str_eq(c->oldest_msgid, "m1");
	ck_assert_str_eq(c->newest_msgid, "m9");
	sent();

	/* back after a reconnect: only what came after the newest line seen */
	session_reset(&sess);
	session_register(&sess);
	feed(":srv CAP * LS :" ALL_CAPS);
	feed(":srv CAP * ACK :" ALL_CAPS);
	feed(":srv 001 alice :Welcome");
	sent();
	feed(":alice!al@h JOIN #ops");
	ck_assert_str_eq(sent(), "CHATHISTORY LATEST #ops msgid=m9 100|");
	session_reset(&sess);
	session_register(&sess);
	feed(":srv CAP * LS :" ALL_CAPS);
	feed(":srv CAP * ACK :" ALL_CAPS);
	feed(":srv 001 alice :Welcome");
	feed(":srv 005 alice MSGREFTYPES=timestamp :are supported");
	sent();
	feed(":alice!al@h JOIN #ops");
	ck_assert_str_eq(sent(), "CHATHISTORY LATEST #ops timestamp=2026-12-06T11:00:00.000Z 100|");
}
END_TEST

START_TEST(history_live_and_off)
{
	v3_setup(0, NULL);
	/* history 0: nothing fetched on join */
	feed(":alice!al@h JOIN #ops");
	ck_assert_str_eq(sent(), "");
	/* nothing seen: /history asks for the latest */
	ck_assert_int_eq(session_history(&sess, "#ops", 10), 0);
	ck_assert_str_eq(sent(), "CHATHISTORY LATEST #ops * 10|");
	/* a live line with server-time is where the next /history starts */
	feed("@time=2026-12-06T10:00:00.123Z;msgid=L1 :bob!b@h PRIVMSG #ops :now");
	ck_assert_int_eq(session_history(&sess, "#ops", 10), 0);
	ck_assert_str_eq(sent(), "CHATHISTORY BEFORE #ops msgid=L1 10|");
	/* nested: a chathistory batch inside a labeled-response one */
	feed("@label=x :srv BATCH +lr labeled-response");
	feed("@batch=lr :srv BATCH +in chathistory #ops");
	ck_assert_uint_eq(feed("@batch=in;time=2026-12-06T09:00:00.000Z :bob!b@h PRIVMSG #ops :o"),
	    SESS_HISTORY);
	ck_assert(feed(":srv BATCH -in") & SESS_HISTORY_END);
	ck_assert_int_eq(sess.history_count, 1);
	ck_assert_uint_eq(feed("@batch=lr :srv NOTICE alice :not history"), 0);
	feed(":srv BATCH -lr");
	ck_assert_int_eq(sess.nbatches, 0);
	/* a server that never closes its batches cannot make us grow */
	for (int i = 0; i < 3 * SESSION_BATCHES; i++) {
		char line[64];

		snprintf(line, sizeof line, ":srv BATCH +b%d netsplit a b", i);
		feed(line);
	}
	ck_assert_int_eq(sess.nbatches, SESSION_BATCHES);

	/* offered but unknown: given up quietly but for a note */
	ck_assert_uint_eq(feed(":srv 421 alice CHATHISTORY :Unknown command"),
	    SESS_NOTE | SESS_HANDLED);
	ck_assert(!session_has_cap(&sess, SESSION_CAP_CHATHISTORY));
	ck_assert_int_eq(session_history(&sess, "#ops", 10), -ENOTSUP);

	/* without draft/chathistory there is nothing to ask */
	session_reset(&sess);
	session_register(&sess);
	feed(":srv 001 alice :Welcome");
	feed(":alice!al@h JOIN #ops");
	sent();
	ck_assert_int_eq(session_history(&sess, "#ops", 10), -ENOTSUP);
	ck_assert_str_eq(sent(), "");
}
END_TEST

START_TEST(multi_prefix_names)
{
	struct chan *c;

	v3_setup(0, NULL);
	feed(":alice!al@h JOIN #ops");
	c = chans_find(&sess.chans, "#ops");
	feed(":srv 353 alice = #ops :@+alice +@bob @carol +dave erin");
	feed(":srv 366 alice #ops :End of /NAMES list.");
	ck_assert_uint_eq(c->nnicks, 5);
	ck_assert_str_eq(chans_prefix_of(c, "alice"), "@+");
	ck_assert_str_eq(chans_prefix_of(c, "bob"), "@+");
	ck_assert_str_eq(chans_prefix_of(c, "carol"), "@");
	ck_assert_str_eq(chans_prefix_of(c, "dave"), "+");
	ck_assert_str_eq(chans_prefix_of(c, "erin"), "");
	/* -o leaves the voice */
	feed(":x!x@h MODE #ops -o bob");
	ck_assert_str_eq(chans_prefix_of(c, "bob"), "+");
}
END_TEST

START_TEST(ircv3_events)
{
	struct timespec ts;

	utc();
	/* server-time: the sender's time, not ours */
	classify("@time=2026-12-06T10:00:00.123Z;msgid=abc;+draft/reply=x "
	    ":alice!a@h PRIVMSG #ops :hi", "me");
	ck_assert_int_eq(ev.type, EV_MESSAGE);
	ck_assert_int_eq(ev.time.tv_sec, 1796551200);
	ck_assert_int_eq(ev.time.tv_nsec, 123000000);
	ck_assert_str_eq(ev.msgid, "abc");
	ck_assert(!ev.history);
	ck_assert(event_tag_time("time=2026-12-05T09:30:00Z", &ts));
	ck_assert_int_eq(ts.tv_sec, 1796463000);
	ck_assert(!event_tag_time("time=yesterday", &ts));
	ck_assert(!event_tag_time(NULL, &ts));
	/* our own message come back (echo-message) */
	classify("@time=2026-12-06T10:00:00.123Z :me!m@h PRIVMSG #ops :mine", "me");
	ck_assert(ev.self);
	/* away-notify */
	classify(":bob!b@h AWAY :gone fishing", "me");
	ck_assert_int_eq(ev.type, EV_AWAY);
	ck_assert_str_eq(ev.text, "gone fishing");
	ck_assert(event_public(&ev));
	ck_assert_str_eq(event_type_name(EV_AWAY), "away");
	classify(":bob!b@h AWAY", "me");
	ck_assert_ptr_null(ev.text);
	/* standard replies */
	classify(":srv FAIL CHATHISTORY INVALID_TARGET #x :Messages could not be retrieved", "me");
	ck_assert_int_eq(ev.type, EV_ERROR);
	ck_assert_str_eq(ev.text, "CHATHISTORY: Messages could not be retrieved (INVALID_TARGET #x)");
	classify(":srv WARN REHASH CERTS_EXPIRED :Certificate expires soon", "me");
	ck_assert_int_eq(ev.type, EV_SERVER);
	ck_assert_str_eq(ev.text, "Warning: REHASH: Certificate expires soon (CERTS_EXPIRED)");
	classify(":srv NOTE * OPER_MESSAGE :hello", "me");
	ck_assert_int_eq(ev.type, EV_SERVER);
	ck_assert_str_eq(ev.text, "hello (OPER_MESSAGE)");
	/* plumbing shows nothing */
	classify(":srv BATCH +x chathistory #ops", "me");
	ck_assert_int_eq(ev.type, EV_NONE);
	classify("@label=1 :srv ACK", "me");
	ck_assert_int_eq(ev.type, EV_NONE);
	classify("@+typing=active :bob!b@h TAGMSG #ops", "me");
	ck_assert_int_eq(ev.type, EV_NONE);
}
END_TEST

START_TEST(ircv3_render_json)
{
	struct render_opts ro = { .color = false, .time = true, .current = "#ops" };

	utc();
	classify("@time=2026-12-06T10:00:00.123Z;msgid=abc :alice!a@h PRIVMSG #ops :hi", "me");
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "10:00 <alice> hi");
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"message\",\"time\":\"2026-12-06T10:00:00.123Z\",\"from\":\"alice\","
	    "\"target\":\"#ops\",\"text\":\"hi\",\"msgid\":\"abc\"}\n");
	/* history: marked, with the day */
	classify("@batch=h;time=2026-12-05T09:30:00.000Z;msgid=m1 :bob!b@h PRIVMSG #ops :old", "me");
	ev.history = true;
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "2026-12-05 09:30 [history] <bob> old");
	ck_assert_str_eq(json_of(&ev),
	    "{\"type\":\"message\",\"time\":\"2026-12-05T09:30:00.000Z\",\"from\":\"bob\","
	    "\"target\":\"#ops\",\"text\":\"old\",\"msgid\":\"m1\",\"history\":true}\n");
	ro.time = false;
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "[history] <bob> old");
	ro.color = true;
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_ptr_nonnull(strstr(rendered, "\033[2m[history]\033[0m "));
	/* the echo of our own message looks like what we typed */
	ro.color = false;
	ro.time = true;
	classify("@time=2026-12-06T10:00:00.123Z :me!m@h PRIVMSG #ops :mine", "me");
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "10:00 <me> mine");
	classify("@time=2026-12-06T10:00:00.123Z :me!m@h PRIVMSG bob :psst", "me");
	render_event(rendered, sizeof rendered, &ev, &ro);
	ck_assert_str_eq(rendered, "10:00 -> *bob* psst");
	/* away-notify, and a failure */
	ck_assert_str_eq(show(":bob!b@h AWAY :lunch", "#ops", false), "13:07 -!- bob is away (lunch)");
	ck_assert_str_eq(show(":bob!b@h AWAY", "#ops", false), "13:07 -!- bob is back");
	ck_assert_str_eq(show(":srv FAIL CHATHISTORY MESSAGE_ERROR #ops :No history", NULL, false),
	    "13:07 -!- Error: CHATHISTORY: No history (MESSAGE_ERROR #ops)");
	/* no tags: the five keys as before, nothing added */
	classify(":bob!b@h JOIN #ops", "me");
	ck_assert_ptr_null(strstr(json_of(&ev), "history"));
	ck_assert_ptr_null(strstr(json_of(&ev), "msgid"));
}
END_TEST

START_TEST(ircv3_opts_cmd)
{
	struct opts o;
	char err[256], *path;

	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ NULL }), OPTS_OK);
	ck_assert_int_eq(o.history, -1);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--history", "5", NULL }), OPTS_OK);
	ck_assert_int_eq(o.history, 5);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--history", "0", NULL }), OPTS_OK);
	ck_assert_int_eq(o.history, 0);
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--history", "-1", NULL }),
	    OPTS_ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "--history"));
	opts_free(&o);
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "--history", "1001", NULL }),
	    OPTS_ERR_USAGE);
	opts_free(&o);

	path = write_conf("history = 7;\n");
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-C", path, NULL }), OPTS_OK);
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	ck_assert_int_eq(o.history, 7);
	opts_free(&o);
	/* the command line wins */
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-C", path, "--history", "0", NULL }),
	    OPTS_OK);
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_OK);
	ck_assert_int_eq(o.history, 0);
	opts_free(&o);
	unlink(path);
	path = write_conf("history = \"lots\";\n");
	ck_assert_int_eq(opts_of(&o, err, (const char *[]){ "-C", path, NULL }), OPTS_OK);
	ck_assert_int_eq(opts_load_config(&o, err, sizeof err), OPTS_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "history must be"));
	opts_free(&o);
	unlink(path);

	ck_assert_int_eq(parse("/history"), CMD_HISTORY);
	ck_assert_ptr_null(cmd.arg);
	ck_assert_int_eq(parse("/history 30"), CMD_HISTORY);
	ck_assert_str_eq(cmd.arg, "30");
	ck_assert_ptr_nonnull(cmd_find("history"));
	ck_assert_ptr_nonnull(strstr(cmd_find("history")->usage, "/history [N]"));
}
END_TEST

/* ----------------------------------------------------------------- main */

int
main(void)
{
	Suite *s = suite_create("client");
	TCase *tc;

	tc = tcase_create("cmd");
	tcase_add_test(tc, cmd_text);
	tcase_add_test(tc, cmd_join_part);
	tcase_add_test(tc, cmd_messages);
	tcase_add_test(tc, cmd_others);
	tcase_add_test(tc, cmd_to_irc);
	tcase_add_test(tc, cmd_moderation);
	tcase_add_test(tc, cmd_op_long_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("split");
	tcase_add_test(tc, split_short_and_words);
	tcase_add_test(tc, split_utf8);
	tcase_add_test(tc, split_fits_relayed_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("event");
	tcase_add_test(tc, event_messages);
	tcase_add_test(tc, event_channel_changes);
	tcase_add_test(tc, event_numerics);
	tcase_add_test(tc, event_moderation);
	tcase_add_test(tc, event_moderation_numerics);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, render_lines);
	tcase_add_test(tc, render_moderation);
	tcase_add_test(tc, render_own);
	tcase_add_test(tc, render_hostile_text);
	tcase_add_test(tc, render_colors);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, json_events);
	tcase_add_test(tc, json_moderation);
	tcase_add_test(tc, hostile_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("chans");
	tcase_add_test(tc, chans_members);
	tcase_add_test(tc, chans_prefixes);
	tcase_add_test(tc, complete_nicks);
	tcase_add_test(tc, complete_commands);
	suite_add_tcase(s, tc);

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
	tcase_add_test(tc, session_register_join);
	tcase_add_test(tc, session_nick_collision);
	tcase_add_test(tc, session_nick_too_long);
	tcase_add_test(tc, session_refusals);
	tcase_add_test(tc, session_tracks_others);
	tcase_add_test(tc, session_isupport_and_prefixes);
	tcase_add_test(tc, session_kicked_stays_out);
	suite_add_tcase(s, tc);

	tc = tcase_create("ircv3");
	tcase_add_checked_fixture(tc, sess_setup, sess_teardown);
	tcase_add_test(tc, cap_negotiation);
	tcase_add_test(tc, cap_nak_and_values);
	tcase_add_test(tc, cap_ls_multiline);
	tcase_add_test(tc, cap_no_cap_server);
	tcase_add_test(tc, cap_new_del);
	tcase_add_test(tc, history_on_join);
	tcase_add_test(tc, history_live_and_off);
	tcase_add_test(tc, multi_prefix_names);
	tcase_add_test(tc, ircv3_events);
	tcase_add_test(tc, ircv3_render_json);
	tcase_add_test(tc, ircv3_opts_cmd);
	suite_add_tcase(s, tc);

	tc = tcase_create("opts");
	tcase_add_test(tc, opts_server);
	tcase_add_test(tc, opts_command_line);
	tcase_add_test(tc, opts_config_file);
	tcase_add_test(tc, opts_xdg_and_defaults);
	tcase_add_test(tc, opts_tls);
	tcase_add_test(tc, tls_fingerprints);
	suite_add_tcase(s, tc);

	return unit_run(s);
}
