/*
 * test_zip.c - the zip scanner: real archives written by torch, numpy,
 * zipfile and h5py scan without zip findings; every header trick in
 * tests/data/zip (written by make_zips.py) and in picklescan's corpus
 * yields its finding, with the member named and still scanned; malformed
 * archives end in an error that says where; limits hold; a 1 GB PyTorch
 * checkpoint is scanned without reading its tensors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <zlib.h>

#include "scan_fixture.h"

/* Scans tests/data/DIR/NAME (format detected unless given). */
static struct pal_scan *
scan_as(struct fixture *f, const char *dir, const char *name,
    enum pal_format fmt)
{
	struct pal_scan *s = scan_fixture_session(f, NULL);
	size_t len;
	uint8_t *buf = load_in(dir, name, &len);

	assert_int_equal(pal_scan_memory_as(s, name, buf, len, fmt), 0);
	free(buf);
	return s;
}

static struct pal_scan *
scan(struct fixture *f, const char *name)
{
	return scan_as(f, "zip", name, PAL_FMT_UNKNOWN);
}

static size_t
count_prefix(const struct pal_scan *s, const char *prefix)
{
	size_t i, n = 0;

	for (i = 0; i < pal_scan_nfindings(s); i++)
		if (strncmp(pal_scan_finding(s, i)->rule, prefix,
		    strlen(prefix)) == 0)
			n++;
	return n;
}

/* The finding of rule whose reason mentions what, or NULL. */
static const struct pal_finding *
find_in(const struct pal_scan *s, const char *rule, const char *what)
{
	size_t i;

	for (i = 0; i < pal_scan_nfindings(s); i++) {
		const struct pal_finding *fd = pal_scan_finding(s, i);

		if (strcmp(fd->rule, rule) == 0 &&
		    (what == NULL || strstr(fd->reason, what) != NULL))
			return fd;
	}
	return NULL;
}

/* The result named "<top>!<member>", or NULL. */
static const struct pal_scan_result *
member(const struct pal_scan *s, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < pal_scan_nresults(s); i++) {
		const char *rn = pal_scan_result(s, i)->name;
		const char *bang = strrchr(rn, '!');
		size_t rl = strlen(rn);

		if (bang != NULL && rl > n && strcmp(rn + rl - n, name) == 0 &&
		    rn[rl - n - 1] == '!')
			return pal_scan_result(s, i);
	}
	return NULL;
}

static void
assert_member_format(const struct pal_scan *s, const char *name,
    const char *format)
{
	const struct pal_scan_result *r = member(s, name);

	if (r == NULL)
		fail_msg("member %s was not scanned", name);
	assert_string_equal(r->format, format);
}

/* The top-level result. */
static const struct pal_scan_result *
top(const struct pal_scan *s)
{
	return pal_scan_result(s, 0);
}

/* Files the real libraries wrote: no zip finding, no limit reached. */
static void
benign_archives_have_no_zip_findings(void **state)
{
	static const char *const files[] = {
		"torch_state_dict.pt", "torch_module.pt",
		"torchscript_scripted.pt", "torchscript_traced.pt",
		"arrays.npz", "arrays_compressed.npz", "plain.zip",
		"zip64_member.zip", "zip64_central.zip", "model.keras",
		"empty.zip", NULL,
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; files[i] != NULL; i++) {
		struct pal_scan *s = scan(f, files[i]);

		if (count_prefix(s, "zip.") != 0 || count_rule(s, "scan.limit"))
			fail_msg("%s: unexpected finding %s: %s", files[i],
			    pal_scan_finding(s, 0)->rule,
			    pal_scan_finding(s, 0)->reason);
		assert_string_equal(top(s)->format, "zip");
	}
}

