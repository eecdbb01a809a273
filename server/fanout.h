/*
 * fanout: the master's pass over newly committed ring records. For each
 * record, in ring order, it resolves the target (channel members who joined
 * before the record, a nick, a slot, several channels de-duplicated, or
 * everyone) to slots, appends the record to each inbox and queues one
 * wake-up per sleeping worker. Per record the work is proportional to the
 * number of recipients, never to the number of connections.
 */
#ifndef SHMCHAT_FANOUT_H
#define SHMCHAT_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

struct master;

/*
 * Run until the cursor reaches head, waits on an uncommitted record, meets
 * a full inbox, or has done `budget` records. Returns true when more
 * committed records are ready (call again soon).
 */
bool fanout_run(struct master *m, unsigned budget);
/* send the queued wake-ups */
void fanout_flush_wakes(struct master *m);
/* queue a wake-up for a slot (idempotent until flushed) */
void fanout_queue_wake(struct master *m, uint32_t slot);

#endif
