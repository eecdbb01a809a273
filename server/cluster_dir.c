/* cluster_dir: the nodes of a network and their clients in this directory */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_dir.h"
#include "log.h"

int
cluster_dir_init(struct cluster_dir *cd, struct dir *d)
{
	memset(cd, 0, sizeof *cd);
	cd->d = d;
	cd->home = calloc(d->nslots - d->nlocal + 1, sizeof *cd->home);
	return cd->home != NULL ? 0 : -ENOMEM;
}

void
cluster_dir_free(struct cluster_dir *cd)
{
	struct cluster_node *n, *tn;
	struct cluster_ruser *ru, *tr;

	HASH_ITER(hh, cd->rusers, ru, tr) {
		HASH_DEL(cd->rusers, ru);
		free(ru);
	}
	HASH_ITER(hh, cd->by_name, n, tn) {
		HASH_DEL(cd->by_name, n);
		free(n);
	}
	free(cd->home);
	memset(cd, 0, sizeof *cd);
}


struct cluster_node *
cluster_dir_node_find(struct cluster_dir *cd, const char *name, size_t len)
{
	struct cluster_node *n;
	char key[CLUSTER_NAME_MAX + 1];

	if (len > CLUSTER_NAME_MAX)
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	HASH_FIND_STR(cd->by_name, key, n);
	return n;
}

struct cluster_node *
cluster_dir_node_add(struct cluster_dir *cd, const char *name, size_t len, uint64_t inc)
{
	struct cluster_node *n;

	if (cd->nnodes + 1 >= CLUSTER_MAX_NODES) {
		log_warnx("cluster: more than %d nodes; %.*s is ignored", CLUSTER_MAX_NODES - 1,
		    (int)len, name);
		return NULL;
	}
	if ((n = calloc(1, sizeof *n)) == NULL) {
		log_warnx("cluster: out of memory for node %.*s", (int)len, name);
		return NULL;
	}
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->inc = inc;
	n->idx = ++cd->nnodes;
	cd->nodes[n->idx] = n;
	HASH_ADD_STR(cd->by_name, name, n);
	return n;
}

struct cluster_node *
cluster_dir_node_get(struct cluster_dir *cd, const char *name, size_t len, uint64_t inc)
{
	struct cluster_node *n = cluster_dir_node_find(cd, name, len);

	if (n == NULL)
		return cluster_dir_node_add(cd, name, len, inc);
	return n->inc == inc ? n : NULL;
}

const char *
cluster_dir_node_name(const struct cluster_dir *cd, uint16_t node)
{
	if (node == 0 || node > cd->nnodes)
		return cd->self->name;
	return cd->nodes[node]->name;
}

/* ---------------------------------------------------------------- other nodes' clients */

struct cluster_ruser *
cluster_dir_ruser_find(struct cluster_dir *cd, uint16_t node, uint32_t slot, uint32_t gen)
{
	struct cluster_ruser_key k;
	struct cluster_ruser *ru;

	memset(&k, 0, sizeof k);
	k.node = node;
	k.slot = slot;
	k.gen = gen;
	HASH_FIND(hh, cd->rusers, &k, sizeof k, ru);
	return ru;
}

/* another node's client appears: a slot here stands for it */
int
cluster_dir_ruser_add(struct cluster_dir *cd, struct cluster_node *n, uint32_t slot, uint32_t gen,
    uint32_t *local, uint32_t *local_gen)
{
	struct dir *d = cd->d;
	struct cluster_ruser *ru;
	int s;

	if (cluster_dir_ruser_find(cd, n->idx, slot, gen) != NULL)
		return -EEXIST;
	if ((ru = calloc(1, sizeof *ru)) == NULL)
		return -ENOMEM;
	if ((s = dir_user_alloc_remote(d, local_gen)) < 0) {
		free(ru);
		return s;
	}
	ru->key.node = n->idx;
	ru->key.slot = slot;
	ru->key.gen = gen;
	ru->local = (uint32_t)s;
	HASH_ADD(hh, cd->rusers, key, sizeof ru->key, ru);
	cd->home[(uint32_t)s - d->nlocal] = ru->key;
	d->users[s].node = n->idx;
	n->nusers++;
	*local = (uint32_t)s;
	return 0;
}

void
cluster_dir_ruser_forget(struct cluster_dir *cd, struct cluster_ruser *ru)
{
	struct cluster_node *n = cd->nodes[ru->key.node];

	if (n != NULL && n->nusers > 0)
		n->nusers--;
	cd->home[ru->local - cd->d->nlocal] = (struct cluster_ruser_key){ 0 };
	HASH_DEL(cd->rusers, ru);
	free(ru);
}

void
cluster_dir_ruser_drop(struct cluster_dir *cd, uint32_t local)
{
	const struct cluster_ruser_key *k;
	struct cluster_ruser *ru;

	if (dir_is_local(cd->d, local) || local >= cd->d->nslots)
		return;
	k = &cd->home[local - cd->d->nlocal];
	if ((ru = cluster_dir_ruser_find(cd, k->node, k->slot, k->gen)) != NULL)
		cluster_dir_ruser_forget(cd, ru);
	dir_user_release(cd->d, local);
}

bool
cluster_dir_home(const struct cluster_dir *cd, uint32_t local, const char **node, uint64_t *inc,
    uint32_t *slot, uint32_t *gen)
{
	const struct dir *d = cd->d;

	if (dir_is_local(d, local)) {
		*node = cd->self->name;
		*inc = cd->self->inc;
		*slot = local;
		*gen = d->users[local].gen;
		return true;
	}
	if (local >= d->nslots)
		return false;
	const struct cluster_ruser_key *k = &cd->home[local - d->nlocal];
	if (k->node == 0 || k->node > cd->nnodes)
		return false;
	*node = cd->nodes[k->node]->name;
	*inc = cd->nodes[k->node]->inc;
	*slot = k->slot;
	*gen = k->gen;
	return true;
}

