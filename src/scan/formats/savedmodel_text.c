/*
 * savedmodel_text.c - TensorFlow SavedModels in protobuf text format
 * (saved_model.pbtxt), which TensorFlow's loader reads as it reads
 * saved_model.pb.
 *
 * The text is read by a pull parser of protobuf's text format as
 * TensorFlow's parser (protobuf's TextFormat) accepts it: identifiers,
 * "field: value", "field { ... }" and "field < ... >" with an optional
 * ':', lists "[a, b]" of values or of messages, string literals in single
 * or double quotes with C escapes (\n \t \\ \' \" \ooo \xhh \uhhhh
 * \Uhhhhhhhh) and adjacent literals concatenated, numbers, enum names,
 * '#' comments, ',' or ';' after a field, and bracketed extension and Any
 * type names.  Fields the scanner does not need are skipped structurally,
 * which still checks their syntax: any syntax error ends the scan with an
 * error naming its line and column.
 *
 * The walk is the one of the binary reader (savedmodel.c) over the same
 * messages, by field name instead of number: every node of the graph and
 * of every library function, asset file names, TF1 asset collections and
 * Keras metadata, judged by the functions the two readers share
 * (savedmodel_int.h): same rules, severities and saver allowance.
 * Strings are decoded (escapes, concatenation) before they are judged, so
 * an op spelled "Py\x46unc" is PyFunc.
 *
 * Text names nothing by offset and length, so a message that must be read
 * twice (a function body once the saver is known, an attribute found
 * after the op) is read again from a mark: the position just inside its
 * opening delimiter.  A meta graph is read a fixed number of times, so the
 * work stays linear in the size of the file.
 *
 * Nothing in the file is trusted: every byte is read through the bounded
 * cursor; nesting is capped at PAL_PB_MAX_DEPTH messages, as in the
 * binary reader (the parser recurses once per level); decoded strings are
 * never longer than their text and go to buffers capped at the item's
 * size; the function table is capped at PAL_TF_MAX_FUNCTIONS.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "protobuf.h"
#include "savedmodel_int.h"
#include "scan_int.h"

/* Kinds of field values, as the text shows them. */
enum {
	TX_MSG = 1,	/* { ... } or < ... > */
	TX_STR,		/* one or more string literals */
	TX_NUM,		/* a number, or an identifier: enum, bool, inf, nan */
};

/* A position: offset, and its line (from 1) and the offset that starts it. */
struct tx_pos {
	size_t off, line, lstart;
};

/* The reading position in the item's text. */
struct tx {
	struct pal_cur cur;
	size_t line, lstart;
	struct pal_err *err;
};

/* One field as read: its name, where it is, what its value looks like. */
struct tx_field {
	struct pal_pb_str name;	/* identifier, or "[...]" with brackets */
	struct tx_pos at;	/* the name */
	struct tx_pos val;	/* the value (for a message, its delimiter) */
	int kind;		/* TX_MSG, TX_STR, TX_NUM */
};

/*
 * A message being read.  The value of the field last returned is read by
 * the caller (tx_enter, tx_str) or, if not, skipped by the next tx_next.
 */
struct tx_msg {
	struct tx *t;
	struct tx_pos open;	/* the opening delimiter, or the start */
	unsigned depth;		/* 0 for the top level */
	char close;		/* '}' or '>', or '\0': closed by the end */
	int pending;		/* the value of f has not been read */
	int after;		/* a field was read: ',' or ';' may follow */
	int list;		/* inside "[...]" of the field f */
	int colon;		/* that list followed a ':' */
	struct tx_field f;	/* the field last returned */
};

/* Where a message's fields start, to read them again. */
struct tx_mark {
	struct tx_pos pos, open;
	unsigned depth;
	char close;
};

/* What the reader expects of a field it knows. */
struct tspec {
	const char *name;
	int kind;
	const char *what;
};

/* A library function: its name, its body, and whether the saver runs it. */
struct tx_fn {
	struct pal_pb_str name;	/* in names, once all are collected */
	size_t name_off;	/* offset of the name in names */
	struct tx_mark body;	/* the FunctionDef */
	int saver;
};

struct tx_ctx {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	struct pal_err *err;
	struct tx base;			/* the item, from its start */
	struct tx_fn *fns;		/* sorted by name once collected */
	size_t nfns, cap;
	size_t *queue;			/* functions to mark, nfns entries */
	struct pal_buf names;		/* decoded function names */
	struct pal_buf save, restore;	/* decoded SaverDef names */
	struct pal_tf_saver saver;
	/* Decoded strings, each for one purpose so that none is reused
	 * while another still points into it. */
	struct pal_buf name, op, key, val, aux, blob;
};

static const struct tspec savedmodel_spec[] = {
	{ "saved_model_schema_version", TX_NUM,
	  "SavedModel.saved_model_schema_version" },
	{ "meta_graphs", TX_MSG, "SavedModel.meta_graphs" },
	{ NULL, 0, NULL },
};

static const struct tspec meta_spec[] = {
	{ "meta_info_def", TX_MSG, "MetaGraphDef.meta_info_def" },
	{ "graph_def", TX_MSG, "MetaGraphDef.graph_def" },
	{ "saver_def", TX_MSG, "MetaGraphDef.saver_def" },
	{ "collection_def", TX_MSG, "MetaGraphDef.collection_def" },
	{ "signature_def", TX_MSG, "MetaGraphDef.signature_def" },
	{ "asset_file_def", TX_MSG, "MetaGraphDef.asset_file_def" },
	{ "object_graph_def", TX_MSG, "MetaGraphDef.object_graph_def" },
	{ NULL, 0, NULL },
};

static const struct tspec graph_spec[] = {
	{ "node", TX_MSG, "GraphDef.node" },
	{ "library", TX_MSG, "GraphDef.library" },
	{ "version", TX_NUM, "GraphDef.version" },
	{ "versions", TX_MSG, "GraphDef.versions" },
	{ "debug_info", TX_MSG, "GraphDef.debug_info" },
	{ NULL, 0, NULL },
};

static const struct tspec node_spec[] = {
	{ "name", TX_STR, "NodeDef.name" },
	{ "op", TX_STR, "NodeDef.op" },
	{ "input", TX_STR, "NodeDef.input" },
	{ "device", TX_STR, "NodeDef.device" },
	{ "attr", TX_MSG, "NodeDef.attr" },
	{ "experimental_debug_info", TX_MSG,
	  "NodeDef.experimental_debug_info" },
	{ "experimental_type", TX_MSG, "NodeDef.experimental_type" },
	{ NULL, 0, NULL },
};

static const struct tspec attr_entry_spec[] = {
	{ "key", TX_STR, "NodeDef.attr.key" },
	{ "value", TX_MSG, "NodeDef.attr.value" },
	{ NULL, 0, NULL },
};

static const struct tspec attr_value_spec[] = {
	{ "list", TX_MSG, "AttrValue.list" },
	{ "s", TX_STR, "AttrValue.s" },
	{ "i", TX_NUM, "AttrValue.i" },
	{ "f", TX_NUM, "AttrValue.f" },
	{ "b", TX_NUM, "AttrValue.b" },
	{ "type", TX_NUM, "AttrValue.type" },
	{ "shape", TX_MSG, "AttrValue.shape" },
	{ "tensor", TX_MSG, "AttrValue.tensor" },
	{ "placeholder", TX_STR, "AttrValue.placeholder" },
	{ "func", TX_MSG, "AttrValue.func" },
	{ NULL, 0, NULL },
};

static const struct tspec list_spec[] = {
	{ "s", TX_STR, "AttrValue.ListValue.s" },
	{ "i", TX_NUM, "AttrValue.ListValue.i" },
	{ "f", TX_NUM, "AttrValue.ListValue.f" },
	{ "b", TX_NUM, "AttrValue.ListValue.b" },
	{ "type", TX_NUM, "AttrValue.ListValue.type" },
	{ "shape", TX_MSG, "AttrValue.ListValue.shape" },
	{ "tensor", TX_MSG, "AttrValue.ListValue.tensor" },
	{ "func", TX_MSG, "AttrValue.ListValue.func" },
	{ NULL, 0, NULL },
};

static const struct tspec name_attr_spec[] = {
	{ "name", TX_STR, "NameAttrList.name" },
	{ "attr", TX_MSG, "NameAttrList.attr" },
	{ NULL, 0, NULL },
};

