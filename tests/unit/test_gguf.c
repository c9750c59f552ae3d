/*
 * test_gguf.c - the GGUF scanner: files laid out as gguf-py lays them out
 * (versions 1 to 3, both byte orders) scan clean; chat templates reach the
 * Jinja check, in every layout; every malformed header, count, string, array, tensor info
 * and layout ends in the expected error, and hidden bytes and duplicate
 * keys in the expected finding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scan_fixture.h"

/* Scans data as a GGUF file in a fresh session. */
static struct pal_scan *
scan(struct fixture *f, const void *data, size_t len)
{
	return scan_fixture_scan_as(f, "m.gguf", data, len, PAL_FMT_GGUF);
}

static void
assert_clean(const struct pal_scan *s, const char *what)
{
	assert_clean_as(s, what, "gguf");
}

/* A GGUF writer for hand-made variants. */
struct gb {
	uint8_t *p;
	size_t n, cap;
	int be;
	unsigned version;
};

static void
put(struct gb *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void
uint_n(struct gb *b, uint64_t v, unsigned w)
{
	uint8_t x[8];
	unsigned i;

	for (i = 0; i < w; i++)
		x[b->be ? w - 1 - i : i] = (uint8_t)(v >> (8 * i));
	put(b, x, w);
}

#define U8(b, v)	uint_n((b), (v), 1)
#define U32(b, v)	uint_n((b), (v), 4)
#define U64(b, v)	uint_n((b), (v), 8)
#define SIZE(b, v)	uint_n((b), (v), (b)->version >= 2 ? 8 : 4)

static void
str_n(struct gb *b, const char *s, size_t n)
{
	SIZE(b, n);
	put(b, s, n);
}

static void
str(struct gb *b, const char *s)
{
	str_n(b, s, strlen(s));
}

static void
header(struct gb *b, unsigned version, uint64_t nt, uint64_t nkv)
{
	memset(b, 0, sizeof(*b));
	b->version = version;
	put(b, "GGUF", 4);
	U32(b, version);
	SIZE(b, nt);
	SIZE(b, nkv);
}

enum { T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR,
	T_U64, T_I64, T_F64 };

static void
kv_str(struct gb *b, const char *key, const char *val)
{
	str(b, key);
	U32(b, T_STR);
	str(b, val);
}

static void
kv_u32(struct gb *b, const char *key, uint32_t val)
{
	str(b, key);
	U32(b, T_U32);
	U32(b, val);
}

/* A tensor info with up to four dimensions. */
static void
tinfo(struct gb *b, const char *name, unsigned nd, const uint64_t *ne,
    uint32_t type, uint64_t off)
{
	unsigned i;

	str(b, name);
	U32(b, nd);
	for (i = 0; i < nd; i++)
		SIZE(b, ne[i]);
	U32(b, type);
	U64(b, off);
}

static void
pad(struct gb *b, size_t align, uint8_t fill)
{
	while (b->n % align != 0)
		put(b, &fill, 1);
}

static void
fill(struct gb *b, size_t n, uint8_t v)
{
	while (n-- > 0)
		put(b, &v, 1);
}

static struct pal_scan *
scan_gb(struct fixture *f, struct gb *b)
{
	struct pal_scan *s = scan(f, b->p, b->n);

	free(b->p);
	b->p = NULL;
	return s;
}

/* A valid file of two F32 tensors: "a" [4] at 0 and "b" [8] at 32. */
static void
two_tensors(struct gb *b, uint64_t off_a, uint64_t off_b)
{
	static const uint64_t four[] = { 4 }, eight[] = { 8 };

	header(b, 3, 2, 1);
	kv_str(b, "general.architecture", "llama");
	tinfo(b, "a", 1, four, 0, off_a);
	tinfo(b, "b", 1, eight, 0, off_b);
	pad(b, 32, 0);
}

static void
real_files_scan_clean(void **state)
{
	static const char *const files[] = {
		"tensors/gguf_v3.gguf", "tensors/gguf_v2.gguf",
		"tensors/gguf_v1.gguf", "tensors/gguf_be.gguf",
		"tensors/gguf_align64.gguf", "tensors/gguf_vocab_only.gguf",
	};
	size_t i, len;
	uint8_t *p;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = load(files[i], &len);
		assert_clean(scan(*state, p, len), files[i]);
		free(p);
	}
}

