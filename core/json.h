/* SPDX-License-Identifier: MIT */
/*
 * A JSON writer into a fixed buffer, for the API socket's answers, and
 * a reader for the request bodies.
 * Callers open and close objects and arrays and add members; commas
 * and string escapes are the writer's business.  Nothing allocates: an
 * answer that does not fit marks the writer overflowed, and the caller
 * sends an error instead of a truncated document.
 */
#ifndef WISP_CORE_JSON_H
#define WISP_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

struct json {
	char *buf;
	size_t size, len;	/* buf[len] is always '\0' */
	bool overflow;		/* something did not fit, or nesting went wrong */
	unsigned depth;
	bool has_member[JSON_MAX_DEPTH];	/* a comma goes before the next one */
};

void json_init(struct json *j, char *buf, size_t size);

/* key: the member name inside an object, NULL inside an array or at
 * the top level. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
/* s NULL writes null */
void json_string(struct json *j, const char *key, const char *s);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);

/* The finished document's length, or -1 if it overflowed or is not
 * closed. */
long json_finish(const struct json *j);

/*
 * The reader: the value of one member of the top-level object in doc
 * (len bytes, no terminator needed).  The whole document is checked
 * first, strictly (RFC 8259: no comments, trailing commas, single
 * quotes, leading zeros, bad escapes, invalid UTF-8, control
 * characters in strings or nesting deeper than JSON_MAX_DEPTH), and a
 * key given twice is refused, so what one reader takes is what any
 * other would.  Nothing allocates and nothing reads past doc + len.
 *
 * Each returns JSON_OK with the value stored, JSON_ABSENT when the
 * object has no such member (nothing stored), or JSON_INVALID when the
 * document is not valid JSON or not an object, the member has another
 * type, or the value does not fit (a string of size bytes or more, or
 * with a NUL in it; a number that is not a whole one in 0..UINT64_MAX).
 */
#define JSON_MAX_DOCUMENT 65536	/* longer documents are JSON_INVALID */

enum json_read { JSON_OK = 0, JSON_ABSENT = 1, JSON_INVALID = -1 };

enum json_read json_read_string(const char *doc, size_t len, const char *key, char *out, size_t size);
enum json_read json_read_u64(const char *doc, size_t len, const char *key, uint64_t *v);
enum json_read json_read_bool(const char *doc, size_t len, const char *key, bool *v);

#endif
