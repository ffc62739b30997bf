// SPDX-License-Identifier: MIT
/* The JSON writer of core/json.h. */
#include "core/json.h"

#include <stdio.h>
#include <string.h>

void json_init(struct json *j, char *buf, size_t size)
{
	memset(j, 0, sizeof(*j));
	j->buf = buf;
	j->size = size;
	j->overflow = size == 0;
	if (size)
		buf[0] = '\0';
}

static void put(struct json *j, const char *s, size_t n)
{
	if (j->overflow || j->len + n >= j->size) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void put_char(struct json *j, char c)
{
	put(j, &c, 1);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0:
 * overlong forms, surrogates and code points above U+10FFFF are not
 * valid, and a document must stay valid whatever a path holds. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	uint32_t cp = s[0] & (0x7f >> len);

	if (s[0] < 0xc2 || s[0] > 0xf4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* s as a JSON string: quotes, backslashes and control characters
 * escaped, bytes that are not UTF-8 replaced by U+FFFD. */
static void put_quoted(struct json *j, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text);
	char esc[8];

	put_char(j, '"');
	for (size_t i = 0; i < n;) {
		size_t len;

		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i++];
			put(j, esc, 2);
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i++]);
			put(j, esc, 6);
		} else if (s[i] < 0x80) {
			put_char(j, (char)s[i++]);
		} else if ((len = utf8_length(s + i, n - i))) {
			put(j, (const char *)s + i, len);
			i += len;
		} else {
			put(j, "\\ufffd", 6);
			i++;
		}
	}
	put_char(j, '"');
}

/* The comma and the key that go before a value. */
static void member(struct json *j, const char *key)
{
	if (j->depth && j->has_member[j->depth - 1])
		put_char(j, ',');
	if (j->depth)
		j->has_member[j->depth - 1] = true;
	if (key) {
		put_quoted(j, key);
		put_char(j, ':');
	}
}

static void open_container(struct json *j, const char *key, char bracket)
{
	member(j, key);
	if (j->depth == JSON_MAX_DEPTH) {
		j->overflow = true;
		return;
	}
	j->has_member[j->depth++] = false;
	put_char(j, bracket);
}

static void close_container(struct json *j, char bracket)
{
	if (!j->depth) {
		j->overflow = true;
		return;
	}
	j->depth--;
	put_char(j, bracket);
}

void json_object_begin(struct json *j, const char *key)
{
	open_container(j, key, '{');
}

void json_object_end(struct json *j)
{
	close_container(j, '}');
}

void json_array_begin(struct json *j, const char *key)
{
	open_container(j, key, '[');
}

void json_array_end(struct json *j)
{
	close_container(j, ']');
}

void json_string(struct json *j, const char *key, const char *s)
{
	member(j, key);
	if (s)
		put_quoted(j, s);
	else
		put(j, "null", 4);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	char num[24];

	member(j, key);
	put(j, num, (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)v));
}

void json_bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	if (v)
		put(j, "true", 4);
	else
		put(j, "false", 5);
}

long json_finish(const struct json *j)
{
	return j->overflow || j->depth ? -1 : (long)j->len;
}
