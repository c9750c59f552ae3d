#!/usr/bin/python3
"""gen-globals.py - writes the globals that real pickles name, for
tests/unit/test_policy.c:

  benign.tsv     module, name, expected verdict, what named it: from models
                 that torch, numpy, scikit-learn, joblib and scipy write
                 here (run with /usr/bin/python3, which has them).
  malicious.tsv  file, module, name, expected verdict: from the exploit
                 files of tests/data/picklescan.

The names are the raw strings a pickle carries (GLOBAL, INST and
STACK_GLOBAL operands, Python 2 names included), exactly what the pickle
scanner passes to pal_policy_judge.  Expected verdicts: every benign name
is "allowed" except the few in REFUSED, which docs/policy.md explains;
every name in an exploit file is "dangerous" except the harmless helpers
in HELPERS that some exploits also use.

    tests/data/policy/gen-globals.py     # rewrites both files
"""

import io
import os
import pickle
import pickletools
import sys
import warnings
import zipfile

warnings.filterwarnings("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "picklescan")

# Benign pickles that name globals the policy refuses on purpose.
REFUSED = {
    ("__builtin__", "getattr"): "dangerous",	# lazy modules' bound hooks
    ("builtins", "getattr"): "dangerous",
    ("torch", "ScriptObject"): "unknown",	# TorchScript custom class
}

# Harmless helpers that exploit files use next to the dangerous call.
HELPERS = {
    ("_codecs", "encode"): "allowed",
    ("torch._utils", "_rebuild_tensor"): "allowed",
    ("__builtin__", "dict"): "allowed",
    ("numpy", "ndarray"): "allowed",
    ("numpy", "dtype"): "allowed",
    ("numpy._core.multiarray", "_reconstruct"): "allowed",
}

STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8",
              "STRING", "BINSTRING", "SHORT_BINSTRING"}


def pickle_globals(data):
    out, strs, memo = [], [], {}
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            n = op.name
            if n in ("GLOBAL", "INST"):
                m, _, name = arg.partition(" ")
                out.append((m, name))
            elif n in STRING_OPS:
                strs.append(arg)
            elif n == "MEMOIZE":
                memo[len(memo)] = strs[-1] if strs else None
            elif n in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = strs[-1] if strs else None
            elif n in ("GET", "BINGET", "LONG_BINGET"):
                strs.append(memo.get(arg))
            elif n == "STACK_GLOBAL" and len(strs) >= 2:
                out.append((strs[-2], strs[-1]))
            elif n == "STOP":
                break
    except Exception:
        pass
    # Only what a string-tracking walk can attribute for sure.
    ok = []
    for m, n in out:
        if isinstance(m, str) and isinstance(n, str) and all(
                p.isidentifier() for p in m.split(".") + n.split(".")):
            ok.append((m, n))
    return ok


