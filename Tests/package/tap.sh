# Shared by the package scripts' tests (sourced): one "ok - "/"not ok - "
# line per check, syntax and shellcheck of the scripts under test, and the
# last line "N passed, M failed".
# shellcheck shell=sh

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok - %s\n' "$1"; }
fail() {
	failed=$((failed + 1))
	printf 'not ok - %s\n' "$1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    /'
	return 0
}
skip() { printf 'skip - %s\n' "$1"; }

# sh -n and shellcheck -s sh of each script named (shellcheck is installed
# from Debian when it is missing and we are root).
check_scripts() {
	for s in "$@"; do
		if out=$(sh -n "$s" 2>&1); then pass "sh -n $(basename "$s")"; else fail "sh -n $s" "$out"; fi
	done
	if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck; } >/dev/null 2>&1 || true
	fi
	if ! command -v shellcheck >/dev/null 2>&1; then
		fail "shellcheck is not installed and could not be installed"
		return 0
	fi
	for s in "$@"; do
		if out=$(shellcheck -s sh "$s" 2>&1); then pass "shellcheck -s sh $(basename "$s")"; else fail "shellcheck $s" "$out"; fi
	done
}

# The summary line; fails if anything did.
summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
