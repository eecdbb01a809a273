/*
 * master_accept: new connections: accept, the server and per-address
 * limits (checked before any process exists for the client), a slot and
 * a socketpair, and the spawn request to the fork server; the client's
 * socket waits in the worker's first message (IPC_ASSIGN).
 */
#ifndef SHMCHAT_MASTER_ACCEPT_H
#define SHMCHAT_MASTER_ACCEPT_H

struct master;

/* a listener is readable: accept a bounded batch */
/* tls: lfd is a TLS listener, the worker does the handshake */
void master_accept(struct master *m, int lfd, bool tls);
/* tell a client that gets no worker why, and close it */
void master_accept_refuse(int fd, const char *host, const char *why);

#endif
