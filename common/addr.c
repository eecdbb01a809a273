/* addr: listen addresses from their text form (see addr.h) */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"

static int
parse_port(const char *s, in_port_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	/* digits only: no sign, no spaces, no service names */
	if (n < 1 || n > 5 || strspn(s, "0123456789") != n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v > 65535)
		return -EINVAL;
	*port = htons((uint16_t)v);
	return 0;
}

int
addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *colon;
	in_port_t p;

	if (spec == NULL || *spec == '\0')
		return -EINVAL;
	memset(ss, 0, sizeof *ss);

	if (strchr(spec, ':') == NULL) {
		/* bare "PORT": every IPv4 address */
		if (parse_port(spec, &p) < 0)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = p;
		*len = sizeof *sin;
		return 0;
	}

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		size_t hl;

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - spec - 1);
		if (hl == 0 || hl >= sizeof host)
			return -EINVAL;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		if (parse_port(close + 2, &p) < 0 ||
		    inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = p;
		*len = sizeof *sin6;
		return 0;
	}

	colon = strchr(spec, ':');
	port = colon + 1;
	/* a second ':' means an unbracketed IPv6 address: ambiguous, refuse */
	if (strchr(port, ':') != NULL || colon == spec ||
	    (size_t)(colon - spec) >= sizeof host || parse_port(port, &p) < 0)
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (strcmp(host, "*") == 0) {
		/* all IPv4 and IPv6 addresses: [::], bound dual-stack by listen_open */
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = p;
		*len = sizeof *sin6;
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	sin->sin_family = AF_INET;
	sin->sin_port = p;
	*len = sizeof *sin;
	return 0;
}
