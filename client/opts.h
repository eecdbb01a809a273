/*
 * opts: the client's settings. Built-in defaults, then the config file
 * ($XDG_CONFIG_HOME/shmchat/shmchat.conf, libconfig syntax, keys named
 * like the long options), then the command line, which wins.
 */
#ifndef SHMCHAT_OPTS_H
#define SHMCHAT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tls.h"

#define OPTS_DEFAULT_HOST	"localhost"
#define OPTS_DEFAULT_PORT	"6667"
#define OPTS_DEFAULT_TLS_PORT	"6697"	/* IANA's ircs-u, RFC 7194 */
#define OPTS_DEFAULT_TIMEOUT	30	/* seconds */
#define OPTS_MAX_CHANNELS	64
#define OPTS_DEFAULT_HISTORY	20	/* lines of history on join, at a terminal */
#define OPTS_MAX_HISTORY	1000

enum opts_mode {
	OPTS_AUTO,		/* interactive on a terminal, else script */
	OPTS_INTERACTIVE,
	OPTS_SCRIPT,
	OPTS_LISTEN,
};

/* what the command line set (so the file does not override it) */
enum {
	OPTS_SET_SERVER = 1 << 0,
	OPTS_SET_NICK = 1 << 1,
	OPTS_SET_USER = 1 << 2,
	OPTS_SET_REALNAME = 1 << 3,
	OPTS_SET_CHANNEL = 1 << 4,
	OPTS_SET_PASSWORD = 1 << 5,
	OPTS_SET_TARGET = 1 << 6,
	OPTS_SET_COLOR = 1 << 7,
	OPTS_SET_TIMEOUT = 1 << 8,
	OPTS_SET_TLS = 1 << 9,
	OPTS_SET_TLS_VERIFY = 1 << 10,	/* any of the three below: the file's are ignored */
	OPTS_SET_HISTORY = 1 << 11,
};

struct opts {
	char *host, *port;
	char *nick, *user, *realname, *password;
	char *channels[OPTS_MAX_CHANNELS];
	size_t nchannels;
	char *target;		/* --to: where script mode sends */
	char *config;		/* --config FILE */
	enum opts_mode mode;
	bool json;
	bool no_color;
	bool notice;		/* script mode sends NOTICE, not PRIVMSG */
	bool verbose;		/* the IRC traffic on stderr */
	int timeout;		/* seconds to wait for the server */
	int history;		/* lines of chat history to show on join (0 none),
				 * -1: not set (OPTS_DEFAULT_HISTORY interactive, else 0) */
	/* TLS; each --tls-* option implies --tls */
	bool tls;
	bool tls_no_verify;	/* --tls-no-verify */
	bool tls_pin;		/* --tls-fingerprint: tls_fp holds it */
	unsigned char tls_fp[TLS_FP_LEN];
	char *tls_ca;		/* --tls-ca FILE, or NULL: the system's CA store */
	unsigned set;		/* OPTS_SET_* */
};

enum opts_result {
	OPTS_OK = 0,
	OPTS_HELP = 1,		/* --help: print usage, exit 0 */
	OPTS_VERSION = 2,	/* --version */
	OPTS_ERR_USAGE = -1,	/* bad command line: message in err */
	OPTS_ERR_CONFIG = -2,	/* bad config file: "FILE:LINE: problem" */
	OPTS_ERR_NOMEM = -3,
};

void opts_init(struct opts *o);
void opts_free(struct opts *o);
/* parse argv (getopt_long; resets getopt's state first) */
int opts_parse(struct opts *o, int argc, char **argv, char *err, size_t cap);
/*
 * Read the config file: o->config when set (it must exist), else the XDG
 * one if there is one. Only settings the command line did not set are
 * taken.
 */
int opts_load_config(struct opts *o, char *err, size_t cap);
/* the XDG path into out; -1 when neither XDG_CONFIG_HOME nor HOME is set */
int opts_xdg_path(char *out, size_t cap);
/*
 * fill what is still unset: host, port (6697 with TLS, else 6667), nick
 * (login name), user, realname
 */
int opts_finish(struct opts *o, char *err, size_t cap);
/* "host", "host:port", "[v6]:port" or a bare IPv6 address */
int opts_parse_server(const char *s, char **host, char **port);
/* a login name made into a valid nick (at most 9 bytes) or user name */
void opts_sanitize_nick(char *out, size_t cap, const char *name);
void opts_usage(FILE *f);

#endif
