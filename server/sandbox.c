/* sandbox: non-dumpable, no_new_privs, and the workers' seccomp filters (see sandbox.h) */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "log.h"
#include "sandbox.h"

/*
 * The two filters as BPF programs. libseccomp builds them in a short-lived
 * child of the fork server, whose own heap stays untouched (an idle worker
 * owns no heap: docs/benchmarks.md). Written once before the first fork and
 * only read after it, so these pages stay shared with every worker.
 */
#define SANDBOX_PROG_MAX	512	/* instructions; each filter needs < 100 */
struct sandbox_prog {
	unsigned short len;
	struct sock_filter insn[SANDBOX_PROG_MAX];
};
static struct sandbox_prog sandbox_fs_prog, sandbox_worker_prog;
static bool sandbox_skip;	/* under valgrind: no filters (sandbox_forkserver) */

/* a build with AddressSanitizer (make check-asan): GCC and clang */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifndef SANDBOX_SANITIZED
#define SANDBOX_SANITIZED 0
#endif

struct sandbox_rule {
	int nr;			/* system call number */
	unsigned nargs;		/* 0: any arguments; 1: one comparison */
	struct scmp_arg_cmp arg;
};

#define ANY(name)		{ SCMP_SYS(name), 0, { 0 } }
#define ARG(name, cmp)		{ SCMP_SYS(name), 1, cmp }

/*
 * What a worker serving its client calls (strace -f of the test suite and
 * of real clients; docs/architecture.md, "The sandbox").
 */
static const struct sandbox_rule sandbox_worker_rules[] = {
	/* its client's socket and the master's socketpair */
	ANY(read), ANY(write), ANY(writev), ANY(recvmsg), ANY(sendmsg),
	ANY(close), ANY(shutdown),
	ARG(ioctl, SCMP_A1(SCMP_CMP_EQ, FIONREAD)),	/* flood control */
	/* TCP_NODELAY on the client's socket, which comes after the filter */
	ARG(setsockopt, SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP)),
	/* its loop */
	ANY(epoll_wait), ANY(epoll_pwait), ANY(epoll_ctl),
	/* the ring's robust mutex; clocks (vDSO, unless the clock source has none) */
	ANY(futex), ANY(clock_gettime), ANY(gettimeofday),
	/* malloc: the send queue, request buffers; never executable memory */
	ARG(mmap, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)),
	ARG(mprotect, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)),
	ANY(munmap), ANY(mremap), ANY(brk), ANY(madvise),
	/* TLS: OpenSSL's random numbers, and its check for a fork */
	ANY(getrandom), ANY(getpid),
	/* signals it may still get (SIGTERM ends it), a restarted wait */
	ANY(rt_sigreturn), ANY(restart_syscall),
	ANY(exit), ANY(exit_group),
#if SANDBOX_SANITIZED
	/* ASan's runtime, before every noreturn call (_exit included): is
	 * this thread on its signal stack, and which thread is it */
	ANY(sigaltstack), ANY(gettid),
#endif
};

/*
 * The fork server's own calls, and a worker's set-up between fork() and
 * sandbox_worker(); inherited by every worker, which then narrows it.
 */
static const struct sandbox_rule sandbox_forkserver_rules[] = {
	/* fork() exactly as glibc makes it (no threads, no namespaces) */
	ARG(clone, SCMP_A0(SCMP_CMP_EQ, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)),
	ANY(set_robust_list),	/* glibc, in the child of fork() */
	/* reaping; its loop; a spare worker's channel (the pool) */
	ANY(wait4), ANY(poll), ANY(ppoll),
	ARG(socketpair, SCMP_A0(SCMP_CMP_EQ, AF_UNIX)),
	/* a worker's set-up: descriptors, signals, its socket, its loop */
	ANY(close_range), ANY(rt_sigaction), ANY(rt_sigprocmask),
	ANY(setsockopt), ANY(epoll_create1),
	/* a TLS pair the master passes on a reload: its size, its bytes */
	ANY(fstat), ANY(newfstatat), ANY(pread64),
	/* the narrow filter: adding a filter can only take rights away */
	ARG(seccomp, SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER)),
};

static int
sandbox_add(scmp_filter_ctx ctx, const struct sandbox_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = r[i].nargs == 0 ?
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0) :
		    seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r[i].nr, 1, &r[i].arg);
		if (rc < 0) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, r[i].nr);
			log_warnc(-rc, "seccomp rule for system call %s (%d)",
			    name != NULL ? name : "?", r[i].nr);
			free(name);
			return -1;
		}
	}
	return 0;
}

/* a filter killing the process on anything but the rules; NULL after logging */
static scmp_filter_ctx
sandbox_build(bool forkserver)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);

	if (ctx == NULL) {
		log_warnx("seccomp_init failed (libseccomp or kernel without seccomp)");
		return NULL;
	}
	/* no_new_privs is ours to set, before the load (sandbox_forkserver) */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
	    sandbox_add(ctx, sandbox_worker_rules,
	    sizeof sandbox_worker_rules / sizeof *sandbox_worker_rules) < 0 ||
	    (forkserver && sandbox_add(ctx, sandbox_forkserver_rules,
	    sizeof sandbox_forkserver_rules / sizeof *sandbox_forkserver_rules) < 0)) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* in the helper child: one filter as BPF into fd; 0 or -1 */
