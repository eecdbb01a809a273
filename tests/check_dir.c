/*
 * check_dir: unit tests for server/dir.c, the master's directory of clients
 * (slots with generations), nicks, channels and memberships, plus a random
 * stress run checked against a plain reference model.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dir.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

/*
 * For hot loops: ck_assert records a mark point (a write to Check's pipe
 * under CK_FORK) every time it passes, which makes a stress run crawl.
 */
#define REQ(cond) do {							\
	if (!(cond))							\
		ck_abort_msg("line %d: %s failed", __LINE__, #cond);	\
} while (0)
#define REQ_EQ(a, b) do {						\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_)							\
		ck_abort_msg("line %d: %s == %s failed: %lld vs %lld",	\
		    __LINE__, #a, #b, a_, b_);				\
} while (0)
#define REQ_STREQ(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	if (strcmp(a_, b_) != 0)					\
		ck_abort_msg("line %d: %s == %s failed: \"%s\" vs \"%s\"",	\
		    __LINE__, #a, #b, a_, b_);				\
} while (0)

static bool
slow_mode(void)
{
	const char *p = getenv("LD_PRELOAD");

	return getenv("SHMCHAT_VALGRIND") != NULL ||
	    (p != NULL && strstr(p, "vgpreload") != NULL);
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ull;
}

static int
alloc_user(struct dir *d, uint32_t *gen)
{
	int slot = dir_user_alloc(d, gen);

	ck_assert_int_ge(slot, 0);
	return slot;
}

static struct dir_chan *
join_ok(struct dir *d, uint32_t slot, const char *name, uint64_t at)
{
	struct dir_chan *c = NULL;

	ck_assert_int_eq(dir_join(d, slot, name, at, 100, &c), 0);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* the channel's members, as "slot/gen@joined_at " */
static const char *
members_str(const struct dir_chan *c)
{
	static char buf[1024];
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < c->nmembers && n < sizeof buf - 64; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%u/%u@%llu ",
		    c->members[i].slot, c->members[i].gen,
		    (unsigned long long)c->members[i].joined_at);
	return buf;
}

/* the user's channels, as "name " each, in the order dir keeps them */
static const char *
chans_str(struct dir *d, uint32_t slot)
{
	static char buf[1024];
	const struct dir_user *u = dir_user(d, slot);
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < u->nchans && n < sizeof buf - 64; i++) {
		struct dir_chan *c = dir_chan_get(d, u->chans[i]);

		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s ",
		    c != NULL ? c->name : "<gone>");
	}
	return buf;
}

/* ---------------------------------------------------------------- basics */

START_TEST(init_and_free)
{
	struct dir d;

	ck_assert_int_eq(dir_init(&d, 8, 0), 0);
	ck_assert_uint_eq(d.nslots, 8);
	ck_assert_uint_eq(d.nfree, 8);
	ck_assert_uint_eq(d.nregistered, 0);
	ck_assert_uint_eq(d.nchannels, 0);
	ck_assert_uint_eq(d.nconnected, 0);
	for (uint32_t i = 0; i < 8; i++) {
		ck_assert_int_eq(dir_user(&d, i)->state, DIR_FREE);
		ck_assert_uint_eq(dir_user(&d, i)->nchans, 0);
		ck_assert_str_eq(dir_user(&d, i)->key, "");
	}
	ck_assert_int_eq(dir_nick_find(&d, "nobody"), -1);
	ck_assert_ptr_null(dir_chan_find(&d, "#none"));
	ck_assert_ptr_null(dir_chan_get(&d, 0));
	ck_assert_ptr_null(dir_chan_get(&d, UINT32_MAX));
	dir_free(&d);
	ck_assert_ptr_null(d.users);
	ck_assert_ptr_null(d.chans);
	ck_assert_ptr_null(d.nicks);
	ck_assert_uint_eq(d.nslots, 0);
}
END_TEST

START_TEST(user_alloc_release)
{
	struct dir d;
	uint32_t gen, g2, g2b, gens[4];
	time_t t0 = time(NULL);
	int a, b;

	ck_assert_int_eq(dir_init(&d, 4, 0), 0);
	/* lowest slots first, generation already bumped */
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(dir_user_alloc(&d, &gens[i]), i);
		ck_assert_uint_eq(gens[i], dir_user(&d, i)->gen);
		ck_assert_uint_ne(gens[i], 0);
		ck_assert_int_eq(dir_user(&d, i)->state, DIR_CONNECTED);
		ck_assert_uint_eq(d.nconnected, (uint32_t)i + 1);
		ck_assert_int_ge(dir_user(&d, i)->connected_at, t0);
		ck_assert_int_le(dir_user(&d, i)->connected_at, time(NULL));
		ck_assert_str_eq(dir_user(&d, i)->nick, "");
	}
	ck_assert_uint_eq(d.nfree, 0);
	gen = 12345;
	ck_assert_int_eq(dir_user_alloc(&d, &gen), -ENOSPC);
	ck_assert_uint_eq(d.nconnected, 4);

	/* release: the slot is free, and anything addressed to it misses */
	g2 = dir_user(&d, 2)->gen;
	dir_user_release(&d, 2);
	ck_assert_int_eq(dir_user(&d, 2)->state, DIR_FREE);
	ck_assert_uint_ne(dir_user(&d, 2)->gen, g2);
	ck_assert_uint_eq(d.nconnected, 3);
	ck_assert_uint_eq(d.nfree, 1);
	/* releasing a free slot changes nothing */
	g2b = dir_user(&d, 2)->gen;
	dir_user_release(&d, 2);
	ck_assert_uint_eq(dir_user(&d, 2)->gen, g2b);
	ck_assert_uint_eq(d.nconnected, 3);
	ck_assert_uint_eq(d.nfree, 1);

	/* the released slot is reused, with a newer generation */
	ck_assert_int_eq(dir_user_alloc(&d, &gen), 2);
	ck_assert_uint_gt(gen, g2);
	ck_assert_uint_ne(gen, g2b);
	ck_assert_int_eq(dir_user_alloc(&d, &gen), -ENOSPC);

	dir_user_release(&d, 1);
	dir_user_release(&d, 3);
	a = alloc_user(&d, &gen);
	ck_assert_uint_gt(gen, gens[a]);
	b = alloc_user(&d, &gen);
	ck_assert_uint_gt(gen, gens[b]);
	ck_assert((a == 1 && b == 3) || (a == 3 && b == 1));
	ck_assert_int_eq(dir_user_alloc(&d, &gen), -ENOSPC);

	/* many reuses: the generation keeps growing */
	for (int i = 0; i < 100; i++) {
		uint32_t before = dir_user(&d, 0)->gen;

		dir_user_release(&d, 0);
		ck_assert_int_eq(dir_user_alloc(&d, &gen), 0);
		ck_assert_uint_gt(gen, before);
	}
	dir_free(&d);
}
END_TEST

/* ----------------------------------------------------------------- nicks */

