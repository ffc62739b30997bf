# SPDX-License-Identifier: MIT
# wisp: a minimal microVM.  See README.md.
#
# Kbuild-flavoured and non-recursive: each source directory has a Kbuild
# file listing `obj-$(CONFIG_FOO) += foo.o`, included here with the
# directory prefixed.  Output goes to O= (default build/); V=1 shows the
# full commands.  Configuration uses Debian's kconfig-frontends.

VERSION := 0.1.0
srctree := $(CURDIR)
O ?= build
override O := $(patsubst %/,%,$(O))
KCONFIG_CONFIG := $(O)/.config
WISP_CACHE ?= $(HOME)/.cache/wisp
export WISP_CACHE

ifeq ($(V),1)
Q :=
else
Q := @
endif

host-arch := $(shell uname -m | sed -e 's/arm64/aarch64/')
config-goals := $(filter menuconfig nconfig defconfig olddefconfig oldconfig \
		savedefconfig %_defconfig,$(MAKECMDGOALS))
other-goals := $(filter-out $(config-goals),$(MAKECMDGOALS))

ifneq ($(and $(config-goals),$(other-goals)),)
# "make aarch64_defconfig all": configure first, then build with the
# new .config read afresh, one goal after the other.
$(MAKECMDGOALS): __sequential
	@:
__sequential:
	$(Q)set -e; for g in $(MAKECMDGOALS); do $(MAKE) --no-print-directory $$g; done
.PHONY: __sequential $(MAKECMDGOALS)
else

-include $(KCONFIG_CONFIG)
cfg-arch := $(patsubst "%",%,$(CONFIG_ARCH))
ifeq ($(origin ARCH),command line)
ifneq ($(cfg-arch),)
ifeq ($(config-goals),)
ifneq ($(ARCH),$(cfg-arch))
$(error $(O) is configured for $(cfg-arch), not ARCH=$(ARCH): run 'make O=$(O) ARCH=$(ARCH) defconfig' or pick another O=)
endif
endif
endif
endif
ARCH ?= $(if $(cfg-arch),$(cfg-arch),$(host-arch))
ifeq ($(filter x86_64 aarch64,$(ARCH)),)
$(error ARCH=$(ARCH): wisp supports x86_64 and aarch64)
endif

.DEFAULT_GOAL := all
.PHONY: all menuconfig nconfig defconfig olddefconfig oldconfig savedefconfig \
	unit guests test run bench clean distclean help setup firmware test-firmware \
	fuzz fuzz-build fuzz-replay

# ---------------------------------------------------------------- config
kconfig-env := KCONFIG_CONFIG=$(KCONFIG_CONFIG) ARCH=$(ARCH) srctree=$(srctree)
setup-stamp := $(O)/.setup-$(ARCH)

setup $(setup-stamp):
	$(Q)$(srctree)/scripts/setup $(if $(filter aarch64,$(ARCH)),arm64)
	$(Q)mkdir -p $(O) && touch $(setup-stamp)

menuconfig nconfig: | $(setup-stamp)
	$(Q)$(kconfig-env) kconfig-$(patsubst %config,%,$@)conf Kconfig

oldconfig olddefconfig: | $(setup-stamp)
	$(Q)$(kconfig-env) kconfig-conf --$@ Kconfig

savedefconfig: | $(setup-stamp)
	$(Q)$(kconfig-env) kconfig-conf --savedefconfig=$(O)/defconfig Kconfig
	@echo "wrote $(O)/defconfig"

defconfig: $(ARCH)_defconfig
	@:

%_defconfig: | $(setup-stamp)
	$(Q)test -f configs/$@ || { echo "make: no such config: configs/$@" >&2; exit 2; }
	$(Q)$(kconfig-env) kconfig-conf --defconfig=configs/$@ Kconfig >/dev/null
	@echo "configured $(O) with configs/$@"

ifeq ($(config-goals),)
# Building without a configuration: make the default one first (make
# then re-reads the new .config, as it does for any included makefile).
$(KCONFIG_CONFIG):
	@echo "$(O) has no configuration: using configs/$(ARCH)_defconfig"
	$(Q)$(MAKE) --no-print-directory $(ARCH)_defconfig
endif

