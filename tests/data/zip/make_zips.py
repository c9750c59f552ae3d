#!/usr/bin/python3
"""make_zips.py - writes the zip scanner's test files (tests/unit/test_zip.c).

Benign files are written by the real libraries: torch.save (a state_dict and
a whole nn.Module), torch.jit.save (scripted and traced, the latter with
tensor constants), numpy.savez and savez_compressed (with an object array),
zipfile (a plain archive, a ZIP64-flagged member, a Keras v3 layout around
an h5py file).

Hostile files are packed by hand with struct, one trick each, so that every
header field is exactly what the test says it is.  The payload that should
be found is a protocol 2 pickle calling os.system.

Needs Debian's /usr/bin/python3 (torch, numpy, h5py, joblib).  Writes into
the directory of this script unless given another:

    /usr/bin/python3 tests/data/zip/make_zips.py [OUTDIR]
"""
import io
import os
import pickle
import struct
import sys
import zipfile
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
    os.path.abspath(__file__))

# What pickle.dumps writes for an object whose __reduce__ returns
# (os.system, ("echo pwned",)), protocol 2.
EVIL = b"\x80\x02cposix\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."
BENIGN = pickle.dumps({"w": [1.0, 2.0], "b": 3}, protocol=2)
TEXT = b"model card: nothing to see here\n"

SIG_LOCAL, SIG_CENTRAL, SIG_EOCD, SIG_DESC = (
    0x04034B50, 0x02014B50, 0x06054B50, 0x08074B50)


def deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def local_header(f):
    return struct.pack("<IHHHHHIIIHH", SIG_LOCAL, 20, f["flags"],
                       f["method"], 0, 0x21, f["crc"], f["csize"],
                       f["usize"], len(f["name"]), len(f["extra"])) + \
        f["name"] + f["extra"]


def central_header(f, lho):
    return struct.pack("<IHHHHHHIIIHHHHHII", SIG_CENTRAL, f["made_by"], 20,
                       f["flags"], f["method"], 0, 0x21, f["crc"],
                       f["csize"], f["usize"], len(f["name"]),
                       len(f["extra"]), 0, 0, 0, f["ext_attr"], lho) + \
        f["name"] + f["extra"]


def eocd(count, cd_size, cd_off, comment=b""):
    return struct.pack("<IHHHHIIH", SIG_EOCD, 0, 0, count, count, cd_size,
                       cd_off, len(comment)) + comment


def member(name, data, method=0, flags=0, **kw):
    """A member; kw: local={...} / central={...} field overrides, hidden,
    desc (write a data descriptor), desc_crc, raw (data as stored),
    ext_attr, made_by, lho (central offset override)."""
    if isinstance(name, str):
        name = name.encode()
    raw = kw.get("raw")
    if raw is None:
        raw = deflate(data) if method == 8 else data
    base = dict(name=name, method=method, flags=flags,
                crc=zlib.crc32(data), csize=len(raw), usize=len(data),
                extra=b"", ext_attr=kw.get("ext_attr", 0),
                made_by=kw.get("made_by", 20))
    return dict(base=base, raw=raw, local=kw.get("local", {}),
                central=kw.get("central", {}), hidden=kw.get("hidden", False),
                desc=kw.get("desc", False), desc_crc=kw.get("desc_crc"),
                lho=kw.get("lho"))


def build(members, prepend=b"", relative=False, count=None, tail=b""):
    """Packs members; relative=True writes offsets from the end of prepend
    (as if the archive were concatenated to it)."""
    out = bytearray(prepend)
    base = len(prepend) if relative else 0
    cds = []
    for m in members:
        lf = dict(m["base"], **m["local"])
        cf = dict(m["base"], **m["central"])
        if m["desc"]:
            lf.update(flags=lf["flags"] | 8, crc=0, csize=0, usize=0)
            cf["flags"] |= 8
        lho = len(out) - base
        out += local_header(lf) + m["raw"]
        if m["desc"]:
            crc = m["desc_crc"] if m["desc_crc"] is not None else \
                m["base"]["crc"]
            out += struct.pack("<IIII", SIG_DESC, crc, m["base"]["csize"],
                               m["base"]["usize"])
        if not m["hidden"]:
            cds.append(central_header(cf, m["lho"] if m["lho"] is not None
                                      else lho))
    cd = b"".join(cds)
    cd_off = len(out) - base
    out += cd
    out += eocd(len(cds) if count is None else count, len(cd), cd_off)
    return bytes(out + tail)


