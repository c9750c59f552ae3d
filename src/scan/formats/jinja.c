/*
 * jinja.c - finds what escapes the template sandbox in a Jinja template.
 *
 * Chat templates (tokenizer_config.json, chat_template.json, GGUF's
 * tokenizer.chat_template) are Jinja programs that a model's users render
 * on their own machines.  transformers renders them in an immutable
 * sandbox; other servers have rendered them in a plain Environment
 * (llama-cpp-python, CVE-2024-34359), where reaching __globals__ or
 * __builtins__ from any object runs commands.
 *
 * The template is untrusted.  It is tokenized as Jinja does (data, {{ }},
 * {% %}, {# #}, whitespace control, raw blocks, string literals with
 * Python's escapes) and every expression is parsed with Jinja's grammar.
 * Expressions are evaluated as far as their inputs are constants, so that
 * a name spelled '\x5f\x5fglobals\x5f\x5f', built with ~, |join, |format,
 * |replace or |reverse, or kept in a {% set %} variable, is judged by what
 * it evaluates to.  Attribute names, item keys, |attr arguments, bare
 * global names and constant strings are then checked against the names
 * the known escapes go through.  Nothing is ever rendered.
 *
 * A template Jinja would refuse (a syntax error) ends in an error once the
 * rest has been checked token by token; findings come first.
 *
 * This file holds the entry points and the context of one template: its
 * bytes, the findings reported about it (once per rule and name) and its
 * first syntax error.  jinja_int.h lists the other files of the analyser.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/text.h"
#include "jinja_int.h"

/*
 * Line and column of off.  Findings come mostly in order, so the count
 * goes on from where it last stopped.
 */
