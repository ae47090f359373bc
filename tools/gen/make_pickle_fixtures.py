#!/usr/bin/python3
"""Write the pickle VM fixtures: tests/fixtures/pickle/<name>.pkl + <name>.txt.

Each .pkl is a pickle stream made by CPython's pickle module (a few streams use
opcodes that Python 3's pickler never writes -- STRING, INST, OBJ, POP, DUP,
...; those are assembled here and then *loaded by CPython* to get the expected
value).  Each .txt sidecar holds, one per line:

    protocol: <n>
    opcodes: <names of every opcode in the stream, from pickletools.genops>
    expect: <canonical text of the value CPython's unpickler builds>
  or
    error: <CKPT_E_... status the ckpt VM must return>

The expected value comes from CPython's pure-Python unpickler
(pickle._Unpickler) in which the opcodes that would run code -- REDUCE,
NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD, PERSID, BINPERSID, EXT1/2/4 and
find_class -- are replaced by recorders, exactly what the C tests' hooks do.
The canonical text (see canon() below and canon() in
tests/unit/pickle/vm_test.c) is:

    None True False 42 f<16 hex digits of the IEEE double, big-endian>
    s:<hex utf-8>  b:<hex>  ba:<hex>  (a,b)  [a,b]  {k:v,k:v}
    set{..} fset{..} (items sorted by their text)  g:<module>.<name>
    <how|callable|args|kwargs|state|items>  (missing parts are '-')
    ...  (a container already on the path: a cycle)

Run:  /usr/bin/python3 tools/gen/make_pickle_fixtures.py [outdir]
"""
import collections
import copyreg
import io
import os
import pickle
import pickletools
import struct
import sys
import types

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "pickle")


# ----------------------------------------------------------------- recorder

class Global:
    def __init__(self, module, name):
        self.module, self.name = module, name


class Rec:
    """What the C tests' hooks build: an OBJECT node."""

    def __init__(self, how, cls, args, kwargs=None):
        self.how, self.cls, self.args, self.kwargs = how, cls, args, kwargs
        self.state = None
        self.items = None

    def append(self, x):
        if self.items is None:
            self.items = []
        self.items.append(x)

    def extend(self, xs):
        for x in xs:
            self.append(x)

    def __setitem__(self, k, v):
        if self.items is None:
            self.items = {}
        self.items[k] = v


class RecUnpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        return Global(module, name)

    def persistent_load(self, pid):
        return Rec("persid", None, pid)

    def load_reduce(self):
        args = self.stack.pop()
        self.stack[-1] = Rec("reduce", self.stack[-1], args)
    dispatch[pickle.REDUCE[0]] = load_reduce

    def load_newobj(self):
        args = self.stack.pop()
        self.stack[-1] = Rec("newobj", self.stack[-1], args)
    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self):
        kwargs = self.stack.pop()
        args = self.stack.pop()
        self.stack[-1] = Rec("newobj_ex", self.stack[-1], args, kwargs)
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex

    def load_obj(self):
        args = self.pop_mark()
        cls = args.pop(0)
        self.append(Rec("obj", cls, tuple(args)))
    dispatch[pickle.OBJ[0]] = load_obj

    def load_inst(self):
        module = self.readline()[:-1].decode("ascii")
        name = self.readline()[:-1].decode("ascii")
        args = tuple(self.pop_mark())
        self.append(Rec("inst", self.find_class(module, name), args))
    dispatch[pickle.INST[0]] = load_inst

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if not isinstance(inst, Rec):
            raise pickle.UnpicklingError("BUILD on a non-object")
        inst.state = state
    dispatch[pickle.BUILD[0]] = load_build

    def _ext(self, code):
        self.append(Rec("ext", None, code))

    def load_ext1(self):
        self._ext(self.read(1)[0])
    dispatch[pickle.EXT1[0]] = load_ext1

    def load_ext2(self):
        self._ext(struct.unpack("<H", self.read(2))[0])
    dispatch[pickle.EXT2[0]] = load_ext2

    def load_ext4(self):
        self._ext(struct.unpack("<i", self.read(4))[0])
    dispatch[pickle.EXT4[0]] = load_ext4


def canon(o, path=()):
    if isinstance(o, (list, dict, set, frozenset, tuple, Rec)):
        if id(o) in path:
            return "..."
        path = path + (id(o),)
    if o is None:
        return "None"
    if o is True:
        return "True"
    if o is False:
        return "False"
    if isinstance(o, int):
        return str(o)
    if isinstance(o, float):
        return "f" + struct.pack(">d", o).hex()
    if isinstance(o, str):
        return "s:" + o.encode("utf-8", "surrogatepass").hex()
    if isinstance(o, bytes):
        return "b:" + o.hex()
    if isinstance(o, bytearray):
        return "ba:" + bytes(o).hex()
    if isinstance(o, tuple):
        return "(" + ",".join(canon(x, path) for x in o) + ")"
    if isinstance(o, list):
        return "[" + ",".join(canon(x, path) for x in o) + "]"
    if isinstance(o, dict):
        return "{" + ",".join(canon(k, path) + ":" + canon(v, path) for k, v in o.items()) + "}"
    if isinstance(o, (set, frozenset)):
        tag = "fset" if isinstance(o, frozenset) else "set"
        return tag + "{" + ",".join(sorted(canon(x, path) for x in o)) + "}"
    if isinstance(o, Global):
        return "g:%s.%s" % (o.module, o.name)
    if isinstance(o, Rec):
        parts = [o.how]
        for x in (o.cls, o.args, o.kwargs, o.state, o.items):
            parts.append("-" if x is None else canon(x, path))
        return "<" + "|".join(parts) + ">"
    raise TypeError(type(o))


