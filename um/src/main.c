/*
 * umd: the Unified Messaging SIP/TLS listener.
 *
 *   umd -c FILE [--log-format text|json]      run in the foreground
 *   umd -n -c FILE                            check the configuration and exit
 *
 * SIGTERM and SIGINT stop it cleanly (live dialogs are ended by the SIP stack's shutdown);
 * SIGHUP reloads the configuration's gateways and looks at the certificates at once.
 */
#define SU_ROOT_MAGIC_T struct daemon

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_wait.h>

#include <curl/curl.h>

#include "certcore/events.h"
#include "certcore/log.h"
#include "certcore/nodump.h"
#include "certcore/sandbox.h"
#include "certcore/selfsigned.h"
#include "certcore/store.h"
#include "certs.h"
#include "config.h"
#include "crlfetch.h"
#include "fdguard.h"
#include "http.h"
#include "keys/keyholder.h"
#include "media/engine.h"
#include "media/greetings.h"
#include "metrics.h"
#include "sip.h"
#include "seam.h"
#include "tlshook.h"
#include "voicemail/queuecmd.h"
#include "voicemail/smtpid.h"
#include "voicemail/spool.h"
#include "voicemail/submit.h"

#define CERT_CHECK_SECONDS 60 /* DESIGN: a certificate change is noticed within a minute */
/* Growth of the free heap that makes umd hand memory back to the system (give_back_memory). */
#define TRIM_FREE_BYTES (8 * 1024 * 1024)

struct daemon {
	const char *config_path;
	struct um_config *cfg;
	struct um_config *old_cfg; /* kept until nothing can point into it */
	struct cc_log *log;
	struct um_metrics *metrics;
	struct um_http *http;
	struct um_certs *certs;
	struct um_crlfetch *crlfetch; /* NULL: gateway_crl_fetch = no, or unsecured */
	struct um_sip *sip;
	struct um_spool *spool;
	struct um_greetings *greetings;
	struct um_media *media;
	struct um_smtp_identity *smtp_id; /* NULL: no [smtp] */
	struct um_submit *submit;
	struct um_keyholder *keys; /* the process that holds the store's private keys */
	pid_t keys_pid;
	bool keys_lost; /* it ended while umd ran: umd stops, and says it failed */
	su_root_t *root;
	su_timer_t *tick;
	su_wait_t sigwait;
	int sigpipe[2];
	unsigned ticks;
#ifdef UMEDGE_TEST_HOOKS
	const char *test_stall_file; /* UMD_TEST_STALL_FILE (test builds only), or NULL */
#endif
	int exit_code;
};

static int sig_fd = -1;

/*
 * sofia-sip's own diagnostics (su_log) come in pieces; each whole line becomes one log line of
 * ours, so they never break the JSON lines on stderr.
 */
static struct {
	struct cc_log *log;
	char buf[1024];
	size_t len;
} sofia_log;

/* su_log hands printf formats: said so, for the compilers that check (clang's -Wformat=2). */
static void sofia_logger(void *stream, char const *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void
sofia_logger(void *stream, char const *fmt, va_list ap)
{
	char piece[1024], *nl, *p;
	int n;

	(void)stream;
	n = vsnprintf(piece, sizeof(piece), fmt, ap);
	if (n < 0)
		return;
	for (p = piece; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		n = nl ? (int)(nl - p) : (int)strlen(p);
		if (sofia_log.len + (size_t)n >= sizeof(sofia_log.buf))
			n = (int)(sizeof(sofia_log.buf) - 1 - sofia_log.len);
		memcpy(sofia_log.buf + sofia_log.len, p, (size_t)n);
		sofia_log.len += (size_t)n;
		sofia_log.buf[sofia_log.len] = '\0';
		if (nl == NULL)
			break;
		if (sofia_log.len > 0)
			cc_log_message(sofia_log.log, CC_LOG_DEBUG, "sofia-sip: %s", sofia_log.buf);
		sofia_log.len = 0;
	}
}

static void
on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	if (sig_fd != -1 && write(sig_fd, &b, 1) == -1) {
		/* The pipe is full: a signal of this kind is already waiting. */
	}
	errno = saved;
}

