/*
 * config: owns struct conf - the built-in defaults, loading and validating
 * shmchatd.conf (flat libconfig settings named like the struct fields), the
 * MOTD file, and the "what changed" summary logged on reload.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "addr.h"
/* quoted: found next to this file, i.e. server/conf.h, not autoconf's */
#include "conf.h"
#include "errbuf.h"
#include "forkserver.h"
#include "irc.h"
#include "log.h"

#define CONFIG_FILE_MAX	(1024 * 1024)	/* a config file is never this big */
#define MOTD_FILE_MAX	(64 * 1024)

/* ---------------------------------------------------------------- defaults */

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	/* void API and a few dozen bytes at start-up: nothing sane to go on with */
	if (p == NULL)
		fatalx("config: out of memory");
	return p;
}

void
conf_init_defaults(struct conf *c)
{
	memset(c, 0, sizeof *c);
	c->server_name = xstrdup("shmchat.localhost");
	c->network = xstrdup("shmchat");
	c->description = xstrdup("shmchat IRC server");
	c->listen[0] = xstrdup("127.0.0.1:6667");
	c->listen[1] = xstrdup("[::1]:6667");
	c->nlisten = 2;
	c->password = NULL;
	c->motd = NULL;
	c->motd_file = NULL;
	c->motd_text = NULL;

	c->max_clients = 1024;
	c->max_channels_per_client = 20;
	c->nick_len = 30;
	c->channel_len = 50;
	c->topic_len = 390;
	c->away_len = 200;
	c->sendq = 1048576;

	c->registration_timeout = 30;
	c->ping_interval = 120;
	c->ping_timeout = 60;
	c->stall_timeout = 10;

	c->ring_size = 8388608;
	c->inbox_size = 4096;

	c->log_level = LOG_LEVEL_INFO;

	c->max_clients_per_ip = 100;
	c->flood_rate = 10;
	c->flood_burst = 30;
	c->flood_queue = 8192;
	c->limits_exempt[0] = xstrdup("127.0.0.1");
	c->limits_exempt[1] = xstrdup("::1");
	c->nlimits_exempt = 2;
	c->user = xstrdup("shmchat");
	c->group = xstrdup("shmchat");

	c->default_channel_modes = xstrdup("nt");
	c->max_list_entries = 100;

	c->admin_queue_key = 0x53434d51;	/* ADMINQ_DEFAULT_KEY */
	c->admin_group = xstrdup("shmchat");

	c->whowas_history = 500;
	c->min_spare_workers = 8;
	c->max_spare_workers = 64;
	c->history_lines = 1000;
	c->history_age = 604800;
	c->history_memory = 67108864;
	c->chathistory_max = 100;
	c->join_replay_lines = 0;

	c->tls_min_version = CONF_TLS_1_2;
	c->tls_sts_duration = 2592000;	/* 30 days */
	c->cluster_key_prefix = strdup("shmchat:");
	c->cluster_dead_after = 5;
	c->cluster_max_remote_clients = 65536;
	c->cluster_log_max = 100000;
}

