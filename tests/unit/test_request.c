/*
 * Pending certificate requests (request.c): the PKCS#10 request read back with OpenSSL, the
 * files kept in requests/, the listing, completion by the issued certificate and every way a
 * completion is refused without writing anything, crashes, bad entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/request.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "internal.h"
#include "testutil.h"

#define T0 1767225600L /* 2026-01-01T00:00:00Z */

static X509 *ca;
static EVP_PKEY *ca_key;

static void
make_ca(void)
{
	struct tu_cert_spec spec = {.cn = "umedge Test Root CA", .ca = true, .key = "ec256"};

	if (ca == NULL)
		tu_make_cert(&spec, &ca, &ca_key);
}

/* A fresh store in a fresh directory; *dir is the directory to remove afterwards. */
static struct cc_store *
new_store(char **dir, char **path)
{
	struct cc_store *s = NULL;

	*dir = tu_tmpdir();
	if (asprintf(path, "%s/store", *dir) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(cc_store_open(*path, CC_STORE_CREATE, &s), CC_OK);
	return s;
}

static const char *const two_domains[] = {"mail.contoso.com", "autodiscover.contoso.com"};

static struct cc_request_params
params(void)
{
	struct cc_request_params p;

	memset(&p, 0, sizeof(p));
	p.domains = two_domains;
	p.ndomains = 2;
	p.subject = "c=us,o=contoso corp,cn=mail.contoso.com";
	p.key_type = CC_KEY_EC_P256;
	p.services = CC_SVC_UM;
	p.exportable = true;
	p.friendly_name = "CA path test";
	p.now = T0;
	return p;
}

/* The id computed here independently: SHA-1 of the DER SubjectPublicKeyInfo. */
static void
spki_sha1(EVP_PKEY *pub, char out[CC_THUMB_LEN + 1])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0, i;
	int len = i2d_PUBKEY(pub, &der);

	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(EVP_Q_digest(NULL, "SHA1", NULL, der, (size_t)len, md, &mdlen) == 1);
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	OPENSSL_free(der);
}

static bool
has_dns(GENERAL_NAMES *gens, const char *name)
{
	int i;

	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS &&
		    (size_t)ASN1_STRING_length(g->d.dNSName) == strlen(name) &&
		    memcmp(ASN1_STRING_get0_data(g->d.dNSName), name, strlen(name)) == 0)
			return true;
	}
	return false;
}

static bool
has_eku(EXTENDED_KEY_USAGE *eku, int nid)
{
	int i;

	for (i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid)
			return true;
	return false;
}

