// SPDX-License-Identifier: MIT
/*
 * wisp: CLI -> config -> machine -> devices -> run loop.
 * Exit status: 0 guest powered off (or rebooted), 1 VM error, 2 bad
 * command line or input, 128+N stopped by signal N.
 */
#include <stdio.h>

#include "core/cli.h"
#include "core/timeline.h"
#include "core/vm.h"

int main(int argc, char *argv[])
{
	struct vm_config cfg;
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
	status = vm_main(&cfg);
	timeline_print(cfg.timeline);
	cli_free(&cfg);
	return status;
}
