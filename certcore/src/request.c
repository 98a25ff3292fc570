/*
 * Pending certificate requests (New-ExchangeCertificate -GenerateRequest) in the store's
 * requests/ folder, and their completion by the certificate a CA issued for them. The file
 * layout and the id are described in certcore/request.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/format.h"
#include "certcore/request.h"
#include "certcore/services.h"
#include "internal.h"
#include "meta.h"

#define MAX_FILE (1024 * 1024) /* no request, key or INI file is larger */

/* The same host matching as cc_cert_matches_host (cert.c). */
#define HOST_FLAGS (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT)

struct cc_request {
	char id[CC_THUMB_LEN + 1];
	X509_REQ *req;
	char *pem;
	char *subject;
	char **domains;
	size_t ndomains;
	int key_bits;
	bool has_key;
	unsigned services;
	bool exportable;
	char *friendly_name;
	time_t created;
};

struct cc_requests {
	struct cc_request **v;
	size_t n;
	struct cc_problem *problems;
	size_t nproblems;
};

static void
fault(const char *step)
{
	if (cc_store_fault_hook != NULL)
		cc_store_fault_hook(step);
}

/* A SHA-1 digest as a thumbprint: 40 upper-case hex digits (cert.c's cc_hex_upper). */
static enum cc_err
digest_thumb(const unsigned char *md, unsigned int mdlen, char out[CC_THUMB_LEN + 1])
{
	char *hex = NULL;
	enum cc_err r;

	out[0] = '\0';
	if (mdlen * 2 != CC_THUMB_LEN)
		return cc_seterr(CC_ERR_INVAL, "digest of %u bytes", mdlen);
	if ((r = cc_hex_upper(md, mdlen, "", &hex)) != CC_OK)
		return r;
	memcpy(out, hex, CC_THUMB_LEN + 1);
	free(hex);
	return CC_OK;
}

enum cc_err
cc_pubkey_id(EVP_PKEY *pub, char id_out[CC_THUMB_LEN + 1])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len;
	enum cc_err r = CC_ERR_CRYPTO;

	id_out[0] = '\0';
	if (pub == NULL) {
		r = cc_seterr(CC_ERR_INVAL, "no public key");
		goto out;
	}
	if ((len = i2d_PUBKEY(pub, &der)) <= 0) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the public key");
		goto out;
	}
	if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "SHA-1 of the public key");
		goto out;
	}
	r = digest_thumb(md, mdlen, id_out);
out:
	OPENSSL_free(der);
	return r;
}

/* ---- making a request ------------------------------------------------------------------- */

/* Moves one extension of the template certificate onto the list for the request. */
static enum cc_err
take_ext(X509 *tmpl, int nid, STACK_OF(X509_EXTENSION) * exts)
{
	int i = X509_get_ext_by_NID(tmpl, nid, -1);

	if (i < 0)
		return CC_OK; /* no SAN when there are no domains */
	if (!sk_X509_EXTENSION_push(exts, X509_get_ext(tmpl, i)))
		return cc_seterr_ssl(CC_ERR_NOMEM, "request extensions");
	return CC_OK;
}

enum cc_err
cc_request_make(const struct cc_request_params *p, X509_REQ **req_out, EVP_PKEY **key_out)
{
	struct cc_new_params np;
	X509 *tmpl = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	enum cc_err r = CC_ERR_CRYPTO;

	*req_out = NULL;
	*key_out = NULL;
	/*
	 * The names, the key and the extensions come from a self-signed template made by the same
	 * code as `certctl new`, so a request takes exactly the subjects, domains (RFC 1123 names,
	 * one left-most wildcard), defaults and key types a self-signed certificate takes. Only its
	 * subject, key and requested extensions go into the request; the template is discarded.
	 */
	memset(&np, 0, sizeof(np));
	np.domains = p->domains;
	np.ndomains = p->ndomains;
	np.subject = p->subject;
	np.key_type = p->key_type;
	np.friendly_name = p->friendly_name;
	np.now = p->now;
	if ((r = cc_selfsigned_create(&np, &tmpl, &key)) != CC_OK)
		goto out;
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "request extensions");
		goto out;
	}
	/* RFC 2986 section 4.1 extensionRequest: what the CA is asked to put in the certificate. */
	if ((r = take_ext(tmpl, NID_subject_alt_name, exts)) != CC_OK ||
	    (r = take_ext(tmpl, NID_key_usage, exts)) != CC_OK ||
	    (r = take_ext(tmpl, NID_ext_key_usage, exts)) != CC_OK)
		goto out;
	if ((req = X509_REQ_new()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "X509_REQ_new");
		goto out;
	}
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, X509_get_subject_name(tmpl)) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 || X509_REQ_add_extensions(req, exts) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "building the request");
		goto out;
	}
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "signing the request");
		goto out;
	}
	*req_out = req;
	*key_out = key;
	req = NULL;
	key = NULL;
	r = CC_OK;
