// SPDX-License-Identifier: MIT
/*
 * The JSON reader of core/json.h: it takes a top-level member's value
 * from a valid document, and refuses every document outside RFC 8259
 * (and a key given twice) whatever member is asked for.
 */
#include "unit.h"

#if IS_ENABLED(CONFIG_API)

#include "core/json.h"

static enum json_read str(const char *doc, const char *key, char *out, size_t size)
{
	return json_read_string(doc, strlen(doc), key, out, size);
}

static enum json_read u64(const char *doc, const char *key, uint64_t *v)
{
	return json_read_u64(doc, strlen(doc), key, v);
}

static void test_read_members(void **state)
{
	const char *doc = " {\"a\": [1, {\"b\": null}], \"url\" : \"file:///tmp/s\",\n"
			  "\"n\":18446744073709551615, \"t\":true, \"f\":false, \"o\":{\"url\":\"x\"}} ";
	char out[32];
	uint64_t v = 0;
	bool b = false;

	(void)state;
	assert_int_equal(str(doc, "url", out, sizeof(out)), JSON_OK);
	assert_string_equal(out, "file:///tmp/s");
	assert_int_equal(u64(doc, "n", &v), JSON_OK);
	assert_true(v == UINT64_MAX);
	assert_int_equal(json_read_bool(doc, strlen(doc), "t", &b), JSON_OK);
	assert_true(b);
	assert_int_equal(json_read_bool(doc, strlen(doc), "f", &b), JSON_OK);
	assert_false(b);
	/* only top-level members count */
	assert_int_equal(str(doc, "b", out, sizeof(out)), JSON_ABSENT);
	assert_int_equal(str("{}", "url", out, sizeof(out)), JSON_ABSENT);
	/* the wrong type */
	assert_int_equal(str(doc, "n", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(u64(doc, "url", &v), JSON_INVALID);
	assert_int_equal(json_read_bool(doc, strlen(doc), "a", &b), JSON_INVALID);
	assert_int_equal(str(doc, "o", out, sizeof(out)), JSON_INVALID);
}

static void test_read_escapes(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(str("{\"s\":\"a\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\"}", "s", out, sizeof(out)), JSON_OK);
	assert_string_equal(out, "a\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
	/* an escaped key is the same key */
	assert_int_equal(str("{\"\\u0073\":\"x\"}", "s", out, sizeof(out)), JSON_OK);
	assert_string_equal(out, "x");
	/* a NUL is valid JSON but not in a C string; elsewhere it is fine */
	assert_int_equal(str("{\"s\":\"a\\u0000b\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"a\",\"t\":\"\\u0000\"}", "s", out, sizeof(out)), JSON_OK);
	/* lone surrogates, bad escapes, raw control characters, bad UTF-8 */
	assert_int_equal(str("{\"s\":\"\\ud83d\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"\\ude00\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"\\x41\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"\\u00g0\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"a\tb\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"\xc0\xaf\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"\xe2\x82\"}", "s", out, sizeof(out)), JSON_INVALID);
}

static void test_read_fit(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(str("{\"s\":\"abc\"}", "s", out, sizeof(out)), JSON_OK);
	assert_int_equal(str("{\"s\":\"abcd\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"\\u00e9\\u00e9\"}", "s", out, sizeof(out)), JSON_INVALID);
	assert_int_equal(str("{\"s\":\"a\"}", "s", out, 0), JSON_INVALID);
}

static void test_read_numbers(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(u64("{\"n\":0}", "n", &v), JSON_OK);
	assert_true(v == 0);
	assert_int_equal(u64("{\"n\":18446744073709551616}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":-1}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":1.5}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":1e3}", "n", &v), JSON_INVALID);
	/* valid numbers elsewhere do not disturb */
	assert_int_equal(u64("{\"x\":-0.5e-7,\"n\":42}", "n", &v), JSON_OK);
	assert_true(v == 42);
	/* not numbers at all */
	assert_int_equal(u64("{\"n\":01}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":1.}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":.5}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":+1}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":1e}", "n", &v), JSON_INVALID);
	assert_int_equal(u64("{\"n\":-}", "n", &v), JSON_INVALID);
	assert_true(v == 42);
}

static void test_read_refusals(void **state)
{
	static const char *const bad[] = {
		"", " ", "[]", "\"s\"", "{", "}", "{\"s\":\"x\"", "{\"s\":\"x\"}}", "{\"s\":\"x\",}",
		"{,\"s\":\"x\"}", "{\"s\" \"x\"}", "{s:\"x\"}", "{'s':'x'}", "{\"s\":\"x\"} x",
		"{\"s\":\"x\"}/* */", "{\"s\":\"x\",\"s\":\"y\"}", "{\"s\":\"x\",\"t\":[1,]}",
		"{\"s\":\"x\",\"t\":tru}", "{\"s\":\"x\",\"t\":True}", "{\"s\":\"x\",\"t\":NaN}",
		"{\"s\":\"x\",\"t\":[}", "{\"s\":\"x\"\x0b}", "{\"s\":\"x\",\"t\":\"unterminated}",
	};
	char out[8];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (str(bad[i], "s", out, sizeof(out)) != JSON_INVALID)
			fail_msg("accepted '%s'", bad[i]);
}

static void test_read_depth_and_length(void **state)
{
	static char doc[JSON_MAX_DOCUMENT + 8];
	char out[8];
	size_t n = 0;

	(void)state;
	/* JSON_MAX_DEPTH levels in all are fine, one more is not */
	n += (size_t)sprintf(doc, "{\"s\":\"x\",\"d\":");
	for (int i = 1; i < JSON_MAX_DEPTH; i++)
		doc[n++] = '[';
	for (int i = 1; i < JSON_MAX_DEPTH; i++)
		doc[n++] = ']';
	doc[n++] = '}';
	assert_int_equal(json_read_string(doc, n, "s", out, sizeof(out)), JSON_OK);
	n = (size_t)sprintf(doc, "{\"s\":\"x\",\"d\":");
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		doc[n++] = '[';
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		doc[n++] = ']';
	doc[n++] = '}';
	assert_int_equal(json_read_string(doc, n, "s", out, sizeof(out)), JSON_INVALID);
	/* the length given is the end: what follows is not read */
	assert_int_equal(json_read_string("{\"s\":\"x\"}garbage", 9, "s", out, sizeof(out)), JSON_OK);
	/* a document longer than JSON_MAX_DOCUMENT is refused unread */
	memset(doc, ' ', sizeof(doc));
	memcpy(doc, "{\"s\":\"x\"}", 9);
	assert_int_equal(json_read_string(doc, JSON_MAX_DOCUMENT, "s", out, sizeof(out)), JSON_OK);
	assert_int_equal(json_read_string(doc, JSON_MAX_DOCUMENT + 1, "s", out, sizeof(out)), JSON_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_members),
		cmocka_unit_test(test_read_escapes),
		cmocka_unit_test(test_read_fit),
		cmocka_unit_test(test_read_numbers),
		cmocka_unit_test(test_read_refusals),
		cmocka_unit_test(test_read_depth_and_length),
	};

	return cmocka_run_group_tests_name("json reader", tests, NULL, NULL);
}

#else

UNIT_NOT_BUILT("json reader")

#endif
