/*
 * check_adminq: unit tests for the shmchatctl <-> shmchatd wire format and
 * queue calls (common/adminq.c), and for shmchatctl's reassembly of reply
 * parts and its table/JSON output (ctl/ctl_reply.c, ctl/ctl_output.c).
 *
 * The queue tests use keys derived from the test program's pid
 * (g_key_base + 0..15); an unchecked teardown (run by the parent even when
 * a test process dies on a failed assertion) removes whatever is left.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adminq.h"
#include "ctl_output.h"
#include "ctl_reply.h"

#define HDR	((ssize_t)sizeof(struct adminq_req_hdr))
#define RHDR	((ssize_t)sizeof(struct adminq_reply_hdr))

static struct adminq_msg msg;
static struct adminq_req req;
static key_t g_key_base;

/* the argument counts each command allows, as the protocol defines them */
static const struct {
	unsigned cmd;
	const char *name;
	int min, max;
} cmds[] = {
	{ ADMINQ_STATUS, "status", 0, 0 },
	{ ADMINQ_WHO, "who", 0, 1 },
	{ ADMINQ_CHANNELS, "channels", 0, 0 },
	{ ADMINQ_KICK, "kick", 1, 2 },
	{ ADMINQ_WALL, "wall", 1, 1 },
	{ ADMINQ_MOTD, "motd", 0, 0 },
	{ ADMINQ_MOTD_SET, "motd-set", 1, 1 },
	{ ADMINQ_MOTD_RELOAD, "motd-reload", 0, 0 },
	{ ADMINQ_RELOAD, "reload", 0, 0 },
	{ ADMINQ_SHUTDOWN, "shutdown", 0, 1 },
	{ ADMINQ_IPC, "ipc", 0, 0 },
	{ ADMINQ_CHANMODE, "chanmode", 1, 8 },
	{ ADMINQ_CLUSTER, "cluster", 0, 0 },
	{ ADMINQ_UPGRADE, "upgrade", 0, 1 },
	{ ADMINQ_RETIRE, "retire", 1, 1 },
};
#define NCMDS	((int)(sizeof cmds / sizeof cmds[0]))

/* a request header written by hand, for malformed messages */
static size_t
raw_req(uint32_t magic, uint16_t version, uint16_t cmd, int32_t pid, uint32_t id,
    uint16_t nargs, uint16_t argslen, const void *args, size_t argsbytes)
{
	struct adminq_req_hdr h = {
		.magic = magic, .version = version, .cmd = cmd, .pid = pid, .id = id,
		.nargs = nargs, .argslen = argslen,
	};

	memset(&msg, 0xa5, sizeof msg);
	msg.mtype = ADMINQ_MTYPE_REQUEST;
	memcpy(msg.body, &h, sizeof h);
	if (argsbytes)
		memcpy(msg.body + sizeof h, args, argsbytes);
	return sizeof h + argsbytes;
}

static size_t
good_req(uint16_t cmd, uint16_t nargs, const void *args, size_t argsbytes)
{
	return raw_req(ADMINQ_MAGIC, ADMINQ_VERSION, cmd, 4242, 99, nargs,
	    (uint16_t)argsbytes, args, argsbytes);
}

static int
decode(size_t len)
{
	return adminq_decode_req(&msg, len, &req);
}

/* ------------------------------------------------------------ names */

START_TEST(cmd_names)
{
	for (int i = 0; i < NCMDS; i++) {
		ck_assert_str_eq(adminq_cmd_name(cmds[i].cmd), cmds[i].name);
		ck_assert_int_eq(adminq_cmd_from_name(cmds[i].name), (int)cmds[i].cmd);
	}
	ck_assert_int_eq(NCMDS, ADMINQ_CMD_MAX - 1);
	ck_assert_str_eq(adminq_cmd_name(0), "unknown");
	ck_assert_str_eq(adminq_cmd_name(ADMINQ_CMD_MAX), "unknown");
	ck_assert_str_eq(adminq_cmd_name(0xffffffffu), "unknown");
	ck_assert_int_eq(adminq_cmd_from_name("nope"), -1);
	ck_assert_int_eq(adminq_cmd_from_name(""), -1);
	ck_assert_int_eq(adminq_cmd_from_name("STATUS"), -1);
}
END_TEST

/* --------------------------------------------------------- requests */

/* every command with every allowed argument count round-trips */
START_TEST(req_roundtrip_all)
{
	static const char *const vals[ADMINQ_NARGS_MAX] = {
		"#chan\xc3\xa9", "a reason with spaces", "+ob-v", "bob", "*!*@bad.host", "carol",
		"key", "10",
	};
	static const char *const empty[ADMINQ_NARGS_MAX] = { "", "", "", "", "", "", "", "" };

	for (int i = 0; i < NCMDS; i++)
		for (int n = cmds[i].min; n <= cmds[i].max; n++)
			for (int e = 0; e < 2; e++) {
				const char *const *args = e ? empty : vals;
				ssize_t len, want = HDR;

				for (int k = 0; k < n; k++)
					want += (ssize_t)strlen(args[k]) + 1;
				memset(&msg, 0x5a, sizeof msg);
				len = adminq_encode_req(&msg, cmds[i].cmd, 31337, 0xdeadbeef, args, n);
				ck_assert_int_eq(len, want);
				ck_assert_int_eq(msg.mtype, ADMINQ_MTYPE_REQUEST);
				memset(&req, 0x77, sizeof req);
				ck_assert_int_eq(decode((size_t)len), 0);
				ck_assert_uint_eq(req.cmd, cmds[i].cmd);
				ck_assert_int_eq(req.pid, 31337);
				ck_assert_uint_eq(req.id, 0xdeadbeef);
				ck_assert_uint_eq(req.version, ADMINQ_VERSION);
				ck_assert_int_eq(req.nargs, n);
				for (int k = 0; k < n; k++) {
					ck_assert_str_eq(req.args[k], args[k]);
					ck_assert((const char *)(req.args[k]) >= (const char *)(msg.body + HDR));
					ck_assert((const char *)(req.args[k]) < (const char *)(msg.body + len));
				}
			}
}
END_TEST

