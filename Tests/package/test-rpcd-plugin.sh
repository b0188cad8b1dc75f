#!/bin/sh
# Tests for the rpcd plugin files/usr/libexec/rpcd/fastpath (`ubus call
# fastpath status`) and its ACL files/usr/share/rpcd/acl.d/fastpath.json.
# There is no rpcd here, so the plugin is run the way rpcd runs it (rpcd's
# plugin.c and exec.c): executed directly, in a bare environment, `list`
# with stdin and stderr on /dev/null, `call METHOD` with the arguments as a
# JSON object on stdin; the reply is the first JSON value on stdout, which
# must be an object (anything else fails the call: nothing at all is "no
# data", other output "invalid argument"). rpcd_reply below decides that.
#
#   sh Tests/package/test-rpcd-plugin.sh [FASTPATH_BINARY]
#
# FASTPATH_BINARY: the host build (default build/x86_64/fastpath). With it,
# `call status` is compared with `fastpath status --json` with no daemon
# and, as root, with a daemon managing the namespace lab (Tests/lab/lab.sh;
# needs build/bpf/fastpath.o and bpffs on /sys/fs/bpf, as `make test` has).
# What can't run is reported as "skip - ...". The calls run under /bin/sh
# (the shebang) and, when busybox is installed, under busybox ash as well
# (the router's shell).
# Prints one line per check and a last line "N passed, M failed"; exits 1 if
# anything failed.
# shellcheck disable=SC2016 # the sh -c and python checks expand their own "$1"
set -eu

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PLUGIN=$ROOT/files/usr/libexec/rpcd/fastpath
ACL=$ROOT/files/usr/share/rpcd/acl.d/fastpath.json
SCRIPTS="$PLUGIN $ROOT/Tests/package/test-rpcd-plugin.sh"
BIN=${1:-$ROOT/build/x86_64/fastpath}
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
BPF_DIR=$ROOT/build/bpf
# procd's PATH, which rpcd and so the plugin inherit.
ROUTER_PATH=/usr/sbin:/usr/bin:/sbin:/bin

# shellcheck source=/dev/null
. "$ROOT/Tests/package/tap.sh"

WORK=$(mktemp -d)
LAB=
DAEMON_PID=
PIN_DIR=
cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		nsenter --net="/run/netns/$LAB-r" "$BIN" detach -c "$WORK/daemon.conf" --bpf-dir "$BPF_DIR" \
			--pin-dir "$PIN_DIR" --run-dir "$WORK/daemon-run" >/dev/null 2>&1 || true
		kill -9 "$DAEMON_PID" 2>/dev/null || true
	fi
	[ -n "$LAB" ] && sh "$ROOT/Tests/lab/lab.sh" down "$LAB" >/dev/null 2>&1
	[ -n "$PIN_DIR" ] && rm -rf "$PIN_DIR"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- syntax, shellcheck, the files as installed -----------------------------
# shellcheck disable=SC2086 # SCRIPTS is a list of paths
check_scripts $SCRIPTS

# rpcd only runs regular files with the owner's execute bit.
if [ -f "$PLUGIN" ] && [ -x "$PLUGIN" ]; then pass "the plugin is an executable file"; else fail "the plugin is an executable file" "$(ls -l "$PLUGIN" 2>&1)"; fi
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	mode=$(git -C "$ROOT" ls-files -s files/usr/libexec/rpcd/fastpath | cut -d' ' -f1)
	if [ "$mode" = 100755 ]; then pass "git keeps the plugin executable (100755)"; else fail "git keeps the plugin executable" "mode: ${mode:-not tracked}"; fi
fi
if head -n 1 "$PLUGIN" | grep -qx '#!/bin/sh'; then pass "the plugin runs under #!/bin/sh"; else fail "the plugin runs under #!/bin/sh" "$(head -n 1 "$PLUGIN")"; fi

# The ACL: one group that lets a session read fastpath.status and nothing else.
if out=$(python3 - "$ACL" <<'EOF' 2>&1
import json, sys
acl = json.load(open(sys.argv[1]))
assert list(acl) == ["fastpath"], f"groups: {list(acl)}"
group = acl["fastpath"]
assert isinstance(group.get("description"), str) and group["description"], "no description"
assert set(group) == {"description", "read"}, f"keys: {sorted(group)} (read only)"
assert group["read"] == {"ubus": {"fastpath": ["status"]}}, f"read: {group['read']}"
EOF
); then
	pass "ACL: group fastpath reads ubus fastpath.status, grants nothing else"
