"""Shared helpers of the ONNX export/simplify/write checks (tests/onnx/*_check.py).

ONNX Runtime is reached through Node (npm onnxruntime-node, installed by
scripts/ort.sh into .cache/ort): NODE_PATH, when it holds onnxruntime-node,
wins over the repository's .cache/ort/node_modules.  A check exits 77
(skipped) when a reference it needs is missing.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = 77

_JS = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const opts = {graphOptimizationLevel: job.opt || 'all', intraOpNumThreads: 1};
  const s = await ort.InferenceSession.create(job.model, opts);
  const feeds = {};
  for (const inp of job.inputs) {
    const buf = fs.readFileSync(inp.file);
    let data;
    if (inp.dtype === 'int64') data = new BigInt64Array(buf.buffer, buf.byteOffset, buf.length / 8);
    else data = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    feeds[inp.name] = new ort.Tensor(inp.dtype, data, inp.shape);
  }
  const res = await s.run(feeds);
  const outs = [];
  for (const name of s.outputNames) {
    const t = res[name];
    const file = job.prefix + '_' + outs.length + '.bin';
    fs.writeFileSync(file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    outs.push({name: name, file: file, dims: t.dims.map(Number), type: t.type});
  }
  fs.writeFileSync(job.prefix + '.json', JSON.stringify(outs));
})().catch(e => { console.error(String(e)); process.exit(3); });
"""


def ort_node_path():
    cands = []
    if os.environ.get("NODE_PATH"):
        cands += os.environ["NODE_PATH"].split(":")
    cands.append(os.path.join(ROOT, ".cache", "ort", "node_modules"))
    for c in cands:
        if os.path.isfile(os.path.join(c, "onnxruntime-node", "package.json")):
            return c
    return None


def need(cond, why):
    if not cond:
        # the CTest name (onnx_<script>), as tests/fresh/clean_clone.sh expects it
        test = "onnx_" + os.path.splitext(os.path.basename(sys.argv[0]))[0]
        print("SKIPPED: %s: %s" % (test, why))
        sys.exit(SKIP)


def ort_run(model, inputs, opt="all"):
    """Run `model` in ONNX Runtime on {name: np.ndarray}; returns a list of arrays."""
    np_path = ort_node_path()
    need(np_path, "onnxruntime-node not installed (scripts/ort.sh)")
    with tempfile.TemporaryDirectory() as d:
        job = {"model": model, "inputs": [], "prefix": os.path.join(d, "out"), "opt": opt}
        for i, (name, arr) in enumerate(inputs.items()):
            f = os.path.join(d, "in%d.bin" % i)
            dt = "int64" if arr.dtype == np.int64 else "float32"
            arr.astype(np.int64 if dt == "int64" else np.float32).tofile(f)
            job["inputs"].append({"name": name, "file": f, "shape": list(arr.shape), "dtype": dt})
        jf = os.path.join(d, "job.json")
        with open(jf, "w") as fh:
            json.dump(job, fh)
        js = os.path.join(d, "run.js")
        with open(js, "w") as fh:
            fh.write(_JS)
        env = dict(os.environ, NODE_PATH=np_path)
        r = subprocess.run(["node", js, jf], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("ORT failed on %s: %s" % (model, r.stderr.strip()))
        with open(job["prefix"] + ".json") as fh:
            outs = json.load(fh)
        res = []
        for o in outs:
            dt = {"float32": np.float32, "int64": np.int64}.get(o["type"], np.float32)
            res.append(np.fromfile(o["file"], dtype=dt).reshape(o["dims"]))
        return res


def checker(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    return m


def close(a, b, tol=1e-5):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False, float("inf")
    d = float(np.max(np.abs(a - b))) if a.size else 0.0
    return bool(np.allclose(a, b, rtol=tol, atol=tol)), d


def run_tool(tool, *args):
    r = subprocess.run([tool] + [str(a) for a in args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("onnx_tool %s failed: %s" % (args[0], r.stderr.strip()))
    return r.stdout
