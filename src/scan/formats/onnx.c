/*
 * onnx.c - ONNX models: onnx.proto's ModelProto and everything it holds.
 *
 * ONNX has no magic number: a model is a protobuf ModelProto.  The probe
 * recognizes one by structure; the scanner walks every graph (the main
 * graph, subgraphs in If/Loop/Scan attributes, training graphs), every
 * model-local function and every tensor, and reports what makes loading
 * or running the model do more than arithmetic:
 *
 *  - tensors whose external data lives outside the model's directory, or
 *    at onnxruntime's in-memory marker (an address the file chooses);
 *  - nodes that run Python (onnxruntime's PyOp, com.microsoft PythonOp);
 *  - operators outside the standard domains, which need a custom operator
 *    library (native code) to run, and imports of such operator sets;
 *  - the 'ort_config' metadata entry, from which onnxruntime can take
 *    session options.
 *
 * docs/formats/onnx.md lists the fields read and the reasons.  Nothing in
 * the file is trusted: the walk goes through the bounded protobuf reader,
 * allocates only the table of local functions (one entry per function
 * field present, capped), and treats protobuf's merge semantics strictly:
 * a singular field this scanner judges (op_type, domain, key, value) that
 * appears twice is an error, since runtimes would keep the last one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protobuf.h"
#include "scan_int.h"

const struct pal_rule pal_rules_onnx[] = {
	{ "onnx.python-op", PAL_SEV_CRITICAL,
	  "A node runs Python code: onnxruntime's PyOp imports the module "
	  "its attributes name, and com.microsoft PythonOp calls Python "
	  "objects by address." },
	{ "onnx.external-data-memory", PAL_SEV_CRITICAL,
	  "A tensor's external data location is onnxruntime's in-memory "
	  "marker, which makes a runtime read tensor bytes from an address "
	  "the file chooses." },
	{ "onnx.external-data-path", PAL_SEV_HIGH,
	  "A tensor's external data path leaves the model's directory "
	  "(absolute, '..', backslashes, drive or stream syntax), so loading "
	  "reads an arbitrary file into the model." },
	{ "onnx.external-data-symlink", PAL_SEV_HIGH,
	  "A tensor's external data file, or a directory on its way, is a "
	  "symbolic link, which runtimes follow out of the model's "
	  "directory." },
	{ "onnx.custom-op", PAL_SEV_HIGH,
	  "A node uses an operator outside the standard ONNX and onnxruntime "
	  "domains; running it needs a custom operator library, which is "
	  "native code." },
	{ "onnx.custom-domain", PAL_SEV_MEDIUM,
	  "The model imports an operator set outside the standard domains, "
	  "which only a custom operator library provides." },
	{ "onnx.runtime-config", PAL_SEV_MEDIUM,
	  "The model's metadata carries 'ort_config', from which onnxruntime "
	  "takes session options (thread counts, profiling output) when "
	  "ORT_LOAD_CONFIG_FROM_MODEL is set." },
	{ "onnx.polyglot", PAL_SEV_HIGH,
	  "The file parses both as an ONNX model and as a TensorFlow "
	  "SavedModel, so each loader sees a different model." },
	{ NULL, 0, NULL },
};

/* Local functions beyond this are refused: real models have dozens. */
#define ONNX_MAX_FUNCTIONS 65536

/* Distinct (domain, operator) pairs remembered to report each once. */
#define SEEN_SLOTS 1024

/* Bounds for the probe's walk; real models stay far below both. */
#define PROBE_MAX_FIELDS (1u << 20)

/* onnxruntime's marker: "offset" is then a memory address. */
#define ORT_MEM_ADDR "*/_ORT_MEM_ADDR_/*"

#define V PAL_PB_W(PAL_PB_VARINT)
#define L PAL_PB_W(PAL_PB_LEN)
#define F32 PAL_PB_W(PAL_PB_I32)
#define F64 PAL_PB_W(PAL_PB_I64)

