/*
 * worker: one forked process per client connection. It owns the client's
 * TCP socket and its end of a socketpair to the master, and nothing else
 * (every other inherited descriptor is closed at once). It frames the
 * client's lines and runs each through the command table (cmd.h), writes
 * what the ring brings to its inbox to the client (worker_io.h), and keeps
 * the client's timers: registration, ping, flood control.
 */
#ifndef SHMCHAT_WORKER_H
#define SHMCHAT_WORKER_H

struct ring;

/* in the process that forks workers, once before the first fork: what
 * every worker shares is set up there, so no worker dirties it */
void worker_prefork(void);
/*
 * A new worker (forked by the fork server): wait for the master's
 * IPC_ASSIGN on ipc_fd, which brings the client's socket, then serve that
 * client until it leaves. Returns the exit status.
 */
int worker_run(const struct ring *ring, int ipc_fd);

#endif
