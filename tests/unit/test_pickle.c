/*
 * test_pickle.c - the pickle scanner.
 *
 * Known answers for every opcode family (values, containers, stack and
 * mark semantics, memo, framing, the text forms of protocol 0); benign
 * files written by the real libraries (tests/data/pickle/benign, made by
 * gen_benign.py) scan clean; one hostile file per technique
 * (tests/data/pickle/malicious, made by gen_malicious.py, listed with the
 * rules each must raise in malicious.tsv) raises them; truncations, bit
 * flips and limits end in an error or a finding, never clean.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "scan_fixture.h"
#include "pickle_int.h"

/* Scans data in a fresh session, as a pickle or detected (UNKNOWN). */
static struct pal_scan *
scan_as(struct fixture *f, const void *data, size_t len, enum pal_format fmt)
{
	return scan_fixture_scan_as(f, "t.pkl", data, len, fmt);
}

static struct pal_scan *
scan(struct fixture *f, const void *data, size_t len)
{
	return scan_as(f, data, len, PAL_FMT_PICKLE);
}

#define SCAN(f, lit) scan((f), (lit), sizeof(lit) - 1)

/* A growable byte string for building streams in tests. */
struct bytes {
	uint8_t *p;
	size_t n, cap;
};

static void
put(struct bytes *b, const void *data, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

#define PUT(b, lit) put((b), (lit), sizeof(lit) - 1)

/* A counted opcode: op, a 4-byte little-endian length, n copies of c. */
static void
put_counted(struct bytes *b, uint8_t op, size_t n, uint8_t c)
{
	uint8_t h[5] = { op, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
	    (uint8_t)(n >> 24) };
	uint8_t *fill = malloc(n);

	assert_non_null(fill);
	memset(fill, c, n);
	put(b, h, 5);
	put(b, fill, n);
	free(fill);
}

/* The finding of rule at location "offset off" whose reason has needle. */
static const struct pal_finding *
find_at(const struct pal_scan *s, const char *rule, long off,
    const char *needle)
{
	char loc[48];
	size_t i;

	snprintf(loc, sizeof(loc), "offset %ld", off);
	for (i = 0; i < pal_scan_nfindings(s); i++) {
		const struct pal_finding *fd = pal_scan_finding(s, i);

		if (strcmp(fd->rule, rule) == 0 &&
		    (off < 0 || strcmp(fd->location, loc) == 0) &&
		    (needle == NULL || strstr(fd->reason, needle) != NULL))
			return fd;
	}
	return NULL;
}

static void
dump(const struct pal_scan *s)
{
	size_t i;

	for (i = 0; i < pal_scan_nresults(s); i++)
		print_message("  result %s: status %d %s\n",
		    pal_scan_result(s, i)->name, pal_scan_result(s, i)->status,
		    pal_scan_result(s, i)->detail ?
		    pal_scan_result(s, i)->detail : "");
	for (i = 0; i < pal_scan_nfindings(s); i++)
		print_message("  %s %s: %s\n", pal_scan_finding(s, i)->location,
		    pal_scan_finding(s, i)->rule,
		    pal_scan_finding(s, i)->reason);
}

static void
assert_clean(const struct pal_scan *s, const char *what)
{
	const struct pal_scan_result *r = pal_scan_result(s, 0);

	if (r->status != PAL_ITEM_CLEAN || pal_scan_nfindings(s) != 0) {
		dump(s);
		fail_msg("%s: not clean", what);
	}
	assert_string_equal(r->format, "pickle");
}

static void
expect_error(const struct pal_scan *s, const char *needle)
{
	const struct pal_scan_result *r = pal_scan_result(s, 0);

	if (r->status != PAL_ITEM_ERROR || r->detail == NULL ||
	    strstr(r->detail, needle) == NULL) {
		dump(s);
		fail_msg("want error containing \"%s\"", needle);
	}
}

static void
assert_found(const struct pal_scan *s, const char *rule, long off,
    const char *needle)
{
	if (find_at(s, rule, off, needle) == NULL) {
		dump(s);
		fail_msg("want %s at %ld (%s)", rule, off, needle ? needle : "");
	}
}

/* Values: every scalar opcode, in binary and text forms. */
static void
test_scalars(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *data;
		size_t len;
	} ok[] = {
#define OK(x) { x, sizeof(x) - 1 }
		OK("N."), OK("\x80\x02\x88."), OK("\x80\x02\x89."),
		OK("I1\n."), OK("I01\n."), OK("I00\n."), OK("I-17\n."),
		OK("I0x1f\n."), OK("I010\n."), OK("I 5\n."),
		OK("I1_000\n."), OK("I99999999999999999999999\n."),
		OK("I7\x00junk\n."), OK("L12L\n."), OK("L-0x10\n."),
		OK("L123456789012345678901234567890L\n."),
		OK("J\xff\xff\xff\xff."), OK("K\xff."), OK("M\xff\xff."),
		OK("\x8a\x00."), OK("\x8a\x01\xff."),
		OK("\x8a\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c."),
		OK("\x8b\x02\x00\x00\x00\x01\x02."),
		OK("F1.5\n."), OK("F-2e10\n."), OK("Fnan\n."), OK("F-inf\n."),
		OK("F.5\n."), OK("F1.\n."),
		OK("G\x3f\xf0\x00\x00\x00\x00\x00\x00."),
		OK("S'abc'\n."), OK("S\"a'b\"\n."), OK("S'\\x41\\n\\101\\q'\n."),
		OK("S''\n."), OK("T\x02\x00\x00\x00" "ab."), OK("U\x01z."),
		OK("Vabc\n."), OK("V\n."), OK("V\\u00e9\\U0001F600\\x\n."),
		OK("V\xe9t\xe9\n."),
		OK("X\x03\x00\x00\x00\xe2\x98\x83."), OK("\x8c\x00."),
		OK("\x8d\x01\x00\x00\x00\x00\x00\x00\x00" "a."),
		OK("X\x03\x00\x00\x00\xed\xa0\x80."),	/* surrogatepass */
		OK("B\x01\x00\x00\x00\x00."), OK("C\x02\xff\xfe."),
		OK("\x8e\x01\x00\x00\x00\x00\x00\x00\x00\x00."),
		OK("\x96\x01\x00\x00\x00\x00\x00\x00\x00z."),
		OK("\x80\x05\x96\x00\x00\x00\x00\x00\x00\x00\x00\x98."),
#undef OK
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "scalar case %zu", i);
		assert_clean(scan(f, ok[i].data, ok[i].len), what);
	}
}

