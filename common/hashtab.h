/*
 * hashtab: uthash >= 2.1 (Debian uthash-dev, header only), set up once
 * for the whole tree. Include this, never <uthash.h> directly: the
 * settings must come before uthash's first inclusion in a translation unit.
 *
 * uthash exits the process when malloc fails by default; a server must
 * refuse the one request instead. With HASH_NONFATAL_OOM an add that
 * cannot allocate leaves the table as it was, so callers compare
 * HASH_COUNT() before and after an add to see whether it happened.
 */
#ifndef SHMCHAT_HASHTAB_H
#define SHMCHAT_HASHTAB_H

#ifdef UTHASH_H
#error "hashtab.h must be included before <uthash.h>"
#endif

#define HASH_NONFATAL_OOM 1

#include <uthash.h>

#endif
