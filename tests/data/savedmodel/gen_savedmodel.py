#!/usr/bin/env python3
"""gen_savedmodel.py - writes the SavedModel test files by hand.

TensorFlow is not available, so the files are packed with pbwire.py from
the field numbers of TensorFlow's .proto files, in the shapes TensorFlow
writes: TF2 (tf.saved_model.save: the saver is a pair of
StatefulPartitionedCall nodes calling __inference__traced_save/restore
functions) and TF1 (tf.compat.v1.saved_model.Builder: the saver is a
"save/" name scope in the graph).  Any Python 3 runs it:
    python3 tests/data/savedmodel/gen_savedmodel.py tests/data/savedmodel

Benign (expected clean):
  tf2/saved_model.pb, tf1/saved_model.pb, keras_benign/keras_metadata.pb
Hostile (expected finding):
  pyfunc/            EagerPyFunc in the serving function  tf.python-op
  pyfunc_restore/    PyFunc in the restore function       tf.python-op
  readfile/          ReadFile and WriteFile in a TF1 graph tf.file-read,
                                                          tf.file-write
  save_serving/      SaveV2 in the serving function       tf.checkpoint-io
  save_scope/        SaveV2 outside the TF1 "save/" scope tf.checkpoint-io
  asset/             asset "../../../../etc/passwd"       tf.asset-path
  asset_tf1/         TF1 collection asset "/etc/passwd"   tf.asset-path
  print/             PrintV2 to file:// and to stderr     tf.file-write,
                                                          tf.print
  decodeproto/       DecodeProtoV2 reading /etc/passwd    tf.file-read
  network/           RpcServerRegister, DataServiceDatasetV4  tf.network
  keras_lambda/      keras_metadata.pb with a Lambda layer (Keras check)
  keras_object/      TF 2.0-2.4 Keras user object with a Lambda layer in
                     object_graph_def (Keras check)

Text format (saved_model.pbtxt, under text/): each saved_model.pb above
printed by pbtext.py as protobuf's text printer prints it, so that the
text and binary forms hold the same model and must be judged alike; and
variants in the rest of the grammar:
  text/tf2_styled/        tf2 with <...>, ':' before '{', [...] lists,
                          single quotes, comments, ',' and ';'   clean
  text/pyfunc_styled/     pyfunc in the same style             tf.python-op
  text/pyfunc_escaped/    the op written "Eager" 'Py\x46u\156c'  tf.python-op
  text/asset_tf1_expanded/ asset_tf1 with the Any expanded as Python's
                          printer writes it                    tf.asset-path
"""
import os
import struct
import sys

from pbtext import Style, to_text
from pbwire import ld, msg, tag, vi

DT_FLOAT, DT_STRING, DT_RESOURCE = 1, 7, 20


def f32(num, x):
    return tag(num, 5) + struct.pack("<f", x)


# AttrValue (attr_value.proto): list=1 s=2 i=3 f=4 b=5 type=6 shape=7
# tensor=8 placeholder=9 func=10.  NameAttrList: name=1 attr=2.
def a_type(t):
    return vi(6, t)


def a_s(s):
    return ld(2, s)


def a_func(name):
    return msg(10, ld(1, name))


def a_types(*ts):
    return msg(1, *[vi(6, t) for t in ts])


def a_str_tensor(*vals):
    # TensorProto: dtype=1 tensor_shape=2 string_val=8.
    shape = msg(2, *[msg(2, vi(1, len(vals)))] if len(vals) != 1 else [])
    return msg(8, vi(1, DT_STRING), shape, *[ld(8, v) for v in vals])


def attr(key, value):
    """A NodeDef.attr map entry: key=1, value=2 (an AttrValue)."""
    return msg(5, ld(1, key), ld(2, value))


def node(name, op, inputs=(), attrs=(), field=1):
    """NodeDef: name=1 op=2 input=3 device=4 attr=5."""
    parts = [ld(1, name), ld(2, op)] + [ld(3, i) for i in inputs]
    return msg(field, *parts, *attrs)


