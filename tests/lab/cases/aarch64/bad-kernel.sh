# bad-kernel: kernel files that are not an arm64 Image are refused before the
# guest starts, with one line saying what they are, and exit status 2: an x86
# bzImage (its "HdrS" header), an x86_64 PVH ELF, an Image with a bad magic, a
# gzip-compressed Image, a file too short to be one; and an initramfs that
# does not fit in RAM.
# lab-timeout: 60
img=$GUEST_DIR/vmlinuz
# an x86 bzImage: boot sector signature and "HdrS" at 0x202
dd if=/dev/zero of=bzimage bs=4096 count=4 2>/dev/null
printf '\125\252' | dd of=bzimage bs=1 seek=510 conv=notrunc 2>/dev/null
printf 'HdrS' | dd of=bzimage bs=1 seek=514 conv=notrunc 2>/dev/null
# an x86_64 ELF: e_ident, then e_machine 62 at offset 18
dd if=/dev/zero of=pvh.elf bs=4096 count=4 2>/dev/null
printf '\177ELF\002\001\001' | dd of=pvh.elf bs=1 conv=notrunc 2>/dev/null
printf '\076\000' | dd of=pvh.elf bs=1 seek=18 conv=notrunc 2>/dev/null
# the real Image with its magic ("ARM\x64" at 56) broken
dd if="$img" of=badmagic bs=1M count=4 2>/dev/null
printf 'XXXX' | dd of=badmagic bs=1 seek=56 conv=notrunc 2>/dev/null
dd if="$img" bs=1M count=4 2>/dev/null | gzip -1 >image.gz
printf 'ARM' >short

n=0
try() { # NAME EXPECTED-REGEX WISP-ARGS...
	_name=$1 _want=$2
	shift 2
	n=$((n + 1))
	run_wisp 20 "bad$n.log" -- "$@" --serial null --console off
	[ "$WISP_RC" = 2 ] || fail "$_name: wisp exited $WISP_RC, want 2"
	lines=$(grep -c . "bad$n.log.err")
	[ "$lines" = 1 ] || fail "$_name: $lines lines on stderr, want one: $(head -c 300 "bad$n.log.err")"
	expect_line "bad$n.log.err" "$_want" "$_name: message '$(cat "bad$n.log.err")' does not match '$_want'"
}
try bzImage "^wisp: --kernel: 'bzimage' is an x86 bzImage, not an arm64 Image\$" --kernel bzimage --memory size=128M
try "PVH ELF" "^wisp: --kernel: 'pvh.elf' is an x86 ELF kernel \\(PVH\\), not an arm64 Image\$" --kernel pvh.elf --memory size=128M
try "bad magic" "^wisp: --kernel: 'badmagic' is not an arm64 Image \\(no \"ARM.x64\" magic at offset 56\\)\$" --kernel badmagic --memory size=128M
try gzip "^wisp: --kernel: 'image.gz' is gzip-compressed" --kernel image.gz --memory size=128M
try short "^wisp: --kernel: 'short' is too short to be an arm64 Image\$" --kernel short --memory size=128M
try "huge initramfs" "^wisp: --initramfs: [0-9]+ bytes do not fit" --kernel "$img" --initramfs "$img" --memory size=64M
pass
