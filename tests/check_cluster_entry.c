/*
 * check_cluster_entry: unit tests for the network log's entries (encoded
 * for XADD, checked when read back: a malformed entry from another node is
 * refused) and for the snapshot a joining node builds its directory from.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_dir.h"
#include "cluster_entry.h"
#include "cluster_snap.h"
#include "dirsvc.h"
#include "ring.h"
#include "unit.h"

/* the field/value pairs of a (after its head of skip arguments) */
static size_t
fields(const struct cluster_argv *a, int skip, struct cluster_str *fv)
{
	size_t n = 0;

	for (int i = skip; i < a->argc; i++)
		fv[n++] = (struct cluster_str){ a->argv[i], a->len[i] };
	return n;
}

static struct cluster_entry
base(enum cluster_kind k)
{
	struct cluster_entry e;

	memset(&e, 0, sizeof e);
	e.kind = k;
	e.node = (struct cluster_str){ "irc-1.a_b", 9 };
	e.inc = 0x0123456789abcdefULL;
	e.seq = 42;
	e.time = 1796540000;
	e.slot = 7;
	e.gen = 3;
	return e;
}

static bool
str_is(struct cluster_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

START_TEST(round_trip)
{
	static const char lines[] = ":a!b@c PRIVMSG #x :hi\r\n:a!b@c PRIVMSG #x :two\r\n";
	struct cluster_entry e = base(CLUSTER_REQ), d;
	struct cluster_argv a = { .argc = 0 };
	struct cluster_str fv[CLUSTER_ENTRY_ARGV];
	const char *why = NULL;

	e.req_id = 99;
	e.args[0] = (struct cluster_str){ "MODE", 4 };
	e.args[1] = (struct cluster_str){ "#chan", 5 };
	e.args[2] = (struct cluster_str){ "+b", 2 };
	e.args[3] = (struct cluster_str){ "x!*@* with space", 16 };
	e.nargs = 4;
	ck_assert_int_eq(cluster_entry_encode(&e, &a), 0);
	ck_assert_int_eq(cluster_entry_decode(&d, fv, fields(&a, 0, fv), &why), 0);
	ck_assert_int_eq(d.kind, CLUSTER_REQ);
	ck_assert(str_is(d.node, "irc-1.a_b"));
	ck_assert(d.inc == e.inc && d.seq == 42 && d.time == e.time);
	ck_assert(d.slot == 7 && d.gen == 3 && d.req_id == 99);
	ck_assert_int_eq(d.nargs, 4);
	ck_assert(str_is(d.args[3], "x!*@* with space"));

	e = base(CLUSTER_MSG);
	e.msg_kind = RING_MSG_CHAN;
	e.msg_flags = RING_F_EXCLUDE_ORIGIN;
	e.target = (struct cluster_str){ "#x", 2 };
	e.payload = (struct cluster_str){ lines, strlen(lines) };
	a.argc = 0;
	ck_assert_int_eq(cluster_entry_encode(&e, &a), 0);
	ck_assert_int_eq(cluster_entry_decode(&d, fv, fields(&a, 0, fv), &why), 0);
	ck_assert(d.msg_kind == RING_MSG_CHAN && d.msg_flags == RING_F_EXCLUDE_ORIGIN);
	ck_assert(str_is(d.payload, lines) && str_is(d.target, "#x"));

	e = base(CLUSTER_USER);
	e.host = (struct cluster_str){ "2001:db8::1", 11 };
	e.tls = true;
	e.connected_at = -5;
	a.argc = 0;
	ck_assert_int_eq(cluster_entry_encode(&e, &a), 0);
	ck_assert_int_eq(cluster_entry_decode(&d, fv, fields(&a, 0, fv), &why), 0);
	ck_assert(d.tls && d.connected_at == -5 && str_is(d.host, "2001:db8::1"));

	e = base(CLUSTER_DEAD);
	e.dead = (struct cluster_str){ "irc2", 4 };
	e.dead_inc = 0xffffffffffffffffULL;
	a.argc = 0;
	ck_assert_int_eq(cluster_entry_encode(&e, &a), 0);
	ck_assert_int_eq(cluster_entry_decode(&d, fv, fields(&a, 0, fv), &why), 0);
	ck_assert(str_is(d.dead, "irc2") && d.dead_inc == e.dead_inc);
}
END_TEST

/* one field of a good entry replaced (or dropped with value NULL): refused */
static int
tamper(const char *field, const char *value)
{
	struct cluster_entry e = base(CLUSTER_MSG), d;
	struct cluster_argv a = { .argc = 0 };
	struct cluster_str fv[CLUSTER_ENTRY_ARGV], out[CLUSTER_ENTRY_ARGV];
	const char *why = NULL;
	size_t n, m = 0;

	e.msg_kind = RING_TO_NICK;
	e.target = (struct cluster_str){ "bob", 3 };
	e.payload = (struct cluster_str){ ":a PRIVMSG bob :x\r\n", 19 };
	ck_assert_int_eq(cluster_entry_encode(&e, &a), 0);
	n = fields(&a, 0, fv);
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (str_is(fv[i], field)) {
			if (value == NULL)
				continue;
			out[m++] = fv[i];
			out[m++] = (struct cluster_str){ value, strlen(value) };
			continue;
		}
		out[m++] = fv[i];
		out[m++] = fv[i + 1];
	}
	int rc = cluster_entry_decode(&d, out, m, &why);
	if (rc < 0)
		ck_assert_ptr_nonnull(why);
	return rc;
}

