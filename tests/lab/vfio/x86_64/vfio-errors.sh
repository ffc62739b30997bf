# vfio-errors: bad --device input on a real host is refused with one line
# and exit 2 before any guest starts: not a PCI device, a device bound to
# another driver (or none), a group that is not viable, the same device
# twice, a group another wisp holds, iommu=on for a device whose group
# holds another device given to wisp.
# lab-timeout: 60
dev0=$(sed -n '1s/ .*//p' /run/lab-vfio)	# alone in its group
dev1=$(sed -n '2s/ .*//p' /run/lab-vfio)	# these two share a group
dev2=$(sed -n '3s/ .*//p' /run/lab-vfio)
[ -n "$dev2" ] || fail "want three devices in /run/lab-vfio"

refused() { # NAME REGEX WISP-ARGS...: exit 2, one line matching REGEX
	_name=$1 _re=$2
	shift 2
	run_wisp 30 "$_name.log" -- --kernel "$GUEST_BZIMAGE" --memory size=128M \
		--serial tty --console off "$@"
	[ "$WISP_RC" = 2 ] || fail "$_name: wisp exited $WISP_RC, want 2"
	[ "$(wc -l <"$_name.log.err")" = 1 ] || fail "$_name: not one line: $(cat "$_name.log.err")"
	expect_line "$_name.log.err" "$_re" "$_name: no line matching '$_re'"
	reject_line "$_name.log" 'Linux version' "$_name: a guest started"
}

refused not-pci "^wisp: --device: '/sys/bus/pci' is not a PCI device" \
	--device path=/sys/bus/pci
refused missing "^wisp: --device: cannot open 'path=/sys/bus/pci/devices/0000:00:1f.7'" \
	--device path=/sys/bus/pci/devices/0000:00:1f.7
# the host bridge: no driver at all
refused no-driver "^wisp: --device: 0000:00:00.0 is bound to no driver, not vfio-pci" \
	--device path=/sys/bus/pci/devices/0000:00:00.0
refused twice "^wisp: --device: $dev0 is given twice" \
	--device path=/sys/bus/pci/devices/$dev0 path=/sys/bus/pci/devices/$dev0
# iommu=on takes a group of its own: not dev1's, which dev2 shares
refused iommu-group "^wisp: --device: $dev2: IOMMU group [0-9]+ is shared with another device given to wisp, and a device with iommu=on needs a group of its own" \
	--device path=/sys/bus/pci/devices/$dev1,iommu=on path=/sys/bus/pci/devices/$dev2

# a group another wisp holds: the second one is refused
setsid "$WISP" --kernel "$GUEST_BZIMAGE" --memory size=128M --serial null --console off \
	--device path=/sys/bus/pci/devices/$dev0 </dev/null >holder.log 2>&1 &
holder=$!
echo "$holder" >>"$LAB_CASE_DIR/sessions"
for _ in $(seq 100); do
	ls -l /proc/$holder/fd 2>/dev/null | grep -q "/dev/vfio/[0-9]" && break
	sleep 0.1
done
ls -l /proc/$holder/fd 2>/dev/null | grep -q "/dev/vfio/[0-9]" || fail "the first wisp never opened the group: $(cat holder.log)"
refused busy "^wisp: --device: .*$dev0.*(another process uses the group|in use by another process)" \
	--device path=/sys/bus/pci/devices/$dev0
kill -KILL -"$holder"
wait "$holder" 2>/dev/null

# dev2 to virtio-pci: dev1's group is no longer viable, and dev2 is not vfio's
rebind() { # BDF DRIVER
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind" 2>/dev/null
	echo "$1" >"/sys/bus/pci/drivers/$2/bind"
}
rebind "$dev2" virtio-pci || fail "cannot bind $dev2 to virtio-pci"
refused bound-elsewhere "^wisp: --device: $dev2 is bound to virtio-pci, not vfio-pci" \
	--device path=/sys/bus/pci/devices/$dev2
refused not-viable "^wisp: --device: IOMMU group [0-9]+ of $dev1 is not viable: $dev2 is bound to virtio-pci" \
	--device path=/sys/bus/pci/devices/$dev1
rebind "$dev2" vfio-pci || fail "cannot give $dev2 back to vfio-pci"
pass
