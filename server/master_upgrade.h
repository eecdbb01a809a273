/*
 * master_upgrade: the master replaced in place by a new shmchatd binary,
 * without a client noticing (shmchatctl upgrade, SIGUSR2). The running
 * image stops accepting, waits for workers being started, writes its whole
 * state (handover.h, history, and what only the master holds: descriptors,
 * slots, queues) into a memfd, and has the new binary prove it can take
 * it over (`--handover-check`, reading the state, checking its versions)
 * before anything is given up; only then does it exec the new binary in
 * the same process (same PID: systemd's MainPID, the socket units and
 * every worker's parent stay), which reads the state (`--handover FD`) and
 * serves on. Any failure before the exec leaves the old image serving, and
 * says why. Workers keep the code they were started with; the old fork
 * server leaves and its workers become the master's children (it is their
 * subreaper); a new fork server from the new binary forks new ones.
 */
#ifndef SHMCHAT_MASTER_UPGRADE_H
#define SHMCHAT_MASTER_UPGRADE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct master;

struct master_upgrade {
	char self[PATH_MAX];	/* the binary this image was started from */
	bool due;		/* asked for: being checked, then waiting to be quiet */
	uint64_t deadline_ms;	/* given up if not checked, or not quiet, by then */
	/* the new binary's check of a copy of the state, while we serve on */
	bool checked;		/* it said yes: quiet, then hand over */
	bool checked_listen;	/* accepting stopped for the quiet wait */
	bool inherited;		/* every channel kept across exec (master_upgrade_inherit) */
	size_t state_size;	/* the last state's bytes: room made for the next */
	pid_t check_pid;	/* the checking process (0: none yet) */
	int check_fd;		/* its stdout (-1: read to EOF) */
	bool check_reaped;	/* waited for by master_child, which sets the status */
	int check_status;
	char check_out[512];
	size_t check_len;
	char path[PATH_MAX];	/* the binary to run */
	bool answer;		/* a shmchatctl request waits for the outcome */
	struct ipc_admin_req req;	/* its route */
	char from[32];		/* after an upgrade: the version it came from */
	uint64_t paused_ms;	/* clock_ms() when the old image stopped serving */
	/* shmchatctl upgrade, as master_admin received it (taken up by
	 * master_upgrade_asked) */
	bool asked;
	struct ipc_admin_req asked_req;
	char asked_path[PATH_MAX];	/* "": our own binary */
	/* the outcome for the shmchatctl request, for master_admin to send */
	bool answer_due, answer_ok;
	char answer_text[512];
};

/* at start: remember our own binary (the default one to run) */
void master_upgrade_init(struct master *m);
/*
 * Ask for an upgrade to path (NULL: our own binary's path, which a package
 * upgrade replaced); q: the shmchatctl request to answer, or NULL (a
 * signal). 0 when under way (the outcome is logged and answered later), or
 * -1 with why.
 */
int master_upgrade_request(struct master *m, const char *path,
    const struct ipc_admin_req *q, char *why, size_t len);
/* shmchatctl asked (m->up.asked): under way, or refused and answered so */
void master_upgrade_asked(struct master *m);
/* the check's output is readable (EV_UPGRADE) */
void master_upgrade_check_event(struct master *m);
/* each turn of the loop while one is due: the check's verdict, then hand
 * over once quiet */
void master_upgrade_turn(struct master *m);

/*
 * The new image: set m up from the state in fd (instead of starting
 * afresh). 0, or -1 (logged): the server cannot go on.
 */
int master_upgrade_resume(struct master *m, int fd);
/* after resume (and the admin process adopted): the outcome for who
 * asked, READY=1 */
void master_upgrade_resumed(struct master *m);

/*
 * `shmchatd --handover-check`: read a state from fd and check that this
 * binary can take it over, into m (fresh from master_new: nothing of the
 * running server is touched); prints "ok VERSION" or "refused: why" on
 * stdout. Returns the exit status.
 */
int master_upgrade_check_main(struct master *m, int fd);

struct conf;
/* the same from the command line (takes cfg): the exit status */
int master_check_handover(struct conf *cfg, const char *config_path, bool must_exist, int fd);

#endif
