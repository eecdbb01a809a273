/*
 * chans: the channels this client wants to be in and who is in them.
 *
 * A channel is added when we ask to join it and stays until we leave it
 * (PART, KICK or /part), so after a reconnect the client rejoins exactly
 * the channels it was in. Members come from NAMES replies and JOIN, PART,
 * KICK, QUIT and NICK lines; they feed nick completion. Names compare
 * with the rfc1459 case mapping.
 */
#ifndef SHMCHAT_CHANS_H
#define SHMCHAT_CHANS_H

#include <stdbool.h>
#include <stddef.h>

struct chan {
	char *name;
	char *key;		/* join key, or NULL */
	bool joined;		/* the server confirmed our JOIN */
	bool names_fresh;	/* the next 353 starts a new member list */
	char **nicks;
	size_t nnicks, capnicks;
};

struct chans {
	struct chan *v;
	size_t n, cap;
};

void chans_init(struct chans *cs);
void chans_free(struct chans *cs);
struct chan *chans_find(struct chans *cs, const char *name);
/* add (or find) a wanted channel; NULL on ENOMEM */
struct chan *chans_add(struct chans *cs, const char *name, const char *key);
void chans_remove(struct chans *cs, const char *name);
/* forget joined state and members of all (the connection is gone) */
void chans_reset(struct chans *cs);

/* members; all return 0 or -ENOMEM */
int chans_member_add(struct chan *c, const char *nick);
void chans_member_del(struct chan *c, const char *nick);
/* a NAMES reply line: nicks with @/+ prefixes, space separated */
int chans_names(struct chan *c, const char *list);
/* someone quit: remove from every channel */
void chans_quit(struct chans *cs, const char *nick);
/* someone changed nick: rename in every channel */
int chans_rename(struct chans *cs, const char *old, const char *nick);

#endif
