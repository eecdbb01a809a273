/* shm: create, map and immediately unlink the shared segment */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"

int
shm_create(struct shm_seg *seg, size_t size)
{
	int fd = -1, err;

	seg->mem = NULL;
	seg->size = size;
	seg->fd = -1;
	/* O_EXCL + a random suffix: never attach to someone else's object */
	for (int tries = 0; tries < 8; tries++) {
		uint32_t rnd;
		if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
			rnd = (uint32_t)getpid() * 2654435761u + tries;
		snprintf(seg->name, sizeof seg->name, "/shmchat-%ld-%08x",
		    (long)getpid(), rnd);
		fd = shm_open(seg->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0)
		goto fail;
	seg->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (seg->mem == MAP_FAILED) {
		seg->mem = NULL;
		goto fail;
	}
	shm_unlink(seg->name);
	seg->fd = fd;
	return 0;
fail:
	err = errno;
	shm_unlink(seg->name);
	close(fd);
	return -err;
}

int
shm_adopt(struct shm_seg *seg, int fd, size_t size, const char *name)
{
	struct stat st;

	seg->mem = NULL;
	seg->fd = -1;
	seg->size = size;
	snprintf(seg->name, sizeof seg->name, "%s", name);
	/* the object behind fd must be at least as large as we map */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size < size)
		return -EINVAL;
	seg->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (seg->mem == MAP_FAILED) {
		seg->mem = NULL;
		return -errno;
	}
	seg->fd = fd;
	return 0;
}

void
shm_destroy(struct shm_seg *seg)
{
	if (seg->mem != NULL)
		munmap(seg->mem, seg->size);
	seg->mem = NULL;
	if (seg->fd >= 0)
		close(seg->fd);
	seg->fd = -1;
}
