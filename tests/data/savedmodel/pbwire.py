"""pbwire.py - a few lines of protobuf wire-format encoding.

TensorFlow is not installed where the tests run, so the SavedModel test
files are packed by hand from their .proto field numbers
(tensorflow/core/protobuf/meta_graph.proto, saved_model.proto,
saver.proto, saved_object_graph.proto; framework/graph.proto,
node_def.proto, function.proto, attr_value.proto, op_def.proto).
"""


def varint(n):
    """Base-128 varint; negative numbers as 64-bit two's complement."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(num, wire):
    return varint(num << 3 | wire)


def vi(num, n):
    """A varint field."""
    return tag(num, 0) + varint(n)


def ld(num, payload):
    """A length-delimited field: bytes, a string or a packed message."""
    if isinstance(payload, str):
        payload = payload.encode()
    return tag(num, 2) + varint(len(payload)) + payload


def msg(num, *parts):
    """A message field made of already-encoded fields."""
    return ld(num, b"".join(parts))
