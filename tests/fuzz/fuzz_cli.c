// SPDX-License-Identifier: MIT
/*
 * The command line (core/cli.c and every device's parse()): the input
 * is argv, NUL-separated.  A parse either succeeds or fails with one
 * line; nothing may crash, leak or read out of bounds.  Paths the input
 * names are only opened for reading or checked, as wisp's parse does.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "core/cli.h"
#include "core/config.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	char *copy, *argv[MAX_ARGS + 2];
	int argc = 1;
	struct vm_config cfg;
	struct cli_error err;
	enum cli_action action;

	if (!null_out)
		null_out = fopen("/dev/null", "w");
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	argv[0] = "wisp";
	for (size_t i = 0; i < size && argc <= MAX_ARGS; ) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;
	action = cli_parse(argc, argv, &cfg, null_out, &err);
	if (action == CLI_RUN)
		cli_free(&cfg);
	/* an error is one line, even when it quotes the user's input */
	if (action == CLI_ERROR && strchr(err.msg, '\n'))
		abort();
	free(copy);
	return 0;
}
