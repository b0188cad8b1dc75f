#!/usr/bin/env bash
# fresh-check.sh - the README's quick start on a fresh Debian 12 machine:
# `make demo` then `make test`, run as they are (no `make deps` first) in a
# clean clone of the repository's HEAD, inside a new minimal Debian 12 root
# that has only what a machine of this kind has before the project installs
# anything: Debian's minbase, make, git, gcc, the Swift toolchain's
# prerequisites (swift.org's list for Debian 12) and the toolchain itself
# (/opt/swift, bind-mounted read-only).
#
#   bash Tests/fresh/fresh-check.sh [--separate] [--no-cache] [--command CMD]...
#   (make fresh-check: no options)
#
#   --separate      each command in a root of its own, so that `make test` is
#                   also the very first command on its machine (longer)
#   --no-cache      debootstrap even if today's base root is cached
#   --command CMD   run CMD (in the clone) instead of the README's commands;
#                   repeatable; to debug the check itself
#
# As root. Prints each phase and how long it took, and a summary. Exits 0
# when both commands pass, 1 when either fails, 2 when the check itself could
# not run (not root, no toolchain, debootstrap failed, ...), 130 when
# interrupted. The output of each command is also kept in build/fresh/logs/.
#
# The root lives in FRESH_PARENT (default /var/tmp: the repository's disk
# here, and out of reach of `make clean`), and everything mounted into it
# (/proc, /sys, /dev, bpffs, /opt/swift) is mounted in a mount namespace of
# this script's own, so the host never sees those mounts, and they vanish
# with the namespace even if the script is killed. Whatever happens (failure,
# Ctrl-C), the script kills what still runs in the root, unmounts everything
# below it (findmnt), and deletes it only when nothing is mounted below it.
#
# The base root (debootstrap + the prerequisites, without apt's package
# lists, so `make` must fetch them as on a new machine) is cached as
# build/fresh/base-bookworm-DATE-KEY.tar for the rest of the day; it holds
# none of the packages the project installs, which is checked on every run.
set -euo pipefail