static void
test_scalar_errors(void **state)
{
	struct fixture *f = *state;

	expect_error(SCAN(f, "I12a\n."), "convert string to int");
	expect_error(SCAN(f, "I\n."), "empty line");
	expect_error(SCAN(f, "I09\n."), "convert string to int");
	expect_error(SCAN(f, "I1__0\n."), "convert string to int");
	expect_error(SCAN(f, "I1"), "not terminated");
	expect_error(SCAN(f, "L0x\n."), "invalid literal");
	expect_error(SCAN(f, "L1 2\n."), "invalid literal");
	expect_error(SCAN(f, "F1e999\n."), "convert string to float");
	expect_error(SCAN(f, "F 1.0\n."), "convert string to float");
	expect_error(SCAN(f, "F1.5x\n."), "convert string to float");
	expect_error(SCAN(f, "F0x10\n."), "convert string to float");
	expect_error(SCAN(f, "Sabc\n."), "must be quoted");
	expect_error(SCAN(f, "S'\n."), "must be quoted");
	expect_error(SCAN(f, "S'a\"\n."), "must be quoted");
	expect_error(SCAN(f, "S'\\x4'\n."), "escape");
	expect_error(SCAN(f, "S'\\'\n."), "escape at position 0");
	expect_error(SCAN(f, "V\\u00\n."), "escape");
	expect_error(SCAN(f, "V\\U00110000\n."), "escape");
	expect_error(SCAN(f, "X\x02\x00\x00\x00\xc3\x28."), "utf-8");
	expect_error(SCAN(f, "X\x05\x00\x00\x00" "ab."), "truncated");
	expect_error(SCAN(f, "\x8c\x05" "ab."), "truncated");
	expect_error(SCAN(f, "\x8e\x00\x00\x00\x00\x00\x00\x00\x80."),
	    "exceeds");
	expect_error(SCAN(f, "\x8b\xff\xff\xff\xff."), "negative byte count");
	expect_error(SCAN(f, "\x8a\x05\x01."), "truncated");
	expect_error(SCAN(f, "J\x01\x02"), "truncated");
	expect_error(SCAN(f, "G\x01."), "truncated");
}

