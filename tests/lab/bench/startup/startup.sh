# startup: bench/run's start-up benchmark in the lab host, for a machine
# without a usable /dev/kvm: the minimal PVH guest under every variant of
# startup.spec (wisp, QEMU microvm, the KVM floors), BENCH_RUNS times each,
# in alternation (the order rotates every round), after 3 warm-up rounds.
# Also the lab host's facts for the report. A benchmark, not a test:
# bench/run runs it, `make test` never does. Needs tests/lab/run --with-qemu.
# lab-timeout: 1800
. /lab/files/lib
q=/usr/bin/qemu-system-x86_64
[ -x $q ] || fail "no QEMU in the lab host (tests/lab/run --with-qemu)"
{
	echo "kernel	$(uname -sr)"
	echo "cpus	$(nproc)"
	echo "memory	$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "cpu	$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "thp	$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled)"
	echo "qemu	$($q --version | head -n 1)"
} >facts.tsv
bench_run time -n "$BENCH_RUNS" -w 3 -r startup.tsv -s startup-summary.tsv $F/startup.spec
bench_data facts.tsv startup.tsv startup-summary.tsv
pass