void
conf_free(struct conf *c)
{
	free(c->server_name);
	free(c->network);
	free(c->description);
	for (int i = 0; i < c->nlisten && i < CONFIG_MAX_LISTEN; i++)
		free(c->listen[i]);
	for (int i = 0; i < c->nlisten_tls && i < CONFIG_MAX_LISTEN; i++)
		free(c->listen_tls[i]);
	free(c->tls_certificate);
	free(c->tls_key);
	free(c->tls_ciphers);
	free(c->cluster_redis);
	free(c->cluster_node_name);
	free(c->cluster_user);
	free(c->cluster_password);
	free(c->cluster_key_prefix);
	free(c->password);
	free(c->motd);
	free(c->motd_file);
	free(c->motd_text);
	free(c->admin_group);
	free(c->admin_location);
	free(c->admin_description);
	free(c->admin_email);
	for (int i = 0; i < c->nlimits_exempt && i < CONFIG_MAX_LISTEN; i++)
		free(c->limits_exempt[i]);
	free(c->user);
	free(c->group);
	for (int i = 0; i < c->nopers; i++) {
		free(c->opers[i].name);
		free(c->opers[i].password);
		for (int k = 0; k < c->opers[i].nhosts; k++)
			free(c->opers[i].hosts[k]);
	}
	free(c->opers);
	free(c->default_channel_modes);
	/* zeroed, so a second free or a following init is harmless */
	memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------- errors */

/* "FILE:LINE: msg" for a setting; @include'd settings carry their own file */
static int SHMCHAT_PRINTF(5, 6)
setting_err(char *err, size_t errlen, const char *path,
    const config_setting_t *s, const char *fmt, ...)
{
	const char *file = config_setting_source_file(s);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errbuf_set(err, errlen, "%s:%u: %s", file != NULL ? file : path,
	    config_setting_source_line(s), msg);
	return -1;
}

/* ---------------------------------------------------------------- files */

/*
 * Whole file into a NUL-terminated malloc'd buffer. Returns 0 or -errno
 * (-EFBIG above limit). Directories are refused here because libconfig's
 * scanner exit()s on a read error.
 */
static int
read_file(const char *path, size_t limit, char **out, size_t *outlen)
{
	struct stat st;
	size_t len = 0, cap = 4096;
	char *buf = NULL, *p;
	int fd, rc = 0;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	for (;;) {
		if (len + 1 >= cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			p = realloc(buf, cap);
			if (p == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = p;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > limit) {
			rc = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/*
 * libconfig 1.5 stores an integer literal without an L suffix in an int and
 * silently wraps it ("4294971392" reads as 4096). Re-read the literal from
 * the source line and report whether it really is the value we were given.
 * Unlocatable literals (odd layouts, @include'd files) are assumed fine.
 */
static bool
int_literal_matches(const char *text, unsigned line, const char *name,
    long long v)
{
	const char *p = text, *end;
	size_t nlen = strlen(name);
	bool found = false;

	for (unsigned l = 1; l < line && p != NULL; l++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		return true;
	end = strchr(p, '\n');
	if (end == NULL)
		end = p + strlen(p);
	for (const char *q = p; q + nlen <= end; q++) {
		const char *r = q + nlen;
		int base = 10;
		long long lit;
		char *e;

		if (strncmp(q, name, nlen) != 0 ||
		    (q > p && (q[-1] == '_' || q[-1] == '-' || q[-1] == '*' ||
		    (q[-1] >= 'a' && q[-1] <= 'z') || (q[-1] >= 'A' && q[-1] <= 'Z') ||
		    (q[-1] >= '0' && q[-1] <= '9'))))
			continue;
		while (r < end && (*r == ' ' || *r == '\t'))
			r++;
		if (r >= end || (*r != '=' && *r != ':'))
			continue;
		r++;
		while (r < end && (*r == ' ' || *r == '\t'))
			r++;
		/* libconfig reads 010 as ten, so only 0x switches base */
		const char *d = r + (*r == '-' || *r == '+');
		if (d[0] == '0' && (d[1] == 'x' || d[1] == 'X'))
			base = 16;
		errno = 0;
		lit = strtoll(r, &e, base);
		if (e == r)
			continue;
		if (errno != ERANGE && lit == v)
			return true;
		found = true;	/* maybe inside a string or comment: keep looking */
	}
	return !found;
}

/* ---------------------------------------------------------------- settings */

static const char *
check_hostname(const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n > 63 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
		return "must be 1 to 63 letters, digits, '-' or '.'";
	return NULL;
}

static bool
has_space_or_ctl(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return true;
	return false;
}

static const char *
check_network(const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n > 32 || has_space_or_ctl(v))
		return "must be 1 to 32 characters without spaces";
	return NULL;
}

static const char *
check_description(const char *v)
{
	size_t n = strlen(v);

	/* goes into numeric replies: one line, leave room for the rest */
	if (n < 1 || n > 200 || strpbrk(v, "\r\n") != NULL)
		return "must be 1 to 200 characters on one line";
	return NULL;
}

static const char *
check_password(const char *v)
{
	/* "" means no password; spaces would need a client-side ':' */
	if (strlen(v) > 128 || has_space_or_ctl(v))
		return "must be at most 128 characters without spaces";
	return NULL;
}

/* a user or group name: what useradd accepts, roughly */
static const char *
check_account(const char *v)
{
	size_t n = strlen(v);

	if (n < 1 || n > 32 || has_space_or_ctl(v) || strchr(v, ':') != NULL)
		return "must be a user or group name (1 to 32 characters)";
	return NULL;
}

/* the parameterless channel modes a new channel starts with */
static const char *
check_chanmodes(const char *v)
{
	const char *p = v + (v[0] == '+');

	if (strlen(p) > 6 || strspn(p, "imnpst") != strlen(p))
		return "must be channel modes among i, m, n, p, s and t (e.g. \"nt\")";
	return NULL;
}

enum opt_kind { OPT_STR, OPT_INT, OPT_LONG, OPT_LISTEN, OPT_LOGLEVEL, OPT_ADDRS, OPT_BOOL };

#define OPT_EMPTY_UNSET	0x1	/* string "" means NULL (feature off) */
#define OPT_POW2	0x2	/* integer must be a power of two */

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;
	long long min, max;
	unsigned flags;
	const char *(*check)(const char *);
};

#define F(field)	offsetof(struct conf, field)
static const struct opt opts[] = {
	{ "server_name", OPT_STR, F(server_name), 0, 0, 0, check_hostname },
	{ "network", OPT_STR, F(network), 0, 0, 0, check_network },
	{ "description", OPT_STR, F(description), 0, 0, 0, check_description },
	{ "listen", OPT_LISTEN, F(listen), 0, 0, 0, NULL },
	{ "listen_tls", OPT_LISTEN, F(listen_tls), 0, 0, 0, NULL },
	{ "password", OPT_STR, F(password), 0, 0, OPT_EMPTY_UNSET, check_password },
	{ "motd", OPT_STR, F(motd), 0, 0, OPT_EMPTY_UNSET, NULL },
	{ "motd_file", OPT_STR, F(motd_file), 0, 0, OPT_EMPTY_UNSET, NULL },
	{ "max_clients", OPT_INT, F(max_clients), 1, 1000000, 0, NULL },
	{ "max_channels_per_client", OPT_INT, F(max_channels_per_client), 1, 10000, 0, NULL },
	{ "nick_len", OPT_INT, F(nick_len), 9, 64, 0, NULL },
	{ "channel_len", OPT_INT, F(channel_len), 2, 200, 0, NULL },
	/* a topic or away text must still fit a 512-byte line with its prefix */
	{ "topic_len", OPT_INT, F(topic_len), 1, 400, 0, NULL },
	{ "away_len", OPT_INT, F(away_len), 1, 400, 0, NULL },
	{ "sendq", OPT_LONG, F(sendq), 4096, 1073741824, 0, NULL },
	{ "registration_timeout", OPT_INT, F(registration_timeout), 1, 3600, 0, NULL },
	{ "ping_interval", OPT_INT, F(ping_interval), 1, 86400, 0, NULL },
	{ "ping_timeout", OPT_INT, F(ping_timeout), 1, 86400, 0, NULL },
	{ "stall_timeout", OPT_INT, F(stall_timeout), 1, 3600, 0, NULL },
	{ "ring_size", OPT_LONG, F(ring_size), 65536, 1073741824, 0, NULL },
	{ "inbox_size", OPT_INT, F(inbox_size), 64, 1048576, OPT_POW2, NULL },
	{ "log_level", OPT_LOGLEVEL, F(log_level), 0, 0, 0, NULL },
	{ "max_clients_per_ip", OPT_INT, F(max_clients_per_ip), 0, 1000000, 0, NULL },
	{ "flood_rate", OPT_INT, F(flood_rate), 0, 100000, 0, NULL },
	{ "flood_burst", OPT_INT, F(flood_burst), 1, 100000, 0, NULL },
	{ "flood_queue", OPT_INT, F(flood_queue), 512, 16777216, 0, NULL },
	{ "limits_exempt", OPT_ADDRS, F(limits_exempt), 0, 0, 0, NULL },
	{ "default_channel_modes", OPT_STR, F(default_channel_modes), 0, 0, 0, check_chanmodes },
	{ "max_list_entries", OPT_INT, F(max_list_entries), 1, 10000, 0, NULL },
	{ "user", OPT_STR, F(user), 0, 0, 0, check_account },
	{ "group", OPT_STR, F(group), 0, 0, 0, check_account },
	{ "whowas_history", OPT_INT, F(whowas_history), 0, 100000, 0, NULL },
	{ "min_spare_workers", OPT_INT, F(min_spare_workers), 0, FORKSERVER_POOL_MAX, 0, NULL },
	{ "max_spare_workers", OPT_INT, F(max_spare_workers), 0, FORKSERVER_POOL_MAX, 0, NULL },
	{ "history_lines", OPT_INT, F(history_lines), 0, 1000000, 0, NULL },
	{ "history_age", OPT_INT, F(history_age), 0, 315360000, 0, NULL },
	{ "history_memory", OPT_LONG, F(history_memory), 65536, 17179869184L, 0, NULL },
	{ "chathistory_max", OPT_INT, F(chathistory_max), 1, 10000, 0, NULL },
	{ "join_replay_lines", OPT_INT, F(join_replay_lines), 0, 1000, 0, NULL },
	{ "oper_override", OPT_BOOL, F(oper_override), 0, 0, 0, NULL },
};
#undef F

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "err", LOG_LEVEL_ERR },
	{ "warning", LOG_LEVEL_WARNING },
	{ "notice", LOG_LEVEL_NOTICE },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
};

struct load_ctx {
	const char *path;
	bool admin_only;	/* conf_load_admin(): nothing but the admin group */
	const char *text;	/* file contents, for int_literal_matches() */
	char *err;
	size_t errlen;
	const config_setting_t *motd_file_at;	/* for motd_file errors */
	const config_setting_t *tls_at, *listen_tls_at;	/* for check_tls() */
};

static int
set_listen(struct conf *n, struct load_ctx *lc, const config_setting_t *s)
{
	/* listen and listen_tls: the same form, each into its own list */
	bool tls = strcmp(config_setting_name(s), "listen_tls") == 0;
	char **list = tls ? n->listen_tls : n->listen;
	int *nlist = tls ? &n->nlisten_tls : &n->nlisten;
	const char *what = tls ? "listen_tls" : "listen";
	struct sockaddr_storage ss[CONFIG_MAX_LISTEN];
	socklen_t sslen[CONFIG_MAX_LISTEN];
	bool single = config_setting_type(s) == CONFIG_TYPE_STRING;
	int count;

	/* a lone string is accepted as a one-entry list */
	if (single)
		count = 1;
	else if (config_setting_is_array(s) || config_setting_is_list(s))
		count = config_setting_length(s);
	else
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "%s must be an array of strings", what);
	if (count < 1 || count > CONFIG_MAX_LISTEN)
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "%s must have 1 to %d entries", what, CONFIG_MAX_LISTEN);

	for (int i = 0; i < *nlist; i++) {
		free(list[i]);
		list[i] = NULL;
	}
	*nlist = 0;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = single ? s :
		    config_setting_get_elem(s, (unsigned)i);
		const char *v;

		if (e == NULL || config_setting_type(e) != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path,
			    e != NULL ? e : s, "%s entries must be strings", what);
		v = config_setting_get_string(e);
		if (addr_parse(v, &ss[i], &sslen[i]) < 0)
			return setting_err(lc->err, lc->errlen, lc->path, e,
			    "%s entry '%s' is not HOST:PORT, [IPV6]:PORT, "
			    "*:PORT or PORT with a numeric address", what, v);
		/* the second bind would fail anyway; say why at load time */
		for (int j = 0; j < i; j++)
			if (sslen[j] == sslen[i] &&
			    memcmp(&ss[j], &ss[i], sslen[i]) == 0)
				return setting_err(lc->err, lc->errlen, lc->path,
				    e, "%s entry '%s' is listed twice", what, v);
		list[i] = strdup(v);
		if (list[i] == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, e,
			    "out of memory");
		*nlist = i + 1;
	}
	return 0;
}

