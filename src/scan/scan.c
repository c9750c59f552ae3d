/*
 * scan.c - the scan session: collect inputs, confine, map, detect, dispatch.
 *
 * Inputs are opened first (pal_scan_add) and scanned afterwards
 * (pal_scan_run), so that the process can give up the right to open files,
 * spawn or connect before it reads a single byte an attacker wrote.  Files
 * are mapped read-only; nothing is copied unless it must be decompressed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/sandbox.h"
#include "scan_int.h"

/* Directory nesting beyond this is refused (symlink loops, hostile trees). */
#define WALK_MAX_DEPTH 64

void
pal_scan_limits_default(struct pal_scan_limits *l)
{
	l->max_file_size = (uint64_t)1 << 40;		/* 1 TiB, mapped */
	l->max_expanded = (uint64_t)8 << 30;		/* 8 GiB */
	l->max_ratio = 1000;
	l->max_depth = 8;
	l->max_members = 100000;
	l->max_opcodes = (uint64_t)1 << 32;
	l->max_stack = 1 << 20;
	l->max_memo = 1 << 26;		/* real vocabularies memoize millions */
	l->max_findings = 1000;
	l->max_files = 100000;
}

int
pal_scan_new(const struct pal_scan_opts *opts, struct pal_scan **out,
    struct pal_err *err)
{
	struct pal_scan *s;

	*out = NULL;
	if (opts == NULL || opts->policy == NULL)
		return pal_err_set(err, PAL_ERR_INVALID,
		    "scan session needs a policy");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	s->opts = *opts;
	*out = s;
	return 0;
}

static void
inputs_free(struct pal_scan *s)
{
	size_t i;

	for (i = 0; i < s->ninputs; i++) {
		if (s->inputs[i].fd >= 0)
			close(s->inputs[i].fd);
		free(s->inputs[i].path);
		free(s->inputs[i].dir);
	}
	free(s->inputs);
	s->inputs = NULL;
	s->ninputs = s->cap_inputs = 0;
}

void
pal_scan_free(struct pal_scan *s)
{
	if (s == NULL)
		return;
	inputs_free(s);
	pal_scan_results_free(s);
	free(s);
}

