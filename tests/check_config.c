/*
 * check_config: unit tests for server/conf.c (defaults, loading,
 * validation messages, diff) and server/listen.c (address parsing and
 * formatting, binding, socket activation).
 */
#include <config.h>

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "addr.h"
/* by path: a plain "config.h" here is autoconf's header (first -I.) */
#include "../server/conf.h"
#include "listen.h"
#include "log.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

struct tmpf {
	char path[64];
};

/* a mkstemp file holding text; removed by tmp_rm */
static void
tmp_write(struct tmpf *t, const char *text)
{
	size_t n = strlen(text);
	int fd;

	snprintf(t->path, sizeof t->path, "/tmp/check_config.XXXXXX");
	fd = mkstemp(t->path);
	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
}

static void
tmp_rm(struct tmpf *t)
{
	unlink(t->path);
}

/* load text as a config file; returns conf_load's result, err filled */
static int
load_text(struct conf *c, const char *text, char *err, size_t errlen,
    char *path, size_t pathlen)
{
	struct tmpf t;
	int r;

	tmp_write(&t, text);
	if (path != NULL)
		snprintf(path, pathlen, "%s", t.path);
	r = conf_load(c, t.path, true, err, errlen);
	tmp_rm(&t);
	return r;
}

static void
assert_defaults(const struct conf *c)
{
	ck_assert_str_eq(c->server_name, "shmchat.localhost");
	ck_assert_str_eq(c->network, "shmchat");
	ck_assert_str_eq(c->description, "shmchat IRC server");
	ck_assert_int_eq(c->nlisten, 2);
	ck_assert_str_eq(c->listen[0], "127.0.0.1:6667");
	ck_assert_str_eq(c->listen[1], "[::1]:6667");
	ck_assert_ptr_null(c->listen[2]);
	ck_assert_ptr_null(c->password);
	ck_assert_ptr_null(c->motd);
	ck_assert_ptr_null(c->motd_file);
	ck_assert_ptr_null(c->motd_text);
	ck_assert_int_eq(c->max_clients, 1024);
	ck_assert_int_eq(c->max_channels_per_client, 20);
	ck_assert_int_eq(c->nick_len, 30);
	ck_assert_int_eq(c->channel_len, 50);
	ck_assert_int_eq(c->topic_len, 390);
	ck_assert_int_eq(c->away_len, 200);
	ck_assert_int_eq(c->sendq, 1048576);
	ck_assert_int_eq(c->registration_timeout, 30);
	ck_assert_int_eq(c->ping_interval, 120);
	ck_assert_int_eq(c->ping_timeout, 60);
	ck_assert_int_eq(c->stall_timeout, 10);
	ck_assert_int_eq(c->ring_size, 8388608);
	ck_assert_int_eq(c->inbox_size, 4096);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(c->admin_queue_key, 0x53434d51);
	ck_assert_str_eq(c->admin_group, "shmchat");
	ck_assert_int_eq(c->max_clients_per_ip, 100);
	ck_assert_int_eq(c->flood_rate, 10);
	ck_assert_int_eq(c->flood_burst, 30);
	ck_assert_int_eq(c->flood_queue, 8192);
	ck_assert_int_eq(c->nlimits_exempt, 2);
	ck_assert_str_eq(c->limits_exempt[0], "127.0.0.1");
	ck_assert_str_eq(c->limits_exempt[1], "::1");
	ck_assert_str_eq(c->user, "shmchat");
	ck_assert_str_eq(c->group, "shmchat");
	ck_assert_int_eq(c->nopers, 0);
	ck_assert_ptr_null(c->opers);
	ck_assert(!c->oper_override);
	ck_assert_ptr_null(c->admin_location);
	ck_assert_ptr_null(c->admin_description);
	ck_assert_ptr_null(c->admin_email);
	ck_assert_int_eq(c->whowas_history, 500);
	ck_assert_int_eq(c->min_spare_workers, 8);
	ck_assert_int_eq(c->max_spare_workers, 64);
	ck_assert_int_eq(c->history_lines, 1000);
	ck_assert_int_eq(c->history_age, 604800);
	ck_assert_int_eq(c->history_memory, 67108864);
	ck_assert_int_eq(c->chathistory_max, 100);
	ck_assert_int_eq(c->join_replay_lines, 0);
	ck_assert_int_eq(c->nlisten_tls, 0);
	ck_assert_ptr_null(c->tls_certificate);
	ck_assert_ptr_null(c->tls_key);
	ck_assert_int_eq(c->tls_min_version, CONF_TLS_1_2);
	ck_assert_int_eq(c->tls_sts_duration, 2592000);
}

/*
 * Load text that must fail; check the message is exactly
 * "<tmpfile>:<line>: <want>" and that c fell back to the defaults.
 */
static void
assert_load_error(const char *text, int line, const char *want)
{
	struct conf c;
	char err[512], path[64], expect[640];

	conf_init_defaults(&c);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err, path, sizeof path), -1);
	if (line > 0)
		snprintf(expect, sizeof expect, "%s:%d: %s", path, line, want);
	else
		snprintf(expect, sizeof expect, "%s", want);
	ck_assert_str_eq(err, expect);
	assert_defaults(&c);
	conf_free(&c);
}

/* ---------------------------------------------------------------- config */

START_TEST(test_defaults)
{
	struct conf c;

	conf_init_defaults(&c);
	assert_defaults(&c);
	conf_free(&c);
	/* free leaves it safe to free again or to re-init */
	conf_free(&c);
	ck_assert_ptr_null(c.server_name);
	conf_init_defaults(&c);
	assert_defaults(&c);
	conf_free(&c);
}
END_TEST

