/*
 * master_requests: directory requests, handled one at a time and only
 * when fan-out has caught up with the ring, so each directory change
 * takes effect at its place in the ring's order: every record published
 * before it is delivered against the directory as it was, every record
 * after it against the directory as it is now. Workers' requests, and
 * what the master asks of itself (the QUIT of a client whose worker died
 * or was kicked, then freeing its slot), wait in one queue.
 */
#ifndef SHMCHAT_MASTER_REQUESTS_H
#define SHMCHAT_MASTER_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct master;

enum master_req_kind {
	MASTER_REQ_WORKER,	/* a worker's request (struct ipc_req, as received) */
	MASTER_REQ_QUIT,	/* the client leaves (its worker died, or a kick) */
	MASTER_REQ_RELEASE,	/* its worker is gone: free the slot */
	/* in a cluster, what comes back from the network log (cluster.h) */
	MASTER_REQ_LOG,		/* a request (struct ipc_req), run by every node */
	MASTER_REQ_LOG_MSG,	/* another node's client's message (struct cluster_msg...) */
	MASTER_REQ_LOG_RELEASE,	/* free the slot now */
	MASTER_REQ_LOG_SNAPSHOT,	/* a node's HELLO (its stream id): the state here */
	MASTER_REQ_LOG_REJOIN,	/* the network dropped this node: our clients go back */
};

/* queue a request (msg: the ipc_req message for MASTER_REQ_WORKER, the
 * quit reason for MASTER_REQ_QUIT, nothing for MASTER_REQ_RELEASE) */
void master_requests_push(struct master *m, uint32_t slot, uint32_t gen,
    enum master_req_kind kind, const void *msg, size_t len);
bool master_requests_pending(const struct master *m);
/* handle the oldest request; call only when fan-out has caught up */
void master_requests_handle_one(struct master *m);

#endif
