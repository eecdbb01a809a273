/* worker_tls: the fork server's TLS context, a worker's TLS session */
#include <config.h>

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "errbuf.h"
#include "log.h"
#include "worker_io.h"
#include "worker_tls.h"

#define WORKER_TLS_FILE_MAX	(1024 * 1024)	/* a PEM file is never this big */
/* TLS 1.2: forward secrecy and AEAD only (TLS 1.3 suites: OpenSSL's own) */
#define WORKER_TLS_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* the fork server's context; each worker has its copy-on-write image */
static SSL_CTX *worker_tls_ctx;
/*
 * A session made in the fork server, unused there: each worker takes its
 * inherited copy instead of calling SSL_new(), which writes to some 40 kB
 * worth of the pages it shares with the fork server (the context's
 * reference counts and locks, allocations spread over its heap).
 */
static SSL *worker_tls_template;

/* a worker has one client, so one session: no heap for the bookkeeping */
static struct {
	SSL *ssl;
	bool established;
	bool read_wants_write;	/* SSL_read/SSL_accept waits for EPOLLOUT */
	bool renegotiation;	/* the client asked for one: it is closed */
} worker_tls;

/* the first error on OpenSSL's queue, or what errno says; clears the queue */
static const char *
worker_tls_why(char *buf, size_t size, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "%s", fallback);
	ERR_clear_error();
	return buf;
}

/* ------------------------------------------------------------- the context */

/* the whole file behind fd, from offset 0 (the master's offset is shared) */
static char *
worker_tls_slurp(int fd, const char *path, size_t *lenp, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;

	if (fstat(fd, &st) < 0) {
		errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > WORKER_TLS_FILE_MAX) {
		errbuf_set(err, errlen, "%s: not a PEM file (a regular file of at most %d KiB)",
		    path, WORKER_TLS_FILE_MAX / 1024);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		errbuf_set(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errbuf_set(err, errlen, "%s: %s", path, n < 0 ? strerror(errno) :
			    "shorter than its size");
			OPENSSL_cleanse(buf, (size_t)st.st_size);
			free(buf);
			return NULL;
		}
		len += (size_t)n;
	}
	*lenp = len;
	return buf;
}

/* the leaf certificate, then the chain after it */
static int
worker_tls_use_chain(SSL_CTX *ctx, const char *pem, size_t len, const char *path,
    char *err, size_t errlen)
{
	char why[256];
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int rc = -1;

	if (bio == NULL) {
		errbuf_set(err, errlen, "%s: %s", path, worker_tls_why(why, sizeof why,
		    "out of memory"));
		return -1;
	}
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1) {
		errbuf_set(err, errlen, "%s: no usable certificate: %s", path,
		    worker_tls_why(why, sizeof why, "no PEM certificate"));
		X509_free(x);
		goto out;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			errbuf_set(err, errlen, "%s: chain certificate: %s", path,
			    worker_tls_why(why, sizeof why, "refused"));
			goto out;
		}
	ERR_clear_error();	/* the end of the file reads as an error */
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

static int
worker_tls_use_key(SSL_CTX *ctx, const char *pem, size_t len, const char *path,
    char *err, size_t errlen)
{
	char why[256];
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (bio == NULL) {
		errbuf_set(err, errlen, "%s: %s", path, worker_tls_why(why, sizeof why,
		    "out of memory"));
		return -1;
	}
	/* no passphrase callback: an encrypted key fails instead of prompting */
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"")) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		errbuf_set(err, errlen, "%s: no usable private key: %s", path,
		    worker_tls_why(why, sizeof why, "no PEM private key"));
	else if (SSL_CTX_check_private_key(ctx) != 1)
		errbuf_set(err, errlen, "%s does not match the certificate: %s", path,
		    worker_tls_why(why, sizeof why, "mismatch"));
	else
		rc = 0;
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

/*
 * One handshake with ourselves, in memory, right after building the
 * context: OpenSSL fills its caches (algorithms fetched from the
 * providers, curve tables, the random generators) on first use, and
 * whatever it fills here is shared by every worker forked afterwards
 * instead of written again by each of them (memory per idle client).
 * Returns 0, or -1 with the reason in err: a pair that cannot shake
 * hands with itself is refused before any client sees it.
 */
