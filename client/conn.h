/*
 * conn: one TCP connection to an IRC server. Resolves the name, tries the
 * addresses in turn with non-blocking connects (each bounded in time),
 * frames what arrives into lines (common/linebuf) and writes out what was
 * queued in conn->out (common/buf). Never blocks; the caller polls conn->fd.
 */
#ifndef SHMCHAT_CONN_H
#define SHMCHAT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "linebuf.h"

#define CONN_ATTEMPT_MS	10000	/* per address */

enum conn_state {
	CONN_IDLE,
	CONN_CONNECTING,
	CONN_UP,
};

struct addrinfo;

struct conn {
	enum conn_state state;
	int fd;
	struct addrinfo *ai, *cur;	/* addresses to try, the one being tried */
	uint64_t deadline;		/* end of the current attempt (clock_ms()) */
	int last_err;			/* errno of the last failed attempt */
	char addr[80];			/* the address being tried / connected */
	struct linebuf in;
	struct buf out;
};

/* 0 or -ENOMEM */
int conn_init(struct conn *c);
void conn_free(struct conn *c);
/*
 * Resolve host:port and start connecting to the first address. now is
 * clock_ms(). 0, or -1 with a message in err.
 */
int conn_open(struct conn *c, const char *host, const char *port, uint64_t now,
    char *err, size_t cap);
/*
 * While CONN_CONNECTING: call when fd is writable or the deadline passed.
 * 1: connected (CONN_UP). 0: still trying. -1: every address failed (err).
 */
int conn_connect_step(struct conn *c, uint64_t now, char *err, size_t cap);
/* write what the socket takes: bytes written, or -errno */
ssize_t conn_flush(struct conn *c);
/* read what is there into the line buffer: >0, 0 on EOF, -EAGAIN, -errno */
ssize_t conn_read(struct conn *c);
/* poll events wanted */
short conn_events(const struct conn *c);
/* close the socket, drop buffered data; back to CONN_IDLE */
void conn_close(struct conn *c);

#endif