START_TEST(test_full_file)
{
	struct conf c;
	char err[256] = "x";
	const char *text =
	    "# every setting\n"
	    "server_name = \"irc.example.org\";\n"
	    "network = \"ExampleNet\";\n"
	    "description = \"Example server\";\n"
	    "listen = [ \"0.0.0.0:7000\", \"[::]:7000\", \"*:7001\", \"7002\" ];\n"
	    "password = \"s3cret\";\n"
	    "motd = \"hello\\nworld\\n\";\n"
	    "max_clients = 5000;\n"
	    "max_channels_per_client = 50;\n"
	    "nick_len = 16;\n"
	    "channel_len = 64;\n"
	    "topic_len = 300;\n"
	    "away_len = 100;\n"
	    "sendq = 1073741824L;\n"	/* 64-bit literal */
	    "registration_timeout = 15;\n"
	    "ping_interval = 90;\n"
	    "ping_timeout = 45;\n"
	    "stall_timeout = 5;\n"
	    "ring_size = 0x1000000;\n"
	    "inbox_size = 1024;\n"
	    "log_level = \"debug\";\n";

	conf_init_defaults(&c);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err, NULL, 0), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c.server_name, "irc.example.org");
	ck_assert_str_eq(c.network, "ExampleNet");
	ck_assert_str_eq(c.description, "Example server");
	ck_assert_int_eq(c.nlisten, 4);
	ck_assert_str_eq(c.listen[0], "0.0.0.0:7000");
	ck_assert_str_eq(c.listen[1], "[::]:7000");
	ck_assert_str_eq(c.listen[2], "*:7001");
	ck_assert_str_eq(c.listen[3], "7002");
	ck_assert_str_eq(c.password, "s3cret");
	ck_assert_str_eq(c.motd, "hello\nworld\n");
	ck_assert_ptr_null(c.motd_file);
	ck_assert_str_eq(c.motd_text, "hello\nworld");	/* one newline stripped */
	ck_assert_int_eq(c.max_clients, 5000);
	ck_assert_int_eq(c.max_channels_per_client, 50);
	ck_assert_int_eq(c.nick_len, 16);
	ck_assert_int_eq(c.channel_len, 64);
	ck_assert_int_eq(c.topic_len, 300);
	ck_assert_int_eq(c.away_len, 100);
	ck_assert_int_eq(c.sendq, 1073741824L);
	ck_assert_int_eq(c.registration_timeout, 15);
	ck_assert_int_eq(c.ping_interval, 90);
	ck_assert_int_eq(c.ping_timeout, 45);
	ck_assert_int_eq(c.stall_timeout, 5);
	ck_assert_int_eq(c.ring_size, 16777216);
	ck_assert_int_eq(c.inbox_size, 1024);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);

	/* loading again starts from the defaults: unset settings revert */
	ck_assert_int_eq(load_text(&c, "nick_len = 20;\n", err, sizeof err,
	    NULL, 0), 0);
	ck_assert_int_eq(c.nick_len, 20);
	ck_assert_int_eq(c.max_clients, 1024);
	ck_assert_str_eq(c.server_name, "shmchat.localhost");
	ck_assert_ptr_null(c.password);
	ck_assert_ptr_null(c.motd_text);
	conf_free(&c);
}
END_TEST

START_TEST(test_small_things)
{
	struct conf c;
	char err[256];

	conf_init_defaults(&c);
	/* empty file: all defaults */
	ck_assert_int_eq(load_text(&c, "", err, sizeof err, NULL, 0), 0);
	assert_defaults(&c);
	/* "" turns optional strings off; a lone listen string is a list of one */
	ck_assert_int_eq(load_text(&c, "password = \"\";\nmotd = \"\";\n"
	    "listen = \"6697\";\nlog_level = \"err\";\n", err, sizeof err,
	    NULL, 0), 0);
	ck_assert_ptr_null(c.password);
	ck_assert_ptr_null(c.motd);
	ck_assert_ptr_null(c.motd_text);
	ck_assert_int_eq(c.nlisten, 1);
	ck_assert_str_eq(c.listen[0], "6697");
	ck_assert_int_eq(c.log_level, LOG_LEVEL_ERR);
	/* range edges are inclusive; libconfig's list syntax works too */
	ck_assert_int_eq(load_text(&c, "max_clients = 1000000;\nnick_len = 9;\n"
	    "inbox_size = 64;\nlisten = ( \"[::1]:1\" );\n", err, sizeof err,
	    NULL, 0), 0);
	ck_assert_int_eq(c.max_clients, 1000000);
	ck_assert_int_eq(c.nick_len, 9);
	ck_assert_int_eq(c.inbox_size, 64);
	ck_assert_str_eq(c.listen[0], "[::1]:1");
	/* channel defaults: modes with or without '+', "" for none */
	ck_assert_str_eq(c.default_channel_modes, "nt");
	ck_assert_int_eq(c.max_list_entries, 100);
	ck_assert_int_eq(load_text(&c, "default_channel_modes = \"+nst\";\n"
	    "max_list_entries = 3;\n", err, sizeof err, NULL, 0), 0);
	ck_assert_str_eq(c.default_channel_modes, "+nst");
	ck_assert_int_eq(c.max_list_entries, 3);
	ck_assert_int_eq(load_text(&c, "default_channel_modes = \"\";\n", err, sizeof err,
	    NULL, 0), 0);
	ck_assert_str_eq(c.default_channel_modes, "");
	conf_free(&c);
}
END_TEST

START_TEST(test_syntax_error)
{
	assert_load_error("max_clients = 10;\n\nnick_len = ;\n", 3,
	    "syntax error");
	assert_load_error("a = 1;\na = 2;\n", 2, "duplicate setting name");
}
END_TEST

START_TEST(test_wrong_type)
{
	assert_load_error("nick_len = 20;\nmax_clients = \"many\";\n", 2,
	    "max_clients must be an integer");
	assert_load_error("\n\n\nping_timeout = 1.5;\n", 4,
	    "ping_timeout must be an integer");
	assert_load_error("server_name = 42;\n", 1,
	    "server_name must be a string");
	assert_load_error("listen = 6667;\n", 1,
	    "listen must be an array of strings");
	assert_load_error("listen = [ 1, 2 ];\n", 1,
	    "listen entries must be strings");
	assert_load_error("log_level = 7;\n", 1, "log_level must be one of "
	    "\"err\", \"warning\", \"notice\", \"info\", \"debug\"");
	assert_load_error("server_name = \"a.b\";\nadmin = 1;\n", 2,
	    "admin must be a group");
}
END_TEST

START_TEST(test_out_of_range)
{
	assert_load_error("server_name = \"irc.example.org\";\nmax_clients = 0;\n",
	    2, "max_clients must be between 1 and 1000000");
	assert_load_error("nick_len = 65;\n", 1, "nick_len must be between 9 and 64");
	assert_load_error("\ntopic_len = 401;\n", 2,
	    "topic_len must be between 1 and 400");
	assert_load_error("sendq = 4095;\n", 1,
	    "sendq must be between 4096 and 1073741824");
	assert_load_error("sendq = 1073741825L;\n", 1,
	    "sendq must be between 4096 and 1073741824");
	/* libconfig 1.5 wraps this to 4096 in an int: must still be refused */
	assert_load_error("sendq = 4294971392;\n", 1,
	    "sendq must be between 4096 and 1073741824");
	assert_load_error("ring_size = -1;\n", 1,
	    "ring_size must be between 65536 and 1073741824");
	assert_load_error("inbox_size = 1000;\n", 1,
	    "inbox_size must be a power of two between 64 and 1048576");
	assert_load_error("inbox_size = 2097152;\n", 1,
	    "inbox_size must be a power of two between 64 and 1048576");
	assert_load_error("stall_timeout = 3601;\n", 1,
	    "stall_timeout must be between 1 and 3600");
	assert_load_error("log_level = \"verbose\";\n", 1, "log_level must be "
	    "one of \"err\", \"warning\", \"notice\", \"info\", \"debug\"");
	assert_load_error("server_name = \"my server\";\n", 1, "server_name must "
	    "be 1 to 63 letters, digits, '-' or '.'");
	assert_load_error("network = \"\";\n", 1,
	    "network must be 1 to 32 characters without spaces");
	assert_load_error("listen = [];\n", 1, "listen must have 1 to 16 entries");
	assert_load_error("default_channel_modes = \"ntk\";\n", 1, "default_channel_modes "
	    "must be channel modes among i, m, n, p, s and t (e.g. \"nt\")");
	assert_load_error("max_list_entries = 0;\n", 1,
	    "max_list_entries must be between 1 and 10000");
}
END_TEST