static const struct tspec library_spec[] = {
	{ "function", TX_MSG, "FunctionDefLibrary.function" },
	{ "gradient", TX_MSG, "FunctionDefLibrary.gradient" },
	{ "registered_gradients", TX_MSG,
	  "FunctionDefLibrary.registered_gradients" },
	{ NULL, 0, NULL },
};

static const struct tspec function_spec[] = {
	{ "signature", TX_MSG, "FunctionDef.signature" },
	{ "node_def", TX_MSG, "FunctionDef.node_def" },
	{ "ret", TX_MSG, "FunctionDef.ret" },
	{ "attr", TX_MSG, "FunctionDef.attr" },
	{ "control_ret", TX_MSG, "FunctionDef.control_ret" },
	{ "arg_attr", TX_MSG, "FunctionDef.arg_attr" },
	{ "resource_arg_unique_id", TX_MSG,
	  "FunctionDef.resource_arg_unique_id" },
	{ NULL, 0, NULL },
};

static const struct tspec opdef_spec[] = {
	{ "name", TX_STR, "OpDef.name" },
	{ NULL, 0, NULL },
};

static const struct tspec saver_spec[] = {
	{ "filename_tensor_name", TX_STR, "SaverDef.filename_tensor_name" },
	{ "save_tensor_name", TX_STR, "SaverDef.save_tensor_name" },
	{ "restore_op_name", TX_STR, "SaverDef.restore_op_name" },
	{ "max_to_keep", TX_NUM, "SaverDef.max_to_keep" },
	{ "sharded", TX_NUM, "SaverDef.sharded" },
	{ "keep_checkpoint_every_n_hours", TX_NUM,
	  "SaverDef.keep_checkpoint_every_n_hours" },
	{ "version", TX_NUM, "SaverDef.version" },
	{ NULL, 0, NULL },
};

static const struct tspec asset_spec[] = {
	{ "tensor_info", TX_MSG, "AssetFileDef.tensor_info" },
	{ "filename", TX_STR, "AssetFileDef.filename" },
	{ NULL, 0, NULL },
};

static const struct tspec entry_spec[] = {
	{ "key", TX_STR, "collection_def key" },
	{ "value", TX_MSG, "collection_def value" },
	{ NULL, 0, NULL },
};

static const struct tspec collection_spec[] = {
	{ "node_list", TX_MSG, "CollectionDef.node_list" },
	{ "bytes_list", TX_MSG, "CollectionDef.bytes_list" },
	{ "int64_list", TX_MSG, "CollectionDef.int64_list" },
	{ "float_list", TX_MSG, "CollectionDef.float_list" },
	{ "any_list", TX_MSG, "CollectionDef.any_list" },
	{ NULL, 0, NULL },
};

static const struct tspec any_list_spec[] = {
	{ "value", TX_MSG, "CollectionDef.AnyList.value" },
	{ NULL, 0, NULL },
};

static const struct tspec any_spec[] = {
	{ "type_url", TX_STR, "Any.type_url" },
	{ "value", TX_STR, "Any.value" },
	{ NULL, 0, NULL },
};

static const struct tspec object_graph_spec[] = {
	{ "nodes", TX_MSG, "SavedObjectGraph.nodes" },
	{ "concrete_functions", TX_MSG,
	  "SavedObjectGraph.concrete_functions" },
	{ NULL, 0, NULL },
};

static const struct tspec object_spec[] = {
	{ "user_object", TX_MSG, "SavedObject.user_object" },
	{ NULL, 0, NULL },
};

static const struct tspec user_object_spec[] = {
	{ "identifier", TX_STR, "SavedUserObject.identifier" },
	{ "version", TX_MSG, "SavedUserObject.version" },
	{ "metadata", TX_STR, "SavedUserObject.metadata" },
	{ NULL, 0, NULL },
};

/*
 * The tokenizer.  Reads go through the cursor; peek looks ahead within
 * the cursor's bounds and says -1 past the end.
 */

static inline int
peek(const struct tx *t, size_t k)
{
	struct pal_cur c = t->cur;
	uint8_t b;

	if (pal_cur_skip(&c, k) != 0 || pal_cur_u8(&c, &b) != 0)
		return -1;
	return b;
}

/*
 * The unread bytes, as the cursor hands them out: for the loops that run
 * over many bytes (blanks, comments, strings, names), which index the
 * span within its length instead of calling the cursor per byte.
 */
static struct pal_pb_str
rest(const struct tx *t)
{
	struct pal_cur c = t->cur;
	struct pal_pb_str s = { NULL, pal_cur_left(&t->cur) };

	if (pal_cur_bytes(&c, s.n, &s.p) != 0)
		s.n = 0;
	return s;
}

/* Moves past n bytes the caller has looked at: they are there. */
static inline void
adv(struct tx *t, size_t n)
{
	(void)pal_cur_skip(&t->cur, n);
}

static struct tx_pos
here(const struct tx *t)
{
	struct tx_pos p = { t->cur.off, t->line, t->lstart };

	return p;
}

