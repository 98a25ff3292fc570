/* Shared helpers for the CUnit suites (see testutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "testutil.h"

static void
die(const char *what)
{
	fprintf(stderr, "testutil: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	abort();
}

int
tu_run(const char *suite, CU_TestInfo *tests)
{
	CU_SuiteInfo suites[] = {{(char *)suite, NULL, NULL, NULL, NULL, tests},
	                         CU_SUITE_INFO_NULL};
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	/* A run that ran nothing is a failure: a suite that cannot fail proves nothing. */
	if (CU_get_number_of_tests_run() == 0)
		failures = 1;
	CU_cleanup_registry();
	return failures != 0;
}

char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&p, "%s/umedge-test.XXXXXX", base) < 0)
		die("asprintf");
	if (mkdtemp(p) == NULL)
		die("mkdtemp");
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void
tu_rmrf(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
tu_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	FILE *f;

	unlink(path);
	if ((f = fopen(path, "w")) == NULL)
		die(path);
	if (len > 0 && fwrite(data, 1, len, f) != len)
		die("fwrite");
	if (fclose(f) != 0)
		die("fclose");
	if (chmod(path, mode) != 0)
		die("chmod");
}

char *
tu_read_file(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			if ((buf = realloc(buf, cap)) == NULL)
				die("realloc");
		}
		r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

EVP_PKEY *
tu_make_key(const char *type)
{
	EVP_PKEY *k = NULL;

	if (type == NULL || strcmp(type, "rsa2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(type, "rsa1024") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (strcmp(type, "rsa512") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	else if (strcmp(type, "ec256") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "ec384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (k == NULL)
		die("key generation");
	return k;
}

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		die(value);
	if (X509_add_ext(x, e, -1) != 1)
		die("X509_add_ext");
	X509_EXTENSION_free(e);
}

/* crlDistributionPoints: one distribution point per blank-separated URI. */
static void
add_crl_dps(X509 *x, X509 *issuer, const char *urls)
{
	char *copy, *p, *tok, *val = NULL, *next;

	if ((copy = strdup(urls)) == NULL)
		die("strdup");
	for (p = copy; (tok = strsep(&p, " ")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (asprintf(&next, "%s%sURI:%s", val ? val : "", val ? "," : "", tok) < 0)
			die("asprintf");
		free(val);
		val = next;
	}
	if (val != NULL)
		ext(x, issuer, NID_crl_distribution_points, val);
	free(val);
	free(copy);
}

void
tu_make_cert(const struct tu_cert_spec *spec, X509 **xo, EVP_PKEY **ko)
{
	X509 *x;
	EVP_PKEY *k = tu_make_key(spec->key);
	X509_NAME *n;
	unsigned char sb[12];
	BIGNUM *bn;
	const char *eku = spec->eku ? spec->eku : "serverAuth,clientAuth";
	long na = spec->not_after_offset ? spec->not_after_offset : 365L * 86400;
	char *san = NULL, *next;
	size_t i;
	time_t base;

	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1)
		die("X509_new");
	if (spec->serial != 0) {
		if (ASN1_INTEGER_set(X509_get_serialNumber(x), spec->serial) != 1)
			die("serial");
	} else {
		if (RAND_bytes(sb, sizeof(sb)) != 1)
			die("RAND_bytes");
		sb[0] &= 0x7f;
		sb[0] |= 0x01;
		if ((bn = BN_bin2bn(sb, sizeof(sb), NULL)) == NULL ||
		    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
			die("serial");
		BN_free(bn);
	}
	n = X509_get_subject_name(x);
	if (spec->cn != NULL &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)spec->cn, -1,
	                               -1, 0) != 1)
		die("CN");
	if (spec->cn == NULL &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"umedge tests",
	                               -1, -1, 0) != 1)
		die("O");
	if (X509_set_issuer_name(x, spec->issuer ? X509_get_subject_name(spec->issuer) : n) != 1)
		die("issuer");
	base = spec->base;
	if (X509_time_adj_ex(X509_getm_notBefore(x), 0, spec->not_before_offset,
	                     base ? &base : NULL) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, na, base ? &base : NULL) == NULL)
		die("validity");
	if (X509_set_pubkey(x, k) != 1)
		die("pubkey");
	if (spec->ca) {
		ext(x, spec->issuer ? spec->issuer : x, NID_basic_constraints, "critical,CA:TRUE");
		ext(x, spec->issuer ? spec->issuer : x, NID_key_usage,
		    "critical,keyCertSign,cRLSign,digitalSignature");
	} else {
		ext(x, spec->issuer ? spec->issuer : x, NID_basic_constraints, "critical,CA:FALSE");
	}
	if (*eku != '\0')
		ext(x, spec->issuer ? spec->issuer : x, NID_ext_key_usage, eku);
	ext(x, spec->issuer ? spec->issuer : x, NID_subject_key_identifier, "hash");
	for (i = 0; spec->sans != NULL && spec->sans[i] != NULL; i++) {
		if (asprintf(&next, "%s%sDNS:%s", san ? san : "", san ? "," : "", spec->sans[i]) <
		    0)
			die("asprintf");
		free(san);
		san = next;
	}
	if (san != NULL) {
		ext(x, spec->issuer ? spec->issuer : x, NID_subject_alt_name, san);
		free(san);
	}
	if (spec->crl_url != NULL)
		add_crl_dps(x, spec->issuer ? spec->issuer : x, spec->crl_url);
	if (X509_sign(x, spec->issuer_key ? spec->issuer_key : k, EVP_sha256()) <= 0)
		die("X509_sign");
	*xo = x;
	*ko = k;
}

