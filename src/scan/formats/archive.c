/*
 * archive.c - tar (v7, ustar, GNU, pax) and 7z archives, read with
 * libarchive from memory; and the rule table of every archive scanner.
 *
 * Each regular member is extracted into a buffer bounded by the expansion
 * budget and scanned as a child, its format detected from its content.
 * What the entries say about themselves is reported: names that climb out
 * of the extraction directory, links (and links that leave the archive),
 * device and fifo entries, names that occur twice, sizes no archive of
 * this length could hold.  An encrypted member cannot be scanned and
 * makes the archive an error, never clean.
 *
 * A tar holding "pickle", "storages" and "tensors" is the legacy PyTorch
 * layout; its "storages" and "tensors" members are sequences of pickles
 * and raw data, delimited in archive_torch.c.
 *
 * Trusted: nothing in the input, and not libarchive's notion of sizes
 * either: every byte it produces is charged before it is kept
 * (archive_meter.c), and libarchive is given readers for exactly the
 * format detected, with no decompression filters (a compressed tar is a
 * compression wrapper holding a tar: archive_stream.c).
 */
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive_int.h"

const struct pal_rule pal_rules_archive[] = {
	{ "archive.path-traversal", PAL_SEV_HIGH,
	  "An archive member's name is absolute or climbs out of the "
	  "extraction directory with '..'." },
	{ "archive.symlink", PAL_SEV_MEDIUM,
	  "An archive member is a symbolic link; extracting it creates a "
	  "link that later members or a loader may write or read through." },
	{ "archive.hardlink", PAL_SEV_MEDIUM,
	  "An archive member is a hard link to another path." },
	{ "archive.link-escape", PAL_SEV_HIGH,
	  "A symbolic or hard link in an archive points outside the archive "
	  "(an absolute target or one that climbs out with '..')." },
	{ "archive.special-file", PAL_SEV_HIGH,
	  "An archive member is a device, fifo or socket, which no model "
	  "needs and which extraction would create." },
	{ "archive.duplicate-name", PAL_SEV_MEDIUM,
	  "Two archive members have the same name: extraction and loaders "
	  "see the last, other tools the first." },
	{ "archive.size", PAL_SEV_MEDIUM,
	  "An archive member declares a size that the archive cannot "
	  "hold." },
	{ "archive.bomb", PAL_SEV_HIGH,
	  "Compressed data expands beyond the allowed ratio of output to "
	  "input: a decompression bomb." },
	{ "archive.trailing-data", PAL_SEV_LOW,
	  "Data follows the end of an archive or compressed stream; no "
	  "decompressor reads it, so it hides what another reader may "
	  "use." },
	{ NULL, 0, NULL },
};

/* Members of the legacy PyTorch tar that are not plain pickles. */
enum { TORCH_STORAGES, TORCH_TENSORS, TORCH_NSLOTS };

static const char *const torch_slot_names[TORCH_NSLOTS] = {
	"storages", "tensors",
};

/* A set of member names, for duplicates: open addressing, FNV-1a. */
struct name_set {
	char **slot;
	size_t cap;	/* a power of two, or 0 */
	size_t n;
};

struct arc {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	struct archive *a;
	struct pal_arc_meter m;
	uint8_t *chunk;			/* PAL_ARC_CHUNK bytes of scratch */
	struct pal_buf data;		/* the member being extracted */
	uint32_t members;
	char *last;			/* name of the previous member */
	struct name_set names;
	struct pal_buf torch[TORCH_NSLOTS];	/* deferred member bytes */
	int torch_seen[TORCH_NSLOTS];
	int has_pickle;
	int err;			/* first error that did not stop the walk */
	struct pal_err err_detail;	/* and its detail */
};

static uint64_t
fnv1a(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h;
}

static int
names_grow(struct name_set *ns)
{
	size_t ncap = ns->cap ? ns->cap * 2 : 64, i, j;
	char **nslot;

	if (ncap > SIZE_MAX / sizeof(*nslot))
		return PAL_ERR_NOMEM;
	if ((nslot = calloc(ncap, sizeof(*nslot))) == NULL)
		return PAL_ERR_NOMEM;
	for (i = 0; i < ns->cap; i++) {
		if (ns->slot[i] == NULL)
			continue;
		for (j = fnv1a(ns->slot[i]) & (ncap - 1); nslot[j] != NULL;
		    j = (j + 1) & (ncap - 1))
			;
		nslot[j] = ns->slot[i];
	}
	free(ns->slot);
	ns->slot = nslot;
	ns->cap = ncap;
	return 0;
}

