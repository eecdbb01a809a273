/*
 * check_client_integ: the shmchat client against real servers.
 *
 * Each test starts its own shmchatd through the harness (socket activation
 * on an ephemeral loopback port) or its own ngircd (a free port found by
 * binding port 0, a temporary config, polled until it accepts), runs the
 * client binary as a child process and watches what it does from both
 * sides: the client's own output, and a harness IRC client on the server.
 *
 * Child processes ("kids") get their own process group and
 * PR_SET_PDEATHSIG; every assertion goes through C_ASSERT/C_FAIL, which
 * print the kids' output, kill and reap them, and only then hand over to
 * the harness (which cleans up the servers before Check ends the test).
 * The interactive test runs the client on a pseudo-terminal (forkpty) and
 * keeps a small VT100 screen model of its output to check what a person
 * would see. The TLS tests make their certificates at run time
 * (harness_tls.c) and use shmchatd's or ngircd's TLS listener, or a TLS
 * server of their own in this process for what a real server would not do.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "harness.h"
#include "harness_tls.h"
#include "irc.h"

#ifndef SHMCHAT_PATH
#error "SHMCHAT_PATH must be defined by the build"
#endif

extern char **environ;

/* ------------------------------------------------------------ the kids */

#define MAXKIDS	16

struct sbuf {
	char *p;
	size_t len, cap;
};

struct kid {
	const char *name;
	pid_t pid;
	int in, out, err, pty;	/* -1 when closed */
	bool reaped;
	int status;
	struct sbuf o, e;	/* stdout (or the pty), stderr */
};

static struct kid g_kids[MAXKIDS];
static int g_nkids;
static pid_t g_ngircd = -1;

static void
sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL)
			return;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
kid_close_fds(struct kid *k)
{
	int *fds[] = { &k->in, &k->out, &k->err, &k->pty };

	for (size_t i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static void
tail(const char *what, const struct sbuf *b)
{
	size_t from = b->len > 3000 ? b->len - 3000 : 0;

	fprintf(stderr, "    %s (%zu bytes)%s:\n%s\n", what, b->len,
	    from ? ", last 3000" : "", b->p ? b->p + from : "");
}

static void
kids_dump(void)
{
	for (int i = 0; i < g_nkids; i++) {
		struct kid *k = &g_kids[i];

		fprintf(stderr, "--- %s (pid %d%s):\n", k->name, (int)k->pid,
		    k->reaped ? ", exited" : "");
		tail(k->pty >= 0 || k->out < 0 ? "output" : "stdout", &k->o);
		tail("stderr", &k->e);
	}
}

/* kill and reap every kid (and ngircd); safe to call twice */
static void
kids_kill_all(void)
{
	for (int i = 0; i < g_nkids; i++) {
		struct kid *k = &g_kids[i];

		if (!k->reaped && k->pid > 0) {
			kill(-k->pid, SIGKILL);
			kill(k->pid, SIGKILL);
			while (waitpid(k->pid, &k->status, 0) < 0 && errno == EINTR)
				;
			k->reaped = true;
		}
		kid_close_fds(k);
	}
	if (g_ngircd > 0) {
		kill(-g_ngircd, SIGKILL);
		kill(g_ngircd, SIGKILL);
		while (waitpid(g_ngircd, NULL, 0) < 0 && errno == EINTR)
			;
		g_ngircd = -1;
	}
}

static void
kids_free(void)
{
	kids_kill_all();
	for (int i = 0; i < g_nkids; i++) {
		free(g_kids[i].o.p);
		free(g_kids[i].e.p);
	}
	memset(g_kids, 0, sizeof g_kids);
	g_nkids = 0;
}

#define C_FAIL(...) do {						\
	kids_dump();							\
	kids_kill_all();						\
	H_FAIL(__VA_ARGS__);						\
} while (0)
#define C_ASSERT(cond, ...) do {					\
	if (!(cond))							\
		C_FAIL("assertion '" #cond "' failed: " __VA_ARGS__);	\
} while (0)

static void
fixture_setup(void)
{
	harness_setup();
	g_nkids = 0;
}

static void
fixture_teardown(void)
{
	kids_free();
	harness_teardown();
}

/* the environment of a kid: ours, with a private HOME and XDG dir */
static char **
kid_env(const char *const extra[])
{
	static char home[600], xdg[600];
	size_t n = 0, k = 0;
	char **env;

	snprintf(home, sizeof home, "HOME=%s", h_tmpdir());
	snprintf(xdg, sizeof xdg, "XDG_CONFIG_HOME=%s/xdg", h_tmpdir());
	while (environ[n])
		n++;
	env = calloc(n + 16, sizeof *env);
	if (env == NULL)
		C_FAIL("out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];

		if (!strncmp(e, "HOME=", 5) || !strncmp(e, "XDG_CONFIG_HOME=", 16) ||
		    !strncmp(e, "LISTEN_", 7) || !strncmp(e, "NOTIFY_SOCKET=", 14) ||
		    !strncmp(e, "LC_", 3) || !strncmp(e, "LANG=", 5) ||
		    !strncmp(e, "TERM=", 5) || !strncmp(e, "NO_COLOR=", 9))
			continue;
		env[k++] = (char *)e;
	}
	env[k++] = home;
	env[k++] = xdg;
	env[k++] = (char *)"LC_ALL=C.UTF-8";
	for (; extra && *extra; extra++)
		env[k++] = (char *)*extra;
	env[k] = NULL;
	return env;
}

/* wrapper words (SHMCHATD_WRAPPER: valgrind in `make check-valgrind`) + the client */
static char **
kid_argv(const char *const args[])
{
	const char *w = getenv("SHMCHATD_WRAPPER");
	char *words = strdup(w ? w : ""), **argv;
	size_t n = 0, k = 0;

	for (const char *const *a = args; *a; a++)
		n++;
	argv = calloc(n + 2 + strlen(words ? words : "") / 2 + 2, sizeof *argv);
	if (argv == NULL || words == NULL)
		C_FAIL("out of memory");
	for (char *save = NULL, *t = strtok_r(words, " \t", &save); t;
	    t = strtok_r(NULL, " \t", &save))
		argv[k++] = strdup(t);
	free(words);
	argv[k++] = strdup(SHMCHAT_PATH);
	for (size_t i = 0; i < n; i++)
		argv[k++] = strdup(args[i]);
	argv[k] = NULL;
	return argv;
}

static void
free_argv(char **argv)
{
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static void
child_prepare(pid_t parent)
{
	sigset_t none;
	struct sigaction sa;
	static const int sigs[] = { SIGPIPE, SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGALRM,
	    SIGTSTP, SIGWINCH };

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static struct kid *
kid_new(const char *name)
{
	struct kid *k;

	if (g_nkids == MAXKIDS)
		C_FAIL("too many child processes");
	k = &g_kids[g_nkids++];
	memset(k, 0, sizeof *k);
	k->name = name;
	k->in = k->out = k->err = k->pty = -1;
	k->reaped = true;
	return k;
}

/*
 * Run the client with args, input on its stdin (NULL: /dev/null, kept
 * open as an empty pipe when keep_stdin), stdout and stderr captured.
 */
static struct kid *
kid_run(const char *name, const char *const args[], const char *input, bool keep_stdin)
{
	struct kid *k = kid_new(name);
	int pin[2], pout[2], perr[2];
	char **argv = kid_argv(args), **env = kid_env(NULL);
	pid_t parent = getpid();
	size_t inlen = input ? strlen(input) : 0;

	if (inlen > 60000)
		C_FAIL("test input too long for a pipe");
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)
		C_FAIL("pipe: %s", strerror(errno));
	fflush(NULL);
	k->pid = fork();
	if (k->pid < 0)
		C_FAIL("fork: %s", strerror(errno));
	if (k->pid == 0) {
		child_prepare(parent);
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execve(argv[0], argv, env);
		_exit(127);
	}
	k->reaped = false;
	free_argv(argv);
	free(env);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	k->out = pout[0];
	k->err = perr[0];
	fcntl(k->out, F_SETFL, O_NONBLOCK);
	fcntl(k->err, F_SETFL, O_NONBLOCK);
	if (inlen > 0 && write(pin[1], input, inlen) != (ssize_t)inlen)
		C_FAIL("writing the client's input: %s", strerror(errno));
	if (keep_stdin)
		k->in = pin[1];
	else
		close(pin[1]);
	return k;
}

/* the same on a pseudo-terminal of rows x cols */
static struct kid *
kid_run_pty(const char *name, const char *const args[], int rows, int cols)
{
	static const char *const extra[] = { "TERM=xterm", "NO_COLOR=1", NULL };
	struct kid *k = kid_new(name);
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	char **argv = kid_argv(args), **env = kid_env(extra);
	pid_t parent = getpid();

	fflush(NULL);
	k->pid = forkpty(&k->pty, NULL, NULL, &ws);
	if (k->pid < 0)
		C_FAIL("forkpty: %s", strerror(errno));
	if (k->pid == 0) {
		/* forkpty made us a session leader; keep our own group id */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		child_prepare(parent);
		execve(argv[0], argv, env);
		_exit(127);
	}
	k->reaped = false;
	free_argv(argv);
	free(env);
	fcntl(k->pty, F_SETFD, FD_CLOEXEC);
	fcntl(k->pty, F_SETFL, O_NONBLOCK);
	return k;
}

/* read what the kid wrote, waiting up to ms for something */
static void
kid_pump(struct kid *k, int ms)
{
	struct pollfd p[3];
	struct sbuf *dst[3];
	int n = 0;

	if (k->pty >= 0) {
		p[n] = (struct pollfd){ k->pty, POLLIN, 0 };
		dst[n++] = &k->o;
	}
	if (k->out >= 0) {
		p[n] = (struct pollfd){ k->out, POLLIN, 0 };
		dst[n++] = &k->o;
	}
	if (k->err >= 0) {
		p[n] = (struct pollfd){ k->err, POLLIN, 0 };
		dst[n++] = &k->e;
	}
	if (n == 0) {
		if (ms > 0)
			poll(NULL, 0, ms < 10 ? ms : 10);
		return;
	}
	if (poll(p, (nfds_t)n, ms) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		char buf[8192];
		ssize_t r;

		if (p[i].revents == 0)
			continue;
		r = read(p[i].fd, buf, sizeof buf);
		if (r > 0)
			sbuf_add(dst[i], buf, (size_t)r);
		else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* EOF (or EIO on a pty whose other side closed) */
			if (p[i].fd == k->pty)
				k->pty = -1;
			else if (p[i].fd == k->out)
				k->out = -1;
			else
				k->err = -1;
			close(p[i].fd);
		}
	}
}

static bool
kid_exited(struct kid *k)
{
	pid_t w;

	if (k->reaped)
		return true;
	w = waitpid(k->pid, &k->status, WNOHANG);
	if (w == k->pid || (w < 0 && errno == ECHILD)) {
		k->reaped = true;
		return true;
	}
	return false;
}

/* wait for the kid to exit; its exit status, or -1 with a failure */
static int
kid_wait(struct kid *k, int ms)
{
	long long deadline = h_now_ms() + ms;

	while (!kid_exited(k)) {
		if (h_now_ms() >= deadline)
			C_FAIL("%s did not exit within %d ms", k->name, ms);
		kid_pump(k, 10);
	}
	/* the rest of what it wrote */
	while (k->out >= 0 || k->err >= 0 || k->pty >= 0) {
		size_t before = k->o.len + k->e.len;

		kid_pump(k, 50);
		if (k->o.len + k->e.len == before)
			break;
	}
	if (WIFSIGNALED(k->status))
		C_FAIL("%s was killed by signal %d", k->name, WTERMSIG(k->status));
	return WEXITSTATUS(k->status);
}

static void
kid_expect_exit(struct kid *k, int want, int ms)
{
	int st = kid_wait(k, ms);

	C_ASSERT(st == want, "%s exited %d, expected %d", k->name, st, want);
}

/* wait until the kid's stdout (or stderr) holds text */
static void
kid_expect(struct kid *k, bool err, const char *text, int ms)
{
	long long deadline = h_now_ms() + ms;
	struct sbuf *b = err ? &k->e : &k->o;

	while (b->p == NULL || memmem(b->p, b->len, text, strlen(text)) == NULL) {
		if (h_now_ms() >= deadline)
			C_FAIL("%s: no \"%s\" on %s within %d ms", k->name, text,
			    err ? "stderr" : "stdout", ms);
		if (kid_exited(k) && k->out < 0 && k->err < 0 && k->pty < 0)
			C_FAIL("%s exited (status 0x%x) without \"%s\" on %s", k->name,
			    k->status, text, err ? "stderr" : "stdout");
		kid_pump(k, 20);
	}
}

static bool
has(const struct sbuf *b, const char *text)
{
	return b->p != NULL && memmem(b->p, b->len, text, strlen(text)) != NULL;
}

/* --------------------------------------------------------- JSON check */

/*
 * A strict parser for what --json promises: one flat object per line with
 * string keys and string/null values. Values are decoded into v[].
 */
#define JOBJ_KEYS	12	/* the five, "nick", and IRCv3's "msgid", "history" */

struct jobj {
	int n;
	char key[JOBJ_KEYS][32];
	char val[JOBJ_KEYS][2048];
	bool null[JOBJ_KEYS];
};

static const char *
json_str(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = (unsigned char)*p;
		size_t k;

		if (c == '\0' || c < 0x20)
			return NULL;
		if (c == '\\') {
			char e = *++p;
			const char *simple = strchr("\"\\/bfnrt", e);

			if (e == 'u') {
				unsigned v = 0;

				for (int i = 1; i <= 4; i++) {
					char h = p[i];

					v <<= 4;
					if (h >= '0' && h <= '9')
						v |= (unsigned)(h - '0');
					else if (h >= 'a' && h <= 'f')
						v |= (unsigned)(h - 'a' + 10);
					else if (h >= 'A' && h <= 'F')
						v |= (unsigned)(h - 'A' + 10);
					else
						return NULL;
				}
				p += 5;
				/* encode as UTF-8 (BMP only: we never emit pairs) */
				if (v >= 0xD800 && v <= 0xDFFF)
					return NULL;
				if (n + 4 >= cap)
					return NULL;
				if (v < 0x80)
					out[n++] = (char)v;
				else if (v < 0x800) {
					out[n++] = (char)(0xC0 | v >> 6);
					out[n++] = (char)(0x80 | (v & 0x3F));
				} else {
					out[n++] = (char)(0xE0 | v >> 12);
					out[n++] = (char)(0x80 | ((v >> 6) & 0x3F));
					out[n++] = (char)(0x80 | (v & 0x3F));
				}
				continue;
			}
			if (e == '\0' || simple == NULL || n + 1 >= cap)
				return NULL;
			out[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
			p++;
			continue;
		}
		k = irc_utf8_seqlen(p, strlen(p));
		if (k == 0 || n + k >= cap)
			return NULL;
		memcpy(out + n, p, k);
		n += k;
		p += k;
	}
	out[n] = '\0';
	return p + 1;
}

static bool
json_parse(const char *line, struct jobj *o)
{
	const char *p = line;

	memset(o, 0, sizeof *o);
	if (*p++ != '{')
		return false;
	for (;;) {
		if (o->n == JOBJ_KEYS)
			return false;
		if ((p = json_str(p, o->key[o->n], sizeof o->key[0])) == NULL || *p++ != ':')
			return false;
		if (!strncmp(p, "null", 4)) {
			o->null[o->n] = true;
			p += 4;
		} else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
			/* kept as text: "true", "false" */
			snprintf(o->val[o->n], sizeof o->val[0], "%s", p[0] == 't' ? "true" : "false");
			p += p[0] == 't' ? 4 : 5;
		} else if ((p = json_str(p, o->val[o->n], sizeof o->val[0])) == NULL)
			return false;
		o->n++;
		if (*p == ',') {
			p++;
			continue;
		}
		return p[0] == '}' && p[1] == '\0';
	}
}