START_TEST(req_encode_limits)
{
	char *big = malloc(ADMINQ_ARGS_MAX + 2);
	const char *args[9] = { big };
	ssize_t len;

	ck_assert_ptr_nonnull(big);
	/* exactly ADMINQ_ARGS_MAX bytes of arguments (NULs included) fit */
	memset(big, 'x', ADMINQ_ARGS_MAX - 1);
	big[ADMINQ_ARGS_MAX - 1] = '\0';
	len = adminq_encode_req(&msg, ADMINQ_WALL, 100, 1, args, 1);
	ck_assert_int_eq(len, HDR + ADMINQ_ARGS_MAX);
	ck_assert_int_le(len, (ssize_t)sizeof msg.body);
	ck_assert_int_eq(decode((size_t)len), 0);
	ck_assert_uint_eq(strlen(req.args[0]), ADMINQ_ARGS_MAX - 1);
	/* one more byte does not */
	memset(big, 'x', ADMINQ_ARGS_MAX);
	big[ADMINQ_ARGS_MAX] = '\0';
	ck_assert_int_eq(adminq_encode_req(&msg, ADMINQ_WALL, 100, 1, args, 1), -E2BIG);
	/* nor do two arguments that add up to it */
	big[ADMINQ_ARGS_MAX / 2] = '\0';
	args[1] = big;
	ck_assert_int_eq(adminq_encode_req(&msg, ADMINQ_KICK, 100, 1, args, 2), -E2BIG);
	/* argument counts out of what the header can carry */
	for (int i = 0; i < 9; i++)
		args[i] = "a";
	ck_assert_int_eq(adminq_encode_req(&msg, ADMINQ_STATUS, 100, 1, args, 9), -E2BIG);
	ck_assert_int_eq(adminq_encode_req(&msg, ADMINQ_STATUS, 100, 1, args, -1), -E2BIG);
	free(big);
}
END_TEST

START_TEST(req_reject_size)
{
	size_t len = good_req(ADMINQ_STATUS, 0, NULL, 0);

	ck_assert_int_eq(decode(len), 0);
	for (size_t n = 0; n < (size_t)HDR; n++)
		ck_assert_int_eq(decode(n), -EBADMSG);
	ck_assert_int_eq(decode(sizeof msg.body + 1), -EBADMSG);
	ck_assert_int_eq(decode((size_t)-1), -EBADMSG);
}
END_TEST

START_TEST(req_reject_magic)
{
	ck_assert_int_eq(decode(raw_req(0, ADMINQ_VERSION, ADMINQ_STATUS, 4242, 1, 0, 0, NULL, 0)),
	    -EBADMSG);
	ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC ^ 0x100, ADMINQ_VERSION, ADMINQ_STATUS,
	    4242, 1, 0, 0, NULL, 0)), -EBADMSG);
	/* a reply is not a request, even one without data (same header size) */
	ck_assert_int_eq(adminq_encode_reply(&msg, 4242, 1, ADMINQ_OK, 0, true, "x", 1),
	    RHDR + 1);
	ck_assert_int_eq(decode(RHDR + 1), -EBADMSG);
	ck_assert_int_eq(adminq_encode_reply(&msg, 4242, 1, ADMINQ_OK, 0, true, "", 0), RHDR);
	ck_assert_int_eq(decode(RHDR), -EBADMSG);
}
END_TEST

START_TEST(req_reject_version)
{
	static const uint16_t versions[] = { 0, ADMINQ_VERSION + 1, 99, 0xffff };

	for (unsigned i = 0; i < sizeof versions / sizeof *versions; i++) {
		memset(&req, 0, sizeof req);
		/* wrong version: -EPROTO, with what is needed to answer so */
		ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, versions[i], ADMINQ_STATUS, 5555,
		    0x1234, 0, 0, NULL, 0)), -EPROTO);
		ck_assert_int_eq(req.pid, 5555);
		ck_assert_uint_eq(req.id, 0x1234);
		ck_assert_uint_eq(req.version, versions[i]);
		/* whatever the rest of it looks like (a future layout) */
		ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, versions[i], 0xffff, 5556, 7, 200,
		    3, "abc", 3)), -EPROTO);
		ck_assert_int_eq(req.pid, 5556);
		ck_assert_uint_eq(req.id, 7);
		/* ...but not to something that is not a process */
		ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, versions[i], ADMINQ_STATUS, 1, 3,
		    0, 0, NULL, 0)), -EBADMSG);
		ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, versions[i], ADMINQ_STATUS, 0, 3,
		    0, 0, NULL, 0)), -EBADMSG);
		ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, versions[i], ADMINQ_STATUS, -77, 3,
		    0, 0, NULL, 0)), -EBADMSG);
	}
}
END_TEST

START_TEST(req_reject_pid)
{
	static const int32_t pids[] = { 1, 0, -1, INT32_MIN };

	for (unsigned i = 0; i < sizeof pids / sizeof *pids; i++)
		ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, ADMINQ_VERSION, ADMINQ_STATUS,
		    pids[i], 1, 0, 0, NULL, 0)), -EBADMSG);
	ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, ADMINQ_VERSION, ADMINQ_STATUS, 2, 1, 0,
	    0, NULL, 0)), 0);
	ck_assert_int_eq(req.pid, 2);
	ck_assert_int_eq(decode(raw_req(ADMINQ_MAGIC, ADMINQ_VERSION, ADMINQ_STATUS,
	    INT32_MAX, 1, 0, 0, NULL, 0)), 0);
}
END_TEST

START_TEST(req_reject_cmd)
{
	static const uint16_t bad[] = { 0, ADMINQ_CMD_MAX, ADMINQ_CMD_MAX + 1, 0x100, 0xffff };

	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_int_eq(decode(good_req(bad[i], 0, NULL, 0)), -EBADMSG);
}
END_TEST

/* one argument more than allowed, or one fewer than needed, per command */
START_TEST(req_reject_nargs)
{
	static const char args[] = "a\0b\0c\0d\0e\0f\0g\0h\0i\0j";

	for (int i = 0; i < NCMDS; i++) {
		int n = cmds[i].max + 1;

		ck_assert_int_eq(decode(good_req(cmds[i].cmd, n, args, 2 * n)), -EBADMSG);
		if (cmds[i].min > 0) {
			n = cmds[i].min - 1;
			ck_assert_int_eq(decode(good_req(cmds[i].cmd, n, args, 2 * n)), -EBADMSG);
		}
		n = cmds[i].max;
		ck_assert_int_eq(decode(good_req(cmds[i].cmd, n, args, 2 * n)), 0);
	}
	/* more than the decoder can hold, whatever the command */
	ck_assert_int_eq(decode(good_req(ADMINQ_KICK, 9, args, 18)), -EBADMSG);
	ck_assert_int_eq(decode(good_req(ADMINQ_KICK, 0xffff, args, 20)), -EBADMSG);
}
END_TEST

