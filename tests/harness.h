/*
 * harness: start shmchatd under socket activation, talk IRC to it over
 * loopback, and clean every process and IPC object up again.
 *
 * Failure handling: with CK_FORK=yes a failed ck_assert() _exit()s the test
 * process without running the checked fixture teardown or atexit handlers.
 * So every assertion in the integration tests goes through h_fail() (the
 * H_ASSERT/EXPECT macros below), which prints context (last lines each client
 * read, the server log tail), kills every server process group and only then
 * reports the failure to Check. As a last resort for crashes and Check
 * timeouts the daemon is started with PR_SET_PDEATHSIG=SIGKILL, and main()
 * reaps orphans it adopts as a child subreaper (harness_reap_orphans()).
 */
#ifndef SHMCHAT_TEST_HARNESS_H
#define SHMCHAT_TEST_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "irc.h"

#ifndef SHMCHATD_PATH
#error "SHMCHATD_PATH must be defined by the build"
#endif

/*
 * Timeouts are multiplied by this: SHMCHAT_TEST_SCALE, else 5 when
 * SHMCHAT_VALGRIND or SHMCHATD_WRAPPER is set. SHMCHATD_WRAPPER (blank-
 * separated words) is put in front of the daemon's command line.
 */
extern int h_scale;
/* one more NAME=value for the next daemons' environment (e.g. WATCHDOG_USEC) */
extern const char *srv_extra_env;
struct srv;
/*
 * Called in the daemon's child process right before execve() (after its
 * stdio, descriptors and signals are set up), e.g. to lower an rlimit or
 * change credentials. Only async-signal-safe calls; _exit() on failure.
 */
extern void (*srv_pre_exec)(const struct srv *s);
#define T_SHORT	(2000 * h_scale)	/* ms: a reply that should come at once */
#define T_LONG	(10000 * h_scale)	/* ms: something that takes a while */

struct h_notify;	/* notify socket reader (thread) */

struct srv {
	pid_t pid;		/* master; also the process group id */
	int pidfd;		/* -1 when pidfd_open is unavailable */
	int port;		/* TCP port on 127.0.0.1 */
	int tls_port;		/* and its TLS port (srv_start_tls), else 0 */
	bool reaped;		/* master waited for */
	int wstatus;		/* its wait status once reaped */
	bool activated;		/* socket-activation start (else bind path) */
	char dir[256];		/* per-server temp dir */
	char conf[300];		/* config file */
	char log[300];		/* stderr of the daemon */
	char notify_name[108];	/* NOTIFY_SOCKET value */
	int notify_fd;
	struct h_notify *nt;
	char status[512];	/* last STATUS= seen */
	long admin_key;		/* this server's shmchatctl queue key, unique per run */
	/* IPC objects that existed before this server started */
	char **shm_before;
	int nshm_before;
	int *msq_before;
	int nmsq_before;
};

struct cli;

/*
 * A client's transport when it is not the plain socket: the TLS client of
 * tests/harness_tls.c (OpenSSL stays out of the other test programs).
 */
struct cli_transport {
	/* one non-blocking read: bytes, 0 at EOF, -1 with errno (EAGAIN) */
	ssize_t (*recv)(struct cli *c, void *buf, size_t n);
	/* all of it, within the deadline; false when the peer is gone */
	bool (*send)(struct cli *c, const void *buf, size_t n, long long deadline_ms);
	/* bytes wait inside the transport (poll would not see them) */
	bool (*pending)(struct cli *c);
	void (*close)(struct cli *c);
};

struct cli {
	struct srv *srv;
	int fd;
	const struct cli_transport *tr;	/* NULL: the plain socket */
	void *tls;			/* the transport's state */
	int id;
	char nick[64];		/* as registered (kept up to date by tests) */
	char user[16];		/* USER name sent */
	bool eof;
	bool auto_pong;		/* answer server PINGs inside cli_next() */
	int local_port;
	int server_port;	/* the listener it connected to */
	unsigned sync_seq;
	char *rbuf;
	size_t rstart, rend, rcap;
	char hist[16][520];	/* last lines read, for failure reports */
	unsigned nhist;
};

/* ------------------------------------------------------------ failures */

/* report a test failure with context, clean everything up, never returns */
void h_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#define H_FAIL(...) h_fail(__FILE__, __LINE__, __VA_ARGS__)
#define H_ASSERT(cond, ...) do { \
	if (!(cond)) \
		h_fail(__FILE__, __LINE__, "assertion '" #cond "' failed: " __VA_ARGS__); \
} while (0)

/* call from main(): timeout scale, subreaper; harmless to call twice */
void harness_init(void);
/* checked fixture: setup / teardown (teardown kills and frees everything) */
void harness_setup(void);
void harness_teardown(void);
/* kill the process groups of orphaned daemons main() adopted, reap them */
void harness_reap_orphans(void);
/* end of main(): reap orphans, remove the temp dirs */
void harness_finish(void);

/*
 * A test case in su with the harness's fixtures (setup/teardown per test,
 * orphans reaped after the case) and a timeout in seconds; setup and
 * teardown may be NULL for harness_setup and harness_teardown.
 */
