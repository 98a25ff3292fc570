/* Get-ExchangeCertificate's views of a certificate: table, list (fl) and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certcore/format.h"
#include "certcore/services.h"
#include "internal.h"

/*
 * Sets key to v, whose reference it takes (also on failure). json_string() gives NULL for text
 * that is not UTF-8 (a friendly name read from a meta file may be): the call fails saying so,
 * rather than printing an object with the key silently missing.
 */
static enum cc_err
add(json_t *o, const char *key, json_t *v, const struct cc_cert *c)
{
	if (v == NULL)
		return cc_seterr(CC_ERR_INVAL, "certificate %s: %s is not valid UTF-8",
		                 cc_cert_thumbprint(c), key);
	if (json_object_set_new(o, key, v) != 0)
		return cc_seterr(CC_ERR_NOMEM, "JSON");
	return CC_OK;
}

static enum cc_err
cert_object(const struct cc_cert *c, time_t now, json_t **out)
{
	json_t *o = NULL, *doms = NULL, *svcs = NULL, *v;
	const char *detail = NULL;
	enum cc_status st;
	char t1[32], t2[32];
	size_t i;
	unsigned bit;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if ((o = json_object()) == NULL || (doms = json_array()) == NULL ||
	    (svcs = json_array()) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "JSON");
		goto out;
	}
	for (i = 0; i < cc_cert_domain_count(c); i++) {
		if ((v = json_string(cc_cert_domain(c, i))) == NULL) {
			r = cc_seterr(CC_ERR_INVAL,
			              "certificate %s: CertificateDomains: not valid UTF-8",
			              cc_cert_thumbprint(c));
			goto out;
		}
		if (json_array_append_new(doms, v) != 0) {
			r = cc_seterr(CC_ERR_NOMEM, "JSON");
			goto out;
		}
	}
	for (bit = 1; bit & CC_SVC_ALL; bit <<= 1) {
		if (!(cc_cert_services(c) & bit))
			continue;
		if (json_array_append_new(svcs, json_string(cc_service_name(bit))) != 0) {
			r = cc_seterr(CC_ERR_NOMEM, "JSON");
			goto out;
		}
	}
	if ((r = add(o, "Thumbprint", json_string(cc_cert_thumbprint(c)), c)) != CC_OK ||
	    (r = add(o, "Subject", json_string(cc_cert_subject(c)), c)) != CC_OK ||
	    (r = add(o, "Issuer", json_string(cc_cert_issuer(c)), c)) != CC_OK)
		goto out;
	r = add(o, "CertificateDomains", doms, c);
	doms = NULL; /* o holds it now, or it was freed */
	if (r != CC_OK ||
	    (r = add(o, "NotBefore", json_string(cc_time_iso8601(cc_cert_not_before(c), t1)), c)) !=
	            CC_OK ||
	    (r = add(o, "NotAfter", json_string(cc_time_iso8601(cc_cert_not_after(c), t2)), c)) !=
	            CC_OK ||
	    (r = add(o, "SerialNumber", json_string(cc_cert_serial(c)), c)) != CC_OK ||
	    (r = add(o, "PublicKeySize", json_integer(cc_cert_key_bits(c)), c)) != CC_OK ||
	    (r = add(o, "HasPrivateKey", json_boolean(cc_cert_has_private_key(c)), c)) != CC_OK ||
	    (r = add(o, "IsSelfSigned", json_boolean(cc_cert_is_self_signed(c)), c)) != CC_OK ||
	    (r = add(o, "RootCAType", json_string(cc_root_ca_type_name(cc_cert_root_ca_type(c))),
	             c)) != CC_OK)
		goto out;
	r = add(o, "Services", svcs, c);
	svcs = NULL;
	st = cc_cert_status(c, now, &detail);
	if (r != CC_OK || (r = add(o, "Status", json_string(cc_status_name(st)), c)) != CC_OK ||
	    (r = add(o, "StatusDetail", json_string(detail ? detail : ""), c)) != CC_OK ||
	    (r = add(o, "PrivateKeyExportable", json_boolean(cc_cert_exportable(c)), c)) != CC_OK ||
	    (r = add(o, "FriendlyName", json_string(cc_cert_friendly_name(c)), c)) != CC_OK)
		goto out;
	*out = o;
	o = NULL;
	r = CC_OK;
out:
	json_decref(o);
	json_decref(doms);
	json_decref(svcs);
	return r;
}

/* Takes the reference to j. */
static enum cc_err
dump(json_t *j, char **out)
{
	*out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return *out ? CC_OK : cc_seterr(CC_ERR_NOMEM, "JSON");
}

enum cc_err
cc_cert_to_json(const struct cc_cert *c, time_t now, char **out)
{
	json_t *o;
	enum cc_err r;

	*out = NULL;
	if ((r = cert_object(c, now, &o)) != CC_OK)
		return r;
	return dump(o, out);
}

