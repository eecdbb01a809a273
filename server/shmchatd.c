/* shmchatd: command line, configuration, then the master process */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "master.h"
#include "master_upgrade.h"
#include "passwd.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: shmchatd [OPTION]...\n"
	    "IRC-compatible chat server: one worker process per client, messages\n"
	    "through POSIX shared memory. Runs in the foreground, logs to stderr.\n"
	    "\n"
	    "  -c, --config FILE    configuration file (default %s)\n"
	    "  -t, --check-config   check the configuration and exit (0 valid, 78 invalid)\n"
	    "  -d, --debug          log debug messages\n"
	    "      --hash-password  read a password (twice from a terminal, without echo,\n"
	    "                       else one line of stdin), print its crypt(3) hash for\n"
	    "                       an oper block, and exit\n"
	    "  -h, --help           show this help and exit\n"
	    "  -V, --version        show the version and exit\n"
	    "\n"
	    "Signals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop gracefully,\n"
	    "SIGUSR2 upgrades in place: the installed shmchatd takes over every client.\n"
	    "Started by systemd, it takes its sockets from socket activation; otherwise\n"
	    "it binds the configured 'listen' addresses (default 127.0.0.1:6667, [::1]:6667).\n",
	    CONFIG_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "hash-password", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* an upgrade in place (master_upgrade.h): not for people */
		{ "handover", required_argument, NULL, 'H' },
		{ "handover-check", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool must_exist = false, check = false, debug = false, hash = false, hcheck = false;
	int handover_fd = -1;
	struct conf *cfg;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "c:tdhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			must_exist = true;	/* named explicitly: it has to be there */
			break;
		case 't':
			check = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'P':
			hash = true;
			break;
		case 'H':
			handover_fd = atoi(optarg);
			break;
		case 'K':
			hcheck = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("shmchatd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shmchatd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if (hash)
		return passwd_hash_main();	/* nothing else: no configuration, no server */
	log_init("shmchatd", LOG_LEVEL_INFO);
	if ((cfg = malloc(sizeof *cfg)) == NULL)
		fatalx("out of memory");
	conf_init_defaults(cfg);
	if (conf_load(cfg, path, must_exist, err, sizeof err) < 0) {
		if (check)
			fprintf(stderr, "%s\n", err);
		else
			log_errx("invalid configuration: %s", err);
		conf_free(cfg);
		free(cfg);
		return EX_CONFIG;
	}
	if (hcheck) {
		/* the verdict goes to stdout, read by the running server */
		log_set_level(LOG_LEVEL_WARNING);
		return master_check_handover(cfg, path, must_exist, STDIN_FILENO);
	}
	if (check) {
		printf("%s: configuration OK\n", path);
		conf_free(cfg);
		free(cfg);
		return 0;
	}
	log_set_level(debug ? LOG_LEVEL_DEBUG : cfg->log_level);
	c = master_run(cfg, path, must_exist, handover_fd);
	/* master_run may have swapped in a reloaded configuration */
	return c;
}