out:
	sk_X509_EXTENSION_free(exts); /* the extensions belong to the template */
	X509_free(tmpl);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return r;
}

static enum cc_err
req_pem(X509_REQ *req, char **out)
{
	BIO *b = NULL;
	BUF_MEM *m;
	enum cc_err r = CC_ERR_CRYPTO;

	*out = NULL;
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new");
		goto out;
	}
	if (PEM_write_bio_X509_REQ(b, req) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the request");
		goto out;
	}
	BIO_get_mem_ptr(b, &m);
	if ((*out = strndup(m->data, m->length)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "request");
		goto out;
	}
	r = CC_OK;
out:
	BIO_free(b);
	return r;
}

/* The INI of a request: meta/'s [certificate] section, and [request] created. */
static enum cc_err
render_ini(const struct cc_request_params *p, char **out)
{
	struct cc_meta meta;
	char *text = NULL, t[32];
	time_t now = p->now ? p->now : time(NULL);
	enum cc_err r;

	*out = NULL;
	meta.services = p->services;
	meta.exportable = p->exportable;
	meta.friendly_name = p->friendly_name;
	meta.made_by = NULL;
	if ((r = cc_meta_render(&meta, &text)) != CC_OK)
		goto out;
	if ((*out = cc_aprintf("%s\n[request]\ncreated = %s\n", text, cc_time_iso8601(now, t))) ==
	    NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "request INI");
		goto out;
	}
	r = CC_OK;
out:
	free(text);
	return r;
}

/* The files of pending request `id`: their names in requests/, and their paths for messages. */
struct req_files {
	struct cc_dir dir; /* requests/, opened as every folder of the store is */
	char csr[CC_THUMB_LEN + 5], ini[CC_THUMB_LEN + 5], key[CC_THUMB_LEN + 5];
	char *csr_path, *ini_path, *key_path;
};

static void
req_files_close(struct req_files *f)
{
	cc_dir_close(&f->dir);
	free(f->csr_path);
	free(f->ini_path);
	free(f->key_path);
	f->csr_path = f->ini_path = f->key_path = NULL;
}

static enum cc_err
req_files_open(const struct cc_store *s, const char *id, struct req_files *f)
{
	enum cc_err r;

	memset(f, 0, sizeof(*f));
	f->dir.fd = -1;
	snprintf(f->csr, sizeof(f->csr), "%s.csr", id);
	snprintf(f->ini, sizeof(f->ini), "%s.ini", id);
	snprintf(f->key, sizeof(f->key), "%s.key", id);
	if ((r = cc_store_dir(s, "requests", &f->dir)) != CC_OK)
		return r;
	f->csr_path = cc_aprintf("%s/%s", f->dir.path, f->csr);
	f->ini_path = cc_aprintf("%s/%s", f->dir.path, f->ini);
	f->key_path = cc_aprintf("%s/%s", f->dir.path, f->key);
	if (f->csr_path == NULL || f->ini_path == NULL || f->key_path == NULL) {
		req_files_close(f);
		return cc_seterr(CC_ERR_NOMEM, "paths");
	}
	return CC_OK;
}