static int
worker_tls_warm(SSL_CTX *sctx, char *err, size_t errlen)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *s = NULL, *c = NULL;
	BIO *sb = NULL, *cb = NULL;
	char why[256], byte = 0;
	int rc = -1, done = 0;

	if (cctx == NULL || (s = SSL_new(sctx)) == NULL || (c = SSL_new(cctx)) == NULL ||
	    BIO_new_bio_pair(&sb, 0, &cb, 0) != 1) {
		errbuf_set(err, errlen, "TLS self-test: %s", worker_tls_why(why, sizeof why,
		    "out of memory"));
		goto out;
	}
	SSL_set_bio(s, sb, sb);
	SSL_set_bio(c, cb, cb);
	sb = cb = NULL;
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	/* each side does what it can, then the other: a few rounds at most */
	for (int i = 0; i < 16 && done != 3; i++) {
		if (!(done & 1) && SSL_do_handshake(c) == 1)
			done |= 1;
		if (!(done & 2) && SSL_do_handshake(s) == 1)
			done |= 2;
	}
	if (done != 3 || SSL_write(c, "x", 1) != 1 || SSL_read(s, &byte, 1) != 1 ||
	    SSL_write(s, "x", 1) != 1 || SSL_read(c, &byte, 1) != 1) {
		errbuf_set(err, errlen, "TLS self-test handshake failed: %s",
		    worker_tls_why(why, sizeof why, "no progress"));
		goto out;
	}
	rc = 0;
out:
	SSL_free(c);
	SSL_free(s);
	BIO_free(sb);
	BIO_free(cb);
	SSL_CTX_free(cctx);
	ERR_clear_error();
	return rc;
}

int
worker_tls_ctx_build(int cert_fd, int key_fd, const char *cert_path,
    const char *key_path, const char *ciphers, int min_version, char *err, size_t errlen)
{
	char *cert = NULL, *key = NULL, why[256];
	size_t cert_len = 0, key_len = 0;
	SSL_CTX *ctx;
	int rc = -1;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		errbuf_set(err, errlen, "SSL_CTX_new: %s", worker_tls_why(why, sizeof why,
		    "failed"));
		return -1;
	}
	/* TLS 1.2 at least; the server picks the cipher; no renegotiation,
	 * no compression; SSL_write may write part of a buffer and be retried
	 * from the send queue, which moves; idle sessions give their buffers
	 * back (memory per client) */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* every worker is a process of its own: a session cache in one helps
	 * no other; tickets (keys made here, inherited by all) still resume */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_min_proto_version(ctx, min_version == TLS1_3_VERSION ?
	    TLS1_3_VERSION : TLS1_2_VERSION) != 1) {
		errbuf_set(err, errlen, "minimum TLS version: %s", worker_tls_why(why,
		    sizeof why, "refused"));
		goto out;
	}
	if (SSL_CTX_set_cipher_list(ctx, ciphers != NULL && ciphers[0] != '\0' ? ciphers :
	    WORKER_TLS_CIPHERS) != 1) {
		errbuf_set(err, errlen, "tls.ciphers: %s", worker_tls_why(why, sizeof why,
		    "no usable cipher"));
		goto out;
	}
	if ((cert = worker_tls_slurp(cert_fd, cert_path, &cert_len, err, errlen)) == NULL ||
	    (key = worker_tls_slurp(key_fd, key_path, &key_len, err, errlen)) == NULL ||
	    worker_tls_use_chain(ctx, cert, cert_len, cert_path, err, errlen) < 0 ||
	    worker_tls_use_key(ctx, key, key_len, key_path, err, errlen) < 0 ||
	    worker_tls_warm(ctx, err, errlen) < 0)
		goto out;
	{
		SSL *t = SSL_new(ctx);

		if (t == NULL) {
			errbuf_set(err, errlen, "SSL_new: %s", worker_tls_why(why, sizeof why,
			    "out of memory"));
			goto out;
		}
		SSL_free(worker_tls_template);
		worker_tls_template = t;
	}
	SSL_CTX_free(worker_tls_ctx);
	worker_tls_ctx = ctx;
	ctx = NULL;
	rc = 0;
out:
	if (key != NULL) {
		OPENSSL_cleanse(key, key_len);
		free(key);
	}
	free(cert);
	SSL_CTX_free(ctx);
	return rc;
}

/* ---------------------------------------------------------------- a session */

/*
 * After the handshake, a TLS 1.2 record of type handshake can only be a
 * renegotiation (SSL_OP_NO_RENEGOTIATION refuses it with a warning alert
 * and would go on); we close the connection instead.
 */
static void
worker_tls_msg(int write_p, int version, int content_type, const void *buf, size_t len,
    SSL *ssl, void *arg)
{
	(void)version;
	(void)arg;
	if (!write_p && content_type == SSL3_RT_HEADER && len >= 1 &&
	    ((const unsigned char *)buf)[0] == SSL3_RT_HANDSHAKE &&
	    SSL_version(ssl) < TLS1_3_VERSION)
		worker_tls.renegotiation = true;
}

