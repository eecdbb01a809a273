/*
 * listen: the master's listening sockets. Under systemd socket activation
 * they come from sd_listen_fds_with_names() (any number, named or not);
 * otherwise the configured addresses are bound here (IPv6 sockets are
 * IPV6_V6ONLY so 127.0.0.1:6667 and [::1]:6667 can coexist). All returned
 * sockets are non-blocking and close-on-exec. TLS listeners are those of
 * listen_tls or, under socket activation, those named "ircs"
 * (FileDescriptorName=ircs); the master only passes that flag on.
 */
#ifndef SHMCHAT_LISTEN_H
#define SHMCHAT_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>

struct conf;

#define LISTEN_MAX 64

struct listen_set {
	int fds[LISTEN_MAX];
	char names[LISTEN_MAX][64];	/* "127.0.0.1:6667", "[::]:6667" as bound */
	bool tls[LISTEN_MAX];		/* a TLS listener: listen_tls, or named "ircs" */
	int n;
	bool activated;			/* came from systemd */
};

/*
 * Fill ls. Must run in the master before any fork (LISTEN_PID must match).
 * Returns 0, or -1 with a message in err.
 */
int listen_open(struct listen_set *ls, const struct conf *c, char *err, size_t errlen);
void listen_close(struct listen_set *ls);

/* the name socket activation gives a TLS listener (FileDescriptorName=) */
#define LISTEN_TLS_NAME "ircs"

/* "1.2.3.4:5" / "[::1]:5" for a socket address; IPv4-mapped v6 shown as v4 */
void listen_format_addr(const struct sockaddr *sa, char *out, size_t outlen, bool with_port);

#endif
