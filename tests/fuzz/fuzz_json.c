// SPDX-License-Identifier: MIT
/*
 * The JSON reader (core/json.c) on any document: it must never read
 * outside it (the copy is exactly as long as the input), must agree
 * with itself (whether a member is there does not depend on the type
 * asked for), and a string it takes must survive the writer: written
 * back into a document and read again, it is the same string.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "core/json.h"
#include "core/kconfig.h"

#if IS_ENABLED(CONFIG_API)
static void check(const char *doc, size_t size, const char *key)
{
	/* the writer may escape each byte in six */
	char out[64], again[64], written[6 * sizeof(out) + 64];
	enum json_read s = json_read_string(doc, size, key, out, sizeof(out));
	enum json_read n;
	uint64_t v;
	bool b;
	struct json j;
	long len;

	n = json_read_u64(doc, size, key, &v);
	if ((s == JSON_ABSENT) != (n == JSON_ABSENT) ||
	    (s == JSON_ABSENT) != (json_read_bool(doc, size, key, &b) == JSON_ABSENT))
		abort();
	if (s != JSON_OK)
		return;
	if (strlen(out) >= sizeof(out))
		abort();
	json_init(&j, written, sizeof(written));
	json_object_begin(&j, NULL);
	json_string(&j, key, out);
	json_object_end(&j);
	len = json_finish(&j);
	if (len < 0 || json_read_string(written, (size_t)len, key, again, sizeof(again)) != JSON_OK ||
	    strcmp(out, again))
		abort();
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if IS_ENABLED(CONFIG_API)
	char *doc = malloc(size ? size : 1);

	if (!doc)
		return 0;
	memcpy(doc, data, size);
	/* the keys wisp reads, and one that seeds use too */
	check(doc, size, "destination_url");
	check(doc, size, "s");
	free(doc);
#else
	(void)data;
	(void)size;
#endif
	return 0;
}