else
	fail "ACL: group fastpath reads ubus fastpath.status, grants nothing else" "$out"
fi

# ---- rpcd's side ------------------------------------------------------------
# rpcd_reply STDOUT_FILE: what rpcd makes of a plugin's stdout: "ok" and the
# object (sorted keys, for comparison), "no data" when there was no output,
# "invalid argument" for anything that isn't a JSON object.
rpcd_reply() {
	python3 - "$1" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
if text == "":
    print("no data")
    sys.exit()
try:
    value, _ = json.JSONDecoder().raw_decode(text.lstrip())
except ValueError:
    print("invalid argument")
    sys.exit()
print("ok " + json.dumps(value, sort_keys=True) if isinstance(value, dict) else "invalid argument")
EOF
}

# canonical FILE: the JSON in FILE with sorted keys (fails if it isn't JSON).
canonical() { python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$1"; }

# rpcd_exec ARGS... [VAR=VALUE...]: runs the plugin as rpcd does (stdin from
# $WORK/in, stdout to $WORK/out, stderr to $WORK/err, exit code in $rc); with
# RUNNER set, through that shell instead of the shebang. ENV holds the seams
# (VAR=VALUE words; no spaces in values).
ENV=
RUNNER=
rpcd_exec() {
	rc=0
	# shellcheck disable=SC2086 # ENV and RUNNER are word lists
	env -i PATH="$ROUTER_PATH" $ENV $RUNNER "$PLUGIN" "$@" <"$WORK/in" >"$WORK/out" 2>"$WORK/err" || rc=$?
}
# rpcd_list: `PLUGIN list`, stdin and stderr on /dev/null as rpcd has them.
rpcd_list() {
	rc=0
	# shellcheck disable=SC2086
	env -i PATH="$ROUTER_PATH" $ENV $RUNNER "$PLUGIN" list </dev/null >"$WORK/out" 2>/dev/null || rc=$?
}
# rpcd_call METHOD ARGS_JSON: `PLUGIN call METHOD` with ARGS_JSON on stdin.
rpcd_call() {
	printf '%s' "$2" >"$WORK/in"
	rpcd_exec call "$1"
}
details() {
	printf 'exit %s\nstdout:\n%s\nstderr:\n%s\n' "$rc" "$(cat "$WORK/out")" "$(cat "$WORK/err" 2>/dev/null)"
	[ -s "$WORK/calls" ] && printf 'stand-in ran:\n%s\n' "$(cat "$WORK/calls")"
	return 0
}
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$(details)"; fi
}
reply_is() { [ "$(rpcd_reply "$WORK/out")" = "$1" ]; }
# check_reply NAME FILE: the reply is the object in FILE (parsed, compared).
check_reply() {
	if reply_is "ok $(canonical "$2" 2>&1)"; then pass "$1"; else fail "$1" "$(details)
expected:
$(cat "$2")"; fi
}

# A fastpath stand-in: records its arguments, prints $STANDIN_OUT, exits
# $STANDIN_RC (its message on stderr when that isn't 0).
mkdir -p "$WORK/bin"
cat >"$WORK/bin/fastpath" <<'EOF'
#!/bin/sh
echo "fastpath $*" >>"$STANDIN_CALLS"
cat "$STANDIN_OUT"
[ "$STANDIN_RC" = 0 ] || echo "fastpath: stand-in failure" >&2
exit "$STANDIN_RC"
EOF
chmod +x "$WORK/bin/fastpath"
cat >"$WORK/sample.json" <<'EOF'
{"interfaces":[{"name":"lan0","ifindex":2,"requested":"auto","mode":"tc","reason":"no native XDP",
"forwarded_packets":4294967296,"forwarded_bytes":12,"passed":{"ttl":1,"not_ip":0}}],
"totals":{"forwarded_packets":4294967296,"forwarded_bytes":12},"kernel":{"release":"6.1.0","degraded":[]}}
EOF
printf '{"interfaces":[' >"$WORK/partial.json"
: >"$WORK/empty"
STANDIN="FASTPATH_PROG=$WORK/bin/fastpath STANDIN_CALLS=$WORK/calls"
: >"$WORK/in"

