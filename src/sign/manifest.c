/*
 * manifest.c - computing, ordering and comparing OMS manifests.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "manifest_int.h"
#include "palisade/text.h"

const char *const pal_manifest_default_ignores[] = {
	".git", ".gitattributes", ".github", ".gitignore",
};
const size_t pal_manifest_n_default_ignores =
	sizeof(pal_manifest_default_ignores) /
	sizeof(pal_manifest_default_ignores[0]);

const char *
pal_hash_name(enum pal_hash_alg alg)
{
	return alg == PAL_HASH_BLAKE2B ? "blake2b" : "sha256";
}

int
pal_hash_parse(const char *name, enum pal_hash_alg *alg)
{
	if (strcmp(name, "sha256") == 0)
		*alg = PAL_HASH_SHA256;
	else if (strcmp(name, "blake2b") == 0)
		*alg = PAL_HASH_BLAKE2B;
	else
		return -1;
	return 0;
}

size_t
pal_hash_size(enum pal_hash_alg alg)
{
	return alg == PAL_HASH_BLAKE2B ? 64 : 32;
}

int
pal_manifest_check_name(const char *name, int allow_dot, struct pal_err *err)
{
	size_t n = strlen(name);
	if (allow_dot && strcmp(name, ".") == 0)
		return 0;
	if (n == 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "empty resource name");
	if (n > PATH_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "resource name longer than %d bytes",
				   PATH_MAX);
	if (!pal_utf8_valid(name, n))
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "resource name is not valid UTF-8");
	if (name[0] == '/')
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "resource '%s' is an absolute path", name);
	for (const char *p = name; *p != '\0';) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "resource '%s' is not a canonical "
					   "relative path (empty, '.' or '..' "
					   "component)", name);
		p += len + (slash != NULL);
		if (slash != NULL && *p == '\0')
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "resource '%s' ends with '/'",
					   name);
	}
	return 0;
}

/* "./a//b/" -> "a/b"; NULL when the path is absolute or climbs out. */
static char *
canonical_relative(const char *in, struct pal_err *err)
{
	char *s = malloc(strlen(in) + 1);
	if (s == NULL) {
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	size_t o = 0;
	for (const char *p = in; *p != '\0';) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(s);
			pal_err_set(err, PAL_ERR_INVALID,
				    "ignore path '%s' climbs out of the model",
				    in);
			return NULL;
		}
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (o > 0)
				s[o++] = '/';
			memcpy(s + o, p, len);
			o += len;
		}
		p += len + (slash != NULL);
	}
	s[o] = '\0';
	if (in[0] == '/' || o == 0) {
		free(s);
		pal_err_set(err, PAL_ERR_INVALID,
			    "ignore path '%s' is not a relative path inside "
			    "the model", in);
		return NULL;
	}
	return s;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
add_ignore(struct pal_manifest *m, char *p)
{
	for (size_t i = 0; i < m->n_ignore; i++) {
		if (strcmp(m->ignore[i], p) == 0) {
			free(p);
			return 0;
		}
	}
	m->ignore[m->n_ignore++] = p;
	return 0;
}

/*
 * The signature's path relative to the model root, when it lies inside
 * it: recorded as an ignore path, as model_signing does.
 */
static char *
signature_inside(const char *root, const char *sig)
{
	char *r = realpath(root, NULL);
	char *dir = strdup(sig);
	char *s = NULL;
	if (r != NULL && dir != NULL) {
		char *d = realpath(dirname(dir), NULL);
		free(dir);
		dir = strdup(sig);
		size_t n = strlen(r);
		if (d != NULL && dir != NULL && strncmp(d, r, n) == 0 &&
		    (d[n] == '/' || d[n] == '\0')) {
			const char *base = basename(dir);
			const char *sub = d[n] == '/' ? d + n + 1 : "";
			if (asprintf(&s, "%s%s%s", sub, *sub ? "/" : "",
				     base) < 0)
				s = NULL;
		}
		free(d);
	}
	free(r);
	free(dir);
	return s;
}

int
mf_build_ignores(const char *path, const struct pal_manifest_opts *o,
		 struct pal_manifest *m, struct pal_err *err)
{
	size_t max = pal_manifest_n_default_ignores + o->n_ignore + 1;
	m->ignore = calloc(max, sizeof(*m->ignore));
	if (m->ignore == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < pal_manifest_n_default_ignores; i++) {
		char *p = strdup(pal_manifest_default_ignores[i]);
		if (p == NULL)
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
		add_ignore(m, p);
	}
	for (size_t i = 0; i < o->n_ignore; i++) {
		char *p = canonical_relative(o->ignore[i], err);
		if (p == NULL)
			return err ? err->code : PAL_ERR_INVALID;
		add_ignore(m, p);
	}
	if (o->signature != NULL && path != NULL) {
		char *p = signature_inside(path, o->signature);
		if (p != NULL)
			add_ignore(m, p);
	}
	qsort(m->ignore, m->n_ignore, sizeof(*m->ignore), cmp_str);
	return 0;
}

static char *
model_name(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return NULL;
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *name = NULL;
	const char *b = basename(copy);
	if (strcmp(b, ".") == 0 || strcmp(b, "..") == 0 || b[0] == '\0') {
		char *r = realpath(path, NULL);
		name = strdup(r ? basename(r) : "model");
		free(r);
	} else {
		name = strdup(b);
	}
	free(copy);
	return name;
}