/* Whether the file `name` of the open folder `d` exists (as a link too: it is not followed). */
static bool
present(const struct cc_dir *d, const char *name)
{
	struct stat st;

	return fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

enum cc_err
cc_store_new_request(struct cc_store *s, const struct cc_request_params *p,
                     char id_out[CC_THUMB_LEN + 1], X509_REQ **req_out)
{
	X509_REQ *req = NULL;
	EVP_PKEY *key = NULL;
	char id[CC_THUMB_LEN + 1];
	char *pem = NULL, *text = NULL;
	struct req_files f = {.dir = {-1, NULL}};
	bool locked = false;
	enum cc_err r;

	id_out[0] = '\0';
	if (req_out != NULL)
		*req_out = NULL;
	if ((r = cc_request_make(p, &req, &key)) != CC_OK || (r = cc_pubkey_id(key, id)) != CC_OK ||
	    (r = req_pem(req, &pem)) != CC_OK || (r = render_ini(p, &text)) != CC_OK)
		goto out;
	if ((r = cc_store_lock(s)) != CC_OK)
		goto out;
	locked = true;
	if ((r = req_files_open(s, id, &f)) != CC_OK)
		goto out;
	if (present(&f.dir, f.csr)) {
		r = cc_seterr(CC_ERR_EXISTS, "request %s is already pending", id);
		goto out;
	}
	/* Key, then INI, then the request: the request's rename makes it pending. */
	if ((r = cc_key_write_pem_at(f.dir.fd, f.dir.path, f.key, key)) != CC_OK)
		goto out;
	fault("request-after-key");
	if ((r = cc_file_write_atomic_at(f.dir.fd, f.dir.path, f.ini, text, strlen(text), 0600)) !=
	    CC_OK)
		goto out;
	fault("request-after-ini");
	if ((r = cc_file_write_atomic_at(f.dir.fd, f.dir.path, f.csr, pem, strlen(pem), 0644)) !=
	    CC_OK)
		goto out;
	fault("request-after-csr");
	memcpy(id_out, id, sizeof(id));
	if (req_out != NULL) {
		*req_out = req;
		req = NULL;
	}
	r = CC_OK;
out:
	req_files_close(&f);
	if (locked)
		cc_store_unlock(s);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	free(pem);
	free(text);
	return r;
}

/* Removes the files of request `id` (normalised); the lock is held by the caller. */
static enum cc_err
remove_files(struct cc_store *s, const char *id)
{
	struct req_files f;
	enum cc_err r;

	if ((r = req_files_open(s, id, &f)) != CC_OK)
		goto out;
	if (!present(&f.dir, f.csr)) {
		r = cc_seterr(CC_ERR_NOT_FOUND, "no pending request %s in %s", id,
		              cc_store_path(s));
		goto out;
	}
	/* The request first: once it is gone the request is no longer pending. */
	if ((r = cc_file_remove_at(f.dir.fd, f.dir.path, f.csr)) != CC_OK)
		goto out;
	fault("request-removed");
	if ((r = cc_file_remove_at(f.dir.fd, f.dir.path, f.ini)) != CC_OK ||
	    (r = cc_file_remove_at(f.dir.fd, f.dir.path, f.key)) != CC_OK)
		goto out;
	r = CC_OK;
out:
	req_files_close(&f);
	return r;
}

enum cc_err
cc_store_remove_request(struct cc_store *s, const char *id)
{
	char t[CC_THUMB_LEN + 1];
	enum cc_err r;

	if ((r = cc_thumbprint_normalize(id, t)) != CC_OK)
		return r;
	if ((r = cc_store_lock(s)) != CC_OK)
		return r;
	r = remove_files(s, t);
	cc_store_unlock(s);
	return r;
}

bool
cc_store_has_request(struct cc_store *s, EVP_PKEY *pub)
{
	char id[CC_THUMB_LEN + 1];
	struct req_files f;
	bool found;

	if (cc_pubkey_id(pub, id) != CC_OK || req_files_open(s, id, &f) != CC_OK)
		return false;
	found = present(&f.dir, f.csr);
	req_files_close(&f);
	return found;
}

/* ---- reading requests back --------------------------------------------------------------- */

struct ini_ctx {
	time_t created;
	bool bad_created;
};

static int
created_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	struct tm tm;
	const char *end;

	if (strcmp(section, "request") != 0 || strcmp(name, "created") != 0)
		return 1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(value, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		ctx->bad_created = true;
	else
		ctx->created = timegm(&tm);
	return 1;
}

/* Reads requests/ID.ini into `m` and `created`. */
static enum cc_err
read_ini(const struct req_files *f, struct meta_file *m, time_t *created)
{
	const char *path = f->ini_path;
	unsigned char *buf = NULL;
	size_t len = 0;
	struct ini_ctx ctx = {0, false};
	enum cc_err r;

	memset(m, 0, sizeof(*m));
	*created = 0;
	if ((r = cc_file_read_at(f->dir.fd, f->dir.path, f->ini, MAX_FILE, &buf, &len, NULL)) !=
	    CC_OK)
		goto out;
	if ((r = cc_meta_parse((const char *)buf, m)) != CC_OK)
		goto out;
	if (ini_parse_string((const char *)buf, created_handler, &ctx) != 0 || ctx.bad_created) {
		cc_meta_clear(m);
		r = cc_seterr(CC_ERR_PARSE, "%s: created is not an ISO 8601 UTC time", path);
		goto out;
	}
	*created = ctx.created;
	r = CC_OK;
out:
	free(buf);
	return r;
}

static void
request_free(struct cc_request *q)
{
	size_t i;

	if (q == NULL)
		return;
	X509_REQ_free(q->req);
	free(q->pem);
	free(q->subject);
	for (i = 0; i < q->ndomains; i++)
		free(q->domains[i]);
	free(q->domains);
	free(q->friendly_name);
	free(q);
}

static enum cc_err
add_problem(struct cc_requests *rs, const char *path, const char *reason)
{
	return cc_problem_add(&rs->problems, &rs->nproblems, "request problems", path, reason);
}

/* As cert.c's CertificateDomains: a name with control or non-ASCII bytes names no domain. */
static enum cc_err
add_domain(struct cc_request *q, const unsigned char *s, size_t len, bool ascii_only)
{
	char **nd;
	size_t i;

	if (len == 0)
		return CC_OK;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f || (ascii_only && s[i] > 0x7f))
			return CC_OK;
	for (i = 0; i < q->ndomains; i++)
		if (strlen(q->domains[i]) == len &&
		    strncasecmp(q->domains[i], (const char *)s, len) == 0)
			return CC_OK;
	if ((nd = realloc(q->domains, (q->ndomains + 1) * sizeof(*nd))) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "domains");
	q->domains = nd;
	if ((nd[q->ndomains] = strndup((const char *)s, len)) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "domains");
	q->ndomains++;
	return CC_OK;
}