static void
test_make(void)
{
	struct cc_request_params p = params();
	X509_REQ *req = NULL, *back = NULL;
	EVP_PKEY *key = NULL;
	STACK_OF(X509_EXTENSION) * exts;
	GENERAL_NAMES *gens;
	EXTENDED_KEY_USAGE *eku;
	unsigned char *der = NULL, *tampered;
	const unsigned char *q;
	char *name;
	BIO *b;
	int len;

	CU_ASSERT_EQUAL_FATAL(cc_request_make(&p, &req, &key), CC_OK);
	CU_ASSERT_TRUE(EVP_PKEY_is_a(key, "EC"));
	CU_ASSERT_EQUAL(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key), 1);

	/* PEM round trip: "CERTIFICATE REQUEST", and the signature verifies with its own key. */
	b = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(PEM_write_bio_X509_REQ(b, req) == 1);
	back = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(X509_REQ_verify(back, X509_REQ_get0_pubkey(back)), 1);
	CU_ASSERT_EQUAL(X509_REQ_get_signature_nid(back), NID_ecdsa_with_SHA256);
	name = X509_NAME_oneline(X509_REQ_get_subject_name(back), NULL, 0);
	CU_ASSERT_STRING_EQUAL(name, "/C=us/O=contoso corp/CN=mail.contoso.com");
	OPENSSL_free(name);

	/* SAN with every domain, EKU serverAuth and clientAuth, requested as extensions. */
	exts = X509_REQ_get_extensions(back);
	CU_ASSERT_PTR_NOT_NULL_FATAL(exts);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	CU_ASSERT_TRUE(has_dns(gens, "mail.contoso.com"));
	CU_ASSERT_TRUE(has_dns(gens, "autodiscover.contoso.com"));
	CU_ASSERT_FALSE(has_dns(gens, "contoso.com"));
	CU_ASSERT_EQUAL(sk_GENERAL_NAME_num(gens), 2);
	eku = X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);
	CU_ASSERT_TRUE(has_eku(eku, NID_server_auth));
	CU_ASSERT_TRUE(has_eku(eku, NID_client_auth));
	GENERAL_NAMES_free(gens);
	EXTENDED_KEY_USAGE_free(eku);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(back);

	/* DER round trip; a flipped bit of the signed part makes verification fail. */
	len = i2d_X509_REQ(req, &der);
	CU_ASSERT_FATAL(len > 0);
	q = der;
	back = d2i_X509_REQ(NULL, &q, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(X509_REQ_verify(back, key), 1);
	X509_REQ_free(back);
	tampered = OPENSSL_memdup(der, (size_t)len);
	tampered[len / 3] ^= 0x01; /* inside the CertificationRequestInfo (the public key) */
	q = tampered;
	back = d2i_X509_REQ(NULL, &q, len);
	CU_ASSERT_TRUE(back == NULL || X509_REQ_verify(back, key) != 1);
	X509_REQ_free(back);
	OPENSSL_free(tampered);
	OPENSSL_free(der);
	ERR_clear_error();
	X509_REQ_free(req);
	EVP_PKEY_free(key);

	/* The CN is the first domain when there is no subject; RSA 2048 by default. */
	p.subject = NULL;
	p.key_type = CC_KEY_RSA_2048;
	CU_ASSERT_EQUAL_FATAL(cc_request_make(&p, &req, &key), CC_OK);
	name = X509_NAME_oneline(X509_REQ_get_subject_name(req), NULL, 0);
	CU_ASSERT_STRING_EQUAL(name, "/CN=mail.contoso.com");
	OPENSSL_free(name);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(key), 2048);
	CU_ASSERT_EQUAL(X509_REQ_get_signature_nid(req), NID_sha256WithRSAEncryption);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

static void
test_make_refused(void)
{
	static const char *const bad[] = {"bad_name.contoso.com"};
	struct cc_request_params p = params();
	X509_REQ *req = (X509_REQ *)1;
	EVP_PKEY *key = (EVP_PKEY *)1;

	p.domains = bad;
	p.ndomains = 1;
	CU_ASSERT_EQUAL(cc_request_make(&p, &req, &key), CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(req);
	CU_ASSERT_PTR_NULL(key);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "not a valid DNS name"));
	p = params();
	p.subject = "xx=1";
	CU_ASSERT_EQUAL(cc_request_make(&p, &req, &key), CC_ERR_PARSE);
	p = params();
	p.friendly_name = "line\nbreak";
	CU_ASSERT_EQUAL(cc_request_make(&p, &req, &key), CC_ERR_INVAL);
	p = params();
	p.key_type = (enum cc_key_type)99;
	CU_ASSERT_EQUAL(cc_request_make(&p, &req, &key), CC_ERR_INVAL);
	CU_ASSERT_PTR_NULL(req);
	CU_ASSERT_PTR_NULL(key);
}

static char *
req_file(const char *store, const char *id, const char *ext)
{
	char *p;

	if (asprintf(&p, "%s/requests/%s.%s", store, id, ext) < 0)
		abort();
	return p;
}

