/* master_upgrade: the master replaced in place by a new image (master_upgrade.h) */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "clock.h"
#include "cluster.h"
#include "cmd_hist.h"
#include "conf.h"
#include "fields.h"
#include "handover.h"
#include "history.h"
#include "iplimit.h"
#include "log.h"
#include "master_child.h"
#include "master_cluster.h"
#include "master_control.h"
#include "master_ring.h"
#include "master_setup.h"
#include "master_state.h"
#include "master_upgrade.h"
#include "master_worker.h"

#define UPGRADE_QUIET_MS	2000	/* for workers being started to be up */
#define UPGRADE_CHECK_MS	10000	/* for the new binary to check the state */
#define UPGRADE_STATE_MAX	(1024u << 20)	/* bytes a state may take */
#define UPGRADE_MAGIC		"shmchat-upgrade"

extern char **environ;

/* the fields of one live slot: flags */
enum {
	SLOT_SPACE_WAIT = 1 << 0,
	SLOT_REAPED = 1 << 1,
	SLOT_EOF = 1 << 2,
	SLOT_COUNTED = 1 << 3,
	SLOT_EXEMPT = 1 << 4,
};

static int master_upgrade_check_start(struct master *m, char *why, size_t len);
static int master_upgrade_inherit(struct master *m, bool inherit, bool slots);

void
master_upgrade_init(struct master *m)
{
	ssize_t n = readlink("/proc/self/exe", m->up.self, sizeof m->up.self - 1);
	static const char deleted[] = " (deleted)";

	if (n <= 0) {
		snprintf(m->up.self, sizeof m->up.self, "%s/shmchatd", SBINDIR);
		return;
	}
	m->up.self[n] = '\0';
	/* a package upgrade replaced the file: its path is the new binary */
	if ((size_t)n > sizeof deleted - 1 &&
	    strcmp(m->up.self + n - (sizeof deleted - 1), deleted) == 0)
		m->up.self[n - (sizeof deleted - 1)] = '\0';
}

/* ------------------------------------------------------ the old image */

static void
master_upgrade_listen(struct master *m, bool on)
{
	for (int i = 0; i < m->ls.n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_LISTEN, i) };

		if (epoll_ctl(m->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, m->ls.fds[i], &ev) < 0 &&
		    errno != EEXIST && errno != ENOENT)
			log_warn("%s accepting on %s", on ? "resuming" : "pausing", m->ls.names[i]);
	}
}

/* the upgrade did not happen: say why to everyone who should know, serve on */
static void
master_upgrade_fail(struct master *m, const char *why)
{
	char status[512];

	log_errx("upgrade to %s refused; serving on with version " PACKAGE_VERSION ": %s",
	    m->up.path, why);
	if (m->up.check_fd >= 0) {
		close(m->up.check_fd);	/* leaves the epoll set with it */
		m->up.check_fd = -1;
	}
	if (m->up.check_pid > 0 && !m->up.check_reaped)
		kill(m->up.check_pid, SIGKILL);	/* reaped by master_child */
	m->up.checked = false;
	if (m->up.inherited)
		master_upgrade_inherit(m, false, true);
	if (m->up.answer) {
		m->up.answer_due = true;	/* master_admin sends it */
		m->up.answer_ok = false;
		snprintf(m->up.answer_text, sizeof m->up.answer_text, "upgrade refused: %s", why);
	}
	/* accepting again, if the quiet wait had stopped it */
	if (m->up.due && m->up.checked_listen && !m->stopping && m->accept_resume_ms == 0)
		master_upgrade_listen(m, true);
	m->up.due = m->up.answer = m->up.checked_listen = false;
	master_control_status(m, status, sizeof status);
	notify_ready(&m->notify, status);
}

int
master_upgrade_request(struct master *m, const char *path,
    const struct ipc_admin_req *q, char *why, size_t len)
{
	const char *bin = path != NULL && path[0] != '\0' ? path : m->up.self;

	if (m->stopping) {
		snprintf(why, len, "the server is stopping");
		return -1;
	}
	if (m->up.due) {
		snprintf(why, len, "an upgrade is under way already");
		return -1;
	}
	if (m->cluster != NULL && cluster_handover_refused(m->cluster) != NULL) {
		snprintf(why, len, "%s", cluster_handover_refused(m->cluster));
		return -1;
	}
	if (bin[0] != '/') {
		snprintf(why, len, "%s: not an absolute path", bin);
		return -1;
	}
	if (access(bin, X_OK) < 0) {
		snprintf(why, len, "%s: %s", bin, strerror(errno));
		return -1;
	}
	snprintf(m->up.path, sizeof m->up.path, "%s", bin);
	if (master_upgrade_check_start(m, why, len) < 0) {
		if (m->up.check_fd >= 0)
			close(m->up.check_fd);
		m->up.check_fd = -1;
		if (m->up.check_pid > 0)
			kill(m->up.check_pid, SIGKILL);	/* reaped by master_child */
		return -1;
	}
	m->up.due = true;
	m->up.checked = false;
	m->up.deadline_ms = clock_ms() + UPGRADE_CHECK_MS;
	m->up.answer = q != NULL;
	if (q != NULL)
		m->up.req = *q;
	notify_reloading(&m->notify);
	log_notice("upgrade to %s requested; %s checks the state while we serve on", bin, bin);
	return 0;
}

