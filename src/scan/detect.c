/*
 * detect.c - decide a buffer's format from its content, never its name.
 *
 * Magic numbers first, then formats whose header is self-describing
 * (safetensors, JSON), then bounded trial parses for formats that carry no
 * magic at all (protocol 0/1 pickles, ONNX and SavedModel protobufs), and
 * last the zip end-of-central-directory record, which Python's zipfile
 * finds even behind prepended data.
 */
#include <string.h>

#include "palisade/text.h"
#include "scan_int.h"

static const char *const format_names[PAL_FMT_COUNT] = {
	[PAL_FMT_UNKNOWN] = "unknown",
	[PAL_FMT_TEXT] = "text",
	[PAL_FMT_PICKLE] = "pickle",
	[PAL_FMT_ZIP] = "zip",
	[PAL_FMT_TAR] = "tar",
	[PAL_FMT_7Z] = "7z",
	[PAL_FMT_GZIP] = "gzip",
	[PAL_FMT_BZIP2] = "bzip2",
	[PAL_FMT_XZ] = "xz",
	[PAL_FMT_LZMA] = "lzma",
	[PAL_FMT_ZSTD] = "zstd",
	[PAL_FMT_LZ4] = "lz4",
	[PAL_FMT_ZLIB] = "zlib",
	[PAL_FMT_NPY] = "npy",
	[PAL_FMT_SAFETENSORS] = "safetensors",
	[PAL_FMT_GGUF] = "gguf",
	[PAL_FMT_ONNX] = "onnx",
	[PAL_FMT_TF_SAVEDMODEL] = "tf-savedmodel",
	[PAL_FMT_HDF5] = "hdf5",
	[PAL_FMT_JSON] = "json",
	[PAL_FMT_JINJA] = "jinja",
	[PAL_FMT_TF_SAVEDMODEL_TEXT] = "tf-savedmodel-text",
};

const char *
pal_format_name(enum pal_format f)
{
	if ((unsigned)f >= PAL_FMT_COUNT || format_names[f] == NULL)
		return "unknown";
	return format_names[f];
}

struct magic {
	size_t off;
	const char *bytes;
	size_t len;
	enum pal_format format;
};

#define M(off, s, f) { (off), (s), sizeof(s) - 1, (f) }

static const struct magic magics[] = {
	M(0, "7z\xbc\xaf\x27\x1c", PAL_FMT_7Z),
	M(0, "\x1f\x8b", PAL_FMT_GZIP),
	M(0, "BZh", PAL_FMT_BZIP2),
	M(0, "\xfd" "7zXZ\x00", PAL_FMT_XZ),
	M(0, "\x28\xb5\x2f\xfd", PAL_FMT_ZSTD),
	M(0, "\x04\x22\x4d\x18", PAL_FMT_LZ4),
	M(0, "\x93NUMPY", PAL_FMT_NPY),
	M(0, "GGUF", PAL_FMT_GGUF),
	M(0, "\x89HDF\r\n\x1a\n", PAL_FMT_HDF5),
	M(0, "PK\x03\x04", PAL_FMT_ZIP),
	M(0, "PK\x05\x06", PAL_FMT_ZIP),
	M(257, "ustar", PAL_FMT_TAR),
};

static int
has_magic(const uint8_t *d, size_t len, const struct magic *m)
{
	return len >= m->off + m->len && memcmp(d + m->off, m->bytes, m->len) == 0;
}

/* An old-style tar header without "ustar": its checksum must hold. */
static int
is_v7_tar(const uint8_t *d, size_t len)
{
	unsigned long want = 0, sum = 0;
	size_t i;
	int digits = 0;

	if (len < 512 || d[0] == '\0')
		return 0;
	for (i = 148; i < 156; i++) {
		if (d[i] >= '0' && d[i] <= '7') {
			want = want * 8 + (unsigned long)(d[i] - '0');
			digits++;
		} else if (d[i] != ' ' && d[i] != '\0') {
			return 0;
		}
	}
	if (digits == 0)
		return 0;
	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : d[i];
	return sum == want;
}