static void
test_store_pending(void)
{
	struct cc_request_params p = params();
	char *dir, *path, *f, *text;
	char id[CC_THUMB_LEN + 1], want[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	struct cc_requests *rs = NULL;
	const struct cc_request *q;
	X509_REQ *req = NULL;
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, &req), CC_OK);
	spki_sha1(X509_REQ_get0_pubkey(req), want);
	CU_ASSERT_STRING_EQUAL(id, want);

	/* The key: 0600, unencrypted PKCS#8, the request's key. */
	f = req_file(path, id, "key");
	CU_ASSERT_EQUAL_FATAL(stat(f, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	text = tu_read_file(f, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-----BEGIN PRIVATE KEY-----"));
	CU_ASSERT_PTR_NULL(strstr(text, "ENCRYPTED"));
	free(text);
	free(f);
	f = req_file(path, id, "csr");
	text = tu_read_file(f, NULL);
	CU_ASSERT_PTR_NOT_NULL(text);
	CU_ASSERT_EQUAL(strncmp(text, "-----BEGIN CERTIFICATE REQUEST-----", 35), 0);
	free(text);
	free(f);
	f = req_file(path, id, "ini");
	CU_ASSERT_EQUAL(stat(f, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	text = tu_read_file(f, NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "created = 2026-01-01T00:00:00Z"));
	free(text);
	free(f);

	/* Listed as pending with what it was made with; it is not a certificate of the store. */
	CU_ASSERT_EQUAL_FATAL(cc_requests_load(s, &rs), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_requests_count(rs), 1);
	CU_ASSERT_EQUAL(cc_requests_problem_count(rs), 0);
	q = cc_requests_get(rs, 0);
	CU_ASSERT_STRING_EQUAL(cc_request_id(q), id);
	CU_ASSERT_STRING_EQUAL(cc_request_subject(q), "CN=mail.contoso.com,O=contoso corp,C=us");
	CU_ASSERT_EQUAL_FATAL(cc_request_domain_count(q), 2);
	CU_ASSERT_STRING_EQUAL(cc_request_domain(q, 0), "mail.contoso.com");
	CU_ASSERT_STRING_EQUAL(cc_request_domain(q, 1), "autodiscover.contoso.com");
	CU_ASSERT_EQUAL(cc_request_key_bits(q), 256);
	CU_ASSERT_TRUE(cc_request_has_private_key(q));
	CU_ASSERT_EQUAL(cc_request_services(q), CC_SVC_UM);
	CU_ASSERT_TRUE(cc_request_exportable(q));
	CU_ASSERT_STRING_EQUAL(cc_request_friendly_name(q), "CA path test");
	CU_ASSERT_EQUAL(cc_request_created(q), T0);
	CU_ASSERT_EQUAL(X509_REQ_verify(cc_request_x509_req(q), X509_REQ_get0_pubkey(req)), 1);
	CU_ASSERT_EQUAL(strncmp(cc_request_pem(q), "-----BEGIN CERTIFICATE REQUEST-----", 35), 0);
	CU_ASSERT_PTR_NULL(cc_requests_get(rs, 1));
	CU_ASSERT_EQUAL(cc_requests_find(rs, want, &q), CC_OK);
	CU_ASSERT_EQUAL(cc_requests_find(rs, "0000000000000000000000000000000000000000", &q),
	                CC_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(q);
	CU_ASSERT_TRUE(cc_store_has_request(s, X509_REQ_get0_pubkey(req)));
	CU_ASSERT_EQUAL(cc_store_reload(s), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);
	CU_ASSERT_EQUAL(cc_store_problem_count(s), 0);
	cc_requests_free(rs);
	X509_REQ_free(req);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_views(void)
{
	static const char *const doms[] = {"um1.example.test"};
	struct cc_request_params p = params();
	struct cc_new_params np;
	char *dir, *path, *json = NULL, *text = NULL;
	char id[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	struct cc_requests *rs = NULL;
	const struct cc_request *q;
	struct cc_cert *c;
	json_t *a, *o;
	size_t len = 0;
	FILE *f;

	memset(&np, 0, sizeof(np));
	np.domains = doms;
	np.ndomains = 1;
	np.key_type = CC_KEY_EC_P256;
	CU_ASSERT_EQUAL_FATAL(cc_store_new_self_signed(s, &np, thumb), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, NULL), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_requests_load(s, &rs), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_requests_find(rs, id, &q), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);

	CU_ASSERT_EQUAL_FATAL(cc_listing_to_json(&c, 1, &q, 1, time(NULL), &json), CC_OK);
	a = json_loads(json, 0, NULL);
	CU_ASSERT_TRUE_FATAL(json_is_array(a) && json_array_size(a) == 2);
	o = json_array_get(a, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Thumbprint")), thumb);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Status")), "Valid");
	o = json_array_get(a, 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Thumbprint")), id);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Status")), "PendingRequest");
	CU_ASSERT_TRUE(json_is_true(json_object_get(o, "HasPrivateKey")));
	CU_ASSERT_TRUE(json_is_false(json_object_get(o, "IsSelfSigned")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "Subject")),
	                       "CN=mail.contoso.com,O=contoso corp,C=us");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "CertificateRequest")),
	                       cc_request_pem(q));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(o, "CertificateDomains")), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(o, "Services"), 0)),
	                       "UM");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "FriendlyName")),
	                       "CA path test");
	json_decref(a);
	free(json);

	f = open_memstream(&text, &len);
	cc_request_print_table_row(q, f);
	cc_request_print_list(q, f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, id));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "..U...    CN=mail.contoso.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "Status               : PendingRequest\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "HasPrivateKey        : True\n"));
	CU_ASSERT_PTR_NOT_NULL(
	        strstr(text, "CertificateRequest   : -----BEGIN CERTIFICATE REQUEST-----\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "                       -----END CERTIFICATE REQUEST"));
	free(text);
	cc_requests_free(rs);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_matches_host(void)
{
	static const char *const doms[] = {"mail.contoso.com", "*.edge.contoso.com"};
	struct cc_request_params p = params();
	char *dir, *path, id[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	struct cc_requests *rs = NULL;
	const struct cc_request *q;

	p.domains = doms;
	p.subject = NULL;
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, NULL), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_requests_load(s, &rs), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_requests_find(rs, id, &q), CC_OK);
	CU_ASSERT_TRUE(cc_request_matches_host(q, "mail.contoso.com"));
	CU_ASSERT_TRUE(cc_request_matches_host(q, "MAIL.contoso.com"));
	CU_ASSERT_TRUE(cc_request_matches_host(q, "e1.edge.contoso.com"));
	CU_ASSERT_FALSE(cc_request_matches_host(q, "a.e1.edge.contoso.com"));
	CU_ASSERT_FALSE(cc_request_matches_host(q, "edge.contoso.com"));
	CU_ASSERT_FALSE(cc_request_matches_host(q, "other.test"));
	CU_ASSERT_FALSE(cc_request_matches_host(q, "*.edge.contoso.com"));
	CU_ASSERT_FALSE(cc_request_matches_host(q, ""));
	cc_requests_free(rs);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static EVP_PKEY *
read_key(const char *file)
{
	char *text = tu_read_file(file, NULL);
	BIO *b = BIO_new_mem_buf(text, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

	BIO_free(b);
	free(text);
	return k;
}

static int
count_pem(const char *file)
{
	char *text = tu_read_file(file, NULL), *p;
	int n = 0;

	for (p = text; p != NULL && (p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL; p++)
		n++;
	free(text);
	return n;
}

static void
test_complete(void)
{
	struct cc_request_params p = params();
	char *dir, *path, *f, *before, *after, *other_files;
	char id[CC_THUMB_LEN + 1], id2[CC_THUMB_LEN + 1], got_id[CC_THUMB_LEN + 1];
	char thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	struct cc_requests *rs = NULL;
	const struct cc_request *q;
	struct cc_cert *c;
	X509_REQ *req = NULL, *req2 = NULL;
	EVP_PKEY *reqkey;
	X509 *leaf;
	STACK_OF(X509) *chain = sk_X509_new_null();

	make_ca();
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, &req), CC_OK);
	/* A second pending request, for another key: completing the first must not touch it. */
	p.friendly_name = "other";
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id2, &req2), CC_OK);
	f = req_file(path, id, "key");
	reqkey = read_key(f);
	free(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reqkey);
	other_files = tu_tree_listing(path);

	leaf = tu_issue_request(req, ca, ca_key);
	sk_X509_push(chain, ca);
	CU_ASSERT_EQUAL_FATAL(
	        cc_store_complete_request(s, leaf, chain, CC_SVC_SMTP, NULL, thumb, got_id), CC_OK);
	CU_ASSERT_STRING_EQUAL(got_id, id);
	CU_ASSERT_EQUAL_FATAL(cc_store_find(s, thumb, &c), CC_OK);
	CU_ASSERT_EQUAL(X509_cmp(cc_cert_x509(c), leaf), 0);
	CU_ASSERT_TRUE(cc_cert_has_private_key(c));
	CU_ASSERT_EQUAL(EVP_PKEY_eq(cc_cert_key(c), reqkey), 1);
	CU_ASSERT_EQUAL(cc_cert_services(c), CC_SVC_UM | CC_SVC_SMTP);
	CU_ASSERT_TRUE(cc_cert_exportable(c));
	CU_ASSERT_STRING_EQUAL(cc_cert_friendly_name(c), "CA path test");
	CU_ASSERT_EQUAL(sk_X509_num(cc_cert_chain(c)), 1);
	CU_ASSERT_STRING_EQUAL(cc_cert_issuer(c), "CN=umedge Test Root CA");
	f = NULL;
	if (asprintf(&f, "%s/certs/%s.pem", path, thumb) < 0)
		abort();
	CU_ASSERT_EQUAL(count_pem(f), 2);
	free(f);

	/* The request's files are gone; the other request is untouched. */
	f = req_file(path, id, "csr");
	CU_ASSERT_EQUAL(access(f, F_OK), -1);
	free(f);
	f = req_file(path, id, "key");
	CU_ASSERT_EQUAL(access(f, F_OK), -1);
	free(f);
	f = req_file(path, id, "ini");
	CU_ASSERT_EQUAL(access(f, F_OK), -1);
	free(f);
	CU_ASSERT_EQUAL_FATAL(cc_requests_load(s, &rs), CC_OK);
	CU_ASSERT_EQUAL(cc_requests_count(rs), 1);
	CU_ASSERT_EQUAL(cc_requests_find(rs, id2, &q), CC_OK);
	CU_ASSERT_EQUAL(cc_requests_find(rs, id, &q), CC_ERR_NOT_FOUND);
	cc_requests_free(rs);
	after = tu_tree_listing(path);
	{
		/* Every line about the second request is as it was. */
		char *line, *nl, *copy = strdup(other_files);

		for (line = copy; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
			*nl = '\0';
			if (strstr(line, id2) != NULL)
				CU_ASSERT_PTR_NOT_NULL(strstr(after, line));
		}
		free(copy);
	}
	free(after);

	/* The same certificate again: its request is gone, so it is refused and nothing moves. */
	before = tu_tree_listing(path);
	CU_ASSERT_EQUAL(cc_store_complete_request(s, leaf, chain, 0, NULL, thumb, got_id),
	                CC_ERR_NO_KEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "matches no pending request"));
	CU_ASSERT_EQUAL(thumb[0], '\0');
	CU_ASSERT_EQUAL(got_id[0], '\0');
	after = tu_tree_listing(path);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(before);
	free(after);
	free(other_files);

	sk_X509_free(chain);
	X509_free(leaf);
	EVP_PKEY_free(reqkey);
	X509_REQ_free(req);
	X509_REQ_free(req2);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_refuse_unmatched(void)
{
	struct cc_request_params p = params();
	struct tu_cert_spec spec = {.cn = "mail.contoso.com", .key = "ec256"};
	char *dir, *path, *before, *after;
	char id[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	X509 *stranger;
	EVP_PKEY *k;

	make_ca();
	spec.issuer = ca;
	spec.issuer_key = ca_key;
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, NULL), CC_OK);
	/* The same subject and domains as the request, but another key. */
	tu_make_cert(&spec, &stranger, &k);
	before = tu_tree_listing(path);
	CU_ASSERT_EQUAL(cc_store_complete_request(s, stranger, NULL, 0, NULL, thumb, NULL),
	                CC_ERR_NO_KEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "matches no pending request"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "CN=mail.contoso.com"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "nothing imported"));
	after = tu_tree_listing(path);
	CU_ASSERT_STRING_EQUAL(before, after);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);
	free(before);
	free(after);
	X509_free(stranger);
	EVP_PKEY_free(k);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

