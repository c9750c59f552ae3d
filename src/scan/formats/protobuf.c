/*
 * protobuf.c - a bounded reader of the protocol buffers wire format.
 *
 * Why not generated code (protoc, protobuf-c, nanopb): a generated parser
 * decodes a whole message tree into allocated objects before the caller
 * can look at it, so a hostile 2 GB model with millions of nodes becomes
 * millions of allocations, and its limits are whatever the library
 * chose.  The scanners need less and want more control: a walk over the
 * fields in place, with no allocation and no copy, where every length is
 * checked against the bytes of the enclosing message, nesting is capped
 * here, and each failure names its offset and field.  The wire format is
 * small (a tag varint, four value encodings), so the reader is too.
 *
 * What it trusts: nothing in the bytes.  What it rejects: truncated or
 * over-long tags (a tag padded with 0x80 bytes decodes like a short one
 * and only serves to disguise a field), field number 0 or above 2^29-1,
 * wire types 6 and 7, groups unless the caller is a lenient probe,
 * varints longer than ten bytes, lengths past the enclosing message.
 * Padded length and value varints are accepted, as protobuf accepts them:
 * streaming writers reserve a fixed-width length and patch it in later.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "protobuf.h"

#define TAG_MAX_BYTES 5

void
pal_pb_init(struct pal_pb_msg *m, const void *data, size_t len, size_t base,
    unsigned flags)
{
	pal_cur_init(&m->cur, data, len);
	m->base = base;
	m->depth = 0;
	m->flags = flags;
}

/* Item offset of m's read position. */
static size_t
at(const struct pal_pb_msg *m)
{
	return m->base + m->cur.off;
}

/* A tag: canonical varint of at most five bytes. */
static int
read_tag(struct pal_pb_msg *m, uint64_t *tag, struct pal_err *err)
{
	size_t start = at(m);
	uint64_t x = 0;
	unsigned i;
	uint8_t b;

	for (i = 0; i < TAG_MAX_BYTES; i++) {
		if (pal_cur_u8(&m->cur, &b) != 0)
			return pal_err_set(err, PAL_ERR_TRUNCATED,
			    "offset %zu: tag cut off by the end of the message",
			    start);
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			if (i > 0 && b == 0)
				return pal_err_set(err, PAL_ERR_FORMAT,
				    "offset %zu: tag encoded with %u bytes where "
				    "fewer suffice", start, i + 1);
			*tag = x;
			return 0;
		}
	}
	return pal_err_set(err, PAL_ERR_FORMAT,
	    "offset %zu: tag longer than %d bytes", start, TAG_MAX_BYTES);
}

static int
read_varint(struct pal_pb_msg *m, const struct pal_pb_field *f, uint64_t *v,
    struct pal_err *err)
{
	int r = pal_cur_varint(&m->cur, v);

	if (r == PAL_ERR_TRUNCATED)
		return pal_err_set(err, r, "offset %zu: field %u: varint cut "
		    "off by the end of the message", f->val_off, f->num);
	if (r != 0)
		return pal_err_set(err, r, "offset %zu: field %u: varint "
		    "longer than 10 bytes or above 2^64", f->val_off, f->num);
	return 0;
}

static int
read_fixed(struct pal_pb_msg *m, struct pal_pb_field *f, struct pal_err *err)
{
	uint32_t v32;
	int r;

	if (f->wire == PAL_PB_I64)
		r = pal_cur_u64le(&m->cur, &f->v);
	else if ((r = pal_cur_u32le(&m->cur, &v32)) == 0)
		f->v = v32;
	if (r != 0)
		return pal_err_set(err, r, "offset %zu: field %u: %d-byte "
		    "value cut off by the end of the message", f->val_off,
		    f->num, f->wire == PAL_PB_I64 ? 8 : 4);
	return 0;
}

static int
read_len(struct pal_pb_msg *m, struct pal_pb_field *f, struct pal_err *err)
{
	uint64_t n;
	int r;

	if ((r = read_varint(m, f, &n, err)) != 0)
		return r;
	f->val_off = at(m);
	if (n > pal_cur_left(&m->cur))
		return pal_err_set(err, PAL_ERR_TRUNCATED,
		    "offset %zu: field %u: length %llu runs past the end of "
		    "the enclosing message (%zu bytes left)", f->off, f->num,
		    (unsigned long long)n, pal_cur_left(&m->cur));
	f->v = n;
	return pal_cur_bytes(&m->cur, (size_t)n, &f->p);
}

