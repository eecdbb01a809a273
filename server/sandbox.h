/*
 * sandbox: what a worker may still do once it reads its client.
 *
 * Two seccomp filters, stacked (the kernel runs both; the strictest answer
 * wins). The fork server loads the first, once, before its first fork:
 * every worker inherits it at no cost per client. It allows the fork
 * server's own calls and a worker's set-up. Each worker then adds the
 * second, narrow one, built once in the fork server as a BPF program, at
 * the end of its set-up: from there on a worker can read and write the
 * descriptors it holds, wait on them, use the shared segment and its own
 * memory, and exit. Anything else (socket, open, execve, ptrace, kill,
 * fork...) kills the worker with SIGSYS (SECCOMP_RET_KILL_PROCESS), and
 * the master handles it as any dead worker.
 *
 * Both processes are also made non-dumpable (no ptrace or /proc/PID/mem by
 * another process of the same user) and no_new_privs. See
 * docs/architecture.md, "The sandbox".
 */
#ifndef SHMCHAT_SANDBOX_H
#define SHMCHAT_SANDBOX_H

/*
 * In the fork server, once, before the first fork: not dumpable,
 * no_new_privs, the broad filter loaded, the narrow one built. Returns 0,
 * or -1 after logging why: the fork server then must not fork workers.
 */
int sandbox_forkserver(void);

/*
 * In a worker, after its set-up and before the first byte of its client:
 * the narrow filter. Returns 0, or -1 after logging why (the worker then
 * exits without serving).
 */
int sandbox_worker(void);

/* the end of the fork server: exit(), except where a sanitizer's checks at
 * exit could not pass its filter */
void sandbox_exit(int status) __attribute__((noreturn));

/* the client line that makes a worker built for the tests (tests/sandbox/)
 * attempt a forbidden system call; ignored by every other build */
#define SANDBOX_TEST_LINE	"SHMCHAT-TEST-FORBIDDEN-SYSCALL"

#endif
