/*
 * check_ring: unit tests for server/ring.c (the shared-memory message ring
 * with per-slot inboxes) and server/shm.c (the segment behind it).
 *
 * The "master" is always the test process calling the master-side functions
 * (ring_doorbell_clear, ring_fanout_*, ring_inbox_room/push, ring_reclaim,
 * ring_abandon). Publishers and readers are the test process too, or forked
 * children where the concurrency contract in ring.h is the point.
 *
 * Children never call ck_assert (under CK_FORK=no that would unwind into
 * Check inside the child): they report through their exit status and through
 * counters in a MAP_SHARED control block. Every child is reaped; a checked
 * teardown kills and reaps whatever a failed test left, and children die with
 * their parent (PR_SET_PDEATHSIG). Waiting is done with futexes on words in
 * shared memory, with timeouts only as a bound: a timed-out wait where a
 * notification was due counts as an error.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "shm.h"
#include "unit.h"

#define REC_HDR		sizeof(struct ring_rec)
#define ALIGN8(x)	(((x) + 7) & ~(uint64_t)7)
#define REC_SIZE(extra, len)	ALIGN8(REC_HDR + (extra) + (len))
#define PAYLOAD_MAX	(RING_REC_MAX - REC_HDR)

/* ---------------------------------------------------------------- helpers */

/* valgrind (or `make check-valgrind`) runs everything ~50x slower */
static bool
slow_mode(void)
{
	const char *p = getenv("LD_PRELOAD");

	return getenv("SHMCHAT_VALGRIND") != NULL ||
	    (p != NULL && strstr(p, "vgpreload") != NULL);
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ull;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 0 when woken (or the value already differed), -1 with errno otherwise */
static long
futex_wait(_Atomic uint32_t *addr, uint32_t val, long timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
	long rc = syscall(SYS_futex, (void *)addr, FUTEX_WAIT, val, &ts, NULL, 0);

	if (rc < 0 && errno == EAGAIN)
		return 0;	/* value changed before we slept: a wake */
	return rc;
}

static void
futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, (void *)addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

/*
 * Payloads carry their own identity and checksum: a 20-byte header
 * (magic, src, seq, len, FNV-1a of the rest) and bytes derived from
 * (src, seq, index), so a record read after its space was reused, a torn
 * copy or a record delivered to the wrong place is detected.
 */
#define PL_MAGIC	0x31504c44u
#define PL_HDR		20

static uint8_t
pl_byte(uint32_t src, uint32_t seq, size_t i)
{
	return (uint8_t)(src * 131u + seq * 7u + i * 13u + (i >> 8));
}

static size_t
pl_make(void *buf, uint32_t src, uint32_t seq, size_t len)
{
	uint8_t *p = buf;
	uint32_t h[5], sum = 2166136261u;

	for (size_t i = PL_HDR; i < len; i++) {
		p[i] = pl_byte(src, seq, i);
		sum = (sum ^ p[i]) * 16777619u;
	}
	h[0] = PL_MAGIC;
	h[1] = src;
	h[2] = seq;
	h[3] = (uint32_t)len;
	h[4] = sum;
	memcpy(p, h, PL_HDR);
	return len;
}

/* true when buf[0..len) is an intact payload; *src and *seq filled */
static bool
pl_check(const void *buf, size_t len, uint32_t *src, uint32_t *seq)
{
	const uint8_t *p = buf;
	uint32_t h[5], sum = 2166136261u;

	if (len < PL_HDR)
		return false;
	memcpy(h, p, PL_HDR);
	if (h[0] != PL_MAGIC || h[3] != len)
		return false;
	for (size_t i = PL_HDR; i < len; i++) {
		if (p[i] != pl_byte(h[1], h[2], i))
			return false;
		sum = (sum ^ p[i]) * 16777619u;
	}
	if (sum != h[4])
		return false;
	*src = h[1];
	*seq = h[2];
	return true;
}

/* ------------------------------------------------------- child processes */

#define MAX_CHILDREN	16
static pid_t children[MAX_CHILDREN];

static void
child_forget(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/* fork; the child runs fn(arg) and _exits with its result */
static pid_t
spawn(int (*fn)(void *), void *arg)
{
	pid_t parent = getpid(), pid;
	int i;

	for (i = 0; i < MAX_CHILDREN && children[i] != 0; i++)
		;
	ck_assert_int_lt(i, MAX_CHILDREN);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
		setrlimit(RLIMIT_CORE, &nocore);
		_exit(fn(arg));
	}
	children[i] = pid;
	return pid;
}

/* reap pid; returns its wait status */
static int
reap(pid_t pid)
{
	int st;
	pid_t rc;

	while ((rc = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	ck_assert_msg(rc == pid, "waitpid(%ld): %s", (long)pid, strerror(errno));
	child_forget(pid);
	return st;
}

static void
reap_ok(pid_t pid, const char *who)
{
	int st = reap(pid);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "%s: %s %d", who, WIFEXITED(st) ? "exit status" : "signal",
	    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* checked teardown: whatever a failed test left running */
static void
kill_children(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
}

static void *
shared_block(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_msg(p != MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

/* --------------------------------------------------------------- fixture */

struct rfix {
	struct shm_seg seg;
	struct ring r;
	size_t size;
};

/* neither the segment nor anything else of this process is in /dev/shm */
static void
assert_no_shm_entry(const struct shm_seg *seg)
{
	char path[128], prefix[64];
	struct dirent *de;
	DIR *dp;
	int found = 0;

	snprintf(path, sizeof path, "/dev/shm%s", seg->name);
	errno = 0;
	ck_assert_msg(access(path, F_OK) == -1 && errno == ENOENT,
	    "%s exists after shm_create", path);
	snprintf(prefix, sizeof prefix, "shmchat-%ld-", (long)getpid());
	if ((dp = opendir("/dev/shm")) == NULL)
		return;
	while ((de = readdir(dp)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			found++;
	closedir(dp);
	ck_assert_msg(found == 0, "%d /dev/shm/%s* entries left", found, prefix);
}

static void
seg_create(struct shm_seg *seg, size_t size)
{
	const unsigned char *p;

	ck_assert_int_eq(shm_create(seg, size), 0);
	ck_assert_ptr_nonnull(seg->mem);
	ck_assert_uint_eq(seg->size, size);
	ck_assert_msg(strncmp(seg->name, "/shmchat-", 9) == 0, "name %s", seg->name);
	assert_no_shm_entry(seg);
	p = seg->mem;
	for (size_t i = 0; i < size; i++)
		if (p[i] != 0)
			ck_abort_msg("segment byte %zu is %u, not zero", i, p[i]);
}

static void
rfix_open(struct rfix *f, uint32_t nslots, uint32_t inbox, uint64_t cap)
{
	f->size = ring_segment_size(nslots, inbox, cap);
	seg_create(&f->seg, f->size);
	ck_assert_int_eq(ring_init(&f->r, f->seg.mem, f->size, nslots, inbox, cap), 0);
}

static void
rfix_close(struct rfix *f)
{
	shm_destroy(&f->seg);
	ck_assert_ptr_null(f->seg.mem);
	assert_no_shm_entry(&f->seg);
}

static int
pub(struct ring *r, uint32_t owner, uint32_t gen, uint32_t seq,
    const void *p, size_t n, bool *rang)
{
	struct ring_target t = { .kind = RING_TO_SLOT, .id = seq, .gen = ~seq };

	return ring_publish(r, owner, gen, &t, p, n, rang);
}

/* where a record of need bytes goes when published now */
static uint64_t
next_pos(const struct ring *r, uint64_t need)
{
	uint64_t head = atomic_load(&r->hdr->head), gap = r->cap - head % r->cap;

	return gap < need ? head + gap : head;
}

/* -EAGAIN is only allowed when the record (and its PAD) really do not fit */
static void
assert_full_for(const struct ring *r, uint64_t need)
{
	uint64_t head = atomic_load(&r->hdr->head);
	uint64_t tail = atomic_load(&r->hdr->tail);
	uint64_t gap = r->cap - head % r->cap;

	ck_assert_uint_le(head - tail, r->cap);
	if (gap < need)
		ck_assert_msg(head + gap + need - tail > r->cap,
		    "EAGAIN with room: head %llu tail %llu need %llu (+pad %llu)",
		    (unsigned long long)head, (unsigned long long)tail,
		    (unsigned long long)need, (unsigned long long)gap);
	else
		ck_assert_msg(head + need - tail > r->cap,
		    "EAGAIN with room: head %llu tail %llu need %llu",
		    (unsigned long long)head, (unsigned long long)tail,
		    (unsigned long long)need);
}

/* ------------------------------------------------------ segment and init */

START_TEST(segment_and_init)
{
	const uint32_t ns = 5, ib = 16;
	const uint64_t cap = 2 * RING_REC_MAX + 3 * 8;	/* not a power of two */
	size_t size = ring_segment_size(ns, ib, cap), big;
	struct shm_seg seg;
	struct ring r;
	char *mem;

	ck_assert_uint_ge(size, sizeof(struct ring_hdr) +
	    ns * sizeof(struct ring_slot) + ns * ib * sizeof(uint32_t) + cap);
	ck_assert_uint_eq(ring_segment_size(ns, ib, cap + 8), size + 8);
	ck_assert_uint_gt(ring_segment_size(ns + 100, ib, cap), size);
	ck_assert_uint_gt(ring_segment_size(ns, ib * 64, cap), size);

	/* one segment big enough for every variant, so only the argument is wrong */
	big = ring_segment_size(ns, 64, 4 * cap);
	seg_create(&seg, big);
	mem = seg.mem;
	ck_assert_int_eq(ring_init(&r, mem, big, ns, ib, cap + 4), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, big, ns, ib, 2 * RING_REC_MAX - 8), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, big, ns, ib, 0), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, big, ns, 0, cap), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, big, ns, 3, cap), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, big, ns, 12, cap), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, big, ns, 48, cap), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, big, ns, 0x80000001u, cap), -EINVAL);
	ck_assert_int_eq(ring_init(&r, mem, size - 1, ns, ib, cap), -EINVAL);

	/* exactly the computed size is enough */
	ck_assert_int_eq(ring_init(&r, mem, size, ns, ib, cap), 0);
	ck_assert_ptr_eq(r.hdr, (void *)mem);
	ck_assert_uint_eq(r.hdr->magic, RING_MAGIC);
	ck_assert_uint_eq(r.hdr->version, RING_VERSION);
	ck_assert_uint_eq(r.hdr->nslots, ns);
	ck_assert_uint_eq(r.hdr->inbox_size, ib);
	ck_assert_uint_eq(r.hdr->cap, cap);
	ck_assert_uint_le(r.hdr->total, size);
	ck_assert_uint_eq(r.cap, cap);
	ck_assert_uint_eq(r.nslots, ns);
	ck_assert_uint_eq(r.inbox_size, ib);
	/* the regions are in order, aligned, inside the segment, disjoint */
	ck_assert_uint_eq((uintptr_t)r.slots % 64, 0);
	ck_assert_uint_eq((uintptr_t)r.data % 8, 0);
	ck_assert_uint_eq((uintptr_t)r.inbox % sizeof(uint32_t), 0);
	ck_assert((char *)r.slots >= mem + sizeof(struct ring_hdr));
	ck_assert((char *)r.inbox >= (char *)(r.slots + ns));
	ck_assert(r.data >= (char *)(r.inbox + (size_t)ns * ib));
	ck_assert(r.data + cap <= mem + size);
	ck_assert_uint_eq((uint64_t)(r.data - mem) + cap, r.hdr->total);
	/* another program maps the same segment from its descriptor */
	{
		struct ring r2;
		char *mem2 = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED, seg.fd, 0);
		static struct ring_hdr junk;	/* zeroed, and aligned like a header */

		ck_assert_ptr_ne(mem2, MAP_FAILED);
		ck_assert_int_eq(ring_attach(&r2, mem2, big), 0);
		ck_assert_uint_eq(r2.nslots, ns);
		ck_assert_uint_eq(r2.inbox_size, ib);
		ck_assert_uint_eq(r2.cap, cap);
		ck_assert_uint_eq((uintptr_t)((char *)r2.data - mem2), (uintptr_t)(r.data - mem));
		ck_assert_uint_eq((uintptr_t)((char *)r2.inbox - mem2),
		    (uintptr_t)((char *)r.inbox - mem));
		ck_assert_int_eq(ring_attach(&r2, mem2, r.hdr->total - 1), -EINVAL);
		ck_assert_int_eq(ring_attach(&r2, &junk, sizeof junk), -EINVAL);
		ck_assert_int_eq(ring_attach(&r2, &junk, 1), -EINVAL);
		munmap(mem2, big);
	}
	/* an empty ring */
	ck_assert_uint_eq(ring_used(&r), 0);
	ck_assert_uint_eq(ring_free_bytes(&r), cap);
	for (uint32_t s = 0; s < ns; s++) {
		ck_assert_ptr_null(ring_inbox_peek_at(&r, s, 0));
		ck_assert_uint_eq(ring_inbox_room(&r, s), ib);
		ck_assert_uint_eq(ring_inbox_oldest(&r, s), UINT64_MAX);
		ck_assert(!ring_drain_notify_due(&r, s));
	}
	{
		const struct ring_rec *rec = NULL;
		uint64_t pos = 12345;

		ck_assert_int_eq(ring_fanout_peek(&r, &rec, &pos), 0);
		ck_assert_int_eq(ring_abandon(&r, 0, 0), 0);
		ck_assert_uint_eq(ring_reclaim(&r, NULL, 0), 0);
	}
	shm_destroy(&seg);
	ck_assert_ptr_null(seg.mem);
	assert_no_shm_entry(&seg);

	/* the smallest valid ring: one slot, inbox of 1, cap 2 * RING_REC_MAX */
	size = ring_segment_size(1, 1, 2 * RING_REC_MAX);
	seg_create(&seg, size);
	ck_assert_int_eq(ring_init(&r, seg.mem, size, 1, 1, 2 * RING_REC_MAX), 0);
	ck_assert_uint_eq(ring_inbox_room(&r, 0), 1);
	shm_destroy(&seg);
	assert_no_shm_entry(&seg);
}
END_TEST

