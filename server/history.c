/*
 * history: recent chat lines per channel and per private conversation
 * (master only; see history.h).
 *
 * Layout, and why:
 * - Each line is one allocation (entry + text). All entries are on one
 *   list in the order they came (the ring's order): the globally oldest
 *   line is its head, so the byte bound and the age limit evict in O(1)
 *   a line. Within a target that order is also its time order, so the
 *   global head is always the oldest line of its own target.
 * - Each target keeps its entries in a ring of pointers (a power of two,
 *   doubling up to the lines bound), oldest first. Lines only ever leave
 *   a target at its old end, so the ring never has holes; selections
 *   binary-search it by time (times never go backwards in a target) and
 *   slice it: O(log n + limit), no list walking. A linked list would need
 *   a walk to find a position; the ring gives positions for free.
 * - One uthash table maps (target, msgid) to entries: a msgid reference
 *   is found in O(1), and each entry's sequence number (per target)
 *   minus the ring's first gives its position. One table for all
 *   targets, not one each: a table costs a bucket array, too much for
 *   the many conversations of a line or two.
 * - Conversations are keyed by the uid pair (lower first); each uid with
 *   conversations has a record listing them, latest first, which is what
 *   finding one by nick and TARGETS walk (a client's own, so a third uid
 *   can never reach it).
 * - Targets and uid records go as soon as they have no line, so nothing
 *   outlives the lines that bound it.
 *
 * Bytes: every entry counts its struct and text; every target its
 * struct, name and ring; every uid record its struct. Not counted: the
 * allocator's headers and the msgid table's buckets (a few bytes a line).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fields.h"
#include "hashtab.h"
#include "history.h"

#define HISTORY_RING_MIN	4	/* a conversation of a few lines stays small */
#define HISTORY_KEY_LEN	(sizeof(struct history_target *) + IRCTAGS_MSGID_LEN + 1)

struct history_entry {
	struct history_entry *older, *newer;	/* every line, in the order added */
	UT_hash_handle hh;	/* h->by_msgid (lines with a msgid only) */
	struct history_target *t;
	uint64_t seq;		/* per target: position + t->head_seq */
	int64_t ms;
	uint32_t len;
	bool has_msgid;
	/* the hash key: the target's address, then the msgid NUL-padded
	 * (bytes, not a struct, so no padding byte is ever part of it) */
	unsigned char key[HISTORY_KEY_LEN];
	char line[];		/* len bytes and a NUL */
};

struct history_party {
	uint64_t uid;
	struct history_target *prev, *next;	/* uid's conversations, latest first */
	bool linked;		/* on uid's list (never after it left) */
	bool gone;
	char nick[IRC_NICK_MAX + 1];	/* as of the last line */
};

struct history_target {
	UT_hash_handle hh;	/* h->chans (key: name) or h->convs (key: pair) */
	struct history_entry **ring;
	uint64_t head_seq;	/* seq of ring[head] */
	uint32_t head, count, cap;
	bool conv;
	size_t name_len;	/* channel */
	uint64_t pair[2];	/* conv: the parties' uids, the lower first */
	struct history_party party[2];	/* conv: party[i].uid == pair[i] */
	char name[];		/* channel: the folded name */
};

struct history_user {
	UT_hash_handle hh;	/* h->users */
	uint64_t uid;
	struct history_target *convs;	/* latest first */
};

struct history {
	struct history_limits lim;
	struct history_entry *oldest, *newest;
	struct history_entry *by_msgid;
	struct history_target *chans, *convs;
	struct history_user *users;
	uint64_t lines, bytes;
};

static size_t
history_entry_cost(size_t len)
{
	return sizeof(struct history_entry) + len + 1;
}

static size_t
history_target_cost(const struct history_target *t)
{
	return sizeof *t + (t->conv ? 0 : t->name_len + 1) + (size_t)t->cap * sizeof *t->ring;
}

/* wall clock, as the lines' times (the age limit applies to selections too) */
static int64_t
history_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
history_key(unsigned char *key, const struct history_target *t, const char *msgid)
{
	memset(key, 0, HISTORY_KEY_LEN);
	memcpy(key, &t, sizeof t);
	memcpy(key + sizeof t, msgid, strlen(msgid));	/* length checked by the caller */
}

static struct history_entry *
history_at(const struct history_target *t, size_t i)
{
	return t->ring[(t->head + i) & (t->cap - 1)];
}

/* ---------------------------------------------------------------- uid records */

static int
history_party_index(const struct history_target *t, uint64_t uid)
{
	if (t->party[0].uid == uid)
		return 0;	/* a conversation with oneself: party 0 only */
	return t->party[1].uid == uid ? 1 : -1;
}

static struct history_user *
history_user_find(const struct history *h, uint64_t uid)
{
	struct history_user *u;

	HASH_FIND(hh, h->users, &uid, sizeof uid, u);
	return u;
}

static void
history_user_drop(struct history *h, struct history_user *u)
{
	HASH_DEL(h->users, u);
	h->bytes -= sizeof *u;
	free(u);
}

static void
history_unlink(struct history *h, struct history_target *t, int i)
{
	struct history_party *p = &t->party[i];
	struct history_user *u;

	if (!p->linked)
		return;
	u = history_user_find(h, p->uid);
	if (p->prev != NULL)
		p->prev->party[history_party_index(p->prev, p->uid)].next = p->next;
	else if (u != NULL)
		u->convs = p->next;
	if (p->next != NULL)
		p->next->party[history_party_index(p->next, p->uid)].prev = p->prev;
	p->prev = p->next = NULL;
	p->linked = false;
	if (u != NULL && u->convs == NULL)
		history_user_drop(h, u);	/* a record lives only as long as its list */
}

