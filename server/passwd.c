/* passwd: crypt(3) password hashes, checked and made; --hash-password */
#include <config.h>

#include <crypt.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "passwd.h"

/* the methods passwd_hash() tries, best first */
static const char *const passwd_methods[] = { "$y$", "$6$" };

/* equal strings, in time that depends on their lengths only */
static bool
passwd_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

bool
passwd_check(const char *password, const char *hash)
{
	/* 32 kB: the heap, not the master's stack */
	struct crypt_data *cd = calloc(1, sizeof *cd);
	const char *out;
	bool ok;

	if (cd == NULL) {
		log_warnx("password check: out of memory");
		return false;
	}
	errno = 0;
	out = crypt_rn(password, hash, cd, sizeof *cd);
	/* the configured hash is unusable (a method this libcrypt lacks), or
	 * memory ran out: the operator's fault is not the client's, say so */
	if (out == NULL || out[0] == '*')
		log_warnx("password check: crypt failed (%s); is the hash of a method "
		    "this libcrypt supports?", errno != 0 ? strerror(errno) : "no result");
	/* a failure token ("*0") can never equal a configured hash */
	ok = out != NULL && out[0] != '*' && passwd_equal(out, hash);
	explicit_bzero(cd, sizeof *cd);	/* holds what the password was turned into */
	free(cd);
	return ok;
}

int
passwd_hash(const char *password, char *out, size_t cap)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h = NULL;
	int rc = -EINVAL;

	if ((cd = calloc(1, sizeof *cd)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof passwd_methods / sizeof *passwd_methods; i++) {
		/* count 0: the method's default cost; NULL: random bytes from the OS */
		if (crypt_gensalt_rn(passwd_methods[i], 0, NULL, 0, salt, sizeof salt) == NULL)
			continue;
		h = crypt_rn(password, salt, cd, sizeof *cd);
		if (h != NULL && h[0] != '*')
			break;
		h = NULL;
	}
	if (h != NULL) {
		rc = strlen(h) < cap ? 0 : -ERANGE;
		if (rc == 0)
			memcpy(out, h, strlen(h) + 1);
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return rc;
}

/* ------------------------------------------------------- --hash-password */

static volatile sig_atomic_t passwd_interrupted;

static void
passwd_on_signal(int sig)
{
	passwd_interrupted = sig;
}

/*
 * One line from fd into buf (no newline): 0, -EMSGSIZE (longer than
 * cap - 1; the rest of the line is read and dropped), -ENODATA (EOF
 * before anything), -EINTR (a signal), -errno.
 */
static int
passwd_read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	bool any = false, over = false;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0) {
			if (errno == EINTR && !passwd_interrupted)
				continue;
			return -errno;
		}
		if (r == 0) {
			if (!any)
				return -ENODATA;
			break;
		}
		any = true;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
		else
			over = true;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return over ? -EMSGSIZE : 0;
}

/* prompt on stderr, read a line from the terminal without echo */
static int
passwd_prompt(const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -errno;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* echo off before the prompt: what is typed after it never shows */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return -errno;
	fputs(prompt, stderr);
	fflush(stderr);
	rc = passwd_read_line(STDIN_FILENO, buf, cap);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &old) < 0 && rc == 0)
		rc = -errno;
	if (rc == -EINTR)
		fputc('\n', stderr);	/* the prompt's line was left open */
	return rc;
}

int
passwd_hash_main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = passwd_on_signal };	/* no SA_RESTART */
	char pw[PASSWD_MAX + 1], again[PASSWD_MAX + 1], hash[CRYPT_OUTPUT_SIZE];
	bool tty = isatty(STDIN_FILENO);
	int rc, status = EX_DATAERR;

	/* Ctrl-C at the prompt must not leave the terminal without echo */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			fprintf(stderr, "shmchatd: sigaction: %s\n", strerror(errno));
			return EX_OSERR;
		}
	rc = tty ? passwd_prompt("Password: ", pw, sizeof pw) :
	    passwd_read_line(STDIN_FILENO, pw, sizeof pw);
	if (rc == 0 && tty) {
		rc = passwd_prompt("Again: ", again, sizeof again);
		if (rc == 0 && strcmp(pw, again) != 0) {
			fprintf(stderr, "shmchatd: the passwords differ\n");
			goto out;
		}
	}
	if (rc == -EINTR) {
		status = 128 + passwd_interrupted;
		goto out;
	}
	if (rc == -EMSGSIZE || rc == -ENODATA) {
		if (rc == -ENODATA)
			fprintf(stderr, "shmchatd: no password given\n");
		else
			fprintf(stderr, "shmchatd: password longer than %d bytes\n", PASSWD_MAX);
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "shmchatd: reading the password: %s\n", strerror(-rc));
		status = EX_IOERR;
		goto out;
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "shmchatd: empty password refused\n");
		goto out;
	}
	if ((rc = passwd_hash(pw, hash, sizeof hash)) < 0) {
		fprintf(stderr, "shmchatd: hashing the password: %s\n",
		    rc == -EINVAL ? "libcrypt offers neither yescrypt nor sha512-crypt" :
		    strerror(-rc));
		status = EX_SOFTWARE;
		goto out;
	}
	printf("%s\n", hash);
	status = fflush(stdout) == 0 ? 0 : EX_IOERR;
	if (status != 0)
		fprintf(stderr, "shmchatd: writing the hash: %s\n", strerror(errno));
out:
	explicit_bzero(pw, sizeof pw);
	explicit_bzero(again, sizeof again);
	return status;
}
