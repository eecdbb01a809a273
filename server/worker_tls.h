/*
 * worker_tls: TLS for the clients of TLS listeners, in shmchatd-worker only
 * (the master never links OpenSSL).
 *
 * The fork server builds one SSL_CTX from the certificate and key files the
 * master opened and passed it (worker_tls_ctx_build); every worker forked
 * afterwards inherits it copy-on-write, so no worker reads the key. A TLS
 * worker does its own handshake inside its event loop, non-blocking, then
 * reads through SSL_read and writes through SSL_write: a hostile handshake
 * or an OpenSSL bug costs that one process. Plain workers never get here.
 */
#ifndef SHMCHAT_WORKER_TLS_H
#define SHMCHAT_WORKER_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct worker;

/* ------------------------------------------------------ the fork server */

/*
 * (Re)build the context for the workers forked from now on, from the PEM
 * files behind cert_fd and key_fd (read from offset 0; the paths are for
 * messages only). ciphers NULL or "": the built-in list; min_version is
 * 0x0303 or 0x0304. Returns 0, or -1 with the reason in err and the
 * previous context kept.
 */
int worker_tls_ctx_build(int cert_fd, int key_fd, const char *cert_path,
    const char *key_path, const char *ciphers, int min_version, char *err, size_t errlen);

/* ------------------------------------------------------------ a worker */

/* a TLS session on w->cfd; -1 (logged) when there is no context */
int worker_tls_start(struct worker *w);
/* the handshake is done */
bool worker_tls_established(const struct worker *w);
/*
 * Go on with the handshake: 1 when done, 0 when it waits for the socket
 * (w->cfd_ready cleared), -1 when it failed (logged; the caller closes).
 */
int worker_tls_handshake(struct worker *w);
/* like read(2): bytes, 0 at the end, -1 with errno (EAGAIN: wait) */
ssize_t worker_tls_read(struct worker *w, void *buf, size_t len);
/* decrypted bytes wait inside the session (no readiness will come for them) */
bool worker_tls_pending(const struct worker *w);
/* epoll events the session waits for besides what the worker asks, while
 * the worker reads its client */
uint32_t worker_tls_events(const struct worker *w);
/* the socket reported events: may the session go on reading now? */
bool worker_tls_ready(const struct worker *w, uint32_t events);
/* close_notify (best effort) and free the session */
void worker_tls_end(struct worker *w);

#endif
