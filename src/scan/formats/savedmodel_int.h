/*
 * savedmodel_int.h - what the two readers of TensorFlow SavedModels share:
 * savedmodel.c (saved_model.pb, protobuf wire format) and
 * savedmodel_text.c (saved_model.pbtxt, protobuf text format).
 *
 * The readers differ in how they find a node's name, op and attributes;
 * what a node, an asset or Keras metadata means is decided here, once, so
 * that a model is judged alike in either form: the table of ops that reach
 * outside the tensor world and the test each op needs, which nodes belong
 * to the saver, asset paths, and the wording of findings.
 *
 * Strings are struct pal_pb_str: bytes owned by the caller (the item, or a
 * buffer of decoded text), not NUL-terminated, possibly holding NULs.
 */
#ifndef PAL_SCAN_SAVEDMODEL_INT_H
#define PAL_SCAN_SAVEDMODEL_INT_H

#include <stddef.h>

#include "protobuf.h"
#include "scan_int.h"

/* Library functions beyond this are refused; large models have thousands. */
#define PAL_TF_MAX_FUNCTIONS (1u << 18)

/* An entry of the op table (savedmodel.c). */
struct pal_tf_op;

/* The table entry of the op called op, or NULL for an op that is harmless. */
const struct pal_tf_op *pal_tf_op_lookup(struct pal_pb_str op);

/*
 * The node attribute whose string value (AttrValue.s) the verdict on o
 * depends on ("output_stream" for PrintV2, "descriptor_source" for
 * DecodeProtoV2), or NULL when the op name alone decides.
 */
const char *pal_tf_op_attr(const struct pal_tf_op *o);

/*
 * Decides whether a node running op o is reported, and under which rule.
 * in_saver is 1 when the node belongs to the model's saver.  attr is the
 * value of the attribute pal_tf_op_attr names (the last one, as
 * TensorFlow keeps), or NULL when the node has none.  Returns 1 with
 * *rule and *why set (static strings) when the node is reported, 0 when
 * it is not.
 */
int pal_tf_op_judge(const struct pal_tf_op *o, int in_saver,
    const struct pal_pb_str *attr, const char **rule, const char **why);

/* The saver of one MetaGraphDef, by node names. */
struct pal_tf_saver {
	struct pal_pb_str save, restore;	/* node names, or empty */
	struct pal_pb_str scope;		/* "save/" in TF1, or empty */
};

/*
 * Sets sv from SaverDef.save_tensor_name and restore_op_name ("a/b:0"
 * and "^a/b" name node "a/b"); the scope is the restore op's name scope.
 * sv points into the strings given, which must outlive it.
 */
void pal_tf_saver_set(struct pal_tf_saver *sv, struct pal_pb_str save_tensor,
    struct pal_pb_str restore_op);

/*
 * 1 if a graph node belongs to the saver: it is the save or restore node,
 * or, in TF1, it shares the name scope of the restore op ("save/").
 */
int pal_tf_saver_node(const struct pal_tf_saver *sv, struct pal_pb_str name);

/*
 * 1 if the graph node called name is the save or restore node, whose
 * calls start the walk through the functions the saver runs.
 */
int pal_tf_saver_endpoint(const struct pal_tf_saver *sv,
    struct pal_pb_str name);

/*
 * Reports a finding on a node.  where is "graph" or "function 'name'",
 * at the node's position ("offset 812", "line 4, column 3"); the reason
 * is formatted here so that it can be cut to size.  Returns 0 or
 * PAL_ERR_NOMEM.
 */
int pal_tf_report(struct pal_scan *s, const struct pal_scan_item *it,
    const char *rule, const char *where, struct pal_pb_str name,
    const char *at, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/*
 * Judges an asset file name (AssetFileDef.filename), which the loader
 * joins to the assets directory: a path that leaves it, or for a file on
 * disk one that is or passes through a symbolic link, is reported at loc.
 * Returns 0 or PAL_ERR_NOMEM.
 */
int pal_tf_asset(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_pb_str name, const char *loc);

/*
 * Hands the metadata JSON of an object whose identifier starts with
 * "_tf_keras" to the Keras configuration check.  A check that fails
 * (malformed JSON) is an error whose detail names at.
 */
int pal_tf_keras_json(struct pal_scan *s, const struct pal_scan_item *it,
    struct pal_pb_str ident, struct pal_pb_str json, const char *at);

#endif