/* Adds name (taking ownership); *dup is set when it was there already. */
static int
names_add(struct name_set *ns, char *name, int *dup)
{
	size_t j;
	int r;

	*dup = 0;
	if ((ns->n + 1) * 2 > ns->cap && (r = names_grow(ns)) != 0) {
		free(name);
		return r;
	}
	for (j = fnv1a(name) & (ns->cap - 1); ns->slot[j] != NULL;
	    j = (j + 1) & (ns->cap - 1)) {
		if (strcmp(ns->slot[j], name) == 0) {
			*dup = 1;
			free(name);
			return 0;
		}
	}
	ns->slot[j] = name;
	ns->n++;
	return 0;
}

static void
names_free(struct name_set *ns)
{
	size_t i;

	for (i = 0; i < ns->cap; i++)
		free(ns->slot[i]);
	free(ns->slot);
	memset(ns, 0, sizeof(*ns));
}

static int
is_sep(char c)
{
	return c == '/' || c == '\\';
}

/*
 * The name extraction would create: "./a//b/./c/" is "a/b/c".
 * Caller frees.
 */
static char *
normalize(const char *name)
{
	size_t n = strlen(name), i = 0, o = 0;
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	while (i < n) {
		size_t start, len;

		while (i < n && is_sep(name[i]))
			i++;
		for (start = i; i < n && !is_sep(name[i]); i++)
			;
		len = i - start;
		if (len == 0 || (len == 1 && name[start] == '.'))
			continue;
		if (o > 0)
			p[o++] = '/';
		memcpy(p + o, name + start, len);
		o += len;
	}
	p[o] = '\0';
	return p;
}

/* "/x", "\x" and "C:x" name a place outside the extraction directory. */
static int
is_absolute(const char *p)
{
	if (is_sep(p[0]))
		return 1;
	return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'))
	    && p[1] == ':';
}

/*
 * Walks path's components from a directory depth components below the
 * extraction root.  Returns 1 if a ".." climbs above the root.
 */
static int
climbs_out(const char *path, long depth)
{
	size_t i = 0, n = strlen(path);

	while (i < n) {
		size_t start, len;

		while (i < n && is_sep(path[i]))
			i++;
		for (start = i; i < n && !is_sep(path[i]); i++)
			;
		len = i - start;
		if (len == 2 && path[start] == '.' && path[start + 1] == '.') {
			if (--depth < 0)
				return 1;
		} else if (len > 0 && !(len == 1 && path[start] == '.')) {
			depth++;
		}
	}
	return 0;
}

/* Directory depth of a member: "a/b/c" is in a/b, depth 2. */
static long
dir_depth(const char *norm)
{
	long d = 0;

	for (; *norm != '\0'; norm++)
		if (*norm == '/')
			d++;
	return d;
}

/* Remembers the first error that did not stop the walk. */
static void
defer_error(struct arc *x, int code)
{
	if (x->err == 0) {
		x->err = code;
		x->err_detail = x->s->err;
	}
}

/* 1 if a component of path is "..". */
static int
has_dotdot(const char *path)
{
	size_t i = 0, n = strlen(path), start;

	while (i < n) {
		while (i < n && is_sep(path[i]))
			i++;
		for (start = i; i < n && !is_sep(path[i]); i++)
			;
		if (i - start == 2 && path[start] == '.' && path[start + 1] == '.')
			return 1;
	}
	return 0;
}

static int
check_name(struct arc *x, const char *name)
{
	if (name[0] == '\0')
		return pal_scan_find(x->s, x->it, "archive.path-traversal",
		    "(empty name)", "a member has an empty name");
	if (is_absolute(name))
		return pal_scan_find(x->s, x->it, "archive.path-traversal",
		    name, "member name '%s' is an absolute path", name);
	/* Any ".." is reported, even one that stays inside ("a/../b"):
	 * extractors differ in how they resolve it. */
	if (has_dotdot(name))
		return pal_scan_find(x->s, x->it, "archive.path-traversal",
		    name, "member name '%s' contains '..'", name);
	return 0;
}

