/* Trusted roots: the store's trust folders and the system bundle. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certcore/trust.h"
#include "internal.h"

struct root {
	X509 *x;
	enum cc_root_ca_type type;
};

struct cc_trust {
	struct root *roots;
	size_t n;
	char **problems;
	size_t nproblems;
};

static const struct {
	enum cc_root_ca_type type;
	const char *folder;
} folders[] = {
        {CC_ROOT_REGISTRY, "registry"},
        {CC_ROOT_ENTERPRISE, "enterprise"},
        {CC_ROOT_GROUP_POLICY, "grouppolicy"},
};

#define MAX_BUNDLE (16 * 1024 * 1024)

void
cc_trust_free(struct cc_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		X509_free(t->roots[i].x);
	free(t->roots);
	for (i = 0; i < t->nproblems; i++)
		free(t->problems[i]);
	free(t->problems);
	free(t);
}

static enum cc_err
add_problem(struct cc_trust *t, const char *path, const char *reason)
{
	char **np, *p;

	if ((p = cc_aprintf("%s: %s", path, reason)) == NULL)
		return cc_seterr(CC_ERR_NOMEM, "trust problems");
	if ((np = realloc(t->problems, (t->nproblems + 1) * sizeof(*np))) == NULL) {
		free(p);
		return cc_seterr(CC_ERR_NOMEM, "trust problems");
	}
	t->problems = np;
	np[t->nproblems++] = p;
	return CC_OK;
}

/* Takes the reference. */
static enum cc_err
add_root(struct cc_trust *t, X509 *x, enum cc_root_ca_type type)
{
	struct root *nr;
	size_t i;

	/* The same root in two places: the store's own folder wins over the bundle. */
	for (i = 0; i < t->n; i++) {
		if (X509_cmp(t->roots[i].x, x) == 0) {
			X509_free(x);
			return CC_OK;
		}
	}
	if ((nr = realloc(t->roots, (t->n + 1) * sizeof(*nr))) == NULL) {
		X509_free(x);
		return cc_seterr(CC_ERR_NOMEM, "trust");
	}
	t->roots = nr;
	nr[t->n].x = x;
	nr[t->n].type = type;
	t->n++;
	return CC_OK;
}

/*
 * Every certificate of a PEM file: `name` of the store folder `d`, or (d NULL) the file at
 * `path`, the system bundle. `path` names it in problems either way.
 */
static enum cc_err
load_pem_file(struct cc_trust *t, const struct cc_dir *d, const char *name, const char *path,
              enum cc_root_ca_type type)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	X509 *x;
	int count = 0;
	enum cc_err r;

	r = d != NULL ? cc_file_read_at(d->fd, d->path, name, MAX_BUNDLE, &buf, &len, NULL)
	              : cc_file_read(path, MAX_BUNDLE, &buf, &len, NULL);
	if (r != CC_OK) {
		r = r == CC_ERR_NOMEM ? r : add_problem(t, path, cc_errdetail());
		goto out;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "BIO_new_mem_buf");
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if ((r = add_root(t, x, type)) != CC_OK)
			goto out;
		count++;
	}
	if (count == 0) {
		(void)cc_seterr_ssl(CC_ERR_PARSE, "no certificate");
		r = add_problem(t, path, cc_errdetail());
		goto out;
	}
	ERR_clear_error();
	r = CC_OK;
out:
	BIO_free(b);
	free(buf);
	return r;
}

enum cc_err
cc_trust_load(const struct cc_store *s, const char *bundle, struct cc_trust **out)
{
	struct cc_trust *t = NULL;
	struct cc_dir td = {-1, NULL};
	char *p = NULL, folder[64];
	DIR *d = NULL;
	struct dirent *de;
	size_t i;
	enum cc_err r = CC_ERR_NOMEM;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = cc_seterr(CC_ERR_NOMEM, "trust");
		goto out;
	}
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		cc_dir_close(&td);
		snprintf(folder, sizeof(folder), "trust/%s", folders[i].folder);
		/* Missing: no roots of the kind. A link or another user's folder: refused. */
		if ((r = cc_store_dir(s, folder, &td)) == CC_ERR_NOT_FOUND)
			continue;
		if (r != CC_OK)
			goto out;
		if ((d = cc_dir_opendir(&td)) == NULL) {
			if ((r = add_problem(t, td.path, strerror(errno))) != CC_OK)
				goto out;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			free(p);
			if ((p = cc_aprintf("%s/%s", td.path, de->d_name)) == NULL) {
				r = cc_seterr(CC_ERR_NOMEM, "path");
				goto out;
			}
			if ((r = load_pem_file(t, &td, de->d_name, p, folders[i].type)) != CC_OK)
				goto out;
		}
		closedir(d);
		d = NULL;
	}
	if (bundle == NULL)
		bundle = getenv("UMEDGE_CA_BUNDLE");
	if (bundle == NULL)
		bundle = CC_SYSTEM_BUNDLE;
	if (*bundle != '\0' &&
	    (r = load_pem_file(t, NULL, NULL, bundle, CC_ROOT_THIRD_PARTY)) != CC_OK)
		goto out;
	*out = t;
	t = NULL;
	r = CC_OK;
out:
	if (d != NULL)
		closedir(d);
	cc_dir_close(&td);
	free(p);
	cc_trust_free(t);
	return r;
}

size_t
cc_trust_count(const struct cc_trust *t)
{
	return t->n;
}

X509 *
cc_trust_cert(const struct cc_trust *t, size_t i)
{
	return i < t->n ? t->roots[i].x : NULL;
}

enum cc_root_ca_type
cc_trust_type(const struct cc_trust *t, size_t i)
{
	return i < t->n ? t->roots[i].type : CC_ROOT_UNKNOWN;
}

