/* cmd: parsing of prompt input and mapping of commands to IRC lines */
#include <config.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "irc.h"

/* argument shapes */
#define ARG_REQ		0x01	/* a first word is required */
#define ARG_OPT		0x02	/* an optional first word */
#define ARG_CHAN	0x04	/* the optional first word only if it is a channel */
#define TEXT_REQ	0x08	/* text after it is required */
#define TEXT_OPT	0x10	/* optional text after it */
#define TEXT_ONLY	0x20	/* no first word: everything is text */
#define ARG_TARGET	0x40	/* the optional first word unless it is modes (+x/-x) */

static const struct cmd_info cmd_rows[] = {
	{ "join", CMD_JOIN, ARG_REQ | TEXT_OPT, "/join #channel [key]",
	  "join a channel and make it the current target" },
	{ "part", CMD_PART, ARG_CHAN | TEXT_OPT, "/part [#channel] [reason]",
	  "leave the current (or the given) channel" },
	{ "msg", CMD_MSG, ARG_REQ | TEXT_REQ, "/msg NICK|#channel TEXT",
	  "send one message without changing the current target" },
	{ "notice", CMD_NOTICE, ARG_REQ | TEXT_REQ, "/notice NICK|#channel TEXT",
	  "send a notice" },
	{ "query", CMD_QUERY, ARG_OPT, "/query [NICK]",
	  "talk to NICK by default; without NICK, back to the channel" },
	{ "me", CMD_ME, TEXT_ONLY | TEXT_REQ, "/me ACTION",
	  "describe an action (* nick waves)" },
	{ "nick", CMD_NICK, ARG_REQ, "/nick NEWNICK", "change your nick" },
	{ "topic", CMD_TOPIC, ARG_CHAN | TEXT_OPT, "/topic [#channel] [new topic]",
	  "show or set the topic" },
	{ "names", CMD_NAMES, ARG_CHAN, "/names [#channel]",
	  "list the people in a channel" },
	{ "who", CMD_WHO, ARG_OPT, "/who [#channel|mask]",
	  "who is in a channel, or matches a mask" },
	{ "whois", CMD_WHOIS, ARG_REQ, "/whois NICK", "information about NICK" },
	{ "list", CMD_LIST, TEXT_ONLY | TEXT_OPT, "/list [#channel,...]",
	  "list channels and their topics" },
	{ "away", CMD_AWAY, TEXT_ONLY | TEXT_OPT, "/away [message]",
	  "mark yourself away; without a message, back" },
	{ "quit", CMD_QUIT, TEXT_ONLY | TEXT_OPT, "/quit [reason]",
	  "leave IRC and exit" },
	{ "raw", CMD_RAW, TEXT_ONLY | TEXT_REQ, "/raw LINE",
	  "send LINE to the server as it is" },
	{ "op", CMD_OP, TEXT_ONLY | TEXT_REQ, "/op NICK...",
	  "make NICKs channel operators (@) in the current channel" },
	{ "deop", CMD_DEOP, TEXT_ONLY | TEXT_REQ, "/deop NICK...",
	  "take channel operator status (@) from NICKs" },
	{ "voice", CMD_VOICE, TEXT_ONLY | TEXT_REQ, "/voice NICK...",
	  "give NICKs voice (+) in the current channel" },
	{ "devoice", CMD_DEVOICE, TEXT_ONLY | TEXT_REQ, "/devoice NICK...",
	  "take voice (+) from NICKs" },
	{ "kick", CMD_KICK, ARG_REQ | TEXT_OPT, "/kick NICK [reason]",
	  "put NICK out of the current channel" },
	{ "ban", CMD_BAN, ARG_REQ, "/ban NICK|MASK",
	  "ban from the current channel (a NICK bans NICK!*@*)" },
	{ "unban", CMD_UNBAN, ARG_REQ, "/unban NICK|MASK", "lift a ban" },
	{ "mode", CMD_MODE, ARG_TARGET | TEXT_OPT, "/mode [TARGET] [MODES...]",
	  "show or change modes: of a channel (the current one) or your own" },
	{ "invite", CMD_INVITE, ARG_REQ | TEXT_OPT, "/invite NICK [#channel]",
	  "invite NICK to the current (or the given) channel" },
	{ "oper", CMD_OPER, ARG_REQ | TEXT_REQ, "/oper NAME PASSWORD",
	  "become an IRC operator" },
	{ "kill", CMD_KILL, ARG_REQ | TEXT_REQ, "/kill NICK REASON",
	  "disconnect NICK from the server (IRC operators)" },
	{ "history", CMD_HISTORY, ARG_OPT, "/history [N]",
	  "show N (default 20) earlier lines of the current channel, if the server keeps them" },
	{ "help", CMD_HELP, ARG_OPT, "/help [command]", "this list" },
};

/* other names for the same rows */
static const struct {
	const char *alias, *name;
} cmd_aliases[] = {
	{ "j", "join" },
	{ "leave", "part" },
	{ "m", "msg" },
	{ "q", "query" },
	{ "quote", "raw" },
	{ "exit", "quit" },
};