/* limits_exempt: numeric IPv4/IPv6 addresses, kept in canonical form */
static int
set_addrs(struct conf *n, struct load_ctx *lc, const config_setting_t *s)
{
	int count;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		count = 1;
	else if (config_setting_is_array(s) || config_setting_is_list(s))
		count = config_setting_length(s);
	else
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "limits_exempt must be an array of addresses");
	if (count > CONFIG_MAX_LISTEN)
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "limits_exempt must have at most %d entries", CONFIG_MAX_LISTEN);
	for (int i = 0; i < n->nlimits_exempt; i++) {
		free(n->limits_exempt[i]);
		n->limits_exempt[i] = NULL;
	}
	n->nlimits_exempt = 0;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_type(s) == CONFIG_TYPE_STRING ? s :
		    config_setting_get_elem(s, (unsigned)i);
		unsigned char bin[sizeof(struct in6_addr)];
		char canon[INET6_ADDRSTRLEN];
		const char *v;
		int af;

		if (e == NULL || config_setting_type(e) != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path,
			    e != NULL ? e : s, "limits_exempt entries must be strings");
		v = config_setting_get_string(e);
		af = strchr(v, ':') != NULL ? AF_INET6 : AF_INET;
		if (inet_pton(af, v, bin) != 1 || inet_ntop(af, bin, canon, sizeof canon) == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, e,
			    "limits_exempt entry '%s' is not a numeric IPv4 or IPv6 address", v);
		if ((n->limits_exempt[i] = strdup(canon)) == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, e, "out of memory");
		n->nlimits_exempt = i + 1;
	}
	return 0;
}