/* Reads a tag and splits it into field number and wire type. */
static int
next_tag(struct pal_pb_msg *m, struct pal_pb_field *f, struct pal_err *err)
{
	uint64_t tag = 0;
	int r;

	f->off = at(m);
	if ((r = read_tag(m, &tag, err)) != 0)
		return r;
	f->num = (uint32_t)(tag >> 3);
	f->wire = (unsigned)(tag & 7);
	f->val_off = at(m);
	f->v = 0;
	f->p = NULL;
	if ((tag >> 3) == 0 || (tag >> 3) > PAL_PB_MAX_FIELD)
		return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: field "
		    "number %llu is not valid", f->off,
		    (unsigned long long)(tag >> 3));
	if (f->wire > PAL_PB_I32)
		return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: field %u: "
		    "wire type %u does not exist", f->off, f->num, f->wire);
	return 0;
}

/* Reads the value of a non-group field whose tag is in f. */
static int
read_value(struct pal_pb_msg *m, struct pal_pb_field *f, struct pal_err *err)
{
	switch (f->wire) {
	case PAL_PB_VARINT:
		return read_varint(m, f, &f->v, err);
	case PAL_PB_I64:
	case PAL_PB_I32:
		return read_fixed(m, f, err);
	case PAL_PB_LEN:
		return read_len(m, f, err);
	}
	return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: field %u: "
	    "unexpected wire type %u", f->off, f->num, f->wire);
}

/*
 * Skips the body of the group that f starts, through its matching end,
 * with nested groups counted against the depth cap.
 */
static int
skip_group(struct pal_pb_msg *m, const struct pal_pb_field *f,
    struct pal_err *err)
{
	uint32_t open[PAL_PB_MAX_DEPTH];
	unsigned n = 0;
	struct pal_pb_field g;
	int r;

	if (m->depth + 1 > PAL_PB_MAX_DEPTH)
		goto deep;
	open[n++] = f->num;
	while (n > 0) {
		if ((r = next_tag(m, &g, err)) != 0)
			return r;
		if (g.wire == PAL_PB_SGROUP) {
			if (m->depth + n + 1 > PAL_PB_MAX_DEPTH)
				goto deep;
			open[n++] = g.num;
		} else if (g.wire == PAL_PB_EGROUP) {
			if (g.num != open[n - 1])
				return pal_err_set(err, PAL_ERR_FORMAT,
				    "offset %zu: end of group %u closes group "
				    "%u", g.off, g.num, open[n - 1]);
			n--;
		} else if ((r = read_value(m, &g, err)) != 0) {
			return r;
		}
	}
	return 0;
deep:
	return pal_err_set(err, PAL_ERR_LIMIT, "offset %zu: field %u: groups "
	    "nested deeper than %d levels", f->off, f->num, PAL_PB_MAX_DEPTH);
}

int
pal_pb_next(struct pal_pb_msg *m, struct pal_pb_field *f, struct pal_err *err)
{
	int r;

	if (pal_cur_left(&m->cur) == 0)
		return 0;
	if ((r = next_tag(m, f, err)) != 0)
		return r;
	if (f->wire == PAL_PB_EGROUP)
		return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: field %u: "
		    "end of a group that was never started", f->off, f->num);
	if (f->wire == PAL_PB_SGROUP) {
		if ((m->flags & PAL_PB_LENIENT) == 0)
			return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: "
			    "field %u: groups (wire type 3) are not used by "
			    "this format", f->off, f->num);
		if ((r = skip_group(m, f, err)) != 0)
			return r;
		return 1;
	}
	if ((r = read_value(m, f, err)) != 0)
		return r;
	return 1;
}

int
pal_pb_enter(const struct pal_pb_msg *m, const struct pal_pb_field *f,
    struct pal_pb_msg *sub, struct pal_err *err)
{
	if (f->wire != PAL_PB_LEN)
		return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: field %u: "
		    "wire type %u where a message belongs", f->off, f->num,
		    f->wire);
	if (m->depth + 1 > PAL_PB_MAX_DEPTH)
		return pal_err_set(err, PAL_ERR_LIMIT, "offset %zu: field %u: "
		    "messages nested deeper than %d levels", f->off, f->num,
		    PAL_PB_MAX_DEPTH);
	pal_pb_init(sub, f->p, (size_t)f->v, f->val_off, m->flags);
	sub->depth = m->depth + 1;
	return 0;
}

static const char *
wire_name(unsigned w)
{
	static const char *const names[] = {
		"varint", "64-bit", "length-delimited", "group start",
		"group end", "32-bit",
	};

	return w < sizeof(names) / sizeof(names[0]) ? names[w] : "invalid";
}

int
pal_pb_want(const struct pal_pb_field *f, unsigned wires, const char *what,
    struct pal_err *err)
{
	if (wires & PAL_PB_W(f->wire))
		return 0;
	return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: field %u (%s): "
	    "%s value where the format has another wire type", f->off,
	    f->num, what, wire_name(f->wire));
}

