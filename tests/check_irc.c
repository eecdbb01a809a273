/*
 * check_irc: unit tests for the IRC line parser, formatter and name rules,
 * and for the JSON strings built on its UTF-8 rules (common/json.c).
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "irc.h"
#include "json.h"
#include "unit.h"

static struct irc_msg msg;

/* parse a NUL-terminated test line */
static int
parse(const char *s)
{
	return irc_parse(&msg, s, strlen(s));
}

/* a line of n copies of c */
static char *
filled(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
	return dst;
}

/* ---------------------------------------------------------------- parse */

START_TEST(parse_simple)
{
	ck_assert_int_eq(parse("PING server"), IRC_PARSE_OK);
	ck_assert_ptr_null(msg.tags);
	ck_assert_ptr_null(msg.prefix);
	ck_assert_str_eq(msg.command, "PING");
	ck_assert_int_eq(msg.nparams, 1);
	ck_assert_str_eq(msg.params[0], "server");

	ck_assert_int_eq(parse("QUIT"), IRC_PARSE_OK);
	ck_assert_str_eq(msg.command, "QUIT");
	ck_assert_int_eq(msg.nparams, 0);
}
END_TEST

START_TEST(parse_prefix)
{
	ck_assert_int_eq(parse(":nick!user@host PRIVMSG #chan :hi there"),
	    IRC_PARSE_OK);
	ck_assert_ptr_null(msg.tags);
	ck_assert_str_eq(msg.prefix, "nick!user@host");
	ck_assert_str_eq(msg.command, "PRIVMSG");
	ck_assert_int_eq(msg.nparams, 2);
	ck_assert_str_eq(msg.params[0], "#chan");
	ck_assert_str_eq(msg.params[1], "hi there");
}
END_TEST

START_TEST(parse_tags)
{
	ck_assert_int_eq(parse("@id=123;time=x :srv NOTICE me :yo"),
	    IRC_PARSE_OK);
	ck_assert_str_eq(msg.tags, "id=123;time=x");
	ck_assert_str_eq(msg.prefix, "srv");
	ck_assert_str_eq(msg.command, "NOTICE");
	ck_assert_int_eq(msg.nparams, 2);
	ck_assert_str_eq(msg.params[0], "me");
	ck_assert_str_eq(msg.params[1], "yo");

	ck_assert_int_eq(parse("@a=b PING x"), IRC_PARSE_OK);
	ck_assert_str_eq(msg.tags, "a=b");
	ck_assert_ptr_null(msg.prefix);
	ck_assert_str_eq(msg.command, "PING");
}
END_TEST

START_TEST(parse_trailing_spaces)
{
	ck_assert_int_eq(parse("PRIVMSG #a :  hello   world  "), IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 2);
	ck_assert_str_eq(msg.params[1], "  hello   world  ");
	/* a ':' inside the trailing stays */
	ck_assert_int_eq(parse("PRIVMSG #a ::) x :y"), IRC_PARSE_OK);
	ck_assert_str_eq(msg.params[1], ":) x :y");
	/* ':' inside a middle param does not start the trailing */
	ck_assert_int_eq(parse("MODE a:b c"), IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 2);
	ck_assert_str_eq(msg.params[0], "a:b");
}
END_TEST

START_TEST(parse_empty_trailing)
{
	ck_assert_int_eq(parse("PRIVMSG #a :"), IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 2);
	ck_assert_str_eq(msg.params[0], "#a");
	ck_assert_str_eq(msg.params[1], "");
}
END_TEST

START_TEST(parse_fifteen_params)
{
	int i;

	ck_assert_int_eq(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"),
	    IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 15);
	ck_assert_str_eq(msg.params[0], "1");
	ck_assert_str_eq(msg.params[14], "15");

	ck_assert_int_eq(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15  16 :17"),
	    IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 15);
	for (i = 0; i < 14; i++) {
		char want[12];

		snprintf(want, sizeof want, "%d", i + 1);
		ck_assert_str_eq(msg.params[i], want);
	}
	ck_assert_str_eq(msg.params[14], "15  16 :17");

	/* the 15th with a ':' loses it, exactly as a trailing does */
	ck_assert_int_eq(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :a b"),
	    IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 15);
	ck_assert_str_eq(msg.params[14], "a b");
}
END_TEST

