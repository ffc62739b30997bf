# vhost-blk: vhost-user-blk throughput (a benchmark, not a test: bench/lab/run
# runs it, `make test` never does; alone:
#   tests/lab/run --arch x86_64 --wisp build/wisp --with-qemu --memory 2048 \
#       --case-dir tests/lab/bench/x86_64 --case vhost-blk)
# One 256 MiB raw image in the lab host's tmpfs, filled with data; the same
# guest (1 vCPU, 256 MiB) runs bench/lab/blkbench.c on /dev/vda three times:
#   wisp       wisp's own virtio-blk on the image (--disk path=)
#   wispvhost  wisp's vhost-user-blk, qemu-storage-daemon exporting the image
#   qemuvhost  QEMU microvm's vhost-user-blk-pci on the same export
# Prints "[vhost-blk] RESULT VMM KEY=VALUE" and "[vhost-blk] COMMAND ...".
# lab-timeout: 150
# lab-boots: 3
IMG_MB=256
SECS=5
QEMU_BIN=/usr/bin/qemu-system-x86_64
[ -x "$QEMU_BIN" ] || fail "no QEMU in the lab host (tests/lab/run --with-qemu)"
command -v qemu-storage-daemon >/dev/null || fail "no qemu-storage-daemon in the lab host"

head -c 1048576 /dev/urandom >chunk || fail "no random data"
i=0
while [ $i -lt $IMG_MB ]; do
	cat chunk
	i=$((i + 1))
done >disk.img
rm -f chunk
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtio_blk wisp_bench_secs=$SECS"

results() { # LOG VMM
	grep -q '^BENCH blk done' "$1" ||
		fail "$2: no 'BENCH blk done' ($(grep -m1 -E '^BENCH blk error|^GUEST blkbench_rc' "$1"))"
	sed -n 's/^BENCH blk \([a-z0-9_]*=[0-9]*\)$/\1/p' "$1" | while read -r kv; do
		note "RESULT $2 $kv"
	done
}

# --- wisp's own virtio-blk (before qemu-storage-daemon takes the image)
note "COMMAND wisp wisp ... --memory size=256M --disk path=disk.img"
boot_guest "$LAB_BOOT_TIMEOUT" wisp.log blkbench --memory size=256M --disk path=disk.img
expect_guest_ok wisp.log
results wisp.log wisp

# --- the same image exported by qemu-storage-daemon
setsid qemu-storage-daemon --blockdev driver=file,filename=disk.img,node-name=disk,cache.direct=off \
	--export type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=qsd.sock,writable=on \
	</dev/null >qsd.log 2>&1 &
echo $! >>"${LAB_CASE_DIR:-.}/sessions"
for _ in $(seq 100); do [ -S qsd.sock ] && break; sleep 0.1; done
[ -S qsd.sock ] || fail "qemu-storage-daemon did not start: $(head -c 300 qsd.log)"

note "COMMAND wispvhost wisp ... --memory size=256M,shared=on --disk vhost_user=on,socket=qsd.sock"
boot_guest "$LAB_BOOT_TIMEOUT" wispvhost.log blkbench --memory size=256M,shared=on \
	--disk vhost_user=on,socket=qsd.sock
expect_guest_ok wispvhost.log
results wispvhost.log wispvhost

qargs="-accel kvm -cpu host,-arch-capabilities -M microvm,pcie=on,rtc=on,memory-backend=mem"
qargs="$qargs -object memory-backend-memfd,id=mem,size=256M,share=on"
qargs="$qargs -nodefaults -no-user-config -display none -no-reboot -serial stdio -smp 1 -m 256M"
qdisk="-chardev socket,id=c0,path=qsd.sock -device vhost-user-blk-pci,chardev=c0"
note "COMMAND qemuvhost qemu-system-x86_64 $qargs ... $qdisk"
WISP=$QEMU_BIN
# shellcheck disable=SC2086
run_wisp "$LAB_BOOT_TIMEOUT" qemuvhost.log -- $qargs \
	-kernel "$GUEST_BZIMAGE" -initrd "$GUEST_INITRD" -append "$(guest_cmdline blkbench)" $qdisk
expect_guest_ok qemuvhost.log
results qemuvhost.log qemuvhost
pass
