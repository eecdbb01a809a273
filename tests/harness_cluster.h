/*
 * harness_cluster: the nodes of a test's cluster network (check_cluster,
 * check_cluster_outage): a private redis-server per test (harness_redis),
 * nodes started on it and used once their log says they are synced, and
 * the checks both programs make of their clients.
 */
#ifndef SHMCHAT_TEST_HARNESS_CLUSTER_H
#define SHMCHAT_TEST_HARNESS_CLUSTER_H

#include <stdbool.h>

#include "harness.h"
#include "harness_redis.h"

#define DEAD_AFTER	2	/* s: cluster.dead_after of every node */

extern struct h_redis g_redis;
extern bool g_tcp;		/* the nodes reach Redis by TCP, not its UNIX socket */

/* the program's start: false (and the exit status in *rc) when
 * redis-server is missing: a skip, or a failure under CI */
bool cl_init(const char *prog, int *rc);
/* each test's fixture: Redis up, a key prefix of its own */
void cl_setup(void);
void cl_teardown(void);

/* a node of the test's network, synced */
struct srv *node_start(const char *name, const char *extra);
void node_wait_synced(struct srv *s, const char *name, int ms);

/* the next line with cmd, whose trailing parameter contains text */
void expect_text_in(const char *file, int line, struct cli *c, const char *cmd,
		    const char *from, const char *text, int ms, struct irc_msg *m);
#define EXPECT_TEXT(c, cmd, from, text, m) \
	expect_text_in(__FILE__, __LINE__, (c), (cmd), (from), (text), T_SHORT, (m))
/* the next numeric reply n; parameter i of it must be want */
void expect_param(const char *file, int line, struct cli *c, const char *cmd, int i,
		  const char *want, struct irc_msg *m);
#define EXPECT_PARAM(c, cmd, i, want, m) \
	expect_param(__FILE__, __LINE__, (c), (cmd), (i), (want), (m))
/* the next line, whatever it is */
#define NEXT(c, m) do { \
	if (!cli_next((c), T_SHORT, (m))) \
		H_FAIL("client %s: no more lines (%s)", (c)->nick, (c)->eof ? "EOF" : "timeout"); \
} while (0)

/* c is told its node lost the network (back: is connected again), within ms */
#define EXPECT_LINK(c, back, ms) \
	expect_text_in(__FILE__, __LINE__, (c), "NOTICE", NULL, (back) ? \
		       "This server is connected to the network" : \
		       "lost the rest of the network", (ms), &(struct irc_msg){ 0 })
/* c sends text to target; every client of to[] gets exactly it next */
void say(struct cli *c, const char *target, const char *text, struct cli **to, int n);
/* a and b (on different nodes) still talk, both ways */
void still_talk(struct cli *a, struct cli *b);

#endif