START_TEST(parse_numeric)
{
	ck_assert_int_eq(parse(":irc.example 001 nick :Welcome"), IRC_PARSE_OK);
	ck_assert_str_eq(msg.command, "001");
	ck_assert_int_eq(msg.nparams, 2);
	ck_assert_str_eq(msg.params[0], "nick");
	ck_assert_str_eq(msg.params[1], "Welcome");
}
END_TEST

START_TEST(parse_lowercase)
{
	ck_assert_int_eq(parse("privMsg #A :Hi"), IRC_PARSE_OK);
	ck_assert_str_eq(msg.command, "PRIVMSG");
	/* params keep their case */
	ck_assert_str_eq(msg.params[0], "#A");
	ck_assert_str_eq(msg.params[1], "Hi");
}
END_TEST

START_TEST(parse_multiple_spaces)
{
	ck_assert_int_eq(parse("   :p    USER   a  b    c   :real  name"),
	    IRC_PARSE_OK);
	ck_assert_str_eq(msg.prefix, "p");
	ck_assert_str_eq(msg.command, "USER");
	ck_assert_int_eq(msg.nparams, 4);
	ck_assert_str_eq(msg.params[0], "a");
	ck_assert_str_eq(msg.params[1], "b");
	ck_assert_str_eq(msg.params[2], "c");
	ck_assert_str_eq(msg.params[3], "real  name");

	/* trailing spaces after the last middle param add nothing */
	ck_assert_int_eq(parse("JOIN #a   "), IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 1);
	ck_assert_str_eq(msg.params[0], "#a");
}
END_TEST

START_TEST(parse_no_command)
{
	ck_assert_int_eq(parse(":prefix"), IRC_PARSE_NOCOMMAND);
	ck_assert_int_eq(parse(":prefix   "), IRC_PARSE_NOCOMMAND);
	ck_assert_int_eq(parse("@a=b"), IRC_PARSE_NOCOMMAND);
	ck_assert_int_eq(parse("@a=b   "), IRC_PARSE_NOCOMMAND);
	ck_assert_int_eq(parse("@a=b :prefix"), IRC_PARSE_NOCOMMAND);
}
END_TEST

START_TEST(parse_empty)
{
	ck_assert_int_eq(irc_parse(&msg, "", 0), IRC_PARSE_EMPTY);
	ck_assert_int_eq(parse("      "), IRC_PARSE_EMPTY);
	ck_assert_int_eq(parse("\r"), IRC_PARSE_EMPTY);
	ck_assert_int_eq(parse("   \r"), IRC_PARSE_EMPTY);
}
END_TEST

START_TEST(parse_bad_command)
{
	ck_assert_int_eq(parse("12 x"), IRC_PARSE_BADCOMMAND);
	ck_assert_int_eq(parse("1234 x"), IRC_PARSE_BADCOMMAND);
	ck_assert_int_eq(parse("PRIV!MSG x"), IRC_PARSE_BADCOMMAND);
	ck_assert_int_eq(parse("A1"), IRC_PARSE_BADCOMMAND);
	ck_assert_int_eq(parse("00A"), IRC_PARSE_BADCOMMAND);
	ck_assert_int_eq(parse(":p 12"), IRC_PARSE_BADCOMMAND);
	ck_assert_int_eq(parse(":p \xc3\xa9"), IRC_PARSE_BADCOMMAND);
}
END_TEST

START_TEST(parse_nul)
{
	static const char line[] = "PRIVMSG #a :x\0y";

	ck_assert_int_eq(irc_parse(&msg, line, sizeof line - 1), IRC_PARSE_NUL);
	ck_assert_int_eq(irc_parse(&msg, "\0PING", 5), IRC_PARSE_NUL);
	/* only len bytes count: a NUL just past them is not looked at */
	ck_assert_int_eq(irc_parse(&msg, line, 13), IRC_PARSE_OK);
	ck_assert_str_eq(msg.params[1], "x");
}
END_TEST

START_TEST(parse_not_nul_terminated)
{
	char line[16];

	memcpy(line, "PING abcdefXXXX", 15);
	line[15] = 'Z';
	ck_assert_int_eq(irc_parse(&msg, line, 11), IRC_PARSE_OK);
	ck_assert_str_eq(msg.params[0], "abcdef");
}
END_TEST