void
master_upgrade_asked(struct master *m)
{
	char why[600];

	m->up.asked = false;
	if (master_upgrade_request(m, m->up.asked_path, &m->up.asked_req, why, sizeof why) < 0) {
		log_errx("upgrade requested by pid %ld refused: %s", (long)m->up.asked_req.pid, why);
		m->up.answer_due = true;
		m->up.answer_ok = false;
		m->up.req = m->up.asked_req;
		snprintf(m->up.answer_text, sizeof m->up.answer_text, "upgrade refused: %.490s", why);
	}
}

/* workers being forked, or messages the master still has to send */
static const char *
master_upgrade_busy(struct master *m)
{
	if (ipc_flush(&m->fs.ipc) < 0 || ipc_pending(&m->fs.ipc))
		return "the fork server is not reading its channel";
	if (m->admin.ipc.fd >= 0 && (ipc_flush(&m->admin.ipc) < 0 || ipc_pending(&m->admin.ipc)))
		return "the admin process is not reading its channel";
	if (m->cluster != NULL && cluster_handover_busy(m->cluster) != NULL)
		return cluster_handover_busy(m->cluster);
	for (uint32_t i = 0; i < m->nlive; i++) {
		struct mslot *ms = &m->slots[m->live[i]];

		if (ms->pid == 0 && ms->pending_fd >= 0)
			return "workers are still being started";
		if (ms->ipc.fd >= 0 && !ms->ipc.dead &&
		    (ipc_flush(&ms->ipc) < 0 || ipc_pending(&ms->ipc)))
			return "a worker is not reading its channel";
	}
	return NULL;
}