/* safetensors: u64le header length, then a JSON object that fits. */
static int
is_safetensors(const uint8_t *d, size_t len)
{
	uint64_t n = 0;
	int i;

	if (len < 10)
		return 0;
	for (i = 7; i >= 0; i--)
		n = (n << 8) | d[i];
	return n >= 2 && n <= len - 8 && d[8] == '{';
}

/*
 * zlib stream (RFC 1950): deflate with a 32 KiB window, which is what
 * zlib.compress (and so joblib) writes, and a valid header check.  Smaller
 * windows are not accepted: their first bytes are pickle opcodes ('(' 'X'
 * 'h') and protobuf tags, and "(S" passes the check.
 */
static int
is_zlib(const uint8_t *d, size_t len)
{
	return len >= 2 && d[0] == 0x78 && ((d[0] << 8) | d[1]) % 31 == 0;
}

/* "LZMA alone": properties byte, 32-bit dictionary size, 64-bit size. */
static int
is_lzma_alone(const uint8_t *d, size_t len)
{
	uint32_t dict;

	/* 0x5d is lc=3 lp=0 pb=2, the only properties liblzma's presets use. */
	if (len < 13 || d[0] != 0x5d)
		return 0;
	dict = (uint32_t)d[1] | (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16 |
	    (uint32_t)d[4] << 24;
	/* What liblzma writes: 2^n or 2^n + 2^(n-1), at least 4 KiB. */
	if (dict < 4096)
		return 0;
	return (dict & (dict - 1)) == 0 || ((dict & (dict - 1)) &
	    ((dict & (dict - 1)) - 1)) == 0;
}

static int
is_json(const uint8_t *d, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' ||
	    d[i] == '\r'))
		i++;
	if (i >= len || d[i] != '{')
		return 0;
	/* An object opens with a key or closes: "{%" and "{{" are Jinja. */
	for (i++; i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' ||
	    d[i] == '\r'); i++)
		;
	return i < len && (d[i] == '"' || d[i] == '}');
}

