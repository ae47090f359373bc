#!/usr/bin/env python3
"""tests/cli/report_cli_test.py CKPT SRC WORK SECTION - `ckpt report`: the HTML page of a
checkpoint or a model graph (issue 13, the HTML report).

The reference is torch 1.13 (/usr/bin/python3) and Python's own readers: the files are
written by torch at test time, every page is parsed with html.parser (strictly: every tag
ckpt opens must be closed in order, only the tags and attributes the writer uses may
appear), and the numbers shown are compared with torch's.  Sections:
  ckpt     a state dict and a full training checkpoint (torch.save), a safetensors file
           written by hand (with metadata), the GGUF/HF/DCP copies `ckpt convert` makes,
           a TorchScript archive: tensor count, total elements, dtype/shape strings,
           per-tensor min/max/mean/std/NaN/Inf/zeros against torch; --max-rows, --no-stats
  graph    ONNX models (torch.onnx.export; a Loop fixture with a subgraph): op histogram
           against the `onnx` package's count of the protobuf, node count, inputs/outputs
  hostile  keys with <script>, quotes, ampersands and invalid UTF-8 come out inert; a
           corrupt file exits 2 naming it and leaves no file behind with -o; nothing links
           outside the page
"""
import html.parser
import json
import math
import os
import struct
import subprocess
import sys

import torch

CKPT, SRC, WORK, SECTION = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
os.makedirs(WORK, exist_ok=True)
fails = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        fails.append(what)


def path(name):
    return os.path.join(WORK, name)


def run(*args, want=0):
    p = subprocess.run([CKPT, *args], capture_output=True)
    check(p.returncode == want, f"ckpt {' '.join(args)}: exit {p.returncode}, expected {want}\n"
          f"  stderr: {p.stderr[-800:]!r}")
    return p


VOID = {"meta", "input", "br"}
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "table",
        "thead", "tbody", "tr", "th", "td", "code", "span", "div", "a", "details", "summary",
        "ul", "li", "input", "script", "pre", "svg", "g", "rect", "text", "line", "path", "title",
        "br"}
ATTRS = {"lang", "charset", "name", "content", "id", "class", "href", "style", "data-v",
         "open", "hidden", "placeholder", "colspan", "width", "height", "viewbox", "x", "y",
         "x1", "y1", "x2", "y2", "rx", "d", "text-anchor", "role", "aria-label", "fill",
         "stroke"}


class Page(html.parser.HTMLParser):
    """Strict reading of a page: balanced tags, known tags and attributes only, local
    links only, one script (the writer's); tables as lists of rows of cell text."""

    def __init__(self, what):
        super().__init__(convert_charrefs=True)
        self.what, self.stack, self.errors = what, [], []
        self.scripts = 0
        self.ids = {}        # id -> text of the element
        self.rows = {}       # table id -> [[cell text]]
        self.cell_v = {}     # (table id, row index, col) -> data-v
        self.text = []
        self.table_stack = []
        self.cur_row = None
        self.cur_cell = None
        self.id_text = []    # open elements with an id: [id, tag, depth, parts]

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.errors.append(f"unexpected tag <{tag}>")
        for k, v in attrs:
            if k not in ATTRS:
                self.errors.append(f"unexpected attribute {k}={v!r} on <{tag}>")
            if k == "href" and not (v or "").startswith("#"):
                self.errors.append(f"link out of the page: {v!r}")
            if k == "style" and ("url(" in (v or "") or "expression" in (v or "")):
                self.errors.append(f"style {v!r}")
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
            if a:
                self.errors.append(f"script with attributes {a}")
        if tag == "table":
            self.table_stack.append(a.get("id") or f"_{len(self.rows)}")
            self.rows.setdefault(self.table_stack[-1], [])
        elif tag == "tr" and self.table_stack:
            self.cur_row = []
            self.rows[self.table_stack[-1]].append(self.cur_row)
            self.row_id = a.get("id")
        elif tag in ("td", "th") and self.cur_row is not None:
            self.cur_cell = []
            self.cur_row.append(self.cur_cell)
            if "data-v" in a:
                self.cell_v[(self.table_stack[-1], len(self.rows[self.table_stack[-1]]) - 1,
                             len(self.cur_row) - 1)] = a["data-v"]
        if "id" in a:
            if a["id"] in self.ids:
                self.errors.append(f"duplicate id {a['id']!r}")
            self.ids[a["id"]] = ""
            self.id_text.append([a["id"], tag, len(self.stack), []])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        while self.id_text and self.id_text[-1][2] == len(self.stack):
            i, _, _, parts = self.id_text.pop()
            self.ids[i] = "".join(parts)
        if tag == "table" and self.table_stack:
            self.table_stack.pop()
        if tag in ("td", "th") and self.cur_cell is not None:
            self.cur_row[-1] = "".join(self.cur_cell)
            self.cur_cell = None
        if tag == "tr":
            self.cur_row = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cur_cell is not None:
            self.cur_cell.append(data)
        for e in self.id_text:
            e[3].append(data)

    def close(self):
        super().close()
        if self.stack:
            self.errors.append(f"unclosed tags {self.stack}")
        if self.scripts > 1:
            self.errors.append(f"{self.scripts} scripts")