struct TCase *h_tcase(struct Suite *su, const char *name, double timeout,
		      void (*setup)(void), void (*teardown)(void));
/* end of main(): run every test of su, harness_finish(); the exit status */
int h_suite_run(struct Suite *su);

/* --------------------------------------------------------------- server */

/*
 * Start the daemon with a pre-bound 127.0.0.1:0 socket passed as fd 3
 * (LISTEN_FDS=1) and wait for READY=1. extra_conf is appended to the
 * generated config; keys it sets replace the harness defaults.
 */
struct srv *srv_start(const char *extra_conf);
/*
 * Same with a second pre-bound socket, named "ircs" (LISTEN_FDS=2,
 * LISTEN_FDNAMES=irc:ircs): the daemon's TLS listener, on s->tls_port.
 * extra_conf must configure tls = { certificate; key; }.
 */
struct srv *srv_start_tls(const char *extra_conf);
/* same, but without LISTEN_FDS: the daemon binds listen = ["127.0.0.1:0"]
 * itself; the port is parsed from STATUS=Listening on 127.0.0.1:PORT */
struct srv *srv_start_bind(const char *extra_conf);
/* (re)write the config file atomically */
void srv_write_conf(struct srv *s, const char *extra_conf);
/*
 * Wait for a notify assignment: exact line match ("READY=1"), or prefix
 * match when want ends in '=' ("STATUS="). Consumes datagram lines in order.
 * The matched line is copied to out (if not NULL). false on timeout.
 */
bool srv_wait_notify(struct srv *s, const char *want, int ms, char *out, size_t cap);
/* has a STATUS= line containing substr arrived (any time so far / within ms)? */
bool srv_wait_status(struct srv *s, const char *substr, int ms, char *out, size_t cap);
/* true while the master process has not exited */
bool srv_alive(struct srv *s);
/*
 * SIGTERM; asserts STOPPING=1, exit status 0, an empty process group and no
 * new /dev/shm/shmchat* object or SysV message queue.
 */
void srv_stop(struct srv *s);
/* SIGKILL the whole group, reap, remove leftover IPC objects; no checks */
void srv_kill(struct srv *s);
/* wait (reaping adopted orphans) until the process group is empty */
bool srv_group_gone(struct srv *s, int ms);
/* wait for the master to exit (it must, e.g. after SIGKILL) */
bool srv_wait_master(struct srv *s, int ms);
/* assert no leaked IPC objects (remove them if any) */
void srv_check_ipc(struct srv *s, bool fail_on_leak);
/* pid of the worker holding c's connection (via /proc/net/tcp inode), or -1 */
/* open descriptors of pid (/proc/PID/fd), -1 when unreadable */
/* every descendant of root (children of each of its threads, down to
 * depth more levels), appended to out from n on (at most max): the new n */
int h_descendants(pid_t root, pid_t *out, int max, int n, int depth);
/* the fork server: the master's child with children of its own (the
 * spares), whatever its command line says (under valgrind it is
 * valgrind's); 0 until the first spare exists */
pid_t srv_forkserver(struct srv *s);
int h_proc_nfds(pid_t pid);
/* the numbers (up to 4) of a "Name:" line of /proc/PID/FILE: how many; -1 if unreadable */
int h_proc_fields(pid_t pid, const char *file, const char *name, long v[4]);
/* a field of /proc/PID/smaps_rollup ("Pss", "Private_Dirty"), kB; -1 if unreadable */
long h_proc_smaps_kb(pid_t pid, const char *field);
pid_t srv_worker_of(struct srv *s, struct cli *c, int ms);
/* the daemon's log so far (malloc'd, NUL-terminated), NULL when unreadable */
char *srv_log_text(struct srv *s);
/* does the log contain text, waiting up to ms for it (0: as it is now)? */
bool srv_log_has(struct srv *s, const char *text, int ms);
/* how many times text stands in the log */
int srv_log_count(struct srv *s, const char *text);
/* srv_log_count(s, text) reaches n within ms (for what only the log tells) */
bool srv_log_count_reaches(struct srv *s, const char *text, int n, int ms);
/* print the last lines of the server log to stderr */
void srv_dump_log(struct srv *s, int lines);

/* --------------------------------------------------------------- client */

struct cli *cli_connect(struct srv *s);
/* connect to 127.0.0.1:port (another listener of s), SO_RCVBUF as above */
struct cli *cli_connect_port(struct srv *s, int port, int rcvbuf);
/* same with SO_RCVBUF set before connect (0: default) */
struct cli *cli_connect_rcvbuf(struct srv *s, int rcvbuf);
/* connect and register (NICK/USER; waits for 001 and 376/422) */
struct cli *cli_new(struct srv *s, const char *nick);
/* NICK/USER on a connected client and wait for the end of registration */
void cli_register(struct cli *c, const char *nick);
/* the two halves of cli_register (to pipeline many registrations) */
void cli_register_send(struct cli *c, const char *nick);
void cli_register_wait(struct cli *c);
/* send one line; CR LF is appended. Fails the test on error (not EPIPE/
 * ECONNRESET: those just set eof) */
