/* struct es_replicator: the store, the source connection and the holder name of one process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "certcore/fileio.h"
#include "certcore/sandbox.h"
#include "edgesync/credential.h"
#include "edgesync/identity.h"
#include "edgesync/lease.h"
#include "edgesync/replicator.h"
#include "edgesync/secret.h"
#include "internal.h"
#include "replicator_impl.h"

enum es_err
es_replicator_open_store(const struct es_config *cfg, struct cc_store **out)
{
	enum cc_err ce;

	*out = NULL;
	if ((ce = cc_store_open(cfg->store, CC_STORE_CREATE, out)) != CC_OK)
		return es_seterr_cc(ES_ERR_CERT, ce, "store %s", cfg->store);
	return ES_OK;
}

/*
 * [source] bind = external: the replicator's own certificate (identity.h: certcore's LDAP
 * choice, the one its edge credentials are encrypted to; a self-signed one is made when none is
 * eligible) is the TLS client certificate, and the bind is SASL EXTERNAL. The certificate is
 * chosen again at each connect, so a renewed one is used from the next reconnect on.
 */
static enum es_err
connect_external(struct es_replicator *rep, struct es_conn_opts *o, struct es_conn **out)
{
	struct cc_cert *self = NULL;
	char why[1024], *id = NULL;
	enum es_err r;

	*out = NULL;
	/* an owned reference (identity.h): the connection keeps using its X509 and key */
	if ((r = es_identity_select(rep->store, rep->keys == NULL, rep->log, &self)) != ES_OK)
		return r;
	if (rep->keys != NULL) {
		/* key custody: the key read at start is the only one this process has */
		if (rep->source_key == NULL ||
		    X509_cmp(rep->source_cert, cc_cert_x509(self)) != 0) {
			r = es_seterr(ES_ERR_CERT,
			              "bind = external: the replicator's certificate is now %s, "
			              "whose key this process did not read at start (restart "
			              "edgesync)",
			              cc_cert_thumbprint(self));
			goto out;
		}
		o->client_cert = rep->source_cert;
		o->client_key = rep->source_key;
	} else {
		if (cc_cert_key(self) == NULL) {
			r = es_seterr(ES_ERR_CERT,
			              "bind = external: the replicator's certificate %s has no "
			              "private key in %s",
			              cc_cert_thumbprint(self), cc_store_path(rep->store));
			goto out;
		}
		o->client_cert = cc_cert_x509(self);
		o->client_key = cc_cert_key(self);
	}
	if ((r = es_conn_open(o, out, NULL, NULL)) != ES_OK ||
	    (r = es_conn_bind_external(*out)) != ES_OK) {
		/* name the certificate the server was shown: the one to map to an account */
		snprintf(why, sizeof(why), "%s", es_errdetail());
		r = es_seterr(r, "%s (client certificate %s, subject %s)", why,
		              cc_cert_thumbprint(self), cc_cert_subject(self));
		es_conn_close(*out);
		*out = NULL;
		goto out;
	}
	if (es_conn_whoami(*out, &id) == ES_OK)
		cc_log_message(rep->log, CC_LOG_INFO,
		               "source %s: bound by SASL EXTERNAL with certificate %s as %s",
		               rep->cfg->source_url, cc_cert_thumbprint(self),
		               id[0] ? id : "(anonymous)");
	free(id);
	r = ES_OK;
out:
	cc_cert_free(self);
	return r;
}

enum es_err
es_replicator_connect(struct es_replicator *rep)
{
	const struct es_config *cfg = rep->cfg;
	struct es_conn_opts o;
	struct es_conn *c = NULL;
	char *pw = NULL, *base = NULL, *nc = NULL;
	bool sync = false, dirsync = false;
	enum es_err r;

	es_conn_close(rep->source);
	rep->source = NULL;
	memset(&o, 0, sizeof(o));
	o.url = cfg->source_url;
	o.timeout = cfg->timeout;
	o.ca_file = cfg->source_ca_file;
	if (cfg->source_bind == ES_BIND_EXTERNAL) {
		if ((r = connect_external(rep, &o, &c)) != ES_OK)
			goto out;
	} else if ((r = es_secret_read_file(cfg->source_password_file, &pw)) != ES_OK ||
	           (r = es_conn_open(&o, &c, NULL, NULL)) != ES_OK ||
	           (r = es_conn_bind(c, cfg->source_bind_dn, pw)) != ES_OK) {
		goto out;
	}
	if (cfg->source_base != NULL) {
		if ((base = strdup(cfg->source_base)) == NULL) {
			r = es_seterr(ES_ERR_NOMEM, "base");
			goto out;
		}
	} else if ((r = es_conn_naming_context(c, &base)) != ES_OK) {
		goto out;
	}
	if ((r = es_conn_supports_sync(c, &sync)) != ES_OK)
		goto out;
	if (cfg->source_type == ES_SOURCE_AD)
		dirsync = true;
	else if (cfg->source_type == ES_SOURCE_AUTO &&
	         (r = es_conn_supports_control(c, LDAP_CONTROL_X_DIRSYNC, &dirsync)) != ES_OK)
		goto out;
	/* DirSync searches from the root of a partition: the domain's naming context */
	if (dirsync && (r = es_conn_naming_context(c, &nc)) != ES_OK)
		goto out;
	free(rep->source_base);
	rep->source_base = base;
	base = NULL;
	free(rep->source_nc);
	rep->source_nc = nc;
	nc = NULL;
	rep->source_ad = dirsync;
	rep->source_sync = sync && !dirsync;
	rep->source = c;
	c = NULL;
	r = ES_OK;
out:
	es_secret_free(pw);
	free(base);
	free(nc);
	es_conn_close(c);
	return r;
}

