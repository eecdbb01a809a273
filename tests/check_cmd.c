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
#include "conf.h"
#include "dirsvc.h"
#include "ipc.h"
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
	ck_assert_int_eq(dir_init(&ds.dir, NSLOTS), 0);
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
	&cmd_query };

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
				if (n < 0 || n > IPC_REQ_ARGS ||
				    strcmp(row->name, "QUIT") == 0 || strcmp(row->name, "REGISTER") == 0)
					continue;	/* QUIT is not answered; REGISTER below */
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
	tcase_add_test(tc, reply_formats);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