# ------------------------------------------------------------ sample values

fake = types.ModuleType("ckptfake")
sys.modules["ckptfake"] = fake


class Plain:
    """An ordinary class: REDUCE(copyreg._reconstructor) or NEWOBJ + BUILD."""

    def __init__(self):
        self.a = 1
        self.b = [1, 2]


class Slots:
    __slots__ = ("x", "y")

    def __init__(self):
        self.x = 1
        self.y = "y"


class WithKw:
    """__getnewargs_ex__ -> NEWOBJ_EX (protocol 4+)."""

    def __new__(cls, *args, **kwargs):
        o = object.__new__(cls)
        o.args, o.kw = args, kwargs
        return o

    def __getnewargs_ex__(self):
        return self.args, self.kw


class ListLike(list):
    pass


class DictLike(dict):
    pass


class Ext1:
    pass


class Ext2:
    pass


class Ext4:
    pass


for c in (Plain, Slots, WithKw, ListLike, DictLike, Ext1, Ext2, Ext4):
    c.__module__ = "ckptfake"
    setattr(fake, c.__name__, c)
copyreg.add_extension("ckptfake", "Ext1", 200)
copyreg.add_extension("ckptfake", "Ext2", 40000)
copyreg.add_extension("ckptfake", "Ext4", 70000)


def scalars():
    return [None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1,
            2 ** 31, 2 ** 40, 2 ** 63 - 1, -2 ** 63, 1.5, -0.0, float("inf"), 1e300,
            "", "hello", "\u00fc\u00f1\u20ac\U0001d11e", "a\nb\\c'\"", b"", b"\x00\xff", b"x" * 300,
            bytearray(b"ab"), complex(1, 2)]