void cli_send(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* send raw bytes; returns false if the peer is gone */
bool cli_send_raw(struct cli *c, const void *p, size_t n);

/* next complete line within ms (no CR LF, NUL-terminated in place; valid
 * until the next read). false on timeout or EOF (c->eof tells which). */
bool cli_line(struct cli *c, int ms, char **line, size_t *len);
/* a line already buffered, or data that can be read without waiting */
bool cli_line_nowait(struct cli *c, char **line, size_t *len);
/* next parsed line (auto-answers PING if c->auto_pong) */
bool cli_next(struct cli *c, int ms, struct irc_msg *m);
/*
 * Read until a line with this command (case-insensitive; numerics as "001")
 * arrives, from nick (prefix nick, rfc1459 case-insensitive) unless NULL.
 * Lines before it are skipped. false on timeout/EOF.
 */
bool cli_wait(struct cli *c, const char *cmd, const char *from, int ms, struct irc_msg *m);
/* wait for EOF, discarding lines; true if EOF came within ms */
bool cli_wait_eof(struct cli *c, int ms);
/* a client that had stopped reading reads again: give it a normal receive
 * buffer so draining what the server queued does not crawl through a tiny
 * TCP window at the pace of the sender's persist timer */
void cli_resume_reading(struct cli *c);
/* the kernel's view of the client's connection, for failure reports */
const char *cli_tcp_report(struct cli *c, char *buf, size_t size);
/*
 * Round trip: send "PING :sync<n>", read until its PONG; returns the number
 * of lines seen before it whose command is cmd (any line if cmd is NULL).
 */
int cli_sync(struct cli *c, const char *cmd);
/* true if no line with this command (any line if NULL) arrives within ms;
 * lines read meanwhile are dropped (for "must not be sent" checks) */
bool cli_none(struct cli *c, const char *cmd, int ms);
void cli_close(struct cli *c);
/* check a message prefix is nick!user@127.0.0.1 of c */
bool cli_prefix_is(const struct cli *c, const char *prefix);
/* last parameter or "" */
const char *msg_last(const struct irc_msg *m);
/* parameter i or "" */
const char *msg_param(const struct irc_msg *m, int i);
/* is nick in a space-separated list? (NAMES prefixes @/+ and USERHOST/ISON
 * "nick=+user@host" forms are understood) */
bool h_list_has(const char *list, const char *nick);
/* JOIN chan: c's own JOIN echo (its prefix), NAMES listing c, 366 */
void cli_join(struct cli *c, const char *chan);
/* the next cmd (PRIVMSG/NOTICE) c gets must be from `from` to target with text */
void cli_expect_text(struct cli *c, const char *cmd, struct cli *from, const char *target,
		     const char *text);
/* printable summary of the client's last lines, for messages */
void cli_dump(const struct cli *c);

/* failing variants with context */
void h_expect(const char *file, int line, struct cli *c, const char *cmd,
	      const char *from, int ms, struct irc_msg *m);
void h_expect_eof(const char *file, int line, struct cli *c, int ms);
#define EXPECT(c, cmd, m) h_expect(__FILE__, __LINE__, (c), (cmd), NULL, T_SHORT, (m))
#define EXPECT_FROM(c, cmd, from, m) h_expect(__FILE__, __LINE__, (c), (cmd), (from), T_SHORT, (m))
#define EXPECT_T(c, cmd, ms, m) h_expect(__FILE__, __LINE__, (c), (cmd), NULL, (ms), (m))
#define EXPECT_EOF(c, ms) h_expect_eof(__FILE__, __LINE__, (c), (ms))

/* ------------------------------------------------------------- the cast */
/*
 * What a test of an error or fault path needs to end with: a server, and
 * speaker and listener in #live whose messages show that others are still
 * served. A tester (for the questions) is made when asked: outside #live,
 * or in it (then it reads the #live messages too).
 */
enum h_tester { H_NO_TESTER, H_TESTER, H_TESTER_IN_LIVE };
struct h_fx {
	struct srv *s;
	struct cli *tester, *speaker, *listener;
	enum h_tester cast;
	int alive;
};
void h_fx_start(struct h_fx *f, const char *extra_conf, enum h_tester cast);
/* the tester's PING round trip completes; a message in #live arrives, both ways */
void h_fx_alive(struct h_fx *f);
/* h_fx_alive, then srv_stop */
void h_fx_stop(struct h_fx *f);

/* ---------------------------------------------------------------- misc */

/* run the daemon binary with args (no server); output in out; returns the
 * wait status or -1 on timeout (process group killed) */
int h_run(const char *const argv[], char *out, size_t cap, int ms);
/* milliseconds on CLOCK_MONOTONIC */
long long h_now_ms(void);
/* write a file in dir (returns the path in a static-free buffer) */
void h_write_file(const char *path, const char *text);
/* a temp dir for the current test, removed by the teardown */
const char *h_tmpdir(void);
/* make a temp dir (under $TMPDIR or /tmp, in this program's base dir) */
void h_mkdtemp(char *out, size_t cap);
/* remove a directory tree */
void h_rmtree(const char *dir);

#endif
