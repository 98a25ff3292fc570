#!/bin/bash
# The edgesync schema in both of its forms: the .schema files load into slapd through a
# slapd.conf (slaptest converts them to cn=config), the .ldif files load with slapadd -n0, and
# both give slapd the same definitions. The OIDs are under the arc named in the files, which is
# the decimal form of the UUID they name. The edge schema loads without the subscription schema
# (an edge needs only its own and the data schema), and a subscription entry and an edge copy
# that break the schema are refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
S=$SLAPD_SCHEMA_DIR
NAMES="edgesync-subscription edgesync-edge edgesync-data"

# --- the .schema form, through slapd.conf ---------------------------------------------------------
mkdir -p "$WORK/conf.d"
{
	for f in core cosine inetorgperson; do echo "include /etc/ldap/schema/$f.schema"; done
	for n in $NAMES; do echo "include $S/$n.schema"; done
} >"$WORK/slapd.conf"
check "slaptest accepts the .schema files (and writes them as cn=config)" slaptest -f "$WORK/slapd.conf" -F "$WORK/conf.d"

# --- the .ldif form, through slapadd -n0 ----------------------------------------------------------
mkdir -p "$WORK/ldif.d"
{
	printf 'dn: cn=config\nobjectClass: olcGlobal\ncn: config\n\n'
	printf 'dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n'
	for f in core cosine inetorgperson; do printf 'include: file:///etc/ldap/schema/%s.ldif\n\n' "$f"; done
	for n in $NAMES; do printf 'include: file://%s/%s.ldif\n\n' "$S" "$n"; done
} >"$WORK/config.ldif"
check "slapadd -n0 accepts the .ldif files" slapadd -n0 -F "$WORK/ldif.d" -l "$WORK/config.ldif"

# Both, as slapd holds them: each definition on one line, without the {N} ordering prefix.
defs() { # DIR NAME
	slapcat -n0 -F "$1" -o ldif-wrap=no -a "(cn=*$2)" 2>/dev/null |
		sed -n 's/^olc\(AttributeTypes\|ObjectClasses\): \({[0-9]*}\)\?//p' | tr -s ' ' | sort
}
for n in $NAMES; do
	a=$(defs "$WORK/conf.d" "$n")
	b=$(defs "$WORK/ldif.d" "$n")
	check "$n: slapd holds definitions for it" test -n "$a"
	expect_eq "$n: the .schema and .ldif forms define the same" "$a" "$b"
done

# --- the OIDs -------------------------------------------------------------------------------------
ARC=$(sed -n 's/^# OIDs: \(2\.25\.[0-9]*\) is this.*/\1/p' "$S/edgesync-subscription.schema")
UUID=$(grep -o '[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}' "$S/edgesync-subscription.schema" | head -1)
check "the arc is named in the file" test -n "$ARC" -a -n "$UUID"
expect_eq "the arc is 2.25 and the UUID's integer value (X.667)" "$ARC" "2.25.$(python3 -c "import uuid; print(uuid.UUID('$UUID').int)")"
others=$(cat "$S"/*.schema | grep -Eo '^(attributetype|objectclass) \( [0-9.]+' | awk '{print $3}' | grep -v "^$ARC\." | tr '\n' ' ')
expect_eq "every OID is under the arc but Active Directory's proxyAddresses" "1.2.840.113556.1.2.210 " "$others"
dups=$(cat "$S"/*.schema | grep -Eo '^(attributetype|objectclass) \( [0-9.]+' | awk '{print $3}' | sort | uniq -d)
expect_eq "no OID is used twice" "" "$dups"

# --- the edge's schema alone, and what it refuses --------------------------------------------------
PORT=$(slapd_free_port)
"$CERTCTL" --store "$WORK/st" new --domain edge.example.test --services LDAP >/dev/null
T=$("$CERTCTL" --store "$WORK/st" get --format json | jq -r '.[0].Thumbprint')
check "an edge directory starts with the edge and data schemas only" slapd_start e edge dc=e,dc=test "$WORK/st" "$T" "$PORT"
check "... it has no subscription schema" bash -c "! ldapsearch -LLL -Q -Y EXTERNAL -H '$(slapd_ldapi e)' -b cn=schema,cn=config '(cn=*edgesync-subscription)' 1.1 | grep -q dn:"
add_e() { slapd_modify e -a; }
check "a copy with the marker is accepted" add_e <<'LDIF'
dn: umedgeSourceUUID=0f5d2c1e-0000-4000-8000-000000000001,dc=e,dc=test
objectClass: umedgeEdgeObject
objectClass: umedgeReplicated
objectClass: extensibleObject
umedgeSourceUUID: 0f5d2c1e-0000-4000-8000-000000000001
umedgeArea: recipients
mail: 5b73db551e981a5e6373113026c58a8d0527931a1bda0455d9978b22c3c43bfd
proxyAddresses: e5b1ea1c58087327c5056159e043937549479a98987906fe382e88fa157e1957
LDIF
expect_fail "the marker without its area is refused" 65 "umedgeArea" add_e <<'LDIF'
dn: umedgeSourceUUID=0f5d2c1e-0000-4000-8000-000000000002,dc=e,dc=test
objectClass: umedgeEdgeObject
objectClass: umedgeReplicated
umedgeSourceUUID: 0f5d2c1e-0000-4000-8000-000000000002
LDIF
expect_fail "umedgeArea is single-valued" 19 "single-value|multiple values" add_e <<'LDIF'
dn: umedgeSourceUUID=0f5d2c1e-0000-4000-8000-000000000003,dc=e,dc=test
objectClass: umedgeEdgeObject
objectClass: umedgeReplicated
umedgeSourceUUID: 0f5d2c1e-0000-4000-8000-000000000003
umedgeArea: recipients
umedgeArea: connectors
LDIF
check "a subscription object is not possible on an edge" bash -c "! printf 'dn: cn=x,dc=e,dc=test\nobjectClass: umedgeEdgeSubscription\ncn: x\n' | ldapmodify -a -Q -Y EXTERNAL -H '$(slapd_ldapi e)' 2>/dev/null"

finish
