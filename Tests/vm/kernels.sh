#!/bin/sh
# kernels.sh - Debian's packaged kernels for the VM test matrix (make test-kernels).
#
#   kernels.sh            fetch and unpack the kernels (once: cached), then print
#                         one line per kernel: "VERSION PATH-TO-VMLINUZ"
#   kernels.sh --refresh  look the current packages up again (a newer ABI is
#                         downloaded; an unchanged one is not)
#   kernels.sh clean      remove build/vm/kernels and build/vm/apt
#
# The kernels: the newest linux-image-6.1.0-NN-amd64 of bookworm (what
# bookworm's linux-image-amd64 depends on) and the newest
# linux-image-6.12.NN+deb12-amd64 of bookworm-backports (what the backports
# linux-image-amd64 depends on).
#
# The lookup and the download use a private apt configuration under
# build/vm/apt (its own sources, lists and cache): the machine's apt sources
# and lists are not changed. Its sources are the machine's own Debian
# archive URIs (from /etc/apt/sources.list{,.d}) for bookworm,
# bookworm-security, and bookworm-backports on the same archive as
# bookworm; FASTPATH_VM_MIRROR=URI overrides the archive for bookworm and
# bookworm-backports.
#
# Each package is unpacked into build/vm/kernels/VERSION/root (boot/vmlinuz-VERSION
# and lib/modules/VERSION, with depmod run there). virtme-ng finds the modules
# beside the image (it walks up from the image to a lib/modules directory) and
# links them to /lib/modules/VERSION inside the guest, so nothing is put
# under the host's /lib/modules.
#
# The cache: build/vm/kernels/list names the kernels of the last lookup; while
# every one of them is unpacked (about 260 MB each), nothing is looked up or
# downloaded. A .deb is deleted once unpacked.
#
# Progress goes to stderr; only the kernel list goes to stdout.
set -eu

cd "$(dirname "$0")/../.."
root=$(pwd)
vm=$root/build/vm
kdir=$vm/kernels
list=$kdir/list

say() { echo "kernels.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (the package tools and, later, the guests need it)"

# ---- the cache -------------------------------------------------------------

# True when build/vm/kernels/list names kernels that are all unpacked.
cache_complete() {
	[ -s "$list" ] || return 1
	while read -r ver image; do
		[ -n "$ver" ] || continue
		[ -f "$image" ] && [ -f "$kdir/$ver/root/lib/modules/$ver/modules.dep" ] || return 1
	done < "$list"
}

print_list() { cat "$list"; }

# ---- host tools ------------------------------------------------------------

need_tools() {
	missing=
	command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian"
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	command -v depmod >/dev/null || missing="$missing kmod"
	if [ -n "$missing" ]; then
		say "installing:$missing"
		apt-get update -q >&2
		# shellcheck disable=SC2086 # one package a word
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
	fi
}

# ---- the private apt configuration ------------------------------------------

apt_dir=$vm/apt
APT_OPTS="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=$apt_dir/sources.list.d
 -o Dir::State::Lists=$apt_dir/lists -o Dir::Cache=$apt_dir/cache -o Dir::Cache::archives=$apt_dir/cache/archives
 -o APT::Sandbox::User=root -o Acquire::Languages=none -o APT::Get::List-Cleanup=0"

# Every "URI SUITE" pair of the machine's Debian sources (one-line and deb822
# formats), for type deb.
host_sources() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\)[[:space:]]\+\([^[:space:]]\+\).*/\2 \3/p' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no")
					for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j]
				types = ""; enabled = ""; nu = 0; ns = 0
			}
			/^[[:space:]]*$/ { flush(); next }
			/^#/ { next }
			tolower($1) == "types:"   { types = ""; for (i = 2; i <= NF; i++) types = types " " $i; types = types " " }
			tolower($1) == "enabled:" { enabled = tolower($2) }
			tolower($1) == "uris:"    { nu = 0; for (i = 2; i <= NF; i++) u[++nu] = $i }
			tolower($1) == "suites:"  { ns = 0; for (i = 2; i <= NF; i++) s[++ns] = $i }
			END { flush() }
		' "$f"
	done
}

write_private_sources() {
	pairs=$(host_sources)
	archive=${FASTPATH_VM_MIRROR:-$(echo "$pairs" | awk '$2 == "bookworm" { print $1; exit }')}
	security=$(echo "$pairs" | awk '$2 == "bookworm-security" { print $1; exit }')
	[ -n "$archive" ] || die "no bookworm source in /etc/apt/sources.list{,.d}: set FASTPATH_VM_MIRROR to a Debian archive URI"
	mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -f "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"
	{
		echo "# written by Tests/vm/kernels.sh: used only for its own lookups and downloads"
		echo "deb [signed-by=$keyring] $archive bookworm main"
		echo "deb [signed-by=$keyring] $archive bookworm-backports main"
		[ -z "$security" ] || echo "deb [signed-by=$keyring] $security bookworm-security main"
	} > "$apt_dir/sources.list"
}

