/*
 * cmd: the command table and its two dispatchers. A worker runs each line
 * its client sends through cmd_worker_line(): the row's worker half
 * answers it, publishes it or asks the master; the master runs each
 * request through cmd_master_request(): the row's master half answers it
 * and the dispatcher always sends the answer (RING_ACK), so no handler can
 * leave a worker waiting. The rows live in the family files (cmd_row.h).
 */
#ifndef SHMCHAT_CMD_H
#define SHMCHAT_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd_row.h"

struct dirsvc;
struct irc_msg;
struct worker;

/* the row of a command (clients' commands only unless internal) */
const struct cmd_row *cmd_find(const char *name, bool internal);

/*
 * Worker: run one client line (no CR LF), parsed into m. CMD_RETRY and
 * CMD_SYNC: keep the line and run it again once the worker may go on.
 */
enum cmd_result cmd_worker_line(struct worker *w, struct irc_msg *m,
    const char *line, size_t len);
/* worker: the answer to its request arrived: the row's hook, the next request */
void cmd_worker_answered(struct worker *w);

/*
 * Master: answer one request (struct ipc_req and its strings, as
 * received) from slot. answer: send its RING_ACK (false for what the
 * master asks of itself, e.g. the QUIT of a client whose worker died).
 */
void cmd_master_request(struct dirsvc *ds, uint32_t slot, uint32_t gen,
    const void *msg, size_t len, bool answer);
/* the flags of a request's row (as received; enum cmd_flags), -1 for none */
int cmd_request_flags(const void *msg, size_t len);

#endif
