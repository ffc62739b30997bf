/* SPDX-License-Identifier: MIT */
/*
 * A strict HTTP/1.1 request parser for the API socket (core/api.c).
 *
 * It accepts only what a REST client of the API needs and refuses the
 * rest with a status: one request at a time, a head of at most
 * HTTP_MAX_HEAD bytes, a body only with Content-Length and of at most
 * HTTP_MAX_BODY bytes, no chunked or other transfer codings, no
 * obsolete line folding, CRLF line ends only.  It works on a buffer the
 * caller owns and never allocates.
 */
#ifndef WISP_CORE_HTTP_H
#define WISP_CORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEAD 4096	/* request line and headers, with the blank line */
#define HTTP_MAX_BODY 4096
#define HTTP_MAX_TARGET 128	/* the path, with its NUL */
#define HTTP_MAX_METHOD 8

struct http_request {
	char method[HTTP_MAX_METHOD];
	char target[HTTP_MAX_TARGET];
	const char *body;	/* inside the caller's buffer */
	size_t body_len;
	size_t total_len;	/* head and body: where the next request starts */
	bool close;		/* "Connection: close", or an HTTP/1.0 request */
};

/*
 * Parses the request at the start of buf[0..len).  Returns 1 with *req
 * filled in when a whole request is there, 0 when more bytes are
 * needed (and may still fit), or the HTTP status that refuses it
 * (400, 411, 413, 414, 431, 501, 505) as a negative number.
 */
int http_parse(const char *buf, size_t len, struct http_request *req);

/* The reason phrase for a status wisp sends ("Not Found"). */
const char *http_reason(int status);

#endif
