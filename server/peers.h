/*
 * peers: how many connections each remote address holds, for the per-IP
 * limit the master enforces before it starts a worker. Addresses are the
 * canonical text form the master already has (listen_format_addr).
 */
#ifndef SHMCHAT_PEERS_H
#define SHMCHAT_PEERS_H

#include <stdint.h>

struct peers;

struct peers *peers_new(uint32_t max_entries);
void peers_free(struct peers *p);
/* connections from host now, after counting one more (0 when the table is full) */
uint32_t peers_add(struct peers *p, const char *host);
void peers_del(struct peers *p, const char *host);
uint32_t peers_count(const struct peers *p, const char *host);

#endif
