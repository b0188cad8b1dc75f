#!/bin/sh
# Tests for the OpenWrt package files: syntax and shellcheck of the shell
# scripts, the procd init script run against recording stand-ins for
# rc.common and procd (procd can't run here), `fastpath check` on the
# shipped UCI defaults, and that the package and `make install` install
# every file of files/, the package from ./files beside its Makefile.
#
#   sh Tests/package/test-init-script.sh [FASTPATH_BINARY]
#
# FASTPATH_BINARY: a host build for the config check (default: the first of
# .build-pkg/debug/fastpath, .build/debug/fastpath, build/x86_64/fastpath that
# exists; the check is skipped when there is none).
# Prints one line per check and a last line "N passed, M failed"; exits 1 if
# anything failed.
# shellcheck disable=SC2016 # the sh -c checks expand their own "$1"
set -eu

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
INIT=$ROOT/files/etc/init.d/fastpath
CONFIG=$ROOT/files/etc/config/fastpath
SCRIPTS="$INIT $ROOT/openwrt/cross-check.sh $ROOT/Tests/package/test-init-script.sh"

# shellcheck source=/dev/null
. "$ROOT/Tests/package/tap.sh"

WORK=$(mktemp -d)
DAEMON_PID=
cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- syntax and shellcheck ------------------------------------------------
# shellcheck disable=SC2086 # SCRIPTS is a list of paths
check_scripts $SCRIPTS

# ---- the stub environment -------------------------------------------------
# A fake fastpath that records its arguments, and an rc.common stand-in that
# drives the init script the way OpenWrt's rc.common does in procd mode
# (start: open service, start_service, close service with service_triggers,
# service_started; stop: stop_service, procd_kill, service_stopped; reload:
# reload_service or start), with procd and /lib/functions.sh replaced by
# functions that append one line per call to $CALLS.
mkdir -p "$WORK/bin" "$WORK/run"
CALLS=$WORK/calls
export CALLS

# `check` fails like the real one when FAKE_CHECK_FAILS=1.
cat >"$WORK/bin/fastpath" <<'EOF'
#!/bin/sh
echo "fastpath $*" >>"$CALLS"
if [ "$1" = check ] && [ "${FAKE_CHECK_FAILS:-0}" = 1 ]; then
	echo "/etc/config/fastpath:3: @globals[0]: option 'enabled': invalid value 'maybe'" >&2
	exit 1
fi
[ "$1" = check ] && echo ok
exit 0
EOF
chmod +x "$WORK/bin/fastpath"

cat >"$WORK/rc.common" <<'EOF'
# rc.common stand-in: sh rc.common INITSCRIPT ACTION
initscript=$1
action=$2
shift 2

record() { printf '%s\n' "$*" >>"$CALLS"; }

# /lib/functions.sh: the sections of a type are listed, comma-separated, in
# UCI_SECTIONS_<type> (default: one named after the type), options in
# UCI_<section>_<option>.
config_load() { record "config_load $*"; }
config_foreach() {
	_callback=$1
	eval "_sections=\${UCI_SECTIONS_${2}-$2}"
	for _section in $(echo "$_sections" | tr , " "); do "$_callback" "$_section"; done
}
config_get() {
	eval "$1=\${UCI_${2}_${3}-}"
}
config_get_bool() {
	eval "_raw=\${UCI_${2}_${3}-}"
	case "$_raw" in
	1 | on | true | yes | enabled) _val=1 ;;
	0 | off | false | no | disabled) _val=0 ;;
	*) _val=${4:-0} ;;
	esac
	eval "$1=\$_val"
}