START_TEST(test_unknown_key)
{
	assert_load_error("nick_len = 20;\n# comment\nfoo = 1;\n", 3,
	    "unknown setting 'foo'");
	assert_load_error("limits = { max_clients = 5; };\n", 1,
	    "unknown setting 'limits'");
}
END_TEST

START_TEST(test_bad_listen)
{
	/*
	 * libconfig dates an element by its look-ahead token, so the last
	 * element of a multi-line array gets the line of the "]"; the message
	 * names the entry anyway.
	 */
	assert_load_error("listen = [\n  \"localhost:6667\",\n  \"127.0.0.1:6667\"\n];\n",
	    2, "listen entry 'localhost:6667' is not HOST:PORT, [IPV6]:PORT, "
	    "*:PORT or PORT with a numeric address");
	assert_load_error("listen = [ \"6667\", \"0.0.0.0:6667\" ];\n", 1,
	    "listen entry '0.0.0.0:6667' is listed twice");
}
END_TEST

/* listen_tls and tls = { ... }: what each needs of the other, and the forms */
START_TEST(test_tls)
{
	struct conf c;
	char err[512];

	assert_load_error("listen_tls = [ \"127.0.0.1:6697\" ];\n", 1,
	    "listen_tls needs tls = { certificate = \"...\"; key = \"...\"; }");
	assert_load_error("\ntls = { certificate = \"c.pem\"; };\n", 2,
	    "tls needs both a certificate and a key");
	assert_load_error("tls = { min_version = \"TLSv1.1\"; };\n", 1,
	    "tls.min_version must be \"TLSv1.2\" or \"TLSv1.3\"");
	assert_load_error("tls = { cert = \"c.pem\"; };\n", 1, "unknown setting 'tls.cert'");
	assert_load_error("tls = { sts_port = 70000; };\n", 1,
	    "tls.sts_port must be between 0 and 65535");
	assert_load_error("tls = { ciphers = \"A B\"; };\n", 1,
	    "tls.ciphers must be an OpenSSL cipher list (e.g. \"ECDHE+AESGCM:ECDHE+CHACHA20\")");
	assert_load_error("tls = 1;\n", 1, "tls must be a group");
	assert_load_error("listen_tls = [ \"x\" ];\n", 1, "listen_tls entry 'x' is not "
	    "HOST:PORT, [IPV6]:PORT, *:PORT or PORT with a numeric address");

	conf_init_defaults(&c);
	ck_assert_int_eq(c.nlisten_tls, 0);
	ck_assert(!conf_tls_enabled(&c));
	ck_assert_msg(load_text(&c, "listen_tls = [ \"0.0.0.0:6697\", \"[::]:6697\" ];\n"
	    "tls = { certificate = \"c.pem\"; key = \"/etc/k.pem\"; min_version = \"TLSv1.3\";\n"
	    "  ciphers = \"ECDHE+AESGCM\"; sts_port = 7000; sts_duration = 60; };\n",
	    err, sizeof err, NULL, 0) == 0, "%s", err);
	ck_assert_int_eq(c.nlisten_tls, 2);
	ck_assert_str_eq(c.listen_tls[1], "[::]:6697");
	ck_assert(conf_tls_enabled(&c));
	/* relative to the file, as motd_file */
	ck_assert(c.tls_certificate[0] == '/');
	ck_assert_str_eq(strrchr(c.tls_certificate, '/'), "/c.pem");
	ck_assert_str_eq(c.tls_key, "/etc/k.pem");
	ck_assert_str_eq(c.tls_ciphers, "ECDHE+AESGCM");
	ck_assert_int_eq(c.tls_min_version, CONF_TLS_1_3);
	ck_assert_int_eq(c.tls_sts_port, 7000);
	ck_assert_int_eq(c.tls_sts_duration, 60);
	conf_free(&c);
}
END_TEST

START_TEST(test_missing_file)
{
	struct conf c;
	char err[256] = "x", path[64], want[128];
	struct tmpf t;

	/* a name that surely does not exist: a just-removed temp file */
	tmp_write(&t, "");
	tmp_rm(&t);
	snprintf(path, sizeof path, "%s", t.path);

	conf_init_defaults(&c);
	c.max_clients = 7;	/* a previous value must not survive */
	ck_assert_int_eq(conf_load(&c, path, false, err, sizeof err), 0);
	ck_assert_str_eq(err, "");
	assert_defaults(&c);

	ck_assert_int_eq(conf_load(&c, path, true, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
	assert_defaults(&c);

	/* a directory is an error even when the file is optional */
	ck_assert_int_eq(conf_load(&c, "/tmp", false, err, sizeof err), -1);
	ck_assert_str_eq(err, "/tmp: Is a directory");
	assert_defaults(&c);
	conf_free(&c);
}
END_TEST

START_TEST(test_motd_file)
{
	struct conf c;
	struct tmpf motd;
	char text[256], err[256], path[64], want[512];
	const char *base;

	tmp_write(&motd, "Welcome\r\nto shmchat\n\n");
	conf_init_defaults(&c);
	/* the file wins over inline text; CRs go, one trailing newline goes */
	snprintf(text, sizeof text, "motd = \"inline\";\nmotd_file = \"%s\";\n",
	    motd.path);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err, NULL, 0), 0);
	ck_assert_str_eq(c.motd, "inline");
	ck_assert_str_eq(c.motd_file, motd.path);
	ck_assert_str_eq(c.motd_text, "Welcome\nto shmchat\n");

	/* a relative motd_file is relative to the config file's directory */
	base = strrchr(motd.path, '/') + 1;
	snprintf(text, sizeof text, "motd_file = \"%s\";\n", base);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err, NULL, 0), 0);
	ck_assert_str_eq(c.motd_file, motd.path);
	ck_assert_str_eq(c.motd_text, "Welcome\nto shmchat\n");

	/* unreadable: error names the file and the line */
	tmp_rm(&motd);
	snprintf(text, sizeof text, "nick_len = 20;\n\nmotd_file = \"%s\";\n",
	    motd.path);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err, path, sizeof path), -1);
	snprintf(want, sizeof want, "%s:3: cannot read motd_file %s: No such "
	    "file or directory", path, motd.path);
	ck_assert_str_eq(err, want);
	assert_defaults(&c);
	conf_free(&c);
}
END_TEST

