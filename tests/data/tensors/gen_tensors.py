#!/usr/bin/python3
"""
gen_tensors.py - writes the benign tensor files the npy, safetensors and
GGUF scanner tests read.

NumPy files are written by numpy itself (np.save, numpy.lib.format).  The
safetensors and GGUF files are written by hand here, byte for byte as the
reference writers lay them out (the safetensors Rust crate's serialize();
gguf-py's GGUFWriter), because neither package is installed on the build
machines: both formats are simple enough that the layout below is the
whole of it.  Run with the system interpreter, which has numpy:

    /usr/bin/python3 tests/data/tensors/gen_tensors.py tests/data/tensors

The output is deterministic; the files are committed, so the tests do not
need Python.
"""
import json
import os
import struct
import sys

import numpy as np


def out(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- NumPy ---------------------------------------------------------------

def npy_files(d):
    def save(name, arr, version=None):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            if version is None:
                np.save(f, arr, allow_pickle=True)
            else:
                np.lib.format.write_array(f, arr, version=version,
                                          allow_pickle=True)

    save("npy_f4.npy", np.arange(6, dtype="<f4").reshape(2, 3))
    save("npy_i8_be.npy", np.arange(5, dtype=">i8"))
    save("npy_bool.npy", np.array([True, False, True]))
    save("npy_c16.npy", np.array([1 + 2j, 3 - 4j], dtype="<c16"))
    save("npy_bytes.npy", np.array([b"ab", b"cdefg"], dtype="|S5"))
    save("npy_unicode.npy", np.array(["x", "yz"], dtype="<U3"))
    save("npy_datetime.npy",
         np.array(["2024-01-01", "2024-06-30"], dtype="<M8[ns]"))
    save("npy_timedelta.npy", np.array([1, 2], dtype="<m8[10s]"))
    save("npy_fortran.npy",
         np.asfortranarray(np.arange(6, dtype="<u2").reshape(2, 3)))
    save("npy_scalar.npy", np.array(3.5, dtype="<f8"))
    save("npy_empty.npy", np.zeros((0, 3), dtype="<i4"))
    save("npy_f16.npy", np.array([1.0, 2.0], dtype=np.longdouble))
    nested = np.dtype([("a", "<i4"),
                       ("b", [("x", "<f8"), ("y", "|u1", (2,))]),
                       (("a title", "c"), "<f2", (2, 2))])
    save("npy_struct.npy", np.zeros(3, dtype=nested))
    aligned = np.dtype([("a", "|u1"), ("b", "<i4")], align=True)
    save("npy_struct_aligned.npy", np.zeros(2, dtype=aligned))
    save("npy_v2.npy", np.arange(4, dtype="<i2"), version=(2, 0))
    # A field name outside latin-1 makes numpy write version 3.0.
    save("npy_v3.npy", np.zeros(2, dtype=[("\u540d", "<i4")]))
    save("npy_object.npy", np.array([1, "two", None], dtype=object))
    save("npy_struct_object.npy",
         np.array([(1, "x")], dtype=[("n", "<i4"), ("o", "O")]))


# --- safetensors -----------------------------------------------------------

# The crate's dtypes, in its order of increasing alignment, and bits each.
ST_DTYPES = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2",
             "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16", "I32",
             "U32", "F32", "C64", "F64", "I64", "U64"]


def safetensors(tensors, metadata=None):
    """tensors: {name: (dtype, shape, raw bytes)}, laid out as the Rust
    crate's serialize() does: sorted by descending dtype alignment, then
    name; offsets contiguous from 0; the JSON header padded with spaces to
    a multiple of 8."""
    order = sorted(tensors.items(),
                   key=lambda kv: (-ST_DTYPES.index(kv[1][0]), kv[0]))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name, (dtype, shape, raw) in order:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def st_files(d):
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.arange(4, dtype="<i8")
    m = np.array([True, False, True, True])
    h = np.arange(3, dtype="<f4").view("<u2")[1::2].copy()  # bf16 bits
    u = np.arange(5, dtype="|u1")
    out(d, "st_basic.safetensors", safetensors({
        "model.weight": ("F32", a.shape, a.tobytes()),
        "model.positions": ("I64", b.shape, b.tobytes()),
        "model.mask": ("BOOL", m.shape, m.tobytes()),
        "model.bias": ("BF16", h.shape, h.tobytes()),
        "model.bytes": ("U8", u.shape, u.tobytes()),
        "model.scale": ("F64", (), np.array(2.0, "<f8").tobytes()),
        "model.empty": ("F16", (0, 4), b""),
    }, metadata={"format": "pt"}))
    out(d, "st_empty.safetensors", safetensors({}))
    # F4 packs two elements a byte: an even count fills whole bytes.
    out(d, "st_fp4.safetensors", safetensors({
        "w": ("F4", (2, 4), bytes([0x12, 0x34, 0x56, 0x78])),
        "s": ("F8_E8M0", (2,), bytes([127, 128])),
    }))


# --- GGUF --------------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i",
          F32: "f", BOOL: "?", U64: "Q", I64: "q", F64: "d"}

# ggml types used here: (id, block size, bytes per block).
F32_T, F16_T, Q8_0_T, Q4_K_T = (0, 1, 4), (1, 1, 2), (8, 32, 34), \
    (12, 256, 144)