START_TEST(publish_sizes)
{
	static char buf[70000];
	struct rfix f;
	struct ring *r = &f.r;
	struct ring_target t = { .kind = RING_TO_NICK, .id = 1, .gen = 2 };
	char extra[RING_EXTRA_MAX + 1];
	const struct ring_rec *rec;
	uint64_t pos, head;
	bool rang = true;

	memset(buf, 'p', sizeof buf);
	memset(extra, 'x', sizeof extra);
	rfix_open(&f, 2, 4, 4 * RING_REC_MAX);

	/* a record may be exactly RING_REC_MAX, header included */
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf, PAYLOAD_MAX, &rang), 0);
	ck_assert(rang);
	head = atomic_load(&r->hdr->head);
	ck_assert_uint_eq(head, RING_REC_MAX);

	/* one byte more can never fit: -EMSGSIZE, nothing reserved */
	rang = true;
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf, PAYLOAD_MAX + 1, &rang), -EMSGSIZE);
	ck_assert(!rang);
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf, 65536, &rang), -EMSGSIZE);
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf, sizeof buf, &rang), -EMSGSIZE);
	t.extra = extra;
	t.extra_len = RING_EXTRA_MAX + 1;
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf, 10, &rang), -EMSGSIZE);
	t.extra_len = RING_EXTRA_MAX;
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf,
	    PAYLOAD_MAX - RING_EXTRA_MAX + 1, &rang), -EMSGSIZE);
	ck_assert_uint_eq(atomic_load(&r->hdr->head), head);
	ck_assert_uint_eq(r->hdr->published, 1);
	ck_assert_uint_eq(ring_used(r), RING_REC_MAX);

	/* extra and payload share the limit */
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf,
	    PAYLOAD_MAX - RING_EXTRA_MAX, &rang), 0);
	ck_assert(!rang);	/* nobody cleared the doorbell */
	/* an empty payload is a bare header */
	t.extra_len = 0;
	ck_assert_int_eq(ring_publish(r, 0, 1, &t, buf, 0, &rang), 0);
	ck_assert_uint_eq(atomic_load(&r->hdr->head), 2 * RING_REC_MAX + REC_HDR);
	ck_assert_uint_eq(r->hdr->published, 3);

	ck_assert_int_eq(ring_fanout_peek(r, &rec, &pos), 1);
	ck_assert_uint_eq(pos, 0);
	ck_assert_uint_eq(rec->size, RING_REC_MAX);
	ck_assert_uint_eq(rec->payload_len, PAYLOAD_MAX);
	ring_fanout_advance(r);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &pos), 1);
	ck_assert_uint_eq(pos, RING_REC_MAX);
	ck_assert_uint_eq(rec->size, RING_REC_MAX);
	ck_assert_uint_eq(rec->extra_len, RING_EXTRA_MAX);
	ck_assert(memcmp(ring_rec_extra(rec), extra, RING_EXTRA_MAX) == 0);
	ck_assert(memcmp(ring_rec_payload(rec), buf, rec->payload_len) == 0);
	ring_fanout_advance(r);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &pos), 1);
	ck_assert_uint_eq(rec->size, REC_HDR);
	ck_assert_uint_eq(rec->payload_len, 0);
	ring_fanout_advance(r);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &pos), 0);
	rfix_close(&f);
}
END_TEST

/* ------------------------------------------------------ single publisher */

/*
 * The master runs fan-out itself and publishes with rang == NULL: the flag
 * it cleared before the pass stays clear, so the next worker that publishes
 * is the one that rings (and wakes the master).
 */
START_TEST(master_publish_leaves_doorbell)
{
	struct rfix f;
	struct ring *r = &f.r;
	struct ring_target t = { .kind = RING_TO_SLOT, .id = 1, .gen = 1 };
	bool rang = false;

	rfix_open(&f, 2, 4, 4 * RING_REC_MAX);
	ring_doorbell_clear(r);
	ck_assert_int_eq(ring_publish(r, RING_OWNER_MASTER, 0, &t, "x\r\n", 3, NULL), 0);
	ck_assert_uint_eq(atomic_load(&r->hdr->doorbell), 0);
	ck_assert_int_eq(ring_publish(r, 2, 77, &t, "y\r\n", 3, &rang), 0);
	ck_assert(rang);
	ck_assert_uint_eq(atomic_load(&r->hdr->doorbell), 1);
	ck_assert_uint_eq(r->hdr->published, 2);
	rfix_close(&f);
}
END_TEST

