/*
 * cluster: several shmchatd nodes, one IRC network, through one Redis
 * (docs/cluster.md). Master only, and only when the configuration has a
 * cluster group: without it nothing here runs.
 *
 * Every node appends to one Redis stream, the network log, and reads it
 * back in its order: a client's directory request (NICK, JOIN, MODE...)
 * is run by every node when it comes back from the log, so every node's
 * directory goes through the same changes in the same order; a client's
 * message is delivered by its own node at once and by the others when
 * they read it. Each node holds a lease (a key with a TTL); a node whose
 * lease lapses is declared dead once, by whichever node wins a SET NX,
 * and every node then removes its clients. A node that starts late gets
 * the network's state from one of the others (a snapshot answering its
 * HELLO) and reads the log from its HELLO on.
 */
#ifndef SHMCHAT_CLUSTER_H
#define SHMCHAT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cluster_dir.h"
#include "cluster_entry.h"
#include "hashtab.h"
#include "redis_link.h"
#include "ring.h"

struct conf;
struct dirsvc;

/* what the master does for the cluster, in the log's order (its request queue) */
struct cluster_ops {
	/* run a request (an ipc_req message) of a client, ours or another node's */
	void (*request)(void *arg, uint32_t slot, uint32_t gen, const void *msg, size_t len);
	/* deliver another node's client's message to our clients (cluster_msg_decode) */
	void (*message)(void *arg, uint32_t slot, uint32_t gen, const void *msg, size_t len);
	/* the master's own QUIT of a client (reason), as for a dead worker */
	void (*quit)(void *arg, uint32_t slot, uint32_t gen, const char *reason);
	/* forget a client: free its slot (ours once its worker is gone) */
	void (*release)(void *arg, uint32_t slot, uint32_t gen);
	/* the link to the network changed: tell our clients */
	void (*link)(void *arg, bool joined);
	/* call cluster_snap_due(c, id) once every entry read so far has run
	 * (a node said HELLO at id: the state it needs is the one there) */
	void (*snapshot_point)(void *arg, const char *id);
	/* call cluster_rejoin(c) once every entry read so far has run (the
	 * network declared this node dead while it could not reach Redis) */
	void (*rejoin_point)(void *arg);
	/* bytes of entries read and not yet run: reading waits while it is large */
	size_t (*backlog)(void *arg);
};

enum cluster_state {
	CLUSTER_CONNECTING,	/* no link yet */
	CLUSTER_CLAIMING,	/* taking our lease, looking for live nodes */
	CLUSTER_WAITING,	/* HELLO written, waiting for a snapshot */
	CLUSTER_SYNCED,		/* the directory follows the log */
};


struct cluster {
	struct redis_link link;
	struct dirsvc *ds;
	const struct conf *cfg;
	const struct cluster_ops *ops;
	void *arg;
	enum cluster_state state;
	bool split;		/* synced once, link lost since: local only */
	bool resumed;		/* taken over by an upgrade, the link not back yet */
	struct cluster_dir cd;	/* the nodes and their clients here */
	bool *introduced;	/* by local slot: USER written */
	uint64_t seq;		/* our entries so far */
	/* keys */
	char k_log[300], k_lease[300], k_nodes[300], k_seed[300], k_epoch[300];
	char last_id[48];	/* the log read up to here */
	char hello_id[48];	/* our latest HELLO (while waiting) */
	bool reading;		/* an XREAD is outstanding */
	uintptr_t read_gen;	/* bumped to ignore an outstanding XREAD's reply */
	bool xadd_pending;	/* a HELLO's XADD is outstanding */
	uint64_t hello_ms;	/* when the HELLO was written */
	/* entries written and not yet confirmed by Redis, oldest first, for
	 * writing again after a lost connection (readers drop duplicates by
	 * sequence); bounded by outbox_max bytes */
	struct buf outbox;
	uint32_t outbox_n;
	uint64_t next_lease_ms, next_check_ms;
	uint64_t up_ms;		/* when the link last came up: leases get dead_after to reappear */
	char epoch[40];		/* the log's identity: Redis restarted empty when it changes */
	/* counters for shmchatctl */
	uint64_t written, applied, refused, dropped;
};

int cluster_init(struct cluster *c, const struct conf *cfg, struct dirsvc *ds, int epfd,
    uint32_t ev_kind, const struct cluster_ops *ops, void *arg);
void cluster_free(struct cluster *c);
void cluster_event(struct cluster *c, uint32_t idx, uint32_t events);
void cluster_tick(struct cluster *c, uint64_t now_ms);
/* send what was written to the log in this turn at once */
void cluster_flush(struct cluster *c);

/* may our clients' directory requests go to the network now? */
bool cluster_ready(const struct cluster *c);
/*
 * A directory request of our client (an ipc_req message) for the log; it
 * runs when it comes back (cluster_ops.request). 0, or -EAGAIN: not
 * connected to the network (the caller refuses the request).
 */
int cluster_submit(struct cluster *c, uint32_t slot, uint32_t gen, const void *msg, size_t len);
/*
 * Our client is leaving (its worker died or was closed): its QUIT (reason)
 * and then its release go through the log and run when they come back
 * (true). false: run them here now (the network never knew the client,
 * or the link is down: the network hears of it when the link is back).
 */
bool cluster_quit(struct cluster *c, uint32_t slot, uint32_t gen, const char *reason,
    size_t len);
bool cluster_release(struct cluster *c, uint32_t slot, uint32_t gen);
/* a message of our client that reached the directory (fan-out) and has
 * recipients elsewhere: for the log */
void cluster_forward(struct cluster *c, const struct ring_rec *rec);
/* does this record (delivered here) need to go to other nodes? */
bool cluster_wants(const struct cluster *c, const struct ring_rec *rec);

/* a node said HELLO at id and every entry before it has run here: the
 * state for it, sent if this node wins the right to answer */
void cluster_snap_due(struct cluster *c, const char *id);

/* the network dropped this node's clients (its lease lapsed): bring them
 * back (RESTORE), from here in the log's order */
void cluster_rejoin(struct cluster *c);

/*
 * An upgrade in place (master_upgrade.h). A node is handed over once it is
 * in its network (cluster_handover_refused: why not, or NULL) and Redis
 * has confirmed what it wrote (cluster_handover_busy: why wait, or NULL).
 * cluster_handover_write: this node's part of the network (the nodes,
 * their clients here, the log read up to where, our entries so far and
 * those Redis has not confirmed), 0 or -ENOMEM. cluster_handover_read, in
 * the new image, after cluster_init and with the directory restored: the
 * node goes on from there (the same incarnation, reading the log where the
 * old image stopped, writing again what Redis had not confirmed: readers
 * drop duplicates by sequence); its clients hear nothing of it unless Redis
 * cannot be reached again. 0, or -EPROTO with why.
 */
const char *cluster_handover_refused(const struct cluster *c);
const char *cluster_handover_busy(const struct cluster *c);
int cluster_handover_write(const struct cluster *c, struct buf *out);
int cluster_handover_read(struct cluster *c, const void *p, size_t len, const char **why);

/* "synced", "split (...)", ...: this node's state, for shmchatctl */
const char *cluster_state_name(const struct cluster *c);

/* a message as cluster_ops.message gets it */
struct cluster_msg {
	uint8_t kind, flags;
	uint16_t target_len;
	uint16_t caps;		/* cap_need of the record (cap.h) */
	uint32_t payload_len;
};

#endif
