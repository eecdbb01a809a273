/*
 * worker_cmd: the IRC command table a worker runs for its client. One row
 * per command: name, handler, minimum parameters, whether registration is
 * required. Commands that touch the directory become requests to the
 * master; chat lines are published straight into the ring.
 */
#ifndef SHMCHAT_WORKER_CMD_H
#define SHMCHAT_WORKER_CMD_H

#include <stddef.h>

struct worker;

/* one client line (no CR LF): 0, or -EAGAIN when the ring is full (retry it) */
int worker_cmd_line(struct worker *w, const char *line, size_t len);

#endif