static enum cc_err
collect_domains(struct cc_request *q)
{
	const X509_NAME *n = X509_REQ_get_subject_name(q->req);
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	unsigned char *utf8 = NULL;
	int idx = -1, len, i;
	enum cc_err r = CC_OK;

	while ((idx = X509_NAME_get_index_by_NID(n, NID_commonName, idx)) >= 0) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, idx);

		if ((len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e))) < 0) {
			ERR_clear_error();
			continue;
		}
		r = add_domain(q, utf8, (size_t)len, false);
		OPENSSL_free(utf8);
		utf8 = NULL;
		if (r != CC_OK)
			goto out;
	}
	if ((exts = X509_REQ_get_extensions(q->req)) != NULL)
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS)
			continue;
		r = add_domain(q, ASN1_STRING_get0_data(g->d.dNSName),
		               (size_t)ASN1_STRING_length(g->d.dNSName), true);
		if (r != CC_OK)
			goto out;
	}
	ERR_clear_error(); /* a request without extensions has nothing worth reporting */
	r = CC_OK;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return r;
}

/*
 * Loads requests/ID.csr and its INI. A bad entry becomes a problem (*q stays NULL); only
 * running out of memory fails.
 */
static enum cc_err
load_one(struct cc_store *s, struct cc_requests *rs, const char *id, struct cc_request **q_out)
{
	struct cc_request *q = NULL;
	struct req_files f = {.dir = {-1, NULL}};
	const char *csr, *ini, *kpath;
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	struct meta_file mf;
	struct stat st;
	char real[CC_THUMB_LEN + 1], reason[768];
	enum cc_err r;

	*q_out = NULL;
	memset(&mf, 0, sizeof(mf));
	if ((r = req_files_open(s, id, &f)) != CC_OK)
		goto out;
	csr = f.csr_path;
	ini = f.ini_path;
	kpath = f.key_path;
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "request");
		goto out;
	}
	memcpy(q->id, id, CC_THUMB_LEN + 1);
	if ((r = cc_file_read_at(f.dir.fd, f.dir.path, f.csr, MAX_FILE, &buf, &len, NULL)) !=
	    CC_OK) {
		/* Removed since the directory was read: completed or removed by another writer. */
		if (r == CC_ERR_NOT_FOUND)
			r = CC_OK;
		else if (r != CC_ERR_NOMEM)
			r = add_problem(rs, csr, cc_errdetail());
		goto out;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new_mem_buf");
		goto out;
	}
	if ((q->req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) == NULL) {
		(void)cc_seterr_ssl(CC_ERR_PARSE, "not a readable certificate request");
		r = add_problem(rs, csr, cc_errdetail());
		goto out;
	}
	if (cc_pubkey_id(X509_REQ_get0_pubkey(q->req), real) != CC_OK) {
		r = add_problem(rs, csr, cc_errdetail());
		goto out;
	}
	if (strcmp(real, id) != 0) {
		snprintf(reason, sizeof(reason),
		         "file name does not match the request's key id %s; not loaded", real);
		r = add_problem(rs, csr, reason);
		goto out;
	}
	if ((q->pem = strndup((const char *)buf, len)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "request");
		goto out;
	}
	if ((r = cc_name_rfc2253(X509_REQ_get_subject_name(q->req), &q->subject)) != CC_OK ||
	    (r = collect_domains(q)) != CC_OK)
		goto out;
	q->key_bits = EVP_PKEY_get_bits(X509_REQ_get0_pubkey(q->req));
	if ((r = read_ini(&f, &mf, &q->created)) != CC_OK) {
		if (r == CC_ERR_NOMEM)
			goto out;
		snprintf(reason, sizeof(reason), "request settings ignored: %s", cc_errdetail());
		if ((r = add_problem(rs, ini, reason)) != CC_OK)
			goto out;
	}
	q->services = mf.services;
	q->exportable = mf.exportable;
	q->friendly_name = mf.friendly_name;
	mf.friendly_name = NULL;
	/* The key is not read here (a listing needs no secret), only checked to be usable. */
	if (fstatat(f.dir.fd, f.key, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		r = add_problem(rs, kpath, "the request's private key is missing");
		if (r != CC_OK)
			goto out;
	} else if (!S_ISREG(st.st_mode)) {
		r = add_problem(rs, kpath,
		                "the request's private key is not a regular file; key "
		                "not used");
		if (r != CC_OK)
			goto out;
	} else if ((st.st_mode & 077) != 0) {
		snprintf(reason, sizeof(reason),
		         "private key file mode %04o is open to group or others (must be 0600); "
		         "key not used",
		         (unsigned)(st.st_mode & 07777));
		if ((r = add_problem(rs, kpath, reason)) != CC_OK)
			goto out;
	} else {
		q->has_key = true;
	}
	*q_out = q;
	q = NULL;
	r = CC_OK;
out:
	cc_meta_clear(&mf);
	request_free(q);
	BIO_free(b);
	free(buf);
	req_files_close(&f);
	return r;
}

