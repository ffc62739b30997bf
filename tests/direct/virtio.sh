# shellcheck shell=bash disable=SC2034,SC2154
# PCI and virtio cases of the direct tests: sourced by tests/direct/run
# (its helpers run_guest, expect, pass, fail and $tmp, $case, $status)
# when wisp is built with virtio-rng.  The guests are
# tests/guests/pci_enum.c, virtio_rng.c and virtio_hostile.c.

# Bus 0 through ECAM and 0xcf8: the host bridge, virtio-rng, BARs,
# read-only registers, capabilities.
case=pci-enum; run_guest pci_enum /dev/null
expect 0 '^PCI 00:00\.0 8086:0d57 class 0600$' '^PCI 00:[0-9a-f]{2}\.0 1af4:1044 class [0-9a-f]{4}$' \
	'BAR0 mem64 0x[0-9a-f]+ size 0x8000$' 'MSI-X [0-9]+ vectors, table BAR0' \
	'^RESULT pci_enum PASS'

# virtio-rng end to end: negotiation, MSI-X, requests by interrupt and
# by polling, masked vectors, EVENT_IDX.
case=virtio-rng; run_guest virtio_rng /dev/null
expect 0 '^virtio_rng: unoffered bit [0-9]+ refused' '^virtio_rng: 3 requests completed' \
	'^virtio_rng: masked vector pending, delivered on unmask' '^RESULT virtio_rng PASS'

# The same with two vCPUs: MSI-X messages name the boot CPU's APIC id.
case=virtio-rng-2cpu; run_guest virtio_rng /dev/null --cpus boot=2
expect 0 '^RESULT virtio_rng PASS'

# A hostile driver: malformed queues (NEEDS_RESET, recovery after a
# reset), junk in the MSI-X table, config space and BAR 0, BAR moves.
# wisp reports each broken queue once on stderr and keeps running: 10
# malformed queues, the rings outside RAM, and (almost always) the
# buffer the device wrote over its own rings.
case=virtio-hostile; run_guest virtio_hostile /dev/null
if expect 0 '^virtio_hostile: descriptor loop: NEEDS_RESET' \
	'^virtio_hostile: avail idx far ahead: NEEDS_RESET' \
	'^virtio_hostile: head >= queue size: NEEDS_RESET' \
	'^virtio_hostile: descriptor past the end of RAM: NEEDS_RESET' \
	'^virtio_hostile: BAR 0 moved .*device works there' '^RESULT virtio_hostile PASS'; then
	n=$(grep -c 'needs a reset' "$tmp/err")
	if [ "$n" -lt 11 ] || [ "$n" -gt 12 ]; then
		passed=$((passed - 1)); fail "$n 'needs a reset' lines on stderr, expected 11 or 12"
	fi
fi
