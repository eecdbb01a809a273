/*
 * json: untrusted text as a JSON string (RFC 8259), for the client's
 * --json events and shmchatctl --json. The result is valid UTF-8 whatever
 * the input: each byte of invalid UTF-8 becomes \ufffd; quote, backslash,
 * the C0 controls and DEL are escaped (\b \f \n \r \t, else \u00XX).
 */
#ifndef SHMCHAT_JSON_H
#define SHMCHAT_JSON_H

#include <stddef.h>

#include "buf.h"

/*
 * Escape the start of s[0..len) into out[0..cap), without quotes: as many
 * whole characters as fit, and any one fits in 6 bytes. Returns the bytes
 * of s done; *outlen gets the bytes written. No allocation, for writers
 * with a fixed buffer.
 */
size_t json_escape(char *out, size_t cap, size_t *outlen, const char *s, size_t len);
/* append s[0..len) as a JSON string, quotes included; 0 or -ENOMEM */
int json_string(struct buf *b, const char *s, size_t len);

#endif