START_TEST(nick_casemapping)
{
	struct dir d;
	uint32_t gen;
	int s[6];

	ck_assert_int_eq(dir_init(&d, 8, 0), 0);
	for (int i = 0; i < 6; i++)
		s[i] = alloc_user(&d, &gen);

	ck_assert_int_eq(dir_nick_set(&d, s[0], "Nick"), 0);
	ck_assert_str_eq(dir_user(&d, s[0])->nick, "Nick");
	ck_assert_str_eq(dir_user(&d, s[0])->key, "nick");
	ck_assert_int_eq(dir_nick_find(&d, "Nick"), s[0]);
	ck_assert_int_eq(dir_nick_find(&d, "nick"), s[0]);
	ck_assert_int_eq(dir_nick_find(&d, "NICK"), s[0]);
	ck_assert_int_eq(dir_nick_find(&d, "nIcK"), s[0]);
	ck_assert_int_eq(dir_nick_find(&d, "nick_"), -1);
	ck_assert_int_eq(dir_nick_find(&d, "nic"), -1);

	/* rfc1459: [ ] \ ~ are the upper case of { } | ^ */
	ck_assert_int_eq(dir_nick_set(&d, s[1], "a[b"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "a{b"), s[1]);
	ck_assert_int_eq(dir_nick_find(&d, "A[B"), s[1]);
	ck_assert_int_eq(dir_nick_find(&d, "A{B"), s[1]);
	ck_assert_int_eq(dir_nick_find(&d, "a]b"), -1);

	ck_assert_int_eq(dir_nick_set(&d, s[2], "x\\y"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "x|y"), s[2]);
	ck_assert_int_eq(dir_nick_find(&d, "X\\Y"), s[2]);
	ck_assert_int_eq(dir_nick_find(&d, "x/y"), -1);

	ck_assert_int_eq(dir_nick_set(&d, s[3], "t~"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "T^"), s[3]);
	ck_assert_int_eq(dir_nick_find(&d, "t~"), s[3]);
	ck_assert_int_eq(dir_nick_find(&d, "t`"), -1);
	/* ... so "^x" is taken once "~X" is */
	ck_assert_int_eq(dir_nick_set(&d, s[4], "~X"), 0);
	ck_assert_int_eq(dir_nick_set(&d, s[5], "^x"), -EEXIST);
	ck_assert_int_eq(dir_nick_find(&d, "^x"), s[4]);

	ck_assert_int_eq(dir_nick_set(&d, s[5], "[]\\~"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "{}|^"), s[5]);
	ck_assert_int_eq(dir_nick_find(&d, "{]|~"), s[5]);
	ck_assert_str_eq(dir_user(&d, s[5])->nick, "[]\\~");
	ck_assert_str_eq(dir_user(&d, s[5])->key, "{}|^");
	dir_free(&d);
}
END_TEST

START_TEST(nick_changes)
{
	struct dir d;
	char name[80];
	uint32_t gen;
	int a, b, c;

	ck_assert_int_eq(dir_init(&d, 4, 0), 0);
	a = alloc_user(&d, &gen);
	b = alloc_user(&d, &gen);
	c = alloc_user(&d, &gen);
	ck_assert_int_eq(dir_nick_set(&d, a, "Nick"), 0);
	ck_assert_int_eq(dir_nick_set(&d, b, "a[b"), 0);

	/* another slot owns it, in any case */
	ck_assert_int_eq(dir_nick_set(&d, b, "NICK"), -EEXIST);
	ck_assert_int_eq(dir_nick_set(&d, b, "nick"), -EEXIST);
	ck_assert_str_eq(dir_user(&d, b)->nick, "a[b");
	ck_assert_int_eq(dir_nick_find(&d, "a{b"), b);
	ck_assert_int_eq(dir_nick_find(&d, "nick"), a);

	/* the owner may change the case of its own nick */
	ck_assert_int_eq(dir_nick_set(&d, b, "A{B"), 0);
	ck_assert_str_eq(dir_user(&d, b)->nick, "A{B");
	ck_assert_int_eq(dir_nick_find(&d, "a[b"), b);
	ck_assert_int_eq(dir_nick_set(&d, a, "nick"), 0);
	ck_assert_str_eq(dir_user(&d, a)->nick, "nick");
	ck_assert_int_eq(dir_nick_find(&d, "NICK"), a);

	/* a change frees the old nick */
	ck_assert_int_eq(dir_nick_set(&d, a, "Other"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "nick"), -1);
	ck_assert_int_eq(dir_nick_find(&d, "other"), a);
	ck_assert_int_eq(dir_nick_set(&d, b, "Nick"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "nick"), b);
	ck_assert_int_eq(dir_nick_find(&d, "a{b"), -1);
	ck_assert_int_eq(dir_nick_set(&d, c, "A[B"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "a{b"), c);

	/* length: IRC_NICK_MAX fits, one more does not and changes nothing */
	memset(name, 'n', IRC_NICK_MAX + 1);
	name[IRC_NICK_MAX + 1] = '\0';
	ck_assert_int_eq(dir_nick_set(&d, a, name), -ENAMETOOLONG);
	ck_assert_int_eq(dir_nick_find(&d, name), -1);
	ck_assert_str_eq(dir_user(&d, a)->nick, "Other");
	ck_assert_int_eq(dir_nick_find(&d, "OTHER"), a);
	name[IRC_NICK_MAX] = '\0';
	ck_assert_int_eq(dir_nick_set(&d, a, name), 0);
	ck_assert_int_eq(dir_nick_find(&d, name), a);
	ck_assert_int_eq(dir_nick_find(&d, "other"), -1);

	/* release frees it */
	dir_user_release(&d, (uint32_t)a);
	ck_assert_int_eq(dir_nick_find(&d, name), -1);
	ck_assert_str_eq(dir_user(&d, a)->nick, "");
	ck_assert_int_eq(dir_nick_set(&d, c, name), 0);
	ck_assert_int_eq(dir_nick_find(&d, name), c);
	/* the slot comes back without a nick */
	ck_assert_int_eq(dir_user_alloc(&d, &gen), a);
	ck_assert_str_eq(dir_user(&d, a)->nick, "");
	ck_assert_str_eq(dir_user(&d, a)->key, "");
	dir_free(&d);
}
END_TEST

/* -------------------------------------------------------------- channels */

START_TEST(channel_join_part)
{
	struct dir d;
	struct dir_chan *c, *c2, *out;
	uint32_t g[3];
	int u[3];
	time_t t0 = time(NULL);

	ck_assert_int_eq(dir_init(&d, 4, 0), 0);
	for (int i = 0; i < 3; i++)
		u[i] = alloc_user(&d, &g[i]);

	ck_assert_int_eq(dir_join(&d, u[0], "#Chan", 100, 10, &c), 0);
	ck_assert(c->used);
	ck_assert_str_eq(c->name, "#Chan");
	ck_assert_uint_eq(c->nmembers, 1);
	ck_assert_uint_eq(c->members[0].slot, u[0]);
	ck_assert_uint_eq(c->members[0].gen, g[0]);
	ck_assert_uint_eq(c->members[0].joined_at, 100);
	ck_assert_ptr_null(c->topic);
	ck_assert_int_ge(c->created, t0);
	ck_assert_uint_eq(d.nchannels, 1);
	ck_assert_ptr_eq(dir_chan_get(&d, c->id), c);
	ck_assert(dir_is_member(&d, c->id, u[0]));
	ck_assert(!dir_is_member(&d, c->id, u[1]));

	/* case-insensitive lookup */
	ck_assert_ptr_eq(dir_chan_find(&d, "#chan"), c);
	ck_assert_ptr_eq(dir_chan_find(&d, "#CHAN"), c);
	ck_assert_ptr_null(dir_chan_find(&d, "#chan2"));
	ck_assert_ptr_null(dir_chan_find(&d, "chan"));

	/* a second join is refused, and names the channel */
	out = NULL;
	ck_assert_int_eq(dir_join(&d, u[0], "#CHAN", 101, 10, &out), -EALREADY);
	ck_assert_ptr_eq(out, c);
	ck_assert_uint_eq(c->nmembers, 1);
	ck_assert_uint_eq(c->members[0].joined_at, 100);

	/* others join the same channel, under any case; join order is kept */
	ck_assert_int_eq(dir_join(&d, u[1], "#cHaN", 200, 10, &out), 0);
	ck_assert_ptr_eq(out, c);
	ck_assert_int_eq(dir_join(&d, u[2], "#chan", 300, 10, &out), 0);
	ck_assert_ptr_eq(out, c);
	ck_assert_str_eq(c->name, "#Chan");
	ck_assert_uint_eq(d.nchannels, 1);
	ck_assert_str_eq(members_str(c), "0/1@100 1/1@200 2/1@300 ");
	ck_assert(dir_is_member(&d, c->id, u[1]));

	/* part from the middle keeps the others' order */
	ck_assert_int_eq(dir_part(&d, u[1], c->id), 0);
	ck_assert_str_eq(members_str(c), "0/1@100 2/1@300 ");
	ck_assert(!dir_is_member(&d, c->id, u[1]));
	ck_assert_int_eq(dir_part(&d, u[1], c->id), -ENOENT);
	ck_assert_int_eq(dir_join(&d, u[1], "#chan", 400, 10, &out), 0);
	ck_assert_str_eq(members_str(c), "0/1@100 2/1@300 1/1@400 ");

	/* rfc1459 mapping for channel names too */
	c2 = join_ok(&d, u[0], "#a[b]\\~", 500);
	ck_assert_ptr_ne(c2, c);
	ck_assert_ptr_eq(dir_chan_find(&d, "#A{B}|^"), c2);
	ck_assert_int_eq(dir_join(&d, u[1], "#a{B]|^", 501, 10, &out), 0);
	ck_assert_ptr_eq(out, c2);
	ck_assert_str_eq(c2->name, "#a[b]\\~");

	/* the user's channel list keeps join order through parts */
	join_ok(&d, u[0], "#x", 1);
	join_ok(&d, u[0], "#y", 2);
	join_ok(&d, u[0], "#z", 3);
	ck_assert_str_eq(chans_str(&d, u[0]), "#Chan #a[b]\\~ #x #y #z ");
	ck_assert_int_eq(dir_part(&d, u[0], dir_chan_find(&d, "#X")->id), 0);
	ck_assert_str_eq(chans_str(&d, u[0]), "#Chan #a[b]\\~ #y #z ");
	ck_assert_int_eq(dir_part(&d, u[0], c->id), 0);
	ck_assert_str_eq(chans_str(&d, u[0]), "#a[b]\\~ #y #z ");
	ck_assert_str_eq(chans_str(&d, u[1]), "#Chan #a[b]\\~ ");
	ck_assert_str_eq(members_str(c), "2/1@300 1/1@400 ");
	ck_assert_uint_eq(d.nchannels, 4);
	dir_free(&d);
}
END_TEST