# Everything below mounts in a mount namespace of its own (private: nothing
# propagates to the host's mounts). bpffs is mounted on the host first, so
# that pins made in the root are the host's, as on a real machine.
if [ -z "${FRESH_CHECK_NAMESPACE:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "fresh-check: run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	export FRESH_CHECK_NAMESPACE=1
	exec unshare --mount --propagation private -- bash "$0" "$@"
fi

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
FRESH_PARENT=${FRESH_PARENT:-/var/tmp}
CACHE_DIR=$REPO/build/fresh
LOG_DIR=$CACHE_DIR/logs
TOOLCHAIN=/opt/swift
SUITE=bookworm

# What a Debian 12 machine of this kind has before the project installs
# anything: make and git (to get this far), and the Swift toolchain's
# prerequisites as swift.org lists them for Debian 12 (its install guide,
# swiftly's list and the swift:debian12 image; binutils-gold is binutils
# there), without recommended packages.
PREREQUISITES=(make git gcc binutils libc6-dev libgcc-12-dev libstdc++-12-dev
	libcurl4-openssl-dev libxml2-dev libncurses-dev zlib1g-dev libedit2 libedit-dev
	libsqlite3-0 libsqlite3-dev libpython3-dev libicu-dev uuid-dev tzdata
	ca-certificates pkg-config python3 gnupg2 unzip)

# The README's quick start, in order.
COMMANDS=("make demo" "make test")

separate=0
use_cache=1
own_commands=()
while [ $# -gt 0 ]; do
	case "$1" in
	--separate) separate=1 ;;
	--no-cache) use_cache=0 ;;
	--command) [ $# -ge 2 ] || { echo "fresh-check: --command needs a command" >&2; exit 2; }
		own_commands+=("$2"); shift ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "fresh-check: unknown argument '$1' (--separate, --no-cache, --command CMD)" >&2; exit 2 ;;
	esac
	shift
done
[ ${#own_commands[@]} = 0 ] || COMMANDS=("${own_commands[@]}")
# `make fresh-check` would hand its flags to everything make runs here
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

# ---- phases and their durations ----------------------------------------------
SUMMARY=()
phase='' phase_start=''
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }
begin() { phase=$1; phase_start=$(now); printf '\n== %s\n' "$phase"; }
end() { # end [RESULT]: the current phase is over (RESULT: ok unless told)
	local result=${1:-ok} took
	took=$(since "$phase_start")
	printf '== %s: %s (%s s)\n' "$phase" "$result" "$took"
	SUMMARY+=("$phase|$took|$result")
	phase=
}
die() { echo "fresh-check: $*" >&2; exit 2; }

# ---- the root: mounts, processes, removal --------------------------------------
root=
mounts_at_or_below() { # the mount points at or below DIR, deepest first
	findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r
}

unmount_below() { # unmount_below DIR [--self]: umount -R what is mounted below DIR (and DIR itself with --self)
	local dir=$1 self=${2:-} m left pass
	for pass in 1 2 3 4; do
		left=$(mounts_at_or_below "$dir")
		[ "$self" = --self ] || left=$(printf '%s\n' "$left" | awk -v d="$dir" 'NF && $0 != d')
		[ -z "$left" ] && return 0
		while read -r m; do
			if [ "$pass" -lt 4 ]; then
				umount -R "$m" 2>/dev/null || true
			else # still busy: detach it, so the path no longer leads into it
				echo "fresh-check: $m is busy: detaching it (umount -R -l)" >&2
				umount -R -l "$m" || true
			fi
		done <<<"$left"
		[ "$pass" -lt 3 ] || sleep 1
	done
	left=$(mounts_at_or_below "$dir")
	[ "$self" = --self ] || left=$(printf '%s\n' "$left" | awk -v d="$dir" 'NF && $0 != d')
	[ -z "$left" ]
}

processes_in_root() { # pids of the processes whose root directory is the fresh root
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
	done
	return 0
}

stop_processes_in_root() { # what the commands left running (a daemon, a server) holds the mounts
	local pids tries=0
	pids=$(processes_in_root)
	[ -z "$pids" ] && return 0
	echo "stopping what still runs in the root: $(tr '\n' ' ' <<<"$pids")"
	# shellcheck disable=SC2086 # one pid per word
	kill -TERM $pids 2>/dev/null || true
	while [ -n "$(processes_in_root)" ] && [ "$tries" -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
	pids=$(processes_in_root)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

remove_root() { # unmount everything at or below the root, then delete it; never with a mount below it
	[ -n "$root" ] && [ -d "$root" ] || return 0
	stop_processes_in_root
	if ! unmount_below "$root" --self; then
		echo "fresh-check: NOT deleting $root: still mounted below it:" >&2
		mounts_at_or_below "$root" | sed 's/^/    /' >&2
		return 1
	fi
	if [ -n "$(mounts_at_or_below "$root")" ]; then # checked twice: rm -rf must never reach a mount
		echo "fresh-check: NOT deleting $root: something is mounted below it" >&2
		return 1
	fi
	case "$root" in "$FRESH_PARENT"/fastpath-fresh.*) ;; *) echo "fresh-check: NOT deleting unexpected path $root" >&2; return 1 ;; esac
	rm -rf --one-file-system -- "$root" || { echo "fresh-check: could not delete all of $root" >&2; return 1; }
	root=
}

in_root() { # in_root COMMAND: run COMMAND in the clone, in the root, with a new login's environment
	chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/sh \
		TERM="${TERM:-dumb}" ${LANG:+LANG="$LANG"} \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$TOOLCHAIN/usr/bin \
		/bin/sh -c "cd /root/fastpath && $1"
}

status=0
interrupted=0
# shellcheck disable=SC2317 # run by the EXIT trap
on_exit() {
	local rc=$?
	set +e
	trap '' INT TERM HUP # a second Ctrl-C must not stop the clean-up halfway
	[ "$interrupted" = 1 ] && rc=130
	[ -n "$phase" ] && end "$([ "$interrupted" = 1 ] && echo interrupted || echo "FAILED (exit $rc)")"
	if [ -n "$root" ]; then
		begin "clean-up: unmount and delete the root"
		if remove_root; then end; else end "FAILED: the root is left in place"; [ "$rc" != 0 ] || rc=2; fi
	fi
	printf '\n== fresh-check summary (%s)\n' "${commit:-no commit}"
	printf '%s\n' "${SUMMARY[@]}" "total|$(since "$started")|" |
		awk -F '|' '{ n[NR] = $1; t[NR] = $2; r[NR] = $3; if (length($1) > w) w = length($1) }
			END { for (i = 1; i <= NR; i++) printf "  %-" w "s %8s s  %s\n", n[i], t[i], r[i] }'
	case "$rc" in
	0) echo "fresh-check: passed" ;;
	1) echo "fresh-check: FAILED (logs: $LOG_DIR/)" ;;
	130) echo "fresh-check: interrupted" ;;
	*) echo "fresh-check: could not run the check (exit $rc)" ;;
	esac
	exit "$rc"
}
started=$(now)
trap on_exit EXIT
trap 'interrupted=1; exit 130' INT TERM HUP

