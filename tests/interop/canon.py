"""Canonical text of an object tree returned by torch.load.

The C tool (tests/interop/interop_tool.c, `canon`) writes the same text for a
ckpt document; two trees are equal, bit for bit and sharing for sharing, iff
their canonical texts are equal.  The grammar (keep both sides in step):

  None                 None
  bool                 True / False
  int                  i:<decimal>
  float                f:<16 lowercase hex digits of the IEEE-754 bits>
  complex              c:<hex>,<hex>
  str                  s:<lowercase hex of the UTF-8 bytes>
  bytes / bytearray    b:<hex> / ba:<hex>
  tuple / list         (a,b) / [a,b]
  set                  set{items sorted by their text}   (items printed
                       without identity marks, see below)
  dict                 dict{k=v,...} / odict{...} / counter{...}; an
                       OrderedDict or Counter with a non-empty __dict__ is
                       followed by @dict{...} (that attribute dict)
  torch.Size           Size(2,3)
  dtype / device       dtype:float32 / device:cpu, device:cuda:1
  tensor               T(dtype=..,shape=[..],stride=[..],off=..,rg=0|1,
                         param=0|1,dev=..,st=<n>[:<storage dtype>:<nbytes>:<hex>])
                       st numbers storages in order of first appearance; the
                       bytes follow the first appearance only.

Identity: a list, dict, non-empty tuple (exactly tuple, not torch.Size) or
tensor that occurs more than once in the tree is printed `&<k>` + text the
first time and `*<k>` afterwards, k counting such nodes in order of first
appearance.  Dict pairs are visited key first, then value; the attribute dict
of an OrderedDict is not itself a tracked node, its values are.  Set items are
printed with identity marks (and storage numbering side effects) disabled.
"""

import collections
import struct
import sys

import torch

sys.setrecursionlimit(100000)


def fbits(x):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", x))[0]


def _dtname(dt):
    s = str(dt)
    return s[6:] if s.startswith("torch.") else s


def storage_bytes(t):
    """All bytes of a tensor's storage (1.13 TypedStorage API)."""
    st = t.storage()
    u8 = torch.storage.TypedStorage(wrap_storage=st._storage, dtype=torch.uint8)
    return torch.tensor([], dtype=torch.uint8).set_(u8).numpy().tobytes()


def _tracked(o):
    if isinstance(o, torch.Tensor):
        return True
    t = type(o)
    if t is tuple:
        return len(o) > 0
    return t is list or t is dict or t is collections.OrderedDict or t is collections.Counter


def _attrs(o):
    if type(o) in (collections.OrderedDict, collections.Counter):
        d = getattr(o, "__dict__", None)
        if d:
            return d
    return None


class Canon:
    def __init__(self):
        self.counts = {}
        self.keep = []  # keep counted objects alive so ids stay unique
        self.marks = {}
        self.storages = {}

    # pass 1: how often is each tracked node reached
    def count(self, root):
        stack = [root]
        while stack:
            o = stack.pop()
            if _tracked(o):
                i = id(o)
                c = self.counts.get(i, 0)
                self.counts[i] = c + 1
                if c:
                    continue
                self.keep.append(o)
            if isinstance(o, torch.Tensor):
                continue
            t = type(o)
            kids = []
            if t is tuple or t is list:
                kids = list(o)
            elif isinstance(o, dict):
                for k, v in o.items():
                    kids.append(k)
                    kids.append(v)
                a = _attrs(o)
                if a:
                    kids.extend(a.values())
            stack.extend(reversed(kids))

    def text(self, root):
        self.count(root)
        out = []
        self.p(root, out, True)
        return "".join(out)

    def _mark(self, o, out, ident):
        """Returns True when the node was already printed (a *k was written)."""
        if not ident or self.counts.get(id(o), 0) < 2:
            return False
        k = self.marks.get(id(o))
        if k is not None:
            out.append("*%d" % k)
            return True
        k = len(self.marks)
        self.marks[id(o)] = k
        out.append("&%d" % k)
        return False

    def p(self, o, out, ident):
        if o is None:
            out.append("None")
        elif o is True:
            out.append("True")
        elif o is False:
            out.append("False")
        elif type(o) is int:
            out.append("i:%d" % o)
        elif type(o) is float:
            out.append("f:" + fbits(o))
        elif type(o) is complex:
            out.append("c:%s,%s" % (fbits(o.real), fbits(o.imag)))
        elif type(o) is str:
            out.append("s:" + o.encode("utf-8", "surrogatepass").hex())
        elif type(o) is bytes:
            out.append("b:" + o.hex())
        elif type(o) is bytearray:
            out.append("ba:" + bytes(o).hex())
        elif isinstance(o, torch.Tensor):
            if self._mark(o, out, ident):
                return
            self.tensor(o, out)
        elif isinstance(o, torch.Size):
            out.append("Size(" + ",".join(str(int(d)) for d in o) + ")")
        elif type(o) is tuple:
            if self._mark(o, out, ident):
                return
            out.append("(")
            for i, x in enumerate(o):
                if i:
                    out.append(",")
                self.p(x, out, ident)
            out.append(")")
        elif type(o) is list:
            if self._mark(o, out, ident):
                return
            out.append("[")
            for i, x in enumerate(o):
                if i:
                    out.append(",")
                self.p(x, out, ident)
            out.append("]")
        elif type(o) in (dict, collections.OrderedDict, collections.Counter):
            if self._mark(o, out, ident):
                return
            kind = {dict: "dict", collections.OrderedDict: "odict",
                    collections.Counter: "counter"}[type(o)]
            self.dict_items(kind, o, out, ident)
            a = _attrs(o)
            if a:
                out.append("@")
                self.dict_items("dict", a, out, ident)
        elif type(o) in (set, frozenset):
            items = []
            for x in o:
                sub = []
                self.p(x, sub, False)
                items.append("".join(sub))
            items.sort()
            out.append("set{" + ",".join(items) + "}")
        elif isinstance(o, torch.dtype):
            out.append("dtype:" + _dtname(o))
        elif isinstance(o, torch.device):
            out.append("device:" + str(o))
        else:
            raise TypeError("canon: unsupported type %s" % type(o).__name__)

    def dict_items(self, kind, d, out, ident):
        out.append(kind + "{")
        first = True
        for k, v in d.items():
            if not first:
                out.append(",")
            first = False
            self.p(k, out, ident)
            out.append("=")
            self.p(v, out, ident)
        out.append("}")

    def tensor(self, t, out):
        param = isinstance(t, torch.nn.Parameter)
        st = t.storage()
        key = st._storage._cdata
        out.append("T(dtype=%s,shape=[%s],stride=[%s],off=%d,rg=%d,param=%d,dev=%s,st=" % (
            _dtname(t.dtype), ",".join(str(int(x)) for x in t.shape),
            ",".join(str(int(x)) for x in t.stride()), t.storage_offset(),
            1 if t.requires_grad else 0, 1 if param else 0, str(t.device)))
        n = self.storages.get(key)
        if n is None:
            n = len(self.storages)
            self.storages[key] = n
            out.append("%d:%s:%d:%s" % (n, _dtname(st.dtype), st.nbytes(), storage_bytes(t).hex()))
        else:
            out.append("%d" % n)
        out.append(")")


def canon(obj):
    return Canon().text(obj)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(canon(torch.load(path, weights_only=False)))
