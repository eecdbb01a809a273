/* cmd_user: user modes and server operators, both halves */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cap.h"
#include "clock.h"
#include "cmd_conn.h"
#include "cmd_user.h"
#include "conf.h"
#include "dirsvc.h"
#include "irc.h"
#include "log.h"
#include "modeflag.h"
#include "worker_io.h"

/*
 * A password check runs crypt(3) in the master, on purpose slow (yescrypt
 * at its default cost: ~70 ms of CPU, 16 MiB), and nothing else runs meanwhile.
 * So after a failed OPER a client waits OPER_RETRY_MS before its password
 * is checked again (464 without a check until then), and all checks
 * together take at most 1/OPER_CHECK_SHARE of the master's time: after a
 * check that took t, the next waits (OPER_CHECK_SHARE - 1) * t (263).
 */
#define OPER_RETRY_MS		3000
#define OPER_CHECK_SHARE	10
#define KILL_REASON_MAX		200	/* bytes; the QUIT line must still fit */

/* user mode letters and their bits, in the order 221 shows them */
static const struct modeflag user_modes[] = {
	{ 'i', DIR_UMODE_INVISIBLE },
	{ 'o', DIR_UMODE_OPER },
	{ 'w', DIR_UMODE_WALLOPS },
};

void
cmd_user_modestr(const struct dirsvc *ds, uint32_t slot, char *out, size_t cap)
{
	const struct dir_user *u = &ds->dir.users[slot];
	size_t n = 0;

	if (cap < 2)
		return;
	out[n++] = '+';
	modeflag_letters(user_modes, MODEFLAG_COUNT(user_modes), u->umodes, out, n, cap);
}

int
cmd_user_mode(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const char *target = q->args[0];
	struct dir_user *u = &ds->dir.users[q->slot];
	int slot = dir_nick_find(&ds->dir, target);
	char modes[16], echo[2 * MODEFLAG_COUNT(user_modes) + 4];
	uint32_t before = u->umodes;
	bool unknown = false, add = true;
	size_t n = 0;
	char sign = 0;

	if (slot < 0 || ds->dir.users[slot].state != DIR_REGISTERED) {
		RPL(r, ERR_NOSUCHNICK, target);
		return CMD_FAILED;
	}
	if ((uint32_t)slot != q->slot) {
		RPL(r, ERR_USERSDONTMATCH);
		return CMD_FAILED;
	}
	if (q->nargs == 1) {
		cmd_user_modestr(ds, q->slot, modes, sizeof modes);
		RPL(r, RPL_UMODEIS, modes);
		return CMD_OK;
	}
	uint32_t want = before;
	for (const char *p = q->args[1]; *p != '\0'; p++) {
		uint32_t bit;

		if (*p == '+' || *p == '-') {
			add = *p == '+';
			continue;
		}
		if ((bit = modeflag_bit(user_modes, MODEFLAG_COUNT(user_modes), *p)) == 0) {
			unknown = true;
			continue;
		}
		/* +o comes from OPER alone; -o drops it */
		if (bit == DIR_UMODE_OPER && add)
			continue;
		if (add)
			want |= bit;
		else
			want &= ~bit;
	}
	dir_set_umodes(&ds->dir, q->slot, want);
	if ((before & DIR_UMODE_OPER) && !(want & DIR_UMODE_OPER))
		log_notice("%s!%s@%s is no longer an operator (MODE -o)", u->nick, u->user,
		    u->host);
	/* echo what changed, once per letter, as "+iw-o" */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < MODEFLAG_COUNT(user_modes); i++) {
			uint32_t bit = user_modes[i].bit;
			bool now = u->umodes & bit, was = before & bit;
			if (now == was || now != (pass == 0))
				continue;
			if (sign != (pass == 0 ? '+' : '-'))
				echo[n++] = sign = pass == 0 ? '+' : '-';
			echo[n++] = user_modes[i].letter;
		}
	echo[n] = '\0';
	if (n > 0)
		reply_line(r, ":%s MODE %s :%s", u->nick, u->nick, echo);
	if (unknown) {
		RPL(r, ERR_UMODEUNKNOWNFLAG);
		return CMD_FAILED;
	}
	return CMD_OK;
}

