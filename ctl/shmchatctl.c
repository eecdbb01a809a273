/*
 * shmchatctl: administer a running shmchatd through its SysV message queue.
 *
 * The queue key comes from the daemon's own configuration file, loaded by
 * the same code (conf.c), so both always agree. One request per run: it
 * goes out with our pid and a random request id; the answer comes back in
 * numbered parts with mtype = our pid (ctl_reply.c reassembles them) and is
 * shown as a table or as JSON (ctl_output.c). Subcommands are rows of one
 * table below: name, handler, usage, argument counts, options, columns.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "adminq.h"
#include "clock.h"
#include "conf.h"
#include "ctl_output.h"
#include "ctl_reply.h"

#define CTL_TIMEOUT_DEFAULT	5.0	/* seconds */
#define CTL_TIMEOUT_MAX		86400.0
#define EX_REFUSED		1	/* the server said no */

/* options a subcommand may take besides the global ones */
#define OPT_CHANNEL	0x1u
#define OPT_MESSAGE	0x2u
#define OPT_WAIT	0x4u

struct ctl {
	const char *config_path;
	bool config_given;
	struct conf conf;	/* of config_path: admin_queue_key, admin_group */
	double timeout;		/* seconds: bounds the whole exchange */
	uint64_t deadline;	/* clock_ms() */
	bool json;
	const char *channel;	/* who --channel */
	const char *message;	/* shutdown --message */
	bool wait;		/* shutdown --wait */
	int qid;
};

struct ctl_cmd;
typedef int ctl_run_fn(struct ctl *, const struct ctl_cmd *, int, char **);

struct ctl_cmd {
	const char *name;
	ctl_run_fn *run;
	const char *usage;	/* what follows the name */
	const char *help;
	int min_args, max_args;	/* positional arguments; -1: any number (joined) */
	unsigned opts;		/* OPT_* it accepts */
	unsigned req;		/* enum adminq_cmd (the handler may choose another) */
	const struct ctl_col *cols;	/* how to show the answer */
	int ncols;
	const char *empty;	/* said when a table has no rows */
};

/* ---------------------------------------------------------------- columns */

#define NCOLS(a)	((int)(sizeof(a) / sizeof((a)[0])))

static const struct ctl_col status_keys[] = {
	{ "version", "version", CTL_TEXT },
	{ "pid", "pid", CTL_NUM },
	{ "uptime", "uptime", CTL_DURATION },
	{ "started", "started", CTL_TIME },
	{ "listen", "listen", CTL_TEXT },
	{ "clients", "clients", CTL_NUM },
	{ "connections", "connections", CTL_NUM },
	{ "channels", "channels", CTL_NUM },
	{ "max_clients", "max_clients", CTL_NUM },
	{ "messages", "messages", CTL_NUM },
	{ "deliveries", "deliveries", CTL_NUM },
	{ "ring_used", "ring_used", CTL_BYTES },
	{ "ring_size", "ring_size", CTL_BYTES },
	{ "shm_name", "shm_name", CTL_TEXT },
	{ "shm_size", "shm_size", CTL_BYTES },
	{ "cluster", "cluster", CTL_TEXT },
	{ "history_lines", "history_lines", CTL_NUM },
	{ "history_bytes", "history_bytes", CTL_BYTES },
	{ "history_memory", "history_memory", CTL_BYTES },
};

static const struct ctl_col cluster_cols[] = {
	{ "node", "NODE", CTL_TEXT },
	{ "state", "STATE", CTL_TEXT },
	{ "clients", "CLIENTS", CTL_NUM },
	{ "incarnation", "INCARNATION", CTL_TEXT },
};

/* long free-text columns last, so the others line up */
static const struct ctl_col who_cols[] = {
	{ "nick", "NICK", CTL_TEXT },
	{ "userhost", "USER@HOST", CTL_TEXT },
	{ "modes", "MODES", CTL_TEXT },
	{ "idle", "IDLE", CTL_DURATION },
	{ "since", "CONNECTED SINCE", CTL_TIME },
	{ "pid", "PID", CTL_ID },
	{ "bytes_in", "IN", CTL_BYTES },
	{ "bytes_out", "OUT", CTL_BYTES },
	{ "tls", "TLS", CTL_TEXT },
	{ "channels", "CHANNELS", CTL_LIST },
};