START_TEST(single_publisher_order)
{
	enum { N = 40 };
	struct rfix f;
	struct ring *r = &f.r;
	uint64_t pos[N], expect = 0, p;
	char payload[400], extra[32];
	const struct ring_rec *rec, *rec2;

	rfix_open(&f, 4, 64, 64 * 1024);
	for (int i = 0; i < N; i++) {
		struct ring_target t = {
			.kind = (enum ring_kind)(1 + i % 5), .flags = (uint32_t)i & 7,
			.id = 1000u + i, .gen = 2000u + i,
			.extra = extra, .extra_len = (size_t)(i % 4) * 5,
		};
		size_t len = 1 + (size_t)(i * 13 % 300);
		bool rang;

		memset(extra, 'A' + i % 26, sizeof extra);
		for (size_t k = 0; k < len; k++)
			payload[k] = (char)(i * 31 + k);
		if (i == 20)
			ring_doorbell_clear(r);
		ck_assert_int_eq(ring_publish(r, 2, 77, &t, payload, len, &rang), 0);
		/* the publisher that turns the doorbell from 0 to 1 tells the master */
		ck_assert_msg(rang == (i == 0 || i == 20), "record %d: rang %d", i, rang);
		ck_assert_uint_eq(atomic_load(&r->hdr->doorbell), 1);
		pos[i] = expect;
		expect += REC_SIZE(t.extra_len, len);
		ck_assert_uint_eq(atomic_load(&r->hdr->head), expect);
	}
	ck_assert_uint_eq(r->hdr->published, N);
	ck_assert_uint_eq(ring_used(r), expect);
	ck_assert_uint_eq(ring_free_bytes(r), r->cap - expect);

	for (int i = 0; i < N; i++) {
		size_t len = 1 + (size_t)(i * 13 % 300), elen = (size_t)(i % 4) * 5;

		ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
		/* peeking again without advancing gives the same record */
		ck_assert_int_eq(ring_fanout_peek(r, &rec2, &p), 1);
		ck_assert_ptr_eq(rec, rec2);
		ck_assert_uint_eq(p, pos[i]);
		ck_assert_ptr_eq((const char *)rec, r->data + p % r->cap);
		ck_assert_uint_eq(atomic_load(&rec->state), RING_COMMITTED);
		ck_assert_uint_eq(rec->size, REC_SIZE(elen, len));
		ck_assert_uint_eq(rec->owner, 2);
		ck_assert_uint_eq(rec->owner_gen, 77);
		ck_assert_uint_eq(rec->kind, 1 + i % 5);
		ck_assert_uint_eq(rec->flags, (uint32_t)i & 7);
		ck_assert_uint_eq(rec->target_id, 1000u + i);
		ck_assert_uint_eq(rec->target_gen, 2000u + i);
		ck_assert_uint_eq(rec->extra_len, elen);
		ck_assert_uint_eq(rec->payload_len, len);
		for (size_t k = 0; k < elen; k++)
			ck_assert_int_eq(ring_rec_extra(rec)[k], 'A' + i % 26);
		for (size_t k = 0; k < len; k++)
			ck_assert_int_eq(ring_rec_payload(rec)[k], (char)(i * 31 + k));
		ck_assert_uint_gt(ring_inbox_room(r, 1), 0);
		ck_assert(!ring_inbox_push(r, 1, p));
		ring_fanout_advance(r);
		ck_assert_uint_eq(atomic_load(&r->hdr->fanout), pos[i] + rec->size);
	}
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 0);
	ck_assert_uint_eq(atomic_load(&r->hdr->fanout), expect);

	/* the reader gets the same records, in the same order: one at a time,
	 * then looking ahead and popping several at once (as a worker does) */
	ck_assert_uint_eq(ring_inbox_room(r, 1), 64 - N);
	for (int i = 0; i < N;) {
		uint32_t live = 1, k = i < N / 2 ? 1 : 7;

		if (k > (uint32_t)(N - i))
			k = N - i;
		ck_assert_uint_eq(ring_inbox_oldest(r, 1), pos[i]);
		/* the reader's oldest record holds the tail */
		ck_assert_uint_eq(ring_reclaim(r, &live, 1), pos[i]);
		rec = ring_inbox_peek_at(r, 1, 0);
		ck_assert_ptr_eq((const char *)rec, r->data + pos[i]);
		ck_assert_uint_eq(rec->target_id, 1000u + i);
		for (uint32_t j = 0; j < k; j++) {
			rec = ring_inbox_peek_at(r, 1, j);
			ck_assert_ptr_eq((const char *)rec, r->data + pos[i + j]);
			ck_assert_uint_eq(rec->target_id, 1000u + i + j);
		}
		/* nothing past the last queued entry */
		ck_assert_ptr_null(ring_inbox_peek_at(r, 1, N - i));
		/* looking ahead moves nothing: the tail stays at the oldest */
		ck_assert_uint_eq(ring_reclaim(r, &live, 1), pos[i]);
		ring_inbox_pop_n(r, 1, k);
		i += k;
		if (i < N)
			ck_assert_uint_eq(ring_reclaim(r, &live, 1), pos[i]);
	}
	ck_assert_ptr_null(ring_inbox_peek_at(r, 1, 0));
	ck_assert_uint_eq(ring_reclaim(r, NULL, 0), expect);
	ck_assert_uint_eq(ring_used(r), 0);
	ck_assert_uint_eq(ring_free_bytes(r), r->cap);
	rfix_close(&f);
}
END_TEST

/* ------------------------------------------------------------ wraparound */

START_TEST(wraparound)
{
	enum { QMAX = 4096 };
	static uint8_t buf[PAYLOAD_MAX];
	static uint64_t qpos[QMAX];		/* published, not yet read */
	const uint64_t cap = 2 * RING_REC_MAX + 4096;	/* not a power of two */
	const uint32_t live = 0;
	struct rfix f;
	struct ring *r = &f.r;
	uint64_t seed = 0x9e3779b97f4a7c15ull, bytes = 0, fanned_end = 0;
	uint32_t seq = 0, nread = 0, nfanned = 0, pads = 0, eagain = 0, rounds = 0;
	size_t qhead = 0, qtail = 0;	/* qpos[qtail..qhead) */
	const struct ring_rec *rec;
	uint64_t p;

	rfix_open(&f, 2, 32, cap);
	while (bytes < 20 * cap || pads < 10) {
		uint64_t k = rnd(&seed) % 100, len, need;
		bool rang;
		int rc;

		ck_assert_msg(++rounds < 1000000, "no progress: %u published, %u read",
		    seq, nread);
		if (k < 70)
			len = PL_HDR + rnd(&seed) % 400;
		else if (k < 90)
			len = PL_HDR + rnd(&seed) % 4000;
		else
			len = PL_HDR + rnd(&seed) % (PAYLOAD_MAX - PL_HDR + 1);
		pl_make(buf, 7, seq, len);
		need = REC_SIZE(0, len);
		p = next_pos(r, need);
		rc = pub(r, 3, 1, seq, buf, len, &rang);
		if (rc == 0) {
			ck_assert_uint_lt(qhead - qtail, QMAX);
			qpos[qhead++ % QMAX] = p;
			ck_assert_uint_eq(atomic_load(&r->hdr->head), p + need);
			ck_assert_uint_le(ring_used(r), cap);
			seq++;
			bytes += need;
			if (rnd(&seed) % 4 != 0)
				continue;
		} else {
			ck_assert_int_eq(rc, -EAGAIN);
			assert_full_for(r, need);
			eagain++;
		}

		/* master: fan out what fits into the reader's inbox */
		ring_doorbell_clear(r);
		rc = 0;
		while (ring_inbox_room(r, 0) > 0 &&
		    (rc = ring_fanout_peek(r, &rec, &p)) == 1) {
			ck_assert_uint_eq(p, qpos[nfanned % QMAX]);
			if (nfanned > 0 && p != fanned_end) {
				/* a PAD was skipped: only ever up to the end of data */
				ck_assert_uint_ne(fanned_end % cap, 0);
				ck_assert_uint_eq(p % cap, 0);
				ck_assert_uint_lt(p - fanned_end, rec->size);
				pads++;
			}
			/* records never straddle the end */
			ck_assert_uint_le(p % cap + rec->size, cap);
			ck_assert(!ring_inbox_push(r, 0, p));
			ring_fanout_advance(r);
			fanned_end = p + rec->size;
			nfanned++;
		}
		/* nobody else publishes: the cursor never waits on a RESERVED record */
		ck_assert(rc == 1 || rc == 0);
		/* reader: take a random number of records */
		for (uint64_t n = rnd(&seed) % 40; n > 0; n--) {
			uint32_t src, s;

			if ((rec = ring_inbox_peek_at(r, 0, 0)) == NULL)
				break;
			ck_assert_uint_eq(ring_inbox_oldest(r, 0), qpos[nread % QMAX]);
			ck_assert_ptr_eq((const char *)rec, r->data + qpos[nread % QMAX] % cap);
			ck_assert_msg(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &s),
			    "record %u corrupt", nread);
			ck_assert_uint_eq(src, 7);
			ck_assert_uint_eq(s, nread);
			ck_assert_uint_eq(rec->target_id, nread);
			ring_inbox_pop_n(r, 0, 1);
			nread++;
			qtail++;
		}
		/* tail = min(fan-out cursor, the reader's oldest) */
		p = ring_reclaim(r, &live, 1);
		ck_assert_uint_eq(p, nread < nfanned ?
		    qpos[nread % QMAX] : atomic_load(&r->hdr->fanout));
		ck_assert_uint_le(p, atomic_load(&r->hdr->fanout));
	}
	/* drain */
	for (;;) {
		uint32_t src, s;
		int rc;

		while (ring_inbox_room(r, 0) > 0 && (rc = ring_fanout_peek(r, &rec, &p)) != 0) {
			ck_assert_int_eq(rc, 1);
			ck_assert(!ring_inbox_push(r, 0, p));
			ring_fanout_advance(r);
			nfanned++;
		}
		if ((rec = ring_inbox_peek_at(r, 0, 0)) == NULL)
			break;
		ck_assert(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &s));
		ck_assert_uint_eq(s, nread);
		ring_inbox_pop_n(r, 0, 1);
		nread++;
	}
	ck_assert_uint_eq(nread, seq);
	ck_assert_uint_eq(nfanned, seq);
	ck_assert_uint_eq(r->hdr->published, seq);
	ck_assert_uint_eq(ring_reclaim(r, &live, 1), atomic_load(&r->hdr->head));
	ck_assert_uint_ge(atomic_load(&r->hdr->head) / cap, 20);
	ck_assert_uint_gt(eagain, 0);
	rfix_close(&f);
}
END_TEST