START_TEST(parse_invalid_utf8)
{
	ck_assert_int_eq(parse("PRIVMSG #a :\xff\xc3 bad \xed\xa0\x80"),
	    IRC_PARSE_OK);
	ck_assert_str_eq(msg.params[1], "\xff\xc3 bad \xed\xa0\x80");
}
END_TEST

START_TEST(parse_too_long)
{
	char line[IRC_MAXTAGS + IRC_MAXLINE + 64];
	size_t pre = strlen("PRIVMSG #a :");

	/* 510 bytes of body: accepted */
	memcpy(line, "PRIVMSG #a :", pre);
	filled(line + pre, 'x', IRC_MAXLINE - 2 - pre);
	ck_assert_uint_eq(strlen(line), IRC_MAXLINE - 2);
	ck_assert_int_eq(parse(line), IRC_PARSE_OK);
	ck_assert_uint_eq(strlen(msg.params[1]), IRC_MAXLINE - 2 - pre);

	/* a trailing CR is not counted */
	strcat(line, "\r");
	ck_assert_int_eq(parse(line), IRC_PARSE_OK);
	ck_assert_uint_eq(strlen(msg.params[1]), IRC_MAXLINE - 2 - pre);

	/* 511: rejected */
	filled(line + pre, 'x', IRC_MAXLINE - 1 - pre);
	ck_assert_int_eq(parse(line), IRC_PARSE_TOOLONG);

	/* maximal tags plus maximal body: accepted */
	line[0] = '@';
	filled(line + 1, 't', IRC_MAXTAGS);
	line[1 + IRC_MAXTAGS] = ' ';
	memcpy(line + 2 + IRC_MAXTAGS, "PRIVMSG #a :", pre);
	filled(line + 2 + IRC_MAXTAGS + pre, 'y', IRC_MAXLINE - 2 - pre);
	ck_assert_int_eq(parse(line), IRC_PARSE_OK);
	ck_assert_uint_eq(strlen(msg.tags), IRC_MAXTAGS);
	ck_assert_str_eq(msg.command, "PRIVMSG");
	ck_assert_uint_eq(strlen(msg.params[1]), IRC_MAXLINE - 2 - pre);
	ck_assert_int_eq(msg.params[1][0], 'y');

	/* one byte more of body */
	strcat(line, "y");
	ck_assert_int_eq(parse(line), IRC_PARSE_TOOLONG);

	/* one byte more of tags */
	line[0] = '@';
	filled(line + 1, 't', IRC_MAXTAGS + 1);
	strcat(line, " PING x");
	ck_assert_int_eq(parse(line), IRC_PARSE_TOOLONG);
}
END_TEST

START_TEST(parse_trailing_cr)
{
	ck_assert_int_eq(parse("PING x\r"), IRC_PARSE_OK);
	ck_assert_int_eq(msg.nparams, 1);
	ck_assert_str_eq(msg.params[0], "x");
	ck_assert_int_eq(parse("PRIVMSG #a :hi\r"), IRC_PARSE_OK);
	ck_assert_str_eq(msg.params[1], "hi");
	ck_assert_int_eq(parse("QUIT\r"), IRC_PARSE_OK);
	ck_assert_str_eq(msg.command, "QUIT");
}
END_TEST

START_TEST(param_last)
{
	ck_assert_int_eq(irc_parse(&msg, "PRIVMSG #c :hi there", 20), IRC_PARSE_OK);
	ck_assert_str_eq(irc_param(&msg, 0), "#c");
	ck_assert_str_eq(irc_param(&msg, 1), "hi there");
	ck_assert_str_eq(irc_param(&msg, 2), "");
	ck_assert_str_eq(irc_param(&msg, -1), "");
	ck_assert_str_eq(irc_last(&msg), "hi there");
	ck_assert_int_eq(irc_parse(&msg, "QUIT", 4), IRC_PARSE_OK);
	ck_assert_str_eq(irc_param(&msg, 0), "");
	ck_assert_str_eq(irc_last(&msg), "");
}
END_TEST

/* ---------------------------------------------------------------- fmt */

START_TEST(fmt_crlf)
{
	char out[IRC_MAXLINE + 1];
	size_t n;

	n = irc_fmt(out, sizeof out, ":%s PRIVMSG %s :%s", "a", "#b", "hi");
	ck_assert_str_eq(out, ":a PRIVMSG #b :hi\r\n");
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_uint_eq(n, 19);
}
END_TEST

