/*
 * sealed_header.c - the sealed-file header (sealed.h): parsing the bytes a
 * vault holds, which anyone with write access to it may have changed, and
 * writing them.  Hand-written over the cursor: the format is a dozen
 * fixed and length-prefixed fields.
 */
#include <string.h>

#include "palisade/cursor.h"
#include "palisade/sealed.h"
#include "palisade/text.h"

#define CONTEXT_LABEL "palisade-sealed/v1"

/* 0 when s[0..n) is UTF-8 without control characters (C0, DEL). */
static int
clean_text(const char *s, size_t n)
{
	if (!pal_utf8_valid(s, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	return 0;
}

int
pal_sealed_check_release(const char *release, size_t len,
			 struct pal_err *err)
{
	if (len == 0 || len > PAL_SEALED_RELEASE_MAX)
		return pal_err_set(err, PAL_ERR_FORMAT, "a release name is 1 "
				   "to %d bytes, not %zu",
				   PAL_SEALED_RELEASE_MAX, len);
	if (clean_text(release, len) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "a release name is "
				   "UTF-8 text without control characters");
	if (memchr(release, '/', len) != NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "a release name has "
				   "no '/'");
	if ((len == 1 && release[0] == '.') ||
	    (len == 2 && release[0] == '.' && release[1] == '.'))
		return pal_err_set(err, PAL_ERR_FORMAT, "a release cannot be "
				   "named \".\" or \"..\"");
	return 0;
}

int
pal_sealed_check_path(const char *path, size_t len, struct pal_err *err)
{
	if (len == 0 || len > PAL_SEALED_PATH_MAX)
		return pal_err_set(err, PAL_ERR_FORMAT, "a path is 1 to %d "
				   "bytes, not %zu", PAL_SEALED_PATH_MAX, len);
	if (clean_text(path, len) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "a path is UTF-8 text "
				   "without control characters");
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		size_t n = i - start;
		const char *seg = path + start;
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return pal_err_set(err, PAL_ERR_FORMAT, "path segment "
					   "at byte %zu is %s", start,
					   n == 0 ? "empty (a leading, "
					   "trailing or double '/')" :
					   "\".\" or \"..\"");
		start = i + 1;
	}
	return 0;
}

/* A 2-byte-length field at the cursor, min..max bytes. */
static int
take_field(struct pal_cur *c, const char *name, size_t min, size_t max,
	   const uint8_t **p, size_t *n, struct pal_err *err)
{
	size_t at = c->off;
	uint16_t len;
	if (pal_cur_u16be(c, &len) < 0 || pal_cur_bytes(c, len, p) < 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED, "sealed header: %s "
				   "at byte %zu runs past the header", name, at);
	if (len < min || len > max)
		return pal_err_set(err, PAL_ERR_FORMAT, "sealed header: %s at "
				   "byte %zu is %u bytes, not %zu to %zu", name,
				   at, len, min, max);
	*n = len;
	return 0;
}

static int
check_fixed(struct pal_cur *c, struct pal_sealed_header *h,
	    struct pal_err *err)
{
	const uint8_t *magic;
	if (pal_cur_bytes(c, PAL_SEALED_MAGIC_LEN, &magic) < 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED, "sealed header: "
				   "shorter than its magic");
	if (memcmp(magic, PAL_SEALED_MAGIC, PAL_SEALED_MAGIC_LEN - 1) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "not a sealed file "
				   "(no PALSEAL magic)");
	if (magic[PAL_SEALED_MAGIC_LEN - 1] != 1)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "sealed file "
				   "format version %u: this version reads 1",
				   magic[PAL_SEALED_MAGIC_LEN - 1]);
	if (pal_cur_u32be(c, &h->header_len) < 0 ||
	    pal_cur_u8(c, &h->suite) < 0 || pal_cur_u8(c, &h->wrap) < 0 ||
	    pal_cur_u64be(c, &h->plain_len) < 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED, "sealed header: "
				   "shorter than its fixed fields");
	if (h->header_len < PAL_SEALED_FIXED + 6 * 2 ||
	    h->header_len > PAL_SEALED_HEADER_MAX)
		return pal_err_set(err, PAL_ERR_FORMAT, "sealed header: "
				   "length %u is not %d to %d", h->header_len,
				   PAL_SEALED_FIXED + 12, PAL_SEALED_HEADER_MAX);
	if (h->suite != PAL_SEALED_SUITE_COBBLESTONE_256)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "sealed header: "
				   "suite %u (this version knows 1, "
				   "Cobblestone-256)", h->suite);
	if (h->wrap != PAL_SEALED_WRAP_KWP && h->wrap != PAL_SEALED_WRAP_KW)
		return pal_err_set(err, PAL_ERR_UNSUPPORTED, "sealed header: "
				   "key wrap %u (this version knows 1, "
				   "AES-KWP, and 2, AES-KW)", h->wrap);
	return 0;
}