START_TEST(channel_limits_and_destroy)
{
	struct dir d;
	struct dir_chan *c, *c2, *out = NULL;
	char name[IRC_CHAN_MAX + 2];
	uint32_t gen, id2, gen2;
	int a, b;

	ck_assert_int_eq(dir_init(&d, 4, 0), 0);
	a = alloc_user(&d, &gen);
	b = alloc_user(&d, &gen);

	/* max_chans: a fourth channel is refused and not created */
	ck_assert_int_eq(dir_join(&d, a, "#1", 1, 3, &out), 0);
	ck_assert_int_eq(dir_join(&d, a, "#2", 2, 3, &out), 0);
	c2 = out;
	ck_assert_int_eq(dir_join(&d, a, "#3", 3, 3, &out), 0);
	ck_assert_int_eq(dir_join(&d, a, "#4", 4, 3, &out), -ENOSPC);
	ck_assert_ptr_null(dir_chan_find(&d, "#4"));
	ck_assert_uint_eq(d.nchannels, 3);
	ck_assert_uint_eq(dir_user(&d, a)->nchans, 3);
	/* an existing channel counts the same */
	ck_assert_int_eq(dir_join(&d, b, "#4", 4, 3, &out), 0);
	ck_assert_int_eq(dir_join(&d, a, "#4", 5, 3, &out), -ENOSPC);
	ck_assert_uint_eq(out->nmembers, 1);
	/* being a member already is reported as such, even at the limit */
	ck_assert_int_eq(dir_join(&d, a, "#1", 6, 3, &out), -EALREADY);
	ck_assert_int_eq(dir_join(&d, b, "#1", 7, 3, &out), 0);

	/* the last part destroys the channel */
	id2 = c2->id;
	gen2 = c2->gen;
	ck_assert_int_eq(dir_part(&d, a, id2), 0);
	ck_assert_ptr_null(dir_chan_find(&d, "#2"));
	ck_assert_ptr_null(dir_chan_get(&d, id2));
	ck_assert_uint_eq(d.nchannels, 3);
	ck_assert_int_eq(dir_part(&d, a, id2), -ENOENT);
	ck_assert_int_eq(dir_join(&d, a, "#5", 8, 3, &out), 0);

	/* recreated: a new (id, gen), never the old pair */
	c = join_ok(&d, b, "#2", 9);
	ck_assert_str_eq(c->name, "#2");
	ck_assert_uint_eq(c->nmembers, 1);
	ck_assert(c->id != id2 || c->gen != gen2);
	if (c->id == id2)
		ck_assert_ptr_eq(c, c2);	/* records never move */
	ck_assert_int_eq(dir_part(&d, a, c->id), -ENOENT);

	/* unknown ids */
	ck_assert_int_eq(dir_part(&d, a, 100000), -ENOENT);
	ck_assert_ptr_null(dir_chan_get(&d, 100000));
	ck_assert_ptr_null(dir_chan_get(&d, d.nchans_alloc));

	/* the longest name there is */
	name[0] = '#';
	memset(name + 1, 'L', IRC_CHAN_MAX - 1);
	name[IRC_CHAN_MAX] = '\0';
	c = join_ok(&d, b, name, 10);
	ck_assert_str_eq(c->name, name);
	name[5] = 'l';
	ck_assert_ptr_eq(dir_chan_find(&d, name), c);
	dir_free(&d);
}
END_TEST

START_TEST(release_parts_everything)
{
	struct dir d;
	struct dir_chan *ca, *cb, *cc;
	uint32_t gen, ida, idc;
	int a, b;

	ck_assert_int_eq(dir_init(&d, 4, 0), 0);
	a = alloc_user(&d, &gen);
	b = alloc_user(&d, &gen);
	ck_assert_int_eq(dir_nick_set(&d, a, "Zed"), 0);
	dir_set_state(&d, a, DIR_REGISTERED);
	ck_assert_int_eq(dir_set_away(&d, a, "brb"), 0);
	ca = join_ok(&d, a, "#a", 1);
	cb = join_ok(&d, a, "#b", 2);
	cc = join_ok(&d, a, "#c", 3);
	join_ok(&d, b, "#B", 4);
	join_ok(&d, a, "#d", 5);
	ck_assert_int_eq(dir_part(&d, a, dir_chan_find(&d, "#d")->id), 0);
	ck_assert_int_eq(dir_set_topic(&d, ca->id, "topic a", "Zed", 1), 0);
	ida = ca->id;
	idc = cc->id;
	ck_assert_uint_eq(d.nchannels, 3);
	ck_assert_uint_eq(d.nregistered, 1);
	ck_assert_uint_eq(d.nconnected, 2);

	dir_user_release(&d, a);
	ck_assert_ptr_null(dir_chan_find(&d, "#a"));
	ck_assert_ptr_null(dir_chan_find(&d, "#c"));
	ck_assert_ptr_null(dir_chan_get(&d, ida));
	ck_assert_ptr_null(dir_chan_get(&d, idc));
	ck_assert_ptr_eq(dir_chan_find(&d, "#b"), cb);
	ck_assert_str_eq(members_str(cb), "1/1@4 ");
	ck_assert(!dir_is_member(&d, cb->id, a));
	ck_assert_int_eq(dir_nick_find(&d, "zed"), -1);
	ck_assert_uint_eq(d.nchannels, 1);
	ck_assert_uint_eq(d.nregistered, 0);
	ck_assert_uint_eq(d.nconnected, 1);
	ck_assert_int_eq(dir_user(&d, a)->state, DIR_FREE);
	ck_assert_uint_eq(dir_user(&d, a)->nchans, 0);
	ck_assert_ptr_null(dir_user(&d, a)->away);

	/* the slot comes back clean */
	ck_assert_int_eq(dir_user_alloc(&d, &gen), a);
	ck_assert_uint_eq(dir_user(&d, a)->nchans, 0);
	ck_assert_ptr_null(dir_user(&d, a)->away);
	ck_assert_str_eq(dir_user(&d, a)->nick, "");
	ck_assert_int_eq(dir_user(&d, a)->state, DIR_CONNECTED);
	ca = join_ok(&d, a, "#a", 6);
	ck_assert_ptr_null(ca->topic);	/* a new channel: no old topic */
	ck_assert_str_eq(ca->topic_by, "");
	ck_assert_str_eq(members_str(ca), "0/3@6 ");

	/* the last member leaving by release destroys #b too */
	dir_user_release(&d, b);
	ck_assert_ptr_null(dir_chan_find(&d, "#b"));
	ck_assert_uint_eq(d.nchannels, 1);
	dir_free(&d);
}
END_TEST

