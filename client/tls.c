/* tls: client-side TLS on a non-blocking socket (OpenSSL 3) */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

struct tls_ctx {
	SSL_CTX *ctx;
	enum tls_verify how;
	unsigned char fp[TLS_FP_LEN];
};

struct tls {
	struct tls_ctx *x;
	SSL *ssl;
	short hwant;		/* what the unfinished handshake waits for */
	short rwant, wwant;	/* the same for a read, a write (0: none) */
	bool up;		/* handshake done */
	bool broken;		/* a fatal error: no close_notify (OpenSSL forbids it) */
	char host[256];
	char err[256];
};

/* ------------------------------------------------------- fingerprints */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tls_fp_parse(const char *s, unsigned char out[TLS_FP_LEN])
{
	size_t len = strlen(s);
	bool colons;

	/* 64 digits, or 32 pairs with 31 colons between them */
	if (len == TLS_FP_LEN * 2)
		colons = false;
	else if (len == TLS_FP_LEN * 3 - 1)
		colons = true;
	else
		return -1;
	for (size_t i = 0; i < TLS_FP_LEN; i++) {
		const char *p = s + i * (colons ? 3 : 2);
		int hi = hexval(p[0]), lo = hexval(p[1]);

		if (hi < 0 || lo < 0)
			return -1;
		if (colons && i + 1 < TLS_FP_LEN && p[2] != ':')
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
tls_fp_format(char out[TLS_FP_TEXT], const unsigned char fp[TLS_FP_LEN])
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < TLS_FP_LEN; i++) {
		out[i * 3] = hex[fp[i] >> 4];
		out[i * 3 + 1] = hex[fp[i] & 15];
		out[i * 3 + 2] = i + 1 < TLS_FP_LEN ? ':' : '\0';
	}
}

/* -------------------------------------------------------------- errors */

/*
 * OpenSSL's error queue in words: the first entry is the cause, the rest
 * is context. Drains the queue, so the next operation starts clean.
 */
static int
ssl_errors(char *out, size_t cap, const char *fallback)
{
	unsigned long e = ERR_get_error();
	int reason_code = e != 0 ? ERR_GET_REASON(e) : 0;

	if (e == 0)
		snprintf(out, cap, "%s", fallback);
	else {
		const char *reason = ERR_reason_error_string(e);

		if (reason != NULL)
			snprintf(out, cap, "%s", reason);
		else
			ERR_error_string_n(e, out, cap);
	}
	ERR_clear_error();
	return reason_code;
}

/* what OpenSSL says when the other end answers with something not TLS */
static bool
not_tls(int reason)
{
	return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
	    reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_RECORD_LENGTH_MISMATCH ||
	    reason == SSL_R_HTTP_REQUEST;
}

/* ------------------------------------------------------------ settings */

