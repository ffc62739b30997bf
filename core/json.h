/* SPDX-License-Identifier: MIT */
/*
 * A JSON writer into a fixed buffer, for the API socket's answers.
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

#endif
