/*
 * client: the shmchat client's event loop and its three modes.
 *
 * - interactive (a terminal): a prompt (ui), commands (cmd), output above
 *   the input line (render);
 * - script: each line of standard input becomes a message to the target;
 *   a PING/PONG round trip confirms the server took them all, then QUIT;
 * - listen: incoming events on standard output, as text or JSON.
 *
 * One poll() loop over a signalfd, the server socket and standard input;
 * nothing blocks. A lost connection is retried with exponential backoff in
 * interactive and listen mode once the client has been registered; before
 * that, and in script mode, failing is the answer (see the exit codes).
 */
#ifndef SHMCHAT_CLIENT_H
#define SHMCHAT_CLIENT_H

#include "opts.h"

#define CLIENT_BACKOFF_MIN_MS	1000
#define CLIENT_BACKOFF_MAX_MS	60000
#define CLIENT_KEEPALIVE_MS	60000	/* silence before we PING the server */
#define CLIENT_QUIT_WAIT_MS	2000	/* for the server to close after QUIT */
#define CLIENT_STDIN_MAXLINE	65536	/* a longer input line is sent in parts */
#define CLIENT_SENDQ_MAX	(256 * 1024)	/* stop reading input above this */

/*
 * The server's TLS certificate was refused: shmchat's own exit status,
 * past the end of sysexits(3). Not transient, so never retried.
 */
#define CLIENT_EX_TLS_REFUSED	79

/*
 * Run the client with finished options (opts_finish done). mode must be
 * resolved (not OPTS_AUTO). Returns the exit status (sysexits(3)).
 */
int client_run(struct opts *o);

#endif