/* Containers and the stack: MARK, fences, POP at a mark, DUP. */
static void
test_containers(void **state)
{
	struct fixture *f = *state;

	assert_clean(SCAN(f, "(lp0\nI1\naI2\na."), "protocol 0 list");
	assert_clean(SCAN(f, "(dp0\nS'a'\np1\nI1\nsS'b'\np2\nI2\ns."),
	    "protocol 0 dict");
	assert_clean(SCAN(f, "(I1\nI2\nt."), "TUPLE");
	assert_clean(SCAN(f, "(I1\nI2\nl."), "LIST");
	assert_clean(SCAN(f, "(I1\nI2\nd."), "DICT");
	assert_clean(SCAN(f, "\x80\x02)."), "EMPTY_TUPLE");
	assert_clean(SCAN(f, "\x80\x02K\x01\x85."), "TUPLE1");
	assert_clean(SCAN(f, "\x80\x02K\x01K\x02\x86."), "TUPLE2");
	assert_clean(SCAN(f, "\x80\x02K\x01K\x02K\x03\x87."), "TUPLE3");
	assert_clean(SCAN(f, "\x80\x02](K\x01K\x02" "e."), "APPENDS");
	assert_clean(SCAN(f, "\x80\x02}(K\x01K\x02K\x03K\x04u."), "SETITEMS");
	assert_clean(SCAN(f, "\x80\x04\x8f(K\x01K\x02\x90."), "ADDITEMS");
	assert_clean(SCAN(f, "\x80\x04(K\x01K\x02\x91."), "FROZENSET");
	assert_clean(SCAN(f, "\x80\x02](e."), "empty APPENDS");
	assert_clean(SCAN(f, "\x80\x02K\x01(e."), "empty APPENDS on int");
	assert_clean(SCAN(f, "N20."), "DUP");
	assert_clean(SCAN(f, "(0N."), "POP at a mark pops the mark");
	assert_clean(SCAN(f, "N(N1."), "POP_MARK");
	assert_clean(SCAN(f, "\x80\x02]K\x01K\x02s."), "SETITEM on a list");
	assert_clean(SCAN(f, "(S'__\\x73" "etstate__'\nI1\nS'\\xe9'\nI2\nd."),
	    "escaped dict keys");

	expect_error(SCAN(f, "0."), "stack underflow");
	expect_error(SCAN(f, "."), "stack underflow");
	expect_error(SCAN(f, "N(."), "unexpected MARK");
	expect_error(SCAN(f, "N(2."), "unexpected MARK");
	expect_error(SCAN(f, "N(\x85."), "unexpected MARK");
	expect_error(SCAN(f, "t."), "could not find MARK");
	expect_error(SCAN(f, "1."), "could not find MARK");
	expect_error(SCAN(f, "(I1\nd."), "odd number of items for DICT");
	expect_error(SCAN(f, "(]I1\nd."), "unhashable type: a list");
	expect_error(SCAN(f, "\x80\x04\x8f(}\x90."), "unhashable type: a dict");
	assert_clean(SCAN(f, "()I1\nd."), "tuple key");
	expect_error(SCAN(f, "\x80\x02}(K\x01u."), "odd number");
	expect_error(SCAN(f, "\x80\x02}(K\x01K\x02" "e."), "on a dict");
	expect_error(SCAN(f, "\x80\x02)K\x01" "a."), "no append");
	expect_error(SCAN(f, "\x80\x02](K\x01\x90."), "no add");
	expect_error(SCAN(f, "\x80\x04(K\x01\x91(K\x01\x90."), "no add");
	expect_error(SCAN(f, "\x80\x02K\x01" "a."), "stack underflow");
	expect_error(SCAN(f, "\x80\x02](K\x01K\x01sN."), "unexpected MARK");
	expect_error(SCAN(f, "\x80\x02]K\x01(b."), "unexpected MARK");
	expect_error(SCAN(f, "\x80\x02]}b."), "no __setstate__");
	assert_clean(SCAN(f, "\x80\x02]Nb."), "BUILD None on a list");
	expect_error(SCAN(f, "\x80\x02N"), "pickle data ends without STOP");
}

/* Several pickles, and a leftover stack. */
static void
test_stop(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;

	s = SCAN(f, "N.N.\x80\x02K\x01.");
	assert_clean(s, "three pickles");
	s = SCAN(f, "NN.");
	assert_found(s, "pickle.malformed-stop", 2, "1 values");
	s = SCAN(f, "(N.");
	assert_found(s, "pickle.malformed-stop", 2, "1 marks");
	s = SCAN(f, "N.\n");
	assert_found(s, "pickle.trailing-data", 2, "1 bytes");
	expect_error(SCAN(f, ""), "no pickle data");
	/* What follows a STOP and does not start like a pickle is junk. */
	assert_found(SCAN(f, "N.N"), "pickle.trailing-data", 2, NULL);
	expect_error(SCAN(f, "N.\x80\x02N"), "without STOP");
}