/* With the member scanners behind it, the whole verdict is clean. */
static void
benign_archives_are_clean(void **state)
{
	static const char *const files[] = {
		"torch_state_dict.pt", "arrays.npz", "arrays_compressed.npz",
		"plain.zip", "zip64_member.zip", "zip64_central.zip",
		"empty.zip", "torch_storage_pickle.pt", NULL,
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; files[i] != NULL; i++) {
		struct pal_scan *s = scan(f, files[i]);

		if (pal_scan_exit_code(s) != 0)
			fail_msg("%s: exit %d", files[i],
			    pal_scan_exit_code(s));
	}
	assert_int_equal(pal_scan_exit_code(scan_as(f, "picklescan",
	    "data/new_pytorch_model.bin", PAL_FMT_UNKNOWN)), 0);
}

static void
picklescan_benign_zips_have_no_zip_findings(void **state)
{
	static const char *const files[] = {
		"data/new_pytorch_model.bin", "data2/int_arrays.npz",
		"data2/int_arrays_compressed.npz", "data2/object_arrays.npz",
		"data2/object_arrays_compressed.npz", NULL,
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; files[i] != NULL; i++) {
		struct pal_scan *s = scan_as(f, "picklescan", files[i],
		    PAL_FMT_UNKNOWN);

		assert_int_equal(count_prefix(s, "zip."), 0);
		assert_string_equal(top(s)->format, "zip");
	}
	assert_member_format(f->scan, "b.npy", "npy");
}

/* Only the pickles of a PyTorch archive are read; storage never is. */
static void
torch_pickles_scanned_storage_skipped(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s = scan(f, "torch_state_dict.pt");

	assert_member_format(s, "torch_state_dict/data.pkl", "pickle");
	assert_null(member(s, "torch_state_dict/data/0"));
	assert_null(member(s, "torch_state_dict/data/1"));
	/* The version record is text: nothing to scan, no result. */
	assert_null(member(s, "torch_state_dict/version"));

	s = scan(f, "torchscript_traced.pt");
	assert_member_format(s, "torchscript_traced/data.pkl", "pickle");
	assert_member_format(s, "torchscript_traced/constants.pkl", "pickle");
	assert_member_format(s, "torchscript_traced/code/__torch__.py.debug_pkl",
	    "pickle");
	assert_null(member(s, "torchscript_traced/constants/0"));
	assert_null(member(s, "torchscript_traced/data/0"));
	assert_null(member(s, "torchscript_traced/code/__torch__.py"));
}

/* A pickle posing as storage is never unpickled by torch; an .npy is
 * read by numpy.load, so it is scanned. */
static void
torch_storage_pickle_skipped_npy_scanned(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s = scan(f, "torch_storage_pickle.pt");

	assert_member_format(s, "archive/data.pkl", "pickle");
	assert_null(member(s, "archive/data/0"));
	assert_member_format(s, "archive/data/1", "npy");
	assert_int_equal(count_prefix(s, "zip."), 0);
}

static void
npz_members_are_scanned_as_npy(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s = scan(f, "arrays_compressed.npz");

	assert_member_format(s, "a.npy", "npy");
	assert_member_format(s, "b.npy", "npy");
	s = scan(f, "plain.zip");
	assert_member_format(s, "weights/model.pkl", "pickle");
	assert_member_format(s, "weights/arrays.npz", "zip");
	assert_member_format(s, "weights/arrays.npz!x.npy", "npy");
	assert_null(member(s, "README.txt"));
}

static void
keras_members_are_scanned(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s = scan(f, "model.keras");

	assert_member_format(s, "config.json", "json");
	assert_member_format(s, "metadata.json", "json");
	assert_member_format(s, "model.weights.h5", "hdf5");
}

/* One trick per file: the rule, how many findings, a word of the reason. */
struct trick {
	const char *file;
	const char *rule;
	size_t count;
	const char *what;
};