static char *
bio_text(BIO *b)
{
	BUF_MEM *m;
	char *s;

	BIO_get_mem_ptr(b, &m);
	if ((s = strndup(m->data, m->length)) == NULL)
		die("strndup");
	BIO_free(b);
	return s;
}

char *
tu_cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || PEM_write_bio_X509(b, x) != 1)
		die("PEM_write_bio_X509");
	return bio_text(b);
}

char *
tu_key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
		die("PEM_write_bio_PrivateKey");
	return bio_text(b);
}

char *
tu_key_pem_encrypted(EVP_PKEY *k, const char *password)
{
	BIO *b = BIO_new(BIO_s_mem());

	if (b == NULL || PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), password,
	                                               (int)strlen(password), NULL, NULL) != 1)
		die("PEM_write_bio_PKCS8PrivateKey");
	return bio_text(b);
}

int
tu_sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		die("vasprintf");
	va_end(ap);
	rc = system(cmd);
	free(cmd);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

X509 *
tu_issue_request(X509_REQ *req, X509 *ca, EVP_PKEY *ca_key)
{
	STACK_OF(X509_EXTENSION) * exts;
	unsigned char sb[12];
	BIGNUM *bn = NULL;
	X509 *x;
	int i;

	if (RAND_bytes(sb, sizeof(sb)) != 1)
		die("RAND_bytes");
	sb[0] &= 0x7f;
	sb[0] |= 0x01;
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    (bn = BN_bin2bn(sb, sizeof(sb), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_subject_name(x, X509_REQ_get_subject_name(req)) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) == NULL ||
	    X509_set_pubkey(x, X509_REQ_get0_pubkey(req)) != 1)
		die("issuing a request");
	BN_free(bn);
	exts = X509_REQ_get_extensions(req);
	for (i = 0; exts != NULL && i < sk_X509_EXTENSION_num(exts); i++)
		if (X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1) != 1)
			die("copying requested extensions");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ext(x, ca, NID_authority_key_identifier, "keyid:always");
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
		die("X509_sign");
	return x;
}

static char **tree_lines;
static size_t tree_n;
static size_t tree_root_len;

static int
tree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	unsigned char md[32];
	char hex[65] = "-", *line, *data;
	size_t len = 0, i;

	(void)flag;
	/* The store's lock file holds the writers' generation counter, not store content. */
	if (ftw->level == 1 && strcmp(path + ftw->base, ".lock") == 0)
		return 0;
	if (S_ISREG(st->st_mode)) {
		if ((data = tu_read_file(path, &len)) == NULL)
			die(path);
		SHA256((const unsigned char *)data, len, md);
		free(data);
		for (i = 0; i < sizeof(md); i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	}
	if (asprintf(&line, "%s %o %lld %lld.%09ld %s", path + tree_root_len, (unsigned)st->st_mode,
	             (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
	             hex) < 0)
		die("asprintf");
	if ((tree_lines = realloc(tree_lines, (tree_n + 1) * sizeof(*tree_lines))) == NULL)
		die("realloc");
	tree_lines[tree_n++] = line;
	return 0;
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
tu_tree_listing(const char *dir)
{
	char *all = NULL, *next;
	size_t i;

	tree_lines = NULL;
	tree_n = 0;
	tree_root_len = strlen(dir);
	if (nftw(dir, tree_one, 16, FTW_PHYS) != 0)
		die("nftw");
	qsort(tree_lines, tree_n, sizeof(*tree_lines), cmp_line);
	if ((all = strdup("")) == NULL)
		die("strdup");
	for (i = 0; i < tree_n; i++) {
		if (asprintf(&next, "%s%s\n", all, tree_lines[i]) < 0)
			die("asprintf");
		free(all);
		free(tree_lines[i]);
		all = next;
	}
	free(tree_lines);
	tree_lines = NULL;
	return all;
}

X509_CRL *
tu_make_crl(X509 *issuer, EVP_PKEY *issuer_key, const long *revoked_serials, size_t n,
            long last_update_offset, long next_update_offset)
{
	X509_CRL *crl;
	X509_REVOKED *rev;
	ASN1_TIME *t;
	ASN1_INTEGER *serial;
	size_t i;

	if ((crl = X509_CRL_new()) == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1)
		die("X509_CRL_new");
	if ((t = X509_gmtime_adj(NULL, last_update_offset)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1)
		die("CRL lastUpdate");
	ASN1_TIME_free(t);
	if (next_update_offset != 0) {
		if ((t = X509_gmtime_adj(NULL, next_update_offset)) == NULL ||
		    X509_CRL_set1_nextUpdate(crl, t) != 1)
			die("CRL nextUpdate");
		ASN1_TIME_free(t);
	}
	for (i = 0; i < n; i++) {
		if ((rev = X509_REVOKED_new()) == NULL || (serial = ASN1_INTEGER_new()) == NULL ||
		    ASN1_INTEGER_set(serial, revoked_serials[i]) != 1 ||
		    X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
		    (t = X509_gmtime_adj(NULL, -3600)) == NULL ||
		    X509_REVOKED_set_revocationDate(rev, t) != 1)
			die("X509_REVOKED");
		ASN1_INTEGER_free(serial);
		ASN1_TIME_free(t);
		if (X509_CRL_add0_revoked(crl, rev) != 1)
			die("X509_CRL_add0_revoked");
	}
	if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, issuer_key, EVP_sha256()) <= 0)
		die("X509_CRL_sign");
	return crl;
}

void
tu_write_crl(const char *path, X509_CRL *crl, bool pem)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;

	if (b == NULL || (pem ? PEM_write_bio_X509_CRL(b, crl) : i2d_X509_CRL_bio(b, crl)) != 1)
		die("writing a CRL");
	BIO_get_mem_ptr(b, &m);
	tu_write_file(path, m->data, m->length, 0644);
	BIO_free(b);
}

