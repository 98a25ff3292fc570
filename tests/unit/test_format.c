/*
 * Unit tests for certcore/src/format.c: the JSON, list (fl) and table views of certificates.
 * JSON is parsed back with jansson and compared key by key with the accessors and with values
 * the tests set themselves; printed views are captured with open_memstream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/format.h"
#include "certcore/services.h"
#include "testutil.h"

#define T_2023 ((time_t)1700000000) /* 2023-11-14T22:13:20Z */
#define T_2100 ((time_t)4102444800) /* 2100-01-01T00:00:00Z */
#define DAY    86400L

/* Property names, as Exchange prints them, in Format-List (alphabetical) order. */
static const char *const props[] = {
        "CertificateDomains",
        "FriendlyName",
        "HasPrivateKey",
        "IsSelfSigned",
        "Issuer",
        "NotAfter",
        "NotBefore",
        "PrivateKeyExportable",
        "PublicKeySize",
        "RootCAType",
        "SerialNumber",
        "Services",
        "Status",
        "StatusDetail",
        "Subject",
        "Thumbprint",
};
#define NPROPS (sizeof(props) / sizeof(props[0]))

/* Test fixtures, made once. */
static X509 *x_self, *x_ca, *x_leaf, *x_old;
static EVP_PKEY *k_self, *k_ca, *k_leaf, *k_old;
static struct cc_cert *c_self; /* EC P-256, key, UM+SMTP, exportable, named, fixed dates */
static struct cc_cert *c_leaf; /* RSA 2048, CA-issued, no key, no meta */
static struct cc_cert *c_old;  /* expired, self-signed, LDAP */
static char self_thumb[CC_THUMB_LEN + 1];

static const char self_name[] = "Contoso \"UM\" \\ cert";

static void
sha1_hex(X509 *x, char out[CC_THUMB_LEN + 1])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int len = i2d_X509(x, &der);

	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL) == 1);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	OPENSSL_free(der);
}

static void teardown(void);

/*
 * Made once, on first use: tu_run registers the suite without an init function. Freed at exit
 * (before LeakSanitizer looks, as atexit handlers run in reverse order).
 */
static int
setup(void)
{
	static const char *const sans[] = {"mail.contoso.com", "autodiscover.contoso.com", NULL};
	struct tu_cert_spec spec;
	struct cc_meta meta = {0, false, NULL, NULL};

	memset(&spec, 0, sizeof(spec));
	spec.cn = "mail.contoso.com";
	spec.sans = sans;
	spec.key = "ec256";
	spec.serial = 0x0A1B2C;
	tu_make_cert(&spec, &x_self, &k_self);
	/* Exact dates, re-signed. */
	if (ASN1_TIME_set(X509_getm_notBefore(x_self), T_2023) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x_self), T_2100) == NULL ||
	    X509_sign(x_self, k_self, EVP_sha256()) <= 0)
		return 1;
	sha1_hex(x_self, self_thumb);
	meta.services = CC_SVC_UM | CC_SVC_SMTP;
	meta.exportable = true;
	meta.friendly_name = self_name;
	if (cc_cert_new(x_self, NULL, k_self, &meta, &c_self) != CC_OK)
		return 1;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "Contoso Issuing CA";
	spec.key = "ec256";
	spec.ca = true;
	tu_make_cert(&spec, &x_ca, &k_ca);
	memset(&spec, 0, sizeof(spec));
	spec.cn = "leaf.contoso.com";
	spec.key = "rsa2048";
	spec.issuer = x_ca;
	spec.issuer_key = k_ca;
	spec.not_before_offset = -DAY;
	tu_make_cert(&spec, &x_leaf, &k_leaf);
	if (cc_cert_new(x_leaf, NULL, NULL, NULL, &c_leaf) != CC_OK)
		return 1;

	memset(&spec, 0, sizeof(spec));
	spec.cn = "old.contoso.com";
	spec.key = "ec256";
	spec.not_before_offset = -30 * DAY;
	spec.not_after_offset = -DAY;
	tu_make_cert(&spec, &x_old, &k_old);
	meta.services = CC_SVC_LDAP;
	meta.exportable = false;
	meta.friendly_name = NULL;
	if (cc_cert_new(x_old, NULL, k_old, &meta, &c_old) != CC_OK)
		return 1;
	return atexit(teardown) != 0;
}

