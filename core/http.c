// SPDX-License-Identifier: MIT
/*
 * The HTTP/1.1 request parser of the API socket: RFC 9112's request
 * syntax, narrowed to what a client of a local REST API sends.  See
 * core/http.h for what it refuses and why.
 */
#include "core/http.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* A cursor over one line of the head, [p, end) without its CRLF. */
struct line {
	const char *p, *end;
};

static bool is_tchar(char c)
{
	/* RFC 9110 token characters */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A bare LF or CR (line ends are CRLF) or a NUL anywhere in buf:
 * refused at once rather than waited on, so a client that is not
 * speaking HTTP learns it with its first bytes. */
static bool has_bad_byte(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!buf[i] || (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')))
			return true;
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return true;
	}
	return false;
}

/* The length of the head with its blank line, or 0 if not all there. */
static size_t head_length(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && !memcmp(buf + i - 3, "\r\n\r\n", 4))
			return i + 1;
	return 0;
}

/* The next CRLF-ended line of the head from *pos. */
static struct line next_line(const char *head, size_t head_len, size_t *pos)
{
	struct line l = { head + *pos, head + *pos };

	while (l.end < head + head_len && *l.end != '\r')
		l.end++;
	*pos = (size_t)(l.end - head) + 2;
	return l;
}

/* METHOD SP target SP HTTP/1.x */
static int parse_request_line(struct line l, struct http_request *req)
{
	size_t n = 0;

	while (l.p < l.end && *l.p >= 'A' && *l.p <= 'Z' && n < HTTP_MAX_METHOD - 1)
		req->method[n++] = *l.p++;
	req->method[n] = '\0';
	if (!n || l.p == l.end || *l.p++ != ' ')
		return -400;
	if (l.p == l.end || *l.p != '/')
		return -400;
	for (n = 0; l.p < l.end && *l.p != ' '; n++, l.p++) {
		if (*l.p < 0x21 || *l.p > 0x7e)
			return -400;
		if (n == HTTP_MAX_TARGET - 1)
			return -414;
		req->target[n] = *l.p;
	}
	req->target[n] = '\0';
	if (l.p == l.end || *l.p++ != ' ')
		return -400;
	if ((size_t)(l.end - l.p) != 8 || memcmp(l.p, "HTTP/", 5))
		return -400;
	if (l.p[5] != '1' || l.p[6] != '.' || (l.p[7] != '1' && l.p[7] != '0'))
		return -505;
	req->close = l.p[7] == '0';
	return 0;
}

/* Content-Length: 1*DIGIT, no sign, no list, at most HTTP_MAX_BODY. */
static int parse_length(struct line v, size_t *out)
{
	uint64_t n = 0;

	if (v.p == v.end)
		return -400;
	for (; v.p < v.end; v.p++) {
		if (*v.p < '0' || *v.p > '9')
			return -400;
		n = n * 10 + (uint64_t)(*v.p - '0');
		if (n > HTTP_MAX_BODY)
			return -413;
	}
	*out = (size_t)n;
	return 0;
}

/* Whether the comma-separated list v holds the token `word`. */
static bool has_token(struct line v, const char *word)
{
	size_t wl = strlen(word);

	while (v.p < v.end) {
		const char *start, *stop;

		while (v.p < v.end && (*v.p == ' ' || *v.p == '\t' || *v.p == ','))
			v.p++;
		start = v.p;
		while (v.p < v.end && *v.p != ',')
			v.p++;
		stop = v.p;
		while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if ((size_t)(stop - start) == wl && !strncasecmp(start, word, wl))
			return true;
	}
	return false;
}

static bool name_is(struct line name, const char *what)
{
	size_t n = strlen(what);

	return (size_t)(name.end - name.p) == n && !strncasecmp(name.p, what, n);
}

/* name ":" OWS value OWS, the value without control characters. */
static int parse_header(struct line l, struct http_request *req, bool *have_length)
{
	struct line name = { l.p, l.p }, value;
	int ret;

	while (name.end < l.end && is_tchar(*name.end))
		name.end++;
	if (name.end == name.p || name.end == l.end || *name.end != ':')
		return -400;
	value.p = name.end + 1;
	value.end = l.end;
	while (value.p < value.end && (*value.p == ' ' || *value.p == '\t'))
		value.p++;
	while (value.end > value.p && (value.end[-1] == ' ' || value.end[-1] == '\t'))
		value.end--;
	for (const char *c = value.p; c < value.end; c++)
		if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
			return -400;
	if (name_is(name, "Transfer-Encoding"))
		return -411;	/* a body is sent with its length, or not at all */
	if (name_is(name, "Content-Length")) {
		if (*have_length)
			return -400;	/* two lengths: which one frames the body? */
		*have_length = true;
		ret = parse_length(value, &req->body_len);
		if (ret)
			return ret;
	}
	if (name_is(name, "Connection") && has_token(value, "close"))
		req->close = true;
	return 0;
}

int http_parse(const char *buf, size_t len, struct http_request *req)
{
	size_t seen = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	size_t head_len, pos = 0;
	bool have_length = false;
	struct line l;
	int ret;

	memset(req, 0, sizeof(*req));
	head_len = head_length(buf, seen);
	if (has_bad_byte(buf, head_len ? head_len : seen))
		return -400;
	if (!head_len)
		return len >= HTTP_MAX_HEAD ? -431 : 0;
	ret = parse_request_line(next_line(buf, head_len, &pos), req);
	if (ret)
		return ret;
	for (;;) {
		l = next_line(buf, head_len, &pos);
		if (l.p == l.end)
			break;	/* the blank line */
		if (*l.p == ' ' || *l.p == '\t')
			return -400;	/* obsolete line folding */
		ret = parse_header(l, req, &have_length);
		if (ret)
			return ret;
	}
	if (len - head_len < req->body_len)
		return 0;
	req->body = buf + head_len;
	req->total_len = head_len + req->body_len;
	return 1;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}
