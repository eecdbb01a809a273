/* cap: the IRCv3 capabilities offered, CAP LS and CAP REQ */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cap.h"
#include "irc.h"
#include "reply.h"

/* in the order CAP LS lists them */
static const struct {
	const char *name;
	uint32_t bit;
} cap_table[] = {
	{ "away-notify", CAP_AWAY_NOTIFY },
	{ "batch", CAP_BATCH },
	{ "cap-notify", CAP_CAP_NOTIFY },
	{ "chghost", CAP_CHGHOST },
	{ "draft/chathistory", CAP_CHATHISTORY },
	{ "echo-message", CAP_ECHO_MESSAGE },
	{ "extended-join", CAP_EXTENDED_JOIN },
	{ "invite-notify", CAP_INVITE_NOTIFY },
	{ "labeled-response", CAP_LABELED_RESPONSE },
	{ "message-tags", CAP_MESSAGE_TAGS },
	{ "multi-prefix", CAP_MULTI_PREFIX },
	{ "server-time", CAP_SERVER_TIME },
	{ "setname", CAP_SETNAME },
	{ "sts", CAP_STS },
	{ "userhost-in-names", CAP_USERHOST_IN_NAMES },
};
#define CAP_N	(sizeof cap_table / sizeof *cap_table)
#define CAP_LS_WIDTH	400	/* bytes of names per LS line (302) */

const char *
cap_name(uint32_t bit)
{
	for (size_t i = 0; i < CAP_N; i++)
		if (cap_table[i].bit == bit)
			return cap_table[i].name;
	return "";
}

uint32_t
cap_find(const char *name, size_t len)
{
	for (size_t i = 0; i < CAP_N; i++)
		if (strlen(cap_table[i].name) == len && memcmp(cap_table[i].name, name, len) == 0)
			return cap_table[i].bit;
	return 0;
}

void
cap_ls(struct reply *r, const char *server, const char *who, const char *sub,
    uint32_t offered, int version, const char *sts)
{
	char names[CAP_LS_WIDTH + 128];
	size_t n = 0;

	names[0] = '\0';
	for (size_t i = 0; i < CAP_N; i++) {
		const char *val = cap_table[i].bit == CAP_STS && version >= 302 ? sts : NULL;
		char item[128];
		int k;

		if (!(offered & cap_table[i].bit) || (cap_table[i].bit == CAP_STS && sts == NULL))
			continue;
		k = snprintf(item, sizeof item, "%s%s%s", cap_table[i].name, val ? "=" : "",
		    val ? val : "");
		if (k < 0 || (size_t)k >= sizeof item)
			continue;
		if (version >= 302 && n > 0 && n + 1 + k > CAP_LS_WIDTH) {
			reply_line(r, ":%s CAP %s %s * :%s", server, who, sub, names);
			n = 0;
		}
		n += snprintf(names + n, sizeof names - n, "%s%s", n > 0 ? " " : "", item);
	}
	reply_line(r, ":%s CAP %s %s :%s", server, who, sub, names);
}

bool
cap_req(const char *list, uint32_t offered, uint32_t cur, uint32_t *out)
{
	const char *p = list;

	*out = cur;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		const char *e = strchr(p, ' ');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
		bool minus = *p == '-';
		uint32_t bit = cap_find(p + minus, len - minus);

		/* sts is a policy; cap-notify, once on with 302, stays on */
		if (bit == 0 || !(offered & bit) || bit == CAP_STS)
			return false;
		if (minus)
			*out &= ~bit;
		else
			*out |= bit;
		p += len;
	}
	return true;
}

size_t
cap_names(char *out, size_t cap, uint32_t set)
{
	size_t n = 0;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	for (size_t i = 0; i < CAP_N; i++) {
		if (!(set & cap_table[i].bit))
			continue;
		int k = snprintf(out + n, cap - n, "%s%s", n > 0 ? " " : "", cap_table[i].name);
		if (k < 0 || (size_t)k >= cap - n) {
			out[n] = '\0';	/* no part of a name that did not fit */
			break;
		}
		n += k;
	}
	return n;
}
