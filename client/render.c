/* render: human-readable event lines, terminal-safe */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "irc.h"
#include "render.h"

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */

/* append to a NUL-terminated buffer, cutting on a UTF-8 boundary */
struct out {
	char *p;
	size_t cap, len;
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	if (n > o->cap - 1 - o->len)
		n = irc_utf8_cut(s, o->cap - 1 - o->len);
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void
out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* IRC formatting: ^C colour with up to two digits, optional ",bg" */
static size_t
skip_color(const char *s, size_t len)
{
	size_t i = 1, k;

	for (k = 0; k < 2 && i < len && s[i] >= '0' && s[i] <= '9'; k++)
		i++;
	if (k > 0 && i + 1 < len && s[i] == ',' && s[i + 1] >= '0' && s[i + 1] <= '9') {
		i += 2;
		if (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i;
}

/* ^D hex colour: six hex digits, optional ",RRGGBB" */
static size_t
skip_hexcolor(const char *s, size_t len)
{
	size_t i = 1;

	for (int part = 0; part < 2; part++) {
		size_t k = 0;

		if (part == 1) {
			if (i >= len || s[i] != ',')
				break;
			i++;
		}
		while (k < 6 && i + k < len && strchr("0123456789abcdefABCDEF", s[i + k]) &&
		    s[i + k] != '\0')
			k++;
		i += k;
	}
	return i;
}

size_t
render_clean(char *out, size_t cap, const char *s, size_t len)
{
	struct out o = { out, cap, 0 };
	size_t i = 0;

	if (cap > 0)
		out[0] = '\0';
	while (i < len && o.len + 1 < cap) {
		unsigned char c = (unsigned char)s[i];
		size_t n;

		switch (c) {
		case 0x02: case 0x0f: case 0x11: case 0x16:
		case 0x1d: case 0x1e: case 0x1f:
			i++;	/* bold, reset, monospace, reverse, italic... */
			continue;
		case 0x03:
			i += skip_color(s + i, len - i);
			continue;
		case 0x04:
			i += skip_hexcolor(s + i, len - i);
			continue;
		case '\t':
			out_add(&o, " ", 1);
			i++;
			continue;
		default:
			break;
		}
		n = irc_utf8_seqlen(s + i, len - i);
		if (n == 0 || c < 0x20 || c == 0x7f ||
		    /* C1 controls: U+0080..U+009F, e.g. a one-character CSI */
		    (c == 0xc2 && (unsigned char)s[i + 1] < 0xa0)) {
			out_add(&o, REPLACEMENT, 3);
			i += n ? n : 1;
			continue;
		}
		out_add(&o, s + i, n);
		i += n;
	}
	return o.len;
}

int
render_nick_color(const char *nick)
{
	static const int palette[] = { 31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96 };
	unsigned h = 5381;

	/* case-folded, so alice and Alice look alike, as the server sees them */
	for (; *nick != '\0'; nick++)
		h = h * 33 + (unsigned char)irc_tolower(*nick);
	return palette[h % (sizeof palette / sizeof palette[0])];
}

/* a cleaned string from the network */
static void
out_clean(struct out *o, const char *s)
{
	char tmp[6 * IRC_MAXLINE + 16];	/* textb with every byte replaced */

	if (s == NULL)
		return;
	render_clean(tmp, sizeof tmp, s, strlen(s));
	out_str(o, tmp);
}

static void
out_nick(struct out *o, const struct render_opts *ro, const char *nick)
{
	char col[16];

	if (nick == NULL)
		nick = "?";
	if (ro->color) {
		snprintf(col, sizeof col, "\033[%dm", render_nick_color(nick));
		out_str(o, col);
	}
	out_clean(o, nick);
	if (ro->color)
		out_str(o, "\033[0m");
}

/* a nick or a server name; "the server" for a line without a prefix */
static void
out_who(struct out *o, const struct render_opts *ro, const char *from)
{
	if (from == NULL)
		out_str(o, "the server");
	else
		out_nick(o, ro, from);
}

static void
out_sgr(struct out *o, const struct render_opts *ro, const char *code, const char *text)
{
	if (ro->color) {
		out_str(o, "\033[");
		out_str(o, code);
		out_str(o, "m");
	}
	out_str(o, text);
	if (ro->color)
		out_str(o, "\033[0m");
}

/* "-!- " in cyan (red for errors) */
static void
out_marker(struct out *o, const struct render_opts *ro, bool error)
{
	out_sgr(o, ro, error ? "1;31" : "36", "-!-");
	out_str(o, " ");
}

/* "#chan " unless it is the current target */
static void
out_where(struct out *o, const struct render_opts *ro, const struct event *ev)
{
	if (ev->target == NULL || ev->priv)
		return;
	if (ro->current != NULL && !irc_casecmp(ro->current, ev->target))
		return;
	out_clean(o, ev->target);
	out_str(o, " ");
}

static void
out_time(struct out *o, const struct render_opts *ro, const struct event *ev)
{
	struct tm tm;
	char ts[32];
	time_t t = ev->time.tv_sec;

	if (ev->history) {
		/* old lines: the day matters too, and they are marked, dimmed */
		if (ro->time && localtime_r(&t, &tm) != NULL) {
			strftime(ts, sizeof ts, "%Y-%m-%d %H:%M", &tm);
			out_sgr(o, ro, "2", ts);
			out_str(o, " ");
		}
		out_sgr(o, ro, "2", "[history]");
		out_str(o, " ");
		return;
	}
	if (!ro->time || localtime_r(&t, &tm) == NULL)
		return;
	strftime(ts, sizeof ts, "%H:%M", &tm);
	out_sgr(o, ro, "2", ts);
	out_str(o, " ");
}

static void
out_reason(struct out *o, const char *text)
{
	if (text != NULL && text[0] != '\0') {
		out_str(o, " (");
		out_clean(o, text);
		out_str(o, ")");
	}
}

size_t
render_event(char *out, size_t cap, const struct event *ev, const struct render_opts *ro)
{
	struct out o = { out, cap, 0 };

	if (cap > 0)
		out[0] = '\0';
	if (ev->type == EV_NONE || cap == 0)
		return 0;
	out_time(&o, ro, ev);

	switch (ev->type) {
	case EV_MESSAGE:
		if (ev->priv && ev->self) {
			out_sgr(&o, ro, "35", "->");
			out_str(&o, " *");
			out_nick(&o, ro, ev->target);
			out_str(&o, "* ");
		} else if (ev->priv) {
			out_sgr(&o, ro, "35", "*");
			out_nick(&o, ro, ev->from);
			out_sgr(&o, ro, "35", "*");
			out_str(&o, " ");
		} else {
			out_where(&o, ro, ev);
			out_str(&o, "<");
			out_nick(&o, ro, ev->from);
			out_str(&o, "> ");
		}
		out_clean(&o, ev->text);
		break;
	case EV_ACTION:
		if (ev->priv && ev->self) {
			out_sgr(&o, ro, "35", "->");
			out_str(&o, " *");
			out_nick(&o, ro, ev->target);
			out_str(&o, "* ");
		} else if (ev->priv)
			out_sgr(&o, ro, "35", "(private) ");
		else
			out_where(&o, ro, ev);
		out_str(&o, "* ");
		out_nick(&o, ro, ev->from);
		out_str(&o, " ");
		out_clean(&o, ev->text);
		break;
	case EV_NOTICE:
		if (ev->self) {
			out_sgr(&o, ro, "35", "->");
			out_str(&o, " ");
		}
		out_str(&o, "-");
		out_nick(&o, ro, ev->self ? ev->target : ev->from);
		if (!ev->priv && !ev->self) {
			out_str(&o, ":");
			out_clean(&o, ev->target);
		}
		out_str(&o, "- ");
		out_clean(&o, ev->text);
		break;
	case EV_CTCP:
		out_marker(&o, ro, false);
		out_nick(&o, ro, ev->from);
		out_str(&o, " requested CTCP ");
		out_clean(&o, ev->text);
		if (!ev->priv) {
			out_str(&o, " from ");
			out_clean(&o, ev->target);
		}
		break;
	case EV_JOIN:
		out_marker(&o, ro, false);
		out_nick(&o, ro, ev->from);
		if (ev->userhost != NULL) {
			out_str(&o, " (");
			out_clean(&o, ev->userhost);
			out_str(&o, ")");
		}
		out_str(&o, " has joined ");
		out_clean(&o, ev->target);
		break;
	case EV_PART:
		out_marker(&o, ro, false);
		out_nick(&o, ro, ev->from);
		out_str(&o, " has left ");
		out_clean(&o, ev->target);
		out_reason(&o, ev->text);
		break;
	case EV_QUIT:
		out_marker(&o, ro, false);
		out_nick(&o, ro, ev->from);
		out_str(&o, " has quit");
		out_reason(&o, ev->text);
		break;
	case EV_NICK:
		out_marker(&o, ro, false);
		if (ev->self)
			out_str(&o, "You are now known as ");
		else {
			out_nick(&o, ro, ev->from);
			out_str(&o, " is now known as ");
		}
		out_nick(&o, ro, ev->text);
		break;
	case EV_KICK:
		out_marker(&o, ro, ev->victim_self);
		if (ev->victim_self) {
			out_str(&o, "You were kicked from ");
			out_clean(&o, ev->target);
			out_str(&o, " by ");
			out_nick(&o, ro, ev->from);
		} else {
			out_nick(&o, ro, ev->from);
			out_str(&o, " kicked ");
			out_nick(&o, ro, ev->victim);
			out_str(&o, " from ");
			out_clean(&o, ev->target);
		}
		out_reason(&o, ev->text);
		break;
	case EV_TOPIC:
		out_marker(&o, ro, false);
		out_nick(&o, ro, ev->from);
		if (ev->text == NULL || ev->text[0] == '\0') {
			out_str(&o, " removed the topic of ");
			out_clean(&o, ev->target);
			break;
		}
		out_str(&o, " changed the topic of ");
		out_clean(&o, ev->target);
		out_str(&o, " to: ");
		out_clean(&o, ev->text);
		break;
	case EV_TOPIC_IS:
		out_marker(&o, ro, false);
		out_str(&o, "Topic for ");
		out_clean(&o, ev->target);
		out_str(&o, ": ");
		out_clean(&o, ev->text);
		break;
	case EV_MODE:
		/* "op sets mode +o bob on #ops"; user modes: "... on you" */
		out_marker(&o, ro, false);
		if (ev->self && ev->victim_self) {
			out_str(&o, "You set mode ");
			out_clean(&o, ev->text);
			out_str(&o, " on yourself");
			break;
		}
		out_who(&o, ro, ev->from);
		out_str(&o, " sets mode ");
		out_clean(&o, ev->text);
		out_str(&o, " on ");
		if (ev->victim_self)
			out_str(&o, "you");
		else
			out_clean(&o, ev->target);
		break;
	case EV_INVITE:
		out_marker(&o, ro, false);
		out_nick(&o, ro, ev->from);
		out_str(&o, " invites ");
		if (ev->victim_self || ev->victim == NULL)
			out_str(&o, "you");
		else
			out_nick(&o, ro, ev->victim);
		out_str(&o, " to ");
		out_clean(&o, ev->target);
		break;
	case EV_WALLOPS:
		/* like a notice, marked: "-op/wallops- text" */
		out_str(&o, "-");
		out_who(&o, ro, ev->from);
		out_sgr(&o, ro, "1", "/wallops");
		out_str(&o, "- ");
		out_clean(&o, ev->text);
		break;
	case EV_KILL:
		out_marker(&o, ro, ev->victim_self);
		if (ev->victim_self) {
			out_str(&o, "You were killed by ");
			out_who(&o, ro, ev->from);
		} else {
			out_who(&o, ro, ev->from);
			out_str(&o, " killed ");
			out_nick(&o, ro, ev->victim);
		}
		out_reason(&o, ev->text);
		break;
	case EV_AWAY:
		out_marker(&o, ro, false);
		out_nick(&o, ro, ev->from);
		if (ev->text == NULL) {
			out_str(&o, " is back");
			break;
		}
		out_str(&o, " is away");
		out_reason(&o, ev->text);
		break;
	case EV_ERROR:
		out_marker(&o, ro, true);
		out_str(&o, "Error: ");
		out_clean(&o, ev->text);
		break;
	case EV_SERVER:
	case EV_NOTE:
		out_marker(&o, ro, false);
		out_clean(&o, ev->text);
		break;
	case EV_RAW:
		out_marker(&o, ro, false);
		out_str(&o, "[raw] ");
		out_clean(&o, ev->text);
		break;
	case EV_NONE:
		break;
	}
	return o.len;
}
