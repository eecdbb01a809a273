/*
 * libFuzzer harness for the IRC input path of a worker: bytes from a client
 * go through linebuf (framing, in chunks whose sizes come from the input
 * itself) and every line through irc_parse(). Built and run by
 * tests/fuzz/run.sh (make fuzz).
 *
 * Besides memory safety (ASan/UBSan) it checks what the server relies on:
 * - linebuf agrees with a reference model of the framing rules in
 *   linebuf.h: lines end at LF, one CR before it is dropped, a line longer
 *   than maxline (with its CR LF) is reported once as LINEBUF_TOOLONG and
 *   never handed out in pieces; the result does not depend on how the
 *   bytes were split into reads; linebuf_unget() hands the same line out;
 * - irc_parse() results are well formed: a command of letters (upper case)
 *   or three digits, at most 15 parameters, no space inside a middle
 *   parameter, and a line rebuilt from them (without CR or LF) parses to
 *   the same message;
 * - irc_fmt() never lets a parameter inject a command: its output is one
 *   line of at most 512 bytes, CR LF only at its end, no NUL, and valid
 *   UTF-8 stays valid UTF-8 when it cuts.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irc.h"
#include "linebuf.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_irc: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* one line of output from the framing: a line, or an overlong report */
struct frame {
	int kind;		/* LINEBUF_LINE or LINEBUF_TOOLONG */
	size_t off, len;	/* LINE: where in the input (model) */
	char *text;		/* LINE: a copy of the line (linebuf) */
};

struct frames {
	struct frame *v;
	size_t n, cap;
};

static void frames_add(struct frames *f, int kind, size_t off, size_t len, char *text)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->v = realloc(f->v, f->cap * sizeof *f->v);
		CHECK(f->v != NULL);
	}
	f->v[f->n++] = (struct frame){ kind, off, len, text };
}

/* the framing rules of linebuf.h, written the simple way */
static void model(const uint8_t *d, size_t n, size_t maxline, struct frames *out)
{
	size_t start = 0;

	while (start < n) {
		const uint8_t *nl = memchr(d + start, '\n', n - start);
		size_t seg = nl ? (size_t)(nl - (d + start)) : n - start;

		if (!nl) {
			/* an unfinished last line: reported only once it cannot fit */
			if (seg >= maxline)
				frames_add(out, LINEBUF_TOOLONG, 0, 0, NULL);
			return;
		}
		if (seg >= maxline) {
			frames_add(out, LINEBUF_TOOLONG, 0, 0, NULL);
		} else {
			size_t l = seg > 0 && d[start + seg - 1] == '\r' ? seg - 1 : seg;

			if (l > maxline - 2)
				frames_add(out, LINEBUF_TOOLONG, 0, 0, NULL);
			else
				frames_add(out, LINEBUF_LINE, start, l, NULL);
		}
		start += seg + 1;
	}
}

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void check_fmt(const char *text, size_t len)
{
	char out[IRC_MAXLINE + 1];
	size_t n;
	char *copy = malloc(len + 1);

	CHECK(copy != NULL);
	memcpy(copy, text, len);
	copy[len] = '\0';	/* an embedded NUL ends it for %s, as in the server */
	n = irc_fmt(out, sizeof out, ":nick!user@host PRIVMSG #chan :%s", copy);
	CHECK(n >= 2 && n <= IRC_MAXLINE);
	CHECK(out[n] == '\0' && out[n - 2] == '\r' && out[n - 1] == '\n');
	CHECK(memchr(out, '\r', n - 2) == NULL && memchr(out, '\n', n - 2) == NULL);
	CHECK(strlen(out) == n);
	if (irc_utf8_valid(copy, strlen(copy)))
		CHECK(irc_utf8_valid(out, n - 2));
	free(copy);
}

static void check_msg(const struct irc_msg *m)
{
	CHECK(m->command != NULL);
	CHECK(m->nparams >= 0 && m->nparams <= IRC_MAXPARAMS);
	{
		size_t cl = strlen(m->command);
		bool digits = cl == 3;

		for (size_t i = 0; i < cl && digits; i++)
			digits = m->command[i] >= '0' && m->command[i] <= '9';
		CHECK(cl > 0);
		if (!digits)
			for (size_t i = 0; i < cl; i++)
				CHECK(m->command[i] >= 'A' && m->command[i] <= 'Z');
	}
	if (m->prefix)
		CHECK(strchr(m->prefix, ' ') == NULL);
	if (m->tags)
		CHECK(strchr(m->tags, ' ') == NULL);
	for (int i = 0; i < m->nparams; i++) {
		CHECK(m->params[i] != NULL);
		if (i < m->nparams - 1) {
			CHECK(m->params[i][0] != '\0' && m->params[i][0] != ':');
			CHECK(strchr(m->params[i], ' ') == NULL);
		}
	}
}

/* rebuild "[:prefix ]CMD p1 ... :last" and parse it again: same message */
static void check_roundtrip(const struct irc_msg *m)
{
	static char line[IRC_MAXTAGS + 3 * IRC_MAXLINE];
	static struct irc_msg again;
	size_t n = 0;

	if (m->prefix)
		n += (size_t)snprintf(line + n, sizeof line - n, ":%s ", m->prefix);
	n += (size_t)snprintf(line + n, sizeof line - n, "%s", m->command);
	for (int i = 0; i < m->nparams; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, i == m->nparams - 1 ? " :%s" : " %s",
				      m->params[i]);
	if (n > IRC_MAXLINE - 2)
		return;		/* the trailing ':' may have pushed it over */
	if (memchr(line, '\r', n) || memchr(line, '\n', n))
		return;		/* not representable in one line (irc_fmt blanks them) */
	CHECK(irc_parse(&again, line, n) == IRC_PARSE_OK);
	CHECK(strcmp(again.command, m->command) == 0);
	CHECK((again.prefix == NULL) == (m->prefix == NULL));
	if (m->prefix)
		CHECK(strcmp(again.prefix, m->prefix) == 0);
	CHECK(again.nparams == m->nparams);
	for (int i = 0; i < m->nparams; i++)
		CHECK(strcmp(again.params[i], m->params[i]) == 0);
}