/* Findings of the Jinja check, all located in the key named where. */
static size_t
jinja_findings(const struct pal_scan *s, const char *where)
{
	const struct pal_finding *fd;
	size_t i, n = 0;

	for (i = 0; i < pal_scan_nfindings(s); i++) {
		fd = pal_scan_finding(s, i);
		if (strncmp(fd->rule, "jinja.", 6) != 0)
			continue;
		if (strncmp(fd->location, where, strlen(where)) != 0 ||
		    fd->location[strlen(where)] != ' ')
			fail_msg("finding at %s, want %s", fd->location, where);
		n++;
	}
	return n;
}

/*
 * Every template goes to the Jinja check: a benign one is clean, the
 * sandbox escape of CVE-2024-34359 is found in the key that holds it.
 */
static void
chat_templates_reach_the_jinja_check(void **state)
{
	struct pal_scan *s;
	size_t len;
	uint8_t *p;

	p = load("tensors/gguf_template.gguf", &len);
	assert_clean(scan(*state, p, len), "benign templates");
	free(p);

	p = load("tensors/gguf_template_evil.gguf", &len);
	s = scan(*state, p, len);
	free(p);
	assert_int_equal(pal_scan_result(s, 0)->status, PAL_ITEM_FINDINGS);
	assert_true(jinja_findings(s, "tokenizer.chat_template") > 0);
	assert_int_equal(jinja_findings(s, "tokenizer.chat_template"),
	    pal_scan_nfindings(s));
}

/*
 * A template is extracted in every version and byte order, from the base
 * key and from a named one; keys that only look similar are not templates.
 */
static void
templates_in_every_layout(void **state)
{
	struct pal_scan *s;
	struct gb b;
	unsigned v;
	int be;

	for (v = 1; v <= 3; v++) {
		for (be = 0; be <= 1; be++) {
			memset(&b, 0, sizeof(b));
			b.be = be;
			b.version = v;
			put(&b, "GGUF", 4);
			U32(&b, v);
			SIZE(&b, 0);
			SIZE(&b, 2);
			kv_str(&b, "tokenizer.chat_template", "{{ messages }}");
			kv_str(&b, "tokenizer.chat_template.rag",
			    "{{ x.__class__.__mro__ }}");
			s = scan_gb(*state, &b);
			if (jinja_findings(s, "tokenizer.chat_template.rag") == 0)
				fail_msg("version %u, big-endian %d: template "
				    "not checked", v, be);
		}
	}
	header(&b, 3, 0, 2);
	str(&b, "tokenizer.chat_templates");
	U32(&b, T_ARR);
	U32(&b, T_STR);
	U64(&b, 1);
	str(&b, "{{ x.__class__ }}");
	kv_str(&b, "tokenizer.chat_template_x", "{{ x.__class__ }}");
	assert_clean(scan_gb(*state, &b), "not templates");
}

/*
 * A template the check cannot parse makes the file an error, but only
 * after the rest of the file was scanned: what follows is still found.
 */
static void
unparsable_templates_are_errors(void **state)
{
	const struct pal_scan_result *r;
	struct pal_scan *s;
	struct gb b;

	header(&b, 3, 0, 1);
	kv_str(&b, "tokenizer.chat_template", "{% for %}");
	r = pal_scan_result(scan_gb(*state, &b), 0);
	assert_int_equal(r->status, PAL_ITEM_ERROR);
	assert_non_null(strstr(r->detail,
	    "gguf: key 'tokenizer.chat_template': "));

	header(&b, 3, 0, 3);
	kv_str(&b, "tokenizer.chat_template", "{% for %}");
	kv_str(&b, "general.name", "a");
	kv_str(&b, "general.name", "b");
	s = scan_gb(*state, &b);
	r = pal_scan_result(s, 0);
	assert_int_equal(count_rule(s, "gguf.duplicate-key"), 1);
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	assert_non_null(strstr(r->detail, "tokenizer.chat_template"));
}

