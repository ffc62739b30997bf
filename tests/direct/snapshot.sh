# shellcheck shell=bash disable=SC2034,SC2154
# Snapshot and restore of a test guest: sourced by tests/direct/run (its
# helpers pass, fail and $tmp, $case, $status) when wisp has --restore.
# tests/guests/snapshot_counter.c counts in its RAM and prints each
# step; the VM is paused and snapshotted through the API
# (tests/direct/api_call.c), killed, and restored in a new wisp with
# resume=on: the count goes on from where it stopped, without a boot.

snap_api() { "$guests/host/api_call" "$tmp/snap-api.sock" "$@" 2>/dev/null; }
# the last COUNT in a file (empty if none)
last_count() { sed -n 's/^COUNT \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
first_count() { sed -n 's/^COUNT \([0-9]*\).*/\1/p' "$1" | head -n 1; }
# wait_count FILE N: until the file shows COUNT N or later (30 s)
wait_count() {
	for _ in $(seq 300); do
		[ "$(last_count "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

case=snapshot-restore-counter
rm -rf "$tmp/snap" "$tmp/snap-api.sock"
timeout 60 "$wisp" --kernel "$guests/snapshot_counter.elf" --memory size=64M --serial tty \
	--api-socket "path=$tmp/snap-api.sock" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
why=
if ! wait_count "$tmp/out" 3; then
	why="the guest did not count to 3"
elif [ "$(snap_api PUT /api/v1/vm.pause)" != 204 ]; then
	why="vm.pause did not answer 204"
else
	paused=$(last_count "$tmp/out")
	got=$(snap_api PUT /api/v1/vm.snapshot "{\"destination_url\":\"file://$tmp/snap\"}")
	[ "$got" = 204 ] || why="vm.snapshot answered '$got'"
	sleep 0.3
	[ "$(last_count "$tmp/out")" = "$paused" ] || why="the guest counted on while paused"
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -n "$why" ]; then
	fail "$why"
else
	# the same snapshot twice: pages on first touch, then prefault=on
	for variant in "" -prefault; do
		case=snapshot-restore-counter$variant
		opts=resume=on${variant:+,prefault=on}
		timeout 60 "$wisp" --restore "source_url=file://$tmp/snap,$opts" \
			</dev/null >"$tmp/out" 2>"$tmp/err" &
		pid=$!
		wait_count "$tmp/out" $((paused + 3))
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		first=$(first_count "$tmp/out")
		if grep -q 'counting from' "$tmp/out"; then
			fail "the restored guest booted again"
		elif [ "$first" != $((paused + 1)) ]; then
			fail "paused at COUNT $paused, the restored guest's first is '${first:-none}'"
		elif [ "$(last_count "$tmp/out")" -lt $((paused + 3)) ]; then
			fail "the restored guest stopped counting at $(last_count "$tmp/out")"
		else
			echo "    | paused at COUNT $paused, restored ($opts) from $first to $(last_count "$tmp/out")"
			pass
		fi
	done
fi