/* a key's value ("(null)" for null, NULL when missing) */
static const char *
jget(const struct jobj *o, const char *key)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->key[i], key))
			return o->null[i] ? "(null)" : o->val[i];
	return NULL;
}

/*
 * Parse every complete line of k's stdout as JSON (failing on one that is
 * not); returns how many there are and copies up to max into out.
 */
static int
json_lines(struct kid *k, struct jobj *out, int max)
{
	int n = 0;
	char *text, *save = NULL;

	if (k->o.p == NULL)
		return 0;
	text = strndup(k->o.p, k->o.len);
	/* only complete lines */
	*(strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text) = '\0';
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct jobj o;

		if (!json_parse(l, &o)) {
			char copy[600];

			snprintf(copy, sizeof copy, "%s", l);
			free(text);
			C_FAIL("%s printed a line that is not a JSON object: %s", k->name, copy);
		}
		if (!jget(&o, "type") || !jget(&o, "time") || !jget(&o, "from") ||
		    !jget(&o, "target") || !jget(&o, "text")) {
			free(text);
			C_FAIL("%s: JSON event without type/time/from/target/text", k->name);
		}
		if (n < max)
			out[n] = o;
		n++;
	}
	free(text);
	return n;
}

/* wait until a JSON event of type from `from` with text (NULL: any) arrives */
static void
json_expect(struct kid *k, const char *type, const char *from, const char *text, int ms)
{
	static struct jobj ev[256];
	long long deadline = h_now_ms() + ms;

	for (;;) {
		int n = json_lines(k, ev, 256);

		for (int i = 0; i < n && i < 256; i++)
			if (!strcmp(jget(&ev[i], "type"), type) &&
			    (from == NULL || !irc_casecmp(jget(&ev[i], "from"), from)) &&
			    (text == NULL || !strcmp(jget(&ev[i], "text"), text)))
				return;
		if (h_now_ms() >= deadline)
			C_FAIL("%s: no JSON %s event from %s%s%s within %d ms", k->name, type,
			    from ? from : "anyone", text ? " with text " : "", text ? text : "", ms);
		if (kid_exited(k) && k->out < 0)
			C_FAIL("%s exited before the JSON %s event", k->name, type);
		kid_pump(k, 20);
	}
}

/* ------------------------------------------------------------- helpers */

static void
join(struct cli *c, const char *chan)
{
	struct irc_msg m;

	cli_send(c, "JOIN %s", chan);
	EXPECT_FROM(c, "JOIN", c->nick, &m);
	EXPECT(c, "366", &m);
}

/* the next PRIVMSG c gets: from nick, to target, with this text */
static void
expect_msg(struct cli *c, const char *from, const char *target, const char *text)
{
	struct irc_msg m;

	if (!cli_wait(c, "PRIVMSG", NULL, T_LONG, &m))
		C_FAIL("%s: no PRIVMSG (expected \"%.60s\" from %s)", c->nick, text, from);
	C_ASSERT(m.prefix && !strncmp(m.prefix, from, strlen(from)) &&
	    m.prefix[strlen(from)] == '!', "PRIVMSG from %s, expected from %s",
	    m.prefix ? m.prefix : "?", from);
	C_ASSERT(!irc_casecmp(irc_param(&m, 0), target), "PRIVMSG to %s, expected %s",
	    irc_param(&m, 0), target);
	C_ASSERT(!strcmp(msg_last(&m), text), "PRIVMSG text \"%.80s\", expected \"%.80s\"",
	    msg_last(&m), text);
}

static char *
port_arg(int port)
{
	static char buf[8][32];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, 32, "127.0.0.1:%d", port);
	return p;
}

/* a loopback port nobody listens on (bound, then released) */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		C_FAIL("binding a free port: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void
write_xdg_conf(const char *text)
{
	char dir[600], path[700];

	snprintf(dir, sizeof dir, "%s/xdg", h_tmpdir());
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/xdg/shmchat", h_tmpdir());
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/shmchat.conf", dir);
	h_write_file(path, text);
}

/* ----------------------------------------------------------- script mode */

START_TEST(test_script_delivers_in_order)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher");
	static char input[60000], nospace[1600], words[1600];
	size_t used = 0;
	struct kid *k;
	struct irc_msg m;

	join(w, "#ops");
	/* 200 short lines, an empty one (skipped), a CRLF one, two long ones */
	for (int i = 0; i < 200; i++)
		used += (size_t)snprintf(input + used, sizeof input - used, "line %03d\n", i);
	/* no spaces and multibyte characters: hard cuts, never inside one */
	for (size_t i = 0; i + 3 < sizeof nospace - 1; i += 3)
		memcpy(nospace + i, i % 2 ? "\xe2\x82\xac" : "a\xc3\xa9", 3);
	nospace[sizeof nospace - 3] = '\0';
	for (size_t i = 0; strlen(words) < sizeof words - 20; i++)
		strcat(words, i % 4 ? "word " : "w\xc3\xb6rd ");
	words[strlen(words) - 1] = '\0';
	used += (size_t)snprintf(input + used, sizeof input - used,
	    "\ncrlf line\r\n%s\n%s\nlast line without newline", nospace, words);

	k = kid_run("shmchat", (const char *[]){ "-s", port_arg(s->port), "-n", "deploybot",
	    "-c", "#ops", NULL }, input, false);
	EXPECT_FROM(w, "JOIN", "deploybot", &m);
	for (int i = 0; i < 200; i++) {
		char want[32];

		snprintf(want, sizeof want, "line %03d", i);
		expect_msg(w, "deploybot", "#ops", want);
	}
	expect_msg(w, "deploybot", "#ops", "crlf line");
	/* the long lines come in pieces that put back together make them */
	{
		static char got[4096];
		const char *const longs[] = { nospace, words };

		for (int l = 0; l < 2; l++) {
			got[0] = '\0';
			while (strlen(got) < strlen(longs[l])) {
				if (!cli_wait(w, "PRIVMSG", NULL, T_LONG, &m))
					C_FAIL("long line %d: only %zu of %zu bytes arrived", l,
					    strlen(got), strlen(longs[l]));
				C_ASSERT(irc_utf8_valid(msg_last(&m), strlen(msg_last(&m))),
				    "a piece of long line %d is not valid UTF-8", l);
				if (l == 1 && got[0] != '\0')
					strcat(got, " ");	/* cut at a space */
				strcat(got, msg_last(&m));
			}
			C_ASSERT(!strcmp(got, longs[l]), "long line %d came back different", l);
		}
	}
	expect_msg(w, "deploybot", "#ops", "last line without newline");
	EXPECT_FROM(w, "QUIT", "deploybot", &m);
	kid_expect_exit(k, 0, T_LONG);
	C_ASSERT(k->e.len == 0, "unexpected stderr: %s", k->e.p);
	srv_stop(s);
}
END_TEST

START_TEST(test_script_to_nick_and_config)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher");
	char conf[256];
	struct kid *k;
	struct irc_msg m;

	/* --to a nick: a private message, no channel needed */
	k = kid_run("shmchat", (const char *[]){ "-s", port_arg(s->port), "-n", "pager",
	    "--to", "watcher", NULL }, "disk full on db1\n", false);
	expect_msg(w, "pager", "watcher", "disk full on db1");
	kid_expect_exit(k, 0, T_LONG);

	/* everything from the XDG config file; the command line wins */
	snprintf(conf, sizeof conf, "server = \"%s\";\nnick = \"confnick\";\n"
	    "channel = [\"#conf\"];\nrealname = \"From the file\";\n", port_arg(s->port));
	write_xdg_conf(conf);
	join(w, "#conf");
	k = kid_run("shmchat", (const char *[]){ NULL }, "from the file\n", false);
	EXPECT_FROM(w, "JOIN", "confnick", &m);
	expect_msg(w, "confnick", "#conf", "from the file");
	kid_expect_exit(k, 0, T_LONG);
	k = kid_run("shmchat", (const char *[]){ "--nick", "clinick", "--notice", NULL },
	    "notice this\n", false);
	EXPECT_FROM(w, "JOIN", "clinick", &m);
	EXPECT_FROM(w, "NOTICE", "clinick", &m);
	C_ASSERT(!strcmp(msg_last(&m), "notice this"), "NOTICE text %s", msg_last(&m));
	kid_expect_exit(k, 0, T_LONG);
	srv_stop(s);
}
END_TEST

