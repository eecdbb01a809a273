/*
 * listen: owns the master's listening sockets - taking them over from
 * systemd socket activation or binding the configured addresses - and the
 * textual form of socket addresses ("1.2.3.4:5", "[::1]:5").
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "addr.h"
/* quoted: found next to this file, i.e. server/conf.h, not autoconf's */
#include "conf.h"
#include "errbuf.h"
#include "listen.h"

/* ---------------------------------------------------------------- addresses */

void
listen_format_addr(const struct sockaddr *sa, char *out, size_t outlen, bool with_port)
{
	char a[INET6_ADDRSTRLEN];

	if (outlen == 0)
		return;
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a) == NULL)
			break;
		if (with_port)
			snprintf(out, outlen, "%s:%u", a, ntohs(sin->sin_port));
		else
			snprintf(out, outlen, "%s", a);
		return;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		bool mapped = IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);

		/* a v4 client on a dual-stack socket is a v4 client */
		if (inet_ntop(mapped ? AF_INET : AF_INET6,
		    mapped ? (const void *)&sin6->sin6_addr.s6_addr[12] :
		    (const void *)&sin6->sin6_addr, a, sizeof a) == NULL)
			break;
		if (!with_port)
			snprintf(out, outlen, "%s", a);
		else if (mapped)
			snprintf(out, outlen, "%s:%u", a, ntohs(sin6->sin6_port));
		else
			snprintf(out, outlen, "[%s]:%u", a, ntohs(sin6->sin6_port));
		return;
	}
	case AF_UNIX: {
		/* only from socket activation; sun_path need not be terminated */
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		const char *path = un->sun_path;
		size_t max = sizeof un->sun_path;

		if (path[0] == '\0')	/* abstract namespace */
			snprintf(out, outlen, "unix:@%.*s", (int)strnlen(path + 1,
			    max - 1), path + 1);
		else
			snprintf(out, outlen, "unix:%.*s", (int)strnlen(path, max),
			    path);
		return;
	}
	default:
		break;
	}
	snprintf(out, outlen, "(address family %d)", (int)sa->sa_family);
}

/* ---------------------------------------------------------------- sockets */

static void
name_fd(struct listen_set *ls, int i)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	memset(&ss, 0, sizeof ss);
	if (getsockname(ls->fds[i], (struct sockaddr *)&ss, &len) < 0)
		snprintf(ls->names[i], sizeof ls->names[i], "fd %d", ls->fds[i]);
	else
		listen_format_addr((struct sockaddr *)&ss, ls->names[i],
		    sizeof ls->names[i], true);
}

static int
from_systemd(struct listen_set *ls, int n, char **fdnames, char *err, size_t errlen)
{
	if (n > LISTEN_MAX) {
		errbuf_set(err, errlen, "socket activation: %d sockets passed, at most %d "
		    "supported", n, LISTEN_MAX);
		for (int i = 0; i < n; i++)
			close(SD_LISTEN_FDS_START + i);
		return -1;
	}
	/* adopt them all first so any failure closes every one */
	for (int i = 0; i < n; i++)
		ls->fds[i] = SD_LISTEN_FDS_START + i;
	ls->n = n;
	ls->activated = true;
	for (int i = 0; i < n; i++) {
		int fd = ls->fds[i], fl, r;
		const char *fdname = fdnames != NULL && fdnames[i] != NULL ?
		    fdnames[i] : "unknown";

		r = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1);
		if (r <= 0) {
			errbuf_set(err, errlen, "socket activation: fd %d (%s) is not "
			    "a listening stream socket%s%s", fd, fdname,
			    r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
			return -1;
		}
		if ((fl = fcntl(fd, F_GETFL)) < 0 ||
		    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    (fl = fcntl(fd, F_GETFD)) < 0 ||
		    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			errbuf_set(err, errlen, "socket activation: fd %d (%s): %s",
			    fd, fdname, strerror(errno));
			return -1;
		}
		name_fd(ls, i);
		ls->tls[i] = strcmp(fdname, LISTEN_TLS_NAME) == 0;
	}
	return 0;
}

/* IPv6 off in this kernel or on this host: skippable, unlike a busy port */
static bool
family_unavailable(int family, int e)
{
	return e == EAFNOSUPPORT || (family == AF_INET6 && e == EADDRNOTAVAIL);
}