static const struct ctl_col channel_cols[] = {
	{ "name", "CHANNEL", CTL_TEXT },
	{ "members", "MEMBERS", CTL_NUM },
	{ "modes", "MODES", CTL_TEXT },
	{ "topic", "TOPIC", CTL_TEXT },
};

/* chanmode answers one of three tables: the modes, list entries, a result */
static const struct ctl_col chanmode_cols[] = {
	{ "name", "CHANNEL", CTL_TEXT },
	{ "modes", "MODES", CTL_TEXT },
	{ "members", "MEMBERS", CTL_NUM },
	{ "created", "CREATED", CTL_TIME },
	{ "list", "LIST", CTL_TEXT },
	{ "mask", "MASK", CTL_TEXT },
	{ "set_by", "SET BY", CTL_TEXT },
	{ "set_at", "SET AT", CTL_TIME },
	{ "result", "RESULT", CTL_TEXT },
};

static const struct ctl_col motd_cols[] = {
	{ "motd", "MOTD", CTL_TEXT },
};

static const struct ctl_col result_cols[] = {
	{ "result", "RESULT", CTL_TEXT },
};

static const struct ctl_col ipc_cols[] = {
	{ "kind", "KIND", CTL_TEXT },
	{ "id", "ID", CTL_ID },
	{ "detail", "DETAIL", CTL_TEXT },
};

/* ------------------------------------------------------------------ misc */

static int
left_ms(const struct ctl *ctl)
{
	uint64_t now = clock_ms();

	if (now >= ctl->deadline)
		return 0;
	return ctl->deadline - now > INT_MAX ? INT_MAX : (int)(ctl->deadline - now);
}

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint32_t
request_id(void)
{
	uint32_t id;
	struct timespec ts;

	if (getrandom(&id, sizeof id, GRND_NONBLOCK) == (ssize_t)sizeof id)
		return id;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ ((uint32_t)getpid() << 16);
}

