/*
 * master_child: the master's children and the fork server: which pid is
 * whose worker, reaping (SIGCHLD, and the workers the fork server
 * reaps), the end of a slot whose worker exited, and the fork server's
 * channel (its answers to spawn requests, its death and restart).
 */
#ifndef SHMCHAT_MASTER_CHILD_H
#define SHMCHAT_MASTER_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct master;

int master_child_init(struct master *m);
void master_child_free(struct master *m);
/* SIGCHLD: reap every child that exited */
void master_child_reap(struct master *m);
/* slot's worker is gone (status as from waitpid): tell everyone, free it */
void master_child_gone(struct master *m, uint32_t slot, int status);
/* watch the fork server's channel; 0 or -1 */
int master_child_watch_forkserver(struct master *m);
/* pid is slot's worker (reaped by us, or reported); false when out of memory */
bool master_child_put(struct master *m, pid_t pid, uint32_t slot);
/* after an upgrade: the former fork server (channel fd, pid) leaves; its
 * reports are read until then (fd -1: none). 0 or -1 */
int master_child_retire_forkserver(struct master *m, int fd, pid_t pid);

#endif
