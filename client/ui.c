/* ui: libedit-based line editing with asynchronous output above the prompt */
#include <config.h>

#include <errno.h>
#include <histedit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "ui.h"

#define UI_HISTORY	1000

struct ui {
	EditLine *el;
	History *hist;
	FILE *out;
	ui_line_fn *on_line;
	ui_complete_fn *on_complete;
	void *arg;
	char prompt[256];
	bool in_complete;	/* inside the Tab handler */
};

static char *
prompt_fn(EditLine *el)
{
	struct ui *u = NULL;

	el_get(el, EL_CLIENTDATA, &u);
	return u != NULL ? u->prompt : (char *)"> ";
}

/* display width of s[0..len) as libedit shows it (^X for controls) */
static size_t
width(const char *s, size_t len)
{
	mbstate_t st;
	size_t w = 0, i = 0;

	memset(&st, 0, sizeof st);
	while (i < len) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s + i, len - i, &st);
		int cw;

		if (n == (size_t)-1 || n == (size_t)-2) {
			/* libedit shows an undecodable byte as \ooo */
			memset(&st, 0, sizeof st);
			w += 4;
			i++;
			continue;
		}
		if (n == 0)
			n = 1;
		cw = wcwidth(wc);
		w += cw >= 0 ? (size_t)cw : 2;
		i += n;
	}
	return w;
}

static int
columns(struct ui *u)
{
	int cols = 0;

	if (el_get(u->el, EL_GETTC, "co", &cols, NULL) != 0 || cols <= 0)
		cols = 80;
	return cols;
}

/* rows between the first input row and the cursor */
static int
cursor_row(struct ui *u)
{
	const LineInfo *li = el_line(u->el);
	size_t w = width(u->prompt, strlen(u->prompt));

	if (li != NULL)
		w += width(li->buffer, (size_t)(li->cursor - li->buffer));
	/* libedit moves to the next row once a row is exactly full */
	return (int)(w / (size_t)columns(u));
}

static void
flush(struct ui *u)
{
	/* a vanished terminal: SIGHUP (or POLLHUP) ends us, nothing to do here */
	if (fflush(u->out) == EOF)
		clearerr(u->out);
}

/* move to the start of the first input row and clear it and all below */
static void
erase_input(struct ui *u)
{
	int above = cursor_row(u);

	if (above > 0)
		fprintf(u->out, "\033[%dA", above);
	fputs("\r\033[J", u->out);
}

void
ui_print(struct ui *u, const char *line)
{
	erase_input(u);
	fputs(line, u->out);
	fputs("\r\n", u->out);
	flush(u);
	/* libedit draws prompt and line anew, the cursor where it was */
	el_set(u->el, EL_REFRESH);
	flush(u);
}

void
ui_set_prompt(struct ui *u, const char *prompt)
{
	if (!strcmp(u->prompt, prompt))
		return;
	erase_input(u);
	snprintf(u->prompt, sizeof u->prompt, "%s", prompt);
	el_set(u->el, EL_REFRESH);
	flush(u);
}

/* number of characters in s[0..len) */
static int
chars(const char *s, size_t len)
{
	mbstate_t st;
	size_t i = 0;
	int n = 0;

	memset(&st, 0, sizeof st);
	while (i < len) {
		size_t k = mbrlen(s + i, len - i, &st);

		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof st);
			k = 1;
		}
		i += k;
		n++;
	}
	return n;
}

static unsigned char
complete_fn(EditLine *el, int ch)
{
	struct ui *u = NULL;
	const LineInfo *li;
	struct complete c;
	size_t cursor;
	char *before;
	int rc;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &u);
	if (u == NULL || u->on_complete == NULL || u->in_complete)
		return CC_ERROR;
	li = el_line(el);
	cursor = (size_t)(li->cursor - li->buffer);
	/* a copy: li is libedit's conversion buffer, reused by any call */
	if ((before = strndup(li->buffer, cursor)) == NULL)
		return CC_ERROR;
	u->in_complete = true;
	rc = u->on_complete(u->arg, before, cursor, &c) > 0;
	u->in_complete = false;
	if (rc) {
		el_deletestr(el, chars(before + c.word_start, cursor - c.word_start));
		if (el_insertstr(el, c.text) < 0)
			rc = 0;
	}
	free(before);
	return rc ? CC_REFRESH : CC_ERROR;
}

