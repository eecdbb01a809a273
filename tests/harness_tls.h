/*
 * harness_tls: the TLS side of the test harness (OpenSSL), for
 * tests/check_tls.c only: a TLS client over the harness's struct cli, and
 * a throw-away certificate and key made at test time.
 */
#ifndef SHMCHAT_TEST_HARNESS_TLS_H
#define SHMCHAT_TEST_HARNESS_TLS_H

#include <stddef.h>

#include "harness.h"

/*
 * A self-signed certificate for cn (EC P-256, one day) and its key, written
 * as PEM to cert and key. For the tests only: made fresh on every run,
 * never committed.
 */
void h_tls_make_pair(const char *cn, const char *cert, const char *key);
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