/* For TLS peers (tlshook.h): the configuration in force when the handshake happens. */
static bool
peer_check(void *arg, const struct sockaddr *peer, X509 *cert, char *why, size_t len)
{
	struct daemon *d = arg;

	return um_gateway_accepts(d->cfg, peer, cert, why, len);
}

/* For tlshook.c, on the SIP thread: a gateway chain lacks a CRL; the fetcher is asked for it. */
static void
crl_miss(void *arg, X509 *subject, X509 *issuer)
{
	struct daemon *d = arg;

	(void)um_crlfetch_want(d->crlfetch, subject, issuer, time(NULL));
}

/* The fetcher brought CRLs: they join the trust store (no network; a store read). */
static void
reload_crls(struct daemon *d)
{
	size_t n = 0;

	if (d->certs == NULL)
		return;
	if (um_certs_reload_crls(d->certs, d->cfg, &n) != UM_OK)
		cc_log_message(d->log, CC_LOG_ERROR, "reloading the CRLs: %s", um_errdetail());
	else
		cc_log_message(d->log, CC_LOG_INFO, "CRLs reloaded after a fetch: %zu CRL(s)", n);
}

/* At start: a message left in tmp/ by a crash is finalized into new/ (docs/architecture.md, "The
 * spool"). */
static void
recovered(void *arg, const char *id, double seconds)
{
	struct daemon *d = arg;
	struct cc_field f[] = {CC_FSTR("id", id), CC_FSTR("from", NULL), CC_FSTR("to", NULL),
	                       CC_FREAL("seconds", seconds), CC_FBOOL("truncated", true)};

	cc_log_event(d->log, CC_LOG_WARNING, CC_EV_VOICE_MESSAGE_RECORDED, f, 5);
}

/* The spool (recovered), the greetings and the media engine; false (logged) when one fails. */
static bool
start_media(struct daemon *d)
{
	struct um_media_config mc = {.address = d->cfg->media_address ? d->cfg->media_address
	                                                              : d->cfg->listen_host,
	                             .port_min = d->cfg->media_port_min,
	                             .port_max = d->cfg->media_port_max,
	                             .latching = d->cfg->media_latching,
	                             .secure = d->cfg->mode != UM_MODE_UNSECURED,
	                             .max_calls = d->cfg->max_calls,
	                             .max_message_seconds = d->cfg->max_message_seconds,
	                             .silence_seconds = d->cfg->silence_seconds};
	size_t n = 0;

	if (um_spool_open(d->cfg->spool, &d->spool) != UM_OK) {
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		return false;
	}
	/* One message that cannot be recovered must not keep umd from taking calls. */
	if (um_spool_recover(d->spool, recovered, d, &n) != UM_OK)
		cc_log_message(d->log, CC_LOG_ERROR,
		               "recovering %s/tmp: %s (what could be recovered is in new/)",
		               d->cfg->spool, um_errdetail());
	if (um_greetings_new(d->cfg->greeting, d->log, &d->greetings) != UM_OK) {
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		return false;
	}
	if (n > 0)
		cc_log_message(d->log, CC_LOG_WARNING,
		               "%zu voice message(s) left in %s/tmp by a stop mid-call were "
		               "recovered into new/ (truncated)",
		               n, d->cfg->spool);
	mc.spool = d->spool;
	if (um_media_start(&mc, d->log, d->metrics, &d->media) != UM_OK) {
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		return false;
	}
	return true;
}

/*
 * Key custody: the store's private keys are read and used by a process of their own, forked
 * here, before any thread exists and before anything reads the network (keyholder.h); every
 * store this process opens gets stand-ins for them, and the keys of the certificates it makes
 * are made and written there too (cc_store_set_key_maker). Then this process gives up reading
 * and writing the store's keys/ and requests/ with Landlock (certcore/sandbox.h); what it must
 * still read in the folders on the way there is made first: the store with its folders and lock
 * file, the spool folder. false (logged) when umd must not start.
 */
