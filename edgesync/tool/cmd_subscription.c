/* edgesync subscription new|import|list|remove|add-cert (New-EdgeSubscription and friends). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/fileio.h"
#include "edgesync.h"
#include "edgesync/bootstrap.h"
#include "edgesync/credential.h"
#include "edgesync/identity.h"
#include "edgesync/pin.h"
#include "edgesync/replicator.h"
#include "edgesync/subfile.h"
#include "edgesync/subscription.h"

static const char help_sub[] =
        "usage: edgesync subscription new --out FILE [--valid-minutes N] [--format text|json]\n"
        "                                  (on the edge: prints the pin of the edge's key)\n"
        "       edgesync subscription import FILE --pin SHA256:...\n"
        "                                  (the pin `new` printed, carried apart from FILE)\n"
        "       edgesync subscription list [--format text|json]\n"
        "       edgesync subscription remove EDGE\n"
        "       edgesync subscription add-cert EDGE CERTFILE\n";

/* `new --format json`: one object, the keys in the style of `list --format json`. */
static int
print_new_json(struct tool *t, const char *out, const struct es_bootstrap_result *res)
{
	char when[32], pbuf[ES_PIN_TEXT_LEN + 1], *text = NULL;
	json_t *o;
	int status = EXIT_FAILURE;

	o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:i}", "Name", t->cfg->edge_name, "File",
	              out, "Pin", es_pin_format(&res->pin, pbuf), "Thumbprint", res->thumb,
	              "CertificateCreated", res->created, "BindDN", res->bind_dn, "Effective",
	              cc_time_iso8601(res->effective, when), "Minutes", res->minutes);
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		tool_msg(t, "out of memory (the file %s was written)", out);
		goto out;
	}
	printf("%s\n", text);
	status = EXIT_SUCCESS;
out:
	free(text);
	json_decref(o);
	return status;
}

static int
sub_new(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
	                                     {"valid-minutes", required_argument, NULL, 'm'},
	                                     {"format", required_argument, NULL, 'f'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct es_bootstrap_result res;
	const char *out = NULL;
	char when[32], pbuf[ES_PIN_TEXT_LEN + 1];
	int minutes = 1440, c, status;
	bool json = false;
	enum es_err r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'm':
			if (tool_parse_int(optarg, 1, ES_SUBFILE_MAX_MINUTES, &minutes) != 0)
				return tool_usage(t, help_sub, "--valid-minutes: want 1 to %d",
				                  ES_SUBFILE_MAX_MINUTES);
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "text") == 0)
				json = false;
			else
				return tool_usage(t, help_sub, "--format: text or json");
			break;
		case 'h':
			fputs(help_sub, stdout);
			return EXIT_SUCCESS;
		default:
			return tool_usage(t, help_sub, "bad option");
		}
	}
	if (out == NULL || optind != argc)
		return tool_usage(t, help_sub,
		                  "subscription new needs --out FILE and nothing else");
	if ((r = es_bootstrap_subscription(t->cfg, t->log, minutes, time(NULL), out, &res)) !=
	    ES_OK)
		return tool_fail(t, r);
	if (json) {
		status = print_new_json(t, out, &res);
		es_bootstrap_result_clear(&res);
		return status;
	}
	/* the pin on a line of its own, as `pin: SHA256:...`, for people and for scripts */
	printf("edge %s: subscription file %s written (0600), valid %d minutes from %s\n",
	       t->cfg->edge_name, out, res.minutes, cc_time_iso8601(res.effective, when));
	printf("certificate %s (%s), bind DN %s\n", res.thumb,
	       res.created ? "created now, service LDAP" : "service LDAP, reused", res.bind_dn);
	printf("pin: %s\n", es_pin_format(&res.pin, pbuf));
	printf("nothing protects the file on its way: carry this pin to the replicator apart from "
	       "it (read it out, or another channel), run `edgesync subscription import FILE --pin "
	       "%s` there within %d minutes, then delete the file\n",
	       pbuf, res.minutes);
	es_bootstrap_result_clear(&res);
	return EXIT_SUCCESS;
}

