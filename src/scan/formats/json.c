/*
 * json.c - JSON files that travel with models: Hugging Face config.json,
 * tokenizer_config.json, chat_template.json, processor and generation
 * configs, diffusers model_index.json, PEFT adapter configs, and Keras
 * model configs.
 *
 * The bytes are untrusted.  A bounded pre-pass over them checks nesting
 * depth before Jansson builds anything (Jansson recurses), and lets
 * Python's NaN and Infinity through as Python's json module does.  The
 * document is then parsed strictly: invalid UTF-8, control characters,
 * \u0000 and duplicate keys are refused with their line and column.  A
 * duplicate key is also a finding: Python keeps the last value, other
 * parsers the first, so the two see different configs.
 *
 * What the document is follows from its content alone: a Keras model
 * config goes to pal_keras_check_config(); everything else goes through
 * the Hugging Face checks (hfconfig.c), which find what makes the loading
 * libraries import code and hand chat templates to pal_jinja_check()
 * (jinja.c).  A generic JSON document comes out clean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/text.h"
#include "hfconfig.h"
#include "scan_int.h"

/* A tokenizer.json of a large vocabulary is tens of MiB; configs are KiB. */
#define JSON_MAX_SIZE ((size_t)64 << 20)
/* Configs nest a few levels, Keras functional models a few dozen. */
#define JSON_MAX_DEPTH 256
/*
 * Jansson spends some 50-100 bytes on every value: "[[],[],...]" would
 * turn 64 MiB into gigabytes.  The largest tokenizer.json files hold
 * about a million values.
 */
#define JSON_MAX_VALUES ((size_t)4 << 20)

const struct pal_rule pal_rules_json[] = {
	{ "json.duplicate-key", PAL_SEV_MEDIUM,
	  "A JSON object repeats a key: Python keeps the last value and "
	  "other parsers the first, so a reviewer and the loader can see "
	  "different configs." },
	{ "hf.remote-code", PAL_SEV_HIGH,
	  "The config maps a class to code in the model repository "
	  "(auto_map, custom_pipelines, custom components): loading it "
	  "with trust_remote_code=True runs that code." },
	{ "hf.remote-code-foreign", PAL_SEV_CRITICAL,
	  "The config maps a class to code in another repository "
	  "(\"owner/repo--module.Class\"): loading it with "
	  "trust_remote_code=True runs a third party's code." },
	{ "hf.trust-remote-code", PAL_SEV_HIGH,
	  "The config itself sets trust_remote_code, so that tools which "
	  "pass its keyword arguments on run repository code unasked." },
	{ "hf.custom-class", PAL_SEV_MEDIUM,
	  "A tokenizer, processor or model class is named that the "
	  "loading library does not define, or the name is not a Python "
	  "class name at all." },
	{ "hf.module-import", PAL_SEV_MEDIUM,
	  "The config names a Python module that the loading library "
	  "imports by that name." },
	{ "hf.hub-kernel", PAL_SEV_HIGH,
	  "The attention implementation names a Hub repository: "
	  "transformers downloads and loads compiled kernels from it." },
	{ "jinja.sandbox-escape", PAL_SEV_CRITICAL,
	  "A chat template reaches __globals__, __builtins__, __class__, "
	  "__mro__, __subclasses__ or another step of the known Jinja "
	  "sandbox escapes." },
	{ "jinja.os-access", PAL_SEV_CRITICAL,
	  "A chat template names os, subprocess, popen, eval, exec, "
	  "import or another way to run commands or code." },
	{ "jinja.dunder", PAL_SEV_HIGH,
	  "A chat template reaches a Python dunder attribute." },
	{ "jinja.attr-computed", PAL_SEV_HIGH,
	  "A chat template looks up an attribute or item by a name "
	  "computed while rendering, which hides what it reaches." },
	{ "jinja.format-attr", PAL_SEV_HIGH,
	  "A chat template's str.format field reads attributes or items "
	  "of its argument." },
	{ "jinja.escaped-name", PAL_SEV_MEDIUM,
	  "A chat template spells letters, digits or '_' with string "
	  "escapes, which only hides names from a reader." },
	{ "jinja.unusual", PAL_SEV_MEDIUM,
	  "A chat template uses a construct real chat templates do not: "
	  "an object whose functions lead to Python's globals, template "
	  "loading, unknown tags, or characters picked from an object's "
	  "printed form." },
	{ "jinja.resource", PAL_SEV_MEDIUM,
	  "A chat template asks for a huge range, repetition or power, "
	  "which exhausts a renderer outside a sandbox." },
	{ NULL, 0, NULL },
};

