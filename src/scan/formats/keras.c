/*
 * keras.c - checks a Keras model configuration for code and for module
 * references that the Keras loader would act on.
 *
 * A Keras model is rebuilt from a JSON description: Keras 2 keeps it in
 * the model_config attribute of an .h5 file, Keras 3 in config.json of a
 * .keras archive.  Most of it is inert (layer classes and numbers), but
 * the loader runs code in a few places, and those are what we look for:
 *
 *  - Lambda layers.  Keras 2 stores an anonymous function as the base64
 *    of marshal.dumps(func.__code__) (generic_utils.func_dump, with
 *    "function_type": "lambda") and rebuilds it with marshal.loads, so
 *    the bytecode runs when the layer is called.  A named function is
 *    stored by name and module ("function_type": "function").  Keras 3
 *    writes {"class_name": "__lambda__", "config": {"code": ...}} (and
 *    {"value": [code, defaults, closure]} for lambdas elsewhere, such as
 *    activations); safe_mode refuses them, but not every loader uses it.
 *  - Module references.  A Keras 3 object names the module its class or
 *    function lives in, and older Keras 3 releases import any module named
 *    there; {"module": "os", "class_name": "function", "config": "system"}
 *    hands os.system to the layer.  Even inside the keras package a few
 *    functions (keras.utils.get_file, keras.config.
 *    enable_unsafe_deserialization) have been used to escape safe_mode.
 *  - TFOpLambda / TensorFlowOpLayer.  tf.keras records calls of TensorFlow
 *    functions on symbolic tensors by name ("io.write_file") and looks the
 *    name up in the tf namespace at load time; the file and py_func
 *    operations give an attacker file writes or Python calls.
 *  - Classes that are not Keras's.  A Keras 2 config names classes only;
 *    an unknown one (or a registered "package>Name") loads only with code
 *    the loading program supplies, which is worth knowing but not code in
 *    the file itself.
 *
 * Everything is read through Jansson (duplicate keys rejected, nesting
 * bounded); the marshalled bytecode is decoded through the bounded cursor
 * far enough to name what it uses, and never executed.
 */
#include <string.h>

#include <jansson.h>

#include "palisade/buf.h"
#include "palisade/cursor.h"
#include "palisade/text.h"
#include "keras.h"

/* Every rule the Keras checker reports, whichever format called it. */
const struct pal_rule pal_rules_keras[] = {
	{ "keras.lambda", PAL_SEV_CRITICAL,
	  "A Keras Lambda layer or __lambda__ object carries Python code "
	  "(marshalled bytecode or a function reference) that runs when "
	  "the model is loaded or called." },
	{ "keras.dangerous-reference", PAL_SEV_CRITICAL,
	  "A Keras configuration names a function or module that runs "
	  "commands, evaluates code, touches files or the network "
	  "(os, subprocess, builtins.eval, keras.utils.get_file, ...)." },
	{ "keras.tf-op", PAL_SEV_CRITICAL,
	  "A TFOpLambda or TensorFlowOpLayer calls a TensorFlow operation "
	  "that reads or writes files or runs Python (tf.io.write_file, "
	  "tf.py_function, raw WriteFile, ...)." },
	{ "keras.custom-module", PAL_SEV_HIGH,
	  "A Keras object names a Python module outside Keras, which "
	  "the loader imports to build the model." },
	{ "keras.unknown-marker", PAL_SEV_HIGH,
	  "A Keras object uses a double-underscore serialization marker "
	  "that Keras does not define." },
	{ "keras.unknown-class", PAL_SEV_MEDIUM,
	  "A Keras object names a class that is not part of Keras; it "
	  "loads only with code the loading program registers." },
	{ NULL, 0, NULL },
};

/* Deeper configurations are refused rather than walked. */
#define KERAS_MAX_DEPTH 200
/* Base64 bytecode larger than this is reported without being decoded. */
#define KERAS_CODE_MAX ((size_t)16 << 20)
/* A finding's reason is cut at this length. */
#define KERAS_REASON_MAX 2048
#define KERAS_PATH_MAX 256
/* Strings quoted from the file are cut at this length. */
#define KERAS_QUOTE_MAX 80

/* Marshal decoding bounds: nesting and objects per code object. */
#define MARSHAL_MAX_DEPTH 64
#define MARSHAL_MAX_OBJECTS (1u << 20)
#define MARSHAL_MAX_LISTED 16

/* What a walk is inside of, so that one thing is reported once. */
enum kmode {
	KM_NONE = 0,
	KM_LAMBDA_CONFIG,	/* the config of a Lambda layer */
	KM_LAMBDA_FN,		/* its function, output_shape or mask */
	KM_TFOP_CONFIG,		/* the config of a TFOpLambda */
};

struct kwalk {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	const char *where;
	char path[KERAS_PATH_MAX];
	size_t plen;
};

/*
 * Classes Keras 2 and 3 define that appear in configurations: models,
 * layers, initializers, regularizers, constraints, optimizers, losses,
 * metrics, schedules and dtype policies.
 */