static const struct trick tricks[] = {
	{ "prepended.zip", "zip.prepended-data", 1, "64 bytes" },
	{ "prepended.zip", "zip.view-mismatch", 1, "shifts" },
	{ "hidden.zip", "zip.hidden-entry", 1, "'evil.pkl'" },
	{ "hidden_descriptor.zip", "zip.hidden-entry", 2, "'deflated.pkl'" },
	{ "name_mismatch.zip", "zip.header-mismatch", 1, "'datap.kl'" },
	{ "method_mismatch.zip", "zip.header-mismatch", 1, "method" },
	{ "size_mismatch_local.zip", "zip.header-mismatch", 1, "sizes" },
	{ "crc_local.zip", "zip.header-mismatch", 1, "CRC-32" },
	{ "descriptor_mismatch.zip", "zip.header-mismatch", 1, "descriptor" },
	{ "crc_bad.zip", "zip.crc-mismatch", 1, "0x0badc0de" },
	{ "overlap.zip", "zip.overlap", 1, "'evil.pkl' starts inside" },
	{ "overlap_cd.zip", "zip.overlap", 1, "central directory" },
	{ "encrypted_flag.zip", "zip.encrypted-flag", 1, "bit 0" },
	{ "encrypted_local_only.zip", "zip.encrypted-flag", 1, "differ" },
	{ "duplicate.zip", "zip.duplicate-name", 1, "2 entries" },
	{ "case_duplicate.zip", "zip.duplicate-name", 1, "'archive/DATA.PKL'" },
	{ "traversal.zip", "zip.path-traversal", 4, "'..'" },
	{ "symlink.zip", "zip.symlink", 1, "'link'" },
	{ "nul_name.zip", "zip.name-confusion", 1, "NUL" },
	{ "method12.zip", "zip.unsupported-method", 1, "method 12" },
	{ "bomb.zip", "zip.bomb", 1, "1000 times" },
	{ "eocd_tail.zip", "zip.view-mismatch", 1, "refuses" },
	{ "count_mismatch.zip", "zip.view-mismatch", 1, "2 entries" },
	{ "two_directories.zip", "zip.view-mismatch", 2, "offset 0" },
	{ "torchscript_evil.pt", "zip.torchscript-call", 2, "native library" },
	{ "torchscript_evil.pt", "zip.torchscript-op", 1, "'evilns'" },
	{ "nested.zip", "zip.hidden-entry", 1, "'evil.pkl'" },
	{ "usize_lie.zip", "zip.size-mismatch", 1, "declares 10" },
	{ NULL, NULL, 0, NULL },
};

static void
every_trick_is_found(void **state)
{
	struct fixture *f = *state;
	const struct trick *t;

	for (t = tricks; t->file != NULL; t++) {
		struct pal_scan *s = scan(f, t->file);

		if (count_rule(s, t->rule) != t->count)
			fail_msg("%s: %zu %s findings, want %zu", t->file,
			    count_rule(s, t->rule), t->rule, t->count);
		if (find_in(s, t->rule, t->what) == NULL)
			fail_msg("%s: no %s finding mentions %s", t->file,
			    t->rule, t->what);
		assert_int_equal(pal_scan_exit_code(s), 1);
	}
}

/* Findings say where: the header's offset. */
static void
findings_carry_offsets(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s = scan(f, "hidden.zip");

	assert_string_equal(find_in(s, "zip.hidden-entry", NULL)->location,
	    "offset 87");
	s = scan(f, "traversal.zip");
	assert_string_equal(find_in(s, "zip.path-traversal", "'/abs.pkl'")->
	    location, "offset 83");
}

/* Whatever a trick hides is still scanned, in every view. */
static void
assert_member_found(const struct pal_scan *s, const char *name)
{
	const struct pal_scan_result *r = member(s, name);

	if (r == NULL)
		fail_msg("member %s was not scanned", name);
	if (r->status != PAL_ITEM_FINDINGS)
		fail_msg("payload %s was not found", name);
}

