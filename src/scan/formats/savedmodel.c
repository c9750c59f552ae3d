/*
 * savedmodel.c - TensorFlow SavedModels (saved_model.pb) and the Keras
 * metadata that sits beside them (keras_metadata.pb).
 *
 * A SavedModel is a protobuf SavedModel { meta_graphs: MetaGraphDef }.
 * Each MetaGraphDef holds a GraphDef (nodes, and a library of functions
 * whose bodies are more nodes), a SaverDef naming the nodes that save and
 * restore variables, asset files, and in TF2 an object graph.  Loading a
 * SavedModel runs its restore op; serving it runs its signatures; both
 * run whatever ops the graph and the functions it calls contain.  The
 * scanner checks every node in the graph and every node of every library
 * function against a list of ops that reach outside the tensor world:
 * Python calls, file reads and writes, network, tfdbg, nested graphs.
 * docs/formats/savedmodel.md lists them with the reason for each.  The
 * table and the verdicts are shared with the text-format reader
 * (savedmodel_text.c) through savedmodel_int.h.
 *
 * Checkpoint ops (SaveV2, RestoreV2, MergeV2Checkpoints...) are what the
 * saver is made of, so they are expected in the saver's machinery: nodes
 * in the name scope of SaverDef.restore_op_name (TF1) and functions
 * reachable from the save and restore nodes (TF2).  Elsewhere they write
 * or read files at paths the graph computes and are reported.
 *
 * Asset file names (MetaGraphDef.asset_file_def, or in TF1 the
 * "saved_model_assets" collection) are joined to the assets directory by
 * the loader; one that climbs out hands the model a host file.
 *
 * Keras metadata (keras_metadata.pb, and the metadata of "_tf_keras_*"
 * user objects in older SavedModels) is JSON inside protobuf; the JSON
 * goes to the Keras configuration check shared with .keras and .h5.
 *
 * Nothing in the file is trusted: all reads go through the bounded
 * protobuf reader; the only allocation is a table of library functions,
 * one entry per function field present, capped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protobuf.h"
#include "savedmodel_int.h"
#include "scan_int.h"

const struct pal_rule pal_rules_savedmodel[] = {
	{ "tf.python-op", PAL_SEV_CRITICAL,
	  "A node calls into the Python interpreter that loads the model "
	  "(PyFunc, PyFuncStateless, EagerPyFunc)." },
	{ "tf.file-read", PAL_SEV_HIGH,
	  "A node reads files from the host (ReadFile, MatchingFiles, "
	  "ImmutableConst, file readers and file-backed datasets)." },
	{ "tf.file-write", PAL_SEV_HIGH,
	  "A node writes files on the host (WriteFile, summary writers, "
	  "dataset save and snapshot ops, PrintV2 to a file://)." },
	{ "tf.network", PAL_SEV_HIGH,
	  "A node opens network connections or serves requests (tf.data "
	  "service, RPC ops)." },
	{ "tf.checkpoint-io", PAL_SEV_MEDIUM,
	  "A checkpoint op (Save, Restore, MergeV2Checkpoints) outside the "
	  "model's saver reads or writes files at a path the graph "
	  "computes." },
	{ "tf.debug-op", PAL_SEV_MEDIUM,
	  "A tfdbg op sends tensors to the file:// or grpc:// URLs in its "
	  "debug_urls attribute." },
	{ "tf.nested-graph", PAL_SEV_MEDIUM,
	  "A node runs a serialized graph held in a tensor "
	  "(DatasetFromGraph), which is not inspected." },
	{ "tf.print", PAL_SEV_INFO,
	  "A node prints tensors to standard error or the log." },
	{ "tf.asset-path", PAL_SEV_HIGH,
	  "An asset file name leaves the SavedModel's assets directory, so "
	  "loading hands the model an arbitrary host file." },
	{ "tf.asset-symlink", PAL_SEV_HIGH,
	  "An asset file, or a directory on its way, is a symbolic link, "
	  "which TensorFlow follows out of the SavedModel's directory." },
	{ NULL, 0, NULL },
};

#define PROBE_MAX_FIELDS (1u << 20)

/* How an op is judged beyond its name. */
enum op_test {
	OP_ALWAYS = 0,
	OP_PRINT,		/* PrintV2: file:// output is a write */
	OP_DESCRIPTOR,		/* DecodeProtoV2/EncodeProto: a file source */
	OP_CHECKPOINT,		/* allowed inside the saver */
};

struct pal_tf_op {
	const char *name;
	const char *rule;
	enum op_test test;
	const char *why;
};

/*
 * The ops that matter, from TensorFlow's op registry (the REGISTER_OP calls
 * under tensorflow/core/ops).
 * There is no op that loads a library or runs a shell command: custom op
 * libraries are loaded by the Python program, not by the graph.
 */
