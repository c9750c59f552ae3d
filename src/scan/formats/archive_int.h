/*
 * archive_int.h - what the archive scanners (archive.c: tar and 7z;
 * archive_stream.c: compression wrappers; archive_torch.c: the legacy
 * PyTorch tar layout) share: the expansion meter every decompressed byte
 * is charged to, and extraction of one libarchive entry into a bounded
 * buffer.
 */
#ifndef PAL_ARCHIVE_INT_H
#define PAL_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <archive.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "scan_int.h"

/*
 * Below this many output bytes the ratio is not judged: a 200-byte gzip
 * of a 400 KiB run of zeros is not a bomb, and small inputs make the ratio
 * meaningless.  Above it, output / input beyond limits.max_ratio is.
 */
#define PAL_ARC_RATIO_FLOOR ((uint64_t)1 << 20)

/* Size of the scratch buffer libarchive and zlib decompress into. */
#define PAL_ARC_CHUNK ((size_t)64 << 10)

/* Bytes produced from one compressed input (a stream or an archive). */
struct pal_arc_meter {
	uint64_t in_len;	/* compressed bytes the output comes from */
	uint64_t out;		/* bytes produced so far */
};

/*
 * Charges n more output bytes: to the session's expansion budget and to
 * the meter's ratio.  When either is passed, reports the finding
 * ("scan.limit" or "archive.bomb") on it, sets s->err and returns
 * PAL_ERR_LIMIT.  what names the stream or member in the finding.
 */
int pal_arc_charge(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_arc_meter *m, size_t n, const char *what);

/*
 * Checks a size an entry declares before anything is extracted, with the
 * same limits as pal_arc_charge.  Returns 0 or PAL_ERR_LIMIT (finding
 * reported, s->err set).
 */
int pal_arc_precheck(struct pal_scan *s, const struct pal_scan_item *it,
    const struct pal_arc_meter *m, uint64_t declared, const char *what);

/*
 * Reads the data of libarchive's current entry into out (which must be
 * empty), charging every byte with pal_arc_charge.  chunk is scratch
 * space of PAL_ARC_CHUNK bytes.  Returns 0; PAL_ERR_LIMIT after a
 * finding; PAL_ERR_FORMAT with libarchive's message in s->err when the
 * data cannot be decoded (out then holds what was decoded before the
 * failure); or PAL_ERR_NOMEM.
 */
int pal_arc_read_entry(struct pal_scan *s, const struct pal_scan_item *it,
    struct archive *a, struct pal_arc_meter *m, struct pal_buf *out,
    uint8_t *chunk, const char *what);

/*
 * Decompresses a compression wrapper (it->format is one of gzip, bzip2,
 * xz, lzma, zstd, lz4, zlib) into out, charging every byte.  *end is set
 * to the offset just past the last complete stream.  Returns 0, or a
 * negative PAL_ERR_* with s->err set (out then holds what was decoded
 * before the failure; a limit has been reported as a finding on it).
 * out is (re)initialised here; the caller frees it.
 */
int pal_arc_decode(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_buf *out, size_t *end);

/* 1 if any byte of d[0..n) is not zero. */
int pal_arc_nonzero(const uint8_t *d, size_t n);

/*
 * The legacy PyTorch tar layout (torch.save before the zip format):
 * "storages" and "tensors" are sequences of pickles with raw data between
 * them.  Each function scans every pickle it can delimit as a child of
 * parent named "<member>@<offset>".  It returns 0 when the whole member
 * was delimited, or a negative PAL_ERR_* with s->err naming where
 * delimiting stopped (what follows was not scanned).
 */
int pal_arc_torch_storages(struct pal_scan *s,
    const struct pal_scan_item *parent, const uint8_t *d, size_t n);
int pal_arc_torch_tensors(struct pal_scan *s,
    const struct pal_scan_item *parent, const uint8_t *d, size_t n);

/*
 * Finds the end of the pickle at the start of d[0..n): *len is set to the
 * bytes up to and including its STOP opcode.  Fails with PAL_ERR_FORMAT or
 * PAL_ERR_TRUNCATED (detail in err) for an unknown opcode or a pickle
 * that does not end.  For the legacy PyTorch layout.
 */
struct pal_arc_pickle_info {
	size_t globals;		/* GLOBAL, INST, STACK_GLOBAL, EXT* */
	size_t calls;		/* REDUCE, BUILD, OBJ, NEWOBJ*, INST, PERSID */
	size_t ints;		/* opcodes that push a small int */
	size_t others;		/* any other opcode with a stack effect */
	int64_t last_int;	/* value of the last small int pushed */
	const uint8_t *mod;	/* module and name of the last global, */
	size_t mod_len;		/* when it could be read statically */
	const uint8_t *name;
	size_t name_len;
};

int pal_arc_pickle_span(const uint8_t *d, size_t n, size_t *len,
    struct pal_arc_pickle_info *info, struct pal_err *err);

#endif
