/* The submission thread (submit.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "certcore/events.h"
#include "voicemail/message.h"
#include "voicemail/queue.h"
#include "voicemail/recipient.h"
#include "voicemail/submit.h"

#define PURGE_EVERY  3600 /* seconds between two passes over sent/ */
#define IDLE_WAKE    60   /* the longest sleep: max_queue_days and the gauges are looked at */
#define LOW_SPEED    1000 /* bytes per second ... */
#define LOW_SPEED_S  30   /* ... for this long, or the transfer is abandoned */
#define CONNECT_WAIT 10L  /* seconds to connect */
/*
 * The WAV's base64 lines: 57 bytes in, 76 characters out, CRLF between lines and none after
 * the last, as libcurl's own base64 encoder writes them (RFC 2045 section 6.8: at most 76).
 */
#define B64_LINE_IN  57
#define B64_LINE_OUT 76
#define B64_LINES    880 /* lines encoded per refill: about 64 KB out, libcurl's upload buffer */

struct um_submit {
	struct um_smtp_config *smtp; /* our copy */
	char *spool, *fqdn, *store, *url, *connect_to;
	struct um_smtp_identity *id;
	struct cc_log *log;
	struct um_metrics *metrics;
	struct um_queue *q;
	struct um_recipients *rcpt; /* the thread's: one libldap handle */
	pthread_t thread;
	bool started;
	int wakefd, inofd;
	atomic_bool stop;
	/*
	 * The syncer: the queue is lazy (queue.h), and a thread of its own makes its records and
	 * moves durable every second when the sender says something changed, so that the sender
	 * never waits on the disk for it.
	 */
	pthread_t syncer;
	bool syncer_started;
	atomic_bool dirty;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;

	/* The thread's. */
	CURL *curl;
	uint64_t generation; /* of the identity the connection was made with */
	struct um_smtp_snapshot snap;
	time_t last_purge;
	int pin_idx;
	/* What the last transfer saw (curl's debug callback). */
	enum um_smtp_stage stage;
	struct um_smtp_reply reply;
	bool pin_mismatch;
	bool closing; /* QUIT or RSET sent: later replies do not decide */
	char peer_thumb[64];
	char errbuf[CURL_ERROR_SIZE];
};

/* The outcome of one attempt. */
struct attempt {
	bool sent, permanent, hub_down;
	enum um_smtp_reason reason;
	char error[600];
	char response[256];
};

static int pin_index = -1;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void
make_pin_index(void)
{
	pin_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* A copy of the section, so that a configuration reload cannot pull it from under the thread. */
static struct um_smtp_config *
copy_smtp(const struct um_smtp_config *a)
{
	struct um_smtp_config *b = um_smtp_config_new(a->line);

	if (b == NULL)
		return NULL;
	b->smarthost_port = a->smarthost_port;
	b->max_queue_days = a->max_queue_days;
	b->sent_retention_days = a->sent_retention_days;
	b->smarthost_host = dup_or_null(a->smarthost_host);
	b->fqdn = dup_or_null(a->fqdn);
	b->hub_fqdn = dup_or_null(a->hub_fqdn);
	b->hub_certificate = dup_or_null(a->hub_certificate);
	b->from = dup_or_null(a->from);
	b->recipient = dup_or_null(a->recipient);
	b->directory_url = dup_or_null(a->directory_url);
	b->directory_base = dup_or_null(a->directory_base);
	b->directory_filter = dup_or_null(a->directory_filter);
	b->directory_bind_dn = dup_or_null(a->directory_bind_dn);
	b->directory_password_file = dup_or_null(a->directory_password_file);
	b->fallback_recipient = dup_or_null(a->fallback_recipient);
	if (a->hub_pin != NULL && X509_up_ref(a->hub_pin))
		b->hub_pin = a->hub_pin;
	return b;
}

/* ---- libcurl ---- */

/* A certificate's SHA-1 thumbprint in upper-case hex (certcore's form); "" when it fails. */
static void
thumb_hex(X509 *x, char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	buf[0] = '\0';
	if (X509_digest(x, EVP_sha1(), md, &n) == 1)
		for (i = 0; i < n && 2 * i + 2 < len; i++)
			snprintf(buf + 2 * i, 3, "%02X", md[i]);
}

/* The hub's certificate against the pin, at depth 0; the chain above it does not matter. */
static int
pin_verify(int preverify, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct um_submit *s = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_index) : NULL;
	X509 *peer = X509_STORE_CTX_get_current_cert(x);

	(void)preverify;
	if (X509_STORE_CTX_get_error_depth(x) != 0)
		return 1;
	if (s == NULL || peer == NULL)
		return 0;
	if (X509_cmp(peer, s->smtp->hub_pin) == 0)
		return 1;
	s->pin_mismatch = true;
	thumb_hex(peer, s->peer_thumb, sizeof(s->peer_thumb));
	return 0;
}

