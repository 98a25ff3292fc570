/*
 * CRLs and distribution points from arbitrary bytes, as certcore reads them from the store's
 * crl/ folder, an HTTP distribution point or an LDAP attribute (cc_crl_read), checks them
 * against an issuer (cc_crl_unusable) and finds where to fetch them (cc_crl_urls).
 *
 * The input is a file as crl/ could hold: PEM with any mix of CRLs and certificates, or one DER
 * CRL or certificate. Every certificate in it is tried as the issuer of every CRL (signature,
 * dates, issuer name), looked up in it (revoked or not), and has its distribution points read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crl.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW       ((time_t)1790000000) /* 2026-09-21: a run does not depend on the day */
#define MAX_CERTS 8

/* The certificates in the input (PEM blocks, or the whole input as DER). */
static int
read_certs(const uint8_t *data, size_t size, X509 *certs[MAX_CERTS])
{
	const unsigned char *p = data;
	BIO *b;
	X509 *x;
	int n = 0;

	if (memmem(data, size, "-----BEGIN", 10) != NULL) {
		if ((b = BIO_new_mem_buf(data, (int)size)) == NULL)
			return 0;
		while (n < MAX_CERTS && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
			certs[n++] = x;
		BIO_free(b);
	} else if ((x = d2i_X509(NULL, &p, (long)size)) != NULL) {
		certs[n++] = x;
	}
	ERR_clear_error();
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509_CRL) * crls;
	X509 *certs[MAX_CERTS];
	X509_REVOKED *rev;
	X509_CRL *crl;
	char **urls, *name;
	const char *why;
	int ncerts, i, j;
	size_t k;

	if (size > 1 << 20)
		return 0;
	ncerts = read_certs(data, size, certs);
	crls = cc_crl_read(data, size);
	if (crls != NULL && sk_X509_CRL_num(crls) == 0)
		abort(); /* an empty stack is returned as NULL */
	for (i = 0; crls != NULL && i < sk_X509_CRL_num(crls); i++) {
		crl = sk_X509_CRL_value(crls, i);
		name = NULL;
		if (cc_name_rfc2253(X509_CRL_get_issuer(crl), &name) == CC_OK)
			(void)strlen(name);
		free(name);
		for (j = 0; j < ncerts; j++) {
			why = cc_crl_unusable(crl, certs[j], NOW);
			if (why != NULL)
				(void)strlen(why);
			rev = NULL;
			(void)X509_CRL_get0_by_cert(crl, &rev, certs[j]);
		}
	}
	for (j = 0; j < ncerts; j++) {
		if (cc_crl_urls(certs[j], &urls) != CC_OK)
			abort(); /* only memory can fail */
		for (k = 0; urls[k] != NULL; k++)
			if (strlen(urls[k]) == 0)
				abort(); /* empty URIs are skipped */
		cc_crl_urls_free(urls);
		X509_free(certs[j]);
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	return 0;
}