/* Memo: ids in text and binary, MEMOIZE numbering, sparse ids. */
static void
test_memo(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;

	assert_clean(SCAN(f, "Np5\n0g5\n."), "PUT/GET");
	assert_clean(SCAN(f, "Np 0_5 \n0g5\n."), "PUT with blanks");
	assert_clean(SCAN(f, "\x80\x02Nq\x07" "0h\x07."), "BINPUT/BINGET");
	assert_clean(SCAN(f, "\x80\x02Nr\xff\xff\xff\xff" "0"
	    "j\xff\xff\xff\xff."), "LONG_BINPUT high id");
	assert_clean(SCAN(f, "\x80\x04N\x94K\x01\x94" "00h\x00h\x01" "0."),
	    "MEMOIZE numbering");
	assert_clean(SCAN(f, "\x80\x02]q\x00h\x00" "a."), "self-containing list");
	expect_error(SCAN(f, "\x80\x02h\x03."), "not found at index 3");
	expect_error(SCAN(f, "\x80\x02j\x00\x00\x00\x01."), "not found");
	expect_error(SCAN(f, "g7\n."), "not found at index 7");
	expect_error(SCAN(f, "g-1\n."), "not found");
	expect_error(SCAN(f, "Np-1\n."), "negative PUT");
	expect_error(SCAN(f, "Npx\n."), "base 10");
	expect_error(SCAN(f, "p1\n."), "stack underflow");
	expect_error(SCAN(f, "(q\x01."), "unexpected MARK");
	expect_error(SCAN(f, "g99999999999999999999\n."), "too large");
	/* A name too long to pack goes aside and comes back whole. */
	{
		struct bytes b = { NULL, 0, 0 };

		PUT(&b, "\x80\x04");
		put_counted(&b, 'X', 20000, 'm');
		PUT(&b, "q\x05" "0\x8c\x01xq\x06" "0h\x05h\x06\x93.");
		s = scan(f, b.p, b.n);
		assert_found(s, "pickle.unknown-global", -1, "mmmm");
		free(b.p);
	}
	/* An id reused: reported, and the later value is what GET reads. */
	s = SCAN(f, "\x80\x02K\x01q\x00" "0K\x02q\x00" "0h\x00.");
	assert_found(s, "pickle.memo-overwrite", 9, "memo entry 0");
	/* BINPUT 1 then MEMOIZE: MEMOIZE's id is the count, 1 again. */
	s = SCAN(f, "\x80\x04K\x01q\x01" "0K\x02\x94" "0h\x01.");
	assert_found(s, "pickle.memo-overwrite", 9, "MEMOIZE");
}

/* Memo entries pack into 8 bytes exactly, or say they do not. */
static void
test_memo_pack(void **state)
{
	static const struct {
		uint8_t tag, form;
		uint64_t len;
		int64_t i;
		int fits;
	} cases[] = {
		{ PK_NONE, 0, 0, 0, 1 }, { PK_BOOL, 0, 0, 1, 1 },
		{ PK_INT, 0, 0, -1, 1 }, { PK_INT, 0, 0, 0, 1 },
		{ PK_INT, 0, 0, ((int64_t)1 << 55) - 1, 1 },
		{ PK_INT, 0, 0, -((int64_t)1 << 55), 1 },
		{ PK_INT, 0, 0, (int64_t)1 << 55, 0 },
		{ PK_INT, 0, 0, -((int64_t)1 << 55) - 1, 0 },
		{ PK_INT, 0, 0, INT64_MIN, 0 },
		{ PK_STR, PK_F_RAWESC, 16383, ((int64_t)1 << 40) - 1, 1 },
		{ PK_STR, PK_F_UTF8, 16384, 0, 0 },
		{ PK_BYTES, 0, 0, (int64_t)1 << 40, 0 },
		{ PK_BYTEARRAY, 0, 7, 12345, 1 },
		{ PK_BIGINT, PK_F_LONGTEXT, 30, 99, 1 },
		{ PK_GLOBAL, 0, 0, 65535, 1 }, { PK_NODE, 0, 0, 4194303, 1 },
	};
	struct pk_val v, w;
	uint64_t e = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&v, 0, sizeof(v));
		v.tag = cases[i].tag;
		v.form = cases[i].form;
		v.lo = (uint32_t)cases[i].len;
		v.hi = (uint16_t)(cases[i].len >> 32);
		v.u.i = cases[i].i;
		if (pk_memo_pack(&v, &e) != cases[i].fits)
			fail_msg("case %zu: packs %d", i, !cases[i].fits);
		if (!cases[i].fits)
			continue;
		assert_int_not_equal(e & 7, PK_ME_EMPTY);
		memset(&w, 0xaa, sizeof(w));
		pk_memo_unpack(e, &w);
		if (w.tag != v.tag || w.form != v.form || w.lo != v.lo ||
		    w.hi != v.hi || w.u.i != v.u.i)
			fail_msg("case %zu: round trip differs", i);
	}
}

