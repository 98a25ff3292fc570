/*
 * The X.500 subject string of `certctl new --subject` and `certctl request --subject`
 * ("c=us,o=contoso corp,cn=mail.contoso.com"), read with libldap's DN parser. What parses is
 * printed back as RFC 2253 and encoded as DER, as a certificate or a request would carry it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "certcore/selfsigned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_NAME *name = NULL;
	unsigned char *der = NULL;
	char *s;
	BIO *b;

	/* A command-line argument: NUL-terminated, so no NUL inside. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (cc_x500_parse(s, &name) == CC_OK) {
		if (name == NULL || X509_NAME_entry_count(name) == 0)
			abort();
		if ((b = BIO_new(BIO_s_mem())) != NULL) {
			(void)X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
			BIO_free(b);
		}
		if (i2d_X509_NAME(name, &der) <= 0)
			abort(); /* a name we made must encode */
		OPENSSL_free(der);
		X509_NAME_free(name);
	} else if (name != NULL) {
		abort();
	}
	free(s);
	return 0;
}
