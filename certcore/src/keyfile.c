/* A store's keys/ folder on its own (keyfile.h), and the one reader of key files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "certcore/keyfile.h"
#include "internal.h"

#define MAX_KEY_FILE (1024 * 1024)

struct cc_keydir {
	int fd;
	char *path;
};

struct pw_probe {
	bool asked;
};

/* Never supplies a password: stored keys must not be protected by one (README, "The store"). */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	struct pw_probe *p = u;

	(void)buf;
	(void)size;
	(void)rwflag;
	p->asked = true;
	return -1;
}

enum cc_err
cc_key_read_at(int dirfd, const char *dir, const char *name, EVP_PKEY **key, char *why, size_t len)
{
	unsigned char *buf = NULL;
	size_t n = 0;
	mode_t mode = 0;
	BIO *b = NULL;
	struct pw_probe probe = {false};
	enum cc_err r;

	*key = NULL;
	why[0] = '\0';
	if ((r = cc_file_read_at(dirfd, dir, name, MAX_KEY_FILE, &buf, &n, &mode)) != CC_OK) {
		if (r != CC_ERR_NOMEM) {
			snprintf(why, len, "%s", cc_errdetail());
			r = CC_OK;
		}
		goto out;
	}
	if ((mode & 077) != 0) {
		/* As sshd refuses an unprotected key file: a key others can read is not used. */
		snprintf(why, len,
		         "private key file mode %04o is open to group or others (must be 0600); "
		         "key not used",
		         (unsigned)(mode & 07777));
		goto out;
	}
	if ((b = BIO_new_mem_buf(buf, (int)n)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new_mem_buf");
		goto out;
	}
	if ((*key = PEM_read_bio_PrivateKey(b, NULL, no_password, &probe)) == NULL) {
		if (probe.asked) {
			ERR_clear_error();
			snprintf(why, len, "private key is password protected; key not used");
		} else {
			(void)cc_seterr_ssl(CC_ERR_PARSE, "not a readable private key");
			snprintf(why, len, "%s", cc_errdetail());
		}
	}
out:
	BIO_free(b);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, n);
		free(buf);
	}
	return r;
}

static bool
valid_thumb(const char *t)
{
	size_t i;

	for (i = 0; i < CC_THUMB_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'A' && t[i] <= 'F')))
			return false;
	return t[CC_THUMB_LEN] == '\0';
}

enum cc_err
cc_keydir_open(const char *store, struct cc_keydir **out)
{
	struct cc_keydir *k = NULL;
	int sfd = -1;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->path = cc_aprintf("%s/keys", store)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "keys folder");
		goto out;
	}
	k->fd = -1;
	if ((r = cc_open_folder(AT_FDCWD, store, "store", store, &sfd)) != CC_OK ||
	    (r = cc_open_folder(sfd, "keys", "store folder", k->path, &k->fd)) != CC_OK)
		goto out;
	*out = k;
	k = NULL;
	r = CC_OK;
out:
	if (sfd != -1)
		close(sfd);
	cc_keydir_free(k);
	return r;
}

void
cc_keydir_free(struct cc_keydir *k)
{
	if (k == NULL)
		return;
	if (k->fd != -1)
		close(k->fd);
	free(k->path);
	free(k);
}

enum cc_err
cc_keydir_read(struct cc_keydir *k, const char *thumb, EVP_PKEY **key, char *why, size_t len)
{
	char name[CC_THUMB_LEN + 5];

	*key = NULL;
	if (!valid_thumb(thumb)) {
		snprintf(why, len, "not a thumbprint");
		return CC_OK;
	}
	snprintf(name, sizeof(name), "%s.key", thumb);
	return cc_key_read_at(k->fd, k->path, name, key, why, len);
}

enum cc_err
cc_keydir_write(struct cc_keydir *k, const char *thumb, EVP_PKEY *key)
{
	char name[CC_THUMB_LEN + 5];
	struct stat st;

	if (!valid_thumb(thumb))
		return cc_seterr(CC_ERR_INVAL, "not a thumbprint");
	snprintf(name, sizeof(name), "%s.key", thumb);
	if (fstatat(k->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return cc_seterr(CC_ERR_EXISTS, "%s/%s exists: a key file is never replaced",
		                 k->path, name);
	return cc_key_write_pem_at(k->fd, k->path, name, key);
}

enum cc_err
cc_keydir_remove(struct cc_keydir *k, const char *thumb)
{
	char name[CC_THUMB_LEN + 5];

	if (!valid_thumb(thumb))
		return cc_seterr(CC_ERR_INVAL, "not a thumbprint");
	snprintf(name, sizeof(name), "%s.key", thumb);
	return cc_file_remove_at(k->fd, k->path, name);
}