/* chanmode: a channel, then modes and at most ADMINQ_CHANMODE_PARAMS parameters */
START_TEST(req_chanmode_args)
{
	const char *args[ADMINQ_NARGS_MAX + 1] = {
		"#c", "+ovbkl", "alice", "bob", "*!*@bad.host", "sesame", "25", "extra", "one more",
	};
	ssize_t len;

	ck_assert_int_eq(ADMINQ_CHANMODE_PARAMS, 6);
	ck_assert_int_eq(adminq_cmd_from_name("chanmode"), ADMINQ_CHANMODE);
	/* the channel alone (show), with modes (a list query), with every parameter */
	for (int n = 1; n <= 2 + ADMINQ_CHANMODE_PARAMS; n++) {
		len = adminq_encode_req(&msg, ADMINQ_CHANMODE, 4242, 7, args, n);
		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(decode((size_t)len), 0);
		ck_assert_uint_eq(req.cmd, ADMINQ_CHANMODE);
		ck_assert_int_eq(req.nargs, n);
		for (int k = 0; k < n; k++)
			ck_assert_str_eq(req.args[k], args[k]);
	}
	/* a seventh parameter cannot be sent, nor received */
	ck_assert_int_eq(adminq_encode_req(&msg, ADMINQ_CHANMODE, 4242, 7, args, 9), -E2BIG);
	ck_assert_int_eq(decode(good_req(ADMINQ_CHANMODE, 9,
	    "#c\0+o\0a\0b\0c\0d\0e\0f\0g", 20)), -EBADMSG);
	/* no channel */
	ck_assert_int_eq(decode(good_req(ADMINQ_CHANMODE, 0, NULL, 0)), -EBADMSG);
	/* empty strings are well-formed; the server judges them */
	ck_assert_int_eq(decode(good_req(ADMINQ_CHANMODE, 2, "\0\0", 2)), 0);
	ck_assert_str_eq(req.args[0], "");
	ck_assert_str_eq(req.args[1], "");
	/* a parameter count that disagrees with the bytes */
	ck_assert_int_eq(decode(good_req(ADMINQ_CHANMODE, 3, "#c\0+o\0", 6)), -EBADMSG);
	ck_assert_int_eq(decode(good_req(ADMINQ_CHANMODE, 1, "#c\0+o\0", 6)), -EBADMSG);
}
END_TEST

START_TEST(req_reject_unterminated)
{
	/* the last argument runs to the end of the message without a NUL */
	ck_assert_int_eq(decode(good_req(ADMINQ_WALL, 1, "hello", 5)), -EBADMSG);
	ck_assert_int_eq(decode(good_req(ADMINQ_KICK, 2, "nick\0reason", 11)), -EBADMSG);
	/* the padding after the message is no terminator either */
	memset(msg.body + HDR + 5, 0, 16);
	ck_assert_int_eq(decode(HDR + 5), -EBADMSG);
	ck_assert_int_eq(decode(good_req(ADMINQ_KICK, 2, "nick\0reason", 12)), 0);
	ck_assert_str_eq(req.args[0], "nick");
	ck_assert_str_eq(req.args[1], "reason");
}
END_TEST

START_TEST(req_reject_argslen)
{
	size_t len;

	/* argslen larger / smaller than what follows the header */
	len = raw_req(ADMINQ_MAGIC, ADMINQ_VERSION, ADMINQ_WALL, 4242, 1, 1, 7, "hello", 6);
	ck_assert_int_eq(decode(len), -EBADMSG);
	len = raw_req(ADMINQ_MAGIC, ADMINQ_VERSION, ADMINQ_WALL, 4242, 1, 1, 5, "hello", 6);
	ck_assert_int_eq(decode(len), -EBADMSG);
	len = raw_req(ADMINQ_MAGIC, ADMINQ_VERSION, ADMINQ_WALL, 4242, 1, 1, 0xffff, "hello", 6);
	ck_assert_int_eq(decode(len), -EBADMSG);
	/* arguments left over after nargs strings */
	ck_assert_int_eq(decode(good_req(ADMINQ_WALL, 1, "one\0two", 8)), -EBADMSG);
	ck_assert_int_eq(decode(good_req(ADMINQ_STATUS, 0, "", 1)), -EBADMSG);
	/* consistent, but longer than ADMINQ_ARGS_MAX */
	{
		char *big = calloc(1, ADMINQ_ARGS_MAX + 1);

		ck_assert_ptr_nonnull(big);
		memset(big, 'y', ADMINQ_ARGS_MAX);
		len = good_req(ADMINQ_WALL, 1, big, ADMINQ_ARGS_MAX + 1);
		ck_assert_int_eq(decode(len), -EBADMSG);
		free(big);
	}
}
END_TEST

/* random bytes and random damage to good requests: never a crash, and a
 * message accepted is one whose arguments all lie inside it */
START_TEST(req_fuzz)
{
	unsigned seed = 12345;
	static const char *const args[] = { "alice", "go away" };

	for (int round = 0; round < 20000; round++) {
		size_t len;
		int rc;

		if (round % 2) {
			len = (size_t)rand_r(&seed) % (sizeof msg.body + 1);
			for (size_t i = 0; i < len; i++)
				msg.body[i] = (char)rand_r(&seed);
			if (round % 4 == 1 && len >= 4)
				memcpy(msg.body, &(uint32_t){ ADMINQ_MAGIC }, 4);
		} else {
			len = (size_t)adminq_encode_req(&msg, ADMINQ_KICK, 900, 5, args, 2);
			for (int k = 0; k < 1 + rand_r(&seed) % 3; k++)
				msg.body[(size_t)rand_r(&seed) % len] = (char)rand_r(&seed);
			if (rand_r(&seed) % 4 == 0)
				len = (size_t)rand_r(&seed) % (len + 8);
		}
		rc = decode(len);
		ck_assert(rc == 0 || rc == -EBADMSG || rc == -EPROTO);
		if (rc == -EPROTO)
			ck_assert_int_gt(req.pid, 1);
		if (rc != 0)
			continue;
		ck_assert_uint_gt(req.cmd, 0);
		ck_assert_uint_lt(req.cmd, ADMINQ_CMD_MAX);
		ck_assert_int_gt(req.pid, 1);
		for (int k = 0; k < req.nargs; k++) {
			size_t n = strnlen(req.args[k], sizeof msg.body);

			ck_assert((const char *)(req.args[k]) >= (const char *)(msg.body + HDR));
			ck_assert((const char *)(req.args[k] + n) <= (const char *)(msg.body + len - 1));
		}
	}
}
END_TEST

