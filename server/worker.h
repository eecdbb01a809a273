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
 * In a new child of the fork server, before it has a client: keep only
 * keep_fd (and stdio), set up signals, the event loop and the sandbox.
 * A spare does this while it waits (forkserver.h), so a client it takes
 * finds all of it done. Returns 0, or -1 (logged): the child exits. The
 * sandbox is in place once it returns: what follows may only wait on
 * epoll, send and receive on its descriptors, and close them.
 */
int worker_prepare(int keep_fd);
/* wait on epoll (set up by worker_prepare) until fd is readable */
int worker_wait_readable(int fd);
/*
 * Then: wait for the master's IPC_ASSIGN on ipc_fd, which brings the
 * client's socket, then serve that client until it leaves. Returns the
 * exit status.
 */
int worker_run(const struct ring *ring, int ipc_fd);

#endif