/* ------------------------------------------------------- overwrite safety */

START_TEST(slow_reader_holds_tail)
{
	static uint8_t buf[4096], saved[4096];
	const uint32_t live[2] = { 0, 1 };
	struct rfix f;
	struct ring *r = &f.r;
	const struct ring_rec *rec, *a;
	uint64_t posa, p, seed = 42;
	uint32_t src, seq, i, n;
	size_t asize, len = 0;
	bool rang;
	int rc = 0;

	rfix_open(&f, 2, 1024, 2 * RING_REC_MAX);
	/* a few records first, so the unread one is not at position 0 */
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(pub(r, 1, 1, i, buf, pl_make(buf, 1, i, 3000), &rang), 0);
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
		ring_fanout_advance(r);
	}
	ck_assert_uint_eq(ring_reclaim(r, live, 2), atomic_load(&r->hdr->head));

	/* record A reaches both readers; reader 0 does not read it */
	ck_assert_int_eq(pub(r, 9, 9, 0, buf, pl_make(buf, 0xa, 0, 300), &rang), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &a, &posa), 1);
	ck_assert(!ring_inbox_push(r, 0, posa));
	ck_assert(!ring_inbox_push(r, 1, posa));
	ring_fanout_advance(r);
	ring_inbox_pop_n(r, 1, 1);
	asize = a->size;
	memcpy(saved, a, asize);
	ck_assert_uint_eq(ring_reclaim(r, live, 2), posa);

	/* reader 1 keeps up with everything else; publish until the ring is full */
	for (n = 0; n < 10000; n++) {
		len = PL_HDR + rnd(&seed) % 2000;
		pl_make(buf, 2, n, len);
		rc = pub(r, 1, 1, n, buf, len, &rang);
		if (rc == -EAGAIN)
			break;
		ck_assert_int_eq(rc, 0);
		/* nothing was reserved over A */
		ck_assert_uint_le(atomic_load(&r->hdr->head), posa + r->cap);
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
		ck_assert(!ring_inbox_push(r, 1, p));
		ring_fanout_advance(r);
		rec = ring_inbox_peek_at(r, 1, 0);
		ck_assert(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &seq));
		ck_assert_uint_eq(seq, n);
		ring_inbox_pop_n(r, 1, 1);
		ck_assert_uint_eq(ring_reclaim(r, live, 2), posa);
		ck_assert_uint_eq(ring_inbox_oldest(r, 0), posa);
		ck_assert_ptr_eq(ring_inbox_peek_at(r, 0, 0), a);
		ck_assert_msg(memcmp(a, saved, asize) == 0, "unread record A overwritten");
	}
	ck_assert_int_eq(rc, -EAGAIN);
	ck_assert_uint_gt(n, 10);
	assert_full_for(r, REC_SIZE(0, len));
	/* even the smallest record finds no room: the ring is full up to A */
	while ((rc = pub(r, 1, 1, n, buf, pl_make(buf, 2, n, PL_HDR), &rang)) == 0) {
		ck_assert_uint_le(atomic_load(&r->hdr->head), posa + r->cap);
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
		ck_assert(!ring_inbox_push(r, 1, p));
		ring_fanout_advance(r);
		ring_inbox_pop_n(r, 1, 1);
		n++;
	}
	ck_assert_int_eq(rc, -EAGAIN);
	assert_full_for(r, REC_SIZE(0, PL_HDR));
	ck_assert_uint_eq(ring_reclaim(r, live, 2), posa);
	ck_assert_int_eq(pub(r, 1, 1, n, buf, pl_make(buf, 2, n, PL_HDR), &rang), -EAGAIN);

	/* A is intact; once reader 0 takes it, the space comes back */
	ck_assert(memcmp(a, saved, asize) == 0);
	ck_assert(pl_check(ring_rec_payload(a), a->payload_len, &src, &seq));
	ck_assert_uint_eq(src, 0xa);
	ring_inbox_pop_n(r, 0, 1);
	ck_assert_uint_eq(ring_inbox_oldest(r, 0), UINT64_MAX);
	ck_assert_uint_eq(ring_reclaim(r, live, 2), atomic_load(&r->hdr->head));
	ck_assert_int_eq(pub(r, 1, 1, n, buf, pl_make(buf, 2, n, len), &rang), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
	ck_assert(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &seq));
	ck_assert_uint_eq(seq, n);
	rfix_close(&f);
}
END_TEST

/*
 * Publish records (read at once by slot `reader`) of exact sizes until head
 * is at target; no PAD is needed on the way.
 */
static void
fill_to(struct ring *r, uint64_t target, uint32_t reader, const uint32_t *live,
    size_t nlive)
{
	static char buf[PAYLOAD_MAX];
	const struct ring_rec *rec;
	uint64_t head, need, p;
	bool rang;

	memset(buf, 'f', sizeof buf);
	while ((head = atomic_load(&r->hdr->head)) < target) {
		need = target - head;
		if (need > r->cap - head % r->cap)
			need = r->cap - head % r->cap;
		if (need > RING_REC_MAX)
			need = RING_REC_MAX / 2;
		ck_assert_uint_ge(need, REC_HDR);
		ck_assert_uint_eq(need % 8, 0);
		ck_assert_int_eq(pub(r, 1, 1, 0, buf, need - REC_HDR, &rang), 0);
		ck_assert_uint_eq(atomic_load(&r->hdr->head), head + need);
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
		ck_assert_uint_eq(p, head);
		ck_assert(!ring_inbox_push(r, reader, p));
		ring_fanout_advance(r);
		ring_inbox_pop_n(r, reader, 1);
		ring_reclaim(r, live, nlive);
	}
	ck_assert_uint_eq(atomic_load(&r->hdr->head), target);
}

/*
 * The room check counts the PAD: with the unread record A 200 bytes into
 * the data area and head 304 bytes before its end, 504 bytes are free, but a
 * 400-byte record needs 304 of padding first and would overwrite A.
 */
START_TEST(pad_never_overruns_tail)
{
	static uint8_t buf[512], saved[512];
	const uint32_t live[2] = { 0, 1 };
	const uint64_t cap = 2 * RING_REC_MAX;
	struct rfix f;
	struct ring *r = &f.r;
	const struct ring_rec *a, *rec;
	uint64_t posa, p;
	uint32_t src, seq;
	bool rang;

	rfix_open(&f, 2, 16, cap);
	fill_to(r, cap + 200, 1, live, 2);
	ck_assert_int_eq(pub(r, 9, 9, 0, buf, pl_make(buf, 0xa, 0, 304 - REC_HDR), &rang), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &a, &posa), 1);
	ck_assert_uint_eq(posa, cap + 200);
	ck_assert(!ring_inbox_push(r, 0, posa));
	ck_assert(!ring_inbox_push(r, 1, posa));
	ring_fanout_advance(r);
	ring_inbox_pop_n(r, 1, 1);
	memcpy(saved, a, a->size);
	ck_assert_uint_eq(ring_reclaim(r, live, 2), posa);

	fill_to(r, 2 * cap - 304, 1, live, 2);
	ck_assert_uint_eq(ring_free_bytes(r), 504);
	/* 400 bytes are free, but not 304 + 400 */
	ck_assert_int_eq(pub(r, 1, 1, 0, buf, 400 - REC_HDR, &rang), -EAGAIN);
	ck_assert_int_eq(pub(r, 1, 1, 0, buf, 312 - REC_HDR, &rang), -EAGAIN);
	ck_assert_uint_eq(atomic_load(&r->hdr->head), 2 * cap - 304);
	ck_assert(memcmp(a, saved, a->size) == 0);
	/* exactly the gap fits without padding; then 200 more, up to A */
	fill_to(r, 2 * cap, 1, live, 2);
	ck_assert_int_eq(pub(r, 1, 1, 0, buf, 208 - REC_HDR, &rang), -EAGAIN);
	fill_to(r, 2 * cap + 200, 1, live, 2);
	ck_assert_uint_eq(ring_free_bytes(r), 0);
	ck_assert_int_eq(pub(r, 1, 1, 0, buf, 0, &rang), -EAGAIN);
	ck_assert(memcmp(a, saved, a->size) == 0);
	ck_assert_ptr_eq(ring_inbox_peek_at(r, 0, 0), a);
	ck_assert(pl_check(ring_rec_payload(a), a->payload_len, &src, &seq));
	ck_assert_uint_eq(src, 0xa);
	ring_inbox_pop_n(r, 0, 1);
	ck_assert_uint_eq(ring_reclaim(r, live, 2), 2 * cap + 200);
	ck_assert_int_eq(pub(r, 1, 1, 0, buf, 400 - REC_HDR, &rang), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
	ck_assert_uint_eq(p, 2 * cap + 200);
	rfix_close(&f);
}
END_TEST