bool
cmd_user_is_oper(const struct dirsvc *ds, uint32_t slot)
{
	const struct dir_user *u = &ds->dir.users[slot];

	return u->state == DIR_REGISTERED && (u->umodes & DIR_UMODE_OPER) != 0;
}

bool
cmd_user_oper_override(const struct dirsvc *ds, uint32_t slot)
{
	return ds->cfg->oper_override && cmd_user_is_oper(ds, slot);
}

/* ----------------------------------------------------------- operators */

/* the commands only operators may use answer 481 to everyone else */
static bool
user_need_oper(struct dirsvc *ds, struct reply *r, uint32_t slot)
{
	if (cmd_user_is_oper(ds, slot))
		return true;
	RPL(r, ERR_NOPRIVILEGES);
	return false;
}

/* the oper block called name (compared like nicks), or NULL */
static const struct conf_oper *
user_oper_find(const struct conf *cfg, const char *name)
{
	for (int i = 0; i < cfg->nopers; i++)
		if (irc_casecmp(cfg->opers[i].name, name) == 0)
			return &cfg->opers[i];
	return NULL;
}

/* does nick!user@host match one of the block's host masks? */
static bool
user_oper_host_ok(const struct conf_oper *op, const char *who)
{
	for (int i = 0; i < op->nhosts; i++)
		if (irc_mask_match(op->hosts[i], who))
			return true;
	return false;
}

/* OPER name password (the password is never logged nor echoed) */
static int
m_oper(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	const struct conf_oper *op = user_oper_find(ds->cfg, q->args[0]);
	char who[256];
	uint64_t start = clock_ms(), took;
	bool ok;

	dirsvc_prefix(u, who, sizeof who);
	if (u->umodes & DIR_UMODE_OPER) {
		RPL(r, RPL_YOUREOPER);
		return CMD_OK;
	}
	/* an unknown name and a host not allowed look alike to the client */
	if (op == NULL || !user_oper_host_ok(op, who)) {
		RPL(r, ERR_NOOPERHOST);
		log_notice("OPER %.32s from %s refused: %s", q->args[0], who,
		    op == NULL ? "no such oper block" : "host not allowed");
		return CMD_FAILED;
	}
	if (start < u->oper_retry_ms) {
		RPL(r, ERR_PASSWDMISMATCH);
		log_notice("OPER %s from %s refused unchecked: a failed attempt less than "
		    "%d s ago", op->name, who, OPER_RETRY_MS / 1000);
		return CMD_FAILED;
	}
	if (start < ds->oper_check_next_ms || ds->ops == NULL ||
	    ds->ops->passwd_check == NULL) {
		RPL(r, RPL_TRYAGAIN, "OPER");
		log_notice("OPER %s from %s refused unchecked: password checks are "
		    "rate-limited, try again", op->name, who);
		return CMD_FAILED;
	}
	ok = ds->ops->passwd_check(q->args[1], op->password);
	took = clock_ms() - start;
	ds->oper_check_next_ms = start + took * OPER_CHECK_SHARE;
	log_debug("OPER password check took %llu ms", (unsigned long long)took);
	if (!ok) {
		u->oper_retry_ms = start + took + OPER_RETRY_MS;
		RPL(r, ERR_PASSWDMISMATCH);
		log_notice("OPER %s from %s failed: wrong password", op->name, who);
		return CMD_FAILED;
	}
	dir_set_umodes(&ds->dir, q->slot, u->umodes | DIR_UMODE_OPER);
	/* the password stays here; the network learns the +o */
	if (ds->ops != NULL && ds->ops->replicate != NULL)
		ds->ops->replicate(ds, q->slot, q->gen, "OPERED");
	/* like Solanum: the mode change, then the numeric */
	reply_line(r, ":%s MODE %s :+o", u->nick, u->nick);
	RPL(r, RPL_YOUREOPER);
	log_notice("%s is now an operator (oper block %s)", who, op->name);
	return CMD_OK;
}

/* OPERED (internal): another node's OPER succeeded; its +o, told to nobody */
static int
m_opered(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	(void)r;
	dir_set_umodes(&ds->dir, q->slot, ds->dir.users[q->slot].umodes | DIR_UMODE_OPER);
	return CMD_OK;
}