# ---- host preparation ----------------------------------------------------------
begin "host: toolchain, debootstrap, commit"
[ -x "$TOOLCHAIN/usr/bin/swift" ] || die "no Swift toolchain at $TOOLCHAIN (its usr/bin/swift)"
if ! command -v debootstrap >/dev/null 2>&1; then
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi
commit=$(git -C "$REPO" rev-parse HEAD)
echo "checking commit $(git -C "$REPO" log -1 --format='%h %s' "$commit")"
dirty=$(git -C "$REPO" status --porcelain --untracked-files=no | wc -l)
[ "$dirty" = 0 ] || echo "note: $dirty files changed in the work tree are not committed, so not checked"
mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$CACHE_DIR" "$LOG_DIR" "$FRESH_PARENT"
FRESH_PARENT=$(realpath "$FRESH_PARENT")
free_kb=$(df -Pk "$FRESH_PARENT" | awk 'NR == 2 { print $4 }')
[ "$free_kb" -ge $((6 * 1024 * 1024)) ] || die "less than 6 GB free in $FRESH_PARENT (FRESH_PARENT=DIR to use another disk)"
key=$(printf '%s %s %s\n' "$SUITE" "$mirror" "${PREREQUISITES[*]}" | sha256sum | cut -c1-8)
base_tar=$CACHE_DIR/base-$SUITE-$(date +%Y%m%d)-$key.tar
run_id=$(date +%Y%m%d-%H%M%S)
end

# ---- a fresh root ----------------------------------------------------------------
mount_base() { # what apt and dpkg need in the root
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
	mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
}