static int
check_duplicate(struct arc *x, const char *name)
{
	char *norm;
	int dup, r;

	if ((norm = normalize(name)) == NULL)
		return PAL_ERR_NOMEM;
	if ((r = names_add(&x->names, norm, &dup)) != 0)
		return r;
	if (dup)
		return pal_scan_find(x->s, x->it, "archive.duplicate-name",
		    name, "member '%s' occurs more than once", name);
	return 0;
}

static int
check_symlink(struct arc *x, const char *name, const char *target)
{
	char *norm;
	long depth;

	if (target == NULL)
		target = "";
	if ((norm = normalize(name)) == NULL)
		return PAL_ERR_NOMEM;
	depth = dir_depth(norm);
	free(norm);
	if (is_absolute(target) || climbs_out(target, depth))
		return pal_scan_find(x->s, x->it, "archive.link-escape", name,
		    "symbolic link '%s' points outside the archive, to '%s'",
		    name, target);
	return pal_scan_find(x->s, x->it, "archive.symlink", name,
	    "member '%s' is a symbolic link to '%s'", name, target);
}

static int
check_hardlink(struct arc *x, const char *name, const char *target)
{
	/* Hard link targets are relative to the archive's root. */
	if (is_absolute(target) || climbs_out(target, 0))
		return pal_scan_find(x->s, x->it, "archive.link-escape", name,
		    "hard link '%s' points outside the archive, to '%s'",
		    name, target);
	return pal_scan_find(x->s, x->it, "archive.hardlink", name,
	    "member '%s' is a hard link to '%s'", name, target);
}

static int
check_special(struct arc *x, const char *name, unsigned type)
{
	const char *what = type == AE_IFCHR ? "character device" :
	    type == AE_IFBLK ? "block device" :
	    type == AE_IFIFO ? "fifo" : "socket";

	return pal_scan_find(x->s, x->it, "archive.special-file", name,
	    "member '%s' is a %s", name, what);
}

/* Which deferred legacy-PyTorch slot a root member fills, or -1. */
static int
torch_slot(const char *name)
{
	int i;

	for (i = 0; i < TORCH_NSLOTS; i++)
		if (strcmp(name, torch_slot_names[i]) == 0)
			return i;
	return -1;
}

/*
 * The size a member declares, checked before any byte is extracted.
 * Returns 0, or PAL_ERR_LIMIT / PAL_ERR_FORMAT after a finding.
 */
static int
check_size(struct arc *x, struct archive_entry *e, const char *name)
{
	la_int64_t size;

	if (!archive_entry_size_is_set(e))
		return 0;
	size = archive_entry_size(e);
	if (size < 0) {
		if (pal_scan_find(x->s, x->it, "archive.size", name,
		    "member '%s' declares a negative size", name) != 0)
			return PAL_ERR_NOMEM;
		return pal_err_set(&x->s->err, PAL_ERR_FORMAT,
		    "member '%s': negative size %lld", name, (long long)size);
	}
	/* A tar stores members as they are: only a sparse one is larger. */
	if (x->it->format == PAL_FMT_TAR && archive_entry_sparse_count(e) == 0 &&
	    (uint64_t)size > x->it->len) {
		if (pal_scan_find(x->s, x->it, "archive.size", name,
		    "member '%s' declares %lld bytes in a tar of %zu", name,
		    (long long)size, x->it->len) != 0)
			return PAL_ERR_NOMEM;
		return pal_err_set(&x->s->err, PAL_ERR_FORMAT,
		    "member '%s': size %lld beyond the end of the archive",
		    name, (long long)size);
	}
	return pal_arc_precheck(x->s, x->it, &x->m, (uint64_t)size, name);
}

/* Scans a buffer as member name, or keeps it for the legacy layout. */
static int
scan_member(struct arc *x, const char *name)
{
	int slot = torch_slot(name), r;

	if (slot < 0)
		return pal_scan_child(x->s, x->it, name, x->data.p,
		    x->data.len, 0);
	/* A second member of the same name: the first is scanned as what
	 * it looks like (and was reported as a duplicate). */
	if (x->torch_seen[slot] && (r = pal_scan_child(x->s, x->it, name,
	    x->torch[slot].p, x->torch[slot].len, 0)) != 0)
		return r;
	pal_buf_free(&x->torch[slot]);
	x->torch[slot] = x->data;
	pal_buf_init(&x->data, 0);
	x->torch_seen[slot] = 1;
	return 0;
}

