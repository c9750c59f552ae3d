/*
 * test_archive.c - the archive and compression scanners on files written
 * by the real tools (tests/data/archive/gen.py): tar in each dialect, 7z,
 * gzip, bzip2, xz, lzma, zstd, lz4, joblib with every compressor, the
 * legacy PyTorch tar; then the hostile cases: traversal, links, devices,
 * duplicates, trailing data, truncation, corruption, nesting, bombs built
 * here at test time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define ZLIB_CONST
#include <zlib.h>

#include "archive_int.h"
#include "scan_fixture.h"

static struct pal_policy *policy;

static int
group_setup(void **state)
{
	(void)state;
	return pal_policy_new_default(&policy, NULL);
}

static int
group_teardown(void **state)
{
	(void)state;
	pal_policy_free(policy);
	return 0;
}

/* A session with the default limits, adjusted by the caller. */
static struct pal_scan *
session(const struct pal_scan_limits *limits)
{
	struct pal_scan_opts opts;
	struct pal_scan *s;

	memset(&opts, 0, sizeof(opts));
	if (limits != NULL)
		opts.limits = *limits;
	else
		pal_scan_limits_default(&opts.limits);
	opts.policy = policy;
	assert_int_equal(pal_scan_new(&opts, &s, NULL), 0);
	return s;
}

/* Scans bytes as a file named name; the session is returned for checks. */
static struct pal_scan *
scan_bytes(const char *name, const uint8_t *d, size_t n,
    const struct pal_scan_limits *limits)
{
	struct pal_scan *s = session(limits);

	assert_int_equal(pal_scan_memory(s, name, d, n), 0);
	return s;
}

/* Scans a file of tests/data/archive under its own name. */
static struct pal_scan *
scan_file(const char *file, const struct pal_scan_limits *limits)
{
	struct pal_scan *s;
	uint8_t *d;
	size_t n;

	d = load_in("archive", file, &n);
	s = scan_bytes(file, d, n, limits);
	free(d);
	return s;
}

static const struct pal_scan_result *
result(const struct pal_scan *s, const char *name)
{
	size_t i;

	for (i = 0; i < pal_scan_nresults(s); i++)
		if (strcmp(pal_scan_result(s, i)->name, name) == 0)
			return pal_scan_result(s, i);
	return NULL;
}

/* The result named name, which must exist and have the given format. */
static const struct pal_scan_result *
must(const struct pal_scan *s, const char *name, const char *format)
{
	const struct pal_scan_result *r = result(s, name);
	size_t i;

	if (r == NULL) {
		for (i = 0; i < pal_scan_nresults(s); i++)
			print_message("  have %s\n", pal_scan_result(s, i)->name);
		fail_msg("no result named %s", name);
	}
	if (format != NULL && strcmp(r->format, format) != 0)
		fail_msg("%s: format %s, want %s", name, r->format, format);
	return r;
}

/* Findings of the archive scanner's own rules and the limit rule. */
static size_t
archive_findings(const struct pal_scan *s)
{
	size_t i, n = 0;

	for (i = 0; i < pal_scan_nfindings(s); i++) {
		const char *rule = pal_scan_finding(s, i)->rule;

		if (strncmp(rule, "archive.", 8) == 0 ||
		    strcmp(rule, "scan.limit") == 0)
			n++;
	}
	return n;
}

static void
want_status(const struct pal_scan_result *r, enum pal_item_status st,
    const char *needle)
{
	if (r->status != st)
		fail_msg("%s: status %d, want %d (detail %s)", r->name,
		    r->status, st, r->detail ? r->detail : "-");
	if (needle != NULL && (r->detail == NULL ||
	    strstr(r->detail, needle) == NULL))
		fail_msg("%s: detail \"%s\" lacks \"%s\"", r->name,
		    r->detail ? r->detail : "-", needle);
}

/*
 * Whether the scanner for a nested format has landed: scanning a sample
 * of it gives findings (or, for a benign sample, does not fail).  The
 * archive tests check that members are reached either way, and more once
 * the nested scanner is there.
 */