START_TEST(test_motd_file_too_big)
{
	struct conf c;
	struct tmpf motd;
	char text[256], err[256], path[64], want[512];
	char *big = malloc(70000);

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 69999);
	big[69999] = '\0';
	tmp_write(&motd, big);
	free(big);
	conf_init_defaults(&c);
	snprintf(text, sizeof text, "motd_file = \"%s\";\n", motd.path);
	ck_assert_int_eq(load_text(&c, text, err, sizeof err, path, sizeof path), -1);
	snprintf(want, sizeof want, "%s:1: motd_file %s is larger than 64 KiB",
	    path, motd.path);
	ck_assert_str_eq(err, want);
	tmp_rm(&motd);
	conf_free(&c);
}
END_TEST

START_TEST(test_admin_group)
{
	struct conf c;
	char err[256];

	conf_init_defaults(&c);
	ck_assert_int_eq(load_text(&c, "admin = {\n  queue_key = 1234;\n"
	    "  group = \"shmchat-admin\";\n};\nnick_len = 12;\n", err, sizeof err,
	    NULL, 0), 0);
	ck_assert_int_eq(c.nick_len, 12);
	ck_assert_int_eq(c.admin_queue_key, 1234);
	ck_assert_str_eq(c.admin_group, "shmchat-admin");
	conf_free(&c);

	/* defaults, and each kind of mistake with its line */
	conf_init_defaults(&c);
	ck_assert_int_eq(c.admin_queue_key, 0x53434d51);
	ck_assert_str_eq(c.admin_group, "shmchat");
	conf_free(&c);
	assert_load_error("admin = {\n  queue_key = 0;\n};\n", 2,
	    "admin.queue_key must be between 1 and 0x7fffffff");
	assert_load_error("admin = {\n  queue_key = \"x\";\n};\n", 2,
	    "admin.queue_key must be an integer");
	assert_load_error("admin = {\n\n  group = \"a b\";\n};\n", 3,
	    "admin.group must be a group name (1 to 32 characters)");
	assert_load_error("admin = {\n  colour = 1;\n};\n", 2,
	    "unknown setting 'admin.colour'");
	assert_load_error("\nlimits_exempt = [\"1.2.3.4\", \"localhost\"];\n", 2,
	    "limits_exempt entry 'localhost' is not a numeric IPv4 or IPv6 address");
	assert_load_error("user = \"a b\";\n", 1,
	    "user must be a user or group name (1 to 32 characters)");
	conf_init_defaults(&c);
	ck_assert_int_eq(load_text(&c, "limits_exempt = [\"0:0::1\", \"10.0.0.1\"];\n"
	    "flood_rate = 0;\n", err, sizeof err, NULL, 0), 0);
	ck_assert_str_eq(c.limits_exempt[0], "::1");	/* canonical form */
	ck_assert_str_eq(c.limits_exempt[1], "10.0.0.1");
	ck_assert_int_eq(c.flood_rate, 0);
	conf_free(&c);
}
END_TEST

#define HASH_Y	"$y$j9T$saltsaltsaltsaltsalt$N.44bTTVedjKfuW7ar67CoWirFXUzuQT9Fy.bPddci7"
#define HASH_6	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5" \
	"knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"

START_TEST(test_opers)
{
	struct conf c;
	char err[512];

	conf_init_defaults(&c);
	ck_assert_msg(load_text(&c, "opers = (\n"
	    "  { name = \"alice\"; password = \"" HASH_Y "\";\n"
	    "    hosts = [ \"*@127.0.0.1\", \"*@::1\", \"admin@*.example.org\" ]; },\n"
	    "  { name = \"Bob\"; password = \"" HASH_6 "\"; }\n"
	    ");\noper_override = true;\n", err, sizeof err, NULL, 0) == 0, "%s", err);
	ck_assert_int_eq(c.nopers, 2);
	ck_assert_str_eq(c.opers[0].name, "alice");
	ck_assert_str_eq(c.opers[0].password, HASH_Y);
	ck_assert_int_eq(c.opers[0].nhosts, 3);
	/* kept in their full form, for irc_mask_match() against nick!user@host */
	ck_assert_str_eq(c.opers[0].hosts[0], "*!*@127.0.0.1");
	ck_assert_str_eq(c.opers[0].hosts[1], "*!*@::1");
	ck_assert_str_eq(c.opers[0].hosts[2], "*!admin@*.example.org");
	/* no hosts: the block exists, nobody may use it */
	ck_assert_int_eq(c.opers[1].nhosts, 0);
	ck_assert(c.oper_override);
	conf_free(&c);

	/* a lone block, a single host string; an empty list */
	conf_init_defaults(&c);
	ck_assert_msg(load_text(&c, "opers = { name = \"x\"; password = \"" HASH_6 "\";"
	    " hosts = \"ops@10.0.0.*\"; };\n", err, sizeof err, NULL, 0) == 0, "%s", err);
	ck_assert_int_eq(c.nopers, 1);
	ck_assert_int_eq(c.opers[0].nhosts, 1);
	ck_assert_str_eq(c.opers[0].hosts[0], "*!ops@10.0.0.*");
	ck_assert_int_eq(load_text(&c, "opers = ();\n", err, sizeof err, NULL, 0), 0);
	ck_assert_int_eq(c.nopers, 0);
	conf_free(&c);

	/* each mistake with its line */
	assert_load_error("oper_override = 1;\n", 1, "oper_override must be true or false");
	assert_load_error("opers = 1;\n", 1,
	    "opers must be a list of oper blocks: opers = ( { name = ...; ... } );");
	assert_load_error("opers = ( \"alice\" );\n", 1,
	    "opers entries must be groups: { name = ...; password = ...; hosts = [...]; }");
	assert_load_error("opers = (\n  { password = \"" HASH_6 "\"; }\n);\n", 2,
	    "oper block without a name");
	assert_load_error("opers = (\n  { name = \"a\";\n hosts = [\"*@*\"]; }\n);\n", 2,
	    "oper block 'a' without a password");
	assert_load_error("opers = (\n  { name = \"\"; }\n);\n", 2,
	    "oper name must be 1 to 32 characters without spaces");
	assert_load_error("opers = ( { name = \"a b\"; } );\n", 1,
	    "oper name must be 1 to 32 characters without spaces");
	assert_load_error("opers = ( { name = 7; } );\n", 1, "oper name must be a string");
	assert_load_error("opers = (\n  { name = \"a\";\n    password = \"hunter2\"; }\n);\n", 3,
	    "oper password must be a crypt(3) hash starting with $y$, $gy$, $7$, $2b$, $6$ "
	    "or $5$ (make one with shmchatd --hash-password)");
	/* old methods (md5-crypt, DES) are refused too */
	assert_load_error("opers = ( { name = \"a\"; password = \"$1$saltsalt$9xy1btjgzLYfb7hivXtC//\"; } );\n",
	    1, "oper password must be a crypt(3) hash starting with $y$, $gy$, $7$, $2b$, $6$ "
	    "or $5$ (make one with shmchatd --hash-password)");
	assert_load_error("opers = ( { name = \"a\"; password = \"" HASH_6 "\";\n"
	    "  hosts = [ \"*@127.0.0.1\", \"bad mask\" ]; } );\n", 2,
	    "oper hosts entry 'bad mask' is not a user@host mask");
	assert_load_error("opers = ( { name = \"a\"; password = \"" HASH_6 "\";\n"
	    "  hosts = [ \"\" ]; } );\n", 2, "oper hosts entry '' is not a user@host mask");
	assert_load_error("opers = ( { name = \"a\"; password = \"" HASH_6 "\";\n"
	    "  hosts = 5; } );\n", 2, "oper hosts must be an array of user@host masks");
	assert_load_error("opers = ( { name = \"a\"; password = \"" HASH_6 "\";\n"
	    "  hosts = ( 5 ); } );\n", 2, "oper hosts entries must be strings");
	assert_load_error("opers = ( { name = \"a\"; password = \"" HASH_6 "\"; colour = 1; } );\n",
	    1, "unknown setting 'colour' in an oper block");
	assert_load_error("opers = (\n  { name = \"Alice\"; password = \"" HASH_6 "\"; },\n"
	    "  { name = \"alice\"; password = \"" HASH_Y "\"; }\n);\n", 3,
	    "oper 'alice' is defined twice");
}
END_TEST

