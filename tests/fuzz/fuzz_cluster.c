/*
 * libFuzzer harness for the network log's entries: another node of a
 * cluster (or anything with write access to the Redis stream) can put any
 * field/value strings there, and cluster_entry_decode() must refuse what
 * is malformed without reading outside them. Built and run by
 * tests/fuzz/run.sh (make fuzz).
 *
 * The input is cut into strings at each 0xff byte (a string may hold any
 * other byte, NUL included), each copied into a buffer of its exact
 * length. Checks: an entry that decodes encodes again, and that decodes
 * to the same entry.
 */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_entry.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_cluster: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#define NSTR	80

static int same(struct cluster_str a, struct cluster_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_str fv[NSTR], again[CLUSTER_ENTRY_ARGV];
	char *copies[NSTR];
	struct cluster_entry e, d;
	struct cluster_argv a = { .argc = 0 };
	const char *why = NULL;
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= size && n < NSTR; i++) {
		if (i < size && data[i] != 0xff)
			continue;
		size_t len = i - start;
		copies[n] = malloc(len ? len : 1);
		CHECK(copies[n] != NULL);
		memcpy(copies[n], data + start, len);
		fv[n] = (struct cluster_str){ copies[n], len };
		n++;
		start = i + 1;
	}
	if (cluster_entry_decode(&e, fv, n, &why) == 0) {
		CHECK(cluster_entry_encode(&e, &a) == 0);
		for (int i = 0; i < a.argc; i++)
			again[i] = (struct cluster_str){ a.argv[i], a.len[i] };
		CHECK(cluster_entry_decode(&d, again, (size_t)a.argc, &why) == 0);
		CHECK(d.kind == e.kind && d.inc == e.inc && d.seq == e.seq && d.time == e.time);
		CHECK(d.slot == e.slot && d.gen == e.gen && same(d.node, e.node));
		CHECK(d.nargs == e.nargs && same(d.payload, e.payload) && same(d.target, e.target));
		for (int i = 0; i < e.nargs; i++)
			CHECK(same(d.args[i], e.args[i]));
	} else
		CHECK(why != NULL);
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
	return 0;
}
