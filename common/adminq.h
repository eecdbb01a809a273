/*
 * adminq: the SysV message queue between shmchatctl and shmchatd's admin
 * process. The one place that calls msgget/msgsnd/msgrcv/msgctl, and the
 * one definition of the wire format, used by both sides.
 *
 * Requests travel with mtype ADMINQ_MTYPE_REQUEST. Each carries a protocol
 * version, the requester's pid and a request id; replies go back on the
 * same queue with mtype = that pid, in numbered parts (msgmax is 8 KiB by
 * default, a `who` of 10,000 clients is far more), the last one flagged.
 *
 * Reply bodies are rows of tab-separated fields, one row per line; the
 * first row names the columns. shmchatctl turns them into aligned tables
 * or JSON. Strings never contain tabs or newlines (they are replaced).
 *
 * Everything read from the queue is untrusted (anyone with write access
 * can put anything there): adminq_decode_*() check size, magic, version,
 * command and fields before anything is used.
 */
#ifndef SHMCHAT_ADMINQ_H
#define SHMCHAT_ADMINQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ADMINQ_MAGIC		0x53434151u	/* "SCAQ": requests */
#define ADMINQ_REPLY_MAGIC	0x53434152u	/* "SCAR": replies, never mistaken for a request */
#define ADMINQ_VERSION		1
#define ADMINQ_DEFAULT_KEY	0x53434d51	/* "SCMQ": fixed, never ftok() */
#define ADMINQ_MTYPE_REQUEST	1L
#define ADMINQ_MSG_MAX		8000	/* body bytes; below the default msgmax of 8192 */
#define ADMINQ_ARGS_MAX		2048
#define ADMINQ_NARGS_MAX	8	/* arguments of one request */
#define ADMINQ_CHANMODE_PARAMS	(ADMINQ_NARGS_MAX - 2)	/* after channel and modes */
#define ADMINQ_DATA_MAX		(ADMINQ_MSG_MAX - (int)sizeof(struct adminq_reply_hdr))

enum adminq_cmd {
	ADMINQ_STATUS = 1,
	ADMINQ_WHO,		/* [channel] */
	ADMINQ_CHANNELS,
	ADMINQ_KICK,		/* nick [reason] */
	ADMINQ_WALL,		/* text */
	ADMINQ_MOTD,		/* show */
	ADMINQ_MOTD_SET,	/* text */
	ADMINQ_MOTD_RELOAD,
	ADMINQ_RELOAD,
	ADMINQ_SHUTDOWN,	/* [message] */
	ADMINQ_IPC,
	ADMINQ_CHANMODE,	/* channel [modes [param...]]: at most ADMINQ_CHANMODE_PARAMS params */
	ADMINQ_CLUSTER,		/* the nodes of a cluster and the link to Redis */
	ADMINQ_UPGRADE,		/* [binary]: replace the master in place (master_upgrade.h) */
	/* token: the master tells its admin process to leave once it has
	 * relayed what came before (an upgraded image starts its own); never
	 * from shmchatctl, and refused without the admin process's token */
	ADMINQ_RETIRE,
	ADMINQ_CMD_MAX
};

enum adminq_status {
	ADMINQ_OK = 0,
	ADMINQ_REFUSED = 1,	/* the server refused: data holds the reason */
	ADMINQ_BAD_REQUEST = 2,	/* malformed request */
	ADMINQ_INCOMPATIBLE = 3,	/* protocol version mismatch */
};

#define ADMINQ_F_LAST	1u

struct adminq_req_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t cmd;
	int32_t pid;		/* reply mtype */
	uint32_t id;
	uint16_t nargs;
	uint16_t argslen;
	/* argslen bytes: nargs NUL-terminated strings */
};

struct adminq_reply_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t status;	/* enum adminq_status, same in every part */
	uint32_t id;
	uint16_t part;		/* 0, 1, 2 ... */
	uint16_t flags;		/* ADMINQ_F_LAST */
	uint32_t len;		/* data bytes in this part */
};

/* a decoded request */
struct adminq_req {
	uint16_t cmd;
	pid_t pid;
	uint32_t id;
	uint16_t version;
	int nargs;
	const char *args[ADMINQ_NARGS_MAX];
};

/* message buffers as msgsnd/msgrcv want them */
struct adminq_msg {
	long mtype;
	char body[ADMINQ_MSG_MAX];
};

const char *adminq_cmd_name(unsigned cmd);
int adminq_cmd_from_name(const char *name);

/*
 * Encode a request into m (mtype set). Returns the body length for
 * msgsnd, or -E2BIG when the arguments do not fit.
 */
ssize_t adminq_encode_req(struct adminq_msg *m, unsigned cmd, pid_t pid, uint32_t id,
    const char *const *args, int nargs);
/*
 * Decode a received request body of len bytes. Returns 0, -EBADMSG when
 * malformed (drop it; r->pid is set when it was readable, for an error
 * reply), -EPROTO when only the version is wrong (r->pid, r->id valid).
 */
int adminq_decode_req(const struct adminq_msg *m, size_t len, struct adminq_req *r);

/* one reply part; returns the body length */
ssize_t adminq_encode_reply(struct adminq_msg *m, pid_t to, uint32_t id, unsigned status,
    unsigned part, bool last, const char *data, size_t len);
/* returns 0 and fills h/data, or -EBADMSG */
int adminq_decode_reply(const struct adminq_msg *m, size_t len, struct adminq_reply_hdr *h,
    const char **data);

/* ------------------------------------------------------------ the queue */

/*
 * Server: create the queue with IPC_CREAT|IPC_EXCL and mode 0660, group gid
 * (or -1 to keep ours). A queue already there is stale unless the process
 * that last received from it is a live shmchatd: then -EADDRINUSE. A stale
 * queue is removed and created again. Returns the id or -errno.
 */
int adminq_create(key_t key, gid_t gid, bool *replaced);
/* remove the queue (every server exit path) */
void adminq_remove(int qid);
/* client: the existing queue or -errno (-ENOENT: no server, -EACCES) */
int adminq_open(key_t key);

/* msgsnd without blocking: 0, -EAGAIN (queue full), -errno */
int adminq_send(int qid, const struct adminq_msg *m, size_t len);
/*
 * msgrcv of mtype, waiting at most timeout_ms (-1: forever, 0: don't
 * wait). Returns the body length, -ETIMEDOUT, -EIDRM (queue removed),
 * -EINTR (a signal other than the timeout), or -errno.
 */
ssize_t adminq_recv(int qid, struct adminq_msg *m, long mtype, int timeout_ms);
/* drop every message of mtype (replies nobody will read); returns how many */
int adminq_purge(int qid, long mtype);

#endif