/* what an SSL call's failure means: wait (errno EAGAIN) or give up */
static ssize_t
worker_tls_fail(int r, const char *what)
{
	char why[256];
	int e = SSL_get_error(worker_tls.ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		ERR_clear_error();
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		errno = EAGAIN;
		return -2;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return 0;	/* close_notify: the end */
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (errno == 0 || errno == ECONNRESET)
				return 0;	/* gone without close_notify */
			log_info("TLS %s: %s", what, strerror(errno));
			return -3;
		}
		/* FALLTHROUGH */
	default:
		log_info("TLS %s failed: %s", what, worker_tls_why(why, sizeof why,
		    "protocol error"));
		errno = EPROTO;
		return -3;
	}
}

/* SSL_write for worker_io.c: bytes, or -1 with errno (EAGAIN: wait) */
static ssize_t
worker_tls_write(struct worker *w, const void *p, size_t n)
{
	ssize_t r;

	if (!worker_tls.established) {
		errno = EPIPE;	/* nothing is said in clear before the handshake */
		return -1;
	}
	ERR_clear_error();
	r = SSL_write(worker_tls.ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0) {
		w->tls_pinned = 0;
		return r;
	}
	r = worker_tls_fail((int)r, "write");
	if (r == -1 || r == -2) {
		/* the same bytes come again first, from wherever they are */
		w->tls_pinned = n;
		errno = EAGAIN;
		return -1;
	}
	if (r == 0)
		errno = EPIPE;
	return -1;
}

int
worker_tls_start(struct worker *w)
{
	char why[256];

	w->tls = true;
	if (worker_tls_ctx == NULL) {
		log_warnx("TLS connection, but no certificate is loaded; closing");
		return -1;
	}
	worker_tls.ssl = worker_tls_template;
	worker_tls_template = NULL;
	if (worker_tls.ssl == NULL || SSL_set_fd(worker_tls.ssl, w->cfd) != 1) {
		log_warnx("TLS session: %s", worker_tls_why(why, sizeof why, "SSL_new failed"));
		return -1;
	}
	SSL_set_accept_state(worker_tls.ssl);
	w->tls_write = worker_tls_write;
	return 0;
}

bool
worker_tls_established(const struct worker *w)
{
	(void)w;
	return worker_tls.established;
}

int
worker_tls_handshake(struct worker *w)
{
	ssize_t r;

	worker_tls.read_wants_write = false;
	ERR_clear_error();
	r = SSL_accept(worker_tls.ssl);
	if (r == 1) {
		worker_tls.established = true;
		SSL_set_msg_callback(worker_tls.ssl, worker_tls_msg);
		/* the handshake's scratch memory (key exchange, transcript,
		 * buffers) is free now; give its pages back, or every idle TLS
		 * worker keeps a few hundred kB of them */
		malloc_trim(0);
		log_debug("TLS established: %s, %s", SSL_get_version(worker_tls.ssl),
		    SSL_get_cipher_name(worker_tls.ssl));
		return 1;
	}
	r = worker_tls_fail((int)r, "handshake");
	if (r == -1 || r == -2) {
		worker_tls.read_wants_write = r == -2;
		w->cfd_ready = false;
		return 0;
	}
	if (r == 0)
		log_info("TLS handshake: the client closed the connection");
	return -1;
}

ssize_t
worker_tls_read(struct worker *w, void *buf, size_t len)
{
	ssize_t r;

	(void)w;
	worker_tls.read_wants_write = false;
	ERR_clear_error();
	r = SSL_read(worker_tls.ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (worker_tls.renegotiation) {
		log_info("TLS renegotiation attempted; closing");
		errno = EPROTO;
		return -1;
	}
	if (r > 0)
		return r;
	r = worker_tls_fail((int)r, "read");
	if (r == -1 || r == -2) {
		worker_tls.read_wants_write = r == -2;
		errno = EAGAIN;
		return -1;
	}
	if (r < 0 && errno != EPROTO)
		errno = EIO;
	return r == 0 ? 0 : -1;
}

bool
worker_tls_pending(const struct worker *w)
{
	(void)w;
	return worker_tls.ssl != NULL && SSL_has_pending(worker_tls.ssl);
}

uint32_t
worker_tls_events(const struct worker *w)
{
	(void)w;
	/* a write that waits for a read needs nothing more: EPOLLIN is
	 * watched whenever the worker reads, and it writes again each turn */
	return worker_tls.read_wants_write ? EPOLLOUT : 0;
}

bool
worker_tls_ready(const struct worker *w, uint32_t events)
{
	(void)w;
	return (events & EPOLLOUT) && worker_tls.read_wants_write;
}

void
worker_tls_end(struct worker *w)
{
	(void)w;
	if (worker_tls.ssl == NULL)
		return;
	/* one try, non-blocking: a client that does not read gets no more */
	if (worker_tls.established)
		SSL_shutdown(worker_tls.ssl);
	ERR_clear_error();
	SSL_free(worker_tls.ssl);
	worker_tls.ssl = NULL;
}
