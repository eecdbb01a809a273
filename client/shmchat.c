/* shmchat: the chat client's main(): options, config file, mode, run */
#include <config.h>

#include <locale.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "client.h"
#include "opts.h"

int
main(int argc, char **argv)
{
	struct opts o;
	char err[1024];
	int rc;

	/* libedit and the width of what is shown depend on the locale */
	setlocale(LC_ALL, "");
	opts_init(&o);
	rc = opts_parse(&o, argc, argv, err, sizeof err);
	if (rc == OPTS_HELP) {
		opts_usage(stdout);
		rc = EX_OK;
		goto out;
	}
	if (rc == OPTS_VERSION) {
		printf("shmchat %s\n", PACKAGE_VERSION);
		rc = EX_OK;
		goto out;
	}
	if (rc == OPTS_OK)
		rc = opts_load_config(&o, err, sizeof err);
	if (rc == OPTS_OK)
		rc = opts_finish(&o, err, sizeof err);
	if (rc != OPTS_OK) {
		fprintf(stderr, "shmchat: %s\n", err);
		if (rc == OPTS_ERR_USAGE)
			fprintf(stderr, "Try 'shmchat --help'.\n");
		rc = rc == OPTS_ERR_USAGE ? EX_USAGE : rc == OPTS_ERR_CONFIG ? EX_CONFIG : EX_OSERR;
		goto out;
	}

	if (o.mode == OPTS_AUTO)
		o.mode = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) ?
		    OPTS_INTERACTIVE : OPTS_SCRIPT;
	if (o.mode == OPTS_INTERACTIVE && !(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))) {
		fprintf(stderr, "shmchat: --interactive needs a terminal on standard input and output\n");
		rc = EX_USAGE;
		goto out;
	}
	rc = client_run(&o);
out:
	opts_free(&o);
	return rc;
}