/* ----------------------------------------------------------- replies */

START_TEST(reply_roundtrip)
{
	static const unsigned statuses[] = {
		ADMINQ_OK, ADMINQ_REFUSED, ADMINQ_BAD_REQUEST, ADMINQ_INCOMPATIBLE,
	};
	struct adminq_reply_hdr h;
	const char *data;
	char *big = malloc(ADMINQ_DATA_MAX + 1);
	ssize_t len;

	ck_assert_ptr_nonnull(big);
	for (unsigned i = 0; i < 4; i++) {
		len = adminq_encode_reply(&msg, 777, 0xabcdef01, statuses[i], 3, i % 2, "hi\tx\n", 5);
		ck_assert_int_eq(len, RHDR + 5);
		ck_assert_int_eq(msg.mtype, 777);
		ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), 0);
		ck_assert_uint_eq(h.status, statuses[i]);
		ck_assert_uint_eq(h.id, 0xabcdef01);
		ck_assert_uint_eq(h.part, 3);
		ck_assert_uint_eq(h.flags, i % 2 ? ADMINQ_F_LAST : 0);
		ck_assert_uint_eq(h.len, 5);
		ck_assert_mem_eq(data, "hi\tx\n", 5);
	}
	/* empty */
	len = adminq_encode_reply(&msg, 2, 1, ADMINQ_OK, 0, true, NULL, 0);
	ck_assert_int_eq(len, RHDR);
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), 0);
	ck_assert_uint_eq(h.len, 0);
	/* the largest part fits in a message body; one byte more does not */
	memset(big, 'z', ADMINQ_DATA_MAX + 1);
	len = adminq_encode_reply(&msg, 2, 1, ADMINQ_OK, 0, true, big, ADMINQ_DATA_MAX);
	ck_assert_int_eq(len, ADMINQ_MSG_MAX);
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), 0);
	ck_assert_uint_eq(h.len, ADMINQ_DATA_MAX);
	ck_assert_int_eq(adminq_encode_reply(&msg, 2, 1, ADMINQ_OK, 0, true, big,
	    ADMINQ_DATA_MAX + 1), -E2BIG);
	free(big);
}
END_TEST

START_TEST(reply_reject)
{
	struct adminq_reply_hdr h, *hp = (struct adminq_reply_hdr *)msg.body;
	const char *data;
	ssize_t len = adminq_encode_reply(&msg, 9, 1, ADMINQ_OK, 0, true, "abc", 3);

	for (ssize_t n = 0; n < RHDR; n++)
		ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)n, &h, &data), -EBADMSG);
	ck_assert_int_eq(adminq_decode_reply(&msg, sizeof msg.body + 1, &h, &data), -EBADMSG);
	/* len field against the message size */
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len - 1, &h, &data), -EBADMSG);
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len + 1, &h, &data), -EBADMSG);
	hp->len = 0xffffffffu;
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), -EBADMSG);
	hp->len = 3;
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), 0);
	hp->magic = 0x12345678;
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), -EBADMSG);
	hp->magic = ADMINQ_MAGIC;
	hp->version = ADMINQ_VERSION + 1;
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), -EBADMSG);
	/* a request with arguments is no reply (one without has the same size
	 * and magic: only the mtype tells them apart) */
	len = adminq_encode_req(&msg, ADMINQ_WALL, 100, 1, (const char *const[]){ "x" }, 1);
	ck_assert_int_eq(adminq_decode_reply(&msg, (size_t)len, &h, &data), -EBADMSG);
}
END_TEST

/* ---------------------------------------------------- reassembly */

/* split data into parts as the server does, feed them to r; last result */
static int
feed(struct ctl_reply *r, uint32_t id, unsigned status, const char *data, size_t len,
    size_t chunk)
{
	unsigned part = 0;
	size_t off = 0;
	int rc;

	do {
		size_t n = len - off < chunk ? len - off : chunk;
		bool last = off + n == len;
		ssize_t ml = adminq_encode_reply(&msg, 5, id, status, part++, last, data + off, n);

		ck_assert_int_gt(ml, 0);
		rc = ctl_reply_add(r, &msg, (size_t)ml);
		off += n;
		if (!last)
			ck_assert_int_eq(rc, 0);
	} while (off < len);
	return rc;
}

static int
add_part(struct ctl_reply *r, uint32_t id, unsigned status, unsigned part, bool last,
    const char *data)
{
	ssize_t ml = adminq_encode_reply(&msg, 5, id, status, part, last, data, strlen(data));

	ck_assert_int_gt(ml, 0);
	return ctl_reply_add(r, &msg, (size_t)ml);
}

