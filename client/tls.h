/*
 * tls: the client side of TLS over a connected non-blocking socket, on
 * OpenSSL. conn uses it through a small interface: a handshake that is
 * stepped like a non-blocking connect, read, write, what to poll for, and
 * data OpenSSL holds that poll() cannot see. Nothing here knows IRC or
 * the server; the socket stays the caller's.
 *
 * The server's certificate is checked one of three ways (tls_verify):
 * against CA certificates (the system store, or a file) and the host name
 * or IP address we connected to; by its SHA-256 fingerprint only (pinning,
 * for a self-signed server: the chain is not checked then); or not at all.
 */
#ifndef SHMCHAT_TLS_H
#define SHMCHAT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TLS_FP_LEN	32			/* SHA-256 */
#define TLS_FP_TEXT	(TLS_FP_LEN * 3)	/* "AB:CD:...:EF" and a NUL */

enum tls_verify {
	TLS_VERIFY_CA,		/* chain to a trusted CA, and the host name */
	TLS_VERIFY_FINGERPRINT,	/* the leaf certificate's SHA-256 */
	TLS_VERIFY_NONE,	/* --tls-no-verify */
};

/* results */
enum {
	TLS_OK = 1,
	TLS_AGAIN = 0,		/* poll for tls_events() and call again */
	TLS_FAIL = -1,		/* the handshake failed: a message in err */
	TLS_FAIL_VERIFY = -2,	/* the server's certificate was refused */
	TLS_FAIL_CA = -3,	/* tls_ctx_new(): the CA file cannot be loaded */
};

struct tls_ctx;
struct tls;

/*
 * Parse a SHA-256 fingerprint: 64 hex digits, either case, with or
 * without a colon between bytes (all or none). 0, or -1 when malformed.
 */
int tls_fp_parse(const char *s, unsigned char out[TLS_FP_LEN]);
/* "AB:CD:...": the form openssl x509 -fingerprint prints */
void tls_fp_format(char out[TLS_FP_TEXT], const unsigned char fp[TLS_FP_LEN]);

/*
 * The settings shared by every connection: how to verify, the pinned
 * fingerprint (TLS_VERIFY_FINGERPRINT), a CA file instead of the system
 * store (NULL: the system's). 0, or TLS_FAIL_CA / TLS_FAIL with a message.
 */
int tls_ctx_new(struct tls_ctx **out, enum tls_verify how, const unsigned char *fp,
    const char *ca_file, char *err, size_t cap);
void tls_ctx_free(struct tls_ctx *x);

/*
 * Start TLS on the connected socket fd, to host (the name the user gave:
 * sent as SNI unless it is an IP address, and what the certificate must
 * name). NULL with a message on failure.
 */
struct tls *tls_new(struct tls_ctx *x, int fd, const char *host, char *err, size_t cap);
/* one step of the handshake: TLS_OK, TLS_AGAIN or TLS_FAIL(_VERIFY) with err */
int tls_handshake(struct tls *t, char *err, size_t cap);
/* >0 bytes, 0 at the end of the stream, -EAGAIN, -errno (EPROTO: tls_error()) */
ssize_t tls_read(struct tls *t, void *p, size_t n);
/* bytes written (>0), -EAGAIN, -errno (EPROTO: tls_error()) */
ssize_t tls_write(struct tls *t, const void *p, size_t n);
/*
 * POLLIN/POLLOUT: what the unfinished handshake waits for; after it, what
 * the last read and the last write that could not finish wait for
 */
short tls_events(const struct tls *t);
/* decrypted bytes are waiting inside OpenSSL: read without polling */
bool tls_pending(const struct tls *t);
/* the last TLS-level failure in words ("" when none) */
const char *tls_error(const struct tls *t);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done */
void tls_describe(const struct tls *t, char *out, size_t cap);
/* send close_notify if the session is sound (best effort), free it; fd stays open */
void tls_free(struct tls *t);

#endif