def zinfo(name, method=zipfile.ZIP_STORED):
    """A fixed timestamp, so that the files come out the same each run."""
    zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    zi.compress_type = method
    zi.external_attr = (0o40755 << 16 | 0x10) if name.endswith("/") else \
        0o644 << 16
    return zi


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as fp:
        fp.write(data)


def torch_classes():
    """Module-level classes, so that torch.save can pickle a whole model."""
    import torch

    global Net, Scaled

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x):
            return torch.relu(self.fc(x))

    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(2))

        def forward(self, x):
            return x * torch.tensor([1.0, 2.0]) + self.w

    Net.__qualname__ = "Net"
    Scaled.__qualname__ = "Scaled"


def benign_torch():
    import torch

    torch_classes()
    torch.manual_seed(0)
    net = Net()
    torch.save(net.state_dict(), os.path.join(OUT, "torch_state_dict.pt"))
    torch.save(net, os.path.join(OUT, "torch_module.pt"))
    torch.jit.save(torch.jit.script(net),
                   os.path.join(OUT, "torchscript_scripted.pt"))
    torch.jit.save(torch.jit.trace(Scaled(), torch.ones(2)),
                   os.path.join(OUT, "torchscript_traced.pt"))


def benign_numpy():
    import numpy as np

    obj = np.array([1, "two", None, {"k": 3.0}], dtype=object)
    np.savez(os.path.join(OUT, "arrays.npz"), a=np.arange(6).reshape(2, 3),
             b=obj)
    np.savez_compressed(os.path.join(OUT, "arrays_compressed.npz"),
                        a=np.linspace(0, 1, 50), b=obj)


def benign_zipfile():
    import numpy as np
    import joblib

    npz = io.BytesIO()
    np.savez(npz, x=np.arange(4))
    jb = io.BytesIO()
    joblib.dump({"coef": np.arange(3.0)}, jb)
    path = os.path.join(OUT, "plain.zip")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zinfo("weights/"), b"")
        zf.writestr(zinfo("README.txt", zipfile.ZIP_DEFLATED), TEXT * 4)
        zf.writestr(zinfo("weights/model.pkl"), BENIGN)
        zf.writestr(zinfo("weights/arrays.npz"), npz.getvalue())
        zf.writestr(zinfo("weights/model.joblib", zipfile.ZIP_DEFLATED),
                    jb.getvalue())
    path = os.path.join(OUT, "zip64_member.zip")
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open(zinfo("data.pkl"), "w", force_zip64=True) as fp:
            fp.write(BENIGN)


def benign_keras():
    import h5py

    h5 = io.BytesIO()
    with h5py.File(h5, "w") as f:
        f.create_dataset("layers/dense/vars/0", data=[[1.0, 2.0]])
    config = (b'{"module": "keras", "class_name": "Sequential", "config": '
              b'{"name": "seq", "layers": [{"module": "keras.layers", '
              b'"class_name": "Dense", "config": {"units": 2}}]}}')
    meta = b'{"keras_version": "3.0.0", "date_saved": "2024-01-01"}'
    with zipfile.ZipFile(os.path.join(OUT, "model.keras"), "w") as zf:
        zf.writestr(zinfo("metadata.json"), meta)
        zf.writestr(zinfo("config.json"), config)
        zf.writestr(zinfo("model.weights.h5"), h5.getvalue())


def torch_like(name, files):
    """A PyTorch-layout archive written by zipfile."""
    with zipfile.ZipFile(os.path.join(OUT, name), "w") as zf:
        for n, d in files:
            zf.writestr(zinfo(n), d)


