/* ring: shared-memory records, per-slot inboxes (contract in ring.h) */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "ring.h"

#define ALIGN8(x)	(((x) + 7) & ~(uint64_t)7)
#define ALIGN64(x)	(((x) + 63) & ~(uint64_t)63)
#define PAGE_ALIGN(x)	(((x) + 4095) & ~(uint64_t)4095)

size_t
ring_segment_size(uint32_t nslots, uint32_t inbox_size, uint64_t cap)
{
	uint64_t off = ALIGN64(sizeof(struct ring_hdr));

	off += (uint64_t)nslots * sizeof(struct ring_slot);
	off = PAGE_ALIGN(off);
	off += (uint64_t)nslots * inbox_size * sizeof(uint32_t);
	off = PAGE_ALIGN(off);
	return off + cap;
}

static void
ring_view(struct ring *r, void *mem)
{
	struct ring_hdr *h = mem;

	r->hdr = h;
	r->slots = (struct ring_slot *)((char *)mem + h->slots_off);
	r->inbox = (uint32_t *)((char *)mem + h->inbox_off);
	r->data = (char *)mem + h->data_off;
	r->cap = h->cap;
	r->nslots = h->nslots;
	r->inbox_size = h->inbox_size;
}

int
ring_init(struct ring *r, void *mem, size_t size, uint32_t nslots,
    uint32_t inbox_size, uint64_t cap)
{
	struct ring_hdr *h = mem;
	pthread_mutexattr_t ma;
	int rc;

	if (cap % 8 || cap < 2 * RING_REC_MAX || inbox_size == 0 || nslots == 0 ||
	    (uint64_t)nslots * inbox_size > UINT32_MAX ||
	    (inbox_size & (inbox_size - 1)) || cap / 8 > UINT32_MAX ||
	    size < ring_segment_size(nslots, inbox_size, cap))
		return -EINVAL;
	h->magic = RING_MAGIC;
	h->version = RING_VERSION;
	h->nslots = nslots;
	h->inbox_size = inbox_size;
	h->cap = cap;
	h->slots_off = ALIGN64(sizeof *h);
	h->inbox_off = PAGE_ALIGN(h->slots_off + (uint64_t)nslots * sizeof(struct ring_slot));
	h->data_off = PAGE_ALIGN(h->inbox_off + (uint64_t)nslots * inbox_size * sizeof(uint32_t));
	h->total = h->data_off + cap;

	if ((rc = pthread_mutexattr_init(&ma)) != 0)
		return -rc;
	if ((rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED)) != 0 ||
	    (rc = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (rc = pthread_mutex_init(&h->lock, &ma)) != 0) {
		pthread_mutexattr_destroy(&ma);
		return -rc;
	}
	pthread_mutexattr_destroy(&ma);
	atomic_init(&h->head, 0);
	atomic_init(&h->tail, 0);
	atomic_init(&h->fanout, 0);
	atomic_init(&h->doorbell, 0);
	ring_view(r, mem);
	return 0;
}

int
ring_attach(struct ring *r, void *mem, size_t size)
{
	const struct ring_hdr *h = mem;

	if (size < sizeof *h || h->magic != RING_MAGIC || h->version != RING_VERSION ||
	    h->total > size || h->nslots == 0 || h->inbox_size == 0 ||
	    ring_segment_size(h->nslots, h->inbox_size, h->cap) > size)
		return -EINVAL;
	ring_view(r, mem);
	return 0;
}

static inline struct ring_rec *
ring_rec_at(const struct ring *r, uint64_t pos)
{
	return (struct ring_rec *)(r->data + pos % r->cap);
}

static int
ring_lock(struct ring *r)
{
	int rc = pthread_mutex_lock(&r->hdr->lock);

	if (rc == EOWNERDEAD) {
		/*
		 * A publisher died holding the lock. Head only moves after the
		 * record header below it is complete, so the state is already
		 * consistent; its half-written record is abandoned by the master.
		 */
		pthread_mutex_consistent(&r->hdr->lock);
		rc = 0;
	}
	return -rc;
}

uint64_t
ring_used(const struct ring *r)
{
	return atomic_load_explicit(&r->hdr->head, memory_order_relaxed) -
	    atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
}

uint64_t
ring_free_bytes(const struct ring *r)
{
	return r->cap - ring_used(r);
}

