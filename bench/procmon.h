/*
 * procmon: CPU time and memory of a server process and all its
 * descendants, read from /proc.
 *
 * The process tree is found by scanning /proc/<pid>/stat for parent pids
 * (this kernel may lack /proc/<pid>/task/<tid>/children). CPU time is the
 * run time of every live process of the tree from /proc/<pid>/schedstat
 * (nanoseconds, every thread), plus the cutime+cstime of each of them for
 * the children it reaped (the root's, and a fork server's workers that
 * ended during the run). utime and stime are not used for live processes:
 * they are sampled at timer ticks, and processes that run in bursts of
 * microseconds between ticks, as workers do, show a fraction of their
 * real CPU time there (a fifth, measured on this project's machine). Memory comes from
 * /proc/<pid>/smaps_rollup: the proportional set size (PSS) divides every
 * shared page among the processes that map it, so the PSS of all the
 * processes of a tree adds up to the memory the tree really uses.
 */
#ifndef SHMBENCH_PROCMON_H
#define SHMBENCH_PROCMON_H

#include <stdint.h>
#include <sys/types.h>

struct proc_cpu {
	double cpu_s;		/* user + system seconds, the whole tree */
	unsigned nproc;		/* live processes in the tree, root included */
	double kthread_s;	/* all kernel threads (ksoftirqd, kworkers...):
				 * much of it is network work for this tree */
};

/* Descendants without children of their own are the workers; those with
 * children (a fork server between the master and the workers) are helpers. */
struct proc_mem {
	unsigned nproc;		/* processes read, root included */
	uint64_t root_pss_kb, root_rss_kb, root_priv_kb;
	unsigned nchild;	/* workers read */
	uint64_t child_pss_sum_kb, child_pss_max_kb;
	uint64_t child_priv_sum_kb, child_rss_sum_kb;
	unsigned nhelper;	/* helpers read */
	uint64_t helper_pss_kb;
	uint64_t total_pss_kb;	/* root + helpers + workers */
};

/* the whole machine from /proc/stat: busy and total CPU seconds (all
 * CPUs added), to see how much of it went to neither the server nor the
 * load generator (other work on the machine disturbs a benchmark) */
struct host_cpu {
	double idle_s;		/* idle + iowait, all CPUs (precise with NO_HZ) */
	double wall_s;		/* CLOCK_BOOTTIME when read */
	unsigned ncpu;
};

/* CPU seconds the machine was busy between two host snapshots */
double procmon_host_busy(const struct host_cpu *a, const struct host_cpu *b);
/* the calling process's own CPU seconds (schedstat, every thread) */
double procmon_self_cpu(void);

/* 0 on success, -1 with errno set (ESRCH: no such root process) */
int procmon_host(struct host_cpu *out);
int procmon_cpu(pid_t root, struct proc_cpu *out);
int procmon_mem(pid_t root, struct proc_mem *out);

#endif