size_t
cc_trust_problem_count(const struct cc_trust *t)
{
	return t->nproblems;
}

const char *
cc_trust_problem(const struct cc_trust *t, size_t i)
{
	return i < t->nproblems ? t->problems[i] : NULL;
}

enum cc_root_ca_type
cc_trust_type_of(const struct cc_trust *t, X509 *root)
{
	size_t i;

	for (i = 0; root != NULL && i < t->n; i++)
		if (X509_cmp(t->roots[i].x, root) == 0)
			return t->roots[i].type;
	return CC_ROOT_UNKNOWN;
}

enum cc_err
cc_trust_x509_store(const struct cc_trust *t, X509_STORE **out)
{
	X509_STORE *st = NULL;
	size_t i;
	enum cc_err r = CC_ERR_CRYPTO;

	*out = NULL;
	if ((st = X509_STORE_new()) == NULL) {
		r = cc_seterr_ssl(CC_ERR_NOMEM, "X509_STORE_new");
		goto out;
	}
	for (i = 0; i < t->n; i++) {
		if (X509_STORE_add_cert(st, t->roots[i].x) != 1) {
			r = cc_seterr_ssl(CC_ERR_CRYPTO, "adding a trusted root");
			goto out;
		}
	}
	*out = st;
	st = NULL;
	r = CC_OK;
out:
	X509_STORE_free(st);
	return r;
}

enum cc_err
cc_root_ca_type_parse(const char *s, enum cc_root_ca_type *out)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(folders) / sizeof(folders[0]); i++) {
		if (strcasecmp(s, folders[i].folder) == 0 ||
		    strcasecmp(s, cc_root_ca_type_name(folders[i].type)) == 0) {
			*out = folders[i].type;
			return CC_OK;
		}
	}
	return cc_seterr(CC_ERR_INVAL, "root type \"%.32s\" (registry, enterprise, grouppolicy)",
	                 s ? s : "");
}

static const char *
folder_of(enum cc_root_ca_type type)
{
	size_t i;

	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++)
		if (folders[i].type == type)
			return folders[i].folder;
	return NULL;
}

enum cc_err
cc_store_trust_add(struct cc_store *s, X509 *root, enum cc_root_ca_type type,
                   char thumb_out[CC_THUMB_LEN + 1])
{
	struct cc_cert *c = NULL;
	const char *folder = folder_of(type);
	struct cc_dir td = {-1, NULL};
	char name[CC_THUMB_LEN + 5], sub[64];
	BIO *b = NULL;
	BUF_MEM *m;
	enum cc_err r = CC_ERR_INVAL;

	if (thumb_out != NULL)
		thumb_out[0] = '\0';
	if (folder == NULL) {
		r = cc_seterr(CC_ERR_INVAL, "roots go to registry, enterprise or grouppolicy");
		goto out;
	}
	if ((r = cc_cert_new(root, NULL, NULL, NULL, &c)) != CC_OK)
		goto out;
	/* A trust anchor is a CA's own certificate: self-signed, and not marked CA:FALSE. */
	if (!cc_cert_is_self_signed(c)) {
		r = cc_seterr(CC_ERR_INVAL, "%s is not a self-signed root certificate",
		              cc_cert_thumbprint(c));
		goto out;
	}
	if ((X509_get_extension_flags(root) & EXFLAG_BCONS) && !X509_check_ca(root)) {
		r = cc_seterr(CC_ERR_INVAL,
		              "%s is not a CA certificate (basicConstraints CA:FALSE)",
		              cc_cert_thumbprint(c));
		goto out;
	}
	snprintf(name, sizeof(name), "%s.pem", cc_cert_thumbprint(c));
	snprintf(sub, sizeof(sub), "trust/%s", folder);
	if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, root) != 1) {
		r = cc_seterr_ssl(CC_ERR_CRYPTO, "encoding the root");
		goto out;
	}
	BIO_get_mem_ptr(b, &m);
	/* One file, renamed into place: no lock is needed for it to appear whole or not at all. */
	if ((r = cc_store_dir(s, sub, &td)) != CC_OK ||
	    (r = cc_file_write_atomic_at(td.fd, td.path, name, m->data, m->length, 0644)) != CC_OK)
		goto out;
	if (thumb_out != NULL)
		memcpy(thumb_out, cc_cert_thumbprint(c), CC_THUMB_LEN + 1);
	r = CC_OK;
out:
	BIO_free(b);
	cc_dir_close(&td);
	cc_cert_free(c);
	return r;
}

enum cc_err
cc_store_trust_remove(struct cc_store *s, const char *thumb)
{
	struct cc_dir td = {-1, NULL};
	struct stat st;
	char t[CC_THUMB_LEN + 1], name[CC_THUMB_LEN + 5], sub[64];
	size_t i;
	int found = 0;
	enum cc_err r;

	if ((r = cc_thumbprint_normalize(thumb, t)) != CC_OK)
		return r;
	snprintf(name, sizeof(name), "%s.pem", t);
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		cc_dir_close(&td);
		snprintf(sub, sizeof(sub), "trust/%s", folders[i].folder);
		if ((r = cc_store_dir(s, sub, &td)) == CC_ERR_NOT_FOUND)
			continue;
		if (r != CC_OK)
			goto out;
		if (fstatat(td.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if ((r = cc_file_remove_at(td.fd, td.path, name)) != CC_OK)
				goto out;
			found = 1;
		}
	}
	r = found ? CC_OK
	          : cc_seterr(CC_ERR_NOT_FOUND, "no trusted root %s in the store's trust folders",
	                      t);
out:
	cc_dir_close(&td);
	return r;
}