enum cc_err
cc_certs_to_json(struct cc_cert *const *certs, size_t n, time_t now, char **out)
{
	json_t *a = NULL, *o;
	size_t i;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if ((a = json_array()) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "JSON");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = cert_object(certs[i], now, &o)) != CC_OK)
			goto out;
		if (json_array_append_new(a, o) != 0) {
			r = cc_seterr(CC_ERR_NOMEM, "JSON");
			goto out;
		}
	}
	r = dump(a, out);
	a = NULL;
out:
	json_decref(a);
	return r;
}

/*
 * Writes a value with control characters as \xNN, so that a value (a friendly name read from a
 * meta file, say) cannot end its line and forge another property.
 */
static void
put_value(FILE *f, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02X", *p);
		else
			fputc(*p, f);
	}
}

void
cc_cert_print_list(const struct cc_cert *c, time_t now, FILE *f)
{
	char t[32], svc[64];
	const char *reason = NULL;
	enum cc_status st = cc_cert_status(c, now, &reason);
	size_t i;

	/* Alphabetical, as PowerShell's Format-List prints the object. */
	fprintf(f, "%-20s : {", "CertificateDomains");
	for (i = 0; i < cc_cert_domain_count(c); i++) {
		fputs(i ? ", " : "", f);
		put_value(f, cc_cert_domain(c, i));
	}
	fprintf(f, "}\n");
	fprintf(f, "%-20s : ", "FriendlyName");
	put_value(f, cc_cert_friendly_name(c));
	fputc('\n', f);
	fprintf(f, "%-20s : %s\n", "HasPrivateKey", cc_cert_has_private_key(c) ? "True" : "False");
	fprintf(f, "%-20s : %s\n", "IsSelfSigned", cc_cert_is_self_signed(c) ? "True" : "False");
	fprintf(f, "%-20s : ", "Issuer");
	put_value(f, cc_cert_issuer(c));
	fputc('\n', f);
	fprintf(f, "%-20s : %s\n", "NotAfter", cc_time_iso8601(cc_cert_not_after(c), t));
	fprintf(f, "%-20s : %s\n", "NotBefore", cc_time_iso8601(cc_cert_not_before(c), t));
	fprintf(f, "%-20s : %s\n", "PrivateKeyExportable",
	        cc_cert_exportable(c) ? "True" : "False");
	fprintf(f, "%-20s : %d\n", "PublicKeySize", cc_cert_key_bits(c));
	fprintf(f, "%-20s : %s\n", "RootCAType", cc_root_ca_type_name(cc_cert_root_ca_type(c)));
	fprintf(f, "%-20s : %s\n", "SerialNumber", cc_cert_serial(c));
	fprintf(f, "%-20s : %s\n", "Services",
	        cc_services_format(cc_cert_services(c), svc, sizeof(svc)));
	fprintf(f, "%-20s : %s\n", "Status", cc_status_name(st));
	fprintf(f, "%-20s : ", "StatusDetail");
	put_value(f, reason != NULL ? reason : "");
	fputc('\n', f);
	fprintf(f, "%-20s : ", "Subject");
	put_value(f, cc_cert_subject(c));
	fputc('\n', f);
	fprintf(f, "%-20s : %s\n", "Thumbprint", cc_cert_thumbprint(c));
}

void
cc_cert_print_table_header(FILE *f)
{
	fprintf(f, "%-40s  %-8s  %s\n", "Thumbprint", "Services", "Subject");
	fprintf(f, "%-40s  %-8s  %s\n", "----------", "--------", "-------");
}

void
cc_services_letters(unsigned services, char out[CC_SERVICES_LETTERS + 1])
{
	/* Exchange's letters (IMAP, POP, UM, IIS/W3SVC, SMTP), '.' when off; L is our LDAP. */
	static const struct {
		unsigned bit;
		char letter;
	} cols[CC_SERVICES_LETTERS] = {{CC_SVC_IMAP, 'I'}, {CC_SVC_POP, 'P'},  {CC_SVC_UM, 'U'},
	                               {CC_SVC_IIS, 'W'},  {CC_SVC_SMTP, 'S'}, {CC_SVC_LDAP, 'L'}};
	size_t i;

	for (i = 0; i < CC_SERVICES_LETTERS; i++)
		out[i] = (services & cols[i].bit) ? cols[i].letter : '.';
	out[i] = '\0';
}

void
cc_cert_print_table_row(const struct cc_cert *c, FILE *f)
{
	char s[CC_SERVICES_LETTERS + 1];

	cc_services_letters(cc_cert_services(c), s);
	fprintf(f, "%-40s  %-8s  ", cc_cert_thumbprint(c), s);
	put_value(f, cc_cert_subject(c));
	fputc('\n', f);
}