static int fail(struct pal_err *err, int code, struct tx_pos p,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records an error whose detail starts with the line and column of p. */
static int
fail(struct pal_err *err, int code, struct tx_pos p, const char *fmt, ...)
{
	char msg[PAL_ERR_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	return pal_err_set(err, code, "line %zu, column %zu: %s", p.line,
	    p.off - p.lstart + 1, msg);
}

/* Room for pos_str: two 20-digit numbers and the words. */
#define TX_POS_MAX 64

/*
 * "line 4, column 3", for findings and wrapped errors.  out has
 * TX_POS_MAX bytes, which always hold it.
 */
static void
pos_str(char out[TX_POS_MAX], struct tx_pos p)
{
	int n = snprintf(out, TX_POS_MAX, "line %zu, column %zu", p.line,
	    p.off - p.lstart + 1);

	if (n < 0 || n >= TX_POS_MAX)
		out[0] = '\0';
}

/* A printable rendering of the byte at the position, for errors. */
static const char *
what_char(int ch, char *buf, size_t n)
{
	if (ch < 0)
		return "the end of the input";
	if (ch > 0x20 && ch < 0x7f)
		snprintf(buf, n, "'%c'", ch);
	else
		snprintf(buf, n, "byte 0x%02x", (unsigned)ch);
	return buf;
}

static int
unexpected(struct tx *t, const char *expected)
{
	char b[16];

	return fail(t->err, peek(t, 0) < 0 ? PAL_ERR_TRUNCATED :
	    PAL_ERR_FORMAT, here(t), "expected %s, found %s", expected,
	    what_char(peek(t, 0), b, sizeof(b)));
}

static int
is_letter(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    ch == '_';
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_hex(int ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	    (ch >= 'A' && ch <= 'F');
}

static unsigned
hex_val(int ch)
{
	if (is_digit(ch))
		return (unsigned)(ch - '0');
	return (unsigned)((ch | 0x20) - 'a' + 10);
}

/*
 * Skips whitespace (protobuf's: space, \t, \n, \r, \v, \f) and '#'
 * comments, counting lines.  A NUL byte ends a comment and is then an
 * unexpected byte for whoever reads the next token.
 */
static void
skip_ws(struct tx *t)
{
	struct pal_pb_str s = rest(t);
	size_t i = 0;

	while (i < s.n) {
		if (s.p[i] == '\n') {
			t->line++;
			t->lstart = t->cur.off + ++i;
		} else if (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == '\r' ||
		    s.p[i] == '\v' || s.p[i] == '\f') {
			i++;
		} else if (s.p[i] == '#') {
			while (i < s.n && s.p[i] != '\n' && s.p[i] != 0)
				i++;
		} else
			break;
	}
	adv(t, i);
}

/* Takes the byte ch if it is next (after whitespace). */
static int
take(struct tx *t, int ch)
{
	skip_ws(t);
	if (peek(t, 0) != ch)
		return 0;
	adv(t, 1);
	return 1;
}

/* [A-Za-z_][A-Za-z0-9_]* at the position, into *out. */
static int
lex_ident(struct tx *t, struct pal_pb_str *out, const char *expected)
{
	struct pal_pb_str s = rest(t);
	size_t n = 0;

	if (s.n == 0 || !is_letter(s.p[0]))
		return unexpected(t, expected);
	while (n < s.n && (is_letter(s.p[n]) || is_digit(s.p[n])))
		n++;
	out->n = n;
	return pal_cur_bytes(&t->cur, n, &out->p);
}

/*
 * "[a.b.c]" or "[type.googleapis.com/pkg.Type]": an extension or Any type
 * name, kept with its brackets.  TensorFlow's printers never put blanks
 * inside, and a name with blanks could dodge the Any type checked below,
 * so they are refused here.
 */
static int
lex_bracket_name(struct tx *t, struct pal_pb_str *out)
{
	struct pal_cur whole = t->cur;
	struct pal_pb_str part;
	int r, ch;

	adv(t, 1);
	for (;;) {
		if ((r = lex_ident(t, &part, "a name inside '[...]'")) != 0)
			return r;
		ch = peek(t, 0);
		if (ch == ']')
			break;
		if (ch != '.' && ch != '/')
			return unexpected(t, "'.', '/' or ']' in a bracketed "
			    "name");
		adv(t, 1);
	}
	adv(t, 1);
	out->n = t->cur.off - whole.off;
	return pal_cur_bytes(&whole, out->n, &out->p);
}

/*
 * Appends a byte of a decoded string, when decoding.  Decoded strings are
 * never longer than their text, so the buffers' ceiling is not reached.
 */
static int
put(struct tx *t, struct pal_buf *out, unsigned v)
{
	int r;

	if (out == NULL || (r = pal_buf_putc(out, (char)(v & 0xff))) == 0)
		return 0;
	if (r == PAL_ERR_NOMEM)
		return pal_err_set(t->err, r, "out of memory");
	return fail(t->err, r, here(t), "decoded string over its limit");
}

/*
 * A code point as UTF-8, as protobuf's parser appends it: surrogates as
 * three bytes, and past U+10FFFF the escape itself, as text.
 */
static int
put_utf8(struct tx *t, struct pal_buf *out, uint32_t cp)
{
	char esc[16];
	size_t i;
	int r = 0;

	if (cp <= 0x7f)
		return put(t, out, cp);
	if (cp <= 0x7ff)
		return (r = put(t, out, 0xc0 | cp >> 6)) != 0 ? r :
		    put(t, out, 0x80 | (cp & 0x3f));
	if (cp <= 0xffff) {
		if ((r = put(t, out, 0xe0 | cp >> 12)) != 0 ||
		    (r = put(t, out, 0x80 | (cp >> 6 & 0x3f))) != 0)
			return r;
		return put(t, out, 0x80 | (cp & 0x3f));
	}
	if (cp <= 0x10ffff) {
		if ((r = put(t, out, 0xf0 | cp >> 18)) != 0 ||
		    (r = put(t, out, 0x80 | (cp >> 12 & 0x3f))) != 0 ||
		    (r = put(t, out, 0x80 | (cp >> 6 & 0x3f))) != 0)
			return r;
		return put(t, out, 0x80 | (cp & 0x3f));
	}
	snprintf(esc, sizeof(esc), "\\U%08x", (unsigned)cp);
	for (i = 0; esc[i] != '\0' && r == 0; i++)
		r = put(t, out, (unsigned char)esc[i]);
	return r;
}

/* n hex digits at offset k ahead into *v; 0 if they are not all there. */
static int
hex_digits(const struct tx *t, size_t k, size_t n, uint32_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_hex(peek(t, k + i)))
			return 0;
		*v = *v << 4 | hex_val(peek(t, k + i));
	}
	return 1;
}

/*
 * \u and \U: four hex digits, or eight up to 0x1fffff as protobuf's
 * tokenizer checks them.  A high surrogate followed by a \u low surrogate
 * makes one code point, as protobuf pairs them.
 */
static int
unicode_escape(struct tx *t, struct pal_buf *out, struct tx_pos esc)
{
	uint32_t cp, lo;
	int big = peek(t, 0) == 'U';

	adv(t, 1);
	if (big) {
		if (peek(t, 0) != '0' || peek(t, 1) != '0' ||
		    (peek(t, 2) != '0' && peek(t, 2) != '1') ||
		    !hex_digits(t, 0, 8, &cp))
			return fail(t->err, PAL_ERR_FORMAT, esc, "\\U needs "
			    "eight hex digits up to 001fffff");
		adv(t, 8);
	} else {
		if (!hex_digits(t, 0, 4, &cp))
			return fail(t->err, PAL_ERR_FORMAT, esc, "\\u needs "
			    "four hex digits");
		adv(t, 4);
	}
	if (cp >= 0xd800 && cp <= 0xdbff && peek(t, 0) == '\\' &&
	    peek(t, 1) == 'u' && hex_digits(t, 2, 4, &lo) &&
	    lo >= 0xdc00 && lo <= 0xdfff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		adv(t, 6);
	}
	return put_utf8(t, out, cp);
}

/* One escape sequence after its backslash. */
static int
escape(struct tx *t, struct pal_buf *out, struct tx_pos esc)
{
	static const char from[] = "abfnrtv\\?'\"";
	static const char to[] = "\a\b\f\n\r\t\v\\?'\"";
	struct pal_pb_str s = rest(t);
	const char *p;
	unsigned v = 0;
	size_t n = 0;

	if (s.n == 0)
		return fail(t->err, PAL_ERR_TRUNCATED, esc, "input ends in an "
		    "escape sequence");
	if (s.p[0] != 0 && (p = strchr(from, s.p[0])) != NULL) {
		adv(t, 1);
		return put(t, out, (unsigned char)to[p - from]);
	}
	if (s.p[0] >= '0' && s.p[0] <= '7') {
		/* Up to three octal digits; \777 keeps its low byte. */
		while (n < 3 && n < s.n && s.p[n] >= '0' && s.p[n] <= '7')
			v = v * 8 + (unsigned)(s.p[n++] - '0');
		adv(t, n);
		return put(t, out, v);
	}
	if (s.p[0] == 'x') {
		while (n < 2 && n + 1 < s.n && is_hex(s.p[n + 1]))
			v = v * 16 + hex_val(s.p[++n]);
		if (n == 0)
			return fail(t->err, PAL_ERR_FORMAT, esc, "\\x needs a "
			    "hex digit");
		adv(t, n + 1);
		return put(t, out, v);
	}
	if (s.p[0] == 'u' || s.p[0] == 'U')
		return unicode_escape(t, out, esc);
	return fail(t->err, PAL_ERR_FORMAT, esc, "invalid escape sequence "
	    "in a string");
}

/*
 * The bytes of a string literal up to its quote, an escape, a newline, a
 * NUL or the end, appended in one piece.
 */
static int
plain_run(struct tx *t, int q, struct pal_buf *out)
{
	struct pal_pb_str s = rest(t);
	size_t i = 0;
	int r;

	while (i < s.n && s.p[i] != q && s.p[i] != '\\' && s.p[i] != '\n' &&
	    s.p[i] != 0)
		i++;
	if (out != NULL && i > 0 && (r = pal_buf_append(out, s.p, i)) != 0) {
		if (r == PAL_ERR_NOMEM)
			return pal_err_set(t->err, r, "out of memory");
		return fail(t->err, r, here(t), "decoded string over its "
		    "limit");
	}
	adv(t, i);
	return 0;
}

/*
 * One string literal at the position (which holds its quote).  As in
 * protobuf's tokenizer, a literal cannot span lines and holds no NUL.
 */
static int
literal(struct tx *t, struct pal_buf *out)
{
	struct tx_pos start = here(t), esc;
	int q = peek(t, 0), ch, r;

	adv(t, 1);
	for (;;) {
		if ((r = plain_run(t, q, out)) != 0)
			return r;
		ch = peek(t, 0);
		if (ch == q) {
			adv(t, 1);
			return 0;
		}
		if (ch < 0)
			return fail(t->err, PAL_ERR_TRUNCATED, start, "string "
			    "not closed before the end of the input");
		if (ch == '\n')
			return fail(t->err, PAL_ERR_FORMAT, start, "string "
			    "not closed before the end of its line");
		if (ch == 0)
			return fail(t->err, PAL_ERR_FORMAT, here(t), "NUL byte "
			    "in a string");
		/* What is left after a plain run is a backslash. */
		esc = here(t);
		adv(t, 1);
		if ((r = escape(t, out, esc)) != 0)
			return r;
	}
}

/*
 * Adjacent string literals, which protobuf concatenates; decoded onto the
 * end of out unless out is NULL.
 */
static int
strings(struct tx *t, struct pal_buf *out)
{
	int r, ch;

	do {
		if ((r = literal(t, out)) != 0)
			return r;
		skip_ws(t);
	} while ((ch = peek(t, 0)) == '"' || ch == '\'');
	return 0;
}

/*
 * A number as protobuf's tokenizer reads one: hex (0x...), octal (0...),
 * or decimal with fraction, exponent and an 'f' suffix; a name or a '.'
 * may not follow without a space.
 */
static int
number(struct tx *t)
{
	struct tx_pos start = here(t);
	int ch;

	if (peek(t, 0) == '0' && (peek(t, 1) == 'x' || peek(t, 1) == 'X')) {
		adv(t, 2);
		if (!is_hex(peek(t, 0)))
			return fail(t->err, PAL_ERR_FORMAT, start, "\"0x\" "
			    "must be followed by hex digits");
		while (is_hex(peek(t, 0)))
			adv(t, 1);
	} else if (peek(t, 0) == '0' && is_digit(peek(t, 1))) {
		while ((ch = peek(t, 0)) >= '0' && ch <= '7')
			adv(t, 1);
		if (is_digit(peek(t, 0)))
			return fail(t->err, PAL_ERR_FORMAT, start, "a number "
			    "starting with 0 must be octal");
	} else {
		while (is_digit(peek(t, 0)))
			adv(t, 1);
		if (peek(t, 0) == '.') {
			adv(t, 1);
			while (is_digit(peek(t, 0)))
				adv(t, 1);
		}
		if ((ch = peek(t, 0)) == 'e' || ch == 'E') {
			adv(t, 1);
			if ((ch = peek(t, 0)) == '+' || ch == '-')
				adv(t, 1);
			if (!is_digit(peek(t, 0)))
				return fail(t->err, PAL_ERR_FORMAT, start,
				    "exponent without digits");
			while (is_digit(peek(t, 0)))
				adv(t, 1);
		}
		if ((ch = peek(t, 0)) == 'f' || ch == 'F')
			adv(t, 1);
	}
	ch = peek(t, 0);
	if (is_letter(ch) || is_digit(ch) || ch == '.')
		return fail(t->err, PAL_ERR_FORMAT, here(t), "a number must "
		    "be followed by a space or a delimiter");
	return 0;
}

/* 1 if the identifier is inf, infinity or nan in any case. */
static int
is_float_word(struct pal_pb_str w)
{
	static const char *const words[] = { "inf", "infinity", "nan" };
	size_t i, k;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (w.n != strlen(words[i]))
			continue;
		for (k = 0; k < w.n && (w.p[k] | 0x20) == words[i][k]; k++)
			;
		if (k == w.n)
			return 1;
	}
	return 0;
}