static bool
start_key_custody(struct daemon *d)
{
	struct cc_store *s = NULL;
	struct cc_key_maker maker;
	enum cc_sandbox_result res;
	char *hide[2] = {NULL, NULL};
	enum cc_err cr;
	int abi = 0;
	bool ok = false;

	/* Unsecured without [smtp] uses no key: a store that is not there is not made for it. */
	if (d->cfg->mode == UM_MODE_UNSECURED && d->cfg->smtp == NULL &&
	    access(d->cfg->store, F_OK) != 0) {
		cc_log_message(d->log, CC_LOG_INFO,
		               "no private key is used (unsecured, no [smtp]) and there is no "
		               "store: no key holder");
		return true;
	}
	if (um_keyholder_start(d->cfg->store, d->log, &d->keys) != UM_OK) {
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		goto out;
	}
	d->keys_pid = um_keyholder_pid(d->keys);
	cc_store_set_key_source(um_keyholder_key, d->keys);
	maker.make = um_keyholder_make;
	maker.write = um_keyholder_write;
	maker.remove = um_keyholder_remove;
	maker.arg = d->keys;
	cc_store_set_key_maker(&maker);
	if ((cr = cc_store_open(d->cfg->store, CC_STORE_CREATE, &s)) != CC_OK) {
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: opening the store: %s: %s",
		               cc_strerror(cr), cc_errdetail());
		goto out;
	}
	if (mkdir(d->cfg->spool, 0700) == -1 && errno != EEXIST)
		cc_log_message(d->log, CC_LOG_WARNING, "mkdir %s: %s", d->cfg->spool,
		               strerror(errno));
	if (asprintf(&hide[0], "%s/keys", d->cfg->store) < 0 ||
	    asprintf(&hide[1], "%s/requests", d->cfg->store) < 0) {
		hide[0] = hide[1] = NULL;
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: out of memory");
		goto out;
	}
	if (cc_sandbox_hide((const char *const *)hide, 2, &res, &abi) != CC_OK) {
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: %s", cc_errdetail());
		goto out;
	}
	if (res == CC_SANDBOX_ENFORCED)
		cc_log_message(d->log, CC_LOG_INFO,
		               "private keys are held by process %d; this process can neither "
		               "read nor write %s or %s (Landlock ABI %d)",
		               (int)d->keys_pid, hide[0], hide[1], abi);
	else
		cc_log_message(
		        d->log, CC_LOG_WARNING,
		        "private keys are held by process %d, but this kernel has no "
		        "usable Landlock (ABI %d): this process could still read and write %s",
		        (int)d->keys_pid, abi, hide[0]);
	ok = true;
out:
	cc_store_free(s);
	free(hide[0]);
	free(hide[1]);
	return ok;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: umd -c FILE [--log-format text|json]\n"
	           "       umd -n -c FILE     check the configuration and exit\n"
	           "       umd queue -c FILE [--json] list | show ID | retry ID|--all\n");
}

/* ConfigurationReloadFailed: SIGHUP's configuration is refused, the one in force stays. */
static void
reload_failed(struct daemon *d, const char *reason)
{
	struct cc_field f[] = {CC_FSTR("config", d->config_path), CC_FSTR("reason", reason)};

	cc_log_event(d->log, CC_LOG_ERROR, CC_EV_CONFIGURATION_RELOAD_FAILED, f, 2);
}

/* CertificateCheckFailed: a periodic or SIGHUP look at `service`'s certificate failed. */
static void
check_failed(struct daemon *d, const char *service, const char *reason)
{
	struct cc_field f[] = {CC_FSTR("service", service), CC_FSTR("reason", reason)};

	cc_log_event(d->log, CC_LOG_ERROR, CC_EV_CERTIFICATE_CHECK_FAILED, f, 2);
}