static const struct pal_pb_fspec model_fields[] = {
	{ 1, V, "ModelProto.ir_version" },
	{ 2, L, "ModelProto.producer_name" },
	{ 3, L, "ModelProto.producer_version" },
	{ 4, L, "ModelProto.domain" },
	{ 5, V, "ModelProto.model_version" },
	{ 6, L, "ModelProto.doc_string" },
	{ 7, L, "ModelProto.graph" },
	{ 8, L, "ModelProto.opset_import" },
	{ 14, L, "ModelProto.metadata_props" },
	{ 20, L, "ModelProto.training_info" },
	{ 25, L, "ModelProto.functions" },
	{ 26, L, "ModelProto.configuration" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec graph_fields[] = {
	{ 1, L, "GraphProto.node" },
	{ 2, L, "GraphProto.name" },
	{ 5, L, "GraphProto.initializer" },
	{ 10, L, "GraphProto.doc_string" },
	{ 11, L, "GraphProto.input" },
	{ 12, L, "GraphProto.output" },
	{ 13, L, "GraphProto.value_info" },
	{ 14, L, "GraphProto.quantization_annotation" },
	{ 15, L, "GraphProto.sparse_initializer" },
	{ 16, L, "GraphProto.metadata_props" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec node_fields[] = {
	{ 1, L, "NodeProto.input" },
	{ 2, L, "NodeProto.output" },
	{ 3, L, "NodeProto.name" },
	{ 4, L, "NodeProto.op_type" },
	{ 5, L, "NodeProto.attribute" },
	{ 6, L, "NodeProto.doc_string" },
	{ 7, L, "NodeProto.domain" },
	{ 8, L, "NodeProto.overload" },
	{ 9, L, "NodeProto.metadata_props" },
	{ 10, L, "NodeProto.device_configurations" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec attr_fields[] = {
	{ 1, L, "AttributeProto.name" },
	{ 2, F32, "AttributeProto.f" },
	{ 3, V, "AttributeProto.i" },
	{ 4, L, "AttributeProto.s" },
	{ 5, L, "AttributeProto.t" },
	{ 6, L, "AttributeProto.g" },
	{ 7, F32 | L, "AttributeProto.floats" },
	{ 8, V | L, "AttributeProto.ints" },
	{ 9, L, "AttributeProto.strings" },
	{ 10, L, "AttributeProto.tensors" },
	{ 11, L, "AttributeProto.graphs" },
	{ 13, L, "AttributeProto.doc_string" },
	{ 14, L, "AttributeProto.tp" },
	{ 15, L, "AttributeProto.type_protos" },
	{ 20, V, "AttributeProto.type" },
	{ 21, L, "AttributeProto.ref_attr_name" },
	{ 22, L, "AttributeProto.sparse_tensor" },
	{ 23, L, "AttributeProto.sparse_tensors" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec tensor_fields[] = {
	{ 1, V | L, "TensorProto.dims" },
	{ 2, V, "TensorProto.data_type" },
	{ 3, L, "TensorProto.segment" },
	{ 4, F32 | L, "TensorProto.float_data" },
	{ 5, V | L, "TensorProto.int32_data" },
	{ 6, L, "TensorProto.string_data" },
	{ 7, V | L, "TensorProto.int64_data" },
	{ 8, L, "TensorProto.name" },
	{ 9, L, "TensorProto.raw_data" },
	{ 10, F64 | L, "TensorProto.double_data" },
	{ 11, V | L, "TensorProto.uint64_data" },
	{ 12, L, "TensorProto.doc_string" },
	{ 13, L, "TensorProto.external_data" },
	{ 14, V, "TensorProto.data_location" },
	{ 16, L, "TensorProto.metadata_props" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec sparse_fields[] = {
	{ 1, L, "SparseTensorProto.values" },
	{ 2, L, "SparseTensorProto.indices" },
	{ 3, V | L, "SparseTensorProto.dims" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec entry_fields[] = {
	{ 1, L, "StringStringEntryProto.key" },
	{ 2, L, "StringStringEntryProto.value" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec opset_fields[] = {
	{ 1, L, "OperatorSetIdProto.domain" },
	{ 2, V, "OperatorSetIdProto.version" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec training_fields[] = {
	{ 1, L, "TrainingInfoProto.initialization" },
	{ 2, L, "TrainingInfoProto.algorithm" },
	{ 3, L, "TrainingInfoProto.initialization_binding" },
	{ 4, L, "TrainingInfoProto.update_binding" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec function_fields[] = {
	{ 1, L, "FunctionProto.name" },
	{ 4, L, "FunctionProto.input" },
	{ 5, L, "FunctionProto.output" },
	{ 6, L, "FunctionProto.attribute" },
	{ 7, L, "FunctionProto.node" },
	{ 8, L, "FunctionProto.doc_string" },
	{ 9, L, "FunctionProto.opset_import" },
	{ 10, L, "FunctionProto.domain" },
	{ 11, L, "FunctionProto.attribute_proto" },
	{ 12, L, "FunctionProto.value_info" },
	{ 13, L, "FunctionProto.overload" },
	{ 14, L, "FunctionProto.metadata_props" },
	{ 0, 0, NULL },
};

#undef V
#undef L
#undef F32
#undef F64

/*
 * A model-local function: nodes that call it, by domain, name and
 * overload, run the model's own nodes.
 */
struct onnx_fn {
	struct pal_pb_str domain, name, overload;
};

/* What identifies a node's operator, and the node's own name. */
struct node_id {
	struct pal_pb_str name, op, domain, overload;
};

/* A remembered report: kind 'o' (operator) or 'd' (imported domain). */
struct seen {
	int kind;
	struct pal_pb_str a, b;
};

struct onnx_ctx {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	struct pal_err *err;
	struct onnx_fn *fns;	/* sorted by domain, then name */
	size_t nfns;
	struct seen *seen;	/* SEEN_SLOTS, open addressing */
	size_t nseen;
};

/* Where a node lives, for locations: a graph or a function, by name. */
struct where {
	const char *kind;	/* "graph", "function", or NULL: the model */
	struct pal_pb_str name;
};

static int graph_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f);

/*
 * Reports a finding with a location naming the node or tensor and its
 * graph; the reason is formatted here so that it can be cut to size.
 */
static int
report(struct onnx_ctx *c, const char *rule, const struct where *w,
    const char *what, struct pal_pb_str name, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static int
report(struct onnx_ctx *c, const char *rule, const struct where *w,
    const char *what, struct pal_pb_str name, size_t off, const char *fmt, ...)
{
	char qn[PAL_PB_QUOTE_MAX], qw[PAL_PB_QUOTE_MAX], loc[1024];
	char reason[2048];
	va_list ap;
	int n;

	/* Past the cap the driver only counts: spare the formatting. */
	if (c->s->results[c->it->result].nfindings >=
	    pal_scan_limits(c->s)->max_findings)
		return pal_scan_find(c->s, c->it, rule, NULL, "%s", "");
	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		reason[0] = '\0';
	else if ((size_t)n >= sizeof(reason))
		memcpy(reason + sizeof(reason) - 4, "...", 4);
	pal_pb_quote(qn, sizeof(qn), name);
	pal_pb_quote(qw, sizeof(qw), w->name);
	/* Two quoted names and the words around them always fit. */
	_Static_assert(2 * PAL_PB_QUOTE_MAX + 100 < sizeof(loc),
	    "location buffer too small for two quoted names");
	if (w->kind == NULL)
		snprintf(loc, sizeof(loc), "%s '%s' (offset %zu)", what, qn,
		    off);
	else
		snprintf(loc, sizeof(loc), "%s '%s' in %s '%s' (offset %zu)",
		    what, qn, w->kind, qw, off);
	return pal_scan_find(c->s, c->it, rule, loc, "%s", reason);
}

static int
fn_cmp(const void *x, const void *y)
{
	const struct onnx_fn *a = x, *b = y;
	int r = pal_pb_str_cmp(a->domain, b->domain);

	if (r == 0)
		r = pal_pb_str_cmp(a->name, b->name);
	return r != 0 ? r : pal_pb_str_cmp(a->overload, b->overload);
}

/*
 * 1 if a local function is (domain, name, overload) of the node id, or
 * with id NULL, if any local function has the domain.
 */
static int
fn_find(const struct onnx_ctx *c, struct pal_pb_str domain,
    const struct node_id *id)
{
	size_t lo = 0, hi = c->nfns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = pal_pb_str_cmp(c->fns[mid].domain, domain);

		if (r == 0 && id != NULL)
			r = pal_pb_str_cmp(c->fns[mid].name, id->op);
		if (r == 0 && id != NULL)
			r = pal_pb_str_cmp(c->fns[mid].overload, id->overload);
		if (r == 0)
			return 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static uint32_t
hash_str(uint32_t h, struct pal_pb_str s)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		h = (h ^ s.p[i]) * 16777619u;
	return (h ^ 0xff) * 16777619u;
}

/*
 * Remembers (kind, a, b); returns 1 if it was already there.  Once the
 * table is three-quarters full nothing more is remembered and everything
 * is reported (the driver caps findings per item).
 */
static int
seen_before(struct onnx_ctx *c, int kind, struct pal_pb_str a,
    struct pal_pb_str b)
{
	uint32_t h = hash_str(hash_str(2166136261u ^ (uint32_t)kind, a), b);
	size_t i = h % SEEN_SLOTS;

	while (c->seen[i].kind != 0) {
		if (c->seen[i].kind == kind && pal_pb_str_same(c->seen[i].a, a) &&
		    pal_pb_str_same(c->seen[i].b, b))
			return 1;
		i = (i + 1) % SEEN_SLOTS;
	}
	if (c->nseen >= SEEN_SLOTS / 4 * 3)
		return 0;
	c->seen[i].kind = kind;
	c->seen[i].a = a;
	c->seen[i].b = b;
	c->nseen++;
	return 0;
}

/*
 * Operator sets every runtime provides.  com.microsoft and its relatives
 * are onnxruntime's contrib operators, compiled into the runtime; treating
 * them as custom would flag most quantized and optimized transformer
 * models.  Its Python-calling operators are judged separately.
 */
static const char *const std_domains[] = {
	"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training",
	"ai.onnx.preview.training", "com.microsoft",
	"com.microsoft.experimental", "com.microsoft.nchwc",
	"com.ms.internal.nhwc", "com.microsoft.dml", NULL,
};

static int
std_domain(struct pal_pb_str d)
{
	size_t i;

	for (i = 0; std_domains[i] != NULL; i++)
		if (pal_pb_str_eq(d, std_domains[i]))
			return 1;
	return 0;
}

/* Why a custom domain matters, where the domain is well known. */
static const char *
domain_hint(struct pal_pb_str d)
{
	if (pal_pb_str_eq(d, "ai.onnx.contrib"))
		return "; onnxruntime-extensions maps this domain onto its "
		    "native library and onto Python functions registered "
		    "with onnx_op";
	if (pal_pb_str_eq(d, "org.pytorch.aten"))
		return "; onnxruntime's ATen operator calls into PyTorch's "
		    "operator library";
	return "";
}

/*
 * Finds the string value of the node attribute named name; sets *out to
 * an empty string when there is none.
 */
static int
node_attr_str(struct onnx_ctx *c, struct pal_pb_msg nm, const char *name,
    struct pal_pb_str *out)
{
	struct pal_pb_field f, g;
	struct pal_pb_msg am;
	int r;

	out->p = NULL;
	out->n = 0;
	while ((r = pal_pb_next(&nm, &f, c->err)) == 1) {
		struct pal_pb_str an = { NULL, 0 }, sv = { NULL, 0 };

		if (f.num != 5 || f.wire != PAL_PB_LEN)
			continue;
		if ((r = pal_pb_enter(&nm, &f, &am, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&am, &g, c->err)) == 1) {
			if (g.num == 1 && g.wire == PAL_PB_LEN)
				an = pal_pb_str_of(&g);
			else if (g.num == 4 && g.wire == PAL_PB_LEN)
				sv = pal_pb_str_of(&g);
		}
		if (r < 0)
			return r;
		if (pal_pb_str_eq(an, name))
			*out = sv;
	}
	return r;
}

/* PyOp and com.microsoft PythonOp: Python named by the model. */
static int
check_python_op(struct onnx_ctx *c, struct pal_pb_msg nm,
    const struct node_id *id, const struct where *w, size_t off)
{
	struct pal_pb_str op = id->op, domain = id->domain, name = id->name;
	char qm[PAL_PB_QUOTE_MAX], qc[PAL_PB_QUOTE_MAX];
	struct pal_pb_str mod, cls;
	int r;

	if (pal_pb_str_eq(op, "PyOp")) {
		if ((r = node_attr_str(c, nm, "module", &mod)) != 0 ||
		    (r = node_attr_str(c, nm, "class_name", &cls)) != 0)
			return r;
		return report(c, "onnx.python-op", w, "node", name, off,
		    "PyOp imports Python module '%s' and calls '%s' from it "
		    "(onnxruntime language-interop operator)",
		    pal_pb_quote(qm, sizeof(qm), mod),
		    pal_pb_quote(qc, sizeof(qc), cls));
	}
	if (pal_pb_str_eq(domain, "com.microsoft") &&
	    (pal_pb_str_eq(op, "PythonOp") ||
	    pal_pb_str_eq(op, "PythonOpGrad"))) {
		if ((r = node_attr_str(c, nm, "func_name", &mod)) != 0)
			return r;
		return report(c, "onnx.python-op", w, "node", name, off,
		    "com.microsoft %s calls Python autograd function '%s' and "
		    "takes Python object addresses from its attributes",
		    pal_pb_str_eq(op, "PythonOp") ? "PythonOp" : "PythonOpGrad",
		    pal_pb_quote(qm, sizeof(qm), mod));
	}
	return 0;
}

static int
check_op(struct onnx_ctx *c, struct pal_pb_msg nm, const struct node_id *id,
    const struct where *w, size_t off)
{
	char qd[PAL_PB_QUOTE_MAX], qo[PAL_PB_QUOTE_MAX];
	int r;

	if ((r = check_python_op(c, nm, id, w, off)) != 0)
		return r;
	if (std_domain(id->domain) || fn_find(c, id->domain, id))
		return 0;
	if (seen_before(c, 'o', id->domain, id->op))
		return 0;
	return report(c, "onnx.custom-op", w, "node", id->name, off,
	    "operator '%s' of domain '%s' is not a standard operator nor a "
	    "function defined in the model%s",
	    pal_pb_quote(qo, sizeof(qo), id->op),
	    pal_pb_quote(qd, sizeof(qd), id->domain), domain_hint(id->domain));
}

/* StringStringEntryProto: its key and value, each at most once. */
static int
entry_read(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, struct pal_pb_str *key,
    struct pal_pb_str *val, size_t *val_off)
{
	struct pal_pb_field g;
	struct pal_pb_msg em;
	int hk = 0, hv = 0, r;

	key->p = val->p = NULL;
	key->n = val->n = 0;
	*val_off = f->off;
	if ((r = pal_pb_enter(m, f, &em, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&em, &g, c->err)) == 1) {
		if ((r = pal_pb_known(entry_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1)
			r = pal_pb_take_once(key, &hk, &g, "key", c->err);
		else if (g.num == 2) {
			r = pal_pb_take_once(val, &hv, &g, "value", c->err);
			*val_off = g.val_off;
		}
		if (r != 0)
			return r;
	}
	return r;
}

/* An external data location: memory marker, escaping path, symlink. */
static int
check_location(struct onnx_ctx *c, struct pal_pb_str loc,
    struct pal_pb_str tname, const struct where *w, size_t off)
{
	char ql[PAL_PB_QUOTE_MAX];
	const char *why;

	pal_pb_quote(ql, sizeof(ql), loc);
	if (pal_pb_str_eq(loc, ORT_MEM_ADDR))
		return report(c, "onnx.external-data-memory", w, "tensor",
		    tname, off, "external data location '%s' makes "
		    "onnxruntime read the tensor from the memory address in "
		    "its 'offset' entry", ql);
	if ((why = pal_pb_path_problem(loc)) != NULL)
		return report(c, "onnx.external-data-path", w, "tensor",
		    tname, off, "external data location '%s': %s", ql, why);
	/* Links can only be seen for a model on disk, not a member. */
	if (c->it->dir != NULL && c->it->depth == 0 &&
	    pal_pb_path_symlink(c->it->dir, NULL, loc))
		return report(c, "onnx.external-data-symlink", w, "tensor",
		    tname, off, "external data location '%s' is or passes "
		    "through a symbolic link in the model's directory", ql);
	return 0;
}

/*
 * TensorProto: every external_data entry keyed "location" is checked,
 * whatever data_location says, since some tools honour the entries alone.
 */
static int
tensor_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, const struct where *w)
{
	struct pal_pb_str tname = { NULL, 0 }, key, val;
	struct pal_pb_msg tm, again;
	struct pal_pb_field g;
	size_t voff;
	int hn = 0, r;

	if ((r = pal_pb_enter(m, f, &tm, c->err)) != 0)
		return r;
	again = tm;
	while ((r = pal_pb_next(&tm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(tensor_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 8 &&
		    (r = pal_pb_take_once(&tname, &hn, &g, "TensorProto.name",
		    c->err)) != 0)
			return r;
	}
	if (r < 0)
		return r;
	while ((r = pal_pb_next(&again, &g, c->err)) == 1) {
		if (g.num != 13)
			continue;
		if ((r = entry_read(c, &again, &g, &key, &val, &voff)) != 0)
			return r;
		if (pal_pb_str_eq(key, "location") &&
		    (r = check_location(c, val, tname, w, voff)) != 0)
			return r;
	}
	return r;
}

static int
sparse_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, const struct where *w)
{
	struct pal_pb_field g;
	struct pal_pb_msg sm;
	int r;

	if ((r = pal_pb_enter(m, f, &sm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&sm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(sparse_fields, &g, c->err)) != 0)
			return r;
		if ((g.num == 1 || g.num == 2) &&
		    (r = tensor_scan(c, &sm, &g, w)) != 0)
			return r;
	}
	return r;
}

/* AttributeProto: tensors and subgraphs (If, Loop, Scan bodies). */
static int
attr_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, const struct where *w)
{
	struct pal_pb_field g;
	struct pal_pb_msg am;
	int r;

	if ((r = pal_pb_enter(m, f, &am, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&am, &g, c->err)) == 1) {
		if ((r = pal_pb_known(attr_fields, &g, c->err)) != 0)
			return r;
		switch (g.num) {
		case 5:
		case 10:
			r = tensor_scan(c, &am, &g, w);
			break;
		case 6:
		case 11:
			r = graph_scan(c, &am, &g);
			break;
		case 22:
		case 23:
			r = sparse_scan(c, &am, &g, w);
			break;
		}
		if (r != 0)
			return r;
	}
	return r;
}

/* NodeProto: its operator first (wherever the fields are), then attributes. */
static int
node_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, const struct where *w)
{
	struct node_id id;
	struct pal_pb_msg nm, again;
	struct pal_pb_field g;
	int hn = 0, ho = 0, hd = 0, hv = 0, r;

	memset(&id, 0, sizeof(id));
	if ((r = pal_pb_enter(m, f, &nm, c->err)) != 0)
		return r;
	again = nm;
	while ((r = pal_pb_next(&nm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(node_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 3)
			r = pal_pb_take_once(&id.name, &hn, &g, "NodeProto.name",
			    c->err);
		else if (g.num == 4)
			r = pal_pb_take_once(&id.op, &ho, &g, "NodeProto.op_type",
			    c->err);
		else if (g.num == 7)
			r = pal_pb_take_once(&id.domain, &hd, &g, "NodeProto.domain",
			    c->err);
		else if (g.num == 8)
			r = pal_pb_take_once(&id.overload, &hv, &g,
			    "NodeProto.overload", c->err);
		if (r != 0)
			return r;
	}
	if (r < 0)
		return r;
	if ((r = check_op(c, again, &id, w, f->off)) != 0)
		return r;
	while ((r = pal_pb_next(&again, &g, c->err)) == 1)
		if (g.num == 5 && (r = attr_scan(c, &again, &g, w)) != 0)
			return r;
	return r;
}

/* GraphProto: nodes, initializers, sparse initializers. */
static int
graph_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct where w = { "graph", { NULL, 0 } };
	struct pal_pb_msg gm, again;
	struct pal_pb_field g;
	int hn = 0, r;

	if ((r = pal_pb_enter(m, f, &gm, c->err)) != 0)
		return r;
	again = gm;
	while ((r = pal_pb_next(&gm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(graph_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 2 && (r = pal_pb_take_once(&w.name, &hn, &g,
		    "GraphProto.name", c->err)) != 0)
			return r;
	}
	if (r < 0)
		return r;
	while ((r = pal_pb_next(&again, &g, c->err)) == 1) {
		if (g.num == 1)
			r = node_scan(c, &again, &g, &w);
		else if (g.num == 5)
			r = tensor_scan(c, &again, &g, &w);
		else if (g.num == 15)
			r = sparse_scan(c, &again, &g, &w);
		else
			r = 0;
		if (r != 0)
			return r;
	}
	return r;
}

/* OperatorSetIdProto: a custom domain not served by local functions. */
static int
opset_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, const struct where *w)
{
	struct pal_pb_str domain = { NULL, 0 }, none = { NULL, 0 };
	char qd[PAL_PB_QUOTE_MAX];
	struct pal_pb_field g;
	struct pal_pb_msg om;
	uint64_t version = 0;
	int hd = 0, r;

	if ((r = pal_pb_enter(m, f, &om, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&om, &g, c->err)) == 1) {
		if ((r = pal_pb_known(opset_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1 && (r = pal_pb_take_once(&domain, &hd, &g,
		    "OperatorSetIdProto.domain", c->err)) != 0)
			return r;
		if (g.num == 2)
			version = g.v;
	}
	if (r < 0)
		return r;
	if (std_domain(domain) || fn_find(c, domain, NULL) ||
	    seen_before(c, 'd', domain, none))
		return 0;
	return report(c, "onnx.custom-domain", w, "opset import", domain,
	    f->off, "imports operator set '%s' version %llu, which no "
	    "runtime provides without a custom operator library%s",
	    pal_pb_quote(qd, sizeof(qd), domain),
	    (unsigned long long)version, domain_hint(domain));
}

/* metadata_props: keys that runtimes act on. */
static int
metadata_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, const struct where *w)
{
	struct pal_pb_str key, val;
	char qv[PAL_PB_QUOTE_MAX];
	size_t voff;
	int r;

	if ((r = entry_read(c, m, f, &key, &val, &voff)) != 0)
		return r;
	if (!pal_pb_str_eq(key, "ort_config"))
		return 0;
	return report(c, "onnx.runtime-config", w, "metadata", key, voff,
	    "onnxruntime reads session options from this entry: %s",
	    pal_pb_quote(qv, sizeof(qv), val));
}

static int
training_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_field g;
	struct pal_pb_msg tm;
	int r;

	if ((r = pal_pb_enter(m, f, &tm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&tm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(training_fields, &g, c->err)) != 0)
			return r;
		if ((g.num == 1 || g.num == 2) &&
		    (r = graph_scan(c, &tm, &g)) != 0)
			return r;
	}
	return r;
}

/* FunctionProto: its nodes, opset imports and attribute defaults. */
static int
function_scan(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct where w = { "function", { NULL, 0 } };
	struct pal_pb_msg fm, again;
	struct pal_pb_field g;
	int hn = 0, r;

	if ((r = pal_pb_enter(m, f, &fm, c->err)) != 0)
		return r;
	again = fm;
	while ((r = pal_pb_next(&fm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(function_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1 && (r = pal_pb_take_once(&w.name, &hn, &g,
		    "FunctionProto.name", c->err)) != 0)
			return r;
	}
	if (r < 0)
		return r;
	while ((r = pal_pb_next(&again, &g, c->err)) == 1) {
		if (g.num == 7)
			r = node_scan(c, &again, &g, &w);
		else if (g.num == 9)
			r = opset_scan(c, &again, &g, &w);
		else if (g.num == 11)
			r = attr_scan(c, &again, &g, &w);
		else
			r = 0;
		if (r != 0)
			return r;
	}
	return r;
}

/* Reads one FunctionProto's domain and name into fn. */
static int
function_id(struct onnx_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, struct onnx_fn *fn)
{
	struct pal_pb_field g;
	struct pal_pb_msg fm;
	int hn = 0, hd = 0, ho = 0, r;

	memset(fn, 0, sizeof(*fn));
	if ((r = pal_pb_enter(m, f, &fm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&fm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(function_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1)
			r = pal_pb_take_once(&fn->name, &hn, &g, "FunctionProto.name",
			    c->err);
		else if (g.num == 10)
			r = pal_pb_take_once(&fn->domain, &hd, &g,
			    "FunctionProto.domain", c->err);
		else if (g.num == 13)
			r = pal_pb_take_once(&fn->overload, &ho, &g,
			    "FunctionProto.overload", c->err);
		if (r != 0)
			return r;
	}
	return r;
}

/*
 * First pass over ModelProto: the model-local functions, so that nodes
 * calling them (wherever the functions are stored) are not taken for
 * custom operators.  The table has one entry per function field present.
 */
static int
collect_functions(struct onnx_ctx *c, struct pal_pb_msg m)
{
	struct pal_pb_msg start = m;
	struct pal_pb_field f;
	size_t n = 0;
	int r;

	while ((r = pal_pb_next(&m, &f, c->err)) == 1) {
		if ((r = pal_pb_known(model_fields, &f, c->err)) != 0)
			return r;
		if (f.num == 25 && ++n > ONNX_MAX_FUNCTIONS)
			return pal_err_set(c->err, PAL_ERR_LIMIT, "offset %zu: "
			    "more than %d model-local functions", f.off,
			    ONNX_MAX_FUNCTIONS);
	}
	if (r < 0 || n == 0)
		return r;
	if ((c->fns = calloc(n, sizeof(*c->fns))) == NULL)
		return pal_err_set(c->err, PAL_ERR_NOMEM, "out of memory");
	/* The same bytes again: n entries suffice (checked all the same). */
	while ((r = pal_pb_next(&start, &f, c->err)) == 1) {
		if (f.num != 25)
			continue;
		if (c->nfns >= n)
			return pal_err_set(c->err, PAL_ERR_INVALID, "offset "
			    "%zu: function table overflow", f.off);
		if ((r = function_id(c, &start, &f, &c->fns[c->nfns])) != 0)
			return r;
		c->nfns++;
	}
	if (r < 0)
		return r;
	qsort(c->fns, c->nfns, sizeof(*c->fns), fn_cmp);
	return 0;
}

static int
model_scan(struct onnx_ctx *c, struct pal_pb_msg m)
{
	struct where w = { NULL, { NULL, 0 } };
	struct pal_pb_field f;
	int have_ir = 0, have_graph = 0, r;

	while ((r = pal_pb_next(&m, &f, c->err)) == 1) {
		if ((r = pal_pb_known(model_fields, &f, c->err)) != 0)
			return r;
		switch (f.num) {
		case 1:
			have_ir = 1;
			break;
		case 7:
			have_graph = 1;
			r = graph_scan(c, &m, &f);
			break;
		case 8:
			r = opset_scan(c, &m, &f, &w);
			break;
		case 14:
			r = metadata_scan(c, &m, &f, &w);
			break;
		case 20:
			r = training_scan(c, &m, &f);
			break;
		case 25:
			r = function_scan(c, &m, &f);
			break;
		}
		if (r != 0)
			return r;
	}
	if (r < 0)
		return r;
	if (!have_ir)
		return pal_err_set(c->err, PAL_ERR_FORMAT, "ModelProto has no "
		    "ir_version (field 1); no runtime loads it");
	if (!have_graph)
		return pal_err_set(c->err, PAL_ERR_FORMAT, "ModelProto has no "
		    "graph (field 7); no runtime loads it");
	return 0;
}

int
pal_fmt_onnx(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct onnx_ctx c;
	struct pal_pb_msg m;
	int r;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.it = it;
	c.err = &s->err;
	if ((c.seen = calloc(SEEN_SLOTS, sizeof(*c.seen))) == NULL) {
		r = pal_err_set(c.err, PAL_ERR_NOMEM, "out of memory");
		goto out;
	}
	pal_pb_init(&m, it->data, it->len, 0, 0);
	if ((r = collect_functions(&c, m)) != 0)
		goto out;
	if ((r = model_scan(&c, m)) != 0)
		goto out;
	/*
	 * A file that is also a SavedModel shows TensorFlow a different
	 * model from the one checked here: report it and check that one too.
	 */
	if (pal_savedmodel_probe(it->data, it->len)) {
		if ((r = pal_scan_find_at(s, it, "onnx.polyglot", 0,
		    "the file is also a TensorFlow SavedModel")) != 0)
			goto out;
		r = pal_fmt_savedmodel(s, it);
	}
out:
	free(c.fns);
	free(c.seen);
	return r;
}

/*
 * The probe: the whole buffer must frame as protobuf fields (groups
 * skipped, as a runtime would), with an ir_version varint (field 1) and a
 * graph (field 7) whose own fields frame and include a node, initializer,
 * input or output, or which is empty.  A wire type that does not match a
 * known field makes protobuf treat the field as unknown, so the probe
 * does too: a file cannot hide from the scanner by a mismatch that a
 * runtime would skip over.  A SavedModel has no field 7; random bytes do
 * not frame to the end.
 */
static int
probe_graph(const struct pal_pb_msg *m, const struct pal_pb_field *f)
{
	struct pal_pb_field g;
	struct pal_pb_msg gm;
	unsigned n = 0;
	int r, core = 0;

	if (pal_pb_enter(m, f, &gm, NULL) != 0)
		return 0;
	if (f->v == 0)
		return 1;
	while ((r = pal_pb_next(&gm, &g, NULL)) == 1) {
		if (g.wire == PAL_PB_LEN && (g.num == 1 || g.num == 5 ||
		    g.num == 11 || g.num == 12))
			core = 1;
		if (++n >= PROBE_MAX_FIELDS)
			return core;
	}
	return r == 0 && core;
}

int
pal_onnx_probe(const uint8_t *data, size_t len)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	unsigned n = 0;
	int r, ir = 0, graph = 0;

	pal_pb_init(&m, data, len, 0, PAL_PB_LENIENT);
	while ((r = pal_pb_next(&m, &f, NULL)) == 1) {
		if (f.num == 1 && f.wire == PAL_PB_VARINT)
			ir = 1;
		if (f.num == 7 && f.wire == PAL_PB_LEN) {
			if (!probe_graph(&m, &f))
				return 0;
			graph = 1;
		}
		if (++n >= PROBE_MAX_FIELDS)
			break;
	}
	return r >= 0 && ir && graph;
}
