/*
 * shmchatd-worker: the fork server and, forked from it, every worker.
 *
 * Started by shmchatd only (forkserver.h): a small program linked with the
 * C library alone, so that fork() copies little and workers start fast.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "forkserver.h"
#include "log.h"
#include "ring.h"
#include "sandbox.h"

int
main(int argc, char **argv)
{
	struct ring ring;
	struct stat st;
	void *mem;
	char *end;
	long level;

	if (argc != 3 || strcmp(argv[1], "--fork-server") != 0) {
		fprintf(stderr, "%s: part of shmchatd, started by it; not to be run by hand\n",
		    FORKSERVER_PROG);
		return EX_USAGE;
	}
	level = strtol(argv[2], &end, 10);
	if (*end != '\0' || level < LOG_LEVEL_ERR || level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_INFO;
	log_init("forkserver", (enum log_level)level);
	if (fstat(FORKSERVER_FD_RING, &st) < 0 || st.st_size <= 0) {
		log_warn("the shared segment (descriptor %d)", FORKSERVER_FD_RING);
		return EX_OSERR;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    FORKSERVER_FD_RING, 0);
	if (mem == MAP_FAILED) {
		log_warn("mmap of the shared segment");
		return EX_OSERR;
	}
	close(FORKSERVER_FD_RING);
	if (ring_attach(&ring, mem, (size_t)st.st_size) < 0) {
		log_warnx("descriptor %d is not shmchatd's shared segment of this version",
		    FORKSERVER_FD_RING);
		return EX_SOFTWARE;
	}
	sandbox_exit(forkserver_run(&ring, FORKSERVER_FD_IPC));
}