/* everything the next image needs, into out */
static int
master_upgrade_state(struct master *m, struct buf *out)
{
	size_t mark;
	int rc = 0;

	/* about what the check's copy took, so that it is not copied as it grows */
	if (buf_reserve(out, m->up.state_size + m->up.state_size / 4 + 65536) == NULL)
		return -ENOMEM;
	rc |= fields_str(out, UPGRADE_MAGIC);
	rc |= fields_num(out, HANDOVER_VERSION);
	rc |= fields_num(out, IPC_VERSION);
	rc |= fields_num(out, RING_VERSION);
	rc |= fields_str(out, PACKAGE_VERSION);
	rc |= fields_num(out, m->nslots);
	rc |= fields_num(out, (int64_t)m->started);
	rc |= fields_num(out, (int64_t)m->up.paused_ms);
	/* the directory and WHOWAS; the history (each a field, written in place) */
	if (fields_open(out, &mark) < 0)
		return -ENOMEM;
	rc |= handover_write(&m->ds.dir, &m->ds.whowas, out);
	fields_close(out, mark);
	if (fields_open(out, &mark) < 0)
		return -ENOMEM;
	if (m->ds.history != NULL)
		rc |= history_write(m->ds.history, out);
	fields_close(out, mark);
	/* the process */
	rc |= fields_num(out, m->ls.n);
	rc |= fields_num(out, m->ls.activated);
	for (int i = 0; i < m->ls.n; i++) {
		rc |= fields_num(out, m->ls.fds[i]);
		rc |= fields_num(out, m->ls.tls[i]);
		rc |= fields_str(out, m->ls.names[i]);
	}
	rc |= fields_num(out, m->seg.fd);
	rc |= fields_num(out, (int64_t)m->seg.size);
	rc |= fields_str(out, m->seg.name);
	/* the epoll instance: the channels' registrations (their tags are this
	 * format's, EV() in master_state.h) go across as they are */
	rc |= fields_num(out, m->epfd);
	rc |= fields_num(out, m->fs.tls_cert_fd);
	rc |= fields_num(out, m->fs.tls_key_fd);
	rc |= fields_num(out, m->fs.ipc.fd);	/* the old fork server: it leaves */
	rc |= fields_num(out, m->fs.pid);
	rc |= fields_num(out, m->admin.qid);
	rc |= fields_num(out, m->admin.key);
	rc |= fields_str(out, m->admin.group);
	rc |= fields_num(out, m->admin.pid);
	rc |= fields_num(out, m->admin.ipc.fd);
	rc |= fields_num(out, m->admin.busy);
	rc |= fields_num(out, m->up.answer);
	rc |= fields_num(out, m->up.req.pid);
	rc |= fields_num(out, m->up.req.id);
	/* what the directory service counts and makes */
	rc |= fields_num(out, m->ds.msgid.salt);
	rc |= fields_num(out, m->ds.msgid.last_ms);
	rc |= fields_num(out, m->ds.msgid.seq);
	rc |= fields_num(out, m->ds.batch_next);
	rc |= fields_num(out, (int64_t)m->ds.oper_check_next_ms);
	rc |= fields_num(out, (int64_t)m->fanout.delivered);
	/* queued work, as it is queued (its layout is this version's: HANDOVER_VERSION) */
	rc |= fields_put(out, buf_head(&m->requests), buf_used(&m->requests));
	rc |= fields_put(out, buf_head(&m->ds.pending), buf_used(&m->ds.pending));
	/* the live slots, in their order */
	rc |= fields_num(out, m->nlive);
	for (uint32_t i = 0; i < m->nlive; i++) {
		uint32_t slot = m->live[i];
		const struct mslot *ms = &m->slots[slot];

		rc |= fields_num(out, slot);
		rc |= fields_num(out, ms->pid);
		rc |= fields_num(out, ms->ipc.fd);
		rc |= fields_num(out, (ms->space_wait ? SLOT_SPACE_WAIT : 0) |
		    (ms->reaped ? SLOT_REAPED : 0) | (ms->eof ? SLOT_EOF : 0) |
		    (ms->counted ? SLOT_COUNTED : 0) | (ms->exempt ? SLOT_EXEMPT : 0));
	}
	rc |= fields_num(out, m->nwaiters);
	for (uint32_t i = 0; i < m->nwaiters; i++)
		rc |= fields_num(out, m->waiters[i]);
	/* slots whose worker is gone but whose client the directory still has */
	for (uint32_t s = 0; s < m->nslots; s++)
		if (m->fanout.slots[s].gone && m->ds.dir.users[s].state != DIR_FREE)
			rc |= fields_num(out, s);
	rc |= fields_num(out, -1);
	/* a node of a cluster: its part of the network */
	if (m->cluster != NULL) {
		rc |= fields_str(out, "cluster");
		if (fields_open(out, &mark) < 0)
			return -ENOMEM;
		rc |= cluster_handover_write(m->cluster, out);
		fields_close(out, mark);
	}
	/* an admin process that leaves when told to (master_admin_adopt) */
	if (m->admin.token != 0 && m->admin.pid > 0) {
		rc |= fields_str(out, "admin");
		rc |= fields_unum(out, m->admin.token);
	}
	m->up.state_size = buf_used(out);
	return rc != 0 ? -ENOMEM : 0;
}

/*
 * The descriptors the state names: kept across exec (inherit) or not. The
 * workers' channels (slots) are done once accepting stops, before the
 * pause: ten thousand fcntl() calls are milliseconds, and no channel is
 * made after that (the fork server and the admin process close what they
 * do not need).
 */
static int
master_upgrade_inherit(struct master *m, bool inherit, bool slots)
{
	int fds[LISTEN_MAX + 7], n = 0, rc = 0;

	for (int i = 0; i < m->ls.n; i++)
		fds[n++] = m->ls.fds[i];
	fds[n++] = m->seg.fd;
	fds[n++] = m->epfd;
	fds[n++] = m->fs.tls_cert_fd;
	fds[n++] = m->fs.tls_key_fd;
	fds[n++] = m->fs.ipc.fd;
	fds[n++] = m->admin.ipc.fd;
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && fcntl(fds[i], F_SETFD, inherit ? 0 : FD_CLOEXEC) < 0)
			rc = -errno;
	for (uint32_t i = 0; slots && i < m->nlive; i++) {
		int fd = m->slots[m->live[i]].ipc.fd;

		if (fd >= 0 && fcntl(fd, F_SETFD, inherit ? 0 : FD_CLOEXEC) < 0)
			rc = -errno;
	}
	if (slots)
		m->up.inherited = inherit;
	return rc;
}

/*
 * The new binary reads a copy of the state from its stdin and says whether
 * it can take it over: "ok VERSION", or why not. It runs while we serve on;
 * its output comes through the loop (EV_UPGRADE), its exit through
 * master_child (SIGCHLD). 0, or -1 with why.
 */
