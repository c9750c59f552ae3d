#!/usr/bin/python3
"""Writes the Keras and HDF5 test files in this folder.

Run with a Python that has h5py and numpy (Debian's /usr/bin/python3):
    /usr/bin/python3 tests/data/keras/gen.py
The HDF5 files are written by h5py (libhdf5) itself, in both the oldest
file format (libver='earliest': superblock 0, version 1 object headers,
symbol-table groups) and the newest ('latest': superblock 3, version 2
object headers, link messages, dense storage).  Keras is not needed: the
configurations are written as Keras 2 and Keras 3 write them, and Lambda
bytecode is made with marshal and base64 exactly as Keras's func_dump
does.  Corrupt variants are derived from the good files by patching bytes.
"""
import codecs
import gzip
import json
import marshal
import os
import struct
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name):
    return os.path.join(HERE, name)


def func_dump(fn):
    """keras.utils.generic_utils.func_dump: base64 of the marshalled code."""
    raw = marshal.dumps(fn.__code__)
    return codecs.encode(raw, "base64").decode("ascii"), None, None


EVIL = func_dump(lambda x: __import__("os").system("id"))
BENIGN_LAMBDA = func_dump(lambda x: x * 2.0)


def k2_dense(name, units, act, inp=None):
    cfg = {"name": name, "trainable": True, "dtype": "float32",
           "units": units, "activation": act, "use_bias": True,
           "kernel_initializer": {"class_name": "GlorotUniform",
                                  "config": {"seed": None}},
           "bias_initializer": {"class_name": "Zeros", "config": {}},
           "kernel_regularizer": None, "bias_regularizer": None,
           "activity_regularizer": None, "kernel_constraint": None,
           "bias_constraint": None}
    if inp:
        cfg["batch_input_shape"] = [None, inp]
    return {"class_name": "Dense", "config": cfg}


def k2_sequential(layers):
    return {"class_name": "Sequential",
            "config": {"name": "sequential", "layers": [
                {"class_name": "InputLayer",
                 "config": {"batch_input_shape": [None, 4],
                            "dtype": "float32", "sparse": False,
                            "ragged": False, "name": "dense_input"}}]
                + layers},
            "keras_version": "2.13.1", "backend": "tensorflow"}


def k2_lambda(name, dumped):
    return {"class_name": "Lambda",
            "config": {"name": name, "trainable": True, "dtype": "float32",
                       "function": list(dumped), "function_type": "lambda",
                       "module": "__main__", "output_shape": None,
                       "output_shape_type": "raw",
                       "output_shape_module": None, "arguments": {}}}


TRAINING = {"loss": "mse",
            "metrics": [[{"class_name": "MeanMetricWrapper",
                          "config": {"name": "mae", "dtype": "float32",
                                     "fn": "mean_absolute_error"}}]],
            "weighted_metrics": None, "loss_weights": None,
            "optimizer_config": {"class_name": "Custom>Adam", "config": {
                "name": "Adam", "weight_decay": None, "clipnorm": None,
                "global_clipnorm": None, "clipvalue": None,
                "use_ema": False, "ema_momentum": 0.99,
                "ema_overwrite_frequency": None, "jit_compile": False,
                "is_legacy_optimizer": False, "learning_rate": 0.001,
                "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
                "amsgrad": False}}}

BENIGN = k2_sequential([k2_dense("dense", 8, "relu", 4),
                        k2_dense("dense_1", 1, "linear")])
LAMBDA = k2_sequential([k2_dense("dense", 8, "relu", 4),
                        k2_lambda("lambda", EVIL),
                        k2_dense("dense_1", 1, "linear")])


def k3(module, cls, config, **extra):
    d = {"module": module, "class_name": cls, "config": config,
         "registered_name": None}
    d.update(extra)
    return d


DTYPE = k3("keras", "DTypePolicy", {"name": "float32"})


def k3_sequential(layers):
    return k3("keras", "Sequential", {
        "name": "sequential", "trainable": True, "dtype": DTYPE,
        "layers": [k3("keras.layers", "InputLayer", {
            "batch_shape": [None, 4], "dtype": "float32", "sparse": False,
            "name": "input_layer"})] + layers},
        build_config={"input_shape": [None, 4]},
        compile_config={"optimizer": k3("keras.optimizers", "Adam", {
            "name": "adam", "learning_rate": 0.001}),
            "loss": "mean_squared_error", "metrics": None})


