#!/usr/bin/env python3
"""bench/autograd_bench.py TOOL - training and inference steps driven by ckpt's
autograd tape (TOOL = bench/autograd_bench, C, OpenBLAS one thread) vs torch
eager (one thread), on the models of bench/autograd_bench.c:

  cnn          Conv2d(1,8,3,p=1) ReLU MaxPool2d(2) Flatten Linear(128,10), batch 32
  resnet       tests/guide/resnet_torch.py's Net (2 custom residual blocks with
               BatchNorm, GELU TransformerEncoderLayer head), batch 32
  transformer  2 x TransformerEncoderLayer(128, 4 heads, ff 512, post-norm, relu),
               mean over the sequence, Linear(128,10); batch 32, sequence 64

Training step: forward, cross-entropy, zero_grad(set_to_none), backward, SGD
momentum step.  Inference: forward under no_grad in eval mode; the C side also
runs its explicit-kernel path (ckpt_nn_forward) where one exists.  Each figure is
the best of 3 runs.  Prints a Markdown table (torch / ckpt: above 1 ckpt is faster).
"""
import os
import subprocess
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "guide"))
import resnet_torch  # noqa: E402

tool = sys.argv[1]
torch.set_num_threads(1)
ITERS = {"cnn": 1000, "resnet": 100, "transformer": 10}
scale = float(os.environ.get("CKPT_BENCH_SCALE", "1"))


class TF(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(128, 4, 512, 0.0,
                                                                batch_first=True)
                                     for _ in range(2)])
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.fc(x.mean(1))


def models():
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(128, 10))
    return {"cnn": (cnn, (32, 1, 8, 8)), "resnet": (resnet_torch.Net(), (32, 1, 8, 8)),
            "transformer": (TF(), (32, 64, 128))}


def torch_time(model, shape, train, iters):
    x = torch.rand(shape) * 2 - 1
    y = torch.arange(shape[0]) % 10
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train(train)

    def step():
        if train:
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                model(x)
    best = float("inf")
    for _ in range(3):
        for _ in range(3):
            step()
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        best = min(best, (time.perf_counter() - t0) * 1e6 / iters)
    return best


def c_time(name, mode, iters):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([tool, name, mode, str(iters)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.split()[1])


def fmt(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


rows = []
for name, (model, shape) in models().items():
    it = max(1, int(ITERS[name] * scale))
    tt = torch_time(model, shape, True, it)
    ct = c_time(name, "train", it)
    rows.append((name, "training step", ct, tt))
    ti = torch_time(model, shape, False, it)
    ci = c_time(name, "infer", it)
    rows.append((name, "inference (tape, grad mode off)", ci, ti))
    if name != "resnet":
        ce = c_time(name, "explicit", it)
        rows.append((name, "inference (explicit kernels, ckpt_nn_forward)", ce, ti))
try:  # the BLAS core OpenBLAS picked for this CPU (OPENBLAS_CORETYPE overrides it)
    import ctypes
    _ob = ctypes.CDLL("libopenblas.so.0")
    _ob.openblas_get_corename.restype = ctypes.c_char_p
    print(f"OpenBLAS core: {_ob.openblas_get_corename().decode()}"
          f" (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})\n")
except (OSError, AttributeError):
    print("OpenBLAS core: unknown (libopenblas.so.0 not loadable)\n")
print("| model | step | ckpt | torch eager | torch / ckpt |")
print("|---|---|---:|---:|---:|")
for name, what, c, t in rows:
    print(f"| {name} | {what} | {fmt(c)} | {fmt(t)} | {t / c:.2f}× |")
