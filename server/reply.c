/* reply: numeric and other reply lines for one client */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "irc.h"
#include "reply.h"

void
reply_numeric(struct reply *r, const char *code, const char *fmt, ...)
{
	char text[IRC_MAXLINE * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	reply_line(r, ":%s %s %s %s", r->server, code, r->nick, text);
}

void
reply_line(struct reply *r, const char *fmt, ...)
{
	char text[IRC_MAXLINE * 2], line[IRC_MAXLINE + 1];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	n = irc_fmt(line, sizeof line, "%s", text);
	r->put(r, line, n);
}

void
reply_standard(struct reply *r, const char *kind, const char *command,
    const char *code, const char *context, const char *text)
{
	reply_line(r, ":%s %s %s %s%s%s :%s", r->server, kind, command, code,
	    context != NULL ? " " : "", context != NULL ? context : "", text);
}

void
reply_list_start(struct reply_list *l, struct reply *r, const char *code,
    const char *fmt, const char *head)
{
	l->r = r;
	l->code = code;
	l->fmt = fmt;
	l->head = head;
	l->len = 0;
}

static void
reply_list_flush(struct reply_list *l)
{
	l->items[l->len] = '\0';
	/* fmt is a numeric.h format taking (head, items) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	reply_numeric(l->r, l->code, l->fmt, l->head, l->items);
#pragma GCC diagnostic pop
	l->len = 0;
}

void
reply_list_add(struct reply_list *l, const char *prefix, const char *item)
{
	size_t pl = strlen(prefix), il = strlen(item);

	if (pl + il + 1 >= sizeof l->items)
		return;		/* longer than a line: cannot be listed */
	if (l->len > 0 && l->len + 1 + pl + il >= sizeof l->items)
		reply_list_flush(l);
	if (l->len > 0)
		l->items[l->len++] = ' ';
	memcpy(l->items + l->len, prefix, pl);
	memcpy(l->items + l->len + pl, item, il);
	l->len += pl + il;
}

void
reply_list_end(struct reply_list *l)
{
	if (l->len > 0)
		reply_list_flush(l);
}
