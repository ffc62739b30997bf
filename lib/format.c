// SPDX-License-Identifier: MIT
/*
 * wisp's own formatter: the part of printf that wisp's messages use,
 * without floating point, wide characters or locales.  musl's vfprintf
 * brings all of those along and is about a tenth of the tiny binary;
 * lib/libc_printf.c puts this one in its place (CONFIG_SMALL_PRINTF).
 *
 * Supported: flags - 0 + space #, width and precision (numbers or *),
 * lengths hh h l ll z j t, conversions d i u x X o c s p %.  Anything
 * else is copied to the output as it stands, consuming no argument.
 */
#include "lib/format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct out {
	char *buf;
	size_t size;		/* room in buf, including the final NUL */
	size_t len;		/* what the whole output would take */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_n(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int prec;		/* -1: none given */
};

/* Digits of v in `base`, backwards into the end of tmp; returns the start. */
static char *digits(uintmax_t v, unsigned base, bool upper, char *end)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;

	do {
		*--p = set[v % base];
		v /= base;
	} while (v);
	return p;
}

/* neg and is_signed: the value's sign, and whether '+' and ' ' apply
 * (they do to d and i only) */
static void emit_number(struct out *o, const struct spec *s, uintmax_t v, bool neg,
			bool is_signed, unsigned base, bool upper)
{
	char tmp[3 * sizeof(uintmax_t)];
	char *end = tmp + sizeof(tmp);
	char *d = digits(v, base, upper, end);
	int nd = (int)(end - d);
	const char *prefix = "";
	int zeros = 0, plen, body;

	if (s->prec == 0 && v == 0)
		nd = 0;				/* "%.0d" of 0 prints nothing */
	if (neg)
		prefix = "-";
	else if (s->plus && is_signed)
		prefix = "+";
	else if (s->space && is_signed)
		prefix = " ";
	else if (s->alt && base == 16 && v)
		prefix = upper ? "0X" : "0x";
	else if (s->alt && base == 8 && (s->prec <= nd) && !(nd && *d == '0'))
		prefix = "0";
	plen = (int)strlen(prefix);
	if (s->prec > nd)
		zeros = s->prec - nd;
	else if (s->zero && !s->left && s->prec < 0 && s->width > plen + nd)
		zeros = s->width - plen - nd;
	body = plen + zeros + nd;
	if (!s->left)
		put_n(o, ' ', s->width - body);
	for (const char *p = prefix; *p; p++)
		put(o, *p);
	put_n(o, '0', zeros);
	for (int i = 0; i < nd; i++)
		put(o, d[i]);
	if (s->left)
		put_n(o, ' ', s->width - body);
}

static void emit_string(struct out *o, const struct spec *s, const char *str)
{
	int n = 0;

	if (!str)
		str = "(null)";
	while ((s->prec < 0 || n < s->prec) && str[n])
		n++;
	if (!s->left)
		put_n(o, ' ', s->width - n);
	for (int i = 0; i < n; i++)
		put(o, str[i]);
	if (s->left)
		put_n(o, ' ', s->width - n);
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_MAX, LEN_PTRDIFF };

static const char *parse_length(const char *f, enum length *len)
{
	*len = LEN_INT;
	switch (*f) {
	case 'h':
		*len = f[1] == 'h' ? LEN_CHAR : LEN_SHORT;
		return f + (f[1] == 'h' ? 2 : 1);
	case 'l':
		*len = f[1] == 'l' ? LEN_LLONG : LEN_LONG;
		return f + (f[1] == 'l' ? 2 : 1);
	case 'z': *len = LEN_SIZE; return f + 1;
	case 'j': *len = LEN_MAX; return f + 1;
	case 't': *len = LEN_PTRDIFF; return f + 1;
	default: return f;
	}
}