static const char *const keras_classes[] = {
	"Sequential", "Functional", "Model", "InputLayer", "Input",
	"Dense", "EinsumDense", "Activation", "Dropout", "Flatten", "Reshape",
	"Permute", "RepeatVector", "Masking", "Embedding", "Identity",
	"Wrapper", "Layer", "TFOpLambda", "SlicingOpLambda",
	"TensorFlowOpLayer", "Lambda",
	"Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
	"Conv3DTranspose", "SeparableConv1D", "SeparableConv2D",
	"DepthwiseConv1D", "DepthwiseConv2D", "Convolution1D",
	"Convolution2D", "Convolution3D", "Convolution1DTranspose",
	"Convolution2DTranspose", "Convolution3DTranspose",
	"SeparableConvolution1D", "SeparableConvolution2D", "Cropping1D",
	"Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D",
	"UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
	"ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "LocallyConnected1D",
	"LocallyConnected2D",
	"MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
	"AveragePooling2D", "AveragePooling3D", "MaxPool1D", "MaxPool2D",
	"MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
	"GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
	"GlobalAveragePooling1D", "GlobalAveragePooling2D",
	"GlobalAveragePooling3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
	"GlobalMaxPool3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
	"GlobalAvgPool3D",
	"BatchNormalization", "LayerNormalization", "GroupNormalization",
	"UnitNormalization", "SpectralNormalization", "RMSNormalization",
	"SyncBatchNormalization", "Normalization",
	"RNN", "SimpleRNN", "SimpleRNNCell", "LSTM", "LSTMCell", "GRU",
	"GRUCell", "StackedRNNCells", "Bidirectional", "TimeDistributed",
	"CuDNNLSTM", "CuDNNGRU", "PeepholeLSTMCell",
	"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
	"Concatenate", "Dot",
	"Attention", "AdditiveAttention", "MultiHeadAttention",
	"GroupedQueryAttention",
	"ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU",
	"ActivityRegularization", "SpatialDropout1D", "SpatialDropout2D",
	"SpatialDropout3D", "GaussianDropout", "GaussianNoise",
	"AlphaDropout",
	"Rescaling", "Resizing", "CenterCrop", "RandomCrop", "RandomFlip",
	"RandomRotation", "RandomTranslation", "RandomZoom",
	"RandomContrast", "RandomBrightness", "RandomHeight", "RandomWidth",
	"TextVectorization", "StringLookup", "IntegerLookup",
	"CategoryEncoding", "Hashing", "Discretization", "HashedCrossing",
	"Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
	"TruncatedNormal", "VarianceScaling", "Orthogonal", "GlorotNormal",
	"GlorotUniform", "HeNormal", "HeUniform", "LecunNormal",
	"LecunUniform", "IdentityInitializer", "OrthogonalInitializer",
	"L1", "L2", "L1L2", "OrthogonalRegularizer",
	"MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "RadialConstraint",
	"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax",
	"Nadam", "Ftrl", "Lion", "Adafactor", "LossScaleOptimizer",
	"MeanSquaredError", "MeanAbsoluteError",
	"MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
	"BinaryCrossentropy", "BinaryFocalCrossentropy",
	"CategoricalCrossentropy", "CategoricalFocalCrossentropy",
	"SparseCategoricalCrossentropy", "Hinge", "SquaredHinge",
	"CategoricalHinge", "Huber", "LogCosh", "Poisson", "KLDivergence",
	"CosineSimilarity", "Dice", "Tversky", "CTC", "LossFunctionWrapper",
	"Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
	"SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
	"SparseTopKCategoricalAccuracy", "AUC", "Precision", "Recall",
	"TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives",
	"PrecisionAtRecall", "RecallAtPrecision",
	"SensitivityAtSpecificity", "SpecificityAtSensitivity", "Mean",
	"Sum", "MeanMetricWrapper", "MeanIoU", "IoU", "BinaryIoU",
	"OneHotIoU", "OneHotMeanIoU", "RootMeanSquaredError",
	"MeanRelativeError", "MeanTensor", "LogCoshError", "R2Score",
	"F1Score", "FBetaScore",
	"ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
	"InverseTimeDecay", "CosineDecay", "CosineDecayRestarts",
	"Policy", "DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy",
	"QuantizedFloat8DTypePolicy", "DTypePolicyMap", "TensorShape",
	"function",
};

/* Double-underscore markers Keras's serialization defines. */
static const char *const keras_markers[] = {
	"__tuple__", "__tensor__", "__numpy__", "__bytes__", "__typespec__",
	"__keras_tensor__", "__ellipsis__", "__slice__", "__lambda__",
};

/* Packages whose modules a Keras config may name. */
static const char *const keras_packages[] = {
	"keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv", "keras_rs",
};

/*
 * Modules (first dotted component) whose functions run commands,
 * evaluate code, load code, or reach files and the network.
 */
static const char *const dangerous_modules[] = {
	"os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys",
	"builtins", "__builtin__", "__builtins__", "shutil", "socket",
	"importlib", "imp", "runpy", "ctypes", "cffi", "pickle", "_pickle",
	"cPickle", "dill", "cloudpickle", "joblib", "marshal", "code",
	"codeop", "pty", "commands", "popen2", "webbrowser",
	"multiprocessing", "urllib", "urllib2", "urllib3", "requests", "http",
	"httplib", "ftplib", "telnetlib", "smtplib", "pathlib", "io", "_io",
	"tempfile", "glob", "signal", "pdb", "bdb", "timeit", "trace",
	"cProfile", "profile", "inspect", "gc", "site", "sysconfig",
	"distutils", "setuptools", "pip", "zipimport", "operator",
	"functools", "types", "asyncio", "threading", "_thread", "platform",
	"shelve", "sqlite3", "tarfile", "zipfile", "fileinput", "linecache",
};