static void
line_col(struct jctx *J, size_t off, size_t *line, size_t *col)
{
	struct pal_cur c = J->src;
	uint8_t b;
	size_t i = 0;

	*line = 1;
	*col = 1;
	if (J->lc_line > 0 && off >= J->lc_off &&
	    pal_cur_seek(&c, J->lc_off) == 0) {
		i = J->lc_off;
		*line = J->lc_line;
		*col = J->lc_col;
	}
	for (; i < off && pal_cur_u8(&c, &b) == 0; i++) {
		if (b == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
	J->lc_off = i;
	J->lc_line = *line;
	J->lc_col = *col;
}

/* Appends s[0..n) escaped for a report, cut after 80 bytes. */
int
pal_jinja_show(struct pal_buf *out, const uint8_t *s, size_t n)
{
	size_t i, start = 0;
	int r = 0;

	if (n > 80)
		n = 80;
	for (i = 0; r == 0 && i <= n; i++) {
		if (i < n && s[i] != (uint8_t)JJ_HOLE &&
		    s[i] != (uint8_t)JJ_SEP)
			continue;
		r = pal_text_escape(out, (const char *)s + start, i - start);
		if (r == 0 && i < n)
			r = pal_buf_puts(out,
			    s[i] == (uint8_t)JJ_HOLE ? "<?>" : ",");
		start = i + 1;
	}
	return r;
}

/*
 * Reports a finding once per rule and key in this template, at the
 * line and column of off.
 */
int
pal_jinja_find(struct jctx *J, const char *rule, size_t off,
    const uint8_t *key, size_t keylen, const char *fmt, ...)
{
	char loc[PAL_ERR_MSG_MAX], msg[PAL_ERR_MSG_MAX];
	struct pal_buf id;
	size_t line, col, i;
	va_list ap;
	int r;

	/* Room for the rule and 80 key bytes escaped as \xNN each. */
	pal_buf_init(&id, 512);
	if (pal_buf_puts(&id, rule) != 0 || pal_buf_putc(&id, ':') != 0 ||
	    (keylen > 0 && pal_jinja_show(&id, key, keylen) != 0)) {
		pal_buf_free(&id);
		return PAL_ERR_NOMEM;
	}
	for (i = 0; id.p != NULL && i < J->nseen; i++)
		if (strcmp(J->seen[i], (char *)id.p) == 0) {
			pal_buf_free(&id);
			return 0;
		}
	/* So many distinct findings say enough; the rest are dropped. */
	if (J->nseen >= JJ_MAX_SEEN || id.p == NULL) {
		pal_buf_free(&id);
		return 0;
	}
	J->seen[J->nseen++] = (char *)pal_buf_steal(&id, &i);
	line_col(J, off, &line, &col);
	snprintf(loc, sizeof(loc), "%s line %zu, column %zu", J->where, line,
	    col);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = pal_scan_find(J->s, J->it, rule, loc, "%s", msg);
	return r;
}

/* Records the first syntax error; the caller goes on token by token. */
int
pal_jinja_synerr(struct jctx *J, size_t off, const char *msg)
{
	if (!J->syntax) {
		J->syntax = 1;
		J->syntax_off = off;
		snprintf(J->syntax_msg, sizeof(J->syntax_msg), "%s", msg);
	}
	return PAL_ERR_FORMAT;
}

static void
ctx_free(struct jctx *J)
{
	size_t i;

	for (i = 0; i < J->nvars; i++)
		jv_free(&J->vars[i].v);
	for (i = 0; i < J->nseen; i++)
		free(J->seen[i]);
	for (i = 0; i < J->nblocks; i++)
		pal_buf_free(&J->blocks[i].body);
	free(J->vars);
	free(J->seen);
	free(J->blocks);
}

/*
 * Checks one template (declared in scan_int.h): findings are reported
 * through s; a template Jinja would refuse is PAL_ERR_FORMAT, after the
 * rest of it has been checked.
 */
int
pal_jinja_check(struct pal_scan *s, const struct pal_scan_item *it,
    const char *where, const char *tmpl, size_t len)
{
	struct jctx J;
	size_t line, col;
	int r;

	if (len > JJ_MAX_TEMPLATE)
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "%s: template of %zu bytes exceeds the %zu-byte limit",
		    where, len, JJ_MAX_TEMPLATE);
	memset(&J, 0, sizeof(J));
	J.s = s;
	J.it = it;
	J.where = where;
	pal_cur_init(&J.src, tmpl, len);
	J.vars = calloc(JJ_MAX_VARS, sizeof(*J.vars));
	J.seen = calloc(JJ_MAX_SEEN, sizeof(*J.seen));
	J.blocks = calloc(JJ_MAX_BLOCKS, sizeof(*J.blocks));
	if (J.vars == NULL || J.seen == NULL || J.blocks == NULL) {
		r = pal_err_set(&s->err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = pal_jinja_walk(&J)) != 0) {
		if (r == PAL_ERR_NOMEM)
			pal_err_set(&s->err, r, "out of memory");
		else if (s->err.code != r)
			pal_err_set(&s->err, r, "%s: could not be checked",
			    where);
		goto out;
	}
	if (J.syntax) {
		line_col(&J, J.syntax_off, &line, &col);
		r = pal_err_set(&s->err, PAL_ERR_FORMAT,
		    "%s: template syntax error at line %zu, column %zu: %s",
		    where, line, col, J.syntax_msg);
	}
out:
	ctx_free(&J);
	return r;
}

/*
 * A template file (chat_template.jinja, or any text with Jinja
 * delimiters).  Text that Jinja would refuse to compile cannot run: such
 * a file is text that happens to hold braces (a README showing template
 * syntax), so whatever the check noticed before the syntax error is
 * withdrawn and the file is listed as skipped.
 */
int
pal_fmt_jinja(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct pal_scan_result *res;
	size_t mark = s->nfindings;
	int r;

	r = pal_jinja_check(s, it, "template", (const char *)it->data, it->len);
	if (r != PAL_ERR_FORMAT && r != PAL_ERR_LIMIT)
		return r;
	pal_scan_retract(s, it, mark);
	res = &s->results[it->result];
	free(res->detail);
	res->detail = strdup("text with template delimiters that Jinja would "
	    "not compile; not a template");
	res->status = PAL_ITEM_SKIPPED;
	return res->detail == NULL ? PAL_ERR_NOMEM : 0;
}
