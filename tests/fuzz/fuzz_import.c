/*
 * What `certctl import` reads from a CA or another server: PEM or DER certificates, a PKCS#7
 * chain (.p7b, PEM or DER), or PKCS#12 opened with a fixed password (the seeds are made with
 * it, so mutated files get past the MAC). Then the leaf is told from its chain, and the result
 * is made into a certificate object and printed as `certctl get` would.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certcore/format.h"
#include "certcore/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PASSWORD "fuzz"
#define NOW      ((time_t)1790000000)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	EVP_PKEY *key = NULL;
	X509 *leaf = NULL;
	struct cc_cert *c = NULL;
	char *json = NULL;

	if (cc_import_read(data, size, PASSWORD, &certs, &key) != CC_OK) {
		if (certs != NULL || key != NULL)
			abort(); /* out-params are NULL on failure */
		return 0;
	}
	if (certs == NULL || sk_X509_num(certs) == 0)
		abort(); /* success means at least one certificate */
	if (cc_import_split(certs, key, NULL, &leaf, &chain) == CC_OK) {
		if (cc_cert_new(leaf, chain, key, NULL, &c) == CC_OK) {
			if (cc_cert_has_private_key(c) != (key != NULL))
				abort();
			if (cc_cert_to_json(c, NOW, &json) == CC_OK)
				(void)strlen(json);
			free(json);
			cc_cert_free(c);
		}
		X509_free(leaf);
		sk_X509_pop_free(chain, X509_free);
	} else if (leaf != NULL || chain != NULL) {
		abort();
	}
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	return 0;
}