/* Every new TLS session: our certificate, and the roots or the pin that judge the hub's. */
static CURLcode
ssl_ctx_cb(CURL *curl, void *sslctx, void *arg)
{
	struct um_submit *s = arg;
	SSL_CTX *ctx = sslctx;
	int i;

	(void)curl;
	if (SSL_CTX_use_certificate(ctx, s->snap.cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, s->snap.key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
		return CURLE_SSL_CERTPROBLEM;
	for (i = 0; i < sk_X509_num(s->snap.chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(s->snap.chain, i)) != 1)
			return CURLE_SSL_CERTPROBLEM;
	/* TLS 1.2 at least, as umd's server side. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return CURLE_SSL_CONNECT_ERROR;
	if (s->smtp->hub_pin != NULL) {
		SSL_CTX_set_ex_data(ctx, pin_index, s);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, pin_verify);
	} else {
		/* Only the store's roots: a hub is not trusted for being in the system bundle alone
		 * unless the store's trust says so (cc_trust_load reads what it holds). */
		SSL_CTX_set1_cert_store(ctx, s->snap.trust);
	}
	return CURLE_OK;
}

/* Follows the dialogue: the command sent last and the reply to it. */
static int
debug_cb(CURL *curl, curl_infotype type, char *data, size_t size, void *arg)
{
	struct um_submit *s = arg;

	(void)curl;
	if (type == CURLINFO_HEADER_OUT) {
		/*
		 * QUIT (and a RSET before another message) follows a refusal: the command and the
		 * reply that decide are the ones before it.
		 */
		if (size >= 4 &&
		    (strncasecmp(data, "QUIT", 4) == 0 || strncasecmp(data, "RSET", 4) == 0))
			s->closing = true;
		else if (size >= 4 && strncasecmp(data, "MAIL", 4) == 0)
			s->stage = UM_SMTP_MAIL;
		else if (size >= 4 && strncasecmp(data, "RCPT", 4) == 0)
			s->stage = UM_SMTP_RCPT;
		else if (size >= 4 && strncasecmp(data, "DATA", 4) == 0)
			s->stage = UM_SMTP_DATA;
		else
			s->stage = UM_SMTP_CONNECT;
	} else if (type == CURLINFO_DATA_OUT) {
		/* The message is going out: its reply is the one after the final dot. */
		if (s->stage == UM_SMTP_DATA)
			s->stage = UM_SMTP_DATAEND;
	} else if (type == CURLINFO_HEADER_IN && !s->closing) {
		struct um_smtp_reply r;

		um_smtp_reply_parse(data, size, &r);
		/* The last line of a multi-line reply carries the code with a space. */
		if (r.code != 0)
			s->reply = r;
	}
	return 0;
}

/* Aborts the transfer when umd stops. */
static int
progress_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct um_submit *s = arg;

	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&s->stop) ? 1 : 0;
}

/* Classifies a failed transfer into a reason and a text for the event and ID.state. */
static void
classify(struct um_submit *s, CURLcode rc, struct attempt *a)
{
	const char *detail = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);

	a->permanent = false;
	a->hub_down = false;
	if (s->pin_mismatch) {
		/* Our verify callback refused the hub's certificate, whatever libcurl calls it. */
		char pin[64];

		thumb_hex(s->smtp->hub_pin, pin, sizeof(pin));
		a->reason = UM_SR_HUB;
		a->hub_down = true;
		snprintf(a->error, sizeof(a->error),
		         "the hub's certificate %s is not the pinned one %s (%s)", s->peer_thumb,
		         pin, s->smtp->hub_certificate);
		return;
	}
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		a->reason = UM_SR_CONNECT;
		a->hub_down = true;
		snprintf(a->error, sizeof(a->error), "hub %s:%d: %s", s->smtp->smarthost_host,
		         s->smtp->smarthost_port, detail);
		return;
	case CURLE_USE_SSL_FAILED:
		a->reason = UM_SR_TLS;
		a->hub_down = true;
		snprintf(a->error, sizeof(a->error),
		         "the hub does not offer STARTTLS (%s): nothing sent in plaintext", detail);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		a->reason = UM_SR_HUB;
		a->hub_down = true;
		snprintf(a->error, sizeof(a->error), "the hub's certificate (for %s): %s",
		         s->smtp->hub_fqdn ? s->smtp->hub_fqdn : s->smtp->smarthost_host, detail);
		return;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		a->hub_down = true;
		if (strstr(detail, "certificate verify failed") != NULL ||
		    strstr(detail, "SSL certificate problem") != NULL) {
			a->reason = UM_SR_HUB;
			snprintf(a->error, sizeof(a->error), "the hub's certificate: %s", detail);
		} else {
			a->reason = UM_SR_TLS;
			snprintf(a->error, sizeof(a->error), "TLS with the hub: %s", detail);
		}
		return;
	default:
		break;
	}
	if (s->reply.code >= 400) {
		a->permanent = um_smtp_reply_permanent(&s->reply, s->stage);
		a->reason = a->permanent          ? UM_SR_RECIPIENT
		            : s->reply.code < 500 ? UM_SR_TEMPORARY
		                                  : UM_SR_REFUSED;
		/* A refusal before MAIL is the hub's, for every message. */
		a->hub_down = s->stage == UM_SMTP_CONNECT;
		snprintf(a->error, sizeof(a->error), "the hub answered %s: %s",
		         s->stage == UM_SMTP_RCPT      ? "RCPT"
		         : s->stage == UM_SMTP_MAIL    ? "MAIL"
		         : s->stage == UM_SMTP_DATAEND ? "the message"
		         : s->stage == UM_SMTP_DATA    ? "DATA"
		                                       : "the session",
		         s->reply.text);
		return;
	}
	a->reason = UM_SR_OTHER;
	a->hub_down = rc != CURLE_READ_ERROR;
	snprintf(a->error, sizeof(a->error), "%s%s", detail,
	         rc == CURLE_ABORTED_BY_CALLBACK ? " (umd stopping)" : "");
	if (rc == CURLE_READ_ERROR)
		a->reason = UM_SR_SPOOL;
}

