/* opts: command line, config file (libconfig) and defaults */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "irc.h"
#include "opts.h"

/* RFC 1459's NICKLEN: the default nick must fit every server */
#define NICK_DEFAULT_MAX	9

void
opts_init(struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->timeout = OPTS_DEFAULT_TIMEOUT;
	o->history = -1;
}

void
opts_free(struct opts *o)
{
	free(o->host);
	free(o->port);
	free(o->nick);
	free(o->user);
	free(o->realname);
	free(o->password);
	for (size_t i = 0; i < o->nchannels; i++)
		free(o->channels[i]);
	free(o->target);
	free(o->config);
	free(o->tls_ca);
	opts_init(o);
}

static int
fail(char *err, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return rc;
}

/* replace *dst with a copy of s */
static int
set_str(char **dst, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		return -1;
	free(*dst);
	*dst = p;
	return 0;
}

/* dflt NULL: *port becomes NULL when s has none (opts_finish picks it) */
static int
parse_server(const char *s, char **host, char **port, const char *dflt)
{
	const char *colon, *hs = s;
	size_t hl;
	char *h, *p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close == s + 1)
			return -1;
		hs = s + 1;
		hl = (size_t)(close - hs);
		if (close[1] == '\0')
			colon = NULL;
		else if (close[1] == ':')
			colon = close + 1;
		else
			return -1;
	} else {
		colon = strchr(s, ':');
		/* two colons and no brackets: a bare IPv6 address */
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;
		hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0)
		return -1;
	if (colon != NULL) {
		char *end;
		long v;

		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || errno || v < 1 || v > 65535)
			return -1;
	}
	h = strndup(hs, hl);
	p = colon != NULL ? strdup(colon + 1) : dflt != NULL ? strdup(dflt) : NULL;
	if (h == NULL || (p == NULL && (colon != NULL || dflt != NULL))) {
		free(h);
		free(p);
		return -1;
	}
	free(*host);
	free(*port);
	*host = h;
	*port = p;
	return 0;
}

int
opts_parse_server(const char *s, char **host, char **port)
{
	return parse_server(s, host, port, OPTS_DEFAULT_PORT);
}

/* add channels from "#a,#b" */
static int
add_channels(struct opts *o, const char *list, char *err, size_t cap)
{
	char *copy = strdup(list), *save = NULL, *t;
	int rc = OPTS_OK;

	if (copy == NULL)
		return fail(err, cap, OPTS_ERR_NOMEM, "out of memory");
	for (t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		char name[256];

		/* "ops" means #ops: a shell would eat an unquoted # */
		snprintf(name, sizeof name, "%s%s", strchr("#&+!", t[0]) ? "" : "#", t);
		if (!irc_chan_valid(name, 200) && !strchr("&+!", name[0])) {
			rc = fail(err, cap, OPTS_ERR_USAGE, "invalid channel name '%s'", t);
			break;
		}
		if (o->nchannels == OPTS_MAX_CHANNELS) {
			rc = fail(err, cap, OPTS_ERR_USAGE, "too many channels (at most %d)",
			    OPTS_MAX_CHANNELS);
			break;
		}
		if ((o->channels[o->nchannels] = strdup(name)) == NULL) {
			rc = fail(err, cap, OPTS_ERR_NOMEM, "out of memory");
			break;
		}
		o->nchannels++;
	}
	free(copy);
	return rc;
}

static int
parse_history(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno || v < 0 || v > OPTS_MAX_HISTORY)
		return -1;
	*out = (int)v;
	return 0;
}

static int
parse_timeout(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno || v < 1 || v > 86400)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * The three ways to check the server's certificate exclude each other.
 * path: the config file they came from, or NULL (the command line).
 */
