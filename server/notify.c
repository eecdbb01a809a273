/* notify: sd_notify wrappers for the master */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

void
notify_init(struct notify *n)
{
	uint64_t usec = 0;

	n->enabled = getenv("NOTIFY_SOCKET") != NULL;
	/* only the master (LISTEN/WATCHDOG_PID match) pets the watchdog */
	n->watchdog_usec = sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

static void
notify_send(struct notify *n, const char *msg)
{
	int rc;

	if (!n->enabled)
		return;
	if ((rc = sd_notify(0, msg)) < 0)
		log_warnx("sd_notify(\"%s\") failed: %s", msg, strerror(-rc));
}

void
notify_ready(struct notify *n, const char *status)
{
	char msg[512];

	snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
	notify_send(n, msg);
}

void
notify_reloading(struct notify *n)
{
	notify_send(n, "RELOADING=1");
}

void
notify_stopping(struct notify *n)
{
	notify_send(n, "STOPPING=1");
}

void
notify_status(struct notify *n, const char *status)
{
	char msg[512];

	snprintf(msg, sizeof msg, "STATUS=%s", status);
	notify_send(n, msg);
}

void
notify_watchdog(struct notify *n)
{
	if (n->watchdog_usec)
		notify_send(n, "WATCHDOG=1");
}

static const char *const notify_vars[] = { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID" };

void
notify_forget(void)
{
	for (size_t i = 0; i < sizeof notify_vars / sizeof notify_vars[0]; i++)
		unsetenv(notify_vars[i]);
}

char **
notify_environ(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 1, sizeof *env)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool drop = false;

		for (size_t v = 0; v < sizeof notify_vars / sizeof notify_vars[0] && !drop; v++) {
			size_t len = strlen(notify_vars[v]);

			drop = strncmp(environ[i], notify_vars[v], len) == 0 && environ[i][len] == '=';
		}
		if (!drop)
			env[k++] = environ[i];
	}
	return env;
}