START_TEST(fmt_injection)
{
	char out[IRC_MAXLINE + 1];
	size_t n;

	n = irc_fmt(out, sizeof out, "PRIVMSG %s :%s", "#a",
	    "x\r\nQUIT :pwned\ry\nz");
	ck_assert_str_eq(out, "PRIVMSG #a :x  QUIT :pwned y z\r\n");
	ck_assert_uint_eq(n, strlen(out));

	/* a NUL produced by %c does not cut the line either */
	n = irc_fmt(out, sizeof out, "A%cB", '\0');
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(out, "A B\r\n", 6);
}
END_TEST

START_TEST(fmt_truncate)
{
	char out[IRC_MAXLINE + 1], big[2000];
	size_t n;

	filled(big, 'x', sizeof big - 1);
	n = irc_fmt(out, sizeof out, "PRIVMSG #a :%s", big);
	ck_assert_uint_eq(n, IRC_MAXLINE);
	ck_assert_uint_eq(strlen(out), IRC_MAXLINE);
	ck_assert_mem_eq(out + IRC_MAXLINE - 3, "x\r\n", 3);
	ck_assert_int_eq(memcmp(out, "PRIVMSG #a :xxx", 15), 0);

	/* exactly 510 bytes of text: kept whole */
	filled(big, 'y', IRC_MAXLINE - 2);
	n = irc_fmt(out, sizeof out, "%s", big);
	ck_assert_uint_eq(n, IRC_MAXLINE);
	ck_assert_int_eq(out[IRC_MAXLINE - 3], 'y');

	/* 511: one byte goes */
	filled(big, 'y', IRC_MAXLINE - 1);
	n = irc_fmt(out, sizeof out, "%s", big);
	ck_assert_uint_eq(n, IRC_MAXLINE);
	ck_assert_mem_eq(out + IRC_MAXLINE - 3, "y\r\n", 4);
}
END_TEST

/*
 * The character seq (clen bytes) straddles the 510-byte limit when it
 * starts at offset start. Everything from the character on must go.
 */
static void
check_utf8_boundary(const char *seq, size_t clen)
{
	char out[IRC_MAXLINE + 1], text[IRC_MAXLINE + 16];
	size_t start, n;

	for (start = IRC_MAXLINE - 2 - clen; start <= IRC_MAXLINE - 2; start++) {
		memset(text, 'a', start);
		memcpy(text + start, seq, clen);
		filled(text + start + clen, 'b', 4);
		n = irc_fmt(out, sizeof out, "%s", text);
		if (start + clen <= IRC_MAXLINE - 2) {
			/* the char fits whole */
			ck_assert_uint_eq(n, IRC_MAXLINE);
			ck_assert_mem_eq(out + start, seq, clen);
		} else {
			/* cut before the char, never inside it */
			ck_assert_uint_eq(n, start + 2);
			ck_assert_int_eq(out[start - 1], 'a');
			ck_assert_mem_eq(out + start, "\r\n", 3);
		}
		ck_assert(irc_utf8_valid(out, n));
	}
}

START_TEST(fmt_utf8_boundary)
{
	check_utf8_boundary("\xc3\xa9", 2);		/* é */
	check_utf8_boundary("\xe2\x82\xac", 3);		/* € */
	check_utf8_boundary("\xf0\x9f\x98\x80", 4);	/* 😀 */
}
END_TEST

START_TEST(fmt_invalid_at_cut)
{
	char out[IRC_MAXLINE + 1], text[IRC_MAXLINE + 16];
	size_t n;

	/* stray continuation bytes at the limit: plain byte cut */
	filled(text, '\x80', IRC_MAXLINE + 4);
	n = irc_fmt(out, sizeof out, "%s", text);
	ck_assert_uint_eq(n, IRC_MAXLINE);
}
END_TEST

START_TEST(fmt_small_cap)
{
	char out[16];
	size_t n;

	n = irc_fmt(out, 8, "PING %s", "abcdefgh");
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(out, "PING \r\n");
	/* 5 bytes of room end inside the third character */
	n = irc_fmt(out, 8, "%s", "\xc3\xa9\xc3\xa9\xc3\xa9");
	ck_assert_str_eq(out, "\xc3\xa9\xc3\xa9\r\n");
	ck_assert_uint_eq(n, 6);
	n = irc_fmt(out, 3, "%s", "x");
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out, "\r\n");
}
END_TEST

