#!/usr/bin/python3
"""Writes the benign pickle test files with the real libraries.

Run with the system interpreter, which has numpy, torch, sklearn and joblib:

    /usr/bin/python3 tests/data/pickle/gen_benign.py tests/data/pickle/benign

Every file must scan clean; each exercises a layout the scanner has to
follow exactly (protocols 0-5, PyTorch's legacy five-pickle format with its
storage data, joblib's arrays written between opcodes, object arrays as
nested pickles).  The files are small and committed; this script documents
how they were made.
"""
import collections
import io
import os
import pickle
import sys

import joblib
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import Pipeline


def plain_data():
    """Every builtin type the opcodes can spell."""
    rec = [1, 2]
    rec.append(rec)
    return {
        "none": None, "true": True, "false": False,
        "small": 7, "neg": -300, "int32": 2 ** 31 - 1, "int64": -2 ** 40,
        "big": 2 ** 100, "negbig": -(2 ** 70) + 3,
        "float": 1.5, "nan": float("nan"), "inf": float("-inf"),
        "text": "h\u00e9llo \u2603 \U0001f600", "quote": "it's \"q\"\n\\",
        "bytes": b"\x00\x01\xff raw", "bytearray": bytearray(b"\x10\x20"),
        "tuple0": (), "tuple1": (1,), "tuple2": (1, 2), "tuple3": (1, 2, 3),
        "tuple5": (1, 2, 3, 4, 5), "list": [1, "a", None],
        "set": {1, 2, 3}, "frozenset": frozenset({"x", "y"}),
        "nested": {"a": [{"b": (1, [2, {"c": 3}])}]},
        "shared": [rec, rec], "ordered": collections.OrderedDict(a=1, b=2),
        "long": "x" * 300, "longbytes": b"y" * 300,
    }


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main(out):
    os.makedirs(out, exist_ok=True)
    data = plain_data()
    for proto in range(0, 6):
        write(os.path.join(out, "builtins_p%d.pkl" % proto),
              pickle.dumps(data, protocol=proto))
    # Protocol 5 with an in-band PickleBuffer (BYTEARRAY8, READONLY_BUFFER).
    write(os.path.join(out, "buffer_p5.pkl"), pickle.dumps(
        [pickle.PickleBuffer(bytearray(b"abc")),
         pickle.PickleBuffer(b"ro")], protocol=5))
    # NumPy arrays through plain pickle (numpy's own __reduce__).
    arrs = {"f": np.arange(6, dtype=np.float32).reshape(2, 3),
            "o": np.array([1, "two", None], dtype=object),
            "u": np.array(["ab", "c"]), "s": np.float64(2.5)}
    for proto in (2, 4):
        write(os.path.join(out, "numpy_p%d.pkl" % proto),
              pickle.dumps(arrs, protocol=proto))

    torch.manual_seed(0)
    state = collections.OrderedDict(
        w=torch.arange(6, dtype=torch.float32).reshape(2, 3),
        b=torch.ones(2, dtype=torch.int64),
        h=torch.zeros(3, dtype=torch.float16),
        flag=torch.tensor([True, False]))
    torch.save(state, os.path.join(out, "torch_legacy.pt"),
               _use_new_zipfile_serialization=False)
    # A whole module: class references become ('module', ...) persistent
    # ids whose value is the class itself.
    torch.save(torch.nn.Linear(2, 1), os.path.join(out, "torch_legacy_module.pt"),
               _use_new_zipfile_serialization=False)

    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    model = Pipeline([("scale", StandardScaler()),
                      ("clf", LogisticRegression())]).fit(X, y)
    joblib.dump(model, os.path.join(out, "sklearn_pipeline.joblib"))
    joblib.dump({"a": np.arange(10, dtype=np.int16),
                 "f": np.asfortranarray(np.ones((3, 2))),
                 "o": np.array([{"k": 1}, "s", 3], dtype=object),
                 "e": np.zeros((0, 4)), "u": np.array(["xy", "z"])},
                os.path.join(out, "joblib_arrays.joblib"))
    joblib.dump([np.arange(3)], os.path.join(out, "joblib_p2.joblib"),
                protocol=2)
    # dtypes whose item size only the dtype's state gives: structured,
    # with a subarray field, datetime; masked arrays and a generator.
    joblib.dump({"rec": np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]),
                 "sub": np.zeros((2, 2), dtype=[("s", "i2", (3,))]),
                 "dt": np.array(["2020-01-01"], dtype="M8[D]"),
                 "c": np.zeros(2, dtype=complex),
                 "m": np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]),
                 "rng": np.random.default_rng(0)},
                os.path.join(out, "joblib_dtypes.joblib"))
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    rf = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    joblib.dump(rf, os.path.join(out, "sklearn_forest.joblib"))
    text = Pipeline([("tfidf", TfidfVectorizer()),
                     ("clf", LogisticRegression())]).fit(
        ["the cat sat", "the dog ran", "a cat ran"], [0, 1, 1])
    write(os.path.join(out, "sklearn_text_p5.pkl"),
          pickle.dumps(text, protocol=5))

    # A file object whose position cannot be asked: joblib writes no
    # alignment padding, as joblib before 1.2 did.
    class NoTell(io.RawIOBase):
        def __init__(self):
            self.buf = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.buf += b
            return len(b)

        def tell(self):
            raise io.UnsupportedOperation("tell")

    sink = NoTell()
    joblib.dump({"x": np.arange(5, dtype=np.float64)}, sink)
    write(os.path.join(out, "joblib_unaligned.joblib"), bytes(sink.buf))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "benign")
