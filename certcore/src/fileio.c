/* Atomic file writes and bounded reads (the store's crash-safety rests on these). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "internal.h"

void (*cc_store_fault_hook)(const char *step);

char *
cc_aprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static enum cc_err
fsync_dir_of(const char *path)
{
	char *dir = NULL, *slash;
	int fd = -1;
	enum cc_err r = CC_ERR_IO;

	if ((slash = strrchr(path, '/')) == NULL)
		dir = strdup(".");
	else
		dir = strdup(path);
	if (dir == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "copying a path");
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		;
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "open %s", dir);
		goto out;
	}
	if (fsync(fd) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "fsync %s", dir);
		goto out;
	}
	r = CC_OK;
out:
	if (fd != -1)
		close(fd);
	free(dir);
	return r;
}

enum cc_err
cc_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL, *base;
	const unsigned char *p = data;
	unsigned char rnd[6];
	int fd = -1;
	size_t off = 0, want;
	ssize_t n;
	enum cc_err r = CC_ERR_IO;
	const char *slash;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "random temporary name");
		goto out;
	}
	/* ".NAME.tmp.XXXX" in the same directory, so rename() is atomic; loaders skip dot files. */
	slash = strrchr(path, '/');
	base = (char *)(slash ? slash + 1 : path);
	tmp = cc_aprintf("%.*s.%s.tmp.%02x%02x%02x%02x%02x%02x", (int)(base - path), path, base,
	                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if (tmp == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "temporary name");
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "create %s", tmp);
		goto out;
	}
	/* The umask may have narrowed it; make it exactly what was asked. */
	if (fchmod(fd, mode) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "chmod %s", tmp);
		goto out;
	}
	while (off < len) {
		want = len - off;
		/*
		 * With a fault hook set (tests only), write in two halves so "partial-write" is
		 * reached: a file takes a small write whole, and the step would never run.
		 */
		if (cc_store_fault_hook != NULL && off == 0 && len > 1)
			want = len / 2;
		n = write(fd, p + off, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = cc_seterr_errno(CC_ERR_IO, "write %s", tmp);
			goto out;
		}
		off += (size_t)n;
		if (cc_store_fault_hook != NULL && off < len)
			cc_store_fault_hook("partial-write");
	}
	if (fsync(fd) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "fsync %s", tmp);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		r = cc_seterr_errno(CC_ERR_IO, "close %s", tmp);
		goto out;
	}
	fd = -1;
	if (cc_store_fault_hook != NULL)
		cc_store_fault_hook("before-rename");
	if (rename(tmp, path) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "rename %s to %s", tmp, path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	r = fsync_dir_of(path);
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return r;
}

enum cc_err
cc_file_read(const char *path, size_t max, unsigned char **buf, size_t *len, mode_t *mode_out)
{
	unsigned char *b = NULL;
	struct stat st;
	int fd = -1;
	size_t off = 0, size = 0;
	ssize_t n;
	enum cc_err r = CC_ERR_IO;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO planted where a file is expected must not hang the reader. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1) {
		r = cc_seterr_errno(errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO, "open %s",
		                    path);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = cc_seterr(CC_ERR_IO, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		r = cc_seterr(CC_ERR_PARSE, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	size = (size_t)st.st_size;
	if ((b = malloc(size + 1)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "reading %s", path);
		goto out;
	}
	while (off < size) {
		n = read(fd, b + off, size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = cc_seterr_errno(CC_ERR_IO, "read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	b[off] = '\0';
	if (mode_out != NULL)
		*mode_out = st.st_mode;
	*buf = b;
	*len = off;
	b = NULL;
	r = CC_OK;
out:
	if (fd != -1)
		close(fd);
	if (b != NULL) {
		OPENSSL_cleanse(b, size + 1);
		free(b);
	}
	return r;
}

enum cc_err
cc_file_remove(const char *path)
{
	if (unlink(path) == -1) {
		if (errno == ENOENT)
			return CC_OK;
		return cc_seterr_errno(CC_ERR_IO, "remove %s", path);
	}
	return fsync_dir_of(path);
}

enum cc_err
cc_key_write_pem(const char *path, EVP_PKEY *key)
{
	BIO *b = NULL;
	BUF_MEM *m = NULL;
	enum cc_err r = CC_ERR_CRYPTO;

	/* Secure-heap memory BIO: the PEM text of the key is wiped when the BIO is freed. */
	if ((b = BIO_new(BIO_s_secmem())) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new");
		goto out;
	}
	/*
	 * Unencrypted PKCS#8: daemons must read it unattended (DESIGN.md), and a pending
	 * request's key moves to keys/ unchanged when the request completes.
	 */
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the private key");
		goto out;
	}
	BIO_get_mem_ptr(b, &m);
	r = cc_file_write_atomic(path, m->data, m->length, 0600);
	OPENSSL_cleanse(m->data, m->length);
out:
	BIO_free(b);
	return r;
}
