/* admin: SysV queue <-> master bridge for shmchatctl (see admin.h) */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "adminq.h"
#include "ipc.h"
#include "log.h"
#include "notify.h"
#include "proc.h"

#define ADMIN_SEND_PATIENCE_MS	500	/* a live requester that does not read */
#define ADMIN_MASTER_TIMEOUT_MS	10000

#define ADMIN_RECENT	32	/* requesters remembered, to purge once gone */

struct admin {
	int qid;
	struct ipc_peer ipc;
	/* the last requesters replied to: when the queue is full, the unread
	 * replies of those that are gone are purged, whoever asks next */
	pid_t recent[ADMIN_RECENT];
	unsigned nrecent;
	uint32_t dropped;	/* reply parts dropped since start */
	uint32_t malformed;	/* malformed messages since start */
	struct adminq_msg qmsg;	/* the queue message being read or written */
	char msg[IPC_MSG_MAX];	/* the master's message being relayed */
};

static void
admin_nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* remember a requester (once) */
static void
admin_recent_add(struct admin *a, pid_t pid)
{
	for (unsigned i = 0; i < a->nrecent; i++)
		if (a->recent[i] == pid)
			return;
	if (a->nrecent < ADMIN_RECENT)
		a->recent[a->nrecent++] = pid;
	else {
		memmove(a->recent, a->recent + 1, (ADMIN_RECENT - 1) * sizeof *a->recent);
		a->recent[ADMIN_RECENT - 1] = pid;
	}
}

/* purge the unread replies of remembered requesters that are gone; how
 * many parts went */
static int
admin_purge_gone(struct admin *a)
{
	int purged = 0;

	for (unsigned i = 0; i < a->nrecent;) {
		if (kill(a->recent[i], 0) < 0 && errno == ESRCH) {
			purged += adminq_purge(a->qid, a->recent[i]);
			a->recent[i] = a->recent[--a->nrecent];
		} else
			i++;
	}
	return purged;
}

/*
 * One reply part onto the queue. Never blocks for long: when the queue is
 * full, the unread replies of requesters that are gone are purged (this
 * one's and earlier ones'); a live requester that does not read gets
 * ADMIN_SEND_PATIENCE_MS, then loses it. Returns false when the rest of
 * this reply should be dropped too.
 */
static bool
admin_put(struct admin *a, pid_t to, uint32_t id, unsigned status, unsigned part,
    bool last, const char *data, size_t len)
{
	struct adminq_msg *m = &a->qmsg;
	ssize_t n = adminq_encode_reply(m, to, id, status, part, last, data, len);
	int waited = 0, rc;

	if (n < 0)
		return false;
	admin_recent_add(a, to);
	for (;;) {
		rc = adminq_send(a->qid, m, n);
		if (rc == 0)
			return true;
		if (rc != -EAGAIN) {
			log_warnc(-rc, "reply to pid %ld", (long)to);
			return false;
		}
		if (kill(to, 0) == 0 && waited == 0) {
			/* room left by those who asked and went away */
			int purged = admin_purge_gone(a);
			if (purged > 0) {
				log_warnx("queue full: purged %d reply parts of requesters that "
				    "are gone", purged);
				continue;
			}
		}
		if (kill(to, 0) < 0 && errno == ESRCH) {
			int purged = adminq_purge(a->qid, to);
			log_warnx("queue full and pid %ld is gone: dropped its reply "
			    "(%d stale parts purged)", (long)to, purged);
			a->dropped++;
			return false;
		}
		if (waited >= ADMIN_SEND_PATIENCE_MS) {
			log_warnx("queue full and pid %ld does not read it: reply dropped",
			    (long)to);
			adminq_purge(a->qid, to);
			a->dropped++;
			return false;
		}
		admin_nap_ms(10);
		waited += 10;
	}
}

/* an answer the admin process gives by itself (bad request, version) */
static void
admin_answer(struct admin *a, pid_t to, uint32_t id, unsigned status, const char *text)
{
	admin_put(a, to, id, status, 0, true, text, strlen(text));
}