# procd.sh
# A service set without instances stops the running one (FAKE_DAEMON_EXITS=1:
# it exits on the SIGTERM) and, unlike `service delete`, keeps the triggers.
procd_open_service() { INSTANCES=0; record "procd_open_service $*"; }
procd_close_service() {
	service_triggers
	record "procd_close_service $*"
	if [ "$INSTANCES" = 0 ] && [ "${FAKE_DAEMON_EXITS:-0}" = 1 ] && [ -n "${FAKE_DAEMON_PID:-}" ]; then
		kill "$FAKE_DAEMON_PID" 2>/dev/null
		rm -f "$RUN_DIR/fastpath.pid"
	fi
}
procd_open_instance() { INSTANCES=$((INSTANCES + 1)); record "procd_open_instance $*"; }
procd_set_param() { record "procd_set_param $*"; }
procd_append_param() { record "procd_append_param $*"; }
procd_close_instance() { record "procd_close_instance $*"; }
procd_open_trigger() { record "procd_open_trigger $*"; }
procd_close_trigger() { record "procd_close_trigger $*"; }
procd_add_reload_trigger() { record "procd_add_reload_trigger $*"; }
procd_add_interface_trigger() { record "procd_add_interface_trigger $*"; }
procd_add_reload_interface_trigger() { record "procd_add_reload_interface_trigger $*"; }
procd_add_raw_trigger() { record "procd_add_raw_trigger $*"; }
procd_open_validate() { record "procd_open_validate"; }
procd_close_validate() { record "procd_close_validate"; }
procd_add_reload_interface_trigger() { record "procd_add_reload_interface_trigger $*"; }
uci_validate_section() { record "uci_validate_section $*"; }
logger() { record "logger $* $(cat)"; }
# procd sends SIGTERM; a well-behaved daemon detaches, removes its pidfile
# and exits (FAKE_DAEMON_EXITS=1), a wedged one ignores it.
procd_kill() {
	record "procd_kill $*"
	if [ "${FAKE_DAEMON_EXITS:-0}" = 1 ] && [ -n "${FAKE_DAEMON_PID:-}" ]; then
		kill "$FAKE_DAEMON_PID" 2>/dev/null
		rm -f "$RUN_DIR/fastpath.pid"
	fi
}
sleep() { record "sleep $*"; }

start_service() { return 0; }
stop_service() { return 0; }
service_triggers() { return 0; }

. "$initscript"

# Test seams: the binary and the run directory (set after sourcing, as the
# script sets its own).
[ -n "${FAKE_PROG:-}" ] && PROG=$FAKE_PROG
[ -n "${FAKE_RUN_DIR:-}" ] && RUN_DIR=$FAKE_RUN_DIR
NETWORK_FUNCTIONS=$(dirname "$0")/network.sh

start() {
	procd_open_service "$(basename "$initscript")" "$initscript"
	start_service "$@"
	procd_close_service set
	if type service_started >/dev/null 2>&1; then service_started; fi
}
stop() {
	stop_service "$@"
	procd_kill "$(basename "$initscript")" "$@"
	if type service_stopped >/dev/null 2>&1; then service_stopped; fi
}
reload() {
	if type reload_service >/dev/null 2>&1; then reload_service "$@"; else start; fi
}
restart() { stop "$@"; start "$@"; }

"$action" "$@"
EOF

# /lib/functions/network.sh: netifd's l3_device of interface NAME in NETIFD_<NAME>.
cat >"$WORK/network.sh" <<'EOF'
network_flush_cache() { record "network_flush_cache"; }
network_get_device() {
	eval "_device=\${NETIFD_${2}-}"
	[ -n "$_device" ] || return 1
	eval "$1=\$_device"
}
EOF

# Installed where the init script expects to be, so its name is "fastpath".
mkdir -p "$WORK/etc/init.d"
cp "$INIT" "$WORK/etc/init.d/fastpath"

# The router's shell when it is here (busybox ash), else this one.
if command -v busybox >/dev/null 2>&1 && busybox sh -c : 2>/dev/null; then
	printf '#!/bin/sh\nexec busybox sh "$@"\n' >"$WORK/router-sh"
else
	printf '#!/bin/sh\nexec sh "$@"\n' >"$WORK/router-sh"
fi
chmod +x "$WORK/router-sh"

# run_init ACTION [VAR=VALUE...]: run the init script, calls go to $CALLS.
run_init() {
	action=$1
	shift
	: >"$CALLS"
	env FAKE_PROG="$WORK/bin/fastpath" FAKE_RUN_DIR="$WORK/run" "$@" \
		"$WORK/router-sh" "$WORK/rc.common" "$WORK/etc/init.d/fastpath" "$action" >"$WORK/out" 2>&1
}

has_call() { grep -qxF "$1" "$CALLS"; }
lacks_call() { ! grep -q "$1" "$CALLS"; }
# line number of the first call matching (fixed string), 0 if none
call_line() { grep -nF "$1" "$CALLS" | head -n 1 | cut -d: -f1 | grep . || echo 0; }
check() {
	name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "calls were:
$(cat "$CALLS")
output:
$(cat "$WORK/out")"; fi
}

start_fake_daemon() {
	command sleep 300 &
	DAEMON_PID=$!
	echo "$DAEMON_PID" >"$WORK/run/fastpath.pid"
}
stop_fake_daemon() {
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	DAEMON_PID=
	rm -f "$WORK/run/fastpath.pid"
}

