/*
 * cmd_row: how one IRC command is described. Every command is one row in
 * the table of its family (cmd_conn.c, cmd_chan.c, cmd_msg.c,
 * cmd_query.c), and the family file holds both halves of it: the worker
 * half, run in the client's own process on each line it sends, and, for
 * commands that need the directory, the master half, which answers the
 * worker's request in the master. cmd.c dispatches both.
 */
#ifndef SHMCHAT_CMD_ROW_H
#define SHMCHAT_CMD_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "ipc_proto.h"

struct dirsvc;
struct irc_msg;
struct reply;
struct worker;

/* what a worker half tells the dispatcher */
enum cmd_result {
	CMD_DONE = 0,		/* handled: answered, published or requested */
	CMD_RETRY,		/* the ring is full: run the line again when woken */
	CMD_SYNC,		/* answer only after what earlier lines published has
				 * been through fan-out (its errors come first) */
	CMD_WAIT,		/* (dispatcher) a request is in flight: run the line
				 * again once it is answered */
};

/* how the master answered a request (struct ring_ack's status) */
enum cmd_status {
	CMD_OK = 0,
	CMD_FAILED,		/* refused; the reply says why */
	CMD_BAD_REQUEST,	/* a request no worker should send: logged as a bug */
};

/* a request as a master half sees it */
struct cmd_req {
	uint32_t slot, gen;	/* the requesting client */
	const char *args[IPC_REQ_ARGS];
	int nargs;
};

enum cmd_flags {
	CMD_REGISTERED = 1 << 0,	/* only after registration */
	CMD_INTERNAL = 1 << 1,		/* a request workers make, not a client command */
	CMD_PUBLISHES = 1 << 2,		/* the worker half publishes (PRIVMSG): no sync first */
	CMD_NO_ANSWER = 1 << 3,		/* the requester is leaving: no RING_ACK (QUIT) */
	CMD_REGISTRATION = 1 << 4,	/* part of registration (PASS NICK USER CAP) */
	CMD_REPLICATE = 1 << 5,		/* the master half changes the directory: in a
					 * cluster, every node runs it in the log's order */
	CMD_FROM_LOG = 1 << 6,		/* only from the network log, never from a worker */
};

struct cmd_row {
	const char *name;
	uint8_t flags;			/* enum cmd_flags */
	uint8_t min_params, max_params;	/* of the client's line; max 0: any */
	/* the worker half (NULL for CMD_INTERNAL rows) */
	enum cmd_result (*worker)(struct worker *w, const struct irc_msg *m);
	/* the master half: answers one request, its lines into r; enum cmd_status */
	int (*master)(struct dirsvc *ds, struct reply *r, const struct cmd_req *q);
	uint8_t min_args, max_args;	/* of the request */
	/* the worker, when the answer to its request arrived (or NULL) */
	void (*answered)(struct worker *w, int status);
};

struct cmd_family {
	const char *name;
	const struct cmd_row *rows;
	size_t nrows;
};

#define CMD_FAMILY(var, label, table) \
	const struct cmd_family var = { label, table, sizeof table / sizeof *table }

#endif