START_TEST(topic_and_away)
{
	struct dir d;
	struct dir_chan *c;
	char by[100];
	uint32_t gen, id;
	int a;

	ck_assert_int_eq(dir_init(&d, 2, 0), 0);
	a = alloc_user(&d, &gen);
	c = join_ok(&d, a, "#t", 1);
	id = c->id;
	ck_assert_int_eq(dir_set_topic(&d, id, "Hello world", "alice", 1234), 0);
	ck_assert_str_eq(c->topic, "Hello world");
	ck_assert_str_eq(c->topic_by, "alice");
	ck_assert_int_eq(c->topic_at, 1234);
	ck_assert_int_eq(dir_set_topic(&d, id, "Other", "bob", 99), 0);
	ck_assert_str_eq(c->topic, "Other");
	ck_assert_str_eq(c->topic_by, "bob");
	ck_assert_int_eq(c->topic_at, 99);
	/* an empty topic clears it, but who and when are kept */
	ck_assert_int_eq(dir_set_topic(&d, id, "", "carol", 5), 0);
	ck_assert_ptr_null(c->topic);
	ck_assert_str_eq(c->topic_by, "carol");
	ck_assert_int_eq(c->topic_at, 5);
	/* an overlong setter is cut to a nick's length */
	memset(by, 'b', sizeof by - 1);
	by[sizeof by - 1] = '\0';
	ck_assert_int_eq(dir_set_topic(&d, id, "x", by, 6), 0);
	ck_assert_uint_eq(strlen(c->topic_by), IRC_NICK_MAX);
	ck_assert_int_eq(dir_set_topic(&d, 100000, "x", "y", 1), -ENOENT);

	/* gone with the channel */
	ck_assert_int_eq(dir_set_topic(&d, id, "stays?", "dave", 7), 0);
	ck_assert_int_eq(dir_part(&d, a, id), 0);
	ck_assert_int_eq(dir_set_topic(&d, id, "x", "y", 1), -ENOENT);
	c = join_ok(&d, a, "#t", 2);
	ck_assert_ptr_null(c->topic);
	ck_assert_str_eq(c->topic_by, "");
	ck_assert_int_eq(c->topic_at, 0);

	ck_assert_ptr_null(dir_user(&d, a)->away);
	ck_assert_int_eq(dir_set_away(&d, a, "gone"), 0);
	ck_assert_str_eq(dir_user(&d, a)->away, "gone");
	ck_assert_int_eq(dir_set_away(&d, a, "back later"), 0);
	ck_assert_str_eq(dir_user(&d, a)->away, "back later");
	ck_assert_int_eq(dir_set_away(&d, a, ""), 0);
	ck_assert_ptr_null(dir_user(&d, a)->away);
	ck_assert_int_eq(dir_set_away(&d, a, "again"), 0);
	ck_assert_int_eq(dir_set_away(&d, a, NULL), 0);
	ck_assert_ptr_null(dir_user(&d, a)->away);
	/* left set: dir_user_release (or dir_free) frees it */
	ck_assert_int_eq(dir_set_away(&d, a, "at release"), 0);
	ck_assert_int_eq(dir_set_topic(&d, c->id, "at free", "e", 8), 0);
	dir_free(&d);
}
END_TEST

START_TEST(counters)
{
	struct dir d;
	uint32_t gen;
	int u[3];

	ck_assert_int_eq(dir_init(&d, 3, 0), 0);
	for (int i = 0; i < 3; i++)
		u[i] = alloc_user(&d, &gen);
	ck_assert_uint_eq(d.nconnected, 3);
	ck_assert_uint_eq(d.nregistered, 0);
	dir_set_state(&d, u[0], DIR_REGISTERED);
	ck_assert_uint_eq(d.nregistered, 1);
	dir_set_state(&d, u[0], DIR_REGISTERED);
	ck_assert_uint_eq(d.nregistered, 1);
	dir_set_state(&d, u[1], DIR_REGISTERED);
	ck_assert_uint_eq(d.nregistered, 2);
	dir_set_state(&d, u[0], DIR_QUITTING);
	ck_assert_int_eq(dir_user(&d, u[0])->state, DIR_QUITTING);
	ck_assert_uint_eq(d.nregistered, 1);
	dir_set_state(&d, u[0], DIR_QUITTING);
	ck_assert_uint_eq(d.nregistered, 1);
	dir_set_state(&d, u[0], DIR_REGISTERED);
	ck_assert_uint_eq(d.nregistered, 2);
	dir_set_state(&d, u[1], DIR_CONNECTED);
	ck_assert_uint_eq(d.nregistered, 1);
	ck_assert_uint_eq(d.nconnected, 3);

	/* releasing a registered user counts it out; a quitting one too */
	dir_user_release(&d, u[0]);
	ck_assert_uint_eq(d.nregistered, 0);
	ck_assert_uint_eq(d.nconnected, 2);
	dir_set_state(&d, u[2], DIR_QUITTING);
	dir_user_release(&d, u[2]);
	ck_assert_uint_eq(d.nregistered, 0);
	ck_assert_uint_eq(d.nconnected, 1);
	u[0] = alloc_user(&d, &gen);
	ck_assert_uint_eq(d.nconnected, 2);
	ck_assert_uint_eq(d.nregistered, 0);

	/* channels */
	ck_assert_uint_eq(d.nchannels, 0);
	join_ok(&d, u[0], "#a", 1);
	join_ok(&d, u[1], "#a", 2);
	join_ok(&d, u[1], "#b", 3);
	ck_assert_uint_eq(d.nchannels, 2);
	ck_assert_int_eq(dir_part(&d, u[0], dir_chan_find(&d, "#a")->id), 0);
	ck_assert_uint_eq(d.nchannels, 2);
	dir_user_release(&d, u[1]);
	ck_assert_uint_eq(d.nchannels, 0);
	dir_free(&d);
}
END_TEST

/* operators and invisible users, counted among the registered only (LUSERS) */
START_TEST(umode_counters)
{
	struct dir d;
	uint32_t gen;
	int u[3];

	ck_assert_int_eq(dir_init(&d, 3, 0), 0);
	for (int i = 0; i < 3; i++)
		u[i] = alloc_user(&d, &gen);
	/* modes of a client not yet registered count once it is */
	dir_set_umodes(&d, u[0], DIR_UMODE_INVISIBLE);
	ck_assert_uint_eq(d.ninvisible, 0);
	dir_set_state(&d, u[0], DIR_REGISTERED);
	ck_assert_uint_eq(d.ninvisible, 1);
	dir_set_state(&d, u[1], DIR_REGISTERED);
	dir_set_umodes(&d, u[1], DIR_UMODE_OPER | DIR_UMODE_INVISIBLE | DIR_UMODE_WALLOPS);
	ck_assert_uint_eq(d.nopers, 1);
	ck_assert_uint_eq(d.ninvisible, 2);
	dir_set_umodes(&d, u[1], DIR_UMODE_OPER | DIR_UMODE_INVISIBLE);
	ck_assert_uint_eq(d.nopers, 1);
	ck_assert_uint_eq(d.ninvisible, 2);
	dir_set_umodes(&d, u[1], DIR_UMODE_INVISIBLE);
	ck_assert_uint_eq(d.nopers, 0);
	dir_set_umodes(&d, u[1], DIR_UMODE_OPER);
	ck_assert_uint_eq(d.nopers, 1);
	ck_assert_uint_eq(d.ninvisible, 1);
	/* leaving (QUIT) and release count out; a new client starts at zero */
	dir_set_state(&d, u[1], DIR_QUITTING);
	ck_assert_uint_eq(d.nopers, 0);
	dir_user_release(&d, u[1]);
	ck_assert_uint_eq(d.nopers, 0);
	dir_user_release(&d, u[0]);
	ck_assert_uint_eq(d.ninvisible, 0);
	u[0] = alloc_user(&d, &gen);
	ck_assert_uint_eq(dir_user(&d, u[0])->umodes, 0);
	ck_assert_uint_eq(dir_user(&d, u[0])->oper_retry_ms, 0);
	dir_set_state(&d, u[0], DIR_REGISTERED);
	ck_assert_uint_eq(d.nopers, 0);
	ck_assert_uint_eq(d.ninvisible, 0);
	dir_free(&d);
}
END_TEST