/* argv[0..n) joined by spaces (malloc'd), NULL when out of memory */
static char *
join_args(int n, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(argv[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* print a message from the server (untrusted) on one line after prefix */
static void
print_reason(const char *prefix, const char *data, size_t len)
{
	char *line = strndup(data, len), *clean;
	size_t n;

	if (line == NULL) {
		fprintf(stderr, "shmchatctl: %s\n", prefix);
		return;
	}
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	clean = ctl_sanitize(line, NULL);
	fprintf(stderr, "shmchatctl: %s%s%s\n", prefix, prefix[0] && n ? ": " : "",
	    clean ? clean : line);
	free(clean);
	free(line);
}

/* ------------------------------------------------------------ the config */

/*
 * When the file does not load (an edit in progress with a mistake, a
 * motd_file we may not read) the admin settings may still be readable:
 * use them, after a warning, so `shmchatctl reload` can show the server's
 * view of the mistake.
 */
static int
ctl_load_config(struct ctl *ctl)
{
	char err[1024];

	conf_init_defaults(&ctl->conf);
	if (conf_load(&ctl->conf, ctl->config_path, ctl->config_given, err, sizeof err) == 0)
		return 0;
	if (access(ctl->config_path, R_OK) < 0 && errno == EACCES) {
		fprintf(stderr, "shmchatctl: permission denied: cannot read %s, which names "
		    "shmchatd's queue; run as root or as a member of the group that may "
		    "administer shmchatd\n", ctl->config_path);
		return EX_NOPERM;
	}
	/* no message of its own: the first mistake is in err already */
	if (conf_load_admin(&ctl->conf, ctl->config_path, NULL, 0) == 0) {
		fprintf(stderr, "shmchatctl: warning: %s\n"
		    "shmchatctl: warning: using the admin settings of %s all the same\n",
		    err, ctl->config_path);
		return 0;
	}
	fprintf(stderr, "shmchatctl: %s\n", err);
	return EX_CONFIG;
}

/* ------------------------------------------------------------ the queue */

static int
say_not_running(const struct ctl *ctl)
{
	fprintf(stderr, "shmchatctl: shmchatd is not running (no queue with key 0x%08lx)\n",
	    ctl->conf.admin_queue_key);
	return EX_UNAVAILABLE;
}

static int
say_no_permission(const struct ctl *ctl)
{
	fprintf(stderr, "shmchatctl: permission denied: the queue (key 0x%08lx) belongs to "
	    "group '%s'; run as root or as a member of that group\n",
	    ctl->conf.admin_queue_key, ctl->conf.admin_group);
	return EX_NOPERM;
}

static int
say_timeout(const struct ctl *ctl, const char *why)
{
	fprintf(stderr, "shmchatctl: no answer from shmchatd within %g s%s (queue key 0x%08lx)\n",
	    ctl->timeout, why, ctl->conf.admin_queue_key);
	return EX_UNAVAILABLE;
}

/*
 * The queue went away before the answer came. For shutdown that is the
 * answer (the server stopped and removed it): r gets it and 0 is returned.
 */
static int
say_gone(const struct ctl *ctl, unsigned req, struct ctl_reply *r)
{
	static const char stopped[] = "result\nshutting down\n";

	if (req == ADMINQ_SHUTDOWN) {
		char *d = strdup(stopped);

		if (d == NULL) {
			fprintf(stderr, "shmchatctl: out of memory\n");
			return EX_OSERR;
		}
		free(r->data);
		r->data = d;
		r->len = sizeof stopped - 1;
		r->cap = sizeof stopped;
		r->status = ADMINQ_OK;
		r->done = true;
		return 0;
	}
	fprintf(stderr, "shmchatctl: shmchatd stopped before answering (its queue, key "
	    "0x%08lx, was removed)\n", ctl->conf.admin_queue_key);
	return EX_UNAVAILABLE;
}

/*
 * Send one request and collect its answer into r. Returns 0 when the
 * server answered ADMINQ_OK, else the exit status (the reason printed).
 */
static int
ctl_call(struct ctl *ctl, unsigned req, const char *const *args, int nargs,
    struct ctl_reply *r)
{
	struct adminq_msg *m = malloc(sizeof *m);
	pid_t me = getpid();
	uint32_t id = request_id();
	ssize_t len;
	int e, rc = 0;

	ctl_reply_init(r, id);
	if (m == NULL) {
		fprintf(stderr, "shmchatctl: out of memory\n");
		return EX_OSERR;
	}
	len = adminq_encode_req(m, req, me, id, args, nargs);
	if (len < 0) {
		fprintf(stderr, "shmchatctl: the arguments are too long (at most %d bytes in "
		    "all)\n", ADMINQ_ARGS_MAX - nargs);
		rc = EX_USAGE;
		goto out;
	}
	if ((ctl->qid = adminq_open((key_t)ctl->conf.admin_queue_key)) < 0) {
		e = ctl->qid;
		if (e == -ENOENT)
			rc = say_not_running(ctl);
		else if (e == -EACCES || e == -EPERM)
			rc = say_no_permission(ctl);
		else {
			fprintf(stderr, "shmchatctl: cannot open the queue with key 0x%08lx: %s\n",
			    ctl->conf.admin_queue_key, strerror(-e));
			rc = EX_UNAVAILABLE;
		}
		goto out;
	}
	/* answers to an earlier process with our pid that nobody read */
	adminq_purge(ctl->qid, me);

	while ((e = adminq_send(ctl->qid, m, (size_t)len)) == -EAGAIN) {
		if (left_ms(ctl) == 0) {
			rc = say_timeout(ctl, " (its queue is full)");
			goto out;
		}
		nap_ms(5);
	}
	if (e == -EACCES || e == -EPERM) {
		rc = say_no_permission(ctl);
		goto out;
	}
	if (e == -EIDRM || e == -EINVAL) {
		rc = say_not_running(ctl);
		goto out;
	}
	if (e < 0) {
		fprintf(stderr, "shmchatctl: cannot send to the queue (key 0x%08lx): %s\n",
		    ctl->conf.admin_queue_key, strerror(-e));
		rc = EX_UNAVAILABLE;
		goto out;
	}

	for (;;) {
		len = adminq_recv(ctl->qid, m, me, left_ms(ctl));
		if (len == -ETIMEDOUT) {
			rc = say_timeout(ctl, "");
			goto out;
		}
		if (len == -EIDRM || len == -EINVAL) {
			if ((rc = say_gone(ctl, req, r)) == 0)
				goto done;
			goto out;
		}
		if (len == -EACCES || len == -EPERM) {
			rc = say_no_permission(ctl);
			goto out;
		}
		if (len < 0) {
			fprintf(stderr, "shmchatctl: cannot read from the queue (key 0x%08lx): %s\n",
			    ctl->conf.admin_queue_key, strerror((int)-len));
			rc = EX_UNAVAILABLE;
			goto out;
		}
		e = ctl_reply_add(r, m, (size_t)len);
		if (e == 1)
			break;
		if (e == 0)
			continue;
		if (e == -EPROTO)
			fprintf(stderr, "shmchatctl: incompatible shmchatctl and shmchatd (the "
			    "server speaks admin protocol %u, shmchatctl %d)\n",
			    r->peer_version, ADMINQ_VERSION);
		else if (e == -ENOMEM)
			fprintf(stderr, "shmchatctl: out of memory\n");
		else if (e == -EFBIG)
			fprintf(stderr, "shmchatctl: garbled reply from shmchatd (more than %u "
			    "MiB)\n", CTL_REPLY_MAX >> 20);
		else
			fprintf(stderr, "shmchatctl: garbled reply from shmchatd (part %u)\n",
			    r->next);
		rc = e == -ENOMEM ? EX_OSERR : EX_REFUSED;
		goto out;
	}
done:
	switch (r->status) {
	case ADMINQ_OK:
		break;
	case ADMINQ_REFUSED:
		print_reason("server refused", r->data, r->len);
		rc = EX_REFUSED;
		break;
	case ADMINQ_BAD_REQUEST:
		print_reason("server rejected the request", r->data, r->len);
		rc = EX_REFUSED;
		break;
	case ADMINQ_INCOMPATIBLE:
		print_reason(r->len ? "" : "incompatible shmchatctl and shmchatd", r->data,
		    r->len);
		rc = EX_REFUSED;
		break;
	default:
		fprintf(stderr, "shmchatctl: garbled reply from shmchatd (status %u)\n",
		    r->status);
		rc = EX_REFUSED;
	}
out:
	free(m);
	return rc;
}

/* the answer as a table; prints why not and returns an exit status if bad */
static int
parse_answer(const struct ctl_reply *r, struct ctl_table *t)
{
	int e = ctl_table_parse(t, r->data ? r->data : "", r->len);

	if (e == -ENOMEM) {
		fprintf(stderr, "shmchatctl: out of memory\n");
		return EX_OSERR;
	}
	if (e < 0) {
		fprintf(stderr, "shmchatctl: garbled reply from shmchatd (no column names)\n");
		return EX_REFUSED;
	}
	return 0;
}

/* a table answer shown per cmd->cols, cmd->empty when it has no rows */
static int
show_table(const struct ctl *ctl, const struct ctl_cmd *cmd, const struct ctl_table *t)
{
	if (ctl->json)
		ctl_print_json_rows(stdout, t, cmd->cols, cmd->ncols);
	else if (t->nrows == 0)
		printf("%s\n", cmd->empty);
	else if (ctl_print_table(stdout, t, cmd->cols, cmd->ncols) < 0) {
		fprintf(stderr, "shmchatctl: out of memory\n");
		return EX_OSERR;
	}
	return 0;
}

/* call and show the answer per cmd->cols; the generic handler's second half */
static int
query(struct ctl *ctl, const struct ctl_cmd *cmd, const char *const *args, int nargs)
{
	struct ctl_reply r;
	struct ctl_table t = { 0 };
	int rc = ctl_call(ctl, cmd->req, args, nargs, &r);

	if (rc == 0 && (rc = parse_answer(&r, &t)) == 0)
		rc = show_table(ctl, cmd, &t);
	ctl_table_free(&t);
	ctl_reply_free(&r);
	return rc;
}

/* a "result" answer: its lines, or {"result": "the lines"} */
static int
show_result(const struct ctl *ctl, const struct ctl_table *t)
{
	int col = ctl_table_col(t, "result");

	if (col < 0)
		col = 0;
	if (ctl->json) {
		char *all = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&all, &len);

		if (f == NULL) {
			fprintf(stderr, "shmchatctl: out of memory\n");
			return EX_OSERR;
		}
		for (int i = 0; i < t->nrows; i++)
			fprintf(f, "%s%s", i ? "\n" : "", ctl_table_cell(t, i, col));
		if (fclose(f) != 0) {
			free(all);
			fprintf(stderr, "shmchatctl: out of memory\n");
			return EX_OSERR;
		}
		fputs("{\"result\": ", stdout);
		ctl_json_string(stdout, all ? all : "");
		fputs("}\n", stdout);
		free(all);
	} else {
		for (int i = 0; i < t->nrows; i++) {
			char *s = ctl_sanitize(ctl_table_cell(t, i, col), NULL);

			printf("%s\n", s ? s : "");
			free(s);
		}
	}
	return 0;
}

/* an action: the answer is a "result" sentence (or several lines of them) */
static int
action(struct ctl *ctl, unsigned req, const char *const *args, int nargs)
{
	struct ctl_reply r;
	struct ctl_table t = { 0 };
	int rc = ctl_call(ctl, req, args, nargs, &r);

	if (rc == 0 && (rc = parse_answer(&r, &t)) == 0)
		rc = show_result(ctl, &t);
	ctl_table_free(&t);
	ctl_reply_free(&r);
	return rc;
}

/* ------------------------------------------------------------- handlers */

static int
run_status(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct ctl_reply r;
	struct ctl_table t = { 0 };
	int rc = ctl_call(ctl, cmd->req, NULL, 0, &r), kc, vc;
	unsigned long long ring_size = 0;

	(void)argc;
	(void)argv;
	if (rc != 0 || (rc = parse_answer(&r, &t)) != 0)
		goto out;
	kc = ctl_table_col(&t, "key");
	vc = ctl_table_col(&t, "value");
	if (kc < 0 || vc < 0) {
		fprintf(stderr, "shmchatctl: garbled reply from shmchatd (no key/value columns)\n");
		rc = EX_REFUSED;
		goto out;
	}
	if (ctl->json) {
		ctl_print_json_object(stdout, &t, cmd->cols, cmd->ncols);
		goto out;
	}
	for (int i = 0; i < t.nrows; i++)
		if (strcmp(ctl_table_cell(&t, i, kc), "ring_size") == 0)
			ring_size = strtoull(ctl_table_cell(&t, i, vc), NULL, 10);
	for (int i = 0; i < t.nrows; i++) {
		const char *k = ctl_table_cell(&t, i, kc), *v = ctl_table_cell(&t, i, vc);
		enum ctl_fmt fmt = CTL_NUM;
		char *key = ctl_sanitize(k, NULL), *val;

		for (int j = 0; j < cmd->ncols; j++)
			if (strcmp(cmd->cols[j].name, k) == 0)
				fmt = cmd->cols[j].fmt;
		val = ctl_format(fmt, v);
		if (key == NULL || val == NULL) {
			free(key);
			free(val);
			fprintf(stderr, "shmchatctl: out of memory\n");
			rc = EX_OSERR;
			goto out;
		}
		printf("%s: %s", key, val);
		if (strcmp(k, "ring_used") == 0 && ring_size > 0 && ctl_json_is_number(v))
			printf(" (%.1f%%)", 100.0 * (double)strtoull(v, NULL, 10) / (double)ring_size);
		putchar('\n');
		free(key);
		free(val);
	}
out:
	ctl_table_free(&t);
	ctl_reply_free(&r);
	return rc;
}

static int
run_table(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *args[1];
	int nargs = 0;

	(void)argc;
	(void)argv;
	if (ctl->channel != NULL)
		args[nargs++] = ctl->channel;
	return query(ctl, cmd, args, nargs);
}

/* kick NICK [REASON...], wall TEXT...: the first argument, then the rest joined */
static int
run_action(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *args[2];
	char *rest = NULL;
	int nargs = 0, rc;

	if (cmd->req == ADMINQ_KICK) {
		args[nargs++] = argv[0];
		argc--;
		argv++;
	}
	if (argc > 0) {
		if ((rest = join_args(argc, argv)) == NULL) {
			fprintf(stderr, "shmchatctl: out of memory\n");
			return EX_OSERR;
		}
		args[nargs++] = rest;
	}
	rc = action(ctl, cmd->req, args, nargs);
	free(rest);
	return rc;
}

/* the MOTD as it is, one line per row */
static int
show_motd(struct ctl *ctl)
{
	struct ctl_reply r;
	struct ctl_table t = { 0 };
	int rc = ctl_call(ctl, ADMINQ_MOTD, NULL, 0, &r), col;

	if (rc != 0 || (rc = parse_answer(&r, &t)) != 0)
		goto out;
	col = ctl_table_col(&t, "motd");
	if (col < 0)
		col = 0;
	if (ctl->json)
		ctl_print_json_rows(stdout, &t, motd_cols, NCOLS(motd_cols));
	else if (t.nrows == 0)
		printf("no MOTD is set\n");
	else
		for (int i = 0; i < t.nrows; i++) {
			char *s = ctl_sanitize(ctl_table_cell(&t, i, col), NULL);

			printf("%s\n", s ? s : "");
			free(s);
		}
out:
	ctl_table_free(&t);
	ctl_reply_free(&r);
	return rc;
}

static int
run_motd(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *args[1];
	char *text;
	int rc;

	if (argc == 0 || strcmp(argv[0], "show") == 0) {
		if (argc > 1)
			goto usage;
		return show_motd(ctl);
	}
	if (strcmp(argv[0], "reload") == 0) {
		if (argc > 1)
			goto usage;
		return action(ctl, ADMINQ_MOTD_RELOAD, NULL, 0);
	}
	if (strcmp(argv[0], "set") == 0) {
		if (argc < 2)
			goto usage;
		if ((text = join_args(argc - 1, argv + 1)) == NULL) {
			fprintf(stderr, "shmchatctl: out of memory\n");
			return EX_OSERR;
		}
		args[0] = text;
		rc = action(ctl, ADMINQ_MOTD_SET, args, 1);
		free(text);
		return rc;
	}
usage:
	fprintf(stderr, "Usage: shmchatctl %s %s\nTry 'shmchatctl --help'.\n", cmd->name,
	    cmd->usage);
	return EX_USAGE;
}

/* wait until the server removed its queue: it has stopped */
static int
wait_stopped(const struct ctl *ctl)
{
	for (;;) {
		struct msqid_ds ds;

		if (msgctl(ctl->qid, IPC_STAT, &ds) < 0 && (errno == EINVAL || errno == EIDRM))
			return 0;
		if (left_ms(ctl) == 0) {
			fprintf(stderr, "shmchatctl: shmchatd is still stopping after %g s (its "
			    "queue, key 0x%08lx, is still there)\n", ctl->timeout,
			    ctl->conf.admin_queue_key);
			return EX_REFUSED;
		}
		nap_ms(10);
	}
}

static int
run_shutdown(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *args[1];
	int rc;

	(void)argc;
	(void)argv;
	if (ctl->message != NULL)
		args[0] = ctl->message;
	rc = action(ctl, cmd->req, args, ctl->message != NULL ? 1 : 0);
	if (rc == 0 && ctl->wait)
		rc = wait_stopped(ctl);
	return rc;
}

/*
 * chanmode CHANNEL [MODES [PARAMS...]]: the arguments go as they are; the
 * answer's columns say which of the three it is (modes, list, result).
 */
static int
run_chanmode(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct ctl_reply r;
	struct ctl_table t = { 0 };
	int rc = ctl_call(ctl, cmd->req, (const char *const *)argv, argc, &r);

	if (rc == 0 && (rc = parse_answer(&r, &t)) == 0)
		rc = ctl_table_col(&t, "result") >= 0 ? show_result(ctl, &t) :
		    show_table(ctl, cmd, &t);
	ctl_table_free(&t);
	ctl_reply_free(&r);
	return rc;
}

static int run_help(struct ctl *, const struct ctl_cmd *, int, char **);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", run_status, "", "version, uptime, clients, channels, ring usage",
	  0, 0, 0, ADMINQ_STATUS, status_keys, NCOLS(status_keys), "" },
	{ "who", run_table, "[--channel CHANNEL]", "connected clients (of one channel)",
	  0, 0, OPT_CHANNEL, ADMINQ_WHO, who_cols, NCOLS(who_cols), "no clients" },
	{ "channels", run_table, "", "channels: members, modes, topic",
	  0, 0, 0, ADMINQ_CHANNELS, channel_cols, NCOLS(channel_cols), "no channels" },
	{ "chanmode", run_chanmode, "CHANNEL [MODES [PARAM...]]",
	  "show or set a channel's modes, operators, bans",
	  1, 2 + ADMINQ_CHANMODE_PARAMS, 0, ADMINQ_CHANMODE, chanmode_cols, NCOLS(chanmode_cols),
	  "no entries" },
	{ "kick", run_action, "NICK [REASON]", "disconnect a client",
	  1, -1, 0, ADMINQ_KICK, result_cols, NCOLS(result_cols), "" },
	{ "wall", run_action, "TEXT", "send a server NOTICE to every client",
	  1, -1, 0, ADMINQ_WALL, result_cols, NCOLS(result_cols), "" },
	{ "motd", run_motd, "[show | set TEXT | reload]",
	  "show, replace or re-read the message of the day",
	  0, -1, 0, ADMINQ_MOTD, motd_cols, NCOLS(motd_cols), "no MOTD is set" },
	{ "reload", run_action, "", "reload the configuration, as SIGHUP",
	  0, 0, 0, ADMINQ_RELOAD, result_cols, NCOLS(result_cols), "" },
	{ "upgrade", run_action, "[BINARY]",
	  "replace the running server by BINARY (default: the installed shmchatd), "
	  "keeping every client",
	  0, 1, 0, ADMINQ_UPGRADE, result_cols, NCOLS(result_cols), "" },
	{ "shutdown", run_shutdown, "[--message TEXT] [--wait]",
	  "stop the server gracefully, as SIGTERM",
	  0, 0, OPT_MESSAGE | OPT_WAIT, ADMINQ_SHUTDOWN, result_cols, NCOLS(result_cols), "" },
	{ "cluster", run_table, "", "the nodes of the network and their clients",
	  0, 0, 0, ADMINQ_CLUSTER, cluster_cols, NCOLS(cluster_cols), "not in a cluster" },
	{ "ipc", run_table, "", "the IPC objects the server uses",
	  0, 0, 0, ADMINQ_IPC, ipc_cols, NCOLS(ipc_cols), "" },
	{ "help", run_help, "[COMMAND]", "show this help, or one command's",
	  0, 1, 0, 0, NULL, 0, "" },
};
#define NCMDS	NCOLS(ctl_cmds)

