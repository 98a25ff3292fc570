/* edgesync test: Test-EdgeSynchronization's report, computed without writing anything. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certcore/cert.h"
#include "edgesync/gtime.h"
#include "edgesync/report.h"
#include "edgesync/source.h"
#include "edgesync/sync.h"
#include "internal.h"
#include "replicator_impl.h"

const char *
es_status_name(enum es_status st)
{
	switch (st) {
	case ES_STATUS_NORMAL:
		return "Normal";
	case ES_STATUS_WARNING:
		return "Warning";
	case ES_STATUS_FAILED:
		return "Failed";
	case ES_STATUS_INCONCLUSIVE:
		return "Inconclusive";
	}
	return "Inconclusive";
}

void
es_report_free(struct es_edge_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nareas; i++) {
		free(r->areas[i].area);
		free(r->areas[i].error);
	}
	free(r->areas);
	free(r->name);
	free(r->lease_holder);
	free(r->failure_detail);
	free(r);
}

enum es_status
es_report_decide(bool connected, time_t last_sync, time_t last_failure, bool compared,
                 enum es_status worst_area, int max_interval, int lease_seconds, time_t now)
{
	if (!connected)
		return ES_STATUS_FAILED;
	if (compared && worst_area == ES_STATUS_INCONCLUSIVE)
		return ES_STATUS_INCONCLUSIVE;
	if (compared && worst_area != ES_STATUS_NORMAL)
		return ES_STATUS_WARNING;
	if (last_failure != 0 && last_failure >= last_sync)
		return ES_STATUS_WARNING;
	/* a full compare that found the edge equal to the source outweighs the clock */
	if (compared)
		return ES_STATUS_NORMAL;
	if (last_sync == 0)
		return ES_STATUS_INCONCLUSIVE;
	if (now - last_sync > 2 * (time_t)max_interval + lease_seconds)
		return ES_STATUS_WARNING;
	return ES_STATUS_NORMAL;
}

/* The time at the start of umedgeLastFailure ("GENERALIZEDTIME reason"); 0 when none. */
static time_t
failure_time(const char *f)
{
	char gt[ES_GTIME_LEN + 1];
	time_t t = 0;

	if (f == NULL || strlen(f) < ES_GTIME_LEN)
		return 0;
	memcpy(gt, f, ES_GTIME_LEN);
	gt[ES_GTIME_LEN] = '\0';
	if (es_gtime_parse(gt, &t) != ES_OK)
		return 0;
	return t;
}

static const char *
cookie_state(const struct es_replicator *rep, const struct es_subscription *s, const char *area,
             const char *ident)
{
	size_t i;

	if (!rep->source_sync && !rep->source_ad)
		return "NotSupported";
	if (es_subscription_cookie(s, area, ident) != NULL)
		return "Current";
	for (i = 0; i < s->ncookies; i++)
		if (strcmp(s->cookies[i].area, area) == 0)
			return "RuleChanged";
	return "None";
}

static void
compare_area(struct es_replicator *rep, struct es_conn *edge, const struct es_subscription *s,
             const struct es_rule *r, const char *base, struct es_area_report *a)
{
	struct es_changes full;
	struct es_entryset have;
	char *target = NULL;

	es_changes_init(&full);
	es_entryset_init(&have);
	if (es_rule_target_dn(r, s->base, &target) != ES_OK ||
	    es_source_full(rep->source, r, base, &full) != ES_OK ||
	    es_edge_load(edge, r, s->base, &have) != ES_OK ||
	    es_edge_compare(r, target, &full, &have, &a->counts) != ES_OK) {
		a->status = ES_STATUS_INCONCLUSIVE;
		a->error = strdup(es_errdetail());
		goto out;
	}
	a->compared = true;
	a->status = a->counts.source_only || a->counts.edge_only || a->counts.conflicting
	                    ? ES_STATUS_WARNING
	                    : ES_STATUS_NORMAL;
out:
	free(target);
	es_entryset_clear(&have);
	es_changes_clear(&full);
}

