/*
 * dir: the master's directory of clients, nicks, channels and memberships.
 * Pure bookkeeping, no I/O; only the master process touches it.
 *
 * Clients live in slots (index into the shared inboxes). A slot is never
 * identified by pid; every reuse bumps its generation, and everything
 * addressed to a slot (ring records, memberships) carries (slot, gen) so
 * nothing meant for a dead client reaches the next one. Channels likewise
 * carry (id, gen). Nick and channel names are compared case-insensitively
 * (rfc1459 casemapping) through hash tables keyed by the folded name.
 */
#ifndef SHMCHAT_DIR_H
#define SHMCHAT_DIR_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "hashtab.h"
#include "irc.h"

enum dir_state {
	DIR_FREE = 0,
	DIR_CONNECTED,		/* worker running, not registered */
	DIR_REGISTERED,
	DIR_QUITTING,		/* QUIT announced, worker on its way out */
};

struct dir_member {
	uint32_t slot, gen;
	uint64_t joined_at;	/* ring position: later records reach it */
};

struct dir_chan {
	bool used;
	uint32_t id, gen;
	char name[IRC_CHAN_MAX + 1];
	char key[IRC_CHAN_MAX + 1];
	char *topic;
	char topic_by[IRC_NICK_MAX + 1];
	time_t topic_at, created;
	struct dir_member *members;
	uint32_t nmembers, cap;
	UT_hash_handle hh;	/* in dir.channels by key while used */
};

struct dir_user {
	enum dir_state state;
	uint32_t gen;
	char nick[IRC_NICK_MAX + 1];
	char key[IRC_NICK_MAX + 1];	/* folded nick, "" when none */
	char user[IRC_USER_MAX + 1];
	char host[IRC_HOST_MAX + 1];
	char realname[IRC_REAL_MAX + 1];
	char *away;
	uint32_t *chans;		/* channel ids */
	uint32_t nchans, cap;
	time_t connected_at;
	UT_hash_handle hh;	/* in dir.nicks by key while key is set */
};

struct dir {
	uint32_t nslots;
	struct dir_user *users;		/* never reallocated: hash handles point into it */
	uint32_t *free_slots;		/* stack of free slot indexes */
	uint32_t nfree;
	struct dir_chan **chans;	/* grows; ids are indexes; records never move */
	uint32_t nchans_alloc;
	uint32_t *free_chans;
	uint32_t nfree_chans;
	struct dir_user *nicks;		/* uthash heads, keyed by the folded name */
	struct dir_chan *channels;
	uint32_t nregistered, nchannels, nconnected;
};

int dir_init(struct dir *d, uint32_t nslots);
void dir_free(struct dir *d);

/* a new client: returns its slot (gen already bumped) or -ENOSPC */
int dir_user_alloc(struct dir *d, uint32_t *gen);
/* forget the client: parts every channel (destroying empty ones), frees the nick */
void dir_user_release(struct dir *d, uint32_t slot);
static inline struct dir_user *dir_user(struct dir *d, uint32_t slot)
{ return &d->users[slot]; }

/* give up the nick (QUIT): another client may take it at once */
void dir_nick_clear(struct dir *d, uint32_t slot);
/* slot owning nick, or -1 */
int dir_nick_find(const struct dir *d, const char *nick);
/* 0, -EEXIST (another slot has it), -ENAMETOOLONG */
int dir_nick_set(struct dir *d, uint32_t slot, const char *nick);

struct dir_chan *dir_chan_find(const struct dir *d, const char *name);
static inline struct dir_chan *dir_chan_get(struct dir *d, uint32_t id)
{ return id < d->nchans_alloc && d->chans[id]->used ? d->chans[id] : NULL; }
/*
 * Join (creating the channel when new). 0 joined, -EALREADY already a
 * member, -ENOSPC over max_chans for this user, -ENOMEM.
 */
int dir_join(struct dir *d, uint32_t slot, const char *name, uint64_t joined_at,
    unsigned max_chans, struct dir_chan **out);
/* 0, -ENOENT not a member; an emptied channel is destroyed */
int dir_part(struct dir *d, uint32_t slot, uint32_t chan_id);
bool dir_is_member(const struct dir *d, uint32_t chan_id, uint32_t slot);
int dir_set_topic(struct dir *d, uint32_t chan_id, const char *topic, const char *by, time_t at);
int dir_set_away(struct dir *d, uint32_t slot, const char *msg);
/* state changes keep the registered-user count right */
void dir_set_state(struct dir *d, uint32_t slot, enum dir_state st);

#endif