START_TEST(test_script_failures)
{
	struct srv *s = srv_start("password = \"s3cret\";");
	struct kid *k;
	int port = free_port();

	/* nobody listening */
	k = kid_run("refused", (const char *[]){ "-s", port_arg(port), "-c", "#ops", NULL },
	    "x\n", false);
	kid_expect_exit(k, EX_UNAVAILABLE, T_LONG);
	C_ASSERT(has(&k->e, "cannot connect to 127.0.0.1:"), "stderr: %s", k->e.p);
	C_ASSERT(has(&k->e, "Connection refused"), "stderr: %s", k->e.p);

	/* the wrong password, and none at all */
	k = kid_run("badpass", (const char *[]){ "-s", port_arg(s->port), "-c", "#ops",
	    "--password", "wrong", NULL }, "x\n", false);
	kid_expect_exit(k, EX_NOPERM, T_LONG);
	C_ASSERT(has(&k->e, "password"), "stderr: %s", k->e.p);
	k = kid_run("nopass", (const char *[]){ "-s", port_arg(s->port), "-c", "#ops", NULL },
	    "x\n", false);
	kid_expect_exit(k, EX_NOPERM, T_LONG);

	/*
	 * the right one; then a message the server refuses. (An invalid nick:
	 * shmchatd refuses it at once. For a valid nick nobody has, its 401
	 * comes from the master after the fan-out and can trail the PONG and
	 * even the QUIT's ERROR, so no client can tell reliably.)
	 */
	k = kid_run("nosuchnick", (const char *[]){ "-s", port_arg(s->port), "--to", "9ghost",
	    "--password", "s3cret", NULL }, "hello?\n", false);
	kid_expect_exit(k, EX_PROTOCOL, T_LONG);
	C_ASSERT(has(&k->e, "No such nick"), "stderr: %s", k->e.p);

	/* usage and configuration errors */
	k = kid_run("usage", (const char *[]){ "--bogus", NULL }, NULL, false);
	kid_expect_exit(k, EX_USAGE, T_LONG);
	C_ASSERT(has(&k->e, "--bogus"), "stderr: %s", k->e.p);
	k = kid_run("notarget", (const char *[]){ "-s", port_arg(s->port), NULL }, "x\n", false);
	kid_expect_exit(k, EX_USAGE, T_LONG);
	write_xdg_conf("nick = \"ok\";\nchannel = [\"#a\", ;\n");
	k = kid_run("badconf", (const char *[]){ NULL }, NULL, false);
	kid_expect_exit(k, EX_CONFIG, T_LONG);
	C_ASSERT(has(&k->e, "shmchat.conf:2:"), "stderr: %s", k->e.p);
	k = kid_run("help", (const char *[]){ "--help", NULL }, NULL, false);
	kid_expect_exit(k, 0, T_LONG);
	C_ASSERT(has(&k->o, "--listen"), "help: %s", k->o.p);
	srv_stop(s);
}
END_TEST

START_TEST(test_nick_collision)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "deploybot");
	struct kid *k, *l;
	struct irc_msg m;

	join(w, "#ops");
	k = kid_run("shmchat", (const char *[]){ "-s", port_arg(s->port), "-n", "deploybot",
	    "-c", "#ops", NULL }, "built\n", false);
	EXPECT_FROM(w, "JOIN", "deploybot_", &m);
	expect_msg(w, "deploybot_", "#ops", "built");
	kid_expect_exit(k, 0, T_LONG);
	C_ASSERT(has(&k->e, "nick deploybot is in use, trying deploybot_"), "stderr: %s", k->e.p);

	/* a listener takes the next free one while deploybot_ is around */
	k = kid_run("shmchat2", (const char *[]){ "-s", port_arg(s->port), "-n", "deploybot",
	    "-c", "#ops", NULL }, NULL, true);
	EXPECT_FROM(w, "JOIN", "deploybot_", &m);
	l = kid_run("listener", (const char *[]){ "-s", port_arg(s->port), "-n", "deploybot",
	    "-c", "#ops", "--listen", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "deploybot2", &m);
	kid_expect(l, true, "trying deploybot2", T_SHORT);
	close(k->in);
	k->in = -1;
	kid_expect_exit(k, 0, T_LONG);
	kill(l->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);
	EXPECT_FROM(w, "QUIT", "deploybot2", &m);
	srv_stop(s);
}
END_TEST

/* ----------------------------------------------------------- listen mode */

START_TEST(test_listen_json)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher"), *b = cli_new(s, "bob");
	static struct jobj ev[64];
	struct kid *l;
	struct irc_msg m;
	int n;

	join(w, "#ops");
	l = kid_run("listener", (const char *[]){ "-s", port_arg(s->port), "-n", "lis",
	    "-c", "#ops", "--listen", "--json", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "lis", &m);
	json_expect(l, "join", "lis", NULL, T_SHORT);
	cli_send(w, "PRIVMSG #ops :hello \"quoted\" \\ back\tslash");
	cli_send(w, "PRIVMSG #ops :\001ACTION waves\001");
	cli_send(w, "NOTICE #ops :a notice");
	cli_send(w, "PRIVMSG lis :psst");
	cli_send(w, "PRIVMSG #ops :bad \xff\xfe utf8 \xc3");
	cli_send(w, "PRIVMSG #ops :\033[2J escape");
	cli_send(w, "TOPIC #ops :new topic");
	join(b, "#ops");
	cli_send(b, "PART #ops :later");
	cli_send(w, "PRIVMSG #ops :the end");
	json_expect(l, "message", "watcher", "the end", T_LONG);

	/* bob's PART goes through the master: it may trail "the end" */
	json_expect(l, "part", "bob", "later", T_SHORT);
	json_expect(l, "join", "bob", NULL, 0);
	json_expect(l, "message", "watcher", "hello \"quoted\" \\ back\tslash", 0);
	json_expect(l, "action", "watcher", "waves", 0);
	json_expect(l, "notice", "watcher", "a notice", 0);
	json_expect(l, "message", "watcher", "psst", 0);
	json_expect(l, "message", "watcher", "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd", 0);
	json_expect(l, "message", "watcher", "\033[2J escape", 0);
	json_expect(l, "topic", "watcher", "new topic", 0);
	n = json_lines(l, ev, 64);
	C_ASSERT(n == 11, "%d JSON lines, expected 11", n);
	for (int i = 0; i < n && i < 64; i++) {
		const char *t = jget(&ev[i], "time");

		C_ASSERT(strlen(t) == 24 && t[10] == 'T' && t[23] == 'Z', "time %s", t);
		if (!strcmp(jget(&ev[i], "text"), "psst"))
			C_ASSERT(!strcmp(jget(&ev[i], "target"), "lis"), "target %s",
			    jget(&ev[i], "target"));
		else if (!strcmp(jget(&ev[i], "type"), "message"))
			C_ASSERT(!strcmp(jget(&ev[i], "target"), "#ops"), "target %s",
			    jget(&ev[i], "target"));
	}
	C_ASSERT(!strcmp(jget(&ev[0], "type"), "join") && !strcmp(jget(&ev[0], "from"), "lis"),
	    "first event %s from %s", jget(&ev[0], "type"), jget(&ev[0], "from"));

	kill(l->pid, SIGINT);
	kid_expect_exit(l, 0, T_LONG);
	EXPECT_FROM(w, "QUIT", "lis", &m);
	srv_stop(s);
}
END_TEST

START_TEST(test_listen_text)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher");
	struct kid *l;
	struct irc_msg m;

	join(w, "#ops");
	l = kid_run("listener", (const char *[]){ "-s", port_arg(s->port), "-n", "lis",
	    "-c", "#ops", "--listen", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "lis", &m);
	cli_send(w, "PRIVMSG #ops :plain text");
	cli_send(w, "PRIVMSG lis :private");
	kid_expect(l, false, "#ops <watcher> plain text\n", T_SHORT);
	kid_expect(l, false, "*watcher* private\n", T_SHORT);
	C_ASSERT(!has(&l->o, "\033"), "colour codes in piped output");
	kill(l->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);
	srv_stop(s);
}
END_TEST