int
pal_pb_str_eq(struct pal_pb_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

int
pal_pb_str_prefix(struct pal_pb_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

int
pal_pb_str_same(struct pal_pb_str a, struct pal_pb_str b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

char *
pal_pb_quote(char *out, size_t outlen, struct pal_pb_str s)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	/* Too small for even "...": say nothing rather than overflow. */
	if (outlen < 4) {
		if (outlen > 0)
			out[0] = '\0';
		return out;
	}
	for (i = 0; i < s.n; i++) {
		uint8_t c = s.p[i];
		int plain = c >= 0x20 && c < 0x7f && c != '\'' && c != '\\';
		size_t need = plain ? 1 : 4;

		/* Keep room for "..." and the terminator. */
		if (o + need + 4 > outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

static int
is_sep(uint8_t c)
{
	return c == '/' || c == '\\';
}

/*
 * A component Windows may read as "..": Win32 path normalization drops
 * trailing dots and spaces from a component, so ".. " and "..." are not
 * the plain names they look like on POSIX.
 */
static int
is_dotty(const uint8_t *p, size_t n)
{
	size_t i, dots = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '.')
			dots++;
		else if (p[i] != ' ')
			return 0;
	}
	return dots >= 2;
}

/* Walks the components: 1 if ".." climbs above the start, 2 if any "..". */
static int
dotdot(struct pal_pb_str path)
{
	size_t i = 0, start, depth = 0;
	int seen = 0;

	while (i < path.n) {
		start = i;
		while (i < path.n && !is_sep(path.p[i]))
			i++;
		if (i - start == 1 && path.p[start] == '.') {
			/* "." stays where it is. */
		} else if (is_dotty(path.p + start, i - start)) {
			if (depth == 0)
				return 1;
			depth--;
			seen = 1;
		} else if (i > start) {
			depth++;
		}
		i++;
	}
	return seen ? 2 : 0;
}

static int
is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

const char *
pal_pb_path_problem(struct pal_pb_str path)
{
	int dd;

	if (path.n == 0)
		return "the path is empty: it names the model's directory itself";
	if (memchr(path.p, '\0', path.n) != NULL)
		return "the path holds a NUL byte: C and Python runtimes would "
		    "open different files";
	if (is_sep(path.p[0]))
		return "the path is absolute";
	if (path.n >= 2 && is_alpha(path.p[0]) && path.p[1] == ':')
		return "the path names a Windows drive";
	if ((dd = dotdot(path)) == 1)
		return "the path climbs out of the model's directory with '..'";
	if (dd == 2)
		return "the path has a '..' component";
	if (memchr(path.p, '\\', path.n) != NULL)
		return "the path uses backslashes, which Windows runtimes read "
		    "as directory separators";
	if (memchr(path.p, ':', path.n) != NULL)
		return "the path holds ':' (a Windows drive-relative path, "
		    "alternate data stream or URL scheme)";
	return NULL;
}

int
pal_pb_path_symlink(const char *dir, const char *sub, struct pal_pb_str path)
{
	char buf[4096];
	struct stat st;
	size_t base, i;
	int n;

	n = snprintf(buf, sizeof(buf), "%s/%s%s", dir, sub ? sub : "",
	    sub ? "/" : "");
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    path.n >= sizeof(buf) - (size_t)n)
		return 0;
	base = strlen(dir) + 1;
	memcpy(buf + n, path.p, path.n);
	buf[(size_t)n + path.n] = '\0';
	/* Each directory on the way, then the file itself. */
	for (i = base; ; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];

			buf[i] = '\0';
			if (lstat(buf, &st) != 0)
				return 0;
			if (S_ISLNK(st.st_mode))
				return 1;
			if (c == '\0')
				return 0;
			buf[i] = c;
		}
	}
}

int
pal_pb_str_cmp(struct pal_pb_str a, struct pal_pb_str b)
{
	size_t n = a.n < b.n ? a.n : b.n;
	int r = n ? memcmp(a.p, b.p, n) : 0;

	if (r != 0)
		return r;
	return a.n < b.n ? -1 : a.n > b.n;
}

int
pal_pb_known(const struct pal_pb_fspec *t, const struct pal_pb_field *f,
    struct pal_err *err)
{
	for (; t->name != NULL; t++)
		if (t->num == f->num)
			return pal_pb_want(f, t->wires, t->name, err);
	return 0;
}

int
pal_pb_take_once(struct pal_pb_str *dst, int *have,
    const struct pal_pb_field *f, const char *what, struct pal_err *err)
{
	if (*have)
		return pal_err_set(err, PAL_ERR_FORMAT, "offset %zu: field %u "
		    "(%s) appears twice; runtimes would keep only the last",
		    f->off, f->num, what);
	*have = 1;
	*dst = pal_pb_str_of(f);
	return 0;
}
