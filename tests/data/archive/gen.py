#!/usr/bin/python3
"""Writes the archive scanner's test files with the real tools.

Run with the system interpreter (it has numpy, joblib, lz4 and torch):

    /usr/bin/python3 tests/data/archive/gen.py

Needs tar, gzip, bzip2, xz, lzma, zstd, lz4 and 7z on PATH.  The files are
small and committed; tests/unit/test_archive.c reads them and builds the
large ones (bombs) and the damaged ones (truncated, trailing garbage) at
test time from these.  Hostile files here are inert data: nothing in them
is ever run, by the generator or the tests.
"""
import gzip
import bz2
import io
import lzma
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED_TIME = 1700000000


def out(name):
    return os.path.join(HERE, name)


def run(*cmd, cwd=None):
    subprocess.run(cmd, check=True, cwd=cwd, stdout=subprocess.DEVNULL)


class Evil:
    """Pickles as a call of os.system: the payload a scanner must find."""

    def __reduce__(self):
        import os as _os
        return (_os.system, ("echo owned",))


BENIGN = {"weights": [0.5, 1.5, 2.5], "name": "tiny", "layers": 3}


def benign_pickle():
    return pickle.dumps(BENIGN, protocol=2)


def evil_pickle():
    return pickle.dumps(Evil(), protocol=2)


def add_bytes(tar, name, data, **kw):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = FIXED_TIME
    for k, v in kw.items():
        setattr(info, k, v)
    tar.addfile(info, io.BytesIO(data))


def add_entry(tar, name, type_, **kw):
    info = tarfile.TarInfo(name)
    info.type = type_
    info.mtime = FIXED_TIME
    for k, v in kw.items():
        setattr(info, k, v)
    tar.addfile(info)


def tars(work):
    """Members data.pkl and config.txt in each tar dialect GNU tar writes."""
    with open(os.path.join(work, "data.pkl"), "wb") as f:
        f.write(benign_pickle())
    with open(os.path.join(work, "config.txt"), "w") as f:
        f.write("hidden_size = 8\n")
    for fmt in ("gnu", "ustar", "pax", "v7"):
        run("tar", "--format=" + fmt, "--mtime=@%d" % FIXED_TIME,
            "--owner=0", "--group=0", "-cf", out("model-%s.tar" % fmt),
            "data.pkl", "config.txt", cwd=work)
    # One evil member among benign ones.
    with tarfile.open(out("evil.tar"), "w", format=tarfile.USTAR_FORMAT) as t:
        add_bytes(t, "config.txt", b"hidden_size = 8\n")
        add_bytes(t, "model/data.pkl", evil_pickle())


def compressed(work):
    """payload.pkl through every compressor's command line tool."""
    src = os.path.join(work, "payload.pkl")
    with open(src, "wb") as f:
        f.write(benign_pickle())
    shutil.copy(src, out("payload.pkl"))
    for tool, ext in (("gzip", "gz"), ("bzip2", "bz2"), ("xz", "xz"),
                      ("lzma", "lzma"), ("zstd", "zst"), ("lz4", "lz4")):
        with open(out("payload.pkl." + ext), "wb") as f:
            subprocess.run([tool, "-c", src], check=True, stdout=f,
                           stderr=subprocess.DEVNULL)


def nested(work):
    """model.tar.gz holding model.zip holding data.pkl."""
    zpath = os.path.join(work, "model.zip")
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("archive/data.pkl", benign_pickle())
    tpath = os.path.join(work, "model.tar")
    run("tar", "--format=gnu", "--mtime=@%d" % FIXED_TIME, "--owner=0",
        "--group=0", "-cf", tpath, "model.zip", cwd=work)
    with open(out("nested.tar.gz"), "wb") as f:
        subprocess.run(["gzip", "-n", "-c", tpath], check=True, stdout=f)
    # The same tar as two concatenated gzip members, split mid-header.
    data = open(tpath, "rb").read()
    with open(out("split.tar.gz"), "wb") as f:
        f.write(gzip.compress(data[:700], mtime=0))
        f.write(gzip.compress(data[700:], mtime=0))
    # Layers of gzip and bzip2, alternating, around a pickle: deeper than
    # the default nesting limit of 8.
    blob = benign_pickle()
    for i in range(10):
        blob = gzip.compress(blob, mtime=0) if i % 2 == 0 else \
            bz2.compress(blob)
    with open(out("deep.gz"), "wb") as f:
        f.write(blob)


