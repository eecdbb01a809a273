/* cmd_user: user modes and server operators, both halves */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cmd_user.h"
#include "dirsvc.h"
#include "irc.h"
#include "modeflag.h"

/* user mode letters and their bits, in the order 221 shows them */
static const struct modeflag user_modes[] = {
	{ 'i', DIR_UMODE_INVISIBLE },
	{ 'o', DIR_UMODE_OPER },
	{ 'w', DIR_UMODE_WALLOPS },
};

void
cmd_user_modestr(const struct dirsvc *ds, uint32_t slot, char *out, size_t cap)
{
	const struct dir_user *u = &ds->dir.users[slot];
	size_t n = 0;

	if (cap < 2)
		return;
	out[n++] = '+';
	modeflag_letters(user_modes, MODEFLAG_COUNT(user_modes), u->umodes, out, n, cap);
}

int
cmd_user_mode(struct dirsvc *ds, struct reply *r, const struct cmd_req *q)
{
	const char *target = q->args[0];
	struct dir_user *u = &ds->dir.users[q->slot];
	int slot = dir_nick_find(&ds->dir, target);
	char modes[16], echo[2 * MODEFLAG_COUNT(user_modes) + 4];
	uint32_t before = u->umodes;
	bool unknown = false, add = true;
	size_t n = 0;
	char sign = 0;

	if (slot < 0 || ds->dir.users[slot].state != DIR_REGISTERED) {
		RPL(r, ERR_NOSUCHNICK, target);
		return CMD_FAILED;
	}
	if ((uint32_t)slot != q->slot) {
		RPL(r, ERR_USERSDONTMATCH);
		return CMD_FAILED;
	}
	if (q->nargs == 1) {
		cmd_user_modestr(ds, q->slot, modes, sizeof modes);
		RPL(r, RPL_UMODEIS, modes);
		return CMD_OK;
	}
	for (const char *p = q->args[1]; *p != '\0'; p++) {
		uint32_t bit;

		if (*p == '+' || *p == '-') {
			add = *p == '+';
			continue;
		}
		if ((bit = modeflag_bit(user_modes, MODEFLAG_COUNT(user_modes), *p)) == 0) {
			unknown = true;
			continue;
		}
		/* +o comes from OPER alone; -o drops it */
		if (bit == DIR_UMODE_OPER && add)
			continue;
		if (add)
			u->umodes |= bit;
		else
			u->umodes &= ~bit;
	}
	/* echo what changed, once per letter, as "+iw-o" */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < MODEFLAG_COUNT(user_modes); i++) {
			uint32_t bit = user_modes[i].bit;
			bool now = u->umodes & bit, was = before & bit;
			if (now == was || now != (pass == 0))
				continue;
			if (sign != (pass == 0 ? '+' : '-'))
				echo[n++] = sign = pass == 0 ? '+' : '-';
			echo[n++] = user_modes[i].letter;
		}
	echo[n] = '\0';
	if (n > 0)
		reply_line(r, ":%s MODE %s :%s", u->nick, u->nick, echo);
	if (unknown) {
		RPL(r, ERR_UMODEUNKNOWNFLAG);
		return CMD_FAILED;
	}
	return CMD_OK;
}
