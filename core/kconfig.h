/* SPDX-License-Identifier: MIT */
/*
 * IS_ENABLED(CONFIG_FOO): 1 when Kconfig set FOO to y, else 0, usable in
 * plain C conditions so that both branches are always compiled (and
 * checked) while the dead one is dropped.  autoconf.h is included on the
 * command line of every compile.
 */
#ifndef WISP_CORE_KCONFIG_H
#define WISP_CORE_KCONFIG_H

#define WISP_ARG_PLACEHOLDER_1 0,
#define wisp_take_second(ignored, val, ...) val
#define wisp_is_defined3(arg1_or_junk) wisp_take_second(arg1_or_junk 1, 0, 0)
#define wisp_is_defined2(val) wisp_is_defined3(WISP_ARG_PLACEHOLDER_##val)
#define IS_ENABLED(option) wisp_is_defined2(option)

#endif
