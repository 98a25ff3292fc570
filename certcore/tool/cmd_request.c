/*
 * certctl verbs of the CA path: request (New-ExchangeCertificate -GenerateRequest) and import
 * (Import-ExchangeCertificate); the listing of pending requests for get.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/fileio.h"
#include "certcore/format.h"
#include "certcore/request.h"
#include "certcore/secret.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certctl.h"

#define MAX_IMPORT_FILE (16 * 1024 * 1024)

enum cc_err
certctl_load_requests(struct cc_store *s, struct cc_requests **rs)
{
	size_t i;
	enum cc_err r;

	if ((r = cc_requests_load(s, rs)) != CC_OK)
		return r;
	for (i = 0; i < cc_requests_problem_count(*rs); i++)
		fprintf(stderr, "certctl: warning: %s: %s\n", cc_requests_problem_path(*rs, i),
		        cc_requests_problem_reason(*rs, i));
	return CC_OK;
}

/* Writes bytes to FILE (atomically) or, for "-", to standard output. */
static int
write_out(const char *out, const void *data, size_t len, mode_t mode)
{
	enum cc_err r;

	if (strcmp(out, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			certctl_msg("writing to standard output: %s", strerror(errno));
			return EXIT_FAILURE;
		}
		return EXIT_SUCCESS;
	}
	if ((r = cc_file_write_atomic(out, data, len, mode)) != CC_OK)
		return certctl_fail(r);
	return EXIT_SUCCESS;
}

static const char request_help[] =
        "usage: certctl request [--subject X500] [--domain NAME]... [--services LIST]\n"
        "                       [--key rsa2048|rsa1024|rsa4096|ec256|ec384] [--exportable]\n"
        "                       [--friendly-name NAME] [--der] --out FILE|-\n"
        "Writes a PKCS#10 certificate request (PEM, or DER with --der) for a CA to issue, with\n"
        "a SAN of every domain and EKU serverAuth and clientAuth, and keeps its new key in the\n"
        "store as a pending request (Status PendingRequest in get). Names and defaults as for\n"
        "new. Services, exportable flag and friendly name apply to the certificate when the\n"
        "issued certificate is imported (certctl import).\n";

