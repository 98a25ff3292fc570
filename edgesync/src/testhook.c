/*
 * Test builds only (the CMake option UMEDGE_TEST_HOOKS, as testhook.h's writer hook; the shipped
 * binary of the containers has none): EDGESYNC_TEST_OPEN=PATH[:PATH...] makes each sandboxed
 * process of edgesync say on stderr whether it can open each PATH for reading, once its sandbox
 * holds: "edgesync: test open (WHO) PATH: ok" or "...: refused (REASON)".
 * tests/integration/edgesync_keys.sh reads it: the replicator cannot open a key file, the key
 * holder nothing outside the store.
 */
#ifdef UMEDGE_TEST_HOOKS
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void
es_testhook_open(const char *who)
{
	const char *env = getenv("EDGESYNC_TEST_OPEN"), *p, *e;
	char path[4096];
	size_t n;
	int fd;

	for (p = env; p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || n >= sizeof(path))
			continue;
		memcpy(path, p, n);
		path[n] = '\0';
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			close(fd);
			fprintf(stderr, "edgesync: test open (%s) %s: ok\n", who, path);
		} else {
			fprintf(stderr, "edgesync: test open (%s) %s: refused (%s)\n", who, path,
			        strerror(errno));
		}
	}
}
#endif
