/*
 * cluster_entry: one entry of the network log (docs/cluster.md), the Redis
 * stream every node of a cluster appends to and reads in the same order.
 * Encoding builds the field/value arguments of an XADD; decoding checks
 * every field of what another node wrote (a node that sends something
 * malformed is refused, never trusted). Pure: no I/O, no Redis.
 */
#ifndef SHMCHAT_CLUSTER_ENTRY_H
#define SHMCHAT_CLUSTER_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_proto.h"
#include "irc.h"
#include "irctags.h"

#define CLUSTER_PROTO		"1"
#define CLUSTER_NAME_MAX	32	/* a node's name */
#define CLUSTER_ARG_MAX		1024	/* bytes of one request argument */
#define CLUSTER_PAYLOAD_MAX	16384	/* bytes of a message's lines */
/* one line of them: the server's stamp and a client's tags may precede
 * the 512 bytes of IRC (irctags.h) */
#define CLUSTER_LINE_MAX	(IRCTAGS_STAMP_LEN + IRCTAGS_CLIENT_MAX + 2 + IRC_MAXLINE)
#define CLUSTER_BLOB_MAX	(64u << 20)	/* a snapshot */
/* the most XADD arguments an entry needs (fields and values) */
#define CLUSTER_ENTRY_ARGV	(2 * (8 + IPC_REQ_ARGS + 2))

enum cluster_kind {
	CLUSTER_HELLO = 'J',	/* a node (incarnation) starts reading here */
	CLUSTER_USER = 'U',	/* a client of the writer's appears */
	CLUSTER_REQ = 'R',	/* a client's directory request, run by every node */
	CLUSTER_MSG = 'M',	/* a client's message, for the readers' own clients */
	CLUSTER_GONE = 'X',	/* a client of the writer's is gone (after its QUIT) */
	CLUSTER_DEAD = 'D',	/* a node stopped renewing its lease: its clients quit */
	CLUSTER_SNAP = 'S',	/* the network's state, for the node whose HELLO it answers */
};

/* a byte string inside the decoded reply (not NUL-terminated) */
struct cluster_str {
	const char *p;
	size_t len;
};

struct cluster_entry {
	enum cluster_kind kind;
	struct cluster_str node;	/* the writer */
	uint64_t inc;			/* the writer's incarnation */
	uint64_t seq;			/* the writer's count of entries: duplicates */
	int64_t time;			/* the writer's clock, seconds (what a change is dated) */
	uint32_t slot, gen;		/* USER REQ MSG GONE: the client, at its node */
	/* USER */
	struct cluster_str host;
	bool tls;
	int64_t connected_at;
	/* REQ: the worker's request id (its node answers with it), the
	 * command's name, then its arguments */
	uint32_t req_id;
	struct cluster_str args[1 + IPC_REQ_ARGS];
	int nargs;			/* the name included */
	/* MSG: the ring record's target kind, flags, name, lines */
	uint8_t msg_kind, msg_flags;
	uint16_t msg_caps;	/* the capabilities a recipient needs (cap.h; TAGMSG) */
	struct cluster_str target, payload;
	/* DEAD: the node and incarnation gone; SNAP: the hello it answers */
	struct cluster_str dead;
	uint64_t dead_inc;
	struct cluster_str answers;	/* SNAP: the HELLO's stream id */
	struct cluster_str blob;	/* SNAP */
};

/* what cluster_entry_encode() fills: XADD's field and value arguments */
struct cluster_argv {
	const char *argv[CLUSTER_ENTRY_ARGV];
	size_t len[CLUSTER_ENTRY_ARGV];
	int argc;
	char num[8][24];		/* numbers formatted for argv */
	int nnum;
};

/*
 * The fields of e as field/value pairs appended to a (which may already
 * hold "XADD key MAXLEN ~ n *"). Pointers into e's strings: keep them
 * alive until the command is sent. Returns 0 or -EINVAL (too many).
 */
int cluster_entry_encode(const struct cluster_entry *e, struct cluster_argv *a);

/*
 * Decode the field/value pairs of one stream entry (nf strings: field,
 * value, ...). 0, or -EPROTO with why (a short phrase) set; e points into
 * the strings.
 */
int cluster_entry_decode(struct cluster_entry *e, const struct cluster_str *fv, size_t nf,
    const char **why);

/* is s a node's name: 1..CLUSTER_NAME_MAX of [A-Za-z0-9._-]? */
bool cluster_entry_name_ok(const char *s, size_t len);

#endif
