/*
 * scan_time.c - times the scanner in-process, over one mapped file.
 *
 * The Python baseline of bench/scan_bench.py is timed inside its
 * interpreter, with the file already in memory; timing `palisade scan` as
 * a separate process adds process start-up, dynamic linking and the page
 * faults of a fresh mapping to palisade's side only.  This program gives
 * the like-for-like figure: it maps the file once, touches every page so
 * that the page cache and the page tables are warm, and then times
 * pal_scan_memory (format detection and the full scan, as `palisade scan`
 * runs it, without the sandbox) over several repetitions, each in a fresh
 * session, after untimed warm-up runs (the interpreter side is warm too:
 * its loop has run before the best of its repetitions).  The session's
 * set-up and teardown are outside the timing.
 *
 * Usage: scan_time [-r REPEAT] [-w WARMUP] [-n OPCODES] [-q] FILE
 *
 *   -r  repetitions (default 5); the best and the median are reported
 *   -w  untimed runs first (default 1)
 *   -n  opcodes in the file (counted by the caller, e.g. with
 *       pickletools.genops), for opcodes/s; the scanner does not say
 *   -q  do not touch the pages before the first run (a 1 GB archive
 *       whose tensors are skipped is never read in full by a scan)
 *
 * Output: one line of key=value pairs, for people and for scan_bench.py.
 * Exit status: 0 if every run scanned the file (clean or with findings),
 * 2 if a run failed or the file could not be scanned completely: a
 * benchmark of a scan that stopped early would measure nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "palisade/error.h"
#include "palisade/scan.h"

#define MAX_REPEAT 1000

struct args {
	long repeat;
	long warmup;
	uint64_t nops;
	int no_touch;
	const char *path;
};

static void
usage(void)
{
	fprintf(stderr, "usage: scan_time [-r REPEAT] [-w WARMUP] "
	    "[-n OPCODES] [-q] FILE\n");
}

/* A decimal count in [lo, hi]; -1 if the text is not one. */
static int
parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct args *a)
{
	uint64_t v;
	int c;

	a->repeat = 5;
	a->warmup = 1;
	a->nops = 0;
	a->no_touch = 0;
	while ((c = getopt(argc, argv, "r:w:n:q")) != -1) {
		switch (c) {
		case 'r':
			if (parse_count(optarg, 1, MAX_REPEAT, &v) != 0)
				return -1;
			a->repeat = (long)v;
			break;
		case 'w':
			if (parse_count(optarg, 0, MAX_REPEAT, &v) != 0)
				return -1;
			a->warmup = (long)v;
			break;
		case 'n':
			if (parse_count(optarg, 0, UINT64_MAX, &v) != 0)
				return -1;
			a->nops = v;
			break;
		case 'q':
			a->no_touch = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind + 1 != argc)
		return -1;
	a->path = argv[optind];
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads one byte of every page, so that no run pays for the first fault. */
static unsigned
touch(const volatile uint8_t *p, size_t len)
{
	size_t step = (size_t)sysconf(_SC_PAGESIZE), i;
	unsigned acc = 0;

	for (i = 0; i < len; i += step)
		acc += p[i];
	return acc;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static const char *
status_name(enum pal_item_status st)
{
	switch (st) {
	case PAL_ITEM_CLEAN:	return "clean";
	case PAL_ITEM_FINDINGS:	return "findings";
	case PAL_ITEM_ERROR:	return "error";
	default:		return "skipped";
	}
}

/*
 * One timed scan in a fresh session.  *status is the top item's status
 * and *nfind the findings of the whole scan; 0, or -1 after printing why
 * the scan cannot be used as a measurement.
 */
static int
time_one(const struct pal_policy *policy, const char *path,
    const void *data, size_t len, double *secs, const char **status,
    size_t *nfind)
{
	const struct pal_scan_result *res;
	struct pal_scan *s = NULL;
	struct pal_scan_opts opts;
	struct pal_err err;
	double t0;
	int r, rc = -1;

	pal_err_clear(&err);
	memset(&opts, 0, sizeof(opts));
	pal_scan_limits_default(&opts.limits);
	opts.policy = policy;
	if ((r = pal_scan_new(&opts, &s, &err)) != 0) {
		fprintf(stderr, "scan_time: %s\n", pal_strerror(r));
		goto out;
	}
	t0 = now();
	r = pal_scan_memory(s, path, data, len);
	*secs = now() - t0;
	if (r != 0) {
		fprintf(stderr, "scan_time: %s: %s\n", path, pal_strerror(r));
		goto out;
	}
	if (pal_scan_nresults(s) == 0 || (res = pal_scan_result(s, 0)) ==
	    NULL) {
		fprintf(stderr, "scan_time: %s: no result\n", path);
		goto out;
	}
	if (res->status == PAL_ITEM_ERROR || res->status == PAL_ITEM_SKIPPED) {
		fprintf(stderr, "scan_time: %s: %s: %s\n", path,
		    status_name(res->status), res->detail ? res->detail : "");
		goto out;
	}
	*status = status_name(res->status);
	*nfind = pal_scan_nfindings(s);
	rc = 0;
out:
	pal_scan_free(s);
	return rc;
}

/* Maps path read-only; *len 0 leaves *map NULL (an empty file). */
static int
map_file(const char *path, void **map, size_t *len)
{
	struct stat st;
	int fd;

	*map = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		fprintf(stderr, "scan_time: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	if (*len > 0 && (*map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		fprintf(stderr, "scan_time: %s: %s\n", path, strerror(errno));
		*map = NULL;
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct pal_policy *policy = NULL;
	const char *status = "clean";
	struct pal_err err;
	struct args a;
	double *t = NULL, best, med;
	size_t len = 0, nfind = 0;
	void *map = NULL;
	long i;
	int r, rc = 2;

	pal_err_clear(&err);
	if (parse_args(argc, argv, &a) != 0) {
		usage();
		return 2;
	}
	if (map_file(a.path, &map, &len) != 0)
		goto out;
	if (map != NULL && !a.no_touch)
		(void)touch(map, len);
	if ((r = pal_policy_new_default(&policy, &err)) != 0) {
		fprintf(stderr, "scan_time: %s\n", err.msg[0] ? err.msg :
		    pal_strerror(r));
		goto out;
	}
	if ((t = calloc((size_t)a.repeat, sizeof(*t))) == NULL) {
		fprintf(stderr, "scan_time: out of memory\n");
		goto out;
	}
	/* Warm-up runs: their times are not kept. */
	for (i = 0; i < a.warmup; i++)
		if (time_one(policy, a.path, map, len, &t[0], &status,
		    &nfind) != 0)
			goto out;
	for (i = 0; i < a.repeat; i++)
		if (time_one(policy, a.path, map, len, &t[i], &status,
		    &nfind) != 0)
			goto out;
	qsort(t, (size_t)a.repeat, sizeof(*t), cmp_double);
	best = t[0];
	med = t[a.repeat / 2];
	printf("file=%s bytes=%zu runs=%ld best_s=%.6f median_s=%.6f "
	    "MB_s=%.1f", a.path, len, a.repeat, best, med,
	    best > 0 ? (double)len / best / 1e6 : 0.0);
	if (a.nops > 0)
		printf(" opcodes=%" PRIu64 " Mop_s=%.1f", a.nops,
		    best > 0 ? (double)a.nops / best / 1e6 : 0.0);
	printf(" status=%s findings=%zu\n", status, nfind);
	rc = fflush(stdout) == 0 ? 0 : 2;
out:
	free(t);
	pal_policy_free(policy);
	if (map != NULL)
		munmap(map, len);
	return rc;
}