/* ---------------------------------------------------------------- utf8 */

START_TEST(utf8_cut)
{
	ck_assert_uint_eq(irc_utf8_cut("", 0), 0);
	ck_assert_uint_eq(irc_utf8_cut("abc", 3), 3);
	ck_assert_uint_eq(irc_utf8_cut("a\xc3\xa9", 3), 3);
	ck_assert_uint_eq(irc_utf8_cut("a\xc3\xa9", 2), 1);
	ck_assert_uint_eq(irc_utf8_cut("a\xe2\x82\xac", 4), 4);
	ck_assert_uint_eq(irc_utf8_cut("a\xe2\x82\xac", 3), 1);
	ck_assert_uint_eq(irc_utf8_cut("a\xe2\x82\xac", 2), 1);
	ck_assert_uint_eq(irc_utf8_cut("a\xf0\x9f\x98\x80", 5), 5);
	ck_assert_uint_eq(irc_utf8_cut("a\xf0\x9f\x98\x80", 4), 1);
	ck_assert_uint_eq(irc_utf8_cut("a\xf0\x9f\x98\x80", 3), 1);
	ck_assert_uint_eq(irc_utf8_cut("a\xf0\x9f\x98\x80", 2), 1);
	ck_assert_uint_eq(irc_utf8_cut("\xc3", 1), 0);
	/* invalid structure at the end: left alone */
	ck_assert_uint_eq(irc_utf8_cut("a\x80\x80\x80\x80", 5), 5);
	ck_assert_uint_eq(irc_utf8_cut("a\xff", 2), 2);
	ck_assert_uint_eq(irc_utf8_cut("\x80", 1), 1);
	/* invalid bytes earlier do not matter */
	ck_assert_uint_eq(irc_utf8_cut("\xff\x80z\xc3", 4), 3);
}
END_TEST

START_TEST(utf8_seqlen)
{
	ck_assert_uint_eq(irc_utf8_seqlen("", 0), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("a", 1), 1);
	ck_assert_uint_eq(irc_utf8_seqlen("\0", 1), 1);
	ck_assert_uint_eq(irc_utf8_seqlen("\xc3\xa9x", 3), 2);
	ck_assert_uint_eq(irc_utf8_seqlen("\xe2\x82\xac", 3), 3);
	ck_assert_uint_eq(irc_utf8_seqlen("\xf0\x9f\x98\x80", 4), 4);
	/* truncated by len, invalid leads, overlongs, surrogates */
	ck_assert_uint_eq(irc_utf8_seqlen("\xc3\xa9", 1), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("\x80", 1), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("\xff", 1), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("\xc0\xaf", 2), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("\xe0\x80\xaf", 3), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("\xed\xa0\x80", 3), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("\xf4\x90\x80\x80", 4), 0);
	ck_assert_uint_eq(irc_utf8_seqlen("\xe2\x82x", 3), 0);
}
END_TEST

START_TEST(utf8_valid)
{
	static const char *good[] = {
		"", "plain", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xef\xbf\xbf",
		"\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf",
	};
	static const char *bad[] = {
		"\x80", "\xbf", "\xc3", "\xc3x", "\xe2\x82", "\xf0\x9f\x98",
		"\xc0\xaf", "\xc1\xbf",			/* overlong 2-byte */
		"\xe0\x80\xaf", "\xe0\x9f\xbf",		/* overlong 3-byte */
		"\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",	/* overlong 4-byte */
		"\xed\xa0\x80", "\xed\xbf\xbf",		/* surrogates */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80",	/* > U+10FFFF */
		"\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"\xe2\x28\xa1", "\xf0\x9f\x28\x80", "ok\xc3",
	};
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(irc_utf8_valid(good[i], strlen(good[i])),
		    "good[%zu] rejected", i);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!irc_utf8_valid(bad[i], strlen(bad[i])),
		    "bad[%zu] accepted", i);
	/* a NUL is valid UTF-8 */
	ck_assert(irc_utf8_valid("a\0b", 3));
	/* only len bytes are looked at */
	ck_assert(irc_utf8_valid("ab\xff", 2));
	ck_assert(!irc_utf8_valid("\xc3\xa9", 1));
}
END_TEST

