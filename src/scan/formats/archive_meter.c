/*
 * archive_meter.c - every decompressed byte is paid for before it is kept.
 *
 * Two limits stop a decompression bomb: the session's expansion budget
 * (limits.max_expanded, shared by everything nested in one file on disk)
 * and the ratio of output to input of one stream or archive
 * (limits.max_ratio).  Output is kept in a buffer whose ceiling is the
 * budget that remains, so a hostile stream ends in a finding, never in
 * exhausted memory.  Sizes that entries declare are only ever compared
 * against these limits; nothing is allocated from them.
 */
#include <string.h>

#include <archive.h>

#include "archive_int.h"

/* 1 if out bytes from in_len bytes is beyond the ratio limit. */
static int
ratio_exceeded(const struct pal_scan *s, uint64_t in_len, uint64_t out)
{
	uint64_t ratio = pal_scan_limits(s)->max_ratio;

	if (ratio == 0 || out <= PAL_ARC_RATIO_FLOOR)
		return 0;
	if (in_len > UINT64_MAX / ratio)
		return 0;
	return out > in_len * ratio;
}

static int
report_ratio(struct pal_scan *s, const struct pal_scan_item *it,
    uint64_t in_len, uint64_t out, const char *what, int declared)
{
	int r;

	r = pal_scan_find(s, it, "archive.bomb", what,
	    "%llu compressed bytes %s more than %llu (ratio limit %u:1); "
	    "decompression stopped", (unsigned long long)in_len,
	    declared ? "declare" : "expand to", (unsigned long long)out,
	    pal_scan_limits(s)->max_ratio);
	if (r != 0)
		return r;
	return pal_err_set(&s->err, PAL_ERR_LIMIT,
	    "%s: expansion ratio beyond %u:1; not scanned", what,
	    pal_scan_limits(s)->max_ratio);
}

static int
report_budget(struct pal_scan *s, const struct pal_scan_item *it,
    uint64_t want, const char *what)
{
	int r;

	r = pal_scan_find(s, it, "scan.limit", what,
	    "decompressing %llu more bytes would pass the expansion limit of "
	    "%llu bytes per file", (unsigned long long)want,
	    (unsigned long long)pal_scan_limits(s)->max_expanded);
	if (r != 0)
		return r;
	return pal_err_set(&s->err, PAL_ERR_LIMIT,
	    "%s: expansion limit of %llu bytes reached; not scanned", what,
	    (unsigned long long)pal_scan_limits(s)->max_expanded);
}

int
pal_arc_charge(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_arc_meter *m, size_t n, const char *what)
{
	if ((uint64_t)n > UINT64_MAX - m->out)
		return report_budget(s, it, n, what);
	if (ratio_exceeded(s, m->in_len, m->out + n))
		return report_ratio(s, it, m->in_len, m->out + n, what, 0);
	if (pal_scan_expand(s, n) != 0)
		return report_budget(s, it, n, what);
	m->out += n;
	return 0;
}

int
pal_arc_precheck(struct pal_scan *s, const struct pal_scan_item *it,
    const struct pal_arc_meter *m, uint64_t declared, const char *what)
{
	uint64_t max = pal_scan_limits(s)->max_expanded;

	if (declared > max || s->expanded > max - declared)
		return report_budget(s, it, declared, what);
	if (declared > UINT64_MAX - m->out)
		return report_budget(s, it, declared, what);
	if (ratio_exceeded(s, m->in_len, m->out + declared))
		return report_ratio(s, it, m->in_len, m->out + declared, what,
		    1);
	return 0;
}

/* Room left in the expansion budget, as a buffer ceiling. */
static size_t
budget_left(const struct pal_scan *s)
{
	uint64_t max = pal_scan_limits(s)->max_expanded;
	uint64_t left = s->expanded < max ? max - s->expanded : 0;

	return left > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)left;
}

static int
keep(struct pal_scan *s, struct pal_buf *out, const uint8_t *p, size_t n,
    const char *what)
{
	int r;

	if ((r = pal_buf_append(out, p, n)) == 0)
		return 0;
	/* A large allocation failing is this item's problem, not the
	 * session's: the next file may be small. */
	return pal_err_set(&s->err, PAL_ERR_LIMIT,
	    "%s: cannot hold %zu decompressed bytes in memory (%s)", what,
	    out->len + n, pal_strerror(r));
}

int
pal_arc_read_entry(struct pal_scan *s, const struct pal_scan_item *it,
    struct archive *a, struct pal_arc_meter *m, struct pal_buf *out,
    uint8_t *chunk, const char *what)
{
	la_ssize_t got;
	int r;

	pal_buf_free(out);
	pal_buf_init(out, budget_left(s));
	for (;;) {
		got = archive_read_data(a, chunk, PAL_ARC_CHUNK);
		if (got == 0)
			return 0;
		if (got < 0 || (size_t)got > PAL_ARC_CHUNK) {
			const char *msg = archive_error_string(a);

			return pal_err_set(&s->err, PAL_ERR_FORMAT,
			    "%s: cannot decompress after %llu bytes: %s", what,
			    (unsigned long long)out->len,
			    msg != NULL ? msg : "libarchive failed");
		}
		if ((r = pal_arc_charge(s, it, m, (size_t)got, what)) != 0)
			return r;
		if ((r = keep(s, out, chunk, (size_t)got, what)) != 0)
			return r;
	}
}

int
pal_arc_nonzero(const uint8_t *d, size_t n)
{
	struct pal_cur c;
	uint8_t b;

	pal_cur_init(&c, d, n);
	while (pal_cur_u8(&c, &b) == 0)
		if (b != 0)
			return 1;
	return 0;
}