START_TEST(dead_reader_releases_tail)
{
	static uint8_t buf[4096];
	const uint32_t both[2] = { 0, 1 }, only1 = 1;
	struct rfix f;
	struct ring *r = &f.r;
	const struct ring_rec *rec;
	uint64_t posa, p, bytes = 0, seed = 7;
	uint32_t n = 0;
	bool rang;

	rfix_open(&f, 2, 8, 2 * RING_REC_MAX);
	ck_assert_int_eq(pub(r, 1, 1, 0, buf, pl_make(buf, 0xa, 0, 500), &rang), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &posa), 1);
	ck_assert(!ring_inbox_push(r, 0, posa));
	ck_assert(!ring_inbox_push(r, 1, posa));
	ring_fanout_advance(r);
	ring_inbox_pop_n(r, 1, 1);
	/* while slot 0 is live its unread record holds the tail ... */
	ck_assert_uint_eq(ring_reclaim(r, both, 2), posa);
	/* ... once it is dead (not in the live list) it does not */
	ck_assert_uint_eq(ring_reclaim(r, &only1, 1), atomic_load(&r->hdr->fanout));
	ck_assert_uint_eq(ring_used(r), 0);

	/* publishing goes on over slot 0's record, several times round */
	while (bytes < 3 * r->cap) {
		size_t len = PL_HDR + rnd(&seed) % 3000;
		uint32_t src, seq;

		n++;
		ck_assert_int_eq(pub(r, 1, 1, n, buf, pl_make(buf, 1, n, len), &rang), 0);
		bytes += REC_SIZE(0, len);
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
		ck_assert(!ring_inbox_push(r, 1, p));
		ring_fanout_advance(r);
		rec = ring_inbox_peek_at(r, 1, 0);
		ck_assert(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &seq));
		ck_assert_uint_eq(seq, n);
		ring_inbox_pop_n(r, 1, 1);
		ck_assert_uint_eq(ring_reclaim(r, &only1, 1), atomic_load(&r->hdr->head));
	}

	/* the dead slot is forgotten: empty inbox, flags cleared */
	ring_drain_notify_request(r, 0);
	atomic_store(&r->slots[0].sleeping, 1);
	ring_inbox_reset(r, 0);
	ck_assert_ptr_null(ring_inbox_peek_at(r, 0, 0));
	ck_assert_uint_eq(ring_inbox_oldest(r, 0), UINT64_MAX);
	ck_assert_uint_eq(ring_inbox_room(r, 0), 8);
	ck_assert_uint_eq(atomic_load(&r->slots[0].sleeping), 0);
	ck_assert(!ring_drain_notify_due(r, 0));

	/* reused by a new client, the slot holds the tail again */
	ck_assert_int_eq(pub(r, 1, 1, 0, buf, pl_make(buf, 1, 0, 100), &rang), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &posa), 1);
	ck_assert(!ring_inbox_push(r, 0, posa));
	ring_fanout_advance(r);
	ck_assert_uint_eq(ring_inbox_oldest(r, 0), posa);
	ck_assert_uint_eq(ring_reclaim(r, both, 2), posa);
	ring_inbox_pop_n(r, 0, 1);
	ck_assert_uint_eq(ring_reclaim(r, both, 2), atomic_load(&r->hdr->head));
	rfix_close(&f);
}
END_TEST

/* ----------------------------------------------------------------- inbox */

START_TEST(inbox_fifo_and_room)
{
	enum { N = 30, IB = 8 };
	struct rfix f;
	struct ring *r = &f.r;
	const struct ring_rec *rec;
	uint64_t pos[N];
	uint32_t pushed = 0, popped = 0;
	char c = 0;
	bool rang;

	rfix_open(&f, 3, IB, 2 * RING_REC_MAX);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(pub(r, 1, 1, (uint32_t)i, &c, 1, &rang), 0);
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &pos[i]), 1);
		ring_fanout_advance(r);
	}
	ck_assert_uint_eq(ring_inbox_room(r, 1), IB);
	ck_assert_ptr_null(ring_inbox_peek_at(r, 1, 0));
	ck_assert_uint_eq(ring_inbox_oldest(r, 1), UINT64_MAX);

	/* fill: room counts down to 0 */
	for (; pushed < IB; pushed++) {
		ck_assert_uint_eq(ring_inbox_room(r, 1), IB - pushed);
		ck_assert(!ring_inbox_push(r, 1, pos[pushed]));
		ck_assert_ptr_nonnull(ring_inbox_peek_at(r, 1, 0));
	}
	ck_assert_uint_eq(ring_inbox_room(r, 1), 0);
	ck_assert_uint_eq(ring_inbox_oldest(r, 1), pos[0]);
	/* other slots are unaffected */
	ck_assert_uint_eq(ring_inbox_room(r, 2), IB);
	ck_assert_ptr_null(ring_inbox_peek_at(r, 2, 0));
	ck_assert_uint_eq(ring_inbox_room(r, 0), IB);

	/* peek is idempotent; pop frees one entry */
	rec = ring_inbox_peek_at(r, 1, 0);
	ck_assert_ptr_eq(ring_inbox_peek_at(r, 1, 0), rec);
	ck_assert_uint_eq(rec->target_id, 0);
	ring_inbox_pop_n(r, 1, 1);
	popped++;
	ck_assert_uint_eq(ring_inbox_room(r, 1), 1);
	ck_assert_uint_eq(ring_inbox_oldest(r, 1), pos[1]);

	/* keep pushing and popping: the index wraps the inbox several times */
	while (popped < N) {
		if (pushed < N && ring_inbox_room(r, 1) > 0 &&
		    (pushed == popped || (pushed + popped) % 3 != 0)) {
			ck_assert(!ring_inbox_push(r, 1, pos[pushed]));
			pushed++;
			continue;
		}
		rec = ring_inbox_peek_at(r, 1, 0);
		ck_assert_ptr_nonnull(rec);
		ck_assert_uint_eq(rec->target_id, popped);
		ck_assert_ptr_eq((const char *)rec, r->data + pos[popped] % r->cap);
		ck_assert_uint_eq(ring_inbox_oldest(r, 1), pos[popped]);
		ck_assert_uint_eq(ring_inbox_room(r, 1), IB - (pushed - popped));
		ring_inbox_pop_n(r, 1, 1);
		popped++;
	}
	ck_assert_ptr_null(ring_inbox_peek_at(r, 1, 0));
	ck_assert_uint_eq(ring_inbox_room(r, 1), IB);
	ck_assert_uint_eq(ring_inbox_oldest(r, 1), UINT64_MAX);

	/* reset forgets queued entries */
	ck_assert(!ring_inbox_push(r, 2, pos[3]));
	ck_assert(!ring_inbox_push(r, 2, pos[4]));
	ring_inbox_reset(r, 2);
	ck_assert_ptr_null(ring_inbox_peek_at(r, 2, 0));
	ck_assert_uint_eq(ring_inbox_room(r, 2), IB);
	ck_assert_uint_eq(ring_inbox_oldest(r, 2), UINT64_MAX);
	rfix_close(&f);
}
END_TEST

START_TEST(inbox_sleep_wake)
{
	struct rfix f;
	struct ring *r = &f.r;
	const struct ring_rec *rec;
	uint64_t pos[4];
	char c = 'x';
	bool rang;

	rfix_open(&f, 2, 8, 2 * RING_REC_MAX);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pub(r, 1, 1, (uint32_t)i, &c, 1, &rang), 0);
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &pos[i]), 1);
		ring_fanout_advance(r);
	}

	/* empty inbox: the worker may sleep; the first push wakes it, once */
	ck_assert(ring_sleep_prepare(r, 0));
	ck_assert_uint_eq(atomic_load(&r->slots[0].sleeping), 1);
	ck_assert(ring_inbox_push(r, 0, pos[0]));
	ck_assert_uint_eq(atomic_load(&r->slots[0].sleeping), 0);
	ck_assert(!ring_inbox_push(r, 0, pos[1]));
	/* other slots' pushes do not touch this one's flag */
	ck_assert(ring_sleep_prepare(r, 1));
	ck_assert(!ring_inbox_push(r, 0, pos[2]));
	ck_assert_uint_eq(atomic_load(&r->slots[1].sleeping), 1);
	ck_assert(ring_inbox_push(r, 1, pos[0]));
	ck_assert(!ring_inbox_push(r, 1, pos[1]));

	/* entries pending: the worker must not sleep, and no wake is due */
	ck_assert(!ring_sleep_prepare(r, 0));
	ck_assert_uint_eq(atomic_load(&r->slots[0].sleeping), 0);
	ck_assert(!ring_inbox_push(r, 0, pos[3]));
	while (ring_inbox_peek_at(r, 0, 0) != NULL) {
		ck_assert(!ring_sleep_prepare(r, 0));
		ring_inbox_pop_n(r, 0, 1);
	}

	/* prepared, then cancelled: no wake */
	ck_assert(ring_sleep_prepare(r, 0));
	ring_sleep_cancel(r, 0);
	ck_assert_uint_eq(atomic_load(&r->slots[0].sleeping), 0);
	ck_assert(!ring_inbox_push(r, 0, pos[0]));
	ring_inbox_pop_n(r, 0, 1);

	/* sleeping again after draining: the next push wakes again */
	ck_assert(ring_sleep_prepare(r, 0));
	ck_assert(ring_inbox_push(r, 0, pos[1]));
	ck_assert(!ring_inbox_push(r, 0, pos[2]));
	while (ring_inbox_peek_at(r, 0, 0) != NULL)
		ring_inbox_pop_n(r, 0, 1);

	/* a lazy push owes the wake and leaves the flag: the worker still sees
	 * the entry; the wake is taken once, later */
	ck_assert(ring_sleep_prepare(r, 0));
	ck_assert(ring_inbox_push_lazy(r, 0, pos[0]));
	ck_assert_uint_eq(atomic_load(&r->slots[0].sleeping), 1);
	ck_assert(ring_inbox_push_lazy(r, 0, pos[1]));
	ck_assert(ring_inbox_take_wake(r, 0));
	ck_assert(!ring_inbox_take_wake(r, 0));
	ck_assert(!ring_inbox_push_lazy(r, 0, pos[2]));
	/* owed, but it woke on its own meanwhile: nothing left to take */
	while (ring_inbox_peek_at(r, 0, 0) != NULL)
		ring_inbox_pop_n(r, 0, 1);
	ck_assert(ring_sleep_prepare(r, 0));
	ck_assert(ring_inbox_push_lazy(r, 0, pos[3]));
	ck_assert(!ring_sleep_prepare(r, 0));
	ck_assert(!ring_inbox_take_wake(r, 0));

	/* drain notification: due once per request */
	ck_assert(!ring_drain_notify_due(r, 0));
	ring_drain_notify_request(r, 0);
	ck_assert(!ring_drain_notify_due(r, 1));
	ck_assert(ring_drain_notify_due(r, 0));
	ck_assert(!ring_drain_notify_due(r, 0));
	ring_drain_notify_request(r, 0);
	ring_drain_notify_request(r, 0);
	ck_assert(ring_drain_notify_due(r, 0));
	ck_assert(!ring_drain_notify_due(r, 0));
	ring_drain_notify_request(r, 1);
	ring_inbox_reset(r, 1);
	ck_assert(!ring_drain_notify_due(r, 1));
	rfix_close(&f);
}
END_TEST

