/*
 * chanmode: channel modes. The mode letters and what 004/005 say of them,
 * parsing a MODE change into single changes, applying them to a channel of
 * the directory (only what really changes is reported back, for the echo
 * to the members), and the checks JOIN, speaking and nick changes make
 * against bans, exceptions and modes. No I/O: errors go to a struct reply.
 */
#ifndef SHMCHAT_CHANMODE_H
#define SHMCHAT_CHANMODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dir.h"
#include "irc.h"

struct reply;

/* changes with a parameter one MODE line may make (MODES=); more are ignored */
#define CHANMODE_PER_LINE	4
/* the most single changes one MODE line is parsed into */
#define CHANMODE_MAX		32

/* 005 tokens and 004's mode lists */
#define CHANMODE_ISUPPORT \
	"CHANMODES=beI,k,l,imnpst EXCEPTS=e INVEX=I MODES=4 PREFIX=(ov)@+"
#define CHANMODE_LETTERS	"Ibeiklmnopstv"
#define CHANMODE_WITH_PARAM	"Ibeklov"

struct chanmode_change {
	char letter;
	bool add;
	const char *param;	/* NULL: none (a list query for b, e and I) */
};

/*
 * Split "+o-v+b" and its parameters into single changes (at most max),
 * pairing parameters as CHANMODES says; letters it does not know go to
 * unknown (each once, NUL-terminated). Returns the number of changes.
 */
int chanmode_parse(const char *modes, const char *const *params, int nparams,
    struct chanmode_change *out, int max, char *unknown, size_t unknown_cap);

/* a change as applied: its parameter copied (a removed mask is freed) */
struct chanmode_applied {
	char letter;
	bool add;
	char param[IRC_MASK_MAX + 1];	/* "" when none */
};

/* who is changing the modes */
struct chanmode_actor {
	const char *name;	/* nick (or server name): who set a list entry */
	bool privileged;	/* channel operator, oper override or the administrator */
};

/*
 * Apply changes to c: list queries are answered into r (367/368, 348/349,
 * 346/347), refusals too (482, 401, 441, 467, 478, 696). What really
 * changed goes to applied (room for n); returns how many. max_list bounds
 * b, e and I together.
 */
int chanmode_apply(struct dir *d, struct dir_chan *c, const struct chanmode_actor *who,
    const struct chanmode_change *v, int n, uint32_t max_list, struct reply *r,
    struct chanmode_applied *applied);

/*
 * Format applied changes from *pos on as "+o-v" in modes and " bob key" in
 * params, as many as fit one line's budget; advances *pos. false when
 * nothing is left.
 */
bool chanmode_format(const struct chanmode_applied *v, int n, int *pos,
    char *modes, size_t modes_cap, char *params, size_t params_cap);

/* "+ntk key": the channel's modes for 324; the key only when show_key */
void chanmode_string(const struct dir_chan *c, bool show_key, char *out, size_t cap);
/* set the parameterless modes in letters ("nt", "+ns") on a new channel */
void chanmode_set_defaults(struct dir_chan *c, const char *letters);

/* nuh ("nick!user@host") is banned and not excepted */
bool chanmode_banned(const struct dir_chan *c, const char *nuh);
/* nuh matches an invite exception */
bool chanmode_invex(const struct dir_chan *c, const char *nuh);
/* may the client (member is its membership, or NULL) speak in c? */
bool chanmode_can_speak(const struct dir_chan *c, const struct dir_member *member,
    const char *nuh);
/* the member's highest prefix: "@", "+" or "" */
const char *chanmode_prefix(const struct dir_member *m);
/* every prefix, highest first, when all (IRCv3 multi-prefix), else the highest */
const char *chanmode_prefixes(const struct dir_member *m, bool all);

#endif
