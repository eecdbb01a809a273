/* ipc: non-blocking message exchange over a SOCK_SEQPACKET socketpair */
#include <config.h>

#include <errno.h>
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
	buf_free(&p->outq);
}

static int
ipc_try_send(struct ipc_peer *p, const void *msg, size_t len)
{
	for (;;) {
		if (send(p->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
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
	while (buf_used(&p->outq) >= sizeof(uint32_t)) {
		uint32_t len;
		int rc;

		memcpy(&len, buf_head(&p->outq), sizeof len);
		rc = ipc_try_send(p, buf_head(&p->outq) + sizeof len, len);
		if (rc != 0) {
			if (rc < 0)
				p->dead = true;
			return rc;
		}
		buf_consume(&p->outq, sizeof len + len);
	}
	return 0;
}

int
ipc_send(struct ipc_peer *p, uint16_t type, void *msg, size_t len)
{
	struct ipc_hdr *h = msg;
	uint32_t l = len;
	int rc;

	if (len < sizeof *h || len > IPC_MSG_MAX)
		return -EMSGSIZE;
	h->type = type;
	h->version = IPC_VERSION;
	h->len = len;
	if (p->dead)
		return -EPIPE;
	if (!ipc_pending(p)) {
		rc = ipc_try_send(p, msg, len);
		if (rc <= 0) {
			if (rc < 0)
				p->dead = true;
			return rc;
		}
	}
	/* keep order: once something is queued, everything queues behind it */
	if (buf_append(&p->outq, &l, sizeof l) < 0 || buf_append(&p->outq, msg, len) < 0)
		return -ENOMEM;
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
	const struct ipc_hdr *h = buf;
	ssize_t n;

	do
		n = recv(p->fd, buf, IPC_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
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
	if ((size_t)n < sizeof *h || n > IPC_MSG_MAX || h->len != (size_t)n ||
	    h->version != IPC_VERSION)
		return -EBADMSG;
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
