/*
 * master_worker: the master's side of each worker's socketpair: what a
 * worker says (run fan-out, wait for ring space, a directory request,
 * EOF), and what the master tells it (wake up, settings, close).
 */
#ifndef SHMCHAT_MASTER_WORKER_H
#define SHMCHAT_MASTER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc_proto.h"

struct master;

/* watch slot's channel (its peer was initialised on sp[0]); 0 or -errno */
int master_worker_watch(struct master *m, uint32_t slot);
/* the same after an upgrade: the channel is in the epoll instance handed over */
void master_worker_adopt(struct master *m, uint32_t slot);
/* send a message to a worker (queued while its channel is full) */
void master_worker_send(struct master *m, uint32_t slot, uint16_t type, void *msg, size_t len);
/* ask the worker in slot to close its client with reason */
void master_worker_close(struct master *m, uint32_t slot, const char *reason);
/* what a worker needs of the configuration */
void master_worker_settings(struct master *m, struct ipc_wsettings *s, bool exempt);
/* send every worker the settings of a reloaded configuration */
void master_worker_send_settings(struct master *m, uint32_t slot);

#endif
