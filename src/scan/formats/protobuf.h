/*
 * protobuf.h - a bounded, allocation-free reader of the protocol buffers
 * wire format, shared by the ONNX and TensorFlow SavedModel scanners.
 *
 * The reader walks fields one at a time over a struct pal_cur.  It never
 * allocates, never copies, and never trusts a declared length: a
 * length-delimited field must fit in the message that encloses it, and
 * nested messages are entered one level at a time under a depth cap.
 * Offsets in error details are offsets in the scanned item, so that a
 * detail like "offset 812: field 7: ..." points at the byte that failed.
 *
 * Also here, because both scanners need them: the check of paths that a
 * model names relative to its own directory (ONNX external data,
 * SavedModel assets), and quoting of names taken from a model.
 */
#ifndef PAL_SCAN_PROTOBUF_H
#define PAL_SCAN_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/cursor.h"
#include "palisade/error.h"

/* Wire types (the low three bits of a tag). */
enum {
	PAL_PB_VARINT = 0,
	PAL_PB_I64 = 1,
	PAL_PB_LEN = 2,
	PAL_PB_SGROUP = 3,
	PAL_PB_EGROUP = 4,
	PAL_PB_I32 = 5,
};

/* Bit masks of wire types, for field tables. */
#define PAL_PB_W(w) (1u << (w))

/*
 * Nesting of messages (and, in lenient mode, groups) below the item.
 * protobuf's own parsers stop at 100; the formats read here need far
 * less, and every level is a stack frame in a recursive scanner.
 */
#define PAL_PB_MAX_DEPTH 64

/* The largest field number protobuf allows (2^29 - 1). */
#define PAL_PB_MAX_FIELD 536870911u

enum pal_pb_flags {
	/*
	 * Skip groups (wire types 3 and 4) as protobuf's parsers skip unknown
	 * groups, instead of rejecting them.  For format probes, which must
	 * recognize whatever a runtime would load; the scanners themselves
	 * are strict.
	 */
	PAL_PB_LENIENT = 1 << 0,
};

/* A message being read. */
struct pal_pb_msg {
	struct pal_cur cur;	/* the message's bytes (not owned) */
	size_t base;		/* item offset of cur's first byte */
	unsigned depth;		/* 0 for the outermost message */
	unsigned flags;		/* enum pal_pb_flags */
};

/* One field as read off the wire. */
struct pal_pb_field {
	uint32_t num;		/* field number, 1 .. PAL_PB_MAX_FIELD */
	unsigned wire;		/* wire type */
	size_t off;		/* item offset of the tag */
	size_t val_off;		/* item offset of the value (LEN: payload) */
	uint64_t v;		/* VARINT, I64, I32: value; LEN: length */
	const uint8_t *p;	/* LEN: payload, v bytes; otherwise NULL */
};

/* A string or bytes value inside the item (not owned, not terminated). */
struct pal_pb_str {
	const uint8_t *p;
	size_t n;
};

/* Starts reading data[0..len) as a message at item offset base. */
void pal_pb_init(struct pal_pb_msg *m, const void *data, size_t len,
    size_t base, unsigned flags);

/*
 * Reads the next field of m into *f.  Returns 1 when a field was read, 0 at
 * the end of the message, or a negative PAL_ERR_* with a detail in err
 * naming the offset and field: truncated or over-long tag, field number 0
 * or too large, wire type 6 or 7, a group (unless lenient), a varint of
 * more than ten bytes, a length that runs past the enclosing message.
 */
int pal_pb_next(struct pal_pb_msg *m, struct pal_pb_field *f,
    struct pal_err *err);

/*
 * Opens the length-delimited field f of m as a message.  Fails with
 * PAL_ERR_FORMAT when f is not length-delimited and PAL_ERR_LIMIT past
 * PAL_PB_MAX_DEPTH.
 */
int pal_pb_enter(const struct pal_pb_msg *m, const struct pal_pb_field *f,
    struct pal_pb_msg *sub, struct pal_err *err);

/*
 * Fails with PAL_ERR_FORMAT, naming what (e.g. "NodeProto.op_type"), the
 * field and its offset, unless f's wire type is in the mask wires.
 */
int pal_pb_want(const struct pal_pb_field *f, unsigned wires,
    const char *what, struct pal_err *err);

/* The payload of a length-delimited field as a string. */
static inline struct pal_pb_str
pal_pb_str_of(const struct pal_pb_field *f)
{
	struct pal_pb_str s = { f->p, f->p != NULL ? (size_t)f->v : 0 };

	return s;
}

/* 1 if s holds exactly the bytes of the C string lit. */
int pal_pb_str_eq(struct pal_pb_str s, const char *lit);

/* Orders two strings bytewise, a prefix first (for sorting and bsearch). */
int pal_pb_str_cmp(struct pal_pb_str a, struct pal_pb_str b);

/* A known field of a message: number, allowed wire types, name. */
struct pal_pb_fspec {
	uint32_t num;
	unsigned wires;		/* PAL_PB_W() bits */
	const char *name;	/* "ModelProto.graph"; NULL ends a table */
};

/*
 * Checks f's wire type against the table entry with its number, if there
 * is one (unknown fields are the caller's to skip).
 */
int pal_pb_known(const struct pal_pb_fspec *t, const struct pal_pb_field *f,
    struct pal_err *err);

/*
 * Takes a singular string field into *dst, refusing a second occurrence
 * (which a runtime would silently resolve by keeping the last).
 */
int pal_pb_take_once(struct pal_pb_str *dst, int *have,
    const struct pal_pb_field *f, const char *what, struct pal_err *err);

/* 1 if s begins with the bytes of the C string lit. */
int pal_pb_str_prefix(struct pal_pb_str s, const char *lit);

/* 1 if a and b hold the same bytes. */
int pal_pb_str_same(struct pal_pb_str a, struct pal_pb_str b);

/*
 * Writes a printable excerpt of s into out (always terminated): bytes
 * outside printable ASCII, quotes and backslashes become \xNN, and a long
 * value is cut with "...".  For names taken from a model, which may hold
 * NULs, escapes or megabytes.  Returns out.
 */
char *pal_pb_quote(char *out, size_t outlen, struct pal_pb_str s);

/* Room for a quoted name: 96 source bytes at worst 4 bytes each, "...". */
#define PAL_PB_QUOTE_MAX 400

/*
 * Checks a path that a model names relative to its own directory.
 * Returns NULL when the path stays inside that directory on every
 * platform a runtime may run on, or a static reason: empty, NUL byte,
 * absolute (POSIX, drive letter or UNC), ".." that climbs out, ".."
 * anywhere, backslash separators, ':' (drive-relative paths, alternate
 * data streams, URL schemes).
 */
const char *pal_pb_path_problem(struct pal_pb_str path);

/*
 * For a path that passed pal_pb_path_problem: 1 if dir/sub/path or any
 * directory on the way is a symbolic link (sub may be NULL), 0 if none
 * is, also when the path does not exist or is too long to check.  A link
 * inside the model's directory can point anywhere, and runtimes follow it.
 */
int pal_pb_path_symlink(const char *dir, const char *sub,
    struct pal_pb_str path);

#endif
