/* struct es_mods: fixed-size LDAPMod arrays for edgesync's small, fixed-shape writes. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void
es_mods_init(struct es_mods *ms)
{
	memset(ms, 0, sizeof(*ms));
}

void
es_mods_addv(struct es_mods *ms, int op, const char *attr, const struct berval *vals, size_t n)
{
	size_t i = ms->n, j, k;

	/* a second value for the attribute of the previous modification joins it: a directory
	 * refuses an add that names one attribute twice */
	if (i > 0 && n > 0 && ms->m[i - 1].mod_op == (op | LDAP_MOD_BVALUES) &&
	    strcasecmp(ms->m[i - 1].mod_type, attr) == 0 && ms->m[i - 1].mod_bvalues != NULL) {
		for (k = 0; ms->bvp[i - 1][k] != NULL; k++)
			;
		if (k + n > ES_MODS_VALS)
			abort();
		for (j = 0; j < n; j++) {
			ms->bv[i - 1][k + j] = vals[j];
			ms->bvp[i - 1][k + j] = &ms->bv[i - 1][k + j];
		}
		ms->bvp[i - 1][k + n] = NULL;
		return;
	}
	if (i >= ES_MODS_MAX || n > ES_MODS_VALS)
		abort();
	ms->m[i].mod_op = op | LDAP_MOD_BVALUES;
	ms->m[i].mod_type = (char *)attr;
	ms->m[i].mod_bvalues = NULL;
	if (n > 0) {
		for (j = 0; j < n; j++) {
			ms->bv[i][j] = vals[j];
			ms->bvp[i][j] = &ms->bv[i][j];
		}
		ms->bvp[i][n] = NULL;
		ms->m[i].mod_bvalues = ms->bvp[i];
	}
	ms->p[i] = &ms->m[i];
	ms->p[i + 1] = NULL;
	ms->n++;
}

void
es_mods_add1(struct es_mods *ms, int op, const char *attr, const void *val, size_t len)
{
	struct berval bv;

	bv.bv_val = (char *)val;
	bv.bv_len = len;
	es_mods_addv(ms, op, attr, &bv, val != NULL ? 1 : 0);
}

void
es_mods_adds(struct es_mods *ms, int op, const char *attr, const char *s)
{
	es_mods_add1(ms, op, attr, s, s != NULL ? strlen(s) : 0);
}

LDAPMod **
es_mods_get(struct es_mods *ms)
{
	return ms->p;
}
