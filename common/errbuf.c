/* errbuf: formatting into a caller's error buffer (see errbuf.h) */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

void
errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
errbuf_add(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (errlen == 0)
		return;
	used = strnlen(err, errlen);
	if (used >= errlen - 1)
		return;
	if (used > 0) {
		snprintf(err + used, errlen - used, "; ");
		used = strnlen(err, errlen);
	}
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}