static int
sub_import(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {{"pin", required_argument, NULL, 'p'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct es_subfile *sf = NULL;
	struct es_replicator *rep = NULL;
	struct cc_cert *self = NULL;
	STACK_OF(X509) *recips = NULL;
	struct es_pin pin, confirmed;
	const char *given = NULL;
	unsigned char *cred = NULL;
	size_t cred_len = 0;
	char pbuf[ES_PIN_TEXT_LEN + 1], gbuf[ES_PIN_TEXT_LEN + 1];
	enum es_err r;
	int c, status = EXIT_FAILURE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			given = optarg;
			break;
		case 'h':
			fputs(help_sub, stdout);
			return EXIT_SUCCESS;
		default:
			return tool_usage(t, help_sub, "bad option");
		}
	}
	if (optind + 1 != argc)
		return tool_usage(t, help_sub, "subscription import needs one FILE");
	/*
	 * The file is the trust anchor and travels unprotected: whoever changes it on its way
	 * chooses the key this replicator will trust. The administrator confirms the key with the
	 * pin `subscription new` printed on the edge, carried apart from the file (as SSH's host
	 * key fingerprint); without it nothing is written.
	 */
	if (given == NULL)
		return tool_usage(t, help_sub,
		                  "refused, nothing written: --pin is required. The file names "
		                  "the edge key this replicator will trust, and nothing protects "
		                  "it on its way from the edge; give the pin `edgesync "
		                  "subscription new` printed there (pin: SHA256:...), carried "
		                  "apart from the file");
	if ((r = es_pin_parse(given, &confirmed)) != ES_OK)
		return tool_usage(t, help_sub, "--pin: %s", es_errdetail());
	if ((r = es_config_require_source(t->cfg)) != ES_OK)
		return tool_fail(t, r);
	/* the file is checked completely before anything is written anywhere */
	if ((r = es_subfile_read(argv[optind], &sf)) != ES_OK ||
	    (r = es_pin_from_x509(sf->cert, &pin)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	/* fail closed: only a pin equal to the file's key lets the import go on */
	r = ES_ERR_PIN_MISMATCH;
	if (es_pin_equal(&pin, &confirmed))
		r = ES_OK;
	if (r != ES_OK) {
		es_pin_format(&pin, pbuf);
		es_pin_format(&confirmed, gbuf);
		tool_msg(t,
		         "refused, nothing written: %s pins the key %s, not %s given by --pin. "
		         "The file may have been changed on its way from the edge (or the pin is "
		         "another edge's): make a new file with `edgesync subscription new` on "
		         "the edge and carry its pin again",
		         argv[optind], pbuf, gbuf);
		goto out;
	}
	if ((r = es_subfile_check_time(sf, time(NULL))) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	if ((r = es_replicator_open_with(t->cfg, t->log,
	                                 ES_REPLICATOR_HOLD_KEYS | ES_REPLICATOR_IDENTITY, &rep)) !=
	            ES_OK ||
	    (r = es_replicator_identity(rep, &self)) != ES_OK ||
	    (r = es_identity_recipients(self, t->cfg->replicator_certificates, &recips)) != ES_OK ||
	    (r = es_credential_seal(sf->bind_password, recips, &cred, &cred_len)) != ES_OK ||
	    (r = es_subscription_create(es_replicator_source(rep), t->cfg->subscriptions, sf, cred,
	                                cred_len)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	printf("edge %s subscribed: %s, base %s\n", sf->edge_name, sf->url, sf->base);
	printf("pinned key %s (confirmed by --pin)\n", es_pin_format(&pin, pbuf));
	printf("credential encrypted to %d certificate(s), this replicator's is %s\n",
	       sk_X509_num(recips), cc_cert_thumbprint(self));
	status = EXIT_SUCCESS;
out:
	OPENSSL_free(cred);
	sk_X509_pop_free(recips, X509_free);
	cc_cert_free(self);
	es_replicator_free(rep);
	es_subfile_free(sf);
	return status;
}

static int
sub_list(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	struct es_replicator *rep = NULL;
	struct es_subscription **subs = NULL;
	size_t n = 0, i, j;
	bool json = false;
	char when[32], pbuf[ES_PIN_TEXT_LEN + 1];
	enum es_err r;
	int c, status = EXIT_FAILURE;
	json_t *arr = NULL, *pins, *o;
	char *text = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f' && strcmp(optarg, "json") == 0)
			json = true;
		else if (c == 'f' && strcmp(optarg, "text") == 0)
			json = false;
		else
			return tool_usage(t, help_sub, "--format: text or json");
	}
	if (optind != argc)
		return tool_usage(t, help_sub, "subscription list takes no arguments");
	if ((r = es_replicator_open_with(t->cfg, t->log, ES_REPLICATOR_HOLD_KEYS, &rep)) != ES_OK ||
	    (r = es_subscription_list(es_replicator_source(rep), t->cfg->subscriptions, &subs,
	                              &n)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	if (json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++) {
			pins = json_array();
			for (j = 0; pins != NULL && j < subs[i]->ncerts; j++)
				json_array_append_new(
				        pins, json_string(es_pin_format(&subs[i]->pins[j], pbuf)));
			o = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:o, s:s?, s:s?, s:s?}", "Name",
			              subs[i]->name, "FQDN", subs[i]->fqdn, "URL", subs[i]->url,
			              "BaseDN", subs[i]->base, "BindDN", subs[i]->bind_dn, "Pins",
			              pins ? pins : json_null(), "LeaseHolder",
			              subs[i]->lease_holder, "LastSynchronized",
			              subs[i]->last_sync ? cc_time_iso8601(subs[i]->last_sync, when)
			                                 : NULL,
			              "LastFailure", subs[i]->last_failure);
			json_array_append_new(arr, o);
		}
		if (arr == NULL ||
		    (text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
			tool_msg(t, "out of memory");
			goto out;
		}
		printf("%s\n", text);
	} else {
		printf("%-16s %-32s %-5s %-20s %s\n", "Name", "URL", "Pins", "LastSynchronized",
		       "LeaseHolder");
		for (i = 0; i < n; i++)
			printf("%-16s %-32s %-5zu %-20s %s\n", subs[i]->name, subs[i]->url,
			       subs[i]->ncerts,
			       subs[i]->last_sync ? cc_time_iso8601(subs[i]->last_sync, when) : "-",
			       subs[i]->lease_holder ? subs[i]->lease_holder : "-");
	}
	status = EXIT_SUCCESS;
out:
	free(text);
	json_decref(arr);
	es_subscription_list_free(subs, n);
	es_replicator_free(rep);
	return status;
}

static int
sub_remove(struct tool *t, int argc, char **argv)
{
	struct es_replicator *rep = NULL;
	enum es_err r;

	if (argc != 2)
		return tool_usage(t, help_sub, "subscription remove needs one EDGE");
	if ((r = es_replicator_open_with(t->cfg, t->log, ES_REPLICATOR_HOLD_KEYS, &rep)) != ES_OK ||
	    (r = es_subscription_remove(es_replicator_source(rep), t->cfg->subscriptions,
	                                argv[1])) != ES_OK) {
		es_replicator_free(rep);
		return tool_fail(t, r);
	}
	printf("edge %s unsubscribed (what was copied to it stays there)\n", argv[1]);
	es_replicator_free(rep);
	return EXIT_SUCCESS;
}

static int
sub_add_cert(struct tool *t, int argc, char **argv)
{
	struct es_replicator *rep = NULL;
	struct es_subscription *s = NULL;
	struct cc_cert *cert = NULL;
	struct es_pin pin;
	unsigned char *buf = NULL, *der = NULL;
	size_t len = 0;
	char *dn = NULL, pbuf[ES_PIN_TEXT_LEN + 1];
	enum cc_err ce;
	enum es_err r;
	int n, status = EXIT_FAILURE;

	if (argc != 3)
		return tool_usage(t, help_sub, "subscription add-cert needs EDGE and CERTFILE");
	if ((ce = cc_file_read(argv[2], 1 << 20, &buf, &len, NULL)) != CC_OK) {
		tool_msg(t, "%s: %s: %s", argv[2], cc_strerror(ce), cc_errdetail());
		goto out;
	}
	if ((ce = cc_cert_new_from_bytes(buf, len, &cert)) != CC_OK) {
		tool_msg(t, "%s: not a PEM or DER certificate: %s", argv[2], cc_errdetail());
		goto out;
	}
	if ((n = i2d_X509(cc_cert_x509(cert), &der)) <= 0) {
		tool_msg(t, "%s: cannot encode the certificate", argv[2]);
		goto out;
	}
	if ((r = es_pin_from_x509(cc_cert_x509(cert), &pin)) != ES_OK ||
	    (r = es_replicator_open_with(t->cfg, t->log, ES_REPLICATOR_HOLD_KEYS, &rep)) != ES_OK ||
	    (r = es_subscription_dn(t->cfg->subscriptions, argv[1], &dn)) != ES_OK ||
	    (r = es_subscription_load(es_replicator_source(rep), dn, &s)) != ES_OK ||
	    (r = es_subscription_add_cert(es_replicator_source(rep), s, der, (size_t)n)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	printf("edge %s: pinned key %s (certificate %s); %zu pinned now\n", argv[1],
	       es_pin_format(&pin, pbuf), cc_cert_thumbprint(cert), s->ncerts + 1);
	status = EXIT_SUCCESS;
out:
	OPENSSL_free(der);
	free(buf);
	free(dn);
	cc_cert_free(cert);
	es_subscription_free(s);
	es_replicator_free(rep);
	return status;
}

int
cmd_subscription(struct tool *t, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct tool *, int, char **);
	} sub[] = {{"new", sub_new},
	           {"import", sub_import},
	           {"list", sub_list},
	           {"remove", sub_remove},
	           {"add-cert", sub_add_cert}};
	static char verb[32];
	size_t i;

	if (argc < 2)
		return tool_usage(t, help_sub, "which subscription verb?");
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (strcmp(argv[1], sub[i].name) == 0) {
			snprintf(verb, sizeof(verb), "subscription %s", sub[i].name);
			t->verb = verb;
			if (strcmp(argv[1], "new") == 0 && es_config_require_edge(t->cfg) != ES_OK)
				return tool_fail(t, ES_ERR_CONFIG);
			return sub[i].fn(t, argc - 1, argv + 1);
		}
	}
	return tool_usage(t, help_sub, "unknown subscription verb \"%s\"", argv[1]);
}
