/*
 * check_handover: unit tests for server/handover.c, the master's state
 * written by one image and read back by the next: a directory and WHOWAS
 * come back exactly (written again, the same bytes; the same next slot,
 * generation and channel id), and a blob that is cut, altered, of another
 * version or contradicting itself is refused whole, without a crash. The
 * same for a cluster node's nodes and other nodes' clients (cluster_dir).
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cluster_dir.h"
#include "dir.h"
#include "fields.h"
#include "handover.h"
#include "unit.h"
#include "whowas.h"

#define NLOCAL	64
#define NREMOTE	16

struct state {
	struct dir d;
	struct whowas ww;
};

static int
user(struct dir *d, const char *nick, bool registered)
{
	uint32_t gen;
	int slot = dir_user_alloc(d, &gen);

	ck_assert_int_ge(slot, 0);
	if (nick != NULL)
		ck_assert_int_eq(dir_nick_set(d, (uint32_t)slot, nick), 0);
	snprintf(d->users[slot].user, sizeof d->users[slot].user, "u%d", slot);
	snprintf(d->users[slot].host, sizeof d->users[slot].host, "10.0.0.%d", slot);
	snprintf(d->users[slot].realname, sizeof d->users[slot].realname, "Real %d", slot);
	if (registered)
		dir_set_state(d, (uint32_t)slot, DIR_REGISTERED);
	return slot;
}

static struct dir_chan *
join(struct dir *d, int slot, const char *chan, uint64_t at)
{
	struct dir_chan *c;

	ck_assert_int_eq(dir_join(d, (uint32_t)slot, chan, at, 100, &c), 0);
	return c;
}

/* a directory with something of everything in it */
static void
build(struct state *s)
{
	struct dir *d = &s->d;
	struct dir_chan *c, *q;
	int a, b, op, gone, remote, quitting, x;
	uint32_t gen;

	ck_assert_int_eq(dir_init(d, NLOCAL, NREMOTE), 0);
	ck_assert_int_eq(whowas_init(&s->ww, 4), 0);
	/* slots used and freed again: their generations count */
	for (int i = 0; i < 5; i++)
		dir_user_release(d, (uint32_t)user(d, "Passing", true));
	a = user(d, "Alice", true);
	b = user(d, "bob[1]", true);
	op = user(d, "Oper", true);
	x = user(d, NULL, false);	/* connected, not registered */
	gone = user(d, "Gone", true);
	quitting = user(d, "Leaving", true);
	remote = dir_user_alloc_remote(d, &gen);
	ck_assert_int_ge(remote, NLOCAL);
	ck_assert_int_eq(dir_nick_set(d, (uint32_t)remote, "Far"), 0);
	dir_set_state(d, (uint32_t)remote, DIR_REGISTERED);
	d->users[remote].node = 3;
	dir_set_umodes(d, (uint32_t)op, DIR_UMODE_OPER | DIR_UMODE_WALLOPS);
	dir_set_umodes(d, (uint32_t)b, DIR_UMODE_INVISIBLE);
	d->users[op].oper_retry_ms = 123456789;
	d->users[a].tls = true;
	d->users[a].caps = 0x2a;
	d->users[a].connected_at = 1700000000;
	ck_assert_int_eq(dir_set_away(d, (uint32_t)b, "out for lunch"), 0);

	c = join(d, a, "#Main", 100);
	join(d, b, "#main", 200);
	join(d, op, "#MAIN", 300);
	join(d, remote, "#main", 400);
	join(d, quitting, "#main", 500);
	dir_member_get(c, (uint32_t)b)->flags = DIR_MEMBER_VOICE;
	dir_member_get(c, (uint32_t)op)->flags = DIR_MEMBER_OP | DIR_MEMBER_VOICE;
	c->modes = DIR_CMODE_NOEXTERNAL | DIR_CMODE_TOPIC | DIR_CMODE_INVITE;
	snprintf(c->chankey, sizeof c->chankey, "s3cret");
	c->limit = 42;
	c->created = 1600000000;
	ck_assert_int_eq(dir_set_topic(d, c->id, "Welcome: be nice", "Alice", 1650000000), 0);
	ck_assert_int_eq(dir_mask_add(c, DIR_LIST_BAN, "*!*@bad.example", "Oper", 11, 100), 0);
	ck_assert_int_eq(dir_mask_add(c, DIR_LIST_BAN, "Troll*!*@*", "Alice", 12, 100), 0);
	ck_assert_int_eq(dir_mask_add(c, DIR_LIST_EXCEPT, "*!*@good.example", "Oper", 13, 100), 0);
	ck_assert_int_eq(dir_mask_add(c, DIR_LIST_INVEX, "friend!*@*", "Oper", 14, 100), 0);
	ck_assert_int_eq(dir_invite_add(c, (uint32_t)x, d->users[x].gen), 0);
	/* channels made and destroyed: their ids' generations count */
	for (int i = 0; i < 3; i++) {
		join(d, b, "#temp", 600);
		ck_assert_int_eq(dir_part(d, (uint32_t)b, dir_chan_find(d, "#temp")->id), 0);
	}
	q = join(d, b, "#quiet", 700);
	join(d, a, "#quiet", 800);
	ck_assert_int_eq(dir_set_topic(d, q->id, "", "bob[1]", 1), 0);	/* cleared */
	join(d, a, "&local", 900);	/* Alice: #Main, #quiet, &local, in that order */
	/* a client that quit: its nick given up, shown until it is gone */
	dir_nick_clear(d, (uint32_t)quitting);
	dir_set_state(d, (uint32_t)quitting, DIR_QUITTING);
	dir_user_release(d, (uint32_t)gone);
	/* WHOWAS wraps around: six into four */
	for (int i = 0; i < 6; i++) {
		char nick[16];

		snprintf(nick, sizeof nick, "old%d", i);
		whowas_add(&s->ww, nick, "user", "host", "Real Name", "irc.example", 1000 + i);
	}
}

