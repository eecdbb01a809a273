/*
 * check_cmd: the command layer's master half in one process: a ring in
 * private memory, a directory, and cmd_master_request(). Every request a
 * worker can make, well-formed or not, gets exactly one answer (RING_ACK)
 * carrying its id, so no worker is ever left waiting.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_chan.h"
#include "cmd_conn.h"
#include "cmd_msg.h"
#include "cmd_query.h"
#include "cmd_user.h"
#include "conf.h"
#include "dirsvc.h"
#include "ipc.h"
#include "passwd.h"
#include "reply.h"
#include "unit.h"

#define NSLOTS	4

static struct conf cfg;
static struct dirsvc ds;
static struct ring ring;
static void *mem;
static uint32_t gen0, gen1;	/* slot 0: registered "alice"; slot 1: not registered */
static uint32_t next_id = 100;

static void
setup(void)
{
	size_t size = ring_segment_size(NSLOTS, 64, 1 << 20);

	mem = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
	ck_assert_ptr_nonnull(mem);
	memset(mem, 0, size);
	ck_assert_int_eq(ring_init(&ring, mem, size, NSLOTS, 64, 1 << 20), 0);
	conf_init_defaults(&cfg);
	memset(&ds, 0, sizeof ds);
	ck_assert_int_eq(dir_init(&ds.dir, NSLOTS, 0), 0);
	ds.ring = &ring;
	ds.cfg = &cfg;
	buf_init(&ds.pending);
	ck_assert_int_eq(dir_user_alloc(&ds.dir, &gen0), 0);
	ck_assert_int_eq(dir_nick_set(&ds.dir, 0, "alice"), 0);
	dir_set_state(&ds.dir, 0, DIR_REGISTERED);
	ck_assert_int_eq(dir_user_alloc(&ds.dir, &gen1), 1);
}

static void
teardown(void)
{
	dir_free(&ds.dir);
	buf_free(&ds.pending);
	conf_free(&cfg);
	free(mem);
}

struct answer {
	int acks;		/* RING_ACK records for the request */
	uint16_t status;
	char text[8192];	/* every line published meanwhile */
};

/* run a request (nargs strings) from slot and collect what it published */
static void
request_raw(uint32_t slot, const void *msg, size_t len, uint32_t id, struct answer *a)
{
	const struct ring_rec *rec;
	uint64_t pos;

	memset(a, 0, sizeof *a);
	cmd_master_request(&ds, slot, slot == 0 ? gen0 : gen1, msg, len, true);
	while (ring_fanout_peek(&ring, &rec, &pos) == 1) {
		size_t tl = strlen(a->text);
		if (rec->payload_len < sizeof a->text - tl) {
			memcpy(a->text + tl, ring_rec_payload(rec), rec->payload_len);
			a->text[tl + rec->payload_len] = '\0';
		}
		if (rec->kind == RING_ACK) {
			struct ring_ack ack;
			ck_assert_uint_ge(ring_rec_target_len(rec), sizeof ack);
			memcpy(&ack, ring_rec_extra(rec), sizeof ack);
			ck_assert_uint_eq(ack.req_id, id);
			ck_assert_uint_eq(rec->target_id, slot);
			a->acks++;
			a->status = ack.status;
		}
		ring_fanout_advance(&ring);
	}
}

static void
request(uint32_t slot, const char *name, int nargs, const char *const *args, struct answer *a)
{
	char msg[IPC_MSG_MAX];
	struct ipc_out o;
	struct ipc_req *req = ipc_out_init(&o, msg, sizeof msg, sizeof *req);

	req->id = ++next_id;
	req->nargs = nargs;
	ipc_put_str(&o, name);
	for (int i = 0; i < nargs; i++)
		ipc_put_str(&o, args[i]);
	ck_assert(!o.overflow);
	request_raw(slot, o.buf, o.len, req->id, a);
}

/* a request message as given (nargs, then len bytes of strings): refused, answered */
static void
refused_raw(uint16_t nargs, const char *strings, size_t len, struct answer *a)
{
	char msg[256];
	struct ipc_req *req = (struct ipc_req *)msg;

	memset(msg, 0, sizeof msg);
	req->id = ++next_id;
	req->nargs = nargs;
	memcpy(msg + sizeof *req, strings, len);
	request_raw(0, msg, sizeof *req + len, req->id, a);
	ck_assert_int_eq(a->acks, 1);
	ck_assert_uint_eq(a->status, CMD_BAD_REQUEST);
}

static const struct cmd_family *const families[] = { &cmd_conn, &cmd_chan, &cmd_msg,
	&cmd_query, &cmd_user };