/* hostile sizes: too many blocks or hosts are refused, not truncated */
START_TEST(test_opers_limits)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char want[128];

	ck_assert_ptr_nonnull(f);
	fputs("opers = (\n", f);
	for (int i = 0; i <= CONFIG_MAX_OPERS; i++)
		fprintf(f, "%s{ name = \"op%d\"; password = \"" HASH_6 "\"; }\n", i ? "," : "", i);
	fputs(");\n", f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(want, sizeof want, "opers must have at most %d blocks", CONFIG_MAX_OPERS);
	assert_load_error(text, 1, want);
	free(text);

	text = NULL;
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	fputs("opers = ( { name = \"a\"; password = \"" HASH_6 "\";\nhosts = [", f);
	for (int i = 0; i <= CONFIG_MAX_OPER_HOSTS; i++)
		fprintf(f, "%s\"*@10.0.0.%d\"", i ? "," : "", i);
	fputs("]; } );\n", f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(want, sizeof want, "oper hosts must have at most %d entries",
	    CONFIG_MAX_OPER_HOSTS);
	assert_load_error(text, 2, want);
	free(text);
}
END_TEST

/* shmchatctl's fallback: the admin group of a file with a mistake elsewhere */
START_TEST(test_admin_only)
{
	struct tmpf t;
	struct conf c;
	char err[256];

	tmp_write(&t, "max_clients = \"many\";\nmotd_file = \"/nonexistent\";\n"
	    "admin = {\n  queue_key = 1234;\n  group = \"ops\";\n};\n");
	conf_init_defaults(&c);
	ck_assert_int_eq(conf_load(&c, t.path, true, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "max_clients"));
	ck_assert_int_eq(conf_load_admin(&c, t.path, err, sizeof err), 0);
	ck_assert_int_eq(c.admin_queue_key, 1234);
	ck_assert_str_eq(c.admin_group, "ops");
	ck_assert_int_eq(c.max_clients, 1024);
	ck_assert_ptr_null(c.motd_text);
	tmp_rm(&t);

	/* a mistake in the admin group itself, or no file: the defaults */
	tmp_write(&t, "max_clients = 0;\nadmin = {\n  queue_key = 0;\n};\n");
	ck_assert_int_eq(conf_load_admin(&c, t.path, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, ":3: admin.queue_key must be between"));
	ck_assert_int_eq(c.admin_queue_key, 0x53434d51);
	tmp_rm(&t);
	ck_assert_int_eq(conf_load_admin(&c, t.path, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	conf_free(&c);
}
END_TEST

/* admin_info: the ADMIN command's text, apart from the admin queue */
START_TEST(test_admin_info)
{
	struct conf c;
	char err[256], diff[256];

	conf_init_defaults(&c);
	ck_assert_int_eq(load_text(&c, "admin_info = {\n  location = \"Basement, Oulu\";\n"
	    "  description = \"Run by the chat team\";\n  email = \"chat@example.org\";\n};\n"
	    "whowas_history = 0;\n", err, sizeof err, NULL, 0), 0);
	ck_assert_str_eq(c.admin_location, "Basement, Oulu");
	ck_assert_str_eq(c.admin_description, "Run by the chat team");
	ck_assert_str_eq(c.admin_email, "chat@example.org");
	ck_assert_int_eq(c.whowas_history, 0);
	ck_assert_int_eq(c.admin_queue_key, 0x53434d51);	/* the queue is not touched */
	{
		struct conf d;

		conf_init_defaults(&d);
		conf_diff(&d, &c, diff, sizeof diff);
		ck_assert_str_eq(diff, "admin_location, admin_description, admin_email, "
		    "whowas_history");
		conf_free(&d);
	}
	conf_free(&c);

	/* "" is unset */
	conf_init_defaults(&c);
	ck_assert_int_eq(load_text(&c, "admin_info = { email = \"\"; };\n", err, sizeof err,
	    NULL, 0), 0);
	ck_assert_ptr_null(c.admin_email);
	conf_free(&c);

	assert_load_error("admin_info = {\n  phone = \"123\";\n};\n", 2,
	    "unknown setting 'admin_info.phone'");
	assert_load_error("admin_info = {\n  email = 5;\n};\n", 2,
	    "admin_info.email must be a string");
	assert_load_error("admin_info = {\n  location = \"a\\nb\";\n};\n", 2,
	    "admin_info.location must be at most 200 characters on one line");
	assert_load_error("admin_info = \"x\";\n", 1, "admin_info must be a group");
	assert_load_error("whowas_history = 100001;\n", 1,
	    "whowas_history must be between 0 and 100000");
}
END_TEST

/* the pool of spare workers: bounds, and the maximum alone turning it off */
START_TEST(test_spare_workers)
{
	struct conf c;
	char err[256];

	conf_init_defaults(&c);
	ck_assert_int_eq(load_text(&c, "max_spare_workers = 0;\n", err, sizeof err, NULL, 0), 0);
	ck_assert_int_eq(c.min_spare_workers, 0);
	ck_assert_int_eq(c.max_spare_workers, 0);
	ck_assert_int_eq(load_text(&c, "min_spare_workers = 32;\nmax_spare_workers = 1024;\n",
	    err, sizeof err, NULL, 0), 0);
	ck_assert_int_eq(c.min_spare_workers, 32);
	ck_assert_int_eq(c.max_spare_workers, 1024);
	conf_free(&c);
	assert_load_error("max_spare_workers = 4;\nmin_spare_workers = 5;\n", 2,
	    "min_spare_workers (5) exceeds max_spare_workers (4)");
	assert_load_error("max_spare_workers = 1025;\n", 1,
	    "max_spare_workers must be between 0 and 1024");
}
END_TEST

START_TEST(test_diff)
{
	struct conf a, b;
	char out[256], small[12];

	conf_init_defaults(&a);
	conf_init_defaults(&b);
	conf_diff(&a, &b, out, sizeof out);
	ck_assert_str_eq(out, "nothing");

	b.ping_timeout = 99;
	free(b.motd_text);
	b.motd_text = strdup("new motd");
	ck_assert_ptr_nonnull(b.motd_text);
	conf_diff(&a, &b, out, sizeof out);
	ck_assert_str_eq(out, "motd_text, ping_timeout");

	free(b.listen[1]);
	b.listen[1] = strdup("[::1]:6668");
	ck_assert_ptr_nonnull(b.listen[1]);
	b.password = strdup("pw");
	ck_assert_ptr_nonnull(b.password);
	b.log_level = LOG_LEVEL_DEBUG;
	conf_diff(&a, &b, out, sizeof out);
	ck_assert_str_eq(out, "listen, password, motd_text, ping_timeout, log_level");

	/* a short buffer truncates but stays terminated */
	conf_diff(&a, &b, small, sizeof small);
	ck_assert_int_eq(strlen(small), sizeof small - 1);
	ck_assert_int_eq(strncmp(small, "listen, pas", sizeof small - 1), 0);

	/* operators: a block added, then one of its hosts changed */
	conf_free(&b);
	conf_init_defaults(&b);
	b.oper_override = true;
	b.opers = calloc(1, sizeof *b.opers);
	ck_assert_ptr_nonnull(b.opers);
	b.nopers = 1;
	b.opers[0].name = strdup("x");
	b.opers[0].password = strdup(HASH_6);
	b.opers[0].hosts[0] = strdup("*!*@127.0.0.1");
	b.opers[0].nhosts = 1;
	conf_diff(&a, &b, out, sizeof out);
	ck_assert_str_eq(out, "oper_override, opers");
	b.oper_override = false;
	a.opers = calloc(1, sizeof *a.opers);
	ck_assert_ptr_nonnull(a.opers);
	a.nopers = 1;
	a.opers[0].name = strdup("x");
	a.opers[0].password = strdup(HASH_6);
	a.opers[0].hosts[0] = strdup("*!*@127.0.0.1");
	a.opers[0].nhosts = 1;
	conf_diff(&a, &b, out, sizeof out);
	ck_assert_str_eq(out, "nothing");
	b.opers[0].hosts[0][4] = '2';
	conf_diff(&a, &b, out, sizeof out);
	ck_assert_str_eq(out, "opers");

	conf_free(&a);
	conf_free(&b);
}
END_TEST

/* data/shmchatd.conf from the source tree (make check exports srcdir) */
static void
example_conf_path(char *out, size_t outlen)
{
	const char *srcdir = getenv("srcdir");
	const char *slash;

	if (srcdir != NULL) {
		snprintf(out, outlen, "%s/data/shmchatd.conf", srcdir);
		return;
	}
	/* run by hand from the build directory: next to this source file */
	slash = strrchr(__FILE__, '/');
	snprintf(out, outlen, "%.*s../data/shmchatd.conf",
	    slash != NULL ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
}

START_TEST(test_example_conf)
{
	static const char *const names[] = {
		"server_name", "network", "description", "listen", "password",
		"motd", "motd_file", "max_clients", "max_channels_per_client",
		"nick_len", "channel_len", "topic_len", "away_len", "sendq",
		"registration_timeout", "ping_interval", "ping_timeout",
		"stall_timeout", "ring_size", "inbox_size", "log_level", "admin",
		"max_clients_per_ip", "flood_rate", "flood_burst", "flood_queue",
		"limits_exempt", "user", "group",
		"admin_info", "whowas_history", "opers", "oper_override",
		"history_lines", "history_age", "history_memory", "chathistory_max",
		"join_replay_lines", "min_spare_workers", "max_spare_workers",
	};
	struct conf c;
	char path[4096], err[512], line[1024], want[64];
	char *text = NULL;
	size_t len = 0;
	FILE *in, *out;

	/* the file as shipped: all comments, loads as the defaults */
	example_conf_path(path, sizeof path);
	conf_init_defaults(&c);
	ck_assert_msg(conf_load(&c, path, true, err, sizeof err) == 0, "%s", err);
	assert_defaults(&c);

	/* every "#setting = default;" uncommented: still exactly the defaults */
	in = fopen(path, "r");
	ck_assert_ptr_nonnull(in);
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof line, in) != NULL) {
		bool setting = line[0] == '#' && line[1] >= 'a' && line[1] <= 'z';

		fputs(setting ? line + 1 : line, out);
	}
	ck_assert(!ferror(in));
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(want, sizeof want, "\n%s = ", names[i]);
		ck_assert_msg(strstr(text, want) != NULL, "%s not listed", names[i]);
	}
	ck_assert_msg(load_text(&c, text, err, sizeof err, NULL, 0) == 0, "%s", err);
	assert_defaults(&c);
	free(text);
	conf_free(&c);
}
END_TEST

/* ---------------------------------------------------------------- addresses */

static const struct {
	const char *spec;
	int family;
	const char *formatted;	/* listen_format_addr of the result */
} good_addrs[] = {
	{ "127.0.0.1:6667", AF_INET, "127.0.0.1:6667" },
	{ "[::1]:6667", AF_INET6, "[::1]:6667" },
	{ "*:6667", AF_INET6, "[::]:6667" },
	{ "6667", AF_INET, "0.0.0.0:6667" },
	{ "[::]:0", AF_INET6, "[::]:0" },
	{ "0.0.0.0:65535", AF_INET, "0.0.0.0:65535" },
	{ "[2001:db8::17]:7000", AF_INET6, "[2001:db8::17]:7000" },
	{ "0", AF_INET, "0.0.0.0:0" },
};

static const char *const bad_addrs[] = {
	"", "1.2.3.4", "host:abc", "localhost:6667", "[::1", "[::1]", "[::1]:",
	":6667", "1.2.3.4:70000", "1.2.3.4:", "1.2.3.4:-1", "1.2.3.4: 80",
	"1.2.3.4:+80", "::1:6667", "[1.2.3.4]:80", "[]:80", "1.2.3:80",
	"1.2.3.4:80x", "*", "*:", "**:80", "66666", "abc", "[::1]x6667",
	"1.2.3.4:1234567",
};

START_TEST(test_parse_good)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char out[64];

	for (size_t i = 0; i < sizeof good_addrs / sizeof good_addrs[0]; i++) {
		ck_assert_msg(addr_parse(good_addrs[i].spec, &ss, &len) == 0,
		    "'%s' rejected", good_addrs[i].spec);
		ck_assert_int_eq(ss.ss_family, good_addrs[i].family);
		ck_assert_int_eq(len, good_addrs[i].family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		listen_format_addr((struct sockaddr *)&ss, out, sizeof out, true);
		ck_assert_str_eq(out, good_addrs[i].formatted);
	}
}
END_TEST

START_TEST(test_parse_bad)
{
	struct sockaddr_storage ss;
	socklen_t len;

	for (size_t i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++)
		ck_assert_msg(addr_parse(bad_addrs[i], &ss, &len) == -EINVAL,
		    "'%s' accepted", bad_addrs[i]);
	ck_assert_int_eq(addr_parse(NULL, &ss, &len), -EINVAL);
}
END_TEST

START_TEST(test_format)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(5) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(5) };
	char out[64], tiny[6];

	ck_assert_int_eq(inet_pton(AF_INET, "1.2.3.4", &sin.sin_addr), 1);
	listen_format_addr((struct sockaddr *)&sin, out, sizeof out, true);
	ck_assert_str_eq(out, "1.2.3.4:5");
	listen_format_addr((struct sockaddr *)&sin, out, sizeof out, false);
	ck_assert_str_eq(out, "1.2.3.4");

	ck_assert_int_eq(inet_pton(AF_INET6, "::1", &sin6.sin6_addr), 1);
	listen_format_addr((struct sockaddr *)&sin6, out, sizeof out, true);
	ck_assert_str_eq(out, "[::1]:5");
	listen_format_addr((struct sockaddr *)&sin6, out, sizeof out, false);
	ck_assert_str_eq(out, "::1");

	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:1.2.3.4", &sin6.sin6_addr), 1);
	listen_format_addr((struct sockaddr *)&sin6, out, sizeof out, true);
	ck_assert_str_eq(out, "1.2.3.4:5");
	listen_format_addr((struct sockaddr *)&sin6, out, sizeof out, false);
	ck_assert_str_eq(out, "1.2.3.4");

	/* truncated, terminated */
	listen_format_addr((struct sockaddr *)&sin, tiny, sizeof tiny, true);
	ck_assert_str_eq(tiny, "1.2.3");
}
END_TEST