class GGUF:
    """Lays a file out as gguf-py's GGUFWriter does: header, key/values,
    tensor infos, zero padding to the alignment, then each tensor's data
    followed by zero padding to the alignment."""

    def __init__(self, version=3, big_endian=False, alignment=32):
        self.v = version
        self.e = ">" if big_endian else "<"
        self.align = alignment
        self.kv = bytearray()
        self.nkv = 0
        self.tensors = []

    def p(self, fmt, *vals):
        return struct.pack(self.e + fmt, *vals)

    def size(self, n):
        return self.p("I" if self.v == 1 else "Q", n)

    def string(self, s):
        b = s.encode() if isinstance(s, str) else s
        return self.size(len(b)) + b

    def value(self, t, v):
        if t == STR:
            return self.string(v)
        if t == ARR:
            et, items = v
            return (self.p("I", et) + self.size(len(items)) +
                    b"".join(self.value(et, x) for x in items))
        return self.p(SCALAR[t], v)

    def add(self, key, t, v):
        self.kv += self.string(key) + self.p("I", t) + self.value(t, v)
        self.nkv += 1

    def tensor(self, name, dims, gtype, raw):
        self.tensors.append((name, dims, gtype, raw))

    def bytes(self):
        n = "I" if self.v == 1 else "Q"
        head = b"GGUF" + self.p("I", self.v) + self.p(n, len(self.tensors))
        head += self.p(n, self.nkv) + bytes(self.kv)
        infos = bytearray()
        data = bytearray()
        for name, dims, (tid, blck, tsize), raw in self.tensors:
            ne = 1
            for x in dims:
                ne *= x
            assert len(raw) == ne // blck * tsize
            infos += self.string(name) + self.p("I", len(dims))
            infos += b"".join(self.size(x) for x in dims)
            infos += self.p("I", tid) + self.p("Q", len(data))
            data += raw
            data += b"\0" * ((self.align - len(data) % self.align) %
                             self.align)
        body = head + bytes(infos)
        body += b"\0" * ((self.align - len(body) % self.align) % self.align)
        return body + bytes(data)


BENIGN_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + "
    "eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")

# The template injection of CVE-2024-34359 (llama-cpp-python rendered the
# GGUF chat template in an unsandboxed Jinja environment).
EVIL_TEMPLATE = (
    "{% for x in ().__class__.__base__.__subclasses__() %}"
    "{% if 'warning' in x.__name__ %}"
    "{{ x()._module.__builtins__['__import__']('os').popen('id').read() }}"
    "{% endif %}{% endfor %}")


def gguf_model(version=3, big_endian=False, alignment=None,
               template=None, tool_template=None):
    g = GGUF(version, big_endian, alignment or 32)
    g.add("general.architecture", STR, "llama")
    g.add("general.name", STR, "palisade-test")
    if alignment is not None:
        g.add("general.alignment", U32, alignment)
    g.add("llama.context_length", U32, 128)
    g.add("llama.block_count", U64, 1)
    g.add("llama.rope.freq_base", F32, 10000.0)
    g.add("llama.attention.layer_norm_rms_epsilon", F64, 1e-5)
    g.add("llama.use_parallel_residual", BOOL, True)
    g.add("test.i8", I8, -3)
    g.add("test.u8", U8, 200)
    g.add("test.i16", I16, -300)
    g.add("test.u16", U16, 60000)
    g.add("test.i32", I32, -70000)
    g.add("test.i64", I64, -(1 << 40))
    g.add("tokenizer.ggml.model", STR, "gpt2")
    g.add("tokenizer.ggml.tokens", ARR, (STR, ["<s>", "</s>", "h\u00e9", ""]))
    g.add("tokenizer.ggml.scores", ARR, (F32, [0.0, -1.0, -2.5, 0.5]))
    g.add("tokenizer.ggml.token_type", ARR, (I32, [3, 3, 1, 1]))
    g.add("test.nested", ARR, (ARR, [(U8, [1, 2, 3]), (STR, ["a", "b"]),
                                     (ARR, [(BOOL, [True, False])])]))
    if template is not None:
        g.add("tokenizer.chat_template", STR, template)
    if tool_template is not None:
        g.add("tokenizer.chat_template.tool_use", STR, tool_template)
    w = np.arange(8, dtype="<f4")
    g.tensor("token_embd.weight", [4, 2], F32_T,
             w.astype(">f4" if big_endian else "<f4").tobytes())
    g.tensor("output_norm.weight", [3], F16_T,
             np.arange(3, dtype="<f2").tobytes())
    g.tensor("blk.0.attn_q.weight", [32, 2], Q8_0_T, bytes(range(68)))
    g.tensor("blk.0.ffn_down.weight", [256], Q4_K_T, bytes(144))
    g.tensor("empty.weight", [0, 4], F32_T, b"")
    return g.bytes()


def gguf_files(d):
    out(d, "gguf_v3.gguf", gguf_model())
    out(d, "gguf_v2.gguf", gguf_model(version=2))
    out(d, "gguf_v1.gguf", gguf_model(version=1))
    out(d, "gguf_be.gguf", gguf_model(big_endian=True))
    out(d, "gguf_align64.gguf", gguf_model(alignment=64))
    out(d, "gguf_template.gguf",
        gguf_model(template=BENIGN_TEMPLATE, tool_template=BENIGN_TEMPLATE))
    out(d, "gguf_template_evil.gguf", gguf_model(template=EVIL_TEMPLATE))
    vocab = GGUF()
    vocab.add("general.architecture", STR, "llama")
    vocab.add("tokenizer.ggml.tokens", ARR, (STR, ["a", "b"]))
    out(d, "gguf_vocab_only.gguf", vocab.bytes())


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__))
    npy_files(d)
    st_files(d)
    gguf_files(d)


if __name__ == "__main__":
    main()