static int
extract_member(struct arc *x, struct archive_entry *e, const char *name)
{
	int r;

	if (archive_entry_is_encrypted(e)) {
		pal_err_set(&x->s->err, PAL_ERR_UNSUPPORTED,
		    "member '%s' is encrypted and cannot be scanned", name);
		defer_error(x, PAL_ERR_UNSUPPORTED);
		return 0;
	}
	if ((r = check_size(x, e, name)) != 0)
		return r;
	r = pal_arc_read_entry(x->s, x->it, x->a, &x->m, &x->data, x->chunk,
	    name);
	if (r != 0)
		return r;
	if (strcmp(name, "pickle") == 0)
		x->has_pickle = 1;
	return scan_member(x, name);
}

/*
 * One entry.  Returns 0 to go on, or a negative PAL_ERR_* that ends the
 * walk (limits, libarchive failures, memory).
 */
static int
entry(struct arc *x, struct archive_entry *e, const char *name)
{
	unsigned type = archive_entry_filetype(e);
	const char *link = archive_entry_hardlink(e);
	int r;

	if ((r = check_name(x, name)) != 0)
		return r;
	if (type == AE_IFDIR)
		return 0;
	if ((r = check_duplicate(x, name)) != 0)
		return r;
	if (link != NULL && (r = check_hardlink(x, name, link)) != 0)
		return r;
	switch (type) {
	case AE_IFLNK:
		return check_symlink(x, name, archive_entry_symlink(e));
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		return check_special(x, name, type);
	default:
		/* Regular files, and types libarchive does not know, which
		 * POSIX says to extract as regular files. */
		break;
	}
	if (link != NULL && archive_entry_size(e) <= 0)
		return 0;
	return extract_member(x, e, name);
}

/* A libarchive failure, with the member it happened at. */
static int
la_fail(struct arc *x, const char *where)
{
	const char *msg = archive_error_string(x->a);

	return pal_err_set(&x->s->err, PAL_ERR_FORMAT, "%s %s: %s",
	    pal_format_name(x->it->format), where,
	    msg != NULL ? msg : "libarchive cannot read it");
}

/* A header that cannot be read: say which member it follows. */
static int
la_fail_after(struct arc *x)
{
	const char *msg = archive_error_string(x->a);

	if (x->last == NULL)
		return pal_err_set(&x->s->err, PAL_ERR_FORMAT,
		    "%s: first header: %s", pal_format_name(x->it->format),
		    msg != NULL ? msg : "libarchive cannot read it");
	return pal_err_set(&x->s->err, PAL_ERR_FORMAT,
	    "%s: header after member %u '%s': %s",
	    pal_format_name(x->it->format), x->members, x->last,
	    msg != NULL ? msg : "libarchive cannot read it");
}

static const char *
entry_name(struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);

	if (name == NULL)
		name = archive_entry_pathname_utf8(e);
	return name;
}

static int
too_many(struct arc *x)
{
	uint32_t max = pal_scan_limits(x->s)->max_members;

	if (pal_scan_find(x->s, x->it, "scan.limit", NULL,
	    "more than %u members; the rest were not scanned", max) != 0)
		return PAL_ERR_NOMEM;
	return pal_err_set(&x->s->err, PAL_ERR_LIMIT,
	    "more than %u members; the rest were not scanned", max);
}

/* Bytes after a tar's end-of-archive blocks that are not zero padding. */
static int
check_tar_end(struct arc *x)
{
	la_int64_t end = archive_filter_bytes(x->a, 0);
	struct pal_cur c;
	const uint8_t *rest;
	size_t n;

	if (x->it->format != PAL_FMT_TAR || end < 0 ||
	    (uint64_t)end >= x->it->len)
		return 0;
	n = x->it->len - (size_t)end;
	pal_cur_init(&c, x->it->data, x->it->len);
	if (pal_cur_seek(&c, (size_t)end) != 0 ||
	    pal_cur_bytes(&c, n, &rest) != 0 || !pal_arc_nonzero(rest, n))
		return 0;
	return pal_scan_find_at(x->s, x->it, "archive.trailing-data",
	    (uint64_t)end, "%zu bytes follow the tar's end-of-archive marker",
	    n);
}

