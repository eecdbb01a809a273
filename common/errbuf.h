/*
 * errbuf: the (char *err, size_t errlen) buffer in which a function that
 * may fail says why, for its caller to log or show. A zero-length buffer
 * is never written.
 */
#ifndef SHMCHAT_ERRBUF_H
#define SHMCHAT_ERRBUF_H

#include <stddef.h>

/* the message, replacing what err held */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* the message after what err holds, "; " between them; cut to fit */
void errbuf_add(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