/* put t at the head of party i's list (the latest conversation); -ENOMEM */
static int
history_link_front(struct history *h, struct history_target *t, int i)
{
	struct history_party *p = &t->party[i];
	struct history_user *u;
	unsigned before;

	if (p->gone)
		return 0;	/* it left: it has no list any more */
	if (p->linked) {
		u = history_user_find(h, p->uid);
		if (u->convs == t)
			return 0;
		p->prev->party[history_party_index(p->prev, p->uid)].next = p->next;
		if (p->next != NULL)
			p->next->party[history_party_index(p->next, p->uid)].prev = p->prev;
	} else {
		u = history_user_find(h, p->uid);
		if (u == NULL) {
			u = calloc(1, sizeof *u);
			if (u == NULL)
				return -ENOMEM;
			u->uid = p->uid;
			before = HASH_COUNT(h->users);
			HASH_ADD(hh, h->users, uid, sizeof u->uid, u);
			if (HASH_COUNT(h->users) == before) {
				free(u);
				return -ENOMEM;
			}
			h->bytes += sizeof *u;
		}
		p->linked = true;
	}
	p->prev = NULL;
	p->next = u->convs;
	if (u->convs != NULL)
		u->convs->party[history_party_index(u->convs, p->uid)].prev = t;
	u->convs = t;
	return 0;
}

/* ---------------------------------------------------------------- targets */

static void
history_target_free(struct history *h, struct history_target *t);

/* the oldest line of t goes; t too when that was its last and may_free */
static void
history_pop(struct history *h, struct history_target *t, bool may_free)
{
	struct history_entry *e = t->ring[t->head];

	t->head = (t->head + 1) & (t->cap - 1);
	t->head_seq++;
	t->count--;
	if (e->has_msgid)
		HASH_DEL(h->by_msgid, e);
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		h->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		h->newest = e->older;
	h->lines--;
	h->bytes -= history_entry_cost(e->len);
	free(e);
	if (t->count == 0 && may_free)
		history_target_free(h, t);
}

static void
history_target_free(struct history *h, struct history_target *t)
{
	while (t->count > 0)
		history_pop(h, t, false);
	if (t->conv) {
		history_unlink(h, t, 0);
		history_unlink(h, t, 1);
		HASH_DEL(h->convs, t);
	} else {
		HASH_DEL(h->chans, t);
	}
	h->bytes -= history_target_cost(t);
	free(t->ring);
	free(t);
}

/* the global oldest line goes (the global list's head is its target's oldest) */
static void
history_pop_oldest(struct history *h)
{
	history_pop(h, h->oldest->t, true);
}

/* a ring of cap slots (a power of two >= count), oldest at 0; -ENOMEM */
static int
history_ring_resize(struct history *h, struct history_target *t, uint32_t cap)
{
	struct history_entry **ring = malloc((size_t)cap * sizeof *ring);

	if (ring == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->count; i++)
		ring[i] = history_at(t, i);
	free(t->ring);
	h->bytes -= (size_t)t->cap * sizeof *ring;
	h->bytes += (size_t)cap * sizeof *ring;
	t->ring = ring;
	t->cap = cap;
	t->head = 0;
	return 0;
}

static uint32_t
history_ring_size(uint32_t lines)
{
	uint32_t cap = HISTORY_RING_MIN;

	while (cap < lines && cap < (UINT32_C(1) << 31))
		cap <<= 1;
	return cap;
}

static struct history_target *
history_target_new(bool conv, size_t name_len)
{
	struct history_target *t = calloc(1, sizeof *t + (conv ? 0 : name_len + 1));

	if (t != NULL) {
		t->conv = conv;
		t->name_len = conv ? 0 : name_len;
	}
	return t;
}

/* a channel's target, made when missing; NULL on allocation failure */
static struct history_target *
history_chan_get(struct history *h, const char *key)
{
	struct history_target *t;
	size_t len = strlen(key);
	unsigned before;

	HASH_FIND(hh, h->chans, key, len, t);
	if (t != NULL)
		return t;
	t = history_target_new(false, len);
	if (t == NULL)
		return NULL;
	memcpy(t->name, key, len + 1);
	before = HASH_COUNT(h->chans);
	HASH_ADD_KEYPTR(hh, h->chans, t->name, len, t);
	if (HASH_COUNT(h->chans) == before) {
		free(t);
		return NULL;
	}
	h->bytes += history_target_cost(t);
	return t;
}

static void
history_pair(uint64_t a, uint64_t b, uint64_t pair[2])
{
	pair[0] = a < b ? a : b;
	pair[1] = a < b ? b : a;
}

static struct history_target *
history_conv_find(const struct history *h, uint64_t a, uint64_t b)
{
	struct history_target *t;
	uint64_t pair[2];

	history_pair(a, b, pair);
	HASH_FIND(hh, h->convs, pair, sizeof pair, t);
	return t;
}

/* the conversation of a and b, made when missing; NULL on allocation failure */
static struct history_target *
history_conv_get(struct history *h, uint64_t a, uint64_t b)
{
	struct history_target *t = history_conv_find(h, a, b);
	unsigned before;

	if (t != NULL)
		return t;
	t = history_target_new(true, 0);
	if (t == NULL)
		return NULL;
	history_pair(a, b, t->pair);
	t->party[0].uid = t->pair[0];
	t->party[1].uid = t->pair[1];
	before = HASH_COUNT(h->convs);
	HASH_ADD(hh, h->convs, pair, sizeof t->pair, t);
	if (HASH_COUNT(h->convs) == before) {
		free(t);
		return NULL;
	}
	h->bytes += history_target_cost(t);
	return t;
}

