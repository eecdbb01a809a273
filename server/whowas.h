/*
 * whowas: the master's history of nicks that are gone (QUIT, a lost
 * connection, a kill, the old nick of a NICK change), for WHOWAS.
 *
 * A ring of at most cap entries, all allocated up front: adding to a full
 * ring overwrites the oldest entry, so memory never grows whatever clients
 * do, and adding never allocates (nothing to fail). Lookup is by nick,
 * case-mapped (rfc1459), through a chained hash index kept beside the
 * ring; entries of one bucket are chained newest first, so one nick's
 * entries come out newest first. Master only, no I/O.
 */
#ifndef SHMCHAT_WHOWAS_H
#define SHMCHAT_WHOWAS_H

#include <stdint.h>
#include <time.h>

#include "irc.h"

#define WHOWAS_MAX	100000	/* entries at most (whowas_history) */

struct whowas_entry {
	char nick[IRC_NICK_MAX + 1];
	char key[IRC_NICK_MAX + 1];	/* folded nick */
	char user[IRC_USER_MAX + 1];
	char host[IRC_HOST_MAX + 1];
	char server[IRC_HOST_MAX + 1];
	char realname[IRC_REAL_MAX + 1];
	time_t at;			/* when the nick was given up */
	uint32_t hash;
	uint32_t prev, next;		/* in the bucket's chain, newer and older */
};

struct whowas {
	struct whowas_entry *ring;
	uint32_t cap;		/* 0: no history kept */
	uint32_t n;		/* entries in use */
	uint32_t head;		/* where the next entry goes (the oldest when full) */
	uint32_t *buckets;	/* newest entry of each bucket */
	uint32_t nbuckets;	/* a power of two, >= cap */
};

/* an empty history of cap entries (0: none kept); 0, -EINVAL, -ENOMEM */
int whowas_init(struct whowas *w, uint32_t cap);
void whowas_free(struct whowas *w);
/* a new capacity, keeping the newest entries that fit; 0 or -errno (the
 * history is then unchanged) */
int whowas_resize(struct whowas *w, uint32_t cap);
/* remember a nick given up at `at` (too long a nick is not kept) */
void whowas_add(struct whowas *w, const char *nick, const char *user, const char *host,
    const char *realname, const char *server, time_t at);
/* the newest entry of nick (after == NULL), or the next older one after
 * `after`; NULL when there is none */
const struct whowas_entry *whowas_find(const struct whowas *w, const char *nick,
    const struct whowas_entry *after);

#endif
