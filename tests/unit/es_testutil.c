/* Helpers for the edgesync suites: a loopback TLS server, a log in memory, files. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "es_testutil.h"

static void
die(const char *what)
{
	fprintf(stderr, "es_testutil: %s failed\n", what);
	abort();
}

static char *
path_of(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		die("asprintf");
	return p;
}

char *
es_tu_file(const char *dir, const char *name, const char *text)
{
	char *p = path_of(dir, name);

	tu_write_file(p, text, strlen(text), 0600);
	return p;
}

void
es_tu_write_pair(const char *dir, const char *name, X509 *x, EVP_PKEY *k, char **cert_path,
                 char **key_path)
{
	BIO *b;

	if (asprintf(cert_path, "%s/%s.pem", dir, name) < 0 ||
	    asprintf(key_path, "%s/%s.key", dir, name) < 0)
		die("asprintf");
	/* written straight to the files: PEM text from a memory BIO has no NUL to end it */
	if ((b = BIO_new_file(*cert_path, "w")) == NULL || PEM_write_bio_X509(b, x) != 1)
		die("writing a certificate");
	BIO_free(b);
	if ((b = BIO_new_file(*key_path, "w")) == NULL ||
	    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
		die("writing a key");
	BIO_free(b);
	if (chmod(*key_path, 0600) != 0)
		die("chmod");
}

static int
connectable(int port)
{
	struct sockaddr_in sa;
	int fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

pid_t
es_tu_server_start(const char *cert_path, const char *key_path, int *port)
{
	char accept_arg[32];
	struct timespec ts = {0, 50 * 1000 * 1000};
	pid_t pid;
	int i;

	*port = tu_free_port();
	snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%d", *port);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		int devnull = open("/dev/null", 0);

		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept_arg, "-cert",
		       cert_path, "-key", key_path, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if (connectable(*port))
			return pid;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	die("openssl s_server start");
	return -1;
}

void
es_tu_server_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

void
es_tu_cert(const char *cn, X509 **x, EVP_PKEY **k)
{
	struct tu_cert_spec spec;
	const char *sans[] = {cn, NULL};

	memset(&spec, 0, sizeof(spec));
	spec.cn = cn;
	spec.sans = sans;
	tu_make_cert(&spec, x, k);
}

struct es_pin
es_tu_pin(X509 *x)
{
	struct es_pin p;

	if (es_pin_from_x509(x, &p) != ES_OK)
		die("es_pin_from_x509");
	return p;
}

void
es_tu_log_open(struct es_tu_log *l, enum cc_log_format fmt)
{
	memset(l, 0, sizeof(*l));
	if ((l->f = open_memstream(&l->buf, &l->len)) == NULL ||
	    cc_log_new(fmt, l->f, "test", false, &l->log) != CC_OK)
		die("log");
}

const char *
es_tu_log_text(struct es_tu_log *l)
{
	fflush(l->f);
	return l->buf != NULL ? l->buf : "";
}

void
es_tu_log_close(struct es_tu_log *l)
{
	cc_log_free(l->log);
	if (l->f != NULL)
		fclose(l->f);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}
