/*
 * zip_int.h - what the zip scanner's files share.
 *
 * The scanner reads an archive the way each loader that matters reads it,
 * and keeps every member any of them would see:
 *
 *   - the Python view: zipfile's end-of-directory search, its ZIP64
 *     handling, and its "concat" shift for data prepended to the archive
 *     (numpy.load, Keras, joblib and everything else written in Python);
 *   - the PyTorch view: miniz inside caffe2's PyTorchStreamReader, which
 *     searches differently, counts entries instead of bytes, and takes every
 *     offset from the start of the file;
 *   - the walk: local file headers followed one after another from the
 *     first, the way streaming readers go through an archive.
 *
 * zip_dir.c builds the two directory views, zip_walk.c the walk,
 * zip_check.c turns their disagreements into findings, zip_member.c reads
 * and scans members, and zip.c drives them.  Nothing here trusts a size or
 * an offset the file declares until it has been checked against the bytes
 * that are actually there.
 */
#ifndef PAL_ZIP_INT_H
#define PAL_ZIP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/cursor.h"
#include "scan_int.h"

#define ZIP_SIG_LOCAL	0x04034b50u	/* "PK\3\4" */
#define ZIP_SIG_CENTRAL	0x02014b50u	/* "PK\1\2" */
#define ZIP_SIG_EOCD	0x06054b50u	/* "PK\5\6" */
#define ZIP_SIG_EOCD64	0x06064b50u	/* "PK\6\6" */
#define ZIP_SIG_LOC64	0x07064b50u	/* "PK\6\7" */
#define ZIP_SIG_DESC	0x08074b50u	/* "PK\7\10" */

#define ZIP_LOCAL_SIZE	30
#define ZIP_CENTRAL_SIZE 46
#define ZIP_EOCD_SIZE	22
#define ZIP_EOCD64_SIZE	56
#define ZIP_LOC64_SIZE	20

/* General-purpose flag bits. */
#define ZIP_F_ENCRYPTED	0x0001u
#define ZIP_F_DESCRIPTOR 0x0008u
#define ZIP_F_PATCH	0x0020u
#define ZIP_F_STRONG	0x0040u
#define ZIP_F_UTF8	0x0800u
#define ZIP_F_MASKED	0x2000u
#define ZIP_F_CRYPT	(ZIP_F_ENCRYPTED | ZIP_F_PATCH | ZIP_F_STRONG)

#define ZIP_M_STORED	0
#define ZIP_M_DEFLATED	8

#define ZIP_U32_MAX	0xffffffffu
#define ZIP_NONE	UINT64_MAX

/* The loaders whose view of an archive is rebuilt. */
enum zip_view {
	ZIP_VIEW_PY = 0,	/* Python's zipfile */
	ZIP_VIEW_TORCH,		/* PyTorch's reader (miniz) */
	ZIP_NVIEWS
};

#define ZIP_IN_PY	(1u << ZIP_VIEW_PY)
#define ZIP_IN_TORCH	(1u << ZIP_VIEW_TORCH)
#define ZIP_IN_WALK	(1u << 2)

/* A local file header as found at some offset. */
struct zip_local {
	uint16_t version, flags, method;
	uint32_t crc;
	uint64_t csize, usize;		/* ZIP64 values when present */
	const uint8_t *name;		/* into the input; not terminated */
	uint16_t name_len, extra_len;
	int zip64;			/* carries a ZIP64 extra field */
	uint64_t data_off;		/* first byte after the header */
};

/*
 * One member as one or more loaders see it: a central directory record
 * (with the local header it points to), or an entry only the walk found.
 */
struct zip_rec {
	const uint8_t *name;		/* into the input; not terminated */
	uint16_t name_len;
	uint64_t cen_off;		/* central record, ZIP_NONE if hidden */
	uint64_t lho;			/* local header, as the loader computes */
	uint16_t made_by, flags, method;
	uint32_t crc;
	uint64_t csize, usize;
	uint32_t ext_attr;
	unsigned views;			/* ZIP_IN_* */
	int has_local;			/* a local header is at lho */
	struct zip_local loc;
	uint64_t end;			/* after data and descriptor */
	int has_desc;			/* a data descriptor follows the data */
	uint32_t desc_crc;
	uint64_t desc_csize, desc_usize;
	unsigned mark;			/* ZIP_MARK_*, for member scanning */
};

#define ZIP_MARK_DUP	1u	/* same bytes as an earlier record */
#define ZIP_MARK_RENAME	2u	/* an earlier record has the same name */
#define ZIP_MARK_ALT	4u	/* another record of this name is readable */

/* The directory as one loader finds it. */
struct zip_dir {
	int ok;				/* the loader can open the archive */
	char why[192];			/* if not, why not */
	uint64_t eocd;			/* offset of the end record */
	uint16_t comment_len;
	int zip64;			/* ZIP64 end record in use */
	uint64_t cd_off, cd_size;	/* as declared */
	uint64_t count;			/* entries declared */
	uint64_t cd_start;		/* where the loader reads it */
	int64_t shift;			/* added to declared header offsets */
	uint64_t limit;			/* bytes the loader thinks it has */
	size_t nrecs;			/* records it lists */
	char prefix[256];		/* PyTorch's archive name, or "" */
	size_t prefix_len;
	int torch;			/* holds <prefix>/data.pkl or constants.pkl */
	int torchscript;		/* holds <prefix>/constants.pkl */
};

struct zip {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	struct pal_cur file;		/* the whole input */
	struct zip_dir dir[ZIP_NVIEWS];
	struct zip_dir walked;		/* the walk's, when no directory opens */
	struct zip_rec *recs;
	size_t nrecs, cap;
	size_t max_recs;		/* limits.max_members */
	int capped;			/* more entries than max_recs */
	uint64_t walk_start;		/* first local header */
	size_t nwalked;			/* local headers the walk followed */
	int err;			/* first deferred error, or 0 */
	size_t nerrs;			/* deferred errors in all */
	char errmsg[PAL_ERR_MSG_MAX];
};

/* zip.c */
void pal_zip_defer(struct zip *z, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pal_zip_limit(struct zip *z);
struct zip_rec *pal_zip_rec_new(struct zip *z);
int pal_zip_at(const struct zip *z, uint64_t off, struct pal_cur *c);
int pal_zip_u32_at(const struct zip *z, uint64_t off, uint32_t *v);
const uint8_t *pal_zip_find(const uint8_t *hay, size_t n, const void *pat,
    size_t m);

/* zip_dir.c */
int pal_zip_read_dirs(struct zip *z);
int pal_zip_read_local(const struct zip *z, uint64_t off,
    struct zip_local *loc);
void pal_zip_resolve(struct zip *z, struct zip_rec *r);
void pal_zip_find_prefix(const struct zip *z, unsigned bit,
    struct zip_dir *d);

/* zip_walk.c */
int pal_zip_walk(struct zip *z);

/* zip_check.c */
int pal_zip_check(struct zip *z);
int pal_zip_name_cmp(const struct zip_rec *a, const struct zip_rec *b);

/* zip_member.c */
int pal_zip_scan_members(struct zip *z);

#endif
