# SPDX-License-Identifier: MIT
# bench/mapsize.awk: how much of a linked binary each source contributes,
# from the GNU ld map (-Wl,-Map).  Counts input sections placed in the
# allocated output sections that occupy the file (code, read-only data,
# data), not .bss.  Prints "group<TAB>bytes" where group is wisp's source
# directory (core, arch/x86_64, devices, virtio, ...) or the library
# (libc for musl and its start files, libfdt, liburing, libgcc).  With
# -v detail=GROUP, the files (archive members) of that group instead.
#   awk -v objdir=build/bench/obj -f bench/mapsize.awk build/bench/wisp.map

function group(file,    g) {
	if (index(file, objdir "/") == 1) {
		g = substr(file, length(objdir) + 2)
		sub(/\/[^\/]*$/, "", g)
		return g
	}
	if (file ~ /libc\.a|crt1\.o|crti\.o|crtn\.o|musl/) return "libc"
	if (file ~ /libfdt/) return "libfdt"
	if (file ~ /liburing/) return "liburing"
	if (file ~ /libgcc|crtbegin|crtend/) return "libgcc"
	return "other"
}

function add(size, file) {
	if (!counting || file == "") return
	size = hex(size)
	if (size <= 0) return
	if (detail == "") { bytes[group(file)] += size; return }
	if (group(file) != detail) return
	sub(/^.*\(/, "", file); sub(/\)$/, "", file); sub(/^.*\//, "", file)
	bytes[file] += size
}

function hex(s,    i, c, v) {
	s = tolower(s); sub(/^0x/, "", s); v = 0
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1)) - 1
		if (c < 0) return 0
		v = v * 16 + c
	}
	return v
}

/^Linker script and memory map/ { inmap = 1; next }
!inmap { next }
# an output section: ".text  0xaddr  0xsize"
/^\.[^ ]/ || /^[a-z_][a-z_0-9]* / {
	name = $1
	counting = (name ~ /^\.(text|rodata|data|init|fini|init_array|fini_array|data\.rel\.ro|got|got\.plt|tdata)$/ || name == "wisp_devices" || name ~ /^\.text|^\.rodata|^\.data/)
	next
}
# an input section on one line: " .text.foo  0xaddr  0xsize  file"
/^ [^ ]/ && NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/ { add($3, $4); pending = 0; next }
# a long input section name alone on its line, the rest on the next one
/^ [^ ]/ && NF == 1 { pending = 1; next }
pending && /^  +0x/ && NF >= 3 { add($2, $3); pending = 0; next }
{ pending = 0 }
END { for (g in bytes) printf "%s\t%d\n", g, bytes[g] }
