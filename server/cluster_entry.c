/* cluster_entry: encoding and checking the network log's entries */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cluster_entry.h"
#include "irc.h"
#include "ring.h"

/*
 * Fields, one or two letters each (every entry is stored in Redis):
 *   v protocol  n node  i incarnation  s sequence  t time  k kind
 *   u slot.gen (USER REQ MSG GONE)
 *   h host  l tls (0/1)  c connected_at (USER)
 *   q the request's id, a0..a16 its name and arguments (REQ)
 *   mk mf mt mp the record's target kind, flags, target name, lines (MSG)
 *   dn di the dead node and incarnation (DEAD)
 *   sa sb the HELLO answered and the state (SNAP)
 */

static int
argv_add(struct cluster_argv *a, const char *p, size_t len)
{
	if (a->argc >= CLUSTER_ENTRY_ARGV)
		return -EINVAL;
	a->argv[a->argc] = p;
	a->len[a->argc++] = len;
	return 0;
}

static int
argv_pair(struct cluster_argv *a, const char *field, const char *p, size_t len)
{
	if (argv_add(a, field, strlen(field)) < 0)
		return -EINVAL;
	return argv_add(a, p, len);
}

static int
argv_num(struct cluster_argv *a, const char *field, const char *fmt, uint64_t v)
{
	char *b;

	if (a->nnum >= (int)(sizeof a->num / sizeof *a->num))
		return -EINVAL;
	b = a->num[a->nnum++];
	snprintf(b, sizeof a->num[0], fmt, v);
	return argv_pair(a, field, b, strlen(b));
}

static int
argv_snum(struct cluster_argv *a, const char *field, int64_t v)
{
	char *b;

	if (a->nnum >= (int)(sizeof a->num / sizeof *a->num))
		return -EINVAL;
	b = a->num[a->nnum++];
	snprintf(b, sizeof a->num[0], "%" PRId64, v);
	return argv_pair(a, field, b, strlen(b));
}

static int
argv_str(struct cluster_argv *a, const char *field, struct cluster_str s)
{
	return argv_pair(a, field, s.p != NULL ? s.p : "", s.len);
}

int
cluster_entry_encode(const struct cluster_entry *e, struct cluster_argv *a)
{
	static const char *const argfield[1 + IPC_REQ_ARGS] = {
		"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8",
		"a9", "a10", "a11", "a12", "a13", "a14", "a15", "a16",
	};
	/* static: argv points at it until the command is sent */
	static const char kinds[] = "JURMXDS";
	const char *kind = strchr(kinds, (char)e->kind);
	int rc = 0;

	if (kind == NULL || *kind == '\0')
		return -EINVAL;
	a->nnum = 0;
	/* the kind first: a reader (and a person reading XRANGE) sees it at once */
	rc |= argv_pair(a, "k", kind, 1);
	rc |= argv_pair(a, "v", CLUSTER_PROTO, strlen(CLUSTER_PROTO));
	rc |= argv_str(a, "n", e->node);
	rc |= argv_num(a, "i", "%" PRIx64, e->inc);
	rc |= argv_num(a, "s", "%" PRIu64, e->seq);
	rc |= argv_snum(a, "t", e->time);
	if (rc != 0)
		return -EINVAL;
	if (e->kind == CLUSTER_USER || e->kind == CLUSTER_REQ || e->kind == CLUSTER_MSG ||
	    e->kind == CLUSTER_GONE) {
		char *b;
		if (a->nnum >= (int)(sizeof a->num / sizeof *a->num))
			return -EINVAL;
		b = a->num[a->nnum++];
		snprintf(b, sizeof a->num[0], "%" PRIu32 ".%" PRIu32, e->slot, e->gen);
		rc |= argv_pair(a, "u", b, strlen(b));
	}
	switch (e->kind) {
	case CLUSTER_USER:
		rc |= argv_str(a, "h", e->host);
		rc |= argv_pair(a, "l", e->tls ? "1" : "0", 1);
		rc |= argv_snum(a, "c", e->connected_at);
		break;
	case CLUSTER_REQ:
		if (e->nargs < 1 || e->nargs > 1 + IPC_REQ_ARGS)
			return -EINVAL;
		rc |= argv_num(a, "q", "%" PRIu64, e->req_id);
		for (int i = 0; i < e->nargs; i++)
			rc |= argv_str(a, argfield[i], e->args[i]);
		break;
	case CLUSTER_MSG:
		rc |= argv_num(a, "mk", "%" PRIu64, e->msg_kind);
		rc |= argv_num(a, "mf", "%" PRIu64, e->msg_flags);
		if (e->msg_caps != 0)
			rc |= argv_num(a, "mc", "%" PRIu64, e->msg_caps);
		rc |= argv_str(a, "mt", e->target);
		rc |= argv_str(a, "mp", e->payload);
		break;
	case CLUSTER_DEAD:
		rc |= argv_str(a, "dn", e->dead);
		rc |= argv_num(a, "di", "%" PRIx64, e->dead_inc);
		break;
	case CLUSTER_SNAP:
		rc |= argv_str(a, "sa", e->answers);
		rc |= argv_str(a, "sb", e->blob);
		break;
	case CLUSTER_HELLO:
	case CLUSTER_GONE:
		break;
	}
	return rc != 0 ? -EINVAL : 0;
}

