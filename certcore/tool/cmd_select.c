/* certctl select: which certificate a service would use, and why each other one is not. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certcore/cert.h"
#include "certcore/select.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certctl.h"

static const char select_help[] =
        "usage: certctl select --service SMTP|POP|IMAP|UM|IIS|LDAP [--fqdn NAME]\n"
        "                      [--format table|json] [--offline] [--timeout SECONDS]\n"
        "Shows the eligible certificates for a service in the order the service picks them, the\n"
        "chosen one first, and every other certificate with the reason it is not eligible.\n"
        "UM: CA-issued before self-signed, longest remaining validity first. Others: CA-issued\n"
        "before self-signed, newest first. Only certificates whose CertificateDomains match NAME\n"
        "are candidates: without --fqdn the server's own FQDN, with --fqdn \"\" any name. The\n"
        "FQDN used is printed (json: \"fqdn\", null for any). Exit status 1 when no certificate\n"
        "is eligible.\n";

int
cmd_select(const char *store, int argc, char **argv)
{
	static const struct option opts[] = {
	        {"service", required_argument, NULL, 's'},
	        {"fqdn", required_argument, NULL, 'f'},
	        {"format", required_argument, NULL, 'F'},
	        {"offline", no_argument, NULL, 'o'},
	        {"timeout", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct cc_verify_opts vo;
	struct cc_store *s = NULL;
	struct cc_selection *sel = NULL;
	struct cc_cert *c;
	const char *fqdn = NULL;
	char *json = NULL, t[32];
	unsigned svc = 0;
	int ch, fmt_json = 0, rc = EXIT_FAILURE;
	size_t i;
	enum cc_err r;

	memset(&vo, 0, sizeof(vo));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (cc_services_parse(optarg, &svc) != CC_OK)
				return certctl_usage(select_help, "%s", cc_errdetail());
			if (cc_service_name(svc) == NULL)
				return certctl_usage(select_help,
				                     "--service takes exactly one service");
			break;
		case 'f':
			fqdn = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
				return certctl_usage(select_help, "--format: table or json");
			fmt_json = strcmp(optarg, "json") == 0;
			break;
		case 'o':
			vo.offline = true;
			break;
		case 't':
			if (certctl_parse_int(optarg, 1, 600, &vo.timeout) == -1)
				return certctl_usage(select_help, "--timeout: 1..600 seconds");
			break;
		case 'h':
			fputs(select_help, stdout);
			return EXIT_SUCCESS;
		default:
			return certctl_usage(select_help, "bad option");
		}
	}
	if (argc != optind || svc == 0)
		return certctl_usage(select_help, "--service is required");
	/* No --fqdn: certcore's rule, the server's own FQDN; --fqdn "": any name. */
	if ((r = certctl_open_store(store, 0, &s)) != CC_OK ||
	    (r = cc_store_select(s, svc, fqdn, &vo, &sel)) != CC_OK) {
		rc = certctl_fail(r);
		goto out;
	}
	if (fmt_json) {
		if ((r = cc_selection_to_json(sel, &json)) != CC_OK) {
			rc = certctl_fail(r);
			goto out;
		}
		printf("%s\n", json);
	} else {
		printf("Service:  %s\nFQDN:     %s\nSelected: %s\n", cc_service_name(svc),
		       cc_selection_fqdn(sel) ? cc_selection_fqdn(sel) : "(any)",
		       cc_selection_selected(sel) ? cc_cert_thumbprint(cc_selection_selected(sel))
		                                  : "none");
		printf("\nCandidates, in order:\n");
		if (cc_selection_candidate_count(sel) == 0)
			printf("  (none)\n");
		for (i = 0; i < cc_selection_candidate_count(sel); i++) {
			c = cc_selection_candidate(sel, i);
			printf("  %zu. %s  %-11s  NotAfter %s  %s\n", i + 1, cc_cert_thumbprint(c),
			       cc_cert_is_self_signed(c) ? "self-signed" : "CA-issued",
			       cc_time_iso8601(cc_cert_not_after(c), t), cc_cert_subject(c));
		}
		printf("\nNot eligible:\n");
		if (cc_selection_rejected_count(sel) == 0)
			printf("  (none)\n");
		for (i = 0; i < cc_selection_rejected_count(sel); i++)
			printf("  %s  %s\n", cc_cert_thumbprint(cc_selection_rejected(sel, i)),
			       cc_selection_rejected_reason(sel, i));
	}
	rc = cc_selection_selected(sel) != NULL ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(json);
	cc_selection_free(sel);
	cc_store_free(s);
	return rc;
}
