/* edgesync seed export | commit: a new edge's first synchronization loaded offline (seed.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgesync.h"
#include "edgesync/replicator.h"
#include "edgesync/seed.h"
#include "edgesync/subscription.h"

static const char help_seed[] =
        "usage: edgesync seed export --edge NAME --out FILE.ldif [--hold-minutes N]\n"
        "       edgesync seed commit --edge NAME FILE.ldif\n"
        "export writes the entries of every area for the edge's own loader (slapadd -l\n"
        "FILE.ldif, the edge's server stopped) and FILE.ldif.seed, the state commit needs;\n"
        "the edge's lease is held for N minutes (default 60) so that no replicator writes it\n"
        "meanwhile. commit checks that the edge holds exactly what was exported and stores\n"
        "the source's cookies: the next cycle reads only what changed since the export.\n";

static enum es_err
load_sub(struct es_replicator *rep, const char *edge, struct es_subscription **out)
{
	char *dn = NULL;
	enum es_err r;

	if ((r = es_subscription_dn(es_replicator_config(rep)->subscriptions, edge, &dn)) != ES_OK)
		return r;
	r = es_subscription_load(es_replicator_source(rep), dn, out);
	free(dn);
	return r;
}

static char *
state_path(const char *ldif)
{
	char *p = NULL;

	return asprintf(&p, "%s.seed", ldif) < 0 ? NULL : p;
}

static int
seed_export(struct tool *t, const char *edge, const char *out, int hold_minutes)
{
	struct es_replicator *rep = NULL;
	struct es_subscription *s = NULL;
	struct es_seed *sd = NULL;
	char *state = NULL, *tmp = NULL;
	FILE *f = NULL;
	enum es_err r;
	int fd = -1, status = EXIT_FAILURE;
	size_t i;
	long total = 0;
	bool made = false; /* tmp is this export's own (removed when it fails) */

	/* refused before the lease is taken and the source read: the result could not be kept */
	if (es_replicator_cannot_write(t->cfg, out)) {
		tool_msg(t,
		         "%s: its folder holds the store %s (or is inside keys/ or requests/): "
		         "once edgesync gives up the store's keys (Landlock) it cannot make files "
		         "there; write the LDIF to another folder",
		         out, t->cfg->store);
		goto out;
	}
	if ((state = state_path(out)) == NULL || asprintf(&tmp, "%s.tmp", out) < 0) {
		tmp = NULL;
		tool_msg(t, "out of memory");
		goto out;
	}
	/* the LDIF is written beside its name and renamed when whole: a cut export leaves no file
	 * that looks complete (it holds directory data: 0600) */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		tool_msg(t, "%s: %s%s", tmp, strerror(errno),
		         errno == EEXIST ? " (another export writing it, or one that was cut: "
		                           "remove it)"
		                         : "");
		goto out;
	}
	made = true;
	if ((f = fdopen(fd, "w")) == NULL) {
		tool_msg(t, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	/* the edge's credential is opened by the key holder, as for a cycle */
	if ((r = es_replicator_open_with(t->cfg, t->log, ES_REPLICATOR_HOLD_KEYS, &rep)) != ES_OK ||
	    (r = load_sub(rep, edge, &s)) != ES_OK ||
	    (r = es_seed_export(rep, s, hold_minutes * 60, f, &sd)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	if (fsync(fileno(f)) != 0 || fclose(f) != 0) {
		f = NULL;
		tool_msg(t, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, out) != 0) {
		tool_msg(t, "%s: %s", out, strerror(errno));
		goto out;
	}
	if ((r = es_seed_write(sd, state)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	for (i = 0; i < sd->n; i++)
		total += sd->v[i].entries;
	printf("edge %s: %ld entries in %s; the lease is held for %d minutes.\n"
	       "Stop the edge's server, load them (slapadd -q -l %s), start it, then:\n"
	       "  edgesync seed commit --edge %s %s\n",
	       edge, total, out, hold_minutes, out, edge, out);
	status = EXIT_SUCCESS;
out:
	if (f != NULL)
		fclose(f);
	if (status != EXIT_SUCCESS && made)
		unlink(tmp);
	es_seed_free(sd);
	es_subscription_free(s);
	es_replicator_free(rep);
	free(tmp);
	free(state);
	return status;
}

static int
seed_commit(struct tool *t, const char *edge, const char *ldif)
{
	struct es_replicator *rep = NULL;
	struct es_subscription *s = NULL;
	struct es_seed *sd = NULL;
	char *state = NULL;
	enum es_err r;
	int status = EXIT_FAILURE;

	if ((state = state_path(ldif)) == NULL) {
		tool_msg(t, "out of memory");
		return EXIT_FAILURE;
	}
	if ((r = es_seed_read(state, &sd)) != ES_OK ||
	    (r = es_replicator_open_with(t->cfg, t->log, ES_REPLICATOR_HOLD_KEYS, &rep)) != ES_OK ||
	    (r = load_sub(rep, edge, &s)) != ES_OK || (r = es_seed_commit(rep, s, sd)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	printf("edge %s: the seed is committed; the next cycle reads what changed since the "
	       "export.\n",
	       edge);
	status = EXIT_SUCCESS;
out:
	es_seed_free(sd);
	es_subscription_free(s);
	es_replicator_free(rep);
	free(state);
	return status;
}

int
cmd_seed(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {{"edge", required_argument, NULL, 'e'},
	                                     {"out", required_argument, NULL, 'o'},
	                                     {"hold-minutes", required_argument, NULL, 'm'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *edge = NULL, *out = NULL, *what;
	int c, hold = 60;

	if (argc < 2)
		return tool_usage(t, help_seed, "seed: export or commit");
	what = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			edge = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'm':
			if (tool_parse_int(optarg, 1, 7 * 24 * 60, &hold) < 0)
				return tool_usage(t, help_seed, "--hold-minutes: 1 to 10080");
			break;
		case 'h':
			fputs(help_seed, stdout);
			return EXIT_SUCCESS;
		default:
			return tool_usage(t, help_seed, "bad option");
		}
	}
	if (edge == NULL || !es_edge_name_valid(edge))
		return tool_usage(t, help_seed, "--edge NAME is needed");
	if (strcmp(what, "export") == 0) {
		if (out == NULL || optind != argc)
			return tool_usage(t, help_seed,
			                  "export: --out FILE.ldif, and no arguments");
		return seed_export(t, edge, out, hold);
	}
	if (strcmp(what, "commit") == 0) {
		if (out != NULL || optind != argc - 1)
			return tool_usage(t, help_seed, "commit: the LDIF file the export wrote");
		return seed_commit(t, edge, argv[optind]);
	}
	return tool_usage(t, help_seed, "seed: export or commit, not \"%s\"", what);
}
