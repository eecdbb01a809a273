/* harness_tls: TLS clients and test certificates (OpenSSL) for the tests */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "harness_tls.h"

static const char *
tls_why(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "no OpenSSL error";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

void
h_tls_make_pair(const char *cn, const char *sans, const char *cert, const char *key, char *fp)
{
	/* distinct serials: to a verifier, one issuer and serial are one certificate */
	static long serial = 1;
	static const char *const ext[][2] = {
		/* CA:TRUE: a client can take the certificate as its own CA file */
		{ "basicConstraints", "critical,CA:TRUE" },
		{ "subjectKeyIdentifier", "hash" },
		{ "subjectAltName", NULL },
	};
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	FILE *f;

	if (pk == NULL || x == NULL)
		H_FAIL("test key: %s", tls_why());
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, ext[i][0],
		    ext[i][1] ? ext[i][1] : sans ? sans : "IP:127.0.0.1,DNS:localhost");

		if (e == NULL || !X509_add_ext(x, e, -1))
			H_FAIL("test certificate extension %s: %s", ext[i][0], tls_why());
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, pk, EVP_sha256()) == 0)
		H_FAIL("test certificate: %s", tls_why());
	if (fp != NULL) {
		if (!X509_digest(x, EVP_sha256(), md, &len))
			H_FAIL("test certificate fingerprint: %s", tls_why());
		for (unsigned int i = 0; i < len; i++)
			snprintf(fp + 3 * i, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
	}
	if ((f = fopen(cert, "w")) == NULL || PEM_write_X509(f, x) != 1 || fclose(f) != 0)
		H_FAIL("writing %s", cert);
	if ((f = fopen(key, "w")) == NULL ||
	    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1 || fclose(f) != 0)
		H_FAIL("writing %s", key);
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* ------------------------------------------------------------- the client */

/* wait for what the last SSL call wanted; false past the deadline */
static bool
tls_wait(struct cli *c, int err, long long deadline)
{
	struct pollfd pf = { c->fd, err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, 0 };
	long long left = deadline - h_now_ms();

	if (left <= 0)
		return false;
	poll(&pf, 1, (int)left);
	return true;
}

static ssize_t
tls_recv(struct cli *c, void *buf, size_t n)
{
	int r = SSL_read(c->tls, buf, (int)n), e;

	if (r > 0)
		return r;
	e = SSL_get_error(c->tls, r);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
		return 0;
	errno = EPROTO;
	return -1;
}

static bool
tls_send(struct cli *c, const void *buf, size_t n, long long deadline)
{
	const char *p = buf;

	while (n > 0) {
		int r = SSL_write(c->tls, p, (int)n), e;

		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		e = SSL_get_error(c->tls, r);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return false;
		if (!tls_wait(c, e, deadline))
			H_FAIL("client %s: TLS send blocked (server not reading?)", c->nick);
	}
	return true;
}

static bool
tls_pending(struct cli *c)
{
	return SSL_has_pending(c->tls);
}

static void
tls_close(struct cli *c)
{
	SSL_free(c->tls);
	c->tls = NULL;
}

static const struct cli_transport tls_transport = {
	.recv = tls_recv, .send = tls_send, .pending = tls_pending, .close = tls_close,
};

static struct cli *
connect_tls(struct srv *s, bool tls12, int rcvbuf)
{
	static SSL_CTX *ctx, *ctx12;
	SSL_CTX **cp = tls12 ? &ctx12 : &ctx;
	long long deadline = h_now_ms() + T_LONG;
	struct cli *c;
	SSL *ssl;

	if (*cp == NULL) {
		/* the test certificate is self-signed: no verification here */
		if ((*cp = SSL_CTX_new(TLS_client_method())) == NULL)
			H_FAIL("SSL_CTX_new: %s", tls_why());
		SSL_CTX_set_min_proto_version(*cp, TLS1_2_VERSION);
		if (tls12)
			SSL_CTX_set_max_proto_version(*cp, TLS1_2_VERSION);
		SSL_CTX_set_mode(*cp, SSL_MODE_ENABLE_PARTIAL_WRITE);
	}
	c = cli_connect_port(s, s->tls_port, rcvbuf);
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0)
		H_FAIL("O_NONBLOCK: %s", strerror(errno));
	if ((ssl = SSL_new(*cp)) == NULL || SSL_set_fd(ssl, c->fd) != 1)
		H_FAIL("SSL_new: %s", tls_why());
	c->tls = ssl;
	c->tr = &tls_transport;
	for (;;) {
		int r = SSL_connect(ssl), e;

		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			H_FAIL("TLS handshake with the server: %s", tls_why());
		if (!tls_wait(c, e, deadline))
			H_FAIL("TLS handshake with the server: no answer in %d ms", T_LONG);
	}
	return c;
}

struct cli *
cli_connect_tls(struct srv *s)
{
	return connect_tls(s, false, 0);
}

struct cli *
cli_connect_tls12(struct srv *s)
{
	return connect_tls(s, true, 0);
}

struct cli *
cli_connect_tls_rcvbuf(struct srv *s, int rcvbuf)
{
	return connect_tls(s, false, rcvbuf);
}

struct cli *
cli_new_tls(struct srv *s, const char *nick)
{
	struct cli *c = cli_connect_tls(s);

	cli_register(c, nick);
	return c;
}

void
cli_tls_peer_cn(struct cli *c, char *out, size_t size)
{
	X509 *x = SSL_get1_peer_certificate(c->tls);

	out[0] = '\0';
	if (x == NULL)
		H_FAIL("the server showed no certificate");
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)size);
	X509_free(x);
}

void
cli_tls_renegotiate(struct cli *c)
{
	if (SSL_renegotiate(c->tls) != 1)
		H_FAIL("SSL_renegotiate: %s", tls_why());
	/* sends the ClientHello; the answer is read by the test */
	SSL_do_handshake(c->tls);
	ERR_clear_error();
}
