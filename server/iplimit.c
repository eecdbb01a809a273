/* iplimit: connection count per remote address (master only) */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "iplimit.h"

struct iplimit_ent {
	UT_hash_handle hh;
	uint32_t count;		/* > 0: an entry goes when its last connection does */
	char host[];
};

struct iplimit {
	struct iplimit_ent *hosts;	/* uthash head */
	uint32_t max_entries;
};

struct iplimit *
iplimit_new(uint32_t max_entries)
{
	struct iplimit *p = calloc(1, sizeof *p);

	if (p != NULL)
		p->max_entries = max_entries;
	return p;
}

void
iplimit_free(struct iplimit *p)
{
	struct iplimit_ent *e, *tmp;

	if (p == NULL)
		return;
	HASH_ITER(hh, p->hosts, e, tmp) {
		HASH_DEL(p->hosts, e);
		free(e);
	}
	free(p);
}

uint32_t
iplimit_add(struct iplimit *p, const char *host)
{
	struct iplimit_ent *e;
	size_t len;
	unsigned before = HASH_COUNT(p->hosts);

	HASH_FIND_STR(p->hosts, host, e);
	if (e != NULL)
		return ++e->count;
	if (before >= p->max_entries)
		return 0;
	len = strlen(host);
	if ((e = malloc(sizeof *e + len + 1)) == NULL)
		return 0;
	memcpy(e->host, host, len + 1);
	e->count = 1;
	HASH_ADD_STR(p->hosts, host, e);
	if (HASH_COUNT(p->hosts) == before) {	/* out of memory */
		free(e);
		return 0;
	}
	return 1;
}

uint32_t
iplimit_count(const struct iplimit *p, const char *host)
{
	struct iplimit_ent *e;

	HASH_FIND_STR(p->hosts, host, e);
	return e != NULL ? e->count : 0;
}

void
iplimit_del(struct iplimit *p, const char *host)
{
	struct iplimit_ent *e;

	HASH_FIND_STR(p->hosts, host, e);
	if (e == NULL || --e->count > 0)
		return;
	HASH_DEL(p->hosts, e);
	free(e);
}