def k3_dense(name, units, act="relu"):
    return k3("keras.layers", "Dense", {
        "name": name, "trainable": True, "dtype": DTYPE, "units": units,
        "activation": act, "use_bias": True,
        "kernel_initializer": k3("keras.initializers", "GlorotUniform",
                                 {"seed": None}),
        "bias_initializer": k3("keras.initializers", "Zeros", {})},
        build_config={"input_shape": [None, 4]})


def k3_lambda(name, fn):
    return k3("keras.layers", "Lambda", {
        "name": name, "trainable": True, "dtype": DTYPE, "function": fn,
        "arguments": {}}, build_config={"input_shape": [None, 4]})


K3_BENIGN = k3_sequential([k3_dense("dense", 8),
                           k3_dense("dense_1", 1, "linear")])
K3_LAMBDA = k3_sequential([k3_lambda("lambda", {
    "class_name": "__lambda__",
    "config": {"code": EVIL[0], "defaults": None, "closure": None}})])

# Configurations for the checker's own tests: name -> (config, expected).
CONFIGS = {
    "k2_benign": BENIGN,
    "k2_lambda": LAMBDA,
    "k3_benign": K3_BENIGN,
    "k3_lambda": K3_LAMBDA,
    # A lambda passed where a function is expected (an activation).
    "k3_lambda_activation": k3_sequential([k3_dense("dense", 8, {
        "class_name": "__lambda__",
        "config": {"value": list(BENIGN_LAMBDA)}})]),
    # Keras 3 function reference to os.system (older Keras 3 imports it).
    "k3_os_system": k3_sequential([k3_lambda("lambda", k3(
        "os", "function", "system", registered_name="system"))]),
    "k3_builtins_eval": k3_sequential([k3_dense("dense", 8, k3(
        "builtins", "function", "eval"))]),
    "k3_get_file": k3_sequential([k3_lambda("lambda", k3(
        "keras.utils", "function", "get_file",
        registered_name="get_file"))]),
    "k3_custom_module": k3_sequential([k3(
        "my_company.layers", "Scaler", {"name": "scaler", "factor": 2},
        registered_name="MyCompany>Scaler")]),
    "k3_unknown_marker": k3_sequential([k3_dense("dense", 8, {
        "class_name": "__python__", "config": {"value": "print(1)"}})]),
    "k2_function_lambda": k2_sequential([{
        "class_name": "Lambda", "config": {
            "name": "lambda", "function": "system",
            "function_type": "function", "module": "posix",
            "output_shape": None, "output_shape_type": "raw",
            "arguments": {}}}]),
    "k2_tfop_write_file": {
        "class_name": "Functional", "config": {
            "name": "model", "layers": [
                {"class_name": "InputLayer", "name": "in",
                 "config": {"batch_input_shape": [None, 1],
                            "dtype": "string", "name": "in"},
                 "inbound_nodes": []},
                {"class_name": "TFOpLambda", "name": "tf.io.write_file",
                 "config": {"name": "tf.io.write_file", "trainable": True,
                            "dtype": "float32",
                            "function": "io.write_file"},
                 "inbound_nodes": [["in", 0, 0, {
                     "contents": "pwned"}]]}],
            "input_layers": [["in", 0, 0]],
            "output_layers": [["tf.io.write_file", 0, 0]]}},
    "k2_tfop_benign": {
        "class_name": "Functional", "config": {
            "name": "model", "layers": [
                {"class_name": "TFOpLambda", "name": "tf.math.add",
                 "config": {"name": "tf.math.add", "trainable": True,
                            "dtype": "float32", "function": "math.add"},
                 "inbound_nodes": []},
                {"class_name": "SlicingOpLambda",
                 "name": "tf.__operators__.getitem",
                 "config": {"name": "tf.__operators__.getitem",
                            "trainable": True, "dtype": "float32",
                            "function": "__operators__.getitem"},
                 "inbound_nodes": []}],
            "input_layers": [], "output_layers": []}},
    "k2_raw_op": k2_sequential([{
        "class_name": "TensorFlowOpLayer", "config": {
            "name": "WriteFile", "trainable": True, "dtype": "float32",
            "node_def": {"name": "WriteFile", "op": "WriteFile",
                         "input": ["a", "b"], "attr": {}},
            "constants": {}}}]),
    "k2_unknown_class": k2_sequential([{
        "class_name": "MyCustomLayer", "config": {"name": "custom"}}]),
    # A Lambda hidden in a wrapper inside a nested model.
    "k2_nested_wrapper": k2_sequential([{
        "class_name": "Sequential", "config": {"name": "inner", "layers": [
            {"class_name": "TimeDistributed", "config": {
                "name": "td", "layer": k2_lambda("deep_lambda", EVIL)}}]}}]),
    "k2_fn_string": k2_sequential([{
        "class_name": "Dense", "config": {"name": "d", "units": 1,
                                          "activation": "linear",
                                          "fn": "subprocess.Popen"}}]),
}