/* ------------------------------------------------- stress vs. a model */

#define M_SLOTS		48
#define M_NICKS		150
#define M_CHANS		3000
#define M_MAXCH		150	/* max_chans per user */

struct m_user {
	bool used;
	uint32_t gen, maxgen;
	enum dir_state st;
	int nick;			/* pool index or -1 */
	char nick_as[IRC_NICK_MAX + 1];	/* as last set */
	int chans[M_MAXCH];		/* pool indexes, in dir's order */
	int nchans;
	bool away;
};

struct m_chan {
	bool exists;
	uint32_t id, gen;
	struct dir_chan *rec;		/* records never move */
	char name[IRC_CHAN_MAX + 1];	/* as created */
	uint32_t nm;
	uint32_t mslot[M_SLOTS], mgen[M_SLOTS];
	uint64_t mat[M_SLOTS];
	char topic[32];			/* "" for none */
};

struct model {
	struct m_user u[M_SLOTS];
	struct m_chan c[M_CHANS];
	int nick_owner[M_NICKS];	/* slot or -1 */
	uint32_t *lastgen;		/* by channel id: last gen seen */
	uint32_t nlastgen;
	uint32_t nchannels, nregistered, nconnected, maxchannels;
};

/* a random spelling of s under rfc1459 case mapping */
static void
variant(char *dst, const char *s, uint64_t *seed)
{
	static const char lo[] = "{}|^", up[] = "[]\\~";

	for (; *s; s++, dst++) {
		const char *p;
		bool flip = rnd(seed) & 1;

		*dst = *s;
		if (!flip)
			continue;
		if (*s >= 'a' && *s <= 'z')
			*dst = (char)(*s - 'a' + 'A');
		else if (*s >= 'A' && *s <= 'Z')
			*dst = (char)(*s - 'A' + 'a');
		else if ((p = strchr(lo, *s)) != NULL)
			*dst = up[p - lo];
		else if ((p = strchr(up, *s)) != NULL)
			*dst = lo[p - up];
	}
	*dst = '\0';
}

static void
nick_name(char *dst, int i)
{
	snprintf(dst, IRC_NICK_MAX + 1, "n%d[x]\\%c~", i, 'a' + i % 26);
}

static void
chan_name(char *dst, int i)
{
	/* some long, some short, all distinct after folding */
	snprintf(dst, IRC_CHAN_MAX + 1, "#ch%d{%s}|%c^%.*s", i, i % 3 ? "a" : "Bb",
	    'a' + i % 26, i % 7 == 0 ? 150 : 0,
	    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
	    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
	    "pppppppppppppppppppppppppppppppppppppppppppppppp");
}

static void
m_remember_gen(struct model *m, uint32_t id, uint32_t gen)
{
	if (id >= m->nlastgen) {
		uint32_t n = id * 2 + 16;

		m->lastgen = realloc(m->lastgen, n * sizeof *m->lastgen);
		REQ((m->lastgen) != NULL);
		memset(m->lastgen + m->nlastgen, 0, (n - m->nlastgen) * sizeof *m->lastgen);
		m->nlastgen = n;
	}
	m->lastgen[id] = gen;
}

/* remove slot from channel ci in the model; destroys it when emptied */
static void
m_part(struct model *m, struct dir *d, uint32_t slot, int ci)
{
	struct m_user *u = &m->u[slot];
	struct m_chan *c = &m->c[ci];
	char name[IRC_CHAN_MAX + 1];
	uint32_t i;
	int k;

	for (k = 0; k < u->nchans && u->chans[k] != ci; k++)
		;
	REQ(k < u->nchans);
	memmove(&u->chans[k], &u->chans[k + 1], (size_t)(u->nchans - k - 1) * sizeof *u->chans);
	u->nchans--;
	for (i = 0; i < c->nm && c->mslot[i] != slot; i++)
		;
	REQ(i < c->nm);
	memmove(&c->mslot[i], &c->mslot[i + 1], (c->nm - i - 1) * sizeof *c->mslot);
	memmove(&c->mgen[i], &c->mgen[i + 1], (c->nm - i - 1) * sizeof *c->mgen);
	memmove(&c->mat[i], &c->mat[i + 1], (c->nm - i - 1) * sizeof *c->mat);
	c->nm--;
	if (c->nm == 0) {
		c->exists = false;
		m->nchannels--;
		chan_name(name, ci);
		REQ((dir_chan_find(d, name)) == NULL);
		REQ((dir_chan_get(d, c->id)) == NULL);
	}
}

static void
m_check_chan(struct model *m, struct dir *d, int ci, uint64_t *seed)
{
	struct m_chan *mc = &m->c[ci];
	char name[IRC_CHAN_MAX + 1], var[IRC_CHAN_MAX + 1];
	struct dir_chan *c;

	chan_name(name, ci);
	variant(var, name, seed);
	c = dir_chan_find(d, var);
	if (!mc->exists) {
		if (c != NULL)
			ck_abort_msg("channel %s should not exist", name);
		return;
	}
	if (c == NULL)
		ck_abort_msg("channel %s (%s) lost", name, var);
	REQ_EQ(c, mc->rec);
	REQ_EQ(dir_chan_get(d, mc->id), c);
	REQ(c->used);
	REQ_EQ(c->id, mc->id);
	REQ_EQ(c->gen, mc->gen);
	REQ_STREQ(c->name, mc->name);
	REQ_EQ(c->nmembers, mc->nm);
	for (uint32_t i = 0; i < mc->nm; i++) {
		REQ_EQ(c->members[i].slot, mc->mslot[i]);
		REQ_EQ(c->members[i].gen, mc->mgen[i]);
		REQ_EQ(c->members[i].joined_at, mc->mat[i]);
		REQ(dir_is_member(d, c->id, mc->mslot[i]));
	}
	if (mc->topic[0] == '\0')
		REQ((c->topic) == NULL);
	else
		REQ_STREQ(c->topic, mc->topic);
}

