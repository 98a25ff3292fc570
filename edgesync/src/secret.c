/* Passwords: read from protected files, made with RAND_bytes, wiped before they are freed. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "certcore/fileio.h"
#include "edgesync/secret.h"
#include "internal.h"

#define SECRET_FILE_MAX 4096

void
es_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

enum es_err
es_secret_read_file(const char *path, char **out)
{
	enum es_err r = ES_ERR_IO;
	unsigned char *buf = NULL;
	size_t len = 0, n;
	mode_t mode = 0;
	enum cc_err ce;
	char *pw = NULL;

	*out = NULL;
	if ((ce = cc_file_read(path, SECRET_FILE_MAX, &buf, &len, &mode)) != CC_OK) {
		r = es_seterr_cc(ES_ERR_IO, ce, "password file %s", path);
		goto out;
	}
	if ((mode & (S_IRWXG | S_IRWXO)) != 0) {
		r = es_seterr(ES_ERR_IO,
		              "password file %s: its group or others may read it (mode %03o); "
		              "chmod 600 it",
		              path, (unsigned)(mode & 0777));
		goto out;
	}
	for (n = 0; n < len && buf[n] != '\n' && buf[n] != '\r'; n++)
		;
	if (n == 0) {
		r = es_seterr(ES_ERR_IO, "password file %s: the first line is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		r = es_seterr(ES_ERR_IO, "password file %s: holds a NUL byte", path);
		goto out;
	}
	if ((pw = malloc(n + 1)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "password");
		goto out;
	}
	memcpy(pw, buf, n);
	pw[n] = '\0';
	*out = pw;
	r = ES_OK;
out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return r;
}

enum es_err
es_secret_random(char **out)
{
	static const char alphabet[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[64];
	char *pw;
	size_t n = 0, i;

	*out = NULL;
	if ((pw = malloc(ES_PASSWORD_LEN + 1)) == NULL)
		return es_seterr(ES_ERR_NOMEM, "password");
	while (n < ES_PASSWORD_LEN) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			OPENSSL_cleanse(pw, n);
			free(pw);
			return es_seterr_ssl(ES_ERR_CRYPTO, "RAND_bytes");
		}
		/* 62 * 4 = 248: bytes of 248 and above are dropped, so every character is equally
		 * likely */
		for (i = 0; i < sizeof(rnd) && n < ES_PASSWORD_LEN; i++)
			if (rnd[i] < 248)
				pw[n++] = alphabet[rnd[i] % 62];
	}
	pw[n] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	*out = pw;
	return ES_OK;
}