static void
tricked_members_are_still_scanned(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;

	s = scan(f, "hidden.zip");
	assert_member_format(s, "evil.pkl", "pickle");
	assert_member_format(s, "data.pkl", "pickle");
	s = scan(f, "hidden_descriptor.zip");
	assert_member_format(s, "stored.pkl", "pickle");
	assert_member_format(s, "deflated.pkl", "pickle");
	s = scan(f, "two_directories.zip");
	assert_member_format(s, "archive/data.pkl", "pickle");
	assert_member_format(s, "archive/data.pkl [offset 0]", "pickle");
	s = scan(f, "duplicate.zip");
	assert_member_format(s, "data.pkl", "pickle");
	assert_non_null(strstr(pal_scan_result(s, 2)->name, "[offset 87]"));
	s = scan(f, "case_duplicate.zip");
	assert_member_format(s, "archive/DATA.PKL", "pickle");
	s = scan(f, "encrypted_flag.zip");
	assert_member_format(s, "data.pkl", "pickle");
	s = scan(f, "crc_bad.zip");
	assert_member_format(s, "data.pkl", "pickle");
	s = scan(f, "count_mismatch.zip");
	assert_member_format(s, "evil.pkl", "pickle");
	s = scan(f, "eocd_tail.zip");
	assert_member_format(s, "data.pkl", "pickle");
	s = scan(f, "overlap.zip");
	assert_member_format(s, "evil.pkl", "pickle");
	s = scan(f, "nul_name.zip");
	assert_member_format(s, "data.pkl", "pickle");
	s = scan(f, "nested.zip");
	assert_member_format(s, "inner.zip!evil.pkl", "pickle");
	s = scan(f, "usize_lie.zip");
	assert_member_format(s, "data.pkl", "pickle");
	s = scan(f, "zip64_central.zip");
	assert_member_format(s, "data.pkl", "pickle");

	/* And the payload in it is found by the pickle scanner. */
	assert_member_found(scan(f, "hidden.zip"), "evil.pkl");
	assert_member_found(scan(f, "hidden_descriptor.zip"), "deflated.pkl");
	assert_member_found(scan(f, "two_directories.zip"),
	    "archive/data.pkl");
	assert_member_found(scan(f, "case_duplicate.zip"), "archive/DATA.PKL");
	assert_member_found(scan(f, "count_mismatch.zip"), "evil.pkl");
	assert_member_found(scan(f, "nested.zip"), "inner.zip!evil.pkl");
}

/* torch.load unpickles what precedes a zip; so does the scanner. */
static void
prepended_pickle_is_scanned(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s = scan_as(f, "zip", "prepended_pickle.zip",
	    PAL_FMT_ZIP);

	assert_int_equal(count_rule(s, "zip.prepended-data"), 1);
	assert_member_format(s, "(data before the archive)", "pickle");
	assert_member_found(s, "(data before the archive)");
	assert_member_format(s, "data.pkl", "pickle");
}

static void
expect_error(const struct pal_scan *s, const char *what)
{
	const struct pal_scan_result *r = top(s);

	assert_non_null(r->detail);
	if (strstr(r->detail, what) == NULL)
		fail_msg("detail '%s' lacks '%s'", r->detail, what);
}

/* Archives no loader can read completely end in an error saying where. */
static void
malformed_archives_are_errors(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;

	s = scan(f, "not_a_zip.bin");
	assert_int_equal(top(s)->status, PAL_ITEM_ERROR);
	expect_error(s, "no end of central directory record (offset 44)");
	assert_int_equal(pal_scan_exit_code(s), 2);

	s = scan(f, "deflate_corrupt.zip");
	assert_int_equal(top(s)->status, PAL_ITEM_ERROR);
	expect_error(s, "'data.pkl' (local header at offset 0): deflate data "
	    "is corrupt");

	/* A stored size beyond the file: an error even behind findings. */
	s = scan(f, "stored_beyond.zip");
	expect_error(s, "1048576 bytes of data at offset 38 run past the end");
	s = scan(f, "zip64_missing.zip");
	expect_error(s, "run past the end");

	/* No directory: an error, but the local headers are still read. */
	s = scan(f, "truncated.pt");
	assert_int_equal(top(s)->status, PAL_ITEM_ERROR);
	expect_error(s, "no end of central directory record");
	assert_member_format(s, "torch_state_dict/data.pkl", "pickle");
	assert_null(member(s, "torch_state_dict/data/0"));
}