static int
set_one(struct conf *n, struct load_ctx *lc, const struct opt *o,
    const config_setting_t *s)
{
	char *field = (char *)n + o->off;
	int type = config_setting_type(s);

	switch (o->kind) {
	case OPT_STR: {
		const char *v, *why;
		char **dst = (char **)(void *)field;

		if (type != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "%s must be a string", o->name);
		v = config_setting_get_string(s);
		if (o->check != NULL && (why = o->check(v)) != NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "%s %s", o->name, why);
		free(*dst);
		*dst = NULL;
		if (*v == '\0' && (o->flags & OPT_EMPTY_UNSET))
			return 0;
		if ((*dst = strdup(v)) == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "out of memory");
		return 0;
	}
	case OPT_INT:
	case OPT_LONG: {
		long long v;

		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "%s must be an integer", o->name);
		v = config_setting_get_int64(s);
		if (type == CONFIG_TYPE_INT && config_setting_source_file(s) == NULL &&
		    !int_literal_matches(lc->text, config_setting_source_line(s),
		    o->name, v))
			v = o->max + 1;	/* wrapped: out of range whatever it shows */
		if (v < o->min || v > o->max ||
		    ((o->flags & OPT_POW2) && (v & (v - 1)) != 0))
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "%s must be %sbetween %lld and %lld", o->name,
			    (o->flags & OPT_POW2) ? "a power of two " : "",
			    o->min, o->max);
		if (o->kind == OPT_INT)
			*(int *)(void *)field = (int)v;
		else
			*(long *)(void *)field = (long)v;
		return 0;
	}
	case OPT_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "%s must be true or false", o->name);
		*(bool *)(void *)field = config_setting_get_bool(s);
		return 0;
	case OPT_LISTEN:
		return set_listen(n, lc, s);
	case OPT_ADDRS:
		return set_addrs(n, lc, s);
	case OPT_LOGLEVEL:
		if (type == CONFIG_TYPE_STRING) {
			const char *v = config_setting_get_string(s);

			for (size_t i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++)
				if (strcmp(v, log_levels[i].name) == 0) {
					*(int *)(void *)field = log_levels[i].level;
					return 0;
				}
		}
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "log_level must be one of \"err\", \"warning\", \"notice\", "
		    "\"info\", \"debug\"");
	}
	return setting_err(lc->err, lc->errlen, lc->path, s, "internal error");
}

/* admin = { queue_key = 0x...; group = "shmchat"; } */
static int
apply_admin(struct conf *n, struct load_ctx *lc, const config_setting_t *grp)
{
	int count = config_setting_length(grp);

	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s);
		int type = config_setting_type(s);

		if (strcmp(name, "queue_key") == 0) {
			long long v;
			if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "admin.queue_key must be an integer");
			v = config_setting_get_int64(s);
			/* 0 is IPC_PRIVATE: a queue nobody else could find */
			if (v < 1 || v > 0x7fffffff)
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "admin.queue_key must be between 1 and 0x7fffffff");
			n->admin_queue_key = (long)v;
		} else if (strcmp(name, "group") == 0) {
			const char *v;
			if (type != CONFIG_TYPE_STRING)
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "admin.group must be a string");
			v = config_setting_get_string(s);
			if (v[0] == '\0' || strlen(v) > 32 || has_space_or_ctl(v))
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "admin.group must be a group name (1 to 32 characters)");
			free(n->admin_group);
			n->admin_group = xstrdup(v);
		} else
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "unknown setting 'admin.%s'", name);
	}
	return 0;
}

/*
 * What crypt(3) makes with a method worth using: yescrypt, gost-yescrypt,
 * scrypt, bcrypt, sha512-crypt, sha256-crypt. A plain-text password is
 * refused here rather than never matching at OPER time.
 */
static const char *
check_oper_hash(const char *v)
{
	static const char *const prefixes[] = { "$y$", "$gy$", "$7$", "$2b$", "$6$", "$5$" };
	size_t n = strlen(v);
	bool known = false;

	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
		known |= strncmp(v, prefixes[i], strlen(prefixes[i])) == 0;
	if (!known || n < 20 || n > 512 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./$=,") != n)
		return "must be a crypt(3) hash starting with $y$, $gy$, $7$, $2b$, $6$ or $5$ "
		    "(make one with shmchatd --hash-password)";
	return NULL;
}

/* hosts = [ "user@host", ... ]: masks kept in their full form, *!user@host */
static int
apply_oper_hosts(struct conf_oper *op, struct load_ctx *lc, const config_setting_t *s)
{
	bool single = config_setting_type(s) == CONFIG_TYPE_STRING;
	int count = single ? 1 : config_setting_length(s);

	if (!single && !config_setting_is_array(s) && !config_setting_is_list(s))
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "oper hosts must be an array of user@host masks");
	if (count > CONFIG_MAX_OPER_HOSTS)
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "oper hosts must have at most %d entries", CONFIG_MAX_OPER_HOSTS);
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = single ? s : config_setting_get_elem(s, (unsigned)i);
		char mask[IRC_MASK_MAX + 1];
		const char *v;

		if (e == NULL || config_setting_type(e) != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path, e != NULL ? e : s,
			    "oper hosts entries must be strings");
		v = config_setting_get_string(e);
		if (v[0] == '\0' || !irc_mask_normalize(v, mask, sizeof mask))
			return setting_err(lc->err, lc->errlen, lc->path, e,
			    "oper hosts entry '%s' is not a user@host mask", v);
		if ((op->hosts[op->nhosts] = strdup(mask)) == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, e, "out of memory");
		op->nhosts++;
	}
	return 0;
}