/*
 * A scalar value that is not a string: a number or an identifier, with
 * an optional '-' before a number or before inf/infinity/nan.
 */
static int
num_value(struct tx *t)
{
	struct pal_pb_str w;
	struct tx_pos start = here(t);
	int minus = 0, ch, r;

	if (peek(t, 0) == '-') {
		adv(t, 1);
		skip_ws(t);
		minus = 1;
	}
	ch = peek(t, 0);
	if (is_digit(ch) || (ch == '.' && is_digit(peek(t, 1))))
		return number(t);
	if ((r = lex_ident(t, &w, "a value")) != 0)
		return r;
	if (minus && !is_float_word(w))
		return fail(t->err, PAL_ERR_FORMAT, start, "'-' before a name "
		    "other than inf or nan");
	return 0;
}

/* The kind of value that starts at the position, or 0. */
static int
value_kind(const struct tx *t)
{
	int ch = peek(t, 0);

	if (ch == '{' || ch == '<')
		return TX_MSG;
	if (ch == '"' || ch == '\'')
		return TX_STR;
	if (ch == '-' || is_letter(ch) || is_digit(ch) ||
	    (ch == '.' && is_digit(peek(t, 1))))
		return TX_NUM;
	return 0;
}

/*
 * The message reader.
 */

static void
tx_init(struct tx *t, const uint8_t *data, size_t len, struct pal_err *err)
{
	pal_cur_init(&t->cur, data, len);
	t->line = 1;
	t->lstart = 0;
	t->err = err;
}

static void
msg_top(struct tx_msg *m, struct tx *t)
{
	memset(m, 0, sizeof(*m));
	m->t = t;
	m->open = here(t);
}

/* The mark of a message just entered. */
static struct tx_mark
mark_of(const struct tx_msg *m)
{
	struct tx_mark k;

	k.pos = here(m->t);
	k.open = m->open;
	k.depth = m->depth;
	k.close = m->close;
	return k;
}

/* Reads a marked message again, from a reading position of its own. */
static void
resume(struct tx *t, const struct tx *base, const struct tx_mark *k,
    struct tx_msg *m)
{
	*t = *base;
	/* The mark was taken inside the item: the seek cannot fail. */
	(void)pal_cur_seek(&t->cur, k->pos.off);
	t->line = k->pos.line;
	t->lstart = k->pos.lstart;
	memset(m, 0, sizeof(*m));
	m->t = t;
	m->open = k->open;
	m->depth = k->depth;
	m->close = k->close;
}

static int skip_value(struct tx_msg *m);

/* The element of a list at the position: a message or a scalar. */
static int
list_elem(struct tx_msg *m)
{
	struct tx *t = m->t;

	skip_ws(t);
	m->f.val = here(t);
	if ((m->f.kind = value_kind(t)) == 0)
		return unexpected(t, "a value in a list");
	if (m->f.kind != TX_MSG && !m->colon)
		return fail(t->err, PAL_ERR_FORMAT, m->f.at, "expected ':' "
		    "after field name before a list of values");
	/* An element is found where it is, not at the list's name. */
	m->f.at = m->f.val;
	m->pending = 1;
	return 0;
}

/* After a list's element: ',' and the next one, or ']' and the end. */
static int
list_next(struct tx_msg *m, int *more)
{
	struct tx *t = m->t;

	*more = 0;
	if (take(t, ',')) {
		*more = 1;
		return list_elem(m);
	}
	if (!take(t, ']'))
		return unexpected(t, "',' or ']' in a list");
	m->list = 0;
	m->after = 1;
	return 0;
}

/*
 * A field name and what follows it up to its value: ':' (which a message
 * or a list of messages may omit), then a message, a list or a scalar.
 * An empty list "[]" has no value: *got is 0 then.
 */
static int
field_head(struct tx_msg *m, int *got)
{
	struct tx *t = m->t;
	struct tx_field *f = &m->f;
	int r;

	*got = 0;
	f->at = here(t);
	if (peek(t, 0) == '[')
		r = lex_bracket_name(t, &f->name);
	else
		r = lex_ident(t, &f->name, "a field name");
	if (r != 0)
		return r;
	m->colon = take(t, ':');
	skip_ws(t);
	f->val = here(t);
	if (peek(t, 0) == '[') {
		adv(t, 1);
		if (take(t, ']')) {
			m->after = 1;
			return 0;
		}
		m->list = 1;
		*got = 1;
		return list_elem(m);
	}
	if ((f->kind = value_kind(t)) == 0)
		return unexpected(t, m->colon ? "a value" : "':' or '{'");
	if (f->kind != TX_MSG && !m->colon)
		return unexpected(t, "':' after the field name");
	m->pending = 1;
	m->after = 1;
	*got = 1;
	return 0;
}

/*
 * Reads the next field of m into *f: 1 when there is one, 0 when the
 * message's closing delimiter (or, at the top level, the end of the
 * input) was read, or a negative PAL_ERR_*.  A list yields each of its
 * elements as a field of the list's name.
 */
static int
tx_next(struct tx_msg *m, struct tx_field *f)
{
	struct tx *t = m->t;
	char b[16];
	int r, ch, more, got;

	if (m->pending && (r = skip_value(m)) != 0)
		return r;
	if (m->list) {
		if ((r = list_next(m, &more)) != 0)
			return r;
		if (more) {
			*f = m->f;
			return 1;
		}
	}
	for (;;) {
		/* One ',' or ';' may end a field. */
		if (m->after && !take(t, ','))
			(void)take(t, ';');
		m->after = 0;
		skip_ws(t);
		ch = peek(t, 0);
		if (ch < 0 && m->close == '\0')
			return 0;
		if (ch < 0)
			return fail(t->err, PAL_ERR_TRUNCATED, here(t), "input "
			    "ends inside the message opened at line %zu, "
			    "column %zu", m->open.line,
			    m->open.off - m->open.lstart + 1);
		if (ch == m->close && ch != '\0') {
			adv(t, 1);
			return 0;
		}
		if ((ch == '}' || ch == '>' || ch == ']') && m->close == '\0')
			return fail(t->err, PAL_ERR_FORMAT, here(t), "%s "
			    "closes no message", what_char(ch, b, sizeof(b)));
		if (ch == '}' || ch == '>' || ch == ']')
			return fail(t->err, PAL_ERR_FORMAT, here(t), "%s "
			    "does not close the message opened at line %zu, "
			    "column %zu", what_char(ch, b, sizeof(b)),
			    m->open.line, m->open.off - m->open.lstart + 1);
		if ((r = field_head(m, &got)) != 0)
			return r;
		if (got) {
			*f = m->f;
			return 1;
		}
	}
}