static void
header_errors(void **state)
{
	struct fixture *f = *state;
	struct gb b;

	assert_error(scan(f, "GGU", 3), "file ends in the header at offset 0");
	assert_error(scan(f, "GGUF\x03\x00\x00\x00\x00", 9),
	    "file ends in the header");
	assert_error(scan(f, "GGUG\x03\x00\x00\x00", 8), "bad magic");
	header(&b, 3, 0, 0);
	b.p[4] = 0;
	assert_error(scan_gb(f, &b), "version 0 at offset 4");
	header(&b, 3, 0, 0);
	b.p[4] = 4;
	assert_error(scan_gb(f, &b), "version 4 at offset 4");
	header(&b, 3, 0, 0);
	b.p[4] = 0;
	b.p[5] = 1;
	assert_error(scan_gb(f, &b), "version 256");
}

static void
counts_fail_against_the_bytes_present(void **state)
{
	struct fixture *f = *state;
	struct gb b;

	header(&b, 3, (uint64_t)1 << 60, 0);
	assert_error(scan_gb(f, &b), "1152921504606846976 tensor infos need "
	    "at least 18446744073709551615 bytes; only 0 remain at offset 24");
	header(&b, 3, 0, (uint64_t)1 << 60);
	kv_u32(&b, "a", 1);
	assert_error(scan_gb(f, &b), "1152921504606846976 key/value pairs "
	    "need at least");
	header(&b, 1, 0xffffffff, 0);
	assert_error(scan_gb(f, &b), "4294967295 tensor infos need at least "
	    "85899345900 bytes; only 0 remain at offset 16");
	/* Enough bytes, but more pairs than the cap. */
	header(&b, 3, 0, ((uint64_t)1 << 20) + 1);
	fill(&b, (((size_t)1 << 20) + 1) * 14, 0);
	assert_error(scan_gb(f, &b), "1048577 key/value pairs, more than "
	    "1048576");
}

static void
string_and_key_errors(void **state)
{
	struct fixture *f = *state;
	struct gb b;

	header(&b, 3, 0, 1);
	U64(&b, 100);
	put(&b, "general.name", 12);
	assert_error(scan_gb(f, &b), "a metadata key at offset 24 is 100 "
	    "bytes; only 12 remain");
	header(&b, 3, 0, 1);
	U64(&b, ((uint64_t)1 << 30) + 1);
	fill(&b, 16, 'a');
	assert_error(scan_gb(f, &b), "more than 1073741824");
	header(&b, 3, 0, 1);
	kv_str(&b, "", "x");
	assert_error(scan_gb(f, &b), "key 0 at offset 24 is empty");
	header(&b, 3, 0, 1);
	str_n(&b, "general.\0name", 13);
	U32(&b, T_U8);
	U8(&b, 1);
	assert_error(scan_gb(f, &b), "holds a NUL ('general.\\x00name')");
	header(&b, 3, 0, 1);
	kv_str(&b, "general.\xc3", "x");
	assert_error(scan_gb(f, &b), "a metadata key at offset 24 is not "
	    "valid UTF-8");
	header(&b, 3, 0, 1);
	kv_str(&b, "general.name", "caf\xc3\x28");
	assert_error(scan_gb(f, &b), "a string value at offset");
	header(&b, 3, 0, 1);
	str(&b, "k");
	U32(&b, 13);
	U8(&b, 0);
	assert_error(scan_gb(f, &b), "key 'k' at offset 37 has unknown type "
	    "13");
	header(&b, 3, 0, 1);
	str(&b, "flag");
	U32(&b, T_BOOL);
	U8(&b, 2);
	assert_error(scan_gb(f, &b), "key 'flag': bool at offset 40 is 2");
	header(&b, 3, 0, 1);
	str(&b, "v");
	U32(&b, T_F64);
	fill(&b, 7, 0);
	assert_error(scan_gb(f, &b), "file ends in a value");
}