static void
state_free(struct state *s)
{
	dir_free(&s->d);
	whowas_free(&s->ww);
}

static void
write_blob(const struct state *s, struct buf *out)
{
	buf_init(out);
	ck_assert_int_eq(handover_write(&s->d, &s->ww, out), 0);
}

/* read a blob into a fresh state of the sizes it names: 0 or -EPROTO */
static int
read_blob(struct state *s, const void *p, size_t len, const char **why)
{
	uint32_t nlocal = NLOCAL, nremote = NREMOTE;

	if (handover_sizes(p, len, &nlocal, &nremote, why) < 0)
		nlocal = NLOCAL, nremote = NREMOTE;
	if (nlocal > 4096 || nremote > 4096)
		nlocal = NLOCAL, nremote = NREMOTE;	/* an altered size: bounded */
	ck_assert_int_eq(dir_init(&s->d, nlocal, nremote), 0);
	ck_assert_int_eq(whowas_init(&s->ww, 4), 0);
	return handover_read(&s->d, &s->ww, p, len, why);
}

START_TEST(round_trip)
{
	struct state a, b;
	struct buf one, two;
	const char *why = NULL;
	uint32_t ga, gb;
	int sa, sb, alice;
	struct dir_chan *ca, *cb;
	const struct whowas_entry *e;

	build(&a);
	write_blob(&a, &one);
	ck_assert_msg(read_blob(&b, one.data, one.len, &why) == 0, "refused: %s", why);
	/* written again, the same bytes: nothing was lost or reordered */
	write_blob(&b, &two);
	ck_assert_uint_eq(one.len, two.len);
	ck_assert(memcmp(one.data, two.data, one.len) == 0);
	/* what the directory answers */
	ck_assert_uint_eq(a.d.nregistered, b.d.nregistered);
	ck_assert_uint_eq(a.d.nconnected, b.d.nconnected);
	ck_assert_uint_eq(a.d.nchannels, b.d.nchannels);
	ck_assert_uint_eq(a.d.nopers, b.d.nopers);
	ck_assert_uint_eq(a.d.ninvisible, b.d.ninvisible);
	ck_assert_uint_eq(a.d.nlocal_registered, b.d.nlocal_registered);
	ck_assert_uint_eq(a.d.max_registered, b.d.max_registered);
	alice = dir_nick_find(&b.d, "ALICE");
	ck_assert_int_eq(alice, dir_nick_find(&a.d, "alice"));
	ck_assert_int_eq(dir_nick_find(&b.d, "BOB{1}"), dir_nick_find(&a.d, "bob[1]"));
	ck_assert_int_eq(dir_nick_find(&b.d, "Leaving"), -1);	/* given up */
	ck_assert_ptr_null(b.d.users[alice].away);
	ck_assert_str_eq(b.d.users[dir_nick_find(&b.d, "bob[1]")].away, "out for lunch");
	ck_assert_uint_eq(b.d.users[alice].nchans, 3);
	ck_assert_str_eq(dir_chan_get(&b.d, b.d.users[alice].chans[2])->name, "&local");
	ca = dir_chan_find(&a.d, "#main");
	cb = dir_chan_find(&b.d, "#MAIN");
	ck_assert_ptr_nonnull(cb);
	ck_assert_uint_eq(ca->id, cb->id);
	ck_assert_uint_eq(ca->gen, cb->gen);
	ck_assert_str_eq(cb->topic, "Welcome: be nice");
	ck_assert_uint_eq(cb->lists[DIR_LIST_BAN].n, 2);
	ck_assert(dir_invite_take(cb, ca->invites[0].slot, ca->invites[0].gen));
	/* the next client and the next channel get what they would have got */
	sa = dir_user_alloc(&a.d, &ga);
	sb = dir_user_alloc(&b.d, &gb);
	ck_assert_int_eq(sa, sb);
	ck_assert_uint_eq(ga, gb);
	join(&a.d, sa, "#new", 1);
	join(&b.d, sb, "#new", 1);
	ck_assert_uint_eq(dir_chan_find(&a.d, "#new")->id, dir_chan_find(&b.d, "#new")->id);
	ck_assert_uint_eq(dir_chan_find(&a.d, "#new")->gen, dir_chan_find(&b.d, "#new")->gen);
	/* WHOWAS: the four newest, newest first */
	e = whowas_find(&b.ww, "old5", NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->at, 1005);
	ck_assert_ptr_null(whowas_find(&b.ww, "old1", NULL));
	buf_free(&one);
	buf_free(&two);
	state_free(&a);
	state_free(&b);
}
END_TEST