static void
reload(struct daemon *d)
{
	struct um_config *cfg = NULL;
	size_t i;

	if (um_config_load(d->config_path, true, &cfg) != UM_OK) {
		/* One event a reason; no errors listed: the file could not be read at all. */
		for (i = 0; cfg != NULL && i < cfg->nerrors; i++)
			reload_failed(d, cfg->errors[i]);
		if (cfg == NULL || cfg->nerrors == 0)
			reload_failed(d, um_errdetail());
		um_config_free(cfg);
		return;
	}
	if (cfg->mode != d->cfg->mode || cfg->listen_port != d->cfg->listen_port ||
	    strcmp(cfg->listen_host, d->cfg->listen_host) != 0 ||
	    strcmp(cfg->store, d->cfg->store) != 0 ||
	    cfg->gateway_crl_fetch != d->cfg->gateway_crl_fetch ||
	    (cfg->gateway_crl_proxy == NULL) != (d->cfg->gateway_crl_proxy == NULL) ||
	    (cfg->gateway_crl_proxy != NULL &&
	     strcmp(cfg->gateway_crl_proxy, d->cfg->gateway_crl_proxy) != 0))
		cc_log_message(d->log, CC_LOG_WARNING,
		               "mode, listen, store, gateway_crl_fetch and gateway_crl_proxy "
		               "changes take effect at the next start");
	/* The previous one may still be referenced by a callback running now: free it next time. */
	um_config_free(d->old_cfg);
	d->old_cfg = d->cfg;
	d->cfg = cfg;
	um_sip_set_config(d->sip, cfg);
	um_metrics_set_stall_limit(d->metrics, cfg->stall_seconds);
	cc_log_message(d->log, CC_LOG_INFO, "configuration reloaded: %zu gateway(s)",
	               cfg->ngateways);
}

static void
check_certs(struct daemon *d)
{
	uint64_t g;

	if (d->certs != NULL && um_certs_refresh(d->certs, d->cfg, time(NULL)) != UM_OK)
		check_failed(d, "UM", um_errdetail());
	if (d->smtp_id != NULL) {
		g = um_smtp_identity_generation(d->smtp_id);
		if (um_smtp_identity_refresh(d->smtp_id, time(NULL)) != UM_OK)
			check_failed(d, "SMTP", um_errdetail());
		else if (um_smtp_identity_generation(d->smtp_id) != g)
			um_submit_kick(d->submit);
	}
}

/*
 * Submission of voice messages ([smtp]): umd's SMTP certificate, then the thread that takes
 * new/ to the hub. false (logged) when it cannot start.
 */
static bool
start_submission(struct daemon *d)
{
	const struct um_smtp_config *smtp = d->cfg->smtp;
	char *host = NULL, *shortname = NULL;
	const char *fqdn;
	enum cc_err cr;
	bool ok = false;

	if (smtp == NULL) {
		cc_log_message(d->log, CC_LOG_INFO,
		               "no [smtp] section: voice messages stay in %s/new", d->cfg->spool);
		return true;
	}
	fqdn = smtp->fqdn != NULL ? smtp->fqdn : d->cfg->fqdn;
	if (fqdn == NULL) {
		if ((cr = cc_host_names(&host, &shortname)) != CC_OK) {
			cc_log_message(d->log, CC_LOG_ERROR,
			               "not starting: the host's FQDN: %s: %s", cc_strerror(cr),
			               cc_errdetail());
			goto out;
		}
		fqdn = host;
	}
	if (um_smtp_identity_start(d->cfg->store, fqdn, d->cfg->renew_self_signed_days, d->log,
	                           d->metrics, time(NULL), &d->smtp_id) != UM_OK ||
	    um_submit_start(smtp, d->cfg->spool, fqdn, d->cfg->store, d->smtp_id, d->log,
	                    d->metrics, &d->submit) != UM_OK) {
		cc_log_message(d->log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		goto out;
	}
	ok = true;
out:
	free(host);
	free(shortname);
	return ok;
}

static int
on_signal_pipe(struct daemon *d, su_wait_t *w, su_wakeup_arg_t *arg)
{
	unsigned char sig;

	(void)w;
	(void)arg;
	while (read(d->sigpipe[0], &sig, 1) == 1) {
		if (sig == SIGHUP) {
			reload(d);
			check_certs(d);
		} else {
			cc_log_message(d->log, CC_LOG_INFO, "stopping (signal %d)", sig);
			um_sip_shutdown(d->sip);
		}
	}
	return 0;
}

/*
 * After a burst of connections closes, glibc keeps their memory: the heap's top is trimmed on
 * free(), but free chunks below a live one stay resident, so umd would stay at its peak size
 * for good (thousands of TLS connections are tens of MiB). Once a second: when the free part of
 * the heap has grown by TRIM_FREE_BYTES since the last trim, malloc_trim() returns its whole
 * pages to the system. mallinfo2() is cheap next to that, and in a steady state nothing
 * happens (free memory that stays free, in pieces smaller than a page, is not trimmed again).
 */
static void
give_back_memory(void)
{
	static size_t after_trim;
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks < after_trim)
		after_trim = mi.fordblks;
	if (mi.fordblks > after_trim + TRIM_FREE_BYTES) {
		(void)malloc_trim(0);
		after_trim = mallinfo2().fordblks;
	}
}