/* Where the pre-pass found NaN or Infinity outside strings. */
struct json_pre {
	size_t start;		/* after a UTF-8 byte order mark */
	size_t nonfinite;	/* count of NaN / Infinity tokens */
};

static void
line_col(const uint8_t *data, size_t len, size_t off, size_t *line,
    size_t *col)
{
	struct pal_cur c;
	uint8_t b;
	size_t i;

	pal_cur_init(&c, data, len);
	*line = 1;
	*col = 1;
	for (i = 0; i < off && pal_cur_u8(&c, &b) == 0; i++) {
		if (b == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int
starts_with(const struct pal_cur *c, const char *lit)
{
	struct pal_cur t = *c;
	const uint8_t *p;
	size_t n = strlen(lit);

	return pal_cur_bytes(&t, n, &p) == 0 && memcmp(p, lit, n) == 0;
}

/*
 * Walks the bytes once: nesting depth outside strings, and the bare
 * NaN / Infinity tokens Python writes for non-finite floats.
 */
static int
prepass(struct pal_scan *s, const struct pal_scan_item *it,
    struct json_pre *pre)
{
	struct pal_cur c;
	size_t depth = 0, values = 0, line, col;
	int in_str = 0;
	uint8_t b;

	memset(pre, 0, sizeof(*pre));
	pal_cur_init(&c, it->data, it->len);
	if (starts_with(&c, "\xef\xbb\xbf")) {
		(void)pal_cur_skip(&c, 3);
		pre->start = 3;
	}
	while (pal_cur_u8(&c, &b) == 0) {
		if (in_str) {
			if (b == '\\')
				(void)pal_cur_skip(&c, 1);
			else if (b == '"')
				in_str = 0;
			continue;
		}
		/* Every value but the first of a container follows a comma. */
		if ((b == ',' || b == '{' || b == '[') &&
		    ++values > JSON_MAX_VALUES) {
			line_col(it->data, it->len, c.off - 1, &line, &col);
			return pal_err_set(&s->err, PAL_ERR_LIMIT,
			    "JSON holds more than %zu values (line %zu, "
			    "column %zu)", JSON_MAX_VALUES, line, col);
		}
		if (b == '"') {
			in_str = 1;
		} else if (b == '{' || b == '[') {
			if (++depth > JSON_MAX_DEPTH) {
				line_col(it->data, it->len, c.off - 1, &line,
				    &col);
				return pal_err_set(&s->err, PAL_ERR_LIMIT,
				    "JSON nested deeper than %d at line %zu, "
				    "column %zu", JSON_MAX_DEPTH, line, col);
			}
		} else if (b == '}' || b == ']') {
			if (depth > 0)
				depth--;
		} else if (b == 'N' || b == 'I') {
			struct pal_cur t = c;

			t.off--;
			if (starts_with(&t, "NaN") || starts_with(&t, "Infinity"))
				pre->nonfinite++;
		}
	}
	return 0;
}

/*
 * A copy of the document with NaN and Infinity replaced by numbers of
 * the same length, so that Jansson accepts what Python's json accepts
 * and line/column numbers stay true.  Caller frees.
 */
static uint8_t *
rewrite_nonfinite(const struct pal_scan_item *it)
{
	struct pal_cur c;
	uint8_t *out, b;
	int in_str = 0;

	if ((out = malloc(it->len)) == NULL)
		return NULL;
	memcpy(out, it->data, it->len);
	pal_cur_init(&c, it->data, it->len);
	while (pal_cur_u8(&c, &b) == 0) {
		size_t at = c.off - 1;
		struct pal_cur t = c;

		if (in_str) {
			if (b == '\\')
				(void)pal_cur_skip(&c, 1);
			else if (b == '"')
				in_str = 0;
			continue;
		}
		if (b == '"') {
			in_str = 1;
			continue;
		}
		t.off = at;
		if (starts_with(&t, "NaN")) {
			memcpy(out + at, "0.0", 3);
			(void)pal_cur_skip(&c, 2);
		} else if (starts_with(&t, "Infinity")) {
			memcpy(out + at, "1e308   ", 8);
			(void)pal_cur_skip(&c, 7);
		}
	}
	return out;
}

/* Jansson's message, which quotes input bytes, made safe to print. */
static int
parse_error(struct pal_scan *s, const json_error_t *jerr, const char *what)
{
	struct pal_buf msg;
	int r;

	pal_buf_init(&msg, 256);
	if (pal_text_escape(&msg, jerr->text, strnlen(jerr->text,
	    sizeof(jerr->text))) == PAL_ERR_NOMEM) {
		pal_buf_free(&msg);
		return pal_err_set(&s->err, PAL_ERR_NOMEM, "out of memory");
	}
	r = pal_err_set(&s->err, PAL_ERR_FORMAT,
	    "%s at line %d, column %d: %s", what, jerr->line, jerr->column,
	    msg.p != NULL ? (char *)msg.p : "");
	pal_buf_free(&msg);
	return r;
}

/* Keras: {"class_name": ..., "config": {...}} or Keras 3's module form. */
static int
is_keras(json_t *root)
{
	json_t *cn = json_object_get(root, "class_name");

	if (!json_is_object(root) || !json_is_string(cn))
		return 0;
	if (json_is_object(json_object_get(root, "config")))
		return 1;
	return json_object_get(root, "module") != NULL &&
	    json_object_get(root, "registered_name") != NULL;
}

/*
 * Parses text (a view of the item, or a rewritten copy) strictly.  A
 * duplicate key is reported and the document parsed again as Python
 * would (last value wins) so that the rest is still checked; *dup_err
 * then carries the error the item ends with.
 */
static int
load(struct pal_scan *s, const struct pal_scan_item *it, const uint8_t *text,
    size_t len, json_t **out, int *dup)
{
	size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    JSON_DECODE_INT_AS_REAL;
	json_error_t jerr;
	json_t *root;
	int r;

	*out = NULL;
	*dup = 0;
	root = json_loadb((const char *)text, len, flags, &jerr);
	if (root == NULL && json_error_code(&jerr) == json_error_duplicate_key) {
		if ((r = pal_scan_find(s, it, "json.duplicate-key", NULL,
		    "an object repeats a key at line %d, column %d; the "
		    "values a parser keeps depend on the parser",
		    jerr.line, jerr.column)) != 0)
			return r;
		(void)parse_error(s, &jerr, "duplicate key");
		*dup = 1;
		root = json_loadb((const char *)text, len,
		    flags & ~(size_t)JSON_REJECT_DUPLICATES, &jerr);
	}
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return pal_err_set(&s->err, PAL_ERR_NOMEM,
			    "out of memory parsing JSON");
		return parse_error(s, &jerr, "invalid JSON");
	}
	*out = root;
	return 0;
}

int
pal_fmt_json(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct json_pre pre;
	struct pal_err dup_err;
	struct pal_cur c;
	uint8_t *copy = NULL;
	const uint8_t *text, *doc;
	size_t doclen;
	json_t *root = NULL;
	int r, dup = 0;

	if (it->len > JSON_MAX_SIZE)
		return pal_err_set(&s->err, PAL_ERR_LIMIT,
		    "JSON document of %zu bytes exceeds the %zu-byte limit",
		    it->len, JSON_MAX_SIZE);
	if ((r = prepass(s, it, &pre)) != 0)
		return r;
	text = it->data;
	if (pre.nonfinite > 0) {
		if ((copy = rewrite_nonfinite(it)) == NULL)
			return pal_err_set(&s->err, PAL_ERR_NOMEM,
			    "out of memory");
		text = copy;
	}
	/* Jansson does not skip a byte order mark; line numbers stay. */
	pal_cur_init(&c, text, it->len);
	if (pal_cur_skip(&c, pre.start) != 0 ||
	    pal_cur_bytes(&c, pal_cur_left(&c), &doc) != 0) {
		r = pal_err_set(&s->err, PAL_ERR_TRUNCATED, "empty document");
		goto out;
	}
	doclen = it->len - pre.start;
	if ((r = load(s, it, doc, doclen, &root, &dup)) != 0)
		goto out;
	dup_err = s->err;
	if (is_keras(root))
		r = pal_keras_check_config(s, it, (const char *)doc, doclen);
	else
		r = pal_hf_check(s, it, root);
	if (r == 0 && dup) {
		s->err = dup_err;
		r = s->err.code;
	}
out:
	json_decref(root);
	free(copy);
	return r;
}
