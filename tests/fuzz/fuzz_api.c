// SPDX-License-Identifier: MIT
/*
 * The API socket's request handling (core/http.c, core/api.c's routes
 * and answers): the input is what a client sends on one connection.
 * The parser must never read outside it, must frame a request inside
 * it, and every request it completes or refuses must get one
 * well-formed answer whose Content-Length is its body's.  The VM the
 * routes see has stopped, so a pause gives up at once instead of
 * waiting for vCPUs that do not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "core/api.h"
#include "core/http.h"
#include "core/kconfig.h"
#include "core/vm.h"

static void check_framing(const char *buf, size_t size)
{
	struct http_request req;
	int ret = http_parse(buf, size, &req);

	if (ret == 1) {
		if (req.total_len > size || req.body + req.body_len != buf + req.total_len ||
		    req.target[0] != '/' || !req.method[0] || req.body_len > HTTP_MAX_BODY)
			abort();
	} else if (ret == 0) {
		/* waiting for more is only right while the head may still end */
		if (size > HTTP_MAX_HEAD + HTTP_MAX_BODY)
			abort();
	} else if (ret < -505 || ret > -400) {
		abort();
	}
}

static void check_answer(const char *answer, size_t n)
{
	const char *len = strstr(answer, "\r\nContent-Length: ");
	const char *body = strstr(answer, "\r\n\r\n");

	if (!n)
		return;	/* nothing complete to answer yet */
	if (strncmp(answer, "HTTP/1.1 ", 9) || !len || !body ||
	    strtoul(len + 18, NULL, 10) != n - (size_t)(body + 4 - answer))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_config cfg = { .kernel = "/k", .cpus = 1, .memory = { .size = 1 << 21 } };
	static struct vm vm = { .cfg = &cfg, .stop = VM_STOP_POWEROFF };
	static char answer[16384];
	char *buf = malloc(size + 1);
	size_t n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	check_framing(buf, size);
#if IS_ENABLED(CONFIG_API)
	n = api_test_answer(&vm, buf, size, answer, sizeof(answer) - 1);
	answer[n] = '\0';
	check_answer(answer, n);
#else
	(void)n;
	(void)check_answer;
	(void)vm;
#endif
	free(buf);
	return 0;
}