bool
cluster_entry_name_ok(const char *s, size_t len)
{
	if (len < 1 || len > CLUSTER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* a whole decimal (or hex) number of at most 20 digits */
static bool
num_parse(struct cluster_str s, int base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s.len < 1 || s.len > 20)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned d;
		char c = s.p[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / (unsigned)base)
			return false;
		v = v * (unsigned)base + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* "-123" or "123" within int64 */
static bool
int_parse(struct cluster_str s, int64_t *out)
{
	uint64_t v;
	bool neg = s.len > 0 && s.p[0] == '-';
	struct cluster_str d = { s.p + neg, s.len - neg };

	if (!num_parse(d, 10, (uint64_t)INT64_MAX, &v))
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool
has_byte(struct cluster_str s, const char *set)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == '\0' || strchr(set, s.p[i]) != NULL)
			return true;
	return false;
}

/* lines as a record carries them: each ends with CR LF, no NUL, no bare CR or LF */
static bool
lines_ok(struct cluster_str s)
{
	size_t start = 0;

	if (s.len == 0 || s.len > CLUSTER_PAYLOAD_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '\0')
			return false;
		if (c == '\r') {
			if (i + 1 >= s.len || s.p[i + 1] != '\n' || i == start ||
			    i + 2 - start > CLUSTER_LINE_MAX)
				return false;
			start = i + 2;
			i++;
		} else if (c == '\n')
			return false;
	}
	return start == s.len;
}

static const struct cluster_str *
field(const struct cluster_str *fv, size_t nf, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + 1 < nf; i += 2)
		if (fv[i].len == n && memcmp(fv[i].p, name, n) == 0)
			return &fv[i + 1];
	return NULL;
}

#define FAIL(msg)	do { *why = (msg); return -EPROTO; } while (0)

static int
decode_user_ref(struct cluster_entry *e, const struct cluster_str *u, const char **why)
{
	const char *dot;
	uint64_t slot, gen;

	if (u == NULL || u->len > 21 || (dot = memchr(u->p, '.', u->len)) == NULL)
		FAIL("no client (u)");
	if (!num_parse((struct cluster_str){ u->p, (size_t)(dot - u->p) }, 10, UINT32_MAX,
	    &slot) || !num_parse((struct cluster_str){ dot + 1,
	    u->len - (size_t)(dot + 1 - u->p) }, 10, UINT32_MAX, &gen))
		FAIL("bad client (u)");
	e->slot = (uint32_t)slot;
	e->gen = (uint32_t)gen;
	return 0;
}