static void
teardown(void)
{
	cc_cert_free(c_self);
	cc_cert_free(c_leaf);
	cc_cert_free(c_old);
	X509_free(x_self);
	X509_free(x_ca);
	X509_free(x_leaf);
	X509_free(x_old);
	EVP_PKEY_free(k_self);
	EVP_PKEY_free(k_ca);
	EVP_PKEY_free(k_leaf);
	EVP_PKEY_free(k_old);
}

static bool
fixtures(void)
{
	static int state = -1;

	if (state == -1)
		state = setup();
	return state == 0;
}

#define FIXTURES() CU_ASSERT_FATAL(fixtures())

static void
test_fixtures(void)
{
	FIXTURES();
	CU_ASSERT_PTR_NOT_NULL(c_self);
	CU_ASSERT_PTR_NOT_NULL(c_leaf);
	CU_ASSERT_PTR_NOT_NULL(c_old);
}

/* --- JSON ---------------------------------------------------------------------------------- */

static json_t *
parse(const char *text)
{
	json_error_t err;
	json_t *j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		fprintf(stderr, "\njson_loads: %s at line %d\n%s\n", err.text, err.line, text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	return j;
}

static const char *
str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	CU_ASSERT(json_is_string(v));
	return json_is_string(v) ? json_string_value(v) : "(missing)";
}

static void
check_time(const json_t *o, const char *key, time_t want)
{
	const char *s = str(o, key);
	char buf[32];
	struct tm tm;
	const char *end;

	CU_ASSERT_STRING_EQUAL(s, cc_time_iso8601(want, buf));
	/* ISO 8601, UTC, "YYYY-MM-DDTHH:MM:SSZ", and it reads back as the same instant. */
	CU_ASSERT_EQUAL(strlen(s), 20);
	CU_ASSERT_EQUAL(s[10], 'T');
	CU_ASSERT_EQUAL(s[19], 'Z');
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	CU_ASSERT(end != NULL && *end == '\0');
	CU_ASSERT_EQUAL(timegm(&tm), want);
}

static void
check_bool(const json_t *o, const char *key, bool want)
{
	const json_t *v = json_object_get(o, key);

	CU_ASSERT(json_is_boolean(v));
	CU_ASSERT_EQUAL(json_is_true(v), want);
}