def page(args, what, want_ok=True):
    out = path(what + ".html")
    if os.path.exists(out):
        os.remove(out)
    p = run("report", *args, "-o", out)
    if p.returncode != 0:
        return None
    raw = open(out, "rb").read()
    check(raw.startswith(b"<!DOCTYPE html>"), f"{what}: not an HTML5 page")
    text = raw.decode("utf-8")  # strictly UTF-8: invalid bytes must never pass through
    for bad in ("http://", "https://", "//cdn", "@import", "<link", "<iframe", "<object",
                "<embed", "<img", "javascript:"):
        check(bad not in text, f"{what}: page contains {bad!r}")
    pg = Page(what)
    pg.feed(text)
    pg.close()
    check(not pg.errors, f"{what}: HTML errors: {pg.errors[:6]}")
    import re
    for target in re.findall(r'href="#([^"]*)"', text):  # every link lands on the page
        if target not in pg.ids:
            check(False, f"{what}: link to #{target}, which is not on the page")
            break
    pg.raw = text
    return pg


def tensor_table(pg):
    """key -> {column name: (text, data-v)} from the tensor table."""
    rows = pg.rows.get("tt", [])
    if not rows:
        return {}, []
    head = rows[0]
    out = {}
    for r, cells in enumerate(rows[1:], start=1):
        out[cells[0]] = {h: (cells[i], pg.cell_v.get(("tt", r, i))) for i, h in enumerate(head)}
    return out, head


