/* Pipelined edge writes: many operations in flight, results collected with ldap_result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "edgesync/writer.h"
#include "edgesync/progress.h"
#include "internal.h"
#include "testhook.h"

#ifdef UMEDGE_TEST_HOOKS
void (*es_writer_test_hook)(long confirmed) = NULL;
#endif

enum op_kind { OP_ADD, OP_MODIFY, OP_DELETE };

struct pending {
	int msgid;
	enum op_kind kind;
	char *dn;
};

/* One edge connection and the writes in flight on it. */
struct lane {
	struct es_conn *c; /* borrowed */
	struct pending *p; /* window entries */
	size_t np;
};

struct es_writer {
	struct lane *lanes;
	size_t nlanes, window;
	enum es_err err; /* first failure */
	char errbuf[1024];
	struct es_writer_stats st;
	struct es_progress *progress; /* borrowed; may be NULL */
};

enum es_err
es_writer_new_multi(struct es_conn *const *c, size_t n, size_t window, struct es_writer **out)
{
	struct es_writer *w;
	size_t i;

	*out = NULL;
	if (n == 0)
		return es_seterr(ES_ERR_INVAL, "writer: no connection");
	if (window == 0)
		window = ES_WRITER_WINDOW;
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->lanes = calloc(n, sizeof(*w->lanes))) == NULL)
		goto nomem;
	w->nlanes = n;
	w->window = window;
	for (i = 0; i < n; i++) {
		w->lanes[i].c = c[i];
		if ((w->lanes[i].p = calloc(window, sizeof(*w->lanes[i].p))) == NULL)
			goto nomem;
	}
	*out = w;
	return ES_OK;
nomem:
	es_writer_free(w);
	return es_seterr(ES_ERR_NOMEM, "writer");
}

enum es_err
es_writer_new(struct es_conn *c, size_t window, struct es_writer **out)
{
	return es_writer_new_multi(&c, 1, window, out);
}

void
es_writer_set_progress(struct es_writer *w, struct es_progress *p)
{
	w->progress = p;
}

void
es_writer_free(struct es_writer *w)
{
	size_t i, l;

	if (w == NULL)
		return;
	for (l = 0; w->lanes != NULL && l < w->nlanes; l++) {
		struct lane *ln = &w->lanes[l];

		for (i = 0; i < ln->np; i++) {
			/* results that will never be read: tell libldap to drop them */
			ldap_abandon_ext(es_conn_ld(ln->c), ln->p[i].msgid, NULL, NULL);
			free(ln->p[i].dn);
		}
		free(ln->p);
	}
	free(w->lanes);
	free(w);
}

const struct es_writer_stats *
es_writer_stats(const struct es_writer *w)
{
	return &w->st;
}

static void
fail(struct es_writer *w, enum es_err e)
{
	if (w->err == ES_OK) {
		w->err = e;
		snprintf(w->errbuf, sizeof(w->errbuf), "%s", es_errdetail());
	}
}

static const char *
kind_name(enum op_kind k)
{
	return k == OP_ADD ? "add" : k == OP_MODIFY ? "modify" : "delete";
}

/* Reads one result of lane `ln` and settles its operation. */
static enum es_err
collect_one(struct es_writer *w, struct lane *ln)
{
	LDAP *ld = es_conn_ld(ln->c);
	LDAPMessage *res = NULL;
	struct timeval tv = {es_conn_timeout(ln->c), 0};
	struct pending op;
	char *diag = NULL;
	int rc, err = LDAP_OTHER, id;
	size_t i;

	rc = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, &tv, &res);
	if (rc <= 0) {
		ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
		fail(w,
		     es_seterr_ldap(ES_ERR_CONNECT, ld, rc == 0 ? LDAP_TIMEOUT : err,
		                    "edge %s: waiting for %zu writes", es_conn_url(ln->c), ln->np));
		/* nothing more will come on this connection: forget what is in flight */
		for (i = 0; i < ln->np; i++)
			free(ln->p[i].dn);
		ln->np = 0;
		return w->err;
	}
	id = ldap_msgid(res);
	for (i = 0; i < ln->np && ln->p[i].msgid != id; i++)
		;
	if (i == ln->np) {
		ldap_msgfree(res);
		return ES_OK; /* not ours (an unsolicited notice): ignored */
	}
	op = ln->p[i];
	ln->p[i] = ln->p[--ln->np];
	rc = ldap_parse_result(ld, res, &err, NULL, &diag, NULL, NULL, 1);
	if (rc != LDAP_SUCCESS)
		err = rc;
	if (err == LDAP_SUCCESS) {
		if (op.kind == OP_ADD)
			w->st.added++;
		else if (op.kind == OP_MODIFY)
			w->st.modified++;
		else
			w->st.deleted++;
	} else if (op.kind == OP_DELETE && err == LDAP_NO_SUCH_OBJECT) {
		/* already gone: what we wanted */
	} else if (op.kind == OP_ADD && err == LDAP_ALREADY_EXISTS) {
		fail(w, es_seterr(ES_ERR_CONFLICT,
		                  "%s exists on the edge but edgesync did not create it (no "
		                  "umedgeReplicated of this area); it is left alone",
		                  op.dn));
	} else {
		fail(w, es_seterr(err == LDAP_SERVER_DOWN ? ES_ERR_CONNECT : ES_ERR_EDGE,
		                  "%s %s: %s%s%s", kind_name(op.kind), op.dn, ldap_err2string(err),
		                  diag && *diag ? ": " : "", diag ? diag : ""));
	}
	ldap_memfree(diag);
	free(op.dn);
	if (w->err == ES_OK)
		es_progress_wrote(w->progress, 1);