START_TEST(malformed_refused)
{
	ck_assert_int_eq(tamper("v", "1"), 0);		/* unchanged: accepted */
	ck_assert_int_eq(tamper("v", "2"), -EPROTO);
	ck_assert_int_eq(tamper("v", NULL), -EPROTO);
	ck_assert_int_eq(tamper("k", "Z"), -EPROTO);
	ck_assert_int_eq(tamper("k", ""), -EPROTO);
	ck_assert_int_eq(tamper("n", "bad name"), -EPROTO);
	ck_assert_int_eq(tamper("n", "a-name-that-is-much-too-long-for-a-node"), -EPROTO);
	ck_assert_int_eq(tamper("i", "xyz"), -EPROTO);
	ck_assert_int_eq(tamper("s", "-1"), -EPROTO);
	ck_assert_int_eq(tamper("s", "123456789012345678901"), -EPROTO);
	ck_assert_int_eq(tamper("t", ""), -EPROTO);
	ck_assert_int_eq(tamper("u", "7"), -EPROTO);
	ck_assert_int_eq(tamper("u", "7.x"), -EPROTO);
	ck_assert_int_eq(tamper("u", "99999999999.1"), -EPROTO);
	ck_assert_int_eq(tamper("mk", "1"), -EPROTO);	/* not a client's message kind */
	ck_assert_int_eq(tamper("mt", "two words"), -EPROTO);
	ck_assert_int_eq(tamper("mp", "no line end"), -EPROTO);
	ck_assert_int_eq(tamper("mp", "bare\nlf\r\n"), -EPROTO);
	ck_assert_int_eq(tamper("mp", "\r\n"), -EPROTO);
	ck_assert_int_eq(tamper("mp", NULL), -EPROTO);
	/* a NUL inside a line */
	{
		struct cluster_entry e = base(CLUSTER_MSG), d;
		struct cluster_argv a = { .argc = 0 };
		struct cluster_str fv[CLUSTER_ENTRY_ARGV];
		const char *why;
		e.msg_kind = RING_TO_NICK;
		e.target = (struct cluster_str){ "bob", 3 };
		e.payload = (struct cluster_str){ "a\0b\r\n", 5 };
		ck_assert_int_eq(cluster_entry_encode(&e, &a), 0);
		ck_assert_int_eq(cluster_entry_decode(&d, fv, fields(&a, 0, fv), &why), -EPROTO);
	}
	/* an odd number of strings, nothing at all */
	{
		struct cluster_entry d;
		struct cluster_str one = { "v", 1 };
		const char *why;
		ck_assert_int_eq(cluster_entry_decode(&d, &one, 1, &why), -EPROTO);
		ck_assert_int_eq(cluster_entry_decode(&d, NULL, 0, &why), -EPROTO);
	}
}
END_TEST

/* ---------------------------------------------------------------- snapshot */

/* the nodes of a network around a directory, this node named name */
static void
fake_nodes(struct cluster_dir *cd, struct dir *d, const char *name, uint64_t inc)
{
	ck_assert_int_eq(cluster_dir_init(cd, d), 0);
	cd->self = cluster_dir_node_get(cd, name, strlen(name), inc);
	ck_assert_ptr_nonnull(cd->self);
	cd->self->self = true;
}

static uint32_t
user(struct dir *d, const char *nick, bool reg)
{
	uint32_t gen;
	int s = dir_user_alloc(d, &gen);

	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(dir_nick_set(d, (uint32_t)s, nick), 0);
	snprintf(d->users[s].user, sizeof d->users[s].user, "u%s", nick);
	snprintf(d->users[s].host, sizeof d->users[s].host, "h.%s", nick);
	if (reg)
		dir_set_state(d, (uint32_t)s, DIR_REGISTERED);
	return (uint32_t)s;
}

