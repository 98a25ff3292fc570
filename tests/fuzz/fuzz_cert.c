/*
 * Certificate properties from arbitrary bytes: PEM (a certificate, then its chain) or DER, as
 * `certctl import`, the store loader and umd's pinned gateway certificates read them. Every
 * accessor runs, and the JSON and list views `certctl get` prints.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcore/cert.h"
#include "certcore/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed clock, so a run does not depend on the day. */
#define NOW ((time_t)1790000000) /* 2026-09-21 */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct cc_cert *c = NULL;
	const char *reason = NULL;
	char *json = NULL, t[32];
	size_t i, n;

	if (sink == NULL && (sink = fopen("/dev/null", "w")) == NULL)
		abort();
	if (cc_cert_new_from_bytes(data, size, &c) != CC_OK) {
		if (c != NULL)
			abort(); /* out-params are NULL on failure */
		return 0;
	}
	if (strlen(cc_cert_thumbprint(c)) != CC_THUMB_LEN)
		abort();
	(void)strlen(cc_cert_subject(c));
	(void)strlen(cc_cert_issuer(c));
	n = cc_cert_domain_count(c);
	for (i = 0; i < n; i++)
		(void)strlen(cc_cert_domain(c, i));
	(void)cc_time_iso8601(cc_cert_not_before(c), t);
	(void)cc_time_iso8601(cc_cert_not_after(c), t);
	(void)strlen(cc_cert_serial(c));
	(void)cc_cert_key_bits(c);
	(void)strlen(cc_cert_key_algorithm(c));
	if (cc_cert_has_private_key(c) || cc_cert_key(c) != NULL)
		abort(); /* bytes never bring a key */
	(void)cc_cert_is_self_signed(c);
	(void)cc_cert_services(c);
	(void)cc_cert_exportable(c);
	(void)strlen(cc_cert_friendly_name(c));
	(void)cc_cert_x509(c);
	(void)cc_cert_chain(c);
	(void)cc_cert_validity_days(c);
	(void)cc_status_name(cc_cert_status(c, NOW, &reason));
	(void)cc_root_ca_type_name(cc_cert_root_ca_type(c));
	(void)cc_cert_matches_host(c, "um1.example.test");
	(void)cc_cert_matches_host(c, "x.example.test");
	if (cc_cert_to_json(c, NOW, &json) == CC_OK)
		(void)strlen(json);
	free(json);
	json = NULL;
	if (cc_certs_to_json(&c, 1, NOW, &json) == CC_OK)
		(void)strlen(json);
	free(json);
	cc_cert_print_list(c, NOW, sink);
	cc_cert_print_table_row(c, sink);
	cc_cert_free(c);
	return 0;
}
