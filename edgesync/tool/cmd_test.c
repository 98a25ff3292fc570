/* edgesync test: Test-EdgeSynchronization. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgesync.h"
#include "edgesync/replicator.h"
#include "edgesync/report.h"
#include "edgesync/subscription.h"

static const char help_test[] =
        "usage: edgesync test [--edge NAME] [--full-compare] [--format text|json]\n"
        "Exit status 0 when every edge tested is Normal, 1 otherwise.\n";

int
cmd_test(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {{"edge", required_argument, NULL, 'e'},
	                                     {"full-compare", no_argument, NULL, 'c'},
	                                     {"format", required_argument, NULL, 'f'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct es_replicator *rep = NULL;
	struct es_subscription **subs = NULL;
	struct es_edge_report **reps = NULL;
	const char *edge = NULL;
	bool full = false, json = false, all_normal = true;
	size_t n = 0, nr = 0, i;
	char *text = NULL;
	enum es_err r;
	int c, status = EXIT_FAILURE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			edge = optarg;
			break;
		case 'c':
			full = true;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "text") != 0)
				return tool_usage(t, help_test, "--format: text or json");
			break;
		case 'h':
			fputs(help_test, stdout);
			return EXIT_SUCCESS;
		default:
			return tool_usage(t, help_test, "bad option");
		}
	}
	if (optind != argc)
		return tool_usage(t, help_test, "test takes no arguments");
	if ((r = es_replicator_open_with(t->cfg, t->log, ES_REPLICATOR_HOLD_KEYS, &rep)) != ES_OK ||
	    (r = es_subscription_list(es_replicator_source(rep), t->cfg->subscriptions, &subs,
	                              &n)) != ES_OK) {
		status = tool_fail(t, r);
		goto out;
	}
	if ((reps = calloc(n ? n : 1, sizeof(*reps))) == NULL) {
		tool_msg(t, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (edge != NULL && strcmp(subs[i]->name, edge) != 0)
			continue;
		if ((r = es_report_edge(rep, subs[i], full, time(NULL), &reps[nr])) != ES_OK) {
			status = tool_fail(t, r);
			goto out;
		}
		if (reps[nr]->status != ES_STATUS_NORMAL)
			all_normal = false;
		nr++;
	}
	if (edge != NULL && nr == 0) {
		tool_msg(t, "edge %s is not subscribed", edge);
		goto out;
	}
	if (json) {
		if ((r = es_report_json(reps, nr, &text)) != ES_OK) {
			status = tool_fail(t, r);
			goto out;
		}
		printf("%s\n", text);
	} else {
		es_report_text(stdout, reps, nr);
	}
	status = all_normal ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(text);
	for (i = 0; i < nr; i++)
		es_report_free(reps[i]);
	free(reps);
	es_subscription_list_free(subs, n);
	es_replicator_free(rep);
	return status;
}