static void
array_errors(void **state)
{
	struct fixture *f = *state;
	struct gb b;
	int i;

	header(&b, 3, 0, 1);
	str(&b, "a");
	U32(&b, T_ARR);
	U32(&b, 99);
	U64(&b, 0);
	assert_error(scan_gb(f, &b), "key 'a': array at offset 37 has unknown "
	    "element type 99");
	header(&b, 3, 0, 1);
	str(&b, "a");
	U32(&b, T_ARR);
	U32(&b, T_U32);
	U64(&b, (uint64_t)1 << 62);
	fill(&b, 64, 0);
	assert_error(scan_gb(f, &b), "array of 4611686018427387904 elements "
	    "at offset 37 needs at least 18446744073709551615 bytes; only 64 "
	    "remain");
	header(&b, 3, 0, 1);
	str(&b, "s");
	U32(&b, T_ARR);
	U32(&b, T_STR);
	U64(&b, 3);
	str(&b, "x");
	str(&b, "y");
	U64(&b, 0);
	assert_clean(scan_gb(f, &b), "string array");
	header(&b, 3, 0, 1);
	str(&b, "s");
	U32(&b, T_ARR);
	U32(&b, T_STR);
	U64(&b, 3);
	str(&b, "x");
	str(&b, "y");
	assert_error(scan_gb(f, &b), "array of 3 elements");
	header(&b, 3, 0, 1);
	str(&b, "b");
	U32(&b, T_ARR);
	U32(&b, T_BOOL);
	U64(&b, 3);
	U8(&b, 1);
	U8(&b, 0);
	U8(&b, 7);
	assert_error(scan_gb(f, &b), "bool at offset 51 is 7");
	/* Eight levels of arrays are read; a ninth is refused. */
	for (i = 8; i <= 9; i++) {
		int j;

		header(&b, 3, 0, 1);
		str(&b, "n");
		U32(&b, T_ARR);
		for (j = 1; j < i; j++) {
			U32(&b, T_ARR);
			U64(&b, 1);
		}
		U32(&b, T_U8);
		U64(&b, 1);
		U8(&b, 5);
		if (i == 8)
			assert_clean(scan_gb(f, &b), "8 levels");
		else
			assert_error(scan_gb(f, &b), "arrays nested deeper "
			    "than 8");
	}
}

static void
alignment_and_template_types(void **state)
{
	struct fixture *f = *state;
	struct gb b;

	header(&b, 3, 0, 1);
	str(&b, "general.alignment");
	U32(&b, T_U64);
	U64(&b, 64);
	assert_error(scan_gb(f, &b), "general.alignment at offset 53 is of "
	    "type 10, not u32");
	header(&b, 3, 0, 1);
	kv_u32(&b, "general.alignment", 48);
	assert_error(scan_gb(f, &b), "is 48, not a power of two");
	header(&b, 3, 0, 1);
	kv_u32(&b, "general.alignment", 0);
	assert_error(scan_gb(f, &b), "is 0, not a power of two");
	header(&b, 3, 0, 1);
	kv_u32(&b, "tokenizer.chat_template", 1);
	assert_error(scan_gb(f, &b), "key 'tokenizer.chat_template' at offset "
	    "24 is of type 4, not a string");
}

static const struct {
	const char *name;
	unsigned nd;
	uint64_t ne[5];
	uint32_t type;
	const char *err;
} bad_tensors[] = {
	{ "0123456789012345678901234567890123456789012345678901234567890123",
	    1, { 1 }, 0, "is 64 bytes or holds a NUL (ggml's limit is 63)" },
	{ "t", 5, { 1, 1, 1, 1, 1 }, 0, "tensor 't' has 5 dimensions; ggml "
	    "allows 4" },
	{ "t", 1, { 1 }, 4, "tensor 't' has unknown ggml type 4" },
	{ "t", 1, { 1 }, 31, "unknown ggml type 31" },
	{ "t", 1, { 1 }, 42, "unknown ggml type 42" },
	{ "t", 1, { 33 }, 8, "33 elements per row is not a multiple of "
	    "Q8_0's block of 32" },
	{ "t", 2, { 1, (uint64_t)1 << 63 }, 0, "dimension 1 is "
	    "9223372036854775808" },
	{ "t", 3, { 1u << 31, 1u << 31, 4 }, 0, "element count overflows "
	    "int64" },
	{ "t", 0, { 0 }, 12, "a scalar cannot be Q4_K" },
	{ "t", 1, { (uint64_t)1 << 62 }, 0, "size in bytes overflows" },
};

