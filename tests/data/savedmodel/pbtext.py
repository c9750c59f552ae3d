"""pbtext.py - prints the SavedModel test files in protobuf text format.

TensorFlow (and its protobuf printer) is not installed where the tests run,
so the text form of each binary test file is made by decoding the bytes
pbwire.py packed, with a schema of the messages the generator uses (field
numbers and types from TensorFlow's .proto files), and printing them as
protobuf's text printer does: "name: value" for scalars, "name { ... }"
for messages, strings C-escaped with octal escapes for other bytes, enums
by name.  The text then holds exactly what the binary file holds.

A style can be given to exercise the rest of the grammar TensorFlow's
parser accepts: '<...>' delimiters, ':' before '{', repeated fields as
"[...]" lists, single quotes, comments, ',' and ';' separators.
"""
import struct

DATA_TYPES = {1: "DT_FLOAT", 7: "DT_STRING", 20: "DT_RESOURCE"}
CHECKPOINT_VERSIONS = {0: "LEGACY", 1: "V1", 2: "V2"}

# message: {number: (name, type)}; a type is "string", "bytes", "int",
# "bool", "float", ("enum", names) or the name of a message.
SCHEMA = {
    "SavedModel": {1: ("saved_model_schema_version", "int"),
                   2: ("meta_graphs", "MetaGraphDef")},
    "MetaGraphDef": {1: ("meta_info_def", "MetaInfoDef"),
                     2: ("graph_def", "GraphDef"),
                     3: ("saver_def", "SaverDef"),
                     4: ("collection_def", "CollectionEntry"),
                     5: ("signature_def", "SignatureEntry"),
                     6: ("asset_file_def", "AssetFileDef"),
                     7: ("object_graph_def", "SavedObjectGraph")},
    "MetaInfoDef": {4: ("tags", "string"),
                    5: ("tensorflow_version", "string"),
                    6: ("tensorflow_git_version", "string")},
    "GraphDef": {1: ("node", "NodeDef"),
                 2: ("library", "FunctionDefLibrary"),
                 4: ("versions", "VersionDef")},
    "VersionDef": {1: ("producer", "int"), 2: ("min_consumer", "int")},
    "NodeDef": {1: ("name", "string"), 2: ("op", "string"),
                3: ("input", "string"), 4: ("device", "string"),
                5: ("attr", "AttrEntry")},
    "AttrEntry": {1: ("key", "string"), 2: ("value", "AttrValue")},
    "AttrValue": {1: ("list", "ListValue"), 2: ("s", "bytes"),
                  3: ("i", "int"), 4: ("f", "float"), 5: ("b", "bool"),
                  6: ("type", ("enum", DATA_TYPES)),
                  8: ("tensor", "TensorProto"),
                  10: ("func", "NameAttrList")},
    "ListValue": {2: ("s", "bytes"), 3: ("i", "int"),
                  6: ("type", ("enum", DATA_TYPES)),
                  9: ("func", "NameAttrList")},
    "NameAttrList": {1: ("name", "string"), 2: ("attr", "AttrEntry")},
    "TensorProto": {1: ("dtype", ("enum", DATA_TYPES)),
                    2: ("tensor_shape", "TensorShapeProto"),
                    8: ("string_val", "bytes")},
    "TensorShapeProto": {2: ("dim", "Dim")},
    "Dim": {1: ("size", "int")},
    "FunctionDefLibrary": {1: ("function", "FunctionDef")},
    "FunctionDef": {1: ("signature", "OpDef"), 3: ("node_def", "NodeDef")},
    "OpDef": {1: ("name", "string")},
    "SaverDef": {1: ("filename_tensor_name", "string"),
                 2: ("save_tensor_name", "string"),
                 3: ("restore_op_name", "string"),
                 4: ("max_to_keep", "int"), 5: ("sharded", "bool"),
                 6: ("keep_checkpoint_every_n_hours", "float"),
                 7: ("version", ("enum", CHECKPOINT_VERSIONS))},
    "CollectionEntry": {1: ("key", "string"), 2: ("value", "CollectionDef")},
    "CollectionDef": {5: ("any_list", "AnyList")},
    "AnyList": {1: ("value", "Any")},
    "Any": {1: ("type_url", "string"), 2: ("value", "bytes")},
    "SignatureEntry": {1: ("key", "string"), 2: ("value", "SignatureDef")},
    "SignatureDef": {1: ("inputs", "TensorInfoEntry"),
                     2: ("outputs", "TensorInfoEntry"),
                     3: ("method_name", "string")},
    "TensorInfoEntry": {1: ("key", "string"), 2: ("value", "TensorInfo")},
    "TensorInfo": {1: ("name", "string"), 2: ("dtype", ("enum", DATA_TYPES))},
    "AssetFileDef": {1: ("tensor_info", "TensorInfo"),
                     2: ("filename", "string")},
    "SavedObjectGraph": {1: ("nodes", "SavedObject")},
    "SavedObject": {1: ("children", "ObjectReference"),
                    4: ("user_object", "SavedUserObject"),
                    6: ("function", "SavedFunction")},
    "ObjectReference": {1: ("node_id", "int"), 2: ("local_name", "string")},
    "SavedUserObject": {1: ("identifier", "string"),
                        2: ("version", "VersionDef"),
                        3: ("metadata", "string")},
    "SavedFunction": {1: ("concrete_functions", "string")},
}