static int
pickle_scanner_ready(void)
{
	struct pal_scan *s;
	uint8_t *d;
	size_t n;
	int ready;

	d = load("archive/payload.pkl", &n);
	s = scan_bytes("probe.pkl", d, n, NULL);
	ready = pal_scan_result(s, 0)->status == PAL_ITEM_CLEAN;
	pal_scan_free(s);
	free(d);
	return ready;
}

static void
tar_dialects_scan_every_member(void **state)
{
	static const char *const files[] = {
		"model-gnu.tar", "model-ustar.tar", "model-pax.tar",
		"model-v7.tar",
	};
	char name[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pal_scan *s = scan_file(files[i], NULL);

		want_status(must(s, files[i], "tar"), PAL_ITEM_CLEAN, NULL);
		snprintf(name, sizeof(name), "%s!data.pkl", files[i]);
		must(s, name, "pickle");
		snprintf(name, sizeof(name), "%s!config.txt", files[i]);
		want_status(must(s, name, "text"), PAL_ITEM_SKIPPED, NULL);
		assert_int_equal(archive_findings(s), 0);
		assert_int_equal(pal_scan_nresults(s), 3);
		pal_scan_free(s);
	}
}

static void
tar_member_with_payload_is_reached(void **state)
{
	struct pal_scan *s = scan_file("evil.tar", NULL);
	const struct pal_scan_result *r;

	(void)state;
	r = must(s, "evil.tar!model/data.pkl", "pickle");
	/* Never clean: findings once the pickle scanner is in, an error
	 * before. */
	assert_int_not_equal(r->status, PAL_ITEM_CLEAN);
	assert_int_not_equal(pal_scan_exit_code(s), 0);
	if (pickle_scanner_ready())
		assert_int_equal(pal_scan_exit_code(s), 1);
	pal_scan_free(s);
}

/* Format the detector must give and file name of each wrapper. */
struct wrapped {
	const char *file;
	enum pal_format format;
};

static const struct wrapped payloads[] = {
	{ "payload.pkl.gz", PAL_FMT_GZIP }, { "payload.pkl.bz2", PAL_FMT_BZIP2 },
	{ "payload.pkl.xz", PAL_FMT_XZ }, { "payload.pkl.lzma", PAL_FMT_LZMA },
	{ "payload.pkl.zst", PAL_FMT_ZSTD }, { "payload.pkl.lz4", PAL_FMT_LZ4 },
};

/*
 * Decodes a file with pal_arc_decode and compares with the expected
 * bytes.  A result entry is made for the item, as the driver would.
 */
static void
decode_equals(const char *file, enum pal_format format, const char *expect)
{
	struct pal_scan *s = session(NULL);
	struct pal_scan_item it;
	char rel[256];
	struct pal_buf out;
	uint8_t *d, *want;
	size_t n, wn, end;

	snprintf(rel, sizeof(rel), "archive/%s", file);
	d = load(rel, &n);
	snprintf(rel, sizeof(rel), "archive/%s", expect);
	want = load(rel, &wn);
	if (pal_detect(d, n) != format)
		fail_msg("%s detected as %s, want %s", file,
		    pal_format_name(pal_detect(d, n)), pal_format_name(format));
	memset(&it, 0, sizeof(it));
	it.data = d;
	it.len = n;
	it.name = file;
	it.format = format;
	assert_int_equal(pal_scan_result_new(s, file, 0, &it.result), 0);
	pal_buf_init(&out, 0);
	if (pal_arc_decode(s, &it, &out, &end) != 0)
		fail_msg("%s: %s", file, s->err.msg);
	assert_int_equal(out.len, wn);
	assert_memory_equal(out.p, want, wn);
	assert_int_equal(end, n);
	assert_int_equal(s->expanded, wn);
	pal_buf_free(&out);
	free(d);
	free(want);
	pal_scan_free(s);
}

