/* adminq: SysV message queue wire format and calls (see adminq.h) */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include "adminq.h"

static const char *const adminq_names[ADMINQ_CMD_MAX] = {
	[ADMINQ_STATUS] = "status",
	[ADMINQ_WHO] = "who",
	[ADMINQ_CHANNELS] = "channels",
	[ADMINQ_KICK] = "kick",
	[ADMINQ_WALL] = "wall",
	[ADMINQ_MOTD] = "motd",
	[ADMINQ_MOTD_SET] = "motd-set",
	[ADMINQ_MOTD_RELOAD] = "motd-reload",
	[ADMINQ_RELOAD] = "reload",
	[ADMINQ_SHUTDOWN] = "shutdown",
	[ADMINQ_IPC] = "ipc",
	[ADMINQ_CHANMODE] = "chanmode",
	[ADMINQ_CLUSTER] = "cluster",
	[ADMINQ_UPGRADE] = "upgrade",
	[ADMINQ_RETIRE] = "retire",
};

/* how many arguments each command takes: [min, max] */
static const uint8_t adminq_nargs[ADMINQ_CMD_MAX][2] = {
	[ADMINQ_STATUS] = { 0, 0 },
	[ADMINQ_WHO] = { 0, 1 },
	[ADMINQ_CHANNELS] = { 0, 0 },
	[ADMINQ_KICK] = { 1, 2 },
	[ADMINQ_WALL] = { 1, 1 },
	[ADMINQ_MOTD] = { 0, 0 },
	[ADMINQ_MOTD_SET] = { 1, 1 },
	[ADMINQ_MOTD_RELOAD] = { 0, 0 },
	[ADMINQ_RELOAD] = { 0, 0 },
	[ADMINQ_SHUTDOWN] = { 0, 1 },
	[ADMINQ_IPC] = { 0, 0 },
	[ADMINQ_CHANMODE] = { 1, ADMINQ_NARGS_MAX },
	[ADMINQ_CLUSTER] = { 0, 0 },
	[ADMINQ_UPGRADE] = { 0, 1 },
	[ADMINQ_RETIRE] = { 1, 1 },
};

const char *
adminq_cmd_name(unsigned cmd)
{
	return cmd > 0 && cmd < ADMINQ_CMD_MAX ? adminq_names[cmd] : "unknown";
}

int
adminq_cmd_from_name(const char *name)
{
	for (int i = 1; i < ADMINQ_CMD_MAX; i++)
		if (strcmp(adminq_names[i], name) == 0)
			return i;
	return -1;
}

ssize_t
adminq_encode_req(struct adminq_msg *m, unsigned cmd, pid_t pid, uint32_t id,
    const char *const *args, int nargs)
{
	struct adminq_req_hdr h = {
		.magic = ADMINQ_MAGIC, .version = ADMINQ_VERSION, .cmd = cmd,
		.pid = pid, .id = id, .nargs = nargs,
	};
	size_t off = sizeof h;

	if (nargs < 0 || nargs > ADMINQ_NARGS_MAX)
		return -E2BIG;
	for (int i = 0; i < nargs; i++) {
		size_t n = strlen(args[i]) + 1;
		if (off + n > sizeof h + ADMINQ_ARGS_MAX)
			return -E2BIG;
		memcpy(m->body + off, args[i], n);
		off += n;
	}
	h.argslen = off - sizeof h;
	memcpy(m->body, &h, sizeof h);
	m->mtype = ADMINQ_MTYPE_REQUEST;
	return off;
}

int
adminq_decode_req(const struct adminq_msg *m, size_t len, struct adminq_req *r)
{
	struct adminq_req_hdr h;
	const char *p, *end;

	memset(r, 0, sizeof *r);
	if (len < sizeof h || len > sizeof m->body)
		return -EBADMSG;
	memcpy(&h, m->body, sizeof h);
	if (h.magic != ADMINQ_MAGIC)
		return -EBADMSG;
	/* a reply can only go to something that looks like a process */
	if (h.pid > 1)
		r->pid = h.pid;
	r->id = h.id;
	r->version = h.version;
	if (h.version != ADMINQ_VERSION)
		return r->pid ? -EPROTO : -EBADMSG;
	if (h.cmd == 0 || h.cmd >= ADMINQ_CMD_MAX || r->pid == 0 ||
	    h.argslen != len - sizeof h || h.argslen > ADMINQ_ARGS_MAX || h.nargs > ADMINQ_NARGS_MAX)
		return -EBADMSG;
	if (h.nargs < adminq_nargs[h.cmd][0] || h.nargs > adminq_nargs[h.cmd][1])
		return -EBADMSG;
	r->cmd = h.cmd;
	p = m->body + sizeof h;
	end = p + h.argslen;
	for (int i = 0; i < h.nargs; i++) {
		const char *nul = memchr(p, '\0', end - p);
		if (nul == NULL)
			return -EBADMSG;
		r->args[i] = p;
		p = nul + 1;
	}
	if (p != end)
		return -EBADMSG;
	r->nargs = h.nargs;
	return 0;
}