def walk(o, prefix=""):
    """(key, tensor) pairs as ckpt's walker names them."""
    if isinstance(o, torch.Tensor):
        yield prefix, o
    elif isinstance(o, dict):
        for k, v in o.items():
            yield from walk(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(o, (list, tuple)):
        for i, v in enumerate(o):
            yield from walk(v, f"{prefix}.{i}" if prefix else str(i))


def close(got, want, rel):
    if want == 0:
        return abs(got) <= 1e-12
    return abs(got - want) <= rel * abs(want)


def compare_stats(pg, tensors, what, stats=True):
    table, head = tensor_table(pg)
    check(pg.ids.get("n-tensors") == str(len(tensors)),
          f"{what}: {pg.ids.get('n-tensors')} tensors shown, torch has {len(tensors)}")
    numel = sum(t.numel() for _, t in tensors)
    check(pg.ids.get("n-elements") == str(numel),
          f"{what}: {pg.ids.get('n-elements')} elements shown, torch has {numel}")
    for k, t in tensors:
        row = table.get(k)
        check(row is not None, f"{what}: no table row for {k!r} (rows: {list(table)[:8]})")
        if row is None:
            continue
        check(row["dtype"][0].split()[0] == str(t.dtype).replace("torch.", ""),
              f"{what}: {k}: dtype {row['dtype'][0]!r}, torch {t.dtype}")
        check(row["shape"][0] == str(list(t.shape)), f"{what}: {k}: shape {row['shape'][0]!r}"
              f" != {list(t.shape)}")
        check(row["numel"][0] == str(t.numel()), f"{what}: {k}: numel {row['numel'][0]}")
        if not stats:
            check("min" not in row, f"{what}: statistics shown with --no-stats")
            continue
        if t.dtype == torch.bool or t.numel() == 0:
            continue
        d = t.double()
        fin = d[torch.isfinite(d)]
        check(row["NaN"][0] == str(int(torch.isnan(d).sum())), f"{what}: {k}: NaN count")
        check(row["Inf"][0] == str(int(torch.isinf(d).sum())), f"{what}: {k}: Inf count")
        zeros = float((d == 0).sum()) / d.numel()
        check(abs(float(row["zeros"][1]) - zeros) < 1e-12, f"{what}: {k}: zeros "
              f"{row['zeros']} != {zeros}")
        if fin.numel() == 0:
            continue
        want = {"min": float(fin.min()), "max": float(fin.max()), "mean": float(fin.mean())}
        if fin.numel() > 1:
            want["std"] = float(fin.std())
        for col, w in want.items():
            text, v = row[col]
            ok = v is not None and close(float(v), w, 1e-9 if col in ("min", "max") else 1e-6)
            check(ok, f"{what}: {k}: {col} {v} != torch {w}")
            # the printed text is the value to 6 significant digits
            check(v is None or text == "%.6g" % float(v), f"{what}: {k}: {col} text {text!r}")


# ------------------------------------------------------------------ ckpt

def make_models():
    """m.ts (torch.jit.script) and m.onnx (torch.onnx.export) of one small CNN."""
    if os.path.exists(path("m.ts")) and os.path.exists(path("m.onnx")):
        return
    code = ("import torch\n"
            "class M(torch.nn.Module):\n"
            "    def __init__(s):\n"
            "        super().__init__(); s.conv=torch.nn.Conv2d(3,4,3); "
            "s.bn=torch.nn.BatchNorm2d(4); s.fc=torch.nn.Linear(4,2)\n"
            "    def forward(s,x):\n"
            "        return s.fc(torch.relu(s.bn(s.conv(x))).mean((2,3)))\n"
            "torch.manual_seed(1)\n"
            "m=M().eval()\n"
            f"torch.jit.script(m).save({path('m.ts')!r})\n"
            f"torch.onnx.export(m, torch.randn(1,3,8,8), {path('m.onnx')!r}, opset_version=13)\n")
    with open(path("mk_model.py"), "w") as f:
        f.write(code)
    subprocess.run(["/usr/bin/python3", path("mk_model.py")], check=True, capture_output=True)


def section_ckpt():
    torch.manual_seed(0)
    sd = {
        "model.layer1.0.conv1.weight": torch.randn(8, 3, 3, 3),
        "model.layer1.0.bn1.running_mean": torch.zeros(8),
        "model.layer1.0.bn1.num_batches_tracked": torch.tensor(7),
        "model.fc.weight": torch.randn(10, 8),
        "model.fc.bias": torch.tensor([1.0, float("nan"), float("inf"), 0.0, -2.5, 3, 0, 0, 1, 2]),
        "half": torch.randn(4, 5).half(),
        "ints": torch.arange(-6, 6, dtype=torch.int32).reshape(3, 4),
        "mask": torch.tensor([True, False]),
        "view": None,
    }
    base = torch.randn(6, 4)
    sd["view"] = base[1:, ::2]          # a strided view of a shared storage
    sd["base"] = base
    sd["tied"] = sd["model.fc.weight"]  # tied weight
    torch.save(sd, path("sd.pt"))
    pg = page([path("sd.pt")], "sd")
    if pg:
        check_script(pg.raw)
        compare_stats(pg, list(walk(sd)), "state dict")
        check("torch" in pg.ids.get("summary", "") or "torch" in "".join(pg.text),
              "state dict: format not named")
        # sharing: base/view and fc.weight/tied share storages
        table, _ = tensor_table(pg)
        check("shared by 2" in table.get("view", {}).get("storage", ("",))[0],
              f"state dict: view's storage sharing not shown: {table.get('view')}")
        check("clean" in pg.raw, "state dict: the scan verdict is not clean")
        mt = "".join(pg.text)
        check("model" in mt and "layer1" in mt, "state dict: module tree missing")

    # a full training checkpoint
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    sched.step()
    train = {"epoch": 12, "model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "note": "run <b>7</b> & co", "best": 0.125}
    torch.save(train, path("train.pt"))
    pg = page([path("train.pt")], "train")
    if pg:
        compare_stats(pg, list(walk(train)), "training checkpoint")
        objs = pg.raw[pg.raw.find('id="objects"'):]
        check('id="objects"' in pg.raw, "training checkpoint: no object tree")
        for s in ("epoch", "param_groups", "lr", "step_size", "gamma", "exp_avg",
                  "run &lt;b&gt;7&lt;/b&gt; &amp; co"):
            check(s in objs, f"training checkpoint: {s!r} not in the object tree")
        check('href="#t' in objs, "training checkpoint: tensors in the object tree do not link")

    # safetensors written by hand (the format's own layout), with metadata
    tensors = {"a.weight": torch.randn(3, 4), "a.bias": torch.randn(4).double(),
               "b.idx": torch.tensor([5, -1, 0], dtype=torch.int64)}
    header, blob = {"__metadata__": {"format": "pt", "who": "<script>x</script>"}}, b""
    names = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    for k, t in tensors.items():
        b = t.numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape),
                     "data_offsets": [len(blob), len(blob) + len(b)]}
        blob += b
    h = json.dumps(header).encode()
    with open(path("x.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + blob)
    pg = page([path("x.safetensors")], "safetensors")
    if pg:
        compare_stats(pg, list(tensors.items()), "safetensors")
        check('id="metadata"' in pg.raw and "&lt;script&gt;x&lt;/script&gt;" in pg.raw,
              "safetensors: __metadata__ not shown escaped")
    pg = page([path("x.safetensors"), "--no-stats"], "safetensors_nostats")
    if pg:
        compare_stats(pg, list(tensors.items()), "safetensors --no-stats", stats=False)

    # --no-stats reads no tensor data: a 96 MiB safetensors file, peak memory well below it
    if os.path.exists("/usr/bin/time"):
        n = 24 * 1024 * 1024
        h = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
        with open(path("big.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h)
            f.truncate(8 + len(h) + 4 * n)
        p = subprocess.run(["/usr/bin/time", "-f", "%M", CKPT, "report", path("big.safetensors"),
                            "--no-stats", "-o", path("big.html")], capture_output=True, text=True)
        kb = int(p.stderr.strip().splitlines()[-1]) if p.returncode == 0 else -1
        check(0 < kb < 48 * 1024, f"--no-stats on 96 MiB: peak {kb} KiB (exit {p.returncode})")
        os.remove(path("big.safetensors"))
    # the other formats, as ckpt convert writes them from the state dict
    flat = {k: v.contiguous().clone() for k, v in sd.items() if k != "mask"}
    torch.save(flat, path("flat.pt"))
    for fmt, name in (("gguf", "x.gguf"), ("hf", "x_hf"), ("dcp", "x_dcp"), ("npz", "x.npz")):
        out = path(name)
        subprocess.run(["rm", "-rf", out])
        run("convert", path("flat.pt"), out, "--to", fmt)
        pg = page([out], "fmt_" + fmt)
        if pg:
            got = list(walk(flat))
            if fmt == "gguf":  # GGUF has no int64 scalar/bool shapes: compare counts only
                check(pg.ids.get("n-tensors") == str(len(got)), f"gguf: tensor count "
                      f"{pg.ids.get('n-tensors')} != {len(got)}")
            else:
                compare_stats(pg, got, fmt)
            if fmt == "dcp":
                check(pg.ids.get("dcp-summary", "").startswith(f"{len(got)} entries"),
                      f"dcp: layout summary {pg.ids.get('dcp-summary')!r}")
                fqns = [r[0] for r in pg.rows.get("dcp-table", [])[1:]]
                check(sorted(fqns) == sorted(k for k, _ in got), f"dcp: layout rows {fqns}")

    # GGUF with a quantized (Q8_0) tensor, written by hand in GGUF v3's layout: the
    # table names its ggml type, the key/value metadata is shown escaped
    def gstr(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    kv = gstr("general.name") + struct.pack("<I", 8) + gstr("<b>q</b>")
    infos, blob = b"", b""
    for name, dims, gtype, data in (("q.weight", [32, 2], 8, (struct.pack("<e", 0.5) +
                                                               bytes(range(32))) * 2),
                                    ("f.bias", [3], 0, struct.pack("<3f", 1, -2, 0))):
        infos += gstr(name) + struct.pack("<I", len(dims)) + b"".join(
            struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", gtype, len(blob))
        blob += data + b"\0" * (-len(data) % 32)
    head = b"GGUF" + struct.pack("<IQQ", 3, 2, 1) + kv + infos
    with open(path("q.gguf"), "wb") as f:
        f.write(head + b"\0" * (-len(head) % 32) + blob)
    pg = page([path("q.gguf")], "gguf_q8")
    if pg:
        table, _ = tensor_table(pg)
        check("ggml Q8_0" in table.get("q.weight", {}).get("dtype", ("",))[0],
              f"gguf: the Q8_0 tensor's ggml type is not shown: {table.get('q.weight')}")
        check("&lt;b&gt;q&lt;/b&gt;" in pg.raw, "gguf: general.name not shown escaped")
        check(table.get("f.bias", {}).get("min", ("", None))[1] == "-2",
              f"gguf: f.bias min {table.get('f.bias')}")

    # --max-rows caps the table and says so
    pg = page([path("sd.pt"), "--max-rows", "2"], "maxrows")
    if pg:
        check(len(pg.rows.get("tt", [])) == 3, f"--max-rows 2: {len(pg.rows.get('tt', []))-1} rows")
        check("capped" in pg.ids, "--max-rows: the page does not say the table is cut")
    pg = page([path("train.pt"), "--max-rows", "3"], "maxrows_train")
    if pg:  # every link of the module and object trees leads to a row that is there
        import re
        for target in re.findall(r'href="#([^"]*)"', pg.raw):
            check(target in pg.ids, f"--max-rows 3: link to #{target}, which is not on the page")

    # TorchScript archive
    make_models()
    pg = page([path("m.ts")], "torchscript")
    if pg:
        m = torch.jit.load(path("m.ts"))
        compare_stats(pg, list(m.state_dict().items()), "torchscript")
        check(pg.ids.get("jit-1", "").startswith(f"{len(list(m.parameters()))} ("),
              f"torchscript: parameters {pg.ids.get('jit-1')!r}")
        check(pg.ids.get("jit-2", "").startswith(f"{len(list(m.buffers()))} ("),
              f"torchscript: buffers {pg.ids.get('jit-2')!r}")
        check("__torch__.M" in pg.ids.get("model-table", ""), "torchscript: module type")
    # a full-model pickle (torch.save(model)): torch's state_dict names and values
    torch.manual_seed(2)
    full = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(8, 3))
    torch.save(full, path("full.pt"))
    pg = page([path("full.pt")], "full_model")
    if pg:
        compare_stats(pg, list(full.state_dict().items()), "full model")
        check("Sequential" in pg.ids.get("model-table", ""), "full model: module type")
    # a torch.export archive (torch 1.13 has no torch.export: the committed fixture,
    # against what `ckpt ls` lists of it)
    pt2 = os.path.join(SRC, "tests/fixtures/jit/pt2/mlp.pt2")
    pg = page([pt2], "pt2")
    if pg:
        ls = json.loads(subprocess.run([CKPT, "ls", pt2, "--json"], capture_output=True,
                                       text=True).stdout)
        check(pg.ids.get("n-tensors") == str(len(ls)), f"pt2: {pg.ids.get('n-tensors')} "
              f"tensors, ckpt ls lists {len(ls)}")
        table, _ = tensor_table(pg)
        for t in ls:
            check(t["key"] in table and table[t["key"]]["shape"][0] == str(t["shape"]),
                  f"pt2: {t['key']} row")


# ------------------------------------------------------------------ the page's script

MOCK_DOM = r"""
// a minimal DOM: one sortable table (#tt, numeric column 1 with data-v), its filter box
function cell(text, v) { return { textContent: text, getAttribute: function (a) {
    return a === 'data-v' && v !== undefined ? v : null; } }; }
function row(k, v) { return { cells: [cell(k), cell(String(v), String(v))], hidden: false }; }
var heads = [0, 1].map(function () { var h = { l: {} };
    h.addEventListener = function (e, f) { h.l[e] = f; }; return h; });
var body = { rows: [row('b', 10), row('a', -2), row('c', 'NaN'), row('d', 3)] };
body.appendChild = function (r) { var i = body.rows.indexOf(r);
    body.rows.splice(i, 1); body.rows.push(r); };
var table = { id: 'tt', tHead: { rows: [{ cells: heads }] }, tBodies: [body] };
var filt = { hidden: true, value: '', l: {} };
filt.addEventListener = function (e, f) { filt.l[e] = f; };
var document = { querySelectorAll: function () { return [table]; },
    getElementById: function (id) { return id === 'tt-filter' ? filt : null; } };
SCRIPT
function keys() { return body.rows.map(function (r) { return r.cells[0].textContent; }).join(''); }
var out = [];
heads[1].l.click(); out.push(keys());
heads[1].l.click(); out.push(keys());
heads[0].l.click(); out.push(keys());
filt.value = 'B'; filt.l.input();
out.push(body.rows.filter(function (r) { return !r.hidden; }).length, filt.hidden);
console.log(JSON.stringify(out));
"""


def check_script(raw):
    """Run the page's script on a mock DOM with node (when there is one): sorting by a
    numeric column both ways (NaN last), by text, and the filter box."""
    node = "/usr/bin/node"
    if not os.path.exists(node):
        print("note: no /usr/bin/node; the page's script is not run")
        return
    a = raw.index("<script>") + len("<script>")
    js = MOCK_DOM.replace("SCRIPT", raw[a:raw.index("</script>", a)])
    with open(path("script_test.js"), "w") as f:
        f.write(js)
    p = subprocess.run([node, path("script_test.js")], capture_output=True, text=True)
    check(p.returncode == 0, f"page script: node failed: {p.stderr[-600:]}")
    if p.returncode == 0:
        got = json.loads(p.stdout)
        check(got == ["adbc", "bdac", "abcd", 1, False], f"page script: {got}")


# ------------------------------------------------------------------ graph

def onnx_counts(model):
    counts = {}

    def g(graph):
        for n in graph.node:
            k = (n.domain + ":" if n.domain and n.domain != "ai.onnx" else "") + n.op_type
            counts[k] = counts.get(k, 0) + 1
            for a in n.attribute:
                if a.g and a.g.node:
                    g(a.g)
                for sg in a.graphs:
                    g(sg)
    g(model.graph)
    return counts


def section_graph():
    try:
        import onnx
    except ImportError:
        onnx = None
    make_models()
    models = [("m.onnx", path("m.onnx")),
              ("loop", os.path.join(SRC, "tests/fixtures/onnx/control/test_loop_passthrough_3/"
                                         "model.onnx"))]
    for what, f in models:
        pg = page([f], "onnx_" + what)
        if not pg:
            continue
        hist = {r[0]: int(r[1]) for r in pg.rows.get("hist", [])[1:]}
        if onnx is not None:
            mp = onnx.load(f)
            want = onnx_counts(mp)
            check(hist == want, f"onnx {what}: histogram {hist} != onnx's {want}")
            n_main = len(mp.graph.node)
            check(pg.ids.get("n-nodes", "").startswith(str(n_main) + " "),
                  f"onnx {what}: nodes {pg.ids.get('n-nodes')!r}, onnx has {n_main}")
            inits = {i.name for i in mp.graph.initializer}
            ins = [i.name for i in mp.graph.input if i.name not in inits]
            got_in = [r[0] for r in pg.rows.get("inputs", [])[1:]]
            check(got_in == ins, f"onnx {what}: inputs {got_in} != {ins}")
            got_out = [r[0] for r in pg.rows.get("outputs", [])[1:]]
            check(got_out == [o.name for o in mp.graph.output], f"onnx {what}: outputs {got_out}")
            total = sum(want.values())
            from onnx import numpy_helper
            table, _ = tensor_table(pg)
            names = [i.name for i in mp.graph.initializer]
            check(list(table) == names, f"onnx {what}: initializer rows {list(table)} != {names}")
            for i in mp.graph.initializer:
                a = numpy_helper.to_array(i)
                row = table.get(i.name)
                if row is None or a.size == 0 or a.dtype.kind not in "fiu":
                    continue
                check(row["shape"][0] == str(list(a.shape)), f"onnx {what}: {i.name} shape")
                for col, w in (("min", float(a.min())), ("max", float(a.max()))):
                    check(row[col][1] is not None and float(row[col][1]) == w,
                          f"onnx {what}: {i.name} {col} {row[col]} != {w}")
            rows = sum(1 for i in pg.ids if i.startswith("n") and i[1:].isdigit())
            check(rows == total, f"onnx {what}: {rows} node rows, onnx has {total} nodes")
        else:
            ls = subprocess.run([CKPT, "show", f, "--json"], capture_output=True, text=True)
            want = json.loads(ls.stdout)["ops"]
            check(hist == want, f"onnx {what}: histogram {hist} != ckpt show's {want}")
        check('id="diagram"' in pg.raw, f"onnx {what}: no diagram section")
        if onnx is not None:
            boxes = pg.raw.count('<rect class="op"')
            check(boxes == len(mp.graph.node), f"onnx {what}: {boxes} boxes in the diagram, "
                  f"{len(mp.graph.node)} nodes")
            ins = pg.raw.count('<rect class="in"')
            check(ins == len(got_in), f"onnx {what}: {ins} input boxes, {len(got_in)} inputs")
    # a TorchScript model's graph traced with --shape: the histogram is that of the ONNX
    # file `ckpt convert --to onnx` traces with the same shape (read by the onnx package);
    # an input the model cannot take is said on the page, a bad --shape is an error
    if onnx is not None and os.path.exists(path("m.ts")):
        run("convert", path("m.ts"), path("m_traced.onnx"), "--to", "onnx", "--shape",
            "x=1,3,8,8")
        pg = page([path("m.ts"), "--shape", "x=1,3,8,8"], "traced")
        if pg and os.path.exists(path("m_traced.onnx")):
            hist = {r[0]: int(r[1]) for r in pg.rows.get("g-hist", [])[1:]}
            want = onnx_counts(onnx.load(path("m_traced.onnx")))
            check(hist == want and "Conv" in hist, f"traced: histogram {hist} != {want}")
            check(pg.raw.count('<rect class="op"') == sum(want.values()), "traced: diagram")
        pg = page([path("m.ts"), "--shape", "x=1,5"], "traced_bad")
        if pg:
            check("could not be traced" in pg.raw and "g-hist" not in pg.rows,
                  "traced: a failed trace is not said on the page")
        run("report", path("m.ts"), "--shape", "x", want=2)
    # above 500 nodes the diagram is left out, and the page says so
    code = ("import torch\n"
            "class Big(torch.nn.Module):\n"
            "    def forward(s, x):\n"
            "        for i in range(260):\n"
            "            x = (x + 1) * 2\n"
            "        return x\n"
            f"torch.onnx.export(Big(), torch.randn(2), {path('big.onnx')!r}, opset_version=13)\n")
    with open(path("mk_big.py"), "w") as f:
        f.write(code)
    subprocess.run(["/usr/bin/python3", path("mk_big.py")], check=True, capture_output=True)
    pg = page([path("big.onnx")], "onnx_big")
    if pg:
        check("no-diagram" in pg.ids and "<svg" not in pg.raw, "onnx big: a diagram above the "
              "node limit, or no sentence saying it is left out")
        hist = {r[0]: int(r[1]) for r in pg.rows.get("hist", [])[1:]}
        check(hist.get("Add") == 260 and hist.get("Mul") == 260, f"onnx big: histogram {hist}")


# ------------------------------------------------------------------ hostile

def section_hostile():
    sd = {"<script>alert(1)</script>": torch.ones(2),
          "\"><img src=x onerror=alert(2)>": torch.zeros(3),
          "a&amp;b'c": torch.arange(4.0),
          "bad\udcff\udcfeutf8": torch.ones(1),     # pickled with surrogatepass: not UTF-8
          "ctl\x1b[31m\x00x": torch.ones(1),
          "long" + "x" * 900: torch.ones(1),
          b"\xff<script>": torch.ones(1)}
    torch.save(sd, path("hostile.pt"))
    pg = page([path("hostile.pt")], "hostile")
    if pg:
        low = pg.raw.lower()
        check(low.count("<script") == 1, "hostile: a <script from the file came through")
        check("onerror" not in low.replace("onerror=alert(2)&gt;", "").replace(
            "onerror=alert(2)", "X") or "<img" not in low, "hostile: attribute injection")
        check("<img" not in low, "hostile: <img came through")
        check("&lt;script&gt;alert(1)&lt;/script&gt;" in pg.raw, "hostile: key not shown escaped")
        check("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in pg.raw,
              "hostile: quote key not shown escaped")
        check("a&amp;amp;b&#39;c" in pg.raw, "hostile: ampersand key not escaped")
        check("\\xed\\xb3\\xbf" in pg.raw, "hostile: invalid UTF-8 not shown as \\xNN")
        check("ctl\\x1b[31m" in pg.raw, "hostile: control bytes not shown as \\xNN")
        check("x" * 600 not in pg.raw and "bytes in all" in pg.raw, "hostile: long key not cut")
        check(pg.ids.get("n-tensors") == str(len(sd)), "hostile: tensor count")
    # a pickle that imports os.system: the verdict says unsafe, the page is still written
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo <b>pwned</b>",))
    torch.save({"x": Evil(), "w": torch.ones(2)}, path("evil.pt"))
    pg = page([path("evil.pt")], "evil")
    if pg:
        check("unsafe" in pg.raw and "system" in pg.raw, "evil: the scan verdict is not unsafe")
        check("<b>pwned" not in pg.raw, "evil: pickled text came through")
    # an ONNX model whose names, op types, attributes and metadata are hostile
    try:
        import onnx
        from onnx import helper, TensorProto
    except ImportError:
        onnx = None
    if onnx is not None:
        node = helper.make_node("<script>Op", ["x"], ["y\"><img src=1>"], name="n<b>&amp;",
                                domain="evil<i>", note="</pre><script>alert(3)</script>")
        node2 = helper.make_node("Relu", ["y\"><img src=1>"], ["out"], name="r'\"")
        g = helper.make_graph([node, node2], "g<script>",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["<N>", 2])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)])
        m = helper.make_model(g, producer_name="<svg onload=alert(4)>",
                              opset_imports=[helper.make_opsetid("", 13),
                                             helper.make_opsetid("evil<i>", 1)])
        helper.set_model_props(m, {"<k>": "<script>alert(5)</script>"})
        onnx.save(m, path("hostile.onnx"))
        pg = page([path("hostile.onnx")], "hostile_onnx")
        if pg:
            low = pg.raw.lower()
            check(low.count("<script") == 1 and "<img" not in low and "<svg onload" not in low,
                  "hostile onnx: markup from the model came through")
            for s in ("&lt;script&gt;Op", "n&lt;b&gt;&amp;amp;", "&lt;svg onload=alert(4)&gt;",
                      "&lt;script&gt;alert(5)&lt;/script&gt;", "g&lt;script&gt;", "&lt;N&gt;"):
                check(s in pg.raw, f"hostile onnx: {s!r} not shown escaped")
    # corrupt and missing files: exit 2 naming the file, no page left behind
    data = open(path("hostile.pt"), "rb").read()
    with open(path("corrupt.pt"), "wb") as f:
        f.write(data[: len(data) // 2])
    for name in ("corrupt.pt", "missing.pt"):
        out = path(name + ".html")
        before = set(os.listdir(WORK))
        p = run("report", path(name), "-o", out, want=2)
        check(name.encode() in p.stderr, f"{name}: the error does not name the file: {p.stderr!r}")
        check(not os.path.exists(out), f"{name}: a page was left behind")
        left = set(os.listdir(WORK)) - before
        check(not left, f"{name}: files left behind: {left}")
    # an existing page survives a failed report (the write is atomic and comes last)
    keep = path("keep.html")
    with open(keep, "w") as f:
        f.write("old page")
    run("report", path("corrupt.pt"), "-o", keep, want=2)
    check(open(keep).read() == "old page", "corrupt.pt: the existing page was touched")
    # without -o the page goes to standard output, the same bytes
    p = run("report", path("hostile.pt"))
    check(p.stdout == open(path("hostile.html"), "rb").read(), "stdout page differs from -o's")
    # usage errors
    run("report", want=2)
    run("report", path("sd.pt") if os.path.exists(path("sd.pt")) else path("hostile.pt"),
        "--max-rows", "x", want=2)
    run("report", path("hostile.pt"), "--bogus", want=2)


{"ckpt": section_ckpt, "graph": section_graph, "hostile": section_hostile}[SECTION]()
for f in fails:
    print("FAIL:", f)
print(f"report {SECTION}: {checks} checks, {len(fails)} failed")
sys.exit(1 if fails else 0)
