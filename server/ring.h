/*
 * ring: the shared-memory message path between shmchatd's processes.
 *
 * Layout of the segment (created by the master before any fork, inherited
 * by every worker through fork):
 *
 *   struct ring_hdr          lock, head, tail, fan-out cursor, doorbell, stats
 *   struct ring_slot[n]      per client: inbox head/tail, sleeping flag
 *   uint32_t inbox[n][m]     per client: ring offsets of records to deliver
 *   data[cap]                the records themselves (variable size, 8-aligned)
 *
 * A record is published once and read by every recipient; fan-out reads
 * record headers only (the history copies the lines of PRIVMSG and NOTICE
 * records once they are delivered: cmd_hist.h).
 *
 * CONCURRENCY CONTRACT
 *
 * Positions (head, tail, fanout, record positions) are 64-bit byte counts
 * that only grow; offset = position % cap. Records never straddle the end of
 * the data area: a PAD record fills the gap instead.
 *
 * hdr->lock     process-shared ROBUST mutex; held only to reserve space:
 *               check head - tail, write the record header with state
 *               RESERVED, then advance head. A holder killed inside leaves
 *               head consistent (the header is written before head moves);
 *               the next locker gets EOWNERDEAD and marks it consistent.
 * hdr->head     written under lock by publishers (any process).
 * hdr->tail     written by the master only (ring_reclaim), read by
 *               publishers under lock. Space below tail is free.
 * rec->state    RESERVED (under lock) -> COMMITTED by the publisher after
 *               copying the payload (release store), or -> ABANDONED by the
 *               master after reaping a publisher that died in between.
 * hdr->fanout   written by the master only: everything before it has been
 *               handed to recipients' inboxes. It stops at the first
 *               RESERVED record, so recipients see one global order, which
 *               includes each sender's own order.
 * hdr->doorbell set to 1 by a publisher after committing; whoever turns it
 *               from 0 to 1 tells the master over its socketpair. The master
 *               clears it before each fan-out pass, so no commit is missed
 *               and the master gets one wake per pass, not one per message.
 *               The master's own records never ring it (it runs fan-out
 *               itself): set after a pass cleared it, nobody would wake
 *               the master again.
 * slot->inbox_head  written by the master only (after writing the entry).
 * slot->inbox_tail  written by that slot's worker only, after it has copied
 *               the record out: the master may reuse the record's space
 *               only when no live slot's inbox still holds it.
 * slot->sleeping  the worker sets it before blocking and re-checks its
 *               inbox; the master exchanges it to 0 after pushing, and only
 *               when it was 1 does it send a wake-up over the socketpair.
 *               For a lazy record (RING_F_LAZY) the master may leave the
 *               flag set and owe the wake a little longer
 *               (ring_inbox_push_lazy, then ring_inbox_take_wake): the
 *               worker still finds the entry if it wakes for anything else.
 *
 * Overwrite safety: tail = min(fanout, the oldest record still queued in a
 * live slot's inbox), computed by the master. So a record is never reused
 * before every live recipient has taken it. Dead slots do not count: when a
 * worker dies its slot is freed (generation bumped) and its inbox dropped.
 *
 * Failure of a participant: a dead publisher's RESERVED records are marked
 * ABANDONED (ring_abandon) when the master reaps it; a dead reader simply
 * stops counting for the tail. A live but stuck process (stopped, starved)
 * can hold the fan-out cursor (RESERVED record) or the tail (full inbox,
 * unread record): the master measures how long and cuts it loose after
 * stall_timeout. Nobody else ever waits on it: publishers that find the
 * ring full stop reading their own client (back-pressure on the sender)
 * and are woken by the master when space returns.
 */
#ifndef SHMCHAT_RING_H
#define SHMCHAT_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RING_MAGIC		0x73686d63u	/* "shmc" */
#define RING_VERSION		3
#define RING_OWNER_MASTER	UINT32_MAX
#define RING_REC_MAX		16384	/* bytes, header included */
#define RING_EXTRA_MAX		1024

enum ring_state {
	RING_FREE = 0,
	RING_RESERVED = 1,
	RING_COMMITTED = 2,
	RING_ABANDONED = 3,
	RING_PAD = 4,
};

/* who receives a record; resolved by the master at fan-out */
enum ring_kind {
	RING_TO_CHAN = 1,	/* members of channel (id, gen) */
	RING_TO_SLOT = 2,	/* one client (id, gen) */
	RING_TO_NICK = 3,	/* a client's message to the nick in extra */
	RING_TO_CHANS = 4,	/* members of the (id, gen) pairs in extra, once each */
	RING_TO_ALL = 5,	/* every registered client; with id != 0, those
				 * having one of the user modes in id (dir.h) */
	RING_ACK = 6,		/* one client (id, gen): the answer to its request;
				 * extra is struct ring_ack, payload its reply lines */
	RING_MSG_CHAN = 7,	/* a client's message to the channel named in extra:
				 * whether it may speak there is decided at fan-out */
};

