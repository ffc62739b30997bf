// SPDX-License-Identifier: MIT
/*
 * wisp: CLI -> config -> inputs (files read and checked, core/input.h)
 * -> machine -> devices -> run loop.  Every user input is checked
 * before /dev/kvm is opened, so a bad one is reported as such on any
 * host.  Exit status: 0 guest powered off (or rebooted), 1 VM error,
 * 2 bad command line or input, 3 KVM missing or unusable, 128+N
 * stopped by signal N.
 */
#include <stdio.h>

#include "core/log.h"

#include "core/cli.h"
#include "core/event_monitor.h"
#include "core/input.h"
#include "core/timeline.h"
#include "core/vm.h"

int main(int argc, char *argv[])
{
	struct vm_config cfg;
	struct vm_inputs inputs;
	struct cli_error err;
	int status;

	timeline_start();
	switch (cli_parse(argc, argv, &cfg, stdout, &err)) {
	case CLI_EXIT:
		return 0;
	case CLI_ERROR:
		fprintf(stderr, "wisp: %s\n", err.msg);
		return EXIT_USAGE;
	case CLI_RUN:
		break;
	}
	timeline_mark(TL_CONFIG_PARSED);
#ifdef CONFIG_LOG_FILE
	log_verbosity = cfg.verbosity;
	if (cfg.log_file && log_open(cfg.log_file)) {
		cli_free(&cfg);
		return EXIT_USAGE;
	}
	wisp_log(LOG_INFO, "wisp %s starting", WISP_VERSION);
#endif
	if (cfg.event_monitor &&
	    event_monitor_open(cfg.event_monitor_path, cfg.event_monitor_fd)) {
		cli_free(&cfg);
		return EXIT_USAGE;
	}
	status = inputs_load(&cfg, &inputs);
	if (!status) {
		status = vm_main(&cfg, &inputs);
		inputs_free(&inputs);
	}
	vmm_event("shutdown");
	timeline_print(cfg.timeline);
	cli_free(&cfg);
	return status;
}
