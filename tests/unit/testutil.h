/*
 * Shared helpers for the CUnit suites: temporary directories, and test certificates made with
 * OpenSSL at run time (never checked in with dates that rot).
 */
#ifndef UMEDGE_TESTUTIL_H
#define UMEDGE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Registers one suite of NULL-terminated tests, runs it verbosely, returns the failure count
 * (0 on success) for main() to return. */
int tu_run(const char *suite, CU_TestInfo *tests);

/* A fresh directory under $TMPDIR (or /tmp), mode 0700; owned, free() it. Aborts on failure. */
char *tu_tmpdir(void);
/* rm -rf. */
void tu_rmrf(const char *path);
/* Writes bytes to a file with a mode (plain write, for planting test files). */
void tu_write_file(const char *path, const void *data, size_t len, unsigned mode);
/* Reads a whole file; owned, NUL-terminated; NULL when absent. */
char *tu_read_file(const char *path, size_t *len);

/* What a test certificate looks like. Zero-initialise, then set what matters. */
struct tu_cert_spec {
	const char *cn;          /* subject CN; NULL for none */
	const char *const *sans; /* DNS SAN names; NULL-terminated list or NULL */
	const char *key;         /* "rsa2048" (default), "rsa1024", "rsa512", "ec256", "ec384" */
	long not_before_offset;  /* seconds from now (negative: in the past) */
	long not_after_offset;   /* seconds from now; 0 means +365 days */
	X509 *issuer;            /* NULL: self-signed */
	EVP_PKEY *issuer_key;
	bool ca;         /* basicConstraints CA:TRUE with keyCertSign/cRLSign */
	const char *eku; /* "serverAuth,clientAuth" (default), "clientAuth", "" = none */
	long serial;     /* 0: random */
	/* CRL distribution point URIs (one, or several separated by blanks); NULL: none. */
	const char *crl_url;
	time_t base; /* the offsets count from this time; 0: from now */
};

/* Makes a key and a certificate. Both owned. Aborts the test program on failure. */
void tu_make_cert(const struct tu_cert_spec *spec, X509 **x, EVP_PKEY **key);
/* Makes a key of the given type ("rsa2048", ...). */
EVP_PKEY *tu_make_key(const char *type);

/* PEM of a certificate / an unencrypted PKCS#8 key; owned, free(). */
char *tu_cert_pem(X509 *x);
char *tu_key_pem(EVP_PKEY *k);
/* PEM of a key encrypted with AES-256-CBC under `password`. */
char *tu_key_pem_encrypted(EVP_PKEY *k, const char *password);

/* Runs a shell command; returns its exit status (or -1). */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A certificate for a PKCS#10 request, as a CA issues it (openssl x509 -req -copy_extensions
 * copy): the request's subject, key and requested extensions, signed by `ca` with `ca_key`,
 * valid from an hour ago for 30 days. Owned. Aborts on failure.
 */
X509 *tu_issue_request(X509_REQ *req, X509 *ca, EVP_PKEY *ca_key);

/*
 * Every file and directory under `dir`, one line each: relative path, mode, size, modification
 * time in nanoseconds and a SHA-256 of the contents, sorted. Two equal listings mean nothing was
 * written, renamed, made or removed in between (the store's lock file, which every writer
 * touches, is left out). Owned, free().
 */
char *tu_tree_listing(const char *dir);

/*
 * A CRL of `issuer`, signed with `issuer_key` (SHA-256), listing the `n` serial numbers in
 * `revoked_serials` (revoked an hour ago). thisUpdate is now + last_update_offset seconds,
 * nextUpdate now + next_update_offset; next_update_offset 0 leaves nextUpdate out. Owned.
 * Aborts on failure.
 */
X509_CRL *tu_make_crl(X509 *issuer, EVP_PKEY *issuer_key, const long *revoked_serials, size_t n,
                      long last_update_offset, long next_update_offset);
/* Writes a CRL to a file, PEM or DER. */
void tu_write_crl(const char *path, X509_CRL *crl, bool pem);
/* DER of a CRL; owned, OPENSSL_free() it. */
unsigned char *tu_crl_der(X509_CRL *crl, size_t *len);

/* A loopback TCP port nothing listens on right now (bound to port 0, then closed). */
int tu_free_port(void);

/* A socket listening on a loopback port of the kernel's choosing (*port). */
int tu_listen_loopback(int *port);

/*
 * A CRL distribution point: a forked HTTP/1.0 server on loopback that answers every request
 * with `crl` (DER) and appends each request head to DIR/http.log. tu_crl_srv_start_body serves
 * `len` bytes of `body` instead (PEM, several CRLs, garbage). tu_crl_srv_requests counts the
 * requests answered and gives (may be NULL) the first request line.
 */
struct tu_crl_srv {
	pid_t pid;
	int port;
	char log[4096];
};
void tu_crl_srv_start(struct tu_crl_srv *sv, const char *dir, X509_CRL *crl);
void tu_crl_srv_start_body(struct tu_crl_srv *sv, const char *dir, const void *body, size_t len);
void tu_crl_srv_stop(struct tu_crl_srv *sv);
int tu_crl_srv_requests(const struct tu_crl_srv *sv, char *first, size_t len);

#endif