def hostile():
    ok = member("data.pkl", BENIGN)
    write("prepended.zip", build([ok], prepend=b"MZ" + b"\x90" * 62,
                                 relative=True))
    write("prepended_pickle.zip", build([ok], prepend=EVIL, relative=True))
    write("hidden.zip", build([ok, member("evil.pkl", EVIL, hidden=True)]))
    write("hidden_descriptor.zip", build([
        ok,
        member("stored.pkl", EVIL, hidden=True, desc=True),
        member("deflated.pkl", EVIL, method=8, hidden=True, desc=True)]))
    write("name_mismatch.zip", build([member(
        "data.pkl", EVIL, local={"name": b"datap.kl"})]))
    write("method_mismatch.zip", build([member(
        "data.pkl", EVIL, local={"method": 8})]))
    write("size_mismatch_local.zip", build([member(
        "data.pkl", EVIL, local={"csize": 3, "usize": 3})]))
    write("crc_local.zip", build([member(
        "data.pkl", EVIL, local={"crc": 0x12345678})]))
    write("descriptor_mismatch.zip", build([member(
        "data.pkl", EVIL, desc=True, desc_crc=0xdeadbeef)]))
    write("crc_bad.zip", build([member(
        "data.pkl", EVIL, local={"crc": 0x0badc0de},
        central={"crc": 0x0badc0de})]))
    # The second entry's header lies inside the first one's data.
    inner = local_header(dict(name=b"evil.pkl", method=0, flags=0,
                              crc=zlib.crc32(EVIL), csize=len(EVIL),
                              usize=len(EVIL), extra=b"")) + EVIL
    write("overlap.zip", overlap_archive(inner))
    write("overlap_cd.zip", build([member(
        "data.pkl", EVIL, local={"csize": len(EVIL) + 30},
        central={"csize": len(EVIL) + 30, "usize": len(EVIL) + 30})]))
    write("encrypted_flag.zip", build([member("data.pkl", EVIL, flags=1)]))
    write("encrypted_local_only.zip", build([member(
        "data.pkl", EVIL, local={"flags": 1})]))
    write("duplicate.zip", build([ok, member("data.pkl", EVIL)]))
    write("case_duplicate.zip", build([
        member("archive/data.pkl", BENIGN), member("archive/DATA.PKL", EVIL),
        member("archive/version", b"3\n")]))
    write("traversal.zip", build([
        member("../evil.pkl", EVIL), member("/abs.pkl", BENIGN),
        member("dir\\win.pkl", BENIGN), member("C:evil.pkl", BENIGN)]))
    write("symlink.zip", build([member(
        "link", b"/etc/passwd", ext_attr=0o120777 << 16, made_by=0x031e)]))
    write("nul_name.zip", build([member("data.pkl\x00.txt", EVIL)]))
    write("method12.zip", build([member(
        "data.pkl", EVIL, method=12, raw=b"BZh91AY&SY" + b"\0" * 20)]))
    write("bomb.zip", build([member("zeros.bin", b"\0" * (1 << 20),
                                    method=8)]))
    write("eocd_tail.zip", build([member("data.pkl", EVIL)],
                                 tail=b"PK\x05\x06" + b"\0" * 10))
    write("count_mismatch.zip", build([ok, member("evil.pkl", EVIL)],
                                      count=1))
    write("two_directories.zip", two_directories())
    write("stored_beyond.zip", stored_beyond())
    write("empty.zip", eocd(0, 0, 0))
    write("zip64_missing.zip", build([member(
        "data.pkl", EVIL, central={"csize": 0xFFFFFFFF})]))
    write("usize_lie.zip", build([member(
        "data.pkl", EVIL, method=8, local={"usize": 10},
        central={"usize": 10})]))
    z64 = struct.pack("<HHQQ", 1, 16, len(BENIGN), len(BENIGN))
    write("zip64_central.zip", build([member(
        "data.pkl", BENIGN,
        local={"csize": 0xFFFFFFFF, "usize": 0xFFFFFFFF, "extra": z64},
        central={"csize": 0xFFFFFFFF, "usize": 0xFFFFFFFF,
                 "extra": z64})]))
    write("not_a_zip.bin", b"PK\x03\x04" + b"\xff" * 40)
    write("deflate_corrupt.zip", build([member(
        "data.pkl", EVIL, method=8, raw=b"\xff\xfe\xfd\xfc" * 4)]))
    write("nested.zip", build([member("inner.zip", open(
        os.path.join(OUT, "hidden.zip"), "rb").read())]))