int
ring_publish(struct ring *r, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const void *payload, size_t len, bool *rang)
{
	struct ring_hdr *h = r->hdr;
	size_t elen = t->extra_len + (t->event != NULL ? t->event_len : 0);
	size_t need = ALIGN8(sizeof(struct ring_rec) + elen + len);
	struct ring_rec *rec;
	uint64_t head, tail, gap;
	int rc;

	if (rang != NULL)
		*rang = false;
	if (need > RING_REC_MAX || elen > RING_EXTRA_MAX || len > UINT16_MAX)
		return -EMSGSIZE;
	if ((rc = ring_lock(r)) < 0)
		return rc;
	head = atomic_load_explicit(&h->head, memory_order_relaxed);
	tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	gap = r->cap - head % r->cap;	/* bytes left before the end of data */
	if (gap < need) {
		/* pad to the end so the record stays contiguous */
		if (head + gap + need - tail > r->cap) {
			pthread_mutex_unlock(&h->lock);
			return -EAGAIN;
		}
		rec = ring_rec_at(r, head);
		rec->size = gap;
		atomic_store_explicit(&rec->state, RING_PAD, memory_order_release);
		head += gap;
	} else if (head + need - tail > r->cap) {
		pthread_mutex_unlock(&h->lock);
		return -EAGAIN;
	}
	rec = ring_rec_at(r, head);
	rec->size = need;
	rec->owner = owner;
	rec->owner_gen = owner_gen;
	rec->target_id = t->id;
	rec->target_gen = t->gen;
	rec->kind = t->kind;
	rec->flags = t->flags;
	rec->extra_len = elen;
	rec->event_len = elen - t->extra_len;
	rec->payload_len = len;
	rec->cap_need = t->cap_need;
	rec->cap_deny = t->cap_deny;
	atomic_store_explicit(&rec->state, RING_RESERVED, memory_order_relaxed);
	/* the header is complete before head moves past it (see ring_lock) */
	atomic_store_explicit(&h->head, head + need, memory_order_release);
	h->published++;
	pthread_mutex_unlock(&h->lock);

	if (t->extra_len)
		memcpy(rec + 1, t->extra, t->extra_len);
	if (rec->event_len)
		memcpy((char *)(rec + 1) + t->extra_len, t->event, rec->event_len);
	if (len)
		memcpy((char *)(rec + 1) + elen, payload, len);
	atomic_store_explicit(&rec->state, RING_COMMITTED, memory_order_release);
	/*
	 * The master runs fan-out itself and passes rang == NULL: ringing here
	 * after its fan-out pass cleared the flag would leave it set, and no
	 * publisher would wake the master again.
	 */
	if (rang != NULL)
		*rang = atomic_exchange(&h->doorbell, 1) == 0;
	return 0;
}

bool
ring_rec_event(const struct ring_rec *rec, struct ring_event *ev, const char **data)
{
	const char *p;

	if (rec->event_len < sizeof *ev || rec->event_len > rec->extra_len)
		return false;
	p = ring_rec_extra(rec) + ring_rec_target_len(rec);
	memcpy(ev, p, sizeof *ev);
	if (sizeof *ev + ev->len > rec->event_len)
		return false;
	*data = p + sizeof *ev;
	return true;
}

/* ---------------------------------------------------------------- worker */

static inline uint32_t *
ring_inbox_of(struct ring *r, uint32_t slot)
{
	return r->inbox + (size_t)slot * r->inbox_size;
}

const struct ring_rec *
ring_inbox_peek_at(struct ring *r, uint32_t slot, uint32_t i)
{
	struct ring_slot *s = &r->slots[slot];
	uint32_t tail = atomic_load_explicit(&s->inbox_tail, memory_order_relaxed);
	uint32_t off;

	if (atomic_load_explicit(&s->inbox_head, memory_order_acquire) - tail <= i)
		return NULL;
	off = ring_inbox_of(r, slot)[(tail + i) & (r->inbox_size - 1)];
	return (const struct ring_rec *)(r->data + (uint64_t)off * 8);
}

void
ring_inbox_pop_n(struct ring *r, uint32_t slot, uint32_t n)
{
	struct ring_slot *s = &r->slots[slot];

	/*
	 * Our reads of the records happen before the master may reuse them
	 * (release); seq_cst also orders it against ring_drain_notify_due's
	 * load, pairing with the master's request then re-read of the tail.
	 */
	atomic_fetch_add(&s->inbox_tail, n);
}

bool
ring_sleep_prepare(struct ring *r, uint32_t slot)
{
	struct ring_slot *s = &r->slots[slot];

	atomic_store(&s->sleeping, 1);	/* seq_cst: pairs with ring_inbox_push */
	if (atomic_load(&s->inbox_head) != atomic_load_explicit(&s->inbox_tail,
	    memory_order_relaxed)) {
		atomic_store(&s->sleeping, 0);
		return false;
	}
	return true;
}

void
ring_sleep_cancel(struct ring *r, uint32_t slot)
{
	atomic_store(&r->slots[slot].sleeping, 0);
}

bool
ring_drain_notify_due(struct ring *r, uint32_t slot)
{
	struct ring_slot *s = &r->slots[slot];

	return atomic_load(&s->drain_notify) && atomic_exchange(&s->drain_notify, 0) == 1;
}

/* ---------------------------------------------------------------- master */

void
ring_drain_notify_request(struct ring *r, uint32_t slot)
{
	atomic_store(&r->slots[slot].drain_notify, 1);
}

void
ring_doorbell_clear(struct ring *r)
{
	atomic_store(&r->hdr->doorbell, 0);
}

