/*
 * forkserver: the process that forks shmchatd's workers.
 *
 * It is a program of its own, shmchatd-worker (in pkglibexecdir; beside
 * shmchatd in a build tree), linked with nothing but the C library: the
 * master starts it once with fork() and exec(), and every worker is then
 * forked from that small, quiet process instead of from the master. A
 * fork() costs in proportion to the parent's mappings, and a worker forked
 * from a process without libsystemd, libconfig and their dependencies
 * starts faster and keeps fewer page tables; what a worker shares with the
 * fork server never changes under it, so an idle worker costs little
 * memory (PSS), and the master's event loop never pays for a fork().
 *
 * The master hands it the channel (FORKSERVER_FD_IPC) and the shared
 * segment (FORKSERVER_FD_RING) as inherited descriptors. The master sends
 * IPC_FS_SPAWN with one end of a fresh socketpair; the fork server forks a
 * worker that keeps that end, answers IPC_FS_SPAWNED with its pid (or the
 * fork() errno), reaps its workers and reports each with IPC_FS_EXITED.
 * The master passes the client's socket to the worker itself
 * (IPC_ASSIGN). If the fork server dies, its workers are re-parented to the
 * master (a child subreaper), which reaps them and starts a new one.
 *
 * The pool. fork() is the dearest step of a new connection (it is most of
 * a registration's CPU, and far more on hypervisors that trap every
 * page-table write), so workers are forked ahead of demand while the fork
 * server is otherwise idle: a spare waits on a channel of its own for the
 * socketpair end of its master channel (IPC_FS_TAKE), and a spawn request
 * hands it over instead of forking. The pool keeps min_spare_workers
 * spares; each time a request finds it empty the target doubles, up to
 * max_spare_workers, and after FORKSERVER_POOL_DECAY_MS without running
 * dry it halves again (the extra spares are told to go by closing their
 * channel). A spare has done a worker's set-up and nothing else: about
 * 28 kB of private memory and 48 kB of page tables. Spares are the fork server's own: the
 * master hears of a worker when it takes a client, and of the pool's size
 * through IPC_FS_POOL_STATE.
 */
#ifndef SHMCHAT_FORKSERVER_H
#define SHMCHAT_FORKSERVER_H

struct ring;

#define FORKSERVER_PROG		"shmchatd-worker"
#define FORKSERVER_FD_IPC	3	/* its channel to the master */
#define FORKSERVER_FD_RING	4	/* the shared segment, to map */
#define FORKSERVER_POOL_MAX	1024	/* max_spare_workers' upper bound */
#define FORKSERVER_POOL_DECAY_MS	10000

/* the fork server itself (in shmchatd-worker): serve the master on fd */
int forkserver_run(const struct ring *ring, int fd);

#endif
