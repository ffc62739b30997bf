# vfio-lab-smoke: the VFIO lab host is what the VFIO cases expect: an IOMMU,
# three disks bound to vfio-pci, two of them sharing one IOMMU group.
# lab-timeout: 20
note "$(cat /run/lab-vfio 2>/dev/null)"
[ -c /dev/vfio/vfio ] || fail "no /dev/vfio/vfio"
[ "$(wc -l </run/lab-vfio)" = 3 ] || fail "want 3 devices handed over, got: $(cat /run/lab-vfio)"
while read -r bdf group; do
	[ "$(basename "$(readlink /sys/bus/pci/devices/$bdf/driver)")" = vfio-pci ] ||
		fail "$bdf is not bound to vfio-pci"
	[ -c /dev/vfio/$group ] || fail "no /dev/vfio/$group for $bdf"
done </run/lab-vfio
[ "$(cut -d' ' -f2 /run/lab-vfio | sort -u | wc -l)" = 2 ] || fail "want 2 IOMMU groups"
pass
