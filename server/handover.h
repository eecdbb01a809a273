/*
 * handover: the master's state written by one master image and read by the
 * next, for an upgrade in place (exec of a new shmchatd, same process).
 * The blob is fields (fields.h) after a header naming its version; a reader
 * accepts only the version it was built for and refuses anything that does
 * not parse or contradicts itself, whole: the old image then goes on
 * serving. What it holds:
 *   the directory: every slot's generation, every client (state, nick,
 *     user, host, real name, away, modes, capabilities, channels in their
 *     order), every channel (id, generation, modes, key, limit, topic,
 *     ban/except/invex lists, invites, members with their ring positions
 *     and flags), the high-water marks of LUSERS;
 *   WHOWAS, oldest first.
 */
#ifndef SHMCHAT_HANDOVER_H
#define SHMCHAT_HANDOVER_H

#include <stddef.h>

#include "buf.h"

/* raised whenever what the blob holds, or means, changes */
#ifndef HANDOVER_VERSION	/* a test build makes another (tests/shmchatd-state2) */
#define HANDOVER_VERSION	1
#endif

struct dir;
struct whowas;

/* d and ww as they are, appended to out: 0 or -ENOMEM */
int handover_write(const struct dir *d, const struct whowas *ww, struct buf *out);
/*
 * Rebuild d and ww from a blob: d fresh from dir_init() with the writer's
 * sizes (handover_sizes), ww empty and as large as wanted (what does not
 * fit is the oldest, dropped). 0, or -EPROTO with *why saying what was
 * wrong (d and ww then hold part of it: free them).
 */
int handover_read(struct dir *d, struct whowas *ww, const void *p, size_t len, const char **why);
/* the writer's version and directory sizes, read from the blob's start:
 * 0, or -EPROTO (*why) when it is no blob of this version */
int handover_sizes(const void *p, size_t len, uint32_t *nlocal, uint32_t *nremote,
    const char **why);

#endif
