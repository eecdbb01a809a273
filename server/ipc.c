/* ipc: non-blocking message exchange over a SOCK_SEQPACKET socketpair */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"

int
ipc_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	return 0;
}

void
ipc_peer_init(struct ipc_peer *p, int fd)
{
	memset(p, 0, sizeof *p);
	p->fd = fd;
	p->epfd = -1;
	buf_init(&p->outq);
}

int
ipc_peer_watch(struct ipc_peer *p, int epfd, uint64_t tag, void *rbuf,
    size_t rsize, ipc_dispatch_fn dispatch, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev) < 0)
		return -errno;
	ipc_peer_adopt(p, epfd, tag, rbuf, rsize, dispatch, arg);
	ipc_flush(p);
	return 0;
}

void
ipc_peer_adopt(struct ipc_peer *p, int epfd, uint64_t tag, void *rbuf,
    size_t rsize, ipc_dispatch_fn dispatch, void *arg)
{
	p->rbuf = rbuf;
	p->rsize = rsize;
	p->dispatch = dispatch;
	p->arg = arg;
	p->tag = tag;
	p->out_armed = false;
	p->epfd = epfd;
}

void
ipc_peer_unwatch(struct ipc_peer *p)
{
	if (p->epfd >= 0 && p->fd >= 0)
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->fd, NULL);
	p->epfd = -1;
}

/* EPOLLOUT exactly while messages wait in the queue */
static void
ipc_peer_arm(struct ipc_peer *p)
{
	bool want = ipc_pending(p) && !p->dead;

	if (p->epfd < 0 || want == p->out_armed)
		return;
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = p->tag };
	if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->fd, &ev) == 0)
		p->out_armed = want;
}

void
ipc_peer_close(struct ipc_peer *p)
{
	ipc_peer_unwatch(p);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	/* descriptors still waiting in the queue are ours to close */
	while (buf_used(&p->outq) >= 2 * sizeof(uint32_t)) {
		uint32_t len;
		int32_t fd;
		memcpy(&len, buf_head(&p->outq), sizeof len);
		memcpy(&fd, buf_head(&p->outq) + sizeof len, sizeof fd);
		if (fd >= 0)
			close(fd);
		buf_consume(&p->outq, sizeof len + sizeof fd + len);
	}
	buf_free(&p->outq);
}

