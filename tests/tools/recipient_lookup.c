/*
 * recipient_lookup: umd's recipient lookup (um/src/voicemail/recipient.h) driven from the command
 * line, for tests/integration/umd_recipient.sh. Each URI given (or, with "-", each line of
 * standard input, answered at once so a test can change the directory between lookups) is
 * looked up with one struct um_recipients, and one JSON object a line is printed:
 *
 *   {"to": URI, "status": "ok", "address": ..., "how": "template|directory|fallback",
 *    "dn": ..., "why": ..., "connects": N}
 *   {"to": URI, "status": "temporary" | "permanent", "error": ..., "detail": ..., "connects": N}
 *
 * A configuration refused by um_recipients_new: {"status": "config", "detail": ...}, exit 2.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "voicemail/recipient.h"

static const char usage[] =
        "usage: recipient_lookup [--recipient TEMPLATE | --url URL --base DN [--filter F]\n"
        "         [--bind-dn DN --password-file FILE]] [--fallback ADDRESS] [--store DIR]\n"
        "         [--timeout SECONDS] URI... | -\n";

static void
print(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (s != NULL) {
		printf("%s\n", s);
		fflush(stdout);
	}
	free(s);
	json_decref(o);
}

static void
lookup(struct um_recipients *r, const char *to)
{
	struct um_recipient res;
	enum um_err e = um_recipients_lookup(r, to, &res);
	json_t *o;

	if (e == UM_OK) {
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "to", to, "status", "ok",
		              "address", res.address, "how", um_recipient_how_name(res.how), "dn",
		              res.dn, "why", res.why, "connects", (int)um_recipients_connects(r));
	} else {
		o = json_pack("{s:s, s:s, s:s, s:s, s:i}", "to", to, "status",
		              e == UM_ERR_NO_RECIPIENT ? "permanent" : "temporary", "error",
		              um_strerror(e), "detail", um_errdetail(), "connects",
		              (int)um_recipients_connects(r));
	}
	print(o);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"recipient", required_argument, NULL, 'r'},
	        {"url", required_argument, NULL, 'H'},
	        {"base", required_argument, NULL, 'b'},
	        {"filter", required_argument, NULL, 'f'},
	        {"bind-dn", required_argument, NULL, 'D'},
	        {"password-file", required_argument, NULL, 'y'},
	        {"fallback", required_argument, NULL, 'F'},
	        {"store", required_argument, NULL, 's'},
	        {"timeout", required_argument, NULL, 't'},
	        {NULL, 0, NULL, 0},
	};
	struct um_recipient_conf conf = {0};
	struct um_recipients *r = NULL;
	char line[4096];
	int c, i;
	size_t n;

	/* libldap may write to a connection the server closed (recipient.h) */
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			conf.recipient = optarg;
			break;
		case 'H':
			conf.directory_url = optarg;
			break;
		case 'b':
			conf.directory_base = optarg;
			break;
		case 'f':
			conf.directory_filter = optarg;
			break;
		case 'D':
			conf.directory_bind_dn = optarg;
			break;
		case 'y':
			conf.directory_password_file = optarg;
			break;
		case 'F':
			conf.fallback_recipient = optarg;
			break;
		case 's':
			conf.store = optarg;
			break;
		case 't':
			conf.timeout = atoi(optarg);
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (um_recipients_new(&conf, &r) != UM_OK) {
		print(json_pack("{s:s, s:s}", "status", "config", "detail", um_errdetail()));
		return 2;
	}
	if (strcmp(argv[optind], "-") == 0) {
		while (fgets(line, sizeof(line), stdin) != NULL) {
			n = strcspn(line, "\n");
			line[n] = '\0';
			lookup(r, line);
		}
	} else {
		for (i = optind; i < argc; i++)
			lookup(r, argv[i]);
	}
	um_recipients_free(r);
	return 0;
}
