/*
 * libFuzzer harness for the admin queue decoders: anything with write
 * access to the queue can put any bytes there, and the admin process and
 * shmchatctl hand them to adminq_decode_req() / adminq_decode_reply().
 * Built and run by tests/fuzz/run.sh (make fuzz).
 *
 * The body is copied into a buffer of exactly the received length, so
 * AddressSanitizer catches a read past what msgrcv() returned. Checks:
 * - a request that decodes has a known command, an argument count inside
 *   that command's range, a pid > 1, and arguments that are NUL-terminated
 *   strings inside the body; encoding it again gives the same bytes;
 * - -EPROTO (version mismatch) only with a usable pid;
 * - a reply that decodes has its data inside the body, and encodes back
 *   to the same bytes.
 */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adminq.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_adminq: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* a message holding exactly len body bytes (never more than the struct) */
static struct adminq_msg *exact_msg(const uint8_t *body, size_t len)
{
	size_t n = offsetof(struct adminq_msg, body) + len;
	struct adminq_msg *m = malloc(n ? n : 1);

	CHECK(m != NULL);
	m->mtype = ADMINQ_MTYPE_REQUEST;
	memcpy(m->body, body, len);
	return m;
}

static void check_req(const uint8_t *body, size_t len)
{
	struct adminq_msg *m = exact_msg(body, len);
	struct adminq_req r;
	int rc = adminq_decode_req(m, len, &r);

	CHECK(rc == 0 || rc == -EBADMSG || rc == -EPROTO);
	if (rc == -EPROTO)
		CHECK(r.pid > 1);
	if (rc == 0) {
		static struct adminq_msg again;
		const char *name = adminq_cmd_name(r.cmd);
		ssize_t n;

		CHECK(r.cmd > 0 && r.cmd < ADMINQ_CMD_MAX);
		CHECK(strcmp(name, "unknown") != 0);
		CHECK(adminq_cmd_from_name(name) == r.cmd);
		CHECK(r.pid > 1 && r.version == ADMINQ_VERSION);
		CHECK(r.nargs >= 0 && r.nargs <= 8);
		for (int i = 0; i < r.nargs; i++) {
			const char *a = r.args[i];

			CHECK(a >= m->body + sizeof(struct adminq_req_hdr) && a < m->body + len);
			CHECK(memchr(a, '\0', (size_t)(m->body + len - a)) != NULL);
		}
		n = adminq_encode_req(&again, r.cmd, r.pid, r.id, r.args, r.nargs);
		CHECK(n == (ssize_t)len);
		CHECK(memcmp(again.body, body, len) == 0);
	}
	free(m);
}

static void check_reply(const uint8_t *body, size_t len)
{
	struct adminq_msg *m = exact_msg(body, len);
	struct adminq_reply_hdr h;
	const char *data = NULL;
	int rc = adminq_decode_reply(m, len, &h, &data);

	CHECK(rc == 0 || rc == -EBADMSG);
	if (rc == 0) {
		static struct adminq_msg again;
		ssize_t n;

		CHECK(h.magic == ADMINQ_REPLY_MAGIC && h.version == ADMINQ_VERSION);
		CHECK(data == m->body + sizeof h);
		CHECK(sizeof h + h.len == len);
		if (h.flags == 0 || h.flags == ADMINQ_F_LAST) {
			n = adminq_encode_reply(&again, 1, h.id, h.status, h.part,
						h.flags == ADMINQ_F_LAST, data, h.len);
			CHECK(n == (ssize_t)len);
			CHECK(memcmp(again.body, body, len) == 0);
		}
	}
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a body longer than the buffer is refused before it is read */
	if (size > ADMINQ_MSG_MAX) {
		struct adminq_msg *m = exact_msg(data, ADMINQ_MSG_MAX);
		struct adminq_req r;
		struct adminq_reply_hdr h;
		const char *d;

		CHECK(adminq_decode_req(m, size, &r) == -EBADMSG);
		CHECK(adminq_decode_reply(m, size, &h, &d) == -EBADMSG);
		free(m);
		size = ADMINQ_MSG_MAX;
	}
	check_req(data, size);
	check_reply(data, size);
	return 0;
}