static int
master_upgrade_check_start(struct master *m, char *why, size_t len)
{
	char *const argv[] = { m->up.path, "--handover-check", "-c", (char *)m->config_path,
	    NULL };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_UPGRADE, 0) };
	posix_spawn_file_actions_t fa;
	int pipefd[2], rc, fd;
	struct buf state;

	/* an earlier check's process is its reaper's business, never ours to kill */
	m->up.check_pid = 0;
	m->up.check_fd = -1;
	buf_init(&state);
	if (master_upgrade_state(m, &state) < 0) {
		buf_free(&state);
		snprintf(why, len, "out of memory writing the state");
		return -1;
	}
	fd = memfd_create("shmchatd-upgrade-check", MFD_CLOEXEC);
	rc = fd >= 0 && write(fd, buf_head(&state), buf_used(&state)) == (ssize_t)buf_used(&state) &&
	    lseek(fd, 0, SEEK_SET) == 0 ? 0 : -errno;
	buf_free(&state);
	if (rc == 0 && pipe2(pipefd, O_CLOEXEC) < 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(why, len, "cannot write the state for the check: %s", strerror(-rc));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	rc = posix_spawn(&m->up.check_pid, m->up.path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	close(fd);
	if (rc != 0) {
		close(pipefd[0]);
		m->up.check_pid = 0;
		snprintf(why, len, "%.256s cannot run: %s", m->up.path, strerror(rc));
		return -1;
	}
	m->up.check_fd = pipefd[0];
	m->up.check_reaped = false;
	m->up.check_len = 0;
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) < 0 ||
	    epoll_ctl(m->epfd, EPOLL_CTL_ADD, pipefd[0], &ev) < 0) {
		snprintf(why, len, "cannot watch the check: %s", strerror(errno));
		return -1;	/* master_upgrade_fail ends it */
	}
	return 0;
}

void
master_upgrade_check_event(struct master *m)
{
	for (;;) {
		char sink[256];
		bool full = m->up.check_len >= sizeof m->up.check_out - 1;
		ssize_t n = full ? read(m->up.check_fd, sink, sizeof sink) :
		    read(m->up.check_fd, m->up.check_out + m->up.check_len,
		    sizeof m->up.check_out - 1 - m->up.check_len);

		if (n > 0) {
			if (!full)
				m->up.check_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(m->up.check_fd);	/* EOF (or an error): its verdict is complete */
		m->up.check_fd = -1;
		return;
	}
}

/* the check is over (output read, process reaped): 0 if it said yes, else why */
static int
master_upgrade_verdict(struct master *m, char *why, size_t len)
{
	char *out = m->up.check_out;
	int status = m->up.check_status;

	out[m->up.check_len] = '\0';
	out[strcspn(out, "\n")] = '\0';
	m->up.check_pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && strncmp(out, "ok ", 3) == 0) {
		log_notice("upgrade: %s (version %.63s) can take the state over", m->up.path,
		    out + 3);
		return 0;
	}
	if (strncmp(out, "refused: ", 9) == 0)
		snprintf(why, len, "%.256s cannot take the state over: %.300s", m->up.path, out + 9);
	else if (WIFSIGNALED(status))
		snprintf(why, len, "%.256s was killed by signal %d while checking the state",
		    m->up.path, WTERMSIG(status));
	else if (WEXITSTATUS(status) == EX_CONFIG)
		snprintf(why, len, "%.256s finds the configuration %s invalid (its log says why)",
		    m->up.path, m->config_path);
	else
		snprintf(why, len, "%.256s exited with status %d without taking the state "
		    "(not a shmchatd that can)", m->up.path, WEXITSTATUS(status));
	return -1;
}

/* exec the new image on the state; returns only if that failed (why) */
static void
master_upgrade_exec(struct master *m, int state_fd, char *why, size_t len)
{
	char fdarg[16];
	char *argv[8];
	int n = 0;

	snprintf(fdarg, sizeof fdarg, "%d", state_fd);
	argv[n++] = m->up.path;
	if (m->config_must_exist) {
		argv[n++] = "-c";
		argv[n++] = (char *)m->config_path;
	}
	if (log_get_level() >= LOG_LEVEL_DEBUG)
		argv[n++] = "-d";
	argv[n++] = "--handover";
	argv[n++] = fdarg;
	argv[n] = NULL;
	/* the old fork server's channel is retired under another tag over there */
	if (m->fs.ipc.fd >= 0 && epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->fs.ipc.fd, NULL) < 0) {
		snprintf(why, len, "epoll_ctl: %s", strerror(errno));
		return;
	}
	if (master_upgrade_inherit(m, true, false) < 0 || fcntl(state_fd, F_SETFD, 0) < 0) {
		snprintf(why, len, "cannot keep the descriptors open: %s", strerror(errno));
		return;	/* master_upgrade_fail makes them close-on-exec again */
	}
	log_notice("upgrade: handing over to %s", m->up.path);
	execve(m->up.path, argv, environ);
	snprintf(why, len, "exec %.256s: %s", m->up.path, strerror(errno));
	if (m->fs.ipc.fd >= 0 && ipc_peer_watch(&m->fs.ipc, m->epfd, EV(EV_FORKSERVER, 0),
	    m->fs.rbuf, sizeof m->fs.rbuf, m->fs.ipc.dispatch, m->fs.ipc.arg) < 0)
		log_warn("epoll_ctl for the fork server");
}