/* PROTO, FRAME, buffers, EXT and invalid opcodes. */
static void
test_framing(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;

	assert_clean(SCAN(f, "\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N."),
	    "one frame");
	assert_clean(SCAN(f, "\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00N"
	    "\x95\x01\x00\x00\x00\x00\x00\x00\x00."), "two frames");
	assert_clean(SCAN(f, "\x80\x00N.\x80\x05N."), "PROTO 0 and 5");
	expect_error(SCAN(f, "\x80\x06N."), "unsupported pickle protocol: 6");
	expect_error(SCAN(f, "\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00N."),
	    "frame of 9 bytes");
	expect_error(SCAN(f, "\x80\x04\x95\x02\x00"), "truncated");
	s = SCAN(f, "\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00K\x01.");
	assert_found(s, "pickle.frame-straddle", 11, "BININT1");
	s = SCAN(f, "\x80\x05\x97.");
	assert_found(s, "pickle.out-of-band", 2, "NEXT_BUFFER");
	expect_error(SCAN(f, "\x80\x02\x82\x00."), "EXT specifies code <= 0");
	expect_error(SCAN(f, "\x80\x02\x84\xff\xff\xff\xff."), "code <= 0");
	expect_error(SCAN(f, "\x80\x02\xff."), "invalid load key 0xff");
	expect_error(SCAN(f, "#."), "invalid load key 0x23");
	expect_error(SCAN(f, "\x98."), "stack underflow");
	expect_error(SCAN(f, "\x80\x05K\x01\x98."), "bytes-like");
	assert_clean(SCAN(f, "\x80\x05" "C\x01" "a\x98."), "READONLY_BUFFER");
}

/* Globals: GLOBAL/INST names are lines, STACK_GLOBAL needs str. */
static void
test_globals(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;

	assert_clean(SCAN(f, "ccollections\nOrderedDict\n)R."), "allowed");
	assert_clean(SCAN(f, "\x80\x04\x8c\x0b" "collections\x8c\x0b"
	    "OrderedDict\x93)R."), "allowed STACK_GLOBAL");
	s = SCAN(f, "\x80\x02" "cos\nsystem\n.");
	assert_found(s, "pickle.dangerous-global", 2, "GLOBAL names os.system");
	assert_int_equal(pal_scan_nfindings(s), 1);
	s = SCAN(f, "\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00id\x85R.");
	assert_found(s, "pickle.dangerous-global", 21,
	    "REDUCE calls os.system (named by GLOBAL at offset 2)");
	/* The same global named twice is one finding; each call kind one. */
	s = SCAN(f, "\x80\x02" "cos\nsystem\n0cos\nsystem\n)R0cos\nsystem\n)R.");
	assert_int_equal(count_rule(s, "pickle.dangerous-global"), 2);
	/* A name that is not valid UTF-8 fails the load. */
	expect_error(SCAN(f, "cos\xff\nsystem\n."), "utf-8");
	expect_error(SCAN(f, "c\nsystem\n."), "empty line");
	expect_error(SCAN(f, "cos\nsystem"), "not terminated");
	expect_error(SCAN(f, "(ios\xe9\nsystem\n."), "ascii");
	expect_error(SCAN(f, "\x80\x04K\x01\x8c\x01x\x93."),
	    "STACK_GLOBAL requires str");
	expect_error(SCAN(f, "\x80\x04\x8c\x01x\x93."), "stack underflow");
	/* REDUCE with a list for arguments fails before calling. */
	s = SCAN(f, "\x80\x02" "cos\nsystem\n]R.");
	assert_non_null(strstr(pal_scan_result(s, 0)->detail, "must be a tuple"));
	assert_int_equal(pal_scan_nfindings(s), 1);
	assert_found(s, "pickle.dangerous-global", 2, "names");
	expect_error(SCAN(f, "\x80\x02K\x01)R."), "not callable");
	expect_error(SCAN(f, "\x80\x02\x8c\x01x)\x81."), "must be a type");
	expect_error(SCAN(f, "\x80\x04" "ccollections\nOrderedDict\n)K\x01\x92."),
	    "kwargs argument must be a dict");
}