START_TEST(snapshot_round_trip)
{
	struct dirsvc a, b;
	struct cluster_dir ca, cb;
	struct buf blob;
	struct dir_chan *ch;
	uint32_t alice, bob;
	int sb;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	ck_assert_int_eq(dir_init(&a.dir, 4, 4), 0);
	ck_assert_int_eq(dir_init(&b.dir, 4, 4), 0);
	fake_nodes(&ca, &a.dir, "irc1", 1);
	fake_nodes(&cb, &b.dir, "irc2", 2);
	alice = user(&a.dir, "alice", true);
	bob = user(&a.dir, "bob", true);
	user(&a.dir, "pending", false);
	dir_set_away(&a.dir, bob, "lunch");
	dir_set_umodes(&a.dir, alice, DIR_UMODE_INVISIBLE);
	ck_assert_int_eq(dir_join(&a.dir, alice, "#Ops", 0, 10, &ch), 0);
	ck_assert_int_eq(dir_join(&a.dir, bob, "#ops", 0, 10, &ch), 0);
	dir_member_get(ch, bob)->flags = DIR_MEMBER_VOICE;
	ch->modes = DIR_CMODE_MODERATED | DIR_CMODE_TOPIC;
	snprintf(ch->chankey, sizeof ch->chankey, "sekrit");
	ch->limit = 9;
	dir_set_topic(&a.dir, ch->id, "a topic: with colons", "alice", 1234);
	ck_assert_int_eq(dir_mask_add(ch, DIR_LIST_BAN, "evil!*@*", "alice", 55, 100), 0);

	buf_init(&blob);
	ck_assert_int_eq(cluster_snap_build(&ca, &blob), 0);
	ck_assert_int_eq(cluster_snap_apply(&cb, buf_head(&blob), buf_used(&blob)), 0);
	/* b knows a's three clients, as other node's clients */
	ck_assert_int_eq(b.dir.nconnected, 3);
	ck_assert_int_eq(b.dir.nregistered, 2);
	sb = dir_nick_find(&b.dir, "BOB");
	ck_assert_int_ge(sb, 4);		/* a remote slot */
	ck_assert_str_eq(b.dir.users[sb].away, "lunch");
	ck_assert_str_eq(b.dir.users[sb].host, "h.bob");
	ck_assert_int_ne(b.dir.users[sb].node, 0);
	ck_assert_uint_eq(b.dir.users[dir_nick_find(&b.dir, "alice")].umodes,
	    DIR_UMODE_INVISIBLE);
	ch = dir_chan_find(&b.dir, "#OPS");
	ck_assert_ptr_nonnull(ch);
	ck_assert_str_eq(ch->name, "#Ops");
	ck_assert_uint_eq(ch->nmembers, 2);
	ck_assert_uint_eq(dir_member_get(ch, (uint32_t)sb)->flags, DIR_MEMBER_VOICE);
	ck_assert_uint_eq(dir_member_get(ch, (uint32_t)dir_nick_find(&b.dir, "alice"))->flags,
	    DIR_MEMBER_OP);
	ck_assert_uint_eq(ch->modes, DIR_CMODE_MODERATED | DIR_CMODE_TOPIC);
	ck_assert_str_eq(ch->chankey, "sekrit");
	ck_assert_uint_eq(ch->limit, 9);
	ck_assert_str_eq(ch->topic, "a topic: with colons");
	ck_assert_int_eq(ch->topic_at, 1234);
	ck_assert_uint_eq(ch->lists[DIR_LIST_BAN].n, 1);
	ck_assert_str_eq(ch->lists[DIR_LIST_BAN].v[0].mask, "evil!*@*");

	/* every cut of the blob is refused whole, and leaves nothing behind */
	for (size_t cut = 0; cut + 1 < buf_used(&blob); cut += 7) {
		struct dirsvc c2;
		struct cluster_dir cc;
		memset(&c2, 0, sizeof c2);
		ck_assert_int_eq(dir_init(&c2.dir, 4, 4), 0);
		fake_nodes(&cc, &c2.dir, "irc3", 3);
		int rc = cluster_snap_apply(&cc, buf_head(&blob), cut);
		if (rc < 0) {
			ck_assert_int_eq(c2.dir.nconnected, 0);
			ck_assert_int_eq(c2.dir.nchannels, 0);
		}
		cluster_dir_free(&cc);
		dir_free(&c2.dir);
	}
	buf_free(&blob);
	cluster_dir_free(&ca);
	cluster_dir_free(&cb);
	dir_free(&a.dir);
	dir_free(&b.dir);
	(void)alice;
}
END_TEST

static Suite *
cluster_entry_suite(void)
{
	Suite *s = suite_create("cluster_entry");
	TCase *tc = tcase_create("entry");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, malformed_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("snapshot");
	tcase_add_test(tc, snapshot_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(cluster_entry_suite());
}