/* KILL nick [reason]: the victim's peers see its QUIT, its worker says
 * ERROR :Closing Link and exits, and the master frees its slot */
static int
m_kill(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	const char *target = q->args[0];
	char reason[KILL_REASON_MAX + 1], why[KILL_REASON_MAX + IRC_NICK_MAX + 32];
	char who[256], victim[256];
	int slot;

	if (!user_need_oper(ds, r, q->slot))
		return CMD_FAILED;
	if (irc_casecmp(target, ds->cfg->server_name) == 0) {
		RPL(r, ERR_CANTKILLSERVER);
		return CMD_FAILED;
	}
	slot = dir_nick_find(&ds->dir, target);
	if (slot < 0 || ds->dir.users[slot].state != DIR_REGISTERED) {
		RPL(r, ERR_NOSUCHNICK, target);
		return CMD_FAILED;
	}
	snprintf(reason, sizeof reason, "%s",
	    q->nargs > 1 && q->args[1][0] != '\0' ? q->args[1] : "<No reason given>");
	reason[irc_utf8_cut(reason, strlen(reason))] = '\0';
	snprintf(why, sizeof why, "Killed (%s (%s))", u->nick, reason);
	dirsvc_prefix(u, who, sizeof who);
	dirsvc_prefix(&ds->dir.users[slot], victim, sizeof victim);
	log_notice("KILL %s by %s: %s", victim, who, reason);
	/* the QUIT now, at the KILL's place in the ring's order; then the worker */
	cmd_conn_quit(ds, (uint32_t)slot, why);
	if (ds->ops != NULL && ds->ops->close_client != NULL)
		ds->ops->close_client(ds, (uint32_t)slot, why);
	return CMD_OK;
}

/* WALLOPS text: to every user with +w, and to the sender */
static int
m_wallops(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	struct ring_target t = { .kind = RING_TO_ALL, .id = DIR_UMODE_WALLOPS };
	char pfx[256], line[IRC_MAXLINE + 1];
	size_t len;

	if (!user_need_oper(ds, r, q->slot))
		return CMD_FAILED;
	if (q->args[0][0] == '\0') {
		RPL(r, ERR_NEEDMOREPARAMS, "WALLOPS");
		return CMD_FAILED;
	}
	dirsvc_prefix(u, pfx, sizeof pfx);
	len = irc_fmt(line, sizeof line, ":%s WALLOPS :%s", pfx, q->args[0]);
	if (dirsvc_emit(ds, &t, line, len) < 0)
		log_warnx("WALLOPS from %s could not be queued", pfx);
	if (!(u->umodes & DIR_UMODE_WALLOPS))
		reply_line(r, ":%s WALLOPS :%s", pfx, q->args[0]);
	log_info("WALLOPS from %s: %s", pfx, q->args[0]);
	return CMD_OK;
}

/* REHASH: the master reloads once this request is answered */
static int
m_rehash(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	char who[256];

	if (!user_need_oper(ds, r, q->slot))
		return CMD_FAILED;
	dirsvc_prefix(&ds->dir.users[q->slot], who, sizeof who);
	RPL(r, RPL_REHASHING, ds->config_path != NULL ? ds->config_path : "shmchatd.conf");
	log_notice("REHASH by %s", who);
	if (ds->ops != NULL && ds->ops->rehash != NULL)
		ds->ops->rehash(ds, q->slot, q->gen);
	return CMD_OK;
}

/*
 * SETNAME :realname (IRCv3 setname): the real name changes; those who
 * share a channel and asked for setname see it, and so does the client
 * itself if it did.
 */
static int
m_setname(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	struct dir_user *u = &ds->dir.users[q->slot];
	char pfx[IRC_MASK_MAX + 1], line[IRC_MAXLINE + 1];
	const char *name = q->args[0];
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof u->realname || !irc_utf8_valid(name, n)) {
		reply_standard(r, "FAIL", "SETNAME", "INVALID_REALNAME", NULL,
		    "Real name is empty, too long or not UTF-8");
		return CMD_FAILED;
	}
	snprintf(u->realname, sizeof u->realname, "%s", name);
	dirsvc_prefix(u, pfx, sizeof pfx);
	n = irc_fmt(line, sizeof line, ":%s SETNAME :%s", pfx, u->realname);
	dirsvc_emit_peers(ds, q->slot, true, CAP_SETNAME, NULL, line, n);
	return CMD_OK;
}