void
master_upgrade_turn(struct master *m)
{
	const char *busy;
	char why[600];
	struct buf state;
	int fd;

	if (!m->up.checked) {
		if (m->up.check_fd >= 0 || !m->up.check_reaped) {
			if (clock_ms() >= m->up.deadline_ms)
				master_upgrade_fail(m, "the new binary took more than 10 s to check "
				    "the state");
			return;	/* its verdict comes later */
		}
		if (master_upgrade_verdict(m, why, sizeof why) < 0) {
			master_upgrade_fail(m, why);
			return;
		}
		/* nobody new while we wait for the ones being started */
		m->up.checked = m->up.checked_listen = true;
		master_upgrade_listen(m, false);
		m->up.deadline_ms = clock_ms() + UPGRADE_QUIET_MS;
		if (master_upgrade_inherit(m, true, true) < 0) {
			snprintf(why, sizeof why, "cannot keep the descriptors open: %s",
			    strerror(errno));
			master_upgrade_fail(m, why);
			return;
		}
	}
	/* owed wake-ups go now: the next image starts with none owed */
	master_ring_send_wakes(m, true);
	if ((busy = master_upgrade_busy(m)) != NULL) {
		if (clock_ms() >= m->up.deadline_ms)
			master_upgrade_fail(m, busy);
		return;	/* next turn */
	}
	/* from here until the new image runs, nobody is served: the pause */
	m->up.paused_ms = clock_ms();
	buf_init(&state);
	if (master_upgrade_state(m, &state) < 0) {
		buf_free(&state);
		master_upgrade_fail(m, "out of memory writing the state");
		return;
	}
	if ((fd = memfd_create("shmchatd-upgrade", MFD_CLOEXEC)) < 0 ||
	    write(fd, buf_head(&state), buf_used(&state)) != (ssize_t)buf_used(&state) ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		snprintf(why, sizeof why, "cannot write the state (%zu bytes): %s",
		    buf_used(&state), strerror(errno));
		buf_free(&state);
		if (fd >= 0)
			close(fd);
		master_upgrade_fail(m, why);
		return;
	}
	log_info("upgrade: state of %zu bytes (%u clients, %u channels) written in %llu ms",
	    buf_used(&state), m->ds.dir.nconnected, m->ds.dir.nchannels,
	    (unsigned long long)(clock_ms() - m->up.paused_ms));
	buf_free(&state);
	master_upgrade_exec(m, fd, why, sizeof why);
	close(fd);
	master_upgrade_fail(m, why);
}

/* ------------------------------------------------------ the new image */

/* what reading the state gives besides what it restores in place */
struct upgrade_in {
	struct fields_in f;
	bool adopt;		/* take the descriptors (resume), or only check */
	bool bulk;		/* close_range() made them all close-on-exec */
	bool singles;		/* reading the few (checked), not the workers' (trusted) */
	int old_fs_fd;
	pid_t old_fs_pid;
	const char *cluster;	/* a node's part of the network, or NULL */
	size_t cluster_len;
};