def write_configs():
    for name, cfg in CONFIGS.items():
        with open(out(name + ".json"), "w") as fp:
            json.dump(cfg, fp)


def fixed(text):
    """A fixed-length string value, as h5py 2 wrote Keras 2's bytes."""
    raw = text.encode()
    return np.array(raw, dtype="S%d" % max(len(raw), 1))


def keras2_h5(path, config, libver, vlen_config=False, weights=True,
              extra_attrs=0, userblock=0, extra_size=0):
    kw = {"libver": libver}
    if userblock:
        kw["userblock_size"] = userblock
    with h5py.File(path, "w", **kw) as f:
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["backend"] = "tensorflow"
        text = json.dumps(config)
        # Keras 2 writes json.dumps(...).encode('utf8'): h5py 2 stored
        # that as a fixed-length string, h5py 3 as a variable-length one.
        f.attrs["model_config"] = text if vlen_config else fixed(text)
        f.attrs["training_config"] = (json.dumps(TRAINING) if vlen_config
                                      else fixed(json.dumps(TRAINING)))
        for i in range(extra_attrs):
            f.attrs["note_%02d" % i] = (fixed("x" * extra_size) if
                                        extra_size else "x" * i)
        if weights:
            mw = f.create_group("model_weights")
            names = [l["config"]["name"] for l in
                     config["config"]["layers"]]
            mw.attrs["layer_names"] = np.array([n.encode() for n in names])
            mw.attrs["backend"] = b"tensorflow"
            mw.attrs["keras_version"] = b"2.13.1"
            for n in names:
                g = mw.create_group(n)
                if n.startswith("dense"):
                    g.attrs["weight_names"] = np.array(
                        [(n + "/kernel:0").encode(),
                         (n + "/bias:0").encode()])
                    sub = g.create_group(n)
                    sub.create_dataset("kernel:0", data=np.ones((2, 2),
                                                                "float32"))
                    sub.create_dataset("bias:0", data=np.zeros((2,),
                                                               "float32"))
                else:
                    g.attrs["weight_names"] = np.array([], dtype="S1")
    if userblock:
        with open(path, "r+b") as fp:
            fp.write(b"This user block is text written before the HDF5 "
                     b"superblock.\n")


def keras3_weights(path):
    """model.weights.h5 as Keras 3 writes it (no configuration)."""
    with h5py.File(path, "w") as f:
        layers = f.create_group("layers")
        for name in ("dense", "dense_1"):
            v = layers.create_group(name).create_group("vars")
            v.create_dataset("0", data=np.ones((4, 2), "float32"))
            v.create_dataset("1", data=np.zeros((2,), "float32"))
        f.create_group("optimizer").create_group("vars").create_dataset(
            "0", data=np.array(0, "int64"))


def big_group(path, libver, n, link_external=False):
    with h5py.File(path, "w", libver=libver) as f:
        f.attrs["model_config"] = json.dumps(BENIGN).encode()
        g = f.create_group("many")
        target = f.create_dataset("shared", data=np.arange(3, dtype="i4"))
        for i in range(n):
            g["member_%04d" % i] = target
        # Sorted last among the members: reached only by a full walk.
        g.create_dataset("zz_ext", shape=(1,), dtype="f4",
                         external=[("/etc/shadow", 0, 4)])
        # A hard link back to the root: a cycle in the object graph.
        g["zz_root_again"] = f["/"]
        if link_external:
            g["zz_outside"] = h5py.ExternalLink("/etc/passwd", "/root")


def external_storage(path):
    with h5py.File(path, "w") as f:
        f.create_dataset("w", shape=(4,), dtype="f4",
                         external=[("/etc/shadow", 0, 16)])