static void
m_check_all(struct model *m, struct dir *d, uint64_t *seed)
{
	uint32_t nfree = 0, nnicks = 0;

	for (uint32_t s = 0; s < M_SLOTS; s++) {
		struct m_user *mu = &m->u[s];
		const struct dir_user *u = dir_user(d, s);

		if (!mu->used) {
			REQ_EQ(u->state, DIR_FREE);
			nfree++;
			continue;
		}
		REQ_EQ(u->state, mu->st);
		REQ_EQ(u->gen, mu->gen);
		REQ_EQ(u->nchans, (uint32_t)mu->nchans);
		for (int k = 0; k < mu->nchans; k++)
			REQ_EQ(u->chans[k], m->c[mu->chans[k]].id);
		if (mu->nick >= 0)
			REQ_STREQ(u->nick, mu->nick_as);
		else
			REQ_STREQ(u->key, "");
		REQ_EQ(u->away != NULL, mu->away);
	}
	for (int i = 0; i < M_NICKS; i++) {
		char name[IRC_NICK_MAX + 1], var[IRC_NICK_MAX + 1];

		nick_name(name, i);
		variant(var, name, seed);
		REQ_EQ(dir_nick_find(d, var), m->nick_owner[i]);
		nnicks += m->nick_owner[i] >= 0;
	}
	for (int i = 0; i < M_CHANS; i++)
		m_check_chan(m, d, i, seed);
	REQ_EQ(d->nfree, nfree);
	REQ_EQ(d->nchannels, m->nchannels);
	/* the tables hold exactly the live names: nothing stale left behind */
	REQ_EQ(HASH_COUNT(d->nicks), nnicks);
	REQ_EQ(HASH_COUNT(d->channels), m->nchannels);
	REQ_EQ(d->nregistered, m->nregistered);
	REQ_EQ(d->nconnected, m->nconnected);
}

/* a random used slot, or -1 */
static int
m_pick_user(struct model *m, uint64_t *seed)
{
	int s = (int)(rnd(seed) % M_SLOTS);

	for (int k = 0; k < M_SLOTS; k++, s = (s + 1) % M_SLOTS)
		if (m->u[s].used)
			return s;
	return -1;
}

static void
m_release(struct model *m, struct dir *d, uint32_t s)
{
	struct m_user *mu = &m->u[s];

	dir_user_release(d, s);
	while (mu->nchans > 0)
		m_part(m, d, s, mu->chans[mu->nchans - 1]);
	if (mu->nick >= 0)
		m->nick_owner[mu->nick] = -1;
	if (mu->st == DIR_REGISTERED)
		m->nregistered--;
	m->nconnected--;
	mu->used = false;
	mu->nick = -1;
	mu->away = false;
	REQ(dir_user(d, s)->gen > mu->gen);
	mu->maxgen = dir_user(d, s)->gen;
}

static void
m_op(struct model *m, struct dir *d, uint64_t *seed, uint64_t opno)
{
	unsigned k = (unsigned)(rnd(seed) % 100);
	int s = m_pick_user(m, seed);
	struct m_user *mu = s >= 0 ? &m->u[s] : NULL;

	if (s < 0 || k < 3) {
		/* a new client */
		uint32_t gen;
		int rc = dir_user_alloc(d, &gen);

		if (m->nconnected == M_SLOTS) {
			REQ_EQ(rc, -ENOSPC);
			return;
		}
		REQ(rc >= 0);
		REQ(rc < M_SLOTS);
		mu = &m->u[rc];
		REQ(!mu->used);
		REQ(gen > mu->maxgen);
		*mu = (struct m_user){ .used = true, .gen = gen, .maxgen = gen,
		    .st = DIR_CONNECTED, .nick = -1 };
		m->nconnected++;
	} else if (k < 4) {
		m_release(m, d, (uint32_t)s);
	} else if (k < 12) {
		/* NICK */
		int ni = (int)(rnd(seed) % M_NICKS);
		char name[IRC_NICK_MAX + 1], var[IRC_NICK_MAX + 1];
		int rc;

		nick_name(name, ni);
		variant(var, name, seed);
		rc = dir_nick_set(d, (uint32_t)s, var);
		if (m->nick_owner[ni] >= 0 && m->nick_owner[ni] != s) {
			REQ_EQ(rc, -EEXIST);
			return;
		}
		REQ_EQ(rc, 0);
		if (mu->nick >= 0)
			m->nick_owner[mu->nick] = -1;
		mu->nick = ni;
		m->nick_owner[ni] = s;
		strcpy(mu->nick_as, var);
	} else if (k < 72) {
		/* JOIN: mostly a channel among the first ones, to share them */
		int range = rnd(seed) % 4 == 0 ? M_CHANS : M_CHANS / 4;
		int ci = (int)(rnd(seed) % (uint64_t)range);
		char name[IRC_CHAN_MAX + 1], var[IRC_CHAN_MAX + 1];
		struct m_chan *mc = &m->c[ci];
		struct dir_chan *c = NULL;
		bool member = false;
		int rc;

		chan_name(name, ci);
		variant(var, name, seed);
		rc = dir_join(d, (uint32_t)s, var, opno, M_MAXCH, &c);
		for (uint32_t i = 0; mc->exists && i < mc->nm; i++)
			member |= mc->mslot[i] == (uint32_t)s;
		if (member) {
			REQ_EQ(rc, -EALREADY);
			REQ_EQ(c, mc->rec);
			return;
		}
		if (mu->nchans >= M_MAXCH) {
			REQ_EQ(rc, -ENOSPC);
			return;
		}
		REQ_EQ(rc, 0);
		if (!mc->exists) {
			/* a new channel: never an old (id, gen) pair */
			if (c->id < m->nlastgen && m->lastgen[c->id] != 0)
				REQ(c->gen > m->lastgen[c->id]);
			m_remember_gen(m, c->id, c->gen);
			mc->exists = true;
			mc->id = c->id;
			mc->gen = c->gen;
			mc->rec = c;
			mc->nm = 0;
			mc->topic[0] = '\0';
			strcpy(mc->name, var);
			m->nchannels++;
			if (m->nchannels > m->maxchannels)
				m->maxchannels = m->nchannels;
		}
		REQ_EQ(c, mc->rec);
		mc->mslot[mc->nm] = (uint32_t)s;
		mc->mgen[mc->nm] = mu->gen;
		mc->mat[mc->nm] = opno;
		mc->nm++;
		mu->chans[mu->nchans++] = ci;
		m_check_chan(m, d, ci, seed);
	} else if (k < 90) {
		/* PART one of its channels, or one it is not in */
		if (mu->nchans == 0 || rnd(seed) % 10 == 0) {
			int ci = (int)(rnd(seed) % M_CHANS);
			bool member = false;

			for (int j = 0; j < mu->nchans; j++)
				member |= mu->chans[j] == ci;
			if (member || !m->c[ci].exists)
				return;
			REQ_EQ(dir_part(d, (uint32_t)s, m->c[ci].id), -ENOENT);
			return;
		}
		{
			int ci = mu->chans[rnd(seed) % (uint64_t)mu->nchans];

			REQ_EQ(dir_part(d, (uint32_t)s, m->c[ci].id), 0);
			m_part(m, d, (uint32_t)s, ci);
			if (m->c[ci].exists)
				m_check_chan(m, d, ci, seed);
		}
	} else if (k < 94) {
		/* TOPIC on one of its channels */
		struct m_chan *mc;

		if (mu->nchans == 0)
			return;
		mc = &m->c[mu->chans[rnd(seed) % (uint64_t)mu->nchans]];
		if (rnd(seed) % 4 == 0)
			mc->topic[0] = '\0';
		else
			snprintf(mc->topic, sizeof mc->topic, "topic %llu", (unsigned long long)opno);
		REQ_EQ(dir_set_topic(d, mc->id, mc->topic, "setter", (time_t)opno), 0);
	} else if (k < 97) {
		/* registration state */
		enum dir_state st = (enum dir_state)(DIR_CONNECTED + rnd(seed) % 3);

		if (mu->st == DIR_REGISTERED)
			m->nregistered--;
		if (st == DIR_REGISTERED)
			m->nregistered++;
		mu->st = st;
		dir_set_state(d, (uint32_t)s, st);
	} else {
		/* AWAY */
		mu->away = rnd(seed) % 2 == 0;
		REQ_EQ(dir_set_away(d, (uint32_t)s, mu->away ? "away" : NULL), 0);
	}
}

