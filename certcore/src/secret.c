/* Passwords read from protected files (certcore/secret.h), wiped before they are freed. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "certcore/secret.h"
#include "internal.h"

#define SECRET_FILE_MAX 4096 /* a password, not a document */

void
cc_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

enum cc_err
cc_secret_read_file(const char *path, char **out)
{
	unsigned char *buf = NULL;
	size_t len = 0, n;
	mode_t mode = 0;
	char *pw = NULL;
	enum cc_err r = CC_ERR_IO;

	*out = NULL;
	/* A regular file, not followed through a link: cc_file_read opens it O_NOFOLLOW. */
	if ((r = cc_file_read(path, SECRET_FILE_MAX, &buf, &len, &mode)) != CC_OK)
		goto out;
	/* Refused even though it was read: a password others can read is already exposed. */
	if ((mode & (S_IRWXG | S_IRWXO)) != 0) {
		r = cc_seterr(CC_ERR_PERM,
		              "password file %s: its group or others may read it (mode %03o); "
		              "chmod 600 it",
		              path, (unsigned)(mode & 0777));
		goto out;
	}
	for (n = 0; n < len && buf[n] != '\n' && buf[n] != '\r'; n++)
		;
	if (n == 0) {
		r = cc_seterr(CC_ERR_PARSE, "password file %s: the first line is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		r = cc_seterr(CC_ERR_PARSE, "password file %s: holds a NUL byte", path);
		goto out;
	}
	if ((pw = malloc(n + 1)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "password");
		goto out;
	}
	memcpy(pw, buf, n);
	pw[n] = '\0';
	*out = pw;
	r = CC_OK;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return r;
}