static int
ipc_try_send(struct ipc_peer *p, const void *msg, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;
		memset(&u, 0, sizeof u);
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof u.buf;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	for (;;) {
		if (sendmsg(p->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		return -errno;
	}
}

int
ipc_flush(struct ipc_peer *p)
{
	while (buf_used(&p->outq) >= 2 * sizeof(uint32_t)) {
		uint32_t len;
		int32_t fd;
		int rc;

		memcpy(&len, buf_head(&p->outq), sizeof len);
		memcpy(&fd, buf_head(&p->outq) + sizeof len, sizeof fd);
		rc = ipc_try_send(p, buf_head(&p->outq) + sizeof len + sizeof fd, len, fd);
		if (rc != 0) {
			if (rc < 0)
				p->dead = true;
			ipc_peer_arm(p);
			return rc;
		}
		if (fd >= 0)
			close(fd);	/* our duplicate: the peer has its own now */
		buf_consume(&p->outq, sizeof len + sizeof fd + len);
	}
	ipc_peer_arm(p);
	return 0;
}

int
ipc_send(struct ipc_peer *p, uint16_t type, void *msg, size_t len)
{
	return ipc_send_fd(p, type, msg, len, -1);
}

int
ipc_send_empty(struct ipc_peer *p, uint16_t type)
{
	struct ipc_hdr h;

	return ipc_send(p, type, &h, sizeof h);
}

int
ipc_send_fd(struct ipc_peer *p, uint16_t type, void *msg, size_t len, int fd)
{
	struct ipc_hdr *h = msg;
	uint32_t l = len;
	int32_t dup_fd = -1;
	int rc;

	if (len < sizeof *h || len > IPC_MSG_MAX)
		return -EMSGSIZE;
	h->type = type;
	h->version = IPC_VERSION;
	h->len = len;
	if (p->dead)
		return -EPIPE;
	if (!ipc_pending(p)) {
		rc = ipc_try_send(p, msg, len, fd);
		if (rc <= 0) {
			if (rc < 0)
				p->dead = true;
			return rc;
		}
	}
	/* keep order: once something is queued, everything queues behind it */
	if (fd >= 0 && (dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return -errno;
	if (buf_append(&p->outq, &l, sizeof l) < 0 ||
	    buf_append(&p->outq, &dup_fd, sizeof dup_fd) < 0 ||
	    buf_append(&p->outq, msg, len) < 0) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -ENOMEM;
	}
	ipc_peer_arm(p);
	return 0;
}

ssize_t
ipc_recv_into(struct ipc_peer *p, void *buf, size_t size, int *fdp)
{
	const struct ipc_hdr *h = buf;
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, size < IPC_MSG_MAX ? size : IPC_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t n;
	int got = -1;

	if (fdp != NULL)
		*fdp = -1;
	do
		n = recvmsg(p->fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	/* take what descriptors came; keep at most one, for a caller that wants it */
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; c != NULL;
	    c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
			if (got < 0 && fdp != NULL)
				got = fd;
			else
				close(fd);
		}
	}
	if (fdp != NULL)
		*fdp = got;
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		p->dead = true;
		return -errno;
	}
	if (n == 0) {
		p->dead = true;
		return 0;
	}
	if ((size_t)n < sizeof *h || (size_t)n > iov.iov_len || h->len != (size_t)n ||
	    h->version != IPC_VERSION || !ipc_size_ok(h->type, n)) {
		if (got >= 0)
			close(got);
		if (fdp != NULL)
			*fdp = -1;
		return -EBADMSG;
	}
	return n;
}

bool
ipc_size_ok(uint16_t type, size_t len)
{
	/* per message type: the sizes it may have (min, max) */
	static const struct {
		uint16_t type;
		uint32_t min, max;
	} sizes[] = {
		{ IPC_FANOUT, sizeof(struct ipc_hdr), sizeof(struct ipc_hdr) },
		{ IPC_SPACE_WAIT, sizeof(struct ipc_hdr), sizeof(struct ipc_hdr) },
		{ IPC_REQ, sizeof(struct ipc_req), IPC_MSG_MAX },
		{ IPC_ADMIN_REQ, sizeof(struct ipc_admin_req), IPC_MSG_MAX },
		{ IPC_ADMIN_DONE, sizeof(struct ipc_hdr), sizeof(struct ipc_hdr) },
		{ IPC_ADMIN_REPLY, sizeof(struct ipc_admin_reply), IPC_MSG_MAX },
		{ IPC_WAKE, sizeof(struct ipc_hdr), sizeof(struct ipc_hdr) },
		{ IPC_CLOSE, sizeof(struct ipc_hdr) + 1, IPC_WORKER_MSG_MAX },
		{ IPC_SETTINGS, sizeof(struct ipc_settings), sizeof(struct ipc_settings) },
		{ IPC_ASSIGN, sizeof(struct ipc_assign), sizeof(struct ipc_assign) },
		{ IPC_FS_SPAWN, sizeof(struct ipc_fs_spawn), sizeof(struct ipc_fs_spawn) },
		{ IPC_FS_SPAWNED, sizeof(struct ipc_fs_spawned), sizeof(struct ipc_fs_spawned) },
		{ IPC_FS_EXITED, sizeof(struct ipc_fs_exited), sizeof(struct ipc_fs_exited) },
		{ IPC_FS_TLS_CERT, sizeof(struct ipc_hdr), sizeof(struct ipc_hdr) },
		{ IPC_FS_TLS, sizeof(struct ipc_fs_tls) + 3, IPC_MSG_MAX },
		{ IPC_FS_TLS_DONE, sizeof(struct ipc_fs_tls_done), IPC_MSG_MAX },
		{ IPC_FS_POOL, sizeof(struct ipc_fs_pool), sizeof(struct ipc_fs_pool) },
		{ IPC_FS_POOL_STATE, sizeof(struct ipc_fs_pool_state),
		    sizeof(struct ipc_fs_pool_state) },
		{ IPC_FS_TAKE, sizeof(struct ipc_hdr), sizeof(struct ipc_hdr) },
	};

	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		if (sizes[i].type == type)
			return len >= sizes[i].min && len <= sizes[i].max;
	return false;
}

int
ipc_peer_receive(struct ipc_peer *p, unsigned budget)
{
	while (budget-- > 0) {
		int fd;
		ssize_t n = ipc_recv_into(p, p->rbuf, p->rsize, &fd);

		if (n == -EAGAIN)
			return 0;
		if (n == -EBADMSG) {
			if (!p->dispatch(p->arg, p, IPC_EV_BAD, NULL, 0, -1))
				return 1;
			continue;
		}
		if (n <= 0) {
			ipc_peer_unwatch(p);
			p->dispatch(p->arg, p, IPC_EV_EOF, NULL, 0, -1);
			return -1;
		}
		if (!p->dispatch(p->arg, p, IPC_EV_MSG, p->rbuf, n, fd))
			return 1;
	}
	return 1;
}

void
ipc_peer_event(struct ipc_peer *p, uint32_t events, unsigned budget)
{
	if (events & EPOLLOUT)
		ipc_flush(p);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		ipc_peer_receive(p, budget);
}

/* ------------------------------------------------------ typed payloads */

void *
ipc_out_init(struct ipc_out *o, void *buf, size_t size, size_t hdrlen)
{
	o->buf = buf;
	o->size = size < IPC_MSG_MAX ? size : IPC_MSG_MAX;
	o->overflow = hdrlen > o->size;
	o->len = o->overflow ? 0 : hdrlen;
	memset(o->buf, 0, o->len);
	return o->buf;
}

void
ipc_put(struct ipc_out *o, const void *p, size_t n)
{
	if (o->overflow || n > o->size - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

void
ipc_put_str(struct ipc_out *o, const char *s)
{
	ipc_put(o, s, strlen(s) + 1);
}

int
ipc_out_send(struct ipc_peer *p, uint16_t type, struct ipc_out *o)
{
	if (o->overflow)
		return -EMSGSIZE;
	return ipc_send(p, type, o->buf, o->len);
}

void
ipc_in_init(struct ipc_in *in, const void *msg, size_t len, size_t hdrlen)
{
	in->bad = hdrlen > len;
	in->p = (const char *)msg + (in->bad ? len : hdrlen);
	in->end = (const char *)msg + len;
}

const char *
ipc_get_str(struct ipc_in *in)
{
	const char *s = in->p, *nul;

	if (in->bad || in->p == in->end)
		return NULL;
	if ((nul = memchr(in->p, '\0', in->end - in->p)) == NULL) {
		in->bad = true;
		return NULL;
	}
	in->p = nul + 1;
	return s;
}