# autoconf.h from .config, rewritten only when its contents change so
# that an unrelated reconfiguration rebuilds nothing.
autoconf := $(O)/include/generated/autoconf.h
$(autoconf): $(KCONFIG_CONFIG)
	$(Q)mkdir -p $(dir $@)
	$(Q)sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=y$$/#define \1 1/p' \
		-e 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(".*"\)$$/#define \1 \2/p' \
		-e 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(-\{0,1\}[0-9][0-9a-fA-Fx]*\)$$/#define \1 \2/p' \
		$< > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

# ------------------------------------------------------------- toolchain
ifeq ($(ARCH),aarch64)
CC := aarch64-linux-musl-gcc
STRIP := aarch64-linux-gnu-strip
uapi-asm := /usr/include/aarch64-linux-gnu/asm
sysroot := $(WISP_CACHE)/sysroot-aarch64/usr
lib-dir := $(sysroot)/lib/aarch64-linux-gnu
lib-inc := $(sysroot)/include
else
CC := musl-gcc
STRIP := strip
uapi-asm := /usr/include/x86_64-linux-gnu/asm
lib-dir := /usr/lib/x86_64-linux-gnu
lib-inc := /usr/include
endif
HOSTCC ?= gcc

# musl-gcc hides /usr/include; expose only the kernel UAPI and the few
# library headers wisp uses, never glibc's.
uapi := $(O)/uapi
uapi-stamp := $(uapi)/.stamp
$(uapi-stamp): | $(setup-stamp)
	$(Q)mkdir -p $(uapi)
	$(Q)ln -sfn /usr/include/linux $(uapi)/linux
	$(Q)ln -sfn /usr/include/asm-generic $(uapi)/asm-generic
	$(Q)ln -sfn $(uapi-asm) $(uapi)/asm
	$(Q)for h in liburing.h liburing libfdt.h fdt.h libfdt_env.h; do \
		test -e $(lib-inc)/$$h && ln -sfn $(lib-inc)/$$h $(uapi)/$$h; done; true
	$(Q)touch $@

version := $(VERSION)$(shell git describe --always --dirty 2>/dev/null | sed 's/^/-g/')
# rewritten only when the version changes: what prints it (core/cli.c,
# core/api.c) is rebuilt then, and only then
version-stamp := $(O)/include/generated/version
$(version-stamp): FORCE
	@mkdir -p $(dir $@)
	@echo '$(version)' | cmp -s - $@ || echo '$(version)' >$@
$(O)/obj/core/cli.o $(O)/host/core/cli.o $(O)/fuzzobj/core/cli.o: $(version-stamp)
# and the API's vmm.ping
$(O)/obj/core/api.o $(O)/host/core/api.o $(O)/fuzzobj/core/api.o: $(version-stamp)
.PHONY: FORCE
FORCE:

# Every device and the option it owns, read from the Kbuild files and the
# descriptors (scripts/build/device-list): what core/cli.c needs to tell
# "not built into this binary" from "unknown option", and what
# tests/unit/test_device_table.c checks the table against.  Rewritten
# only when its contents change, like autoconf.h.  core/ is read too: the
# API socket (core/api.c) is a descriptor owning --api-socket.
device-list := $(O)/include/generated/device_list.h
device-dirs := core devices virtio vhost vfio
$(device-list): $(KCONFIG_CONFIG) scripts/build/device-list \
		$(foreach d,$(device-dirs),$(d)/Kbuild $(wildcard $(d)/*.c $(d)/*/*.c))
	$(Q)mkdir -p $(dir $@)
	$(Q)scripts/build/device-list $(ARCH) $(KCONFIG_CONFIG) $(device-dirs) >$@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(O)/obj/core/cli.o $(O)/host/core/cli.o $(O)/fuzzobj/core/cli.o: $(device-list)
common-cflags := -std=gnu11 -I$(srctree)/arch/$(ARCH)/include -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing \
	-D_GNU_SOURCE -I$(srctree) -I$(O)/include -include $(autoconf) \
	-DWISP_VERSION='"$(version)"' -MMD -MP
CFLAGS ?= -Os -g
# -fno-pie: the link is static and not PIE anyway (fixed addresses), so
# addresses can be immediates rather than RIP-relative loads or GOT
# entries (about 0.5 KiB on x86_64).  -fno-jump-tables: a switch becomes
# compares instead of a table of 8-byte addresses (about 1 KiB).
# -fno-unwind-tables: GCC's AArch64 default emits .eh_frame even without
# asynchronous unwind tables; C without exceptions or backtraces never
# reads it (about 10 KiB there; wisp.debug keeps .debug_frame for gdb).
wisp-cflags := $(common-cflags) $(CFLAGS) -I$(uapi) -ffunction-sections \
	-fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fno-stack-protector -fno-pie -fno-jump-tables