/* wait for the master's reply to the forwarded request and relay it */
static int
admin_relay(struct admin *a, pid_t to, uint32_t id)
{
	char *msg = a->msg;
	unsigned part = 0;
	bool sending = true;

	for (;;) {
		struct pollfd p = { .fd = a->ipc.fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, ADMIN_MASTER_TIMEOUT_MS) == 0) {
			log_warnx("the master did not answer request %u within %d s",
			    id, ADMIN_MASTER_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		n = ipc_recv_into(&a->ipc, msg, sizeof a->msg, NULL);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : (int)n;
		const struct ipc_admin_reply *r = (const void *)msg;
		if (r->hdr.type != IPC_ADMIN_REPLY || r->len != n - sizeof *r) {
			log_warnx("unexpected message %u from the master", r->hdr.type);
			return -EBADMSG;
		}
		if (r->pid != to || r->id != id)
			continue;	/* the tail of an earlier, abandoned answer */
		if (sending)
			sending = admin_put(a, to, id, r->status, part++, r->last,
			    msg + sizeof *r, r->len);
		if (r->last)
			return 0;
	}
}

static void
admin_forward(struct admin *a, const struct adminq_req *r)
{
	struct ipc_out o;
	struct ipc_admin_req *q = ipc_out_init(&o, a->msg, sizeof a->msg, sizeof *q);

	q->pid = r->pid;
	q->id = r->id;
	q->cmd = r->cmd;
	q->nargs = r->nargs;
	for (int i = 0; i < r->nargs; i++)
		ipc_put_str(&o, r->args[i]);
	if (o.overflow) {
		admin_answer(a, r->pid, r->id, ADMINQ_BAD_REQUEST, "arguments too long");
		return;
	}
	if (ipc_out_send(&a->ipc, IPC_ADMIN_REQ, &o) < 0 || ipc_flush(&a->ipc) < 0) {
		log_warn("cannot reach the master");
		_exit(1);
	}
	if (admin_relay(a, r->pid, r->id) == -EPIPE)
		_exit(0);	/* the master is gone */
	ipc_send_empty(&a->ipc, IPC_ADMIN_DONE);
}

int
admin_run(int qid, int ipc_fd, uint64_t token)
{
	struct admin a = { .qid = qid };
	char mine[24];
	struct adminq_msg *m = &a.qmsg;

	/* keep stdio and our socketpair end only */
	proc_keep_fds(&ipc_fd, 1);
	/* the master ends us with SIGTERM; SIGPIPE stays ignored as it left it */
	proc_child_signals(PROC_SIG_UNBLOCK | PROC_SIG_TERM_DEFAULT | PROC_SIG_CHLD_DEFAULT);
	/* blocked in msgrcv, it would not notice the master's death otherwise */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 0;
	notify_forget();
	log_set_role("admin");
	ipc_peer_init(&a.ipc, ipc_fd);
	snprintf(mine, sizeof mine, "%016" PRIx64, token);
	/* blocking reads from the master: one request at a time */
	fcntl(ipc_fd, F_SETFL, fcntl(ipc_fd, F_GETFL) & ~O_NONBLOCK);

	/*
	 * Receive once, so the queue's msg_lrpid names this live shmchatd:
	 * that is how a second instance tells a queue in use from a stale one.
	 */
	m->mtype = 2;
	if (adminq_send(qid, m, 0) == 0)
		adminq_recv(qid, m, 2, 0);

	for (;;) {
		struct adminq_req r;
		ssize_t n = adminq_recv(qid, m, ADMINQ_MTYPE_REQUEST, -1);
		int rc;

		if (n < 0) {
			if (n == -EINTR)
				continue;
			if (n == -EIDRM || n == -EINVAL)
				return 0;	/* the master removed the queue: shutdown */
			errno = (int)-n;
			log_warn("msgrcv");
			return 1;
		}
		rc = adminq_decode_req(m, n, &r);
		if (rc == -EPROTO) {
			log_warnx("request from pid %ld speaks protocol %u, not %u",
			    (long)r.pid, r.version, ADMINQ_VERSION);
			admin_answer(&a, r.pid, r.id, ADMINQ_INCOMPATIBLE,
			    "incompatible shmchatctl and shmchatd (protocol versions differ)");
			continue;
		}
		if (rc < 0) {
			/* anyone in the group can send junk: don't let it flood the journal */
			if (++a.malformed <= 10 || a.malformed % 1000 == 0)
				log_warnx("dropped a malformed message (%zd bytes) from the queue "
				    "(%u so far)", n, a.malformed);
			if (r.pid > 1 && kill(r.pid, 0) == 0)
				admin_answer(&a, r.pid, r.id, ADMINQ_BAD_REQUEST,
				    "malformed request");
			continue;
		}
		if (r.cmd == ADMINQ_RETIRE) {
			/* everything before it is relayed: what comes after is the next one's */
			if (strcmp(r.args[0], mine) == 0) {
				log_info("leaving the queue to the upgraded master's admin process");
				return 0;
			}
			if (++a.malformed <= 10 || a.malformed % 1000 == 0)
				log_warnx("dropped a retire request without the master's token "
				    "(%u malformed so far)", a.malformed);
			continue;
		}
		log_debug("%s request from pid %ld", adminq_cmd_name(r.cmd), (long)r.pid);
		admin_forward(&a, &r);
	}
}
