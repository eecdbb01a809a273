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
		return -ENOMEM;
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
	return history_add(h, t, ms, msgid, line, len);
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
	/* both lists: this is now each party's latest conversation */
	rc = history_link_front(h, t, 0);
	if (rc == 0 && t->pair[1] != t->pair[0])
		rc = history_link_front(h, t, 1);
	if (rc < 0) {
		if (t->count == 0)
			history_target_free(h, t);
		return rc;
	}
	/* each party's nick as of now, for TARGETS and finding it by nick
	 * (the line may fail below: the nicks are still the current ones) */
	history_set_nick(&t->party[history_party_index(t, to)], to_nick);
	history_set_nick(&t->party[history_party_index(t, from)], from_nick);
	return history_add(h, t, ms, msgid, line, len);
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
