/* cmd: the command table and its worker and master dispatchers */
#include <config.h>

#include <string.h>

#include "cmd.h"
#include "cmd_chan.h"
#include "cmd_conn.h"
#include "cmd_msg.h"
#include "cmd_query.h"
#include "cmd_user.h"
#include "dirsvc.h"
#include "cap.h"
#include "irc.h"
#include "irctags.h"
#include "log.h"
#include "worker_io.h"

static const struct cmd_family *const cmd_families[] = {
	&cmd_conn, &cmd_chan, &cmd_msg, &cmd_query, &cmd_user,
};

const struct cmd_row *
cmd_find(const char *name, bool internal)
{
	for (size_t f = 0; f < sizeof cmd_families / sizeof *cmd_families; f++)
		for (size_t i = 0; i < cmd_families[f]->nrows; i++) {
			const struct cmd_row *row = &cmd_families[f]->rows[i];
			if (strcmp(row->name, name) == 0 &&
			    (internal || !(row->flags & CMD_INTERNAL)))
				return row;
		}
	return NULL;
}

/* ---------------------------------------------------------------- worker */

/*
 * A reply the worker gives itself must not overtake an error the master
 * has still to give for a line before it (PRIVMSG to a nick that left,
 * then VERSION): ask the master for an empty answer first, which comes
 * after everything already published (cmd_master_request runs once
 * fan-out has caught up), and run the line again then.
 */
static enum cmd_result
cmd_sync(struct worker *w)
{
	worker_request(w, "SYNC", NULL, 0);
	return CMD_WAIT;
}

/* tags of up to IRCTAGS_CLIENT_MAX bytes, then at most 510 of the line */
static bool
cmd_line_too_long(const char *line, size_t len)
{
	const char *sp = len > 0 && line[0] == '@' ? memchr(line, ' ', len) : NULL;
	size_t tags = sp != NULL ? (size_t)(sp - line) + 1 : 0;

	return tags > IRCTAGS_CLIENT_MAX + 2 || len - tags > IRC_MAXLINE - 2;
}

static enum cmd_result
cmd_worker_run(struct worker *w, struct irc_msg *m, int rc)
{
	const struct cmd_row *row;

	row = rc == IRC_PARSE_OK ? cmd_find(m->command, false) : NULL;
	/* a NICK sent alone is reserved before anything else is answered */
	if (!w->registered && (row == NULL || !(row->flags & CMD_REGISTRATION)) &&
	    cmd_conn_nick_flush(w))
		return CMD_WAIT;
	if (w->unconfirmed && (row == NULL || !(row->flags & CMD_PUBLISHES)))
		return cmd_sync(w);
	if (rc != IRC_PARSE_OK) {
		/* nothing sensible to name: answer like an unknown command */
		RPL(&w->rpl, ERR_UNKNOWNCOMMAND, "*");
		return CMD_DONE;
	}
	if (row == NULL) {
		if (!w->registered)
			RPL(&w->rpl, ERR_NOTREGISTERED);
		else
			RPL(&w->rpl, ERR_UNKNOWNCOMMAND, m->command);
		return CMD_DONE;
	}
	if ((row->flags & CMD_REGISTERED) && !w->registered) {
		RPL(&w->rpl, ERR_NOTREGISTERED);
		return CMD_DONE;
	}
	if (row->max_params > 0 && m->nparams > row->max_params)
		m->nparams = row->max_params;	/* extra parameters are ignored */
	if (m->nparams < row->min_params) {
		if (w->unconfirmed)
			return cmd_sync(w);
		RPL(&w->rpl, ERR_NEEDMOREPARAMS, m->command);
		return CMD_DONE;
	}
	enum cmd_result r = row->worker(w, m);
	return r == CMD_SYNC ? cmd_sync(w) : r;
}

enum cmd_result
cmd_worker_line(struct worker *w, struct irc_msg *m, const char *line, size_t len)
{
	struct irctag label;
	enum cmd_result r;
	int rc;

	if (cmd_line_too_long(line, len)) {
		RPL(&w->rpl, ERR_INPUTTOOLONG);
		return CMD_DONE;
	}
	if ((rc = irc_parse(m, line, len)) == IRC_PARSE_EMPTY)
		return CMD_DONE;
	if (rc == IRC_PARSE_OK && m->tags != NULL && (w->caps & CAP_LABELED_RESPONSE) &&
	    irctags_get(m->tags, strlen(m->tags), "label", &label) && label.val_len > 0)
		worker_label_begin(w, label.val, label.val_len);
	r = cmd_worker_run(w, m, rc);
	if (w->label_wanted) {
		if (r == CMD_DONE)
			worker_label_line_done(w);
		else
			w->label_wanted = false;	/* the line runs again later */
	}
	return r;
}

void
cmd_worker_answered(struct worker *w)
{
	const struct cmd_row *row = cmd_find(w->req_name, true);

	w->answered = false;
	if (row != NULL && row->answered != NULL)
		row->answered(w, w->answer_status);
	worker_request_next(w);
	if (w->label_open && !worker_requesting(w))
		worker_label_finish(w);
}

/* ---------------------------------------------------------------- master */

int
cmd_request_flags(const void *msg, size_t len)
{
	const struct ipc_req *req = msg;
	const struct cmd_row *row;
	const char *name;
	struct ipc_in in;

	ipc_in_init(&in, msg, len, sizeof *req);
	name = ipc_get_str(&in);
	if (name == NULL || (row = cmd_find(name, true)) == NULL)
		return -1;
	return row->flags;
}

void
cmd_master_request(struct dirsvc *ds, uint32_t slot, uint32_t gen,
    const void *msg, size_t len, bool answer)
{
	const struct ipc_req *req = msg;
	struct dir_user *u = &ds->dir.users[slot];
	struct ring_ack ack = { .req_id = req->id, .status = CMD_BAD_REQUEST };
	struct dirsvc_reply dr;
	struct cmd_req q = { .slot = slot, .gen = gen };
	const struct cmd_row *row = NULL;
	const char *name, *arg;
	struct ipc_in in;

	ipc_in_init(&in, msg, len, sizeof *req);
	name = ipc_get_str(&in);
	while (q.nargs < IPC_REQ_ARGS && (arg = ipc_get_str(&in)) != NULL)
		q.args[q.nargs++] = arg;
	dirsvc_reply_init(ds, &dr, slot);
	if (name == NULL || !ipc_in_done(&in) || q.nargs != req->nargs ||
	    (row = cmd_find(name, true)) == NULL || row->master == NULL ||
	    q.nargs < row->min_args || q.nargs > row->max_args) {
		/* the worker runs the same table: this is a bug, not the client's doing */
		log_warnx("bug: malformed %s request from slot %u (%d arguments); refused",
		    name != NULL ? name : "(unnamed)", slot, q.nargs);
		row = NULL;
	} else if (u->state == DIR_QUITTING || u->state == DIR_FREE) {
		ack.status = CMD_FAILED;	/* on its way out: nothing to do */
	} else if ((row->flags & CMD_REGISTERED) && u->state != DIR_REGISTERED) {
		log_warnx("bug: %s request from unregistered slot %u; refused", name, slot);
	} else
		ack.status = row->master(ds, &dr.r, &q);
	if (!answer || (row != NULL && (row->flags & CMD_NO_ANSWER)))
		dirsvc_reply_send(ds, &dr, slot, gen, NULL);
	else
		dirsvc_reply_send(ds, &dr, slot, gen, &ack);
}