static void
wrappers_decode_to_the_original(void **state)
{
	char name[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		struct pal_scan *s;

		decode_equals(payloads[i].file, payloads[i].format,
		    "payload.pkl");
		s = scan_file(payloads[i].file, NULL);
		want_status(must(s, payloads[i].file,
		    pal_format_name(payloads[i].format)), PAL_ITEM_CLEAN, NULL);
		snprintf(name, sizeof(name), "%s!<decompressed>",
		    payloads[i].file);
		must(s, name, "pickle");
		assert_int_equal(archive_findings(s), 0);
		pal_scan_free(s);
	}
}

static void
joblib_every_compressor_is_detected_and_decoded(void **state)
{
	static const struct { const char *comp; enum pal_format f; } jl[] = {
		{ "zlib", PAL_FMT_ZLIB }, { "gzip", PAL_FMT_GZIP },
		{ "bz2", PAL_FMT_BZIP2 }, { "xz", PAL_FMT_XZ },
		{ "lzma", PAL_FMT_LZMA }, { "lz4", PAL_FMT_LZ4 },
	};
	char file[64], raw[64], name[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(jl) / sizeof(jl[0]); i++) {
		struct pal_scan *s;

		snprintf(file, sizeof(file), "joblib-%s.joblib", jl[i].comp);
		snprintf(raw, sizeof(raw), "joblib-%s.raw", jl[i].comp);
		decode_equals(file, jl[i].f, raw);
		s = scan_file(file, NULL);
		want_status(must(s, file, pal_format_name(jl[i].f)),
		    PAL_ITEM_CLEAN, NULL);
		snprintf(name, sizeof(name), "%s!<decompressed>", file);
		must(s, name, "pickle");
		pal_scan_free(s);
	}
}

static void
tar_gz_holding_zip_holding_pickle(void **state)
{
	struct pal_scan *s = scan_file("nested.tar.gz", NULL);
	const struct pal_scan_result *zip, *pkl;

	(void)state;
	want_status(must(s, "nested.tar.gz", "gzip"), PAL_ITEM_CLEAN, NULL);
	want_status(must(s, "nested.tar.gz!<decompressed>", "tar"),
	    PAL_ITEM_CLEAN, NULL);
	zip = must(s, "nested.tar.gz!<decompressed>!model.zip", "zip");
	pkl = result(s, "nested.tar.gz!<decompressed>!model.zip!"
	    "archive/data.pkl");
	/* Until the zip scanner lands its result is an error; after, the
	 * pickle inside must be reached. */
	if (pkl == NULL)
		want_status(zip, PAL_ITEM_ERROR, NULL);
	else
		assert_string_equal(pkl->format, "pickle");
	assert_int_equal(archive_findings(s), 0);
	pal_scan_free(s);
}

static void
concatenated_gzip_members_are_one_stream(void **state)
{
	struct pal_scan *s = scan_file("split.tar.gz", NULL);

	(void)state;
	/* The tar is cut in two gzip members mid-header: only their
	 * concatenation is a tar with its member. */
	want_status(must(s, "split.tar.gz", "gzip"), PAL_ITEM_CLEAN, NULL);
	want_status(must(s, "split.tar.gz!<decompressed>", "tar"),
	    PAL_ITEM_CLEAN, NULL);
	must(s, "split.tar.gz!<decompressed>!model.zip", "zip");
	assert_true(s->expanded > 10240);
	pal_scan_free(s);
}

static void
nesting_stops_at_the_depth_limit(void **state)
{
	struct pal_scan *s = scan_file("deep.gz", NULL);

	(void)state;
	assert_int_equal(count_rule(s, "scan.limit"), 1);
	assert_int_equal(pal_scan_exit_code(s), 1);
	pal_scan_free(s);
}

static void
traversal_names_are_reported(void **state)
{
	struct pal_scan *s = scan_file("traversal.tar", NULL);

	(void)state;
	assert_int_equal(count_rule(s, "archive.path-traversal"), 2);
	want_status(must(s, "traversal.tar", "tar"), PAL_ITEM_FINDINGS, NULL);
	pal_scan_free(s);
}

