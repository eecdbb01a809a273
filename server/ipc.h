/*
 * ipc: the channel layer over shmchatd's AF_UNIX SOCK_SEQPACKET
 * socketpairs (master <-> worker, fork server, admin process), one
 * datagram per message. A peer owns its descriptor, its output queue and,
 * once watched, its epoll registration: sending never blocks (what the
 * kernel does not take now waits in the queue, and EPOLLOUT is armed until
 * it is flushed), and ipc_peer_event() flushes, receives whole messages
 * checked against the size table of ipc_proto.h, and hands each to the
 * peer's dispatch callback, or tells it of EOF or a malformed message.
 * Variable payloads are built and read with the typed helpers below, never
 * with offset arithmetic at call sites.
 */
#ifndef SHMCHAT_IPC_H
#define SHMCHAT_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "ipc_proto.h"

struct ipc_peer;

enum ipc_event {
	IPC_EV_MSG,		/* msg/len: a whole, checked message; fd if one came */
	IPC_EV_EOF,		/* the other side closed (or the socket failed) */
	IPC_EV_BAD,		/* a malformed message arrived (dropped) */
};

/* what a watched peer reports; return false to stop receiving for now */
typedef bool (*ipc_dispatch_fn)(void *arg, struct ipc_peer *p, enum ipc_event ev,
    const void *msg, size_t len, int fd);

struct ipc_peer {
	int fd;
	struct buf outq;	/* queued messages: uint32 length, int32 fd, bytes */
	bool dead;		/* EOF or error seen */
	/* the event half, set by ipc_peer_watch() */
	int epfd;		/* -1: not watched */
	uint64_t tag;		/* epoll data of its events */
	bool out_armed;		/* EPOLLOUT requested */
	void *rbuf;		/* receive buffer of rsize bytes */
	size_t rsize;
	ipc_dispatch_fn dispatch;
	void *arg;
};

/* socketpair(SOCK_SEQPACKET|NONBLOCK|CLOEXEC); returns 0 or -errno */
int ipc_pair(int fds[2]);
void ipc_peer_init(struct ipc_peer *p, int fd);
/* unwatch, close, and close the descriptors still queued */
void ipc_peer_close(struct ipc_peer *p);

/*
 * Register p in epfd (EPOLLIN) with tag as its event data; messages are
 * received into rbuf (at most rsize bytes: a longer one is malformed) and
 * given to dispatch. Returns 0 or -errno.
 */
int ipc_peer_watch(struct ipc_peer *p, int epfd, uint64_t tag, void *rbuf,
    size_t rsize, ipc_dispatch_fn dispatch, void *arg);
/* leave epoll (EOF seen: a closed socket would report EPOLLHUP forever) */
void ipc_peer_unwatch(struct ipc_peer *p);
/* the same for a peer already in epfd under tag, for EPOLLIN only: an
 * epoll instance a former image of this process handed over (an upgrade) */
void ipc_peer_adopt(struct ipc_peer *p, int epfd, uint64_t tag, void *rbuf,
    size_t rsize, ipc_dispatch_fn dispatch, void *arg);
/* epoll reported events for p: flush, then receive at most budget messages */
void ipc_peer_event(struct ipc_peer *p, uint32_t events, unsigned budget);
/*
 * Receive and dispatch at most budget messages: 1 when the budget ran out
 * (more may wait), 0 when none is left, -1 after EOF (dispatched).
 */
int ipc_peer_receive(struct ipc_peer *p, unsigned budget);

/* queue/send one message of len bytes whose first bytes are struct ipc_hdr (filled here) */
int ipc_send(struct ipc_peer *p, uint16_t type, void *msg, size_t len);
/*
 * The same with a descriptor attached (SCM_RIGHTS). The caller keeps fd:
 * when the message has to wait in the queue, a duplicate waits with it.
 */
int ipc_send_fd(struct ipc_peer *p, uint16_t type, void *msg, size_t len, int fd);
/* a message that is its header alone */
int ipc_send_empty(struct ipc_peer *p, uint16_t type);
/* flush queued messages: 0 when empty, 1 when some remain, -errno on error */
int ipc_flush(struct ipc_peer *p);
static inline bool ipc_pending(const struct ipc_peer *p) { return buf_used(&p->outq) > 0; }

/*
 * Receive one message into buf (size bytes; a longer one is -EBADMSG):
 * returns its length, 0 on EOF, -EAGAIN when none is waiting, -EBADMSG if
 * malformed (wrong version, unknown type, a size its type does not allow),
 * -errno. *fd gets a descriptor that came with it (-1 if none).
 */
ssize_t ipc_recv_into(struct ipc_peer *p, void *buf, size_t size, int *fd);
/* is len a size message type may have (ipc_proto.h's table)? */
bool ipc_size_ok(uint16_t type, size_t len);

/* ---------------------------------------------------- typed payloads */

/* a message under construction in buf: a fixed header of hdrlen bytes, then items */
struct ipc_out {
	char *buf;
	size_t size, len;
	bool overflow;		/* an item did not fit: the message is not sent */
};
/* start after a header of hdrlen bytes (returned zeroed, to fill in) */
void *ipc_out_init(struct ipc_out *o, void *buf, size_t size, size_t hdrlen);
void ipc_put(struct ipc_out *o, const void *p, size_t n);
/* a NUL-terminated string */
void ipc_put_str(struct ipc_out *o, const char *s);
/* send it (-EMSGSIZE if something did not fit) */
int ipc_out_send(struct ipc_peer *p, uint16_t type, struct ipc_out *o);

/* reading a received message's items after its fixed header */
struct ipc_in {
	const char *p, *end;
	bool bad;		/* read past the end, or a string without NUL */
};
void ipc_in_init(struct ipc_in *in, const void *msg, size_t len, size_t hdrlen);
/* a string (points into the message), NULL at the end or when malformed */
const char *ipc_get_str(struct ipc_in *in);
/* true when everything was read and nothing was malformed */
static inline bool ipc_in_done(const struct ipc_in *in) { return !in->bad && in->p == in->end; }

#endif