ssize_t
adminq_encode_reply(struct adminq_msg *m, pid_t to, uint32_t id, unsigned status,
    unsigned part, bool last, const char *data, size_t len)
{
	struct adminq_reply_hdr h = {
		.magic = ADMINQ_REPLY_MAGIC, .version = ADMINQ_VERSION, .status = status,
		.id = id, .part = part, .flags = last ? ADMINQ_F_LAST : 0, .len = len,
	};

	if (len > (size_t)ADMINQ_DATA_MAX)
		return -E2BIG;
	m->mtype = to;
	memcpy(m->body, &h, sizeof h);
	if (len)
		memcpy(m->body + sizeof h, data, len);
	return sizeof h + len;
}

int
adminq_decode_reply(const struct adminq_msg *m, size_t len, struct adminq_reply_hdr *h,
    const char **data)
{
	if (len < sizeof *h || len > sizeof m->body)
		return -EBADMSG;
	memcpy(h, m->body, sizeof *h);
	if (h->magic != ADMINQ_REPLY_MAGIC || h->version != ADMINQ_VERSION ||
	    h->len != len - sizeof *h)
		return -EBADMSG;
	*data = m->body + sizeof *h;
	return 0;
}

/* ------------------------------------------------------------ the queue */

/* is pid a running shmchatd (the admin process of another instance)? */
static bool
adminq_pid_is_shmchatd(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;	/* alive and not ours to inspect: assume in use */
	if (fgets(comm, sizeof comm, f) == NULL)
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "shmchatd", 8) == 0;
}

int
adminq_create(key_t key, gid_t gid, bool *replaced)
{
	int qid;

	*replaced = false;
	for (int tries = 0; tries < 2; tries++) {
		qid = msgget(key, IPC_CREAT | IPC_EXCL | 0660);
		if (qid >= 0)
			break;
		if (errno != EEXIST)
			return -errno;
		/* left behind by an instance that died, or in use by a live one? */
		int old = msgget(key, 0);
		struct msqid_ds ds;
		if (old < 0)
			continue;	/* vanished meanwhile */
		if (msgctl(old, IPC_STAT, &ds) < 0)
			return -errno;
		if (ds.msg_lrpid != 0 && ds.msg_lrpid != getpid() &&
		    adminq_pid_is_shmchatd(ds.msg_lrpid))
			return -EADDRINUSE;
		if (msgctl(old, IPC_RMID, NULL) < 0 && errno != EINVAL && errno != EIDRM)
			return -errno;
		*replaced = true;
	}
	if (qid < 0)
		return -EEXIST;
	if (gid != (gid_t)-1) {
		struct msqid_ds ds;
		if (msgctl(qid, IPC_STAT, &ds) == 0) {
			ds.msg_perm.gid = gid;
			ds.msg_perm.mode = 0660;
			if (msgctl(qid, IPC_SET, &ds) < 0) {
				int e = errno;
				msgctl(qid, IPC_RMID, NULL);
				return -e;
			}
		}
	}
	return qid;
}

void
adminq_remove(int qid)
{
	if (qid >= 0)
		msgctl(qid, IPC_RMID, NULL);
}

int
adminq_open(key_t key)
{
	int qid = msgget(key, 0);

	return qid < 0 ? -errno : qid;
}

int
adminq_send(int qid, const struct adminq_msg *m, size_t len)
{
	for (;;) {
		if (msgsnd(qid, m, len, IPC_NOWAIT) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t
adminq_recv(int qid, struct adminq_msg *m, long mtype, int timeout_ms)
{
	struct timespec start, now, nap = { 0, 1000000 };
	ssize_t n;

	if (timeout_ms < 0) {
		n = msgrcv(qid, m, sizeof m->body, mtype, MSG_NOERROR);
		return n < 0 ? -errno : n;
	}
	/*
	 * msgrcv has no timeout: poll with IPC_NOWAIT and a short, growing
	 * nap (1 to 10 ms), so an answer is seen within 10 ms.
	 */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		n = msgrcv(qid, m, sizeof m->body, mtype, IPC_NOWAIT | MSG_NOERROR);
		if (n >= 0)
			return n;
		if (errno != ENOMSG && errno != EINTR)
			return -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 10000000)
			nap.tv_nsec += 1000000;
	}
}

int
adminq_purge(int qid, long mtype)
{
	struct adminq_msg m;
	int n = 0;

	while (msgrcv(qid, &m, sizeof m.body, mtype, IPC_NOWAIT | MSG_NOERROR) >= 0)
		n++;
	return n;
}