/* Every hostile file of the manifest raises every rule it lists. */
static void
test_malicious_manifest(void **state)
{
	struct fixture *f = *state;
	char line[512], rel[1024];
	size_t nfiles = 0;
	FILE *fp;

	snprintf(rel, sizeof(rel), "%s/pickle/malicious.tsv",
	    getenv("PAL_TEST_DATA"));
	if ((fp = fopen(rel, "r")) == NULL)
		fail_msg("cannot open %s", rel);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *name = line, *rules, *outcome, *why, *rule, *next;
		const struct pal_scan_result *r;
		struct pal_scan *s;
		uint8_t *data;
		size_t len;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		rules = strchr(name, '\t');
		outcome = rules != NULL ? strchr(rules + 1, '\t') : NULL;
		why = outcome != NULL ? strchr(outcome + 1, '\t') : NULL;
		if (why == NULL)
			fail_msg("bad manifest line: %s", line);
		*rules++ = *outcome++ = *why++ = '\0';
		snprintf(rel, sizeof(rel), "pickle/malicious/%s", name);
		data = load(rel, &len);
		/* Detected, not forced: the probe must find every one. */
		s = scan_as(f, data, len, PAL_FMT_UNKNOWN);
		r = pal_scan_result(s, 0);
		if (strcmp(r->format, "pickle") != 0)
			fail_msg("%s detected as %s", name, r->format);
		for (rule = rules; strcmp(rules, "-") != 0 && rule != NULL;
		    rule = next) {
			if ((next = strchr(rule, ',')) != NULL)
				*next++ = '\0';
			if (count_rule(s, rule) == 0) {
				dump(s);
				fail_msg("%s (%s): no %s", name, why, rule);
			}
		}
		if (strcmp(outcome, "findings") == 0 &&
		    (r->status != PAL_ITEM_FINDINGS || r->detail != NULL)) {
			dump(s);
			fail_msg("%s: want findings and a complete parse", name);
		}
		if (strcmp(outcome, "findings+error") == 0 &&
		    (r->status != PAL_ITEM_FINDINGS || r->detail == NULL)) {
			dump(s);
			fail_msg("%s: want findings and a parse error", name);
		}
		if (strcmp(outcome, "error") == 0 &&
		    r->status != PAL_ITEM_ERROR) {
			dump(s);
			fail_msg("%s: want an error", name);
		}
		free(data);
		nfiles++;
	}
	fclose(fp);
	assert_true(nfiles >= 40);
}

/* Where the findings of some techniques are, and what they say. */
static void
test_malicious_details(void **state)
{
	struct fixture *f = *state;
	const struct pal_scan_result *r;
	struct pal_scan *s;
	uint8_t *data;
	size_t len, i;

	/* joblib: the array bytes spell "cos\nsystem\n" and are data; the
	 * only GLOBAL os.system is the one after them. */
	data = load("pickle/malicious/joblib_data_then_call.joblib", &len);
	s = scan(f, data, len);
	assert_int_equal(count_rule(s, "pickle.dangerous-global"), 2);
	assert_found(s, "pickle.dangerous-global", (long)len - 19,
	    "GLOBAL names os.system");
	free(data);

	/* The nested pickle is its own item, with its own findings. */
	data = load("pickle/malicious/nested_loads.pkl", &len);
	s = scan(f, data, len);
	assert_int_equal(pal_scan_nresults(s), 2);
	r = pal_scan_result(s, 1);
	assert_non_null(strstr(r->name, "payload of REDUCE"));
	assert_int_equal(r->status, PAL_ITEM_FINDINGS);
	for (i = 0; i < pal_scan_nfindings(s); i++)
		if (strstr(pal_scan_finding(s, i)->name, "payload") != NULL &&
		    strstr(pal_scan_finding(s, i)->reason, "os.system") != NULL)
			break;
	assert_true(i < pal_scan_nfindings(s));
	free(data);

	data = load("pickle/malicious/stack_global_dynamic.pkl", &len);
	s = scan(f, data, len);
	assert_found(s, "pickle.dynamic-global", -1, "module name is computed");
	assert_found(s, "pickle.dynamic-global", -1, "REDUCE calls a global");
	free(data);

	data = load("pickle/malicious/build_setstate_planted.pkl", &len);
	s = scan(f, data, len);
	assert_found(s, "pickle.dangerous-global", -1,
	    "BUILD calls, as the object's __setstate__, os.system");
	free(data);

	data = load("pickle/malicious/getattr_chain.pkl", &len);
	s = scan(f, data, len);
	assert_found(s, "pickle.indirect-call", -1,
	    "REDUCE calls an object made by REDUCE (builtins.getattr)");
	free(data);

	/* A second pickle's findings carry offsets in the whole file. */
	data = load("pickle/malicious/second_pickle.pkl", &len);
	s = scan(f, data, len);
	assert_found(s, "pickle.dangerous-global", 11, "GLOBAL names");
	free(data);
}

/* picklescan's memo exploits: the exact memo decides what is named. */
static void
test_picklescan_memo(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;
	uint8_t *data;
	size_t len;

	data = load("picklescan/data2/keyerror-exploit.pkl", &len);
	s = scan(f, data, len);
	assert_found(s, "pickle.dangerous-global", 45, "REDUCE calls os.system");
	assert_non_null(strstr(pal_scan_result(s, 0)->detail,
	    "memo value not found at index 3"));
	free(data);
	data = load("picklescan/data2/type-confusion-exploit.pkl", &len);
	s = scan(f, data, len);
	assert_found(s, "pickle.dangerous-global", 45, "REDUCE calls os.system");
	assert_non_null(strstr(pal_scan_result(s, 0)->detail,
	    "STACK_GLOBAL requires str"));
	free(data);
}