static int
sandbox_export(bool forkserver, int fd)
{
	scmp_filter_ctx ctx = sandbox_build(forkserver);
	int rc;

	if (ctx == NULL)
		return -1;
	rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		log_warnc(-rc, "seccomp_export_bpf");
		return -1;
	}
	return 0;
}

/* read back what the helper wrote to fd */
static int
sandbox_read(int fd, struct sandbox_prog *p, const char *what)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0) {
		log_warn("fstat of the %s filter", what);
		return -1;
	}
	if (st.st_size <= 0 || (size_t)st.st_size > sizeof p->insn ||
	    st.st_size % sizeof *p->insn != 0) {
		log_warnx("the %s filter has an unexpected size (%lld bytes)", what,
		    (long long)st.st_size);
		return -1;
	}
	if ((n = pread(fd, p->insn, (size_t)st.st_size, 0)) != st.st_size) {
		log_warn("reading the %s filter", what);
		return -1;
	}
	p->len = (unsigned short)(n / sizeof *p->insn);
	return 0;
}

/* both programs, built by libseccomp in a child */
static int
sandbox_compile(void)
{
	int fd[2] = { -1, -1 }, status, rc = -1;
	pid_t pid;

	if ((fd[0] = memfd_create("shmchat-filter", MFD_CLOEXEC)) < 0 ||
	    (fd[1] = memfd_create("shmchat-filter", MFD_CLOEXEC)) < 0) {
		log_warn("memfd_create for the seccomp filters");
		goto out;
	}
	if ((pid = fork()) < 0) {
		log_warn("fork to build the seccomp filters");
		goto out;
	}
	if (pid == 0)
		_exit(sandbox_export(true, fd[0]) < 0 || sandbox_export(false, fd[1]) < 0);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			log_warn("waitpid for the seccomp filters");
			goto out;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("building the seccomp filters failed");
		goto out;
	}
	if (sandbox_read(fd[0], &sandbox_fs_prog, "fork server's") == 0 &&
	    sandbox_read(fd[1], &sandbox_worker_prog, "workers'") == 0)
		rc = 0;
out:
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return rc;
}

static int
sandbox_load(const struct sandbox_prog *p)
{
	struct sock_fprog prog = { .len = p->len, .filter = (struct sock_filter *)p->insn };

	/* the kernel copies the program; nothing of ours is written */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int
sandbox_forkserver(void)
{
	/* no ptrace, no /proc/PID/mem by a process of our user; inherited by
	 * every worker (fork() keeps the flag, only execve() resets it) */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		log_warn("prctl(PR_SET_DUMPABLE)");
		goto fail;
	}
	/* required to load a filter without CAP_SYS_ADMIN; and no set-uid
	 * program could ever give a worker more than it has */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("prctl(PR_SET_NO_NEW_PRIVS)");
		goto fail;
	}
#ifdef HAVE_VALGRIND_VALGRIND_H
	/* valgrind's own work (executable memory for the code it translates,
	 * its threads) runs under our filters too; outside valgrind this is
	 * a no-op that reads 0 */
	if (RUNNING_ON_VALGRIND) {
		log_notice("running under valgrind: workers not sandboxed");
		sandbox_skip = true;
		return 0;
	}
#endif
	if (sandbox_compile() < 0)
		goto fail;
	if (sandbox_load(&sandbox_fs_prog) < 0) {
		log_warn("loading the seccomp filter");
		goto fail;
	}
	log_debug("sandbox: %u and %u BPF instructions", (unsigned)sandbox_fs_prog.len,
	    (unsigned)sandbox_worker_prog.len);
	return 0;
fail:
	log_errx("cannot sandbox the workers (a kernel without seccomp?); "
	    "refusing to serve clients unsandboxed");
	return -1;
}

int
sandbox_worker(void)
{
	if (sandbox_skip)
		return 0;
	if (sandbox_worker_prog.len == 0) {
		log_warnx("no sandbox for this worker (the fork server built none)");
		return -1;
	}
	if (sandbox_load(&sandbox_worker_prog) < 0) {
		log_warn("loading this worker's seccomp filter");
		return -1;
	}
	return 0;
}

void
sandbox_exit(int status)
{
#if SANDBOX_SANITIZED
	/*
	 * LeakSanitizer's check in exit() stops the process from a thread of
	 * its own with ptrace: none of that passes the filter, which would
	 * kill us with SIGSYS on the way out. A sanitizer build's fork
	 * server leaves unchecked instead (its workers, too, end in _exit).
	 */
	if (sandbox_fs_prog.len > 0)
		_exit(status);
#endif
	exit(status);
}