/* ------------------------------------------------------- dead publishers */

struct die_arg {
	struct ring *r;
	uint32_t owner, gen;
	int how;
};

enum { DIE_HOLDING_LOCK, DIE_RESERVED_HOLDING_LOCK, DIE_MID_COPY };
#define DIE_RESV_LEN	100	/* payload bytes of the record left RESERVED */
#define DIE_COPY_LEN	3000

static void
die_now(int sig)
{
	(void)sig;
	kill(getpid(), SIGKILL);
}

static int
die_child(void *p)
{
	struct die_arg *a = p;
	struct ring_target t = { .kind = RING_TO_ALL, .id = 1, .gen = 1 };
	uint8_t buf[256];
	bool rang;

	switch (a->how) {
	case DIE_HOLDING_LOCK:
		/* killed inside the locked section, before it changed anything */
		if (pthread_mutex_lock(&a->r->hdr->lock) != 0)
			return 2;
		kill(getpid(), SIGKILL);
		return 3;
	case DIE_RESERVED_HOLDING_LOCK: {
		/*
		 * killed between "advance head" and "unlock": a RESERVED record
		 * below head and the lock held. Reached by publishing, then
		 * taking the lock and putting the record back to RESERVED.
		 */
		struct ring_rec *rec;
		uint64_t pos = next_pos(a->r, REC_SIZE(0, DIE_RESV_LEN));

		if (ring_publish(a->r, a->owner, a->gen, &t, buf,
		    pl_make(buf, a->gen, 0, DIE_RESV_LEN), &rang) != 0)
			return 2;
		rec = (struct ring_rec *)(a->r->data + pos % a->r->cap);
		if (pthread_mutex_lock(&a->r->hdr->lock) != 0)
			return 4;
		atomic_store(&rec->state, RING_RESERVED);
		kill(getpid(), SIGKILL);
		return 3;
	}
	case DIE_MID_COPY: {
		/*
		 * The payload runs into a PROT_NONE page, so ring_publish
		 * faults while copying it: after the reservation and the
		 * unlock, before the commit. The fault kills the child.
		 */
		long pg = sysconf(_SC_PAGESIZE);
		struct sigaction sa;
		char *m = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED || mprotect(m + pg, (size_t)pg, PROT_NONE) != 0)
			return 2;
		memset(m, 'z', (size_t)pg);
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = die_now;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		ring_publish(a->r, a->owner, a->gen, &t, m + pg - 64, DIE_COPY_LEN, &rang);
		return 3;	/* the copy did not fault?! */
	}
	}
	return 1;
}

static void
run_die_child(struct ring *r, uint32_t owner, uint32_t gen, int how)
{
	struct die_arg a = { r, owner, gen, how };
	int st = reap(spawn(die_child, &a));

	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "child (how %d) did not die by SIGKILL: %s %d", how,
	    WIFEXITED(st) ? "exit" : "signal",
	    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* publish one record as the master and fan it out; checks it */
static void
master_roundtrip(struct ring *r, uint32_t seq)
{
	uint8_t buf[128];
	const struct ring_rec *rec;
	uint32_t src, s;
	uint64_t p;
	bool rang;

	ck_assert_int_eq(pub(r, RING_OWNER_MASTER, 0, seq, buf,
	    pl_make(buf, 0xfeed, seq, 100), &rang), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
	ck_assert_uint_eq(rec->owner, RING_OWNER_MASTER);
	ck_assert(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &s));
	ck_assert_uint_eq(s, seq);
	ring_fanout_advance(r);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 0);
	ck_assert_uint_eq(ring_reclaim(r, NULL, 0), atomic_load(&r->hdr->head));
}

START_TEST(dead_lock_holder)
{
	struct rfix f;
	struct ring *r = &f.r;

	rfix_open(&f, 4, 8, 2 * RING_REC_MAX);
	master_roundtrip(r, 0);
	/* the holder died: the next publisher recovers the robust mutex */
	run_die_child(r, 2, 5, DIE_HOLDING_LOCK);
	master_roundtrip(r, 1);
	master_roundtrip(r, 2);
	/* and the master's ring_abandon recovers it too */
	run_die_child(r, 2, 6, DIE_HOLDING_LOCK);
	ck_assert_int_eq(ring_abandon(r, 2, 6), 0);
	master_roundtrip(r, 3);
	/* the mutex is an ordinary, healthy one again */
	ck_assert_int_eq(pthread_mutex_trylock(&r->hdr->lock), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&r->hdr->lock), 0);
	rfix_close(&f);
}
END_TEST

/* a child that reserved a record and died; what the master sees */
static void
check_abandon(struct ring *r, uint32_t owner, uint32_t gen, int how)
{
	uint8_t buf[128];
	const struct ring_rec *rec;
	uint64_t p, resv;
	uint32_t src, s;
	bool rang;

	resv = next_pos(r, REC_SIZE(0, how == DIE_MID_COPY ? DIE_COPY_LEN : DIE_RESV_LEN));
	run_die_child(r, owner, gen, how);
	ck_assert_uint_gt(atomic_load(&r->hdr->head), resv);
	/* a live publisher commits after it: still behind the RESERVED one */
	ck_assert_int_eq(pub(r, 1, 1, 77, buf, pl_make(buf, 1, 77, 90), &rang), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), -EINPROGRESS);
		ck_assert_uint_eq(p, resv);
		ck_assert_uint_eq(rec->owner, owner);
		ck_assert_uint_eq(rec->owner_gen, gen);
		ck_assert_uint_eq(atomic_load(&rec->state), RING_RESERVED);
	}
	/* the tail cannot pass it either */
	ck_assert_uint_le(ring_reclaim(r, NULL, 0), resv);
	/* only the dead publisher's own records are abandoned */
	ck_assert_int_eq(ring_abandon(r, owner, gen + 1), 0);
	ck_assert_int_eq(ring_abandon(r, owner + 1, gen), 0);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), -EINPROGRESS);
	ck_assert_int_eq(ring_abandon(r, owner, gen), 1);
	ck_assert_int_eq(ring_abandon(r, owner, gen), 0);
	/* fan-out skips it and goes on with the live publisher's record */
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 1);
	ck_assert_uint_gt(p, resv);
	ck_assert_uint_eq(rec->owner, 1);
	ck_assert(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &s));
	ck_assert_uint_eq(s, 77);
	ring_fanout_advance(r);
	ck_assert_int_eq(ring_fanout_peek(r, &rec, &p), 0);
	ck_assert_uint_eq(ring_reclaim(r, NULL, 0), atomic_load(&r->hdr->head));
}

START_TEST(dead_publisher_reserved)
{
	struct rfix f;
	struct ring *r = &f.r;

	rfix_open(&f, 4, 8, 2 * RING_REC_MAX);
	master_roundtrip(r, 0);
	check_abandon(r, 2, 40, DIE_RESERVED_HOLDING_LOCK);
	master_roundtrip(r, 1);
	check_abandon(r, 2, 41, DIE_MID_COPY);
	master_roundtrip(r, 2);
	check_abandon(r, 3, 7, DIE_RESERVED_HOLDING_LOCK);
	check_abandon(r, 3, 8, DIE_MID_COPY);
	master_roundtrip(r, 3);
	ck_assert_int_eq(pthread_mutex_trylock(&r->hdr->lock), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&r->hdr->lock), 0);
	rfix_close(&f);
}
END_TEST

/* random kills: a child publishing flat out, SIGKILLed at a random moment */
struct kill_ctl {
	_Atomic uint32_t progress;	/* records the child has published */
};

struct kill_arg {
	struct ring *r;
	struct kill_ctl *k;
	uint32_t gen;
	uint64_t seed;
};

#define KILL_OWNER	1

