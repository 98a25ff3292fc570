/* Get-ExchangeCertificate's views of a certificate: table, list (fl) and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certcore/format.h"
#include "certcore/services.h"
#include "internal.h"

static json_t *cert_object(const struct cc_cert *c, time_t now)
{
	json_t *o, *doms, *svcs;
	char t1[32], t2[32];
	size_t i;
	unsigned bit;

	if ((o = json_object()) == NULL || (doms = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	if ((svcs = json_array()) == NULL) {
		json_decref(o);
		json_decref(doms);
		return NULL;
	}
	for (i = 0; i < cc_cert_domain_count(c); i++)
		json_array_append_new(doms, json_string(cc_cert_domain(c, i)));
	for (bit = 1; bit & CC_SVC_ALL; bit <<= 1)
		if (cc_cert_services(c) & bit)
			json_array_append_new(svcs, json_string(cc_service_name(bit)));
	json_object_set_new(o, "Thumbprint", json_string(cc_cert_thumbprint(c)));
	json_object_set_new(o, "Subject", json_string(cc_cert_subject(c)));
	json_object_set_new(o, "Issuer", json_string(cc_cert_issuer(c)));
	json_object_set_new(o, "CertificateDomains", doms);
	json_object_set_new(o, "NotBefore",
	                    json_string(cc_time_iso8601(cc_cert_not_before(c), t1)));
	json_object_set_new(o, "NotAfter", json_string(cc_time_iso8601(cc_cert_not_after(c), t2)));
	json_object_set_new(o, "SerialNumber", json_string(cc_cert_serial(c)));
	json_object_set_new(o, "PublicKeySize", json_integer(cc_cert_key_bits(c)));
	json_object_set_new(o, "HasPrivateKey", json_boolean(cc_cert_has_private_key(c)));
	json_object_set_new(o, "IsSelfSigned", json_boolean(cc_cert_is_self_signed(c)));
	json_object_set_new(o, "RootCAType",
	                    json_string(cc_root_ca_type_name(cc_cert_root_ca_type(c))));
	json_object_set_new(o, "Services", svcs);
	json_object_set_new(o, "Status", json_string(cc_status_name(cc_cert_status(c, now, NULL))));
	json_object_set_new(o, "PrivateKeyExportable", json_boolean(cc_cert_exportable(c)));
	json_object_set_new(o, "FriendlyName", json_string(cc_cert_friendly_name(c)));
	return o;
}

static enum cc_err dump(json_t *j, char **out)
{
	*out = NULL;
	if (j == NULL)
		return cc_seterr(CC_ERR_NOMEM, "JSON");
	*out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return *out ? CC_OK : cc_seterr(CC_ERR_NOMEM, "JSON");
}

enum cc_err cc_cert_to_json(const struct cc_cert *c, time_t now, char **out)
{
	return dump(cert_object(c, now), out);
}

enum cc_err cc_certs_to_json(struct cc_cert *const *certs, size_t n, time_t now, char **out)
{
	json_t *a, *o;
	size_t i;

	*out = NULL;
	if ((a = json_array()) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "JSON");
	for (i = 0; i < n; i++) {
		if ((o = cert_object(certs[i], now)) == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return cc_seterr(CC_ERR_NOMEM, "JSON");
		}
	}
	return dump(a, out);
}

void cc_cert_print_list(const struct cc_cert *c, time_t now, FILE *f)
{
	char t[32], svc[64];
	const char *reason = NULL;
	enum cc_status st = cc_cert_status(c, now, &reason);
	size_t i;

	/* Alphabetical, as PowerShell's Format-List prints the object. */
	fprintf(f, "%-20s : {", "CertificateDomains");
	for (i = 0; i < cc_cert_domain_count(c); i++)
		fprintf(f, "%s%s", i ? ", " : "", cc_cert_domain(c, i));
	fprintf(f, "}\n");
	fprintf(f, "%-20s : %s\n", "FriendlyName", cc_cert_friendly_name(c));
	fprintf(f, "%-20s : %s\n", "HasPrivateKey", cc_cert_has_private_key(c) ? "True" : "False");
	fprintf(f, "%-20s : %s\n", "IsSelfSigned", cc_cert_is_self_signed(c) ? "True" : "False");
	fprintf(f, "%-20s : %s\n", "Issuer", cc_cert_issuer(c));
	fprintf(f, "%-20s : %s\n", "NotAfter", cc_time_iso8601(cc_cert_not_after(c), t));
	fprintf(f, "%-20s : %s\n", "NotBefore", cc_time_iso8601(cc_cert_not_before(c), t));
	fprintf(f, "%-20s : %s\n", "PrivateKeyExportable",
	        cc_cert_exportable(c) ? "True" : "False");
	fprintf(f, "%-20s : %d\n", "PublicKeySize", cc_cert_key_bits(c));
	fprintf(f, "%-20s : %s\n", "RootCAType", cc_root_ca_type_name(cc_cert_root_ca_type(c)));
	fprintf(f, "%-20s : %s\n", "SerialNumber", cc_cert_serial(c));
	fprintf(f, "%-20s : %s\n", "Services",
	        cc_services_format(cc_cert_services(c), svc, sizeof(svc)));
	if (st == CC_STATUS_VALID || reason == NULL || *reason == '\0')
		fprintf(f, "%-20s : %s\n", "Status", cc_status_name(st));
	else
		fprintf(f, "%-20s : %s (%s)\n", "Status", cc_status_name(st), reason);
	fprintf(f, "%-20s : %s\n", "Subject", cc_cert_subject(c));
	fprintf(f, "%-20s : %s\n", "Thumbprint", cc_cert_thumbprint(c));
}

void cc_cert_print_table_header(FILE *f)
{
	fprintf(f, "%-40s  %-8s  %s\n", "Thumbprint", "Services", "Subject");
	fprintf(f, "%-40s  %-8s  %s\n", "----------", "--------", "-------");
}

void cc_cert_print_table_row(const struct cc_cert *c, FILE *f)
{
	/* Exchange's letters (IMAP, POP, UM, IIS/W3SVC, SMTP), '.' when off; L is our LDAP. */
	static const struct {
		unsigned bit;
		char letter;
	} cols[] = {{CC_SVC_IMAP, 'I'}, {CC_SVC_POP, 'P'},  {CC_SVC_UM, 'U'},
	            {CC_SVC_IIS, 'W'},  {CC_SVC_SMTP, 'S'}, {CC_SVC_LDAP, 'L'}};
	char s[sizeof(cols) / sizeof(cols[0]) + 1];
	size_t i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		s[i] = (cc_cert_services(c) & cols[i].bit) ? cols[i].letter : '.';
	s[i] = '\0';
	fprintf(f, "%-40s  %-8s  %s\n", cc_cert_thumbprint(c), s, cc_cert_subject(c));
}