int
cmd_request(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"domain", required_argument, NULL, 'd'},
	        {"subject", required_argument, NULL, 's'},
	        {"services", required_argument, NULL, 'S'},
	        {"key", required_argument, NULL, 'k'},
	        {"exportable", no_argument, NULL, 'e'},
	        {"friendly-name", required_argument, NULL, 'f'},
	        {"der", no_argument, NULL, 'D'},
	        {"out", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_request_params p;
	struct cc_store *s = NULL;
	struct cc_requests *rs = NULL;
	const struct cc_request *q;
	X509_REQ *req = NULL;
	const char **domains = NULL, *out = NULL;
	char id[CC_THUMB_LEN + 1];
	unsigned char *der = NULL;
	BIO *b = NULL;
	BUF_MEM *m = NULL;
	int ch, der_fmt = 0, len, rc = EXIT_FAILURE;
	enum cc_err r;

	memset(&p, 0, sizeof(p));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (certctl_add_list(&domains, &p.ndomains, optarg) == -1) {
				certctl_msg("out of memory");
				goto out;
			}
			break;
		case 's':
			p.subject = optarg;
			break;
		case 'S':
			if (cc_services_parse(optarg, &p.services) != CC_OK) {
				rc = certctl_usage(request_help, "%s", cc_errdetail());
				goto out;
			}
			break;
		case 'k':
			if (cc_key_type_parse(optarg, &p.key_type) != CC_OK) {
				rc = certctl_usage(request_help, "%s", cc_errdetail());
				goto out;
			}
			break;
		case 'e':
			p.exportable = true;
			break;
		case 'f':
			p.friendly_name = optarg;
			break;
		case 'D':
			der_fmt = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(request_help, stdout);
			rc = EXIT_SUCCESS;
			goto out;
		default:
			rc = certctl_usage(request_help, "bad option");
			goto out;
		}
	}
	if (optind != argc) {
		rc = certctl_usage(request_help, "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (out == NULL) {
		rc = certctl_usage(request_help, "--out is required");
		goto out;
	}
	p.domains = domains;
	/* The key is kept before the request is written out: a request whose key was lost
	 * would have a CA issue a certificate nobody can use. */
	if ((r = certctl_open_store(store, CC_STORE_CREATE, &s)) != CC_OK ||
	    (r = cc_store_new_request(s, &p, id, &req)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	if (der_fmt) {
		if ((len = i2d_X509_REQ(req, &der)) <= 0) {
			certctl_msg("encoding the request failed");
			goto out;
		}
		rc = write_out(out, der, (size_t)len, 0644);
	} else {
		if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_REQ(b, req) != 1) {
			certctl_msg("encoding the request failed");
			goto out;
		}
		BIO_get_mem_ptr(b, &m);
		rc = write_out(out, m->data, m->length, 0644);
	}
	if (rc != EXIT_SUCCESS) {
		/* A failed verb leaves nothing behind: the key of a request nobody has is dropped.
		 */
		if ((r = cc_store_remove_request(s, id)) != CC_OK)
			certctl_msg("the request is kept pending as %s (%s: %s)", id,
			            cc_strerror(r), cc_errdetail());
		goto out;
	}
	if (strcmp(out, "-") != 0) {
		if ((r = certctl_load_requests(s, &rs)) != CC_OK ||
		    (r = cc_requests_find(rs, id, &q)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		cc_cert_print_table_header(stdout);
		cc_request_print_table_row(q, stdout);
	}
	rc = EXIT_SUCCESS;
out:
	OPENSSL_free(der);
	BIO_free(b);
	X509_REQ_free(req);
	free(domains);
	cc_requests_free(rs);
	certctl_close_store(s, rc);
	return rc;
}

static const char import_help[] =
        "usage: certctl import FILE [--password-file FILE] [--services LIST]\n"
        "                      [--friendly-name NAME] [--exportable]\n"
        "Imports PEM or DER certificates, a PKCS#7 chain (.p7b) or a PKCS#12 file (.pfx, its\n"
        "password on the first line of --password-file). A certificate without a key completes\n"
        "the pending request whose key it matches (its services, exportable flag and friendly\n"
        "name go with it); one that matches no request is refused. A PKCS#12 brings its own\n"
        "key, exportable again only with --exportable. The chain is stored with the leaf.\n"
        "The password file must be 0600 or 0400. A PKCS#12 asking for more than 10,000,000\n"
        "iterations in one key derivation, or 20,000,000 in all, is refused before any.\n";

int
cmd_import(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"password-file", required_argument, NULL, 'p'},
	        {"services", required_argument, NULL, 'S'},
	        {"friendly-name", required_argument, NULL, 'f'},
	        {"exportable", no_argument, NULL, 'e'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_import_params p;
	struct cc_store *s = NULL;
	struct cc_cert *c;
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *key = NULL;
	const char *pwfile = NULL;
	char *pw = NULL, thumb[CC_THUMB_LEN + 1], id[CC_THUMB_LEN + 1];
	unsigned char *buf = NULL;
	size_t len = 0;
	int ch, rc = EXIT_FAILURE;
	enum cc_err r;

	memset(&p, 0, sizeof(p));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			pwfile = optarg;
			break;
		case 'S':
			if (cc_services_parse(optarg, &p.services) != CC_OK) {
				rc = certctl_usage(import_help, "%s", cc_errdetail());
				goto out;
			}
			break;
		case 'f':
			p.friendly_name = optarg;
			break;
		case 'e':
			p.exportable = true;
			break;
		case 'h':
			fputs(import_help, stdout);
			rc = EXIT_SUCCESS;
			goto out;
		default:
			rc = certctl_usage(import_help, "bad option");
			goto out;
		}
	}
	if (argc - optind != 1) {
		rc = certctl_usage(import_help, "one file to import expected");
		goto out;
	}
	if ((pwfile != NULL && (r = cc_secret_read_file(pwfile, &pw)) != CC_OK) ||
	    (r = cc_file_read(argv[optind], MAX_IMPORT_FILE, &buf, &len, NULL)) != CC_OK ||
	    (r = cc_import_read(buf, len, pw, &certs, &key)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	/*
	 * Only what brings a key may create a store: a bare certificate needs a pending request,
	 * so without a store it is refused and nothing is made.
	 */
	if ((r = certctl_open_store(store, key != NULL ? CC_STORE_CREATE : 0, &s)) != CC_OK ||
	    (r = cc_store_import(s, certs, key, &p, thumb, id)) != CC_OK ||
	    (r = cc_store_find(s, thumb, &c)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	cc_cert_print_table_header(stdout);
	cc_cert_print_table_row(c, stdout);
	rc = EXIT_SUCCESS;
out:
	cc_secret_free(pw);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	sk_X509_pop_free(certs, X509_free);
	EVP_PKEY_free(key);
	certctl_close_store(s, rc);
	return rc;
}