#ifdef UMEDGE_TEST_HOOKS
	if (es_writer_test_hook != NULL && w->err == ES_OK)
		es_writer_test_hook(w->st.added + w->st.modified + w->st.deleted);
#endif
	return ES_OK;
}

/* The lane of a DN: always the same one, so two writes of one entry keep their order. */
static struct lane *
lane_of(struct es_writer *w, const char *dn)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	if (w->nlanes == 1)
		return &w->lanes[0];
	for (; *dn != '\0'; dn++)
		h = (h ^ (unsigned char)*dn) * 16777619u;
	return &w->lanes[h % w->nlanes];
}

static size_t
in_flight(const struct es_writer *w)
{
	size_t l, n = 0;

	for (l = 0; l < w->nlanes; l++)
		n += w->lanes[l].np;
	return n;
}

static enum es_err
submit(struct es_writer *w, enum op_kind kind, const char *dn, LDAPMod **mods)
{
	struct lane *ln = lane_of(w, dn);
	LDAP *ld = es_conn_ld(ln->c);
	int rc, msgid = -1;
	char *copy;
	size_t n;

	if (w->err != ES_OK)
		return w->err;
	while (ln->np >= w->window)
		if (collect_one(w, ln) != ES_OK)
			return w->err;
	if (w->err != ES_OK)
		return w->err;
	if ((copy = strdup(dn)) == NULL) {
		fail(w, es_seterr(ES_ERR_NOMEM, "writer"));
		return w->err;
	}
	if (kind == OP_ADD)
		rc = ldap_add_ext(ld, dn, mods, NULL, NULL, &msgid);
	else if (kind == OP_MODIFY)
		rc = ldap_modify_ext(ld, dn, mods, NULL, NULL, &msgid);
	else
		rc = ldap_delete_ext(ld, dn, NULL, NULL, &msgid);
	if (rc != LDAP_SUCCESS) {
		free(copy);
		fail(w, es_seterr_ldap(rc == LDAP_SERVER_DOWN ? ES_ERR_CONNECT : ES_ERR_EDGE, ld,
		                       rc, "sending %s %s", kind_name(kind), dn));
		return w->err;
	}
	ln->p[ln->np].msgid = msgid;
	ln->p[ln->np].kind = kind;
	ln->p[ln->np].dn = copy;
	ln->np++;
	w->st.sent++;
	if ((long)(n = in_flight(w)) > w->st.outstanding_max)
		w->st.outstanding_max = (long)n;
	return ES_OK;
}

enum es_err
es_writer_add(struct es_writer *w, const struct es_entry *e)
{
	LDAPMod **mods = NULL;
	enum es_err r;

	if ((r = es_entry_add_mods(e, &mods)) != ES_OK) {
		fail(w, r);
		return r;
	}
	/* the request is encoded when it is sent: the array may go right after */
	r = submit(w, OP_ADD, e->dn, mods);
	es_mods_free(mods);
	return r;
}

enum es_err
es_writer_modify(struct es_writer *w, const char *dn, LDAPMod **mods)
{
	return submit(w, OP_MODIFY, dn, mods);
}

enum es_err
es_writer_delete(struct es_writer *w, const char *dn)
{
	return submit(w, OP_DELETE, dn, NULL);
}

enum es_err
es_writer_finish(struct es_writer *w)
{
	size_t l;

	for (l = 0; l < w->nlanes; l++)
		while (w->lanes[l].np > 0)
			if (collect_one(w, &w->lanes[l]) != ES_OK)
				break;
	if (w->err != ES_OK)
		return es_seterr(w->err, "%s", w->errbuf);
	return ES_OK;
}
