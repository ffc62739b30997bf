// SPDX-License-Identifier: MIT
#include "core/kv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

void cli_errorf(struct cli_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* the message quotes the user's input: a newline or an escape in
	 * it must not break the one-line report or reach the terminal */
	text_printable(err->msg);
}

void kv_free(struct kv_list *kv)
{
	free(kv->buf);
	kv->buf = NULL;
	kv->n = 0;
}

/* ",," anywhere, or a ',' first or last */
static bool has_empty_item(const char *text)
{
	if (text[0] == ',')
		return true;
	for (const char *p = text; *p; p++)
		if (p[0] == ',' && (p[1] == ',' || p[1] == '\0'))
			return true;
	return false;
}

/* The ',' that ends the item at p, or NULL: commas inside "[...]" belong
 * to a list value ("fd=[3,4]"), as cloud-hypervisor writes lists. */
static char *item_end(char *p)
{
	unsigned depth = 0;

	for (; *p; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth)
			depth--;
		else if (*p == ',' && !depth)
			return p;
	}
	return NULL;
}

int kv_parse(struct kv_list *kv, const char *text, struct cli_error *err)
{
	memset(kv, 0, sizeof(*kv));
	kv->source = text;
	/* an empty value is a list of no keys: cloud-hypervisor reads
	 * `--cpus ""` as its defaults, and a device that needs a key says so */
	kv->buf = strdup(text);
	if (!kv->buf) {
		cli_errorf(err, "out of memory");
		return -1;
	}
	/* the items between commas, empty ones skipped as strtok_r would
	 * (and refused below); by hand, as strtok_r brings strspn and
	 * strcspn into the binary */
	for (char *tok = kv->buf, *next; *tok; tok = next) {
		char *comma = item_end(tok);
		char *eq;

		next = comma ? comma + 1 : tok + strlen(tok);
		if (comma == tok)
			continue;
		if (comma)
			*comma = '\0';
		if (kv->n == KV_MAX) {
			cli_errorf(err, "too many items in '%s'", text);
			goto fail;
		}
		eq = strchr(tok, '=');
		if (eq == tok) {
			cli_errorf(err, "missing key before '%s'", tok);
			goto fail;
		}
		if (eq)
			*eq = '\0';
		kv->item[kv->n++] = (struct kv){ tok, eq ? eq + 1 : NULL, false };
	}
	/* the loop skips ",," and a trailing ",": refuse them instead. */
	if (has_empty_item(text)) {
		cli_errorf(err, "empty item in '%s'", text);
		goto fail;
	}
	return 0;
fail:
	kv_free(kv);
	return -1;
}

/* The one item named key, marked used; a duplicate stays unused and
 * so is reported by kv_check_unused. */
static struct kv *kv_take(struct kv_list *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++) {
		if (!strcmp(kv->item[i].key, key) && !kv->item[i].used) {
			kv->item[i].used = true;
			return &kv->item[i];
		}
	}
	return NULL;
}

static int need_value(const struct kv *it, struct cli_error *err)
{
	if (it->value && *it->value)
		return 0;
	cli_errorf(err, "'%s' needs a value (%s=...)", it->key, it->key);
	return -1;
}

int kv_str(struct kv_list *kv, const char *key, const char **out,
	   struct cli_error *err)
{
	struct kv *it = kv_take(kv, key);

	if (!it)
		return 0;
	if (need_value(it, err))
		return -1;
	*out = it->value;
	return 1;
}

int kv_str_or_empty(struct kv_list *kv, const char *key, const char **out)
{
	struct kv *it = kv_take(kv, key);

	if (!it)
		return 0;
	*out = it->value ? it->value : "";
	return 1;
}

int kv_bool(struct kv_list *kv, const char *key, bool *out,
	    struct cli_error *err)
{
	struct kv *it = kv_take(kv, key);

	if (!it)
		return 0;
	if (need_value(it, err))
		return -1;
	if (!strcmp(it->value, "on") || !strcmp(it->value, "true")) {
		*out = true;
		return 1;
	}
	if (!strcmp(it->value, "off") || !strcmp(it->value, "false")) {
		*out = false;
		return 1;
	}
	cli_errorf(err, "'%s=%s': expected on or off", key, it->value);
	return -1;
}

/* Decimal digits only, no sign, no spaces, no overflow.  (Not strtoull:
 * that accepts "-1" and " 1", and brings 2 KiB of libc along.) */