enum ring_flags {
	RING_F_EXCLUDE_ORIGIN = 1 << 0,	/* not back to the publishing slot */
	RING_F_INCLUDE_TARGET = 1 << 1,	/* TO_CHANS: also slot (id, gen) */
	RING_F_REPLY_ERRORS = 1 << 2,	/* TO_NICK, MSG_CHAN: tell the origin why it was
					 * not delivered (PRIVMSG, not NOTICE) */
	RING_F_TAGGED = 1 << 3,		/* the payload is one line that starts with the
					 * server's stamp (irctags.h): each worker keeps
					 * of the tags what its client asked for */
	RING_F_ECHO = 1 << 4,		/* TO_NICK: back to the origin too, once
					 * delivered (IRCv3 echo-message) */
	RING_F_LAZY = 1 << 5,		/* an announcement nobody waits on (JOIN,
					 * PART, QUIT, NICK, MODE...): to many
					 * recipients, fan-out may wake them later
					 * (fanout.h) */
};

struct ring_rec {
	_Atomic uint32_t state;
	uint32_t size;		/* whole record, 8-aligned */
	uint32_t owner;		/* publishing slot or RING_OWNER_MASTER */
	uint32_t owner_gen;
	uint32_t target_id;
	uint32_t target_gen;
	uint8_t kind;
	uint8_t flags;
	uint16_t extra_len;	/* bytes after the header: target data, then the event */
	uint16_t payload_len;	/* bytes of CR LF terminated lines after extra */
	uint16_t event_len;	/* the last bytes of extra: a struct ring_event, or 0 */
	/* IRCv3 capabilities (cap.h) a recipient must have, and must not
	 * have: fan-out delivers by them (extended-join, away-notify...) */
	uint16_t cap_need, cap_deny;
	uint32_t pad;		/* the payload starts 8-aligned */
};
_Static_assert(sizeof(struct ring_rec) % 8 == 0, "records stay 8-aligned");

/*
 * A directory change that concerns one client's own state, carried by the
 * record that announces it (so it reaches that client's worker in the
 * ring's order, with the lines its client sees). Workers act on events
 * whose (slot, gen) is theirs.
 */
enum ring_event_type {
	RING_EV_NICK = 1,	/* the client's nick is now data */
	RING_EV_HOST = 2,	/* the client's host is now data (CHGHOST) */
};

struct ring_event {
	uint16_t type;
	uint16_t len;		/* bytes of data */
	uint32_t slot, gen;
	char data[];
};

/* a channel in a RING_TO_CHANS record's target data */
struct ring_chanref {
	uint32_t id, gen;
};

/* the answer to a worker's request (RING_ACK records) */
struct ring_ack {
	uint32_t req_id;	/* the worker's request id */
	uint16_t status;	/* enum cmd_status (cmd_row.h) */
	uint16_t pad;
};

struct ring_hdr {
	uint32_t magic, version;
	uint32_t nslots, inbox_size;
	uint64_t cap;
	uint64_t slots_off, inbox_off, data_off, total;
	pthread_mutex_t lock;
	_Alignas(64) _Atomic uint64_t head;
	uint64_t published;	/* records, under lock */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint64_t fanout;
	_Alignas(64) _Atomic uint32_t doorbell;
};

struct ring_slot {
	_Atomic uint32_t inbox_head;
	_Atomic uint32_t sleeping;
	_Atomic uint32_t drain_notify;	/* master waits for this inbox to drain */
	char pad0[64 - 3 * sizeof(uint32_t)];
	_Atomic uint32_t inbox_tail;
	/* the worker's own statistics, read by the master for shmchatctl who */
	_Atomic uint32_t last_active;	/* CLOCK_MONOTONIC seconds of the last message sent */
	_Atomic uint64_t bytes_in, bytes_out;
	char pad1[64 - 2 * sizeof(uint32_t) - 2 * sizeof(uint64_t)];
};

/* process-local view of the mapping; plain pointers, valid after fork */
struct ring {
	struct ring_hdr *hdr;
	struct ring_slot *slots;
	uint32_t *inbox;
	char *data;
	uint64_t cap;
	uint32_t nslots, inbox_size;
};

struct ring_target {
	enum ring_kind kind;
	uint32_t flags;
	uint32_t id, gen;
	const void *extra;	/* target data */
	size_t extra_len;
	const struct ring_event *event;	/* or NULL */
	size_t event_len;	/* sizeof *event + event->len */
	uint16_t cap_need, cap_deny;	/* see struct ring_rec */
};

