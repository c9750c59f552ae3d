#!/usr/bin/python3
"""Scanner throughput against the inner loop of the Python scanners.

picklescan, modelscan and fickling all walk a pickle with
pickletools.genops (or an equivalent linear opcode loop) before they judge
anything.  This benchmark times `palisade scan` on the same files as that
bare loop, in the same run, and reports the ratio:

  dense-1m     ~1M opcodes of small containers, strings and memo traffic
  sklearn-100m a ~100 MB joblib dump of a scikit-learn text vectorizer
               (a vocabulary dict: the opcode-dense part of real sklearn
               pickles)
  torch-1g     a ~1 GB PyTorch zip (torch.save of a state_dict); the
               baseline opens the zip and walks data.pkl, as the Python
               scanners do

Inputs are generated into --work on first use and reused.  Timings are the
best of --repeat runs; palisade runs as a separate process (start-up
included), the baseline in-process (interpreter start-up excluded), which
favours the baseline.
"""
import argparse
import io
import os
import pickletools
import subprocess
import sys
import time
import zipfile


def gen_dense(path):
    rows = [{"id": i, "name": "n%d" % (i % 97), "tags": ("a", "b"),
             "w": i * 0.5} for i in range(70000)]
    import pickle
    with open(path, "wb") as f:
        pickle.dump(rows, f, protocol=4)


def gen_sklearn(path):
    import joblib
    from sklearn.feature_extraction.text import CountVectorizer
    vec = CountVectorizer()
    vec.fit(["alpha beta gamma", "delta epsilon"])
    vec.vocabulary_ = {"tok%07d" % i: i for i in range(4_200_000)}
    joblib.dump(vec, path)


def gen_torch(path):
    import torch
    n = (1 << 30) // 4
    state = {"layer%d.weight" % i: torch.zeros(n // 8) for i in range(8)}
    torch.save(state, path)


INPUTS = [
    ("dense-1m", "dense.pkl", gen_dense),
    ("sklearn-100m", "sklearn.joblib", gen_sklearn),
    ("torch-1g", "torch.pt", gen_torch),
]


def pickles_of(path):
    """The pickles a Python scanner would walk in this file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [z.read(n) for n in z.namelist() if n.endswith(".pkl")]
    return [data]


def genops_loop(blobs):
    n = 0
    for blob in blobs:
        for _ in pickletools.genops(io.BytesIO(blob)):
            n += 1
    return n


def best(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_palisade(binary, path):
    r = subprocess.run([binary, "scan", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return r.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--palisade", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    print("%-13s %9s %11s %12s %12s %12s %9s %s" % (
        "input", "MB", "opcodes", "palisade s", "genops s",
        "pal Mop/s", "ratio", "exit"))
    for name, fname, gen in INPUTS:
        path = os.path.join(args.work, fname)
        if not os.path.exists(path):
            print("generating %s ..." % path, file=sys.stderr)
            gen(path + ".tmp")
            os.rename(path + ".tmp", path)
        size = os.path.getsize(path) / 1e6
        # Warm the page cache so both sides read from memory.
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
        blobs = pickles_of(path)
        t_py, nops = best(lambda: genops_loop(blobs), args.repeat)
        t_pal, rc = best(lambda: run_palisade(args.palisade, path),
                         args.repeat)
        print("%-13s %9.1f %11d %12.4f %12.4f %12.1f %8.1fx %d" % (
            name, size, nops, t_pal, t_py, nops / t_pal / 1e6,
            t_py / t_pal, rc))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