static void
links_are_reported(void **state)
{
	struct pal_scan *s = scan_file("links.tar", NULL);

	(void)state;
	assert_int_equal(count_rule(s, "archive.symlink"), 1);
	assert_int_equal(count_rule(s, "archive.hardlink"), 1);
	/* sub/up -> ../../etc/passwd, abs -> /etc/passwd, hardout. */
	assert_int_equal(count_rule(s, "archive.link-escape"), 3);
	must(s, "links.tar!data.pkl", "pickle");
	pal_scan_free(s);
}

static void
devices_and_fifos_are_reported(void **state)
{
	struct pal_scan *s = scan_file("special.tar", NULL);

	(void)state;
	assert_int_equal(count_rule(s, "archive.special-file"), 3);
	assert_int_equal(pal_scan_nresults(s), 1);
	pal_scan_free(s);
}

static void
duplicate_names_are_reported_and_both_scanned(void **state)
{
	struct pal_scan *s = scan_file("duplicate.tar", NULL);

	(void)state;
	assert_int_equal(count_rule(s, "archive.duplicate-name"), 1);
	must(s, "duplicate.tar!data.pkl", "pickle");
	must(s, "duplicate.tar!./data.pkl", "pickle");
	pal_scan_free(s);
}

static void
data_after_the_tar_end_is_reported(void **state)
{
	struct pal_scan *s = scan_file("trailing.tar", NULL);

	(void)state;
	assert_int_equal(count_rule(s, "archive.trailing-data"), 1);
	pal_scan_free(s);
}

static void
sparse_tar_bomb_is_stopped(void **state)
{
	struct pal_scan *s = scan_file("sparse.tar", NULL);

	(void)state;
	assert_int_equal(count_rule(s, "archive.bomb"), 1);
	want_status(must(s, "sparse.tar", "tar"), PAL_ITEM_FINDINGS, NULL);
	assert_true(s->expanded < ((uint64_t)2 << 20));
	pal_scan_free(s);
}

static void
sevenzip_members_are_scanned(void **state)
{
	struct pal_scan *s = scan_file("model.7z", NULL);

	(void)state;
	want_status(must(s, "model.7z", "7z"), PAL_ITEM_CLEAN, NULL);
	must(s, "model.7z!data.pkl", "pickle");
	pal_scan_free(s);
	s = scan_file("evil.7z", NULL);
	must(s, "evil.7z!data.pkl", "pickle");
	assert_int_not_equal(must(s, "evil.7z!evil.pkl", "pickle")->status,
	    PAL_ITEM_CLEAN);
	pal_scan_free(s);
}

static void
encrypted_7z_is_an_error(void **state)
{
	struct pal_scan *s = scan_file("encrypted.7z", NULL);

	(void)state;
	want_status(must(s, "encrypted.7z", "7z"), PAL_ITEM_ERROR,
	    "encrypted");
	assert_int_equal(pal_scan_exit_code(s), 2);
	pal_scan_free(s);
	s = scan_file("encrypted-headers.7z", NULL);
	want_status(must(s, "encrypted-headers.7z", "7z"), PAL_ITEM_ERROR,
	    "encrypted");
	assert_int_equal(pal_scan_exit_code(s), 2);
	pal_scan_free(s);
}

static void
picklescan_malicious_7z_reaches_the_pickle(void **state)
{
	struct pal_scan *s;
	uint8_t *d;
	size_t n;

	(void)state;
	d = load("picklescan/data/malicious1.7z", &n);
	s = scan_bytes("malicious1.7z", d, n, NULL);
	want_status(must(s, "malicious1.7z", "7z"), PAL_ITEM_CLEAN, NULL);
	assert_int_not_equal(must(s, "malicious1.7z!data.pkl",
	    "pickle")->status, PAL_ITEM_CLEAN);
	if (pickle_scanner_ready())
		assert_int_equal(pal_scan_exit_code(s), 1);
	else
		assert_int_not_equal(pal_scan_exit_code(s), 0);
	pal_scan_free(s);
	free(d);
}