START_TEST(test_reconnect)
{
	struct srv *s = srv_start_bind(NULL), *s2;
	struct cli *w, *w2;
	struct kid *l;
	struct irc_msg m;
	char conf[128];
	int port = s->port;

	w = cli_new(s, "watcher");
	join(w, "#ops");
	l = kid_run("listener", (const char *[]){ "-s", port_arg(port), "-n", "lis",
	    "-c", "#ops,#dev", "--listen", "--json", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "lis", &m);
	cli_send(w, "PRIVMSG #ops :before");
	json_expect(l, "message", "watcher", "before", T_SHORT);

	/* the server goes away, another comes up on the same port */
	srv_stop(s);
	kid_expect(l, true, "reconnecting", T_SHORT);
	snprintf(conf, sizeof conf, "listen = [\"127.0.0.1:%d\"];", port);
	s2 = srv_start_bind(conf);
	C_ASSERT(s2->port == port, "restarted on port %d, not %d", s2->port, port);
	w2 = cli_new(s2, "watcher2");
	join(w2, "#dev");
	/* the listener is back, in both its channels, with its nick: in the
	 * NAMES reply if it was quicker than us, else its JOIN comes after */
	cli_send(w2, "NAMES #dev");
	EXPECT(w2, "353", &m);
	if (strstr(msg_last(&m), "lis") == NULL) {
		EXPECT_T(w2, "JOIN", T_LONG, &m);
		C_ASSERT(m.prefix != NULL && !strncmp(m.prefix, "lis!", 4), "JOIN from %s",
		    m.prefix ? m.prefix : "(no prefix)");
	} else
		EXPECT(w2, "366", &m);
	cli_send(w2, "JOIN #ops");
	EXPECT(w2, "366", &m);
	cli_send(w2, "PRIVMSG #ops :after");
	json_expect(l, "message", "watcher2", "after", T_SHORT);
	kill(l->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);
	srv_stop(s2);
}
END_TEST

/* ------------------------------------------------- a hostile fake server */

static int
fake_listen(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		C_FAIL("fake server socket: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

static int
fake_accept(int lfd, struct kid *k)
{
	long long deadline = h_now_ms() + T_LONG;

	for (;;) {
		struct pollfd p = { lfd, POLLIN, 0 };
		int fd;

		if (poll(&p, 1, 20) == 1 && (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			return fd;
		kid_pump(k, 0);
		if (h_now_ms() >= deadline)
			C_FAIL("the client did not connect to the fake server");
	}
}

/* read from the client until its output holds text */
static void
fake_expect(int fd, struct sbuf *got, const char *text, struct kid *k)
{
	long long deadline = h_now_ms() + T_LONG;

	while (!has(got, text)) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[4096];
		ssize_t n;

		if (h_now_ms() >= deadline)
			C_FAIL("fake server: no \"%s\" from the client; got: %s", text,
			    got->p ? got->p : "");
		kid_pump(k, 0);
		if (poll(&p, 1, 20) != 1)
			continue;
		n = read(fd, buf, sizeof buf);
		if (n <= 0)
			C_FAIL("fake server: client closed the connection before \"%s\"", text);
		sbuf_add(got, buf, (size_t)n);
	}
}

static void
fake_send(int fd, const char *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		C_FAIL("fake server write: %s", strerror(errno));
}

/* a string literal, NULs included */
#define FAKE(fd, lit)	fake_send((fd), (lit), sizeof(lit) - 1)

START_TEST(test_hostile_server)
{
	int port, lfd = fake_listen(&port), fd;
	struct sbuf got = { 0 };
	static char big[10000];
	struct kid *l;
	long long t0;

	l = kid_run("listener", (const char *[]){ "-s", port_arg(port), "-n", "lis", "-c",
	    "#ops", "--listen", "--json", NULL }, NULL, false);
	fd = fake_accept(lfd, l);
	fake_expect(fd, &got, "USER ", l);
	FAKE(fd, ":fake 001 lis :Welcome lis!u@h\r\n");
	fake_expect(fd, &got, "JOIN #ops", l);
	/* an overlong line, NUL bytes, garbage, unknown numerics, bad UTF-8 */
	memset(big, 'A', sizeof big);
	fake_send(fd, big, sizeof big);
	FAKE(fd, "\r\n");
	FAKE(fd, ":evil!e@h PRIVMSG #ops :bin\0ary\r\n");
	FAKE(fd, "\x01\x02\xff\xfe garbage \x80\r\n\r\n   \r\n:\r\n@tags\r\n");
	FAKE(fd, ":fake 999 lis x :unknown numeric\r\n:fake 123\r\n");
	FAKE(fd, ":lis!u@h JOIN #ops\r\n");
	FAKE(fd, ":evil!e@h PRIVMSG #ops :\xc3\x28 bad \xed\xa0\x80 utf8\r\n");
	FAKE(fd, ":evil!e@h PRIVMSG #ops :\033]0;title\007\033[31mred\r\n");
	FAKE(fd, ":evil!e@h PRIVMSG #ops\r\n:evil!e@h KICK\r\n:x NICK\r\n");
	FAKE(fd, ":evil!e@h PRIVMSG #ops :after the storm\r\n");
	/* and a server that stops in the middle of a line */
	FAKE(fd, ":evil!e@h PRIVMSG #ops :half a li");
	json_expect(l, "message", "evil", "after the storm", T_LONG);
	json_expect(l, "message", "evil", "\xef\xbf\xbd( bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd utf8", 0);
	json_expect(l, "message", "evil", "\033]0;title\007\033[31mred", 0);
	C_ASSERT(!has(&l->o, "half a li"), "a half line was shown");
	C_ASSERT(!has(&l->o, "AAAAAAAA"), "the overlong line was shown");
	C_ASSERT(!kid_exited(l), "the client died");

	/* still responsive: it leaves at once when told */
	t0 = h_now_ms();
	kill(l->pid, SIGTERM);
	fake_expect(fd, &got, "QUIT :Leaving", l);
	close(fd);
	kid_expect_exit(l, 0, T_LONG);
	C_ASSERT(h_now_ms() - t0 < T_SHORT, "quitting took %lld ms", h_now_ms() - t0);
	free(got.p);
	memset(&got, 0, sizeof got);

	/* script mode against a server that never answers: bounded */
	l = kid_run("silent", (const char *[]){ "-s", port_arg(port), "-c", "#ops", "-T", "1",
	    NULL }, "x\n", false);
	fd = fake_accept(lfd, l);
	fake_expect(fd, &got, "USER ", l);
	kid_expect_exit(l, EX_TEMPFAIL, T_LONG);
	C_ASSERT(has(&l->e, "for 1 s before registration completed"), "stderr: %s", l->e.p);
	close(fd);
	free(got.p);
	memset(&got, 0, sizeof got);

	/* one that stops mid-line after registering us */
	l = kid_run("midline", (const char *[]){ "-s", port_arg(port), "-c", "#ops", "-T", "1",
	    "-n", "bot", NULL }, "x\n", false);
	fd = fake_accept(lfd, l);
	fake_expect(fd, &got, "USER ", l);
	FAKE(fd, ":fake 001 bot :Welcome\r\n:fake NOTICE bot :and then noth");
	kid_expect_exit(l, EX_TEMPFAIL, T_LONG);
	C_ASSERT(has(&l->e, "for 1 s before the channels were joined"), "stderr: %s", l->e.p);
	close(fd);
	free(got.p);

	/* one that closes on us before delivery is confirmed */
	memset(&got, 0, sizeof got);
	l = kid_run("cut", (const char *[]){ "-s", port_arg(port), "--to", "x", "-n", "bot",
	    NULL }, "x\n", false);
	fd = fake_accept(lfd, l);
	fake_expect(fd, &got, "USER ", l);
	FAKE(fd, ":fake 001 bot :Welcome\r\n");
	fake_expect(fd, &got, "PING :shmchat-ack", l);
	close(fd);
	kid_expect_exit(l, EX_TEMPFAIL, T_LONG);
	C_ASSERT(has(&l->e, "closed the connection before delivery was confirmed"), "stderr: %s", l->e.p);
	free(got.p);
	close(lfd);
}
END_TEST

/* the JSON event of type whose key holds value (the last such), or NULL */
static const struct jobj *
json_find(struct kid *k, const char *type, const char *key, const char *value)
{
	static struct jobj ev[256];
	const struct jobj *found = NULL;
	int n = json_lines(k, ev, 256);

	for (int i = 0; i < n && i < 256; i++)
		if (!strcmp(jget(&ev[i], "type"), type) && jget(&ev[i], key) != NULL &&
		    !strcmp(jget(&ev[i], key), value))
			found = &ev[i];
	return found;
}

/*
 * Moderation as a listening script sees it, from a scripted server: modes,
 * an invitation, wallops, kicks (our own last), moderation errors, and
 * lines cut short. A channel we were kicked from is not joined again when
 * the client reconnects.
 */
START_TEST(test_listen_moderation)
{
	int port, lfd = fake_listen(&port), fd;
	struct sbuf got = { 0 };
	const struct jobj *e;
	struct kid *l;

	l = kid_run("listener", (const char *[]){ "-s", port_arg(port), "-n", "lis", "-c",
	    "#ops,#dev", "--listen", "--json", NULL }, NULL, false);
	fd = fake_accept(lfd, l);
	fake_expect(fd, &got, "USER ", l);
	FAKE(fd, ":fake 001 lis :Welcome lis!u@h\r\n"
	    ":fake 005 lis PREFIX=(ov)@+ MODES=3 CHANMODES=b,k,l,imnt :are supported\r\n");
	fake_expect(fd, &got, "JOIN #dev", l);
	FAKE(fd, ":lis!u@h JOIN #ops\r\n:fake 353 lis = #ops :@op lis +bob\r\n"
	    ":fake 366 lis #ops :End of /NAMES list.\r\n:lis!u@h JOIN #dev\r\n");
	FAKE(fd, ":op!o@h MODE #ops +ov lis bob\r\n");
	FAKE(fd, ":op!o@h INVITE lis :#secret\r\n");
	FAKE(fd, ":op!o@h WALLOPS :maintenance at noon\r\n");
	FAKE(fd, ":op!o@h KICK #ops bob :flooding\r\n");
	FAKE(fd, ":op!o@h KICK #ops\r\n:op!o@h MODE\r\n:op!o@h INVITE lis\r\n"
	    ":fake 367 lis\r\n:fake 482\r\n:op!o@h MODE #ops +oooooooo\r\n");
	FAKE(fd, ":fake 482 lis #ops :You're not channel operator\r\n");
	FAKE(fd, ":op!o@h KICK #ops lis :bye now\r\n");
	FAKE(fd, ":op!o@h PRIVMSG lis :the end\r\n");
	json_expect(l, "message", "op", "the end", T_LONG);
	C_ASSERT(!kid_exited(l), "the client died");

	e = json_find(l, "mode", "text", "+ov lis bob");
	C_ASSERT(e != NULL && !strcmp(jget(e, "from"), "op") && !strcmp(jget(e, "target"), "#ops"),
	    "no mode event for +ov lis bob");
	e = json_find(l, "invite", "target", "#secret");
	C_ASSERT(e != NULL && !strcmp(jget(e, "from"), "op") && !strcmp(jget(e, "nick"), "lis"),
	    "no invite event to #secret for lis");
	json_expect(l, "wallops", "op", "maintenance at noon", 0);
	e = json_find(l, "kick", "nick", "bob");
	C_ASSERT(e != NULL && !strcmp(jget(e, "text"), "flooding") &&
	    !strcmp(jget(e, "target"), "#ops"), "no kick event for bob");
	e = json_find(l, "kick", "nick", "lis");
	C_ASSERT(e != NULL && !strcmp(jget(e, "from"), "op") && !strcmp(jget(e, "text"), "bye now"),
	    "no kick event for lis");
	json_expect(l, "error", "fake", "#ops: you are not a channel operator", 0);

	/* the server goes away; back, the client rejoins #dev but not #ops */
	close(fd);
	free(got.p);
	memset(&got, 0, sizeof got);
	fd = fake_accept(lfd, l);
	fake_expect(fd, &got, "USER ", l);
	FAKE(fd, ":fake 001 lis :Welcome lis!u@h\r\nPING :after-welcome\r\n");
	/* the JOINs go out with the welcome, before the PONG */
	fake_expect(fd, &got, "PONG :after-welcome", l);
	C_ASSERT(has(&got, "JOIN #dev"), "#dev was not rejoined: %s", got.p);
	C_ASSERT(!has(&got, "JOIN #ops"), "the channel we were kicked from was rejoined: %s", got.p);

	kill(l->pid, SIGTERM);
	fake_expect(fd, &got, "QUIT :Leaving", l);
	close(fd);
	kid_expect_exit(l, 0, T_LONG);
	free(got.p);
	close(lfd);
}
END_TEST

/* --------------------------------------------- the interactive terminal */

/*
 * Enough of a VT100/xterm to follow libedit: printable UTF-8, CR, LF, BS,
 * the CSI cursor moves and erases it uses, xterm's deferred wrap at the
 * right margin. Cells hold one UTF-8 character each.
 */
#define VT_ROWS	24
#define VT_COLS	80

struct vt {
	char cell[VT_ROWS][VT_COLS][8];
	int r, c;
	bool wrap;		/* at the margin, wrap before the next character */
	int state;		/* 0 text, 1 ESC, 2 CSI, 3 OSC, 4 one more byte */
	char params[64];
	size_t np;
	int lr, lc;		/* the cell written last (continuation bytes) */
};

static void
vt_clear(struct vt *v, int r, int c0, int c1)
{
	for (int c = c0; c < c1 && c < VT_COLS; c++)
		strcpy(v->cell[r][c], " ");
}

static void
vt_init(struct vt *v)
{
	memset(v, 0, sizeof *v);
	for (int r = 0; r < VT_ROWS; r++)
		vt_clear(v, r, 0, VT_COLS);
	v->lr = v->lc = -1;
}

static void
vt_linefeed(struct vt *v)
{
	if (v->r < VT_ROWS - 1) {
		v->r++;
		return;
	}
	memmove(v->cell[0], v->cell[1], sizeof v->cell[0] * (VT_ROWS - 1));
	vt_clear(v, VT_ROWS - 1, 0, VT_COLS);
	if (v->lr >= 0)
		v->lr--;
}

static int
vt_arg(const struct vt *v, int i, int dflt)
{
	const char *p = v->params;
	int n;

	if (*p == '?')
		p++;
	for (; i > 0 && p; i--)
		p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL;
	if (p == NULL || *p < '0' || *p > '9')
		return dflt;
	n = atoi(p);
	return n == 0 ? dflt : n;
}

static void
vt_csi(struct vt *v, char f)
{
	int n = vt_arg(v, 0, 1);

	v->wrap = false;
	switch (f) {
	case 'A': v->r = v->r - n < 0 ? 0 : v->r - n; break;
	case 'B': v->r = v->r + n >= VT_ROWS ? VT_ROWS - 1 : v->r + n; break;
	case 'C': v->c = v->c + n >= VT_COLS ? VT_COLS - 1 : v->c + n; break;
	case 'D': v->c = v->c - n < 0 ? 0 : v->c - n; break;
	case 'G': v->c = n - 1 < VT_COLS ? n - 1 : VT_COLS - 1; break;
	case 'H':
	case 'f':
		v->r = vt_arg(v, 0, 1) - 1;
		v->c = vt_arg(v, 1, 1) - 1;
		break;
	case 'J':
		if (vt_arg(v, 0, 0) == 2) {
			for (int r = 0; r < VT_ROWS; r++)
				vt_clear(v, r, 0, VT_COLS);
			break;
		}
		vt_clear(v, v->r, v->c, VT_COLS);
		for (int r = v->r + 1; r < VT_ROWS; r++)
			vt_clear(v, r, 0, VT_COLS);
		break;
	case 'K':
		vt_clear(v, v->r, v->c, VT_COLS);
		break;
	case 'P':
		for (int c = v->c; c < VT_COLS; c++)
			strcpy(v->cell[v->r][c], c + n < VT_COLS ? v->cell[v->r][c + n] : " ");
		break;
	case '@':
		for (int c = VT_COLS - 1; c >= v->c; c--)
			strcpy(v->cell[v->r][c], c - n >= v->c ? v->cell[v->r][c - n] : " ");
		break;
	case 'X':
		vt_clear(v, v->r, v->c, v->c + n);
		break;
	default:
		break;	/* m, h, l, r...: no effect on the text */
	}
}

static void
vt_feed(struct vt *v, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		switch (v->state) {
		case 1:
			v->state = ch == '[' ? 2 : ch == ']' ? 3 : strchr("()*+#", ch) ? 4 : 0;
			v->np = 0;
			v->params[0] = '\0';
			continue;
		case 2:
			if (ch >= 0x40 && ch <= 0x7e) {
				vt_csi(v, (char)ch);
				v->state = 0;
			} else if (v->np + 1 < sizeof v->params) {
				v->params[v->np++] = (char)ch;
				v->params[v->np] = '\0';
			}
			continue;
		case 3:
			if (ch == '\a')
				v->state = 0;
			else if (ch == 0x1b)
				v->state = 4;	/* ESC \ ends it */
			continue;
		case 4:
			v->state = 0;
			continue;
		default:
			break;
		}
		if (ch == 0x1b) {
			v->state = 1;
		} else if (ch == '\r') {
			v->c = 0;
			v->wrap = false;
		} else if (ch == '\n') {
			vt_linefeed(v);
			v->wrap = false;
		} else if (ch == '\b') {
			if (v->c > 0)
				v->c--;
			v->wrap = false;
		} else if (ch < 0x20 || ch == 0x7f) {
			/* BEL and the like */
		} else if (ch >= 0x80 && ch < 0xc0) {
			if (v->lr >= 0 && strlen(v->cell[v->lr][v->lc]) < 7)
				strncat(v->cell[v->lr][v->lc], (char *)&ch, 1);
		} else {
			if (v->wrap) {
				v->c = 0;
				vt_linefeed(v);
				v->wrap = false;
			}
			v->cell[v->r][v->c][0] = (char)ch;
			v->cell[v->r][v->c][1] = '\0';
			v->lr = v->r;
			v->lc = v->c;
			if (v->c == VT_COLS - 1)
				v->wrap = true;
			else
				v->c++;
		}
	}
}

/* row r as text, trailing blanks cut */
static const char *
vt_row(const struct vt *v, int r)
{
	static char out[VT_COLS * 8 + 1];
	size_t n = 0, keep = 0;

	for (int c = 0; c < VT_COLS; c++) {
		n += (size_t)snprintf(out + n, sizeof out - n, "%s", v->cell[r][c]);
		if (strcmp(v->cell[r][c], " "))
			keep = n;
	}
	out[keep] = '\0';
	return out;
}

static void
vt_dump(const struct vt *v)
{
	fprintf(stderr, "--- screen (cursor at row %d col %d):\n", v->r, v->c);
	for (int r = 0; r < VT_ROWS; r++)
		fprintf(stderr, "%2d|%s\n", r, vt_row(v, r));
}

/* the screen of the pty kid, fed with everything it wrote so far */
struct term {
	struct kid *k;
	struct vt vt;
	size_t fed;
};

static void
term_update(struct term *t, int ms)
{
	kid_pump(t->k, ms);
	if (t->k->o.len > t->fed) {
		vt_feed(&t->vt, t->k->o.p + t->fed, t->k->o.len - t->fed);
		t->fed = t->k->o.len;
	}
}

/* wait until the cursor row reads want and the cursor is at col */
static void
term_expect_input(struct term *t, const char *want, int col, int ms)
{
	long long deadline = h_now_ms() + ms;

	for (;;) {
		term_update(t, 20);
		if (!strcmp(vt_row(&t->vt, t->vt.r), want) && (col < 0 || t->vt.c == col))
			return;
		if (h_now_ms() >= deadline) {
			vt_dump(&t->vt);
			C_FAIL("the input row is \"%s\" (cursor col %d), expected \"%s\" (col %d)",
			    vt_row(&t->vt, t->vt.r), t->vt.c, want, col);
		}
	}
}

/* the row that holds text, or -1 */
static int
term_find(struct term *t, const char *text)
{
	for (int r = 0; r < VT_ROWS; r++)
		if (strstr(vt_row(&t->vt, r), text))
			return r;
	return -1;
}

static void
term_expect_row(struct term *t, const char *text, int ms)
{
	long long deadline = h_now_ms() + ms;

	while (term_find(t, text) < 0) {
		if (h_now_ms() >= deadline) {
			vt_dump(&t->vt);
			C_FAIL("no \"%s\" on the screen", text);
		}
		term_update(t, 20);
	}
}

static void
type(struct term *t, const char *keys)
{
	if (write(t->k->pty, keys, strlen(keys)) != (ssize_t)strlen(keys))
		C_FAIL("typing: %s", strerror(errno));
}

START_TEST(test_interactive_pty)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher");
	struct term t = { 0 };
	struct irc_msg m;
	int r;

	join(w, "#ops");
	vt_init(&t.vt);
	t.k = kid_run_pty("interactive", (const char *[]){ "-s", port_arg(s->port), "-n", "alice",
	    "-c", "#ops", NULL }, VT_ROWS, VT_COLS);
	EXPECT_FROM(w, "JOIN", "alice", &m);
	term_expect_row(&t, "alice (", T_LONG);
	term_expect_input(&t, "[#ops]", -1, T_SHORT);

	/* half a line typed, the cursor moved back into it */
	type(&t, "hello world");
	term_expect_input(&t, "[#ops] hello world", 18, T_SHORT);
	type(&t, "\033[D\033[D\033[D\033[D\033[D");
	term_expect_input(&t, "[#ops] hello world", 13, T_SHORT);

	/* messages arrive meanwhile: above the input, which stays as it was */
	cli_send(w, "PRIVMSG #ops :incoming one");
	cli_send(w, "PRIVMSG #ops :incoming two, quite a bit longer than the other one");
	cli_send(w, "PRIVMSG alice :a private word");
	term_expect_row(&t, "*watcher* a private word", T_SHORT);
	term_expect_input(&t, "[#ops] hello world", 13, T_SHORT);
	r = term_find(&t, "<watcher> incoming one");
	C_ASSERT(r >= 0 && r + 3 == t.vt.r, "message row %d, input row %d", r, t.vt.r);
	C_ASSERT(strstr(vt_row(&t.vt, r + 1), "<watcher> incoming two, quite a bit longer"),
	    "row %d: %s", r + 1, vt_row(&t.vt, r + 1));
	C_ASSERT(strstr(vt_row(&t.vt, r + 2), "*watcher* a private word"), "row %d: %s",
	    r + 2, vt_row(&t.vt, r + 2));

	/* typing goes on where it was; Enter sends the whole line */
	type(&t, "big ");
	term_expect_input(&t, "[#ops] hello big world", 17, T_SHORT);
	type(&t, "\r");
	expect_msg(w, "alice", "#ops", "hello big world");
	term_expect_row(&t, "<alice> hello big world", T_SHORT);
	term_expect_input(&t, "[#ops]", 7, T_SHORT);

	/* commands: /me, /msg, /query switches the target, Tab completes */
	type(&t, "/me waves\r");
	expect_msg(w, "alice", "#ops", "\001ACTION waves\001");
	type(&t, "/query watcher\r");
	term_expect_input(&t, "[watcher]", 10, T_SHORT);
	type(&t, "just you\r");
	expect_msg(w, "alice", "watcher", "just you");
	type(&t, "/query\r");
	term_expect_input(&t, "[#ops]", 7, T_SHORT);
	type(&t, "wat\t");
	term_expect_input(&t, "[#ops] watcher:", 16, T_SHORT);
	type(&t, "done\r");
	expect_msg(w, "alice", "#ops", "watcher: done");
	type(&t, "/bogus\r");
	term_expect_row(&t, "unknown command /bogus", T_SHORT);

	/* /quit leaves with a QUIT and gives the terminal back */
	type(&t, "/quit see you\r");
	EXPECT_FROM(w, "QUIT", "alice", &m);
	C_ASSERT(strstr(msg_last(&m), "see you") != NULL, "QUIT reason %s", msg_last(&m));
	kid_expect_exit(t.k, 0, T_LONG);
	srv_stop(s);
}
END_TEST

START_TEST(test_interactive_ctrl_c)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher");
	struct term t = { 0 };
	struct irc_msg m;

	join(w, "#ops");
	vt_init(&t.vt);
	t.k = kid_run_pty("interactive", (const char *[]){ "-s", port_arg(s->port), "-n", "alice",
	    "-c", "#ops", NULL }, VT_ROWS, VT_COLS);
	EXPECT_FROM(w, "JOIN", "alice", &m);
	term_expect_input(&t, "[#ops]", 7, T_LONG);
	type(&t, "never sent");
	term_expect_input(&t, "[#ops] never sent", 17, T_SHORT);
	type(&t, "\003");
	EXPECT_FROM(w, "QUIT", "alice", &m);
	kid_expect_exit(t.k, 0, T_LONG);
	C_ASSERT(cli_none(w, "PRIVMSG", 100), "a half line was sent");
	srv_stop(s);
}
END_TEST

/*
 * Moderation at the terminal, from a scripted server: our prefix in the
 * prompt follows NAMES and MODE, /op goes out in MODES-sized lines, and a
 * kick says who and why and takes the channel away.
 */
START_TEST(test_interactive_moderation)
{
	int port, lfd = fake_listen(&port), fd;
	struct sbuf got = { 0 };
	struct term t = { 0 };

	vt_init(&t.vt);
	t.k = kid_run_pty("interactive", (const char *[]){ "-s", port_arg(port), "-n", "alice",
	    "-c", "#ops", NULL }, VT_ROWS, VT_COLS);
	fd = fake_accept(lfd, t.k);
	fake_expect(fd, &got, "USER ", t.k);
	FAKE(fd, ":fake 001 alice :Welcome alice!a@h\r\n"
	    ":fake 005 alice PREFIX=(ov)@+ MODES=3 :are supported\r\n");
	fake_expect(fd, &got, "JOIN #ops", t.k);
	FAKE(fd, ":alice!a@h JOIN #ops\r\n:fake 353 alice = #ops :@alice bob\r\n"
	    ":fake 366 alice #ops :End of /NAMES list.\r\n");
	term_expect_input(&t, "[@#ops]", 8, T_SHORT);
	FAKE(fd, ":bob!b@h MODE #ops -o+v alice alice\r\n");
	term_expect_input(&t, "[+#ops]", 8, T_SHORT);
	term_expect_row(&t, "bob sets mode -o+v alice alice on #ops", T_SHORT);
	FAKE(fd, ":bob!b@h MODE #ops +o alice\r\n");
	term_expect_input(&t, "[@#ops]", 8, T_SHORT);

	type(&t, "/op bob carol dave eve\r");
	fake_expect(fd, &got, "MODE #ops +ooo bob carol dave\r\nMODE #ops +o eve\r\n", t.k);
	type(&t, "/kick\r");
	term_expect_row(&t, "usage: /kick NICK [reason]", T_SHORT);
	type(&t, "/ban carol\r");
	fake_expect(fd, &got, "MODE #ops +b carol!*@*\r\n", t.k);

	FAKE(fd, ":bob!b@h KICK #ops alice :take a break\r\n");
	term_expect_row(&t, "You were kicked from #ops by bob (take a break)", T_SHORT);
	term_expect_input(&t, ">", 2, T_SHORT);
	type(&t, "/quit\r");
	fake_expect(fd, &got, "QUIT :Leaving", t.k);
	close(fd);
	kid_expect_exit(t.k, 0, T_LONG);
	free(got.p);
	close(lfd);
}
END_TEST

/* ------------------------------------------------------------- ngircd */

static const char *
ngircd_path(void)
{
	static const char *const where[] = { "/usr/sbin/ngircd", "/usr/bin/ngircd",
	    "/usr/local/sbin/ngircd" };

	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/*
 * start ngircd on a free loopback port; wait until it accepts. tls: also
 * a TLS listener with the pair made as ngircd.pem and ngircd.key, on
 * *tls_port.
 */
static int
ngircd_start_tls(const char *path, int *tls_port)
{
	char dir[600], conf[700], log[700], text[4096], ssl[2200] = "";
	int port = free_port();
	pid_t parent = getpid();
	long long deadline;

	snprintf(dir, sizeof dir, "%s", h_tmpdir());
	snprintf(conf, sizeof conf, "%s/ngircd.conf", dir);
	snprintf(log, sizeof log, "%s/ngircd.log", dir);
	if (tls_port != NULL) {
		/* the DH group given, not generated: that takes ngircd seconds */
		*tls_port = free_port();
		snprintf(ssl, sizeof ssl, "[SSL]\n\tCertFile = %s/ngircd.pem\n"
		    "\tKeyFile = %s/ngircd.key\n\tDHFile = %s/dh.pem\n\tPorts = %d\n",
		    dir, dir, dir, *tls_port);
	}
	snprintf(text, sizeof text,
	    "[Global]\n\tName = irc.ngircd.test\n\tInfo = shmchat test\n"
	    "\tListen = 127.0.0.1\n\tPorts = %d\n\tMotdPhrase = \"hello from ngircd\"\n"
	    "\tPidFile = %s/ngircd.pid\n"
	    "[Limits]\n\tMaxNickLength = 9\n"
	    "[Options]\n\tDNS = no\n\tIdent = no\n\tPAM = no\n%s", port, dir, ssl);
	h_write_file(conf, text);
	fflush(NULL);
	g_ngircd = fork();
	if (g_ngircd < 0)
		C_FAIL("fork: %s", strerror(errno));
	if (g_ngircd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		child_prepare(parent);
		if (fd < 0)
			_exit(125);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(path, path, "-n", "-f", conf, (char *)NULL);
		_exit(127);
	}
	/* it cannot take a ready socket, so poll until it listens */
	deadline = h_now_ms() + T_LONG;
	for (;;) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), st;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(fd);
			/* it listens on both ports at once, but make sure */
			if (tls_port == NULL)
				return port;
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			sa.sin_port = htons((uint16_t)*tls_port);
			if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
				close(fd);
				return port;
			}
		}
		close(fd);
		if (waitpid(g_ngircd, &st, WNOHANG) == g_ngircd) {
			g_ngircd = -1;
			C_FAIL("ngircd exited (status 0x%x), see %s", st, log);
		}
		if (h_now_ms() >= deadline)
			C_FAIL("ngircd does not accept on port %d, see %s", port, log);
		poll(NULL, 0, 20);
	}
}

