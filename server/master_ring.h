/*
 * master_ring: keeping the shared ring moving: fan-out passes, space
 * reclaimed behind the slowest reader, the master's queued records
 * published, publishers that waited for space woken, and a worker that
 * holds the ring back past stall_timeout cut loose.
 */
#ifndef SHMCHAT_MASTER_RING_H
#define SHMCHAT_MASTER_RING_H

#include <stdbool.h>

#include "fanout.h"

struct master;

/* a fan-out pass (when one is due; caught up otherwise) */
enum fanout_result master_ring_fanout(struct master *m);
/* after the passes of a turn: reclaim, flush, wake; send the wake-ups */
void master_ring_upkeep(struct master *m);
/* the wake-ups fan-out queued, and the lazy ones owed (all of them: force_lazy) */
void master_ring_send_wakes(struct master *m, bool force_lazy);
/* epoll_wait's timeout: ms until lazy wake-ups are due, or -1 */
int master_ring_timeout(const struct master *m);
/* on the tick: retry a stuck fan-out, kill a worker stuck past stall_timeout */
void master_ring_tick(struct master *m, uint64_t now_ms);
/* slot's worker is gone: it holds nothing back any more */
void master_ring_forget(struct master *m, uint32_t slot);

#endif