static intmax_t signed_arg(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR: return (signed char)va_arg(*ap, int);
	case LEN_SHORT: return (short)va_arg(*ap, int);
	case LEN_LONG: return va_arg(*ap, long);
	case LEN_LLONG: return va_arg(*ap, long long);
	case LEN_SIZE: return (intmax_t)va_arg(*ap, size_t);
	case LEN_MAX: return va_arg(*ap, intmax_t);
	case LEN_PTRDIFF: return va_arg(*ap, ptrdiff_t);
	default: return va_arg(*ap, int);
	}
}

static uintmax_t unsigned_arg(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned);
	case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned);
	case LEN_LONG: return va_arg(*ap, unsigned long);
	case LEN_LLONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE: return va_arg(*ap, size_t);
	case LEN_MAX: return va_arg(*ap, uintmax_t);
	case LEN_PTRDIFF: return (uintmax_t)va_arg(*ap, ptrdiff_t);
	default: return va_arg(*ap, unsigned);
	}
}

/* A decimal field or '*'; an int that overflows is clamped. */
static const char *parse_count(const char *f, va_list *ap, int *out)
{
	long v = 0;

	if (*f == '*') {
		*out = va_arg(*ap, int);
		return f + 1;
	}
	while (*f >= '0' && *f <= '9') {
		if (v < 100000)
			v = v * 10 + (*f - '0');
		f++;
	}
	*out = (int)v;
	return f;
}

/* Parses one directive after its '%'; returns where the text resumes. */
static const char *directive(struct out *o, const char *start, va_list *ap)
{
	struct spec s = { .prec = -1 };
	const char *f = start;
	enum length len;
	intmax_t sv;

	for (;; f++) {
		if (*f == '-') s.left = true;
		else if (*f == '0') s.zero = true;
		else if (*f == '+') s.plus = true;
		else if (*f == ' ') s.space = true;
		else if (*f == '#') s.alt = true;
		else break;
	}
	f = parse_count(f, ap, &s.width);
	if (s.width < 0) {		/* a negative '*' width means '-' */
		s.left = true;
		s.width = -s.width;
	}
	if (*f == '.') {
		f = parse_count(f + 1, ap, &s.prec);
		if (s.prec < 0)
			s.prec = -1;
	}
	f = parse_length(f, &len);
	switch (*f) {
	case 'd':
	case 'i':
		sv = signed_arg(ap, len);
		emit_number(o, &s, sv < 0 ? -(uintmax_t)sv : (uintmax_t)sv, sv < 0, true, 10, false);
		return f + 1;
	case 'u':
		emit_number(o, &s, unsigned_arg(ap, len), false, false, 10, false);
		return f + 1;
	case 'x':
	case 'X':
		emit_number(o, &s, unsigned_arg(ap, len), false, false, 16, *f == 'X');
		return f + 1;
	case 'o':
		emit_number(o, &s, unsigned_arg(ap, len), false, false, 8, false);
		return f + 1;
	case 'p':
		s.alt = true;
		emit_number(o, &s, (uintptr_t)va_arg(*ap, void *), false, false, 16, false);
		return f + 1;
	case 'c': {
		char c[2] = { (char)va_arg(*ap, int), 0 };

		s.prec = 1;
		if (!c[0]) {	/* a NUL character is still one character */
			if (!s.left)
				put_n(o, ' ', s.width - 1);
			put(o, '\0');
			if (s.left)
				put_n(o, ' ', s.width - 1);
			return f + 1;
		}
		emit_string(o, &s, c);
		return f + 1;
	}
	case 's':
		emit_string(o, &s, va_arg(*ap, const char *));
		return f + 1;
	case '%':
		put(o, '%');
		return f + 1;
	default:
		/* not ours: copy "%..." as it stands */
		put(o, '%');
		for (const char *p = start; p < f; p++)
			put(o, *p);
		return f;
	}
}

int wisp_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt = directive(&o, fmt + 1, &args);
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT32_MAX ? -1 : (int)o.len;
}

int wisp_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = wisp_vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