static bool
is_id_name(const char *name, const char *suffix)
{
	size_t i, sl = strlen(suffix);

	if (strlen(name) != CC_THUMB_LEN + sl || strcmp(name + CC_THUMB_LEN, suffix) != 0)
		return false;
	for (i = 0; i < CC_THUMB_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F')))
			return false;
	return true;
}

static int
cmp_request(const void *a, const void *b)
{
	const struct cc_request *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

void
cc_requests_free(struct cc_requests *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		request_free(rs->v[i]);
	free(rs->v);
	cc_problems_free(rs->problems, rs->nproblems);
	free(rs);
}

enum cc_err
cc_requests_load(struct cc_store *s, struct cc_requests **out)
{
	struct cc_requests *rs = NULL;
	struct cc_request *q = NULL, **nv;
	struct cc_dir rd = {-1, NULL};
	char *p = NULL, id[CC_THUMB_LEN + 1];
	DIR *d = NULL;
	struct dirent *de;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "requests");
		goto out;
	}
	if ((r = cc_store_dir(s, "requests", &rd)) != CC_OK) {
		/* A store made before requests existed has no folder: no requests, not a failure.
		 */
		if (r == CC_ERR_NOT_FOUND) {
			*out = rs;
			rs = NULL;
			r = CC_OK;
		}
		goto out;
	}
	if ((d = cc_dir_opendir(&rd)) == NULL) {
		r = cc_seterr_errno(CC_ERR_IO, "cannot read %s", rd.path);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue; /* ".", "..", temporary files of writers */
		if (is_id_name(de->d_name, ".key") || is_id_name(de->d_name, ".ini"))
			continue; /* read with their request */
		if (!is_id_name(de->d_name, ".csr")) {
			free(p);
			if ((p = cc_aprintf("%s/%s", rd.path, de->d_name)) == NULL) {
				r = cc_seterr(CC_ERR_NOMEM, "path");
				goto out;
			}
			if ((r = add_problem(rs, p,
			                     "unexpected file name (not ID.csr, .ini or .key)")) !=
			    CC_OK)
				goto out;
			continue;
		}
		memcpy(id, de->d_name, CC_THUMB_LEN);
		id[CC_THUMB_LEN] = '\0';
		if ((r = load_one(s, rs, id, &q)) != CC_OK)
			goto out;
		if (q == NULL)
			continue;
		if ((nv = realloc(rs->v, (rs->n + 1) * sizeof(*nv))) == NULL) {
			r = cc_seterr(CC_ERR_NOMEM, "requests");
			goto out;
		}
		rs->v = nv;
		nv[rs->n++] = q;
		q = NULL;
	}
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof(*rs->v), cmp_request);
	*out = rs;
	rs = NULL;
	r = CC_OK;
out:
	if (d != NULL)
		closedir(d);
	request_free(q);
	cc_requests_free(rs);
	cc_dir_close(&rd);
	free(p);
	return r;
}

size_t
cc_requests_count(const struct cc_requests *rs)
{
	return rs->n;
}