/*
 * The WAV part's body, base64-encoded here with OpenSSL (EVP_EncodeBlock) as libcurl's encoder
 * would write it. libcurl's encoder hands over about 350 bytes per read, and its SMTP upload
 * sends each read as one TLS record and one send(): some 600 records, syscalls and poll rounds
 * for a 10 s message. Read here, a read fills libcurl's upload buffer (64 KB): four records.
 */
struct wav_body {
	int fd;
	off_t left;      /* input bytes not read yet */
	size_t lines;    /* lines written so far (CRLF before every one but the first) */
	size_t beg, end; /* what out holds and has not been handed over */
	bool failed;     /* the file could not be read: CURLE_READ_ERROR, as libcurl says it */
	off_t size;      /* the WAV's size when opened */
	char out[B64_LINES * (B64_LINE_OUT + 2) + 1]; /* + EVP_EncodeBlock's NUL */
};

/* The encoded size of n bytes: 4 characters per 3 bytes (padded), CRLF between lines. */
static curl_off_t
b64_size(off_t n)
{
	off_t lines = (n + B64_LINE_IN - 1) / B64_LINE_IN;

	return n == 0 ? 0 : (curl_off_t)(4 * ((n + 2) / 3) + 2 * (lines - 1));
}

/* Encodes up to B64_LINES lines from the file into out. false when the file fails us. */
static bool
wav_refill(struct wav_body *b)
{
	unsigned char in[B64_LINES * B64_LINE_IN];
	size_t want = sizeof(in), have = 0, i, k;
	ssize_t got;

	if ((off_t)want > b->left)
		want = (size_t)b->left;
	while (have < want) {
		if ((got = read(b->fd, in + have, want - have)) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (got == 0)
			return false; /* shorter than when it was opened */
		have += (size_t)got;
	}
	b->left -= (off_t)have;
	b->beg = b->end = 0;
	for (i = 0; i < have; i += k) {
		k = have - i < B64_LINE_IN ? have - i : B64_LINE_IN;
		if (b->lines++ > 0) {
			b->out[b->end++] = '\r';
			b->out[b->end++] = '\n';
		}
		b->end += (size_t)EVP_EncodeBlock((unsigned char *)b->out + b->end, in + i, (int)k);
	}
	return true;
}

static size_t
wav_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct wav_body *b = arg;
	size_t room = size * nitems, n, done = 0;

	while (done < room) {
		if (b->beg == b->end) {
			if (b->left == 0)
				break;
			if (!wav_refill(b)) {
				b->failed = true;
				return CURL_READFUNC_ABORT;
			}
		}
		n = b->end - b->beg < room - done ? b->end - b->beg : room - done;
		memcpy(buf + done, b->out + b->beg, n);
		b->beg += n;
		done += n;
	}
	return done;
}

/* libcurl rewinds a part before it sends it: back to the start of the file. */
static int
wav_seek(void *arg, curl_off_t offset, int origin)
{
	struct wav_body *b = arg;

	if (offset != 0 || origin != SEEK_SET || lseek(b->fd, 0, SEEK_SET) == -1)
		return CURL_SEEKFUNC_CANTSEEK;
	b->left = b->size;
	b->lines = 0;
	b->beg = b->end = 0;
	return CURL_SEEKFUNC_OK;
}

/* One message to the hub. */
static void
send_one(struct um_submit *s, const struct um_qmsg *m, const char *rcpt, const char *msgid,
         struct attempt *a)
{
	struct curl_slist *rcpts = NULL, *hdrs = NULL, *cte = NULL, *n;
	curl_mime *mime = NULL;
	curl_mimepart *part;
	char **lines = NULL, *text = NULL, path[PATH_MAX], from[UM_RECIPIENT_ADDRESS_MAX + 3],
	     to[UM_RECIPIENT_ADDRESS_MAX + 3], fname[UM_SPOOL_ID_MAX + 16];
	size_t nlines = 0, i;
	struct wav_body *body = NULL;
	struct stat st;
	CURLcode rc;