/* Every key of one object equals what the accessors say. */
static void
check_object(const json_t *o, const struct cc_cert *c, time_t now)
{
	const json_t *a, *v;
	size_t i;
	unsigned bit;

	CU_ASSERT_FATAL(json_is_object(o));
	CU_ASSERT_EQUAL(json_object_size(o), NPROPS);
	for (i = 0; i < NPROPS; i++)
		CU_ASSERT_PTR_NOT_NULL(json_object_get(o, props[i]));

	CU_ASSERT_STRING_EQUAL(str(o, "Thumbprint"), cc_cert_thumbprint(c));
	CU_ASSERT_STRING_EQUAL(str(o, "Subject"), cc_cert_subject(c));
	CU_ASSERT_STRING_EQUAL(str(o, "Issuer"), cc_cert_issuer(c));
	a = json_object_get(o, "CertificateDomains");
	CU_ASSERT_FATAL(json_is_array(a));
	CU_ASSERT_EQUAL_FATAL(json_array_size(a), cc_cert_domain_count(c));
	for (i = 0; i < json_array_size(a); i++) {
		v = json_array_get(a, i);
		CU_ASSERT_FATAL(json_is_string(v));
		CU_ASSERT_STRING_EQUAL(json_string_value(v), cc_cert_domain(c, i));
	}
	check_time(o, "NotBefore", cc_cert_not_before(c));
	check_time(o, "NotAfter", cc_cert_not_after(c));
	CU_ASSERT_STRING_EQUAL(str(o, "SerialNumber"), cc_cert_serial(c));
	v = json_object_get(o, "PublicKeySize");
	CU_ASSERT(json_is_integer(v));
	CU_ASSERT_EQUAL(json_integer_value(v), cc_cert_key_bits(c));
	check_bool(o, "HasPrivateKey", cc_cert_has_private_key(c));
	check_bool(o, "IsSelfSigned", cc_cert_is_self_signed(c));
	CU_ASSERT_STRING_EQUAL(str(o, "RootCAType"), cc_root_ca_type_name(cc_cert_root_ca_type(c)));
	/* Services: one name per enabled service, in enum order. */
	a = json_object_get(o, "Services");
	CU_ASSERT_FATAL(json_is_array(a));
	for (i = 0, bit = 1; bit & CC_SVC_ALL; bit <<= 1) {
		if (!(cc_cert_services(c) & bit))
			continue;
		v = json_array_get(a, i++);
		CU_ASSERT_FATAL(json_is_string(v));
		CU_ASSERT_STRING_EQUAL(json_string_value(v), cc_service_name(bit));
	}
	CU_ASSERT_EQUAL(json_array_size(a), i);
	CU_ASSERT_STRING_EQUAL(str(o, "Status"), cc_status_name(cc_cert_status(c, now, NULL)));
	check_bool(o, "PrivateKeyExportable", cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(str(o, "FriendlyName"), cc_cert_friendly_name(c));
}

static void
test_json_one(void)
{
	char *text = NULL;
	json_t *o, *a;
	time_t now = time(NULL);
	enum cc_err e;

	FIXTURES();

	e = cc_cert_to_json(c_self, now, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	o = parse(text);
	check_object(o, c_self, now);
	/* And against what the test set, not only what the accessors say. */
	CU_ASSERT_STRING_EQUAL(str(o, "Thumbprint"), self_thumb);
	CU_ASSERT_STRING_EQUAL(str(o, "Subject"), "CN=mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(str(o, "Issuer"), "CN=mail.contoso.com");
	a = json_object_get(o, "CertificateDomains");
	CU_ASSERT_EQUAL_FATAL(json_array_size(a), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(a, 0)), "mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(a, 1)), "autodiscover.contoso.com");
	CU_ASSERT_STRING_EQUAL(str(o, "NotBefore"), "2023-11-14T22:13:20Z");
	CU_ASSERT_STRING_EQUAL(str(o, "NotAfter"), "2100-01-01T00:00:00Z");
	CU_ASSERT_STRING_EQUAL(str(o, "SerialNumber"), "0A1B2C");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "PublicKeySize")), 256);
	check_bool(o, "HasPrivateKey", true);
	check_bool(o, "IsSelfSigned", true);
	CU_ASSERT_STRING_EQUAL(str(o, "RootCAType"), "None");
	a = json_object_get(o, "Services");
	CU_ASSERT_EQUAL_FATAL(json_array_size(a), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(a, 0)), "SMTP");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(a, 1)), "UM");
	CU_ASSERT_STRING_EQUAL(str(o, "Status"), "Valid");
	check_bool(o, "PrivateKeyExportable", true);
	/* Quotes and a backslash survive JSON escaping. */
	CU_ASSERT_STRING_EQUAL(str(o, "FriendlyName"), self_name);
	json_decref(o);
	free(text);

	/* The CA-issued leaf without a key or meta. */
	e = cc_cert_to_json(c_leaf, now, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	o = parse(text);
	check_object(o, c_leaf, now);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "PublicKeySize")), 2048);
	check_bool(o, "HasPrivateKey", false);
	check_bool(o, "IsSelfSigned", false);
	check_bool(o, "PrivateKeyExportable", false);
	CU_ASSERT_STRING_EQUAL(str(o, "Issuer"), "CN=Contoso Issuing CA");
	CU_ASSERT_STRING_EQUAL(str(o, "RootCAType"), "Unknown");
	CU_ASSERT_STRING_EQUAL(str(o, "Status"), "Unknown");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(o, "Services")), 0);
	CU_ASSERT_STRING_EQUAL(str(o, "FriendlyName"), "");
	json_decref(o);
	free(text);
}

