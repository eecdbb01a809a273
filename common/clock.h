/*
 * clock: CLOCK_MONOTONIC, the clock of timeouts and deadlines (it never
 * jumps when someone sets the date), in milliseconds or in seconds since
 * an arbitrary start (roughly the boot: never 0 in practice); and the
 * wall clock for the time stamped on messages.
 */
#ifndef SHMCHAT_CLOCK_H
#define SHMCHAT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Seconds, for timeouts counted in seconds: the coarse clock (the last
 * tick) is read from the vDSO without touching the clock source, which
 * costs a worker a few per cent of its wake-up on a virtual machine.
 */
static inline time_t
clock_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/* the wall clock in milliseconds since the epoch: the time of a message
 * (IRCv3 server-time), never a deadline */
static inline int64_t
clock_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
