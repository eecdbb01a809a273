/*
 * master: shmchatd's main process. It owns the listening sockets, the
 * shared segment, the directory and one socketpair per worker; it accepts
 * (master_accept), has workers forked and reaps them (master_child), talks
 * to them (master_worker), keeps the ring moving (master_ring), handles
 * directory requests in ring order (master_requests), serves shmchatctl
 * (master_admin) and operators' signals (master_control), all in one
 * event loop (signalfd: nothing runs in a handler).
 */
#ifndef SHMCHAT_MASTER_H
#define SHMCHAT_MASTER_H

#include <stdbool.h>

struct conf;

/*
 * run the daemon until shutdown (takes ownership of cfg); returns the exit
 * status. handover_fd: the state a former image of this process handed
 * over (master_upgrade.h), or -1 to start afresh.
 */
int master_run(struct conf *cfg, const char *config_path, bool must_exist, int handover_fd);

#endif