LDFLAGS ?=
# noseparate-code: one read-only+code segment instead of three page-aligned
# ones (about 4 KiB on x86_64, and 4 KiB pages on aarch64 rather than 64 KiB).
# norelro: musl applies RELRO only in its dynamic linker, so in a static
# binary the GNU_RELRO segment protects nothing (its pages stay writable)
# and only pads the file to a page boundary; with it gone, a small
# common-page-size lets the data segment start right after the code in
# the file instead of at the next page (together about 1.8 KiB).
# --sort-section=alignment: each function's and table's own section is
# placed by alignment, largest first, rather than in link order, where a
# table after a string paid up to 31 bytes of padding (about 200 bytes
# in all on x86_64, and a size that no longer moves with the object order).
wisp-ldflags := -static -no-pie -Wl,--gc-sections -Wl,-z,noseparate-code \
	-Wl,-z,max-page-size=4096 -Wl,-z,norelro -Wl,-z,common-page-size=64 \
	-Wl,--sort-section=alignment $(LDFLAGS)

# ---------------------------------------------------------------- objects
dirs := lib core arch/$(ARCH) devices virtio vhost vfio
objs :=
libs :=
# test-y: objects only the unit tests and fuzzers link (a device's test
# hooks, declared in its seam header), never the shipped binary
test-objs :=
define include-kbuild
obj-y :=
lib-y :=
test-y :=
include $(1)/Kbuild
objs += $$(addprefix $(1)/,$$(obj-y))
libs += $$(lib-y)
test-objs += $$(addprefix $(1)/,$$(test-y))
endef
ifneq ($(cfg-arch),)
$(foreach d,$(dirs),$(eval $(call include-kbuild,$(d))))
endif
lib-paths := $(addprefix $(lib-dir)/,$(sort $(libs)))

wisp-objs := $(addprefix $(O)/obj/,$(objs))

$(O)/obj/%.o: %.c $(autoconf) $(uapi-stamp)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(wisp-cflags) -c $< -o $@

$(O)/obj/%.o: %.S $(autoconf) $(uapi-stamp)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(wisp-cflags) -c $< -o $@

$(O)/wisp.debug: $(wisp-objs)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(wisp-ldflags) -o $@ $(wisp-objs) $(lib-paths)

# strip, then drop the section headers (scripts/build/elf-trim.c): a
# static executable runs from its program headers; wisp.debug keeps the rest.
# (elf-trim makes its output executable itself)
$(O)/wisp: $(O)/wisp.debug $(O)/elf-trim
	@$(if $(Q),echo "  STRIP   $@")
	$(Q)$(STRIP) -R .comment -o $@.stripped $<
	$(Q)$(O)/elf-trim $@.stripped $@ && rm -f $@.stripped

$(O)/elf-trim: scripts/build/elf-trim.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $<")
	$(Q)$(HOSTCC) -O2 -Wall -Wextra -Werror -o $@ $<

all: $(O)/wisp

