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


/* ---------------------------------------------------------------- upgrades in place */

int
cluster_dir_write(const struct cluster_dir *cd, struct buf *out)
{
	const struct cluster_ruser *ru, *tr;
	int rc = 0;

	rc |= fields_num(out, cd->nnodes);
	for (uint16_t i = 1; i <= cd->nnodes; i++) {
		const struct cluster_node *n = cd->nodes[i];

		rc |= fields_str(out, n->name);
		rc |= fields_unum(out, n->inc);
		rc |= fields_unum(out, n->seq);
		rc |= fields_num(out, n->dead);
		rc |= fields_num(out, n->self);
		rc |= fields_num(out, (int64_t)n->lease_missing_ms);
	}
	rc |= fields_num(out, HASH_COUNT(cd->rusers));
	HASH_ITER(hh, cd->rusers, ru, tr) {
		rc |= fields_num(out, ru->key.node);
		rc |= fields_num(out, ru->key.slot);
		rc |= fields_num(out, ru->key.gen);
		rc |= fields_num(out, ru->local);
	}
	return rc != 0 ? -ENOMEM : 0;
}

bool
cluster_dir_read(struct cluster_dir *cd, struct fields_in *f)
{
	struct dir *d = cd->d;
	int64_t nnodes, nrusers;
	uint32_t remote = 0;

	nnodes = fields_int(f, 1, CLUSTER_MAX_NODES - 1);
	for (int64_t i = 0; i < nnodes && !f->bad; i++) {
		char name[CLUSTER_NAME_MAX + 1];
		struct cluster_node *n;
		uint64_t inc, seq;
		bool dead, self;
		int64_t missing;

		fields_cstr(f, name, sizeof name);
		inc = fields_uint(f, UINT64_MAX);
		seq = fields_uint(f, UINT64_MAX);
		dead = fields_int(f, 0, 1) != 0;
		self = fields_int(f, 0, 1) != 0;
		missing = fields_int(f, 0, INT64_MAX);
		if (f->bad)
			break;
		if (name[0] == '\0' || cluster_dir_node_find(cd, name, strlen(name)) != NULL ||
		    (self && cd->self != NULL) || (self && dead))
			return fields_fail(f, "the nodes of the network are malformed");
		if ((n = cluster_dir_node_add(cd, name, strlen(name), inc)) == NULL)
			return fields_fail(f, "out of memory");
		n->seq = seq;
		n->dead = dead;
		n->self = self;
		n->lease_missing_ms = (uint64_t)missing;
		if (self)
			cd->self = n;
	}
	if (!f->bad && cd->self == NULL)
		return fields_fail(f, "no node of the network is this one");
	nrusers = fields_int(f, 0, d->nslots - d->nlocal);
	for (int64_t i = 0; i < nrusers && !f->bad; i++) {
		struct cluster_ruser *ru;
		int64_t node = fields_int(f, 1, cd->nnodes);
		int64_t slot = fields_int(f, 0, UINT32_MAX);
		int64_t gen = fields_int(f, 0, UINT32_MAX);
		int64_t local = fields_int(f, d->nlocal, (int64_t)d->nslots - 1);

		if (f->bad)
			break;
		/* a slot of ours that the directory gave to a client of that node */
		if (cd->nodes[node]->self || d->users[local].state == DIR_FREE ||
		    d->users[local].node != node || cd->home[local - d->nlocal].node != 0 ||
		    cluster_dir_ruser_find(cd, (uint16_t)node, (uint32_t)slot,
		    (uint32_t)gen) != NULL)
			return fields_fail(f, "another node's client is malformed or given twice");
		if ((ru = calloc(1, sizeof *ru)) == NULL)
			return fields_fail(f, "out of memory");
		ru->key.node = (uint16_t)node;
		ru->key.slot = (uint32_t)slot;
		ru->key.gen = (uint32_t)gen;
		ru->local = (uint32_t)local;
		HASH_ADD(hh, cd->rusers, key, sizeof ru->key, ru);
		cd->home[local - d->nlocal] = ru->key;
		cd->nodes[node]->nusers++;
	}
	/* every other node's client in the directory is one of those */
	for (uint32_t s = d->nlocal; s < d->nslots && !f->bad; s++)
		remote += d->users[s].state != DIR_FREE;
	if (!f->bad && remote != (uint32_t)nrusers)
		return fields_fail(f, "the directory holds other nodes' clients the network "
		    "does not");
	return !f->bad;
}
