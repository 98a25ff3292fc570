/* Passwords: read from protected files (certcore's rule), made with RAND_bytes, wiped. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "certcore/secret.h"
#include "edgesync/secret.h"
#include "internal.h"

void
es_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/*
 * certcore's rule for password files, the one certctl follows too (a review found certctl took a
 * 0644 file that edgesync refused): one rule, in one place.
 */
enum es_err
es_secret_read_file(const char *path, char **out)
{
	enum cc_err ce;

	if ((ce = cc_secret_read_file(path, out)) != CC_OK)
		return es_seterr_cc(ce == CC_ERR_NOMEM ? ES_ERR_NOMEM : ES_ERR_IO, ce,
		                    "reading a password");
	return ES_OK;
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
