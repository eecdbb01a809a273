/*
 * master_control: what an operator asks of the running master (SIGHUP
 * or shmchatctl reload, SIGTERM or shmchatctl shutdown) and what it tells
 * systemd about itself (STATUS=).
 */
#ifndef SHMCHAT_MASTER_CONTROL_H
#define SHMCHAT_MASTER_CONTROL_H

#include <stddef.h>

struct master;

/* reload the configuration: 0 with "reloaded (changed: ...)" in out, or
 * -1 with the error (the running configuration is kept) */
int master_control_reload(struct master *m, char *out, size_t outlen);
/* stop accepting and tell every worker to close its client */
void master_control_shutdown(struct master *m, const char *reason);
/* "Listening on ...; N clients, N channels" */
void master_control_status(struct master *m, char *out, size_t outlen);
/* send STATUS= to systemd when the text changed */
void master_control_update_status(struct master *m);

#endif