/* ---------------------------------------------------------------- case */

START_TEST(casemap)
{
	ck_assert_int_eq(irc_tolower('A'), 'a');
	ck_assert_int_eq(irc_tolower('Z'), 'z');
	ck_assert_int_eq(irc_tolower('a'), 'a');
	ck_assert_int_eq(irc_tolower('['), '{');
	ck_assert_int_eq(irc_tolower(']'), '}');
	ck_assert_int_eq(irc_tolower('\\'), '|');
	ck_assert_int_eq(irc_tolower('~'), '^');
	ck_assert_int_eq(irc_tolower('{'), '{');
	ck_assert_int_eq(irc_tolower('^'), '^');
	ck_assert_int_eq(irc_tolower('@'), '@');
	ck_assert_int_eq(irc_tolower('0'), '0');
	ck_assert_int_eq(irc_tolower('\xc3'), '\xc3');
}
END_TEST

START_TEST(casecmp)
{
	ck_assert_int_eq(irc_casecmp("Nick[A]\\~", "nick{a}|^"), 0);
	ck_assert_int_eq(irc_casecmp("", ""), 0);
	ck_assert_int_lt(irc_casecmp("abc", "abd"), 0);
	ck_assert_int_gt(irc_casecmp("abd", "ABC"), 0);
	ck_assert_int_lt(irc_casecmp("ab", "abc"), 0);
	ck_assert_int_gt(irc_casecmp("abc", "AB"), 0);
	ck_assert_int_ne(irc_casecmp("a_", "a-"), 0);
	/* high bytes compare unsigned, as strcmp does */
	ck_assert_int_gt(irc_casecmp("\xc3", "a"), 0);
}
END_TEST

START_TEST(casefold)
{
	char dst[8];

	ck_assert_int_eq(irc_casefold(dst, sizeof dst, "#Chan[]"), 7);
	ck_assert_str_eq(dst, "#chan{}");
	ck_assert_int_eq(irc_casefold(dst, sizeof dst, ""), 0);
	ck_assert_str_eq(dst, "");
	ck_assert_int_eq(irc_casefold(dst, sizeof dst, "12345678"), -1);
	ck_assert_int_eq(irc_casefold(dst, 0, "x"), -1);
	ck_assert_int_eq(irc_casefold(dst, 1, ""), 0);
}
END_TEST

/* ---------------------------------------------------------------- names */

START_TEST(nick_valid)
{
	ck_assert(irc_nick_valid("alice", 9));
	ck_assert(irc_nick_valid("a", 1));
	ck_assert(irc_nick_valid("[]\\`_^{|}", 9));
	ck_assert(irc_nick_valid("x-1", 9));
	ck_assert(irc_nick_valid("Abcdefghi", 9));
	ck_assert(!irc_nick_valid("Abcdefghij", 9));
	ck_assert(!irc_nick_valid("", 9));
	ck_assert(!irc_nick_valid(NULL, 9));
	ck_assert(!irc_nick_valid("1abc", 9));
	ck_assert(!irc_nick_valid("-abc", 9));
	ck_assert(!irc_nick_valid("a b", 9));
	ck_assert(!irc_nick_valid("a,b", 9));
	ck_assert(!irc_nick_valid("a!b", 9));
	ck_assert(!irc_nick_valid("a@b", 9));
	ck_assert(!irc_nick_valid("#a", 9));
	ck_assert(!irc_nick_valid(":a", 9));
	ck_assert(!irc_nick_valid("a*", 9));
	ck_assert(!irc_nick_valid("\xc3\xa9", 9));
	ck_assert(!irc_nick_valid("a", 0));
	ck_assert(irc_nick_valid("a", (size_t)-1));
}
END_TEST

