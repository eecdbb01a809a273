/*
 * cluster_snap: the network's state in one blob, for a node that joins a
 * running network. Every client (with its node and its slot there) and
 * every channel (modes, topic, lists, members). Taken by a running node
 * at the joining node's HELLO in the log's order; the joining node builds
 * its directory from it and reads the log from that HELLO on. A blob that
 * does not parse is refused whole (the node asks again).
 */
#ifndef SHMCHAT_CLUSTER_SNAP_H
#define SHMCHAT_CLUSTER_SNAP_H

#include <stddef.h>

#include "buf.h"

struct cluster_dir;

/* the directory as it is now, appended to out. 0 or -ENOMEM */
int cluster_snap_build(struct cluster_dir *cd, struct buf *out);
/* build the directory (which holds no other node's client yet) from a
 * blob. 0, or -EPROTO (logged) with what was added removed again */
int cluster_snap_apply(struct cluster_dir *cd, const char *p, size_t len);

#endif
