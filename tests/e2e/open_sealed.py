"""open_sealed.py EXPORT RSA_KEY SEALED > PLAINTEXT

An independent reader of Palisade's formats, written from their
documentation (docs/formats/sealed.md, docs/vault.md, c2sp.org/chunked-
encryption) with python3-cryptography: decrypts an exported data key with
the recipient's RSA key, then decrypts a sealed file with it.  The vault's
end-to-end test uses it to check that the formats are what the documents
say, byte for byte.
"""
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
import base64

CHUNK = 16384
TAG = 16


def data_key(export_path, rsa_path):
    exp = json.load(open(export_path))
    assert exp["alg"] == "RSA-OAEP-256", exp["alg"]
    priv = serialization.load_pem_private_key(open(rsa_path, "rb").read(),
                                              password=None)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                        algorithm=hashes.SHA256(), label=None)
    return priv.decrypt(base64.b64decode(exp["wrapped_key"]), oaep)


def lp(b):
    return struct.pack(">H", len(b)) + b


def open_sealed(dek, data):
    assert data[:8] == b"PALSEAL\x01", "magic"
    hlen, suite, wrap, plain_len = struct.unpack(">IBBQ", data[8:22])
    assert suite == 1
    off, fields = 22, []
    for _ in range(6):
        (n,) = struct.unpack(">H", data[off:off + 2])
        fields.append(data[off + 2:off + 2 + n])
        off += 2 + n
    assert off == hlen, "header length"
    model, release, path = fields[3], fields[4], fields[5]
    context = (b"palisade-sealed/v1\x00" + bytes([suite]) +
               struct.pack(">Q", plain_len) + lp(model) + lp(release) +
               lp(path))
    salt, commit = data[hlen:hlen + 24], data[hlen + 24:hlen + 56]
    info = (b"c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\x00" + salt +
            context)
    okm = HKDFExpand(hashes.SHA512(), 32 + 12 + 32, info).derive(dek)
    key, base, want = okm[:32], okm[32:44], okm[44:]
    assert want == commit, "commitment"
    aead, out, k, pos = AESGCM(key), bytearray(), 0, hlen + 56
    while True:
        chunk = data[pos:pos + CHUNK + TAG]
        nonce = (int.from_bytes(base, "big") ^ k).to_bytes(12, "big")
        pt = aead.decrypt(nonce, chunk, None)
        out += pt
        pos += len(chunk)
        k += 1
        if len(pt) < CHUNK:
            break
    assert pos == len(data), "trailing bytes"
    assert len(out) == plain_len, "length"
    return bytes(out)


if __name__ == "__main__":
    dek = data_key(sys.argv[1], sys.argv[2])
    sys.stdout.buffer.write(open_sealed(dek, open(sys.argv[3], "rb").read()))
