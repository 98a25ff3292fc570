/*
 * umd's configuration (um_config_parse, the parser `umd -c` and SIGHUP use), then the gateway
 * look-ups a request goes through (um_config_gateways_for, um_gateway_accepts).
 *
 * While the parser runs, two calls are redirected so that it touches neither the network nor
 * the file system: getaddrinfo() resolves numeric addresses only (no DNS query for a mutated
 * host name), and fopen() gives the pinned certificate "gw.pem" from memory and ENOENT for any
 * other path (no /dev/zero or FIFO named by a mutated path). The executable's definitions take
 * the place of libc's (and the sanitizers' interceptors) for everything linked into it, so they
 * pass other callers (libFuzzer itself) through.
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "certcore/selfsigned.h"
#include "config.h"
#include "sip.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool parsing;
static char *pin_pem;
static size_t pin_len;
static X509 *pin_x;

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct addrinfo h;

	if (real == NULL &&
	    (real = (int (*)(const char *, const char *, const struct addrinfo *,
	                     struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo")) == NULL)
		abort();
	if (!parsing)
		return real(node, service, hints, res);
	memset(&h, 0, sizeof(h));
	if (hints != NULL)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &h, res);
}

FILE *
fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);

	if (real == NULL &&
	    (real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen")) == NULL)
		abort();
	if (!parsing)
		return real(path, mode);
	if (strcmp(path, "gw.pem") == 0 && strcmp(mode, "r") == 0)
		return fmemopen(pin_pem, pin_len, "r");
	errno = ENOENT;
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const doms[] = {"gw1.example.test"};
	struct cc_new_params p;
	EVP_PKEY *key = NULL;
	BIO *b;
	char *mem;
	long n;

	(void)argc;
	(void)argv;
	memset(&p, 0, sizeof(p));
	p.domains = doms;
	p.ndomains = 1;
	p.key_type = CC_KEY_EC_P256;
	p.now = 1790000000;
	if (cc_selfsigned_create(&p, &pin_x, &key) != CC_OK || (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, pin_x) != 1 || (n = BIO_get_mem_data(b, &mem)) <= 0 ||
	    (pin_pem = malloc((size_t)n)) == NULL)
		abort();
	memcpy(pin_pem, mem, (size_t)n);
	pin_len = (size_t)n;
	BIO_free(b);
	EVP_PKEY_free(key);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct um_gateway *gw[8];
	struct um_config *c = NULL;
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	char why[256], addr[64];
	size_t i, n;
	enum um_err r;

	parsing = true;
	r = um_config_parse("fuzz.conf", (const char *)data, size, false, &c);
	parsing = false;
	if (r == UM_OK) {
		if (c->nerrors != 0 || c->listen_host == NULL || c->listen_port < 1 ||
		    c->listen_port > 65535 || c->store == NULL)
			abort(); /* accepted means complete */
		(void)um_mode_name(c->mode);
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4.sin_port = htons(5061);
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_addr = in6addr_loopback;
		n = um_config_gateways_for(c, (struct sockaddr *)&s4, gw, 8);
		for (i = 0; i < n; i++)
			(void)strlen(gw[i]->name);
		(void)um_config_gateways_for(c, (struct sockaddr *)&s6, gw, 8);
		(void)um_gateway_accepts(c, (struct sockaddr *)&s4, NULL, why, sizeof(why));
		(void)um_gateway_accepts(c, (struct sockaddr *)&s4, pin_x, why, sizeof(why));
		(void)um_gateway_accepts(c, (struct sockaddr *)&s6, pin_x, why, sizeof(why));
		(void)um_addr_text((struct sockaddr *)&s6, addr, sizeof(addr));
	} else if (c != NULL) {
		for (i = 0; i < c->nerrors; i++)
			(void)strlen(c->errors[i]);
	}
	um_config_free(c);
	return 0;
}
