/*
 * conn: one TCP connection to an IRC server. Resolves the name, tries the
 * addresses in turn with non-blocking connects (each bounded in time),
 * frames what arrives into lines (common/linebuf) and writes out what was
 * queued in conn->out (common/buf). Never blocks; the caller polls conn->fd.
 * With TLS (conn_set_tls) the handshake is part of connecting, bounded
 * too, and reads and writes go through the tls module.
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

/* conn_connect_step() results */
enum {
	CONN_STEP_UP = 1,
	CONN_STEP_AGAIN = 0,
	CONN_STEP_FAILED = -1,		/* every address failed, or TLS did */
	CONN_STEP_REFUSED = -2,		/* TLS: the server's certificate was refused */
};

enum conn_state {
	CONN_IDLE,
	CONN_CONNECTING,
	CONN_UP,
};

struct addrinfo;
struct tls;
struct tls_ctx;

struct conn {
	enum conn_state state;
	int fd;
	struct addrinfo *ai, *cur;	/* addresses to try, the one being tried */
	uint64_t deadline;		/* end of the current attempt (clock_ms()) */
	int last_err;			/* errno of the last failed attempt */
	char addr[80];			/* the address being tried / connected */
	char host[256];			/* the name given: TLS checks the certificate for it */
	struct tls_ctx *tls_ctx;	/* NULL: plain TCP (not owned) */
	int handshake_ms;		/* bound of the TLS handshake */
	struct tls *tls;		/* the TLS session, once TCP is connected */
	struct linebuf in;
	struct buf out;
};

/* 0 or -ENOMEM */
int conn_init(struct conn *c);
void conn_free(struct conn *c);
/* speak TLS (x) or plain TCP (NULL) on the next connections */
void conn_set_tls(struct conn *c, struct tls_ctx *x, int handshake_ms);
/*
 * Resolve host:port and start connecting to the first address. now is
 * clock_ms(). 0, or -1 with a message in err.
 */
int conn_open(struct conn *c, const char *host, const char *port, uint64_t now,
    char *err, size_t cap);
/*
 * While CONN_CONNECTING: call when fd has the events conn_events() asked
 * for, or the deadline passed. CONN_STEP_UP: connected (and the TLS
 * handshake done). CONN_STEP_AGAIN: still trying. CONN_STEP_FAILED (every
 * address failed, or the TLS handshake did) and CONN_STEP_REFUSED (the
 * certificate was refused: err holds only the reason): back to CONN_IDLE.
 */
int conn_connect_step(struct conn *c, uint64_t now, char *err, size_t cap);
/* write what the socket takes: bytes written, or -errno */
ssize_t conn_flush(struct conn *c);
/* read what is there into the line buffer: >0, 0 on EOF, -EAGAIN, -errno */
ssize_t conn_read(struct conn *c);
/* poll events wanted */
short conn_events(const struct conn *c);
/* while CONN_UP: whether conn_read() has something to do for these revents */
bool conn_readable(const struct conn *c, short revents);
/* bytes TLS decrypted already wait: poll() cannot see them, read anyway */
bool conn_pending(const struct conn *c);
/* a -errno of conn_read()/conn_flush() in words (EPROTO: what TLS said) */
const char *conn_strerror(const struct conn *c, int e);
/* close the socket, drop buffered data; back to CONN_IDLE */
void conn_close(struct conn *c);

#endif
