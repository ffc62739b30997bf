#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/check-layers.sh: scripts/check-layers on small objects made here,
# each case a layering the check must refuse or accept, so that the check
# of the real build (tests/run, "layer checks") is known to be able to fail.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

# obj FILE 'C source': compiles the source into $tmp/case/obj/FILE.o
obj() {
	mkdir -p "$(dirname "$tmp/case/obj/$1")"
	printf '%s\n' "$2" | gcc -x c -c -o "$tmp/case/obj/$1.o" -
}

# expect STATUS 'text the output must hold' NAME
expect() {
	local out rc=0

	out=$(scripts/check-layers "$tmp/case" 2>&1) || rc=$?
	if [ $rc -ne "$1" ] || ! grep -qF -- "$2" <<<"$out"; then
		echo "FAIL $3: want status $1 and \"$2\", got status $rc:"
		sed 's/^/    /' <<<"$out"
		failed=1
	else
		echo "ok   $3"
	fi
	rm -rf "$tmp/case"
}

obj core/log 'void wisp_err(void) {}'
obj core/vm 'void wisp_err(void); void vm_main(void) { wisp_err(); }'
expect 0 "no upward use, no circle" "a call down (core/vm.o -> core/log.o) passes"

obj core/log 'void vm_main(void); void wisp_err(void) { vm_main(); }'
obj core/vm 'void wisp_err(void); void vm_main(void) { wisp_err(); }'
expect 1 "core/log.o (layer log) uses vm_main of core/vm.o (layer vm, above it)" \
	"a call up (core/log.o -> core/vm.o) fails"

obj core/term 'void file_kind(void); void term_raw(void) { file_kind(); }'
obj core/file 'void term_raw(void); void file_kind(void) { term_raw(); }'
expect 1 "in a circle: " "a circle inside one layer (core/term.o <-> core/file.o) fails"

obj arch/x86_64/pvh 'int x86_e820_map(void); int pvh_load(void) { return x86_e820_map(); }'
obj arch/x86_64/machine 'int x86_e820_map(void) { return 0; }'
expect 1 "arch/x86_64/pvh.o (layer boot) uses x86_e820_map of arch/x86_64/machine.o" \
	"a loader using the machine fails"

obj core/irq 'extern int ioapic_pins; int irq_init(void) { return ioapic_pins; }'
obj devices/ioapic 'int ioapic_pins = 24;'
expect 1 "core/irq.o (layer irq) uses ioapic_pins of devices/ioapic.o (layer devices" \
	"core naming a device's variable fails"

obj core/rate_limiter 'void *gpa_ptr(void); void *rate_limit(void) { return gpa_ptr(); }'
obj core/memory 'void *gpa_ptr(void) { return 0; }'
expect 1 "core/rate_limiter.o (layer host) uses gpa_ptr of core/memory.o (layer memory" \
	"a file on a table line of its own (core/rate_limiter, host) keeps its layer"

obj core/newfile 'void new_thing(void) {}'
expect 1 "core/newfile.o is in no layer" "a file missing from the table fails"

[ $failed -eq 0 ] || { echo "tests/check-layers.sh: scripts/check-layers misjudged a case" >&2; exit 1; }
