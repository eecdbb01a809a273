/*
 * fanout: the master's pass over newly committed ring records. For each
 * record, in ring order, it resolves the target against the directory (the
 * members of a channel, with the sender's right to speak there checked, a
 * nick, a slot, several channels de-duplicated, or everyone) to slots,
 * appends the record to each inbox and queues one wake-up per sleeping
 * worker. What it cannot deliver it reports to the messaging commands
 * (cmd_msg_report), which answer the sender. Per record the work is
 * proportional to the number of recipients, never to the number of
 * connections. Master only.
 */
#ifndef SHMCHAT_FANOUT_H
#define SHMCHAT_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

struct dir_chan;
struct dirsvc;
struct ring;

struct fanout_slot {
	uint64_t mark;		/* de-duplication stamp of the record being resolved */
	bool wake_queued;
	bool lazy_queued;	/* a lazy wake is owed (fanout_lazy_due) */
	bool gone;		/* its worker exited: deliver nothing more */
};

struct fanout {
	uint32_t nslots;
	struct fanout_slot *slots;
	uint32_t *recips;	/* scratch: one record's recipients */
	uint32_t *wakes;	/* slots to wake after the pass */
	uint32_t nwakes;
	uint32_t *lazy;		/* slots owed a wake for lazy records only */
	uint32_t nlazy;
	uint64_t lazy_due;	/* clock_ms() by which they are woken */
	uint64_t delivered;	/* inbox entries, for statistics */
	int report;		/* the record's outcome for its sender (enum
				 * cmd_msg_outcome) or -1, told once it is delivered */
	uint32_t report_to;
	bool remote;		/* scratch: the record has recipients on other nodes */
	/* scratch: where the history keeps the record (cmd_hist.h), if it does */
	const struct dir_chan *hist_chan;
	int64_t hist_to;
	/* a stuck fan-out or full ring: since when (ms), and who holds it */
	bool stalled;
	uint32_t stall_slot;
	uint64_t stall_since;
};

enum fanout_result {
	FANOUT_CAUGHT_UP,	/* every committed record is delivered */
	FANOUT_MORE,		/* the budget ran out: call again soon */
	FANOUT_BLOCKED,		/* waits on a publisher or a full inbox */
};

int fanout_init(struct fanout *f, uint32_t nslots);
void fanout_free(struct fanout *f);
/* deliver up to budget records */
enum fanout_result fanout_run(struct fanout *f, struct dirsvc *ds, unsigned budget);
/* queue a wake-up for a slot (idempotent until the caller takes f->wakes) */
void fanout_queue_wake(struct fanout *f, uint32_t slot);
/* the caller sent the queued wake-ups */
void fanout_wakes_sent(struct fanout *f);
/*
 * Lazy wake-ups. An announcement (RING_F_LAZY) to at least
 * FANOUT_LAZY_MIN recipients does not wake sleeping workers at once:
 * they are woken within FANOUT_LAZY_US per recipient (at most
 * FANOUT_LAZY_MAX_MS), so a flood of JOINs into a big channel reaches
 * each member in batches instead of one wake-up per line: members of a
 * channel of 1,000 see a JOIN within 200 ms, of 5,000 or more within a
 * second, and the wake-ups per second such a flood costs stay about
 * 1 / FANOUT_LAZY_US whatever the channel's size. Anything else
 * for a worker (a message, an answer) wakes it at once, with what waited
 * before it, in order.
 */
#define FANOUT_LAZY_MIN		32
#define FANOUT_LAZY_US		200
#define FANOUT_LAZY_MAX_MS	1000
/* ms until the owed lazy wakes are due (0: now), -1 when none is owed */
int fanout_lazy_timeout(const struct fanout *f, uint64_t now);
/* queue the owed lazy wakes (now, or when due or forced) as ordinary ones */
void fanout_lazy_flush(struct fanout *f, struct ring *r, uint64_t now, bool force);
/* slot holds the ring back (since now, unless it already did) */
void fanout_stall(struct fanout *f, uint32_t slot);

#endif