new_root() { # new_root LABEL: a fresh Debian 12 root with the prerequisites, the clone and the mounts
	local label=$1
	root=$(realpath "$(mktemp -d "$FRESH_PARENT/fastpath-fresh.XXXXXX")")
	chmod 755 "$root"
	# a mount point of its own: `ip netns exec` in the root makes "/" a
	# slave mount, which fails unless "/" is a mount point
	mount --bind "$root" "$root"

	if [ "$use_cache" = 1 ] && [ -f "$base_tar" ]; then
		begin "$label: unpack today's base root ($(basename "$base_tar"))"
		tar -C "$root" --numeric-owner -xpf "$base_tar"
		end
	else
		begin "$label: debootstrap --variant=minbase $SUITE"
		if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$LOG_DIR/$run_id-debootstrap.log" 2>&1; then
			tail -n 20 "$LOG_DIR/$run_id-debootstrap.log" >&2
			die "debootstrap failed (log: $LOG_DIR/$run_id-debootstrap.log)"
		fi
		unmount_below "$root" || die "debootstrap left mounts below $root"
		# debootstrap's sources.list names only "$SUITE main": the host's sources instead
		rm -f "$root/etc/apt/sources.list"
		cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
		end

		begin "$label: prerequisites (make, git, gcc, Swift's)"
		cp /etc/resolv.conf "$root/etc/resolv.conf"
		mount_base
		if ! chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
			sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends ${PREREQUISITES[*]}" \
			>"$LOG_DIR/$run_id-prerequisites.log" 2>&1; then
			tail -n 20 "$LOG_DIR/$run_id-prerequisites.log" >&2
			die "installing the prerequisites failed (log: $LOG_DIR/$run_id-prerequisites.log)"
		fi
		# a new machine's apt has no package lists cached for `make` to rely on
		chroot "$root" sh -c 'apt-get clean && rm -rf /var/lib/apt/lists/*'
		unmount_below "$root" || die "could not unmount below $root"
		end

		if [ "$use_cache" = 1 ]; then
			begin "$label: cache the base root"
			rm -f "$CACHE_DIR"/base-*.tar "$CACHE_DIR"/base-*.tar.tmp
			tar -C "$root" --numeric-owner -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
			end "ok ($(du -h "$base_tar" | cut -f1))"
		fi
	fi

	begin "$label: clone HEAD, check the root is fresh"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	git clone -q --no-hardlinks "$REPO" "$root/root/fastpath"
	git -C "$root/root/fastpath" checkout -q --detach "$commit"
	# the project's packages (DEB_PACKAGES, read from the clone's Makefile) that
	# the root has before `make`: only the prerequisites and Debian's essentials
	local project installed present unexpected p line
	# shellcheck disable=SC2016 # make and dpkg-query expand these
	project=$(make -s --no-print-directory -C "$root/root/fastpath" \
		--eval 'fresh-check-packages: ; @echo $(DEB_PACKAGES)' fresh-check-packages)
	# shellcheck disable=SC2016
	installed=$(chroot "$root" dpkg-query -W -f '${db:Status-Abbrev}|${Package}|${Essential}|${Priority}\n' |
		awk -F '|' '$1 ~ /^ii/')
	present='' unexpected=
	for p in $project; do
		line=$(awk -F '|' -v p="$p" '$2 == p' <<<"$installed")
		[ -n "$line" ] || continue
		present="$present $p"
		case " ${PREREQUISITES[*]} " in *" $p "*) continue ;; esac
		awk -F '|' '$3 == "yes" || $4 == "required" { found = 1 } END { exit !found }' <<<"$line" ||
			unexpected="$unexpected $p"
	done
	echo "the project's packages already there:${present:- none} (prerequisites or essential)"
	[ -z "$unexpected" ] || die "the root is not fresh: it already has$unexpected"
	echo "clone of $commit in /root/fastpath; $(wc -l <<<"$installed") packages installed"
	end

	begin "$label: mount /proc, /sys, /dev, bpffs, $TOOLCHAIN (ro)"
	mount_base
	# bpffs comes with /sys (mounted on the host at the start)
	mountpoint -q "$root/sys/fs/bpf" || mount --bind /sys/fs/bpf "$root/sys/fs/bpf"
	mkdir -p "$root$TOOLCHAIN"
	mount --bind "$TOOLCHAIN" "$root$TOOLCHAIN"
	mount -o remount,bind,ro "$root$TOOLCHAIN"
	local m
	for m in /proc /sys /sys/fs/bpf /dev "$TOOLCHAIN"; do
		findmnt -n -o TARGET,FSTYPE,OPTIONS --mountpoint "$root$m" | tail -n 1 |
			awk -v d="$root" '{ sub(/,.*/, "", $3); printf "    %s %s %s\n", substr($1, length(d) + 1), $2, $3 }'
	done
	end
}

run_in_root() { # run_in_root COMMAND: one of the README's commands; its result joins the status
	local cmd=$1 log rc=0
	log=$LOG_DIR/$run_id-$(printf '%s' "$cmd" | tr -c 'A-Za-z0-9' '-' | cut -c1-40).log
	begin "$cmd"
	# in the background, so that a signal to this script (Ctrl-C, kill) is
	# handled at once (the clean-up stops whatever runs in the root); waiting
	# for the command, not for tee, which a process it left behind may keep open
	(
		trap - INT QUIT
		in_root "$cmd"
	) > >(tee "$log") 2>&1 &
	wait $! || rc=$?
	if [ "$rc" = 0 ]; then end; else end "FAILED (exit $rc; log: $log)"; status=1; fi
}

if [ "$separate" = 1 ]; then
	for cmd in "${COMMANDS[@]}"; do
		new_root "root for '$cmd'"
		run_in_root "$cmd"
		begin "clean-up: unmount and delete the root"
		remove_root || { end "FAILED: the root is left in place"; exit 2; }
		end
	done
else
	new_root "root"
	for cmd in "${COMMANDS[@]}"; do run_in_root "$cmd"; done
fi
exit "$status"
