/*
 * iplimit: how many connections each remote address holds, for the per-IP
 * limit the master enforces before it starts a worker. Addresses are the
 * canonical text form the master already has (listen_format_addr).
 */
#ifndef SHMCHAT_IPLIMIT_H
#define SHMCHAT_IPLIMIT_H

#include <stdint.h>

struct iplimit;

struct iplimit *iplimit_new(uint32_t max_entries);
void iplimit_free(struct iplimit *p);
/*
 * connections from host now, after counting one more; 0 (nothing counted)
 * when max_entries other addresses are counted already, or out of memory
 */
uint32_t iplimit_add(struct iplimit *p, const char *host);
void iplimit_del(struct iplimit *p, const char *host);
uint32_t iplimit_count(const struct iplimit *p, const char *host);

#endif
