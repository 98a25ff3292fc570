/*
 * certctl: the certcore admin tool (Get/New/Enable/Remove/Export-ExchangeCertificate).
 *
 *   certctl [--store DIR] VERB [options]
 *
 * The store is --store, else $UMEDGE_STORE, else /var/lib/umedge/store. Exit status: 0 on
 * success, 1 when the operation failed, 2 for a usage error; the reason is one line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certcore/cert.h"
#include "certcore/error.h"
#include "certcore/fileio.h"
#include "certcore/format.h"
#include "certcore/selfsigned.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "certctl.h"

static const char *progname = "certctl";
const char *certctl_verb = NULL;

void
certctl_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", progname, certctl_verb ? certctl_verb : "",
	        certctl_verb ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* One line naming what failed and the library's reason. */
int
certctl_fail(enum cc_err r)
{
	const char *d = cc_errdetail();

	if (d != NULL && *d != '\0')
		certctl_msg("%s: %s", cc_strerror(r), d);
	else
		certctl_msg("%s", cc_strerror(r));
	return EXIT_FAILURE;
}

static void
report_problems(const struct cc_store *s)
{
	size_t i;

	for (i = 0; i < cc_store_problem_count(s); i++)
		fprintf(stderr, "%s: warning: %s: %s\n", progname, cc_store_problem_path(s, i),
		        cc_store_problem_reason(s, i));
}

enum cc_err
certctl_open_store(const char *path, int flags, struct cc_store **s)
{
	enum cc_err r;

	if ((r = cc_store_open(path, flags, s)) != CC_OK)
		return r;
	report_problems(*s);
	return CC_OK;
}

void
certctl_close_store(struct cc_store *s, int rc)
{
	if (rc == EXIT_SUCCESS)
		cc_store_free(s);
	else
		cc_store_discard(s);
}

static void
usage_main(FILE *f)
{
	fprintf(f, "usage: certctl [--store DIR] VERB [options]\n"
	           "\n"
	           "verbs:\n"
	           "  new      create a self-signed certificate (New-ExchangeCertificate)\n"
	           "  renew    clone a certificate with a new key and validity\n"
	           "  get      list certificates (Get-ExchangeCertificate)\n"
	           "  enable   enable services on a certificate (Enable-ExchangeCertificate)\n"
	           "  remove   remove a certificate and its key (Remove-ExchangeCertificate)\n"
	           "  export   write the public certificate, or with --pfx the key and chain\n"
	           "  request  write a certificate request for a CA, keeping its key pending\n"
	           "  import   import an issued certificate, a .p7b chain or a PKCS#12 file\n"
	           "  trust    add, list or remove trusted roots\n"
	           "  verify   check a certificate's chain and revocation (certutil -verify)\n"
	           "  select   which certificate a service uses, and why not the others\n"
	           "\n"
	           "The store is --store DIR, else $UMEDGE_STORE, else " CC_STORE_DEFAULT_PATH ".\n"
	           "certctl VERB --help describes each verb.\n");
}

int
certctl_usage(const char *text, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", progname, certctl_verb ? certctl_verb : "",
	        certctl_verb ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", text);
	return EXIT_USAGE;
}

/* Splits "a,b c" into the list, appending. */
int
certctl_add_list(const char ***list, size_t *n, char *arg)
{
	char *p = arg, *start;
	const char **nl;

	while (*p != '\0') {
		while (*p == ',' || *p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && *p != ' ')
			p++;
		if ((nl = realloc(*list, (*n + 1) * sizeof(*nl))) == NULL)
			return -1;
		*list = nl;
		nl[(*n)++] = start;
	}
	return 0;
}

int
certctl_parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(const char *, int, char **);
} verbs[] = {
        {"new", cmd_new},         {"renew", cmd_renew},   {"get", cmd_get},
        {"enable", cmd_enable},   {"remove", cmd_remove}, {"export", cmd_export},
        {"request", cmd_request}, {"import", cmd_import}, {"trust", cmd_trust},
        {"verify", cmd_verify},   {"select", cmd_select},
};

int
main(int argc, char **argv)
{
	const char *store = getenv("UMEDGE_STORE");
	int i = 1;
	size_t v;

	if (store == NULL || *store == '\0')
		store = CC_STORE_DEFAULT_PATH;
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
			store = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--store=", 8) == 0) {
			store = argv[i] + 8;
			i++;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage_main(stdout);
			return EXIT_SUCCESS;
		} else {
			fprintf(stderr, "%s: unknown option \"%s\"\n", progname, argv[i]);
			usage_main(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		if (strcmp(argv[i], verbs[v].name) == 0) {
			certctl_verb = verbs[v].name;
			/* The verb's own options start after it; getopt sees the verb as argv[0].
			 */
			optind = 1;
			return verbs[v].fn(store, argc - i, argv + i);
		}
	}
	fprintf(stderr, "%s: unknown verb \"%s\"\n", progname, argv[i]);
	usage_main(stderr);
	return EXIT_USAGE;
}
