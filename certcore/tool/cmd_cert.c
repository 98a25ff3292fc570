/* certctl verbs on certificates: new, renew, get, enable, remove, export. */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/fileio.h"
#include "certcore/format.h"
#include "certcore/selfsigned.h"
#include "certcore/request.h"
#include "certcore/secret.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certcore/verify.h"
#include "certctl.h"

static const char new_help[] =
        "usage: certctl new [--domain NAME]... [--subject X500] [--services LIST]\n"
        "                   [--key rsa2048|rsa1024|rsa4096|ec256|ec384] [--days N]\n"
        "                   [--exportable] [--friendly-name NAME]\n"
        "Creates a self-signed certificate. The first domain becomes the CN unless --subject is\n"
        "given (\"c=us,o=contoso corp,cn=mail.contoso.com\"). Without domains or subject: what\n"
        "Exchange's setup made, CN=<host name>, the host name and FQDN, and SMTP enabled unless\n"
        "--services says otherwise. Default: RSA 2048, 365 days, not exportable.\n";

int
cmd_new(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"domain", required_argument, NULL, 'd'},
	        {"subject", required_argument, NULL, 's'},
	        {"services", required_argument, NULL, 'S'},
	        {"key", required_argument, NULL, 'k'},
	        {"days", required_argument, NULL, 'D'},
	        {"exportable", no_argument, NULL, 'e'},
	        {"friendly-name", required_argument, NULL, 'f'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_new_params p;
	struct cc_store *s = NULL;
	struct cc_cert *c;
	const char **domains = NULL;
	char thumb[CC_THUMB_LEN + 1], *fqdn = NULL, *shortname = NULL;
	const char *hostdoms[2];
	bool have_services = false;
	int ch, rc = EXIT_FAILURE;
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
			if ((r = cc_services_parse(optarg, &p.services)) != CC_OK) {
				rc = certctl_usage(new_help, "%s", cc_errdetail());
				goto out;
			}
			have_services = true;
			break;
		case 'k':
			if ((r = cc_key_type_parse(optarg, &p.key_type)) != CC_OK) {
				rc = certctl_usage(new_help, "%s", cc_errdetail());
				goto out;
			}
			break;
		case 'D':
			if (certctl_parse_int(optarg, 1, 36600, &p.days) == -1) {
				rc = certctl_usage(new_help, "--days: \"%s\" is not 1..36600",
				                   optarg);
				goto out;
			}
			break;
		case 'e':
			p.exportable = true;
			break;
		case 'f':
			p.friendly_name = optarg;
			break;
		case 'h':
			fputs(new_help, stdout);
			rc = EXIT_SUCCESS;
			goto out;
		default:
			rc = certctl_usage(new_help, "bad option");
			goto out;
		}
	}
	if (optind != argc) {
		rc = certctl_usage(new_help, "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	p.domains = domains;
	if (p.ndomains == 0 && p.subject == NULL) {
		/* New-ExchangeCertificate with no arguments: the internal transport certificate. */
		if ((r = cc_host_names(&fqdn, &shortname)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		hostdoms[0] = shortname;
		hostdoms[1] = fqdn;
		p.domains = hostdoms;
		p.ndomains = strcmp(fqdn, shortname) == 0 ? 1 : 2;
		if (!have_services)
			p.services = CC_SVC_SMTP;
	}
	if ((r = certctl_open_store(store, CC_STORE_CREATE, &s)) != CC_OK ||
	    (r = cc_store_new_self_signed(s, &p, thumb)) != CC_OK ||
	    (r = cc_store_find(s, thumb, &c)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	cc_cert_print_table_header(stdout);
	cc_cert_print_table_row(c, stdout);
	rc = EXIT_SUCCESS;
out:
	free(domains);
	free(fqdn);
	free(shortname);
	certctl_close_store(s, rc);
	return rc;
}

static const char renew_help[] =
        "usage: certctl renew THUMBPRINT [--services LIST]\n"
        "Creates a new self-signed certificate with the same subject, domains, services, key type\n"
        "and validity length as THUMBPRINT, and a new key. The old one is kept until removed.\n"
        "--services gives the clone these services instead (Get-ExchangeCertificate THUMB |\n"
        "New-ExchangeCertificate -Services LIST).\n";

int
cmd_renew(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"services", required_argument, NULL, 'S'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_clone_params cp;
	struct cc_store *s = NULL;
	struct cc_cert *c;
	char thumb[CC_THUMB_LEN + 1];
	int ch, rc = EXIT_FAILURE;
	enum cc_err r;

	memset(&cp, 0, sizeof(cp));
	cp.now = time(NULL);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(renew_help, stdout);
			return EXIT_SUCCESS;
		}
		if (ch != 'S')
			return certctl_usage(renew_help, "bad option");
		if (cc_services_parse(optarg, &cp.services) != CC_OK)
			return certctl_usage(renew_help, "%s", cc_errdetail());
		if (cp.services == 0)
			return certctl_usage(renew_help, "--services: at least one service");
	}
	if (argc - optind != 1)
		return certctl_usage(renew_help, "one thumbprint expected");
	if ((r = certctl_open_store(store, 0, &s)) != CC_OK ||
	    (r = cc_store_clone(s, argv[optind], &cp, thumb)) != CC_OK ||
	    (r = cc_store_find(s, thumb, &c)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	cc_cert_print_table_header(stdout);
	cc_cert_print_table_row(c, stdout);
	rc = EXIT_SUCCESS;
out:
	certctl_close_store(s, rc);
	return rc;
}

static const char get_help[] =
        "usage: certctl get [THUMBPRINT] [--domain FQDN] [--format table|list|json] [--offline]\n"
        "Lists certificates: all, one by thumbprint, or those whose CertificateDomains match FQDN\n"
        "(wildcards cover one left-most label). table: Thumbprint, Services, Subject; list: every\n"
        "property (as Get-ExchangeCertificate | fl); json: an array of objects. Status is "
        "computed\n"
        "afresh: chain, dates and revocation (--offline: cached and local CRLs only).\n";

int
cmd_get(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"domain", required_argument, NULL, 'd'},
	        {"format", required_argument, NULL, 'F'},
	        {"offline", no_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	enum { TABLE, LIST, JSON } fmt = TABLE;
	struct cc_store *s = NULL;
	struct cc_cert **sel = NULL, *one;
	struct cc_requests *rq = NULL;
	const struct cc_request **rsel = NULL, *rone;
	size_t nr = 0;
	const char *domain = NULL, *thumb = NULL;
	char *json = NULL;
	size_t i, n = 0;
	time_t now = time(NULL);
	int ch, rc = EXIT_FAILURE;
	struct cc_verify_opts vo;
	enum cc_err r;

	memset(&vo, 0, sizeof(vo));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			domain = optarg;
			break;
		case 'o':
			vo.offline = true;
			break;
		case 'F':
			if (strcmp(optarg, "table") == 0)
				fmt = TABLE;
			else if (strcmp(optarg, "list") == 0)
				fmt = LIST;
			else if (strcmp(optarg, "json") == 0)
				fmt = JSON;
			else
				return certctl_usage(
				        get_help, "--format: \"%s\" (table, list, json)", optarg);
			break;
		case 'h':
			fputs(get_help, stdout);
			return EXIT_SUCCESS;
		default:
			return certctl_usage(get_help, "bad option");
		}
	}
	if (argc - optind > 1)
		return certctl_usage(get_help, "at most one thumbprint expected");
	if (argc - optind == 1)
		thumb = argv[optind];
	if ((r = certctl_open_store(store, 0, &s)) != CC_OK ||
	    (r = cc_store_verify_all(s, &vo)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	if ((r = certctl_load_requests(s, &rq)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	if ((sel = calloc(cc_store_count(s) + 1, sizeof(*sel))) == NULL ||
	    (rsel = calloc(cc_requests_count(rq) + 1, sizeof(*rsel))) == NULL) {
		certctl_msg("out of memory");
		goto out;
	}
	if (thumb != NULL && cc_requests_find(rq, thumb, &rone) == CC_OK) {
		/* A pending request is shown by its id, as a certificate by its thumbprint. */
		if (domain == NULL || cc_request_matches_host(rone, domain))
			rsel[nr++] = rone;
	} else if (thumb != NULL) {
		if ((r = cc_store_find(s, thumb, &one)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		if (domain == NULL || cc_cert_matches_host(one, domain))
			sel[n++] = one;
	} else {
		for (i = 0; i < cc_store_count(s); i++)
			if (domain == NULL || cc_cert_matches_host(cc_store_cert(s, i), domain))
				sel[n++] = cc_store_cert(s, i);
		for (i = 0; i < cc_requests_count(rq); i++)
			if (domain == NULL ||
			    cc_request_matches_host(cc_requests_get(rq, i), domain))
				rsel[nr++] = cc_requests_get(rq, i);
	}
	switch (fmt) {
	case TABLE:
		cc_cert_print_table_header(stdout);
		for (i = 0; i < n; i++)
			cc_cert_print_table_row(sel[i], stdout);
		for (i = 0; i < nr; i++)
			cc_request_print_table_row(rsel[i], stdout);
		break;
	case LIST:
		for (i = 0; i < n; i++) {
			if (i > 0)
				fputc('\n', stdout);
			cc_cert_print_list(sel[i], now, stdout);
		}
		for (i = 0; i < nr; i++) {
			if (n + i > 0)
				fputc('\n', stdout);
			cc_request_print_list(rsel[i], stdout);
		}
		break;
	case JSON:
		if ((r = cc_listing_to_json(sel, n, rsel, nr, now, &json)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		printf("%s\n", json);
		break;
	}
	rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(json);
	free(sel);
	free(rsel);
	cc_requests_free(rq);
	cc_store_free(s);
	return rc;
}

static const char enable_help[] = "usage: certctl enable THUMBPRINT --services LIST\n"
                                  "Adds services (SMTP, POP, IMAP, UM, IIS, LDAP) to a "
                                  "certificate. Services already enabled\n"
                                  "stay enabled, as Enable-ExchangeCertificate does.\n";

int
cmd_enable(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"services", required_argument, NULL, 'S'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_store *s = NULL;
	struct cc_cert *c;
	unsigned services = 0;
	int ch, have = 0, rc = EXIT_FAILURE;
	char buf[64];
	enum cc_err r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			if (cc_services_parse(optarg, &services) != CC_OK)
				return certctl_usage(enable_help, "%s", cc_errdetail());
			have = 1;
			break;
		case 'h':
			fputs(enable_help, stdout);
			return EXIT_SUCCESS;
		default:
			return certctl_usage(enable_help, "bad option");
		}
	}
	if (argc - optind != 1 || !have)
		return certctl_usage(enable_help, "a thumbprint and --services are required");
	if ((r = certctl_open_store(store, 0, &s)) != CC_OK ||
	    (r = cc_store_enable(s, argv[optind], services)) != CC_OK ||
	    (r = cc_store_find(s, argv[optind], &c)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	printf("%s  %s\n", cc_cert_thumbprint(c),
	       cc_services_format(cc_cert_services(c), buf, sizeof(buf)));
	rc = EXIT_SUCCESS;
out:
	certctl_close_store(s, rc);
	return rc;
}

static const char remove_help[] =
        "usage: certctl remove THUMBPRINT\n"
        "Removes a certificate, its private key, its metadata and its expiry state.\n";

int
cmd_remove(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_store *s = NULL;
	int ch, rc = EXIT_FAILURE;
	enum cc_err r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'h') {
			fputs(remove_help, stdout);
			return EXIT_SUCCESS;
		}
		return certctl_usage(remove_help, "bad option");
	}
	if (argc - optind != 1)
		return certctl_usage(remove_help, "one thumbprint expected");
	if ((r = certctl_open_store(store, 0, &s)) != CC_OK ||
	    (r = cc_store_remove(s, argv[optind])) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	rc = EXIT_SUCCESS;
out:
	certctl_close_store(s, rc);
	return rc;
}

static const char export_help[] =
        "usage: certctl export THUMBPRINT --out FILE|- [--der]\n"
        "       certctl export THUMBPRINT --pfx --password-file FILE --out FILE|-\n"
        "Writes the public certificate (PEM, or DER with --der) for a peer's trust store, such as\n"
        "a SIP gateway's. With --pfx: PKCS#12 with the private key and the chain, encrypted with\n"
        "AES-256-CBC under the first line of the password file (mode 0600 or 0400), with a\n"
        "SHA-256 MAC; refused unless the certificate is PrivateKeyExportable, as\n"
        "Export-ExchangeCertificate does.\n";

int
cmd_export(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"out", required_argument, NULL, 'o'},
	        {"der", no_argument, NULL, 'D'},
	        {"pfx", no_argument, NULL, 'P'},
	        {"password-file", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_store *s = NULL;
	struct cc_cert *c;
	const char *out = NULL, *pwfile = NULL;
	char *pw = NULL;
	unsigned char *der = NULL;
	const void *data = NULL;
	size_t len = 0;
	BIO *b = NULL;
	BUF_MEM *m = NULL;
	int ch, der_fmt = 0, pfx = 0, n, rc = EXIT_FAILURE;
	enum cc_err r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'D':
			der_fmt = 1;
			break;
		case 'P':
			pfx = 1;
			break;
		case 'p':
			pwfile = optarg;
			break;
		case 'h':
			fputs(export_help, stdout);
			return EXIT_SUCCESS;
		default:
			return certctl_usage(export_help, "bad option");
		}
	}
	if (argc - optind != 1 || out == NULL)
		return certctl_usage(export_help, "a thumbprint and --out are required");
	if (pfx && der_fmt)
		return certctl_usage(export_help, "--pfx and --der do not go together");
	if (pfx != (pwfile != NULL))
		return certctl_usage(export_help, "--pfx and --password-file go together");
	if ((r = certctl_open_store(store, 0, &s)) != CC_OK ||
	    (r = cc_store_find(s, argv[optind], &c)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	if (pfx) {
		if ((r = cc_secret_read_file(pwfile, &pw)) != CC_OK ||
		    (r = cc_cert_export_pkcs12(c, pw, &der, &len)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		data = der;
	} else if (der_fmt) {
		if ((n = i2d_X509(cc_cert_x509(c), &der)) <= 0) {
			certctl_msg("encoding the certificate failed");
			goto out;
		}
		data = der;
		len = (size_t)n;
	} else {
		if ((b = BIO_new(BIO_s_mem())) == NULL ||
		    PEM_write_bio_X509(b, cc_cert_x509(c)) != 1) {
			certctl_msg("encoding the certificate failed");
			goto out;
		}
		BIO_get_mem_ptr(b, &m);
		data = m->data;
		len = m->length;
	}
	/* A PFX is encrypted, but it is the key: a file of it is readable by its owner only. */
	if (strcmp(out, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			certctl_msg("writing to standard output: %s", strerror(errno));
			goto out;
		}
	} else if ((r = cc_file_write_atomic(out, data, len, pfx ? 0600 : 0644)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	rc = EXIT_SUCCESS;
out:
	cc_secret_free(pw);
	OPENSSL_free(der);
	BIO_free(b);
	cc_store_free(s);
	return rc;
}