/* a descriptor number from the state: open in this process when adopting */
static int
upgrade_fd(struct upgrade_in *in, bool may_be_none)
{
	int fd = (int)fields_int(&in->f, -1, 1 << 20);

	if (in->f.bad)
		return -1;
	/* open? (every descriptor is close-on-exec again already: resume) */
	if (fd < 0 && !may_be_none)
		fields_fail(&in->f, "a descriptor is missing");
	else if (fd >= 0 && in->adopt && !in->bulk && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fields_fail(&in->f, "a descriptor named in the state is not open");
	else if (fd >= 0 && in->adopt && in->bulk && in->singles && fcntl(fd, F_GETFD) < 0)
		fields_fail(&in->f, "a descriptor named in the state is not open");
	/* checking only: the numbers are the old image's, not ours */
	return in->f.bad || !in->adopt ? -1 : fd;
}

/* the header: versions this binary must share with the running processes */
static int
upgrade_read_head(struct fields_in *f, uint32_t *nslots, time_t *started, uint64_t *paused,
    char *from, size_t fromlen)
{
	char magic[sizeof UPGRADE_MAGIC];
	int64_t hv, iv, rv;

	fields_cstr(f, magic, sizeof magic);
	if (f->bad || strcmp(magic, UPGRADE_MAGIC) != 0)
		return fields_fail(f, "not an upgrade state"), -1;
	hv = fields_int(f, 0, INT32_MAX);
	iv = fields_int(f, 0, INT32_MAX);
	rv = fields_int(f, 0, INT32_MAX);
	fields_cstr(f, from, fromlen);
	*nslots = (uint32_t)fields_int(f, 1, 1 << 24);
	*started = (time_t)fields_int(f, 0, INT64_MAX / 2);
	*paused = (uint64_t)fields_int(f, 0, INT64_MAX);
	if (f->bad)
		return -1;
	if (hv != HANDOVER_VERSION)
		return fields_fail(f, "the state's format is another version's"), -1;
	if (iv != IPC_VERSION)
		return fields_fail(f, "the workers speak another version of the "
		    "master's protocol"), -1;
	if (rv != RING_VERSION)
		return fields_fail(f, "the shared ring is another version's"), -1;
	return 0;
}

/* a queued-work buffer, refilled as it was */
static void
upgrade_read_buf(struct upgrade_in *in, struct buf *b)
{
	size_t n;
	const char *p = fields_get(&in->f, &n, UPGRADE_STATE_MAX);

	if (p != NULL && n > 0 && buf_append(b, p, n) < 0)
		fields_fail(&in->f, "out of memory");
}

/* everything after the header, into m (whose tables exist) */
static void
upgrade_read(struct master *m, struct upgrade_in *in)
{
	struct fields_in *f = &in->f;
	const char *why = NULL, *p;
	size_t n;
	int64_t v;

	p = fields_get(f, &n, UPGRADE_STATE_MAX);
	if (p != NULL && handover_read(&m->ds.dir, &m->ds.whowas, p, n, &why) < 0)
		fields_fail(f, why);
	p = fields_get(f, &n, UPGRADE_STATE_MAX);
	if (p != NULL && n > 0 && m->ds.history != NULL &&
	    history_read(m->ds.history, p, n, &why) < 0)
		fields_fail(f, why);
	m->ls.n = (int)fields_int(f, 0, LISTEN_MAX);
	m->ls.activated = fields_int(f, 0, 1) != 0;
	for (int i = 0; i < m->ls.n && !f->bad; i++) {
		m->ls.fds[i] = upgrade_fd(in, false);
		m->ls.tls[i] = fields_int(f, 0, 1) != 0;
		fields_cstr(f, m->ls.names[i], sizeof m->ls.names[i]);
	}
	if (f->bad)
		m->ls.n = 0;	/* none of ours to close */
	m->seg.fd = upgrade_fd(in, false);
	m->seg.size = (size_t)fields_int(f, 1, INT64_MAX / 2);
	fields_cstr(f, m->seg.name, sizeof m->seg.name);
	m->epfd = upgrade_fd(in, false);
	m->fs.tls_cert_fd = upgrade_fd(in, true);
	m->fs.tls_key_fd = upgrade_fd(in, true);
	in->old_fs_fd = upgrade_fd(in, true);
	in->old_fs_pid = (pid_t)fields_int(f, 0, INT32_MAX);
	/* the queue and the admin process are only ours to stop once adopted */
	v = fields_int(f, -1, INT32_MAX);
	m->admin.qid = in->adopt ? (int)v : -1;
	m->admin.key = (long)fields_int(f, 0, INT64_MAX / 2);
	fields_cstr(f, m->admin.group, sizeof m->admin.group);
	v = fields_int(f, 0, INT32_MAX);
	m->admin.pid = in->adopt ? (pid_t)v : 0;
	ipc_peer_init(&m->admin.ipc, upgrade_fd(in, true));
	m->admin.busy = (unsigned)fields_int(f, 0, UINT32_MAX);
	m->up.answer = fields_int(f, 0, 1) != 0;
	m->up.req.pid = (int32_t)fields_int(f, 0, INT32_MAX);
	m->up.req.id = (uint32_t)fields_int(f, 0, UINT32_MAX);
	m->ds.msgid.salt = (uint32_t)fields_int(f, 0, UINT32_MAX);
	m->ds.msgid.last_ms = fields_int(f, INT64_MIN / 2, INT64_MAX / 2);
	m->ds.msgid.seq = (uint32_t)fields_int(f, 0, UINT32_MAX);
	m->ds.batch_next = (uint32_t)fields_int(f, 0, UINT32_MAX);
	m->ds.oper_check_next_ms = (uint64_t)fields_int(f, 0, INT64_MAX);
	m->fanout.delivered = (uint64_t)fields_int(f, 0, INT64_MAX);
	upgrade_read_buf(in, &m->requests);
	upgrade_read_buf(in, &m->ds.pending);
	/* the live slots */
	v = fields_int(f, 0, m->nslots);
	for (int64_t i = 0; i < v && !f->bad; i++) {
		uint32_t slot = (uint32_t)fields_int(f, 0, (int64_t)m->nslots - 1);
		pid_t pid = (pid_t)fields_int(f, 0, INT32_MAX);
		int fd;
		int64_t flags;

		in->singles = false;	/* 10,000 fcntl() would be most of the pause */
		fd = upgrade_fd(in, true);
		in->singles = true;
		flags = fields_int(f, 0, 31);
		struct mslot *ms = &m->slots[slot];

		if (f->bad)
			break;
		if (m->ds.dir.users[slot].state == DIR_FREE || ms->pid != 0 || ms->live_idx != 0 ||
		    (m->nlive > 0 && m->live[0] == slot)) {
			fields_fail(f, "a live slot has no client, or is given twice");
			break;
		}
		ipc_peer_init(&ms->ipc, fd);
		ms->pid = pid;
		ms->pending_fd = -1;
		ms->space_wait = flags & SLOT_SPACE_WAIT;
		ms->reaped = flags & SLOT_REAPED;
		ms->eof = flags & SLOT_EOF;
		ms->counted = flags & SLOT_COUNTED;
		ms->exempt = flags & SLOT_EXEMPT;
		ms->live_idx = m->nlive;
		m->live[m->nlive++] = slot;
	}
	v = fields_int(f, 0, m->nslots);
	for (int64_t i = 0; i < v && !f->bad; i++) {
		uint32_t slot = (uint32_t)fields_int(f, 0, (int64_t)m->nslots - 1);

		if (!f->bad && !m->slots[slot].space_wait)
			fields_fail(f, "a slot waits for space without saying so");
		else if (!f->bad)
			m->waiters[m->nwaiters++] = slot;
	}
	while (!f->bad && (v = fields_int(f, -1, (int64_t)m->nslots - 1)) >= 0)
		m->fanout.slots[v].gone = true;
	/* the parts a state may have, each once, in this order */
	for (int part = 0; !f->bad && f->p != f->end; part++) {
		char tag[8];

		fields_cstr(f, tag, sizeof tag);
		if (!f->bad && part == 0 && strcmp(tag, "cluster") == 0)
			in->cluster = fields_get(f, &in->cluster_len, UPGRADE_STATE_MAX);
		else if (!f->bad && part <= 1 && strcmp(tag, "admin") == 0) {
			uint64_t token = fields_uint(f, UINT64_MAX);

			m->admin.token = in->adopt ? token : 0;
			part = 1;
		} else
			fields_fail(f, "an unknown part of the state, or one given twice");
	}
}

/* a node of a cluster goes on where it was; a server alone stays alone */
static void
upgrade_read_cluster(struct master *m, struct upgrade_in *in)
{
	const char *why = NULL;

	if (in->f.bad)
		return;
	if (conf_cluster_enabled(m->cfg) != (in->cluster != NULL)) {
		fields_fail(&in->f, in->cluster != NULL ? "the configuration has no cluster "
		    "any more: a restart takes a node out of its network" : "the configuration "
		    "adds a cluster: a restart makes the server a node");
		return;
	}
	if (in->cluster == NULL)
		return;
	/* checking: an instance of our own for the link it never opens */
	if (m->epfd < 0 && (m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fields_fail(&in->f, "epoll_create1 failed");
		return;
	}
	if (master_cluster_start(m) < 0)
		fields_fail(&in->f, "the cluster cannot be set up (see the log)");
	else if (cluster_handover_read(m->cluster, in->cluster, in->cluster_len, &why) < 0)
		fields_fail(&in->f, why);
}

/* the whole state of fd into memory; NULL (why) when it cannot be read */
static char *
upgrade_load(int fd, size_t *len, const char **why)
{
	struct stat st;
	char *p;
	size_t got = 0;

	if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uintmax_t)st.st_size > UPGRADE_STATE_MAX) {
		*why = "the state cannot be read, or is empty or too large";
		return NULL;
	}
	if ((p = malloc((size_t)st.st_size)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, p + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			*why = "the state cannot be read";
			return NULL;
		}
		got += (size_t)n;
	}
	*len = got;
	return p;
}

