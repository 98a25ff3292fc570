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
#include <openssl/err.h>
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

/*
 * "DIR/NAME" as messages show a file of a directory; `dir` NULL: NAME alone. Truncated to the
 * buffer, which is as long as a detail.
 */
static const char *
shown(char buf[1024], const char *dir, const char *name)
{
	snprintf(buf, 1024, "%s%s%s", dir != NULL ? dir : "", dir != NULL ? "/" : "", name);
	return buf;
}

/* A file of a directory is one path component: never "", ".", "..", nor anything with '/'. */
static enum cc_err
check_name(const char *dir, const char *name)
{
	if (name == NULL || *name == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return cc_seterr(CC_ERR_INVAL, "%s: \"%s\" is not a file name",
		                 dir != NULL ? dir : ".", name != NULL ? name : "");
	return CC_OK;
}

/* The directory part of `path` (owned): "." for a bare name, "/" for a file of the root. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

enum cc_err
cc_file_write_atomic_at(int dirfd, const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode)
{
	char *tmp = NULL, where[1024];
	const unsigned char *p = data;
	unsigned char rnd[6];
	int fd = -1;
	size_t off = 0, want;
	ssize_t n;
	enum cc_err r = CC_ERR_IO;

	if ((r = check_name(dir, name)) != CC_OK)
		goto out;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "random temporary name");
		goto out;
	}
	/* ".NAME.tmp.XXXX" in the same directory, so rename() is atomic; loaders skip dot files. */
	tmp = cc_aprintf(".%s.tmp.%02x%02x%02x%02x%02x%02x", name, rnd[0], rnd[1], rnd[2], rnd[3],
	                 rnd[4], rnd[5]);
	if (tmp == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "temporary name");
		goto out;
	}
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) ==
	    -1) {
		r = cc_seterr_errno(CC_ERR_IO, "create %s", shown(where, dir, tmp));
		free(tmp);
		tmp = NULL; /* not made: nothing to remove */
		goto out;
	}
	/* The umask may have narrowed it; make it exactly what was asked. */
	if (fchmod(fd, mode) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "chmod %s", shown(where, dir, tmp));
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
			r = cc_seterr_errno(CC_ERR_IO, "write %s", shown(where, dir, tmp));
			goto out;
		}
		off += (size_t)n;
		if (cc_store_fault_hook != NULL && off < len)
			cc_store_fault_hook("partial-write");
	}
	if (fsync(fd) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "fsync %s", shown(where, dir, tmp));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		r = cc_seterr_errno(CC_ERR_IO, "close %s", shown(where, dir, tmp));
		goto out;
	}
	fd = -1;
	if (cc_store_fault_hook != NULL)
		cc_store_fault_hook("before-rename");
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "rename %s to %s", shown(where, dir, tmp), name);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (fsync(dirfd) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "fsync %s", dir != NULL ? dir : ".");
		goto out;
	}
	r = CC_OK;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		(void)unlinkat(dirfd, tmp, 0);
		free(tmp);
	}
	return r;
}

enum cc_err
cc_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int dirfd = -1;
	enum cc_err r = CC_ERR_IO;

	if ((dir = dir_of(path)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "copying a path");
		goto out;
	}
	/* A path given by the caller: its directories are followed as the caller named them. */
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "open %s", dir);
		goto out;
	}
	/* Messages name the file as the caller did: "DIR/NAME", or NAME alone. */
	if (slash == NULL)
		r = cc_file_write_atomic_at(dirfd, NULL, path, data, len, mode);
	else
		r = cc_file_write_atomic_at(dirfd, slash == path ? "" : dir, slash + 1, data, len,
		                            mode);
out:
	if (dirfd != -1)
		close(dirfd);
	free(dir);
	return r;
}

/* Reads what `fd` (opened for `where`) holds; see cc_file_read. */
static enum cc_err
read_fd(int fd, const char *where, size_t max, unsigned char **buf, size_t *len, mode_t *mode_out)
{
	unsigned char *b = NULL;
	struct stat st;
	size_t off = 0, size = 0;
	ssize_t n;
	enum cc_err r = CC_ERR_IO;

	if (fstat(fd, &st) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "stat %s", where);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = cc_seterr(CC_ERR_IO, "%s: not a regular file", where);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		r = cc_seterr(CC_ERR_PARSE, "%s: larger than %zu bytes", where, max);
		goto out;
	}
	size = (size_t)st.st_size;
	if ((b = malloc(size + 1)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "reading %s", where);
		goto out;
	}
	while (off < size) {
		n = read(fd, b + off, size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = cc_seterr_errno(CC_ERR_IO, "read %s", where);
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
	if (b != NULL) {
		OPENSSL_cleanse(b, size + 1);
		free(b);
	}
	return r;
}

/*
 * O_NOFOLLOW: a link where a file is expected is not followed. O_NONBLOCK: opening a FIFO
 * planted there must not hang the reader.
 */
#define READ_FLAGS (O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

enum cc_err
cc_file_read(const char *path, size_t max, unsigned char **buf, size_t *len, mode_t *mode_out)
{
	int fd = -1;
	enum cc_err r = CC_ERR_IO;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, READ_FLAGS)) == -1) {
		r = cc_seterr_errno(errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO, "open %s",
		                    path);
		goto out;
	}
	r = read_fd(fd, path, max, buf, len, mode_out);
