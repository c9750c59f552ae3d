/*
 * scan_fixture.h - the scaffolding the scanner unit tests share: a session
 * fixture on the default policy, paths and files under $PAL_TEST_DATA, and
 * helpers that scan a buffer and look through its results and findings.
 *
 * Static inline so that each test program takes only what it uses without
 * an unused-function warning; include it after <cmocka.h>.  The short names
 * are the ones the tests called their own copies by.
 */
#ifndef PAL_TESTS_SCAN_FIXTURE_H
#define PAL_TESTS_SCAN_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_int.h"

/* Room for the findings of the hostile models that hold several at once. */
#define SCAN_FIXTURE_MAX_FINDINGS 50

struct fixture {
	struct pal_policy *policy;
	struct pal_scan *scan;
	struct pal_scan_limits limits;	/* for new sessions; tests may adjust */
};

/*
 * Replaces the fixture's session with a fresh one on its policy; limits
 * NULL means the fixture's own (the defaults unless the test changed them).
 */
static inline struct pal_scan *
scan_fixture_session(struct fixture *f, const struct pal_scan_limits *limits)
{
	struct pal_scan_opts opts;

	pal_scan_free(f->scan);
	f->scan = NULL;
	memset(&opts, 0, sizeof(opts));
	opts.limits = limits != NULL ? *limits : f->limits;
	opts.policy = f->policy;
	assert_int_equal(pal_scan_new(&opts, &f->scan, NULL), 0);
	return f->scan;
}

/* The default policy and no session yet: each scan opens its own. */
static inline int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pal_policy_new_default(&f->policy, NULL), 0);
	pal_scan_limits_default(&f->limits);
	*state = f;
	return 0;
}

/*
 * The default policy and one session for the whole test, every item
 * scanned into it, holding at most max_findings findings per item.
 */
static inline int
scan_fixture_setup_max(void **state, uint32_t max_findings)
{
	struct fixture *f;

	setup(state);
	f = *state;
	f->limits.max_findings = max_findings;
	scan_fixture_session(f, NULL);
	return 0;
}

static inline int
setup_session(void **state)
{
	return scan_fixture_setup_max(state, SCAN_FIXTURE_MAX_FINDINGS);
}

static inline int
teardown(void **state)
{
	struct fixture *f = *state;

	pal_scan_free(f->scan);
	pal_policy_free(f->policy);
	free(f);
	return 0;
}

/* $PAL_TEST_DATA/dir/name, or $PAL_TEST_DATA/name when dir is NULL. */
static inline void
data_path(char *out, size_t n, const char *dir, const char *name)
{
	const char *base = getenv("PAL_TEST_DATA");

	assert_non_null(base);
	if (dir != NULL)
		assert_true((size_t)snprintf(out, n, "%s/%s/%s", base, dir,
		    name) < n);
	else
		assert_true((size_t)snprintf(out, n, "%s/%s", base, name) <
		    n);
}

/*
 * Reads a test file under $PAL_TEST_DATA/dir (caller frees).  One byte
 * more is allocated and set to NUL, so text files can be read as strings.
 */
static inline uint8_t *
load_in(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	uint8_t *buf;
	long n;
	FILE *fp;

	data_path(path, sizeof(path), dir, name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Reads $PAL_TEST_DATA/rel (caller frees). */
static inline uint8_t *
load(const char *rel, size_t *len)
{
	return load_in(NULL, rel, len);
}

/* Scans data as fmt, named name, in a fresh session of the fixture. */
static inline struct pal_scan *
scan_fixture_scan_as(struct fixture *f, const char *name, const void *data,
    size_t len, enum pal_format fmt)
{
	scan_fixture_session(f, NULL);
	assert_int_equal(pal_scan_memory_as(f->scan, name, data, len, fmt), 0);
	assert_true(pal_scan_nresults(f->scan) >= 1);
	return f->scan;
}

/*
 * Scans data as a further top-level item of session s; returns that item's
 * result.
 */
static inline const struct pal_scan_result *
scan_fixture_append(struct pal_scan *s, const char *name, const void *data,
    size_t len, enum pal_format fmt)
{
	size_t before = pal_scan_nresults(s);

	assert_int_equal(pal_scan_memory_as(s, name, data, len, fmt), 0);
	assert_true(pal_scan_nresults(s) > before);
	return pal_scan_result(s, before);
}

/* How many findings of s, from index from on, carry this rule. */
static inline size_t
count_rule_from(const struct pal_scan *s, size_t from,
    const char *rule)
{
	size_t i, n = 0;

	for (i = from; i < pal_scan_nfindings(s); i++)
		if (strcmp(pal_scan_finding(s, i)->rule, rule) == 0)
			n++;
	return n;
}

static inline size_t
count_rule(const struct pal_scan *s, const char *rule)
{
	return count_rule_from(s, 0, rule);
}

static inline int
has_rule(const struct pal_scan *s, const char *rule)
{
	return count_rule(s, rule) != 0;
}

/* The first finding with this rule; fails the test if there is none. */
static inline const struct pal_finding *
finding(const struct pal_scan *s, const char *rule)
{
	size_t i;

	for (i = 0; i < pal_scan_nfindings(s); i++)
		if (strcmp(pal_scan_finding(s, i)->rule, rule) == 0)
			return pal_scan_finding(s, i);
	fail_msg("no finding %s", rule);
	return NULL;
}

/* One result, clean, of this format, and no finding. */
static inline void
assert_clean_as(const struct pal_scan *s, const char *what,
    const char *format)
{
	const struct pal_scan_result *r = pal_scan_result(s, 0);

	if (r->status != PAL_ITEM_CLEAN || pal_scan_nfindings(s) != 0 ||
	    pal_scan_nresults(s) != 1)
		fail_msg("%s: status %d, %zu findings, %zu results, detail %s",
		    what, r->status, pal_scan_nfindings(s),
		    pal_scan_nresults(s), r->detail ? r->detail : "-");
	assert_string_equal(r->format, format);
}

/* The first item is an error whose detail holds needle, and no finding. */
static inline void
assert_error(const struct pal_scan *s, const char *needle)
{
	const struct pal_scan_result *r = pal_scan_result(s, 0);

	if (r->status != PAL_ITEM_ERROR || r->detail == NULL ||
	    strstr(r->detail, needle) == NULL)
		fail_msg("want error containing \"%s\"; status %d, detail %s",
		    needle, r->status, r->detail ? r->detail : "-");
	assert_int_equal(pal_scan_nfindings(s), 0);
}

#endif