/* Status is computed at the `now` given. */
static void
test_json_status_now(void)
{
	char *text = NULL;
	json_t *o;
	enum cc_err e;

	FIXTURES();

	e = cc_cert_to_json(c_self, T_2023 - 1, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	o = parse(text);
	CU_ASSERT_STRING_EQUAL(str(o, "Status"), "DateInvalid");
	json_decref(o);
	free(text);

	e = cc_cert_to_json(c_old, time(NULL), &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	o = parse(text);
	check_object(o, c_old, time(NULL));
	CU_ASSERT_STRING_EQUAL(str(o, "Status"), "DateInvalid");
	json_decref(o);
	free(text);

	e = cc_cert_to_json(c_old, time(NULL) - 10 * DAY, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	o = parse(text);
	CU_ASSERT_STRING_EQUAL(str(o, "Status"), "Valid");
	json_decref(o);
	free(text);
}

static void
test_json_services_all(void)
{
	static const char *const want[] = {"SMTP", "POP", "IMAP", "UM", "IIS", "LDAP"};
	struct cc_meta meta = {CC_SVC_ALL, false, NULL, NULL};
	struct cc_cert *c = NULL;
	char *text = NULL;
	json_t *o, *a;
	size_t i;
	enum cc_err e;

	FIXTURES();

	e = cc_cert_new(x_leaf, NULL, NULL, &meta, &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	e = cc_cert_to_json(c, time(NULL), &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	o = parse(text);
	a = json_object_get(o, "Services");
	CU_ASSERT_EQUAL_FATAL(json_array_size(a), 6);
	for (i = 0; i < 6; i++)
		CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(a, i)), want[i]);
	json_decref(o);
	free(text);
	cc_cert_free(c);
}

static void
test_json_array(void)
{
	struct cc_cert *certs[3];
	char *text = NULL;
	json_t *a;
	time_t now = time(NULL);
	size_t i;
	enum cc_err e;

	FIXTURES();

	certs[0] = c_leaf;
	certs[1] = c_self;
	certs[2] = c_old;
	e = cc_certs_to_json(certs, 3, now, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	a = parse(text);
	CU_ASSERT_FATAL(json_is_array(a));
	CU_ASSERT_EQUAL_FATAL(json_array_size(a), 3);
	for (i = 0; i < 3; i++)
		check_object(json_array_get(a, i), certs[i], now);
	json_decref(a);
	free(text);

	/* One. */
	e = cc_certs_to_json(certs + 1, 1, now, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	a = parse(text);
	CU_ASSERT_EQUAL_FATAL(json_array_size(a), 1);
	check_object(json_array_get(a, 0), c_self, now);
	json_decref(a);
	free(text);

	/* None: an empty array, not null and not nothing. */
	e = cc_certs_to_json(certs, 0, now, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	a = parse(text);
	CU_ASSERT(json_is_array(a));
	CU_ASSERT_EQUAL(json_array_size(a), 0);
	json_decref(a);
	free(text);
	e = cc_certs_to_json(NULL, 0, now, &text);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	a = parse(text);
	CU_ASSERT(json_is_array(a) && json_array_size(a) == 0);
	json_decref(a);
	free(text);
}

/*
 * A value JSON cannot carry (a friendly name that is not UTF-8, read from a meta file) must not
 * make the key silently vanish from the object: the call fails and says why.
 */
static void
test_json_not_utf8(void)
{
	struct cc_meta meta = {CC_SVC_UM, false, "caf\xe9", NULL};
	struct cc_cert *c = NULL, *certs[2];
	char *text = (char *)1;
	enum cc_err e;

	FIXTURES();

	e = cc_cert_new(x_leaf, NULL, NULL, &meta, &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	e = cc_cert_to_json(c, time(NULL), &text);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "FriendlyName"));
	if (e == CC_OK)
		free(text);
	certs[0] = c_self;
	certs[1] = c;
	text = (char *)1;
	e = cc_certs_to_json(certs, 2, time(NULL), &text);
	CU_ASSERT_EQUAL(e, CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(text);
	if (e == CC_OK)
		free(text);
	cc_cert_free(c);
}

/* --- list (fl) ----------------------------------------------------------------------------- */

static char *
capture_list(const struct cc_cert *c, time_t now)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	cc_cert_print_list(c, now, f);
	CU_ASSERT_FATAL(fclose(f) == 0);
	return buf;
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

static size_t
count_lines(const char *text)
{
	size_t n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

/* Every property once, "Name                 : value", in alphabetical order. */
static void
check_list_shape(const char *text)
{
	const char *p = text;
	char head[32];
	size_t i;

	CU_ASSERT_EQUAL(count_lines(text), NPROPS);
	for (i = 0; i < NPROPS; i++) {
		snprintf(head, sizeof(head), "%-20s : ", props[i]);
		CU_ASSERT_EQUAL(strncmp(p, head, strlen(head)), 0);
		if ((p = strchr(p, '\n')) == NULL)
			break;
		p++;
	}
}

static void
test_list(void)
{
	char *text, line[128];
	const char *reason = NULL;

	FIXTURES();

	text = capture_list(c_self, time(NULL));
	check_list_shape(text);
	snprintf(line, sizeof(line), "Thumbprint           : %s", self_thumb);
	CU_ASSERT_TRUE(has_line(text, line));
	CU_ASSERT_TRUE(has_line(
	        text, "CertificateDomains   : {mail.contoso.com, autodiscover.contoso.com}"));
	CU_ASSERT_TRUE(has_line(text, "FriendlyName         : Contoso \"UM\" \\ cert"));
	CU_ASSERT_TRUE(has_line(text, "HasPrivateKey        : True"));
	CU_ASSERT_TRUE(has_line(text, "IsSelfSigned         : True"));
	CU_ASSERT_TRUE(has_line(text, "Issuer               : CN=mail.contoso.com"));
	CU_ASSERT_TRUE(has_line(text, "NotAfter             : 2100-01-01T00:00:00Z"));
	CU_ASSERT_TRUE(has_line(text, "NotBefore            : 2023-11-14T22:13:20Z"));
	CU_ASSERT_TRUE(has_line(text, "PrivateKeyExportable : True"));
	CU_ASSERT_TRUE(has_line(text, "PublicKeySize        : 256"));
	CU_ASSERT_TRUE(has_line(text, "RootCAType           : None"));
	CU_ASSERT_TRUE(has_line(text, "SerialNumber         : 0A1B2C"));
	CU_ASSERT_TRUE(has_line(text, "Services             : SMTP, UM"));
	CU_ASSERT_TRUE(has_line(text, "Status               : Valid"));
	CU_ASSERT_TRUE(has_line(text, "Subject              : CN=mail.contoso.com"));
	free(text);

	/* CA-issued, no key: False, None, and Status with its reason. */
	text = capture_list(c_leaf, time(NULL));
	check_list_shape(text);
	snprintf(line, sizeof(line), "Thumbprint           : %s", cc_cert_thumbprint(c_leaf));
	CU_ASSERT_TRUE(has_line(text, line));
	CU_ASSERT_TRUE(has_line(text, "CertificateDomains   : {leaf.contoso.com}"));
	CU_ASSERT_TRUE(has_line(text, "FriendlyName         : "));
	CU_ASSERT_TRUE(has_line(text, "HasPrivateKey        : False"));
	CU_ASSERT_TRUE(has_line(text, "IsSelfSigned         : False"));
	CU_ASSERT_TRUE(has_line(text, "Issuer               : CN=Contoso Issuing CA"));
	CU_ASSERT_TRUE(has_line(text, "PrivateKeyExportable : False"));
	CU_ASSERT_TRUE(has_line(text, "PublicKeySize        : 2048"));
	CU_ASSERT_TRUE(has_line(text, "RootCAType           : Unknown"));
	CU_ASSERT_TRUE(has_line(text, "Services             : None"));
	CU_ASSERT_EQUAL(cc_cert_status(c_leaf, time(NULL), &reason), CC_STATUS_UNKNOWN);
	CU_ASSERT_TRUE(has_line(text, "Status               : Unknown"));
	snprintf(line, sizeof(line), "StatusDetail         : %s", reason);
	CU_ASSERT_TRUE(has_line(text, line));
	free(text);

	/* Expired: DateInvalid, with the reason. */
	text = capture_list(c_old, time(NULL));
	check_list_shape(text);
	CU_ASSERT_TRUE(has_line(text, "Status               : DateInvalid"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "StatusDetail         : certificate has expired"));
	CU_ASSERT_TRUE(has_line(text, "Services             : LDAP"));
	free(text);
}

/* A friendly name that reached a cc_cert with a line break cannot forge a second property. */
static void
test_list_control_chars(void)
{
	struct cc_meta meta = {CC_SVC_UM, false, "x\nStatus               : Valid", NULL};
	struct cc_cert *c = NULL;
	char *text;
	enum cc_err e;

	FIXTURES();

	e = cc_cert_new(x_old, NULL, NULL, &meta, &c);
	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	text = capture_list(c, time(NULL));
	check_list_shape(text);
	CU_ASSERT_FALSE(has_line(text, "Status               : Valid"));
	free(text);
	cc_cert_free(c);
}

/* --- table --------------------------------------------------------------------------------- */

static char *
capture_row(unsigned services)
{
	struct cc_meta meta = {services, false, NULL, NULL};
	struct cc_cert *c = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	enum cc_err e = cc_cert_new(x_self, NULL, NULL, &meta, &c);

	CU_ASSERT_EQUAL_FATAL(e, CC_OK);
	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	cc_cert_print_table_row(c, f);
	CU_ASSERT_FATAL(fclose(f) == 0);
	cc_cert_free(c);
	return buf;
}

static void
test_table(void)
{
	static const struct {
		unsigned services;
		const char *letters;
	} cases[] = {
	        {CC_SVC_UM | CC_SVC_SMTP, "..U.S."},
	        {CC_SVC_NONE, "......"},
	        {CC_SVC_ALL, "IPUWSL"},
	        {CC_SVC_IMAP, "I....."},
	        {CC_SVC_POP, ".P...."},
	        {CC_SVC_UM, "..U..."},
	        {CC_SVC_IIS, "...W.."},
	        {CC_SVC_SMTP, "....S."},
	        {CC_SVC_LDAP, ".....L"},
	        {CC_SVC_IMAP | CC_SVC_POP | CC_SVC_IIS, "IP.W.."},
	};
	char *buf = NULL, *row, want[256];
	size_t len = 0, i;
	FILE *f;

	FIXTURES();

	f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	cc_cert_print_table_header(f);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_EQUAL(count_lines(buf), 2);
	CU_ASSERT_EQUAL(strncmp(buf, "Thumbprint ", 11), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Services"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Subject"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\n----------"));
	free(buf);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		row = capture_row(cases[i].services);
		snprintf(want, sizeof(want), "%s  %-8s  %s\n", self_thumb, cases[i].letters,
		         "CN=mail.contoso.com");
		CU_ASSERT_STRING_EQUAL(row, want);
		free(row);
	}
}

static CU_TestInfo tests[] = {
        {"fixtures", test_fixtures},
        {"JSON: one certificate, every key", test_json_one},
        {"JSON: Status at the time given", test_json_status_now},
        {"JSON: all services in order", test_json_services_all},
        {"JSON: arrays of 3, 1 and 0", test_json_array},
        {"JSON: a value that is not UTF-8 fails the call", test_json_not_utf8},
        {"list: every property, values", test_list},
        {"list: control characters cannot forge lines", test_list_control_chars},
        {"table: header and service letters", test_table},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	return tu_run("format", tests);
}