/* Records an item that was not scanned, with its status and reason. */
static int
note_item(struct pal_scan *s, const char *name, enum pal_item_status st,
    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
note_item(struct pal_scan *s, const char *name, enum pal_item_status st,
    const char *fmt, ...)
{
	char msg[PAL_ERR_MSG_MAX];
	size_t idx;
	va_list ap;
	int r;

	if ((r = pal_scan_result_new(s, name, 0, &idx)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->results[idx].status = st;
	if ((s->results[idx].detail = strdup(msg)) == NULL)
		return PAL_ERR_NOMEM;
	return 0;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int
push_input(struct pal_scan *s, const char *path, int fd, int explicit)
{
	struct pal_scan_input *in;

	if (s->ninputs == s->cap_inputs) {
		size_t ncap = s->cap_inputs ? s->cap_inputs * 2 : 16;
		void *p = realloc(s->inputs, ncap * sizeof(*s->inputs));

		if (p == NULL)
			return PAL_ERR_NOMEM;
		s->inputs = p;
		s->cap_inputs = ncap;
	}
	in = &s->inputs[s->ninputs];
	in->fd = fd;
	in->explicit = explicit;
	in->path = strdup(path);
	in->dir = dir_of(path);
	if (in->path == NULL || in->dir == NULL) {
		free(in->path);
		free(in->dir);
		return PAL_ERR_NOMEM;
	}
	s->ninputs++;
	return 0;
}

static int walk(struct pal_scan *s, const char *path, int depth, int explicit);

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a directory's entry names (caller frees each and the array). */
static int
read_names(DIR *d, char ***out, size_t *count)
{
	struct dirent *de;
	char **names = NULL, **p;
	size_t n = 0, cap = 0;

	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((p = realloc(names, cap * sizeof(*names))) == NULL)
				goto nomem;
			names = p;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	*out = names;
	*count = n;
	return 0;
nomem:
	while (n > 0)
		free(names[--n]);
	free(names);
	return PAL_ERR_NOMEM;
}

/* Visits a directory's entries in name order, so reports are stable. */
static int
walk_dir(struct pal_scan *s, const char *path, int fd, int depth)
{
	char **names = NULL;
	size_t i, n = 0;
	DIR *d;
	int r;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return note_item(s, path, PAL_ITEM_ERROR,
		    "cannot read directory: %s", strerror(errno));
	}
	r = read_names(d, &names, &n);
	closedir(d);
	if (r != 0)
		return r;
	if (n > 1)	/* names is NULL for an empty directory */
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *child = r == 0 ? malloc(len) : NULL;

		if (r == 0 && child == NULL)
			r = PAL_ERR_NOMEM;
		if (r == 0) {
			snprintf(child, len, "%s%s%s", path,
			    path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
			r = walk(s, child, depth + 1, 0);
		}
		free(child);
		free(names[i]);
	}
	free(names);
	return r;
}

/*
 * Opens path without following a final symlink (unless asked to), and
 * queues a regular file or descends into a directory.
 */
static int
walk(struct pal_scan *s, const char *path, int depth, int explicit)
{
	int follow = (s->opts.flags & PAL_SCAN_FOLLOW_SYMLINKS) != 0;
	struct stat st;
	int fd, r;

	if (depth > WALK_MAX_DEPTH)
		return note_item(s, path, PAL_ITEM_ERROR,
		    "directory nesting deeper than %d", WALK_MAX_DEPTH);
	if (lstat(path, &st) != 0)
		return note_item(s, path, PAL_ITEM_ERROR, "cannot stat: %s",
		    strerror(errno));
	if (S_ISLNK(st.st_mode) && !follow)
		return note_item(s, path, PAL_ITEM_SKIPPED,
		    "symbolic link not followed (--follow-symlinks follows)");
	if (++s->files_seen > s->opts.limits.max_files)
		return note_item(s, path, PAL_ITEM_ERROR,
		    "more than %u files; not scanned", s->opts.limits.max_files);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return note_item(s, path, PAL_ITEM_ERROR, "cannot open: %s",
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return note_item(s, path, PAL_ITEM_ERROR, "cannot stat: %s",
		    strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		return walk_dir(s, path, fd, depth);
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return note_item(s, path, PAL_ITEM_SKIPPED,
		    "not a regular file");
	}
	if ((r = push_input(s, path, fd, explicit)) != 0)
		close(fd);
	return r;
}

int
pal_scan_add_fd(struct pal_scan *s, const char *name, int fd)
{
	struct stat st;
	int dup, r;

	if (++s->files_seen > s->opts.limits.max_files)
		return note_item(s, name, PAL_ITEM_ERROR,
		    "more than %u files; not scanned", s->opts.limits.max_files);
	if (fstat(fd, &st) != 0)
		return note_item(s, name, PAL_ITEM_ERROR, "cannot stat: %s",
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return note_item(s, name, PAL_ITEM_ERROR,
		    "not a regular file");
	if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return note_item(s, name, PAL_ITEM_ERROR, "cannot duplicate "
		    "the descriptor: %s", strerror(errno));
	if ((r = push_input(s, name, dup, 0)) != 0) {
		close(dup);
		return r;
	}
	/* Its name is not a path: nothing beside it may be looked up. */
	free(s->inputs[s->ninputs - 1].dir);
	s->inputs[s->ninputs - 1].dir = NULL;
	return 0;
}

/* Every regular file stays open until the run: raise the soft limit. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
pal_scan_add(struct pal_scan *s, const char *path)
{
	int r;

	raise_nofile();
	s->files_seen = 0;
	if ((r = walk(s, path, 0, 1)) < 0 && r == PAL_ERR_NOMEM)
		s->failed = 1;
	return r;
}

typedef int (*dispatch_fn)(struct pal_scan *, const struct pal_scan_item *);

static dispatch_fn
dispatcher(enum pal_format f)
{
	switch (f) {
	case PAL_FMT_PICKLE:		return pal_fmt_pickle;
	case PAL_FMT_ZIP:		return pal_fmt_zip;
	case PAL_FMT_TAR:
	case PAL_FMT_7Z:		return pal_fmt_archive;
	case PAL_FMT_GZIP:
	case PAL_FMT_BZIP2:
	case PAL_FMT_XZ:
	case PAL_FMT_LZMA:
	case PAL_FMT_ZSTD:
	case PAL_FMT_LZ4:
	case PAL_FMT_ZLIB:		return pal_fmt_compressed;
	case PAL_FMT_NPY:		return pal_fmt_npy;
	case PAL_FMT_SAFETENSORS:	return pal_fmt_safetensors;
	case PAL_FMT_GGUF:		return pal_fmt_gguf;
	case PAL_FMT_ONNX:		return pal_fmt_onnx;
	case PAL_FMT_TF_SAVEDMODEL:	return pal_fmt_savedmodel;
	case PAL_FMT_HDF5:		return pal_fmt_hdf5;
	case PAL_FMT_JSON:		return pal_fmt_json;
	case PAL_FMT_JINJA:		return pal_fmt_jinja;
	case PAL_FMT_TF_SAVEDMODEL_TEXT:	return pal_fmt_savedmodel_text;
	default:			return NULL;
	}
}

/*
 * A file that is another format at its start and a zip at its end is
 * read as the first by some loaders (torch.load takes a pickle) and as a
 * zip by others (zipfile finds the end record behind anything): scan the
 * zip the others would open, too.
 */
static int
scan_zip_view(struct pal_scan *s, const struct pal_scan_item *it)
{
	if (it->format == PAL_FMT_ZIP || !pal_detect_zip_trailer(it->data,
	    it->len))
		return 0;
	return pal_scan_child_as(s, it, "<zip view>", it->data, it->len,
	    it->hints, PAL_FMT_ZIP);
}

/*
 * Runs the format's scanner on an item whose result entry exists, and
 * turns a failed parse into an error status with its detail.
 */
static int
scan_item(struct pal_scan *s, struct pal_scan_item *it, int explicit)
{
	struct pal_scan_result *res = &s->results[it->result];
	dispatch_fn fn;
	int r;

	if (it->format == PAL_FMT_UNKNOWN)
		it->format = pal_detect(it->data, it->len);
	res->format = pal_format_name(it->format);
	if ((fn = dispatcher(it->format)) == NULL) {
		const char *why = it->len == 0 ? "empty" :
		    it->format == PAL_FMT_TEXT ? "text, not a model format" :
		    "unrecognized format";

		/* What the user named must be scanned.  What a walk or a
		 * container yields may be a README or a vocabulary file: it
		 * is listed as skipped, and --strict makes that an error. */
		if (explicit && it->len > 0 && it->format != PAL_FMT_TEXT)
			res->status = PAL_ITEM_ERROR;
		else if (res->status != PAL_ITEM_FINDINGS)
			res->status = PAL_ITEM_SKIPPED;
		res->detail = strdup(why);
		return res->detail == NULL ? PAL_ERR_NOMEM : 0;
	}
	pal_err_clear(&s->err);
	r = fn(s, it);
	res = &s->results[it->result];	/* fn may have grown the array */
	if (r == PAL_ERR_NOMEM)
		return r;
	if (r < 0) {
		if (res->status != PAL_ITEM_FINDINGS)
			res->status = PAL_ITEM_ERROR;
		free(res->detail);
		res->detail = strdup(s->err.code != 0 && s->err.msg[0] ?
		    s->err.msg : pal_strerror(r));
		if (res->detail == NULL)
			return PAL_ERR_NOMEM;
	}
	return scan_zip_view(s, it);
}

static int
scan_top(struct pal_scan *s, const char *name, const char *dir,
    const uint8_t *data, size_t len, int explicit, enum pal_format format)
{
	struct pal_scan_item it;
	int r;

	memset(&it, 0, sizeof(it));
	it.data = data;
	it.len = len;
	it.name = name;
	it.dir = dir;
	it.format = format;
	s->expanded = 0;
	if ((r = pal_scan_result_new(s, name, 0, &it.result)) != 0)
		return r;
	return scan_item(s, &it, explicit);
}

int
pal_scan_child_as(struct pal_scan *s, const struct pal_scan_item *parent,
    const char *member, const uint8_t *data, size_t len, unsigned hints,
    enum pal_format format)
{
	struct pal_scan_item it;
	char *name;
	size_t n;
	int r;

	n = strlen(parent->name) + strlen(member) + 2;
	if ((name = malloc(n)) == NULL)
		return PAL_ERR_NOMEM;
	snprintf(name, n, "%s!%s", parent->name, member);
	memset(&it, 0, sizeof(it));
	it.data = data;
	it.len = len;
	it.name = name;
	it.dir = parent->dir;
	it.depth = parent->depth + 1;
	it.hints = hints;
	it.format = format;
	if ((r = pal_scan_result_new(s, name, it.depth, &it.result)) != 0)
		goto out;
	if (it.depth > s->opts.limits.max_depth) {
		r = pal_scan_find(s, &it, "scan.limit", NULL,
		    "nested %u containers deep (limit %u); not scanned",
		    it.depth, s->opts.limits.max_depth);
		goto out;
	}
	r = scan_item(s, &it, 0);
out:
	free(name);
	return r;
}

int
pal_scan_child(struct pal_scan *s, const struct pal_scan_item *parent,
    const char *member, const uint8_t *data, size_t len, unsigned hints)
{
	return pal_scan_child_as(s, parent, member, data, len, hints,
	    PAL_FMT_UNKNOWN);
}

int
pal_scan_expand(struct pal_scan *s, uint64_t n)
{
	uint64_t max = s->opts.limits.max_expanded;

	if (n > max || s->expanded > max - n)
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "decompressed data exceeds %llu bytes",
		    (unsigned long long)max);
	s->expanded += n;
	return 0;
}

int
pal_scan_memory(struct pal_scan *s, const char *name, const void *data,
    size_t len)
{
	return scan_top(s, name, NULL, data, len, 1, PAL_FMT_UNKNOWN);
}

int
pal_scan_memory_as(struct pal_scan *s, const char *name, const void *data,
    size_t len, enum pal_format format)
{
	return scan_top(s, name, NULL, data, len, 1, format);
}

static int
scan_input(struct pal_scan *s, struct pal_scan_input *in)
{
	struct stat st;
	void *map;
	int r;

	if (fstat(in->fd, &st) != 0)
		return note_item(s, in->path, PAL_ITEM_ERROR,
		    "cannot stat: %s", strerror(errno));
	if ((uint64_t)st.st_size > s->opts.limits.max_file_size)
		return note_item(s, in->path, PAL_ITEM_ERROR,
		    "file is %lld bytes, more than the limit of %llu",
		    (long long)st.st_size,
		    (unsigned long long)s->opts.limits.max_file_size);
	if (st.st_size == 0)
		return scan_top(s, in->path, in->dir, NULL, 0, in->explicit,
		    PAL_FMT_UNKNOWN);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, in->fd, 0);
	if (map == MAP_FAILED)
		return note_item(s, in->path, PAL_ITEM_ERROR,
		    "cannot map: %s", strerror(errno));
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	r = scan_top(s, in->path, in->dir, map, (size_t)st.st_size,
	    in->explicit, PAL_FMT_UNKNOWN);
	munmap(map, (size_t)st.st_size);
	return r;
}

/*
 * The address space a scan may need: every input mapped at once (they are
 * mapped one at a time, so this is generous), the decompression budget,
 * and room for the program, its libraries and the parsers' own tables.
 */
static uint64_t
address_space_needed(const struct pal_scan *s)
{
	uint64_t total = (uint64_t)4 << 30, cap = (uint64_t)1 << 50;
	struct stat st;
	size_t i;

	for (i = 0; i < s->ninputs; i++)
		if (fstat(s->inputs[i].fd, &st) == 0 && st.st_size > 0)
			total += (uint64_t)st.st_size;
	if (s->opts.limits.max_expanded > cap - total)
		return cap;
	return total + s->opts.limits.max_expanded;
}

int
pal_scan_run(struct pal_scan *s, struct pal_err *err)
{
	size_t i;
	int r;

	if (s->opts.flags & PAL_SCAN_SANDBOX) {
		if ((r = pal_sandbox_limit_memory(address_space_needed(s),
		    err)) != 0)
			return r;
		if ((r = pal_sandbox_scanner(err)) != 0)
			return r;
	}
	for (i = 0; i < s->ninputs; i++) {
		r = scan_input(s, &s->inputs[i]);
		close(s->inputs[i].fd);
		s->inputs[i].fd = -1;
		if (r != 0) {
			s->failed = 1;
			return pal_err_set(err, r, "%s: %s", s->inputs[i].path,
			    pal_strerror(r));
		}
	}
	inputs_free(s);
	return 0;
}
