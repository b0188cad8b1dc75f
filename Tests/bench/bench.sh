#!/bin/sh
# bench.sh - `make bench`: builds the namespace lab, runs the data-path
# benchmark (build/bench/fastpath-bench) in it, and removes the lab whatever
# happens (deleting the namespaces also removes every program the bench
# attached and the nftables ruleset it loaded; the bench pins nothing).
#
#   sh Tests/bench/bench.sh [fastpath-bench options...]
#
# Markdown on stdout, build/bench/results.json. Run as root from the
# repository root after `make bpf` and the bench binary are built.
# Environment: BENCH_BIN (default build/bench/fastpath-bench),
# BENCH_OUT (default build/bench), BPF_DIR (default build/bpf).
set -eu

here=$(dirname "$0")
bin=${BENCH_BIN:-build/bench/fastpath-bench}
out=${BENCH_OUT:-build/bench}
bpf_dir=${BPF_DIR:-build/bpf}
lab=fpb$$

cleanup() {
	sh "$here/../lab/lab.sh" down "$lab"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_router() { ip netns exec "$lab-r" "$@"; }

prepare_lab() {
	sh "$here/../lab/lab.sh" up "$lab"
	# The generator's frames arrive at lan0 through veth's ndo_xdp_xmit,
	# which needs NAPI on lan0: GRO on (or an XDP program) there, else every
	# frame is dropped when r runs no XDP program (kernel and tc modes).
	in_router ethtool -K lan0 gro on >/dev/null
	in_router ethtool -K wan0 gro on >/dev/null
}

run_datapath() {
	mkdir -p "$out"
	"$bin" --prefix "$lab" --bpf-dir "$bpf_dir" --nft "$here/fw4.nft" \
		--json "$out/results.json" "$@"
}

# MANAGER: once the daemon exists, measure here (binary size per arch,
# RSS idle and with 100k routes / 10k neighbours in "$lab-r", startup to
# attached, idle wakeups per second, route change and new-gateway reaction
# times), print a "## Manager" markdown section, and merge the figures into
# results.json, e.g.
#   jq --slurpfile m "$out/manager.json" '.manager = $m[0]' "$out/results.json" > tmp && mv tmp "$out/results.json"
run_manager() {
	printf '\n## Manager\n\nnot measured yet: the daemon does not exist (issue 6 lists the rows).\n'
}

[ -x "$bin" ] || { echo "bench: $bin missing (make bench builds it)" >&2; exit 2; }
prepare_lab
status=0
run_datapath "$@" || status=$?
run_manager
exit "$status"
