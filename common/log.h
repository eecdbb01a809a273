/*
 * log: one logging API for every shmchat process.
 *
 * Lines go to stderr. When stderr is not a terminal (journald, a pipe) each
 * line starts with an sd-daemon(3) "<N>" priority prefix so journald files it
 * at the right level. Every line carries the process role ("master",
 * "worker 12", "admin") set once after fork.
 *
 * log_warn() and fatal() append strerror(errno); the *x variants do not;
 * log_warnc() appends the error given (a module's -rc, negated).
 * Modules return -errno and let one level decide whether to log.
 */
#ifndef SHMCHAT_LOG_H
#define SHMCHAT_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>

#define SHMCHAT_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* verbosity: lines above max_level are dropped */
void log_init(const char *role, enum log_level max_level);
void log_set_role(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
/*
 * Keep the role name in buf (size bytes, living as long as the process)
 * from now on. A process forked by the thousand puts it beside the rest of
 * its private state, so that naming itself dirties no page of its own.
 */
void log_set_role_storage(char *buf, size_t size);
void log_set_level(enum log_level max_level);
enum log_level log_get_level(void);

void log_warn(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
void log_warnc(int err, const char *fmt, ...) SHMCHAT_PRINTF(2, 3);
void log_errx(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
void log_notice(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
void log_info(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
void log_debug(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
void log_emit(enum log_level lvl, int errnum, const char *fmt, va_list ap);

/* for the unrecoverable only (start-up failures, broken invariants) */
_Noreturn void fatal(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);
_Noreturn void fatalx(const char *fmt, ...) SHMCHAT_PRINTF(1, 2);

#endif