/* one { name = ...; password = ...; hosts = [...]; } of opers */
static int
apply_oper(struct conf *n, struct load_ctx *lc, const config_setting_t *grp)
{
	struct conf_oper *op = &n->opers[n->nopers];
	int count = config_setting_length(grp);

	if (!config_setting_is_group(grp))
		return setting_err(lc->err, lc->errlen, lc->path, grp,
		    "opers entries must be groups: { name = ...; password = ...; hosts = [...]; }");
	n->nopers++;	/* owned from here on: conf_free() frees what is set */
	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s), *v, *why;
		char **dst;

		if (strcmp(name, "hosts") == 0) {
			if (apply_oper_hosts(op, lc, s) < 0)
				return -1;
			continue;
		}
		if (strcmp(name, "name") == 0)
			dst = &op->name;
		else if (strcmp(name, "password") == 0)
			dst = &op->password;
		else
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "unknown setting '%s' in an oper block", name);
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "oper %s must be a string", name);
		v = config_setting_get_string(s);
		why = dst == &op->password ? check_oper_hash(v) :
		    v[0] == '\0' || strlen(v) > 32 || has_space_or_ctl(v) ?
		    "must be 1 to 32 characters without spaces" : NULL;
		if (why != NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s, "oper %s %s", name, why);
		free(*dst);
		if ((*dst = strdup(v)) == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s, "out of memory");
	}
	if (op->name == NULL)
		return setting_err(lc->err, lc->errlen, lc->path, grp,
		    "oper block without a name");
	if (op->password == NULL)
		return setting_err(lc->err, lc->errlen, lc->path, grp,
		    "oper block '%s' without a password", op->name);
	for (int i = 0; i < n->nopers - 1; i++)
		if (irc_casecmp(n->opers[i].name, op->name) == 0)
			return setting_err(lc->err, lc->errlen, lc->path, grp,
			    "oper '%s' is defined twice", op->name);
	return 0;
}

/* opers = ( { ... }, { ... } ) */
static int
apply_opers(struct conf *n, struct load_ctx *lc, const config_setting_t *s)
{
	int count = config_setting_length(s);

	if (!config_setting_is_list(s) && !config_setting_is_group(s))
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "opers must be a list of oper blocks: opers = ( { name = ...; ... } );");
	/* a lone block is taken as a list of one */
	if (config_setting_is_group(s))
		count = 1;
	if (count > CONFIG_MAX_OPERS)
		return setting_err(lc->err, lc->errlen, lc->path, s,
		    "opers must have at most %d blocks", CONFIG_MAX_OPERS);
	if (count == 0)
		return 0;
	if ((n->opers = calloc((size_t)count, sizeof *n->opers)) == NULL)
		return setting_err(lc->err, lc->errlen, lc->path, s, "out of memory");
	for (int i = 0; i < count; i++)
		if (apply_oper(n, lc, config_setting_is_group(s) ? s :
		    config_setting_get_elem(s, (unsigned)i)) < 0)
			return -1;
	return 0;
}

/* admin_info = { location = "..."; description = "..."; email = "..."; } */
static int
apply_admin_info(struct conf *n, struct load_ctx *lc, const config_setting_t *grp)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{ "location", offsetof(struct conf, admin_location) },
		{ "description", offsetof(struct conf, admin_description) },
		{ "email", offsetof(struct conf, admin_email) },
	};
	int count = config_setting_length(grp);

	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		char **dst = NULL;

		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			if (strcmp(name, keys[k].name) == 0)
				dst = (char **)(void *)((char *)n + keys[k].off);
		if (dst == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "unknown setting 'admin_info.%s'", name);
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "admin_info.%s must be a string", name);
		v = config_setting_get_string(s);
		/* the text of one numeric reply: one line, room for the rest */
		if (strlen(v) > 200 || strpbrk(v, "\r\n") != NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "admin_info.%s must be at most 200 characters on one line", name);
		free(*dst);
		*dst = v[0] != '\0' ? xstrdup(v) : NULL;
	}
	return 0;
}

/* a path relative to the configuration file's directory, as motd_file */
static char *
conf_path_near(const char *conf_path, const char *v)
{
	const char *slash = strrchr(conf_path, '/');
	char *abs;

	if (v[0] == '/' || slash == NULL)
		return strdup(v);
	if (asprintf(&abs, "%.*s/%s", (int)(slash - conf_path), conf_path, v) < 0)
		return NULL;
	return abs;
}

/* a TLS 1.2 cipher list: OpenSSL's syntax, checked by the fork server */
static bool
tls_ciphers_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= 1000 && strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:+!@=.") == n;
}

