/*
 * passwd: operator passwords as crypt(3) hashes (libxcrypt): checking a
 * password against a hash, making a hash, and `shmchatd --hash-password`.
 * Only the master links libcrypt: nothing a worker runs refers to this
 * file (the master hands passwd_check to the command layer, dirsvc.h).
 */
#ifndef SHMCHAT_PASSWD_H
#define SHMCHAT_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

/* longest password taken (libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE is 512) */
#define PASSWD_MAX	256

/*
 * Does password match hash? The hash is run with the hash's own method
 * and salt, and the results are compared in constant time. false too
 * when the hash is unusable (unknown method, disabled in libcrypt).
 */
bool passwd_check(const char *password, const char *hash);
/*
 * Hash password with a fresh random salt and the best method libcrypt
 * offers: yescrypt ("$y$"), else sha512-crypt ("$6$"), default cost.
 * 0, or -errno (EINVAL: no method available; ERANGE: out too small).
 */
int passwd_hash(const char *password, char *out, size_t cap);
/*
 * `shmchatd --hash-password`: read a password from the terminal without
 * echo, twice, or one line from stdin when it is not a terminal; print
 * its hash on stdout. Returns the exit status.
 */
int passwd_hash_main(void);

#endif