START_TEST(stress_against_model)
{
	const uint64_t nops = slow_mode() ? 60000 : 400000;
	struct model *m = calloc(1, sizeof *m);
	uint64_t seed = 0xdeadbeefcafef00dull;
	struct dir d;

	REQ((m) != NULL);
	for (int i = 0; i < M_NICKS; i++)
		m->nick_owner[i] = -1;
	for (int s = 0; s < M_SLOTS; s++)
		m->u[s].nick = -1;
	REQ_EQ(dir_init(&d, M_SLOTS, 0), 0);

	for (uint64_t op = 1; op <= nops; op++) {
		m_op(m, &d, &seed, op);
		if (op % 5000 == 0)
			m_check_all(m, &d, &seed);
		/* now and then everybody leaves: every channel goes, ids come back */
		if (op % (nops / 3) == 0) {
			for (uint32_t s = 0; s < M_SLOTS; s++)
				if (m->u[s].used)
					m_release(m, &d, s);
			REQ_EQ(d.nchannels, 0);
			REQ_EQ(d.nconnected, 0);
			m_check_all(m, &d, &seed);
		}
	}
	m_check_all(m, &d, &seed);
	/* the channel table and the name map grew several times on the way */
	if (getenv("CHECK_DIR_VERBOSE"))
		fprintf(stderr, "%llu ops: up to %u channels at once, table of %u\n",
		    (unsigned long long)nops, m->maxchannels, d.nchans_alloc);
	REQ(m->maxchannels >= 1000);
	REQ(d.nchans_alloc >= 1024);
	dir_free(&d);
	free(m->lastgen);
	free(m);
}
END_TEST

/*
 * Many channels at once, created in one go: the channel table grows from 16
 * to 8192 while pointers from the first joins are held, and every name still
 * finds its own record.
 */
START_TEST(many_channels_grow)
{
	enum { N = 5000 };
	static struct dir_chan *first[N];
	char name[IRC_CHAN_MAX + 1], var[IRC_CHAN_MAX + 1];
	uint64_t seed = 99;
	struct dir d;
	uint32_t gen;
	int a, b;

	REQ_EQ(dir_init(&d, 2, 0), 0);
	a = alloc_user(&d, &gen);
	b = alloc_user(&d, &gen);
	for (int i = 0; i < N; i++) {
		chan_name(name, i);
		REQ_EQ(dir_join(&d, a, name, (uint64_t)i, N, &first[i]), 0);
		REQ_EQ(first[i]->nmembers, 1);
		/* everything created so far is still where it was */
		if (i % 500 == 0)
			for (int j = 0; j <= i; j++) {
				chan_name(name, j);
				variant(var, name, &seed);
				REQ_EQ(dir_chan_find(&d, var), first[j]);
				REQ_EQ(dir_chan_get(&d, first[j]->id), first[j]);
			}
	}
	REQ_EQ(d.nchannels, N);
	REQ(d.nchans_alloc >= N);
	/* the other user joins every other one; then the first leaves all */
	for (int i = 0; i < N; i += 2) {
		struct dir_chan *c;

		chan_name(name, i);
		variant(var, name, &seed);
		REQ_EQ(dir_join(&d, b, var, (uint64_t)(N + i), N, &c), 0);
		REQ_EQ(c, first[i]);
	}
	dir_user_release(&d, a);
	REQ_EQ(d.nchannels, N / 2);
	for (int i = 0; i < N; i++) {
		struct dir_chan *c;

		chan_name(name, i);
		c = dir_chan_find(&d, name);
		if (i % 2) {
			REQ((c) == NULL);
			continue;
		}
		REQ_EQ(c, first[i]);
		REQ_EQ(c->nmembers, 1);
		REQ_EQ(c->members[0].slot, b);
		REQ_EQ(c->members[0].joined_at, (uint64_t)(N + i));
	}
	/* recreate the odd ones: old ids come back with new generations */
	for (int i = 1; i < N; i += 2) {
		struct dir_chan *c;
		uint32_t id = first[i]->id, g = first[i]->gen;

		chan_name(name, i);
		REQ_EQ(dir_join(&d, b, name, 1, N, &c), 0);
		REQ_EQ(c->nmembers, 1);
		REQ(c->id != id || c->gen != g);
	}
	REQ_EQ(d.nchannels, N);
	dir_free(&d);
}
END_TEST

/* ---------------------------------------------------- the hash tables */

/*
 * Spellings equal under rfc1459 but not byte for byte ("Nick[" and
 * "nick{"): only the folded key is hashed and compared, so every spelling
 * finds the one entry and no other client can take a second spelling.
 */
START_TEST(fold_collisions)
{
	enum { N = 500 };
	char name[IRC_NICK_MAX + 1], var[IRC_NICK_MAX + 1];
	char cname[IRC_CHAN_MAX + 1], cvar[IRC_CHAN_MAX + 1];
	uint64_t seed = 7;
	struct dir_chan *c, *c2;
	struct dir d;
	uint32_t gen;
	int a, b, s[N];

	REQ_EQ(dir_init(&d, N + 2, 0), 0);
	a = alloc_user(&d, &gen);
	b = alloc_user(&d, &gen);
	ck_assert_int_eq(dir_nick_set(&d, a, "Nick["), 0);
	ck_assert_int_eq(dir_nick_set(&d, b, "nick{"), -EEXIST);
	ck_assert_int_eq(dir_nick_set(&d, b, "NICK{"), -EEXIST);
	ck_assert_int_eq(dir_nick_find(&d, "nick{"), a);
	ck_assert_int_eq(dir_nick_find(&d, "NICK["), a);
	ck_assert_str_eq(dir_user(&d, b)->nick, "");
	c = join_ok(&d, a, "#Chan[\\]", 1);
	c2 = join_ok(&d, b, "#chan{|}", 2);
	ck_assert_ptr_eq(c2, c);
	ck_assert_uint_eq(c->nmembers, 2);
	ck_assert_str_eq(c->name, "#Chan[\\]");
	ck_assert_uint_eq(d.nchannels, 1);

	/* many at once: each spelling of each name finds its own entry */
	for (int i = 0; i < N; i++) {
		s[i] = alloc_user(&d, &gen);
		nick_name(name, i);
		variant(var, name, &seed);
		REQ_EQ(dir_nick_set(&d, s[i], var), 0);
		variant(var, name, &seed);
		REQ_EQ(dir_nick_set(&d, b, var), -EEXIST);
		chan_name(cname, i);
		variant(cvar, cname, &seed);
		REQ_EQ(dir_join(&d, s[i], cvar, 3, 10, &c), 0);
	}
	REQ_EQ(HASH_COUNT(d.nicks), N + 1);
	REQ_EQ(HASH_COUNT(d.channels), N + 1);
	for (int i = 0; i < N; i++) {
		nick_name(name, i);
		variant(var, name, &seed);
		REQ_EQ(dir_nick_find(&d, var), s[i]);
		chan_name(cname, i);
		variant(cvar, cname, &seed);
		c = dir_chan_find(&d, cvar);
		REQ((c) != NULL);
		REQ_EQ(c->members[0].slot, s[i]);
		/* a second spelling joins the same channel */
		REQ_EQ(dir_join(&d, b, cvar, 4, N + 1, &c2), 0);
		REQ_EQ(c2, c);
	}
	REQ_EQ(d.nchannels, N + 1);
	dir_free(&d);
}
END_TEST

/*
 * Walking a table and releasing as it goes, the way a shutdown would:
 * each step removes only the entry it stands on (the user's nick, or the
 * channel its last member leaves), which HASH_ITER allows.
 */
