#!/bin/bash
# Offline seeding of a new edge (`edgesync seed export`, slapadd, `edgesync seed commit`) and
# writes spread over several connections to an edge (edge_connections). Real slapd processes: a
# source with syncprov and two edges over LDAPS (slapd.sh, edgesync_env.sh).
#
# edge1 is seeded: the export holds the edge's lease (a cycle skips the edge meanwhile), a commit
# before the load or of a damaged state is refused with nothing stored, the LDIF loads with
# slapadd, the commit stores the cookies, and the next cycle writes exactly the changes made at
# the source since the export (it continues from the cookie: no full compare). An export to an
# edge that already holds entries is refused and leaves no file. edge2 is written over four
# connections when a cycle has many writes, over one when it has few, and a commit of a seed
# loaded only in part is refused. The LDIFs go to a folder of their own: edgesync cannot make
# files in $WORK, which holds its store (key custody, certcore/sandbox.h), and an export there is
# refused before it starts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

es_env_setup 30 || exit 1
add_people 21 600 # 600 recipients
for e in edge1 edge2; do
	es_subscribe $e || {
		not_ok "subscription of $e"
		cat "$WORK/$e.import.out"
	}
done
cookie_status() { # EDGE AREA: CookieStatus of `edgesync test`
	es test --edge "$1" --format json 2>/dev/null | jq -r --arg a "$2" '.[0].Areas[$a].CookieStatus'
}

# --- export -----------------------------------------------------------------------------------
expect_fail "an export into the folder that holds the store is refused before it starts" 1 "near.ldif: its folder holds the store .*write the LDIF to another folder" \
	es seed export --edge edge1 --out "$WORK/near.ldif"
check "... leaving no file" test ! -e "$WORK/near.ldif" -a ! -e "$WORK/near.ldif.tmp"
SEEDS="$WORK/seeds"
mkdir -p "$SEEDS"
es seed export --edge edge1 --out "$SEEDS/e1.ldif" >"$WORK/export.out" 2>"$WORK/export.err"
expect_eq "seed export of edge1 exits 0" 0 "$?"
check "... and says how many entries and what to run next" grep -Eq "^edge edge1: 60[0-9] entries in .*e1.ldif; the lease is held for 60 minutes" "$WORK/export.out"
expect_eq "the LDIF holds the 600 recipients" 600 "$(grep -c '^umedgeArea: recipients' "$SEEDS/e1.ldif")"
check "... marked as the replicator's copies, keyed by the source's entryUUID" grep -q "^umedgeSourceUUID: $(src_uuid uid=u5,ou=people,dc=corp,dc=test)\$" "$SEEDS/e1.ldif"
expect_eq "the LDIF is readable by its owner only" 600 "$(stat -c %a "$SEEDS/e1.ldif")"
expect_eq "the state beside it too" 600 "$(stat -c %a "$SEEDS/e1.ldif.seed")"
check "the state has a cookie for every area (syncprov gave one with the read)" jq -e '.areas | length == 4 and all(.cookie | type == "string")' "$SEEDS/e1.ldif.seed"
check "no temporary file is left" test ! -e "$SEEDS/e1.ldif.tmp"
expect_eq "nothing of the recipients is on edge1 yet" 0 "$(edge_count edge1 recipients)"

# the export's lease keeps replicators away from the edge until the commit
es start --edge edge1 >"$WORK/held.out" 2>"$WORK/held.err"
expect_eq "a cycle while the seed holds the lease skips edge1 (exit 3)" 3 "$?"
expect_eq "... and writes nothing there" 0 "$(edge_count edge1 recipients)"

# a commit before the load stores nothing
expect_fail "a commit before the LDIF is loaded is refused" 1 "edge edge1 holds 0 entries of area recipients, the export 600: was the LDIF loaded whole" \
	es seed commit --edge edge1 "$SEEDS/e1.ldif"
expect_eq "... and stores no cookie" None "$(cookie_status edge1 recipients)"
jq '.areas[0].keys_sha256 = ("0" * 64)' "$SEEDS/e1.ldif.seed" >"$WORK/bad.ldif.seed"
cp "$SEEDS/e1.ldif" "$WORK/bad.ldif"
printf '{"version": 1}' >"$WORK/garbage.ldif.seed"
expect_fail "a state that is not one is refused, naming the file" 1 "garbage.ldif.seed: not a seed state" \
	es seed commit --edge edge1 "$WORK/garbage.ldif"
expect_fail "a state of another edge is refused" 1 "the seed is of edge edge1, not edge2" \
	es seed commit --edge edge2 "$SEEDS/e1.ldif"

# changes at the source after the export: the cycle after the commit must bring exactly these
slapd_modify src >/dev/null <<'LDIF'
dn: uid=u5,ou=people,dc=corp,dc=test
changetype: modify
replace: cn
cn: User Five Changed

dn: uid=u7,ou=people,dc=corp,dc=test
changetype: delete
LDIF
add_people 900 900

# --- load and commit --------------------------------------------------------------------------
check "slapadd loads the LDIF into edge1 (its server stopped and started again)" slapd_load edge1 "$SEEDS/e1.ldif"
expect_eq "edge1 holds the 600 recipients" 600 "$(edge_count edge1 recipients)"
expect_fail "a state whose keys do not match the edge is refused" 1 "holds 600 entries of area [a-z]+ but not the exported ones" \
	es seed commit --edge edge1 "$WORK/bad.ldif"
