#!/usr/bin/env python3
"""bench/train_bench.py TOOL DATA - one training step of the demo's CNN
(Conv2d(1,8,3,padding=1) ReLU MaxPool2d(2) Flatten Linear(128,10), batch 32,
cross-entropy, SGD momentum): ckpt in C, OpenBLAS on one thread, two ways --
with autograd (train_tool bench: ckpt_module_call, ckpt_f_cross_entropy,
ckpt_backward) and with the explicit kernel tier (train_tool bench-explicit:
ckpt/kernels.h forward and backward kernels over caller buffers) -- vs torch
eager on one thread.  Prints each and its ratio to torch."""
import gzip, os, subprocess, sys, time

import numpy as np
import torch
from torch import nn

tool, data = sys.argv[1:3]
iters = int(os.environ.get("CKPT_BENCH_ITERS", "2000"))
torch.set_num_threads(1)
raw = np.loadtxt(gzip.open(data, "rt"), delimiter=",", dtype=np.int64)
X = torch.from_numpy(raw[:, :64].astype(np.float32) / np.float32(16)).reshape(-1, 1, 8, 8)
Y = torch.from_numpy(raw[:, 64])
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
lossf = nn.CrossEntropyLoss()
B, n = 32, len(raw)


def step(it):
    base = (it * B) % (n - B)
    x, y = X[base:base + B], Y[base:base + B]
    loss = lossf(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()


best_t = float("inf")
modes = ["bench", "bench-explicit"]
best_c = {m: float("inf") for m in modes}
env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
for rep in range(3):
    for it in range(10):
        step(it)
    t0 = time.perf_counter()
    for it in range(iters):
        step(it)
    best_t = min(best_t, (time.perf_counter() - t0) * 1e3 / iters)
    for m in modes:
        out = subprocess.run([tool, m, data, str(iters)], env=env, check=True,
                             capture_output=True, text=True).stdout
        best_c[m] = min(best_c[m], float(out.split()[1]))
print(f"training step, demo CNN, batch {B}, one thread (best of 3 x {iters} steps)")
print(f"  torch eager              {best_t * 1e3:8.1f} us/step")
print(f"  ckpt autograd (C)        {best_c['bench'] * 1e3:8.1f} us/step"
      f"   ratio torch/C: {best_t / best_c['bench']:.2f}x")
print(f"  ckpt explicit kernels (C){best_c['bench-explicit'] * 1e3:8.1f} us/step"
      f"   ratio torch/C: {best_t / best_c['bench-explicit']:.2f}x")
