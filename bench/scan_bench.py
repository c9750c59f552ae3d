#!/usr/bin/python3
"""Scanner throughput against the inner loop of the Python scanners.

picklescan, modelscan and fickling all walk a pickle with
pickletools.genops (or an equivalent linear opcode loop) before they judge
anything.  This benchmark times palisade on the same files as that bare
loop, in the same run, and reports the ratio:

  dense-1m     ~1M opcodes of small containers, strings and memo traffic
  sklearn-100m a ~100 MB joblib dump of a scikit-learn text vectorizer
               (a vocabulary dict: the opcode-dense part of real sklearn
               pickles)
  torch-1g     a ~1 GB PyTorch zip (torch.save of a state_dict); the
               baseline opens the zip and walks data.pkl, as the Python
               scanners do

Inputs are generated into --work on first use and reused.  Every timing is
the best of --repeat rounds, with the file in the page cache; each round
times the baseline, palisade in-process and palisade as a process one
after the other, so that all three sample the same conditions of a shared
machine (whose cores' speed here varies by a third from one second to the
next).  Palisade is timed two ways:

  in-process   scan_time (bench/scan_time.c) maps the file and times
               pal_scan_memory: detection and the full scan, nothing else.
               The baseline is timed the same way, inside its interpreter
               with the bytes already in memory, so this is the
               like-for-like ratio, and the one the target (50x genops on
               opcode-dense pickles) is measured by.
  process      `palisade scan FILE` as a separate process: start-up,
               dynamic linking, the sandbox, mapping and page faults, the
               report.  Kept visible because it is what a user waits for.
"""
import argparse
import io
import os
import pickletools
import subprocess
import sys
import time
import zipfile

# Tokens in the vectorizer's vocabulary: about 18 bytes of pickle each.
SKLEARN_TOKENS = 5_600_000


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
    vec.vocabulary_ = {"tok%07d" % i: i for i in range(SKLEARN_TOKENS)}
    joblib.dump(vec, path)


def gen_torch(path):
    import torch
    n = (1 << 30) // 4
    state = {"layer%d.weight" % i: torch.zeros(n // 8) for i in range(8)}
    torch.save(state, path)


# name, file, generator, whether scan_time should touch every page first
# (a 1 GB zip whose tensors a scan skips is never read in full).
INPUTS = [
    ("dense-1m", "dense.pkl", gen_dense, True),
    ("sklearn-100m", "sklearn-100m.joblib", gen_sklearn, True),
    ("torch-1g", "torch.pt", gen_torch, False),
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


def run_scan_time(binary, path, nops, repeat, touch):
    """Best in-process time of pal_scan_memory, from scan_time's line."""
    cmd = [binary, "-r", str(repeat), "-w", "1", "-n", str(nops)]
    if not touch:
        cmd.append("-q")
    r = subprocess.run(cmd + [path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("scan_time failed on %s: %s" % (path, r.stderr.strip()))
    fields = dict(kv.split("=", 1) for kv in r.stdout.split()
                  if "=" in kv)
    return float(fields["best_s"]), fields.get("status", "?")


def ensure_input(work, fname, gen):
    path = os.path.join(work, fname)
    if not os.path.exists(path):
        print("generating %s ..." % path, file=sys.stderr)
        gen(path + ".tmp")
        os.rename(path + ".tmp", path)
    return path


def warm(path):
    """Reads the file once, so that every side finds it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--palisade", required=True,
                    help="the palisade binary (whole-process timing)")
    ap.add_argument("--scan-time", required=True,
                    help="bench/scan_time built against the same library")
    ap.add_argument("--work", required=True,
                    help="where the inputs are kept (generated on first use)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", action="append", default=None,
                    help="run only the named input (may repeat)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    print("target: palisade >= 50x genops on opcode-dense pickles, "
          "measured in-process vs in-process (ratio in-proc); ratio "
          "process counts palisade's process start-up too")
    print("%-13s %7s %10s %9s %9s %9s %8s %8s %9s %9s %s" % (
        "input", "MB", "opcodes", "genops s", "in-proc s", "process s",
        "MB/s", "Mop/s", "ratio in", "ratio pro", "result"))
    for name, fname, gen, touch in INPUTS:
        if args.only and name not in args.only:
            continue
        path = ensure_input(args.work, fname, gen)
        size = os.path.getsize(path) / 1e6
        warm(path)
        blobs = pickles_of(path)
        t_py = t_in = t_proc = float("inf")
        for _ in range(args.repeat):
            t, nops = best(lambda: genops_loop(blobs), 1)
            t_py = min(t_py, t)
            t, status = run_scan_time(args.scan_time, path, nops, 3, touch)
            t_in = min(t_in, t)
            t, rc = best(lambda: run_palisade(args.palisade, path), 1)
            t_proc = min(t_proc, t)
        del blobs
        print("%-13s %7.1f %10d %9.4f %9.4f %9.4f %8.0f %8.1f %8.1fx "
              "%8.1fx %s, exit %d" % (
                  name, size, nops, t_py, t_in, t_proc, size / t_in,
                  nops / t_in / 1e6, t_py / t_in, t_py / t_proc, status,
                  rc))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
