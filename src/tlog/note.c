/*
 * note.c - parsing and verifying C2SP signed notes.
 *
 * The note arrives from a log or a bundle and is trusted for nothing until
 * a signature from a configured key verified over its text.  Parsing
 * therefore refuses anything that could be read two ways: invalid UTF-8,
 * control characters, a missing final newline, duplicate signatures,
 * non-canonical base64, names with spaces or '+'.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "palisade/cursor.h"
#include "palisade/encoding.h"
#include "palisade/note.h"
#include "note_int.h"

/* The em dash (U+2014) and space that open every signature line. */
static const uint8_t sig_prefix[] = { 0xe2, 0x80, 0x94, ' ' };

/* Decodes one UTF-8 code point; -1 on an invalid or overlong sequence. */
static int
utf8_next(struct pal_cur *c, uint32_t *cp)
{
	uint8_t b, x;
	int more;
	uint32_t v, min;

	if (pal_cur_byte(c, &b) < 0)
		return -1;
	if (b < 0x80) {
		*cp = b;
		return 0;
	}
	if ((b & 0xe0) == 0xc0) {
		more = 1, v = b & 0x1f, min = 0x80;
	} else if ((b & 0xf0) == 0xe0) {
		more = 2, v = b & 0x0f, min = 0x800;
	} else if ((b & 0xf8) == 0xf0) {
		more = 3, v = b & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	while (more-- > 0) {
		if (pal_cur_byte(c, &x) < 0 || (x & 0xc0) != 0x80)
			return -1;
		v = v << 6 | (x & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*cp = v;
	return 0;
}

/* Unicode White_Space, which key names must not contain. */
static int
is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
		cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
		cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
		cp == 0x205f || cp == 0x3000;
}

/* The whole note: UTF-8, and no control character but newline. */
static int
check_chars(const uint8_t *msg, size_t len, struct pal_err *err)
{
	struct pal_cur c;
	uint32_t cp;

	pal_cur_init(&c, msg, len);
	while (pal_cur_left(&c) > 0) {
		size_t at = c.off;
		if (utf8_next(&c, &cp) < 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "signed note: invalid UTF-8 at "
					   "offset %zu", at);
		if (cp < 0x20 && cp != '\n')
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "signed note: control character "
					   "0x%02x at offset %zu", cp, at);
	}
	return 0;
}

int
pal_note_check_name(const uint8_t *p, size_t n, struct pal_err *err)
{
	struct pal_cur c;
	uint32_t cp;

	if (n == 0 || n > PAL_NOTE_NAME_MAX)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "signed note: key name of %zu bytes", n);
	pal_cur_init(&c, p, n);
	while (pal_cur_left(&c) > 0) {
		if (utf8_next(&c, &cp) < 0 || is_space(cp) || cp == '+' ||
		    cp < 0x20)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "signed note: key name with a "
					   "space, '+', a control character "
					   "or invalid UTF-8");
	}
	return 0;
}

/* Parses "— name base64" (without its newline) into s. */
static int
parse_sig_line(const uint8_t *line, size_t n, struct pal_note_sig *s,
	       struct pal_err *err)
{
	struct pal_cur c;
	const uint8_t *p, *sp;
	uint8_t *raw = NULL;
	size_t raw_len = 0;

	pal_cur_init(&c, line, n);
	if (pal_cur_bytes(&c, sizeof(sig_prefix), &p) < 0 ||
	    memcmp(p, sig_prefix, sizeof(sig_prefix)) != 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "signed note: signature line does not "
				   "start with an em dash and a space");
	size_t left = pal_cur_left(&c);
	sp = left ? memchr(line + c.off, ' ', left) : NULL;
	if (sp == NULL)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "signed note: signature line without a "
				   "signature");
	size_t name_len = (size_t)(sp - (line + c.off));
	int rc = pal_note_check_name(line + c.off, name_len, err);
	if (rc < 0)
		return rc;
	if (pal_cur_bytes(&c, name_len + 1, &p) < 0)
		return pal_err_set(err, PAL_ERR_FORMAT, "signed note: cut");
	left = pal_cur_left(&c);
	rc = pal_base64_decode((const char *)line + c.off, left, &raw,
			       &raw_len, err);
	if (rc < 0)
		return pal_err_wrap(err, rc, "signed note: signature of '%.*s': ",
				    (int)name_len, (const char *)p);
	if (raw_len < 5) {
		free(raw);
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "signed note: signature of '%.*s' has %zu "
				   "bytes", (int)name_len, (const char *)p,
				   raw_len);
	}
	s->name = strndup((const char *)p, name_len);
	s->sig = malloc(raw_len - 4);
	if (s->name == NULL || s->sig == NULL) {
		free(raw);
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	}
	s->key_id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
		(uint32_t)raw[2] << 8 | raw[3];
	s->sig_len = raw_len - 4;
	memcpy(s->sig, raw + 4, s->sig_len);
	free(raw);
	return 0;
}