static const struct ctl_cmd *
find_cmd(const char *name)
{
	for (int i = 0; i < NCMDS; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* ---------------------------------------------------------------- usage */

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: shmchatctl [OPTION]... COMMAND [ARG]...\n"
	    "Administer a running shmchatd through its System V message queue.\n"
	    "\n"
	    "Commands:\n");
	for (int i = 0; i < NCMDS; i++) {
		char head[64];

		snprintf(head, sizeof head, "%s %s", ctl_cmds[i].name, ctl_cmds[i].usage);
		if (strlen(head) > 29)
			fprintf(f, "  %s\n  %-29s %s\n", head, "", ctl_cmds[i].help);
		else
			fprintf(f, "  %-29s %s\n", head, ctl_cmds[i].help);
	}
	fprintf(f,
	    "\n"
	    "Options (before or after the command):\n"
	    "  -c, --config FILE    the shmchatd configuration naming the queue key\n"
	    "                       (default %s)\n"
	    "  -t, --timeout SEC    give up after SEC seconds (default %g; fractions allowed)\n"
	    "  -j, --json           print JSON instead of tables\n"
	    "  -h, --help           show this help and exit\n"
	    "  -V, --version        show the version and exit\n"
	    "\n"
	    "Use root or a member of the configured admin group (default 'shmchat').\n"
	    "Exit status: 0 success, 1 refused by the server, 64 usage error, 69 shmchatd\n"
	    "not answering, 77 permission denied, 78 configuration error.\n",
	    CONFIG_DEFAULT_PATH, CTL_TIMEOUT_DEFAULT);
}