static int
walk(struct arc *x)
{
	struct archive_entry *e;
	char where[64];
	const char *name;
	int r;

	for (;;) {
		r = archive_read_next_header(x->a, &e);
		if (r == ARCHIVE_EOF)
			return check_tar_end(x);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return la_fail_after(x);
		if (++x->members > pal_scan_limits(x->s)->max_members)
			return too_many(x);
		if ((name = entry_name(e)) == NULL) {
			snprintf(where, sizeof(where), "member %u",
			    x->members);
			return pal_err_set(&x->s->err, PAL_ERR_FORMAT,
			    "%s has no readable name", where);
		}
		free(x->last);
		if ((x->last = strdup(name)) == NULL)
			return PAL_ERR_NOMEM;
		if ((r = entry(x, e, name)) != 0)
			return r;
	}
}

/*
 * The legacy PyTorch layout is what torch.load reads when a tar holds
 * these three members; otherwise "storages" and "tensors" are members
 * like any other.
 */
static int
finish_torch(struct arc *x)
{
	int legacy = x->has_pickle && x->torch_seen[TORCH_STORAGES] &&
	    x->torch_seen[TORCH_TENSORS];
	int i, r;

	for (i = 0; i < TORCH_NSLOTS; i++) {
		const struct pal_buf *b = &x->torch[i];

		if (!x->torch_seen[i])
			continue;
		if (!legacy)
			r = pal_scan_child(x->s, x->it, torch_slot_names[i],
			    b->p, b->len, 0);
		else if (i == TORCH_STORAGES)
			r = pal_arc_torch_storages(x->s, x->it, b->p, b->len);
		else
			r = pal_arc_torch_tensors(x->s, x->it, b->p, b->len);
		if (r == PAL_ERR_NOMEM)
			return r;
		if (r < 0)
			defer_error(x, r);
	}
	return 0;
}

static int
open_archive(struct arc *x)
{
	int r;

	if ((x->a = archive_read_new()) == NULL)
		return PAL_ERR_NOMEM;
	r = x->it->format == PAL_FMT_7Z ?
	    archive_read_support_format_7zip(x->a) :
	    archive_read_support_format_tar(x->a);
	if (r != ARCHIVE_OK)
		return pal_err_set(&x->s->err, PAL_ERR_SYSTEM,
		    "libarchive cannot read %s",
		    pal_format_name(x->it->format));
	if (archive_read_open_memory(x->a, x->it->data, x->it->len) !=
	    ARCHIVE_OK)
		return la_fail(x, "header");
	return 0;
}

static void
arc_free(struct arc *x)
{
	int i;

	if (x->a != NULL)
		archive_read_free(x->a);
	free(x->chunk);
	free(x->last);
	pal_buf_free(&x->data);
	for (i = 0; i < TORCH_NSLOTS; i++)
		pal_buf_free(&x->torch[i]);
	names_free(&x->names);
}

int
pal_fmt_archive(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct arc x;
	int i, r;

	memset(&x, 0, sizeof(x));
	x.s = s;
	x.it = it;
	x.m.in_len = it->len;
	pal_buf_init(&x.data, 0);
	for (i = 0; i < TORCH_NSLOTS; i++)
		pal_buf_init(&x.torch[i], 0);
	if (it->format != PAL_FMT_TAR && it->format != PAL_FMT_7Z) {
		r = pal_err_set(&s->err, PAL_ERR_INVALID,
		    "%s is not an archive format", pal_format_name(it->format));
		goto out;
	}
	if ((x.chunk = malloc(PAL_ARC_CHUNK)) == NULL) {
		r = PAL_ERR_NOMEM;
		goto out;
	}
	if ((r = open_archive(&x)) != 0)
		goto out;
	if ((r = walk(&x)) != 0) {
		/* What was kept back is still scanned: findings outrank
		 * the error, which is returned. */
		struct pal_err saved = s->err;

		if (finish_torch(&x) == PAL_ERR_NOMEM)
			r = PAL_ERR_NOMEM;
		s->err = saved;
		goto out;
	}
	if ((r = finish_torch(&x)) != 0)
		goto out;
	if (x.err != 0) {
		s->err = x.err_detail;
		r = x.err;
	}
out:
	arc_free(&x);
	return r;
}