static int
tls_verify_check(const struct opts *o, char *err, size_t cap, const char *path)
{
	const char *a = NULL, *b = NULL;

	if (o->tls_no_verify && o->tls_pin)
		a = "tls-no-verify", b = "tls-fingerprint";
	else if (o->tls_no_verify && o->tls_ca != NULL)
		a = "tls-no-verify", b = "tls-ca";
	else if (o->tls_pin && o->tls_ca != NULL)
		a = "tls-fingerprint", b = "tls-ca";
	if (a == NULL)
		return 0;
	if (path != NULL)
		return fail(err, cap, OPTS_ERR_CONFIG, "%s: %s and %s exclude each other", path,
		    a, b);
	return fail(err, cap, OPTS_ERR_USAGE, "--%s and --%s exclude each other", a, b);
}

enum {
	OPT_PASSWORD = 256,
	OPT_NO_COLOR,
	OPT_NOTICE,
	OPT_TLS,
	OPT_TLS_NO_VERIFY,
	OPT_TLS_FINGERPRINT,
	OPT_TLS_CA,
	OPT_HISTORY,
};

static const struct option long_opts[] = {
	{ "server", required_argument, NULL, 's' },
	{ "nick", required_argument, NULL, 'n' },
	{ "user", required_argument, NULL, 'u' },
	{ "realname", required_argument, NULL, 'r' },
	{ "channel", required_argument, NULL, 'c' },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "to", required_argument, NULL, 't' },
	{ "listen", no_argument, NULL, 'l' },
	{ "json", no_argument, NULL, 'j' },
	{ "script", no_argument, NULL, 'S' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "no-colour", no_argument, NULL, OPT_NO_COLOR },
	{ "notice", no_argument, NULL, OPT_NOTICE },
	{ "timeout", required_argument, NULL, 'T' },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "config", required_argument, NULL, 'C' },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "tls-no-verify", no_argument, NULL, OPT_TLS_NO_VERIFY },
	{ "tls-fingerprint", required_argument, NULL, OPT_TLS_FINGERPRINT },
	{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

int
opts_parse(struct opts *o, int argc, char **argv, char *err, size_t cap)
{
	int c, rc;

	optind = 0;	/* glibc: a full reset, so tests can parse many times */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:n:u:r:c:t:ljSiT:C:vhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_server(optarg, &o->host, &o->port, NULL) < 0)
				return fail(err, cap, OPTS_ERR_USAGE,
				    "invalid --server '%s' (want HOST[:PORT])", optarg);
			o->set |= OPTS_SET_SERVER;
			break;
		case 'n':
			if (!irc_nick_valid(optarg, 64))
				return fail(err, cap, OPTS_ERR_USAGE, "invalid nick '%s'", optarg);
			if (set_str(&o->nick, optarg) < 0)
				goto nomem;
			o->set |= OPTS_SET_NICK;
			break;
		case 'u':
			if (optarg[0] == '\0' || strpbrk(optarg, " @\r\n") != NULL)
				return fail(err, cap, OPTS_ERR_USAGE, "invalid user name '%s'", optarg);
			if (set_str(&o->user, optarg) < 0)
				goto nomem;
			o->set |= OPTS_SET_USER;
			break;
		case 'r':
			if (set_str(&o->realname, optarg) < 0)
				goto nomem;
			o->set |= OPTS_SET_REALNAME;
			break;
		case 'c':
			if ((rc = add_channels(o, optarg, err, cap)) < 0)
				return rc;
			o->set |= OPTS_SET_CHANNEL;
			break;
		case OPT_PASSWORD:
			if (set_str(&o->password, optarg) < 0)
				goto nomem;
			o->set |= OPTS_SET_PASSWORD;
			break;
		case 't':
			if (optarg[0] == '\0' || strpbrk(optarg, " ,\r\n") != NULL)
				return fail(err, cap, OPTS_ERR_USAGE, "invalid --to '%s'", optarg);
			if (set_str(&o->target, optarg) < 0)
				goto nomem;
			o->set |= OPTS_SET_TARGET;
			break;
		case 'l':
			o->mode = OPTS_LISTEN;
			break;
		case 'j':
			o->json = true;
			break;
		case 'S':
			o->mode = OPTS_SCRIPT;
			break;
		case 'i':
			o->mode = OPTS_INTERACTIVE;
			break;
		case OPT_NO_COLOR:
			o->no_color = true;
			o->set |= OPTS_SET_COLOR;
			break;
		case OPT_NOTICE:
			o->notice = true;
			break;
		case 'T':
			if (parse_timeout(optarg, &o->timeout) < 0)
				return fail(err, cap, OPTS_ERR_USAGE,
				    "invalid --timeout '%s' (seconds, 1..86400)", optarg);
			o->set |= OPTS_SET_TIMEOUT;
			break;
		case OPT_HISTORY:
			if (parse_history(optarg, &o->history) < 0)
				return fail(err, cap, OPTS_ERR_USAGE,
				    "invalid --history '%s' (lines, 0..%d)", optarg, OPTS_MAX_HISTORY);
			o->set |= OPTS_SET_HISTORY;
			break;
		case 'C':
			if (set_str(&o->config, optarg) < 0)
				goto nomem;
			break;
		case OPT_TLS:
			o->tls = true;
			o->set |= OPTS_SET_TLS;
			break;
		case OPT_TLS_NO_VERIFY:
			o->tls = o->tls_no_verify = true;
			o->set |= OPTS_SET_TLS | OPTS_SET_TLS_VERIFY;
			break;
		case OPT_TLS_FINGERPRINT:
			if (tls_fp_parse(optarg, o->tls_fp) < 0)
				return fail(err, cap, OPTS_ERR_USAGE, "invalid --tls-fingerprint '%s' "
				    "(want the SHA-256 in hex: 64 digits, colons optional)", optarg);
			o->tls = o->tls_pin = true;
			o->set |= OPTS_SET_TLS | OPTS_SET_TLS_VERIFY;
			break;
		case OPT_TLS_CA:
			if (optarg[0] == '\0')
				return fail(err, cap, OPTS_ERR_USAGE, "empty --tls-ca");
			if (set_str(&o->tls_ca, optarg) < 0)
				goto nomem;
			o->tls = true;
			o->set |= OPTS_SET_TLS | OPTS_SET_TLS_VERIFY;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			return OPTS_HELP;
		case 'V':
			return OPTS_VERSION;
		case ':':
			return fail(err, cap, OPTS_ERR_USAGE, "option %s needs an argument",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				return fail(err, cap, OPTS_ERR_USAGE, "unknown option -%c", optopt);
			return fail(err, cap, OPTS_ERR_USAGE, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, cap, OPTS_ERR_USAGE, "unexpected argument '%s'", argv[optind]);
	if (o->json && o->mode != OPTS_LISTEN)
		return fail(err, cap, OPTS_ERR_USAGE, "--json goes with --listen");
	return tls_verify_check(o, err, cap, NULL);
nomem:
	return fail(err, cap, OPTS_ERR_NOMEM, "out of memory");
}

int
opts_xdg_path(char *out, size_t cap)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	/* the spec says a relative XDG_CONFIG_HOME is to be ignored */
	if (x != NULL && x[0] == '/')
		n = snprintf(out, cap, "%s/shmchat/shmchat.conf", x);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(out, cap, "%s/.config/shmchat/shmchat.conf", home);
	else
		return -1;
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* one string setting, unless the command line set it */
static int
conf_str(config_t *cf, const char *path, const char *name, char **dst, unsigned flag,
    struct opts *o, char *err, size_t cap)
{
	config_setting_t *s = config_lookup(cf, name);

	if (s == NULL || (o->set & flag))
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: %s must be a string", path,
		    config_setting_source_line(s), name);
	if (set_str(dst, config_setting_get_string(s)) < 0)
		return fail(err, cap, OPTS_ERR_NOMEM, "out of memory");
	return 0;
}

