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

/* ------------------------------------------------------------- reader */

struct reader {
	const char *p, *end;
	unsigned depth;
};

static void skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool take(struct reader *r, char c)
{
	if (r->p == r->end || *r->p != c)
		return false;
	r->p++;
	return true;
}

static bool take_word(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
		return false;
	r->p += n;
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits after \u, or -1. */
static long take_hex4(struct reader *r)
{
	long v = 0;

	if (r->end - r->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(*r->p++);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* The code point of the escape after '\u' (a surrogate pair counts as
 * one), or -1: a lone surrogate is not a character. */
static long take_unicode(struct reader *r)
{
	long hi = take_hex4(r), lo;

	if (hi < 0xd800 || hi > 0xdfff)
		return hi;
	if (hi > 0xdbff || !take(r, '\\') || !take(r, 'u'))
		return -1;
	lo = take_hex4(r);
	if (lo < 0xdc00 || lo > 0xdfff)
		return -1;
	return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* Appends the UTF-8 form of cp to out (*n bytes so far, size in all);
 * false when it does not fit. */
static bool put_utf8(char *out, size_t size, size_t *n, long cp)
{
	static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	unsigned char b[4];
	size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

	b[0] = (unsigned char)(lead[len] | (cp >> (6 * (len - 1))));
	for (size_t i = 1; i < len; i++)
		b[i] = (unsigned char)(0x80 | ((cp >> (6 * (len - 1 - i))) & 0x3f));
	if (!out)
		return true;
	if (*n + len >= size)
		return false;
	memcpy(out + *n, b, len);
	*n += len;
	return true;
}

/* A string at r->p; its decoded text goes to out (NUL-terminated) when
 * out is not NULL.  -1 when it is not a valid string, -2 when it is but
 * does not fit or holds a NUL. */
static int read_string(struct reader *r, char *out, size_t size)
{
	static const char escaped[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
	bool fits = true;
	size_t n = 0;

	if (!take(r, '"'))
		return -1;
	while (r->p < r->end && *r->p != '"') {
		const unsigned char *s = (const unsigned char *)r->p;
		long cp;

		if (*s < 0x20)
			return -1;
		if (*s == '\\') {
			const char *e;

			r->p++;
			if (r->p == r->end)
				return -1;
			if (*r->p == 'u') {
				r->p++;
				cp = take_unicode(r);
			} else if ((e = memchr(escaped, *r->p, sizeof(escaped) - 1))) {
				cp = (unsigned char)meant[e - escaped];
				r->p++;
			} else {
				return -1;
			}
			if (cp < 0)
				return -1;
			/* a C string cannot hold a NUL */
			fits = fits && (!out || (cp && put_utf8(out, size, &n, cp)));
			continue;
		}
		size_t len = *s < 0x80 ? 1 : utf8_length(s, (size_t)(r->end - r->p));

		if (!len)
			return -1;
		if (out && fits && n + len < size)
			memcpy(out + n, s, len);
		fits = fits && (!out || n + len < size);
		n += len;
		r->p += len;
	}
	if (!take(r, '"'))
		return -1;
	if (out && fits)
		out[n] = '\0';
	return fits ? 0 : -2;
}

/* A number (RFC 8259's grammar); *whole set to its value when it is an
 * integer in 0..UINT64_MAX, else *is_whole false. */
static bool read_number(struct reader *r, uint64_t *whole, bool *is_whole)
{
	uint64_t v = 0;
	bool ok = true;

	if (take(r, '-'))
		ok = false;
	if (r->p == r->end || *r->p < '0' || *r->p > '9')
		return false;
	if (*r->p == '0') {
		r->p++;
	} else {
		for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++) {
			unsigned d = (unsigned)(*r->p - '0');

			if (v > (UINT64_MAX - d) / 10)
				ok = false;
			v = v * 10 + d;
		}
	}
	if (take(r, '.')) {
		ok = false;
		if (r->p == r->end || *r->p < '0' || *r->p > '9')
			return false;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (take(r, 'e') || take(r, 'E')) {
		ok = false;
		if (!take(r, '+'))
			take(r, '-');
		if (r->p == r->end || *r->p < '0' || *r->p > '9')
			return false;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	*whole = v;
	*is_whole = ok;
	return true;
}

static bool read_value(struct reader *r);

/* The members of an object or the elements of an array, after its
 * opening bracket. */
static bool read_container(struct reader *r, char close, bool object)
{
	if (++r->depth > JSON_MAX_DEPTH)
		return false;
	skip_space(r);
	if (take(r, close)) {
		r->depth--;
		return true;
	}
	do {
		skip_space(r);
		if (object) {
			if (read_string(r, NULL, 0))
				return false;
			skip_space(r);
			if (!take(r, ':'))
				return false;
		}
		if (!read_value(r))
			return false;
		skip_space(r);
	} while (take(r, ','));
	r->depth--;
	return take(r, close);
}

static bool read_value(struct reader *r)
{
	uint64_t v;
	bool whole;

	skip_space(r);
	if (r->p == r->end)
		return false;
	switch (*r->p) {
	case '{':
		r->p++;
		return read_container(r, '}', true);
	case '[':
		r->p++;
		return read_container(r, ']', false);
	case '"':
		return !read_string(r, NULL, 0);
	case 't':
		return take_word(r, "true");
	case 'f':
		return take_word(r, "false");
	case 'n':
		return take_word(r, "null");
	default:
		return read_number(r, &v, &whole);
	}
}

/* Checks doc and finds the value of the top-level member key: *value
 * points at it, or is NULL when there is none. */
static enum json_read find_member(const char *doc, size_t len, const char *key, const char **value)
{
	struct reader r = { doc, doc + len, 1 };
	char name[64];

	*value = NULL;
	if (len > JSON_MAX_DOCUMENT)
		return JSON_INVALID;
	skip_space(&r);
	if (!take(&r, '{'))
		return JSON_INVALID;
	skip_space(&r);
	if (!take(&r, '}')) {
		do {
			int ret;

			skip_space(&r);
			/* a name too long for name[] cannot be one we look for */
			ret = read_string(&r, name, sizeof(name));
			if (ret == -1)
				return JSON_INVALID;
			skip_space(&r);
			if (!take(&r, ':'))
				return JSON_INVALID;
			skip_space(&r);
			if (!ret && !strcmp(name, key)) {
				if (*value)
					return JSON_INVALID;	/* given twice */
				*value = r.p;
			}
			if (!read_value(&r))
				return JSON_INVALID;
			skip_space(&r);
		} while (take(&r, ','));
		if (!take(&r, '}'))
			return JSON_INVALID;
	}
	skip_space(&r);
	if (r.p != r.end)
		return JSON_INVALID;
	return *value ? JSON_OK : JSON_ABSENT;
}

enum json_read json_read_string(const char *doc, size_t len, const char *key, char *out, size_t size)
{
	const char *value;
	enum json_read ret = find_member(doc, len, key, &value);
	struct reader r = { value, doc + len, 0 };

	if (ret != JSON_OK)
		return ret;
	if (!size || read_string(&r, out, size))
		return JSON_INVALID;
	return JSON_OK;
}

enum json_read json_read_u64(const char *doc, size_t len, const char *key, uint64_t *v)
{
	const char *value;
	enum json_read ret = find_member(doc, len, key, &value);
	struct reader r = { value, doc + len, 0 };
	uint64_t n;
	bool whole;

	if (ret != JSON_OK)
		return ret;
	if (!read_number(&r, &n, &whole) || !whole)
		return JSON_INVALID;
	*v = n;
	return JSON_OK;
}

enum json_read json_read_bool(const char *doc, size_t len, const char *key, bool *v)
{
	const char *value;
	enum json_read ret = find_member(doc, len, key, &value);

	if (ret != JSON_OK)
		return ret;
	if (*value == 't' || *value == 'f') {
		*v = *value == 't';
		return JSON_OK;
	}
	return JSON_INVALID;
}