START_TEST(release_while_iterating)
{
	enum { N = 64 };
	char name[32];
	struct dir_user *u, *utmp;
	struct dir_chan *c, *ctmp;
	struct dir d;
	uint32_t gen;
	int n = 0;

	REQ_EQ(dir_init(&d, N, 0), 0);
	for (int i = 0; i < N; i++) {
		int s = alloc_user(&d, &gen);

		snprintf(name, sizeof name, "u%d", i);
		REQ_EQ(dir_nick_set(&d, s, name), 0);
		join_ok(&d, s, "#all", 1);
		snprintf(name, sizeof name, "#pair%d", i / 2);
		join_ok(&d, s, name, 2);
		snprintf(name, sizeof name, "#own%d", i);
		join_ok(&d, s, name, 3);
	}
	ck_assert_uint_eq(d.nchannels, 1 + N / 2 + N);

	/* every member parts each channel in turn: the channel goes at its last */
	HASH_ITER(hh, d.channels, c, ctmp) {
		if (c->name[1] != 'p')
			continue;
		while (c->nmembers > 0)
			REQ_EQ(dir_part(&d, c->members[0].slot, c->id), 0);
		n++;
	}
	ck_assert_int_eq(n, N / 2);
	ck_assert_uint_eq(d.nchannels, 1 + N);
	ck_assert_uint_eq(HASH_COUNT(d.channels), 1 + N);
	ck_assert_ptr_null(dir_chan_find(&d, "#pair0"));

	/* releasing each user frees its nick and the channels it was last in */
	n = 0;
	HASH_ITER(hh, d.nicks, u, utmp) {
		dir_user_release(&d, (uint32_t)(u - d.users));
		n++;
	}
	ck_assert_int_eq(n, N);
	ck_assert_ptr_null(d.nicks);
	ck_assert_ptr_null(d.channels);
	ck_assert_uint_eq(d.nchannels, 0);
	ck_assert_uint_eq(d.nconnected, 0);
	ck_assert_int_eq(dir_nick_find(&d, "u0"), -1);
	ck_assert_ptr_null(dir_chan_find(&d, "#all"));
	dir_free(&d);
}
END_TEST

/*
 * A name comes back after it was removed, in another spelling or for
 * another client, including when the table emptied in between (uthash
 * frees an empty table and makes a new one on the next add).
 */
START_TEST(readd_after_delete)
{
	struct dir_chan *c, *c2;
	struct dir d;
	uint32_t gen, id, cgen;
	int a, b;

	ck_assert_int_eq(dir_init(&d, 4, 0), 0);
	a = alloc_user(&d, &gen);
	b = alloc_user(&d, &gen);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(dir_nick_set(&d, a, i % 2 ? "Re[add]" : "rE{ADD}"), 0);
		ck_assert_ptr_nonnull(d.nicks);
		dir_nick_clear(&d, a);
		ck_assert_ptr_null(d.nicks);
		ck_assert_int_eq(dir_nick_find(&d, "re{add}"), -1);
	}
	/* another client takes the freed nick; the first cannot have it back */
	ck_assert_int_eq(dir_nick_set(&d, a, "Taken"), 0);
	ck_assert_int_eq(dir_nick_set(&d, b, "Other"), 0);
	dir_nick_clear(&d, a);
	ck_assert_int_eq(dir_nick_set(&d, b, "TAKEN"), 0);
	ck_assert_int_eq(dir_nick_find(&d, "other"), -1);
	ck_assert_int_eq(dir_nick_set(&d, a, "taken"), -EEXIST);
	ck_assert_int_eq(dir_nick_set(&d, a, "Other"), 0);
	ck_assert_uint_eq(HASH_COUNT(d.nicks), 2);
	/* a released slot comes back without a nick; its old one is free */
	dir_user_release(&d, (uint32_t)b);
	ck_assert_int_eq(dir_user_alloc(&d, &gen), b);
	ck_assert_int_eq(dir_nick_find(&d, "taken"), -1);
	ck_assert_int_eq(dir_nick_set(&d, b, "Taken"), 0);
	ck_assert_uint_eq(HASH_COUNT(d.nicks), 2);

	/* a channel destroyed and made again: the same name, a new generation */
	c = join_ok(&d, a, "#Again", 1);
	id = c->id;
	cgen = c->gen;
	ck_assert_int_eq(dir_part(&d, a, id), 0);
	ck_assert_ptr_null(d.channels);
	ck_assert_ptr_null(dir_chan_find(&d, "#again"));
	c2 = join_ok(&d, b, "#AGAIN", 2);
	ck_assert_ptr_eq(dir_chan_find(&d, "#again"), c2);
	ck_assert(c2->id != id || c2->gen != cgen);
	ck_assert_str_eq(c2->name, "#AGAIN");
	ck_assert_uint_eq(c2->nmembers, 1);
	ck_assert_uint_eq(d.nchannels, 1);
	dir_free(&d);
}
END_TEST

/*
 * 10,000 clients, each with a nick and a channel of its own: the tables
 * grow to that size, half of it goes and comes back in another spelling,
 * and dir_free releases everything still in them.
 */
START_TEST(ten_thousand)
{
	enum { N = 10000 };
	char name[IRC_NICK_MAX + 1], var[IRC_NICK_MAX + 1];
	char cname[IRC_CHAN_MAX + 1];
	uint64_t seed = 10000;
	struct dir_chan *c;
	struct dir d;
	uint32_t gen;

	REQ_EQ(dir_init(&d, N, 0), 0);
	for (int i = 0; i < N; i++) {
		REQ_EQ(alloc_user(&d, &gen), i);
		nick_name(name, i);
		REQ_EQ(dir_nick_set(&d, i, name), 0);
		snprintf(cname, sizeof cname, "#own%d", i);
		REQ_EQ(dir_join(&d, i, cname, 1, 1, &c), 0);
	}
	REQ_EQ(HASH_COUNT(d.nicks), N);
	REQ_EQ(HASH_COUNT(d.channels), N);
	REQ_EQ(d.nchannels, N);
	for (int i = 0; i < N; i++) {
		nick_name(name, i);
		variant(var, name, &seed);
		REQ_EQ(dir_nick_find(&d, var), i);
		snprintf(cname, sizeof cname, "#OWN%d", i);
		c = dir_chan_find(&d, cname);
		REQ((c) != NULL);
		REQ_EQ(c->members[0].slot, i);
	}
	/* the odd ones leave: their nicks and channels go */
	for (int i = 1; i < N; i += 2)
		dir_user_release(&d, (uint32_t)i);
	REQ_EQ(HASH_COUNT(d.nicks), N / 2);
	REQ_EQ(d.nchannels, N / 2);
	for (int i = 0; i < N; i++) {
		nick_name(name, i);
		REQ_EQ(dir_nick_find(&d, name), i % 2 ? -1 : i);
		snprintf(cname, sizeof cname, "#own%d", i);
		REQ_EQ(dir_chan_find(&d, cname) == NULL, i % 2);
	}
	/* and come back, spelt otherwise */
	for (int i = 1; i < N; i += 2) {
		int s = alloc_user(&d, &gen);

		nick_name(name, i);
		variant(var, name, &seed);
		REQ_EQ(dir_nick_set(&d, s, var), 0);
		REQ_EQ(dir_nick_find(&d, name), s);
	}
	REQ_EQ(HASH_COUNT(d.nicks), N);
	dir_free(&d);
	ck_assert_ptr_null(d.nicks);
	ck_assert_ptr_null(d.channels);
}
END_TEST

/* ----------------------------------------------------------------- suite */

static Suite *
dir_suite(void)
{
	Suite *s = suite_create("dir");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);	/* a bound for slow sanitizer runs */
	tcase_add_test(tc, init_and_free);
	tcase_add_test(tc, user_alloc_release);
	tcase_add_test(tc, nick_casemapping);
	tcase_add_test(tc, nick_changes);
	tcase_add_test(tc, channel_join_part);
	tcase_add_test(tc, channel_limits_and_destroy);
	tcase_add_test(tc, release_parts_everything);
	tcase_add_test(tc, topic_and_away);
	tcase_add_test(tc, counters);
	tcase_add_test(tc, umode_counters);
	tcase_add_test(tc, many_channels_grow);
	tcase_add_test(tc, stress_against_model);
	tcase_add_test(tc, fold_collisions);
	tcase_add_test(tc, release_while_iterating);
	tcase_add_test(tc, readd_after_delete);
	tcase_add_test(tc, ten_thousand);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(dir_suite());
}