es seed commit --edge edge1 "$SEEDS/e1.ldif" >"$WORK/commit.out" 2>"$WORK/commit.err"
expect_eq "seed commit exits 0" 0 "$?"
expect_eq "... the recipients' cookie is stored" Current "$(cookie_status edge1 recipients)"
check "... and the lease given back" bash -c "es() { '$EDGESYNC' -c '$WORK/rep.conf' \"\$@\"; }; es test --edge edge1 --format json | jq -e '.[0].LeaseHolder == null'"
: >"$(slapd_log src)"
es start --edge edge1 >"$WORK/after.out" 2>"$WORK/after.err"
expect_eq "the next cycle exits 0" 0 "$?"
check "... and writes only what changed since the export (1 added, 1 modified, 1 deleted)" grep -q "EdgeSyncCompleted edge=edge1 added=1 modified=1 deleted=1 " "$WORK/after.err"
check "... having read from the cookie (the source sent the changes, not 600 entries)" bash -c "! grep -Eq 'nentries=(5|6)[0-9][0-9] ' '$(slapd_log src)'"
expect_eq "edge1 holds 600 recipients" 600 "$(edge_count edge1 recipients)"
got=$(slapd_search edge1 -b dc=edge1,dc=test "(umedgeSourceUUID=$(src_uuid uid=u5,ou=people,dc=corp,dc=test))" cn | sed -n 's/^cn: //p')
expect_eq "... the changed one as changed" "User Five Changed" "$got"
check "test --full-compare: Normal" es test --edge edge1 --full-compare

# an export whose temporary file exists (another export, or a cut one) leaves it alone
: >"$SEEDS/busy.ldif.tmp"
expect_fail "an export whose temporary file exists is refused, saying so" 1 "busy.ldif.tmp: File exists \(another export" \
	es seed export --edge edge2 --out "$SEEDS/busy.ldif"
check "... and that file is left where it was" test -e "$SEEDS/busy.ldif.tmp"

# an edge that holds entries is not seeded
expect_fail "an export to an edge that holds entries is refused" 1 "edge edge1 already holds [0-9]+ entries of area [a-z]+: a seed is for an edge that holds none" \
	es seed export --edge edge1 --out "$SEEDS/again.ldif"
check "... leaving no file" test ! -e "$SEEDS/again.ldif" -a ! -e "$SEEDS/again.ldif.tmp" -a ! -e "$SEEDS/again.ldif.seed"
check "... and the lease given back (a cycle runs)" es start --edge edge1

# --- edge2: writes over several connections ---------------------------------------------------
sed -i 's/^timeout = 10$/timeout = 10\nedge_connections = 4/' "$WORK/rep.conf"
binds() { grep -c "BIND dn=\"cn=edgesync,dc=edge2,dc=test\" method=128\$" "$(slapd_log edge2)"; }
b0=$(binds)
es start --edge edge2 >"$WORK/e2.out" 2>"$WORK/e2.err"
expect_eq "a first cycle of edge2 with edge_connections = 4 exits 0" 0 "$?"
expect_eq "... edge2 holds the 600 recipients" 600 "$(edge_count edge2 recipients)"
expect_eq "... written over 4 connections (4 binds as the edge account)" 4 "$(($(binds) - b0))"
check "test --full-compare of edge2: Normal" es test --edge edge2 --full-compare
add_people 901 902
b0=$(binds)
check "a cycle with 2 writes" es start --edge edge2
expect_eq "... binds once (few writes stay on one connection)" 1 "$(($(binds) - b0))"
expect_fail "edge_connections = 17 is refused, naming the range" 1 "edge_connections" \
	bash -c "sed 's/^edge_connections = 4/edge_connections = 17/' '$WORK/rep.conf' >'$WORK/bad.conf' && '$EDGESYNC' -c '$WORK/bad.conf' -n"

# --- a seed loaded in part ----------------------------------------------------------------------
port=$(slapd_port edge2)
slapd_stop edge2
rm -rf "$(slapd_dir edge2)"
slapd_start edge2 edge dc=edge2,dc=test "$WORK/edge2-store" "$E2_T" "$port" || not_ok "edge2 started afresh"
es subscription remove edge2 >/dev/null 2>&1
check "edge2, made afresh, subscribed again" es_subscribe edge2
check "seed export of edge2" es seed export --edge edge2 --out "$SEEDS/e2.ldif"
awk 'BEGIN { RS = ""; ORS = "\n\n" } NR <= 300' "$SEEDS/e2.ldif" >"$WORK/e2half.ldif"
check "half of its LDIF loaded" slapd_load edge2 "$WORK/e2half.ldif"
cp "$SEEDS/e2.ldif.seed" "$WORK/e2half.ldif.seed"
expect_fail "the commit of a seed loaded in part is refused" 1 "edge edge2 holds [0-9]+ entries of area [a-z]+, the export [0-9]+: was the LDIF loaded whole" \
	es seed commit --edge edge2 "$WORK/e2half.ldif"
expect_eq "... and stores no cookie" None "$(cookie_status edge2 recipients)"

finish