/* every master half, with too few, the fewest, the most and too many
 * arguments: one answer each, refused as malformed when out of bounds */
START_TEST(every_request_answered)
{
	static const char *const args[IPC_REQ_ARGS] = { "#chan", "alice", "x", "y", "z", "1",
		"2", "3", "4", "5", "6", "7", "8", "9", "10", "11" };
	struct answer *a = malloc(sizeof *a);
	int rows = 0;

	ck_assert_ptr_nonnull(a);
	for (size_t f = 0; f < sizeof families / sizeof *families; f++)
		for (size_t i = 0; i < families[f]->nrows; i++) {
			const struct cmd_row *row = &families[f]->rows[i];
			int counts[4] = { row->min_args - 1, row->min_args, row->max_args,
				row->max_args + 1 };
			if (row->master == NULL)
				continue;
			rows++;
			for (int k = 0; k < 4; k++) {
				int n = counts[k];
				if (n < 0 || n > IPC_REQ_ARGS || (row->flags & CMD_NO_ANSWER) ||
				    strcmp(row->name, "REGISTER") == 0)
					continue;	/* QUIT, OPERED: not answered; REGISTER below */
				request(0, row->name, n, args, a);
				ck_assert_msg(a->acks == 1, "%s with %d arguments: %d answers",
				    row->name, n, a->acks);
				if (n < row->min_args || n > row->max_args)
					ck_assert_msg(a->status == CMD_BAD_REQUEST,
					    "%s with %d arguments: status %u", row->name, n, a->status);
			}
		}
	ck_assert_int_ge(rows, 15);
	free(a);
}
END_TEST

START_TEST(malformed_requests_answered)
{
	struct answer *a = malloc(sizeof *a);
	const char *one[1] = { "#c" };

	ck_assert_ptr_nonnull(a);
	request(0, "NOSUCHCOMMAND", 0, NULL, a);
	ck_assert_int_eq(a->acks, 1);
	ck_assert_uint_eq(a->status, CMD_BAD_REQUEST);
	/* a client command without a master half is no request */
	request(0, "TIME", 0, NULL, a);
	ck_assert_int_eq(a->acks, 1);
	ck_assert_uint_eq(a->status, CMD_BAD_REQUEST);
	/* nargs says 2, one follows; a string without its NUL; no name at all */
	refused_raw(2, "JOIN\0#c", 8, a);
	refused_raw(1, "JOIN\0#c", 7, a);
	refused_raw(0, "", 0, a);
	/* registered-only, from a client that is not */
	request(1, "JOIN", 1, one, a);
	ck_assert_int_eq(a->acks, 1);
	ck_assert_uint_eq(a->status, CMD_BAD_REQUEST);
	ck_assert(!dir_is_member(&ds.dir, 0, 1));
	free(a);
}
END_TEST

START_TEST(answers_carry_replies)
{
	struct answer *a = malloc(sizeof *a);
	const char *join[1] = { "#room" }, *topic[2] = { "#room", "hello" };
	const char *nochan[1] = { "#nowhere" }, *zero[1] = { "0" };

	ck_assert_ptr_nonnull(a);
	request(0, "JOIN", 1, join, a);
	ck_assert_int_eq(a->acks, 1);
	ck_assert_uint_eq(a->status, CMD_OK);
	ck_assert_ptr_nonnull(strstr(a->text, ":alice!"));
	ck_assert_ptr_nonnull(strstr(a->text, " JOIN #room\r\n"));
	ck_assert_ptr_nonnull(strstr(a->text, " 353 alice = #room :@alice\r\n"));
	ck_assert_ptr_nonnull(strstr(a->text, " 366 alice #room :End of /NAMES list.\r\n"));
	request(0, "TOPIC", 2, topic, a);
	ck_assert_uint_eq(a->status, CMD_OK);
	ck_assert_ptr_nonnull(strstr(a->text, " TOPIC #room :hello\r\n"));
	request(0, "TOPIC", 1, nochan, a);
	ck_assert_int_eq(a->acks, 1);
	ck_assert_uint_eq(a->status, CMD_FAILED);
	ck_assert_ptr_nonnull(strstr(a->text, " 403 alice #nowhere :No such channel\r\n"));
	/* JOIN 0: a PART for each channel, and the directory agrees */
	request(0, "JOIN", 1, zero, a);
	ck_assert_uint_eq(a->status, CMD_OK);
	ck_assert_ptr_nonnull(strstr(a->text, " PART #room\r\n"));
	ck_assert_uint_eq(ds.dir.users[0].nchans, 0);
	ck_assert_ptr_null(dir_chan_find(&ds.dir, "#room"));
	free(a);
}
END_TEST