# plugin_checks LABEL: list, call status (stand-in), errors.
plugin_checks() {
	l=$1

	ENV="$STANDIN STANDIN_OUT=$WORK/sample.json STANDIN_RC=0"
	: >"$WORK/calls"
	rpcd_list
	check "$l list: a JSON object naming the one method, status, with no arguments" \
		reply_is 'ok {"status": {}}'
	check "$l list: exit 0, without running fastpath (rpcd lists at boot)" \
		sh -c '[ "$1" = 0 ] && [ ! -s "$2" ]' sh "$rc" "$WORK/calls"

	ENV="$STANDIN STANDIN_OUT=$WORK/sample.json STANDIN_RC=0"
	: >"$WORK/calls"
	rpcd_call status '{}'
	check "$l call status: runs fastpath status --json with the router's run dir" \
		test "$(cat "$WORK/calls")" = "fastpath status --json --run-dir /var/run/fastpath"
	check_reply "$l call status: the reply is the object fastpath printed" "$WORK/sample.json"
	check "$l call status: exit 0" test "$rc" = 0
	: >"$WORK/calls"
	rpcd_call status '{"ignored":true,"n":1}'
	check_reply "$l call status with arguments: ignores them, same reply" "$WORK/sample.json"

	ENV="$STANDIN STANDIN_OUT=$WORK/sample.json STANDIN_RC=0 FASTPATH_RUN_DIR=$WORK/r FASTPATH_PIN_DIR=$WORK/p"
	: >"$WORK/calls"
	rpcd_call status '{}'
	check "$l call status: FASTPATH_RUN_DIR and FASTPATH_PIN_DIR reach the command line" \
		test "$(cat "$WORK/calls")" = "fastpath status --json --run-dir $WORK/r --pin-dir $WORK/p"

	# Without the seam: the router's binary (not installed here).
	if [ ! -e /usr/sbin/fastpath ]; then
		ENV=
		rpcd_call status '{}'
		check "$l call status without FASTPATH_PROG runs /usr/sbin/fastpath" \
			sh -c '[ ! -s "$1" ] && [ "$2" = 1 ] && grep -q /usr/sbin/fastpath "$3"' sh "$WORK/out" "$rc" "$WORK/err"
	fi

	ENV="$STANDIN STANDIN_OUT=$WORK/partial.json STANDIN_RC=1"
	rpcd_call status '{}'
	check "$l call status, fastpath fails after half an object: no reply (rpcd: no data)" reply_is "no data"
	check "$l call status, fastpath fails: exit 1, fastpath's message on stderr" \
		sh -c '[ "$1" = 1 ] && grep -q "stand-in failure" "$2"' sh "$rc" "$WORK/err"

	ENV="$STANDIN STANDIN_OUT=$WORK/sample.json STANDIN_RC=0"
	: >"$WORK/calls"
	rpcd_call nosuch '{}'
	check "$l call nosuch: no reply (rpcd: no data), exit 2, names the method" \
		sh -c '[ ! -s "$1" ] && [ "$2" = 2 ] && grep -q "unknown method .nosuch." "$3"' sh "$WORK/out" "$rc" "$WORK/err"
	check "$l call nosuch: fastpath not run" test ! -s "$WORK/calls"
	: >"$WORK/in"
	rpcd_exec call
	check "$l call without a method: no reply, exit 2" sh -c '[ ! -s "$1" ] && [ "$2" = 2 ]' sh "$WORK/out" "$rc"
	rpcd_exec
	check "$l no arguments: usage on stderr, exit 2" \
		sh -c '[ ! -s "$1" ] && [ "$2" = 2 ] && grep -q "usage" "$3"' sh "$WORK/out" "$rc" "$WORK/err"
}

RUNNER=
plugin_checks "sh:"
if command -v busybox >/dev/null 2>&1 && busybox sh -c : 2>/dev/null; then
	RUNNER="$(command -v busybox) sh"
	plugin_checks "busybox ash:"
	RUNNER=
else
	skip "the calls under busybox ash (busybox is not installed)"
fi

# ---- the real binary --------------------------------------------------------
if [ ! -x "$BIN" ]; then
	skip "call status against fastpath status --json ($BIN missing: run make)"
	summary
	exit
fi

# No daemon has run: no state, status fails and prints nothing.
mkdir -p "$WORK/no-daemon"
src=0
"$BIN" status --json --run-dir "$WORK/no-daemon" --pin-dir "$WORK/no-daemon/pins" >"$WORK/status" 2>"$WORK/status-err" || src=$?
check "no daemon: fastpath status --json exits 1 and prints nothing" \
	sh -c '[ "$1" = 1 ] && [ ! -s "$2" ]' sh "$src" "$WORK/status"
ENV="FASTPATH_PROG=$BIN FASTPATH_RUN_DIR=$WORK/no-daemon FASTPATH_PIN_DIR=$WORK/no-daemon/pins"
rpcd_call status '{}'
check "no daemon: call status gives no reply (rpcd: no data)" reply_is "no data"
check "no daemon: call status passes on fastpath's message" cmp -s "$WORK/err" "$WORK/status-err"