int
pal_sealed_parse(const uint8_t *p, size_t len, struct pal_sealed_header *h,
		 struct pal_err *err)
{
	struct pal_cur c;
	memset(h, 0, sizeof(*h));
	pal_cur_init(&c, p, len);
	int rc = check_fixed(&c, h, err);
	if (rc < 0)
		return rc;
	if (len < h->header_len)
		return pal_err_set(err, PAL_ERR_TRUNCATED, "sealed header: "
				   "%u bytes, the file holds %zu",
				   h->header_len, len);
	pal_cur_init(&c, p, h->header_len);	/* fields stay inside H */
	pal_cur_seek(&c, PAL_SEALED_FIXED);
	const uint8_t *model, *release, *path;
	if ((rc = take_field(&c, "key label", 1, PAL_SEALED_LABEL_MAX,
			     &h->key_label, &h->key_label_len, err)) < 0 ||
	    (rc = take_field(&c, "key id", 1, PAL_SEALED_KEY_ID_MAX,
			     &h->key_id, &h->key_id_len, err)) < 0 ||
	    (rc = take_field(&c, "wrapped key", PAL_SEALED_WRAPPED_MIN,
			     PAL_SEALED_WRAPPED_MAX, &h->wrapped,
			     &h->wrapped_len, err)) < 0 ||
	    (rc = take_field(&c, "model name", 1, PAL_SEALED_MODEL_MAX,
			     &model, &h->model_len, err)) < 0 ||
	    (rc = take_field(&c, "release", 1, PAL_SEALED_RELEASE_MAX,
			     &release, &h->release_len, err)) < 0 ||
	    (rc = take_field(&c, "path", 1, PAL_SEALED_PATH_MAX, &path,
			     &h->path_len, err)) < 0)
		return rc;
	if (pal_cur_left(&c) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "sealed header: %zu "
				   "bytes after the last field", pal_cur_left(&c));
	h->model = (const char *)model;
	h->release = (const char *)release;
	h->path = (const char *)path;
	if (clean_text((const char *)h->key_label, h->key_label_len) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "sealed header: the "
				   "key label is not clean UTF-8 text");
	if (clean_text(h->model, h->model_len) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "sealed header: the "
				   "model name is not clean UTF-8 text");
	if ((rc = pal_sealed_check_release(h->release, h->release_len,
					   err)) < 0 ||
	    (rc = pal_sealed_check_path(h->path, h->path_len, err)) < 0)
		return pal_err_wrap(err, rc, "sealed header: ");
	return 0;
}

static int
put_be(struct pal_buf *b, uint64_t v, int n)
{
	uint8_t x[8];
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		x[i] = (uint8_t)v;
	return pal_buf_append(b, x, (size_t)n);
}

static int
put_field(struct pal_buf *b, const void *p, size_t n)
{
	int rc = put_be(b, n, 2);
	return rc < 0 ? rc : pal_buf_append(b, p, n);
}

int
pal_sealed_encode(struct pal_sealed_header *h, struct pal_buf *out,
		  struct pal_err *err)
{
	size_t total = PAL_SEALED_FIXED + 6 * 2 + h->key_label_len +
		h->key_id_len + h->wrapped_len + h->model_len +
		h->release_len + h->path_len;
	if (total > PAL_SEALED_HEADER_MAX)
		return pal_err_set(err, PAL_ERR_LIMIT, "sealed header of %zu "
				   "bytes: the limit is %d", total,
				   PAL_SEALED_HEADER_MAX);
	h->header_len = (uint32_t)total;
	size_t start = out->len;
	int rc = pal_buf_append(out, PAL_SEALED_MAGIC, PAL_SEALED_MAGIC_LEN);
	if (rc == 0)
		rc = put_be(out, h->header_len, 4);
	if (rc == 0)
		rc = pal_buf_append(out, &h->suite, 1);
	if (rc == 0)
		rc = pal_buf_append(out, &h->wrap, 1);
	if (rc == 0)
		rc = put_be(out, h->plain_len, 8);
	if (rc == 0)
		rc = put_field(out, h->key_label, h->key_label_len);
	if (rc == 0)
		rc = put_field(out, h->key_id, h->key_id_len);
	if (rc == 0)
		rc = put_field(out, h->wrapped, h->wrapped_len);
	if (rc == 0)
		rc = put_field(out, h->model, h->model_len);
	if (rc == 0)
		rc = put_field(out, h->release, h->release_len);
	if (rc == 0)
		rc = put_field(out, h->path, h->path_len);
	if (rc < 0)
		return pal_err_set(err, rc, "sealed header: out of memory");
	/* What is written must be what a reader accepts. */
	struct pal_sealed_header back;
	rc = pal_sealed_parse(out->p + start, out->len - start, &back, err);
	if (rc < 0 && out->p != NULL) {
		out->len = start;
		out->p[start] = '\0';	/* pal_buf keeps its NUL */
	}
	return rc;
}

int
pal_sealed_context(const struct pal_sealed_header *h, struct pal_buf *out)
{
	int rc = pal_buf_append(out, CONTEXT_LABEL, sizeof(CONTEXT_LABEL));
	if (rc == 0)
		rc = pal_buf_append(out, &h->suite, 1);
	if (rc == 0)
		rc = put_be(out, h->plain_len, 8);
	if (rc == 0)
		rc = put_field(out, h->model, h->model_len);
	if (rc == 0)
		rc = put_field(out, h->release, h->release_len);
	if (rc == 0)
		rc = put_field(out, h->path, h->path_len);
	return rc;
}