/* one bound, listening socket for ss, or -errno */
static int
bind_one(const struct sockaddr_storage *ss, socklen_t len, bool dual)
{
	int fd, one = 1, v6only = dual ? 0 : 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &v6only, sizeof v6only) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int
from_config(struct listen_set *ls, const struct conf *c, char *err, size_t errlen)
{
	char skipped[512] = "", what[64];
	int nskipped = 0, nplain = c->nlisten < CONFIG_MAX_LISTEN ? c->nlisten : CONFIG_MAX_LISTEN;
	int ntls = c->nlisten_tls < CONFIG_MAX_LISTEN ? c->nlisten_tls : CONFIG_MAX_LISTEN;

	if (c->nlisten < 1) {
		errbuf_set(err, errlen, "no listen addresses configured");
		return -1;
	}
	/* the plain addresses, then the TLS ones */
	for (int k = 0; k < nplain + ntls; k++) {
		bool tls = k >= nplain;
		int i = tls ? k - nplain : k;
		char *const *list = tls ? c->listen_tls : c->listen;
		struct sockaddr_storage ss;
		socklen_t len;
		bool any;
		int fd;

		if (addr_parse(list[i], &ss, &len) < 0) {
			errbuf_set(err, errlen, "invalid %s address '%s'",
			    tls ? "listen_tls" : "listen", list[i] != NULL ? list[i] : "");
			goto fail;
		}
		listen_format_addr((struct sockaddr *)&ss, what, sizeof what, true);
		/* "*:PORT" is [::] taking IPv4 too, or plain 0.0.0.0 without IPv6 */
		any = strncmp(list[i], "*:", 2) == 0;
		fd = bind_one(&ss, len, any);
		if (fd < 0 && any && family_unavailable(AF_INET6, -fd)) {
			struct sockaddr_in sin = {
				.sin_family = AF_INET,
				.sin_port = ((struct sockaddr_in6 *)&ss)->sin6_port,
				.sin_addr.s_addr = htonl(INADDR_ANY),
			};

			memset(&ss, 0, sizeof ss);
			memcpy(&ss, &sin, sizeof sin);
			len = sizeof sin;
			listen_format_addr((struct sockaddr *)&ss, what,
			    sizeof what, true);
			fd = bind_one(&ss, len, false);
		}
		if (fd < 0 && family_unavailable(ss.ss_family, -fd)) {
			errbuf_add(skipped, sizeof skipped, "%s: %s", what, strerror(-fd));
			nskipped++;
			continue;
		}
		if (fd < 0) {
			errbuf_set(err, errlen, "cannot listen on %s: %s", what,
			    strerror(-fd));
			goto fail;
		}
		ls->fds[ls->n] = fd;
		ls->tls[ls->n] = tls;
		name_fd(ls, ls->n);
		ls->n++;
	}
	if (ls->n == 0) {
		errbuf_set(err, errlen, "cannot listen on any address: %s", skipped);
		return -1;
	}
	if (nskipped > 0)
		errbuf_set(err, errlen, "skipped listen address%s %s",
		    nskipped > 1 ? "es" : "", skipped);
	return 0;
fail:
	listen_close(ls);
	return -1;
}

int
listen_open(struct listen_set *ls, const struct conf *c, char *err, size_t errlen)
{
	char **fdnames = NULL;
	int n, rc;

	memset(ls, 0, sizeof *ls);
	for (int i = 0; i < LISTEN_MAX; i++)
		ls->fds[i] = -1;
	if (errlen > 0)
		err[0] = '\0';

	/* unset LISTEN_* so the workers we fork never try to take them */
	n = sd_listen_fds_with_names(1, &fdnames);
	if (n < 0) {
		errbuf_set(err, errlen, "socket activation: %s", strerror(-n));
		rc = -1;
	} else if (n > 0) {
		rc = from_systemd(ls, n, fdnames, err, errlen);
		if (rc < 0)
			listen_close(ls);
	} else {
		rc = from_config(ls, c, err, errlen);
	}
	if (fdnames != NULL) {
		for (char **p = fdnames; *p != NULL; p++)
			free(*p);
		free(fdnames);
	}
	return rc;
}

void
listen_close(struct listen_set *ls)
{
	for (int i = 0; i < ls->n && i < LISTEN_MAX; i++)
		if (ls->fds[i] >= 0) {
			close(ls->fds[i]);
			ls->fds[i] = -1;
		}
	ls->n = 0;
}