static int
kill_child(void *p)
{
	static uint8_t buf[PAYLOAD_MAX];
	struct kill_arg *a = p;
	uint32_t seq = 0;

	for (;;) {
		uint64_t k = rnd(&a->seed) % 4;
		size_t len = PL_HDR + (k == 0 ? rnd(&a->seed) % (PAYLOAD_MAX - PL_HDR + 1) :
		    rnd(&a->seed) % 2000);
		int rc;
		bool rang;

		pl_make(buf, a->gen, seq, len);
		/* spin on -EAGAIN: in and out of the lock as fast as possible */
		while ((rc = pub(a->r, KILL_OWNER, a->gen, seq, buf, len, &rang)) == -EAGAIN)
			;
		if (rc != 0)
			return 10;
		atomic_store(&a->k->progress, ++seq);
	}
}

/* fan out (no readers) what is committed; checks every record */
static int
kill_drain(struct ring *r, uint32_t gen, uint32_t *next)
{
	const struct ring_rec *rec;
	uint32_t src, seq;
	uint64_t p;
	int rc;

	while ((rc = ring_fanout_peek(r, &rec, &p)) == 1) {
		ck_assert_uint_eq(rec->owner, KILL_OWNER);
		ck_assert_uint_eq(rec->owner_gen, gen);
		ck_assert_msg(pl_check(ring_rec_payload(rec), rec->payload_len, &src, &seq),
		    "gen %u: committed record %u corrupt", gen, *next);
		ck_assert_uint_eq(src, gen);
		ck_assert_uint_eq(seq, *next);
		ck_assert_uint_eq(rec->target_id, seq);
		(*next)++;
		ring_fanout_advance(r);
	}
	ring_reclaim(r, NULL, 0);
	return rc;
}

START_TEST(publisher_killed_at_random)
{
	const int iters = slow_mode() ? 60 : 300;
	struct rfix f;
	struct ring *r = &f.r;
	struct kill_ctl *k = shared_block(sizeof *k);
	uint64_t seed = 0x1234567887654321ull;
	int abandoned = 0, in_lock = 0;
	double deadline = now_s() + (slow_mode() ? 600 : 60);

	rfix_open(&f, 4, 8, 4 * RING_REC_MAX);
	for (int it = 0; it < iters; it++) {
		struct kill_arg a = { r, k, (uint32_t)it + 1, rnd(&seed) | 1 };
		uint32_t target = (uint32_t)(rnd(&seed) % 24), next = 0, progress;
		unsigned spin = (unsigned)(rnd(&seed) % 20000);
		pid_t pid;
		int st, n, rc;

		atomic_store(&k->progress, 0);
		pid = spawn(kill_child, &a);
		/*
		 * Wait for the child to get that far. Even iterations: the master
		 * fans out meanwhile, so the child is mostly copying payloads.
		 * Odd ones: it does not, so the child soon finds the ring full and
		 * spins on -EAGAIN, in and out of the locked section. (With
		 * 2 * RING_REC_MAX free, any record fits, so it cannot be stuck.)
		 */
		while (atomic_load(&k->progress) < target) {
			if (it % 2 == 0) {
				rc = kill_drain(r, a.gen, &next);
				ck_assert(rc == 0 || rc == -EINPROGRESS);
			} else if (ring_free_bytes(r) < 2 * RING_REC_MAX)
				break;
			ck_assert_msg(now_s() < deadline, "iteration %d: child stuck at %u",
			    it, atomic_load(&k->progress));
		}
		for (volatile unsigned i = 0; i < spin; i++)
			;
		kill(pid, SIGKILL);
		st = reap(pid);
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		    "iteration %d: child ended otherwise (status %#x)", it, st);
		progress = atomic_load(&k->progress);
#if defined(__GLIBC__) && defined(FUTEX_OWNER_DIED)
		if (r->hdr->lock.__data.__lock & FUTEX_OWNER_DIED)
			in_lock++;
#endif
		/* at most the one record in flight was left RESERVED */
		n = ring_abandon(r, KILL_OWNER, a.gen);
		ck_assert_int_ge(n, 0);
		ck_assert_int_le(n, 1);
		abandoned += n;
		/* fan-out is never stuck after abandon; everything committed is intact */
		rc = kill_drain(r, a.gen, &next);
		ck_assert_msg(rc == 0, "iteration %d: fan-out stuck (%d) after abandon", it, rc);
		ck_assert_uint_eq(atomic_load(&r->hdr->fanout), atomic_load(&r->hdr->head));
		ck_assert_uint_eq(atomic_load(&r->hdr->tail), atomic_load(&r->hdr->head));
		/* nothing committed was lost: the child counted after each commit */
		ck_assert_msg(next == progress || next == progress + 1,
		    "iteration %d: %u committed, child counted %u", it, next, progress);
		if (n == 1)
			ck_assert_uint_eq(next, progress);
		/* the lock works for everybody else */
		master_roundtrip(r, (uint32_t)it);
	}
	ck_assert_int_eq(pthread_mutex_trylock(&r->hdr->lock), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&r->hdr->lock), 0);
	if (getenv("CHECK_RING_VERBOSE"))
		fprintf(stderr, "killed %d publishers: %d left a RESERVED record, "
		    "%d died holding the lock\n", iters, abandoned, in_lock);
	munmap(k, sizeof *k);
	rfix_close(&f);
}
END_TEST

/* ------------------------------------------------- many publishers, readers */

#define MP_PUB		8
#define MP_RD		3
#define MP_GEN		1000u

struct mp_ctl {
	_Atomic uint32_t master_seq;	/* bumped to wake the master */
	_Atomic uint32_t space_seq;	/* bumped when the tail moved */
	_Atomic uint32_t space_waiters;
	_Atomic uint32_t done;		/* publishers finished */
	_Atomic uint32_t pub_eagain;
	_Atomic uint32_t rd_sleeps[MP_RD], rd_woken[MP_RD];
	_Atomic uint32_t rd_lost_wake[MP_RD];
	char why[MP_RD][160];
};

struct mp_arg {
	struct ring *r;
	struct mp_ctl *c;
	uint32_t id, n;
	double deadline;
};

static void
mp_poke_master(struct mp_ctl *c)
{
	atomic_fetch_add(&c->master_seq, 1);
	futex_wake(&c->master_seq, 1);
}

static int
mp_publisher(void *p)
{
	struct mp_arg *a = p;
	struct mp_ctl *c = a->c;
	uint8_t buf[256];

	for (uint32_t seq = 0; seq < a->n; seq++) {
		size_t len = pl_make(buf, a->id, seq, PL_HDR + (seq * 7 + a->id * 3) % 150);
		struct ring_target t = { .kind = RING_TO_CHAN, .id = a->id, .gen = seq };
		bool rang;
		int rc;

		for (;;) {
			uint32_t s = atomic_load(&c->space_seq);

			rc = ring_publish(a->r, MP_RD + a->id, MP_GEN + a->id, &t, buf, len, &rang);
			if (rc != -EAGAIN)
				break;
			/* full: tell the master, wait for the tail to move */
			atomic_fetch_add(&c->pub_eagain, 1);
			atomic_fetch_add(&c->space_waiters, 1);
			mp_poke_master(c);
			futex_wait(&c->space_seq, s, 200);
			atomic_fetch_sub(&c->space_waiters, 1);
			if (now_s() > a->deadline)
				return 11;
		}
		if (rc != 0)
			return 10;
		if (rang)
			mp_poke_master(c);
	}
	atomic_fetch_add(&c->done, 1);
	mp_poke_master(c);
	return 0;
}

/* one record as a reader sees it; NULL or what is wrong */
static const char *
mp_check(const struct ring_rec *rec, uint32_t *next)
{
	uint32_t src, psrc, seq;

	if (atomic_load(&rec->state) != RING_COMMITTED)
		return "record not COMMITTED (space reused?)";
	if (rec->owner < MP_RD || rec->owner >= MP_RD + MP_PUB)
		return "bad owner";
	src = rec->owner - MP_RD;
	if (rec->owner_gen != MP_GEN + src)
		return "bad owner_gen";
	if (rec->kind != RING_TO_CHAN || rec->target_id != src || rec->extra_len != 0)
		return "bad target";
	if (!pl_check(ring_rec_payload(rec), rec->payload_len, &psrc, &seq) || psrc != src)
		return "corrupt payload";
	if (rec->target_gen != seq)
		return "header does not match payload";
	if (seq != next[src])
		return seq < next[src] ? "duplicate or reordered record" : "lost record";
	next[src]++;
	return NULL;
}

static int
mp_reader(void *p)
{
	struct mp_arg *a = p;
	struct ring *r = a->r;
	struct mp_ctl *c = a->c;
	uint32_t s = a->id, next[MP_PUB] = { 0 };
	uint64_t got = 0, total = (uint64_t)MP_PUB * a->n;

	while (got < total) {
		const struct ring_rec *rec = ring_inbox_peek_at(r, s, 0);
		long rc;
		int err;

		if (rec != NULL) {
			const char *why = mp_check(rec, next);

			if (why != NULL) {
				snprintf(c->why[s], sizeof c->why[s],
				    "reader %u, record %llu (owner %u): %s", s,
				    (unsigned long long)got, rec->owner, why);
				return 3;
			}
			ring_inbox_pop_n(r, s, 1);
			got++;
			if (ring_drain_notify_due(r, s))
				mp_poke_master(c);
			continue;
		}
		if (now_s() > a->deadline) {
			snprintf(c->why[s], sizeof c->why[s],
			    "reader %u: timed out with %llu of %llu records", s,
			    (unsigned long long)got, (unsigned long long)total);
			return 4;
		}
		if (!ring_sleep_prepare(r, s))
			continue;
		atomic_fetch_add(&c->rd_sleeps[s], 1);
		rc = futex_wait(&r->slots[s].sleeping, 1, 2000);
		err = errno;
		/* exactly one side takes the flag back: the master's push or us */
		if (atomic_exchange(&r->slots[s].sleeping, 0) == 1) {
			if (rc != 0 && err == ETIMEDOUT && ring_inbox_peek_at(r, s, 0) != NULL)
				atomic_fetch_add(&c->rd_lost_wake[s], 1);
		} else
			atomic_fetch_add(&c->rd_woken[s], 1);
	}
	return 0;
}

