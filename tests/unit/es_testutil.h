/*
 * Helpers for the edgesync CUnit suites (test_es_*.c), on top of testutil.h: a TLS server on
 * loopback that presents a chosen certificate (openssl s_server: enough for handshakes and pin
 * checks, it speaks no LDAP), an event log captured in memory, and configuration files.
 */
#ifndef UMEDGE_ES_TESTUTIL_H
#define UMEDGE_ES_TESTUTIL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certcore/log.h"
#include "edgesync/config.h"
#include "edgesync/pin.h"
#include "testutil.h"

/* Writes DIR/NAME.pem and DIR/NAME.key (0600); the paths are owned. */
void es_tu_write_pair(const char *dir, const char *name, X509 *x, EVP_PKEY *k, char **cert_path,
                      char **key_path);

/* Starts `openssl s_server` with the pair on 127.0.0.1:*port (a free port); waits until it
 * accepts. Returns its pid; es_tu_server_stop kills and reaps it. Aborts on failure. */
pid_t es_tu_server_start(const char *cert_path, const char *key_path, int *port);
void es_tu_server_stop(pid_t pid);

/* A self-signed certificate and key for `cn` (RSA 2048). */
void es_tu_cert(const char *cn, X509 **x, EVP_PKEY **k);
/* Its pin. */
struct es_pin es_tu_pin(X509 *x);

/* An event log writing text lines to memory; es_tu_log_text returns what was written so far
 * (borrowed until the next call). */
struct es_tu_log {
	struct cc_log *log;
	FILE *f;
	char *buf;
	size_t len;
};
void es_tu_log_open(struct es_tu_log *l, enum cc_log_format fmt);
const char *es_tu_log_text(struct es_tu_log *l);
void es_tu_log_close(struct es_tu_log *l);

/* Writes `text` to DIR/NAME (mode 0600) and returns the path (owned). */
char *es_tu_file(const char *dir, const char *name, const char *text);

#endif