int
tls_ctx_new(struct tls_ctx **out, enum tls_verify how, const unsigned char *fp,
    const char *ca_file, char *err, size_t cap)
{
	struct tls_ctx *x = calloc(1, sizeof *x);
	char why[256];
	int rc = TLS_FAIL;

	*out = NULL;
	if (x == NULL) {
		snprintf(err, cap, "out of memory");
		return TLS_FAIL;
	}
	ERR_clear_error();
	x->how = how;
	if (how == TLS_VERIFY_FINGERPRINT)
		memcpy(x->fp, fp, TLS_FP_LEN);
	x->ctx = SSL_CTX_new(TLS_client_method());
	if (x->ctx == NULL) {
		ssl_errors(why, sizeof why, "unknown error");
		snprintf(err, cap, "cannot set up TLS: %s", why);
		free(x);
		return TLS_FAIL;
	}
	/*
	 * TLS 1.2 at least. Partial writes and a moving buffer: conn writes
	 * from the head of a queue that may be reallocated before a retry.
	 * A server that closes without close_notify is an ordinary end of
	 * the stream (most IRC servers do it; a line cut short is dropped
	 * by the line framing anyway).
	 */
	if (SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION) != 1) {
		ssl_errors(why, sizeof why, "unknown error");
		snprintf(err, cap, "cannot require TLS 1.2: %s", why);
		goto fail;
	}
	SSL_CTX_set_mode(x->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(x->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (how == TLS_VERIFY_CA) {
		if (ca_file != NULL) {
			FILE *f = fopen(ca_file, "r");

			rc = TLS_FAIL_CA;
			/* say "no such file" rather than OpenSSL's "system lib" */
			if (f == NULL) {
				snprintf(err, cap, "cannot read CA file %s: %s", ca_file,
				    strerror(errno));
				goto fail;
			}
			fclose(f);
			if (SSL_CTX_load_verify_locations(x->ctx, ca_file, NULL) != 1) {
				ssl_errors(why, sizeof why, "no certificate in it");
				snprintf(err, cap, "cannot load CA file %s: %s", ca_file, why);
				goto fail;
			}
		} else if (SSL_CTX_set_default_verify_paths(x->ctx) != 1) {
			ssl_errors(why, sizeof why, "unknown error");
			snprintf(err, cap, "cannot load the system's CA certificates: %s", why);
			goto fail;
		}
		SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
	} else {
		/* pinning compares the certificate after the handshake (the
		 * server still proves it holds its key); no-verify nothing */
		SSL_CTX_set_verify(x->ctx, SSL_VERIFY_NONE, NULL);
	}
	*out = x;
	return 0;
fail:
	SSL_CTX_free(x->ctx);
	free(x);
	return rc;
}

void
tls_ctx_free(struct tls_ctx *x)
{
	if (x == NULL)
		return;
	SSL_CTX_free(x->ctx);
	free(x);
}

/* ---------------------------------------------------------- connection */

static bool
is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

struct tls *
tls_new(struct tls_ctx *x, int fd, const char *host, char *err, size_t cap)
{
	struct tls *t = calloc(1, sizeof *t);
	char why[256];
	bool ip = is_ip(host);

	if (t == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	t->x = x;
	t->hwant = POLLOUT;	/* the ClientHello goes first */
	snprintf(t->host, sizeof t->host, "%s", host);
	if ((t->ssl = SSL_new(x->ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1)
		goto fail;
	SSL_set_connect_state(t->ssl);
	/* SNI is for names only (RFC 6066: no IP literals) */
	if (!ip && SSL_set_tlsext_host_name(t->ssl, host) != 1)
		goto fail;
	if (x->how == TLS_VERIFY_CA) {
		X509_VERIFY_PARAM *p = SSL_get0_param(t->ssl);

		/* the certificate must name what we connected to: an IP
		 * address in an IP SAN, a name in a DNS SAN (or the CN) */
		X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(p, host) != 1 :
		    SSL_set1_host(t->ssl, host) != 1)
			goto fail;
	}
	return t;
fail:
	ssl_errors(why, sizeof why, "out of memory");
	snprintf(err, cap, "cannot set up TLS: %s", why);
	SSL_free(t->ssl);
	free(t);
	return NULL;
}

/* the pinned fingerprint against the certificate the server sent */
static int
check_pin(struct tls *t, char *err, size_t cap)
{
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char got[TLS_FP_TEXT];

	if (cert == NULL) {
		snprintf(err, cap, "the server sent no certificate");
		return TLS_FAIL_VERIFY;
	}
	if (X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != TLS_FP_LEN) {
		char why[256];

		ssl_errors(why, sizeof why, "unknown error");
		snprintf(err, cap, "cannot compute the certificate's fingerprint: %s", why);
		return TLS_FAIL;
	}
	if (CRYPTO_memcmp(md, t->x->fp, TLS_FP_LEN) != 0) {
		tls_fp_format(got, md);
		snprintf(err, cap, "its SHA-256 fingerprint is %s, not the one given with "
		    "--tls-fingerprint", got);
		return TLS_FAIL_VERIFY;
	}
	return TLS_OK;
}

int
tls_handshake(struct tls *t, char *err, size_t cap)
{
	int r, e, saved, reason;
	long v;
	char why[256];

	if (t->up)
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(t->ssl);
	saved = errno;
	if (r == 1) {
		t->hwant = 0;
		if (t->x->how == TLS_VERIFY_FINGERPRINT && (r = check_pin(t, err, cap)) != TLS_OK) {
			/* not a word more to a server we do not trust */
			t->broken = true;
			return r;
		}
		t->up = true;
		return TLS_OK;
	}
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		t->hwant = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return TLS_AGAIN;
	}
	t->broken = true;
	if (t->x->how == TLS_VERIFY_CA && (v = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		ERR_clear_error();
		snprintf(err, cap, "%s", X509_verify_cert_error_string(v));
		return TLS_FAIL_VERIFY;
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		ERR_clear_error();
		snprintf(err, cap, "%s", saved != 0 ? strerror(saved) :
		    "the server closed the connection");
		return TLS_FAIL;
	}
	reason = ssl_errors(why, sizeof why, "protocol error");
	snprintf(err, cap, "%s%s", why,
	    not_tls(reason) ? " (does the server speak TLS on this port?)" : "");
	return TLS_FAIL;
}

ssize_t
tls_read(struct tls *t, void *p, size_t n)
{
	int r, e, saved;

	ERR_clear_error();
	errno = 0;
	r = SSL_read(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	saved = errno;
	t->rwant = 0;
	if (r > 0)
		return r;
	switch ((e = SSL_get_error(t->ssl, r))) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		/* reading may have to write (a key update), and the reverse */
		t->rwant = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		t->broken = true;
		if (ERR_peek_error() == 0) {
			ERR_clear_error();
			return saved != 0 ? -saved : 0;
		}
		/* fall through */
	default:
		t->broken = true;
		ssl_errors(t->err, sizeof t->err, "protocol error");
		return -EPROTO;
	}
}

ssize_t
tls_write(struct tls *t, const void *p, size_t n)
{
	int r, e, saved;

	ERR_clear_error();
	errno = 0;
	r = SSL_write(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	saved = errno;
	t->wwant = 0;
	if (r > 0)
		return r;
	switch ((e = SSL_get_error(t->ssl, r))) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		t->wwant = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_SYSCALL:
		t->broken = true;
		if (ERR_peek_error() == 0) {
			ERR_clear_error();
			return saved != 0 ? -saved : -EPIPE;
		}
		/* fall through */
	default:
		t->broken = true;
		ssl_errors(t->err, sizeof t->err, "protocol error");
		return -EPROTO;
	}
}

short
tls_events(const struct tls *t)
{
	return t->up ? (short)(t->rwant | t->wwant) : t->hwant;
}

bool
tls_pending(const struct tls *t)
{
	return t->up && SSL_pending(t->ssl) > 0;
}

const char *
tls_error(const struct tls *t)
{
	return t->err;
}

void
tls_describe(const struct tls *t, char *out, size_t cap)
{
	snprintf(out, cap, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	if (t->up && !t->broken) {
		/* one non-blocking try: a goodbye, never a wait */
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
	SSL_free(t->ssl);
	free(t);
}
