/*
 * admin: the process that serves shmchatctl. msgrcv() cannot be polled,
 * so this small process blocks on the SysV queue, validates each request,
 * forwards it to the master over its socketpair, and turns the master's
 * answer into numbered reply parts on the queue (mtype = requester pid).
 * It never blocks forever on a full queue: replies to a requester that is
 * gone are dropped and logged.
 */
#ifndef SHMCHAT_ADMIN_H
#define SHMCHAT_ADMIN_H

#include <stdint.h>

/*
 * The child side of fork(): serve until the queue is removed, the master
 * dies, or a retire request carrying token comes (ADMINQ_RETIRE: after an
 * upgrade in place, the new image starts an admin process of its own code).
 */
int admin_run(int qid, int ipc_fd, uint64_t token);

#endif