static void
tensor_info_errors(void **state)
{
	struct gb b;
	size_t i;

	for (i = 0; i < sizeof(bad_tensors) / sizeof(bad_tensors[0]); i++) {
		print_message("tensor case %zu\n", i);
		header(&b, 3, 1, 0);
		tinfo(&b, bad_tensors[i].name, bad_tensors[i].nd,
		    bad_tensors[i].ne, bad_tensors[i].type, 0);
		pad(&b, 32, 0);
		fill(&b, 64, 0);
		assert_error(scan_gb(*state, &b), bad_tensors[i].err);
	}
	header(&b, 3, 1, 0);
	str(&b, "t");
	U32(&b, 1);
	U64(&b, 4);
	assert_error(scan_gb(*state, &b), "1 tensor infos need at least 24 "
	    "bytes; only 21 remain at offset 24");
	header(&b, 3, 1, 0);
	str(&b, "tensor");
	U32(&b, 1);
	U64(&b, 4);
	assert_error(scan_gb(*state, &b), "file ends in a tensor's type and "
	    "offset at offset 50");
}

static void
layout_errors(void **state)
{
	struct fixture *f = *state;
	static const uint64_t four[] = { 4 };
	struct gb b;

	two_tensors(&b, 0, 32);
	fill(&b, 16, 0x11);
	fill(&b, 16, 0);
	fill(&b, 32, 0x11);
	assert_clean(scan_gb(f, &b), "two tensors");
	two_tensors(&b, 0, 36);
	fill(&b, 96, 0);
	assert_error(scan_gb(f, &b), "tensor 'b' offset 36 is not a multiple "
	    "of the alignment 32");
	two_tensors(&b, 0, 32);
	fill(&b, 40, 0);
	assert_error(scan_gb(f, &b), "tensor 'b' data [32, +32) runs past the "
	    "40-byte data section");
	two_tensors(&b, 0, 0);
	fill(&b, 64, 0);
	assert_error(scan_gb(f, &b), "tensor 'b' [0, 32) overlaps tensor 'a' "
	    "[0, 16)");
	header(&b, 3, 2, 0);
	tinfo(&b, "same", 1, four, 0, 0);
	tinfo(&b, "same", 1, four, 0, 32);
	pad(&b, 32, 0);
	fill(&b, 64, 0);
	assert_error(scan_gb(f, &b), "two tensors are named 'same'");
	/* Out of order but apart: accepted (llama.cpp wants them in order). */
	two_tensors(&b, 32, 0);
	fill(&b, 64, 0);
	assert_clean(scan_gb(f, &b), "reordered");
	two_tensors(&b, 16, 0);
	fill(&b, 64, 0);
	assert_error(scan_gb(f, &b), "tensor 'a' offset 16 is not a multiple");
	two_tensors(&b, 64, 0);
	fill(&b, 96, 0);
	assert_clean(scan_gb(f, &b), "reordered");
	/* The data section itself must exist for tensors to be in it. */
	header(&b, 3, 1, 0);
	tinfo(&b, "t", 1, four, 0, 0);
	assert_error(scan_gb(f, &b), "the data section would start at offset "
	    "64, past the end of the 57-byte file");
}

static void
hidden_bytes_are_findings(void **state)
{
	struct fixture *f = *state;
	const struct pal_finding *fd;
	struct pal_scan *s;
	struct gb b;
	size_t start;

	/* Non-zero padding before the data section. */
	header(&b, 3, 2, 1);
	kv_str(&b, "general.architecture", "llama");
	{
		static const uint64_t four[] = { 4 }, eight[] = { 8 };

		tinfo(&b, "a", 1, four, 0, 0);
		tinfo(&b, "b", 1, eight, 0, 32);
	}
	pad(&b, 32, 'X');
	start = b.n;
	fill(&b, 64, 0);
	s = scan_gb(f, &b);
	fd = finding(s, "gguf.unreferenced-data");
	assert_non_null(strstr(fd->reason, "of padding before the data "
	    "section"));
	assert_int_equal(pal_scan_result(s, 0)->status, PAL_ITEM_FINDINGS);
	(void)start;

	/* Non-zero bytes between two tensors. */
	two_tensors(&b, 0, 32);
	fill(&b, 16, 0);
	fill(&b, 3, 0);
	fill(&b, 13, 'P');
	fill(&b, 32, 0);
	s = scan_gb(f, &b);
	fd = finding(s, "gguf.unreferenced-data");
	assert_non_null(strstr(fd->reason, "16 bytes between tensors hold "
	    "non-zero data"));
	assert_int_equal(pal_scan_nfindings(s), 1);

	/* A pickle after the last tensor: found and scanned as a pickle. */
	two_tensors(&b, 0, 32);
	fill(&b, 64, 0);
	put(&b, "\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.", 13);
	s = scan_gb(f, &b);
	assert_non_null(strstr(finding(s, "gguf.trailing-data")->reason,
	    "13 bytes follow the last tensor's data"));
	assert_int_equal(pal_scan_nresults(s), 2);
	assert_string_equal(pal_scan_result(s, 1)->name,
	    "m.gguf!<trailing data>");
	assert_string_equal(pal_scan_result(s, 1)->format, "pickle");

	/* Zero bytes after the last tensor are padding, not a finding. */
	two_tensors(&b, 0, 32);
	fill(&b, 64 + 100, 0);
	assert_clean(scan_gb(f, &b), "zero tail");

	/* A vocabulary-only file with bytes after its metadata. */
	header(&b, 3, 0, 1);
	kv_str(&b, "general.architecture", "llama");
	put(&b, "PK\x03\x04", 4);
	assert_int_equal(count_rule(scan_gb(f, &b), "gguf.trailing-data"), 1);
}