const struct cc_request *
cc_requests_get(const struct cc_requests *rs, size_t i)
{
	return i < rs->n ? rs->v[i] : NULL;
}

enum cc_err
cc_requests_find(const struct cc_requests *rs, const char *id, const struct cc_request **out)
{
	char t[CC_THUMB_LEN + 1];
	size_t i;
	enum cc_err r;

	*out = NULL;
	if ((r = cc_thumbprint_normalize(id, t)) != CC_OK)
		return r;
	for (i = 0; i < rs->n; i++) {
		if (strcmp(rs->v[i]->id, t) == 0) {
			*out = rs->v[i];
			return CC_OK;
		}
	}
	return cc_seterr(CC_ERR_NOT_FOUND, "no pending request %s", t);
}

size_t
cc_requests_problem_count(const struct cc_requests *rs)
{
	return rs->nproblems;
}

const char *
cc_requests_problem_path(const struct cc_requests *rs, size_t i)
{
	return i < rs->nproblems ? rs->problems[i].path : NULL;
}

const char *
cc_requests_problem_reason(const struct cc_requests *rs, size_t i)
{
	return i < rs->nproblems ? rs->problems[i].reason : NULL;
}

const char *
cc_request_id(const struct cc_request *r)
{
	return r->id;
}

const char *
cc_request_subject(const struct cc_request *r)
{
	return r->subject;
}

size_t
cc_request_domain_count(const struct cc_request *r)
{
	return r->ndomains;
}

const char *
cc_request_domain(const struct cc_request *r, size_t i)
{
	return i < r->ndomains ? r->domains[i] : NULL;
}

int
cc_request_key_bits(const struct cc_request *r)
{
	return r->key_bits;
}

bool
cc_request_has_private_key(const struct cc_request *r)
{
	return r->has_key;
}

unsigned
cc_request_services(const struct cc_request *r)
{
	return r->services;
}

bool
cc_request_exportable(const struct cc_request *r)
{
	return r->exportable;
}

const char *
cc_request_friendly_name(const struct cc_request *r)
{
	return r->friendly_name ? r->friendly_name : "";
}

time_t
cc_request_created(const struct cc_request *r)
{
	return r->created;
}

const char *
cc_request_pem(const struct cc_request *r)
{
	return r->pem;
}

X509_REQ *
cc_request_x509_req(const struct cc_request *r)
{
	return r->req;
}

bool
cc_request_matches_host(const struct cc_request *r, const char *fqdn)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *san;
	X509 *x = NULL;
	bool match = false;
	int i;

	if (fqdn == NULL || *fqdn == '\0' || *fqdn == '.' || strchr(fqdn, '*') != NULL)
		return false;
	/* X509_check_host works on certificates: one carrying the request's subject and SAN. */
	if ((x = X509_new()) == NULL ||
	    X509_set_subject_name(x, X509_REQ_get_subject_name(r->req)) != 1)
		goto out;
	exts = X509_REQ_get_extensions(r->req);
	if (exts != NULL && (i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1)) >= 0) {
		san = X509v3_get_ext(exts, i);
		if (X509_add_ext(x, san, -1) != 1)
			goto out;
	}
	match = X509_check_host(x, fqdn, strlen(fqdn), HOST_FLAGS, NULL) == 1;
out:
	ERR_clear_error();
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_free(x);
	return match;
}

/* ---- views ------------------------------------------------------------------------------- */

static json_t *
request_object(const struct cc_request *r)
{
	json_t *o = NULL, *doms = NULL, *svcs = NULL;
	size_t i;
	unsigned bit;
	int bad = 0;

	if ((o = json_object()) == NULL || (doms = json_array()) == NULL ||
	    (svcs = json_array()) == NULL)
		goto fail;
	for (i = 0; i < r->ndomains; i++)
		bad |= json_array_append_new(doms, json_string(r->domains[i]));
	for (bit = 1; bit & CC_SVC_ALL; bit <<= 1)
		if (r->services & bit)
			bad |= json_array_append_new(svcs, json_string(cc_service_name(bit)));
	/* The property names of a certificate, for the ones a request has. */
	bad |= json_object_set_new(o, "Thumbprint", json_string(r->id));
	bad |= json_object_set_new(o, "Subject", json_string(r->subject));
	bad |= json_object_set_new(o, "CertificateDomains", doms);
	doms = NULL;
	bad |= json_object_set_new(o, "PublicKeySize", json_integer(r->key_bits));
	bad |= json_object_set_new(o, "HasPrivateKey", json_boolean(r->has_key));
	bad |= json_object_set_new(o, "IsSelfSigned", json_false());
	bad |= json_object_set_new(o, "Services", svcs);
	svcs = NULL;
	bad |= json_object_set_new(o, "Status",
	                           json_string(cc_status_name(CC_STATUS_PENDING_REQUEST)));
	bad |= json_object_set_new(o, "PrivateKeyExportable", json_boolean(r->exportable));
	bad |= json_object_set_new(o, "FriendlyName", json_string(cc_request_friendly_name(r)));
	bad |= json_object_set_new(o, "CertificateRequest", json_string(r->pem));
	if (bad)
		goto fail;
	return o;
fail:
	json_decref(doms);
	json_decref(svcs);
	json_decref(o);
	return NULL;
}