static int
conf_check_keys(config_t *cf, const char *path, char *err, size_t cap)
{
	static const char *const known[] = {
		"server", "nick", "user", "realname", "channel", "password", "to",
		"color", "timeout", "tls", "tls-no-verify", "tls-fingerprint", "tls-ca",
		"history",
	};
	config_setting_t *root = config_root_setting(cf);

	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		bool ok = false;

		for (size_t k = 0; k < sizeof known / sizeof known[0] && !ok; k++)
			ok = name != NULL && !strcmp(name, known[k]);
		if (!ok)
			return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: unknown setting '%s'",
			    path, config_setting_source_line(s), name ? name : "?");
	}
	return 0;
}

/* a boolean setting: -1 absent, 0/1, or OPTS_ERR_CONFIG */
static int
conf_bool(config_t *cf, const char *path, const char *name, char *err, size_t cap)
{
	config_setting_t *s = config_lookup(cf, name);

	if (s == NULL)
		return -1;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: %s must be true or false", path,
		    config_setting_source_line(s), name);
	return config_setting_get_bool(s) ? 1 : 0;
}

/*
 * tls, and how to verify: the command line's choice of verification
 * replaces the file's whole (tls-ca in the file and --tls-no-verify given
 * is no conflict). Any tls-* setting implies tls.
 */