START_TEST(other_version_refused)
{
	struct state a, b;
	struct buf one;
	const char *why = NULL;
	char *v;

	build(&a);
	write_blob(&a, &one);
	/* the header: 16:shmchat-handover1:<version> */
	v = memmem(one.data, one.len, "1:1", 3);
	ck_assert_ptr_nonnull(v);
	v[2] = '2';
	ck_assert_int_eq(read_blob(&b, one.data, one.len, &why), -EPROTO);
	ck_assert_str_eq(why, "the state's version is not this program's");
	state_free(&b);
	v[2] = '1';
	/* a directory of other sizes */
	ck_assert_int_eq(dir_init(&b.d, NLOCAL * 2, NREMOTE), 0);
	ck_assert_int_eq(whowas_init(&b.ww, 4), 0);
	ck_assert_int_eq(handover_read(&b.d, &b.ww, one.data, one.len, &why), -EPROTO);
	ck_assert_str_eq(why, "the directory's sizes differ");
	state_free(&b);
	ck_assert_int_eq(read_blob(&b, "garbage", 7, &why), -EPROTO);
	state_free(&b);
	buf_free(&one);
	state_free(&a);
}
END_TEST

/* every prefix of a blob is refused, and nothing crashes or leaks */
START_TEST(cut_short_refused)
{
	struct state a, b;
	struct buf one;
	const char *why;

	build(&a);
	write_blob(&a, &one);
	for (size_t len = 0; len < one.len; len++) {
		why = NULL;
		ck_assert_msg(read_blob(&b, one.data, len, &why) == -EPROTO,
			      "a blob cut to %zu of %zu bytes was taken", len, one.len);
		ck_assert_ptr_nonnull(why);
		state_free(&b);
	}
	buf_free(&one);
	state_free(&a);
}
END_TEST

/* any byte changed: taken or refused, never a crash (the sanitizers and
 * valgrind runs check the memory) */
