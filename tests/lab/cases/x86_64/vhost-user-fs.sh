# vhost-user-fs with wisp-fsd: the guest mounts the share (virtiofs),
# reads a file the host put there, creates, renames and deletes files and
# a directory, copies 4 MiB in (md5 on both ends); the host sees each
# change.  Escape attempts (symlinks the host placed pointing outside,
# "..", a symlink or hard link made by the guest) all fail.  Finally the
# guest reloads virtiofs (a device reset) and mounts the share again.
# lab-timeout: 60
# lab-boots: 1
FSD=/lab/bin/wisp-fsd
[ -x "$FSD" ] || fail "no wisp-fsd in the lab (build it beside wisp)"
mkdir -p share/empty-dir
echo "put there by the host" >share/from-host.txt
echo "delete me" >share/delete-me.txt
echo "HOST-SECRET do not show the guest" >secret.txt
ln -s ../secret.txt share/escape-rel
ln -s "$PWD/secret.txt" share/escape-abs
ln -s "$PWD" share/escape-dir
setsid "$FSD" --socket fsd.sock --dir share </dev/null >fsd.log 2>&1 &
echo $! >>"${LAB_CASE_DIR:-.}/sessions"
fsd_pid=$!
for _ in $(seq 50); do [ -S fsd.sock ] && break; sleep 0.1; done
[ -S fsd.sock ] || fail "wisp-fsd did not start: $(head -c 300 fsd.log)"
GUEST_CMDLINE_EXTRA="wisp_modules=virtio_pci,virtiofs" \
	boot_guest "$LAB_BOOT_TIMEOUT" guest.log fs --memory size=256M,shared=on \
	--fs tag=share,socket=fsd.sock
expect_guest_ok guest.log
[ "$(guest_fact guest.log fs_mount)" = ok ] || fail "mount -t virtiofs failed"
[ "$(guest_fact guest.log fs_hostfile)" = "put there by the host" ] ||
	fail "the guest read '$(guest_fact guest.log fs_hostfile)' from the host's file"
[ "$(guest_fact guest.log fs_create)" = ok ] || fail "create failed in the guest"
[ "$(guest_fact guest.log fs_rename)" = ok ] || fail "mkdir/rename failed in the guest"
[ "$(guest_fact guest.log fs_delete)" = ok ] || fail "unlink/rmdir failed in the guest"
[ "$(guest_fact guest.log fs_df)" = ok ] || fail "statfs: df says $(guest_fact guest.log fs_df)"
[ "$(guest_fact guest.log fs_escape)" = no ] || fail "escape: $(guest_fact guest.log fs_escape)"
[ "$(guest_fact guest.log fs_umount)" = ok ] || fail "umount failed"
[ "$(guest_fact guest.log fs_remount)" = "created by the guest" ] ||
	fail "after a reset (virtiofs reloaded) the share read '$(guest_fact guest.log fs_remount)'"
expect_exit 0
# the host's view
[ "$(cat share/guest-new.txt 2>/dev/null)" = "created by the guest" ] || fail "the host lacks guest-new.txt"
[ "$(cat share/gdir/after.txt 2>/dev/null)" = "to be renamed" ] || fail "the host lacks gdir/after.txt"
[ -e share/gdir/before.txt ] && fail "gdir/before.txt still on the host after the rename"
[ -e share/delete-me.txt ] && fail "delete-me.txt still on the host"
[ -e share/empty-dir ] && fail "empty-dir still on the host"
[ -e share/guest-link ] || [ -L share/guest-link ] && fail "the guest made a symlink on the host"
[ -e share/guest-hardlink ] && fail "the guest made a hard link on the host"
want=$(guest_fact guest.log fs_big_local_md5)
[ "$(guest_fact guest.log fs_big_md5)" = "$want" ] || fail "big.bin read back differs in the guest"
[ "$(md5sum <share/big.bin | cut -d' ' -f1)" = "$want" ] || fail "big.bin on the host differs"
[ "$(cat secret.txt)" = "HOST-SECRET do not show the guest" ] || fail "the secret changed"
kill "$fsd_pid" 2>/dev/null
note "escape link seen by the guest: $(guest_fact guest.log fs_escape_link)"
pass
