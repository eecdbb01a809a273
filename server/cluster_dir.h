/*
 * cluster_dir: the nodes of a cluster's network as this node knows them
 * (name, incarnation, the last of their log entries applied), and each
 * other node's client as the slot that stands for it in this node's
 * directory: (node, its slot and generation there) <-> its slot here.
 * Bookkeeping only, no I/O: cluster.c feeds it from the network log,
 * cluster_snap.c from a snapshot.
 */
#ifndef SHMCHAT_CLUSTER_DIR_H
#define SHMCHAT_CLUSTER_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_entry.h"
#include "dir.h"
#include "fields.h"
#include "hashtab.h"

#define CLUSTER_MAX_NODES	1024

/* a node of the network, as this node knows it */
struct cluster_node {
	char name[CLUSTER_NAME_MAX + 1];
	uint64_t inc;		/* its incarnation: a restart is a new node */
	uint64_t seq;		/* the last of its entries applied: duplicates are skipped */
	uint16_t idx;		/* in cluster_dir.nodes; dir_user.node */
	uint32_t nusers;	/* its clients in the directory */
	bool dead;		/* declared dead: its clients are gone */
	bool self;
	uint64_t lease_missing_ms;	/* when its lease was first found missing, or 0 */
	UT_hash_handle hh;	/* in cluster_dir.by_name */
};

/* another node's client: its slot and generation there <-> its slot here */
struct cluster_ruser {
	struct cluster_ruser_key {
		uint16_t node;
		uint32_t slot, gen;
	} key;
	uint32_t local;
	UT_hash_handle hh;
};

struct cluster_dir {
	struct dir *d;
	struct cluster_node *self;	/* this node */
	struct cluster_node *by_name;
	struct cluster_node *nodes[CLUSTER_MAX_NODES];	/* by idx; [0] unused */
	uint16_t nnodes;
	struct cluster_ruser *rusers;	/* by (node, slot, gen) */
	struct cluster_ruser_key *home;	/* by remote slot - d->nlocal */
};

/* 0 or -ENOMEM */
int cluster_dir_init(struct cluster_dir *cd, struct dir *d);
void cluster_dir_free(struct cluster_dir *cd);

/* a node by name (len bytes), or NULL */
struct cluster_node *cluster_dir_node_find(struct cluster_dir *cd, const char *name, size_t len);
/* a new node (logged when there are too many), or NULL */
struct cluster_node *cluster_dir_node_add(struct cluster_dir *cd, const char *name, size_t len,
    uint64_t inc);
/* the node of that name and incarnation, added when new; NULL for
 * another incarnation of a known name */
struct cluster_node *cluster_dir_node_get(struct cluster_dir *cd, const char *name, size_t len,
    uint64_t inc);
/* the name of a client's node (dir_user.node; 0: this node) */
const char *cluster_dir_node_name(const struct cluster_dir *cd, uint16_t node);

/* another node's client, or NULL */
struct cluster_ruser *cluster_dir_ruser_find(struct cluster_dir *cd, uint16_t node,
    uint32_t slot, uint32_t gen);
/* another node's client gets a slot here (-EEXIST, -ENOSPC, -ENOMEM) */
int cluster_dir_ruser_add(struct cluster_dir *cd, struct cluster_node *n, uint32_t slot,
    uint32_t gen, uint32_t *local, uint32_t *local_gen);
/* forget the mapping (the slot is the caller's to release) */
void cluster_dir_ruser_forget(struct cluster_dir *cd, struct cluster_ruser *ru);
/* forget another node's client and free its slot at once (a refused snapshot) */
void cluster_dir_ruser_drop(struct cluster_dir *cd, uint32_t local);

/*
 * An upgrade in place: the nodes (in their order: dir_user.node stays
 * right) and the other nodes' clients, into out (0 or -ENOMEM); and back
 * into an empty cd whose directory holds those clients already (false:
 * f is marked bad with why).
 */
int cluster_dir_write(const struct cluster_dir *cd, struct buf *out);
bool cluster_dir_read(struct cluster_dir *cd, struct fields_in *f);
/* a client's node and its slot there; false for a free slot */
bool cluster_dir_home(const struct cluster_dir *cd, uint32_t local, const char **node,
    uint64_t *inc, uint32_t *slot, uint32_t *gen);

#endif
