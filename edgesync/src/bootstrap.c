/* The edge side of a subscription: certificate, bootstrap account with expiry, file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "certcore/choose.h"
#include "certcore/services.h"
#include "certcore/store.h"
#include "edgesync/bootstrap.h"
#include "edgesync/conn.h"
#include "edgesync/pin.h"
#include "edgesync/secret.h"
#include "edgesync/subfile.h"
#include "internal.h"

void
es_bootstrap_result_clear(struct es_bootstrap_result *res)
{
	free(res->bind_dn);
	memset(res, 0, sizeof(*res));
}

/* The LDAP certificate for the edge's FQDN, made when none is eligible. Owned. */
static enum es_err
edge_certificate(struct cc_store *s, const struct es_config *cfg, struct cc_log *log,
                 struct es_bootstrap_result *res, struct cc_cert **out)
{
	struct cc_verify_opts vo;
	struct cc_new_params p;
	struct cc_choice ch;
	const char *domains[1];
	enum cc_err ce;

	*out = NULL;
	memset(&vo, 0, sizeof(vo));
	vo.offline = true;
	memset(&p, 0, sizeof(p));
	domains[0] = cfg->edge_fqdn;
	p.domains = domains;
	p.ndomains = 1;
	p.services = CC_SVC_LDAP;
	p.key_type = CC_KEY_RSA_2048;
	p.friendly_name = "edgesync edge directory";
	p.made_by = "edgesync";
	if ((ce = cc_store_select_or_create(s, CC_SVC_LDAP, cfg->edge_fqdn, &vo, NULL, &p, log,
	                                    &ch)) != CC_OK)
		return es_seterr_cc(ES_ERR_CERT, ce, "the LDAP certificate for %s", cfg->edge_fqdn);
	*out = ch.cert;
	memcpy(res->thumb, cc_cert_thumbprint(ch.cert), CC_THUMB_LEN + 1);
	res->created = ch.how == CC_CHOSE_CREATED;
	return ES_OK;
}

/* Adds an entry, or when it exists applies `mods` (replace) to it. */
static enum es_err
add_or_modify(struct es_conn *c, const char *dn, LDAPMod **add, LDAPMod **mod)
{
	enum es_err r;
	int rc;

	r = es_conn_add(c, dn, add, &rc);
	if (r == ES_OK || rc != LDAP_ALREADY_EXISTS)
		return r;
	return es_conn_modify(c, dn, mod, &rc);
}

static enum es_err
make_account(struct es_conn *c, const char *base, int minutes, const char *password, char **bind_dn)
{
	struct es_mods add, mod;
	char *policy = NULL, *account = NULL, maxage[24], why[1024];
	enum es_err r = ES_ERR_NOMEM;
	int rc;

	*bind_dn = NULL;
	if ((policy = es_aprintf(ES_BOOTSTRAP_POLICY ",%s", base)) == NULL ||
	    (account = es_aprintf(ES_BOOTSTRAP_ACCOUNT ",%s", base)) == NULL) {
		r = es_seterr(ES_ERR_NOMEM, "account");
		goto out;
	}
	snprintf(maxage, sizeof(maxage), "%ld", (long)minutes * 60);
	/* the policy: the password lives as long as the file, no grace logins */
	es_mods_init(&add);
	es_mods_adds(&add, LDAP_MOD_ADD, "objectClass", "organizationalRole");
	es_mods_adds(&add, LDAP_MOD_ADD, "objectClass", "pwdPolicy");
	es_mods_adds(&add, LDAP_MOD_ADD, "cn", "edgesync-policy");
	es_mods_adds(&add, LDAP_MOD_ADD, "pwdAttribute", "userPassword");
	es_mods_adds(&add, LDAP_MOD_ADD, "pwdMaxAge", maxage);
	es_mods_adds(&add, LDAP_MOD_ADD, "pwdGraceAuthNLimit", "0");
	es_mods_adds(&add, LDAP_MOD_ADD, "pwdAllowUserChange", "TRUE");
	es_mods_adds(&add, LDAP_MOD_ADD, "pwdMustChange", "FALSE");
	es_mods_adds(&add, LDAP_MOD_ADD, "description",
	             "edgesync: the bootstrap password expires with the subscription file");
	es_mods_init(&mod);
	es_mods_adds(&mod, LDAP_MOD_REPLACE, "pwdMaxAge", maxage);
	es_mods_adds(&mod, LDAP_MOD_REPLACE, "pwdGraceAuthNLimit", "0");
	if ((r = add_or_modify(c, policy, es_mods_get(&add), es_mods_get(&mod))) != ES_OK) {
		snprintf(why, sizeof(why), "%s", es_errdetail());
		r = es_seterr(r,
		              "%s (the edge directory needs the ppolicy overlay: edgesync relies "
		              "on it to make the bootstrap password expire)",
		              why);
		goto out;
	}
	es_mods_init(&add);
	es_mods_adds(&add, LDAP_MOD_ADD, "objectClass", "person");
	es_mods_adds(&add, LDAP_MOD_ADD, "cn", "edgesync");
	es_mods_adds(&add, LDAP_MOD_ADD, "sn", "EdgeSync replication");
	es_mods_adds(
	        &add, LDAP_MOD_ADD, "description",
	        "edgesync: the account replicators bind as; made by edgesync subscription new");
	es_mods_adds(&add, LDAP_MOD_ADD, "pwdPolicySubentry", policy);
	es_mods_init(&mod);
	es_mods_adds(&mod, LDAP_MOD_REPLACE, "pwdPolicySubentry", policy);
	if ((r = add_or_modify(c, account, es_mods_get(&add), es_mods_get(&mod))) != ES_OK)
		goto out;
	/* RFC 3062: the directory hashes the password itself, and the policy's clock
	 * (pwdChangedTime) starts now */
	{
		struct berval user = {strlen(account), account};
		struct berval pw = {strlen(password), (char *)password};
		struct berval gen = {0,
		                     NULL}; /* a password the server made; none when we give one */

		rc = ldap_passwd_s(es_conn_ld(c), &user, NULL, &pw, &gen, NULL, NULL);
		if (gen.bv_val != NULL) {
			OPENSSL_cleanse(gen.bv_val, gen.bv_len);
			ber_memfree(gen.bv_val);
		}
		if (rc != LDAP_SUCCESS) {
			r = es_seterr_ldap(ES_ERR_LDAP, es_conn_ld(c), rc,
			                   "setting the password of %s", account);
			goto out;
		}
	}
	*bind_dn = account;
	account = NULL;
	r = ES_OK;
out:
	free(policy);
	free(account);
	return r;
}

