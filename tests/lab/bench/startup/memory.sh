# memory: bench/run's memory benchmark in the lab host: a 128 MiB guest
# that spins a while (spin.elf), BENCH_MEM_RUNS runs of each variant, the
# VMM's smaps sampled while it runs.
# lab-timeout: 900
. /lab/files/lib
for v in wisp wisp-thp-off wisp-noconsole wisp-tiny qemu; do
	bench_run mem -n "$BENCH_MEM_RUNS" -g 128 -r mem-$v.tsv -s mem-$v-summary.tsv $F/memory.spec $v
	bench_data mem-$v.tsv mem-$v-summary.tsv
done
pass
