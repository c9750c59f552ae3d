/*
 * checkpoint.c - the text of a transparency log checkpoint
 * (c2sp.org/tlog-checkpoint): origin, tree size, root hash, extensions;
 * parsed, and formatted for signing.
 *
 * Call only on the text of a note whose signature verified; the parse is
 * strict anyway, since a size or root that could be read two ways would
 * let two trees share one signature.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/cursor.h"
#include "palisade/encoding.h"
#include "palisade/note.h"
#include "palisade/text.h"

static int
parse_root(const uint8_t *p, size_t n, uint8_t root[PAL_MERKLE_HASH_LEN],
	   struct pal_err *err)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int rc = pal_base64_decode((const char *)p, n, &raw, &raw_len, err);

	if (rc < 0)
		return pal_err_wrap(err, rc, "checkpoint root hash: ");
	if (raw_len != PAL_MERKLE_HASH_LEN) {
		free(raw);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "checkpoint root hash has %zu bytes, "
				   "not 32", raw_len);
	}
	memcpy(root, raw, PAL_MERKLE_HASH_LEN);
	free(raw);
	return 0;
}

static int
add_ext(struct pal_checkpoint *c, const uint8_t *p, size_t n,
	struct pal_err *err)
{
	if (n == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "checkpoint: empty extension line");
	if (c->n_ext == PAL_CHECKPOINT_MAX_EXT)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "checkpoint: more than %d extension lines",
				   PAL_CHECKPOINT_MAX_EXT);
	if (c->ext == NULL &&
	    (c->ext = calloc(PAL_CHECKPOINT_MAX_EXT, sizeof(char *))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	if ((c->ext[c->n_ext] = strndup((const char *)p, n)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	c->n_ext++;
	return 0;
}

static int
parse_lines(struct pal_cur *cur, struct pal_checkpoint *c,
	    struct pal_err *err)
{
	const uint8_t *p;
	size_t n;

	if (pal_cur_line(cur, PAL_NOTE_MAX_LEN, &p, &n) < 0 || n == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "checkpoint: no origin line");
	if (memchr(p, '\0', n) != NULL ||
	    (c->origin = strndup((const char *)p, n)) == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "checkpoint: bad origin line");
	if (pal_cur_line(cur, PAL_NOTE_MAX_LEN, &p, &n) < 0 ||
	    pal_decimal_parse((const char *)p, n, &c->size) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "checkpoint: tree size is not a canonical "
				   "decimal number");
	if (pal_cur_line(cur, PAL_NOTE_MAX_LEN, &p, &n) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "checkpoint: no root hash line");
	int rc = parse_root(p, n, c->root, err);
	while (rc == 0 && pal_cur_left(cur) > 0) {
		if (pal_cur_line(cur, PAL_NOTE_MAX_LEN, &p, &n) < 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "checkpoint: text does not end "
					   "in a newline");
		rc = add_ext(c, p, n, err);
	}
	return rc;
}

int
pal_checkpoint_parse(const uint8_t *text, size_t len,
		     struct pal_checkpoint **out, struct pal_err *err)
{
	struct pal_cur cur;

	*out = NULL;
	if (len > PAL_NOTE_MAX_LEN)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "checkpoint of %zu bytes", len);
	struct pal_checkpoint *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	pal_cur_init(&cur, text, len);
	int rc = parse_lines(&cur, c, err);
	if (rc < 0) {
		pal_checkpoint_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
pal_checkpoint_free(struct pal_checkpoint *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_ext; i++)
		free(c->ext[i]);
	free(c->ext);
	free(c->origin);
	free(c);
}

/* A line of checkpoint text: non-empty UTF-8, no control character. */
static int
check_line(const char *what, const char *s, struct pal_err *err)
{
	size_t n = strnlen(s, PAL_NOTE_MAX_LEN + 1);

	if (n == 0 || n > PAL_NOTE_MAX_LEN)
		return pal_err_set(err, PAL_ERR_INVALID,
				   "checkpoint: %s is empty or too long", what);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return pal_err_set(err, PAL_ERR_INVALID,
					   "checkpoint: %s has a control "
					   "character", what);
	if (!pal_utf8_valid(s, n))
		return pal_err_set(err, PAL_ERR_INVALID,
				   "checkpoint: %s is not UTF-8", what);
	return 0;
}

static int
format_lines(const char *origin, uint64_t size,
	     const uint8_t root[PAL_MERKLE_HASH_LEN], const char *const *ext,
	     size_t n_ext, struct pal_buf *b)
{
	int rc;

	if ((rc = pal_buf_printf(b, "%s\n%llu\n", origin,
				 (unsigned long long)size)) < 0 ||
	    (rc = pal_base64_encode(root, PAL_MERKLE_HASH_LEN, b)) < 0 ||
	    (rc = pal_buf_putc(b, '\n')) < 0)
		return rc;
	for (size_t i = 0; i < n_ext; i++)
		if ((rc = pal_buf_puts(b, ext[i])) < 0 ||
		    (rc = pal_buf_putc(b, '\n')) < 0)
			return rc;
	return 0;
}

int
pal_checkpoint_format(const char *origin, uint64_t size,
		      const uint8_t root[PAL_MERKLE_HASH_LEN],
		      const char *const *ext, size_t n_ext,
		      struct pal_buf *out, struct pal_err *err)
{
	struct pal_buf b;
	int rc;

	if ((rc = check_line("origin", origin, err)) < 0)
		return rc;
	if (n_ext > PAL_CHECKPOINT_MAX_EXT)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "checkpoint: more than %d extension lines",
				   PAL_CHECKPOINT_MAX_EXT);
	for (size_t i = 0; i < n_ext; i++)
		if ((rc = check_line("extension line", ext[i], err)) < 0)
			return rc;
	pal_buf_init(&b, PAL_NOTE_MAX_LEN);
	if ((rc = format_lines(origin, size, root, ext, n_ext, &b)) < 0)
		rc = pal_err_set(err, rc, "checkpoint: text too large");
	else if ((rc = pal_buf_append(out, b.p, b.len)) < 0)
		rc = pal_err_set(err, rc, "checkpoint of %zu bytes does not "
				 "fit the output", b.len);
	pal_buf_free(&b);
	return rc;
}