/* ---------------------------------------------------------------- adding */

static int
history_add(struct history *h, struct history_target *t, int64_t ms, const char *msgid,
    const char *line, size_t len)
{
	struct history_entry *e;
	unsigned before;
	int rc;

	/* room first: at the bound the target's oldest line makes way (not
	 * freeing the target, which is about to get a line) */
	while (t->count >= h->lim.lines)
		history_pop(h, t, false);
	if (t->count == t->cap) {
		rc = history_ring_resize(h, t, t->cap == 0 ? HISTORY_RING_MIN : t->cap * 2);
		if (rc < 0)
			goto fail;
	}
	e = malloc(history_entry_cost(len));
	if (e == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	e->t = t;
	e->len = (uint32_t)len;
	memcpy(e->line, line, len);
	e->line[len] = '\0';
	e->has_msgid = msgid != NULL && msgid[0] != '\0';
	history_key(e->key, t, e->has_msgid ? msgid : "");
	if (e->has_msgid) {
		before = HASH_COUNT(h->by_msgid);
		HASH_ADD(hh, h->by_msgid, key, HISTORY_KEY_LEN, e);
		if (HASH_COUNT(h->by_msgid) == before) {
			free(e);
			rc = -ENOMEM;
			goto fail;
		}
	}
	/* times never go backwards within a target: selections bisect them */
	if (t->count > 0 && ms < history_at(t, t->count - 1)->ms)
		ms = history_at(t, t->count - 1)->ms;
	e->ms = ms;
	e->seq = t->head_seq + t->count;
	t->ring[(t->head + t->count) & (t->cap - 1)] = e;
	t->count++;
	e->newer = NULL;
	e->older = h->newest;
	if (h->newest != NULL)
		h->newest->newer = e;
	else
		h->oldest = e;
	h->newest = e;
	h->lines++;
	h->bytes += history_entry_cost(len);

	/* the byte bound: the oldest lines anywhere go, never this one */
	while (h->bytes > h->lim.max_bytes && h->oldest != e)
		history_pop_oldest(h);
	if (h->bytes > h->lim.max_bytes) {
		history_pop_oldest(h);	/* it alone is too much */
		return -ENOBUFS;	/* -ENOMEM to callers; history_read drops it */
	}
	return 0;
fail:
	if (t->count == 0)
		history_target_free(h, t);
	return rc;
}

static int
history_check(const char *msgid, size_t len)
{
	if (len > HISTORY_LINE_MAX)
		return -E2BIG;
	if (msgid != NULL && strlen(msgid) > IRCTAGS_MSGID_LEN)
		return -EINVAL;
	return 0;
}

int
history_add_chan(struct history *h, const char *chan_key, int64_t ms, const char *msgid,
    const char *line, size_t len)
{
	struct history_target *t;
	int rc;

	if (h->lim.lines == 0)
		return 0;
	rc = history_check(msgid, len);
	if (rc < 0)
		return rc;
	t = history_chan_get(h, chan_key);
	if (t == NULL)
		return -ENOMEM;
	rc = history_add(h, t, ms, msgid, line, len);
	return rc == -ENOBUFS ? -ENOMEM : rc;
}

/* a line is coming to t: it is now the latest conversation of each party
 * on a list; -ENOMEM (t freed if it has no line) */
static int
history_conv_link(struct history *h, struct history_target *t)
{
	int rc = history_link_front(h, t, 0);

	if (rc == 0 && t->pair[1] != t->pair[0])
		rc = history_link_front(h, t, 1);
	if (rc < 0 && t->count == 0)
		history_target_free(h, t);
	return rc;
}

/* NULL: not known, the last one stays (the length is checked by the caller) */
static void
history_set_nick(struct history_party *p, const char *nick)
{
	if (nick != NULL)
		strcpy(p->nick, nick);
}

int
history_add_private(struct history *h, uint64_t from, const char *from_nick,
    uint64_t to, const char *to_nick, int64_t ms, const char *msgid,
    const char *line, size_t len)
{
	struct history_target *t;
	int rc;

	if (h->lim.lines == 0)
		return 0;
	rc = history_check(msgid, len);
	if (rc < 0)
		return rc;
	if ((from_nick != NULL && strlen(from_nick) > IRC_NICK_MAX) ||
	    (to_nick != NULL && strlen(to_nick) > IRC_NICK_MAX))
		return -EINVAL;
	t = history_conv_get(h, from, to);
	if (t == NULL)
		return -ENOMEM;
	rc = history_conv_link(h, t);
	if (rc < 0)
		return rc;
	/* each party's nick as of now, for TARGETS and finding it by nick
	 * (the line may fail below: the nicks are still the current ones) */
	history_set_nick(&t->party[history_party_index(t, to)], to_nick);
	history_set_nick(&t->party[history_party_index(t, from)], from_nick);
	rc = history_add(h, t, ms, msgid, line, len);
	return rc == -ENOBUFS ? -ENOMEM : rc;
}

/* ---------------------------------------------------------------- life */

struct history *
history_new(const struct history_limits *lim)
{
	struct history *h = calloc(1, sizeof *h);

	if (h != NULL && lim != NULL)
		h->lim = *lim;
	return h;
}

static void
history_clear(struct history *h)
{
	struct history_target *t, *tmp;

	HASH_ITER(hh, h->chans, t, tmp)
		history_target_free(h, t);
	HASH_ITER(hh, h->convs, t, tmp)
		history_target_free(h, t);
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	history_clear(h);
	free(h);
}

static void
history_trim(struct history *h, struct history_target *t)
{
	uint32_t cap = history_ring_size(h->lim.lines);

	while (t->count > h->lim.lines)
		history_pop(h, t, false);	/* lines >= 1: t keeps some */
	/* a ring sized for a bigger bound shrinks (if that fails it stays) */
	if (cap < t->cap)
		(void)history_ring_resize(h, t, cap);
}

void
history_set_limits(struct history *h, const struct history_limits *lim)
{
	struct history_target *t, *tmp;

	h->lim = *lim;
	if (lim->lines == 0) {
		history_clear(h);
		return;
	}
	HASH_ITER(hh, h->chans, t, tmp)
		history_trim(h, t);
	HASH_ITER(hh, h->convs, t, tmp)
		history_trim(h, t);
	while (h->bytes > h->lim.max_bytes && h->oldest != NULL)
		history_pop_oldest(h);
	history_expire(h, history_now_ms());
}

/* the oldest time a line may have and still be kept (INT64_MIN: any) */
static int64_t
history_cutoff(const struct history *h, int64_t now_ms)
{
	if (h->lim.age_s == 0)
		return INT64_MIN;
	return now_ms - (int64_t)h->lim.age_s * 1000;
}

/*
 * From the global head: all but a line that came after a newer one from
 * another target with a later clock; that one goes when those before it
 * have, and selections never return it meanwhile.
 */
void
history_expire(struct history *h, int64_t now_ms)
{
	int64_t cutoff = history_cutoff(h, now_ms);

	while (h->oldest != NULL && h->oldest->ms < cutoff)
		history_pop_oldest(h);
}

void
history_forget_chan(struct history *h, const char *chan_key)
{
	struct history_target *t;

	HASH_FIND(hh, h->chans, chan_key, strlen(chan_key), t);
	if (t != NULL)
		history_target_free(h, t);
}

void
history_user_gone(struct history *h, uint64_t uid)
{
	struct history_user *u = history_user_find(h, uid);
	struct history_target *t, *next;
	int i;

	if (u == NULL)
		return;
	/* unlinking the last conversation frees u: stop on that, not on u */
	for (t = u->convs; t != NULL; t = next) {
		i = history_party_index(t, uid);
		next = t->party[i].next;
		t->party[i].gone = true;
		if (t->pair[0] == t->pair[1])
			t->party[1].gone = true;
		if (t->party[0].gone && t->party[1].gone)
			history_target_free(h, t);	/* unlinks it from both */
		else
			history_unlink(h, t, i);
	}
}

/* ---------------------------------------------------------------- finding */

struct history_target *
history_chan(struct history *h, const char *chan_key)
{
	struct history_target *t;

	HASH_FIND(hh, h->chans, chan_key, strlen(chan_key), t);
	return t;
}

int64_t
history_chan_latest(struct history *h, const char *chan_key)
{
	struct history_target *t = history_chan(h, chan_key);

	return t == NULL || t->count == 0 ? 0 : history_at(t, t->count - 1)->ms;
}

/* the party of t that is not uid (uid itself in a conversation with oneself) */
static const struct history_party *
history_other(const struct history_target *t, uint64_t uid)
{
	int i = history_party_index(t, uid);

	return t->pair[0] == t->pair[1] ? &t->party[0] : &t->party[1 - i];
}

struct history_target *
history_private(struct history *h, uint64_t uid, uint64_t other, const char *nick_key)
{
	struct history_target *t;
	struct history_user *u;

	if (other != 0) {
		t = history_conv_find(h, uid, other);
		/* a party that left is none any more (uids are never reused) */
		if (t != NULL && !t->party[history_party_index(t, uid)].gone)
			return t;
	}
	if (nick_key == NULL)
		return NULL;
	/* only uid's own list: a conversation of others is out of reach */
	u = history_user_find(h, uid);
	if (u == NULL)
		return NULL;
	for (t = u->convs; t != NULL; t = t->party[history_party_index(t, uid)].next)
		if (irc_casecmp(history_other(t, uid)->nick, nick_key) == 0)
			return t;	/* latest first: the most recent with that nick */
	return NULL;
}

/* ---------------------------------------------------------------- queries */

/* the first position in [lo, hi) whose time is >= ms (strict: > ms) */
static size_t
history_bisect(const struct history_target *t, size_t lo, size_t hi, int64_t ms, bool strict)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t m = history_at(t, mid)->ms;

		if (m < ms || (strict && m == ms))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* the position of a msgid in t; false when t does not have it */
static bool
history_find_msgid(const struct history *h, const struct history_target *t, const char *msgid,
    size_t *pos)
{
	unsigned char key[HISTORY_KEY_LEN];
	struct history_entry *e;

	if (strlen(msgid) > IRCTAGS_MSGID_LEN || msgid[0] == '\0')
		return false;
	history_key(key, t, msgid);
	HASH_FIND(hh, h->by_msgid, key, HISTORY_KEY_LEN, e);
	if (e == NULL)
		return false;
	*pos = (size_t)(e->seq - t->head_seq);
	return true;
}

/*
 * Where a reference falls: *after is the first position past it, *before
 * the first position not before it (exclusive bounds either side; also
 * where AROUND's "from" half starts). false: a msgid t lacks.
 */
static bool
history_resolve(const struct history *h, const struct history_target *t,
    const struct history_ref *r, size_t *after, size_t *before)
{
	size_t pos;

	switch (r == NULL ? HISTORY_REF_NONE : r->kind) {
	case HISTORY_REF_TIME:
		*before = history_bisect(t, 0, t->count, r->ms, false);
		*after = history_bisect(t, *before, t->count, r->ms, true);
		return true;
	case HISTORY_REF_MSGID:
		if (!history_find_msgid(h, t, r->msgid, &pos))
			return false;
		*before = pos;
		*after = pos + 1;
		return true;
	case HISTORY_REF_NONE:
	default:
		*after = 0;
		*before = t->count;
		return true;
	}
}

static size_t
history_copy(const struct history_target *t, size_t lo, size_t hi, struct history_line *out)
{
	for (size_t i = lo; i < hi; i++) {
		const struct history_entry *e = history_at(t, i);

		out[i - lo] = (struct history_line){
			.ms = e->ms,
			.msgid = (const char *)e->key + sizeof(struct history_target *),
			.line = e->line,
			.len = e->len,
		};
	}
	return hi - lo;
}

static size_t
history_max(size_t a, size_t b)
{
	return a > b ? a : b;
}

static size_t
history_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

size_t
history_select(struct history *h, struct history_target *t, enum history_sel sel,
    const struct history_ref *a, const struct history_ref *b, size_t limit,
    struct history_line *out)
{
	size_t first, a_after, a_before, b_after, b_before, lo, hi, n;

	if (t == NULL || limit == 0 || t->count == 0)
		return 0;
	/* lines past the age limit that expire has not taken yet are not shown */
	first = h->lim.age_s == 0 ? 0 :
	    history_bisect(t, 0, t->count, history_cutoff(h, history_now_ms()), false);
	if (!history_resolve(h, t, a, &a_after, &a_before))
		return 0;
	switch (sel) {
	case HISTORY_LATEST:	/* the newest, after a */
		lo = history_max(first, a_after);
		hi = t->count;
		lo = history_max(lo, hi > limit ? hi - limit : 0);
		break;
	case HISTORY_BEFORE:	/* the newest before a */
		hi = a_before;
		lo = history_max(first, hi > limit ? hi - limit : 0);
		break;
	case HISTORY_AFTER:	/* the oldest after a */
		lo = history_max(first, a_after);
		hi = history_min(t->count, lo + limit);
		break;
	case HISTORY_AROUND:	/* limit/2 before a, the rest from a on */
		if (a == NULL || a->kind == HISTORY_REF_NONE)
			return 0;
		lo = history_max(first, a_before > limit / 2 ? a_before - limit / 2 : 0);
		n = a_before > lo ? a_before - lo : 0;	/* taken before a */
		hi = history_min(t->count, history_max(a_before, first) + (limit - n));
		break;
	case HISTORY_BETWEEN:
		if (!history_resolve(h, t, b, &b_after, &b_before))
			return 0;
		if (a_after < b_before) {	/* a before b: the oldest after a */
			lo = history_max(first, a_after);
			hi = history_min(b_before, lo + limit);
		} else if (b_after < a_before) {	/* a after b: the newest before a */
			hi = a_before;
			lo = history_max(history_max(first, b_after), hi > limit ? hi - limit : 0);
		} else {
			return 0;
		}
		break;
	default:
		return 0;
	}
	if (lo >= hi)
		return 0;
	return history_copy(t, lo, hi, out);
}

/* the newest line's time of a conversation */
static int64_t
history_latest(const struct history_target *t)
{
	return history_at(t, t->count - 1)->ms;
}

size_t
history_private_targets(struct history *h, uint64_t uid, int64_t from_ms, int64_t to_ms,
    size_t limit, struct history_target_info *out)
{
	struct history_user *u = history_user_find(h, uid);
	int64_t lo = from_ms < to_ms ? from_ms : to_ms;
	int64_t hi = from_ms < to_ms ? to_ms : from_ms;
	int64_t cutoff = history_cutoff(h, history_now_ms());
	bool oldest = from_ms < to_ms;	/* from before to: the oldest limit, else the newest */
	struct history_target *t;
	size_t n = 0, i;

	if (u == NULL || limit == 0)
		return 0;
	/* out stays sorted by time, holding the best limit so far: a
	 * client's conversations are few and limit is small */
	for (t = u->convs; t != NULL; t = t->party[history_party_index(t, uid)].next) {
		int64_t ms = history_latest(t);

		if (ms <= lo || ms >= hi || ms < cutoff)
			continue;
		if (n == limit) {
			if (oldest ? ms >= out[n - 1].latest_ms : ms <= out[0].latest_ms)
				continue;
			if (oldest)
				n--;	/* the newest goes */
			else
				memmove(out, out + 1, --n * sizeof *out);	/* the oldest goes */
		}
		for (i = n; i > 0 && out[i - 1].latest_ms > ms; i--)
			out[i] = out[i - 1];
		out[i] = (struct history_target_info){ .name = history_other(t, uid)->nick,
			.latest_ms = ms };
		n++;
	}
	return n;
}

void
history_usage(const struct history *h, uint64_t *lines, uint64_t *bytes)
{
	if (lines != NULL)
		*lines = h->lines;
	if (bytes != NULL)
		*bytes = h->bytes;
}

/* ---------------------------------------------------------------- handover */

/*
 * The blob (fields.h), record by record:
 *   "H"                                        the start
 *   "C" name cap                               a channel, just before its first line
 *   "P" uid0 nick0 state0 uid1 nick1 state1 cap
 *                                              a conversation (uid0 <= uid1), likewise
 *   "c" name ms msgid line                     a channel's line
 *   "p" uid0 uid1 ms msgid line                a conversation's line
 *   "U" uid n other-uid...                     uid's list, the latest last, by uid
 *   "E" ntargets nlines nlists                 the end, with the counts
 * Lines come oldest first anywhere (the order the byte bound evicts by)
 * and are replayed through history_add, so the reading side's limits drop
 * what they would have dropped. What adding cannot give back is written
 * as it is: each party's nick and state, a ring's size (it counts in the
 * byte bound), and each list's order (an add that failed halfway leaves
 * it other than the lines say). A uid is written as an int64 (the same
 * 64 bits).
 */

/* a party's state: on its uid's list, gone (history_user_gone), or
 * neither (the second party of a conversation with oneself; a list that
 * could not be joined for want of memory) */
enum history_state { HISTORY_LISTED, HISTORY_GONE, HISTORY_OFF };

static int
history_party_state(const struct history_party *p)
{
	return p->gone ? HISTORY_GONE : p->linked ? HISTORY_LISTED : HISTORY_OFF;
}

static int
history_write_target(struct buf *b, const struct history_target *t)
{
	int rc = 0;

	if (!t->conv) {
		rc |= fields_str(b, "C");
		rc |= fields_str(b, t->name);
	} else {
		rc |= fields_str(b, "P");
		for (int i = 0; i < 2; i++) {
			rc |= fields_num(b, (int64_t)t->party[i].uid);
			rc |= fields_str(b, t->party[i].nick);
			rc |= fields_num(b, history_party_state(&t->party[i]));
		}
	}
	rc |= fields_num(b, t->cap);
	return rc;
}

static int
history_write_line(struct buf *b, const struct history_entry *e)
{
	const struct history_target *t = e->t;
	int rc = 0;

	if (!t->conv) {
		rc |= fields_str(b, "c");
		rc |= fields_str(b, t->name);
	} else {
		rc |= fields_str(b, "p");
		rc |= fields_num(b, (int64_t)t->pair[0]);
		rc |= fields_num(b, (int64_t)t->pair[1]);
	}
	rc |= fields_num(b, e->ms);
	/* the key's msgid: "" for none */
	rc |= fields_str(b, (const char *)e->key + sizeof(struct history_target *));
	rc |= fields_put(b, e->line, e->len);
	return rc;
}

static int
history_write_list(struct buf *b, const struct history_user *u)
{
	const struct history_target *t, *last = NULL;
	int64_t n = 0;
	int rc = 0;

	for (t = u->convs; t != NULL; t = t->party[history_party_index(t, u->uid)].next) {
		last = t;
		n++;
	}
	rc |= fields_str(b, "U");
	rc |= fields_num(b, (int64_t)u->uid);
	rc |= fields_num(b, n);
	/* the latest last: the reader puts each at the front in turn */
	for (t = last; t != NULL; t = t->party[history_party_index(t, u->uid)].prev)
		rc |= fields_num(b, (int64_t)history_other(t, u->uid)->uid);
	return rc;
}

static int
history_uid_cmp(const void *a, const void *b)
{
	uint64_t x = (*(struct history_user *const *)a)->uid;
	uint64_t y = (*(struct history_user *const *)b)->uid;

	return (x > y) - (x < y);
}

int
history_write(const struct history *h, struct buf *out)
{
	struct history_user **users = NULL, *u, *tmp;
	size_t nusers = HASH_COUNT(h->users), i = 0;
	int64_t ntargets = 0, nlines = 0;
	int rc = 0;

	rc |= fields_str(out, "H");
	for (const struct history_entry *e = h->oldest; e != NULL && rc == 0; e = e->newer) {
		/* a target's oldest line is the first of it here: the target first */
		if (e->seq == e->t->head_seq) {
			rc |= history_write_target(out, e->t);
			ntargets++;
		}
		rc |= history_write_line(out, e);
		nlines++;
	}
	/* by uid: the table's own order is the order records came, which a
	 * reader does not repeat (the blob would not be the same twice) */
	if (nusers > 0) {
		if ((users = malloc(nusers * sizeof *users)) == NULL)
			return -ENOMEM;
		HASH_ITER(hh, h->users, u, tmp)
			users[i++] = u;
		qsort(users, nusers, sizeof *users, history_uid_cmp);
	}
	for (i = 0; i < nusers && rc == 0; i++)
		rc |= history_write_list(out, users[i]);
	free(users);
	rc |= fields_str(out, "E");
	rc |= fields_num(out, ntargets);
	rc |= fields_num(out, nlines);
	rc |= fields_num(out, (int64_t)nusers);
	return rc != 0 ? -ENOMEM : 0;
}

/* a target as the blob declares it, kept while reading: a conversation the
 * bounds take while lines are replayed is made again from it */
struct history_decl {
	UT_hash_handle hh;	/* in->chans (key: name) or in->convs (key: pair) */
	bool conv;
	uint64_t pair[2];
	uint8_t state[2];
	char nick[2][IRC_NICK_MAX + 1];
	uint32_t cap;
	uint64_t lines;		/* the blob's, whatever the limits keep */
	int64_t last_ms;
	char name[];		/* channel */
};

struct history_in {
	struct fields_in f;
	struct history *h;
	struct history_decl *chans, *convs;
	struct history_decl *fresh;	/* declared, its first line not read yet */
	uint64_t ntargets, nlines, nlists;
	uint64_t lists_here;	/* lists whose uid has one in h */
	uint64_t last_uid;
	bool lists, end;	/* past the lines; past the end */
};

static uint64_t
history_read_uid(struct fields_in *f)
{
	return (uint64_t)fields_int(f, INT64_MIN, INT64_MAX);
}

static uint32_t
history_read_cap(struct fields_in *f)
{
	int64_t cap = fields_int(f, HISTORY_RING_MIN, INT64_C(1) << 31);

	if (!f->bad && (cap & (cap - 1)) != 0)
		fields_fail(f, "a ring's size is no power of two");
	return (uint32_t)cap;
}

static void
history_read_decl(struct history_in *in, bool conv)
{
	struct fields_in *f = &in->f;
	struct history_decl **head = conv ? &in->convs : &in->chans, *d, *old;
	char name[IRC_CHAN_MAX + 1] = "";
	const void *key;
	size_t len, key_len;
	unsigned before;

	if (!conv)
		fields_cstr(f, name, sizeof name);
	len = strlen(name);
	if (f->bad)
		return;
	if (in->fresh != NULL) {
		fields_fail(f, "a target is declared without a line");
		return;
	}
	if ((d = calloc(1, sizeof *d + len + 1)) == NULL) {
		fields_fail(f, "out of memory");
		return;
	}
	d->conv = conv;
	memcpy(d->name, name, len + 1);
	if (conv) {
		for (int i = 0; i < 2; i++) {
			d->pair[i] = history_read_uid(f);
			fields_cstr(f, d->nick[i], sizeof d->nick[i]);
			d->state[i] = (uint8_t)fields_int(f, HISTORY_LISTED, HISTORY_OFF);
		}
	}
	d->cap = history_read_cap(f);
	if (!f->bad && conv) {
		/* as history.c leaves them: lower uid first, never both gone (it
		 * is freed then), oneself's conversation on one list at most */
		if (d->pair[0] > d->pair[1])
			fields_fail(f, "a conversation's parties are out of order");
		else if (d->state[0] == HISTORY_GONE && d->state[1] == HISTORY_GONE)
			fields_fail(f, "a conversation whose parties are both gone");
		else if (d->pair[0] == d->pair[1] &&
		    (d->state[0] == HISTORY_GONE || d->state[1] != HISTORY_OFF))
			fields_fail(f, "a conversation with oneself has two parties");
	}
	key = conv ? (const void *)d->pair : d->name;
	key_len = conv ? sizeof d->pair : len;
	if (!f->bad) {
		HASH_FIND(hh, *head, key, key_len, old);
		if (old != NULL)
			fields_fail(f, "a target is declared twice");
	}
	if (!f->bad) {
		before = HASH_COUNT(*head);
		HASH_ADD_KEYPTR(hh, *head, key, key_len, d);
		if (HASH_COUNT(*head) == before)
			fields_fail(f, "out of memory");
	}
	if (f->bad) {
		free(d);
		return;
	}
	in->fresh = d;
	in->ntargets++;
}

/* a line through history_add, as it came: 0 (kept, or dropped as adding
 * drops it) or -ENOMEM */
static int
history_replay(struct history *h, const struct history_decl *d, int64_t ms, const char *msgid,
    const char *line, size_t len)
{
	struct history_target *t;
	int rc;

	if (h->lim.lines == 0)
		return 0;	/* no history: nothing is kept, as by history_add_* */
	if (!d->conv) {
		t = history_chan_get(h, d->name);
	} else if ((t = history_conv_find(h, d->pair[0], d->pair[1])) == NULL &&
	    (t = history_conv_get(h, d->pair[0], d->pair[1])) != NULL) {
		/* new, or made again after the bounds took it: its parties as
		 * they are; one off its list stays off (gone until the end) */
		for (int i = 0; i < 2; i++) {
			memcpy(t->party[i].nick, d->nick[i], sizeof t->party[i].nick);
			t->party[i].gone = d->state[i] != HISTORY_LISTED;
		}
	}
	if (t == NULL)
		return -ENOMEM;
	if (t->conv && (rc = history_conv_link(h, t)) < 0)
		return rc;
	rc = history_add(h, t, ms, msgid, line, len);
	return rc == -ENOBUFS ? 0 : rc;	/* too big for the byte bound alone */
}

static void
history_read_line(struct history_in *in, bool conv)
{
	struct fields_in *f = &in->f;
	char name[IRC_CHAN_MAX + 1], msgid[IRCTAGS_MSGID_LEN + 1];
	uint64_t pair[2];
	struct history_decl *d;
	const char *line;
	size_t len;
	int64_t ms;

	if (conv) {
		pair[0] = history_read_uid(f);
		pair[1] = history_read_uid(f);
	} else {
		fields_cstr(f, name, sizeof name);
	}
	ms = fields_int(f, INT64_MIN, INT64_MAX);
	fields_cstr(f, msgid, sizeof msgid);
	line = fields_get(f, &len, HISTORY_LINE_MAX);
	if (f->bad)
		return;
	if (conv)
		HASH_FIND(hh, in->convs, pair, sizeof pair, d);
	else
		HASH_FIND(hh, in->chans, name, strlen(name), d);
	if (d == NULL) {
		fields_fail(f, "a line's target is not declared");
		return;
	}
	if (in->fresh != NULL && d != in->fresh) {
		fields_fail(f, "a target is declared without a line");
		return;
	}
	/* times never go backwards in a target: history_add would change them */
	if (d->lines > 0 && ms < d->last_ms) {
		fields_fail(f, "a target's times go backwards");
		return;
	}
	in->fresh = NULL;
	d->lines++;
	d->last_ms = ms;
	in->nlines++;
	if (history_replay(in->h, d, ms, msgid, line, len) < 0)
		fields_fail(f, "out of memory");
}

/* a target's state that adding does not give, once its lines are in */
static void
history_read_settle(struct history_in *in, struct history_decl *d)
{
	struct history *h = in->h;
	struct history_target *t;
	uint32_t cap;

	if (d->lines == 0) {
		fields_fail(&in->f, "a target is declared without a line");
		return;
	}
	if (d->lines > d->cap) {
		fields_fail(&in->f, "a ring is smaller than its lines");
		return;
	}
	t = d->conv ? history_conv_find(h, d->pair[0], d->pair[1]) : history_chan(h, d->name);
	if (t == NULL)
		return;		/* the limits took it */
	if (d->conv)
		for (int i = 0; i < 2; i++)
			t->party[i].gone = d->state[i] == HISTORY_GONE;
	/* the ring it had (no more than the lines bound now wants): its
	 * bytes count in the bound, so the bound bites when it would have */
	cap = d->cap < history_ring_size(h->lim.lines) ? d->cap : history_ring_size(h->lim.lines);
	if (cap > t->cap && history_ring_resize(h, t, cap) < 0)
		fields_fail(&in->f, "out of memory");
}

/* the lines are in: settle every target, then the byte bound (a smaller
 * one than the writer's may not hold the rings) */
static void
history_read_lines_done(struct history_in *in)
{
	struct history_decl *d, *tmp;

	in->lists = true;
	HASH_ITER(hh, in->chans, d, tmp)
		if (!in->f.bad)
			history_read_settle(in, d);
	HASH_ITER(hh, in->convs, d, tmp)
		if (!in->f.bad)
			history_read_settle(in, d);
	while (in->h->bytes > in->h->lim.max_bytes && in->h->oldest != NULL)
		history_pop_oldest(in->h);
}

static void
history_read_list(struct history_in *in)
{
	struct fields_in *f = &in->f;
	struct history *h = in->h;
	uint64_t uid, other, pair[2], moved = 0, len = 0;
	struct history_decl *d;
	struct history_target *t;
	struct history_user *u;
	int64_t n;

	uid = history_read_uid(f);
	/* each conversation listed has a line of its own, once */
	n = fields_int(f, 0, (int64_t)in->nlines);
	if (f->bad)
		return;
	if (in->nlists > 0 && uid <= in->last_uid) {
		fields_fail(f, "the lists are out of order");
		return;
	}
	in->last_uid = uid;
	in->nlists++;
	for (int64_t k = 0; k < n && !f->bad; k++) {
		other = history_read_uid(f);
		if (f->bad)
			break;
		history_pair(uid, other, pair);
		HASH_FIND(hh, in->convs, pair, sizeof pair, d);
		if (d == NULL || d->state[d->pair[0] == uid ? 0 : 1] != HISTORY_LISTED) {
			fields_fail(f, "a list holds a conversation not on it");
			break;
		}
		if ((t = history_conv_find(h, uid, other)) == NULL)
			continue;	/* the limits took it */
		/* the latest last: each goes to the front in turn */
		if (history_link_front(h, t, history_party_index(t, uid)) < 0)
			fields_fail(f, "out of memory");
		else
			moved++;
	}
	if (f->bad)
		return;
	if ((u = history_user_find(h, uid)) != NULL) {
		for (t = u->convs; t != NULL; t = t->party[history_party_index(t, uid)].next)
			len++;
		in->lists_here++;
	}
	/* all of uid's list, each once */
	if (len != moved)
		fields_fail(f, "a list and its conversations disagree");
}

static void
history_read_end(struct history_in *in)
{
	struct fields_in *f = &in->f;
	int64_t a, b, c;

	a = fields_int(f, 0, INT64_MAX);
	b = fields_int(f, 0, INT64_MAX);
	c = fields_int(f, 0, INT64_MAX);
	if (f->bad)
		return;
	if ((uint64_t)a != in->ntargets || (uint64_t)b != in->nlines || (uint64_t)c != in->nlists)
		fields_fail(f, "the counts at the end disagree");
	else if (in->lists_here != HASH_COUNT(in->h->users))
		fields_fail(f, "a list is missing");
	in->end = true;
}

static void
history_decls_free(struct history_decl **head)
{
	struct history_decl *d, *tmp;

	HASH_ITER(hh, *head, d, tmp) {
		HASH_DEL(*head, d);
		free(d);
	}
}

int
history_read(struct history *h, const void *p, size_t len, const char **why)
{
	struct history_in in = { .h = h };
	char tag[2];

	fields_in_init(&in.f, p, len);
	if (fields_cstr(&in.f, tag, sizeof tag) && strcmp(tag, "H") != 0)
		fields_fail(&in.f, "not a history");
	while (!in.f.bad && !in.end && in.f.p < in.f.end && fields_cstr(&in.f, tag, sizeof tag)) {
		switch (tag[0]) {
		case 'C':
		case 'P':
		case 'c':
		case 'p':
			if (in.lists)
				fields_fail(&in.f, "a line after the lists");
			else if (tag[0] == 'C' || tag[0] == 'P')
				history_read_decl(&in, tag[0] == 'P');
			else
				history_read_line(&in, tag[0] == 'p');
			break;
		case 'U':
		case 'E':
			if (!in.lists)
				history_read_lines_done(&in);
			if (in.f.bad)
				break;
			if (tag[0] == 'U')
				history_read_list(&in);
			else
				history_read_end(&in);
			break;
		default:
			fields_fail(&in.f, "an unknown record");
		}
	}
	if (!in.f.bad && (!in.end || in.f.p != in.f.end))
		fields_fail(&in.f, in.end ? "bytes after the end" : "the history is cut short");
	history_decls_free(&in.chans);
	history_decls_free(&in.convs);
	if (in.f.bad) {
		*why = in.f.why;
		return -EPROTO;
	}
	return 0;
}
