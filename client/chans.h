/*
 * chans: the channels this client wants to be in and who is in them.
 *
 * A channel is added when we ask to join it and stays until we leave it
 * (PART, KICK or /part), so after a reconnect the client rejoins exactly
 * the channels it was in. Members come from NAMES replies and JOIN, PART,
 * KICK, QUIT and NICK lines; they feed nick completion. Each member's
 * membership prefixes (@ operator, + voice...) come from NAMES and MODE,
 * read with the server's PREFIX and CHANMODES (005). Names compare with
 * the rfc1459 case mapping.
 */
#ifndef SHMCHAT_CHANS_H
#define SHMCHAT_CHANS_H

#include <stdbool.h>
#include <stddef.h>

#define CHANS_PREFIX_MAX	8	/* membership prefixes a server may have */

/* a member's prefixes, highest first ("@+"), "" for none */
typedef char chans_prefix[CHANS_PREFIX_MAX + 1];

struct chan {
	char *name;
	char *key;		/* join key, or NULL */
	bool joined;		/* the server confirmed our JOIN */
	bool names_fresh;	/* the next 353 starts a new member list */
	char **nicks;
	chans_prefix *prefix;	/* prefix[i] belongs to nicks[i] */
	size_t nnicks, capnicks;
	/* the oldest line seen here (server-time, msgid): where /history goes on */
	char oldest_time[32];	/* 2026-12-06T10:00:00.123Z, "" none */
	char oldest_msgid[64];	/* "" when unknown */
	/* the newest: after a reconnect, history starts after it */
	char newest_time[32];
	char newest_msgid[64];
};

/* how the server's channel modes work, from 005 */
struct chans_modes {
	char prefix_modes[CHANS_PREFIX_MAX + 1];	/* PREFIX=(ov)@+: "ov" */
	char prefix_chars[CHANS_PREFIX_MAX + 1];	/* "@+", highest first */
	char param_always[64];	/* CHANMODES types A and B ("beI", "k") */
	char param_set[64];	/* type C: a parameter only when set ("l") */
};

struct chans {
	struct chan *v;
	size_t n, cap;
	struct chans_modes modes;
};

/* the modes of a server that did not say: PREFIX=(ov)@+ CHANMODES=beI,k,l,imnpst */
#define CHANS_PREFIX_DEFAULT	"(ov)@+"
#define CHANS_CHANMODES_DEFAULT	"beI,k,l,imnpst"

void chans_init(struct chans *cs);
void chans_free(struct chans *cs);
struct chan *chans_find(struct chans *cs, const char *name);
/* add (or find) a wanted channel; NULL on ENOMEM */
struct chan *chans_add(struct chans *cs, const char *name, const char *key);
void chans_remove(struct chans *cs, const char *name);
/* forget joined state and members of all, and the server's modes (the
 * connection is gone) */
void chans_reset(struct chans *cs);
/* the value of 005 PREFIX / CHANMODES; -EINVAL (nothing changed) when bad */
int chans_set_prefix(struct chans *cs, const char *value);
int chans_set_chanmodes(struct chans *cs, const char *value);

/* members; all return 0 or -ENOMEM */
int chans_member_add(struct chan *c, const char *nick);
void chans_member_del(struct chan *c, const char *nick);
/* a NAMES reply line: nicks with @/+ prefixes (several with multi-prefix),
 * space separated */
int chans_names(const struct chans *cs, struct chan *c, const char *list);
/*
 * A MODE on channel c: modes ("+o-v+l") with its params. Prefix modes
 * change members' prefixes; other modes only use up their parameters.
 */
void chans_mode(const struct chans *cs, struct chan *c, const char *modes,
    const char *const *params, int nparams);
/* nick's prefixes in c ("@+", ""), NULL when nick is not a member */
const char *chans_prefix_of(const struct chan *c, const char *nick);
/* someone quit: remove from every channel */
void chans_quit(struct chans *cs, const char *nick);
/* someone changed nick: rename in every channel */
int chans_rename(struct chans *cs, const char *old, const char *nick);

#endif
