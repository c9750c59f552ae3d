#!/usr/bin/python3
"""gen_onnx.py - writes the ONNX test models with the onnx package.

Run with the system Python that has python3-onnx:
    /usr/bin/python3 tests/data/onnx/gen_onnx.py tests/data/onnx

Benign models (expected clean):
  benign_ops.onnx        MatMul/Add/Relu/Softmax, an If with two subgraphs,
                         ai.onnx.ml and com.microsoft operators, a
                         model-local function in its own domain, metadata.
  external/model.onnx    weights in external/weights.bin, written by
                         onnx.save(save_as_external_data=True).

Hostile models (expected finding in the name's rule):
  ext_traversal.onnx     external data "../../etc/passwd"
  ext_absolute.onnx      external data "/etc/shadow"
  ext_backslash.onnx     external data "..\\..\\Windows\\win.ini"
  ext_memaddr.onnx       external data at onnxruntime's memory marker
  ext_subgraph.onnx      a Constant in an If branch with "../secret"
  ext_sparse.onnx        a sparse initializer whose values are external
  custom_op.onnx         operator Backdoor in domain evil.ops
  contrib_op.onnx        an onnxruntime-extensions (ai.onnx.contrib) op
  function_custom.onnx   a local function whose body uses a custom op
  pyop.onnx              onnxruntime PyOp importing os.system
  ms_pythonop.onnx       com.microsoft PythonOp
  ort_config.onnx        metadata_props 'ort_config'
  polyglot.onnx          benign_ops.onnx without producer_name, and a
                         SavedModel MetaGraphDef holding PyFunc as field 2
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "savedmodel"))
import pbwire  # noqa: E402

F = TensorProto.FLOAT


def io(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def save(model, path, check=True):
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, path)


def base_model(nodes, inits=(), opsets=None, functions=(), extra_io=()):
    graph = helper.make_graph(
        list(nodes), "main", [io("X", [1, 4])] + list(extra_io),
        [io("Y", [1, 4])], initializer=list(inits))
    opsets = opsets or [helper.make_opsetid("", 13)]
    return helper.make_model(graph, opset_imports=opsets,
                             functions=list(functions),
                             producer_name="palisade-tests", ir_version=8)


def w(name, shape=(4, 4)):
    return numpy_helper.from_array(
        np.arange(np.prod(shape), dtype=np.float32).reshape(shape), name)


def benign_ops():
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["H"], ["T"])], "then_body", [],
        [io("T", [1, 4])])
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["H"], ["E"])], "else_body", [],
        [io("E", [1, 4])])
    fn = helper.make_function(
        "local.fns", "Double", ["a"], ["b"],
        [helper.make_node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 13)])
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["M"], name="mm"),
        helper.make_node("Add", ["M", "B"], ["H"], name="add"),
        helper.make_node("ReduceSum", ["H"], ["S"], keepdims=0, name="sum"),
        helper.make_node("Greater", ["S", "Z"], ["C"], name="gt"),
        helper.make_node("If", ["C"], ["I"], then_branch=then_g,
                         else_branch=else_g, name="branch"),
        helper.make_node("Double", ["I"], ["D"], domain="local.fns",
                         name="dbl"),
        helper.make_node("Gelu", ["D"], ["G"], domain="com.microsoft",
                         name="gelu"),
        helper.make_node("Softmax", ["G"], ["Y"], axis=1, name="sm"),
    ]
    zero = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "Z")
    m = base_model(nodes, [w("W"), w("B", (4,)), zero], opsets=[
        helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 3),
        helper.make_opsetid("com.microsoft", 1),
        helper.make_opsetid("local.fns", 1)], functions=[fn])
    helper.set_model_props(m, {"author": "palisade", "license": "MIT"})
    # The checker does not know com.microsoft operators.
    return m


def external(outdir):
    d = os.path.join(outdir, "external")
    os.makedirs(d, exist_ok=True)
    m = base_model([helper.make_node("MatMul", ["X", "W"], ["Y"])],
                   [w("W")])
    onnx.save_model(m, os.path.join(d, "model.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)


def ext_model(location):
    t = w("W")
    set_external_data(t, location=location, offset=0, length=64)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    return base_model([helper.make_node("MatMul", ["X", "W"], ["Y"])], [t])


def ext_subgraph():
    t = w("K")
    set_external_data(t, location="../secret", offset=0, length=64)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    then_g = helper.make_graph(
        [helper.make_node("Constant", [], ["T"], value=t)], "then_body", [],
        [io("T", [4, 4])])
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], ["E"], value=w("E0"))],
        "else_body", [], [io("E", [4, 4])])
    nodes = [
        helper.make_node("ReduceSum", ["X"], ["S"], keepdims=0),
        helper.make_node("Greater", ["S", "Z"], ["C"]),
        helper.make_node("If", ["C"], ["I"], then_branch=then_g,
                         else_branch=else_g),
        helper.make_node("MatMul", ["X", "I"], ["Y"]),
    ]
    zero = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "Z")
    return base_model(nodes, [zero])


def ext_sparse():
    vals = numpy_helper.from_array(np.ones(2, dtype=np.float32), "SV")
    set_external_data(vals, location="/proc/self/environ", offset=0,
                      length=8)
    vals.ClearField("raw_data")
    vals.data_location = TensorProto.EXTERNAL
    idx = numpy_helper.from_array(np.array([0, 5], dtype=np.int64), "SI")
    sp = helper.make_sparse_tensor(vals, idx, [4, 4])
    m = base_model([helper.make_node("Add", ["X", "X"], ["Y"])])
    m.graph.sparse_initializer.extend([sp])
    return m


def custom(domain, op, **attrs):
    nodes = [helper.make_node(op, ["X"], ["Y"], domain=domain,
                              name="custom", **attrs)]
    return base_model(nodes, opsets=[helper.make_opsetid("", 13),
                                     helper.make_opsetid(domain, 1)])


def function_custom():
    fn = helper.make_function(
        "local.fns", "Wrap", ["a"], ["b"],
        [helper.make_node("Exfiltrate", ["a"], ["b"], domain="evil.ops")],
        [helper.make_opsetid("", 13), helper.make_opsetid("evil.ops", 1)])
    nodes = [helper.make_node("Wrap", ["X"], ["Y"], domain="local.fns")]
    return base_model(nodes, opsets=[helper.make_opsetid("", 13),
                                     helper.make_opsetid("local.fns", 1)],
                      functions=[fn])


def pyop():
    node = helper.make_node(
        "PyOp", ["X"], ["Y"], domain="pyopmulti_1", name="py",
        input_types=[F], output_types=[F], module="os", class_name="system")
    return base_model([node], opsets=[helper.make_opsetid("", 13),
                                      helper.make_opsetid("pyopmulti_1", 1)])


def ort_config():
    m = base_model([helper.make_node("Relu", ["X"], ["Y"])])
    helper.set_model_props(m, {"ort_config": '{"session_options": '
                               '{"inter_op_num_threads": 100000, '
                               '"enable_profiling": 1}}'})
    return m


def polyglot():
    """The benign model without producer_name, and a MetaGraphDef holding
    PyFunc as field 2: TensorFlow reads field 1 as the schema version and
    field 2 as a meta graph (and skips the rest), ONNX runtimes take field
    2 for producer_name."""
    p = pbwire
    node = p.ld(1, "py") + p.ld(2, "PyFunc")
    graph = p.msg(1, node)
    meta = p.msg(1, p.ld(4, "serve")) + p.msg(2, graph)
    m = benign_ops()
    m.ClearField("producer_name")
    return m.SerializeToString() + p.ld(2, meta)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    out = lambda n: os.path.join(outdir, n)  # noqa: E731
    save(benign_ops(), out("benign_ops.onnx"), check=False)
    external(outdir)
    save(ext_model("../../etc/passwd"), out("ext_traversal.onnx"), False)
    save(ext_model("/etc/shadow"), out("ext_absolute.onnx"), False)
    save(ext_model("..\\..\\Windows\\win.ini"), out("ext_backslash.onnx"),
         False)
    save(ext_model("*/_ORT_MEM_ADDR_/*"), out("ext_memaddr.onnx"), False)
    save(ext_subgraph(), out("ext_subgraph.onnx"), False)
    save(ext_sparse(), out("ext_sparse.onnx"), False)
    save(custom("evil.ops", "Backdoor"), out("custom_op.onnx"), False)
    save(custom("ai.onnx.contrib", "StringRegexReplace"),
         out("contrib_op.onnx"), False)
    save(function_custom(), out("function_custom.onnx"), False)
    save(pyop(), out("pyop.onnx"), False)
    save(custom("com.microsoft", "PythonOp", func_name="evil.Function",
                input_pointer_scalars=[0x41414141]),
         out("ms_pythonop.onnx"), False)
    save(ort_config(), out("ort_config.onnx"))
    with open(out("polyglot.onnx"), "wb") as fp:
        fp.write(polyglot())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__)))
