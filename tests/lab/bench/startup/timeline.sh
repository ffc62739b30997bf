# timeline: wisp's own boot timeline (--timeline) in the lab host,
# BENCH_TIMELINE_RUNS runs of the minimal guest, for bench/run.
# lab-timeout: 600
. /lab/files/lib
i=0
while [ $i -lt "$BENCH_TIMELINE_RUNS" ]; do
	$WISP --kernel $F/minimal.elf --memory size=64M --serial file=tl.serial --timeline 2>>timeline.txt ||
		fail "wisp --timeline: exit status $?"
	[ "$(cat tl.serial)" = "!" ] || fail "wisp --timeline: wrong guest output"
	i=$((i + 1))
done
bench_data timeline.txt
pass
