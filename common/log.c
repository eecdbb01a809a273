/* log: stderr logging with sd-daemon priority prefixes and a process role. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char log_role_own[32] = "shmchat";
static char *log_role = log_role_own;
static size_t log_role_size = sizeof log_role_own;
static enum log_level log_max = LOG_LEVEL_INFO;
static int log_prefix = -1;	/* -1: decide on first use */

void
log_init(const char *role, enum log_level max_level)
{
	snprintf(log_role, log_role_size, "%s", role);
	log_max = max_level;
	log_prefix = !isatty(STDERR_FILENO);
}

void
log_set_role(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_role, log_role_size, fmt, ap);
	va_end(ap);
}

void
log_set_role_storage(char *buf, size_t size)
{
	if (buf == NULL || size == 0)
		return;
	snprintf(buf, size, "%s", log_role);
	log_role = buf;
	log_role_size = size;
}

void
log_set_level(enum log_level max_level)
{
	log_max = max_level;
}

enum log_level
log_get_level(void)
{
	return log_max;
}

void
log_emit(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];
	int n = 0;

	if (lvl > log_max)
		return;
	if (log_prefix < 0)
		log_prefix = !isatty(STDERR_FILENO);
	if (log_prefix)
		n = snprintf(msg, sizeof msg, "<%d>", (int)lvl);
	n += snprintf(msg + n, sizeof msg - n, "%s: ", log_role);
	if (n < (int)sizeof msg)
		n += vsnprintf(msg + n, sizeof msg - n, fmt, ap);
	if (errnum && n < (int)sizeof msg)
		n += snprintf(msg + n, sizeof msg - n, ": %s", strerror(errnum));
	if (n >= (int)sizeof msg - 1)
		n = sizeof msg - 2;
	msg[n++] = '\n';
	/* one write per line so lines from many processes never interleave */
	(void)!write(STDERR_FILENO, msg, n);
}

#define LOG_FN(name, lvl, use_errno)				\
	void name(const char *fmt, ...)				\
	{							\
		int saved = errno;				\
		va_list ap;					\
		va_start(ap, fmt);				\
		log_emit(lvl, use_errno ? saved : 0, fmt, ap);	\
		va_end(ap);					\
		errno = saved;					\
	}

LOG_FN(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FN(log_errx, LOG_LEVEL_ERR, 0)
LOG_FN(log_notice, LOG_LEVEL_NOTICE, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void
log_warnc(int err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_WARNING, err, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