/* Opens the message value of the field f just returned by tx_next. */
static int
tx_enter(struct tx_msg *m, const struct tx_field *f, struct tx_msg *sub)
{
	struct tx *t = m->t;
	int ch = peek(t, 0);

	if (!m->pending || f->kind != TX_MSG || (ch != '{' && ch != '<'))
		return fail(t->err, PAL_ERR_INVALID, f->at, "internal error: "
		    "field value is not a message to enter");
	if (m->depth + 1 > PAL_PB_MAX_DEPTH)
		return fail(t->err, PAL_ERR_LIMIT, here(t), "messages nested "
		    "deeper than %d levels", PAL_PB_MAX_DEPTH);
	memset(sub, 0, sizeof(*sub));
	sub->t = t;
	sub->open = here(t);
	sub->depth = m->depth + 1;
	sub->close = ch == '{' ? '}' : '>';
	adv(t, 1);
	m->pending = 0;
	return 0;
}

/* Reads every remaining field of m, checking their syntax only. */
static int
drain(struct tx_msg *m)
{
	struct tx_field f;
	int r;

	while ((r = tx_next(m, &f)) == 1)
		;
	return r;
}

/* Skips the unread value of m's last field. */
static int
skip_value(struct tx_msg *m)
{
	struct tx_msg sub;
	int r;

	if (m->f.kind != TX_MSG) {
		m->pending = 0;
		if (m->f.kind == TX_STR)
			return strings(m->t, NULL);
		return num_value(m->t);
	}
	if ((r = tx_enter(m, &m->f, &sub)) != 0)
		return r;
	return drain(&sub);
}

/*
 * Reads the string value of the field f just returned, decoded onto the
 * end of out.
 */
static int
tx_str_append(struct tx_msg *m, const struct tx_field *f,
    struct pal_buf *out)
{
	if (!m->pending || f->kind != TX_STR)
		return fail(m->t->err, PAL_ERR_INVALID, f->at, "internal "
		    "error: field value is not a string to read");
	m->pending = 0;
	return strings(m->t, out);
}

/* As tx_str_append, into an emptied out. */
static int
tx_str(struct tx_msg *m, const struct tx_field *f, struct pal_buf *out)
{
	pal_buf_reset(out);
	return tx_str_append(m, f, out);
}

/*
 * The scanner.
 */

static int
is(const struct tx_field *f, const char *name)
{
	return pal_pb_str_eq(f->name, name);
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case TX_MSG:
		return "a message";
	case TX_STR:
		return "a string";
	}
	return "a number or name";
}

/* A field the scanner knows must have the kind of value its type has. */
static int
known(const struct tspec *sp, const struct tx_field *f, struct tx_ctx *c)
{
	for (; sp->name != NULL; sp++)
		if (is(f, sp->name)) {
			if (f->kind == sp->kind)
				return 0;
			return fail(c->err, PAL_ERR_FORMAT, f->val, "%s: "
			    "expected %s, found %s", sp->what,
			    kind_name(sp->kind), kind_name(f->kind));
		}
	return 0;
}

/* A string field that TensorFlow refuses to see twice, decoded. */
static int
take_once(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f,
    struct pal_buf *out, int *have, const char *what)
{
	if ((*have)++)
		return fail(c->err, PAL_ERR_FORMAT, f->at, "%s appears twice; "
		    "TensorFlow refuses a repeated singular field", what);
	return tx_str(m, f, out);
}

static struct pal_pb_str
str_of(const struct pal_buf *b)
{
	struct pal_pb_str s = { b->p, b->len };

	return s;
}

static int
fn_cmp(const void *x, const void *y)
{
	const struct tx_fn *a = x, *b = y;

	return pal_pb_str_cmp(a->name, b->name);
}