enum es_err
es_bootstrap_subscription(const struct es_config *cfg, struct cc_log *log, int minutes, time_t now,
                          const char *out_path, struct es_bootstrap_result *res)
{
	struct cc_store *store = NULL;
	struct cc_cert *cert = NULL;
	struct es_conn_opts o;
	struct es_conn *conn = NULL, *admin = NULL;
	struct es_pin pin, presented;
	struct es_subfile sf;
	bool have_presented = false;
	char *adminpw = NULL, *pw = NULL, pbuf[ES_PIN_TEXT_LEN + 1], ebuf[ES_PIN_TEXT_LEN + 1];
	enum cc_err ce;
	enum es_err r;

	memset(res, 0, sizeof(*res));
	memset(&sf, 0, sizeof(sf));
	if ((r = es_config_require_edge(cfg)) != ES_OK)
		return r;
	if (minutes < 1 || minutes > ES_SUBFILE_MAX_MINUTES)
		return es_seterr(ES_ERR_INVAL, "--valid-minutes %d is not 1 to %d", minutes,
		                 ES_SUBFILE_MAX_MINUTES);
	if ((ce = cc_store_open(cfg->store, CC_STORE_CREATE, &store)) != CC_OK) {
		r = es_seterr_cc(ES_ERR_CERT, ce, "store %s", cfg->store);
		goto out;
	}
	if ((r = edge_certificate(store, cfg, log, res, &cert)) != ES_OK ||
	    (r = es_pin_from_x509(cc_cert_x509(cert), &pin)) != ES_OK)
		goto out;
	/* the directory must serve this very key, or no replicator will ever accept it */
	memset(&o, 0, sizeof(o));
	o.url = cfg->edge_url;
	o.timeout = cfg->timeout;
	o.pins = &pin;
	o.npins = 1;
	if ((r = es_conn_open(&o, &conn, &presented, &have_presented)) != ES_OK) {
		if (r == ES_ERR_PIN_MISMATCH)
			r = es_seterr(ES_ERR_PIN_MISMATCH,
			              "the edge directory at %s presents the key %s, not %s of "
			              "certificate %s: configure its TLS with %s/certs/%s.pem and "
			              "%s/keys/%s.key, restart it, and run this again",
			              cfg->edge_url,
			              have_presented ? es_pin_format(&presented, pbuf)
			                             : "(unknown)",
			              es_pin_format(&pin, ebuf), res->thumb, cfg->store, res->thumb,
			              cfg->store, res->thumb);
		goto out;
	}
	if (cfg->edge_admin_url != NULL && strcmp(cfg->edge_admin_url, cfg->edge_url) != 0) {
		o.url = cfg->edge_admin_url;
		if ((r = es_conn_open(&o, &admin, NULL, NULL)) != ES_OK)
			goto out;
	} else {
		admin = conn;
		conn = NULL;
	}
	if ((r = es_secret_read_file(cfg->edge_admin_password_file, &adminpw)) != ES_OK ||
	    (r = es_conn_bind(admin, cfg->edge_admin_dn, adminpw)) != ES_OK)
		goto out;
	if ((r = es_secret_random(&pw)) != ES_OK ||
	    (r = make_account(admin, cfg->edge_base, minutes, pw, &res->bind_dn)) != ES_OK)
		goto out;
	sf.edge_name = cfg->edge_name;
	sf.fqdn = cfg->edge_fqdn;
	sf.url = cfg->edge_url;
	sf.base = cfg->edge_base;
	sf.bind_dn = res->bind_dn;
	sf.bind_password = pw;
	sf.cert = cc_cert_x509(cert);
	sf.effective = now;
	sf.minutes = minutes;
	if ((r = es_subfile_write(out_path, &sf)) != ES_OK)
		goto out;
	res->pin = pin;
	res->effective = now;
	res->minutes = minutes;
	r = ES_OK;
out:
	es_secret_free(adminpw);
	es_secret_free(pw);
	es_conn_close(conn);
	es_conn_close(admin);
	cc_cert_free(cert);
	cc_store_free(store);
	if (r != ES_OK)
		es_bootstrap_result_clear(res);
	return r;
}