def containers():
    shared = [1, "shared"]
    rec = []
    rec.append(rec)
    d = {1: "one", (1, "t"): "tuple", None: 3, 1.5: 4, b"k": 5, "s": 6, True: "replaced"}
    return {
        "tuples": [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
        "lists": [[], [1], [1, 2]],
        "dicts": [{}, {"a": 1}, d],
        "sets": [set(), {1, 2, 3}, frozenset(), frozenset({"a", 2})],
        "shared": [shared, shared, (shared,)],
        "recursive": rec,
        "ordered": collections.OrderedDict([("x", 1), ("y", 2)]),
        "counter": collections.Counter("aab"),
    }


def objects(proto):
    p = Plain()
    out = [p, p, WithKw(1, k=2), ListLike([1, 2]), DictLike(a=1), Ext1, Ext2, Ext4]
    if proto >= 2:  # __slots__ without __getstate__ needs protocol 2
        out.append(Slots())
    return out


def memo_many():
    strs = ["s%d" % i for i in range(300)]
    return strs + strs


class PidPickler(pickle.Pickler):
    def __init__(self, f, protocol):
        super().__init__(f, protocol=protocol)
        self.proto_ = protocol

    def persistent_id(self, obj):
        if isinstance(obj, Ext1):
            return "pid-str" if self.proto_ == 0 else ("storage", "FloatStorage", "0", "cpu", 6)
        return None


# ----------------------------------------------------- hand-made streams
# Opcodes Python 3's pickler never writes.  Each is loaded by CPython below.

HAND = {
    "hand_strings": (0, b"(S'abc'\nS\"q\\x41\\n\\101\"\nT\x03\x00\x00\x00xyzU\x02hil."),
    "hand_int_long": (0, b"(I42\nI-7\nI00\nI01\nL123L\nL-9\nl."),
    "hand_pop_dup": (1, b"(K\x01K\x020K\x03(K\x09K\x091K\x042t."),
    "hand_dict_list": (0, b"((S'k'\nI1\nd(I1\nI2\nlp0\ng0\nt."),
    "hand_inst_obj": (1, b"((K\x01ickptfake\nPlain\n(cckptfake\nPlain\nK\x02ot."),
    "hand_persid": (0, b"Pabc\n."),
    "hand_unicode": (0, b"V\\u00e9t\\U0001d11ex\n."),
    "hand_float": (0, b"(F1.25\nF-0.5\nF1e300\nt."),
    "hand_stack_global_memo": (4, b"\x80\x04\x8c\x08ckptfake\x94\x8c\x05Plain\x94\x93\x94"
                                  b"h\x00h\x01h\x02\x87."),
    "hand_long_binput": (2, b"\x80\x02]r\x00\x10\x00\x00j\x00\x10\x00\x00a."),
    "hand_sparse_memo": (2, b"\x80\x02K\x07r\xff\xff\xff\xffj\xff\xff\xff\xff\x86."),
    "hand_setitem_obj": (2, b"\x80\x02cckptfake\nPlain\n)\x81K\x01K\x02s(K\x03K\x04u."),
    "hand_build_twice": (2, b"\x80\x02cckptfake\nPlain\n)\x81K\x01bK\x02b."),
    "hand_binbytes8": (4, b"\x80\x04\x8e\x02\x00\x00\x00\x00\x00\x00\x00hi"
                          b"\x8d\x01\x00\x00\x00\x00\x00\x00\x00z\x86."),
    "hand_bytearray8": (5, b"\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc."),
    "hand_leftover": (2, b"\x80\x02K\x01K\x02."),
    "hand_long4": (2, b"\x80\x02\x8b\x02\x00\x00\x00\xff\x7f."),
}

# Streams the ckpt VM must refuse (CPython may accept some of them: big ints).
ERRORS = {
    "err_bigint_long1": (2, b"\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.",
                         "CKPT_E_UNSUPPORTED"),
    "err_bigint_long4": (2, b"\x80\x02\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80.",
                         "CKPT_E_UNSUPPORTED"),
    "err_bigint_text": (0, b"L123456789012345678901234567890L\n.", "CKPT_E_UNSUPPORTED"),
    "err_unknown_opcode": (2, b"\x80\x02\xff.", "CKPT_E_FORMAT"),
    "err_proto6": (2, b"\x80\x06N.", "CKPT_E_UNSUPPORTED"),
    "err_underflow": (2, b"\x80\x02\x86.", "CKPT_E_FORMAT"),
    "err_memo_missing": (2, b"\x80\x02h\x05.", "CKPT_E_FORMAT"),
    "err_setitem_list": (2, b"\x80\x02]K\x01K\x02s.", "CKPT_E_UNSAFE"),
    "err_append_dict": (2, b"\x80\x02}K\x01a.", "CKPT_E_UNSAFE"),
    "err_appends_tuple": (2, b"\x80\x02)(K\x01e.", "CKPT_E_UNSAFE"),
    "err_no_stop": (2, b"\x80\x02K\x01", "CKPT_E_FORMAT"),
    "err_empty_stop": (2, b"\x80\x02.", "CKPT_E_FORMAT"),
    "err_unhashable_key": (2, b"\x80\x02}]K\x01s.", "CKPT_E_FORMAT"),
    "err_bad_utf8": (2, b"\x80\x02X\x01\x00\x00\x00\xff.", "CKPT_E_FORMAT"),
    "err_tuple_no_mark": (2, b"\x80\x02K\x01t.", "CKPT_E_FORMAT"),
}


def next_buffer_stream():
    buf = pickle.PickleBuffer(b"abc")
    return pickle.dumps(buf, protocol=5, buffer_callback=lambda b: False)


# ------------------------------------------------------------------- output

def opcodes(data):
    names = []
    for op, _arg, _pos in pickletools.genops(data):
        if op.name not in names:
            names.append(op.name)
    return names


def write(name, proto, data, expect=None, error=None):
    with open(os.path.join(OUT, name + ".pkl"), "wb") as f:
        f.write(data)
    try:
        ops = opcodes(data)
    except Exception:  # streams that pickletools itself refuses
        ops = []
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("protocol: %d\n" % proto)
        f.write("opcodes: %s\n" % " ".join(ops))
        if error:
            f.write("error: %s\n" % error)
        else:
            f.write("expect: %s\n" % expect)


def expected(data):
    u = RecUnpickler(io.BytesIO(data), encoding="utf-8")
    return canon(u.load())


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".pkl", ".txt")):
            os.remove(os.path.join(OUT, f))
    for proto in range(6):
        samples = {"scalars": scalars(), "containers": containers(), "objects": objects(proto),
                   "memo": memo_many()}
        for tag, value in samples.items():
            data = pickle.dumps(value, protocol=proto)
            write("p%d_%s" % (proto, tag), proto, data, expected(data))
        if proto in (1, 2, 4):  # APPENDS/SETITEMS batches of at most 1000
            data = pickle.dumps([list(range(1001)), {i: i for i in range(1001)}], protocol=proto)
            write("p%d_batches" % proto, proto, data, expected(data))
        bio = io.BytesIO()
        PidPickler(bio, protocol=proto).dump([Ext1(), 1, Ext1()])
        data = bio.getvalue()
        write("p%d_persid" % proto, proto, data, expected(data))
    for name, (proto, data) in HAND.items():
        write(name, proto, data, expected(data))
    for name, (proto, data, err) in ERRORS.items():
        write(name, proto, data, error=err)
    write("err_next_buffer", 5, next_buffer_stream(), error="CKPT_E_UNSUPPORTED")


if __name__ == "__main__":
    main()