static void
duplicate_keys_are_findings(void **state)
{
	const struct pal_finding *fd;
	struct pal_scan *s;
	struct gb b;

	header(&b, 3, 0, 3);
	kv_str(&b, "general.name", "a");
	kv_u32(&b, "general.alignment", 32);
	kv_str(&b, "general.name", "b");
	s = scan_gb(*state, &b);
	fd = finding(s, "gguf.duplicate-key");
	assert_non_null(strstr(fd->reason, "key 'general.name' appears again "
	    "(also at offset 24)"));
	assert_int_equal(pal_scan_nfindings(s), 1);
	assert_int_equal(pal_scan_result(s, 0)->status, PAL_ITEM_FINDINGS);
}

/* A prefix is clean only when what was cut off is zero padding. */
static void
truncations_are_errors(void **state)
{
	static const char *const files[] = {
		"tensors/gguf_v3.gguf", "tensors/gguf_v1.gguf",
		"tensors/gguf_be.gguf",
	};
	const struct pal_scan_result *r;
	size_t i, n, k, len;
	uint8_t *p;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = load(files[i], &len);
		for (n = 0; n < len; n++) {
			uint8_t *cut = malloc(n + 1);

			assert_non_null(cut);
			memcpy(cut, p, n);
			r = pal_scan_result(scan(*state, cut, n), 0);
			free(cut);
			if (r->status == PAL_ITEM_ERROR)
				continue;
			assert_int_equal(r->status, PAL_ITEM_CLEAN);
			for (k = n; k < len; k++)
				if (p[k] != 0)
					fail_msg("%s cut at %zu is clean", files[i],
					    n);
		}
		free(p);
	}
}

static void
bit_flips_do_not_crash(void **state)
{
	const struct pal_scan_result *r;
	size_t i, len;
	uint8_t *p;
	int bit;

	p = load("tensors/gguf_template.gguf", &len);
	for (i = 0; i < len; i += 3) {
		for (bit = 0; bit < 8; bit++) {
			p[i] ^= (uint8_t)(1u << bit);
			r = pal_scan_result(scan(*state, p, len), 0);
			assert_true(r->status == PAL_ITEM_CLEAN ||
			    r->status == PAL_ITEM_ERROR ||
			    r->status == PAL_ITEM_FINDINGS);
			p[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(p);
}

static void
rules_are_registered(void **state)
{
	static const char *const ids[] = {
		"gguf.unreferenced-data", "gguf.trailing-data",
		"gguf.duplicate-key",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_non_null(pal_scan_rule(ids[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(real_files_scan_clean, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    chat_templates_reach_the_jinja_check, setup, teardown),
		cmocka_unit_test_setup_teardown(templates_in_every_layout,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    unparsable_templates_are_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(header_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    counts_fail_against_the_bytes_present, setup, teardown),
		cmocka_unit_test_setup_teardown(string_and_key_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(array_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(alignment_and_template_types,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(tensor_info_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(layout_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(hidden_bytes_are_findings,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(duplicate_keys_are_findings,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(truncations_are_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(bit_flips_do_not_crash, setup,
		    teardown),
		cmocka_unit_test(rules_are_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