static const struct pal_tf_op tf_ops[] = {
	{ "PyFunc", "tf.python-op", OP_ALWAYS,
	  "calls the Python function registered under its token" },
	{ "PyFuncStateless", "tf.python-op", OP_ALWAYS,
	  "calls the Python function registered under its token" },
	{ "EagerPyFunc", "tf.python-op", OP_ALWAYS,
	  "calls the Python function registered under its token" },

	{ "ReadFile", "tf.file-read", OP_ALWAYS,
	  "returns the contents of any file named by its input" },
	{ "MatchingFiles", "tf.file-read", OP_ALWAYS,
	  "lists host files matching a glob pattern" },
	{ "ImmutableConst", "tf.file-read", OP_ALWAYS,
	  "memory-maps the file named by memory_region_name" },
	{ "WholeFileReader", "tf.file-read", OP_ALWAYS,
	  "reads whole files named by a queue" },
	{ "WholeFileReaderV2", "tf.file-read", OP_ALWAYS,
	  "reads whole files named by a queue" },
	{ "TextLineReader", "tf.file-read", OP_ALWAYS,
	  "reads lines of files named by a queue" },
	{ "TextLineReaderV2", "tf.file-read", OP_ALWAYS,
	  "reads lines of files named by a queue" },
	{ "FixedLengthRecordReader", "tf.file-read", OP_ALWAYS,
	  "reads records of files named by a queue" },
	{ "FixedLengthRecordReaderV2", "tf.file-read", OP_ALWAYS,
	  "reads records of files named by a queue" },
	{ "TFRecordReader", "tf.file-read", OP_ALWAYS,
	  "reads TFRecord files named by a queue" },
	{ "TFRecordReaderV2", "tf.file-read", OP_ALWAYS,
	  "reads TFRecord files named by a queue" },
	{ "LMDBReader", "tf.file-read", OP_ALWAYS,
	  "reads LMDB databases named by a queue" },
	{ "TFRecordDataset", "tf.file-read", OP_ALWAYS,
	  "reads the TFRecord files named by its input" },
	{ "TFRecordDatasetV2", "tf.file-read", OP_ALWAYS,
	  "reads the TFRecord files named by its input" },
	{ "FixedLengthRecordDataset", "tf.file-read", OP_ALWAYS,
	  "reads the files named by its input" },
	{ "FixedLengthRecordDatasetV2", "tf.file-read", OP_ALWAYS,
	  "reads the files named by its input" },
	{ "TextLineDataset", "tf.file-read", OP_ALWAYS,
	  "reads the text files named by its input" },
	{ "CSVDataset", "tf.file-read", OP_ALWAYS,
	  "reads the CSV files named by its input" },
	{ "CSVDatasetV2", "tf.file-read", OP_ALWAYS,
	  "reads the CSV files named by its input" },
	{ "ExperimentalCSVDataset", "tf.file-read", OP_ALWAYS,
	  "reads the CSV files named by its input" },
	{ "LMDBDataset", "tf.file-read", OP_ALWAYS,
	  "reads the LMDB databases named by its input" },
	{ "ExperimentalLMDBDataset", "tf.file-read", OP_ALWAYS,
	  "reads the LMDB databases named by its input" },
	{ "SqlDataset", "tf.file-read", OP_ALWAYS,
	  "runs an SQL query on the SQLite database named by its input" },
	{ "ExperimentalSqlDataset", "tf.file-read", OP_ALWAYS,
	  "runs an SQL query on the SQLite database named by its input" },
	{ "LoadDataset", "tf.file-read", OP_ALWAYS,
	  "reads a saved dataset from the path named by its input" },
	{ "SnapshotDatasetReader", "tf.file-read", OP_ALWAYS,
	  "reads snapshot files from the path named by its input" },
	{ "SnapshotNestedDatasetReader", "tf.file-read", OP_ALWAYS,
	  "reads snapshot files" },
	{ "ListSnapshotChunksDataset", "tf.file-read", OP_ALWAYS,
	  "lists snapshot files under the path named by its input" },
	{ "FixedUnigramCandidateSampler", "tf.file-read", OP_ALWAYS,
	  "reads the vocabulary file named by its vocab_file attribute" },
	{ "GenerateVocabRemapping", "tf.file-read", OP_ALWAYS,
	  "reads the vocabulary files named by its inputs" },
	{ "LoadAndRemapMatrix", "tf.file-read", OP_ALWAYS,
	  "reads the checkpoint named by its input" },
	{ "DecodeProtoV2", "tf.file-read", OP_DESCRIPTOR,
	  "reads protobuf descriptors from the file named by "
	  "descriptor_source" },
	{ "EncodeProto", "tf.file-read", OP_DESCRIPTOR,
	  "reads protobuf descriptors from the file named by "
	  "descriptor_source" },

	{ "WriteFile", "tf.file-write", OP_ALWAYS,
	  "writes its input to any file named by its other input" },
	{ "CreateSummaryFileWriter", "tf.file-write", OP_ALWAYS,
	  "creates event files in the directory named by its input" },
	{ "CreateSummaryDbWriter", "tf.file-write", OP_ALWAYS,
	  "writes to the SQLite database named by its input" },
	{ "SaveDataset", "tf.file-write", OP_ALWAYS,
	  "writes a dataset to the path named by its input" },
	{ "SaveDatasetV2", "tf.file-write", OP_ALWAYS,
	  "writes a dataset to the path named by its input" },
	{ "DatasetToTFRecord", "tf.file-write", OP_ALWAYS,
	  "writes a dataset to the TFRecord file named by its input" },
	{ "ExperimentalDatasetToTFRecord", "tf.file-write", OP_ALWAYS,
	  "writes a dataset to the TFRecord file named by its input" },
	{ "DistributedSave", "tf.file-write", OP_ALWAYS,
	  "writes a dataset snapshot to the path named by its input" },
	{ "SnapshotDataset", "tf.file-write", OP_ALWAYS,
	  "writes snapshot files under the path named by its input" },
	{ "SnapshotDatasetV2", "tf.file-write", OP_ALWAYS,
	  "writes snapshot files under the path named by its input" },
	{ "CacheDataset", "tf.file-write", OP_ALWAYS,
	  "writes cache files at its filename input when it is not empty" },
	{ "CacheDatasetV2", "tf.file-write", OP_ALWAYS,
	  "writes cache files at its filename input when it is not empty" },
	{ "PrintV2", "tf.print", OP_PRINT,
	  "prints a string to standard error or the log" },
	{ "Print", "tf.print", OP_ALWAYS,
	  "prints tensors to standard error" },

	{ "DataServiceDataset", "tf.network", OP_ALWAYS,
	  "fetches data from the tf.data service at the address it is given" },
	{ "DataServiceDatasetV2", "tf.network", OP_ALWAYS,
	  "fetches data from the tf.data service at the address it is given" },
	{ "DataServiceDatasetV3", "tf.network", OP_ALWAYS,
	  "fetches data from the tf.data service at the address it is given" },
	{ "DataServiceDatasetV4", "tf.network", OP_ALWAYS,
	  "fetches data from the tf.data service at the address it is given" },
	{ "RegisterDataset", "tf.network", OP_ALWAYS,
	  "sends a dataset to the tf.data service at the address it is given" },
	{ "RegisterDatasetV2", "tf.network", OP_ALWAYS,
	  "sends a dataset to the tf.data service at the address it is given" },
	{ "Rpc", "tf.network", OP_ALWAYS,
	  "sends requests to the address named by its input" },
	{ "TryRpc", "tf.network", OP_ALWAYS,
	  "sends requests to the address named by its input" },
	{ "RpcClient", "tf.network", OP_ALWAYS,
	  "connects to the RPC server named by its input" },
	{ "RpcCall", "tf.network", OP_ALWAYS,
	  "calls a method on a remote RPC server" },
	{ "RpcServer", "tf.network", OP_ALWAYS,
	  "listens on the address named by its input" },
	{ "RpcServerStart", "tf.network", OP_ALWAYS,
	  "starts serving RPC requests" },
	{ "RpcServerRegister", "tf.network", OP_ALWAYS,
	  "exposes a function of the model to remote callers" },

	{ "DebugIdentity", "tf.debug-op", OP_ALWAYS,
	  "sends its input to the URLs in debug_urls" },
	{ "DebugIdentityV2", "tf.debug-op", OP_ALWAYS,
	  "writes its input to the tfdbg dump root it is given" },
	{ "DebugIdentityV3", "tf.debug-op", OP_ALWAYS,
	  "sends its input to the URLs in debug_urls" },
	{ "DebugNanCount", "tf.debug-op", OP_ALWAYS,
	  "sends a summary of its input to the URLs in debug_urls" },
	{ "DebugNumericSummary", "tf.debug-op", OP_ALWAYS,
	  "sends a summary of its input to the URLs in debug_urls" },

	{ "DatasetFromGraph", "tf.nested-graph", OP_ALWAYS,
	  "runs the serialized GraphDef given as its input" },

	{ "Save", "tf.checkpoint-io", OP_CHECKPOINT,
	  "writes a checkpoint at the path named by its input" },
	{ "SaveV2", "tf.checkpoint-io", OP_CHECKPOINT,
	  "writes a checkpoint at the path named by its input" },
	{ "SaveSlices", "tf.checkpoint-io", OP_CHECKPOINT,
	  "writes a checkpoint at the path named by its input" },
	{ "Restore", "tf.checkpoint-io", OP_CHECKPOINT,
	  "reads the checkpoint named by its input" },
	{ "RestoreV2", "tf.checkpoint-io", OP_CHECKPOINT,
	  "reads the checkpoint named by its input" },
	{ "RestoreSlice", "tf.checkpoint-io", OP_CHECKPOINT,
	  "reads the checkpoint named by its input" },
	{ "MergeV2Checkpoints", "tf.checkpoint-io", OP_CHECKPOINT,
	  "writes a merged checkpoint and deletes the source directories" },
	{ NULL, NULL, OP_ALWAYS, NULL },
};