/*
 * CHGHOST nick host (operators; IRCv3 chghost): a client's host name
 * changes (a cloak, a vanity host). Those who share a channel with it and
 * asked for chghost see CHGHOST; its worker learns the host for the
 * prefix of what it publishes, and the client hears of it in a NOTICE.
 */
static int
m_chghost(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const char *host = q->args[1];
	char pfx[IRC_MASK_MAX + 1], line[IRC_MAXLINE + 1];
	int slot;
	size_t n = strlen(host);

	if (!user_need_oper(ds, r, q->slot))
		return CMD_FAILED;
	if ((slot = dir_nick_find(&ds->dir, q->args[0])) < 0 ||
	    ds->dir.users[slot].state != DIR_REGISTERED) {
		RPL(r, ERR_NOSUCHNICK, q->args[0]);
		return CMD_FAILED;
	}
	struct dir_user *u = &ds->dir.users[slot];
	bool ok = n > 0 && n <= IRC_HOST_MAX && host[0] != '-';
	for (size_t i = 0; ok && i < n; i++)
		ok = (host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') || strchr("-./:", host[i]) != NULL;
	if (!ok) {
		reply_standard(r, "FAIL", "CHGHOST", "INVALID_HOST", host, "Invalid host name");
		return CMD_FAILED;
	}
	dirsvc_prefix(u, pfx, sizeof pfx);
	snprintf(u->host, sizeof u->host, "%s", host);
	n = irc_fmt(line, sizeof line, ":%s CHGHOST %s %s", pfx, u->user, u->host);
	dirsvc_emit_peers(ds, (uint32_t)slot, true, CAP_CHGHOST, NULL, line, n);
	struct {
		struct ring_event ev;
		char host[IRC_HOST_MAX];
	} e = { .ev = { .type = RING_EV_HOST, .slot = (uint32_t)slot, .gen = u->gen,
	    .len = strlen(u->host) } };
	memcpy(e.host, u->host, e.ev.len);
	struct ring_target t = { .kind = RING_TO_SLOT, .id = (uint32_t)slot, .gen = u->gen,
	    .event = &e.ev, .event_len = sizeof e.ev + e.ev.len };
	n = irc_fmt(line, sizeof line, ":%s NOTICE %s :*** Your host is now %s",
	    ds->cfg->server_name, u->nick, u->host);
	dirsvc_emit(ds, &t, line, n);
	log_notice("%s changed the host of %s to %s", ds->dir.users[q->slot].nick, u->nick,
	    u->host);
	return CMD_OK;
}

static const struct cmd_row user_rows[] = {
	{ .name = "SETNAME", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 1,
	  .max_params = 1, .worker = worker_forward, .master = m_setname, .min_args = 1,
	  .max_args = 1 },
	{ .name = "CHGHOST", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 2,
	  .max_params = 2, .worker = worker_forward, .master = m_chghost, .min_args = 2,
	  .max_args = 2 },
	{ .name = "OPER", .flags = CMD_REGISTERED, .min_params = 2, .max_params = 2,
	  .worker = worker_forward, .master = m_oper, .min_args = 2, .max_args = 2 },
	{ .name = "KILL", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 1, .max_params = 2,
	  .worker = worker_forward, .master = m_kill, .min_args = 1, .max_args = 2 },
	{ .name = "WALLOPS", .flags = CMD_REGISTERED | CMD_REPLICATE, .min_params = 1, .max_params = 1,
	  .worker = worker_forward, .master = m_wallops, .min_args = 1, .max_args = 1 },
	{ .name = "OPERED", .flags = CMD_INTERNAL | CMD_REGISTERED | CMD_REPLICATE |
	  CMD_NO_ANSWER | CMD_FROM_LOG, .master = m_opered },
	/* REHASH [what]: the whole file, whatever is asked for */
	{ .name = "REHASH", .flags = CMD_REGISTERED, .max_params = 1,
	  .worker = worker_forward, .master = m_rehash, .max_args = 1 },
};

CMD_FAMILY(cmd_user, "user", user_rows);
