# rate: bench/run's creation rate in the lab host: each variant started
# and stopped back to back for BENCH_RATE_SECONDS, once bound to CPU 0 and
# as two loops on the lab host's two vCPUs.
# lab-timeout: 900
. /lab/files/lib
for v in wisp wisp-tiny floor-exec floor-cpuid qemu; do
	note "runner rate -t $BENCH_RATE_SECONDS -c 0 startup.spec $v; runner rate -t $BENCH_RATE_SECONDS -j 2 startup.spec $v"
	$F/runner rate -t "$BENCH_RATE_SECONDS" -c 0 $F/startup.spec $v >>rate-1.tsv ||
		fail "runner rate $v (1 CPU) failed"
	$F/runner rate -t "$BENCH_RATE_SECONDS" -j 2 $F/startup.spec $v >>rate-2.tsv ||
		fail "runner rate $v (2 loops) failed"
done
bench_data rate-1.tsv rate-2.tsv
pass
