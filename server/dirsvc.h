/*
 * dirsvc: the directory service, the master's IRC state that the master
 * halves of commands (cmd_*.c) work on: the directory, the configuration,
 * the ring and the queue of records the master publishes. Its helpers
 * publish what a directory change announces (to a channel, to everyone
 * who shares a channel with a client, to one client) and build the reply
 * to one request. Master only.
 */
#ifndef SHMCHAT_DIRSVC_H
#define SHMCHAT_DIRSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "dir.h"
#include "irctags.h"
#include "reply.h"
#include "ring.h"
#include "whowas.h"

struct conf;
struct history;
struct dirsvc;

/*
 * What command halves need of the master beyond the directory (master.c
 * fills it in; a unit test may leave it or its members NULL).
 */
struct dirsvc_ops {
	/* end slot's connection: its worker says ERROR :Closing Link
	 * (reason) and exits; the directory is left to the caller */
	void (*close_client)(struct dirsvc *ds, uint32_t slot, const char *reason);
	/* reload the configuration as SIGHUP does, once the current request
	 * is answered; the outcome is told to (slot, gen) in a NOTICE */
	void (*rehash)(struct dirsvc *ds, uint32_t slot, uint32_t gen);
	/* does password match a crypt(3) hash? (passwd.c: only the master
	 * links libcrypt, so the command layer does not call it directly) */
	bool (*passwd_check)(const char *password, const char *hash);
	/* a client's message reached the directory and has recipients on
	 * other nodes of a cluster (fanout.c): send it on; NULL: one node */
	void (*forward)(struct dirsvc *ds, const struct ring_rec *rec);
	/* the server a client is on (WHOIS 312, WHO 352): its node's name in
	 * a cluster; NULL: this server */
	const char *(*server_of)(struct dirsvc *ds, uint32_t slot);
	/* a change of this node's own making for the whole network (OPER's
	 * +o): the internal request name with (slot, gen)'s arguments, run
	 * by every node; NULL: one node, nothing to tell */
	void (*replicate)(struct dirsvc *ds, uint32_t slot, uint32_t gen, const char *name);
};

struct dirsvc {
	struct dir dir;
	struct ring *ring;
	const struct conf *cfg;	/* the running configuration */
	const char *config_path;	/* its file (REHASH's 382) */
	const struct dirsvc_ops *ops;
	time_t started;
	/* RPL_CREATED's text, made once: strftime()'s %Z makes glibc stat and
	 * read /etc/localtime on every call, once per registration */
	char created[64];
	struct buf pending;	/* records waiting for ring space, in order */
	bool fanout_due;	/* records were published: run fan-out */
	uint64_t oper_check_next_ms;	/* no OPER password is checked before then */
	struct whowas whowas;	/* nicks gone, fed by the directory (WHOWAS) */
	uint32_t servers;	/* the nodes of the network up (LUSERS); 0 or 1: one server */
	struct irctags_msgid msgid;	/* ids of the master's own lines; its salt is
					 * every worker's (IPC settings) */
	struct history *history;	/* recent chat lines (history.h); NULL: none */
	uint32_t batch_next;	/* ids of the batches the master opens */
};

/*
 * Size the WHOWAS history from the configuration (at start, and again
 * after a reload) and have the directory feed it. 0, or -errno with the
 * history unchanged (logged).
 */
int dirsvc_whowas_setup(struct dirsvc *ds);

/*
 * Publish a record from the master (queued, in order, while the ring is
 * full); owner is the client it is attributed to (RING_OWNER_MASTER for
 * none), so RING_F_EXCLUDE_ORIGIN can match it. Returns 0 or -errno.
 */
int dirsvc_emit_as(struct dirsvc *ds, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const void *payload, size_t len);
int dirsvc_emit(struct dirsvc *ds, const struct ring_target *t,
    const void *payload, size_t len);
/* publish what waited for ring space; true while some still waits */
bool dirsvc_flush_pending(struct dirsvc *ds);

/* the name of the server slot is on (its node's in a cluster) */
const char *dirsvc_server_of(struct dirsvc *ds, uint32_t slot);

/* seconds since the client's last PRIVMSG/NOTICE (or since it connected) */
long long dirsvc_idle(const struct dirsvc *ds, uint32_t slot);
/* "nick!user@host" of a client */
void dirsvc_prefix(const struct dir_user *u, char *out, size_t outlen);
/* the same, the line stamped with the time and a msgid first (RING_F_TAGGED:
 * each worker keeps of the stamp what its client asked for): what a
 * client did, as others see it (JOIN, NICK, MODE...) */
int dirsvc_emit_event(struct dirsvc *ds, uint32_t owner, uint32_t owner_gen,
    const struct ring_target *t, const char *line, size_t len);
/* a line to a channel's members that have every capability in need and
 * none in deny (cap.h), attributed to origin */
void dirsvc_emit_chan_caps(struct dirsvc *ds, const struct dir_chan *c, uint32_t origin,
    uint32_t flags, uint16_t need, uint16_t deny, const char *line, size_t len);
/* a line to a channel's members, attributed to origin (a slot or RING_OWNER_MASTER;
 * flags: ring_flags) */
void dirsvc_emit_chan(struct dirsvc *ds, const struct dir_chan *c, uint32_t origin,
    uint32_t flags, const char *line, size_t len);
/* a line to everyone sharing a channel with slot (once each) and, if
 * include_self, to slot itself, with an event about slot (or NULL); only
 * to those with the capabilities in need (cap.h) */
void dirsvc_emit_peers(struct dirsvc *ds, uint32_t slot, bool include_self, uint16_t need,
    const struct ring_event *ev, const char *line, size_t len);

/* the reply to one request: lines gathered, then sent as records */
struct dirsvc_reply {
	struct reply r;		/* first: the formatter's sink */
	struct buf out;
	/* an event for the requester, carried by the reply's last record */
	struct {
		struct ring_event ev;
		char data[IRC_NICK_MAX];
	} event;
	bool has_event;
};
void dirsvc_reply_init(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot);
/* the requester's worker learns its nick with the reply (RING_EV_NICK) */
void dirsvc_reply_nick_event(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot);
/* send the lines gathered so far to slot now (the reply goes on) */
void dirsvc_reply_flush(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot,
    uint32_t gen);
/* send the lines to slot, the last record a RING_ACK carrying ack (or
 * plain records when ack is NULL); frees the lines */
void dirsvc_reply_send(struct dirsvc *ds, struct dirsvc_reply *dr, uint32_t slot,
    uint32_t gen, const struct ring_ack *ack);

#endif
