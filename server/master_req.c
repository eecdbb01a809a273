/* master_req: directory requests from workers, answered through the ring */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "irc.h"
#include "log.h"
#include "master.h"
#include "master_req.h"
#include "numeric.h"

#define REQ_MAXARGS	16

/* a reply being built: CR LF lines for one client */
struct reply {
	struct master *m;
	uint32_t slot;
	struct buf out;
	const char *nick;	/* "*" before registration */
	bool acked;
};

static void rpl(struct reply *r, const char *num, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
rpl(struct reply *r, const char *num, const char *fmt, ...)
{
	char text[IRC_MAXLINE * 2], line[IRC_MAXLINE + 1];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	n = irc_fmt(line, sizeof line, ":%s %s %s %s", r->m->cfg->server_name,
	    num, r->nick, text);
	buf_append(&r->out, line, n);
}

static void
reply_init(struct reply *r, struct master *m, uint32_t slot)
{
	struct dir_user *u = &m->dir.users[slot];

	r->m = m;
	r->slot = slot;
	buf_init(&r->out);
	r->nick = u->nick[0] ? u->nick : "*";
	r->acked = false;
}

/*
 * Send the reply as records to the slot, cut at line boundaries; the last
 * one carries the ack (extra: struct ipc_ack + ack data).
 */
static void
reply_send(struct reply *r, const void *ack, size_t acklen)
{
	struct master *m = r->m;
	struct ring_target t = { .kind = RING_TO_SLOT, .id = r->slot,
	    .gen = m->dir.users[r->slot].gen };
	size_t room = RING_REC_MAX - sizeof(struct ring_rec) - RING_EXTRA_MAX - 8;
	const char *p = buf_head(&r->out);
	size_t left = buf_used(&r->out);

	do {
		size_t n = left;
		if (n > room) {
			n = room;
			while (n > 0 && p[n - 1] != '\n')
				n--;
		}
		bool last = n == left;
		t.extra = last ? ack : NULL;
		t.extra_len = last ? acklen : 0;
		if (master_emit(m, &t, p, n) < 0)
			log_warnx("reply to slot %u lost", r->slot);
		p += n;
		left -= n;
	} while (left > 0);
	buf_free(&r->out);
	r->acked = true;
}

struct ackbuf {
	struct ipc_ack a;
	char data[RING_EXTRA_MAX - sizeof(struct ipc_ack)];
	size_t len;
};

static void
ack_init(struct ackbuf *ab, uint32_t id, uint16_t cmd, bool ok)
{
	memset(&ab->a, 0, sizeof ab->a);
	ab->a.magic = IPC_ACK_MAGIC;
	ab->a.req_id = id;
	ab->a.cmd = cmd;
	ab->a.status = ok ? ACK_OK : ACK_FAILED;
	ab->len = 0;
}

static void
ack_add_chan(struct ackbuf *ab, const struct dir_chan *c)
{
	struct ipc_chanref ref = { c->id, c->gen };
	size_t nl = strlen(c->name);

	if (ab->len + sizeof ref + 1 + nl > sizeof ab->data)
		return;
	memcpy(ab->data + ab->len, &ref, sizeof ref);
	ab->data[ab->len + sizeof ref] = (char)nl;
	memcpy(ab->data + ab->len + sizeof ref + 1, c->name, nl);
	ab->len += sizeof ref + 1 + nl;
	ab->a.nchans++;
}

static void
ack_add_nick(struct ackbuf *ab, const char *nick)
{
	size_t nl = strlen(nick);

	memcpy(ab->data + ab->len, nick, nl);
	ab->len += nl;
	ab->a.namelen = nl;
}

static void
reply_ack(struct reply *r, struct ackbuf *ab)
{
	char extra[RING_EXTRA_MAX];

	memcpy(extra, &ab->a, sizeof ab->a);
	memcpy(extra + sizeof ab->a, ab->data, ab->len);
	reply_send(r, extra, sizeof ab->a + ab->len);
}

/* ":nick!user@host" of a client */
static void
prefix_of(const struct dir_user *u, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s!%s@%s", u->nick, u->user, u->host);
}

/* a line to a channel's members (excluding the origin slot if asked) */
static void
emit_to_chan(struct master *m, const struct dir_chan *c, uint32_t origin,
    bool exclude_origin, const char *line, size_t len)
{
	struct ring_target t = { .kind = RING_TO_CHAN, .id = c->id, .gen = c->gen,
	    .flags = exclude_origin ? RING_F_EXCLUDE_ORIGIN : 0 };

	/* attributed to the origin so EXCLUDE_ORIGIN can match it */
	master_emit_as(m, origin, m->dir.users[origin].gen, &t, line, len);
}

/* a line to everyone sharing a channel with slot (once each), optionally self */
static void
emit_to_peers(struct master *m, uint32_t slot, bool include_self,
    const char *line, size_t len)
{
	struct dir_user *u = &m->dir.users[slot];
	struct ipc_chanref refs[RING_EXTRA_MAX / sizeof(struct ipc_chanref)];
	size_t n = 0;

	for (uint32_t i = 0; i < u->nchans && n < sizeof refs / sizeof *refs; i++) {
		struct dir_chan *c = dir_chan_get(&m->dir, u->chans[i]);
		if (c != NULL)
			refs[n++] = (struct ipc_chanref){ c->id, c->gen };
	}
	if (n == 0 && !include_self)
		return;
	struct ring_target t = { .kind = RING_TO_CHANS, .id = slot, .gen = u->gen,
	    .flags = include_self ? RING_F_INCLUDE_TARGET : 0,
	    .extra = refs, .extra_len = n * sizeof *refs };
	master_emit(m, &t, line, len);
}

/* ------------------------------------------------------------ handlers */

static void
rpl_lusers(struct reply *r)
{
	struct dir *d = &r->m->dir;
	uint32_t unknown = d->nconnected - d->nregistered;

	rpl(r, RPL_LUSERCLIENT, ":There are %u users and 0 invisible on 1 servers",
	    d->nregistered);
	if (unknown > 0)
		rpl(r, RPL_LUSERUNKNOWN, "%u :unknown connection(s)", unknown);
	rpl(r, RPL_LUSERCHANNELS, "%u :channels formed", d->nchannels);
	rpl(r, RPL_LUSERME, ":I have %u clients and 0 servers", d->nregistered);
}

static void
rpl_motd(struct reply *r)
{
	const char *motd = r->m->cfg->motd_text;

	if (motd == NULL) {
		rpl(r, ERR_NOMOTD, ":MOTD File is missing");
		return;
	}
	rpl(r, RPL_MOTDSTART, ":- %s Message of the day - ", r->m->cfg->server_name);
	for (const char *p = motd; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		rpl(r, RPL_MOTD, ":- %.*s", n, p);
		p += n + (nl != NULL);
	}
	rpl(r, RPL_ENDOFMOTD, ":End of /MOTD command.");
}

static void
req_register(struct reply *r, uint32_t id, const char **a, int n)
{
	struct master *m = r->m;
	struct dir_user *u = &m->dir.users[r->slot];
	struct ackbuf ab;
	char created[64];
	struct tm tm;
	int rc;

	if (n != 3 || u->state != DIR_CONNECTED)
		return;
	rc = dir_nick_set(&m->dir, r->slot, a[0]);
	if (rc < 0) {
		rpl(r, ERR_NICKNAMEINUSE, "%s :Nickname is already in use", a[0]);
		ack_init(&ab, id, REQ_REGISTER, false);
		reply_ack(r, &ab);
		return;
	}
	snprintf(u->user, sizeof u->user, "%s", a[1]);
	snprintf(u->realname, sizeof u->realname, "%s", a[2]);
	dir_set_state(&m->dir, r->slot, DIR_REGISTERED);
	r->nick = u->nick;
	localtime_r(&m->started, &tm);
	strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S %Z", &tm);

	rpl(r, RPL_WELCOME, ":Welcome to the %s IRC Network %s!%s@%s",
	    m->cfg->network, u->nick, u->user, u->host);
	rpl(r, RPL_YOURHOST, ":Your host is %s, running version shmchat-" PACKAGE_VERSION,
	    m->cfg->server_name);
	rpl(r, RPL_CREATED, ":This server was created %s", created);
	rpl(r, RPL_MYINFO, "%s shmchat-" PACKAGE_VERSION " i nt", m->cfg->server_name);
	rpl(r, RPL_ISUPPORT, "AWAYLEN=%d CASEMAPPING=" SHMCHAT_CASEMAPPING
	    " CHANLIMIT=#:%d CHANNELLEN=%d CHANTYPES=" SHMCHAT_CHANTYPES
	    " NETWORK=%s NICKLEN=%d PREFIX=() TOPICLEN=%d :are supported by this server",
	    m->cfg->away_len, m->cfg->max_channels_per_client, m->cfg->channel_len,
	    m->cfg->network, m->cfg->nick_len, m->cfg->topic_len);
	rpl_lusers(r);
	rpl_motd(r);
	ack_init(&ab, id, REQ_REGISTER, true);
	ack_add_nick(&ab, u->nick);
	reply_ack(r, &ab);
	log_info("%s!%s@%s registered (slot %u)", u->nick, u->user, u->host, r->slot);
}

static void
req_nick(struct reply *r, uint32_t id, const char **a, int n)
{
	struct master *m = r->m;
	struct dir_user *u = &m->dir.users[r->slot];
	char old[256], line[IRC_MAXLINE + 1];
	struct ackbuf ab;
	size_t len;

	if (n != 1)
		return;
	prefix_of(u, old, sizeof old);
	if (strcmp(u->nick, a[0]) == 0) {
		ack_init(&ab, id, REQ_NICK, true);
		ack_add_nick(&ab, u->nick);
		reply_ack(r, &ab);
		return;
	}
	if (dir_nick_set(&m->dir, r->slot, a[0]) < 0) {
		rpl(r, ERR_NICKNAMEINUSE, "%s :Nickname is already in use", a[0]);
		ack_init(&ab, id, REQ_NICK, false);
		reply_ack(r, &ab);
		return;
	}
	/* before registration a nick is only reserved: nobody to tell */
	if (u->state == DIR_REGISTERED) {
		len = irc_fmt(line, sizeof line, ":%s NICK :%s", old, u->nick);
		emit_to_peers(m, r->slot, true, line, len);
	}
	ack_init(&ab, id, REQ_NICK, true);
	ack_add_nick(&ab, u->nick);
	reply_ack(r, &ab);
}

static void
rpl_names(struct reply *r, const struct dir_chan *c)
{
	struct dir *d = &r->m->dir;
	char list[400];
	size_t len = 0;

	for (uint32_t i = 0; i < c->nmembers; i++) {
		const char *nick = d->users[c->members[i].slot].nick;
		size_t nl = strlen(nick);
		if (len + nl + 1 >= sizeof list) {
			rpl(r, RPL_NAMREPLY, "= %s :%.*s", c->name, (int)len, list);
			len = 0;
		}
		if (len > 0)
			list[len++] = ' ';
		memcpy(list + len, nick, nl);
		len += nl;
	}
	if (len > 0)
		rpl(r, RPL_NAMREPLY, "= %s :%.*s", c->name, (int)len, list);
	rpl(r, RPL_ENDOFNAMES, "%s :End of /NAMES list.", c->name);
}

static void
rpl_topic(struct reply *r, const struct dir_chan *c, bool say_none)
{
	if (c->topic != NULL) {
		rpl(r, RPL_TOPIC, "%s :%s", c->name, c->topic);
		rpl(r, RPL_TOPICWHOTIME, "%s %s %lld", c->name, c->topic_by,
		    (long long)c->topic_at);
	} else if (say_none)
		rpl(r, RPL_NOTOPIC, "%s :No topic is set", c->name);
}

static void
req_join(struct reply *r, uint32_t id, const char **a, int n)
{
	struct master *m = r->m;
	struct dir_user *u = &m->dir.users[r->slot];
	uint64_t head = atomic_load(&m->ring.hdr->head);
	char pfx[256], line[IRC_MAXLINE + 1];
	struct dir_chan *c = NULL;
	struct ackbuf ab;
	size_t len;
	int rc;

	if (n != 1)
		return;
	/* records published from now on reach the new member, older ones do not */
	rc = dir_join(&m->dir, r->slot, a[0], head, m->cfg->max_channels_per_client, &c);
	if (rc == -EALREADY) {
		ack_init(&ab, id, REQ_JOIN, true);
		ack_add_chan(&ab, c);
		reply_ack(r, &ab);
		return;
	}
	if (rc < 0) {
		if (rc == -ENOSPC)
			rpl(r, ERR_TOOMANYCHANNELS, "%s :You have joined too many channels", a[0]);
		else
			rpl(r, ERR_NOSUCHCHANNEL, "%s :Cannot join channel", a[0]);
		ack_init(&ab, id, REQ_JOIN, false);
		reply_ack(r, &ab);
		return;
	}
	prefix_of(u, pfx, sizeof pfx);
	len = irc_fmt(line, sizeof line, ":%s JOIN %s", pfx, c->name);
	emit_to_chan(m, c, r->slot, true, line, len);
	buf_append(&r->out, line, len);
	rpl_topic(r, c, false);
	rpl_names(r, c);
	ack_init(&ab, id, REQ_JOIN, true);
	ack_add_chan(&ab, c);
	reply_ack(r, &ab);
}

/* PART one channel: peers see it through the ring, the parter in its reply */
static void
part_one(struct reply *r, struct dir_chan *c, const char *reason, struct ackbuf *ab)
{
	struct master *m = r->m;
	char pfx[256], line[IRC_MAXLINE + 1];
	size_t len;

	prefix_of(&m->dir.users[r->slot], pfx, sizeof pfx);
	if (reason != NULL && reason[0] != '\0')
		len = irc_fmt(line, sizeof line, ":%s PART %s :%s", pfx, c->name, reason);
	else
		len = irc_fmt(line, sizeof line, ":%s PART %s", pfx, c->name);
	emit_to_chan(m, c, r->slot, true, line, len);
	buf_append(&r->out, line, len);
	ack_add_chan(ab, c);
	dir_part(&m->dir, r->slot, c->id);
}

static void
req_part(struct reply *r, uint32_t id, const char **a, int n)
{
	struct dir_chan *c;
	struct ackbuf ab;

	if (n < 1 || n > 2)
		return;
	c = dir_chan_find(&r->m->dir, a[0]);
	ack_init(&ab, id, REQ_PART, c != NULL);
	if (c == NULL)
		rpl(r, ERR_NOSUCHCHANNEL, "%s :No such channel", a[0]);
	else if (!dir_is_member(&r->m->dir, c->id, r->slot)) {
		rpl(r, ERR_NOTONCHANNEL, "%s :You're not on that channel", c->name);
		ab.a.status = ACK_FAILED;
	} else
		part_one(r, c, n > 1 ? a[1] : NULL, &ab);
	reply_ack(r, &ab);
}

static void
req_part_all(struct reply *r, uint32_t id)
{
	struct dir_user *u = &r->m->dir.users[r->slot];
	struct ackbuf ab;

	ack_init(&ab, id, REQ_PART_ALL, true);
	while (u->nchans > 0) {
		struct dir_chan *c = dir_chan_get(&r->m->dir, u->chans[0]);
		if (c == NULL)
			break;
		part_one(r, c, NULL, &ab);
	}
	reply_ack(r, &ab);
}

void
master_req_quit(struct master *m, uint32_t slot, const char *reason)
{
	struct dir_user *u = &m->dir.users[slot];
	char pfx[256], line[IRC_MAXLINE + 1];
	size_t len;

	if (u->state != DIR_REGISTERED)
		return;
	prefix_of(u, pfx, sizeof pfx);
	len = irc_fmt(line, sizeof line, ":%s QUIT :%s", pfx, reason);
	emit_to_peers(m, slot, false, line, len);
	while (u->nchans > 0)
		if (dir_part(&m->dir, slot, u->chans[u->nchans - 1]) < 0)
			u->nchans--;	/* inconsistent entry: drop it, never loop */
	dir_nick_clear(&m->dir, slot);	/* free for the next client at once */
	dir_set_state(&m->dir, slot, DIR_QUITTING);
	log_info("%s quit (%s)", pfx, reason);
}

static void
req_topic(struct reply *r, uint32_t id, const char **a, int n)
{
	struct master *m = r->m;
	struct dir_chan *c;
	struct ackbuf ab;

	ack_init(&ab, id, REQ_TOPIC, true);
	if (n < 1 || n > 2)
		return;
	if ((c = dir_chan_find(&m->dir, a[0])) == NULL) {
		rpl(r, ERR_NOSUCHCHANNEL, "%s :No such channel", a[0]);
	} else if (n == 1) {
		rpl_topic(r, c, true);
	} else if (!dir_is_member(&m->dir, c->id, r->slot)) {
		rpl(r, ERR_NOTONCHANNEL, "%s :You're not on that channel", c->name);
	} else {
		struct dir_user *u = &m->dir.users[r->slot];
		char pfx[256], line[IRC_MAXLINE + 1], topic[512];
		size_t len;

		snprintf(topic, sizeof topic, "%.*s", m->cfg->topic_len, a[1]);
		topic[irc_utf8_cut(topic, strlen(topic))] = '\0';
		dir_set_topic(&m->dir, c->id, topic, u->nick, time(NULL));
		prefix_of(u, pfx, sizeof pfx);
		len = irc_fmt(line, sizeof line, ":%s TOPIC %s :%s", pfx, c->name, topic);
		emit_to_chan(m, c, r->slot, false, line, len);
	}
	reply_ack(r, &ab);
}

/* shell-style * and ? match, case-insensitive (rfc1459) */
static bool
mask_match(const char *mask, const char *s)
{
	if (*mask == '\0')
		return *s == '\0';
	if (*mask == '*')
		return mask_match(mask + 1, s) || (*s != '\0' && mask_match(mask, s + 1));
	if (*s == '\0')
		return false;
	if (*mask != '?' && irc_tolower(*mask) != irc_tolower(*s))
		return false;
	return mask_match(mask + 1, s + 1);
}

static void
rpl_who_one(struct reply *r, const char *chan, const struct dir_user *u)
{
	rpl(r, RPL_WHOREPLY, "%s %s %s %s %s %c :0 %s", chan, u->user, u->host,
	    r->m->cfg->server_name, u->nick, u->away ? 'G' : 'H', u->realname);
}

static void
req_who(struct reply *r, uint32_t id, const char **a, int n)
{
	struct dir *d = &r->m->dir;
	const char *mask = n > 0 ? a[0] : "*";
	struct ackbuf ab;

	if (mask[0] == '#') {
		struct dir_chan *c = dir_chan_find(d, mask);
		for (uint32_t i = 0; c != NULL && i < c->nmembers; i++)
			rpl_who_one(r, c->name, &d->users[c->members[i].slot]);
	} else {
		if (strcmp(mask, "0") == 0)
			mask = "*";
		/* bounded: a WHO * on a huge server answers the first 1000 */
		unsigned shown = 0;
		for (uint32_t i = 0; i < r->m->nlive && shown < 1000; i++) {
			const struct dir_user *u = &d->users[r->m->live[i]];
			if (u->state == DIR_REGISTERED && mask_match(mask, u->nick)) {
				rpl_who_one(r, "*", u);
				shown++;
			}
		}
	}
	rpl(r, RPL_ENDOFWHO, "%s :End of /WHO list.", mask);
	ack_init(&ab, id, REQ_WHO, true);
	reply_ack(r, &ab);
}

static void
req_whois(struct reply *r, uint32_t id, const char **a, int n)
{
	struct master *m = r->m;
	struct ackbuf ab;
	int slot;

	if (n != 1)
		return;
	slot = dir_nick_find(&m->dir, a[0]);
	if (slot < 0 || m->dir.users[slot].state != DIR_REGISTERED) {
		rpl(r, ERR_NOSUCHNICK, "%s :No such nick/channel", a[0]);
	} else {
		const struct dir_user *u = &m->dir.users[slot];
		char chans[400];
		size_t len = 0;

		rpl(r, RPL_WHOISUSER, "%s %s %s * :%s", u->nick, u->user, u->host, u->realname);
		rpl(r, RPL_WHOISSERVER, "%s %s :%s", u->nick, m->cfg->server_name,
		    m->cfg->description);
		if (u->away)
			rpl(r, RPL_AWAY, "%s :%s", u->nick, u->away);
		for (uint32_t i = 0; i < u->nchans; i++) {
			const struct dir_chan *c = dir_chan_get(&m->dir, u->chans[i]);
			size_t cl = c ? strlen(c->name) : 0;
			if (c == NULL)
				continue;
			if (len + cl + 1 >= sizeof chans) {
				rpl(r, RPL_WHOISCHANNELS, "%s :%.*s", u->nick, (int)len, chans);
				len = 0;
			}
			if (len > 0)
				chans[len++] = ' ';
			memcpy(chans + len, c->name, cl);
			len += cl;
		}
		if (len > 0)
			rpl(r, RPL_WHOISCHANNELS, "%s :%.*s", u->nick, (int)len, chans);
		rpl(r, RPL_WHOISIDLE, "%s 0 %lld :seconds idle, signon time", u->nick,
		    (long long)u->connected_at);
	}
	rpl(r, RPL_ENDOFWHOIS, "%s :End of /WHOIS list.", a[0]);
	ack_init(&ab, id, REQ_WHOIS, true);
	reply_ack(r, &ab);
}

static void
rpl_list_one(struct reply *r, const struct dir_chan *c)
{
	rpl(r, RPL_LIST, "%s %u :%s", c->name, c->nmembers, c->topic ? c->topic : "");
}

static void
req_list(struct reply *r, uint32_t id, const char **a, int n)
{
	struct dir *d = &r->m->dir;
	struct ackbuf ab;

	rpl(r, RPL_LISTSTART, "Channel :Users  Name");
	if (n > 0) {
		for (int i = 0; i < n; i++) {
			struct dir_chan *c = dir_chan_find(d, a[i]);
			if (c != NULL)
				rpl_list_one(r, c);
		}
	} else {
		for (uint32_t i = 0; i < d->nchans_alloc; i++)
			if (d->chans[i]->used)
				rpl_list_one(r, d->chans[i]);
	}
	rpl(r, RPL_LISTEND, ":End of /LIST");
	ack_init(&ab, id, REQ_LIST, true);
	reply_ack(r, &ab);
}

static void
req_names(struct reply *r, uint32_t id, const char **a, int n)
{
	struct dir *d = &r->m->dir;
	struct ackbuf ab;

	if (n > 0) {
		struct dir_chan *c = dir_chan_find(d, a[0]);
		if (c != NULL)
			rpl_names(r, c);
		else
			rpl(r, RPL_ENDOFNAMES, "%s :End of /NAMES list.", a[0]);
	} else {
		for (uint32_t i = 0; i < d->nchans_alloc; i++)
			if (d->chans[i]->used) {
				const struct dir_chan *c = d->chans[i];
				char list[400];
				size_t len = 0;
				for (uint32_t j = 0; j < c->nmembers; j++) {
					const char *nick = d->users[c->members[j].slot].nick;
					size_t nl = strlen(nick);
					if (len + nl + 1 >= sizeof list) {
						rpl(r, RPL_NAMREPLY, "= %s :%.*s", c->name, (int)len, list);
						len = 0;
					}
					if (len > 0)
						list[len++] = ' ';
					memcpy(list + len, nick, nl);
					len += nl;
				}
				if (len > 0)
					rpl(r, RPL_NAMREPLY, "= %s :%.*s", c->name, (int)len, list);
			}
		rpl(r, RPL_ENDOFNAMES, "* :End of /NAMES list.");
	}
	ack_init(&ab, id, REQ_NAMES, true);
	reply_ack(r, &ab);
}

static void
req_away(struct reply *r, uint32_t id, const char **a, int n)
{
	struct ackbuf ab;
	char msg[512];

	if (n > 0 && a[0][0] != '\0') {
		snprintf(msg, sizeof msg, "%.*s", r->m->cfg->away_len, a[0]);
		msg[irc_utf8_cut(msg, strlen(msg))] = '\0';
		dir_set_away(&r->m->dir, r->slot, msg);
		rpl(r, RPL_NOWAWAY, ":You have been marked as being away");
	} else {
		dir_set_away(&r->m->dir, r->slot, NULL);
		rpl(r, RPL_UNAWAY, ":You are no longer marked as being away");
	}
	ack_init(&ab, id, REQ_AWAY, true);
	reply_ack(r, &ab);
}

static void
req_ison(struct reply *r, uint32_t id, const char **a, int n)
{
	struct dir *d = &r->m->dir;
	char list[450];
	size_t len = 0;
	struct ackbuf ab;

	for (int i = 0; i < n; i++) {
		int slot = dir_nick_find(d, a[i]);
		if (slot < 0 || d->users[slot].state != DIR_REGISTERED)
			continue;
		len += snprintf(list + len, sizeof list - len, "%s%s", len ? " " : "",
		    d->users[slot].nick);
		if (len >= sizeof list)
			len = sizeof list - 1;
	}
	list[len] = '\0';
	rpl(r, RPL_ISON, ":%s", list);
	ack_init(&ab, id, REQ_ISON, true);
	reply_ack(r, &ab);
}

static void
req_userhost(struct reply *r, uint32_t id, const char **a, int n)
{
	struct dir *d = &r->m->dir;
	char list[450];
	size_t len = 0;
	struct ackbuf ab;

	for (int i = 0; i < n && i < 5; i++) {
		int slot = dir_nick_find(d, a[i]);
		if (slot < 0 || d->users[slot].state != DIR_REGISTERED)
			continue;
		const struct dir_user *u = &d->users[slot];
		len += snprintf(list + len, sizeof list - len, "%s%s=%c%s@%s",
		    len ? " " : "", u->nick, u->away ? '-' : '+', u->user, u->host);
		if (len >= sizeof list)
			len = sizeof list - 1;
	}
	list[len] = '\0';
	rpl(r, RPL_USERHOST, ":%s", list);
	ack_init(&ab, id, REQ_USERHOST, true);
	reply_ack(r, &ab);
}

static void
req_cannotsend(struct reply *r, uint32_t id, const char **a, int n)
{
	struct ackbuf ab;

	if (n != 1)
		return;
	if (dir_chan_find(&r->m->dir, a[0]) != NULL)
		rpl(r, ERR_CANNOTSENDTOCHAN, "%s :Cannot send to channel", a[0]);
	else
		rpl(r, ERR_NOSUCHCHANNEL, "%s :No such channel", a[0]);
	ack_init(&ab, id, REQ_CANNOTSEND, false);
	reply_ack(r, &ab);
}

int
master_req_handle(struct master *m, uint32_t slot, const char *msg, size_t len)
{
	const struct ipc_req *req = (const void *)msg;
	const char *a[REQ_MAXARGS];
	struct dir_user *u = &m->dir.users[slot];
	struct reply r;
	struct ackbuf ab;
	int n;

	if (len < sizeof *req)
		return -EBADMSG;
	n = ipc_strings(msg, len, sizeof *req, a, REQ_MAXARGS);
	if (n < 0 || n != req->nargs || req->cmd == 0 || req->cmd >= REQ_MAX)
		return -EBADMSG;
	/* only registration is allowed before registration */
	if (u->state != DIR_REGISTERED && req->cmd != REQ_REGISTER &&
	    req->cmd != REQ_NICK && req->cmd != REQ_QUIT)
		return u->state == DIR_QUITTING ? 0 : -EBADMSG;
	if (req->cmd == REQ_REGISTER && u->state != DIR_CONNECTED)
		return -EBADMSG;
	reply_init(&r, m, slot);
	switch (req->cmd) {
	case REQ_REGISTER:	req_register(&r, req->id, a, n); break;
	case REQ_NICK:		req_nick(&r, req->id, a, n); break;
	case REQ_JOIN:		req_join(&r, req->id, a, n); break;
	case REQ_PART:		req_part(&r, req->id, a, n); break;
	case REQ_PART_ALL:	req_part_all(&r, req->id); break;
	case REQ_QUIT:
		master_req_quit(m, slot, n > 0 ? a[0] : "Client Quit");
		buf_free(&r.out);
		return 0;
	case REQ_TOPIC:		req_topic(&r, req->id, a, n); break;
	case REQ_NAMES:		req_names(&r, req->id, a, n); break;
	case REQ_WHO:		req_who(&r, req->id, a, n); break;
	case REQ_WHOIS:		req_whois(&r, req->id, a, n); break;
	case REQ_LIST:		req_list(&r, req->id, a, n); break;
	case REQ_LUSERS:
		rpl_lusers(&r);
		ack_init(&ab, req->id, REQ_LUSERS, true);
		reply_ack(&r, &ab);
		break;
	case REQ_AWAY:		req_away(&r, req->id, a, n); break;
	case REQ_ISON:		req_ison(&r, req->id, a, n); break;
	case REQ_USERHOST:	req_userhost(&r, req->id, a, n); break;
	case REQ_MOTD:
		rpl_motd(&r);
		ack_init(&ab, req->id, REQ_MOTD, true);
		reply_ack(&r, &ab);
		break;
	case REQ_CANNOTSEND:	req_cannotsend(&r, req->id, a, n); break;
	}
	/* a handler that rejected its arguments sent no ack: the worker is broken */
	if (!r.acked) {
		buf_free(&r.out);
		return -EBADMSG;
	}
	return 0;
}
