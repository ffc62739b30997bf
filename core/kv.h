/* SPDX-License-Identifier: MIT */
/*
 * key=value lists as cloud-hypervisor spells option values:
 * "path=/img,readonly=on,num_queues=2".  A bare word ("tty", "off") is a
 * key without a value.  Parsing never allocates beyond one copy of the
 * string, and every failure produces one line naming the bad token.
 */
#ifndef WISP_CORE_KV_H
#define WISP_CORE_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cloud-hypervisor's --disk alone has over twenty keys */
#define KV_MAX 32

struct cli_error {
	char msg[256];
};

struct kv {
	const char *key;
	const char *value;	/* NULL for a bare word */
	bool used;		/* consumed by a getter: see kv_check_unused */
};

/* What a device's value asks of the rest of the command line: its
 * parse() states it, core checks it once the whole command line is read
 * (cloud-hypervisor validates a VM's whole config too), as --cpus or
 * --memory may come after the device's option. */
struct kv_needs {
	/* queues: `key`=`value` allows at most per_vcpu of them per vCPU */
	const char *key;
	unsigned value, per_vcpu;
	/* non-NULL: guest RAM a back-end maps (--memory shared=on), and why */
	const char *shared_memory;
	/* its pci_segment=: --platform num_pci_segments must make it */
	unsigned pci_segment;
	/* its pci_device_id= (0: any slot), no other device's */
	unsigned pci_slot;
};

struct kv_list {
	char *buf;		/* owned copy of the source string */
	const char *source;	/* the text as given, for messages */
	struct kv_needs needs;	/* filled in by the device's parse() */
	size_t n;
	struct kv item[KV_MAX];
};

void cli_errorf(struct cli_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int kv_parse(struct kv_list *kv, const char *text, struct cli_error *err);
void kv_free(struct kv_list *kv);

/* Getters return 1 if the key is present and valid, 0 if absent (out is
 * left alone), -1 on a bad value (err says why). */
int kv_str(struct kv_list *kv, const char *key, const char **out,
	   struct cli_error *err);
/* kv_str where "key=" (or a bare "key") means something: *out is "". */
int kv_str_or_empty(struct kv_list *kv, const char *key, const char **out);
int kv_bool(struct kv_list *kv, const char *key, bool *out,
	    struct cli_error *err);
/* The whole of text as a decimal number: 0, or -1 for anything else
 * (empty, a sign, spaces, other characters, above UINT64_MAX). */
int parse_u64(const char *text, uint64_t *out);

int kv_u64(struct kv_list *kv, const char *key, uint64_t min, uint64_t max,
	   uint64_t *out, struct cli_error *err);
/* "N" or a list "[a,b,...]" (commas inside brackets do not split items):
 * 1 to max_n numbers in min..max into out, their count in *n. */
int kv_u64_list(struct kv_list *kv, const char *key, uint64_t min, uint64_t max,
		uint64_t *out, size_t max_n, size_t *n, struct cli_error *err);
int kv_size(struct kv_list *kv, const char *key, uint64_t *out,
	    struct cli_error *err);
/* A bare word among `words` ("off", "null", "tty"): 1 and *out set, 0 if
 * none is present. */
int kv_word(struct kv_list *kv, const char *const *words, const char **out,
	    struct cli_error *err);

/* After the getters: -1 if any key was never asked for (an unknown key,
 * or a key given twice). */
int kv_check_unused(const struct kv_list *kv, struct cli_error *err);

/* "512M" -> bytes.  Units K, M, G, T (powers of 1024), or none for
 * bytes.  -1 on anything else, including overflow. */
int parse_size(const char *text, uint64_t *out);

/* "52:54:00:12:34:56": six hex pairs, a unicast address; 0 or -1. */
int parse_mac(const char *text, uint8_t mac[6]);

#endif
