#!/usr/bin/env python3
"""Writes one hostile pickle per technique, opcode by opcode.

    python3 tests/data/pickle/gen_malicious.py tests/data/pickle/malicious

Nothing here is ever loaded: the files are built from raw opcodes so that
each exercises exactly one way around a scanner.  The manifest
(malicious.tsv) gives, for each file, the rule ids the scan must report
(all of them), whether the parse must also end in an error, and why.
"""
import os
import struct
import sys

MANIFEST = []


def op(code):
    return bytes([code]) if isinstance(code, int) else code


def proto(n):
    return b"\x80" + bytes([n])


def sbu(s):
    """SHORT_BINUNICODE."""
    b = s.encode("utf-8")
    return b"\x8c" + bytes([len(b)]) + b


def bu(s):
    """BINUNICODE."""
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def sbb(b):
    """SHORT_BINBYTES or BINBYTES."""
    if len(b) < 256:
        return b"C" + bytes([len(b)]) + b
    return b"B" + struct.pack("<I", len(b)) + b


def glob(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def binput(i):
    return b"q" + bytes([i])


def binget(i):
    return b"h" + bytes([i])


def frame(payload):
    return b"\x95" + struct.pack("<Q", len(payload)) + payload


MARK, STOP, TUPLE, TUPLE1, TUPLE2, REDUCE, BUILD = b"(", b".", b"t", \
    b"\x85", b"\x86", b"R", b"b"
EMPTY_TUPLE, EMPTY_DICT, NONE, POP = b")", b"}", b"N", b"0"
NEWOBJ, NEWOBJ_EX, STACK_GLOBAL, MEMOIZE = b"\x81", b"\x92", b"\x93", b"\x94"
SETITEM, SETITEMS, APPEND = b"s", b"u", b"a"

BENIGN = proto(2) + b"]" + binput(0) + b"K\x01a."   # [1]
SYSTEM_CALL = glob("os", "system") + sbu("id") + TUPLE1 + REDUCE


def add(name, data, rules, outcome, why):
    MANIFEST.append((name, data, rules, outcome, why))


def techniques():
    add("reduce_os_system.pkl", proto(2) + SYSTEM_CALL + STOP,
        "pickle.dangerous-global", "findings", "REDUCE calls os.system")
    add("inst_exec.pkl",
        b"(S'print(1)'\nibuiltins\nexec\n.",
        "pickle.dangerous-global", "findings",
        "INST instantiates builtins.exec, protocol 0, no PROTO")
    add("obj_eval.pkl",
        b"(cbuiltins\neval\nS'1+1'\no.",
        "pickle.dangerous-global", "findings", "OBJ calls builtins.eval")
    add("newobj_unknown.pkl",
        proto(2) + glob("evilpkg.payload", "Payload") + EMPTY_TUPLE +
        NEWOBJ + STOP,
        "pickle.unknown-global", "findings",
        "NEWOBJ of a class not on the allowlist")
    add("newobj_ex_popen.pkl",
        proto(4) + sbu("subprocess") + sbu("Popen") + STACK_GLOBAL +
        sbu("id") + TUPLE1 + EMPTY_DICT + sbu("shell") + b"\x88" +
        SETITEM + NEWOBJ_EX + STOP,
        "pickle.dangerous-global", "findings",
        "NEWOBJ_EX creates subprocess.Popen with kwargs")
    add("build_setstate_unknown.pkl",
        proto(2) + glob("evilpkg", "Gadget") + EMPTY_TUPLE + NEWOBJ +
        EMPTY_DICT + sbu("cmd") + sbu("id") + SETITEM + BUILD + STOP,
        "pickle.unknown-global,pickle.untrusted-method", "findings",
        "BUILD runs __setstate__ of an unvetted class")
    # An allowed object gets a __setstate__ planted in its __dict__; the
    # next BUILD calls it with the attacker's argument.
    add("build_setstate_planted.pkl",
        proto(2) + glob("collections", "OrderedDict") + EMPTY_TUPLE +
        REDUCE + EMPTY_DICT + sbu("__setstate__") + glob("os", "system") +
        SETITEM + BUILD + sbu("id") + BUILD + STOP,
        "pickle.state-override,pickle.dangerous-global", "findings",
        "BUILD plants __setstate__ = os.system, next BUILD calls it")
    add("build_on_global.pkl",
        proto(2) + glob("collections", "OrderedDict") + NONE + EMPTY_DICT +
        sbu("__reduce__") + NONE + SETITEM + TUPLE2 + BUILD + STOP,
        "pickle.build-on-global", "findings",
        "BUILD sets attributes of an allowed class")
    add("ext1.pkl", proto(2) + b"\x82\x01" + EMPTY_TUPLE + REDUCE + STOP,
        "pickle.extension-code", "findings", "EXT1 then REDUCE")
    add("ext2.pkl", proto(2) + b"\x83\x01\x01" + EMPTY_TUPLE + REDUCE +
        STOP, "pickle.extension-code", "findings", "EXT2")
    add("ext4.pkl", proto(2) + b"\x84\x01\x00\x01\x00" + EMPTY_TUPLE +
        REDUCE + STOP, "pickle.extension-code", "findings", "EXT4")
    # Names stored in the memo early, fetched far away for STACK_GLOBAL.
    add("stack_global_memo.pkl",
        proto(4) + b"]" + sbu("os") + binput(1) + APPEND + sbu("system") +
        binput(2) + APPEND + binput(0) + POP + binget(1) + binget(2) +
        STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE + STOP,
        "pickle.dangerous-global", "findings",
        "STACK_GLOBAL operands from the memo")
    # The module name is whatever builtins.str returns at load time.
    add("stack_global_dynamic.pkl",
        proto(4) + glob("builtins", "str") + sbu("os") + TUPLE1 + REDUCE +
        sbu("system") + STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE + STOP,
        "pickle.dynamic-global", "findings",
        "STACK_GLOBAL of a call result")
    add("stack_global_dotted.pkl",
        proto(4) + sbu("numpy") + sbu("testing._private.utils.os.system") +
        STACK_GLOBAL + sbu("id") + TUPLE1 + REDUCE + STOP,
        "pickle.dangerous-global", "findings",
        "dotted name reaching os.system through numpy")
    add("proto0_no_proto.pkl",
        b"cos\nsystem\n(S'id'\ntR.",
        "pickle.dangerous-global", "findings",
        "protocol 0 without PROTO: found by the probe")
    add("second_pickle.pkl", BENIGN + proto(2) + SYSTEM_CALL + STOP,
        "pickle.dangerous-global", "findings",
        "a malicious pickle after a benign one's STOP")
    add("second_pickle_p0.pkl", BENIGN + b"cos\nsystem\n(S'id'\ntR.",
        "pickle.dangerous-global", "findings",
        "a protocol 0 pickle after a STOP, no PROTO")
    add("junk_after_stop.pkl", BENIGN + b"\x00\xffjunk",
        "pickle.trailing-data", "findings", "bytes after STOP")
    # The frame ends in the middle of the GLOBAL's lines.
    body = glob("os", "system") + sbu("id") + TUPLE1 + REDUCE + STOP
    add("frame_straddle.pkl",
        proto(4) + b"\x95" + struct.pack("<Q", 5) + body,
        "pickle.frame-straddle,pickle.dangerous-global", "findings",
        "an opcode crosses the FRAME end")
    add("frame_nested.pkl",
        proto(4) + frame(frame(body)),
        "pickle.frame-straddle,pickle.dangerous-global", "findings",
        "a FRAME inside a FRAME")
    add("call_then_error.pkl",
        proto(2) + SYSTEM_CALL + b"\xff",
        "pickle.dangerous-global", "findings+error",
        "the call is reported though the parse then fails")
    add("call_then_truncated.pkl",
        proto(2) + SYSTEM_CALL + b"X\xff\x00\x00\x00ab",
        "pickle.dangerous-global", "findings+error",
        "the call is reported though the data ends early")
    inner = proto(2) + SYSTEM_CALL + STOP
    add("nested_loads.pkl",
        proto(3) + glob("pickle", "loads") + sbb(inner) + TUPLE1 +
        REDUCE + STOP,
        "pickle.dangerous-global,pickle.nested-pickle", "findings",
        "pickle.loads of an embedded pickle")
    add("nested_torch_load.pkl",
        proto(3) + glob("torch", "load") + glob("io", "BytesIO") +
        sbb(inner) + TUPLE1 + REDUCE + TUPLE1 + REDUCE + STOP,
        "pickle.dangerous-global,pickle.nested-pickle", "findings",
        "torch.load(io.BytesIO(...)) of an embedded pickle")
    # getattr(getattr(builtins-ish object, 'x'), 'system')('id')
    add("getattr_chain.pkl",
        proto(2) + glob("builtins", "getattr") + binput(0) +
        glob("builtins", "getattr") + glob("collections", "OrderedDict") +
        sbu("__init__") + TUPLE2 + REDUCE + sbu("__globals__") + TUPLE2 +
        REDUCE + POP + binget(0) + glob("os", "path") + sbu("os") +
        TUPLE2 + REDUCE + sbu("id") + TUPLE1 + REDUCE + STOP,
        "pickle.dangerous-global,pickle.indirect-call", "findings",
        "builtins.getattr chains, then a call of the result")
    add("memo_overwrite.pkl",
        proto(4) + sbu("math") + binput(0) + POP + sbu("os") + binput(0) +
        POP + binget(0) + sbu("system") + STACK_GLOBAL + sbu("id") +
        TUPLE1 + REDUCE + STOP,
        "pickle.memo-overwrite,pickle.dangerous-global", "findings",
        "a memo id reused to swap a name")
    # BINPUT 1 then MEMOIZE: MEMOIZE's id is the number of entries (1),
    # so it overwrites slot 1 rather than filling slot 2.
    add("memoize_index.pkl",
        proto(4) + sbu("builtins") + binput(1) + POP + sbu("os") + MEMOIZE +
        POP + binget(1) + sbu("system") + STACK_GLOBAL + sbu("id") +
        TUPLE1 + REDUCE + STOP,
        "pickle.memo-overwrite,pickle.dangerous-global", "findings",
        "MEMOIZE numbering differs from BINPUT's")
    add("mutate_environ.pkl",
        proto(2) + glob("os", "environ") + sbu("LD_PRELOAD") +
        sbu("/tmp/x.so") + SETITEM + STOP,
        "pickle.mutate-global,pickle.dangerous-global", "findings",
        "SETITEM on os.environ")
    add("mutate_allowed_global.pkl",
        proto(2) + glob("collections", "OrderedDict") + MARK + sbu("k") +
        sbu("v") + SETITEMS + STOP,
        "pickle.mutate-global", "findings",
        "SETITEMS on an allowed class")
    add("persid_call.pkl",
        proto(2) + sbu("x") + b"Q" + EMPTY_TUPLE + REDUCE + STOP,
        "pickle.indirect-call", "findings",
        "calling what persistent_load returned")
    add("reconstructor_unknown.pkl",
        proto(2) + glob("copyreg", "_reconstructor") +
        glob("evilpkg", "Widget") + glob("builtins", "object") + NONE +
        b"\x87" + REDUCE + STOP,
        "pickle.unknown-global", "findings",
        "copyreg._reconstructor instantiating an unvetted class")
    add("unicode_escape_names.pkl",
        b"Vo\\u0073\nS'sys\\x74em'\n\x93(S'id'\ntR.",
        "pickle.dangerous-global", "findings",
        "STACK_GLOBAL names spelled with protocol 0 escapes")
    add("oob_buffer.pkl", proto(5) + b"\x97" + STOP,
        "pickle.out-of-band", "findings", "NEXT_BUFFER")
    add("stop_residue.pkl", proto(2) + NONE + NONE + STOP,
        "pickle.malformed-stop", "findings", "values left behind STOP")
    add("unknown_global.pkl", proto(2) + glob("mycompany.models", "Net") +
        STOP, "pickle.unknown-global", "findings",
        "a global named, never called")


def torch_legacy(objpickle, data):
    """The five pickles of PyTorch's legacy format, then storage data."""
    magic = proto(2) + b"\x8a\x0a" + bytes.fromhex("6cfc9c46f9206aa85019") + \
        STOP
    version = proto(2) + b"M\xe9\x03" + STOP
    sysinfo = proto(2) + EMPTY_DICT + STOP
    keys = proto(2) + b"]" + sbu("0") + APPEND + STOP
    return magic + version + sysinfo + objpickle + keys + data


def layouts():
    pid = MARK + sbu("storage") + glob("torch", "FloatStorage") + sbu("0") + \
        sbu("cpu") + b"K\x02" + TUPLE + b"Q"
    storage = struct.pack("<q", 2) + struct.pack("<2f", 1.0, 2.0)
    add("torch_legacy_evil.pt",
        torch_legacy(proto(2) + pid + POP + SYSTEM_CALL + STOP, storage),
        "pickle.dangerous-global", "findings",
        "PyTorch legacy layout, malicious object pickle")
    # After the storages, another pickle hides at the end.
    add("torch_legacy_tail.pt",
        torch_legacy(proto(2) + pid + STOP, storage) + proto(2) +
        SYSTEM_CALL + STOP,
        "pickle.dangerous-global", "findings",
        "a pickle after the legacy storages")
    add("torch_legacy_badsize.pt",
        torch_legacy(proto(2) + pid + STOP,
                     struct.pack("<q", 3) + struct.pack("<2f", 1.0, 2.0)) +
        proto(2) + SYSTEM_CALL + STOP,
        "", "error",
        "storage size disagrees with its persistent id")
    # joblib: the bytes after the wrapper's BUILD are array data (here
    # they spell a GLOBAL, which must not be reported), then the pickle
    # goes on and calls os.system.
    dtype = glob("numpy", "dtype") + sbu("i1") + b"\x89\x88" + b"\x87" + \
        REDUCE + MARK + b"K\x03" + sbu("|") + NONE + NONE + NONE + \
        b"J\xff\xff\xff\xff" + b"J\xff\xff\xff\xff" + b"K\x00" + TUPLE + BUILD
    state = EMPTY_DICT + MARK + sbu("subclass") + glob("numpy", "ndarray") + \
        sbu("shape") + b"K\x0b" + TUPLE1 + sbu("order") + sbu("C") + \
        sbu("dtype") + dtype + sbu("allow_mmap") + b"\x88" + SETITEMS
    wrapper = glob("joblib.numpy_pickle", "NumpyArrayWrapper") + \
        EMPTY_TUPLE + NEWOBJ + state + BUILD
    hidden = b"cos\nsystem\n"
    add("joblib_data_then_call.joblib",
        proto(2) + MARK + wrapper + hidden + SYSTEM_CALL + b"l" + STOP,
        "pickle.dangerous-global", "findings",
        "joblib array data skipped exactly, then a call")
    add("joblib_truncated.joblib",
        proto(2) + wrapper + hidden[:5],
        "", "error", "joblib array data cut short")


def main(out):
    os.makedirs(out, exist_ok=True)
    techniques()
    layouts()
    lines = ["# file\trules (all must be reported)\toutcome\twhy"]
    for name, data, rules, outcome, why in MANIFEST:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        lines.append("\t".join((name, rules or "-", outcome, why)))
    with open(os.path.join(out, "..", "malicious.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "malicious")