out:
	if (fd != -1)
		close(fd);
	return r;
}

enum cc_err
cc_file_read_at(int dirfd, const char *dir, const char *name, size_t max, unsigned char **buf,
                size_t *len, mode_t *mode_out)
{
	char where[1024];
	int fd = -1;
	enum cc_err r = CC_ERR_IO;

	*buf = NULL;
	*len = 0;
	if ((r = check_name(dir, name)) != CC_OK)
		goto out;
	if ((fd = openat(dirfd, name, READ_FLAGS)) == -1) {
		r = cc_seterr_errno(errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_IO, "open %s",
		                    shown(where, dir, name));
		goto out;
	}
	r = read_fd(fd, shown(where, dir, name), max, buf, len, mode_out);
out:
	if (fd != -1)
		close(fd);
	return r;
}

enum cc_err
cc_file_remove(const char *path)
{
	char *dir = NULL;
	int dirfd = -1;
	enum cc_err r = CC_ERR_IO;

	if (unlink(path) == -1) {
		r = errno == ENOENT ? CC_OK : cc_seterr_errno(CC_ERR_IO, "remove %s", path);
		goto out;
	}
	if ((dir = dir_of(path)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "copying a path");
		goto out;
	}
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "open %s", dir);
		goto out;
	}
	if (fsync(dirfd) == -1) {
		r = cc_seterr_errno(CC_ERR_IO, "fsync %s", dir);
		goto out;
	}
	r = CC_OK;
out:
	if (dirfd != -1)
		close(dirfd);
	free(dir);
	return r;
}

enum cc_err
cc_file_remove_at(int dirfd, const char *dir, const char *name)
{
	char where[1024];
	enum cc_err r;

	if ((r = check_name(dir, name)) != CC_OK)
		return r;
	if (unlinkat(dirfd, name, 0) == -1) {
		if (errno == ENOENT)
			return CC_OK;
		return cc_seterr_errno(CC_ERR_IO, "remove %s", shown(where, dir, name));
	}
	if (fsync(dirfd) == -1)
		return cc_seterr_errno(CC_ERR_IO, "fsync %s", dir != NULL ? dir : ".");
	return CC_OK;
}

enum cc_err
cc_key_write_pem_at(int dirfd, const char *dir, const char *name, EVP_PKEY *key)
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
	 * Unencrypted PKCS#8: daemons must read it unattended (README, "The store"), and a pending
	 * request's key moves to keys/ unchanged when the request completes.
	 */
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the private key");
		goto out;
	}
	BIO_get_mem_ptr(b, &m);
	r = cc_file_write_atomic_at(dirfd, dir, name, m->data, m->length, 0600);
	OPENSSL_cleanse(m->data, m->length);
out:
	BIO_free(b);
	return r;
}

/* Never supplies a password: stored keys are not protected by one (README, "The store"). */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

enum cc_err
cc_key_read_pem_at(int dirfd, const char *dir, const char *name, size_t max, EVP_PKEY **key)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	mode_t mode = 0;
	BIO *b = NULL;
	bool asked = false;
	enum cc_err r;

	*key = NULL;
	if ((r = cc_file_read_at(dirfd, dir, name, max, &buf, &len, &mode)) != CC_OK)
		goto out;
	if ((mode & 077) != 0) {
		r = cc_seterr(
		        CC_ERR_PERM,
		        "private key file mode %04o is open to group or others (must be 0600)",
		        (unsigned)(mode & 07777));
		goto out;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new_mem_buf");
		goto out;
	}
	if ((*key = PEM_read_bio_PrivateKey(b, NULL, no_password, &asked)) == NULL) {
		if (asked) {
			ERR_clear_error();
			r = cc_seterr(CC_ERR_KEY_ENCRYPTED, "private key is password protected");
		} else {
			r = cc_seterr_ssl(CC_ERR_PARSE, "not a readable private key");
		}
		goto out;
	}
	r = CC_OK;
out:
	BIO_free(b);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return r;
}