/* Calls a list of all regular files of a test data directory. */
static void
each_file(const char *rel, void (*fn)(struct fixture *, const char *,
    uint8_t *, size_t), struct fixture *f)
{
	char path[1024], file[1024];
	struct dirent *de;
	size_t n = 0, len;
	uint8_t *data;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", getenv("PAL_TEST_DATA"), rel);
	if ((d = opendir(path)) == NULL)
		fail_msg("cannot open %s", path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", rel, de->d_name);
		data = load(file, &len);
		fn(f, de->d_name, data, len);
		free(data);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

static void
benign_one(struct fixture *f, const char *name, uint8_t *data, size_t len)
{
	assert_clean(scan_as(f, data, len, PAL_FMT_UNKNOWN), name);
	assert_int_equal(pal_scan_nresults(f->scan), 1);
}

static void
test_benign(void **state)
{
	each_file("pickle/benign", benign_one, *state);
}

/* No strict prefix of a real file is clean: every byte is accounted for. */
static void
truncate_one(struct fixture *f, const char *name, uint8_t *data, size_t len)
{
	size_t cut, step = len > 2000 ? 7 : 1;

	for (cut = 0; cut < len; cut += step) {
		const struct pal_scan_result *r;

		scan(f, data, cut);
		r = pal_scan_result(f->scan, 0);
		if (r->status == PAL_ITEM_CLEAN)
			fail_msg("%s cut at %zu of %zu is clean", name, cut, len);
	}
}

static void
test_truncations(void **state)
{
	each_file("pickle/benign", truncate_one, *state);
}

/* Bit flips: whatever they do, the scan ends in a defined state. */
static void
flip_one(struct fixture *f, const char *name, uint8_t *data, size_t len)
{
	size_t i;
	int b;

	(void)name;
	if (len > 1500)
		return;
	for (i = 0; i < len; i++)
		for (b = 0; b < 8; b += 3) {
			data[i] ^= (uint8_t)(1u << b);
			scan(f, data, len);
			assert_true(pal_scan_exit_code(f->scan) <= 2);
			data[i] ^= (uint8_t)(1u << b);
		}
}

static void
test_bitflips(void **state)
{
	each_file("pickle/benign", flip_one, *state);
}

/* Limits end in errors; deep nesting is released without recursion. */
static void
test_limits(void **state)
{
	struct fixture *f = *state;
	size_t n = 200000, i;
	uint8_t *buf = malloc(2 * n + 8);
	struct pal_scan *s;

	assert_non_null(buf);
	f->limits.max_stack = 16;
	memset(buf, 'N', 17);
	buf[17] = '.';
	expect_error(scan(f, buf, 18), "stack deeper than 16");
	memset(buf, '(', 17);
	expect_error(scan(f, buf, 18), "more than 16 marks");
	pal_scan_limits_default(&f->limits);
	f->limits.max_memo = 3;
	expect_error(SCAN(f, "\x80\x04N\x94\x94\x94\x94."),
	    "more than 3 memo entries");
	pal_scan_limits_default(&f->limits);
	f->limits.max_opcodes = 5;
	expect_error(SCAN(f, "NNNNNN."), "more than 5 opcodes");
	pal_scan_limits_default(&f->limits);

	/* A list nested n deep, then dropped: freed iteratively. */
	buf[0] = 0x80;
	buf[1] = 2;
	for (i = 0; i < n; i++)
		buf[2 + i] = ']';
	for (i = 0; i < n - 1; i++)
		buf[2 + n + i] = 'a';
	memcpy(buf + 1 + 2 * n, "0N.", 3);
	s = scan(f, buf, 2 * n + 4);
	assert_clean(s, "deep nesting");
	free(buf);
}

/*
 * A value stored once and used again and again through the memo must not
 * cost its length at each use: these streams would take hours if it did.
 */
static void
test_reuse_cost(void **state)
{
	struct fixture *f = *state;
	struct bytes b = { NULL, 0, 0 };
	struct pal_scan *s;
	size_t i;

	/* A 1 MiB global name used by 100 000 STACK_GLOBALs. */
	PUT(&b, "\x80\x04N");
	put_counted(&b, 'X', 1u << 20, 'a');
	PUT(&b, "\x94" "0");
	for (i = 0; i < 100000; i++)
		PUT(&b, "\x8c\x02osh\x00\x93" "0");
	PUT(&b, ".");
	s = scan(f, b.p, b.n);
	assert_int_equal(count_rule(s, "pickle.unknown-global"), 1);
	assert_found(s, "pickle.unknown-global", -1, "longer than any");
	assert_null(pal_scan_result(s, 0)->detail);

	/* A 1 MiB Latin-1 dict key stored 100 000 times. */
	b.n = 0;
	PUT(&b, "\x80\x02}");
	put_counted(&b, 'T', 1u << 20, 0xe9);
	PUT(&b, "q\x00" "0");
	for (i = 0; i < 100000; i++)
		PUT(&b, "h\x00Ns");
	PUT(&b, ".");
	assert_clean(scan(f, b.p, b.n), "reused key");

	/* One payload passed to pickle.loads 10 000 times: scanned once. */
	b.n = 0;
	PUT(&b, "\x80\x03" "cpickle\nloads\nq\x00" "0");
	put_counted(&b, 'B', 100000, 'N');
	PUT(&b, "q\x01" "0");
	for (i = 0; i < 10000; i++)
		PUT(&b, "h\x00h\x01\x85R0");
	PUT(&b, "N.");
	s = scan(f, b.p, b.n);
	assert_int_equal(count_rule(s, "pickle.nested-pickle"), 1);
	assert_int_equal(pal_scan_nresults(s), 2);
	free(b.p);
}

/* The probe: pickles without PROTO are found; text is not a pickle. */
static void
test_probe(void **state)
{
	static const char readme[] = "# Model card\n\nThis model does things.\n";
	static const char *const no[] = {
		"hello world\n", "I love pickles\n", "conda install x\n",
		"1,2,3\n4,5,6\n", "(a)", "{\"a\": 1}", "Sure.\n", "",
	};
	static const char *const yes[] = {
		"N.", "\x80\x02]q\x00.", "(lp0\nI1\na.", "cos\nsystem\n",
		"(S'x'\nibuiltins\nexec\n", "\x8c\x02os\x8c\x06system\x93",
	};
	char many[5000];
	size_t i;

	(void)state;
	assert_int_equal(pal_pickle_probe((const uint8_t *)readme,
	    sizeof(readme) - 1), 0);
	assert_int_equal(pal_detect((const uint8_t *)readme,
	    sizeof(readme) - 1), PAL_FMT_TEXT);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (pal_pickle_probe((const uint8_t *)no[i], strlen(no[i])))
			fail_msg("probe says \"%s\" is a pickle", no[i]);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!pal_pickle_probe((const uint8_t *)yes[i], strlen(yes[i])))
			fail_msg("probe misses case %zu", i);
	/* A long valid prefix is a pickle even when no global shows. */
	memset(many, 'N', sizeof(many));
	assert_int_equal(pal_pickle_probe((const uint8_t *)many,
	    sizeof(many)), 1);
	memcpy(many, "N0", 2);
	for (i = 0; i + 2 <= sizeof(many); i += 2)
		memcpy(many + i, "N0", 2);
	assert_int_equal(pal_pickle_probe((const uint8_t *)many,
	    sizeof(many)), 1);
	assert_int_equal(pal_detect((const uint8_t *)"cos\nsystem\n(S'id'\ntR.",
	    21), PAL_FMT_PICKLE);
}

/* Every rule the scanner reports is in the table, with a summary. */
static void
test_rules(void **state)
{
	static const char *const ids[] = {
		"pickle.dangerous-global", "pickle.unknown-global",
		"pickle.dynamic-global", "pickle.extension-code",
		"pickle.indirect-call", "pickle.build-on-global",
		"pickle.mutate-global", "pickle.untrusted-method",
		"pickle.state-override", "pickle.nested-pickle",
		"pickle.trailing-data", "pickle.frame-straddle",
		"pickle.malformed-stop", "pickle.out-of-band",
		"pickle.memo-overwrite",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const struct pal_rule *r = pal_scan_rule(ids[i]);

		assert_non_null(r);
		assert_true(strlen(r->summary) > 20);
	}
	assert_int_equal(pal_scan_rule("pickle.dangerous-global")->severity,
	    PAL_SEV_CRITICAL);
	assert_int_equal(pal_scan_rule("pickle.unknown-global")->severity,
	    PAL_SEV_HIGH);
	assert_int_equal(pal_scan_rule("pickle.trailing-data")->severity,
	    PAL_SEV_MEDIUM);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scalars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scalar_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_containers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memo, setup, teardown),
		cmocka_unit_test(test_memo_pack),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_globals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malicious_manifest, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malicious_details, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_picklescan_memo, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_benign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncations, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bitflips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_cost, setup,
		    teardown),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