START_TEST(reassemble_parts)
{
	struct ctl_reply r;
	size_t len = 0;
	char *big = malloc(200000);

	ck_assert_ptr_nonnull(big);
	/* a who of 1,000 clients: 25 parts of ADMINQ_DATA_MAX bytes */
	len += (size_t)sprintf(big, "nick\tuserhost\tchannels\tidle\tsince\tpid\tbytes_in\tbytes_out\n");
	for (int i = 0; i < 1000; i++)
		len += (size_t)sprintf(big + len,
		    "user%d\tu%d@127.0.0.1\t#a #b #chan%d\t%d\t1700000000\t%d\t%d\t%d\n",
		    i, i, i, i * 3, 20000 + i, i * 100, i * 1000);
	ctl_reply_init(&r, 42);
	ck_assert_int_eq(feed(&r, 42, ADMINQ_OK, big, len, ADMINQ_DATA_MAX), 1);
	ck_assert(r.done);
	ck_assert_uint_eq(r.status, ADMINQ_OK);
	ck_assert_uint_eq(r.len, len);
	ck_assert_uint_ge(r.next, len / ADMINQ_DATA_MAX);
	ck_assert_mem_eq(r.data, big, len);
	ck_assert_int_eq(r.data[r.len], '\0');
	/* nothing after the last part */
	ck_assert_int_eq(add_part(&r, 42, ADMINQ_OK, r.next + 1, true, "x"), -EBADMSG);
	ctl_reply_free(&r);

	/* a single empty part, and tiny parts */
	ctl_reply_init(&r, 7);
	ck_assert_int_eq(add_part(&r, 7, ADMINQ_REFUSED, 0, true, ""), 1);
	ck_assert_uint_eq(r.status, ADMINQ_REFUSED);
	ck_assert_uint_eq(r.len, 0);
	ctl_reply_free(&r);
	ctl_reply_init(&r, 8);
	ck_assert_int_eq(feed(&r, 8, ADMINQ_OK, "result\nkicked alice\n", 20, 1), 1);
	ck_assert_str_eq(r.data, "result\nkicked alice\n");
	ctl_reply_free(&r);
	free(big);
}
END_TEST

START_TEST(reassemble_stale)
{
	struct ctl_reply r;

	ctl_reply_init(&r, 1000);
	/* an earlier run's answer (same pid, other id) is skipped, wherever it is */
	ck_assert_int_eq(add_part(&r, 999, ADMINQ_OK, 0, false, "old\n"), 0);
	ck_assert_int_eq(add_part(&r, 1000, ADMINQ_OK, 0, false, "result\n"), 0);
	ck_assert_int_eq(add_part(&r, 999, ADMINQ_OK, 1, true, "stale\n"), 0);
	ck_assert_int_eq(add_part(&r, 1000, ADMINQ_OK, 1, true, "done"), 1);
	ck_assert_uint_eq(r.stale, 2);
	ck_assert_str_eq(r.data, "result\ndone");
	ctl_reply_free(&r);
}
END_TEST

START_TEST(reassemble_garbled)
{
	struct ctl_reply r;

	/* a gap */
	ctl_reply_init(&r, 1);
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_OK, 0, false, "a"), 0);
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_OK, 2, true, "c"), -EBADMSG);
	ctl_reply_free(&r);
	/* a repeat */
	ctl_reply_init(&r, 1);
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_OK, 0, false, "a"), 0);
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_OK, 0, false, "a"), -EBADMSG);
	ctl_reply_free(&r);
	/* not starting at 0 */
	ctl_reply_init(&r, 1);
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_OK, 1, true, "b"), -EBADMSG);
	ctl_reply_free(&r);
	/* the status changes half-way */
	ctl_reply_init(&r, 1);
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_OK, 0, false, "a"), 0);
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_REFUSED, 1, true, "b"), -EBADMSG);
	ctl_reply_free(&r);
	/* no part number left */
	ctl_reply_init(&r, 1);
	r.next = UINT16_MAX;
	r.status = ADMINQ_OK;
	ck_assert_int_eq(add_part(&r, 1, ADMINQ_OK, UINT16_MAX, false, "a"), -EBADMSG);
	ctl_reply_free(&r);
	/* a short message, bad magic, bad length */
	ctl_reply_init(&r, 1);
	adminq_encode_reply(&msg, 5, 1, ADMINQ_OK, 0, true, "abc", 3);
	ck_assert_int_eq(ctl_reply_add(&r, &msg, RHDR - 1), -EBADMSG);
	ck_assert_int_eq(ctl_reply_add(&r, &msg, RHDR + 2), -EBADMSG);
	((struct adminq_reply_hdr *)msg.body)->magic = 1;
	ck_assert_int_eq(ctl_reply_add(&r, &msg, RHDR + 3), -EBADMSG);
	/* another protocol version: say which */
	adminq_encode_reply(&msg, 5, 1, ADMINQ_OK, 0, true, "abc", 3);
	((struct adminq_reply_hdr *)msg.body)->version = 7;
	ck_assert_int_eq(ctl_reply_add(&r, &msg, RHDR + 3), -EPROTO);
	ck_assert_uint_eq(r.peer_version, 7);
	ctl_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ tables */

START_TEST(table_parse)
{
	struct ctl_table t;
	static const char d1[] = "nick\tuserhost\tchannels\nalice\ta@h\t#a #b\nbob\tb@h\n";
	static const char d2[] = "motd\nline one\n\nline three";

	ck_assert_int_eq(ctl_table_parse(&t, d1, strlen(d1)), 0);
	ck_assert_int_eq(t.ncols, 3);
	ck_assert_int_eq(t.nrows, 2);
	ck_assert_str_eq(t.cols[2], "channels");
	ck_assert_int_eq(ctl_table_col(&t, "userhost"), 1);
	ck_assert_int_eq(ctl_table_col(&t, "nope"), -1);
	ck_assert_str_eq(ctl_table_cell(&t, 0, 2), "#a #b");
	ck_assert_str_eq(ctl_table_cell(&t, 1, 0), "bob");
	ck_assert_str_eq(ctl_table_cell(&t, 1, 2), "");	/* missing field */
	ck_assert_str_eq(ctl_table_cell(&t, 2, 0), "");	/* out of range */
	ck_assert_str_eq(ctl_table_cell(&t, 0, -1), "");
	ctl_table_free(&t);

	/* empty rows inside are rows; no trailing newline is fine too */
	ck_assert_int_eq(ctl_table_parse(&t, d2, strlen(d2)), 0);
	ck_assert_int_eq(t.nrows, 3);
	ck_assert_str_eq(ctl_table_cell(&t, 1, 0), "");
	ck_assert_str_eq(ctl_table_cell(&t, 2, 0), "line three");
	ctl_table_free(&t);

	/* extra fields are dropped */
	ck_assert_int_eq(ctl_table_parse(&t, "a\tb\n1\t2\t3\t4\n", 12), 0);
	ck_assert_int_eq(t.ncols, 2);
	ck_assert_str_eq(ctl_table_cell(&t, 0, 1), "2");
	ctl_table_free(&t);

	/* only the header: no rows */
	ck_assert_int_eq(ctl_table_parse(&t, "result\n", 7), 0);
	ck_assert_int_eq(t.nrows, 0);
	ctl_table_free(&t);

	/* no header, or a NUL inside */
	ck_assert_int_eq(ctl_table_parse(&t, "", 0), -EBADMSG);
	ck_assert_int_eq(ctl_table_parse(&t, "\n", 1), -EBADMSG);
	ck_assert_int_eq(ctl_table_parse(&t, "a\n\0b\n", 5), -EBADMSG);
	ctl_table_free(&t);
}
END_TEST