static void
picklescan_zips(void **state)
{
	static const struct trick ps[] = {
		{ "data/malicious1_0x1.zip", "zip.encrypted-flag", 1, "bit 0" },
		{ "data/malicious1_0x20.zip", "zip.encrypted-flag", 1, "bit 5" },
		{ "data/malicious1_0x40.zip", "zip.encrypted-flag", 1, "bit 6" },
		{ "data/malicious1_central_directory.zip",
		  "zip.header-mismatch", 1, "'datap.kl'" },
		{ "data2/malicious1_crc.zip", "zip.crc-mismatch", 1,
		  "0x03e69f6c" },
		{ NULL, NULL, 0, NULL },
	};
	struct fixture *f = *state;
	const struct trick *t;
	struct pal_scan *s;

	for (t = ps; t->file != NULL; t++) {
		s = scan_as(f, "picklescan", t->file, PAL_FMT_UNKNOWN);
		assert_int_equal(count_rule(s, t->rule), t->count);
		assert_non_null(find_in(s, t->rule, t->what));
		assert_int_equal(pal_scan_result(s, 1)->depth, 1);
		assert_string_equal(pal_scan_result(s, 1)->format, "pickle");
		assert_int_equal(pal_scan_exit_code(s), 1);
	}
	/* Truly encrypted: unreadable, so never clean, and no finding. */
	s = scan_as(f, "picklescan", "data/benign_password_protected.zip",
	    PAL_FMT_UNKNOWN);
	assert_int_equal(pal_scan_nfindings(s), 0);
	assert_int_equal(top(s)->status, PAL_ITEM_ERROR);
	expect_error(s, "'test.txt' (local header at offset 0): encrypted");
	assert_int_equal(pal_scan_exit_code(s), 2);
	/* No zip trick: the member is reached and left to the pickle
	 * scanner. */
	s = scan_as(f, "picklescan", "data/malicious1_wrong_ext.zip",
	    PAL_FMT_UNKNOWN);
	assert_int_equal(count_prefix(s, "zip."), 0);
	assert_member_found(s, "data.txt");
	s = scan_as(f, "picklescan", "data/malicious1.zip", PAL_FMT_UNKNOWN);
	assert_int_equal(count_prefix(s, "zip."), 0);
	assert_member_found(s, "data.pkl");
	assert_int_equal(pal_scan_exit_code(s), 1);
}

/* The ratio limit is the session's; the expansion budget and the entry
 * count are capped too. */
static void
limits_hold(void **state)
{
	struct fixture *f = *state;
	struct pal_scan *s;

	f->limits.max_ratio = 2000;
	s = scan(f, "bomb.zip");
	assert_int_equal(count_rule(s, "zip.bomb"), 0);
	assert_int_equal(count_prefix(s, "zip."), 0);

	f->limits.max_ratio = 100;
	s = scan(f, "bomb.zip");
	assert_non_null(find_in(s, "zip.bomb", "100 times its 1033"));

	f->limits.max_ratio = 2000;
	f->limits.max_expanded = 4096;
	s = scan(f, "bomb.zip");
	assert_non_null(find_in(s, "scan.limit", "'zeros.bin'"));
	assert_int_equal(count_rule(s, "zip.bomb"), 0);

	pal_scan_limits_default(&f->limits);
	f->limits.max_members = 2;
	s = scan(f, "plain.zip");
	assert_non_null(find_in(s, "scan.limit", "more than 2 zip entries"));
}

/*
 * A 1 GB checkpoint whose storage is a hole in a sparse file: the scan
 * reads the pickle and a few headers, never the storage, so it takes
 * milliseconds however large the tensors are.
 */
static void
put(int fd, off_t at, const void *p, size_t n)
{
	assert_int_equal(pwrite(fd, p, n, at), (ssize_t)n);
}

