/*
 * master_setup: the master's set-up, afresh (master_setup_fresh) or from a
 * former image's state (master_upgrade.c uses the steps it shares), and
 * its clean-up on every exit path.
 */
#ifndef SHMCHAT_MASTER_SETUP_H
#define SHMCHAT_MASTER_SETUP_H

#include <stdbool.h>
#include <stdint.h>

struct conf;
struct master;

/* a master with nothing open yet (takes cfg; NULL: out of memory, cfg freed) */
struct master *master_setup_new(struct conf *cfg, const char *config_path, bool must_exist);
/* listeners, the segment, the fork server, the queue, the tables, the loop's
 * descriptors, all new; 0 or -1 (logged) */
int master_setup_fresh(struct master *m);
/* the directory, slots and queues for m->nslots clients; 0 or -1 (logged) */
int master_setup_tables(struct master *m);
/* signals, the tick, the listeners in epoll; 0 or -1 (logged) */
int master_setup_events(struct master *m);
/* orphaned workers (of a dead fork server) come back to us to be reaped */
void master_setup_subreaper(void);
/* the open-file limit for need clients */
void master_setup_nofile(uint32_t need);
/* listen_desc, tls_port and tls_listeners from m->ls, logged */
void master_setup_describe_listeners(struct master *m);
/* close and free everything m holds (not m itself) */
void master_setup_cleanup(struct master *m);

#endif
