/*
 * store_bench: how long certcore takes to load a store (cc_store_open) and to select the UM
 * certificate (cc_store_select, offline) as the store grows, and what one cc_store_add costs in
 * a store of that size. Part of tests/bench/run; it prints figures and asserts no time.
 *
 *   store_bench [--sizes 100,1000,10000] [--kind selfsigned|ca|both] [--repeat N]
 *               [--adds N] [--bundle FILE] [--dir DIR]
 *
 * For each size N it makes a store of N certificates for um1.example.test with service UM, all
 * eligible (so select orders N candidates): "selfsigned" certificates each self-signed, or "ca"
 * leaves issued by one throw-away CA whose root is trusted (trust/enterprise) and whose CRL is
 * in crl/ (each leaf is then checked against the trust folders, the system bundle — or
 * --bundle — and the CRL, as umd's own selection does). To be quick, every certificate reuses
 * one EC P-256 key and the files are written in the store's layout directly (README, "The
 * store"). One cc_store_add into the store of N is measured too (--adds calls, the mean
 * reported as add_ms): it fsyncs, and reloads only its own entry when no other writer wrote
 * since (it used to reload the whole store, which made a bulk import quadratic).
 *
 * Load and select are run --repeat times (the median is reported) with the files in the page
 * cache. One JSON line per (kind, N) on stdout, one human line on stderr.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certcore/select.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/trust.h"

#define FQDN      "um1.example.test"
#define MAX_SIZE  100000
#define MAX_SIZES 8
#define DAY       86400L

struct bench_ca {
	X509 *root;
	EVP_PKEY *key;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
fatal(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	fprintf(stderr, "store_bench: %s%s%s\n", what, e ? ": " : "", e ? buf : "");
	exit(1);
}

static void
fatal_cc(const char *what, enum cc_err r)
{
	fprintf(stderr, "store_bench: %s: %s: %s\n", what, cc_strerror(r), cc_errdetail());
	exit(1);
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		fatal("extension");
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for FQDN with `key`: signed by `ca` when given, else self-signed. Serial `serial`;
 * valid from yesterday for `days` days (varied, so the UM order has work to do).
 */
static X509 *
make_cert(EVP_PKEY *key, const struct bench_ca *ca, long serial, long days, const char *cn,
          bool is_ca)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	time_t now = time(NULL);

	if (x == NULL || name == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca->root) : name) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		fatal("certificate fields");
	if (is_ca) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, x, NID_subject_key_identifier, "hash");
	} else {
		add_ext(x, ca ? ca->root : x, NID_basic_constraints, "CA:FALSE");
		add_ext(x, ca ? ca->root : x, NID_key_usage, "critical,digitalSignature");
		add_ext(x, ca ? ca->root : x, NID_ext_key_usage, "serverAuth,clientAuth");
		add_ext(x, ca ? ca->root : x, NID_subject_alt_name, "DNS:" FQDN);
		if (ca != NULL)
			add_ext(x, ca->root, NID_authority_key_identifier, "keyid");
	}
	if (X509_sign(x, ca ? ca->key : key, EVP_sha256()) <= 0)
		fatal("signing");
	X509_NAME_free(name);
	return x;
}

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (k == NULL)
		fatal("EC key");
	return k;
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f;

	(void)unlink(path);
	if ((f = fopen(path, "wx")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "store_bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (chmod(path, mode) != 0) {
		fprintf(stderr, "store_bench: chmod %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* dir/ENTRY, or the program ends: a path cut short would write elsewhere. */
static void
path_of(char *buf, size_t len, const char *dir, const char *part, const char *t, const char *suffix)
{
	int n = snprintf(buf, len, "%s/%s%s%s", dir, part, t, suffix);

	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "store_bench: path too long under %s\n", dir);
		exit(1);
	}
}

static char *
pem_of(X509 *x, EVP_PKEY *key, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m;
	char *out;

	if (b == NULL || (x != NULL && PEM_write_bio_X509(b, x) != 1) ||
	    (key != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1))
		fatal("PEM");
	BIO_get_mem_ptr(b, &m);
	if ((out = malloc(m->length + 1)) == NULL)
		fatal("out of memory");
	memcpy(out, m->data, m->length);
	out[m->length] = '\0';
	*len = m->length;
	BIO_free(b);
	return out;
}

static void
thumbprint(X509 *x, char out[CC_THUMB_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (X509_digest(x, EVP_sha1(), md, &n) != 1 || n * 2 != CC_THUMB_LEN)
		fatal("digest");
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
}

/* One store entry as certcore writes it: certs/T.pem, keys/T.key (0600), meta/T.ini. */
static void
plant(const char *dir, X509 *x, const char *keypem, size_t keylen, const char *chainpem)
{
	char t[CC_THUMB_LEN + 1], path[4096];
	static const char meta[] = "[certificate]\nservices = UM\nexportable = false\n"
	                           "friendly_name = bench\n";
	char *pem, *full;
	size_t len, clen = chainpem ? strlen(chainpem) : 0;

	thumbprint(x, t);
	pem = pem_of(x, NULL, &len);
	if ((full = malloc(len + clen + 1)) == NULL)
		fatal("out of memory");
	memcpy(full, pem, len);
	if (clen > 0)
		memcpy(full + len, chainpem, clen);
	path_of(path, sizeof(path), dir, "keys/", t, ".key");
	write_file(path, keypem, keylen, 0600);
	path_of(path, sizeof(path), dir, "meta/", t, ".ini");
	write_file(path, meta, sizeof(meta) - 1, 0600);
	path_of(path, sizeof(path), dir, "certs/", t, ".pem");
	write_file(path, full, len + clen, 0644);
	free(pem);
	free(full);
}

/* An empty CRL of the CA, fresh for a week, in crl/. */
static void
write_crl(const char *dir, const struct bench_ca *ca)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t1 = ASN1_TIME_new(), *t2 = ASN1_TIME_new();
	time_t now = time(NULL);
	char path[4096];
	BIO *b;

	if (crl == NULL || t1 == NULL || t2 == NULL || X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->root)) != 1 ||
	    X509_time_adj_ex(t1, -1, 0, &now) == NULL || X509_time_adj_ex(t2, 7, 0, &now) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t1) != 1 || X509_CRL_set1_nextUpdate(crl, t2) != 1 ||
	    X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0)
		fatal("CRL");
	path_of(path, sizeof(path), dir, "crl/", "bench-ca", ".crl");
	if ((b = BIO_new_file(path, "w")) == NULL || PEM_write_bio_X509_CRL(b, crl) != 1)
		fatal("writing the CRL");
	BIO_free(b);
	X509_CRL_free(crl);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