def _varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def decode(b):
    """The fields of a message: (number, wire type, value) in order."""
    i, out = 0, []
    while i < len(b):
        key, i = _varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise ValueError("group in test data")
        out.append((num, wire, v))
    return out


def escape(data, quote='"'):
    """protobuf's CEscape: named escapes, octal for other bytes."""
    named = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"',
             0x27: "\\'", 0x5C: "\\\\"}
    out = []
    for c in data:
        if c in named:
            out.append(named[c])
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\%03o" % c)
    return quote + "".join(out) + quote


class Style:
    """How the text is laid out; the default is protobuf's printer."""
    def __init__(self, angle=False, colon=False, lists=False,
                 single=False, comments=False, seps=False, expand_any=False):
        self.angle, self.colon, self.lists = angle, colon, lists
        self.single, self.comments, self.seps = single, comments, seps
        self.expand_any = expand_any


def _scalar(kind, wire, v, style):
    if kind in ("string", "bytes"):
        return escape(v, "'" if style.single else '"')
    if kind == "float":
        return repr(struct.unpack("<f", v)[0])
    if kind == "bool":
        return "true" if v else "false"
    if isinstance(kind, tuple):
        return kind[1].get(v, str(v))
    if v >= 1 << 63:
        v -= 1 << 64
    return str(v)


def _groups(fields):
    """Consecutive fields of the same number, for list style."""
    out = []
    for f in fields:
        if out and out[-1][0][0] == f[0]:
            out[-1].append(f)
        else:
            out.append([f])
    return out


def _any_type(data):
    """The message type an Any holds, when this schema knows it."""
    for num, _, v in decode(data):
        if num == 1 and v.endswith(b"/tensorflow.AssetFileDef"):
            return v.decode(), "AssetFileDef"
    return None, None


def _expanded_any(data, style, indent):
    """An Any as Python's printer writes it: [type_url] { fields }."""
    url, mtype = _any_type(data)
    value = [v for num, _, v in decode(data) if num == 2][0]
    pad = "  " * indent
    body = to_text(value, mtype, style, indent + 1)
    return pad + "[" + url + "] {\n" + body + pad + "}\n"


def to_text(data, mtype="SavedModel", style=None, indent=0):
    style = style or Style()
    pad = "  " * indent
    if mtype == "Any" and style.expand_any and _any_type(data)[1]:
        return _expanded_any(data, style, indent)
    lines = []
    depth_toggle = indent % 2 == 1
    for group in _groups(decode(data)):
        num = group[0][0]
        if num not in SCHEMA[mtype]:
            raise ValueError("%s has no field %d" % (mtype, num))
        name, kind = SCHEMA[mtype][num]
        sep = ";" if style.seps and depth_toggle else \
            ("," if style.seps else "")
        if isinstance(kind, str) and kind in SCHEMA:
            opn, cls = ("<", ">") if style.angle and depth_toggle else \
                ("{", "}")
            colon = ": " if style.colon else " "
            bodies = [to_text(v, kind, style, indent + 2 if
                              style.lists and len(group) > 1 else indent + 1)
                      for (_, _, v) in group]
            if style.lists and len(group) > 1:
                lines.append(pad + name + colon + "[")
                for k, body in enumerate(bodies):
                    comma = "," if k + 1 < len(bodies) else ""
                    lines.append(pad + "  " + opn)
                    lines.append(body.rstrip("\n"))
                    lines.append(pad + "  " + cls + comma)
                lines.append(pad + "]" + sep)
            else:
                for body in bodies:
                    lines.append(pad + name + colon + opn)
                    if body:
                        lines.append(body.rstrip("\n"))
                    lines.append(pad + cls + sep)
        else:
            vals = [_scalar(kind, w, v, style) for (_, w, v) in group]
            if style.lists and len(vals) > 1:
                lines.append(pad + name + ": [" + ", ".join(vals) + "]" +
                             sep)
            else:
                for v in vals:
                    lines.append(pad + name + ": " + v + sep)
        if style.comments and indent <= 2:
            lines.append(pad + "# end of " + name)
    text = "\n".join(lines)
    return text + "\n" if text else ""