static int
ngircd_start(const char *path)
{
	return ngircd_start_tls(path, NULL);
}

static void
ngircd_stop(void)
{
	int st;

	kill(g_ngircd, SIGTERM);
	if (waitpid(g_ngircd, &st, 0) == g_ngircd)
		g_ngircd = -1;
}

START_TEST(test_ngircd)
{
	const char *path = ngircd_path();
	struct kid *l, *k;
	int port, st;

	if (path == NULL) {
		/* tools/install-deps installs it; CI must not skip this */
		if (getenv("CI") != NULL)
			C_FAIL("ngircd is not installed (tools/install-deps installs it)");
		fprintf(stderr, "SKIP test_ngircd: ngircd is not installed "
		    "(tools/install-deps installs it)\n");
		return;
	}
	port = ngircd_start(path);
	l = kid_run("listener", (const char *[]){ "-s", port_arg(port), "-n", "lis",
	    "-c", "#test", "--listen", "--json", NULL }, NULL, false);
	json_expect(l, "join", "lis", NULL, T_LONG);
	/* registration, join and send; the same nick: a suffix, not a failure */
	k = kid_run("sender", (const char *[]){ "-s", port_arg(port), "-n", "lis",
	    "-c", "#test", NULL }, "hello ngircd\n\xc3\xa9t\xc3\xa9\n", false);
	kid_expect_exit(k, 0, 2 * T_LONG);
	C_ASSERT(has(&k->e, "nick lis is in use, trying lis_"), "stderr: %s", k->e.p);
	json_expect(l, "join", "lis_", NULL, T_LONG);
	json_expect(l, "message", "lis_", "hello ngircd", T_LONG);
	json_expect(l, "message", "lis_", "\xc3\xa9t\xc3\xa9", T_LONG);
	json_expect(l, "quit", "lis_", NULL, T_LONG);
	kill(l->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);

	kill(g_ngircd, SIGTERM);
	if (waitpid(g_ngircd, &st, 0) == g_ngircd)
		g_ngircd = -1;
}
END_TEST