/* ---------------------------------------------------------------- sockets */

static int
port_of(const char *name)
{
	const char *colon = strrchr(name, ':');

	ck_assert_ptr_nonnull(colon);
	return atoi(colon + 1);
}

static int
connect_to(int family, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		len = sizeof *sin6;
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void
no_activation(void)
{
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
}

START_TEST(test_listen_bind)
{
	struct conf c;
	struct listen_set ls, ls2;
	char err[256] = "x", want[256];
	int port, fd, fl;

	no_activation();
	conf_init_defaults(&c);
	free(c.listen[0]);
	free(c.listen[1]);
	c.listen[0] = strdup("127.0.0.1:0");
	c.listen[1] = NULL;
	ck_assert_ptr_nonnull(c.listen[0]);
	c.nlisten = 1;

	ck_assert_int_eq(listen_open(&ls, &c, err, sizeof err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(ls.n, 1);
	ck_assert(!ls.activated);
	ck_assert_int_eq(strncmp(ls.names[0], "127.0.0.1:", 10), 0);
	port = port_of(ls.names[0]);
	ck_assert_int_gt(port, 0);
	ck_assert_int_le(port, 65535);
	fl = fcntl(ls.fds[0], F_GETFL);
	ck_assert(fl >= 0 && (fl & O_NONBLOCK));
	fl = fcntl(ls.fds[0], F_GETFD);
	ck_assert(fl >= 0 && (fl & FD_CLOEXEC));
	ck_assert_int_gt(sd_is_socket(ls.fds[0], AF_INET, SOCK_STREAM, 1), 0);

	fd = connect_to(AF_INET, "127.0.0.1", port);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(-fd));
	close(fd);

	/* the same port again: error naming the address, nothing left open */
	free(c.listen[0]);
	ck_assert_int_gt(asprintf(&c.listen[0], "127.0.0.1:%d", port), 0);
	ck_assert_int_eq(listen_open(&ls2, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "cannot listen on 127.0.0.1:%d: Address "
	    "already in use", port);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(ls2.n, 0);

	listen_close(&ls);
	ck_assert_int_eq(ls.n, 0);
	/* closed: nobody listens there any more */
	fd = connect_to(AF_INET, "127.0.0.1", port);
	ck_assert_int_eq(fd, -ECONNREFUSED);
	conf_free(&c);
}
END_TEST

START_TEST(test_listen_partial_failure)
{
	struct conf c;
	struct listen_set ls, probe;
	char err[256], want[256];
	int port, fd;

	/* find a free port, then make the second of two entries collide */
	no_activation();
	conf_init_defaults(&c);
	free(c.listen[0]);
	free(c.listen[1]);
	c.listen[0] = strdup("127.0.0.1:0");
	c.listen[1] = NULL;
	ck_assert_ptr_nonnull(c.listen[0]);
	c.nlisten = 1;
	ck_assert_int_eq(listen_open(&probe, &c, err, sizeof err), 0);
	port = port_of(probe.names[0]);
	listen_close(&probe);

	free(c.listen[0]);
	ck_assert_int_gt(asprintf(&c.listen[0], "127.0.0.1:%d", port), 0);
	ck_assert_int_gt(asprintf(&c.listen[1], "127.0.0.2:%d", port), 0);
	c.nlisten = 2;
	ck_assert_int_eq(listen_open(&probe, &c, err, sizeof err), 0);
	ck_assert_int_eq(probe.n, 2);
	free(c.listen[0]);
	ck_assert_int_gt(asprintf(&c.listen[0], "127.0.0.3:%d", port), 0);
	/* 127.0.0.3 binds, 127.0.0.2 is taken: the first must be closed again */
	ck_assert_int_eq(listen_open(&ls, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "cannot listen on 127.0.0.2:%d: Address "
	    "already in use", port);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(ls.n, 0);
	listen_close(&probe);
	fd = connect_to(AF_INET, "127.0.0.3", port);
	ck_assert_int_eq(fd, -ECONNREFUSED);
	conf_free(&c);
}
END_TEST

START_TEST(test_listen_skip_unavailable)
{
	struct conf c;
	struct listen_set ls;
	char err[256];
	const char *skip = "skipped listen address [2001:db8::1]:0: ";
	const char *none = "cannot listen on any address: [2001:db8::1]:0: ";

	/*
	 * An IPv6 address this host lacks fails like [::1] does where IPv6 is
	 * off (EADDRNOTAVAIL, or EAFNOSUPPORT without IPv6 at all): skipped
	 * with a warning while something else got bound, fatal otherwise.
	 */
	no_activation();
	conf_init_defaults(&c);
	free(c.listen[0]);
	free(c.listen[1]);
	c.listen[0] = strdup("127.0.0.1:0");
	c.listen[1] = strdup("[2001:db8::1]:0");
	ck_assert(c.listen[0] != NULL && c.listen[1] != NULL);
	ck_assert_int_eq(listen_open(&ls, &c, err, sizeof err), 0);
	ck_assert_int_eq(ls.n, 1);
	ck_assert_int_eq(strncmp(ls.names[0], "127.0.0.1:", 10), 0);
	ck_assert_msg(strncmp(err, skip, strlen(skip)) == 0, "err: %s", err);
	listen_close(&ls);

	free(c.listen[0]);
	c.listen[0] = c.listen[1];
	c.listen[1] = NULL;
	c.nlisten = 1;
	ck_assert_int_eq(listen_open(&ls, &c, err, sizeof err), -1);
	ck_assert_int_eq(ls.n, 0);
	ck_assert_msg(strncmp(err, none, strlen(none)) == 0, "err: %s", err);
	conf_free(&c);
}
END_TEST

START_TEST(test_listen_dual_stack)
{
	struct conf c;
	struct listen_set ls;
	char err[256];
	int port, fd;

	no_activation();
	conf_init_defaults(&c);
	free(c.listen[0]);
	free(c.listen[1]);
	c.listen[0] = strdup("*:0");
	c.listen[1] = NULL;
	ck_assert_ptr_nonnull(c.listen[0]);
	c.nlisten = 1;
	ck_assert_int_eq(listen_open(&ls, &c, err, sizeof err), 0);
	ck_assert_int_eq(ls.n, 1);
	/* [::] where the host has IPv6, 0.0.0.0 where it has not */
	ck_assert_msg(strncmp(ls.names[0], "[::]:", 5) == 0 ||
	    strncmp(ls.names[0], "0.0.0.0:", 8) == 0, "name %s", ls.names[0]);
	port = port_of(ls.names[0]);
	ck_assert_int_gt(port, 0);
	/* IPv4 clients get in either way */
	fd = connect_to(AF_INET, "127.0.0.1", port);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(-fd));
	close(fd);
	listen_close(&ls);
	conf_free(&c);
}
END_TEST

/*
 * Run fn in a forked child (so the fd 3 and environment games cannot touch
 * the test process, forked by Check or not); the child's exit status is
 * 0 or the number of the first check that failed.
 */
static int
in_child(int (*fn)(int), int arg)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* become a socket-activated process with sock as the only passed fd */
static int
fake_activation(int sock)
{
	char pid[32];

	if (sock != SD_LISTEN_FDS_START) {
		if (dup2(sock, SD_LISTEN_FDS_START) < 0)
			return 100;
		close(sock);
	}
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	if (setenv("LISTEN_FDS", "1", 1) < 0 || setenv("LISTEN_PID", pid, 1) < 0 ||
	    setenv("LISTEN_FDNAMES", "irc", 1) < 0)
		return 101;
	return 0;
}

static char activated_want[64];

static int
child_activated(int sock)
{
	struct conf c;
	struct listen_set ls;
	char err[256];
	int r, fl;

	if ((r = fake_activation(sock)) != 0)
		return r;
	conf_init_defaults(&c);
	/* the configured addresses must be ignored: this one would fail */
	free(c.listen[0]);
	c.listen[0] = strdup("192.0.2.1:1");
	if (c.listen[0] == NULL)
		return 102;
	r = listen_open(&ls, &c, err, sizeof err);
	conf_free(&c);
	if (r != 0)
		return 1;
	if (!ls.activated)
		return 2;
	if (ls.n != 1 || ls.fds[0] != SD_LISTEN_FDS_START)
		return 3;
	if (strcmp(ls.names[0], activated_want) != 0)
		return 4;
	if ((fl = fcntl(ls.fds[0], F_GETFL)) < 0 || !(fl & O_NONBLOCK))
		return 5;
	if ((fl = fcntl(ls.fds[0], F_GETFD)) < 0 || !(fl & FD_CLOEXEC))
		return 6;
	/* unset for the workers */
	if (getenv("LISTEN_FDS") != NULL || getenv("LISTEN_PID") != NULL)
		return 7;
	listen_close(&ls);
	if (fcntl(SD_LISTEN_FDS_START, F_GETFD) != -1)
		return 8;
	return 0;
}

START_TEST(test_listen_activation)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int sock, r;

	/* a listening socket in the parent; the child gets it as fd 3 */
	sock = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(sock, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(sock, 4), 0);
	ck_assert_int_eq(getsockname(sock, (struct sockaddr *)&sin, &len), 0);
	snprintf(activated_want, sizeof activated_want, "127.0.0.1:%u",
	    ntohs(sin.sin_port));

	r = in_child(child_activated, sock);
	ck_assert_msg(r == 0, "activated child failed check %d", r);
	close(sock);
}
END_TEST

static int
child_not_listening(int sock)
{
	struct conf c;
	struct listen_set ls;
	char err[256];
	int r;

	if ((r = fake_activation(sock)) != 0)
		return r;
	conf_init_defaults(&c);
	r = listen_open(&ls, &c, err, sizeof err);
	conf_free(&c);
	if (r != -1)
		return 1;
	if (strcmp(err, "socket activation: fd 3 (irc) is not a listening "
	    "stream socket") != 0)
		return 2;
	if (ls.n != 0 || fcntl(SD_LISTEN_FDS_START, F_GETFD) != -1)
		return 3;	/* must have been closed */
	return 0;
}

START_TEST(test_listen_activation_bad_fd)
{
	int sock, r;

	/* a stream socket that is not listening must be refused, by fd */
	sock = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(sock, 0);
	r = in_child(child_not_listening, sock);
	ck_assert_msg(r == 0, "child failed check %d", r);
	close(sock);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_tls);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_small_things);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_wrong_type);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_bad_listen);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_motd_file);
	tcase_add_test(tc, test_motd_file_too_big);
	tcase_add_test(tc, test_admin_group);
	tcase_add_test(tc, test_opers);
	tcase_add_test(tc, test_opers_limits);
	tcase_add_test(tc, test_admin_only);
	tcase_add_test(tc, test_admin_info);
	tcase_add_test(tc, test_spare_workers);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_example_conf);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_listen_bind);
	tcase_add_test(tc, test_listen_partial_failure);
	tcase_add_test(tc, test_listen_skip_unavailable);
	tcase_add_test(tc, test_listen_dual_stack);
	tcase_add_test(tc, test_listen_activation);
	tcase_add_test(tc, test_listen_activation_bad_fd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return unit_run(config_suite());
}
