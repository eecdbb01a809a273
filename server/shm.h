/*
 * shm: the POSIX shared-memory segment behind the message ring.
 *
 * The object gets a unique name ("/shmchat-<pid>-<random>"), is created with
 * O_EXCL, sized, mapped, and unlinked at once: from then on it exists only
 * as mappings and descriptors held by the master, the fork server and the
 * workers, so a crash of any of them (or all) leaves nothing behind in
 * /dev/shm.
 */
#ifndef SHMCHAT_SHM_H
#define SHMCHAT_SHM_H

#include <stddef.h>

struct shm_seg {
	void *mem;
	size_t size;
	int fd;			/* kept (close-on-exec) to hand to the fork server */
	char name[64];		/* the (already unlinked) object name, for reports */
};

/* returns 0 or -errno; seg->mem is zero-filled */
int shm_create(struct shm_seg *seg, size_t size);
/* the segment of a former image of this process (an upgrade): map the
 * descriptor it handed over; 0 or -errno (fd then stays the caller's) */
int shm_adopt(struct shm_seg *seg, int fd, size_t size, const char *name);
void shm_destroy(struct shm_seg *seg);

#endif