static int
conf_tls(config_t *cf, const char *path, struct opts *o, char *err, size_t cap)
{
	config_setting_t *s;
	char *fp = NULL;
	int b, rc;

	if ((b = conf_bool(cf, path, "tls", err, cap)) == OPTS_ERR_CONFIG)
		return b;
	if (b >= 0 && !(o->set & OPTS_SET_TLS))
		o->tls = b == 1;
	if (o->set & OPTS_SET_TLS_VERIFY)
		return 0;
	if ((b = conf_bool(cf, path, "tls-no-verify", err, cap)) == OPTS_ERR_CONFIG)
		return b;
	if (b == 1)
		o->tls = o->tls_no_verify = true;
	if ((rc = conf_str(cf, path, "tls-fingerprint", &fp, 0, o, err, cap)) < 0)
		return rc;
	if (fp != NULL) {
		s = config_lookup(cf, "tls-fingerprint");
		rc = tls_fp_parse(fp, o->tls_fp);
		free(fp);
		if (rc < 0)
			return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: invalid tls-fingerprint (want "
			    "the SHA-256 in hex: 64 digits, colons optional)", path,
			    config_setting_source_line(s));
		o->tls = o->tls_pin = true;
	}
	if ((rc = conf_str(cf, path, "tls-ca", &o->tls_ca, 0, o, err, cap)) < 0)
		return rc;
	if (o->tls_ca != NULL)
		o->tls = true;
	return tls_verify_check(o, err, cap, path);
}