	memset(a, 0, sizeof(*a));
	a->reason = UM_SR_OTHER;
	if (um_message_headers(m, s->smtp->from, rcpt, msgid, time(NULL), &lines, &nlines) !=
	            UM_OK ||
	    (text = um_message_text(m)) == NULL) {
		snprintf(a->error, sizeof(a->error), "building the message: out of memory");
		goto out;
	}
	for (i = 0; i < nlines; i++) {
		if ((n = curl_slist_append(hdrs, lines[i])) == NULL)
			goto nomem;
		hdrs = n;
	}
	snprintf(to, sizeof(to), "<%s>", rcpt);
	snprintf(from, sizeof(from), "<%s>", s->smtp->from);
	if ((rcpts = curl_slist_append(NULL, to)) == NULL ||
	    (mime = curl_mime_init(s->curl)) == NULL)
		goto nomem;
	/* The text part, then the WAV (RFC 2046 multipart/mixed; base64 as RFC 2045 says). */
	if ((part = curl_mime_addpart(mime)) == NULL ||
	    curl_mime_data(part, text, CURL_ZERO_TERMINATED) != CURLE_OK ||
	    curl_mime_type(part, "text/plain; charset=utf-8") != CURLE_OK ||
	    curl_mime_encoder(part, "quoted-printable") != CURLE_OK)
		goto nomem;
	snprintf(path, sizeof(path), "%s/new/%s.wav", s->spool, m->id);
	snprintf(fname, sizeof(fname), "%s.wav", m->id);
	if ((body = malloc(sizeof(*body))) == NULL)
		goto nomem;
	body->beg = body->end = body->lines = 0;
	body->failed = false;
	if ((body->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(body->fd, &st) == -1) {
		/* As curl_mime_filedata refused it: the message waits. */
		a->reason = UM_SR_SPOOL;
		snprintf(a->error, sizeof(a->error), "the message's audio %s.wav: %s", m->id,
		         strerror(errno));
		goto out;
	}
	body->left = body->size = st.st_size;
	if ((part = curl_mime_addpart(mime)) == NULL ||
	    curl_mime_data_cb(part, b64_size(body->size), wav_read, wav_seek, NULL, body) !=
	            CURLE_OK ||
	    curl_mime_filename(part, fname) != CURLE_OK ||
	    curl_mime_type(part, "audio/wav") != CURLE_OK)
		goto nomem;
	/* Encoded here: libcurl adds no Content-Transfer-Encoding of its own when one is given. */
	if ((cte = curl_slist_append(NULL, "Content-Transfer-Encoding: base64")) == NULL ||
	    curl_mime_headers(part, cte, 1) != CURLE_OK)
		goto nomem;
	cte = NULL;
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(s->curl, CURLOPT_MIMEPOST, mime);
	s->stage = UM_SMTP_CONNECT;
	memset(&s->reply, 0, sizeof(s->reply));
	s->pin_mismatch = false;
	s->closing = false;
	s->errbuf[0] = '\0';
	rc = curl_easy_perform(s->curl);
	/* Our lists and parts must not outlive this transfer in the handle. */
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_MIMEPOST, NULL);
	if (rc != CURLE_OK && body->failed)
		rc = CURLE_READ_ERROR; /* the spool's file, not the hub */
	if (rc == CURLE_OK) {
		a->sent = true;
		snprintf(a->response, sizeof(a->response), "%s", s->reply.text);
	} else {
		classify(s, rc, a);
	}
	goto out;
nomem:
	snprintf(a->error, sizeof(a->error), "building the message: out of memory");
out:
	curl_mime_free(mime);
	curl_slist_free_all(cte);
	curl_slist_free_all(rcpts);
	curl_slist_free_all(hdrs);
	if (body != NULL && body->fd != -1)
		close(body->fd);
	free(body);
	um_message_lines_free(lines, nlines);
	free(text);
}

/* A handle for the hub; a new one (so a new connection) when the identity changed. */
static void
free_handle(struct um_submit *s)
{
	struct curl_slist *ct = NULL;

	if (s->curl == NULL)
		return;
	curl_easy_getinfo(s->curl, CURLINFO_PRIVATE, (char **)&ct);
	curl_easy_cleanup(s->curl);
	curl_slist_free_all(ct);
	s->curl = NULL;
}

