/*
 * Self-signed certificates (New-ExchangeCertificate without -GenerateRequest) and renewal
 * ("clone": Get-ExchangeCertificate THUMB | New-ExchangeCertificate).
 */
#ifndef CERTCORE_SELFSIGNED_H
#define CERTCORE_SELFSIGNED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/error.h"
#include "certcore/store.h"

enum cc_key_type {
	CC_KEY_RSA_2048 = 0, /* Exchange 2007's default */
	CC_KEY_RSA_1024,
	CC_KEY_RSA_4096,
	CC_KEY_EC_P256,
	CC_KEY_EC_P384
};

struct cc_new_params {
	const char *const *domains; /* DNS names; the first is the CN unless subject is set */
	size_t ndomains;            /* 0: the host's FQDN and short name */
	const char *subject;        /* X.500 string "c=us,o=contoso corp,cn=mail.contoso.com" */
	unsigned services;
	enum cc_key_type key_type;
	int days; /* validity; 0 means 365 */
	bool exportable;
	const char *friendly_name; /* NULL: "Microsoft Exchange"-style default "umedge" */
	time_t now;                /* NotBefore; 0 means time(NULL) */
	const char *made_by;       /* cc_meta.made_by: the daemon making it for itself; NULL none */
};

/* The validity of a clone made by cc_store_auto_renew: one year, as Exchange's own. */
#define CC_AUTO_RENEW_DAYS 365

/* "rsa2048" (or "rsa"), "rsa1024", "rsa4096", "ec256"/"p-256", "ec384"/"p-384". */
enum cc_err cc_key_type_parse(const char *s, enum cc_key_type *out) CC_WUR;
const char *cc_key_type_name(enum cc_key_type t);

/* Generates a key (EVP_PKEY_Q_keygen). Owned by the caller. */
enum cc_err cc_key_generate(enum cc_key_type t, EVP_PKEY **out) CC_WUR;

/*
 * Makes a self-signed certificate and its key: EKU serverAuth and clientAuth, SAN with every
 * domain, subject and authority key ids, basicConstraints CA:FALSE, keyUsage digitalSignature and
 * keyEncipherment (RSA) or keyAgreement (EC), a random 127-bit serial. Owned by the caller.
 */
enum cc_err cc_selfsigned_create(const struct cc_new_params *p, X509 **x_out,
                                 EVP_PKEY **key_out) CC_WUR;

/* Creates a self-signed certificate in the store; `thumb_out` receives its thumbprint. */
enum cc_err cc_store_new_self_signed(struct cc_store *s, const struct cc_new_params *p,
                                     char thumb_out[CC_THUMB_LEN + 1]) CC_WUR;

/*
 * Renews (clones) a stored certificate: a new key of the same type and size, the same subject,
 * domains, services, exportable flag and friendly name, the same validity length, from `now`.
 */
enum cc_err cc_store_renew(struct cc_store *s, const char *thumb, time_t now,
                           char thumb_out[CC_THUMB_LEN + 1]) CC_WUR;

/* What a clone may change (cc_store_clone); zero values keep the original's. */
struct cc_clone_params {
	time_t now;        /* NotBefore; 0: time(NULL) */
	int days;          /* 0: the original's validity length */
	unsigned services; /* 0: the original's services; else these (New-ExchangeCertificate
	                      -Services on a piped certificate) */
};

/* cc_store_renew with what `p` changes (NULL: nothing). The made_by marker is kept. */
enum cc_err cc_store_clone(struct cc_store *s, const char *thumb, const struct cc_clone_params *p,
                           char thumb_out[CC_THUMB_LEN + 1]) CC_WUR;

/*
 * Automatic renewal of a daemon's own certificate, one rule for every daemon: when `thumb` is
 * self-signed, marked made_by `who` (an administrator's self-signed certificate never is) and
 * at `now` within `window_days` of its NotAfter or past it, it is cloned (cc_store_clone: a new
 * key of the same type, the same subject, domains, services and marker) for
 * CC_AUTO_RENEW_DAYS from `now`. *renewed says whether it was; thumb_out (may be NULL) then
 * receives the clone's thumbprint. window_days 0 never renews. CC_ERR_NOT_FOUND without `thumb`.
 * The store reloads when a clone is added: certificates borrowed from it before are gone.
 */
enum cc_err cc_store_auto_renew(struct cc_store *s, const char *thumb, const char *who,
                                int window_days, time_t now, char thumb_out[CC_THUMB_LEN + 1],
                                bool *renewed) CC_WUR;

/*
 * Parses an X.500 subject as Exchange takes it ("c=us,o=contoso corp,cn=mail.contoso.com",
 * RDNs in certificate order, RFC 4514 escaping) with libldap's DN parser. Owned by the caller.
 */
enum cc_err cc_x500_parse(const char *s, X509_NAME **out) CC_WUR;

/* The host's FQDN (canonical name of gethostname()) and its short name. Owned by the caller. */
enum cc_err cc_host_names(char **fqdn, char **shortname) CC_WUR;

#endif