enum cc_err
cc_listing_to_json(struct cc_cert *const *certs, size_t ncerts,
                   const struct cc_request *const *reqs, size_t nreqs, time_t now, char **out)
{
	char *text = NULL;
	json_t *a = NULL, *o;
	json_error_t jerr;
	size_t i;
	enum cc_err r;

	*out = NULL;
	/* Certificates exactly as format.c renders them, then the requests. */
	if ((r = cc_certs_to_json(certs, ncerts, now, &text)) != CC_OK)
		goto out;
	if ((a = json_loads(text, 0, &jerr)) == NULL || !json_is_array(a)) {
		r = cc_seterr(CC_ERR_NOMEM, "JSON: %s", jerr.text);
		goto out;
	}
	for (i = 0; i < nreqs; i++) {
		if ((o = request_object(reqs[i])) == NULL || json_array_append_new(a, o) != 0) {
			r = cc_seterr(CC_ERR_NOMEM, "JSON");
			goto out;
		}
	}
	if ((*out = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "JSON");
		goto out;
	}
	r = CC_OK;
out:
	json_decref(a);
	free(text);
	return r;
}

void
cc_request_print_list(const struct cc_request *r, FILE *f)
{
	char svc[64];
	const char *p, *nl;
	size_t i;

	/* Alphabetical, as cc_cert_print_list; the PEM lines under each other. */
	fprintf(f, "%-20s : {", "CertificateDomains");
	for (i = 0; i < r->ndomains; i++)
		fprintf(f, "%s%s", i ? ", " : "", r->domains[i]);
	fprintf(f, "}\n");
	fprintf(f, "%-20s : ", "CertificateRequest");
	if (*r->pem == '\0')
		fputc('\n', f);
	for (p = r->pem; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		fprintf(f, "%s%.*s\n", p == r->pem ? "" : "                       ",
		        (int)(nl - p + (*nl != '\n')), p);
	}
	fprintf(f, "%-20s : %s\n", "FriendlyName", cc_request_friendly_name(r));
	fprintf(f, "%-20s : %s\n", "HasPrivateKey", r->has_key ? "True" : "False");
	fprintf(f, "%-20s : %s\n", "IsSelfSigned", "False");
	fprintf(f, "%-20s : %s\n", "PrivateKeyExportable", r->exportable ? "True" : "False");
	fprintf(f, "%-20s : %d\n", "PublicKeySize", r->key_bits);
	fprintf(f, "%-20s : %s\n", "Services", cc_services_format(r->services, svc, sizeof(svc)));
	fprintf(f, "%-20s : %s\n", "Status", cc_status_name(CC_STATUS_PENDING_REQUEST));
	fprintf(f, "%-20s : %s\n", "Subject", r->subject);
	fprintf(f, "%-20s : %s\n", "Thumbprint", r->id);
}

void
cc_request_print_table_row(const struct cc_request *r, FILE *f)
{
	char s[CC_SERVICES_LETTERS + 1];

	cc_services_letters(r->services, s);
	fprintf(f, "%-40s  %-8s  %s\n", r->id, s, r->subject);
}

/* ---- completion -------------------------------------------------------------------------- */

static enum cc_err
load_key(const struct req_files *f, EVP_PKEY **key)
{
	char why[1024];
	enum cc_err r;

	r = cc_key_read_pem_at(f->dir.fd, f->dir.path, f->key, MAX_FILE, key);
	if (r == CC_ERR_NOT_FOUND)
		return cc_seterr(CC_ERR_NO_KEY, "%s: the request's private key is missing",
		                 f->key_path);
	if (r == CC_ERR_PERM || r == CC_ERR_KEY_ENCRYPTED || r == CC_ERR_PARSE) {
		/* cc_key_read_pem_at names no file: this one is the request's */
		snprintf(why, sizeof(why), "%s", cc_errdetail());
		return cc_seterr(r, "%s: %s", f->key_path, why);
	}
	return r;
}