const struct cmd_info *
cmd_table(size_t *n)
{
	*n = sizeof cmd_rows / sizeof cmd_rows[0];
	return cmd_rows;
}

const struct cmd_info *
cmd_find(const char *name)
{
	size_t i;

	if (name[0] == '/')
		name++;
	for (i = 0; i < sizeof cmd_aliases / sizeof cmd_aliases[0]; i++)
		if (!strcasecmp(name, cmd_aliases[i].alias)) {
			name = cmd_aliases[i].name;
			break;
		}
	for (i = 0; i < sizeof cmd_rows / sizeof cmd_rows[0]; i++)
		if (!strcasecmp(name, cmd_rows[i].name))
			return &cmd_rows[i];
	return NULL;
}

static char *
skip_blanks(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* cut the first word off *p; returns it or NULL when there is none */
static char *
take_word(char **p)
{
	char *w = skip_blanks(*p), *e;

	if (*w == '\0')
		return NULL;
	e = w;
	while (*e != '\0' && *e != ' ' && *e != '\t')
		e++;
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return w;
}

/* the rest of the line as text: leading blanks go, trailing ones too */
static char *
take_text(char *p)
{
	char *e;

	p = skip_blanks(p);
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return *p != '\0' ? p : NULL;
}

static void
parse_args(const struct cmd_info *ci, char *rest, struct cmd *c)
{
	if (ci->shape & TEXT_ONLY) {
		c->text = take_text(rest);
	} else {
		char *w = NULL;

		char first = *skip_blanks(rest);

		/* an optional channel only if it looks like one: else it is text */
		if ((ci->shape & ARG_CHAN) ? first == '#' :
		    (ci->shape & ARG_TARGET) ? first != '+' && first != '-' : true)
			w = take_word(&rest);
		c->arg = w;
		if (ci->shape & (TEXT_REQ | TEXT_OPT))
			c->text = take_text(rest);
	}
	if (((ci->shape & ARG_REQ) && c->arg == NULL) ||
	    ((ci->shape & TEXT_REQ) && c->text == NULL))
		c->kind = CMD_USAGE;
}

void
cmd_parse(char *line, struct cmd *c)
{
	const struct cmd_info *ci;
	char *p, *word;

	memset(c, 0, sizeof *c);
	c->kind = CMD_NONE;
	/* a trailing CR or LF (pasted text) is not part of the line */
	p = line + strlen(line);
	while (p > line && (p[-1] == '\n' || p[-1] == '\r'))
		*--p = '\0';

	if (line[0] != '/') {
		if (line[strspn(line, " \t")] != '\0') {
			c->kind = CMD_TEXT;
			c->text = line;
		}
		return;
	}
	if (line[1] == '/') {
		/* "//etc" sends "/etc" as text */
		c->kind = CMD_TEXT;
		c->text = line + 1;
		return;
	}
	if (line[1] == '\0' || line[1] == ' ') {
		c->kind = CMD_UNKNOWN;
		c->name = "";
		return;
	}
	p = line + 1;
	word = take_word(&p);
	c->name = word;
	ci = cmd_find(word);
	if (ci == NULL) {
		c->kind = CMD_UNKNOWN;
		return;
	}
	c->kind = ci->kind;
	c->usage = ci->usage;
	parse_args(ci, p, c);
	if (c->kind == CMD_JOIN && c->arg[0] != '#' && c->arg[0] != '&' &&
	    !strchr(c->arg, ',') && strlen(c->arg) + 2 <= sizeof c->buf) {
		/* "/join ops" means #ops */
		snprintf(c->buf, sizeof c->buf, "#%s", c->arg);
		c->arg = c->buf;
	}
}

/* the channel a command acts on: its argument, else the current one */
static const char *
chan_of(const struct cmd *c, const char *chan)
{
	return c->arg != NULL ? c->arg : chan;
}

static int
no_chan(char *out, size_t cap, const struct cmd *c)
{
	snprintf(out, cap, "no current channel: %s", c->usage);
	return -1;
}

/* snprintf that reports the length, or -1 with a message if it did not fit */
static int put(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
put(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(out, cap, "line too long");
		return -1;
	}
	return n;
}

/*
 * /op a b c d: "MODE #c +ooo a b c\nMODE #c +o d" with 3 per line, fewer
 * when the line would grow past the IRC limit.
 */
static int
mode_lines(const struct cmd *c, const char *chan, int per_line, char *out, size_t cap)
{
	bool give = c->kind == CMD_OP || c->kind == CMD_VOICE;
	char letter = c->kind == CMD_OP || c->kind == CMD_DEOP ? 'o' : 'v';
	const char *p = c->text;
	size_t used = 0;

	if (per_line < 1)
		per_line = 1;
	for (;;) {
		char modes[IRC_MAXLINE], nicks[IRC_MAXLINE];
		/* "MODE " chan " " modes nicks, within the line without CR LF */
		size_t head = 5 + strlen(chan) + 1, nm = 1, nn = 0;
		int k, n;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		modes[0] = give ? '+' : '-';
		for (k = 0; k < per_line && *(p += strspn(p, " \t")) != '\0'; k++) {
			size_t w = strcspn(p, " \t");

			if (head + nm + 1 + nn + 1 + w > IRC_MAXLINE - 2)
				break;
			modes[nm++] = letter;
			nicks[nn++] = ' ';
			memcpy(nicks + nn, p, w);
			nn += w;
			p += w;
		}
		if (k == 0) {
			/* not even one nick fits in a line */
			snprintf(out, cap, "too long for one line: %.40s...", p);
			return -1;
		}
		n = put(out + used, cap - used, "%sMODE %s %.*s%.*s", used ? "\n" : "", chan,
		    (int)nm, modes, (int)nn, nicks);
		if (n < 0) {
			snprintf(out, cap, "too many nicks at once");
			return -1;
		}
		used += (size_t)n;
	}
	return (int)used;
}

int
cmd_irc(const struct cmd *c, const char *chan, int modes, char *out, size_t cap)
{
	char mask[IRC_MASK_MAX + 1];
	const char *ch;

	if (cap > 0)
		out[0] = '\0';
	switch (c->kind) {
	case CMD_JOIN:
		if (c->text)
			return put(out, cap, "JOIN %s %s", c->arg, c->text);
		return put(out, cap, "JOIN %s", c->arg);
	case CMD_PART:
		if ((ch = chan_of(c, chan)) == NULL)
			return no_chan(out, cap, c);
		if (c->text)
			return put(out, cap, "PART %s :%s", ch, c->text);
		return put(out, cap, "PART %s", ch);
	case CMD_NICK:
		return put(out, cap, "NICK %s", c->arg);
	case CMD_TOPIC:
		if ((ch = chan_of(c, chan)) == NULL)
			return no_chan(out, cap, c);
		if (c->text)
			return put(out, cap, "TOPIC %s :%s", ch, c->text);
		return put(out, cap, "TOPIC %s", ch);
	case CMD_NAMES:
		if ((ch = chan_of(c, chan)) == NULL)
			return no_chan(out, cap, c);
		return put(out, cap, "NAMES %s", ch);
	case CMD_WHO:
		if ((ch = chan_of(c, chan)) == NULL)
			return no_chan(out, cap, c);
		return put(out, cap, "WHO %s", ch);
	case CMD_WHOIS:
		return put(out, cap, "WHOIS %s", c->arg);
	case CMD_LIST:
		if (c->text)
			return put(out, cap, "LIST %s", c->text);
		return put(out, cap, "LIST");
	case CMD_AWAY:
		if (c->text)
			return put(out, cap, "AWAY :%s", c->text);
		return put(out, cap, "AWAY");
	case CMD_QUIT:
		return put(out, cap, "QUIT :%s", c->text ? c->text : "Leaving");
	case CMD_RAW:
		return put(out, cap, "%s", c->text);
	case CMD_OP:
	case CMD_DEOP:
	case CMD_VOICE:
	case CMD_DEVOICE:
		if (chan == NULL)
			return no_chan(out, cap, c);
		return mode_lines(c, chan, modes, out, cap);
	case CMD_KICK:
		if (chan == NULL)
			return no_chan(out, cap, c);
		if (c->text)
			return put(out, cap, "KICK %s %s :%s", chan, c->arg, c->text);
		return put(out, cap, "KICK %s %s", chan, c->arg);
	case CMD_BAN:
	case CMD_UNBAN:
		if (chan == NULL)
			return no_chan(out, cap, c);
		/* as the server would read it: nick -> nick!*@* */
		if (!irc_mask_normalize(c->arg, mask, sizeof mask)) {
			snprintf(out, cap, "not a valid mask: %.60s", c->arg);
			return -1;
		}
		return put(out, cap, "MODE %s %cb %s", chan, c->kind == CMD_BAN ? '+' : '-', mask);
	case CMD_MODE:
		if ((ch = chan_of(c, chan)) == NULL)
			return no_chan(out, cap, c);
		if (c->text)
			return put(out, cap, "MODE %s %s", ch, c->text);
		return put(out, cap, "MODE %s", ch);
	case CMD_INVITE:
		if (c->text != NULL && strpbrk(c->text, " \t") != NULL) {
			snprintf(out, cap, "usage: %s", c->usage);
			return -1;
		}
		if ((ch = c->text != NULL ? c->text : chan) == NULL)
			return no_chan(out, cap, c);
		return put(out, cap, "INVITE %s %s", c->arg, ch);
	case CMD_OPER:
		/* a password with a space can only be the trailing parameter */
		if (strpbrk(c->text, " \t") != NULL || c->text[0] == ':')
			return put(out, cap, "OPER %s :%s", c->arg, c->text);
		return put(out, cap, "OPER %s %s", c->arg, c->text);
	case CMD_KILL:
		return put(out, cap, "KILL %s :%s", c->arg, c->text);
	default:
		return 0;
	}
}