int
ring_fanout_peek(struct ring *r, const struct ring_rec **recp, uint64_t *posp)
{
	struct ring_hdr *h = r->hdr;
	uint64_t pos = atomic_load_explicit(&h->fanout, memory_order_relaxed);

	for (;;) {
		uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
		struct ring_rec *rec;
		uint32_t st;

		if (pos == head)
			return 0;
		rec = ring_rec_at(r, pos);
		st = atomic_load_explicit(&rec->state, memory_order_acquire);
		if (st == RING_PAD || st == RING_ABANDONED) {
			pos += rec->size;
			atomic_store_explicit(&h->fanout, pos, memory_order_relaxed);
			continue;
		}
		*recp = rec;
		*posp = pos;
		return st == RING_COMMITTED ? 1 : -EINPROGRESS;
	}
}

void
ring_fanout_advance(struct ring *r)
{
	struct ring_hdr *h = r->hdr;
	uint64_t pos = atomic_load_explicit(&h->fanout, memory_order_relaxed);

	atomic_store_explicit(&h->fanout, pos + ring_rec_at(r, pos)->size,
	    memory_order_release);
}

uint32_t
ring_inbox_room(struct ring *r, uint32_t slot)
{
	struct ring_slot *s = &r->slots[slot];
	uint32_t used = atomic_load_explicit(&s->inbox_head, memory_order_relaxed) -
	    atomic_load_explicit(&s->inbox_tail, memory_order_acquire);

	return r->inbox_size - used;
}

bool
ring_inbox_push_lazy(struct ring *r, uint32_t slot, uint64_t pos)
{
	struct ring_slot *s = &r->slots[slot];
	uint32_t head = atomic_load_explicit(&s->inbox_head, memory_order_relaxed);

	ring_inbox_of(r, slot)[head & (r->inbox_size - 1)] = (uint32_t)((pos % r->cap) / 8);
	atomic_store(&s->inbox_head, head + 1);	/* seq_cst: pairs with sleep_prepare */
	return atomic_load(&s->sleeping) != 0;
}

bool
ring_inbox_take_wake(struct ring *r, uint32_t slot)
{
	struct ring_slot *s = &r->slots[slot];

	return atomic_load(&s->sleeping) && atomic_exchange(&s->sleeping, 0) == 1;
}

bool
ring_inbox_push(struct ring *r, uint32_t slot, uint64_t pos)
{
	return ring_inbox_push_lazy(r, slot, pos) && ring_inbox_take_wake(r, slot);
}

void
ring_inbox_reset(struct ring *r, uint32_t slot)
{
	struct ring_slot *s = &r->slots[slot];

	atomic_store(&s->inbox_head, 0);
	atomic_store(&s->inbox_tail, 0);
	atomic_store(&s->last_active, 0);
	atomic_store(&s->bytes_in, 0);
	atomic_store(&s->bytes_out, 0);
	atomic_store(&s->sleeping, 0);
	atomic_store(&s->drain_notify, 0);
}

uint64_t
ring_inbox_oldest(struct ring *r, uint32_t slot)
{
	struct ring_slot *s = &r->slots[slot];
	uint32_t tail = atomic_load_explicit(&s->inbox_tail, memory_order_acquire);
	uint64_t cur_tail, off;

	if (atomic_load_explicit(&s->inbox_head, memory_order_relaxed) == tail)
		return UINT64_MAX;
	off = (uint64_t)ring_inbox_of(r, slot)[tail & (r->inbox_size - 1)] * 8;
	/* queued records lie in [tail, tail + cap): rebuild the full position */
	cur_tail = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
	return cur_tail + (off + r->cap - cur_tail % r->cap) % r->cap;
}

int
ring_abandon(struct ring *r, uint32_t owner, uint32_t owner_gen)
{
	struct ring_hdr *h = r->hdr;
	uint64_t pos = atomic_load_explicit(&h->fanout, memory_order_relaxed);
	uint64_t head;
	int n = 0;

	/* hold the lock so head is stable and nobody is mid-reservation */
	if (ring_lock(r) < 0)
		return 0;
	head = atomic_load_explicit(&h->head, memory_order_relaxed);
	while (pos < head) {
		struct ring_rec *rec = ring_rec_at(r, pos);
		uint32_t st = atomic_load_explicit(&rec->state, memory_order_acquire);

		if (st == RING_RESERVED && rec->owner == owner &&
		    rec->owner_gen == owner_gen) {
			atomic_store_explicit(&rec->state, RING_ABANDONED,
			    memory_order_release);
			n++;
		}
		pos += rec->size;
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

uint64_t
ring_reclaim(struct ring *r, const uint32_t *live, size_t nlive)
{
	struct ring_hdr *h = r->hdr;
	uint64_t min = atomic_load_explicit(&h->fanout, memory_order_acquire);

	for (size_t i = 0; i < nlive; i++) {
		uint64_t o = ring_inbox_oldest(r, live[i]);
		if (o < min)
			min = o;
	}
	if (min > atomic_load_explicit(&h->tail, memory_order_relaxed))
		atomic_store_explicit(&h->tail, min, memory_order_release);
	return atomic_load_explicit(&h->tail, memory_order_relaxed);
}
