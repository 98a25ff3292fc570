/* edgesync's key holder's loop (keyserve.h). */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "certcore/sandbox.h"
#include "certcore/store.h"
#include "edgesync/credential.h"
#include "edgesync/keyproto.h"
#include "edgesync/keyserve.h"
#include "edgesync/secret.h"
#include "internal.h"

#define WHO "edgesync key holder"

struct es_keyserve {
	char *store_path;
	struct cc_log *log;
	struct cc_store *store;
	time_t opened;
	bool confine; /* es_keyserve_run: confine before the first answer */
};

struct es_keyserve *
es_keyserve_new(const char *store, struct cc_log *log)
{
	struct es_keyserve *ks = calloc(1, sizeof(*ks));

	if (ks == NULL || (ks->store_path = strdup(store)) == NULL) {
		free(ks);
		return NULL;
	}
	ks->log = log;
	return ks;
}

void
es_keyserve_free(struct es_keyserve *ks)
{
	if (ks == NULL)
		return;
	cc_store_free(ks->store);
	free(ks->store_path);
	free(ks);
}

/*
 * Confined to reading the store (certcore/sandbox.h; non-dumpable again, inherited but the
 * holder's own promise; no new socket), done at the first request: by then the replicator has
 * made the store's layout. The store's reader opens its folders (certs/ for the certificate an
 * envelope names, meta/, trust/), so the whole store is readable, keys/ and the public rest,
 * and nothing else; nothing is written.
 */
static bool
confine(struct es_keyserve *ks, struct cc_keyproc_reply *rep)
{
	const char *allow[1] = {ks->store_path};
	enum cc_sandbox_result res;
	int abi;

	ks->confine = false;
	if (cc_sandbox_confine(allow, 1, CC_SANDBOX_READ, &res, &abi) != CC_OK) {
		cc_keyproc_reply_fail(rep, WHO, "confining itself", cc_errdetail());
		cc_log_message(ks->log, CC_LOG_ERROR, WHO ": confining itself: %s", cc_errdetail());
		return false;
	}
	es_testhook_open("key holder");
	return true;
}

/* The store's word on the key file of `thumb`, when it could not load it. */
static const char *
key_problem(const struct cc_store *s, const char *thumb)
{
	char suffix[CC_THUMB_LEN + 16];
	size_t i, n, sl;
	const char *p;

	snprintf(suffix, sizeof(suffix), "/keys/%s.key", thumb);
	sl = strlen(suffix);
	for (i = 0; i < cc_store_problem_count(s); i++) {
		p = cc_store_problem_path(s, i);
		n = strlen(p);
		if (n >= sl && strcmp(p + n - sl, suffix) == 0)
			return cc_store_problem_reason(s, i);
	}
	return NULL;
}

/* The certificate of `thumb` with its key; NULL with the reply filled when there is none. */
static struct cc_cert *
find(struct es_keyserve *ks, const char *thumb, bool reread, struct cc_keyproc_reply *rep)
{
	struct cc_store *s = NULL;
	struct cc_cert *c = NULL;
	time_t now = time(NULL);

	if (ks->store == NULL || cc_store_find(ks->store, thumb, &c) != CC_OK ||
	    (reread && now != ks->opened)) {
		/* asked from inside a write of the replicator's (a key it just made): no lock */
		if (cc_store_open(ks->store_path, CC_STORE_NO_LOCK, &s) != CC_OK) {
			cc_keyproc_reply_fail(rep, WHO, "opening the store", cc_errdetail());
			return NULL;
		}
		cc_store_free(ks->store);
		ks->store = s;
		ks->opened = now;
		c = NULL;
		if (cc_store_find(ks->store, thumb, &c) != CC_OK) {
			cc_keyproc_reply_fail(rep, WHO, "no such certificate in the store", thumb);
			return NULL;
		}
	}
	if (cc_cert_key(c) == NULL) {
		cc_keyproc_reply_fail(rep, WHO, "no usable private key",
		                      key_problem(ks->store, thumb));
		return NULL;
	}
	return c;
}

void
es_keyserve_handle(void *arg, const unsigned char *req, size_t len, struct cc_keyproc_reply *rep)
{
	struct es_keyserve *ks = arg;
	struct es_keyp_req h;
	char thumb[CC_THUMB_LEN + 1], *pw = NULL;
	const unsigned char *data;
	size_t dlen;
	struct cc_cert *c;

	if (ks->confine && !confine(ks, rep))
		return;
	if (es_keyp_parse(req, len, &h, thumb, &data, &dlen) != ES_OK) {
		cc_keyproc_reply_fail(rep, WHO, "malformed request", es_errdetail());
		return;
	}
	if ((c = find(ks, thumb, h.op == ES_KEYP_LOAD, rep)) == NULL)
		return;
	if (h.op == ES_KEYP_LOAD) {
		cc_keyproc_reply_ok(rep, NULL, 0);
		return;
	}
	if (es_credential_open_with(data, dlen, cc_cert_x509(c), cc_cert_key(c), &pw) != ES_OK) {
		ERR_clear_error();
		cc_keyproc_reply_fail(rep, WHO, "the envelope is not opened", es_errdetail());
		return;
	}
	cc_keyproc_reply_ok(rep, pw, strlen(pw));
	es_secret_free(pw);
}

int
es_keyserve_run(int fd, const char *store, struct cc_log *log)
{
	struct es_keyserve *ks = es_keyserve_new(store, log);
	int rc;

	if (ks == NULL) {
		cc_log_message(log, CC_LOG_ERROR, WHO ": out of memory");
		return 1;
	}
	/* the holder reads keys/ itself, whatever key source the process it was forked from set */
	cc_store_set_key_source(NULL, NULL);
	ks->confine = true;
	rc = cc_keyproc_serve(fd, ES_KEYP_REQ_MAX, es_keyserve_handle, ks, log);
	es_keyserve_free(ks);
	return rc;
}