# ---- start ------------------------------------------------------------------
# The instance's command line (the binary and the run directory replaced by
# the stand-ins).
run_init start
check "start: the binary is /usr/sbin/fastpath" grep -qx 'PROG=/usr/sbin/fastpath' "$INIT"
check "start: the run directory is /var/run/fastpath" grep -qx 'RUN_DIR=/var/run/fastpath' "$INIT"
check "start: loads the fastpath config" has_call "config_load fastpath"
check "start: checks the config with the daemon's parser first" \
	test "$(call_line "fastpath check -c /etc/config/fastpath")" -gt 0 -a \
	"$(call_line "procd_open_instance")" -gt "$(call_line "fastpath check")"
check "start: one instance" has_call "procd_open_instance "
check "start: command line is fastpath daemon --foreground" \
	has_call "procd_set_param command $WORK/bin/fastpath daemon --foreground -c /etc/config/fastpath --run-dir $WORK/run"
check "start: respawn" has_call "procd_set_param respawn"
check "start: stdout to the log" has_call "procd_set_param stdout 1"
check "start: stderr to the log" has_call "procd_set_param stderr 1"
check "start: instance closed" has_call "procd_close_instance "
check "start: reload trigger on config fastpath" has_call "procd_add_reload_trigger fastpath"
check "start: no trigger on every interface event" lacks_call "procd_add_raw_trigger"
check "start: both section types' rules in one validate array" sh -c '
	[ "$(grep -e "^procd_open_validate" -e "^procd_close_validate" -e "^uci_validate_section" "$1" | cut -d" " -f1-3 | tr "\n" ,)" = \
	  "procd_open_validate,uci_validate_section fastpath globals,uci_validate_section fastpath interface,procd_close_validate," ]' \
	sh "$CALLS"
check "start: starts no daemon nor detaches itself" sh -c '! grep -q -e "^fastpath daemon" -e "^fastpath detach" "$1"' sh "$CALLS"

# The validation functions as procd calls them: every option the daemon knows, typed.
check "validation: the globals' options" sh -c '
	. "$1" >/dev/null 2>&1
	uci_validate_section() { shift 3; for spec; do echo "${spec%%:*}"; done; }
	[ "$(validate_fastpath_globals | tr "\n" " ")" = "enabled mode policy ipv4 ipv6 log_level max_flows valve_timeout disable_capability " ]' \
	sh "$INIT"
check "validation: the interface options" sh -c '
	. "$1" >/dev/null 2>&1
	uci_validate_section() { shift 3; for spec; do echo "${spec%%:*}"; done; }
	[ "$(validate_fastpath_interface | tr "\n" " ")" = "device network mode policy wan enabled " ]' sh "$INIT"

run_init start UCI_globals_enabled=1
check "start, enabled '1': instance" has_call "procd_open_instance "

for value in 0 off no false; do
	run_init start UCI_globals_enabled=$value
	check "start, enabled '$value': no instance" lacks_call "procd_open_instance"
	check "start, enabled '$value': no check" lacks_call "^fastpath check"
done

# An anonymous `config globals` is read as the daemon reads it.
run_init start UCI_SECTIONS_globals=cfg01a2b3 UCI_cfg01a2b3_enabled=0
check "start, anonymous globals with enabled '0': no instance" lacks_call "procd_open_instance"

run_init start FAKE_CHECK_FAILS=1
check "start, bad config: no instance (no respawn loop)" lacks_call "procd_open_instance"
check "start, bad config: the error at file:line in the system log" \
	has_call "logger -t fastpath -p daemon.err /etc/config/fastpath:3: @globals[0]: option 'enabled': invalid value 'maybe'"
check "start, bad config: the error on stderr too" grep -q "/etc/config/fastpath:3:" "$WORK/out"

# netifd interfaces named with `option network`: their devices for the
# daemon, and a reload when one of them changes (and no other).
NETWORKS="UCI_SECTIONS_interface=lan,wan,guest UCI_lan_network=lan UCI_wan_network=wan UCI_guest_device=eth9"
# shellcheck disable=SC2086 # NETWORKS is a list of VAR=VALUE words
run_init start $NETWORKS NETIFD_lan=br-lan NETIFD_wan=pppoe-wan
check "start, network names: their devices for the daemon" \
	test "$(cat "$WORK/run/network-devices")" = "lan br-lan
wan pppoe-wan"
check "start, network names: written before the instance starts" \
	test "$(call_line "network_flush_cache")" -gt 0 -a "$(call_line "procd_open_instance")" -gt "$(call_line "network_flush_cache")"
