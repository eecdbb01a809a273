/*
 * master_cluster: the master's side of a cluster (cluster.h): what the
 * network log asks of the master, in its request queue's order, and what
 * the command layer asks of the network (dirsvc_ops). Nothing here runs
 * without a cluster group in the configuration.
 */
#ifndef SHMCHAT_MASTER_CLUSTER_H
#define SHMCHAT_MASTER_CLUSTER_H

#include <stdint.h>

struct master;

/* join the network when the configuration has a cluster group: 0 or -1 */
int master_cluster_start(struct master *m);
void master_cluster_stop(struct master *m);
/* an epoll event of the link to Redis */
void master_cluster_event(struct master *m, uint32_t idx, uint32_t events);
void master_cluster_tick(struct master *m, uint64_t now_ms);
/* what fan-out wrote to the log goes to Redis now, before the wake-ups */
void master_cluster_flush(struct master *m);

#endif