START_TEST(altered_bytes)
{
	static const char repl[] = "0123456789:U#!@ \xff";
	struct state a, b;
	struct buf one;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	int refused = 0;

	build(&a);
	write_blob(&a, &one);
	for (int i = 0; i < 3000; i++) {
		char *copy = malloc(one.len);
		const char *why = NULL;
		size_t at;

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, one.data, one.len);
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		at = (size_t)(seed % one.len);
		copy[at] = repl[(seed >> 32) % (sizeof repl - 1)];
		if (read_blob(&b, copy, one.len, &why) < 0) {
			ck_assert_ptr_nonnull(why);
			refused++;
		}
		state_free(&b);
		free(copy);
	}
	ck_assert_int_gt(refused, 0);
	buf_free(&one);
	state_free(&a);
}
END_TEST

/* the field codec's numbers: the whole int64 range, and nothing else */
START_TEST(field_numbers)
{
	static const int64_t ok[] = { 0, 1, -1, 9, 10, -10, 4294967296LL, INT64_MAX, INT64_MIN };
	static const char *const bad[] = { "", "-", "+1", " 1", "1 ", "1a", "--1", "0x10",
	    "9223372036854775808", "-9223372036854775809", "99999999999999999999" };
	struct fields_in in;
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		ck_assert_int_eq(fields_num(&b, ok[i]), 0);
	fields_in_init(&in, b.data, b.len);
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		ck_assert(fields_int(&in, INT64_MIN, INT64_MAX) == ok[i]);
	ck_assert(!in.bad && in.p == in.end);
	buf_free(&b);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		buf_init(&b);
		fields_str(&b, bad[i]);
		fields_in_init(&in, b.data, b.len);
		fields_int(&in, INT64_MIN, INT64_MAX);
		ck_assert_msg(in.bad, "\"%s\" taken as a number", bad[i]);
		buf_free(&b);
	}
	/* the bounds are the caller's, on both sides */
	buf_init(&b);
	fields_num(&b, 5);
	fields_num(&b, -3);
	fields_num(&b, 7);
	fields_in_init(&in, b.data, b.len);
	ck_assert(fields_int(&in, 0, 5) == 5);
	ck_assert(fields_int(&in, -3, -1) == -3);
	fields_int(&in, 8, 9);
	ck_assert(in.bad);
	buf_free(&b);
	/* without a sign: the whole uint64 range, and nothing else */
	{
		static const uint64_t uok[] = { 0, 1, 4294967296ULL, UINT64_MAX - 1, UINT64_MAX };
		static const char *const ubad[] = { "", "-1", "+1", "18446744073709551616",
		    "99999999999999999999", "1a" };

		buf_init(&b);
		for (size_t i = 0; i < sizeof uok / sizeof *uok; i++)
			ck_assert_int_eq(fields_unum(&b, uok[i]), 0);
		fields_in_init(&in, b.data, b.len);
		for (size_t i = 0; i < sizeof uok / sizeof *uok; i++)
			ck_assert(fields_uint(&in, UINT64_MAX) == uok[i]);
		ck_assert(!in.bad && in.p == in.end);
		buf_free(&b);
		for (size_t i = 0; i < sizeof ubad / sizeof *ubad; i++) {
			buf_init(&b);
			fields_str(&b, ubad[i]);
			fields_in_init(&in, b.data, b.len);
			fields_uint(&in, UINT64_MAX);
			ck_assert_msg(in.bad, "\"%s\" taken as a number", ubad[i]);
			buf_free(&b);
		}
		buf_init(&b);
		fields_unum(&b, 10);
		fields_in_init(&in, b.data, b.len);
		fields_uint(&in, 9);
		ck_assert(in.bad);
		buf_free(&b);
	}
}
END_TEST

/* the header of a blob for a directory of 4 local slots */
static void
head(struct buf *b)
{
	buf_init(b);
	fields_str(b, "shmchat-handover");
	fields_num(b, HANDOVER_VERSION);
	fields_num(b, 4);
	fields_num(b, 0);
}

/* a client record in slot, in nchans channels (ids: chan, chan + 1...) */
static void
client(struct buf *b, int slot, const char *nick, int nchans, int chan)
{
	fields_str(b, "U");
	fields_num(b, slot);
	fields_num(b, 1);	/* gen */
	fields_str(b, "R");
	fields_str(b, nick);
	fields_num(b, 1);	/* keyed */
	fields_str(b, "user");
	fields_str(b, "host");
	fields_str(b, "real");
	fields_num(b, 0);	/* no away */
	fields_str(b, "");
	for (int i = 0; i < 6; i++)	/* umodes, retry, at, tls, caps, node */
		fields_num(b, 0);
	fields_num(b, nchans);
	for (int i = 0; i < nchans; i++)
		fields_num(b, chan + i);
}

