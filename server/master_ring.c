/* master_ring: fan-out passes, reclaiming, waking, stalls */
#include <config.h>

#include "clock.h"
#include "log.h"
#include "master_ring.h"
#include "master_state.h"
#include "master_worker.h"

#define FANOUT_BUDGET	4096	/* records per pass */

enum fanout_result
master_ring_fanout(struct master *m)
{
	enum fanout_result r;

	if (!m->ds.fanout_due)
		return m->fanout.stalled ? FANOUT_BLOCKED : FANOUT_CAUGHT_UP;
	r = fanout_run(&m->fanout, &m->ds, FANOUT_BUDGET);
	/* blocked: the publisher rings when it commits, the tick retries a
	 * full inbox; what the pass published itself it delivered already */
	m->ds.fanout_due = r == FANOUT_MORE;
	return r;
}

void
master_ring_send_wakes(struct master *m, bool force_lazy)
{
	struct fanout *f = &m->fanout;

	fanout_lazy_flush(f, &m->ring, clock_ms(), force_lazy);
	for (uint32_t i = 0; i < f->nwakes; i++) {
		struct ipc_hdr h;
		master_worker_send(m, f->wakes[i], IPC_WAKE, &h, sizeof h);
	}
	fanout_wakes_sent(f);
}

void
master_ring_upkeep(struct master *m)
{
	bool want = m->nwaiters > 0 || buf_used(&m->ds.pending) > 0 ||
	    ring_used(&m->ring) > m->ring.cap / 2;

	if (want) {
		ring_reclaim(&m->ring, m->live, m->nlive);
		dirsvc_flush_pending(&m->ds);
		/* wake publishers only once there is room worth retrying for */
		if (m->nwaiters > 0 && ring_free_bytes(&m->ring) >= 2 * RING_REC_MAX) {
			for (uint32_t i = 0; i < m->nwaiters; i++) {
				m->slots[m->waiters[i]].space_wait = false;
				fanout_queue_wake(&m->fanout, m->waiters[i]);
			}
			m->nwaiters = 0;
		}
		if (m->nwaiters > 0 && ring_free_bytes(&m->ring) < 2 * RING_REC_MAX) {
			/* full: who holds the tail back? the oldest unread inbox */
			uint64_t min = UINT64_MAX;
			uint32_t holder = UINT32_MAX;
			for (uint32_t i = 0; i < m->nlive; i++) {
				uint64_t o = ring_inbox_oldest(&m->ring, m->live[i]);
				if (o < min) {
					min = o;
					holder = m->live[i];
				}
			}
			if (holder != UINT32_MAX) {
				ring_drain_notify_request(&m->ring, holder);
				fanout_queue_wake(&m->fanout, holder);
				fanout_stall(&m->fanout, holder);
			}
		}
	}
	/* the ring filling up: lazy wakes hold its tail back, send them now */
	master_ring_send_wakes(m, want);
}

int
master_ring_timeout(const struct master *m)
{
	return fanout_lazy_timeout(&m->fanout, clock_ms());
}

void
master_ring_tick(struct master *m, uint64_t now_ms)
{
	struct fanout *f = &m->fanout;
	struct mslot *ms;

	if (!f->stalled)
		return;
	m->ds.fanout_due = true;	/* retry a stuck fan-out */
	if (now_ms - f->stall_since < (uint64_t)m->cfg->stall_timeout * 1000)
		return;
	if (f->stall_slot >= m->nslots || (ms = &m->slots[f->stall_slot])->pid == 0) {
		f->stalled = false;
		return;
	}
	log_warnx("worker %ld (slot %u) has held the shared ring for %d s; cutting it loose",
	    (long)ms->pid, f->stall_slot, m->cfg->stall_timeout);
	master_slot_kill(ms);
	f->stall_since = now_ms;
}

void
master_ring_forget(struct master *m, uint32_t slot)
{
	m->fanout.slots[slot].gone = true;
	for (uint32_t i = 0; i < m->nwaiters; i++)
		if (m->waiters[i] == slot) {
			m->waiters[i] = m->waiters[--m->nwaiters];
			break;
		}
	if (m->fanout.stalled && m->fanout.stall_slot == slot)
		m->fanout.stalled = false;
	m->ds.fanout_due = true;
}