static int
compute_files(const char *path, const struct pal_manifest_opts *o,
	      struct pal_manifest *m, struct pal_err *err)
{
	struct mf_walk w = {
		.rootfd = -1, .path = path, .allow_symlinks = o->allow_symlinks,
		.ignore = m->ignore, .n_ignore = m->n_ignore,
	};
	/*
	 * The bundle is left out by its path (an ignore path), never by its
	 * inode: a hard link to it under another name is a file like any
	 * other, signed or not.
	 */
	struct stat st;
	if (lstat(path, &st) != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	if (S_ISLNK(st.st_mode) && !o->allow_symlinks)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "%s: the model path is a symbolic link",
				   path);
	if (stat(path, &st) != 0)
		return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
				   strerror(errno));
	struct mf_list files = { 0 };
	int rc = 0;
	if (S_ISREG(st.st_mode)) {
		m->single_file = 1;
		struct mf_file f = {
			.rel = strdup("."), .size = (uint64_t)st.st_size,
			.dev = st.st_dev, .ino = st.st_ino,
		};
		files.v = malloc(sizeof(f));
		if (f.rel == NULL || files.v == NULL) {
			free(f.rel);
			free(files.v);
			return pal_err_set(err, PAL_ERR_NOMEM,
					   "out of memory");
		}
		files.v[0] = f;
		files.n = files.cap = 1;
	} else if (S_ISDIR(st.st_mode)) {
		w.rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (w.rootfd < 0)
			return pal_err_set(err, PAL_ERR_IO, "%s: %s", path,
					   strerror(errno));
		rc = mf_walk_dir(&w, &files, err);
	} else {
		return pal_err_set(err, PAL_ERR_UNSUPPORTED,
				   "%s: not a regular file or directory",
				   path);
	}
	if (rc == 0 && files.n == 0)
		rc = pal_err_set(err, PAL_ERR_INVALID,
				 "%s: the model has no files to sign", path);
	if (rc == 0)
		rc = mf_hash(&w, path, &files, o->threads, m, err);
	if (rc == 0)
		pal_manifest_sort(m);
	mf_list_free(&files);
	if (w.rootfd >= 0)
		close(w.rootfd);
	return rc;
}

int
pal_manifest_compute(const char *path, const struct pal_manifest_opts *o,
		     struct pal_manifest **out, struct pal_err *err)
{
	struct pal_manifest *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	m->hash = o->hash;
	m->shard_size = o->shard_size;
	m->allow_symlinks = o->allow_symlinks;
	m->model_name = model_name(path);
	int rc = m->model_name ? 0 :
		pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = mf_build_ignores(path, o, m, err);
	if (rc == 0)
		rc = compute_files(path, o, m, err);
	if (rc < 0) {
		pal_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void
pal_manifest_free(struct pal_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_res; i++)
		free(m->res[i].name);
	for (size_t i = 0; i < m->n_ignore; i++)
		free(m->ignore[i]);
	free(m->res);
	free(m->ignore);
	free(m->model_name);
	free(m);
}

static int
cmp_res(const void *a, const void *b)
{
	return strcmp(((const struct pal_resource *)a)->name,
		      ((const struct pal_resource *)b)->name);
}

void
pal_manifest_sort(struct pal_manifest *m)
{
	qsort(m->res, m->n_res, sizeof(*m->res), cmp_res);
}

int
pal_manifest_root_digest(const struct pal_manifest *m, uint8_t out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
	for (size_t i = 0; ok && i < m->n_res; i++)
		ok = EVP_DigestUpdate(c, m->res[i].digest,
				      m->res[i].digest_len) == 1;
	ok = ok && EVP_DigestFinal_ex(c, out, &n) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : PAL_ERR_CRYPTO;
}

static void
add_diff(struct pal_diff *d, size_t max, long n, enum pal_diff_kind kind,
	 const struct pal_resource *want, const struct pal_resource *got)
{
	if ((size_t)n >= max)
		return;
	d[n] = (struct pal_diff){
		.kind = kind, .want = want, .got = got,
		.name = want ? want->name : got->name,
	};
}

long
pal_manifest_compare(const struct pal_manifest *want,
		     const struct pal_manifest *got, struct pal_diff *diffs,
		     size_t max)
{
	size_t i = 0, j = 0;
	long n = 0;
	while (i < want->n_res || j < got->n_res) {
		int c = i == want->n_res ? 1 : j == got->n_res ? -1 :
			strcmp(want->res[i].name, got->res[j].name);
		if (c < 0) {
			add_diff(diffs, max, n++, PAL_DIFF_MISSING,
				 &want->res[i++], NULL);
		} else if (c > 0) {
			add_diff(diffs, max, n++, PAL_DIFF_UNSIGNED, NULL,
				 &got->res[j++]);
		} else {
			const struct pal_resource *a = &want->res[i++];
			const struct pal_resource *b = &got->res[j++];
			if (a->digest_len != b->digest_len ||
			    memcmp(a->digest, b->digest, a->digest_len) != 0)
				add_diff(diffs, max, n++, PAL_DIFF_MISMATCH,
					 a, b);
		}
	}
	return n;
}