def overlap_archive(inner):
    """cover.bin holds a whole local header; evil.pkl's central record
    points inside it."""
    name = b"cover.bin"
    cf = dict(name=name, method=0, flags=0, crc=zlib.crc32(inner),
              csize=len(inner), usize=len(inner), extra=b"", ext_attr=0,
              made_by=20)
    out = local_header(cf) + inner
    ef = dict(name=b"evil.pkl", method=0, flags=0, crc=zlib.crc32(EVIL),
              csize=len(EVIL), usize=len(EVIL), extra=b"", ext_attr=0,
              made_by=20)
    cd = central_header(cf, 0) + central_header(ef, 30 + len(name))
    return out + cd + eocd(2, len(cd), len(out))


def two_directories():
    """Python reads the directory right before the end record (offsets
    shifted by concat), PyTorch the one at the declared offset: the same
    name leads each to different bytes."""
    big = pickle.dumps({"w": list(range(100))}, protocol=2)
    a = member("archive/data.pkl", big)["base"]
    b = member("archive/data.pkl", EVIL)["base"]
    v = member("archive/version", b"3\n")["base"]
    out = local_header(a) + big
    lho_b = len(out)
    out += local_header(b) + EVIL
    lho_v = len(out)
    out += local_header(v) + b"3\n"
    cd_torch = central_header(a, 0) + central_header(v, lho_v)
    cd_torch_off = len(out)
    out += cd_torch
    # Python: concat = eocd - size - cd_off; records at offset + concat.
    concat = len(out) - cd_torch_off
    cd_py = central_header(b, lho_b - concat) + \
        central_header(v, lho_v - concat)
    assert len(cd_py) == len(cd_torch)
    out += cd_py
    return out + eocd(2, len(cd_torch), cd_torch_off)


def stored_beyond():
    f = member("data.pkl", EVIL)["base"]
    f.update(csize=1 << 20, usize=1 << 20)
    out = local_header(f) + EVIL
    cd = central_header(f, 0)
    return out + cd + eocd(1, len(cd), len(out))


def torch_hostile():
    npy = io.BytesIO()
    import numpy as np
    np.save(npy, np.array([EVIL], dtype=object),
            allow_pickle=True)
    torch_like("torch_storage_pickle.pt", [
        ("archive/data.pkl", BENIGN),
        ("archive/data/0", EVIL),
        ("archive/data/1", npy.getvalue()),
        ("archive/version", b"3\n")])
    code = (b"class M(Module):\n"
            b"  def forward(self, x: Tensor) -> Tensor:\n"
            b"    torch.ops.load_library(\"/tmp/x.so\")\n"
            b"    y = torch.from_file(\"/etc/passwd\", False, 10)\n"
            b"    return torch.ops.evilns.run(x)\n")
    torch_like("torchscript_evil.pt", [
        ("ts/data.pkl", BENIGN),
        ("ts/code/__torch__.py", code),
        ("ts/constants.pkl", pickle.dumps((), protocol=2)),
        ("ts/version", b"3\n")])


def truncated():
    with open(os.path.join(OUT, "torch_state_dict.pt"), "rb") as fp:
        data = fp.read()
    write("truncated.pt", data[:len(data) // 2])


def main():
    os.makedirs(OUT, exist_ok=True)
    benign_torch()
    benign_numpy()
    benign_zipfile()
    benign_keras()
    hostile()
    torch_hostile()
    truncated()


if __name__ == "__main__":
    main()
