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

/* a member's status in a channel: PREFIX=(ov)@+ */
enum dir_member_flags {
	DIR_MEMBER_VOICE = 1 << 0,
	DIR_MEMBER_OP = 1 << 1,
};

struct dir_member {
	uint32_t slot, gen;
	uint64_t joined_at;	/* ring position: later records reach it */
	uint8_t flags;		/* enum dir_member_flags */
};

/* channel modes without a parameter (CHANMODES type D) */
enum dir_chan_mode {
	DIR_CMODE_INVITE = 1 << 0,	/* i */
	DIR_CMODE_MODERATED = 1 << 1,	/* m */
	DIR_CMODE_NOEXTERNAL = 1 << 2,	/* n */
	DIR_CMODE_PRIVATE = 1 << 3,	/* p */
	DIR_CMODE_SECRET = 1 << 4,	/* s */
	DIR_CMODE_TOPIC = 1 << 5,	/* t */
};

/* a channel's mask lists (CHANMODES type A) */
enum dir_list {
	DIR_LIST_BAN,		/* b */
	DIR_LIST_EXCEPT,	/* e */
	DIR_LIST_INVEX,		/* I */
	DIR_NLISTS
};

struct dir_mask {
	char *mask;		/* nick!user@host with * and ? */
	char by[IRC_NICK_MAX + 1];
	time_t at;
};

struct dir_masklist {
	struct dir_mask *v;
	uint32_t n, cap;
};

/* an INVITE not yet used: lets slot pass +i once */
struct dir_invite {
	uint32_t slot, gen;
};

struct dir_chan {
	bool used;
	uint32_t id, gen;
	char name[IRC_CHAN_MAX + 1];
	char key[IRC_CHAN_MAX + 1];	/* folded name */
	char *topic;
	char topic_by[IRC_NICK_MAX + 1];
	time_t topic_at, created;
	struct dir_member *members;
	uint32_t nmembers, cap;
	uint32_t modes;		/* enum dir_chan_mode */
	char chankey[IRC_KEY_MAX + 1];	/* +k, "" when unset */
	uint32_t limit;		/* +l, 0 when unset */
	struct dir_masklist lists[DIR_NLISTS];
	struct dir_invite *invites;
	uint32_t ninvites;
	UT_hash_handle hh;	/* in dir.channels by key while used */
};

/* user modes */
enum dir_umode {
	DIR_UMODE_INVISIBLE = 1 << 0,	/* i */
	DIR_UMODE_OPER = 1 << 1,	/* o: set by OPER only */
	DIR_UMODE_WALLOPS = 1 << 2,	/* w */
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
	uint32_t umodes;		/* enum dir_umode; set with dir_set_umodes() */
	uint64_t oper_retry_ms;		/* OPER refused until then (clock_ms) */
	uint32_t *chans;		/* channel ids */
	uint32_t nchans, cap;
	time_t connected_at;
	bool tls;			/* came in on a TLS listener (WHOIS 671) */
	uint32_t caps;			/* IRCv3 capabilities it asked for (cap.h) */
	uint16_t node;			/* 0: this server's client; else its node (cluster.h) */
	UT_hash_handle hh;	/* in dir.nicks by key while key is set */
};

/*
 * Slots [0, nlocal) are this server's clients (ring slots, workers);
 * slots [nlocal, nslots) stand for clients of other nodes of a cluster
 * (cluster.c), which have no inbox here.
 */
