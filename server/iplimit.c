/* peers: connection count per remote address (master only) */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "iplimit.h"

#define PEERS_HOST_MAX	72

struct peer {
	char host[PEERS_HOST_MAX];	/* "" when free */
	uint32_t count;
};

struct iplimit {
	struct peer *v;
	uint32_t cap;	/* power of two, at least twice the entries */
};

static uint32_t
peers_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct iplimit *
iplimit_new(uint32_t max_entries)
{
	struct iplimit *p = calloc(1, sizeof *p);
	uint32_t cap = 64;

	while (cap < max_entries * 2)
		cap *= 2;
	if (p == NULL || (p->v = calloc(cap, sizeof *p->v)) == NULL) {
		free(p);
		return NULL;
	}
	p->cap = cap;
	return p;
}

void
iplimit_free(struct iplimit *p)
{
	if (p != NULL)
		free(p->v);
	free(p);
}

/* the entry for host, or the free one where it would go */
static uint32_t
peers_pos(const struct iplimit *p, const char *host)
{
	uint32_t i = peers_hash(host) & (p->cap - 1);

	while (p->v[i].host[0] != '\0' && strcmp(p->v[i].host, host) != 0)
		i = (i + 1) & (p->cap - 1);
	return i;
}

uint32_t
iplimit_add(struct iplimit *p, const char *host)
{
	uint32_t i = peers_pos(p, host);

	if (p->v[i].host[0] == '\0') {
		if (strlen(host) >= PEERS_HOST_MAX)
			return 0;
		strcpy(p->v[i].host, host);
		p->v[i].count = 0;
	}
	return ++p->v[i].count;
}

uint32_t
iplimit_count(const struct iplimit *p, const char *host)
{
	uint32_t i = peers_pos(p, host);

	return p->v[i].host[0] ? p->v[i].count : 0;
}

void
iplimit_del(struct iplimit *p, const char *host)
{
	uint32_t i = peers_pos(p, host), j, mask = p->cap - 1;

	if (p->v[i].host[0] == '\0' || --p->v[i].count > 0)
		return;
	/* backward-shift deletion keeps probe chains whole without tombstones */
	p->v[i].host[0] = '\0';
	for (j = (i + 1) & mask; p->v[j].host[0] != '\0'; j = (j + 1) & mask) {
		uint32_t home = peers_hash(p->v[j].host) & mask;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			p->v[i] = p->v[j];
			p->v[j].host[0] = '\0';
			i = j;
		}
	}
}