static void
legacy_torch_tar_pickles_are_delimited(void **state)
{
	static const char *const pickles[] = {
		"legacy-torch.tar!sys_info", "legacy-torch.tar!pickle",
		"legacy-torch.tar!storages@0", "legacy-torch.tar!storages@5",
		"legacy-torch.tar!storages@70", "legacy-torch.tar!tensors@0",
		"legacy-torch.tar!tensors@5",
	};
	struct pal_scan *s = scan_file("legacy-torch.tar", NULL);
	size_t i;

	(void)state;
	want_status(must(s, "legacy-torch.tar", "tar"), PAL_ITEM_CLEAN, NULL);
	for (i = 0; i < sizeof(pickles) / sizeof(pickles[0]); i++)
		must(s, pickles[i], "pickle");
	/* Nothing else: the raw storage bytes are not scanned as members. */
	assert_int_equal(pal_scan_nresults(s), 8);
	assert_int_equal(archive_findings(s), 0);
	pal_scan_free(s);
}

static void
legacy_torch_tar_hostile_records(void **state)
{
	struct pal_scan *s;

	(void)state;
	/* A call where a storage type belongs: scanned, then an error. */
	s = scan_file("legacy-torch-evil-storages.tar", NULL);
	must(s, "legacy-torch-evil-storages.tar!storages@5", "pickle");
	assert_int_not_equal(pal_scan_exit_code(s), 0);
	assert_int_not_equal(must(s, "legacy-torch-evil-storages.tar",
	    "tar")->status, PAL_ITEM_CLEAN);
	pal_scan_free(s);
	/* A tensor record's pickle is scanned whatever it holds. */
	s = scan_file("legacy-torch-evil-tensors.tar", NULL);
	assert_int_not_equal(must(s, "legacy-torch-evil-tensors.tar!tensors@5",
	    "pickle")->status, PAL_ITEM_CLEAN);
	if (pickle_scanner_ready())
		assert_int_equal(pal_scan_exit_code(s), 1);
	pal_scan_free(s);
	/* A storage type we cannot size: never clean. */
	s = scan_file("legacy-torch-odd-type.tar", NULL);
	want_status(must(s, "legacy-torch-odd-type.tar", "tar"),
	    PAL_ITEM_ERROR, "cannot be delimited");
	pal_scan_free(s);
}

/* Builds a modified copy of a data file: its first keep bytes + tail. */
static uint8_t *
variant(const char *file, size_t keep, const void *tail, size_t tlen,
    size_t *len)
{
	char rel[256];
	uint8_t *d, *p;
	size_t n;

	snprintf(rel, sizeof(rel), "archive/%s", file);
	d = load(rel, &n);
	if (keep > n)
		keep = n;
	p = malloc(keep + tlen + 1);
	assert_non_null(p);
	memcpy(p, d, keep);
	if (tlen > 0)
		memcpy(p + keep, tail, tlen);
	free(d);
	*len = keep + tlen;
	return p;
}

static void
truncated_streams_are_errors(void **state)
{
	static const char *const files[] = {
		"payload.pkl.gz", "payload.pkl.bz2", "payload.pkl.xz",
		"payload.pkl.lzma", "payload.pkl.zst", "payload.pkl.lz4",
		"joblib-zlib.joblib", "model.7z",
	};
	size_t i, n, full;
	uint8_t *d;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct pal_scan *s;

		free(variant(files[i], SIZE_MAX, NULL, 0, &full));
		d = variant(files[i], full - 7, NULL, 0, &n);
		s = scan_bytes(files[i], d, n, NULL);
		want_status(pal_scan_result(s, 0), PAL_ITEM_ERROR, NULL);
		pal_scan_free(s);
		free(d);
	}
	/* A tar cut inside a member: the member is named. */
	d = variant("model-ustar.tar", 700, NULL, 0, &n);
	{
		struct pal_scan *s = scan_bytes("cut.tar", d, n, NULL);

		want_status(must(s, "cut.tar", "tar"), PAL_ITEM_ERROR,
		    "data.pkl");
		pal_scan_free(s);
	}
	free(d);
}

