/*
 * cap: the IRCv3 capabilities shmchatd offers (ircv3.net/specs/extensions/
 * capability-negotiation): their names and bits, CAP LS (302: values,
 * several lines), CAP REQ (all or nothing). Pure; the worker runs the CAP
 * command with it, the master keeps each client's set (dir_user.caps) for
 * what it formats and to whom fan-out delivers.
 */
#ifndef SHMCHAT_CAP_H
#define SHMCHAT_CAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reply;

enum cap_bit {
	CAP_AWAY_NOTIFY = 1u << 0,
	CAP_BATCH = 1u << 1,
	CAP_CAP_NOTIFY = 1u << 2,
	CAP_CHGHOST = 1u << 3,
	CAP_CHATHISTORY = 1u << 4,	/* draft/chathistory */
	CAP_ECHO_MESSAGE = 1u << 5,
	CAP_EXTENDED_JOIN = 1u << 6,
	CAP_INVITE_NOTIFY = 1u << 7,
	CAP_LABELED_RESPONSE = 1u << 8,
	CAP_MESSAGE_TAGS = 1u << 9,
	CAP_MULTI_PREFIX = 1u << 10,
	CAP_SERVER_TIME = 1u << 11,
	CAP_SETNAME = 1u << 12,
	CAP_USERHOST_IN_NAMES = 1u << 13,
	CAP_STS = 1u << 14,		/* a policy: listed, never requested */
};
/* what every server offers; chathistory only with history on, sts only
 * with TLS listeners */
#define CAP_ALWAYS	(CAP_AWAY_NOTIFY | CAP_BATCH | CAP_CAP_NOTIFY | CAP_CHGHOST | \
	CAP_ECHO_MESSAGE | CAP_EXTENDED_JOIN | CAP_INVITE_NOTIFY | CAP_LABELED_RESPONSE | \
	CAP_MESSAGE_TAGS | CAP_MULTI_PREFIX | CAP_SERVER_TIME | CAP_SETNAME | \
	CAP_USERHOST_IN_NAMES)

/* the name of one capability bit ("" for none) */
const char *cap_name(uint32_t bit);
/* the bit of a name, 0 when unknown */
uint32_t cap_find(const char *name, size_t len);

/*
 * CAP LS: the offered capabilities, as ":server CAP who LS [*] :names"
 * lines into r. version 302 or more: values (sts=...) and lines split at
 * about 400 bytes with "*" on all but the last; below it, names only and
 * one line. sts: the sts value ("port=6697,duration=..."), or NULL.
 * sub: "LS", or "NEW" for cap-notify (then offered is what is new).
 */
void cap_ls(struct reply *r, const char *server, const char *who, const char *sub,
    uint32_t offered, int version, const char *sts);

/*
 * CAP REQ: the new set from the current one, or false when any name in
 * list is unknown, not offered or not requestable (the whole request is
 * refused). "-name" removes. An empty list changes nothing.
 */
bool cap_req(const char *list, uint32_t offered, uint32_t cur, uint32_t *out);

/* the names of a set, space-separated, into out (CAP LIST, ACK); the length */
size_t cap_names(char *out, size_t cap, uint32_t set);

#endif