/* The folders of the store this process gives up: keys/ and requests/. false: no memory. */
static bool
hidden_folders(const struct es_config *cfg, char *hide[2])
{
	hide[0] = es_aprintf("%s/keys", cfg->store);
	hide[1] = es_aprintf("%s/requests", cfg->store);
	return hide[0] != NULL && hide[1] != NULL;
}

bool
es_replicator_cannot_write(const struct es_config *cfg, const char *path)
{
	char *hide[2];
	bool refused = false;

	if (hidden_folders(cfg, hide))
		refused = cc_sandbox_hide_refuses((const char *const *)hide, 2, path);
	free(hide[0]);
	free(hide[1]);
	return refused;
}

/*
 * Key custody, this process's half: it gives up reading and writing the store's keys/ and
 * requests/ (the holder reads them). The store with its layout exists by now.
 */
static enum es_err
hide_keys(struct es_replicator *rep)
{
	enum cc_sandbox_result res;
	char *hide[2] = {NULL, NULL};
	int abi = 0;
	enum cc_err ce;
	enum es_err r = ES_ERR_NOMEM;

	if (!hidden_folders(rep->cfg, hide)) {
		r = es_seterr(ES_ERR_NOMEM, "sandbox");
		goto out;
	}
	if ((ce = cc_sandbox_hide((const char *const *)hide, 2, &res, &abi)) != CC_OK) {
		r = es_seterr_cc(ES_ERR_IO, ce, "giving up reading %s", hide[0]);
		goto out;
	}
	if (res == CC_SANDBOX_ENFORCED)
		cc_log_message(rep->log, CC_LOG_INFO,
		               "private keys are held by process %d; this process can neither "
		               "read nor write %s or %s (Landlock ABI %d)",
		               (int)es_keyholder_pid(rep->keys), hide[0], hide[1], abi);
	else
		cc_log_message(rep->log, CC_LOG_WARNING,
		               "private keys are held by process %d, but this kernel has no usable "
		               "Landlock (ABI %d): this process could still read and write %s",
		               (int)es_keyholder_pid(rep->keys), abi, hide[0]);
	es_testhook_open("replicator");
	r = ES_OK;
out:
	free(hide[0]);
	free(hide[1]);
	return r;
}

/*
 * bind = external under key custody: libldap makes the TLS handshake with the source in this
 * process and needs the private key here. The replicator's certificate is chosen (or made) and
 * its key read from keys/ now, before this process gives keys/ up; it is the one key this
 * process holds.
 */
static enum es_err
read_source_key(struct es_replicator *rep)
{
	struct cc_cert *self = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	char *path = NULL;
	BIO *b = NULL;
	enum cc_err ce;
	enum es_err r;

	if ((r = es_identity_select(rep->store, true, rep->log, &self)) != ES_OK)
		return r;
	if ((path = es_aprintf("%s/keys/%s.key", rep->cfg->store, cc_cert_thumbprint(self))) ==
	    NULL) {
		r = es_seterr(ES_ERR_NOMEM, "key");
		goto out;
	}
	if ((ce = cc_file_read(path, 1 << 20, &buf, &len, NULL)) != CC_OK) {
		r = es_seterr_cc(ES_ERR_CERT, ce, "bind = external: the replicator's key");
		goto out;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (rep->source_key = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"")) == NULL) {
		r = es_seterr_ssl(ES_ERR_CERT, "bind = external: reading %s", path);
		goto out;
	}
	if (X509_check_private_key(cc_cert_x509(self), rep->source_key) != 1) {
		r = es_seterr_ssl(ES_ERR_CERT, "bind = external: %s is not the key of %s", path,
		                  cc_cert_thumbprint(self));
		goto out;
	}
	if (X509_up_ref(cc_cert_x509(self)) != 1) {
		r = es_seterr(ES_ERR_NOMEM, "certificate");
		goto out;
	}
	rep->source_cert = cc_cert_x509(self);
	r = ES_OK;
