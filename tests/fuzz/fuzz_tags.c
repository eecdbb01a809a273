/*
 * libFuzzer harness for IRCv3 input: a client's tag section (irctags.h)
 * and a CAP REQ list (cap.h). Built and run by tests/fuzz/run.sh (make fuzz).
 *
 * Besides memory safety (ASan/UBSan) it checks what the server relies on:
 * - every tag irctags_next() hands out lies inside the input, and its key
 *   holds neither '=' nor ';';
 * - irctags_client_only() keeps only valid client-only keys, and what it
 *   makes can never break the line it goes into (no space, CR, LF, NUL);
 * - unescape, escape, unescape gives the first unescape's bytes again;
 * - a time irctags_time_parse() accepts formats back to the same time;
 * - cap_req() never turns on what was not offered, nor sts.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "irctags.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_tags: check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[2 * 8192 + 16], b[4 * 8192 + 16], c[2 * 8192 + 16];
	const char *in = (const char *)data, *p = in, *end = in + size;
	struct irctag t;
	int n, m, k;

	if (size > 8192)
		return 0;
	while (irctags_next(&p, end, &t)) {
		CHECK(t.key >= in && t.key + t.key_len <= end);
		CHECK(t.val >= in && t.val + t.val_len <= end);
		CHECK(memchr(t.key, '=', t.key_len) == NULL && memchr(t.key, ';', t.key_len) == NULL);
	}
	if ((n = irctags_client_only(a, sizeof a, in, size)) >= 0) {
		CHECK((size_t)n <= size && strlen(a) == (size_t)n);
		for (int i = 0; i < n; i++)
			CHECK(a[i] != ' ' && a[i] != '\r' && a[i] != '\n' && a[i] != '\0');
		p = a;
		while (irctags_next(&p, a + n, &t))
			CHECK(t.key[0] == '+' && irctags_key_valid(t.key, t.key_len));
	}
	if ((n = irctags_unescape(a, sizeof a, in, size)) >= 0 &&
	    (m = irctags_escape(b, sizeof b, a, (size_t)n)) >= 0) {
		CHECK(memchr(b, ' ', (size_t)m) == NULL && memchr(b, ';', (size_t)m) == NULL);
		k = irctags_unescape(c, sizeof c, b, (size_t)m);
		CHECK(k == n && memcmp(a, c, (size_t)n) == 0);
	}
	int64_t ms, ms2;
	if (irctags_time_parse(in, size, &ms) && ms >= 0 && ms < 253402300800000LL) {
		char when[IRCTAGS_TIME_LEN + 1];
		irctags_time_fmt(when, ms);
		CHECK(irctags_time_parse(when, IRCTAGS_TIME_LEN, &ms2) && ms2 == ms);
	}
	(void)irctags_msgid_ms(in, size, &ms);
	memcpy(a, in, size);
	a[size] = '\0';
	uint32_t offered = (uint32_t)size * 2654435761u & (CAP_ALWAYS | CAP_STS), out;
	if (memchr(a, '\0', size) == NULL && cap_req(a, offered, 0, &out))
		CHECK((out & ~offered) == 0 && !(out & CAP_STS));
	return 0;
}
