/*
 * scan_int.h - what the scanner's driver and its format modules share.
 *
 * The driver (scan.c) maps files, detects formats (detect.c) and calls one
 * format function per item.  A format function parses the item's bytes
 * under the session's limits, reports what it finds with pal_scan_find*(),
 * scans anything nested with pal_scan_child(), and returns 0 when it
 * parsed the item completely or a negative PAL_ERR_* with a detail in
 * s->err when it could not.  The driver records that as an error for the
 * item: a parse that could not be completed is never reported clean.
 */
#ifndef PALISADE_SCAN_INT_H
#define PALISADE_SCAN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/error.h"
#include "palisade/scan.h"

struct pal_scan_item;

enum pal_format {
	PAL_FMT_UNKNOWN = 0,
	PAL_FMT_TEXT,		/* plain text: skipped */
	PAL_FMT_PICKLE,
	PAL_FMT_ZIP,		/* PyTorch, TorchScript, npz, .keras, plain zip */
	PAL_FMT_TAR,
	PAL_FMT_7Z,
	PAL_FMT_GZIP,
	PAL_FMT_BZIP2,
	PAL_FMT_XZ,
	PAL_FMT_LZMA,		/* legacy .lzma ("LZMA alone") */
	PAL_FMT_ZSTD,
	PAL_FMT_LZ4,
	PAL_FMT_ZLIB,		/* joblib's default compressor */
	PAL_FMT_NPY,
	PAL_FMT_SAFETENSORS,
	PAL_FMT_GGUF,
	PAL_FMT_ONNX,
	PAL_FMT_TF_SAVEDMODEL,	/* saved_model.pb */
	PAL_FMT_HDF5,
	PAL_FMT_JSON,		/* HF config, tokenizer config, Keras config */
	PAL_FMT_JINJA,		/* a template file: chat_template.jinja */
	PAL_FMT_TF_SAVEDMODEL_TEXT,	/* saved_model.pbtxt */
	PAL_FMT_COUNT
};

/* Static name of a format ("pickle", "zip", ...). */
const char *pal_format_name(enum pal_format f);

/*
 * Decides the format from the first bytes (and, for formats without a
 * magic number, a bounded trial parse of the whole buffer).  Never looks
 * at a name.
 */
enum pal_format pal_detect(const uint8_t *data, size_t len);

/*
 * 1 if data ends in a zip end-of-central-directory record that Python's
 * zipfile would open, whatever comes first: such a file is also a zip to
 * every loader that opens it with zipfile (Keras, NumPy's NpzFile, ...).
 */
int pal_detect_zip_trailer(const uint8_t *data, size_t len);

/*
 * Probes for formats that carry no magic number.  Each returns 1 when a
 * bounded trial parse of data says it is that format, 0 otherwise.
 */
int pal_pickle_probe(const uint8_t *data, size_t len);
int pal_onnx_probe(const uint8_t *data, size_t len);
int pal_savedmodel_probe(const uint8_t *data, size_t len);

/*
 * Checks a Keras model configuration (JSON text: config.json of a .keras
 * archive, or the model_config attribute of an .h5 file) for code-bearing
 * layers and module references.  Returns 0 or a negative PAL_ERR_*.
 */
int pal_keras_check_config(struct pal_scan *s, const struct pal_scan_item *it,
    const char *json, size_t len);

/*
 * Checks a Jinja template (a Hugging Face chat template, a GGUF
 * tokenizer.chat_template) for what escapes the template sandbox:
 * reaching __globals__, __builtins__, os, popen, through attributes,
 * filters or escaped names.  where names the field ("chat_template",
 * "tokenizer.chat_template.tool_use").  Returns 0 or a negative PAL_ERR_*.
 */
int pal_jinja_check(struct pal_scan *s, const struct pal_scan_item *it,
    const char *where, const char *tmpl, size_t len);

/* Hints a container passes to what it nests. */
enum pal_item_hint {
	PAL_HINT_NONE = 0,
	PAL_HINT_TORCH_ARCHIVE = 1 << 0,	/* a member of a PyTorch zip */
	PAL_HINT_NPZ = 1 << 1,			/* a member of a .npz */
	PAL_HINT_JOBLIB = 1 << 2,		/* decompressed joblib stream */
	/*
	 * A pickle of a TorchScript archive (one that holds constants.pkl):
	 * torch.load hands such archives to torch.jit.load, whose C++
	 * unpickler resolves only TorchScript's own globals (__torch__.*
	 * classes compiled from the archive's code/, torch.jit._pickle
	 * helpers, tensor rebuilders) and refuses every other name.
	 */
	PAL_HINT_TORCHSCRIPT = 1 << 3,
};

