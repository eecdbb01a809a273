/*
 * procmon: the server's CPU time and memory from /proc, see procmon.h.
 */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procmon.h"

struct pinfo {
	pid_t pid, ppid;
	unsigned long long cticks;	/* cutime + cstime */
	unsigned long threads;
	bool in_tree;
	bool has_child;		/* some process of the tree has it as parent */
};

/* read a small /proc file whole; -1 if it cannot be read */
static ssize_t
read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -1;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* parse /proc/<pid>/stat: fields after the last ')' (the command name may
 * hold anything); field 4 is the ppid, 14-17 utime stime cutime cstime */
static bool
parse_stat(const char *s, struct pinfo *p)
{
	const char *q = strrchr(s, ')');
	unsigned long long f[21] = { 0 };
	int field = 3;

	if (q == NULL)
		return false;
	q++;
	while (*q == ' ')
		q++;
	/* field 3: state, a single character */
	if (*q == '\0')
		return false;
	q++;
	while (field < 20) {
		char *end;

		while (*q == ' ')
			q++;
		field++;
		errno = 0;
		f[field] = strtoull(q, &end, 10);
		if (end == q || errno != 0) {
			/* tty_nr and friends are never negative here, but
			 * tolerate a '-' sign by skipping the field */
			if (*q == '-') {
				f[field] = 0;
				while (*q != ' ' && *q != '\0')
					q++;
				continue;
			}
			return false;
		}
		q = end;
	}
	p->ppid = (pid_t)f[4];
	p->cticks = f[16] + f[17];
	p->threads = f[20];
	return true;
}

/* every process on the machine with its parent and CPU ticks; the caller
 * frees *out */
static int
scan_procs(struct pinfo **out, size_t *nout)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct pinfo *v = NULL;
	size_t n = 0, cap = 0;
	char path[64], buf[1024];

	if (d == NULL)
		return -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct pinfo p = { 0 };

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		p.pid = (pid_t)atol(de->d_name);
		snprintf(path, sizeof path, "/proc/%d/stat", (int)p.pid);
		if (read_small(path, buf, sizeof buf) < 0)
			continue;	/* exited meanwhile */
		if (!parse_stat(buf, &p))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct pinfo *nv = realloc(v, ncap * sizeof *nv);

			if (nv == NULL) {
				free(v);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = p;
	}
	if (errno != 0) {
		int e = errno;

		free(v);
		closedir(d);
		errno = e;
		return -1;
	}
	closedir(d);
	*out = v;
	*nout = n;
	return 0;
}

static int
cmp_pid(const void *a, const void *b)
{
	const struct pinfo *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct pinfo *
find_pid(struct pinfo *v, size_t n, pid_t pid)
{
	struct pinfo key = { .pid = pid };

	return bsearch(&key, v, n, sizeof *v, cmp_pid);
}

/* mark the tree under root; returns the root's entry or NULL */
static struct pinfo *
mark_tree(struct pinfo *v, size_t n, pid_t root)
{
	struct pinfo *r;
	bool changed = true;

	qsort(v, n, sizeof *v, cmp_pid);
	r = find_pid(v, n, root);
	if (r == NULL)
		return NULL;
	r->in_tree = true;
	/* one pass per level of the tree (two for shmchatd) */
	while (changed) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			struct pinfo *par;

			if (v[i].in_tree || v[i].ppid <= 0)
				continue;
			par = find_pid(v, n, v[i].ppid);
			if (par != NULL && par->in_tree) {
				v[i].in_tree = true;
				changed = true;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].in_tree && v[i].pid != root) {
			struct pinfo *par = find_pid(v, n, v[i].ppid);

			if (par != NULL)
				par->has_child = true;
		}
	return r;
}

int
procmon_host(struct host_cpu *out)
{
	char buf[4096];
	unsigned long long v[5] = { 0 };
	long hz = sysconf(_SC_CLK_TCK), n = sysconf(_SC_NPROCESSORS_ONLN);
	struct timespec ts;

	memset(out, 0, sizeof *out);
	if (hz <= 0)
		hz = 100;
	if (read_small("/proc/stat", buf, sizeof buf) < 0)
		return -1;
	/* cpu user nice system idle iowait ...: idle time is measured, not
	 * sampled, on a tickless kernel; busy time is ticks, so undercounted */
	if (sscanf(buf, "cpu %llu %llu %llu %llu %llu",
	    &v[0], &v[1], &v[2], &v[3], &v[4]) != 5) {
		errno = EINVAL;
		return -1;
	}
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return -1;
	out->idle_s = (double)(v[3] + v[4]) / (double)hz;
	out->wall_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	out->ncpu = n > 0 ? (unsigned)n : 1;
	return 0;
}