def hostile_tars():
    with tarfile.open(out("traversal.tar"), "w",
                      format=tarfile.GNU_FORMAT) as t:
        add_bytes(t, "../escape.pkl", benign_pickle())
        add_bytes(t, "/etc/cron.d/model", b"* * * * * root true\n")
    with tarfile.open(out("links.tar"), "w", format=tarfile.GNU_FORMAT) as t:
        add_bytes(t, "data.pkl", benign_pickle())
        add_entry(t, "inside", tarfile.SYMTYPE, linkname="data.pkl")
        add_entry(t, "sub/up", tarfile.SYMTYPE, linkname="../../etc/passwd")
        add_entry(t, "abs", tarfile.SYMTYPE, linkname="/etc/passwd")
        add_entry(t, "hard", tarfile.LNKTYPE, linkname="data.pkl")
        add_entry(t, "hardout", tarfile.LNKTYPE, linkname="../outside")
    with tarfile.open(out("special.tar"), "w",
                      format=tarfile.USTAR_FORMAT) as t:
        add_entry(t, "dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3)
        add_entry(t, "pipe", tarfile.FIFOTYPE)
        add_entry(t, "disk", tarfile.BLKTYPE, devmajor=8, devminor=0)
    with tarfile.open(out("duplicate.tar"), "w",
                      format=tarfile.USTAR_FORMAT) as t:
        add_bytes(t, "data.pkl", benign_pickle())
        add_bytes(t, "./data.pkl", evil_pickle())
    # Non-zero data after the end-of-archive blocks.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        add_bytes(t, "data.pkl", benign_pickle())
    with open(out("trailing.tar"), "wb") as f:
        f.write(buf.getvalue() + b"HIDDEN" * 100)


def sparse(work):
    """A GNU sparse member of 512 MiB holding 6 bytes: a tar bomb."""
    path = os.path.join(work, "holes.bin")
    with open(path, "wb") as f:
        f.truncate(512 << 20)
        f.seek(256 << 20)
        f.write(b"middle")
    run("tar", "--format=gnu", "--sparse", "--mtime=@%d" % FIXED_TIME,
        "--owner=0", "--group=0", "-cf", out("sparse.tar"), "holes.bin",
        cwd=work)


def sevenz(work):
    d = os.path.join(work, "7z")
    os.makedirs(d)
    with open(os.path.join(d, "data.pkl"), "wb") as f:
        f.write(benign_pickle())
    with open(os.path.join(d, "evil.pkl"), "wb") as f:
        f.write(evil_pickle())
    for name, args in (("model.7z", ["data.pkl"]),
                       ("evil.7z", ["data.pkl", "evil.pkl"]),
                       ("encrypted.7z", ["-psecret", "data.pkl"]),
                       ("encrypted-headers.7z",
                        ["-psecret", "-mhe=on", "data.pkl"])):
        target = out(name)
        if os.path.exists(target):
            os.remove(target)
        run("7z", "a", "-bd", "-mtm=off", "-mtc=off", "-mta=off", target,
            *args, cwd=d)


def joblib_files():
    import joblib
    import numpy as np
    obj = {"coef": np.arange(12, dtype=np.float64).reshape(3, 4),
           "name": "tiny", "classes": [0, 1, 2]}
    import zlib
    import lz4.frame
    decoders = {"zlib": zlib.decompress, "gzip": gzip.decompress,
                "bz2": bz2.decompress, "xz": lzma.decompress,
                "lzma": lzma.decompress, "lz4": lz4.frame.decompress}
    for comp, decode in decoders.items():
        path = out("joblib-%s.joblib" % comp)
        joblib.dump(obj, path, compress=(comp, 3))
        assert joblib.load(path)["name"] == "tiny"
        # What the stream holds, decoded by Python's own modules: the
        # scanner must decompress exactly this.
        with open(path, "rb") as f, open(out("joblib-%s.raw" % comp),
                                         "wb") as o:
            o.write(decode(f.read()))


def torch_storage_pickle(key, type_name):
    """(key, location, storage_type), as the legacy writer pickled it."""
    import torch
    return pickle.dumps((key, "cpu", getattr(torch, type_name)), protocol=2)


def legacy_torch(name, evil_in=None, storage_type="FloatStorage"):
    """The tar layout torch.save wrote before it used zip files."""
    import torch
    import torch.serialization as ser
    values = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
    key = 1000
    st = io.BytesIO()
    st.write(pickle.dumps(1, protocol=2))
    args = torch_storage_pickle(key, storage_type)
    if evil_in == "storages":
        args = evil_pickle()
    st.write(args)
    st.write(struct.pack("<q", 4))
    st.write(values)
    st.write(pickle.dumps([], protocol=2))          # storage views
    te = io.BytesIO()
    te.write(pickle.dumps(1, protocol=2))
    targs = ((2000, key, torch.FloatTensor) if evil_in != "tensors"
             else Evil())
    te.write(pickle.dumps(targs, protocol=2))
    te.write(struct.pack("<ii", 1, 0))
    te.write(struct.pack("<q", 4))                  # sizes
    te.write(struct.pack("<q", 1))                  # strides
    te.write(struct.pack("<q", 0))                  # storage offset
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}},
                            protocol=2)

    class Root:
        pass

    # The root pickle refers to tensor "2000" by persistent id.
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "2000" if obj is Root else None
    root = io.BytesIO()
    P(root, protocol=2).dump({"weight": Root})
    with tarfile.open(out(name), "w", format=tarfile.PAX_FORMAT) as t:
        add_bytes(t, "sys_info", sys_info)
        add_bytes(t, "pickle", root.getvalue())
        add_bytes(t, "tensors", te.getvalue())
        add_bytes(t, "storages", st.getvalue())
    return out(name)


def legacy_torch_files():
    import torch
    path = legacy_torch("legacy-torch.tar")
    # The layout is right if torch itself loads it.
    got = torch.load(path)
    assert torch.equal(got["weight"], torch.tensor([1.0, 2.0, 3.0, 4.0])), got
    legacy_torch("legacy-torch-evil-storages.tar", evil_in="storages")
    legacy_torch("legacy-torch-evil-tensors.tar", evil_in="tensors")
    # A type the scanner does not know cannot be delimited.
    legacy_torch("legacy-torch-odd-type.tar", storage_type="UntypedStorage")


def main():
    with tempfile.TemporaryDirectory() as work:
        tars(work)
        compressed(work)
        nested(work)
        hostile_tars()
        sparse(work)
        sevenz(work)
        joblib_files()
        legacy_torch_files()
    return 0


if __name__ == "__main__":
    sys.exit(main())