/* ------------------------------------------------------------ output */

START_TEST(fmt_human)
{
	char b[64];

	ctl_fmt_bytes(b, sizeof b, 0);
	ck_assert_str_eq(b, "0 B");
	ctl_fmt_bytes(b, sizeof b, 1023);
	ck_assert_str_eq(b, "1023 B");
	ctl_fmt_bytes(b, sizeof b, 1024);
	ck_assert_str_eq(b, "1.0 KiB");
	ctl_fmt_bytes(b, sizeof b, 1536);
	ck_assert_str_eq(b, "1.5 KiB");
	ctl_fmt_bytes(b, sizeof b, 8388608);
	ck_assert_str_eq(b, "8.0 MiB");
	ctl_fmt_bytes(b, sizeof b, 1048575);
	ck_assert_str_eq(b, "1.0 MiB");
	ctl_fmt_bytes(b, sizeof b, 25300992);
	ck_assert_str_eq(b, "24.1 MiB");
	ctl_fmt_bytes(b, sizeof b, 0xffffffffffffffffull);
	ck_assert_str_eq(b, "16.0 EiB");

	ctl_fmt_duration(b, sizeof b, 0);
	ck_assert_str_eq(b, "0s");
	ctl_fmt_duration(b, sizeof b, 59);
	ck_assert_str_eq(b, "59s");
	ctl_fmt_duration(b, sizeof b, 60);
	ck_assert_str_eq(b, "1m 00s");
	ctl_fmt_duration(b, sizeof b, 7390);
	ck_assert_str_eq(b, "2h 03m 10s");
	ctl_fmt_duration(b, sizeof b, 90061);
	ck_assert_str_eq(b, "1d 01h 01m");

	setenv("TZ", "UTC", 1);
	tzset();
	ctl_fmt_time(b, sizeof b, 1700000000);
	ck_assert_str_eq(b, "2023-11-14 22:13:20");
}
END_TEST

START_TEST(fmt_cells)
{
	char *s;

	s = ctl_format(CTL_LIST, "");
	ck_assert_str_eq(s, "-");
	free(s);
	s = ctl_format(CTL_LIST, "#a #b");
	ck_assert_str_eq(s, "#a #b");
	free(s);
	s = ctl_format(CTL_BYTES, "2048");
	ck_assert_str_eq(s, "2.0 KiB");
	free(s);
	/* not a number after all: shown as it is */
	s = ctl_format(CTL_BYTES, "lots");
	ck_assert_str_eq(s, "lots");
	free(s);
	s = ctl_format(CTL_DURATION, "-5");
	ck_assert_str_eq(s, "-5");
	free(s);
	s = ctl_format(CTL_DURATION, "99999999999999999999999");
	ck_assert_str_eq(s, "99999999999999999999999");
	free(s);
	s = ctl_format(CTL_TEXT, "evil\x1b]0;title\x07 topic");
	ck_assert_str_eq(s, "evil?]0;title? topic");
	free(s);
}
END_TEST

START_TEST(sanitize)
{
	size_t w;
	char *s;

	s = ctl_sanitize("h\xc3\xa9llo", &w);
	ck_assert_str_eq(s, "h\xc3\xa9llo");
	ck_assert_uint_eq(w, 5);
	free(s);
	/* C0, DEL, C1 (CSI as U+009B), invalid and truncated sequences */
	s = ctl_sanitize("a\x1b[31mb\x7f\xc2\x9b" "c\xff\xe2\x82", &w);
	ck_assert_str_eq(s, "a?[31mb??c???");
	ck_assert_uint_eq(w, 13);
	free(s);
	/* overlong '/', a surrogate, past U+10FFFF */
	s = ctl_sanitize("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xf0\x9f\x98\x80", &w);
	ck_assert_str_eq(s, "??|???|????|\xf0\x9f\x98\x80");
	free(s);
}
END_TEST

/* what f wrote, as a string (static buffer) */
static char *
capture_end(FILE *f, char **buf)
{
	fclose(f);
	return *buf;
}

START_TEST(json_values)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert(ctl_json_is_number("0"));
	ck_assert(ctl_json_is_number("1234567"));
	ck_assert(ctl_json_is_number("999999999999999"));
	ck_assert(!ctl_json_is_number("1000000000000000"));
	ck_assert(!ctl_json_is_number(""));
	ck_assert(!ctl_json_is_number("007"));
	ck_assert(!ctl_json_is_number("-1"));
	ck_assert(!ctl_json_is_number("1.5"));
	ck_assert(!ctl_json_is_number("12a"));
	ck_assert(!ctl_json_is_number(" 1"));

	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ctl_json_string(f, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f \xc3\xa9\xff\xc0\xaf\xed\xa0\x80 \xf0\x9f\x98\x80");
	fputc('|', f);
	ctl_json_value(f, CTL_NUM, "42");
	fputc('|', f);
	ctl_json_value(f, CTL_NUM, "042");
	fputc('|', f);
	ctl_json_value(f, CTL_TEXT, "42");
	fputc('|', f);
	ctl_json_value(f, CTL_BYTES, "");
	capture_end(f, &buf);
	ck_assert_str_eq(buf,
	    "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f \xc3\xa9"
	    "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80\""
	    "|42|\"042\"|\"42\"|\"\"");
	free(buf);
}
END_TEST

static const struct ctl_col t_cols[] = {
	{ "nick", "NICK", CTL_TEXT },
	{ "idle", "IDLE", CTL_DURATION },
	{ "bytes_in", "IN", CTL_BYTES },
	{ "channels", "CHANNELS", CTL_LIST },
	{ "absent", "NOT SENT", CTL_NUM },
};

