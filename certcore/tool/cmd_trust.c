/* certctl verbs on trust: trust add|list|remove, and verify (as certutil -verify). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/fileio.h"
#include "certcore/store.h"
#include "certcore/trust.h"
#include "certcore/verify.h"
#include "certctl.h"

static const char trust_help[] =
        "usage: certctl trust add FILE --type registry|enterprise|grouppolicy\n"
        "       certctl trust list [--format table|json]\n"
        "       certctl trust remove THUMBPRINT\n"
        "Manages the store's trusted roots. Roots in the system bundle ($UMEDGE_CA_BUNDLE, "
        "else\n" CC_SYSTEM_BUNDLE ") are trusted too, as ThirdParty; `list` shows them.\n";

static int
trust_add(struct cc_store *s, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"type", required_argument, NULL, 't'},
	        {NULL, 0, NULL, 0},
	};
	enum cc_root_ca_type type = CC_ROOT_UNKNOWN;
	unsigned char *buf = NULL;
	size_t len = 0;
	struct cc_cert *c = NULL;
	char thumb[CC_THUMB_LEN + 1];
	int ch, have = 0, rc = EXIT_FAILURE;
	enum cc_err r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 't')
			return certctl_usage(trust_help, "bad option");
		if (cc_root_ca_type_parse(optarg, &type) != CC_OK)
			return certctl_usage(trust_help, "%s", cc_errdetail());
		have = 1;
	}
	if (argc - optind != 1 || !have)
		return certctl_usage(trust_help, "trust add needs FILE and --type");
	if ((r = cc_file_read(argv[optind], 1024 * 1024, &buf, &len, NULL)) != CC_OK ||
	    (r = cc_cert_new_from_bytes(buf, len, &c)) != CC_OK ||
	    (r = cc_store_trust_add(s, cc_cert_x509(c), type, thumb)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	printf("%s  %s  %s\n", thumb, cc_root_ca_type_name(type), cc_cert_subject(c));
	rc = EXIT_SUCCESS;
out:
	cc_cert_free(c);
	free(buf);
	return rc;
}

static int
trust_list(struct cc_store *s, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"format", required_argument, NULL, 'F'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_trust *t = NULL;
	json_t *arr = NULL, *o;
	struct cc_cert *c = NULL;
	char *text;
	int ch, json = 0, rc = EXIT_FAILURE;
	size_t i;
	enum cc_err r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'F' || (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0))
			return certctl_usage(trust_help, "bad option");
		json = strcmp(optarg, "json") == 0;
	}
	if (argc != optind)
		return certctl_usage(trust_help, "trust list takes no argument");
	if ((r = cc_trust_load(s, NULL, &t)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	for (i = 0; i < cc_trust_problem_count(t); i++)
		fprintf(stderr, "certctl: warning: %s\n", cc_trust_problem(t, i));
	if (json && (arr = json_array()) == NULL)
		goto out;
	if (!json)
		printf("%-40s  %-11s  %s\n", "Thumbprint", "RootCAType", "Subject");
	for (i = 0; i < cc_trust_count(t); i++) {
		/* The thumbprint and subject as every other view prints them. */
		if ((r = cc_cert_new(cc_trust_cert(t, i), NULL, NULL, NULL, &c)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		if (json) {
			o = json_pack("{s:s, s:s, s:s}", "Thumbprint", cc_cert_thumbprint(c),
			              "RootCAType", cc_root_ca_type_name(cc_trust_type(t, i)),
			              "Subject", cc_cert_subject(c));
			if (o != NULL)
				json_array_append_new(arr, o);
		} else {
			printf("%-40s  %-11s  %s\n", cc_cert_thumbprint(c),
			       cc_root_ca_type_name(cc_trust_type(t, i)), cc_cert_subject(c));
		}
		cc_cert_free(c);
		c = NULL;
	}
	if (json) {
		if ((text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
			goto out;
		printf("%s\n", text);
		free(text);
	}
	rc = EXIT_SUCCESS;
out:
	json_decref(arr);
	cc_trust_free(t);
	return rc;
}

int
cmd_trust(const char *store, int argc, char **argv)
{
	struct cc_store *s = NULL;
	int rc = EXIT_FAILURE;
	enum cc_err r;

	if (argc < 2)
		return certctl_usage(trust_help, "trust needs add, list or remove");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(trust_help, stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "list") != 0 &&
	    strcmp(argv[1], "remove") != 0)
		return certctl_usage(trust_help, "unknown trust verb \"%s\"", argv[1]);
	/* Trusting a gateway's CA comes before umd's first start: add creates the store. */
	if ((r = certctl_open_store(store, strcmp(argv[1], "add") == 0 ? CC_STORE_CREATE : 0,
	                            &s)) != CC_OK)
		return certctl_fail(r);
	optind = 1;
	if (strcmp(argv[1], "add") == 0) {
		rc = trust_add(s, argc - 1, argv + 1);
	} else if (strcmp(argv[1], "list") == 0) {
		rc = trust_list(s, argc - 1, argv + 1);
	} else if (argc != 3) {
		rc = certctl_usage(trust_help, "trust remove needs one thumbprint");
	} else if ((r = cc_store_trust_remove(s, argv[2])) != CC_OK) {
		rc = certctl_fail(r);
	} else {
		rc = EXIT_SUCCESS;
	}
	certctl_close_store(s, rc);
	return rc;
}

static const char verify_help[] =
        "usage: certctl verify THUMBPRINT [--offline] [--timeout SECONDS] [--proxy URL]\n"
        "                      [--ca-bundle FILE]\n"
        "Checks a certificate as certutil -verify does: builds its chain to a trusted root,\n"
        "checks dates and signatures, and each certificate's revocation against a CRL (the\n"
        "store's crl/ folder, else fetched from its distribution points over HTTP or LDAP).\n"
        "Prints the chain, each certificate's status, and each CRL: where it came from, whether\n"
        "it could be had, and its nextUpdate. Exit status 0 only when the status is Valid.\n";

int
cmd_verify(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"offline", no_argument, NULL, 'o'},
	        {"timeout", required_argument, NULL, 't'},
	        {"proxy", required_argument, NULL, 'p'},
	        {"ca-bundle", required_argument, NULL, 'b'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_verify_opts vo;
	struct cc_store *s = NULL;
	struct cc_cert *c, *e;
	struct cc_verify *v = NULL;
	char t1[32], t2[32];
	const struct cc_crl_info *ci;
	int ch, rc = EXIT_FAILURE;
	size_t i;
	enum cc_err r;

	memset(&vo, 0, sizeof(vo));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			vo.offline = true;
			break;
		case 't':
			if (certctl_parse_int(optarg, 1, 600, &vo.timeout) == -1)
				return certctl_usage(verify_help, "--timeout: 1..600 seconds");
			break;
		case 'p':
			vo.proxy = optarg;
			break;
		case 'b':
			vo.bundle = optarg;
			break;
		case 'h':
			fputs(verify_help, stdout);
			return EXIT_SUCCESS;
		default:
			return certctl_usage(verify_help, "bad option");
		}
	}
	if (argc - optind != 1)
		return certctl_usage(verify_help, "one thumbprint expected");
	if ((r = certctl_open_store(store, 0, &s)) != CC_OK ||
	    (r = cc_store_find(s, argv[optind], &c)) != CC_OK ||
	    (r = cc_store_verify(s, c, &vo, &v)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	printf("Certificate: %s\n", cc_cert_thumbprint(c));
	printf("Subject:     %s\n", cc_cert_subject(c));
	printf("Status:       %s\n", cc_status_name(cc_verify_status(v)));
	printf("StatusDetail: %s\n", cc_verify_reason(v));
	printf("RootCAType:  %s\n", cc_root_ca_type_name(cc_verify_root_type(v)));
	printf("\nChain:\n");
	for (i = 0; i < cc_verify_chain_count(v); i++) {
		if ((r = cc_cert_new(cc_verify_chain_cert(v, i), NULL, NULL, NULL, &e)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		printf("  [%zu] %s\n      %s  %s%s%s\n", i, cc_cert_subject(e),
		       cc_cert_thumbprint(e), cc_status_name(cc_verify_chain_status(v, i)),
		       *cc_verify_chain_reason(v, i) ? ": " : "", cc_verify_chain_reason(v, i));
		cc_cert_free(e);
	}
	printf("\nCRLs:\n");
	if (cc_verify_crl_count(v) == 0)
		printf("  (none checked)\n");
	for (i = 0; i < cc_verify_crl_count(v); i++) {
		ci = cc_verify_crl(v, i);
		printf("  for %s\n", ci->for_subject);
		if (ci->ok) {
			printf("      issuer %s, from %s %s\n", ci->issuer,
			       cc_crl_source_name(ci->source), ci->location);
			printf("      thisUpdate %s, nextUpdate %s\n",
			       cc_time_iso8601(ci->this_update, t1),
			       ci->next_update ? cc_time_iso8601(ci->next_update, t2) : "none");
		} else {
			printf("      could not be had: %s\n", ci->error);
		}
	}
	rc = cc_verify_status(v) == CC_STATUS_VALID ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	cc_verify_free(v);
	cc_store_free(s);
	return rc;
}