def fnode(name, op, inputs=(), attrs=()):
    """A NodeDef inside a FunctionDef (node_def=3)."""
    return node(name, op, inputs, attrs, field=3)


def function(name, *nodes):
    """FunctionDef: signature=1 (OpDef: name=1) node_def=3."""
    return msg(1, msg(1, ld(1, name)), *nodes)


def serving_fn(extra=()):
    return function(
        "__inference_call_33",
        fnode("ReadVariableOp", "ReadVariableOp", ["w"],
              [attr("dtype", a_type(DT_FLOAT))]),
        fnode("MatMul", "MatMul", ["x", "ReadVariableOp:value:0"],
              [attr("T", a_type(DT_FLOAT))]),
        fnode("Relu", "Relu", ["MatMul:product:0"],
              [attr("T", a_type(DT_FLOAT))]),
        *extra,
        fnode("Identity", "Identity", ["Relu:activations:0"],
              [attr("T", a_type(DT_FLOAT))]))


def save_fn():
    return function(
        "__inference__traced_save_77",
        fnode("StaticRegexFullMatch", "StaticRegexFullMatch", ["file_prefix"],
              [attr("pattern", a_s("^s3://.*"))]),
        fnode("Const", "Const", [], [attr("dtype", a_type(DT_STRING)),
                                     attr("value", a_str_tensor(".part"))]),
        fnode("Const_1", "Const", [], [attr("dtype", a_type(DT_STRING)),
                                       attr("value",
                                            a_str_tensor("_temp/part"))]),
        fnode("Select", "Select", ["StaticRegexFullMatch:output:0",
                                   "Const:output:0", "Const_1:output:0"]),
        fnode("StringJoin", "StringJoin", ["file_prefix", "Select:output:0"]),
        fnode("ShardedFilename", "ShardedFilename",
              ["StringJoin:output:0", "shard", "num_shards"]),
        fnode("SaveV2", "SaveV2", ["ShardedFilename:filename:0",
                                   "tensor_names", "shape_and_slices",
                                   "w_read"],
              [attr("dtypes", a_types(DT_FLOAT))]),
        fnode("MergeV2Checkpoints", "MergeV2Checkpoints",
              ["ShardedFilename:filename:0", "file_prefix"]),
        fnode("Identity", "Identity", ["file_prefix"]))


def restore_fn(extra=()):
    return function(
        "__inference__traced_restore_88",
        fnode("RestoreV2", "RestoreV2", ["file_prefix", "tensor_names",
                                         "shape_and_slices"],
              [attr("dtypes", a_types(DT_FLOAT))]),
        fnode("AssignVariableOp", "AssignVariableOp",
              ["w", "RestoreV2:tensors:0"],
              [attr("dtype", a_type(DT_FLOAT))]),
        *extra,
        fnode("NoOp", "NoOp"))


def meta_info():
    """MetaInfoDef: tags=4 tensorflow_version=5 tensorflow_git_version=6."""
    return msg(1, ld(4, "serve"), ld(5, "2.15.0"), ld(6, "v2.15.0-0-g0"))


def signature():
    """signature_def map entry: SignatureDef inputs=1 outputs=2
    method_name=3; TensorInfo name=1 dtype=2."""
    ti = lambda n: ld(1, n) + vi(2, DT_FLOAT)  # noqa: E731
    sig = (msg(1, ld(1, "x"), msg(2, ti("serving_default_x:0"))) +
           msg(2, ld(1, "y"), msg(2, ti("StatefulPartitionedCall:0"))) +
           ld(3, "tensorflow/serving/predict"))
    return msg(5, ld(1, "serving_default"), ld(2, sig))