static int
conf_apply(config_t *cf, const char *path, struct opts *o, char *err, size_t cap)
{
	config_setting_t *s;
	char *server = NULL;
	int rc;

	if ((rc = conf_check_keys(cf, path, err, cap)) < 0 ||
	    (rc = conf_str(cf, path, "server", &server, OPTS_SET_SERVER, o, err, cap)) < 0 ||
	    (rc = conf_str(cf, path, "nick", &o->nick, OPTS_SET_NICK, o, err, cap)) < 0 ||
	    (rc = conf_str(cf, path, "user", &o->user, OPTS_SET_USER, o, err, cap)) < 0 ||
	    (rc = conf_str(cf, path, "realname", &o->realname, OPTS_SET_REALNAME, o, err, cap)) < 0 ||
	    (rc = conf_str(cf, path, "password", &o->password, OPTS_SET_PASSWORD, o, err, cap)) < 0 ||
	    (rc = conf_str(cf, path, "to", &o->target, OPTS_SET_TARGET, o, err, cap)) < 0) {
		free(server);
		return rc;
	}
	if (server != NULL) {
		rc = parse_server(server, &o->host, &o->port, NULL);
		free(server);
		if (rc < 0)
			return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: invalid server (want HOST[:PORT])",
			    path, config_setting_source_line(config_lookup(cf, "server")));
	}
	if (o->nick != NULL && !(o->set & OPTS_SET_NICK) && !irc_nick_valid(o->nick, 64))
		return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: invalid nick '%s'", path,
		    config_setting_source_line(config_lookup(cf, "nick")), o->nick);

	s = config_lookup(cf, "channel");
	if (s != NULL && !(o->set & OPTS_SET_CHANNEL)) {
		int t = config_setting_type(s);

		if (t == CONFIG_TYPE_STRING)
			rc = add_channels(o, config_setting_get_string(s), err, cap);
		else if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
			for (int i = 0; i < config_setting_length(s) && rc == 0; i++) {
				const char *v = config_setting_get_string_elem(s, i);

				if (v == NULL)
					return fail(err, cap, OPTS_ERR_CONFIG,
					    "%s:%d: channel must be a string or a list of strings",
					    path, config_setting_source_line(s));
				rc = add_channels(o, v, err, cap);
			}
		} else
			return fail(err, cap, OPTS_ERR_CONFIG,
			    "%s:%d: channel must be a string or a list of strings", path,
			    config_setting_source_line(s));
		if (rc < 0) {
			/* add_channels wrote the problem; say where */
			char msg[256];

			snprintf(msg, sizeof msg, "%s", err);
			return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: %s", path,
			    config_setting_source_line(s), msg);
		}
	}
	s = config_lookup(cf, "color");
	if (s != NULL && !(o->set & OPTS_SET_COLOR)) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: color must be true or false",
			    path, config_setting_source_line(s));
		o->no_color = !config_setting_get_bool(s);
	}
	s = config_lookup(cf, "timeout");
	if (s != NULL && !(o->set & OPTS_SET_TIMEOUT)) {
		if (config_setting_type(s) != CONFIG_TYPE_INT ||
		    config_setting_get_int(s) < 1 || config_setting_get_int(s) > 86400)
			return fail(err, cap, OPTS_ERR_CONFIG,
			    "%s:%d: timeout must be a number of seconds (1..86400)", path,
			    config_setting_source_line(s));
		o->timeout = config_setting_get_int(s);
	}
	s = config_lookup(cf, "history");
	if (s != NULL && !(o->set & OPTS_SET_HISTORY)) {
		if (config_setting_type(s) != CONFIG_TYPE_INT ||
		    config_setting_get_int(s) < 0 || config_setting_get_int(s) > OPTS_MAX_HISTORY)
			return fail(err, cap, OPTS_ERR_CONFIG,
			    "%s:%d: history must be a number of lines (0..%d)", path,
			    config_setting_source_line(s), OPTS_MAX_HISTORY);
		o->history = config_setting_get_int(s);
	}
	return conf_tls(cf, path, o, err, cap);
}

int
opts_load_config(struct opts *o, char *err, size_t cap)
{
	char xdg[PATH_MAX];
	const char *path = o->config;
	config_t cf;
	int rc;

	if (path == NULL) {
		if (opts_xdg_path(xdg, sizeof xdg) < 0 || access(xdg, F_OK) < 0)
			return OPTS_OK;	/* no config file is fine */
		path = xdg;
	}
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			rc = fail(err, cap, OPTS_ERR_CONFIG, "%s: cannot read: %s", path,
			    strerror(errno ? errno : EIO));
		else
			rc = fail(err, cap, OPTS_ERR_CONFIG, "%s:%d: %s", path,
			    config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		return rc;
	}
	rc = conf_apply(&cf, path, o, err, cap);
	config_destroy(&cf);
	return rc;
}