START_TEST(mask_match)
{
	ck_assert(irc_mask_match("*!*@*", "a!b@c"));
	ck_assert(irc_mask_match("bob!*@*", "BOB!u@127.0.0.1"));
	ck_assert(irc_mask_match("[a]!*@*", "{A}!u@h"));	/* rfc1459 case mapping */
	ck_assert(irc_mask_match("*!*@127.0.0.?", "x!y@127.0.0.1"));
	ck_assert(!irc_mask_match("*!*@127.0.0.?", "x!y@127.0.0.10"));
	ck_assert(irc_mask_match("*a*b*c", "xxaxxbxxc"));
	ck_assert(!irc_mask_match("*a*b*c", "xxaxxbxxcx"));
	ck_assert(irc_mask_match("**", ""));
	ck_assert(!irc_mask_match("?", ""));
	ck_assert(!irc_mask_match("", "a"));
	ck_assert(irc_mask_match("", ""));
	ck_assert(!irc_mask_match("alice!*@*", "alicex!u@h"));
	/* a hostile pattern stays linear: this returns at once */
	char pat[400], str[2000];
	memset(pat, 0, sizeof pat);
	for (int i = 0; i < 199; i++) {
		pat[2 * i] = '*';
		pat[2 * i + 1] = 'a';
	}
	memset(str, 'a', sizeof str - 2);
	str[sizeof str - 2] = 'b';
	str[sizeof str - 1] = '\0';
	ck_assert(!irc_mask_match(pat, str));
}
END_TEST

START_TEST(mask_normalize)
{
	static const struct { const char *in, *out; } t[] = {
		{ "bob", "bob!*@*" },
		{ "bob!u", "bob!u@*" },
		{ "u@h.example", "*!u@h.example" },
		{ "h.example", "*!*@h.example" },
		{ "::1", "*!*@::1" },
		{ "bob!u@h", "bob!u@h" },
		{ "!@", "*!*@*" },
		{ "*", "*!*@*" },
		{ "u@h!x", "*!u@h!x" },
	};
	char out[IRC_MASK_MAX + 1];

	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		ck_assert_msg(irc_mask_normalize(t[i].in, out, sizeof out), "%s", t[i].in);
		ck_assert_str_eq(out, t[i].out);
	}
	ck_assert(!irc_mask_normalize("a b", out, sizeof out));
	ck_assert_str_eq(out, "");
	ck_assert(!irc_mask_normalize("a,b", out, sizeof out));
	ck_assert(!irc_mask_normalize("bob", out, 5));
	char longm[IRC_MASK_MAX + 10];
	memset(longm, 'x', sizeof longm - 1);
	longm[sizeof longm - 1] = '\0';
	ck_assert(!irc_mask_normalize(longm, out, sizeof out));
}
END_TEST

START_TEST(chan_valid)
{
	ck_assert(irc_chan_valid("#a", 50));
	ck_assert(irc_chan_valid("#chan-éÜ[]!@", 50));
	ck_assert(irc_chan_valid("##", 2));
	ck_assert(irc_chan_valid("#abc", 4));
	ck_assert(!irc_chan_valid("#abcd", 4));
	ck_assert(!irc_chan_valid("#", 50));
	ck_assert(!irc_chan_valid("", 50));
	ck_assert(!irc_chan_valid(NULL, 50));
	ck_assert(!irc_chan_valid("chan", 50));
	ck_assert(!irc_chan_valid("&chan", 50));
	ck_assert(!irc_chan_valid("#a b", 50));
	ck_assert(!irc_chan_valid("#a,b", 50));
	ck_assert(!irc_chan_valid("#a\ab", 50));
	ck_assert(!irc_chan_valid("#a\rb", 50));
	ck_assert(!irc_chan_valid("#a\nb", 50));
	ck_assert(!irc_chan_valid("#a:b", 50));
}
END_TEST

/* ---------------------------------------------------------------- json */

static char *
json_str(const char *s, size_t len)
{
	static char out[1024];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(json_string(&b, s, len), 0);
	snprintf(out, sizeof out, "%.*s", (int)buf_used(&b), buf_head(&b));
	buf_free(&b);
	return out;
}