/* where the next record will be published (records from here on are new) */
static inline uint64_t ring_head(const struct ring *r)
{ return atomic_load_explicit(&r->hdr->head, memory_order_acquire); }

/* bytes of shared memory needed */
size_t ring_segment_size(uint32_t nslots, uint32_t inbox_size, uint64_t cap);
/* master, once: format mem (zeroed) and fill r; returns 0 or -errno */
int ring_init(struct ring *r, void *mem, size_t size, uint32_t nslots,
    uint32_t inbox_size, uint64_t cap);
/* another program (the fork server): fill r from a segment ring_init()
 * formatted, mapped at mem; returns 0 or -EINVAL if it is not one */
int ring_attach(struct ring *r, void *mem, size_t size);

/*
 * Publish payload (whole CR LF lines) to target. Returns 0, -EAGAIN when the
 * ring has no room now (retry after the master wakes you), -EMSGSIZE when
 * the record can never fit. *rang is set when the caller rang the doorbell
 * (turned it from 0 to 1) and so must tell the
 * master that records are waiting. The master, which runs fan-out itself,
 * passes rang == NULL and leaves the doorbell alone.
 */
int ring_publish(struct ring *r, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const void *payload, size_t len, bool *rang);
/* free bytes right now (publishers use it to decide when to retry) */
uint64_t ring_free_bytes(const struct ring *r);

/* worker side: the i-th record queued for slot (0: the next; NULL when
 * there are no more), valid until popped */
const struct ring_rec *ring_inbox_peek_at(struct ring *r, uint32_t slot, uint32_t i);
void ring_inbox_pop_n(struct ring *r, uint32_t slot, uint32_t n);
/* before blocking: true if the caller may sleep, false if entries arrived */
bool ring_sleep_prepare(struct ring *r, uint32_t slot);
void ring_sleep_cancel(struct ring *r, uint32_t slot);
/* after popping: true when the master asked to hear that this inbox drained */
bool ring_drain_notify_due(struct ring *r, uint32_t slot);
static inline const char *ring_rec_extra(const struct ring_rec *rec)
{ return (const char *)(rec + 1); }
static inline const char *ring_rec_payload(const struct ring_rec *rec)
{ return (const char *)(rec + 1) + rec->extra_len; }
/* bytes of target data in extra (the event, if any, follows them) */
static inline size_t ring_rec_target_len(const struct ring_rec *rec)
{ return rec->extra_len - rec->event_len; }
/* the record's event: true with its header copied to *ev (the bytes may be
 * unaligned) and *data at its ev->len bytes; false when it has none */
bool ring_rec_event(const struct ring_rec *rec, struct ring_event *ev, const char **data);

/* master side */
/* clear the doorbell; call before each fan-out pass */
void ring_doorbell_clear(struct ring *r);
/*
 * The record at the fan-out cursor: 1 and *rec when one is committed,
 * 0 when the cursor reached head, -EINPROGRESS when it waits on a RESERVED
 * record (*rec set, so the caller can see the owner).
 */
int ring_fanout_peek(struct ring *r, const struct ring_rec **rec, uint64_t *pos);
void ring_fanout_advance(struct ring *r);
uint32_t ring_inbox_room(struct ring *r, uint32_t slot);
/* ask slot's worker to send IPC_FANOUT once it has taken entries out */
void ring_drain_notify_request(struct ring *r, uint32_t slot);
/* push the record at pos into slot's inbox (caller checked room); true if the slot sleeps and needs a wake */
bool ring_inbox_push(struct ring *r, uint32_t slot, uint64_t pos);
/* the same, leaving the sleeping flag set: true if a wake is owed, to be
 * taken later with ring_inbox_take_wake() */
bool ring_inbox_push_lazy(struct ring *r, uint32_t slot, uint64_t pos);
/* take slot's wake-up: true if it still sleeps (the caller wakes it) */
bool ring_inbox_take_wake(struct ring *r, uint32_t slot);
/* forget a dead or new slot's inbox */
void ring_inbox_reset(struct ring *r, uint32_t slot);
/* oldest position still queued in slot's inbox, or UINT64_MAX */
uint64_t ring_inbox_oldest(struct ring *r, uint32_t slot);
/* mark RESERVED records of a dead publisher ABANDONED; returns how many */
int ring_abandon(struct ring *r, uint32_t owner, uint32_t owner_gen);
/* move tail to min(fanout, oldest queued in live slots); returns the new tail */
uint64_t ring_reclaim(struct ring *r, const uint32_t *live, size_t nlive);
uint64_t ring_used(const struct ring *r);

#endif