static void
trailing_garbage_is_reported(void **state)
{
	static const char garbage[] = "GARBAGE AFTER THE STREAM";
	static const char *const found[] = {
		"payload.pkl.gz", "payload.pkl.bz2", "payload.pkl.lzma",
		"payload.pkl.lz4", "joblib-zlib.joblib",
	};
	/* Their decoders take what follows for another stream. */
	static const char *const refused[] = {
		"payload.pkl.xz", "payload.pkl.zst",
	};
	struct pal_scan *s;
	size_t i, n;
	uint8_t *d, zeros[512];
	char where[32];

	(void)state;
	for (i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		d = variant(found[i], SIZE_MAX, garbage, sizeof(garbage) - 1,
		    &n);
		s = scan_bytes(found[i], d, n, NULL);
		if (count_rule(s, "archive.trailing-data") != 1)
			fail_msg("%s: no trailing-data finding", found[i]);
		must(s, found[i], NULL);
		pal_scan_free(s);
		free(d);
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		d = variant(refused[i], SIZE_MAX, garbage, sizeof(garbage) - 1,
		    &n);
		s = scan_bytes(refused[i], d, n, NULL);
		assert_int_not_equal(pal_scan_result(s, 0)->status,
		    PAL_ITEM_CLEAN);
		pal_scan_free(s);
		free(d);
	}
	/* libarchive's lz4 reader swallows four bytes looking for another
	 * frame: exactly four bytes of garbage must still be found. */
	d = variant("payload.pkl.lz4", SIZE_MAX, "ABCD", 4, &n);
	s = scan_bytes("four.lz4", d, n, NULL);
	assert_int_equal(count_rule(s, "archive.trailing-data"), 1);
	snprintf(where, sizeof(where), "offset %zu", n - 4);
	assert_string_equal(pal_scan_finding(s, 0)->location, where);
	pal_scan_free(s);
	free(d);
	/* Zero padding is not hidden data. */
	memset(zeros, 0, sizeof(zeros));
	d = variant("payload.pkl.gz", SIZE_MAX, zeros, sizeof(zeros), &n);
	s = scan_bytes("padded.gz", d, n, NULL);
	want_status(pal_scan_result(s, 0), PAL_ITEM_CLEAN, NULL);
	assert_int_equal(archive_findings(s), 0);
	pal_scan_free(s);
	free(d);
}

static void
corrupt_streams_are_errors(void **state)
{
	static const uint8_t bad_gzip[] = { 0x1f, 0x8b, 0x09, 0xff, 1, 2, 3 };
	struct pal_scan *s;
	size_t n;
	uint8_t *d;

	(void)state;
	/* An unknown method byte: libarchive refuses the header. */
	s = scan_bytes("bad.gz", bad_gzip, sizeof(bad_gzip), NULL);
	want_status(pal_scan_result(s, 0), PAL_ITEM_ERROR, "gzip");
	assert_int_equal(pal_scan_nresults(s), 1);
	pal_scan_free(s);
	/* A flipped bit in the compressed data: a CRC or data error. */
	d = variant("payload.pkl.xz", SIZE_MAX, NULL, 0, &n);
	d[n / 2] ^= 0x10;
	s = scan_bytes("flipped.xz", d, n, NULL);
	want_status(pal_scan_result(s, 0), PAL_ITEM_ERROR, NULL);
	pal_scan_free(s);
	free(d);
	/* A damaged second tar header: the error names the member before
	 * it, and a header libarchive would skip is not skipped. */
	d = variant("model-ustar.tar", SIZE_MAX, NULL, 0, &n);
	d[1024 + 3] ^= 0x20;
	s = scan_bytes("damaged.tar", d, n, NULL);
	want_status(must(s, "damaged.tar", "tar"), PAL_ITEM_ERROR,
	    "after member 1 'data.pkl'");
	pal_scan_free(s);
	free(d);
	d = variant("joblib-zlib.joblib", SIZE_MAX, NULL, 0, &n);
	d[n - 2] ^= 0x01;	/* the Adler-32 */
	s = scan_bytes("flipped.zlib", d, n, NULL);
	want_status(pal_scan_result(s, 0), PAL_ITEM_ERROR, "zlib");
	pal_scan_free(s);
	free(d);
}

