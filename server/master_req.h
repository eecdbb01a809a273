/*
 * master_req: the master's answers to workers' directory requests (NICK,
 * JOIN, PART, TOPIC, NAMES, WHO, WHOIS, LIST, LUSERS, AWAY, ISON, USERHOST,
 * MOTD, registration). Replies are formatted once here and travel back
 * through the ring to the requesting slot; the last record of a reply
 * carries struct ipc_ack so the worker knows its request is done.
 */
#ifndef SHMCHAT_MASTER_REQ_H
#define SHMCHAT_MASTER_REQ_H

#include <stddef.h>
#include <stdint.h>

struct master;

/* returns 0, or -EBADMSG when the request is malformed (the worker is broken) */
int master_req_handle(struct master *m, uint32_t slot, const char *msg, size_t len);
/* tell the client's channel peers it quit, and take it out of every channel */
void master_req_quit(struct master *m, uint32_t slot, const char *reason);

#endif
