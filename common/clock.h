/* clock: the monotonic clock, in the units the code keeps time in */
#ifndef SHMCHAT_CLOCK_H
#define SHMCHAT_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC milliseconds */
static inline uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* CLOCK_MONOTONIC seconds */
static inline time_t
clock_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

#endif