static int
run_help(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const struct ctl_cmd *c;

	(void)ctl;
	(void)cmd;
	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	if ((c = find_cmd(argv[0])) == NULL) {
		fprintf(stderr, "shmchatctl: unknown command '%s'\nTry 'shmchatctl --help'.\n",
		    argv[0]);
		return EX_USAGE;
	}
	printf("Usage: shmchatctl [OPTION]... %s%s%s\n%s.\n", c->name, c->usage[0] ? " " : "",
	    c->usage, c->help);
	return 0;
}

/* ----------------------------------------------------------------- main */

static const struct option ctl_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	/* subcommand options (accepted after their command only) */
	{ "channel", required_argument, NULL, 'C' },
	{ "message", required_argument, NULL, 'm' },
	{ "wait", no_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

static int
parse_timeout(struct ctl *ctl, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(v > 0) ||
	    v > CTL_TIMEOUT_MAX) {
		fprintf(stderr, "shmchatctl: invalid timeout '%s': seconds, more than 0 and at "
		    "most %g\n", s, CTL_TIMEOUT_MAX);
		return -1;
	}
	ctl->timeout = v;
	return 0;
}

/*
 * One getopt pass: global options, plus the command's own when cmd is set.
 * Stops at the first non-option ("+"). Returns 0, 1 (--help/--version done)
 * or -1 (usage error, reported).
 */