struct dir {
	uint32_t nslots, nlocal;
	struct dir_user *users;		/* never reallocated: hash handles point into it */
	uint32_t *free_slots;		/* stack of free local slot indexes */
	uint32_t nfree;
	uint32_t *free_remote;		/* stack of free remote slot indexes */
	uint32_t nfree_remote;
	struct dir_chan **chans;	/* grows; ids are indexes; records never move */
	uint32_t nchans_alloc;
	uint32_t *free_chans;
	uint32_t nfree_chans;
	struct dir_user *nicks;		/* uthash heads, keyed by the folded name */
	struct dir_chan *channels;
	uint32_t nregistered, nchannels, nconnected;
	uint32_t nopers, ninvisible;	/* registered users with +o, with +i */
	uint32_t max_registered;	/* the most registered at once (LUSERS) */
	uint32_t nlocal_registered, max_local_registered;	/* of this server's own */
	/*
	 * Told of a registered client's nick as the directory lets go of it
	 * (QUIT, a lost connection, a kill, a NICK change: u still holds the
	 * old nick), for the master's WHOWAS history; NULL: nobody is told.
	 */
	void (*nick_gone)(void *arg, const struct dir_user *u);
	/* told of a client (slot, gen) as it is released, and of a channel
	 * as it is destroyed (for the master's chat history); NULL: nobody */
	void (*user_gone)(void *arg, uint32_t slot, uint32_t gen);
	void (*chan_gone)(void *arg, const struct dir_chan *c);
	void *nick_gone_arg;	/* the argument of all three */
};

/* nlocal slots for this server's clients, nremote for other nodes' */
int dir_init(struct dir *d, uint32_t nlocal, uint32_t nremote);
void dir_free(struct dir *d);

/* a new client: returns its slot (gen already bumped) or -ENOSPC */
int dir_user_alloc(struct dir *d, uint32_t *gen);
/* a client of another node: the same, from the remote slots */
int dir_user_alloc_remote(struct dir *d, uint32_t *gen);
/* is slot one of this server's clients (it has a worker and an inbox)? */
static inline bool dir_is_local(const struct dir *d, uint32_t slot)
{ return slot < d->nlocal; }
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
/* the membership of slot in c, or NULL */
struct dir_member *dir_member_get(const struct dir_chan *c, uint32_t slot);
/* do a and b share a channel? */
bool dir_shares_chan(const struct dir *d, uint32_t a, uint32_t b);

/*
 * Mask lists: add 0, -EEXIST (the same mask, case-mapped, is listed),
 * -ENOSPC (max entries already), -ENOMEM; del 0 or -ENOENT. The stored
 * mask is the one given, its comparison case-insensitive.
 */
int dir_mask_add(struct dir_chan *c, enum dir_list l, const char *mask, const char *by,
    time_t at, uint32_t max);
int dir_mask_del(struct dir_chan *c, enum dir_list l, const char *mask);

/* remember an INVITE (bounded: the oldest is forgotten), and use one up:
 * true if slot was invited (the invite is consumed) */
int dir_invite_add(struct dir_chan *c, uint32_t slot, uint32_t gen);
bool dir_invite_take(struct dir_chan *c, uint32_t slot, uint32_t gen);

int dir_set_topic(struct dir *d, uint32_t chan_id, const char *topic, const char *by, time_t at);
int dir_set_away(struct dir *d, uint32_t slot, const char *msg);
/* state changes keep the registered-user count right */
void dir_set_state(struct dir *d, uint32_t slot, enum dir_state st);
/* user modes change here only: keeps the operator and invisible counts right */
void dir_set_umodes(struct dir *d, uint32_t slot, uint32_t umodes);

/*
 * Rebuilding a directory exactly as another process had it (handover.h),
 * into a fresh one (dir_init): slots, channel ids and their generations
 * stay what they were, since ring records and workers name them. The
 * caller sets the rest through the functions above; dir_restore_done()
 * then rebuilds the free lists. All refuse what contradicts what was
 * already restored (-EINVAL, or NULL).
 */
/* a free slot's generation (its next client gets gen + 1) */
int dir_restore_gen(struct dir *d, uint32_t slot, uint32_t gen);
/* a client in its slot (DIR_CONNECTED; dir_set_state() for the rest) */
int dir_restore_user(struct dir *d, uint32_t slot, uint32_t gen);
/* a channel with its id, generation and name, empty */
struct dir_chan *dir_restore_chan(struct dir *d, uint32_t id, uint32_t gen, const char *name);
/* a free channel id's generation */
int dir_restore_chan_gen(struct dir *d, uint32_t id, uint32_t gen);
/* a member, in the order given */
int dir_restore_member(struct dir *d, struct dir_chan *c, uint32_t slot, uint64_t joined_at,
    uint8_t flags);
void dir_restore_done(struct dir *d);

#endif