/* a channel record with one member */
static void
channel(struct buf *b, int id, const char *name, int member)
{
	fields_str(b, "C");
	fields_num(b, id);
	fields_num(b, 1);	/* gen */
	fields_str(b, name);
	fields_num(b, 0);	/* created */
	fields_num(b, 0);	/* modes */
	fields_str(b, "");	/* key */
	fields_num(b, 0);	/* limit */
	fields_num(b, 0);	/* no topic */
	fields_str(b, "");
	fields_str(b, "");
	fields_num(b, 0);
	for (int l = 0; l < DIR_NLISTS; l++)
		fields_num(b, 0);
	fields_num(b, 0);	/* invites */
	fields_num(b, 1);
	fields_num(b, member);
	fields_num(b, 0);	/* joined_at */
	fields_num(b, 0);	/* flags */
}

static void
end(struct buf *b, int users, int chans, int whowas)
{
	fields_str(b, "E");
	fields_num(b, users);
	fields_num(b, chans);
	fields_num(b, whowas);
}

/* read b into a fresh directory of 4 local slots: NULL taken, else why */
static const char *
try(struct buf *b)
{
	struct state s;
	const char *why = NULL;
	int rc;

	ck_assert_int_eq(dir_init(&s.d, 4, 0), 0);
	ck_assert_int_eq(whowas_init(&s.ww, 4), 0);
	rc = handover_read(&s.d, &s.ww, b->data, b->len, &why);
	state_free(&s);
	buf_free(b);
	ck_assert(rc == 0 || rc == -EPROTO);
	return rc == 0 ? NULL : why;
}

/* blobs that parse but contradict themselves */
START_TEST(contradictions_refused)
{
	struct buf b;

	/* the blobs the cases alter are taken as they are */
	head(&b);
	end(&b, 0, 0, 0);
	ck_assert_ptr_null(try(&b));
	head(&b);
	client(&b, 1, "a", 1, 0);
	channel(&b, 0, "#c", 1);
	end(&b, 1, 1, 0);
	ck_assert_ptr_null(try(&b));
	/* a member that is no client */
	head(&b);
	channel(&b, 0, "#c", 3);
	end(&b, 0, 1, 0);
	ck_assert_str_eq(try(&b), "a member is no client, or listed twice");
	/* one slot twice */
	head(&b);
	client(&b, 1, "a", 0, 0);
	client(&b, 1, "b", 0, 0);
	end(&b, 2, 0, 0);
	ck_assert_str_eq(try(&b), "a slot is given twice");
	/* one nick twice */
	head(&b);
	client(&b, 1, "a", 0, 0);
	client(&b, 2, "A", 0, 0);
	end(&b, 2, 0, 0);
	ck_assert_str_eq(try(&b), "two clients hold one nick");
	/* a client said to be in a channel that does not list it */
	head(&b);
	client(&b, 1, "a", 2, 0);
	channel(&b, 0, "#c", 1);
	end(&b, 1, 1, 0);
	ck_assert_str_eq(try(&b), "a client's channels and the members disagree");
	/* one channel twice, by id and by name */
	head(&b);
	client(&b, 1, "a", 0, 0);
	channel(&b, 0, "#c", 1);
	channel(&b, 0, "#d", 1);
	end(&b, 1, 2, 0);
	ck_assert_str_eq(try(&b), "a channel is given twice, or its name is bad");
	head(&b);
	client(&b, 1, "a", 0, 0);
	channel(&b, 0, "#c", 1);
	channel(&b, 1, "#C", 1);
	end(&b, 1, 2, 0);
	ck_assert_str_eq(try(&b), "a channel is given twice, or its name is bad");
	/* the counts at the end, and what follows it */
	head(&b);
	end(&b, 1, 0, 0);
	ck_assert_str_eq(try(&b), "the counts at the end disagree");
	head(&b);
	end(&b, 0, 0, 0);
	fields_str(&b, "X");
	ck_assert_str_eq(try(&b), "bytes after the end");
	head(&b);
	fields_str(&b, "Z");
	ck_assert_str_eq(try(&b), "an unknown record");
	/* a slot beyond the directory */
	head(&b);
	client(&b, 4, "a", 0, 0);
	end(&b, 1, 0, 0);
	ck_assert_str_eq(try(&b), "a number is out of range");
}
END_TEST