START_TEST(json_strings)
{
	ck_assert_str_eq(json_str("plain", 5), "\"plain\"");
	ck_assert_str_eq(json_str("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	ck_assert_str_eq(json_str("l1\nl2\r\t", 7), "\"l1\\nl2\\r\\t\"");
	ck_assert_str_eq(json_str("\b\f/", 3), "\"\\b\\f/\"");
	ck_assert_str_eq(json_str("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	ck_assert_str_eq(json_str("a\0b", 3), "\"a\\u0000b\"");
	/* valid UTF-8 passes (C1 controls too: they are not JSON's business) */
	ck_assert_str_eq(json_str("\xc3\xa9\xf0\x9f\x98\x80", 6), "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	ck_assert_str_eq(json_str("\xc2\x9b", 2), "\"\xc2\x9b\"");
	/* invalid bytes become \ufffd, one each */
	ck_assert_str_eq(json_str("x\xff\xc3y", 4), "\"x\\ufffd\\ufffdy\"");
	ck_assert_str_eq(json_str("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(json_str("\xc0\xaf\xf4\x90\x80\x80", 6),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* a sequence cut by the end of the input */
	ck_assert_str_eq(json_str("\xe2\x82\xac", 2), "\"\\ufffd\\ufffd\"");
	ck_assert_str_eq(json_str("", 0), "\"\"");
}
END_TEST

/* a small output buffer: whole characters only, and the same text in the end */
START_TEST(json_escape_chunks)
{
	static const char in[] = "a\"\xe2\x82\xac\x01\xff\xf0\x9f\x98\x80z";
	const char *want = "a\\\"\xe2\x82\xac\\u0001\\ufffd\xf0\x9f\x98\x80z";
	char out[64] = "", chunk[6];
	size_t len = sizeof in - 1, done, w, o = 0;
	const char *s = in;

	done = json_escape(chunk, sizeof chunk, &w, "\x01\x02", 2);
	ck_assert_uint_eq(done, 1);
	ck_assert_uint_eq(w, 6);
	for (; len > 0; s += done, len -= done) {
		done = json_escape(chunk, sizeof chunk, &w, s, len);
		ck_assert_uint_gt(done, 0);
		ck_assert_uint_le(w, sizeof chunk);
		memcpy(out + o, chunk, w);
		o += w;
	}
	ck_assert_uint_eq(o, strlen(want));
	ck_assert_mem_eq(out, want, o);
}
END_TEST

/* longer than json_string() reserves at a time */
START_TEST(json_string_long)
{
	static char big[5000];
	struct buf b;

	memset(big, '\n', sizeof big);
	buf_init(&b);
	ck_assert_int_eq(json_string(&b, big, sizeof big), 0);
	ck_assert_uint_eq(buf_used(&b), 2 + 2 * sizeof big);
	ck_assert_mem_eq(buf_head(&b), "\"\\n\\n", 5);
	ck_assert_mem_eq(buf_head(&b) + buf_used(&b) - 3, "\\n\"", 3);
	buf_free(&b);
}
END_TEST

static Suite *
irc_suite(void)
{
	Suite *s = suite_create("irc");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_simple);
	tcase_add_test(tc, parse_prefix);
	tcase_add_test(tc, parse_tags);
	tcase_add_test(tc, parse_trailing_spaces);
	tcase_add_test(tc, parse_empty_trailing);
	tcase_add_test(tc, parse_fifteen_params);
	tcase_add_test(tc, parse_numeric);
	tcase_add_test(tc, parse_lowercase);
	tcase_add_test(tc, parse_multiple_spaces);
	tcase_add_test(tc, parse_no_command);
	tcase_add_test(tc, parse_empty);
	tcase_add_test(tc, parse_bad_command);
	tcase_add_test(tc, parse_nul);
	tcase_add_test(tc, parse_not_nul_terminated);
	tcase_add_test(tc, parse_invalid_utf8);
	tcase_add_test(tc, parse_too_long);
	tcase_add_test(tc, parse_trailing_cr);
	tcase_add_test(tc, param_last);
	suite_add_tcase(s, tc);

	tc = tcase_create("fmt");
	tcase_add_test(tc, fmt_crlf);
	tcase_add_test(tc, fmt_injection);
	tcase_add_test(tc, fmt_truncate);
	tcase_add_test(tc, fmt_utf8_boundary);
	tcase_add_test(tc, fmt_invalid_at_cut);
	tcase_add_test(tc, fmt_small_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_test(tc, utf8_cut);
	tcase_add_test(tc, utf8_valid);
	tcase_add_test(tc, utf8_seqlen);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, casemap);
	tcase_add_test(tc, casecmp);
	tcase_add_test(tc, casefold);
	tcase_add_test(tc, nick_valid);
	tcase_add_test(tc, chan_valid);
	tcase_add_test(tc, mask_match);
	tcase_add_test(tc, mask_normalize);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, json_strings);
	tcase_add_test(tc, json_escape_chunks);
	tcase_add_test(tc, json_string_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(irc_suite());
}
