#!/usr/bin/python3
"""gen-pki.py DIR - a test PKI for the signing end-to-end test.

Writes, in DIR: root CA, intermediate CA, a code-signing leaf (valid now),
an expired leaf, a leaf without the codeSigning usage, and a leaf from an
unrelated root; each with its private key (P-256, P-384 or P-521).
"""
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

out = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)
day = datetime.timedelta(days=1)


def save_key(name, key):
    with open(f"{out}/{name}.key", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(f"{out}/{name}.pub", "wb") as f:
        f.write(key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo))


def cert(name, key, issuer_name, issuer_key, ca, start, end, codesign=True):
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                     name)]))
         .issuer_name(issuer_name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                        critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(
             key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False,
                                          True, True, False, False),
                            critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False,
                                          False, False, False, False),
                            critical=True)
        eku = (ExtendedKeyUsageOID.CODE_SIGNING if codesign
               else ExtendedKeyUsageOID.SERVER_AUTH)
        b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    c = b.sign(issuer_key, hashes.SHA256())
    with open(f"{out}/{name}.pem", "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    return c


def ca(name, issuer=None):
    key = ec.generate_private_key(ec.SECP384R1())
    save_key(name, key)
    if issuer is None:
        subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        return cert(name, key, subj, key, True, now - day, now + 3650 * day), key
    c = cert(name, key, issuer[0].subject, issuer[1], True, now - day,
             now + 3650 * day)
    return c, key


root = ca("root")
inter = ca("intermediate", root)
other = ca("other-root")
for name, curve, iss, start, end, cs in [
        ("leaf", ec.SECP256R1(), inter, now - day, now + 365 * day, True),
        ("leaf384", ec.SECP384R1(), inter, now - day, now + 365 * day, True),
        ("leaf521", ec.SECP521R1(), root, now - day, now + 365 * day, True),
        ("expired", ec.SECP256R1(), inter, now - 30 * day, now - day, True),
        ("notcodesign", ec.SECP256R1(), inter, now - day, now + day, False),
        ("foreign", ec.SECP256R1(), other, now - day, now + day, True)]:
    key = ec.generate_private_key(curve)
    save_key(name, key)
    cert(name, key, iss[0].subject, iss[1], False, start, end, cs)