static void check_line(const char *line, size_t len)
{
	static struct irc_msg m;
	int rc = irc_parse(&m, line, len);

	CHECK(rc == IRC_PARSE_OK || rc == IRC_PARSE_EMPTY || rc == IRC_PARSE_NOCOMMAND ||
	      rc == IRC_PARSE_BADCOMMAND || rc == IRC_PARSE_TOOLONG || rc == IRC_PARSE_NUL);
	if (memchr(line, '\0', len))
		CHECK(rc == IRC_PARSE_NUL);
	if (rc != IRC_PARSE_OK)
		return;
	check_msg(&m);
	check_roundtrip(&m);
	for (int i = 0; i < m.nparams; i++) {
		char fold[IRC_MAXLINE + 1];
		size_t pl = strlen(m.params[i]);

		check_fmt(m.params[i], pl);
		if (irc_nick_valid(m.params[i], 30)) {
			CHECK(pl >= 1 && pl <= 30);
			CHECK(strpbrk(m.params[i], " ,:!@#\r\n") == NULL);
		}
		if (irc_chan_valid(m.params[i], 50)) {
			CHECK(pl >= 2 && pl <= 50 && m.params[i][0] == '#');
			CHECK(strpbrk(m.params[i], " ,:\a\r\n") == NULL);
		}
		if (irc_casefold(fold, sizeof fold, m.params[i]) >= 0)
			CHECK(irc_casecmp(fold, m.params[i]) == 0);
		for (size_t k = 0; k <= pl; k += 1 + k / 4) {
			size_t c = irc_utf8_cut(m.params[i], k);

			CHECK(c <= k);
			if (irc_utf8_valid(m.params[i], pl))
				CHECK(irc_utf8_valid(m.params[i], c));
		}
	}
}

/* feed d through a linebuf of maxline in reads sized by rng; frames out */
static void run_linebuf(const uint8_t *d, size_t n, size_t maxline, uint32_t seed,
			struct frames *out, bool parse)
{
	struct linebuf lb;
	size_t pos = 0;
	uint32_t rng = seed | 1;

	CHECK(linebuf_init(&lb, maxline) == 0);
	for (;;) {
		const char *line;
		size_t len;
		enum linebuf_result r;

		while ((r = linebuf_next(&lb, &line, &len)) != LINEBUF_NEED_MORE) {
			if (r == LINEBUF_TOOLONG) {
				frames_add(out, LINEBUF_TOOLONG, 0, 0, NULL);
				continue;
			}
			CHECK(r == LINEBUF_LINE);
			CHECK(len <= maxline - 2);
			CHECK(memchr(line, '\n', len) == NULL);
			if (rng_next(&rng) % 8 == 0) {
				const char *again;
				size_t alen;
				char *copy = malloc(len ? len : 1);

				CHECK(copy != NULL);
				memcpy(copy, line, len);
				linebuf_unget(&lb);
				CHECK(linebuf_next(&lb, &again, &alen) == LINEBUF_LINE);
				CHECK(alen == len && memcmp(again, copy, len) == 0);
				free(copy);
				line = again;
			}
			if (parse)
				check_line(line, len);
			/* a copy of the text, compared with the model's afterwards */
			{
				char *copy = malloc(len + 1);

				CHECK(copy != NULL);
				memcpy(copy, line, len);
				frames_add(out, LINEBUF_LINE, 0, len, copy);
			}
		}
		if (pos == n)
			break;
		{
			size_t avail, take;
			char *space = linebuf_space(&lb, &avail);

			CHECK(avail > 0);
			take = 1 + rng_next(&rng) % 700;
			if (take > avail)
				take = avail;
			if (take > n - pos)
				take = n - pos;
			memcpy(space, d + pos, take);
			linebuf_commit(&lb, take);
			pos += take;
		}
		CHECK(linebuf_pending(&lb) <= maxline);
	}
	linebuf_free(&lb);
}

static void free_frames(struct frames *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	memset(f, 0, sizeof *f);
}

static void compare(const uint8_t *d, const struct frames *want, const struct frames *got)
{
	CHECK(want->n == got->n);
	for (size_t i = 0; i < want->n; i++) {
		CHECK(want->v[i].kind == got->v[i].kind);
		if (want->v[i].kind == LINEBUF_LINE) {
			CHECK(want->v[i].len == got->v[i].len);
			CHECK(memcmp(d + want->v[i].off, got->v[i].text,
				     want->v[i].len) == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxlines[] = { IRC_MAXLINE, 16 };
	uint32_t seed = 2166136261u;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;

	/* the whole input as one line, straight into the parser */
	check_line((const char *)data, size);

	for (size_t k = 0; k < sizeof maxlines / sizeof *maxlines; k++) {
		struct frames want = { 0 }, got1 = { 0 }, got2 = { 0 };

		model(data, size, maxlines[k], &want);
		/* two different splittings into reads give the same lines */
		run_linebuf(data, size, maxlines[k], seed, &got1, k == 0);
		run_linebuf(data, size, maxlines[k], seed * 2654435761u + 1, &got2, false);
		compare(data, &want, &got1);
		compare(data, &want, &got2);
		free_frames(&want);
		free_frames(&got1);
		free_frames(&got2);
	}
	return 0;
}