out:
	if (r != ES_OK) {
		EVP_PKEY_free(rep->source_key);
		rep->source_key = NULL;
	}
	BIO_free(b);
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	free(path);
	cc_cert_free(self);
	return r;
}

enum es_err
es_replicator_open_with(const struct es_config *cfg, struct cc_log *log, int flags,
                        struct es_replicator **out)
{
	struct es_replicator *rep;
	struct cc_cert *self = NULL;
	enum es_err r;

	*out = NULL;
	if ((r = es_config_require_source(cfg)) != ES_OK)
		return r;
	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return es_seterr(ES_ERR_NOMEM, "replicator");
	rep->cfg = cfg;
	rep->log = log;
	if ((r = es_lease_holder_name(&rep->holder)) != ES_OK)
		goto fail;
	if (flags & ES_REPLICATOR_HOLD_KEYS) {
		if ((r = es_keyholder_start(cfg->store, log, &rep->keys)) != ES_OK)
			goto fail;
		cc_store_set_key_source(es_keyholder_key, rep->keys);
	}
	if ((r = es_replicator_open_store(cfg, &rep->store)) != ES_OK)
		goto fail;
	/* before the sandbox: a key made here is made before anything is read from the network */
	if (flags & ES_REPLICATOR_IDENTITY) {
		if ((r = es_identity_select(rep->store, true, log, &self)) != ES_OK)
			goto fail;
		cc_cert_free(self);
	}
	if (rep->keys != NULL && cfg->source_bind == ES_BIND_EXTERNAL &&
	    (r = read_source_key(rep)) != ES_OK)
		goto fail;
	if (rep->keys != NULL && (r = hide_keys(rep)) != ES_OK)
		goto fail;
	if ((r = es_replicator_connect(rep)) != ES_OK)
		goto fail;
	*out = rep;
	return ES_OK;
fail:
	es_replicator_free(rep);
	return r;
}

enum es_err
es_replicator_open(const struct es_config *cfg, struct cc_log *log, struct es_replicator **out)
{
	return es_replicator_open_with(cfg, log, 0, out);
}

enum es_err
es_replicator_identity(struct es_replicator *rep, struct cc_cert **out)
{
	char why[512];
	enum es_err r;

	r = es_identity_select(rep->store, rep->keys == NULL, rep->log, out);
	if (r == ES_ERR_NOT_FOUND && rep->keys != NULL) {
		snprintf(why, sizeof(why), "%s", es_errdetail());
		r = es_seterr(
		        r,
		        "%s; edgesync makes its certificate only at start, before it connects "
		        "(restart it, or enable one for LDAP with certctl)",
		        why);
	}
	return r;
}

enum es_err
es_replicator_open_credential(struct es_replicator *rep, const unsigned char *der, size_t len,
                              char **password)
{
	if (rep->keys == NULL)
		return es_credential_open(der, len, rep->store, password);
	return es_credential_open_via(der, len, rep->store, es_keyholder_decrypt, rep->keys,
	                              password);
}

void
es_replicator_free(struct es_replicator *rep)
{
	if (rep == NULL)
		return;
	es_conn_close(rep->source);
	cc_store_free(rep->store);
	if (rep->keys != NULL) {
		/* no store of this process asks a holder that is stopped */
		cc_store_set_key_source(NULL, NULL);
		es_keyholder_stop(rep->keys);
	}
	free(rep->source_base);
	free(rep->source_nc);
	free(rep->holder);
	X509_free(rep->source_cert);
	EVP_PKEY_free(rep->source_key);
	free(rep);
}

bool
es_replicator_stopping(const struct es_replicator *rep)
{
	return rep->stop != NULL && *rep->stop != 0;
}

const struct es_config *
es_replicator_config(const struct es_replicator *rep)
{
	return rep->cfg;
}

struct cc_store *
es_replicator_store(const struct es_replicator *rep)
{
	return rep->store;
}

struct es_conn *
es_replicator_source(const struct es_replicator *rep)
{
	return rep->source;
}

const char *
es_replicator_holder(const struct es_replicator *rep)
{
	return rep->holder;
}

const char *
es_replicator_source_mode(const struct es_replicator *rep)
{
	return rep->source_ad     ? "Active Directory: DirSync"
	       : rep->source_sync ? "RFC 4533 offered"
	                          : "RFC 4533 not offered: full compares";
}

void
es_replicator_set_progress(struct es_replicator *rep, struct es_progress *progress)
{
	rep->progress = progress;
}

void
es_replicator_set_stop(struct es_replicator *rep, volatile sig_atomic_t *stop)
{
	rep->stop = stop;
}