static int
check_duplicate(const struct pal_note *n, struct pal_err *err)
{
	const struct pal_note_sig *s = &n->sigs[n->n_sigs - 1];

	for (size_t i = 0; i + 1 < n->n_sigs; i++)
		if (n->sigs[i].key_id == s->key_id &&
		    strcmp(n->sigs[i].name, s->name) == 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "signed note: two signatures by "
					   "'%s' %08x", s->name, s->key_id);
	return 0;
}

static int
parse_sigs(const uint8_t *p, size_t len, struct pal_note *n,
	   struct pal_err *err)
{
	struct pal_cur c;
	const uint8_t *line;
	size_t line_len;

	pal_cur_init(&c, p, len);
	if (len == 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "signed note: no signature");
	n->sigs = calloc(PAL_NOTE_MAX_SIGS, sizeof(*n->sigs));
	if (n->sigs == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	while (pal_cur_left(&c) > 0) {
		if (n->n_sigs == PAL_NOTE_MAX_SIGS)
			return pal_err_set(err, PAL_ERR_LIMIT,
					   "signed note: more than %d "
					   "signatures", PAL_NOTE_MAX_SIGS);
		/* The whole note ends in a newline, so every line does. */
		if (pal_cur_line(&c, len, &line, &line_len) < 0)
			return pal_err_set(err, PAL_ERR_FORMAT,
					   "signed note: cut signature line");
		int rc = parse_sig_line(line, line_len, &n->sigs[n->n_sigs++],
					err);
		if (rc == 0)
			rc = check_duplicate(n, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The offset of the last blank line ("\n\n" starts there), or -1. */
static long
last_blank_line(const uint8_t *msg, size_t len)
{
	for (size_t i = len - 1; i > 0; i--)
		if (msg[i] == '\n' && msg[i - 1] == '\n')
			return (long)(i - 1);
	return -1;
}

int
pal_note_parse(const uint8_t *msg, size_t len, struct pal_note **out,
	       struct pal_err *err)
{
	*out = NULL;
	if (len > PAL_NOTE_MAX_LEN)
		return pal_err_set(err, PAL_ERR_LIMIT,
				   "signed note of %zu bytes is too large",
				   len);
	if (len == 0 || msg[len - 1] != '\n')
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "signed note does not end in a newline");
	int rc = check_chars(msg, len, err);
	if (rc < 0)
		return rc;
	long blank = last_blank_line(msg, len);
	if (blank < 0)
		return pal_err_set(err, PAL_ERR_FORMAT,
				   "signed note: no blank line before the "
				   "signatures");
	struct pal_note *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
	n->text_len = (size_t)blank + 1;
	n->text = malloc(n->text_len + 1);
	if (n->text == NULL) {
		rc = pal_err_set(err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(n->text, msg, n->text_len);
	n->text[n->text_len] = '\0';
	rc = parse_sigs(msg + blank + 2, len - (size_t)blank - 2, n, err);
out:
	if (rc < 0) {
		pal_note_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void
pal_note_free(struct pal_note *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; n->sigs != NULL && i < n->n_sigs; i++) {
		free(n->sigs[i].name);
		free(n->sigs[i].sig);
	}
	free(n->sigs);
	free(n->text);
	free(n);
}

static int
verify_one(const struct pal_note_verifier *v, const struct pal_note *n,
	   const struct pal_note_sig *s)
{
	const EVP_MD *md = v->type == PAL_NOTE_ECDSA ? EVP_sha256() : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (v->type == PAL_NOTE_ED25519 && s->sig_len != 64) {
		EVP_MD_CTX_free(ctx);
		return 0;
	}
	int ok = ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, md, NULL, v->key) == 1 &&
		EVP_DigestVerify(ctx, s->sig, s->sig_len, n->text,
				 n->text_len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int
pal_note_verify(const struct pal_note *n,
		struct pal_note_verifier *const *vs, size_t nv,
		uint8_t *verified, struct pal_err *err)
{
	size_t good = 0;

	if (verified != NULL)
		memset(verified, 0, nv);
	for (size_t i = 0; i < n->n_sigs; i++) {
		const struct pal_note_sig *s = &n->sigs[i];
		for (size_t k = 0; k < nv; k++) {
			if (vs[k]->key_id != s->key_id ||
			    strcmp(vs[k]->name, s->name) != 0)
				continue;
			if (!verify_one(vs[k], n, s))
				return pal_err_set(err, PAL_ERR_VERIFY,
						   "signed note: signature by "
						   "'%s' %08x does not verify",
						   s->name, s->key_id);
			if (verified != NULL)
				verified[k] = 1;
			good++;
		}
	}
	if (good == 0)
		return pal_err_set(err, PAL_ERR_VERIFY,
				   "signed note: no signature by a known key");
	return 0;
}
