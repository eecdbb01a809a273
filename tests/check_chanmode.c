/*
 * check_chanmode: unit tests for server/chanmode.c: parsing MODE changes,
 * applying them to a channel of a real directory (every letter, its
 * parameters, limits, idempotence, the echo of only what changed), the
 * echo's formatting, and the checks of bans, exceptions and +m/+n.
 */
#include <config.h>

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chanmode.h"
#include "dir.h"
#include "reply.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

static char collected[8192];

static void
collect(struct reply *r, const char *line, size_t len)
{
	size_t have = strlen(collected);

	(void)r;
	if (have + len < sizeof collected) {
		memcpy(collected + have, line, len);
		collected[have + len] = '\0';
	}
}

static struct reply rpl = { .server = "irc.test", .nick = "op", .put = collect };

struct fixture {
	struct dir d;
	uint32_t op, bob, carol;
	struct dir_chan *c;
};

static uint32_t
fx_user(struct fixture *f, const char *nick)
{
	uint32_t gen;
	int slot = dir_user_alloc(&f->d, &gen);

	ck_assert_int_ge(slot, 0);
	ck_assert_int_eq(dir_nick_set(&f->d, (uint32_t)slot, nick), 0);
	snprintf(f->d.users[slot].user, sizeof f->d.users[slot].user, "%s", nick);
	snprintf(f->d.users[slot].host, sizeof f->d.users[slot].host, "127.0.0.1");
	dir_set_state(&f->d, (uint32_t)slot, DIR_REGISTERED);
	return (uint32_t)slot;
}

static void
fx_init(struct fixture *f)
{
	struct dir_chan *c;

	ck_assert_int_eq(dir_init(&f->d, 8, 0), 0);
	f->op = fx_user(f, "op");
	f->bob = fx_user(f, "bob");
	f->carol = fx_user(f, "carol");
	ck_assert_int_eq(dir_join(&f->d, f->op, "#c", 0, 10, &f->c), 0);
	ck_assert_int_eq(dir_join(&f->d, f->bob, "#c", 0, 10, &c), 0);
	ck_assert_ptr_eq(c, f->c);
	collected[0] = '\0';
}

/* parse and apply "modes p1 p2 ..." as op (privileged) or not; the echo */
static int
fx_mode(struct fixture *f, bool privileged, const char *echo, const char *modes, ...)
{
	const char *params[16];
	struct chanmode_change v[CHANMODE_MAX];
	struct chanmode_applied a[CHANMODE_MAX];
	struct chanmode_actor who = { "op", privileged };
	char unknown[CHANMODE_MAX + 1], m[64], p[400], got[600] = "";
	int np = 0, n, na, pos = 0;
	va_list ap;

	va_start(ap, modes);
	for (const char *s; np < 16 && (s = va_arg(ap, const char *)) != NULL;)
		params[np++] = s;
	va_end(ap);
	n = chanmode_parse(modes, params, np, v, CHANMODE_MAX, unknown, sizeof unknown);
	na = chanmode_apply(&f->d, f->c, &who, v, n, 5, &rpl, a);
	while (chanmode_format(a, na, &pos, m, sizeof m, p, sizeof p))
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s%s",
		    got[0] ? "|" : "", m, p);
	ck_assert_str_eq(got, echo);
	return na;
}

/* ---------------------------------------------------------------- parsing */