/* "secret" */
#define HASH_6	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5" \
	"knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"

static uint32_t closed_slot = UINT32_MAX;
static char closed_reason[512];

static void
record_close(struct dirsvc *d, uint32_t slot, const char *reason)
{
	(void)d;
	closed_slot = slot;
	snprintf(closed_reason, sizeof closed_reason, "%s", reason);
}

static const struct dirsvc_ops test_ops = {
	.close_client = record_close,
	.passwd_check = passwd_check,
};

/* one oper block "root" for *@127.0.0.1; alice connects from there */
static void
oper_setup(void)
{
	cfg.opers = calloc(1, sizeof *cfg.opers);
	ck_assert_ptr_nonnull(cfg.opers);
	cfg.nopers = 1;
	cfg.opers[0].name = strdup("root");
	cfg.opers[0].password = strdup(HASH_6);
	cfg.opers[0].hosts[0] = strdup("*!*@127.0.0.1");
	cfg.opers[0].nhosts = 1;
	snprintf(ds.dir.users[0].user, sizeof ds.dir.users[0].user, "al");
	snprintf(ds.dir.users[0].host, sizeof ds.dir.users[0].host, "127.0.0.1");
	ds.ops = &test_ops;
}

START_TEST(oper_checks)
{
	struct answer *a = malloc(sizeof *a);
	const char *wrong[2] = { "root", "Secret" }, *right[2] = { "ROOT", "secret" };
	const char *unknown[2] = { "nobody", "secret" }, *deop[2] = { "alice", "-o" };

	ck_assert_ptr_nonnull(a);
	oper_setup();
	/* a wrong password, then the right one too soon after it: 464 both */
	request(0, "OPER", 2, wrong, a);
	ck_assert_uint_eq(a->status, CMD_FAILED);
	ck_assert_ptr_nonnull(strstr(a->text, " 464 alice :Password incorrect\r\n"));
	ck_assert_uint_gt(ds.dir.users[0].oper_retry_ms, 0);
	request(0, "OPER", 2, right, a);
	ck_assert_uint_eq(a->status, CMD_FAILED);
	ck_assert_ptr_nonnull(strstr(a->text, " 464 "));
	ck_assert(!cmd_user_is_oper(&ds, 0));
	/* an unknown name: 491, like a host that is not allowed */
	request(0, "OPER", 2, unknown, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 491 alice :No O-lines for your host\r\n"));
	/* every check busy for a while: 263, nothing checked */
	ds.dir.users[0].oper_retry_ms = 0;
	ds.oper_check_next_ms = UINT64_MAX;
	request(0, "OPER", 2, right, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 263 alice OPER :Please wait a while"));
	ck_assert_uint_eq(ds.dir.users[0].oper_retry_ms, 0);
	/* the right password, the name in another case: +o */
	ds.oper_check_next_ms = 0;
	request(0, "OPER", 2, right, a);
	ck_assert_uint_eq(a->status, CMD_OK);
	ck_assert_ptr_nonnull(strstr(a->text, ":alice MODE alice :+o\r\n"));
	ck_assert_ptr_nonnull(strstr(a->text, " 381 alice :You are now an IRC operator\r\n"));
	ck_assert(strstr(a->text, "+o") < strstr(a->text, " 381 "));
	ck_assert(cmd_user_is_oper(&ds, 0));
	ck_assert(!cmd_user_oper_override(&ds, 0));
	cfg.oper_override = true;
	ck_assert(cmd_user_oper_override(&ds, 0));
	ck_assert_uint_eq(ds.dir.nopers, 1);
	request(0, "LUSERS", 0, NULL, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 252 alice 1 :operator(s) online\r\n"));
	/* MODE -o drops it, and the count */
	request(0, "MODE", 2, deop, a);
	ck_assert_ptr_nonnull(strstr(a->text, ":alice MODE alice :-o\r\n"));
	ck_assert(!cmd_user_is_oper(&ds, 0));
	ck_assert_uint_eq(ds.dir.nopers, 0);
	request(0, "LUSERS", 0, NULL, a);
	ck_assert_ptr_null(strstr(a->text, " 252 "));
	/* from a host the block does not allow: 491, nothing checked */
	snprintf(ds.dir.users[0].host, sizeof ds.dir.users[0].host, "10.1.2.3");
	ds.oper_check_next_ms = UINT64_MAX;
	request(0, "OPER", 2, right, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 491 "));
	free(a);
}
END_TEST

START_TEST(oper_commands)
{
	struct answer *a = malloc(sizeof *a);
	const char *right[2] = { "root", "secret" }, *kill_bob[2] = { "Bob", "bye now" };
	const char *kill_srv[1] = { "SHMCHAT.localhost" }, *kill_ghost[1] = { "ghost" };
	const char *text[1] = { "hello opers" }, *empty[1] = { "" };

	ck_assert_ptr_nonnull(a);
	oper_setup();
	ck_assert_int_eq(dir_nick_set(&ds.dir, 1, "bob"), 0);
	dir_set_state(&ds.dir, 1, DIR_REGISTERED);
	/* not an operator yet: 481 for each */
	request(0, "KILL", 2, kill_bob, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 481 alice :Permission Denied"));
	request(0, "WALLOPS", 1, text, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 481 "));
	request(0, "REHASH", 0, NULL, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 481 "));
	ck_assert_uint_eq(closed_slot, UINT32_MAX);

	request(0, "OPER", 2, right, a);
	ck_assert_uint_eq(a->status, CMD_OK);
	request(0, "KILL", 1, kill_srv, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 483 alice :You can't kill a server!\r\n"));
	request(0, "KILL", 1, kill_ghost, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 401 alice ghost :No such nick"));
	request(0, "WALLOPS", 1, empty, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 461 alice WALLOPS :"));
	/* alice is not +w: she gets her WALLOPS in her reply */
	request(0, "WALLOPS", 1, text, a);
	ck_assert_uint_eq(a->status, CMD_OK);
	ck_assert_ptr_nonnull(strstr(a->text, ":alice!al@127.0.0.1 WALLOPS :hello opers\r\n"));
	request(0, "REHASH", 0, NULL, a);
	ck_assert_ptr_nonnull(strstr(a->text, " 382 alice shmchatd.conf :Rehashing\r\n"));
	/* KILL: bob quits at once, his nick is free, his worker is told */
	request(0, "KILL", 2, kill_bob, a);
	ck_assert_uint_eq(a->status, CMD_OK);
	ck_assert_uint_eq(ds.dir.users[1].state, DIR_QUITTING);
	ck_assert_int_lt(dir_nick_find(&ds.dir, "bob"), 0);
	ck_assert_uint_eq(closed_slot, 1);
	ck_assert_str_eq(closed_reason, "Killed (alice (bye now))");
	free(a);
}
END_TEST

/* numerics: one formatter; a list reply splits before a line overflows */
static char collected[16384];

static void
collect(struct reply *r, const char *line, size_t len)
{
	size_t n = strlen(collected);

	(void)r;
	ck_assert_uint_lt(n + len, sizeof collected);
	memcpy(collected + n, line, len);
	collected[n + len] = '\0';
}

START_TEST(reply_formats)
{
	struct reply r = { .server = "irc.test", .nick = "bob", .put = collect };
	struct reply_list l;
	char nick[16];
	int lines = 0;

	collected[0] = '\0';
	RPL(&r, ERR_NOSUCHNICK, "ghost");
	ck_assert_str_eq(collected, ":irc.test 401 bob ghost :No such nick/channel\r\n");
	collected[0] = '\0';
	RPL(&r, ERR_UNKNOWNMODE, 'z');
	ck_assert_str_eq(collected, ":irc.test 472 bob z :is unknown mode char to me\r\n");
	collected[0] = '\0';
	REPLY_LIST_START(&l, &r, RPL_NAMREPLY, "= #big");
	for (int i = 0; i < 200; i++) {
		snprintf(nick, sizeof nick, "nick%03d", i);
		reply_list_add(&l, "", nick);
	}
	reply_list_end(&l);
	for (const char *p = collected; (p = strstr(p, "\r\n")) != NULL; p += 2)
		lines++;
	ck_assert_int_ge(lines, 4);
	for (const char *p = collected, *e; *p; p = e + 2) {
		e = strstr(p, "\r\n");
		ck_assert_ptr_nonnull(e);
		ck_assert_int_le(e - p + 2, 512);
		ck_assert_int_eq(strncmp(p, ":irc.test 353 bob = #big :nick", 30), 0);
	}
	ck_assert_ptr_nonnull(strstr(collected, "nick000"));
	ck_assert_ptr_nonnull(strstr(collected, "nick199\r\n"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cmd");
	TCase *tc = tcase_create("master");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, every_request_answered);
	tcase_add_test(tc, malformed_requests_answered);
	tcase_add_test(tc, answers_carry_replies);
	tcase_add_test(tc, oper_checks);
	tcase_add_test(tc, oper_commands);
	tcase_add_test(tc, reply_formats);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
