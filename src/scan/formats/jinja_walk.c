/*
 * jinja_walk.c - the template in order: data, comments, raw blocks and
 * tags.  Data is never judged (prose saying __globals__ is not code); it
 * is only collected into the body of a captured {% set %} or macro,
 * trimmed as the renderer would.  Each tag is lexed and parsed; a tag
 * with a syntax error, an unknown or a loading tag is checked token by
 * token, and the walk goes on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "jinja_int.h"

/* Parses one tag; a syntax error turns into the token-by-token check. */
static int
do_tag(struct jctx *J, const struct jtag *tag)
{
	struct jp p;
	struct jval v;
	int r;

	memset(&p, 0, sizeof(p));
	p.J = J;
	p.tag = tag;
	/* Any tag inside a captured body makes that body unknown. */
	if (J->nblocks > 0 && J->blocks[J->nblocks - 1].capture) {
		const struct jtok *kw = tag->n > 0 ? &tag->t[0] :
		    &pal_jinja_end_tok;

		if (!tag->block || (!pal_jinja_tok_is(J, kw, "endset") &&
		    !pal_jinja_tok_is(J, kw, "endmacro")))
			J->blocks[J->nblocks - 1].pure = 0;
	}
	if (tag->block) {
		r = pal_jinja_statement(&p);
	} else {
		jv_init(&v);
		r = pal_jinja_parse_tuple(&p, &v, 1, NULL, 0);
		if (r == 0 && cur(&p)->type != JT_END)
			r = pal_jinja_synerr(J, cur_off(&p),
			    "unexpected token in '{{ }}'");
		jv_free(&v);
	}
	if (r == PAL_ERR_FORMAT || r == JJ_FALLBACK) {
		if (r == PAL_ERR_FORMAT && !J->syntax)
			pal_jinja_synerr(J, tag->off, "template syntax error");
		r = pal_jinja_check_tokens(J, tag);
	}
	return r;
}

/* Adds template data to the innermost captured body. */
static int
add_data(struct jctx *J, size_t off, size_t n)
{
	struct jblock *b;
	const uint8_t *p;

	if (J->nblocks == 0 || n == 0)
		return 0;
	b = &J->blocks[J->nblocks - 1];
	if (!b->capture || !b->pure)
		return 0;
	if ((p = src_bytes(J, off, n)) == NULL)
		return PAL_ERR_FORMAT;
	if (pal_buf_append(&b->body, p, n) == PAL_ERR_LIMIT)
		b->pure = 0;
	return 0;
}

/*
 * Adds the data between two tags, trimmed as the renderer would: "-"
 * strips whitespace, and trim_blocks (which transformers sets) drops the
 * newline after a block tag or comment.
 */
static int
add_segment(struct jctx *J, size_t off, size_t end, int after, int before)
{
	if (after == 2) {
		while (off < end && is_space(src_at(J, off)))
			off++;
	} else if (after == 1 && src_at(J, off) == '\n') {
		off++;
	} else if (after == 1 && src_starts(J, off, "\r\n")) {
		off += 2;
	}
	if (before)
		while (end > off && is_space(src_at(J, end - 1)))
			end--;
	return end > off ? add_data(J, off, end - off) : 0;
}

/*
 * Walks the whole template.  Syntax errors are recorded in J, not
 * returned; a limit or an allocation failure ends the walk with a
 * negative PAL_ERR_*.
 */
int
pal_jinja_walk(struct jctx *J)
{
	struct jtag tag;
	size_t off = 0, at, n, len = J->src.len;
	int r = 0, after = 0;

	memset(&tag, 0, sizeof(tag));
	while (off < len && r == 0) {
		at = pal_jinja_next_tag(J, off);
		if (at == SIZE_MAX) {
			r = add_segment(J, off, len, after, 0);
			break;
		}
		if ((r = add_segment(J, off, at, after,
		    src_at(J, at + 2) == '-')) != 0)
			break;
		if (src_starts(J, at, "{#")) {
			size_t end = pal_jinja_find_lit(J, at + 2, "#}");

			if (end == SIZE_MAX) {
				pal_jinja_synerr(J, at, "unterminated comment");
				break;
			}
			after = src_at(J, end - 1) == '-' ? 2 : 1;
			off = end + 2;
			continue;
		}
		if (pal_jinja_raw_tag(J, at, "raw", &n)) {
			size_t body = at + n;
			size_t end = pal_jinja_find_endraw(J, body, &n);

			if (end == SIZE_MAX) {
				pal_jinja_synerr(J, at,
				    "missing end of raw block");
				r = add_data(J, body, len - body);
				break;
			}
			if ((r = add_data(J, body, end - body)) != 0)
				break;
			after = src_at(J, end + n - 3) == '-' ? 2 : 1;
			off = end + n;
			continue;
		}
		tag.n = 0;
		tag.block = src_starts(J, at, "{%");
		tag.off = at;
		tag.strip_left = tag.no_lstrip = tag.strip_right = 0;
		if ((r = pal_jinja_lex_tag(J, &tag)) != 0)
			break;
		if ((r = do_tag(J, &tag)) != 0)
			break;
		after = tag.strip_right ? 2 : tag.block ? 1 : 0;
		off = tag.end;
	}
	free(tag.t);
	if (r == 0 && J->nblocks > 0)
		pal_jinja_synerr(J, J->blocks[J->nblocks - 1].off,
		    "block not closed before the end of the template");
	return r;
}
