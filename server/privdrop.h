/*
 * privdrop: when started as root, become an unprivileged user right after
 * the sockets are bound and the IPC objects exist, before any process is
 * forked, so no worker ever runs as root.
 */
#ifndef SHMCHAT_PRIVDROP_H
#define SHMCHAT_PRIVDROP_H

#include <stddef.h>

struct conf;

/*
 * Not root: nothing to do (returns 0). Root: switch to cfg->user/group,
 * falling back to nobody/nogroup when they do not exist; the admin queue
 * (qid >= 0) is handed to that user first so it can still remove it.
 * "root" as user keeps root. Returns 0, or -1 with err set.
 */
int privdrop(const struct conf *cfg, int admin_qid, char *err, size_t errlen);

#endif
