/*
 * addr: the listen addresses of the configuration as text - "HOST:PORT",
 * "[V6]:PORT", "*:PORT" or "PORT" - parsed into socket addresses. Shared by
 * the configuration check (it refuses what could not be bound) and the
 * binding itself, so both read an address the same way.
 */
#ifndef SHMCHAT_ADDR_H
#define SHMCHAT_ADDR_H

#include <sys/socket.h>

/*
 * Parse "HOST:PORT", "[V6]:PORT", "*:PORT" (all IPv4 and IPv6 addresses) or
 * "PORT" (all IPv4 addresses). Numeric addresses only (no DNS at start-up).
 * Returns 0 or -EINVAL.
 */
int addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

#endif