def virtual_dataset(path):
    src = out("vds_source.h5")
    with h5py.File(src, "w") as f:
        f.create_dataset("d", data=np.arange(4, dtype="f4"))
    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource("/tmp/elsewhere.h5", "d", shape=(4,))
    with h5py.File(path, "w", libver="latest") as f:
        f.create_virtual_dataset("v", layout)
    os.remove(src)


def huge_attribute(path):
    """A model_config too large for an object header (dense storage)."""
    layers = [k2_dense("dense_%d" % i, 8, "relu") for i in range(170)]
    layers.append(k2_lambda("lambda", EVIL))
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs["model_config"] = fixed(json.dumps(k2_sequential(layers)))



# --- corrupt variants ------------------------------------------------------


def lookup3(data, initval=0):
    """Jenkins lookup3 hashlittle, as HDF5's H5_checksum_lookup3."""
    m = 0xffffffff

    def rot(x, k):
        return ((x << k) | (x >> (32 - k))) & m
    length = len(data)
    a = b = c = (0xdeadbeef + length + initval) & m
    i = 0
    while length > 12:
        a = (a + struct.unpack_from("<I", data, i)[0]) & m
        b = (b + struct.unpack_from("<I", data, i + 4)[0]) & m
        c = (c + struct.unpack_from("<I", data, i + 8)[0]) & m
        a = (a - c) & m; a ^= rot(c, 4); c = (c + b) & m
        b = (b - a) & m; b ^= rot(a, 6); a = (a + c) & m
        c = (c - b) & m; c ^= rot(b, 8); b = (b + a) & m
        a = (a - c) & m; a ^= rot(c, 16); c = (c + b) & m
        b = (b - a) & m; b ^= rot(a, 19); a = (a + c) & m
        c = (c - b) & m; c ^= rot(b, 4); b = (b + a) & m
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = data[i:i + length] + b"\0" * (12 - length)
    a = (a + struct.unpack_from("<I", tail, 0)[0]) & m
    b = (b + struct.unpack_from("<I", tail, 4)[0]) & m
    c = (c + struct.unpack_from("<I", tail, 8)[0]) & m
    c ^= b; c = (c - rot(b, 14)) & m
    a ^= c; a = (a - rot(c, 11)) & m
    b ^= a; b = (b - rot(a, 25)) & m
    c ^= b; c = (c - rot(b, 16)) & m
    a ^= c; a = (a - rot(c, 4)) & m
    b ^= a; b = (b - rot(a, 14)) & m
    c ^= b; c = (c - rot(b, 24)) & m
    return c


def v0_root(data):
    """Root object header address in a version 0 superblock (8-byte)."""
    assert data[8] == 0 and data[13] == 8 and data[14] == 8
    return 24 + 4 * 8 + 8


def v1_messages(data, addr):
    """(offset of message header, type, size) in a v1 header's chunk 0."""
    size = struct.unpack_from("<I", data, addr + 8)[0]
    pos, end = addr + 16, addr + 16 + size
    while pos + 8 <= end:
        mtype, msize = struct.unpack_from("<HH", data, pos)
        yield pos, mtype, msize
        pos += 8 + msize