def objects(layer_json=None):
    """SavedObjectGraph: nodes=1; SavedObject user_object=4 function=6;
    SavedUserObject identifier=1 version=2 metadata=3.  With layer_json,
    a Keras layer as TF 2.0-2.4 saved it, its config in metadata."""
    root = msg(1, msg(1, vi(1, 1), ld(2, "f")),
               msg(4, ld(1, "_generic_user_object"), msg(2, vi(1, 1))))
    fn = msg(1, msg(6, ld(1, "__inference_call_33")))
    layer = b""
    if layer_json is not None:
        layer = msg(1, msg(4, ld(1, "_tf_keras_layer"), msg(2, vi(1, 2)),
                           ld(3, layer_json)))
    return msg(7, root, fn, layer)


def asset(filename):
    """AssetFileDef: tensor_info=1 filename=2."""
    return msg(6, msg(1, ld(1, "asset_path:0")), ld(2, filename))


def tf2(serving_extra=(), restore_extra=(), asset_name="vocab.txt",
        keras_layer=None):
    graph = msg(
        2,
        node("serving_default_x", "Placeholder", [],
             [attr("dtype", a_type(DT_FLOAT))]),
        node("w", "VarHandleOp", [], [attr("dtype", a_type(DT_FLOAT)),
                                      attr("shared_name", a_s("w"))]),
        node("StatefulPartitionedCall", "StatefulPartitionedCall",
             ["serving_default_x", "w"],
             [attr("f", a_func("__inference_signature_wrapper_42")),
              attr("Tin", a_types(DT_FLOAT, DT_RESOURCE)),
              attr("Tout", a_types(DT_FLOAT))]),
        node("saver_filename", "Placeholder", [],
             [attr("dtype", a_type(DT_STRING))]),
        node("StatefulPartitionedCall_1", "StatefulPartitionedCall",
             ["saver_filename", "w"],
             [attr("f", a_func("__inference__traced_save_77"))]),
        node("StatefulPartitionedCall_2", "StatefulPartitionedCall",
             ["saver_filename", "w"],
             [attr("f", a_func("__inference__traced_restore_88"))]),
        msg(2,
            function("__inference_signature_wrapper_42",
                     fnode("StatefulPartitionedCall",
                           "StatefulPartitionedCall", ["x", "w"],
                           [attr("f", a_func("__inference_call_33"))])),
            serving_fn(serving_extra), save_fn(),
            restore_fn(restore_extra)),
        msg(4, vi(1, 1645)))
    saver = msg(3, ld(1, "saver_filename:0"),
                ld(2, "StatefulPartitionedCall_1:0"),
                ld(3, "StatefulPartitionedCall_2"), vi(5, 1),
                f32(6, 10000.0), vi(7, 2))
    meta = meta_info() + graph + saver + signature() + asset(asset_name) + \
        objects(keras_layer)
    return vi(1, 1) + ld(2, meta)


def tf1_assets(filename):
    """collection_def entry "saved_model_assets": CollectionDef any_list=5
    (AnyList value=1: Any type_url=1 value=2 holding an AssetFileDef)."""
    afd = msg(1, ld(1, "asset_path:0")) + ld(2, filename)
    anyv = ld(1, "type.googleapis.com/tensorflow.AssetFileDef") + ld(2, afd)
    coll = msg(5, msg(1, anyv))
    return msg(4, ld(1, "saved_model_assets"), ld(2, coll))


