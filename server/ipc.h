/*
 * ipc: one end of a master<->worker socketpair (AF_UNIX SOCK_SEQPACKET).
 * Sending never blocks: what the kernel does not take now waits in a
 * per-peer queue, flushed when the socket turns writable. Receiving
 * returns whole messages, checked against ipc_proto.h.
 */
#ifndef SHMCHAT_IPC_H
#define SHMCHAT_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc_proto.h"

struct ipc_peer {
	int fd;
	struct buf outq;	/* queued messages: uint32 length, int32 fd, bytes */
	bool dead;		/* EOF or error seen */
};

/* socketpair(SOCK_SEQPACKET|NONBLOCK|CLOEXEC); returns 0 or -errno */
int ipc_pair(int fds[2]);
void ipc_peer_init(struct ipc_peer *p, int fd);
void ipc_peer_close(struct ipc_peer *p);

/* queue/send one message of len bytes whose first bytes are struct ipc_hdr (filled here) */
int ipc_send(struct ipc_peer *p, uint16_t type, void *msg, size_t len);
/*
 * The same with a descriptor attached (SCM_RIGHTS). The caller keeps fd:
 * when the message has to wait in the queue, a duplicate waits with it.
 */
int ipc_send_fd(struct ipc_peer *p, uint16_t type, void *msg, size_t len, int fd);
/* a message made of a header and NUL-separated strings */
int ipc_send_strings(struct ipc_peer *p, uint16_t type, const char *const *args, int nargs);
/* flush queued messages: 0 when empty, 1 when some remain, -errno on error */
int ipc_flush(struct ipc_peer *p);
static inline bool ipc_pending(const struct ipc_peer *p) { return buf_used(&p->outq) > 0; }

/*
 * Receive one message into buf (IPC_MSG_MAX bytes): returns its length,
 * 0 on EOF, -EAGAIN when none is waiting, -EBADMSG if malformed, -errno.
 */
ssize_t ipc_recv(struct ipc_peer *p, void *buf);
/* the same, also taking a descriptor that came with it (*fd = -1 if none) */
ssize_t ipc_recv_fd(struct ipc_peer *p, void *buf, int *fd);
/* the same into size bytes: a longer message is dropped as -EBADMSG (a
 * process forked per client keeps its buffers, and so its pages, few) */
ssize_t ipc_recv_into(struct ipc_peer *p, void *buf, size_t size, int *fd);

/*
 * Split NUL-separated strings that follow a header of hdrlen bytes in a
 * received message of len bytes. Returns the count (<= max) or -EBADMSG.
 */
int ipc_strings(const void *msg, size_t len, size_t hdrlen, const char **out, int max);

#endif