/* tls = { certificate; key; ciphers; min_version; sts_port; sts_duration; } */
static int
apply_tls(struct conf *n, struct load_ctx *lc, const config_setting_t *grp)
{
	int count = config_setting_length(grp);

	lc->tls_at = grp;
	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		int type = config_setting_type(s);

		if (strcmp(name, "sts_port") == 0 || strcmp(name, "sts_duration") == 0) {
			bool port = name[4] == 'p';
			long long max = port ? 65535 : 31536000 * 10LL, x;

			if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "tls.%s must be an integer", name);
			x = config_setting_get_int64(s);
			if (x < 0 || x > max)
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "tls.%s must be between 0 and %lld", name, max);
			*(port ? &n->tls_sts_port : &n->tls_sts_duration) = (int)x;
			continue;
		}
		if (type != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "tls.%s must be a string", name);
		v = config_setting_get_string(s);
		if (strcmp(name, "min_version") == 0) {
			if (strcmp(v, "TLSv1.2") == 0)
				n->tls_min_version = CONF_TLS_1_2;
			else if (strcmp(v, "TLSv1.3") == 0)
				n->tls_min_version = CONF_TLS_1_3;
			else
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "tls.min_version must be \"TLSv1.2\" or \"TLSv1.3\"");
			continue;
		}
		char **dst = strcmp(name, "certificate") == 0 ? &n->tls_certificate :
		    strcmp(name, "key") == 0 ? &n->tls_key :
		    strcmp(name, "ciphers") == 0 ? &n->tls_ciphers : NULL;
		if (dst == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "unknown setting 'tls.%s'", name);
		if (dst == &n->tls_ciphers && !tls_ciphers_ok(v))
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "tls.ciphers must be an OpenSSL cipher list (e.g. "
			    "\"ECDHE+AESGCM:ECDHE+CHACHA20\")");
		if (dst != &n->tls_ciphers && (v[0] == '\0' || strlen(v) > 1000))
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "tls.%s must be a file name", name);
		free(*dst);
		*dst = dst == &n->tls_ciphers ? strdup(v) : conf_path_near(lc->path, v);
		if (*dst == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s, "out of memory");
	}
	return 0;
}

/* what the TLS settings need of each other, once the whole file is read */
static int
check_tls(struct conf *n, struct load_ctx *lc)
{
	if ((n->tls_certificate == NULL) != (n->tls_key == NULL))
		return setting_err(lc->err, lc->errlen, lc->path, lc->tls_at,
		    "tls needs both a certificate and a key");
	if (n->nlisten_tls > 0 && !conf_tls_enabled(n))
		return setting_err(lc->err, lc->errlen, lc->path, lc->listen_tls_at,
		    "listen_tls needs tls = { certificate = \"...\"; key = \"...\"; }");
	return 0;
}

/*
 * The pool's bounds, once both are read: "max_spare_workers = 0" alone
 * turns the pool off (the default minimum follows it down); both given
 * and crossed is an error.
 */
static int
check_spares(struct conf *n, const struct load_ctx *lc, const config_t *cf)
{
	const config_setting_t *min = config_lookup(cf, "min_spare_workers");

	if (n->min_spare_workers <= n->max_spare_workers)
		return 0;
	if (min == NULL) {
		n->min_spare_workers = n->max_spare_workers;
		return 0;
	}
	return setting_err(lc->err, lc->errlen, lc->path, min,
	    "min_spare_workers (%d) exceeds max_spare_workers (%d)",
	    n->min_spare_workers, n->max_spare_workers);
}

/* a node name: what other nodes and WHOIS 312 call this server */
static bool
cluster_name_ok(const char *v)
{
	size_t n = strlen(v);

	return n >= 1 && n <= 32 && strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* cluster = { redis; node_name; user; password; key_prefix; dead_after;
 * max_remote_clients; log_max; } */
static int
apply_cluster(struct conf *n, struct load_ctx *lc, const config_setting_t *grp)
{
	static const struct { const char *name; long long min, max; size_t off; } ints[] = {
		{ "dead_after", 2, 3600, offsetof(struct conf, cluster_dead_after) },
		{ "max_remote_clients", 1, 1000000,
		  offsetof(struct conf, cluster_max_remote_clients) },
		{ "log_max", 1000, 100000000, offsetof(struct conf, cluster_log_max) },
	};
	int count = config_setting_length(grp);

	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(s), *v;
		int type = config_setting_type(s);
		char **dst;
		size_t k;

		for (k = 0; k < sizeof ints / sizeof *ints; k++)
			if (strcmp(name, ints[k].name) == 0)
				break;
		if (k < sizeof ints / sizeof *ints) {
			long long x;
			if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "cluster.%s must be an integer", name);
			x = config_setting_get_int64(s);
			if (x < ints[k].min || x > ints[k].max)
				return setting_err(lc->err, lc->errlen, lc->path, s,
				    "cluster.%s must be between %lld and %lld", name,
				    ints[k].min, ints[k].max);
			*(int *)((char *)n + ints[k].off) = (int)x;
			continue;
		}
		dst = strcmp(name, "redis") == 0 ? &n->cluster_redis :
		    strcmp(name, "node_name") == 0 ? &n->cluster_node_name :
		    strcmp(name, "user") == 0 ? &n->cluster_user :
		    strcmp(name, "password") == 0 ? &n->cluster_password :
		    strcmp(name, "key_prefix") == 0 ? &n->cluster_key_prefix : NULL;
		if (dst == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "unknown setting 'cluster.%s'", name);
		if (type != CONFIG_TYPE_STRING)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "cluster.%s must be a string", name);
		v = config_setting_get_string(s);
		if (dst == &n->cluster_node_name && !cluster_name_ok(v))
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "cluster.node_name must be 1 to 32 letters, digits, '-', '_' or '.'");
		if (strlen(v) > 1000 || (v[0] == '\0' && dst != &n->cluster_key_prefix) ||
		    strpbrk(v, "\r\n") != NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "cluster.%s: not a usable value", name);
		free(*dst);
		if ((*dst = strdup(v)) == NULL)
			return setting_err(lc->err, lc->errlen, lc->path, s, "out of memory");
	}
	if (n->cluster_redis != NULL && n->cluster_node_name == NULL)
		return setting_err(lc->err, lc->errlen, lc->path, grp,
		    "cluster needs node_name (unique in the network)");
	return 0;
}