/* gzip of n copies of a block, with one deflate stream. */
static uint8_t *
gzip_repeat(const uint8_t *block, size_t blen, size_t copies, int strategy,
    size_t *outlen)
{
	size_t cap = (size_t)4 << 20, i;
	z_stream z;
	uint8_t *o = malloc(cap);

	assert_non_null(o);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, strategy),
	    Z_OK);
	z.next_out = o;
	z.avail_out = (uInt)cap;
	for (i = 0; i <= copies; i++) {
		z.next_in = block;
		z.avail_in = i < copies ? (uInt)blen : 0;
		do {
			assert_int_not_equal(z.avail_out, 0);
			deflate(&z, i < copies ? Z_NO_FLUSH : Z_FINISH);
		} while (z.avail_in != 0);
	}
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = z.total_out;
	deflateEnd(&z);
	return o;
}

/* gzip(gzip(gzip(1 GiB of zeros))): a few hundred bytes. */
static uint8_t *
gzip_bomb(size_t *len)
{
	uint8_t *zero = calloc(1, (size_t)1 << 20), *a, *b, *c;
	size_t na, nb;

	assert_non_null(zero);
	a = gzip_repeat(zero, (size_t)1 << 20, 1024, Z_RLE, &na);
	b = gzip_repeat(a, na, 1, Z_DEFAULT_STRATEGY, &nb);
	c = gzip_repeat(b, nb, 1, Z_DEFAULT_STRATEGY, len);
	free(zero);
	free(a);
	free(b);
	return c;
}

static void
gzip_bomb_is_stopped(void **state)
{
	struct pal_scan_limits lim;
	struct pal_scan *s;
	uint8_t *bomb;
	size_t n;

	(void)state;
	bomb = gzip_bomb(&n);
	assert_true(n < 4096);
	/* The ratio stops it after about a mebibyte. */
	s = scan_bytes("bomb.gz", bomb, n, NULL);
	assert_int_equal(count_rule(s, "archive.bomb"), 1);
	assert_true(s->expanded < ((uint64_t)2 << 20));
	assert_int_equal(pal_scan_nresults(s), 1);
	assert_int_equal(pal_scan_exit_code(s), 1);
	pal_scan_free(s);
	/* Without a ratio limit the expansion budget stops it. */
	pal_scan_limits_default(&lim);
	lim.max_ratio = 0;
	lim.max_expanded = (uint64_t)8 << 20;
	s = scan_bytes("bomb.gz", bomb, n, &lim);
	assert_int_equal(count_rule(s, "scan.limit"), 1);
	assert_int_equal(count_rule(s, "archive.bomb"), 0);
	assert_true(s->expanded <= lim.max_expanded);
	pal_scan_free(s);
	free(bomb);
}

static void
zlib_bomb_is_stopped(void **state)
{
	uint8_t *zero = calloc(1, (size_t)1 << 20), *o;
	size_t cap = (size_t)1 << 20;
	struct pal_scan_limits lim;
	struct pal_scan *s;
	z_stream z;
	int i;

	(void)state;
	assert_non_null(zero);
	o = malloc(cap);
	assert_non_null(o);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit(&z, 9), Z_OK);
	z.next_out = o;
	z.avail_out = (uInt)cap;
	for (i = 0; i < 64; i++) {
		z.next_in = zero;
		z.avail_in = (uInt)((size_t)1 << 20);
		assert_int_equal(deflate(&z, i == 63 ? Z_FINISH : Z_NO_FLUSH),
		    i == 63 ? Z_STREAM_END : Z_OK);
	}
	assert_int_equal(pal_detect(o, z.total_out), PAL_FMT_ZLIB);
	/* deflate's best is about 1030:1: a lower limit makes it a bomb. */
	pal_scan_limits_default(&lim);
	lim.max_ratio = 500;
	s = scan_bytes("bomb.joblib", o, z.total_out, &lim);
	assert_int_equal(count_rule(s, "archive.bomb"), 1);
	pal_scan_free(s);
	deflateEnd(&z);
	free(o);
	free(zero);
}