#define V PAL_PB_W(PAL_PB_VARINT)
#define L PAL_PB_W(PAL_PB_LEN)
#define F32 PAL_PB_W(PAL_PB_I32)

static const struct pal_pb_fspec savedmodel_fields[] = {
	{ 1, V, "SavedModel.saved_model_schema_version" },
	{ 2, L, "SavedModel.meta_graphs" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec meta_fields[] = {
	{ 1, L, "MetaGraphDef.meta_info_def" },
	{ 2, L, "MetaGraphDef.graph_def" },
	{ 3, L, "MetaGraphDef.saver_def" },
	{ 4, L, "MetaGraphDef.collection_def" },
	{ 5, L, "MetaGraphDef.signature_def" },
	{ 6, L, "MetaGraphDef.asset_file_def" },
	{ 7, L, "MetaGraphDef.object_graph_def" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec graph_fields[] = {
	{ 1, L, "GraphDef.node" },
	{ 2, L, "GraphDef.library" },
	{ 3, V, "GraphDef.version" },
	{ 4, L, "GraphDef.versions" },
	{ 5, L, "GraphDef.debug_info" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec node_fields[] = {
	{ 1, L, "NodeDef.name" },
	{ 2, L, "NodeDef.op" },
	{ 3, L, "NodeDef.input" },
	{ 4, L, "NodeDef.device" },
	{ 5, L, "NodeDef.attr" },
	{ 6, L, "NodeDef.experimental_debug_info" },
	{ 7, L, "NodeDef.experimental_type" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec attr_entry_fields[] = {
	{ 1, L, "NodeDef.attr.key" },
	{ 2, L, "NodeDef.attr.value" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec attr_value_fields[] = {
	{ 1, L, "AttrValue.list" },
	{ 2, L, "AttrValue.s" },
	{ 3, V, "AttrValue.i" },
	{ 4, F32, "AttrValue.f" },
	{ 5, V, "AttrValue.b" },
	{ 6, V, "AttrValue.type" },
	{ 7, L, "AttrValue.shape" },
	{ 8, L, "AttrValue.tensor" },
	{ 9, L, "AttrValue.placeholder" },
	{ 10, L, "AttrValue.func" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec list_fields[] = {
	{ 2, L, "AttrValue.ListValue.s" },
	{ 3, V | L, "AttrValue.ListValue.i" },
	{ 4, F32 | L, "AttrValue.ListValue.f" },
	{ 5, V | L, "AttrValue.ListValue.b" },
	{ 6, V | L, "AttrValue.ListValue.type" },
	{ 7, L, "AttrValue.ListValue.shape" },
	{ 8, L, "AttrValue.ListValue.tensor" },
	{ 9, L, "AttrValue.ListValue.func" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec name_attr_fields[] = {
	{ 1, L, "NameAttrList.name" },
	{ 2, L, "NameAttrList.attr" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec library_fields[] = {
	{ 1, L, "FunctionDefLibrary.function" },
	{ 2, L, "FunctionDefLibrary.gradient" },
	{ 3, L, "FunctionDefLibrary.registered_gradients" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec function_fields[] = {
	{ 1, L, "FunctionDef.signature" },
	{ 3, L, "FunctionDef.node_def" },
	{ 4, L, "FunctionDef.ret" },
	{ 5, L, "FunctionDef.attr" },
	{ 6, L, "FunctionDef.control_ret" },
	{ 7, L, "FunctionDef.arg_attr" },
	{ 8, L, "FunctionDef.resource_arg_unique_id" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec opdef_fields[] = {
	{ 1, L, "OpDef.name" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec saver_fields[] = {
	{ 1, L, "SaverDef.filename_tensor_name" },
	{ 2, L, "SaverDef.save_tensor_name" },
	{ 3, L, "SaverDef.restore_op_name" },
	{ 4, V, "SaverDef.max_to_keep" },
	{ 5, V, "SaverDef.sharded" },
	{ 6, F32, "SaverDef.keep_checkpoint_every_n_hours" },
	{ 7, V, "SaverDef.version" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec asset_fields[] = {
	{ 1, L, "AssetFileDef.tensor_info" },
	{ 2, L, "AssetFileDef.filename" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec entry_fields[] = {
	{ 1, L, "map entry key" },
	{ 2, L, "map entry value" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec collection_fields[] = {
	{ 1, L, "CollectionDef.node_list" },
	{ 2, L, "CollectionDef.bytes_list" },
	{ 3, L, "CollectionDef.int64_list" },
	{ 4, L, "CollectionDef.float_list" },
	{ 5, L, "CollectionDef.any_list" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec any_list_fields[] = {
	{ 1, L, "CollectionDef.AnyList.value" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec any_fields[] = {
	{ 1, L, "Any.type_url" },
	{ 2, L, "Any.value" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec object_graph_fields[] = {
	{ 1, L, "SavedObjectGraph.nodes" },
	{ 2, L, "SavedObjectGraph.concrete_functions" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec object_fields[] = {
	{ 4, L, "SavedObject.user_object" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec user_object_fields[] = {
	{ 1, L, "SavedUserObject.identifier" },
	{ 2, L, "SavedUserObject.version" },
	{ 3, L, "SavedUserObject.metadata" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec keras_meta_fields[] = {
	{ 1, L, "SavedMetadata.nodes" },
	{ 0, 0, NULL },
};

static const struct pal_pb_fspec keras_node_fields[] = {
	{ 2, V, "SavedMetadata.SavedObject.node_id" },
	{ 3, L, "SavedMetadata.SavedObject.node_path" },
	{ 4, L, "SavedMetadata.SavedObject.identifier" },
	{ 5, L, "SavedMetadata.SavedObject.metadata" },
	{ 6, L, "SavedMetadata.SavedObject.version" },
	{ 0, 0, NULL },
};

#undef V
#undef L
#undef F32

/* A library function: its name, its body, and whether the saver runs it. */
struct tf_fn {
	struct pal_pb_str name;
	struct pal_pb_msg body;		/* the FunctionDef */
	int saver;
};

struct tf_ctx {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	struct pal_err *err;
	struct tf_fn *fns;		/* sorted by name */
	size_t nfns, cap;
	size_t *queue;			/* functions to mark, nfns entries */
	struct pal_tf_saver saver;
};

static int
fn_cmp(const void *x, const void *y)
{
	const struct tf_fn *a = x, *b = y;

	return pal_pb_str_cmp(a->name, b->name);
}

/* Index of the library function called name, or -1. */
static long
fn_index(const struct tf_ctx *c, struct pal_pb_str name)
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

int
pal_tf_report(struct pal_scan *s, const struct pal_scan_item *it,
    const char *rule, const char *where, struct pal_pb_str name,
    const char *at, const char *fmt, ...)
{
	char qn[PAL_PB_QUOTE_MAX], loc[1024], reason[2048];
	va_list ap;
	int n;

	/* Past the cap the driver only counts: spare the formatting. */
	if (s->results[it->result].nfindings >=
	    pal_scan_limits(s)->max_findings)
		return pal_scan_find(s, it, rule, NULL, "%s", "");
	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		reason[0] = '\0';
	else if ((size_t)n >= sizeof(reason))
		memcpy(reason + sizeof(reason) - 4, "...", 4);
	/* where holds at most one quoted name: two and the words fit. */
	_Static_assert(2 * PAL_PB_QUOTE_MAX + 16 + 64 + 64 < sizeof(loc),
	    "location buffer too small for two quoted names");
	n = snprintf(loc, sizeof(loc), "node '%s' in %s (%s)",
	    pal_pb_quote(qn, sizeof(qn), name), where, at);
	if (n < 0)
		loc[0] = '\0';
	else if ((size_t)n >= sizeof(loc))
		memcpy(loc + sizeof(loc) - 4, "...", 4);
	return pal_scan_find(s, it, rule, loc, "%s", reason);
}

const struct pal_tf_op *
pal_tf_op_lookup(struct pal_pb_str op)
{
	const struct pal_tf_op *o;

	for (o = tf_ops; o->name != NULL; o++)
		if (pal_pb_str_eq(op, o->name))
			return o;
	return NULL;
}

/* The AttrValue.s of the node attribute called key, or an empty string. */
static int
node_attr_s(struct tf_ctx *c, struct pal_pb_msg nm, const char *key,
    struct pal_pb_str *out, int *found)
{
	struct pal_pb_field f, g, h;
	struct pal_pb_msg em, vm;
	int r;

	out->p = NULL;
	out->n = 0;
	*found = 0;
	while ((r = pal_pb_next(&nm, &f, c->err)) == 1) {
		struct pal_pb_str k = { NULL, 0 };
		struct pal_pb_field value = { 0 };
		int hv = 0;

		if (f.num != 5)
			continue;
		if ((r = pal_pb_enter(&nm, &f, &em, c->err)) != 0)
			return r;
		/* A map entry's key and value come in either order. */
		while ((r = pal_pb_next(&em, &g, c->err)) == 1) {
			if ((r = pal_pb_known(attr_entry_fields, &g, c->err)) != 0)
				return r;
			if (g.num == 1)
				k = pal_pb_str_of(&g);
			else if (g.num == 2) {
				value = g;
				hv = 1;
			}
		}
		if (r < 0)
			return r;
		if (!hv || !pal_pb_str_eq(k, key))
			continue;
		if ((r = pal_pb_enter(&em, &value, &vm, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&vm, &h, c->err)) == 1)
			if (h.num == 2 && h.wire == PAL_PB_LEN) {
				*out = pal_pb_str_of(&h);
				*found = 1;
			}
		if (r < 0)
			return r;
	}
	return r;
}

const char *
pal_tf_op_attr(const struct pal_tf_op *o)
{
	switch (o->test) {
	case OP_PRINT:
		return "output_stream";
	case OP_DESCRIPTOR:
		return "descriptor_source";
	case OP_ALWAYS:
	case OP_CHECKPOINT:
		break;
	}
	return NULL;
}

/*
 * PrintV2 to a file is a write, DecodeProtoV2 with the default or inline
 * descriptors reads nothing, checkpoint ops in the saver are fine.
 */
int
pal_tf_op_judge(const struct pal_tf_op *o, int in_saver,
    const struct pal_pb_str *attr, const char **rule, const char **why)
{
	*rule = o->rule;
	*why = o->why;
	switch (o->test) {
	case OP_ALWAYS:
		return 1;
	case OP_CHECKPOINT:
		return !in_saver;
	case OP_PRINT:
		if (attr != NULL && pal_pb_str_prefix(*attr, "file://")) {
			*rule = "tf.file-write";
			*why = "appends its input to the file named by "
			    "output_stream";
		}
		return 1;
	case OP_DESCRIPTOR:
		return attr != NULL && !pal_pb_str_eq(*attr, "local://") &&
		    !pal_pb_str_prefix(*attr, "bytes://");
	}
	return 1;
}

/* The verdict on a node, with the attribute the op's test needs. */
static int
judge_op(struct tf_ctx *c, struct pal_pb_msg nm, const struct pal_tf_op *o,
    int in_saver, const char **rule, const char **why)
{
	const char *key = pal_tf_op_attr(o);
	struct pal_pb_str v;
	int found = 0, r;

	if (key != NULL &&
	    (r = node_attr_s(c, nm, key, &v, &found)) != 0)
		return r;
	return pal_tf_op_judge(o, in_saver, found ? &v : NULL, rule, why);
}

int
pal_tf_saver_node(const struct pal_tf_saver *sv, struct pal_pb_str name)
{
	if (sv->scope.n > 0 && name.n > sv->scope.n &&
	    memcmp(name.p, sv->scope.p, sv->scope.n) == 0)
		return 1;
	return (sv->save.n > 0 && pal_pb_str_same(name, sv->save)) ||
	    (sv->restore.n > 0 && pal_pb_str_same(name, sv->restore));
}

int
pal_tf_saver_endpoint(const struct pal_tf_saver *sv, struct pal_pb_str name)
{
	return pal_pb_str_same(name, sv->save) ||
	    pal_pb_str_same(name, sv->restore);
}

/*
 * NodeDef: name and op (each at most once), then the op's verdict.
 * in_saver is 1 or 0 for a function's nodes, -1 for the graph's own.
 */
static int
node_check(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, const char *where, int in_saver)
{
	struct pal_pb_str name = { NULL, 0 }, op = { NULL, 0 };
	const char *rule = NULL, *why = NULL;
	char qo[PAL_PB_QUOTE_MAX], at[32];
	const struct pal_tf_op *o;
	struct pal_pb_msg nm, start;
	struct pal_pb_field g;
	int hn = 0, ho = 0, r;

	if ((r = pal_pb_enter(m, f, &nm, c->err)) != 0)
		return r;
	start = nm;
	while ((r = pal_pb_next(&nm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(node_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1)
			r = pal_pb_take_once(&name, &hn, &g, "NodeDef.name", c->err);
		else if (g.num == 2)
			r = pal_pb_take_once(&op, &ho, &g, "NodeDef.op", c->err);
		if (r != 0)
			return r;
	}
	if (r < 0 || (o = pal_tf_op_lookup(op)) == NULL)
		return r;
	if (in_saver < 0)
		in_saver = pal_tf_saver_node(&c->saver, name);
	if ((r = judge_op(c, start, o, in_saver, &rule, &why)) <= 0)
		return r;
	snprintf(at, sizeof(at), "offset %zu", f->off);
	return pal_tf_report(c->s, c->it, rule, where, name, at, "op %s %s",
	    pal_pb_quote(qo, sizeof(qo), op), why);
}

/* A node name from a tensor or control name: "^a/b:0" is node "a/b". */
static struct pal_pb_str
node_of(struct pal_pb_str t)
{
	size_t i;

	if (t.n > 0 && t.p[0] == '^') {
		t.p++;
		t.n--;
	}
	for (i = t.n; i > 0; i--)
		if (t.p[i - 1] == ':') {
			t.n = i - 1;
			break;
		}
	return t;
}

void
pal_tf_saver_set(struct pal_tf_saver *sv, struct pal_pb_str save_tensor,
    struct pal_pb_str restore_op)
{
	size_t i;

	sv->save = node_of(save_tensor);
	sv->restore = node_of(restore_op);
	sv->scope.p = sv->restore.p;
	sv->scope.n = 0;
	for (i = sv->restore.n; i > 0; i--)
		if (sv->restore.p[i - 1] == '/') {
			sv->scope.n = i;
			break;
		}
}

/* SaverDef: the save and restore nodes, and in TF1 their name scope. */
static int
saver_read(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_str save = { NULL, 0 }, restore = { NULL, 0 };
	struct pal_pb_field g;
	struct pal_pb_msg sm;
	int hs = 0, hr = 0, r;

	if ((r = pal_pb_enter(m, f, &sm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&sm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(saver_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 2)
			r = pal_pb_take_once(&save, &hs, &g, "SaverDef.save_tensor_name",
			    c->err);
		else if (g.num == 3)
			r = pal_pb_take_once(&restore, &hr, &g,
			    "SaverDef.restore_op_name", c->err);
		if (r != 0)
			return r;
	}
	if (r < 0)
		return r;
	pal_tf_saver_set(&c->saver, save, restore);
	return 0;
}

/* Marks a library function as run by the saver, queueing it once. */
static void
mark(struct tf_ctx *c, struct pal_pb_str name, size_t *nq)
{
	long i = fn_index(c, name);

	if (i < 0 || c->fns[i].saver)
		return;
	c->fns[i].saver = 1;
	c->queue[(*nq)++] = (size_t)i;
}

static int attr_value_funcs(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, size_t *nq);

/* NameAttrList: the function it names, and functions in its attrs. */
static int
name_attr_funcs(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, size_t *nq)
{
	struct pal_pb_field g, h;
	struct pal_pb_msg nm, em;
	int r;

	if ((r = pal_pb_enter(m, f, &nm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&nm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(name_attr_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1)
			mark(c, pal_pb_str_of(&g), nq);
		if (g.num != 2)
			continue;
		if ((r = pal_pb_enter(&nm, &g, &em, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&em, &h, c->err)) == 1)
			if (h.num == 2 &&
			    (r = attr_value_funcs(c, &em, &h, nq)) != 0)
				return r;
		if (r < 0)
			return r;
	}
	return r;
}

/* AttrValue: functions named by func, or by a list of them. */
static int
attr_value_funcs(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, size_t *nq)
{
	struct pal_pb_field g, h;
	struct pal_pb_msg vm, lm;
	int r;

	if ((r = pal_pb_enter(m, f, &vm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&vm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(attr_value_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 10 && (r = name_attr_funcs(c, &vm, &g, nq)) != 0)
			return r;
		if (g.num != 1)
			continue;
		if ((r = pal_pb_enter(&vm, &g, &lm, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&lm, &h, c->err)) == 1) {
			if ((r = pal_pb_known(list_fields, &h, c->err)) != 0)
				return r;
			if (h.num == 9 &&
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
node_funcs(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, size_t *nq)
{
	struct pal_pb_field g, h;
	struct pal_pb_msg nm, em;
	int r;

	if ((r = pal_pb_enter(m, f, &nm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&nm, &g, c->err)) == 1) {
		if (g.num == 2 && g.wire == PAL_PB_LEN)
			mark(c, pal_pb_str_of(&g), nq);
		if (g.num != 5 || g.wire != PAL_PB_LEN)
			continue;
		if ((r = pal_pb_enter(&nm, &g, &em, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&em, &h, c->err)) == 1)
			if (h.num == 2 && h.wire == PAL_PB_LEN &&
			    (r = attr_value_funcs(c, &em, &h, nq)) != 0)
				return r;
		if (r < 0)
			return r;
	}
	return r;
}

/* The name of a NodeDef, for matching the saver's nodes. */
static int
node_name(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, struct pal_pb_str *name)
{
	struct pal_pb_field g;
	struct pal_pb_msg nm;
	int r;

	name->p = NULL;
	name->n = 0;
	if ((r = pal_pb_enter(m, f, &nm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&nm, &g, c->err)) == 1)
		if (g.num == 1 && g.wire == PAL_PB_LEN)
			*name = pal_pb_str_of(&g);
	return r;
}

/*
 * Marks the functions the saver runs: those the save and restore nodes
 * call, and everything those call in turn.  Each function is queued once,
 * so the walk is linear in the library's size.
 */
static int
mark_saver(struct tf_ctx *c, struct pal_pb_msg mm)
{
	struct pal_pb_field f, g, h;
	struct pal_pb_msg gm, fm;
	struct pal_pb_str name;
	size_t nq = 0, qi;
	int r;

	if (c->nfns == 0 || (c->saver.save.n == 0 && c->saver.restore.n == 0))
		return 0;
	while ((r = pal_pb_next(&mm, &f, c->err)) == 1) {
		if (f.num != 2)
			continue;
		if ((r = pal_pb_enter(&mm, &f, &gm, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&gm, &g, c->err)) == 1) {
			if (g.num != 1)
				continue;
			if ((r = node_name(c, &gm, &g, &name)) != 0)
				return r;
			if (pal_tf_saver_endpoint(&c->saver, name) &&
			    (r = node_funcs(c, &gm, &g, &nq)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	for (qi = 0; qi < nq; qi++) {
		fm = c->fns[c->queue[qi]].body;
		while ((r = pal_pb_next(&fm, &h, c->err)) == 1)
			if (h.num == 3 && (r = node_funcs(c, &fm, &h, &nq)) != 0)
				return r;
		if (r < 0)
			return r;
	}
	return 0;
}

/* FunctionDef.signature: OpDef.name. */
static int
function_name(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f, struct pal_pb_str *name)
{
	struct pal_pb_field g, h;
	struct pal_pb_msg fm, om;
	int hn = 0, r;

	name->p = NULL;
	name->n = 0;
	if ((r = pal_pb_enter(m, f, &fm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&fm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(function_fields, &g, c->err)) != 0)
			return r;
		if (g.num != 1)
			continue;
		if ((r = pal_pb_enter(&fm, &g, &om, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&om, &h, c->err)) == 1) {
			if ((r = pal_pb_known(opdef_fields, &h, c->err)) != 0)
				return r;
			if (h.num == 1 && (r = pal_pb_take_once(name, &hn, &h,
			    "OpDef.name", c->err)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/*
 * Calls fn for every FunctionDef in every library of every graph_def of
 * the MetaGraphDef mm.
 */
typedef int (*fn_visit)(struct tf_ctx *, const struct pal_pb_msg *,
    const struct pal_pb_field *);

static int
each_function(struct tf_ctx *c, struct pal_pb_msg mm, fn_visit visit)
{
	struct pal_pb_field f, g, h;
	struct pal_pb_msg gm, lm;
	int r;

	while ((r = pal_pb_next(&mm, &f, c->err)) == 1) {
		if (f.num != 2)
			continue;
		if ((r = pal_pb_enter(&mm, &f, &gm, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&gm, &g, c->err)) == 1) {
			if ((r = pal_pb_known(graph_fields, &g, c->err)) != 0)
				return r;
			if (g.num != 2)
				continue;
			if ((r = pal_pb_enter(&gm, &g, &lm, c->err)) != 0)
				return r;
			while ((r = pal_pb_next(&lm, &h, c->err)) == 1) {
				if ((r = pal_pb_known(library_fields, &h, c->err)) != 0)
					return r;
				if (h.num == 1 && (r = visit(c, &lm, &h)) != 0)
					return r;
			}
			if (r < 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

static int
count_fn(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	if (++c->nfns > PAL_TF_MAX_FUNCTIONS)
		return pal_err_set(c->err, PAL_ERR_LIMIT, "offset %zu: more "
		    "than %u library functions", f->off, PAL_TF_MAX_FUNCTIONS);
	(void)m;
	return 0;
}

static int
add_fn(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct tf_fn *fn;
	int r;

	/* The counting pass saw the same bytes; this cannot happen. */
	if (c->nfns >= c->cap)
		return pal_err_set(c->err, PAL_ERR_INVALID, "offset %zu: "
		    "function table overflow", f->off);
	fn = &c->fns[c->nfns];
	memset(fn, 0, sizeof(*fn));
	if ((r = function_name(c, m, f, &fn->name)) != 0)
		return r;
	if ((r = pal_pb_enter(m, f, &fn->body, c->err)) != 0)
		return r;
	c->nfns++;
	return 0;
}

/* The library's functions, sorted by name for the saver's marking. */
static int
collect_functions(struct tf_ctx *c, struct pal_pb_msg mm)
{
	size_t n;
	int r;

	c->nfns = 0;
	if ((r = each_function(c, mm, count_fn)) != 0)
		return r;
	if ((n = c->nfns) == 0)
		return 0;
	c->nfns = 0;
	c->cap = n;
	c->fns = calloc(n, sizeof(*c->fns));
	c->queue = calloc(n, sizeof(*c->queue));
	if (c->fns == NULL || c->queue == NULL)
		return pal_err_set(c->err, PAL_ERR_NOMEM, "out of memory");
	if ((r = each_function(c, mm, add_fn)) != 0)
		return r;
	qsort(c->fns, c->nfns, sizeof(*c->fns), fn_cmp);
	return 0;
}

/* Every node of every library function, with the saver's allowance. */
static int
check_functions(struct tf_ctx *c)
{
	char where[PAL_PB_QUOTE_MAX + 16], qf[PAL_PB_QUOTE_MAX];
	struct pal_pb_msg fm;
	struct pal_pb_field g;
	size_t i;
	int r;

	/* "function '" and "'" around one quoted name always fit. */
	_Static_assert(PAL_PB_QUOTE_MAX + 16 <= sizeof(where),
	    "room for a quoted function name");
	for (i = 0; i < c->nfns; i++) {
		fm = c->fns[i].body;
		snprintf(where, sizeof(where), "function '%s'",
		    pal_pb_quote(qf, sizeof(qf), c->fns[i].name));
		while ((r = pal_pb_next(&fm, &g, c->err)) == 1) {
			if ((r = pal_pb_known(function_fields, &g, c->err)) != 0)
				return r;
			if (g.num == 3 && (r = node_check(c, &fm, &g, where,
			    c->fns[i].saver)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* The graph's own nodes (not its library, checked by function). */
static int
graph_check(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_field g;
	struct pal_pb_msg gm;
	int r;

	if ((r = pal_pb_enter(m, f, &gm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&gm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(graph_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1 && (r = node_check(c, &gm, &g, "graph", -1)) != 0)
			return r;
	}
	return r;
}

int
pal_tf_asset(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_pb_str name, const char *loc)
{
	char qn[PAL_PB_QUOTE_MAX];
	const char *why;

	pal_pb_quote(qn, sizeof(qn), name);
	if ((why = pal_pb_path_problem(name)) != NULL)
		return pal_scan_find(s, it, "tf.asset-path", loc,
		    "asset file '%s': %s", qn, why);
	if (it->dir != NULL && it->depth == 0 &&
	    pal_pb_path_symlink(it->dir, "assets", name))
		return pal_scan_find(s, it, "tf.asset-symlink", loc,
		    "asset file '%s' is or passes through a symbolic link",
		    qn);
	return 0;
}

/* AssetFileDef: a file name relative to the assets directory. */
static int
asset_check(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_str name = { NULL, 0 };
	struct pal_pb_field g;
	struct pal_pb_msg am;
	char loc[32];
	size_t off = f->off;
	int hn = 0, r;

	if ((r = pal_pb_enter(m, f, &am, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&am, &g, c->err)) == 1) {
		if ((r = pal_pb_known(asset_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 2) {
			if ((r = pal_pb_take_once(&name, &hn, &g,
			    "AssetFileDef.filename", c->err)) != 0)
				return r;
			off = g.val_off;
		}
	}
	if (r < 0 || !hn)
		return r;
	snprintf(loc, sizeof(loc), "offset %zu", off);
	return pal_tf_asset(c->s, c->it, name, loc);
}

/* Any { type_url, value }: an AssetFileDef is checked like the others. */
static int
any_asset_check(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_str url = { NULL, 0 };
	struct pal_pb_field g, value;
	struct pal_pb_msg am;
	int hu = 0, hv = 0, r;

	if ((r = pal_pb_enter(m, f, &am, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&am, &g, c->err)) == 1) {
		if ((r = pal_pb_known(any_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1)
			r = pal_pb_take_once(&url, &hu, &g, "Any.type_url", c->err);
		else if (g.num == 2) {
			if (hv++)
				return pal_err_set(c->err, PAL_ERR_FORMAT,
				    "offset %zu: field 2 (Any.value) appears "
				    "twice", g.off);
			value = g;
		}
		if (r != 0)
			return r;
	}
	/* TensorFlow unpacks only an AssetFileDef; anything else fails. */
	if (r < 0 || !hv || url.n < 23 || memcmp(url.p + url.n - 23,
	    "tensorflow.AssetFileDef", 23) != 0)
		return r;
	return asset_check(c, &am, &value);
}

/*
 * collection_def: TF1 SavedModels list their assets in the collection
 * "saved_model_assets", as Any-wrapped AssetFileDefs; the loader reads
 * them there when asset_file_def is empty.
 */
static int
collection_check(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_str key = { NULL, 0 };
	struct pal_pb_field g, value;
	struct pal_pb_msg em, cm, lm;
	int hk = 0, hv = 0, r;

	if ((r = pal_pb_enter(m, f, &em, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&em, &g, c->err)) == 1) {
		if ((r = pal_pb_known(entry_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 1)
			r = pal_pb_take_once(&key, &hk, &g, "collection_def key",
			    c->err);
		else if (g.num == 2) {
			if (hv++)
				return pal_err_set(c->err, PAL_ERR_FORMAT,
				    "offset %zu: field 2 (collection_def "
				    "value) appears twice", g.off);
			value = g;
		}
		if (r != 0)
			return r;
	}
	if (r < 0 || !hv || !pal_pb_str_eq(key, "saved_model_assets"))
		return r;
	if ((r = pal_pb_enter(&em, &value, &cm, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&cm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(collection_fields, &g, c->err)) != 0)
			return r;
		if (g.num != 5)
			continue;
		if ((r = pal_pb_enter(&cm, &g, &lm, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&lm, &value, c->err)) == 1) {
			if ((r = pal_pb_known(any_list_fields, &value, c->err)) != 0)
				return r;
			if (value.num == 1 &&
			    (r = any_asset_check(c, &lm, &value)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

int
pal_tf_keras_json(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_pb_str ident, struct pal_pb_str json, const char *at)
{
	int r;

	if (!pal_pb_str_prefix(ident, "_tf_keras") || json.n == 0)
		return 0;
	if ((r = pal_keras_check_config(s, it, (const char *)json.p,
	    json.n)) != 0 && r != PAL_ERR_NOMEM)
		return pal_err_wrap(&s->err, r, "Keras metadata at %s: ", at);
	return r;
}

/* Hands Keras metadata JSON to the shared Keras configuration check. */
static int
keras_json(struct tf_ctx *c, struct pal_pb_str ident, struct pal_pb_str json,
    size_t off)
{
	char at[32];

	snprintf(at, sizeof(at), "offset %zu", off);
	return pal_tf_keras_json(c->s, c->it, ident, json, at);
}

/* SavedObjectGraph: Keras user objects of TF 2.0-2.4 carry JSON. */
static int
objects_check(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_field g, h, k;
	struct pal_pb_msg om, nm, um;
	int r;

	if ((r = pal_pb_enter(m, f, &om, c->err)) != 0)
		return r;
	while ((r = pal_pb_next(&om, &g, c->err)) == 1) {
		if ((r = pal_pb_known(object_graph_fields, &g, c->err)) != 0)
			return r;
		if (g.num != 1)
			continue;
		if ((r = pal_pb_enter(&om, &g, &nm, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&nm, &h, c->err)) == 1) {
			struct pal_pb_str id = { NULL, 0 }, md = { NULL, 0 };
			int hi = 0, hm = 0;
			size_t moff = h.off;

			if ((r = pal_pb_known(object_fields, &h, c->err)) != 0)
				return r;
			if (h.num != 4)
				continue;
			if ((r = pal_pb_enter(&nm, &h, &um, c->err)) != 0)
				return r;
			while ((r = pal_pb_next(&um, &k, c->err)) == 1) {
				if ((r = pal_pb_known(user_object_fields, &k,
				    c->err)) != 0)
					return r;
				if (k.num == 1)
					r = pal_pb_take_once(&id, &hi, &k,
					    "SavedUserObject.identifier", c->err);
				else if (k.num == 3) {
					r = pal_pb_take_once(&md, &hm, &k,
					    "SavedUserObject.metadata", c->err);
					moff = k.val_off;
				}
				if (r != 0)
					return r;
			}
			if (r < 0 || (r = keras_json(c, id, md, moff)) != 0)
				return r;
		}
		if (r < 0)
			return r;
	}
	return r;
}

/* One MetaGraphDef: saver, library, nodes, assets, object graph. */
static int
meta_scan(struct tf_ctx *c, const struct pal_pb_msg *m,
    const struct pal_pb_field *f)
{
	struct pal_pb_msg mm, again;
	struct pal_pb_field g;
	int hs = 0, r;

	memset(&c->saver, 0, sizeof(c->saver));
	if ((r = pal_pb_enter(m, f, &mm, c->err)) != 0)
		return r;
	again = mm;
	while ((r = pal_pb_next(&mm, &g, c->err)) == 1) {
		if ((r = pal_pb_known(meta_fields, &g, c->err)) != 0)
			return r;
		if (g.num == 3) {
			if (hs++)
				return pal_err_set(c->err, PAL_ERR_FORMAT,
				    "offset %zu: field 3 (MetaGraphDef."
				    "saver_def) appears twice", g.off);
			if ((r = saver_read(c, &mm, &g)) != 0)
				return r;
		}
	}
	if (r < 0)
		return r;
	if ((r = collect_functions(c, again)) != 0 ||
	    (r = mark_saver(c, again)) != 0 ||
	    (r = check_functions(c)) != 0)
		return r;
	while ((r = pal_pb_next(&again, &g, c->err)) == 1) {
		if (g.num == 2)
			r = graph_check(c, &again, &g);
		else if (g.num == 4)
			r = collection_check(c, &again, &g);
		else if (g.num == 6)
			r = asset_check(c, &again, &g);
		else if (g.num == 7)
			r = objects_check(c, &again, &g);
		else
			r = 0;
		if (r != 0)
			return r;
	}
	return r;
}

static int
savedmodel_scan(struct tf_ctx *c)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	int r, metas = 0;

	pal_pb_init(&m, c->it->data, c->it->len, 0, 0);
	while ((r = pal_pb_next(&m, &f, c->err)) == 1) {
		if ((r = pal_pb_known(savedmodel_fields, &f, c->err)) != 0)
			return r;
		if (f.num != 2)
			continue;
		metas++;
		r = meta_scan(c, &m, &f);
		free(c->fns);
		free(c->queue);
		c->fns = NULL;
		c->queue = NULL;
		c->nfns = c->cap = 0;
		if (r != 0)
			return r;
	}
	if (r == 0 && metas == 0)
		return pal_err_set(c->err, PAL_ERR_FORMAT, "SavedModel has no "
		    "meta graph (field 2)");
	return r;
}

/* keras_metadata.pb: SavedMetadata { nodes: { identifier, metadata } }. */
static int
keras_metadata_scan(struct tf_ctx *c)
{
	struct pal_pb_field f, g;
	struct pal_pb_msg m, nm;
	int r;

	pal_pb_init(&m, c->it->data, c->it->len, 0, 0);
	while ((r = pal_pb_next(&m, &f, c->err)) == 1) {
		struct pal_pb_str id = { NULL, 0 }, md = { NULL, 0 };
		int hi = 0, hm = 0;
		size_t moff = f.off;

		if ((r = pal_pb_known(keras_meta_fields, &f, c->err)) != 0)
			return r;
		if (f.num != 1)
			continue;
		if ((r = pal_pb_enter(&m, &f, &nm, c->err)) != 0)
			return r;
		while ((r = pal_pb_next(&nm, &g, c->err)) == 1) {
			if ((r = pal_pb_known(keras_node_fields, &g, c->err)) != 0)
				return r;
			if (g.num == 4)
				r = pal_pb_take_once(&id, &hi, &g,
				    "SavedMetadata.SavedObject.identifier",
				    c->err);
			else if (g.num == 5) {
				r = pal_pb_take_once(&md, &hm, &g,
				    "SavedMetadata.SavedObject.metadata",
				    c->err);
				moff = g.val_off;
			}
			if (r != 0)
				return r;
		}
		if (r < 0 || (r = keras_json(c, id, md, moff)) != 0)
			return r;
	}
	return r;
}

static int keras_metadata_probe(const uint8_t *data, size_t len);

int
pal_fmt_savedmodel(struct pal_scan *s, const struct pal_scan_item *it)
{
	struct tf_ctx c;
	int r;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.it = it;
	c.err = &s->err;
	if (keras_metadata_probe(it->data, it->len))
		r = keras_metadata_scan(&c);
	else
		r = savedmodel_scan(&c);
	free(c.fns);
	free(c.queue);
	return r;
}

/*
 * Probes.  Both walk the buffer leniently (groups skipped, wire-type
 * mismatches taken as unknown fields, as TensorFlow's protobuf parser
 * does) and require the whole buffer to frame, plus positive evidence.
 */

/* A message that frames to its end; *seen gets the wire-typed fields. */
static int
probe_frames(const struct pal_pb_msg *m, const struct pal_pb_field *f,
    struct pal_pb_msg *sub)
{
	struct pal_pb_msg walk;
	struct pal_pb_field g;
	unsigned n = 0;
	int r;

	if (pal_pb_enter(m, f, sub, NULL) != 0)
		return 0;
	walk = *sub;
	while ((r = pal_pb_next(&walk, &g, NULL)) == 1)
		if (++n >= PROBE_MAX_FIELDS)
			return 1;
	return r == 0;
}

/*
 * A GraphDef or MetaInfoDef that frames, with a node whose own fields
 * frame (or a library or versions), for graph_def; for meta_info_def,
 * framing and a tags or tensorflow_version string.
 */
static int
probe_meta_part(const struct pal_pb_msg *mm, const struct pal_pb_field *f)
{
	struct pal_pb_msg sub, inner;
	struct pal_pb_field g;
	unsigned n = 0;
	int r;

	if (!probe_frames(mm, f, &sub))
		return 0;
	while ((r = pal_pb_next(&sub, &g, NULL)) == 1 &&
	    ++n < PROBE_MAX_FIELDS) {
		if (g.wire != PAL_PB_LEN)
			continue;
		if (f->num == 2 && g.num == 1 && probe_frames(&sub, &g, &inner))
			return 1;
		if (f->num == 2 && (g.num == 2 || g.num == 4) &&
		    probe_frames(&sub, &g, &inner))
			return 1;
		if (f->num == 1 && (g.num == 4 || g.num == 5))
			return 1;
	}
	return 0;
}

static int
probe_meta(const struct pal_pb_msg *m, const struct pal_pb_field *f)
{
	struct pal_pb_msg mm;
	struct pal_pb_field g;
	unsigned n = 0;
	int r, part = 0;

	if (!probe_frames(m, f, &mm))
		return 0;
	while ((r = pal_pb_next(&mm, &g, NULL)) == 1 &&
	    ++n < PROBE_MAX_FIELDS)
		if (g.wire == PAL_PB_LEN && (g.num == 1 || g.num == 2) &&
		    probe_meta_part(&mm, &g))
			part = 1;
	return part;
}

int
pal_savedmodel_probe(const uint8_t *data, size_t len)
{
	struct pal_pb_field f;
	struct pal_pb_msg m;
	unsigned n = 0;
	int r, meta = 0;

	if (keras_metadata_probe(data, len))
		return 1;
	pal_pb_init(&m, data, len, 0, PAL_PB_LENIENT);
	while ((r = pal_pb_next(&m, &f, NULL)) == 1) {
		if (f.num == 2 && f.wire == PAL_PB_LEN) {
			if (!probe_meta(&m, &f))
				return 0;
			meta = 1;
		}
		if (++n >= PROBE_MAX_FIELDS)
			break;
	}
	return r >= 0 && meta;
}

/*
 * keras_metadata.pb: only field 1 at the top, each a message that frames,
 * and some node's identifier (field 4) names a Keras object.
 */
static int
keras_metadata_probe(const uint8_t *data, size_t len)
{
	struct pal_pb_field f, g;
	struct pal_pb_msg m, nm;
	unsigned n = 0;
	int r, keras = 0;

	pal_pb_init(&m, data, len, 0, PAL_PB_LENIENT);
	while ((r = pal_pb_next(&m, &f, NULL)) == 1) {
		if (f.num != 1 || f.wire != PAL_PB_LEN ||
		    !probe_frames(&m, &f, &nm))
			return 0;
		while (!keras && pal_pb_next(&nm, &g, NULL) == 1)
			if (g.num == 4 && g.wire == PAL_PB_LEN &&
			    pal_pb_str_prefix(pal_pb_str_of(&g), "_tf_keras"))
				keras = 1;
		if (++n >= PROBE_MAX_FIELDS)
			break;
	}
	return r >= 0 && keras;
}