static bool
ready_handle(struct um_submit *s, struct attempt *a)
{
	uint64_t g = um_smtp_identity_generation(s->id);

	if (s->curl != NULL && g == s->generation)
		return true;
	free_handle(s);
	um_smtp_snapshot_clear(&s->snap);
	if ((s->curl = curl_easy_init()) == NULL ||
	    um_smtp_identity_get(s->id, &s->snap) != UM_OK) {
		a->reason = UM_SR_OTHER;
		snprintf(a->error, sizeof(a->error), "SMTP client set-up: %s",
		         s->curl == NULL ? "curl_easy_init failed" : um_errdetail());
		return false;
	}
	s->generation = s->snap.generation;
	curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
	if (s->connect_to != NULL) {
		struct curl_slist *ct = curl_slist_append(NULL, s->connect_to);

		/* libcurl copies nothing of this list: it lives as long as the handle (freed in
		 * um_submit_stop via the handle's private pointer). */
		curl_easy_setopt(s->curl, CURLOPT_CONNECT_TO, ct);
		curl_easy_setopt(s->curl, CURLOPT_PRIVATE, ct);
	}
	curl_easy_setopt(s->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(s->curl, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	curl_easy_setopt(s->curl, CURLOPT_SSL_CTX_DATA, s);
	if (s->smtp->hub_pin != NULL) {
		/* Direct trust: the pinned certificate is the hub, whatever its names. */
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	/* No bundle of libcurl's own: the roots are the store's (ssl_ctx_cb). */
	curl_easy_setopt(s->curl, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(s->curl, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(s->curl, CURLOPT_SSL_SESSIONID_CACHE, 1L);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_WAIT);
	curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED);
	curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_S);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(s->curl, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(s->curl, CURLOPT_DEBUGDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "smtp");
	return true;
}

/* ---- outcomes ---- */

static time_t
backoff(int attempts)
{
	time_t wait = UM_SUBMIT_RETRY_FIRST;

	while (--attempts > 0 && wait < UM_SUBMIT_RETRY_MAX)
		wait *= 2;
	return wait < UM_SUBMIT_RETRY_MAX ? wait : UM_SUBMIT_RETRY_MAX;
}

static void
hub_name(struct um_submit *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%d", s->smtp->smarthost_host, s->smtp->smarthost_port);
}

static void
to_failed(struct um_submit *s, struct um_qmsg *m, enum um_smtp_reason reason, const char *error)
{
	struct cc_field f[2];

	free(m->last_error);
	m->last_error = strdup(error);
	if (um_queue_save(s->q, m) != UM_OK ||
	    um_queue_move(s->q, m, UM_Q_FAILED, error, true) != UM_OK) {
		cc_log_message(s->log, CC_LOG_ERROR, "message %s: moving to failed/: %s", m->id,
		               um_errdetail());
		return;
	}
	m->where = UM_Q_FAILED;
	f[0] = (struct cc_field)CC_FSTR("id", m->id);
	f[1] = (struct cc_field)CC_FSTR("reason", error);
	cc_log_event(s->log, CC_LOG_ERROR, CC_EV_VOICE_MESSAGE_FAILED, f, 2);
	um_metrics_smtp_failure(s->metrics, reason, true);
}

static void
deferred(struct um_submit *s, struct um_qmsg *m, const struct attempt *a, time_t now)
{
	char hub[300], next[32];

	free(m->last_error);
	m->last_error = strdup(a->error);
	m->next_attempt = now + backoff(m->attempts);
	if (um_queue_save(s->q, m) != UM_OK)
		cc_log_message(s->log, CC_LOG_ERROR, "message %s: %s", m->id, um_errdetail());
	hub_name(s, hub, sizeof(hub));
	{
		struct cc_field f[] = {
		        CC_FSTR("id", m->id),
		        CC_FSTR("hub", hub),
		        CC_FSTR("reason", a->error),
		        CC_FSTR("next_attempt", cc_time_iso8601(m->next_attempt, next)),
		};

		cc_log_event(s->log, CC_LOG_WARNING, CC_EV_VOICE_MESSAGE_DEFERRED, f, 4);
	}
	um_metrics_smtp_failure(s->metrics, a->reason, false);
}

static void
submitted(struct um_submit *s, struct um_qmsg *m, const struct attempt *a, time_t now)
{
	char hub[300];

	hub_name(s, hub, sizeof(hub));
	m->submitted = now;
	free(m->response);
	free(m->hub);
	free(m->last_error);
	m->last_error = NULL;
	m->response = strdup(a->response);
	m->hub = strdup(hub);
	/* The record first: a move cut short must not send the message again. */
	if (um_queue_save(s->q, m) != UM_OK)
		cc_log_message(s->log, CC_LOG_ERROR, "message %s: %s", m->id, um_errdetail());
	{
		struct cc_field f[] = {
		        CC_FSTR("id", m->id),
		        CC_FSTR("message_id", m->message_id),
		        CC_FSTR("recipient", m->recipient),
		        CC_FSTR("hub", hub),
		        CC_FSTR("thumbprint", s->snap.thumb),
		};

		cc_log_event(s->log, CC_LOG_INFO, CC_EV_VOICE_MESSAGE_SUBMITTED, f, 5);
	}
	um_metrics_smtp_submitted(s->metrics);
	if (um_queue_move(s->q, m, UM_Q_SENT, NULL, s->smtp->sent_retention_days > 0) != UM_OK)
		cc_log_message(s->log, CC_LOG_ERROR, "message %s: moving to sent/: %s", m->id,
		               um_errdetail());
	else
		m->where = UM_Q_SENT;
}

/* ---- the pass ---- */

static void
warn_cb(void *arg, const char *msg)
{
	struct um_submit *s = arg;

	cc_log_message(s->log, CC_LOG_WARNING, "queue: %s", msg);
}

/* One message due now. false when the hub is down (the rest of the pass is deferred). */
static bool
attempt_one(struct um_submit *s, struct um_qmsg *m, time_t now, struct attempt *hub_down)
{
	struct attempt a;
	struct um_recipient who;
	char rcpt[UM_RECIPIENT_ADDRESS_MAX + 1], msgid[320];

	if (m->wav_missing) {
		to_failed(s, m, UM_SR_SPOOL, "the message's audio (ID.wav) is missing");
		return true;
	}
	switch (um_recipients_lookup(s->rcpt, m->to, &who)) {
	case UM_OK:
		break;
	case UM_ERR_NO_RECIPIENT:
		to_failed(s, m, UM_SR_NO_RECIPIENT, um_errdetail());
		return true;
	default:
		/* The directory could not be asked: the message waits, never to the fallback. */
		memset(&a, 0, sizeof(a));
		a.reason = UM_SR_DIRECTORY;
		snprintf(a.error, sizeof(a.error), "recipient lookup: %s", um_errdetail());
		m->attempts++;
		if (m->first_attempt == 0)
			m->first_attempt = now;
		m->last_attempt = now;
		deferred(s, m, &a, now);
		return true;
	}
	if (who.how == UM_RECIPIENT_FALLBACK)
		cc_log_message(s->log, CC_LOG_WARNING, "message %s: %s; to the fallback %s", m->id,
		               who.why, who.address);
	else if (who.how == UM_RECIPIENT_DIRECTORY)
		cc_log_message(s->log, CC_LOG_INFO, "message %s: %s is the mail of %s", m->id,
		               who.address, who.dn);
	snprintf(rcpt, sizeof(rcpt), "%s", who.address);
	if (m->message_id == NULL) {
		um_message_id(m->id, s->smtp->fqdn ? s->smtp->fqdn : s->fqdn, msgid, sizeof(msgid));
		m->message_id = strdup(msgid);
	}
	free(m->recipient);
	m->recipient = strdup(rcpt);
	if (m->message_id == NULL || m->recipient == NULL) {
		cc_log_message(s->log, CC_LOG_ERROR, "message %s: out of memory", m->id);
		return true;
	}
	m->attempts++;
	if (m->first_attempt == 0)
		m->first_attempt = now;
	m->last_attempt = now;
	/* Counted before sending: an attempt umd did not live to finish still counts. */
	if (um_queue_save(s->q, m) != UM_OK)
		cc_log_message(s->log, CC_LOG_ERROR, "message %s: %s", m->id, um_errdetail());
	if (m->retry)
		um_queue_retry_taken(s->q, m->id);
	if (!ready_handle(s, &a)) {
		deferred(s, m, &a, now);
		return false;
	}
	send_one(s, m, rcpt, m->message_id, &a);
	now = time(NULL);
	if (a.sent) {
		submitted(s, m, &a, now);
		return true;
	}
	if (atomic_load(&s->stop))
		return false; /* not an outcome: the message is simply still queued */
	if (a.permanent) {
		to_failed(s, m, a.reason, a.error);
		return true;
	}
	deferred(s, m, &a, now);
	if (a.hub_down) {
		*hub_down = a;
		return false;
	}
	return true;
}

/* Defers a message not tried because the hub was found down in this pass. */
static void
defer_untried(struct um_submit *s, struct um_qmsg *m, const struct attempt *down, time_t now)
{
	m->attempts++;
	if (m->first_attempt == 0)
		m->first_attempt = now;
	m->last_attempt = now;
	if (m->retry)
		um_queue_retry_taken(s->q, m->id);
	deferred(s, m, down, now);
}

/* Every message of new/ that is due; returns when the next one will be (0: none waiting). */
static time_t
pass(struct um_submit *s)
{
	struct um_qmsg *v = NULL;
	struct attempt down;
	size_t n = 0, i, purged, left;
	time_t now = time(NULL), next = 0, oldest = 0, age_limit;
	bool hub_ok = true;

	if (um_queue_list(s->q, UM_Q_NEW, warn_cb, s, &v, &n) != UM_OK) {
		cc_log_message(s->log, CC_LOG_ERROR, "queue: %s", um_errdetail());
		return now + IDLE_WAKE;
	}
	age_limit = (time_t)s->smtp->max_queue_days * 86400;
	for (i = 0; i < n && !atomic_load(&s->stop); i++) {
		struct um_qmsg *m = &v[i];
		time_t born = m->started != 0 ? m->started : m->first_attempt;

		now = time(NULL);
		if (m->submitted != 0) {
			/* Sent before a move was cut short: finish the move, never send again. */
			if (um_queue_move(s->q, m, UM_Q_SENT, NULL,
			                  s->smtp->sent_retention_days > 0) != UM_OK)
				cc_log_message(s->log, CC_LOG_ERROR, "message %s: %s", m->id,
				               um_errdetail());
			else
				m->where = UM_Q_SENT;
			continue;
		}
		if (born != 0 && now - born > age_limit) {
			char e[800];

			snprintf(e, sizeof(e), "queued more than %d days; the last error: %s",
			         s->smtp->max_queue_days, m->last_error ? m->last_error : "none");
			to_failed(s, m, UM_SR_EXPIRED, e);
			continue;
		}
		if (m->next_attempt > now && !m->retry) {
			if (next == 0 || m->next_attempt < next)
				next = m->next_attempt;
			continue;
		}
		if (!hub_ok)
			defer_untried(s, m, &down, now);
		else if (!attempt_one(s, m, now, &down))
			hub_ok = atomic_load(&s->stop) ? hub_ok : false;
		if (m->where == UM_Q_NEW && m->submitted == 0 && m->next_attempt > now &&
		    (next == 0 || m->next_attempt < next))
			next = m->next_attempt;
		atomic_store(&s->dirty, true);
	}
	/*
	 * The gauges, from the messages of this pass still in new/ (one that arrived meanwhile is
	 * counted by the pass its arrival starts).
	 */
	for (i = 0, left = 0; i < n; i++) {
		time_t born = v[i].started != 0 ? v[i].started : v[i].first_attempt;

		if (v[i].where != UM_Q_NEW)
			continue;
		left++;
		if (born != 0 && (oldest == 0 || born < oldest))
			oldest = born;
	}
	um_metrics_smtp_queue(s->metrics, (long long)left,
	                      oldest != 0 ? (long long)(time(NULL) - oldest) : 0);
	um_qmsg_free_all(v, n);
	if (now - s->last_purge >= PURGE_EVERY) {
		s->last_purge = now;
		if (um_queue_purge_sent(s->q, s->smtp->sent_retention_days, now, &purged) != UM_OK)
			cc_log_message(s->log, CC_LOG_WARNING, "purging sent/: %s", um_errdetail());
		else if (purged > 0)
			cc_log_message(s->log, CC_LOG_INFO,
			               "removed %zu sent message(s) older than %d days", purged,
			               s->smtp->sent_retention_days);
	}
	return next;
}

static void *
syncer(void *arg)
{
	struct um_submit *s = arg;
	struct timespec t;

	pthread_mutex_lock(&s->sync_mu);
	while (!atomic_load(&s->stop)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += 1;
		(void)pthread_cond_timedwait(&s->sync_cv, &s->sync_mu, &t);
		if (atomic_exchange(&s->dirty, false)) {
			pthread_mutex_unlock(&s->sync_mu);
			um_queue_sync(s->q);
			pthread_mutex_lock(&s->sync_mu);
		}
	}
	pthread_mutex_unlock(&s->sync_mu);
	um_queue_sync(s->q);
	return NULL;
}

static void *
run(void *arg)
{
	struct um_submit *s = arg;
	char buf[4096];
	time_t next, now;
	int timeout;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd[2] = {{.fd = s->wakefd, .events = POLLIN},
		                        {.fd = s->inofd, .events = POLLIN}};

		next = pass(s);
		if (atomic_load(&s->stop))
			break;
		now = time(NULL);
		timeout = IDLE_WAKE;
		if (next != 0 && next - now < timeout)
			timeout = next > now ? (int)(next - now) : 0;
		if (poll(pfd, 2, timeout * 1000) > 0) {
			/* Drain: whatever woke us, one pass looks at everything. */
			if (pfd[0].revents & POLLIN)
				(void)read(s->wakefd, buf, sizeof(uint64_t));
			if (pfd[1].revents & POLLIN)
				while (read(s->inofd, buf, sizeof(buf)) > 0)
					;
		}
	}
	free_handle(s);
	um_smtp_snapshot_clear(&s->snap);
	return NULL;
}

enum um_err
um_submit_start(const struct um_smtp_config *smtp, const char *spool, const char *fqdn,
                const char *store, struct um_smtp_identity *id, struct cc_log *log,
                struct um_metrics *metrics, struct um_submit **out)
{
	struct um_submit *s;
	char newdir[PATH_MAX];
	const char *hub;
	enum um_err r = UM_ERR_NOMEM;

	*out = NULL;
	pthread_once(&pin_once, make_pin_index);
	if (pin_index < 0)
		return um_seterr(UM_ERR_TLS, "SSL_CTX_get_ex_new_index failed");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return um_seterr(UM_ERR_NOMEM, "submission");
	s->wakefd = s->inofd = -1;
	s->id = id;
	atomic_init(&s->dirty, false);
	pthread_mutex_init(&s->sync_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->sync_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->log = log;
	s->metrics = metrics;
	atomic_init(&s->stop, false);
	if ((s->smtp = copy_smtp(smtp)) == NULL || (s->spool = strdup(spool)) == NULL ||
	    (s->fqdn = strdup(fqdn)) == NULL || (s->store = strdup(store)) == NULL) {
		r = um_seterr(UM_ERR_NOMEM, "submission");
		goto out;
	}
	/*
	 * The URL names the hub as its certificate must (hub_fqdn), with umd's name for EHLO as its
	 * path (libcurl's SMTP URL); CONNECT_TO sends the connection to the smarthost's address.
	 */
	hub = s->smtp->hub_fqdn != NULL ? s->smtp->hub_fqdn : s->smtp->smarthost_host;
	if (asprintf(&s->url, "smtp://%s%s%s:%d/%s", strchr(hub, ':') ? "[" : "", hub,
	             strchr(hub, ':') ? "]" : "", s->smtp->smarthost_port,
	             s->smtp->fqdn ? s->smtp->fqdn : fqdn) < 0) {
		s->url = NULL;
		r = um_seterr(UM_ERR_NOMEM, "submission");
		goto out;
	}
	if (strcmp(hub, s->smtp->smarthost_host) != 0 &&
	    asprintf(&s->connect_to, "%s:%d:%s%s%s:%d", hub, s->smtp->smarthost_port,
	             strchr(s->smtp->smarthost_host, ':') ? "[" : "", s->smtp->smarthost_host,
	             strchr(s->smtp->smarthost_host, ':') ? "]" : "",
	             s->smtp->smarthost_port) < 0) {
		s->connect_to = NULL;
		r = um_seterr(UM_ERR_NOMEM, "submission");
		goto out;
	}
	{
		struct um_recipient_conf rc = {
		        .recipient = s->smtp->recipient,
		        .directory_url = s->smtp->directory_url,
		        .directory_base = s->smtp->directory_base,
		        .directory_filter = s->smtp->directory_filter,
		        .directory_bind_dn = s->smtp->directory_bind_dn,
		        .directory_password_file = s->smtp->directory_password_file,
		        .fallback_recipient = s->smtp->fallback_recipient,
		        .store = store,
		};

		if ((r = um_recipients_new(&rc, &s->rcpt)) != UM_OK)
			goto out;
	}
	if ((r = um_queue_open(spool, &s->q)) != UM_OK)
		goto out;
	um_queue_set_lazy(s->q, true);
	if ((s->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (s->inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		r = um_seterr(UM_ERR_IO, "submission: %s", strerror(errno));
		goto out;
	}
	/* The spool commits by renaming ID.json into new/; an administrator may copy one in. */
	snprintf(newdir, sizeof(newdir), "%s/new", spool);
	if (inotify_add_watch(s->inofd, newdir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) == -1) {
		r = um_seterr(UM_ERR_IO, "inotify on %s: %s", newdir, strerror(errno));
		goto out;
	}
	if (pthread_create(&s->syncer, NULL, syncer, s) != 0) {
		r = um_seterr(UM_ERR_IO, "submission thread: %s", strerror(errno));
		goto out;
	}
	s->syncer_started = true;
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		r = um_seterr(UM_ERR_IO, "submission thread: %s", strerror(errno));
		goto out;
	}
	s->started = true;
	cc_log_message(log, CC_LOG_INFO, "submitting voice messages to %s:%d (%s), from %s",
	               s->smtp->smarthost_host, s->smtp->smarthost_port,
	               s->smtp->hub_pin != NULL ? "its pinned certificate" : hub, s->smtp->from);
	*out = s;
	s = NULL;
	r = UM_OK;
out:
	um_submit_stop(s);
	return r;
}

void
um_submit_kick(struct um_submit *s)
{
	uint64_t one = 1;

	if (s != NULL && write(s->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

void
um_submit_stop(struct um_submit *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	if (s->started) {
		um_submit_kick(s);
		pthread_join(s->thread, NULL);
	}
	if (s->syncer_started) {
		/* After the sender: its last changes are made durable as the syncer ends. */
		atomic_store(&s->dirty, true);
		pthread_mutex_lock(&s->sync_mu);
		pthread_cond_signal(&s->sync_cv);
		pthread_mutex_unlock(&s->sync_mu);
		pthread_join(s->syncer, NULL);
	}
	pthread_mutex_destroy(&s->sync_mu);
	pthread_cond_destroy(&s->sync_cv);
	free_handle(s);
	um_smtp_snapshot_clear(&s->snap);
	um_queue_free(s->q);
	um_recipients_free(s->rcpt);
	if (s->wakefd != -1)
		close(s->wakefd);
	if (s->inofd != -1)
		close(s->inofd);
	um_smtp_config_free(s->smtp);
	free(s->spool);
	free(s->fqdn);
	free(s->store);
	free(s->url);
	free(s->connect_to);
	free(s);
}
