/*
 * notify: the master's sd_notify(3) messages to systemd (or to a test's
 * NOTIFY_SOCKET): READY, RELOADING, STOPPING, STATUS, WATCHDOG. A no-op
 * when NOTIFY_SOCKET is unset. Workers never inherit NOTIFY_SOCKET.
 */
#ifndef SHMCHAT_NOTIFY_H
#define SHMCHAT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct notify {
	uint64_t watchdog_usec;	/* 0: no watchdog */
	bool enabled;
};

void notify_init(struct notify *n);
void notify_ready(struct notify *n, const char *status);
void notify_reloading(struct notify *n);
void notify_stopping(struct notify *n);
void notify_status(struct notify *n, const char *status);
void notify_watchdog(struct notify *n);
/* drop NOTIFY_SOCKET and WATCHDOG_* from the environment (in workers) */
void notify_forget(void);
/* our environment without them, for a child that execs without changing
 * ours (vfork): an array to free, whose strings are environ's; or NULL */
char **notify_environ(void);

#endif