struct ui *
ui_new(const char *prog, ui_line_fn *on_line, ui_complete_fn *on_complete, void *arg,
    char *err, size_t cap)
{
	struct ui *u = calloc(1, sizeof *u);
	HistEvent ev;

	if (u == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	u->out = stdout;
	u->on_line = on_line;
	u->on_complete = on_complete;
	u->arg = arg;
	snprintf(u->prompt, sizeof u->prompt, "> ");
	u->el = el_init(prog, stdin, stdout, stderr);
	u->hist = history_init();
	if (u->el == NULL || u->hist == NULL) {
		snprintf(err, cap, "cannot set up line editing on this terminal");
		ui_free(u);
		return NULL;
	}
	history(u->hist, &ev, H_SETSIZE, UI_HISTORY);
	history(u->hist, &ev, H_SETUNIQUE, 1);
	el_set(u->el, EL_CLIENTDATA, u);
	el_set(u->el, EL_EDITOR, "emacs");
	/* signals arrive through the client's signalfd, not libedit's handlers */
	el_set(u->el, EL_SIGNAL, 0);
	el_set(u->el, EL_PROMPT, prompt_fn);
	el_set(u->el, EL_HIST, history, u->hist);
	/* wide and static: narrow el_set() copies these and never frees them */
	el_wset(u->el, EL_ADDFN, L"shmchat-complete", L"complete a nick", complete_fn);
	el_set(u->el, EL_BIND, "^I", "shmchat-complete", NULL);
	el_source(u->el, NULL);		/* ~/.editrc, as every libedit program */
	/* raw mode, one key per el_gets(); draws the prompt */
	el_set(u->el, EL_UNBUFFERED, 1);
	flush(u);
	return u;
}

void
ui_free(struct ui *u)
{
	if (u == NULL)
		return;
	if (u->el != NULL) {
		erase_input(u);
		flush(u);
		el_set(u->el, EL_UNBUFFERED, 0);	/* back to the terminal's modes */
		el_end(u->el);
	}
	if (u->hist != NULL)
		history_end(u->hist);
	free(u);
}

/* Enter: the line is done */
static void
line_done(struct ui *u, const char *buf, size_t len)
{
	size_t pw = width(u->prompt, strlen(u->prompt));
	char *line = strndup(buf, len);
	int rows = (int)((pw + width(buf, len)) / (size_t)columns(u)) + 1;
	HistEvent ev;

	/*
	 * libedit left the typed line on screen and moved below it; take it
	 * away, the client shows what it did with it instead
	 */
	fprintf(u->out, "\033[%dA\r\033[J", rows);
	/* a fresh, empty line: toggling unbuffered mode resets the editor */
	el_set(u->el, EL_UNBUFFERED, 0);
	el_set(u->el, EL_UNBUFFERED, 1);
	flush(u);
	if (line == NULL)
		return;
	if (line[strspn(line, " ")] != '\0')
		history(u->hist, &ev, H_ENTER, line);
	u->on_line(u->arg, line);
	free(line);
}

int
ui_readable(struct ui *u)
{
	const char *buf;
	int count = 0;

	errno = 0;
	buf = el_gets(u->el, &count);
	if (buf == NULL) {
		/* NULL also means "the line is empty now" (a deleted last
		 * character); only a read error sets errno */
		if (count < 0 && errno != 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		return 0;
	}
	if (count > 0 && buf[count - 1] == '\n') {
		line_done(u, buf, (size_t)count - 1);
		return 0;
	}
	if (count == 1 && buf[0] == '\004') {
		/* Ctrl-D on an empty line: libedit leaves the EOF char */
		fputs("\r\033[J", u->out);
		flush(u);
		u->on_line(u->arg, NULL);
	}
	flush(u);
	return 0;
}

void
ui_resize(struct ui *u)
{
	el_resize(u->el);
	fputs("\r\033[J", u->out);
	el_set(u->el, EL_REFRESH);
	flush(u);
}

void
ui_suspend(struct ui *u)
{
	erase_input(u);
	flush(u);
	el_set(u->el, EL_PREP_TERM, 0);
}

void
ui_resume(struct ui *u)
{
	el_set(u->el, EL_PREP_TERM, 1);
	el_set(u->el, EL_REFRESH);
	flush(u);
}