# wisp-fsd, the vhost-user-fs back-end (tools/wisp-fsd): static too, so
# it runs in the lab host beside wisp
ifeq ($(CONFIG_VHOST_USER_FS),y)
fsd-srcs := $(wildcard tools/wisp-fsd/*.c)
$(O)/wisp-fsd: $(fsd-srcs) $(wildcard tools/wisp-fsd/*.h) $(uapi-stamp)
	@$(if $(Q),echo "  CC+LD   $@")
	$(Q)$(CC) -std=gnu11 -Os -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
		-D_GNU_SOURCE -I$(uapi) -static -s -o $@ $(fsd-srcs)
all: $(O)/wisp-fsd
endif

# ------------------------------------------------------- unit tests (host)
# The same sources built for the host with glibc, ASan and UBSan, linked
# with each cmocka test.  core/main.o is left out: tests have their own.
san-flags := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
host-cflags := $(common-cflags) -O1 -g $(san-flags) -DWISP_UNIT_TEST
# lib/libc_printf.o and lib/clock.o replace libc functions: the static binary's only
host-objs := $(addprefix $(O)/host/,$(filter-out core/main.o lib/libc_printf.o lib/clock.o,$(objs)) $(test-objs))
# test_alloc tests lib/alloc.c, which only CONFIG_SMALL_MALLOC builds
# and test_rate_limiter core/rate_limiter.c, only with CONFIG_RATE_LIMITER
unit-srcs := $(filter-out $(if $(CONFIG_SMALL_MALLOC),,tests/unit/test_alloc.c) \
	$(if $(CONFIG_RATE_LIMITER),,tests/unit/test_rate_limiter.c) \
	$(if $(CONFIG_VIRTIO_BALLOON),,tests/unit/test_balloon.c) \
	$(if $(CONFIG_EVENT_MONITOR),,tests/unit/test_event_monitor.c) \
	$(if $(CONFIG_SMALL_STRERROR),,tests/unit/test_strerror.c), \
	$(wildcard tests/unit/test_*.c))
unit-bins := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(unit-srcs))
host-libs := $(foreach l,$(sort $(libs)),$(if $(filter aarch64,$(ARCH)),,$(lib-dir)/$(l)))

$(O)/host/%.o: %.c $(autoconf)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $<")
	$(Q)$(HOSTCC) $(host-cflags) -c $< -o $@

$(O)/tests/unit/test_device_table: $(device-list)
$(O)/tests/unit/%: tests/unit/%.c $(host-objs) tests/unit/unit.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(HOSTCC) $(host-cflags) -Itests/unit -o $@ $< $(host-objs) \
		$(host-libs) -lcmocka -lpthread

unit: $(unit-bins)
	$(Q)set -e; for t in $(unit-bins); do \
		echo "== $$t ($(notdir $(O)))"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; \
	done

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets (tests/fuzz/fuzz_NAME.c) linked against the same
# sources built by clang with ASan+UBSan and coverage.  `make fuzz` runs
# each for FUZZ_TIME seconds, growing tests/fuzz/NAME/corpus (merged, so
# it stays small) and leaving crash inputs in $(O)/fuzz/NAME-artifacts;
# `make fuzz-replay` runs every stored input once (corpus and the
# regression inputs in tests/fuzz/NAME/crashes); `make fuzz FUZZ_TIME=10
# FUZZ_MERGE=0` is a smoke run that changes nothing.  docs/security.md.
FUZZ_TIME ?= 60
# 0: leave tests/fuzz alone (a smoke run from tests/run)
FUZZ_MERGE ?= 1
FUZZ_CC ?= clang-14
fuzz-san := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
fuzz-cflags := $(common-cflags) -O1 -g $(fuzz-san) -fsanitize=fuzzer-no-link \
	-DWISP_UNIT_TEST -DWISP_FUZZ -Wno-gnu-variable-sized-type-not-at-end
fuzz-objs := $(addprefix $(O)/fuzzobj/,$(filter-out core/main.o,$(objs)) $(test-objs))
fuzz-srcs := $(wildcard tests/fuzz/fuzz_*.c)
fuzz-names := $(patsubst tests/fuzz/fuzz_%.c,%,$(fuzz-srcs))
fuzz-bins := $(addprefix $(O)/fuzz/,$(fuzz-names))
fuzz-stamp := $(O)/.setup-fuzz

$(fuzz-stamp):
	$(Q)$(srctree)/scripts/setup fuzz
	$(Q)mkdir -p $(O) && touch $@

$(O)/fuzzobj/%.o: %.c $(autoconf) | $(fuzz-stamp)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(fuzz-cflags) -c $< -o $@

$(O)/fuzz/%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/unit/fake_vm.h $(fuzz-objs) | $(fuzz-stamp)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(fuzz-cflags) -fsanitize=fuzzer -Itests/fuzz -Itests/unit -o $@ $< $(fuzz-objs) \
		$(host-libs) -lpthread

# the sources a target compiles in itself (arch/aarch64/image_header.c)
-include $(fuzz-bins:=.d)

fuzz-build: $(fuzz-bins)

fuzz: $(fuzz-bins)
	$(Q)set -e; for t in $(fuzz-names); do \
		mkdir -p tests/fuzz/$$t/corpus tests/fuzz/$$t/crashes $(O)/fuzz/$$t-work $(O)/fuzz/$$t-artifacts; \
		echo "== fuzz $$t for $(FUZZ_TIME) s"; \
		$(O)/fuzz/$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -close_fd_mask=2 \
			-artifact_prefix=$(O)/fuzz/$$t-artifacts/ $(O)/fuzz/$$t-work \
			tests/fuzz/$$t/corpus tests/fuzz/$$t/crashes 2>$(O)/fuzz/$$t.log || \
			{ tail -40 $(O)/fuzz/$$t.log; exit 1; }; \
		grep -E "stat::number_of_executed_units|stat::new_units_added" $(O)/fuzz/$$t.log; \
		if [ "$(FUZZ_MERGE)" = 1 ]; then \
			$(O)/fuzz/$$t -merge=1 tests/fuzz/$$t/corpus $(O)/fuzz/$$t-work >/dev/null 2>&1; \
			echo "   corpus: $$(ls tests/fuzz/$$t/corpus | wc -l) inputs"; \
		fi; \
	done

fuzz-replay: $(fuzz-bins)
	$(Q)set -e; for t in $(fuzz-names); do \
		dirs=$$(for d in corpus crashes; do if test -d tests/fuzz/$$t/$$d; then echo tests/fuzz/$$t/$$d; fi; done); \
		n=$$(cat /dev/null $$(for d in $$dirs; do find $$d -type f; done) | wc -l); \
		printf '%-12s ' $$t; \
		$(O)/fuzz/$$t -runs=0 -close_fd_mask=2 $$dirs >$(O)/fuzz/$$t-replay.log 2>&1 || \
			{ echo FAIL; tail -40 $(O)/fuzz/$$t-replay.log; exit 1; }; \
		echo "$$(find $$dirs -type f | wc -l) inputs replayed"; \
	done

# ------------------------------------------------------------ test guests
guests: | $(setup-stamp)
	$(Q)$(MAKE) --no-print-directory -C tests/guests O=$(abspath $(O))/tests/guests $(if $(V),V=$(V))

# ---------------------------------------------------------------- drivers
test:
	$(Q)$(srctree)/scripts/setup
	$(Q)$(srctree)/tests/run

# Debian's Linux to a shell: on /dev/kvm, or in an emulated KVM host
# (scripts/run says which)
run: all
	$(Q)$(srctree)/scripts/run $(O)/wisp

# the smallest guest: tests/guests/hello.c (needs a usable /dev/kvm)
run-demo: all guests
	$(O)/wisp --kernel $(O)/tests/guests/hello.elf --memory size=64M \
		--serial tty $(if $(CONFIG_VIRTIO_CONSOLE),--console off) --timeline

# the CloudHv firmware, built once into ~/.cache/wisp/firmware (docs/firmware.md)
firmware:
	$(Q)$(srctree)/scripts/build-firmware

test-firmware: all
	$(Q)$(srctree)/scripts/setup lab firmware
	$(Q)$(srctree)/scripts/build-firmware >/dev/null
	$(Q)$(srctree)/tests/lab/run --arch x86_64 --wisp $(O)/wisp --build-dir $(O) \
		--case-dir $(srctree)/tests/lab/firmware/x86_64 --log $(O)/lab-firmware.log

bench:
	$(Q)$(srctree)/scripts/setup bench
	$(Q)$(srctree)/bench/run

clean:
	rm -rf $(O)/obj $(O)/host $(O)/tests $(O)/wisp $(O)/wisp.debug $(O)/fuzzobj $(O)/fuzz

distclean:
	rm -rf $(O)

help:
	@echo "wisp $(VERSION) -- targets:"
	@echo "  all (default)     build $(O)/wisp, static, for ARCH=$(ARCH)"
	@echo "  run               build and boot Debian's Linux to a shell (in a lab host"
	@echo "                    when /dev/kvm is missing)"
	@echo "  run-demo          build and boot the smallest test guest on /dev/kvm"
	@echo "  test              unit tests, direct tests on /dev/kvm, the lab"
	@echo "  firmware          build the CloudHv firmware into ~/.cache/wisp/firmware"
	@echo "  test-firmware     the firmware's lab cases (builds the firmware if needed)"
	@echo "  unit              unit tests of this configuration (ASan+UBSan)"
	@echo "  guests            the freestanding test guests"
	@echo "  fuzz              run each libFuzzer target for FUZZ_TIME s (default 60)"
	@echo "  fuzz-replay       replay the stored fuzz corpora and crash inputs once"
	@echo "  bench             benchmarks against QEMU -> docs/performance.md"
	@echo "  menuconfig, defconfig, NAME_defconfig, olddefconfig, savedefconfig"
	@echo "  clean, distclean"
	@echo "Variables: O=dir (build), ARCH=x86_64|aarch64, V=1"

.SECONDARY: $(wisp-objs) $(host-objs) $(fuzz-objs)
-include $(wisp-objs:.o=.d) $(host-objs:.o=.d) $(fuzz-objs:.o=.d)
-include $(unit-bins:=.d)

endif