/* parse a state into m: nslots from it, then the tables, then the rest */
static int
upgrade_parse(struct master *m, struct upgrade_in *in, const char *p, size_t len,
    const char **why)
{
	fields_in_init(&in->f, p, len);
	in->old_fs_fd = -1;
	if (upgrade_read_head(&in->f, &m->nslots, &m->started, &m->up.paused_ms, m->up.from,
	    sizeof m->up.from) < 0) {
		*why = in->f.why;
		return -1;
	}
	if ((int64_t)m->nslots != m->cfg->max_clients)
		log_warnx("max_clients is %d in the configuration; %u until a restart (the "
		    "shared ring keeps its size)", m->cfg->max_clients, m->nslots);
	if (master_setup_tables(m) < 0) {
		*why = "out of memory";
		return -1;
	}
	upgrade_read(m, in);
	upgrade_read_cluster(m, in);
	*why = in->f.why;
	return in->f.bad ? -1 : 0;
}

int
master_upgrade_resume(struct master *m, int fd)
{
	struct upgrade_in in = { .adopt = true, .singles = true };
	const char *why = NULL;
	size_t len;
	char *p = upgrade_load(fd, &len, &why);
	int rc;

	close(fd);
	if (p == NULL) {
		log_errx("upgrade: %s", why);
		return -1;
	}
	/* what we inherit is ours alone again, in one call rather than one per channel */
	in.bulk = close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
	rc = upgrade_parse(m, &in, p, len, &why);
	free(p);
	if (rc < 0) {
		log_errx("upgrade: the state cannot be taken over: %s", why);
		return -1;
	}
	master_setup_describe_listeners(m);
	if ((rc = shm_adopt(&m->seg, m->seg.fd, m->seg.size, m->seg.name)) < 0 ||
	    (rc = ring_attach(&m->ring, m->seg.mem, m->seg.size)) < 0) {
		log_errx("upgrade: the shared segment cannot be mapped again: %s", strerror(-rc));
		return -1;
	}
	/* the counts per address, from the clients that count */
	for (uint32_t i = 0; i < m->nlive; i++) {
		const struct mslot *ms = &m->slots[m->live[i]];

		if (ms->counted)
			iplimit_add(m->per_ip, m->ds.dir.users[m->live[i]].host);
		if (ms->pid > 0 && !ms->reaped && !master_child_put(m, ms->pid, m->live[i])) {
			log_errx("upgrade: out of memory");
			return -1;
		}
	}
	master_setup_subreaper();
	master_setup_nofile(m->nslots);
	/*
	 * The old fork server leaves when its channel closes; its workers are
	 * ours from then on (we are their subreaper, under the same pid). New
	 * clients get a fork server of the new binary.
	 */
	if (master_forkserver_find(&m->fs) < 0 || master_forkserver_start(&m->fs, m->seg.fd) < 0 ||
	    master_forkserver_setup(&m->fs, m->cfg) < 0 || master_setup_events(m) < 0 ||
	    master_child_watch_forkserver(m) < 0 ||
	    master_child_retire_forkserver(m, in.old_fs_fd, in.old_fs_pid) < 0)
		return -1;
	/* their channels are in the epoll instance handed over already */
	for (uint32_t i = 0; i < m->nlive; i++)
		if (m->slots[m->live[i]].ipc.fd >= 0)
			master_worker_adopt(m, m->live[i]);
	/* whatever arrived meanwhile: published records, queued requests */
	m->ds.fanout_due = true;
	return 0;
}