double
procmon_host_busy(const struct host_cpu *a, const struct host_cpu *b)
{
	double busy = (b->wall_s - a->wall_s) * b->ncpu - (b->idle_s - a->idle_s);

	return busy > 0 ? busy : 0;
}

/* run time in seconds of every thread of pid (pid 0: this process) */
static double
run_time(pid_t pid, unsigned long threads)
{
	char path[96], buf[256];
	unsigned long long ns;
	double sum = 0;

	if (threads <= 1) {
		if (pid == 0)
			snprintf(path, sizeof path, "/proc/self/schedstat");
		else
			snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
		if (read_small(path, buf, sizeof buf) < 0 ||
		    sscanf(buf, "%llu", &ns) != 1)
			return 0;
		return (double)ns / 1e9;
	}
	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/task");
	else
		snprintf(path, sizeof path, "/proc/%d/task", (int)pid);

	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char tpath[sizeof path + sizeof de->d_name + 16];

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(tpath, sizeof tpath, "%s/%s/schedstat", path, de->d_name);
		if (read_small(tpath, buf, sizeof buf) >= 0 &&
		    sscanf(buf, "%llu", &ns) == 1)
			sum += (double)ns / 1e9;
	}
	closedir(d);
	return sum;
}

double
procmon_self_cpu(void)
{
	return run_time(0, 2);
}

int
procmon_cpu(pid_t root, struct proc_cpu *out)
{
	struct pinfo *v, *r;
	size_t n;
	double sum = 0;
	long hz = sysconf(_SC_CLK_TCK);

	memset(out, 0, sizeof *out);
	if (hz <= 0)
		hz = 100;
	if (scan_procs(&v, &n) < 0)
		return -1;
	r = mark_tree(v, n, root);
	if (r == NULL) {
		free(v);
		errno = ESRCH;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].in_tree) {
			/* and the children it reaped: a fork server's workers that
			 * ended during the run (from ticks: a lower bound) */
			sum += (double)v[i].cticks / (double)hz;
			sum += run_time(v[i].pid, v[i].threads);
			out->nproc++;
		} else if (v[i].ppid == 2 || v[i].pid == 2) {
			out->kthread_s += run_time(v[i].pid, 1);
		}
	}
	free(v);
	out->cpu_s = sum;
	return 0;
}

/* Rss, Pss and Private_* of one process, in kB; false if unreadable */
static bool
read_rollup(pid_t pid, uint64_t *rss, uint64_t *pss, uint64_t *priv)
{
	char path[64], buf[4096];
	const char *line;

	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	if (read_small(path, buf, sizeof buf) < 0)
		return false;
	*rss = *pss = *priv = 0;
	for (line = buf; line != NULL && *line != '\0'; ) {
		const char *nl = strchr(line, '\n');
		unsigned long long kb;

		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			*rss = kb;
		else if (sscanf(line, "Pss: %llu kB", &kb) == 1)
			*pss = kb;
		else if (strncmp(line, "Private_", 8) == 0) {
			const char *colon = strchr(line, ':');

			if (colon != NULL && (nl == NULL || colon < nl) &&
			    sscanf(colon + 1, " %llu kB", &kb) == 1)
				*priv += kb;
		}
		line = nl ? nl + 1 : NULL;
	}
	return true;
}

int
procmon_mem(pid_t root, struct proc_mem *out)
{
	struct pinfo *v, *r;
	size_t n;

	memset(out, 0, sizeof *out);
	if (scan_procs(&v, &n) < 0)
		return -1;
	r = mark_tree(v, n, root);
	if (r == NULL || !read_rollup(root, &out->root_rss_kb,
	    &out->root_pss_kb, &out->root_priv_kb)) {
		free(v);
		errno = ESRCH;
		return -1;
	}
	out->nproc = 1;
	out->total_pss_kb = out->root_pss_kb;
	for (size_t i = 0; i < n; i++) {
		uint64_t rss, pss, priv;

		if (!v[i].in_tree || v[i].pid == root)
			continue;
		if (!read_rollup(v[i].pid, &rss, &pss, &priv))
			continue;	/* exited meanwhile */
		out->nproc++;
		out->total_pss_kb += pss;
		if (v[i].has_child) {
			out->nhelper++;
			out->helper_pss_kb += pss;
			continue;
		}
		out->nchild++;
		out->child_pss_sum_kb += pss;
		out->child_rss_sum_kb += rss;
		out->child_priv_sum_kb += priv;
		if (pss > out->child_pss_max_kb)
			out->child_pss_max_kb = pss;
	}
	free(v);
	return 0;
}