int parse_u64(const char *text, uint64_t *out)
{
	uint64_t v = 0;

	if (!*text)
		return -1;
	for (; *text; text++) {
		unsigned d = (unsigned)(*text - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int kv_u64(struct kv_list *kv, const char *key, uint64_t min, uint64_t max,
	   uint64_t *out, struct cli_error *err)
{
	struct kv *it = kv_take(kv, key);
	uint64_t v;

	if (!it)
		return 0;
	if (need_value(it, err))
		return -1;
	if (parse_u64(it->value, &v)) {
		cli_errorf(err, "'%s=%s': not a number", key, it->value);
		return -1;
	}
	if (v < min || v > max) {
		cli_errorf(err, "'%s=%s': must be %" PRIu64 "..%" PRIu64, key,
			   it->value, min, max);
		return -1;
	}
	*out = v;
	return 1;
}

int kv_u64_list(struct kv_list *kv, const char *key, uint64_t min, uint64_t max,
		uint64_t *out, size_t max_n, size_t *n, struct cli_error *err)
{
	struct kv *it = kv_take(kv, key);
	char buf[256], *p, *end;
	size_t len;

	if (!it)
		return 0;
	if (need_value(it, err))
		return -1;
	len = strlen(it->value);
	if (len >= sizeof(buf)) {
		cli_errorf(err, "'%s=': value too long", key);
		return -1;
	}
	memcpy(buf, it->value, len + 1);
	p = buf;
	if (*p == '[') {
		if (len < 2 || buf[len - 1] != ']') {
			cli_errorf(err, "'%s=%s': a list is [a,b,...]", key, it->value);
			return -1;
		}
		buf[len - 1] = '\0';
		p++;
	}
	for (*n = 0;; p = end + 1) {
		end = strchr(p, ',');
		if (end)
			*end = '\0';
		if (*n == max_n) {
			cli_errorf(err, "'%s=%s': at most %zu values", key, it->value, max_n);
			return -1;
		}
		if (parse_u64(p, &out[*n]) || out[*n] < min || out[*n] > max) {
			cli_errorf(err, "'%s=%s': '%s' is not a number in %" PRIu64 "..%" PRIu64,
				   key, it->value, p, min, max);
			return -1;
		}
		++*n;
		if (!end)
			return 1;
	}
}

int parse_mac(const char *text, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(text) != 17 ||
	    sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return (mac[0] & 1) ? -1 : 0;	/* multicast addresses are not a NIC's */
}

int parse_size(const char *text, uint64_t *out)
{
	static const char units[] = "KMGT";
	size_t len = strlen(text);
	char digits[32];
	unsigned shift = 0;
	uint64_t v;

	if (!len || len >= sizeof(digits))
		return -1;
	memcpy(digits, text, len + 1);
	if (digits[len - 1] < '0' || digits[len - 1] > '9') {
		const char *u = strchr(units, digits[len - 1] & ~0x20);

		if (!u || !(digits[len - 1] & ~0x20))
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
		digits[len - 1] = '\0';
	}
	if (parse_u64(digits, &v) || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

int kv_size(struct kv_list *kv, const char *key, uint64_t *out,
	    struct cli_error *err)
{
	struct kv *it = kv_take(kv, key);

	if (!it)
		return 0;
	if (need_value(it, err))
		return -1;
	if (parse_size(it->value, out)) {
		cli_errorf(err, "'%s=%s': not a size (a number with K, M, G or T)",
			   key, it->value);
		return -1;
	}
	return 1;
}

int kv_word(struct kv_list *kv, const char *const *words, const char **out,
	    struct cli_error *err)
{
	for (size_t i = 0; i < kv->n; i++) {
		struct kv *it = &kv->item[i];

		for (const char *const *w = words; *w; w++) {
			if (it->used || strcmp(it->key, *w))
				continue;
			if (it->value) {
				cli_errorf(err, "'%s' takes no value", it->key);
				return -1;
			}
			it->used = true;
			*out = *w;
			return 1;
		}
	}
	return 0;
}

int kv_check_unused(const struct kv_list *kv, struct cli_error *err)
{
	for (size_t i = 0; i < kv->n; i++) {
		const struct kv *it = &kv->item[i];

		if (it->used)
			continue;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(kv->item[j].key, it->key)) {
				cli_errorf(err, "'%s' given twice", it->key);
				return -1;
			}
		}
		cli_errorf(err, "unknown key '%s'", it->key);
		return -1;
	}
	return 0;
}
