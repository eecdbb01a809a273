/* ipc: non-blocking message exchange over a SOCK_SEQPACKET socketpair */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
	p->fd = fd;
	p->dead = false;
	buf_init(&p->outq);
}

void
ipc_peer_close(struct ipc_peer *p)
{
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
			return rc;
		}
		if (fd >= 0)
			close(fd);	/* our duplicate: the peer has its own now */
		buf_consume(&p->outq, sizeof len + sizeof fd + len);
	}
	return 0;
}

int
ipc_send(struct ipc_peer *p, uint16_t type, void *msg, size_t len)
{
	return ipc_send_fd(p, type, msg, len, -1);
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
	return 0;
}

int
ipc_send_strings(struct ipc_peer *p, uint16_t type, const char *const *args, int nargs)
{
	char msg[IPC_MSG_MAX];
	size_t off = sizeof(struct ipc_hdr);

	for (int i = 0; i < nargs; i++) {
		size_t n = strlen(args[i]) + 1;
		if (off + n > sizeof msg)
			return -EMSGSIZE;
		memcpy(msg + off, args[i], n);
		off += n;
	}
	return ipc_send(p, type, msg, off);
}

ssize_t
ipc_recv(struct ipc_peer *p, void *buf)
{
	return ipc_recv_fd(p, buf, NULL);
}

ssize_t
ipc_recv_fd(struct ipc_peer *p, void *buf, int *fdp)
{
	return ipc_recv_into(p, buf, IPC_MSG_MAX, fdp);
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
	    h->version != IPC_VERSION) {
		if (got >= 0)
			close(got);
		if (fdp != NULL)
			*fdp = -1;
		return -EBADMSG;
	}
	return n;
}

int
ipc_strings(const void *msg, size_t len, size_t hdrlen, const char **out, int max)
{
	const char *p = (const char *)msg + hdrlen, *end = (const char *)msg + len;
	int n = 0;

	if (hdrlen > len)
		return -EBADMSG;
	while (p < end) {
		const char *nul = memchr(p, '\0', end - p);
		if (nul == NULL || n == max)
			return -EBADMSG;
		out[n++] = p;
		p = nul + 1;
	}
	return n;
}