struct mp_master {
	struct ring *r;
	struct mp_ctl *c;
	bool local;			/* the master plays the readers too */
	uint32_t n;
	uint32_t next[MP_RD][MP_PUB];	/* local readers */
	uint64_t wakes[MP_RD];		/* pushes that returned true */
	unsigned timeouts;		/* master waits nobody ended */
	double deadline;
};

static const uint32_t mp_live[MP_RD] = { 0, 1, 2 };

static void
mp_local_drain(struct mp_master *m, uint32_t s)
{
	const struct ring_rec *rec;

	while ((rec = ring_inbox_peek_at(m->r, s, 0)) != NULL) {
		const char *why = mp_check(rec, m->next[s]);

		/* not ck_assert: a passing one writes to Check's pipe, per record */
		if (why != NULL)
			ck_abort_msg("reader %u: %s", s, why);
		ring_inbox_pop_n(m->r, s, 1);
	}
}

static bool
mp_reclaim(struct mp_master *m)
{
	uint64_t old = atomic_load(&m->r->hdr->tail), t;

	t = ring_reclaim(m->r, mp_live, MP_RD);
	ck_assert_uint_ge(t, old);
	ck_assert_uint_le(t, atomic_load(&m->r->hdr->fanout));
	if (t == old)
		return false;
	atomic_fetch_add(&m->c->space_seq, 1);
	if (atomic_load(&m->c->space_waiters) > 0)
		futex_wake(&m->c->space_seq, INT_MAX);
	return true;
}

static void
mp_wait(struct mp_master *m, uint32_t seen)
{
	long rc = futex_wait(&m->c->master_seq, seen, 2000);

	if (rc != 0 && errno == ETIMEDOUT)
		m->timeouts++;
	ck_assert_msg(now_s() < m->deadline, "master: out of time (fan-out at %llu, head %llu)",
	    (unsigned long long)atomic_load(&m->r->hdr->fanout),
	    (unsigned long long)atomic_load(&m->r->hdr->head));
}

/* a full inbox: let its reader drain it (remote) or drain it (local) */
static void
mp_make_room(struct mp_master *m, uint32_t s)
{
	while (ring_inbox_room(m->r, s) == 0) {
		uint32_t seen = atomic_load(&m->c->master_seq);

		if (m->local) {
			mp_local_drain(m, s);
			continue;
		}
		ring_drain_notify_request(m->r, s);
		if (ring_inbox_room(m->r, s) > 0)
			break;
		mp_wait(m, seen);
	}
}

static void
mp_master_run(struct mp_master *m)
{
	struct ring *r = m->r;
	const struct ring_rec *rec;
	uint64_t pos;
	int rc;

	for (;;) {
		uint32_t seen = atomic_load(&m->c->master_seq), moved = 0;

		ring_doorbell_clear(r);
		while ((rc = ring_fanout_peek(r, &rec, &pos)) == 1) {
			for (uint32_t s = 0; s < MP_RD; s++)
				mp_make_room(m, s);
			for (uint32_t s = 0; s < MP_RD; s++)
				if (ring_inbox_push(r, s, pos)) {
					ck_assert(!m->local);
					m->wakes[s]++;
					futex_wake(&r->slots[s].sleeping, 1);
				}
			ring_fanout_advance(r);
			if (++moved % 256 == 0)
				mp_reclaim(m);
		}
		ck_assert_msg(rc == 0 || rc == -EINPROGRESS, "fan-out: %d", rc);
		if (m->local)
			for (uint32_t s = 0; s < MP_RD; s++)
				mp_local_drain(m, s);
		if (mp_reclaim(m) || moved > 0)
			continue;
		if (atomic_load(&m->c->done) == MP_PUB && ring_fanout_peek(r, &rec, &pos) == 0)
			break;
		if (atomic_load(&m->c->space_waiters) > 0) {
			/* publishers wait for space: who holds the tail? */
			for (uint32_t s = 0; s < MP_RD; s++)
				if (ring_inbox_peek_at(r, s, 0) != NULL)
					ring_drain_notify_request(r, s);
			if (mp_reclaim(m))
				continue;
		}
		mp_wait(m, seen);
	}
}

static void
many_publishers(bool local_readers)
{
	const uint32_t n = slow_mode() ? 4000 : 20000;
	const uint64_t total = (uint64_t)MP_PUB * n;
	struct rfix f;
	struct ring *r = &f.r;
	struct mp_ctl *c = shared_block(sizeof *c);
	struct mp_master *m = calloc(1, sizeof *m);
	struct mp_arg pa[MP_PUB], ra[MP_RD];
	pid_t pubs[MP_PUB], rds[MP_RD];
	double deadline = now_s() + (slow_mode() ? 900 : 60);

	ck_assert_ptr_nonnull(m);
	rfix_open(&f, MP_RD + MP_PUB, local_readers ? 512 : 256, 256 * 1024);
	*m = (struct mp_master){ .r = r, .c = c, .local = local_readers, .n = n,
	    .deadline = deadline };
	if (!local_readers)
		for (uint32_t s = 0; s < MP_RD; s++) {
			ra[s] = (struct mp_arg){ r, c, s, n, deadline };
			rds[s] = spawn(mp_reader, &ra[s]);
		}
	for (uint32_t i = 0; i < MP_PUB; i++) {
		pa[i] = (struct mp_arg){ r, c, i, n, deadline };
		pubs[i] = spawn(mp_publisher, &pa[i]);
	}

	mp_master_run(m);

	for (uint32_t i = 0; i < MP_PUB; i++)
		reap_ok(pubs[i], "publisher");
	ck_assert_uint_eq(r->hdr->published, total);
	if (local_readers) {
		for (uint32_t s = 0; s < MP_RD; s++)
			for (uint32_t i = 0; i < MP_PUB; i++)
				ck_assert_msg(m->next[s][i] == n,
				    "reader %u got %u of %u records from publisher %u",
				    s, m->next[s][i], n, i);
	} else {
		for (uint32_t s = 0; s < MP_RD; s++) {
			int st = reap(rds[s]);

			ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			    "reader %u: status %#x: %s", s, st, c->why[s]);
			ck_assert_uint_eq(atomic_load(&c->rd_lost_wake[s]), 0);
			/* every wake the master sent ended at most one sleep */
			ck_assert_uint_le(atomic_load(&c->rd_woken[s]), m->wakes[s]);
			ck_assert_uint_le(atomic_load(&c->rd_woken[s]),
			    atomic_load(&c->rd_sleeps[s]));
			ck_assert_ptr_null(ring_inbox_peek_at(r, s, 0));
		}
	}
	ck_assert_msg(m->timeouts == 0, "master waited out %u timeouts: a rang or "
	    "drain notification was lost", m->timeouts);
	ck_assert_int_eq(ring_fanout_peek(r, &(const struct ring_rec *){ NULL },
	    &(uint64_t){ 0 }), 0);
	ck_assert_uint_eq(ring_reclaim(r, mp_live, MP_RD), atomic_load(&r->hdr->head));
	if (getenv("CHECK_RING_VERBOSE")) {
		fprintf(stderr, "%s readers: %llu records, ring wrapped %llu times, "
		    "%u EAGAIN", local_readers ? "local" : "forked",
		    (unsigned long long)total,
		    (unsigned long long)(atomic_load(&r->hdr->head) / r->cap),
		    atomic_load(&c->pub_eagain));
		for (uint32_t s = 0; !local_readers && s < MP_RD; s++)
			fprintf(stderr, ", reader %u slept %u woken %u (%llu wakes)", s,
			    atomic_load(&c->rd_sleeps[s]), atomic_load(&c->rd_woken[s]),
			    (unsigned long long)m->wakes[s]);
		fprintf(stderr, "\n");
	}
	free(m);
	munmap(c, sizeof *c);
	rfix_close(&f);
}

START_TEST(many_publishers_master_reads)
{
	many_publishers(true);
}
END_TEST

START_TEST(many_publishers_forked_readers)
{
	many_publishers(false);
}
END_TEST

/* ----------------------------------------------------------------- suite */

static Suite *
ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("single");
	TCase *tp = tcase_create("processes");

	tcase_add_test(tc, segment_and_init);
	tcase_add_test(tc, publish_sizes);
	tcase_add_test(tc, master_publish_leaves_doorbell);
	tcase_add_test(tc, single_publisher_order);
	tcase_add_test(tc, wraparound);
	tcase_add_test(tc, slow_reader_holds_tail);
	tcase_add_test(tc, pad_never_overruns_tail);
	tcase_add_test(tc, dead_reader_releases_tail);
	tcase_add_test(tc, inbox_fifo_and_room);
	tcase_add_test(tc, inbox_sleep_wake);
	suite_add_tcase(s, tc);

	/* timeouts are a bound only: each of these takes about a second */
	tcase_set_timeout(tp, 60);
	tcase_add_checked_fixture(tp, NULL, kill_children);
	tcase_add_test(tp, dead_lock_holder);
	tcase_add_test(tp, dead_publisher_reserved);
	tcase_add_test(tp, publisher_killed_at_random);
	tcase_add_test(tp, many_publishers_master_reads);
	tcase_add_test(tp, many_publishers_forked_readers);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	return unit_run(ring_suite());
}