check "start, network names: a reload trigger for each" sh -c '
	grep -qx "procd_add_reload_interface_trigger lan" "$1" && grep -qx "procd_add_reload_interface_trigger wan" "$1" &&
	[ "$(grep -c "^procd_add_reload_interface_trigger" "$1")" -eq 2 ]' sh "$CALLS"
# shellcheck disable=SC2086
run_init start $NETWORKS NETIFD_lan=br-lan
check "start, a network without a device: left out" test "$(cat "$WORK/run/network-devices")" = "lan br-lan"

# ---- reload -----------------------------------------------------------------
start_fake_daemon
run_init reload
check "reload, daemon running: runs fastpath reload" \
	has_call "fastpath reload -c /etc/config/fastpath --run-dir $WORK/run"
check "reload, daemon running: the same instance and the triggers sent again, then the reload" \
	test "$(call_line "procd_close_service set")" -gt "$(call_line "procd_open_instance")" -a \
	"$(call_line "procd_open_instance")" -gt 0 -a "$(call_line "fastpath reload")" -gt "$(call_line "procd_close_service set")"
check "reload, daemon running: no stop, no detach" sh -c '! grep -q -e "^procd_kill" -e "^fastpath detach" "$1"' sh "$CALLS"
# shellcheck disable=SC2086
run_init reload $NETWORKS NETIFD_lan=br-lan NETIFD_wan=pppoe-wan
check "reload, a network's device changed: the daemon is told before it reloads" sh -c '
	[ "$(cat "$2")" = "lan br-lan
wan pppoe-wan" ] && grep -q "^fastpath reload" "$1"' sh "$CALLS" "$WORK/run/network-devices"
check "reload, a network added: its trigger goes to procd" has_call "procd_add_reload_interface_trigger wan"
# shellcheck disable=SC2086
run_init reload $NETWORKS NETIFD_lan=br-lan FAKE_CHECK_FAILS=1
check "reload, bad config: no service set (it would stop the daemon)" lacks_call "procd_open_service"
check "reload, bad config: the devices still written, the daemon still asked (it refuses and logs)" sh -c '
	[ "$(cat "$2")" = "lan br-lan" ] && grep -q "^fastpath reload" "$1"' sh "$CALLS" "$WORK/run/network-devices"
stop_fake_daemon

run_init reload
check "reload, no daemon: starts the instance" has_call "procd_set_param command $WORK/bin/fastpath daemon --foreground -c /etc/config/fastpath --run-dir $WORK/run"
check "reload, no daemon: nothing to signal" lacks_call "^fastpath reload"

echo 999999 >"$WORK/run/fastpath.pid"
run_init reload
check "reload, stale pidfile: starts the instance" has_call "procd_open_instance "
rm -f "$WORK/run/fastpath.pid"

start_fake_daemon
run_init reload UCI_globals_enabled=0 FAKE_DAEMON_EXITS=1 FAKE_DAEMON_PID="$DAEMON_PID"
check "reload, enabled '0': an empty service set, not a stop" sh -c '
	grep -q "^procd_close_service set" "$1" && ! grep -q -e "^procd_kill" -e "^procd_open_instance" "$1"' sh "$CALLS"
check "reload, enabled '0': the triggers stay" has_call "procd_add_reload_trigger fastpath"
check "reload, enabled '0': detaches after the daemon left" \
	test "$(call_line "procd_close_service")" -gt 0 -a "$(call_line "fastpath detach -c /etc/config/fastpath --run-dir $WORK/run")" -gt "$(call_line "procd_close_service")"
check "reload, enabled '0': no reload" lacks_call "^fastpath reload"
stop_fake_daemon
# shellcheck disable=SC2086
run_init reload UCI_globals_enabled=0 $NETWORKS
check "reload, enabled '0': no interface triggers (netifd events do nothing)" lacks_call "procd_add_reload_interface_trigger"
check "reload, enabled '0', nothing ran before: nothing to detach" lacks_call "^fastpath detach"

# ---- stop -------------------------------------------------------------------
start_fake_daemon
run_init stop FAKE_DAEMON_EXITS=1 FAKE_DAEMON_PID="$DAEMON_PID"
check "stop: procd kills the instance" has_call "procd_kill fastpath"
check "stop: then fastpath detach" has_call "fastpath detach -c /etc/config/fastpath --run-dir $WORK/run"
check "stop: detach after procd_kill" \
	test "$(call_line "procd_kill")" -gt 0 -a "$(call_line "fastpath detach")" -gt "$(call_line "procd_kill")"
check "stop: daemon gone, no waiting" lacks_call "^sleep"
stop_fake_daemon

start_fake_daemon
run_init stop FAKE_DAEMON_EXITS=0
check "stop, daemon ignores SIGTERM: waits 5 s then detaches" sh -c '
	[ "$(grep -c "^sleep 1$" "$1")" -eq 5 ] && grep -q "^fastpath detach" "$1"' sh "$CALLS"
stop_fake_daemon

run_init stop
check "stop, no daemon: detaches at once" sh -c '
	! grep -q "^sleep" "$1" && grep -q "^fastpath detach" "$1"' sh "$CALLS"

run_init restart
check "restart: detach before the new instance" \
	test "$(call_line "fastpath detach")" -gt 0 -a "$(call_line "procd_open_instance")" -gt "$(call_line "fastpath detach")"

# ---- what the package and make install install ----------------------------
# openwrt/fastpath/files is a relative symlink to files/: it must resolve
# there through the symlinks an OpenWrt tree has for a src-link feed
# (feeds/NAME -> the feed directory, package/feeds/NAME/PKG ->
# ../../../feeds/NAME/PKG), where the package is built from.
mkdir -p "$WORK/owrt/feeds" "$WORK/owrt/package/feeds/fastpath"
ln -s "$ROOT/openwrt" "$WORK/owrt/feeds/fastpath"
ln -s ../../../feeds/fastpath/fastpath "$WORK/owrt/package/feeds/fastpath/fastpath"
if [ -L "$ROOT/openwrt/fastpath/files" ] &&
	resolved=$(cd "$WORK/owrt/package/feeds/fastpath/fastpath/files" 2>/dev/null && pwd -P) &&
	[ "$resolved" = "$(cd "$ROOT/files" && pwd -P)" ]; then
	pass "openwrt/fastpath/files: a symlink reaching files/ through package/feeds/"
else
	fail "openwrt/fastpath/files: a symlink reaching files/ through package/feeds/" \
		"$(ls -l "$ROOT/openwrt/fastpath/files" 2>&1) resolved: ${resolved:-nothing}"
fi
(cd "$ROOT/files" && find . -type f | sed 's|^\./||' | sort) >"$WORK/shipped"
grep -o '\./files/[^ ]*' "$ROOT/openwrt/fastpath/Makefile" | sed 's|^\./files/||' | sort -u >"$WORK/pkg-files"
grep -o ' files/[^ ]*' "$ROOT/mk/install.mk" | sed 's|^ files/||' | sort -u >"$WORK/install-files"
if out=$(diff "$WORK/shipped" "$WORK/pkg-files"); then
	pass "the package installs every file of files/, from ./files"
else
	fail "the package installs every file of files/, from ./files" "$out"
fi
if out=$(cd "$WORK/owrt/package/feeds/fastpath/fastpath" &&
	while read -r f; do [ -f "./files/$f" ] || echo "missing: ./files/$f"; done <"$WORK/pkg-files") &&
	[ -z "$out" ]; then
	pass "the package's ./files paths exist through package/feeds/"
else
	fail "the package's ./files paths exist through package/feeds/" "$out"
fi
if out=$(diff "$WORK/shipped" "$WORK/install-files"); then
	pass "make install installs every file of files/"
else
	fail "make install installs every file of files/" "$out"
fi

# ---- the shipped config passes the real parser ---------------------------
BIN=${1:-}
if [ -z "$BIN" ]; then
	for b in .build-pkg/debug/fastpath .build/debug/fastpath build/x86_64/fastpath; do
		if [ -x "$b" ]; then BIN=$b; break; fi
	done
fi
if [ -n "$BIN" ]; then
	if out=$("$BIN" check -c "$CONFIG" 2>&1) && [ "$out" = ok ]; then
		pass "fastpath check -c files/etc/config/fastpath ($BIN)"
	else
		fail "fastpath check -c files/etc/config/fastpath ($BIN)" "$out"
	fi
	# and a config the parser must refuse: routing on the wan interface
	sed "s/^config interface 'wan'\$/&\\
	option policy 'routing'/" "$CONFIG" >"$WORK/bad"
	if out=$("$BIN" check -c "$WORK/bad" 2>&1); then
		fail "fastpath check refuses policy routing on wan" "$out"
	else
		pass "fastpath check refuses policy routing on wan"
	fi
else
	echo "skip - fastpath check (no host build; pass the binary as the argument)"
fi

summary