run_one(const char *base, bool with_ca, int n, int repeat, int adds, const char *bundle,
        EVP_PKEY *key)
{
	char dir[4096], selected[CC_THUMB_LEN + 1] = "";
	struct bench_ca ca = {NULL, NULL};
	struct cc_store *s = NULL;
	struct cc_selection *sel = NULL;
	struct cc_verify_opts vo;
	struct cc_meta meta = {CC_SVC_UM, false, "bench add", NULL};
	double t, create_ms, load[16], select_ms[16], add_ms = 0, load_med, sel_med;
	char *keypem, *capem = NULL;
	size_t keylen, calen, ncand = 0, nprob = 0;
	enum cc_err r;
	int i;

	snprintf(dir, sizeof(dir), "%s/store-%s-%d-XXXXXX", base, with_ca ? "ca" : "self", n);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "store_bench: mkdtemp %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	if ((r = cc_store_open(dir, CC_STORE_CREATE, &s)) != CC_OK)
		fatal_cc("creating the store", r);
	if (with_ca) {
		ca.key = ec_key();
		ca.root = make_cert(ca.key, NULL, 1, 3650, "umedge bench CA", true);
		if ((r = cc_store_trust_add(s, ca.root, CC_ROOT_ENTERPRISE, NULL)) != CC_OK)
			fatal_cc("trusting the bench CA", r);
		write_crl(dir, &ca);
		capem = pem_of(ca.root, NULL, &calen);
	}
	cc_store_free(s);
	s = NULL;

	keypem = pem_of(NULL, key, &keylen);
	t = now_ms();
	for (i = 0; i < n; i++) {
		X509 *x = make_cert(key, with_ca ? &ca : NULL, 1000 + i, 30 + (i * 7919L) % 700,
		                    FQDN, false);

		plant(dir, x, keypem, keylen, capem);
		X509_free(x);
	}
	create_ms = now_ms() - t;

	memset(&vo, 0, sizeof(vo));
	vo.offline = true;
	vo.bundle = bundle;
	for (i = 0; i < repeat; i++) {
		t = now_ms();
		if ((r = cc_store_open(dir, 0, &s)) != CC_OK)
			fatal_cc("loading the store", r);
		load[i] = now_ms() - t;
		t = now_ms();
		if ((r = cc_store_select(s, CC_SVC_UM, FQDN, &vo, &sel)) != CC_OK)
			fatal_cc("select", r);
		select_ms[i] = now_ms() - t;
		ncand = cc_selection_candidate_count(sel);
		nprob = cc_store_problem_count(s);
		if (cc_selection_selected(sel) != NULL)
			snprintf(selected, sizeof(selected), "%s",
			         cc_cert_thumbprint(cc_selection_selected(sel)));
		if (ncand != (size_t)n && cc_selection_rejected_count(sel) > 0)
			fprintf(stderr, "store_bench: %zu rejected, e.g. %s\n",
			        cc_selection_rejected_count(sel),
			        cc_selection_rejected_reason(sel, 0));
		cc_selection_free(sel);
		sel = NULL;
		cc_store_free(s);
		s = NULL;
	}
	load_med = median(load, repeat);
	sel_med = median(select_ms, repeat);

	/* cc_store_add into the store of n: fsyncs, and loads its own entry. */
	if (adds > 0) {
		if ((r = cc_store_open(dir, 0, &s)) != CC_OK)
			fatal_cc("loading the store", r);
		for (i = 0; i < adds; i++) {
			X509 *x = make_cert(key, NULL, 900000 + i, 400, FQDN, false);

			t = now_ms();
			if ((r = cc_store_add(s, x, NULL, key, &meta, NULL)) != CC_OK)
				fatal_cc("cc_store_add", r);
			add_ms += now_ms() - t;
			X509_free(x);
		}
		add_ms /= adds;
		cc_store_free(s);
		s = NULL;
	}

	printf("{\"tool\":\"store_bench\",\"kind\":\"%s\",\"certs\":%d,\"create_ms\":%.1f,"
	       "\"load_ms\":%.2f,\"load_ms_per_cert\":%.4f,\"select_ms\":%.2f,"
	       "\"select_ms_per_cert\":%.4f,\"add_ms\":%.2f,\"candidates\":%zu,\"problems\":%zu,"
	       "\"selected\":\"%s\",\"repeat\":%d,\"bundle\":\"%s\"}\n",
	       with_ca ? "ca" : "selfsigned", n, create_ms, load_med, load_med / n, sel_med,
	       sel_med / n, add_ms, ncand, nprob, selected, repeat, bundle ? bundle : "(default)");
	fflush(stdout);
	fprintf(stderr,
	        "store_bench: %-10s %6d certificates: load %9.1f ms (%.3f ms/cert), select UM "
	        "%9.1f ms (%.3f ms/cert), %zu candidates",
	        with_ca ? "ca" : "selfsigned", n, load_med, load_med / n, sel_med, sel_med / n,
	        ncand);
	if (adds > 0)
		fprintf(stderr, "; one cc_store_add %.1f ms", add_ms);
	fprintf(stderr, "%s\n", bundle == NULL ? "" : *bundle ? " (bundle given)" : " (no bundle)");
	if (ncand != (size_t)n || nprob != 0) {
		fprintf(stderr, "store_bench: expected %d candidates and no problems\n", n);
		exit(1);
	}
	OPENSSL_cleanse(keypem, keylen);
	free(keypem);
	free(capem);
	X509_free(ca.root);
	EVP_PKEY_free(ca.key);
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "store_bench: removing %s: %s\n", dir, strerror(errno));
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: store_bench [--sizes 100,1000,10000] [--kind selfsigned|ca|both]\n"
	           "                   [--repeat N] [--adds N] [--bundle FILE] [--dir DIR]\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"sizes", required_argument, NULL, 's'},  {"kind", required_argument, NULL, 'k'},
	        {"repeat", required_argument, NULL, 'r'}, {"adds", required_argument, NULL, 'a'},
	        {"bundle", required_argument, NULL, 'b'}, {"dir", required_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int sizes[MAX_SIZES] = {100, 1000, 10000}, nsizes = 3, repeat = 3, adds = 5, ch, i;
	const char *kind = "both", *bundle = NULL, *base = NULL;
	char *p, *end, *list;
	EVP_PKEY *key;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			nsizes = 0;
			list = optarg;
			for (p = list; *p != '\0' && nsizes < MAX_SIZES; p = *end ? end + 1 : end) {
				long v = strtol(p, &end, 10);

				if (end == p || v < 1 || v > MAX_SIZE || (*end != ',' && *end)) {
					fprintf(stderr, "store_bench: --sizes: 1..%d, by commas\n",
					        MAX_SIZE);
					return 2;
				}
				sizes[nsizes++] = (int)v;
			}
			break;
		case 'k':
			kind = optarg;
			if (strcmp(kind, "selfsigned") != 0 && strcmp(kind, "ca") != 0 &&
			    strcmp(kind, "both") != 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'r':
			repeat = atoi(optarg);
			if (repeat < 1 || repeat > 16) {
				fprintf(stderr, "store_bench: --repeat 1..16\n");
				return 2;
			}
			break;
		case 'a':
			adds = atoi(optarg);
			if (adds < 0 || adds > 1000) {
				fprintf(stderr, "store_bench: --adds 0..1000\n");
				return 2;
			}
			break;
		case 'b':
			bundle = optarg;
			break;
		case 'd':
			base = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || nsizes == 0) {
		usage(stderr);
		return 2;
	}
	if (base == NULL)
		base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	key = ec_key();
	for (i = 0; i < nsizes; i++) {
		if (strcmp(kind, "ca") != 0)
			run_one(base, false, sizes[i], repeat, adds, bundle, key);
		if (strcmp(kind, "selfsigned") != 0)
			run_one(base, true, sizes[i], repeat, adds, bundle, key);
	}
	EVP_PKEY_free(key);
	return 0;
}