static void
le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

/* Writes a local header and returns its size. */
static size_t
local(int fd, off_t at, const char *name, uint32_t crc, uint32_t size)
{
	uint8_t h[30 + 64];
	size_t n = strlen(name);

	memset(h, 0, sizeof(h));
	le32(h, 0x04034b50);
	le16(h + 4, 20);
	le32(h + 14, crc);
	le32(h + 18, size);
	le32(h + 22, size);
	le16(h + 26, (uint16_t)n);
	memcpy(h + 30, name, n);
	put(fd, at, h, 30 + n);
	return 30 + n;
}

static size_t
central(uint8_t *p, const char *name, uint32_t crc, uint32_t size,
    uint32_t lho)
{
	size_t n = strlen(name);

	memset(p, 0, 46);
	le32(p, 0x02014b50);
	le16(p + 4, 20);
	le16(p + 6, 20);
	le32(p + 16, crc);
	le32(p + 20, size);
	le32(p + 24, size);
	le16(p + 28, (uint16_t)n);
	le32(p + 42, lho);
	memcpy(p + 46, name, n);
	return 46 + n;
}

static void
big_checkpoint_is_fast(void **state)
{
	static const uint8_t pkl[] = "\x80\x02}q\x00.";
	static const char *const names[] = {
		"archive/data.pkl", "archive/data/0", "archive/version",
	};
	const uint32_t big = 1u << 30;
	struct fixture *f = *state;
	uint32_t sizes[3], crcs[3], lho[3];
	uint8_t cd[3 * (46 + 32)], eocd[22];
	const char *tmp = getenv("PAL_TEST_TMP");
	struct timespec t0, t1;
	char path[4096];
	struct pal_scan *s;
	off_t at = 0;
	size_t i, cdlen = 0;
	double secs;
	int fd;

	assert_non_null(tmp);
	mkdir(tmp, 0700);
	snprintf(path, sizeof(path), "%s/zip-big-%d.pt", tmp, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	sizes[0] = sizeof(pkl) - 1;
	sizes[1] = big;
	sizes[2] = 2;
	crcs[0] = (uint32_t)crc32(0, pkl, sizes[0]);
	crcs[1] = 0;
	crcs[2] = (uint32_t)crc32(0, (const uint8_t *)"3\n", 2);
	for (i = 0; i < 3; i++) {
		lho[i] = (uint32_t)at;
		at += (off_t)local(fd, at, names[i], crcs[i], sizes[i]);
		if (i == 0)
			put(fd, at, pkl, sizes[0]);
		if (i == 2)
			put(fd, at, "3\n", 2);
		at += sizes[i];
		cdlen += central(cd + cdlen, names[i], crcs[i], sizes[i],
		    lho[i]);
	}
	put(fd, at, cd, cdlen);
	memset(eocd, 0, sizeof(eocd));
	le32(eocd, 0x06054b50);
	le16(eocd + 8, 3);
	le16(eocd + 10, 3);
	le32(eocd + 12, (uint32_t)cdlen);
	le32(eocd + 16, (uint32_t)at);
	put(fd, at + (off_t)cdlen, eocd, sizeof(eocd));
	close(fd);

	s = scan_fixture_session(f, NULL);
	assert_int_equal(pal_scan_add(s, path), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pal_scan_run(s, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unlink(path);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 1.0);
	assert_string_equal(top(s)->format, "zip");
	assert_int_equal(count_prefix(s, "zip."), 0);
	assert_member_format(s, "archive/data.pkl", "pickle");
	assert_null(member(s, "archive/data/0"));
}

/*
 * A megabyte of local headers whose ends cannot be found (stored, sizes
 * in a descriptor that is not there) before a real archive: searching for
 * their ends has a budget, so the scan stays linear.
 */
static void
endless_hidden_headers_are_cheap(void **state)
{
	static const uint8_t pkl[] = "\x80\x02}q\x00.";
	const size_t hdr = 31, n = (1u << 20) / hdr;
	struct fixture *f = *state;
	size_t i, at, len = n * hdr + 31 + 6 + 47 + 22;
	struct timespec t0, t1;
	struct pal_scan *s;
	uint8_t *buf = calloc(1, len);
	uint32_t crc = (uint32_t)crc32(0, pkl, 6);

	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		le32(buf + i * hdr, 0x04034b50);
		le16(buf + i * hdr + 6, 8);
		le16(buf + i * hdr + 26, 1);
		buf[i * hdr + 30] = 'x';
	}
	at = n * hdr;
	le32(buf + at, 0x04034b50);
	le32(buf + at + 14, crc);
	le32(buf + at + 18, 6);
	le32(buf + at + 22, 6);
	le16(buf + at + 26, 1);
	buf[at + 30] = 'a';
	memcpy(buf + at + 31, pkl, 6);
	le32(buf + at + 37, 0x02014b50);
	le32(buf + at + 37 + 16, crc);
	le32(buf + at + 37 + 20, 6);
	le32(buf + at + 37 + 24, 6);
	le16(buf + at + 37 + 28, 1);
	le32(buf + at + 37 + 42, (uint32_t)at);
	buf[at + 37 + 46] = 'a';
	le32(buf + at + 84, 0x06054b50);
	le16(buf + at + 84 + 8, 1);
	le16(buf + at + 84 + 10, 1);
	le32(buf + at + 84 + 12, 47);
	le32(buf + at + 84 + 16, (uint32_t)(at + 37));

	s = scan_fixture_session(f, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pal_scan_memory_as(s, "headers", buf, len,
	    PAL_FMT_ZIP), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(buf);
	assert_true((double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < 2.0);
	assert_member_format(s, "a", "pickle");
	assert_int_equal(pal_scan_exit_code(s), 0);
}

/*
 * Every prefix and every single-byte change of the hostile files ends in
 * a defined state: no crash, no leak, an exit code of 0, 1 or 2.
 */
static void
mutations_end_in_a_defined_state(void **state)
{
	static const char *const files[] = {
		"hidden_descriptor.zip", "two_directories.zip", "overlap.zip",
		"encrypted_flag.zip", "count_mismatch.zip", NULL,
	};
	struct fixture *f = *state;
	size_t i, n, len;

	f->limits.max_findings = 8;
	for (i = 0; files[i] != NULL; i++) {
		uint8_t *buf = load_in("zip", files[i], &len);

		for (n = 0; n <= len; n++) {
			struct pal_scan *s = scan_fixture_session(f, NULL);

			assert_int_equal(pal_scan_memory_as(s, "cut", buf, n,
			    PAL_FMT_ZIP), 0);
			assert_in_range(pal_scan_exit_code(s), 0, 2);
		}
		for (n = 0; n < len; n++) {
			struct pal_scan *s = scan_fixture_session(f, NULL);

			buf[n] ^= 0x41;
			assert_int_equal(pal_scan_memory_as(s, "flip", buf, len,
			    PAL_FMT_ZIP), 0);
			assert_in_range(pal_scan_exit_code(s), 0, 2);
			buf[n] ^= 0x41;
		}
		free(buf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    benign_archives_have_no_zip_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(benign_archives_are_clean,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    picklescan_benign_zips_have_no_zip_findings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    torch_pickles_scanned_storage_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    torch_storage_pickle_skipped_npy_scanned, setup, teardown),
		cmocka_unit_test_setup_teardown(npz_members_are_scanned_as_npy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(keras_members_are_scanned,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(every_trick_is_found, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(findings_carry_offsets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    tricked_members_are_still_scanned, setup, teardown),
		cmocka_unit_test_setup_teardown(prepended_pickle_is_scanned,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_archives_are_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(picklescan_zips, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(limits_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(big_checkpoint_is_fast, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    endless_hidden_headers_are_cheap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    mutations_end_in_a_defined_state, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