def tf1(extra=(), asset_name="vocab.txt"):
    f = [attr("T", a_type(DT_FLOAT))]
    graph = msg(
        2,
        node("x", "Placeholder", [], [attr("dtype", a_type(DT_FLOAT))]),
        node("w", "VariableV2", [], [attr("dtype", a_type(DT_FLOAT))]),
        node("w/read", "Identity", ["w"], f),
        node("MatMul", "MatMul", ["x", "w/read"], f),
        node("save/filename/input", "Const", [],
             [attr("value", a_str_tensor("model"))]),
        node("save/filename", "PlaceholderWithDefault",
             ["save/filename/input"]),
        node("save/Const", "PlaceholderWithDefault", ["save/filename"]),
        node("save/SaveV2/tensor_names", "Const", [],
             [attr("value", a_str_tensor("w"))]),
        node("save/SaveV2", "SaveV2", ["save/Const",
                                       "save/SaveV2/tensor_names",
                                       "save/SaveV2/shape_and_slices", "w"],
             [attr("dtypes", a_types(DT_FLOAT))]),
        node("save/control_dependency", "Identity",
             ["save/Const", "^save/SaveV2"]),
        node("save/RestoreV2", "RestoreV2",
             ["save/Const", "save/RestoreV2/tensor_names",
              "save/RestoreV2/shape_and_slices"],
             [attr("dtypes", a_types(DT_FLOAT))]),
        node("save/Assign", "Assign", ["w", "save/RestoreV2"], f),
        node("save/restore_all", "NoOp", ["^save/Assign"]),
        *extra,
        msg(4, vi(1, 134)))
    saver = msg(3, ld(1, "save/Const:0"), ld(2, "save/control_dependency:0"),
                ld(3, "save/restore_all"), vi(4, 5), f32(6, 10000.0),
                vi(7, 2))
    meta = meta_info() + graph + saver + tf1_assets(asset_name) + \
        signature()
    return vi(1, 1) + ld(2, meta)


LAMBDA = ('{"class_name": "Lambda", "config": {"name": "lambda", '
          '"trainable": true, "dtype": "float32", "function": '
          '["4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMOAAAAdABkAYMBoAFkAqEBUwApA05'
          'aAm9z2gJpZCkC2gpfX2ltcG9ydF9f2gZzeXN0ZW0pAdoBeKkAcgUAAAD6B'
          'zxzdGRpbj7aCDxsYW1iZGE+AQAAAHMCAAAADgA=", null, null], '
          '"function_type": "lambda", "module": "keras.layers.core", '
          '"output_shape": null, "output_shape_type": "raw", '
          '"output_shape_module": null, "arguments": {}}}')

DENSE = ('{"class_name": "Dense", "config": {"name": "dense", '
         '"trainable": true, "dtype": "float32", "units": 4, '
         '"activation": "relu", "use_bias": true}}')


def keras_metadata(layer_json):
    """SavedMetadata: nodes=1; SavedObject node_id=2 node_path=3
    identifier=4 metadata=5 version=6 (VersionDef producer=1
    min_consumer=2)."""
    root_json = ('{"name": "sequential", "trainable": true, '
                 '"expects_training_arg": true, "dtype": "float32", '
                 '"batch_input_shape": null, "must_restore_from_config": '
                 'false, "class_name": "Sequential", "config": {"name": '
                 '"sequential", "layers": [' + layer_json + ']}}')
    version = msg(6, vi(1, 2), vi(2, 1))
    root = msg(1, ld(3, "root"), ld(4, "_tf_keras_sequential"),
               ld(5, root_json), version)
    layer = msg(1, vi(2, 1), ld(3, "root.layer-0"),
                ld(4, "_tf_keras_layer"),
                ld(5, layer_json), version)
    return root + layer