/* The superblock may follow a user block of 512, 1024, 2048, ... bytes. */
static int
is_hdf5_offset(const uint8_t *d, size_t len)
{
	size_t off;

	for (off = 512; off < len && off <= ((size_t)1 << 40); off *= 2)
		if (len - off >= 8 && memcmp(d + off, "\x89HDF\r\n\x1a\n", 8) == 0)
			return 1;
	return 0;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/*
 * An end-of-central-directory record that Python's zipfile would accept:
 * within the last 64 KiB + 22 bytes, and pointing at a central directory
 * that starts where zipfile looks for it (just before the record, which
 * allows for prepended data) or where its offset field says, or a ZIP64
 * locator just before it.  The central-directory check keeps random binary
 * data that happens to contain "PK\5\6" from being taken for a zip.
 */
int
pal_detect_zip_trailer(const uint8_t *d, size_t len)
{
	size_t lo, i;

	if (len < 22)
		return 0;
	lo = len > 65535 + 22 ? len - 65535 - 22 : 0;
	for (i = len - 22 + 1; i-- > lo;) {
		uint32_t cd_size, cd_off;
		uint16_t entries;

		if (memcmp(d + i, "PK\x05\x06", 4) != 0)
			continue;
		entries = (uint16_t)(d[i + 10] | d[i + 11] << 8);
		cd_size = le32(d + i + 12);
		cd_off = le32(d + i + 16);
		if (i >= 20 && memcmp(d + i - 20, "PK\x06\x07", 4) == 0)
			return 1;
		if (cd_size == 0 && entries == 0)
			return 1;
		if (cd_size <= i && i - cd_size + 4 <= len &&
		    memcmp(d + i - cd_size, "PK\x01\x02", 4) == 0)
			return 1;
		if ((uint64_t)cd_off + 4 <= len &&
		    memcmp(d + cd_off, "PK\x01\x02", 4) == 0)
			return 1;
	}
	return 0;
}

/*
 * Text: valid UTF-8 with no NUL and no control bytes but tab, CR, LF, FF
 * in the first 8 KiB (a multi-byte sequence cut at that boundary is
 * allowed).  Only decided after the pickle probe, since a protocol 0
 * pickle is printable too.
 */
static int
is_text(const uint8_t *d, size_t len)
{
	size_t n = len < 8192 ? len : 8192, i = 0, k;

	while (i < n) {
		uint8_t c = d[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' &&
		    c != '\f') || c == 0x7f)
			return 0;
		if ((k = pal_utf8_seq(d + i, len - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/*
 * A SavedModel in protobuf text format: after blank lines and '#'
 * comments (protobuf's blanks include \v and \f), the first field of a
 * SavedModel message, as a whole name: whatever follows it ('{', '<',
 * ':', a blank, a newline, a comment) is for the parser to judge.
 */
static int
is_savedmodel_text(const uint8_t *d, size_t len)
{
	static const char *const first[] = { "saved_model_schema_version",
		"meta_graphs" };
	size_t i = 0, k, n;

	for (;;) {
		while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' ||
		    d[i] == '\r' || d[i] == '\v' || d[i] == '\f'))
			i++;
		if (i >= len || d[i] != '#')
			break;
		while (i < len && d[i] != '\n')
			i++;
	}
	for (k = 0; k < sizeof(first) / sizeof(first[0]); k++) {
		n = strlen(first[k]);
		if (len - i > n && memcmp(d + i, first[k], n) == 0 &&
		    d[i + n] != '_' && !(d[i + n] >= '0' && d[i + n] <= '9') &&
		    !((d[i + n] | 0x20) >= 'a' && (d[i + n] | 0x20) <= 'z'))
			return 1;
	}
	return 0;
}

/*
 * Text that holds a Jinja statement or expression delimiter: a chat
 * template file.  Templates are small; a large text with braces is a
 * document, not a template.
 */
static int
is_jinja(const uint8_t *d, size_t len)
{
	if (len > ((size_t)1 << 20))
		return 0;
	return memmem(d, len, "{%", 2) != NULL || memmem(d, len, "{{", 2) != NULL;
}

enum pal_format
pal_detect(const uint8_t *data, size_t len)
{
	size_t i;

	if (len == 0)
		return PAL_FMT_UNKNOWN;
	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (has_magic(data, len, &magics[i]))
			return magics[i].format;
	if (len >= 2 && data[0] == 0x80 && data[1] <= 5)
		return PAL_FMT_PICKLE;
	if (is_safetensors(data, len))
		return PAL_FMT_SAFETENSORS;
	if (is_v7_tar(data, len))
		return PAL_FMT_TAR;
	if (is_zlib(data, len))
		return PAL_FMT_ZLIB;
	if (is_json(data, len))
		return PAL_FMT_JSON;
	if (pal_pickle_probe(data, len))
		return PAL_FMT_PICKLE;
	if (is_lzma_alone(data, len))
		return PAL_FMT_LZMA;
	if (pal_onnx_probe(data, len))
		return PAL_FMT_ONNX;
	if (pal_savedmodel_probe(data, len))
		return PAL_FMT_TF_SAVEDMODEL;
	if (is_hdf5_offset(data, len))
		return PAL_FMT_HDF5;
	if (pal_detect_zip_trailer(data, len))
		return PAL_FMT_ZIP;
	/*
	 * Before the text test: TensorFlow's text parser takes raw bytes
	 * (invalid UTF-8, control bytes) inside strings, which make a file
	 * fail is_text.
	 */
	if (is_savedmodel_text(data, len))
		return PAL_FMT_TF_SAVEDMODEL_TEXT;
	if (is_text(data, len)) {
		if (is_jinja(data, len))
			return PAL_FMT_JINJA;
		return PAL_FMT_TEXT;
	}
	return PAL_FMT_UNKNOWN;
}