/* ---------------------------------------------------------------- TLS */

#define EX_TLS_REFUSED	79	/* shmchat(1): the certificate was refused */

static void
ossl_fail(const char *what)
{
	char e[256] = "?";

	ERR_error_string_n(ERR_get_error(), e, sizeof e);
	C_FAIL("%s: %s", what, e);
}

/* RFC 7919's ffdhe2048 as a PKCS#3 file, for ngircd's DHFile */
static void
tls_dh_file(void)
{
	char path[700];
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	EVP_PKEY *dh = NULL;
	BIO *b;

	if (pc == NULL || EVP_PKEY_paramgen_init(pc) <= 0 ||
	    EVP_PKEY_CTX_set_dh_nid(pc, NID_ffdhe2048) <= 0 || EVP_PKEY_paramgen(pc, &dh) <= 0)
		ossl_fail("DH parameters");
	snprintf(path, sizeof path, "%s/dh.pem", h_tmpdir());
	if ((b = BIO_new_file(path, "w")) == NULL || !PEM_write_bio_Parameters(b, dh))
		ossl_fail("writing the DH parameters");
	BIO_free(b);
	EVP_PKEY_free(dh);
	EVP_PKEY_CTX_free(pc);
}

static char *
path_in_tmp(const char *name)
{
	static char buf[4][700];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, 700, "%s/%s", h_tmpdir(), name);
	return p;
}

/* how often text occurs in b */
static int
count(const struct sbuf *b, const char *text)
{
	int n = 0;

	for (const char *p = b->p; p != NULL && (size_t)(p - b->p) < b->len; n++) {
		p = memmem(p, b->len - (size_t)(p - b->p), text, strlen(text));
		if (p == NULL)
			break;
		p += strlen(text);
	}
	return n;
}

START_TEST(test_tls_ngircd)
{
	const char *path = ngircd_path();
	char fp[H_TLS_FP_SIZE], wrong[H_TLS_FP_SIZE], tport[32];
	struct kid *l, *p, *k;
	int port, tls_port;

	if (path == NULL) {
		if (getenv("CI") != NULL)
			C_FAIL("ngircd is not installed (tools/install-deps installs it)");
		fprintf(stderr, "SKIP test_tls_ngircd: ngircd is not installed "
		    "(tools/install-deps installs it)\n");
		return;
	}
	h_tls_make_pair("ngircd", NULL, path_in_tmp("ngircd.pem"), path_in_tmp("ngircd.key"), fp);
	tls_dh_file();
	port = ngircd_start_tls(path, &tls_port);
	snprintf(tport, sizeof tport, "127.0.0.1:%d", tls_port);

	/* pinned, --listen --json over TLS; a plain client on the other side */
	l = kid_run("tls-listener", (const char *[]){ "-s", tport, "--tls-fingerprint", fp,
	    "-n", "tlis", "-c", "#tls", "--listen", "--json", NULL }, NULL, false);
	json_expect(l, "join", "tlis", NULL, T_LONG);
	p = kid_run("plain-listener", (const char *[]){ "-s", port_arg(port), "-n", "plis",
	    "-c", "#tls", "--listen", "--json", NULL }, NULL, false);
	json_expect(l, "join", "plis", NULL, T_LONG);
	k = kid_run("plain-sender", (const char *[]){ "-s", port_arg(port), "-n", "plain",
	    "-c", "#tls", NULL }, "from plain to TLS\n", false);
	kid_expect_exit(k, 0, 2 * T_LONG);
	json_expect(l, "message", "plain", "from plain to TLS", T_LONG);

	/* the CA file instead of the system store: 127.0.0.1 is the IP SAN */
	k = kid_run("ca-sender", (const char *[]){ "-s", tport, "--tls-ca",
	    path_in_tmp("ngircd.pem"), "-n", "casend", "-c", "#tls", NULL },
	    "from TLS to plain\n", false);
	kid_expect_exit(k, 0, 2 * T_LONG);
	json_expect(p, "message", "casend", "from TLS to plain", T_LONG);
	json_expect(l, "message", "casend", "from TLS to plain", T_LONG);
	/* and a name (SNI, the DNS SAN) */
	snprintf(tport, sizeof tport, "localhost:%d", tls_port);
	k = kid_run("ca-name", (const char *[]){ "-s", tport, "--tls-ca",
	    path_in_tmp("ngircd.pem"), "-n", "byname", "-c", "#tls", NULL }, "by name\n", false);
	kid_expect_exit(k, 0, 2 * T_LONG);
	json_expect(l, "message", "byname", "by name", T_LONG);
	snprintf(tport, sizeof tport, "127.0.0.1:%d", tls_port);

	/* --tls-no-verify works, and says so once */
	k = kid_run("no-verify", (const char *[]){ "-s", tport, "--tls-no-verify", "-n", "nover",
	    "-c", "#tls", NULL }, "unverified\n", false);
	kid_expect_exit(k, 0, 2 * T_LONG);
	json_expect(l, "message", "nover", "unverified", T_LONG);
	C_ASSERT(count(&k->e, "warning: --tls-no-verify") == 1, "stderr: %s", k->e.p);

	/* a wrong pin: refused, with the fingerprint it saw */
	snprintf(wrong, sizeof wrong, "%s", fp);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	k = kid_run("wrong-pin", (const char *[]){ "-s", tport, "--tls-fingerprint", wrong,
	    "-n", "wrong", "-c", "#tls", NULL }, "must not arrive\n", false);
	kid_expect_exit(k, EX_TLS_REFUSED, T_LONG);
	C_ASSERT(has(&k->e, "shmchat: TLS certificate verification failed for 127.0.0.1: "
	    "its SHA-256 fingerprint is "), "stderr: %s", k->e.p);
	C_ASSERT(has(&k->e, fp), "stderr: %s", k->e.p);

	/* no pin, not in the system's CA store: refused, in listen mode too */
	k = kid_run("unverified", (const char *[]){ "-s", tport, "--tls", "-n", "unv",
	    "-c", "#tls", "--listen", NULL }, NULL, false);
	kid_expect_exit(k, EX_TLS_REFUSED, T_LONG);
	C_ASSERT(has(&k->e, "shmchat: TLS certificate verification failed for 127.0.0.1: "
	    "self-signed certificate (use --tls-fingerprint SHA256 to pin a self-signed "
	    "server, or --tls-no-verify)\n"), "stderr: %s", k->e.p);

	/* TLS to the plain port: ngircd waits for a line, the handshake is bounded */
	k = kid_run("tls-to-plain", (const char *[]){ "-s", port_arg(port), "--tls-no-verify",
	    "-n", "tp", "-c", "#tls", "-T", "1", NULL }, "x\n", false);
	kid_expect_exit(k, EX_UNAVAILABLE, T_LONG);
	C_ASSERT(has(&k->e, "no TLS handshake within 1 s"), "stderr: %s", k->e.p);

	C_ASSERT(!has(&l->o, "must not arrive"), "a refused client's message arrived");
	kill(l->pid, SIGTERM);
	kill(p->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);
	kid_expect_exit(p, 0, T_LONG);
	ngircd_stop();
}
END_TEST

/* nick sends text to #tls over TLS (--tls-ca cert); l, p and w get it */
static void
tls_ca_send(const char *tport, const char *cert, const char *nick, const char *text,
	    struct kid *l, struct kid *p, struct cli *w)
{
	char line[256];
	struct kid *k;

	snprintf(line, sizeof line, "%s\n", text);
	k = kid_run(nick, (const char *[]){ "-s", tport, "--tls-ca", cert, "-n", nick,
	    "-c", "#tls", NULL }, line, false);
	kid_expect_exit(k, 0, 2 * T_LONG);
	json_expect(l, "message", nick, text, T_LONG);
	json_expect(p, "message", nick, text, T_LONG);
	expect_msg(w, nick, "#tls", text);
}