# shellcheck disable=SC2086 # APT_OPTS: one option a word
papt_get() { apt-get $APT_OPTS "$@"; }
# shellcheck disable=SC2086
papt_cache() { apt-cache $APT_OPTS "$@"; }

# The kernel package a linux-image-amd64 version depends on.
image_of() {
	papt_cache depends "linux-image-amd64=$1" 2>/dev/null |
		sed -n 's/^[[:space:]]*Depends: \(linux-image-[0-9][^[:space:]]*-amd64\)$/\1/p' | head -n 1
}

# The newest linux-image-amd64 version matching the extended regex $1.
newest_meta() {
	papt_cache madison linux-image-amd64 | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		grep -E "$1" | sort -V | tail -n 1
}

lookup() {
	write_private_sources
	say "updating the private package lists (build/vm/apt)"
	papt_get update -q >&2 || die "apt-get update (private lists) failed"
	meta61=$(newest_meta '^6\.1\.[0-9]+-[0-9]+$')
	meta612=$(newest_meta '^6\.12\.[0-9.]+-[0-9]+~bpo12\+[0-9]+$')
	[ -n "$meta61" ] || die "no 6.1 linux-image-amd64 in bookworm"
	[ -n "$meta612" ] || die "no 6.12 linux-image-amd64 in bookworm-backports"
	pkg61=$(image_of "$meta61")
	pkg612=$(image_of "$meta612")
	echo "$pkg61" | grep -Eq '^linux-image-6\.1\.0-[0-9]+-amd64$' || die "unexpected 6.1 image package '$pkg61'"
	echo "$pkg612" | grep -Eq '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' || die "unexpected 6.12 image package '$pkg612'"
	say "bookworm: linux-image-amd64 $meta61 -> $pkg61"
	say "bookworm-backports: linux-image-amd64 $meta612 -> $pkg612"
	echo "$pkg61 $pkg612"
}

# The newest downloaded .deb of package $1, if any.
newest_deb() {
	for f in "$kdir/debs/$1_"*.deb; do [ -f "$f" ] && echo "$f"; done | sort -V | tail -n 1
}

# Downloads (unless cached) and unpacks package $1; prints "VERSION IMAGE".
unpack() {
	pkg=$1
	ver=${pkg#linux-image-}
	dest=$kdir/$ver/root
	image=$dest/boot/vmlinuz-$ver
	if [ -f "$image" ] && [ -f "$dest/lib/modules/$ver/modules.dep" ]; then
		say "$ver: already unpacked"
		echo "$ver $image"
		return
	fi
	mkdir -p "$kdir/debs"
	deb=$(newest_deb "$pkg")
	if [ -z "$deb" ]; then
		say "$ver: downloading $pkg"
		(cd "$kdir/debs" && papt_get download -q "$pkg" >&2) || die "apt-get download $pkg failed"
		deb=$(newest_deb "$pkg")
		[ -n "$deb" ] || die "apt-get download $pkg left no .deb"
	fi
	say "$ver: unpacking $(basename "$deb")"
	rm -rf "${kdir:?}/${ver:?}"
	mkdir -p "$dest.tmp"
	dpkg-deb -x "$deb" "$dest.tmp"
	# usr-merged packages keep the modules under usr/lib/modules
	if [ ! -d "$dest.tmp/lib/modules/$ver" ] && [ -d "$dest.tmp/usr/lib/modules/$ver" ]; then
		mkdir -p "$dest.tmp/lib/modules"
		mv "$dest.tmp/usr/lib/modules/$ver" "$dest.tmp/lib/modules/$ver"
	fi
	[ -f "$dest.tmp/boot/vmlinuz-$ver" ] || die "$deb has no boot/vmlinuz-$ver"
	[ -d "$dest.tmp/lib/modules/$ver" ] || die "$deb has no lib/modules/$ver"
	depmod -a -b "$dest.tmp" "$ver" || die "depmod for $ver failed"
	mv "$dest.tmp" "$dest"
	# the unpacked tree is the cache; the .deb would only double it
	rm -f "$deb"
	echo "$ver $image"
}

# ---- main -----------------------------------------------------------------

case "${1:-}" in
clean)
	rm -rf "$kdir" "$apt_dir"
	exit 0 ;;
--refresh) refresh=1 ;;
"") refresh=0 ;;
*) echo "usage: $0 [--refresh|clean]" >&2; exit 2 ;;
esac

if [ "$refresh" -eq 0 ] && cache_complete; then
	say "using the cached kernels (build/vm/kernels/list; --refresh to look again)"
	print_list
	exit 0
fi

need_tools
mkdir -p "$kdir"
pkgs=$(lookup)
new=$kdir/list.new
: > "$new"
for pkg in $pkgs; do
	unpack "$pkg" >> "$new"
done
mv "$new" "$list"
print_list