/* A request whose key file was swapped or opened to others: refused, nothing written. */
static void
test_refuse_bad_key_file(void)
{
	struct cc_request_params p = params();
	char *dir, *path, *f, *pem, *before, *after;
	char id[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	X509_REQ *req = NULL;
	EVP_PKEY *other = tu_make_key("ec256");
	X509 *leaf;

	make_ca();
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, &req), CC_OK);
	leaf = tu_issue_request(req, ca, ca_key);
	f = req_file(path, id, "key");
	CU_ASSERT_EQUAL(chmod(f, 0644), 0);
	before = tu_tree_listing(path);
	CU_ASSERT_EQUAL(cc_store_complete_request(s, leaf, NULL, 0, NULL, thumb, NULL),
	                CC_ERR_PERM);
	after = tu_tree_listing(path);
	CU_ASSERT_STRING_EQUAL(before, after);
	free(before);
	free(after);

	pem = tu_key_pem(other);
	tu_write_file(f, pem, strlen(pem), 0600);
	free(pem);
	before = tu_tree_listing(path);
	CU_ASSERT_EQUAL(cc_store_complete_request(s, leaf, NULL, 0, NULL, thumb, NULL),
	                CC_ERR_KEY_MISMATCH);
	after = tu_tree_listing(path);
	CU_ASSERT_STRING_EQUAL(before, after);
	CU_ASSERT_EQUAL(cc_store_count(s), 0);
	free(before);
	free(after);

	unlink(f);
	CU_ASSERT_EQUAL(cc_store_complete_request(s, leaf, NULL, 0, NULL, thumb, NULL),
	                CC_ERR_NO_KEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "missing"));
	free(f);
	X509_free(leaf);
	X509_REQ_free(req);
	EVP_PKEY_free(other);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_remove(void)
{
	struct cc_request_params p = params();
	char *dir, *path, *f;
	char id[CC_THUMB_LEN + 1], lower[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	struct cc_requests *rs = NULL;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, NULL), CC_OK);
	for (i = 0; i <= CC_THUMB_LEN; i++)
		lower[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] + 32 : id[i]);
	CU_ASSERT_EQUAL(cc_store_remove_request(s, lower), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_requests_load(s, &rs), CC_OK);
	CU_ASSERT_EQUAL(cc_requests_count(rs), 0);
	cc_requests_free(rs);
	f = req_file(path, id, "key");
	CU_ASSERT_EQUAL(access(f, F_OK), -1);
	free(f);
	CU_ASSERT_EQUAL(cc_store_remove_request(s, id), CC_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(cc_store_remove_request(s, "12345"), CC_ERR_INVAL);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static const char *crash_at;

static void
crash_hook(const char *step)
{
	if (strcmp(step, crash_at) == 0)
		_exit(42);
}

/* Runs fn in a child that dies at step `at`; true when it died there. */
static bool
crashed_at(const char *at, void (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		crash_at = at;
		cc_store_fault_hook = crash_hook;
		fn(arg);
		_exit(1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 42;
}

struct new_req_arg {
	struct cc_store *s;
};

static void
child_new_request(void *arg)
{
	struct new_req_arg *a = arg;
	struct cc_request_params p = params();
	char id[CC_THUMB_LEN + 1];

	if (cc_store_new_request(a->s, &p, id, NULL) != CC_OK)
		_exit(2);
}

struct complete_arg {
	struct cc_store *s;
	X509 *leaf;
};

static void
child_complete(void *arg)
{
	struct complete_arg *a = arg;
	char thumb[CC_THUMB_LEN + 1];

	if (cc_store_complete_request(a->s, a->leaf, NULL, 0, NULL, thumb, NULL) != CC_OK)
		_exit(2);
}

static void
test_crashes(void)
{
	struct cc_request_params p = params();
	char *dir, *path;
	char id[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1], got[CC_THUMB_LEN + 1];
	struct cc_store *s = new_store(&dir, &path);
	struct cc_requests *rs = NULL;
	struct new_req_arg na = {s};
	struct complete_arg ca_arg;
	X509_REQ *req = NULL;

	/* Until its request file is renamed in, a request is not pending (the key may stay). */
	CU_ASSERT_TRUE(crashed_at("request-after-key", child_new_request, &na));
	CU_ASSERT_TRUE(crashed_at("request-after-ini", child_new_request, &na));
	CU_ASSERT_EQUAL_FATAL(cc_requests_load(s, &rs), CC_OK);
	CU_ASSERT_EQUAL(cc_requests_count(rs), 0);
	cc_requests_free(rs);

	/* Stored but the request not yet removed: completing again finishes the job. */
	make_ca();
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, &req), CC_OK);
	ca_arg.s = s;
	ca_arg.leaf = tu_issue_request(req, ca, ca_key);
	CU_ASSERT_TRUE(crashed_at("request-completed", child_complete, &ca_arg));
	CU_ASSERT_EQUAL(cc_store_reload(s), CC_OK);
	CU_ASSERT_EQUAL(cc_store_count(s), 1);
	CU_ASSERT_TRUE(cc_store_has_request(s, X509_REQ_get0_pubkey(req)));
	CU_ASSERT_EQUAL(cc_store_complete_request(s, ca_arg.leaf, NULL, 0, NULL, thumb, got),
	                CC_OK);
	CU_ASSERT_STRING_EQUAL(got, id);
	CU_ASSERT_STRING_EQUAL(thumb, cc_cert_thumbprint(cc_store_cert(s, 0)));
	CU_ASSERT_FALSE(cc_store_has_request(s, X509_REQ_get0_pubkey(req)));
	CU_ASSERT_EQUAL(cc_store_count(s), 1);
	X509_free(ca_arg.leaf);
	X509_REQ_free(req);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

/*
 * Two certificates for one request (a CA that issued twice) imported at the same moment: one
 * completes the request, the other finds it gone. The first stops just after its certificate
 * is committed (before it removes the request) while the second tries: without one critical
 * section both would be stored, each with the request's key.
 */
static int window_fd = -1;

static void
hold_after_cert(const char *step)
{
	if (strcmp(step, "after-cert") != 0)
		return;
	if (write(window_fd, "x", 1) != 1)
		_exit(3);
	usleep(400000);
}

static void
test_two_certificates_one_request(void)
{
	struct cc_request_params p = params();
	char *dir, *path, id[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1], c;
	struct cc_store *s = new_store(&dir, &path), *s2 = NULL;
	struct cc_cert *found;
	X509_REQ *req = NULL;
	X509 *first, *second;
	int fds[2], status = -1;
	pid_t pid;

	make_ca();
	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, &req), CC_OK);
	first = tu_issue_request(req, ca, ca_key);
	second = tu_issue_request(req, ca, ca_key);
	CU_ASSERT_NOT_EQUAL_FATAL(X509_cmp(first, second), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		window_fd = fds[1];
		cc_store_fault_hook = hold_after_cert;
		_exit(cc_store_complete_request(s, first, NULL, 0, NULL, thumb, NULL) == CC_OK ? 0
		                                                                               : 2);
	}
	CU_ASSERT_FATAL(pid > 0);
	close(fds[1]);
	CU_ASSERT_EQUAL_FATAL(read(fds[0], &c, 1), 1); /* the first is inside its window */
	close(fds[0]);
	CU_ASSERT_EQUAL_FATAL(cc_store_open(path, 0, &s2), CC_OK);
	CU_ASSERT_EQUAL(cc_store_complete_request(s2, second, NULL, 0, NULL, thumb, NULL),
	                CC_ERR_NO_KEY);
	CU_ASSERT_PTR_NOT_NULL(strstr(cc_errdetail(), "matches no pending request"));
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(cc_store_reload(s2), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_store_count(s2), 1);
	found = cc_store_cert(s2, 0);
	CU_ASSERT_EQUAL(X509_cmp(cc_cert_x509(found), first), 0);
	CU_ASSERT_EQUAL(cc_store_problem_count(s2), 0);
	cc_store_free(s2);
	X509_free(first);
	X509_free(second);
	X509_REQ_free(req);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_bad_entries(void)
{
	struct cc_request_params p = params();
	char *dir, *path, *f, *g, *copy;
	const char *text;
	char id[CC_THUMB_LEN + 1];
	const char *fake = "0123456789ABCDEF0123456789ABCDEF01234567";
	const char *moved = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";
	struct cc_store *s = new_store(&dir, &path);
	struct cc_requests *rs = NULL;
	const struct cc_request *q;
	size_t i;
	bool corrupt = false, renamed = false, junk = false, open_key = false, ini = false;

	CU_ASSERT_EQUAL_FATAL(cc_store_new_request(s, &p, id, NULL), CC_OK);
	f = req_file(path, fake, "csr");
	text = "-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE "
	       "REQUEST-----\n";
	tu_write_file(f, text, strlen(text), 0644);
	free(f);
	f = req_file(path, id, "csr");
	g = req_file(path, moved, "csr");
	copy = tu_read_file(f, NULL);
	tu_write_file(g, copy, strlen(copy), 0644);
	free(copy);
	free(g);
	free(f);
	if (asprintf(&f, "%s/requests/notes.txt", path) < 0)
		abort();
	tu_write_file(f, "x", 1, 0600);
	free(f);
	f = req_file(path, id, "key");
	CU_ASSERT_EQUAL(chmod(f, 0640), 0);
	free(f);
	f = req_file(path, id, "ini");
	text = "[certificate]\nexportable = maybe\n";
	tu_write_file(f, text, strlen(text), 0600);
	free(f);

	CU_ASSERT_EQUAL_FATAL(cc_requests_load(s, &rs), CC_OK);
	CU_ASSERT_EQUAL_FATAL(cc_requests_count(rs), 1);
	q = cc_requests_get(rs, 0);
	CU_ASSERT_STRING_EQUAL(cc_request_id(q), id);
	CU_ASSERT_FALSE(cc_request_has_private_key(q)); /* mode 0640: not used */
	CU_ASSERT_FALSE(cc_request_exportable(q));      /* settings ignored: defaults */
	CU_ASSERT_EQUAL(cc_request_services(q), 0);
	for (i = 0; i < cc_requests_problem_count(rs); i++) {
		const char *pp = cc_requests_problem_path(rs, i);
		const char *why = cc_requests_problem_reason(rs, i);

		corrupt |= strstr(pp, fake) != NULL && strstr(why, "not a readable") != NULL;
		renamed |= strstr(pp, moved) != NULL && strstr(why, "does not match") != NULL;
		junk |= strstr(pp, "notes.txt") != NULL && strstr(why, "unexpected") != NULL;
		open_key |= strstr(pp, ".key") != NULL && strstr(why, "0640") != NULL;
		ini |= strstr(pp, ".ini") != NULL && strstr(why, "ignored") != NULL;
	}
	CU_ASSERT_TRUE(corrupt);
	CU_ASSERT_TRUE(renamed);
	CU_ASSERT_TRUE(junk);
	CU_ASSERT_TRUE(open_key);
	CU_ASSERT_TRUE(ini);
	CU_ASSERT_EQUAL(cc_requests_problem_count(rs), 5);
	CU_ASSERT_PTR_NULL(cc_requests_problem_path(rs, 5));
	cc_requests_free(rs);
	cc_store_free(s);
	tu_rmrf(dir);
	free(dir);
	free(path);
}

static void
test_pubkey_id(void)
{
	EVP_PKEY *k = tu_make_key("rsa1024"), *k2 = tu_make_key("rsa1024");
	char a[CC_THUMB_LEN + 1], b[CC_THUMB_LEN + 1], want[CC_THUMB_LEN + 1];

	CU_ASSERT_EQUAL(cc_pubkey_id(k, a), CC_OK);
	spki_sha1(k, want);
	CU_ASSERT_STRING_EQUAL(a, want);
	CU_ASSERT_EQUAL(cc_pubkey_id(k2, b), CC_OK);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(cc_pubkey_id(NULL, b), CC_ERR_INVAL);
	CU_ASSERT_EQUAL(b[0], '\0');
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static CU_TestInfo tests[] = {
        {"make: subject, SAN, EKU, signature verifies (PEM, DER)", test_make},
        {"make: bad domain, subject, name, key type refused", test_make_refused},
        {"store: pending files, modes, id, listing", test_store_pending},
        {"views: JSON with certificates, table, list", test_views},
        {"views: host matching with wildcards", test_matches_host},
        {"complete: key, chain, meta go in; request gone; again refused", test_complete},
        {"complete: no matching request refused, nothing written", test_refuse_unmatched},
        {"complete: swapped, open or missing request key refused", test_refuse_bad_key_file},
        {"remove: by id in any case; twice; bad id", test_remove},
        {"crashes: pending only once committed; completion resumes", test_crashes},
        {"complete: two certificates for one request at once, one stored",
         test_two_certificates_one_request},
        {"load: bad entries reported, the rest loads", test_bad_entries},
        {"id: SHA-1 of the SubjectPublicKeyInfo", test_pubkey_id},
        CU_TEST_INFO_NULL,
};

int
main(void)
{
	int rc = tu_run("request", tests);

	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}