static int
apply(struct conf *n, struct load_ctx *lc, const config_t *cf)
{
	const config_setting_t *root = config_root_setting(cf);
	int count = config_setting_length(root);

	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct opt *o = NULL;

		if (lc->admin_only && strcmp(name, "admin") != 0)
			continue;
		for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (strcmp(name, opts[k].name) == 0) {
				o = &opts[k];
				break;
			}
		if (o == NULL) {
			if (strcmp(name, "admin") == 0) {
				if (!config_setting_is_group(s))
					return setting_err(lc->err, lc->errlen,
					    lc->path, s, "admin must be a group");
				if (apply_admin(n, lc, s) < 0)
					return -1;
				continue;
			}
			if (strcmp(name, "opers") == 0) {
				if (apply_opers(n, lc, s) < 0)
					return -1;
				continue;
			}
			if (strcmp(name, "tls") == 0) {
				if (!config_setting_is_group(s))
					return setting_err(lc->err, lc->errlen,
					    lc->path, s, "tls must be a group");
				if (apply_tls(n, lc, s) < 0)
					return -1;
				continue;
			}
			if (strcmp(name, "cluster") == 0) {
				if (!config_setting_is_group(s))
					return setting_err(lc->err, lc->errlen,
					    lc->path, s, "cluster must be a group");
				if (apply_cluster(n, lc, s) < 0)
					return -1;
				continue;
			}
			if (strcmp(name, "admin_info") == 0) {
				if (!config_setting_is_group(s))
					return setting_err(lc->err, lc->errlen,
					    lc->path, s, "admin_info must be a group");
				if (apply_admin_info(n, lc, s) < 0)
					return -1;
				continue;
			}
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "unknown setting '%s'", name);
		}
		if (set_one(n, lc, o, s) < 0)
			return -1;
		if (strcmp(name, "motd_file") == 0)
			lc->motd_file_at = s;
		if (strcmp(name, "listen_tls") == 0)
			lc->listen_tls_at = s;
	}
	return 0;
}

/* MOTD text as sent: no CRs (a CRLF file works), one trailing newline off */
static char *
motd_normalize(char *t)
{
	char *w = t;
	size_t n;

	for (char *r = t; *r; r++)
		if (*r != '\r')
			*w++ = *r;
	*w = '\0';
	n = strlen(t);
	if (n > 0 && t[n - 1] == '\n')
		t[--n] = '\0';
	if (n == 0) {
		free(t);
		return NULL;	/* nothing to show: 422 like no MOTD */
	}
	return t;
}

static int
resolve_motd(struct conf *n, struct load_ctx *lc)
{
	if (n->motd_file != NULL) {
		const config_setting_t *s = lc->motd_file_at;
		const char *slash = strrchr(lc->path, '/');
		char *text;
		size_t len;
		int r;

		/* relative to the config file, not to wherever we were started */
		if (n->motd_file[0] != '/' && slash != NULL) {
			char *abs;

			if (asprintf(&abs, "%.*s/%s", (int)(slash - lc->path),
			    lc->path, n->motd_file) < 0)
				return setting_err(lc->err, lc->errlen, lc->path,
				    s, "out of memory");
			free(n->motd_file);
			n->motd_file = abs;
		}
		r = read_file(n->motd_file, MOTD_FILE_MAX, &text, &len);
		if (r == -EFBIG)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "motd_file %s is larger than %d KiB", n->motd_file,
			    MOTD_FILE_MAX / 1024);
		if (r < 0)
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "cannot read motd_file %s: %s", n->motd_file,
			    strerror(-r));
		if (memchr(text, '\0', len) != NULL) {
			free(text);
			return setting_err(lc->err, lc->errlen, lc->path, s,
			    "motd_file %s contains a NUL byte", n->motd_file);
		}
		n->motd_text = motd_normalize(text);
	} else if (n->motd != NULL) {
		char *t = strdup(n->motd);

		if (t == NULL) {
			errbuf_set(lc->err, lc->errlen, "%s: out of memory", lc->path);
			return -1;
		}
		n->motd_text = motd_normalize(t);
	}
	return 0;
}

static int
load(struct conf *c, const char *path, bool must_exist, bool admin_only,
    char *err, size_t errlen)
{
	struct load_ctx lc = {
		.path = path, .admin_only = admin_only, .err = err, .errlen = errlen,
	};
	struct conf n;
	config_t cf;
	char *text;
	size_t len;
	int r;

	errbuf_set(err, errlen, "%s", "");
	/* a reload starts from the defaults: a removed setting reverts */
	conf_init_defaults(&n);
	r = read_file(path, CONFIG_FILE_MAX, &text, &len);
	if (r == -ENOENT && !must_exist)
		goto ok;
	if (r < 0) {
		errbuf_set(err, errlen, "%s: %s", path,
		    r == -EFBIG ? "file too large" : strerror(-r));
		goto fail;
	}
	if (memchr(text, '\0', len) != NULL) {
		errbuf_set(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		goto fail;
	}

	config_init(&cf);
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		const char *file = config_error_file(&cf);

		errbuf_set(err, errlen, "%s:%d: %s", file != NULL ? file : path,
		    config_error_line(&cf), config_error_text(&cf));
		r = -1;
	} else {
		lc.text = text;
		r = apply(&n, &lc, &cf);
		if (r == 0 && !admin_only)
			r = resolve_motd(&n, &lc);
		if (r == 0 && !admin_only)
			r = check_tls(&n, &lc);
		if (r == 0 && !admin_only)
			r = check_spares(&n, &lc, &cf);
	}
	config_destroy(&cf);
	free(text);
	if (r < 0)
		goto fail;
ok:
	conf_free(c);
	*c = n;
	return 0;
fail:
	conf_free(&n);
	conf_free(c);
	conf_init_defaults(c);
	return -1;
}