START_TEST(print_table)
{
	static const char d[] = "nick\tidle\tbytes_in\tchannels\textra\n"
	    "alice\t5\t100\t#a #b\tx\n"
	    "b\xc3\xb6" "b\t3700\t2048\t\ty\n";
	struct ctl_table t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(ctl_table_parse(&t, d, strlen(d)), 0);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(ctl_print_table(f, &t, t_cols, 5), 0);
	capture_end(f, &buf);
	ck_assert_str_eq(buf,
	    "NICK         IDLE       IN  CHANNELS\n"
	    "alice          5s    100 B  #a #b\n"
	    "b\xc3\xb6" "b    1h 01m 40s  2.0 KiB  -\n");
	free(buf);

	/* JSON: every column sent, typed by the known ones */
	buf = NULL;
	f = open_memstream(&buf, &len);
	ctl_print_json_rows(f, &t, t_cols, 5);
	capture_end(f, &buf);
	ck_assert_str_eq(buf,
	    "[\n"
	    "  {\"nick\": \"alice\", \"idle\": 5, \"bytes_in\": 100, \"channels\": \"#a #b\", "
	    "\"extra\": \"x\"},\n"
	    "  {\"nick\": \"b\xc3\xb6" "b\", \"idle\": 3700, \"bytes_in\": 2048, \"channels\": \"\", "
	    "\"extra\": \"y\"}\n"
	    "]\n");
	free(buf);
	ctl_table_free(&t);

	/* no rows */
	ck_assert_int_eq(ctl_table_parse(&t, "nick\tidle\n", 10), 0);
	buf = NULL;
	f = open_memstream(&buf, &len);
	ctl_print_json_rows(f, &t, t_cols, 5);
	capture_end(f, &buf);
	ck_assert_str_eq(buf, "[]\n");
	free(buf);
	ctl_table_free(&t);
}
END_TEST

START_TEST(print_json_object)
{
	static const struct ctl_col keys[] = {
		{ "version", "version", CTL_TEXT },
		{ "pid", "pid", CTL_NUM },
	};
	static const char d[] = "key\tvalue\nversion\t1\npid\t123\nnew_key\t77\nname\t0x1\n";
	struct ctl_table t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(ctl_table_parse(&t, d, strlen(d)), 0);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(ctl_print_json_object(f, &t, keys, 2), 0);
	capture_end(f, &buf);
	ck_assert_str_eq(buf, "{\n  \"version\": \"1\",\n  \"pid\": 123,\n  \"new_key\": 77,\n"
	    "  \"name\": \"0x1\"\n}\n");
	free(buf);
	ctl_table_free(&t);

	ck_assert_int_eq(ctl_table_parse(&t, "a\tb\n", 4), 0);
	buf = NULL;
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(ctl_print_json_object(f, &t, keys, 2), -EBADMSG);
	capture_end(f, &buf);
	free(buf);
	ctl_table_free(&t);
}
END_TEST

/* ------------------------------------------------------------- queue */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* unchecked teardown: remove every queue a test may have left */
static void
remove_test_queues(void)
{
	for (int i = 0; i < 16; i++) {
		int q = msgget(g_key_base + i, 0);

		if (q >= 0)
			msgctl(q, IPC_RMID, NULL);
	}
}

START_TEST(queue_create_open)
{
	key_t key = g_key_base + 1;
	struct msqid_ds ds;
	bool replaced = true;
	int q, q2;

	ck_assert_int_eq(adminq_open(key), -ENOENT);
	q = adminq_create(key, getgid(), &replaced);
	ck_assert_int_ge(q, 0);
	ck_assert(!replaced);
	ck_assert_int_eq(msgctl(q, IPC_STAT, &ds), 0);
	ck_assert_uint_eq(ds.msg_perm.mode & 0777, 0660);
	ck_assert_uint_eq(ds.msg_perm.gid, getgid());
	ck_assert_int_eq(adminq_open(key), q);

	/* left behind (nobody ever received from it): stale, replaced */
	q2 = adminq_create(key, (gid_t)-1, &replaced);
	ck_assert_int_ge(q2, 0);
	ck_assert(replaced);
	ck_assert_int_eq(msgctl(q, IPC_STAT, &ds), -1);
	ck_assert(errno == EINVAL || errno == EIDRM);
	ck_assert_int_eq(adminq_open(key), q2);

	adminq_remove(q2);
	ck_assert_int_eq(adminq_open(key), -ENOENT);
	adminq_remove(-1);	/* harmless */
}
END_TEST