static enum cc_err
refuse_unmatched(X509 *x, const char *id)
{
	char *subject = NULL;
	enum cc_err r;

	if ((r = cc_name_rfc2253(X509_get_subject_name(x), &subject)) != CC_OK)
		return r;
	r = cc_seterr(CC_ERR_NO_KEY,
	              "certificate \"%s\" matches no pending request (none for its public key, id "
	              "%s) and brings no private key; nothing imported",
	              subject, id);
	free(subject);
	return r;
}

static enum cc_err
cert_thumb(X509 *x, char thumb[CC_THUMB_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (X509_digest(x, EVP_sha1(), md, &mdlen) != 1)
		return cc_seterr_ssl(CC_ERR_CRYPTO, "thumbprint");
	return digest_thumb(md, mdlen, thumb);
}

/* True when the store already holds `x` with a private key equal to `key`. */
static bool
already_stored(struct cc_store *s, X509 *x, EVP_PKEY *key)
{
	char thumb[CC_THUMB_LEN + 1];
	struct cc_cert *c;

	if (cert_thumb(x, thumb) != CC_OK || cc_store_reload(s) != CC_OK ||
	    cc_store_find(s, thumb, &c) != CC_OK) {
		ERR_clear_error();
		return false;
	}
	return cc_cert_key(c) != NULL && EVP_PKEY_eq(cc_cert_key(c), key) == 1;
}

enum cc_err
cc_store_complete_request(struct cc_store *s, X509 *x, STACK_OF(X509) * chain,
                          unsigned extra_services, const char *friendly_name,
                          char thumb_out[CC_THUMB_LEN + 1], char id_out[CC_THUMB_LEN + 1])
{
	EVP_PKEY *pub, *key = NULL;
	char id[CC_THUMB_LEN + 1], thumb[CC_THUMB_LEN + 1];
	struct req_files f = {.dir = {-1, NULL}};
	struct meta_file mf;
	struct cc_meta meta;
	struct stat st;
	time_t created;
	bool locked = false;
	enum cc_err r;

	thumb_out[0] = '\0';
	if (id_out != NULL)
		id_out[0] = '\0';
	memset(&mf, 0, sizeof(mf));
	if (x == NULL || (pub = X509_get0_pubkey(x)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_PARSE, "the certificate's public key");
		goto out;
	}
	/* The request is found by its key's id, so at most one request can match. */
	if ((r = cc_pubkey_id(pub, id)) != CC_OK)
		goto out;
	/*
	 * One critical section from finding the request to removing it: two certificates for one
	 * request imported at once (a CA that issued twice) cannot both complete it.
	 */
	if ((r = cc_store_lock(s)) != CC_OK)
		goto out;
	locked = true;
	if ((r = req_files_open(s, id, &f)) != CC_OK)
		goto out;
	if (fstatat(f.dir.fd, f.csr, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		r = errno == ENOENT ? refuse_unmatched(x, id)
		                    : cc_seterr_errno(CC_ERR_IO, "stat %s", f.csr_path);
		goto out;
	}
	if ((r = load_key(&f, &key)) != CC_OK)
		goto out;
	/* The key file is what the certificate will be used with: it must be the one. */
	if (EVP_PKEY_eq(key, pub) != 1) {
		ERR_clear_error();
		r = cc_seterr(CC_ERR_KEY_MISMATCH,
		              "%s does not hold the key of the certificate's public key; nothing "
		              "imported",
		              f.key_path);
		goto out;
	}
	if ((r = read_ini(&f, &mf, &created)) != CC_OK)
		goto out;
	meta.services = mf.services | extra_services;
	meta.exportable = mf.exportable;
	meta.friendly_name = friendly_name != NULL ? friendly_name : mf.friendly_name;
	meta.made_by = NULL; /* a CA issued it: no daemon renews it on its own */
	r = cc_store_add_locked(s, x, chain, key, &meta, thumb);
	/* An earlier completion stored it and stopped before removing the request: finish it. */
	if (r == CC_ERR_EXISTS && already_stored(s, x, key))
		r = cert_thumb(x, thumb);
	if (r != CC_OK)
		goto out;
	fault("request-completed");
	if ((r = remove_files(s, id)) != CC_OK)
		goto out;
	memcpy(thumb_out, thumb, sizeof(thumb));
	if (id_out != NULL)
		memcpy(id_out, id, sizeof(id));
	r = CC_OK;
out:
	if (locked)
		cc_store_unlock(s);
	cc_meta_clear(&mf);
	EVP_PKEY_free(key);
	req_files_close(&f);
	return r;
}