int
conf_load(struct conf *c, const char *path, bool must_exist,
    char *err, size_t errlen)
{
	return load(c, path, must_exist, false, err, errlen);
}

int
conf_load_admin(struct conf *c, const char *path, char *err, size_t errlen)
{
	return load(c, path, true, true, err, errlen);
}

/* ---------------------------------------------------------------- diff */

struct out {
	char *p;
	size_t len, cap;
	bool any;
};

static void
out_name(struct out *o, const char *name)
{
	int r;

	if (o->cap == 0)
		return;
	r = snprintf(o->p + o->len, o->cap - o->len, "%s%s",
	    o->any ? ", " : "", name);
	o->any = true;
	if (r < 0 || (size_t)r >= o->cap - o->len)
		o->len = o->cap - 1;	/* truncated; keep it terminated */
	else
		o->len += (size_t)r;
}

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

void
conf_keep_cluster(struct conf *dst, struct conf *src)
{
	char **const d[] = { &dst->cluster_redis, &dst->cluster_node_name, &dst->cluster_user,
		&dst->cluster_password, &dst->cluster_key_prefix };
	char **const s[] = { &src->cluster_redis, &src->cluster_node_name, &src->cluster_user,
		&src->cluster_password, &src->cluster_key_prefix };

	for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
		free(*d[i]);
		*d[i] = *s[i];
		*s[i] = NULL;
	}
	dst->cluster_dead_after = src->cluster_dead_after;
	dst->cluster_max_remote_clients = src->cluster_max_remote_clients;
	dst->cluster_log_max = src->cluster_log_max;
}

void
conf_diff(const struct conf *old, const struct conf *new,
    char *out, size_t outlen)
{
	struct out o = { .p = out, .cap = outlen };
	bool listen_differs = old->nlisten != new->nlisten;

	if (outlen > 0)
		out[0] = '\0';
	for (int i = 0; !listen_differs && i < new->nlisten &&
	    i < CONFIG_MAX_LISTEN; i++)
		listen_differs = str_differs(old->listen[i], new->listen[i]);

#define DS(f)	do { if (str_differs(old->f, new->f)) out_name(&o, #f); } while (0)
#define DI(f)	do { if (old->f != new->f) out_name(&o, #f); } while (0)
	DS(server_name);
	DS(network);
	DS(description);
	if (listen_differs)
		out_name(&o, "listen");
	{
		bool differ = old->nlisten_tls != new->nlisten_tls;
		for (int i = 0; !differ && i < new->nlisten_tls; i++)
			differ = str_differs(old->listen_tls[i], new->listen_tls[i]);
		if (differ)
			out_name(&o, "listen_tls");
	}
	DS(tls_certificate);
	DS(tls_key);
	DS(tls_ciphers);
	DI(tls_min_version);
	DI(tls_sts_port);
	DI(tls_sts_duration);
	DS(password);
	DS(motd);
	DS(motd_file);
	DS(motd_text);
	DI(max_clients);
	DI(max_channels_per_client);
	DI(nick_len);
	DI(channel_len);
	DI(topic_len);
	DI(away_len);
	DI(sendq);
	DI(registration_timeout);
	DI(ping_interval);
	DI(ping_timeout);
	DI(stall_timeout);
	DI(ring_size);
	DI(inbox_size);
	DI(log_level);
	DI(admin_queue_key);
	DS(admin_group);
	DI(max_clients_per_ip);
	DI(flood_rate);
	DI(flood_burst);
	DI(flood_queue);
	DS(user);
	DS(group);
	DS(default_channel_modes);
	DI(max_list_entries);
	DS(admin_location);
	DS(admin_description);
	DS(admin_email);
	DI(whowas_history);
	DI(min_spare_workers);
	DI(max_spare_workers);
	DI(history_lines);
	DI(history_age);
	DI(history_memory);
	DI(chathistory_max);
	DI(join_replay_lines);
	DI(oper_override);
	DS(cluster_redis);
	DS(cluster_node_name);
	DS(cluster_user);
	DS(cluster_password);
	DS(cluster_key_prefix);
	DI(cluster_dead_after);
	DI(cluster_max_remote_clients);
	DI(cluster_log_max);
	{
		bool differ = old->nopers != new->nopers;
		for (int i = 0; !differ && i < old->nopers; i++) {
			const struct conf_oper *a = &old->opers[i], *b = &new->opers[i];
			differ = str_differs(a->name, b->name) ||
			    str_differs(a->password, b->password) || a->nhosts != b->nhosts;
			for (int k = 0; !differ && k < a->nhosts; k++)
				differ = str_differs(a->hosts[k], b->hosts[k]);
		}
		if (differ)
			out_name(&o, "opers");
	}
	{
		bool differ = old->nlimits_exempt != new->nlimits_exempt;
		for (int i = 0; !differ && i < old->nlimits_exempt; i++)
			differ = str_differs(old->limits_exempt[i], new->limits_exempt[i]);
		if (differ)
			out_name(&o, "limits_exempt");
	}
#undef DS
#undef DI
	if (!o.any && outlen > 0)
		snprintf(out, outlen, "nothing");
}