/* a queue whose last reader is a live "shmchatd" is in use */
START_TEST(queue_in_use)
{
	key_t key = g_key_base + 2;
	bool replaced;
	int q = adminq_create(key, (gid_t)-1, &replaced), pfd[2], st;
	pid_t child;
	char c;

	ck_assert_int_ge(q, 0);
	ck_assert_int_eq(pipe(pfd), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct adminq_msg m;

		prctl(PR_SET_NAME, "shmchatd");
		close(pfd[0]);
		if (msgrcv(q, &m, sizeof m.body, 1, 0) < 0)
			_exit(1);
		if (write(pfd[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	msg.mtype = 1;
	ck_assert_int_eq(adminq_send(q, &msg, 4), 0);
	ck_assert_int_eq(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	ck_assert_int_eq(adminq_create(key, (gid_t)-1, &replaced), -EADDRINUSE);
	ck_assert_int_eq(adminq_open(key), q);
	kill(child, SIGKILL);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	/* now it is stale */
	q = adminq_create(key, (gid_t)-1, &replaced);
	ck_assert_int_ge(q, 0);
	ck_assert(replaced);
	adminq_remove(q);
}
END_TEST

START_TEST(queue_send_recv)
{
	key_t key = g_key_base + 3;
	bool replaced;
	int q = adminq_create(key, (gid_t)-1, &replaced);
	static const char *const args[] = { "alice", "bye" };
	struct adminq_msg *in = malloc(sizeof *in);
	struct ctl_reply r;
	ssize_t len, n;
	long long t0;

	ck_assert_int_ge(q, 0);
	ck_assert_ptr_nonnull(in);
	/* a request goes out on mtype 1 and comes back whole */
	len = adminq_encode_req(&msg, ADMINQ_KICK, getpid(), 5, args, 2);
	ck_assert_int_eq(adminq_send(q, &msg, (size_t)len), 0);
	n = adminq_recv(q, in, ADMINQ_MTYPE_REQUEST, 1000);
	ck_assert_int_eq(n, len);
	ck_assert_int_eq(in->mtype, ADMINQ_MTYPE_REQUEST);
	ck_assert_int_eq(adminq_decode_req(in, (size_t)n, &req), 0);
	ck_assert_str_eq(req.args[1], "bye");

	/* nothing there: a timeout, after about that long */
	t0 = now_ms();
	ck_assert_int_eq(adminq_recv(q, in, 12345, 60), -ETIMEDOUT);
	ck_assert_int_ge(now_ms() - t0, 60);
	ck_assert_int_lt(now_ms() - t0, 1000);
	ck_assert_int_eq(adminq_recv(q, in, 12345, 0), -ETIMEDOUT);

	/* a multi-part answer with a stale part in between, through the queue */
	adminq_encode_reply(&msg, 12345, 9, ADMINQ_OK, 0, false, "result\n", 7);
	ck_assert_int_eq(adminq_send(q, &msg, RHDR + 7), 0);
	adminq_encode_reply(&msg, 12345, 8, ADMINQ_OK, 0, true, "old\n", 4);
	ck_assert_int_eq(adminq_send(q, &msg, RHDR + 4), 0);
	adminq_encode_reply(&msg, 12345, 9, ADMINQ_OK, 1, true, "ok\n", 3);
	ck_assert_int_eq(adminq_send(q, &msg, RHDR + 3), 0);
	/* someone else's reply is not ours to take */
	adminq_encode_reply(&msg, 54321, 9, ADMINQ_OK, 0, true, "other\n", 6);
	ck_assert_int_eq(adminq_send(q, &msg, RHDR + 6), 0);
	ctl_reply_init(&r, 9);
	do {
		n = adminq_recv(q, in, 12345, 1000);
		ck_assert_int_gt(n, 0);
	} while (ctl_reply_add(&r, in, (size_t)n) == 0);
	ck_assert(r.done);
	ck_assert_str_eq(r.data, "result\nok\n");
	ck_assert_uint_eq(r.stale, 1);
	ctl_reply_free(&r);
	ck_assert_int_eq(adminq_purge(q, 12345), 0);
	ck_assert_int_eq(adminq_purge(q, 54321), 1);

	/* purge takes all of one mtype and only those */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(adminq_send(q, &msg, RHDR + 6), 0);
	msg.mtype = 777;
	ck_assert_int_eq(adminq_send(q, &msg, RHDR + 6), 0);
	ck_assert_int_eq(adminq_purge(q, 54321), 3);
	ck_assert_int_eq(adminq_recv(q, in, 777, 0), RHDR + 6);
	free(in);
	adminq_remove(q);
}
END_TEST

START_TEST(queue_full)
{
	key_t key = g_key_base + 4;
	bool replaced;
	int q = adminq_create(key, (gid_t)-1, &replaced);
	struct msqid_ds ds;

	ck_assert_int_ge(q, 0);
	ck_assert_int_eq(msgctl(q, IPC_STAT, &ds), 0);
	ds.msg_qbytes = 100;
	ck_assert_int_eq(msgctl(q, IPC_SET, &ds), 0);
	msg.mtype = 5;
	ck_assert_int_eq(adminq_send(q, &msg, 60), 0);
	/* never blocks: a full queue says so */
	ck_assert_int_eq(adminq_send(q, &msg, 60), -EAGAIN);
	adminq_remove(q);
	ck_assert_int_lt(adminq_send(q, &msg, 10), 0);
}
END_TEST

START_TEST(queue_removed)
{
	key_t key = g_key_base + 5;
	bool replaced;
	int q = adminq_create(key, (gid_t)-1, &replaced), st;
	struct adminq_msg *in;
	pid_t child;
	ssize_t n;

	ck_assert_int_ge(q, 0);
	/* a blocking receive ends when the queue goes away */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct timespec ts = { 0, 200000000 };

		nanosleep(&ts, NULL);
		msgctl(q, IPC_RMID, NULL);
		_exit(0);
	}
	in = malloc(sizeof *in);
	ck_assert_ptr_nonnull(in);
	n = adminq_recv(q, in, 5, -1);
	ck_assert(n == -EIDRM || n == -EINVAL);	/* EINVAL: gone before we blocked */
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	/* and a polling one on a queue that is gone fails at once */
	n = adminq_recv(q, in, 5, 1000);
	ck_assert(n == -EINVAL || n == -EIDRM);
	free(in);
}
END_TEST

/* ------------------------------------------------------------- main */

static Suite *
adminq_suite(void)
{
	Suite *s = suite_create("adminq");
	TCase *tc;

	tc = tcase_create("requests");
	tcase_add_test(tc, cmd_names);
	tcase_add_test(tc, req_roundtrip_all);
	tcase_add_test(tc, req_encode_limits);
	tcase_add_test(tc, req_reject_size);
	tcase_add_test(tc, req_reject_magic);
	tcase_add_test(tc, req_reject_version);
	tcase_add_test(tc, req_reject_pid);
	tcase_add_test(tc, req_reject_cmd);
	tcase_add_test(tc, req_reject_nargs);
	tcase_add_test(tc, req_chanmode_args);
	tcase_add_test(tc, req_reject_unterminated);
	tcase_add_test(tc, req_reject_argslen);
	tcase_add_test(tc, req_fuzz);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_test(tc, reply_roundtrip);
	tcase_add_test(tc, reply_reject);
	tcase_add_test(tc, reassemble_parts);
	tcase_add_test(tc, reassemble_stale);
	tcase_add_test(tc, reassemble_garbled);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_test(tc, table_parse);
	tcase_add_test(tc, fmt_human);
	tcase_add_test(tc, fmt_cells);
	tcase_add_test(tc, sanitize);
	tcase_add_test(tc, json_values);
	tcase_add_test(tc, print_table);
	tcase_add_test(tc, print_json_object);
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_add_unchecked_fixture(tc, remove_test_queues, remove_test_queues);
	tcase_add_test(tc, queue_create_open);
	tcase_add_test(tc, queue_in_use);
	tcase_add_test(tc, queue_send_recv);
	tcase_add_test(tc, queue_full);
	tcase_add_test(tc, queue_removed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* 0x5d000000 + pid: unlike check_admin's keys and the default one */
	g_key_base = (key_t)(0x5d000000 + (getpid() & 0xffff) * 16);
	sr = srunner_create(adminq_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_test_queues();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