enum es_err
es_report_edge(struct es_replicator *rep, struct es_subscription *s, bool full_compare, time_t now,
               struct es_edge_report **out)
{
	struct es_edge_report *r;
	struct es_conn *edge = NULL;
	enum es_status worst = ES_STATUS_NORMAL;
	enum es_err er;
	char ident[ES_RULE_HASH_LEN + 1];
	const char *base;
	int max_interval = 0;
	size_t i;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->name = strdup(s->name)) == NULL ||
	    (r->areas = calloc(rep->cfg->nrules, sizeof(*r->areas))) == NULL ||
	    (s->lease_holder != NULL && (r->lease_holder = strdup(s->lease_holder)) == NULL)) {
		es_report_free(r);
		return es_seterr(ES_ERR_NOMEM, "report");
	}
	r->lease_expiry = s->lease_holder != NULL ? s->lease_expiry : 0;
	r->last_sync = s->last_sync;
	r->connection = "NotTested";
	r->credential = "NotTested";
	er = es_sync_connect_edge(rep, s, false, ES_ROTATE_NEVER, &edge);
	if (er == ES_OK) {
		r->connection = "Succeeded";
		r->credential = "Valid";
	} else {
		r->credential = er == ES_ERR_CREDENTIAL ? "Undecryptable" : "Valid";
		r->connection = er == ES_ERR_PIN_MISMATCH ? "PinMismatch"
		                : er == ES_ERR_BIND       ? "BindFailed"
		                : er == ES_ERR_CREDENTIAL ? "NotTested"
		                                          : "Failed";
		r->failure_detail = strdup(es_errdetail());
	}
	for (i = 0; i < rep->cfg->nrules; i++) {
		const struct es_rule *rule = &rep->cfg->rules[i];
		struct es_area_report *a = &r->areas[r->nareas];

		if ((a->area = strdup(rule->name)) == NULL) {
			es_conn_close(edge);
			es_report_free(r);
			return es_seterr(ES_ERR_NOMEM, "report");
		}
		r->nareas++;
		if (rule->interval > max_interval)
			max_interval = rule->interval;
		base = rule->base != NULL ? rule->base : rep->source_base;
		es_rule_identity(rule, base, ident);
		a->cookie = cookie_state(rep, s, rule->name, ident);
		a->status = ES_STATUS_NORMAL;
		if (full_compare && edge != NULL)
			compare_area(rep, edge, s, rule, base, a);
		if (a->status > worst)
			worst = a->status;
	}
	es_conn_close(edge);
	r->status = es_report_decide(er == ES_OK, s->last_sync, failure_time(s->last_failure),
	                             full_compare && er == ES_OK, worst, max_interval,
	                             rep->cfg->lease_seconds, now);
	if (r->failure_detail == NULL && s->last_failure != NULL &&
	    failure_time(s->last_failure) >= s->last_sync)
		r->failure_detail = strdup(s->last_failure);
	*out = r;
	return ES_OK;
}

static json_t *
time_or_null(time_t t)
{
	char buf[32];

	return t != 0 ? json_string(cc_time_iso8601(t, buf)) : json_null();
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

enum es_err
es_report_json(struct es_edge_report *const *r, size_t n, char **out)
{
	json_t *arr = json_array(), *o, *areas, *a;
	size_t i, j;

	*out = NULL;
	if (arr == NULL)
		return es_seterr(ES_ERR_NOMEM, "report");
	for (i = 0; i < n; i++) {
		areas = json_object();
		for (j = 0; areas != NULL && j < r[i]->nareas; j++) {
			const struct es_area_report *ar = &r[i]->areas[j];

			a = json_pack(
			        "{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "SyncStatus",
			        es_status_name(ar->status), "CookieStatus", ar->cookie,
			        "SynchronizedObjects",
			        ar->compared ? json_integer(ar->counts.synchronized) : json_null(),
			        "SourceOnlyObjects",
			        ar->compared ? json_integer(ar->counts.source_only) : json_null(),
			        "TargetOnlyObjects",
			        ar->compared ? json_integer(ar->counts.edge_only) : json_null(),
			        "ConflictObjects",
			        ar->compared ? json_integer(ar->counts.conflicting) : json_null(),
			        "FailureDetail", str_or_null(ar->error));
			if (a == NULL || json_object_set_new(areas, ar->area, a) != 0) {
				json_decref(areas);
				areas = NULL;
			}
		}
		o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o}", "Name", r[i]->name,
		              "SyncStatus", es_status_name(r[i]->status), "LeaseHolder",
		              str_or_null(r[i]->lease_holder), "LeaseExpiry",
		              time_or_null(r[i]->lease_expiry), "LastSynchronized",
		              time_or_null(r[i]->last_sync), "FailureDetail",
		              str_or_null(r[i]->failure_detail), "ConnectionResult",
		              r[i]->connection, "CredentialStatus", r[i]->credential, "Areas",
		              areas != NULL ? areas : json_null());
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return es_seterr(ES_ERR_NOMEM, "report");
		}
	}
	*out = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	return *out == NULL ? es_seterr(ES_ERR_NOMEM, "report") : ES_OK;
}

void
es_report_text(FILE *f, struct es_edge_report *const *r, size_t n)
{
	char buf[32];
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc('\n', f);
		fprintf(f, "Name             : %s\n", r[i]->name);
		fprintf(f, "SyncStatus       : %s\n", es_status_name(r[i]->status));
		fprintf(f, "LeaseHolder      : %s\n", r[i]->lease_holder ? r[i]->lease_holder : "");
		fprintf(f, "LeaseExpiry      : %s\n",
		        r[i]->lease_expiry ? cc_time_iso8601(r[i]->lease_expiry, buf) : "");
		fprintf(f, "LastSynchronized : %s\n",
		        r[i]->last_sync ? cc_time_iso8601(r[i]->last_sync, buf) : "");
		fprintf(f, "FailureDetail    : %s\n",
		        r[i]->failure_detail ? r[i]->failure_detail : "");
		fprintf(f, "ConnectionResult : %s\n", r[i]->connection);
		fprintf(f, "CredentialStatus : %s\n", r[i]->credential);
		for (j = 0; j < r[i]->nareas; j++) {
			const struct es_area_report *a = &r[i]->areas[j];

			fprintf(f, "%-17s: %s (cookie %s", a->area, es_status_name(a->status),
			        a->cookie);
			if (a->compared)
				fprintf(f,
				        "; synchronized %ld, source only %ld, edge only %ld, "
				        "conflicting %ld",
				        a->counts.synchronized, a->counts.source_only,
				        a->counts.edge_only, a->counts.conflicting);
			if (a->error != NULL)
				fprintf(f, "; %s", a->error);
			fputs(")\n", f);
		}
	}
}