static int
parse_options(struct ctl *ctl, const struct ctl_cmd *cmd, int argc, char **argv)
{
	int c;

	optind = 0;	/* glibc: start over (argv changes between passes) */
	while ((c = getopt_long(argc, argv, cmd ? "+c:t:jhVm:w" : "+c:t:jhV", ctl_options,
	    NULL)) != -1) {
		const char *name = NULL;
		unsigned need = 0;

		switch (c) {
		case 'c':
			ctl->config_path = optarg;
			ctl->config_given = true;
			break;
		case 't':
			if (parse_timeout(ctl, optarg) < 0)
				return -1;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'h':
			if (cmd != NULL)
				return run_help(ctl, NULL, 1, (char *[]){ (char *)cmd->name }) == 0 ?
				    1 : -1;
			usage(stdout);
			return 1;
		case 'V':
			printf("shmchatctl %s (admin protocol %d)\n", PACKAGE_VERSION,
			    ADMINQ_VERSION);
			return 1;
		case 'C':
			need = OPT_CHANNEL;
			name = "--channel";
			ctl->channel = optarg;
			break;
		case 'm':
			need = OPT_MESSAGE;
			name = "--message";
			ctl->message = optarg;
			break;
		case 'w':
			need = OPT_WAIT;
			name = "--wait";
			ctl->wait = true;
			break;
		default:
			return -1;	/* getopt said what */
		}
		if (need && (cmd == NULL || !(cmd->opts & need))) {
			fprintf(stderr, "shmchatctl: option '%s' is not valid %s%s\n",
			    name, cmd ? "with " : "before the command",
			    cmd ? cmd->name : "");
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl ctl = {
		.config_path = CONFIG_DEFAULT_PATH,
		.timeout = CTL_TIMEOUT_DEFAULT,
		.qid = -1,
	};
	const struct ctl_cmd *cmd;
	int rc, nargs;

	rc = parse_options(&ctl, NULL, argc, argv);
	if (rc != 0)
		goto usage_or_done;
	if (optind >= argc) {
		fprintf(stderr, "shmchatctl: no command given\nTry 'shmchatctl --help'.\n");
		return EX_USAGE;
	}
	if ((cmd = find_cmd(argv[optind])) == NULL) {
		fprintf(stderr, "shmchatctl: unknown command '%s'\nTry 'shmchatctl --help'.\n",
		    argv[optind]);
		return EX_USAGE;
	}
	/* the command's own options; argv[optind] plays argv[0] */
	argc -= optind;
	argv += optind;
	argv[0] = (char *)"shmchatctl";	/* getopt's messages name argv[0] */
	rc = parse_options(&ctl, cmd, argc, argv);
	if (rc != 0)
		goto usage_or_done;
	argc -= optind;
	argv += optind;
	nargs = argc;
	if (nargs < cmd->min_args || (cmd->max_args >= 0 && nargs > cmd->max_args)) {
		fprintf(stderr, "shmchatctl: %s %s\n", nargs < cmd->min_args ?
		    "missing argument for" : "too many arguments for", cmd->name);
		fprintf(stderr, "Usage: shmchatctl %s%s%s\nTry 'shmchatctl --help'.\n",
		    cmd->name, cmd->usage[0] ? " " : "", cmd->usage);
		return EX_USAGE;
	}
	if (cmd->run == run_help)
		return run_help(&ctl, cmd, argc, argv);

	if ((rc = ctl_load_config(&ctl)) != 0) {
		conf_free(&ctl.conf);
		return rc;
	}
	ctl.deadline = clock_ms() + (uint64_t)(ctl.timeout * 1000 + 0.999);
	rc = cmd->run(&ctl, cmd, argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "shmchatctl: cannot write the output: %s\n", strerror(errno));
		if (rc == 0)
			rc = EX_IOERR;
	}
	conf_free(&ctl.conf);
	return rc;
usage_or_done:
	if (rc > 0)
		return 0;
	fprintf(stderr, "Try 'shmchatctl --help'.\n");
	return EX_USAGE;
}
