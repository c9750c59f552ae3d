"""open_payload.py PRIVATE.pem ENTRY.json OUTDIR

An independent reader of the gateway's sealed payloads, written from
docs/formats/payload.md alone with python3-cryptography: reads a
serve.request log entry (as `palisade log get` prints it), rebuilds the
record AAD from its digests, opens the sealed payload with the operator's
private key, checks each whole part against the record's digest, and
writes each part's bytes to OUTDIR/<name>.  Prints one line per part:
"<name> <len> <total> <matches|truncated|unchecked>".  Exits 1 with the
reason on stderr when the payload does not open or does not match.
"""
import base64
import hashlib
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CONTEXT = b"palisade payload v1"
TAG = 16


class Refused(Exception):
    pass


def key_id(pub):
    der = pub.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()


def secret_of(priv, alg, enc):
    if alg == 1:
        if not isinstance(priv, x25519.X25519PrivateKey) or len(enc) != 32:
            raise Refused("not an X25519 payload for this key")
        return priv.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    if alg == 2:
        if not isinstance(priv, ec.EllipticCurvePrivateKey) or \
                priv.curve.name != "secp256r1" or len(enc) != 65 or \
                enc[0] != 4:
            raise Refused("not a P-256 payload for this key")
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                            enc)
        return priv.exchange(ec.ECDH(), peer)
    if alg == 3:
        if not isinstance(priv, rsa.RSAPrivateKey) or \
                len(enc) != priv.key_size // 8:
            raise Refused("not an RSA payload for this key")
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                            algorithm=hashes.SHA256(), label=CONTEXT)
        s = priv.decrypt(enc, oaep)
        if len(s) != 32:
            raise Refused("wrapped secret is not 32 bytes")
        return s
    raise Refused("unknown alg %d" % alg)


def open_sealed(priv, aad, blob):
    if len(blob) < 40 or blob[:4] != b"PALP":
        raise Refused("not a sealed payload")
    version, alg = blob[4], blob[5]
    if version != 1:
        raise Refused("version %d" % version)
    kid = blob[6:38]
    (enc_len,) = struct.unpack(">H", blob[38:40])
    if len(blob) < 40 + enc_len + TAG:
        raise Refused("truncated")
    header = blob[:40 + enc_len]
    enc = blob[40:40 + enc_len]
    if kid != key_id(priv.public_key()):
        raise Refused("wrong key: sealed to %s" % kid.hex())
    secret = secret_of(priv, alg, enc)
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=CONTEXT,
               info=header).derive(secret)
    try:
        return AESGCM(okm[:32]).decrypt(okm[32:], blob[len(header):],
                                        header + aad)
    except InvalidTag:
        raise Refused("authentication failed")


def parts_of(plain):
    parts, off, names = [], 0, set()
    while off < len(plain):
        n = plain[off]
        name = plain[off + 1:off + 1 + n].decode("ascii")
        if not 1 <= n <= 32 or len(name) != n or name in names or \
                any(c not in "abcdefghijklmnopqrstuvwxyz0123456789_-"
                    for c in name):
            raise Refused("bad part name at %d" % off)
        off += 1 + n
        if off + 12 > len(plain):
            raise Refused("part header truncated")
        total, length = struct.unpack(">QI", plain[off:off + 12])
        off += 12
        if length > total or off + length > len(plain):
            raise Refused("part %s: bad length" % name)
        parts.append((name, plain[off:off + length], total))
        names.add(name)
        off += length
    if len(parts) > 8:
        raise Refused("too many parts")
    return parts


def main():
    key_path, entry_path, outdir = sys.argv[1:4]
    priv = serialization.load_pem_private_key(open(key_path, "rb").read(),
                                              password=None)
    entry = json.load(open(entry_path))
    assert entry["type"] == "serve.request", entry["type"]
    d = entry["details"]
    def hexof(v):	# "sha256:<hex>" as the gateway writes it, or bare hex
        return v[7:] if v and v.startswith("sha256:") else v
    req, resp = hexof(d.get("request_sha256")), hexof(d.get("response_sha256"))
    aad = ("serve.request\nrequest_sha256=%s\nresponse_sha256=%s\n" %
           (req or "", resp or "")).encode()
    try:
        plain = open_sealed(priv, aad, base64.b64decode(d["payload"],
                                                        validate=True))
        parts = parts_of(plain)
        digests = {"request": req, "response": resp}
        os.makedirs(outdir, exist_ok=True)
        for name, data, total in parts:
            check = "unchecked"
            if len(data) < total:
                check = "truncated"
            elif name in digests:
                want = digests[name]
                got = hashlib.sha256(data).hexdigest()
                if (want is None and data) or (want and want != got):
                    raise Refused("%s does not match the record" % name)
                check = "matches"
            with open(os.path.join(outdir, name), "wb") as f:
                f.write(data)
            print(name, len(data), total, check)
    except Refused as e:
        print("open_payload.py: %s" % e, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