#ifdef UMEDGE_TEST_HOOKS
/*
 * UMD_TEST_STALL_FILE=PATH (test builds only, UMEDGE_TEST_HOOKS): while PATH exists the tick blocks
 * the SIP loop (at most two minutes), as a hung call would, so a test can see /healthz fail and
 * recover. A signal cannot stand in for it: SIGSTOP stops the HTTP thread too.
 */
static void
test_stall(struct daemon *d)
{
	int i;

	if (d->test_stall_file == NULL || access(d->test_stall_file, F_OK) != 0)
		return;
	cc_log_message(d->log, CC_LOG_WARNING, "test hook: SIP loop stalled while %s exists",
	               d->test_stall_file);
	for (i = 0; i < 1200 && access(d->test_stall_file, F_OK) == 0; i++)
		usleep(100 * 1000);
	cc_log_message(d->log, CC_LOG_WARNING, "test hook: SIP loop running again");
}
#endif

static void
on_tick(struct daemon *d, su_timer_t *t, su_timer_arg_t *arg)
{
	(void)t;
	(void)arg;
	/* The loop is alive: /healthz (the HTTP thread) reads how long ago this was. */
	um_metrics_heartbeat(d->metrics);
	if (!d->keys_lost) {
		char why[64];

		/*
		 * No other can be started: this process cannot read the keys any more. Without
		 * signatures no handshake succeeds, so umd stops rather than look alive.
		 */
		if (um_keyholder_ended(d->keys, why, sizeof(why))) {
			d->keys_lost = true;
			cc_log_message(d->log, CC_LOG_ERROR,
			               "the key holder (process %d) ended: %s; no TLS signature "
			               "can be made: stopping",
			               (int)d->keys_pid, why);
			um_sip_shutdown(d->sip);
		}
	}
#ifdef UMEDGE_TEST_HOOKS
	test_stall(d);
#endif
	d->ticks++;
	if (d->cfg->mode != UM_MODE_UNSECURED) {
		um_tls_watchdog(d->cfg->handshake_seconds);
		um_tls_message_watchdog(UM_SIP_MESSAGE_SECONDS);
	}
	if (d->ticks % CERT_CHECK_SECONDS == 0) {
		check_certs(d);
		um_crlfetch_refresh(d->crlfetch, time(NULL));
	}
	/* Set by the fetcher thread; the reload is ours (the TLS state is this thread's). */
	if (um_crlfetch_take_news(d->crlfetch))
		reload_crls(d);
	give_back_memory();
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check", no_argument, NULL, 'n'},
	        {"log-format", required_argument, NULL, 'L'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct daemon d;
	struct sigaction sa;
	enum cc_log_format fmt;
	const char *log_format = NULL;
	bool check_only = false;
	size_t i;
	int ch;

	/* The administration verb: umd queue ... (queuecmd.h). */
	if (argc > 1 && strcmp(argv[1], "queue") == 0)
		return um_queue_command(argc - 1, argv + 1);
	memset(&d, 0, sizeof(d));
	d.sigpipe[0] = d.sigpipe[1] = -1;
	d.exit_code = 1;
	while ((ch = getopt_long(argc, argv, "c:nh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'L':
			log_format = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (d.config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Before anything secret is read: no core file, no ptrace by the same user. */
	if (cc_nodump() != CC_OK) {
		fprintf(stderr, "umd: %s\n", cc_errdetail());
		return 1;
	}
	if (um_config_load(d.config_path, true, &d.cfg) != UM_OK) {
		for (i = 0; d.cfg != NULL && i < d.cfg->nerrors; i++)
			fprintf(stderr, "umd: %s\n", d.cfg->errors[i]);
		if (d.cfg == NULL || d.cfg->nerrors == 0)
			fprintf(stderr, "umd: %s\n", um_errdetail());
		um_config_free(d.cfg);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration OK (mode %s, listen %s:%d, %zu gateway(s), %s)\n",
		       d.config_path, um_mode_name(d.cfg->mode), d.cfg->listen_host,
		       d.cfg->listen_port, d.cfg->ngateways,
		       d.cfg->smtp != NULL ? "voice messages submitted by SMTP"
		                           : "no [smtp]: voice messages stay in the spool");
		um_config_free(d.cfg);
		return 0;
	}
	fmt = d.cfg->log_format;
	if (log_format != NULL && cc_log_format_parse(log_format, &fmt) != CC_OK) {
		fprintf(stderr, "umd: --log-format: %s\n", cc_errdetail());
		um_config_free(d.cfg);
		return 2;
	}
	if (cc_log_new(fmt, stderr, "umd", false, &d.log) != CC_OK ||
	    um_metrics_new(&d.metrics) != UM_OK) {
		fprintf(stderr, "umd: out of memory\n");
		goto out;
	}
	if (!start_key_custody(&d))
		goto out;
	if (d.cfg->http_listen != NULL && *d.cfg->http_listen != '\0' &&
	    um_http_start(d.cfg->http_listen, d.metrics, &d.http) != UM_OK) {
		cc_log_message(d.log, CC_LOG_ERROR, "http_listen: %s", um_errdetail());
		goto out;
	}
	/*
	 * Every gateway connection is a descriptor: take the hard limit, so that thousands of
	 * connections are possible before accept(2) starts to fail.
	 */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
				cc_log_message(d.log, CC_LOG_WARNING, "setrlimit: %s",
				               strerror(errno));
		}
	}
	/* umd's hooks into sofia-sip hold only for the sofia-sip they were verified against. */
	if (um_seam_check_runtime() != UM_OK) {
		cc_log_message(d.log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		goto out;
	}
	sofia_log.log = d.log;
	su_log_redirect(su_log_default, sofia_logger, NULL);
	if (su_init() != 0 || (d.root = su_root_create(&d)) == NULL) {
		cc_log_message(d.log, CC_LOG_ERROR, "cannot start the SIP stack's event loop");
		goto out;
	}
	/*
	 * One thread for the SIP stack, its TLS callbacks (tlshook.c), the certificate checks and
	 * the timers: nua would otherwise run its stack in a thread of its own, and the TLS state
	 * would be shared between two threads.
	 */
	su_root_threading(d.root, 0);
	if (d.cfg->mode != UM_MODE_UNSECURED) {
		if (um_tls_arm(true, d.log, d.metrics, peer_check, &d) != UM_OK ||
		    um_certs_start(d.cfg, d.log, d.metrics, time(NULL), &d.certs) != UM_OK) {
			cc_log_message(d.log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
			goto out;
		}
		if (d.cfg->gateway_crl_fetch) {
			if (um_crlfetch_start(d.cfg->store, d.cfg->gateway_crl_proxy,
			                      UM_CRLFETCH_TIMEOUT, d.log, &d.crlfetch) != UM_OK) {
				cc_log_message(d.log, CC_LOG_ERROR, "not starting: %s",
				               um_errdetail());
				goto out;
			}
			um_tls_set_crl_miss(crl_miss, &d);
		}
	}
	if (um_fdguard_arm(d.log) != UM_OK) {
		cc_log_message(d.log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		goto out;
	}
	/* Media first: once the SIP stack runs, a failure would have to shut it down first. */
	if (!start_media(&d))
		goto out;
	/* libcurl's global state before any thread of ours uses it. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cc_log_message(d.log, CC_LOG_ERROR, "not starting: curl_global_init failed");
		goto out;
	}
	if (!start_submission(&d))
		goto out;
	if (um_sip_start(d.root, d.cfg, d.certs ? um_certs_dir(d.certs) : NULL, d.log, d.metrics,
	                 &d.sip) != UM_OK) {
		cc_log_message(d.log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		goto out;
	}
	um_sip_set_media(d.sip, d.media, d.greetings, d.certs);
	/*
	 * The hooks that must have run while sofia-sip started (seam.h): sofia-sip starts even when
	 * its TLS context fails, and a hook bypassed would leave connections unguarded.
	 */
	if (um_seam_check_started(d.cfg->mode != UM_MODE_UNSECURED) != UM_OK) {
		cc_log_message(d.log, CC_LOG_ERROR, "not starting: %s", um_errdetail());
		goto out;
	}
	/*
	 * Signals reach the loop through a pipe: nothing but write(2) runs in the handler. The
	 * one-second tick does not catch up on ticks it missed (su_timer_set_for_ever, not
	 * su_timer_run): a tick that ran long is not followed by a burst of them, and a clock that
	 * runs ahead of the work (libfaketime in umd_clock.sh) cannot keep the loop in timers for
	 * good, away from the signal pipe and the sockets.
	 */
	if (pipe2(d.sigpipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		cc_log_message(d.log, CC_LOG_ERROR, "pipe: %s", strerror(errno));
		goto out;
	}
	sig_fd = d.sigpipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (su_wait_create(&d.sigwait, d.sigpipe[0], SU_WAIT_IN) != 0 ||
	    su_root_register(d.root, &d.sigwait, on_signal_pipe, NULL, 0) < 0 ||
	    (d.tick = su_timer_create(su_root_task(d.root), 1000)) == NULL ||
	    su_timer_set_for_ever(d.tick, on_tick, NULL) != 0) {
		cc_log_message(d.log, CC_LOG_ERROR, "cannot set up the event loop");
		goto out;
	}
#ifdef UMEDGE_TEST_HOOKS
	d.test_stall_file = getenv("UMD_TEST_STALL_FILE");
	if (d.test_stall_file != NULL && *d.test_stall_file == '\0')
		d.test_stall_file = NULL;
#endif
	um_metrics_heartbeat(d.metrics);
	um_metrics_set_stall_limit(d.metrics, d.cfg->stall_seconds);
	um_metrics_set_healthy(d.metrics, true, NULL);
	cc_log_message(d.log, CC_LOG_INFO, "listening on %s:%d (%s, %zu gateway(s))",
	               d.cfg->listen_host, d.cfg->listen_port, um_mode_name(d.cfg->mode),
	               d.cfg->ngateways);
	su_root_run(d.root);
	cc_log_message(d.log, CC_LOG_INFO, "stopped");
	d.exit_code = d.keys_lost ? 1 : 0;
out:
	if (d.metrics != NULL)
		um_metrics_set_healthy(d.metrics, false, "stopping");
	if (d.tick != NULL)
		su_timer_destroy(d.tick);
	/* Calls still up get their messages committed; what the spool reports is logged. */
	um_media_quiesce(d.media);
	um_sip_media_events(d.sip);
	if (d.sip != NULL)
		um_sip_set_media(d.sip, NULL, NULL, NULL);
	um_media_stop(d.media);
	um_submit_stop(d.submit); /* a transfer under way is aborted: the message stays queued */
	um_smtp_identity_free(d.smtp_id);
	um_spool_close(d.spool);
	um_greetings_free(d.greetings);
	um_sip_free(d.sip);
	if (d.root != NULL)
		su_root_destroy(d.root);
	um_http_stop(d.http);
	um_tls_set_crl_miss(NULL, NULL);
	um_crlfetch_stop(d.crlfetch); /* joins: a fetch under way ends by its timeout */
	um_certs_free(d.certs);
	/* Every stand-in key is gone with the stores, certificates and TLS state freed above. */
	cc_store_set_key_source(NULL, NULL);
	cc_store_set_key_maker(NULL);
	um_keyholder_stop(d.keys);
	um_metrics_free(d.metrics);
	cc_log_free(d.log);
	um_config_free(d.old_cfg);
	um_config_free(d.cfg);
	if (d.sigpipe[0] != -1)
		close(d.sigpipe[0]);
	if (d.sigpipe[1] != -1)
		close(d.sigpipe[1]);
	return d.exit_code;
}