/* One thing being scanned: a file's bytes or a nested member's. */
struct pal_scan_item {
	const uint8_t *data;	/* not owned */
	size_t len;
	const char *name;	/* display name, e.g. "m.zip!a/data.pkl" */
	const char *dir;	/* directory of the top-level file, or NULL */
	unsigned depth;		/* 0 for a file on disk */
	unsigned hints;		/* enum pal_item_hint */
	size_t result;		/* index of this item's pal_scan_result */
	enum pal_format format;
};

/* A file opened by pal_scan_add, waiting for pal_scan_run. */
struct pal_scan_input {
	char *path;
	char *dir;		/* its directory, for relative-path checks */
	int fd;
	int explicit;		/* named by the user, not found by a walk */
};

struct pal_scan {
	struct pal_scan_opts opts;
	struct pal_scan_input *inputs;
	size_t ninputs, cap_inputs;
	struct pal_scan_result *results;
	size_t nresults, cap_results;
	struct pal_finding *findings;
	size_t nfindings, cap_findings;
	uint64_t expanded;	/* decompressed bytes in this top-level file */
	uint32_t files_seen;
	struct pal_err err;	/* detail of the current item's failure */
	int failed;		/* the session hit an unrecoverable error */
};

/*
 * Reports a finding on item it.  rule must be an id in the rule table
 * (an unknown id is a programming error and aborts).  loc may be NULL.
 * Returns 0, or PAL_ERR_NOMEM.
 */
int pal_scan_find(struct pal_scan *s, const struct pal_scan_item *it,
    const char *rule, const char *loc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* As pal_scan_find with the location "offset N". */
int pal_scan_find_at(struct pal_scan *s, const struct pal_scan_item *it,
    const char *rule, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Withdraws every finding made since the session had mark findings; all
 * of them must belong to item it, which had none before mark (for a
 * scanner that learns only at the end that its input was not of its
 * format after all).
 */
void pal_scan_retract(struct pal_scan *s, const struct pal_scan_item *it,
    size_t mark);

/*
 * Scans data (not owned; must outlive the call) as a member of parent
 * named member.  Detects its format, checks the depth limit, dispatches,
 * and records the outcome in the member's own result.  Returns 0 even
 * when the member had findings or errors (those are recorded); negative
 * only when the session cannot go on (PAL_ERR_NOMEM).
 */
int pal_scan_child(struct pal_scan *s, const struct pal_scan_item *parent,
    const char *member, const uint8_t *data, size_t len, unsigned hints);

/*
 * As pal_scan_child, but the format is given rather than detected
 * (for a container that knows what its member must be).
 */
int pal_scan_child_as(struct pal_scan *s, const struct pal_scan_item *parent,
    const char *member, const uint8_t *data, size_t len, unsigned hints,
    enum pal_format format);

/*
 * Charges n decompressed bytes to the current top-level file.  Fails with
 * PAL_ERR_LIMIT (detail in s->err) when limits.max_expanded is passed.
 */
int pal_scan_expand(struct pal_scan *s, uint64_t n);

/*
 * Scans bytes in memory as a top-level item of the given format (or
 * detected, for PAL_FMT_UNKNOWN).  For tests and fuzz targets.
 */
int pal_scan_memory_as(struct pal_scan *s, const char *name,
    const void *data, size_t len, enum pal_format format);

/* Internal to the driver (finding.c, scan.c). */
int pal_scan_result_new(struct pal_scan *s, const char *name, unsigned depth,
    size_t *index);
void pal_scan_results_free(struct pal_scan *s);

/* The policy the session judges pickle globals with. */
static inline const struct pal_policy *
pal_scan_policy(const struct pal_scan *s)
{
	return s->opts.policy;
}

static inline const struct pal_scan_limits *
pal_scan_limits(const struct pal_scan *s)
{
	return &s->opts.limits;
}

/*
 * Format modules.  Each scans one item of its format; see the file
 * comment for the contract.  Each module also owns a rule table, ending
 * with an entry whose id is NULL, that lists every rule it reports.
 */
typedef int (*pal_format_fn)(struct pal_scan *s,
    const struct pal_scan_item *it);

int pal_fmt_pickle(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_zip(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_archive(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_compressed(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_npy(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_safetensors(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_gguf(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_onnx(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_savedmodel(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_hdf5(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_json(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_jinja(struct pal_scan *s, const struct pal_scan_item *it);
int pal_fmt_savedmodel_text(struct pal_scan *s,
    const struct pal_scan_item *it);

extern const struct pal_rule pal_rules_scan[];
extern const struct pal_rule pal_rules_pickle[];
extern const struct pal_rule pal_rules_zip[];
extern const struct pal_rule pal_rules_archive[];
extern const struct pal_rule pal_rules_npy[];
extern const struct pal_rule pal_rules_safetensors[];
extern const struct pal_rule pal_rules_gguf[];
extern const struct pal_rule pal_rules_onnx[];
extern const struct pal_rule pal_rules_savedmodel[];
extern const struct pal_rule pal_rules_hdf5[];
extern const struct pal_rule pal_rules_json[];
extern const struct pal_rule pal_rules_keras[];

#endif
