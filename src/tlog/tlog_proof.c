/*
 * tlog_proof.c - the C2SP tlog-proof text (c2sp.org/tlog-proof@v1): parse,
 * format, and the Merkle part of its verification.
 *
 * A proof arrives from anyone (it is a detached "transparent signature")
 * and nothing in it is trusted: the index and the hashes only count once
 * they lead to the root of a checkpoint whose signature verified, and the
 * extra data never does.  The parse still refuses every second spelling,
 * so that one proof has one text.
 */
#include <stdlib.h>
#include <string.h>

#include "palisade/cursor.h"
#include "palisade/encoding.h"
#include "palisade/tlog_proof.h"

#define HLEN PAL_MERKLE_HASH_LEN
#define HASH_B64 44		/* base64 of 32 bytes */
#define EXTRA_B64_MAX (PAL_TLOG_PROOF_EXTRA_MAX / 3 * 4)

static const char extra_tag[] = "extra ";
static const char index_tag[] = "index ";

static int
has_prefix(const uint8_t *p, size_t n, const char *tag)
{
	size_t k = strlen(tag);

	return n >= k && memcmp(p, tag, k) == 0;
}

static int
parse_extra(struct pal_tlog_proof *t, const uint8_t *p, size_t n,
	    struct pal_err *err)
{
	int rc;

	p += sizeof(extra_tag) - 1;
	n -= sizeof(extra_tag) - 1;
	/* "extra " with nothing would be a second spelling of no extra. */
	if (n == 0 || n > EXTRA_B64_MAX)
		return pal_err_set(err, PAL_ERR_FORMAT, "tlog proof: extra "
				   "data of %zu base64 characters (1 to %d)",
				   n, EXTRA_B64_MAX);
	rc = pal_base64_decode((const char *)p, n, &t->extra, &t->extra_len,
			       err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "tlog proof: extra data: ");
	return 0;
}

static int
parse_hash(struct pal_tlog_proof *t, const uint8_t *p, size_t n,
	   struct pal_err *err)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int rc;

	if (t->n_hashes == PAL_MERKLE_MAX_PROOF)
		return pal_err_set(err, PAL_ERR_LIMIT, "tlog proof: more than "
				   "%d proof hashes", PAL_MERKLE_MAX_PROOF);
	if (n != HASH_B64)
		return pal_err_set(err, PAL_ERR_FORMAT, "tlog proof: proof "
				   "hash %zu is %zu characters, not %d",
				   t->n_hashes, n, HASH_B64);
	rc = pal_base64_decode((const char *)p, n, &raw, &raw_len, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "tlog proof: proof hash %zu: ",
				    t->n_hashes);
	/* 44 characters of canonical base64 with one '=' hold 32 bytes. */
	if (raw_len != HLEN) {
		free(raw);
		return pal_err_set(err, PAL_ERR_FORMAT, "tlog proof: proof "
				   "hash %zu has %zu bytes, not 32",
				   t->n_hashes, raw_len);
	}
	memcpy(t->hashes[t->n_hashes++], raw, HLEN);
	free(raw);
	return 0;
}

/* The rest of the text: the checkpoint note, kept verbatim. */
static int
take_checkpoint(struct pal_tlog_proof *t, struct pal_cur *c,
		struct pal_err *err)
{
	size_t n = pal_cur_left(c);
	const uint8_t *p;

	if (n == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "tlog proof: no checkpoint");
	if (n > PAL_NOTE_MAX_LEN)
		return pal_err_set(err, PAL_ERR_LIMIT, "tlog proof: checkpoint "
				   "of %zu bytes", n);
	(void)pal_cur_bytes(c, n, &p);
	if (p[n - 1] != '\n' || memchr(p, '\0', n) != NULL)
		return pal_err_set(err, PAL_ERR_FORMAT, "tlog proof: the "
				   "checkpoint holds a NUL or does not end in "
				   "a newline");
	if ((t->checkpoint = malloc(n + 1)) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	memcpy(t->checkpoint, p, n);
	t->checkpoint[n] = '\0';
	t->checkpoint_len = n;
	return 0;
}

static int
next_line(struct pal_cur *c, const uint8_t **p, size_t *n, const char *what,
	  struct pal_err *err)
{
	if (pal_cur_line(c, pal_cur_left(c), p, n) < 0)
		return pal_err_set(err, PAL_ERR_TRUNCATED, "tlog proof ends "
				   "before its %s", what);
	return 0;
}

static int
parse_lines(struct pal_tlog_proof *t, struct pal_cur *c, struct pal_err *err)
{
	const uint8_t *p;
	size_t n;
	int rc;

	if ((rc = next_line(c, &p, &n, "header", err)) < 0)
		return rc;
	if (n != strlen(PAL_TLOG_PROOF_HEADER) ||
	    memcmp(p, PAL_TLOG_PROOF_HEADER, n) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "not a tlog proof: "
				   "the first line is not \"%s\"",
				   PAL_TLOG_PROOF_HEADER);
	if ((rc = next_line(c, &p, &n, "index", err)) < 0)
		return rc;
	if (has_prefix(p, n, extra_tag)) {
		if ((rc = parse_extra(t, p, n, err)) < 0 ||
		    (rc = next_line(c, &p, &n, "index", err)) < 0)
			return rc;
	}
	size_t tag = sizeof(index_tag) - 1;
	if (!has_prefix(p, n, index_tag) ||
	    pal_decimal_parse((const char *)p + tag, n - tag, &t->index) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "tlog proof: no "
				   "\"index\" line with a canonical decimal");
	for (;;) {
		if ((rc = next_line(c, &p, &n, "checkpoint", err)) < 0)
			return rc;
		if (n == 0)
			break;
		if ((rc = parse_hash(t, p, n, err)) < 0)
			return rc;
	}
	return take_checkpoint(t, c, err);
}

int
pal_tlog_proof_parse(const uint8_t *text, size_t len,
		     struct pal_tlog_proof **out, struct pal_err *err)
{
	struct pal_tlog_proof *t;
	struct pal_cur c;
	int rc;

