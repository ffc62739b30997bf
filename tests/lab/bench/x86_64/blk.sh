# blk: virtio-blk throughput, wisp against QEMU, in one lab run (a
# benchmark, not a test: bench/lab/run runs it, `make test` never does).
# One raw image in the lab host's tmpfs, written with data so that reads
# hit real pages; the same guest (kernel, initramfs, command line, 1 vCPU,
# 256 MiB) boots under wisp (--disk) and under QEMU microvm (virtio-blk-pci,
# the closest match to wisp's virtio-pci disk) and runs bench/lab/blkbench.c
# on /dev/vda. Needs `tests/lab/run --with-qemu`. Prints, per VMM and result:
#   [blk] RESULT wisp randread4k_qd1_iops=N
#   [blk] RESULT qemu randread4k_qd1_iops=N  ...
# and the exact commands as "[blk] COMMAND wisp|qemu ...".
# lab-timeout: 120
# lab-boots: 2
IMG_MB=256
SECS=5
QEMU_BIN=/usr/bin/qemu-system-x86_64
[ -x "$QEMU_BIN" ] || fail "no QEMU in the lab host (tests/lab/run --with-qemu)"

# 1 MiB of random data, repeated: every block is allocated in tmpfs
head -c 1048576 /dev/urandom >chunk || fail "no random data"
i=0
while [ $i -lt $IMG_MB ]; do
	cat chunk
	i=$((i + 1))
done >disk.img
rm -f chunk
[ "$(stat -c %s disk.img)" = $((IMG_MB * 1048576)) ] || fail "disk.img is not ${IMG_MB} MiB"
note "disk.img: ${IMG_MB} MiB in $(df -P . | awk 'NR == 2 { print $1 }')"

GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk wisp_bench_secs=$SECS"

# results LOG VMM: the guest's BENCH lines, as RESULT lines
results() {
	grep -q '^BENCH blk done' "$1" ||
		fail "$2: no 'BENCH blk done' ($(grep -m1 -E '^BENCH blk error|^GUEST blkbench_rc' "$1"))"
	sed -n 's/^BENCH blk \([a-z0-9_]*=[0-9]*\)$/\1/p' "$1" | while read -r kv; do
		note "RESULT $2 $kv"
	done
}

# --- wisp
note "COMMAND wisp wisp --kernel vmlinuz --initramfs initrd.gz --cmdline '$(guest_cmdline blkbench)' --serial tty --console off --memory size=256M --disk path=disk.img"
boot_guest "$LAB_BOOT_TIMEOUT" wisp.log blkbench --memory size=256M --disk path=disk.img
expect_guest_ok wisp.log
results wisp.log wisp
expect_exit 0

# --- QEMU: microvm with PCIe, the disk on virtio-blk-pci (as wisp's is a
# virtio-pci device), default cache (writeback: the host page cache, as
# wisp's plain preadv/pwritev), thread-pool AIO
qargs="-accel kvm -cpu host,-arch-capabilities -M microvm,pcie=on,rtc=on"
qargs="$qargs -nodefaults -no-user-config -display none -no-reboot -serial stdio"
qargs="$qargs -smp 1 -m 256M"
qdisk="-drive file=disk.img,format=raw,if=none,id=d0,cache=writeback,aio=threads -device virtio-blk-pci,drive=d0"
note "COMMAND qemu qemu-system-x86_64 $qargs -kernel vmlinuz -initrd initrd.gz -append '$(guest_cmdline blkbench)' $qdisk"
WISP=$QEMU_BIN
# shellcheck disable=SC2086
run_wisp "$LAB_BOOT_TIMEOUT" qemu.log -- $qargs \
	-kernel "$GUEST_BZIMAGE" -initrd "$GUEST_INITRD" -append "$(guest_cmdline blkbench)" $qdisk
expect_guest_ok qemu.log
results qemu.log qemu
expect_exit 0
pass