START_TEST(parse_pairs_parameters)
{
	const char *params[] = { "bob", "key", "10", "*!*@x", "extra" };
	struct chanmode_change v[CHANMODE_MAX];
	char unknown[8];
	int n = chanmode_parse("+ok-v+lbz-lmZz", params, 5, v, CHANMODE_MAX, unknown,
	    sizeof unknown);

	/* o bob, k key, -v 10, +l *!*@x (4 with parameters: MODES), then +b
	 * is past the limit: ignored with all that follows */
	ck_assert_int_eq(n, 4);
	ck_assert(v[0].letter == 'o' && v[0].add && strcmp(v[0].param, "bob") == 0);
	ck_assert(v[1].letter == 'k' && v[1].add && strcmp(v[1].param, "key") == 0);
	ck_assert(v[2].letter == 'v' && !v[2].add && strcmp(v[2].param, "10") == 0);
	ck_assert(v[3].letter == 'l' && v[3].add && strcmp(v[3].param, "*!*@x") == 0);
	ck_assert_str_eq(unknown, "");

	n = chanmode_parse("+zmZz-l-k+b", NULL, 0, v, CHANMODE_MAX, unknown, sizeof unknown);
	ck_assert_str_eq(unknown, "zZ");	/* each unknown letter once */
	ck_assert_int_eq(n, 4);			/* m, -l, -k (no key needed), b query */
	ck_assert(v[0].letter == 'm' && v[0].add && v[0].param == NULL);
	ck_assert(v[1].letter == 'l' && !v[1].add);
	ck_assert(v[2].letter == 'k' && !v[2].add && v[2].param == NULL);
	ck_assert(v[3].letter == 'b' && v[3].param == NULL);

	/* o and v without a nick, +k and +l without a value: dropped */
	n = chanmode_parse("+ovkl", NULL, 0, v, CHANMODE_MAX, unknown, sizeof unknown);
	ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(parse_is_bounded)
{
	char modes[600];
	struct chanmode_change v[CHANMODE_MAX];
	char unknown[CHANMODE_MAX + 1];

	memset(modes, 'm', sizeof modes - 1);
	modes[sizeof modes - 1] = '\0';
	ck_assert_int_eq(chanmode_parse(modes, NULL, 0, v, CHANMODE_MAX, unknown,
	    sizeof unknown), CHANMODE_MAX);
	for (size_t i = 0; i < sizeof modes - 1; i++)
		modes[i] = (char)('A' + i % 60);
	chanmode_parse(modes, NULL, 0, v, CHANMODE_MAX, unknown, sizeof unknown);
	ck_assert_uint_le(strlen(unknown), CHANMODE_MAX);
}
END_TEST

/* ---------------------------------------------------------------- applying */

START_TEST(apply_flags_only_changes)
{
	struct fixture f;

	fx_init(&f);
	ck_assert_int_eq(fx_mode(&f, true, "+imnpst", "+imnpst", NULL), 6);
	ck_assert_uint_eq(f.c->modes, DIR_CMODE_INVITE | DIR_CMODE_MODERATED |
	    DIR_CMODE_NOEXTERNAL | DIR_CMODE_PRIVATE | DIR_CMODE_SECRET | DIR_CMODE_TOPIC);
	/* idempotent: setting again changes (and echoes) nothing */
	ck_assert_int_eq(fx_mode(&f, true, "", "+mn", NULL), 0);
	ck_assert_int_eq(fx_mode(&f, true, "-ms", "-m+n-s", NULL), 2);
	/* set and unset in one line: both changes are real, both are echoed */
	ck_assert_int_eq(fx_mode(&f, true, "+m-m", "+m-m", NULL), 2);
	dir_free(&f.d);
}
END_TEST

START_TEST(apply_member_status)
{
	struct fixture f;
	struct dir_member *m;

	fx_init(&f);
	fx_mode(&f, true, "+ov bob bob", "+ov", "bob", "bob", NULL);
	m = dir_member_get(f.c, f.bob);
	ck_assert_uint_eq(m->flags, DIR_MEMBER_OP | DIR_MEMBER_VOICE);
	ck_assert_str_eq(chanmode_prefix(m), "@");
	fx_mode(&f, true, "", "+o", "BOB", NULL);		/* case-mapped, already op */
	fx_mode(&f, true, "-o bob", "-o", "bob", NULL);
	ck_assert_str_eq(chanmode_prefix(m), "+");
	/* not a member: 441; no such nick: 401; nothing echoed */
	fx_mode(&f, true, "", "+oo", "carol", "nobody", NULL);
	ck_assert_ptr_nonnull(strstr(collected, " 441 op carol #c :They aren't on that channel"));
	ck_assert_ptr_nonnull(strstr(collected, " 401 op nobody :No such nick"));
	dir_free(&f.d);
}
END_TEST

START_TEST(apply_key_and_limit)
{
	struct fixture f;
	char s[64];

	fx_init(&f);
	fx_mode(&f, true, "+kl sesame 10", "+kl", "sesame", "10", NULL);
	ck_assert_str_eq(f.c->chankey, "sesame");
	ck_assert_uint_eq(f.c->limit, 10);
	chanmode_string(f.c, true, s, sizeof s);
	ck_assert_str_eq(s, "+kl sesame 10");
	chanmode_string(f.c, false, s, sizeof s);	/* what a non-member sees */
	ck_assert_str_eq(s, "+kl 10");
	fx_mode(&f, true, "", "+k", "other", NULL);		/* 467, key kept */
	ck_assert_ptr_nonnull(strstr(collected, " 467 op #c :Channel key already set"));
	ck_assert_str_eq(f.c->chankey, "sesame");
	fx_mode(&f, true, "", "+l", "10", NULL);		/* same limit: nothing */
	collected[0] = '\0';
	fx_mode(&f, true, "", "+l", "ten", NULL);		/* 696 */
	ck_assert_ptr_nonnull(strstr(collected, " 696 op #c l ten :Invalid limit"));
	fx_mode(&f, true, "-kl sesame", "-k-l", NULL);
	ck_assert_str_eq(f.c->chankey, "");
	ck_assert_uint_eq(f.c->limit, 0);
	fx_mode(&f, true, "", "+k", "bad,key", NULL);	/* a comma could not be typed in JOIN */
	fx_mode(&f, true, "", "+k", ":key", NULL);
	ck_assert_str_eq(f.c->chankey, "");
	dir_free(&f.d);
}
END_TEST

START_TEST(apply_lists)
{
	struct fixture f;

	fx_init(&f);
	/* typed short, stored in full; a duplicate (case-mapped) changes nothing */
	fx_mode(&f, true, "+b bob!*@*", "+b", "bob", NULL);
	fx_mode(&f, true, "", "+b", "BOB!*@*", NULL);
	fx_mode(&f, true, "+eI *!bob@127.0.0.1 *!*@127.*", "+eI", "bob@127.0.0.1", "*!*@127.*", NULL);
	ck_assert_uint_eq(f.c->lists[DIR_LIST_BAN].n, 1);
	ck_assert_str_eq(f.c->lists[DIR_LIST_BAN].v[0].mask, "bob!*@*");
	ck_assert_str_eq(f.c->lists[DIR_LIST_BAN].v[0].by, "op");
	/* list queries, each once per line */
	collected[0] = '\0';
	fx_mode(&f, true, "", "bbe", NULL);
	ck_assert_ptr_nonnull(strstr(collected, " 367 op #c bob!*@* op "));
	ck_assert_ptr_nonnull(strstr(collected, " 368 op #c :End of Channel Ban List"));
	ck_assert_ptr_null(strstr(strstr(collected, " 368 ") + 1, " 368 "));
	ck_assert_ptr_nonnull(strstr(collected, " 348 op #c *!bob@127.0.0.1 op "));
	/* e and I are for operators' eyes; b is anyone's */
	collected[0] = '\0';
	fx_mode(&f, false, "", "bI", NULL);
	ck_assert_ptr_nonnull(strstr(collected, " 367 op #c bob!*@*"));
	ck_assert_ptr_nonnull(strstr(collected, " 482 op #c :You're not channel operator"));
	ck_assert_ptr_null(strstr(collected, " 346 "));
	/* the limit (5 here) counts the three lists together: 478 */
	collected[0] = '\0';
	fx_mode(&f, true, "+bb a!*@* b!*@*", "+bbbb", "a", "b", "c", "d", NULL);
	ck_assert_ptr_nonnull(strstr(collected, " 478 op #c b :Channel list is full"));
	/* full, but a mask already listed is just "nothing changes" */
	collected[0] = '\0';
	fx_mode(&f, true, "", "+b", "A", NULL);
	ck_assert_str_eq(collected, "");
	/* removal by the typed form; removing what is not listed: nothing */
	fx_mode(&f, true, "-b bob!*@*", "-bb", "bob", "zed", NULL);
	ck_assert_uint_eq(f.c->lists[DIR_LIST_BAN].n, 2);
	collected[0] = '\0';
	fx_mode(&f, true, "", "+b", "a\001b", NULL);
	ck_assert_ptr_nonnull(strstr(collected, " 696 op #c b a\001b :Invalid mask"));
	dir_free(&f.d);
}
END_TEST

START_TEST(apply_needs_privilege)
{
	struct fixture f;

	fx_init(&f);
	ck_assert_int_eq(fx_mode(&f, false, "", "+mo-n+b", "bob", "x", NULL), 0);
	ck_assert_uint_eq(f.c->modes, 0);
	ck_assert_uint_eq(dir_member_get(f.c, f.bob)->flags, 0);
	/* one 482 for the whole line */
	ck_assert_ptr_nonnull(strstr(collected, " 482 "));
	ck_assert_ptr_null(strstr(strstr(collected, " 482 ") + 1, " 482 "));
	dir_free(&f.d);
}
END_TEST

START_TEST(format_splits_long_echoes)
{
	struct chanmode_applied a[CHANMODE_MAX];
	char m[64], p[400];
	int pos = 0, lines = 0, n = 0;

	for (int i = 0; i < 12; i++) {
		a[n].letter = 'b';
		a[n].add = i % 2 == 0;
		memset(a[n].param, 'a' + i, 100);
		a[n].param[100] = '\0';
		n++;
	}
	while (chanmode_format(a, n, &pos, m, sizeof m, p, sizeof p)) {
		ck_assert_uint_le(strlen(p), sizeof p - 1);
		ck_assert_uint_eq(strlen(p) % 101, 0);
		lines++;
	}
	ck_assert_int_eq(pos, n);
	ck_assert_int_eq(lines, 4);	/* three masks of 101 bytes fit 400 */
	pos = 0;
	chanmode_format(a, 3, &pos, m, sizeof m, p, sizeof p);
	ck_assert_str_eq(m, "+b-b+b");
}
END_TEST

/* ---------------------------------------------------------------- checks */

START_TEST(checks_bans_and_speaking)
{
	struct fixture f;
	struct dir_member *bob;

	fx_init(&f);
	bob = dir_member_get(f.c, f.bob);
	ck_assert(chanmode_can_speak(f.c, bob, "bob!bob@127.0.0.1"));
	ck_assert(chanmode_can_speak(f.c, NULL, "carol!carol@127.0.0.1"));	/* -n */
	fx_mode(&f, true, "+n", "+n", NULL);
	ck_assert(!chanmode_can_speak(f.c, NULL, "carol!carol@127.0.0.1"));
	fx_mode(&f, true, "+b *!*@127.0.0.?", "+b", "*!*@127.0.0.?", NULL);
	ck_assert(chanmode_banned(f.c, "bob!bob@127.0.0.1"));
	ck_assert(!chanmode_banned(f.c, "bob!bob@127.0.0.10"));
	ck_assert(!chanmode_can_speak(f.c, bob, "bob!bob@127.0.0.1"));
	fx_mode(&f, true, "+v bob", "+v", "bob", NULL);
	ck_assert(chanmode_can_speak(f.c, bob, "bob!bob@127.0.0.1"));	/* voice wins */
	fx_mode(&f, true, "-v+e bob *!BOB@*", "-v+e", "bob", "*!BOB@*", NULL);
	ck_assert(!chanmode_banned(f.c, "bob!bob@127.0.0.1"));		/* excepted */
	ck_assert(chanmode_can_speak(f.c, bob, "bob!bob@127.0.0.1"));
	fx_mode(&f, true, "+m", "+m", NULL);
	ck_assert(!chanmode_can_speak(f.c, bob, "bob!bob@127.0.0.1"));
	ck_assert(chanmode_can_speak(f.c, dir_member_get(f.c, f.op), "op!op@127.0.0.1"));
	ck_assert(!chanmode_invex(f.c, "carol!carol@127.0.0.1"));
	fx_mode(&f, true, "+I carol!*@*", "+I", "carol", NULL);
	ck_assert(chanmode_invex(f.c, "CAROL!x@y"));
	dir_free(&f.d);
}
END_TEST

START_TEST(defaults_and_string)
{
	struct fixture f;
	char s[64];

	fx_init(&f);
	chanmode_set_defaults(f.c, "+nt");
	chanmode_string(f.c, true, s, sizeof s);
	ck_assert_str_eq(s, "+nt");
	chanmode_set_defaults(f.c, "sim");
	chanmode_string(f.c, true, s, sizeof s);
	ck_assert_str_eq(s, "+imnst");
	dir_free(&f.d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("chanmode");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, parse_pairs_parameters);
	tcase_add_test(tc, parse_is_bounded);
	suite_add_tcase(s, tc);
	tc = tcase_create("apply");
	tcase_add_test(tc, apply_flags_only_changes);
	tcase_add_test(tc, apply_member_status);
	tcase_add_test(tc, apply_key_and_limit);
	tcase_add_test(tc, apply_lists);
	tcase_add_test(tc, apply_needs_privilege);
	tcase_add_test(tc, format_splits_long_echoes);
	suite_add_tcase(s, tc);
	tc = tcase_create("checks");
	tcase_add_test(tc, checks_bans_and_speaking);
	tcase_add_test(tc, defaults_and_string);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
