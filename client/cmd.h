/*
 * cmd: what a person types at the prompt. Parses "/command args" lines
 * (table-driven: one row per command gives its argument shape, usage and
 * help) and turns the simple ones into the IRC line to send. Messages
 * (plain text, /msg, /notice, /me) are left to the caller, which splits
 * them to the line limit. Pure functions, no I/O.
 */
#ifndef SHMCHAT_CMD_H
#define SHMCHAT_CMD_H

#include <stddef.h>

enum cmd_kind {
	CMD_NONE,	/* empty line: nothing to do */
	CMD_TEXT,	/* plain text (or "//text", sent as "/text") */
	CMD_JOIN,
	CMD_PART,
	CMD_MSG,
	CMD_NOTICE,
	CMD_QUERY,
	CMD_ME,
	CMD_NICK,
	CMD_TOPIC,
	CMD_NAMES,
	CMD_WHO,
	CMD_WHOIS,
	CMD_LIST,
	CMD_AWAY,
	CMD_QUIT,
	CMD_RAW,
	CMD_OP,		/* text: the nicks */
	CMD_DEOP,
	CMD_VOICE,
	CMD_DEVOICE,
	CMD_KICK,
	CMD_BAN,
	CMD_UNBAN,
	CMD_MODE,	/* arg: the target, unless the modes came first */
	CMD_INVITE,
	CMD_OPER,
	CMD_KILL,
	CMD_HISTORY,	/* arg: how many lines, or NULL */
	CMD_HELP,
	CMD_UNKNOWN,	/* "/foo": name is "foo" */
	CMD_USAGE,	/* a known command with missing arguments */
};

struct cmd {
	enum cmd_kind kind;
	const char *name;	/* command word as typed, without '/' */
	const char *arg;	/* first word (channel, nick, mask) or NULL */
	const char *text;	/* the rest (message, reason, key) or NULL */
	const char *usage;	/* for CMD_USAGE (and every known command) */
	char buf[256];		/* "#" + name for "/join name" */
};

struct cmd_info {
	const char *name;
	enum cmd_kind kind;
	int shape;		/* CMD_SHAPE_* bits, see cmd.c */
	const char *usage;
	const char *help;
};

/*
 * Parse one input line. line is modified in place (words are cut with
 * NULs); the pointers in c point into it or into c->buf.
 */
void cmd_parse(char *line, struct cmd *c);

/*
 * The IRC line (without CR LF, NUL-terminated) for the commands that map
 * to one: JOIN, PART, NICK, TOPIC, NAMES, WHO, WHOIS, LIST, AWAY, QUIT,
 * RAW, KICK, BAN and UNBAN (a bare nick becomes nick!*@*, see
 * irc_mask_normalize), MODE, INVITE, OPER, KILL; /op, /deop, /voice
 * and /devoice make one MODE line per `modes` nicks (the server's MODES=),
 * the lines separated by '\n'. chan is the current channel (NULL if none)
 * for commands that default to it. Returns the length, 0 when kind is not
 * such a command, or -1 with a message for the person in out (e.g. no
 * channel).
 */
int cmd_irc(const struct cmd *c, const char *chan, int modes, char *out, size_t cap);

/* the command table, for /help */
const struct cmd_info *cmd_table(size_t *n);
/* the row of a command name (case-insensitive, aliases included) or NULL */
const struct cmd_info *cmd_find(const char *name);

#endif