	*out = NULL;
	if (len > PAL_TLOG_PROOF_MAX_LEN)
		return pal_err_set(err, PAL_ERR_LIMIT, "tlog proof of %zu "
				   "bytes", len);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	pal_cur_init(&c, text, len);
	if ((rc = parse_lines(t, &c, err)) < 0) {
		pal_tlog_proof_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void
pal_tlog_proof_free(struct pal_tlog_proof *p)
{
	if (p == NULL)
		return;
	free(p->extra);
	free(p->checkpoint);
	free(p);
}

static int
check_fields(const struct pal_tlog_proof *p, struct pal_err *err)
{
	if (p->n_hashes > PAL_MERKLE_MAX_PROOF)
		return pal_err_set(err, PAL_ERR_INVALID, "tlog proof with %zu "
				   "hashes", p->n_hashes);
	if (p->extra_len > PAL_TLOG_PROOF_EXTRA_MAX ||
	    (p->extra_len > 0 && p->extra == NULL))
		return pal_err_set(err, PAL_ERR_INVALID, "tlog proof extra "
				   "data of %zu bytes", p->extra_len);
	if (p->checkpoint == NULL || p->checkpoint_len == 0 ||
	    p->checkpoint_len > PAL_NOTE_MAX_LEN ||
	    p->checkpoint[p->checkpoint_len - 1] != '\n' ||
	    memchr(p->checkpoint, '\0', p->checkpoint_len) != NULL)
		return pal_err_set(err, PAL_ERR_INVALID, "tlog proof: the "
				   "checkpoint is empty, too long, holds a NUL "
				   "or does not end in a newline");
	return 0;
}

static int
put_base64_line(struct pal_buf *out, const uint8_t *p, size_t n)
{
	int rc = pal_base64_encode(p, n, out);

	return rc < 0 ? rc : pal_buf_putc(out, '\n');
}

int
pal_tlog_proof_format(const struct pal_tlog_proof *p, struct pal_buf *out,
		      struct pal_err *err)
{
	size_t old = out->len;
	int rc;

	if ((rc = check_fields(p, err)) < 0)
		return rc;
	rc = pal_buf_printf(out, "%s\n", PAL_TLOG_PROOF_HEADER);
	if (rc == 0 && p->extra_len > 0 &&
	    (rc = pal_buf_puts(out, extra_tag)) == 0)
		rc = put_base64_line(out, p->extra, p->extra_len);
	if (rc == 0)
		rc = pal_buf_printf(out, "%s%llu\n", index_tag,
				    (unsigned long long)p->index);
	for (size_t i = 0; rc == 0 && i < p->n_hashes; i++)
		rc = put_base64_line(out, p->hashes[i], HLEN);
	if (rc == 0 && (rc = pal_buf_putc(out, '\n')) == 0)
		rc = pal_buf_append(out, p->checkpoint, p->checkpoint_len);
	if (rc < 0) {
		/* Leave the buffer as it was: no half proof. */
		if (out->p != NULL) {
			out->len = old;
			out->p[old] = '\0';
		}
		return pal_err_set(err, rc, "tlog proof: %s", pal_strerror(rc));
	}
	return 0;
}

int
pal_tlog_proof_verify_inclusion(const struct pal_tlog_proof *p,
				const struct pal_checkpoint *c,
				const uint8_t leaf[HLEN], struct pal_err *err)
{
	int rc = pal_merkle_verify_inclusion(p->index, c->size, leaf,
					     (const uint8_t (*)[HLEN])p->hashes,
					     p->n_hashes, c->root, err);

	if (rc < 0)
		return pal_err_wrap(err, rc, "tlog proof for %s: ", c->origin);
	return 0;
}