/*
 * Against shmchatd's own TLS listener (the socket named "ircs", started
 * the way tests/check_tls.c does): TLS and plain clients of one channel
 * hear each other, and a refused certificate costs nobody else anything.
 */
START_TEST(test_tls_shmchatd)
{
	char conf[1600], fp[H_TLS_FP_SIZE], wrong[H_TLS_FP_SIZE], tport[32];
	const char *cert = path_in_tmp("shmchatd.pem"), *key = path_in_tmp("shmchatd.key");
	struct srv *s;
	struct cli *w;
	struct kid *l, *p, *k;
	struct irc_msg m;

	h_tls_make_pair("shmchatd", NULL, cert, key, fp);
	snprintf(conf, sizeof conf, "tls = { certificate = \"%s\"; key = \"%s\"; };", cert, key);
	s = srv_start_tls(conf);
	snprintf(tport, sizeof tport, "127.0.0.1:%d", s->tls_port);
	w = cli_new(s, "watcher");
	join(w, "#tls");

	/* pinned, --listen --json over TLS; the server sees it as TLS (671) */
	l = kid_run("tls-listener", (const char *[]){ "-s", tport, "--tls", "--tls-fingerprint",
	    fp, "-n", "tlis", "-c", "#tls", "--listen", "--json", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "tlis", &m);
	json_expect(l, "join", "tlis", NULL, T_LONG);
	cli_send(w, "WHOIS tlis");
	EXPECT(w, "671", &m);
	C_ASSERT(!strcmp(msg_param(&m, 1), "tlis"), "671 for %s", msg_param(&m, 1));
	EXPECT(w, "318", &m);
	p = kid_run("plain-listener", (const char *[]){ "-s", port_arg(s->port), "-n", "plis",
	    "-c", "#tls", "--listen", "--json", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "plis", &m);
	json_expect(l, "join", "plis", NULL, T_LONG);

	/* plain to TLS */
	k = kid_run("plain-sender", (const char *[]){ "-s", port_arg(s->port), "-n", "plain",
	    "-c", "#tls", NULL }, "from plain to TLS\n", false);
	kid_expect_exit(k, 0, 2 * T_LONG);
	json_expect(l, "message", "plain", "from plain to TLS", T_LONG);
	expect_msg(w, "plain", "#tls", "from plain to TLS");

	/* TLS, verified against the certificate as its CA file, to plain */
	tls_ca_send(tport, cert, "casend", "from TLS to plain", l, p, w);

	/* a wrong pin: refused before registration, with what it saw */
	snprintf(wrong, sizeof wrong, "%s", fp);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	k = kid_run("wrong-pin", (const char *[]){ "-s", tport, "--tls", "--tls-fingerprint",
	    wrong, "-n", "wrong", "-c", "#tls", NULL }, "must not arrive\n", false);
	kid_expect_exit(k, EX_TLS_REFUSED, T_LONG);
	C_ASSERT(has(&k->e, "shmchat: TLS certificate verification failed for 127.0.0.1: "
	    "its SHA-256 fingerprint is "), "stderr: %s", k->e.p);
	C_ASSERT(has(&k->e, fp), "stderr: %s", k->e.p);

	/* neither pinned nor in the system's CA store: refused too */
	k = kid_run("unverified", (const char *[]){ "-s", tport, "--tls", "-n", "unv",
	    "-c", "#tls", NULL }, "must not arrive\n", false);
	kid_expect_exit(k, EX_TLS_REFUSED, T_LONG);
	C_ASSERT(has(&k->e, "self-signed certificate"), "stderr: %s", k->e.p);

	/* TLS to the plain port, plain text to the TLS port: both turned away */
	k = kid_run("tls-to-plain", (const char *[]){ "-s", port_arg(s->port), "--tls-ca", cert,
	    "-n", "tp", "-c", "#tls", NULL }, "must not arrive\n", false);
	kid_expect_exit(k, EX_UNAVAILABLE, T_LONG);
	C_ASSERT(has(&k->e, "TLS handshake failed: wrong version number (does the server "
	    "speak TLS on this port?)"), "stderr: %s", k->e.p);
	k = kid_run("plain-to-tls", (const char *[]){ "-s", tport, "-n", "pt", "-c", "#tls",
	    NULL }, "must not arrive\n", false);
	kid_expect_exit(k, EX_TEMPFAIL, T_LONG);
	C_ASSERT(has(&k->e, "before registration completed"), "stderr: %s", k->e.p);

	/* the others are still served, over TLS and in the clear */
	cli_send(w, "PRIVMSG #tls :still served");
	json_expect(l, "message", "watcher", "still served", T_LONG);
	json_expect(p, "message", "watcher", "still served", T_LONG);
	tls_ca_send(tport, cert, "after", "TLS after the refusals", l, p, w);
	C_ASSERT(!has(&l->o, "must not arrive") && !has(&p->o, "must not arrive"),
	    "a refused client's message arrived");

	kill(l->pid, SIGTERM);
	kill(p->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);
	kid_expect_exit(p, 0, T_LONG);
	cli_close(w);
	srv_stop(s);
}
END_TEST

/* ------------------------------------------ a TLS server of our own */

/*
 * Accept the client on lfd and shake hands with the certificate of name
 * (blocking, bounded by a receive timeout); NULL when the client broke
 * the handshake off.
 */
static SSL *
fake_tls_accept(int lfd, const char *name, struct kid *k, int *fd)
{
	char cert[700], key[700];
	struct timeval tv = { .tv_sec = T_LONG / 1000 };
	SSL_CTX *x = SSL_CTX_new(TLS_server_method());
	SSL *s;

	snprintf(cert, sizeof cert, "%s/%s.pem", h_tmpdir(), name);
	snprintf(key, sizeof key, "%s/%s.key", h_tmpdir(), name);
	if (x == NULL || SSL_CTX_use_certificate_file(x, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1)
		ossl_fail("fake TLS server certificate");
	*fd = fake_accept(lfd, k);
	setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	SSL_CTX_set_num_tickets(x, 0);	/* nothing to write after the handshake */
	if ((s = SSL_new(x)) == NULL || SSL_set_fd(s, *fd) != 1)
		ossl_fail("fake TLS server");
	SSL_CTX_free(x);	/* s holds a reference */
	if (SSL_accept(s) != 1) {
		ERR_clear_error();
		SSL_free(s);
		return NULL;
	}
	return s;
}

/* read from the TLS client until what it sent holds text */
static void
fake_tls_expect(SSL *s, struct sbuf *got, const char *text, struct kid *k)
{
	long long deadline = h_now_ms() + T_LONG;

	while (!has(got, text)) {
		char buf[4096];
		int n;

		if (h_now_ms() >= deadline)
			C_FAIL("fake TLS server: no \"%s\" from the client", text);
		kid_pump(k, 0);
		n = SSL_read(s, buf, sizeof buf);
		if (n <= 0)
			C_FAIL("fake TLS server: the client went before \"%s\"", text);
		sbuf_add(got, buf, (size_t)n);
	}
}

static void
fake_tls_send(SSL *s, const char *text)
{
	if (SSL_write(s, text, (int)strlen(text)) != (int)strlen(text))
		ossl_fail("fake TLS server write");
}

START_TEST(test_tls_hostile)
{
	char fp_a[H_TLS_FP_SIZE], fp_b[H_TLS_FP_SIZE];
	int port, lfd = fake_listen(&port), fd;
	struct sbuf got = { 0 };
	struct kid *l;
	SSL *s;
	long long t0;

	/* a client that refuses our certificate closes on us: an error, not a death */
	signal(SIGPIPE, SIG_IGN);
	h_tls_make_pair("a", "IP:127.0.0.1", path_in_tmp("a.pem"), path_in_tmp("a.key"), fp_a);
	h_tls_make_pair("b", "DNS:elsewhere.test", path_in_tmp("b.pem"), path_in_tmp("b.key"),
	    fp_b);

	/* plain text where a handshake should be: a clear error at once */
	l = kid_run("garbage", (const char *[]){ "-s", port_arg(port), "--tls", "-c", "#x",
	    NULL }, "x\n", false);
	fd = fake_accept(lfd, l);
	FAKE(fd, ":fake NOTICE * :*** Looking up your hostname\r\n");
	kid_expect_exit(l, EX_UNAVAILABLE, T_LONG);
	C_ASSERT(has(&l->e, "TLS handshake failed: wrong version number (does the server "
	    "speak TLS on this port?)"), "stderr: %s", l->e.p);
	close(fd);

	/* a server that accepts and says nothing: bounded by --timeout */
	t0 = h_now_ms();
	l = kid_run("stalled", (const char *[]){ "-s", port_arg(port), "--tls", "-c", "#x",
	    "--listen", "-T", "1", NULL }, NULL, false);
	fd = fake_accept(lfd, l);
	kid_expect_exit(l, EX_UNAVAILABLE, T_LONG);
	C_ASSERT(has(&l->e, "no TLS handshake within 1 s"), "stderr: %s", l->e.p);
	C_ASSERT(h_now_ms() - t0 < T_SHORT + 1000, "took %lld ms", h_now_ms() - t0);
	close(fd);

	/* a certificate for another name: the IP address must be in it */
	l = kid_run("mismatch", (const char *[]){ "-s", port_arg(port), "--tls-ca",
	    path_in_tmp("b.pem"), "-c", "#x", NULL }, "x\n", false);
	s = fake_tls_accept(lfd, "b", l, &fd);
	kid_expect_exit(l, EX_TLS_REFUSED, T_LONG);
	C_ASSERT(has(&l->e, "verification failed for 127.0.0.1: IP address mismatch"),
	    "stderr: %s", l->e.p);
	SSL_free(s);
	close(fd);

	/*
	 * Registered over TLS with a pinned certificate, then the server
	 * goes and comes back with another one: the client stops there
	 * instead of reconnecting again and again.
	 */
	l = kid_run("repinned", (const char *[]){ "-s", port_arg(port), "--tls-fingerprint", fp_a,
	    "-n", "lis", "-c", "#x", "--listen", "--json", NULL }, NULL, false);
	s = fake_tls_accept(lfd, "a", l, &fd);
	C_ASSERT(s != NULL, "the handshake with the pinned certificate failed");
	fake_tls_expect(s, &got, "USER ", l);
	fake_tls_send(s, ":fake 001 lis :Welcome lis!u@h\r\n");
	fake_tls_expect(s, &got, "JOIN #x", l);
	fake_tls_send(s, ":lis!u@h JOIN #x\r\n:evil!e@h PRIVMSG #x :over TLS\r\n");
	json_expect(l, "message", "evil", "over TLS", T_LONG);
	SSL_shutdown(s);
	SSL_free(s);
	close(fd);
	s = fake_tls_accept(lfd, "b", l, &fd);
	kid_expect_exit(l, EX_TLS_REFUSED, T_LONG);
	C_ASSERT(has(&l->e, "TLS certificate verification failed for 127.0.0.1: its SHA-256 "
	    "fingerprint is "), "stderr: %s", l->e.p);
	C_ASSERT(has(&l->e, fp_b), "stderr: %s", l->e.p);
	if (s != NULL)
		SSL_free(s);
	close(fd);
	free(got.p);
	close(lfd);
}
END_TEST

/* ---------------------------------------------------------------- IRCv3 */

/* how many screen rows hold text */
static int
term_count(struct term *t, const char *text)
{
	int n = 0;

	for (int r = 0; r < VT_ROWS; r++)
		if (strstr(vt_row(&t->vt, r), text))
			n++;
	return n;
}

/* the JSON events of a type with this text */
static int
json_count(struct kid *k, const char *type, const char *text)
{
	static struct jobj ev[256];
	int n = json_lines(k, ev, 256), found = 0;

	for (int i = 0; i < n && i < 256; i++)
		if (!strcmp(jget(&ev[i], "type"), type) && !strcmp(jget(&ev[i], "text"), text))
			found++;
	return found;
}

/*
 * echo-message at a terminal: what we say is shown once, when the server
 * sends it back; private messages too.
 */
START_TEST(test_v3_echo_interactive)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher");
	struct term t = { 0 };
	struct irc_msg m;

	join(w, "#ops");
	vt_init(&t.vt);
	t.k = kid_run_pty("interactive", (const char *[]){ "-s", port_arg(s->port), "-n", "alice",
	    "-c", "#ops", "--history", "0", NULL }, VT_ROWS, VT_COLS);
	EXPECT_FROM(w, "JOIN", "alice", &m);
	term_expect_input(&t, "[#ops]", -1, T_LONG);
	type(&t, "only once\r");
	expect_msg(w, "alice", "#ops", "only once");
	type(&t, "/msg watcher in private\r");
	expect_msg(w, "alice", "watcher", "in private");
	/* what came after both: their echoes (or local copies) are on screen by now */
	cli_send(w, "PRIVMSG #ops :marker");
	term_expect_row(&t, "<watcher> marker", T_SHORT);
	term_expect_row(&t, "<alice> only once", T_SHORT);
	term_expect_row(&t, "-> *watcher* in private", T_SHORT);
	C_ASSERT(term_count(&t, "<alice> only once") == 1, "own message shown %d times",
	    term_count(&t, "<alice> only once"));
	C_ASSERT(term_count(&t, "-> *watcher* in private") == 1, "private message shown %d times",
	    term_count(&t, "-> *watcher* in private"));
	type(&t, "/quit\r");
	kid_expect_exit(t.k, 0, T_LONG);
	srv_stop(s);
}
END_TEST

/*
 * A listening script with the capabilities on: server-time and msgid in
 * the JSON, away-notify, a script sender (echo-message) delivering each
 * line once and exiting 0.
 */
START_TEST(test_v3_listen_json)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher"), *b = cli_new(s, "bob");
	static struct jobj ev[256];
	struct kid *l, *k;
	struct irc_msg m;
	int n;

	join(w, "#ops");
	join(b, "#ops");
	l = kid_run("listener", (const char *[]){ "-s", port_arg(s->port), "-n", "lis",
	    "-c", "#ops", "--listen", "--json", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "lis", &m);
	json_expect(l, "join", "lis", NULL, T_SHORT);
	cli_send(w, "PRIVMSG #ops :stamped");
	json_expect(l, "message", "watcher", "stamped", T_SHORT);
	n = json_lines(l, ev, 256);
	for (int i = 0; i < n && i < 256; i++) {
		const char *id = jget(&ev[i], "msgid"), *t = jget(&ev[i], "time");

		if (strcmp(jget(&ev[i], "text"), "stamped") != 0)
			continue;
		C_ASSERT(id != NULL && strlen(id) == 26, "msgid %s", id ? id : "missing");
		C_ASSERT(strlen(t) == 24 && t[23] == 'Z', "time %s", t);
		C_ASSERT(jget(&ev[i], "history") == NULL, "a live line marked as history");
	}
	/* a script with echo-message: each line once, delivery confirmed */
	k = kid_run("script", (const char *[]){ "-s", port_arg(s->port), "-n", "bot",
	    "-c", "#ops", NULL }, "first\nsecond\n", false);
	expect_msg(w, "bot", "#ops", "first");
	expect_msg(w, "bot", "#ops", "second");
	kid_expect_exit(k, 0, T_LONG);
	C_ASSERT(k->e.len == 0, "unexpected stderr: %s", k->e.p);
	C_ASSERT(k->o.len == 0, "unexpected stdout: %s", k->o.p);
	json_expect(l, "message", "bot", "second", T_SHORT);
	C_ASSERT(json_count(l, "message", "first") == 1, "first seen %d times",
	    json_count(l, "message", "first"));

	/* away-notify: the channel's members going away and coming back */
	cli_send(b, "AWAY :lunch");
	json_expect(l, "away", "bob", "lunch", T_SHORT);
	cli_send(b, "AWAY");
	json_expect(l, "away", "bob", "(null)", T_SHORT);

	kill(l->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);
	srv_stop(s);
}
END_TEST

/*
 * draft/chathistory: the last lines on joining, marked as history, in
 * JSON and at a terminal; /history pages back from the oldest seen.
 */
START_TEST(test_v3_history)
{
	struct srv *s = srv_start(NULL);
	struct cli *w = cli_new(s, "watcher");
	static struct jobj ev[256];
	struct term t = { 0 };
	struct kid *l;
	struct irc_msg m;
	int n, seen = 0;

	join(w, "#hist");
	for (int i = 1; i <= 5; i++)
		cli_send(w, "PRIVMSG #hist :old %d", i);
	/* a round trip: the lines are in the server's history now */
	cli_send(w, "PING :sync");
	EXPECT(w, "PONG", &m);

	l = kid_run("listener", (const char *[]){ "-s", port_arg(s->port), "-n", "lis",
	    "-c", "#hist", "--listen", "--json", "--history", "3", NULL }, NULL, false);
	EXPECT_FROM(w, "JOIN", "lis", &m);
	json_expect(l, "message", "watcher", "old 5", T_LONG);
	cli_send(w, "PRIVMSG #hist :live");
	json_expect(l, "message", "watcher", "live", T_SHORT);
	n = json_lines(l, ev, 256);
	for (int i = 0; i < n && i < 256; i++) {
		const char *text = jget(&ev[i], "text"), *h = jget(&ev[i], "history");

		if (strcmp(jget(&ev[i], "type"), "message") != 0)
			continue;
		if (!strcmp(text, "live")) {
			C_ASSERT(h == NULL, "the live line is marked as history");
			continue;
		}
		/* the last three, oldest first */
		C_ASSERT(seen < 3, "more than 3 lines of history: %s", text);
		C_ASSERT(h != NULL && !strcmp(h, "true"), "%s not marked as history", text);
		C_ASSERT(!strcmp(text, (const char *[]){ "old 3", "old 4", "old 5" }[seen]),
		    "history line %d is %s", seen, text);
		seen++;
	}
	C_ASSERT(seen == 3, "%d lines of history, expected 3", seen);
	kill(l->pid, SIGTERM);
	kid_expect_exit(l, 0, T_LONG);

	/* at a terminal: marked, and /history goes further back */
	vt_init(&t.vt);
	t.k = kid_run_pty("interactive", (const char *[]){ "-s", port_arg(s->port), "-n", "alice",
	    "-c", "#hist", "--history", "2", NULL }, VT_ROWS, VT_COLS);
	EXPECT_FROM(w, "JOIN", "alice", &m);
	term_expect_row(&t, "[history] <watcher> live", T_LONG);
	term_expect_row(&t, "[history] <watcher> old 5", T_SHORT);
	term_expect_row(&t, "end of 2 earlier lines of #hist", T_SHORT);
	C_ASSERT(term_find(&t, "old 4") < 0, "more history than asked for");
	type(&t, "/history 2\r");
	term_expect_row(&t, "[history] <watcher> old 3", T_SHORT);
	term_expect_row(&t, "[history] <watcher> old 4", T_SHORT);
	type(&t, "/quit\r");
	kid_expect_exit(t.k, 0, T_LONG);
	srv_stop(s);
}
END_TEST

/*
 * The client's side of IRCv3 against a scripted server: negotiation, the
 * history fetched on joining (bounded by CHATHISTORY=), a chathistory
 * batch marked in JSON with the sender's times, a standard reply.
 */
START_TEST(test_v3_fake_server)
{
	int port, lfd = fake_listen(&port), fd;
	struct sbuf got = { 0 };
	const struct jobj *e;
	struct kid *l;

	l = kid_run("listener", (const char *[]){ "-s", port_arg(port), "-n", "lis", "-c",
	    "#ops", "--listen", "--json", "--history", "5", NULL }, NULL, false);
	fd = fake_accept(lfd, l);
	fake_expect(fd, &got, "USER ", l);
	C_ASSERT(has(&got, "CAP LS 302\r\n"), "no CAP LS 302: %s", got.p);
	FAKE(fd, ":fake CAP * LS * :server-time batch sts=port=6697,duration=60\r\n"
	    ":fake CAP * LS :draft/chathistory echo-message chghost\r\n");
	fake_expect(fd, &got, "CAP REQ :server-time echo-message batch draft/chathistory\r\n", l);
	FAKE(fd, ":fake CAP * ACK :server-time echo-message batch draft/chathistory\r\n");
	fake_expect(fd, &got, "CAP END\r\n", l);
	FAKE(fd, ":fake 001 lis :Welcome lis!u@h\r\n"
	    ":fake 005 lis CHATHISTORY=2 MSGREFTYPES=msgid,timestamp :are supported\r\n");
	fake_expect(fd, &got, "JOIN #ops", l);
	FAKE(fd, "@time=2026-12-06T10:00:00.000Z :lis!u@h JOIN #ops\r\n");
	fake_expect(fd, &got, "CHATHISTORY LATEST #ops * 2\r\n", l);
	FAKE(fd, ":fake BATCH +h1 chathistory #ops\r\n"
	    "@batch=h1;time=2026-12-05T09:30:00.000Z;msgid=m1 :bob!b@h PRIVMSG #ops :old one\r\n"
	    "@batch=h1;time=2026-12-05T09:31:00.500Z;msgid=m2 :bob!b@h PRIVMSG #ops :old two\r\n"
	    ":fake BATCH -h1\r\n"
	    "@time=2026-12-06T10:01:00.250Z;msgid=m3 :bob!b@h PRIVMSG #ops :live one\r\n"
	    ":fake FAIL CHATHISTORY MESSAGE_ERROR #ops :Messages could not be retrieved\r\n");
	json_expect(l, "error", NULL, NULL, T_LONG);
	e = json_find(l, "message", "text", "old one");
	C_ASSERT(e != NULL && !strcmp(jget(e, "time"), "2026-12-05T09:30:00.000Z") &&
	    jget(e, "history") != NULL && !strcmp(jget(e, "history"), "true") &&
	    !strcmp(jget(e, "msgid"), "m1"), "old one: not history, or not its time");
	e = json_find(l, "message", "text", "old two");
	C_ASSERT(e != NULL && !strcmp(jget(e, "time"), "2026-12-05T09:31:00.500Z") &&
	    jget(e, "history") != NULL, "old two: not history, or not its time");
	e = json_find(l, "message", "text", "live one");
	C_ASSERT(e != NULL && !strcmp(jget(e, "time"), "2026-12-06T10:01:00.250Z") &&
	    jget(e, "history") == NULL, "live one: marked as history, or not its time");
	e = json_find(l, "error", "from", "fake");
	C_ASSERT(e != NULL && strstr(jget(e, "text"), "CHATHISTORY: Messages could not be retrieved")
	    != NULL, "the FAIL reply: %s", e ? jget(e, "text") : "missing");

	kill(l->pid, SIGTERM);
	fake_expect(fd, &got, "QUIT :Leaving", l);
	close(fd);
	kid_expect_exit(l, 0, T_LONG);
	free(got.p);
	close(lfd);
}
END_TEST

/* ---------------------------------------------------------------- main */

int
main(void)
{
	Suite *su = suite_create("client_integ");
	TCase *tc;

	harness_init();

	tc = h_tcase(su, "script", 60, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_script_delivers_in_order);
	tcase_add_test(tc, test_script_to_nick_and_config);
	tcase_add_test(tc, test_script_failures);
	tcase_add_test(tc, test_nick_collision);

	tc = h_tcase(su, "listen", 60, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_listen_json);
	tcase_add_test(tc, test_listen_text);
	tcase_add_test(tc, test_reconnect);
	tcase_add_test(tc, test_hostile_server);
	tcase_add_test(tc, test_listen_moderation);

	tc = h_tcase(su, "interactive", 60, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_interactive_pty);
	tcase_add_test(tc, test_interactive_ctrl_c);
	tcase_add_test(tc, test_interactive_moderation);

	/* IRCv3 against shmchatd (chat history: once the server keeps it) */
	tc = h_tcase(su, "ircv3", 60, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_v3_fake_server);
	tcase_add_test(tc, test_v3_echo_interactive);
	tcase_add_test(tc, test_v3_listen_json);
	tcase_add_test(tc, test_v3_history);

	tc = h_tcase(su, "ngircd", 60, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_ngircd);

	tc = h_tcase(su, "tls", 60, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_tls_ngircd);
	tcase_add_test(tc, test_tls_shmchatd);
	tcase_add_test(tc, test_tls_hostile);

	return h_suite_run(su);
}