unsigned char *
tu_crl_der(X509_CRL *crl, size_t *len)
{
	unsigned char *der = NULL;
	int n;

	if ((n = i2d_X509_CRL(crl, &der)) <= 0)
		die("i2d_X509_CRL");
	*len = (size_t)n;
	return der;
}

int
tu_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		die("finding a free port");
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* ---- a CRL distribution point over HTTP ---------------------------------------------------- */

static void
crl_srv_child(int fd, const char *log, const unsigned char *body, size_t len)
{
	char head[8192], hdr[256];
	struct timeval tv = {5, 0};
	size_t got;
	ssize_t n;
	int c, lf, hl;

	for (;;) {
		if ((c = accept(fd, NULL, NULL)) == -1)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		got = 0;
		while (got < sizeof(head) - 1 &&
		       (n = recv(c, head + got, sizeof(head) - 1 - got, 0)) > 0) {
			got += (size_t)n;
			head[got] = '\0';
			if (strstr(head, "\r\n\r\n") != NULL)
				break;
		}
		if ((lf = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600)) != -1) {
			if (write(lf, head, got) < 0 || write(lf, "\n", 1) < 0)
				_exit(2);
			close(lf);
		}
		hl = snprintf(hdr, sizeof(hdr),
		              "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\n"
		              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		              len);
		if (send(c, hdr, (size_t)hl, MSG_NOSIGNAL) < 0 ||
		    send(c, body, len, MSG_NOSIGNAL) < 0) {
			close(c);
			continue;
		}
		close(c);
	}
}

int
tu_listen_loopback(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		die("listening on loopback");
	*port = ntohs(sa.sin_port);
	return fd;
}

void
tu_crl_srv_start_body(struct tu_crl_srv *sv, const char *dir, const void *body, size_t len)
{
	int fd;

	memset(sv, 0, sizeof(*sv));
	if (snprintf(sv->log, sizeof(sv->log), "%s/http.log", dir) >= (int)sizeof(sv->log))
		die("log path");
	fd = tu_listen_loopback(&sv->port);
	fflush(NULL);
	if ((sv->pid = fork()) == -1)
		die("fork");
	if (sv->pid == 0)
		crl_srv_child(fd, sv->log, body, len); /* never returns */
	close(fd);
}

void
tu_crl_srv_start(struct tu_crl_srv *sv, const char *dir, X509_CRL *crl)
{
	unsigned char *der;
	size_t len;

	der = tu_crl_der(crl, &len);
	tu_crl_srv_start_body(sv, dir, der, len);
	OPENSSL_free(der);
}

void
tu_crl_srv_stop(struct tu_crl_srv *sv)
{
	if (sv->pid > 0) {
		kill(sv->pid, SIGKILL);
		waitpid(sv->pid, NULL, 0);
	}
	sv->pid = 0;
}

int
tu_crl_srv_requests(const struct tu_crl_srv *sv, char *first, size_t len)
{
	char *log = tu_read_file(sv->log, NULL), *p, *eol;
	int n = 0;

	if (first != NULL && len > 0)
		first[0] = '\0';
	if (log == NULL)
		return 0;
	for (p = log; (p = strstr(p, "GET ")) != NULL; p += 4) {
		if (n++ == 0 && first != NULL) {
			eol = strstr(p, "\r\n");
			snprintf(first, len, "%.*s", eol ? (int)(eol - p) : (int)strlen(p), p);
		}
	}
	free(log);
	return n;
}