/* Index of the library function called name, or -1. */
static long
fn_index(const struct tx_ctx *c, struct pal_pb_str name)
{
	size_t lo = 0, hi = c->nfns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = pal_pb_str_cmp(c->fns[mid].name, name);

		if (r == 0)
			return (long)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Room for one more function; the table doubles up to its cap. */
static int
fn_room(struct tx_ctx *c, const struct tx_field *f)
{
	size_t ncap;
	struct tx_fn *p;

	if (c->nfns >= PAL_TF_MAX_FUNCTIONS)
		return fail(c->err, PAL_ERR_LIMIT, f->at, "more than %u "
		    "library functions", PAL_TF_MAX_FUNCTIONS);
	if (c->nfns < c->cap)
		return 0;
	ncap = c->cap ? c->cap * 2 : 64;
	if (ncap > PAL_TF_MAX_FUNCTIONS)
		ncap = PAL_TF_MAX_FUNCTIONS;
	if ((p = realloc(c->fns, ncap * sizeof(*p))) == NULL)
		return pal_err_set(c->err, PAL_ERR_NOMEM, "out of memory");
	c->fns = p;
	c->cap = ncap;
	return 0;
}


/* FunctionDef.signature: OpDef.name, decoded onto the end of names. */
static int
signature_name(struct tx_ctx *c, struct tx_msg *fm, const struct tx_field *f,
    int *have)
{
	struct tx_field g;
	struct tx_msg om;
	int r;

	if ((r = tx_enter(fm, f, &om)) != 0)
		return r;
	while ((r = tx_next(&om, &g)) == 1) {
		if ((r = known(opdef_spec, &g, c)) != 0)
			return r;
		if (!is(&g, "name"))
			continue;
		if ((*have)++)
			return fail(c->err, PAL_ERR_FORMAT, g.at, "OpDef.name "
			    "appears twice; TensorFlow refuses a repeated "
			    "singular field");
		if ((r = tx_str_append(&om, &g, &c->names)) != 0)
			return r;
	}
	return r;
}

/* A FunctionDef of the library: its name and where its body starts. */
static int
add_fn(struct tx_ctx *c, struct tx_msg *lm, const struct tx_field *f)
{
	struct tx_field g;
	struct tx_msg fm;
	struct tx_fn *fn;
	int have = 0, r;

	if ((r = fn_room(c, f)) != 0 || (r = tx_enter(lm, f, &fm)) != 0)
		return r;
	fn = &c->fns[c->nfns];
	memset(fn, 0, sizeof(*fn));
	fn->body = mark_of(&fm);
	fn->name_off = c->names.len;
	while ((r = tx_next(&fm, &g)) == 1) {
		if ((r = known(function_spec, &g, c)) != 0)
			return r;
		if (is(&g, "signature") &&
		    (r = signature_name(c, &fm, &g, &have)) != 0)
			return r;
	}
	if (r < 0)
		return r;
	fn->name.n = c->names.len - fn->name_off;
	c->nfns++;
	return 0;
}

/* GraphDef: the functions of its library (its nodes come later). */
static int
graph_functions(struct tx_ctx *c, struct tx_msg *mm, const struct tx_field *f)
{
	struct tx_field g, h;
	struct tx_msg gm, lm;
	int r;

	if ((r = tx_enter(mm, f, &gm)) != 0)
		return r;
	while ((r = tx_next(&gm, &g)) == 1) {
		if ((r = known(graph_spec, &g, c)) != 0)
			return r;
		if (!is(&g, "library"))
			continue;
		if ((r = tx_enter(&gm, &g, &lm)) != 0)
			return r;
		while ((r = tx_next(&lm, &h)) == 1) {
			if ((r = known(library_spec, &h, c)) != 0)
				return r;
			if (is(&h, "function") && (r = add_fn(c, &lm, &h)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/* SaverDef: the save and restore nodes, and in TF1 their name scope. */
static int
saver_read(struct tx_ctx *c, struct tx_msg *mm, const struct tx_field *f)
{
	struct tx_field g;
	struct tx_msg sm;
	int hs = 0, hr = 0, r;

	if ((r = tx_enter(mm, f, &sm)) != 0)
		return r;
	while ((r = tx_next(&sm, &g)) == 1) {
		if ((r = known(saver_spec, &g, c)) != 0)
			return r;
		if (is(&g, "save_tensor_name"))
			r = take_once(c, &sm, &g, &c->save, &hs,
			    "SaverDef.save_tensor_name");
		else if (is(&g, "restore_op_name"))
			r = take_once(c, &sm, &g, &c->restore, &hr,
			    "SaverDef.restore_op_name");
		if (r != 0)
			return r;
	}
	return r;
}

/*
 * The first reading of a MetaGraphDef: its syntax, its saver, and the
 * functions of its library.
 */
static int
meta_first(struct tx_ctx *c, struct tx_msg *mm)
{
	struct tx_field f;
	int hs = 0, r;

	while ((r = tx_next(mm, &f)) == 1) {
		if ((r = known(meta_spec, &f, c)) != 0)
			return r;
		if (is(&f, "saver_def")) {
			if (hs++)
				return fail(c->err, PAL_ERR_FORMAT, f.at,
				    "MetaGraphDef.saver_def appears twice");
			r = saver_read(c, mm, &f);
		} else if (is(&f, "graph_def"))
			r = graph_functions(c, mm, &f);
		if (r != 0)
			return r;
	}
	if (r < 0)
		return r;
	pal_tf_saver_set(&c->saver, str_of(&c->save), str_of(&c->restore));
	return 0;
}

/* The library's functions, sorted by name for the saver's marking. */
static int
sort_functions(struct tx_ctx *c)
{
	size_t i;

	/* The names buffer no longer moves: point into it. */
	for (i = 0; i < c->nfns; i++)
		c->fns[i].name.p = c->fns[i].name.n ?
		    c->names.p + c->fns[i].name_off : NULL;
	if (c->nfns == 0)
		return 0;
	if ((c->queue = calloc(c->nfns, sizeof(*c->queue))) == NULL)
		return pal_err_set(c->err, PAL_ERR_NOMEM, "out of memory");
	qsort(c->fns, c->nfns, sizeof(*c->fns), fn_cmp);
	return 0;
}

/* Marks a library function as run by the saver, queueing it once. */
static void
mark(struct tx_ctx *c, struct pal_pb_str name, size_t *nq)
{
	long i = fn_index(c, name);

	if (i < 0 || c->fns[i].saver)
		return;
	c->fns[i].saver = 1;
	c->queue[(*nq)++] = (size_t)i;
}

static int attr_value_funcs(struct tx_ctx *c, struct tx_msg *m,
    const struct tx_field *f, size_t *nq);

/* NameAttrList: the function it names, and functions in its attrs. */
static int
name_attr_funcs(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f,
    size_t *nq)
{
	struct tx_field g, h;
	struct tx_msg nm, em;
	int r;

	if ((r = tx_enter(m, f, &nm)) != 0)
		return r;
	while ((r = tx_next(&nm, &g)) == 1) {
		if ((r = known(name_attr_spec, &g, c)) != 0)
			return r;
		if (is(&g, "name")) {
			if ((r = tx_str(&nm, &g, &c->aux)) != 0)
				return r;
			mark(c, str_of(&c->aux), nq);
		}
		if (!is(&g, "attr"))
			continue;
		if ((r = tx_enter(&nm, &g, &em)) != 0)
			return r;
		while ((r = tx_next(&em, &h)) == 1)
			if (is(&h, "value") && h.kind == TX_MSG &&
			    (r = attr_value_funcs(c, &em, &h, nq)) != 0)
				return r;
		if (r < 0)
			return r;
	}
	return r;
}

/* AttrValue: functions named by func, or by a list of them. */
static int
attr_value_funcs(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f,
    size_t *nq)
{
	struct tx_field g, h;
	struct tx_msg vm, lm;
	int r;

	if ((r = tx_enter(m, f, &vm)) != 0)
		return r;
	while ((r = tx_next(&vm, &g)) == 1) {
		if ((r = known(attr_value_spec, &g, c)) != 0)
			return r;
		if (is(&g, "func") && (r = name_attr_funcs(c, &vm, &g, nq)) != 0)
			return r;
		if (!is(&g, "list"))
			continue;
		if ((r = tx_enter(&vm, &g, &lm)) != 0)
			return r;
		while ((r = tx_next(&lm, &h)) == 1) {
			if ((r = known(list_spec, &h, c)) != 0)
				return r;
			if (is(&h, "func") &&
			    (r = name_attr_funcs(c, &lm, &h, nq)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/* NodeDef: the functions it calls, by op name or function attribute. */
static int
node_funcs(struct tx_ctx *c, struct tx_msg *nm, size_t *nq)
{
	struct tx_field g, h;
	struct tx_msg em;
	int r;

	while ((r = tx_next(nm, &g)) == 1) {
		if (is(&g, "op") && g.kind == TX_STR) {
			if ((r = tx_str(nm, &g, &c->op)) != 0)
				return r;
			mark(c, str_of(&c->op), nq);
		}
		if (!is(&g, "attr") || g.kind != TX_MSG)
			continue;
		if ((r = tx_enter(nm, &g, &em)) != 0)
			return r;
		while ((r = tx_next(&em, &h)) == 1)
			if (is(&h, "value") && h.kind == TX_MSG &&
			    (r = attr_value_funcs(c, &em, &h, nq)) != 0)
				return r;
		if (r < 0)
			return r;
	}
	return r;
}

/* The name of a NodeDef (the last one), for matching the saver's nodes. */
static int
node_name(struct tx_ctx *c, struct tx_msg *nm)
{
	struct tx_field g;
	int r;

	pal_buf_reset(&c->name);
	while ((r = tx_next(nm, &g)) == 1)
		if (is(&g, "name") && g.kind == TX_STR &&
		    (r = tx_str(nm, &g, &c->name)) != 0)
			return r;
	return r;
}

/* The save and restore nodes of the graph: the functions they call. */
static int
saver_roots(struct tx_ctx *c, const struct tx_mark *meta, size_t *nq)
{
	struct tx_field f, g;
	struct tx_msg mm, gm, nm, again;
	struct tx t, t2;
	struct tx_mark k;
	int r;

	resume(&t, &c->base, meta, &mm);
	while ((r = tx_next(&mm, &f)) == 1) {
		if (!is(&f, "graph_def"))
			continue;
		if ((r = tx_enter(&mm, &f, &gm)) != 0)
			return r;
		while ((r = tx_next(&gm, &g)) == 1) {
			if (!is(&g, "node"))
				continue;
			if ((r = tx_enter(&gm, &g, &nm)) != 0)
				return r;
			k = mark_of(&nm);
			if ((r = node_name(c, &nm)) != 0)
				return r;
			if (!pal_tf_saver_endpoint(&c->saver,
			    str_of(&c->name)))
				continue;
			resume(&t2, &c->base, &k, &again);
			if ((r = node_funcs(c, &again, nq)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/*
 * Marks the functions the saver runs: those the save and restore nodes
 * call, and everything those call in turn.  Each function is queued once,
 * so the walk is linear in the library's size.
 */
static int
mark_saver(struct tx_ctx *c, const struct tx_mark *meta)
{
	struct tx_field h;
	struct tx_msg fm, nm;
	size_t nq = 0, qi;
	struct tx t;
	int r;

	if (c->nfns == 0 || (c->saver.save.n == 0 && c->saver.restore.n == 0))
		return 0;
	if ((r = saver_roots(c, meta, &nq)) != 0)
		return r;
	for (qi = 0; qi < nq; qi++) {
		resume(&t, &c->base, &c->fns[c->queue[qi]].body, &fm);
		while ((r = tx_next(&fm, &h)) == 1) {
			if (!is(&h, "node_def") || h.kind != TX_MSG)
				continue;
			if ((r = tx_enter(&fm, &h, &nm)) != 0 ||
			    (r = node_funcs(c, &nm, &nq)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* AttrValue.s of one attribute value, the last one kept. */
static int
attr_s(struct tx_ctx *c, struct tx_msg *vm, int *found)
{
	struct tx_field h;
	int r;

	while ((r = tx_next(vm, &h)) == 1) {
		if ((r = known(attr_value_spec, &h, c)) != 0)
			return r;
		if (!is(&h, "s"))
			continue;
		if ((r = tx_str(vm, &h, &c->val)) != 0)
			return r;
		*found = 1;
	}
	return r;
}

/*
 * The AttrValue.s of the node attribute called key, into c->val.  A map
 * entry may give its value before its key: the value is then read again
 * from its mark once the key is known.
 */
static int
node_attr_s(struct tx_ctx *c, struct tx_msg *nm, const char *key, int *found)
{
	struct tx_field f, g;
	struct tx_msg em, vm;
	struct tx_mark vk;
	struct tx t;
	int hk, hv, r;

	*found = 0;
	while ((r = tx_next(nm, &f)) == 1) {
		if (!is(&f, "attr"))
			continue;
		if ((r = tx_enter(nm, &f, &em)) != 0)
			return r;
		hk = hv = 0;
		while ((r = tx_next(&em, &g)) == 1) {
			if ((r = known(attr_entry_spec, &g, c)) != 0)
				return r;
			if (is(&g, "key"))
				r = take_once(c, &em, &g, &c->key, &hk,
				    "NodeDef.attr.key");
			else if (is(&g, "value")) {
				if (hv++)
					return fail(c->err, PAL_ERR_FORMAT,
					    g.at, "NodeDef.attr.value appears "
					    "twice");
				if ((r = tx_enter(&em, &g, &vm)) != 0)
					return r;
				vk = mark_of(&vm);
				r = drain(&vm);
			}
			if (r != 0)
				return r;
		}
		if (r < 0)
			return r;
		if (!hv || !pal_pb_str_eq(str_of(&c->key), key))
			continue;
		resume(&t, &c->base, &vk, &vm);
		if ((r = attr_s(c, &vm, found)) != 0)
			return r;
	}
	return r;
}

/*
 * NodeDef: name and op (each at most once), then the op's verdict.
 * in_saver is 1 or 0 for a function's nodes, -1 for the graph's own.
 */
static int
node_check(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f,
    const char *where, int in_saver)
{
	char qo[PAL_PB_QUOTE_MAX], at[TX_POS_MAX];
	const struct pal_tf_op *o;
	const char *rule, *why, *key;
	struct pal_pb_str v;
	struct tx_field g;
	struct tx_msg nm, again;
	struct tx_mark k;
	struct tx t;
	int hn = 0, ho = 0, found = 0, r;

	if ((r = tx_enter(m, f, &nm)) != 0)
		return r;
	k = mark_of(&nm);
	pal_buf_reset(&c->name);
	pal_buf_reset(&c->op);
	while ((r = tx_next(&nm, &g)) == 1) {
		if ((r = known(node_spec, &g, c)) != 0)
			return r;
		if (is(&g, "name"))
			r = take_once(c, &nm, &g, &c->name, &hn,
			    "NodeDef.name");
		else if (is(&g, "op"))
			r = take_once(c, &nm, &g, &c->op, &ho, "NodeDef.op");
		if (r != 0)
			return r;
	}
	if (r < 0 || (o = pal_tf_op_lookup(str_of(&c->op))) == NULL)
		return r;
	if (in_saver < 0)
		in_saver = pal_tf_saver_node(&c->saver, str_of(&c->name));
	if ((key = pal_tf_op_attr(o)) != NULL) {
		resume(&t, &c->base, &k, &again);
		if ((r = node_attr_s(c, &again, key, &found)) != 0)
			return r;
	}
	v = str_of(&c->val);
	if (!pal_tf_op_judge(o, in_saver, found ? &v : NULL, &rule, &why))
		return 0;
	pos_str(at, f->at);
	return pal_tf_report(c->s, c->it, rule, where, str_of(&c->name), at,
	    "op %s %s", pal_pb_quote(qo, sizeof(qo), str_of(&c->op)), why);
}

/* Every node of every library function, with the saver's allowance. */
static int
check_functions(struct tx_ctx *c)
{
	char where[PAL_PB_QUOTE_MAX + 16], qf[PAL_PB_QUOTE_MAX];
	struct tx_field g;
	struct tx_msg fm;
	struct tx t;
	size_t i;
	int r;

	/* "function '" and "'" around one quoted name always fit. */
	_Static_assert(PAL_PB_QUOTE_MAX + 16 <= sizeof(where),
	    "room for a quoted function name");
	for (i = 0; i < c->nfns; i++) {
		snprintf(where, sizeof(where), "function '%s'",
		    pal_pb_quote(qf, sizeof(qf), c->fns[i].name));
		resume(&t, &c->base, &c->fns[i].body, &fm);
		while ((r = tx_next(&fm, &g)) == 1)
			if (is(&g, "node_def") && (r = node_check(c, &fm, &g,
			    where, c->fns[i].saver)) != 0)
				return r;
		if (r < 0)
			return r;
	}
	return 0;
}

/* The graph's own nodes (not its library, checked by function). */
static int
graph_check(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f)
{
	struct tx_field g;
	struct tx_msg gm;
	int r;

	if ((r = tx_enter(m, f, &gm)) != 0)
		return r;
	while ((r = tx_next(&gm, &g)) == 1)
		if (is(&g, "node") &&
		    (r = node_check(c, &gm, &g, "graph", -1)) != 0)
			return r;
	return r;
}

/* AssetFileDef: a file name relative to the assets directory. */
static int
asset_check(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f)
{
	char loc[TX_POS_MAX];
	struct tx_pos at = f->at;
	struct tx_field g;
	struct tx_msg am;
	int hn = 0, r;

	if ((r = tx_enter(m, f, &am)) != 0)
		return r;
	while ((r = tx_next(&am, &g)) == 1) {
		if ((r = known(asset_spec, &g, c)) != 0)
			return r;
		if (!is(&g, "filename"))
			continue;
		at = g.val;
		if ((r = take_once(c, &am, &g, &c->val, &hn,
		    "AssetFileDef.filename")) != 0)
			return r;
	}
	if (r < 0 || !hn)
		return r;
	pos_str(loc, at);
	return pal_tf_asset(c->s, c->it, str_of(&c->val), loc);
}

/*
 * An AssetFileDef serialized in binary in the string value of an Any (the
 * form protobuf prints when it does not expand an Any).
 */
static int
asset_bytes(struct tx_ctx *c, struct pal_pb_str b, struct tx_pos at)
{
	struct pal_pb_str name = { NULL, 0 };
	char loc[TX_POS_MAX];
	struct pal_pb_field g;
	struct pal_pb_msg am;
	int hn = 0, r;

	pos_str(loc, at);
	pal_pb_init(&am, b.p, b.n, 0, 0);
	while ((r = pal_pb_next(&am, &g, c->err)) == 1) {
		if (g.num != 1 && g.num != 2)
			continue;
		if ((r = pal_pb_want(&g, PAL_PB_W(PAL_PB_LEN), g.num == 1 ?
		    "AssetFileDef.tensor_info" : "AssetFileDef.filename",
		    c->err)) != 0)
			break;
		if (g.num == 2 && hn++) {
			r = pal_err_set(c->err, PAL_ERR_FORMAT, "offset %zu: "
			    "field 2 (AssetFileDef.filename) appears twice",
			    g.off);
			break;
		}
		if (g.num == 2)
			name = pal_pb_str_of(&g);
	}
	if (r < 0)
		return pal_err_wrap(c->err, r, "%s: serialized "
		    "AssetFileDef: ", loc);
	if (!hn)
		return 0;
	return pal_tf_asset(c->s, c->it, name, loc);
}

/* 1 if a bracketed Any type name is [<prefix>/tensorflow.AssetFileDef]. */
static int
asset_type(struct pal_pb_str name)
{
	static const char tail[] = "/tensorflow.AssetFileDef]";
	size_t n = sizeof(tail) - 1;

	return name.n > n && name.p[0] == '[' &&
	    memcmp(name.p + name.n - n, tail, n) == 0;
}

/*
 * Any: an AssetFileDef, either expanded ("[type.googleapis.com/
 * tensorflow.AssetFileDef] { filename: ... }") or as type_url and the
 * serialized message in value, is checked like the others.
 */
static int
any_asset_check(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f)
{
	struct tx_pos vat = f->at;
	struct tx_field g;
	struct tx_msg am;
	int hu = 0, hv = 0, r;

	if ((r = tx_enter(m, f, &am)) != 0)
		return r;
	while ((r = tx_next(&am, &g)) == 1) {
		if ((r = known(any_spec, &g, c)) != 0)
			return r;
		if (is(&g, "type_url"))
			r = take_once(c, &am, &g, &c->aux, &hu, "Any.type_url");
		else if (is(&g, "value")) {
			vat = g.val;
			r = take_once(c, &am, &g, &c->blob, &hv, "Any.value");
		} else if (asset_type(g.name) && g.kind == TX_MSG)
			r = asset_check(c, &am, &g);
		if (r != 0)
			return r;
	}
	/* TensorFlow unpacks only an AssetFileDef; anything else fails. */
	if (r < 0 || !hv || c->aux.len < 23 || memcmp(c->aux.p +
	    c->aux.len - 23, "tensorflow.AssetFileDef", 23) != 0)
		return r;
	return asset_bytes(c, str_of(&c->blob), vat);
}

/* CollectionDef of saved_model_assets: any_list { value: Any ... }. */
static int
collection_assets(struct tx_ctx *c, const struct tx_mark *value)
{
	struct tx_field g, h;
	struct tx_msg cm, lm;
	struct tx t;
	int r;

	resume(&t, &c->base, value, &cm);
	while ((r = tx_next(&cm, &g)) == 1) {
		if ((r = known(collection_spec, &g, c)) != 0)
			return r;
		if (!is(&g, "any_list"))
			continue;
		if ((r = tx_enter(&cm, &g, &lm)) != 0)
			return r;
		while ((r = tx_next(&lm, &h)) == 1) {
			if ((r = known(any_list_spec, &h, c)) != 0)
				return r;
			if (is(&h, "value") &&
			    (r = any_asset_check(c, &lm, &h)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/*
 * collection_def: TF1 SavedModels list their assets in the collection
 * "saved_model_assets", as Any-wrapped AssetFileDefs; the loader reads
 * them there when asset_file_def is empty.  The value is read again from
 * its mark once the key is known, which may come after it.
 */
static int
collection_check(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f)
{
	struct tx_field g;
	struct tx_msg em, cm;
	struct tx_mark vk;
	int hk = 0, hv = 0, r;

	if ((r = tx_enter(m, f, &em)) != 0)
		return r;
	while ((r = tx_next(&em, &g)) == 1) {
		if ((r = known(entry_spec, &g, c)) != 0)
			return r;
		if (is(&g, "key"))
			r = take_once(c, &em, &g, &c->key, &hk,
			    "collection_def key");
		else if (is(&g, "value")) {
			if (hv++)
				return fail(c->err, PAL_ERR_FORMAT, g.at,
				    "collection_def value appears twice");
			if ((r = tx_enter(&em, &g, &cm)) != 0)
				return r;
			vk = mark_of(&cm);
			r = drain(&cm);
		}
		if (r != 0)
			return r;
	}
	if (r < 0 || !hv || !pal_pb_str_eq(str_of(&c->key),
	    "saved_model_assets"))
		return r;
	return collection_assets(c, &vk);
}

/* SavedUserObject: Keras objects of TF 2.0-2.4 carry JSON metadata. */
static int
user_object_check(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f)
{
	char at[TX_POS_MAX];
	struct tx_pos mat = f->at;
	struct tx_field g;
	struct tx_msg um;
	int hi = 0, hm = 0, r;

	if ((r = tx_enter(m, f, &um)) != 0)
		return r;
	pal_buf_reset(&c->key);
	pal_buf_reset(&c->val);
	while ((r = tx_next(&um, &g)) == 1) {
		if ((r = known(user_object_spec, &g, c)) != 0)
			return r;
		if (is(&g, "identifier"))
			r = take_once(c, &um, &g, &c->key, &hi,
			    "SavedUserObject.identifier");
		else if (is(&g, "metadata")) {
			mat = g.val;
			r = take_once(c, &um, &g, &c->val, &hm,
			    "SavedUserObject.metadata");
		}
		if (r != 0)
			return r;
	}
	if (r < 0)
		return r;
	pos_str(at, mat);
	return pal_tf_keras_json(c->s, c->it, str_of(&c->key),
	    str_of(&c->val), at);
}

/* SavedObjectGraph: its nodes' user objects. */
static int
objects_check(struct tx_ctx *c, struct tx_msg *m, const struct tx_field *f)
{
	struct tx_field g, h;
	struct tx_msg om, nm;
	int r;

	if ((r = tx_enter(m, f, &om)) != 0)
		return r;
	while ((r = tx_next(&om, &g)) == 1) {
		if ((r = known(object_graph_spec, &g, c)) != 0)
			return r;
		if (!is(&g, "nodes"))
			continue;
		if ((r = tx_enter(&om, &g, &nm)) != 0)
			return r;
		while ((r = tx_next(&nm, &h)) == 1) {
			if ((r = known(object_spec, &h, c)) != 0)
				return r;
			if (is(&h, "user_object") &&
			    (r = user_object_check(c, &nm, &h)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/* The graph's nodes, assets and objects, once the saver is known. */
static int
meta_check(struct tx_ctx *c, const struct tx_mark *meta)
{
	struct tx_field f;
	struct tx_msg mm;
	struct tx t;
	int r;

	resume(&t, &c->base, meta, &mm);
	while ((r = tx_next(&mm, &f)) == 1) {
		if (is(&f, "graph_def"))
			r = graph_check(c, &mm, &f);
		else if (is(&f, "collection_def"))
			r = collection_check(c, &mm, &f);
		else if (is(&f, "asset_file_def"))
			r = asset_check(c, &mm, &f);
		else if (is(&f, "object_graph_def"))
			r = objects_check(c, &mm, &f);
		else
			r = 0;
		if (r != 0)
			return r;
	}
	return r;
}

/* Forgets one meta graph's functions and saver. */
static void
meta_reset(struct tx_ctx *c)
{
	free(c->fns);
	free(c->queue);
	c->fns = NULL;
	c->queue = NULL;
	c->nfns = c->cap = 0;
	pal_buf_reset(&c->names);
	pal_buf_reset(&c->save);
	pal_buf_reset(&c->restore);
	memset(&c->saver, 0, sizeof(c->saver));
}

/* One MetaGraphDef: saver, library, nodes, assets, object graph. */
static int
meta_scan(struct tx_ctx *c, struct tx_msg *top, const struct tx_field *f)
{
	struct tx_msg mm;
	struct tx_mark k;
	int r;

	meta_reset(c);
	if ((r = tx_enter(top, f, &mm)) != 0)
		return r;
	k = mark_of(&mm);
	if ((r = meta_first(c, &mm)) != 0 ||
	    (r = sort_functions(c)) != 0 ||
	    (r = mark_saver(c, &k)) != 0 ||
	    (r = check_functions(c)) != 0)
		return r;
	return meta_check(c, &k);
}

static void
ctx_init(struct tx_ctx *c, struct pal_scan *s, const struct pal_scan_item *it)
{
	/* A decoded string is never longer than the text it comes from. */
	size_t max = it->len + 1;

	memset(c, 0, sizeof(*c));
	c->s = s;
	c->it = it;
	c->err = &s->err;
	tx_init(&c->base, it->data, it->len, c->err);
	pal_buf_init(&c->names, max);
	pal_buf_init(&c->save, max);
	pal_buf_init(&c->restore, max);
	pal_buf_init(&c->name, max);
	pal_buf_init(&c->op, max);
	pal_buf_init(&c->key, max);
	pal_buf_init(&c->val, max);
	pal_buf_init(&c->aux, max);
	pal_buf_init(&c->blob, max);
}

static void
ctx_free(struct tx_ctx *c)
{
	meta_reset(c);
	pal_buf_free(&c->names);
	pal_buf_free(&c->save);
	pal_buf_free(&c->restore);
	pal_buf_free(&c->name);
	pal_buf_free(&c->op);
	pal_buf_free(&c->key);
	pal_buf_free(&c->val);
	pal_buf_free(&c->aux);
	pal_buf_free(&c->blob);
}

int
pal_fmt_savedmodel_text(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct tx_field f;
	struct tx_msg top;
	struct tx_ctx c;
	struct tx t;
	int r, metas = 0;

	ctx_init(&c, s, it);
	t = c.base;
	msg_top(&top, &t);
	while ((r = tx_next(&top, &f)) == 1) {
		if ((r = known(savedmodel_spec, &f, &c)) != 0)
			goto out;
		if (!is(&f, "meta_graphs"))
			continue;
		metas++;
		if ((r = meta_scan(&c, &top, &f)) != 0)
			goto out;
	}
	if (r == 0 && metas == 0)
		r = pal_err_set(c.err, PAL_ERR_FORMAT, "SavedModel has no "
		    "meta_graphs");
out:
	ctx_free(&c);
	return r;
}