void
opts_sanitize_nick(char *out, size_t cap, const char *name)
{
	size_t n = 0;

	if (cap == 0)
		return;
	for (; *name != '\0' && n + 1 < cap && n < NICK_DEFAULT_MAX; name++) {
		char c = *name;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (n > 0 && ((c >= '0' && c <= '9') || c == '-')) ||
		    strchr("[]\\`_^{|}", c) != NULL;

		if (ok && c != '\0')
			out[n++] = c;
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, cap, "shmchat");
}

int
opts_finish(struct opts *o, char *err, size_t cap)
{
	char nick[16];
	const char *login = getenv("USER");

	if (login == NULL || login[0] == '\0')
		login = getenv("LOGNAME");
	if (login == NULL || login[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());

		login = pw != NULL ? pw->pw_name : "shmchat";
	}
	opts_sanitize_nick(nick, sizeof nick, login);
	if ((o->host == NULL && set_str(&o->host, OPTS_DEFAULT_HOST) < 0) ||
	    (o->port == NULL &&
	    set_str(&o->port, o->tls ? OPTS_DEFAULT_TLS_PORT : OPTS_DEFAULT_PORT) < 0) ||
	    (o->nick == NULL && set_str(&o->nick, nick) < 0) ||
	    (o->user == NULL && set_str(&o->user, nick) < 0) ||
	    (o->realname == NULL && set_str(&o->realname, "shmchat user") < 0))
		return fail(err, cap, OPTS_ERR_NOMEM, "out of memory");
	return OPTS_OK;
}

void
opts_usage(FILE *f)
{
	fputs("Usage: shmchat [OPTION]...\n"
	    "Chat on IRC: interactively on a terminal; from a script, each line of\n"
	    "standard input is sent as a message; with --listen, incoming messages\n"
	    "are printed one per line.\n"
	    "\n"
	    "  -s, --server HOST[:PORT]  server to connect to (default localhost:6667,\n"
	    "                            port 6697 with --tls)\n"
	    "  -n, --nick NICK           nick (default: your login name)\n"
	    "  -u, --user USER           user name (default: the nick)\n"
	    "  -r, --realname TEXT       real name\n"
	    "  -c, --channel CHANNEL     join CHANNEL (repeatable, or #a,#b)\n"
	    "      --password PASS       server password (PASS)\n"
	    "  -t, --to TARGET           where script mode sends (default: first channel)\n"
	    "  -l, --listen              print incoming messages until interrupted\n"
	    "  -j, --json                with --listen: one JSON object per event\n"
	    "  -S, --script              script mode even on a terminal\n"
	    "  -i, --interactive         interactive mode (needs a terminal)\n"
	    "      --notice              script mode sends NOTICEs instead of messages\n"
	    "  -T, --timeout SECONDS     how long to wait for the server (default 30)\n"
	    "      --history N           show the last N lines of a channel on joining,\n"
	    "                            if the server keeps history (default 20 at a\n"
	    "                            terminal, 0 with --listen; 0: none)\n"
	    "      --no-color            no colours (also: NO_COLOR set)\n"
	    "      --tls                 connect with TLS; the certificate must chain to\n"
	    "                            the system's CA store and name the server\n"
	    "      --tls-ca FILE         trust the CA certificates in FILE instead\n"
	    "      --tls-fingerprint SHA256  accept only the certificate with this\n"
	    "                            SHA-256 fingerprint (a self-signed server)\n"
	    "      --tls-no-verify       do not check the certificate at all (unsafe)\n"
	    "  -C, --config FILE         read FILE instead of\n"
	    "                            $XDG_CONFIG_HOME/shmchat/shmchat.conf\n"
	    "  -v, --verbose             show the IRC traffic on standard error\n"
	    "  -h, --help                this help\n"
	    "  -V, --version             version\n"
	    "\n"
	    "Exit status: 0 done, 64 usage, 69 cannot connect, 75 connection lost or\n"
	    "timed out, 76 refused by the server, 77 bad password, 78 config file,\n"
	    "79 TLS certificate refused, 66 unreadable --tls-ca file, 71 system error.\n"
	    "See shmchat(1).\n", f);
}
