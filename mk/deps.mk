# ---- set-up: Debian packages, bpffs -------------------------------------------
# The Debian packages the build, the tests, the demo and the bench use; `make
# deps` installs the missing ones (as root), so a fresh machine needs nothing
# else but make and the Swift toolchain in /opt/swift (its clang builds the BPF
# objects). procps: sysctl; netbase: /etc/protocols, for the protocol names in
# the nftables rulesets; busybox-static: the router's shell, for the package
# scripts' tests (static: virtme-ng refuses a dynamic busybox it finds, and
# the VM lab stops booting) (`make fresh-check` finds what a minimal Debian lacks,
# and reads this list).
DEB_PACKAGES := gcc libc6-dev libbpf-dev bpftool libnl-3-dev libnl-route-3-dev libnl-genl-3-dev \
                libnl-nf-3-dev libelf-dev zlib1g-dev pkg-config iproute2 nftables conntrack \
                iputils-ping ethtool tcpdump iperf3 jq util-linux procps netbase python3 shellcheck \
                busybox-static

# `make demo`, `make test`, `make bench` and `make test-kernels` are meant as
# the first command on a fresh machine: each depends on `deps`, then starts a
# new make for the rest (run-demo, run-test, ...), which reads the Makefile
# again now that the packages are there. That also keeps `make -j` from
# building before `deps`.
.PHONY: deps bpffs
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

bpffs:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
