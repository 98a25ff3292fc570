# Shared by the images' entrypoints (sourced; bash). log LEVEL MESSAGE prints one JSON line on
# stdout in the shape certcore's event log gives messages ({"time","level","message"}), so a
# container's stdout is JSON lines only, whoever wrote them.

log() {
	local level=$1
	shift
	local msg="$*"
	msg=${msg//\\/\\\\}
	msg=${msg//\"/\\\"}
	msg=${msg//$'\n'/\\n}
	msg=${msg//$'\r'/\\r}
	msg=${msg//$'\t'/\\t}
	msg=$(printf '%s' "$msg" | tr -d '\000-\010\013\014\016-\037')
	printf '{"time":"%s","level":"%s","message":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "$msg"
}

# ini_get FILE SECTION KEY: the value of KEY in [SECTION] (inih syntax: "key = value", comments
# after ';' or '#' at the start of a line or after blanks), empty when absent.
ini_get() {
	awk -v want="$2" -v key="$3" '
		/^[ \t]*[;#]/ { next }
		/^[ \t]*\[/ { s = $0; sub(/^[ \t]*\[/, "", s); sub(/\].*$/, "", s); insec = (s == want); next }
		insec {
			line = $0
			sub(/[ \t]+[;#].*$/, "", line)
			i = index(line, "=")
			if (i == 0) next
			k = substr(line, 1, i - 1); v = substr(line, i + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
			if (k == key) { print v; exit }
		}' "$1" 2>/dev/null
}