/* builtins a config may reasonably name (plain value functions). */
static const char *const safe_builtins[] = {
	"abs", "len", "max", "min", "round", "sum", "float", "int", "bool",
	"str", "tuple", "list", "dict", "slice", "range", "pow", "divmod",
};

/* Keras functions that load, download or unlock deserialization. */
static const char *const dangerous_keras_fns[] = {
	"get_file", "enable_unsafe_deserialization", "load_model",
	"load_weights", "save_model", "save_weights", "model_from_json",
	"model_from_yaml", "model_from_config", "deserialize_keras_object",
	"register_keras_serializable", "get_custom_objects",
	"set_backend",
};

/* Namespaces of tf.* whose functions touch files, Python or processes. */
static const char *const dangerous_tf_parts[] = {
	"io", "gfile", "summary", "saved_model", "train", "data",
	"distribute", "config", "sysconfig", "tpu", "lookup", "profiler",
	"autograph",
};

/* tf.* function names that do the same wherever they live. */
static const char *const dangerous_tf_fns[] = {
	"py_function", "numpy_function", "py_func", "eager_py_func",
	"load_op_library", "load_library", "load_file_system_library",
	"load_pluggable_device_library", "print", "Print", "write_file",
	"read_file", "get_file", "matching_files", "save", "restore",
	"enable_dump_debug_info",
};