def benign_objects():
    import numpy as np
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 2)
            self.drop = nn.Dropout(0.1)
    net = Net()
    lm = nn.ModuleDict({"emb": nn.Embedding(10, 4), "rnn": nn.LSTM(4, 4),
                        "head": nn.Sequential(nn.Linear(4, 10), nn.LogSoftmax(-1))})
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, activation="gelu"), 1)
    qnet = torch.ao.quantization.quantize_dynamic(
        nn.Sequential(nn.Linear(4, 4)), {nn.Linear}, dtype=torch.qint8)
    torch_objs = {
        "torch state_dict cnn": net.state_dict(),
        "torch state_dict lm": lm.state_dict(),
        "torch state_dict transformer": enc.state_dict(),
        "torch full model cnn": nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten()),
        "torch full model lm": lm,
        "torch full model transformer": enc,
        "torch full model lazy": nn.LazyLinear(2),
        "torch full model quantized": qnet,
        "torch checkpoint": {"epoch": 3, "model": net.state_dict(),
                             "optimizer": torch.optim.Adam(net.parameters()).state_dict(),
                             "sparse": torch.eye(3).to_sparse(),
                             "half": torch.ones(2, dtype=torch.float16)},
    }
    for what, obj in torch_objs.items():
        for proto in (2, 4):
            b = io.BytesIO()
            torch.save(obj, b, pickle_protocol=proto)
            z = zipfile.ZipFile(io.BytesIO(b.getvalue()))
            for n in z.namelist():
                if n.endswith("data.pkl"):
                    yield what, z.read(n)
            b = io.BytesIO()
            torch.save(obj, b, pickle_protocol=proto,
                       _use_new_zipfile_serialization=False)
            yield what + " (legacy)", b.getvalue()

    np_objs = {
        "numpy float array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "numpy structured": np.zeros(2, dtype=[("x", "<f8"), ("y", "S3")]),
        "numpy object array": np.array([1, "a", None], dtype=object),
        "numpy masked": np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]),
        "numpy scalars": [np.float64(1.5), np.int32(2), np.bool_(True)],
        "numpy rng": {"legacy": np.random.RandomState(1), "new": np.random.default_rng(2)},
        "numpy datetime": np.array(["2024-01-01"], dtype="datetime64[D]"),
    }
    for what, obj in np_objs.items():
        for proto in (0, 1, 2, 3, 4, 5):
            yield what, pickle.dumps(obj, protocol=proto)

    from sklearn.compose import ColumnTransformer
    from sklearn.cluster import KMeans
    from sklearn.ensemble import (GradientBoostingClassifier,
                                  HistGradientBoostingRegressor,
                                  RandomForestClassifier)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC
    import scipy.sparse as sp
    import joblib

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    texts = ["good model", "bad model", "good data", "bad data"] * 5
    models = {
        "sklearn pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        "sklearn random forest": RandomForestClassifier(n_estimators=3).fit(X, y),
        "sklearn gradient boosting": GradientBoostingClassifier(n_estimators=3).fit(X, y),
        "sklearn hist gradient boosting": HistGradientBoostingRegressor(max_iter=3).fit(X, X[:, 1]),
        "sklearn kmeans": KMeans(2, n_init=2).fit(X),
        "sklearn svc": SVC(probability=True).fit(X, y),
        "sklearn mlp": MLPClassifier(max_iter=20).fit(X, y),
        "sklearn knn kd_tree": KNeighborsClassifier(algorithm="kd_tree").fit(X, y),
        "sklearn gaussian process": GaussianProcessRegressor(RBF() + WhiteKernel()).fit(X, X[:, 0]),
        "sklearn text": make_pipeline(TfidfVectorizer(), MultinomialNB()).fit(texts, [0, 1, 0, 1] * 5),
        "sklearn column transformer": ColumnTransformer(
            [("oh", OneHotEncoder(), [0]), ("sc", StandardScaler(), [1, 2])]).fit(
                np.c_[rng.randint(0, 3, 60), X[:, 1:]]),
        "sklearn grid search": GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, cv=2).fit(X, y),
        "scipy sparse": sp.csr_matrix(np.eye(3)),
    }
    for what, obj in models.items():
        for proto in (0, 2, 4, 5):
            yield what, pickle.dumps(obj, protocol=proto)
        for compress in (0, 3):
            b = io.BytesIO()
            joblib.dump(obj, b, compress=compress)
            data = b.getvalue()
            if compress:
                import zlib
                data = zlib.decompress(data)
            yield what + " (joblib)", data


def write_benign():
    rows = {}
    for what, data in benign_objects():
        for g in pickle_globals(data):
            rows.setdefault(g, what)
    with open(os.path.join(HERE, "benign.tsv"), "w") as f:
        f.write("# module\tname\texpected\tnamed by (generated by gen-globals.py)\n")
        for (m, n), what in sorted(rows.items()):
            f.write("%s\t%s\t%s\t%s\n" % (m, n, REFUSED.get((m, n), "allowed"), what))
    return len(rows)


def corpus_pickles(path):
    data = open(path, "rb").read()
    if data[:6] == b"\x93NUMPY":
        hlen = int.from_bytes(data[8:10], "little") if data[6] == 1 else \
            int.from_bytes(data[8:12], "little")
        yield data[(10 if data[6] == 1 else 12) + hlen:]
    elif data[:2] == b"PK":
        try:
            z = zipfile.ZipFile(path)
            for info in z.infolist():
                try:
                    with z.open(info) as f:
                        f._expected_crc = None	# read the CRC exploit too
                        yield f.read()
                except Exception:
                    continue
        except Exception:
            return
    else:
        yield data


def write_malicious():
    rows = []
    for sub in ("data", "data2"):
        d = os.path.join(CORPUS, sub)
        for name in sorted(os.listdir(d)):
            if "benign" in name or "not_a_pickle" in name or "pytorch_model" in name \
                    or name.startswith(("int_array", "object_array")):
                continue
            seen = set()
            for data in corpus_pickles(os.path.join(d, name)):
                for g in pickle_globals(data):
                    if g not in seen:
                        seen.add(g)
                        rows.append((sub + "/" + name, g[0], g[1],
                                     HELPERS.get(g, "dangerous")))
    with open(os.path.join(HERE, "malicious.tsv"), "w") as f:
        f.write("# file\tmodule\tname\texpected (generated by gen-globals.py)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    return len(rows)


if __name__ == "__main__":
    nb = write_benign()
    nm = write_malicious()
    print("gen-globals: %d benign, %d malicious globals" % (nb, nm), file=sys.stderr)
