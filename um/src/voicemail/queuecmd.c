/* `umd queue` (queuecmd.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certcore/cert.h"
#include "config.h"
#include "voicemail/queue.h"
#include "voicemail/queuecmd.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: umd queue -c FILE [--json] list [--all]\n"
	           "       umd queue -c FILE [--json] show ID\n"
	           "       umd queue -c FILE retry ID|--all\n");
}

static void
warn(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "umd queue: warning: %s\n", msg);
}

/* "42s", "17m", "5h", "3d". */
static const char *
age_text(time_t secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(buf, len, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, len, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(buf, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)secs / 86400);
	return buf;
}

static void
print_row(const struct um_qmsg *m, time_t now)
{
	char age[32];

	printf("%-28s %-8s %8d %5s  %-32s %s\n", m->id, um_qmsg_state(m, now), m->attempts,
	       m->started ? age_text(now - m->started, age, sizeof(age)) : "-",
	       m->recipient ? m->recipient : (m->to ? m->to : "-"),
	       m->where == UM_Q_SENT ? (m->response ? m->response : "")
	                             : (m->last_error ? m->last_error : ""));
}

static int
list(struct um_queue *q, bool json, bool all)
{
	static const enum um_queue_where order[] = {UM_Q_NEW, UM_Q_FAILED, UM_Q_SENT};
	json_t *arr = json ? json_array() : NULL;
	time_t now = time(NULL);
	struct um_qmsg *v;
	size_t n, i, w, total = 0;

	if (!json)
		printf("%-28s %-8s %8s %5s  %-32s %s\n", "ID", "STATE", "ATTEMPTS", "AGE",
		       "RECIPIENT", "LAST ERROR / RESPONSE");
	for (w = 0; w < (all ? 3u : 2u); w++) {
		if (um_queue_list(q, order[w], warn, NULL, &v, &n) != UM_OK) {
			fprintf(stderr, "umd queue: %s\n", um_errdetail());
			json_decref(arr);
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (json)
				json_array_append_new(arr, um_qmsg_json(&v[i]));
			else
				print_row(&v[i], now);
		}
		total += n;
		um_qmsg_free_all(v, n);
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	} else if (total == 0) {
		printf("(no messages)\n");
	}
	return 0;
}

static int
show(struct um_queue *q, const char *id, bool json)
{
	struct um_qmsg m;
	json_t *o;
	char t[32];
	time_t now = time(NULL);

	if (um_queue_get(q, id, &m) != UM_OK) {
		fprintf(stderr, "umd queue: %s\n", um_errdetail());
		return 1;
	}
	if (json) {
		o = um_qmsg_json(&m);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		printf("Id            : %s\n", m.id);
		printf("State         : %s\n", um_qmsg_state(&m, now));
		printf("From          : %s\n", m.from ? m.from : "");
		printf("To            : %s\n", m.to ? m.to : "");
		printf("Recipient     : %s\n", m.recipient ? m.recipient : "");
		printf("Started       : %s\n", m.started ? cc_time_iso8601(m.started, t) : "");
		printf("Seconds       : %.1f%s\n", m.seconds, m.truncated ? " (cut short)" : "");
		printf("Attempts      : %d\n", m.attempts);
		printf("LastAttempt   : %s\n",
		       m.last_attempt ? cc_time_iso8601(m.last_attempt, t) : "");
		printf("NextAttempt   : %s%s\n",
		       m.next_attempt && m.where == UM_Q_NEW ? cc_time_iso8601(m.next_attempt, t)
		                                             : "",
		       m.retry ? " (retry requested)" : "");
		printf("LastError     : %s\n", m.last_error ? m.last_error : "");
		printf("MessageId     : %s\n", m.message_id ? m.message_id : "");
		printf("Submitted     : %s\n", m.submitted ? cc_time_iso8601(m.submitted, t) : "");
		printf("Response      : %s\n", m.response ? m.response : "");
	}
	um_qmsg_clear(&m);
	return 0;
}

static int
retry(struct um_queue *q, const char *id)
{
	struct um_qmsg *v;
	size_t n, i, done = 0;
	int rc = 0, w;

	if (id != NULL) {
		if (um_queue_retry(q, id) != UM_OK) {
			fprintf(stderr, "umd queue: %s\n", um_errdetail());
			return 1;
		}
		printf("%s: retry requested\n", id);
		return 0;
	}
	for (w = UM_Q_NEW; w <= UM_Q_FAILED; w += UM_Q_FAILED - UM_Q_NEW) {
		if (um_queue_list(q, (enum um_queue_where)w, warn, NULL, &v, &n) != UM_OK) {
			fprintf(stderr, "umd queue: %s\n", um_errdetail());
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (um_queue_retry(q, v[i].id) != UM_OK) {
				fprintf(stderr, "umd queue: %s\n", um_errdetail());
				rc = 1;
			} else {
				done++;
			}
		}
		um_qmsg_free_all(v, n);
	}
	printf("retry requested for %zu message(s)\n", done);
	return rc;
}

int
um_queue_command(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"json", no_argument, NULL, 'j'},
	        {"all", no_argument, NULL, 'a'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct um_config *cfg = NULL;
	struct um_queue *q = NULL;
	const char *path = NULL, *verb;
	bool json = false, all = false;
	size_t i;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Options may follow the verb too (retry --all, list --all). */
	verb = optind < argc ? argv[optind++] : NULL;
	while (optind < argc && argv[optind][0] == '-') {
		if (strcmp(argv[optind], "--all") == 0)
			all = true;
		else if (strcmp(argv[optind], "--json") == 0)
			json = true;
		else {
			usage(stderr);
			return 2;
		}
		optind++;
	}
	if (path == NULL || verb == NULL || (strcmp(verb, "list") == 0 && optind != argc) ||
	    (strcmp(verb, "show") == 0 && optind + 1 != argc) ||
	    (strcmp(verb, "retry") == 0 && (all ? optind != argc : optind + 1 != argc))) {
		usage(stderr);
		return 2;
	}
	if (um_config_load(path, true, &cfg) != UM_OK) {
		for (i = 0; cfg != NULL && i < cfg->nerrors; i++)
			fprintf(stderr, "umd queue: %s\n", cfg->errors[i]);
		if (cfg == NULL || cfg->nerrors == 0)
			fprintf(stderr, "umd queue: %s\n", um_errdetail());
		goto out;
	}
	if (um_queue_open(cfg->spool, &q) != UM_OK) {
		fprintf(stderr, "umd queue: %s\n", um_errdetail());
		goto out;
	}
	if (strcmp(verb, "list") == 0)
		rc = list(q, json, all);
	else if (strcmp(verb, "show") == 0)
		rc = show(q, argv[optind], json);
	else if (strcmp(verb, "retry") == 0)
		rc = retry(q, all ? NULL : argv[optind]);
	else {
		usage(stderr);
		rc = 2;
	}
out:
	um_queue_free(q);
	um_config_free(cfg);
	return rc;
}