/* TensorFlow raw operations that touch files or run Python. */
static const char *const dangerous_raw_ops[] = {
	"WriteFile", "ReadFile", "MatchingFiles", "PyFunc", "PyFuncStateless",
	"EagerPyFunc", "Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2",
	"RestoreSlice", "MergeV2Checkpoints", "PrintV2", "Print",
	"ImmutableConst", "WholeFileReader", "WholeFileReaderV2",
	"TextLineReader", "TextLineReaderV2", "FixedLengthRecordReader",
	"FixedLengthRecordReaderV2", "TFRecordReader", "TFRecordReaderV2",
	"LMDBReader", "InitializeTableFromTextFile",
	"InitializeTableFromTextFileV2", "DatasetToTFRecord", "SaveDataset",
	"SaveDatasetV2", "LoadDataset", "WriteSummary", "WriteScalarSummary",
	"CreateSummaryFileWriter", "DebugIdentity", "DebugIdentityV2",
	"DebugIdentityV3", "DebugNumericSummary", "DecodeProtoV2",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
in_list(const char *const *list, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return 1;
	return 0;
}

#define IN(list, s) in_list(list, NELEM(list), (s), strlen(s))

/* Length of the first dotted component of a module name. */
static size_t
first_part(const char *mod)
{
	const char *dot = strchr(mod, '.');

	return dot != NULL ? (size_t)(dot - mod) : strlen(mod);
}

static int
module_dangerous(const char *mod)
{
	return in_list(dangerous_modules, NELEM(dangerous_modules), mod,
	    first_part(mod));
}

static int
module_standard(const char *mod)
{
	if (in_list(keras_packages, NELEM(keras_packages), mod,
	    first_part(mod)))
		return 1;
	return strcmp(mod, "tensorflow.keras") == 0 ||
	    strncmp(mod, "tensorflow.keras.", 17) == 0 ||
	    strcmp(mod, "tensorflow.python.keras") == 0 ||
	    strncmp(mod, "tensorflow.python.keras.", 24) == 0;
}

/* --- text helpers ------------------------------------------------------ */

/*
 * Appends s as a quoted, escaped, length-capped excerpt: strings from the
 * file may be long or hold terminal controls.
 */
static int
put_quoted(struct pal_buf *b, const char *s, size_t n)
{
	int r;

	if ((r = pal_buf_putc(b, '\'')) != 0)
		return r;
	if ((r = pal_text_escape(b, s, n > KERAS_QUOTE_MAX ?
	    KERAS_QUOTE_MAX : n)) != 0)
		return r;
	if (n > KERAS_QUOTE_MAX && (r = pal_buf_puts(b, "...")) != 0)
		return r;
	return pal_buf_putc(b, '\'');
}

static int
put_quoted_str(struct pal_buf *b, const char *s)
{
	return put_quoted(b, s, strlen(s));
}

/* A reason buffer full of text is still worth reporting: cut, not fail. */
static const char *
reason_text(struct pal_buf *b)
{
	return b->p != NULL ? (const char *)b->p : "";
}

/* --- locations --------------------------------------------------------- */

/* Appends a formatted path step; one that does not fit becomes "...". */
static size_t
path_add(struct kwalk *w, const char *step, int n)
{
	size_t old = w->plen, room = sizeof(w->path) - w->plen;

	if (n < 0 || (size_t)n >= room) {
		/* Keep what fits and mark the cut, so that the location stays
		 * recognizable though incomplete. */
		if (room > 4) {
			memcpy(w->path + old, "...", 4);
			w->plen = old + 3;
		}
		return old;
	}
	memcpy(w->path + old, step, (size_t)n + 1);
	w->plen += (size_t)n;
	return old;
}

static size_t
path_key(struct kwalk *w, const char *key)
{
	char step[KERAS_PATH_MAX];

	return path_add(w, step, snprintf(step, sizeof(step), "%s%s",
	    w->plen > 0 ? "." : "", key));
}

static size_t
path_index(struct kwalk *w, size_t i)
{
	char step[32];

	return path_add(w, step, snprintf(step, sizeof(step), "[%zu]", i));
}

static void
path_pop(struct kwalk *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

static int
kfind(struct kwalk *w, const char *rule, const char *reason)
{
	char loc[KERAS_PATH_MAX + 128];
	const char *p = w->plen > 0 ? w->path : "(top level)";
	int n;

	if (w->where != NULL)
		n = snprintf(loc, sizeof(loc), "%s, %s", w->where, p);
	else
		n = snprintf(loc, sizeof(loc), "%s", p);
	if (n < 0)
		loc[0] = '\0';
	/* A location cut by snprintf is still a usable location. */
	return pal_scan_find(w->s, w->it, rule, loc, "%s", reason);
}

/* --- bytecode ---------------------------------------------------------- */

static int
b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Decodes base64 as Python's codecs "base64" writes it (76-column lines),
 * into out.  Padding must end the text.
 */
static int
b64_decode(const char *s, size_t n, struct pal_buf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	int pad = 0, r, v;
	size_t i;

	for (i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t')
			continue;
		if (ch == '=') {
			pad = 1;
			continue;
		}
		if (pad || (v = b64_value(ch)) < 0)
			return PAL_ERR_FORMAT;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if ((r = pal_buf_putc(out, (char)((acc >> bits) & 0xff)))
			    != 0)
				return r;
		}
	}
	return 0;
}

enum mrole { MR_NONE = 0, MR_NAMES, MR_CONSTS };

struct mlayout {
	const char *name;
	unsigned pre_ints;	/* 32-bit fields before co_code */
	unsigned post_objs;	/* objects after co_firstlineno */
};

/*
 * The code-object layouts marshal has written: the fields differ by
 * CPython version, and the data does not say which it is, so each is
 * tried and the one that parses the whole buffer wins.
 */
static const struct mlayout mlayouts[] = {
	{ "CPython 3.11 or later", 5, 2 },
	{ "CPython 3.8 to 3.10", 6, 1 },
	{ "CPython 3.0 to 3.7", 5, 1 },
	{ "CPython 2", 4, 1 },
};

struct mstate {
	struct pal_cur c;
	const struct mlayout *lay;
	unsigned depth;
	uint32_t nrefs;
	uint32_t nobjs;
	struct pal_buf *names, *consts;
	unsigned nnames, nconsts;
};

static int m_obj(struct mstate *m, enum mrole role);

static int
m_note(struct mstate *m, enum mrole role, const uint8_t *p, size_t n)
{
	struct pal_buf *b = role == MR_NAMES ? m->names : m->consts;
	unsigned *count = role == MR_NAMES ? &m->nnames : &m->nconsts;
	int r;

	if (role == MR_NONE)
		return 0;
	if (++*count > MARSHAL_MAX_LISTED) {
		if (*count == MARSHAL_MAX_LISTED + 1)
			return pal_buf_puts(b, ", ...");
		return 0;
	}
	if (b->len > 0 && (r = pal_buf_puts(b, ", ")) != 0)
		return r;
	if (role == MR_NAMES)
		return pal_text_escape(b, (const char *)p,
		    n > KERAS_QUOTE_MAX ? KERAS_QUOTE_MAX : n);
	return put_quoted(b, (const char *)p, n);
}

/* A string whose length is a 32-bit or 8-bit prefix. */
static int
m_string(struct mstate *m, enum mrole role, int short_len)
{
	const uint8_t *p;
	uint32_t n;
	uint8_t n8;
	int r;

	if (short_len) {
		if ((r = pal_cur_u8(&m->c, &n8)) != 0)
			return r;
		n = n8;
	} else if ((r = pal_cur_u32le(&m->c, &n)) != 0)
		return r;
	if ((r = pal_cur_bytes(&m->c, n, &p)) != 0)
		return r;
	return m_note(m, role, p, n);
}

static int
m_seq(struct mstate *m, enum mrole role, uint32_t n)
{
	uint32_t i;
	int r;

	/* Every element takes at least one byte. */
	if (n > pal_cur_left(&m->c))
		return PAL_ERR_TRUNCATED;
	for (i = 0; i < n; i++)
		if ((r = m_obj(m, role)) != 0)
			return r;
	return 0;
}

static int
m_code(struct mstate *m)
{
	unsigned i;
	int r;

	if ((r = pal_cur_skip(&m->c, 4u * m->lay->pre_ints)) != 0)
		return r;
	for (i = 0; i < 8; i++)
		if ((r = m_obj(m, i == 1 ? MR_CONSTS : i == 2 ? MR_NAMES :
		    MR_NONE)) != 0)
			return r;
	if ((r = pal_cur_skip(&m->c, 4)) != 0)
		return r;
	for (i = 0; i < m->lay->post_objs; i++)
		if ((r = m_obj(m, MR_NONE)) != 0)
			return r;
	return 0;
}

static int
m_long(struct mstate *m)
{
	uint32_t u;
	int64_t n;
	int r;

	if ((r = pal_cur_u32le(&m->c, &u)) != 0)
		return r;
	n = (int32_t)u;
	if (n < 0)
		n = -n;
	return pal_cur_skip(&m->c, (size_t)n * 2);
}

static int
m_float_text(struct mstate *m, unsigned count)
{
	uint8_t n;
	int r;

	while (count-- > 0)
		if ((r = pal_cur_u8(&m->c, &n)) != 0 ||
		    (r = pal_cur_skip(&m->c, n)) != 0)
			return r;
	return 0;
}

static int
m_dict(struct mstate *m)
{
	int r;

	for (;;) {
		if (pal_cur_left(&m->c) == 0)
			return PAL_ERR_TRUNCATED;
		if ((m->c.base[m->c.off] & 0x7f) == '0') {
			m->c.off++;
			return 0;
		}
		if ((r = m_obj(m, MR_NONE)) != 0 || (r = m_obj(m, MR_NONE)) != 0)
			return r;
	}
}

/* The body of one object of type t (flag bit removed). */
static int
m_body(struct mstate *m, int t, enum mrole role)
{
	uint32_t n;
	uint8_t n8;
	int r;

	switch (t) {
	case '0': case 'N': case 'F': case 'T': case 'S': case '.':
		return 0;
	case 'i':
		return pal_cur_skip(&m->c, 4);
	case 'I': case 'g':
		return pal_cur_skip(&m->c, 8);
	case 'y':
		return pal_cur_skip(&m->c, 16);
	case 'l':
		return m_long(m);
	case 'f':
		return m_float_text(m, 1);
	case 'x':
		return m_float_text(m, 2);
	case 's': case 't': case 'u': case 'a': case 'A':
		return m_string(m, role, 0);
	case 'z': case 'Z':
		return m_string(m, role, 1);
	case '(': case '[': case '<': case '>':
		if ((r = pal_cur_u32le(&m->c, &n)) != 0)
			return r;
		return m_seq(m, role, n);
	case ')':
		if ((r = pal_cur_u8(&m->c, &n8)) != 0)
			return r;
		return m_seq(m, role, n8);
	case '{':
		return m_dict(m);
	case 'r': case 'R':
		if ((r = pal_cur_u32le(&m->c, &n)) != 0)
			return r;
		return n < m->nrefs || t == 'R' ? 0 : PAL_ERR_FORMAT;
	case 'c':
		return m_code(m);
	default:
		return PAL_ERR_FORMAT;
	}
}

static int
m_obj(struct mstate *m, enum mrole role)
{
	uint8_t code;
	int r;

	if (++m->nobjs > MARSHAL_MAX_OBJECTS || m->depth >= MARSHAL_MAX_DEPTH)
		return PAL_ERR_LIMIT;
	if ((r = pal_cur_u8(&m->c, &code)) != 0)
		return r;
	if (code & 0x80)
		m->nrefs++;
	m->depth++;
	r = m_body(m, code & 0x7f, role);
	m->depth--;
	return r;
}

/* Tries one layout over the whole buffer. */
static int
m_try(const uint8_t *code, size_t len, const struct mlayout *lay,
    struct pal_buf *names, struct pal_buf *consts)
{
	struct mstate m;
	int r;

	memset(&m, 0, sizeof(m));
	pal_cur_init(&m.c, code, len);
	m.lay = lay;
	m.names = names;
	m.consts = consts;
	pal_buf_reset(names);
	pal_buf_reset(consts);
	if (len == 0 || (code[0] & 0x7f) != 'c')
		return PAL_ERR_FORMAT;
	if ((r = m_obj(&m, MR_NONE)) != 0)
		return r;
	return pal_cur_left(&m.c) == 0 ? 0 : PAL_ERR_FORMAT;
}

int
pal_keras_describe_marshal(const uint8_t *code, size_t len,
    struct pal_buf *out)
{
	struct pal_buf names, consts;
	size_t i;
	int r = PAL_ERR_FORMAT;

	/* Room for MARSHAL_MAX_LISTED excerpts even when fully escaped. */
	pal_buf_init(&names, 32768);
	pal_buf_init(&consts, 32768);
	for (i = 0; i < NELEM(mlayouts); i++) {
		r = m_try(code, len, &mlayouts[i], &names, &consts);
		if (r == 0 || r == PAL_ERR_NOMEM)
			break;
	}
	if (r != 0)
		goto out;
	r = pal_buf_printf(out, "%s code object (%zu bytes)", mlayouts[i].name,
	    len);
	if (r == 0 && names.len > 0)
		r = pal_buf_printf(out, "; names used: %s", (char *)names.p);
	if (r == 0 && consts.len > 0)
		r = pal_buf_printf(out, "; string constants: %s",
		    (char *)consts.p);
out:
	pal_buf_free(&names);
	pal_buf_free(&consts);
	return r;
}

/*
 * Describes base64-encoded marshalled code into b.  Code that cannot be
 * decoded is still code: the description says so and the caller reports.
 */
static int
describe_code(struct pal_buf *b, const char *b64, size_t n)
{
	struct pal_buf raw;
	int r;

	if (n > KERAS_CODE_MAX)
		return pal_buf_printf(b, "%zu bytes of base64 bytecode (too "
		    "large to decode)", n);
	pal_buf_init(&raw, KERAS_CODE_MAX);
	if ((r = b64_decode(b64, n, &raw)) == PAL_ERR_NOMEM)
		goto out;
	if (r != 0) {
		r = pal_buf_puts(b, "bytecode whose base64 does not decode");
		goto out;
	}
	r = pal_keras_describe_marshal(raw.p, raw.len, b);
	if (r != 0 && r != PAL_ERR_NOMEM)
		r = pal_buf_printf(b, "%zu bytes that are not a marshalled "
		    "code object", raw.len);
out:
	pal_buf_free(&raw);
	return r;
}

/* --- Lambda layers ----------------------------------------------------- */

static const char *
str_of(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The base64 text of a func_dump value: a string or [code, ...]. */
static const char *
dumped_code(json_t *v, size_t *n)
{
	if (json_is_array(v))
		v = json_array_get(v, 0);
	if (!json_is_string(v))
		return NULL;
	*n = json_string_length(v);
	return json_string_value(v);
}

/* Describes a Keras 3 function object ({"class_name": "__lambda__"...}). */
static int
describe_fn_object(struct pal_buf *b, json_t *fn)
{
	const char *cls = str_of(fn, "class_name"), *code, *mod;
	json_t *cfg = json_object_get(fn, "config");
	size_t n;
	int r;

	if (cls != NULL && strcmp(cls, "__lambda__") == 0) {
		code = dumped_code(json_object_get(cfg, "code"), &n);
		if (code == NULL)
			code = dumped_code(json_object_get(cfg, "value"), &n);
		if (code == NULL)
			return pal_buf_puts(b, "a __lambda__ without code");
		return describe_code(b, code, n);
	}
	if ((r = pal_buf_puts(b, "function ")) != 0)
		return r;
	if ((r = put_quoted_str(b, json_is_string(cfg) ?
	    json_string_value(cfg) : cls != NULL ? cls : "?")) != 0)
		return r;
	if ((mod = str_of(fn, "module")) == NULL)
		return 0;
	if ((r = pal_buf_puts(b, " from module ")) != 0)
		return r;
	return put_quoted_str(b, mod);
}

/*
 * Describes one code-bearing field of a Lambda config (function,
 * output_shape, mask) in either Keras's encoding.  *dangerous_mod is set
 * to a Keras 2 named function's module when that module is dangerous.
 */
static int
describe_lambda_field(struct pal_buf *b, json_t *cfg, const char *field,
    const char **dangerous_mod)
{
	json_t *v = json_object_get(cfg, field);
	char tkey[32];
	const char *type, *code, *mod;
	size_t n;
	int r;

	/* field is one of the three short names report_lambda passes. */
	snprintf(tkey, sizeof(tkey), "%s_type", field);
	type = str_of(cfg, tkey);
	if (v == NULL || json_is_null(v))
		return 0;
	if ((r = pal_buf_printf(b, "; %s: ", field)) != 0)
		return r;
	if (json_is_object(v))
		return describe_fn_object(b, v);
	if (type != NULL && strcmp(type, "function") == 0 &&
	    json_is_string(v)) {
		mod = str_of(cfg, "module");
		if ((r = pal_buf_puts(b, "named function ")) != 0 ||
		    (r = put_quoted_str(b, json_string_value(v))) != 0)
			return r;
		if (mod == NULL)
			return 0;
		if (module_dangerous(mod))
			*dangerous_mod = mod;
		if ((r = pal_buf_puts(b, " from module ")) != 0)
			return r;
		return put_quoted_str(b, mod);
	}
	if (type != NULL && strcmp(type, "raw") == 0)
		return pal_buf_puts(b, "a raw value");
	if ((code = dumped_code(v, &n)) == NULL)
		return pal_buf_puts(b, "an unrecognized value");
	return describe_code(b, code, n);
}

static const char *
layer_name(json_t *obj, json_t *cfg)
{
	const char *name = str_of(cfg, "name");

	return name != NULL ? name : str_of(obj, "name");
}

static int
report_lambda(struct kwalk *w, json_t *obj, json_t *cfg)
{
	static const char *const fields[] = { "function", "output_shape",
	    "mask" };
	const char *name = layer_name(obj, cfg), *bad = NULL;
	struct pal_buf b;
	size_t i;
	int r;

	pal_buf_init(&b, KERAS_REASON_MAX);
	r = pal_buf_puts(&b, "Lambda layer ");
	if (r == 0)
		r = put_quoted_str(&b, name != NULL ? name : "?");
	if (r == 0)
		r = pal_buf_puts(&b, " runs Python code when the model is "
		    "loaded or called");
	for (i = 0; r == 0 && i < NELEM(fields); i++)
		r = describe_lambda_field(&b, cfg, fields[i], &bad);
	/* A full buffer only cuts the description. */
	if (r != 0 && r != PAL_ERR_LIMIT)
		goto out;
	if ((r = kfind(w, "keras.lambda", reason_text(&b))) != 0)
		goto out;
	if (bad != NULL) {
		pal_buf_reset(&b);
		if ((r = pal_buf_puts(&b, "Lambda layer function comes from "
		    "module ")) == 0 && (r = put_quoted_str(&b, bad)) == 0)
			r = kfind(w, "keras.dangerous-reference",
			    reason_text(&b));
	}
out:
	pal_buf_free(&b);
	return r;
}

static int
report_lambda_object(struct kwalk *w, json_t *obj)
{
	struct pal_buf b;
	int r;

	pal_buf_init(&b, KERAS_REASON_MAX);
	r = pal_buf_puts(&b, "__lambda__ object holds Python bytecode that "
	    "runs when the model is loaded: ");
	if (r == 0)
		r = describe_fn_object(&b, obj);
	if (r == 0 || r == PAL_ERR_LIMIT)
		r = kfind(w, "keras.lambda", reason_text(&b));
	pal_buf_free(&b);
	return r;
}

/* --- TensorFlow operations --------------------------------------------- */

/* Is any dotted component of fn one of the dangerous namespaces? */
static int
tf_fn_dangerous(const char *fn)
{
	const char *p = fn, *dot, *last = fn;
	size_t n;

	for (;;) {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (dot != NULL && in_list(dangerous_tf_parts,
		    NELEM(dangerous_tf_parts), p, n))
			return 1;
		last = p;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (IN(dangerous_tf_fns, last))
		return 1;
	/* tf.raw_ops.X names a raw operation directly. */
	return strncmp(fn, "raw_ops.", 8) == 0 && IN(dangerous_raw_ops, last);
}

static int
report_tf(struct kwalk *w, const char *what, const char *layer,
    const char *fn)
{
	struct pal_buf b;
	int r;

	pal_buf_init(&b, KERAS_REASON_MAX);
	if ((r = pal_buf_printf(&b, "%s ", what)) == 0 &&
	    (r = put_quoted_str(&b, layer != NULL ? layer : "?")) == 0 &&
	    (r = pal_buf_puts(&b, " calls TensorFlow's ")) == 0 &&
	    (r = put_quoted_str(&b, fn)) == 0 &&
	    (r = pal_buf_puts(&b, ", which reaches files or Python code "
	    "when the model runs")) == 0)
		r = kfind(w, "keras.tf-op", reason_text(&b));
	pal_buf_free(&b);
	return r;
}

static int
check_tfop(struct kwalk *w, json_t *obj, json_t *cfg, const char *cls)
{
	const char *fn, *name = layer_name(obj, cfg);

	if (strcmp(cls, "TensorFlowOpLayer") == 0) {
		fn = str_of(json_object_get(cfg, "node_def"), "op");
		if (fn != NULL && IN(dangerous_raw_ops, fn))
			return report_tf(w, "TensorFlowOpLayer", name, fn);
		return 0;
	}
	fn = str_of(cfg, "function");
	if (fn != NULL && tf_fn_dangerous(fn))
		return report_tf(w, cls, name, fn);
	return 0;
}

/* --- classes and modules ----------------------------------------------- */

static int
report_named(struct kwalk *w, const char *rule, const char *what,
    const char *v1, const char *mid, const char *v2, const char *tail)
{
	struct pal_buf b;
	int r;

	pal_buf_init(&b, KERAS_REASON_MAX);
	r = pal_buf_puts(&b, what);
	if (r == 0)
		r = put_quoted_str(&b, v1);
	if (r == 0 && v2 != NULL && (r = pal_buf_puts(&b, mid)) == 0)
		r = put_quoted_str(&b, v2);
	if (r == 0)
		r = pal_buf_puts(&b, tail);
	if (r == 0)
		r = kfind(w, rule, reason_text(&b));
	pal_buf_free(&b);
	return r;
}

static int
check_module(struct kwalk *w, const char *cls, const char *mod, json_t *cfg)
{
	const char *fn = json_string_value(cfg);
	int is_fn = strcmp(cls, "function") == 0;

	if (module_dangerous(mod)) {
		size_t n = first_part(mod);

		/* Keras 3 records builtins for plain value functions. */
		if ((n == 8 && strncmp(mod, "builtins", 8) == 0) && is_fn &&
		    fn != NULL && IN(safe_builtins, fn))
			return 0;
		return report_named(w, "keras.dangerous-reference",
		    "object names module ", mod, is_fn ? ", function " :
		    ", class ", is_fn && fn != NULL ? fn : cls,
		    ", which the loader imports and calls");
	}
	if (module_standard(mod)) {
		if (is_fn && fn != NULL && IN(dangerous_keras_fns, fn))
			return report_named(w, "keras.dangerous-reference",
			    "object names Keras function ", fn,
			    " in module ", mod, ", which downloads, loads "
			    "or unlocks unsafe deserialization");
		return 0;
	}
	return report_named(w, "keras.custom-module", "object names module ",
	    mod, is_fn ? ", function " : ", class ", is_fn && fn != NULL ?
	    fn : cls, ", which is outside Keras and is imported when the "
	    "model is loaded");
}

/* "Custom>Adam" and "keras>Dense" are Keras's own registrations. */
static int
registered_known(const char *name)
{
	const char *gt = strchr(name, '>');
	size_t n;

	if (gt == NULL)
		return IN(keras_classes, name);
	n = (size_t)(gt - name);
	if (!((n == 6 && strncmp(name, "Custom", 6) == 0) ||
	    (n == 5 && strncmp(name, "keras", 5) == 0)))
		return 0;
	return IN(keras_classes, gt + 1);
}

static int
check_class(struct kwalk *w, const char *cls)
{
	size_t n = strlen(cls);

	if (n >= 4 && strncmp(cls, "__", 2) == 0 &&
	    strcmp(cls + n - 2, "__") == 0) {
		if (IN(keras_markers, cls))
			return 0;
		return report_named(w, "keras.unknown-marker",
		    "object uses serialization marker ", cls, NULL, NULL,
		    ", which Keras does not define");
	}
	if (registered_known(cls))
		return 0;
	return report_named(w, "keras.unknown-class", "class ", cls, NULL,
	    NULL, " is not a Keras class; the model loads only with custom "
	    "objects the loading program supplies");
}

/* Keras 3 registered names: null for Keras's own, "pkg>Name" for custom. */
static int
check_registered(struct kwalk *w, const char *cls, const char *reg)
{
	if (strcmp(reg, cls) == 0 || registered_known(reg) ||
	    strchr(reg, '>') == NULL)
		return 0;
	return report_named(w, "keras.unknown-class",
	    "object is registered as ", reg, NULL, NULL,
	    ", a custom object the loading program must supply");
}

/* Checks one serialized Keras object (a JSON object with class_name). */
static int
check_object(struct kwalk *w, json_t *obj, enum kmode mode)
{
	const char *cls = str_of(obj, "class_name");
	const char *mod = str_of(obj, "module");
	const char *reg = str_of(obj, "registered_name");
	json_t *cfg = json_object_get(obj, "config");
	int r = 0;

	if (strcmp(cls, "Lambda") == 0)
		r = report_lambda(w, obj, cfg);
	else if (strcmp(cls, "__lambda__") == 0 && mode != KM_LAMBDA_FN)
		r = report_lambda_object(w, obj);
	else if (strcmp(cls, "TFOpLambda") == 0 ||
	    strcmp(cls, "SlicingOpLambda") == 0 ||
	    strcmp(cls, "TensorFlowOpLayer") == 0)
		r = check_tfop(w, obj, cfg, cls);
	if (r != 0)
		return r;
	if (mod != NULL)
		r = check_module(w, cls, mod, cfg);
	else
		r = check_class(w, cls);
	if (r == 0 && reg != NULL && (mod == NULL || module_standard(mod)))
		r = check_registered(w, cls, reg);
	return r;
}

/* A bare function reference ("os.system") under "function" or "fn". */
static int
check_fn_string(struct kwalk *w, const char *key, const char *v)
{
	if (strcmp(key, "function") != 0 && strcmp(key, "fn") != 0)
		return 0;
	if (!module_dangerous(v))
		return 0;
	return report_named(w, "keras.dangerous-reference", "function "
	    "reference ", v, NULL, NULL, " names a module that runs "
	    "commands or code");
}

/* --- the walk ---------------------------------------------------------- */

static int walk(struct kwalk *w, json_t *v, unsigned depth, enum kmode mode);

static enum kmode
child_mode(enum kmode mode, const char *cls, const char *key)
{
	if (cls != NULL && strcmp(key, "config") == 0) {
		if (strcmp(cls, "Lambda") == 0)
			return KM_LAMBDA_CONFIG;
		if (strcmp(cls, "TFOpLambda") == 0 ||
		    strcmp(cls, "SlicingOpLambda") == 0)
			return KM_TFOP_CONFIG;
	}
	if (mode == KM_LAMBDA_CONFIG && (strcmp(key, "function") == 0 ||
	    strcmp(key, "output_shape") == 0 || strcmp(key, "mask") == 0))
		return KM_LAMBDA_FN;
	return KM_NONE;
}

static int
walk_object(struct kwalk *w, json_t *obj, unsigned depth, enum kmode mode)
{
	const char *cls = str_of(obj, "class_name"), *key;
	json_t *val;
	size_t old;
	int r;

	if (cls != NULL && (r = check_object(w, obj, mode)) != 0)
		return r;
	json_object_foreach(obj, key, val) {
		enum kmode cm = child_mode(mode, cls, key);

		old = path_key(w, key);
		if (json_is_string(val) && mode != KM_TFOP_CONFIG &&
		    mode != KM_LAMBDA_CONFIG)
			r = check_fn_string(w, key, json_string_value(val));
		else
			r = walk(w, val, depth + 1, cm);
		path_pop(w, old);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
walk(struct kwalk *w, json_t *v, unsigned depth, enum kmode mode)
{
	size_t i, old;
	json_t *e;
	int r;

	if (depth > KERAS_MAX_DEPTH)
		return pal_err_set(&w->s->err, PAL_ERR_LIMIT, "Keras "
		    "configuration%s%s nests deeper than %d levels at %s",
		    w->where ? " " : "", w->where ? w->where : "",
		    KERAS_MAX_DEPTH, w->path);
	if (json_is_object(v))
		return walk_object(w, v, depth, mode);
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e) {
		old = path_index(w, i);
		r = walk(w, e, depth + 1, mode);
		path_pop(w, old);
		if (r != 0)
			return r;
	}
	return 0;
}

int
pal_keras_check(struct pal_scan *s, const struct pal_scan_item *it,
    const char *where, const char *json, size_t len)
{
	struct kwalk w;
	json_error_t jerr;
	json_t *root;
	int r;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return pal_err_set(&s->err, PAL_ERR_FORMAT, "Keras "
		    "configuration%s%s is not valid JSON (byte %d): %s",
		    where ? " " : "", where ? where : "", jerr.position,
		    jerr.text);
	if (!json_is_object(root)) {
		r = pal_err_set(&s->err, PAL_ERR_FORMAT, "Keras "
		    "configuration%s%s is not a JSON object",
		    where ? " " : "", where ? where : "");
		goto out;
	}
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.it = it;
	w.where = where;
	r = walk(&w, root, 0, KM_NONE);
out:
	json_decref(root);
	return r;
}

int
pal_keras_check_config(struct pal_scan *s,
    const struct pal_scan_item *it, const char *json, size_t len)
{
	return pal_keras_check(s, it, NULL, json, len);
}