def corrupt_variants(good_v0, good_v3):
    data = bytearray(open(good_v0, "rb").read())
    # Truncated: the file ends halfway.
    open(out("corrupt_truncated.h5"), "wb").write(data[:len(data) // 2])
    # Root object header address far past the end of the file; the
    # end-of-file address is left as it was.
    bad = bytearray(data)
    struct.pack_into("<Q", bad, v0_root(bad), 0x7fff0000)
    open(out("corrupt_bad_root.h5"), "wb").write(bad)
    # A continuation message that points back at the first chunk.
    root = struct.unpack_from("<Q", data, v0_root(data))[0]
    loop = bytearray(data)
    for pos, mtype, msize in v1_messages(loop, root):
        if mtype == 0x10:
            struct.pack_into("<QQ", loop, pos + 8, root + 16,
                             struct.unpack_from("<I", loop, root + 8)[0])
            break
    else:
        sys.exit("no continuation message in " + good_v0)
    open(out("corrupt_cont_loop_v1.h5"), "wb").write(loop)
    # Version 2: an OCHK chunk whose continuation points at itself, with
    # the checksum recomputed so that only the loop is wrong.
    data = bytearray(open(good_v3, "rb").read())
    ochk = data.find(b"OCHK")
    if ochk < 0:
        sys.exit("no OCHK chunk in " + good_v3)
    # Find the continuation message (type 0x10) in OHDR chunk 0.
    ohdr = data.find(b"OHDR")
    flags = data[ohdr + 5]
    pos = ohdr + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 3)
    size = int.from_bytes(data[pos:pos + width], "little")
    pos += width
    start, end = pos, pos + size
    hdr = 6 if flags & 0x04 else 4
    while pos + hdr <= end:
        mtype, msize = data[pos], struct.unpack_from("<H", data, pos + 1)[0]
        if mtype == 0x10:
            clen = struct.unpack_from("<Q", data, pos + hdr + 8)[0]
            break
        pos += hdr + msize
    else:
        sys.exit("no continuation in OHDR")
    # Rewrite the OCHK's first message as a continuation to itself.
    m = ochk + 4
    mtype, msize = data[m], struct.unpack_from("<H", data, m + 1)[0]
    if msize < 16:
        sys.exit("OCHK message too small to rewrite")
    data[m] = 0x10
    struct.pack_into("<H", data, m + 1, 16)
    struct.pack_into("<QQ", data, m + hdr, ochk, clen)
    # The rest of the old message becomes a NIL message.
    rest = msize - 16 - hdr
    if rest >= 0:
        n = m + hdr + 16
        data[n] = 0
        struct.pack_into("<H", data, n + 1, rest)
        data[n + 3] = 0
    struct.pack_into("<I", data, ochk + clen - 4,
                     lookup3(bytes(data[ochk:ochk + clen - 4])))
    open(out("corrupt_cont_loop_v2.h5"), "wb").write(data)
    assert start < end


def main():
    write_configs()
    for libver, tag in (("earliest", "v0"), ("latest", "v3")):
        keras2_h5(out("k2_benign_%s.h5" % tag), BENIGN, libver)
        keras2_h5(out("k2_lambda_%s.h5" % tag), LAMBDA, libver,
                  vlen_config=(tag == "v3"))
        # Without an external link the earliest format keeps the group a
        # symbol table (a two-level v1 B-tree at this size); the latest
        # uses dense storage (fractal heap, two-level v2 B-tree).
        big_group(out("big_group_%s.h5" % tag), libver, 300,
                  link_external=(tag == "v3"))
        big_group(out("external_link_%s.h5" % tag), libver, 2,
                  link_external=True)
    keras2_h5(out("k3_lambda_v0.h5"), K3_LAMBDA, "earliest", weights=False)
    keras2_h5(out("k2_lambda_dense_attrs.h5"), LAMBDA, "latest",
              weights=False, extra_attrs=12)
    keras2_h5(out("k2_lambda_userblock.h5"), LAMBDA, "earliest",
              weights=False, userblock=512)
    keras3_weights(out("k3_model.weights.h5"))
    with h5py.File(out("config_not_string.h5"), "w") as f:
        f.attrs["model_config"] = np.int32(7)
    with h5py.File(out("config_bad_json.h5"), "w") as f:
        f.attrs["model_config"] = fixed('{"class_name": "Sequential", ')
    # The broken configuration must not hide what comes after it.
    with h5py.File(out("config_bad_json_extlink.h5"), "w") as f:
        f.attrs["model_config"] = fixed('{"class_name": "Sequential", ')
        f["elsewhere"] = h5py.ExternalLink("other.h5", "/data")
    external_storage(out("external_storage.h5"))
    virtual_dataset(out("virtual_dataset.h5"))
    huge_attribute(out("k2_lambda_huge_attr.h5"))
    # Root headers that overflow into continuation chunks.
    keras2_h5(out("cont_v0.h5"), BENIGN, "earliest", weights=False,
              extra_attrs=40)
    keras2_h5(out("cont_v3.h5"), BENIGN, "latest", weights=False,
              extra_attrs=3, extra_size=3000)
    corrupt_variants(out("cont_v0.h5"), out("cont_v3.h5"))
    # Larger files are committed gzipped; the tests inflate them.
    for name in sorted(os.listdir(HERE)):
        path = out(name)
        if name.endswith(".h5") and os.path.getsize(path) > 16384:
            with open(path, "rb") as fp, gzip.open(path + ".gz", "wb",
                                                    9) as gz:
                gz.write(fp.read())
            os.remove(path)


if __name__ == "__main__":
    main()