/* ------------------------------------------------ a cluster node's part */

struct cnode {
	struct dir d;
	struct whowas ww;
	struct cluster_dir cd;
};

/* three nodes (this one, nB, a dead nC), nB's and nC's clients here */
static void
cnode_build(struct cnode *n)
{
	struct cluster_node *self, *b, *c;
	uint32_t local, gen;

	ck_assert_int_eq(dir_init(&n->d, NLOCAL, NREMOTE), 0);
	ck_assert_int_eq(whowas_init(&n->ww, 4), 0);
	ck_assert_int_eq(cluster_dir_init(&n->cd, &n->d), 0);
	ck_assert_ptr_nonnull(self = cluster_dir_node_add(&n->cd, "nA", 2, 0xfeedfacecafebeefULL));
	self->self = true;
	n->cd.self = self;
	ck_assert_ptr_nonnull(b = cluster_dir_node_add(&n->cd, "nB", 2, 7));
	ck_assert_ptr_nonnull(c = cluster_dir_node_add(&n->cd, "nC", 2, UINT64_MAX));
	b->seq = 1ULL << 40;
	c->dead = true;
	self->seq = 12345;
	user(&n->d, "Local", true);
	for (uint32_t i = 0; i < 4; i++) {
		ck_assert_int_eq(cluster_dir_ruser_add(&n->cd, i == 3 ? c : b, 100 + i, 1000 + i,
		    &local, &gen), 0);
		ck_assert_int_eq(dir_nick_set(&n->d, local, (const char *[]){ "B0", "B1", "B2",
		    "C0" }[i]), 0);
		dir_set_state(&n->d, local, DIR_REGISTERED);
		if (i == 1) {	/* gone again: its slot's generation counts */
			cluster_dir_ruser_drop(&n->cd, local);
		}
	}
}

static void
cnode_free(struct cnode *n)
{
	cluster_dir_free(&n->cd);
	dir_free(&n->d);
	whowas_free(&n->ww);
}

static void
cnode_write(const struct cnode *n, struct buf *dirb, struct buf *cdb)
{
	buf_init(dirb);
	buf_init(cdb);
	ck_assert_int_eq(handover_write(&n->d, &n->ww, dirb), 0);
	ck_assert_int_eq(cluster_dir_write(&n->cd, cdb), 0);
}

/* the directory, then the nodes over it: true when both were taken */
static bool
cnode_read(struct cnode *n, const struct buf *dirb, const char *p, size_t len)
{
	struct fields_in f;
	const char *why = NULL;

	ck_assert_int_eq(dir_init(&n->d, NLOCAL, NREMOTE), 0);
	ck_assert_int_eq(whowas_init(&n->ww, 4), 0);
	ck_assert_int_eq(handover_read(&n->d, &n->ww, dirb->data, dirb->len, &why), 0);
	ck_assert_int_eq(cluster_dir_init(&n->cd, &n->d), 0);
	fields_in_init(&f, p, len);
	if (cluster_dir_read(&n->cd, &f) && f.p == f.end)
		return true;
	ck_assert(f.bad || f.p != f.end);
	return false;
}