static void
member_count_limit_holds(void **state)
{
	struct pal_scan_limits lim;
	struct pal_scan *s;

	(void)state;
	pal_scan_limits_default(&lim);
	lim.max_members = 1;
	s = scan_file("model-gnu.tar", &lim);
	assert_int_equal(count_rule(s, "scan.limit"), 1);
	want_status(must(s, "model-gnu.tar", "tar"), PAL_ITEM_FINDINGS,
	    "members");
	pal_scan_free(s);
}

static void
pickle_span_finds_the_stop(void **state)
{
	struct pal_arc_pickle_info info;
	struct pal_err err;
	uint8_t *d;
	size_t n, len;

	(void)state;
	d = load("archive/payload.pkl", &n);
	assert_int_equal(pal_arc_pickle_span(d, n, &len, &info, &err), 0);
	assert_int_equal(len, n);
	assert_int_equal(info.globals, 0);
	assert_int_equal(pal_arc_pickle_span(d, n - 1, &len, &info, &err),
	    PAL_ERR_TRUNCATED);
	d[2] = 0xff;	/* not an opcode */
	assert_int_equal(pal_arc_pickle_span(d, n, &len, &info, &err),
	    PAL_ERR_FORMAT);
	free(d);
	/* "K\x07." is the int 7; "ctorch\nFloatStorage\n." one global. */
	assert_int_equal(pal_arc_pickle_span((const uint8_t *)"\x80\x02K\x07.",
	    5, &len, &info, &err), 0);
	assert_int_equal(len, 5);
	assert_int_equal(info.ints, 1);
	assert_int_equal(info.others, 0);
	assert_int_equal(info.last_int, 7);
	assert_int_equal(pal_arc_pickle_span(
	    (const uint8_t *)"ctorch\nFloatStorage\n.", 21, &len, &info, &err),
	    0);
	assert_int_equal(info.globals, 1);
	assert_int_equal(info.name_len, 12);
	assert_memory_equal(info.name, "FloatStorage", 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tar_dialects_scan_every_member),
		cmocka_unit_test(tar_member_with_payload_is_reached),
		cmocka_unit_test(wrappers_decode_to_the_original),
		cmocka_unit_test(joblib_every_compressor_is_detected_and_decoded),
		cmocka_unit_test(tar_gz_holding_zip_holding_pickle),
		cmocka_unit_test(concatenated_gzip_members_are_one_stream),
		cmocka_unit_test(nesting_stops_at_the_depth_limit),
		cmocka_unit_test(traversal_names_are_reported),
		cmocka_unit_test(links_are_reported),
		cmocka_unit_test(devices_and_fifos_are_reported),
		cmocka_unit_test(duplicate_names_are_reported_and_both_scanned),
		cmocka_unit_test(data_after_the_tar_end_is_reported),
		cmocka_unit_test(sparse_tar_bomb_is_stopped),
		cmocka_unit_test(sevenzip_members_are_scanned),
		cmocka_unit_test(encrypted_7z_is_an_error),
		cmocka_unit_test(picklescan_malicious_7z_reaches_the_pickle),
		cmocka_unit_test(legacy_torch_tar_pickles_are_delimited),
		cmocka_unit_test(legacy_torch_tar_hostile_records),
		cmocka_unit_test(truncated_streams_are_errors),
		cmocka_unit_test(trailing_garbage_is_reported),
		cmocka_unit_test(corrupt_streams_are_errors),
		cmocka_unit_test(gzip_bomb_is_stopped),
		cmocka_unit_test(zlib_bomb_is_stopped),
		cmocka_unit_test(member_count_limit_holds),
		cmocka_unit_test(pickle_span_finds_the_stop),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
