/* cmd: parsing of prompt input and mapping of commands to IRC lines */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

/* argument shapes */
#define ARG_REQ		0x01	/* a first word is required */
#define ARG_OPT		0x02	/* an optional first word */
#define ARG_CHAN	0x04	/* the optional first word only if it is a channel */
#define TEXT_REQ	0x08	/* text after it is required */
#define TEXT_OPT	0x10	/* optional text after it */
#define TEXT_ONLY	0x20	/* no first word: everything is text */

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

		/* an optional channel only if it looks like one: else it is text */
		if (!(ci->shape & ARG_CHAN) || *skip_blanks(rest) == '#')
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

int
cmd_irc(const struct cmd *c, const char *chan, char *out, size_t cap)
{
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
	default:
		return 0;
	}
}