START_TEST(cluster_round_trip)
{
	struct cnode a, b;
	struct buf adir, acd, bdir, bcd;
	const struct cluster_ruser *ra, *tmp;

	cnode_build(&a);
	cnode_write(&a, &adir, &acd);
	ck_assert(cnode_read(&b, &adir, acd.data, acd.len));
	ck_assert_int_eq(b.cd.nnodes, 3);
	ck_assert_str_eq(b.cd.self->name, "nA");
	ck_assert_int_eq(b.cd.self->idx, 1);
	ck_assert(b.cd.self->inc == 0xfeedfacecafebeefULL && b.cd.self->seq == 12345);
	ck_assert(b.cd.nodes[2]->seq == 1ULL << 40 && b.cd.nodes[2]->nusers == 2);
	ck_assert(b.cd.nodes[3]->inc == UINT64_MAX && b.cd.nodes[3]->dead);
	ck_assert_int_eq(b.cd.nodes[3]->nusers, 1);
	ck_assert_int_eq(HASH_COUNT(b.cd.rusers), 3);
	HASH_ITER(hh, a.cd.rusers, ra, tmp) {
		const struct cluster_ruser *rb = cluster_dir_ruser_find(&b.cd, ra->key.node,
		    ra->key.slot, ra->key.gen);
		const char *node, *bnode;
		uint64_t inc, binc;
		uint32_t slot, gen, bslot, bgen;

		ck_assert_ptr_nonnull(rb);
		ck_assert_uint_eq(rb->local, ra->local);
		ck_assert(cluster_dir_home(&a.cd, ra->local, &node, &inc, &slot, &gen));
		ck_assert(cluster_dir_home(&b.cd, ra->local, &bnode, &binc, &bslot, &bgen));
		ck_assert(strcmp(node, bnode) == 0 && inc == binc && slot == bslot && gen == bgen);
	}
	/* written again: the same bytes */
	cnode_write(&b, &bdir, &bcd);
	ck_assert(acd.len == bcd.len && memcmp(acd.data, bcd.data, acd.len) == 0);
	ck_assert(adir.len == bdir.len && memcmp(adir.data, bdir.data, adir.len) == 0);
	buf_free(&bdir);
	buf_free(&bcd);
	cnode_free(&b);
	/* every prefix, and bytes altered: refused, or taken whole, never a crash */
	for (size_t cut = 0; cut < acd.len; cut++) {
		ck_assert(!cnode_read(&b, &adir, acd.data, cut));
		cnode_free(&b);
	}
	for (uint32_t i = 0, seed = 2463534242u; i < 2000; i++) {
		char *copy = malloc(acd.len);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, acd.data, acd.len);
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		copy[seed % acd.len] = "0123456789:-\xff"[(seed >> 8) % 13];
		cnode_read(&b, &adir, copy, acd.len);
		cnode_free(&b);
		free(copy);
	}
	buf_free(&adir);
	buf_free(&acd);
	cnode_free(&a);
}
END_TEST

/* a self-contradicting part: no node of its own, a client twice, one unknown */
START_TEST(cluster_contradictions_refused)
{
	struct cnode a, b;
	struct buf adir, acd, bad;
	struct cluster_ruser *ru, *tmp;

	cnode_build(&a);
	a.cd.self->self = false;
	cnode_write(&a, &adir, &acd);
	ck_assert(!cnode_read(&b, &adir, acd.data, acd.len));
	cnode_free(&b);
	buf_free(&acd);
	buf_free(&adir);
	a.cd.self->self = true;
	/* the directory holds a client of nB the nodes do not */
	HASH_ITER(hh, a.cd.rusers, ru, tmp) {
		cluster_dir_ruser_forget(&a.cd, ru);
		break;
	}
	cnode_write(&a, &adir, &acd);
	ck_assert(!cnode_read(&b, &adir, acd.data, acd.len));
	cnode_free(&b);
	/* a node named twice */
	buf_init(&bad);
	fields_num(&bad, 2);
	for (int i = 0; i < 2; i++) {
		fields_str(&bad, "nA");
		for (int k = 0; k < 4; k++)
			fields_num(&bad, 1);
		fields_num(&bad, 0);
		fields_num(&bad, i == 0);
		fields_num(&bad, 0);
	}
	fields_num(&bad, 0);
	ck_assert(!cnode_read(&b, &adir, bad.data, bad.len));
	cnode_free(&b);
	buf_free(&bad);
	buf_free(&acd);
	buf_free(&adir);
	cnode_free(&a);
}
END_TEST

static Suite *
handover_suite(void)
{
	Suite *s = suite_create("handover");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);	/* a bound for valgrind */
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, other_version_refused);
	tcase_add_test(tc, cut_short_refused);
	tcase_add_test(tc, altered_bytes);
	tcase_add_test(tc, contradictions_refused);
	tcase_add_test(tc, field_numbers);
	tcase_add_test(tc, cluster_round_trip);
	tcase_add_test(tc, cluster_contradictions_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(handover_suite());
}