# A daemon managing the lab's router (lan0, wan0; policy routing), run in its
# network namespace but the host's mount namespace, as ManagerLab does.
why=
[ "$(id -u)" = 0 ] || why="not root"
[ -z "$why" ] && [ ! -f "$BPF_DIR/fastpath.o" ] && why="$BPF_DIR/fastpath.o missing: run make"
[ -z "$why" ] && ! mount | grep -q ' /sys/fs/bpf type bpf' && why="no bpffs on /sys/fs/bpf (make bpffs)"
[ -z "$why" ] && ! command -v nsenter >/dev/null 2>&1 && why="no nsenter"
if [ -n "$why" ]; then
	skip "call status against a running daemon ($why)"
	summary
	exit
fi

LAB=fprpc$$
PIN_DIR=/sys/fs/bpf/fprpc-$$
RUN=$WORK/daemon-run
mkdir -p "$RUN"
cat >"$WORK/daemon.conf" <<'EOF'
config globals 'globals'
	option mode 'native'
	option policy 'routing'

config interface 'lan'
	option device 'lan0'

config interface 'wan'
	option device 'wan0'
EOF
status_json() {
	"$BIN" status --json --pin-dir "$PIN_DIR" --run-dir "$RUN" >"$1" 2>&1
}

if out=$(sh "$ROOT/Tests/lab/lab.sh" up "$LAB" 2>&1); then
	nsenter --net="/run/netns/$LAB-r" "$BIN" daemon --foreground -c "$WORK/daemon.conf" --bpf-dir "$BPF_DIR" \
		--pin-dir "$PIN_DIR" --run-dir "$RUN" </dev/null >"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	waited=0
	until status_json "$WORK/status" || [ "$waited" -ge 100 ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if status_json "$WORK/status"; then
		pass "daemon: started, fastpath status --json answers"
		# Some live counters: h1 pings h2 through the router.
		ip netns exec "$LAB-h1" ping -q -c 5 -i 0.2 -W 1 198.51.100.2 >/dev/null 2>&1 || true
		status_json "$WORK/status" || true
		if python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert sorted(i["name"] for i in s["interfaces"]) == ["lan0", "wan0"], s["interfaces"]
assert s["totals"]["forwarded_packets"] > 0, s["totals"]' "$WORK/status" 2>"$WORK/py-err"; then
			pass "daemon: status lists lan0 and wan0 and counts the forwarded pings"
		else
			fail "daemon: status lists lan0 and wan0 and counts the forwarded pings" "$(cat "$WORK/py-err" "$WORK/status")"
		fi

		# The plugin in the router's namespace, as rpcd runs it there. The
		# counters may tick between two reads (IPv6 router solicitations
		# are passed and counted): compare with reads before and after
		# that agree, trying a few times.
		ENV="FASTPATH_PROG=$BIN FASTPATH_RUN_DIR=$RUN FASTPATH_PIN_DIR=$PIN_DIR"
		RUNNER="nsenter --net=/run/netns/$LAB-r"
		tries=0 agreed=no
		while [ "$tries" -lt 5 ] && [ "$agreed" = no ]; do
			tries=$((tries + 1))
			status_json "$WORK/before" || true
			rpcd_call status '{}'
			status_json "$WORK/after" || true
			if [ "$(canonical "$WORK/before" 2>&1)" = "$(canonical "$WORK/after" 2>&1)" ]; then agreed=yes; fi
		done
		check_reply "daemon: call status replies with the object fastpath status --json prints" "$WORK/before"
		check "daemon: call status exits 0" test "$rc" = 0
		if command -v busybox >/dev/null 2>&1 && busybox sh -c : 2>/dev/null; then
			RUNNER="nsenter --net=/run/netns/$LAB-r $(command -v busybox) sh"
			status_json "$WORK/before" || true
			rpcd_call status '{}'
			status_json "$WORK/after" || true
			if [ "$(canonical "$WORK/before" 2>&1)" = "$(canonical "$WORK/after" 2>&1)" ]; then
				check_reply "daemon, busybox ash: call status replies with the same object" "$WORK/before"
			else
				skip "daemon, busybox ash: the counters moved during the call"
			fi
		fi
		RUNNER=
	else
		fail "daemon: started, fastpath status --json answers" "$(cat "$WORK/status" "$WORK/daemon.log")"
	fi
else
	fail "the namespace lab (Tests/lab/lab.sh up)" "$out"
fi

summary