def write(outdir, sub, name, data):
    d = os.path.join(outdir, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as fp:
        fp.write(data)
    # Every saved_model.pb also in text format, under text/.
    if name == "saved_model.pb":
        write(outdir, os.path.join("text", sub), "saved_model.pbtxt",
              to_text(data).encode())


STYLED = Style(angle=True, colon=True, lists=True, single=True,
               comments=True, seps=True)


def text_variants(outdir):
    """Text files in the rest of the grammar, from the binary models."""
    pbtxt = "saved_model.pbtxt"
    pyfunc = tf2(serving_extra=[
        fnode("py", "EagerPyFunc", ["Relu:activations:0"],
              [attr("token", a_s("pyfunc_0"))])])
    write(outdir, "text/tf2_styled", pbtxt,
          ("# A SavedModel in text format.\n" +
           to_text(tf2(), style=STYLED)).encode())
    write(outdir, "text/pyfunc_styled", pbtxt,
          to_text(pyfunc, style=STYLED).encode())
    plain = to_text(pyfunc)
    assert plain.count('op: "EagerPyFunc"') == 1
    write(outdir, "text/pyfunc_escaped", pbtxt, plain.replace(
        'op: "EagerPyFunc"', 'op: "Eager" \'Py\\x46u\\156c\'').encode())
    write(outdir, "text/asset_tf1_expanded", pbtxt,
          to_text(tf1(asset_name="/etc/passwd"),
                  style=Style(expand_any=True)).encode())


def main(outdir):
    sm = "saved_model.pb"
    write(outdir, "tf2", sm, tf2())
    write(outdir, "tf2/assets", "vocab.txt", b"hello\nworld\n")
    write(outdir, "tf1", sm, tf1())
    write(outdir, "tf1/assets", "vocab.txt", b"hello\nworld\n")
    write(outdir, "keras_benign", "keras_metadata.pb",
          keras_metadata(DENSE))
    write(outdir, "pyfunc", sm, tf2(serving_extra=[
        fnode("py", "EagerPyFunc", ["Relu:activations:0"],
              [attr("token", a_s("pyfunc_0"))])]))
    write(outdir, "pyfunc_restore", sm, tf2(restore_extra=[
        fnode("py", "PyFunc", [], [attr("token", a_s("pyfunc_1"))])]))
    write(outdir, "readfile", sm, tf1(extra=[
        node("leak/ReadFile", "ReadFile", ["leak/path"]),
        node("drop/WriteFile", "WriteFile", ["drop/path", "drop/data"])]))
    write(outdir, "save_serving", sm, tf2(serving_extra=[
        fnode("SaveV2", "SaveV2", ["path", "names", "slices", "x"],
              [attr("dtypes", a_types(DT_FLOAT))])]))
    write(outdir, "save_scope", sm, tf1(extra=[
        node("evil/SaveV2", "SaveV2", ["evil/path", "evil/names",
                                       "evil/slices", "w"],
             [attr("dtypes", a_types(DT_FLOAT))])]))
    write(outdir, "asset", sm, tf2(asset_name="../../../../etc/passwd"))
    write(outdir, "asset_tf1", sm, tf1(asset_name="/etc/passwd"))
    write(outdir, "print", sm, tf2(serving_extra=[
        fnode("PrintV2", "PrintV2", ["msg"],
              [attr("output_stream", a_s("file:///home/user/.bashrc"))]),
        fnode("PrintV2_1", "PrintV2", ["msg"],
              [attr("output_stream", a_s("stderr"))])]))
    write(outdir, "decodeproto", sm, tf2(serving_extra=[
        fnode("DecodeProtoV2", "DecodeProtoV2", ["bytes"],
              [attr("message_type", a_s("tensorflow.Example")),
               attr("descriptor_source", a_s("/etc/passwd"))]),
        fnode("DecodeProtoV2_1", "DecodeProtoV2", ["bytes"],
              [attr("message_type", a_s("tensorflow.Example")),
               attr("descriptor_source", a_s("local://"))])]))
    write(outdir, "network", sm, tf2(serving_extra=[
        fnode("RpcServerRegister", "RpcServerRegister",
              ["server", "method"],
              [attr("f", a_func("__inference_call_33"))]),
        fnode("DataServiceDatasetV4", "DataServiceDatasetV4",
              ["id", "mode", "address", "protocol"])]))
    write(outdir, "keras_lambda", "keras_metadata.pb",
          keras_metadata(LAMBDA))
    write(outdir, "keras_object", sm, tf2(keras_layer=LAMBDA))
    text_variants(outdir)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__)))
