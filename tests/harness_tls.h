/*
 * harness_tls: the TLS side of the test harness (OpenSSL): a TLS client
 * over the harness's struct cli (tests/check_tls.c), and the throw-away
 * certificates and keys every TLS test makes at run time.
 */
#ifndef SHMCHAT_TEST_HARNESS_TLS_H
#define SHMCHAT_TEST_HARNESS_TLS_H

#include <stddef.h>

#include "harness.h"

/* room for a SHA-256 fingerprint as AA:BB:...:FF and its NUL */
#define H_TLS_FP_SIZE	96

/*
 * A self-signed certificate for cn (EC P-256, one day, CA:TRUE so that it
 * serves as its own CA file) with the subjectAltName sans (NULL:
 * "IP:127.0.0.1,DNS:localhost") and its key, written as PEM to cert and
 * key; when fp is not NULL, the certificate's SHA-256 fingerprint in it
 * (H_TLS_FP_SIZE bytes). For the tests only: made fresh on every run,
 * never committed.
 */
void h_tls_make_pair(const char *cn, const char *sans, const char *cert, const char *key,
		     char *fp);
/* connect to s's TLS port and do the handshake (TLS 1.2 only when tls12) */
struct cli *cli_connect_tls(struct srv *s);
struct cli *cli_connect_tls12(struct srv *s);
/* with SO_RCVBUF set before connect (a client that will stop reading) */
struct cli *cli_connect_tls_rcvbuf(struct srv *s, int rcvbuf);
/* connect over TLS and register */
struct cli *cli_new_tls(struct srv *s, const char *nick);
/* the common name of the certificate the server showed c */
void cli_tls_peer_cn(struct cli *c, char *out, size_t size);
/* TLS 1.2: ask the server for a renegotiation (it must refuse and close) */
void cli_tls_renegotiate(struct cli *c);

#endif