static int
decode_kind(struct cluster_entry *e, const struct cluster_str *fv, size_t nf, const char **why)
{
	const struct cluster_str *f, *g;
	uint64_t v;

	switch (e->kind) {
	case CLUSTER_USER:
		/* an IPv6 address has colons, never a leading one (a trailing parameter) */
		if ((f = field(fv, nf, "h")) == NULL || f->len < 1 || f->len > IRC_HOST_MAX ||
		    has_byte(*f, " \r\n!@,") || f->p[0] == ':')
			FAIL("bad host (h)");
		e->host = *f;
		if ((f = field(fv, nf, "l")) == NULL || f->len != 1 || (f->p[0] != '0' &&
		    f->p[0] != '1'))
			FAIL("bad tls flag (l)");
		e->tls = f->p[0] == '1';
		if ((f = field(fv, nf, "c")) == NULL || !int_parse(*f, &e->connected_at))
			FAIL("bad connection time (c)");
		return 0;
	case CLUSTER_REQ:
		if ((f = field(fv, nf, "q")) == NULL || !num_parse(*f, 10, UINT32_MAX, &v))
			FAIL("bad request id (q)");
		e->req_id = (uint32_t)v;
		e->nargs = 0;
		for (int i = 0; i <= IPC_REQ_ARGS; i++) {
			char name[8];
			snprintf(name, sizeof name, "a%d", i);
			if ((f = field(fv, nf, name)) == NULL)
				break;
			if (f->len > CLUSTER_ARG_MAX || has_byte(*f, "\r\n"))
				FAIL("bad request argument");
			e->args[e->nargs++] = *f;
		}
		if (e->nargs < 1 || e->args[0].len < 1 || e->args[0].len > 16 ||
		    has_byte(e->args[0], " "))
			FAIL("no request name (a0)");
		return 0;
	case CLUSTER_MSG:
		if ((f = field(fv, nf, "mk")) == NULL || !num_parse(*f, 10, 255, &v) ||
		    (v != RING_MSG_CHAN && v != RING_TO_NICK))
			FAIL("bad message kind (mk)");
		e->msg_kind = (uint8_t)v;
		if ((f = field(fv, nf, "mf")) == NULL || !num_parse(*f, 10, 255, &v))
			FAIL("bad message flags (mf)");
		e->msg_flags = (uint8_t)v;
		/* optional: absent from the entries of nodes before IRCv3 */
		if ((f = field(fv, nf, "mc")) != NULL) {
			if (!num_parse(*f, 10, UINT16_MAX, &v))
				FAIL("bad message capabilities (mc)");
			e->msg_caps = (uint16_t)v;
		}
		if ((f = field(fv, nf, "mt")) == NULL || f->len < 1 || f->len > IRC_CHAN_MAX ||
		    has_byte(*f, " \r\n,"))
			FAIL("bad message target (mt)");
		e->target = *f;
		if ((g = field(fv, nf, "mp")) == NULL || !lines_ok(*g))
			FAIL("bad message lines (mp)");
		e->payload = *g;
		return 0;
	case CLUSTER_DEAD:
		if ((f = field(fv, nf, "dn")) == NULL || !cluster_entry_name_ok(f->p, f->len))
			FAIL("bad dead node (dn)");
		e->dead = *f;
		if ((f = field(fv, nf, "di")) == NULL || !num_parse(*f, 16, UINT64_MAX, &e->dead_inc))
			FAIL("bad dead incarnation (di)");
		return 0;
	case CLUSTER_SNAP:
		if ((f = field(fv, nf, "sa")) == NULL || f->len < 3 || f->len > 41 ||
		    has_byte(*f, " \r\n"))
			FAIL("bad answered hello (sa)");
		e->answers = *f;
		if ((f = field(fv, nf, "sb")) == NULL || f->len > CLUSTER_BLOB_MAX)
			FAIL("bad state (sb)");
		e->blob = *f;
		return 0;
	case CLUSTER_HELLO:
	case CLUSTER_GONE:
		return 0;
	}
	FAIL("unknown kind");
}

int
cluster_entry_decode(struct cluster_entry *e, const struct cluster_str *fv, size_t nf,
    const char **why)
{
	const struct cluster_str *f;
	uint64_t v;

	memset(e, 0, sizeof *e);
	if ((f = field(fv, nf, "v")) == NULL || f->len != strlen(CLUSTER_PROTO) ||
	    memcmp(f->p, CLUSTER_PROTO, f->len) != 0)
		FAIL("unknown protocol version (v)");
	if ((f = field(fv, nf, "k")) == NULL || f->len != 1 || strchr("JURMXDS", f->p[0]) == NULL ||
	    f->p[0] == '\0')
		FAIL("unknown kind (k)");
	e->kind = (enum cluster_kind)f->p[0];
	if ((f = field(fv, nf, "n")) == NULL || !cluster_entry_name_ok(f->p, f->len))
		FAIL("bad node name (n)");
	e->node = *f;
	if ((f = field(fv, nf, "i")) == NULL || !num_parse(*f, 16, UINT64_MAX, &e->inc))
		FAIL("bad incarnation (i)");
	if ((f = field(fv, nf, "s")) == NULL || !num_parse(*f, 10, UINT64_MAX, &v))
		FAIL("bad sequence (s)");
	e->seq = v;
	if ((f = field(fv, nf, "t")) == NULL || !int_parse(*f, &e->time))
		FAIL("bad time (t)");
	if (e->kind == CLUSTER_USER || e->kind == CLUSTER_REQ || e->kind == CLUSTER_MSG ||
	    e->kind == CLUSTER_GONE) {
		int rc = decode_user_ref(e, field(fv, nf, "u"), why);
		if (rc < 0)
			return rc;
	}
	return decode_kind(e, fv, nf, why);
}