void
master_upgrade_resumed(struct master *m)
{
	uint64_t pause = clock_ms() - m->up.paused_ms;
	char status[512];

	master_control_status(m, status, sizeof status);
	log_notice("shmchatd " PACKAGE_VERSION " took over from %s after a pause of %llu ms: %s",
	    m->up.from, (unsigned long long)pause, status);
	if (m->up.answer) {
		m->up.answer_due = true;	/* master_admin sends it */
		m->up.answer_ok = true;
		snprintf(m->up.answer_text, sizeof m->up.answer_text,
		    "upgraded from %s to %s (paused %llu ms)", m->up.from, PACKAGE_VERSION,
		    (unsigned long long)pause);
	}
	m->up.answer = false;
	snprintf(status + strlen(status), sizeof status - strlen(status),
	    " (upgraded from %s)", m->up.from);
	notify_ready(&m->notify, status);
}

int
master_upgrade_check_main(struct master *m, int fd)
{
	struct upgrade_in in = { .adopt = false };
	const char *why = NULL;
	size_t len = 0;
	char *p = NULL, *grown;
	int rc;

	/* a pipe or a file: read to EOF, bounded */
	for (size_t cap = 0;;) {
		ssize_t n;

		if (len == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			if (cap > UPGRADE_STATE_MAX || (grown = realloc(p, cap)) == NULL) {
				free(p);
				printf("refused: the state is too large\n");
				return 1;
			}
			p = grown;
		}
		n = read(fd, p + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(p);
			printf("refused: the state cannot be read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = upgrade_parse(m, &in, p, len, &why);
	free(p);
	if (rc < 0) {
		printf("refused: %s\n", why != NULL ? why : "the state does not parse");
		return 1;
	}
	printf("ok %s\n", PACKAGE_VERSION);
	return 0;
}

int
master_check_handover(struct conf *cfg, const char *config_path, bool must_exist, int fd)
{
	struct master *m = master_setup_new(cfg, config_path, must_exist);
	int rc;

	if (m == NULL)
		return 1;
	rc = master_upgrade_check_main(m, fd);
	master_setup_cleanup(m);
	free(m);
	return rc;
}
