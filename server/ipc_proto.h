/*
 * ipc_proto: messages between the master and a worker over their
 * AF_UNIX SOCK_SEQPACKET socketpair (one datagram = one message, so
 * framing comes from the kernel). Every message starts with struct
 * ipc_hdr; receivers check type and size before reading further and
 * treat anything malformed as a broken peer.
 *
 * Chat lines never travel here: they go through the shared ring (ring.h).
 * Answers to requests also come back through the ring, as a RING_ACK
 * record to the requesting slot (its reply lines and struct ring_ack), so a
 * client sees its replies and the channel traffic in one order.
 */
#ifndef SHMCHAT_IPC_PROTO_H
#define SHMCHAT_IPC_PROTO_H

#include <stdint.h>

#define IPC_VERSION	4
#define IPC_MSG_MAX	4096	/* bytes; requests carry at most a few IRC params */
#define IPC_WORKER_MSG_MAX 1024	/* master -> worker messages are short */

enum ipc_type {
	/* worker -> master */
	IPC_FANOUT = 1,		/* records committed: run fan-out */
	IPC_SPACE_WAIT,		/* the ring is full: wake me when it has room */
	IPC_REQ,		/* struct ipc_req + command name + string args */
	/* admin process <-> master */
	IPC_ADMIN_REQ = 16,	/* struct ipc_admin_req + NUL-separated args */
	IPC_ADMIN_DONE,		/* the answer is on the queue (or dropped) */
	IPC_ADMIN_REPLY,	/* struct ipc_admin_reply + data: one part of an answer */
	/* master -> worker */
	IPC_WAKE = 64,		/* inbox has entries, or ring space returned */
	IPC_CLOSE,		/* say ERROR :Closing Link (reason) and exit; args: reason */
	IPC_SETTINGS,		/* struct ipc_settings: reloaded limits and timeouts */
	IPC_ASSIGN,		/* struct ipc_assign + the client's socket (SCM_RIGHTS) */
	/* master <-> fork server */
	IPC_FS_SPAWN = 96,	/* struct ipc_fs_spawn + the worker's socketpair end */
	IPC_FS_SPAWNED,		/* struct ipc_fs_spawned: pid, or the fork() errno */
	IPC_FS_EXITED,		/* struct ipc_fs_exited: a worker was reaped */
	IPC_FS_TLS_CERT,	/* header only + the certificate file (SCM_RIGHTS) */
	IPC_FS_TLS,		/* struct ipc_fs_tls + strings + the key file (SCM_RIGHTS) */
	IPC_FS_TLS_DONE,	/* struct ipc_fs_tls_done + the error text */
	IPC_FS_POOL,		/* struct ipc_fs_pool: the spare workers' bounds */
	IPC_FS_POOL_STATE,	/* struct ipc_fs_pool_state: spares ready, target */
	IPC_FS_TAKE,		/* fork server -> a spare: header only + the
				 * worker's socketpair end to the master */
};

struct ipc_hdr {
	uint16_t type;
	uint16_t version;
	uint32_t len;		/* whole message */
};

/*
 * A directory request: a command's master half (cmd.h), named by the
 * command, with its arguments. Followed by the command name and nargs
 * strings, each NUL-terminated. The master answers every request with one
 * RING_ACK record carrying req_id (ring.h).
 */
struct ipc_req {
	struct ipc_hdr hdr;
	uint32_t id;		/* echoed in the answer */
	uint16_t nargs;
	uint16_t pad;
};
#define IPC_REQ_ARGS	16	/* at most, after the command name */

/* a validated shmchatctl request, forwarded by the admin process */
struct ipc_admin_req {
	struct ipc_hdr hdr;
	int32_t pid;		/* the requester: reply mtype */
	uint32_t id;
	uint16_t cmd;		/* enum adminq_cmd */
	uint16_t nargs;
};

struct ipc_admin_reply {
	struct ipc_hdr hdr;
	int32_t pid;
	uint32_t id;
	uint16_t status;	/* enum adminq_status */
	uint16_t last;		/* 1 on the final part */
	uint32_t len;		/* data bytes that follow */
};
#define IPC_ADMIN_DATA_MAX	(IPC_MSG_MAX - (int)sizeof(struct ipc_admin_reply))

/* what a worker needs of the configuration; sent at start and on reload */
struct ipc_wsettings {
	int64_t sendq;
	int32_t ping_interval, ping_timeout, registration_timeout;
	int32_t nick_len, channel_len, topic_len, away_len, max_channels;
	int32_t flood_rate, flood_burst, flood_queue;	/* rate 0: no flood control */
	char server_name[64];
	char description[204];
	char password[132];	/* "" when none is required */
	/* the IRCv3 sts capability: sts_duration 0 when none is advertised */
	int32_t sts_port, sts_duration;
	uint32_t caps_offered;	/* enum cap_bit (cap.h) but sts */
	uint32_t msgid_salt;	/* this server run's part of every msgid (irctags.h) */
};

struct ipc_settings {
	struct ipc_hdr hdr;
	struct ipc_wsettings s;
};

/* a new worker's first message: its client (the socket rides along) */
#define IPC_ASSIGN_TLS	0x1	/* accepted on a TLS listener: handshake first */

struct ipc_assign {
	struct ipc_hdr hdr;
	uint32_t slot, gen;
	uint32_t flags;		/* IPC_ASSIGN_* */
	char host[72];
	struct ipc_wsettings s;
};

struct ipc_fs_spawn {
	struct ipc_hdr hdr;
	uint32_t slot, gen;	/* echoed in the answer */
};

struct ipc_fs_spawned {
	struct ipc_hdr hdr;
	uint32_t slot, gen;
	int32_t pid;		/* 0 when fork() failed */
	int32_t err;		/* its errno */
};

struct ipc_fs_exited {
	struct ipc_hdr hdr;
	int32_t pid;
	int32_t status;		/* as from waitpid() */
};

/* the pool of spare workers (forkserver.h): min_spare_workers, max_spare_workers */
struct ipc_fs_pool {
	struct ipc_hdr hdr;
	uint32_t min, max;
};

/* what the pool holds, sent when it is full again or shrank */
struct ipc_fs_pool_state {
	struct ipc_hdr hdr;
	uint32_t ready;		/* spares waiting for a client */
	uint32_t target;	/* spares it keeps now (min..max) */
};

/*
 * Build the TLS context for the workers forked from now on. Follows an
 * IPC_FS_TLS_CERT; the key file rides along. The files were opened by the
 * master (before dropping root at start), so the fork server reads them
 * through the descriptors, from offset 0. Then strings: the certificate's
 * and the key's paths (for messages), the cipher list ("" for the
 * default). Answered with IPC_FS_TLS_DONE carrying id.
 */
struct ipc_fs_tls {
	struct ipc_hdr hdr;
	uint32_t id;
	int32_t min_version;	/* CONF_TLS_1_2 or CONF_TLS_1_3 */
};

struct ipc_fs_tls_done {
	struct ipc_hdr hdr;
	uint32_t id;
	int32_t ok;		/* 1: in use; 0: refused, the previous one kept */
	/* followed by the reason (a string) when refused */
};

_Static_assert(sizeof(struct ipc_assign) <= IPC_WORKER_MSG_MAX &&
    sizeof(struct ipc_settings) <= IPC_WORKER_MSG_MAX,
    "every message to a worker fits its buffer");

#endif
